"""A cell's specification: every model option declared once (``OPTIONS``), and the frozen specifications built
from that table.

A *cell* is one point of an experiment's grid. Its specification is three nested dataclasses, one per role:

* ``DataSpec``: what generates its realisations (the grid point, the run's seeds and blocks, the data options).
  It is the one place data are regenerated (``DataSpec.realisation``).
* ``SeparabilitySpec``: a ``DataSpec`` plus the options of the separability stage.
* ``CellSpec``: a ``SeparabilitySpec`` plus the training options: everything a cell's jobs read.

Each has ``params()``, the dict the Snakemake rules pass as a job's params (and hash into the cache keys), and
``from_params``, its inverse: ``CellSpec.from_params(p).params() == p``. Options added after the first results
(``omit_default``) are left out of the params at their schema default, so adding an option changes no existing
cell's params, id or path, and Snakemake reruns nothing.

Adding an option is one ``Option`` row below (its default goes into the schema, ``config.schema.yaml``); an input
law's parameter is declared with its law instead (``grokedge.laws``), which gives it its row and schema property.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import data
from .laws import INPUT_LAWS, PARAMETERS, InputLaw
from .losses import LOSSES
from .schema import EXPERIMENT_DEFAULTS
from .seeds import realisation_seed

DATA, SEPARABILITY, TRAINING = "data", "separability", "training"


def canonical(x) -> str:
    """Canonical text of a parameter value for paths and ids: 12 significant digits, no trailing zeros,
    integers without a decimal point (0.1 + 0.2 -> '0.3', 100.0 -> '100', 1e-05 -> '1e-05')."""
    if isinstance(x, bool):
        raise TypeError("booleans are not parameter values")
    if float(x) == int(float(x)) and abs(float(x)) < 1e15:
        return str(int(float(x)))
    return f"{float(x):.12g}"


@dataclass(frozen=True)
class Option:
    """One model option of an experiment (a key of the schema's ``experiment``).

    ``type``: the type of its values (a list option is held as a tuple, a table row is read back as this type;
    a config's value is kept as written, so its params do not change); ``role``: the stage that reads it
    (DATA, SEPARABILITY or TRAINING: changing a training option reruns only the training); ``tag``: the
    cell-id suffix away from the default, ``{}`` standing for the value (``canonical`` for numbers, ``names``
    maps text values to shorter ones); ``column``: a column of every table; ``grid``: a list in the config,
    one value per cell; ``omit_default``: left out of the params at its default."""

    name: str
    type: type
    role: str
    tag: str | None = None
    column: bool = False
    grid: bool = False
    omit_default: bool = False
    names: Mapping[str, str] | None = None

    @property
    def default(self) -> Any:
        """The schema's default, as this option's type."""
        return _as_type(self.type, EXPERIMENT_DEFAULTS[self.name])

    def suffix(self, value) -> str:
        """This option's part of a cell id: '' at the default, else ``_`` + the tag."""
        if self.tag is None or value == self.default:
            return ""
        text = (self.names or {}).get(value, value) if isinstance(value, str) else canonical(value)
        return "_" + self.tag.format(text)


# The options, in cell-id suffix order (bias_noise ... powerlaw_trace) and table-column order.
OPTIONS = (
    Option("bias_noise", float, DATA, tag="bn{}", column=True, grid=True),
    Option("s0_norm", float, DATA, tag="s0{}", column=True, grid=True),
    Option("b0", float, TRAINING, tag="b0{}", column=True, grid=True),
    Option("label_fraction", float, DATA, tag="r{}", column=True, grid=True, omit_default=True),
    Option("loss", str, TRAINING, tag="{}", column=True, omit_default=True,
           names={name: loss.short for name, loss in LOSSES.items()}),
    Option("input_law", str, DATA, tag="law{}", column=True, omit_default=True),
    # the input laws' parameters, declared with their law (grokedge.laws.INPUT_LAWS)
    *(Option(p.name, p.type, DATA, tag=p.tag, omit_default=True) for p, _ in PARAMETERS.values()),
    Option("s_inf", bool, SEPARABILITY),
    Option("separability", bool, SEPARABILITY, omit_default=True),
    Option("train", bool, TRAINING),
    Option("solver", str, TRAINING),
    Option("adam_betas", tuple, TRAINING),
    Option("adam_eps", float, TRAINING, omit_default=True),
    Option("horizon", float, TRAINING),
    Option("checkpoints_per_decade", int, TRAINING),
    Option("test_set", str, TRAINING),
    Option("n_test", int, TRAINING),
)
OPTION = {o.name: o for o in OPTIONS}
GRID_OPTIONS = tuple(o.name for o in OPTIONS if o.grid)
# What every cell has before its options: its place in the grid (the first columns of every table), and the run's
# seeds and blocks.
COORDINATES = (("experiment", str), ("cell", str), ("N", int), ("d", int), ("lam", float), ("sigma", float),
               ("lr", float))
RUN = (("realisations", int), ("root_seed", int), ("block_size", int))


def _as_type(kind: type, value):
    return tuple(value) if kind is tuple else value


def input_law(options: Mapping, sigma: float) -> InputLaw:
    """The input law of a cell's (or an experiment's) options at the grid's ``sigma``, with its own parameters."""
    name = options["input_law"]
    return InputLaw(name, sigma, {p.name: options[p.name] for p in INPUT_LAWS[name].parameters})


def cell_id(N, d, sigma, lr, **options) -> str:
    """The canonical id of a cell: N<N>_d<d>_sigma<sigma>_lr<lr>, then each option's suffix away from its schema
    default, in the order of ``OPTIONS`` (_bn, _s0, _b0, _r, _exp, _law, _trace). Options not given are at their
    default; default options add nothing, so existing cells keep their ids and results."""
    unknown = sorted(set(options) - set(OPTION))
    if unknown:
        raise TypeError(f"cell_id: unknown options {unknown}")
    out = f"N{int(N)}_d{int(d)}_sigma{canonical(sigma)}_lr{canonical(lr)}"
    return out + "".join(o.suffix(_as_type(o.type, options[o.name])) for o in OPTIONS if o.name in options)


def cell_id_pattern() -> str:
    """The regular expression every cell id matches (``cell_id``): the grid point, then each tagged option's
    suffix, optional, in the order of ``OPTIONS``; a number as ``canonical`` writes it, a text value in lower-case
    letters, digits and _ (no / : an id is a folder's name)."""
    out = r"^N[0-9]+_d[0-9]+_sigma[^_/]+_lr[^_/]+"
    for o in OPTIONS:
        if o.tag is not None:
            value = "[a-z0-9_]+" if o.type is str else "[-+.e0-9]+"
            out += "(_" + re.escape(o.tag).replace(re.escape("{}"), value) + ")?"
    return out + "$"


class _Spec:
    """What the three specifications share: the round trip to a job's params, and the table columns."""

    @classmethod
    def from_params(cls, params: Mapping):
        """The specification of a job's params (``params()``'s inverse): options left out take their schema
        default; a key that is not a field of this specification is an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(params) - names)
        if extra:
            raise ValueError(f"{cls.__name__}: params have keys {extra} that are not among its fields "
                             f"{sorted(names)}")
        return cls(**{k: _as_type(OPTION[k].type, v) if k in OPTION else v for k, v in params.items()})

    def params(self) -> dict:
        """The params of this specification's jobs, keys sorted (Snakemake compares their repr to decide reruns),
        options with ``omit_default`` left out at their default, tuples written as lists."""
        out = {}
        for f in sorted(dataclasses.fields(self), key=lambda f: f.name):
            v = getattr(self, f.name)
            opt = OPTION.get(f.name)
            if opt is not None and opt.omit_default and v == opt.default:
                continue
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def columns(self) -> dict:
        """The cell's columns of every table: its coordinates, then every option with ``column``. An option that
        this specification lacks (b0 and loss of a DataSpec) is written at its schema default."""
        return {k: getattr(self, k) for k, _ in COORDINATES} | {
            o.name: getattr(self, o.name, o.default) for o in OPTIONS if o.column}


def _fields(role: str) -> list:
    return [(o.name, o.type, dataclasses.field(default=o.default)) for o in OPTIONS if o.role == role]


class _Data(_Spec):
    def law(self) -> InputLaw:
        """The input law of the cell's points."""
        return input_law(vars(self), self.sigma)

    def block_realisations(self, block: int) -> range:
        """The realisation indices of one block."""
        return range(block * self.block_size, min((block + 1) * self.block_size, self.realisations))

    def seeds(self, block: int) -> list[tuple[int, int]]:
        """(realisation, seed) of every realisation of the block (``grokedge.seeds``). The input law's name is the
        seed scheme's distribution tag (``gaussian`` for the paper's law)."""
        return [(r, realisation_seed(self.root_seed, self.input_law, self.N, self.d, r))
                for r in self.block_realisations(block)]

    def realisation(self, seed: int) -> data.Realisation:
        """The realisation of this seed: points of the cell's law, labels, bias feature and initial weights. The
        one place the pipeline regenerates a cell's data."""
        return data.realisation(self.N, self.d, self.sigma, seed, self.s0_norm, self.bias_noise, law=self.law(),
                                label_fraction=self.label_fraction)

    def test_points(self, seed: int, n_test: int):
        """The realisation's sampled test set (``grokedge.data.sampled_test_set``) -> (X, c)."""
        return data.sampled_test_set(seed, n_test, self.d, self.sigma, self.bias_noise, law=self.law(),
                                     label_fraction=self.label_fraction)

    @property
    def data_spec(self) -> DataSpec:
        """The data part of this specification."""
        return DataSpec(**{f.name: getattr(self, f.name) for f in dataclasses.fields(DataSpec)})

    @classmethod
    def from_row(cls, row: Mapping):
        """The specification of a table row that holds every field (a ``state`` row holds its DataSpec), each
        value as its field's type (a table gives numpy scalars)."""
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in row]
        if missing:
            raise ValueError(f"a table row lacks the {cls.__name__} fields {missing} (a table written by an older "
                             "version?): rewrite it by rerunning the jobs that wrote it (for a cell's state table, "
                             "its train jobs: snakemake --forcerun <their rules>), or start a new run folder")
        return cls(**{f.name: _as_type(f.type, row[f.name]) if f.type is tuple else f.type(row[f.name])
                      for f in dataclasses.fields(cls)})


DataSpec = dataclasses.make_dataclass("DataSpec", [*COORDINATES, *RUN, *_fields(DATA)], bases=(_Data,),
                                      frozen=True)
DataSpec.__doc__ = "What generates a cell's realisations (module docstring): its data options and seeds."


class _Separability(DataSpec):
    @property
    def separability_spec(self) -> SeparabilitySpec:
        """The separability part of this specification."""
        return SeparabilitySpec(**{f.name: getattr(self, f.name) for f in dataclasses.fields(SeparabilitySpec)})


SeparabilitySpec = dataclasses.make_dataclass("SeparabilitySpec", _fields(SEPARABILITY), bases=(_Separability,),
                                              frozen=True)
SeparabilitySpec.__doc__ = "A cell's data and what its separability stage decides (module docstring)."
CellSpec = dataclasses.make_dataclass("CellSpec", _fields(TRAINING), bases=(SeparabilitySpec,), frozen=True)
CellSpec.__doc__ = "Everything a cell's jobs read: data, separability and training options (module docstring)."
for _cls in (DataSpec, SeparabilitySpec, CellSpec):
    _cls.__module__ = __name__  # make_dataclass names another module before Python 3.12


def cell_spec(config: dict, cell: dict) -> CellSpec:
    """The specification of a row of the cell table (``grokedge.config.cells``) under a validated config: the
    row's grid point and options, the experiment's other options, the run's seed and block size."""
    exp = config["experiments"][cell["experiment"]]
    fields = {k: cell[k] for k, _ in (*COORDINATES, ("realisations", int))}
    fields |= {o.name: cell[o.name] if o.grid else _as_type(o.type, exp[o.name]) for o in OPTIONS}
    return CellSpec(**fields, root_seed=config["root_seed"], block_size=config["block_size"])

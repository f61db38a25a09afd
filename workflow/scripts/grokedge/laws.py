"""Input laws: the distribution of the training and test points (paper Sec. 3, App. F, Fig. 15), one registry
entry each.

All laws are origin-symmetric (x and -x equally likely), so Wendel's theorem holds for each:

* ``gaussian``  x ~ N(0, sigma^2 I_d) (the paper's model).
* ``powerlaw``  x ~ N(0, C), C = diag(lambda_1 .. lambda_d), lambda_n = lambda_0 n^-alpha (``powerlaw_alpha``),
  with lambda_0 set by the trace ``powerlaw_trace``: ``sigma``, sum_n lambda_n = sigma d (the default: the paper's
  wording for Fig. 15 read literally, the eigenvalues being variances), or ``sigma2``, sum_n lambda_n = sigma^2 d
  (sigma scales the points, as for the other laws). Under GD at eta = 0.01 neither reproduces the bump of the
  paper's Fig. 15 (b), nor does any other trace: the panel's bump needs a trace near sigma^3 d, where GD at
  eta = 0.01 is far above its stability bound and only the gradient flow shows it (``python -m
  grokedge.evidence.fig15_powerlaw``). A diagonal C loses no generality: the initial direction is isotropic and
  GD is rotation-equivariant.
* ``mixture``   x = sigma (s + m z) per coordinate, s = +-1 with probability 1/2, z ~ N(0, 1): each coordinate
  is an equal mixture of N(+1, m^2) and N(-1, m^2), scaled by sigma. The paper writes N(+-1, 0.25); in the
  usual N(mean, variance) notation that is m = 0.5 (``mixture_std``). Covariance sigma^2 (1 + m^2) I_d.

A law is one entry of ``INPUT_LAWS``: its maths (``LawKind``) and the parameters it has beyond sigma
(``Parameter``: name, default, bounds, description, cell-id tag). A parameter is a key of an experiment, declared
here only: the config schema's property of that key (``grokedge.schema.config_schema``), the cell specification's
option (``grokedge.spec.OPTIONS``) and the config check that refuses it under another law
(``grokedge.config.OPTION_CONDITIONS``) are built from this declaration.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.special import ndtri

JSON_TYPES = {float: "number", int: "integer", str: "string"}
BOUNDS = {"minimum": (operator.ge, ">="), "exclusiveMinimum": (operator.gt, ">"),
          "maximum": (operator.le, "<="), "exclusiveMaximum": (operator.lt, "<")}
POWERLAW_TRACES = {"sigma": lambda sigma: sigma, "sigma2": lambda sigma: sigma**2}  # name -> trace / d


@dataclass(frozen=True)
class Parameter:
    """A parameter of an input law: a key of an experiment that applies only with the laws declaring it.

    ``default``: its value where a config leaves it out (its Python type is the parameter's: write 10.0 for a
    number); ``description``: the schema's; ``bounds``: JSON Schema keywords bounding it (``minimum``,
    ``exclusiveMinimum``, ``maximum``, ``exclusiveMaximum``, ``enum``); ``tag``: its cell-id suffix away from the
    default, ``{}`` standing for the value (None: no suffix; a parameter is one value per experiment, and cells
    of different experiments have different paths)."""

    name: str
    default: float | int | str
    description: str
    bounds: Mapping[str, Any] = field(default_factory=dict, hash=False)
    tag: str | None = None

    @property
    def type(self) -> type:
        return type(self.default)

    def schema(self, laws: tuple[str, ...]) -> dict:
        """Its property in the experiment schema (``laws``: the laws that declare it)."""
        return {"type": JSON_TYPES[self.type], **self.bounds, "default": self.default,
                "description": f"{self.description} (input_law: {' or '.join(laws)})"}

    def check(self, value) -> None:
        """ValueError naming the parameter unless ``value`` has its type and lies within its bounds."""
        number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
        if not (isinstance(value, str) if self.type is str else number and math.isfinite(value)):
            raise ValueError(f"{self.name} must be a finite {JSON_TYPES[self.type]}, got {value!r}")
        if "enum" in self.bounds and value not in self.bounds["enum"]:
            raise ValueError(f"unknown {self.name} {value!r}; expected one of {list(self.bounds['enum'])}")
        for key, (holds, sign) in BOUNDS.items():
            if key in self.bounds and not holds(value, self.bounds[key]):
                raise ValueError(f"{self.name} must be {sign} {self.bounds[key]}, got {value!r}")


@dataclass(frozen=True)
class InputLaw:
    """The law of the training and test points (module docstring): its name (a key of ``INPUT_LAWS``), the grid's
    ``sigma`` and its parameters by name (those not given take their declared default; the pipeline builds laws
    from a cell's specification, ``grokedge.spec.input_law``)."""

    name: str
    sigma: float
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        if self.name not in INPUT_LAWS:
            raise ValueError(f"unknown input_law {self.name!r}; expected one of {sorted(INPUT_LAWS)}")
        own = {p.name: p for p in INPUT_LAWS[self.name].parameters}
        extra = sorted(set(self.params) - set(own))
        if extra:
            raise ValueError(f"input_law {self.name!r} has no parameters {extra}; its parameters: {sorted(own)}")
        values = {name: self.params.get(name, p.default) for name, p in own.items()}
        for name, p in own.items():
            p.check(values[name])
        object.__setattr__(self, "params", MappingProxyType(values))  # read-only

    def __reduce__(self):
        """Pickled (and deep-copied) by its arguments: a read-only mapping does not pickle."""
        return InputLaw, (self.name, self.sigma, dict(self.params))

    @property
    def gaussian(self) -> bool:
        """True when S.x on a fresh point is Gaussian, N(0, S^T C S): closed-form generalisation metrics."""
        return INPUT_LAWS[self.name].gaussian

    def variances(self, d: int) -> np.ndarray:
        """Diagonal of the covariance C of one point, shape (d,)."""
        return INPUT_LAWS[self.name].variances(self, d)

    def sample(self, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
        """n points of the law, float64, shape (n, d), drawn from ``rng`` (the realisation's data stream)."""
        return INPUT_LAWS[self.name].sample(self, rng, n, d)

    def label_threshold(self, d: int, label_fraction: float) -> float:
        """t with P(x_1 > t) = r for a Gaussian first coordinate: sd_1 Phi^-1(1 - r) (-inf for r = 1)."""
        if label_fraction >= 1.0:
            return -np.inf
        if not self.gaussian:
            raise ValueError(f"label_fraction < 1 needs a Gaussian input law (its quantile); got {self.name!r}")
        return float(np.sqrt(self.variances(d)[0]) * ndtri(1.0 - label_fraction))


@dataclass(frozen=True)
class LawKind:
    """One entry of ``INPUT_LAWS``: the maths of an input law. ``variances(law, d)``: the diagonal of its
    covariance C, shape (d,); ``sample(law, rng, n, d)``: n points, float64, shape (n, d), drawn from ``rng``
    only; ``gaussian``: whether S.x on a fresh point is N(0, S^T C S) (closed-form metrics and label quantiles);
    ``parameters``: what it reads beyond sigma (``law.params[name]``)."""

    variances: Callable[[InputLaw, int], np.ndarray]
    sample: Callable[[InputLaw, np.random.Generator, int, int], np.ndarray]
    gaussian: bool
    parameters: tuple[Parameter, ...] = ()


def gaussian_points(rng: np.random.Generator, n: int, d: int, sigma: float) -> np.ndarray:
    """n points of N(0, sigma^2 I_d), float64, shape (n, d) (scaled in place: a paper-size X is never held
    twice)."""
    x = rng.standard_normal((n, d))
    x *= sigma
    return x


def _powerlaw_variances(law: InputLaw, d: int) -> np.ndarray:
    """lambda_n = lambda_0 n^-alpha, lambda_0 set by the trace (module docstring)."""
    shape = np.arange(1, d + 1, dtype=float) ** -law.params["powerlaw_alpha"]
    return shape * (POWERLAW_TRACES[law.params["powerlaw_trace"]](law.sigma) * d / shape.sum())


def _powerlaw_points(law: InputLaw, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d))
    x *= np.sqrt(_powerlaw_variances(law, d))
    return x


def _mixture_points(law: InputLaw, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """sigma (s + m z) per coordinate, s = +-1, z ~ N(0, 1), built in place."""
    signs = 2.0 * rng.integers(0, 2, size=(n, d)) - 1.0
    x = rng.standard_normal((n, d))
    x *= law.params["mixture_std"]
    x += signs
    x *= law.sigma
    return x


# The input laws by name (the config's ``input_law``; the schema's enum is filled from these keys). The name is
# also the seed scheme's distribution tag, so a new law draws new seeds and existing cells keep theirs.
INPUT_LAWS = {
    # draws exactly what ``gaussian_points`` draws (the seeds and checksums of existing results are unchanged)
    "gaussian": LawKind(variances=lambda law, d: np.full(d, law.sigma**2),
                        sample=lambda law, rng, n, d: gaussian_points(rng, n, d, law.sigma), gaussian=True),
    "powerlaw": LawKind(variances=_powerlaw_variances, sample=_powerlaw_points, gaussian=True, parameters=(
        Parameter("powerlaw_alpha", 1.5, "exponent alpha of the powerlaw law's eigenvalues lambda_n ~ n^-alpha",
                  {"exclusiveMinimum": 0}),
        Parameter("powerlaw_trace", "sigma", "sum of the powerlaw law's variances over d: sigma (sum lambda_n = "
                  "sigma d, the paper's words for Fig. 15 read literally; no L_gen bump at the paper's sizes) or "
                  "sigma2 (sum lambda_n = sigma^2 d, sigma scaling the points as for the other laws; a transient "
                  "bump of ~9 near epoch 10, GD being above its stability bound there). Neither gives the panel's "
                  "bump under GD (python -m grokedge.evidence.fig15_powerlaw). Cell-id suffix _trace<name> away "
                  "from sigma", {"enum": list(POWERLAW_TRACES)}, tag="trace{}"))),
    "mixture": LawKind(variances=lambda law, d: np.full(d, law.sigma**2 * (1.0 + law.params["mixture_std"]**2)),
                       sample=_mixture_points, gaussian=False, parameters=(
        Parameter("mixture_std", 0.5, "std m of each mixture component before the factor sigma",
                  {"minimum": 0}),)),
}


def _parameters_by_name() -> dict[str, tuple[Parameter, tuple[str, ...]]]:
    """Every law parameter -> (its declaration, the laws declaring it), in registry order. A parameter two laws
    share must be declared the same by both."""
    out = {}
    for law, kind in INPUT_LAWS.items():
        for p in kind.parameters:
            if p.name in out and out[p.name][0] != p:
                raise ValueError(f"input-law parameter {p.name!r} is declared differently by {out[p.name][1]} "
                                 f"and {law!r}: declare it once, the same for every law that has it")
            out[p.name] = (p, out[p.name][1] + (law,) if p.name in out else (law,))
    return out


PARAMETERS = _parameters_by_name()

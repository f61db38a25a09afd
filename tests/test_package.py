"""The library installs on its own and the example runs without Snakemake."""

import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT, copy_repo


def test_wheel_holds_the_grokedge_package_only(tmp_path):
    """`pip wheel .` from a clean copy builds a wheel of grokedge (setuptools rooted at workflow/scripts),
    without the adapters, rules or tests; installed alone, `import grokedge` works from any directory."""
    src = copy_repo(tmp_path / "src")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp_path / "dist")],
                          cwd=src, capture_output=True, text=True)
    if proc.returncode != 0 and "No matching distribution found for setuptools" in proc.stdout + proc.stderr:
        pytest.skip("no package index to fetch the build backend (setuptools) from")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("grokedge-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"grokedge", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "grokedge/registry.py" in names and any(n.endswith("LICENSE") for n in names)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-c", "import grokedge.figures, grokedge.registry as r; "
                          "print(grokedge.figures.__file__); [r.function(f) for f in r.FIGURES]"],
                         cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().startswith(str(site))


def test_importing_plotting_leaves_the_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import grokedge.plotting, grokedge.figures; "
            "print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "workflow" / "scripts"), "PATH": "/usr/bin:/bin"}).stdout
    assert out.strip() == "svg"


def test_one_cell_example_runs(tmp_path):
    """examples/one_cell.py trains a small cell, prints its runs and saves a figure (no Snakemake)."""
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "one_cell.py"), "--N", "40", "--lam", "0.3",
                           "--horizon", "3000", "--realisations", "2", "--out", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT / "workflow" / "scripts"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "grok_gen95" in proc.stdout and "predicted" in proc.stdout
    for ext in ("png", "pdf"):
        assert (tmp_path / f"one_cell.{ext}").stat().st_size > 1000

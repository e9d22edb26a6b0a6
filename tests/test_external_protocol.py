"""A protocol kind defined outside bioSNN (``examples/external_protocol``) runs through
``biosnn run``, ``bs.run`` and ``biosnn sweep`` without touching the package: named by
the spec's ``module`` key, or registered by an installed package's entry point."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bioSNN as bs
from _biosnn_cli import biosnn
from bioSNN.protocols import registry

EXAMPLE = Path(__file__).parents[1] / "examples" / "external_protocol"
SPEC = EXAMPLE / "noisy-lif.toml"


def _complete(folder: Path):
    for f in ("spec.toml", "provenance.json", "data.nc", "summary.json", "fig-isi.png"):
        assert (folder / f).is_file(), f
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["rate_Hz"] > 0 and 0 < summary["isi_cv"] < 2
    return summary


def test_biosnn_run_with_module_key(tmp_path):
    code, out, err = biosnn("run", SPEC, "--quick", "--out", tmp_path, pythonpath=[EXAMPLE])
    assert code == 0, err
    folder = Path(out.strip())
    assert folder.parent == tmp_path / "noisy-lif"
    _complete(folder)
    assert 'module = "noisy_lif_protocol"' in (folder / "spec.toml").read_text()


def test_bs_run_load_and_find(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    r = bs.run(SPEC, quick=True, out=tmp_path, progress=False, overrides={"sigma": "4 mV"})
    summary = _complete(r.folder)
    assert r.summary == summary and r.spec.kind == "noisy-lif"
    again = bs.load(r.folder)  # the saved spec names its module: it loads back
    assert again.summary == summary
    assert [x.folder for x in bs.find_runs("noisy-lif", out=tmp_path, sigma="4 mV")] == [r.folder]
    assert bs.find_runs("noisy-lif", out=tmp_path, sigma="3 mV") == []
    assert set(again.figures()) == {"isi"}


def test_biosnn_sweep_of_an_external_kind(tmp_path):
    code, out, err = biosnn("sweep", SPEC, "--quick", "--set", "sigma=2mV,4mV", "--workers", "1",
                            "--out", tmp_path, pythonpath=[EXAMPLE])
    assert code == 0, err
    rows = list(csv.DictReader(Path(out.strip().splitlines()[-1]).open()))
    assert [r["status"] for r in rows] == ["ok", "ok"]
    # the kind's headline metric is the sweep's default metric
    sweep = json.loads((Path(out.strip().splitlines()[-1]).parent / "sweep.json").read_text())
    assert sweep["metric"] == "rate_Hz"
    rates = [float(r["rate_Hz"]) for r in rows]
    assert rates[1] > rates[0]  # more noise, more threshold crossings below rheobase


def test_installed_package_registers_its_kind_by_entry_point(tmp_path):
    """`pip install` the example (into a folder on PYTHONPATH): a spec without `module`
    finds the kind through the entry-point group bioSNN.protocols."""
    src = tmp_path / "src"
    shutil.copytree(EXAMPLE, src)
    site = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--no-build-isolation", "--target", str(site), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    spec = tmp_path / "noisy-lif.toml"
    spec.write_text("\n".join(line for line in SPEC.read_text().splitlines()
                              if not line.startswith("module")) + "\n")
    code, out, err = biosnn("run", spec, "--quick", "--out", tmp_path / "r", pythonpath=[site])
    assert code == 0, err
    _complete(Path(out.strip()))
    code, out, err = biosnn("run", spec, "--quick", "--out", tmp_path / "r",
                            pythonpath=[tmp_path / "empty"])  # not installed: one line
    assert code == 2 and "unknown protocol kind 'noisy-lif'" in err
    assert "module = " in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("module, message", [
    ("no_such_module_xyz", "cannot import 'no_such_module_xyz' (ModuleNotFoundError"),
    ("json", "module 'json' defines no protocol kind 'noisy-lif'"),
])
def test_bad_module_is_a_one_line_spec_error(module, message, tmp_path):
    spec = tmp_path / "noisy-lif.toml"
    spec.write_text(SPEC.read_text().replace('module = "noisy_lif_protocol"',
                                             f'module = "{module}"'))
    code, out, err = biosnn("run", spec, "--quick", "--out", tmp_path / "r", pythonpath=[])
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biosnn: error: ") and message in lines[0]
    assert "module" in lines[0] and not (tmp_path / "r").exists()


def test_builtin_kinds_are_discovered_without_a_list():
    """Adding a built-in kind is one module in bioSNN/protocols/: the registry imports
    every module of the package, so nothing else lists it."""
    import pkgutil

    import bioSNN.protocols as package

    # the registry's rule: every module but the engine's and private helpers (``_name``)
    modules = {m.name for m in pkgutil.iter_modules(package.__path__)
               if not m.name.startswith("_")} - registry._ENGINE_MODULES
    kinds = {registry.get_kind(k).__module__.rsplit(".", 1)[1] for k in registry.kind_names()
             if registry.get_kind(k).__module__.startswith("bioSNN.")}
    assert kinds == modules


def test_quickstart_example_runs_loads_and_draws(tmp_path):
    """examples/quickstart.py, as a user runs it: a protocol run, loaded back, its
    summary printed and its figure drawn."""
    script = Path(__file__).parents[1] / "examples" / "quickstart.py"
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    runs = list((tmp_path / "results" / "lif-fi-curve").iterdir())
    assert len(runs) == 1 and (runs[0] / "summary.json").is_file()
    assert f"run folder: results/lif-fi-curve/{runs[0].name}" in p.stdout
    assert "'rate_at_I_max_Hz'" in p.stdout  # the summary
    assert (tmp_path / "quickstart-fi-curve.png").stat().st_size > 1000
    assert f"['{runs[0].name}']" in p.stdout  # find_runs found it by its tau_m

"""`biosnn figures`: every catalogued figure from saved runs, reused runs, stable output."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from _figure_checks import assert_figures_are_sound
from bioSNN.cli import main
from bioSNN.errors import BioSNNError
from bioSNN.figures import CATALOGUE, figure_names, get_entry, regenerate
from bioSNN.protocols.spec import find_spec, list_specs
from bioSNN.runner import find_run

REPO = Path(__file__).resolve().parents[1]
# The reuse and byte-stability tests here draw a few figures of fast numpy protocols.
# Every catalogued figure is drawn (size, not blank, no dates in the metadata) by
# `biosnn figures --quick` in tests/test_acceptance.py, from the quick runs made there.
SUBSET = ("lif-poisson-trace", "lif-fi-curve", "izhikevich-gallery", "stdp-window")
ENTRIES = [get_entry(n) for n in SUBSET]
NAMES = list(SUBSET)


@pytest.fixture(scope="module")
def quick_set(tmp_path_factory):
    """One `regenerate(quick=True)` from an empty results root, shared by the tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("BIOSNN_PROTOCOLS", raising=False)
        root = tmp_path_factory.mktemp("figures")
        results, out = root / "results", root / "figures"
        written = regenerate(NAMES, quick=True, out=out, results_root=results, progress=False)
    return results, out, written


def run_folders(results: Path) -> list[Path]:
    return sorted(p for p in results.glob("*/*") if p.is_dir())


def test_quick_set_draws_its_figures_from_one_run_per_protocol(quick_set):
    results, out, written = quick_set
    assert written == [out / f"{e.name}.{fmt}" for e in ENTRIES for fmt in ("png", "pdf")]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    assert_figures_are_sound(ENTRIES, out)
    # exactly one quick run per protocol was made, at the catalogue's seed
    protocols = sorted({e.protocol for e in ENTRIES})
    folders = run_folders(results)
    assert [f.parent.name for f in folders] == protocols
    assert all(f.name.endswith("-seed0-quick") for f in folders)
    assert not list(results.glob("*/.partial-*"))


def test_second_call_reuses_runs_and_is_byte_stable(quick_set):
    results, out, written = quick_set
    before_runs = run_folders(results)
    before = {p.name: p.read_bytes() for p in written}
    again = regenerate(NAMES, quick=True, out=out, results_root=results, progress=False)
    assert again == written
    assert run_folders(results) == before_runs  # nothing was run again
    for p in again:  # PNG and PDF alike: no dates or versions in the metadata
        assert p.read_bytes() == before[p.name], f"{p.name} changed"


def test_only_matching_complete_runs_are_reused(quick_set, tmp_path):
    results, _, _ = quick_set
    spec = find_spec("lif-fi-curve").resolve(quick=True, seed=0)
    found = find_run(spec, results)
    assert found is not None and found.parent == results / "lif-fi-curve"
    assert find_run(spec.resolve(seed=1), results) is None
    assert find_run(find_spec("lif-fi-curve").resolve(seed=0), results) is None  # full size
    assert find_run(spec.resolve(overrides={"tau_m": "12 ms"}), results) is None
    assert find_run(spec.resolve(target="cython"), results) is None
    assert find_run(spec, tmp_path) is None
    # hidden partial folders and incomplete folders are never results; newest match wins
    parent = tmp_path / "lif-fi-curve"
    shutil.copytree(found, parent / "20000101-000000-seed0-quick")
    shutil.copytree(found, parent / ".partial-29990101-000000-seed0-quick-1")
    shutil.copytree(found, parent / "29990101-000000-seed0-quick")
    (parent / "29990101-000000-seed0-quick" / "summary.json").unlink()
    assert find_run(spec, tmp_path) == parent / "20000101-000000-seed0-quick"
    shutil.copytree(found, parent / "20200101-000000-seed0-quick")
    assert find_run(spec, tmp_path) == parent / "20200101-000000-seed0-quick"


def test_cli_only_and_unknown_name(quick_set, tmp_path, capsys):
    results, _, _ = quick_set
    out = tmp_path / "out"
    code = main(["figures", "--quick", "--only", "lif-fi-curve", "--out", str(out),
                 "--results", str(results), "--no-progress"])
    stdout, stderr = capsys.readouterr()
    assert code == 0
    assert stdout.split() == [str(out / "lif-fi-curve.png"), str(out / "lif-fi-curve.pdf")]
    assert sorted(p.name for p in out.iterdir()) == ["lif-fi-curve.pdf", "lif-fi-curve.png"]
    assert "biosnn figures: 2 files in" in stderr

    empty = tmp_path / "no-results"
    code = main(["figures", "--quick", "--only", "lif-fi-curve", "--only", "nope",
                 "--out", str(tmp_path / "out2"), "--results", str(empty)])
    stdout, stderr = capsys.readouterr()
    assert code == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0] == ("biosnn: error: unknown figure 'nope'; known figures: "
                        + ", ".join(figure_names()))
    assert not empty.exists() and not (tmp_path / "out2").exists()  # nothing ran


def test_catalogue_is_consistent_and_documented():
    names = figure_names()
    assert len(set(names)) == len(names)
    readme = (REPO / "figures" / "README.md").read_text()
    specs = list_specs()
    for entry in CATALOGUE:
        assert entry.protocol in specs, entry.protocol
        assert callable(entry.draw_function())
        assert f"`{entry.name}`" in readme and f"`{entry.protocol}`" in readme, entry.name
    with pytest.raises(BioSNNError, match="unknown figure 'x'; known figures: lif-poisson-trace"):
        get_entry("x")

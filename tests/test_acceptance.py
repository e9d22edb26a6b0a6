"""The product as a user meets it: the ``biosnn`` command in a real subprocess, with the
CLI's default options (progress on), stderr once a pipe and once a pseudo-terminal.

Every protocol that ``biosnn list`` prints is run here, so a new protocol gets this
coverage without anyone adding it. Bad input must give one line and exit 2, Ctrl-C one
line and exit 130, and neither may leave anything that looks like a result.
"""
from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from _biosnn_cli import COMMAND, biosnn
from _figure_checks import assert_figures_are_sound
from bioSNN.protocols.registry import get_kind
from bioSNN.protocols.spec import find_spec
from bioSNN.results import REQUIRED_FILES
from bioSNN.validation import FAIL, PASS, WARN
from bioSNN.validation.registry import ENTRIES, entry_names

HAVE_DATA = bool(os.environ.get("BIOSNN_DATA"))


def _listed_protocols() -> list[str]:
    code, out, err = biosnn("list", timeout=120)
    assert code == 0, err
    return [line.split()[0] for line in out.splitlines() if line.strip()]


PROTOCOLS = _listed_protocols()


def _terminal_representatives(names) -> set[str]:
    """One protocol per way progress reaches a terminal: Brian2 target (numpy and cython:
    Python report; cpp_standalone: the binary's own) or torch training bars; of each, the
    one with the shortest quick run (its spec's [runtime]). The pipe run (every protocol)
    is the user's default path; the terminal run checks the in-place line of each of
    these paths once."""
    best = {}
    for name in sorted(names):
        spec = find_spec(name)
        key = (spec.target, get_kind(spec.kind).uses_brian)
        quick_s = dict(spec.runtime or {}).get("quick", float("inf"))
        if key not in best or quick_s < best[key][0]:
            best[key] = (quick_s, name)
    return {name for _, name in best.values()}


TERMINAL = _terminal_representatives(PROTOCOLS)


def _uses_data(name: str) -> bool:
    return get_kind(find_spec(name).kind).uses_data


def _assert_complete_run(folder: Path, name: str):
    assert folder.is_dir(), folder
    for f in REQUIRED_FILES:
        assert (folder / f).is_file(), f"{folder} lacks {f}"
    json.loads((folder / "summary.json").read_text())
    for fig in get_kind(find_spec(name).kind).figures:
        assert (folder / f"fig-{fig}.png").is_file(), f"{folder} lacks fig-{fig}.png"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".partial-")]


def _no_result_left(root: Path):
    """Nothing under ``root`` looks like a result: no run folder, no partial folder."""
    if not root.exists():
        return
    leftovers = [p for p in root.rglob("*") if p.is_file() or p.name.startswith(".partial")]
    assert not leftovers, leftovers


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("acceptance-results")


def _marks(name):
    kind = get_kind(find_spec(name).kind)
    spec = find_spec(name)
    return ([pytest.mark.data] if kind.uses_data else []) + \
        ([pytest.mark.compiled] if spec.target in ("cython", "cpp_standalone") else [])


@pytest.mark.parametrize("name, tty", [
    pytest.param(n, tty, marks=_marks(n), id=f"{n}-{'pty' if tty else 'pipe'}")
    for n in PROTOCOLS for tty in (False, True) if not tty or n in TERMINAL])
def test_every_listed_protocol_runs_quick_as_a_user_runs_it(name, tty, results):
    if _uses_data(name) and not HAVE_DATA:
        pytest.skip("BIOSNN_DATA is not set (the dataset of this protocol)")
    code, out, err = biosnn("run", name, "--quick", "--out", results, tty=tty)
    assert code == 0, err[-3000:]
    assert "Traceback" not in out and "Traceback" not in err, err[-3000:]
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # stdout: the run folder and nothing else
    folder = Path(lines[0])
    assert folder.parent == results / name
    _assert_complete_run(folder, name)
    assert f"{name}: done in" in err  # progress is on by default
    if tty:
        assert "\r" in err  # a line that updates in place
    else:
        assert "\r" not in err and "\033[" not in err  # plain lines in logs
        _assert_exports(folder)


def _assert_exports(folder: Path):
    """Every shipped protocol's run exports to NWB (valid, no serious inspector message)
    and to Neo (NIX, read back with the same number of spike trains)."""
    import pynwb
    from nwbinspector import inspect_nwbfile

    from bioSNN.exchange import export_run

    nwb = export_run(folder, "nwb", with_weights=True)
    assert nwb.is_file() and pynwb.validate(path=str(nwb)) == []
    serious = [(m.check_function_name, m.message) for m in inspect_nwbfile(nwbfile_path=str(nwb))
               if m.importance.name in ("CRITICAL", "BEST_PRACTICE_VIOLATION")]
    assert serious == []
    with pynwb.NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        n_units = 0 if f.units is None else len(f.units)
    from bioSNN.exchange.neo_io import read_neo

    block = read_neo(export_run(folder, "neo"))
    recorded = [st for st in block.segments[0].spiketrains
                if st.annotations.get("role") != "stimulus"]
    assert len(recorded) == n_units


@pytest.mark.data
def test_figures_quick_with_default_options(results, tmp_path):
    if not HAVE_DATA:
        pytest.skip("BIOSNN_DATA is not set (few-shot and replay figures)")
    from bioSNN.figures import CATALOGUE

    runs_before = sorted(p for p in results.glob("*/*"))
    code, out, err = biosnn("figures", "--quick", "--out", tmp_path / "fig", "--results", results)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    written = [Path(p) for p in out.split()]
    assert sorted(p.name for p in written) == sorted(
        f"{e.name}.{fmt}" for e in CATALOGUE for fmt in ("png", "pdf"))
    assert all(p.stat().st_size > 1000 for p in written)
    assert_figures_are_sound(CATALOGUE, tmp_path / "fig")
    assert "biosnn figures:" in err and "protocol runs" in err  # the plan is printed first
    # every figure was drawn from a run `biosnn run --quick` made above: none ran again
    assert sorted(p for p in results.glob("*/*")) == runs_before


#: Regime entries whose quick-size verdict is known (the others of severity ``fail`` pass).
EXPECTED_REGIMES = {"regime-rest": PASS, "regime-tau-m": WARN, "regime-threshold": WARN,
                    "regime-refractory": WARN, "regime-rate-lif-poisson-trace": WARN,
                    "regime-cv-lif-poisson-trace": PASS}


def test_validate_quick_validates_the_correct_models(results, tmp_path):
    """`biosnn validate --quick` on the quick runs above (the correct models): every test of
    severity ``fail`` passes, the Brunel states warn "not judged" (quick size is not
    Brunel's sparse network), the regimes give their known verdicts; a second call reuses
    every run."""
    report_dir = tmp_path / "v"
    code, out, err = biosnn("validate", "--quick", "--results", results, "--out", report_dir)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    text = (report_dir / "report.md").read_text()
    assert "| test | observation | prediction | score | status | citation |" in text
    verdicts = json.loads((report_dir / "verdicts.json").read_text())["verdicts"]
    status = {v["test"]: v["status"] for v in verdicts}
    assert list(status) == entry_names()
    for entry in ENTRIES:
        if entry.name.startswith("brunel-"):
            assert status[entry.name] == WARN, (entry.name, out)
        elif entry.test.severity == FAIL:
            assert status[entry.name] == PASS, (entry.name, out)
    brunel = [v for v in verdicts if v["test"].startswith("brunel-")]
    assert brunel and all("not judged" in v["score"]["text"] for v in brunel)
    for name, want in EXPECTED_REGIMES.items():
        assert status[name] == want, name
    for name in entry_names():
        assert name in out or name[:20] in out  # the printed table (names may wrap)
    assert f"{len(ENTRIES)} tests:" in out and "0 fail" in out
    figures = sorted(p.name for p in (report_dir / "figures").iterdir())
    assert {"izhikevich-patterns.png", "membrane-probe.png", "lif-fi-curve.png",
            "stdp-window.png", "stdp-window-bi-poo.png", "membrane-regimes.png",
            "firing-regime.png"} <= set(figures)
    for name in figures:
        assert f"figures/{name}" in text

    # a second call reuses every run (the override runs the first call made included)
    before = sorted(p for p in results.glob("*/*"))
    code, out, err = biosnn("validate", "--quick", "--results", results,
                            "--only", "izhikevich-RS-adaptation", "--only", "stdp-window-bi-poo",
                            "--out", tmp_path / "second")
    assert code == 0, err[-3000:]
    assert sorted(p for p in results.glob("*/*")) == before
    assert err.count("validate: reusing") == 2
    assert "2 tests: 2 pass" in out


def test_sweep_two_points_quick_with_default_options(tmp_path):
    code, out, err = biosnn("sweep", "lif-fi-curve", "--quick", "--set", "sigma=0mV,1mV",
                            "--out", tmp_path)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    table = Path(out.strip().splitlines()[-1])
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}
    for r in rows:
        _assert_complete_run(Path(r["run"]), "lif-fi-curve")


# ------------------------------------------------------------------ bad input: one line, exit 2

def _assert_one_line_error(code, out, err, *needles, exit_code=2):
    assert code == exit_code, (code, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("biosnn: error: "), lines[0]
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize("argv, needles", [
    (["run", "lif-fi-curve", "--seed", "99999999999999999999"], ["--seed", "4294967295"]),
    (["run", "lif-fi-curve", "--seed", "4294967296"], ["--seed", "2**32-1"]),
    (["sweep", "lif-fi-curve", "--seeds", "0-99999999999", "--set", "sigma=1mV,2mV"],
     ["--seeds", "at most 4294967295"]),
    (["run", "lif-fi-curve", "--set", "n_train_tasks=3"],
     ["unknown parameter 'n_train_tasks'", "fewshot-protonet"]),
    (["run", "protocols/"], ["is a folder"]),
])
def test_bad_arguments_give_one_line(argv, needles, tmp_path):
    code, out, err = biosnn(*argv, "--out", tmp_path / "r", cwd=Path(__file__).parents[1])
    _assert_one_line_error(code, out, err, *needles)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [
    ["run", "lif-fi-curve", "--quick", "--out"],
    ["figures", "--quick", "--only", "lif-fi-curve", "--results"],
    ["figures", "--quick", "--only", "lif-fi-curve", "--out"],
    ["validate", "--quick", "--only", "lif-fi-analytic", "--out"],
])
@pytest.mark.parametrize("where", ["/proc/nope", "a-file"])
def test_unwritable_or_invalid_output_folder(command, where, tmp_path):
    if where == "a-file":
        where = tmp_path / "a-file"
        where.write_text("not a folder")
    code, out, err = biosnn(*command, where, cwd=tmp_path)
    _assert_one_line_error(code, out, err, str(where), "cannot write there")
    assert [p.name for p in tmp_path.iterdir()] == (["a-file"] if "a-file" in str(where) else [])


def test_spec_file_problems_give_one_line(tmp_path):
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    code, out, err = biosnn("run", folder, "--out", tmp_path / "r")
    _assert_one_line_error(code, out, err, "is a folder")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    code, out, err = biosnn("run", binary, "--out", tmp_path / "r")
    _assert_one_line_error(code, out, err, "binary.toml", "not a text file")
    unreadable = tmp_path / "unreadable.toml"
    shutil.copy(Path(__file__).parents[1] / "protocols" / "lif-fi-curve.toml", unreadable)
    unreadable.chmod(0)
    if os.access(unreadable, os.R_OK):  # root reads anything: make it unreadable otherwise
        unreadable.unlink()
        os.symlink(tmp_path / "missing-target.toml", unreadable)
    code, out, err = biosnn("run", unreadable, "--out", tmp_path / "r")
    _assert_one_line_error(code, out, err, "unreadable.toml")
    assert not (tmp_path / "r").exists()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if shutil.which("mount") is None:
        return False
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True)
    return p.returncode == 0


def test_full_disk_gives_one_line_and_no_result(tmp_path, monkeypatch, capsys):
    disk = tmp_path / "disk"
    if _mount_tmpfs(disk, "32k"):  # a real full disk (root, as in CI)
        try:
            code, out, err = biosnn("run", "lif-poisson-trace", "--out", disk / "r")
            _no_result_left(disk / "r")
        finally:
            subprocess.run(["umount", str(disk)], check=True)
    else:  # no mount here: the same path, with the disk filling up simulated in-process
        from bioSNN import results as results_module
        from bioSNN.cli import main

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(results_module.Results, "save", full)
        code = main(["run", "lif-poisson-trace", "--quick", "--out", str(disk / "r")])
        out, err = capsys.readouterr()
        _no_result_left(disk / "r")
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("biosnn: error: ") and "No space left on device" in last
    assert "free some space" in last
    assert sum(line.startswith("biosnn:") for line in err.splitlines()) == 1


def test_ctrl_c_exits_130_with_one_line_and_no_run_folder(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C, during the simulation."""
    out_dir = tmp_path / "r"
    p = subprocess.Popen([*COMMAND, "run", "stdp-window", "--out", str(out_dir)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    err_lines = []
    deadline = time.monotonic() + 300
    for line in p.stderr:  # wait until the simulation has started
        err_lines.append(line)
        if "simulated" in line or time.monotonic() > deadline:
            break
    assert p.poll() is None, "".join(err_lines)
    assert any((out_dir / "stdp-window").glob(".partial-*"))  # a run is in progress
    os.killpg(p.pid, signal.SIGINT)
    out, rest = p.communicate(timeout=120)
    err = "".join(err_lines) + rest
    assert p.returncode == 130, err
    assert out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("biosnn: interrupted")
    assert sum(line.startswith("biosnn:") for line in err.splitlines()) == 1
    _no_result_left(out_dir)


def test_internal_error_is_one_line_and_a_saved_traceback(tmp_path, monkeypatch, capsys):
    from bioSNN import runner
    from bioSNN.cli import main

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug deep inside")

    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runner, "run_protocol", broken)
    code = main(["run", "lif-fi-curve", "--quick", "--out", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biosnn: internal error")
    assert "ZeroDivisionError: a bug deep inside" in lines[0]
    saved = Path(lines[0].rsplit("traceback saved in ", 1)[1])
    assert saved.parent == tmp_path / "cache" / "crash-reports"
    text = saved.read_text()
    assert "Traceback (most recent call last)" in text
    assert "ZeroDivisionError: a bug deep inside" in text


def test_interrupted_compile_is_recognised():
    """Brian2 reports make stopped by Ctrl-C only as a wait status (os.system)."""
    from bioSNN.backend import _interrupted_compile

    def failed(status):
        return RuntimeError(f"Project compilation failed (error code: {status}). Consider...")

    assert _interrupted_compile(failed(signal.SIGINT))            # sh killed by SIGINT
    assert _interrupted_compile(failed((128 + signal.SIGINT) << 8))  # sh exit 130
    assert not _interrupted_compile(failed(2 << 8))                # make: a compiler error
    assert not _interrupted_compile(RuntimeError("Project run failed"))

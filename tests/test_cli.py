"""The `biosnn` command: list, show, run, and exit status 2 with one line on bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bioSNN.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    lines = out.strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert "lif-fi-curve" in names and "izhikevich-patterns" in names
    assert all(len(line.split(None, 1)) == 2 for line in lines)  # name, then description


def test_show_quick_with_set(capsys):
    code, out, _ = run_cli(capsys, "show", "lif-fi-curve", "--quick", "--set", "tau_m=12ms")
    assert code == 0
    assert 'tau_m = "12 ms"' in out and "n_currents = 11" in out and "mode: quick" in out


def test_run_quick_prints_folder(capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", "lif-fi-curve", "--quick", "--out", str(tmp_path),
                             "--seed", "4", "--no-progress")
    assert code == 0
    folder = Path(out.strip().splitlines()[-1])
    assert folder.is_dir() and folder.parent == tmp_path / "lif-fi-curve"
    assert "seed4" in folder.name and (folder / "summary.json").is_file()


@pytest.mark.parametrize("argv, expected", [
    (["run", "no-such-protocol"], "unknown protocol 'no-such-protocol'"),
    (["run", "lif-fi-curve", "--set", "tau_m"], "--set: expected key=value"),
    (["run", "lif-fi-curve", "--set", "tau_m=5 mV"], "--set: tau_m: expected a time"),
    (["run", "lif-fi-curve", "--set", "nope=1"], "unknown parameter 'nope'"),
    (["show", "missing.toml"], "spec file 'missing.toml' does not exist"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, expected, tmp_path):
    code, out, err = run_cli(capsys, *argv, *(["--out", str(tmp_path)] if argv[0] == "run" else []))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biosnn: error: ") and expected in lines[0]


def test_bad_spec_file_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nkind = "lif-fi-curve"\ndescription = "x"\n'
                   '[parameters]\ntau_m = "10"\n')
    code, _, err = run_cli(capsys, "run", str(bad), "--out", str(tmp_path))
    assert code == 2
    assert "bad.toml: parameters.tau_m: expected a time" in err
    assert "Traceback" not in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "lif-fi-curve", "--target", "gpu"])
    assert exc.value.code == 2
    assert "invalid choice: 'gpu'" in capsys.readouterr().err


def test_python_dash_m_and_console_script():
    help_ = subprocess.run([sys.executable, "-m", "bioSNN", "--help"], capture_output=True, text=True)
    assert help_.returncode == 0
    for word in ("list", "show", "run"):
        assert word in help_.stdout
    bad = subprocess.run([sys.executable, "-m", "bioSNN", "run", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr

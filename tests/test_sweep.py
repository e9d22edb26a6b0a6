"""Parameter sweeps on Dask distributed (bioSNN.sweep, `biosnn sweep`), on a real
LocalCluster of worker processes.

Covered: point expansion and seeds (hand-checked), sweep results equal to the same points
run serially with the same seeds, resume, a worker killed while it runs a point, a point
that always fails, the summary figure and its statistics, and the CLI's one-line errors.

The small protocol kind ``sweep-probe`` defined here (sleeps ``delay``, draws from the
seed's numpy stream, fails at run time when ``gain`` < 0) gives slow and failing points on
demand. Worker processes import this module to get the kind registered (the sweep sends
the kind's module name with each point; Dask's spawned workers inherit ``sys.path``).
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from brian2 import Quantity, ms, nA, second

from bioSNN.cli import main
from bioSNN.errors import BioSNNError
from bioSNN.protocols.base import Protocol
from bioSNN.protocols.registry import register
from bioSNN.protocols.schema import param
from bioSNN.protocols.spec import find_spec
from bioSNN.runner import RunIndex, find_run, run_protocol
from bioSNN.stats import mean_ci95
from bioSNN.sweep import define_sweep, parse_seeds, run_sweep

pytestmark = pytest.mark.timeout(300)


# --------------------------------------------------------------------------- a probe kind

@dataclass(frozen=True)
class ProbeParams:
    delay: Quantity = param(0 * ms, unit=ms, min=0, doc="wall-clock time the run sleeps")
    gain: float = param(1.0, doc="scale of the drawn values; < 0 passes parsing, fails at run")
    marker_dir: str = param("", doc="folder receiving one file per run attempt ('' = none)")


@register
class SweepProbe(Protocol):
    """Sleeps ``delay``, then draws 8 numbers from the seed's numpy stream."""

    kind = "sweep-probe"
    Params = ProbeParams

    def simulate(self, ctx):
        p = self.params
        if p.marker_dir:
            Path(p.marker_dir, f"start gain={p.gain:g} seed={self.spec.seed} "
                 f"pid={os.getpid()} t={time.time_ns()}").touch()
        if p.gain < 0:
            raise ValueError(f"gain must be >= 0 at run time, got {p.gain:g}")
        time.sleep(float(p.delay / second))
        x = p.gain * ctx.streams.numpy_rng().random(8)
        return xr.Dataset({"x": ("i", x, {"units": "1"})})

    @staticmethod
    def summarize(data, params):
        x = data["x"].values
        return {"mean_x": float(x.mean()), "n": int(x.size), "all_x": x.tolist(),
                "extremes": {"min": float(x.min()), "max": float(x.max())}, "label": "probe"}


def probe_spec(folder: Path, marker_dir: Path | None = None, delay: str = "0 ms") -> Path:
    path = folder / "sweep-probe.toml"
    path.write_text(f'name = "sweep-probe"\nkind = "sweep-probe"\ndescription = "probe"\n'
                    f'[parameters]\ndelay = "{delay}"\nmarker_dir = "{marker_dir or ""}"\n')
    return path


def markers(folder: Path) -> list[tuple[float, int, int]]:
    """(gain, seed, pid) of every run attempt recorded in ``folder``, in time order."""
    found = []
    for f in folder.glob("start *"):
        kv = dict(item.split("=") for item in f.name.split()[1:])
        found.append((int(kv["t"]), float(kv["gain"]), int(kv["seed"]), int(kv["pid"])))
    return [m[1:] for m in sorted(found)]


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def cluster():
    """A real LocalCluster of 2 single-threaded worker processes (used through
    ``scheduler=``, i.e. the `--scheduler` path)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.CRITICAL) as c:
        yield c


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


FI_SETS = ["--set", "sigma=1mV", "--set", "I_max=0.5nA,1nA"]


@pytest.fixture(scope="module")
def fi_sweep(tmp_path_factory):
    """`biosnn sweep lif-fi-curve --quick` (membrane noise, so seeds matter), 2 values x 2
    seeds, on the embedded LocalCluster."""
    out = tmp_path_factory.mktemp("fi-sweep")
    code, stdout, stderr = cli("sweep", "lif-fi-curve", "--quick", *FI_SETS, "--seeds", "0-1",
                               "--workers", "2", "--out", str(out), "--no-figures")
    return out, code, stdout, stderr


def read_table(path):
    import pandas as pd

    return pd.read_csv(path)


# --------------------------------------------------------------------------- definition

def test_point_expansion_hand_checked():
    sw = define_sweep("lif-fi-curve", ["tau_m=10ms,0.02s", "n_currents=5,7,9"], "0-1", quick=True)
    points = sw.points()
    assert sw.n_points == len(points) == 2 * 3 * 2
    assert [ax.name for ax in sw.axes] == ["tau_m", "n_currents"]
    assert sw.axes[0].values == ("10 ms", "20 ms") and sw.axes[0].numbers == (10.0, 20.0)
    assert sw.axes[0].column == "tau_m_ms" and sw.axes[1].column == "n_currents"
    assert sw.axes[1].values == (5, 7, 9) and sw.axes[1].unit is None
    # the last --set varies fastest, seeds innermost
    expect = [("10 ms", 5, 0), ("10 ms", 5, 1), ("10 ms", 7, 0), ("10 ms", 7, 1),
              ("10 ms", 9, 0), ("10 ms", 9, 1), ("20 ms", 5, 0), ("20 ms", 5, 1),
              ("20 ms", 7, 0), ("20 ms", 7, 1), ("20 ms", 9, 0), ("20 ms", 9, 1)]
    got = [(dict(p.values)["tau_m"], dict(p.values)["n_currents"], p.seed) for p in points]
    assert got == expect
    assert [p.index for p in points] == list(range(12))
    spec = sw.spec_of(points[7])
    assert spec.params.tau_m == 20 * ms and spec.params.n_currents == 5 and spec.seed == 1
    assert spec.mode == "quick" and spec.params.duration == 500 * ms  # [quick] applied
    assert dict(spec.overrides) == {"tau_m": "20 ms", "n_currents": 5}
    assert spec.parameter_table() == find_spec("lif-fi-curve").resolve(
        quick=True, overrides={"tau_m": "20ms", "n_currents": 5}, seed=1).parameter_table()
    # deterministic id: same definition -> same id; other seeds or values -> another
    again = define_sweep("lif-fi-curve", ["tau_m=10 ms,20ms", "n_currents=5,7,9"], "0,1",
                         quick=True)
    assert again.sweep_id == sw.sweep_id and sw.sweep_id.startswith("lif-fi-curve-")
    assert define_sweep("lif-fi-curve", ["tau_m=10ms,0.02s", "n_currents=5,7,9"], "0-2",
                        quick=True).sweep_id != sw.sweep_id
    assert define_sweep("lif-fi-curve", ["tau_m=10ms,0.02s", "n_currents=5,7,9"], "0-1"
                        ).sweep_id != sw.sweep_id  # full mode


def test_values_parse_as_the_spec_units():
    sw = define_sweep("lif-fi-curve", ['V_th="-55 mV","-0.05 volt"', "I_max=500pA,1nA"], None)
    assert sw.axes[0].values == ("-55 mV", "-50 mV") and sw.axes[0].numbers == (-55.0, -50.0)
    assert sw.axes[1].values == ("0.5 nA", "1 nA") and sw.axes[1].column == "I_max_nA"
    assert sw.seeds == (0,)  # the spec's seed
    assert sw.spec_of(sw.points()[1]).params.I_max == 1 * nA


@pytest.mark.parametrize("text, seeds", [
    ("0-9", tuple(range(10))), ("0,3,5", (0, 3, 5)), ("7", (7,)), ("2-4,9", (2, 3, 4, 9)),
    (" 5 - 6 ", (5, 6)), ("3-3", (3,)), (4, (4,)), ([1, 2], (1, 2)),
])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, why", [
    ("", "empty item"), ("a", "cannot read 'a'"), ("3-1", "ends before it starts"),
    ("1,,2", "empty item"), ("-1", "cannot read '-1'"), ("1,1", "seed 1 given twice"),
    ("0-3,2", "seed 2 given twice"), ("1.5", "cannot read '1.5'"), ([-2], "non-negative"),
])
def test_parse_seeds_errors(text, why):
    with pytest.raises(BioSNNError, match="--seeds") as exc:
        parse_seeds(text)
    assert why in str(exc.value) and "expected seeds like 0-9, 0,3,5 or 7" in str(exc.value)


@pytest.mark.parametrize("sets, message", [
    (["nope=1,2"], "--set: nope: unknown parameter 'nope'"),
    (["tau_m=10ms,5mV"], '--set: tau_m: expected a time like "10 ms"'),
    (["tau_m=-1ms"], "--set: tau_m: must be > 0 ms"),
    (["n_currents=5,x"], "--set: n_currents: expected an integer, got 'x'"),
    (["tau_m=10ms,0.01s"], "--set: tau_m: value '10 ms' given twice"),
    (["tau_m=10ms", "tau_m=20ms"], "--set: tau_m: given twice"),
    (["tau_m=10ms,,20ms"], "--set: tau_m: empty value"),
    (["tau_m"], "--set: expected key=value"),
    (["I_max=-1nA,2nA"], "must be larger than I_min"),  # a combination the protocol rejects
])
def test_define_sweep_errors(sets, message):
    with pytest.raises(BioSNNError) as exc:
        define_sweep("lif-fi-curve", sets, "0")
    assert message in str(exc.value)


def test_mean_ci95_hand_checked():
    mean, half, n = mean_ci95([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.302653; s = 1; half = 4.302653 / sqrt(3)
    assert (mean, n) == (2.0, 3) and half == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    assert mean_ci95([5.0, None, float("nan")])[:1] == (5.0,) and np.isnan(mean_ci95([5.0])[1])
    assert mean_ci95([])[2] == 0


# --------------------------------------------------------------------------- sweep results

def test_sweep_equals_serial_runs(fi_sweep, tmp_path):
    out, code, stdout, stderr = fi_sweep
    assert code == 0, stderr
    table_path = Path(stdout.strip())
    assert table_path.parent.parent == out / "sweeps" and table_path.name == "table.csv"
    table = read_table(table_path)
    assert len(table) == 4 and (table["status"] == "ok").all()
    assert list(table["I_max"]) == ["0.5 nA", "0.5 nA", "1 nA", "1 nA"]
    assert list(table["I_max_nA"]) == [0.5, 0.5, 1.0, 1.0] and list(table["seed"]) == [0, 1, 0, 1]
    assert {"protocol", "sigma", "sigma_mV", "seed", "status", "error", "run", "wall_time_s",
            "reused", "rate_at_I_max_Hz", "max_abs_isi_error_ms"} <= set(table.columns)
    assert "summary.n_currents" not in table.columns and "n_currents" in table.columns
    assert len(list((out / "lif-fi-curve").iterdir())) == 4
    summaries = []
    for _, row in table.iterrows():
        folder = Path(row["run"])
        assert folder.parent == out / "lif-fi-curve"
        spec = find_spec("lif-fi-curve").resolve(
            quick=True, overrides={"sigma": "1 mV", "I_max": row["I_max"]}, seed=int(row["seed"]))
        serial = run_protocol(spec, out=tmp_path, progress=False, figures=False)
        got = json.loads((folder / "summary.json").read_text())
        want = json.loads((serial / "summary.json").read_text())
        assert got == want  # exactly, every value
        assert row["rate_at_I_max_Hz"] == want["rate_at_I_max_Hz"]  # table = summary.json
        assert (folder / "spec.toml").read_text() == (serial / "spec.toml").read_text()
        with xr.open_dataset(folder / "data.nc", engine="h5netcdf") as a, \
                xr.open_dataset(serial / "data.nc", engine="h5netcdf") as b:
            assert np.array_equal(a["spike_time"].values, b["spike_time"].values)
        summaries.append(got)
    # the noise makes seeds differ: the comparison above is not vacuous
    assert summaries[0]["rate_at_I_max_Hz"] != summaries[1]["rate_at_I_max_Hz"]


def test_sweep_files_and_short_table(fi_sweep):
    out, code, stdout, stderr = fi_sweep
    folder = Path(stdout.strip()).parent
    definition = json.loads((folder / "sweep.json").read_text())
    assert definition["sweep_id"] == folder.name and definition["seeds"] == [0, 1]
    assert definition["parameters"][1] == {"name": "I_max", "values": ["0.5 nA", "1 nA"],
                                           "unit": "nA", "column": "I_max_nA"}
    assert definition["mode"] == "quick" and definition["n_points"] == 4
    assert definition["metric"] == "rate_at_I_max_Hz"  # the per-protocol default
    import matplotlib.image as mpimg

    img = mpimg.imread(folder / "summary.png")
    assert img.shape[0] > 300 and img.shape[1] > 600 and img[..., :3].std() > 0.05
    assert "rate_at_I_max_Hz (mean ± 95% CI)" in stderr and "2/2" in stderr
    assert "4 points (0 reused, 4 run, 0 failed)" in stderr


def test_resume_skips_finished_points(fi_sweep, cluster):
    out, _, stdout, _ = fi_sweep
    table_path = Path(stdout.strip())
    runs = out / "lif-fi-curve"
    before = {p.name: p.stat().st_mtime_ns for p in runs.iterdir()}
    png = (table_path.parent / "summary.png").read_bytes()
    first = read_table(table_path)

    code, stdout2, stderr = cli("sweep", "lif-fi-curve", "--quick", *FI_SETS, "--seeds", "0-1",
                                "--out", str(out), "--scheduler", cluster.scheduler_address)
    assert code == 0 and Path(stdout2.strip()) == table_path  # the same sweep folder
    assert "4 points (4 reused, 0 run, 0 failed)" in stderr
    assert {p.name: p.stat().st_mtime_ns for p in runs.iterdir()} == before
    again = read_table(table_path)
    assert again["reused"].all()
    assert again.drop(columns="reused").equals(first.drop(columns="reused"))
    assert (table_path.parent / "summary.png").read_bytes() == png  # figure = f(table)

    # the resume index agrees with runner.find_run point by point
    sweep = define_sweep("lif-fi-curve", FI_SETS[1::2], "0-1", quick=True)
    index = RunIndex(out)
    for p in sweep.points():
        spec = sweep.spec_of(p)
        assert index.find(spec) == find_run(spec, out) == Path(first.loc[p.index, "run"])
    assert index.find(sweep.spec_of(p).resolve(seed=5)) is None

    # a lost run folder is run again, and only that one
    lost = Path(first.loc[2, "run"])
    import shutil

    shutil.rmtree(lost)
    code, _, stderr = cli("sweep", "lif-fi-curve", "--quick", *FI_SETS, "--seeds", "0-1",
                          "--out", str(out), "--scheduler", cluster.scheduler_address,
                          "--no-progress", "--no-figures")
    assert code == 0 and "4 points (3 reused, 1 run, 0 failed)" in stderr
    now = {p.name: p.stat().st_mtime_ns for p in runs.iterdir()}
    assert len(now) == 4 and {k: v for k, v in now.items() if k in before} == {
        k: v for k, v in before.items() if k != lost.name}
    third = read_table(table_path)
    assert list(third["reused"]) == [True, True, False, True]
    assert third["rate_at_I_max_Hz"].equals(first["rate_at_I_max_Hz"])


def test_killed_worker_still_gives_complete_table(cluster, tmp_path):
    """SIGKILL the worker process while it runs a point: Dask reschedules the point."""
    from distributed import Client

    marks = tmp_path / "marks"
    marks.mkdir()
    spec = probe_spec(tmp_path, marks, delay="1500 ms")
    sweep = define_sweep(str(spec), [], "0-3")
    with Client(cluster.scheduler_address) as client:
        worker_pids = set(client.run(os.getpid).values())
    killed = {}

    def killer():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            found = markers(marks)
            if found:
                _, seed, pid = found[0]
                assert pid in worker_pids  # only ever kill one of this cluster's workers
                time.sleep(0.3)  # well inside the 1.5 s point
                os.kill(pid, signal.SIGKILL)
                killed.update(seed=seed, pid=pid)
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = run_sweep(sweep, out=tmp_path / "out", scheduler=cluster.scheduler_address,
                       progress=False)
    thread.join(5)
    assert killed, "no point started"
    assert [r["status"] for r in result.rows] == ["ok"] * 4 and result.n_failed == 0
    attempts = [(s, pid) for _, s, pid in markers(marks) if s == killed["seed"]]
    assert len(attempts) >= 2 and attempts[0][1] == killed["pid"]  # ran again elsewhere
    assert all(pid != killed["pid"] for _, pid in attempts[1:])
    # every point's values are those of a serial run with its seed
    base = find_spec(str(spec))
    for row in result.rows:
        data = SweepProbe(base.resolve(seed=row["seed"])).run().summary
        assert row["mean_x"] == data["mean_x"] and row["extremes.max"] == data["extremes"]["max"]
    assert "all_x" not in result.columns and result.rows[0]["label"] == "probe"  # scalars only
    assert len(list((tmp_path / "out" / "sweep-probe").glob("[!.]*"))) == 4
    with Client(cluster.scheduler_address) as client:  # the nanny replaced the worker
        client.wait_for_workers(2, timeout=30)
        assert killed["pid"] not in set(client.run(os.getpid).values())


def test_failing_point_is_reported_and_others_complete(cluster, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    spec = probe_spec(tmp_path, marks)
    out = tmp_path / "out"
    code, stdout, stderr = cli("sweep", str(spec), "--set", "gain=1,-1", "--seeds", "0-1",
                               "--out", str(out), "--scheduler", cluster.scheduler_address,
                               "--no-progress")
    assert code == 1  # some points failed; the table is still written
    table = read_table(stdout.strip())
    assert list(table["status"]) == ["ok", "ok", "failed", "failed"]
    assert list(table["gain"]) == [1.0, 1.0, -1.0, -1.0]
    for err in table["error"][2:]:
        assert err == "ValueError: gain must be >= 0 at run time, got -1"
    assert table["error"][:2].isna().all() and table["run"][2:].isna().all()
    assert table["mean_x"][:2].notna().all() and table["mean_x"][2:].isna().all()
    # retries=2: each failing point was attempted 1 + 2 times; the good ones once
    tries = [(g, s) for g, s, _ in markers(marks)]
    assert sorted(tries) == [(-1.0, 0)] * 3 + [(-1.0, 1)] * 3 + [(1.0, 0), (1.0, 1)]
    assert "failed: gain=-1.0, seed 0: ValueError: gain must be >= 0" in stderr
    assert "1.0   2/2" in stderr and "-1.0  0/2" in stderr
    assert len(list((out / "sweep-probe").glob("[!.]*"))) == 2  # no folder of a failed run


# --------------------------------------------------------------------------- figure

def test_plot_sweep_is_mean_and_ci_of_the_table():
    import pandas as pd

    from bioSNN.plots.sweep import plot_sweep

    rows = []
    for tau, tau_ms in (("10 ms", 10.0), ("20 ms", 20.0)):
        for eta in (0.5, 1.0):
            for seed, noise in enumerate((-1.0, 0.0, 1.0)):
                rows.append({"protocol": "p", "tau": tau, "tau_ms": tau_ms, "eta": eta,
                             "seed": seed, "status": "ok", "m": tau_ms * eta + noise})
    rows.append({**rows[0], "seed": 3, "status": "failed", "m": float("nan")})
    table = pd.DataFrame(rows)
    axes = [{"name": "tau", "column": "tau_ms", "unit": "ms"},
            {"name": "eta", "column": "eta", "unit": None}]
    fig = plot_sweep(table, "m", axes)
    ax_tau, ax_eta = fig.axes[:2]
    assert ax_tau.get_xlabel() == "tau (ms)" and ax_eta.get_xlabel() == "eta"
    # panel A: one line per eta, the mean over seeds at tau = 10, 20 ms
    means = [tuple(line.get_ydata()) for line in ax_tau.lines if line.get_marker() == "o"]
    assert means == [(5.0, 10.0), (10.0, 20.0)]
    half = 4.302653 / np.sqrt(3)  # s = 1 over 3 seeds
    caps = sorted({round(y, 5) for line in ax_tau.lines if line.get_marker() == "_"
                   for y in line.get_ydata()})
    assert caps == sorted({round(m + d, 5) for m in (5.0, 10.0, 20.0) for d in (-half, half)})
    assert [t.get_text() for t in ax_tau.get_legend().get_texts()] == ["eta = 0.5", "eta = 1.0"]


def test_plot_sweep_seeds_only():
    import pandas as pd

    from bioSNN.plots.sweep import plot_sweep

    table = pd.DataFrame({"seed": [0, 1, 2, 3], "status": ["ok", "ok", "ok", "failed"],
                          "m": [1.0, 2.0, 3.0, None]})
    fig = plot_sweep(table, "m", [])
    (ax,) = fig.axes
    assert list(ax.lines[0].get_ydata()) == [1.0, 2.0, 3.0]  # the failed seed is left out
    assert list(ax.lines[1].get_ydata()) == [2.0, 2.0]  # the mean


# --------------------------------------------------------------------------- CLI errors

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv, expected", [
    (["--set", "nope=1,2"], "--set: nope: unknown parameter 'nope'"),
    (["--set", "tau_m=10ms,5mV"], '--set: tau_m: expected a time like "10 ms", got \'5mV\''),
    (["--seeds", "3-1"], "--seeds: range '3-1' ends before it starts"),
    (["--seeds", "x"], "--seeds: cannot read 'x'"),
    (["--workers", "0"], "--workers: expected at least 1 worker, got 0"),
    (["--scheduler", "nonsense"], "--scheduler: missing port number"),
    (["--scheduler", "tcp://127.0.0.1:PORT"],
     "--scheduler: cannot reach a Dask scheduler at tcp://127.0.0.1:PORT within 5 s; "
     "start one with `dask scheduler --port PORT`"),
    (["--metric", "nope", "--no-progress"], "--metric: 'nope' is not a numeric summary metric"),
])
def test_cli_errors_exit_2_with_one_line(argv, expected, tmp_path, fi_sweep):
    port = str(_free_port())
    argv = [a.replace("PORT", port) for a in argv]
    expected = expected.replace("PORT", port)
    out = fi_sweep[0]  # a finished sweep: --metric is checked without running anything
    t0 = time.monotonic()
    code, stdout, stderr = cli("sweep", "lif-fi-curve", "--quick", *FI_SETS, "--seeds", "0-1",
                               "--out", str(out), *argv)
    assert code == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biosnn: error: ") and expected in lines[0]
    assert time.monotonic() - t0 < 20


def test_cli_unknown_protocol_exits_2():
    code, stdout, stderr = cli("sweep", "no-such-protocol", "--seeds", "0")
    assert code == 2 and stdout == "" and "unknown protocol 'no-such-protocol'" in stderr


def test_parquet_table_when_pyarrow_is_installed(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    from bioSNN.sweep import write_table

    rows = [{"protocol": "p", "seed": 0, "status": "ok", "m": 1.5},
            {"protocol": "p", "seed": 1, "status": "failed", "m": None}]
    written = write_table(tmp_path, ["protocol", "seed", "status", "m"], rows)
    assert [p.name for p in written] == ["table.csv", "table.parquet"]
    back = pd.read_parquet(tmp_path / "table.parquet")
    assert list(back["seed"]) == [0, 1] and back["m"][0] == 1.5 and pd.isna(back["m"][1])

"""benchmarks/bench_nest.py --quick: bioSNN and NEST 3.10 on the same small Brunel and
CUBA networks (skipped without ``nest``). No timing asserts: the rows are complete and
both simulators see the same network statistics and activity. Slow tier: two cold
cpp_standalone builds (1-3 min)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nest")
BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_nest.py"


@pytest.mark.slow
@pytest.mark.compiled
def test_quick_bench_writes_every_row(tmp_path):
    out = tmp_path / "nest.json"
    p = subprocess.run([sys.executable, str(BENCH), "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert {(r["model"], r["simulator"]) for r in rows} == {
        (m, s) for m in ("brunel-ai", "cuba") for s in ("nest", "biosnn-cpp", "biosnn-cython")}
    for r in rows:
        for key in ("build_s", "wall_s_per_sim_s", "peak_mb", "events_per_s"):
            assert np.isfinite(r[key]) and r[key] > 0, (key, r)
    by = {(r["model"], r["simulator"]): r for r in rows}
    for model in ("brunel-ai", "cuba"):
        ref = by[(model, "nest")]
        for sim in ("biosnn-cpp", "biosnn-cython"):
            r = by[(model, sim)]
            assert r["n_neurons"] == ref["n_neurons"]
            # same rule: equal (fixed in-degree) or within 5 s.d. (Bernoulli) synapse counts
            assert abs(r["n_synapses"] - ref["n_synapses"]) <= 5 * np.sqrt(ref["n_synapses"])
            # same model and drive, other random numbers: rates within 15 %
            assert r["rate_hz"] == pytest.approx(ref["rate_hz"], rel=0.15), (model, sim)
            # the agreement columns, and no per-neuron arrays left in the file
            assert r["rate_rel_diff"] == pytest.approx(r["rate_hz"] / ref["rate_hz"] - 1)
            assert 0 <= r["ks_rate"] < 0.3 and 0 <= r["ks_cv"] < 0.3, (model, sim, r)
            assert "_rates" not in r and "_cvs" not in r and "ks_rate" not in ref
    assert "x NEST" in p.stdout and len(p.stdout.strip().splitlines()) == 1 + len(rows)


def test_per_neuron_distributions_are_hand_computed():
    """Rates over the window only; CVs of neurons with >= 3 spikes there; KS of equal
    samples 0 and of disjoint ones 1."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        import bench_nest
    finally:
        sys.path.pop(0)
    i = np.array([0, 0, 0, 0, 1, 1, 2, 0])
    t = np.array([10.0, 20.0, 40.0, 70.0, 15.0, 30.0, 50.0, 500.0])   # last one outside
    d = bench_nest.per_neuron(i, t, 4, 0.0, 100.0)
    np.testing.assert_allclose(d["_rates"], [40.0, 20.0, 10.0, 0.0])
    isi = np.array([10.0, 20.0, 30.0])
    assert d["_cvs"] == [pytest.approx(isi.std() / isi.mean())]
    rows = [{"model": "m", "n": 4, "threads": 1, "simulator": "nest", "rate_hz": 10.0, **d},
            {"model": "m", "n": 4, "threads": 1, "simulator": "biosnn-cpp", "rate_hz": 11.0, **d},
            {"model": "m", "n": 4, "threads": 1, "simulator": "biosnn-cython", "rate_hz": 9.0,
             "_rates": [100.0, 200.0], "_cvs": [5.0]}]
    same, other = bench_nest.agreement(rows)[1:]
    assert same["ks_rate"] == 0 and same["ks_cv"] == 0
    assert same["rate_rel_diff"] == pytest.approx(0.1)
    assert other["ks_rate"] == 1 and other["ks_cv"] == 1
    assert all("_rates" not in r for r in bench_nest.agreement(rows))

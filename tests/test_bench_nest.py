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
    assert "x NEST" in p.stdout and len(p.stdout.strip().splitlines()) == 1 + len(rows)

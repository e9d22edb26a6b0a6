"""The Brunel (2000) phase diagram: ``biosnn sweep brunel2000-phase --set g=... --set eta=...``
writes ``phase.png`` (bioSNN.plots.brunel_phase, drawn from the saved table).

Covered: the figure on hand-made sweep tables (each point in its state's colour and marker,
the modal state over seeds, failed points, the named points of Fig. 8, the balance line),
bad tables, which sweeps get the figure, and a real 2 x 2 sweep at the quick size on the
LocalCluster through the CLI as a user runs it.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from bioSNN.features.population import STATES
from bioSNN.plots.brunel_phase import (G_BALANCE, NAMED_POINTS, STATE_STYLES, network_title,
                                       phase_points, plot_brunel_phase)
from bioSNN.sweep import define_sweep
from bioSNN.sweep.figures import SWEEP_FIGURES, sweep_figures_for

from _biosnn_cli import biosnn

matplotlib.use("Agg")


def _table(rows):
    """A sweep table as ``pd.read_csv`` gives it: (g, eta, seed, status, state) rows."""
    df = pd.DataFrame(rows, columns=["g", "eta", "seed", "status", "state"])
    df["state"] = df["state"].where(df["status"] == "ok", np.nan)
    return df


def _by_gid(ax):
    return {c.get_gid(): c for c in ax.collections if c.get_gid()}


def _points(coll):
    return {(float(x), float(y)) for x, y in coll.get_offsets()}


def _marker_vertices(coll):
    return np.round(coll.get_paths()[0].vertices, 6)


# --------------------------------------------------------------------------- the figure

HAND = [  # one seed per point, every label of the classifier plus a failed point
    (3, 2, 0, "ok", "SR"), (3, 4, 0, "ok", "SR"),
    (5, 2, 0, "ok", "AI"), (8, 4, 0, "ok", "AI"), (6, 2, 0, "ok", "AI"),
    (6, 4, 0, "ok", "SI-fast"),
    (4.5, 0.9, 0, "ok", "SI-slow"),
    (8, 0.9, 0, "ok", "AR"),
    (3, 0.9, 0, "ok", "silent"),
    (5, 4, 0, "failed", None),
]


def test_every_point_in_its_state_colour_and_marker():
    fig = plot_brunel_phase(_table(HAND))
    ax = fig.axes[0]
    colls = _by_gid(ax)
    expected: dict[str, set] = {}
    for g, eta, _, status, state in HAND:
        expected.setdefault(state if status == "ok" else "failed", set()).add((g, eta))
    assert set(expected) == set(STATES) | {"failed"}
    for state, pts in expected.items():
        coll = colls[state]
        assert _points(coll) == pts, state
        assert coll.get_label() == state
        if state != "failed":
            assert np.allclose(coll.get_facecolor()[0], to_rgba(STATE_STYLES[state].colour))
    # every state has its own colour, and (greyscale) its own marker shape
    colours = [tuple(np.round(colls[s].get_facecolor()[0], 3)) for s in expected if s != "failed"]
    assert len(set(colours)) == len(colours)
    shapes = [_marker_vertices(colls[s]) for s in expected]
    for a in range(len(shapes)):
        for b in range(a + 1, len(shapes)):
            assert shapes[a].shape != shapes[b].shape or not np.allclose(shapes[a], shapes[b])
    # the named points of Fig. 8, labelled; the balance line at g = 4
    assert _points(colls["named"]) == set(NAMED_POINTS.values())
    texts = {t.get_text(): t.xy for t in ax.texts}
    for name, xy in NAMED_POINTS.items():
        assert texts[name] == xy
    balance = [ln for ln in ax.lines if ln.get_gid() == "balance"]
    assert len(balance) == 1 and set(balance[0].get_xdata()) == {G_BALANCE}
    assert ax.get_xlabel().startswith("relative inhibition g")
    assert "eta" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(expected) <= set(legend)


def test_only_states_present_are_drawn_and_balance_line_optional():
    fig = plot_brunel_phase(_table([(5, 2, 0, "ok", "AI"), (3, 2, 0, "ok", "SR")]),
                            balance_line=False)
    ax = fig.axes[0]
    assert set(_by_gid(ax)) == {"AI", "SR", "named"}
    assert not [ln for ln in ax.lines if ln.get_gid() == "balance"]


def test_seeds_give_the_modal_state_and_disagreement_is_written():
    rows = [(5, 2, 0, "ok", "AI"), (5, 2, 1, "ok", "SI-fast"), (5, 2, 2, "ok", "AI"),
            (6, 4, 0, "ok", "SI-fast"), (6, 4, 1, "failed", None),
            (3, 2, 0, "ok", "SI-slow"), (3, 2, 1, "ok", "SR"),  # a tie: STATE_STYLES order
            (8, 4, 0, "failed", None), (8, 4, 1, "failed", None)]
    pts = {(p["g"], p["eta"]): p for p in phase_points(_table(rows))}
    assert pts[(5.0, 2.0)] == {"g": 5.0, "eta": 2.0, "state": "AI", "n_state": 2, "n_ok": 3,
                               "n": 3}
    assert pts[(6.0, 4.0)]["state"] == "SI-fast" and pts[(6.0, 4.0)]["n_ok"] == 1
    assert pts[(3.0, 2.0)]["state"] == "SR"  # SR comes before SI-slow in STATE_STYLES
    assert pts[(8.0, 4.0)]["state"] == "failed" and pts[(8.0, 4.0)]["n_ok"] == 0
    ax = plot_brunel_phase(_table(rows)).axes[0]
    notes = sorted((t.get_text(), t.xy) for t in ax.texts if "/" in t.get_text())
    assert notes == [("0/2", (8.0, 4.0)), ("1/2", (3.0, 2.0)), ("1/2", (6.0, 4.0)),
                     ("2/3", (5.0, 2.0))]


def test_rows_without_g_or_eta_are_left_out():
    df = _table([(5, 2, 0, "ok", "AI"), (np.nan, 2, 0, "failed", None)])
    assert [(p["g"], p["eta"]) for p in phase_points(df)] == [(5.0, 2.0)]


def test_a_table_that_is_not_a_brunel_sweep_names_the_column():
    with pytest.raises(ValueError, match="no column 'eta'"):
        plot_brunel_phase(pd.DataFrame({"g": [5.0], "status": ["ok"], "state": ["AI"]}))


def test_title_names_the_network_size_from_the_definition():
    definition = {"protocol": "brunel2000-phase", "mode": "full",
                  "base_parameters": {"n_exc": 4000, "epsilon": 0.1, "duration": "500 ms",
                                      "transient": "100 ms"}}
    text = network_title(definition)
    assert text == ("brunel2000-phase: N_E 4000, N_I 1000, eps 0.1 (C_E 400), 500 ms, "
                    "first 100 ms dropped")
    ax = plot_brunel_phase(_table(HAND[:2]), definition).axes[0]
    assert ax.get_title(loc="left").endswith("\n" + text)


# --------------------------------------------------------------------------- which sweeps

def test_phase_figure_only_for_brunel_sweeps_over_g_and_eta():
    assert [f.name for f in SWEEP_FIGURES if f.kind == "brunel2000"] == ["phase"]
    both = define_sweep("brunel2000-phase", ["g=3,6", "eta=2,4"], quick=True)
    assert [f.name for f in sweep_figures_for(both)] == ["phase"]
    assert sweep_figures_for(define_sweep("brunel2000-phase", ["eta=2,4"], quick=True)) == []
    assert sweep_figures_for(define_sweep("lif-fi-curve", ["sigma=0mV,1mV"], quick=True)) == []


# --------------------------------------------------------------------------- end to end

@pytest.mark.compiled
@pytest.mark.timeout(600)
def test_two_by_two_sweep_through_the_cli_gives_every_point_a_state(tmp_path):
    code, out, err = biosnn("sweep", "brunel2000-phase", "--quick", "--set", "g=3,6",
                            "--set", "eta=2,4", "--workers", "2", "--out", tmp_path)
    assert code == 0, err[-3000:]
    assert "Traceback" not in err and "local cluster of 2 worker processes" in err
    table_path = Path(out.strip().splitlines()[-1])
    rows = list(csv.DictReader(table_path.open()))
    assert sorted((float(r["g"]), float(r["eta"])) for r in rows) == \
        [(3.0, 2.0), (3.0, 4.0), (6.0, 2.0), (6.0, 4.0)]
    assert {r["status"] for r in rows} == {"ok"}
    assert all(r["state"] in STATES for r in rows), [r["state"] for r in rows]
    for r in rows:  # each point's own run, at the quick size, with that g and eta
        summary = json.loads((Path(r["run"]) / "summary.json").read_text())
        assert (summary["g"], summary["eta"], summary["state"]) == \
            (float(r["g"]), float(r["eta"]), r["state"])
    folder = table_path.parent
    assert (folder / "phase.png").stat().st_size > 10_000
    assert (folder / "summary.png").is_file()
    definition = json.loads((folder / "sweep.json").read_text())
    assert definition["base_parameters"]["n_exc"] == 400 and definition["mode"] == "quick"
    # the figure is a function of the saved table: redrawn, each point where its state says
    ax = plot_brunel_phase(pd.read_csv(table_path), definition).axes[0]
    colls = _by_gid(ax)
    for r in rows:
        assert (float(r["g"]), float(r["eta"])) in _points(colls[r["state"]])
    # a re-run reuses every point and redraws the figure
    code, out, err = biosnn("sweep", "brunel2000-phase", "--quick", "--set", "g=3,6",
                            "--set", "eta=2,4", "--workers", "2", "--out", tmp_path)
    assert code == 0 and "all 4 points already done" in err, err[-3000:]
    assert Path(out.strip().splitlines()[-1]) == table_path

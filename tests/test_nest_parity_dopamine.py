"""The dopamine rule against NEST 3.10's ``stdp_dopamine_synapse`` on identical spike trains.

Answer to NEST #1939 (NEST and Brian2 give different eligibility traces): bioSNN's
:class:`NESTDopamineModulation` with :class:`STDPTiming` and :class:`WeightBounds` is
NEST's model, and agrees with it to float rounding in ``c``, ``n`` and ``w``.

Skipped without ``nest``. Spike generators drive ``parrot_neuron`` s (1 ms delay, taken
off the generator times): a presynaptic and a postsynaptic parrot per synapse (plastic
connection to port 1, not repeated), and dopamine parrots connected to a
``volume_transmitter``. All of NEST's plastic delay is dendritic: the synapse sees a
post spike ``DELAY_MS`` after the parrot emits it; the volume transmitter records a
dopamine spike ``VT_DELAY_MS`` after its parrot emits it. bioSNN gets the spikes at
those times. Spike times are whole 0.1 ms steps (NEST ``resolution`` = Brian2 dt); the
only connection delay of one step makes NEST's ``min_delay`` one step, so the volume
transmitter brings every synapse up to date at the end of every step: NEST's ``c``,
``n`` (in 1/ms) and ``weight`` read between short ``Simulate`` calls are their values
at that time. They are compared with bioSNN's at sample times a few steps after events
(no event in the sampled step).

``.venv/bin/python tests/test_nest_parity_dopamine.py`` prints the measured differences.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from brian2 import Hz, Network, StateMonitor, defaultclock, kHz, ms, prefs, second

from bioSNN.plasticity import STDPRule, STDPTiming, WeightBounds, make_plastic_synapses
from bioSNN.plasticity.dopamine_nest import NESTDopamineModulation
from _nest_parity import DT_MS, ms_of, nest_kernel, nest_parrots, relative, spike_group

pytest.importorskip("nest")

DELAY_MS = 0.1      # plastic connection (dendritic)
VT_DELAY_MS = 1.0   # dopamine parrot -> volume transmitter
RTOL = 1e-9
TIMING = dict(A_plus=1.0, A_minus=1.5, tau_plus=20 * ms, tau_minus=20 * ms)


@dataclass(frozen=True)
class Scenario:
    """Synapses (one per pair of pre/post trains, in steps) sharing one dopamine signal."""

    name: str
    pre: list
    post: list
    dopamine: list                  # one train (steps at the volume transmitter) per neuron
    w0: list
    modulation: NESTDopamineModulation = field(default_factory=NESTDopamineModulation)
    w_min: float = 0.0
    w_max: float = 200.0
    timing: dict = field(default_factory=lambda: dict(TIMING))
    deliver_interval: int = 1

    @property
    def rule(self) -> STDPRule:
        return STDPRule(STDPTiming(**self.timing), WeightBounds(self.w_min, self.w_max),
                        self.modulation)

    def events(self) -> set:
        return {s for trains in (self.pre, self.post, self.dopamine) for t in trains for s in t}

    def samples(self, after=(3, 40)) -> np.ndarray:
        """Sample steps a few steps after every event, without an event in the step, on
        NEST's volume-transmitter deliveries (every ``deliver_interval`` steps)."""
        events, k = self.events(), self.deliver_interval
        steps = {e + a for e in events for a in after} | {max(events) + 2000}
        steps = {-(-s // k) * k for s in steps}  # up to the next delivery
        return np.array(sorted(steps - events - {s + 1 for s in events}))


def pairing_trains():
    """Pre-before-post and post-before-pre pairings with dopamine before, between, after."""
    pre = [[500, 3000, 9000], [600, 3100, 9100], [500, 1000, 1100, 4000]]
    post = [[600, 3100, 9100], [500, 3000, 9000], [1050, 1150, 1500, 4200]]
    dopamine = [[200, 550, 2000, 2010, 3050, 6000, 9050],  # before, between, after, bursts
                [550, 7000, 7003]]                         # simultaneous with neuron 0
    return pre, post, dopamine


def random_trains(seed=3, n=3, steps=15000):
    rng = np.random.default_rng(seed)
    pre, post = [], []
    for _ in range(n):  # ~ 15 Hz, no pre and post in the same step
        a = sorted(set(rng.integers(100, steps, rng.poisson(22)).tolist()))
        b = sorted(set(rng.integers(100, steps, rng.poisson(22)).tolist()) - set(a))
        pre.append(a)
        post.append(b)
    dopamine = [sorted(set(rng.integers(100, steps, 12).tolist()))]
    return pre, post, dopamine


def scenarios() -> list[Scenario]:
    pre, post, da = pairing_trains()
    rpre, rpost, rda = random_trains()
    bounded = dict(w_min=0.6, w_max=1.4)
    strong = [[s + 10 for s in range(500, 15000, 700)]]  # dopamine 1 ms after each pair
    return [
        Scenario("pairings, b = 0", pre, post, da, [1.0, 1.0, 1.0]),
        Scenario("pairings, b = 2 Hz", pre, post, da, [1.0, 1.0, 1.0],
                 NESTDopamineModulation(tau_c=300 * ms, tau_n=100 * ms, b=2 * Hz)),
        Scenario("random trains, b = 1 Hz", rpre, rpost, rda, [0.5, 1.0, 1.5],
                 NESTDopamineModulation(tau_c=500 * ms, tau_n=150 * ms, b=1 * Hz)),
        Scenario("to Wmax and Wmin", [list(range(500, 15000, 700))] * 2,
                 [list(range(560, 15000, 700)), list(range(440, 15000, 700))], strong,
                 [1.0, 1.0], NESTDopamineModulation(tau_c=200 * ms, tau_n=100 * ms),
                 **bounded),
        Scenario("b = 5 Hz, to Wmin between dopamine", [list(range(500, 15000, 700))],
                 [list(range(560, 15000, 700))], [[5000, 12000]], [1.0],
                 NESTDopamineModulation(tau_c=200 * ms, tau_n=100 * ms, b=5 * Hz), **bounded),
        Scenario("deliver_interval 10, no bound", rpre, rpost, rda, [0.5, 1.0, 1.5],
                 NESTDopamineModulation(tau_c=500 * ms, tau_n=150 * ms, b=1 * Hz),
                 deliver_interval=10),
        Scenario("deliver_interval 10, to Wmax and Wmin", [list(range(500, 15000, 700))] * 2,
                 [list(range(560, 15000, 700)), list(range(440, 15000, 700))], strong,
                 [1.0, 1.0], NESTDopamineModulation(tau_c=200 * ms, tau_n=100 * ms),
                 deliver_interval=10, **bounded),
    ]


def run_biosnn(sc: Scenario, samples: np.ndarray) -> dict:
    """bioSNN's c, n (Hz) and w at the start of each sample step (numpy target)."""
    saved = prefs.codegen.target, defaultclock.dt
    prefs.codegen.target, defaultclock.dt = "numpy", DT_MS * ms
    try:
        groups = [spike_group(trains) for trains in (sc.pre, sc.post, sc.dopamine)]
        rule, mod = sc.rule, sc.modulation
        dopamine = mod.dopamine_group()
        da_syn = mod.dopamine_synapses(groups[2], dopamine)
        syn = make_plastic_synapses(groups[0], groups[1], rule, on_pre_effect="")
        syn.connect(j="i")
        syn.w = sc.w0
        update = mod.add_weight_update(syn, dopamine)
        mon = StateMonitor(syn, ["w", "c", "lastupdate"], record=True, when="start")
        mon_n = StateMonitor(dopamine, ["n", "t_n"], record=0, when="start")
        Network(*groups, dopamine, da_syn, syn, update, mon, mon_n).run(
            (samples[-1] + 1) * DT_MS * ms, namespace={})
        t = samples * DT_MS * 1e-3
        c = mon.c[:, samples] * np.exp(-(t - mon.lastupdate[:, samples] / second)
                                       / float(mod.tau_c / second))
        n = (mon_n.n[0, samples] / Hz) * np.exp(-(t - mon_n.t_n[0, samples] / second)
                                                / float(mod.tau_n / second))
        return {"c": np.asarray(c), "n": np.asarray(n), "w": np.asarray(mon.w[:, samples])}
    finally:
        prefs.codegen.target, defaultclock.dt = saved


def run_nest(sc: Scenario, samples: np.ndarray) -> dict:
    """NEST's c, n (converted to Hz) and weight after simulating up to each sample step."""
    nest = nest_kernel()
    pre = nest_parrots(sc.pre)
    post = nest_parrots(sc.post, DELAY_MS)
    post.set(tau_minus=ms_of(sc.rule.timing.tau_minus))
    da = nest_parrots(sc.dopamine, VT_DELAY_MS)
    vt = nest.Create("volume_transmitter", params={"deliver_interval": sc.deliver_interval})
    nest.Connect(da, vt, syn_spec={"delay": VT_DELAY_MS})
    nest.CopyModel("stdp_dopamine_synapse", "parity_dopamine",
                   nest_parameters(sc) | {"volume_transmitter": vt})
    for k in range(len(sc.pre)):
        nest.Connect(pre[k], post[k], syn_spec={"synapse_model": "parity_dopamine",
                                                "receptor_type": 1, "delay": DELAY_MS,
                                                "weight": float(sc.w0[k])})
    conns = nest.GetConnections(pre, post, synapse_model="parity_dopamine")
    order = np.argsort(np.atleast_1d(conns.get("source")))
    out = {"c": [], "n": [], "w": []}
    now = 0
    for step in samples:
        nest.Simulate(round((step - now) * DT_MS, 6))
        now = step
        got = conns.get(["c", "n", "weight"])
        out["c"].append(np.atleast_1d(got["c"])[order])
        out["n"].append(np.atleast_1d(got["n"])[order][0] * 1e3)  # 1/ms -> Hz
        out["w"].append(np.atleast_1d(got["weight"])[order])
    return {"c": np.array(out["c"]).T, "n": np.array(out["n"]), "w": np.array(out["w"]).T}


def nest_parameters(sc: Scenario) -> dict:
    """The mapping bioSNN -> NEST (times in ms, rates in 1/ms)."""
    t, m = sc.rule.timing, sc.modulation
    return {"A_plus": t.A_plus, "A_minus": t.A_minus, "tau_plus": ms_of(t.tau_plus),
            "tau_c": ms_of(m.tau_c), "tau_n": ms_of(m.tau_n), "b": float(m.b / kHz),
            "Wmin": sc.w_min, "Wmax": sc.w_max}


_COMPARED: dict[str, dict] = {}


def compare(sc: Scenario) -> dict:
    if sc.name not in _COMPARED:
        _COMPARED[sc.name] = _compare(sc)
    return _COMPARED[sc.name]


def _compare(sc: Scenario) -> dict:
    samples = sc.samples()
    bio, nst = run_biosnn(sc, samples), run_nest(sc, samples)
    floors = {"c": 1e-3 * sc.rule.timing.A_plus, "n": 1e-3 / float(sc.modulation.tau_n / second),
              "w": 1e-3 * sc.w_max}
    rel = {q: float(relative(bio[q], nst[q], floors[q]).max()) for q in ("c", "n", "w")}
    return {"rel": rel, "n_samples": len(samples), "bio": bio, "nest": nst, "scenario": sc}


SCENARIOS = scenarios()


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.name)
def test_dopamine_rule_matches_stdp_dopamine_synapse(sc):
    row = compare(sc)
    assert row["n_samples"] > 40
    for quantity, value in row["rel"].items():
        assert value < RTOL, (quantity, value)
    w, c, n = row["nest"]["w"], row["nest"]["c"], row["nest"]["n"]
    assert np.ptp(w) > 1e-3 and np.abs(c).max() > 0.05 and n.max() > 0  # not a trivial run
    if sc.name.startswith("pairings"):  # pre-before-post and post-before-pre eligibility
        assert c.max() > 0.05 and c.min() < -0.05
    if sc.w_max < 10:  # the bound scenarios reach their bounds on both sides
        assert np.any(w == sc.w_max) or np.any(w == sc.w_min)
        assert np.all((w >= sc.w_min) & (w <= sc.w_max))


def test_bounds_reached():
    """Both bounds are reached (one synapse each) and b > 0 drives w down between pulses."""
    rows = {s.name: compare(s) for s in SCENARIOS if s.w_max < 10}
    w = rows["to Wmax and Wmin"]["nest"]["w"]
    assert np.any(w[0] == 1.4) and np.any(w[1] == 0.6)
    w_b = rows["b = 5 Hz, to Wmin between dopamine"]["nest"]["w"][0]
    assert np.any(w_b == 0.6) and np.any(np.diff(w_b) > 0)


# --------------------------------------------------------------------------
# The documented difference of NEST #1939: a clock-driven Brian2 rule
# --------------------------------------------------------------------------
CLOCK_DRIVEN = """
dapre/dt = -apre / tau_plus : 1 (event-driven)
dapost/dt = -apost / tau_minus : 1 (event-driven)
dc/dt = -c / tau_c : 1 (clock-driven)
dw/dt = c * (n_da - b_da) : 1 (clock-driven)
da_index : integer (constant)
n_da : Hz (linked)
"""


def clock_driven_w(sc: Scenario, dt_ms: float) -> np.ndarray:
    """Final weights of the clock-driven (forward Euler, per ``dt``) form of the rule,
    as in NEST #1939 (with NEST's dopamine jump ``1/tau_n``), at the last sample."""
    from brian2 import NeuronGroup, Synapses, linked_var

    t, m = sc.rule.timing, sc.modulation
    end = sc.samples()[-1] * DT_MS * ms
    saved = prefs.codegen.target, defaultclock.dt
    prefs.codegen.target, defaultclock.dt = "numpy", dt_ms * ms
    try:
        groups = [spike_group(trains) for trains in (sc.pre, sc.post, sc.dopamine)]
        ns = {"tau_plus": t.tau_plus, "tau_minus": t.tau_minus, "A_plus": t.A_plus,
              "A_minus": t.A_minus, "tau_c": m.tau_c, "tau_n": m.tau_n, "b_da": m.b}
        dopamine = NeuronGroup(1, "dn/dt = -n / tau_n : Hz", method="euler", namespace=ns)
        da_syn = Synapses(groups[2], dopamine, on_pre="n += 1 / tau_n", namespace=ns)
        da_syn.connect()
        syn = Synapses(groups[0], groups[1], CLOCK_DRIVEN, method="euler", namespace=ns,
                       on_pre="apre += A_plus\nc -= apost",
                       on_post="apost += A_minus\nc += apre")
        syn.connect(j="i")
        syn.w = sc.w0
        syn.n_da = linked_var(dopamine, "n", index="da_index")
        Network(*groups, dopamine, da_syn, syn).run(end, namespace={})
        return np.asarray(syn.w[:])
    finally:
        prefs.codegen.target, defaultclock.dt = saved


def clock_driven_convergence(name="pairings, b = 2 Hz", dts_ms=(0.1, 0.05, 0.025)):
    """Difference of the clock-driven final weights from NEST's (exact), relative to the
    weight change, on the synapses that never reach a bound (the Euler form has none)."""
    row = compare(next(s for s in SCENARIOS if s.name == name))
    sc, w = row["scenario"], row["nest"]["w"]
    free = np.all((w > sc.w_min) & (w < sc.w_max), axis=1)  # synapses that never clip
    assert free.sum() >= 2
    change = np.abs(w[free, -1] - np.asarray(sc.w0)[free])
    errors = [float(np.max(np.abs(clock_driven_w(sc, dt)[free] - w[free, -1]) / change))
              for dt in dts_ms]
    return dts_ms, errors


def test_clock_driven_rule_converges_to_nest_at_first_order():
    """NEST integrates w' = c (n - b) exactly between events; a clock-driven Euler rule
    differs by O(dt) of the weight change, and only that (order 1 as dt -> 0)."""
    dts, errors = clock_driven_convergence()
    assert errors[0] > 1e-4  # a real difference at NEST's resolution ...
    for coarse, fine in zip(errors, errors[1:]):
        assert 1.8 < coarse / fine < 2.2, errors  # ... halving with dt


if __name__ == "__main__":
    for sc in SCENARIOS:
        r = compare(sc)
        print(f"{sc.name:38} samples {r['n_samples']:4d} x {len(sc.pre)} synapses  " + "  ".join(
            f"max rel {k} {v:.2e}" for k, v in r["rel"].items()))
    dts, errors = clock_driven_convergence()
    print("clock-driven Euler rule, max |w - w_nest| / |w_nest - w0| at the end: " + "  ".join(
        f"dt {dt} ms: {e:.3e}" for dt, e in zip(dts, errors)))

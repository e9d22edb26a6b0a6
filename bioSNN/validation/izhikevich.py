r"""Validation of the Izhikevich (2003) presets' firing patterns.

Izhikevich, E. M. (2003). Simple model of spiking neurons. IEEE Transactions on Neural
Networks 14(6):1569-1572, Fig. 2 and its text:

* **RS** (regular spiking): tonic spikes with spike-frequency adaptation;
* **IB** (intrinsically bursting): a burst at the onset of the step, then tonic spikes;
* **CH** (chattering): repeated bursts of closely spaced spikes;
* **FS** (fast spiking): high-frequency trains practically without adaptation;
* **LTS** (low-threshold spiking): high-frequency trains with noticeable adaptation, and
  a low firing threshold (b = 0.25);
* **TC** (thalamo-cortical): a rebound burst when released from hyperpolarisation;
* **RZ** (resonator): damped sub-threshold oscillations.

Features are quantitative: ISI statistics and the burst detector of
:mod:`bioSNN.validation.spikes` on the ``izhikevich-patterns`` run (a 10 mV step; TC and
LTS also released from a -10 mV step), and rheobase / sub-threshold ringing from the
``membrane-probe`` run.
"""
from __future__ import annotations

from ..features.izhikevich import step_trains
from .base import Observation, Prediction, Score, ValidationTest, fmt
from .spikes import adaptation_ratio, detect_bursts, isi_ms

__all__ = ["IZHIKEVICH_2003", "step_trains", "RSAdaptation", "FSFastSpiking", "IBBurstThenTonic",
           "CHRepeatedBursts", "LTSAdaptation", "LTSLowThreshold", "TCReboundBurst",
           "RZResonance"]

IZHIKEVICH_2003 = ("Izhikevich EM (2003) Simple model of spiking neurons. "
                   "IEEE Trans Neural Netw 14(6):1569-1572, Fig. 2")


def _isis_text(times) -> str:
    isis = isi_ms(times)
    if len(isis) == 0:
        return "no ISI"
    shown = ", ".join(f"{x:.3g}" for x in isis[:6])
    return f"ISIs {shown}{', ...' if len(isis) > 6 else ''} ms"


class _PatternTest(ValidationTest):
    """Shared figure of the pattern tests: the spike rasters with detected bursts."""

    figure_name = "izhikevich-patterns"

    def figure(self, results):
        from .figures import plot_izhikevich_features

        return plot_izhikevich_features(results)


class RSAdaptation(_PatternTest):
    """RS: spike-frequency adaptation.

    Pass rule: last ISI / first ISI >= ``min_ratio`` (the train clearly slows down) and
    second ISI / first ISI >= ``min_early_ratio`` (adaptation is spike-triggered: the
    first spike already lengthens the next interval, the effect of the reset
    ``u += d``), and no onset burst. An RS neuron with ``d = 0`` still slows a little
    (u follows b v) but gradually, and fails the second criterion.
    """

    def __init__(self, name="izhikevich-RS-adaptation", min_ratio=1.5, min_early_ratio=1.5):
        self.min_ratio, self.min_early_ratio = min_ratio, min_early_ratio
        super().__init__(name, Observation(
            f"RS: tonic spikes with spike-frequency adaptation; ISI ratio last/first >= {min_ratio}, "
            f"second/first >= {min_early_ratio}, no onset burst", IZHIKEVICH_2003,
            low=min_ratio, units="1"))

    def generate_prediction(self, results):
        tr = step_trains(results)["RS"]["during"]
        isis = isi_ms(tr)
        ratio = adaptation_ratio(tr)
        early = float(isis[1] / isis[0]) if len(isis) >= 2 else None
        bursts = detect_bursts(tr)
        return Prediction(ratio, "1", f"last/first {fmt(ratio)}, second/first {fmt(early)}; "
                          f"{_isis_text(tr)}",
                          {"isi_ratio": ratio, "early_ratio": early, "n_spikes": len(tr),
                           "n_bursts": len(bursts)})

    def compute_score(self, observation, prediction):
        d = prediction.details
        ok = (d["isi_ratio"] is not None and d["isi_ratio"] >= self.min_ratio
              and d["early_ratio"] is not None and d["early_ratio"] >= self.min_early_ratio
              and d["n_bursts"] == 0)
        return Score(ok, d["isi_ratio"], f"ratio {fmt(d['isi_ratio'])} (>= {self.min_ratio}), "
                     f"early {fmt(d['early_ratio'])} (>= {self.min_early_ratio}), "
                     f"bursts {d['n_bursts']} (0)")


class FSFastSpiking(_PatternTest):
    """FS: fast spiking with little adaptation.

    Pass rule: steady rate (1 / last ISI) >= ``min_rate_vs_RS`` times that of RS under the
    same step, and last ISI / first ISI <= ``max_ratio``. (With the 10 mV step the FS
    model's first two ISIs are shorter -- u relaxes with 1/a = 10 ms -- and then it fires
    regularly at ~130 Hz; the ratio is 1.8, RS's 2.3 at ~22 Hz.)
    """

    def __init__(self, name="izhikevich-FS-fast-spiking", min_rate_vs_RS=3.0, max_ratio=2.0):
        self.min_rate_vs_RS, self.max_ratio = min_rate_vs_RS, max_ratio
        super().__init__(name, Observation(
            f"FS: high-frequency tonic firing practically without adaptation; steady rate >= "
            f"{min_rate_vs_RS} x RS, ISI ratio last/first <= {max_ratio}", IZHIKEVICH_2003,
            high=max_ratio, units="1"))

    def generate_prediction(self, results):
        trains = step_trains(results)
        fs, rs = isi_ms(trains["FS"]["during"]), isi_ms(trains["RS"]["during"])
        f_fs = 1000.0 / fs[-1] if len(fs) else 0.0
        f_rs = 1000.0 / rs[-1] if len(rs) else 0.0
        ratio = adaptation_ratio(trains["FS"]["during"])
        return Prediction(ratio, "1", f"steady {fmt(f_fs)} Hz vs RS {fmt(f_rs)} Hz; "
                          f"ISI ratio {fmt(ratio)}",
                          {"steady_rate_Hz": f_fs, "RS_steady_rate_Hz": f_rs, "isi_ratio": ratio})

    def compute_score(self, observation, prediction):
        d = prediction.details
        rel = d["steady_rate_Hz"] / d["RS_steady_rate_Hz"] if d["RS_steady_rate_Hz"] else float("inf")
        ok = (d["steady_rate_Hz"] > 0 and rel >= self.min_rate_vs_RS
              and d["isi_ratio"] is not None and d["isi_ratio"] <= self.max_ratio)
        return Score(ok, rel, f"rate x{fmt(rel)} of RS (>= {self.min_rate_vs_RS}), "
                     f"ratio {fmt(d['isi_ratio'])} (<= {self.max_ratio})")


class IBBurstThenTonic(_PatternTest):
    """IB: one burst at step onset, then tonic single spikes.

    Pass rule: the first spike of the step starts a burst; it is the only burst; at
    least ``min_tonic`` single spikes follow it.
    """

    def __init__(self, name="izhikevich-IB-burst-then-tonic", min_tonic=2):
        self.min_tonic = min_tonic
        super().__init__(name, Observation(
            f"IB: a burst at step onset, then tonic spikes (exactly 1 burst, starting at the "
            f"first spike; >= {min_tonic} single spikes after it)", IZHIKEVICH_2003))

    def generate_prediction(self, results):
        tr = step_trains(results)["IB"]["during"]
        bursts = detect_bursts(tr)
        onset = bool(bursts) and bursts[0].first == 0
        tonic = len(tr) - bursts[0].n_spikes if onset else 0
        size = bursts[0].n_spikes if bursts else 0
        return Prediction(float(len(bursts)), "bursts",
                          f"{len(bursts)} burst(s), first of {size} spikes"
                          f"{' at onset' if onset else ''}; {tonic} tonic spikes after; "
                          f"{_isis_text(tr)}",
                          {"n_bursts": len(bursts), "onset_burst": onset, "n_tonic": tonic,
                           "first_burst_spikes": size})

    def compute_score(self, observation, prediction):
        d = prediction.details
        ok = d["onset_burst"] and d["n_bursts"] == 1 and d["n_tonic"] >= self.min_tonic
        return Score(ok, float(d["n_bursts"]), f"onset burst {fmt(d['onset_burst'])}, "
                     f"bursts {d['n_bursts']} (1), tonic {d['n_tonic']} (>= {self.min_tonic})")


class CHRepeatedBursts(_PatternTest):
    """CH: repeated bursts.

    Pass rule: at least ``min_bursts`` bursts during the step, holding at least
    ``min_fraction`` of its spikes.
    """

    def __init__(self, name="izhikevich-CH-repeated-bursts", min_bursts=2, min_fraction=0.7):
        self.min_bursts, self.min_fraction = min_bursts, min_fraction
        super().__init__(name, Observation(
            f"CH: repeated bursts of closely spaced spikes (>= {min_bursts} bursts, >= "
            f"{min_fraction:.0%} of spikes in bursts)", IZHIKEVICH_2003, low=min_bursts,
            units="bursts"))

    def generate_prediction(self, results):
        tr = step_trains(results)["CH"]["during"]
        bursts = detect_bursts(tr)
        in_bursts = sum(b.n_spikes for b in bursts)
        frac = in_bursts / len(tr) if len(tr) else 0.0
        sizes = [b.n_spikes for b in bursts]
        return Prediction(float(len(bursts)), "bursts",
                          f"{len(bursts)} bursts of {sizes} spikes; {frac:.0%} of {len(tr)} "
                          "spikes in bursts",
                          {"n_bursts": len(bursts), "burst_sizes": sizes, "fraction": frac,
                           "n_spikes": len(tr)})

    def compute_score(self, observation, prediction):
        d = prediction.details
        ok = d["n_bursts"] >= self.min_bursts and d["fraction"] >= self.min_fraction
        return Score(ok, float(d["n_bursts"]), f"bursts {d['n_bursts']} (>= {self.min_bursts}), "
                     f"in bursts {d['fraction']:.0%} (>= {self.min_fraction:.0%})")


class LTSAdaptation(_PatternTest):
    """LTS: high-frequency firing with noticeable adaptation.

    Pass rule: last ISI / first ISI >= ``min_ratio`` and the first ISI is short
    (<= ``max_first_isi_ms``: a high-frequency onset).
    """

    def __init__(self, name="izhikevich-LTS-adaptation", min_ratio=1.5, max_first_isi_ms=10.0):
        self.min_ratio, self.max_first_isi_ms = min_ratio, max_first_isi_ms
        super().__init__(name, Observation(
            f"LTS: high-frequency onset (first ISI <= {max_first_isi_ms} ms) with noticeable "
            f"spike-frequency adaptation (ISI ratio last/first >= {min_ratio})", IZHIKEVICH_2003,
            low=min_ratio, units="1"))

    def generate_prediction(self, results):
        tr = step_trains(results)["LTS"]["during"]
        isis = isi_ms(tr)
        ratio = adaptation_ratio(tr)
        return Prediction(ratio, "1", f"ISI ratio {fmt(ratio)}; {_isis_text(tr)}",
                          {"isi_ratio": ratio, "first_isi_ms": float(isis[0]) if len(isis) else None})

    def compute_score(self, observation, prediction):
        d = prediction.details
        ok = (d["isi_ratio"] is not None and d["isi_ratio"] >= self.min_ratio
              and d["first_isi_ms"] <= self.max_first_isi_ms)
        return Score(ok, d["isi_ratio"], f"ratio {fmt(d['isi_ratio'])} (>= {self.min_ratio}), "
                     f"first ISI {fmt(d['first_isi_ms'])} ms (<= {self.max_first_isi_ms})")


class TCReboundBurst(_PatternTest):
    """TC: rebound burst after release from hyperpolarisation.

    Pass rule (neuron ``TC-rebound``): silent during the hyperpolarising step; after its
    release the first spike starts a burst.
    """

    def __init__(self, name="izhikevich-TC-rebound-burst"):
        super().__init__(name, Observation(
            "TC: silent under a hyperpolarising step, a rebound burst (>= 3 spikes, max-interval "
            "detector) starting at the first spike after its release", IZHIKEVICH_2003))

    def generate_prediction(self, results):
        tr = step_trains(results)["TC-rebound"]
        bursts = detect_bursts(tr["after"])
        onset = bool(bursts) and bursts[0].first == 0
        latency = float(tr["after"][0] - tr["t_off"]) if len(tr["after"]) else None
        return Prediction(float(len(tr["after"])), "spikes",
                          f"{len(tr['during'])} spikes during, {len(tr['after'])} after release "
                          f"(latency {fmt(latency)} ms); rebound burst {fmt(onset)}; "
                          f"{_isis_text(tr['after'])}",
                          {"spikes_during": len(tr["during"]), "spikes_after": len(tr["after"]),
                           "rebound_burst": onset, "latency_ms": latency,
                           "burst_spikes": bursts[0].n_spikes if bursts else 0})

    def compute_score(self, observation, prediction):
        d = prediction.details
        ok = d["spikes_during"] == 0 and d["rebound_burst"]
        return Score(ok, float(d["burst_spikes"]), f"silent during {fmt(d['spikes_during'] == 0)}, "
                     f"rebound burst {fmt(d['rebound_burst'])} ({d['burst_spikes']} spikes)")


class _ProbeTest(ValidationTest):
    figure_name = "membrane-probe"

    def figure(self, results):
        from .figures import plot_membrane_probe

        return plot_membrane_probe(results)


class LTSLowThreshold(_ProbeTest):
    """LTS: low firing threshold (rheobase well below RS's).

    Pass rule (``membrane-probe`` rheobase ladder): rheobase(LTS) <= ``max_ratio`` x
    rheobase(RS).
    """

    def __init__(self, name="izhikevich-LTS-low-threshold", max_ratio=0.5):
        self.max_ratio = max_ratio
        super().__init__(name, Observation(
            f"LTS: low firing threshold (b = 0.25): rheobase <= {max_ratio} x that of RS",
            IZHIKEVICH_2003, high=max_ratio, units="1"))

    def generate_prediction(self, results):
        from ..features.membrane import membrane_features

        f = membrane_features(results.data, results.spec.params)
        lts, rs = f["LTS"]["rheobase"], f["RS"]["rheobase"]
        ratio = lts / rs if lts is not None and rs else None
        return Prediction(ratio, "1", f"rheobase LTS {fmt(lts)} vs RS {fmt(rs)} (paper units); "
                          f"rest LTS {fmt(f['LTS']['rest_mV'])} vs RS {fmt(f['RS']['rest_mV'])} mV",
                          {"rheobase_LTS": lts, "rheobase_RS": rs, "ratio": ratio,
                           "rest_LTS_mV": f["LTS"]["rest_mV"], "rest_RS_mV": f["RS"]["rest_mV"]})

    def compute_score(self, observation, prediction):
        r = prediction.value
        return Score(r is not None and r <= self.max_ratio, r,
                     f"rheobase ratio {fmt(r)} (<= {self.max_ratio})")


class RZResonance(_ProbeTest):
    """RZ: sub-threshold resonance (damped oscillation).

    Pass rule (``membrane-probe`` probe step): the membrane crosses its new steady level
    at least twice by more than 2 % of the deflection (over- and undershoot), i.e. it
    rings; the ringing frequency is reported. An integrator (RS) only sags (1 crossing).
    """

    def __init__(self, name="izhikevich-RZ-resonance", min_crossings=2):
        self.min_crossings = min_crossings
        super().__init__(name, Observation(
            f"RZ: damped sub-threshold oscillations (>= {min_crossings} crossings of the steady "
            "level after a small step)", IZHIKEVICH_2003, low=min_crossings, units="crossings"))

    def generate_prediction(self, results):
        from ..features.membrane import membrane_features

        f = membrane_features(results.data, results.spec.params)
        rz = f["RZ"]
        return Prediction(float(rz["ring_crossings"]), "crossings",
                          f"{rz['ring_crossings']} crossings, {fmt(rz['ring_frequency_Hz'])} Hz "
                          f"(RS: {f['RS']['ring_crossings']})",
                          {"crossings": rz["ring_crossings"], "frequency_Hz": rz["ring_frequency_Hz"],
                           "RS_crossings": f["RS"]["ring_crossings"]})

    def compute_score(self, observation, prediction):
        n = prediction.details["crossings"]
        return Score(n >= self.min_crossings, float(n), f"crossings {n} (>= {self.min_crossings})")

r"""Membrane and firing regimes against cortical data (reported as pass / warn).

Membrane regimes (``membrane-probe`` run: the seed LIF neuron and the seven Izhikevich
presets, measured like a slice experiment) against rat barrel-cortex pyramidal cells,
Tanaka YR et al. (2011) J Neurosci 31:18223-18236, Table 3 (layer means 2/3 to 6,
n = 3-5 cells each):

=========================  =====================  ===========================
quantity                   range of layer means   mean -/+ s.d. envelope
=========================  =====================  ===========================
resting potential          -73.0 to -61.5 mV      -75.6 to -53.9 mV
membrane time constant     7.5 to 11.7 ms         3.0 to 16.8 ms
AP threshold               -50.6 to -40.2 mV      -61.1 to -25.7 mV
=========================  =====================  ===========================

and the absolute refractory period of mammalian neurons, about 1-2 ms (textbook value;
e.g. Hille 2001, *Ion Channels of Excitable Membranes*, 3rd ed.). The pass rule is the
range of layer means; outside it the test warns (and says whether the value is still
inside the s.d. envelope): point-neuron parameters are effective, not measured,
quantities.

Firing regimes of network protocols against in-vivo cortex: rates mostly 0.1-10 Hz
with a long (log-normal) tail (Buzsaki & Mizuseki 2014, Nat Rev Neurosci 15:264-278)
and irregular firing, ISI CV about 0.5-1 (Softky & Koch 1993, J Neurosci 13:334-350).
Trained networks may legitimately sit outside, so these tests warn rather than fail.
A population is taken from a protocol's Results by an *extractor* (a pure function
``results -> SpikePopulation``); adding a protocol means registering one more entry
with its extractor (:data:`POPULATIONS`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .base import WARN, Observation, Prediction, Score, ValidationTest, fmt
from .spikes import SpikePopulation, population_from

__all__ = ["TANAKA_2011", "MembraneRegime", "FiringRateRegime", "ISICVRegime", "POPULATIONS",
           "lif_poisson_output", "rstdp_hidden_layer", "REGIME_TABLE"]

TANAKA_2011 = ("Tanaka YR et al. (2011) Local connections of excitatory neurons to "
               "corticothalamic neurons in the rat barrel cortex. J Neurosci 31:18223, Table 3")
REFRACTORY_REF = ("Hille B (2001) Ion Channels of Excitable Membranes, 3rd ed., Sinauer "
                  "(textbook value: absolute refractory period ~1-2 ms in mammalian neurons)")
BUZSAKI_2014 = ("Buzsaki G & Mizuseki K (2014) The log-dynamic brain. Nat Rev Neurosci "
                "15:264-278")
SOFTKY_KOCH_1993 = ("Softky WR & Koch C (1993) The highly irregular firing of cortical cells "
                    "is inconsistent with temporal integration of random EPSPs. J Neurosci 13:334-350")

_PYR = "in the range of rat barrel-cortex pyramidal-cell layer means"
#: quantity -> (feature key of membrane_features, label, (low, high), (env_low, env_high)
#: or None, units, citation, where the range comes from)
REGIME_TABLE = {
    "rest": ("rest_mV", "resting potential", (-73.0, -61.5), (-75.6, -53.9), "mV", TANAKA_2011,
             _PYR),
    "tau-m": ("tau_m_ms", "membrane time constant", (7.5, 11.7), (3.0, 16.8), "ms", TANAKA_2011,
              _PYR),
    "threshold": ("threshold_mV", "spike threshold", (-50.6, -40.2), (-61.1, -25.7), "mV",
                  TANAKA_2011, _PYR + " (AP threshold)"),
    "refractory": ("refractory_ms", "absolute refractory period", (1.0, 2.0), None, "ms",
                   REFRACTORY_REF, "in the textbook range of mammalian neurons"),
}


class MembraneRegime(ValidationTest):
    """One membrane quantity of every probed model against a cortical range.

    Models without the quantity (the Izhikevich model has no refractory period) are
    listed as n/a and do not count.
    """

    severity = WARN
    figure_name = "membrane-regimes"

    def __init__(self, quantity: str, name: str | None = None):
        key, label, (lo, hi), env, units, cite, where = REGIME_TABLE[quantity]
        self.key, self.label, self.envelope = key, label, env
        super().__init__(name or f"regime-{quantity}", Observation(
            f"{label} of every model {where}", cite, low=lo, high=hi, units=units))

    def generate_prediction(self, results):
        from ..features.membrane import membrane_features

        feats = membrane_features(results.data, results.spec.params)
        values = {m: f[self.key] for m, f in feats.items()}
        known = {m: v for m, v in values.items() if v is not None}
        groups: dict[str, list[str]] = {}
        for m, v in values.items():
            groups.setdefault(fmt(v), []).append(m)
        text = "; ".join(f"{'/'.join(ms)} {v}" for v, ms in groups.items())
        return Prediction(float(np.median(list(known.values()))) if known else None,
                          self.observation.units, text, {"values": values})

    def compute_score(self, observation, prediction):
        values = {m: v for m, v in prediction.details["values"].items() if v is not None}
        lo, hi = observation.low, observation.high
        outside = {m: v for m, v in values.items() if not lo <= v <= hi}
        inside = len(values) - len(outside)
        text = f"{inside}/{len(values)} models in range"
        if outside:
            text += "; outside: " + ", ".join(outside)
            if self.envelope is not None:
                env_lo, env_hi = self.envelope
                far = [m for m, v in outside.items() if not env_lo <= v <= env_hi]
                text += (f" (beyond the s.d. envelope {fmt(env_lo)} to {fmt(env_hi)}: "
                         f"{', '.join(far)})" if far else
                         f" (all within the s.d. envelope {fmt(env_lo)} to {fmt(env_hi)})")
        return Score(bool(values) and not outside, inside / len(values) if values else None, text)

    def figure(self, results):
        from .figures import plot_membrane_regimes

        return plot_membrane_regimes(results)


# --------------------------------------------------------------------------
# Spike populations of network protocols
# --------------------------------------------------------------------------
def lif_poisson_output(results) -> SpikePopulation:
    """The LIF neurons of a ``lif-poisson-trace`` run, over the whole run."""
    from brian2 import ms

    d = results.data
    return population_from(d["spike_neuron"].values, d["spike_time"].values, d.sizes["neuron"],
                           0.0, float(results.spec.params.duration / ms),
                           "lif-poisson-trace LIF neurons")


def rstdp_hidden_layer(results) -> SpikePopulation:
    """The hidden LIF layer of an ``rstdp-classification`` run, over all trials.

    Uses ``hidden_spike_neuron``, ``hidden_spike_time`` (ms), the number of trials and
    ``attrs["trial_duration_ms"]``. Registered for both R-STDP protocols (populations
    ``rstdp3-hidden`` and ``rstdp10-hidden``).
    """
    d = results.data
    t_stop = float(d.sizes["trial"] * d.attrs["trial_duration_ms"])
    return population_from(d["hidden_spike_neuron"].values, d["hidden_spike_time"].values,
                           results.spec.params.n_hidden, 0.0, t_stop,
                           f"{results.spec.name} hidden layer")


POPULATIONS: dict[str, Callable[..., SpikePopulation]] = {
    "lif-poisson-trace": lif_poisson_output,
    "rstdp3-hidden": rstdp_hidden_layer,
    "rstdp10-hidden": rstdp_hidden_layer,
}
"""Named population extractors (``results -> SpikePopulation``)."""


class _PopulationTest(ValidationTest):
    severity = WARN
    figure_name = "firing-regime"

    def __init__(self, name: str, extractor: Callable[..., SpikePopulation], observation):
        self.extractor = extractor
        super().__init__(name, observation)

    def figure(self, results):
        from .figures import plot_firing_regime

        return plot_firing_regime(self.extractor(results))


class FiringRateRegime(_PopulationTest):
    """Median firing rate of a population within the in-vivo range 0.1-10 Hz."""

    def __init__(self, population: str, extractor=None, low_Hz=0.1, high_Hz=10.0):
        super().__init__(f"regime-rate-{population}", extractor or POPULATIONS[population],
                         Observation("median firing rate in the in-vivo cortical range (rates "
                                     "log-normally distributed, long tail above)", BUZSAKI_2014,
                                     low=low_Hz, high=high_Hz, units="Hz"))

    def generate_prediction(self, results):
        pop = self.extractor(results)
        rates = pop.rates_Hz()
        med = float(np.median(rates)) if len(rates) else None
        return Prediction(med, "Hz", f"median {fmt(med)} Hz over {pop.n_neurons} neurons "
                          f"(range {fmt(rates.min())}-{fmt(rates.max())} Hz; Elephant)",
                          {"rates_Hz": rates.tolist(), "median_Hz": med,
                           "population": pop.label})

    def compute_score(self, observation, prediction):
        med = prediction.value
        ok = med is not None and observation.low <= med <= observation.high
        return Score(ok, med, f"median {fmt(med)} Hz in [{fmt(observation.low)}, "
                     f"{fmt(observation.high)}] Hz: {fmt(ok)}")


class ISICVRegime(_PopulationTest):
    """Median ISI CV of a population within the in-vivo range 0.5-1."""

    def __init__(self, population: str, extractor=None, low=0.5, high=1.0):
        super().__init__(f"regime-cv-{population}", extractor or POPULATIONS[population],
                         Observation("median ISI coefficient of variation: irregular, "
                                     "Poisson-like firing", SOFTKY_KOCH_1993, low=low, high=high))

    def generate_prediction(self, results):
        pop = self.extractor(results)
        cvs = pop.cvs()
        med = float(np.median(cvs)) if len(cvs) else None
        return Prediction(med, "1", f"median CV {fmt(med)} over {len(cvs)} neurons with >= 3 "
                          "spikes (Elephant)", {"cvs": cvs.tolist(), "median": med,
                                                 "population": pop.label})

    def compute_score(self, observation, prediction):
        med = prediction.value
        ok = med is not None and observation.low <= med <= observation.high
        return Score(ok, med, f"median CV {fmt(med)} in [{fmt(observation.low)}, "
                     f"{fmt(observation.high)}]: {fmt(ok)}")

r"""Protocol ``stdp-frequency``: frequency dependence of STDP pairing (Sjöström et al. 2001).

``n_pairings`` pre/post pairings at :math:`\Delta t = t_{post} - t_{pre} = \pm` ``delta_t``,
repeated at each pairing frequency of ``frequencies_Hz`` (Sjöström, Turrigiano & Nelson
2001: 60 pairings, ±10 ms, 0.1-50 Hz). One Brian2 ``Network`` holds one independent
synapse per (lag, frequency): presynaptic and postsynaptic ``SpikeGeneratorGroup``
neurons joined by a plastic ``Synapses`` of :mod:`bioSNN.plasticity` with no synaptic
effect, as in ``stdp-window``. The weight starts at 1 (weights in units of the initial
weight); the update is additive and never clipped (bounds ±1000, checked after the run),
as in Pfister & Gerstner's fits, so :math:`\Delta w\,(\%) = 100\,(w(T) - 1)`.

The rule is the spec parameter ``timing``, a named preset (:data:`TIMING_PRESETS`), or a
``[parameters.plasticity]`` table that selects and parameterises the timing dependence
instead (:class:`~bioSNN.plasticity.PlasticityTable`; e.g. ``timing = "triplet"``,
``nearest_spike = true``, ``A3_plus = 0.065``; the weight dependence stays fixed):

``triplet-all-to-all``
    :class:`~bioSNN.plasticity.TripletTiming`, all-to-all, full model, visual cortex:
    :math:`\tau_+` 16.8 ms, :math:`\tau_-` 33.7 ms, :math:`\tau_x` 101 ms, :math:`\tau_y`
    125 ms, :math:`A_2^+` 5e-10, :math:`A_3^+` 6.2e-3, :math:`A_2^-` 7e-3, :math:`A_3^-`
    2.3e-4 (Pfister & Gerstner 2006, Table 4; NEST ``stdp_triplet_synapse`` defaults).
``triplet-nearest``
    nearest-spike, full model, visual cortex: :math:`\tau_x` 714 ms, :math:`\tau_y` 40 ms,
    :math:`A_2^+` 8.8e-11, :math:`A_3^+` 5.3e-2, :math:`A_2^-` 6.6e-3, :math:`A_3^-` 3.1e-3
    (Pfister & Gerstner 2006, Table 4).
``triplet-minimal``
    nearest-spike minimal model, visual cortex: :math:`A_2^+ = A_3^- = 0`,
    :math:`A_3^+` 5e-2, :math:`A_2^-` 8e-3, :math:`\tau_y` 40 ms (Pfister & Gerstner 2006,
    Table 4). Its weight change has the closed form
    :func:`~bioSNN.features.stdp_frequency.nearest_spike_dw`.
``pair``
    :class:`~bioSNN.plasticity.STDPTiming` (all-to-all pairs) with Bi & Poo's (2001)
    time constants 16.8 / 33.7 ms and the pair amplitudes of the all-to-all triplet fit
    (:math:`A_+` 6.2e-3, :math:`A_-` 7e-3): the rule that cannot reproduce the data.

Each frequency's groups run on the coarsest clock on whose grid all their spike times
lie (the gcd of lag and period, e.g. 10 ms at 0.1 Hz); the traces are event-driven and
solved exactly between spikes, so this gives the same weights as a uniform ``dt`` clock
(``per_frequency_clock = false``; tested) at a fraction of the steps.

References
----------
Sjöström PJ, Turrigiano GG, Nelson SB (2001). Rate, timing, and cooperativity jointly
determine cortical synaptic plasticity. Neuron 32:1149-1164.
Pfister J-P, Gerstner W (2006). Triplets of spikes in a model of spike timing-dependent
plasticity. J Neurosci 26:9673-9682.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import xarray as xr
from brian2 import Network, Quantity, SpikeGeneratorGroup, ms, second

from ..features.stdp_frequency import (SJOSTROM_2001, SJOSTROM_2001_SOURCE,  # noqa: F401
                                       frequency_features, nearest_spike_dw)
from ..plasticity import (PlasticityTable, STDPRule, STDPTiming, TripletTiming, WeightBounds,
                          make_plastic_synapses)
from ._timing_table import check_timing_table, chosen_rule, plasticity_param, timing_label
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["STDPFrequency", "STDPFrequencyParams", "TIMING_PRESETS", "SJOSTROM_2001", "parse_frequencies",
           "SJOSTROM_2001_SOURCE", "nearest_spike_dw", "pairing_schedule"]

#: The rules a spec can choose (``timing = "..."``), with their sources (module docstring).
TIMING_PRESETS = MappingProxyType({
    "triplet-all-to-all": TripletTiming(
        tau_plus=16.8 * ms, tau_minus=33.7 * ms, tau_x=101 * ms, tau_y=125 * ms,
        A2_plus=5e-10, A3_plus=6.2e-3, A2_minus=7e-3, A3_minus=2.3e-4, nearest_spike=False),
    "triplet-nearest": TripletTiming(
        tau_plus=16.8 * ms, tau_minus=33.7 * ms, tau_x=714 * ms, tau_y=40 * ms,
        A2_plus=8.8e-11, A3_plus=5.3e-2, A2_minus=6.6e-3, A3_minus=3.1e-3, nearest_spike=True),
    "triplet-minimal": TripletTiming(
        tau_plus=16.8 * ms, tau_minus=33.7 * ms, tau_x=101 * ms, tau_y=40 * ms,
        A2_plus=0.0, A3_plus=5e-2, A2_minus=8e-3, A3_minus=0.0, nearest_spike=True),
    "pair": STDPTiming(tau_plus=16.8 * ms, tau_minus=33.7 * ms, A_plus=6.2e-3, A_minus=7e-3),
})

#: Weight bounds far from every reachable weight: the update is additive and unclipped.
_BOUNDS = WeightBounds(w_min=-1000.0, w_max=1000.0)
W_INIT = 1.0


def _ticks(q_ms: float, dt_ms: float) -> int | None:
    steps = q_ms / dt_ms
    return int(round(steps)) if abs(steps - round(steps)) < 1e-6 else None


def parse_frequencies(text: str, example: str = "5 10 20 40") -> np.ndarray:
    """Frequencies in Hz from text separated by spaces (or commas): at least one, finite,
    > 0 and strictly ascending; otherwise a :class:`ParamConflict` on ``frequencies_Hz``
    quoting ``example``."""
    try:
        freqs = np.array([float(x) for x in text.replace(",", " ").split()])
    except ValueError:
        raise ParamConflict("frequencies_Hz", f"must be numbers in Hz separated by spaces, "
                            f"e.g. \"{example}\"; got {text!r}") from None
    if len(freqs) == 0:
        raise ParamConflict("frequencies_Hz", f"must list at least one frequency, "
                            f"e.g. \"{example}\"")
    if not (np.all(np.isfinite(freqs)) and np.all(freqs > 0)):
        raise ParamConflict("frequencies_Hz", f"must all be finite and > 0 Hz, got {text!r}")
    if np.any(np.diff(freqs) <= 0):
        raise ParamConflict("frequencies_Hz", f"must be strictly ascending, got {text!r}")
    return freqs


@dataclass(frozen=True)
class STDPFrequencyParams:
    timing: str = param("triplet-all-to-all", choices=tuple(TIMING_PRESETS),
                        doc="plasticity rule (preset): triplet-all-to-all, triplet-nearest, "
                            "triplet-minimal (nearest-spike) or pair")
    delta_t: Quantity = param(10 * ms, unit=ms, min=0, min_inclusive=False,
                              doc="lag |t_post - t_pre|; one synapse at +delta_t and one at "
                                  "-delta_t per frequency (Sjöström et al. 2001: 10 ms)")
    frequencies_Hz: str = param("0.1 10 20 40 50",
                                doc="pairing frequencies in Hz, ascending, separated by spaces")
    n_pairings: int = param(60, min=1, max=10000, doc="pre/post pairings per synapse")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="time resolution: lags and periods must be whole multiples")
    per_frequency_clock: bool = param(True, doc="run each frequency on the coarsest exact "
                                                "clock (gcd of lag and period); false: all on dt")
    plasticity: PlasticityTable | None = plasticity_param()

    def frequencies(self) -> np.ndarray:
        """The pairing frequencies (Hz) as an array."""
        return parse_frequencies(self.frequencies_Hz)

    def check(self):
        check_timing_table(self.plasticity)
        freqs = parse_frequencies(self.frequencies_Hz, example="0.1 10 20 40 50")
        dt_ms, lag_ms = float(self.dt / ms), float(self.delta_t / ms)
        if _ticks(lag_ms, dt_ms) is None:
            raise ParamConflict("delta_t", f"must be a whole number of time steps dt ({self.dt})")
        for f in freqs:
            period = 1000.0 / f
            if _ticks(period, dt_ms) is None:
                raise ParamConflict("frequencies_Hz", f"the period of {f:g} Hz ({period:g} ms) "
                                    f"is not a whole number of time steps dt ({self.dt}); "
                                    "choose frequencies whose period is")
            if not lag_ms < period:
                raise ParamConflict("delta_t", f"must be shorter than the period of the highest "
                                    f"frequency ({f:g} Hz: {period:g} ms) so that pairings keep "
                                    "their order")

    @property
    def rule(self) -> STDPRule:
        """The timing preset, or the ``plasticity`` table's timing, with unclipped bounds."""
        return chosen_rule(TIMING_PRESETS, self.timing, self.plasticity, _BOUNDS)

    def lags_ms(self) -> np.ndarray:
        lag = float(self.delta_t / ms)
        return np.array([lag, -lag])


def pairing_schedule(p: STDPFrequencyParams, frequency_Hz: float):
    """Clock and spike times of one frequency's pre/post generators (one neuron per lag).

    Returns
    -------
    clock_dt_ms : float
        The coarsest step whose grid holds every spike time (``p.dt`` when
        ``per_frequency_clock`` is false).
    idx, t_pre_ms, t_post_ms : arrays
        Generator index (the lag's position in ``p.lags_ms()``) and the pre/post spike
        times. Pairing ``j`` puts its earlier spike at ``clock_dt + j * period``.
    """
    dt_ms = float(p.dt / ms)
    lags = p.lags_ms()
    period_ticks = _ticks(1000.0 / frequency_Hz, dt_ms)
    lag_ticks = _ticks(abs(float(lags[0])), dt_ms)
    g = math.gcd(period_ticks, lag_ticks) if p.per_frequency_clock else 1
    clock = g * dt_ms
    j = np.arange(p.n_pairings)
    t_pre, t_post, idx = [], [], []
    for k, lag in enumerate(lags):
        lag_t = int(round(lag / dt_ms))
        first = g + j * period_ticks  # ticks of dt
        pre = first + max(0, -lag_t)
        t_pre.append(pre)
        t_post.append(pre + lag_t)
        idx.append(np.full(p.n_pairings, k))
    return (clock, np.concatenate(idx), np.concatenate(t_pre) * dt_ms,
            np.concatenate(t_post) * dt_ms)


@register
class STDPFrequency(BrianProtocol):
    """Weight change after repeated ±Δt pairings as a function of the pairing frequency."""

    kind = "stdp-frequency"
    headline = ("crossing_frequency_Hz", "nmse_vs_data", "dw_percent_negative_lag_highest_frequency")
    figures = {"frequency": "bioSNN.plots.stdp_frequency:plot_stdp_frequency"}
    Params = STDPFrequencyParams

    def simulate(self, ctx):
        p = self.params
        lags, freqs = p.lags_ms(), p.frequencies()
        objects, synapses, groups = [], [], []
        for m, f in enumerate(freqs):
            clock, idx, t_pre, t_post = pairing_schedule(p, f)
            clock_dt = clock * ms
            pre = SpikeGeneratorGroup(len(lags), idx, t_pre * ms, dt=clock_dt, name=f"pre_{m}")
            post = SpikeGeneratorGroup(len(lags), idx, t_post * ms, dt=clock_dt, name=f"post_{m}")
            syn = make_plastic_synapses(pre, post, p.rule, on_pre_effect="", name=f"syn_{m}",
                                        dt=clock_dt)
            syn.connect(i=np.arange(len(lags)), j=np.arange(len(lags)))
            syn.w = W_INIT
            objects += [pre, post, syn]
            synapses.append(syn)
            groups.append(((max(float(t_pre.max()), float(t_post.max())) + clock), (pre, post, syn)))
        net = Network(*objects)
        ends = sorted(groups, key=lambda g: g[0])
        if ctx.target == "cpp_standalone":
            # One run (standalone builds once); compiled steps are cheap.
            ends = [(ends[-1][0], ())]
        # One run per end time: a frequency's groups leave the network once its last
        # spike is processed, so that the fast frequencies' clocks do not tick through
        # the 0.1 Hz train (their weights are final; nothing else changes them).
        now = 0.0
        for end, members in ends:
            end = end + float(p.dt / ms)
            if end > now:
                net.run((end - now) * ms, report=ctx.report, report_period=1 * second,
                        namespace={})
                now = end
            if members:
                net.remove(*members)
        w = np.stack([np.asarray(s.w[:], dtype=float) for s in synapses], axis=1)  # (lag, freq)
        dw_percent = 100.0 * (w - W_INIT) / W_INIT
        variables = {
            "w_final": (("lag", "frequency"), w,
                        {"units": "1", "long_name": "weight after all pairings (initial 1)"}),
            "dw_percent": (("lag", "frequency"), dw_percent,
                           {"units": "%", "long_name": "weight change in % of the initial weight"}),
        }
        timing = p.rule.timing
        if isinstance(timing, TripletTiming) and timing.nearest_spike:
            closed = [[100.0 * nearest_spike_dw(lag, 1000.0 / f, p.n_pairings,
                                                **_triplet_ms(timing)) for f in freqs]
                      for lag in lags]
            variables["dw_closed_form_percent"] = (
                ("lag", "frequency"), np.array(closed),
                {"units": "%", "long_name": "closed form of the nearest-spike triplet rule"})
        clipped = bool(np.any(w <= _BOUNDS.w_min) or np.any(w >= _BOUNDS.w_max))
        return xr.Dataset(
            variables,
            coords={"lag": ("lag", lags, {"units": "ms", "long_name": "t_post - t_pre"}),
                    "frequency": ("frequency", freqs, {"units": "Hz",
                                                       "long_name": "pairing frequency"})},
            attrs={"n_pairings": p.n_pairings, "timing": timing_label(p.timing, p.plasticity), "clipped": int(clipped),
                   "data_source": SJOSTROM_2001_SOURCE},
        )

    @staticmethod
    def summarize(data, params):
        return frequency_features(data)


def _triplet_ms(t: TripletTiming) -> dict:
    return {"A2_plus": t.A2_plus, "A3_plus": t.A3_plus, "A2_minus": t.A2_minus,
            "A3_minus": t.A3_minus, "tau_plus_ms": float(t.tau_plus / ms),
            "tau_minus_ms": float(t.tau_minus / ms), "tau_x_ms": float(t.tau_x / ms),
            "tau_y_ms": float(t.tau_y / ms)}

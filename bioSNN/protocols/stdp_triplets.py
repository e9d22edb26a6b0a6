r"""Protocol ``stdp-triplets``: spike-triplet protocols of Wang et al. (2005).

Two triplets, each repeated ``n_repetitions`` times at ``repetition_frequency``
(Wang, Gerkin, Nauen & Bi 2005, hippocampal cultures: 60 repetitions at 1 Hz), one
independent synapse each, in one Brian2 ``Network`` of ``SpikeGeneratorGroup`` neurons
and plastic ``Synapses`` of :mod:`bioSNN.plasticity` (no synaptic effect):

``pre-post-pre``
    pre at 0, post at :math:`\Delta t_1`, pre at :math:`\Delta t_1 + \Delta t_2`
    (:math:`(\Delta t_1, \Delta t_2) = (+5, -5)` ms in the convention post − pre);
``post-pre-post``
    post at 0, pre at :math:`\Delta t_1`, post at :math:`\Delta t_1 + \Delta t_2`
    (:math:`(-5, +5)` ms).

Weights start at 1, additive, unclipped; :math:`\Delta w\,(\%) = 100\,(w(T) - 1)`. An
all-to-all pair rule gives both triplets the same change (each holds one pre-post and one
post-pre pair at 5 ms); the data show LTP for post-pre-post only. Rule presets
(``timing``, :data:`TIMING_PRESETS`): ``triplet-minimal-hippocampus``, the all-to-all
minimal triplet model fitted to the hippocampal data (Pfister & Gerstner 2006, Table 4:
:math:`\tau_+` 16.8 ms, :math:`\tau_-` 33.7 ms, :math:`\tau_y` 40 ms, :math:`A_2^+`
5.3e-3, :math:`A_3^+` 8e-3, :math:`A_2^-` 3.5e-3, :math:`A_3^-` 0); ``pair``, the same
rule without the triplet term (:class:`~bioSNN.plasticity.STDPTiming`, :math:`A_+`
5.3e-3, :math:`A_-` 3.5e-3). A ``[parameters.plasticity]`` table
(:class:`~bioSNN.plasticity.PlasticityTable`) replaces the preset by any timing dependence
and its parameters; the weight dependence stays additive and unclipped. The quadruplet
protocol of the same paper is not built yet.

References
----------
Wang H-X, Gerkin RC, Nauen DW, Bi G-Q (2005). Coactivation and timing-dependent
integration of synaptic potentiation and depression. Nat Neurosci 8:187-193.
Pfister J-P, Gerstner W (2006). J Neurosci 26:9673-9682.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import xarray as xr
from brian2 import Hz, Network, Quantity, SpikeGeneratorGroup, ms, second

from ..features.stdp_triplets import PATTERNS, triplet_features
from ..plasticity import (PlasticityTable, STDPRule, STDPTiming, TripletTiming, WeightBounds,
                          make_plastic_synapses)
from ._timing_table import check_timing_table, chosen_rule, plasticity_param, timing_label
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["STDPTriplets", "STDPTripletsParams", "TIMING_PRESETS", "PATTERNS", "triplet_times"]

TIMING_PRESETS = MappingProxyType({
    "triplet-minimal-hippocampus": TripletTiming(
        tau_plus=16.8 * ms, tau_minus=33.7 * ms, tau_x=101 * ms, tau_y=40 * ms,
        A2_plus=5.3e-3, A3_plus=8e-3, A2_minus=3.5e-3, A3_minus=0.0, nearest_spike=False),
    "pair": STDPTiming(tau_plus=16.8 * ms, tau_minus=33.7 * ms, A_plus=5.3e-3, A_minus=3.5e-3),
})

_BOUNDS = WeightBounds(w_min=-1000.0, w_max=1000.0)
W_INIT = 1.0


def _ticks(q: Quantity, dt: Quantity) -> int | None:
    steps = float(q / dt)
    return int(round(steps)) if abs(steps - round(steps)) < 1e-6 else None


@dataclass(frozen=True)
class STDPTripletsParams:
    timing: str = param("triplet-minimal-hippocampus", choices=tuple(TIMING_PRESETS),
                        doc="plasticity rule (preset): triplet-minimal-hippocampus or pair")
    delta_t1: Quantity = param(5 * ms, unit=ms, min=0, min_inclusive=False,
                               doc="interval between the first and the second spike")
    delta_t2: Quantity = param(5 * ms, unit=ms, min=0, min_inclusive=False,
                               doc="interval between the second and the third spike")
    n_repetitions: int = param(60, min=1, max=10000, doc="triplets per synapse")
    repetition_frequency: Quantity = param(1 * Hz, unit=Hz, min=0, min_inclusive=False,
                                           doc="triplets per second (Wang et al. 2005: 1 Hz)")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="time resolution: intervals and period must be whole multiples")
    plasticity: PlasticityTable | None = plasticity_param()

    def check(self):
        check_timing_table(self.plasticity)
        for name in ("delta_t1", "delta_t2"):
            if _ticks(getattr(self, name), self.dt) is None:
                raise ParamConflict(name, f"must be a whole number of time steps dt ({self.dt})")
        period = 1 / self.repetition_frequency
        if _ticks(period, self.dt) is None:
            raise ParamConflict("repetition_frequency", f"its period ({period / ms:g} ms) must be "
                                f"a whole number of time steps dt ({self.dt})")
        if not self.delta_t1 + self.delta_t2 < period:
            raise ParamConflict("repetition_frequency", "its period must be longer than one "
                                f"triplet (delta_t1 + delta_t2 = {(self.delta_t1 + self.delta_t2) / ms:g} ms)")

    @property
    def rule(self) -> STDPRule:
        """The timing preset, or the ``plasticity`` table's timing, with unclipped bounds."""
        return chosen_rule(TIMING_PRESETS, self.timing, self.plasticity, _BOUNDS)


def triplet_times(p: STDPTripletsParams):
    """Clock step (ms) and the pre/post spike indices and times (ms) of both patterns.

    Synapse 0 is ``pre-post-pre``, synapse 1 ``post-pre-post``; repetition ``j`` starts
    at ``clock + j * period``. The clock is the gcd of the intervals and the period.
    """
    a, b = _ticks(p.delta_t1, p.dt), _ticks(p.delta_t2, p.dt)
    period = _ticks(1 / p.repetition_frequency, p.dt)
    g = math.gcd(math.gcd(a, b), period)
    start = g + period * np.arange(p.n_repetitions)
    dt_ms = float(p.dt / ms)
    pre_i = np.concatenate([np.zeros(2 * p.n_repetitions, int), np.ones(p.n_repetitions, int)])
    pre_t = np.concatenate([start, start + a + b, start + a])
    post_i = np.concatenate([np.zeros(p.n_repetitions, int), np.ones(2 * p.n_repetitions, int)])
    post_t = np.concatenate([start + a, start, start + a + b])
    return g * dt_ms, pre_i, pre_t * dt_ms, post_i, post_t * dt_ms


@register
class STDPTriplets(BrianProtocol):
    """Weight change after repeated pre-post-pre and post-pre-post triplets."""

    kind = "stdp-triplets"
    headline = ("dw_percent_post_pre_post", "dw_percent_pre_post_pre", "asymmetry_percent")
    figures = {"triplets": "bioSNN.plots.stdp_triplets:plot_stdp_triplets"}
    Params = STDPTripletsParams

    def simulate(self, ctx):
        p = self.params
        clock, pre_i, pre_t, post_i, post_t = triplet_times(p)
        n = len(PATTERNS)
        pre = SpikeGeneratorGroup(n, pre_i, pre_t * ms, dt=clock * ms, name="pre")
        post = SpikeGeneratorGroup(n, post_i, post_t * ms, dt=clock * ms, name="post")
        syn = make_plastic_synapses(pre, post, p.rule, on_pre_effect="", name="triplets",
                                    dt=clock * ms)
        syn.connect(i=np.arange(n), j=np.arange(n))
        syn.w = W_INIT
        last = max(pre_t.max(), post_t.max()) + 2 * clock
        Network(pre, post, syn).run(last * ms, report=ctx.report, report_period=1 * second,
                                    namespace={})
        w = np.asarray(syn.w[:], dtype=float)
        clipped = bool(np.any(w <= _BOUNDS.w_min) or np.any(w >= _BOUNDS.w_max))
        return xr.Dataset(
            {"w_final": ("pattern", w, {"units": "1", "long_name": "weight after all triplets"}),
             "dw_percent": ("pattern", 100.0 * (w - W_INIT) / W_INIT,
                            {"units": "%", "long_name": "weight change in % of the initial weight"})},
            coords={"pattern": ("pattern", list(PATTERNS), {"units": "1"})},
            attrs={"n_repetitions": p.n_repetitions, "timing": timing_label(p.timing, p.plasticity), "clipped": int(clipped),
                   "delta_t1_ms": float(p.delta_t1 / ms), "delta_t2_ms": float(p.delta_t2 / ms)},
        )

    @staticmethod
    def summarize(data, params):
        return triplet_features(data)

r"""Protocol ``stdp-window``: the STDP learning window measured by pre/post pairings.

One Brian2 ``Network`` holds ``n`` independent synapses, one per spike-timing
difference :math:`\Delta t = t_{post} - t_{pre}` on a grid from ``delta_t_min`` to
``delta_t_max`` (step ``delta_t_step``). Synapse ``k`` connects presynaptic
``SpikeGeneratorGroup`` neuron ``k`` to postsynaptic ``SpikeGeneratorGroup`` neuron
``k`` and carries the pair-STDP rule of :mod:`bioSNN.plasticity`
(:class:`~bioSNN.plasticity.STDPTiming` + :class:`~bioSNN.plasticity.WeightBounds`,
no synaptic effect). Every synapse starts at ``w_init`` and sees ``n_pairings``
pre/post pairs at lag :math:`\Delta t_k`, one every ``pairing_period`` (Bi & Poo
1998: 60 pairings at 1 Hz). The weight change per pairing,

.. math:: \Delta w(\Delta t_k) = (w_k(T) - w_{init}) / n_{pairings},

is the measured learning window. For the pair rule (all-to-all traces), a pairing
period much longer than :math:`\tau_\pm` and no clipping,

.. math::

    \Delta w(\Delta t) = \begin{cases} A_+ e^{-\Delta t/\tau_+} & \Delta t \ge 0 \\
                                       -A_- e^{\Delta t/\tau_-} & \Delta t < 0 \end{cases}

(:func:`analytic_window`; :math:`\Delta t = 0` counts as pre-before-post, see
:class:`~bioSNN.plasticity.STDPRule`). :func:`fit_window` fits one exponential to
each side (``scipy.optimize.curve_fit``) and recovers :math:`A_\pm, \tau_\pm`.

References
----------
Bi, G.-q. & Poo, M.-m. (1998). Synaptic modifications in cultured hippocampal
neurons: dependence on spike timing, synaptic strength, and postsynaptic cell type.
J Neurosci 18:10464-10472.
Bi, G.-q. & Poo, M.-m. (2001). Synaptic modification by correlated activity: Hebb's
postulate revisited. Annu Rev Neurosci 24:139-166.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import Network, Quantity, SpikeGeneratorGroup, ms, second

from ..plasticity import STDPRule, STDPTiming, WeightBounds, make_plastic_synapses
from ..features.stdp import analytic_window, fit_window, window_features  # noqa: F401 (re-exported)
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["STDPWindow", "STDPWindowParams", "analytic_window", "clock_dt_ms", "fit_window",
           "window_features"]

_T = STDPTiming()
_B = WeightBounds()


def _whole_steps(q: Quantity, dt: Quantity) -> bool:
    steps = float(q / dt)
    return abs(steps - round(steps)) < 1e-6


@dataclass(frozen=True)
class STDPWindowParams:
    tau_plus: Quantity = param(_T.tau_plus, unit=ms, min=0, min_inclusive=False,
                               doc="decay of the presynaptic trace (potentiation window)")
    tau_minus: Quantity = param(_T.tau_minus, unit=ms, min=0, min_inclusive=False,
                                doc="decay of the postsynaptic trace (depression window)")
    A_plus: float = param(_T.A_plus, min=0, doc="potentiation per pre-before-post pair at zero lag")
    A_minus: float = param(_T.A_minus, min=0, doc="depression per post-before-pre pair at zero lag")
    w_min: float = param(_B.w_min, doc="lower weight bound")
    w_max: float = param(_B.w_max, doc="upper weight bound")
    w_init: float = param(1.0, doc="initial weight of every synapse (keep it away from the bounds)")
    delta_t_min: Quantity = param(-100 * ms, unit=ms, doc="most negative lag t_post - t_pre")
    delta_t_max: Quantity = param(100 * ms, unit=ms, doc="most positive lag t_post - t_pre")
    delta_t_step: Quantity = param(1 * ms, unit=ms, min=0, min_inclusive=False,
                                   doc="spacing of the lag grid (one synapse per lag)")
    n_pairings: int = param(60, min=1, max=10000, doc="pre/post pairings per synapse")
    pairing_period: Quantity = param(1 * second, unit=ms, min=0, min_inclusive=False,
                                     doc="time between pairings (Bi & Poo 1998: 1 s)")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step (spike times lie on its grid)")
    coarsest_clock: bool = param(True, doc="run on the coarsest exact clock (the largest "
                                           "multiple of dt whose grid holds every spike time; "
                                           "the traces are event-driven, so the weights are "
                                           "the same); false: step every dt")

    def check(self):
        if not self.delta_t_max > self.delta_t_min:
            raise ParamConflict("delta_t_max", f"must be larger than delta_t_min ({self.delta_t_min})")
        if not self.w_max > self.w_min:
            raise ParamConflict("w_max", f"must be larger than w_min ({self.w_min})")
        if not self.w_min <= self.w_init <= self.w_max:
            raise ParamConflict("w_init", f"must lie in [w_min, w_max] = [{self.w_min}, {self.w_max}]")
        for name in ("delta_t_min", "delta_t_max", "delta_t_step", "pairing_period"):
            if not _whole_steps(getattr(self, name), self.dt):
                raise ParamConflict(name, f"must be a whole number of time steps dt ({self.dt})")
        span = max(abs(self.delta_t_min), abs(self.delta_t_max))
        if self.n_pairings > 1 and not self.pairing_period > 2 * span:
            raise ParamConflict("pairing_period", f"must exceed twice the largest |lag| ({span}) "
                                "so that pairings do not overlap")

    @property
    def rule(self) -> STDPRule:
        return STDPRule(timing=STDPTiming(self.tau_plus, self.tau_minus, self.A_plus, self.A_minus),
                        bounds=WeightBounds(self.w_min, self.w_max))

    def lags_ms(self) -> np.ndarray:
        """The lag grid t_post - t_pre (ms), from delta_t_min to delta_t_max inclusive."""
        lo, hi = float(self.delta_t_min / ms), float(self.delta_t_max / ms)
        step = float(self.delta_t_step / ms)
        n = int(np.floor((hi - lo) / step + 1e-9)) + 1
        return np.round(lo + step * np.arange(n), 9)


def pairing_times(p: STDPWindowParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spike indices and times (ms) of the pre and post generators.

    Pairing ``j`` of synapse ``k`` puts the earlier of its two spikes at
    ``1 ms + j * pairing_period`` (a common anchor, so all pairings start together).
    """
    lags = p.lags_ms()
    n = len(lags)
    period = float(p.pairing_period / ms)
    anchor = 1.0 + period * np.arange(p.n_pairings)  # ms
    t_pre = anchor[None, :] + np.maximum(0.0, -lags)[:, None]
    t_post = t_pre + lags[:, None]
    idx = np.repeat(np.arange(n), p.n_pairings)
    return idx, t_pre.ravel(), idx.copy(), t_post.ravel()


def clock_dt_ms(p: STDPWindowParams, *times_ms: np.ndarray) -> float:
    """The step the run uses: ``p.dt``, or with ``coarsest_clock`` the largest multiple of
    ``p.dt`` whose grid holds every spike time in ``times_ms`` (their gcd in ticks of dt)."""
    dt_ms = float(p.dt / ms)
    if not p.coarsest_clock:
        return dt_ms
    ticks = np.rint(np.concatenate(times_ms) / dt_ms).astype(np.int64)
    return float(np.gcd.reduce(ticks)) * dt_ms


@register
class STDPWindow(BrianProtocol):
    """Weight change per pre/post pairing as a function of the lag (one synapse per lag)."""

    kind = "stdp-window"
    headline = ("tau_plus_ms", "tau_minus_ms", "max_abs_error_vs_analytic")
    figures = {"window": "bioSNN.plots.stdp_window:plot_stdp_window"}
    Params = STDPWindowParams

    def simulate(self, ctx):
        p = self.params
        lags = p.lags_ms()
        n = len(lags)
        i_pre, t_pre, i_post, t_post = pairing_times(p)
        clock = clock_dt_ms(p, t_pre, t_post)
        pre = SpikeGeneratorGroup(n, i_pre, t_pre * ms, dt=clock * ms, name="pre")
        post = SpikeGeneratorGroup(n, i_post, t_post * ms, dt=clock * ms, name="post")
        syn = make_plastic_synapses(pre, post, p.rule, on_pre_effect="", name="stdp",
                                    dt=clock * ms)
        syn.connect(i=np.arange(n), j=np.arange(n))
        syn.w = p.w_init
        last = max(t_pre.max(), t_post.max())
        net = Network(pre, post, syn)
        net.run((last + 2 * clock) * ms, report=ctx.report, report_period=1 * second,
                namespace={})
        w = np.asarray(syn.w[:], dtype=float)
        return xr.Dataset(
            {
                "w_final": ("lag", w, {"units": "1", "long_name": "weight after all pairings"}),
                "dw": ("lag", (w - p.w_init) / p.n_pairings,
                       {"units": "1", "long_name": "weight change per pairing"}),
                "dw_analytic": ("lag", analytic_window(lags, p.A_plus, float(p.tau_plus / ms),
                                                       p.A_minus, float(p.tau_minus / ms)),
                                {"units": "1", "long_name": "pair-rule window (no clipping)"}),
            },
            coords={"lag": ("lag", lags, {"units": "ms", "long_name": "t_post - t_pre"})},
            attrs={"w_init": p.w_init, "n_pairings": p.n_pairings, "clock_dt_ms": clock},
        )

    @staticmethod
    def summarize(data, params):
        return window_features(data, params)

r"""Protocol ``brunel2000``: Brunel's (2000) sparsely connected E/I network of LIF
neurons (model A) and its four dynamical states.

:math:`N_E` excitatory and :math:`N_I = N_E/4` inhibitory LIF neurons,

.. math:: \tau \frac{dV_k}{dt} = -V_k + \tau \sum_j J_{kj} \sum_s \delta(t - t_j^s - D),

threshold :math:`\theta`, reset to :math:`V_r`, clamped for :math:`\tau_{rp}`. Each
neuron receives :math:`C_E = \epsilon N_E` excitatory inputs of weight :math:`J` and
:math:`C_I = \epsilon N_I` inhibitory inputs of weight :math:`-gJ` (fixed in-degree,
distinct presynaptic partners, no self-connection, drawn from the run's ``numpy``
stream) plus :math:`C_E` external Poisson trains of rate
:math:`\nu_{ext} = \eta\,\nu_{thr}`, :math:`\nu_{thr} = \theta / (J C_E \tau)`.

Brunel, N. (2000). Dynamics of sparsely connected networks of excitatory and inhibitory
spiking neurons. J Comput Neurosci 8:183-208. Details: ``docs/brunel.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, NeuronGroup, PopulationRateMonitor, Quantity, SpikeMonitor,
                    Synapses, mV, ms, second)

from ..features.population import network_counts, population_features
from ..units import format_quantity as fq
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["Brunel2000", "Brunel2000Params", "fixed_indegree", "nu_threshold", "in_degrees",
           "brunel_features"]


@dataclass(frozen=True)
class Brunel2000Params:
    n_exc: int = param(10000, min=8, max=200000,
                       doc="N_E excitatory neurons (a multiple of 4; N_I = N_E/4 inhibitory)")
    epsilon: float = param(0.1, min=0, min_inclusive=False, max=1,
                           doc="connection probability: in-degrees C_E = eps N_E, C_I = eps N_I")
    g: float = param(5.0, min=0, max=100, doc="relative strength of inhibition (weight -g J)")
    eta: float = param(2.0, min=0, max=100,
                       doc="external rate in units of the threshold rate: nu_ext = eta nu_thr")
    J: Quantity = param(0.1 * mV, unit=mV, min=0, max=20,
                        doc="excitatory PSP amplitude (voltage jump per spike)")
    delay: Quantity = param(1.5 * ms, unit=ms, min=0, min_inclusive=False, max=100,
                            doc="synaptic delay D of every recurrent synapse")
    tau: Quantity = param(20 * ms, unit=ms, min=0, min_inclusive=False, max=1000,
                          doc="membrane time constant")
    theta: Quantity = param(20 * mV, unit=mV, min=0, min_inclusive=False, max=100,
                            doc="firing threshold (resting potential 0 mV)")
    V_r: Quantity = param(10 * mV, unit=mV, min=-100, max=100, doc="reset potential")
    tau_rp: Quantity = param(2 * ms, unit=ms, min=0, max=100,
                             doc="absolute refractory period (V clamped, inputs discarded)")
    v_init_min: Quantity = param(0 * mV, unit=mV, min=-100, max=100,
                                 doc="initial V ~ U(v_init_min, v_init_max), numpy stream")
    v_init_max: Quantity = param(20 * mV, unit=mV, min=-100, max=100,
                                 doc="upper end of the initial V distribution (<= theta)")
    duration: Quantity = param(1 * second, unit=ms, min=0, min_inclusive=False,
                               doc="simulated time, transient included")
    transient: Quantity = param(200 * ms, unit=ms, min=0,
                                doc="initial time dropped from the analysis")
    n_record: int = param(0, min=0, max=200000,
                          doc="spikes recorded from the first n_record E and n_record/4 I "
                              "neurons (0: all); the population rate always covers all")
    rate_bin: Quantity = param(0.5 * ms, unit=ms, min=0, min_inclusive=False, max=100,
                               doc="bin of the population rate (synchrony, spectrum)")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step")

    @property
    def n_inh(self) -> int:
        return self.n_exc // 4

    @property
    def C_E(self) -> int:
        return int(round(self.epsilon * self.n_exc))

    @property
    def C_I(self) -> int:
        return int(round(self.epsilon * self.n_inh))

    @property
    def recorded(self) -> tuple[int, int]:
        """(excitatory, inhibitory) neurons whose spikes are recorded."""
        if not self.n_record:
            return self.n_exc, self.n_inh
        return min(self.n_record, self.n_exc), min(max(self.n_record // 4, 1), self.n_inh)

    @property
    def nu_ext(self) -> Quantity:
        return self.eta * nu_threshold(self.theta, self.J, self.C_E, self.tau)

    def check(self):
        if self.n_exc % 4:
            raise ParamConflict("n_exc", "must be a multiple of 4 (N_I = N_E/4)")
        if self.C_I < 1:
            raise ParamConflict("epsilon", f"gives no inhibitory input (eps N_I = "
                                           f"{self.epsilon * self.n_inh:g} rounds to 0)")
        if not self.v_init_max >= self.v_init_min:
            raise ParamConflict("v_init_max",
                                f"must be at least v_init_min ({fq(self.v_init_min)})")
        if not self.v_init_max <= self.theta:
            raise ParamConflict("v_init_max", f"must be at most theta ({fq(self.theta)})")
        if not self.V_r < self.theta:
            raise ParamConflict("V_r", f"must be below theta ({fq(self.theta)})")
        if not self.delay >= self.dt:
            raise ParamConflict("delay", f"must be at least dt ({fq(self.dt)})")
        steps = float(self.rate_bin / self.dt)
        if not (steps >= 1 - 1e-9 and abs(steps - round(steps)) < 1e-6):
            raise ParamConflict("rate_bin", f"must be a whole multiple of dt ({fq(self.dt)})")
        if self.n_record and self.n_record < 4:
            raise ParamConflict("n_record", "must be 0 (all) or at least 4")
        if not self.duration - self.transient >= (100 - 1e-9) * self.rate_bin:
            raise ParamConflict("duration", f"must exceed transient ({fq(self.transient)}) by at "
                                            f"least 100 rate bins ({fq(100 * self.rate_bin)})")


def nu_threshold(theta: Quantity, J: Quantity, C_E: int, tau: Quantity) -> Quantity:
    r"""Brunel's threshold rate :math:`\nu_{thr} = \theta / (J C_E \tau)`: the external
    rate at which the mean input alone brings the free membrane to threshold."""
    return theta / (J * C_E * tau)


def fixed_indegree(n_pre: int, n_post: int, indegree: int, rng: np.random.Generator, *,
                   self_offset: int | None = None,
                   chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Presynaptic partners with a fixed in-degree: every postsynaptic neuron gets
    ``indegree`` distinct presynaptic neurons drawn uniformly from ``range(n_pre)``.

    ``self_offset``: presynaptic neuron ``p`` and postsynaptic neuron ``q`` are the same
    cell when ``p == q - self_offset``; such self-connections are excluded (then at most
    ``n_pre - 1`` partners). Draws ``n_post * n_pre`` uniforms in chunks of ``chunk``
    rows (the smallest ``indegree`` of each row are taken).

    Returns
    -------
    (i, j) : int32 arrays of length ``n_post * indegree``, sorted by ``j`` then ``i``.
    """
    room = n_pre - (self_offset is not None)
    if not 0 <= indegree <= room:
        raise ValueError(f"fixed_indegree: in-degree {indegree} impossible with {n_pre} "
                         f"presynaptic neurons")
    i_all = np.empty(n_post * indegree, dtype=np.int32)
    for start in range(0, n_post, chunk):
        rows = np.arange(start, min(start + chunk, n_post))
        u = rng.random((len(rows), n_pre))
        if self_offset is not None:
            own = rows - self_offset
            ok = (own >= 0) & (own < n_pre)
            u[np.flatnonzero(ok), own[ok]] = np.inf
        pick = np.sort(np.argpartition(u, indegree - 1, axis=1)[:, :indegree], axis=1) \
            if indegree else np.empty((len(rows), 0), dtype=np.int64)
        i_all[start * indegree: (start + len(rows)) * indegree] = pick.ravel()
    j_all = np.repeat(np.arange(n_post, dtype=np.int32), indegree)
    return i_all, j_all


def in_degrees(i, j, n_post: int) -> np.ndarray:
    """Number of synapses onto each postsynaptic neuron."""
    return np.bincount(np.asarray(j), minlength=n_post)


@register
class Brunel2000(BrianProtocol):
    """Brunel (2000) model A: sparse E/I network of delta-synapse LIF neurons."""

    kind = "brunel2000"
    headline = ("rate_Hz", "cv_mean", "chi", "osc_freq_Hz", "state")
    figures = {"activity": "bioSNN.plots.brunel:plot_brunel_activity"}
    populations = {"neurons": "Brunel (2000) model A LIF neuron, delta synapses; the recorded "
                              "excitatory neurons first, then the inhibitory ones "
                              "(neuron_index: index in the network)"}
    Params = Brunel2000Params

    def simulate(self, ctx):
        p = self.params
        n_e, n_i = p.n_exc, p.n_inh
        n = n_e + n_i
        lam_ext = float(p.C_E * p.nu_ext * p.dt)
        ns = {"tau": p.tau, "theta": p.theta, "V_r": p.V_r, "J": p.J, "g": p.g,
              "lam_ext": lam_ext}
        # one group, E first: the reset, threshold and state update are one code object each
        neurons = NeuronGroup(n, "dv/dt = -v/tau : volt (unless refractory)",
                              threshold="v > theta", reset="v = V_r", refractory=p.tau_rp,
                              method="exact", namespace=ns, name="neurons")
        rng = ctx.streams.numpy_rng()
        neurons.v = rng.uniform(float(p.v_init_min / mV), float(p.v_init_max / mV), n) * mV
        # External drive: C_E independent Poisson trains of rate nu_ext superpose to one
        # Poisson train of rate C_E nu_ext, so each step adds J * Poisson(C_E nu_ext dt)
        # (Brian2's PoissonInput draws Binomial(C_E, nu_ext dt), which caps one spike per
        # train and step, and bakes N and p into its code: one compile per eta here).
        # Like the recurrent input, it is discarded while the neuron is refractory.
        neurons.run_regularly("v += J * poisson(lam_ext) * int(not_refractory)",
                              when="synapses", order=-1, name="external")
        i_e, j_e = fixed_indegree(n_e, n, p.C_E, rng, self_offset=0)
        i_i, j_i = fixed_indegree(n_i, n, p.C_I, rng, self_offset=n_e)
        exc = Synapses(neurons[:n_e], neurons, on_pre="v_post += J * int(not_refractory_post)",
                       delay=p.delay, namespace=ns, name="exc")
        exc.connect(i=i_e, j=j_e)
        inh = Synapses(neurons[n_e:], neurons,
                       on_pre="v_post += -g * J * int(not_refractory_post)",
                       delay=p.delay, namespace=ns, name="inh")
        inh.connect(i=i_i, j=j_i)
        del i_e, j_e, i_i, j_i
        k_e, k_i = p.recorded
        spikes_e = SpikeMonitor(neurons[:k_e], name="spikes_exc")
        spikes_i = SpikeMonitor(neurons[n_e:n_e + k_i], name="spikes_inh")
        pop = PopulationRateMonitor(neurons, name="population_rate")
        net = Network(neurons, exc, inh, spikes_e, spikes_i, pop)
        net.run(p.duration, report=ctx.report, report_period=10 * second, namespace={})

        # recorded neurons renumbered 0..k_e+k_i-1, E first; "neuron_index" maps back
        si = np.concatenate([np.asarray(spikes_e.i[:]), np.asarray(spikes_i.i[:]) + k_e])
        si = si.astype(np.int32)
        st = np.concatenate([np.asarray(spikes_e.t[:] / ms), np.asarray(spikes_i.t[:] / ms)])
        order = np.lexsort((si, st))  # by time, then index
        index = np.concatenate([np.arange(k_e), n_e + np.arange(k_i)]).astype(np.int32)
        return xr.Dataset(
            {
                "spike_neuron": ("spike", si[order],
                                 {"units": "1", "long_name": "recorded neuron (E first, then I)"}),
                "spike_time": ("spike", st[order], {"units": "ms"}),
                "neuron_index": ("neuron", index,
                                 {"units": "1", "long_name": "index in the network (E first)"}),
                "population_rate": ("time", np.asarray(pop.rate[:] / Hz),
                                    {"units": "Hz",
                                     "long_name": "population rate of all neurons (per dt)"}),
                "nu_ext": ((), float(p.nu_ext / Hz),
                           {"units": "Hz", "long_name": "rate of each external train"}),
                "nu_thr": ((), float(nu_threshold(p.theta, p.J, p.C_E, p.tau) / Hz),
                           {"units": "Hz", "long_name": "threshold rate theta/(J C_E tau)"}),
            },
            coords={"time": ("time", np.asarray(pop.t[:] / ms), {"units": "ms"}),
                    "neuron": ("neuron", np.arange(k_e + k_i), {"units": "1"})},
            attrs={"n_exc": n_e, "n_inh": n_i, "C_E": p.C_E, "C_I": p.C_I,
                   "n_rec_exc": k_e, "n_rec_inh": k_i,
                   "transient_ms": float(p.transient / ms),
                   "duration_ms": float(p.duration / ms), "dt_ms": float(p.dt / ms)},
        )

    @staticmethod
    def summarize(data, params):
        return brunel_features(data, params)


def brunel_features(data: xr.Dataset, params: Brunel2000Params) -> dict:
    """:func:`bioSNN.features.population.population_features` of the analysis window
    (``transient`` to ``duration``): single-neuron measures of the recorded neurons,
    population measures of all (from the population rate), plus ``nu_ext_Hz``,
    ``nu_thr_Hz``, ``g``, ``eta`` and ``n_spikes`` (recorded)."""
    out = population_features(
        data["spike_neuron"].values, data["spike_time"].values, int(data.attrs["n_rec_exc"]),
        int(data.attrs["n_rec_inh"]), float(params.transient / ms), float(params.duration / ms),
        bin_ms=float(params.rate_bin / ms),
        population=network_counts(data, float(params.transient / ms),
                                  float(params.duration / ms), float(params.rate_bin / ms)))
    out.update({"g": params.g, "eta": params.eta, "nu_ext_Hz": float(data["nu_ext"]),
                "nu_thr_Hz": float(data["nu_thr"]), "n_spikes": int(data.sizes["spike"])})
    return out

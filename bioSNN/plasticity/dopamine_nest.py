r"""Dopamine modulation as NEST's ``stdp_dopamine_synapse`` defines it (Potjans et al. 2010).

The same three-factor idea as :class:`~bioSNN.plasticity.DopamineModulation`
(Izhikevich 2007), in NEST's formulation: a dopamine trace ``n`` (a rate, raised by
``1/tau_n`` per dopamine spike), a baseline ``b`` subtracted from it, and
:math:`\dot w = c\,(n - b)` integrated exactly. Equations, update order and the
measured parity with NEST 3.10 are in ``docs/plasticity.md`` ("Dopamine rule and NEST").

References
----------
.. [1] Potjans, W., Morrison, A. & Diesmann, M. (2010). Frontiers in Computational
   Neuroscience 4, 141. doi:10.3389/fncom.2010.00141
.. [2] Izhikevich, E. M. (2007). Cerebral Cortex 17, 2443-2452. doi:10.1093/cercor/bhl152
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Hz, NeuronGroup, Quantity, Synapses, linked_var, ms
from brian2.units.fundamentalunits import get_dimensions

from ._checks import check_time
from .modulation import Modulation
from .weights import WeightDependence

__all__ = ["NESTDopamineModulation"]


@dataclass(frozen=True)
class NESTDopamineModulation(Modulation):
    r"""Eligibility ``c`` times dopamine ``n`` minus baseline ``b``, as in NEST.

    Parameters
    ----------
    tau_c : Quantity (time)
        Decay time constant of the eligibility trace ``c``. Default 1000 ms
        (NEST's default).
    tau_n : Quantity (time)
        Decay time constant of the dopamine trace ``n``. Default 200 ms.
    b : Quantity (1/time), >= 0
        Dopamine baseline. Default 0 Hz. (NEST's ``b`` is in 1/ms: ``b_nest = b / kHz``.)

    Notes
    -----
    Use it with :class:`~bioSNN.plasticity.STDPTiming` (NEST's all-to-all pair
    traces: ``A_plus``, ``A_minus``, ``tau_plus``, ``tau_minus``) and
    :class:`~bioSNN.plasticity.WeightBounds` (``Wmin``, ``Wmax``). The timing terms
    go to ``c`` unclipped; ``n`` lives in a one-neuron group (:meth:`dopamine_group`)
    fed by dopamine spikes (:meth:`dopamine_synapses`):

    .. math::

        \dot c = -\frac{c}{\tau_c} + \sum \Delta_{STDP}\,\delta(t - t_{spike}), \qquad
        \dot n = -\frac{n}{\tau_n} + \frac{1}{\tau_n} \sum \delta(t - t_{DA}), \qquad
        \dot w = c\,(n - b).

    ``c`` and ``n`` are stored with the time of their last change and decayed exactly.
    At the end of every time step (``when='end'``, after the step's pre, post and
    dopamine events), the weight advances over the coming step :math:`[t, t+\Delta t]`
    by the exact integral, through the weight dependence (additive: clipping),

    .. math::

        \Delta w = c(t)\left[n(t)\,\tau_s \left(1 - e^{-\Delta t/\tau_s}\right)
            - b\,\tau_c\left(1 - e^{-\Delta t/\tau_c}\right)\right], \qquad
        \tau_s = \left(\frac{1}{\tau_c} + \frac{1}{\tau_n}\right)^{-1},

    which is NEST's ``update_weight_``. Without a bound reached this is the
    continuous-time solution, whatever the step; the weights are clipped once per
    step (NEST: at every event and every volume-transmitter delivery, i.e. every step
    when ``min_delay * deliver_interval`` is one step).
    """

    tau_c: Quantity = field(default_factory=lambda: 1000 * ms)
    tau_n: Quantity = field(default_factory=lambda: 200 * ms)
    b: Quantity = field(default_factory=lambda: 0 * Hz)

    def __hash__(self):
        return hash((type(self).__name__, float(self.tau_c), float(self.tau_n), float(self.b)))

    def __post_init__(self):
        for name in ("tau_c", "tau_n"):
            object.__setattr__(self, name, check_time(name, getattr(self, name)))
        b = self.b
        if not isinstance(b, Quantity) or get_dimensions(b) is not Hz.dim:
            raise TypeError(f"b must be a Brian2 rate Quantity such as 0*Hz, got {b!r}")
        if np.size(b) != 1 or not (np.isfinite(float(b)) and float(b) >= 0):
            raise ValueError(f"b must be a finite scalar >= 0 Hz, got {b!r}")
        object.__setattr__(self, "b", Quantity(float(b), dim=Hz.dim))

    #: Synapse model lines: ``c`` and the dopamine trace linked from the dopamine group.
    model = ("dc/dt = -c / tau_c : 1 (event-driven)\n"
             "da_index : integer (constant)\n"
             "n_da : Hz (linked)\n"
             "t_da : second (linked)\n")

    #: Model of the dopamine group: ``n`` at the time ``t_n`` of its last dopamine spike.
    dopamine_model = "n : Hz\nt_n : second\n"
    #: Statement of one dopamine spike (NEST's ``update_dopamine_``).
    dopamine_spike = "n = n * exp(-(t - t_n) / tau_n) + 1 / tau_n\nt_n = t"

    def potentiate(self, term: str, weights: WeightDependence) -> str:
        return f"c += {term}"

    def depress(self, term: str, weights: WeightDependence) -> str:
        return f"c -= {term}"

    def weight_delta(self) -> str:
        """Expression of the weight change over the coming step (before the weight dependence)."""
        return ("-c * exp(-(t - lastupdate) / tau_c) * ("
                "n_da * exp(-(t - t_da) / tau_n) * tau_s * expm1(-dt / tau_s)"
                " - b_da * tau_c * expm1(-dt / tau_c))")

    def weight_update(self, weights: WeightDependence) -> str:
        """Statement of one step's weight update, through the weight dependence ``weights``."""
        return weights.update(self.weight_delta())

    def namespace(self) -> dict[str, Any]:
        return {"tau_c": self.tau_c, "tau_n": self.tau_n, "b_da": self.b,
                "tau_s": 1 / (1 / self.tau_c + 1 / self.tau_n)}

    def dopamine_namespace(self) -> dict[str, Any]:
        """Constants of :attr:`dopamine_spike`."""
        return {"tau_n": self.tau_n}

    def dopamine_group(self, *, name: str = "dopamine_nest") -> NeuronGroup:
        """The one-neuron group holding ``n`` (no state update: ``n`` is decayed on use)."""
        return NeuronGroup(1, self.dopamine_model, name=name)

    def dopamine_synapses(self, source, dopamine, *, delay: Quantity | None = None,
                          name: str = "dopamine_spikes") -> Synapses:
        """Every spike of ``source`` (NEST: a neuron connected to the volume transmitter)
        raises ``n`` of ``dopamine`` by ``1/tau_n``. Returned connected; ``delay``
        (optional) is the connection's delay (NEST: the delay to the volume transmitter)."""
        syn = Synapses(source, dopamine, on_pre=self.dopamine_spike,
                       namespace=self.dopamine_namespace(), name=name)
        syn.connect(i=np.arange(len(source)), j=np.zeros(len(source), dtype=int))
        if delay is not None:
            syn.delay = check_time("delay", delay)
        return syn

    def add_weight_update(self, synapses, dopamine, *, name: str | None = None):
        """Link ``synapses`` to the dopamine group and add the per-step weight update.

        ``synapses`` must come from :func:`~bioSNN.plasticity.make_plastic_synapses`
        with a rule using this part, and be connected; the weight dependence is the
        rule's. Returns the operation (``when='end'``, every step of the synapses' clock).
        """
        rule = getattr(synapses, "plasticity_rule", None)
        if getattr(rule, "modulation", None) != self:
            raise ValueError("synapses must come from make_plastic_synapses with this "
                             "NESTDopamineModulation")
        if "n" not in getattr(dopamine, "variables", {}) or "t_n" not in dopamine.variables:
            raise ValueError("dopamine must be the group of dopamine_group()")
        synapses.da_index = 0
        synapses.n_da = linked_var(dopamine, "n", index="da_index")
        synapses.t_da = linked_var(dopamine, "t_n", index="da_index")
        return synapses.run_regularly(self.weight_update(rule.bounds), when="end", name=name)


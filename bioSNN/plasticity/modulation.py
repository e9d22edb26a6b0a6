r"""Modulation: whether timing terms change the weight at once or via an eligibility trace.

:class:`NoModulation` passes the timing terms to the weight dependence (plain
STDP); :class:`RewardModulation` accumulates them in an event-driven
eligibility trace ``c`` that a later scalar reward turns into a weight change
(R-STDP; Izhikevich 2007; Florian 2007; Frémaux & Gerstner 2016);
:class:`DopamineModulation` multiplies the eligibility trace by a decaying
dopamine concentration ``d`` raised by reward events (Izhikevich 2007).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import NeuronGroup, Quantity, Synapses, second
from brian2.units.fundamentalunits import get_dimensions

from ._checks import check_number, check_time, hash_of
from .weights import WeightDependence

__all__ = ["Modulation", "NoModulation", "RewardModulation", "DopamineModulation"]


class Modulation(ABC):
    """Interface of a modulation (subclass it to add your own).

    It receives each timing term (a non-negative Brian2 expression) with the
    rule's weight dependence and returns the statement to run in its place.
    """

    #: Brian2 model lines of the modulation's own variables.
    model: str = ""

    @abstractmethod
    def potentiate(self, term: str, weights: WeightDependence) -> str:
        """Statement for a potentiating timing term."""

    @abstractmethod
    def depress(self, term: str, weights: WeightDependence) -> str:
        """Statement for a depressing timing term."""

    @abstractmethod
    def namespace(self) -> dict[str, Any]:
        """Constants used by :attr:`model` and the statements."""


@dataclass(frozen=True)
class NoModulation(Modulation):
    """No modulation: timing terms change ``w`` at once through the weight dependence.

    ``STDPRule(modulation=None)`` means the same.
    """


    def potentiate(self, term: str, weights: WeightDependence) -> str:
        return weights.potentiate(term)

    def depress(self, term: str, weights: WeightDependence) -> str:
        return weights.depress(term)

    def namespace(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class RewardModulation(Modulation):
    r"""Reward modulation: STDP timing terms go to an eligibility trace ``c``.

    Parameters
    ----------
    tau_c : Quantity (time)
        Decay time constant of the eligibility trace. Default 1 s
        (Izhikevich, 2007).
    eta : float, unit-less, >= 0
        Learning rate turning reward x eligibility into weight. Default 0.01.
    reward_correct : float, unit-less
        Reward for a correct trial (convention for protocols). Default +1.0.
    reward_incorrect : float, unit-less
        Reward for an incorrect trial. Default -0.2.

    Notes
    -----
    The signed timing term ``Delta`` is added to ``c`` instead of ``w``; ``c``
    decays (event-driven, exactly) and is not clipped:

    .. math::

        \frac{dc}{dt} = -\frac{c}{\tau_c}, \qquad c \mathrel{+}= \Delta
        \text{ at each pre/post spike.}

    A reward ``r`` delivered at time ``t_r`` changes the weight once, through
    the weight dependence (additive: plain clipping),

    .. math:: w \leftarrow \mathrm{clip}(w + \eta\, r\, c(t_r), w_{min}, w_{max}),

    with ``c(t_r)`` the trace decayed to ``t_r``. A reward does not reset
    ``c``: what is left of it still counts for later rewards, as with the
    dopamine signal of Izhikevich (2007). A distal reward (delivered long after
    the pairing) simply sees a smaller ``c(t_r)``. ``reward_correct`` and
    ``reward_incorrect`` do not enter the equations; they are in the namespace
    so that in-network reward code can use them by name.
    """

    tau_c: Quantity = field(default_factory=lambda: 1 * second)
    eta: float = 0.01
    reward_correct: float = 1.0
    reward_incorrect: float = -0.2

    __hash__ = hash_of

    def __post_init__(self):
        object.__setattr__(self, "tau_c", check_time("tau_c", self.tau_c))
        object.__setattr__(self, "eta", check_number("eta", self.eta, minimum=0))
        for name in ("reward_correct", "reward_incorrect"):
            object.__setattr__(self, name, check_number(name, getattr(self, name)))

    model = "dc/dt = -c / tau_c : 1 (event-driven)\nreward : 1 (shared)\n"

    def accumulate(self, delta: str) -> str:
        """Brian2 statement adding the signed timing term ``delta`` to ``c``."""
        return f"c += {delta}"

    def potentiate(self, term: str, weights: WeightDependence) -> str:
        return f"c += {term}"

    def depress(self, term: str, weights: WeightDependence) -> str:
        return f"c -= {term}"

    def reward_delta(self, reward: str) -> str:
        """Expression of the weight change for the reward expression ``reward``."""
        return f"eta * ({reward}) * c * exp(-(t - lastupdate) / tau_c)"

    def namespace(self) -> dict[str, Any]:
        return {
            "tau_c": self.tau_c,
            "eta": self.eta,
            "reward_correct": self.reward_correct,
            "reward_incorrect": self.reward_incorrect,
        }


@dataclass(frozen=True)
class DopamineModulation(Modulation):
    r"""Dopamine modulation (Izhikevich 2007): eligibility ``c`` times dopamine ``d``.

    Parameters
    ----------
    tau_c : Quantity (time)
        Decay time constant of the eligibility trace ``c``. Default 1 s.
    tau_d : Quantity (time)
        Decay time constant of the dopamine concentration ``d``. Default 200 ms.
    eta : Quantity (1/time), >= 0
        Learning rate of :math:`\dot w = \eta\, c\, d`. Default 1/s.
    da_pulse : float, unit-less, >= 0
        Dopamine added to ``d`` by one reward event. Default 0.5.
    d_tonic : float, unit-less, >= 0
        Tonic dopamine level added to ``d`` in the weight change. Default 0.01.
    update_period : Quantity (time)
        The weights integrate :math:`c\,d` every ``update_period`` (a whole
        number of time steps). Default 1 ms (the paper's weight update).
    dopamine_variable : str
        Name of the variable of the *postsynaptic* group that holds ``d``
        (the synapses read ``<name>_post``). Default ``"dopa"`` (``d`` is the
        reset parameter of Izhikevich neurons).

    Notes
    -----
    ``c`` lives on each synapse and is event-driven (exact decay); the STDP
    timing terms go to it unclipped. ``d`` is one global variable in a
    one-neuron group (:meth:`dopamine_group`) that each reward event raises by
    ``da_pulse``; :meth:`dopamine_broadcast` copies it to every postsynaptic
    neuron each time step.

    .. math::

        \dot c = -\frac{c}{\tau_c} + \sum \Delta_{STDP}\,\delta(t - t_{spike}), \qquad
        \dot d = -\frac{d}{\tau_d} + \mathrm{da\_pulse} \sum \delta(t - t_{reward}), \qquad
        \dot w = \eta\, c\, (d_{tonic} + d).

    The weight is updated every ``update_period`` :math:`P` at the start of a
    time step, with the exact integral over the coming period of the two
    exponentials (no spike or pulse assumed inside it), through the weight
    dependence (additive: clipping),

    .. math::

        \Delta w = \eta\, c(t) \left[d_{tonic}\, \tau_c (1 - e^{-P/\tau_c})
            + d(t)\, \tau_{cd} (1 - e^{-P/\tau_{cd}})\right], \qquad
        \tau_{cd} = (1/\tau_c + 1/\tau_d)^{-1},

    with ``c(t)`` the trace decayed to ``t`` (events of the step at ``t`` not
    yet included) and ``d(t)`` the broadcast value, which is the dopamine of
    the previous time step (see ``docs/plasticity.md``, order of updates).
    The Brian2 names of the constants (``eta_da``, ``P``, ``tau_cd``,
    ``d_tonic``) are those of the distal-reward protocol's former hand-written
    code, so that its generated code, and thus its results, are unchanged.
    """

    tau_c: Quantity = field(default_factory=lambda: 1 * second)
    tau_d: Quantity = field(default_factory=lambda: 0.2 * second)
    eta: Quantity = field(default_factory=lambda: 1 / second)
    da_pulse: float = 0.5
    d_tonic: float = 0.01
    update_period: Quantity = field(default_factory=lambda: 0.001 * second)
    dopamine_variable: str = "dopa"

    def __hash__(self):
        return hash((type(self).__name__, float(self.tau_c), float(self.tau_d), float(self.eta),
                     self.da_pulse, self.d_tonic, float(self.update_period),
                     self.dopamine_variable))

    def __post_init__(self):
        for name in ("tau_c", "tau_d", "update_period"):
            object.__setattr__(self, name, check_time(name, getattr(self, name)))
        eta = self.eta
        if not isinstance(eta, Quantity) or get_dimensions(eta) is not (1 / second).dim:
            raise TypeError(f"eta must be a Brian2 rate Quantity such as 1/second, got {eta!r}")
        eta = Quantity(check_number("eta", float(eta), minimum=0), dim=(1 / second).dim)
        object.__setattr__(self, "eta", eta)
        for name in ("da_pulse", "d_tonic"):
            object.__setattr__(self, name, check_number(name, getattr(self, name), minimum=0))
        if not (isinstance(self.dopamine_variable, str) and self.dopamine_variable.isidentifier()):
            raise ValueError(f"dopamine_variable must be a Brian2 name, got {self.dopamine_variable!r}")

    model = "dc/dt = -c / tau_c : 1 (event-driven)\n"

    #: Brian2 model line of the dopamine group (see :meth:`dopamine_group`).
    dopamine_model = "dd/dt = -d / tau_d : 1\n"
    #: Statement of one reward event, run in the dopamine group.
    pulse = "d += da_pulse"

    def potentiate(self, term: str, weights: WeightDependence) -> str:
        return f"c += {term}"

    def depress(self, term: str, weights: WeightDependence) -> str:
        return f"c -= {term}"

    def weight_delta(self) -> str:
        """Expression of the weight change of one update period (before the weight dependence)."""
        dopa = f"{self.dopamine_variable}_post"
        return (f"c * exp(-(t - lastupdate) / tau_c) * (d_tonic * tau_c * (1 - exp(-P / tau_c))"
                f" + {dopa} * tau_cd * (1 - exp(-P / tau_cd))) * eta_da")

    def weight_update(self, weights: WeightDependence) -> str:
        """Statement of one weight update, through the weight dependence ``weights``."""
        return weights.update(self.weight_delta())

    def namespace(self) -> dict[str, Any]:
        return {
            "tau_c": self.tau_c,
            "d_tonic": self.d_tonic,
            "P": self.update_period,
            "eta_da": self.eta,
            "tau_cd": 1 / (1 / self.tau_c + 1 / self.tau_d),
        }

    def dopamine_namespace(self) -> dict[str, Any]:
        """Constants of :attr:`dopamine_model` and :attr:`pulse`."""
        return {"tau_d": self.tau_d, "da_pulse": self.da_pulse}

    def dopamine_group(self, *, model_extra: str = "", threshold: str | None = None,
                       reset_extra: str = "", namespace_extra: dict[str, Any] | None = None,
                       name: str = "dopamine") -> NeuronGroup:
        """The one-neuron group holding ``d``; each of its "spikes" is a reward event.

        Parameters
        ----------
        model_extra : str
            Further model lines (e.g. the time of a pending reward).
        threshold : str, optional
            Condition of a reward event; its reset runs :attr:`pulse` and then
            ``reset_extra``. ``None``: no events (raise ``d`` from Python).
        reset_extra : str
            Statements after the pulse (e.g. clear the pending reward).
        namespace_extra : dict, optional
            Further constants of ``model_extra``, ``threshold``, ``reset_extra``.
        name : str
            Name of the group.
        """
        reset = self.pulse + (f"\n{reset_extra}" if reset_extra else "")
        return NeuronGroup(1, self.dopamine_model + model_extra, threshold=threshold,
                           reset=reset if threshold is not None else None, method="exact",
                           namespace={**self.dopamine_namespace(), **(namespace_extra or {})},
                           name=name)

    def dopamine_broadcast(self, dopamine, target, *, name: str = "dopamine_broadcast") -> Synapses:
        """Copy ``d`` to ``<dopamine_variable>`` of every neuron of ``target`` each step.

        A summed variable over one synapse per target neuron (the target needs
        the model line ``<dopamine_variable> : 1``). It runs in the ``groups``
        slot before both groups' state updates, so it copies ``d`` of the
        previous time step. Returned connected.
        """
        broadcast = Synapses(dopamine, target, f"{self.dopamine_variable}_post = d_pre : 1 (summed)",
                             name=name)
        broadcast.connect(i=np.zeros(len(target), dtype=int), j=np.arange(len(target)))
        return broadcast

    def add_weight_update(self, synapses, *, name: str | None = None):
        """Add the weight update every ``update_period`` (``when='start'``) to ``synapses``.

        ``synapses`` must come from :func:`~bioSNN.plasticity.make_plastic_synapses`
        with a rule using this part; the weight dependence is the rule's.
        Returns the operation.
        """
        rule = getattr(synapses, "plasticity_rule", None)
        if getattr(rule, "modulation", None) != self:
            raise ValueError("synapses must come from make_plastic_synapses with this DopamineModulation")
        return synapses.run_regularly(self.weight_update(rule.bounds), dt=self.update_period,
                                      when="start", name=name)

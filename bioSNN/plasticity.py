r"""Spike-timing-dependent plasticity, composed from named parts.

A plasticity rule is assembled from three independent, immutable parts, in the
spirit of PyNN's ``STDPMechanism`` (timing dependence x weight dependence) and of
the eligibility-trace/dopamine model of Izhikevich (2007):

* :class:`STDPTiming` -- *when* a pre/post pair changes the synapse: pair-based
  STDP with all-to-all pairing through exponential traces (Song et al., 2000;
  Morrison et al., 2008).
* :class:`WeightBounds` -- *how far* the weight may go: hard bounds
  ``[w_min, w_max]`` applied by clipping (additive STDP).
* :class:`RewardModulation` (optional) -- *whether* the timing term changes the
  weight directly (plain STDP) or is first stored in an eligibility trace ``c``
  that a later scalar reward turns into a weight change (R-STDP; Izhikevich,
  2007; Florian, 2007; Fremaux & Gerstner, 2016).

:class:`STDPRule` composes the parts into the ``model``/``on_pre``/``on_post``
code and the namespace of a Brian2 :class:`~brian2.synapses.synapses.Synapses`;
:func:`make_plastic_synapses` builds that object. Rewards are delivered *inside*
one Brian2 run by :func:`add_reward_operation` (a ``run_regularly`` operation at
trial ends), or from Python by :func:`apply_reward` (tests, analysis).

Design notes
------------
* All state (``apre``, ``apost``, ``c``) lives on the synapse and is
  *event-driven*: it is updated only when a pre- or postsynaptic spike reaches
  the synapse, so a rule costs nothing per time step. Traces are not put on the
  neurons because the usual sources (``PoissonGroup``, ``SpikeGeneratorGroup``)
  cannot carry extra state variables, and the per-spike cost of synaptic traces
  is of the same order (spikes x fan-out) as the synaptic effect itself.
* The eligibility trace is event-driven as well. Its stored value is the value
  at the synapse's last event (``lastupdate``); the reward operation decays it
  to the reward time, ``c(t) = c * exp(-(t - lastupdate) / tau_c)``, so no
  per-synapse clock-driven update is needed and the weight update is applied
  once per trial.

References
----------
.. [1] Song, S., Miller, K. D. & Abbott, L. F. (2000). Competitive Hebbian
   learning through spike-timing-dependent synaptic plasticity. Nature
   Neuroscience 3, 919-926. doi:10.1038/78829
.. [2] Morrison, A., Diesmann, M. & Gerstner, W. (2008). Phenomenological models
   of synaptic plasticity based on spike timing. Biological Cybernetics 98,
   459-478. doi:10.1007/s00422-008-0233-1
.. [3] Izhikevich, E. M. (2007). Solving the distal reward problem through
   linkage of STDP and dopamine signaling. Cerebral Cortex 17, 2443-2452.
   doi:10.1093/cercor/bhl152
.. [4] Florian, R. V. (2007). Reinforcement learning through modulation of
   spike-timing-dependent synaptic plasticity. Neural Computation 19,
   1468-1502. doi:10.1162/neco.2007.19.6.1468
.. [5] Fremaux, N. & Gerstner, W. (2016). Neuromodulated spike-timing-dependent
   plasticity, and theory of three-factor learning rules. Frontiers in Neural
   Circuits 9, 85. doi:10.3389/fncir.2015.00085
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from brian2 import Quantity, Synapses, ms, second
from brian2.groups.group import CodeRunner
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

__all__ = [
    "STDPTiming",
    "WeightBounds",
    "RewardModulation",
    "STDPRule",
    "make_plastic_synapses",
    "add_reward_operation",
    "apply_reward",
    "eligibility_at",
    "SynapseCode",
]


# --------------------------------------------------------------------------
# Parameter checks (programming-API errors: TypeError / ValueError)
# --------------------------------------------------------------------------
def _check_time(name: str, value: Any) -> Quantity:
    """Return ``value`` as a scalar time Quantity > 0, or raise naming ``name``."""
    if not isinstance(value, Quantity) or get_dimensions(value) is not second.dim:
        raise TypeError(
            f"{name} must be a Brian2 time Quantity such as 20*ms, got {value!r}"
        )
    if np.size(value) != 1:
        raise ValueError(f"{name} must be a scalar, got {value!r}")
    if not (np.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return Quantity(float(value), dim=second.dim)


def _check_number(name: str, value: Any, *, minimum: float | None = None) -> float:
    """Return ``value`` as a float (unit-less), or raise naming ``name``."""
    if isinstance(value, Quantity) and get_dimensions(value) is not DIMENSIONLESS:
        raise TypeError(f"{name} must be unit-less, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number, Quantity)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if np.size(value) != 1:
        raise ValueError(f"{name} must be a scalar, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return number


def _hash_of(params) -> int:
    """Hash of a parameter dataclass whose fields are numbers or scalar Quantities.

    Brian2 Quantities are unhashable NumPy arrays; hashing their float values
    (SI) keeps the frozen parameter parts usable as dict keys.
    """
    values = tuple(float(getattr(params, f.name)) for f in fields(params))
    return hash((type(params).__name__,) + values)


# --------------------------------------------------------------------------
# The three parts
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class STDPTiming:
    r"""Pair-based STDP timing dependence, all-to-all pairing through traces.

    Parameters
    ----------
    tau_plus : Quantity (time)
        Decay time constant of the presynaptic trace ``apre`` (potentiation
        window). Default 20 ms.
    tau_minus : Quantity (time)
        Decay time constant of the postsynaptic trace ``apost`` (depression
        window). Default 20 ms.
    A_plus : float, unit-less, >= 0
        Potentiation per pre-before-post pair at zero lag. Default 0.01
        (0.005 w_max for w_max = 2, as in Song et al., 2000).
    A_minus : float, unit-less, >= 0
        Depression *magnitude* per post-before-pre pair at zero lag (the change
        is ``-A_minus``). Default 0.0105 (A_minus / A_plus = 1.05, Song et al.).

    Notes
    -----
    Between spikes the traces decay; at spikes they jump (event-driven,
    solved exactly):

    .. math::

        \frac{da_{pre}}{dt} = -\frac{a_{pre}}{\tau_+}, \qquad
        \frac{da_{post}}{dt} = -\frac{a_{post}}{\tau_-}

        \text{pre spike: } a_{pre} \mathrel{+}= A_+,\;
            \Delta = -a_{post} \qquad
        \text{post spike: } a_{post} \mathrel{+}= A_-,\;
            \Delta = +a_{pre}

    ``Delta`` is the *timing term* that :class:`WeightBounds` adds to ``w``
    (plain STDP) or :class:`RewardModulation` adds to ``c`` (R-STDP). Summed
    over a spike train and ignoring the bounds this is the all-to-all pair sum

    .. math::

        \Delta w = \sum_{t_{pre} \le t_{post}} A_+ e^{-(t_{post}-t_{pre})/\tau_+}
                 - \sum_{t_{pre} > t_{post}} A_- e^{-(t_{pre}-t_{post})/\tau_-}.
    """

    tau_plus: Quantity = field(default_factory=lambda: 20 * ms)
    tau_minus: Quantity = field(default_factory=lambda: 20 * ms)
    A_plus: float = 0.01
    A_minus: float = 0.0105

    __hash__ = _hash_of

    def __post_init__(self):
        object.__setattr__(self, "tau_plus", _check_time("tau_plus", self.tau_plus))
        object.__setattr__(self, "tau_minus", _check_time("tau_minus", self.tau_minus))
        object.__setattr__(self, "A_plus", _check_number("A_plus", self.A_plus, minimum=0))
        object.__setattr__(self, "A_minus", _check_number("A_minus", self.A_minus, minimum=0))

    model = (
        "dapre/dt = -apre / tau_plus : 1 (event-driven)\n"
        "dapost/dt = -apost / tau_minus : 1 (event-driven)\n"
    )
    #: Trace update on a presynaptic spike, and the timing term it produces.
    on_pre, delta_pre = "apre += A_plus", "-apost"
    #: Trace update on a postsynaptic spike, and the timing term it produces.
    on_post, delta_post = "apost += A_minus", "apre"

    def namespace(self) -> dict[str, Any]:
        """Constants used by :attr:`model`, :attr:`on_pre` and :attr:`on_post`."""
        return {
            "tau_plus": self.tau_plus,
            "tau_minus": self.tau_minus,
            "A_plus": self.A_plus,
            "A_minus": self.A_minus,
        }


@dataclass(frozen=True)
class WeightBounds:
    r"""Hard weight bounds, applied by clipping after every weight update.

    Parameters
    ----------
    w_min : float, unit-less
        Lower bound. Default 0.0.
    w_max : float, unit-less
        Upper bound, ``> w_min``. Default 2.0.

    Notes
    -----
    Every change of the (unit-less) weight ``w`` is followed by

    .. math:: w \leftarrow \min(\max(w + \Delta, w_{min}), w_{max}).

    Clipping after *every* update (not once at the end) makes the result
    depend on the order of the updates; see :class:`STDPRule` for that order.
    """

    w_min: float = 0.0
    w_max: float = 2.0

    __hash__ = _hash_of

    def __post_init__(self):
        object.__setattr__(self, "w_min", _check_number("w_min", self.w_min))
        object.__setattr__(self, "w_max", _check_number("w_max", self.w_max))
        if not self.w_min < self.w_max:
            raise ValueError(
                f"w_min must be < w_max, got w_min={self.w_min}, w_max={self.w_max}"
            )

    def update(self, delta: str) -> str:
        """Brian2 statement adding the expression ``delta`` to ``w`` and clipping."""
        return f"w = clip(w + {delta}, w_min, w_max)"

    def namespace(self) -> dict[str, Any]:
        return {"w_min": self.w_min, "w_max": self.w_max}


@dataclass(frozen=True)
class RewardModulation:
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
    The timing term ``Delta`` of :class:`STDPTiming` is added to ``c`` instead
    of ``w``; ``c`` decays (event-driven, exactly) and is not clipped:

    .. math::

        \frac{dc}{dt} = -\frac{c}{\tau_c}, \qquad c \mathrel{+}= \Delta
        \text{ at each pre/post spike.}

    A reward ``r`` delivered at time ``t_r`` changes the weight once,

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

    __hash__ = _hash_of

    def __post_init__(self):
        object.__setattr__(self, "tau_c", _check_time("tau_c", self.tau_c))
        object.__setattr__(self, "eta", _check_number("eta", self.eta, minimum=0))
        for name in ("reward_correct", "reward_incorrect"):
            object.__setattr__(self, name, _check_number(name, getattr(self, name)))

    model = "dc/dt = -c / tau_c : 1 (event-driven)\nreward : 1 (shared)\n"

    def accumulate(self, delta: str) -> str:
        """Brian2 statement adding the timing term ``delta`` to ``c``."""
        return f"c += {delta}"

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
class SynapseCode:
    """Brian2 code of a plasticity rule (inputs to :class:`~brian2.Synapses`)."""

    model: str
    on_pre: str
    on_post: str
    namespace: dict[str, Any]


@dataclass(frozen=True)
class STDPRule:
    r"""A plasticity rule: timing dependence + weight bounds (+ modulation).

    Parameters
    ----------
    timing : STDPTiming
        Timing dependence (traces). Default ``STDPTiming()``.
    bounds : WeightBounds
        Weight bounds. Default ``WeightBounds()`` (``[0, 2]``).
    modulation : RewardModulation or None
        ``None`` for plain STDP (timing terms change ``w`` at once); a
        :class:`RewardModulation` for R-STDP (timing terms go to ``c``).

    Notes
    -----
    Synapse state: ``w`` (unit-less), ``apre``, ``apost``, for R-STDP also
    ``c`` and the shared ``reward``; Brian2 adds ``lastupdate`` (time of the
    synapse's last pre or post event). The namespace names are ``tau_plus,
    tau_minus, A_plus, A_minus, w_min, w_max`` and, for R-STDP, ``tau_c, eta,
    reward_correct, reward_incorrect``.

    **Order of updates.** In one time step Brian2 runs the presynaptic pathway
    (``on_pre``) before the postsynaptic one (``on_post``). Within a pathway,
    all traces are first decayed to the current time ``t``, then:

    ``on_pre``
        1. the synaptic effect (e.g. ``v_post += w * w_scale``) with the weight
           *before* this spike's update;
        2. ``apre += A_plus``;
        3. STDP: ``w = clip(w - apost, w_min, w_max)``; R-STDP: ``c -= apost``.

    ``on_post``
        1. ``apost += A_minus``;
        2. STDP: ``w = clip(w + apre, w_min, w_max)``; R-STDP: ``c += apre``.

    Consequences, which the reference tests reproduce exactly:

    * **Simultaneous pre and post spikes** (same time step) count as one
      pre-before-post pair at zero lag: ``+A_plus``, and no depression for
      that pair (``apost`` does not yet contain the new post spike when the
      pre pathway runs).
    * **Clipping** (STDP) happens after every single update, in the order
      above; the eligibility trace ``c`` is never clipped, ``w`` is clipped
      after each reward.
    * A spike at ``t = 0`` behaves like any other (traces start at 0).
    * With a synaptic delay, "pre spike time" means arrival time at the
      synapse.
    """

    timing: STDPTiming = field(default_factory=STDPTiming)
    bounds: WeightBounds = field(default_factory=WeightBounds)
    modulation: RewardModulation | None = None

    def __post_init__(self):
        for name, cls in (("timing", STDPTiming), ("bounds", WeightBounds)):
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"{name} must be a {cls.__name__}, got {getattr(self, name)!r}")
        if self.modulation is not None and not isinstance(self.modulation, RewardModulation):
            raise TypeError(
                f"modulation must be a RewardModulation or None, got {self.modulation!r}"
            )

    def brian_code(self) -> SynapseCode:
        """Compose the parts into Brian2 ``model``, ``on_pre``, ``on_post`` and namespace."""
        t, m = self.timing, self.modulation
        model = "w : 1\n" + t.model
        namespace = {**t.namespace(), **self.bounds.namespace()}
        if m is None:
            target_pre = self.bounds.update(t.delta_pre)
            target_post = self.bounds.update(t.delta_post)
        else:
            model += m.model
            namespace.update(m.namespace())
            target_pre = m.accumulate(t.delta_pre)
            target_post = m.accumulate(t.delta_post)
        return SynapseCode(
            model=model,
            on_pre=f"{t.on_pre}\n{target_pre}\n",
            on_post=f"{t.on_post}\n{target_post}\n",
            namespace=namespace,
        )


# --------------------------------------------------------------------------
# Builders and reward delivery
# --------------------------------------------------------------------------
def make_plastic_synapses(
    source,
    target,
    rule: STDPRule,
    *,
    on_pre_effect: str = "v_post += w * w_scale",
    namespace_extra: dict[str, Any] | None = None,
    model_extra: str = "",
    name: str | None = None,
    dt: Quantity | None = None,
) -> Synapses:
    """Build a Brian2 ``Synapses`` implementing ``rule``, ready to ``connect``.

    Parameters
    ----------
    source, target : Brian2 groups
        Pre- and postsynaptic groups (``NeuronGroup``, ``PoissonGroup``,
        ``SpikeGeneratorGroup``, ...).
    rule : STDPRule
        The plasticity rule.
    on_pre_effect : str
        Brian2 statements run first on each presynaptic spike (the synaptic
        effect on the target), using the weight before this spike's update.
        Its constants (``w_scale`` for the default, e.g. ``0.5*mV``) go in
        ``namespace_extra``. Pass ``""`` for no effect (e.g. when the target is
        a ``SpikeGeneratorGroup``).
    namespace_extra : dict, optional
        Further names used by ``on_pre_effect``; must not redefine the rule's
        names.
    model_extra : str
        Further model lines, e.g. a summed variable
        ``"w_total_post = w : 1 (summed)"`` for weight normalisation.
    name : str, optional
        Name of the ``Synapses`` object.
    dt : Quantity (time), optional
        Clock of the ``Synapses`` object (default: Brian2's ``defaultclock``).

    Returns
    -------
    Synapses
        Not yet connected; call ``connect`` and set ``w``. The rule is kept as
        the attribute ``plasticity_rule``.

    Raises
    ------
    TypeError
        If ``rule`` is not an :class:`STDPRule`.
    ValueError
        If ``namespace_extra`` redefines a name of the rule.
    """
    if not isinstance(rule, STDPRule):
        raise TypeError(f"rule must be an STDPRule, got {rule!r}")
    code = rule.brian_code()
    extra = dict(namespace_extra or {})
    clash = sorted(set(extra) & set(code.namespace))
    if clash:
        raise ValueError(f"namespace_extra redefines names of the plasticity rule: {clash}")
    kwargs = {} if dt is None else {"dt": _check_time("dt", dt)}
    synapses = Synapses(
        source,
        target,
        model=code.model + (f"\n{model_extra}\n" if model_extra else ""),
        on_pre=f"{on_pre_effect}\n{code.on_pre}" if on_pre_effect else code.on_pre,
        on_post=code.on_post,
        namespace={**code.namespace, **extra},
        name=name or "plastic_synapses*",
        **kwargs,
    )
    synapses.add_attribute("plasticity_rule")
    synapses.plasticity_rule = rule
    return synapses


def _modulation_of(synapses) -> tuple[STDPRule, RewardModulation]:
    rule = getattr(synapses, "plasticity_rule", None)
    if not isinstance(rule, STDPRule):
        raise TypeError("synapses must come from make_plastic_synapses")
    if rule.modulation is None:
        raise ValueError("the synapses' rule has no RewardModulation (plain STDP)")
    return rule, rule.modulation


def add_reward_operation(
    synapses,
    period: Quantity,
    *,
    reward: str = "reward",
    when: str = "start",
    order: int = 0,
    name: str | None = None,
    consume: bool = False,
) -> CodeRunner:
    r"""Deliver a reward every ``period`` inside a Brian2 run (R-STDP).

    Adds to ``synapses`` (so it runs whenever they are in a ``Network``) an
    operation executed at ``t = 0, period, 2 period, ...``:

    .. math::

        w \leftarrow \mathrm{clip}\left(w + \eta\, r\,
            c\, e^{-(t - t_{last})/\tau_c},\; w_{min}, w_{max}\right)

    where ``r`` is the Brian2 expression ``reward``, evaluated per synapse at
    that time, and ``t_last`` is ``lastupdate``.

    Parameters
    ----------
    synapses : Synapses
        Made by :func:`make_plastic_synapses` with a :class:`RewardModulation`.
    period : Quantity (time)
        Trial duration; must be a whole number of the synapses' time steps.
    reward : str
        Brian2 expression of the reward, in the synapses' context: the default
        is the shared variable ``reward`` (set by another operation or from
        Python); a ``TimedArray`` in ``namespace_extra`` (``"r_of_t(t)"``) or a
        postsynaptic variable (``"reward_post"``) also work. Zero means no
        change.
    when : str
        Scheduling slot. With the default ``'start'``, the operation at time
        ``t`` sees the pairings of all spikes *before* ``t`` and none at ``t``:
        the reward at ``k * period`` closes trial ``k - 1``. The reward for the
        last trial of a run of ``n * period`` therefore needs the run to last
        one more time step (or a call to :func:`apply_reward` after the run).
    order : int
        Order within the slot (to run after an operation that sets ``reward``).
    name : str, optional
        Name of the operation.
    consume : bool
        If true, set ``c = 0`` after each reward: every reward then sees only
        the pairings since the previous one (trial-based protocols); the default
        keeps the Izhikevich (2007) behaviour (``c`` keeps decaying).

    Returns
    -------
    CodeRunner
        The operation (already part of ``synapses``; keep it to deactivate it).
    """
    _, modulation = _modulation_of(synapses)
    period = _check_time("period", period)
    steps = float(period / synapses.clock.dt)
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise ValueError(
            f"period must be a whole number of time steps "
            f"(dt = {synapses.clock.dt}), got {period}"
        )
    code = synapses.plasticity_rule.bounds.update(modulation.reward_delta(reward))
    if consume:
        code += "\nc = 0"
    return synapses.run_regularly(code, dt=period, when=when, order=order, name=name)


def eligibility_at(synapses, t: Quantity | None = None) -> np.ndarray:
    r"""Eligibility trace of every synapse decayed to time ``t``.

    Parameters
    ----------
    synapses : Synapses
        Made by :func:`make_plastic_synapses` with a :class:`RewardModulation`.
    t : Quantity (time), optional
        Default: the current time of the synapses' clock (end of the last run).
        Must not precede any synapse's ``lastupdate``.

    Returns
    -------
    numpy.ndarray, shape (n_synapses,), unit-less
        :math:`c\, e^{-(t - t_{last})/\tau_c}`.
    """
    _, modulation = _modulation_of(synapses)
    if t is None:
        t_s = float(synapses.clock.t / second)
    elif isinstance(t, Quantity) and get_dimensions(t) is second.dim:
        t_s = float(t / second)
    else:
        raise TypeError(f"t must be a Brian2 time Quantity, got {t!r}")
    last = np.asarray(synapses.lastupdate[:] / second)
    if np.any(t_s < last):
        raise ValueError("t precedes the last update of some synapses")
    tau_c = float(modulation.tau_c / second)
    return np.asarray(synapses.c[:]) * np.exp(-(t_s - last) / tau_c)


def apply_reward(synapses, reward, t: Quantity | None = None) -> None:
    r"""Apply a reward from Python, between runs (tests and analysis).

    Same update as :func:`add_reward_operation`, done with NumPy on the
    runtime arrays: :math:`w \leftarrow \mathrm{clip}(w + \eta\, r\, c(t),
    w_{min}, w_{max})`. Protocols should deliver rewards in-network instead.

    Parameters
    ----------
    synapses : Synapses
        Made by :func:`make_plastic_synapses` with a :class:`RewardModulation`.
    reward : float or array of shape (n_synapses,), unit-less
        Reward ``r``.
    t : Quantity (time), optional
        Reward time (default: current time of the synapses' clock).
    """
    rule, modulation = _modulation_of(synapses)
    reward = np.asarray(reward, dtype=float)
    c_t = eligibility_at(synapses, t)
    w = np.asarray(synapses.w[:]) + modulation.eta * reward * c_t
    synapses.w[:] = np.clip(w, rule.bounds.w_min, rule.bounds.w_max)

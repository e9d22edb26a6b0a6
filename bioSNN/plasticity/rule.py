r"""A plasticity rule composed of timing, weight and modulation parts, and its Synapses."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brian2 import Quantity, Synapses

from ._checks import check_time
from .modulation import Modulation, NoModulation, RewardModulation
from .timing import STDPTiming, TimingDependence
from .weights import WeightBounds, WeightDependence

__all__ = ["SynapseCode", "STDPRule", "make_plastic_synapses"]


@dataclass(frozen=True)
class SynapseCode:
    """Brian2 code of a plasticity rule (inputs to :class:`~brian2.Synapses`)."""

    model: str
    on_pre: str
    on_post: str
    namespace: dict[str, Any]


def _merge(*parts) -> dict[str, Any]:
    """Union of the parts' namespaces; a name defined by two parts is an error."""
    merged: dict[str, Any] = {}
    for part in parts:
        names = part.namespace()
        clash = sorted(set(names) & set(merged))
        if clash:
            raise ValueError(f"{type(part).__name__} redefines names of another part: {clash}")
        merged.update(names)
    return merged


@dataclass(frozen=True)
class STDPRule:
    r"""A plasticity rule: timing dependence + weight dependence (+ modulation).

    Parameters
    ----------
    timing : TimingDependence
        When spikes change the synapse (traces). Default ``STDPTiming()``
        (all-to-all pairs); also :class:`NearestSymmetricTiming`,
        :class:`NearestPreCentredTiming`, :class:`NearestRestrictedTiming`,
        :class:`TripletTiming`, the inhibitory
        :class:`~bioSNN.plasticity.inhibitory.VogelsSprekelerTiming` or a user subclass.
    bounds : WeightDependence
        The weight dependence and its bounds. Default ``WeightBounds()``
        (additive, ``[0, 2]``); also :class:`MultiplicativeWeights`,
        :class:`AdditivePotentiationMultiplicativeDepression`,
        :class:`GutigWeights`.
    modulation : Modulation or None
        ``None`` (or :class:`NoModulation`) for plain STDP (timing terms change
        ``w`` at once); a :class:`RewardModulation` for R-STDP (timing terms go
        to ``c``).

    Notes
    -----
    Synapse state: ``w`` (unit-less) and the timing part's traces (``apre``,
    ``apost`` for the pair rules; ``r1, r2, o1, o2`` for the triplet rule),
    for R-STDP also ``c`` and the shared ``reward``; Brian2 adds
    ``lastupdate`` (time of the synapse's last pre or post event).

    **Order of updates.** In one time step Brian2 runs the presynaptic pathway
    (``on_pre``) before the postsynaptic one (``on_post``). Within a pathway,
    all traces are first decayed to the current time ``t``, then: on a pre
    spike the synaptic effect (e.g. ``v_post += w * w_scale``) with the weight
    *before* this spike's update, then the timing part's pre code; on a post
    spike the timing part's post code. For the all-to-all pair rule:

    ``on_pre``
        1. the synaptic effect;
        2. ``apre += A_plus``;
        3. STDP: ``w = clip(w - apost, w_min, w_max)``; R-STDP: ``c -= apost``.

    ``on_post``
        1. ``apost += A_minus``;
        2. STDP: ``w = clip(w + apre, w_min, w_max)``; R-STDP: ``c += apre``.

    Consequences, which the reference tests reproduce exactly:

    * **Simultaneous pre and post spikes** (same time step) count as one
      pre-before-post pair at zero lag: ``+A_plus``, and no depression for
      that pair (``apost`` does not yet contain the new post spike when the
      pre pathway runs). The same holds for every timing part.
    * **Clipping** (STDP) happens after every single update, in the order
      above; the eligibility trace ``c`` is never clipped, ``w`` is clipped
      after each reward.
    * A spike at ``t = 0`` behaves like any other (traces start at 0).
    * With a synaptic delay, "pre spike time" means arrival time at the
      synapse.
    """

    timing: TimingDependence = field(default_factory=STDPTiming)
    bounds: WeightDependence = field(default_factory=WeightBounds)
    modulation: Modulation | None = None

    def __post_init__(self):
        for name, cls in (("timing", TimingDependence), ("bounds", WeightDependence)):
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"{name} must be a {cls.__name__}, got {getattr(self, name)!r}")
        if self.modulation is not None and not isinstance(self.modulation, Modulation):
            raise TypeError(
                f"modulation must be a Modulation (e.g. RewardModulation) or None, "
                f"got {self.modulation!r}"
            )

    @property
    def reward_modulation(self) -> RewardModulation | None:
        """The :class:`RewardModulation`, or ``None`` for plain STDP."""
        return self.modulation if isinstance(self.modulation, RewardModulation) else None

    def brian_code(self) -> SynapseCode:
        """Compose the parts into Brian2 ``model``, ``on_pre``, ``on_post`` and namespace."""
        timing, weights = self.timing, self.bounds
        modulation = self.modulation if self.modulation is not None else NoModulation()

        def potentiate(term: str) -> str:
            return modulation.potentiate(term, weights)

        def depress(term: str) -> str:
            return modulation.depress(term, weights)

        return SynapseCode(
            model="w : 1\n" + timing.model + modulation.model,
            on_pre=timing.pre_code(potentiate, depress),
            on_post=timing.post_code(potentiate, depress),
            namespace=_merge(timing, weights, modulation),
        )


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
        Not yet connected; call ``connect`` and set ``w`` (inside the bounds).
        The rule is kept as the attribute ``plasticity_rule``.

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
    kwargs = {} if dt is None else {"dt": check_time("dt", dt)}
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

r"""Timing dependences: *when* pre/post spikes change a synapse.

All traces live on the synapse and are event-driven (decayed exactly to the
current time before the code of a pathway runs). Trace jumps, the terms they
produce and the order of both inside a pathway are in each class's Notes and
in ``docs/plasticity.md``. Pair rules follow Morrison et al. (2008), the
nearest-neighbour schemes NEST's ``stdp_nn_*_synapse`` models; the triplet rule
is Pfister & Gerstner (2006).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from brian2 import Quantity, ms

from ._checks import check_fields, hash_of

__all__ = [
    "TimingDependence",
    "STDPTiming",
    "NearestSymmetricTiming",
    "NearestPreCentredTiming",
    "NearestRestrictedTiming",
    "TripletTiming",
]

#: ``f(term) -> statement``: changes the weight (or eligibility) by the
#: non-negative Brian2 expression ``term``, upwards or downwards.
Change = Callable[[str], str]


class TimingDependence(ABC):
    """Interface of a timing dependence (subclass it to add your own).

    A timing dependence owns its trace variables (:attr:`model`) and writes the
    code of the two pathways. It does not change ``w`` itself: it calls
    ``potentiate(term)`` / ``depress(term)`` with a non-negative expression and
    puts the returned statement where, in its sequence of trace updates, the
    weight (plain STDP) or the eligibility (R-STDP) must change.
    """

    #: Brian2 model lines of the traces (``(event-driven)``).
    model: str

    @abstractmethod
    def pre_code(self, potentiate: Change, depress: Change) -> str:
        """Brian2 statements run on each presynaptic spike (after the synaptic effect)."""

    @abstractmethod
    def post_code(self, potentiate: Change, depress: Change) -> str:
        """Brian2 statements run on each postsynaptic spike."""

    @abstractmethod
    def namespace(self) -> dict[str, Any]:
        """Constants used by :attr:`model` and the pathway code."""


def _signed(delta: str, potentiate: Change, depress: Change) -> str:
    """Statement for the signed timing term ``delta`` (``"-x"`` depresses by ``x``)."""
    delta = delta.strip()
    return depress(delta[1:]) if delta.startswith("-") else potentiate(delta)


@dataclass(frozen=True)
class _PairTiming(TimingDependence):
    """Shared parameters of the pair rules (see :class:`STDPTiming`)."""

    tau_plus: Quantity = field(default_factory=lambda: 20 * ms)
    tau_minus: Quantity = field(default_factory=lambda: 20 * ms)
    A_plus: float = 0.01
    A_minus: float = 0.0105

    __hash__ = hash_of

    def __post_init__(self):
        check_fields(self, times=("tau_plus", "tau_minus"), numbers=("A_plus", "A_minus"),
                     nonnegative=("A_plus", "A_minus"))

    model = (
        "dapre/dt = -apre / tau_plus : 1 (event-driven)\n"
        "dapost/dt = -apost / tau_minus : 1 (event-driven)\n"
    )

    def namespace(self) -> dict[str, Any]:
        return {
            "tau_plus": self.tau_plus,
            "tau_minus": self.tau_minus,
            "A_plus": self.A_plus,
            "A_minus": self.A_minus,
        }


@dataclass(frozen=True)
class STDPTiming(_PairTiming):
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

    ``Delta`` (the class attributes ``delta_pre`` / ``delta_post``) is the
    signed *timing term* that the weight dependence adds to ``w`` (plain STDP)
    or the modulation adds to ``c`` (R-STDP). Summed over a spike train and
    ignoring the bounds this is the all-to-all pair sum

    .. math::

        \Delta w = \sum_{t_{pre} \le t_{post}} A_+ e^{-(t_{post}-t_{pre})/\tau_+}
                 - \sum_{t_{pre} > t_{post}} A_- e^{-(t_{pre}-t_{post})/\tau_-}.
    """

    __hash__ = hash_of

    #: Trace update on a presynaptic spike, and the signed timing term it produces.
    on_pre, delta_pre = "apre += A_plus", "-apost"
    #: Trace update on a postsynaptic spike, and the signed timing term it produces.
    on_post, delta_post = "apost += A_minus", "apre"

    def pre_code(self, potentiate: Change, depress: Change) -> str:
        return f"{self.on_pre}\n{_signed(self.delta_pre, potentiate, depress)}\n"

    def post_code(self, potentiate: Change, depress: Change) -> str:
        return f"{self.on_post}\n{_signed(self.delta_post, potentiate, depress)}\n"


@dataclass(frozen=True)
class NearestSymmetricTiming(_PairTiming):
    r"""Symmetric nearest-neighbour pairing (NEST ``stdp_nn_symm_synapse``).

    Same parameters as :class:`STDPTiming`. Each presynaptic spike is paired
    with the nearest preceding postsynaptic spike (depression), each
    postsynaptic spike with the nearest preceding presynaptic spike
    (potentiation); Morrison et al. (2008), Fig. 7A. The traces are *reset* to
    the amplitude instead of incremented:

    .. math::

        \text{pre: } a_{pre} \leftarrow A_+,\; w \mathrel{-}= f_-(w)\,a_{post}
        \qquad
        \text{post: } a_{post} \leftarrow A_-,\; w \mathrel{+}= f_+(w)\,a_{pre}
    """

    __hash__ = hash_of

    def pre_code(self, potentiate: Change, depress: Change) -> str:
        return f"apre = A_plus\n{depress('apost')}\n"

    def post_code(self, potentiate: Change, depress: Change) -> str:
        return f"apost = A_minus\n{potentiate('apre')}\n"


@dataclass(frozen=True)
class NearestPreCentredTiming(_PairTiming):
    r"""Presynaptic-centred nearest-neighbour pairing (NEST ``stdp_nn_pre_centered_synapse``).

    Same parameters as :class:`STDPTiming`. Each presynaptic spike is paired
    with the nearest preceding and the nearest following postsynaptic spike
    (Morrison et al. 2008, Fig. 7B): a postsynaptic spike potentiates with all
    presynaptic spikes since the previous postsynaptic one and then clears the
    presynaptic trace.

    .. math::

        \text{pre: } a_{pre} \mathrel{+}= A_+,\; w \mathrel{-}= f_-(w)\,a_{post}
        \qquad
        \text{post: } w \mathrel{+}= f_+(w)\,a_{pre},\; a_{pre} \leftarrow 0,\;
        a_{post} \leftarrow A_-
    """

    __hash__ = hash_of

    def pre_code(self, potentiate: Change, depress: Change) -> str:
        return f"apre += A_plus\n{depress('apost')}\n"

    def post_code(self, potentiate: Change, depress: Change) -> str:
        return f"{potentiate('apre')}\napre = 0\napost = A_minus\n"


@dataclass(frozen=True)
class NearestRestrictedTiming(_PairTiming):
    r"""Restricted symmetric nearest-neighbour pairing (NEST ``stdp_nn_restr_synapse``).

    Same parameters as :class:`STDPTiming`. A pre/post pair counts only if the
    two spikes are each other's nearest neighbours (Morrison et al. 2008,
    Fig. 7C): no spike takes part in two potentiating or two depressing pairs.

    .. math::

        \text{pre: } a_{pre} \leftarrow A_+,\; w \mathrel{-}= f_-(w)\,a_{post},\;
        a_{post} \leftarrow 0
        \qquad
        \text{post: } w \mathrel{+}= f_+(w)\,a_{pre},\; a_{pre} \leftarrow 0,\;
        a_{post} \leftarrow A_-
    """

    __hash__ = hash_of

    def pre_code(self, potentiate: Change, depress: Change) -> str:
        return f"apre = A_plus\n{depress('apost')}\napost = 0\n"

    def post_code(self, potentiate: Change, depress: Change) -> str:
        return f"{potentiate('apre')}\napre = 0\napost = A_minus\n"


@dataclass(frozen=True)
class TripletTiming(TimingDependence):
    r"""Triplet STDP of Pfister & Gerstner (2006), all-to-all or nearest-spike.

    Parameters
    ----------
    tau_plus, tau_minus : Quantity (time)
        Pair windows of the presynaptic trace ``r1`` and postsynaptic trace
        ``o1``. Defaults 16.8 ms, 33.7 ms.
    tau_x, tau_y : Quantity (time)
        Triplet windows of the slow traces ``r2`` (pre) and ``o2`` (post).
        Defaults 101 ms, 125 ms.
    A2_plus, A3_plus, A2_minus, A3_minus : float, unit-less, >= 0
        Pair and triplet amplitudes. Defaults: visual cortex, all-to-all, full
        model (Pfister & Gerstner 2006, Table 4; NEST's defaults):
        5e-10, 6.2e-3, 7e-3, 2.3e-4. The *minimal* model sets
        ``A2_plus = A3_minus = 0``.
    nearest_spike : bool
        ``False``: all-to-all interaction (traces jump by 1); ``True``: the
        nearest-spike interaction of the paper (traces are reset to 1).

    Notes
    -----
    Traces (unit-less) decay with their time constants and jump at spikes.
    With :math:`\epsilon` meaning "just before this spike's own jump":

    .. math::

        \text{pre: } w \mathrel{-}= f_-(w)\, o_1 \left(A_2^- + A_3^-\, r_2(t-\epsilon)\right),
        \quad r_1 \to r_1 + 1,\; r_2 \to r_2 + 1

        \text{post: } w \mathrel{+}= f_+(w)\, r_1 \left(A_2^+ + A_3^+\, o_2(t-\epsilon)\right),
        \quad o_1 \to o_1 + 1,\; o_2 \to o_2 + 1

    (nearest-spike: the jumps are ``-> 1``). NEST's ``stdp_triplet_synapse``
    is the all-to-all form with additive weights in ``[0, Wmax]``.
    """

    tau_plus: Quantity = field(default_factory=lambda: 16.8 * ms)
    tau_minus: Quantity = field(default_factory=lambda: 33.7 * ms)
    tau_x: Quantity = field(default_factory=lambda: 101 * ms)
    tau_y: Quantity = field(default_factory=lambda: 125 * ms)
    A2_plus: float = 5e-10
    A3_plus: float = 6.2e-3
    A2_minus: float = 7e-3
    A3_minus: float = 2.3e-4
    nearest_spike: bool = False

    __hash__ = hash_of

    def __post_init__(self):
        amplitudes = ("A2_plus", "A3_plus", "A2_minus", "A3_minus")
        check_fields(self, times=("tau_plus", "tau_minus", "tau_x", "tau_y"),
                     numbers=amplitudes, nonnegative=amplitudes)
        if not isinstance(self.nearest_spike, bool):
            raise TypeError(f"nearest_spike must be a bool, got {self.nearest_spike!r}")

    model = (
        "dr1/dt = -r1 / tau_plus : 1 (event-driven)\n"
        "dr2/dt = -r2 / tau_x : 1 (event-driven)\n"
        "do1/dt = -o1 / tau_minus : 1 (event-driven)\n"
        "do2/dt = -o2 / tau_y : 1 (event-driven)\n"
    )

    def _jump(self, a: str, b: str) -> str:
        op = "=" if self.nearest_spike else "+="
        return f"{a} {op} 1\n{b} {op} 1\n"

    def pre_code(self, potentiate: Change, depress: Change) -> str:
        return f"{depress('o1 * (A2_minus + A3_minus * r2)')}\n{self._jump('r1', 'r2')}"

    def post_code(self, potentiate: Change, depress: Change) -> str:
        return f"{potentiate('r1 * (A2_plus + A3_plus * o2)')}\n{self._jump('o1', 'o2')}"

    def namespace(self) -> dict[str, Any]:
        return {
            "tau_plus": self.tau_plus,
            "tau_minus": self.tau_minus,
            "tau_x": self.tau_x,
            "tau_y": self.tau_y,
            "A2_plus": self.A2_plus,
            "A3_plus": self.A3_plus,
            "A2_minus": self.A2_minus,
            "A3_minus": self.A3_minus,
        }

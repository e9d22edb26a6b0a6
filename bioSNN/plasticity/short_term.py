r"""Short-term plasticity of Tsodyks & Markram: depressing and facilitating synapses.

The tsodyks2 formulation (Tsodyks & Markram 1997; Markram, Wang & Tsodyks 1998;
Tsodyks, Pawelzik & Markram 1998), as NEST's ``tsodyks2_synapse``: a utilisation
``u`` that decays to 0 with ``tau_facil`` and available resources ``x`` that recover
to 1 with ``tau_rec``, both event-driven (exact between spikes). On a presynaptic
spike, in this order:

1. ``u`` and ``x`` are decayed exactly to the spike time;
2. ``u <- U + (1 - U) u`` (``u += U (1 - u)``; ``tau_facil = 0``: ``u <- U``);
3. ``r <- u x``: the release, i.e. the efficacy of this spike (``w * r`` is sent);
4. ``x <- x - r``.

NEST stores the same ``u`` (after step 2) but ``x`` *before* step 4; its first spike
does no update, so NEST's initial ``u = U, x = 1`` is bioSNN's ``u = 0, x = 1``. The
Brian2 example ``frompapers/Tsodyks_Pawelzik_Markram_1998`` writes the same model with
``u`` relaxing to ``U`` (``u_brian = U + (1 - U) u_here`` just before a spike). This is
not a timing/weight/modulation part (it scales the efficacy, not ``w``); see
``docs/plasticity.md`` for composing it with an :class:`~bioSNN.plasticity.STDPRule`.

References
----------
.. [1] Tsodyks, M. V. & Markram, H. (1997). PNAS 94, 719-723. doi:10.1073/pnas.94.2.719
.. [2] Markram, H., Wang, Y. & Tsodyks, M. (1998). PNAS 95, 5323-5328.
   doi:10.1073/pnas.95.9.5323
.. [3] Tsodyks, M., Pawelzik, K. & Markram, H. (1998). Neural Computation 10, 821-835.
   doi:10.1162/089976698300017502
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Hz, Quantity, Synapses, ms, second
from brian2.units.fundamentalunits import get_dimensions

from ._checks import check_number, check_time, hash_of

__all__ = [
    "TsodyksMarkram",
    "make_stp_synapses",
    "tm_regular_train",
    "tm_regular_train_u",
    "tm_steady_state",
]


@dataclass(frozen=True)
class TsodyksMarkram:
    r"""Tsodyks–Markram short-term plasticity (tsodyks2 formulation).

    Parameters
    ----------
    U : float, unit-less, in (0, 1]
        Utilisation increment; the efficacy of the first spike (rested synapse).
        Default 0.5 (NEST's default).
    tau_rec : Quantity (time), > 0
        Recovery time constant of the resources ``x``. Default 800 ms.
    tau_facil : Quantity (time), >= 0
        Decay time constant of the utilisation ``u``; ``0*ms`` switches
        facilitation off (``u = U`` at every spike). Default 0 ms.

    Notes
    -----
    Between spikes :math:`\dot u = -u/\tau_{facil}`, :math:`\dot x = (1-x)/\tau_{rec}`;
    at a spike :math:`u \leftarrow U + (1-U)u`, :math:`r \leftarrow u x`,
    :math:`x \leftarrow x - r`, and the synapse transmits :math:`w\,r`.

    Synapse variables: ``u``, ``x_used`` (``= 1 - x``, event-driven; it starts at
    0 so that a newly connected synapse is rested without any initialisation),
    the subexpression ``x`` and ``r`` (the release of the last spike). Pathway
    code must use ``r`` or ``1 - x_used``, not ``x``: Brian2 evaluates a
    subexpression in ``on_pre`` *before* the event-driven decay.
    """

    U: float = 0.5
    tau_rec: Quantity = field(default_factory=lambda: 800 * ms)
    tau_facil: Quantity = field(default_factory=lambda: 0 * ms)

    __hash__ = hash_of

    def __post_init__(self):
        U = check_number("U", self.U, minimum=0)
        if not 0 < U <= 1:
            raise ValueError(f"U must be in (0, 1], got {self.U!r}")
        object.__setattr__(self, "U", U)
        object.__setattr__(self, "tau_rec", check_time("tau_rec", self.tau_rec))
        tf = self.tau_facil
        is_time = (isinstance(tf, Quantity) and get_dimensions(tf) is second.dim
                   and np.size(tf) == 1)
        is_zero = is_time and float(tf) == 0
        if is_time and float(tf) < 0:
            raise ValueError(f"tau_facil must be >= 0 (0*ms: no facilitation), got {tf!r}")
        object.__setattr__(self, "tau_facil", 0 * ms if is_zero else check_time("tau_facil", tf))

    @classmethod
    def depressing(cls) -> "TsodyksMarkram":
        """Depressing synapse: U 0.67, tau_rec 450 ms, no facilitation (NEST's
        ``evaluate_tsodyks2_synapse`` example, after Tsodyks & Markram 1997)."""
        return cls(U=0.67, tau_rec=450 * ms, tau_facil=0 * ms)

    @classmethod
    def facilitating(cls) -> "TsodyksMarkram":
        """Facilitating synapse: U 0.1, tau_rec 100 ms, tau_facil 1000 ms (same
        example, after Markram et al. 1998)."""
        return cls(U=0.1, tau_rec=100 * ms, tau_facil=1000 * ms)

    @property
    def facilitates(self) -> bool:
        """Whether ``u`` carries over between spikes (``tau_facil > 0``)."""
        return float(self.tau_facil) > 0

    @property
    def model(self) -> str:
        """Brian2 model lines of the synapse variables."""
        u = "du/dt = -u / tau_facil : 1 (event-driven)\n" if self.facilitates else "u : 1\n"
        return (u + "dx_used/dt = -x_used / tau_rec : 1 (event-driven)\n"
                "x = 1 - x_used : 1\n"
                "r : 1\n")

    @property
    def on_pre(self) -> str:
        """Brian2 statements of one presynaptic spike (steps 2-4); ``r`` is its efficacy."""
        u = "u = U + (1 - U) * u\n" if self.facilitates else "u = U\n"
        return u + "r = u * (1 - x_used)\nx_used += r\n"

    def on_pre_effect(self, effect: str = "v_post += w * r * w_scale") -> str:
        """:attr:`on_pre` followed by ``effect`` (for ``make_plastic_synapses``)."""
        return self.on_pre + effect

    def namespace(self) -> dict[str, Any]:
        names = {"U": self.U, "tau_rec": self.tau_rec}
        if self.facilitates:
            names["tau_facil"] = self.tau_facil
        return names


def make_stp_synapses(source, target, stp: TsodyksMarkram, *,
                      on_pre_effect: str = "v_post += w * r * w_scale",
                      namespace_extra: dict[str, Any] | None = None,
                      model_extra: str = "", name: str | None = None,
                      dt: Quantity | None = None) -> Synapses:
    """Brian2 ``Synapses`` with Tsodyks–Markram short-term plasticity, ready to ``connect``.

    Parameters
    ----------
    source, target : Brian2 groups
    stp : TsodyksMarkram
    on_pre_effect : str
        Statements run after the STP update of each presynaptic spike; ``r`` is
        the release (efficacy) of the spike, ``w`` (unit-less) the absolute
        strength. Its constants (``w_scale``) go in ``namespace_extra``; ``""``
        for none.
    namespace_extra : dict, optional
        Further names of ``on_pre_effect`` / ``model_extra``; must not redefine
        ``U``, ``tau_rec``, ``tau_facil``.
    model_extra : str
        Further model lines.
    name : str, optional
    dt : Quantity (time), optional

    Returns
    -------
    Synapses
        Unconnected, with the model ``w : 1`` plus :attr:`TsodyksMarkram.model`;
        rested synapses need no initialisation. The part is kept as the
        attribute ``short_term_plasticity``.
    """
    if not isinstance(stp, TsodyksMarkram):
        raise TypeError(f"stp must be a TsodyksMarkram, got {stp!r}")
    extra = dict(namespace_extra or {})
    clash = sorted(set(extra) & set(stp.namespace()))
    if clash:
        raise ValueError(f"namespace_extra redefines names of the short-term plasticity: {clash}")
    kwargs = {} if dt is None else {"dt": check_time("dt", dt)}
    synapses = Synapses(
        source, target,
        model="w : 1\n" + stp.model + (f"\n{model_extra}\n" if model_extra else ""),
        on_pre=stp.on_pre_effect(on_pre_effect) if on_pre_effect else stp.on_pre,
        namespace={**stp.namespace(), **extra},
        name=name or "stp_synapses*",
        **kwargs,
    )
    synapses.add_attribute("short_term_plasticity")
    synapses.short_term_plasticity = stp
    return synapses


# --------------------------------------------------------------------------
# Analytic results for a regular train (references for the tests)
# --------------------------------------------------------------------------
def _check_n(n) -> int:
    if isinstance(n, bool) or not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return int(n)


def _decays(stp: TsodyksMarkram, rate) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(rate, Quantity) or get_dimensions(rate) is not Hz.dim:
        raise TypeError(f"rate must be a Brian2 frequency Quantity such as 20*Hz, got {rate!r}")
    f = np.asarray(rate / Hz, dtype=float)
    if not np.all(np.isfinite(f) & (f > 0)):
        raise ValueError(f"rate must be finite and > 0, got {rate!r}")
    isi = 1.0 / f
    e_rec = np.exp(-isi / float(stp.tau_rec))
    e_fac = np.exp(-isi / float(stp.tau_facil)) if stp.facilitates else np.zeros_like(isi)
    return e_rec, e_fac


def tm_regular_train(stp: TsodyksMarkram, rate: Quantity, n: int):
    r"""``(u_n, x_n, efficacy_n)`` of the first ``n`` spikes of a regular train (scalar
    ``rate``), starting rested.

    The recursion of NEST's ``tsodyks2_synapse`` (Tsodyks et al. 1998) with
    :math:`E_r = e^{-\Delta/\tau_{rec}}`, :math:`E_f = e^{-\Delta/\tau_{facil}}`,
    :math:`\Delta = 1/f`, :math:`u_1 = U`, :math:`x_1 = 1`:

    .. math::

        u_{n+1} = U + (1-U)\,u_n E_f, \qquad
        x_{n+1} = 1 + (x_n - u_n x_n - 1)\,E_r, \qquad \mathrm{eff}_n = u_n x_n,

    ``u_n`` after the spike's jump, ``x_n`` before its release. Arrays of shape ``(n,)``.
    """
    n = _check_n(n)
    if np.size(rate) != 1:
        raise ValueError(f"rate must be a scalar, got {rate!r}")
    e_rec, e_fac = (float(v) for v in _decays(stp, rate))
    u, x = np.empty(n), np.empty(n)
    u[0], x[0] = stp.U, 1.0
    for k in range(1, n):
        x[k] = 1.0 + (x[k - 1] - x[k - 1] * u[k - 1] - 1.0) * e_rec
        u[k] = stp.U + u[k - 1] * (1.0 - stp.U) * e_fac
    return u, x, u * x


def tm_regular_train_u(stp: TsodyksMarkram, rate: Quantity, n: int) -> np.ndarray:
    r"""Closed form of ``u_n`` (n = 1..n) for a regular train at a scalar ``rate``:
    :math:`u_n = U\,(1-q^n)/(1-q)`, :math:`q = (1-U)\,e^{-\Delta/\tau_{facil}}`."""
    n = _check_n(n)
    if np.size(rate) != 1:
        raise ValueError(f"rate must be a scalar, got {rate!r}")
    _, e_fac = _decays(stp, rate)
    q = (1.0 - stp.U) * float(e_fac)  # < 1 since U > 0
    return stp.U * (1.0 - q ** np.arange(1, n + 1)) / (1.0 - q)


def tm_steady_state(stp: TsodyksMarkram, rate: Quantity):
    r"""Steady state ``(u*, x*, u* x*)`` of a regular train at ``rate`` (scalar or array).

    .. math::

        u^* = \frac{U}{1 - (1-U)E_f}, \qquad
        x^* = \frac{1 - E_r}{1 - (1-u^*)E_r}, \qquad \mathrm{eff}^* = u^* x^*.

    At high rates a depressing synapse's transmitted rate :math:`f\,\mathrm{eff}^*`
    saturates at :math:`1/\tau_{rec}` (Tsodyks & Markram 1997).
    """
    e_rec, e_fac = _decays(stp, rate)
    u = stp.U / (1.0 - (1.0 - stp.U) * e_fac)
    x = (1.0 - e_rec) / (1.0 - (1.0 - u) * e_rec)
    return u, x, u * x

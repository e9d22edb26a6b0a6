"""LIF and Izhikevich neurons as Brian2 ``Equations`` / ``NeuronGroup`` builders.

Every builder passes its constants through an explicit ``namespace`` so that no
equation silently picks up a global variable, and returns an ordinary Brian2
``NeuronGroup`` to be placed in an explicit ``Network``.

References
----------
Izhikevich, E. M. (2003). Simple model of spiking neurons. IEEE TNN 14:1569-1572.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from brian2 import Equations, NeuronGroup, Quantity, mV, ms

from .params import IzhikevichParams, LIFParams, check_quantity

__all__ = ["lif_equations", "lif_group", "izhikevich_equations", "izhikevich_group",
           "lif_namespace"]


def lif_equations(current: str | None = None, noise: bool = False) -> Equations:
    r"""LIF membrane equation in biological units.

    .. math:: \tau_m \frac{dv}{dt} = E_L - v + R_m I \;[+\; \sigma \sqrt{2 \tau_m}\, \xi(t)]

    With ``noise`` the membrane gets white noise whose free (sub-threshold)
    stationary standard deviation is ``sigma`` (an Ornstein-Uhlenbeck process).

    ``v`` is clamped (``unless refractory``) at the reset value for ``t_ref`` after a
    spike.

    Parameters
    ----------
    current : str or None
        ``None``: ``I`` is a per-neuron parameter (amp) set after construction
        (``group.I = 0.1*nA``). Otherwise an expression in amp evaluated every step,
        e.g. ``"I_stim(t, i)"`` with ``I_stim`` a ``TimedArray`` given in the
        namespace.
    noise : bool
        Add the white-noise term (needs ``sigma`` in the namespace).

    Returns
    -------
    brian2.Equations
    """
    xi = " + sigma*sqrt(2/tau_m)*xi" if noise else ""
    eqs = f"dv/dt = (E_L - v + R_m*I)/tau_m{xi} : volt (unless refractory)\n"
    eqs += "I : amp\n" if current is None else f"I = {current} : amp\n"
    return Equations(eqs)


def lif_namespace(params: LIFParams) -> dict:
    """The constants of ``params`` under the names the LIF equations use."""
    return {"E_L": params.E_L, "V_th": params.V_th, "V_r": params.V_r,
            "tau_m": params.tau_m, "R_m": params.R_m}


def lif_group(n: int, params: LIFParams = LIFParams.SEED, *, current: str | None = None,
              namespace: Mapping | None = None, method: str | None = None,
              name: str = "lif*", dt: Quantity | None = None,
              sigma: Quantity = 0 * mV) -> NeuronGroup:
    """A group of ``n`` LIF neurons starting at rest.

    Spike-driven input: connect ``Synapses(source, group, "w : volt",
    on_pre="v_post += w")`` (a voltage jump per presynaptic spike).

    Parameters
    ----------
    n : int
        Number of neurons.
    params : LIFParams
        Membrane constants (default: the seed neuron).
    current : str or None
        See :func:`lif_equations`.
    namespace : mapping, optional
        Extra names used by ``current`` (e.g. a ``TimedArray``).
    method : str, optional
        Integration method; default ``"exact"`` for a constant ``I`` and ``"euler"``
        for a time-dependent ``current`` expression.
    name : str
        Brian2 object name.
    dt : Quantity, optional
        Time step of this group's clock (default: ``defaultclock.dt``).
    sigma : Quantity (volt)
        Standard deviation of membrane noise (0: deterministic). Noise draws come
        from Brian2's generator (seeded by ``brian2.seed``).

    Returns
    -------
    brian2.NeuronGroup
        Variables ``v`` (volt) and ``I`` (amp).
    """
    if int(n) < 1:
        raise ValueError(f"lif_group: n must be >= 1, got {n}")
    check_quantity("lif_group", "sigma", sigma, mV, nonnegative=True)
    noise = bool(sigma > 0 * mV)
    ns = lif_namespace(params)
    if noise:
        ns["sigma"] = sigma
    if namespace:
        ns.update(namespace)
    if method is None:
        method = "exact" if current is None and not noise else "euler"
    group = NeuronGroup(int(n), lif_equations(current, noise), threshold="v >= V_th",
                        reset="v = V_r", refractory=params.t_ref, method=method,
                        namespace=ns, name=name, dt=dt)
    group.v = params.E_L
    return group


def izhikevich_equations(current: str | None = None) -> Equations:
    r"""Izhikevich (2003) equations with per-neuron a, b, c, d.

    .. math::

        \frac{dv}{dt} = \left(0.04 v^2/\mathrm{mV} + 5 v + 140\,\mathrm{mV} - u + I\right)/\mathrm{ms},
        \qquad \frac{du}{dt} = a (b v - u)

    ``I`` is the paper's input current expressed in mV (it enters like ``u``).
    The reset parameters c and d are stored per neuron as ``v_reset`` and ``u_jump``:
    Brian2 forbids a synaptic variable named like a presynaptic one, and synapses need
    their own ``c`` (the eligibility trace of :mod:`bioSNN.plasticity`).

    Parameters
    ----------
    current : str or None
        ``None``: ``I`` is a per-neuron parameter (volt); otherwise an expression in
        volt, e.g. ``"I_stim(t, i)"``.
    """
    eqs = """
    dv/dt = (0.04*v**2/mV + 5*v + 140*mV - u + I)/ms : volt
    du/dt = a*(b*v - u) : volt
    a : 1/second (constant)
    b : 1 (constant)
    v_reset : volt (constant)
    u_jump : volt (constant)
    """
    eqs += "I : volt\n" if current is None else f"I = {current} : volt\n"
    return Equations(eqs)


def izhikevich_group(params: IzhikevichParams | Sequence[IzhikevichParams], *,
                     n: int | None = None, current: str | None = None,
                     namespace: Mapping | None = None, v_init: Quantity = -65 * mV,
                     method: str = "euler", name: str = "izhikevich*",
                     dt: Quantity | None = None, model_extra: str = "") -> NeuronGroup:
    """A group of Izhikevich neurons, one preset per neuron or one for all.

    Parameters
    ----------
    params : IzhikevichParams or sequence of IzhikevichParams
        One parameter set for all ``n`` neurons, or one per neuron.
    n : int, optional
        Number of neurons when ``params`` is a single set (default 1).
    current : str or None
        See :func:`izhikevich_equations`.
    namespace : mapping, optional
        Extra names used by ``current``.
    v_init : Quantity (volt)
        Initial membrane potential; ``u`` starts at ``b * v_init`` as in the paper.
    method : str
        Integration method (forward Euler by default, as in the paper; use a small
        ``dt`` such as 0.1 ms or less).
    model_extra : str
        Further equation lines (e.g. ``"d : 1 (linked)"`` for a linked variable).

    Returns
    -------
    brian2.NeuronGroup
        Variables ``v``, ``u``, ``I`` and the per-neuron ``a``, ``b``, ``v_reset`` (c),
        ``u_jump`` (d).
    """
    plist = [params] if isinstance(params, IzhikevichParams) else list(params)
    if not plist or not all(isinstance(p, IzhikevichParams) for p in plist):
        raise TypeError("izhikevich_group: params must be IzhikevichParams or a "
                        "non-empty sequence of them")
    if len(plist) == 1:
        plist = plist * (1 if n is None else int(n))
    elif n is not None and int(n) != len(plist):
        raise ValueError(f"izhikevich_group: n={n} but {len(plist)} parameter sets given")
    peaks = {float(p.v_peak / mV) for p in plist}
    if len(peaks) != 1:
        raise ValueError("izhikevich_group: all neurons of one group must share v_peak")
    ns = {"v_peak": plist[0].v_peak}
    if namespace:
        ns.update(namespace)
    eqs = izhikevich_equations(current)
    if model_extra:
        eqs = eqs + Equations(model_extra)
    group = NeuronGroup(len(plist), eqs, threshold="v >= v_peak",
                        reset="v = v_reset; u += u_jump", method=method, namespace=ns, name=name, dt=dt)
    group.a = np.array([float(p.a * ms) for p in plist]) / ms
    group.b = np.array([p.b for p in plist])
    group.v_reset = np.array([float(p.c / mV) for p in plist]) * mV
    group.u_jump = np.array([float(p.d / mV) for p in plist]) * mV
    group.v = v_init
    group.u = np.array([p.b for p in plist]) * v_init  # no read-back: works in standalone too
    return group

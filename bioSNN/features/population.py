r"""Population activity of a spiking network (``brunel2000``): per-neuron rates and ISI
CVs, the population rate, synchrony (population-count Fano factor and Golomb's
:math:`\chi`), the dominant oscillation of the population rate, and the dynamical state
these imply (Brunel 2000, J Comput Neurosci 8:183-208). Pure functions of spike arrays
(neuron index, time in ms); no Brian2. Formulas and the state rule: ``docs/brunel.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["neuron_rates", "isi_cv", "population_counts", "network_counts",
           "population_rate", "fano_factor",
           "rate_modulation", "golomb_chi", "rate_spectrum", "dominant_oscillation",
           "StateRule", "classify_state", "STATES", "population_features"]

STATES = ("AI", "SR", "SI-fast", "SI-slow", "AR", "silent")
"""Labels :func:`classify_state` returns: Brunel's (2000) four states of Fig. 8, ``AR``
(asynchronous but regular, none of the four) and ``silent`` (no activity)."""


def _window(i, t, t_start_ms: float, t_stop_ms: float):
    i = np.asarray(i, dtype=np.int64)
    t = np.asarray(t, dtype=float)
    keep = (t >= t_start_ms) & (t < t_stop_ms)
    return i[keep], t[keep]


def neuron_rates(i, t, n_neurons: int, t_start_ms: float, t_stop_ms: float) -> np.ndarray:
    """Firing rate (Hz) of each of ``n_neurons`` in the window ``[t_start, t_stop)`` (ms)."""
    i, _ = _window(i, t, t_start_ms, t_stop_ms)
    return np.bincount(i, minlength=n_neurons)[:n_neurons] / ((t_stop_ms - t_start_ms) / 1000.0)


def isi_cv(i, t, n_neurons: int, t_start_ms: float = -np.inf, t_stop_ms: float = np.inf,
           min_spikes: int = 3) -> np.ndarray:
    r"""Coefficient of variation of the inter-spike intervals of each neuron,
    :math:`CV_k = \mathrm{sd}(ISI_k) / \mathrm{mean}(ISI_k)` (population s.d., ``ddof=0``),
    from its spikes in the window; NaN for a neuron with fewer than ``min_spikes`` spikes.

    Poisson trains give CV 1, a clock gives 0.
    """
    i, t = _window(i, t, t_start_ms, t_stop_ms)
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    same = i[1:] == i[:-1]
    isi, owner = np.diff(t)[same], i[1:][same]
    count = np.bincount(owner, minlength=n_neurons)[:n_neurons].astype(float)
    s1 = np.bincount(owner, weights=isi, minlength=n_neurons)[:n_neurons]
    s2 = np.bincount(owner, weights=isi * isi, minlength=n_neurons)[:n_neurons]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / count
        var = np.maximum(s2 / count - mean * mean, 0.0)
        cv = np.sqrt(var) / mean
    cv[count < max(min_spikes - 1, 1)] = np.nan
    return cv


def population_counts(t, t_start_ms: float, t_stop_ms: float, bin_ms: float) -> np.ndarray:
    """Spikes of the whole population per bin of ``bin_ms`` in ``[t_start, t_stop)``
    (the last partial bin is dropped)."""
    n_bins = int(np.floor((t_stop_ms - t_start_ms) / bin_ms + 1e-9))
    t = np.asarray(t, dtype=float)
    k = np.floor((t - t_start_ms) / bin_ms + 1e-9).astype(np.int64)
    k = k[(t >= t_start_ms) & (k < n_bins)]
    return np.bincount(k, minlength=n_bins)[:n_bins]


def network_counts(data, t_start_ms: float, t_stop_ms: float,
                   bin_ms: float) -> tuple[np.ndarray, int]:
    """Spikes of the whole network per bin, from a Dataset's ``population_rate`` (Hz,
    one value per time step, all ``attrs["n_exc"] + attrs["n_inh"]`` neurons) rebinned
    to ``bin_ms`` (a whole number of steps) in ``[t_start, t_stop)``.

    Returns
    -------
    (counts, n_neurons)
    """
    n = int(data.attrs["n_exc"]) + int(data.attrs["n_inh"])
    dt = float(data.attrs["dt_ms"])
    t = data["time"].values
    per_step = np.rint(data["population_rate"].values * n * dt / 1000.0).astype(np.int64)
    keep = (t >= t_start_ms - 1e-6 * dt) & (t < t_stop_ms - 1e-6 * dt)
    per_step = per_step[keep]
    k = int(round(bin_ms / dt))
    m = len(per_step) // k
    return per_step[: m * k].reshape(m, k).sum(axis=1), n


def population_rate(t, n_neurons: int, t_start_ms: float, t_stop_ms: float,
                    bin_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Population rate histogram: (bin centres in ms, rate in Hz per neuron)."""
    counts = population_counts(t, t_start_ms, t_stop_ms, bin_ms)
    centres = t_start_ms + (np.arange(len(counts)) + 0.5) * bin_ms
    return centres, counts / (n_neurons * bin_ms / 1000.0)


def fano_factor(counts) -> float:
    r"""Fano factor :math:`F = \mathrm{Var}(n) / \langle n \rangle` of population spike
    counts :math:`n` per bin. Independent Poisson neurons give 1 (the floor, for any N);
    a population firing in synchronous volleys gives up to about the number of neurons
    per volley. NaN without spikes."""
    counts = np.asarray(counts, dtype=float)
    mean = counts.mean() if counts.size else 0.0
    return float(counts.var() / mean) if mean > 0 else float("nan")


def rate_modulation(counts) -> float:
    r"""Modulation of the population rate beyond Poisson noise: the s.d. of the
    population counts per bin with the variance independent Poisson neurons would give
    (= the mean count) removed, over the mean count,

    .. math:: m = \sqrt{\max(\mathrm{Var}(n) - \langle n \rangle, 0)} / \langle n \rangle
              = \sqrt{(F - 1) / \langle n \rangle}.

    0 for an asynchronous population of any size; :math:`1/\sqrt2` for a rate
    :math:`r_0 (1 + \sin 2\pi f t)` (a full-depth sinusoid that touches zero once
    per cycle); larger for volleys separated by silence. Unlike :func:`golomb_chi` on
    spike counts, it does not shrink with the single-neuron rate. NaN without spikes."""
    counts = np.asarray(counts, dtype=float)
    mean = counts.mean() if counts.size else 0.0
    if not mean > 0:
        return float("nan")
    return float(np.sqrt(max(counts.var() - mean, 0.0)) / mean)


def golomb_chi(i, t, n_neurons: int, t_start_ms: float, t_stop_ms: float,
               bin_ms: float) -> tuple[float, int]:
    r"""Golomb's synchrony measure on binned spike counts, over the active neurons.

    With :math:`x_k(b)` the spike count of neuron k in bin b and
    :math:`X(b) = \frac1{N_a} \sum_k x_k(b)` their mean over the :math:`N_a` neurons that
    fired in the window,

    .. math:: \chi^2 = \frac{\mathrm{Var}_b\, X(b)}{\frac1{N_a}\sum_k \mathrm{Var}_b\, x_k(b)}

    (Golomb 2007, Scholarpedia 2:1347, with counts in place of voltages). Independent
    neurons give :math:`\chi \approx 1/\sqrt{N_a}` (the finite-size floor), identical
    trains give 1.

    Returns
    -------
    (chi, n_active) : (float, int)
        NaN with fewer than 2 active neurons or no variance.
    """
    i, t = _window(i, t, t_start_ms, t_stop_ms)
    n_bins = int(np.floor((t_stop_ms - t_start_ms) / bin_ms + 1e-9))
    b = np.floor((t - t_start_ms) / bin_ms + 1e-9).astype(np.int64)
    keep = b < n_bins
    i, b = i[keep], b[keep]
    active = np.unique(i)
    n_active = int(len(active))
    if n_active < 2 or n_bins < 2:
        return float("nan"), n_active
    # per-neuron variance from the sparse (neuron, bin) counts: Var = <x^2> - <x>^2
    keys, c = np.unique(i * n_bins + b, return_counts=True)
    owner = keys // n_bins
    total = np.bincount(i, minlength=n_neurons)[active].astype(float)
    sq = np.bincount(owner, weights=c.astype(float) ** 2, minlength=n_neurons)[active]
    var_each = sq / n_bins - (total / n_bins) ** 2
    pop = np.bincount(b, minlength=n_bins)[:n_bins] / n_active
    denom = var_each.mean()
    if denom <= 0:
        return float("nan"), n_active
    return float(np.sqrt(pop.var() / denom)), n_active


def rate_spectrum(rate, bin_ms: float, segment_ms: float = 256.0) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of a population rate signal (Welch: Hann-windowed segments of
    ``segment_ms`` with 50 % overlap, mean removed per segment, averaged).

    Returns
    -------
    (freq_Hz, power) : arrays; power in (signal unit)^2 / Hz, one-sided.
    """
    x = np.asarray(rate, dtype=float)
    n = max(8, min(len(x), int(round(segment_ms / bin_ms))))
    if len(x) < n:
        raise ValueError(f"rate_spectrum: {len(x)} samples, fewer than one segment ({n})")
    step = max(1, n // 2)
    win = np.hanning(n)
    starts = range(0, len(x) - n + 1, step)
    fs = 1000.0 / bin_ms
    power = np.zeros(n // 2 + 1)
    for s in starts:
        seg = x[s:s + n] - x[s:s + n].mean()
        power += np.abs(np.fft.rfft(seg * win)) ** 2
    power *= 2.0 / (fs * (win ** 2).sum() * len(starts))
    return np.fft.rfftfreq(n, d=bin_ms / 1000.0), power


def dominant_oscillation(rate, bin_ms: float, *, segment_ms: float = 256.0,
                         f_min_Hz: float = 5.0, half_band: int = 2) -> tuple[float, float]:
    r"""The frequency of the largest spectral peak of the population rate above
    ``f_min_Hz`` and its relative power: the power within ``half_band`` frequency bins
    either side of the peak over all power above ``f_min_Hz``. A white (asynchronous)
    rate spreads its power evenly, so the relative power is then about
    :math:`(2\,\mathrm{half\_band}+1)/n_{freq}` (0.04 with 256 ms segments at 1 ms
    bins); a clean oscillation concentrates it near 1.

    Returns
    -------
    (freq_Hz, relative_power) : (float, float); (nan, nan) for a constant rate.
    """
    f, p = rate_spectrum(rate, bin_ms, segment_ms)
    band = f >= f_min_Hz
    f, p = f[band], p[band]
    total = p.sum()
    if not len(p) or total <= 0:
        return float("nan"), float("nan")
    k = int(np.argmax(p))
    near = p[max(0, k - half_band): k + half_band + 1].sum()
    return float(f[k]), float(near / total)


@dataclass(frozen=True)
class StateRule:
    """Thresholds of :func:`classify_state` (justification: ``docs/brunel.md``).

    Attributes
    ----------
    modulation_sync : float
        :func:`rate_modulation` above which the population is synchronous: that of a
        full-depth sinusoidal rate, 1/sqrt(2).
    osc_power_sync : float
        Relative power of the dominant oscillation above which the population is
        synchronous: one spectral peak holds most of the rate's variance.
    cv_regular : float
        Mean ISI CV below which single neurons fire regularly (SR).
    f_fast_Hz : float
        Oscillation frequency separating SI-fast (set by the delay, ~1/(4D)..1/(2D))
        from SI-slow (set by the membrane time constant).
    min_rate_Hz : float
        Mean rate below which the network is called silent.
    """

    modulation_sync: float = float(1 / np.sqrt(2))
    osc_power_sync: float = 0.5
    cv_regular: float = 0.2
    f_fast_Hz: float = 80.0
    min_rate_Hz: float = 0.1


def classify_state(rate_Hz: float, cv_mean: float, modulation: float, osc_freq_Hz: float,
                   osc_power: float, rule: StateRule = StateRule()) -> str:
    """Brunel's (2000) state of a network from its measures.

    1. mean rate below ``min_rate_Hz``: ``"silent"``;
    2. rate modulation at most ``modulation_sync`` and relative power of the dominant
       oscillation at most ``osc_power_sync``: asynchronous, ``"AI"`` (``"AR"`` if the
       mean CV is below ``cv_regular``);
    3. synchronous with mean ISI CV below ``cv_regular``: ``"SR"``;
    4. synchronous and irregular: ``"SI-fast"`` if the dominant oscillation is at least
       ``f_fast_Hz``, else ``"SI-slow"``.

    NaN measures count as not synchronous / not regular.
    """
    if not rate_Hz >= rule.min_rate_Hz:
        return "silent"
    if not (modulation > rule.modulation_sync or osc_power > rule.osc_power_sync):
        return "AR" if cv_mean < rule.cv_regular else "AI"
    if cv_mean < rule.cv_regular:
        return "SR"
    return "SI-fast" if osc_freq_Hz >= rule.f_fast_Hz else "SI-slow"


def population_features(i, t, n_exc: int, n_inh: int, t_start_ms: float, t_stop_ms: float,
                        *, bin_ms: float = 1.0, segment_ms: float = 256.0,
                        rule: StateRule = StateRule(), population=None) -> dict:
    """Headline numbers of a recurrent-network run in the analysis window.

    Neurons ``0 .. n_exc-1`` of the spikes ``(i, t)`` are excitatory, the next ``n_inh``
    inhibitory. ``population``: ``(counts, n_neurons)`` of the whole network per
    ``bin_ms`` bin (:func:`network_counts`) when only some neurons' spikes were recorded;
    then ``rate_Hz``, ``fano``, ``rate_modulation`` and the oscillation come from it, the
    single-neuron measures and ``chi`` from the recorded spikes. Default: the recorded
    neurons are the whole network.

    Returns
    -------
    dict
        ``rate_Hz`` (mean over all neurons), ``rate_exc_Hz``, ``rate_inh_Hz``;
        ``cv_mean`` / ``cv_median`` (ISI CV over neurons with >= 3 spikes) and
        ``n_cv``; ``fano`` (population count Fano factor, ``bin_ms`` bins) and
        ``rate_modulation`` (:func:`rate_modulation`); ``chi``, ``chi_floor``
        (1/sqrt(n_active)) and ``n_active``; ``osc_freq_Hz`` and ``osc_power``
        (:func:`dominant_oscillation` of the population rate); ``state``
        (:func:`classify_state` of rate, cv_mean, rate_modulation, osc_freq_Hz and
        osc_power) and the thresholds it used (``rule_modulation_sync``,
        ``rule_osc_power_sync``, ``rule_cv_regular``, ``rule_f_fast_Hz``);
        ``window_ms``, ``bin_ms``.
    """
    n = n_exc + n_inh
    rates = neuron_rates(i, t, n, t_start_ms, t_stop_ms)
    cv = isi_cv(i, t, n, t_start_ms, t_stop_ms)
    known = cv[np.isfinite(cv)]
    _, t_win = _window(i, t, t_start_ms, t_stop_ms)
    if population is None:
        counts, n_all = population_counts(t_win, t_start_ms, t_stop_ms, bin_ms), n
    else:
        counts, n_all = np.asarray(population[0]), int(population[1])
    chi, n_active = golomb_chi(i, t, n, t_start_ms, t_stop_ms, bin_ms)
    segment_ms = min(segment_ms, len(counts) * bin_ms)  # a short window: one segment
    if counts.sum() > 0 and len(counts) >= 8:
        f_osc, p_osc = dominant_oscillation(counts / (n_all * bin_ms / 1000.0), bin_ms,
                                            segment_ms=segment_ms)
    else:
        f_osc, p_osc = float("nan"), float("nan")
    cv_mean = float(known.mean()) if known.size else float("nan")
    out = {
        "rate_Hz": float(counts.sum() / (n_all * len(counts) * bin_ms / 1000.0))
        if len(counts) else float("nan"),
        "rate_exc_Hz": float(rates[:n_exc].mean()),
        "rate_inh_Hz": float(rates[n_exc:].mean()) if n_inh else float("nan"),
        "cv_mean": cv_mean,
        "cv_median": float(np.median(known)) if known.size else float("nan"),
        "n_cv": int(known.size),
        "fano": fano_factor(counts),
        "rate_modulation": rate_modulation(counts),
        "chi": chi,
        "chi_floor": float(1.0 / np.sqrt(n_active)) if n_active else float("nan"),
        "n_active": n_active,
        "osc_freq_Hz": f_osc,
        "osc_power": p_osc,
    }
    out["state"] = classify_state(out["rate_Hz"], cv_mean, out["rate_modulation"], f_osc,
                                  p_osc, rule)
    out.update({"rule_modulation_sync": rule.modulation_sync,
                "rule_osc_power_sync": rule.osc_power_sync,
                "rule_cv_regular": rule.cv_regular, "rule_f_fast_Hz": rule.f_fast_Hz,
                "window_ms": float(t_stop_ms - t_start_ms), "bin_ms": float(bin_ms)})
    return out

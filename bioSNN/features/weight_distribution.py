r"""Shape of a weight distribution after STDP under Poisson input. Pure functions.

The weights of one rule, scaled to :math:`\hat w = (w - w_{min}) / (w_{max} - w_{min})
\in [0, 1]`, are binned into ``N_BINS`` = 10 equal bins. The shape is read off the
histogram :math:`h_0 \dots h_9` (fractions of the synapses):

``bimodal``
    both outer bins hold more weight than every central bin :math:`h_2 \dots h_7`
    (a U shape: the competition of additive STDP pushes weights to both bounds,
    Song, Miller & Abbott 2000, Fig. 2), and each outer bin holds at least
    ``MIN_EDGE`` = 5 % of the synapses.
``unimodal``
    the outer bins together hold at most ``MAX_EDGE_UNIMODAL`` = 5 % and the
    histogram has one peak (a single run of bins at its maximum, everything decreasing
    away from it, allowing ties): soft bounds keep the weights inside the range (van
    Rossum et al. 2000; Gütig et al. 2003 for :math:`\mu > \mu_{crit}`).
``other``
    anything else (e.g. a distribution still relaxing from its initial condition).

These are stated, simple readings of the papers' figures, not fits; the thresholds are
module constants so the validation entries and the documentation quote the same numbers.
"""
from __future__ import annotations

import numpy as np

__all__ = ["N_BINS", "MIN_EDGE", "MAX_EDGE_UNIMODAL", "histogram", "shape",
           "distribution_features"]

N_BINS = 10
MIN_EDGE = 0.05
MAX_EDGE_UNIMODAL = 0.05


def histogram(w_hat) -> np.ndarray:
    """Fractions of the weights in ``N_BINS`` equal bins of [0, 1] (the top bin includes 1)."""
    w_hat = np.asarray(w_hat, dtype=float)
    if w_hat.size == 0:
        raise ValueError("no weights to bin")
    counts, _ = np.histogram(np.clip(w_hat, 0.0, 1.0), bins=N_BINS, range=(0.0, 1.0))
    return counts / w_hat.size


def _single_peak(h: np.ndarray) -> bool:
    top = np.flatnonzero(h == h.max())
    if top[-1] - top[0] != len(top) - 1:      # the maximum must be one run of bins
        return False
    left, right = h[: top[0] + 1], h[top[-1]:]
    return bool(np.all(np.diff(left) >= 0) and np.all(np.diff(right) <= 0))


def shape(h) -> str:
    """``"bimodal"``, ``"unimodal"`` or ``"other"`` for a histogram of fractions (module doc)."""
    h = np.asarray(h, dtype=float)
    if h.shape != (N_BINS,):
        raise ValueError(f"expected {N_BINS} bins, got shape {h.shape}")
    central = h[2:N_BINS - 2].max()
    if h[0] >= MIN_EDGE and h[-1] >= MIN_EDGE and h[0] > central and h[-1] > central:
        return "bimodal"
    if h[0] + h[-1] <= MAX_EDGE_UNIMODAL and _single_peak(h):
        return "unimodal"
    return "other"


def distribution_features(data) -> dict:
    """Headline numbers of an ``stdp-weight-distribution`` run (its saved ``w_hat``).

    Per rule ``<rule>``: ``<rule>_shape``, ``<rule>_fraction_low`` / ``_fraction_high``
    (outer bins), ``<rule>_mean_w_hat``, ``<rule>_std_w_hat``, ``<rule>_rate_Hz``
    (postsynaptic rate over the run).
    """
    out: dict = {}
    w_hat = data["w_hat"]
    for k, rule in enumerate(str(r) for r in data["rule"].values):
        w = np.asarray(w_hat.values[k], dtype=float)
        h = histogram(w)
        key = rule.replace("-", "_")
        s = shape(h)
        out[f"{key}_shape"] = s
        out[f"{key}_fraction_low"] = float(h[0])
        out[f"{key}_fraction_high"] = float(h[-1])
        out[f"{key}_mean_w_hat"] = float(w.mean())
        out[f"{key}_std_w_hat"] = float(w.std())
        out[f"{key}_rate_Hz"] = float(data["post_rate"].values[k])
    return out

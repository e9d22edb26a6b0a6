"""The one definition of a mean and its 95 % confidence interval, used by summaries,
sweeps and figures alike."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

__all__ = ["mean_ci95", "ci95"]


def mean_ci95(values: Iterable[float | None]) -> tuple[float, float, int]:
    """Mean and half-width of its 95 % confidence interval (Student t, n - 1 d.o.f.).

    Parameters
    ----------
    values : iterable of float
        ``None`` and non-finite values are ignored.

    Returns
    -------
    (mean, half_width, n)
        ``half_width = t_{0.975, n-1} * s / sqrt(n)`` with ``s`` the sample standard
        deviation (for large n, 1.96 standard errors); NaN when n < 2 (mean NaN when
        n = 0).
    """
    from scipy import stats

    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return float(x.mean()), half, n


def ci95(values: Iterable[float | None]) -> float:
    """Half-width of the 95 % confidence interval of the mean (:func:`mean_ci95`)."""
    return mean_ci95(values)[1]

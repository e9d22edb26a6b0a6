"""Cochlea-like front end: a log-mel filterbank on a short-time Fourier transform.

Waveform -> Hann-windowed STFT power -> triangular filters equally spaced on the mel scale
(HTK formula) -> energy per channel in dB with a floor -> per-recording level in [0, 1]
(:func:`level`). Pure numpy; times are in ms and frequencies in Hz (names say so). The
equations are in ``docs/audio.md``.

References
----------
S. S. Stevens, J. Volkmann, E. B. Newman (1937) A scale for the measurement of the
psychological magnitude pitch. J. Acoust. Soc. Am. 8, 185-190.
S. Young et al. (2006) The HTK Book (v3.4), sec. 5.4: mel filterbank analysis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FilterbankParams", "hz_to_mel", "mel_to_hz", "mel_filterbank", "stft_power",
           "log_mel", "level", "fix_frames"]


@dataclass(frozen=True)
class FilterbankParams:
    """Parameters of the log-mel front end.

    Parameters
    ----------
    sample_rate_hz : int
        Sampling rate of the waveform (FSDD: 8000).
    n_channels : int
        Number of mel channels.
    window_ms, hop_ms : float
        Length of the Hann window and step between frames.
    f_min_hz, f_max_hz : float
        Lower edge of the first and upper edge of the last triangle; ``f_max_hz`` at most
        the Nyquist frequency.
    n_fft : int
        FFT length (zero-padded window); >= the window in samples.
    floor_db : float
        Energies below ``10**(floor_db/10)`` are clipped to it (silence -> ``floor_db``).
    """

    sample_rate_hz: int = 8000
    n_channels: int = 40
    window_ms: float = 25.0
    hop_ms: float = 10.0
    f_min_hz: float = 50.0
    f_max_hz: float = 4000.0
    n_fft: int = 512
    floor_db: float = -100.0

    def __post_init__(self):
        if self.n_channels < 1:
            raise ValueError(f"FilterbankParams.n_channels must be >= 1, got {self.n_channels}")
        if not 0 <= self.f_min_hz < self.f_max_hz <= self.sample_rate_hz / 2:
            raise ValueError(f"FilterbankParams: need 0 <= f_min_hz < f_max_hz <= Nyquist "
                             f"({self.sample_rate_hz / 2:g} Hz), got [{self.f_min_hz:g}, "
                             f"{self.f_max_hz:g}]")
        if not (self.hop_ms > 0 and self.window_ms > 0):
            raise ValueError("FilterbankParams: window_ms and hop_ms must be > 0")
        if self.n_fft < self.window_samples:
            raise ValueError(f"FilterbankParams.n_fft = {self.n_fft} is shorter than the "
                             f"window ({self.window_samples} samples)")

    @property
    def window_samples(self) -> int:
        return int(round(self.window_ms * 1e-3 * self.sample_rate_hz))

    @property
    def hop_samples(self) -> int:
        return max(1, int(round(self.hop_ms * 1e-3 * self.sample_rate_hz)))

    def centres_hz(self) -> np.ndarray:
        """Centre frequency of each channel (Hz), ascending."""
        edges = mel_to_hz(np.linspace(hz_to_mel(self.f_min_hz), hz_to_mel(self.f_max_hz),
                                      self.n_channels + 2))
        return edges[1:-1]


def hz_to_mel(f_hz):
    """HTK mel scale, :math:`m = 2595 \\log_{10}(1 + f / 700\\,\\mathrm{Hz})`."""
    return 2595.0 * np.log10(1.0 + np.asarray(f_hz, dtype=float) / 700.0)


def mel_to_hz(m):
    """Inverse of :func:`hz_to_mel`, :math:`f = 700\\,(10^{m/2595} - 1)` Hz."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=float) / 2595.0) - 1.0)


def mel_filterbank(p: FilterbankParams) -> np.ndarray:
    """Triangular filter weights ``(n_channels, n_fft // 2 + 1)`` on the FFT bins.

    Notes
    -----
    Edges :math:`f_0 < f_1 < \\dots < f_{C+1}` equally spaced in mel from ``f_min_hz`` to
    ``f_max_hz``; channel :math:`c` (1-based) weighs bin frequency :math:`f` by

    .. math:: w_c(f) = \\max\\left(0, \\min\\left(\\frac{f - f_{c-1}}{f_c - f_{c-1}},
              \\frac{f_{c+1} - f}{f_{c+1} - f_c}\\right)\\right)

    (peak 1 at its centre :math:`f_c`; evaluated at the bin frequencies, not rounded to
    bins, so narrow low channels are never empty at ``n_fft = 512``).
    """
    edges = mel_to_hz(np.linspace(hz_to_mel(p.f_min_hz), hz_to_mel(p.f_max_hz),
                                  p.n_channels + 2))
    f = np.arange(p.n_fft // 2 + 1) * p.sample_rate_hz / p.n_fft
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)))


def stft_power(x: np.ndarray, p: FilterbankParams) -> np.ndarray:
    """Power spectrum of each frame, ``(n_frames, n_fft // 2 + 1)``.

    Frame :math:`t` covers samples :math:`[tH, tH + W)` (hop :math:`H`, window :math:`W`;
    the end zero-padded to a whole frame, at least one frame);
    :math:`P_t(k) = |\\sum_n w[n] x[tH + n] e^{-2\\pi i k n / N}|^2 / (\\sum_n w[n])^2`
    with the periodic Hann window :math:`w`, so a sine of amplitude :math:`A` at a bin
    frequency has :math:`P = A^2/4` there.
    """
    x = np.asarray(x, dtype=np.float64)
    win, hop = p.window_samples, p.hop_samples
    n_frames = max(1, 1 + math.ceil(max(len(x) - win, 0) / hop))
    padded = np.zeros((n_frames - 1) * hop + win)
    padded[:len(x)] = x[:len(padded)]
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:n_frames]
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    spec = np.fft.rfft(frames * w, n=p.n_fft, axis=-1)
    return (spec.real ** 2 + spec.imag ** 2) / w.sum() ** 2


def log_mel(x: np.ndarray, p: FilterbankParams, weights: np.ndarray | None = None) -> np.ndarray:
    """Log-mel energies (dB) ``(n_frames, n_channels)`` of a waveform.

    :math:`E_{t,c} = 10 \\log_{10} \\max(\\sum_k w_c(f_k) P_t(k),\\ 10^{L/10})` with the
    floor :math:`L` = ``floor_db``. ``weights`` (from :func:`mel_filterbank`) may be
    passed to avoid recomputing them.
    """
    w = mel_filterbank(p) if weights is None else weights
    energy = stft_power(x, p) @ w.T
    return 10.0 * np.log10(np.maximum(energy, 10.0 ** (p.floor_db / 10.0)))


def level(db: np.ndarray, dynamic_range_db: float, floor_db: float = -100.0) -> np.ndarray:
    """Per-recording level in [0, 1]: the top ``dynamic_range_db`` of the recording.

    :math:`\\ell = \\mathrm{clip}((E - E_0) / D, 0, 1)`, :math:`E_0 = \\max(\\max_{t,c} E -
    D,\\ L)`: loudness-invariant (the loudest channel-frame is 1), and silence (all at
    the floor :math:`L`) is 0 everywhere.
    """
    if not dynamic_range_db > 0:
        raise ValueError(f"level: dynamic_range_db must be > 0, got {dynamic_range_db}")
    db = np.asarray(db, dtype=np.float64)
    low = max(float(db.max()) - dynamic_range_db, floor_db) if db.size else floor_db
    return np.clip((db - low) / dynamic_range_db, 0.0, 1.0)


def fix_frames(x: np.ndarray, frames: int, fill: float = 0.0) -> np.ndarray:
    """The first ``frames`` rows of ``x`` ``(T, ...)``, padded with ``fill`` at the end."""
    out = np.full((frames,) + x.shape[1:], fill, dtype=x.dtype)
    n = min(frames, len(x))
    out[:n] = x[:n]
    return out

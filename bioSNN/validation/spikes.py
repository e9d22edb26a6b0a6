r"""Spike-train statistics for validation: rates, ISIs, CV (Elephant), adaptation, bursts.

Rates, inter-spike intervals and the coefficient of variation come from Elephant's
``elephant.statistics`` (Denker et al. 2018, *Collaborative HPC-enabled workflows on the
HBP Collaboratory using the Elephant framework*, Neuroinformatics 2018, P19), on
``neo.SpikeTrain`` objects carrying their units; spike times enter in ms.

Elephant has no burst detector; :func:`detect_bursts` implements the max-interval
method (NeuroExplorer; compared with other detectors in Cotterill et al. 2016,
J Neurophysiol 116:306-321) with one addition that separates a burst from an
accelerating tonic train: the interval after a burst must be a clear pause.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["spike_train", "isi_ms", "rate_Hz", "cv_isi", "adaptation_ratio", "Burst",
           "detect_bursts", "SpikePopulation", "population_from"]


def spike_train(times_ms, t_start_ms: float, t_stop_ms: float):
    """A ``neo.SpikeTrain`` (ms) of the sorted spike times inside ``[t_start, t_stop]``
    (built by :func:`bioSNN.exchange.neo_io.spike_train`, as in the Neo export)."""
    from ..exchange.neo_io import spike_train as neo_spike_train

    t = np.asarray(times_ms, dtype=float)
    return neo_spike_train(t[(t >= t_start_ms) & (t <= t_stop_ms)], t_start_ms, t_stop_ms, "ms")


def isi_ms(times_ms) -> np.ndarray:
    """Inter-spike intervals (ms) of sorted spike times (``elephant.statistics.isi``)."""
    from elephant.statistics import isi

    t = np.sort(np.asarray(times_ms, dtype=float))
    return np.asarray(isi(t), dtype=float) if len(t) >= 2 else np.array([])


def rate_Hz(times_ms, t_start_ms: float, t_stop_ms: float) -> float:
    """Mean firing rate (Hz) in ``[t_start, t_stop]`` (``elephant.statistics.mean_firing_rate``)."""
    from elephant.statistics import mean_firing_rate

    st = spike_train(times_ms, t_start_ms, t_stop_ms)
    return float(mean_firing_rate(st).rescale("Hz").magnitude)


def cv_isi(times_ms) -> float | None:
    """Coefficient of variation of the ISIs (``elephant.statistics.cv``, population
    s.d. / mean); None with fewer than 3 spikes."""
    from elephant.statistics import cv

    isis = isi_ms(times_ms)
    return float(cv(isis)) if len(isis) >= 2 else None


def adaptation_ratio(times_ms) -> float | None:
    """Last ISI / first ISI (> 1: the train slows down); None with fewer than 3 spikes."""
    isis = isi_ms(times_ms)
    return float(isis[-1] / isis[0]) if len(isis) >= 2 else None


@dataclass(frozen=True)
class Burst:
    """A burst: spikes ``first`` .. ``last`` (indices into the train) and their times (ms)."""

    first: int
    last: int
    t_start_ms: float
    t_end_ms: float

    @property
    def n_spikes(self) -> int:
        return self.last - self.first + 1


def detect_bursts(times_ms, *, max_isi_start_ms: float = 8.0, max_isi_within_ms: float = 12.0,
                  min_spikes: int = 3, min_pause_ratio: float = 2.0) -> list[Burst]:
    """Bursts in one spike train by the max-interval method, with a pause criterion.

    A burst starts at an ISI <= ``max_isi_start_ms``, continues while ISIs are
    <= ``max_isi_within_ms``, and has at least ``min_spikes`` spikes. It counts only
    if it is followed by a pause: the next ISI (if the train goes on) is at least
    ``min_pause_ratio`` times the burst's last ISI. The pause separates a burst
    (IB, CH, TC rebound; Izhikevich 2003) from the accelerated onset of an adapting
    tonic train (LTS), whose ISIs lengthen smoothly.

    The defaults suit the Izhikevich (2003) model's ms time scale: intra-burst
    ISIs there are 1.5-10 ms and the pauses after bursts 25-50 ms.

    Parameters
    ----------
    times_ms : array
        Spike times (ms); sorted here.
    max_isi_start_ms, max_isi_within_ms : float
        Largest ISI that starts / continues a burst.
    min_spikes : int
        Fewest spikes in a burst.
    min_pause_ratio : float
        The ISI after the burst over the burst's last ISI must reach this.

    Returns
    -------
    list of Burst
        In time order.
    """
    t = np.sort(np.asarray(times_ms, dtype=float))
    isis = np.diff(t)
    bursts: list[Burst] = []
    k = 0
    while k < len(isis):
        if isis[k] > max_isi_start_ms:
            k += 1
            continue
        end = k
        while end + 1 < len(isis) and isis[end + 1] <= max_isi_within_ms:
            end += 1
        first, last = k, end + 1  # spikes k .. end+1
        paused = end + 1 >= len(isis) or isis[end + 1] >= min_pause_ratio * isis[end]
        if last - first + 1 >= min_spikes and paused:
            bursts.append(Burst(first, last, float(t[first]), float(t[last])))
        k = end + 1
    return bursts


@dataclass(frozen=True)
class SpikePopulation:
    """Spike trains of a population over an observation window.

    Attributes
    ----------
    trains_ms : tuple of arrays
        One sorted array of spike times (ms) per neuron (silent neurons included).
    t_start_ms, t_stop_ms : float
        Observation window.
    label : str
        What the population is (e.g. ``"lif-poisson-trace output"``).
    """

    trains_ms: tuple
    t_start_ms: float
    t_stop_ms: float
    label: str = ""

    @property
    def n_neurons(self) -> int:
        return len(self.trains_ms)

    def rates_Hz(self) -> np.ndarray:
        """Mean rate of every neuron (Elephant)."""
        return np.array([rate_Hz(t, self.t_start_ms, self.t_stop_ms) for t in self.trains_ms])

    def cvs(self) -> np.ndarray:
        """ISI CV of every neuron with at least 3 spikes (Elephant)."""
        values = [cv_isi(t) for t in self.trains_ms]
        return np.array([v for v in values if v is not None])


def population_from(neuron_index, times_ms, n_neurons: int, t_start_ms: float,
                    t_stop_ms: float, label: str = "") -> SpikePopulation:
    """Build a :class:`SpikePopulation` from the (index, time) spike lists of a Results."""
    i = np.asarray(neuron_index, dtype=np.int64)
    t = np.asarray(times_ms, dtype=float)
    trains = tuple(np.sort(t[i == k]) for k in range(int(n_neurons)))
    return SpikePopulation(trains, float(t_start_ms), float(t_stop_ms), label)

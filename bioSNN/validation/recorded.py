r"""Validation against the user's own recordings: a Units table of an NWB file.

``biosnn validate --observations FILE.nwb[:PATH]`` reads the recorded units (``PATH``:
``units`` by default, or ``processing/<module>/<table>``), computes three distributions
over units — mean rate, ISI CV, Fano factor of spike counts in ``window`` bins — and
scores every model population of the firing-regime tests against each. The rule and its
reasons are in ``docs/figures-and-validation.md``: pass when the model's median lies in
the recording's 5-95 % range and the two 5-95 % ranges overlap; the two-sample KS
statistic is reported beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BioSNNError
from .base import FAIL, Observation, Prediction, Score, ValidationTest, fmt
from .spikes import SpikePopulation

__all__ = ["Recording", "read_recording", "unit_features", "RecordedDistribution",
           "recorded_tests", "FEATURES", "FANO_WINDOW_MS"]

FANO_WINDOW_MS = 100.0
"""Bin of the spike counts whose variance/mean is the Fano factor (ms)."""

FEATURES = {"rate": ("mean firing rate", "Hz"), "cv": ("ISI coefficient of variation", "1"),
            "fano": (f"Fano factor of spike counts in {FANO_WINDOW_MS:g} ms bins", "1")}


@dataclass(frozen=True)
class Recording:
    """Recorded units, as spike trains (ms) over an observation window."""

    name: str
    session: str
    path: str
    table: str
    population: SpikePopulation

    @property
    def source(self) -> str:
        return (f"recording {self.name!r}, session {self.session}: "
                f"{self.population.n_neurons} units of {self.table} in {self.path}")


def _split(spec: str) -> tuple[Path, str]:
    text = str(spec)
    path, _, table = text.partition(".nwb:")
    if table:
        return Path(path + ".nwb"), table.strip("/")
    return Path(text), "units"


def read_recording(spec: str) -> Recording:
    """Read ``FILE.nwb[:PATH]`` (``PATH`` default ``units``) into a :class:`Recording`.

    Raises
    ------
    BioSNNError
        Missing or unreadable file, no such table, or a table without ``spike_times``.
    """
    path, table = _split(spec)
    if not path.is_file():
        raise BioSNNError(f"--observations: no file {path}; give an NWB file "
                          f"(FILE.nwb or FILE.nwb:processing/<module>/<units table>)")
    try:
        from pynwb import NWBHDF5IO

        io = NWBHDF5IO(str(path), "r")
        nwb = io.read()
    except Exception as err:
        raise BioSNNError(f"--observations: {path} is not a readable NWB file "
                          f"({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None
    try:
        units = _table(nwb, table, path)
        if "spike_times" not in units.colnames:
            raise BioSNNError(f"--observations: {path}:{table} has no spike_times column")
        trains_s = [np.sort(np.asarray(units["spike_times"][k], dtype=float))
                    for k in range(len(units))]
        if "obs_intervals" in units.colnames:
            iv = [np.asarray(units["obs_intervals"][k], dtype=float).reshape(-1, 2)
                  for k in range(len(units))]
            t0 = min(float(i[:, 0].min()) for i in iv)
            t1 = max(float(i[:, 1].max()) for i in iv)
        else:
            nonempty = [t for t in trains_s if len(t)]
            t0 = min((float(t[0]) for t in nonempty), default=0.0)
            t1 = max((float(t[-1]) for t in nonempty), default=0.0)
        name = str(nwb.session_description or nwb.identifier)
        session = str(nwb.session_id or nwb.identifier)
        start = nwb.session_start_time.isoformat() if nwb.session_start_time else "?"
    finally:
        io.close()
    if not trains_s or t1 <= t0:
        raise BioSNNError(f"--observations: {path}:{table} has no spikes to compare with")
    pop = SpikePopulation(tuple(t * 1e3 for t in trains_s), t0 * 1e3, t1 * 1e3,
                          f"recorded units ({path.name})")
    return Recording(name=name[:120], session=f"{session} ({start})", path=str(path),
                     table=table, population=pop)


def _table(nwb, table: str, path: Path):
    if table == "units":
        if nwb.units is None:
            raise BioSNNError(f"--observations: {path} has no units table; name one with "
                              f"{path}:processing/<module>/<table>")
        return nwb.units
    parts = table.split("/")
    if len(parts) == 3 and parts[0] == "processing":
        module = nwb.processing.get(parts[1])
        if module is not None and parts[2] in module.data_interfaces:
            return module.data_interfaces[parts[2]]
    raise BioSNNError(f"--observations: {path} has no table {table!r}; use 'units' or "
                      f"'processing/<module>/<table>' (modules here: "
                      f"{', '.join(nwb.processing) or 'none'})")


def unit_features(pop: SpikePopulation, window_ms: float = FANO_WINDOW_MS) -> dict:
    """Per-neuron rate (Hz), ISI CV (neurons with >= 3 spikes) and Fano factor of the
    spike counts in consecutive ``window_ms`` bins (neurons with spikes; needs >= 2 bins)."""
    rates = pop.rates_Hz()
    cvs = pop.cvs()
    n_bins = int((pop.t_stop_ms - pop.t_start_ms) // window_ms)
    fanos = []
    if n_bins >= 2:
        edges = pop.t_start_ms + window_ms * np.arange(n_bins + 1)
        for t in pop.trains_ms:
            counts = np.histogram(t, edges)[0]
            if counts.mean() > 0:
                fanos.append(float(counts.var() / counts.mean()))
    return {"rate": np.asarray(rates, dtype=float), "cv": np.asarray(cvs, dtype=float),
            "fano": np.asarray(fanos, dtype=float)}


def _range90(x: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(x, 5)), float(np.percentile(x, 95))


class RecordedDistribution(ValidationTest):
    """One feature's distribution over a model population against the recorded units'.

    Pass rule: the model's median lies inside the recording's 5-95 % range, and the two
    5-95 % ranges overlap. The two-sample Kolmogorov-Smirnov statistic and its p-value
    are reported (not a pass rule: with hundreds of units any model differs).
    """

    severity = FAIL

    def __init__(self, feature: str, recording: Recording, population: str, extractor):
        label, units = FEATURES[feature]
        self.feature, self.extractor, self.recording = feature, extractor, recording
        values = unit_features(recording.population)[feature]
        if len(values) < 2:
            raise BioSNNError(f"--observations: {recording.path}: fewer than 2 units with a "
                              f"defined {label}; cannot compare distributions")
        self.recorded = values
        lo, hi = _range90(values)
        super().__init__(f"recorded-{feature}-{population}", Observation(
            f"{label} distribution of the recorded units: model median inside their "
            f"5-95 % range, ranges overlapping (KS reported)", recording.source,
            low=lo, high=hi, units=units))
        self.figure_name = self.name

    def figure(self, results):
        """Histograms of the model's and the recording's values, 5-95 % ranges shaded."""
        import matplotlib.pyplot as plt

        pop = self.extractor(results)
        model = unit_features(pop)[self.feature]
        label, units = FEATURES[self.feature]
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        both = np.concatenate([model, self.recorded])
        bins = np.linspace(both.min(), both.max(), 30) if both.max() > both.min() else 10
        ax.hist(self.recorded, bins=bins, density=True, alpha=0.5, label="recorded units")
        ax.hist(model, bins=bins, density=True, alpha=0.5, label=pop.label)
        ax.axvspan(self.observation.low, self.observation.high, color="0.85", zorder=0,
                   label="recorded 5-95 %")
        ax.set_xlabel(label + ("" if units == "1" else f" ({units})"))
        ax.set_ylabel("density")
        ax.set_title(self.name, fontsize=9)
        ax.legend(fontsize=7, frameon=False)
        fig.tight_layout()
        return fig

    def generate_prediction(self, results):
        pop = self.extractor(results)
        values = unit_features(pop)[self.feature]
        if len(values) == 0:
            return Prediction(None, self.observation.units,
                              f"no neuron of {pop.label} has a defined value", {})
        from scipy.stats import ks_2samp

        ks = ks_2samp(values, self.recorded)
        lo, hi = _range90(values)
        med = float(np.median(values))
        return Prediction(med, self.observation.units,
                          f"median {fmt(med)} (5-95 %: {fmt(lo)}-{fmt(hi)}) over "
                          f"{len(values)} neurons; KS D {fmt(ks.statistic)}",
                          {"values": values.tolist(), "median": med, "range90": [lo, hi],
                           "ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
                           "recorded_median": float(np.median(self.recorded)),
                           "population": pop.label})

    def compute_score(self, observation, prediction):
        if prediction.value is None:
            return Score(False, None, "no model value")
        lo, hi = observation.low, observation.high
        m_lo, m_hi = prediction.details["range90"]
        inside = lo <= prediction.value <= hi
        overlap = m_lo <= hi and lo <= m_hi
        return Score(inside and overlap, prediction.details["ks_statistic"],
                     f"median {fmt(prediction.value)} in [{fmt(lo)}, {fmt(hi)}]: {fmt(inside)}; "
                     f"ranges overlap: {fmt(overlap)}; KS D "
                     f"{fmt(prediction.details['ks_statistic'])} "
                     f"(p {fmt(prediction.details['ks_pvalue'])})")


def recorded_tests(spec: str):
    """Registry entries scoring every firing-regime population against a recording:
    ``(Entry, ...)`` for each feature x population."""
    from .regimes import FiringRateRegime
    from .registry import ENTRIES, Entry

    recording = read_recording(spec)
    out = []
    for e in ENTRIES:
        if isinstance(e.test, FiringRateRegime):
            population = e.test.name[len("regime-rate-"):]
            for feature in FEATURES:
                out.append(Entry(RecordedDistribution(feature, recording, population,
                                                      e.test.extractor),
                                 e.protocol, e.seed, e.overrides))
    return out

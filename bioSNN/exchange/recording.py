"""A run's data as a neutral recording: populations with spike trains, state traces,
stimuli and intervals, in SI units. The NWB and Neo writers both start from it, so the
two files say the same thing.

:func:`recording_of` reads a :class:`~bioSNN.results.Results` by the naming rules in
``docs/exchange.md``; a kind can refine it (population models, trials) with a
``recording(data, params, rec)`` static method.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from brian2 import amp, get_dimensions, hertz, siemens, volt

__all__ = ["Population", "Trace", "Intervals", "Recording", "recording_of", "si_factor"]

# dimension -> the unit name NWB expects in TimeSeries.unit
_SI_NAMES = ((get_dimensions(volt), "volts"), (get_dimensions(amp), "amperes"),
             (get_dimensions(siemens), "siemens"), (get_dimensions(hertz), "hertz"))
_TIME_UNITS = {"ms": 1e-3, "s": 1.0, "second": 1.0, "us": 1e-6, "msecond": 1e-3}
_INDEX_SUFFIXES = ("neuron", "index", "cell")


def si_factor(unit: str) -> tuple[float, str] | None:
    """``(factor, nwb_unit)`` turning values in ``unit`` (a Brian2 unit name such as
    ``"mV"``) into SI values of ``nwb_unit`` (``"volts"``...); None for dimensionless
    or unknown units and for units NWB has no name for here."""
    from ..units import parse_quantity

    if unit in ("1", "", "dimensionless"):
        return None
    try:
        q = parse_quantity(f"1 {unit}")
    except Exception:
        return None
    for dim, name in _SI_NAMES:
        if get_dimensions(q) is dim:
            return float(np.asarray(q)), name
    return None


@dataclass
class Population:
    """One group of neurons and its spikes.

    Attributes
    ----------
    name : str
        Population name (``"lif"``, ``"hidden"``, ``"input"``...).
    size : int
        Number of neurons (rows of the NWB Units table; neurons without spikes included).
    spike_index, spike_time : ndarray
        Neuron index (0..size-1) and time in **seconds** of every spike, sorted by time.
    model : str
        The neuron model in words (``"seed LIF (Brian2)"``, ``"Poisson spike generator"``).
    parameters : dict
        The model's parameters as text with units (``{"tau_m": "10 ms"}``).
    role : str
        ``"recorded"`` (a simulated population) or ``"stimulus"`` (spike generators
        driving the network).
    labels : list of str or None
        Per-neuron names (e.g. the Izhikevich preset of each neuron).
    """

    name: str
    size: int
    spike_index: np.ndarray
    spike_time: np.ndarray
    model: str = "not stated"
    parameters: dict = field(default_factory=dict)
    role: str = "recorded"
    labels: list | None = None

    def trains(self) -> list[np.ndarray]:
        """The spike times (s) of each neuron, in index order."""
        order = np.argsort(self.spike_index, kind="stable")
        idx, t = self.spike_index[order], self.spike_time[order]
        cuts = np.searchsorted(idx, np.arange(self.size + 1))
        return [t[cuts[k]:cuts[k + 1]] for k in range(self.size)]


@dataclass
class Trace:
    """A sampled signal: ``data[time, channel]`` in ``unit`` times ``conversion`` = SI.

    ``times`` are the sample times in seconds; ``channels`` names each column;
    ``role`` is ``"recorded"`` (a state variable) or ``"stimulus"`` (an injected input).
    """

    name: str
    data: np.ndarray
    times: np.ndarray
    unit: str
    conversion: float
    description: str
    channels: list
    role: str = "recorded"

    @property
    def rate(self) -> float | None:
        """Sampling rate (Hz) when the samples are regular, else None."""
        if len(self.times) < 2:
            return None
        step = np.diff(self.times)
        if np.allclose(step, step[0], rtol=1e-9, atol=1e-12):
            return float(1.0 / step[0])
        return None


@dataclass
class Intervals:
    """Trials or epochs: ``start``/``stop`` in seconds and per-interval columns."""

    name: str
    start: np.ndarray
    stop: np.ndarray
    columns: dict = field(default_factory=dict)
    descriptions: dict = field(default_factory=dict)


@dataclass
class Recording:
    """Everything an exchange file holds of one run (SI units throughout)."""

    protocol: str
    kind: str
    description: str
    seed: int
    t_stop: float
    populations: list = field(default_factory=list)
    traces: list = field(default_factory=list)
    intervals: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    spec_toml: str = ""
    summary: dict = field(default_factory=dict)
    resolution: float | None = None
    """Time step (s) of the simulation: the resolution of the spike times."""

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population {name!r}; this recording has "
                       f"{', '.join(p.name for p in self.populations) or 'none'}")


def _time_factor(var: xr.DataArray) -> float | None:
    return _TIME_UNITS.get(str(var.attrs.get("units", "")))


def _spike_sets(data: xr.Dataset):
    """Yield ``(name, index_var or None, time_var)`` for every spike train in ``data``:
    a variable ``<prefix>spike_time`` (or ``<prefix>time`` on a ``*spike`` dimension)
    with a sibling ``<prefix>spike_{neuron,index,cell}`` on the same dimension."""
    for tname, tvar in data.data_vars.items():
        if tvar.ndim != 1 or _time_factor(tvar) is None:
            continue
        dim = tvar.dims[0]
        if tname.endswith("spike_time"):
            prefix = tname[:-len("spike_time")]
            candidates = [f"{prefix}spike_{s}" for s in _INDEX_SUFFIXES]
        elif dim.endswith("spike") and tname.endswith("_time"):
            prefix = tname[:-len("time")]
            candidates = [f"{prefix}{s}" for s in _INDEX_SUFFIXES]
        else:
            continue
        index = next((c for c in candidates if c in data.data_vars
                      and data[c].dims == (dim,)), None)
        name = prefix.strip("_") or "neurons"
        yield name, index, tname


def _population_dim(data: xr.Dataset, name: str) -> str | None:
    """The dimension that enumerates a population's neurons, if the data has one."""
    for dim in (name, f"{name}_neuron", "neuron" if name == "neurons" else None,
                "cell" if name == "neurons" else None):
        if dim and dim in data.sizes:
            return dim
    return None


def _labels(data: xr.Dataset, dim: str) -> list | None:
    """Per-neuron labels: the text variables on the population's dimension, joined."""
    parts = [np.asarray(v.values).astype(str) for name, v in data.variables.items()
             if v.dims == (dim,) and v.dtype.kind in "OUS" and name != dim]
    if not parts:
        return None
    return ["/".join(p[k] for p in parts) for k in range(data.sizes[dim])]


def _scalar_parameters(data: xr.Dataset) -> dict:
    out = {}
    for name, var in data.data_vars.items():
        if var.ndim == 0 and var.dtype.kind in "if":
            unit = var.attrs.get("units", "1")
            out[name] = f"{float(var.values):g}" + ("" if unit == "1" else f" {unit}")
    return out


def _traces(data: xr.Dataset) -> list[Trace]:
    out = []
    for name, var in data.data_vars.items():
        conv = si_factor(str(var.attrs.get("units", "")))
        if conv is None:
            continue
        time_dim = next((d for d in var.dims if d in data.coords and "time" in data.coords
                         and data.coords["time"].dims == (d,)), None)
        if time_dim is None or var.ndim < 2:
            continue
        times = np.asarray(data.coords["time"].values, dtype=float) * (
            _time_factor(data.coords["time"]) or 1e-3)
        other = [d for d in var.dims if d != time_dim]
        values = var.transpose(time_dim, *other).values
        values = values.reshape(len(times), -1)
        grids = np.meshgrid(*[np.asarray(data[d].values if d in data.coords else
                                         np.arange(data.sizes[d])) for d in other],
                            indexing="ij")
        channels = ["/".join(f"{d}={g.ravel()[k]}" for d, g in zip(other, grids))
                    for k in range(values.shape[1])]
        text = str(var.attrs.get("long_name", name))
        role = "stimulus" if name in ("I", "I_stim", "I_inj") or "injected" in text else "recorded"
        out.append(Trace(name=name, data=np.asarray(values), times=times,
                         unit=conv[1], conversion=conv[0], role=role, channels=channels,
                         description=f"{text} [{var.attrs.get('units')}; "
                                     f"columns: {', '.join(other) or 'one'}]"))
    return out


def _matrices(data: xr.Dataset) -> dict:
    """Weight-like variables (name contains ``w``/``weight``, ≥ 1-D, no time axis)."""
    out = {}
    for name, var in data.data_vars.items():
        if var.ndim >= 1 and var.dtype.kind == "f" and (
                name.startswith(("w_", "weight")) or name in ("w", "weights")):
            out[name] = var
    return out


def recording_of(results, with_weights: bool = False) -> Recording:
    """The neutral recording of a run (see the module docstring).

    Parameters
    ----------
    results : Results
    with_weights : bool
        Also carry weight matrices (``tables``) for the writers.
    """
    from ..protocols.registry import get_kind

    data, spec = results.data, results.spec
    params = spec.params
    shared = _scalar_parameters(data)
    pops = []
    for name, index_var, time_var in _spike_sets(data):
        t = np.asarray(data[time_var].values, dtype=float) * _time_factor(data[time_var])
        idx = (np.asarray(data[index_var].values, dtype=np.int64) if index_var
               else np.zeros(len(t), dtype=np.int64))
        order = np.lexsort((idx, t))
        dim = _population_dim(data, name) if index_var else None
        size = (int(data.sizes[dim]) if dim else int(idx.max()) + 1 if len(idx) else 0) \
            if index_var else 1
        role = "stimulus" if name.startswith("input") else "recorded"
        pops.append(Population(name=name, size=size, spike_index=idx[order],
                               spike_time=t[order], role=role,
                               labels=_labels(data, dim) if dim else None,
                               model="spike generator" if role == "stimulus" else "not stated",
                               parameters=dict(shared)))
    duration = getattr(params, "duration", None)
    t_stop = float(np.asarray(duration)) if duration is not None else 0.0
    for p in pops:
        if len(p.spike_time):
            t_stop = max(t_stop, float(p.spike_time.max()))
    traces = _traces(data)
    for tr in traces:
        if len(tr.times):
            t_stop = max(t_stop, float(tr.times.max()))
    rec = Recording(protocol=spec.name, kind=spec.kind, description=spec.description,
                    seed=int(results.seed), t_stop=t_stop, populations=pops, traces=traces,
                    provenance=dict(results.provenance), spec_toml=spec.to_toml(),
                    summary=dict(results.summary))
    dt = getattr(params, "dt", None)
    if dt is not None:
        rec.resolution = float(np.asarray(dt))
    if with_weights:
        rec.tables = _matrices(data)
    cls = get_kind(spec.kind)
    for pop in pops:
        pop.model = cls.populations.get(pop.name, pop.model)
        pop.parameters.update(_flat_parameters(spec.parameter_table()))
    refine = getattr(cls, "recording", None)
    if refine is not None:
        refine(data, params, rec)
    return rec


def _flat_parameters(table: dict) -> dict[str, str]:
    """Parameter name -> text; a table parameter becomes one entry per key,
    ``<name>_<key>`` (NWB columns hold no dictionaries; nwbinspector flags them)."""
    out = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update({f"{k}_{sub}": str(x) for sub, x in v.items()})
        else:
            out[k] = str(v)
    return out


def provenance_text(rec: Recording) -> str:
    """The run's provenance as JSON (git commit, versions, seed streams, command)."""
    return json.dumps(rec.provenance, indent=1, sort_keys=True, default=str)

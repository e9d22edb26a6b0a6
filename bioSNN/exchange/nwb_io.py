"""Write a run as an NWB 2 file (pynwb): spikes in ``Units``, state traces in
``acquisition``, stimuli in ``stimulus``, trials, provenance in the file's metadata.
The layout is described in ``docs/exchange.md``."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .recording import Recording, provenance_text

__all__ = ["write_nwb", "nwb_file", "UNIDENTIFIED"]


def _start_time(rec: Recording) -> datetime:
    text = rec.provenance.get("started_utc")
    if text:
        try:
            when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime(1970, 1, 1, tzinfo=timezone.utc)


def _identifier(rec: Recording) -> str:
    key = f"bioSNN:{rec.protocol}:{rec.kind}:seed={rec.seed}:{rec.provenance.get('started_utc')}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def _compressed(array):
    from hdmf.backends.hdf5.h5_utils import H5DataIO

    array = np.asarray(array)
    return H5DataIO(array, compression="gzip", compression_opts=4) if array.size > 4096 else array


UNIDENTIFIED = "http://purl.obolibrary.org/obo/NCBITaxon_32644"
"""NCBI taxon 32644, "unidentified": the default species of a simulated subject."""


def _column_blocks(tr):
    """``(name, columns)`` of the TimeSeries a trace is written as: one, unless it has
    more channels than samples (NWB wants time as the longest axis, nwbinspector's
    check_data_orientation), then blocks of at most as many channels as samples,
    named ``<name>_0``, ``<name>_1``, ..."""
    n_t, n_c = tr.data.shape
    if n_c <= n_t:
        return [(tr.name, np.arange(n_c))]
    size = max(1, n_t)
    return [(f"{tr.name}_{k}", np.arange(s, min(s + size, n_c)))
            for k, s in enumerate(range(0, n_c, size))]



def _units_table(rec: Recording, recorded):
    """The ``Units`` table of the recorded populations, one row per neuron, built in
    bulk (ragged columns from flat arrays: 2 500 neurons in 0.05 s instead of 2.5 s
    through ``add_unit`` row by row)."""
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb.misc import Units

    keys = sorted({k for pop in recorded for k in pop.parameters})
    per_pop = [[np.asarray(t, dtype=np.float64) for t in pop.trains()] for pop in recorded]
    trains = [t for pop_trains in per_pop for t in pop_trains]
    n = len(trains)
    stops = np.array([max(rec.t_stop, float(t.max()) if len(t) else 0.0) for t in trains])
    flat = np.concatenate(trains) if n else np.zeros(0)
    ends = np.cumsum([len(t) for t in trains]).astype(np.int64)

    def column(name, description, values):
        return VectorData(name=name, description=description, data=list(values))

    population, index, model, label = [], [], [], []
    params = {k: [] for k in keys}
    for pop, pop_trains in zip(recorded, per_pop):
        m = len(pop_trains)
        population += [pop.name] * m
        index += list(range(m))
        model += [pop.model] * m
        label += [pop.labels[k] for k in range(m)] if pop.labels else [""] * m
        for k in keys:
            params[k] += [str(pop.parameters.get(k, ""))] * m
    columns = [
        column("population", "population the neuron belongs to", population),
        VectorData(name="neuron_index", description="index of the neuron within its "
                   "population (0-based)", data=np.asarray(index, dtype=np.int64)),
        column("model", "neuron model of the population", model),
    ]
    columns += [column(f"param_{k}", f"model parameter {k} of the neuron's population, with "
                       f"its unit (empty: not a parameter of that population)", params[k])
                for k in keys]
    columns.append(column("label", "per-neuron label (e.g. preset name), empty if none", label))
    spikes = VectorData(name="spike_times", description="the spike times for each unit in "
                        "seconds", data=flat)
    intervals = VectorData(name="obs_intervals", description="the observation intervals "
                           "for each unit", data=np.column_stack([np.zeros(n), stops]))
    columns += [spikes, VectorIndex(name="spike_times_index", data=ends, target=spikes),
                intervals, VectorIndex(name="obs_intervals_index",
                                       data=np.arange(1, n + 1, dtype=np.int64),
                                       target=intervals)]
    return Units(name="units", description="spike times of every simulated neuron (s), one "
                 "row per neuron, grouped by population",
                 resolution=rec.resolution if rec.resolution else -1.0,
                 id=ElementIdentifiers(name="id", data=np.arange(n, dtype=np.int64)),
                 columns=columns)


def nwb_file(rec: Recording, species: str = UNIDENTIFIED):
    """The in-memory ``pynwb.NWBFile`` of a recording; ``species`` of the modelled
    tissue (Latin binomial or NCBI taxonomy IRI; default "unidentified")."""
    from hdmf.common import DynamicTable, VectorData
    from pynwb import NWBFile, TimeSeries
    from pynwb.file import Subject

    git = rec.provenance.get("git") or {}
    nwb = NWBFile(
        session_description=f"bioSNN protocol {rec.protocol!r} (kind {rec.kind!r}), seed "
                            f"{rec.seed}: {rec.description}",
        identifier=_identifier(rec),
        session_start_time=_start_time(rec),
        experiment_description=rec.description or rec.protocol,
        protocol=rec.spec_toml,
        notes=provenance_text(rec),
        source_script=f"bioSNN {rec.provenance.get('versions', {}).get('bioSNN', '')} "
                      f"(git {git.get('commit', 'unknown')}); command: "
                      f"{rec.provenance.get('command', '')}",
        source_script_file_name="bioSNN",
        # no keywords/experimenter: neo.NWBIO 0.14 cannot read list-valued metadata
        data_collection="Simulated with bioSNN; no experimental data. The spec that was run "
                        "is in 'protocol', the provenance (seed streams, versions, git "
                        "commit) in 'notes'.",
    )
    # a simulation has no animal; NWB requires a subject: the model, "born" when the run
    # started, sex unknown, species as given (default NCBI taxon 32644, "unidentified")
    nwb.subject = Subject(
        subject_id=f"{rec.protocol}-seed{rec.seed}",
        description=f"in silico: the spiking network of bioSNN protocol {rec.protocol!r} "
                    f"(kind {rec.kind!r}), seed {rec.seed}; no animal was used. date_of_birth "
                    f"is the start of the run.",
        species=species, sex="U", date_of_birth=_start_time(rec))
    recorded = [p for p in rec.populations if p.role != "stimulus"]
    if recorded:
        nwb.units = _units_table(rec, recorded)
    for pop in rec.populations:
        if pop.role != "stimulus":
            continue
        nwb.add_stimulus(TimeSeries(
            name=f"{pop.name}_spikes", data=_compressed(pop.spike_index.astype(np.int64)),
            timestamps=_compressed(pop.spike_time.astype(np.float64)), unit="n.a.",
            description=f"spikes of the {pop.size} {pop.model} neurons of population "
                        f"{pop.name!r}: each sample is the index (0..{pop.size - 1}) of the "
                        f"neuron that spiked at that timestamp; parameters "
                        f"{json.dumps(pop.parameters, sort_keys=True)}",
            continuity="instantaneous"))
    for tr in rec.traces:
        for name, cols in _column_blocks(tr):
            kwargs = dict(name=name, data=_compressed(tr.data[:, cols]), unit=tr.unit,
                          conversion=float(tr.conversion), continuity="continuous",
                          description=tr.description,
                          comments="columns: " + "; ".join(str(tr.channels[c]) for c in cols))
            rate = tr.rate
            if rate is not None:
                ts = TimeSeries(starting_time=float(tr.times[0]), rate=rate, **kwargs)
            else:
                ts = TimeSeries(timestamps=np.asarray(tr.times, dtype=np.float64), **kwargs)
            (nwb.add_stimulus if tr.role == "stimulus" else nwb.add_acquisition)(ts)
    for iv in rec.intervals:
        add_column, add_row = ((nwb.add_trial_column, nwb.add_trial) if iv.name == "trials"
                               else (nwb.add_epoch_column, nwb.add_epoch))
        for col in iv.columns:
            add_column(name=col, description=iv.descriptions.get(col, col))
        for k in range(len(iv.start)):
            row = {c: v[k].item() if hasattr(v[k], "item") else v[k]
                   for c, v in iv.columns.items()}
            if iv.name == "trials":
                add_row(start_time=float(iv.start[k]), stop_time=float(iv.stop[k]), **row)
            else:
                add_row(start_time=float(iv.start[k]), stop_time=float(iv.stop[k]),
                        tags=[iv.name], **row)
    if rec.tables:
        module = nwb.create_processing_module(
            name="weights", description="synaptic weights and other matrices of the run "
                                        "(one row per element; --with-weights)")
        for name, var in rec.tables.items():
            values = np.asarray(var.values)
            grids = np.meshgrid(*[np.arange(n) for n in values.shape], indexing="ij")
            columns = [VectorData(name=f"{d}_index", data=g.ravel().astype(np.int64),
                                  description=f"index along {d}")
                       for d, g in zip(var.dims, grids)]
            columns.append(VectorData(name="value", data=values.ravel(), description=(
                f"{var.attrs.get('long_name', name)} [{var.attrs.get('units', '1')}]")))
            module.add(DynamicTable(name=name, description=f"data variable {name!r} of "
                                    f"data.nc, dims {tuple(var.dims)}", columns=columns))
    return nwb


def write_nwb(rec: Recording, path: str | os.PathLike, species: str = UNIDENTIFIED) -> Path:
    """Write ``rec`` to ``path`` (an ``.nwb`` file) atomically; returns the path."""
    from pynwb import NWBHDF5IO

    from ..results import atomic_output

    nwb = nwb_file(rec, species)
    with atomic_output(path) as tmp, NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)
    return Path(path)

"""A run as a ``neo.Block`` (Neo 0.13+): one Segment with a SpikeTrain per neuron
(annotated with population, index, role), AnalogSignals for the traces, Epochs for
trials, one ``neo.Group`` per population (its model and parameters). Elephant works on
these objects directly; the validation suite builds its spike trains with
:func:`spike_train`.

On disk (NIX, ``.nix``) each population is one SpikeTrain of all its spikes with the
array annotation ``neuron_index`` (NIX writes every object with its own metadata, about
50 ms per train: a per-neuron file of a 12 500-neuron network would take ten minutes);
:func:`read_neo` gives back the per-neuron Block."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .recording import Recording, provenance_text

__all__ = ["spike_train", "to_neo", "write_neo", "read_neo"]


def spike_train(times, t_start, t_stop, units: str = "s", **annotations):
    """A ``neo.SpikeTrain`` of sorted spike ``times`` in ``[t_start, t_stop]`` (all in
    ``units``: ``"s"`` or ``"ms"``), with ``annotations``."""
    import neo
    import quantities as pq

    unit = {"s": pq.s, "ms": pq.ms}[units]
    t = np.sort(np.asarray(times, dtype=float))
    return neo.SpikeTrain(t * unit, t_start=float(t_start) * unit, t_stop=float(t_stop) * unit,
                          **annotations)


def to_neo(rec: Recording, per_neuron: bool = True):
    """The ``neo.Block`` of a recording (times in seconds, signals in their SI unit);
    ``per_neuron=False``: one SpikeTrain per population (array annotation
    ``neuron_index``), the layout of the NIX file."""
    import neo
    import quantities as pq

    block = neo.Block(name=rec.protocol, description=rec.description,
                      file_origin="bioSNN", protocol=rec.protocol, kind=rec.kind,
                      seed=rec.seed, spec_toml=rec.spec_toml,
                      provenance=provenance_text(rec),
                      summary=json.dumps(rec.summary, default=str))
    seg = neo.Segment(name=f"{rec.protocol} seed {rec.seed}", index=0)
    block.segments.append(seg)
    t_stop = rec.t_stop
    for pop in rec.populations:
        trains = []
        if not per_neuron:
            end = max(t_stop, float(pop.spike_time.max()) if len(pop.spike_time) else 0.0)
            st = spike_train(pop.spike_time, 0.0, end, "s", name=pop.name, population=pop.name,
                             role=pop.role, size=pop.size, layout="population",
                             **({"labels": json.dumps(pop.labels)} if pop.labels else {}))
            # spike_train sorts by time; spike_time is sorted (ties by index) already
            st.array_annotate(neuron_index=np.asarray(pop.spike_index, dtype=np.int64))
            trains.append(st)
            seg.spiketrains.append(st)
        for k, times in enumerate(pop.trains() if per_neuron else []):
            end = max(t_stop, float(times.max()) if len(times) else 0.0)
            # per train only what differs between trains (NIX writes every annotation
            # of every train as metadata: the model's parameters live on the Group)
            st = spike_train(times, 0.0, end, "s", name=f"{pop.name}[{k}]",
                             population=pop.name, neuron_index=k, role=pop.role,
                             **({"label": pop.labels[k]} if pop.labels else {}))
            trains.append(st)
            seg.spiketrains.append(st)
        group = neo.Group(trains, name=pop.name, population=pop.name, model=pop.model,
                          role=pop.role, size=pop.size,
                          model_parameters=json.dumps(pop.parameters, sort_keys=True))
        block.groups.append(group)
    units = {"volts": pq.V, "amperes": pq.A, "siemens": pq.S, "hertz": pq.Hz}
    for tr in rec.traces:
        values = np.asarray(tr.data, dtype=float) * tr.conversion
        kw = dict(name=tr.name, description=tr.description, role=tr.role,
                  channels=json.dumps([str(c) for c in tr.channels]))
        rate = tr.rate
        if rate is not None:
            sig = neo.AnalogSignal(values, units=units[tr.unit], sampling_rate=rate * pq.Hz,
                                   t_start=float(tr.times[0]) * pq.s, **kw)
            seg.analogsignals.append(sig)
        else:
            sig = neo.IrregularlySampledSignal(np.asarray(tr.times) * pq.s, values,
                                               units=units[tr.unit], **kw)
            seg.irregularlysampledsignals.append(sig)
    for iv in rec.intervals:
        labels = np.array([f"{iv.name} {k}" for k in range(len(iv.start))])
        ep = neo.Epoch(times=np.asarray(iv.start) * pq.s,
                       durations=(np.asarray(iv.stop) - np.asarray(iv.start)) * pq.s,
                       labels=labels, name=iv.name,
                       **{c: json.dumps(np.asarray(v).tolist()) for c, v in iv.columns.items()})
        seg.epochs.append(ep)
    block.check_relationships()
    return block


def write_neo(rec: Recording, path: str | os.PathLike) -> Path:
    """Write the Block of ``rec`` as a NIX file (``neo.NixIO``), atomically."""
    import neo

    from ..results import atomic_output

    block = to_neo(rec, per_neuron=False)
    with atomic_output(path) as tmp, neo.NixIO(str(tmp), mode="ow") as io:
        io.write_block(block)
    return Path(path)


def read_neo(path: str | os.PathLike):
    """Read a NIX file written by :func:`write_neo` and give back the per-neuron Block
    (one SpikeTrain per neuron, annotated ``population``, ``neuron_index``, ``role``)."""
    import neo

    with neo.NixIO(str(path), mode="ro") as io:
        block = io.read_block()
    seg = block.segments[0]
    expanded = []
    for st in list(seg.spiketrains):
        if st.annotations.get("layout") != "population":
            expanded.append(st)
            continue
        idx = np.asarray(st.array_annotations["neuron_index"], dtype=np.int64)
        labels = json.loads(st.annotations["labels"]) if "labels" in st.annotations else None
        times = st.rescale("s").magnitude
        for k in range(int(st.annotations["size"])):
            expanded.append(spike_train(
                times[idx == k], float(st.t_start.rescale("s")), float(st.t_stop.rescale("s")),
                "s", name=f"{st.annotations['population']}[{k}]",
                population=st.annotations["population"], neuron_index=k,
                role=st.annotations["role"], **({"label": labels[k]} if labels else {})))
    new = neo.Segment(name=seg.name, index=0, **seg.annotations)
    new.spiketrains = expanded
    for sig in seg.analogsignals:
        new.analogsignals.append(sig)
    for sig in seg.irregularlysampledsignals:
        new.irregularlysampledsignals.append(sig)
    for ep in seg.epochs:
        new.epochs.append(ep)
    out = neo.Block(name=block.name, description=block.description, **block.annotations)
    out.segments.append(new)
    return out

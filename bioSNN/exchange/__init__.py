"""Exchange with the field: a run as NWB 2 (pynwb) or Neo (NIX) files.

``bioSNN.exchange.export_run(folder, "nwb")`` or ``biosnn export RUN --format nwb``;
``Results.to_nwb(path)`` and ``Results.to_neo()`` in Python. The layout is in
``docs/exchange.md``.
"""
from .export import FORMATS, export_run
from .recording import Intervals, Population, Recording, Trace, recording_of

__all__ = ["FORMATS", "export_run", "recording_of", "Recording", "Population", "Trace",
           "Intervals"]

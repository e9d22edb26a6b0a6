"""Brian2 replay of the trained CSNN: the same network, in biological units, neuron by neuron.

The spiking embedder of :mod:`bioSNN.embedder` is exported to a Brian2 network of LIF
neurons (:mod:`~bioSNN.replay.units`, :mod:`~bioSNN.replay.connectivity`,
:mod:`~bioSNN.replay.network`), re-run on the inputs of its snnTorch reference
(:mod:`~bioSNN.replay.reference`) and compared (:mod:`~bioSNN.replay.compare`). The
mapping, the update order and the step alignment are described in ``docs/replay.md``.
"""
from .compare import embedding_errors, mismatches, prototype_decisions
from .network import STAGE_OFFSET, period, replay_brian2
from .reference import LIF_STAGES, STAGES, RateCoded, Recording, rate_code, torch_reference
from .units import BioMapping

__all__ = ["BioMapping", "LIF_STAGES", "STAGES", "STAGE_OFFSET", "RateCoded", "Recording",
           "check_state_dict", "embedding_errors", "load_embedder", "mismatches", "period",
           "prototype_decisions", "rate_code", "replay_brian2", "torch_reference"]


def __getattr__(name):
    # trained weights are loaded by bioSNN.embedder.checkpoint (one checkpoint module);
    # offered here too, as documented, without importing torch with this package
    if name in ("check_state_dict", "load_embedder"):
        from ..embedder import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

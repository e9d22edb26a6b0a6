"""bioSNN: spiking neural networks in biological units.

Brian2 neuron models and plasticity, named experimental protocols with provenance,
snnTorch embedders, and validation against biological regimes. The public API::

    import bioSNN as bs
    r = bs.run("lif-fi-curve", quick=True)
    bs.load(r.folder).summary, bs.find_runs("lif-fi-curve", seed=0)
"""
__version__ = "0.1.0"

from .api import (export, figures, find_runs, list_protocols, load, pipeline, run,  # noqa: E402
                  spec, sweep, validate)

__all__ = ["__version__", "export", "figures", "find_runs", "list_protocols", "load",
           "pipeline", "run", "spec", "sweep", "validate"]

"""bioSNN: spiking neural networks in biological units.

Brian2 neuron models and plasticity, named experimental protocols with provenance,
snnTorch embedders, and validation against biological regimes.
"""
__version__ = "0.1.0"

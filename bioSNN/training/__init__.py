"""Torch parts for training spiking networks directly: encoders, decoders, surrogate
gradients and LIF variants (pure functions plus thin modules).

The manual, with the equations and the snnTorch correspondence, is ``docs/training.md``.
"""
from .conversion import IFRun, layer_scales, normalize, percentile_scale, simulate_if
from .decoders import (Decoded, decode_count, decode_first_spike, decode_max_membrane,
                       first_spike_times)
from .encoders import (delta_decode, delta_encode, latency_encode, latency_times, poisson_encode,
                       population_encode, rate_encode)
from .lif import RESETS, Leaky, LIFParams, LIFState, lif_run, lif_step
from .perturb import delete_spikes, gaussian_pixel_noise, jitter_spikes, salt_and_pepper
from .surrogates import (SURROGATES, ATan, FastSigmoid, Sigmoid, Surrogate, Triangle, get_surrogate,
                         spike)

__all__ = [
    # encoders
    "rate_encode", "poisson_encode", "latency_times", "latency_encode", "delta_encode",
    "delta_decode", "population_encode",
    # decoders
    "Decoded", "decode_count", "decode_first_spike", "decode_max_membrane", "first_spike_times",
    # surrogates
    "Surrogate", "FastSigmoid", "Sigmoid", "ATan", "Triangle", "SURROGATES", "get_surrogate",
    "spike",
    # neurons
    "RESETS", "LIFParams", "LIFState", "lif_step", "lif_run", "Leaky",
    # ANN -> SNN conversion (docs/conversion.md)
    "percentile_scale", "layer_scales", "normalize", "simulate_if", "IFRun",
    # input perturbations (docs/robustness.md)
    "gaussian_pixel_noise", "salt_and_pepper", "delete_spikes", "jitter_spikes",
]

"""Audio front end for spiking networks: the Free Spoken Digit Dataset (:mod:`.data`), a
log-mel filterbank (:mod:`.filterbank`) and per-channel spike codes (:mod:`.spikes`).

The manual, with the equations and parameters, is ``docs/audio.md``.
"""
from .data import (FSDD_SUBDIR, SPEAKERS, Recording, find_fsdd, list_recordings, load_waveforms,
                   read_wav, split_indices)
from .filterbank import FilterbankParams, fix_frames, hz_to_mel, level, log_mel, mel_filterbank, \
    mel_to_hz, stft_power
from .spikes import ENCODINGS, delta_spikes, encode, n_inputs, rate_spikes

__all__ = [
    "FSDD_SUBDIR", "SPEAKERS", "Recording", "find_fsdd", "list_recordings", "read_wav",
    "load_waveforms", "split_indices",
    "FilterbankParams", "hz_to_mel", "mel_to_hz", "mel_filterbank", "stft_power", "log_mel",
    "level", "fix_frames",
    "ENCODINGS", "delta_spikes", "rate_spikes", "encode", "n_inputs",
]

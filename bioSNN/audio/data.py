"""The Free Spoken Digit Dataset (FSDD): where it is, its recordings and its splits.

FSDD is looked for in ``<root>/fsdd/recordings/`` with ``<root>`` from
:func:`bioSNN.embedder.data.resolve_data_root` (``--data-root DIR``, then
``$BIOSNN_DATA``); it is never downloaded. File names are
``{digit}_{speaker}_{index}.wav`` (8 kHz, mono, 16-bit PCM). Splits: the official one
(index 0-4 test, 5-49 train) and leave-one-speaker-out (``"speaker:<name>"``).

References
----------
Z. Jackson, C. Souza, J. Flaks, Y. Pan, H. Nicolas, A. Thite (2018) Free Spoken Digit
Dataset v1.0.8, Zenodo, doi:10.5281/zenodo.1342401 (CC BY-SA 4.0).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DataNotFoundError

__all__ = ["FSDD_SUBDIR", "SPEAKERS", "N_TEST_INDEX", "Recording", "find_fsdd",
           "list_recordings", "read_wav", "load_waveforms", "split_indices", "parse_split"]

#: Folder of the WAV files below the data root.
FSDD_SUBDIR = Path("fsdd") / "recordings"
#: The six speakers of FSDD v1.0.8, in alphabetical order.
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
#: Official split: recordings with index < 5 are the test set.
N_TEST_INDEX = 5
_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


class Recording(NamedTuple):
    """One FSDD file: spoken ``digit`` (0-9), ``speaker``, repetition ``index`` (0-49)."""

    digit: int
    speaker: str
    index: int
    path: Path


def find_fsdd(data_root: str | os.PathLike | None = None) -> Path:
    """The FSDD recordings folder, ``<root>/fsdd/recordings``.

    Raises
    ------
    DataNotFoundError
        One line naming the folder looked in and both ways to point at the data.
    """
    from ..embedder.data import DATA_ENV_VAR, resolve_data_root

    folder = resolve_data_root(data_root) / FSDD_SUBDIR
    if not folder.is_dir() or not any(folder.glob("*.wav")):
        raise DataNotFoundError(
            f"FSDD not found: no WAV files in {folder}; point bioSNN at a folder containing "
            f"fsdd/recordings/ with --data-root DIR or {DATA_ENV_VAR}=DIR")
    return folder


def list_recordings(folder: str | os.PathLike) -> list[Recording]:
    """Every ``{digit}_{speaker}_{index}.wav`` of ``folder``, sorted by (digit, speaker,
    index): the same order on every machine. Other files are ignored."""
    out = []
    for path in Path(folder).iterdir():
        m = _NAME.match(path.name)
        if m:
            out.append(Recording(int(m[1]), m[2], int(m[3]), path))
    return sorted(out, key=lambda r: (r.digit, r.speaker, r.index))


def read_wav(path: str | os.PathLike) -> tuple[int, np.ndarray]:
    """Sample rate (Hz) and mono samples as float64 in [-1, 1) (16-bit PCM / 32768)."""
    from scipy.io import wavfile

    rate, x = wavfile.read(path)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if x.dtype == np.int16:
        x = x / 32768.0
    elif np.issubdtype(x.dtype, np.integer):
        x = x / float(np.iinfo(x.dtype).max + 1)
    return int(rate), np.asarray(x, dtype=np.float64)


def load_waveforms(recordings: list[Recording]) -> tuple[int, list[np.ndarray]]:
    """Read every recording; their common sample rate (Hz) and the waveforms.

    Raises
    ------
    DataNotFoundError
        If the recordings do not share one sample rate (not the FSDD files).
    """
    rates, waves = set(), []
    for r in recordings:
        rate, x = read_wav(r.path)
        rates.add(rate)
        waves.append(x)
    if len(rates) > 1:
        raise DataNotFoundError(f"FSDD recordings have several sample rates {sorted(rates)}; "
                                f"expected the 8 kHz dataset")
    return (rates.pop() if rates else 8000), waves


def parse_split(split: str) -> str | None:
    """``None`` for ``"official"``, the speaker's name for ``"speaker:<name>"``.

    Raises
    ------
    ValueError
        For any other text, or an unknown speaker.
    """
    if split == "official":
        return None
    kind, _, speaker = split.partition(":")
    if kind != "speaker" or speaker not in SPEAKERS:
        raise ValueError(f"split must be 'official' or 'speaker:<name>' with a name among "
                         f"{', '.join(SPEAKERS)}; got {split!r}")
    return speaker


def split_indices(recordings: list[Recording], split: str = "official"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``recordings``) of the training and test recordings, ascending.

    ``"official"``: test = repetition index 0-4 (300 of 3000), train = 5-49 (2700).
    ``"speaker:<name>"``: test = all of that speaker's recordings (500), train = the other
    five speakers' (2500).
    """
    speaker = parse_split(split)
    if speaker is None:
        test = np.array([r.index < N_TEST_INDEX for r in recordings], dtype=bool)
    else:
        test = np.array([r.speaker == speaker for r in recordings], dtype=bool)
    return np.flatnonzero(~test), np.flatnonzero(test)

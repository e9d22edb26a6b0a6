"""Checks shared by the figure tests (tests/test_figures.py, tests/test_acceptance.py)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg


def assert_figures_are_sound(entries, out: Path):
    """Each entry's PNG has its catalogue size in pixels and is not blank; PNG and PDF carry
    no software or date metadata (byte-stable output)."""
    for entry in entries:
        png = mpimg.imread(out / f"{entry.name}.png")
        width, height = entry.size_px
        assert png.shape[:2] == (height, width), entry.name
        assert png[..., :3].mean(axis=2).var() > 1e-3, f"{entry.name}.png is blank"
        png_bytes = (out / f"{entry.name}.png").read_bytes()
        assert b"matplotlib" not in png_bytes.lower()  # no Software metadata
        pdf = (out / f"{entry.name}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 5000
        assert b"CreationDate" not in pdf

"""Progress display for long work (to stderr, so stdout stays machine-readable)."""
from __future__ import annotations

import sys

__all__ = ["brian_report"]


def brian_report(desc: str, enabled: bool = True):
    """A Brian2 ``report=`` callable drawing a tqdm bar of simulated time, or None.

    Use as ``net.run(T, report=brian_report("simulating"), report_period=1*second)``.
    Returns ``None`` (Brian2 then reports nothing) when ``enabled`` is false.
    """
    if not enabled:
        return None
    from tqdm import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", file=sys.stderr, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def report(elapsed, completed, start, duration):
        bar.n = round(100 * float(completed), 1)
        bar.refresh()
        if completed >= 1.0:
            bar.close()

    return report

"""Keep large freed tensors in the process heap (glibc ``mallopt``) instead of returning
them to the OS, so training does not page-fault them in again on every task. Process-wide
and speed only; ``BIOSNN_KEEP_HEAP=0`` leaves the allocator alone; does nothing on other C
libraries. Why and how: ``docs/embedder.md``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["keep_heap"]

# mallopt parameters, from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_applied = False


def keep_heap(mmap_threshold: int = 1 << 30) -> bool:
    """Serve allocations up to ``mmap_threshold`` bytes from the heap and never trim it.

    Parameters
    ----------
    mmap_threshold : int
        Blocks larger than this still get their own ``mmap`` (default 1 GiB).

    Returns
    -------
    bool
        True if the setting is in effect (now or from an earlier call); False where it
        does not apply (not glibc, or ``BIOSNN_KEEP_HEAP=0``).
    """
    global _applied
    if _applied:
        return True
    if os.environ.get("BIOSNN_KEEP_HEAP", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not hasattr(libc, "gnu_get_libc_version"):
        return False  # mallopt of another libc may read these parameters differently
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1 and ok
    _applied = ok
    return ok

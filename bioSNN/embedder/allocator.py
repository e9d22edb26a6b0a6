"""Keep large freed tensors in the process heap (glibc) instead of returning them to the OS.

Training the CSNN allocates and frees tensors of ``num_steps * batch`` times a layer's size
(tens to hundreds of MB) several times per task. glibc's ``malloc`` serves every block
above its mmap threshold (at most 32 MB by default) with a fresh ``mmap`` and unmaps it on
``free``, so each such tensor is page-faulted in again, 4 kB at a time, on every task: about
a third of a training task's time here. PyTorch's CPU performance guide recommends
replacing the allocator (jemalloc, tcmalloc) for this reason; this module does the
equivalent with glibc's own ``mallopt``: blocks up to ``mmap_threshold`` come from the heap,
and freed memory stays mapped for reuse (the resident size then stays at the training
peak instead of dropping between tasks; the peak itself does not grow).

The setting is process-wide and stays in effect (glibc cannot restore its adaptive
default); it changes no result, only speed. It is applied by the few-shot and replay
protocols; set ``BIOSNN_KEEP_HEAP=0`` to leave the allocator alone. On other C libraries
(macOS, musl) it does nothing.
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

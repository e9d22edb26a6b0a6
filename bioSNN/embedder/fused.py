"""Fused LIF + 2x2 max-pool layer: a small C kernel for the CSNN's two convolutional LIF
layers, with the same spikes as :func:`~bioSNN.embedder.lif.lif_sequence` +
``max_pool2d`` and a fraction of their memory. Compiled once with the system compiler
into ``<cache>/kernels`` and called through :mod:`ctypes`; :func:`lif_maxpool` falls back
to PyTorch ops without a compiler (or with ``BIOSNN_FUSED=0``). How the kernel works:
``docs/embedder.md``.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

from .lif import LeakyParams, lif_sequence

__all__ = ["lif_maxpool", "fused_available", "kernel_path"]

_C_SOURCE = r"""
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* One step of the LIF neuron for the n values of a plane, exactly as lif_step:
   a = beta * m; a = a + I; a = a - theta * s  (each rounded to float; theta * s is exact). */
static void lif_plane_step(float* m, float* s, const float* I, int64_t n, int first,
                           float beta, float thr) {
    if (first) {
        for (int64_t k = 0; k < n; ++k) { m[k] = I[k]; s[k] = m[k] > thr ? 1.0f : 0.0f; }
    } else {
        for (int64_t k = 0; k < n; ++k) {
            float a = m[k] * beta;
            a = a + I[k];
            a = a - s[k] * thr;
            m[k] = a;
            s[k] = a > thr ? 1.0f : 0.0f;
        }
    }
}

/* g = dL/dS of every neuron of a plane times the surrogate derivative, from the pooled
   gradient gp: max_pool2d gives each window's gradient to its first maximal element in
   row-major order (a b / c d; all silent: a), the others get 0. Branch-free masks (spike
   patterns are random, so branches would mispredict), and the same float operations as
   the PyTorch path: g = (1 * gp) / (k |U - theta| + 1)^2, where 1 * gp == gp and
   0 / x == 0 exactly. */
static void route_grad(const float* m, const float* gp, float* g, int64_t H, int64_t W,
                       float thr, float slope) {
    int64_t Ho = H / 2, Wo = W / 2;
    for (int64_t i = 0; i < Ho; ++i) {
        const float* r0 = m + 2 * i * W;
        const float* r1 = r0 + W;
        float* g0 = g + 2 * i * W;
        float* g1 = g0 + W;
        const float* gr = gp + i * Wo;
        for (int64_t j = 0; j < Wo; ++j) {
            float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
            float sa = a > thr ? 1.0f : 0.0f, sb = b > thr ? 1.0f : 0.0f;
            float sc = c > thr ? 1.0f : 0.0f, sd = d > thr ? 1.0f : 0.0f;
            float na = 1.0f - sa, nab = na * (1.0f - sb), nabc = nab * (1.0f - sc);
            float ra = sa + nabc * (1.0f - sd), rb = na * sb, rc = nab * sc, rd = nabc * sd;
            float x = gr[j];
            float da = fabsf(a - thr) * slope + 1.0f, db = fabsf(b - thr) * slope + 1.0f;
            float dc = fabsf(c - thr) * slope + 1.0f, dd = fabsf(d - thr) * slope + 1.0f;
            g0[2 * j] = (ra * x) / (da * da);
            g0[2 * j + 1] = (rb * x) / (db * db);
            g1[2 * j] = (rc * x) / (dc * dc);
            g1[2 * j + 1] = (rd * x) / (dd * dd);
        }
    }
}

static void pool_plane(const float* s, float* out, int64_t H, int64_t W) {
    int64_t Ho = H / 2, Wo = W / 2;
    for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j = 0; j < Wo; ++j) {
            int64_t a = 2 * i * W + 2 * j;
            float v = s[a];
            if (s[a + 1] > v) v = s[a + 1];
            if (s[a + W] > v) v = s[a + W];
            if (s[a + W + 1] > v) v = s[a + W + 1];
            out[i * Wo + j] = v;
        }
}

/* Consecutive planes are contiguous in every array here, and H is even, so a block of nb
   planes is processed as one plane of nb * H rows (no 2x2 window straddles two planes).
   Blocks keep the working set in the L2 cache while reading and writing long contiguous
   runs: FWD_BLOCK neurons of state in the forward pass, BWD_BLOCK floats of membrane
   history (T steps x neurons) in the backward pass. */
#ifndef FWD_BLOCK
#define FWD_BLOCK 16384
#endif
#ifndef BWD_BLOCK
#define BWD_BLOCK 65536
#endif

static int64_t block_planes(int64_t budget, int64_t per_plane, int64_t left) {
    int64_t nb = budget / per_plane;
    if (nb < 1) nb = 1;
    return nb < left ? nb : left;
}

/* Forward. cur: (planes, H, W) if constant else (T, planes, H, W);
   pool: (T, planes, H/2, W/2); counts: (planes, H, W). Planes [p0, p1). */
int lif_maxpool_fwd(const float* cur, int constant, int64_t T, int64_t planes, int64_t H,
                    int64_t W, float beta, float thr, float* pool, float* counts,
                    int64_t p0, int64_t p1) {
    int64_t HW = H * W, HWo = (H / 2) * (W / 2);
    int64_t nmax = block_planes(FWD_BLOCK, HW, p1 - p0);
    float* m = (float*)malloc(sizeof(float) * 2 * nmax * HW);
    if (!m) return 1;
    float* s = m + nmax * HW;
    for (int64_t p = p0; p < p1; p += nmax) {
        int64_t nb = nmax < p1 - p ? nmax : p1 - p, n = nb * HW;
        float* cnt = counts + p * HW;
        for (int64_t k = 0; k < n; ++k) cnt[k] = 0.0f;
        for (int64_t t = 0; t < T; ++t) {
            const float* I = constant ? cur + p * HW : cur + (t * planes + p) * HW;
            lif_plane_step(m, s, I, n, t == 0, beta, thr);
            for (int64_t k = 0; k < n; ++k) cnt[k] += s[k];
            pool_plane(s, pool + (t * planes + p) * HWo, nb * H, W);
        }
    }
    free(m);
    return 0;
}

/* Backward. gpool: (T, planes, H/2, W/2). For a constant current, gcur is (planes, H, W)
   and weight[t] = (1 - beta^(t+1)) / (1 - beta) (dL/dI = sum_t weight[t] g[t]); else
   gcur is (T, planes, H, W) with G[t] = g[t] + beta G[t+1]. */
int lif_maxpool_bwd(const float* cur, int constant, int64_t T, int64_t planes, int64_t H,
                    int64_t W, float beta, float thr, float slope, const float* weight,
                    const float* gpool, float* gcur, int64_t p0, int64_t p1) {
    int64_t HW = H * W, HWo = (H / 2) * (W / 2);
    int64_t nmax = block_planes(BWD_BLOCK, T * HW, p1 - p0);
    /* U for all steps of a block, the spikes of the current step, one gradient row */
    float* U = (float*)malloc(sizeof(float) * (T + 3) * nmax * HW);
    if (!U) return 1;
    float* s = U + T * nmax * HW;
    float* g = s + nmax * HW;
    float* G = g + nmax * HW;
    for (int64_t p = p0; p < p1; p += nmax) {
        int64_t nb = nmax < p1 - p ? nmax : p1 - p, n = nb * HW, Hb = nb * H;
        for (int64_t t = 0; t < T; ++t) {  /* recompute the membrane potentials */
            const float* I = constant ? cur + p * HW : cur + (t * planes + p) * HW;
            float* m = U + t * n;
            if (t == 0) lif_plane_step(m, s, I, n, 1, beta, thr);
            else {
                for (int64_t k = 0; k < n; ++k) m[k] = m[k - n];
                lif_plane_step(m, s, I, n, 0, beta, thr);
            }
        }
        if (constant) {
            float* out = gcur + p * HW;
            for (int64_t k = 0; k < n; ++k) out[k] = 0.0f;
            for (int64_t t = 0; t < T; ++t) {
                route_grad(U + t * n, gpool + (t * planes + p) * HWo, g, Hb, W, thr, slope);
                const float w = weight[t];
                for (int64_t k = 0; k < n; ++k) out[k] += w * g[k];
            }
        } else {
            for (int64_t k = 0; k < n; ++k) G[k] = 0.0f;
            for (int64_t t = T - 1; t >= 0; --t) {
                route_grad(U + t * n, gpool + (t * planes + p) * HWo, g, Hb, W, thr, slope);
                float* out = gcur + (t * planes + p) * HW;
                for (int64_t k = 0; k < n; ++k) { G[k] = g[k] + beta * G[k]; out[k] = G[k]; }
            }
        }
    }
    free(U);
    return 0;
}
"""

# No -ffast-math, and no contraction of a * b + c into a fused multiply-add: every
# operation rounds to float32 as PyTorch's elementwise kernels do.
_CFLAGS = ("-O3", "-fPIC", "-shared", "-std=c99", "-ffp-contract=off", "-fno-fast-math")

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_lib_error: str | None = None
#: Seconds this process spent compiling the kernel (None: loaded from the cache or not built).
compile_seconds: float | None = None


def _cache_dir() -> Path:
    from ..paths import cache_root

    return cache_root()


def kernel_path() -> Path:
    """Where the compiled kernel is (or will be) cached, keyed by source, flags and platform."""
    key = hashlib.sha256("\n".join((_C_SOURCE, " ".join(_CFLAGS), sys.platform,
                                    os.uname().machine)).encode()).hexdigest()[:16]
    return _cache_dir() / "kernels" / f"lif_maxpool-{key}.so"


def _compile(target: Path) -> None:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise RuntimeError("no C compiler found (cc, gcc or clang; or set CC)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        src, out = Path(tmp) / "lif_maxpool.c", Path(tmp) / "lif_maxpool.so"
        src.write_text(_C_SOURCE)
        done = subprocess.run([cc, *_CFLAGS, str(src), "-o", str(out), "-lm"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{cc} failed: {done.stderr.strip()[-2000:]}")
        os.replace(out, target)  # atomic: concurrent builders each install a whole file


def _load() -> ctypes.CDLL | None:
    """The compiled kernel, built on first use; None (with one warning) if it cannot be."""
    global _lib, _lib_error, compile_seconds
    if _lib is not None or _lib_error is not None:
        return _lib
    with _lock:
        if _lib is not None or _lib_error is not None:
            return _lib
        path = kernel_path()
        try:
            if path.exists():
                try:
                    lib = ctypes.CDLL(str(path))
                except OSError:  # a truncated or foreign file: build it again
                    path.unlink(missing_ok=True)
            if not path.exists():
                start = time.perf_counter()
                _compile(path)
                compile_seconds = time.perf_counter() - start
                lib = ctypes.CDLL(str(path))
        except (OSError, RuntimeError) as exc:
            _lib_error = str(exc)
            warnings.warn(f"bioSNN: the fused LIF/max-pool kernel is unavailable ({exc}); "
                          "using the PyTorch implementation (same results, slower)",
                          RuntimeWarning, stacklevel=3)
            return None
        i64, f32, ptr = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
        lib.lif_maxpool_fwd.argtypes = [ptr, ctypes.c_int, i64, i64, i64, i64, f32, f32,
                                        ptr, ptr, i64, i64]
        lib.lif_maxpool_bwd.argtypes = [ptr, ctypes.c_int, i64, i64, i64, i64, f32, f32, f32,
                                        ptr, ptr, ptr, i64, i64]
        lib.lif_maxpool_fwd.restype = lib.lif_maxpool_bwd.restype = ctypes.c_int
        _lib = lib
        return _lib


def fused_available() -> bool:
    """True if :func:`lif_maxpool` uses the compiled kernel (compiling it if needed)."""
    if os.environ.get("BIOSNN_FUSED", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return _load() is not None


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _forget_pool_after_fork() -> None:
    # a forked child inherits the executor but not its threads: start a new one there
    global _pool, _pool_lock, _pool_size
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _over_planes(fn, planes: int) -> None:
    """Call ``fn(p0, p1)`` on contiguous plane ranges, one per torch thread."""
    n = max(1, min(torch.get_num_threads(), planes))
    if n == 1:
        codes = [fn(0, planes)]
    else:
        global _pool, _pool_size
        with _pool_lock:
            if _pool is None or _pool_size < n:
                if _pool is not None:
                    _pool.shutdown(wait=False)
                _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="biosnn-lif")
                _pool_size = n
            pool = _pool
        bounds = [planes * i // n for i in range(n + 1)]
        codes = list(pool.map(lambda i: fn(bounds[i], bounds[i + 1]), range(n)))
    if any(codes):
        raise MemoryError("lif_maxpool: the kernel could not allocate its work buffer")


def _ptr(t: torch.Tensor) -> int:
    return t.data_ptr()


class _LIFMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current, steps, beta, threshold, slope):
        lib = _load()
        constant = steps is not None
        current = current.contiguous()
        T = steps if constant else current.shape[0]
        plane_shape = current.shape if constant else current.shape[1:]
        b, c, h, w = plane_shape
        planes = b * c
        pool = current.new_empty((T, b, c, h // 2, w // 2))
        counts = current.new_empty((b, c, h, w))
        args = (_ptr(current), int(constant), T, planes, h, w, beta, threshold,
                _ptr(pool), _ptr(counts))
        _over_planes(lambda p0, p1: lib.lif_maxpool_fwd(*args, p0, p1), planes)
        ctx.save_for_backward(current)
        ctx.params = (constant, T, planes, h, w, beta, threshold, slope)
        ctx.mark_non_differentiable(counts)
        ctx.set_materialize_grads(False)
        return pool, counts

    @staticmethod
    def backward(ctx, grad_pool, grad_counts):
        if grad_pool is None:
            return None, None, None, None, None
        lib = _load()
        (current,) = ctx.saved_tensors
        constant, T, planes, h, w, beta, threshold, slope = ctx.params
        grad_pool = grad_pool.contiguous()
        powers = torch.arange(1, T + 1, dtype=torch.float64)
        weight = (powers if beta == 1.0 else (1 - beta ** powers) / (1 - beta)).float()
        grad = torch.empty_like(current)
        args = (_ptr(current), int(constant), T, planes, h, w, beta, threshold, slope,
                _ptr(weight), _ptr(grad_pool), _ptr(grad))
        _over_planes(lambda p0, p1: lib.lif_maxpool_bwd(*args, p0, p1), planes)
        return grad, None, None, None, None


def _reference(current, p: LeakyParams, steps):
    """The same layer with PyTorch ops (any dtype/device/size)."""
    spk, _ = lif_sequence(current, p, steps=steps)
    T = spk.shape[0]
    pooled = F.max_pool2d(spk.flatten(0, 1), 2)
    return pooled.unflatten(0, (T, -1)), spk.sum(0).detach()


_declined: set[str] = set()


def _decline_surrogate(name: str) -> None:
    """One warning per surrogate and process: the kernel's backward is the fast sigmoid's."""
    if name not in _declined:
        _declined.add(name)
        warnings.warn(f"bioSNN: the fused LIF/max-pool kernel computes only the fast-sigmoid "
                      f"surrogate; with surrogate {name!r} the PyTorch path runs (same "
                      f"spikes, slower)", stacklevel=3)


def lif_maxpool(current: torch.Tensor, p: LeakyParams, steps: int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """LIF layer followed by a 2x2 max-pool of its spikes, for all time steps.

    Parameters
    ----------
    current : torch.Tensor
        Input current to a convolutional LIF layer: ``(T, B, C, H, W)``, one slice per
        step; or, with ``steps``, one constant current ``(B, C, H, W)``.
    p : LeakyParams
        Neuron parameters.
    steps : int, optional
        Number of steps ``T`` for a constant ``current``.

    Returns
    -------
    pooled : torch.Tensor
        ``max_pool2d(S[t], 2)`` for every step, ``(T, B, C, H // 2, W // 2)``, 0 or 1; in
        the autograd graph (surrogate gradient, see :func:`~bioSNN.embedder.lif.lif_sequence`).
    counts : torch.Tensor
        Spikes of every neuron summed over the steps, ``(B, C, H, W)``; detached (for
        recording, not for loss terms).

    Notes
    -----
    Equal to ``max_pool2d`` of :func:`~bioSNN.embedder.lif.lif_sequence`'s spikes: the
    forward pass bit for bit, the gradient up to float rounding (tested). The compiled
    kernel is used for float32 CPU tensors (made contiguous) with even ``H`` and ``W``;
    anything else takes the PyTorch path, as does a surrogate other than the fast sigmoid
    (``p.surrogate``; one warning per surrogate and process).
    """
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ValueError(f"lif_maxpool: steps must be a positive integer, got {steps!r}")
    need = 4 if steps is not None else 5
    if current.dim() != need:
        layout = "(B, C, H, W) with steps=" if steps is not None else "(T, B, C, H, W)"
        raise ValueError(f"lif_maxpool: current must be {layout}, got shape "
                         f"{tuple(current.shape)}")
    h, w = current.shape[-2:]
    if p.surrogate != "fast_sigmoid":
        _decline_surrogate(p.surrogate)
        return _reference(current, p, steps)
    if (current.dtype == torch.float32 and current.device.type == "cpu"
            and h % 2 == 0 and w % 2 == 0 and current.numel() > 0 and fused_available()):
        return _LIFMaxPool.apply(current, steps, float(p.beta), float(p.threshold),
                                 float(p.slope))
    return _reference(current, p, steps)

"""The fused LIF + 2x2 max-pool kernel against its PyTorch formulation.

Tier "two formulations agree": lif_sequence + max_pool2d (itself tested bit for bit
against the step loop of lif_step, tests/test_embedder_lif.py) is the reference.
"""
import os
import platform
import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F

from bioSNN.embedder import fused
from bioSNN.embedder.csnn import CSNN, CSNNConfig, LAYER_NAMES
from bioSNN.embedder.fused import fused_available, lif_maxpool
from bioSNN.embedder.lif import LeakyParams, lif_sequence

PARAMS = [LeakyParams(), LeakyParams(beta=0.8, threshold=0.7, slope=25.0),
          LeakyParams(beta=1.0, threshold=1.3, slope=2.0)]

pytestmark = pytest.mark.skipif(not fused_available(), reason="no C compiler for the kernel")


def _reference(current, p, steps):
    spk, _ = lif_sequence(current, p, steps=steps)
    pooled = F.max_pool2d(spk.flatten(0, 1), 2).unflatten(0, (spk.shape[0], -1))
    return pooled, spk.sum(0)


def _current(p, constant, seed, T=25, shape=(3, 4, 8, 10)):
    g = torch.Generator().manual_seed(seed)
    full = shape if constant else (T,) + shape
    # around the threshold: spikes, silences and resets all occur
    return p.threshold * (1.6 * torch.rand(full, generator=g) - 0.35)


@pytest.mark.parametrize("constant", [True, False], ids=["constant", "sequence"])
@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"b{p.beta}-th{p.threshold}-k{p.slope}")
def test_forward_bitwise_and_backward_close(p, constant):
    T = 25
    steps = T if constant else None
    current = _current(p, constant, seed=1, T=T)
    a, b = current.clone().requires_grad_(), current.clone().requires_grad_()
    pooled, counts = lif_maxpool(a, p, steps=steps)
    pooled_ref, counts_ref = _reference(b, p, steps)
    assert pooled.shape == (T, 3, 4, 4, 5) and counts.shape == (3, 4, 8, 10)
    assert torch.equal(pooled, pooled_ref)  # same float32 operations in the same order
    assert torch.equal(counts, counts_ref)
    rate = counts_ref.mean() / T
    assert 0.05 < rate < 0.95, "inputs must exercise spikes and resets"
    assert not counts.requires_grad
    w = torch.randn(pooled.shape, generator=torch.Generator().manual_seed(2))
    (w * pooled).sum().backward()
    (w * pooled_ref).sum().backward()
    scale = b.grad.abs().max()
    assert scale > 0
    torch.testing.assert_close(a.grad / scale, b.grad / scale, rtol=0, atol=2e-6)


@pytest.mark.parametrize("constant", [True, False], ids=["constant", "sequence"])
def test_gradient_goes_to_first_maximal_element_of_each_window(constant):
    """Ties (several spikes, or none, in a window): max_pool2d's rule, the first maximal
    element in row-major order, receives the whole gradient."""
    p, T = LeakyParams(), 4  # short enough that the 0.2 inputs never reach threshold
    # one 2x2 window per plane; planes: all four equal (spiking), all silent, only d, b and d
    values = torch.tensor([[1.5, 1.5, 1.5, 1.5], [0.2, 0.2, 0.2, 0.2],
                           [0.2, 0.2, 0.2, 1.5], [0.2, 1.5, 0.3, 1.5]]).reshape(1, 4, 2, 2)
    current = values if constant else values.expand(T, 1, 4, 2, 2).contiguous()
    a, b = current.clone().requires_grad_(), current.clone().requires_grad_()
    steps = T if constant else None
    lif_maxpool(a, p, steps=steps)[0].sum().backward()
    _reference(b, p, steps)[0].sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-7)
    got = (a.grad if constant else a.grad.sum(0))[0].flatten(1) != 0
    expected = torch.tensor([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0]], dtype=torch.bool)
    assert torch.equal(got, expected)


def test_result_does_not_depend_on_thread_count():
    p = LeakyParams()
    current = _current(p, False, seed=3, T=12, shape=(5, 3, 6, 6))
    results = []
    before = torch.get_num_threads()
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            x = current.clone().requires_grad_()
            pooled, counts = lif_maxpool(x, p)
            pooled.sum().backward()
            results.append((pooled, counts, x.grad))
    finally:
        torch.set_num_threads(before)
    for other in results[1:]:
        for u, v in zip(results[0], other):
            assert torch.equal(u, v)


def test_other_dtypes_and_odd_sizes_take_the_pytorch_path():
    p = LeakyParams()
    for current, steps in ((_current(p, True, 4).double(), 10),
                           (_current(p, False, 5, T=7, shape=(2, 3, 5, 6)), None)):
        pooled, counts = lif_maxpool(current, p, steps=steps)
        ref = _reference(current, p, steps)
        assert torch.equal(pooled, ref[0]) and torch.equal(counts, ref[1])
        assert pooled.dtype == current.dtype


def test_bad_input_gives_clear_errors():
    p = LeakyParams()
    with pytest.raises(ValueError, match=r"\(T, B, C, H, W\)"):
        lif_maxpool(torch.zeros(3, 4, 4), p)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) with steps="):
        lif_maxpool(torch.zeros(2, 3, 4, 4, 4), p, steps=5)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        lif_maxpool(torch.zeros(1, 1, 4, 4), p, steps=0)


def test_csnn_embeddings_identical_with_and_without_the_kernel(monkeypatch):
    config = CSNNConfig(num_steps=15)
    model = CSNN(config, generator=torch.Generator().manual_seed(7))
    x = 2.5 * torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(8)) - 0.4
    runs = []
    for flag in ("1", "0"):
        monkeypatch.setenv("BIOSNN_FUSED", flag)
        model.zero_grad()
        emb, counts = model(x, return_counts=True)
        emb.square().sum().backward()
        runs.append((emb.detach(), counts, {n: q.grad.clone() for n, q in model.named_parameters()}))
    (e1, c1, g1), (e0, c0, g0) = runs
    assert torch.equal(e1, e0)
    for name in LAYER_NAMES:
        assert torch.equal(c1[name], c0[name])
    for name, g in g1.items():
        scale = g.abs().max()
        assert scale > 0, name
        torch.testing.assert_close(g / scale, g0[name] / scale, rtol=0, atol=1e-5)


def test_kernel_is_compiled_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path))
    path = fused.kernel_path()
    assert path.parent == tmp_path / "kernels" and not path.exists()
    fused._compile(path)
    assert path.exists() and not list(path.parent.glob("tmp*"))  # no leftovers


def test_missing_compiler_warns_and_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setattr(fused, "_lib", None)
    monkeypatch.setattr(fused, "_lib_error", None)
    with pytest.warns(RuntimeWarning, match="fused LIF/max-pool kernel is unavailable"):
        assert not fused_available()
    p = LeakyParams()
    current = _current(p, True, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, not on every call
        pooled, counts = lif_maxpool(current, p, steps=9)
    ref = _reference(current, p, 9)
    assert torch.equal(pooled, ref[0]) and torch.equal(counts, ref[1])


def test_keep_heap_applies_on_glibc_and_can_be_switched_off():
    code = "from bioSNN.embedder.allocator import keep_heap; print(keep_heap())"
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "BIOSNN_KEEP_HEAP": "0"})
    assert off.stdout.strip() == "False"
    if platform.libc_ver()[0] == "glibc":
        assert on.stdout.strip() == "True"


def test_kernel_threads_work_in_a_forked_child():
    """The plane thread pool is re-created after fork (a child inherits no threads)."""
    import multiprocessing as mp

    p = LeakyParams()
    current = _current(p, False, seed=9, T=5, shape=(4, 2, 4, 4))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        expected = lif_maxpool(current, p)[0]  # starts the pool in this process
        with mp.get_context("fork").Pool(1) as pool:
            got = pool.apply_async(_pooled_with_two_threads, (current,)).get(timeout=60)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(got, expected)


def _pooled_with_two_threads(current):
    torch.set_num_threads(2)
    return lif_maxpool(current, LeakyParams())[0]


def test_a_corrupt_cached_kernel_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path))
    monkeypatch.setattr(fused, "_lib", None)
    monkeypatch.setattr(fused, "_lib_error", None)
    monkeypatch.setattr(fused, "compile_seconds", None)
    path = fused.kernel_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a shared library")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fused_available()
    assert fused.compile_seconds is not None and path.stat().st_size > 1000


def test_kernel_declines_other_surrogates_with_one_warning(recwarn):
    """The kernel's backward is the fast sigmoid's: another surrogate takes the PyTorch
    path (same spikes, that surrogate's gradient), warning once per surrogate."""
    from bioSNN.embedder import fused

    fused._declined.discard("atan")
    p = LeakyParams(beta=0.9, slope=2.0, surrogate="atan")
    g = torch.Generator().manual_seed(5)
    x = (1.5 * torch.rand((6, 2, 3, 8, 8), generator=g) - 0.3)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    pooled, counts = lif_maxpool(a, p)
    fast_pooled, fast_counts = lif_maxpool(b, LeakyParams(beta=0.9, slope=2.0))
    assert torch.equal(pooled, fast_pooled) and torch.equal(counts, fast_counts)
    pooled.sum().backward()
    fast_pooled.sum().backward()
    assert not torch.allclose(a.grad, b.grad)  # atan's gradient, not the kernel's
    c = x.clone().to(torch.float64).requires_grad_()  # float64: the PyTorch path anyway
    fused._reference(c, p, None)[0].sum().backward()
    torch.testing.assert_close(a.grad, c.grad.float(), rtol=1e-4, atol=1e-5)
    lif_maxpool(x, p)
    declined = [w for w in recwarn if "fused LIF/max-pool kernel" in str(w.message)]
    assert len(declined) == 1 and "'atan'" in str(declined[0].message)

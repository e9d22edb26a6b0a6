"""CSNN embedder against an independent snnTorch-built reference network."""
import pytest
import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from bioSNN.embedder.csnn import ANNEmbedder, CSNN, CSNNConfig, LAYER_NAMES


class SeedReference(nn.Module):
    """The seed notebook's network, built from snn.Leaky layers with a plain step loop.

    Recomputes conv1 at every step (no hoisting) and casts snnTorch's float32 spikes to
    the input dtype so that it also runs in float64.
    """

    def __init__(self, c: CSNNConfig, dtype):
        super().__init__()
        def leaky():
            return snn.Leaky(beta=torch.tensor(c.beta, dtype=dtype),
                             threshold=torch.tensor(c.threshold, dtype=dtype),
                             spike_grad=surrogate.fast_sigmoid(slope=c.slope))
        self.c = c
        self.conv1 = nn.Conv2d(c.in_channels, c.conv1_channels, c.conv1_kernel,
                               padding=c.conv1_kernel // 2)
        self.lif1, self.pool1 = leaky(), nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c.conv1_channels, c.conv2_channels, c.conv2_kernel,
                               padding=c.conv2_kernel // 2)
        self.lif2, self.pool2 = leaky(), nn.MaxPool2d(2)
        self.fc = nn.Linear(c.conv2_channels * (c.image_size // 4) ** 2, c.embedding_dim)
        self.lif3 = leaky()

    def forward(self, x):
        mem1, mem2, mem3 = self.lif1.init_leaky(), self.lif2.init_leaky(), self.lif3.init_leaky()
        mem3_rec, counts = [], [0, 0, 0]
        for _ in range(self.c.num_steps):
            spk1, mem1 = self.lif1(self.conv1(x), mem1)
            spk1 = spk1.to(x.dtype)
            spk2, mem2 = self.lif2(self.conv2(self.pool1(spk1)), mem2)
            spk2 = spk2.to(x.dtype)
            spk3, mem3 = self.lif3(self.fc(self.pool2(spk2).flatten(1)), mem3)
            mem3_rec.append(mem3)
            counts = [n + s.to(x.dtype) for n, s in zip(counts, (spk1, spk2, spk3))]
        return torch.stack(mem3_rec).mean(0), counts


def _pair(config, dtype, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref = SeedReference(config, dtype).to(dtype)
    ours = CSNN(config).to(dtype)
    ours.load_state_dict({k: v for k, v in ref.state_dict().items()
                          if k.split(".")[0] in ("conv1", "conv2", "fc")})
    return ours, ref


def _images(config, n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (n, config.in_channels, config.image_size, config.image_size)
    # roughly normalised-MNIST range: mostly background (-0.42) with bright strokes
    x = torch.where(torch.rand(shape, generator=g) < 0.2, 2.8, -0.42)
    return (x + 0.3 * torch.randn(shape, generator=g)).to(dtype)


SMALL = CSNNConfig(image_size=16, conv1_channels=4, conv1_kernel=3, conv2_channels=6,
                   conv2_kernel=5, embedding_dim=10, num_steps=25, beta=0.9, slope=25.0)


@pytest.mark.parametrize("config, dtype, tol", [
    (CSNNConfig(num_steps=20), torch.float32, 1e-5),
    (CSNNConfig(num_steps=20), torch.float64, 1e-10),
    (SMALL, torch.float64, 1e-10),
], ids=["seed-float32", "seed-float64", "small-float64"])
def test_forward_matches_snntorch_reference(config, dtype, tol):
    ours, ref = _pair(config, dtype)
    x = _images(config, 4, dtype)
    with torch.no_grad():
        emb, counts = ours(x, return_counts=True)
        emb_ref, counts_ref = ref(x)
    assert emb.shape == (4, config.embedding_dim) and emb.dtype == dtype
    torch.testing.assert_close(emb, emb_ref, rtol=0, atol=tol)
    half = config.image_size // 2
    shapes = [(4, config.conv1_channels, 2 * half, 2 * half),
              (4, config.conv2_channels, half, half), (4, config.embedding_dim)]
    for name, n_ref, shape in zip(LAYER_NAMES, counts_ref, shapes):
        assert counts[name].shape == shape
        assert torch.equal(counts[name], n_ref), name
        # the comparison is only meaningful if every layer spikes, but not always
        assert 0 < counts[name].mean() < config.num_steps, name
    assert torch.equal(ours(x), emb)  # the flag does not change the embedding


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_match_snntorch_reference(dtype):
    """Tolerances are relative to each gradient's scale. Float32: the batched
    convolutions sum their weight gradients in another order than the step loop.
    Float64: snnTorch's spikes stay float32, so the gradient reaching its surrogate is
    rounded to float32 (~1e-8 relative); exactness against the step loop in float64 is
    test_layerwise_forward_equals_step_by_step."""
    config = CSNNConfig(num_steps=15)
    ours, ref = _pair(config, dtype, seed=1)
    x = _images(config, 3, dtype, seed=1)
    target = torch.randn(3, config.embedding_dim, generator=torch.Generator().manual_seed(2),
                         dtype=dtype)
    ((ours(x) - target) ** 2).sum().backward()
    ((ref(x)[0] - target) ** 2).sum().backward()
    grads_ref = dict(ref.named_parameters())
    for name, param in ours.named_parameters():
        assert param.grad.abs().max() > 0, name
        scale = grads_ref[name].grad.abs().max()
        tol = 1e-5 if dtype == torch.float32 else 1e-6
        torch.testing.assert_close(param.grad / scale, grads_ref[name].grad / scale,
                                   rtol=0, atol=tol)


def test_seeded_init_is_reproducible_and_equals_default_init_under_the_same_seed():
    with torch.random.fork_rng():  # module construction also draws from the global RNG
        a = CSNN(SMALL, generator=torch.Generator().manual_seed(3))
        b = CSNN(SMALL, generator=torch.Generator().manual_seed(3))
        c = CSNN(SMALL, generator=torch.Generator().manual_seed(4))
        torch.manual_seed(3)
        default = CSNN(SMALL)
    params = [dict(m.named_parameters()) for m in (a, b, c, default)]
    for name in params[0]:
        assert torch.equal(params[0][name], params[1][name])
        assert torch.equal(params[0][name], params[3][name])
        assert not torch.equal(params[0][name], params[2][name])


def test_ann_baseline_architecture_and_shared_parameter_names():
    config = CSNNConfig()
    ann = ANNEmbedder(config, generator=torch.Generator().manual_seed(0))
    x = _images(config, 5, torch.float32)
    reference = nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64))
    reference.load_state_dict(dict(zip(reference.state_dict(), ann.state_dict().values())))
    out = ann(x)
    assert out.shape == (5, 64)
    torch.testing.assert_close(out, reference(x), rtol=0, atol=1e-6)
    CSNN(config).load_state_dict(ann.state_dict())  # interchangeable weights


def test_rejects_wrong_image_shape():
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        CSNN(CSNNConfig(num_steps=1))(torch.zeros(2, 1, 32, 32))


@pytest.mark.parametrize("kwargs, field", [
    (dict(image_size=30), "image_size"), (dict(conv1_kernel=4), "conv1_kernel"),
    (dict(num_steps=0), "num_steps"), (dict(embedding_dim=2.0), "embedding_dim"),
    (dict(beta=1.5), "beta"), (dict(slope=0.0), "slope"),
])
def test_config_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        CSNNConfig(**kwargs)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_layerwise_forward_equals_step_by_step(dtype, tol):
    """forward (layer by layer, batched over steps) == forward_steps (the seed's loop):
    embeddings within tol, identical spike counts, gradients close."""
    config = CSNNConfig(num_steps=20)
    model = CSNN(config, generator=torch.Generator().manual_seed(5)).to(dtype)
    x = _images(config, 6, dtype, seed=5)
    emb, counts = model(x, return_counts=True)
    emb_ref, counts_ref = model.forward_steps(x, return_counts=True)
    torch.testing.assert_close(emb, emb_ref, rtol=0, atol=tol)
    for name in LAYER_NAMES:
        assert torch.equal(counts[name], counts_ref[name]), name
        assert 0 < counts[name].mean() < config.num_steps, name
    target = torch.randn(emb.shape, generator=torch.Generator().manual_seed(6), dtype=dtype)
    grads = []
    for fn in (model.forward, model.forward_steps):
        model.zero_grad()
        ((fn(x) - target) ** 2).sum().backward()
        grads.append({n: q.grad.clone() for n, q in model.named_parameters()})
    for name, g in grads[0].items():
        assert g.abs().max() > 0, name
        scale = g.abs().max()
        torch.testing.assert_close(g / scale, grads[1][name] / scale, rtol=0,
                                   atol=1e-4 if dtype == torch.float32 else 1e-10)

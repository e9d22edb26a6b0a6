"""Dataset location and MNIST loading (never downloads)."""
import os

import pytest
import torch
import torchvision.datasets

from bioSNN.embedder import data
from bioSNN.errors import DataNotFoundError


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) any download; report the machine as offline."""
    calls = []

    def refuse(self):
        calls.append(self.root)
        raise RuntimeError("network unreachable (test)")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", refuse)
    monkeypatch.setattr(data, "_is_online", lambda timeout=2.0: False)
    return calls


def test_resolve_order_argument_then_env_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BIOSNN_DATA", raising=False)
    assert data.resolve_data_root() == tmp_path / "home" / ".cache" / "bioSNN" / "data"
    monkeypatch.setenv("BIOSNN_DATA", str(tmp_path / "env"))
    assert data.resolve_data_root() == tmp_path / "env"
    assert data.resolve_data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data.resolve_data_root(str(tmp_path / "arg")) == tmp_path / "arg"


@pytest.mark.parametrize("via", ["argument", "env"])
def test_missing_data_raises_with_the_looked_in_path_and_no_download(
        monkeypatch, tmp_path, no_network, via):
    monkeypatch.setenv("BIOSNN_DATA", str(tmp_path))
    root = tmp_path if via == "env" else tmp_path / "explicit"
    with pytest.raises(DataNotFoundError) as info:
        data.load_mnist(train=True, data_root=None if via == "env" else root)
    message = str(info.value)
    assert str(root / "MNIST" / "raw") in message
    assert "--data-root DIR" in message and "BIOSNN_DATA=DIR" in message
    assert "offline" in message
    assert no_network == []


def test_download_false_does_not_even_check_the_network(monkeypatch, tmp_path, no_network):
    def fail(timeout=2.0):
        raise AssertionError("network checked although download=False")

    monkeypatch.setattr(data, "_is_online", fail)
    with pytest.raises(DataNotFoundError, match="download=False"):
        data.load_mnist(train=False, data_root=tmp_path, download=False)
    assert no_network == []


def test_online_fallback_downloads_into_the_resolved_root(monkeypatch, tmp_path, no_network):
    monkeypatch.setattr(data, "_is_online", lambda timeout=2.0: True)
    with pytest.raises(DataNotFoundError, match="download into .* failed: network unreachable"):
        data.load_mnist(train=True, data_root=tmp_path)
    assert [str(root) for root in no_network] == [str(tmp_path)]


@pytest.fixture(scope="module")
def mnist_root():
    root = os.environ.get("BIOSNN_DATA")
    if not root:
        pytest.skip("BIOSNN_DATA is not set: point it at the shared data folder to test "
                    "real MNIST loading")
    return root


@pytest.mark.data
def test_loads_real_mnist(mnist_root, monkeypatch):
    monkeypatch.setattr(data, "_is_online", lambda timeout=2.0: False)  # never download
    train = data.load_mnist(train=True)
    test = data.load_mnist(train=False, data_root=mnist_root)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert torch.bincount(train.labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]
    # normalised with the training-set statistics: mean ~0, std ~1, background -0.1307/0.3081
    assert abs(train.images.mean().item()) < 1e-3
    assert train.images.std().item() == pytest.approx(1.0, abs=1e-3)
    assert train.images.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-6)
    assert train.images.max().item() == pytest.approx(0.8693 / 0.3081, abs=1e-6)

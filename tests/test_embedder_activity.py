"""Activity regularisation of the CSNN (bioSNN.embedder.activity): the penalty by hand,
forward_activity equal to forward, and training with the penalty holds rates down."""
from __future__ import annotations

import pytest
import torch

from bioSNN.cli import main
from bioSNN.embedder import CSNN, CSNNConfig, EpisodeSampler
from bioSNN.embedder.activity import activity_penalty
from bioSNN.embedder.evaluate import embed
from bioSNN.embedder.train import TrainConfig, meta_train

_TINY = CSNNConfig(conv1_channels=4, conv2_channels=4, embedding_dim=8, num_steps=6)


def test_penalty_by_hand():
    # layer a: 2 images x 2 neurons; layer b: 2 images x 1 neuron (spikes per step)
    a = torch.tensor([[0.30, 0.00], [0.10, 0.02]], dtype=torch.float64)  # means 0.2, 0.01
    b = torch.tensor([[0.05], [0.05]], dtype=torch.float64)               # mean 0.05
    r_min, r_max = 0.02, 0.1
    # a: neuron 0 above r_max by 0.1 -> (0.1/0.1)^2 = 1; neuron 1 below r_min by 0.01 ->
    # (0.01/0.02)^2 = 0.25; mean over 2 neurons = 0.625. b: inside the bounds -> 0.
    value = activity_penalty({"a": a, "b": b}, r_min, r_max)
    assert float(value) == pytest.approx(0.625, abs=1e-12)
    assert float(activity_penalty({"a": a}, 0.0, r_max)) == pytest.approx(0.5, abs=1e-12)
    assert float(activity_penalty({"a": a}, r_min, 0.0)) == pytest.approx(0.125, abs=1e-12)


@pytest.mark.parametrize("r_min, r_max, match", [
    (-0.1, 0.1, "must be >= 0"), (0.0, 0.0, "not both 0"), (0.2, 0.1, "below r_max")])
def test_penalty_rejects_bad_bounds(r_min, r_max, match):
    with pytest.raises(ValueError, match=match):
        activity_penalty({"a": torch.zeros(2, 3)}, r_min, r_max)


@pytest.mark.parametrize("pool", ["max", "sum"])
def test_forward_activity_is_forward_with_differentiable_rates(pool):
    torch.manual_seed(0)
    model = CSNN(CSNNConfig(conv1_channels=4, conv2_channels=4, embedding_dim=8, num_steps=6,
                            pool=pool), generator=torch.Generator().manual_seed(3)).double()
    x = 2 * torch.randn(5, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    emb, counts = model(x, return_counts=True)
    emb_a, rates = model.forward_activity(x)
    torch.testing.assert_close(emb_a, emb, rtol=0, atol=1e-12)
    for layer, count in counts.items():
        assert rates[layer].shape == count.shape
        torch.testing.assert_close(rates[layer] * 6, count, rtol=0, atol=1e-12)
        assert rates[layer].requires_grad
    assert sum(float(c.sum()) for c in counts.values()) > 0  # the comparison saw spikes


def _toy(seed=0, n_classes=5, per_class=20):
    g = torch.Generator().manual_seed(seed)
    protos = 3 * torch.randn(n_classes, 1, 28, 28, generator=g)
    labels = torch.arange(n_classes).repeat(per_class)
    return protos[labels] + 0.5 * torch.randn(len(labels), 1, 28, 28, generator=g), labels


def _mean_rate_after_training(config):
    images, labels = _toy()
    model = CSNN(_TINY, generator=torch.Generator().manual_seed(1))
    sampler = EpisodeSampler(labels, n_way=3, k_shot=2, n_query=2)
    hist = meta_train(model, images, sampler, torch.Generator().manual_seed(2), config)
    _, counts = embed(model, images, return_counts=True)
    # embed sums the counts over the images: spikes per step per neuron and image
    per_layer = [float(c.double().mean()) / (_TINY.num_steps * len(images))
                 for c in counts.values()]
    return per_layer, hist


def test_training_with_the_penalty_holds_rates_below_the_unpenalised_ones(one_torch_thread):
    plain, _ = _mean_rate_after_training(TrainConfig(n_tasks=30, lr=3e-3))
    held, hist = _mean_rate_after_training(TrainConfig(n_tasks=30, lr=3e-3, rate_penalty=5.0,
                                                       rate_max=0.02))
    assert max(plain) > 0.05  # the unregularised toy network fires a lot
    for p_rate, h_rate in zip(plain, held):
        assert h_rate < 0.5 * p_rate or h_rate < 0.02
    assert hist.loss.shape == (30,) and not torch.isnan(torch.tensor(hist.loss)).any()


def test_train_config_rejects_bad_bounds():
    with pytest.raises(ValueError, match="rate_penalty needs 0 <= rate_min < rate_max"):
        TrainConfig(n_tasks=1, rate_penalty=1.0)
    with pytest.raises(ValueError, match="rate_penalty must be >= 0"):
        TrainConfig(n_tasks=1, rate_penalty=-1.0)


@pytest.mark.parametrize("settings, expected", [
    (["rate_penalty=1", "rate_max=0 Hz"], "parameters.rate_max: the activity penalty needs a bound"),
    (["rate_penalty=1", "rate_max=2000 Hz"], "parameters.rate_max: must be at most 1 spike per step"),
    (["rate_penalty=1", "rate_min=20 Hz"], "parameters.rate_min: must be below rate_max"),
])
def test_bad_rate_settings_exit_2_with_one_line(capsys, tmp_path, settings, expected):
    argv = ["run", "fewshot-mnist-seed", "--quick", "--out", str(tmp_path)]
    for s in settings:
        argv += ["--set", s]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err

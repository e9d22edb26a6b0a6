"""Prototypical-network math, and a tiny real training run on MNIST."""
import math
import os

import pytest
import torch
from torch import nn

from bioSNN.embedder import (CSNN, CSNNConfig, EpisodeSampler, episode_loss, load_mnist,
                             proto_logits, protonet_loss, prototypes, train_step)

F64 = torch.float64
SUPPORT = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 1.0], [1.0, 3.0]], dtype=F64)
SUPPORT_LABELS = torch.tensor([0, 0, 1, 1])
QUERY = torch.tensor([[1.0, 0.0], [4.0, 4.0]], dtype=F64)


def test_prototypes_are_class_means():
    protos = prototypes(SUPPORT, SUPPORT_LABELS, n_way=2)
    assert protos.tolist() == [[1.0, 0.0], [1.0, 2.0]]
    unordered = prototypes(SUPPORT[[2, 0, 3, 1]], SUPPORT_LABELS[[2, 0, 3, 1]], n_way=2)
    assert torch.equal(unordered, protos)


def test_logits_are_minus_euclidean_or_squared_distance():
    protos = torch.tensor([[1.0, 0.0], [1.0, 2.0]], dtype=F64)
    # query (1,0): distances 0 and 2; query (4,4): 5 and sqrt(13)
    expected = torch.tensor([[0.0, -2.0], [-5.0, -math.sqrt(13)]], dtype=F64)
    torch.testing.assert_close(proto_logits(QUERY, protos), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(proto_logits(QUERY, protos, squared=True),
                               -(expected**2), rtol=0, atol=1e-12)


def test_loss_and_accuracy_by_hand():
    # query 0 (label 0): logits [0, -2]       -> CE = log(1 + e^-2), correct
    # query 1 (label 0): logits [-5, -sqrt13] -> CE = log(1 + e^(5 - sqrt13)), wrong
    loss, acc = protonet_loss(SUPPORT, SUPPORT_LABELS, QUERY, torch.tensor([0, 0]), n_way=2)
    expected = (math.log1p(math.exp(-2)) + math.log1p(math.exp(5 - math.sqrt(13)))) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    assert acc.item() == 0.5
    # squared: logits [0, -4] and [-25, -13]
    loss_sq, _ = protonet_loss(SUPPORT, SUPPORT_LABELS, QUERY, torch.tensor([0, 0]), 2, True)
    expected_sq = (math.log1p(math.exp(-4)) + math.log1p(math.exp(12))) / 2
    assert loss_sq.item() == pytest.approx(expected_sq, abs=1e-12)


def test_gradient_is_finite_when_a_query_sits_on_its_prototype():
    query = torch.tensor([[1.0, 0.0]], dtype=F64, requires_grad=True)
    loss, _ = protonet_loss(SUPPORT, SUPPORT_LABELS, query, torch.tensor([0]), 2)
    loss.backward()
    assert torch.isfinite(query.grad).all()


def test_every_class_needs_a_support_item():
    with pytest.raises(ValueError, match="at least one support item"):
        prototypes(SUPPORT, torch.tensor([0, 0, 2, 2]), n_way=3)


def test_episode_loss_embeds_support_and_query_with_the_model():
    g = torch.Generator().manual_seed(0)
    images = torch.randn(40, 1, 4, 4, generator=g)
    labels = torch.arange(4).repeat_interleave(10)
    episode = EpisodeSampler(labels, n_way=3, k_shot=2, n_query=3).sample(g)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 5))
    loss, acc = episode_loss(model, images, episode)
    expected = protonet_loss(model(images[episode.support]), episode.support_labels,
                             model(images[episode.query]), episode.query_labels, 3)
    torch.testing.assert_close(loss, expected[0])
    assert acc == expected[1]


@pytest.fixture(scope="module")
def mnist_train():
    if not os.environ.get("BIOSNN_DATA"):
        pytest.skip("BIOSNN_DATA is not set: point it at the shared data folder for the "
                    "MNIST training test")
    return load_mnist(train=True, download=False)  # BIOSNN_DATA set but wrong -> fails loudly



@pytest.mark.data
def test_tiny_training_run_lowers_the_query_loss(mnist_train, one_torch_thread):
    # 30 episodes 5-way 1-shot 5-query, 10 time steps, Adam 1e-3 (seed-like). Over seeds
    # 0-7 the last-10 / first-10 mean-loss ratio was 0.61-0.76; untrained it is ~1.
    images, labels = mnist_train
    seed = 0
    model = CSNN(CSNNConfig(num_steps=10), generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    sampler = EpisodeSampler(labels, n_way=5, k_shot=1, n_query=5)
    g = torch.Generator().manual_seed(seed)
    before = [p.detach().clone() for p in model.parameters()]
    losses = [train_step(model, optimizer, images, sampler.sample(g))[0] for _ in range(30)]
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert all(math.isfinite(v) for v in losses)
    assert last < 0.85 * first, f"loss did not fall: first 10 {first:.3f}, last 10 {last:.3f}"
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))

"""Episodic N-way K-shot sampler."""
import numpy as np
import pytest
import torch

from bioSNN.embedder.episodes import EpisodeSampler


def _labels(per_class=30, n_classes=10, seed=0):
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_shapes_labels_and_class_mapping():
    labels = _labels()
    sampler = EpisodeSampler(labels, n_way=5, k_shot=3, n_query=4)
    ep = sampler.sample(_gen(0))
    assert ep.support.shape == (15,) and ep.query.shape == (20,)
    assert ep.support.dtype == ep.query.dtype == torch.int64
    assert ep.support_labels.tolist() == [c for c in range(5) for _ in range(3)]
    assert ep.query_labels.tolist() == [c for c in range(5) for _ in range(4)]
    assert ep.n_way == 5 and len(set(ep.classes.tolist())) == 5
    # episode label i <-> dataset class classes[i]
    assert torch.equal(labels[ep.support], ep.classes[ep.support_labels])
    assert torch.equal(labels[ep.query], ep.classes[ep.query_labels])


def test_support_and_query_are_disjoint_without_repeats():
    sampler = EpisodeSampler(_labels(per_class=8), n_way=4, k_shot=3, n_query=5)  # all 8 used
    g = _gen(1)
    for _ in range(50):
        ep = sampler.sample(g)
        items = torch.cat([ep.support, ep.query]).tolist()
        assert len(set(items)) == len(items) == 32


def test_classes_come_from_the_allowed_subset():
    allowed = [1, 3, 5, 7, 9]
    sampler = EpisodeSampler(_labels().numpy(), n_way=3, k_shot=1, n_query=2, classes=allowed)
    g = _gen(2)
    seen = set()
    for _ in range(100):
        ep = sampler.sample(g)
        seen.update(ep.classes.tolist())
        assert set(ep.classes.tolist()) <= set(allowed)
    assert seen == set(allowed)


def test_same_seed_same_episodes_other_seed_differs_global_rng_untouched():
    sampler = EpisodeSampler(_labels(), n_way=5, k_shot=2, n_query=3)
    state = torch.get_rng_state()

    def draw(seed):
        g = _gen(seed)
        return [torch.cat([e.support, e.query, e.classes]) for e in
                (sampler.sample(g) for _ in range(5))]

    a, b, c = draw(7), draw(7), draw(8)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))
    assert not torch.equal(a[0], a[1])  # the generator advances between episodes
    assert torch.equal(torch.get_rng_state(), state)


def test_too_few_items_in_a_class_names_the_class():
    # classes 0-3 have 10 items, class 4 only 4
    labels = torch.cat([_labels(per_class=10, n_classes=4), torch.full((4,), 4)])
    with pytest.raises(ValueError, match=r"4: 4") as info:
        EpisodeSampler(labels, n_way=2, k_shot=2, n_query=3)
    assert "k_shot" in str(info.value) and "n_query" in str(info.value)
    EpisodeSampler(labels, n_way=2, k_shot=2, n_query=3, classes=[0, 1, 2])  # excluded: fine


def test_absent_allowed_class_is_reported_as_having_no_items():
    with pytest.raises(ValueError, match=r"42: 0"):
        EpisodeSampler(_labels(), n_way=2, k_shot=1, n_query=1, classes=[0, 42])


def test_too_few_classes():
    with pytest.raises(ValueError, match="n_way = 4"):
        EpisodeSampler(_labels(), n_way=4, k_shot=1, n_query=1, classes=[0, 1, 2])


@pytest.mark.parametrize("kwargs, field", [
    (dict(n_way=0), "n_way"), (dict(k_shot=-1), "k_shot"), (dict(n_query=1.5), "n_query"),
])
def test_rejects_bad_sizes(kwargs, field):
    args = dict(n_way=2, k_shot=1, n_query=1) | kwargs
    with pytest.raises(ValueError, match=field):
        EpisodeSampler(_labels(), **args)


def test_rejects_float_labels_duplicate_classes_and_missing_generator():
    with pytest.raises(ValueError, match="labels"):
        EpisodeSampler(np.zeros(10), n_way=1, k_shot=1, n_query=1)
    with pytest.raises(ValueError, match="duplicates"):
        EpisodeSampler(_labels(), n_way=1, k_shot=1, n_query=1, classes=[1, 1])
    with pytest.raises(TypeError, match="torch.Generator"):
        EpisodeSampler(_labels(), n_way=1, k_shot=1, n_query=1).sample(0)

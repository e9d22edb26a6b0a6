"""Few-shot protocols (kind ``fewshot-protonet``): quick end-to-end run on real MNIST,
class splits, checkpoints (weights_only) and exact resume, CLI errors."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch

from _biosnn_cli import one_line_error

from bioSNN.embedder import CSNN, CSNNConfig, EpisodeSampler
from bioSNN.embedder import data as data_module
from bioSNN.embedder import train as train_module
from bioSNN.embedder.augment import Augmentation, RotatedClasses, augment
from bioSNN.embedder.checkpoint import load_checkpoint
from bioSNN.embedder.train import TrainConfig, meta_train
from bioSNN.errors import BioSNNError
from bioSNN.protocols import fewshot
from bioSNN.protocols.spec import find_spec
from bioSNN.results import Results
from bioSNN.runner import run_protocol

HAVE_DATA = bool(os.environ.get("BIOSNN_DATA"))
_skip = pytest.mark.skipif(not HAVE_DATA, reason="BIOSNN_DATA is not set: point it at the "
                           "shared data folder for the MNIST protocol tests")


def needs_mnist(test):
    return pytest.mark.data(_skip(test))



# ---------------------------------------------------------------- training loop (synthetic)

def _toy_problem(n_classes=6, per_class=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(n_classes, 1, 28, 28, generator=g)
    labels = torch.arange(n_classes).repeat(per_class)  # 0, 1, ..., 0, 1, ...: any prefix has every class
    images = protos[labels] + 0.8 * torch.randn(len(labels), 1, 28, 28, generator=g)
    return images, labels


_TINY = CSNNConfig(conv1_channels=4, conv2_channels=4, embedding_dim=8, num_steps=4)


def _train(config, checkpoint=None, on_task=None, val=True):
    images, labels = _toy_problem()
    sampler = EpisodeSampler(labels[:120], n_way=3, k_shot=2, n_query=3)
    val_set = (images[120:], EpisodeSampler(labels[120:], 3, 2, 3), 7, 3) if val else None
    model = CSNN(_TINY, generator=torch.Generator().manual_seed(1))
    hist = meta_train(model, images, sampler, torch.Generator().manual_seed(2), config,
                      val=val_set, checkpoint=checkpoint, on_task=on_task)
    return model, hist


class _Interrupt(Exception):
    pass


def _stop_after(k):
    def hook(task, loss, acc):
        if task == k:
            raise _Interrupt
    return hook


_FULL = TrainConfig(n_tasks=7, lr=3e-3, lr_schedule="cosine", weight_decay=1e-4,
                    normalize=True, temperature=0.5,
                    augmentation=Augmentation(rotate_deg=10, scale=0.1, shift_px=2),
                    val_every=2, early_stopping=True, checkpoint_every=2)


def test_resume_after_interruption_gives_exactly_the_uninterrupted_result(tmp_path,
                                                                         one_torch_thread):
    ref_model, ref = _train(_FULL)
    ckpt = tmp_path / "snn.pt"
    with pytest.raises(_Interrupt):
        _train(_FULL, checkpoint=ckpt, on_task=_stop_after(5))  # last checkpoint: task 4
    assert load_checkpoint(ckpt)["task"] == 4
    model, hist = _train(_FULL, checkpoint=ckpt)
    assert hist.resumed_from == 4
    for (name, a), b in zip(ref_model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(hist.loss, ref.loss)
    np.testing.assert_array_equal(hist.accuracy, ref.accuracy)
    np.testing.assert_array_equal(hist.classes, ref.classes)
    np.testing.assert_array_equal(hist.val_task, ref.val_task)
    np.testing.assert_array_equal(hist.val_accuracy, ref.val_accuracy)
    assert hist.kept_task == ref.kept_task and ref.val_task.tolist() == [2, 4, 6, 7]
    # a finished checkpoint is not trained further
    again_model, again = _train(_FULL, checkpoint=ckpt)
    assert again.resumed_from == 7
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 again_model.state_dict().values()))


def test_checkpoint_loads_with_weights_only_and_holds_plain_data(tmp_path, one_torch_thread):
    ckpt = tmp_path / "c.pt"
    with pytest.raises(_Interrupt):
        _train(_FULL, checkpoint=ckpt, on_task=_stop_after(3))
    state = torch.load(ckpt, weights_only=True)  # no pickled objects
    assert state["task"] == 2 and state["n_tasks"] == 7
    assert set(state) >= {"model", "optimizer", "generator", "loss", "accuracy", "classes",
                          "val_task", "val_accuracy", "best_model", "elapsed_s"}
    assert state["generator"].dtype == torch.uint8
    loss = state["loss"].numpy()
    assert np.isnan(loss[2:]).all() and not np.isnan(loss[:2]).any()

    def plain(x):
        if isinstance(x, dict):
            return all(isinstance(k, (str, int)) and plain(v) for k, v in x.items())
        if isinstance(x, (list, tuple)):
            return all(plain(v) for v in x)
        return x is None or isinstance(x, (torch.Tensor, int, float, bool, str))

    assert plain(state)
    with pytest.raises(BioSNNError, match="written for 7 tasks, not 9"):
        _train(TrainConfig(n_tasks=9, checkpoint_every=2), checkpoint=ckpt, val=False)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(BioSNNError, match="cannot be loaded"):
        load_checkpoint(tmp_path / "junk.pt")


def test_rotation_classes_and_augmentation():
    images, labels = _toy_problem(n_classes=3, per_class=4)
    rot = RotatedClasses(images, labels, 4, label_stride=10)
    assert len(rot) == 48 and sorted(set(rot.labels.tolist())) == [0, 1, 2, 10, 11, 12, 20,
                                                                   21, 22, 30, 31, 32]
    idx = torch.tensor([0, 12 + 5, 24 + 7, 36 + 1])
    expected = torch.stack([images[0], torch.rot90(images[5], 1, (1, 2)),
                            torch.rot90(images[7], 2, (1, 2)), torch.rot90(images[1], 3, (1, 2))])
    assert torch.equal(rot[idx], expected)
    g = torch.Generator().manual_seed(0)
    assert augment(images, Augmentation(), g) is images  # off: nothing drawn
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())
    bg = -0.5
    flat = torch.full((2, 1, 28, 28), bg)
    out = augment(flat, Augmentation(rotate_deg=30, scale=0.2, shift_px=3, background=bg), g)
    torch.testing.assert_close(out, flat)  # a blank image stays blank (background padding)
    # a pure integer shift moves the image by whole pixels
    img = torch.zeros(1, 1, 28, 28)
    img[0, 0, 10, 12] = 1.0
    shifted = augment(img, Augmentation(shift_px=2.0, background=0.0),
                      torch.Generator().manual_seed(3))
    assert shifted.sum() == pytest.approx(1.0, abs=1e-5)


# ---------------------------------------------------------------- protocol (real MNIST)

@pytest.fixture(scope="module")
def quick_disjoint(tmp_path_factory):
    """One quick run of fewshot-mnist-disjoint into a temporary results root."""
    if not HAVE_DATA:
        pytest.skip("BIOSNN_DATA is not set")
    root = tmp_path_factory.mktemp("fewshot")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOSNN_CACHE", str(root / "cache"))
        spec = find_spec("fewshot-mnist-disjoint").resolve(quick=True)
        folder = run_protocol(spec, out=root / "results", progress=False)
    return root, spec, folder


@needs_mnist
def test_quick_run_writes_a_complete_folder_above_chance(quick_disjoint):
    root, spec, folder = quick_disjoint
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["ann.pt", "data.nc", "fig-accuracy.png", "fig-embedding-map.png",
                     "fig-firing-rates.png", "fig-training-curve.png", "provenance.json",
                     "snn.pt", "spec.toml", "summary.json"]
    r = Results.load(folder)
    assert set(r.files) == {"ann.pt", "snn.pt"}
    # the trained models are results: plain state dicts that load with weights_only
    snn = torch.load(folder / "snn.pt", weights_only=True)
    model = CSNN(spec.params.csnn_config())
    model.load_state_dict(snn)
    assert set(snn) == set(model.state_dict())
    s = r.summary
    for key in ("snn_test_accuracy", "snn_test_ci95", "ann_test_accuracy", "ann_test_ci95",
                "n_test_episodes", "n_train_tasks", "snn_s_per_task", "ann_s_per_task",
                "snn_minus_ann", "rate_lif1_Hz", "rate_lif2_Hz", "rate_lif3_Hz"):
        assert key in s, key
    assert s["n_train_tasks"] == 20 and s["n_test_episodes"] == 10
    assert s["snn_test_accuracy"] > 0.35 and s["ann_test_accuracy"] > 0.35  # chance: 0.2
    assert 0 < s["snn_test_ci95"] < 0.2 and s["snn_s_per_task"] > 0
    assert all(0 < s[f"rate_lif{k}_Hz"] <= 1000 for k in (1, 2, 3))  # <= 1 spike per 1 ms step
    for name, var in r.data.variables.items():
        assert "units" in var.attrs, name
    assert r.data["rate_lif1"].attrs["units"] == "Hz"
    assert r.data["train_time"].attrs["units"] == "s"
    assert r.data["embedding_map"].shape == (2, 50, 2)
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["data_root"] == str(data_module.resolve_data_root().resolve())
    assert "data_root" not in prov["parameters"]
    # finished: the checkpoints are gone
    assert not fewshot.checkpoint_dir(spec, 0).exists()
    assert not list((root / "cache").glob("checkpoints/*/*/*.pt"))


@needs_mnist
def test_replay_takes_a_finished_run_folder_as_its_checkpoint(quick_disjoint, tmp_path):
    _, spec, folder = quick_disjoint
    replay = find_spec("replay-crossval").resolve(quick=True, target="numpy", overrides={
        "checkpoint": str(folder), "num_steps": spec.params.num_steps, "inputs": "constant",
        "classes": "5-6", "k_shot": 1, "n_query": 1})
    s = Results.load(run_protocol(replay, out=tmp_path, progress=False, figures=False)).summary
    assert s["checkpoint_source"] == "checkpoint" and s["spikes_identical_min"] == 1.0
    import hashlib

    assert s["checkpoint_sha256"] == hashlib.sha256((folder / "snn.pt").read_bytes()).hexdigest()


@needs_mnist
def test_disjoint_split_trains_on_0_4_and_tests_on_5_9(quick_disjoint):
    _, _, folder = quick_disjoint
    data = Results.load(folder).data
    train = data["train_episode_classes"].values
    test = data["test_episode_classes"].values
    # rotation classes are numbered digit + 10 * rotation step: the digit is the class % 10
    assert set(np.unique(train % 10)) <= {0, 1, 2, 3, 4}
    assert set(np.unique(test)) <= {5, 6, 7, 8, 9}
    assert set(np.unique(data["embed_label"].values)) == {5, 6, 7, 8, 9}
    assert all(len(set(row)) == 5 for row in train)


@needs_mnist
def test_protocol_resumes_to_the_same_result(tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path / "cache"))
    spec = find_spec("fewshot-mnist-disjoint").resolve(quick=True, overrides={
        "n_train_tasks": 6, "n_test_episodes": 3, "num_steps": 3, "checkpoint_every": 2,
        "n_embed_per_class": 4, "tsne_perplexity": 5.0, "augment_shift_px": 1.0,
        "rotation_classes": 2, "val_fraction": 0.1, "val_every": 3, "n_val_episodes": 2,
        "early_stopping": True})
    reference = fewshot.FewShotProtoNet(spec).run()
    original = train_module.meta_train  # the protocol imports it from there when it runs

    def interrupted(*args, **kwargs):
        kwargs["on_task"] = _stop_after(5)
        return original(*args, **kwargs)

    monkeypatch.setattr(train_module, "meta_train", interrupted)
    with pytest.raises(_Interrupt):
        fewshot.FewShotProtoNet(spec).run()
    ckdir = fewshot.checkpoint_dir(spec, spec.seed)
    assert load_checkpoint(ckdir / "snn.pt")["task"] == 4
    monkeypatch.setattr(train_module, "meta_train", original)
    resumed = fewshot.FewShotProtoNet(spec).run()
    assert not ckdir.exists()
    a, b = reference.data.drop_vars("train_time"), resumed.data.drop_vars("train_time")
    assert a.identical(b)
    drop = {"snn_s_per_task", "ann_s_per_task"}
    assert ({k: v for k, v in reference.summary.items() if k not in drop}
            == {k: v for k, v in resumed.summary.items() if k not in drop})
    assert set(np.unique(a["train_episode_classes"].values)) <= {0, 1, 2, 3, 4, 10, 11, 12,
                                                                  13, 14}


# ---------------------------------------------------------------- CLI errors

@pytest.mark.parametrize("value, expected", [
    ("0,1,x", "parameters.train_classes: expected comma-separated digit classes 0-9"),
    ("0-2", "parameters.train_classes: needs at least n_way = 5 classes"),
    ("0,1,2,3,12", "parameters.train_classes: classes must be digits 0-9"),
    ("0,1,2,3,3", "parameters.train_classes: a class is listed twice"),
])
def test_bad_class_lists_exit_2_with_one_line(capsys, tmp_path, value, expected):
    line = one_line_error(capsys, ["run", "fewshot-mnist-disjoint", "--quick", "--out",
                                    str(tmp_path), "--set", f"train_classes={value}"])
    assert expected in line
    assert not tmp_path.joinpath("fewshot-mnist-disjoint").exists()


def test_train_way_beyond_the_training_classes_exits_2(capsys, tmp_path):
    # disjoint: digits 0-4, each in 4 rotations = 20 training classes
    line = one_line_error(capsys, ["run", "fewshot-mnist-disjoint", "--quick", "--out",
                                    str(tmp_path), "--set", "train_way=21"])
    assert "parameters.train_way: must be 0 (= n_way) or between 2 and the 20 training" in line


def test_train_way_sets_the_ways_of_training_episodes_only(tmp_path, monkeypatch):
    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path / "cache"))
    spec = find_spec("fewshot-mnist-seed").resolve(quick=True, overrides={
        "train_way": 7, "n_train_tasks": 3, "baseline": False})
    res = fewshot.FewShotProtoNet(spec).run()
    train = res.data["train_episode_classes"].values
    assert train.shape == (3, 7) and all(len(set(row)) == 7 for row in train)
    assert res.data["test_episode_classes"].shape[1] == 5
    assert res.summary["train_way"] == 7 and res.summary["n_way"] == 5


def test_missing_data_exits_2_with_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "_is_online", lambda timeout=2.0: False)
    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path / "cache"))
    line = one_line_error(capsys, ["run", "fewshot-mnist-seed", "--quick", "--no-progress",
                                    "--out", str(tmp_path / "out"),
                                    "--data-root", str(tmp_path / "nowhere")])
    assert "MNIST not found" in line and str(tmp_path / "nowhere" / "MNIST" / "raw") in line
    assert not list((tmp_path / "out").glob("*/*"))  # no run folder, not even a partial one


def test_parse_classes():
    assert fewshot.parse_classes("0-4") == [0, 1, 2, 3, 4]
    assert fewshot.parse_classes(" 5, 7 ,9") == [5, 7, 9]
    assert fewshot.parse_classes("0-2,8-9") == [0, 1, 2, 8, 9]
    for bad in ("", "4-2", "1,,2", "a", "10"):
        with pytest.raises(ValueError):
            fewshot.parse_classes(bad)


def test_tau_m_from_beta_and_dt():
    p = find_spec("fewshot-mnist-seed").params
    assert float(p.tau_m / p.dt) == pytest.approx(-1 / math.log(0.95))


@needs_mnist
@pytest.mark.slow
def test_seed_protocol_learns_with_a_short_schedule(tmp_path, monkeypatch):
    # 300 tasks at 25 steps, 100 test episodes (~10 min on one core): both embedders are
    # far above chance (0.2) and near the full-length accuracy (~0.98-0.99)
    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path / "cache"))
    spec = find_spec("fewshot-mnist-seed").resolve(overrides={
        "n_train_tasks": 300, "num_steps": 25, "n_test_episodes": 100,
        "n_embed_per_class": 20})
    s = fewshot.FewShotProtoNet(spec).run().summary
    assert s["snn_test_accuracy"] > 0.93 and s["ann_test_accuracy"] > 0.93, s
    assert s["snn_test_ci95"] < 0.02

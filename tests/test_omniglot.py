"""Omniglot (bioSNN.embedder.omniglot) and the Omniglot few-shot protocols: the folder
loads as torchvision's layout, the Vinyals split has its published sizes and members,
images are normalised as documented, the protocol draws its training and test episodes
from disjoint characters (rotations included), and bad specs or missing data give one line."""
from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import torch

from _biosnn_cli import one_line_error

from bioSNN.embedder import data as data_module
from bioSNN.embedder import omniglot
from bioSNN.errors import DataNotFoundError
from bioSNN.protocols import fewshot
from bioSNN.protocols.spec import find_spec

HAVE_DATA = bool(os.environ.get("BIOSNN_DATA"))
_skip = pytest.mark.skipif(not HAVE_DATA, reason="BIOSNN_DATA is not set: point it at the "
                           "shared data folder for the Omniglot tests")


def needs_omniglot(test):
    return pytest.mark.data(_skip(test))


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One cache folder for the module: the pixels are decoded once, not per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def cache(module_cache, monkeypatch):
    monkeypatch.setenv("BIOSNN_CACHE", str(module_cache))
    return module_cache


@pytest.fixture(scope="module")
def og(module_cache):
    if not HAVE_DATA:
        pytest.skip("BIOSNN_DATA is not set")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOSNN_CACHE", str(module_cache))
        return omniglot.load_omniglot()


# ---------------------------------------------------------------- the data

@needs_omniglot
def test_every_drawing_loads_once_with_stable_sorted_classes(og):
    assert og.images.shape == (32460, 1, 28, 28) and og.images.dtype == torch.float32
    assert list(og.characters) == sorted(og.characters) and len(og.characters) == 1623
    counts = torch.bincount(og.labels, minlength=1623)
    assert counts.min() == counts.max() == 20  # 20 drawers per character
    assert sum(og.background) == 964
    # class numbers depend only on the names: the first and last characters of the sort
    assert og.characters[0] == "Alphabet_of_the_Magi/character01"
    assert og.characters[-1] == "ULOG/character26"


@needs_omniglot
def test_pixels_are_the_documented_normalised_ink_map(og):
    x = og.images
    # paper is the most common pixel and equals the documented background value
    values, counts = torch.unique(x, return_counts=True)
    assert float(values[counts.argmax()]) == pytest.approx(omniglot.OMNIGLOT_BACKGROUND, abs=1e-6)
    ink = x * omniglot.OMNIGLOT_STD + omniglot.OMNIGLOT_MEAN   # back to ink 1, paper 0
    assert float(ink.min()) == pytest.approx(0, abs=1e-6)
    assert float(ink.max()) == pytest.approx(1, abs=1e-6)
    background = ink[torch.tensor(og.background)[og.labels]].double()
    # the constants are the background set's statistics, to their 4 printed digits
    assert float(background.mean()) == pytest.approx(omniglot.OMNIGLOT_MEAN, abs=1e-4)
    assert float(background.std()) == pytest.approx(omniglot.OMNIGLOT_STD, abs=1e-4)


@needs_omniglot
def test_vinyals_split_has_its_published_sizes_and_members(og):
    split = {s: set(omniglot.split_classes(og, s)) for s in omniglot.SPLITS}
    for s, n in omniglot.SPLIT_SIZES.items():
        assert len(split[s]) == n, s
    index = {c: i for i, c in enumerate(og.characters)}
    # the one alphabet shared by training and test: Gurmukhi 1-41 train, 42-45 test
    assert index["Gurmukhi/character41"] in split["vinyals-trainval"]
    assert index["Gurmukhi/character42"] in split["vinyals-test"]
    assert index["Gurmukhi/character45"] in split["vinyals-test"]
    assert index["Hebrew/character01"] in split["vinyals-val"]
    assert index["Bengali/character46"] in split["vinyals-val"]
    assert index["Tengwar/character01"] in split["vinyals-test"]
    assert index["Latin/character01"] in split["vinyals-train"]
    assert split["vinyals-train"] | split["vinyals-val"] == split["vinyals-trainval"]
    assert split["vinyals-trainval"] | split["vinyals-test"] == set(range(1623))
    assert split["background"] | split["evaluation"] == set(range(1623))


@needs_omniglot
def test_the_disjoint_table_says_exactly_which_splits_share_no_character(og):
    split = {s: set(omniglot.split_classes(og, s)) for s in omniglot.SPLITS}
    for a, b in itertools.combinations(omniglot.SPLITS, 2):
        assert fewshot.disjoint_splits(a, b) == (not split[a] & split[b]), (a, b)


def test_unknown_split_names_the_known_ones():
    fake = omniglot.OmniglotSet(torch.zeros(0), torch.zeros(0), (), ())
    with pytest.raises(ValueError, match="unknown Omniglot split 'vinyals'.*vinyals-test"):
        omniglot.split_classes(fake, "vinyals")


def test_missing_folder_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data_module, "_is_online", lambda timeout=2.0: False)
    with pytest.raises(DataNotFoundError) as err:
        omniglot.load_omniglot(tmp_path / "nowhere")
    text = str(err.value)
    assert "Omniglot not found" in text and str(tmp_path / "nowhere" / "omniglot-py") in text
    assert "offline" in text and "BIOSNN_DATA" in text and "\n" not in text


def test_incomplete_folder_is_refused(tmp_path):
    from PIL import Image

    for s in ("images_background", "images_evaluation"):
        d = tmp_path / "omniglot-py" / s / "Latin" / "character01"
        d.mkdir(parents=True)
        Image.new("1", (105, 105), 1).save(d / "0001_01.png")
    with pytest.raises(DataNotFoundError, match="incomplete: 1 characters in 1 alphabets"):
        omniglot.load_omniglot(tmp_path, download=False)


# ---------------------------------------------------------------- the protocols

@needs_omniglot
def test_quick_run_draws_training_and_test_episodes_from_disjoint_characters(og, cache):
    spec = find_spec("fewshot-omniglot-5shot").resolve(quick=True, overrides={
        "n_test_episodes": 30, "n_train_tasks": 4, "also_test_way": 8})
    res = fewshot.FewShotProtoNet(spec).run()
    d, s = res.data, res.summary
    train = d["train_episode_classes"].values
    test = d["test_episode_classes"].values
    trainval = set(omniglot.split_classes(og, "vinyals-trainval"))
    vtest = set(omniglot.split_classes(og, "vinyals-test"))
    assert set(np.unique(train % 1623)) <= trainval
    assert set(np.unique(test % 1623)) <= vtest
    # rotation classes in both: 30 test episodes x 5 ways of 1 692 classes use several turns
    assert len(np.unique(test // 1623)) > 1 and test.max() < 4 * 1623
    assert len(np.unique(train // 1623)) > 1
    assert s["dataset"] == "omniglot" and s["n_test_classes_seen"] == len(np.unique(test % 1623))
    assert "test_classes_seen" not in s  # a list of hundreds of numbers is not a summary
    # embedded images: 5 random test characters x 10 drawings, never training characters
    labels = d["embed_label"].values
    assert len(labels) == 50 and len(np.unique(labels)) == 5 and set(labels) <= vtest
    # cross-dataset test on MNIST digits: its own episodes, accuracies per model
    cross = d["cross_test_accuracy"]
    assert cross.shape == (2, 30) and 0 <= float(cross.min()) and float(cross.max()) <= 1
    assert s["snn_cross_test_accuracy"] == pytest.approx(float(cross.sel(model="snn").mean()))
    assert s["cross_dataset"] == "mnist"
    # the same embedders tested on 8-way episodes of their own
    acc8 = d["test_accuracy_8way"]
    assert acc8.shape == (2, 30)
    assert s["ann_test_accuracy_8way"] == pytest.approx(float(acc8.sel(model="ann").mean()))
    assert s["snn_minus_ann_8way"] == pytest.approx(float((acc8.sel(model="snn") -
                                                           acc8.sel(model="ann")).mean()))


@needs_omniglot
def test_quick_run_is_reproducible(og, cache):
    spec = find_spec("fewshot-omniglot-1shot").resolve(quick=True, overrides={
        "n_train_tasks": 2, "baseline": False, "n_test_episodes": 3, "n_way": 20})
    a = fewshot.FewShotProtoNet(spec).run().data
    b = fewshot.FewShotProtoNet(spec).run().data
    assert a["test_episode_classes"].shape == (3, 20)
    np.testing.assert_array_equal(a["test_accuracy_20way"].values, b["test_accuracy_20way"].values)
    np.testing.assert_array_equal(a["test_accuracy"].values, b["test_accuracy"].values)
    np.testing.assert_array_equal(a["train_loss"].values, b["train_loss"].values)


@pytest.mark.parametrize("setting, expected", [
    ("test_classes=0-9", "parameters.test_classes: Omniglot classes are named by split"),
    ("test_classes=vinyals-val", "parameters.test_classes: Omniglot split 'vinyals-val' shares "
     "characters with train_classes = 'vinyals-trainval'"),
    ("cross_dataset=omniglot", "parameters.cross_dataset: must name another dataset"),
    ("n_embed_classes=500", "parameters.n_embed_classes: must be at most the 423 test classes"),
    ("test_rotation_classes=3", "parameters.test_rotation_classes: must be 1, 2 or 4"),
    ("cross_way=11", "parameters.cross_way: MNIST has 10 classes"),
    ("also_test_way=1693", "parameters.also_test_way: must be 0 or between 2 and the 1692"),
])
def test_bad_omniglot_settings_exit_2_with_one_line(capsys, tmp_path, setting, expected):
    line = one_line_error(capsys, ["run", "fewshot-omniglot-5shot", "--quick", "--out",
                                    str(tmp_path), "--set", setting])
    assert expected in line
    assert not tmp_path.joinpath("fewshot-omniglot-5shot").exists()


def test_mnist_class_lists_are_unchanged_by_the_dataset_option():
    assert fewshot.class_names("mnist", "0-4") == [0, 1, 2, 3, 4]
    assert len(fewshot.class_names("omniglot", "vinyals-test")) == 423
    with pytest.raises(ValueError, match="named by split"):
        fewshot.class_names("omniglot", "0-9")


def test_pixel_cache_follows_the_files(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("BIOSNN_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "omniglot-py"
    paths = []
    for k in range(3):
        d = folder / "images_background" / "Latin" / f"character0{k + 1}"
        d.mkdir(parents=True)
        img = Image.new("1", (105, 105), 1)
        img.paste(0, (10 * k, 10 * k, 10 * k + 30, 10 * k + 30))  # ink square, per file
        img.save(d / f"000{k + 1}_01.png")
        paths.append(d / f"000{k + 1}_01.png")
    first = omniglot._pixels(paths, folder)
    np.testing.assert_array_equal(first, omniglot._decode(paths))
    assert len(list((tmp_path / "cache" / "omniglot").glob("*.npy"))) == 1
    np.testing.assert_array_equal(omniglot._pixels(paths, folder), first)  # from the cache
    # a changed drawing is decoded again (its size or mtime changed the digest)
    Image.new("1", (105, 105), 0).save(paths[1])
    os.utime(paths[1], ns=(1, 1))
    again = omniglot._pixels(paths, folder)
    assert (again[1] == 0).all() and not (first[1] == 0).all()
    np.testing.assert_array_equal(again[[0, 2]], first[[0, 2]])
    # an unreadable cache file is replaced, never trusted
    for f in (tmp_path / "cache" / "omniglot").glob("*.npy"):
        f.write_bytes(b"not an array")
    np.testing.assert_array_equal(omniglot._pixels(paths, folder), again)

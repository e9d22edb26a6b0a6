"""The named class splits of Omniglot (no torch import: spec checks use them).

``vinyals-*``: the split of Vinyals et al. (2016) as distributed with Snell et al.
(2017)'s code (``data/omniglot/splits/vinyals/*.txt`` of jakesnell/prototypical-networks),
written here by the alphabets it consists of; ``background`` / ``evaluation``: Lake et
al. (2015)'s two sets. :func:`bioSNN.embedder.omniglot.split_classes` resolves them on
the loaded data and checks the sizes.
"""
from __future__ import annotations

__all__ = ["VINYALS_TEST_ALPHABETS", "VINYALS_TEST_GURMUKHI", "VINYALS_VAL_ALPHABETS",
           "SPLIT_SIZES", "SPLITS", "DISJOINT"]

#: The 12 evaluation alphabets of the Vinyals test split (plus Gurmukhi characters 42-45).
VINYALS_TEST_ALPHABETS = (
    "Kannada", "Keble", "Malayalam", "Manipuri", "Mongolian",
    "Old_Church_Slavonic_(Cyrillic)", "Oriya", "Syriac_(Serto)", "Sylheti", "Tengwar",
    "Tibetan", "ULOG")
#: The Gurmukhi characters (characterNN numbers) of the Vinyals test split.
VINYALS_TEST_GURMUKHI = range(42, 46)
#: The 5 background alphabets of the Vinyals validation split.
VINYALS_VAL_ALPHABETS = ("Armenian", "Bengali", "Early_Aramaic", "Hebrew",
                         "Mkhedruli_(Georgian)")
#: Characters per split (checked on load).
SPLIT_SIZES = {"vinyals-train": 1028, "vinyals-val": 172, "vinyals-trainval": 1200,
               "vinyals-test": 423, "background": 964, "evaluation": 659}
SPLITS = tuple(SPLIT_SIZES)
#: Pairs of splits that share no character (all other pairs overlap).
DISJOINT = frozenset(frozenset(pair) for pair in (
    ("vinyals-train", "vinyals-val"), ("vinyals-train", "vinyals-test"),
    ("vinyals-val", "vinyals-test"), ("vinyals-trainval", "vinyals-test"),
    ("background", "evaluation"), ("vinyals-val", "evaluation"),
    ("vinyals-test", "background")))

"""Per-epoch learning curves as Dataset variables, shared by the epoch-trained torch kinds
(``audio-fsdd``, ``delay-learning``)."""
from __future__ import annotations

import numpy as np

__all__ = ["epoch_curves"]


def epoch_curves(curves: dict, models, test_note: str) -> dict:
    """``train_loss``, ``train_accuracy`` and ``test_accuracy_curve`` over (model, epoch).

    Parameters
    ----------
    curves : dict
        Per model, a mapping with arrays ``loss``, ``acc`` and ``test_acc`` (one per epoch).
    models : sequence of str
        Order of the ``model`` dimension.
    test_note : str
        How the test curve was measured, appended to its long name.
    """
    def stack(key):
        return np.stack([curves[m][key] for m in models])

    return {
        "train_loss": (("model", "epoch"), stack("loss"),
                       {"units": "1", "long_name": "mean training cross-entropy"}),
        "train_accuracy": (("model", "epoch"), stack("acc"),
                           {"units": "1", "long_name": "training accuracy during the epoch"}),
        "test_accuracy_curve": (("model", "epoch"), stack("test_acc"),
                                {"units": "1", "long_name": f"test accuracy after each epoch "
                                 f"{test_note}"}),
    }

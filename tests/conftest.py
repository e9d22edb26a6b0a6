"""Shared fixtures: isolated Brian2 state, a results folder, the spec of a protocol."""
from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def brian_numpy():
    """Brian2 on the numpy target with a fresh scope; prefs and dt restored after."""
    import brian2

    old_target, old_dt = brian2.prefs.codegen.target, brian2.defaultclock.dt
    brian2.start_scope()
    brian2.prefs.codegen.target = "numpy"
    yield brian2
    brian2.prefs.codegen.target = old_target
    brian2.defaultclock.dt = old_dt


@pytest.fixture
def quick_spec():
    """Resolved quick spec of a named protocol: ``quick_spec("lif-fi-curve", sigma="1 mV")``."""
    from bioSNN.protocols.spec import find_spec

    def make(name, **overrides):
        return find_spec(name).resolve(quick=True, overrides=overrides or None)

    return make


@pytest.fixture
def one_torch_thread():
    """torch on one intra-op thread for the test, restored afterwards: small batches on
    the 2-core machine ran 4x slower and erratically with two threads (22 s vs 5 s)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_configure(config):
    """For the whole session (module-scoped fixtures included): builds go to a test cache
    (never into the cache of a user's run going on at the same time), and only the
    repository's protocols/ are seen."""
    os.environ["BIOSNN_CACHE"] = os.environ.get(
        "BIOSNN_TEST_CACHE", os.path.expanduser("~/.cache/bioSNN-tests"))
    os.environ.pop("BIOSNN_PROTOCOLS", None)

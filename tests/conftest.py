"""Shared fixtures: Brian2 state restored around every test, a quick spec, one torch thread."""
from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def brian_state():
    """Every test starts and ends with the same Brian2 state: preferences, device and
    ``defaultclock.dt`` are restored after it (Brian2's own tests reinitialise the same
    way), so a test that switches to cpp_standalone or changes a pref cannot leak it."""
    import brian2
    from brian2.devices.device import get_device, reinit_devices, set_device

    prefs = dict(brian2.prefs)
    dt = brian2.defaultclock.dt
    yield
    if type(get_device()).__name__ != "RuntimeDevice":
        reinit_devices()
        set_device("runtime")
    for key, value in prefs.items():
        if brian2.prefs[key] is not value and brian2.prefs[key] != value:
            brian2.prefs[key] = value
    brian2.defaultclock.dt = dt


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
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if workers > 1 and os.environ.get("PYTEST_XDIST_WORKER"):
        # `make test` runs one pytest-xdist worker per core: torch's intra-op threads
        # share the cores out instead of each worker oversubscribing all of them
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))

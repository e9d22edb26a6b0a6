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


@pytest.fixture(autouse=True)
def _no_user_protocol_dirs(monkeypatch):
    """Tests see only the repository's protocols/ unless they set BIOSNN_PROTOCOLS."""
    monkeypatch.delenv("BIOSNN_PROTOCOLS", raising=False)
    monkeypatch.setenv("BIOSNN_CACHE", os.environ.get("BIOSNN_TEST_CACHE",
                                                      os.path.expanduser("~/.cache/bioSNN-tests")))

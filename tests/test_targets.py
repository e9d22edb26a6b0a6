"""The same protocol on Brian2's three code-generation targets gives the same results.

cython compiles each code object once (cached in ~/.cython); cpp_standalone compiles
a project into the build cache ($BIOSNN_CACHE). On a cold cache this file takes about
a minute, on a warm one a few seconds.
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.compiled
import xarray as xr

from bioSNN.protocols import get_kind


def _run(spec, target, tmp_path=None):
    s = spec.resolve(target=target)
    return get_kind(s.kind)(s).run(build_dir=None if tmp_path is None else tmp_path / target)


@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
@pytest.mark.parametrize("name", ["lif-fi-curve", "izhikevich-patterns"])
def test_targets_agree_with_numpy(quick_spec, name, target):
    spec = quick_spec(name)
    ref = _run(spec, "numpy")
    other = _run(spec, target)
    assert other.provenance["target"] == target
    np.testing.assert_array_equal(other.data["spike_neuron"], ref.data["spike_neuron"])
    np.testing.assert_allclose(other.data["spike_time"], ref.data["spike_time"], atol=1e-9)
    for var in ("v_trace", "v"):
        if var in ref.data:
            np.testing.assert_allclose(other.data[var], ref.data[var], rtol=0, atol=1e-6)
    assert other.summary == ref.summary


def test_runtime_usable_after_standalone(quick_spec):
    """The target context restores Brian2's runtime device: a numpy run after a
    standalone one still works and gives the same data."""
    spec = quick_spec("lif-fi-curve")
    a = _run(spec, "numpy")
    _run(spec, "cpp_standalone")
    b = _run(spec, "numpy")
    xr.testing.assert_identical(a.data, b.data)


def test_busy_build_folder_is_not_shared(tmp_path):
    """A cpp_standalone build folder in use by one process is locked: another process
    gets a private sibling folder, and the folder is free again once released."""
    import subprocess
    import sys

    from bioSNN.backend import _lock_build_dir

    probe = ("import sys; from pathlib import Path; from bioSNN.backend import _lock_build_dir; "
             "print(_lock_build_dir(Path(sys.argv[1]))[0])")
    folder = tmp_path / "build"
    used, lock = _lock_build_dir(folder)
    assert used == folder
    other = subprocess.run([sys.executable, "-c", probe, str(folder)], capture_output=True,
                           text=True, check=True).stdout.strip()
    assert other != str(folder) and other.startswith(str(folder) + "-")
    lock.close()
    again = subprocess.run([sys.executable, "-c", probe, str(folder)], capture_output=True,
                           text=True, check=True).stdout.strip()
    assert again == str(folder)


def test_canonical_main_queue_orders_only_commuting_writes():
    """Runs of single-value writes are sorted by array name (stably); other entries and
    writes to one array keep their order."""
    from bioSNN.backend import canonical_main_queue

    w = lambda name, v: ("set_by_single_value", (name, 0, v))  # noqa: E731
    queue = [w("_array_b_t", "1"), w("_array_a_t", "2"), w("_array_b_t", "3"),
             ("run_network", "net"),
             w("_array_z", "4"), ("seed", 0), w("_array_y", "5"), w("_array_x", "6")]
    assert canonical_main_queue(queue) == [
        w("_array_a_t", "2"), w("_array_b_t", "1"), w("_array_b_t", "3"),
        ("run_network", "net"),
        w("_array_z", "4"), ("seed", 0), w("_array_x", "6"), w("_array_y", "5")]


def test_unchanged_network_is_not_recompiled(quick_spec, tmp_path):
    """A protocol with several clocks, run again with the same spec, regenerates an
    identical main.cpp and does not relink the binary (Brian2 2.9 orders clock writes
    by a Python set; bioSNN canonicalises them), and gives identical data."""
    spec = quick_spec("rstdp-poisson-10class").resolve(target="cpp_standalone")
    build = tmp_path / "build"
    first = get_kind(spec.kind)(spec).run(build_dir=build)
    main_cpp, binary = (build / "main.cpp").read_bytes(), build / "main"
    stamp = binary.stat().st_mtime_ns
    for _ in range(2):
        again = get_kind(spec.kind)(spec).run(build_dir=build)
        assert (build / "main.cpp").read_bytes() == main_cpp
        assert binary.stat().st_mtime_ns == stamp
        xr.testing.assert_identical(again.data, first.data)


def _loop(cpp: str) -> tuple[str, str]:
    """The time-step loop of a network.cpp and what follows it up to the end of the run."""
    start = cpp.index("while(clock && clock->running()")
    end = cpp.index("Network::_globally_running = false;", start)
    close = cpp.rindex("\n    }\n", start, end) + len("\n    }\n")
    return cpp[start:close], cpp[close:end]


def test_standalone_network_reads_the_cpu_clock_once_per_run():
    """Brian2's network loop calls std::clock() (a system call) every step and, with a
    report, before every object; bioSNN's network.cpp reads it once after the loop and
    every REPORT_EVERY_STEPS steps for the report. Other templates are left alone."""
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

    from bioSNN.backend import REPORT_EVERY_STEPS, sparse_clock_network

    brian = CPPStandaloneCodeObject.templater.network(None, None, maximum_run_time=None).cpp_file
    loop, after = _loop(brian)
    assert loop.count("std::clock()") == 2 and "std::clock()" not in after  # the cost removed
    ours = sparse_clock_network(brian)
    loop, after = _loop(ours)
    assert loop.count("std::clock()") == 1
    assert f"if (report_func && i == 0 && (_biosnn_steps++ % {REPORT_EVERY_STEPS}) == 0)" in loop
    assert "elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);" in after
    # Brian2's lines are all kept (two moved after the loop); two lines are new
    old, new = ({x.strip() for x in t.splitlines()} for t in (brian, ours))
    assert old <= new
    assert new - old == {"unsigned long _biosnn_steps = 0;",
                         f"if (report_func && i == 0 && (_biosnn_steps++ % {REPORT_EVERY_STEPS}) == 0)"}
    # a maximum_run_time (checked against the per-step clock) or unknown text: unchanged
    timed = CPPStandaloneCodeObject.templater.network(None, None, maximum_run_time=5.0).cpp_file
    assert sparse_clock_network(timed) is None
    assert sparse_clock_network("int main() {}") is None


def test_standalone_build_uses_the_sparse_clock_loop(quick_spec, tmp_path):
    """The network.cpp of a real build is the patched one, and the run's data equal the
    numpy target's (the loop change touches only timing)."""
    spec = quick_spec("lif-fi-curve")
    ref = _run(spec, "numpy")
    other = _run(spec, "cpp_standalone", tmp_path)
    assert "_biosnn_steps" in (tmp_path / "cpp_standalone" / "network.cpp").read_text()
    np.testing.assert_array_equal(other.data["spike_neuron"], ref.data["spike_neuron"])
    assert other.summary == ref.summary

"""The Dask side: a local cluster or a scheduler, the points as tasks with retries."""
from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import BioSNNError, SpecError
from .worker import BrianWorkerSetup, _task_key, run_point

__all__ = []


def _connect(scheduler: str | None, workers: int | None, n_todo: int,
             timeout: float, stack):
    """A distributed Client: on ``scheduler`` or on an embedded LocalCluster."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler is None:
        n = max(1, min(workers or os.cpu_count() or 1, n_todo))
        cluster = stack.enter_context(LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.CRITICAL))
        return stack.enter_context(Client(cluster)), f"local cluster of {n} worker processes"
    hint = (f"start one with `dask scheduler --port {scheduler.rsplit(':', 1)[-1]}` and workers "
            f"with `dask worker {scheduler}`, or omit --scheduler to use a local cluster")
    try:
        client = stack.enter_context(Client(scheduler, timeout=timeout))
    except (OSError, ValueError) as err:
        if isinstance(err, ValueError):
            raise SpecError("--scheduler", None, f"{err}; expected tcp://HOST:PORT") from None
        raise BioSNNError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} within "
                          f"{timeout:g} s; {hint}") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise BioSNNError(f"--scheduler: the Dask scheduler at {scheduler} has no workers "
                          f"(waited {timeout:g} s); start some with `dask worker {scheduler}`"
                          ) from None
    n = len(client.scheduler_info().get("workers", {}))
    return client, f"scheduler {scheduler} ({n} workers)"


def _execute(tasks: dict, *, scheduler, workers, retries, timeout, progress, n_total,
             n_done, name) -> dict:
    """Run ``tasks`` (index -> task) on Dask; index -> result dict or exception."""
    from contextlib import ExitStack

    from distributed import as_completed

    from ..progress import bar as progress_bar

    results: dict[int, Any] = {}
    with ExitStack() as stack:
        client, where = _connect(scheduler, workers, len(tasks), timeout, stack)
        client.register_plugin(BrianWorkerSetup())
        if progress:
            print(f"sweep {name}: {n_total} points, {n_done} already done; running "
                  f"{len(tasks)} on {where}", file=sys.stderr)
        if not tasks:
            return results
        futures = {client.submit(run_point, task, key=_task_key(task), pure=True,
                                 retries=retries): i for i, task in tasks.items()}
        bar = progress_bar(n_total, "sweep", unit="point", initial=n_done, enabled=progress)
        failed = 0
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                if fut.status == "finished":
                    results[i] = fut.result()
                else:
                    results[i] = fut.exception()
                    failed += 1
                fut.release()
                bar.set_postfix_str(f"{failed} failed", refresh=False)
                bar.update(1)
        except BaseException:
            client.cancel(list(futures))
            raise
        finally:
            bar.close()
    return results

"""Run independent tasks locally (joblib, loky processes) or on a Dask cluster, same results.

* :func:`run_tasks` - ``[func(task, **shared) for task in tasks]``, in task order, on either
  backend. ``shared`` (e.g. the bars) is sent to each worker once: loky pickles it per call
  into the worker processes (numpy arrays are memory-mapped by joblib), Dask scatters it once
  with ``broadcast=True`` and passes the futures.
* :func:`sweep_tasks` - :func:`quantlab.backtest.sweep.sweep` split into chunks of the grid,
  run through :func:`run_tasks` and merged into one :class:`~quantlab.backtest.sweep.SweepResult`
  whose table equals the single-process sweep's. Each chunk asserts that the fast path ran on
  its worker (``config["path"]`` is ``"fused"`` or ``"fast"``) unless told otherwise.

Starting a cluster (README): ``dask scheduler`` on one machine (port 8786), then
``dask worker tcp://SCHEDULER:8786 --nworkers N --nthreads 1`` on each machine with quantlab
installed (the same versions), then ``backend="dask", scheduler="tcp://SCHEDULER:8786"``.
``scheduler="local"`` starts a :class:`distributed.LocalCluster` for the call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_bool, check_choice, check_int, message
from quantlab.errors import InvalidParameterError

__all__ = ["run_tasks", "sweep_tasks", "split_grid", "BACKENDS", "import_distributed"]

BACKENDS = ("local", "dask")
_CALLER = "run_tasks"


def import_distributed() -> Any:
    """Import ``dask.distributed``, with a message saying what to install when missing."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("backend='dask' needs dask.distributed: pip install "
                          "'quantlab[dist]' (or 'dask[distributed]>=2024.1')") from exc
    return distributed


def _n_workers(n_jobs: int) -> int:
    cores = os.cpu_count() or 1
    return cores if n_jobs == -1 else min(n_jobs, max(cores, 1) * 4)


def run_tasks(func: Callable[..., Any], tasks: Iterable[Any], *, backend: str = "local",
              scheduler: Any = None, n_jobs: int = -1,
              shared: Mapping[str, Any] | None = None) -> list[Any]:
    """Return ``[func(task, **shared) for task in tasks]``, computed in parallel.

    Parameters
    ----------
    func : callable
        A picklable function (module level) ``func(task, **shared)``.
    tasks : iterable
        One item per call (picklable).
    backend : {"local", "dask"}, default "local"
        "local": joblib with the loky process backend; "dask": a ``dask.distributed``
        cluster.
    scheduler : str, distributed.Client or None
        With ``backend="dask"``: the scheduler address (``"tcp://host:8786"``), a
        ``Client`` to use, or ``"local"`` (a :class:`distributed.LocalCluster` of
        ``n_jobs`` single-threaded worker processes, closed on return).
    n_jobs : int, default -1
        Local processes (-1: all cores), or the workers of a ``"local"`` Dask cluster.
        ``n_jobs=1`` locally runs in this process (no pickling).
    shared : dict, optional
        Keyword arguments common to every call (e.g. ``{"data": bars}``), sent once per
        worker: Dask scatters them with ``broadcast=True``.

    Returns
    -------
    list
        The results in task order.

    Raises
    ------
    InvalidParameterError
        Unknown backend (did-you-mean), ``n_jobs`` 0 or < -1, ``backend="dask"`` without a
        scheduler.
    ImportError
        ``backend="dask"`` without dask.distributed installed.
    """
    backend = check_choice("backend", backend, BACKENDS, caller=_CALLER)
    n_jobs = check_int("n_jobs", n_jobs, caller=_CALLER, minimum=-1)
    if n_jobs == 0:
        raise InvalidParameterError(message("n_jobs", _CALLER, "-1 (all cores) or >= 1", 0))
    if not callable(func):
        raise InvalidParameterError(message("func", _CALLER, "a callable", type(func).__name__))
    tasks = list(tasks)
    shared = dict(shared or {})
    if not tasks:
        return []
    if backend == "local":
        if n_jobs == 1 or len(tasks) == 1:
            return [func(task, **shared) for task in tasks]
        from joblib import Parallel, delayed

        workers = min(_n_workers(n_jobs), len(tasks))
        return list(Parallel(n_jobs=workers, backend="loky")(
            delayed(func)(task, **shared) for task in tasks))
    if scheduler is None:
        raise InvalidParameterError(message(
            "scheduler", _CALLER, "a scheduler address, a distributed.Client or 'local' with "
            "backend='dask'", None, "Start one with `dask scheduler`, or pass "
            "scheduler='local' for a LocalCluster on this machine."))
    distributed = import_distributed()
    if isinstance(scheduler, distributed.Client):
        return _dask_run(scheduler, func, tasks, shared)
    if scheduler == "local":
        with distributed.LocalCluster(n_workers=_n_workers(n_jobs), threads_per_worker=1,
                                      processes=True, dashboard_address=":0") as cluster, \
                distributed.Client(cluster) as client:
            return _dask_run(client, func, tasks, shared)
    with distributed.Client(scheduler) as client:
        return _dask_run(client, func, tasks, shared)


def _dask_run(client: Any, func: Callable[..., Any], tasks: list[Any],
              shared: dict[str, Any], *, attempts: int = 3) -> list[Any]:
    """Scatter ``shared`` once, map ``func`` over ``tasks``, gather in order.

    The tasks are pure functions of their inputs, so a run whose scattered data the cluster
    lost (a worker holding it gone: distributed reports "lost dependencies") is scattered and
    run again, up to ``attempts`` times in all.
    """
    from distributed.client import FutureCancelledError

    for attempt in range(attempts):
        try:
            return _dask_run_once(client, func, tasks, shared)
        except FutureCancelledError as exc:
            if "lost dependencies" not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _dask_run_once(client: Any, func: Callable[..., Any], tasks: list[Any],
                   shared: dict[str, Any]) -> list[Any]:
    # Each value is scattered alone, wrapped in a list: ``scatter(dict)`` would use the dict's
    # own keys as the cluster's keys (a shared ``grid={"fast": ..., "slow": ...}`` became the
    # keys "fast" and "slow"), so consecutive calls re-scattered the same names while the
    # previous call's release of them was in flight, and the scheduler forgot the new data:
    # tasks cancelled ("lost dependencies") or waiting forever. hash=False: a fresh key per
    # call (content keys collide the same way).
    scattered = {k: client.scatter([v], hash=False)[0] for k, v in shared.items()}
    futures = client.map(func, tasks, pure=False, **scattered)
    try:
        return list(client.gather(futures))
    except BaseException:
        client.cancel(list(futures))  # stop what is still queued; the data is released below
        raise
    finally:
        # dropping the last references releases the keys on the scheduler once nothing needs
        # them; an explicit cancel of finished futures and of the data raced with the next
        # call's tasks on the same client ("lost dependencies")
        del futures, scattered


# ---- sweeps through run_tasks -------------------------------------------------------------

def split_grid(grid: Mapping[str, Any], n_chunks: int) -> list[dict[str, list[Any]]]:
    """Split ``grid`` into at most ``n_chunks`` sub-grids along its first parameter.

    The first parameter varies slowest in :func:`~quantlab.backtest.sweep.sweep`'s product
    order, so concatenating the sub-grids' tables in order gives the whole grid's rows in
    the same order.
    """
    n_chunks = check_int("n_chunks", n_chunks, caller="split_grid", minimum=1)
    if not isinstance(grid, Mapping) or not grid:
        raise InvalidParameterError(message("grid", "split_grid", "a non-empty dict "
                                            "{parameter: [values]}", grid))
    items = {k: (list(v) if not isinstance(v, str) and isinstance(v, Iterable) else [v])
             for k, v in grid.items()}
    first, values = next(iter(items.items()))
    values = list(dict.fromkeys(values))
    parts = [list(p) for p in np.array_split(np.arange(len(values)), min(n_chunks, len(values)))]
    return [{first: [values[i] for i in part], **{k: v for k, v in items.items() if k != first}}
            for part in parts if part]


def _sweep_chunk(grid: dict[str, list[Any]], *, data: pd.DataFrame, strategy_cls: type,
                 options: dict[str, Any], require_fast_path: bool) -> dict[str, Any]:
    """One chunk of :func:`sweep_tasks` on a worker: the table and how it ran (no data)."""
    from quantlab.backtest.sweep import sweep
    from quantlab.errors import InvalidParameterError as _IPE

    cpu = time.process_time()
    try:
        res = sweep(strategy_cls, data, grid, **options)
    except _IPE as exc:
        if "at least one valid combination" in str(exc):  # a chunk the check empties
            return {"table": None, "n_skipped": None, "path": None, "pid": os.getpid(),
                    "grid": grid}
        raise
    path = res.config["path"]
    if require_fast_path and path not in ("fused", "fast"):
        raise RuntimeError(f"sweep_tasks(): the chunk {grid} took the {path!r} path on worker "
                           f"pid {os.getpid()}; the fast path was required.")
    return {"table": res.table, "n_skipped": res.n_skipped, "path": path,
            "pid": os.getpid(), "settings": res.config["settings"],
            "periods_per_year": res.config["periods_per_year"], "kernel_s": res.config["kernel_s"],
            "options": res.config["options"], "param_names": res.param_names,
            "cpu_s": time.process_time() - cpu}


def sweep_tasks(strategy_cls: type, data: pd.DataFrame, grid: Mapping[str, Any], *,
                backend: str = "local", scheduler: Any = None, n_jobs: int = -1,
                n_chunks: int | None = None, require_fast_path: bool = True,
                metric: str = "sharpe", **options: Any) -> Any:
    """:func:`~quantlab.backtest.sweep.sweep` across processes or a Dask cluster.

    The grid is split along its first parameter (:func:`split_grid`); each chunk runs
    ``sweep(strategy_cls, data, chunk, n_jobs=1, progress=False, **options)`` on a worker
    (``data`` sent once per worker), and the tables are concatenated in grid order.

    Parameters
    ----------
    strategy_cls, data, grid
        As for :func:`~quantlab.backtest.sweep.sweep`.
    backend, scheduler, n_jobs
        As for :func:`run_tasks`.
    n_chunks : int, optional
        Chunks of the grid (default: 2 per worker, at most one per value of the first
        parameter).
    require_fast_path : bool, default True
        Raise on a worker whose chunk did not take the fused or fast path.
    metric : str, default "sharpe"
    **options
        Keyword options of :func:`~quantlab.backtest.sweep.sweep` (``fee_bps``, ``start``,
        ``constraint``, ``n_jobs`` is per chunk and defaults to 1, ...).

    Returns
    -------
    SweepResult
        Its ``table`` equals the one-process sweep's; ``config`` adds ``backend``,
        ``paths`` (one per chunk), ``worker_pids``, ``n_chunks`` and ``worker_cpu_s`` (CPU
        time of the chunks' sweeps on the workers); ``config["path"]`` is the chunks' path
        when they agree.
    """
    from quantlab.backtest.sweep import SweepResult

    started = time.perf_counter()
    backend = check_choice("backend", backend, BACKENDS, caller="sweep_tasks")
    require_fast_path = check_bool("require_fast_path", require_fast_path, caller="sweep_tasks")
    workers = _n_workers(check_int("n_jobs", n_jobs, caller="sweep_tasks", minimum=-1))
    chunks = split_grid(grid, 2 * workers if n_chunks is None else n_chunks)
    opts = {"n_jobs": 1, "progress": False, "metric": metric, **options}
    parts = run_tasks(_sweep_chunk, chunks, backend=backend, scheduler=scheduler, n_jobs=n_jobs,
                      shared={"data": data, "strategy_cls": strategy_cls, "options": opts,
                              "require_fast_path": require_fast_path})
    done = [p for p in parts if p["table"] is not None]
    if not done:
        raise InvalidParameterError(message("grid", "sweep_tasks", "a grid with at least one "
                                            "valid combination", dict(grid)))
    table = pd.concat([p["table"] for p in done], ignore_index=True)
    skipped = {k: 0 for k in done[0]["n_skipped"]}
    for p in parts:
        if p["table"] is None:  # every combination of the chunk failed the strategy's check
            skipped["check"] += int(np.prod([len(v) for v in p["grid"].values()]))
            continue
        for k, v in p["n_skipped"].items():
            skipped[k] += v
    paths = [p["path"] for p in done]
    info = {"options": done[0]["options"], "settings": done[0]["settings"],
            "periods_per_year": done[0]["periods_per_year"],
            "path": paths[0] if len(set(paths)) == 1 else "mixed", "paths": paths,
            "worker_pids": sorted({p["pid"] for p in done}), "n_chunks": len(chunks),
            "backend": backend, "chunk_size": None, "n_jobs": n_jobs,
            "elapsed_s": time.perf_counter() - started,
            "kernel_s": float(sum(p["kernel_s"] for p in done)),
            "worker_cpu_s": float(sum(p["cpu_s"] for p in done))}
    return SweepResult(table=table, strategy_cls=strategy_cls, metric=metric, n_skipped=skipped,
                       config=info, data=data, param_names=tuple(done[0]["param_names"]))


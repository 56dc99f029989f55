"""Optuna's overhead on the backtests it drives, and Dask's overhead against local processes.

    .venv/bin/python benchmarks/optuna_overhead.py [--bars 100000] [--trials 20]
        [--sweep-bars 100000] [--workers 2] [--repeat 3] [--markdown]

Part 1 - Optuna. ``optuna_search(SmaCross, data, {"fast": (2, 60), "slow": (10, 250)},
n_trials=T, sampler="random", seed=0)`` against the **same parameter sets** (read back from
the study, every trial started: completed and pruned-invalid ones) run directly as
``backtest(data, SmaCross(**params), start=...).stats()`` in a loop (invalid ones only
constructed, as the search does). Overhead = (search - direct) / direct, wall and CPU time of
this process, for the in-memory storage, a journal file and the default SQLite file storage
(a fresh study per round, so SQLite's schema creation is included). The machine may be shared:
CPU time of this process is the steadier figure.

Part 2 - Dask. ``sweep_tasks`` of the 1225-combination SMA grid (fast and slow each 35 windows:
``range(5, 180, 5)``; the fast < slow half is simulated) over ``--sweep-bars`` bars, chunked
over ``--workers`` single-threaded workers: loky processes (joblib, local) vs a
``distributed.LocalCluster`` already running (warm: workers started and numba loaded before
timing), and the one-process ``sweep`` for reference. Wall time, this process's CPU time, and
the CPU time of the chunks' sweeps measured on the workers (of the last round); best wall of
``--repeat`` after a warm-up call.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from _timing import markdown

from quantlab.backtest import backtest
from quantlab.backtest.sweep import sweep
from quantlab.errors import InvalidParameterError
from quantlab.optimize.execution import sweep_tasks
from quantlab.optimize.search import optuna_search
from quantlab.strategies import SmaCross

SPACE = {"fast": (2, 60), "slow": (10, 250)}


def bars(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    idx = pd.date_range("2015-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": 1.0}, index=idx)


def _timed(func) -> tuple[float, float, object]:
    w, c = time.perf_counter(), time.process_time()
    out = func()
    return time.perf_counter() - w, time.process_time() - c, out


def part_optuna(n_bars: int, n_trials: int, repeat: int) -> pd.DataFrame:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = bars(n_bars)
    start = data.index[300]
    rows = []
    for storage in ("memory", "journal", "sqlite"):
        best: dict[str, tuple[float, float]] = {}
        for r in range(repeat + 1):  # round 0 warms numba and the imports
            with tempfile.TemporaryDirectory() as tmp:
                url = {"memory": "memory", "journal": f"journal:{Path(tmp) / 's.log'}",
                       "sqlite": f"sqlite:///{Path(tmp) / 's.db'}"}[storage]
                w, c, res = _timed(lambda url=url, r=r: optuna_search(
                    SmaCross, data, SPACE, start=start, n_trials=n_trials, sampler="random",
                    seed=r, storage=url, study_name="bench"))
                params = [t.user_attrs["params"] for t in res.study.trials]  # type: ignore[attr-defined]
                n_started = len(params)

                def direct(params=params) -> None:
                    for p in params:
                        try:
                            s = SmaCross(**p)
                        except InvalidParameterError:
                            continue
                        backtest(data, s, start=start).stats()

                dw, dc, _ = _timed(direct)
            if r == 0:
                continue
            for key, val in (("search", (w, c)), ("direct", (dw, dc))):
                if key not in best or val[0] < best[key][0]:
                    best[key] = val
        sw, sc = best["search"]
        dw, dc = best["direct"]
        rows.append({"storage": storage, "bars": n_bars, "completed trials": n_trials,
                     "started (last round)": n_started,
                     "direct backtests s": dw, "optuna_search s": sw,
                     "overhead wall %": 100 * (sw - dw) / dw,
                     "direct CPU s": dc, "optuna_search CPU s": sc,
                     "overhead CPU %": 100 * (sc - dc) / dc,
                     "overhead CPU ms/trial": 1e3 * (sc - dc) / n_started})
    return pd.DataFrame(rows)


def part_dask(n_bars: int, workers: int, repeat: int) -> pd.DataFrame:
    import distributed

    data = bars(n_bars, seed=1)
    grid = {"fast": list(range(5, 180, 5)), "slow": list(range(5, 180, 5))}
    rows = []

    def bench(name: str, func) -> None:
        func()  # warm-up
        best = (float("inf"), float("inf"))
        for _ in range(repeat):
            w, c, res = _timed(func)
            if w < best[0]:
                best = (w, c)
        cfg = res.config  # type: ignore[attr-defined]
        rows.append({"run": name, "bars": n_bars, "combinations": 1225,
                     "simulated": res.n_trials, "path": cfg["path"],  # type: ignore[attr-defined]
                     "wall s": best[0], "parent CPU s": best[1],
                     "workers' sweep CPU s": cfg.get("worker_cpu_s", float("nan"))})

    bench("sweep, one process (numba threads = workers)",
          lambda: sweep(SmaCross, data, grid, n_jobs=workers, progress=False))
    bench(f"sweep_tasks local (loky, {workers} processes)",
          lambda: sweep_tasks(SmaCross, data, grid, n_jobs=workers))
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        bench(f"sweep_tasks dask (LocalCluster, {workers} workers, warm)",
              lambda: sweep_tasks(SmaCross, data, grid, backend="dask", scheduler=client,
                                  n_jobs=workers))
    t0 = time.perf_counter()
    res = sweep_tasks(SmaCross, data, grid, backend="dask", scheduler="local", n_jobs=workers)
    rows.append({"run": "sweep_tasks dask, scheduler='local' (cluster start included, once)",
                 "bars": n_bars, "combinations": 1225, "simulated": res.n_trials,
                 "path": res.config["path"], "wall s": time.perf_counter() - t0,
                 "parent CPU s": float("nan"),
                 "workers' sweep CPU s": res.config["worker_cpu_s"]})
    frame = pd.DataFrame(rows)
    base = frame.loc[1, "wall s"]
    frame["vs local"] = frame["wall s"] / base
    return frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bars", type=int, default=100_000)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--sweep-bars", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    one = part_optuna(args.bars, args.trials, args.repeat)
    two = part_dask(args.sweep_bars, args.workers, args.repeat)
    head = (f"optuna {optuna.__version__}, {platform.python_version()}, {os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.2f}")
    if args.markdown:
        print(f"### Optuna overhead ({head})\n\n{markdown(one, 3)}\n\n"
              f"### Dask vs local\n\n{markdown(two, 3)}")
    else:
        print(head)
        print(one.to_string())
        print(two.to_string())


if __name__ == "__main__":
    main()

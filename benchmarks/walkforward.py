"""Walk-forward: quantlab.optimize.walk_forward against the same walk-forward in vectorbt.

    .venv/bin/python benchmarks/walkforward.py --markdown
    .venv/bin/python benchmarks/walkforward.py --bars 20000 --train 4000 --test 1600

Data: ``benchmarks/backtest.py``'s synthetic hourly bars (seed 0), 100k bars by default.
Grid: SMA cross, fast < slow in 5..54 (1225 combinations, ``benchmarks/backtest.py``'s
``combos()``), all-in long / flat, fills at the close, fees 0.1 %. Folds:
``RollingSplit(train=20_000, test=8_000)`` -> 10 folds, each choosing the best Sharpe ratio on
its train window and trading it on the next 8 000 bars.

* quantlab: ``walk_forward(SmaCross, data, grid, splitter=..., fill="close", fee_bps=10)`` -
  per fold the fused sweep kernel on ``data[:train_end]`` with the train window as evaluation
  window, then ``backtest`` of the choice on the test window, then the stitched OOS backtest.
* vectorbt: per fold, ``vbt.MA.run`` of the 50 windows on ``close[:train_end]`` (each window
  once, warmed on every earlier bar, as quantlab), the 1225 fast/slow columns built on the
  train rows only, ``Portfolio.from_signals`` (state signals ``fast > slow`` / ``fast < slow``,
  which is quantlab's target mode), the best ``sharpe_ratio()``; then the chosen pair on the
  test window the same way.

quantlab runs twice: with numba's default threads (all cores) and with
``NUMBA_NUM_THREADS=1`` (on a loaded machine the parallel kernels' barriers wait for
descheduled threads). Each engine runs in its own fresh process (its peak RSS, ``ru_maxrss``, is its own) after a
small warm-up walk-forward that compiles its numba functions (not timed). Wall time
(``perf_counter``) and CPU time (``process_time``, all threads) are reported: the machine may
be shared. The fold choices of the two engines are compared, and the out-of-sample total
return of every fold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from backtest import FAST, combos, make_bars  # noqa: E402


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _folds(n: int, train: int, test: int) -> list[tuple[int, int, int, int]]:
    from quantlab.optimize.splitters import RollingSplit

    return [(int(tr[0]), int(tr[-1]), int(te[0]), int(te[-1]))
            for tr, te in RollingSplit(train, test).split(n)]


# ---- quantlab ---------------------------------------------------------------------------------

def _quantlab(data: pd.DataFrame, train: int, test: int) -> dict:
    from quantlab.optimize.splitters import RollingSplit
    from quantlab.optimize.walkforward import walk_forward
    from quantlab.strategies import SmaCross

    wf = walk_forward(SmaCross, data, {"fast": FAST, "slow": FAST},
                      splitter=RollingSplit(train, test), fill="close", fee_bps=10.0,
                      progress=False)
    return {"choices": [[int(r["fast"]), int(r["slow"])] for _, r in wf.folds.iterrows()],
            "oos_total_return": wf.folds["oos_total_return"].astype(float).tolist(),
            "paths": sorted(set(wf.config["paths"])), "n_trials": wf.n_trials,
            "stitched_total_return": float(wf.equity.iloc[-1] / 100_000.0 - 1.0)}


def child_quantlab(n: int, train: int, test: int) -> dict:
    _quantlab(make_bars(3_000, seed=1), 800, 400)  # JIT warm-up (numba cache), not timed
    data = make_bars(n)
    w0, c0 = time.perf_counter(), time.process_time()
    out = _quantlab(data, train, test)
    out.update(engine="quantlab", seconds=time.perf_counter() - w0,
               cpu_seconds=time.process_time() - c0, rss_mb=_rss_mb())
    return out


# ---- vectorbt ---------------------------------------------------------------------------------

def _vbt_window(vbt, close: pd.Series, lo: int, hi: int, pairs: list[tuple[int, int]]):
    """Portfolio of ``pairs`` over rows lo..hi, the MAs warmed on close[:hi + 1]."""
    windows = sorted({w for p in pairs for w in p})
    ma = vbt.MA.run(close.iloc[: hi + 1], window=windows, short_name="ma").ma.iloc[lo: hi + 1]
    fast = ma[[f for f, _ in pairs]].to_numpy()
    slow = ma[[s for _, s in pairs]].to_numpy()
    cols = pd.MultiIndex.from_tuples(pairs, names=["fast", "slow"])
    idx = close.index[lo: hi + 1]
    entries = pd.DataFrame(fast > slow, index=idx, columns=cols)
    exits = pd.DataFrame(fast < slow, index=idx, columns=cols)
    del fast, slow, ma
    return vbt.Portfolio.from_signals(close.iloc[lo: hi + 1], entries, exits, fees=0.001,
                                      init_cash=100_000.0, freq="1h")


def _vectorbt(data: pd.DataFrame, train: int, test: int) -> dict:
    import vectorbt as vbt

    close = data["close"]
    pairs = combos()
    choices, oos = [], []
    for a, b, c, d in _folds(len(data), train, test):
        pf = _vbt_window(vbt, close, a, b, pairs)
        sharpe = pf.sharpe_ratio().to_numpy()
        best = pairs[int(np.nanargmax(sharpe))]  # first of ties, as quantlab (grid order)
        del pf
        choices.append([int(best[0]), int(best[1])])
        oos.append(float(_vbt_window(vbt, close, c, d, [best]).total_return().iloc[0]))
    return {"choices": choices, "oos_total_return": oos}


def child_vectorbt(n: int, train: int, test: int) -> dict:
    _vectorbt(make_bars(3_000, seed=1), 800, 400)  # JIT warm-up, not timed
    data = make_bars(n)
    w0, c0 = time.perf_counter(), time.process_time()
    out = _vectorbt(data, train, test)
    out.update(engine="vectorbt", seconds=time.perf_counter() - w0,
               cpu_seconds=time.process_time() - c0, rss_mb=_rss_mb())
    return out


# ---- driver -----------------------------------------------------------------------------------

def run_child(args: list[str], timeout: float = 3600, env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                         capture_output=True, text=True, timeout=timeout, check=False,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=8_000)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--child", choices=["quantlab", "vectorbt"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        func = child_quantlab if args.child == "quantlab" else child_vectorbt
        print(json.dumps(func(args.bars, args.train, args.test)))
        return
    common = ["--bars", str(args.bars), "--train", str(args.train), "--test", str(args.test)]
    load = os.getloadavg()[0]
    ql = run_child(["--child", "quantlab", *common])
    # numba's parallel kernels spin-wait on a loaded machine: the same run on one thread
    ql1 = run_child(["--child", "quantlab", *common], env={"NUMBA_NUM_THREADS": "1"})
    ql1["engine"] = "quantlab (NUMBA_NUM_THREADS=1)"
    vb = run_child(["--child", "vectorbt", *common])
    same = ql["choices"] == vb["choices"] == ql1["choices"]
    diff = max(abs(x - y) for x, y in zip(ql["oos_total_return"], vb["oos_total_return"],
                                          strict=True))
    n_folds = len(ql["choices"])
    rows = []
    for r in (ql, ql1, vb):
        rows.append({"engine": r["engine"], "bars": args.bars, "folds": n_folds,
                     "combinations per fold": len(combos()),
                     "wall s": r["seconds"], "CPU s": r["cpu_seconds"],
                     "peak RSS MB": r["rss_mb"],
                     "wall vs quantlab": r["seconds"] / ql["seconds"],
                     "CPU vs quantlab": r["cpu_seconds"] / ql["cpu_seconds"]})
    table = pd.DataFrame(rows)
    print(f"# load average before the run: {load:.1f} on {os.cpu_count()} cores; "
          f"quantlab path {ql['paths']}; identical fold choices: {same}; "
          f"max |OOS total return diff| per fold: {diff:.2e}", file=sys.stderr)
    if args.markdown:
        from _timing import markdown as to_markdown

        print(to_markdown(table, digits=3))
        print()
        print(f"Fold choices identical: **{same}** ({n_folds} folds: "
              f"{', '.join(f'{f}/{s}' for f, s in ql['choices'])}); max |OOS total return "
              f"difference| per fold {diff:.1e}; load average {load:.1f} on "
              f"{os.cpu_count()} cores before the run.")
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        print("choices quantlab:", ql["choices"])
        print("choices vectorbt:", vb["choices"])
        print("identical:", same, "max OOS diff:", diff)


if __name__ == "__main__":
    main()

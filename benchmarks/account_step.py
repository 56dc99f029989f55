"""The live runner's entry point: one bar through ``Account`` (the compiled decision step).

    .venv/bin/python benchmarks/account_step.py [--bars 20000] [--assets 1]

Replays synthetic hourly bars with SmaCross(20, 50) targets (fees, next-open fills, a
drawdown limit) through ``Account.step(open=..., high=..., low=..., close=..., target=...)``
(keyword values, as a live feed calls it) and through ``Account.step_row(bi)`` (the bar
already laid out as the step's rows, as a replay would), after a JIT warm-up; prints the
median and the 99th percentile of the per-call wall time in microseconds, next to
``backtest()``'s time per bar on the same data (the same step in a compiled loop). The
goal is <= 20 us per call.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bars", type=int, default=20_000)
    ap.add_argument("--assets", type=int, default=1)
    args = ap.parse_args()
    import quantlab as ql
    from quantlab.backtest import step as S

    n, m = args.bars, args.assets
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, (n, m)), axis=0))
    open_ = np.vstack([np.full((1, m), 100.0), close[:-1]])
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    fast = pd.DataFrame(close).rolling(20).mean().to_numpy()
    slow = pd.DataFrame(close).rolling(50).mean().to_numpy()
    target = np.where(fast > slow, 1.0 / m, np.where(fast < slow, 0.0, np.nan))
    symbols = [f"s{j}" for j in range(m)]
    opts = {"fee_bps": 10.0, "max_drawdown": 0.5, "warmup": 50}

    def run_keywords() -> np.ndarray:
        acc = ql.Account(symbols=symbols, **opts)
        times = np.empty(n)
        for t in range(n):
            t0 = time.perf_counter()
            acc.step(open=open_[t], high=high[t], low=low[t], close=close[t], target=target[t])
            times[t] = time.perf_counter() - t0
        return times

    def run_rows() -> np.ndarray:
        acc = ql.Account(symbols=symbols, **opts)
        bi = np.full((S.B_N, m), np.nan)
        bi[S.B_FLAGS] = 0.0
        bi[S.B_SLIP] = 0.0
        bi[S.B_FUNDING] = 0.0
        bi[S.B_BORROW] = 0.0
        times = np.empty(n)
        for t in range(n):
            t0 = time.perf_counter()
            bi[S.B_OPEN] = open_[t]
            bi[S.B_HIGH] = high[t]
            bi[S.B_LOW] = low[t]
            bi[S.B_CLOSE] = close[t]
            bi[S.B_TARGET] = target[t]
            acc.step_row(bi)
            times[t] = time.perf_counter() - t0
        return times

    run_keywords()
    run_rows()  # JIT warm-up
    kw, rows = run_keywords(), run_rows()
    idx = pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC", name="time")
    cols = pd.MultiIndex.from_product([["open", "high", "low", "close"], symbols])
    frame = pd.DataFrame(np.hstack([open_, high, low, close]), index=idx, columns=cols)
    if m == 1:
        frame = pd.DataFrame({"open": open_[:, 0], "high": high[:, 0], "low": low[:, 0],
                              "close": close[:, 0]}, index=idx)
        tgt: object = pd.Series(target[:, 0], index=idx)
    else:
        tgt = pd.DataFrame(target, index=idx, columns=symbols)
    ql.backtest(frame, tgt, **opts)
    t0 = time.perf_counter()
    ql.backtest(frame, tgt, **opts)
    bt = (time.perf_counter() - t0) / n * 1e6
    print(f"{n} bars x {m} asset(s), fees, next-open fills, drawdown limit")
    print(f"Account.step (keywords): median {np.median(kw) * 1e6:6.1f} us, "
          f"p99 {np.percentile(kw, 99) * 1e6:6.1f} us per bar")
    print(f"Account.step_row (rows): median {np.median(rows) * 1e6:6.1f} us, "
          f"p99 {np.percentile(rows, 99) * 1e6:6.1f} us per bar")
    print(f"backtest() (compiled loop, pandas wrapping included): {bt:6.2f} us per bar")


if __name__ == "__main__":
    main()

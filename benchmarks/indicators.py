"""Indicators: quantlab vs TA-Lib vs pandas, in one process, on the same data.

    .venv/bin/python benchmarks/indicators.py [--bars 1000000] [--markdown]

Part 1: each indicator on 1M bars, one thread, ns/bar for quantlab, TA-Lib and (where a
straightforward formulation exists) pandas; ratio = quantlab / TA-Lib (goal <= 1.5).
Part 2: 100 columns x 100k bars: quantlab with 1 thread vs all cores (goal >= 1.6x on 2 cores).
``--only WILLR STOCH`` times just those indicators (part 1 only), e.g. while tuning a kernel.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pandas as pd
import talib
from _timing import best_time, markdown

import quantlab.indicators as ind


def make_bars(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.003, n)))
    volume = rng.integers(1_000, 100_000, n).astype(float)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def cases(b: dict[str, np.ndarray]) -> list[tuple[str, Callable[[], Any], Callable[[], Any] | None, Callable[[], Any] | None]]:
    """(name, quantlab call, TA-Lib call, pandas call) on the bars ``b``."""
    c, h, lo, v = b["close"], b["high"], b["low"], b["volume"]
    s = pd.Series(c)
    table: list[tuple[str, Callable[[], Any], Callable[[], Any] | None, Callable[[], Any] | None]] = [
        ("SMA(20)", lambda: ind.sma(c, 20), lambda: talib.SMA(c, 20), lambda: s.rolling(20).mean()),
        ("EMA(20)", lambda: ind.ema(c, 20), lambda: talib.EMA(c, 20), lambda: s.ewm(span=20, adjust=False).mean()),
    ]
    optional = [
        ("WMA(20)", "wma", (c, 20), talib.WMA, None),
        ("DEMA(20)", "dema", (c, 20), talib.DEMA, None),
        ("TEMA(20)", "tema", (c, 20), talib.TEMA, None),
        ("TRIMA(20)", "trima", (c, 20), talib.TRIMA, None),
        ("KAMA(30)", "kama", (c, 30), talib.KAMA, None),
        ("HMA(20)", "hma", (c, 20), None, None),
        ("VWMA(20)", "vwma", (c, v, 20), None, lambda: (s * v).rolling(20).sum() / pd.Series(v).rolling(20).sum()),
        ("RSI(14)", "rsi", (c, 14), talib.RSI, None),
        ("STOCHRSI(14)", "stochrsi", (c, 14), talib.STOCHRSI, None),
        ("STOCH", "stoch", (h, lo, c), talib.STOCH, None),
        ("STOCHF", "stochf", (h, lo, c), talib.STOCHF, None),
        ("WILLR(14)", "willr", (h, lo, c, 14), talib.WILLR, None),
        ("CCI(14)", "cci", (h, lo, c, 14), talib.CCI, None),
        ("ROC(10)", "roc", (c, 10), talib.ROC, lambda: s.pct_change(10) * 100),
        ("MOM(10)", "mom", (c, 10), talib.MOM, lambda: s.diff(10)),
        ("CMO(14)", "cmo", (c, 14), talib.CMO, None),
        ("MFI(14)", "mfi", (h, lo, c, v, 14), talib.MFI, None),
        ("ULTOSC", "ultosc", (h, lo, c), talib.ULTOSC, None),
        ("TRIX(30)", "trix", (c, 30), talib.TRIX, None),
        ("PPO", "ppo", (c,), talib.PPO, None),
        ("APO", "apo", (c,), talib.APO, None),
        ("MACD", "macd", (c,), talib.MACD, None),
        ("ATR(14)", "atr", (h, lo, c, 14), talib.ATR, None),
        ("NATR(14)", "natr", (h, lo, c, 14), talib.NATR, None),
        ("TRANGE", "trange", (h, lo, c), talib.TRANGE, None),
        ("BBANDS(20)", "bbands", (c, 20), talib.BBANDS, None),
        ("KELTNER(20)", "keltner", (h, lo, c, 20), None, None),
        ("DONCHIAN(20)", "donchian", (h, lo, 20), None, lambda: (pd.Series(h).rolling(20).max(), pd.Series(lo).rolling(20).min())),
        ("STDDEV(20)", "stddev", (c, 20), talib.STDDEV, lambda: s.rolling(20).std(ddof=0)),
        ("VAR(20)", "var", (c, 20), talib.VAR, lambda: s.rolling(20).var(ddof=0)),
        ("ZSCORE(20)", "zscore", (c, 20), None, lambda: (s - s.rolling(20).mean()) / s.rolling(20).std(ddof=0)),
        ("SAR", "sar", (h, lo), talib.SAR, None),
        ("SUPERTREND(10)", "supertrend", (h, lo, c, 10), None, None),
        ("ADX(14)", "adx", (h, lo, c, 14), talib.ADX, None),
        ("PLUS_DI(14)", "plus_di", (h, lo, c, 14), talib.PLUS_DI, None),
        ("MINUS_DI(14)", "minus_di", (h, lo, c, 14), talib.MINUS_DI, None),
        ("AROON(14)", "aroon", (h, lo, 14), talib.AROON, None),
        ("AROONOSC(14)", "aroonosc", (h, lo, 14), talib.AROONOSC, None),
        ("ICHIMOKU", "ichimoku", (h, lo, c), None, None),
        ("OBV", "obv", (c, v), talib.OBV, None),
        ("AD", "ad", (h, lo, c, v), talib.AD, None),
        ("ADOSC", "adosc", (h, lo, c, v), talib.ADOSC, None),
        ("VWAP", "vwap", (h, lo, c, v), None, lambda: ((pd.Series(h) + lo + c) / 3 * v).cumsum() / pd.Series(v).cumsum()),
        ("LINEARREG_SLOPE(14)", "linearreg_slope", (c, 14), talib.LINEARREG_SLOPE, None),
        ("LINEARREG_INTERCEPT(14)", "linearreg_intercept", (c, 14), talib.LINEARREG_INTERCEPT, None),
        ("LINEARREG(14)", "linearreg", (c, 14), talib.LINEARREG, None),
        ("LINEARREG_R2(14)", "linearreg_r2", (c, 14), None, None),
        ("CORREL(30)", "correl", (h, lo, 30), talib.CORREL, lambda: pd.Series(h).rolling(30).corr(pd.Series(lo))),
        ("BETA(5)", "beta", (h, lo, 5), talib.BETA, None),
        ("HURST(100)", "hurst", (c, 100), None, None),
    ]
    for name, func_name, args, tl, pd_call in optional:
        func = getattr(ind, func_name, None)
        if func is None:
            continue
        table.append((name, (lambda f=func, a=args: f(*a)), (lambda t=tl, a=args: t(*a)) if tl else None, pd_call))
    return table


def part1(n: int, only: list[str] | None = None, repeat: int = 5) -> pd.DataFrame:
    bars = make_bars(n)
    rows = []
    for name, ours, theirs, pandas_call in cases(bars):
        if only and not any(name.upper().startswith(o.upper()) for o in only):
            continue
        t_ql = best_time(ours, repeat=repeat) / n * 1e9
        t_tl = best_time(theirs, repeat=repeat) / n * 1e9 if theirs else np.nan
        t_pd = best_time(pandas_call, repeat=3) / n * 1e9 if pandas_call else np.nan
        rows.append({"indicator": name, "quantlab ns/bar": t_ql, "TA-Lib ns/bar": t_tl,
                     "pandas ns/bar": t_pd, "quantlab / TA-Lib": t_ql / t_tl})
    return pd.DataFrame(rows)


def part2(columns: int = 100, n: int = 100_000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, columns)), axis=0)))
    rows = []
    cpus = os.cpu_count() or 1
    for name, call in (("SMA(20)", lambda: ind.sma(frame, 20)), ("EMA(20)", lambda: ind.ema(frame, 20))):
        multi = best_time(call, repeat=5)
        single = best_time(lambda c=call: _single_thread(c), repeat=5)
        rows.append({"indicator": name, "1 thread ms": single * 1e3, f"{cpus} threads ms": multi * 1e3,
                     "speed-up": single / multi})
    return pd.DataFrame(rows)


def _single_thread(call: Callable[[], Any]) -> Any:
    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # the column driver uses numba's thread count
    try:
        return call()
    finally:
        numba.set_num_threads(previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables for RESULTS.md")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="part 1 only, for indicators whose name starts with one of these (e.g. --only WILLR STOCH)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per timing (best is kept)")
    args = parser.parse_args()
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, talib {talib.__version__}")
    one = part1(args.bars, args.only, args.repeat)
    many = part2() if not args.only else pd.DataFrame()
    if args.markdown:
        print(markdown(one))
        if not many.empty:
            print()
            print(markdown(many))
    else:
        print(one.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        if not many.empty:
            print()
            print(many.to_string(index=False, float_format=lambda x: f"{x:.2f}"))


if __name__ == "__main__":
    main()

"""Warm numba's on-disk cache: call the main kernels once, on tiny data, at set-up time.

    python -m quantlab._warm [--quiet]

``make setup`` runs this after installing, so a user's first indicator call, backtest or
sweep loads compiled machine code from the cache (``__pycache__`` beside the sources, or
``NUMBA_CACHE_DIR``, see :mod:`quantlab._jit`) instead of compiling for seconds. Warmed:

* every indicator of :mod:`quantlab.indicators` (1-D and 2-D inputs share one compiled
  kernel: the pandas layer hands kernels 2-D Fortran arrays);
* :func:`quantlab.backtest` with each built-in strategy, in both fill modes (``next_open``,
  ``close``), and the result's statistics;
* :func:`quantlab.sweep` on its fast path (SmaCross, EmaCross) and its generic path;
* :meth:`quantlab.Account.step` (the live runner's compiled decision step).

Numba caches one machine-code version per argument-type signature; these calls use the
types the public API passes (float64 arrays, int64 windows), so they are the ones a user
hits. Editing a kernel's module invalidates its entries (numba checks the source file's
time stamp); run this again, or let the first call compile.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["warm", "main"]


def _bars(n: int = 300, seed: int = 7) -> Any:
    """A small daily OHLCV frame (a seeded random walk), enough for every default window."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.005, n)) * close
    index = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) + spread,
                         "low": np.minimum(open_, close) - spread, "close": close,
                         "volume": rng.uniform(1e5, 2e5, n)}, index=index)


def _indicators(df: Any) -> None:
    from quantlab import indicators

    inputs = {"close": df["close"], "open": df["open"], "high": df["high"], "low": df["low"],
              "volume": df["volume"], "x": df["close"], "y": df["open"]}
    for name in indicators.__all__:
        func = getattr(indicators, name)
        if not callable(func) or inspect.ismodule(func):
            continue
        params = inspect.signature(func).parameters
        func(*[inputs[p] for p in params if p in inputs])


def _backtests(df: Any) -> None:
    from quantlab.backtest import backtest
    from quantlab.errors import InvalidParameterError
    from quantlab.strategy.registry import strategy_class, strategy_names

    strategies = []
    for name in strategy_names():
        try:
            strategies.append(strategy_class(name)())
        except InvalidParameterError:  # needs arguments (RegimeFiltered wraps another one)
            continue
    for fill in ("next_open", "close"):
        for strategy in strategies:
            result = backtest(df, strategy, fee_bps=10.0, fill=fill)
            result.stats()
            result.trade_stats()


def _sweeps(df: Any) -> None:
    from quantlab.backtest.sweep import sweep
    from quantlab.strategies import EmaCross, SmaCross

    grid = {"fast": [5, 10], "slow": [20, 40]}
    for cls in (SmaCross, EmaCross):
        sweep(cls, df, grid, fee_bps=10.0, progress=False)                      # fast path
    sweep(SmaCross, df, grid, fee_bps=10.0, progress=False, use_fast_path=False)  # generic


def _account(df: Any) -> None:
    from quantlab.backtest import Account

    for fill in ("next_open", "close"):
        account = Account(fee_bps=10.0, fill=fill)
        for i, row in enumerate(df.iloc[:5].itertuples()):
            account.step(open=row.open, high=row.high, low=row.low, close=row.close,
                         target=float(i % 2))


STEPS: dict[str, Callable[[Any], None]] = {
    "indicators": _indicators,
    "backtest (both fills, every built-in strategy) and stats": _backtests,
    "sweep (fast path and generic path)": _sweeps,
    "Account.step": _account,
}


def warm(*, verbose: bool = False) -> dict[str, float | str]:
    """Call the main kernels once so numba writes them to its on-disk cache.

    Parameters
    ----------
    verbose : bool, default False
        Print one line per step (name and seconds).

    Returns
    -------
    dict
        ``{step: seconds}``; a step that raised holds the error text instead (the others
        still run: warming is an optimization, never a reason for set-up to fail).

    Examples
    --------
    >>> from quantlab._warm import warm
    >>> sorted(warm())  # doctest: +SKIP
    ['Account.step', 'backtest (both fills, every built-in strategy) and stats', ...]
    """
    import warnings

    from quantlab._jit import JIT_DISABLED

    if JIT_DISABLED:
        if verbose:
            print("quantlab._warm: QUANTLAB_DISABLE_JIT is set; nothing to compile.")
        return {}
    df = _bars()
    out: dict[str, float | str] = {}
    for name, step in STEPS.items():
        clock = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tiny data: short-sample warnings are expected
                step(df)
        except Exception as exc:  # report and go on
            out[name] = f"{type(exc).__name__}: {exc}"
            if verbose:
                print(f"  {name}: FAILED ({out[name]})", file=sys.stderr)
            continue
        out[name] = time.perf_counter() - clock
        if verbose:
            print(f"  {name}: {out[name]:.1f} s")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m quantlab._warm``: exit 0 (failures are printed, not fatal)."""
    parser = argparse.ArgumentParser(prog="python -m quantlab._warm",
                                     description="Compile quantlab's main numba kernels into "
                                                 "the on-disk cache.")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    if not args.quiet:
        print("warming numba's cache (compiles once; later first calls load from disk) ...",
              flush=True)
    clock = time.perf_counter()
    done = warm(verbose=not args.quiet)
    failed = [k for k, v in done.items() if isinstance(v, str)]
    if failed:
        print(f"quantlab._warm: {len(failed)} step(s) failed (the first call will compile "
              f"instead): {', '.join(failed)}", file=sys.stderr)
        if args.quiet:  # verbose mode printed them already
            for name in failed:
                print(f"  {name}: {done[name]}", file=sys.stderr)
    elif not args.quiet:
        print(f"done in {time.perf_counter() - clock:.0f} s.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

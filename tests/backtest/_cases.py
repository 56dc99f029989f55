"""Shared helpers of the execution-core tests: seeded bars, multi-asset frames, and
``replay`` (an :class:`~quantlab.backtest.Account` stepped bar by bar over the inputs
``backtest()`` builds, for the "one execution core" equality)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from quantlab.backtest import Account, BacktestConfig
from quantlab.backtest import step as S
from quantlab.backtest.engine import _prepare_data, signal_inputs
from quantlab.backtest.simulation import prepare_simulation
from quantlab.errors import SizingWarning


def walk(seed: int, n: int, *, freq: str = "D", vol: float = 0.02, start: str = "2022-01-03",
         s0: float = 100.0, unit: str = "ns") -> pd.DataFrame:
    """A seeded random-walk OHLCV frame (UTC index) with consistent high/low."""
    rng = np.random.default_rng(seed)
    close = s0 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    open_ = close * np.exp(rng.normal(0, vol / 2, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, vol / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, vol / 2, n)))
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="time", unit=unit)
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": 1.0}, index=idx)


def multi(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """{symbol: OHLCV} -> one frame with (field, symbol) MultiIndex columns."""
    return pd.concat(frames, axis=1).swaplevel(axis=1).sort_index(axis=1)


def bars(close, open_=None, high=None, low=None, start="2021-01-04", freq="D",
         unit="ns") -> pd.DataFrame:
    """Hand-built bars (open defaults to close; high/low to the body)."""
    close = np.asarray(close, dtype=float)
    open_ = close.copy() if open_ is None else np.asarray(open_, dtype=float)
    high = np.maximum(open_, close) if high is None else np.asarray(high, dtype=float)
    low = np.minimum(open_, close) if low is None else np.asarray(low, dtype=float)
    idx = pd.date_range(start, periods=len(close), freq=freq, tz="UTC", name="time",
                        unit=unit)
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": np.ones(len(close))}, index=idx)


def random_targets(seed: int, index: pd.Index, symbols: list[str], *, p_change: float = 0.08,
                   long_only: bool = False) -> pd.DataFrame:
    """Random target paths: a new level with probability ``p_change`` per bar, NaN = hold."""
    rng = np.random.default_rng(seed)
    levels = [0.0, 0.25, 0.5, 1.0] if long_only else [-1.0, -0.5, 0.0, 0.3, 0.7, 1.0]
    n = len(index)
    out = {}
    for s in symbols:
        lv = rng.choice(levels, size=n)
        out[s] = np.where(rng.random(n) < p_change, lv, np.nan)
    return pd.DataFrame(out, index=index)


def _matrix(obj: Any, n: int, symbols: list[str]) -> np.ndarray:
    if isinstance(obj, pd.Series):
        return obj.to_numpy(dtype=np.float64, na_value=np.nan).reshape(n, 1)
    if isinstance(obj, pd.DataFrame):
        return obj[symbols].to_numpy(dtype=np.float64, na_value=np.nan) \
            if obj.shape[1] == len(symbols) and set(map(str, obj.columns)) == set(symbols) \
            else obj.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(obj, dtype=np.float64).reshape(n, -1)


def _bool(obj: Any, n: int, symbols: list[str]) -> np.ndarray:
    if obj is None:
        return np.zeros((n, len(symbols)), dtype=bool)
    if isinstance(obj, pd.Series):
        return obj.to_numpy(dtype=bool).reshape(n, 1)
    return obj[symbols].to_numpy(dtype=bool)


def replay(data: pd.DataFrame, source: Any, config: BacktestConfig, *, start: Any = None,
           end: Any = None, sizer_inputs: dict[str, Any] | None = None,
           direction: str | None = None) -> dict[str, Any]:
    """Step an ``Account`` over the bars ``backtest(data, source, config, start=, end=)``
    simulates, with the same per-bar inputs (built as ``engine.backtest`` builds them).

    ``source``: a strategy (``.signal``/``.warmup``), a target Series/DataFrame, or a tuple
    ``(entries, exits[, short_entries, short_exits])`` of boolean Series/DataFrames.

    Returns orders (bar, time, symbol, side, size, price, fee, reason), the cash, positions
    and equity after every bar, the risk events, and the SizingWarnings raised.
    """
    frame, symbols, prices = _prepare_data(data)
    n, m = prices["close"].shape
    signal_mode = isinstance(source, tuple)
    if signal_mode:
        parts = [_bool(x, n, symbols) for x in source]
        if len(parts) == 2:
            le, lx = parts
            none = np.zeros_like(le)
            direction = direction or config.execution.direction
            if direction == "longonly":
                le, lx, se, sx = le, lx, none, none
            elif direction == "shortonly":
                le, lx, se, sx = none, none, le, lx
            else:
                le, lx, se, sx = le, none, lx, none
        else:
            le, lx, se, sx = parts
        target, flags, _ = signal_inputs(le, lx, se, sx)
        warmup = 0
    elif callable(getattr(source, "signal", None)):
        target = _matrix(source.signal(frame), n, symbols)
        flags = np.zeros((1, 1), dtype=np.int8)
        warmup = int(source.warmup)
    else:
        target = _matrix(source, n, symbols)
        flags = np.zeros((1, 1), dtype=np.int8)
        warmup = 0
    if config.warmup is not None:
        warmup = config.warmup
    sim = prepare_simulation(config, frame, symbols, prices, signal_mode=signal_mode,
                             start=start, end=end)
    sin = sim.sizer_inputs(target, sizer_inputs)
    acc_cfg = config
    if config.costs.slippage_atr > 0:  # the account takes the bar's slippage in its row
        acc_cfg = config.replace(slippage_atr=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SizingWarning)
        acc = Account(acc_cfg, symbols=symbols, signal_mode=signal_mode,
                      periods_per_year=sim.periods_per_year)

        def row(a: np.ndarray, t: int) -> np.ndarray:
            return a[t if a.shape[0] > 1 else 0]

        cash, pos, equity = [], [], []
        for t in range(sim.t0, sim.t1 + 1):
            bi = np.full((S.B_N, m), np.nan)
            for k, f in ((S.B_OPEN, "open"), (S.B_HIGH, "high"), (S.B_LOW, "low"),
                         (S.B_CLOSE, "close")):
                bi[k] = prices[f][t]
            bi[S.B_TARGET] = target[t]
            bi[S.B_FLAGS] = row(flags, t)
            bi[S.B_SLIP] = row(sim.slip, t)
            bi[S.B_FUNDING] = row(sim.funding, t)
            bi[S.B_BORROW] = row(sim.borrow, t)
            bi[S.B_SIN:] = sin[:, t if sin.shape[1] > 1 else 0, :]
            day = int(row(sim.day, t))
            acc.step_row(bi, time=frame.index[t], day=day, can_decide=t >= warmup)
            cash.append(acc.cash)
            pos.append(acc.positions.to_numpy().copy())
            equity.append(acc.equity)
    idx = frame.index[sim.t0:sim.t1 + 1]
    return {
        "orders": acc.orders,
        "cash": pd.Series(cash, index=idx),
        "positions": pd.DataFrame(np.array(pos), index=idx, columns=symbols),
        "equity": pd.Series(equity, index=idx),
        "risk_events": acc.risk_events,
        "warnings": [w for w in caught if issubclass(w.category, SizingWarning)],
        "account": acc,
    }


def assert_same_run(res: Any, rep: dict[str, Any]) -> None:
    """backtest()'s result == the account replay, exactly (==, no tolerance)."""
    o, a = res.orders, rep["orders"]
    assert len(o) == len(a), (len(o), len(a))
    bars = res.equity.index.get_indexer(o["time"])
    assert (bars == a["bar"].to_numpy()).all()
    for col in ("symbol", "side", "reason"):
        assert o[col].tolist() == a[col].tolist(), col
    for col in ("size", "price", "fee"):
        assert (o[col].to_numpy() == a[col].to_numpy()).all(), col
    assert (res.cash.to_numpy() == rep["cash"].to_numpy()).all()
    assert (res.equity.to_numpy() == rep["equity"].to_numpy()).all()
    assert (res.positions.to_numpy() == rep["positions"].to_numpy()).all()
    assert list(res.positions.columns) == list(rep["positions"].columns)
    ev, ae = res.risk_events, rep["risk_events"]
    assert len(ev) == len(ae)
    if len(ev):
        assert ev["bar"].tolist() == ae["bar"].tolist()
        assert ev["rule"].tolist() == ae["rule"].tolist()
        assert ev["action"].tolist() == ae["action"].tolist()
        assert ev["symbol"].tolist() == ae["symbol"].tolist()
        assert (ev["value"].to_numpy() == ae["value"].to_numpy()).all()

"""Trade-level statistics (from per-trade PnL or returns) and position statistics.

``trades`` is one value per closed trade — its PnL in money or its return, the statistics
are the same — as a 1-D array/Series (→ float), or a 2-D array/DataFrame with one column
per strategy, NaN-padded to equal length (→ ndarray/Series). NaN is dropped. No trades at
all is a result, not an error: the statistics are NaN (``n_trades`` is 0).

``positions`` is the held exposure per bar (units or weights; only sign and changes
matter to :func:`exposure`, weights of equity are expected by :func:`turnover`). NaN
positions count as flat (0) — strategies emit NaN during their warm-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import as_float_array, message
from quantlab.errors import DataError
from quantlab.metrics._common import Prepared, check_ppy

__all__ = [
    "n_trades",
    "win_rate",
    "profit_factor",
    "expectancy",
    "payoff_ratio",
    "max_consecutive_losses",
    "trade_summary",
    "exposure",
    "turnover",
]


def _prepare_trades(trades: Any, caller: str, name: str = "trades") -> Prepared:
    if isinstance(trades, list | tuple) and len(trades) == 0:
        trades = np.empty(0)
    arr = as_float_array(trades, name, caller=caller)
    kind = "scalar" if arr.ndim == 1 else ("frame" if isinstance(trades, pd.DataFrame) else "array")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape[1] == 0:
        raise DataError(message(name, caller, "at least one column", f"shape {arr.shape}"))
    index = trades.index if isinstance(trades, pd.Series | pd.DataFrame) else None
    columns = trades.columns if isinstance(trades, pd.DataFrame) else None
    return Prepared(np.ascontiguousarray(arr), kind, columns, index)


def _parts(x: np.ndarray) -> dict[str, np.ndarray]:
    valid = ~np.isnan(x)
    wins = np.where(valid & (x > 0), x, 0.0)
    losses = np.where(valid & (x < 0), x, 0.0)
    return {
        "n": valid.sum(axis=0).astype(np.float64),
        "n_win": (valid & (x > 0)).sum(axis=0).astype(np.float64),
        "n_loss": (valid & (x < 0)).sum(axis=0).astype(np.float64),
        "gross_win": wins.sum(axis=0),
        "gross_loss": losses.sum(axis=0),  # <= 0
        "total": np.where(valid, x, 0.0).sum(axis=0),
    }


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=(b != 0) & np.isfinite(b))
    return out


def n_trades(trades: Any) -> Any:
    """Count the trades (non-NaN entries).

    Parameters
    ----------
    trades : array-like, Series or DataFrame
        Per-trade PnL or returns.

    Returns
    -------
    float, ndarray or Series
        Number of trades (as a float, so that columns wrap uniformly).

    Raises
    ------
    DataError
        Non-numeric input.

    Examples
    --------
    >>> n_trades([1.0, -2.0, float("nan")])
    2.0
    """
    p = _prepare_trades(trades, "n_trades")
    return p.wrap(_parts(p.values)["n"], "n_trades")


def win_rate(trades: Any) -> Any:
    """Compute the share of winning trades.

    Parameters
    ----------
    trades : array-like, Series or DataFrame
        Per-trade PnL or returns; NaN dropped.

    Returns
    -------
    float, ndarray or Series
        ``#{pnl > 0} / #trades``; break-even trades count as non-wins. NaN without trades.

    Raises
    ------
    DataError
        Non-numeric input.

    Examples
    --------
    >>> win_rate([10.0, -5.0, 0.0, 2.0])
    0.5
    """
    p = _prepare_trades(trades, "win_rate")
    parts = _parts(p.values)
    return p.wrap(_div(parts["n_win"], parts["n"]), "win_rate")


def profit_factor(trades: Any) -> Any:
    """Compute the profit factor, gross profit over gross loss.

    Parameters
    ----------
    trades : array-like, Series or DataFrame
        Per-trade PnL or returns; NaN dropped.

    Returns
    -------
    float, ndarray or Series
        ``Σ pnl⁺ / |Σ pnl⁻|``; NaN without losing trades (undefined, not inf).

    Raises
    ------
    DataError
        Non-numeric input.

    Examples
    --------
    >>> profit_factor([10.0, -5.0, 0.0, 2.0])
    2.4
    """
    p = _prepare_trades(trades, "profit_factor")
    parts = _parts(p.values)
    return p.wrap(_div(parts["gross_win"], -parts["gross_loss"]), "profit_factor")


def expectancy(trades: Any) -> Any:
    """Compute the expectancy, the mean PnL (or return) per trade.

    Parameters
    ----------
    trades : array-like, Series or DataFrame
        Per-trade PnL or returns; NaN dropped.

    Returns
    -------
    float, ndarray or Series
        ``mean(pnl)`` = win_rate · avg_win + (1 − win_rate) · avg_loss (break-evens included
        as zeros). NaN without trades.

    Raises
    ------
    DataError
        Non-numeric input.

    Examples
    --------
    >>> expectancy([10.0, -5.0, 0.0, 3.0])
    2.0
    """
    p = _prepare_trades(trades, "expectancy")
    parts = _parts(p.values)
    return p.wrap(_div(parts["total"], parts["n"]), "expectancy")


def payoff_ratio(trades: Any) -> Any:
    """Compute the payoff ratio, average win over the absolute average loss.

    Parameters
    ----------
    trades : array-like, Series or DataFrame
        Per-trade PnL or returns; NaN dropped.

    Returns
    -------
    float, ndarray or Series
        ``mean(pnl | pnl > 0) / |mean(pnl | pnl < 0)|``; NaN without wins or losses.

    Raises
    ------
    DataError
        Non-numeric input.

    Examples
    --------
    >>> payoff_ratio([10.0, -5.0, 2.0, -1.0])
    2.0
    """
    p = _prepare_trades(trades, "payoff_ratio")
    parts = _parts(p.values)
    avg_win = _div(parts["gross_win"], parts["n_win"])
    avg_loss = _div(parts["gross_loss"], parts["n_loss"])
    return p.wrap(_div(avg_win, -avg_loss), "payoff_ratio")


def _max_run(mask: np.ndarray) -> np.ndarray:
    """Longest run of True along axis 0 of a 2-D boolean array."""
    n, m = mask.shape
    if n == 0:
        return np.zeros(m)
    counts = np.cumsum(mask, axis=0)
    # value of the counter at the last False, carried forward
    reset = np.where(~mask, counts, 0)
    reset = np.maximum.accumulate(reset, axis=0)
    return (counts - reset).max(axis=0).astype(np.float64)


def max_consecutive_losses(trades: Any) -> Any:
    """Count the longest streak of losing trades.

    Parameters
    ----------
    trades : array-like, Series or DataFrame
        Per-trade PnL or returns in trade order; NaN dropped (a NaN does not break a streak).

    Returns
    -------
    float, ndarray or Series
        Longest run of consecutive ``pnl < 0``.

    Raises
    ------
    DataError
        Non-numeric input.

    Examples
    --------
    >>> max_consecutive_losses([1.0, -1.0, -2.0, 3.0, -1.0])
    2.0
    """
    p = _prepare_trades(trades, "max_consecutive_losses")
    out = np.zeros(p.values.shape[1])
    for j in range(p.values.shape[1]):  # per column: trades lists are short
        col = p.values[:, j]
        col = col[~np.isnan(col)]
        out[j] = _max_run((col < 0).reshape(-1, 1))[0]
    return p.wrap(out, "max_consecutive_losses")


def trade_summary(trades: Any) -> pd.Series | pd.DataFrame:
    """Summarize per-trade PnL (or returns) in one labelled table.

    Parameters
    ----------
    trades : array-like or Series (→ Series), 2-D array or DataFrame (→ DataFrame)
        Per-trade PnL or returns; NaN dropped.

    Returns
    -------
    Series or DataFrame
        ``n_trades, win_rate, profit_factor, expectancy, payoff_ratio, avg_win, avg_loss,
        best_trade, worst_trade, max_consecutive_losses`` (avg_loss and worst_trade ≤ 0 in
        the units of ``trades``).

    Raises
    ------
    DataError
        Non-numeric input.

    Examples
    --------
    >>> float(trade_summary([10.0, -5.0, 2.0, -1.0])["win_rate"])
    0.5
    """
    p = _prepare_trades(trades, "trade_summary")
    x = p.values
    parts = _parts(x)
    has = parts["n"] > 0
    best = np.where(has, np.max(np.where(np.isnan(x), -np.inf, x), axis=0, initial=-np.inf), np.nan)
    worst = np.where(has, np.min(np.where(np.isnan(x), np.inf, x), axis=0, initial=np.inf), np.nan)
    runs = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        col = x[:, j]
        runs[j] = _max_run((col[~np.isnan(col)] < 0).reshape(-1, 1))[0]
    avg_win = _div(parts["gross_win"], parts["n_win"])
    avg_loss = _div(parts["gross_loss"], parts["n_loss"])
    table = {
        "n_trades": parts["n"],
        "win_rate": _div(parts["n_win"], parts["n"]),
        "profit_factor": _div(parts["gross_win"], -parts["gross_loss"]),
        "expectancy": _div(parts["total"], parts["n"]),
        "payoff_ratio": _div(avg_win, -avg_loss),
        "avg_win": avg_win,
        "avg_loss": avg_loss,
        "best_trade": best,
        "worst_trade": worst,
        "max_consecutive_losses": runs,
    }
    frame = pd.DataFrame(table).T
    if p.kind == "scalar":
        return frame[0].rename(None)
    if p.kind == "frame":
        frame.columns = p.columns
    return frame


def _prepare_positions(positions: Any, caller: str) -> Prepared:
    p = _prepare_trades(positions, caller, name="positions")
    if p.values.shape[0] == 0:
        raise DataError(message("positions", caller, "non-empty", "an empty input",
                                "Pass one position per bar."))
    p.values = np.where(np.isnan(p.values), 0.0, p.values)
    return p


def exposure(positions: Any) -> Any:
    """Compute the share of bars with a position (long or short).

    Parameters
    ----------
    positions : array-like, Series or DataFrame
        Position held at each bar (units or weights); NaN counts as flat.

    Returns
    -------
    float, ndarray or Series
        ``#{w_t ≠ 0} / n_bars`` in [0, 1].

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Examples
    --------
    >>> exposure([0.0, 1.0, 1.0, -1.0])
    0.75
    """
    p = _prepare_positions(positions, "exposure")
    return p.wrap((p.values != 0).mean(axis=0), "exposure")


def turnover(positions: Any, *, periods_per_year: float | None = None) -> Any:
    """Compute the mean one-way turnover per bar (annualized when ``periods_per_year`` is given).

    Parameters
    ----------
    positions : array-like, Series or DataFrame
        Position at each bar as a **weight** of equity (1.0 = fully invested); NaN = flat.
    periods_per_year : float or None, default None
        When given, the result is multiplied by it (turnover per year).

    Returns
    -------
    float, ndarray or Series
        ``mean_t |w_t − w_{t−1}|`` with ``w_{−1} = 0`` (the initial entry counts as traded);
        a round trip in and out of a full position is 2.

    Raises
    ------
    DataError
        Empty or non-numeric input.
    InvalidParameterError
        ``periods_per_year`` ≤ 0.

    Examples
    --------
    >>> turnover([0.0, 1.0, 1.0, 0.0])
    0.5
    """
    scale = 1.0 if periods_per_year is None else check_ppy(periods_per_year, "turnover")
    p = _prepare_positions(positions, "turnover")
    w = p.values
    changes = np.abs(np.diff(w, axis=0, prepend=0.0))
    return p.wrap(changes.mean(axis=0) * scale, "turnover")

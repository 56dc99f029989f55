"""Drawdown statistics computed from returns (never from prices: pass returns).

The equity path starts at 1 before the first return, so a first-bar loss is a drawdown
from the initial capital (empyrical's convention). NaN returns leave the equity flat.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_choice, message
from quantlab.errors import InvalidParameterError
from quantlab.metrics import _kernels as K
from quantlab.metrics._common import prepare

__all__ = [
    "drawdown_series",
    "max_drawdown",
    "max_drawdown_duration",
    "average_drawdown",
    "ulcer_index",
]


def drawdown_series(returns: Any) -> Any:
    """Return the drawdown at every bar, from **returns** (not equity or prices).

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns. To use an equity curve ``e``, pass ``e.pct_change()``.

    Returns
    -------
    ndarray, Series or DataFrame
        Same shape and type as ``returns``: ``E_t / max(1, max_{s≤t} E_s) − 1`` with
        ``E_t = Π_{s≤t}(1 + r_s)``; values in [−1, 0] for returns > −1; NaN where the
        return is NaN (the equity is carried flat through it).

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Equals ``empyrical.drawdown_series`` on NaN-free input.

    Examples
    --------
    >>> drawdown_series([0.1, -0.5, 1.0]).round(6).tolist()
    [0.0, -0.5, 0.0]
    """
    p = prepare(returns, "returns", "drawdown_series")
    return p.wrap_path(K.drawdown_series_nb(p.values), returns)


def max_drawdown(returns: Any) -> Any:
    """Compute the maximum drawdown, a negative fraction (−0.35 is a 35 % fall).

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN leaves the equity flat.

    Returns
    -------
    float, ndarray or Series
        ``min_t drawdown_t`` in [−1, 0] for returns > −1; 0.0 when the equity never falls.

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Magdon-Ismail & Atiya (2004), "Maximum drawdown", Risk 17(10). Equals
    ``empyrical.max_drawdown``.

    Examples
    --------
    >>> max_drawdown([0.1, -0.5, 1.0])
    -0.5
    """
    p = prepare(returns, "returns", "max_drawdown")
    return p.wrap(K.drawdown_stats_nb(p.values)[K.D_MAX], "max_drawdown")


def average_drawdown(returns: Any) -> Any:
    """Compute the mean drawdown over all non-NaN bars (0 at new highs).

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns.

    Returns
    -------
    float, ndarray or Series
        ``mean_t drawdown_t`` (≤ 0).

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Examples
    --------
    >>> average_drawdown([0.1, -0.5, 1.0])
    -0.16666666666666666
    """
    p = prepare(returns, "returns", "average_drawdown")
    stats = K.drawdown_stats_nb(p.values)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(stats[K.D_COUNT] > 0, stats[K.D_SUM] / np.maximum(stats[K.D_COUNT], 1), np.nan)
    return p.wrap(out, "average_drawdown")


def ulcer_index(returns: Any) -> Any:
    """Compute the Ulcer index, the root-mean-square drawdown (as a fraction).

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns.

    Returns
    -------
    float, ndarray or Series
        ``sqrt(mean_t drawdown_t^2)`` over non-NaN bars, as a fraction (multiply by 100 for
        Martin's percent units).

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Martin & McCann (1989), *The Investor's Guide to Fidelity Funds*. Drawdowns here are
    from the running peak of the whole sample (not a trailing 14-bar window).

    Examples
    --------
    >>> round(ulcer_index([0.0, -0.1, 0.0, 0.0]), 6)
    0.086603
    """
    p = prepare(returns, "returns", "ulcer_index")
    stats = K.drawdown_stats_nb(p.values)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(stats[K.D_COUNT] > 0,
                       np.sqrt(stats[K.D_SUM_SQ] / np.maximum(stats[K.D_COUNT], 1)), np.nan)
    return p.wrap(out, "ulcer_index")


def max_drawdown_duration(returns: Any, *, unit: str = "bars") -> Any:
    """Compute the longest time from a peak to its recovery (or to the end, if none).

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN bars count as time passing with flat equity.
    unit : {"bars", "timedelta"}, default "bars"
        ``"bars"``: a number of bars (float, so that a DataFrame gives a float Series).
        ``"timedelta"``: a :class:`pandas.Timedelta`; needs a DatetimeIndex.

    Returns
    -------
    float, Timedelta, ndarray or Series
        The longest peak-to-recovery span. 0 when the equity never falls.

    Raises
    ------
    DataError
        Empty or non-numeric input.
    InvalidParameterError
        ``unit`` unknown, or ``"timedelta"`` without a DatetimeIndex.

    Notes
    -----
    Positions: the initial capital is position 0, bar i (0-based) is position i + 1. A
    drawdown spell runs from the last peak position p (equity at its running maximum) to the
    first position q where the equity is back at or above that peak, or to the last bar when
    it never recovers; its duration is q − p bars (the recovery bar included). With
    ``unit="timedelta"`` it is ``time(q) − time(p)``, position 0 being timed at the first
    index entry (the time before it is unknown), so a spell starting with the first return
    is one bar short in time.

    Examples
    --------
    >>> max_drawdown_duration([0.1, -0.1, 0.05, 0.1, 0.0])
    3.0
    """
    unit = check_choice("unit", unit, ("bars", "timedelta"), caller="max_drawdown_duration")
    p = prepare(returns, "returns", "max_drawdown_duration")
    stats = K.drawdown_stats_nb(p.values)
    if unit == "bars":
        return p.wrap(stats[K.D_DURATION], "max_drawdown_duration_bars")
    if not isinstance(p.index, pd.DatetimeIndex):
        raise InvalidParameterError(message(
            "unit", "max_drawdown_duration", "'bars' unless returns have a DatetimeIndex",
            "'timedelta'", "Use unit='bars' or index the returns by time."))
    spans = _spans(p.index, stats)
    if p.kind == "scalar":
        return spans[0]
    return pd.Series(spans, index=p.columns, name="max_drawdown_duration")


def _spans(index: pd.DatetimeIndex, stats: np.ndarray) -> pd.TimedeltaIndex:
    """Peak-to-recovery time of each column's longest spell (see max_drawdown_duration)."""
    start = np.maximum(stats[K.D_PEAK_POS].astype(np.int64) - 1, 0)
    end = np.maximum(stats[K.D_END_POS].astype(np.int64) - 1, 0)
    spans = pd.TimedeltaIndex(index[end] - index[start])
    return spans.where(stats[K.D_DURATION] > 0, pd.Timedelta(0))

"""One labelled table of return, benchmark, trade and position statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import as_float_array, check_float, message
from quantlab.errors import DataError, InvalidParameterError
from quantlab.metrics import _kernels as K
from quantlab.metrics import drawdown as D
from quantlab.metrics import performance as P
from quantlab.metrics import tail as T
from quantlab.metrics import trades as TR
from quantlab.metrics._common import check_ppy, infer_periods_per_year, prepare
from quantlab.metrics.overfitting import probabilistic_sharpe_ratio

__all__ = ["summary", "benchmark_statistics"]


def _cols(values: Any) -> np.ndarray:
    """Result of a metric on a 2-D ndarray -> 1-D float array."""
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def benchmark_statistics(returns: Any, benchmark: Any, *, periods_per_year: float,
                         risk_free_rate: float = 0.0) -> pd.Series | pd.DataFrame:
    """Compute beta, alpha, correlation, tracking error and information ratio.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Per-period strategy returns.
    benchmark : array-like or Series (1-D)
        Per-period benchmark returns, aligned with ``returns`` (same length and index).
    periods_per_year : float
        Bars per year.
    risk_free_rate : float, default 0.0
        Annual risk-free rate (de-annualized geometrically) removed from both series for
        beta and alpha.

    Returns
    -------
    Series (1-D ``returns``) or DataFrame (one column per strategy)
        ``beta = cov(r, b) / var(b)``; ``alpha_annual = (1 + mean(r_x − β b_x))^ppy − 1``
        (empyrical's convention, r_x and b_x excess returns); ``correlation``;
        ``tracking_error_annual = std(r − b, ddof=1) · sqrt(ppy)``;
        ``information_ratio = mean(r − b) / std(r − b, ddof=1) · sqrt(ppy)``. Rows where
        either is NaN are dropped (per column).

    Raises
    ------
    DataError
        Misaligned or non-numeric inputs.

    Notes
    -----
    Jensen (1968); Grinold & Kahn (2000) for the information ratio. beta and alpha equal
    ``empyrical.alpha_beta(r, b, risk_free=rf_p, annualization=ppy)``.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.array([0.01, -0.02, 0.03, 0.0])
    >>> round(float(benchmark_statistics(2 * b, b, periods_per_year=252)["beta"]), 10)
    2.0
    """
    caller = "benchmark_statistics"
    ppy = check_ppy(periods_per_year, caller)
    rf = check_float("risk_free_rate", risk_free_rate, caller=caller, minimum=-1.0,
                     exclusive_minimum=True)
    p = prepare(returns, "returns", caller)
    b = as_float_array(benchmark, "benchmark", caller=caller, ndim=(1,))
    if len(b) != p.values.shape[0]:
        raise DataError(message("benchmark", caller, f"of length {p.values.shape[0]} like returns",
                                f"length {len(b)}", "Align them first (e.g. .reindex())."))
    if isinstance(benchmark, pd.Series) and p.index is not None and not benchmark.index.equals(p.index):
        raise DataError(message("benchmark", caller, "indexed like returns", "a different index",
                                "Align them with .reindex() or pd.concat(..., join='inner')."))
    rf_p = (1.0 + rf) ** (1.0 / ppy) - 1.0
    x = p.values
    rows = []
    for j in range(x.shape[1]):
        r = x[:, j]
        ok = ~np.isnan(r) & ~np.isnan(b)
        rows.append(_bench_one(r[ok], b[ok], ppy, rf_p))
    names = ["beta", "alpha_annual", "correlation", "tracking_error_annual", "information_ratio"]
    table = pd.DataFrame(rows, columns=names).T
    if p.kind == "scalar":
        return table[0].rename(None)
    if p.kind == "frame":
        table.columns = p.columns
    return table


def _bench_one(r: np.ndarray, b: np.ndarray, ppy: float, rf_p: float) -> list[float]:
    n = r.size
    if n < 2:
        return [np.nan] * 5
    rx, bx = r - rf_p, b - rf_p
    bc, rc = bx - bx.mean(), rx - rx.mean()
    var_b = float(bc @ bc)
    var_r = float(rc @ rc)
    beta = float(bc @ rc) / var_b if var_b > 0 else np.nan
    alpha = (1.0 + float(np.mean(rx - beta * bx))) ** ppy - 1.0 if var_b > 0 else np.nan
    corr = float(bc @ rc) / np.sqrt(var_b * var_r) if var_b > 0 and var_r > 0 else np.nan
    active = r - b
    te = float(np.std(active, ddof=1))
    if np.ptp(active) == 0:
        te = 0.0
    ir = float(np.mean(active)) / te * np.sqrt(ppy) if te > 0 else np.nan
    return [beta, alpha, corr, te * np.sqrt(ppy), ir]


def summary(
    returns: Any,
    *,
    periods_per_year: float | None = None,
    risk_free_rate: float = 0.0,
    trades: Any = None,
    positions: Any = None,
    benchmark: Any = None,
) -> pd.Series | pd.DataFrame:
    """Tabulate the performance statistics of one strategy (or one per column).

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN are missing observations.
    periods_per_year : float, optional
        Bars per year. None: inferred from a DatetimeIndex by
        :func:`~quantlab.metrics.infer_periods_per_year` (daily equities 252, daily 24/7
        365, hourly 24/7 8760, hourly FX 6240, ...) and reported as ``periods_per_year``.
    risk_free_rate : float, default 0.0
        Annual risk-free rate for ``sharpe`` and the benchmark statistics.
    trades : array-like or Series, optional
        Per-trade PnL or returns (1-D ``returns`` only): adds :func:`trade_summary` rows.
    positions : array-like, Series or DataFrame, optional
        Per-bar position weights, shaped like ``returns``: adds ``exposure`` and
        ``turnover_annual``.
    benchmark : array-like or Series, optional
        Benchmark returns aligned with ``returns``: adds :func:`benchmark_statistics` rows.

    Returns
    -------
    Series (1-D ``returns``) or DataFrame (metrics × columns)
        29 return-based rows, in this order: ``periods_per_year, n_periods, years,
        total_return, cagr, annual_return, annual_volatility, sharpe, sortino, calmar, omega,
        downside_deviation_annual, max_drawdown, max_drawdown_duration_bars,
        max_drawdown_duration_days`` (NaN without a DatetimeIndex), ``average_drawdown,
        ulcer_index, var_95, es_95, var_99, es_99, tail_ratio, skew, excess_kurtosis,
        stability, best_period_return, worst_period_return, positive_periods_share,
        probabilistic_sharpe_ratio`` (vs 0), then the optional groups. Fractions are
        fractions (0.12 = 12 %); VaR/ES are positive losses per period.

    Raises
    ------
    InvalidParameterError
        ``periods_per_year`` None and no DatetimeIndex to infer it from (pass it), or bad
        options.
    DataError
        Empty, non-numeric or misaligned inputs; ``trades`` with 2-D ``returns``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> idx = pd.bdate_range("2024-01-01", periods=300, tz="UTC")
    >>> r = pd.Series(np.random.default_rng(0).normal(5e-4, 0.01, 300), index=idx)
    >>> s = summary(r)
    >>> float(s["periods_per_year"]), len(s)
    (252.0, 29)
    """
    caller = "summary"
    p = prepare(returns, "returns", caller)
    if periods_per_year is None:
        if not isinstance(p.index, pd.DatetimeIndex):
            raise InvalidParameterError(message(
                "periods_per_year", caller, "given when returns have no DatetimeIndex",
                None, "Pass periods_per_year explicitly (252 daily equities, 365 daily crypto, "
                "8760 hourly crypto, 6240 hourly FX)."))
        ppy = infer_periods_per_year(p.index, caller=caller)
    else:
        ppy = check_ppy(periods_per_year, caller)
    x2 = p.values
    mom = K.moments_nb(x2, 4)
    dd = K.drawdown_stats_nb(x2)
    n = mom[K.COUNT]
    m: dict[str, np.ndarray] = {}
    m["periods_per_year"] = np.full(n.shape, ppy)
    m["n_periods"] = n
    m["years"] = n / ppy
    m["total_return"] = dd[K.D_FINAL] - 1.0
    m["cagr"] = _cols(P.cagr(x2, periods_per_year=ppy))
    m["annual_return"] = mom[K.MEAN] * ppy
    m["annual_volatility"] = _cols(P.annual_volatility(x2, periods_per_year=ppy))
    m["sharpe"] = _cols(P.sharpe(x2, periods_per_year=ppy, risk_free_rate=risk_free_rate))
    m["sortino"] = _cols(P.sortino(x2, periods_per_year=ppy))
    m["calmar"] = _cols(P.calmar(x2, periods_per_year=ppy))
    m["omega"] = _cols(P.omega(x2))
    m["downside_deviation_annual"] = _cols(P.downside_deviation(x2, periods_per_year=ppy))
    m["max_drawdown"] = dd[K.D_MAX]
    m["max_drawdown_duration_bars"] = dd[K.D_DURATION]
    if isinstance(p.index, pd.DatetimeIndex):
        spans = D._spans(p.index, dd)
        m["max_drawdown_duration_days"] = np.asarray(spans / pd.Timedelta(days=1), dtype=np.float64)
    else:
        m["max_drawdown_duration_days"] = np.full(n.shape, np.nan)
    m["average_drawdown"] = _cols(D.average_drawdown(x2))
    m["ulcer_index"] = _cols(D.ulcer_index(x2))
    for conf in (95, 99):
        m[f"var_{conf}"] = _cols(T.var_historical(x2, confidence=conf / 100))
        m[f"es_{conf}"] = _cols(T.es_historical(x2, confidence=conf / 100))
    m["tail_ratio"] = _cols(T.tail_ratio(x2))
    m["skew"] = _cols(P.skew(x2))
    m["excess_kurtosis"] = _cols(P.kurtosis(x2))
    m["stability"] = _cols(P.stability(x2))
    has = n > 0
    m["best_period_return"] = np.where(has, mom[K.MAX], np.nan)
    m["worst_period_return"] = np.where(has, mom[K.MIN], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        m["positive_periods_share"] = np.where(has, (x2 > 0).sum(axis=0) / np.maximum(n, 1), np.nan)
    m["probabilistic_sharpe_ratio"] = _cols(probabilistic_sharpe_ratio(x2))
    table = pd.DataFrame(m).T
    extra = []
    if benchmark is not None:
        if isinstance(benchmark, pd.Series):
            if p.index is not None and not benchmark.index.equals(p.index):
                raise DataError(message(
                    "benchmark", caller, "indexed like returns", "a different index",
                    "Align them with .reindex() or pd.concat(..., join='inner')."))
            benchmark = as_float_array(benchmark, "benchmark", caller=caller, ndim=(1,))
        extra.append(_as_table(benchmark_statistics(
            x2, benchmark, periods_per_year=ppy, risk_free_rate=risk_free_rate)))
    if positions is not None:
        pos = as_float_array(positions, "positions", caller=caller)
        pos2 = pos.reshape(-1, 1) if pos.ndim == 1 else pos
        if pos2.shape != x2.shape:
            raise DataError(message("positions", caller, f"shaped like returns {x2.shape}",
                                    f"shape {pos2.shape}", "Pass one position per bar and column."))
        extra.append(pd.DataFrame({"exposure": _cols(TR.exposure(pos2)),
                                   "turnover_annual": _cols(TR.turnover(pos2, periods_per_year=ppy))}).T)
    if trades is not None:
        if x2.shape[1] != 1:
            raise DataError(message("trades", caller, "None when returns has several columns",
                                    "trades", "Call summary() per strategy to add trade statistics."))
        extra.append(_as_table(TR.trade_summary(trades)))
    if extra:
        table = pd.concat([table, *[e.set_axis(table.columns, axis=1) for e in extra]])
    if p.kind == "scalar":
        name = returns.name if isinstance(returns, pd.Series) else None
        return table[0].rename(name).astype(np.float64)
    if p.kind == "frame":
        table.columns = p.columns
    return table.astype(np.float64)


def _as_table(result: pd.Series | pd.DataFrame) -> pd.DataFrame:
    return result.to_frame() if isinstance(result, pd.Series) else result


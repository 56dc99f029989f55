"""Return-based performance statistics: growth, volatility, risk-adjusted ratios, moments.

Every function takes simple per-period returns first (ndarray 1-D/2-D, Series, DataFrame)
and keyword-only options. 1-D input gives a float, a 2-D ndarray a 1-D ndarray (one value
per column), a DataFrame a Series indexed by its columns. NaN returns are missing
observations, skipped column by column; a zero denominator gives NaN (never inf) without
warnings. See :mod:`quantlab.metrics` for the conventions and how they compare with
empyrical.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab._validate import check_bool, check_float
from quantlab.metrics import _kernels as K
from quantlab.metrics._common import check_ppy as _ppy
from quantlab.metrics._common import prepare

__all__ = [
    "total_return",
    "cagr",
    "annual_return",
    "annual_volatility",
    "sharpe",
    "sortino",
    "downside_deviation",
    "calmar",
    "omega",
    "skew",
    "kurtosis",
    "stability",
    "per_period_rate",
]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN where den is 0 or NaN, silently."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    ok = np.isfinite(den) & (den != 0.0)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out


def per_period_rate(annual_rate: float, periods_per_year: float) -> float:
    """Convert an annual rate into the equivalent compounded per-period rate.

    Parameters
    ----------
    annual_rate : float
        Annual rate, e.g. 0.04 for 4 %.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    float
        ``(1 + annual_rate) ** (1 / periods_per_year) − 1``.

    Examples
    --------
    >>> round(per_period_rate(0.1, 12), 6)
    0.007974
    """
    annual_rate = check_float("annual_rate", annual_rate, caller="per_period_rate", minimum=-1.0,
                              exclusive_minimum=True)
    periods_per_year = _ppy(periods_per_year, "per_period_rate")
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def total_return(returns: Any) -> Any:
    """Compound the returns into one total return.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped (equity flat).

    Returns
    -------
    float, ndarray or Series
        ``Π(1 + r_t) − 1``.

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Examples
    --------
    >>> round(total_return([0.1, -0.1]), 10)
    -0.01
    """
    p = prepare(returns, "returns", "total_return")
    stats = K.drawdown_stats_nb(p.values)
    return p.wrap(stats[K.D_FINAL] - 1.0, "total_return")


def cagr(returns: Any, *, periods_per_year: float) -> Any:
    """Compute the compound annual growth rate.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped.
    periods_per_year : float
        Bars per year (252 daily equities, 365 daily crypto, 8760 hourly crypto).

    Returns
    -------
    float, ndarray or Series
        ``(Π(1 + r_t)) ** (periods_per_year / n) − 1`` with n the number of non-NaN returns;
        −1 when the equity ends at or below zero.

    Raises
    ------
    DataError
        Empty or non-numeric input.
    InvalidParameterError
        ``periods_per_year`` not a number > 0.

    Notes
    -----
    Equals ``empyrical.cagr(returns.dropna(), annualization=periods_per_year)`` (empyrical
    counts NaN rows as periods; quantlab drops them). empyrical gives NaN for a negative final
    equity; quantlab gives −1 (everything lost).

    Examples
    --------
    >>> round(cagr([0.01] * 12, periods_per_year=12), 10)
    0.1268250301
    """
    ppy = _ppy(periods_per_year, "cagr")
    p = prepare(returns, "returns", "cagr")
    stats = K.drawdown_stats_nb(p.values)
    return p.wrap(_cagr_from(stats, ppy), "cagr")


def _cagr_from(stats: np.ndarray, ppy: float) -> np.ndarray:
    final = stats[K.D_FINAL]
    count = stats[K.D_COUNT]
    out = np.full(final.shape, np.nan)
    ok = (count > 0) & (final > 0)
    out[ok] = final[ok] ** (ppy / count[ok]) - 1.0
    out[(count > 0) & (final <= 0)] = -1.0
    return out


def annual_return(returns: Any, *, periods_per_year: float) -> Any:
    """Compute the arithmetic annual return, ``mean(r) · periods_per_year``.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    float, ndarray or Series
        Mean per-period return times ``periods_per_year`` (not compounded; see :func:`cagr`).

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Examples
    --------
    >>> annual_return([0.01, 0.03], periods_per_year=12)
    0.24
    """
    ppy = _ppy(periods_per_year, "annual_return")
    p = prepare(returns, "returns", "annual_return")
    mom = K.moments_nb(p.values, 2)
    return p.wrap(mom[K.MEAN] * ppy, "annual_return")


def _std(mom: np.ndarray) -> np.ndarray:
    count = mom[K.COUNT]
    out = np.full(count.shape, np.nan)
    ok = count >= 2
    out[ok] = np.sqrt(mom[K.M2][ok] / (count[ok] - 1.0))
    return out


def annual_volatility(returns: Any, *, periods_per_year: float) -> Any:
    """Compute the annualized standard deviation of returns.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    float, ndarray or Series
        ``std(r, ddof=1) · sqrt(periods_per_year)``; NaN with fewer than 2 returns.

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Equals ``empyrical.annual_volatility(returns, annualization=periods_per_year)``.

    Examples
    --------
    >>> round(annual_volatility([0.01, -0.01, 0.01, -0.01], periods_per_year=4), 10)
    0.0230940108
    """
    ppy = _ppy(periods_per_year, "annual_volatility")
    p = prepare(returns, "returns", "annual_volatility")
    mom = K.moments_nb(p.values, 2)
    return p.wrap(_std(mom) * np.sqrt(ppy), "annual_volatility")


def sharpe(returns: Any, *, periods_per_year: float, risk_free_rate: float = 0.0) -> Any:
    """Compute the annualized Sharpe ratio.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped. A 2-D input is reduced column by column in
        one pass over memory (fast for sweeps: 100k bars × 1225 columns).
    periods_per_year : float
        Bars per year.
    risk_free_rate : float, default 0.0
        **Annual** risk-free rate, de-annualized as ``(1 + rf) ** (1 / periods_per_year) − 1``.

    Returns
    -------
    float, ndarray or Series
        ``mean(r − rf_p) / std(r, ddof=1) · sqrt(periods_per_year)``; NaN when the standard
        deviation is zero or there are fewer than 2 returns.

    Raises
    ------
    DataError
        Empty or non-numeric input.
    InvalidParameterError
        ``periods_per_year`` ≤ 0 or ``risk_free_rate`` ≤ −1.

    Notes
    -----
    Sharpe (1966; 1994). Equals ``empyrical.sharpe_ratio(r, risk_free=rf_p,
    annualization=periods_per_year)`` except where the standard deviation is zero (empyrical:
    ±inf, quantlab: NaN). empyrical's ``risk_free`` is per period; quantlab's is annual.

    Examples
    --------
    >>> round(sharpe([0.01, 0.02, 0.0, 0.01], periods_per_year=252), 6)
    19.442222
    """
    ppy = _ppy(periods_per_year, "sharpe")
    rf = check_float("risk_free_rate", risk_free_rate, caller="sharpe", minimum=-1.0,
                     exclusive_minimum=True)
    p = prepare(returns, "returns", "sharpe")
    mom = K.moments_nb(p.values, 2)
    rf_p = (1.0 + rf) ** (1.0 / ppy) - 1.0
    return p.wrap(_ratio(mom[K.MEAN] - rf_p, _std(mom)) * np.sqrt(ppy), "sharpe")


def downside_deviation(returns: Any, *, periods_per_year: float | None = None,
                       target: float = 0.0) -> Any:
    """Compute the downside deviation below ``target``.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped.
    periods_per_year : float or None, default None
        Annualize by ``sqrt(periods_per_year)`` when given; per period when None.
    target : float, default 0.0
        Per-period minimum acceptable return.

    Returns
    -------
    float, ndarray or Series
        ``sqrt(mean(min(r − target, 0)^2))`` over all n returns (not only the losing ones).

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Sortino & Price (1994); equals ``empyrical.downside_risk``.

    Examples
    --------
    >>> round(downside_deviation([0.02, -0.02, 0.01, -0.01]), 10)
    0.0111803399
    """
    t = check_float("target", target, caller="downside_deviation")
    scale = 1.0 if periods_per_year is None else np.sqrt(_ppy(periods_per_year, "downside_deviation"))
    p = prepare(returns, "returns", "downside_deviation")
    th = K.threshold_nb(p.values, t)
    dd = _ratio(th[K.T_DOWN_SQ], th[K.T_COUNT])
    return p.wrap(np.sqrt(dd) * scale, "downside_deviation")


def sortino(returns: Any, *, periods_per_year: float, target: float = 0.0) -> Any:
    """Compute the annualized Sortino ratio.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped.
    periods_per_year : float
        Bars per year.
    target : float, default 0.0
        **Per-period** minimum acceptable return.

    Returns
    -------
    float, ndarray or Series
        ``mean(r − target) / sqrt(mean(min(r − target, 0)^2)) · sqrt(periods_per_year)``;
        NaN when no return is below ``target``.

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Sortino & Price (1994), "Performance measurement in a downside risk framework", J. of
    Investing 3(3). The downside deviation averages over *all* n periods. Equals
    ``empyrical.sortino_ratio(r, required_return=target, annualization=periods_per_year)``
    except with no downside (empyrical: inf, quantlab: NaN).

    Examples
    --------
    >>> round(sortino([0.02, -0.01, 0.01, -0.01], periods_per_year=4), 6)
    0.707107
    """
    ppy = _ppy(periods_per_year, "sortino")
    t = check_float("target", target, caller="sortino")
    p = prepare(returns, "returns", "sortino")
    th = K.threshold_nb(p.values, t)
    dd = np.sqrt(_ratio(th[K.T_DOWN_SQ], th[K.T_COUNT]))
    return p.wrap(_ratio(th[K.T_MEAN], dd) * np.sqrt(ppy), "sortino")


def calmar(returns: Any, *, periods_per_year: float) -> Any:
    """Compute the Calmar ratio, CAGR over the absolute maximum drawdown.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    float, ndarray or Series
        ``cagr / |max_drawdown|`` over the whole sample (not the classic trailing 36 months);
        NaN without a drawdown.

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Young (1991), "Calmar ratio: a smoother tool", Futures 20(1). Equals
    ``empyrical.calmar_ratio(r, annualization=periods_per_year)`` on NaN-free input.

    Examples
    --------
    >>> round(calmar([0.1, -0.05, 0.1], periods_per_year=3), 6)
    2.99
    """
    ppy = _ppy(periods_per_year, "calmar")
    p = prepare(returns, "returns", "calmar")
    stats = K.drawdown_stats_nb(p.values)
    return p.wrap(_ratio(_cagr_from(stats, ppy), -stats[K.D_MAX]), "calmar")


def omega(returns: Any, *, threshold: float = 0.0) -> Any:
    """Compute the Omega ratio at a per-period ``threshold``.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN skipped.
    threshold : float, default 0.0
        **Per-period** threshold return.

    Returns
    -------
    float, ndarray or Series
        ``Σ max(r − θ, 0) / Σ max(θ − r, 0)``; NaN when no return is below θ.

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Keating & Shadwick (2002), "A universal performance measure", J. of Performance
    Measurement 6(3). Equals ``empyrical.omega_ratio(r, required_return=θ, annualization=1)``
    (empyrical's ``required_return`` is annual unless ``annualization=1``).

    Examples
    --------
    >>> omega([0.02, -0.01, 0.01, -0.01])
    1.5
    """
    t = check_float("threshold", threshold, caller="omega")
    p = prepare(returns, "returns", "omega")
    th = K.threshold_nb(p.values, t)
    return p.wrap(_ratio(th[K.T_UP], th[K.T_DOWN]), "omega")


def skew(returns: Any, *, bias: bool = True) -> Any:
    """Compute the skewness of returns.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Per-period returns; NaN skipped.
    bias : bool, default True
        True: the moment estimator ``g1 = m3 / m2^1.5`` (scipy's default, and what PSR uses);
        False: the adjusted ``G1 = g1 · sqrt(n(n−1)) / (n−2)`` (pandas' ``.skew()``).

    Returns
    -------
    float, ndarray or Series
        NaN when the variance is zero (or n < 3 with ``bias=False``).

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    ``m_k = mean((r − mean(r))^k)``. Equals ``scipy.stats.skew(r, bias=bias, nan_policy='omit')``.

    Examples
    --------
    >>> skew([1.0, 2.0, 3.0, 10.0]) > 0
    True
    """
    bias = check_bool("bias", bias, caller="skew")
    p = prepare(returns, "returns", "skew")
    mom = K.moments_nb(p.values, 3)
    n = mom[K.COUNT]
    with np.errstate(divide="ignore", invalid="ignore"):
        m2 = mom[K.M2] / n
        m3 = mom[K.M3] / n
        g1 = _ratio(m3, m2**1.5)
        if not bias:
            g1 = np.where(n > 2, g1 * np.sqrt(n * (n - 1.0)) / (n - 2.0), np.nan)
    return p.wrap(g1, "skew")


def kurtosis(returns: Any, *, bias: bool = True) -> Any:
    """Compute the **excess** kurtosis of returns (0 for a normal distribution).

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Per-period returns; NaN skipped.
    bias : bool, default True
        True: ``g2 = m4 / m2^2 − 3`` (scipy's default, Fisher); False: the adjusted
        ``G2 = ((n+1) g2 + 6)(n−1) / ((n−2)(n−3))`` (pandas' ``.kurt()``).

    Returns
    -------
    float, ndarray or Series
        Excess kurtosis; add 3 for the raw kurtosis that PSR's formula writes as γ4.
        NaN when the variance is zero (or n < 4 with ``bias=False``).

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Equals ``scipy.stats.kurtosis(r, fisher=True, bias=bias, nan_policy='omit')``.

    Examples
    --------
    >>> round(kurtosis([-1.0, 1.0] * 50), 10)
    -2.0
    """
    bias = check_bool("bias", bias, caller="kurtosis")
    p = prepare(returns, "returns", "kurtosis")
    mom = K.moments_nb(p.values, 4)
    n = mom[K.COUNT]
    with np.errstate(divide="ignore", invalid="ignore"):
        m2 = mom[K.M2] / n
        m4 = mom[K.M4] / n
        g2 = _ratio(m4, m2**2) - 3.0
        if not bias:
            g2 = np.where(n > 3, ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0)),
                          np.nan)
    return p.wrap(g2, "kurtosis")


def stability(returns: Any) -> Any:
    """Compute the R² of a straight-line fit to cumulative log returns.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns (must be > −1); NaN dropped (the fit runs over the
        remaining returns' positions 0..n−1).

    Returns
    -------
    float, ndarray or Series
        ``corr(t, Σ_{s≤t} log(1 + r_s))^2``; NaN with fewer than 2 returns or a flat curve.

    Raises
    ------
    DataError
        Empty or non-numeric input.

    Notes
    -----
    Equals ``empyrical.stability_of_timeseries``.

    Examples
    --------
    >>> round(stability([0.01] * 10), 10)
    1.0
    """
    p = prepare(returns, "returns", "stability")
    x = p.values
    out = np.full(x.shape[1], np.nan)
    has_nan = np.isnan(x.sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        clean = np.flatnonzero(~has_nan)
        if clean.size:
            out[clean] = _r2(np.cumsum(np.log1p(x[:, clean]), axis=0))
        for j in np.flatnonzero(has_nan):
            col = x[:, j]
            col = col[~np.isnan(col)]
            if col.size:
                out[j] = _r2(np.cumsum(np.log1p(col)).reshape(-1, 1))[0]
    return p.wrap(out, "stability")


def _r2(y: np.ndarray) -> np.ndarray:
    n = y.shape[0]
    if n < 2:
        return np.full(y.shape[1], np.nan)
    t = np.arange(n, dtype=np.float64)
    t -= t.mean()
    yc = y - y.mean(axis=0)
    sxy = t @ yc
    syy = np.einsum("ij,ij->j", yc, yc)
    sxx = float(t @ t)
    ok = syy > 0
    out = np.full(y.shape[1], np.nan)
    out[ok] = sxy[ok] ** 2 / (sxx * syy[ok])
    return out

"""Kelly estimates: the binary bet, one asset (mu / sigma^2) and a growth-optimal portfolio.

Safety standard (REFERENCES.md, "Kelly"; Thorp 2006): fractional Kelly with ``fraction`` 0.5 by
default and never above 1; size 0 - never an exception - when an input is NaN, the variance
is zero, the edge is not positive or there are too few observations, with a
:class:`~quantlab.errors.SizingWarning` saying why.

:func:`kelly_fraction` computes exactly the estimate of the execution core's
:class:`quantlab.backtest.sizers.Kelly` sizer given the same window of returns (same mean and
ddof=1 variance, same zero-variance and negative-edge rules).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import njit
from quantlab._validate import as_float_array, check_choice, check_float, check_int, message
from quantlab.errors import DataError, InvalidParameterError, SizingWarning

__all__ = ["kelly_binary", "kelly_fraction", "kelly_portfolio"]

#: variance at or below this times mu^2 counts as zero (a per-bar Sharpe ratio above 1e6 is
#: float dust), the rule of the backtest's Kelly sizer (``_kelly_nb``)
_ZERO_VAR = 1e-12


def kelly_binary(p: float, odds: float) -> float:
    """Return the Kelly fraction of a binary bet: ``f* = p - (1 - p) / odds``.

    Parameters
    ----------
    p : float
        Probability of winning, in [0, 1].
    odds : float
        Net odds ``b`` (> 0): a winning bet of 1 returns ``b`` on top of the stake.

    Returns
    -------
    float
        The growth-optimal fraction of wealth to bet; negative when the bet has no edge
        (``p * b < 1 - p``: bet nothing, or take the other side).

    Raises
    ------
    InvalidParameterError
        ``p`` outside [0, 1] or ``odds <= 0``.

    Notes
    -----
    Kelly (1956); Thorp (2006), "The Kelly criterion in blackjack, sports betting and the
    stock market", section 2: ``f* = p - q / b`` maximizes ``p log(1 + b f) + q log(1 - f)``.

    Examples
    --------
    >>> kelly_binary(0.6, 1.0)
    0.19999999999999996
    >>> kelly_binary(0.5, 2.0)
    0.25
    """
    p = check_float("p", p, caller="kelly_binary", minimum=0.0, maximum=1.0)
    odds = check_float("odds", odds, caller="kelly_binary", minimum=0.0, exclusive_minimum=True)
    return p - (1.0 - p) / odds


def _check_fraction(fraction: Any, caller: str) -> float:
    return check_float("fraction", fraction, caller=caller, minimum=0.0, maximum=1.0,
                       exclusive_minimum=True)


def _warn_zero(caller: str, reasons: dict[str, int], remedy: str, stacklevel: int = 3) -> None:
    parts = ", ".join(f"{n} {why}" for why, n in reasons.items() if n)
    warnings.warn(f"{caller}() sized {sum(reasons.values())} estimate(s) at 0: {parts}. {remedy}",
                  SizingWarning, stacklevel=stacklevel)


@njit
def _moments_nb(x):  # pragma: no cover - numba
    """float64[:] (n >= 2, no NaN) -> (mean, variance ddof=1); equals the backtest Kelly
    sizer's arithmetic (``_kelly_nb``: deviations from the newest value, newest first), so
    equal values give exactly 0 variance and the two estimates agree bit for bit."""
    n = x.shape[0]
    ref = x[n - 1]
    s1 = 0.0
    s2 = 0.0
    for i in range(n):
        dev = x[n - 1 - i] - ref
        s1 += dev
        s2 += dev * dev
    return ref + s1 / n, (s2 - s1 * s1 / n) / (n - 1)


def _kelly_column(x: np.ndarray, fraction: float, shrinkage: float, min_obs: int) -> tuple[float, str]:
    """(value, reason) for one column of excess returns; reason '' when defined."""
    n = x.shape[0]
    if np.isnan(x).any():
        return 0.0, "undefined inputs (NaN)"
    if n < min_obs or n < 2:
        return 0.0, "too few observations"
    mu, var = _moments_nb(np.ascontiguousarray(x))
    if not math.isfinite(mu) or not math.isfinite(var):
        return 0.0, "undefined inputs (NaN)"
    mu *= 1.0 - shrinkage
    if not (var > _ZERO_VAR * mu * mu):
        return 0.0, "zero variance"
    if mu <= 0.0:
        return 0.0, "a negative edge"
    return fraction * mu / var, ""


def kelly_fraction(
    returns: Any,
    *,
    fraction: float = 0.5,
    shrinkage: float = 0.0,
    min_obs: int = 30,
    risk_free_rate: float = 0.0,
) -> Any:
    """Estimate the fractional Kelly exposure ``fraction * mu / sigma^2`` of excess returns.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns (decimals), oldest first. A DataFrame gives one estimate
        per column.
    fraction : float, default 0.5
        Share of the full Kelly bet, in (0, 1] (half Kelly by default; above 1 is refused).
    shrinkage : float, default 0.0
        In [0, 1): the mean is pulled toward 0 as ``mu_shrunk = (1 - shrinkage) * mu``.
    min_obs : int, default 30
        Fewer observations size 0 (>= 2).
    risk_free_rate : float, default 0.0
        Per-period risk-free return (same period as ``returns``) subtracted first.

    Returns
    -------
    float or Series
        ``fraction * (1 - shrinkage) * mean(x) / var(x, ddof=1)`` with ``x = returns -
        risk_free_rate``: the exposure (fraction of equity, >= 0). 0.0 when undefined.

    Raises
    ------
    InvalidParameterError
        ``fraction`` outside (0, 1], ``shrinkage`` outside [0, 1), ``min_obs < 2``.

    Warns
    -----
    SizingWarning
        When an estimate is set to 0: any NaN input, zero variance (``var <= 1e-12 mu^2``),
        a non-positive (shrunk) mean, or fewer than ``min_obs`` observations.

    Notes
    -----
    ``f* = mu / sigma^2`` maximizes ``E[log(1 + f r)]`` to second order (Thorp 2006, eq. 7.3).
    With ``shrinkage=0`` and ``risk_free_rate=0`` it equals the exposure the backtest's
    ``Kelly(fraction, window=len(returns), min_obs=min_obs)`` sizer gives a unit target after
    those returns (its ``source="trades"`` path), including its rules for zero.

    Examples
    --------
    >>> round(kelly_fraction([0.01, -0.005, 0.02, 0.0, 0.005], fraction=1.0, min_obs=5), 4)
    64.8649
    """
    caller = "kelly_fraction"
    fraction = _check_fraction(fraction, caller)
    shrinkage = check_float("shrinkage", shrinkage, caller=caller, minimum=0.0)
    if shrinkage >= 1.0:
        raise InvalidParameterError(message("shrinkage", caller, "a finite number in [0, 1)",
                                            shrinkage, "1 would shrink every edge to 0."))
    min_obs = check_int("min_obs", min_obs, caller=caller, minimum=2)
    rf = check_float("risk_free_rate", risk_free_rate, caller=caller)
    x = as_float_array(returns, "returns", caller=caller, ndim=(1, 2))
    cols = x.reshape(-1, 1) if x.ndim == 1 else x
    values = np.empty(cols.shape[1])
    reasons: dict[str, int] = {}
    for j in range(cols.shape[1]):
        values[j], why = _kelly_column(cols[:, j] - rf, fraction, shrinkage, min_obs)
        if why:
            reasons[why] = reasons.get(why, 0) + 1
    if reasons:
        _warn_zero(caller, reasons, "Drop NaN, pass more observations or lower min_obs; a "
                   "non-positive edge means: do not bet.")
    if isinstance(returns, pd.DataFrame):
        return pd.Series(values, index=returns.columns, name="kelly")
    if x.ndim == 2:
        return values
    return float(values[0])


def _bounds_arrays(bounds: Any, columns: Sequence[Any], caller: str) -> tuple[np.ndarray, np.ndarray]:
    k = len(columns)
    lo = np.full(k, -np.inf)
    hi = np.full(k, np.inf)
    if bounds is None:
        return lo, hi
    constraint = ("a (low, high) pair, a sequence of pairs (one per column) or a mapping "
                  "column -> pair")

    def pair(value: Any, name: str) -> tuple[float, float]:
        try:
            a, b = value
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(message(name, caller, constraint, value)) from exc
        a = -np.inf if a is None else float(a)
        b = np.inf if b is None else float(b)
        if math.isnan(a) or math.isnan(b) or a > b or a > 0.0 or b < 0.0:
            raise InvalidParameterError(message(
                name, caller, "a (low, high) pair with low <= 0 <= high", value,
                "Weights of 0 (no bet) must stay feasible."))
        return a, b

    if isinstance(bounds, Mapping):
        unknown = [c for c in bounds if c not in list(columns)]
        if unknown:
            raise InvalidParameterError(message("bounds", caller, "keyed by the columns",
                                                f"unknown column(s) {unknown}"))
        for j, c in enumerate(columns):
            if c in bounds:
                lo[j], hi[j] = pair(bounds[c], f"bounds[{c!r}]")
        return lo, hi
    items = list(bounds)
    if len(items) == 2 and all(v is None or isinstance(v, int | float) for v in items):
        a, b = pair(items, "bounds")
        return np.full(k, a), np.full(k, b)
    if len(items) != k:
        raise InvalidParameterError(message("bounds", caller, constraint + f" ({k} columns)",
                                            bounds))
    for j, v in enumerate(items):
        lo[j], hi[j] = pair(v, f"bounds[{j}]")
    return lo, hi


def kelly_portfolio(
    returns: pd.DataFrame,
    *,
    fraction: float = 0.5,
    max_leverage: float | None = None,
    bounds: Any = None,
    method: str = "growth",
    min_obs: int = 30,
    solver: str | None = None,
) -> pd.Series:
    """Estimate growth-optimal (Kelly) portfolio weights, scaled by ``fraction``.

    Parameters
    ----------
    returns : DataFrame
        Simple per-period returns (decimals), one column per asset, a row per period.
    fraction : float, default 0.5
        Share of the full Kelly weights, in (0, 1].
    max_leverage : float, optional
        Gross exposure cap of the full-Kelly weights: ``sum |w_i| <= max_leverage`` (> 0).
        ``method="growth"`` only.
    bounds : pair, sequence of pairs or mapping, optional
        Per-asset ``(low, high)`` bounds of the full-Kelly weights (``None`` = unbounded on
        that side; ``low <= 0 <= high``): ``(0, None)`` is long-only. ``method="growth"`` only.
    method : {"growth", "mean_variance"}, default "growth"
        ``"growth"``: maximize the sample mean of ``log(1 + w'r)`` with cvxpy under the
        constraints. ``"mean_variance"``: the closed form ``Sigma^{-1} mu`` (sample mean,
        ddof=1 covariance), unconstrained.
    min_obs : int, default 30
        Fewer rows (or no more rows than columns) size 0.
    solver : str, optional
        cvxpy solver name for ``"growth"`` (default: cvxpy's choice for exponential cones).

    Returns
    -------
    Series
        ``fraction * w*`` indexed by the columns. The constraints bind ``w*``: the returned
        weights satisfy them scaled by ``fraction`` (e.g. gross exposure <= ``fraction *
        max_leverage``).

    Raises
    ------
    InvalidParameterError
        ``fraction`` outside (0, 1], bad ``max_leverage``, ``bounds`` or ``method``,
        constraints with ``method="mean_variance"``.
    DataError
        ``returns`` is not a DataFrame of numbers.

    Warns
    -----
    SizingWarning
        All weights 0 when any input is NaN, a column has zero variance (singular
        covariance), there are too few observations, no portfolio has a positive edge, the
        problem is unbounded (no cap and an asset that never loses) or the solver fails.

    Notes
    -----
    Kelly (1956); Thorp (2006), section 7: the growth-optimal portfolio maximizes
    ``E[log(1 + w'r)]``, whose second-order approximation ``w'mu - w'Sigma w / 2`` is
    maximized by ``w = Sigma^{-1} mu``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> r = pd.DataFrame(rng.normal([0.001, 0.0005], [0.01, 0.02], (500, 2)), columns=["a", "b"])
    >>> w = kelly_portfolio(r, fraction=1.0, max_leverage=2.0, bounds=(0, None))
    >>> bool(w.sum() <= 2.0 + 1e-8) and bool((w >= -1e-8).all())
    True
    """
    caller = "kelly_portfolio"
    fraction = _check_fraction(fraction, caller)
    method = check_choice("method", method, ("growth", "mean_variance"), caller=caller)
    min_obs = check_int("min_obs", min_obs, caller=caller, minimum=2)
    if not isinstance(returns, pd.DataFrame):
        raise DataError(message("returns", caller, "a DataFrame of returns (one column per asset)",
                                type(returns).__name__))
    if max_leverage is not None:
        max_leverage = check_float("max_leverage", max_leverage, caller=caller, minimum=0.0,
                                   exclusive_minimum=True)
    columns = list(returns.columns)
    lo, hi = _bounds_arrays(bounds, columns, caller)
    if method == "mean_variance" and (max_leverage is not None or bounds is not None):
        raise InvalidParameterError(message(
            "method", caller, "'growth' when max_leverage or bounds are given", method,
            "The mean-variance closed form is unconstrained."))
    x = as_float_array(returns, "returns", caller=caller, ndim=(2,))
    zeros = pd.Series(0.0, index=returns.columns, name="kelly")
    remedy = "Drop NaN, pass more observations, or cap the problem with max_leverage/bounds."
    n, k = x.shape
    if np.isnan(x).any():
        _warn_zero(caller, {"undefined inputs (NaN)": 1}, remedy)
        return zeros
    if n < max(min_obs, k + 1):
        _warn_zero(caller, {f"too few observations ({n} rows, {k} assets)": 1}, remedy)
        return zeros
    mu = x.mean(axis=0)
    cov = np.cov(x, rowvar=False, ddof=1).reshape(k, k)
    var = np.diag(cov)
    if (~(var > _ZERO_VAR * mu * mu) | (var <= 0.0)).any():  # the single-asset rule, per column
        _warn_zero(caller, {"zero variance": 1}, remedy)
        return zeros
    if method == "mean_variance":
        try:
            w = np.linalg.solve(cov, mu)
        except np.linalg.LinAlgError:
            _warn_zero(caller, {"a singular covariance": 1}, remedy)
            return zeros
        if not np.isfinite(w).all():
            _warn_zero(caller, {"a singular covariance": 1}, remedy)
            return zeros
        if not (float(mu @ w) > 1e-24):  # squared per-bar Sharpe ratio: below is float dust
            _warn_zero(caller, {"no positive edge": 1}, remedy)
            return zeros
        return pd.Series(fraction * w, index=returns.columns, name="kelly")
    best = _growth_weights(x, lo, hi, max_leverage, solver)
    if best is None:
        _warn_zero(caller, {"an unbounded or failed optimization": 1}, remedy)
        return zeros
    if not (np.mean(np.log1p(x @ best)) > 1e-12) or np.abs(best).sum() < 1e-9:
        _warn_zero(caller, {"no positive edge": 1}, remedy)
        return zeros
    return pd.Series(fraction * best, index=returns.columns, name="kelly")


def _has_arbitrage(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """True when some allowed direction d never loses on the sample (x d >= 0, > 0 somewhere):
    the growth objective then grows without bound along d (an LP: max sum(x d) s.t. x d >= 0,
    |d|_1 <= 1, d in the recession cone of the bounds)."""
    from scipy.optimize import linprog

    n, k = x.shape
    # d = u - v, u, v >= 0; u_i = 0 when hi_i is finite (d_i cannot grow), v_i = 0 when lo_i is
    u_bounds = [(0.0, 0.0) if np.isfinite(h) else (0.0, None) for h in hi]
    v_bounds = [(0.0, 0.0) if np.isfinite(lo_i) else (0.0, None) for lo_i in lo]
    c = -np.r_[x.sum(axis=0), -x.sum(axis=0)]
    a_ub = np.vstack([np.hstack([-x, x]), np.ones((1, 2 * k))])
    b_ub = np.r_[np.zeros(n), 1.0]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=u_bounds + v_bounds, method="highs")
    scale = float(np.abs(x).sum(axis=0).max())
    return bool(res.status == 0 and -res.fun > 1e-9 * scale)


def _growth_weights(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_leverage: float | None,
                    solver: str | None) -> np.ndarray | None:
    """argmax_w mean(log(1 + x w)) under the constraints, or None (unbounded / failed)."""
    import cvxpy as cp

    n, k = x.shape
    w = cp.Variable(k)
    constraints = []
    if max_leverage is not None:
        constraints.append(cp.norm1(w) <= max_leverage)
    finite_lo = np.isfinite(lo)
    finite_hi = np.isfinite(hi)
    if finite_lo.any():
        constraints.append(w[np.flatnonzero(finite_lo)] >= lo[finite_lo])
    if finite_hi.any():
        constraints.append(w[np.flatnonzero(finite_hi)] <= hi[finite_hi])
    if max_leverage is None and _has_arbitrage(x, lo, hi):
        return None
    problem = cp.Problem(cp.Maximize(cp.sum(cp.log(1 + x @ w)) / n), constraints)
    try:
        problem.solve(solver=solver)
    except cp.error.SolverError:
        return None
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None:
        return None
    value = np.asarray(w.value, dtype=np.float64)
    if not np.isfinite(value).all() or not (np.min(1.0 + x @ value) > 0.0):
        return None
    # solver dust back inside the constraints (they hold to the solver's tolerance only):
    # clipping into the box (which holds 0) and shrinking toward 0 both keep the other one
    value = np.clip(value, lo, hi)
    if max_leverage is not None and np.abs(value).sum() > max_leverage:
        value *= max_leverage / np.abs(value).sum()
    return value

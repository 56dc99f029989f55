"""Historical tail statistics: value at risk, expected shortfall, tail ratio.

Sign convention: VaR and ES are **positive loss numbers** (0.02 means a 2 % loss), the
convention of risk managers and of :mod:`quantlab.risk`; empyrical returns the (negative)
return quantile instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from quantlab._validate import message
from quantlab.errors import InvalidParameterError
from quantlab.metrics._common import Prepared, check_confidence, prepare, tail_probability

__all__ = ["var_historical", "es_historical", "tail_ratio"]


def _by_column(p: Prepared, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``func`` (a (n, k) NaN-free array -> (k,)) to NaN-free columns at once, then to
    each column holding NaN with its NaN dropped. All-NaN columns give NaN."""
    x = p.values
    out = np.full(x.shape[1], np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        has_nan = np.isnan(x.sum(axis=0))
    clean = np.flatnonzero(~has_nan)
    if clean.size == x.shape[1]:
        return np.asarray(func(x), dtype=np.float64)
    if clean.size:
        out[clean] = func(x[:, clean])
    for j in np.flatnonzero(has_nan):
        col = x[:, j]
        col = col[~np.isnan(col)]
        if col.size:
            out[j] = func(col.reshape(-1, 1))[0]
    return out


def var_historical(returns: Any, *, confidence: float = 0.95) -> Any:
    """Compute the historical value at risk, as a positive loss.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN dropped.
    confidence : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    float, ndarray or Series
        ``−Q(r, 1 − confidence)`` with Q numpy's default (linear-interpolation) quantile.
        Negative when even the tail quantile is a gain.

    Raises
    ------
    DataError
        Empty or non-numeric input.
    InvalidParameterError
        ``confidence`` outside (0, 1).

    Notes
    -----
    Equals ``-empyrical.value_at_risk(r, cutoff=1 - confidence)``.

    Examples
    --------
    >>> var_historical([-0.05, -0.02, 0.0, 0.01, 0.03], confidence=0.75)
    0.02
    """
    alpha = tail_probability(check_confidence(confidence, "var_historical"))
    p = prepare(returns, "returns", "var_historical")
    return p.wrap(_by_column(p, lambda a: 0.0 - np.percentile(a, 100.0 * alpha, axis=0)),
                  "var_historical")


def es_historical(returns: Any, *, confidence: float = 0.95) -> Any:
    """Compute the historical expected shortfall (CVaR), as a positive loss.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN dropped.
    confidence : float, default 0.95
        Confidence level in (0, 1).

    Returns
    -------
    float, ndarray or Series
        Minus the mean of the k smallest returns, ``k = floor((n − 1)(1 − confidence)) + 1``:
        the returns at or below the linear-interpolation VaR quantile. Always ≥ VaR.

    Raises
    ------
    DataError
        Empty or non-numeric input.
    InvalidParameterError
        ``confidence`` outside (0, 1).

    Notes
    -----
    Acerbi & Tasche (2002), "On the coherence of expected shortfall", J. Banking & Finance
    26(7). Equals ``-empyrical.conditional_value_at_risk(r, cutoff=1 - confidence)``.

    Examples
    --------
    >>> round(es_historical([-0.05, -0.02, 0.0, 0.01, 0.03], confidence=0.75), 10)
    0.035
    """
    alpha = tail_probability(check_confidence(confidence, "es_historical"))
    p = prepare(returns, "returns", "es_historical")

    def tail_mean(a: np.ndarray) -> np.ndarray:
        k = int((a.shape[0] - 1) * alpha) + 1
        return 0.0 - np.partition(a, k - 1, axis=0)[:k].mean(axis=0)  # 0.0 - x: no -0.0

    return p.wrap(_by_column(p, tail_mean), "es_historical")


def tail_ratio(returns: Any, *, quantile: float = 0.95) -> Any:
    """Compute the tail ratio, ``|Q(r, q)| / |Q(r, 1 − q)|``.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns; NaN dropped.
    quantile : float, default 0.95
        Upper quantile q in (0.5, 1).

    Returns
    -------
    float, ndarray or Series
        Right tail over left tail (0.25: losses four times the gains); NaN when the lower
        quantile is 0.

    Raises
    ------
    DataError
        Empty or non-numeric input.
    InvalidParameterError
        ``quantile`` outside (0.5, 1).

    Notes
    -----
    Equals ``empyrical.tail_ratio`` (q = 0.95, linear-interpolation quantiles).

    Examples
    --------
    >>> tail_ratio([-0.02, -0.01, 0.0, 0.01, 0.04], quantile=0.75)
    1.0
    """
    q = check_confidence(quantile, "tail_ratio", name="quantile")
    if q <= 0.5:
        raise InvalidParameterError(message("quantile", "tail_ratio", "in (0.5, 1)", quantile))
    p = prepare(returns, "returns", "tail_ratio")
    low = round(1.0 - q, 12)

    def ratio(a: np.ndarray) -> np.ndarray:
        hi = np.abs(np.percentile(a, 100.0 * q, axis=0))
        lo = np.abs(np.percentile(a, 100.0 * low, axis=0))
        out = np.full(hi.shape, np.nan)
        np.divide(hi, lo, out=out, where=lo != 0)
        return out

    return p.wrap(_by_column(p, ratio), "tail_ratio")

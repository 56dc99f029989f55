"""Mean and covariance estimators of asset returns, annualized explicitly.

Every estimator takes a ``(T, N)`` frame (or array) of simple per-period returns, time on
axis 0, and ``periods_per_year`` (a required keyword: there is no silent 252). Means are
multiplied by ``periods_per_year`` and covariances too (the i.i.d. square-root-of-time
rule); pass ``periods_per_year=1`` to stay per period. A DataFrame in gives a Series /
DataFrame out, labelled by its columns; an ndarray in gives an ndarray out.

Covariances: :func:`sample_covariance` (pandas' ``DataFrame.cov``), :func:`ewm_covariance`
(pandas' ``DataFrame.ewm(span).cov()`` at the last bar) and :func:`ledoit_wolf_covariance`
(scikit-learn's ``LedoitWolf``). Means: :func:`historical_mean`, :func:`ewm_mean` and
:func:`james_stein_mean`. :class:`Estimator` bundles one of each for :func:`~quantlab.portfolio.optimize`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import as_float_array, check_choice, check_float, check_int, message
from quantlab.errors import DataError
from quantlab.metrics._common import check_ppy

__all__ = [
    "Estimator",
    "MEANS",
    "COVARIANCES",
    "sample_covariance",
    "ewm_covariance",
    "ledoit_wolf_covariance",
    "historical_mean",
    "ewm_mean",
    "james_stein_mean",
]

MEANS: tuple[str, ...] = ("historical", "ewm", "james_stein")
COVARIANCES: tuple[str, ...] = ("sample", "ewm", "ledoit_wolf")


def _prepare(returns: Any, caller: str, *, min_rows: int = 2) -> np.ndarray:
    x = as_float_array(returns, "returns", caller=caller, ndim=(2,))
    if x.shape[0] < min_rows:
        raise DataError(message("returns", caller, f"at least {min_rows} rows (bars)",
                                f"{x.shape[0]} rows"))
    if x.shape[1] < 1:
        raise DataError(message("returns", caller, "at least one column (asset)", "0 columns"))
    if not np.isfinite(x).all():
        row, col = np.argwhere(~np.isfinite(x))[0]
        raise DataError(message("returns", caller, "finite (no NaN)",
                                f"{x[row, col]} at row {row}, column {col}",
                                "Drop incomplete rows first, e.g. returns.dropna()."))
    return x


def _wrap_cov(template: Any, cov: np.ndarray) -> Any:
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(cov, index=template.columns, columns=template.columns)
    return cov


def _wrap_mean(template: Any, mean: np.ndarray) -> Any:
    if isinstance(template, pd.DataFrame):
        return pd.Series(mean, index=template.columns, name="expected_return")
    return mean


def _ewm_weights(n: int, span: float) -> np.ndarray:
    alpha = 2.0 / (span + 1.0)
    return (1.0 - alpha) ** np.arange(n - 1, -1, -1, dtype=np.float64)


# ---------------------------------------------------------------------------- covariances

def sample_covariance_arr(x: np.ndarray, ppy: float) -> np.ndarray:
    """(T, N) finite float64 -> (N, N) sample covariance (ddof 1) times ``ppy``."""
    d = x - x.mean(axis=0)
    return (d.T @ d) / (x.shape[0] - 1) * ppy


def ewm_covariance_arr(x: np.ndarray, span: float, ppy: float) -> np.ndarray:
    """(T, N) -> (N, N) bias-corrected EW covariance at the last row times ``ppy``; equals
    ``pd.DataFrame(x).ewm(span=span).cov()`` at the last row (adjust=True, bias=False)."""
    w = _ewm_weights(x.shape[0], span)
    sw = w.sum()
    m = (w @ x) / sw
    d = x - m
    cov = (d.T * w) @ d / sw
    correction = sw * sw / (sw * sw - (w * w).sum())
    return cov * correction * ppy


def ledoit_wolf_covariance_arr(x: np.ndarray, ppy: float) -> np.ndarray:
    """(T, N) -> (N, N) Ledoit-Wolf shrunk covariance times ``ppy``; equals scikit-learn's
    ``LedoitWolf().fit(x).covariance_``."""
    return _ledoit_wolf(x)[0] * ppy


def _ledoit_wolf(x: np.ndarray) -> tuple[np.ndarray, float]:
    n, p = x.shape
    d = x - x.mean(axis=0)
    s = d.T @ d / n  # maximum-likelihood covariance (ddof 0)
    mu = np.trace(s) / p
    if p == 1:
        return s, 0.0
    d2 = d * d
    # beta = 1/(p n^2) sum_k ||x_k x_k' - S||_F^2 ; delta = ||S - mu I||_F^2 / p
    beta = ((d2.T @ d2).sum() / n - (s * s).sum()) / (p * n)
    delta = ((s - mu * np.eye(p)) ** 2).sum() / p
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0.0 else beta / delta
    cov = (1.0 - shrinkage) * s
    cov[np.diag_indices(p)] += shrinkage * mu
    return cov, float(shrinkage)


def sample_covariance(returns: Any, *, periods_per_year: float) -> Any:
    """Estimate the annualized sample covariance (ddof 1).

    Parameters
    ----------
    returns : DataFrame or 2-D ndarray
        Simple per-period returns, one column per asset, no NaN.
    periods_per_year : float
        Bars per year; the per-period covariance is multiplied by it.

    Returns
    -------
    DataFrame or ndarray
        ``returns.cov() * periods_per_year``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.01, 0.02], [-0.01, 0.0], [0.02, 0.01]])
    >>> np.round(sample_covariance(x, periods_per_year=1), 6).tolist()
    [[0.000233, 0.0001], [0.0001, 0.0001]]
    """
    caller = "sample_covariance"
    return _wrap_cov(returns, sample_covariance_arr(_prepare(returns, caller),
                                                    check_ppy(periods_per_year, caller)))


def ewm_covariance(returns: Any, *, span: float, periods_per_year: float) -> Any:
    """Estimate the annualized exponentially weighted covariance at the last bar.

    Parameters
    ----------
    returns : DataFrame or 2-D ndarray
        Simple per-period returns, one column per asset, no NaN.
    span : float >= 1
        Decay in pandas' convention: ``alpha = 2 / (span + 1)``; the weight of the bar k
        bars back is ``(1 - alpha)**k``.
    periods_per_year : float

    Returns
    -------
    DataFrame or ndarray
        ``returns.ewm(span=span).cov().iloc[-N:] * periods_per_year`` (pandas' defaults
        ``adjust=True``, ``bias=False``: the weighted covariance about the weighted mean,
        times ``(sum w)^2 / ((sum w)^2 - sum w^2)``).
    """
    caller = "ewm_covariance"
    span = check_float("span", span, caller=caller, minimum=1.0)
    return _wrap_cov(returns, ewm_covariance_arr(_prepare(returns, caller), span,
                                                 check_ppy(periods_per_year, caller)))


def ledoit_wolf_covariance(returns: Any, *, periods_per_year: float) -> Any:
    """Estimate the annualized Ledoit-Wolf shrunk covariance.

    Parameters
    ----------
    returns : DataFrame or 2-D ndarray
        Simple per-period returns, one column per asset, no NaN.
    periods_per_year : float

    Returns
    -------
    DataFrame or ndarray
        ``(1 - s) S + s (tr S / N) I`` times ``periods_per_year``, with ``S`` the
        maximum-likelihood covariance (ddof 0) and ``s`` the optimal shrinkage intensity.

    Notes
    -----
    Ledoit, O. and Wolf, M. (2004), "A well-conditioned estimator for large-dimensional
    covariance matrices", J. Multivariate Analysis 88(2). ``s = min(b, d) / d`` with
    ``d = ||S - m I||^2 / N`` and ``b = sum_k ||x_k x_k' - S||^2 / (N T^2)``; this is
    scikit-learn's ``LedoitWolf`` (the test oracle).
    """
    caller = "ledoit_wolf_covariance"
    return _wrap_cov(returns, ledoit_wolf_covariance_arr(_prepare(returns, caller),
                                                         check_ppy(periods_per_year, caller)))


# ---------------------------------------------------------------------------- means

def historical_mean_arr(x: np.ndarray, ppy: float) -> np.ndarray:
    """(T, N) -> (N,) arithmetic mean times ``ppy``."""
    return x.mean(axis=0) * ppy


def ewm_mean_arr(x: np.ndarray, span: float, ppy: float) -> np.ndarray:
    """(T, N) -> (N,) EW mean at the last row times ``ppy``; equals
    ``pd.DataFrame(x).ewm(span=span).mean().iloc[-1]``."""
    w = _ewm_weights(x.shape[0], span)
    return (w @ x) / w.sum() * ppy


def james_stein_mean_arr(x: np.ndarray, ppy: float) -> np.ndarray:
    """(T, N) -> (N,) James-Stein mean shrunk to the grand mean, times ``ppy``."""
    t, n = x.shape
    m = x.mean(axis=0)
    grand = m.mean()
    spread = float(((m - grand) ** 2).sum())
    avg_var = float(np.trace(np.atleast_2d(np.cov(x, rowvar=False)))) / n
    if n <= 3 or spread == 0.0:
        shrink = 0.0 if n <= 3 else 1.0
    else:
        shrink = min(1.0, max(0.0, (n - 3) * avg_var / (t * spread)))
    return (grand + (1.0 - shrink) * (m - grand)) * ppy


def historical_mean(returns: Any, *, periods_per_year: float) -> Any:
    """Estimate annualized expected returns by the arithmetic mean.

    Parameters
    ----------
    returns : DataFrame or 2-D ndarray
    periods_per_year : float

    Returns
    -------
    Series or ndarray
        ``returns.mean() * periods_per_year``.
    """
    caller = "historical_mean"
    return _wrap_mean(returns, historical_mean_arr(_prepare(returns, caller, min_rows=1),
                                                   check_ppy(periods_per_year, caller)))


def ewm_mean(returns: Any, *, span: float, periods_per_year: float) -> Any:
    """Estimate annualized expected returns by an exponentially weighted mean.

    Parameters
    ----------
    returns : DataFrame or 2-D ndarray
    span : float >= 1
        ``alpha = 2 / (span + 1)`` (pandas' convention).
    periods_per_year : float

    Returns
    -------
    Series or ndarray
        ``returns.ewm(span=span).mean().iloc[-1] * periods_per_year``.
    """
    caller = "ewm_mean"
    span = check_float("span", span, caller=caller, minimum=1.0)
    return _wrap_mean(returns, ewm_mean_arr(_prepare(returns, caller, min_rows=1), span,
                                            check_ppy(periods_per_year, caller)))


def james_stein_mean(returns: Any, *, periods_per_year: float) -> Any:
    """Estimate annualized expected returns shrunk toward the grand mean (James-Stein).

    Parameters
    ----------
    returns : DataFrame or 2-D ndarray
    periods_per_year : float

    Returns
    -------
    Series or ndarray
        ``(g + (1 - c) (m - g)) * periods_per_year`` with ``m`` the sample means, ``g``
        their average and ``c = clip((N - 3) s2 / (T ||m - g||^2), 0, 1)``, ``s2`` the
        average sample variance (``tr(S) / N``, ddof 1). With ``N <= 3`` assets nothing
        is shrunk (the estimator dominates only from 4 assets on).

    Notes
    -----
    James, W. and Stein, C. (1961); the positive-part estimator toward an estimated common
    mean (hence ``N - 3``), as in Jorion, P. (1986), "Bayes-Stein estimation for portfolio
    analysis", JFQA 21(3), with the covariance replaced by its average variance.
    """
    caller = "james_stein_mean"
    return _wrap_mean(returns, james_stein_mean_arr(_prepare(returns, caller),
                                                    check_ppy(periods_per_year, caller)))


# ---------------------------------------------------------------------------- the bundle

@dataclass(frozen=True)
class Estimator:
    """Which mean and covariance estimators :func:`~quantlab.portfolio.optimize` uses.

    Parameters
    ----------
    mean : {"historical", "ewm", "james_stein"}, default "historical"
    covariance : {"sample", "ewm", "ledoit_wolf"}, default "sample"
    span : float, default 60 - decay of the "ewm" estimators (pandas' ``span``).

    Examples
    --------
    >>> Estimator(covariance="ledoit_wolf")
    Estimator(mean='historical', covariance='ledoit_wolf', span=60.0)
    """

    mean: str = "historical"
    covariance: str = "sample"
    span: float = 60.0

    def __post_init__(self) -> None:
        caller = "Estimator"
        check_choice("mean", self.mean, MEANS, caller=caller)
        check_choice("covariance", self.covariance, COVARIANCES, caller=caller)
        object.__setattr__(self, "span", check_float("span", self.span, caller=caller,
                                                     minimum=1.0))

    def estimate_arr(self, x: np.ndarray, periods_per_year: float) -> tuple[np.ndarray, np.ndarray]:
        """(T, N) finite returns -> (annualized mean (N,), annualized covariance (N, N))."""
        if self.mean == "historical":
            mu = historical_mean_arr(x, periods_per_year)
        elif self.mean == "ewm":
            mu = ewm_mean_arr(x, self.span, periods_per_year)
        else:
            mu = james_stein_mean_arr(x, periods_per_year)
        if self.covariance == "sample":
            cov = sample_covariance_arr(x, periods_per_year)
        elif self.covariance == "ewm":
            cov = ewm_covariance_arr(x, self.span, periods_per_year)
        else:
            cov = ledoit_wolf_covariance_arr(x, periods_per_year)
        return mu, cov

    def estimate(self, returns: Any, *, periods_per_year: float) -> tuple[Any, Any]:
        """Return ``(expected_returns, covariance)``, both annualized.

        Parameters
        ----------
        returns : DataFrame or 2-D ndarray
        periods_per_year : float

        Returns
        -------
        (Series, DataFrame) or (ndarray, ndarray)
        """
        caller = "Estimator.estimate"
        x = _prepare(returns, caller)
        mu, cov = self.estimate_arr(x, check_ppy(periods_per_year, caller))
        return _wrap_mean(returns, mu), _wrap_cov(returns, cov)


def check_lookback(value: Any, caller: str) -> int:
    """Validate a lookback (bars of returns an estimate uses)."""
    return check_int("lookback", value, caller=caller, minimum=2)

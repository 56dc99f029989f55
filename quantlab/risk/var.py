"""Value at risk and expected shortfall forecasts: rolling (causal) or over a whole sample.

Sign convention: VaR and ES are **positive loss numbers** (0.02 means a 2 % loss), the
convention of :func:`quantlab.metrics.var_historical`; ``returns`` are simple per-period
returns in decimals. A rolling forecast at bar t uses bars ``t - window .. t - 1`` only, so it
can be compared with the return of bar t (see :func:`quantlab.risk.backtests.backtest_var`).

NaN policy (rolling): a NaN return occupies its bar in the window (``window`` counts bars) but is
skipped in the estimate; a forecast needs ``min_periods`` non-NaN returns in its window
(default ``window``, pandas' ``rolling`` rule), else it is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from quantlab._validate import check_choice, check_float, check_int, message
from quantlab.errors import DataError, InvalidParameterError
from quantlab.metrics._common import Prepared, check_confidence, prepare, tail_probability
from quantlab.risk._kernels import ewma_variance_nb, rolling_moments_nb, rolling_quantile_tail_nb

__all__ = ["var", "es", "METHODS"]

#: The forecasting methods of :func:`var` and :func:`es`.
METHODS: tuple[str, ...] = ("historical", "parametric", "student_t", "cornish_fisher", "ewma",
                            "garch", "filtered_historical")

#: Fewest non-NaN observations each method can estimate from.
_NEEDS = {"historical": 1, "parametric": 2, "student_t": 4, "cornish_fisher": 4, "ewma": 1,
          "garch": 2, "filtered_historical": 1}

#: Clip range of the method-of-moments degrees of freedom of ``method="student_t"``.
NU_BOUNDS: tuple[float, float] = (4.1, 1000.0)


def var(
    returns: Any,
    *,
    confidence: float = 0.99,
    method: str = "historical",
    window: int | None = 250,
    min_periods: int | None = None,
    lam: float = 0.94,
    nu: float | None = None,
    refit_every: int | None = 21,
    garch_window: int | None = None,
) -> Any:
    """Forecast the value at risk, as a positive loss.

    Parameters
    ----------
    returns : array-like, Series or DataFrame
        Simple per-period returns (decimals), time on axis 0, one column per series.
    confidence : float, default 0.99
        Confidence level in (0, 1); the tail probability is ``alpha = 1 - confidence``.
    method : str, default "historical"
        One of :data:`METHODS` (formulas in Notes).
    window : int or None, default 250
        Rolling: the number of past bars each forecast uses (>= 2; >= 50 for "garch" and
        "filtered_historical", where it is also the length of the first GARCH fit). None: one
        forecast from the whole sample (not available for "garch" and "filtered_historical").
    min_periods : int, optional
        Fewest non-NaN returns a rolling window needs (default ``window``; at least 1 for
        historical, 2 parametric, 4 student_t and cornish_fisher). Ignored by "ewma" and "garch".
    lam : float, default 0.94
        RiskMetrics decay of ``method="ewma"``, in (0, 1).
    nu : float, optional
        Degrees of freedom (> 2) for ``method="student_t"``; None estimates them from each
        window (Notes).
    refit_every : int or None, default 21
        "garch" and "filtered_historical": refit the GARCH(1,1) every this many bars (None:
        fit once), passed to :func:`quantlab.regime.garch.garch_volatility`.
    garch_window : int, optional
        "garch" and "filtered_historical": the GARCH estimation window in bars (>= 50; None:
        expanding). The first fit uses the first ``window`` bars. Leading NaN returns are
        skipped; a NaN after the first value raises DataError (from ``garch_volatility``).

    Returns
    -------
    Series, DataFrame, ndarray, float
        Rolling: the input's type and shape, value at t the forecast for t from bars before t
        (NaN in the warm-up). ``window=None``: a float for one series, a Series (DataFrame
        input) or 1-D ndarray (2-D ndarray input) of one value per column.

    Raises
    ------
    InvalidParameterError
        ``confidence`` outside (0, 1), unknown ``method`` (with a did-you-mean), ``window``
        not an integer >= 2 or None, bad ``min_periods``/``lam``/``nu``/``refit_every``.
    DataError
        Non-numeric input, fewer rows than ``window + 1`` (no forecast possible), too few
        non-NaN values for ``window=None``.

    Notes
    -----
    With ``alpha = 1 - confidence``, ``z = Phi^-1(alpha)`` and the window's mean ``mu``,
    standard deviation ``sigma`` (ddof=1), skewness ``S`` and excess kurtosis ``K`` (the
    bias-corrected G1, G2 of pandas' ``.skew()``/``.kurt()``):

    * historical: ``VaR = -Qtail_probability(r)``, the empirical quantile with linear interpolation
      (numpy's and pandas' default). Rolling: a numba kernel of two indexed heaps split at the
      quantile, O(log window) per bar.
    * parametric (normal): ``VaR = -(mu + sigma z)``.
    * student_t: ``VaR = -(mu + s t_nu^-1(alpha))`` with ``s = sigma sqrt((nu - 2)/nu)`` so the
      variance matches; ``nu`` by the method of moments from the excess kurtosis of a t,
      ``K = 6/(nu - 4)`` -> ``nu = 4 + 6/K``, clipped to :data:`NU_BOUNDS` (``K <= 0`` -> the
      upper bound, practically normal).
    * cornish_fisher (Cornish & Fisher 1938; Zangari 1996, RiskMetrics Monitor Q2, the
      "modified VaR" of Favre & Galeano 2002): ``VaR = -(mu + sigma z_cf)``,
      ``z_cf = z + (z^2 - 1) S/6 + (z^3 - 3z) K/24 - (2z^3 - 5z) S^2/36``.
    * ewma (RiskMetrics 1996): ``sigma_t^2 = lam sigma_{t-1}^2 + (1 - lam) r_{t-1}^2``, zero
      mean, ``VaR = -sigma_t z``; seeded at bar ``window`` with the mean of the squared returns
      of bars 0..window-1 (a NaN return leaves sigma unchanged). ``window=None``: the
      normalized EWMA of squared returns over the whole sample,
      ``sum lam^(n-1-i) r_i^2 / sum lam^(n-1-i)`` (pandas ``ewm(alpha=1-lam).mean()``).
    * garch: ``VaR = -sigma_t z`` with ``sigma_t`` the one-step GARCH(1,1) forecast of
      :func:`quantlab.regime.garch.garch_volatility` (normal innovations, zero mean).
    * filtered_historical (Barone-Adesi, Giannopoulos & Vosper 1999; Hull & White 1998):
      standardized residuals ``z_s = r_s / sigma_s`` with the GARCH forecasts,
      ``VaR_t = -sigma_t Qtail_probability(z_{t-window} .. z_{t-1})`` (the historical kernel on z; the
      first forecast comes ``window`` bars after the first GARCH forecast).

    The GARCH methods fit GARCH(1,1), zero mean, normal likelihood on returns x 100 with
    ``garch_volatility(returns, p=1, o=0, q=1, dist="normal", mean="zero",
    refit_every=refit_every, window=garch_window, min_train=window)``; it may warn
    ``ConvergenceWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.random.default_rng(0).normal(0.0, 0.01, 500)
    >>> v = var(r, confidence=0.99, window=250)
    >>> bool(np.isnan(v[:250]).all()), bool((v[250:] > 0).all())
    (True, True)
    >>> round(var([-0.05, -0.02, 0.0, 0.01, 0.03], confidence=0.75, window=None), 10)
    0.02
    """
    return _forecast("var", "var", returns, confidence, method, window, min_periods, lam, nu,
                     refit_every, garch_window)


def es(
    returns: Any,
    *,
    confidence: float = 0.99,
    method: str = "historical",
    window: int | None = 250,
    min_periods: int | None = None,
    lam: float = 0.94,
    nu: float | None = None,
    refit_every: int | None = 21,
    garch_window: int | None = None,
) -> Any:
    """Forecast the expected shortfall (CVaR), as a positive loss.

    Parameters
    ----------
    returns, confidence, method, window, min_periods, lam, nu, refit_every, garch_window
        As in :func:`var`.

    Returns
    -------
    Series, DataFrame, ndarray, float
        As :func:`var`: the expected loss beyond the VaR. ES >= VaR for every method.

    Raises
    ------
    InvalidParameterError, DataError
        As :func:`var`.

    Notes
    -----
    With the notation of :func:`var` and ``phi`` the normal density:

    * historical: minus the mean of the ``floor((m - 1) alpha) + 1`` smallest of the window's
      m returns (those at or below the VaR quantile; :func:`quantlab.metrics.es_historical`'s
      rule, Acerbi & Tasche 2002).
    * parametric, ewma, garch: ``ES = -(mu - sigma phi(z)/alpha)`` (``mu = 0`` for ewma, garch).
    * student_t: ``ES = -(mu - s (nu + q^2)/(nu - 1) f_nu(q)/alpha)``, ``q = t_nu^-1(alpha)``,
      ``f_nu`` the t density (McNeil, Frey & Embrechts 2015, eq. 2.25).
    * cornish_fisher: the exact tail mean of the Cornish-Fisher quantile function,
      ``ES = -(mu + sigma/alpha int_0^alpha z_cf(u) du)``, integrated in closed form with the
      normal partial moments ``M_k = E[Z^k; Z <= z]``: ``M_0 = alpha``, ``M_1 = -phi(z)``,
      ``M_k = -z^(k-1) phi(z) + (k - 1) M_(k-2)``, so ``int z_cf = M_1 + S/6 (M_2 - M_0)
      + K/24 (M_3 - 3 M_1) - S^2/36 (2 M_3 - 5 M_1)``. (This is not Boudt, Peterson & Croux's
      2008 Edgeworth "modified ES"; it is the ES of the distribution whose quantile function is
      the CF expansion, which is what the CF VaR describes.)
    * filtered_historical: ``ES_t = -sigma_t`` times the mean of the standardized residuals
      at or below their quantile.

    Examples
    --------
    >>> round(es([-0.05, -0.02, 0.0, 0.01, 0.03], confidence=0.75, window=None), 10)
    0.035
    """
    return _forecast("es", "es", returns, confidence, method, window, min_periods, lam, nu,
                     refit_every, garch_window)


# ----------------------------------------------------------------------------- plumbing
def _forecast(kind: str, caller: str, returns: Any, confidence: Any, method: Any, window: Any,
              min_periods: Any, lam: Any, nu: Any, refit_every: Any, garch_window: Any) -> Any:
    confidence = check_confidence(confidence, caller)
    alpha = tail_probability(confidence)
    method = check_choice("method", method, METHODS, caller=caller)
    lam = check_float("lam", lam, caller=caller, minimum=0.0, maximum=1.0, exclusive_minimum=True)
    if lam >= 1.0:
        raise InvalidParameterError(message("lam", caller, "in (0, 1), e.g. 0.94", lam))
    if nu is not None:
        nu = check_float("nu", nu, caller=caller, minimum=2.0, exclusive_minimum=True)
    if refit_every is not None:
        refit_every = check_int("refit_every", refit_every, caller=caller, minimum=1)
    if garch_window is not None:
        garch_window = check_int("garch_window", garch_window, caller=caller, minimum=2)
    if window is not None:
        window = check_int("window", window, caller=caller, minimum=2)
    elif method in ("garch", "filtered_historical"):
        raise InvalidParameterError(message(
            "window", caller, f"an integer >= 2 for method={method!r}", None,
            "A GARCH forecast is rolling by nature; take the last value of the rolling forecast."))
    if method in ("garch", "filtered_historical"):
        if window is not None and window < 50:
            raise InvalidParameterError(message(
                "window", caller, f"an integer >= 50 for method={method!r} (the first GARCH fit "
                "uses the first `window` bars)", window))
        if garch_window is not None and garch_window < 50:
            raise InvalidParameterError(message("garch_window", caller, "an integer >= 50 or None",
                                                garch_window))
    need = _NEEDS[method]
    p = prepare(returns, "returns", caller)
    x = p.values
    if window is None:
        if min_periods is not None:
            min_periods = check_int("min_periods", min_periods, caller=caller, minimum=need)
        counts = (~np.isnan(x)).sum(axis=0)
        low = int(counts.min())
        if low < max(need, min_periods or 0):
            raise DataError(message("returns", caller,
                                    f"at least {max(need, min_periods or 0)} non-NaN values per "
                                    f"column for method={method!r}", f"{low}"))
        # one forecast for the bar after the sample: append an empty bar, window = whole sample
        padded = np.vstack([x, np.full((1, x.shape[1]), np.nan)])
        result = _compute(kind, method, padded, x.shape[0], need, alpha, lam, nu, None, None,
                          None, caller, scalar=True)
        return p.wrap(result[-1], caller)
    if min_periods is None:
        min_periods = window
    min_periods = check_int("min_periods", min_periods, caller=caller, minimum=need,
                            maximum=window)
    if x.shape[0] < window + 1:
        raise DataError(message("returns", caller, f"longer than window={window} bars",
                                f"{x.shape[0]} rows",
                                "Pass more data, a smaller window, or window=None for one "
                                "forecast from the whole sample."))
    result = _compute(kind, method, x, window, min_periods, alpha, lam, nu, refit_every,
                      garch_window, p, caller, scalar=False)
    return p.wrap_path(result, returns)


def _compute(kind: str, method: str, x: np.ndarray, window: int, min_periods: int, alpha: float,
             lam: float, nu: float | None, refit_every: int | None, garch_window: int | None,
             p: Prepared | None, caller: str, *, scalar: bool) -> np.ndarray:
    """(n, k) forecasts of ``kind`` ("var" or "es") for ``method``."""
    z = float(special.ndtri(alpha))
    pdf_z = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    if method == "historical":
        q, tail = rolling_quantile_tail_nb(x, window, min_periods, alpha)
        return 0.0 - (q if kind == "var" else tail)
    if method in ("parametric", "student_t", "cornish_fisher"):
        mu, sd, skew, kurt = rolling_moments_nb(x, window, min_periods)
        with np.errstate(invalid="ignore", divide="ignore"):
            if method == "parametric":
                return _normal(kind, mu, sd, z, pdf_z, alpha)
            if method == "student_t":
                return _student_t(kind, mu, sd, kurt, nu, alpha)
            return _cornish_fisher(kind, mu, sd, skew, kurt, z, alpha)
    if method == "ewma":
        if scalar:
            n = x.shape[0] - 1
            weights = lam ** np.arange(n - 1, -1, -1, dtype=np.float64)[:, None]
            valid = ~np.isnan(x[:n])
            sq = np.where(valid, x[:n] * x[:n], 0.0)
            s2 = (weights * sq).sum(axis=0) / (weights * valid).sum(axis=0)
            s2_path = np.full(x.shape, np.nan)
            s2_path[-1] = s2
        else:
            s2_path = ewma_variance_nb(x, lam, window)
        return _normal(kind, 0.0, np.sqrt(s2_path), z, pdf_z, alpha)
    # garch and filtered_historical
    sigma = _garch_sigma(x, p, window, refit_every, garch_window, caller)
    if method == "garch":
        return _normal(kind, 0.0, sigma, z, pdf_z, alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = np.where(sigma > 0.0, x / sigma, np.nan)
    q, tail = rolling_quantile_tail_nb(np.ascontiguousarray(resid), window, min_periods, alpha)
    return 0.0 - sigma * (q if kind == "var" else tail)


def _normal(kind: str, mu: Any, sd: np.ndarray, z: float, pdf_z: float, alpha: float) -> np.ndarray:
    if kind == "var":
        return 0.0 - (mu + sd * z)
    return 0.0 - (mu - sd * pdf_z / alpha)


def _student_t(kind: str, mu: np.ndarray, sd: np.ndarray, kurt: np.ndarray, nu: float | None,
               alpha: float) -> np.ndarray:
    if nu is None:
        low, high = NU_BOUNDS
        dof = np.where(kurt > 0.0, 4.0 + 6.0 / kurt, high)
        dof = np.where(np.isnan(kurt), np.nan, np.clip(dof, low, high))
    else:
        dof = np.full(mu.shape, nu)
    scale = sd * np.sqrt((dof - 2.0) / dof)
    q = stats.t.ppf(alpha, dof)
    if kind == "var":
        return 0.0 - (mu + scale * q)
    tail = (dof + q * q) / (dof - 1.0) * stats.t.pdf(q, dof) / alpha
    return 0.0 - (mu - scale * tail)


def _cornish_fisher(kind: str, mu: np.ndarray, sd: np.ndarray, skew: np.ndarray, kurt: np.ndarray,
                    z: float, alpha: float) -> np.ndarray:
    s, k = skew, kurt
    if kind == "var":
        zcf = (z + (z * z - 1.0) * s / 6.0 + (z ** 3 - 3.0 * z) * k / 24.0
               - (2.0 * z ** 3 - 5.0 * z) * s * s / 36.0)
        return 0.0 - (mu + sd * zcf)
    phi = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    m0 = alpha
    m1 = -phi
    m2 = -z * phi + m0
    m3 = -z * z * phi + 2.0 * m1
    integral = m1 + s / 6.0 * (m2 - m0) + k / 24.0 * (m3 - 3.0 * m1) - s * s / 36.0 * (2.0 * m3 - 5.0 * m1)
    return 0.0 - (mu + sd * integral / alpha)


def _garch_sigma(x: np.ndarray, p: Prepared | None, window: int, refit_every: int | None,
                 garch_window: int | None, caller: str) -> np.ndarray:
    """(n, k) one-step GARCH(1,1) volatility forecasts, column by column."""
    try:
        from quantlab.regime.garch import garch_volatility
    except ImportError as exc:  # pragma: no cover - depends on the regime module being present
        raise ImportError(f"method='garch' of {caller}() needs quantlab.regime.garch "
                          f"(and the `arch` package): {exc}") from exc
    index = p.index if p is not None and p.index is not None else pd.RangeIndex(x.shape[0])
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):  # columns, not bars
        col = pd.Series(x[:, j], index=index)
        vol = garch_volatility(col, p=1, o=0, q=1, dist="normal", mean="zero",
                               refit_every=refit_every, window=garch_window, min_train=window)
        out[:, j] = np.asarray(vol, dtype=np.float64)
    return out

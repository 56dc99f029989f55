"""GARCH volatility forecasts and volatility regimes, fitted by ``arch``, used causally.

* :func:`fit_garch` - one fit of a (GJR-)GARCH(p, o, q) with arch, returned as a small frozen
  :class:`GarchFit` whose numbers are arch's own.
* :func:`garch_volatility` - the one-step-ahead conditional volatility of every bar from data
  strictly before it, refitting on a schedule (walk forward); :func:`garch_forecast` returns
  the same Series with the fits behind it.
* :class:`GarchRegime` - calm/wild regimes by quantiles of that forecast, each refit's
  thresholds taken from its own training window.

Units
-----
arch works best on returns of order 1 (percent returns), so the returns are multiplied by
``rescale`` (default 100: decimal returns become percent) before fitting. **Fitted parameters
(``GarchFit.params``, ``std_errors``, ``loglik``) are in the units of ``rescale * returns``**
(arch's convention; omega in percent squared by default). **Volatilities returned by this
module are in the units of ``returns``** (they are divided back by ``rescale``). Pass
``rescale=1.0`` for returns that already are percent.

The variance recursion
----------------------
Between refits the forecasts run arch's GARCH recursion (power 2) with the latest fitted
parameters, in the numba kernel :func:`quantlab.regime._garch_kernels.garch_variance_nb`::

    sigma2_t = omega + sum_i alpha_i e_{t-i}^2 + sum_j gamma_j e_{t-j}^2 1{e_{t-j} < 0}
               + sum_k beta_k sigma2_{t-k},        e_t = rescale * r_t - mu

started at the first bar of the refit's training window with arch's backcast (an EWMA,
weights 0.94^i, of the first <= 75 squared training residuals; ``0.5 * backcast`` for the
asymmetric terms), so it equals arch's ``forecast(params, horizon=1)`` on the same window.
arch additionally clips conditional variances into very loose bounds computed from the whole
series it is given (1e-8 of its variance, 1e6 times its EWMA); those bounds never bind for
real returns, and quantlab does not apply them because they would read the future.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import (
    as_float_array,
    check_choice,
    check_float,
    check_int,
    check_ohlcv,
    message,
    wrap_like,
)
from quantlab.errors import ConvergenceWarning, DataError, InvalidParameterError, NotFittedError
from quantlab.regime._garch_kernels import garch_variance_nb

__all__ = [
    "GarchFit",
    "GarchRefit",
    "GarchForecast",
    "GarchRegime",
    "GarchRegimeFit",
    "fit_garch",
    "garch_volatility",
    "garch_forecast",
]

DISTS: tuple[str, ...] = ("normal", "t", "skewt")
MEANS: tuple[str, ...] = ("zero", "constant")
_ARCH_MEAN = {"zero": "Zero", "constant": "Constant"}
#: smallest training sample accepted (a GARCH needs a few hundred bars to be estimated well)
MIN_TRAIN_FLOOR = 50
DEFAULT_MIN_TRAIN = 500


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GarchFit:
    """One GARCH fit by arch, in arch's units (see the module's "Units").

    Attributes
    ----------
    params : Series
        arch's fitted parameters with arch's names (``mu`` when ``mean="constant"``, ``omega``,
        ``alpha[i]``, ``gamma[i]``, ``beta[i]``, then ``nu`` / ``eta``, ``lambda`` for the
        t / skewed-t distributions), for ``rescale * returns``.
    std_errors : Series
        arch's standard errors (arch's default ``cov_type="robust"``), computed on first
        access (a numerical Hessian: the walk forward never pays for it).
    loglik : float
        Log-likelihood of ``rescale * returns`` at ``params``.
    converged : bool
        arch's optimizer reported success (``convergence_flag == 0``).
    scale : float
        The ``rescale`` factor the returns were multiplied by.
    p, o, q : int
        Orders.
    dist, mean : str
        quantlab's names of the distribution and mean model.
    n_obs : int
        Observations in the fit sample.
    arch_result : arch.univariate.base.ARCHModelResult
        arch's own result object (summary(), plots, forecasts).
    """

    params: pd.Series
    loglik: float
    converged: bool
    scale: float
    p: int
    o: int
    q: int
    dist: str
    mean: str
    n_obs: int
    arch_result: Any = field(repr=False, compare=False)

    @property
    def std_errors(self) -> pd.Series:
        """arch's standard errors of ``params`` (``arch_result.std_err``)."""
        err = self.arch_result.std_err
        return err.copy() if isinstance(err, pd.Series) else pd.Series(err)

    @property
    def mu(self) -> float:
        """The constant mean of ``rescale * returns`` (0.0 for ``mean="zero"``)."""
        return float(self.params["mu"]) if self.mean == "constant" else 0.0

    @property
    def variance_params(self) -> np.ndarray:
        """``[omega, alpha_1..p, gamma_1..o, beta_1..q]`` (the recursion's parameters)."""
        start = 1 if self.mean == "constant" else 0
        return self.params.to_numpy(dtype=np.float64)[start:start + 1 + self.p + self.o + self.q]

    @property
    def conditional_volatility(self) -> pd.Series:
        """arch's in-sample conditional volatility, divided by ``scale`` (units of returns;
        NaN outside the fit sample)."""
        vol = self.arch_result.conditional_volatility
        return vol / self.scale if isinstance(vol, pd.Series) else pd.Series(vol / self.scale)

    @property
    def persistence(self) -> float:
        """``sum(alpha) + 0.5 * sum(gamma) + sum(beta)`` (< 1: covariance stationary)."""
        v = self.variance_params
        p, o = self.p, self.o
        return float(v[1:1 + p].sum() + 0.5 * v[1 + p:1 + p + o].sum() + v[1 + p + o:].sum())


@dataclass(frozen=True)
class GarchRefit:
    """One refit of the walk forward: the fit made at ``bar`` from ``[train_start, train_end)``.

    Positions are integer positions in the series given to :func:`garch_forecast`;
    ``train_end == bar``: the fit never sees the bar whose forecast it starts.
    ``in_sample_volatility`` is the recursion's conditional volatility over the training
    window (units of returns; equal to arch's for ``mean="zero"``, see :func:`garch_forecast`).
    """

    bar: int
    time: Any
    train_start: int
    train_end: int
    fit: GarchFit
    in_sample_volatility: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class GarchForecast:
    """Walk-forward GARCH forecasts (:func:`garch_forecast`).

    Attributes
    ----------
    volatility : Series or ndarray
        One-step-ahead conditional volatility of each bar from data up to the bar before,
        in the units of the returns; NaN before the first fit.
    fits : tuple of GarchRefit
        The refits, oldest first.
    next_volatility : float
        The forecast for the bar after the last one (from all the data).
    scale : float
        The ``rescale`` factor used in the fits.
    """

    volatility: Any
    fits: tuple[GarchRefit, ...]
    next_volatility: float
    scale: float


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------

def _check_model(caller: str, p: Any, o: Any, q: Any, dist: Any, mean: Any,
                 rescale: Any) -> tuple[int, int, int, str, str, float]:
    p = check_int("p", p, caller=caller, minimum=1)
    o = check_int("o", o, caller=caller, minimum=0)
    q = check_int("q", q, caller=caller, minimum=0)
    dist = check_choice("dist", dist, DISTS, caller=caller)
    mean = check_choice("mean", mean, MEANS, caller=caller)
    rescale = check_float("rescale", rescale, caller=caller, minimum=0.0, exclusive_minimum=True)
    return p, o, q, dist, mean, rescale


def _returns_array(returns: Any, caller: str) -> np.ndarray:
    if isinstance(returns, pd.DataFrame):
        raise DataError(message("returns", caller, "one series of returns (a Series or 1-D array)",
                                f"a DataFrame with {returns.shape[1]} column(s)",
                                "Call it per column, e.g. df.apply(lambda r: ...), or pass "
                                "df['close'] returns."))
    return as_float_array(returns, "returns", caller=caller, ndim=(1,))


def _first_valid(y: np.ndarray, caller: str) -> int:
    """Position of the first non-NaN value; refuse NaN or infinities after it."""
    finite = np.isfinite(y)
    if not finite.any():
        raise DataError(message("returns", caller, "a series with finite values", "no finite value"))
    start = int(np.argmax(finite))
    bad = np.flatnonzero(~finite[start:])
    if bad.size:
        pos = start + int(bad[0])
        raise DataError(message(
            "returns", caller, "free of NaN and infinities after the first value",
            f"{y[pos]} at position {pos}",
            "Leading NaN (e.g. the first log return) are skipped; drop or fill the others "
            "(returns.dropna()) before fitting."))
    return start


def _position(value: Any, index: pd.Index | None, name: str, caller: str, n: int) -> int | None:
    """``first_obs``/``last_obs`` as an integer position (a label: the first bar at or after it)."""
    if value is None:
        return None
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        pos = int(value)
        if not -n <= pos <= n:
            raise InvalidParameterError(message(name, caller, f"a position in [-{n}, {n}]", value))
        return pos + n if pos < 0 else pos
    if index is None:
        raise InvalidParameterError(message(name, caller, "an integer position for array input",
                                            value))
    try:
        return int(index.searchsorted(pd.Timestamp(value) if isinstance(index, pd.DatetimeIndex)
                                      else value))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(message(name, caller, "an integer position or an index label",
                                            value)) from exc


# --------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------

def _arch_fit(y: Any, p: int, o: int, q: int, dist: str, mean: str, scale: float,
              first_obs: int | None = None, last_obs: int | None = None) -> GarchFit:
    """Fit with arch on ``y`` (already scaled); arch's own warnings are silenced (quantlab
    reports non-convergence itself)."""
    from arch import arch_model
    from arch.utility.exceptions import ConvergenceWarning as ArchConvergenceWarning

    # mean and dist were checked against MEANS / DISTS (arch types them as Literals)
    model = arch_model(y, mean=_ARCH_MEAN[mean], vol="GARCH", p=p, o=o, q=q,  # type: ignore[arg-type]
                       dist=dist, rescale=False)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ArchConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # log of 0 in rejected SLSQP steps
        res = model.fit(disp="off", first_obs=first_obs, last_obs=last_obs,
                        show_warning=False)
    params = res.params.copy() if isinstance(res.params, pd.Series) else pd.Series(res.params)
    return GarchFit(params=params, loglik=float(res.loglikelihood),
                    converged=int(res.convergence_flag) == 0, scale=float(scale), p=p, o=o,
                    q=q, dist=dist, mean=mean, n_obs=int(res.nobs), arch_result=res)


def fit_garch(
    returns: Any,
    *,
    p: int = 1,
    o: int = 0,
    q: int = 1,
    dist: str = "normal",
    mean: str = "zero",
    first_obs: Any = None,
    last_obs: Any = None,
    rescale: float = 100.0,
) -> GarchFit:
    """Fit a GARCH(p, o, q) (GJR when ``o > 0``) to ``returns`` with arch.

    Parameters
    ----------
    returns : Series or 1-D array
        Per-period returns (decimals by default, see ``rescale``). Leading NaN are skipped;
        NaN inside the sample raise.
    p, o, q : int, default 1, 0, 1
        ARCH order (>= 1), asymmetric (GJR) order (>= 0) and GARCH order (>= 0).
    dist : {"normal", "t", "skewt"}, default "normal"
        Innovation distribution (arch's ``"normal"``, ``"t"``, ``"skewt"``).
    mean : {"zero", "constant"}, default "zero"
        Mean model (arch's ``"Zero"``, ``"Constant"``).
    first_obs, last_obs : int or index label, optional
        Fit on ``[first_obs, last_obs)`` only (arch's convention; a label stands for the first
        bar at or after it). Default: from the first non-NaN value to the end.
    rescale : float, default 100.0
        Multiply the returns by this before fitting (100: decimal -> percent, arch's
        preferred scale). Parameters are reported in the scaled units.

    Returns
    -------
    GarchFit
        arch's numbers: ``params``, ``std_errors``, ``loglik``, ``converged``, ``arch_result``.

    Raises
    ------
    InvalidParameterError
        Bad orders, distribution, mean, ``rescale`` or sample bounds.
    DataError
        DataFrame input, NaN inside the sample, or fewer than 50 observations.

    Warns
    -----
    ConvergenceWarning
        arch's optimizer did not converge (the fit is returned anyway).

    Notes
    -----
    Equals ``arch_model(rescale * returns, mean=..., vol="GARCH", p=p, o=o, q=q, dist=dist,
    rescale=False).fit(disp="off", first_obs=first_obs, last_obs=last_obs)`` (Bollerslev 1986;
    Glosten, Jagannathan & Runkle 1993 for ``o > 0``).

    Examples
    --------
    >>> from quantlab.data import synthetic
    >>> fit = fit_garch(synthetic.garch(3000, seed=1).returns)
    >>> [round(float(v), 2) for v in fit.params]  # omega, alpha, beta of percent returns
    [0.06, 0.11, 0.83]
    """
    caller = "fit_garch"
    p, o, q, dist, mean, rescale = _check_model(caller, p, o, q, dist, mean, rescale)
    y = _returns_array(returns, caller)
    index = returns.index if isinstance(returns, pd.Series) else None
    n = y.shape[0]
    lo = _position(first_obs, index, "first_obs", caller, n)
    hi = _position(last_obs, index, "last_obs", caller, n)
    lo_eff = _first_valid(y, caller) if lo is None else lo
    hi_eff = n if hi is None else hi
    if hi_eff - lo_eff < MIN_TRAIN_FLOOR:
        raise DataError(message("returns", caller,
                                f"at least {MIN_TRAIN_FLOOR} observations in the fit sample",
                                f"{max(hi_eff - lo_eff, 0)} (positions {lo_eff}..{hi_eff})",
                                "GARCH needs a few hundred bars to be estimated reliably."))
    sample = y[lo_eff:hi_eff]
    if not np.isfinite(sample).all():
        pos = lo_eff + int(np.argmax(~np.isfinite(sample)))
        raise DataError(message("returns", caller, "free of NaN and infinities in the fit sample",
                                f"{y[pos]} at position {pos}", "Drop them first (returns.dropna())."))
    if np.ptp(sample) == 0.0:
        raise DataError(message("returns", caller, "a non-constant sample", "constant returns"))
    scaled: Any = pd.Series(y * rescale, index=index, name=getattr(returns, "name", None)) \
        if index is not None else y * rescale
    fit = _arch_fit(scaled, p, o, q, dist, mean, rescale, lo_eff, hi_eff)
    if not fit.converged:
        warnings.warn(f"arch's optimizer did not converge in fit_garch() (flag "
                      f"{fit.arch_result.convergence_flag}); the parameters may be unreliable.",
                      ConvergenceWarning, stacklevel=2)
    return fit


# --------------------------------------------------------------------------------------
# walk-forward forecasts
# --------------------------------------------------------------------------------------

def _check_schedule(caller: str, refit_every: Any, window: Any,
                    min_train: Any) -> tuple[int | None, int | None, int]:
    if refit_every is not None:
        refit_every = check_int("refit_every", refit_every, caller=caller, minimum=1)
    if window is not None:
        window = check_int("window", window, caller=caller, minimum=MIN_TRAIN_FLOOR)
    if min_train is None:
        min_train = window if window is not None else DEFAULT_MIN_TRAIN
    min_train = check_int("min_train", min_train, caller=caller, minimum=MIN_TRAIN_FLOOR)
    return refit_every, window, min_train


def _walk_forward(y: np.ndarray, index: pd.Index | None, *, p: int, o: int, q: int, dist: str,
                  mean: str, refit_every: int | None, window: int | None, min_train: int,
                  rescale: float, caller: str) -> tuple[np.ndarray, list[GarchRefit], float]:
    """(T,) returns -> (T,) volatility forecasts (units of returns), refits, next forecast."""
    n_total = y.shape[0]
    start = _first_valid(y, caller)
    n = n_total - start
    if n <= min_train:
        raise DataError(message(
            "returns", caller, f"more than min_train={min_train} observations", n,
            "Pass a longer series or lower min_train (GARCH needs a few hundred bars)."))
    scaled = y[start:] * rescale
    bars = [min_train] if refit_every is None else list(range(min_train, n, refit_every))
    sigma2 = np.full(n + 1, np.nan)
    refits: list[GarchRefit] = []
    not_converged: list[int] = []
    for i, k in enumerate(bars):
        end = bars[i + 1] if i + 1 < len(bars) else n  # forecasts [k, end) come from this fit
        lo = 0 if window is None else max(0, k - window)
        train = scaled[lo:k]
        if np.ptp(train) == 0.0:
            raise DataError(message("returns", caller, "non-constant in every training window",
                                    f"constant returns in positions {start + lo}..{start + k}"))
        fit = _arch_fit(train, p, o, q, dist, mean, rescale)
        if not fit.converged:
            not_converged.append(start + k)
        resid = scaled[lo:end] - fit.mu
        backcast = _backcast(resid[:k - lo])
        seg = garch_variance_nb(fit.variance_params, resid, backcast, p, o, q)
        # seg[t] is the forecast for bar lo + t; the last one is for `end` (the next segment's
        # first bar, overwritten by the next fit; the bar after the data for the last fit)
        sigma2[k:end + 1] = seg[k - lo:]
        refits.append(GarchRefit(
            bar=start + k, time=None if index is None else index[start + k],
            train_start=start + lo, train_end=start + k, fit=fit,
            in_sample_volatility=np.sqrt(seg[:k - lo]) / rescale))
    if not_converged:
        shown = ", ".join(map(str, not_converged[:5])) + (", ..." if len(not_converged) > 5 else "")
        warnings.warn(f"{len(not_converged)} of {len(bars)} GARCH fits of {caller}() did not "
                      f"converge (refit bars {shown}); their parameters are used anyway.",
                      ConvergenceWarning, stacklevel=3)
    vol = np.full(n_total, np.nan)
    vol[start:] = np.sqrt(sigma2[:n]) / rescale
    return vol, refits, float(math.sqrt(sigma2[n]) / rescale)


def _backcast(resid: np.ndarray) -> float:
    """arch's backcast: EWMA (weights 0.94^i, normalized) of the first <= 75 squared resids."""
    tau = min(75, resid.shape[0])
    w = 0.94 ** np.arange(tau)
    w = w / sum(w)
    return float(np.sum((np.absolute(resid[:tau]) ** 2.0) * w))


def garch_forecast(
    returns: Any,
    *,
    p: int = 1,
    o: int = 0,
    q: int = 1,
    dist: str = "normal",
    mean: str = "zero",
    refit_every: int | None = 21,
    window: int | None = None,
    min_train: int | None = None,
    rescale: float = 100.0,
) -> GarchForecast:
    """Walk-forward GARCH forecasts with the fits behind them.

    Same parameters and forecasts as :func:`garch_volatility`, which returns
    ``garch_forecast(...).volatility``.

    Returns
    -------
    GarchForecast
        ``volatility`` (Series for Series input, ndarray for an array), ``fits`` (one
        :class:`GarchRefit` per refit: bar, training window, arch's fit, in-sample
        volatility), ``next_volatility`` (the forecast for the bar after the data), ``scale``.

    Examples
    --------
    >>> from quantlab.data import synthetic
    >>> r = synthetic.garch(800, seed=2).returns
    >>> out = garch_forecast(r, refit_every=100, min_train=500)
    >>> [f.bar for f in out.fits], int(out.volatility.isna().sum())
    ([500, 600, 700], 500)
    """
    caller = "garch_forecast"
    p, o, q, dist, mean, rescale = _check_model(caller, p, o, q, dist, mean, rescale)
    refit_every, window, min_train = _check_schedule(caller, refit_every, window, min_train)
    y = _returns_array(returns, caller)
    index = returns.index if isinstance(returns, pd.Series) else None
    vol, refits, nxt = _walk_forward(y, index, p=p, o=o, q=q, dist=dist, mean=mean,
                                     refit_every=refit_every, window=window,
                                     min_train=min_train, rescale=rescale, caller=caller)
    return GarchForecast(volatility=wrap_like(returns, vol, name="volatility"), fits=tuple(refits),
                         next_volatility=nxt, scale=rescale)


def garch_volatility(
    returns: Any,
    *,
    p: int = 1,
    o: int = 0,
    q: int = 1,
    dist: str = "normal",
    mean: str = "zero",
    refit_every: int | None = 21,
    window: int | None = None,
    min_train: int | None = None,
    rescale: float = 100.0,
) -> Any:
    """Forecast each bar's conditional volatility from data strictly before it (GARCH, walk forward).

    Parameters
    ----------
    returns : Series or 1-D array
        Per-period returns (decimals by default, see ``rescale``). Leading NaN (e.g. the
        first log return) are skipped and stay NaN; NaN after the first value raise.
    p, o, q : int, default 1, 0, 1
        ARCH (>= 1), GJR asymmetric (>= 0) and GARCH (>= 0) orders.
    dist : {"normal", "t", "skewt"}, default "normal"
    mean : {"zero", "constant"}, default "zero"
    refit_every : int or None, default 21
        Refit every this many bars (21: monthly on daily bars). ``None``: one fit, on the
        first ``min_train`` observations, whose parameters then run to the end.
    window : int or None, default None
        Rolling training window (bars, >= 50): a refit at bar k fits ``[k - window, k)``.
        ``None``: expanding, ``[first observation, k)``.
    min_train : int, optional
        Observations before the first fit (>= 50). Default ``window`` when given, else 500.
        With ``min_train < window`` the first windows are shorter than ``window``.
    rescale : float, default 100.0
        Multiply returns by this for arch (100: decimals -> percent). The output is divided
        back: it is in the units of ``returns``.

    Returns
    -------
    Series or ndarray
        Same index (shape) as ``returns``, named ``"volatility"``: at bar t the one-step-ahead
        conditional volatility sigma_t computed from returns up to t - 1 only; NaN for the
        first ``min_train`` observations (plus any leading NaN).

    Raises
    ------
    InvalidParameterError
        Bad orders, ``dist``, ``mean``, ``refit_every``, ``window``, ``min_train``, ``rescale``.
    DataError
        DataFrame input, NaN inside the series, constant returns, or no more than
        ``min_train`` observations.

    Warns
    -----
    ConvergenceWarning
        Once, with the count, when some of arch's fits did not converge.

    Notes
    -----
    The refit bars are ``min_train, min_train + refit_every, ...`` (counted from the first
    non-NaN return). The fit made at bar k sees returns ``[k - window, k)`` (or ``[0, k)``)
    only; arch's GARCH recursion with those parameters, started on that window with arch's
    backcast, then gives sigma_t for ``k <= t`` < the next refit (see the module's notes).
    So appending data never changes a past forecast, and sigma_k does not depend on r_k.
    The fits are returned by :func:`garch_forecast`.

    Examples
    --------
    >>> from quantlab.data import synthetic
    >>> sim = synthetic.garch(700, seed=4)
    >>> vol = garch_volatility(sim.returns, refit_every=50)
    >>> vol.index.equals(sim.returns.index), bool(vol.iloc[:500].isna().all())
    (True, True)
    """
    return garch_forecast(returns, p=p, o=o, q=q, dist=dist, mean=mean, refit_every=refit_every,
                          window=window, min_train=min_train, rescale=rescale).volatility


# --------------------------------------------------------------------------------------
# regimes
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GarchRegimeFit:
    """One refit of :class:`GarchRegime`: the GARCH refit and its regime thresholds
    (quantiles of the in-sample conditional volatility of its training window, units of
    returns)."""

    refit: GarchRefit
    thresholds: tuple[float, ...]


class GarchRegime:
    """Volatility regimes from walk-forward GARCH forecasts: 0 = calm ... n_regimes - 1 = wild.

    At every refit the thresholds are the ``quantiles`` of the in-sample conditional
    volatility of that refit's training window (never of later data); until the next refit,
    bar t gets the regime of its forecast sigma_t (from data up to t - 1) against them.

    Parameters
    ----------
    n_regimes : int, default 2
        Number of regimes, >= 2.
    quantiles : sequence of float, optional
        ``n_regimes - 1`` increasing levels in (0, 1). Default equally spaced
        (``[0.5]`` for 2 regimes, ``[1/3, 2/3]`` for 3).
    p, o, q, dist, mean, refit_every, window, min_train, rescale
        As in :func:`garch_volatility`.

    Attributes
    ----------
    fits_ : tuple of GarchRegimeFit
        Set by :meth:`predict` / :meth:`filter`: each refit and its thresholds.
    forecast_ : GarchForecast
        The forecasts behind the last call.

    Examples
    --------
    >>> from quantlab.data import synthetic
    >>> data = synthetic.garch(700, seed=5).data
    >>> model = GarchRegime(refit_every=100)
    >>> labels = model.predict(data)
    >>> int(labels.isna().sum()) == model.warmup, sorted(labels.dropna().unique().tolist())
    (True, [0.0, 1.0])
    """

    def __init__(
        self,
        n_regimes: int = 2,
        *,
        quantiles: Any = None,
        p: int = 1,
        o: int = 0,
        q: int = 1,
        dist: str = "normal",
        mean: str = "zero",
        refit_every: int | None = 21,
        window: int | None = None,
        min_train: int | None = None,
        rescale: float = 100.0,
    ) -> None:
        caller = "GarchRegime"
        self.n_regimes = check_int("n_regimes", n_regimes, caller=caller, minimum=2)
        self.p, self.o, self.q, self.dist, self.mean, self.rescale = _check_model(
            caller, p, o, q, dist, mean, rescale)
        self.refit_every, self.window, self.min_train = _check_schedule(
            caller, refit_every, window, min_train)
        self.quantiles = self._check_quantiles(quantiles)
        self._fits: tuple[GarchRegimeFit, ...] | None = None
        self._forecast: GarchForecast | None = None

    def _check_quantiles(self, quantiles: Any) -> tuple[float, ...]:
        k = self.n_regimes
        if quantiles is None:
            return tuple(i / k for i in range(1, k))
        constraint = f"{k - 1} increasing levels in (0, 1) (one fewer than n_regimes={k})"
        try:
            levels = [float(v) for v in quantiles]
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(message("quantiles", "GarchRegime", constraint,
                                                quantiles)) from exc
        ok = (len(levels) == k - 1 and all(0.0 < v < 1.0 for v in levels)
              and all(a < b for a, b in zip(levels, levels[1:])))
        if not ok:
            raise InvalidParameterError(message("quantiles", "GarchRegime", constraint, quantiles))
        return tuple(levels)

    @property
    def warmup(self) -> int:
        """Bars without a regime at the start of an OHLCV frame: ``min_train + 1`` (the first
        log return is undefined). A returns Series without leading NaN has ``min_train``."""
        return self.min_train + 1

    @property
    def fits_(self) -> tuple[GarchRegimeFit, ...]:
        if self._fits is None:
            raise NotFittedError("GarchRegime has no fits yet: call predict(data) or filter(data).")
        return self._fits

    @property
    def forecast_(self) -> GarchForecast:
        if self._forecast is None:
            raise NotFittedError("GarchRegime has no forecasts yet: call predict(data) or "
                                 "filter(data).")
        return self._forecast

    def _returns(self, data: Any, caller: str) -> pd.Series:
        if isinstance(data, pd.DataFrame):
            check_ohlcv(data, caller=caller, columns=("close",))
            close = data["close"].astype(np.float64)
            return pd.Series(np.log(close.to_numpy()), index=data.index).diff().rename("returns")
        if isinstance(data, pd.Series):
            return data
        raise DataError(message("data", caller, "an OHLCV DataFrame or a Series of returns",
                                type(data).__name__))

    def _run(self, data: Any, caller: str) -> tuple[pd.Series, np.ndarray]:
        r = self._returns(data, caller)
        y = as_float_array(r, "returns", caller=caller, ndim=(1,))
        vol, refits, nxt = _walk_forward(
            y, r.index, p=self.p, o=self.o, q=self.q, dist=self.dist, mean=self.mean,
            refit_every=self.refit_every, window=self.window, min_train=self.min_train,
            rescale=self.rescale, caller=caller)
        levels = np.asarray(self.quantiles)
        thresholds = np.full((y.shape[0], levels.size), np.nan)
        fits = []
        bounds = [f.bar for f in refits[1:]] + [y.shape[0]]
        for f, end in zip(refits, bounds):
            thr = np.quantile(f.in_sample_volatility, levels)
            thresholds[f.bar:end] = thr
            fits.append(GarchRegimeFit(refit=f, thresholds=tuple(float(v) for v in thr)))
        self._fits = tuple(fits)
        self._forecast = GarchForecast(volatility=pd.Series(vol, index=r.index, name="volatility"),
                                       fits=tuple(refits), next_volatility=nxt,
                                       scale=self.rescale)
        labels = (vol[:, None] >= thresholds).sum(axis=1).astype(np.float64)
        labels[np.isnan(vol) | np.isnan(thresholds[:, 0])] = np.nan
        return pd.Series(labels, index=r.index, name="regime"), thresholds

    def predict(self, data: Any) -> pd.Series:
        """Label each bar with its volatility regime, causally.

        Parameters
        ----------
        data : DataFrame or Series
            OHLCV bars (log returns of ``close`` are used) or a Series of returns.

        Returns
        -------
        Series
            float labels 0 (calm) .. ``n_regimes - 1`` (wild), NaN in the warm-up. The label of
            bar t is the number of thresholds at or below sigma_t.
        """
        return self._run(data, "GarchRegime.predict")[0]

    def filter(self, data: Any) -> pd.DataFrame:
        """One-hot regime "probabilities" (columns ``state_0..``), like ``HMMRegime.filter``.

        Rows in the warm-up are NaN.
        """
        labels = self._run(data, "GarchRegime.filter")[0].to_numpy()
        out = np.full((labels.size, self.n_regimes), np.nan)
        ok = ~np.isnan(labels)
        out[ok] = 0.0
        out[np.flatnonzero(ok), labels[ok].astype(np.int64)] = 1.0
        return pd.DataFrame(out, index=getattr(data, "index", None),
                            columns=[f"state_{k}" for k in range(self.n_regimes)])

    def thresholds(self, data: Any) -> pd.DataFrame:
        """The thresholds in force at each bar (columns ``q=<level>``; units of returns)."""
        thr = self._run(data, "GarchRegime.thresholds")[1]
        return pd.DataFrame(thr, index=getattr(data, "index", None),
                            columns=[f"q={v:g}" for v in self.quantiles])

    def __repr__(self) -> str:
        return (f"GarchRegime(n_regimes={self.n_regimes}, quantiles={list(self.quantiles)}, "
                f"p={self.p}, o={self.o}, q={self.q}, dist={self.dist!r}, mean={self.mean!r}, "
                f"refit_every={self.refit_every}, window={self.window}, "
                f"min_train={self.min_train})")

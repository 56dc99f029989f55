"""VaR and ES backtests: Kupiec, Christoffersen, conditional coverage, Basel traffic light,
Acerbi-Szekely Z2.

An exception is a bar whose loss exceeds its VaR forecast: ``I_t = 1`` if ``-r_t > VaR_t``,
with ``VaR_t`` a positive loss number forecast from data up to t-1 (what
:func:`quantlab.risk.var.var` returns). Every test returns a small frozen result with the
statistic, its p-value, the critical value at ``level``, the ``reject`` decision and the counts
it was computed from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from quantlab._validate import as_float_array, check_choice, check_float, check_int, message
from quantlab.errors import DataError, InvalidParameterError
from quantlab.metrics._common import check_confidence, tail_probability

__all__ = [
    "KupiecResult",
    "ChristoffersenResult",
    "ConditionalCoverageResult",
    "TrafficLightResult",
    "EsBacktestResult",
    "VarBacktestResult",
    "kupiec",
    "christoffersen",
    "conditional_coverage",
    "traffic_light",
    "es_backtest",
    "backtest_var",
    "BASEL_PLUS_FACTORS",
]

#: Basel plus-factor on the x3 capital multiplier by number of exceptions of a 1-day 99 % VaR
#: over 250 days (BCBS 1996, "Supervisory framework for the use of backtesting", Table 2).
BASEL_PLUS_FACTORS: dict[int, float] = {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.40,
                                        6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class KupiecResult:
    """Kupiec's proportion-of-failures test (:func:`kupiec`)."""

    statistic: float
    p_value: float
    critical_value: float
    reject: bool
    n_obs: int
    n_exceptions: int
    expected_rate: float
    observed_rate: float
    level: float


@dataclass(frozen=True)
class ChristoffersenResult:
    """Christoffersen's independence test (:func:`christoffersen`); ``n00..n11`` count the
    transitions from a day without (0) / with (1) an exception to the next day."""

    statistic: float
    p_value: float
    critical_value: float
    reject: bool
    n00: int
    n01: int
    n10: int
    n11: int
    level: float


@dataclass(frozen=True)
class ConditionalCoverageResult:
    """Christoffersen's conditional coverage test, ``LR_cc = LR_pof + LR_ind`` (chi2(2))."""

    statistic: float
    p_value: float
    critical_value: float
    reject: bool
    kupiec: KupiecResult
    independence: ChristoffersenResult
    level: float


@dataclass(frozen=True)
class TrafficLightResult:
    """Basel traffic-light zone (:func:`traffic_light`)."""

    zone: str
    n_exceptions: int
    n_obs: int
    confidence: float
    cumulative_probability: float
    plus_factor: float | None


@dataclass(frozen=True)
class EsBacktestResult:
    """Acerbi-Szekely Z2 test (:func:`es_backtest`); ``reject`` when Z2 is below its simulated
    ``level`` quantile (risk underestimated)."""

    statistic: float
    p_value: float
    critical_value: float
    reject: bool
    n_obs: int
    n_exceptions: int
    n_sims: int
    seed: int
    dist: str
    level: float


# ----------------------------------------------------------------------------- helpers
def _level(level: Any, caller: str) -> float:
    return check_confidence(level, caller, name="level")


def _exceptions_array(exceptions: Any, caller: str) -> np.ndarray:
    """Boolean 1-D array from a boolean/0-1 sequence; NaN entries are dropped."""
    arr = as_float_array(exceptions, "exceptions", caller=caller, ndim=(1,))
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        raise DataError(message("exceptions", caller, "a non-empty sequence of 0/1 (or bool)",
                                "an empty sequence"))
    if not np.isin(arr, (0.0, 1.0)).all():
        raise DataError(message("exceptions", caller, "0/1 or boolean values",
                                "other values", "Pass (-returns > var_forecast)."))
    return arr.astype(bool)


def _kupiec_lr(x: int, n: int, p: float) -> float:
    rate = x / n
    value = (-2.0 * (special.xlogy(n - x, 1.0 - p) + special.xlogy(x, p))
             + 2.0 * (special.xlogy(n - x, 1.0 - rate) + special.xlogy(x, rate)))
    return max(float(value), 0.0)


# ----------------------------------------------------------------------------- tests
def kupiec(exceptions_or_n: Any, n_obs: int | None = None, *, confidence: float = 0.99,
           level: float = 0.05) -> KupiecResult:
    """Run Kupiec's proportion-of-failures (unconditional coverage) test.

    Parameters
    ----------
    exceptions_or_n : int, or array-like / Series of bool
        The number of exceptions x, or the exception indicators (NaN entries dropped).
    n_obs : int, optional
        Number of observations T; required with a count, must be omitted with indicators.
    confidence : float, default 0.99
        VaR confidence; the expected exception rate is ``p = 1 - confidence``.
    level : float, default 0.05
        Test size.

    Returns
    -------
    KupiecResult
        ``statistic`` LR_pof, ``p_value`` from chi2(1), ``critical_value`` its ``1 - level``
        quantile (3.841 at 5 %), ``reject = statistic > critical_value``.

    Raises
    ------
    InvalidParameterError
        Bad ``confidence``/``level``, a count without ``n_obs`` or outside [0, n_obs].
    DataError
        Empty or non-0/1 indicators.

    Notes
    -----
    Kupiec (1995), "Techniques for verifying the accuracy of risk measurement models",
    J. Derivatives 3(2): ``LR = -2[(T-x) ln(1-p) + x ln p] + 2[(T-x) ln(1-x/T) + x ln(x/T)]``
    with ``0 ln 0 = 0``.

    Examples
    --------
    >>> r = kupiec(0, 250, confidence=0.99)
    >>> round(r.statistic, 4), round(r.p_value, 4), r.reject
    (5.0252, 0.025, True)
    """
    caller = "kupiec"
    p = tail_probability(check_confidence(confidence, caller))
    lvl = _level(level, caller)
    if np.ndim(exceptions_or_n) == 0:
        if n_obs is None:
            raise InvalidParameterError(message("n_obs", caller, "given with a count of exceptions",
                                                None, "Pass kupiec(x, n_obs) or the indicators."))
        n = check_int("n_obs", n_obs, caller=caller, minimum=1)
        value = exceptions_or_n.item() if isinstance(exceptions_or_n, np.generic) else exceptions_or_n
        x = check_int("exceptions_or_n", value, caller=caller, minimum=0, maximum=n)
    else:
        if n_obs is not None:
            raise InvalidParameterError(message("n_obs", caller, "omitted with exception indicators",
                                                n_obs, "T is their length."))
        arr = _exceptions_array(exceptions_or_n, caller)
        n, x = int(arr.size), int(arr.sum())
    lr = _kupiec_lr(x, n, p)
    crit = float(stats.chi2.ppf(1.0 - lvl, 1))
    return KupiecResult(statistic=lr, p_value=float(stats.chi2.sf(lr, 1)), critical_value=crit,
                        reject=bool(lr > crit), n_obs=n, n_exceptions=x, expected_rate=p,
                        observed_rate=x / n, level=lvl)


def _transitions(arr: np.ndarray) -> tuple[int, int, int, int]:
    prev, nxt = arr[:-1], arr[1:]
    n00 = int(np.sum(~prev & ~nxt))
    n01 = int(np.sum(~prev & nxt))
    n10 = int(np.sum(prev & ~nxt))
    n11 = int(np.sum(prev & nxt))
    return n00, n01, n10, n11


def _independence_lr(n00: int, n01: int, n10: int, n11: int) -> float:
    total = n00 + n01 + n10 + n11
    pi = (n01 + n11) / total if total else 0.0
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    restricted = special.xlogy(n00 + n10, 1.0 - pi) + special.xlogy(n01 + n11, pi)
    free = (special.xlogy(n00, 1.0 - pi0) + special.xlogy(n01, pi0)
            + special.xlogy(n10, 1.0 - pi1) + special.xlogy(n11, pi1))
    return max(float(-2.0 * restricted + 2.0 * free), 0.0)


def christoffersen(exceptions: Any, *, level: float = 0.05) -> ChristoffersenResult:
    """Run Christoffersen's independence test (exceptions do not cluster).

    Parameters
    ----------
    exceptions : array-like or Series of bool
        Exception indicators in time order (NaN entries dropped, the bars around them then
        count as consecutive). At least 2.
    level : float, default 0.05
        Test size.

    Returns
    -------
    ChristoffersenResult
        ``statistic`` LR_ind, chi2(1) p-value and critical value, ``reject`` and the transition
        counts ``n00, n01, n10, n11``.

    Raises
    ------
    InvalidParameterError
        Bad ``level``.
    DataError
        Fewer than 2 indicators, or values other than 0/1.

    Notes
    -----
    Christoffersen (1998), "Evaluating interval forecasts", Int. Economic Review 39(4):
    ``pi0 = n01/(n00+n01)``, ``pi1 = n11/(n10+n11)``, ``pi = (n01+n11)/(n00+n01+n10+n11)``,
    ``LR_ind = -2[(n00+n10) ln(1-pi) + (n01+n11) ln pi]
    + 2[n00 ln(1-pi0) + n01 ln pi0 + n10 ln(1-pi1) + n11 ln pi1]`` (``0 ln 0 = 0``; an empty
    row of the transition matrix contributes 0).

    Examples
    --------
    >>> import numpy as np
    >>> hits = np.zeros(250, dtype=bool); hits[[20, 70, 120, 170, 220]] = True
    >>> r = christoffersen(hits)
    >>> (r.n00, r.n01, r.n10, r.n11), round(r.statistic, 4)
    ((239, 5, 5, 0), 0.2049)
    """
    caller = "christoffersen"
    lvl = _level(level, caller)
    arr = _exceptions_array(exceptions, caller)
    if arr.size < 2:
        raise DataError(message("exceptions", caller, "at least 2 indicators", f"{arr.size}"))
    counts = _transitions(arr)
    lr = _independence_lr(*counts)
    crit = float(stats.chi2.ppf(1.0 - lvl, 1))
    return ChristoffersenResult(statistic=lr, p_value=float(stats.chi2.sf(lr, 1)),
                                critical_value=crit, reject=bool(lr > crit), n00=counts[0],
                                n01=counts[1], n10=counts[2], n11=counts[3], level=lvl)


def conditional_coverage(exceptions: Any, *, confidence: float = 0.99,
                         level: float = 0.05) -> ConditionalCoverageResult:
    """Run Christoffersen's conditional coverage test (right rate and no clustering).

    Parameters
    ----------
    exceptions : array-like or Series of bool
        Exception indicators in time order (NaN entries dropped).
    confidence : float, default 0.99
        VaR confidence.
    level : float, default 0.05
        Test size.

    Returns
    -------
    ConditionalCoverageResult
        ``statistic = LR_pof + LR_ind`` (Kupiec over all T indicators plus independence over
        the T-1 transitions), chi2(2) p-value and critical value (5.991 at 5 %), ``reject``,
        and both component results.

    Raises
    ------
    InvalidParameterError, DataError
        As :func:`kupiec` and :func:`christoffersen`.

    Notes
    -----
    Christoffersen (1998), eq. (9).

    Examples
    --------
    >>> import numpy as np
    >>> hits = np.zeros(250, dtype=bool); hits[100:105] = True
    >>> r = conditional_coverage(hits, confidence=0.99)
    >>> round(r.statistic, 3), r.reject
    (32.942, True)
    """
    caller = "conditional_coverage"
    lvl = _level(level, caller)
    arr = _exceptions_array(exceptions, caller)
    pof = kupiec(arr, confidence=confidence, level=lvl)
    ind = christoffersen(arr, level=lvl)
    lr = pof.statistic + ind.statistic
    crit = float(stats.chi2.ppf(1.0 - lvl, 2))
    return ConditionalCoverageResult(statistic=lr, p_value=float(stats.chi2.sf(lr, 2)),
                                     critical_value=crit, reject=bool(lr > crit), kupiec=pof,
                                     independence=ind, level=lvl)


def traffic_light(n_exceptions: int, n_obs: int = 250, confidence: float = 0.99) -> TrafficLightResult:
    """Classify a VaR model into the Basel traffic-light zones.

    Parameters
    ----------
    n_exceptions : int
        Number of exceptions x.
    n_obs : int, default 250
        Number of observations T.
    confidence : float, default 0.99
        VaR confidence; ``p = 1 - confidence``.

    Returns
    -------
    TrafficLightResult
        ``zone`` "green" while the binomial CDF ``P(X <= x)`` (X ~ Binomial(T, p)) is below
        0.95, "yellow" while below 0.9999, "red" beyond; ``cumulative_probability`` that CDF;
        ``plus_factor`` the Basel add-on to the x3 multiplier (0 green, 0.40 / 0.50 / 0.65 /
        0.75 / 0.85 for 5..9 exceptions, 1.00 red) for the 250-day 99 % case only, else None.

    Raises
    ------
    InvalidParameterError
        ``n_exceptions`` outside [0, n_obs], ``n_obs < 1``, bad ``confidence``.

    Notes
    -----
    Basel Committee on Banking Supervision (1996), "Supervisory framework for the use of
    'backtesting' in conjunction with the internal models approach to market risk capital
    requirements", Table 2. The CDF is compared after rounding to 12 decimals, so a boundary
    that the table states exactly is not moved by floating-point error.

    Examples
    --------
    >>> r = traffic_light(5)
    >>> r.zone, r.plus_factor
    ('yellow', 0.4)
    """
    caller = "traffic_light"
    p = tail_probability(check_confidence(confidence, caller))
    n = check_int("n_obs", n_obs, caller=caller, minimum=1)
    value = n_exceptions.item() if isinstance(n_exceptions, np.generic) else n_exceptions
    x = check_int("n_exceptions", value, caller=caller, minimum=0, maximum=n)
    cdf = float(stats.binom.cdf(x, n, p))
    rounded = round(cdf, 12)
    zone = "green" if rounded < 0.95 else "yellow" if rounded < 0.9999 else "red"
    plus: float | None = None
    if n == 250 and abs(p - 0.01) < 1e-12:
        plus = 1.0 if zone == "red" else BASEL_PLUS_FACTORS[x]
    return TrafficLightResult(zone=zone, n_exceptions=x, n_obs=n, confidence=1.0 - p,
                              cumulative_probability=cdf, plus_factor=plus)


# ----------------------------------------------------------------------------- ES backtest
def _aligned_arrays(caller: str, **inputs: Any) -> tuple[dict[str, np.ndarray], Any]:
    """1-D float arrays of equal length (equal indexes for pandas inputs); the index or None."""
    arrays: dict[str, np.ndarray] = {}
    index = None
    first = None
    for name, value in inputs.items():
        if isinstance(value, pd.DataFrame):
            if value.shape[1] != 1:
                raise DataError(message(name, caller, "one series", f"a DataFrame with "
                                        f"{value.shape[1]} columns", "Backtest one column at a time."))
            value = value.iloc[:, 0]
        if isinstance(value, pd.Series):
            if index is None:
                index, first = value.index, name
            elif not index.equals(value.index):
                raise DataError(f"`{name}` of {caller}() must have the same index as `{first}`; "
                                "the indexes differ. Align them with .reindex().")
        arrays[name] = as_float_array(value, name, caller=caller, ndim=(1,))
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"The inputs of {caller}() must have the same length; got {lengths}.")
    return arrays, index


def _z2(x: np.ndarray, var_f: np.ndarray, es_f: np.ndarray, alpha: float) -> np.ndarray:
    """Z2 along the last axis: ``sum X I / (T alpha ES) + 1``."""
    hit = x < -var_f
    return (np.where(hit, x, 0.0) / es_f).sum(axis=-1) / (x.shape[-1] * alpha) + 1.0


def _location_scale(var_f: np.ndarray, es_f: np.ndarray, alpha: float, dist: str,
                    nu: float) -> tuple[np.ndarray, np.ndarray, Any]:
    """(mu, scale, standard distribution) of the location-scale member matching VaR and ES."""
    if dist == "normal":
        base = stats.norm()
        q = float(base.ppf(alpha))
        tail = float(base.pdf(q)) / alpha  # -E[Z | Z <= q]
    else:
        base = stats.t(nu)
        q = float(base.ppf(alpha))
        tail = (nu + q * q) / (nu - 1.0) * float(base.pdf(q)) / alpha
    # VaR = -(mu + s q), ES = -(mu - s tail)  =>  ES - VaR = s (tail + q)
    scale = (es_f - var_f) / (tail + q)
    mu = -var_f - scale * q
    return mu, scale, base


def es_backtest(returns: Any, var_forecast: Any, es_forecast: Any, *, confidence: float = 0.99,
                n_sims: int = 10_000, seed: int = 0, dist: str = "normal", nu: float = 5.0,
                level: float = 0.05) -> EsBacktestResult:
    """Run the Acerbi-Szekely Z2 test of expected-shortfall forecasts.

    Parameters
    ----------
    returns, var_forecast, es_forecast : array-like or Series
        Returns and the positive VaR and ES forecasts for the same bars (forecast from data
        before each bar). Bars where any of them is NaN are left out.
    confidence : float, default 0.99
        Confidence of the forecasts; ``alpha = 1 - confidence``.
    n_sims : int, default 10000
        Number of return paths simulated under H0.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` for the simulation (results are reproducible).
    dist : {"normal", "t"}, default "normal"
        The forecast distribution simulated under H0: at each bar the location-scale normal
        (or Student t with ``nu`` degrees of freedom) whose VaR and ES equal the forecasts.
    nu : float, default 5.0
        Degrees of freedom for ``dist="t"``, > 2.
    level : float, default 0.05
        Test size.

    Returns
    -------
    EsBacktestResult
        ``statistic`` Z2; ``critical_value`` the ``level`` quantile of the simulated Z2;
        ``p_value = (1 + #{Z2_sim <= Z2}) / (n_sims + 1)``; ``reject = p_value < level``.

    Raises
    ------
    InvalidParameterError
        Bad ``confidence``, ``level``, ``n_sims``, ``seed``, ``dist`` or ``nu``; a forecast with
        ``ES < VaR`` (no distribution of the family matches it).
    DataError
        Misaligned or empty inputs.

    Notes
    -----
    Acerbi & Szekely (2014), "Backtesting expected shortfall", Risk, test 2:
    ``Z2 = sum_t X_t I_t / (T alpha ES_t) + 1`` with ``I_t = 1{X_t < -VaR_t}``. Under H0
    ``E[Z2] = 0``; a negative Z2 means risk was underestimated. The null distribution is
    simulated from the forecast distribution (one-sided test), not read from a table.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> r = rng.normal(0.0, 0.01, 2000)
    >>> v, e = np.full(2000, 0.0232635), np.full(2000, 0.0266521)  # N(0, 1 %) at 99 %
    >>> res = es_backtest(r, v, e, confidence=0.99, n_sims=2000, seed=0)
    >>> res.reject
    False
    """
    caller = "es_backtest"
    alpha = tail_probability(check_confidence(confidence, caller))
    lvl = _level(level, caller)
    n_sims = check_int("n_sims", n_sims, caller=caller, minimum=100)
    seed = check_int("seed", seed, caller=caller, minimum=0)
    dist = check_choice("dist", dist, ("normal", "t"), caller=caller)
    nu = check_float("nu", nu, caller=caller, minimum=2.0, exclusive_minimum=True)
    arrays, _ = _aligned_arrays(caller, returns=returns, var_forecast=var_forecast,
                                es_forecast=es_forecast)
    x, v, e = arrays["returns"], arrays["var_forecast"], arrays["es_forecast"]
    keep = ~(np.isnan(x) | np.isnan(v) | np.isnan(e))
    x, v, e = x[keep], v[keep], e[keep]
    if x.size == 0:
        raise DataError(message("var_forecast", caller, "non-NaN on at least one bar",
                                "no bar with returns, VaR and ES all present"))
    if np.any(e < v - 1e-12 * np.abs(v)) or np.any(e <= 0.0):
        raise InvalidParameterError(message("es_forecast", caller, "> 0 and >= var_forecast on "
                                            "every bar", "a bar with ES < VaR or ES <= 0"))
    statistic = float(_z2(x, v, e, alpha))
    mu, scale, base = _location_scale(v, e, alpha, dist, nu)
    rng = np.random.default_rng(seed)
    sims = np.empty(n_sims)
    chunk = max(1, min(n_sims, 4_000_000 // max(x.size, 1)))
    for start in range(0, n_sims, chunk):  # chunks of simulations, vectorized over bars
        m = min(chunk, n_sims - start)
        draws = mu + scale * base.rvs(size=(m, x.size), random_state=rng)
        sims[start:start + m] = _z2(draws, v, e, alpha)
    p_value = (1.0 + float(np.sum(sims <= statistic))) / (n_sims + 1.0)
    crit = float(np.quantile(sims, lvl))
    return EsBacktestResult(statistic=statistic, p_value=p_value, critical_value=crit,
                            reject=bool(p_value < lvl), n_obs=int(x.size),
                            n_exceptions=int(np.sum(x < -v)), n_sims=n_sims, seed=seed,
                            dist=dist, level=lvl)


# ----------------------------------------------------------------------------- one call
@dataclass(frozen=True)
class VarBacktestResult:
    """Everything :func:`backtest_var` computed, on the bars with a forecast.

    Attributes
    ----------
    returns, var_forecast : Series
        The bars tested (NaN forecasts and NaN returns left out).
    es_forecast : Series or None
        ES forecasts on the same bars, when given.
    exceptions : Series of bool
        ``-returns > var_forecast``.
    kupiec, christoffersen, conditional_coverage, traffic_light
        The test results.
    es_test : EsBacktestResult or None
        The Acerbi-Szekely Z2 test, when ``es_forecast`` was given.
    confidence, level : float
        As passed.
    """

    returns: pd.Series
    var_forecast: pd.Series
    exceptions: pd.Series
    kupiec: KupiecResult
    christoffersen: ChristoffersenResult
    conditional_coverage: ConditionalCoverageResult
    traffic_light: TrafficLightResult
    confidence: float
    level: float
    es_forecast: pd.Series | None = None
    es_test: EsBacktestResult | None = None
    n_dropped: int = field(default=0)

    @property
    def n_obs(self) -> int:
        """Number of bars tested."""
        return int(self.exceptions.shape[0])

    @property
    def n_exceptions(self) -> int:
        """Number of exceptions."""
        return int(self.exceptions.sum())

    def to_frame(self) -> pd.DataFrame:
        """One row per test: statistic, p-value, critical value, reject."""
        rows: dict[str, Any] = {
            "kupiec": self.kupiec,
            "christoffersen": self.christoffersen,
            "conditional_coverage": self.conditional_coverage,
        }
        if self.es_test is not None:
            rows["acerbi_szekely_z2"] = self.es_test
        frame = pd.DataFrame(
            {name: {"statistic": r.statistic, "p_value": r.p_value,
                    "critical_value": r.critical_value, "reject": r.reject}
             for name, r in rows.items()}
        ).T
        frame.index.name = "test"
        return frame.astype({"statistic": float, "p_value": float, "critical_value": float,
                             "reject": bool})

    def summary(self) -> pd.Series:
        """Headline numbers: observations, exceptions, rates, Basel zone and plus-factor."""
        tl = self.traffic_light
        return pd.Series({
            "n_obs": self.n_obs,
            "n_exceptions": self.n_exceptions,
            "expected_rate": self.kupiec.expected_rate,
            "observed_rate": self.kupiec.observed_rate,
            "basel_zone": tl.zone,
            "plus_factor": tl.plus_factor,
            "n_dropped": self.n_dropped,
        }, name="var_backtest")

    def _repr_html_(self) -> str:
        tl = self.traffic_light
        head = (f"<p><b>VaR backtest</b> at {self.confidence:.1%}: {self.n_exceptions} exceptions "
                f"in {self.n_obs} bars (expected {self.kupiec.expected_rate * self.n_obs:.1f}); "
                f"Basel zone <b>{tl.zone}</b>"
                + (f", plus-factor {tl.plus_factor:.2f}" if tl.plus_factor is not None else "")
                + "</p>")
        return head + self.to_frame().to_html(float_format=lambda v: f"{v:.4f}")

    def plot(self, *, title: str | None = None, height: int = 450) -> Any:
        """Plot returns against -VaR (and -ES) with the exceptions marked (plotly figure)."""
        from quantlab.plotting.risk import var_backtest_figure

        return var_backtest_figure(self, title=title, height=height)


def backtest_var(returns: Any, var_forecast: Any, *, confidence: float = 0.99, level: float = 0.05,
                 es_forecast: Any = None, n_sims: int = 10_000, seed: int = 0) -> VarBacktestResult:
    """Backtest VaR (and optionally ES) forecasts against realized returns.

    Parameters
    ----------
    returns : Series or 1-D array-like
        Realized simple returns.
    var_forecast : Series or 1-D array-like
        Positive VaR forecasts for the same bars, each from data before its bar (as
        :func:`quantlab.risk.var.var` returns them). Same length (and index) as ``returns``.
    confidence : float, default 0.99
        Confidence of the forecasts.
    level : float, default 0.05
        Size of every test.
    es_forecast : Series or 1-D array-like, optional
        ES forecasts; adds the Acerbi-Szekely Z2 test (:func:`es_backtest`, normal forecast
        distribution, ``n_sims`` simulations seeded with ``seed``).
    n_sims, seed : int, default 10000, 0
        Passed to :func:`es_backtest`.

    Returns
    -------
    VarBacktestResult
        Exceptions, every test, the Basel zone; ``to_frame()``, ``summary()``, ``plot()``.

    Raises
    ------
    InvalidParameterError
        Bad ``confidence`` or ``level``.
    DataError
        Misaligned inputs, or no bar with both a return and a forecast.

    Notes
    -----
    ``I_t = 1`` if ``-r_t > VaR_t``. Bars with a NaN forecast (the warm-up) or a NaN return
    are excluded from the sample (``n_dropped`` counts them); Christoffersen's transitions
    then run over the remaining bars in order. The traffic light uses the tested T and
    ``confidence`` (the Basel plus-factor only for T = 250 at 99 %).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> r = pd.Series(np.random.default_rng(0).normal(0, 0.01, 750))
    >>> from quantlab.risk.var import var
    >>> res = backtest_var(r, var(r, window=250), confidence=0.99)
    >>> res.n_obs
    500
    """
    caller = "backtest_var"
    confidence = check_confidence(confidence, caller)
    lvl = _level(level, caller)
    inputs: dict[str, Any] = {"returns": returns, "var_forecast": var_forecast}
    if es_forecast is not None:
        inputs["es_forecast"] = es_forecast
    arrays, index = _aligned_arrays(caller, **inputs)
    x, v = arrays["returns"], arrays["var_forecast"]
    keep = ~(np.isnan(x) | np.isnan(v))
    if es_forecast is not None:
        keep &= ~np.isnan(arrays["es_forecast"])
    if not keep.any():
        raise DataError(message("var_forecast", caller, "non-NaN on at least one bar with a return",
                                "no such bar", "Pass forecasts aligned with the returns."))
    idx = (index if index is not None else pd.RangeIndex(x.shape[0]))[keep]
    r_s = pd.Series(x[keep], index=idx, name="returns")
    v_s = pd.Series(v[keep], index=idx, name="var")
    hits = pd.Series(-r_s.to_numpy() > v_s.to_numpy(), index=idx, name="exception")
    flags = hits.to_numpy()
    pof = kupiec(flags, confidence=confidence, level=lvl)
    if flags.size >= 2:
        ind = christoffersen(flags, level=lvl)
    else:
        raise DataError(message("var_forecast", caller, "non-NaN on at least 2 bars", "1 bar"))
    cc = conditional_coverage(flags, confidence=confidence, level=lvl)
    tl = traffic_light(int(flags.sum()), int(flags.size), confidence)
    e_s = None
    es_res = None
    if es_forecast is not None:
        e_s = pd.Series(arrays["es_forecast"][keep], index=idx, name="es")
        es_res = es_backtest(r_s.to_numpy(), v_s.to_numpy(), e_s.to_numpy(),
                             confidence=confidence, n_sims=n_sims, seed=seed, level=lvl)
    return VarBacktestResult(returns=r_s, var_forecast=v_s, exceptions=hits, kupiec=pof,
                             christoffersen=ind, conditional_coverage=cc, traffic_light=tl,
                             confidence=confidence, level=lvl, es_forecast=e_s, es_test=es_res,
                             n_dropped=int((~keep).sum()))

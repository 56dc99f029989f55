"""Seeded synthetic OHLCV with known truth: GBM, GARCH(1,1) and Markov regime switching.

Every generator draws from ``np.random.default_rng(seed)`` only, so the same seed gives the
same frame, bit for bit (with or without numba). Bars follow a trading calendar
(:func:`calendar_index`): ``"24/7"`` (crypto-like, continuous), ``"equity"`` (NYSE sessions)
or ``"fx"`` (the FX week). Bars are stamped at their **open** time, like the bundled data
and ccxt.

How a bar is built
------------------
The close-to-close log return ``r_t`` is the process (GBM, GARCH, regimes). Inside the bar
the log price follows a Brownian bridge from the previous close to the new close with the
bar's variance ``sigma_t**2``:

* the bridge is simulated on ``substeps`` points, and between two points the maximum and
  minimum of the continuous bridge are drawn exactly (Malmquist 1954; the standard
  Brownian-bridge extreme used in barrier-option Monte Carlo: for a bridge from ``a`` to
  ``b`` with variance ``v``, ``max = (a + b + sqrt((b - a)**2 - 2 v ln U)) / 2``). The high
  and the low therefore have the exact marginal law of the continuous path (no discrete
  under-estimate of the range); only their joint law inside one sub-interval is
  approximated (max and min are drawn independently there).
* at the first bar of each session of the ``"equity"`` and ``"fx"`` calendars a share
  ``gap_variance_fraction`` of the bar's variance is spent before the open: the open gaps
  away from the previous close and the high/low only cover the traded part. The
  close-to-close law is unchanged. On ``"24/7"`` (and inside sessions) the open of bar t is
  the close of bar t-1.

Volume is a nuisance variable: ``volume_mean * L_t * (1 + (|z_t| sqrt(pi/2) - 1) / 2)``
with ``L_t`` log-normal of mean 1 (log-sd 0.5) and ``z_t`` the bar's standardized shock, so
its mean is ``volume_mean`` and it rises with the size of the move.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import njit
from quantlab._validate import (
    check_choice,
    check_float,
    check_int,
    check_timestamp,
    did_you_mean,
    message,
)
from quantlab.errors import InvalidParameterError

__all__ = [
    "CALENDARS",
    "SyntheticResult",
    "calendar_index",
    "gbm",
    "garch",
    "regime_switching",
    "stationary_distribution",
]

CALENDARS: tuple[str, ...] = ("24/7", "equity", "fx")

_NY = "America/New_York"
_DAY = pd.Timedelta("1D")
_EQUITY_OPEN = pd.Timedelta(hours=9, minutes=30)
_EQUITY_CLOSE = pd.Timedelta(hours=16)
_FX_OPEN = pd.Timedelta(hours=17)  # Sunday 17:00 New York
_FX_WEEK = pd.Timedelta(hours=120)  # .. to Friday 17:00 New York
_CHUNK = 65_536


# --------------------------------------------------------------------------------------
# calendars
# --------------------------------------------------------------------------------------

# NYSE full-day closures that no holiday rule produces (1998 onwards).
_NYSE_SPECIAL_CLOSURES = (
    "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14",  # September 11
    "2004-06-11",  # President Reagan's funeral
    "2007-01-02",  # President Ford's funeral
    "2012-10-29", "2012-10-30",  # Hurricane Sandy
    "2018-12-05",  # President G. H. W. Bush's funeral
    "2025-01-09",  # President Carter's funeral
)


def _nyse_holidays(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    """NYSE full-day holidays between two naive dates (rules valid from 1998 on)."""
    from pandas.tseries.holiday import (
        MO,
        AbstractHolidayCalendar,
        DateOffset,
        GoodFriday,
        Holiday,
        USLaborDay,
        USMemorialDay,
        USPresidentsDay,
        USThanksgivingDay,
        nearest_workday,
        sunday_to_monday,
    )

    class _NYSE(AbstractHolidayCalendar):
        rules = [
            Holiday("New Year", month=1, day=1, observance=sunday_to_monday),
            Holiday("MLK", month=1, day=1, start_date="1998-01-01",
                    offset=DateOffset(weekday=MO(3))),
            USPresidentsDay,
            GoodFriday,
            USMemorialDay,
            Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01",
                    observance=nearest_workday),
            Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
            USLaborDay,
            USThanksgivingDay,
            Holiday("Christmas", month=12, day=25, observance=nearest_workday),
        ]

    regular = _NYSE().holidays(first - _DAY * 7, last + _DAY * 7)
    special = pd.DatetimeIndex(pd.to_datetime(list(_NYSE_SPECIAL_CLOSURES)))
    days = regular.union(special)
    return days[(days >= first) & (days <= last)]


def _session_days(calendar: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    """Naive midnight dates of the trading days in [first, last] (both naive dates)."""
    days = pd.date_range(first.normalize(), last.normalize(), freq="D")
    if calendar == "24/7":
        return days
    days = days[days.day_of_week < 5]
    if calendar == "equity":
        days = days.difference(_nyse_holidays(days[0], days[-1])) if len(days) else days
    return days


def _grid(calendar: str, freq: pd.Timedelta, first: pd.Timestamp, last: pd.Timestamp,
          *, anchor: pd.Timestamp | None = None) -> pd.DatetimeIndex:
    """All bar open times of ``calendar`` at ``freq`` in [first, last] (UTC timestamps).

    ``anchor`` fixes the phase of the 24/7 grid and the time of day of daily bars
    (default: ``first``).
    """
    anchor = first if anchor is None else anchor
    if calendar == "24/7":
        steps = (first - anchor) // freq
        begin = anchor + steps * freq
        if begin < first:
            begin += freq
        return pd.date_range(begin, last, freq=freq, unit="ns")
    if freq >= _DAY:
        tod = anchor - anchor.normalize()
        days = _session_days(calendar, (first - tod).tz_localize(None), (last - tod).tz_localize(None))
        stamps = days.tz_localize("UTC") + tod
        return stamps[(stamps >= first) & (stamps <= last)].as_unit("ns")
    local_first = first.tz_convert(_NY).tz_localize(None)
    local_last = last.tz_convert(_NY).tz_localize(None)
    if calendar == "equity":
        days = _session_days("equity", local_first - _DAY, local_last + _DAY)
        count = max(1, int(-((_EQUITY_OPEN - _EQUITY_CLOSE) // freq)))
        offsets = _EQUITY_OPEN.value + freq.value * np.arange(count, dtype=np.int64)
    else:  # fx: weeks opening Sunday 17:00 New York
        start_sunday = local_first.normalize() - _DAY * ((local_first.day_of_week + 1) % 7) - _DAY * 7
        days = pd.date_range(start_sunday, local_last + _DAY, freq="7D")
        count = max(1, int(-(-_FX_WEEK // freq)))
        offsets = _FX_OPEN.value + freq.value * np.arange(count, dtype=np.int64)
    if len(days) == 0:
        return pd.DatetimeIndex([], tz="UTC").as_unit("ns")
    local = (days.as_unit("ns").asi8[:, None] + offsets[None, :]).ravel().view("M8[ns]")
    stamps = pd.DatetimeIndex(local).tz_localize(_NY).tz_convert("UTC").as_unit("ns")
    return stamps[(stamps >= first) & (stamps <= last)]


def _session_starts(index: pd.DatetimeIndex, calendar: str, freq: pd.Timedelta) -> np.ndarray:
    """Boolean mask of bars that open a session (equity: a new NYSE day; fx: a new week)."""
    flags = np.zeros(len(index), dtype=bool)
    if calendar == "24/7" or len(index) == 0:
        return flags
    if calendar == "equity" and freq >= _DAY:
        flags[:] = True
        return flags
    gaps = np.diff(index.asi8) > freq.value
    flags[0] = True
    flags[1:] = gaps
    return flags


_UNITS = {
    "w": "W", "week": "W", "weeks": "W",
    "d": "D", "day": "D", "days": "D",
    "h": "h", "hr": "h", "hour": "h", "hours": "h",
    "min": "min", "minute": "min", "minutes": "min", "t": "min",
    "s": "s", "sec": "s", "second": "s", "seconds": "s",
    "ms": "ms", "us": "us", "ns": "ns",
}
_FREQ_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*$")


def _parse_freq(freq: Any, *, caller: str, name: str = "freq") -> pd.Timedelta:
    """Parse a fixed bar duration; units are case-insensitive ("1d" == "1D", "4H" == "4h")."""
    constraint = "a positive fixed duration such as '1min', '1h', '4h' or '1d'"
    if isinstance(freq, bool) or freq is None:
        raise InvalidParameterError(message(name, caller, constraint, freq))
    value: Any = None
    if isinstance(freq, str):
        match = _FREQ_RE.match(freq)
        if match:
            unit = _UNITS.get(match.group(2).lower())
            if unit is None:
                hint = did_you_mean(match.group(2), _UNITS) or (
                    "Calendar-relative frequencies ('M', 'Y', 'B') are not fixed durations; "
                    "use calendar='equity' with '1d' for business days.")
                raise InvalidParameterError(message(name, caller, constraint, freq, hint))
            value = pd.Timedelta(float(match.group(1) or 1), unit=unit)
    if value is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = pd.Timedelta(freq)
        except (ValueError, TypeError) as exc:
            raise InvalidParameterError(message(name, caller, constraint, freq)) from exc
    if pd.isna(value) or value <= pd.Timedelta(0):
        raise InvalidParameterError(message(name, caller, constraint, freq))
    return value


def calendar_index(
    n: int,
    *,
    start: str | pd.Timestamp = "2020-01-01",
    freq: str | pd.Timedelta = "1d",
    calendar: str = "24/7",
) -> pd.DatetimeIndex:
    """Return the first ``n`` bar open times of a trading calendar from ``start``.

    Parameters
    ----------
    n : int
        Number of bars, >= 1.
    start : str or Timestamp, default "2020-01-01"
        First admissible open time; naive values are read as UTC.
    freq : str or Timedelta, default "1d"
        Bar duration, a fixed duration ("1min", "1h", "4h", "1d").
    calendar : {"24/7", "equity", "fx"}, default "24/7"
        * ``"24/7"``: bars every ``freq`` from ``start``, no closures.
        * ``"equity"``: NYSE sessions, 09:30-16:00 America/New_York (DST-aware); intraday bars
          open at 09:30 + k * freq while before 16:00; daily bars are stamped 00:00 UTC of
          the session date (like the bundled data). Weekends and NYSE full-day holidays
          (rules from 1998 on plus special closures such as 2001-09-11) are closed; early
          closes are ignored.
        * ``"fx"``: the FX week from Sunday 17:00 to Friday 17:00 America/New_York, i.e.
          22:00 UTC in winter and 21:00 UTC under US daylight time; intraday bars open at
          the weekly open + k * freq; daily bars are the weekdays at 00:00 UTC.

    Returns
    -------
    DatetimeIndex
        ``n`` tz-aware UTC timestamps (ns), strictly increasing, named ``time``.

    Raises
    ------
    InvalidParameterError
        ``n < 1``, an unknown calendar, a non-fixed ``freq``, or ``freq`` longer than one
        day on the equity/fx calendars.

    Examples
    --------
    >>> calendar_index(3, start="2024-01-05", freq="1d", calendar="equity").strftime("%a %d").tolist()
    ['Fri 05', 'Mon 08', 'Tue 09']
    """
    caller = "calendar_index"
    n = check_int("n", n, caller=caller, minimum=1)
    calendar = check_choice("calendar", calendar, CALENDARS, caller=caller)
    step = _parse_freq(freq, caller=caller)
    first = check_timestamp("start", start, caller=caller)
    return _calendar_index(n, first, step, calendar, caller)


def _calendar_index(n: int, first: pd.Timestamp, step: pd.Timedelta, calendar: str,
                    caller: str) -> pd.DatetimeIndex:
    if calendar != "24/7" and step > _DAY:
        raise InvalidParameterError(message(
            "freq", caller, f"at most '1d' on the {calendar!r} calendar", str(step),
            "Use calendar='24/7' for weekly or longer bars."))
    if calendar == "24/7":
        return pd.date_range(first, periods=n, freq=step, unit="ns", name="time")
    if step >= _DAY:
        anchor = first.normalize()
        first = anchor if first == anchor else anchor + _DAY
    else:
        anchor = None
    if step >= _DAY:
        per_week = 5.0
    elif calendar == "equity":
        per_week = 5.0 * max(1, int(-((_EQUITY_OPEN - _EQUITY_CLOSE) // step)))
    else:
        per_week = _FX_WEEK / step
    span = _DAY * 7 * (n / per_week * 1.1 + 2)
    while True:  # grows geometrically; at most a handful of passes
        grid = _grid(calendar, step, first, first + span, anchor=anchor)
        if len(grid) >= n:
            return grid[:n].rename("time")
        span = span * 2


# --------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------

@njit
def _garch_nb(z, omega, alpha, beta, mu, var0):
    """float64[:] shocks -> (returns, variances); GARCH(1,1) recursion started at ``var0``.

    Equals r_t = mu + sqrt(h_t) z_t, h_t = omega + alpha (r_{t-1} - mu)^2 + beta h_{t-1}, h_0 = var0.
    """
    n = z.shape[0]
    r = np.empty(n)
    h = np.empty(n)
    var = var0
    for t in range(n):
        if t > 0:
            eps_prev = r[t - 1] - mu
            var = omega + alpha * eps_prev * eps_prev + beta * var
        h[t] = var
        r[t] = mu + math.sqrt(var) * z[t]
    return r, h


@njit
def _markov_chain_nb(u, cumulative, initial):
    """float64[:] uniforms, float64[:, :] row-cumulative transitions -> int64[:] states.

    Equals inverse-CDF sampling of the next state from row ``states[t-1]`` with ``u[t]``.
    """
    n = u.shape[0]
    k_states = cumulative.shape[0]
    states = np.empty(n, dtype=np.int64)
    states[0] = initial
    for t in range(1, n):
        row = states[t - 1]
        k = 0
        while k < k_states - 1 and u[t] >= cumulative[row, k]:
            k += 1
        states[t] = k
    return states


@njit
def _ms_garch_nb(z, states, means, omegas, alphas, betas, var0):
    """Markov-switching GARCH(1,1) of Haas, Mittnik & Paolella (2004) -> (returns, variances).

    Each regime k keeps its own h_k,t = omega_k + alpha_k eps_{t-1}^2 + beta_k h_k,t-1 driven
    by the realized residual; the active regime's h is used: r_t = mu_s + sqrt(h_s,t) z_t.
    """
    n = z.shape[0]
    k_states = means.shape[0]
    h = var0.copy()
    r = np.empty(n)
    out = np.empty(n)
    eps2 = 0.0
    for t in range(n):
        if t > 0:
            for k in range(k_states):
                h[k] = omegas[k] + alphas[k] * eps2 + betas[k] * h[k]
        s = states[t]
        out[t] = h[s]
        eps = math.sqrt(h[s]) * z[t]
        r[t] = means[s] + eps
        eps2 = eps * eps
    return r, out


# --------------------------------------------------------------------------------------
# OHLCV construction
# --------------------------------------------------------------------------------------

def _build_ohlcv(
    rng: np.random.Generator,
    index: pd.DatetimeIndex,
    log_returns: np.ndarray,
    bar_sigma: np.ndarray,
    shocks: np.ndarray,
    *,
    s0: float,
    substeps: int,
    gap_fraction: float,
    session_start: np.ndarray,
    volume_mean: float,
) -> pd.DataFrame:
    n = log_returns.shape[0]
    log_close = math.log(s0) + np.cumsum(log_returns)
    log_prev = np.empty(n)
    log_prev[0] = math.log(s0)
    log_prev[1:] = log_close[:-1]
    off_open = np.empty(n)
    off_high = np.empty(n)
    off_low = np.empty(n)
    m = substeps
    for lo in range(0, n, _CHUNK):  # fixed-size blocks bound memory; vectorized inside
        hi = min(n, lo + _CHUNK)
        rows = hi - lo
        r = log_returns[lo:hi]
        var = bar_sigma[lo:hi] ** 2
        gap_w = np.where(session_start[lo:hi], gap_fraction, 0.0)
        # variance share of each increment: [gap, m intraday sub-steps]
        weights = np.empty((rows, m + 1))
        weights[:, 0] = gap_w
        weights[:, 1:] = ((1.0 - gap_w) / m)[:, None]
        inc = rng.standard_normal((rows, m + 1)) * np.sqrt(weights * var[:, None])
        path = np.cumsum(inc, axis=1)
        clock = np.cumsum(weights, axis=1)
        bridge = path - clock * (path[:, -1:] - r[:, None])  # ends exactly at r
        a = bridge[:, :-1]  # the m traded sub-intervals run from point j to j + 1
        b = bridge[:, 1:]
        v = weights[:, 1:] * var[:, None]
        u_hi = 1.0 - rng.random((rows, m))  # in (0, 1]
        u_lo = 1.0 - rng.random((rows, m))
        d2 = (b - a) ** 2
        top = 0.5 * (a + b + np.sqrt(d2 - 2.0 * v * np.log(u_hi)))
        bottom = 0.5 * (a + b - np.sqrt(d2 - 2.0 * v * np.log(u_lo)))
        off_open[lo:hi] = bridge[:, 0]
        off_high[lo:hi] = np.maximum(top.max(axis=1), np.maximum(bridge[:, 0], r))
        off_low[lo:hi] = np.minimum(bottom.min(axis=1), np.minimum(bridge[:, 0], r))
    close = np.exp(log_close)
    open_ = np.exp(log_prev + off_open)
    high = np.maximum(np.exp(log_prev + off_high), np.maximum(open_, close))
    low = np.minimum(np.exp(log_prev + off_low), np.minimum(open_, close))
    level = np.exp(0.5 * rng.standard_normal(n) - 0.125)
    volume = volume_mean * level * (0.5 + 0.5 * np.abs(shocks) * math.sqrt(math.pi / 2.0))
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=index,
    )


@dataclass(frozen=True, eq=False)
class SyntheticResult:
    """A synthetic sample with its generating truth.

    Attributes
    ----------
    data : DataFrame
        Normalized OHLCV (open-time stamps, UTC).
    returns : Series
        Close-to-close log returns in decimal units, ``log(close_t / close_{t-1})`` with
        ``close_{-1} = s0``; exactly the simulated process divided by ``scale``.
    volatility : Series
        The true conditional standard deviation of ``returns`` at each bar (decimal units,
        known before the bar's shock).
    states : Series or None
        The true regime path (int64, 0..K-1) for :func:`regime_switching`; None otherwise.
    params : dict
        The generating parameters (including ``seed``).
    """

    data: pd.DataFrame
    returns: pd.Series
    volatility: pd.Series
    states: pd.Series | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _common(caller: str, n: Any, seed: Any, start: Any, calendar: Any, freq: Any, s0: Any,
            substeps: Any, gap_variance_fraction: Any, volume_mean: Any) -> dict[str, Any]:
    n = check_int("n", n, caller=caller, minimum=1)
    seed = check_int("seed", seed, caller=caller, minimum=0)
    calendar = check_choice("calendar", calendar, CALENDARS, caller=caller)
    step = _parse_freq(freq, caller=caller)
    first = check_timestamp("start", start, caller=caller)
    s0 = check_float("s0", s0, caller=caller, minimum=0.0, exclusive_minimum=True)
    substeps = check_int("substeps", substeps, caller=caller, minimum=1, maximum=1000)
    gap = check_float("gap_variance_fraction", gap_variance_fraction, caller=caller,
                      minimum=0.0, maximum=0.99)
    volume_mean = check_float("volume_mean", volume_mean, caller=caller, minimum=0.0)
    try:
        index = _calendar_index(n, first, step, calendar, caller)
    except (pd.errors.OutOfBoundsDatetime, OverflowError) as exc:
        raise InvalidParameterError(message(
            "n", caller, f"small enough for {n} bars of {step} from {first} to end before 2262",
            n, "Use a shorter freq or fewer bars.")) from exc
    return {"n": n, "seed": seed, "index": index, "calendar": calendar, "freq": step,
            "s0": s0, "substeps": substeps, "gap": gap, "volume_mean": volume_mean}


def _finish(rng: np.random.Generator, c: dict[str, Any], log_returns: np.ndarray,
            bar_sigma: np.ndarray, shocks: np.ndarray) -> pd.DataFrame:
    starts = _session_starts(c["index"], c["calendar"], c["freq"])
    return _build_ohlcv(rng, c["index"], log_returns, bar_sigma, shocks, s0=c["s0"],
                        substeps=c["substeps"], gap_fraction=c["gap"], session_start=starts,
                        volume_mean=c["volume_mean"])


def gbm(
    n: int,
    *,
    mu_per_bar: float = 0.0,
    sigma_per_bar: float = 0.01,
    seed: int = 0,
    start: str | pd.Timestamp = "2020-01-01",
    calendar: str = "24/7",
    freq: str | pd.Timedelta = "1d",
    s0: float = 100.0,
    substeps: int = 8,
    gap_variance_fraction: float = 0.2,
    volume_mean: float = 1e6,
) -> pd.DataFrame:
    """Simulate geometric Brownian motion bars.

    Parameters
    ----------
    n : int
        Number of bars, >= 1.
    mu_per_bar : float, default 0.0
        GBM drift per bar (decimal): ``E[close_t / close_{t-1}] = exp(mu_per_bar)``.
        For an annual drift ``mu`` use ``mu / periods_per_year``.
    sigma_per_bar : float, default 0.01
        GBM volatility per bar (decimal), >= 0; annual ``sigma / sqrt(periods_per_year)``.
    seed : int, default 0
        Seed of ``np.random.default_rng``.
    start, calendar, freq
        See :func:`calendar_index`.
    s0 : float, default 100.0
        Price before the first bar (the first bar's return is from ``s0``).
    substeps : int, default 8
        Points of the intrabar Brownian bridge (see the module notes).
    gap_variance_fraction : float, default 0.2
        Share of a session-opening bar's variance spent before its open (equity/fx only).
    volume_mean : float, default 1e6
        Mean volume per bar.

    Returns
    -------
    DataFrame
        Normalized OHLCV.

    Raises
    ------
    InvalidParameterError
        Any parameter outside its domain.

    Notes
    -----
    Log returns are i.i.d. ``N(mu_per_bar - sigma_per_bar**2 / 2, sigma_per_bar**2)``
    (Itô: ``dS/S = mu dt + sigma dW``).

    Examples
    --------
    >>> df = gbm(500, mu_per_bar=0.0005, sigma_per_bar=0.02, seed=1)
    >>> df.shape, bool((df.high >= df[["open", "close"]].max(axis=1)).all())
    ((500, 5), True)
    """
    caller = "gbm"
    mu = check_float("mu_per_bar", mu_per_bar, caller=caller)
    sigma = check_float("sigma_per_bar", sigma_per_bar, caller=caller, minimum=0.0)
    c = _common(caller, n, seed, start, calendar, freq, s0, substeps, gap_variance_fraction,
                volume_mean)
    rng = np.random.default_rng(c["seed"])
    z = rng.standard_normal(c["n"])
    r = (mu - 0.5 * sigma * sigma) + sigma * z
    return _finish(rng, c, r, np.full(c["n"], sigma), z)


def _standard_shocks(rng: np.random.Generator, n: int, dist: str, nu: float) -> np.ndarray:
    if dist == "normal":
        return rng.standard_normal(n)
    return rng.standard_t(nu, n) * math.sqrt((nu - 2.0) / nu)


def garch(
    n: int,
    *,
    omega: float = 0.05,
    alpha: float = 0.10,
    beta: float = 0.85,
    mu: float = 0.0,
    dist: str = "normal",
    nu: float = 8.0,
    scale: float = 100.0,
    seed: int = 0,
    start: str | pd.Timestamp = "2020-01-01",
    calendar: str = "24/7",
    freq: str | pd.Timedelta = "1d",
    s0: float = 100.0,
    substeps: int = 8,
    gap_variance_fraction: float = 0.2,
    volume_mean: float = 1e6,
) -> SyntheticResult:
    """Simulate GARCH(1,1) bars and return them with the true conditional volatility.

    Parameters
    ----------
    n : int
        Number of bars, >= 1.
    omega, alpha, beta : float, default 0.05, 0.10, 0.85
        GARCH(1,1) parameters of ``scale * log return`` (percent returns by default, the
        convention of ``arch`` and REFERENCES.md): ``omega > 0``, ``alpha, beta >= 0``,
        ``alpha + beta < 1``.
    mu : float, default 0.0
        Constant mean of ``scale * log return``.
    dist : {"normal", "t"}, default "normal"
        Innovations: standard normal, or Student t with ``nu`` degrees of freedom rescaled
        to unit variance (``arch``'s ``StudentsT``).
    nu : float, default 8.0
        Degrees of freedom for ``dist="t"``, > 2.
    scale : float, default 100.0
        The process describes ``scale * log return``; 100 means percent, 1 means decimal.
    seed, start, calendar, freq, s0, substeps, gap_variance_fraction, volume_mean
        See :func:`gbm`.

    Returns
    -------
    SyntheticResult
        ``data``; ``returns`` = log returns (decimal) = simulated process / ``scale``;
        ``volatility`` = ``sqrt(h_t) / scale``; ``states`` None.

    Raises
    ------
    InvalidParameterError
        ``alpha + beta >= 1`` (not covariance stationary), ``omega <= 0``, etc.

    Notes
    -----
    ``r_t = mu + e_t``, ``e_t = sqrt(h_t) z_t``, ``h_t = omega + alpha e_{t-1}^2 + beta h_{t-1}``
    (Bollerslev 1986), started at the unconditional variance ``h_0 = omega / (1 - alpha - beta)``.

    Examples
    --------
    >>> res = garch(1000, seed=3)
    >>> round(float(res.volatility.iloc[0] * 100) ** 2, 6)  # h_0 = 0.05 / 0.05
    1.0
    """
    caller = "garch"
    omega = check_float("omega", omega, caller=caller, minimum=0.0, exclusive_minimum=True)
    alpha = check_float("alpha", alpha, caller=caller, minimum=0.0)
    beta = check_float("beta", beta, caller=caller, minimum=0.0)
    if alpha + beta >= 1.0:
        raise InvalidParameterError(message(
            "alpha + beta", caller, "< 1 (covariance stationary)", alpha + beta,
            "Lower alpha or beta, e.g. alpha=0.10, beta=0.85; an integrated GARCH has no "
            "unconditional variance to start from."))
    mu = check_float("mu", mu, caller=caller)
    dist = check_choice("dist", dist, ("normal", "t"), caller=caller)
    nu = check_float("nu", nu, caller=caller, minimum=2.0, exclusive_minimum=True)
    scale = check_float("scale", scale, caller=caller, minimum=0.0, exclusive_minimum=True)
    c = _common(caller, n, seed, start, calendar, freq, s0, substeps, gap_variance_fraction,
                volume_mean)
    rng = np.random.default_rng(c["seed"])
    z = _standard_shocks(rng, c["n"], dist, nu)
    r, h = _garch_nb(z, omega, alpha, beta, mu, omega / (1.0 - alpha - beta))
    log_r = r / scale
    sigma = np.sqrt(h) / scale
    data = _finish(rng, c, log_r, sigma, z)
    params = {"omega": omega, "alpha": alpha, "beta": beta, "mu": mu, "dist": dist, "nu": nu,
              "scale": scale, "seed": c["seed"]}
    return SyntheticResult(data=data, returns=pd.Series(log_r, index=data.index, name="returns"),
                           volatility=pd.Series(sigma, index=data.index, name="volatility"),
                           params=params)


def stationary_distribution(transition: Any) -> np.ndarray:
    """Return the stationary distribution ``pi`` of a row-stochastic matrix (``pi P = pi``).

    Solves ``(P^T - I) pi = 0`` with ``sum(pi) = 1`` by least squares; for a reducible chain
    it returns one of the stationary distributions.

    Examples
    --------
    >>> stationary_distribution([[0.98, 0.02], [0.05, 0.95]]).round(4).tolist()
    [0.7143, 0.2857]
    """
    p = _check_transition(transition, caller="stationary_distribution")
    k = p.shape[0]
    a = np.vstack([p.T - np.eye(k), np.ones((1, k))])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _check_transition(transition: Any, *, caller: str) -> np.ndarray:
    try:
        p = np.asarray(transition, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(message("transition", caller, "a square matrix of probabilities",
                                            transition)) from exc
    if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] < 1:
        raise InvalidParameterError(message("transition", caller, "a square K x K matrix",
                                            f"shape {p.shape}"))
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise InvalidParameterError(message("transition", caller, "probabilities in [0, 1]",
                                            p.tolist()))
    sums = p.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=1e-8):
        row = int(np.argmax(np.abs(sums - 1.0)))
        raise InvalidParameterError(message(
            "transition", caller, "row-stochastic (each row sums to 1)",
            f"row {row} summing to {sums[row]:.10g}",
            "Row i holds P(next state = j | state = i); normalize with P / P.sum(axis=1, keepdims=True)."))
    return p


def regime_switching(
    n: int,
    *,
    transition: Sequence[Sequence[float]] | np.ndarray = ((0.98, 0.02), (0.05, 0.95)),
    means: Sequence[float] = (0.0, 0.0),
    vols: Sequence[float] = (0.005, 0.02),
    garch: tuple[float, float] | Sequence[tuple[float, float]] | None = None,
    initial_state: int | None = None,
    seed: int = 0,
    start: str | pd.Timestamp = "2020-01-01",
    calendar: str = "24/7",
    freq: str | pd.Timedelta = "1d",
    s0: float = 100.0,
    substeps: int = 8,
    gap_variance_fraction: float = 0.2,
    volume_mean: float = 1e6,
) -> SyntheticResult:
    """Simulate a Markov chain of Gaussian (or GARCH) regimes and the bars it drives.

    Parameters
    ----------
    n : int
        Number of bars, >= 1.
    transition : (K, K) array-like, default ((0.98, 0.02), (0.05, 0.95))
        Row-stochastic matrix, ``transition[i][j] = P(s_t = j | s_{t-1} = i)``.
    means : sequence of K floats, default (0.0, 0.0)
        Mean log return per bar of each regime (decimal).
    vols : sequence of K floats, default (0.005, 0.02)
        Volatility per bar of each regime (decimal, > 0); with ``garch`` it is each regime's
        unconditional volatility. Defaults: REFERENCES.md's two-state ground truth.
    garch : (alpha, beta) or K such pairs, optional
        Make each regime a GARCH(1,1) with ``omega_k = vols_k**2 (1 - alpha_k - beta_k)``,
        each regime keeping its own variance recursion driven by the realized residual
        (Haas, Mittnik & Paolella 2004). A single pair applies to all regimes.
    initial_state : int, optional
        State of the first bar; by default drawn from the stationary distribution.
    seed, start, calendar, freq, s0, substeps, gap_variance_fraction, volume_mean
        See :func:`gbm`.

    Returns
    -------
    SyntheticResult
        ``states`` holds the true regime of each bar, ``volatility`` its true conditional
        standard deviation, ``returns`` the log returns.

    Raises
    ------
    InvalidParameterError
        A transition matrix that is not square or whose rows do not sum to 1, lengths that
        do not match K, non-positive vols, ``alpha + beta >= 1``.

    Notes
    -----
    ``r_t = means[s_t] + vols[s_t] z_t`` with ``s_t`` a Markov chain (Hamilton 1989).
    The stationary distribution is :func:`stationary_distribution` of ``transition``;
    for two states ``pi_0 = (1 - p_11) / (2 - p_00 - p_11)``.

    Examples
    --------
    >>> res = regime_switching(2000, seed=5)
    >>> sorted(res.states.unique().tolist())
    [0, 1]
    """
    caller = "regime_switching"
    p = _check_transition(transition, caller=caller)
    k = p.shape[0]
    mean_arr = _vector("means", means, k, caller=caller)
    vol_arr = _vector("vols", vols, k, caller=caller)
    if (vol_arr <= 0).any():
        raise InvalidParameterError(message("vols", caller, "> 0 for every regime", vol_arr.tolist()))
    garch_arr = None
    if garch is not None:
        garch_arr = _garch_pairs(garch, k, caller)
    if initial_state is not None:
        initial_state = check_int("initial_state", initial_state, caller=caller, minimum=0,
                                  maximum=k - 1)
    c = _common(caller, n, seed, start, calendar, freq, s0, substeps, gap_variance_fraction,
                volume_mean)
    rng = np.random.default_rng(c["seed"])
    u = rng.random(c["n"])
    if initial_state is None:
        pi = stationary_distribution(p)
        initial_state = int(min(np.searchsorted(np.cumsum(pi), u[0], side="right"), k - 1))
    cumulative = np.cumsum(p, axis=1)
    cumulative[:, -1] = 1.0
    states = _markov_chain_nb(u, cumulative, initial_state)
    z = rng.standard_normal(c["n"])
    if garch_arr is None:
        sigma = vol_arr[states]
        r = mean_arr[states] + sigma * z
    else:
        alphas = np.ascontiguousarray(garch_arr[:, 0])
        betas = np.ascontiguousarray(garch_arr[:, 1])
        omegas = vol_arr**2 * (1.0 - alphas - betas)
        r, h = _ms_garch_nb(z, states, mean_arr, omegas, alphas, betas, vol_arr**2)
        sigma = np.sqrt(h)
    data = _finish(rng, c, r, sigma, z)
    params = {"transition": p.tolist(), "means": mean_arr.tolist(), "vols": vol_arr.tolist(),
              "garch": None if garch_arr is None else garch_arr.tolist(),
              "initial_state": initial_state, "seed": c["seed"]}
    return SyntheticResult(data=data, returns=pd.Series(r, index=data.index, name="returns"),
                           volatility=pd.Series(sigma, index=data.index, name="volatility"),
                           states=pd.Series(states, index=data.index, name="state"),
                           params=params)


def _vector(name: str, value: Any, k: int, *, caller: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(message(name, caller, f"{k} finite numbers", value)) from exc
    if arr.shape != (k,) or not np.isfinite(arr).all():
        raise InvalidParameterError(message(name, caller, f"{k} finite numbers (one per regime)",
                                            value, "Give one value per row of `transition`."))
    return arr


def _garch_pairs(value: Any, k: int, caller: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(message("garch", caller, "an (alpha, beta) pair or one per regime",
                                            value)) from exc
    if arr.shape == (2,):
        arr = np.tile(arr, (k, 1))
    if arr.shape != (k, 2) or not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidParameterError(message("garch", caller,
                                            f"an (alpha, beta) pair or {k} such pairs, all >= 0",
                                            value))
    total = arr.sum(axis=1)
    if (total >= 1.0).any():
        bad = int(np.argmax(total))
        raise InvalidParameterError(message(
            "garch", caller, "pairs with alpha + beta < 1 (covariance stationary)",
            f"alpha + beta = {total[bad]:g} in regime {bad}",
            "Lower alpha or beta, e.g. (0.10, 0.85)."))
    return arr

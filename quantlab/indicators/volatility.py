"""Volatility indicators: true range, ATR/NATR, rolling standard deviation and variance,
Bollinger, Keltner and Donchian channels, rolling z-score.

Every indicator is one state-carrying numba kernel (see :mod:`quantlab.indicators._api`),
run by both the batch function and its streaming twin (upper-case class of the same name).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab._jit import njit
from quantlab._validate import check_float, check_int
from quantlab.indicators._api import Spec, Stream, compute, window_list
from quantlab.indicators._rolling import (
    nonfinite_nb,
    rolling_max_min_nb,
    rolling_max_min_state_size,
)
from quantlab.indicators.overlap import _ring_or_x, ema_step_nb

__all__ = [
    "trange",
    "atr",
    "natr",
    "stddev",
    "var",
    "bbands",
    "keltner",
    "donchian",
    "zscore",
    "TRANGE",
    "ATR",
    "NATR",
    "STDDEV",
    "VAR",
    "BBANDS",
    "KELTNER",
    "DONCHIAN",
    "ZSCORE",
    "trange_nb",
    "atr_nb",
    "natr_nb",
    "rolling_var_nb",
    "stddev_nb",
    "var_nb",
    "bbands_nb",
    "keltner_nb",
    "donchian_nb",
    "zscore_nb",
]

# Relative loss of significance of the running second moment that triggers an exact recompute.
_RECOMPUTE_BELOW = 1e-3


# ---------------------------------------------------------------- kernels
@njit
def _true_range_nb(h, lo, prev, seen):  # pragma: no cover - numba
    """TA-Lib's true range of one bar (NaN at the first bar or if an input is NaN)."""
    g = h - lo
    a = abs(prev - h)
    b = abs(prev - lo)
    if a > g:
        g = a
    if b > g:
        g = b
    s = g + a + b  # NaN iff one of h, lo, prev is NaN
    return g if (seen > 0.0 and s == s) else np.nan


@njit
def trange_nb(high, low, close, state, out):  # pragma: no cover - numba
    """float64[:] x3 -> out float64[:]; NaN at the first bar and where high, low, close or the
    previous close is NaN. Equals talib.TRANGE: max(h - l, |c_prev - h|, |c_prev - l|).

    state: [bars seen, previous close].
    """
    n = high.shape[0]
    if n == 0:
        return
    out[0] = _true_range_nb(high[0], low[0], state[1], state[0])
    for i in range(1, n):  # no loop-carried value: LLVM vectorizes this loop
        out[i] = _true_range_nb(high[i], low[i], close[i - 1], 1.0)
    state[0] += n
    state[1] = close[n - 1]


@njit
def _atr_warmup_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    """The bars of atr_nb before its smoothing is seeded (general per-bar step); returns the
    index of the first bar left for the steady loop, with ``state`` updated up to it."""
    seen, prev = state[0], state[1]
    e_seen, e_seed, e_prev = state[2], state[3], state[4]
    alpha = 1.0 / window
    i = 0
    while i < high.shape[0] and (seen == 0.0 or e_seen < window):
        tr = _true_range_nb(high[i], low[i], prev, seen)
        prev = close[i]
        seen += 1.0
        out[i], e_seen, e_seed, e_prev = ema_step_nb(tr, window, alpha, e_seen, e_seed, e_prev)
        i += 1
    state[0], state[1], state[2], state[3], state[4] = seen, prev, e_seen, e_seed, e_prev
    return i


@njit(fastmath={"contract"})  # FMA contraction only: faster, at least as accurate
def atr_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    """float64[:] x3 -> out float64[:]; Wilder smoothing of the true range, seeded with the mean
    of the first `window` true ranges (ema_nb's seed), then ATR_t = (1 - a) ATR_{t-1} + a TR_t
    with a = 1/window, compiled with FMA contraction (one fused multiply-add on the
    loop-carried chain; TA-Lib's ((n - 1) ATR + TR) / n agrees to ~1e-15 relative). NaN
    true-range bars are skipped. Equals talib.ATR.

    state: [trange state (2), ema_nb state (3)].
    """
    start = _atr_warmup_nb(high, low, close, window, state, out)
    n = high.shape[0]
    if start == n:
        return
    alpha = 1.0 / window
    beta = 1.0 - alpha
    atr = state[4]
    prev = state[1]
    valid = 0
    # Steady state: the true range and ema_step_nb's last branch, inline, over views from the
    # first steady bar (numba's range(start, n) loop was measured ~1.5x slower than range(m)).
    hs, ls, cs, os = high[start:], low[start:], close[start:], out[start:]
    for j in range(os.shape[0]):
        h = hs[j]
        lo = ls[j]
        g = h - lo
        a = abs(prev - h)
        b = abs(prev - lo)
        prev = cs[j]
        if a > g:
            g = a
        if b > g:
            g = b
        s = g + a + b  # NaN iff one of h, lo, prev is NaN
        if s != s:
            os[j] = np.nan
            continue
        atr = beta * atr + alpha * g  # one FMA on the loop-carried chain
        os[j] = atr
        valid += 1
    state[0] += n - start
    state[1] = prev
    state[2] += valid
    state[4] = atr


@njit
def natr_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    """float64[:] x3 -> out float64[:]; 100 * ATR / close, NaN where close == 0.
    Equals talib.NATR (which writes 0.0 where close == 0).

    state: as atr_nb.
    """
    atr_nb(high, low, close, window, state, out)
    for i in range(out.shape[0]):  # a second pass: it vectorizes (no loop-carried chain)
        c = close[i]
        out[i] = (out[i] / c) * 100.0 if c != 0.0 else np.nan


def rolling_var_state_size(window: int) -> int:
    """State length of :func:`rolling_var_nb` for ``window``."""
    return 11 + window


@njit
def _exact_sums_nb(x, buf, seen, window, k):  # pragma: no cover - numba
    """Exact moments of the `window` bars ending at absolute bar ``k`` (read from this call's
    ``x`` or the ring), oldest first: (centre = two-pass mean, Σ(x − centre), Σ(x − centre)²)."""
    total = 0.0
    for a in range(k - window + 1, k + 1):
        total += _ring_or_x(x, buf, seen, window, a)
    centre = total / window
    s1 = 0.0
    s2 = 0.0
    for a in range(k - window + 1, k + 1):
        d = _ring_or_x(x, buf, seen, window, a) - centre
        s1 += d
        s2 += d * d
    return centre, s1, s2


@njit
def _mean_var_out_nb(v, run, window, c, s1, m2, inv):  # pragma: no cover - numba
    """(mean, population variance) of a window from its sums about ``c``; exactly (v, 0) when
    the last ``run`` >= window bars all equal v (a constant window)."""
    if run >= window:
        return v, 0.0
    return c + s1 * inv, (m2 * inv if m2 > 0.0 else 0.0)


@njit
def rolling_var_nb(x, window, state, out_mean, out_var):  # pragma: no cover - numba
    """float64[:] -> out_mean, out_var float64[:]; rolling mean and population variance (ddof=0)
    over `window` bars, NaN until `window` values and while a NaN or ±inf is in the window
    (pandas ``rolling(window).mean()`` / ``.var(ddof=0)`` policy, which treats ±inf as NaN;
    equal to them, and to talib.VAR on finite input).
    ``out_mean`` may be the same array as ``out_var``: it is written first, so it then holds
    the variance (callers that need no mean pass their output twice and allocate nothing).

    Method: running sums S1 = Σ(x − c), S2 = Σ(x − c)² about a centre c close to the data, so
    mean = c + S1/n and variance = (S2 − S1²/n)/n lose no digits to the price level (TA-Lib's
    sums of x and x² do). The bars are cut in blocks of `window` (by absolute bar index); the
    sums of each block about its first value are accumulated alongside and, at the block's
    last bar (when the block is the window), replace the running sums, so rounding never
    builds up over more than `window` updates. An exact two-pass recompute about the mean
    runs after a NaN or ±inf leaves the window and when S2 − S1²/n falls below 1e-3 of the squared
    deviations entering and leaving S2 at that bar (cancellation: the bar that makes the
    variance small relative to the terms carried, e.g. a spike leaving or a jump away from c,
    triggers it; at a block's end, whose sums are centred on one of the block's values, only
    a negative S2 − S1²/n does). A window of identical values gives exactly mean = value,
    variance = 0.

    state: [bars seen, non-finite inputs in window, c, S1, S2, previous input, equal-run length, exact sums
    needed (0/1), block centre, block Σ(x − centre), block Σ(x − centre)², ring(window)] where
    ring slot k % window holds bar k.
    """
    seen = int(state[0])
    nans = int(state[1])
    c = state[2]
    s1 = state[3]
    s2 = state[4]
    prev = state[5]
    run = int(state[6])
    dirty = state[7] != 0.0 or seen == 0
    bc = state[8]
    b1 = state[9]
    b2 = state[10]
    buf = state[11:]
    inv = 1.0 / window
    last = window - 1
    n = x.shape[0]
    ph = seen % window  # position of bar i in its block
    i = 0
    while i < n:
        if i >= window and nans == 0 and not dirty:
            # Fast path: no NaN in the window, the leaving bar read from x, over views (numba's
            # range(i, n) loop was measured ~1.5x slower than range(m)); it stops, leaving the
            # bar untouched, at a NaN, which the general step below then takes.
            m = n - i
            xs, gs = x[i:], x[i - window : i - window + m]
            oms, ovs = out_mean[i:], out_var[i:]
            done = 0
            cancelled = False
            if ph == 0:  # a block starts: centre its sums on its first value (as below)
                bc = xs[0]
                b1 = 0.0
                b2 = 0.0
            for j in range(m):
                v = xs[j]
                if nonfinite_nb(v):
                    break
                d = v - bc
                b1 += d
                b2 += d * d
                if ph == last:  # the block is the window: its sums replace the running ones
                    c = bc
                    s1 = b1
                    s2 = b2
                    tol = 0.0
                    ph = 0
                    if j + 1 < m:  # the next block starts: centre on its first value
                        bc = xs[j + 1]
                        b1 = 0.0
                        b2 = 0.0
                else:
                    d = v - c
                    e = gs[j] - c
                    dd = d * d
                    ee = e * e
                    s1 += d - e
                    s2 += dd - ee
                    tol = (dd + ee) * _RECOMPUTE_BELOW
                    ph += 1
                m2 = s2 - s1 * (s1 * inv)
                if m2 < tol:  # cancellation (rare): the bar is finished after the loop
                    cancelled = True
                    break
                run = run + 1 if v == prev else 1  # an int: the FP units are the bottleneck
                prev = v
                oms[j], ovs[j] = _mean_var_out_nb(v, run, window, c, s1, m2, inv)
                done += 1
            if cancelled:  # out of the loop, so its rare work does not weigh on the hot loop
                v = xs[done]
                c, s1, s2 = _exact_sums_nb(x, buf, seen, window, seen + i + done)
                m2 = s2 - s1 * (s1 * inv)
                run = run + 1 if v == prev else 1
                prev = v
                oms[done], ovs[done] = _mean_var_out_nb(v, run, window, c, s1, m2, inv)
                done += 1
            i += done
            if i == n:
                break
        # general step: the first `window` bars of a call, NaNs, exact recomputes
        v = x[i]
        k = seen + i
        if nonfinite_nb(v):
            nans += 1
        if k >= window:
            old = _ring_or_x(x, buf, seen, window, k - window)
            if nonfinite_nb(old):
                nans -= 1
        if ph == 0:  # a block starts: centre its sums on its first value
            bc = v
            b1 = 0.0
            b2 = 0.0
        d = v - bc
        b1 += d
        b2 += d * d
        run = run + 1 if v == prev else 1
        prev = v
        if nans > 0 or k + 1 < window:
            dirty = True
            out_mean[i] = np.nan
            out_var[i] = np.nan
        else:
            tol = 0.0
            if ph == last:
                c = bc
                s1 = b1
                s2 = b2
                dirty = False
            elif dirty:
                c, s1, s2 = _exact_sums_nb(x, buf, seen, window, k)
                dirty = False
            else:
                d = v - c
                e = old - c
                dd = d * d
                ee = e * e
                s1 += d - e
                s2 += dd - ee
                tol = (dd + ee) * _RECOMPUTE_BELOW
            m2 = s2 - s1 * (s1 * inv)
            if m2 < tol:
                c, s1, s2 = _exact_sums_nb(x, buf, seen, window, k)
                m2 = s2 - s1 * (s1 * inv)
            out_mean[i], out_var[i] = _mean_var_out_nb(v, run, window, c, s1, m2, inv)
        ph = 0 if ph == last else ph + 1
        i += 1
    for i in range(max(0, n - window), n):
        buf[(seen + i) % window] = x[i]
    state[0] = seen + n
    state[1] = nans
    state[2] = c
    state[3] = s1
    state[4] = s2
    state[5] = prev
    state[6] = run
    state[7] = 1.0 if dirty else 0.0
    state[8] = bc
    state[9] = b1
    state[10] = b2


@njit
def var_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; rolling population variance; equals talib.VAR and pandas
    ``rolling(window).var(ddof=0)``. state: rolling_var_nb's (11 + window)."""
    rolling_var_nb(x, window, state, out, out)  # no mean wanted: out twice, var written last


@njit
def stddev_nb(x, window, k, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; k * rolling population standard deviation; equals
    talib.STDDEV(nbdev=k) and k * pandas ``rolling(window).std(ddof=0)``.
    state: rolling_var_nb's (11 + window)."""
    rolling_var_nb(x, window, state, out, out)  # no mean wanted: out twice, var written last
    for i in range(x.shape[0]):
        out[i] = np.sqrt(out[i]) * k


@njit
def bbands_nb(x, window, k, state, upper, middle, lower, percent_b, bandwidth):  # pragma: no cover - numba
    """float64[:] -> 5 x float64[:]; Bollinger bands: middle = SMA, upper/lower = middle +/- k *
    population std; percent_b = (x - lower) / (upper - lower), bandwidth = (upper - lower) /
    middle (NaN where the denominator is 0). Equals talib.BBANDS(nbdevup=k, nbdevdn=k, matype=0).
    state: rolling_var_nb's (11 + window)."""
    rolling_var_nb(x, window, state, middle, upper)
    for i in range(x.shape[0]):
        mid = middle[i]
        half = np.sqrt(upper[i]) * k
        up = mid + half
        lo = mid - half
        upper[i] = up
        lower[i] = lo
        width = up - lo
        percent_b[i] = (x[i] - lo) / width if width != 0.0 else np.nan
        bandwidth[i] = width / mid if mid != 0.0 else np.nan


@njit
def zscore_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; (x - rolling mean) / rolling population std, NaN where the
    std is 0 (equals pandas ``(x - r.mean()) / r.std(ddof=0)``). state: rolling_var_nb's."""
    mean = np.empty(x.shape[0], dtype=np.float64)
    rolling_var_nb(x, window, state, mean, out)
    for i in range(x.shape[0]):
        sd = np.sqrt(out[i])
        out[i] = (x[i] - mean[i]) / sd if sd > 0.0 else np.nan


@njit
def keltner_nb(high, low, close, window, k, atr_window, state, upper, middle, lower):  # pragma: no cover - numba
    """float64[:] x3 -> upper, middle, lower float64[:]; middle = EMA(close, window) (ema_nb),
    bands = middle +/- k * ATR(atr_window) (atr_nb); NaN until both are defined.
    state: [ema_nb state (3), atr_nb state (5)]."""
    alpha = 2.0 / (window + 1.0)
    m_seen, m_seed, m_prev = state[0], state[1], state[2]
    seen, prev = state[3], state[4]
    e_seen, e_seed, e_prev = state[5], state[6], state[7]
    a_alpha = 1.0 / atr_window
    for i in range(close.shape[0]):
        c = close[i]
        mid, m_seen, m_seed, m_prev = ema_step_nb(c, window, alpha, m_seen, m_seed, m_prev)
        tr = _true_range_nb(high[i], low[i], prev, seen)
        prev = c
        seen += 1.0
        rng, e_seen, e_seed, e_prev = ema_step_nb(tr, atr_window, a_alpha, e_seen, e_seed, e_prev)
        band = k * rng
        lo = mid - band
        upper[i] = mid + band
        lower[i] = lo
        middle[i] = mid if lo == lo else np.nan
    state[0], state[1], state[2] = m_seen, m_seed, m_prev
    state[3], state[4], state[5], state[6], state[7] = seen, prev, e_seen, e_seed, e_prev


@njit
def donchian_nb(high, low, window, state, upper, middle, lower):  # pragma: no cover - numba
    """float64[:] x2 -> upper, middle, lower float64[:]; rolling max of high, (upper + lower)/2,
    rolling min of low over `window` bars; pandas ``rolling(window).max()/.min()`` NaN policy.
    state: rolling_max_min_nb's (values only: van Herk / Gil-Werman blocks)."""
    rolling_max_min_nb(high, low, window, state, upper, lower)
    for i in range(high.shape[0]):
        middle[i] = (upper[i] + lower[i]) * 0.5


# ---------------------------------------------------------------- specs
TRANGE_SPEC = Spec("trange", trange_nb, ("high", "low", "close"), (), lambda: 2)
ATR_SPEC = Spec("atr", atr_nb, ("high", "low", "close"), ("window",), lambda window: 5)
NATR_SPEC = Spec("natr", natr_nb, ("high", "low", "close"), ("window",), lambda window: 5)
STDDEV_SPEC = Spec("stddev", stddev_nb, ("close",), ("window", "k"), lambda window, k: rolling_var_state_size(window))
VAR_SPEC = Spec("var", var_nb, ("close",), ("window",), rolling_var_state_size)
BBANDS_SPEC = Spec(
    "bbands",
    bbands_nb,
    ("close",),
    ("window", "k"),
    lambda window, k: rolling_var_state_size(window),
    ("upper", "middle", "lower", "percent_b", "bandwidth"),
)
ZSCORE_SPEC = Spec("zscore", zscore_nb, ("close",), ("window",), rolling_var_state_size)
KELTNER_SPEC = Spec(
    "keltner",
    keltner_nb,
    ("high", "low", "close"),
    ("window", "k", "atr_window"),
    lambda window, k, atr_window: 8,
    ("upper", "middle", "lower"),
)
DONCHIAN_SPEC = Spec(
    "donchian",
    donchian_nb,
    ("high", "low"),
    ("window",),
    rolling_max_min_state_size,
    ("upper", "middle", "lower"),
)


def _check_window(name: str, value: Any, caller: str) -> int:
    return check_int(name, value, caller=caller, minimum=1)


def _k(value: Any, caller: str, name: str = "k") -> float:
    return check_float(name, value, caller=caller, minimum=0.0)


# ---------------------------------------------------------------- pandas API
def trange(high: Any, low: Any, close: Any) -> Any:
    """True range.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices (same shape and index; one column per asset).

    Returns
    -------
    Same type as ``high``
        TR_t = max(high_t − low_t, |close_{t−1} − high_t|, |close_{t−1} − low_t|); NaN at the
        first bar (TA-Lib's lookback of 1).

    Raises
    ------
    DataError
        Inputs of different lengths or indexes, or non-numeric.
    InvalidParameterError
        Inputs of different shapes.

    Notes
    -----
    Wilder (1978), *New Concepts in Technical Trading Systems*. Equals ``talib.TRANGE``.
    NaN policy: a 2-bar window indicator — NaN where ``high``, ``low``, ``close`` or the previous
    close is NaN. Constant bars give 0; integer input is converted to float.

    Examples
    --------
    >>> import numpy as np
    >>> trange(np.array([2.0, 3.0, 5.0]), np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.5, 4.5]))
    array([nan, 1.5, 2.5])
    """
    return compute(TRANGE_SPEC, {"high": high, "low": low, "close": close}, {})


def atr(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Average true range (Wilder).

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Smoothing period (>= 1). A list gives one column per window.

    Returns
    -------
    Same type as ``high``
        NaN for the first ``window`` bars (TA-Lib's lookback); ATR_window = mean of the first
        ``window`` true ranges (bars 1..window), then ATR_t = ATR_{t−1} + (TR_t − ATR_{t−1}) / window.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1; inputs of different shapes.
    DataError
        Inputs of different lengths or indexes, or non-numeric.

    Notes
    -----
    Wilder (1978). Equals ``talib.ATR``. NaN policy: true-range bars that are NaN (a NaN in
    ``high``/``low``/``close`` at t, or in ``close`` at t−1) are skipped — output NaN there and
    the smoothing state unchanged, which equals smoothing ``trange(...).dropna()`` and
    reindexing. A ±inf input is not skipped: its true range is inf, so every later output is
    ±inf or NaN (as TA-Lib); replace ±inf with NaN first to skip such bars. Input shorter than
    ``window + 1`` bars: all NaN. Constant bars: 0.

    Examples
    --------
    >>> import numpy as np
    >>> h, lo, c = np.array([2.0, 3.0, 5.0, 6.0]), np.array([1.0, 2.0, 4.0, 5.0]), np.array([1.5, 2.5, 4.5, 5.5])
    >>> atr(h, lo, c, 2)
    array([ nan,  nan, 2.  , 1.75])
    """
    return compute(ATR_SPEC, {"high": high, "low": low, "close": close}, {"window": window_list("window", window, caller="atr")})


def natr(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Normalized average true range, in percent of the close.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        ATR smoothing period (>= 1).

    Returns
    -------
    Same type as ``high``
        NATR_t = 100 · ATR_t / close_t; NaN where ATR is NaN and where close_t == 0.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1; inputs of different shapes.
    DataError
        Inputs of different lengths or indexes, or non-numeric.

    Notes
    -----
    Equals ``talib.NATR`` where close != 0 (TA-Lib writes 0.0 at a zero close; quantlab writes
    NaN, since the ratio is undefined) and window >= 2 (TA-Lib's NATR with timeperiod=1 returns
    the raw true range, unnormalized; quantlab applies the formula). NaN policy and warm-up as :func:`atr`.

    Examples
    --------
    >>> import numpy as np
    >>> h, lo, c = np.array([2.0, 3.0, 5.0, 6.0]), np.array([1.0, 2.0, 4.0, 5.0]), np.array([1.5, 2.5, 4.0, 5.0])
    >>> natr(h, lo, c, 2)
    array([nan, nan, 50., 40.])
    """
    return compute(NATR_SPEC, {"high": high, "low": low, "close": close}, {"window": window_list("window", window, caller="natr")})


def stddev(close: Any, window: int | list[int] = 5, k: float = 1.0) -> Any:
    """Rolling population standard deviation, times ``k``.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices (one column per asset).
    window : int or list of int, default 5
        Bars in the window (>= 1).
    k : float, default 1.0
        Multiplier (TA-Lib's ``nbdev``), >= 0.

    Returns
    -------
    Same type as ``close``
        k · sqrt((1/n) Σ (x_i − mean)²) over the last ``window`` bars; NaN for the first
        ``window − 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1, ``k`` not a finite number >= 0.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Population (ddof=0) as ``talib.STDDEV``; equals ``k * close.rolling(window).std(ddof=0)``.
    Computed with running sums of deviations from a centre near the data, replaced every
    ``window`` bars by sums accumulated afresh and recomputed exactly on loss of significance
    (TA-Lib uses running sums of x and x², which lose digits when the std is small relative to
    the price level, e.g. FX). NaN policy: pandas ``rolling(window)``, ±inf counting as NaN
    (NaN while it is in the window, the clean value after). Constant window: exactly 0.
    Shorter input than ``window``: all NaN.

    Examples
    --------
    >>> import numpy as np
    >>> stddev(np.array([1.0, 3.0, 5.0, 5.0]), 2)
    array([nan,  1.,  1.,  0.])
    """
    return compute(
        STDDEV_SPEC,
        {"close": close},
        {"window": window_list("window", window, caller="stddev"), "k": _k(k, "stddev")},
    )


def var(close: Any, window: int | list[int] = 5) -> Any:
    """Rolling population variance.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 5
        Bars in the window (>= 1).

    Returns
    -------
    Same type as ``close``
        (1/n) Σ (x_i − mean)² over the last ``window`` bars; NaN for the first ``window − 1``.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Population variance (ddof=0) like ``talib.VAR``; equals ``close.rolling(window).var(ddof=0)``.
    Method, NaN policy and constant windows as :func:`stddev`.

    Examples
    --------
    >>> import numpy as np
    >>> var(np.array([1.0, 3.0, 5.0, 5.0]), 2)
    array([nan,  1.,  1.,  0.])
    """
    return compute(VAR_SPEC, {"close": close}, {"window": window_list("window", window, caller="var")})


def bbands(close: Any, window: int | list[int] = 5, k: float = 2.0) -> Any:
    """Bollinger bands with %B and bandwidth.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 5
        Bars in the moving average and standard deviation (>= 1). TA-Lib's default.
    k : float, default 2.0
        Band width in standard deviations (TA-Lib's ``nbdevup = nbdevdn``), >= 0.

    Returns
    -------
    DataFrame (tuple of 5 arrays for ndarray input)
        Columns ``upper, middle, lower`` (TA-Lib's order), then ``percent_b`` and ``bandwidth``.
        NaN for the first ``window − 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1, ``k`` not a finite number >= 0.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Bollinger (2001), *Bollinger on Bollinger Bands*. middle = SMA(window),
    upper/lower = middle ± k·σ with σ the population std (ddof=0);
    percent_b = (close − lower)/(upper − lower); bandwidth = (upper − lower)/middle.
    Equals ``talib.BBANDS(close, window, k, k, matype=0)``. A constant window has σ = 0:
    the bands collapse onto the middle and percent_b is NaN (0/0); bandwidth is NaN where
    middle == 0. NaN policy: pandas ``rolling(window)``.

    Examples
    --------
    >>> import numpy as np
    >>> upper, middle, lower, pb, bw = bbands(np.array([1.0, 3.0, 5.0]), 2, 2.0)
    >>> upper, middle, lower
    (array([nan,  4.,  6.]), array([nan,  2.,  4.]), array([nan,  0.,  2.]))
    >>> pb
    array([ nan, 0.75, 0.75])
    """
    return compute(
        BBANDS_SPEC,
        {"close": close},
        {"window": window_list("window", window, caller="bbands"), "k": _k(k, "bbands")},
    )


def keltner(
    high: Any, low: Any, close: Any, window: int | list[int] = 20, k: float = 2.0, atr_window: int = 10
) -> Any:
    """Keltner channel: an EMA of the close with bands at ± k ATR.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 20
        EMA span of the middle line (>= 1).
    k : float, default 2.0
        Band width in ATRs (>= 0).
    atr_window : int, default 10
        ATR smoothing period (>= 1).

    Returns
    -------
    DataFrame (tuple of 3 arrays for ndarray input)
        Columns ``upper, middle, lower``; NaN until both the EMA (``window − 1`` bars) and the
        ATR (``atr_window`` bars) are defined.

    Raises
    ------
    InvalidParameterError
        A window not an integer >= 1, ``k`` not a finite number >= 0; inputs of different shapes.
    DataError
        Inputs of different lengths or indexes, or non-numeric.

    Notes
    -----
    Convention (the modern one of Raschke / StockCharts, not Keltner's 1960 SMA-of-typical-price
    version): middle = EMA(close, window) as :func:`~quantlab.indicators.overlap.ema` (TA-Lib
    seed: SMA of the first ``window`` closes), upper/lower = middle ± k · ATR(atr_window) as
    :func:`atr` (Wilder). TA-Lib has no Keltner channel. NaN policy: both parts skip NaN bars
    (see :func:`ema` and :func:`atr`).

    Examples
    --------
    >>> import numpy as np
    >>> h, lo, c = np.array([2.0, 3.0, 5.0, 6.0]), np.array([1.0, 2.0, 4.0, 5.0]), np.array([1.5, 2.5, 4.5, 5.5])
    >>> upper, middle, lower = keltner(h, lo, c, window=2, k=1.0, atr_window=2)
    >>> middle
    array([       nan,        nan, 3.66666667, 4.88888889])
    """
    caller = "keltner"
    return compute(
        KELTNER_SPEC,
        {"high": high, "low": low, "close": close},
        {
            "window": window_list("window", window, caller=caller),
            "k": _k(k, caller),
            "atr_window": _check_window("atr_window", atr_window, caller),
        },
    )


def donchian(high: Any, low: Any, window: int | list[int] = 20) -> Any:
    """Donchian channel: highest high, midpoint and lowest low over a window.

    Parameters
    ----------
    high, low : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 20
        Bars in the window (>= 1), including the current bar.

    Returns
    -------
    DataFrame (tuple of 3 arrays for ndarray input)
        Columns ``upper`` = max(high over window), ``middle`` = (upper + lower)/2,
        ``lower`` = min(low over window); NaN for the first ``window − 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1; inputs of different shapes.
    DataError
        Inputs of different lengths or indexes, or non-numeric.

    Notes
    -----
    Donchian (1960). The window includes the current bar (as ``talib.MAX(high)``/``talib.MIN(low)``);
    for a breakout rule compare the close with the *previous* bar's channel
    (``.shift(1)``) to avoid look-ahead. NaN policy: pandas ``rolling(window).max()/.min()``.

    Examples
    --------
    >>> import numpy as np
    >>> upper, middle, lower = donchian(np.array([2.0, 4.0, 3.0]), np.array([1.0, 2.0, 0.0]), 2)
    >>> upper, middle, lower
    (array([nan,  4.,  4.]), array([nan, 2.5, 2. ]), array([nan,  1.,  0.]))
    """
    return compute(DONCHIAN_SPEC, {"high": high, "low": low}, {"window": window_list("window", window, caller="donchian")})


def zscore(close: Any, window: int | list[int] = 20) -> Any:
    """Rolling z-score of the close against its own window.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 20
        Bars in the window (>= 1), including the current bar.

    Returns
    -------
    Same type as ``close``
        (close − SMA(window)) / σ(window) with σ the population std (ddof=0, like
        :func:`stddev` and :func:`bbands`); NaN for the first ``window − 1`` bars and wherever
        σ = 0 (a constant window: 0/0, undefined).

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Equals ``(close − r.mean()) / r.std(ddof=0)`` with ``r = close.rolling(window)``; for
    Bollinger bands of the same window and width k, z = k·(2·percent_b − 1).
    NaN policy: pandas ``rolling(window)``.

    Examples
    --------
    >>> import numpy as np
    >>> zscore(np.array([1.0, 3.0, 5.0, 5.0]), 2)
    array([nan,  1.,  1., nan])
    """
    return compute(ZSCORE_SPEC, {"close": close}, {"window": window_list("window", window, caller="zscore")})


# ---------------------------------------------------------------- streaming twins
class TRANGE(Stream):
    """Streaming :func:`trange`: ``TRANGE().update(high, low, close) -> value``."""

    def __init__(self) -> None:
        super().__init__(TRANGE_SPEC, {})


class ATR(Stream):
    """Streaming :func:`atr`: ``ATR(window).update(high, low, close) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(ATR_SPEC, {"window": _check_window("window", window, "ATR")})


class NATR(Stream):
    """Streaming :func:`natr`: ``NATR(window).update(high, low, close) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(NATR_SPEC, {"window": _check_window("window", window, "NATR")})


class STDDEV(Stream):
    """Streaming :func:`stddev`: ``STDDEV(window, k).update(close) -> value``."""

    def __init__(self, window: int = 5, k: float = 1.0) -> None:
        super().__init__(STDDEV_SPEC, {"window": _check_window("window", window, "STDDEV"), "k": _k(k, "STDDEV")})


class VAR(Stream):
    """Streaming :func:`var`: ``VAR(window).update(close) -> value``."""

    def __init__(self, window: int = 5) -> None:
        super().__init__(VAR_SPEC, {"window": _check_window("window", window, "VAR")})


class BBANDS(Stream):
    """Streaming :func:`bbands`: ``BBANDS(window, k).update(close) -> {upper, middle, lower,
    percent_b, bandwidth}``."""

    def __init__(self, window: int = 5, k: float = 2.0) -> None:
        super().__init__(BBANDS_SPEC, {"window": _check_window("window", window, "BBANDS"), "k": _k(k, "BBANDS")})


class KELTNER(Stream):
    """Streaming :func:`keltner`: ``KELTNER(window, k, atr_window).update(high, low, close)
    -> {upper, middle, lower}``."""

    def __init__(self, window: int = 20, k: float = 2.0, atr_window: int = 10) -> None:
        super().__init__(
            KELTNER_SPEC,
            {
                "window": _check_window("window", window, "KELTNER"),
                "k": _k(k, "KELTNER"),
                "atr_window": _check_window("atr_window", atr_window, "KELTNER"),
            },
        )


class DONCHIAN(Stream):
    """Streaming :func:`donchian`: ``DONCHIAN(window).update(high, low) -> {upper, middle, lower}``."""

    def __init__(self, window: int = 20) -> None:
        super().__init__(DONCHIAN_SPEC, {"window": _check_window("window", window, "DONCHIAN")})


class ZSCORE(Stream):
    """Streaming :func:`zscore`: ``ZSCORE(window).update(close) -> value``."""

    def __init__(self, window: int = 20) -> None:
        super().__init__(ZSCORE_SPEC, {"window": _check_window("window", window, "ZSCORE")})

"""Moving averages (TA-Lib's "overlap studies")."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quantlab._jit import njit
from quantlab._validate import check_int
from quantlab.indicators._api import Spec, Stream, compute, window_list
from quantlab.indicators._rolling import nonfinite_nb

__all__ = [
    "sma",
    "ema",
    "wma",
    "dema",
    "tema",
    "trima",
    "kama",
    "hma",
    "vwma",
    "SMA",
    "EMA",
    "WMA",
    "DEMA",
    "TEMA",
    "TRIMA",
    "KAMA",
    "HMA",
    "VWMA",
    "sma_nb",
    "ema_nb",
    "ema_step_nb",
    "wma_nb",
    "dema_nb",
    "tema_nb",
    "trima_nb",
    "kama_nb",
    "hma_nb",
    "vwma_nb",
]


# ---------------------------------------------------------------- kernels
@njit
def sma_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; NaN until `window` valid values; NaN policy of pandas
    rolling(window).mean(), ±inf counting as NaN (as pandas: every window holding one is NaN,
    output resumes once it has left). Equals talib.SMA on finite input (the same running sum,
    so a window of identical values gives that value up to the sum's rounding, ~1e-16
    relative, as TA-Lib; an exact equal-run test was measured to cost 35% here).

    state: [bars seen, running sum of the finite inputs in the window, non-finite inputs in
    the window, ring buffer of the last `window` inputs].
    """
    n = x.shape[0]
    seen = int(state[0])
    total = state[1]
    nans = int(state[2])
    buf = state[3:]
    inv = 1.0 / window
    head = min(n, window)
    for i in range(head):  # the value leaving the window comes from the previous call's buffer
        v = x[i]
        k = seen + i
        old = buf[k % window] if k >= window else 0.0
        v_bad = nonfinite_nb(v)
        old_bad = nonfinite_nb(old)
        nans += np.int64(v_bad) - np.int64(old_bad)
        total += (0.0 if v_bad else v) - (0.0 if old_bad else old)
        out[i] = total * inv if (k + 1 >= window and nans == 0) else np.nan
    # Steady state: branch-free bookkeeping, over views (numba's range(head, n) loop was
    # measured ~1.5x slower than range(m)): xs[j] = x[i], gs[j] = x[i - window], os[j] = out[i].
    xs, gs, os = x[head:], x[: max(0, n - window)], out[head:]
    for j in range(xs.shape[0]):
        v = xs[j]
        old = gs[j]
        v_bad = nonfinite_nb(v)
        old_bad = nonfinite_nb(old)
        nans += np.int64(v_bad) - np.int64(old_bad)
        total += (0.0 if v_bad else v) - (0.0 if old_bad else old)
        os[j] = total * inv if nans == 0 else np.nan
    for i in range(max(0, n - window), n):
        buf[(seen + i) % window] = x[i]
    state[0] = seen + n
    state[1] = total
    state[2] = nans


@njit
def ema_nb(x, window, alpha, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; exponential smoothing with factor `alpha`, seeded with the
    simple mean of the first `window` valid values (TA-Lib's convention: equals talib.EMA for
    alpha = 2/(window+1), and Wilder's smoothing for alpha = 1/window). NaN bars are skipped;
    ±inf enters the recursion (every later output NaN or ±inf, as TA-Lib).

    state: [valid values seen, seed sum, previous value].
    """
    seen = state[0]
    seed = state[1]
    prev = state[2]
    n = x.shape[0]
    i = 0
    while i < n and seen < window:  # warm-up: ema_step_nb's general step
        out[i], seen, seed, prev = ema_step_nb(x[i], window, alpha, seen, seed, prev)
        i += 1
    valid = 0
    xs, os = x[i:], out[i:]  # views: a range(m) loop runs ~1.5x faster than range(i, n) in numba
    for j in range(xs.shape[0]):  # seeded: ema_step_nb's last branch (seen counted at the end)
        v = xs[j]
        if v != v:
            os[j] = np.nan
            continue
        prev = prev + alpha * (v - prev)
        os[j] = prev
        valid += 1
    state[0] = seen + valid
    state[1] = seed
    state[2] = prev


@njit
def _ema_window_nb(x, window, state, out):  # pragma: no cover - numba
    ema_nb(x, window, 2.0 / (window + 1.0), state, out)


@njit
def ema_step_nb(v, window, alpha, seen, seed, prev):  # pragma: no cover - numba
    """One bar of :func:`ema_nb` with its state in scalars (the same arithmetic, so a fused
    kernel built on it equals ema_nb exactly): returns (output, seen, seed, prev).

    Fused per-bar loops keep several recurrences in registers; calling ema_nb several times
    in one kernel was measured 2-3x slower than the sum of the separate calls.
    """
    if np.isnan(v):
        return np.nan, seen, seed, prev
    seen += 1.0
    if seen < window:
        return np.nan, seen, seed + v, prev
    if seen == window:
        prev = (seed + v) / window
        return prev, seen, seed, prev
    prev = prev + alpha * (v - prev)
    return prev, seen, seed, prev


@njit
def _ring_or_x(x, buf, seen, window, k):  # pragma: no cover - numba
    """Input of absolute bar ``k`` >= seen - window: from this call's ``x`` or the ring."""
    return x[k - seen] if k >= seen else buf[k % window]


@njit
def wma_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; linearly weighted mean (weights 1..window, newest heaviest),
    pandas rolling(window) NaN policy with ±inf counting as NaN; equals talib.WMA on finite
    input; a window of identical values gives exactly that value.

    Running sums S = Σx, W = Σ w·x updated in O(1) per bar (W' = W − S + n·v), recomputed exactly
    every max(1024, 4·window) bars and after a NaN leaves the window.
    state: [bars seen, non-finite inputs in window, S, W, ring position (bars seen % window), bars since
    recompute (-1: needed), ring(window)] where ring slot k % window holds bar k.
    """
    seen = int(state[0])
    nans = int(state[1])
    total = state[2]
    weighted = state[3]
    since = int(state[5]) if seen > 0 else -1
    buf = state[6:]
    nf = float(window)
    inv_div = 2.0 / (nf * (nf + 1.0))
    every = max(1024, 4 * window)
    n = x.shape[0]
    prev = np.nan
    run = 0  # bars ending at the previous one equal to it (capped at window), read back from the ring
    if seen > 0:
        prev = buf[(seen - 1) % window]
        run = 1
        while run < window and run < seen and buf[(seen - 1 - run) % window] == prev:
            run += 1
    i = 0
    while i < n:
        if i >= window and nans == 0 and 0 <= since < every:
            # Fast path: no NaN in the window, no recompute due, the leaving bar read from x. It
            # runs over views (numba's range(i, n) loop was measured ~1.5x slower than range(m))
            # and stops at a NaN or when the recompute is due; the general step takes that bar.
            m = min(n - i, every - since)
            xs, gs, os = x[i : i + m], x[i - window : i - window + m], out[i : i + m]
            done = 0
            for j in range(m):
                v = xs[j]
                if nonfinite_nb(v):
                    break
                weighted += nf * v - total
                total += v - gs[j]
                run = run + 1 if v == prev else 1
                prev = v
                os[j] = v if run >= window else weighted * inv_div
                done += 1
            since += done
            i += done
            if i == n:
                break
        # general step: the first `window` bars of a call, NaNs, recomputes
        k = seen + i
        v = x[i]
        if nonfinite_nb(v):
            nans += 1
        if k >= window:
            old = _ring_or_x(x, buf, seen, window, k - window)
            if nonfinite_nb(old):
                nans -= 1
        run = run + 1 if v == prev else 1
        prev = v
        if nans > 0 or k + 1 < window:
            since = -1
            out[i] = np.nan
        elif since < 0 or since >= every:  # exact: oldest (weight 1) .. newest (weight n)
            total = 0.0
            weighted = 0.0
            w = 1.0
            for a in range(k - window + 1, k + 1):
                b = _ring_or_x(x, buf, seen, window, a)
                total += b
                weighted += w * b
                w += 1.0
            since = 0
            out[i] = v if run >= window else weighted * inv_div
        else:
            weighted += nf * v - total
            total += v - old
            since += 1
            out[i] = v if run >= window else weighted * inv_div
        i += 1
    for i in range(max(0, n - window), n):
        buf[(seen + i) % window] = x[i]
    state[0] = seen + n
    state[1] = nans
    state[2] = total
    state[3] = weighted
    state[4] = (seen + n) % window
    state[5] = since


@njit
def dema_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; 2·EMA − EMA(EMA) (TA-Lib seeds; each EMA is ema_nb's
    arithmetic); NaN bars skipped. Equals talib.DEMA. state: [ema_nb state (3) x 2]."""
    alpha = 2.0 / (window + 1.0)
    s1, d1, p1, s2, d2, p2 = state[0], state[1], state[2], state[3], state[4], state[5]
    n = x.shape[0]
    i = 0
    while i < n and s2 < window:  # warm-up: until the second EMA is seeded
        e1, s1, d1, p1 = ema_step_nb(x[i], window, alpha, s1, d1, p1)
        e2, s2, d2, p2 = ema_step_nb(e1, window, alpha, s2, d2, p2)
        out[i] = (2.0 * e1) - e2
        i += 1
    valid = 0
    xs, os = x[i:], out[i:]  # views from the first steady bar (see ema_nb)
    for j in range(xs.shape[0]):  # both seeded: a NaN bar skips both EMAs
        v = xs[j]
        if v != v:
            os[j] = np.nan
            continue
        p1 = p1 + alpha * (v - p1)
        p2 = p2 + alpha * (p1 - p2)
        os[j] = (2.0 * p1) - p2
        valid += 1
    state[0], state[1], state[2], state[3], state[4], state[5] = s1 + valid, d1, p1, s2 + valid, d2, p2


@njit
def tema_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; 3·EMA − 3·EMA² + EMA³ (TA-Lib seeds; ema_nb arithmetic);
    NaN bars skipped. Equals talib.TEMA. state: [ema_nb state (3) x 3]."""
    alpha = 2.0 / (window + 1.0)
    s1, d1, p1, s2, d2, p2 = state[0], state[1], state[2], state[3], state[4], state[5]
    s3, d3, p3 = state[6], state[7], state[8]
    n = x.shape[0]
    i = 0
    while i < n and s3 < window:  # warm-up: until the third EMA is seeded
        e1, s1, d1, p1 = ema_step_nb(x[i], window, alpha, s1, d1, p1)
        e2, s2, d2, p2 = ema_step_nb(e1, window, alpha, s2, d2, p2)
        e3, s3, d3, p3 = ema_step_nb(e2, window, alpha, s3, d3, p3)
        out[i] = e3 + ((3.0 * e1) - (3.0 * e2))
        i += 1
    valid = 0
    xs, os = x[i:], out[i:]  # views from the first steady bar (see ema_nb)
    for j in range(xs.shape[0]):  # all seeded: a NaN bar skips all three EMAs
        v = xs[j]
        if v != v:
            os[j] = np.nan
            continue
        p1 = p1 + alpha * (v - p1)
        p2 = p2 + alpha * (p1 - p2)
        p3 = p3 + alpha * (p2 - p3)
        os[j] = p3 + ((3.0 * p1) - (3.0 * p2))
        valid += 1
    state[0], state[1], state[2], state[3], state[4], state[5] = s1 + valid, d1, p1, s2 + valid, d2, p2
    state[6], state[7], state[8] = s3 + valid, d3, p3


@njit
def trima_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; triangular MA = SMA(SMA(x, a), b) with (a, b) = (m+1, m+1)
    for window = 2m+1 and (m, m+1) for window = 2m; pandas rolling(window) NaN policy.
    Equals talib.TRIMA. state: [sma_nb state (3 + a), sma_nb state (3 + b)]."""
    a = (window + 1) // 2 if window % 2 == 1 else window // 2
    b = a if window % 2 == 1 else a + 1
    inner = np.empty(x.shape[0], dtype=np.float64)
    sma_nb(x, a, state[0 : 3 + a], inner)
    sma_nb(inner, b, state[3 + a : 6 + a + b], out)


@njit
def _kama_step_nb(v, period_roc, roc_sum, prev_kama, const_diff, const_max):  # pragma: no cover
    """One KAMA update (TA-Lib's arithmetic): efficiency ratio -> smoothing constant -> step."""
    if roc_sum <= period_roc or roc_sum == 0.0:
        er = 1.0
    else:
        er = abs(period_roc / roc_sum)
    sc = er * const_diff + const_max
    sc *= sc
    return ((v - prev_kama) * sc) + prev_kama


@njit
def kama_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; Kaufman adaptive MA (fast 2, slow 30); NaN bars skipped
    (equals computing on the valid values and reindexing). Equals talib.KAMA.

    ER = |x_t − x_{t−n}| / Σ_{n} |Δx| (1 when the sum is 0 or <= the change), sc = (ER·(2/3 −
    2/31) + 2/31)², KAMA_t = KAMA_{t−1} + sc·(x_t − KAMA_{t−1}), started from x_{n−1} at bar n.
    The running sum of |Δx| is replaced every n+1 valid bars by an exact sum of the last n |Δx|,
    accumulated in order from 0 alongside (`fresh`), so no bar rescans the window.
    state: [valid values seen, Σ|Δx|, previous KAMA, ring position (valid values seen % (n + 1)),
    fresh sum, ring(n + 1) of the last valid values].
    """
    seen = int(state[0])
    roc_sum = state[1]
    prev_kama = state[2]
    pos = int(state[3])
    fresh = state[4]
    size = window + 1
    buf = state[5:]
    const_max = 2.0 / (30.0 + 1.0)
    const_diff = 2.0 / (2.0 + 1.0) - const_max
    n = x.shape[0]
    clean = 0  # valid bars in a row ending at bar i - 1, in this call's x
    i = 0
    while i < n:
        if clean >= size:
            # Fast path: the last n+1 valid values are x[i-n-1 .. i-1], so read them from x over
            # views (numba's range(i, n) loop was measured ~1.5x slower than range(m)); stop at a
            # NaN, then refresh the ring from x for the general step.
            m = n - i
            xs, x1, os = x[i:], x[i - 1 : i - 1 + m], out[i:]
            xw, xw1 = x[i - window : i - window + m], x[i - size : i - size + m]
            done = 0
            for j in range(m):
                v = xs[j]
                if v != v:
                    break
                d = abs(v - x1[j])
                roc_sum += d
                roc_sum -= abs(xw[j] - xw1[j])
                fresh = 0.0 if pos == 0 else fresh + d
                pos += 1
                if pos == size:  # the ring wraps: the exact sum replaces the running one
                    pos = 0
                    roc_sum = fresh
                prev_kama = _kama_step_nb(v, v - xw[j], roc_sum, prev_kama, const_diff, const_max)
                os[j] = prev_kama
                done += 1
            seen += done
            clean += done
            i += done
            p = pos
            for t in range(i - size, i):  # slot (valid index % size) of each of the last n+1
                buf[p] = x[t]
                p += 1
                if p == size:
                    p = 0
            if i == n:
                break
        # general step: the first n+1 bars of a call and after a NaN, on the ring
        v = x[i]
        if v != v:
            out[i] = np.nan
            clean = 0
            i += 1
            continue
        clean += 1
        k = seen
        seen += 1
        prev_pos = pos - 1 if pos > 0 else size - 1
        last = buf[prev_pos]  # x_{k-1}
        oldest = buf[pos]  # x_{k-n-1}, about to be overwritten
        buf[pos] = v
        d = abs(v - last)
        if k >= 1:
            roc_sum += d
        fresh = 0.0 if pos == 0 else fresh + d
        pos += 1
        wrapped = pos == size
        if wrapped:
            pos = 0
        if k >= window + 1:
            nxt = buf[pos]  # x_{k-n}
            roc_sum -= abs(nxt - oldest)
        if k < window:
            out[i] = np.nan
            i += 1
            continue
        if wrapped:
            roc_sum = fresh
        if k == window:
            prev_kama = last
        # buf[pos] is the oldest value in the ring: x_{k-n}
        prev_kama = _kama_step_nb(v, v - buf[pos], roc_sum, prev_kama, const_diff, const_max)
        out[i] = prev_kama
        i += 1
    state[0] = seen
    state[1] = roc_sum
    state[2] = prev_kama
    state[3] = pos
    state[4] = fresh


def _hma_windows(window: int) -> tuple[int, int]:
    return window // 2, math.isqrt(window)


@njit
def hma_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; Hull MA = WMA(2·WMA(x, n//2) − WMA(x, n), floor(sqrt(n)))
    with wma_nb (pandas rolling NaN policy), n >= 2.
    state: [wma_nb states for n//2, n and floor(sqrt(n))]."""
    half = window // 2
    root = int(np.sqrt(window))
    while (root + 1) * (root + 1) <= window:
        root += 1
    while root * root > window:
        root -= 1
    s1 = 6 + half
    s2 = s1 + 6 + window
    w_half = np.empty(x.shape[0], dtype=np.float64)
    w_full = np.empty(x.shape[0], dtype=np.float64)
    wma_nb(x, half, state[0:s1], w_half)
    wma_nb(x, window, state[s1:s2], w_full)
    for i in range(x.shape[0]):
        w_half[i] = 2.0 * w_half[i] - w_full[i]
    wma_nb(w_half, root, state[s2 : s2 + 6 + root], out)


@njit
def vwma_nb(close, volume, window, state, out):  # pragma: no cover - numba
    """float64[:] x2 -> out float64[:]; Σ close·volume / Σ volume over `window` bars, NaN where
    Σ volume == 0; pandas rolling(window) NaN policy on close·volume, ±inf counting as NaN.

    Running sums recomputed exactly every `window` bars, after a NaN leaves the window and when
    Σ volume falls below 1e-3 of its peak since the last recompute.
    state: [bars seen, NaNs, Σpv, Σv, peak Σv, ring position, needs-recompute, ring pv(window),
    ring v(window)].
    """
    seen = int(state[0])
    nans = int(state[1])
    spv = state[2]
    sv = state[3]
    peak = state[4]
    pos = int(state[5])
    dirty = state[6] != 0.0 or seen == 0
    buf_pv = state[7 : 7 + window]
    buf_v = state[7 + window : 7 + 2 * window]
    for i in range(close.shape[0]):
        vol = volume[i]
        pv = close[i] * vol
        k = seen + i
        old_pv = buf_pv[pos]
        old_v = buf_v[pos]
        buf_pv[pos] = pv
        buf_v[pos] = vol
        pos += 1
        wrapped = pos == window
        if wrapped:
            pos = 0
        if nonfinite_nb(pv):  # NaN or ±inf in close or volume (a NaN product is stored)
            nans += 1
        if k >= window and nonfinite_nb(old_pv):
            nans -= 1
        if nans > 0 or k + 1 < window:
            dirty = True
            out[i] = np.nan
            continue
        if not (dirty or wrapped):
            spv += pv - old_pv
            sv += vol - old_v
            if sv > peak:
                peak = sv
        if dirty or wrapped or sv < peak * 1e-3:
            spv = 0.0
            sv = 0.0
            for j in range(window):
                spv += buf_pv[j]
                sv += buf_v[j]
            peak = sv
            dirty = False
        out[i] = spv / sv if sv != 0.0 else np.nan
    state[0] = seen + close.shape[0]
    state[1] = nans
    state[2] = spv
    state[3] = sv
    state[4] = peak
    state[5] = pos
    state[6] = 1.0 if dirty else 0.0


# ---------------------------------------------------------------- specs
SMA_SPEC = Spec("sma", sma_nb, ("close",), ("window",), lambda window: 3 + window)
EMA_SPEC = Spec("ema", _ema_window_nb, ("close",), ("window",), lambda window: 3)
WMA_SPEC = Spec("wma", wma_nb, ("close",), ("window",), lambda window: 6 + window)
DEMA_SPEC = Spec("dema", dema_nb, ("close",), ("window",), lambda window: 6)
TEMA_SPEC = Spec("tema", tema_nb, ("close",), ("window",), lambda window: 9)
TRIMA_SPEC = Spec("trima", trima_nb, ("close",), ("window",), lambda window: 7 + window + (window % 2))
KAMA_SPEC = Spec("kama", kama_nb, ("close",), ("window",), lambda window: 6 + window)
HMA_SPEC = Spec("hma", hma_nb, ("close",), ("window",), lambda window: 18 + window + sum(_hma_windows(window)))
VWMA_SPEC = Spec("vwma", vwma_nb, ("close", "volume"), ("window",), lambda window: 7 + 2 * window)


# ---------------------------------------------------------------- pandas API
def sma(close: Any, window: int | list[int] = 30) -> Any:
    """Simple moving average.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices (one column per asset).
    window : int or list of int, default 30
        Bars in the average (>= 1). A list gives one column per window.

    Returns
    -------
    Same type as ``close``
        NaN for the first ``window - 1`` bars (TA-Lib's lookback).

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    SMA_t = (1/n) Σ_{i<n} x_{t-i}, computed with a running sum (TA-Lib's method).
    NaN policy: pandas ``rolling(window).mean()``, ±inf counting as NaN (as pandas): NaN while
    it is in the window, the clean value after. A window of identical values gives that value
    up to the running sum's rounding (~1e-16 relative, as TA-Lib). Shorter input than
    ``window``: all NaN.

    Examples
    --------
    >>> import numpy as np
    >>> sma(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    array([nan, 1.5, 2.5, 3.5])
    """
    return compute(SMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="sma")})


def ema(close: Any, window: int | list[int] = 30) -> Any:
    """Exponential moving average, TA-Lib convention.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 30
        Span; smoothing factor alpha = 2 / (window + 1).

    Returns
    -------
    Same type as ``close``
        NaN for the first ``window - 1`` valid bars; the first value is the simple mean of the
        first ``window`` values (TA-Lib's seed), then EMA_t = EMA_{t-1} + alpha (x_t - EMA_{t-1}).

    Notes
    -----
    After the seed this equals ``pandas.Series.ewm(span=window, adjust=False)`` started from the
    SMA seed; during warm-up pandas differs (it seeds with the first value).
    NaN bars are skipped (output NaN, state unchanged). A ±inf input is not skipped: it enters
    the recursion, so every later output is NaN or ±inf (TA-Lib does the same); replace ±inf
    with NaN first to skip such bars (see :mod:`quantlab.indicators._api`).

    Examples
    --------
    >>> import numpy as np
    >>> ema(np.array([1.0, 2.0, 3.0, 4.0]), 3).tolist()
    [nan, nan, 2.0, 3.0]
    """
    return compute(EMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="ema")})


def wma(close: Any, window: int | list[int] = 30) -> Any:
    """Linearly weighted moving average.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices (one column per asset).
    window : int or list of int, default 30
        Bars in the average (>= 1). A list gives one column per window.

    Returns
    -------
    Same type as ``close``
        NaN for the first ``window - 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    WMA_t = Σ_{i=0}^{n−1} (n − i)·x_{t−i} / (n(n+1)/2). Equals ``talib.WMA``. Running sums,
    recomputed exactly every max(1024, 4·window) bars. NaN policy: pandas ``rolling(window)``.
    Shorter input than ``window``: all NaN. Constant input: the constant.

    Examples
    --------
    >>> import numpy as np
    >>> wma(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    array([       nan, 1.66666667, 2.66666667, 3.66666667])
    """
    return compute(WMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="wma")})


def dema(close: Any, window: int | list[int] = 30) -> Any:
    """Double exponential moving average (Mulloy).

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 30
        EMA span (>= 1).

    Returns
    -------
    Same type as ``close``
        DEMA = 2·EMA(x) − EMA(EMA(x)); NaN for the first ``2·(window − 1)`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Mulloy (1994), *Technical Analysis of Stocks & Commodities* 12(1). Each EMA is
    :func:`ema` (TA-Lib seed; the second EMA is seeded from the first ``window`` values of the
    first). Equals ``talib.DEMA``. NaN bars are skipped (output NaN, state unchanged).

    Examples
    --------
    >>> import numpy as np
    >>> dema(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2)
    array([nan, nan,  3.,  4.,  5.])
    """
    return compute(DEMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="dema")})


def tema(close: Any, window: int | list[int] = 30) -> Any:
    """Triple exponential moving average (Mulloy).

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 30
        EMA span (>= 1).

    Returns
    -------
    Same type as ``close``
        TEMA = 3·EMA − 3·EMA² + EMA³ (EMAᵏ = EMA applied k times); NaN for the first
        ``3·(window − 1)`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Mulloy (1994). Equals ``talib.TEMA``. NaN bars are skipped.

    Examples
    --------
    >>> import numpy as np
    >>> tema(np.arange(1.0, 8.0), 2)
    array([nan, nan, nan,  4.,  5.,  6.,  7.])
    """
    return compute(TEMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="tema")})


def trima(close: Any, window: int | list[int] = 30) -> Any:
    """Triangular moving average.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 30
        Bars in the average (>= 1).

    Returns
    -------
    Same type as ``close``
        NaN for the first ``window - 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    An SMA of an SMA, so the weights rise linearly then fall: for window = 2m+1,
    SMA(SMA(x, m+1), m+1) (weights 1..m+1..1); for window = 2m, SMA(SMA(x, m), m+1)
    (weights 1..m, m..1). TA-Lib's convention; equals ``talib.TRIMA``.
    NaN policy: pandas ``rolling(window)``.

    Examples
    --------
    >>> import numpy as np
    >>> trima(np.array([1.0, 2.0, 6.0, 4.0]), 3)
    array([ nan,  nan, 2.75, 4.5 ])
    """
    return compute(TRIMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="trima")})


def kama(close: Any, window: int | list[int] = 30) -> Any:
    """Kaufman adaptive moving average.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 30
        Efficiency-ratio window (>= 1). Fast and slow constants are TA-Lib's fixed 2 and 30.

    Returns
    -------
    Same type as ``close``
        NaN for the first ``window`` bars (TA-Lib's lookback).

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Kaufman (1995), *Smarter Trading*. ER_t = |x_t − x_{t−n}| / Σ_{i<n} |x_{t−i} − x_{t−i−1}|
    (ER = 1 when the denominator is 0), sc_t = (ER_t·(2/3 − 2/31) + 2/31)²,
    KAMA_t = KAMA_{t−1} + sc_t·(x_t − KAMA_{t−1}), started from KAMA_{n−1} = x_{n−1}.
    Equals ``talib.KAMA``. NaN bars are skipped (equals ``kama(x.dropna())`` reindexed).
    Constant input: the constant.

    Examples
    --------
    >>> import numpy as np
    >>> kama(np.array([1.0, 2.0, 3.0, 4.0]), 2)
    array([       nan,        nan, 2.44444444, 3.13580247])
    """
    return compute(KAMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="kama")})


def hma(close: Any, window: int | list[int] = 16) -> Any:
    """Hull moving average.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 16
        Period n (>= 2).

    Returns
    -------
    Same type as ``close``
        HMA = WMA(2·WMA(x, ⌊n/2⌋) − WMA(x, n), ⌊√n⌋); NaN for the first ``n + ⌊√n⌋ − 2`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Hull (2005), alanhull.com/hull-moving-average. Not in TA-Lib. Convention: both the half
    and the square-root periods are floored (as pandas-ta and TradingView's ``ta.hma``); WMA as
    :func:`wma`. NaN policy: pandas ``rolling`` composed through the three WMAs (a NaN affects
    ``n + ⌊√n⌋ − 1`` bars).

    Examples
    --------
    >>> import numpy as np
    >>> hma(np.arange(1.0, 7.0), 4)
    array([nan, nan, nan, nan,  5.,  6.])
    """
    return compute(HMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="hma", minimum=2)})


def vwma(close: Any, volume: Any, window: int | list[int] = 20) -> Any:
    """Volume-weighted moving average.

    Parameters
    ----------
    close, volume : ndarray, Series or DataFrame
        Aligned prices and volumes.
    window : int or list of int, default 20
        Bars in the average (>= 1).

    Returns
    -------
    Same type as ``close``
        Σ close·volume / Σ volume over the last ``window`` bars; NaN for the first
        ``window − 1`` bars and where the window's volume sums to 0.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1; inputs of different shapes.
    DataError
        Inputs of different lengths or indexes, or non-numeric.

    Notes
    -----
    Not in TA-Lib. Equals ``(close*volume).rolling(window).sum() / volume.rolling(window).sum()``.
    NaN policy: pandas ``rolling(window)`` on close·volume (a NaN in either input). Running sums,
    recomputed exactly every ``window`` bars and when the volume sum loses significance.

    Examples
    --------
    >>> import numpy as np
    >>> vwma(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 0.0]), 2)
    array([ nan, 1.75, 2.  ])
    """
    return compute(VWMA_SPEC, {"close": close, "volume": volume}, {"window": window_list("window", window, caller="vwma")})


# ---------------------------------------------------------------- streaming twins
class SMA(Stream):
    """Streaming :func:`sma`: ``SMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(SMA_SPEC, {"window": window_list("window", window, caller="SMA")})


class EMA(Stream):
    """Streaming :func:`ema`: ``EMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(EMA_SPEC, {"window": window_list("window", window, caller="EMA")})


class WMA(Stream):
    """Streaming :func:`wma`: ``WMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(WMA_SPEC, {"window": check_int("window", window, caller="WMA", minimum=1)})


class DEMA(Stream):
    """Streaming :func:`dema`: ``DEMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(DEMA_SPEC, {"window": check_int("window", window, caller="DEMA", minimum=1)})


class TEMA(Stream):
    """Streaming :func:`tema`: ``TEMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(TEMA_SPEC, {"window": check_int("window", window, caller="TEMA", minimum=1)})


class TRIMA(Stream):
    """Streaming :func:`trima`: ``TRIMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(TRIMA_SPEC, {"window": check_int("window", window, caller="TRIMA", minimum=1)})


class KAMA(Stream):
    """Streaming :func:`kama`: ``KAMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(KAMA_SPEC, {"window": check_int("window", window, caller="KAMA", minimum=1)})


class HMA(Stream):
    """Streaming :func:`hma`: ``HMA(window).update(close) -> value``."""

    def __init__(self, window: int = 16) -> None:
        super().__init__(HMA_SPEC, {"window": check_int("window", window, caller="HMA", minimum=2)})


class VWMA(Stream):
    """Streaming :func:`vwma`: ``VWMA(window).update(close, volume) -> value``."""

    def __init__(self, window: int = 20) -> None:
        super().__init__(VWMA_SPEC, {"window": check_int("window", window, caller="VWMA", minimum=1)})

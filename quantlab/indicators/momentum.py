"""Momentum indicators (TA-Lib's "momentum indicators"): RSI, StochRSI, stochastics, Williams %R,
CCI, ROC family, MOM, CMO, MFI, Ultimate Oscillator, TRIX, APO/PPO and MACD.

Every indicator is one state-carrying kernel (see :mod:`quantlab.indicators._api`), shared by
the batch function and its streaming twin (UPPER-case class of the same name). Values equal
TA-Lib 0.8 (``talib.<NAME>``) after its lookback, with NaN exactly where TA-Lib's is.

Zero denominators and rounding tests follow TA-Lib 0.8.1 (measured against it): RSI, CMO, STOCH,
WILLR, CCI, ROC, MFI and ULTOSC return 0 where their denominator is exactly 0 (a constant series
gives 0 for all of them); PPO returns 0 where ``|slow MA| < 1e-14``; WILLR is clipped to
[-100, 0] and MFI to [0, 100]; MFI counts a typical-price change within 1e-14 relative as none
and CCI treats ``|TP - mean| <= 1e-14 max(|TP|, |mean|)`` as 0. APO/PPO default to EMA
(``matype=1``), TA-Lib 0.8's default.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab._jit import njit
from quantlab._validate import check_int, message
from quantlab.errors import InvalidParameterError
from quantlab.indicators._api import Spec, Stream, compute, window_list
from quantlab.indicators._rolling import (
    nonfinite_nb,
    rolling_max_min_nb,
    rolling_max_min_state_size,
)
from quantlab.indicators.overlap import ema_nb, sma_nb

__all__ = [
    "rsi", "cmo", "stochrsi", "stoch", "stochf", "willr", "cci", "mom", "roc", "rocp", "rocr",
    "rocr100", "mfi", "ultosc", "trix", "apo", "ppo", "macd",
    "RSI", "CMO", "STOCHRSI", "STOCH", "STOCHF", "WILLR", "CCI", "MOM", "ROC", "ROCP", "ROCR",
    "ROCR100", "MFI", "ULTOSC", "TRIX", "APO", "PPO", "MACD",
]  # fmt: skip

_CHUNK = 4096  # bars per block in kernels that need temporary arrays (kept in cache)
_PPO_ZERO = 1e-14  # TA-Lib 0.8.1's TA_IS_ZERO threshold as measured on PPO
_ULTOSC_BAD = 2.0**26  # ULTOSC's flag of a bad term: above any count of TR != 0 terms
_REL_EQ = 1e-14  # TA-Lib 0.8.1's relative equality (measured): MFI |a-b| <= 1e-14 (|a|+|b|), CCI 1e-14 max


# ================================================================ kernels
@njit(fastmath={"contract"})  # FMA contraction only: faster, at least as accurate
def wilder_osc_nb(x, window, cmo, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; RSI (``cmo=False``) or CMO (``cmo=True``): Wilder-smoothed
    gains/losses seeded with the simple mean of the first `window` changes (TA-Lib); first value
    at the `window`-th change. NaN bars skipped (equals computing on dropna()); ±inf enters the
    averages (every later output NaN; TA-Lib never recovers either). Equals talib.RSI
    / talib.CMO; 0 where average gain + loss is 0.

    state: [valid values seen, previous value, average gain, average loss].
    """
    seen = state[0]
    prev = state[1]
    gain = state[2]
    loss = state[3]
    inv = 1.0 / window
    keep = (window - 1.0) / window
    for i in range(x.shape[0]):
        v = x[i]
        if v != v:
            out[i] = np.nan
            continue
        d = v - prev
        prev = v
        up = d if d > 0.0 else 0.0
        dn = -d if d < 0.0 else 0.0
        if seen > window:  # steady state
            gain = gain * keep + up * inv
            loss = loss * keep + dn * inv
        elif seen == 0.0:
            seen = 1.0
            out[i] = np.nan
            continue
        else:
            gain += up
            loss += dn
            if seen < window:
                seen += 1.0
                out[i] = np.nan
                continue
            gain = gain / window
            loss = loss / window
        seen += 1.0 if seen <= window else 0.0
        s = gain + loss
        if s != 0.0:
            out[i] = 100.0 * ((gain - loss) / s) if cmo else 100.0 * (gain / s)
        else:
            out[i] = 0.0
    state[0] = seen
    state[1] = prev
    state[2] = gain
    state[3] = loss


@njit
def rsi_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; equals talib.RSI (see :func:`wilder_osc_nb`). state: 4."""
    wilder_osc_nb(x, window, False, state, out)


@njit
def cmo_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; equals talib.CMO (see :func:`wilder_osc_nb`). state: 4."""
    wilder_osc_nb(x, window, True, state, out)


@njit
def _stoch_block_nb(
    high, low, close, fastk_window, slowk_window, slowd_window, state, out_k, out_d
):  # pragma: no cover - numba
    n = close.shape[0]
    # layout: [SMA %K (3 + slowk), SMA %D (3 + slowd), rolling_max_min_nb state]
    a = 3 + slowk_window
    b = a + 3 + slowd_window
    raw = out_k if slowk_window == 1 else np.empty(n)
    ll = np.empty(n)
    rolling_max_min_nb(high, low, fastk_window, state[b:], raw, ll)  # highest high into raw
    for i in range(n):  # no loop-carried state: vectorizes
        c = close[i]
        lo = ll[i]
        diff = (raw[i] - lo) / 100.0
        if diff != 0.0:
            raw[i] = (c - lo) / diff
        else:
            raw[i] = 0.0 if c == c else np.nan
    if slowk_window != 1:
        sma_nb(raw, slowk_window, state[0:a], out_k)
    sma_nb(out_k, slowd_window, state[a:b], out_d)
    for i in range(n):
        if out_d[i] != out_d[i]:
            out_k[i] = np.nan


@njit
def stoch_nb(
    high, low, close, fastk_window, slowk_window, slowd_window, state, out_k, out_d
):  # pragma: no cover
    """float64[:] x3 -> out_k, out_d float64[:]; raw %K = 100 (close - LL) / (HH - LL) over
    `fastk_window` bars (0 when HH == LL), %K smoothed by an SMA of `slowk_window` (skipped when
    1), %D = SMA(%K, `slowd_window`); out_k is NaN wherever out_d is (TA-Lib aligns both outputs).
    Window NaN policy (pandas rolling). Equals talib.STOCH (matypes 0); with slowk_window = 1
    equals talib.STOCHF.

    state: [SMA %K state (3 + slowk), SMA %D state (3 + slowd), rolling_max_min_nb state].
    """
    n = close.shape[0]
    step = max(_CHUNK, 16 * fastk_window)  # cache-sized blocks, long vs the window
    for a in range(0, n, step):
        b = min(n, a + step)
        _stoch_block_nb(
            high[a:b],
            low[a:b],
            close[a:b],
            fastk_window,
            slowk_window,
            slowd_window,
            state,
            out_k[a:b],
            out_d[a:b],
        )


@njit
def stochf_nb(
    high, low, close, fastk_window, fastd_window, state, out_k, out_d
):  # pragma: no cover
    """float64[:] x3 -> out_k, out_d; equals talib.STOCHF (fastd_matype 0). state: see stoch_nb."""
    stoch_nb(high, low, close, fastk_window, 1, fastd_window, state, out_k, out_d)


@njit
def _stochrsi_block_nb(
    x, window, fastk_window, fastd_window, state, out_k, out_d
):  # pragma: no cover - numba
    r = np.empty(x.shape[0])
    wilder_osc_nb(x, window, False, state[0:4], r)
    stoch_nb(r, r, r, fastk_window, 1, fastd_window, state[4:], out_k, out_d)


@njit
def stochrsi_nb(x, window, fastk_window, fastd_window, state, out_k, out_d):  # pragma: no cover
    """float64[:] -> out_k, out_d; STOCHF applied to RSI(window) as high, low and close. Equals
    talib.STOCHRSI (fastd_matype 0). RSI skips NaN bars; the stochastic has the window policy.

    state: [RSI state (4), STOCHF state].
    """
    n = x.shape[0]
    for a in range(0, n, _CHUNK):  # cache-sized blocks for the temporaries
        b = min(n, a + _CHUNK)
        _stochrsi_block_nb(
            x[a:b], window, fastk_window, fastd_window, state, out_k[a:b], out_d[a:b]
        )


@njit
def _willr_block_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    ll = np.empty(close.shape[0])
    rolling_max_min_nb(high, low, window, state, out, ll)  # highest high into out
    for i in range(close.shape[0]):  # no loop-carried state: vectorizes
        c = close[i]
        h = out[i]
        diff = (h - ll[i]) * -0.01
        if diff != 0.0:
            r = (h - c) / diff
            out[i] = 0.0 if r > 0.0 else (-100.0 if r < -100.0 else r)  # TA-Lib 0.8 clamps
        else:
            out[i] = 0.0 if c == c else np.nan


@njit
def willr_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    """float64[:] x3 -> out; -100 (HH - close) / (HH - LL) over `window` bars, clipped to [-100, 0]
    (a close outside [low, high]), 0 when HH == LL.
    Window NaN policy (pandas rolling). Equals talib.WILLR.

    state: rolling_max_min_nb state (rolling max of high, min of low).
    """
    n = close.shape[0]
    step = max(_CHUNK, 16 * window)  # cache-sized blocks for the temporaries, long vs the window
    for a in range(0, n, step):
        b = min(n, a + step)
        _willr_block_nb(high[a:b], low[a:b], close[a:b], window, state, out[a:b])


@njit
def cci_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    """float64[:] x3 -> out; (tp - mean) / (0.015 * mean|tp - mean|) of the typical price
    tp = (h + l + c) / 3 over `window` bars (mean and mean absolute deviation recomputed exactly
    each bar, TA-Lib's method); 0 when the MAD is 0 or tp equals the mean up to 1e-14 relative.
    Window NaN policy, ±inf counting as NaN. Equals talib.CCI on finite input.

    state: [bars seen, non-finite typical prices in window, ring(window) of typical prices].
    """
    seen = int(state[0])
    nans = int(state[1])
    buf = state[2:]
    for i in range(close.shape[0]):
        tp = (high[i] + low[i] + close[i]) / 3.0
        pos = seen % window
        if seen >= window and nonfinite_nb(buf[pos]):
            nans -= 1
        if nonfinite_nb(tp):
            nans += 1
        buf[pos] = tp
        seen += 1
        if seen < window or nans > 0:
            out[i] = np.nan
            continue
        avg = 0.0
        for j in range(window):
            avg += buf[j]
        avg /= window
        mad = 0.0
        for j in range(window):
            mad += abs(buf[j] - avg)
        d = tp - avg
        if abs(d) > _REL_EQ * max(abs(tp), abs(avg)) and mad != 0.0:  # TA-Lib 0.8 (measured)
            out[i] = d / (0.015 * (mad / window))
        else:
            out[i] = 0.0
    state[0] = seen
    state[1] = nans


@njit
def _lag_op(v, old, mode):  # pragma: no cover - numba
    if mode == 0:
        return v - old
    if old != 0.0:
        if mode == 1:
            return ((v / old) - 1.0) * 100.0
        if mode == 2:
            return (v - old) / old
        if mode == 3:
            return v / old
        return (v / old) * 100.0
    return 0.0 if v == v else np.nan


@njit
def lag_nb(x, window, mode, state, out):  # pragma: no cover - numba
    """float64[:] -> out; x_t against x_{t-window}: mode 0 MOM (difference), 1 ROC
    (100 (x/old - 1)), 2 ROCP ((x - old)/old), 3 ROCR (x/old), 4 ROCR100 (100 x/old); 0 when
    old == 0 (TA-Lib). NaN where either value is NaN (pandas ``shift`` policy). Equals talib.MOM,
    ROC, ROCP, ROCR, ROCR100.

    state: [bars seen, ring(window) of the last inputs].
    """
    n = x.shape[0]
    seen = int(state[0])
    buf = state[1:]
    head = min(n, window)
    for i in range(head):
        k = seen + i
        if k >= window:
            out[i] = _lag_op(x[i], buf[k % window], mode)
        else:
            out[i] = np.nan
    # steady state on shifted views: x[i - window] would make numba wrap negative indices,
    # which blocks SIMD; here both indices count up from 0
    cur = x[head:]  # bars window .. n - 1 (none when n <= window)
    old = x[: cur.shape[0]]  # bars 0 .. n - 1 - window
    dst = out[head:]
    if mode == 0:
        for i in range(cur.shape[0]):
            dst[i] = cur[i] - old[i]
    else:
        for i in range(cur.shape[0]):  # mode is loop-invariant: LLVM unswitches the loop
            dst[i] = _lag_op(cur[i], old[i], mode)
    for i in range(max(0, n - window), n):
        buf[(seen + i) % window] = x[i]
    state[0] = seen + n


@njit
def mom_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out; x_t - x_{t-window}; equals talib.MOM. state: 1 + window."""
    lag_nb(x, window, 0, state, out)


@njit
def roc_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out; 100 (x_t / x_{t-window} - 1); equals talib.ROC. state: 1 + window."""
    lag_nb(x, window, 1, state, out)


@njit
def rocp_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out; (x_t - x_{t-window}) / x_{t-window}; equals talib.ROCP."""
    lag_nb(x, window, 2, state, out)


@njit
def rocr_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out; x_t / x_{t-window}; equals talib.ROCR."""
    lag_nb(x, window, 3, state, out)


@njit
def rocr100_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out; 100 x_t / x_{t-window}; equals talib.ROCR100."""
    lag_nb(x, window, 4, state, out)


@njit
def mfi_nb(high, low, close, volume, window, state, out):  # pragma: no cover - numba
    """float64[:] x4 -> out; 100 * positive / (positive + negative) money flow over the last
    `window` typical-price changes (flow = tp * volume, signed by the change of tp, a change
    within 1e-14 (|tp| + |prev tp|) counting as none; 0 when both sums are 0; clipped to
    [0, 100] against running-sum residues: all as TA-Lib 0.8). Window NaN policy, ±inf counting
    as NaN (a bad bar spoils the flows at t and t+1; output resumes once they have left).
    Equals talib.MFI on finite input. A sum whose window holds no non-zero flow is read as
    exactly 0, so a window of zero volume or constant prices gives 0, as TA-Lib, not the
    residue of the flows that left.

    state: [bars seen, previous tp, positive sum, negative sum, bad flows in window, non-zero
    positive flows in window, non-zero negative flows in window, ring(window) positive flows,
    ring(window) negative flows].
    """
    seen = int(state[0])
    prev = state[1]
    pos_sum = state[2]
    neg_sum = state[3]
    nans = int(state[4])
    n_pos = int(state[5])
    n_neg = int(state[6])
    ring_p = state[7 : 7 + window]
    ring_n = state[7 + window :]
    for i in range(close.shape[0]):
        tp = (high[i] + low[i] + close[i]) / 3.0
        if seen == 0:
            prev = tp
            seen = 1
            out[i] = np.nan
            continue
        f = seen - 1  # index of this flow
        slot = f % window
        d = tp - prev
        mf = tp * volume[i]
        bad = nonfinite_nb(d) or nonfinite_nb(mf)  # before the test below: |-inf| <= inf
        if abs(d) <= _REL_EQ * (abs(tp) + abs(prev)):  # TA-Lib 0.8: "unchanged" up to rounding
            d = 0.0
        prev = tp
        if f >= window:  # the flow leaving the window
            old_p = ring_p[slot]
            old_n = ring_n[slot]
            if old_p != old_p:
                nans -= 1
            else:
                pos_sum -= old_p
                neg_sum -= old_n
                n_pos -= np.int64(old_p != 0.0)
                n_neg -= np.int64(old_n != 0.0)
        if bad:
            nans += 1
            ring_p[slot] = np.nan
            ring_n[slot] = np.nan
        elif d < 0.0:
            neg_sum += mf
            n_neg += np.int64(mf != 0.0)
            ring_n[slot] = mf
            ring_p[slot] = 0.0
        elif d > 0.0:
            pos_sum += mf
            n_pos += np.int64(mf != 0.0)
            ring_p[slot] = mf
            ring_n[slot] = 0.0
        else:
            ring_p[slot] = 0.0
            ring_n[slot] = 0.0
        seen += 1
        if f + 1 < window or nans > 0:
            out[i] = np.nan
            continue
        ps = pos_sum if n_pos != 0 else 0.0  # no flow left in the window: 0, not a residue
        ns = neg_sum if n_neg != 0 else 0.0
        s = ps + ns
        r = 100.0 * (ps / s) if s != 0.0 else 0.0
        out[i] = 0.0 if r < 0.0 else (100.0 if r > 100.0 else r)  # running-sum residue, TA-Lib 0.8
    state[0] = seen
    state[1] = prev
    state[2] = pos_sum
    state[3] = neg_sum
    state[4] = nans
    state[5] = n_pos
    state[6] = n_neg


@njit
def _ultosc_term(h, lo, c, prev):  # pragma: no cover - numba
    """(BP, TR, flag) of one bar: flag 1.0 when TR != 0 else 0.0; or (0.0, 0.0, _ULTOSC_BAD)
    when either is NaN or ±inf (BP and TR are dropped together; a bad close spoils the terms
    of bars t and t+1). Summed over a window, the flags count both kinds exactly."""
    true_low = lo if lo < prev else prev
    bp = c - true_low
    tr = h - lo
    tmp = abs(prev - h)
    tr = tmp if tmp > tr else tr
    tmp = abs(prev - lo)
    tr = tmp if tmp > tr else tr
    bad = nonfinite_nb(bp) | nonfinite_nb(tr) | (lo != lo) | (prev != prev)  # ±inf as NaN
    return (0.0, 0.0, _ULTOSC_BAD) if bad else (bp, tr, 1.0 if tr != 0.0 else 0.0)


@njit
def _ultosc_terms_nb(high, low, close, pc, out_bp, out_tr, out_nan):  # pragma: no cover - numba
    """_ultosc_term of each bar against the previous close (pc for bar 0). Vectorizes."""
    n = close.shape[0]
    if n == 0:
        return
    out_bp[0], out_tr[0], out_nan[0] = _ultosc_term(high[0], low[0], close[0], pc)
    prev = close[: n - 1]  # views: bar i + 1 against close i, indices from 0
    h = high[1:]
    lo = low[1:]
    c = close[1:]
    bp = out_bp[1:]
    tr = out_tr[1:]
    bad = out_nan[1:]
    for i in range(n - 1):
        bp[i], tr[i], bad[i] = _ultosc_term(h[i], lo[i], c[i], prev[i])


@njit
def _ultosc_out_nb(a1, b1, a2, b2, a3, b3, out):  # pragma: no cover - numba
    """100 (4 a1/b1 + 2 a2/b2 + a3/b3) / 7, a term dropped when its b is 0 (NaN b1 gives NaN)."""
    for i in range(out.shape[0]):
        r = 0.0
        if b1[i] != 0.0:
            r += 4.0 * (a1[i] / b1[i])
        if b2[i] != 0.0:
            r += 2.0 * (a2[i] / b2[i])
        if b3[i] != 0.0:
            r += a3[i] / b3[i]
        out[i] = 100.0 * (r / 7.0)


@njit
def _ultosc_block_nb(high, low, close, window1, window2, window3, state, out):  # pragma: no cover - numba
    p1 = min(window1, window2, window3)
    p3 = max(window1, window2, window3)
    p2 = window1 + window2 + window3 - p1 - p3
    n = close.shape[0]
    seen = int(state[0])
    pc = state[1]
    a1 = state[2]
    b1 = state[3]
    a2 = state[4]
    b2 = state[5]
    a3 = state[6]
    b3 = state[7]
    n1 = state[8]  # Σ flags per window: _ULTOSC_BAD x bad terms + terms with TR != 0 (exact)
    n2 = state[9]
    n3 = state[10]
    start = 0
    if seen == 0 and n > 0:  # the very first bar only provides the previous close
        pc = close[0]
        out[0] = np.nan
        start = 1
    m = n - start  # terms of this call; the first one is term number t0
    t0 = seen - 1 if seen > 0 else 0
    # the previous p3 terms (zeros before the first: subtracting 0.0 is exact), then this call's;
    # NaN terms are stored as 0.0 with a flag of 1.0, so the sums below need no NaN test
    bp = np.empty(p3 + m)
    tr = np.empty(p3 + m)
    bad = np.empty(p3 + m)
    bp[:p3] = state[11 : 11 + p3]
    tr[:p3] = state[11 + p3 : 11 + 2 * p3]
    bad[:p3] = state[11 + 2 * p3 : 11 + 3 * p3]
    _ultosc_terms_nb(high[start:], low[start:], close[start:], pc, bp[p3:], tr[p3:], bad[p3:])
    # terms entering and leaving each window as views, indices from 0 (no ring, no modulo)
    new_a = bp[p3:]
    new_b = tr[p3:]
    new_f = bad[p3:]
    old1_a = bp[p3 - p1 : p3 - p1 + m]
    old1_b = tr[p3 - p1 : p3 - p1 + m]
    old1_f = bad[p3 - p1 : p3 - p1 + m]
    old2_a = bp[p3 - p2 : p3 - p2 + m]
    old2_b = tr[p3 - p2 : p3 - p2 + m]
    old2_f = bad[p3 - p2 : p3 - p2 + m]
    old3_a = bp[0:m]
    old3_b = tr[0:m]
    old3_f = bad[0:m]
    # running sums per bar, then the divisions in a separate loop that vectorizes (4 scalar
    # divisions per bar would dominate); b1 = NaN marks a NaN output (warm-up or NaN in a window)
    sa1 = np.empty(m)
    sb1 = np.empty(m)
    sa2 = np.empty(m)
    sb2 = np.empty(m)
    sa3 = np.empty(m)
    sb3 = np.empty(m)
    for i in range(m):
        a = new_a[i]
        b = new_b[i]
        f = new_f[i]
        # the order of TA-Lib's running sums: subtract the leaving term, then add the new one
        a1 = (a1 - old1_a[i]) + a
        b1 = (b1 - old1_b[i]) + b
        n1 += f - old1_f[i]
        a2 = (a2 - old2_a[i]) + a
        b2 = (b2 - old2_b[i]) + b
        n2 += f - old2_f[i]
        a3 = (a3 - old3_a[i]) + a
        b3 = (b3 - old3_b[i]) + b
        n3 += f - old3_f[i]
        # n_k = 0: no true range in window k, so its Σ TR is exactly 0 (the term is dropped),
        # not a running-sum residue; n_k >= _ULTOSC_BAD: a bad term in it
        sa1[i] = a1
        sb1[i] = np.nan if (t0 + i + 1 < p3) | (n3 >= _ULTOSC_BAD) else (b1 if n1 != 0.0 else 0.0)
        sa2[i] = a2
        sb2[i] = b2 if n2 != 0.0 else 0.0
        sa3[i] = a3
        sb3[i] = b3 if n3 != 0.0 else 0.0
    _ultosc_out_nb(sa1, sb1, sa2, sb2, sa3, sb3, out[start:])
    state[0] = seen + n
    if n > 0:
        state[1] = close[n - 1]
    state[2] = a1
    state[3] = b1
    state[4] = a2
    state[5] = b2
    state[6] = a3
    state[7] = b3
    state[8] = n1
    state[9] = n2
    state[10] = n3
    state[11 : 11 + p3] = bp[m : m + p3]
    state[11 + p3 : 11 + 2 * p3] = tr[m : m + p3]
    state[11 + 2 * p3 : 11 + 3 * p3] = bad[m : m + p3]


@njit
def ultosc_nb(high, low, close, window1, window2, window3, state, out):  # pragma: no cover - numba
    """float64[:] x3 -> out; 100 (4 A1 + 2 A2 + A3) / 7 with A_k = Σ BP / Σ TR over the k-th
    shortest window (TA-Lib sorts the windows), BP = close - min(low, prev close), TR = TA-Lib's
    true range; a term is dropped when its Σ TR is 0. Window NaN policy, ±inf counting as NaN.
    Equals talib.ULTOSC on finite input.

    A window whose true ranges are all 0 has its Σ TR read as exactly 0 (its term dropped), not
    as the running sum's residue, so flat bars give 0 like TA-Lib.

    state: [bars seen, prev close, a1, b1, a2, b2, a3, b3, Σ flags in each window (3: bad
    terms x _ULTOSC_BAD + terms with TR != 0), then
    the last `longest` terms oldest first (0 before the first): BP, TR (both 0 for a NaN term)
    and flags (_ULTOSC_BAD for a bad term, else 1.0 where TR != 0)].
    """
    n = close.shape[0]
    for a in range(0, n, _CHUNK):  # cache-sized blocks for the temporaries
        b = min(n, a + _CHUNK)
        _ultosc_block_nb(high[a:b], low[a:b], close[a:b], window1, window2, window3, state, out[a:b])


@njit(fastmath={"contract"})  # FMA contraction only: faster, at least as accurate
def trix_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out; 100 (E_t / E_{t-1} - 1) of the triple EMA E = EMA(EMA(EMA(x))) (each
    seeded with a simple mean like ema_nb, fused in one pass); 0 when E_{t-1} == 0. NaN bars
    skipped. Equals talib.TRIX.

    state: [3 x ema_nb state (seen, seed sum, EMA), has previous E, previous E].
    """
    alpha = 2.0 / (window + 1.0)
    s1 = state[0]
    q1 = state[1]
    e1 = state[2]
    s2 = state[3]
    q2 = state[4]
    e2 = state[5]
    s3 = state[6]
    q3 = state[7]
    e3 = state[8]
    has = state[9]
    prev = state[10]
    for i in range(x.shape[0]):
        v = x[i]
        if v != v:
            out[i] = np.nan
            continue
        if s3 >= window:  # steady state: all three seeded
            e1 = e1 + alpha * (v - e1)
            e2 = e2 + alpha * (e1 - e2)
            e3 = e3 + alpha * (e2 - e3)
        else:
            out[i] = np.nan
            if s1 >= window:
                e1 = e1 + alpha * (v - e1)
            else:
                s1 += 1.0
                if s1 < window:
                    q1 += v
                    continue
                e1 = (q1 + v) / window
            if s2 >= window:
                e2 = e2 + alpha * (e1 - e2)
            else:
                s2 += 1.0
                if s2 < window:
                    q2 += e1
                    continue
                e2 = (q2 + e1) / window
            s3 += 1.0
            if s3 < window:
                q3 += e2
                continue
            e3 = (q3 + e2) / window
        if has == 0.0:
            out[i] = np.nan
            has = 1.0
        else:
            out[i] = ((e3 / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0
        prev = e3
    state[0] = s1
    state[1] = q1
    state[2] = e1
    state[3] = s2
    state[4] = q2
    state[5] = e2
    state[6] = s3
    state[7] = q3
    state[8] = e3
    state[9] = has
    state[10] = prev


@njit
def _po_block_nb(x, fast, slow, matype, percent, state, out):  # pragma: no cover - numba
    n = x.shape[0]
    mf = np.empty(n)
    a = 3 + fast
    if matype == 0:
        sma_nb(x, fast, state[0:a], mf)
        sma_nb(x, slow, state[a:], out)
    else:
        ema_nb(x, fast, 2.0 / (fast + 1.0), state[0:a], mf)
        ema_nb(x, slow, 2.0 / (slow + 1.0), state[a:], out)
    for i in range(n):
        s = out[i]
        if percent:
            out[i] = (
                ((mf[i] - s) / s) * 100.0 if abs(s) >= _PPO_ZERO else (0.0 if s == s else np.nan)
            )
        else:
            out[i] = mf[i] - s


@njit
def po_nb(x, fast, slow, matype, percent, state, out):  # pragma: no cover - numba
    """float64[:] -> out; APO = MA_fast - MA_slow, or PPO = 100 (MA_fast - MA_slow) / MA_slow
    (``percent``; 0 when |MA_slow| < 1e-14), MA = SMA (matype 0, window NaN policy) or TA-Lib EMA
    (matype 1, each seeded on its own, NaN bars skipped), NaN until the slow MA is defined.
    Equals talib.APO / talib.PPO.

    state: [fast MA state (3 + fast), slow MA state (3 + slow)].
    """
    n = x.shape[0]
    for a in range(0, n, _CHUNK):  # cache-sized blocks for the temporaries
        b = min(n, a + _CHUNK)
        _po_block_nb(x[a:b], fast, slow, matype, percent, state, out[a:b])


@njit
def apo_nb(x, fast, slow, matype, state, out):  # pragma: no cover - numba
    """float64[:] -> out; equals talib.APO (see :func:`po_nb`)."""
    po_nb(x, fast, slow, matype, False, state, out)


@njit
def ppo_nb(x, fast, slow, matype, state, out):  # pragma: no cover - numba
    """float64[:] -> out; equals talib.PPO (see :func:`po_nb`)."""
    po_nb(x, fast, slow, matype, True, state, out)


@njit(fastmath={"contract"})  # FMA contraction only: faster, at least as accurate
def macd_nb(x, fast, slow, signal, state, out_macd, out_signal, out_hist):  # pragma: no cover
    """float64[:] -> out_macd, out_signal, out_hist; EMA_fast - EMA_slow where, as in TA-Lib, the
    fast EMA is seeded at the slow EMA's first bar with the mean of the last `fast` values;
    signal = EMA(macd, signal) seeded with a simple mean; hist = macd - signal; all three NaN
    until the signal is defined. NaN bars skipped. Equals talib.MACD.

    state: [valid values seen, fast seed sum, fast EMA, slow seed sum, slow EMA,
    macd values seen, signal seed sum, signal EMA].
    """
    seen = state[0]
    fsum = state[1]
    fe = state[2]
    ssum = state[3]
    se = state[4]
    mseen = state[5]
    gsum = state[6]
    ge = state[7]
    fa = 2.0 / (fast + 1.0)
    sa = 2.0 / (slow + 1.0)
    ga = 2.0 / (signal + 1.0)
    fast_from = slow - fast
    n = x.shape[0]
    i = 0
    while i < n and mseen < signal:  # warm-up: seeds of the three EMAs
        v = x[i]
        out_macd[i] = np.nan
        out_signal[i] = np.nan
        out_hist[i] = np.nan
        i += 1
        if v != v:
            continue
        if seen >= slow:
            fe = fe + fa * (v - fe)
            se = se + sa * (v - se)
        else:
            seen += 1.0
            ssum += v
            if seen > fast_from:
                fsum += v
            if seen < slow:
                continue
            se = ssum / slow
            fe = fsum / fast
        m = fe - se
        mseen += 1.0
        gsum += m
        if mseen == signal:
            ge = gsum / signal
            out_macd[i - 1] = m
            out_signal[i - 1] = ge
            out_hist[i - 1] = m - ge
    for j in range(i, n):  # steady state
        v = x[j]
        if v != v:
            out_macd[j] = np.nan
            out_signal[j] = np.nan
            out_hist[j] = np.nan
            continue
        fe = fe + fa * (v - fe)
        se = se + sa * (v - se)
        m = fe - se
        ge = ge + ga * (m - ge)
        out_macd[j] = m
        out_signal[j] = ge
        out_hist[j] = m - ge
    state[0] = seen
    state[1] = fsum
    state[2] = fe
    state[3] = ssum
    state[4] = se
    state[5] = mseen
    state[6] = gsum
    state[7] = ge


# ================================================================ specs
_HLC = ("high", "low", "close")


def _stoch_size(fastk: int, slowk: int, slowd: int) -> int:
    return rolling_max_min_state_size(fastk) + 6 + slowk + slowd


RSI_SPEC = Spec("rsi", rsi_nb, ("close",), ("window",), lambda window: 4)
CMO_SPEC = Spec("cmo", cmo_nb, ("close",), ("window",), lambda window: 4)
STOCH_SPEC = Spec(
    "stoch",
    stoch_nb,
    _HLC,
    ("fastk_window", "slowk_window", "slowd_window"),
    _stoch_size,
    ("slowk", "slowd"),
)
STOCHF_SPEC = Spec(
    "stochf",
    stochf_nb,
    _HLC,
    ("fastk_window", "fastd_window"),
    lambda k, d: _stoch_size(k, 1, d),
    ("fastk", "fastd"),
)
STOCHRSI_SPEC = Spec(
    "stochrsi", stochrsi_nb, ("close",), ("window", "fastk_window", "fastd_window"),
    lambda w, k, d: 4 + _stoch_size(k, 1, d), ("fastk", "fastd"),
)  # fmt: skip
WILLR_SPEC = Spec(
    "willr", willr_nb, _HLC, ("window",), rolling_max_min_state_size
)
CCI_SPEC = Spec("cci", cci_nb, _HLC, ("window",), lambda window: 2 + window)
MOM_SPEC = Spec("mom", mom_nb, ("close",), ("window",), lambda window: 1 + window)
ROC_SPEC = Spec("roc", roc_nb, ("close",), ("window",), lambda window: 1 + window)
ROCP_SPEC = Spec("rocp", rocp_nb, ("close",), ("window",), lambda window: 1 + window)
ROCR_SPEC = Spec("rocr", rocr_nb, ("close",), ("window",), lambda window: 1 + window)
ROCR100_SPEC = Spec("rocr100", rocr100_nb, ("close",), ("window",), lambda window: 1 + window)
MFI_SPEC = Spec("mfi", mfi_nb, (*_HLC, "volume"), ("window",), lambda window: 7 + 2 * window)
ULTOSC_SPEC = Spec(
    "ultosc",
    ultosc_nb,
    _HLC,
    ("window1", "window2", "window3"),
    lambda w1, w2, w3: 11 + 3 * max(w1, w2, w3),
)
TRIX_SPEC = Spec("trix", trix_nb, ("close",), ("window",), lambda window: 11)
APO_SPEC = Spec("apo", apo_nb, ("close",), ("fast", "slow", "matype"), lambda f, s, m: 6 + f + s)
PPO_SPEC = Spec("ppo", ppo_nb, ("close",), ("fast", "slow", "matype"), lambda f, s, m: 6 + f + s)
MACD_SPEC = Spec(
    "macd",
    macd_nb,
    ("close",),
    ("fast", "slow", "signal"),
    lambda f, s, g: 8,
    ("macd", "signal", "hist"),
)


# ================================================================ parameter checks
def _fast_slow(fast: Any, slow: Any, caller: str) -> tuple[Any, int]:
    """Validate ``fast`` (int or list) <= ``slow``; TA-Lib silently swaps them, we refuse."""
    fast = window_list("fast", fast, caller=caller, minimum=2)
    slow = check_int("slow", slow, caller=caller, minimum=2)
    for f in fast if isinstance(fast, list) else [fast]:
        if f > slow:
            raise InvalidParameterError(
                message(
                    "fast", caller, f"an integer <= `slow` ({slow})", f, "swap `fast` and `slow`"
                )
            )
    return fast, slow


def _matype(matype: Any, caller: str) -> int:
    matype = check_int("matype", matype, caller=caller)
    if matype not in (0, 1):
        raise InvalidParameterError(
            message(
                "matype",
                caller,
                "0 (SMA) or 1 (EMA)",
                matype,
                "other TA-Lib MA types are not implemented",
            )
        )
    return matype


def _rsi_params(window: Any, caller: str) -> dict[str, Any]:
    return {"window": window_list("window", window, caller=caller, minimum=2)}


def _stoch_params(fastk: Any, slowk: Any, slowd: Any, caller: str) -> dict[str, Any]:
    return {
        "fastk_window": window_list("fastk_window", fastk, caller=caller),
        "slowk_window": check_int("slowk_window", slowk, caller=caller, minimum=1),
        "slowd_window": check_int("slowd_window", slowd, caller=caller, minimum=1),
    }


def _stochf_params(fastk: Any, fastd: Any, caller: str) -> dict[str, Any]:
    return {
        "fastk_window": window_list("fastk_window", fastk, caller=caller),
        "fastd_window": check_int("fastd_window", fastd, caller=caller, minimum=1),
    }


def _stochrsi_params(window: Any, fastk: Any, fastd: Any, caller: str) -> dict[str, Any]:
    return {
        "window": window_list("window", window, caller=caller, minimum=2),
        "fastk_window": check_int("fastk_window", fastk, caller=caller, minimum=1),
        "fastd_window": check_int("fastd_window", fastd, caller=caller, minimum=1),
    }


def _ultosc_params(w1: Any, w2: Any, w3: Any, caller: str) -> dict[str, Any]:
    return {
        "window1": window_list("window1", w1, caller=caller),
        "window2": check_int("window2", w2, caller=caller, minimum=1),
        "window3": check_int("window3", w3, caller=caller, minimum=1),
    }


def _po_params(fast: Any, slow: Any, matype: Any, caller: str) -> dict[str, Any]:
    fast, slow = _fast_slow(fast, slow, caller)
    return {"fast": fast, "slow": slow, "matype": _matype(matype, caller)}


def _macd_params(fast: Any, slow: Any, signal: Any, caller: str) -> dict[str, Any]:
    fast, slow = _fast_slow(fast, slow, caller)
    return {
        "fast": fast,
        "slow": slow,
        "signal": check_int("signal", signal, caller=caller, minimum=1),
    }


# ================================================================ pandas API


def rsi(close: Any, window: int | list[int] = 14) -> Any:
    """Relative strength index (Wilder), TA-Lib convention.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices (one column per asset).
    window : int or list of int, default 14
        Smoothing window (>= 2). A list gives one column per window.

    Returns
    -------
    Same type as ``close``
        Values in [0, 100]; NaN for the first ``window`` bars (TA-Lib's lookback).

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    With changes d_t = x_t - x_{t-1}, U = max(d, 0), D = max(-d, 0): the averages are seeded with
    the simple means of the first ``window`` changes (bars 1..window), then Wilder-smoothed,
    AG_t = AG_{t-1} (n-1)/n + U_t / n; RSI = 100 AG / (AG + AL) (Wilder 1978, *New Concepts in
    Technical Trading Systems*). 0 where AG + AL = 0 (a constant series), as TA-Lib.
    NaN bars are skipped (equals ``rsi(x.dropna())`` reindexed). A ±inf input is not skipped:
    it enters Wilder's averages, so every later output is NaN (TA-Lib's RSI is stuck at 0 for
    ever: neither recovers); replace ±inf with NaN
    first to skip such bars. Shorter input than ``window + 1``: all NaN. Integer input is
    converted to float64.

    Examples
    --------
    >>> import numpy as np
    >>> rsi(np.array([1.0, 2.0, 1.0, 2.0, 3.0]), 2).round(2)
    array([ nan,  nan, 50. , 75. , 87.5])
    """
    return compute(RSI_SPEC, {"close": close}, _rsi_params(window, "rsi"))


def cmo(close: Any, window: int | list[int] = 14) -> Any:
    """Chande momentum oscillator, TA-Lib convention (Wilder-smoothed sums).

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 14
        Window (>= 2).

    Returns
    -------
    Same type as ``close``
        Values in [-100, 100]; NaN for the first ``window`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    CMO = 100 (AG - AL) / (AG + AL) with AG, AL the Wilder-smoothed average gain and loss of
    :func:`rsi` (TA-Lib's CMO; Chande's original uses plain sums over the window, which equals
    this only at the first value). Equivalently CMO = 2 RSI - 100. 0 for a constant series;
    NaN bars skipped.

    Examples
    --------
    >>> import numpy as np
    >>> cmo(np.array([1.0, 2.0, 1.0, 2.0, 3.0]), 2).round(2)
    array([nan, nan,  0., 50., 75.])
    """
    return compute(CMO_SPEC, {"close": close}, _rsi_params(window, "cmo"))


def stochrsi(
    close: Any, window: int | list[int] = 14, fastk_window: int = 5, fastd_window: int = 3
) -> Any:
    """Stochastic RSI: the fast stochastic of RSI(window), TA-Lib's STOCHRSI (fastd_matype=0).

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 14
        RSI window (>= 2).
    fastk_window : int, default 5
        Bars of the highest/lowest RSI (>= 1).
    fastd_window : int, default 3
        SMA window of %D (>= 1).

    Returns
    -------
    fastk, fastd
        ndarray input: a tuple of arrays in TA-Lib's order; Series input: a DataFrame with one
        column per output; DataFrame input: columns ``(output, asset)``. NaN for the first ``window + fastk_window + fastd_window - 2`` bars.

    Raises
    ------
    InvalidParameterError
        A window not an integer in range.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    fastk = 100 (RSI - min RSI) / (max RSI - min RSI) over ``fastk_window`` bars (0 when the
    range is 0); fastd = SMA(fastk, fastd_window) (Chande & Kroll 1994, *The New Technical
    Trader*). NaN bars skipped by the RSI; a constant series gives 0.

    Examples
    --------
    >>> import numpy as np
    >>> k, d = stochrsi(np.array([1.0, 2.0, 1.0, 2.0, 3.0, 2.0]), 2, 2, 2)
    >>> k.round(2), d.round(2)
    (array([ nan,  nan,  nan,  nan, 100.,   0.]), array([ nan,  nan,  nan,  nan, 100.,  50.]))
    """
    return compute(
        STOCHRSI_SPEC,
        {"close": close},
        _stochrsi_params(window, fastk_window, fastd_window, "stochrsi"),
    )


def stoch(
    high: Any,
    low: Any,
    close: Any,
    fastk_window: int | list[int] = 5,
    slowk_window: int = 3,
    slowd_window: int = 3,
) -> Any:
    """Slow stochastic oscillator, TA-Lib's STOCH with simple moving averages.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned prices.
    fastk_window : int or list of int, default 5
        Bars of the highest high / lowest low (>= 1).
    slowk_window : int, default 3
        SMA window smoothing raw %K into slow %K (>= 1).
    slowd_window : int, default 3
        SMA window of slow %D (>= 1).

    Returns
    -------
    slowk, slowd
        ndarray input: a tuple of arrays in TA-Lib's order; Series input: a DataFrame with one
        column per output; DataFrame input: columns ``(output, asset)``. Both NaN for the first ``fastk + slowk + slowd - 3`` bars.

    Raises
    ------
    InvalidParameterError
        A window not an integer >= 1; inputs of different shapes.
    DataError
        Non-numeric input or misaligned indexes.

    Notes
    -----
    raw %K = 100 (C - LL) / (HH - LL) (0 when HH = LL, so a constant series gives 0), slowk =
    SMA(raw %K, slowk_window), slowd = SMA(slowk, slowd_window) (Lane 1984). slowk is reported only
    where slowd is defined (TA-Lib aligns its outputs). NaN policy: pandas rolling windows (a NaN
    input spoils every window containing it). TA-Lib's other MA types are not implemented.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0])
    >>> k, d = stoch(x + 1, x - 1, x, 2, 2, 2)
    >>> k.round(2), d.round(2)
    (array([  nan,   nan,   nan, 50.  , 33.33, 50.  ]), array([  nan,   nan,   nan, 58.33, 41.67, 41.67]))
    """
    params = _stoch_params(fastk_window, slowk_window, slowd_window, "stoch")
    return compute(STOCH_SPEC, {"high": high, "low": low, "close": close}, params)


def stochf(
    high: Any, low: Any, close: Any, fastk_window: int | list[int] = 5, fastd_window: int = 3
) -> Any:
    """Fast stochastic oscillator, TA-Lib's STOCHF (fastd_matype=0).

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned prices.
    fastk_window : int or list of int, default 5
        Bars of the highest high / lowest low (>= 1).
    fastd_window : int, default 3
        SMA window of %D (>= 1).

    Returns
    -------
    fastk, fastd
        ndarray input: a tuple of arrays in TA-Lib's order; Series input: a DataFrame with one
        column per output; DataFrame input: columns ``(output, asset)``. Both NaN for the first ``fastk_window + fastd_window - 2`` bars.

    Raises
    ------
    InvalidParameterError
        A window not an integer >= 1; inputs of different shapes.
    DataError
        Non-numeric input or misaligned indexes.

    Notes
    -----
    fastk = 100 (C - LL) / (HH - LL) (0 when HH = LL), fastd = SMA(fastk, fastd_window); fastk is
    reported only where fastd is defined (TA-Lib). NaN policy: pandas rolling windows.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 2.0])
    >>> k, d = stochf(x + 1, x - 1, x, 2, 2)
    >>> k.round(2), d.round(2)
    (array([  nan,   nan, 66.67, 33.33]), array([  nan,   nan, 66.67, 50.  ]))
    """
    params = _stochf_params(fastk_window, fastd_window, "stochf")
    return compute(STOCHF_SPEC, {"high": high, "low": low, "close": close}, params)


def willr(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Williams' %R, TA-Lib convention.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned prices.
    window : int or list of int, default 14
        Bars of the highest high / lowest low (>= 2).

    Returns
    -------
    Same type as the input
        ndarray, Series or DataFrame (one column per asset); a list of windows gives one column
        per window. Values in [-100, 0]; NaN for the first ``window - 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2; inputs of different shapes.
    DataError
        Non-numeric input or misaligned indexes.

    Notes
    -----
    %R = -100 (HH - C) / (HH - LL) over ``window`` bars (Williams 1979), clipped to [-100, 0] when
    the close lies outside the high-low range (bad data), and 0 when HH = LL (a constant series),
    both as TA-Lib 0.8. NaN policy: pandas rolling windows.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 2.0])
    >>> willr(x + 1, x - 1, x, 2).round(2)
    array([   nan, -33.33, -33.33, -66.67])
    """
    return compute(
        WILLR_SPEC,
        {"high": high, "low": low, "close": close},
        {"window": window_list("window", window, caller="willr", minimum=2)},
    )


def cci(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Commodity channel index, TA-Lib convention.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned prices.
    window : int or list of int, default 14
        Window (>= 2).

    Returns
    -------
    Same type as the input
        ndarray, Series or DataFrame (one column per asset); a list of windows gives one column
        per window. NaN for the first ``window - 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2; inputs of different shapes.
    DataError
        Non-numeric input or misaligned indexes.

    Notes
    -----
    With typical price TP = (H + L + C) / 3, its window mean M and mean absolute deviation
    MD = mean |TP - M|: CCI = (TP - M) / (0.015 MD) (Lambert 1980). 0 when MD = 0 (a constant
    series) or TP = M up to rounding (|TP - M| <= 1e-14 max(|TP|, |M|)), as TA-Lib 0.8. O(window) per bar (the MAD needs the whole window, as in TA-Lib).
    NaN policy: pandas rolling windows.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 2.0])
    >>> cci(x, x, x, 3).round(2)
    array([ nan,  nan, 100., -50.])
    """
    return compute(
        CCI_SPEC,
        {"high": high, "low": low, "close": close},
        {"window": window_list("window", window, caller="cci", minimum=2)},
    )


def _lag_doc(summary: str, formula: str, example: str) -> str:
    return f"""{summary}

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 10
        Lag in bars (>= 1).

    Returns
    -------
    Same type as ``close``
        A list of windows gives one column per window. NaN for the first ``window`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    {formula} NaN where x_t or x_(t-window) is NaN (pandas ``shift`` arithmetic).

    Examples
    --------
    >>> import numpy as np
    {example}
    """


def mom(close: Any, window: int | list[int] = 10) -> Any:
    return compute(
        MOM_SPEC, {"close": close}, {"window": window_list("window", window, caller="mom")}
    )


def roc(close: Any, window: int | list[int] = 10) -> Any:
    return compute(
        ROC_SPEC, {"close": close}, {"window": window_list("window", window, caller="roc")}
    )


def rocp(close: Any, window: int | list[int] = 10) -> Any:
    return compute(
        ROCP_SPEC, {"close": close}, {"window": window_list("window", window, caller="rocp")}
    )


def rocr(close: Any, window: int | list[int] = 10) -> Any:
    return compute(
        ROCR_SPEC, {"close": close}, {"window": window_list("window", window, caller="rocr")}
    )


def rocr100(close: Any, window: int | list[int] = 10) -> Any:
    return compute(
        ROCR100_SPEC, {"close": close}, {"window": window_list("window", window, caller="rocr100")}
    )


mom.__doc__ = _lag_doc(
    "Momentum: the change over ``window`` bars.",
    "MOM_t = x_t - x_(t-window).",
    ">>> mom(np.array([1.0, 2.0, 4.0]), 1)\n    array([nan,  1.,  2.])",
)
roc.__doc__ = _lag_doc(
    "Rate of change in percent.",
    "ROC_t = 100 (x_t / x_(t-window) - 1); 0 when x_(t-window) = 0 (TA-Lib).",
    ">>> roc(np.array([1.0, 2.0, 4.0]), 1)\n    array([ nan, 100., 100.])",
)
rocp.__doc__ = _lag_doc(
    "Rate of change as a fraction.",
    "ROCP_t = (x_t - x_(t-window)) / x_(t-window); 0 when x_(t-window) = 0 (TA-Lib).",
    ">>> rocp(np.array([1.0, 2.0, 4.0]), 1)\n    array([nan,  1.,  1.])",
)
rocr.__doc__ = _lag_doc(
    "Rate of change as a ratio.",
    "ROCR_t = x_t / x_(t-window); 0 when x_(t-window) = 0 (TA-Lib).",
    ">>> rocr(np.array([1.0, 2.0, 4.0]), 1)\n    array([nan,  2.,  2.])",
)
rocr100.__doc__ = _lag_doc(
    "Rate of change as a ratio times 100.",
    "ROCR100_t = 100 x_t / x_(t-window); 0 when x_(t-window) = 0 (TA-Lib).",
    ">>> rocr100(np.array([1.0, 2.0, 4.0]), 1)\n    array([ nan, 200., 200.])",
)


def mfi(high: Any, low: Any, close: Any, volume: Any, window: int | list[int] = 14) -> Any:
    """Money flow index, TA-Lib convention.

    Parameters
    ----------
    high, low, close, volume : ndarray, Series or DataFrame
        Aligned prices and volume.
    window : int or list of int, default 14
        Number of typical-price changes summed (>= 2).

    Returns
    -------
    Same type as the input
        ndarray, Series or DataFrame (one column per asset); a list of windows gives one column
        per window. Values in [0, 100]; NaN for the first ``window`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2; inputs of different shapes.
    DataError
        Non-numeric input or misaligned indexes.

    Notes
    -----
    TP = (H + L + C) / 3, money flow MF = TP * V, positive when TP rose from the previous bar,
    negative when it fell, neither when unchanged; MFI = 100 ΣMF+ / (ΣMF+ + ΣMF-) over the last
    ``window`` changes (Quong & Soudack 1989). As TA-Lib 0.8: a change smaller than
    1e-14 (|TP_t| + |TP_(t-1)|) counts as unchanged (rounding noise), the sums are running sums
    and the result is clipped to [0, 100] (their residues), and it is 0 when both sums are 0 (a
    constant series). A sum whose window holds no non-zero flow is exactly 0 (not the residue
    of the flows that left): zero volume or constant prices give 0, as TA-Lib. NaN policy:
    pandas rolling windows over the flows, ±inf counting as NaN (a bad bar spoils the flows of
    bars t and t+1; the output resumes once they have left the window).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 1.0, 2.0])
    >>> mfi(x, x, x, np.ones(4), 2).round(2)
    array([  nan,   nan, 66.67, 66.67])
    """
    return compute(
        MFI_SPEC,
        {"high": high, "low": low, "close": close, "volume": volume},
        {"window": window_list("window", window, caller="mfi", minimum=2)},
    )


def ultosc(
    high: Any,
    low: Any,
    close: Any,
    window1: int | list[int] = 7,
    window2: int = 14,
    window3: int = 28,
) -> Any:
    """Ultimate oscillator (Williams), TA-Lib convention.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned prices.
    window1, window2, window3 : int, default 7, 14, 28
        The three windows (>= 1). As in TA-Lib they are sorted, so the shortest gets weight 4
        whatever the order given. ``window1`` may be a list.

    Returns
    -------
    Same type as the input
        ndarray, Series or DataFrame (one column per asset); a list of windows gives one column
        per window. Values in [0, 100]; NaN for the first ``max(windows)`` bars.

    Raises
    ------
    InvalidParameterError
        A window not an integer >= 1; inputs of different shapes.
    DataError
        Non-numeric input or misaligned indexes.

    Notes
    -----
    BP = C - min(L, C_prev), TR = max(H - L, |C_prev - H|, |C_prev - L|), A_k = ΣBP / ΣTR over the
    k-th window; UO = 100 (4 A_1 + 2 A_2 + A_3) / 7 (Williams 1985). A term whose ΣTR is 0 is
    dropped (so a constant series gives 0), as TA-Lib. NaN policy: pandas rolling windows over
    the terms (a NaN close spoils the terms of bars t and t+1).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0, 2.0])
    >>> ultosc(x + 1, x - 1, x, 1, 2, 3).round(2)
    array([nan, nan, nan, 50.])
    """
    params = _ultosc_params(window1, window2, window3, "ultosc")
    return compute(ULTOSC_SPEC, {"high": high, "low": low, "close": close}, params)


def trix(close: Any, window: int | list[int] = 30) -> Any:
    """TRIX: one-bar rate of change (percent) of a triple exponential moving average.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    window : int or list of int, default 30
        Span of each EMA (>= 1).

    Returns
    -------
    Same type as the input
        ndarray, Series or DataFrame (one column per asset); a list of windows gives one column
        per window. NaN for the first ``3 (window - 1) + 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    E = EMA(EMA(EMA(x))) (each seeded with a simple mean, TA-Lib), TRIX_t = 100 (E_t / E_(t-1) - 1)
    (Hutson 1983); 0 when E_(t-1) = 0. NaN bars skipped (equals computing on ``dropna()``).

    Examples
    --------
    >>> import numpy as np
    >>> trix(np.array([1.0, 2.0, 4.0, 8.0]), 1)
    array([ nan, 100., 100., 100.])
    """
    return compute(
        TRIX_SPEC, {"close": close}, {"window": window_list("window", window, caller="trix")}
    )


def apo(close: Any, fast: int | list[int] = 12, slow: int = 26, matype: int = 1) -> Any:
    """Absolute price oscillator: fast MA minus slow MA, TA-Lib's APO.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    fast : int or list of int, default 12
        Fast MA window (>= 2, <= ``slow``).
    slow : int, default 26
        Slow MA window (>= 2).
    matype : {1, 0}, default 1
        1 = EMA (TA-Lib 0.8's default), 0 = SMA. Other TA-Lib MA types are not implemented.

    Returns
    -------
    Same type as the input
        ndarray, Series or DataFrame (one column per asset); a list of windows gives one column
        per window. NaN for the first ``slow - 1`` bars.

    Raises
    ------
    InvalidParameterError
        A window out of range, ``fast > slow`` (TA-Lib silently swaps them; we refuse), or
        ``matype`` not 0 or 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    APO = MA_fast - MA_slow. Unlike :func:`macd`, TA-Lib seeds each EMA on its own (the fast EMA is
    not realigned), so ``apo(x, 12, 26)`` differs from the MACD line during the first few hundred
    bars. NaN policy: SMA = pandas rolling windows; EMA = NaN bars skipped. Constant series: 0.

    Examples
    --------
    >>> import numpy as np
    >>> apo(np.array([1.0, 2.0, 3.0, 4.0]), 2, 3, matype=0)
    array([nan, nan, 0.5, 0.5])
    """
    return compute(APO_SPEC, {"close": close}, _po_params(fast, slow, matype, "apo"))


def ppo(close: Any, fast: int | list[int] = 12, slow: int = 26, matype: int = 1) -> Any:
    """Percentage price oscillator: 100 (fast MA - slow MA) / slow MA, TA-Lib's PPO.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    fast : int or list of int, default 12
        Fast MA window (>= 2, <= ``slow``).
    slow : int, default 26
        Slow MA window (>= 2).
    matype : {1, 0}, default 1
        1 = EMA (TA-Lib 0.8's default), 0 = SMA.

    Returns
    -------
    Same type as the input
        ndarray, Series or DataFrame (one column per asset); a list of windows gives one column
        per window. NaN for the first ``slow - 1`` bars.

    Raises
    ------
    InvalidParameterError
        A window out of range, ``fast > slow``, or ``matype`` not 0 or 1.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    PPO = 100 (MA_fast - MA_slow) / MA_slow; 0 where |MA_slow| < 1e-14 (TA-Lib's zero test). MAs
    and NaN policy as :func:`apo`. Constant series: 0.

    Examples
    --------
    >>> import numpy as np
    >>> ppo(np.array([1.0, 2.0, 3.0, 4.0]), 2, 3, matype=0)
    array([        nan,         nan, 25.        , 16.66666667])
    """
    return compute(PPO_SPEC, {"close": close}, _po_params(fast, slow, matype, "ppo"))


def macd(close: Any, fast: int | list[int] = 12, slow: int = 26, signal: int = 9) -> Any:
    """Moving average convergence/divergence, TA-Lib's MACD.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Prices.
    fast : int or list of int, default 12
        Fast EMA span (>= 2, <= ``slow``).
    slow : int, default 26
        Slow EMA span (>= 2).
    signal : int, default 9
        Signal EMA span (>= 1).

    Returns
    -------
    macd, signal, hist
        ndarray input: a tuple of arrays in TA-Lib's order; Series input: a DataFrame with one
        column per output; DataFrame input: columns ``(output, asset)``. All NaN for the first ``slow + signal - 2`` bars.

    Raises
    ------
    InvalidParameterError
        A span out of range or ``fast > slow`` (TA-Lib silently swaps them; we refuse).
    DataError
        Non-numeric ``close``.

    Notes
    -----
    macd = EMA_fast - EMA_slow, signal = EMA(macd, signal), hist = macd - signal (Appel 1979),
    EMAs with alpha = 2 / (span + 1) seeded with simple means. As in TA-Lib, the fast EMA is
    seeded at the slow EMA's first bar (bar ``slow - 1``) with the mean of the last ``fast``
    values, and macd is reported only where the signal is defined. NaN bars are skipped (equals
    computing on ``dropna()``). Constant series: 0, 0, 0.

    Examples
    --------
    >>> import numpy as np
    >>> m, s, h = macd(np.arange(1.0, 7.0), 2, 3, 2)
    >>> m, s, h
    (array([nan, nan, nan, 0.5, 0.5, 0.5]), array([nan, nan, nan, 0.5, 0.5, 0.5]), array([nan, nan, nan,  0.,  0.,  0.]))
    """
    return compute(MACD_SPEC, {"close": close}, _macd_params(fast, slow, signal, "macd"))


# ================================================================ streaming twins
def _one(params: dict[str, Any], caller: str) -> dict[str, Any]:
    """Streams take one window, not a list."""
    for k, v in params.items():
        if isinstance(v, list):
            raise InvalidParameterError(message(k, caller, "a single integer", v))
    return params


class RSI(Stream):
    """Streaming :func:`rsi`: ``RSI(window).update(close) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(RSI_SPEC, _one(_rsi_params(window, "RSI"), "RSI"))


class CMO(Stream):
    """Streaming :func:`cmo`: ``CMO(window).update(close) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(CMO_SPEC, _one(_rsi_params(window, "CMO"), "CMO"))


class STOCHRSI(Stream):
    """Streaming :func:`stochrsi`: ``update(close) -> {'fastk': ..., 'fastd': ...}``."""

    def __init__(self, window: int = 14, fastk_window: int = 5, fastd_window: int = 3) -> None:
        super().__init__(
            STOCHRSI_SPEC,
            _one(_stochrsi_params(window, fastk_window, fastd_window, "STOCHRSI"), "STOCHRSI"),
        )


class STOCH(Stream):
    """Streaming :func:`stoch`: ``update(high, low, close) -> {'slowk': ..., 'slowd': ...}``."""

    def __init__(self, fastk_window: int = 5, slowk_window: int = 3, slowd_window: int = 3) -> None:
        super().__init__(
            STOCH_SPEC,
            _one(_stoch_params(fastk_window, slowk_window, slowd_window, "STOCH"), "STOCH"),
        )


class STOCHF(Stream):
    """Streaming :func:`stochf`: ``update(high, low, close) -> {'fastk': ..., 'fastd': ...}``."""

    def __init__(self, fastk_window: int = 5, fastd_window: int = 3) -> None:
        super().__init__(
            STOCHF_SPEC, _one(_stochf_params(fastk_window, fastd_window, "STOCHF"), "STOCHF")
        )


class WILLR(Stream):
    """Streaming :func:`willr`: ``WILLR(window).update(high, low, close) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(
            WILLR_SPEC,
            _one({"window": window_list("window", window, caller="WILLR", minimum=2)}, "WILLR"),
        )


class CCI(Stream):
    """Streaming :func:`cci`: ``CCI(window).update(high, low, close) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(
            CCI_SPEC,
            _one({"window": window_list("window", window, caller="CCI", minimum=2)}, "CCI"),
        )


class _LagStream(Stream):
    _spec: Spec

    def __init__(self, window: int = 10) -> None:
        name = type(self).__name__
        super().__init__(
            self._spec, _one({"window": window_list("window", window, caller=name)}, name)
        )


class MOM(_LagStream):
    """Streaming :func:`mom`: ``MOM(window).update(close) -> value``."""

    _spec = MOM_SPEC


class ROC(_LagStream):
    """Streaming :func:`roc`: ``ROC(window).update(close) -> value``."""

    _spec = ROC_SPEC


class ROCP(_LagStream):
    """Streaming :func:`rocp`: ``ROCP(window).update(close) -> value``."""

    _spec = ROCP_SPEC


class ROCR(_LagStream):
    """Streaming :func:`rocr`: ``ROCR(window).update(close) -> value``."""

    _spec = ROCR_SPEC


class ROCR100(_LagStream):
    """Streaming :func:`rocr100`: ``ROCR100(window).update(close) -> value``."""

    _spec = ROCR100_SPEC


class MFI(Stream):
    """Streaming :func:`mfi`: ``MFI(window).update(high, low, close, volume) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(
            MFI_SPEC,
            _one({"window": window_list("window", window, caller="MFI", minimum=2)}, "MFI"),
        )


class ULTOSC(Stream):
    """Streaming :func:`ultosc`: ``ULTOSC(7, 14, 28).update(high, low, close) -> value``."""

    def __init__(self, window1: int = 7, window2: int = 14, window3: int = 28) -> None:
        super().__init__(
            ULTOSC_SPEC, _one(_ultosc_params(window1, window2, window3, "ULTOSC"), "ULTOSC")
        )


class TRIX(Stream):
    """Streaming :func:`trix`: ``TRIX(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(
            TRIX_SPEC, _one({"window": window_list("window", window, caller="TRIX")}, "TRIX")
        )


class APO(Stream):
    """Streaming :func:`apo`: ``APO(fast, slow, matype).update(close) -> value``."""

    def __init__(self, fast: int = 12, slow: int = 26, matype: int = 1) -> None:
        super().__init__(APO_SPEC, _one(_po_params(fast, slow, matype, "APO"), "APO"))


class PPO(Stream):
    """Streaming :func:`ppo`: ``PPO(fast, slow, matype).update(close) -> value``."""

    def __init__(self, fast: int = 12, slow: int = 26, matype: int = 1) -> None:
        super().__init__(PPO_SPEC, _one(_po_params(fast, slow, matype, "PPO"), "PPO"))


class MACD(Stream):
    """Streaming :func:`macd`: ``update(close) -> {'macd': ..., 'signal': ..., 'hist': ...}``."""

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        super().__init__(MACD_SPEC, _one(_macd_params(fast, slow, signal, "MACD"), "MACD"))

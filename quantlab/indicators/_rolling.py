"""Shared state-carrying rolling kernels (building blocks of several indicators)."""

from __future__ import annotations

import numpy as np

from quantlab._jit import njit

__all__ = [
    "nonfinite_nb",
    "rolling_max_min_nb",
    "rolling_max_min_state_size",
    "rolling_argmax_argmin_nb",
]


@njit
def nonfinite_nb(v):  # pragma: no cover - numba
    """True when ``v`` is NaN or ±inf (``v - v`` is exactly 0.0 only for a finite ``v``).

    Running-sum kernels count such inputs instead of adding them: an inf added to a running
    sum and later subtracted leaves NaN for ever (inf - inf), where pandas' rolling recovers.
    """
    return v - v != 0.0


_DIRECT_MAX = 8  # windows up to this length are scanned directly by rolling_argmax_argmin_nb


def rolling_max_min_state_size(window: int) -> int:
    """State length of :func:`rolling_max_min_nb` for ``window``."""
    return 3 + 2 * window


@njit
def rolling_max_min_nb(high, low, window, state, out_max, out_min):  # pragma: no cover - numba
    """Rolling max of ``high`` and rolling min of ``low`` over ``window`` bars (values only).

    float64[:] x2 -> out_max, out_min float64[:]; each NaN until `window` values and while a NaN
    of its own input is in the window (pandas ``rolling(window).max()`` / ``.min()`` policy; equal
    to them). (TA-Lib's MAX/MIN/WILLR use the same method):
    van Herk / Gil-Werman blocks (see :func:`_max_min_blocks_nb`), 3 comparisons per bar and
    input whatever the data, no rescans.

    state: [bars seen, 1 + index of the last NaN in high (0: none), the same for low,
    ring(window) of high, ring(window) of low] where ring slot = absolute bar index % window.
    """
    n = high.shape[0]
    w = window
    seen = int(state[0])
    # indices relative to this call; "no NaN yet" sits at bar -1 so that warm-up is the same test
    nan_h = int(state[1]) - 1 - seen
    nan_l = int(state[2]) - 1 - seen
    ring_h = state[3 : 3 + w]
    ring_l = state[3 + w : 3 + 2 * w]
    head = min(n, w - 1)  # bars whose window reaches into previous calls
    if head > 0:  # the same blocks over [last w - 1 bars from the ring, head bars]
        th, tl = _ring_and_head_nb(ring_h, ring_l, seen, high[:head], low[:head])
        oh = np.empty(th.shape[0])
        ol = np.empty(th.shape[0])
        _max_min_blocks_nb(th, tl, w, -1, -1, oh, ol)
        for i in range(head):
            nan_h = i if high[i] != high[i] else nan_h
            nan_l = i if low[i] != low[i] else nan_l
            out_max[i] = oh[w - 1 + i] if i - nan_h >= w else np.nan  # also NaN in the warm-up
            out_min[i] = ol[w - 1 + i] if i - nan_l >= w else np.nan
    if n >= w:
        first_h = nan_h
        first_l = nan_l
        nan_h, nan_l = _max_min_blocks_nb(high, low, w, nan_h, nan_l, out_max, out_min)
        # NaN windows were left out of the block loop (branch-free); mask them if any reaches here
        if nan_h > -w:
            _mask_nan_windows_nb(high, w, first_h, out_max)
        if nan_l > -w:
            _mask_nan_windows_nb(low, w, first_l, out_min)
    _write_rings_nb(high, low, seen, ring_h, ring_l)
    state[0] = seen + n
    state[1] = max(0, nan_h + 1 + seen)
    state[2] = max(0, nan_l + 1 + seen)


@njit
def _ring_and_head_nb(ring_h, ring_l, seen, head_h, head_l):  # pragma: no cover - numba
    """[the w - 1 bars before this call, oldest first, then the head bars] for high and low
    (bars before the first are the ring's zeros: their windows are in the warm-up)."""
    w = ring_h.shape[0]
    m = w - 1 + head_h.shape[0]
    th = np.empty(m)
    tl = np.empty(m)
    slot = (seen - (w - 1)) % w  # Python modulo: non-negative
    for j in range(w - 1):
        th[j] = ring_h[slot]
        tl[j] = ring_l[slot]
        slot = slot + 1 if slot + 1 < w else 0
    th[w - 1 :] = head_h
    tl[w - 1 :] = head_l
    return th, tl


@njit
def _write_rings_nb(high, low, seen, ring_h, ring_l):  # pragma: no cover - numba
    """Store the last len(ring) bars of high and low at slot (absolute bar index % len(ring))."""
    n = high.shape[0]
    w = ring_h.shape[0]
    first = max(0, n - w)
    slot = (seen + first) % w
    for i in range(first, n):
        ring_h[slot] = high[i]
        ring_l[slot] = low[i]
        slot = slot + 1 if slot + 1 < w else 0


@njit
def _mask_nan_windows_nb(x, w, last_nan, out):  # pragma: no cover - numba
    """out[i] = NaN for i >= w - 1 where a NaN of x (or the NaN at relative index `last_nan`
    before the call) is among the last w bars; outputs before w - 1 are left alone."""
    for i in range(x.shape[0]):
        last_nan = i if x[i] != x[i] else last_nan
        if i >= w - 1 and i - last_nan < w:
            out[i] = np.nan


@njit
def _max_min_blocks_nb(high, low, w, nan_h, nan_l, out_max, out_min):  # pragma: no cover - numba
    """Steady state of :func:`rolling_max_min_nb`: outputs w - 1 .. n - 1 (windows inside the
    arrays, n >= w), NaN windows not masked. Returns the updated last-NaN indices.

    van Herk / Gil-Werman: cut the bars into blocks of w; the window ending at bar i of block b is
    (suffix of block b - 1 from bar i - w + 1) + (prefix of block b up to i), so its max is
    max(suffix max, running prefix max). The suffix maxima of each full block are computed
    backwards after it (for the next block). Comparisons drop a NaN, but any partial max it
    touches lies inside a window holding that NaN, which the caller masks.
    """
    n = high.shape[0]
    inf = np.inf
    prev_h = np.empty(w + 1)  # suffix maxima of the previous block; slot w = empty suffix
    prev_l = np.empty(w + 1)
    cur_h = np.empty(w + 1)
    cur_l = np.empty(w + 1)
    cur_h[w] = -inf
    cur_l[w] = inf
    prev_h[w] = -inf
    prev_l[w] = inf
    # block 0: its suffix maxima; its only steady output is the window of the whole block
    sh = -inf
    sl = inf
    for t in range(w - 1, -1, -1):
        vh = high[t]
        vl = low[t]
        sh = vh if vh > sh else sh
        sl = vl if vl < sl else sl
        cur_h[t] = sh
        cur_l[t] = sl
        nan_h = max(nan_h, t) if vh != vh else nan_h
        nan_l = max(nan_l, t) if vl != vl else nan_l
    out_max[w - 1] = sh
    out_min[w - 1] = sl
    for b0 in range(w, n, w):
        prev_h, cur_h = cur_h, prev_h
        prev_l, cur_l = cur_l, prev_l
        bh = high[b0 : b0 + w]
        bl = low[b0 : b0 + w]
        om = out_max[b0 : b0 + w]
        on = out_min[b0 : b0 + w]
        gh = -inf
        gl = inf
        for t in range(bh.shape[0]):  # window of bar b0 + t: (previous block from t + 1) + (this one to t)
            vh = bh[t]
            vl = bl[t]
            gh = vh if vh > gh else gh
            gl = vl if vl < gl else gl
            nan_h = b0 + t if vh != vh else nan_h
            nan_l = b0 + t if vl != vl else nan_l
            ph = prev_h[t + 1]
            pl = prev_l[t + 1]
            om[t] = gh if gh > ph else ph
            on[t] = gl if gl < pl else pl
        if bh.shape[0] == w:  # full block: its suffix maxima for the next block
            sh = -inf
            sl = inf
            for t in range(w - 1, -1, -1):
                sh = bh[t] if bh[t] > sh else sh
                sl = bl[t] if bl[t] < sl else sl
                cur_h[t] = sh
                cur_l[t] = sl
    return nan_h, nan_l


@njit
def rolling_argmax_argmin_nb(high, low, window, state, age_max, age_min):  # pragma: no cover - numba
    """Bars since the newest rolling max of ``high`` and since the newest rolling min of ``low``.

    float64[:] x2 -> age_max, age_min float64[:] in [0, window - 1]; ties go to the newest bar
    (TA-Lib's AROON rule; tests check it against the rescan algorithm in
    ``tests/indicators/oracle.py``), and
    is a function of the window alone). Each NaN until `window` values and while a NaN of its
    own input is in the window (pandas rolling policy). Same van Herk / Gil-Werman blocks as
    :func:`rolling_max_min_nb`, carrying the bar of each partial extreme (windows of at most
    ``_DIRECT_MAX`` bars are scanned directly: cheaper than a block per few bars).

    state: as :func:`rolling_max_min_nb` (size ``rolling_max_min_state_size(window)``).
    """
    n = high.shape[0]
    w = window
    seen = int(state[0])
    nan_h = int(state[1]) - 1 - seen  # relative to this call; "no NaN yet" is bar -1
    nan_l = int(state[2]) - 1 - seen
    ring_h = state[3 : 3 + w]
    ring_l = state[3 + w : 3 + 2 * w]
    head = min(n, w - 1)  # bars whose window reaches into previous calls
    if head > 0:  # the same blocks over [last w - 1 bars from the ring, head bars]
        th, tl = _ring_and_head_nb(ring_h, ring_l, seen, high[:head], low[:head])
        oh = np.empty(th.shape[0])
        ol = np.empty(th.shape[0])
        _argmax_argmin_blocks_nb(th, tl, w, -1, -1, oh, ol)
        for i in range(head):
            nan_h = i if high[i] != high[i] else nan_h
            nan_l = i if low[i] != low[i] else nan_l
            age_max[i] = oh[w - 1 + i] if i - nan_h >= w else np.nan  # also NaN in the warm-up
            age_min[i] = ol[w - 1 + i] if i - nan_l >= w else np.nan
    if n >= w:
        first_h = nan_h
        first_l = nan_l
        nan_h, nan_l = _argmax_argmin_blocks_nb(high, low, w, nan_h, nan_l, age_max, age_min)
        if nan_h > -w:  # NaN windows were left out of the block loop: mask them
            _mask_nan_windows_nb(high, w, first_h, age_max)
        if nan_l > -w:
            _mask_nan_windows_nb(low, w, first_l, age_min)
    _write_rings_nb(high, low, seen, ring_h, ring_l)
    state[0] = seen + n
    state[1] = max(0, nan_h + 1 + seen)
    state[2] = max(0, nan_l + 1 + seen)


@njit
def _argmax_argmin_blocks_nb(high, low, w, nan_h, nan_l, age_max, age_min):  # pragma: no cover - numba
    """Steady state of :func:`rolling_argmax_argmin_nb` (as :func:`_max_min_blocks_nb`, with
    the bar of each partial extreme; the newer part wins ties)."""
    n = high.shape[0]
    inf = np.inf
    if w <= _DIRECT_MAX:  # short windows: a direct scan per bar beats the per-block overhead
        for i in range(w - 1):
            nan_h = i if high[i] != high[i] else nan_h
            nan_l = i if low[i] != low[i] else nan_l
        for i in range(w - 1, n):
            nan_h = i if high[i] != high[i] else nan_h
            nan_l = i if low[i] != low[i] else nan_l
            wh = high[i - w + 1 : i + 1]
            wl = low[i - w + 1 : i + 1]
            mh = -inf
            ml = inf
            jh = 0
            jl = 0
            for j in range(w):  # oldest to newest, >=: the newest tie wins
                v = wh[j]
                jh = j if v >= mh else jh
                mh = v if v >= mh else mh
                v = wl[j]
                jl = j if v <= ml else jl
                ml = v if v <= ml else ml
            age_max[i] = w - 1 - jh
            age_min[i] = w - 1 - jl
        return nan_h, nan_l
    # suffix extremes of the previous / current block and their bars; slot w = empty suffix
    prev_h = np.empty(w + 1)
    prev_l = np.empty(w + 1)
    cur_h = np.empty(w + 1)
    cur_l = np.empty(w + 1)
    prev_jh = np.zeros(w + 1, dtype=np.int64)
    prev_jl = np.zeros(w + 1, dtype=np.int64)
    cur_jh = np.zeros(w + 1, dtype=np.int64)
    cur_jl = np.zeros(w + 1, dtype=np.int64)
    cur_h[w] = -inf
    cur_l[w] = inf
    prev_h[w] = -inf
    prev_l[w] = inf
    for t in range(w):
        nan_h = t if high[t] != high[t] else nan_h
        nan_l = t if low[t] != low[t] else nan_l
    _suffix_args_nb(high, low, 0, cur_h, cur_l, cur_jh, cur_jl)
    age_max[w - 1] = w - 1 - cur_jh[0]  # block 0 is the window of bar w - 1
    age_min[w - 1] = w - 1 - cur_jl[0]
    for b0 in range(w, n, w):
        prev_h, cur_h = cur_h, prev_h
        prev_l, cur_l = cur_l, prev_l
        prev_jh, cur_jh = cur_jh, prev_jh
        prev_jl, cur_jl = cur_jl, prev_jl
        bh = high[b0 : b0 + w]
        bl = low[b0 : b0 + w]
        am = age_max[b0 : b0 + w]
        an = age_min[b0 : b0 + w]
        m = bh.shape[0]
        gh = -inf
        gl = inf
        gjh = 0
        gjl = 0
        for t in range(m):  # window of bar b0 + t: (previous block from t + 1) + (this one to t)
            i = b0 + t
            vh = bh[t]
            vl = bl[t]
            gjh = i if vh >= gh else gjh  # the newest tie wins
            gh = vh if vh >= gh else gh
            gjl = i if vl <= gl else gjl
            gl = vl if vl <= gl else gl
            nan_h = i if vh != vh else nan_h
            nan_l = i if vl != vl else nan_l
            am[t] = i - (gjh if gh >= prev_h[t + 1] else prev_jh[t + 1])  # ties: the newer part
            an[t] = i - (gjl if gl <= prev_l[t + 1] else prev_jl[t + 1])
        if m == w:  # full block: its suffix extremes for the next block
            _suffix_args_nb(high, low, b0, cur_h, cur_l, cur_jh, cur_jl)
    return nan_h, nan_l


@njit(inline="always")
def _suffix_args_nb(high, low, b0, suf_h, suf_l, suf_jh, suf_jl):  # pragma: no cover - numba
    """Suffix max of high / min of low from each bar of the full block starting at b0, and their
    (newest) bars."""
    w = suf_h.shape[0] - 1
    sh = high[b0 + w - 1]
    sl = low[b0 + w - 1]
    jh = b0 + w - 1
    jl = jh
    suf_h[w - 1] = sh
    suf_l[w - 1] = sl
    suf_jh[w - 1] = jh
    suf_jl[w - 1] = jl
    for t in range(w - 2, -1, -1):  # newest to oldest, strict: the newest tie wins
        vh = high[b0 + t]
        vl = low[b0 + t]
        jh = b0 + t if vh > sh else jh
        sh = vh if vh > sh else sh
        jl = b0 + t if vl < sl else jl
        sl = vl if vl < sl else sl
        suf_h[t] = sh
        suf_l[t] = sl
        suf_jh[t] = jh
        suf_jl[t] = jl

"""Rolling statistics: linear regression, correlation, beta, Hurst exponent
(TA-Lib's "statistic functions", plus R² and Hurst, which TA-Lib lacks)."""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab._jit import njit
from quantlab._validate import check_bool, check_int, message
from quantlab.errors import InvalidParameterError
from quantlab.indicators._api import Spec, Stream, compute, window_list
from quantlab.indicators._rolling import nonfinite_nb

__all__ = [
    "linearreg",
    "linearreg_slope",
    "linearreg_intercept",
    "linearreg_angle",
    "tsf",
    "linearreg_r2",
    "correl",
    "beta",
    "hurst",
    "LINEARREG",
    "LINEARREG_SLOPE",
    "LINEARREG_INTERCEPT",
    "LINEARREG_ANGLE",
    "TSF",
    "LINEARREG_R2",
    "CORREL",
    "BETA",
    "HURST",
    "linearreg_nb",
    "linearreg_r2_nb",
    "correl_nb",
    "beta_nb",
    "hurst_nb",
]

# Relative size below which a running second moment is treated as zero (cancellation noise).
_ZERO_VAR = 1e-12
# linearreg_r2: below this fraction of Σd², S_yy = Σd² - (Σd)²/n is recomputed by two passes.
_R2_CANCEL = 1e-4

# linearreg_nb modes
_SLOPE, _INTERCEPT, _VALUE, _ANGLE, _TSF = 0, 1, 2, 3, 4


# ---------------------------------------------------------------- kernels
@njit
def _head_nb(x, ring, seen, window):  # pragma: no cover - numba
    """(joined, kept): the last ``kept = min(seen, window)`` inputs of earlier calls, read from
    ``ring`` (bar k at k % window), followed by the first ``min(len(x), window)`` new inputs, i.e.
    every value the first ``window`` bars of a call can reach, contiguous."""
    kept = min(seen, window)
    head = min(x.shape[0], window)
    joined = np.empty(kept + head, dtype=np.float64)
    for j in range(kept):
        joined[j] = ring[(seen - kept + j) % window]
    for j in range(head):
        joined[kept + j] = x[j]
    return joined, kept


@njit
def _save_ring_nb(x, ring, seen, window):  # pragma: no cover - numba
    for i in range(max(0, x.shape[0] - window), x.shape[0]):
        ring[(seen + i) % window] = x[i]


@njit
def _linreg_exact_nb(y, end, window, jb):  # pragma: no cover - numba
    """One pass over the window y[end - window + 1 : end + 1] (t = 0 oldest .. window - 1), about
    its newest value c = y[end]: (c, Σd, Σtd, Σ_{t>=jb} d, Σ_{t>=jb} (t - jb) d), d = y - c."""
    lo = end - window + 1
    c = y[end]
    s0 = 0.0
    s1 = 0.0
    a0 = 0.0
    a1 = 0.0
    for j in range(window):
        d = y[lo + j] - c
        s0 += d
        s1 += j * d
        if j >= jb:
            a0 += d
            a1 += (j - jb) * d
    return c, s0, s1, a0, a1


@njit
def _linreg_run_nb(y, start, base, window, mode, ready, c, s0, s1, a0, a1, out):  # pragma: no cover - numba
    """Bars y[start:] of :func:`linearreg_nb` (bar p has absolute index base + p; y[p - window]
    is the value leaving its window) into out[p - start]; returns the updated sums."""
    n = float(window)
    t_mean = (n - 1.0) * 0.5
    s_t = n * t_mean  # Σt
    inv_n = 1.0 / n
    inv_stt = 12.0 / (n * (n * n - 1.0))  # 1 / Σ(t - t_mean)²
    last = n - 1.0
    fit = mode != _SLOPE and mode != _ANGLE  # output the line at t = t_mean + at
    at = -t_mean if mode == _INTERCEPT else (t_mean if mode == _VALUE else t_mean + 1.0)
    size = y.shape[0]
    force = False  # the sums went NaN without a NaN input (inf arithmetic): refit this bar
    known = -1  # jb of bar p when known without a division
    p = start
    while p < size:
        k = base + p
        if nonfinite_nb(y[p]):  # NaN or ±inf: every window holding it is NaN
            ready = k + window
        if k < ready:  # warm-up, or a NaN in the window: no output, no sums
            out[p - start] = np.nan
            force = False
            known = -1
            p += 1
            continue
        # blocks of `window` bars counted from the first bar ever seen; this bar's block starts
        # at t = jb of its window (jb = 0: the block ends here)
        jb = known if known >= 0 else window - 1 - k % window
        first = p
        done = True
        if force or k == ready:  # from scratch, with the block's sums so far
            c, s0, s1, a0, a1 = _linreg_exact_nb(y, p, window, jb)
            force = False
        elif jb == 0:  # block end: the block's own sums are this window's, exact; re-centre on y[p]
            yc = y[p] - c
            a0 += yc
            a1 += last * yc
            s0 = a0 - n * yc
            s1 = a1 - s_t * yc
            c = y[p]
        else:
            done = False
        if done:
            m = (s1 - t_mean * s0) * inv_stt
            out[p - start] = c + (s0 * inv_n + m * at) if fit else m
            p += 1
            if jb == 0:  # a new block starts
                a0 = 0.0
                a1 = 0.0
                jb = window
            tj = n - jb  # position of bar p in its block
        else:
            tj = last - jb
        stop = min(size, first + jb)  # the next block end, which the outer loop handles
        # Steady state, O(1) per bar: slide the sums of d = y - c (every t drops by one:
        # Σtd <- Σtd - (Σd - d_old) + (n - 1) d_new) and add d to the block's own sums (a0, a1),
        # which at the block end are the next window's sums in one pass, so the slide's rounding
        # never outlives a block. One addition per sum and bar on the loop-carried path; a NaN
        # entering makes the sums NaN. Specialised per output.
        if fit:
            while p < stop:
                yc = y[p] - c
                oc = y[p - window] - c
                s1 = s1 + ((last * yc + oc) - s0)
                s0 = s0 + (yc - oc)
                a0 += yc
                a1 += tj * yc
                tj += 1.0
                m = (s1 - t_mean * s0) * inv_stt
                if m != m:
                    break
                out[p - start] = c + (s0 * inv_n + m * at)
                p += 1
        else:
            while p < stop:
                yc = y[p] - c
                oc = y[p - window] - c
                s1 = s1 + ((last * yc + oc) - s0)
                s0 = s0 + (yc - oc)
                a0 += yc
                a1 += tj * yc
                tj += 1.0
                m = (s1 - t_mean * s0) * inv_stt
                if m != m:
                    break
                out[p - start] = m
                p += 1
            if mode == _ANGLE:
                for j in range(first - start, p - start):
                    out[j] = np.arctan(out[j]) * (180.0 / np.pi)
        # stopped early: a NaN came in (the next pass starts its NaN stretch) or inf arithmetic
        force = p < stop
        known = 0 if p == first + jb else -1
    return ready, c, s0, s1, a0, a1


@njit
def linearreg_nb(x, window, mode, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; least-squares line through the last `window` values (time
    0..window-1): mode 0 slope (talib.LINEARREG_SLOPE), 1 intercept = fit at the oldest bar
    (LINEARREG_INTERCEPT), 2 fit at the newest bar (LINEARREG), 3 angle in degrees
    (LINEARREG_ANGLE), 4 one-bar-ahead forecast (TSF). NaN policy of pandas rolling(window).

    Method: O(1) per bar with running Σd and Σtd of d = y - c (on a slide every t drops by one:
    Σtd <- Σtd - (Σd - d_old) + (n - 1) d_new). Bars are grouped in blocks of `window` (counted
    from the first bar ever seen, so a stream does what a batch does); the same loop also sums d
    and td over the block itself, and at the block's last bar those are exactly (one pass) the
    sums of the window, which then replace the running ones, re-centred on c = that bar's value.
    So rounding never accumulates beyond a block, and the sums never carry the price level. A NaN
    is never counted: it enters the sums, makes the output NaN, and that starts a stretch of NaN
    outputs until it has left the window; the next bar is fitted from scratch.

    state: [bars seen, first bar with a NaN-free window (absolute index; 0 = window - 1), c, Σd,
    Σtd, block Σd, block Σtd, ring(window) of the last inputs, bar k at k % window].
    """
    seen = int(state[0])
    ready = max(int(state[1]), window - 1)
    c = state[2]
    s0 = state[3]
    s1 = state[4]
    a0 = state[5]
    a1 = state[6]
    ring = state[7 : 7 + window]
    nx = x.shape[0]
    head = min(nx, window)
    # the first `window` bars may reach back into earlier calls: run them on a joined copy
    joined, kept = _head_nb(x, ring, seen, window)
    ready, c, s0, s1, a0, a1 = _linreg_run_nb(joined, kept, seen - kept, window, mode, ready, c, s0, s1, a0, a1,
                                              out[:head])
    if nx > head:  # the rest reads x[i - window] directly
        ready, c, s0, s1, a0, a1 = _linreg_run_nb(x, head, seen, window, mode, ready, c, s0, s1, a0, a1, out[head:])
    _save_ring_nb(x, ring, seen, window)
    state[0] = seen + nx
    state[1] = ready
    state[2] = c
    state[3] = s0
    state[4] = s1
    state[5] = a0
    state[6] = a1


@njit
def _slope_nb(x, window, state, out):  # pragma: no cover - numba
    linearreg_nb(x, window, _SLOPE, state, out)


@njit
def _intercept_nb(x, window, state, out):  # pragma: no cover - numba
    linearreg_nb(x, window, _INTERCEPT, state, out)


@njit
def _value_nb(x, window, state, out):  # pragma: no cover - numba
    linearreg_nb(x, window, _VALUE, state, out)


@njit
def _angle_nb(x, window, state, out):  # pragma: no cover - numba
    linearreg_nb(x, window, _ANGLE, state, out)


@njit
def _tsf_nb(x, window, state, out):  # pragma: no cover - numba
    linearreg_nb(x, window, _TSF, state, out)


@njit
def _r2_two_pass_nb(y, end, window):  # pragma: no cover - numba
    """R² of the window y[end - window + 1 : end + 1] on time by two passes (the mean, then
    centered sums): the reference the running sums fall back to when they have cancelled."""
    n = float(window)
    t_mean = (n - 1.0) * 0.5
    s_tt = n * (n * n - 1.0) / 12.0
    first = end - window + 1
    total = 0.0
    for j in range(first, end + 1):
        total += y[j]
    mean = total / n
    s_yy = 0.0
    s_ty = 0.0
    for j in range(first, end + 1):
        d = y[j] - mean
        s_yy += d * d
        s_ty += (j - first - t_mean) * d
    r2 = s_ty * s_ty / (s_tt * s_yy) if s_yy > 0.0 else 0.0
    return r2 if r2 < 1.0 else 1.0


@njit
def _r2_exact_nb(y, end, window, jb):  # pragma: no cover - numba
    """One pass over the window y[end - window + 1 : end + 1] (t = 0 oldest): (c, Σd, Σtd, Σd²)
    of d = y - c about its newest value c = y[end], and (cb, Σe, Σ(t - jb)e, Σe²) of e = y - cb
    over the part t >= jb (the current block so far), about its first value cb (for jb = 0:
    cb = c, sums 0)."""
    lo = end - window + 1
    c = y[end]
    cb = y[lo + jb] if jb > 0 else c
    s0 = 0.0
    s1 = 0.0
    q = 0.0
    a0 = 0.0
    a1 = 0.0
    b2 = 0.0
    for j in range(window):
        d = y[lo + j] - c
        s0 += d
        s1 += j * d
        q += d * d
        if jb > 0 and j >= jb:
            e = y[lo + j] - cb
            a0 += e
            a1 += (j - jb) * e
            b2 += e * e
    return c, s0, s1, q, cb, a0, a1, b2


@njit
def _r2_run_nb(y, start, base, window, ready, run, c, s0, s1, q, cb, a0, a1, b2, out):  # pragma: no cover - numba
    """Bars y[start:] of :func:`linearreg_r2_nb`, laid out as :func:`_linreg_run_nb`, plus Σd²,
    `run` (bars equal to their predecessor in a row) and the block's own centre cb (its first
    value); returns the updated state."""
    n = float(window)
    t_mean = (n - 1.0) * 0.5
    inv_n = 1.0 / n
    inv_stt = 12.0 / (n * (n * n - 1.0))  # 1 / Σ(t - t_mean)²
    last = n - 1.0
    size = y.shape[0]
    force = False
    known = -1
    p = start
    while p < size:
        k = base + p
        v = y[p]
        run_here = run + 1 if k > 0 and v == y[p - 1] else 0  # committed where the bar ends here
        if nonfinite_nb(v):  # NaN or ±inf: every window holding it is NaN
            ready = k + window
        if k < ready:
            run = run_here
            out[p - start] = np.nan
            force = False
            known = -1
            p += 1
            continue
        jb = known if known >= 0 else window - 1 - k % window
        first = p
        done = True
        if force or k == ready:
            c, s0, s1, q, cb, a0, a1, b2 = _r2_exact_nb(y, p, window, jb)
            force = False
        elif jb == 0:  # block end: the block's own sums (about cb) are this window's, exact
            e = v - cb
            s0 = a0 + e
            s1 = a1 + last * e
            q = b2 + e * e
            c = cb
        else:
            done = False
        if done:
            run = run_here
            s_yy = q - s0 * s0 * inv_n
            if run >= window - 1:  # a constant window: nothing to explain
                out[p - start] = 0.0
            elif s_yy > _R2_CANCEL * q:
                s_ty = s1 - t_mean * s0
                r2 = s_ty * s_ty * inv_stt / s_yy
                out[p - start] = r2 if r2 < 1.0 else 1.0
            else:
                out[p - start] = _r2_two_pass_nb(y, p, window)
            p += 1
            if jb == 0:  # a new block starts
                a0 = 0.0
                a1 = 0.0
                b2 = 0.0
                jb = window
            tj = n - jb
        else:
            tj = last - jb
        if p < size and tj == 0.0:  # bar p starts a block: its centre
            cb = y[p]
        stop = min(size, first + jb)
        # steady state as in _linreg_run_nb, plus Σd² (Σd² <- Σd² + (d_new - d_old)(d_new + d_old))
        # and the block's own sums of e = y - cb about its first value cb (so at its end they are
        # the window's sums without a re-centring step, which would cancel)
        while p < stop:
            v = y[p]
            run = run + 1 if v == y[p - 1] else 0
            yc = v - c
            oc = y[p - window] - c
            s1 = s1 + ((last * yc + oc) - s0)
            s0 = s0 + (yc - oc)
            q = q + (yc - oc) * (yc + oc)
            e = v - cb
            a0 += e
            a1 += tj * e
            b2 += e * e
            tj += 1.0
            s_yy = q - s0 * s0 * inv_n
            if s_yy != s_yy:
                break
            if run >= window - 1:
                out[p - start] = 0.0
            elif s_yy > _R2_CANCEL * q:
                s_ty = s1 - t_mean * s0
                r2 = s_ty * s_ty * inv_stt / s_yy
                out[p - start] = r2 if r2 < 1.0 else 1.0
            else:  # the running sums cancelled (a quiet window after a move): exact two passes
                out[p - start] = _r2_two_pass_nb(y, p, window)
            p += 1
        force = p < stop
        known = 0 if p == first + jb else -1
    return ready, run, c, s0, s1, q, cb, a0, a1, b2


@njit
def linearreg_r2_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; R² of the least-squares line through the last `window` values
    against time (= squared Pearson correlation with 0..window-1); 0 for a constant window
    (scipy.stats.linregress's convention). NaN policy of pandas rolling(window).

    Method: the running sums of :func:`linearreg_nb` plus Σd², refreshed at every block end from
    the block's own one-pass sums, so S_yy = Σd² - (Σd)²/n; where that has cancelled below
    _R2_CANCEL of Σd² (a quiet window after a move) the bar is computed by two exact passes
    instead. A constant window is detected exactly, by counting bars equal to their predecessor.

    state: [bars seen, first bar with a NaN-free window (0 = window - 1), bars equal to their
    predecessor in a row, c, Σd, Σtd, Σd², block centre cb, block Σe, block Σte, block Σe²,
    ring(window)].
    """
    seen = int(state[0])
    ready = max(int(state[1]), window - 1)
    run = int(state[2])
    c, s0, s1, q = state[3], state[4], state[5], state[6]
    cb, a0, a1, b2 = state[7], state[8], state[9], state[10]
    ring = state[11 : 11 + window]
    nx = x.shape[0]
    head = min(nx, window)
    joined, kept = _head_nb(x, ring, seen, window)
    ready, run, c, s0, s1, q, cb, a0, a1, b2 = _r2_run_nb(joined, kept, seen - kept, window, ready, run,
                                                          c, s0, s1, q, cb, a0, a1, b2, out[:head])
    if nx > head:
        ready, run, c, s0, s1, q, cb, a0, a1, b2 = _r2_run_nb(x, head, seen, window, ready, run,
                                                              c, s0, s1, q, cb, a0, a1, b2, out[head:])
    _save_ring_nb(x, ring, seen, window)
    state[0] = seen + nx
    state[1] = ready
    state[2] = run
    state[3] = c
    state[4] = s0
    state[5] = s1
    state[6] = q
    state[7] = cb
    state[8] = a0
    state[9] = a1
    state[10] = b2


@njit
def _correl_sums_nb(bx, by, window):  # pragma: no cover - numba
    """Exact shifted sums over a full NaN-free ring: (cx, cy, Σx, Σx², Σy, Σy², Σxy) of x - cx, y - cy."""
    cx = 0.0
    cy = 0.0
    for j in range(window):
        cx += bx[j]
        cy += by[j]
    cx /= window
    cy /= window
    sx = 0.0
    sxx = 0.0
    sy = 0.0
    syy = 0.0
    sxy = 0.0
    for j in range(window):
        a = bx[j] - cx
        b = by[j] - cy
        sx += a
        sxx += a * a
        sy += b
        syy += b * b
        sxy += a * b
    return cx, cy, sx, sxx, sy, syy, sxy


@njit
def _correl_exact_nb(x, y, end, window, jb):  # pragma: no cover - numba
    """One pass over the window [end - window + 1, end] (t = 0 oldest): the shifted sums
    (Σa, Σb, Σa², Σb², Σab) of a = x - x[end], b = y - y[end], and the same sums of
    e = x - cbx, f = y - cby over the part t >= jb (the current block so far), about its first
    pair (cbx, cby) (for jb = 0: the pair at `end`, sums 0). Returns (cx, cy, sums..., cbx, cby,
    block sums...)."""
    lo = end - window + 1
    cx = x[end]
    cy = y[end]
    cbx = x[lo + jb] if jb > 0 else cx
    cby = y[lo + jb] if jb > 0 else cy
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    ax = 0.0
    ay = 0.0
    axx = 0.0
    ayy = 0.0
    axy = 0.0
    for j in range(window):
        a = x[lo + j] - cx
        b = y[lo + j] - cy
        sx += a
        sy += b
        sxx += a * a
        syy += b * b
        sxy += a * b
        if jb > 0 and j >= jb:
            e = x[lo + j] - cbx
            f = y[lo + j] - cby
            ax += e
            ay += f
            axx += e * e
            ayy += f * f
            axy += e * f
    return cx, cy, sx, sy, sxx, syy, sxy, cbx, cby, ax, ay, axx, ayy, axy


@njit
def _correl_run_nb(x, y, start, base, window, ready, sums, out):  # pragma: no cover - numba
    """Bars [start:] of :func:`correl_nb` (bar p has absolute index base + p; x[p - window] and
    y[p - window] leave its window) into out[p - start]; `sums` holds state[2:16] of correl_nb
    as local scalars in, and is returned updated."""
    cx, cy, sx, sy, sxx, syy, sxy, cbx, cby, ax, ay, axx, ayy, axy = sums
    n = float(window)
    inv_n = 1.0 / n
    size = x.shape[0]
    force = False
    known = -1
    p = start
    while p < size:
        k = base + p
        if nonfinite_nb(x[p]) or nonfinite_nb(y[p]):  # NaN or ±inf: its windows are NaN
            ready = k + window
        if k < ready:  # warm-up, or a NaN in the window: no output, no sums
            out[p - start] = np.nan
            force = False
            known = -1
            p += 1
            continue
        jb = known if known >= 0 else window - 1 - k % window
        first = p
        done = True
        if force or k == ready:
            cx, cy, sx, sy, sxx, syy, sxy, cbx, cby, ax, ay, axx, ayy, axy = _correl_exact_nb(x, y, p, window, jb)
            force = False
        elif jb == 0:  # block end: the block's own sums (about cbx, cby) are this window's, exact
            e = x[p] - cbx
            f = y[p] - cby
            sx = ax + e
            sy = ay + f
            sxx = axx + e * e
            syy = ayy + f * f
            sxy = axy + e * f
            cx = cbx
            cy = cby
        else:
            done = False
        if done:
            vx = sxx - (sx * sx) * inv_n
            vy = syy - (sy * sy) * inv_n
            if vx > _ZERO_VAR * sxx and vy > _ZERO_VAR * syy:
                out[p - start] = (sxy - (sx * sy) * inv_n) / np.sqrt(vx * vy)
            else:
                out[p - start] = 0.0
            p += 1
            if jb == 0:  # a new block starts
                ax = 0.0
                ay = 0.0
                axx = 0.0
                ayy = 0.0
                axy = 0.0
                jb = window
        if p < size and jb == (window if done else window - 1):  # bar p starts a block: its centre
            cbx = x[p]
            cby = y[p]
        stop = min(size, first + jb)
        # Steady state, O(1) per bar: slide the five sums of a = x - cx, b = y - cy (one addition
        # per sum on the loop-carried path; a NaN entering makes them NaN) and add the pair to the
        # block's own sums about its first pair, which at the block end are the window's, exact.
        while p < stop:
            xv = x[p]
            yv = y[p]
            a = xv - cx
            b = yv - cy
            oa = x[p - window] - cx
            ob = y[p - window] - cy
            sx = sx + (a - oa)
            sy = sy + (b - ob)
            sxx = sxx + (a - oa) * (a + oa)
            syy = syy + (b - ob) * (b + ob)
            sxy = sxy + (a * b - oa * ob)
            e = xv - cbx
            f = yv - cby
            ax += e
            ay += f
            axx += e * e
            ayy += f * f
            axy += e * f
            if nonfinite_nb(sxy):  # a NaN or ±inf came in: the outer loop starts the NaN stretch
                break
            vx = sxx - (sx * sx) * inv_n
            vy = syy - (sy * sy) * inv_n
            if vx > _ZERO_VAR * sxx and vy > _ZERO_VAR * syy:
                out[p - start] = (sxy - (sx * sy) * inv_n) / np.sqrt(vx * vy)
            else:
                out[p - start] = 0.0
            p += 1
        force = p < stop
        known = 0 if p == first + jb else -1
    return ready, (cx, cy, sx, sy, sxx, syy, sxy, cbx, cby, ax, ay, axx, ayy, axy)


@njit
def correl_nb(x, y, window, state, out):  # pragma: no cover - numba
    """float64[:] x2 -> out float64[:]; rolling Pearson correlation of x and y over `window` bars;
    equals talib.CORREL and pandas x.rolling(window).corr(y) (0 where either window has zero
    variance, like TA-Lib). A bar with x or y NaN makes every window containing it NaN.

    Method: TA-Lib's formula on running sums of a = x - cx and b = y - cy. Bars are grouped in
    blocks of `window` (counted from the first bar ever seen, so a stream does what a batch
    does); the same loop sums each block about its first pair, and at the block's last
    bar those one-pass sums, which then cover exactly the window, replace the running ones (and
    their centre). So neither the price level nor the length of the series costs digits (TA-Lib's
    unshifted running sums lose ~1e-7 on FX prices). A NaN is never counted: it enters the sums,
    makes them NaN, and that starts a stretch of NaN outputs until it has left the window.

    state: [bars seen, first bar with a NaN-free window (0 = window - 1), cx, cy, Σa, Σb, Σa²,
    Σb², Σab, block centres cbx, cby, block Σe, Σf, Σe², Σf², Σef, ring x (window), ring y
    (window)], ring position of bar k: k % window.
    """
    seen = int(state[0])
    ready = max(int(state[1]), window - 1)
    sums = (state[2], state[3], state[4], state[5], state[6], state[7], state[8], state[9], state[10],
            state[11], state[12], state[13], state[14], state[15])
    rx = state[16 : 16 + window]
    ry = state[16 + window : 16 + 2 * window]
    nx = x.shape[0]
    head = min(nx, window)
    jx, kept = _head_nb(x, rx, seen, window)
    jy, _ = _head_nb(y, ry, seen, window)
    ready, sums = _correl_run_nb(jx, jy, kept, seen - kept, window, ready, sums, out[:head])
    if nx > head:
        ready, sums = _correl_run_nb(x, y, head, seen, window, ready, sums, out[head:])
    _save_ring_nb(x, rx, seen, window)
    _save_ring_nb(y, ry, seen, window)
    state[0] = seen + nx
    state[1] = ready
    for j in range(14):
        state[2 + j] = sums[j]


@njit
def beta_nb(x, y, window, state, out):  # pragma: no cover - numba
    """float64[:] x2 -> out float64[:]; rolling OLS slope of y's one-bar returns on x's one-bar
    returns over `window` returns (window + 1 prices); equals talib.BETA(x, y). A zero previous
    price gives a return of 0 (TA-Lib); zero variance of x's returns gives 0. NaN policy: pandas
    rolling(window) over the returns (a NaN price makes two returns NaN).

    Method: running sums of the returns about a shift, re-centered and recomputed exactly every
    `window` bars (as correl_nb), so rounding never accumulates along the series.

    state: [bars seen, NaN pairs in window, previous x, previous y, Σx, Σy, Σxx, Σxy,
    ring position, shift x, shift y, needs-recompute flag, ring rx (window), ring ry (window)].
    """
    seen = int(state[0])
    nans = int(state[1])
    px = state[2]
    py = state[3]
    sx = state[4]
    sy = state[5]
    sxx = state[6]
    sxy = state[7]
    pos = int(state[8])
    cx = state[9]
    cy = state[10]
    dirty = state[11] != 0.0 or seen == 0
    bx = state[12 : 12 + window]
    by = state[12 + window : 12 + 2 * window]
    n = float(window)
    for i in range(x.shape[0]):
        k = seen + i
        a = x[i]
        b = y[i]
        if k == 0:
            rx = np.nan
            ry = np.nan
        else:
            rx = (a - px) / px if px != 0.0 else 0.0
            ry = (b - py) / py if py != 0.0 else 0.0
            if px != px:
                rx = np.nan
            if py != py:
                ry = np.nan
        px = a
        py = b
        if k >= window:  # remove the trailing return pair
            ox = bx[pos]
            oy = by[pos]
            if nonfinite_nb(ox) or nonfinite_nb(oy):
                nans -= 1
            else:
                ox -= cx
                oy -= cy
                sx -= ox
                sy -= oy
                sxx -= ox * ox
                sxy -= ox * oy
        bx[pos] = rx
        by[pos] = ry
        pos += 1
        wrapped = pos == window
        if wrapped:
            pos = 0
        if nonfinite_nb(rx) or nonfinite_nb(ry):  # NaN or ±inf return: its windows are NaN
            nans += 1
        else:
            rx -= cx
            ry -= cy
            sx += rx
            sy += ry
            sxx += rx * rx
            sxy += rx * ry
        if k + 1 < window or nans > 0:
            dirty = True
            out[i] = np.nan
            continue
        if dirty or wrapped:
            cx, cy, sx, sxx, sy, _syy, sxy = _correl_sums_nb(bx, by, window)
            dirty = False
        tmp = (n * sxx) - (sx * sx)
        out[i] = ((n * sxy) - (sx * sy)) / tmp if tmp > _ZERO_VAR * n * sxx else 0.0
    state[0] = seen + x.shape[0]
    state[1] = nans
    state[2] = px
    state[3] = py
    state[4] = sx
    state[5] = sy
    state[6] = sxx
    state[7] = sxy
    state[8] = pos
    state[9] = cx
    state[10] = cy
    state[11] = 1.0 if dirty else 0.0


def _hurst_state_size(window: int, min_lag: int, max_lag: int, log: bool) -> int:
    return 2 + window + 2 * (max_lag + 1)


@njit
def hurst_nb(x, window, min_lag, max_lag, log, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; rolling Hurst exponent over the last `window` values of
    y = log(x) (or x when not `log`): H = ½ × OLS slope of log Var[y_{s+τ} − y_s] on log τ,
    τ = min_lag..max_lag, increments with both ends in the window, population variances.
    NaN for the first window − 1 bars, while a NaN (or, with `log`, a value <= 0) is in the window,
    and when some lag has zero variance. Running sums per lag: O(max_lag) per bar.

    Method: y is computed once per call into one contiguous array after the last `window` values
    of earlier calls, so the per-lag updates read y[b - lag] and y[b - window + lag] directly
    (no ring arithmetic; the lag loops vectorize).

    state: [bars seen, NaNs in window, ring(window) of the last y (bar k at k % window),
    Σd (max_lag + 1), Σd² (max_lag + 1)].
    """
    seen = int(state[0])
    nans = int(state[1])
    ring = state[2 : 2 + window]
    s1 = state[2 + window : 3 + window + max_lag]
    s2 = state[3 + window + max_lag : 4 + window + 2 * max_lag]
    n_lags = max_lag - min_lag + 1
    lx = np.empty(n_lags, dtype=np.float64)
    lx_mean = 0.0
    for j in range(n_lags):
        lx[j] = np.log(float(min_lag + j))
        lx_mean += lx[j]
    lx_mean /= n_lags
    s_xx = 0.0
    for j in range(n_lags):
        lx[j] -= lx_mean
        s_xx += lx[j] * lx[j]
    var = np.empty(n_lags, dtype=np.float64)
    nx = x.shape[0]
    kept = min(seen, window)
    ys = np.empty(kept + nx, dtype=np.float64)  # bar k at ys[k - base]
    base = seen - kept
    for j in range(kept):
        ys[j] = ring[(base + j) % window]
    for i in range(nx):
        v = x[i]
        if log:
            v = np.log(v) if v > 0.0 else np.nan
        ys[kept + i] = v if v - v == 0.0 else np.nan  # ±inf counts as NaN
    for b in range(kept, kept + nx):
        k = base + b
        v = ys[b]
        if k >= window:
            old = ys[b - window]
            if old != old:
                nans -= 1
            for lag in range(min_lag, max_lag + 1):  # increments starting at the leaving bar
                d = ys[b - window + lag] - old
                d = d if d == d else 0.0
                s1[lag] -= d
                s2[lag] -= d * d
        top = max_lag if max_lag <= k else k
        for lag in range(min_lag, top + 1):  # increments ending at the new bar
            d = v - ys[b - lag]
            d = d if d == d else 0.0
            s1[lag] += d
            s2[lag] += d * d
        if v != v:
            nans += 1
        i = b - kept
        if k + 1 < window or nans > 0:
            out[i] = np.nan
            continue
        for j in range(n_lags):  # no early exit, so the divisions vectorize
            lag = min_lag + j
            m = float(window - lag)
            mean = s1[lag] / m
            var[j] = s2[lag] / m - mean * mean
        s_xy = 0.0
        ok = True
        for j in range(n_lags):
            if not var[j] > 0.0:
                ok = False
                break
            s_xy += lx[j] * np.log(var[j])
        out[i] = 0.5 * s_xy / s_xx if ok else np.nan
    for b in range(max(kept, kept + nx - window), kept + nx):
        ring[(base + b) % window] = ys[b]
    state[0] = seen + nx
    state[1] = nans


# ---------------------------------------------------------------- specs
def _linreg_size(window: int) -> int:
    return 7 + window


LINEARREG_SLOPE_SPEC = Spec("linearreg_slope", _slope_nb, ("close",), ("window",), _linreg_size)
LINEARREG_INTERCEPT_SPEC = Spec("linearreg_intercept", _intercept_nb, ("close",), ("window",), _linreg_size)
LINEARREG_SPEC = Spec("linearreg", _value_nb, ("close",), ("window",), _linreg_size)
LINEARREG_ANGLE_SPEC = Spec("linearreg_angle", _angle_nb, ("close",), ("window",), _linreg_size)
TSF_SPEC = Spec("tsf", _tsf_nb, ("close",), ("window",), _linreg_size)
LINEARREG_R2_SPEC = Spec("linearreg_r2", linearreg_r2_nb, ("close",), ("window",), lambda window: 11 + window)
CORREL_SPEC = Spec("correl", correl_nb, ("x", "y"), ("window",), lambda window: 16 + 2 * window)
BETA_SPEC = Spec("beta", beta_nb, ("x", "y"), ("window",), lambda window: 12 + 2 * window)
HURST_SPEC = Spec("hurst", hurst_nb, ("close",), ("window", "min_lag", "max_lag", "log"), _hurst_state_size)


def _windows(window: Any, caller: str, minimum: int = 2) -> Any:
    return window_list("window", window, caller=caller, minimum=minimum)


def _linreg(spec: Spec, close: Any, window: Any) -> Any:
    return compute(spec, {"close": close}, {"window": _windows(window, spec.name)})


_LINREG_DOC = """
    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Values to regress on time (one column per asset).
    window : int or list of int, default 14
        Bars in the regression (>= 2), including the current bar.

    Returns
    -------
    Same type as ``close``
        NaN for the first ``window - 1`` bars (TA-Lib's lookback).

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    Least squares of y on time t = 0 (oldest) .. n-1 (current bar) over the window:
    m = (n Σty − Σt Σy) / (n Σt² − (Σt)²), b = (Σy − m Σt) / n. ``linearreg_slope`` = m,
    ``linearreg_intercept`` = b (the fitted value at the OLDEST bar of the window, TA-Lib's
    convention), ``linearreg`` = b + m (n − 1) (the fitted value at the current bar),
    ``tsf`` = b + m n (one bar ahead), ``linearreg_angle`` = atan(m) in degrees (m in price
    units per bar, so the angle depends on the price scale). Equal to ``talib.<NAME>``. O(1) per
    bar: running sums of y − c about a shift c near the prices, replaced every ``window`` bars
    by the exact one-pass sums of the window (accumulated in the same loop), so the fit stays
    within a few 1e-15 × price of an exact two-pass least squares (TA-Lib 0.8's raw running
    sums: up to ~3e-13 × price). NaN policy: pandas ``rolling(window)``. A constant series
    gives slope 0 and the constant. Input shorter than ``window``: all NaN.
"""


def linearreg_slope(close: Any, window: int | list[int] = 14) -> Any:
    """Rolling least-squares slope per bar.
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> linearreg_slope(np.array([1.0, 3.0, 5.0, 4.0]), 3).round(12).tolist()
    [nan, nan, 2.0, 0.5]
    """
    return _linreg(LINEARREG_SLOPE_SPEC, close, window)


def linearreg_intercept(close: Any, window: int | list[int] = 14) -> Any:
    """Rolling least-squares intercept (fitted value at the oldest bar of the window).
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> linearreg_intercept(np.array([1.0, 3.0, 5.0, 4.0]), 3).round(12).tolist()
    [nan, nan, 1.0, 3.5]
    """
    return _linreg(LINEARREG_INTERCEPT_SPEC, close, window)


def linearreg(close: Any, window: int | list[int] = 14) -> Any:
    """Rolling least-squares line evaluated at the current bar.
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> linearreg(np.array([1.0, 3.0, 5.0, 4.0]), 3).round(12).tolist()
    [nan, nan, 5.0, 4.5]
    """
    return _linreg(LINEARREG_SPEC, close, window)


def linearreg_angle(close: Any, window: int | list[int] = 14) -> Any:
    """Rolling least-squares slope as an angle in degrees.
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> linearreg_angle(np.array([1.0, 2.0, 3.0]), 3).round(12).tolist()
    [nan, nan, 45.0]
    """
    return _linreg(LINEARREG_ANGLE_SPEC, close, window)


def tsf(close: Any, window: int | list[int] = 14) -> Any:
    """Time series forecast: the rolling least-squares line extrapolated one bar ahead.
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> tsf(np.array([1.0, 3.0, 5.0, 4.0]), 3).round(12).tolist()
    [nan, nan, 7.0, 5.0]
    """
    return _linreg(TSF_SPEC, close, window)


for _f in (linearreg_slope, linearreg_intercept, linearreg, linearreg_angle, tsf):
    _f.__doc__ = _f.__doc__.replace("    {doc}", _LINREG_DOC.rstrip("\n"))  # type: ignore[union-attr]


def linearreg_r2(close: Any, window: int | list[int] = 14) -> Any:
    """Rolling R² of the least-squares line through the window.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Values to regress on time.
    window : int or list of int, default 14
        Bars in the regression (>= 2).

    Returns
    -------
    Same type as ``close``
        In [0, 1]; NaN for the first ``window - 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    R² = S_ty² / (S_tt S_yy) with centered sums over the window; equals
    ``scipy.stats.linregress(t, y).rvalue**2`` (measured within 1e-12 on the bundled data). O(1)
    per bar: the running sums of ``linearreg`` (about a shift near the prices, so no
    cancellation at high price levels) plus Σy²; a bar where S_yy has cancelled to below 1e-4
    of the shifted Σy² (a quiet window right after a move) is computed by two exact passes.
    A constant window (detected exactly) gives 0 (scipy's convention: no variance explained).
    TA-Lib has no R².
    NaN policy: pandas ``rolling(window)``. Input shorter than ``window``: all NaN.

    Examples
    --------
    >>> import numpy as np
    >>> linearreg_r2(np.array([1.0, 2.0, 3.0, 1.0, 1.0]), 3).round(12).tolist()
    [nan, nan, 1.0, 0.25, 0.75]
    """
    return compute(LINEARREG_R2_SPEC, {"close": close}, {"window": _windows(window, "linearreg_r2")})


def correl(x: Any, y: Any, window: int | list[int] = 30) -> Any:
    """Rolling Pearson correlation of two series.

    Parameters
    ----------
    x, y : ndarray, Series or DataFrame
        Aligned series (TA-Lib's ``real0``, ``real1``), e.g. two prices or two return series.
    window : int or list of int, default 30
        Bars in the window (>= 2).

    Returns
    -------
    Same type as ``x``
        In [-1, 1] up to rounding; NaN for the first ``window - 1`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    r = (Σxy − ΣxΣy/n) / sqrt((Σx² − (Σx)²/n)(Σy² − (Σy)²/n)) with TA-Lib's running sums; equals
    ``talib.CORREL`` and pandas ``x.rolling(window).corr(y)``. Where either window has zero
    variance the correlation is undefined and, like TA-Lib, 0 is returned (pandas gives NaN).
    quantlab keeps the running sums about a shift near the prices, replaced every ``window``
    bars by the exact one-pass sums of the window (accumulated in the same loop): TA-Lib's raw
    running sums lose digits at high price levels and over long series (measured: TA-Lib up to
    6e-11 from an exact two-pass correlation on the bundled data, quantlab 3e-13). Zero
    variance is judged relative to the window's second moment (cancellation noise), never by an
    absolute constant, so ``correl(a * x, y) == correl(x, y)`` for any scale a > 0 (older
    TA-Lib versions zeroed products of variances below 1e-8).
    NaN policy: pairs with a NaN make every window containing them NaN (pandas).

    Examples
    --------
    >>> import numpy as np
    >>> correl(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 5.0]), 3).round(12).tolist()
    [nan, nan, 1.0, 0.5]
    """
    return compute(CORREL_SPEC, {"x": x, "y": y}, {"window": _windows(window, "correl")})


def beta(x: Any, y: Any, window: int | list[int] = 5) -> Any:
    """Rolling beta of ``y``'s one-bar returns on ``x``'s (x is the benchmark).

    Parameters
    ----------
    x : ndarray, Series or DataFrame
        PRICES of the benchmark (TA-Lib's ``real0``). Not returns: returns are taken inside.
    y : same type and shape as ``x``
        PRICES of the asset (TA-Lib's ``real1``).
    window : int or list of int, default 5
        Number of one-bar returns in the regression (>= 1); it spans ``window + 1`` prices.

    Returns
    -------
    Same type as ``x``
        β_t = Cov(r_x, r_y) / Var(r_x) over the last ``window`` returns; NaN for the first
        ``window`` bars (TA-Lib's lookback).

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    TA-Lib's BETA regresses simple returns r_t = p_t / p_{t-1} − 1, not the price levels:
    β = (n Σ r_x r_y − Σr_x Σr_y) / (n Σr_x² − (Σr_x)²), with running sums; equals
    ``talib.BETA(x, y, window)`` and ``r_y.rolling(window).cov(r_x) / r_x.rolling(window).var()``.
    A previous price of 0 gives a return of 0 (TA-Lib). Zero variance of ``x``'s returns (e.g. a
    constant benchmark, or ``window`` = 1) gives 0 like TA-Lib; deviation: TA-Lib's zero test is
    the absolute |n Σr_x² − (Σr_x)²| < ε (ε = 1e-14 in TA-Lib 0.7+, 1e-8 before), quantlab's is
    relative (cancellation noise only), so quiet intraday data is not flattened to 0. Running
    sums are re-centered and recomputed exactly every ``window`` bars, so quantlab stays within
    ~1e-14 of an exact two-pass computation for windows >= 3 (TA-Lib: up to ~5e-12).
    NaN policy: pandas ``rolling(window)`` over the return series; a NaN price makes the two
    returns touching it NaN.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([100.0, 120.0, 96.0, 115.2])  # each return twice x's
    >>> beta(np.array([100.0, 110.0, 99.0, 108.9]), y, 2).round(12).tolist()
    [nan, nan, 2.0, 2.0]
    """
    return compute(BETA_SPEC, {"x": x, "y": y}, {"window": _windows(window, "beta", minimum=1)})


def _hurst_params(window: Any, min_lag: Any, max_lag: Any, log: Any, caller: str) -> dict[str, Any]:
    window = window_list("window", window, caller=caller, minimum=4)
    smallest = min(window) if isinstance(window, list) else window
    min_lag = check_int("min_lag", min_lag, caller=caller, minimum=1)
    max_lag = check_int("max_lag", max_lag, caller=caller, minimum=min_lag + 1)
    if max_lag > smallest - 2:
        raise InvalidParameterError(
            message("max_lag", caller, f"<= window - 2 = {smallest - 2} (each lag needs 2+ increments)", max_lag,
                    "Use a longer window or a smaller max_lag.")
        )
    return {"window": window, "min_lag": min_lag, "max_lag": max_lag, "log": check_bool("log", log, caller=caller)}


def hurst(close: Any, window: int | list[int] = 100, min_lag: int = 2, max_lag: int = 20, *, log: bool = True) -> Any:
    """Rolling Hurst exponent by the variance of lagged differences (generalized Hurst, q = 2).

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        PRICES (levels, not returns): the estimator looks at how the spread of
        y_{s+τ} − y_s grows with τ, y = log(close). For a series that is already a level without a
        log scale (a spread, a cumulative P&L) pass ``log=False``.
    window : int or list of int, default 100
        Bars in the window (>= 4).
    min_lag, max_lag : int, default 2 and 20
        Lags τ fitted, 1 <= min_lag < max_lag <= window - 2.
    log : bool, default True
        Take log(close) first (values <= 0 then count as missing).

    Returns
    -------
    Same type as ``close``
        H: ≈ 0.5 for a random walk (uncorrelated increments), < 0.5 for mean-reverting
        (anti-persistent) series, > 0.5 for trending (persistent) series. NaN for the first
        ``window - 1`` bars.

    Raises
    ------
    InvalidParameterError
        Bad ``window``, ``min_lag``, ``max_lag`` or ``log``.
    DataError
        Non-numeric ``close``.

    Notes
    -----
    For a self-similar process Var[y_{t+τ} − y_t] ∝ τ^{2H} (Mandelbrot & Van Ness 1968), so
    H = ½ × the OLS slope of log σ²(τ) on log τ, τ = min_lag..max_lag, where σ²(τ) is the
    population variance of all increments y_{s+τ} − y_s with both ends inside the window
    (mean removed, so a drift does not read as persistence). This is the q = 2 generalized
    Hurst exponent of Di Matteo, Aste & Dacorogna (2005), "Long-term memories of developed and
    emerging markets", J. Banking & Finance 29(4), 827-851 — not Hurst's rescaled-range (R/S)
    statistic, which is biased upwards in short windows. Small windows give noisy estimates
    (standard error ~0.05-0.1 at window 100). Maintained with running sums per lag (O(max_lag)
    per bar). NaN policy: pandas ``rolling(window)``; a window in which some lag has zero
    variance (e.g. a constant series) gives NaN, since log 0 is undefined.

    Examples
    --------
    >>> import numpy as np
    >>> walk = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 5000)))
    >>> h = hurst(walk, 1000, 2, 20)
    >>> bool(0.4 < np.nanmean(h) < 0.6)
    True
    """
    return compute(HURST_SPEC, {"close": close}, _hurst_params(window, min_lag, max_lag, log, "hurst"))


# ---------------------------------------------------------------- streaming twins
class _LinregStream(Stream):
    _spec: Spec

    def __init__(self, window: int = 14) -> None:
        caller = type(self).__name__
        super().__init__(self._spec, {"window": check_int("window", window, caller=caller, minimum=2)})


class LINEARREG(_LinregStream):
    """Streaming :func:`linearreg`: ``LINEARREG(window).update(close) -> value``."""

    _spec = LINEARREG_SPEC


class LINEARREG_SLOPE(_LinregStream):
    """Streaming :func:`linearreg_slope`: ``LINEARREG_SLOPE(window).update(close) -> value``."""

    _spec = LINEARREG_SLOPE_SPEC


class LINEARREG_INTERCEPT(_LinregStream):
    """Streaming :func:`linearreg_intercept`: ``LINEARREG_INTERCEPT(window).update(close)``."""

    _spec = LINEARREG_INTERCEPT_SPEC


class LINEARREG_ANGLE(_LinregStream):
    """Streaming :func:`linearreg_angle`: ``LINEARREG_ANGLE(window).update(close) -> value``."""

    _spec = LINEARREG_ANGLE_SPEC


class TSF(_LinregStream):
    """Streaming :func:`tsf`: ``TSF(window).update(close) -> value``."""

    _spec = TSF_SPEC


class LINEARREG_R2(_LinregStream):
    """Streaming :func:`linearreg_r2`: ``LINEARREG_R2(window).update(close) -> value``."""

    _spec = LINEARREG_R2_SPEC


class CORREL(Stream):
    """Streaming :func:`correl`: ``CORREL(window).update(x, y) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(CORREL_SPEC, {"window": check_int("window", window, caller="CORREL", minimum=2)})


class BETA(Stream):
    """Streaming :func:`beta`: ``BETA(window).update(x, y) -> value`` (x = benchmark price)."""

    def __init__(self, window: int = 5) -> None:
        super().__init__(BETA_SPEC, {"window": check_int("window", window, caller="BETA", minimum=1)})


class HURST(Stream):
    """Streaming :func:`hurst`: ``HURST(window, min_lag, max_lag, log=True).update(close) -> value``."""

    def __init__(self, window: int = 100, min_lag: int = 2, max_lag: int = 20, *, log: bool = True) -> None:
        params = _hurst_params(window, min_lag, max_lag, log, "HURST")
        if isinstance(params["window"], list):
            raise InvalidParameterError(message("window", "HURST", "an integer >= 4", window))
        super().__init__(HURST_SPEC, params)

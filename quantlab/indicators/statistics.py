"""Rolling statistics: linear regression, correlation, beta, Hurst exponent
(TA-Lib's "statistic functions", plus R² and Hurst, which TA-Lib lacks)."""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab._jit import njit
from quantlab._validate import check_bool, check_int, message
from quantlab.errors import InvalidParameterError
from quantlab.indicators._api import Spec, Stream, compute, window_list

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

# linearreg_nb modes
_SLOPE, _INTERCEPT, _VALUE, _ANGLE, _TSF = 0, 1, 2, 3, 4


# ---------------------------------------------------------------- kernels
@njit
def _history_nb(x, keep, state):  # pragma: no cover - numba
    """Prepend the last ``keep`` inputs of earlier calls (stored right-aligned in
    ``state[1:1+keep]``, count in ``state[0]``) to ``x``; return (joined, number prepended)."""
    seen = int(state[0])
    k = min(seen, keep)
    joined = np.empty(k + x.shape[0], dtype=np.float64)
    for j in range(k):
        joined[j] = state[1 + keep - k + j]
    joined[k:] = x
    return joined, k


@njit
def _save_history_nb(joined, keep, n_new, state):  # pragma: no cover - numba
    total = joined.shape[0]
    k = min(total, keep)
    for j in range(k):
        state[1 + keep - k + j] = joined[total - k + j]
    state[0] = state[0] + n_new


@njit
def linearreg_nb(x, window, mode, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; least-squares line through the last `window` values (time
    0..window-1): mode 0 slope (talib.LINEARREG_SLOPE), 1 intercept = fit at the oldest bar
    (LINEARREG_INTERCEPT), 2 fit at the newest bar (LINEARREG), 3 angle in degrees
    (LINEARREG_ANGLE), 4 one-bar-ahead forecast (TSF). NaN policy of pandas rolling(window).

    Method: O(1) per bar with running Σy and Σty of y - c (on a slide every t drops by one:
    Σty <- Σty - (Σy - y_old) + (n - 1) y_new), where the shift c is reset to the window mean and
    both sums are recomputed exactly every `window` bars (and after a NaN leaves the window).

    state: [bars seen, NaNs in window, ring position, shift c, needs-recompute flag, Σy, Σty,
    ring(window)].
    """
    seen = int(state[0])
    nans = int(state[1])
    pos = int(state[2])
    c = state[3]
    dirty = state[4] != 0.0 or seen == 0
    sy = state[5]
    sty = state[6]
    buf = state[7 : 7 + window]
    n = float(window)
    s_t = n * (n - 1.0) * 0.5
    denom = n * n * (n * n - 1.0) / 12.0  # n Σt² - (Σt)²
    last = n - 1.0
    for i in range(x.shape[0]):
        k = seen + i
        v = x[i]
        yc = v - c if v == v else 0.0
        if k >= window:
            old = buf[pos]
            if old != old:
                nans -= 1
                oc = 0.0
            else:
                oc = old - c
            sy -= oc
            sty -= sy
            sty += last * yc
            sy += yc
        else:
            sty += k * yc
            sy += yc
        buf[pos] = v
        pos += 1
        wrapped = pos == window
        if wrapped:
            pos = 0
        if v != v:
            nans += 1
        if k + 1 < window or nans > 0:
            dirty = True
            out[i] = np.nan
            continue
        if dirty or wrapped:  # exact recompute about the window mean; ring[pos] is the oldest
            total = 0.0
            for j in range(window):
                total += buf[j]
            c = total / n
            sy = 0.0
            sty = 0.0
            for j in range(window):
                idx = pos + j
                if idx >= window:
                    idx -= window
                d = buf[idx] - c
                sy += d
                sty += j * d
            dirty = False
        m = (n * sty - s_t * sy) / denom
        if mode == _SLOPE:
            out[i] = m
        elif mode == _ANGLE:
            out[i] = np.arctan(m) * (180.0 / np.pi)
        else:
            b = (sy - m * s_t) / n + c
            if mode == _INTERCEPT:
                out[i] = b
            elif mode == _VALUE:
                out[i] = b + m * last
            else:
                out[i] = b + m * n
    state[0] = seen + x.shape[0]
    state[1] = nans
    state[2] = pos
    state[3] = c
    state[4] = 1.0 if dirty else 0.0
    state[5] = sy
    state[6] = sty


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
def linearreg_r2_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; R² of the least-squares line through the last `window` values
    against time (= squared Pearson correlation with 0..window-1), two-pass centered sums; 0 for a
    constant window (scipy.stats.linregress's convention). NaN policy of pandas rolling(window).

    state: [bars seen, last window - 1 inputs].
    """
    keep = window - 1
    xs, k = _history_nb(x, keep, state)
    n = float(window)
    t_mean = (n - 1.0) * 0.5
    s_tt = n * (n * n - 1.0) / 12.0
    for i in range(x.shape[0]):
        t = k + i
        if t < keep:
            out[i] = np.nan
            continue
        first = t - keep
        total = 0.0
        lo = xs[first]
        hi = lo
        for j in range(first, t + 1):
            v = xs[j]
            total += v
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        if total != total:
            out[i] = np.nan
            continue
        if hi == lo:
            out[i] = 0.0
            continue
        mean = total / n
        s_yy = 0.0
        s_ty = 0.0
        for j in range(first, t + 1):
            d = xs[j] - mean
            s_yy += d * d
            s_ty += (j - first - t_mean) * d
        r2 = s_ty * s_ty / (s_tt * s_yy) if s_yy > 0.0 else 0.0
        out[i] = r2 if r2 < 1.0 else 1.0
    _save_history_nb(xs, keep, x.shape[0], state)


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
def correl_nb(x, y, window, state, out):  # pragma: no cover - numba
    """float64[:] x2 -> out float64[:]; rolling Pearson correlation of x and y over `window` bars;
    equals talib.CORREL and pandas x.rolling(window).corr(y) (0 where either window has zero
    variance, like TA-Lib). A bar with x or y NaN makes every window containing it NaN.

    Method: running sums of x - cx and y - cy (TA-Lib's formula on shifted data), with the shifts
    reset to the window means and the sums recomputed exactly every `window` bars, so neither the
    price level nor the length of the series costs digits (TA-Lib's unshifted running sums lose
    ~1e-7 on FX prices).

    state: [bars seen, NaN pairs in window, Σx, Σx², Σy, Σy², Σxy, ring position, shift x,
    shift y, needs-recompute flag, ring x (window), ring y (window)].
    """
    seen = int(state[0])
    nans = int(state[1])
    sx = state[2]
    sxx = state[3]
    sy = state[4]
    syy = state[5]
    sxy = state[6]
    pos = int(state[7])
    cx = state[8]
    cy = state[9]
    dirty = state[10] != 0.0 or seen == 0
    bx = state[11 : 11 + window]
    by = state[11 + window : 11 + 2 * window]
    n = float(window)
    for i in range(x.shape[0]):
        k = seen + i
        if k >= window:  # remove the trailing pair
            ox = bx[pos]
            oy = by[pos]
            if ox != ox or oy != oy:
                nans -= 1
            else:
                ox -= cx
                oy -= cy
                sx -= ox
                sxx -= ox * ox
                sxy -= ox * oy
                sy -= oy
                syy -= oy * oy
        a = x[i]
        b = y[i]
        bx[pos] = a
        by[pos] = b
        pos += 1
        wrapped = pos == window
        if wrapped:
            pos = 0
        if a != a or b != b:
            nans += 1
        else:
            a -= cx
            b -= cy
            sx += a
            sxx += a * a
            sxy += a * b
            sy += b
            syy += b * b
        if k + 1 < window or nans > 0:
            dirty = True
            out[i] = np.nan
            continue
        if dirty or wrapped:
            cx, cy, sx, sxx, sy, syy, sxy = _correl_sums_nb(bx, by, window)
            dirty = False
        vx = sxx - (sx * sx) / n
        vy = syy - (sy * sy) / n
        if vx > _ZERO_VAR * sxx and vy > _ZERO_VAR * syy:
            out[i] = (sxy - (sx * sy) / n) / np.sqrt(vx * vy)
        else:
            out[i] = 0.0
    state[0] = seen + x.shape[0]
    state[1] = nans
    state[2] = sx
    state[3] = sxx
    state[4] = sy
    state[5] = syy
    state[6] = sxy
    state[7] = pos
    state[8] = cx
    state[9] = cy
    state[10] = 1.0 if dirty else 0.0


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
            if ox != ox or oy != oy:
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
        if rx != rx or ry != ry:
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
    return 3 + window + 2 * (max_lag + 1)


@njit
def hurst_nb(x, window, min_lag, max_lag, log, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; rolling Hurst exponent over the last `window` values of
    y = log(x) (or x when not `log`): H = ½ × OLS slope of log Var[y_{s+τ} − y_s] on log τ,
    τ = min_lag..max_lag, increments with both ends in the window, population variances.
    NaN for the first window − 1 bars, while a NaN (or, with `log`, a value <= 0) is in the window,
    and when some lag has zero variance. Running sums per lag: O(max_lag) per bar.

    state: [bars seen, NaNs in window, ring position, ring(window), Σd (max_lag + 1),
    Σd² (max_lag + 1)].
    """
    seen = int(state[0])
    nans = int(state[1])
    pos = int(state[2])
    buf = state[3 : 3 + window]
    s1 = state[3 + window : 4 + window + max_lag]
    s2 = state[4 + window + max_lag : 5 + window + 2 * max_lag]
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
    for i in range(x.shape[0]):
        k = seen + i
        v = x[i]
        if log:
            v = np.log(v) if v > 0.0 else np.nan
        old = buf[pos]  # y_{k-window}, valid only when k >= window
        if k >= window:
            if old != old:
                nans -= 1
            for lag in range(min_lag, max_lag + 1):  # increments starting at the leaving bar
                idx = pos + lag
                if idx >= window:
                    idx -= window
                d = buf[idx] - old
                d = d if d == d else 0.0
                s1[lag] -= d
                s2[lag] -= d * d
        top = max_lag if max_lag <= k else k
        for lag in range(min_lag, top + 1):  # increments ending at the new bar
            idx = pos - lag
            if idx < 0:
                idx += window
            d = v - buf[idx]
            d = d if d == d else 0.0
            s1[lag] += d
            s2[lag] += d * d
        buf[pos] = v
        pos += 1
        if pos == window:
            pos = 0
        if v != v:
            nans += 1
        if k + 1 < window or nans > 0:
            out[i] = np.nan
            continue
        s_xy = 0.0
        ok = True
        for j in range(n_lags):
            lag = min_lag + j
            m = float(window - lag)
            mean = s1[lag] / m
            var = s2[lag] / m - mean * mean
            if not var > 0.0:
                ok = False
                break
            s_xy += lx[j] * np.log(var)
        out[i] = 0.5 * s_xy / s_xx if ok else np.nan
    state[0] = seen + x.shape[0]
    state[1] = nans
    state[2] = pos


# ---------------------------------------------------------------- specs
def _hist_size(window: int) -> int:
    return window


def _linreg_size(window: int) -> int:
    return 7 + window


LINEARREG_SLOPE_SPEC = Spec("linearreg_slope", _slope_nb, ("close",), ("window",), _linreg_size)
LINEARREG_INTERCEPT_SPEC = Spec("linearreg_intercept", _intercept_nb, ("close",), ("window",), _linreg_size)
LINEARREG_SPEC = Spec("linearreg", _value_nb, ("close",), ("window",), _linreg_size)
LINEARREG_ANGLE_SPEC = Spec("linearreg_angle", _angle_nb, ("close",), ("window",), _linreg_size)
TSF_SPEC = Spec("tsf", _tsf_nb, ("close",), ("window",), _linreg_size)
LINEARREG_R2_SPEC = Spec("linearreg_r2", linearreg_r2_nb, ("close",), ("window",), _hist_size)
CORREL_SPEC = Spec("correl", correl_nb, ("x", "y"), ("window",), lambda window: 11 + 2 * window)
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
    bar: running sums of y − c about a shift c that is reset to the window mean, with an exact
    recompute every ``window`` bars, so the fit stays within ~1e-15 × price of an exact
    two-pass least squares (TA-Lib 0.8's raw running sums: up to ~2e-13 × price). NaN policy: pandas ``rolling(window)``. A constant series gives slope 0 and
    the constant. Input shorter than ``window``: all NaN.
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
    R² = S_ty² / (S_tt S_yy) with centered sums over the window (two passes per bar, no running
    sums, so no cancellation at high price levels); equals ``scipy.stats.linregress(t, y).rvalue**2``.
    A constant window gives 0 (scipy's convention: no variance explained). TA-Lib has no R².
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
    quantlab keeps the running sums about a shift that is reset to the window mean, with an exact
    recompute every ``window`` bars: TA-Lib's raw running sums lose digits at high price levels
    and over long series (measured: TA-Lib up to 6e-11 from an exact two-pass correlation on the
    bundled data, quantlab 1e-13). Zero variance is judged relative to the window's second moment
    (cancellation noise), never by an absolute constant, so ``correl(a * x, y) == correl(x, y)``
    for any scale a > 0 (older TA-Lib versions zeroed products of variances below 1e-8).
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

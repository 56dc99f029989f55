"""Trend indicators: Parabolic SAR, Supertrend, ADX/DMI family, Aroon, Ichimoku."""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab._jit import njit
from quantlab._validate import check_float, check_int
from quantlab.indicators._api import Spec, Stream, compute, window_list
from quantlab.indicators._rolling import (
    rolling_argmax_argmin_nb,
    rolling_max_min_nb,
    rolling_max_min_state_size,
)
from quantlab.indicators.volatility import atr_nb

__all__ = [
    "sar",
    "supertrend",
    "adx",
    "adxr",
    "dx",
    "plus_di",
    "minus_di",
    "aroon",
    "aroonosc",
    "ichimoku",
    "SAR",
    "SUPERTREND",
    "ADX",
    "ADXR",
    "DX",
    "PLUS_DI",
    "MINUS_DI",
    "AROON",
    "AROONOSC",
    "ICHIMOKU",
    "sar_nb",
    "supertrend_nb",
    "dmi_nb",
    "aroon_nb",
    "aroonosc_nb",
    "ichimoku_nb",
]


# ---------------------------------------------------------------- Parabolic SAR
@njit
def sar_nb(high, low, acceleration, maximum, state, out):  # pragma: no cover - numba
    """float64[:] x2 -> out float64[:]; Wilder's Parabolic SAR with TA-Lib's bootstrap (first
    direction short iff the -DM of the first two bars is > 0; equals talib.SAR). NaN at the first
    valid bar; bars with high or low NaN are skipped (output NaN, state unchanged).

    state: [valid bars seen, is long, af, ep, sar, previous high, previous low].
    """
    seen = state[0]
    is_long = state[1]
    af = state[2]
    ep = state[3]
    sar = state[4]
    new_high = state[5]
    new_low = state[6]
    acc = acceleration
    if acc > maximum:
        acc = maximum
    for i in range(high.shape[0]):
        h = high[i]
        lo = low[i]
        if h != h or lo != lo:
            out[i] = np.nan
            continue
        seen += 1.0
        if seen == 1.0:
            new_high = h
            new_low = lo
            out[i] = np.nan
            continue
        if seen == 2.0:  # bootstrap (TA-Lib: MINUS_DM(period 1) of the first two bars)
            diff_p = h - new_high
            diff_m = new_low - lo
            is_long = 0.0 if (diff_m > 0.0 and diff_p < diff_m) else 1.0
            af = acc
            if is_long == 1.0:
                ep = h
                sar = new_low
            else:
                ep = lo
                sar = new_high
            new_high = h  # "cheat": the first iteration's previous bar is the bar itself
            new_low = lo
        prev_high = new_high
        prev_low = new_low
        new_high = h
        new_low = lo
        if is_long == 1.0:
            if new_low <= sar:
                is_long = 0.0
                sar = ep
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
                out[i] = sar
                af = acc
                ep = new_low
                sar = sar + af * (ep - sar)
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
            else:
                out[i] = sar
                if new_high > ep:
                    ep = new_high
                    af += acc
                    if af > maximum:
                        af = maximum
                sar = sar + af * (ep - sar)
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
        elif new_high >= sar:
            is_long = 1.0
            sar = ep
            if sar > prev_low:
                sar = prev_low
            if sar > new_low:
                sar = new_low
            out[i] = sar
            af = acc
            ep = new_high
            sar = sar + af * (ep - sar)
            if sar > prev_low:
                sar = prev_low
            if sar > new_low:
                sar = new_low
        else:
            out[i] = sar
            if new_low < ep:
                ep = new_low
                af += acc
                if af > maximum:
                    af = maximum
            sar = sar + af * (ep - sar)
            if sar < prev_high:
                sar = prev_high
            if sar < new_high:
                sar = new_high
    state[0] = seen
    state[1] = is_long
    state[2] = af
    state[3] = ep
    state[4] = sar
    state[5] = new_high
    state[6] = new_low


# ---------------------------------------------------------------- DMI / ADX family
@njit
def _dm_tr_nb(h, lo, ph, pl, pc):  # pragma: no cover - numba
    """(+DM, -DM, true range) of a bar against the previous high, low and close (TA-Lib's
    rules, branch-free: -DM when it is > 0 and beats +DM, +DM when it is > 0 and beats -DM)."""
    diff_p = h - ph
    diff_m = pl - lo
    tr = max(h - lo, abs(h - pc), abs(lo - pc))
    dm_m = diff_m if (diff_m > 0.0) & (diff_p < diff_m) else 0.0
    dm_p = diff_p if (diff_p > 0.0) & (diff_p > diff_m) else 0.0
    return dm_p, dm_m, tr


@njit
def dmi_nb(high, low, close, window, state, plus_di, minus_di, dx, adx, adxr):  # pragma: no cover - numba
    """float64[:] x3 -> 5 x float64[:]; +DI, -DI, DX, ADX, ADXR exactly as TA-Lib (Wilder SUMS of
    +DM, -DM and TR seeded with the plain sum of the first window - 1 bars; DI from bar `window`,
    ADX from 2 window - 1, ADXR from 3 window - 2). Equal to talib.PLUS_DI, MINUS_DI, DX, ADX,
    ADXR for window >= 2. Bars with a NaN input are skipped (outputs NaN, state unchanged).
    An output array of length 1 when the inputs are longer is treated as scratch (only slot 0
    is written), so single-output callers need no full-length temporaries.

    state: [valid bars seen, prev high, prev low, prev close, Σ+DM, Σ-DM, ΣTR, previous DX,
    Σ DX (warm-up) / ADX, ADXR ring position, ADX ring (window - 1)].
    """
    seen = state[0]
    ph = state[1]
    pl = state[2]
    pc = state[3]
    sp = state[4]
    sm = state[5]
    st = state[6]
    last_dx = state[7]
    adx_v = state[8]
    pos = int(state[9])
    ring = state[10:]
    n = float(window)
    lag = window - 1
    # outputs of length 1 (not n) are scratch: unwanted outputs are written to their slot 0
    m = high.shape[0]
    s0 = 1 if plus_di.shape[0] == m else 0
    s1 = 1 if minus_di.shape[0] == m else 0
    s2 = 1 if dx.shape[0] == m else 0
    s3 = 1 if adx.shape[0] == m else 0
    s4 = 1 if adxr.shape[0] == m else 0
    for i in range(high.shape[0]):
        h = high[i]
        lo = low[i]
        c = close[i]
        if h != h or lo != lo or c != c:
            plus_di[i * s0] = np.nan
            minus_di[i * s1] = np.nan
            dx[i * s2] = np.nan
            adx[i * s3] = np.nan
            adxr[i * s4] = np.nan
            continue
        t = seen  # index of this bar among valid bars
        seen += 1.0
        if t == 0.0:
            ph = h
            pl = lo
            pc = c
            plus_di[i * s0] = np.nan
            minus_di[i * s1] = np.nan
            dx[i * s2] = np.nan
            adx[i * s3] = np.nan
            adxr[i * s4] = np.nan
            continue
        dm_p, dm_m, tr = _dm_tr_nb(h, lo, ph, pl, pc)
        ph = h
        pl = lo
        pc = c
        if t < n:  # bars 1 .. window-1: plain sums
            sp += dm_p
            sm += dm_m
            st += tr
            plus_di[i * s0] = np.nan
            minus_di[i * s1] = np.nan
            dx[i * s2] = np.nan
            adx[i * s3] = np.nan
            adxr[i * s4] = np.nan
            continue
        sp = sp - sp / n + dm_p
        sm = sm - sm / n + dm_m
        st = st - st / n + tr
        cur_dx = last_dx
        valid = False
        if st != 0.0:
            mdi = 100.0 * (sm / st)
            pdi = 100.0 * (sp / st)
            total = mdi + pdi
            if total != 0.0:
                cur_dx = 100.0 * (abs(mdi - pdi) / total)
                valid = True
        else:
            mdi = 0.0
            pdi = 0.0
        plus_di[i * s0] = pdi
        minus_di[i * s1] = mdi
        dx[i * s2] = cur_dx
        last_dx = cur_dx
        if t < 2.0 * n - 1.0:  # bars window .. 2 window - 2: sum DX
            adx_v += cur_dx if valid else 0.0
            adx[i * s3] = np.nan
            adxr[i * s4] = np.nan
            continue
        if t == 2.0 * n - 1.0:
            adx_v += cur_dx if valid else 0.0
            adx_v = adx_v / n
        elif valid:
            adx_v = ((adx_v * (n - 1.0)) + cur_dx) / n
        adx[i * s3] = adx_v
        # ADXR = (ADX_t + ADX_{t - (window - 1)}) / 2; ring holds the last window - 1 ADX values
        k = t - (2.0 * n - 1.0)  # index among ADX outputs
        if lag == 0:
            adxr[i * s4] = adx_v
        else:
            adxr[i * s4] = (adx_v + ring[pos]) / 2.0 if k >= lag else np.nan
            ring[pos] = adx_v
            pos += 1
            if pos == lag:
                pos = 0
    state[0] = seen
    state[1] = ph
    state[2] = pl
    state[3] = pc
    state[4] = sp
    state[5] = sm
    state[6] = st
    state[7] = last_dx
    state[8] = adx_v
    state[9] = pos


def _dmi_state_size(window: int) -> int:
    return 10 + max(window - 1, 1)


@njit
def _dmi_one_nb(high, low, close, window, which, state, out):  # pragma: no cover - numba
    a = np.empty(1)  # scratch for the outputs not asked for (see dmi_nb)
    b = np.empty(1)
    c = np.empty(1)
    d = np.empty(1)
    if which == 0:
        dmi_nb(high, low, close, window, state, out, a, b, c, d)
    elif which == 1:
        dmi_nb(high, low, close, window, state, a, out, b, c, d)
    elif which == 2:
        dmi_nb(high, low, close, window, state, a, b, out, c, d)
    elif which == 3:
        dmi_nb(high, low, close, window, state, a, b, c, out, d)
    else:
        dmi_nb(high, low, close, window, state, a, b, c, d, out)


@njit
def _di_nb(high, low, close, window, minus, state, out):  # pragma: no cover - numba
    """float64[:] x3 -> out; +DI (``minus`` False) or -DI alone, the same arithmetic as
    :func:`dmi_nb` without DX/ADX (their state fields stay 0). Equals talib.PLUS_DI / MINUS_DI.

    state: as dmi_nb; only [valid bars seen, prev high, prev low, prev close, Σ+DM (+DI) or
    Σ-DM (-DI), ΣTR] are used.
    """
    seen = state[0]
    ph = state[1]
    pl = state[2]
    pc = state[3]
    sdm = state[5] if minus else state[4]
    st = state[6]
    n = float(window)
    m = high.shape[0]
    i = 0
    while i < m and seen < n:  # warm-up: first bar, then plain sums of bars 1 .. window - 1
        h = high[i]
        lo = low[i]
        c = close[i]
        out[i] = np.nan
        i += 1
        if h != h or lo != lo or c != c:
            continue
        if seen > 0.0:
            diff_p = h - ph
            diff_m = pl - lo
            dm_m = diff_m if (diff_m > 0.0) & (diff_p < diff_m) else 0.0
            dm_p = diff_p if (diff_p > 0.0) & (diff_p > diff_m) else 0.0
            sdm += dm_m if minus else dm_p
            st += max(h - lo, abs(h - pc), abs(lo - pc))
        seen += 1.0
        ph = h
        pl = lo
        pc = c
    valid = 0
    for j in range(i, m):  # steady state: Wilder sums (dmi_nb's arithmetic), one DM side only
        h = high[j]
        lo = low[j]
        c = close[j]
        if h != h or lo != lo or c != c:
            out[j] = np.nan
            continue
        valid += 1
        dm_p, dm_m, tr = _dm_tr_nb(h, lo, ph, pl, pc)
        ph = h
        pl = lo
        pc = c
        sdm = sdm - sdm / n + (dm_m if minus else dm_p)
        st = st - st / n + tr
        out[j] = 100.0 * (sdm / st) if st != 0.0 else 0.0
    state[0] = seen + valid
    state[1] = ph
    state[2] = pl
    state[3] = pc
    state[5 if minus else 4] = sdm
    state[6] = st


@njit
def _plus_di_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    _di_nb(high, low, close, window, False, state, out)


@njit
def _minus_di_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    _di_nb(high, low, close, window, True, state, out)


@njit
def _dx_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    _dmi_one_nb(high, low, close, window, 2, state, out)


@njit
def _adx_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    _dmi_one_nb(high, low, close, window, 3, state, out)


@njit
def _adxr_nb(high, low, close, window, state, out):  # pragma: no cover - numba
    _dmi_one_nb(high, low, close, window, 4, state, out)


# ---------------------------------------------------------------- Aroon
@njit
def aroon_nb(high, low, window, state, aroondown, aroonup):  # pragma: no cover - numba
    """float64[:] x2 -> aroondown, aroonup float64[:]; 100 (window - bars since the lowest low /
    highest high over the last window + 1 bars) / window, newest bar winning ties (TA-Lib's
    AROON: equals talib.AROON). NaN policy of pandas rolling(window + 1).

    state: rolling_argmax_argmin_nb state for window + 1 bars.
    """
    factor = 100.0 / window
    rolling_argmax_argmin_nb(high, low, window + 1, state, aroonup, aroondown)  # ages first
    for i in range(high.shape[0]):
        aroonup[i] = factor * (window - aroonup[i])
        aroondown[i] = factor * (window - aroondown[i])


@njit
def aroonosc_nb(high, low, window, state, out):  # pragma: no cover - numba
    """float64[:] x2 -> out float64[:]; aroonup - aroondown = 100 (bars since low - bars since
    high) / window (equals talib.AROONOSC). state: as aroon_nb."""
    age_low = np.empty(high.shape[0])
    factor = 100.0 / window
    rolling_argmax_argmin_nb(high, low, window + 1, state, out, age_low)  # age of the high into out
    for i in range(high.shape[0]):
        out[i] = factor * (age_low[i] - out[i])


# ---------------------------------------------------------------- Supertrend
@njit
def supertrend_nb(high, low, close, window, k, state, supertrend, direction):  # pragma: no cover - numba
    """float64[:] x3 -> supertrend, direction float64[:]; bands hl2 ± k ATR(window) (Wilder, as
    talib.ATR) with the final-band carry rules; direction +1 (up: supertrend = lower band) or -1
    (down: upper band); the first bar with an ATR starts down (TradingView's convention).
    NaN until the ATR is defined; bars where it is NaN are skipped (state unchanged).

    state: [ATR state (5), started, direction, final upper, final lower, previous close].
    """
    atr_nb(high, low, close, window, state[0:5], supertrend)  # ATR into the output buffer
    started = state[5]
    dirn = state[6]
    fu = state[7]
    fl = state[8]
    pc = state[9]
    for i in range(high.shape[0]):
        a = supertrend[i]
        c = close[i]
        if a != a or c != c:
            supertrend[i] = np.nan
            direction[i] = np.nan
            continue
        mid = (high[i] + low[i]) / 2.0
        bu = mid + k * a
        bl = mid - k * a
        if started == 0.0:
            started = 1.0
            fu = bu
            fl = bl
            dirn = -1.0
        else:
            fu = bu if (bu < fu) | (pc > fu) else fu  # branch-free carry rules
            fl = bl if (bl > fl) | (pc < fl) else fl
            if dirn < 0.0:
                if c > fu:
                    dirn = 1.0
            elif c < fl:
                dirn = -1.0
        pc = c
        supertrend[i] = fl if dirn > 0.0 else fu
        direction[i] = dirn
    state[5] = started
    state[6] = dirn
    state[7] = fu
    state[8] = fl
    state[9] = pc


# ---------------------------------------------------------------- Ichimoku
@njit
def ichimoku_nb(high, low, close, tenkan, kijun, senkou, state,
                out_tenkan, out_kijun, out_a, out_b, out_chikou):  # pragma: no cover - numba
    """float64[:] x3 -> 5 x float64[:]; Ichimoku lines aligned to the bar at which they are known:
    tenkan/kijun/senkou_b = (highest high + lowest low) / 2 over tenkan/kijun/senkou bars,
    senkou_a = (tenkan + kijun) / 2, chikou = close (no shifts: no look-ahead).
    NaN policy of pandas rolling(window).

    state: 3 rolling_max_min_nb states (tenkan, kijun, senkou windows).
    """
    n = high.shape[0]
    s1 = 3 + 2 * tenkan  # rolling_max_min_state_size(tenkan)
    s2 = s1 + 3 + 2 * kijun
    lo = np.empty(n)
    rolling_max_min_nb(high, low, tenkan, state[0:s1], out_tenkan, lo)
    for i in range(n):
        out_tenkan[i] = (out_tenkan[i] + lo[i]) / 2.0
    rolling_max_min_nb(high, low, kijun, state[s1:s2], out_kijun, lo)
    for i in range(n):
        out_kijun[i] = (out_kijun[i] + lo[i]) / 2.0
    rolling_max_min_nb(high, low, senkou, state[s2:], out_b, lo)
    for i in range(n):
        out_b[i] = (out_b[i] + lo[i]) / 2.0
        out_a[i] = (out_tenkan[i] + out_kijun[i]) / 2.0
        out_chikou[i] = close[i]


# ---------------------------------------------------------------- specs
_HLC = ("high", "low", "close")
SAR_SPEC = Spec("sar", sar_nb, ("high", "low"), ("acceleration", "maximum"), lambda acceleration, maximum: 7)
PLUS_DI_SPEC = Spec("plus_di", _plus_di_nb, _HLC, ("window",), _dmi_state_size)
MINUS_DI_SPEC = Spec("minus_di", _minus_di_nb, _HLC, ("window",), _dmi_state_size)
DX_SPEC = Spec("dx", _dx_nb, _HLC, ("window",), _dmi_state_size)
ADX_SPEC = Spec("adx", _adx_nb, _HLC, ("window",), _dmi_state_size)
ADXR_SPEC = Spec("adxr", _adxr_nb, _HLC, ("window",), _dmi_state_size)
AROON_SPEC = Spec("aroon", aroon_nb, ("high", "low"), ("window",),
                  lambda window: rolling_max_min_state_size(window + 1), ("aroondown", "aroonup"))
AROONOSC_SPEC = Spec("aroonosc", aroonosc_nb, ("high", "low"), ("window",),
                     lambda window: rolling_max_min_state_size(window + 1))
SUPERTREND_SPEC = Spec("supertrend", supertrend_nb, _HLC, ("window", "k"), lambda window, k: 10,
                       ("supertrend", "direction"))
ICHIMOKU_SPEC = Spec(
    "ichimoku",
    ichimoku_nb,
    _HLC,
    ("tenkan", "kijun", "senkou"),
    lambda tenkan, kijun, senkou: sum(rolling_max_min_state_size(w) for w in (tenkan, kijun, senkou)),
    ("tenkan", "kijun", "senkou_a", "senkou_b", "chikou"),
)


def _sar_params(acceleration: Any, maximum: Any, caller: str) -> dict[str, float]:
    return {
        "acceleration": check_float("acceleration", acceleration, caller=caller, minimum=0.0),
        "maximum": check_float("maximum", maximum, caller=caller, minimum=0.0),
    }


def _dmi(spec: Spec, high: Any, low: Any, close: Any, window: Any) -> Any:
    return compute(spec, {"high": high, "low": low, "close": close},
                   {"window": window_list("window", window, caller=spec.name, minimum=2)})


# ---------------------------------------------------------------- pandas API
def sar(high: Any, low: Any, acceleration: float = 0.02, maximum: float = 0.2) -> Any:
    """Parabolic SAR (stop and reverse).

    Parameters
    ----------
    high, low : ndarray, Series or DataFrame
        Aligned bar prices (one column per asset).
    acceleration : float, default 0.02
        Initial and step acceleration factor (>= 0); capped at ``maximum`` as in TA-Lib.
    maximum : float, default 0.2
        Maximum acceleration factor (>= 0).

    Returns
    -------
    Same type as ``high``
        The stop for the current bar; NaN at the first bar (TA-Lib's lookback of 1).

    Raises
    ------
    InvalidParameterError
        ``acceleration`` or ``maximum`` not a finite number >= 0; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    Wilder (1978), *New Concepts in Technical Trading Systems*. Bootstrapped as TA-Lib does (Wilder
    left it open): the first position is short iff the -DM of bars 0-1 is positive
    (low_0 − low_1 > 0 and > high_1 − high_0), the first SAR is the extreme of bar 0 and the first
    extreme point the opposite extreme of bar 1. Then SAR_{t+1} = SAR_t + af (EP − SAR_t), never
    inside the last two bars' range, reversing to the EP when the range penetrates it.
    Equals ``talib.SAR``. NaN bars are skipped (output NaN, state unchanged: equals computing on
    the NaN-free rows and reindexing). A constant series stays long with SAR at the constant.

    Examples
    --------
    >>> import numpy as np
    >>> sar(np.array([10.0, 11.0, 12.0, 13.0]), np.array([9.0, 10.0, 11.0, 12.0])).round(4).tolist()
    [nan, 9.0, 9.04, 9.1584]
    """
    return compute(SAR_SPEC, {"high": high, "low": low}, _sar_params(acceleration, maximum, "sar"))


_DMI_NOTES = """
    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    Wilder (1978). +DM_t = H_t − H_{t−1} if it is > 0 and > L_{t−1} − L_t, else 0; −DM likewise;
    TR = true range. TA-Lib smooths Wilder SUMS, not averages: S_{window} = Σ of bars 1..window−1,
    then S_t = S_{t−1} − S_{t−1}/window + x_t; +DI = 100 ΣDM+/ΣTR, −DI = 100 ΣDM−/ΣTR,
    DX = 100 |+DI − −DI| / (+DI + −DI) (the previous DX when undefined), ADX = mean of the first
    ``window`` DX then Wilder-smoothed (unchanged where DX is undefined),
    ADXR_t = (ADX_t + ADX_{t−window+1}) / 2. Warm-up: DI and DX from bar ``window``, ADX from
    ``2 window − 1``, ADXR from ``3 window − 2`` (TA-Lib's lookbacks). Equal to TA-Lib for
    window >= 2 (TA-Lib's PLUS_DI/MINUS_DI with period 1 return unscaled DM/TR; not supported).
    Deviation: TA-Lib treats |ΣTR| below an absolute epsilon as zero (1e-8 before TA-Lib 0.7,
    1e-14 since), which zeroes very low-priced assets; quantlab tests for exact zero.
    Constant series: all 0.
    NaN bars (any of high, low, close) are skipped: outputs NaN, state unchanged (equals computing
    on the NaN-free rows and reindexing). Input shorter than the warm-up: all NaN.
"""


def plus_di(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Plus directional indicator +DI.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Wilder smoothing period (>= 2).

    Returns
    -------
    Same type as ``high``
        In [0, 100]; NaN for the first ``window`` bars.
    {notes}
    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([10.0, 11.0, 12.0, 11.5]); lo = h - 1.0
    >>> plus_di(h, lo, lo + 0.5, 2).round(4).tolist()
    [nan, nan, 66.6667, 35.2941]
    """
    return _dmi(PLUS_DI_SPEC, high, low, close, window)


def minus_di(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Minus directional indicator −DI.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Wilder smoothing period (>= 2).

    Returns
    -------
    Same type as ``high``
        In [0, 100]; NaN for the first ``window`` bars.
    {notes}
    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([10.0, 11.0, 12.0, 11.5]); lo = h - 1.0
    >>> minus_di(h, lo, lo + 0.5, 2).round(4).tolist()
    [nan, nan, 0.0, 23.5294]
    """
    return _dmi(MINUS_DI_SPEC, high, low, close, window)


def dx(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Directional movement index DX.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Wilder smoothing period (>= 2).

    Returns
    -------
    Same type as ``high``
        In [0, 100]; NaN for the first ``window`` bars.
    {notes}
    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([10.0, 11.0, 12.0, 11.5]); lo = h - 1.0
    >>> dx(h, lo, lo + 0.5, 2).round(4).tolist()
    [nan, nan, 100.0, 20.0]
    """
    return _dmi(DX_SPEC, high, low, close, window)


def adx(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Average directional index ADX (Wilder).

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Wilder smoothing period (>= 2).

    Returns
    -------
    Same type as ``high``
        In [0, 100]; NaN for the first ``2 window − 1`` bars.
    {notes}
    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([10.0, 11.0, 12.0, 11.5, 12.5]); lo = h - 1.0
    >>> adx(h, lo, lo + 0.5, 2).round(4).tolist()
    [nan, nan, nan, 60.0, 64.6154]
    """
    return _dmi(ADX_SPEC, high, low, close, window)


def adxr(high: Any, low: Any, close: Any, window: int | list[int] = 14) -> Any:
    """Average directional movement rating ADXR = (ADX_t + ADX_{t−window+1}) / 2.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Wilder smoothing period (>= 2).

    Returns
    -------
    Same type as ``high``
        In [0, 100]; NaN for the first ``3 window − 2`` bars.
    {notes}
    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([10.0, 11.0, 12.0, 11.5, 12.5]); lo = h - 1.0
    >>> adxr(h, lo, lo + 0.5, 2).round(4).tolist()
    [nan, nan, nan, nan, 62.3077]
    """
    return _dmi(ADXR_SPEC, high, low, close, window)


for _f in (plus_di, minus_di, dx, adx, adxr):
    _f.__doc__ = _f.__doc__.replace("    {notes}", _DMI_NOTES.rstrip("\n"))  # type: ignore[union-attr]


def aroon(high: Any, low: Any, window: int | list[int] = 14) -> Any:
    """Aroon down and up.

    Parameters
    ----------
    high, low : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Look-back period (>= 2, as TA-Lib); the extremes are taken over ``window + 1`` bars.

    Returns
    -------
    DataFrame (tuple of 2 arrays for ndarray input)
        Columns ``aroondown, aroonup`` (TA-Lib's order), in [0, 100]; NaN for the first
        ``window`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    Chande (1995). aroonup = 100 (window − bars since the highest high) / window, aroondown the
    same with the lowest low, over the last ``window + 1`` bars; ties go to the most recent bar
    (TA-Lib). Equals ``talib.AROON``. NaN policy: pandas ``rolling(window + 1)``. A constant
    series gives 100 and 100 (the current bar is the extreme).

    Examples
    --------
    >>> import numpy as np
    >>> down, up = aroon(np.array([1.0, 3.0, 2.0, 2.5]), np.array([0.5, 2.0, 1.0, 2.0]), 2)
    >>> up.tolist(), down.tolist()
    ([nan, nan, 50.0, 0.0], [nan, nan, 0.0, 50.0])
    """
    return compute(AROON_SPEC, {"high": high, "low": low}, {"window": window_list("window", window, caller="aroon", minimum=2)})


def aroonosc(high: Any, low: Any, window: int | list[int] = 14) -> Any:
    """Aroon oscillator = aroonup − aroondown.

    Parameters
    ----------
    high, low : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 14
        Look-back period (>= 2, as TA-Lib), extremes over ``window + 1`` bars.

    Returns
    -------
    Same type as ``high``
        In [−100, 100]; NaN for the first ``window`` bars.

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 2; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    100 (bars since the lowest low − bars since the highest high) / window, ties to the most
    recent bar; equals ``talib.AROONOSC``. NaN policy as :func:`aroon`. Constant series: 0.

    Examples
    --------
    >>> import numpy as np
    >>> aroonosc(np.array([1.0, 3.0, 2.0, 2.5]), np.array([0.5, 2.0, 1.0, 2.0]), 2).tolist()
    [nan, nan, 50.0, -50.0]
    """
    return compute(AROONOSC_SPEC, {"high": high, "low": low},
                   {"window": window_list("window", window, caller="aroonosc", minimum=2)})


def supertrend(high: Any, low: Any, close: Any, window: int | list[int] = 10, k: float = 3.0) -> Any:
    """Supertrend: an ATR trailing stop that flips with the trend.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    window : int or list of int, default 10
        ATR period (>= 1), Wilder smoothing as :func:`~quantlab.indicators.volatility.atr`.
    k : float, default 3.0
        Band distance in ATRs (>= 0).

    Returns
    -------
    DataFrame (tuple of 2 arrays for ndarray input)
        Columns ``supertrend`` (the active band) and ``direction`` (+1 up, −1 down); NaN for the
        first ``window`` bars (the ATR's warm-up).

    Raises
    ------
    InvalidParameterError
        ``window`` not an integer >= 1, ``k`` not a finite number >= 0; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    Olivier Seban's indicator, in the common (TradingView ``ta.supertrend``) form. With
    hl2 = (H + L)/2 and ATR as ``talib.ATR``: basic bands hl2 ± k ATR; the final upper band
    FU_t = basic upper if it is below FU_{t−1} or C_{t−1} > FU_{t−1}, else FU_{t−1}; the final
    lower band FL_t = basic lower if it is above FL_{t−1} or C_{t−1} < FL_{t−1}, else FL_{t−1}.
    Direction turns up when C_t > FU_t in a downtrend and down when C_t < FL_t in an uptrend;
    supertrend = FL in an uptrend, FU in a downtrend. The first bar with an ATR starts in a
    downtrend with the basic bands (TradingView's convention; some libraries start up, which only
    changes the first bars until the first flip). The direction is tracked as a state, not by
    comparing floats. TA-Lib has no Supertrend; tested against an independent pandas/Python loop.
    NaN policy: bars where the ATR is NaN (a NaN input; see :func:`atr`) are skipped, state
    unchanged. Constant series: ATR 0, the bands coincide with the price and direction stays −1.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([10.0, 11.0, 12.0, 13.0, 14.0]); lo = h - 1.0
    >>> st, d = supertrend(h, lo, h - 0.5, window=2, k=1.0)
    >>> d.tolist()
    [nan, nan, -1.0, -1.0, 1.0]
    """
    return compute(SUPERTREND_SPEC, {"high": high, "low": low, "close": close},
                   {"window": window_list("window", window, caller="supertrend"),
                    "k": check_float("k", k, caller="supertrend", minimum=0.0)})


def ichimoku(high: Any, low: Any, close: Any, tenkan: int = 9, kijun: int = 26, senkou: int = 52) -> Any:
    """Ichimoku Kinko Hyo lines, aligned to the bar at which each value is KNOWN (no look-ahead).

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Aligned bar prices.
    tenkan : int, default 9
        Conversion-line period (>= 1).
    kijun : int, default 26
        Base-line period (>= 1); also the usual display displacement.
    senkou : int, default 52
        Leading-span-B period (>= 1).

    Returns
    -------
    DataFrame (tuple of 5 arrays for ndarray input)
        Columns ``tenkan, kijun, senkou_a, senkou_b, chikou``. NaN until each line's window is
        full (senkou_a needs both tenkan and kijun).

    Raises
    ------
    InvalidParameterError
        A period not an integer >= 1; inputs of different shapes.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    Hosoda (1969). mid(w) = (highest high + lowest low) / 2 over the last w bars;
    tenkan = mid(tenkan), kijun = mid(kijun), senkou_a = (tenkan + kijun)/2, senkou_b =
    mid(senkou), chikou = close.

    **Alignment.** Charts plot senkou_a/senkou_b ``kijun`` bars into the FUTURE and the chikou
    span (the close) ``kijun`` bars into the PAST. Here every value sits at the bar where it
    becomes known: ``senkou_a[t]`` is computed from data up to t, and the cloud a chart shows at
    bar t is ``senkou_a.shift(kijun)[t]``. The chikou span as a value at t would be close[t +
    kijun], i.e. the future; here ``chikou[t] = close[t]`` and the chart's chikou at t is
    ``chikou.shift(-kijun)`` — for display only, never as a signal. Shift for display in the
    caller (``df.shift(kijun)``); do not shift signals forward in time.

    No TA-Lib function; tested against pandas rolling max/min. NaN policy: pandas
    ``rolling(window)``. A constant series gives the constant on every line.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.arange(1.0, 6.0); lo = h - 1.0
    >>> lines = ichimoku(h, lo, h, tenkan=2, kijun=3, senkou=4)
    >>> [x.tolist() for x in lines[:4]]  # doctest: +NORMALIZE_WHITESPACE
    [[nan, 1.0, 2.0, 3.0, 4.0], [nan, nan, 1.5, 2.5, 3.5], [nan, nan, 1.75, 2.75, 3.75],
     [nan, nan, nan, 2.0, 3.0]]
    """
    caller = "ichimoku"
    return compute(ICHIMOKU_SPEC, {"high": high, "low": low, "close": close},
                   {"tenkan": check_int("tenkan", tenkan, caller=caller, minimum=1),
                    "kijun": check_int("kijun", kijun, caller=caller, minimum=1),
                    "senkou": check_int("senkou", senkou, caller=caller, minimum=1)})


# ---------------------------------------------------------------- streaming twins
class SAR(Stream):
    """Streaming :func:`sar`: ``SAR(acceleration, maximum).update(high, low) -> value``."""

    def __init__(self, acceleration: float = 0.02, maximum: float = 0.2) -> None:
        super().__init__(SAR_SPEC, _sar_params(acceleration, maximum, "SAR"))


class _DmiStream(Stream):
    _spec: Spec

    def __init__(self, window: int = 14) -> None:
        super().__init__(self._spec, {"window": check_int("window", window, caller=type(self).__name__, minimum=2)})


class PLUS_DI(_DmiStream):
    """Streaming :func:`plus_di`: ``PLUS_DI(window).update(high, low, close) -> value``."""

    _spec = PLUS_DI_SPEC


class MINUS_DI(_DmiStream):
    """Streaming :func:`minus_di`: ``MINUS_DI(window).update(high, low, close) -> value``."""

    _spec = MINUS_DI_SPEC


class DX(_DmiStream):
    """Streaming :func:`dx`: ``DX(window).update(high, low, close) -> value``."""

    _spec = DX_SPEC


class ADX(_DmiStream):
    """Streaming :func:`adx`: ``ADX(window).update(high, low, close) -> value``."""

    _spec = ADX_SPEC


class ADXR(_DmiStream):
    """Streaming :func:`adxr`: ``ADXR(window).update(high, low, close) -> value``."""

    _spec = ADXR_SPEC


class AROON(Stream):
    """Streaming :func:`aroon`: ``AROON(window).update(high, low) -> {aroondown, aroonup}``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(AROON_SPEC, {"window": check_int("window", window, caller="AROON", minimum=2)})


class AROONOSC(Stream):
    """Streaming :func:`aroonosc`: ``AROONOSC(window).update(high, low) -> value``."""

    def __init__(self, window: int = 14) -> None:
        super().__init__(AROONOSC_SPEC, {"window": check_int("window", window, caller="AROONOSC", minimum=2)})


class SUPERTREND(Stream):
    """Streaming :func:`supertrend`: ``SUPERTREND(window, k).update(high, low, close)
    -> {supertrend, direction}``."""

    def __init__(self, window: int = 10, k: float = 3.0) -> None:
        super().__init__(SUPERTREND_SPEC, {"window": check_int("window", window, caller="SUPERTREND", minimum=1),
                                           "k": check_float("k", k, caller="SUPERTREND", minimum=0.0)})


class ICHIMOKU(Stream):
    """Streaming :func:`ichimoku`: ``ICHIMOKU(tenkan, kijun, senkou).update(high, low, close)
    -> {tenkan, kijun, senkou_a, senkou_b, chikou}`` (values known at the bar; no shifts)."""

    def __init__(self, tenkan: int = 9, kijun: int = 26, senkou: int = 52) -> None:
        caller = "ICHIMOKU"
        super().__init__(ICHIMOKU_SPEC, {"tenkan": check_int("tenkan", tenkan, caller=caller, minimum=1),
                                         "kijun": check_int("kijun", kijun, caller=caller, minimum=1),
                                         "senkou": check_int("senkou", senkou, caller=caller, minimum=1)})

"""Volume indicators: OBV, Chaikin A/D line and oscillator, VWAP (TA-Lib's "volume indicators")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import njit
from quantlab._validate import check_int, message
from quantlab.errors import DataError, InvalidParameterError
from quantlab.indicators._api import Spec, Stream, compute

__all__ = [
    "obv",
    "ad",
    "adosc",
    "vwap",
    "OBV",
    "AD",
    "ADOSC",
    "VWAP",
    "obv_nb",
    "ad_nb",
    "adosc_nb",
    "vwap_nb",
    "session_labels",
]


# ---------------------------------------------------------------- kernels
@njit
def obv_nb(close, volume, state, out):  # pragma: no cover - numba
    """float64[:] x2 -> out float64[:]; On Balance Volume, first value = volume[0] (TA-Lib's OBV).
    Bars with a NaN close or volume are skipped (output NaN, state unchanged).

    state: [valid bars seen, previous close, obv].
    """
    seen = state[0]
    prev = state[1]
    acc = state[2]
    for i in range(close.shape[0]):
        c = close[i]
        v = volume[i]
        if c != c or v != v:
            out[i] = np.nan
            continue
        if seen == 0.0:
            acc = v
        elif c > prev:
            acc += v
        elif c < prev:
            acc -= v
        prev = c
        seen += 1.0
        out[i] = acc
    state[0] = seen
    state[1] = prev
    state[2] = acc


@njit
def _ad_step(h, lo, c, v, acc):  # pragma: no cover - numba
    rng = h - lo
    if rng > 0.0:
        acc += (((c - lo) - (h - c)) / rng) * v
    return acc


@njit
def ad_nb(high, low, close, volume, state, out):  # pragma: no cover - numba
    """float64[:] x4 -> out float64[:]; Chaikin A/D line, equals talib.AD (a bar with high == low
    adds nothing). NaN bars are skipped (output NaN, state unchanged).

    state: [a/d line].
    """
    acc = state[0]
    for i in range(close.shape[0]):
        h = high[i]
        lo = low[i]
        c = close[i]
        v = volume[i]
        if h != h or lo != lo or c != c or v != v:
            out[i] = np.nan
            continue
        acc = _ad_step(h, lo, c, v, acc)
        out[i] = acc
    state[0] = acc


@njit
def adosc_nb(high, low, close, volume, fast, slow, state, out):  # pragma: no cover - numba
    """float64[:] x4 -> out float64[:]; EMA(fast) - EMA(slow) of the A/D line, both EMAs seeded with
    the first A/D value (TA-Lib's ADOSC); NaN for the first max(fast, slow) - 1 valid bars.
    NaN bars are skipped.

    state: [valid bars seen, a/d line, fast EMA, slow EMA].
    """
    seen = state[0]
    acc = state[1]
    f = state[2]
    s = state[3]
    fk = 2.0 / (fast + 1.0)
    sk = 2.0 / (slow + 1.0)
    fk1 = 1.0 - fk
    sk1 = 1.0 - sk
    ready = max(fast, slow)
    n = close.shape[0]
    i = 0
    while i < n and seen < ready:  # warm-up: the first bar seeds both EMAs, output NaN until ready
        h = high[i]
        lo = low[i]
        c = close[i]
        v = volume[i]
        i += 1
        if h != h or lo != lo or c != c or v != v:
            out[i - 1] = np.nan
            continue
        acc = _ad_step(h, lo, c, v, acc)
        if seen == 0.0:
            f = acc
            s = acc
        else:
            f = (fk * acc) + (fk1 * f)
            s = (sk * acc) + (sk1 * s)
        seen += 1.0
        out[i - 1] = f - s if seen >= ready else np.nan
    valid = 0
    # Ready: no seed or warm-up tests (seen counted once at the end). Views starting at the
    # first steady bar: numba's range(i, n) loop was measured ~1.5x slower than range(m).
    hs, ls, cs, vs, os = high[i:], low[i:], close[i:], volume[i:], out[i:]
    for j in range(os.shape[0]):
        h = hs[j]
        lo = ls[j]
        c = cs[j]
        v = vs[j]
        if (h != h) | (lo != lo) | (c != c) | (v != v):  # one branch for the four tests
            os[j] = np.nan
            continue
        rng = h - lo
        if rng > 0.0:
            acc += (((c - lo) - (h - c)) / rng) * v
        f = (fk * acc) + (fk1 * f)
        s = (sk * acc) + (sk1 * s)
        os[j] = f - s
        valid += 1
    state[0] = seen + valid
    state[1] = acc
    state[2] = f
    state[3] = s


@njit
def vwap_nb(high, low, close, volume, session, state, out):  # pragma: no cover - numba
    """float64[:] x5 -> out float64[:]; cumulative sum(tp * volume) / sum(volume), tp = (h + l + c) / 3,
    restarted whenever ``session`` differs from the previous bar's; equals a pandas
    groupby(session).cumsum() ratio. NaN bars add nothing (output NaN); zero cumulative volume -> NaN.

    state: [has a session (0/1), current session label, sum(tp * volume), sum(volume)].
    """
    started = state[0]
    label = state[1]
    pv = state[2]
    vv = state[3]
    for i in range(close.shape[0]):
        sid = session[i]
        if started == 0.0 or sid != label:
            started = 1.0
            label = sid
            pv = 0.0
            vv = 0.0
        h = high[i]
        lo = low[i]
        c = close[i]
        v = volume[i]
        if h != h or lo != lo or c != c or v != v:
            out[i] = np.nan
            continue
        pv += (h + lo + c) / 3.0 * v
        vv += v
        out[i] = pv / vv if vv != 0.0 else np.nan
    state[0] = started
    state[1] = label
    state[2] = pv
    state[3] = vv


# ---------------------------------------------------------------- specs
OBV_SPEC = Spec("obv", obv_nb, ("close", "volume"), (), lambda: 3)
AD_SPEC = Spec("ad", ad_nb, ("high", "low", "close", "volume"), (), lambda: 1)
ADOSC_SPEC = Spec("adosc", adosc_nb, ("high", "low", "close", "volume"), ("fast", "slow"), lambda fast, slow: 4)
VWAP_SPEC = Spec("vwap", vwap_nb, ("high", "low", "close", "volume", "session"), (), lambda: 4)


# ---------------------------------------------------------------- sessions
def _period_starts(index: pd.DatetimeIndex, anchor: str, caller: str) -> pd.DatetimeIndex:
    """Start of the ``anchor`` period containing each timestamp, in UTC (naive = UTC)."""
    idx = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
    try:
        return idx.floor(anchor)  # fixed frequencies ("D", "h", "4h", "15min"): epoch-aligned
    except (ValueError, TypeError):
        pass
    naive = idx.tz_localize(None)
    for alias in (anchor, anchor[:-1] if anchor.endswith("E") else None):
        if alias is None:
            continue
        try:
            return naive.to_period(alias).to_timestamp().tz_localize("UTC")
        except (ValueError, TypeError):
            continue
    raise InvalidParameterError(
        message("anchor", caller, "None, a pandas offset alias (e.g. 'D', '4h', 'W', 'ME') or an array of "
                "session labels", anchor, "See pandas 'offset aliases'.")
    )


def session_labels(template: Any, anchor: Any, *, caller: str = "vwap") -> np.ndarray:
    """Float64 session ids for :func:`vwap_nb` (a new session starts where the id changes).

    ``anchor`` None -> one session (all zeros); a pandas offset alias -> the start of the UTC
    period containing each timestamp of ``template``'s DatetimeIndex (as ns since the epoch);
    an array of labels (one per bar) -> their factorized codes.
    """
    n = len(template)
    if anchor is None:
        return np.zeros(n)
    if isinstance(anchor, str):
        index = getattr(template, "index", None)
        if not isinstance(index, pd.DatetimeIndex):
            raise InvalidParameterError(
                message("anchor", caller, "None or an array of session labels when the inputs carry no "
                        "DatetimeIndex", anchor,
                        "Pass Series/DataFrames indexed by time, or session labels (e.g. dates), one per bar.")
            )
        starts = _period_starts(index, anchor, caller)
        return starts.as_unit("ns").asi8.astype(np.float64)
    labels = anchor.to_numpy() if isinstance(anchor, pd.Series | pd.Index) else np.asarray(anchor)
    if labels.ndim != 1 or len(labels) != n:
        raise InvalidParameterError(
            message("anchor", caller, f"None, an offset alias or a 1-D array of {n} session labels",
                    f"an array of shape {labels.shape}")
        )
    codes, _ = pd.factorize(labels, use_na_sentinel=True)
    if (codes < 0).any():
        first = int(np.argmax(codes < 0))
        raise DataError(message("anchor", caller, "free of missing session labels", f"a missing label at bar {first}"))
    return codes.astype(np.float64)


# ---------------------------------------------------------------- pandas API
def obv(close: Any, volume: Any) -> Any:
    """On Balance Volume.

    Parameters
    ----------
    close : ndarray, Series or DataFrame
        Closing prices (one column per asset).
    volume : same type and shape as ``close``
        Traded volume.

    Returns
    -------
    Same type as ``close``
        Defined from the first bar (no warm-up).

    Raises
    ------
    DataError
        Non-numeric input, or ``close`` and ``volume`` of different lengths or indexes.
    InvalidParameterError
        ``close`` and ``volume`` of different shapes.

    Notes
    -----
    OBV_0 = V_0 (TA-Lib's convention), then OBV_t = OBV_{t-1} + sign(C_t - C_{t-1}) V_t
    (Granville 1963). Equals ``talib.OBV``. NaN bars (close or volume) are skipped: output NaN,
    state unchanged, which equals computing on the NaN-free rows and reindexing. A constant close
    keeps OBV at V_0.

    Examples
    --------
    >>> import numpy as np
    >>> obv(np.array([1.0, 2.0, 1.5, 1.5]), np.array([10.0, 20.0, 5.0, 7.0]))
    array([10., 30., 25., 25.])
    """
    return compute(OBV_SPEC, {"close": close, "volume": volume}, {})


def ad(high: Any, low: Any, close: Any, volume: Any) -> Any:
    """Chaikin Accumulation/Distribution line.

    Parameters
    ----------
    high, low, close : ndarray, Series or DataFrame
        Bar prices, aligned.
    volume : same type and shape
        Traded volume.

    Returns
    -------
    Same type as ``high``
        Defined from the first bar.

    Raises
    ------
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    AD_t = AD_{t-1} + ((C - L) - (H - C)) / (H - L) · V, adding nothing when H == L (so a constant
    series gives 0). Equals ``talib.AD``. NaN bars are skipped (output NaN, state unchanged).

    Examples
    --------
    >>> import numpy as np
    >>> ad(np.array([2.0, 3.0]), np.array([1.0, 1.0]), np.array([2.0, 1.5]), np.array([10.0, 4.0]))
    array([10.,  8.])
    """
    return compute(AD_SPEC, {"high": high, "low": low, "close": close, "volume": volume}, {})


def adosc(high: Any, low: Any, close: Any, volume: Any, fast: int = 3, slow: int = 10) -> Any:
    """Chaikin A/D oscillator: EMA(fast) - EMA(slow) of the A/D line.

    Parameters
    ----------
    high, low, close, volume : ndarray, Series or DataFrame
        Aligned bar data.
    fast : int, default 3
        Span of the fast EMA (>= 1).
    slow : int, default 10
        Span of the slow EMA (>= 1).

    Returns
    -------
    Same type as ``high``
        NaN for the first ``max(fast, slow) - 1`` bars (TA-Lib's lookback).

    Raises
    ------
    InvalidParameterError
        ``fast`` or ``slow`` not an integer >= 1.
    DataError
        Non-numeric or misaligned inputs.

    Notes
    -----
    Both EMAs use alpha = 2 / (span + 1) and, unlike :func:`ema`, are seeded with the first A/D
    value (TA-Lib's ADOSC), so this equals ``talib.ADOSC``. NaN bars are skipped. Constant
    series: 0. Input shorter than the lookback: all NaN.

    Examples
    --------
    >>> import numpy as np
    >>> h = np.array([2.0, 3.0, 4.0]); l = h - 1.0; c = h; v = np.ones(3)
    >>> adosc(h, l, c, v, 1, 2).round(4).tolist()
    [nan, 0.3333, 0.4444]
    """
    fast = check_int("fast", fast, caller="adosc", minimum=1)
    slow = check_int("slow", slow, caller="adosc", minimum=1)
    return compute(ADOSC_SPEC, {"high": high, "low": low, "close": close, "volume": volume},
                   {"fast": fast, "slow": slow})


def vwap(high: Any, low: Any, close: Any, volume: Any, *, anchor: Any = None) -> Any:
    """Volume-weighted average price, cumulative or restarted every session.

    Parameters
    ----------
    high, low, close, volume : ndarray, Series or DataFrame
        Aligned bar data.
    anchor : None, str or array-like, default None
        None: one cumulative VWAP from the first bar. A pandas offset alias (``"D"`` = UTC day,
        ``"4h"``, ``"W"``, ``"ME"``/``"M"`` ...): restart at the start of every such UTC period; needs
        Series/DataFrame inputs with a DatetimeIndex (naive timestamps are taken as UTC; fixed
        frequencies are aligned to the epoch, calendar ones to pandas periods). An array of
        session labels, one per bar: restart wherever the label changes.

    Returns
    -------
    Same type as ``high``
        Defined from the first bar of each session.

    Raises
    ------
    InvalidParameterError
        Unknown ``anchor`` alias, an alias without a DatetimeIndex, labels of the wrong length.
    DataError
        Non-numeric or misaligned inputs; missing session labels.

    Notes
    -----
    VWAP_t = Σ_{s in session, s <= t} TP_s V_s / Σ V_s with typical price TP = (H + L + C) / 3.
    Sessions enter the kernel (:func:`vwap_nb`) as a float64 array of session ids, see
    :func:`session_labels`. NaN bars add nothing (output NaN); bars before any volume in the
    session give NaN (0/0). TA-Lib has no VWAP; tested against a pandas groupby-cumsum.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([1.0, 2.0, 4.0])
    >>> vwap(p, p, p, np.array([1.0, 1.0, 2.0]))
    array([1.  , 1.5 , 2.75])
    >>> vwap(p, p, p, np.array([1.0, 1.0, 2.0]), anchor=[0, 0, 1])
    array([1. , 1.5, 4. ])
    """
    session = session_labels(high, anchor, caller="vwap")
    shape = np.shape(high)
    if len(shape) == 2:
        session = np.repeat(session.reshape(-1, 1), shape[1], axis=1)
    return compute(VWAP_SPEC, {"high": high, "low": low, "close": close, "volume": volume, "session": session}, {})


# ---------------------------------------------------------------- streaming twins
class OBV(Stream):
    """Streaming :func:`obv`: ``OBV().update(close, volume) -> value``."""

    def __init__(self) -> None:
        super().__init__(OBV_SPEC, {})


class AD(Stream):
    """Streaming :func:`ad`: ``AD().update(high, low, close, volume) -> value``."""

    def __init__(self) -> None:
        super().__init__(AD_SPEC, {})


class ADOSC(Stream):
    """Streaming :func:`adosc`: ``ADOSC(fast, slow).update(high, low, close, volume) -> value``."""

    def __init__(self, fast: int = 3, slow: int = 10) -> None:
        fast = check_int("fast", fast, caller="ADOSC", minimum=1)
        slow = check_int("slow", slow, caller="ADOSC", minimum=1)
        super().__init__(ADOSC_SPEC, {"fast": fast, "slow": slow})


class VWAP(Stream):
    """Streaming :func:`vwap`: ``VWAP(anchor=None).update(high, low, close, volume, time=None)``.

    With an ``anchor`` alias every update needs the bar's ``time`` (a timestamp; naive = UTC);
    the session restarts when the period containing ``time`` changes, as in batch mode.
    """

    def __init__(self, anchor: str | None = None) -> None:
        if anchor is not None and not isinstance(anchor, str):
            raise InvalidParameterError(message("anchor", "VWAP", "None or a pandas offset alias", anchor))
        if anchor is not None:
            _period_starts(pd.DatetimeIndex([pd.Timestamp(0, tz="UTC")]), anchor, "VWAP")
        self.anchor = anchor
        super().__init__(VWAP_SPEC, {})
        self.params = {"anchor": anchor}

    def update(self, *values: Any, time: Any = None) -> Any:  # type: ignore[override]
        """Feed one bar ``(high, low, close, volume)``; ``time`` is required with an anchor."""
        if len(values) == 5 and time is None:
            time = values[4]
            values = values[:4]
        if self.anchor is None:
            key = 0.0
        else:
            if time is None:
                raise InvalidParameterError(
                    message("time", "VWAP.update", "a timestamp when `anchor` is set", time,
                            "Pass time=<bar timestamp>.")
                )
            ts = pd.Timestamp(time)
            start = _period_starts(pd.DatetimeIndex([ts]), self.anchor, "VWAP")
            key = float(start.as_unit("ns").asi8[0])
        return super().update(*values, key)

"""Moving averages (TA-Lib's "overlap studies")."""

from __future__ import annotations

from typing import Any

import numpy as np

from quantlab._jit import njit
from quantlab.indicators._api import Spec, Stream, compute, window_list

__all__ = ["sma", "ema", "SMA", "EMA", "sma_nb", "ema_nb"]


# ---------------------------------------------------------------- kernels
@njit
def sma_nb(x, window, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; NaN until `window` valid values; NaN policy of pandas
    rolling(window).mean(). Equals talib.SMA on NaN-free input.

    state: [bars seen, running sum, NaNs in window, ring buffer of the last `window` inputs].
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
        v_nan = v != v
        old_nan = old != old
        nans += np.int64(v_nan) - np.int64(old_nan)
        total += (0.0 if v_nan else v) - (0.0 if old_nan else old)
        out[i] = total * inv if (k + 1 >= window and nans == 0) else np.nan
    for i in range(head, n):  # steady state: branch-free NaN bookkeeping
        v = x[i]
        old = x[i - window]
        v_nan = v != v
        old_nan = old != old
        nans += np.int64(v_nan) - np.int64(old_nan)
        total += (0.0 if v_nan else v) - (0.0 if old_nan else old)
        out[i] = total * inv if nans == 0 else np.nan
    for i in range(max(0, n - window), n):
        buf[(seen + i) % window] = x[i]
    state[0] = seen + n
    state[1] = total
    state[2] = nans


@njit
def ema_nb(x, window, alpha, state, out):  # pragma: no cover - numba
    """float64[:] -> out float64[:]; exponential smoothing with factor `alpha`, seeded with the
    simple mean of the first `window` valid values (TA-Lib's convention: equals talib.EMA for
    alpha = 2/(window+1), and Wilder's smoothing for alpha = 1/window). NaN bars are skipped.

    state: [valid values seen, seed sum, previous value].
    """
    seen = state[0]
    seed = state[1]
    prev = state[2]
    for i in range(x.shape[0]):
        v = x[i]
        if np.isnan(v):
            out[i] = np.nan
            continue
        seen += 1.0
        if seen < window:
            seed += v
            out[i] = np.nan
        elif seen == window:
            prev = (seed + v) / window
            out[i] = prev
        else:
            prev = prev + alpha * (v - prev)
            out[i] = prev
    state[0] = seen
    state[1] = seed
    state[2] = prev


@njit
def _ema_window_nb(x, window, state, out):  # pragma: no cover - numba
    ema_nb(x, window, 2.0 / (window + 1.0), state, out)


# ---------------------------------------------------------------- specs
SMA_SPEC = Spec("sma", sma_nb, ("close",), ("window",), lambda window: 3 + window)
EMA_SPEC = Spec("ema", _ema_window_nb, ("close",), ("window",), lambda window: 3)


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
    NaN policy: pandas ``rolling(window).mean()``. Shorter input than ``window``: all NaN.

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
    NaN bars are skipped (output NaN, state unchanged).

    Examples
    --------
    >>> import numpy as np
    >>> ema(np.array([1.0, 2.0, 3.0, 4.0]), 3)
    array([nan, nan, 2. , 3. ])
    """
    return compute(EMA_SPEC, {"close": close}, {"window": window_list("window", window, caller="ema")})


# ---------------------------------------------------------------- streaming twins
class SMA(Stream):
    """Streaming :func:`sma`: ``SMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(SMA_SPEC, {"window": window_list("window", window, caller="SMA")})


class EMA(Stream):
    """Streaming :func:`ema`: ``EMA(window).update(close) -> value``."""

    def __init__(self, window: int = 30) -> None:
        super().__init__(EMA_SPEC, {"window": window_list("window", window, caller="EMA")})

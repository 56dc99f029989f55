"""Shared state-carrying rolling kernels (building blocks of several indicators)."""

from __future__ import annotations

import numpy as np

from quantlab._jit import njit

__all__ = ["rolling_extreme_nb", "rolling_extreme_state_size"]


def rolling_extreme_state_size(window: int) -> int:
    """State length of :func:`rolling_extreme_nb` for ``window``."""
    return 4 + window


@njit
def _better(b, ext, is_max, ties_win):  # pragma: no cover - numba
    if is_max:
        return b > ext or (ties_win and b == ext)
    return b < ext or (ties_win and b == ext)


@njit
def rolling_extreme_nb(x, window, is_max, rescan_newest, state, out_value, out_age):  # pragma: no cover - numba
    """Rolling max (``is_max``) or min over ``window`` bars, and bars since it occurred.

    float64[:] -> out_value, out_age float64[:]; NaN until `window` values and while a NaN is in
    the window (pandas ``rolling(window).max()`` policy; out_value equals it). When the extreme
    leaves the window the window is rescanned (TA-Lib's method: amortized O(1) on typical data).
    Ties: a new bar equal to the extreme becomes the extreme (TA-Lib's ``>=``); on a rescan the
    oldest tied bar wins unless ``rescan_newest`` (TA-Lib's MAX/MIN/MAXINDEX rescan with ``>``,
    AROON with ``>=``).

    state: [bars seen, extreme, absolute index of extreme, NaNs in window, ring(window)] where
    the ring holds the last `window` inputs at slot (absolute bar index % window).
    """
    n = x.shape[0]
    seen = int(state[0])
    ext = state[1]
    ext_k = int(state[2]) if seen > 0 else -1
    nans = int(state[3])
    buf = state[4:]
    for i in range(n):
        k = seen + i
        v = x[i]
        if k >= window:
            old = x[i - window] if i >= window else buf[(k - window) % window]
            if old != old:
                nans -= 1
        if v != v:
            nans += 1
        if ext_k <= k - window:  # the extreme left the window (or none yet): rescan oldest -> newest
            ext_k = -1
            first = k - window + 1 if k - window + 1 > 0 else 0
            for j in range(first, min(seen, k + 1)):  # bars of previous calls, from the ring
                b = buf[j % window]
                if b == b and (ext_k < 0 or _better(b, ext, is_max, rescan_newest)):
                    ext = b
                    ext_k = j
            for j in range(max(first, seen), k + 1):  # bars of this call, from x
                b = x[j - seen]
                if b == b and (ext_k < 0 or _better(b, ext, is_max, rescan_newest)):
                    ext = b
                    ext_k = j
        elif v == v and _better(v, ext, is_max, True):
            ext = v
            ext_k = k
        if k + 1 >= window and nans == 0 and ext_k >= 0:
            out_value[i] = ext
            out_age[i] = k - ext_k
        else:
            out_value[i] = np.nan
            out_age[i] = np.nan
    for i in range(max(0, n - window), n):
        buf[(seen + i) % window] = x[i]
    state[0] = seen + n
    state[1] = ext
    state[2] = ext_k
    state[3] = nans

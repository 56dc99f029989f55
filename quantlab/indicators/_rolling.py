"""Shared state-carrying rolling kernels (building blocks of several indicators)."""

from __future__ import annotations

import numpy as np

from quantlab._jit import njit

__all__ = ["rolling_extreme_nb", "rolling_extreme_state_size"]


def rolling_extreme_state_size(window: int) -> int:
    """State length of :func:`rolling_extreme_nb` for ``window``."""
    return 5 + window


@njit
def rolling_extreme_nb(x, window, is_max, rescan_newest, state, out_value, out_age):  # pragma: no cover - numba
    """Rolling max (``is_max``) or min over ``window`` bars, and bars since it occurred.

    float64[:] -> out_value, out_age float64[:]; NaN until `window` values and while a NaN is in
    the window (pandas ``rolling(window).max()`` policy; out_value equals it). When the extreme
    leaves the window the window is rescanned (TA-Lib's method: amortized O(1) on typical data).
    Ties: a new bar equal to the extreme becomes the extreme (TA-Lib's ``>=``); on a rescan the
    oldest tied bar wins unless ``rescan_newest`` (TA-Lib's MAX/MIN/MAXINDEX rescan with ``>``,
    AROON with ``>=``).

    state: [bars seen, extreme, absolute index of extreme, NaNs in window, ring position, ring(window)].
    """
    seen = int(state[0])
    ext = state[1]
    ext_k = int(state[2])
    nans = int(state[3])
    pos = int(state[4])
    buf = state[5:]
    if seen == 0:
        ext_k = -1
    for i in range(x.shape[0]):
        k = seen + i
        v = x[i]
        if k >= window and buf[pos] != buf[pos]:
            nans -= 1
        buf[pos] = v
        pos += 1
        if pos == window:
            pos = 0
        if v != v:
            nans += 1
        if ext_k <= k - window:  # the extreme left the window (or none yet): rescan oldest -> newest
            ext_k = -1
            first = k - window + 1 if k - window + 1 > 0 else 0
            idx = (pos - (k + 1 - first)) % window  # ring slot of bar `first`; then wrap by hand
            for j in range(first, k + 1):
                b = buf[idx]
                idx += 1
                if idx == window:
                    idx = 0
                if b != b:
                    continue
                better = (b > ext if is_max else b < ext) or (rescan_newest and b == ext)
                if ext_k < 0 or better:
                    ext = b
                    ext_k = j
        elif v == v and (v >= ext if is_max else v <= ext):
            ext = v
            ext_k = k
        if k + 1 >= window and nans == 0 and ext_k >= 0:
            out_value[i] = ext
            out_age[i] = k - ext_k
        else:
            out_value[i] = np.nan
            out_age[i] = np.nan
    state[0] = seen + x.shape[0]
    state[1] = ext
    state[2] = ext_k
    state[3] = nans
    state[4] = pos

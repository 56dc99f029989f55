"""Numba kernels of the metrics: one pass (or two) over a (n_bars, n_columns) float64 array.

All loop over rows outside and columns inside, so a C-contiguous (time-major) array is read
sequentially whatever the number of columns, and no temporary of the input's size is made.
NaN is a missing observation: skipped by the statistics, carried flat by the equity path.
"""

from __future__ import annotations

import numpy as np

from quantlab._jit import njit

__all__ = ["moments_nb", "threshold_nb", "drawdown_stats_nb", "drawdown_series_nb"]

# rows of moments_nb's output
COUNT, MEAN, M2, M3, M4, MIN, MAX = range(7)
# rows of threshold_nb's output
T_COUNT, T_MEAN, T_UP, T_DOWN, T_DOWN_SQ = range(5)
# rows of drawdown_stats_nb's output
D_COUNT, D_FINAL, D_MAX, D_SUM, D_SUM_SQ, D_DURATION, D_PEAK_POS, D_END_POS = range(8)


@njit
def moments_nb(x, order):
    """float64[:, :] -> float64[7, n_cols]: count, mean, Σ(x−mean)^2, ^3 (order≥3), ^4 (order≥4), min, max over non-NaN values.

    Equals ``np.nanmean`` and ``np.nansum((x - mean)**k)`` per column (two-pass, exact zero when min == max).
    """
    n, m = x.shape
    out = np.zeros((7, m))
    total = np.zeros(m)
    for j in range(m):
        out[MIN, j] = np.inf
        out[MAX, j] = -np.inf
    for i in range(n):
        for j in range(m):
            v = x[i, j]
            if v == v:
                out[COUNT, j] += 1.0
                total[j] += v
                if v < out[MIN, j]:
                    out[MIN, j] = v
                if v > out[MAX, j]:
                    out[MAX, j] = v
    for j in range(m):
        if out[COUNT, j] > 0:
            out[MEAN, j] = total[j] / out[COUNT, j]
        else:
            out[MEAN, j] = np.nan
            out[MIN, j] = np.nan
            out[MAX, j] = np.nan
    for i in range(n):
        for j in range(m):
            v = x[i, j]
            if v == v:
                d = v - out[MEAN, j]
                d2 = d * d
                out[M2, j] += d2
                if order >= 3:
                    out[M3, j] += d2 * d
                if order >= 4:
                    out[M4, j] += d2 * d2
    for j in range(m):
        if out[COUNT, j] > 0 and out[MIN, j] == out[MAX, j]:
            out[M2, j] = 0.0
            out[M3, j] = 0.0
            out[M4, j] = 0.0
    return out


@njit
def threshold_nb(x, threshold):
    """float64[:, :], float -> float64[5, n_cols]: count, mean(x−t), Σmax(x−t,0), Σmax(t−x,0), Σmin(x−t,0)^2 over non-NaN values."""
    n, m = x.shape
    out = np.zeros((5, m))
    for i in range(n):
        for j in range(m):
            v = x[i, j]
            if v == v:
                d = v - threshold
                out[T_COUNT, j] += 1.0
                out[T_MEAN, j] += d
                lo = min(d, 0.0)
                out[T_UP, j] += d - lo
                out[T_DOWN, j] -= lo
                out[T_DOWN_SQ, j] += lo * lo
    for j in range(m):
        if out[T_COUNT, j] > 0:
            out[T_MEAN, j] /= out[T_COUNT, j]
        else:
            out[T_MEAN, j] = np.nan
    return out


@njit
def drawdown_stats_nb(x):
    """float64[:, :] -> float64[8, n_cols]: count, final equity, min drawdown, Σdd, Σdd^2, longest peak-to-recovery span (positions), its peak and end positions.

    Equity starts at 1 (position 0); bar i is position i + 1; drawdown = equity / running peak − 1,
    equal to ``(1 + r).cumprod() / (1 + r).cumprod().cummax().clip(lower=1) − 1``.
    """
    n, m = x.shape
    out = np.zeros((8, m))
    equity = np.ones(m)
    peak = np.ones(m)
    peak_pos = np.zeros(m)
    under = np.zeros(m, dtype=np.bool_)
    for i in range(n):
        pos = i + 1.0
        for j in range(m):
            v = x[i, j]
            if v == v:
                equity[j] *= 1.0 + v
                out[D_COUNT, j] += 1.0
                dd = equity[j] / peak[j] - 1.0
                if dd < 0.0:
                    out[D_SUM, j] += dd
                    out[D_SUM_SQ, j] += dd * dd
                    if dd < out[D_MAX, j]:
                        out[D_MAX, j] = dd
            if equity[j] < peak[j]:
                under[j] = True
                span = pos - peak_pos[j]
                if span > out[D_DURATION, j]:
                    out[D_DURATION, j] = span
                    out[D_PEAK_POS, j] = peak_pos[j]
                    out[D_END_POS, j] = pos
            else:
                if under[j]:
                    span = pos - peak_pos[j]
                    if span > out[D_DURATION, j]:
                        out[D_DURATION, j] = span
                        out[D_PEAK_POS, j] = peak_pos[j]
                        out[D_END_POS, j] = pos
                    under[j] = False
                peak[j] = equity[j]
                peak_pos[j] = pos
    for j in range(m):
        out[D_FINAL, j] = equity[j]
        if out[D_COUNT, j] == 0:
            out[D_FINAL, j] = np.nan
            out[D_MAX, j] = np.nan
    return out


@njit
def drawdown_series_nb(x):
    """float64[:, :] -> float64[:, :] drawdown at each bar (NaN where x is NaN), equity starting at 1.

    Equals ``(1 + r).cumprod() / (1 + r).cumprod().cummax().clip(lower=1) − 1`` with NaN returns
    treated as flat.
    """
    n, m = x.shape
    out = np.empty((n, m))
    equity = np.ones(m)
    peak = np.ones(m)
    for i in range(n):
        for j in range(m):
            v = x[i, j]
            if v == v:
                equity[j] *= 1.0 + v
                if equity[j] > peak[j]:
                    peak[j] = equity[j]
                out[i, j] = equity[j] / peak[j] - 1.0
            else:
                out[i, j] = np.nan
    return out

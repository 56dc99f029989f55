"""Numba kernels of :mod:`quantlab.risk.var`: rolling quantile / tail mean, rolling moments, EWMA.

Conventions shared by every kernel here
---------------------------------------
* Input ``x`` is float64 ``(n, k)``: time on axis 0, one column per series.
* Output row ``t`` is a **forecast for bar t from bars ``t - window .. t - 1`` only** (the
  window ends one bar before t), so ``out[0]`` is always NaN and bar t's own value never
  enters its forecast.
* NaN is a missing observation: it occupies its bar in the window (the window counts
  *bars*) but is skipped in the statistic; a forecast needs at least ``min_periods`` non-NaN
  values in its window, else it is NaN. This is pandas' ``rolling(window, min_periods)``
  policy, shifted by one bar.
"""

from __future__ import annotations

import math

import numpy as np

from quantlab._jit import njit

__all__ = [
    "rolling_quantile_tail_nb",
    "rolling_moments_nb",
    "ewma_variance_nb",
]


# ----------------------------------------------------------------------------- indexed heaps
# Two heaps over the values of the window, addressed by ring slot (bar index % window):
#   lower: the `lo + 1` smallest values, upper: the rest, so the largest of the lower heap is the
# lo-th order statistic and the smallest of the upper heap the (lo + 1)-th. Both are min-heaps
# of keys stored inline (the lower heap keys values negated, an exact operation), with the slot
# beside each key and `pos[slot]` its index in its heap; `side[slot]` is 0 (empty or NaN),
# 1 (lower) or 2 (upper). Every operation is O(log window) on arrays of `window` entries.

@njit
def _sift_up(keys, slots, pos, i):  # pragma: no cover - numba
    key = keys[i]
    slot = slots[i]
    while i > 0:
        parent = (i - 1) >> 1
        pkey = keys[parent]
        if pkey <= key:
            break
        pslot = slots[parent]
        keys[i] = pkey
        slots[i] = pslot
        pos[pslot] = i
        i = parent
    keys[i] = key
    slots[i] = slot
    pos[slot] = i


@njit
def _sift_down(keys, slots, pos, i, size):  # pragma: no cover - numba
    key = keys[i]
    slot = slots[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        ckey = keys[child]
        right = child + 1
        if right < size and keys[right] < ckey:
            child = right
            ckey = keys[right]
        if key <= ckey:
            break
        cslot = slots[child]
        keys[i] = ckey
        slots[i] = cslot
        pos[cslot] = i
        i = child
    keys[i] = key
    slots[i] = slot
    pos[slot] = i


@njit
def _push(keys, slots, pos, size, key, slot):  # pragma: no cover - numba
    keys[size] = key
    slots[size] = slot
    _sift_up(keys, slots, pos, size)
    return size + 1


@njit
def _remove_at(keys, slots, pos, size, i):  # pragma: no cover - numba
    """Remove the entry at heap index ``i``; return the new size."""
    size -= 1
    if i != size:
        keys[i] = keys[size]
        slots[i] = slots[size]
        pos[slots[i]] = i
        if i > 0 and keys[i] < keys[(i - 1) >> 1]:
            _sift_up(keys, slots, pos, i)
        else:
            _sift_down(keys, slots, pos, i, size)
    return size


@njit
def rolling_quantile_tail_nb(x, window, min_periods, alpha):  # pragma: no cover - numba
    """Rolling lower-tail quantile and tail mean of the previous ``window`` bars.

    float64 (n, k) -> (quantile, tail_mean) float64 (n, k), row t from rows t-window..t-1,
    NaN skipped (module policy). quantile equals
    ``pd.Series(x).rolling(window, min_periods).quantile(alpha, interpolation="linear").shift(1)``;
    tail_mean is the mean of the ``floor((m - 1) * alpha) + 1`` smallest of the m values (the
    ones at or below the quantile; ``metrics.es_historical``'s rule). O(log window) per bar:
    two indexed heaps split at the quantile, rebalanced as values enter and leave.
    """
    n, k = x.shape
    w = window
    q_out = np.full((n, k), np.nan)
    m_out = np.full((n, k), np.nan)
    side = np.zeros(w, dtype=np.int8)
    pos = np.zeros(w, dtype=np.int64)
    low_keys = np.empty(w)  # minus the values
    low_slots = np.zeros(w, dtype=np.int64)
    high_keys = np.empty(w)
    high_slots = np.zeros(w, dtype=np.int64)
    for j in range(k):
        side[:] = 0
        n_low = 0
        n_high = 0
        low_sum = 0.0
        since_exact = 0
        for t in range(1, n):
            s = (t - 1) % w
            v = x[t - 1, j]
            old = side[s]  # the value leaving the window (bar t-1-w) shares its slot
            dest = 0
            if v == v:
                # lower when v <= the lower heap's largest (taken before the removal: still a
                # valid split point, every lower value <= it <= every upper value)
                dest = 1 if n_low > 0 and v <= -low_keys[0] else 2
            if old != 0 and old == dest:  # the common case: one in-place replacement
                i = pos[s]
                if old == 1:
                    low_sum += low_keys[i] + v
                    low_keys[i] = -v
                    if i > 0 and low_keys[i] < low_keys[(i - 1) >> 1]:
                        _sift_up(low_keys, low_slots, pos, i)
                    else:
                        _sift_down(low_keys, low_slots, pos, i, n_low)
                else:
                    high_keys[i] = v
                    if i > 0 and high_keys[i] < high_keys[(i - 1) >> 1]:
                        _sift_up(high_keys, high_slots, pos, i)
                    else:
                        _sift_down(high_keys, high_slots, pos, i, n_high)
            else:
                if old == 1:
                    low_sum += low_keys[pos[s]]
                    n_low = _remove_at(low_keys, low_slots, pos, n_low, pos[s])
                elif old == 2:
                    n_high = _remove_at(high_keys, high_slots, pos, n_high, pos[s])
                side[s] = dest
                if dest == 1:
                    n_low = _push(low_keys, low_slots, pos, n_low, -v, s)
                    low_sum += v
                elif dest == 2:
                    n_high = _push(high_keys, high_slots, pos, n_high, v, s)
            m = n_low + n_high
            if m == 0:
                continue
            h = (m - 1) * alpha
            lo = int(math.floor(h))
            target = lo + 1
            while n_low > target:  # move the largest of the lower heap up
                top = low_slots[0]
                v_top = -low_keys[0]
                n_low = _remove_at(low_keys, low_slots, pos, n_low, 0)
                low_sum -= v_top
                n_high = _push(high_keys, high_slots, pos, n_high, v_top, top)
                side[top] = 2
            while n_low < target:  # move the smallest of the upper heap down
                top = high_slots[0]
                v_top = high_keys[0]
                n_high = _remove_at(high_keys, high_slots, pos, n_high, 0)
                n_low = _push(low_keys, low_slots, pos, n_low, -v_top, top)
                side[top] = 1
                low_sum += v_top
            since_exact += 1
            if since_exact >= w:  # bound the drift of the running sum: recompute it exactly
                low_sum = 0.0
                for i in range(n_low):
                    low_sum -= low_keys[i]
                since_exact = 0
            if m < min_periods:
                continue
            v_lo = -low_keys[0]
            frac = h - lo
            if frac > 0.0 and n_high > 0:
                q_out[t, j] = v_lo + (high_keys[0] - v_lo) * frac
            else:
                q_out[t, j] = v_lo
            m_out[t, j] = low_sum / n_low
    return q_out, m_out


# ----------------------------------------------------------------------------- moments
@njit
def rolling_moments_nb(x, window, min_periods):  # pragma: no cover - numba
    """Rolling mean, standard deviation (ddof=1), skewness and excess kurtosis of the previous
    ``window`` bars.

    float64 (n, k) -> four float64 (n, k), row t from rows t-window..t-1, NaN skipped (module
    policy); each equals pandas ``rolling(window, min_periods).mean() / .std() / .skew() /
    .kurt()`` shifted by one bar (the bias-corrected G1 and G2 of scipy's ``skew``/``kurtosis``
    with ``bias=False``). Exact two-pass sums, O(window) per bar. std needs 2 values, skew 3,
    kurt 4 (NaN below); a window of equal values has std 0 and skew = kurt = 0.
    """
    n, k = x.shape
    w = window
    mean = np.full((n, k), np.nan)
    std = np.full((n, k), np.nan)
    skew = np.full((n, k), np.nan)
    kurt = np.full((n, k), np.nan)
    for j in range(k):
        for t in range(1, n):
            start = t - w if t > w else 0
            m = 0
            total = 0.0
            for i in range(start, t):
                v = x[i, j]
                if v == v:
                    total += v
                    m += 1
            if m < min_periods or m == 0:
                continue
            mu = total / m
            s2 = 0.0
            s3 = 0.0
            s4 = 0.0
            for i in range(start, t):
                v = x[i, j]
                if v == v:
                    d = v - mu
                    d2 = d * d
                    s2 += d2
                    s3 += d2 * d
                    s4 += d2 * d2
            mean[t, j] = mu
            if m >= 2:
                std[t, j] = math.sqrt(s2 / (m - 1))
            m2 = s2 / m
            # equal values up to rounding: no shape to estimate (pandas' own cut-off is similar)
            if m2 <= 1e-14 * (mu * mu + 1e-300):
                if m >= 3:
                    skew[t, j] = 0.0
                if m >= 4:
                    kurt[t, j] = 0.0
                continue
            if m >= 3:
                g1 = (s3 / m) / m2 ** 1.5
                skew[t, j] = math.sqrt(m * (m - 1.0)) / (m - 2.0) * g1
            if m >= 4:
                g2 = (s4 / m) / (m2 * m2) - 3.0
                kurt[t, j] = ((m + 1.0) * g2 + 6.0) * (m - 1.0) / ((m - 2.0) * (m - 3.0))
    return mean, std, skew, kurt


# ----------------------------------------------------------------------------- EWMA
@njit
def ewma_variance_nb(x, lam, window):  # pragma: no cover - numba
    """RiskMetrics variance forecast ``s2_t = lam * s2_{t-1} + (1 - lam) * x_{t-1}^2``.

    float64 (n, k) -> float64 (n, k). NaN before bar ``window``; at bar ``window`` seeded with
    the mean of the squared non-NaN values of bars 0..window-1; a NaN return leaves the
    variance unchanged (a column with no value yet is seeded by its first value squared).
    Equals that plain recursion (the test writes it in Python).
    """
    n, k = x.shape
    out = np.full((n, k), np.nan)
    for j in range(k):
        if n <= window:
            continue
        total = 0.0
        m = 0
        for i in range(window):
            v = x[i, j]
            if v == v:
                total += v * v
                m += 1
        s2 = total / m if m > 0 else np.nan
        out[window, j] = s2
        for t in range(window + 1, n):
            v = x[t - 1, j]
            if v == v:
                if s2 == s2:
                    s2 = lam * s2 + (1.0 - lam) * v * v
                else:
                    s2 = v * v
            out[t, j] = s2
    return out

"""Shared oracle helpers for indicator tests (TA-Lib parity, streaming, input types)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

import quantlab.data as qd
from quantlab._jit import njit

RTOL = 1e-9  # ../shared/REFERENCES.md: <= 1e-9 relative after TA-Lib's lookback
DATASETS = ("aapl", "msft", "eurusd", "sp500", "walk1", "walk2")


@cache
def ohlcv(name: str) -> pd.DataFrame:
    """A bundled dataset, or a seeded random walk with consistent OHLC ("walkN")."""
    if name.startswith("walk"):
        return random_walk(3000, seed=int(name[4:]))
    return qd.load(name)


def random_walk(n: int, seed: int, start: float = 100.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[start], close[:-1]]) * np.exp(rng.normal(0, 0.002, n))
    spread = np.abs(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.005, n)))
    volume = rng.integers(1_000, 100_000, n).astype(float)
    index = pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def assert_matches_talib(ours: np.ndarray, theirs: np.ndarray, *, rtol: float = RTOL, atol: float = 0.0) -> None:
    """NaN exactly where TA-Lib's output is NaN; elsewhere equal to ``rtol`` relative."""
    ours = np.asarray(ours, dtype=float)
    theirs = np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape
    nan_ours, nan_theirs = np.isnan(ours), np.isnan(theirs)
    if not np.array_equal(nan_ours, nan_theirs):
        first = int(np.argmax(nan_ours != nan_theirs))
        raise AssertionError(f"NaN pattern differs first at bar {first}: ours={ours[first]} talib={theirs[first]}")
    np.testing.assert_allclose(ours[~nan_ours], theirs[~nan_theirs], rtol=rtol, atol=atol)


def assert_stream_equals_batch(stream, inputs: list[np.ndarray], batch) -> None:
    """Feed ``inputs`` bar by bar; every prefix's value equals the batch output (exactly or 1e-12)."""
    n = len(inputs[0])
    outs = [stream.update(*(a[i] for a in inputs)) for i in range(n)]
    if isinstance(batch, tuple | list):
        for k, b in enumerate(batch):
            got = np.array([list(o.values())[k] for o in outs])
            np.testing.assert_allclose(got, b, rtol=1e-12, equal_nan=True)
    else:
        np.testing.assert_allclose(np.array(outs, dtype=float), batch, rtol=1e-12, equal_nan=True)


# ---- reference rolling extreme: TA-Lib's rescan algorithm (the oracle of the block kernels)

def rolling_extreme_state_size(window: int) -> int:
    """State length of :func:`rolling_extreme_nb` for ``window``."""
    return 4 + window


@njit
def _better(b, ext, is_max, ties_win):  # pragma: no cover
    if is_max:
        return b > ext or (ties_win and b == ext)
    return b < ext or (ties_win and b == ext)


@njit
def rolling_extreme_nb(x, window, is_max, rescan_newest, state, out_value, out_age):  # pragma: no cover
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



"""Shared oracle helpers for indicator tests (TA-Lib parity, streaming, input types)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

import quantlab.data as qd

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

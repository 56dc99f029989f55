"""WMA, DEMA, TEMA, TRIMA, KAMA (TA-Lib parity), HMA and VWMA (pandas oracles): NaN policy,
streaming, types, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.errors import DataError, InvalidParameterError
from quantlab.indicators import overlap
from quantlab.indicators.overlap import (
    DEMA,
    HMA,
    KAMA,
    TEMA,
    TRIMA,
    VWMA,
    WMA,
    dema,
    hma,
    kama,
    tema,
    trima,
    vwma,
    wma,
)
from tests.indicators.oracle import (
    DATASETS,
    assert_matches_talib,
    assert_stream_equals_batch,
    ohlcv,
)

PAIRS = [(wma, talib.WMA), (dema, talib.DEMA), (tema, talib.TEMA), (trima, talib.TRIMA), (kama, talib.KAMA)]


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 3, 14, 30, 51])
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_talib_parity(name, window, ours, theirs):
    close = ohlcv(name)["close"].to_numpy()
    assert_matches_talib(ours(close, window), theirs(close, timeperiod=window))


@pytest.mark.parametrize(("ours", "theirs"), PAIRS[:4], ids=[p[0].__name__ for p in PAIRS[:4]])
def test_window_one_is_identity_like_talib(ours, theirs):
    close = ohlcv("walk1")["close"].to_numpy()
    assert_matches_talib(ours(close, 1), theirs(close, timeperiod=1))


def wma_pandas(s: pd.Series, n: int) -> pd.Series:
    w = np.arange(1.0, n + 1)
    return s.rolling(n).apply(lambda a: np.dot(a, w) / w.sum(), raw=True)


@pytest.mark.parametrize("name", ["aapl", "eurusd", "walk2"])
@pytest.mark.parametrize("window", [2, 4, 9, 16, 20])
def test_hma_matches_pandas_formulation(name, window):
    s = ohlcv(name)["close"].iloc[:1500]
    half, root = window // 2, math.isqrt(window)
    expected = wma_pandas(2 * wma_pandas(s, half) - wma_pandas(s, window), root)
    got = hma(s, window)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, equal_nan=True)
    assert got.isna().equals(expected.isna())


@pytest.mark.parametrize("name", ["msft", "sp500", "walk1"])
@pytest.mark.parametrize("window", [1, 5, 20])
def test_vwma_matches_pandas(name, window):
    d = ohlcv(name).copy()
    d.iloc[[40, 41], 3] = np.nan
    d.iloc[[300], 4] = np.nan
    expected = (d["close"] * d["volume"]).rolling(window).sum() / d["volume"].rolling(window).sum()
    got = vwma(d["close"], d["volume"], window)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, equal_nan=True)
    assert got.isna().equals(expected.isna())


def test_window_nan_policy_is_pandas_rolling():
    x = ohlcv("walk1")["close"].to_numpy().copy()
    x[[10, 11, 300]] = np.nan
    s = pd.Series(x)
    np.testing.assert_allclose(wma(x, 7), wma_pandas(s, 7), rtol=1e-9, equal_nan=True)
    tri = s.rolling(3).mean().rolling(4).mean()  # trima(6) = SMA(SMA(x, 3), 4)
    np.testing.assert_allclose(trima(x, 6), tri, rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("f", [dema, tema, kama])
def test_recursive_skip_nan_bars(f):
    s = ohlcv("walk2")["close"].iloc[:500].copy()
    s.iloc[[5, 100, 101, 400]] = np.nan
    pd.testing.assert_series_equal(f(s, 10), f(s.dropna(), 10).reindex(s.index))


@pytest.mark.parametrize("f", [wma, dema, tema, trima, kama, hma])
def test_short_constant_and_integer_input(f):
    assert np.isnan(f(np.arange(5.0), 10)).all()
    with np.errstate(all="raise"):
        const = f(np.full(120, 7.0), 10)
    valid = const[~np.isnan(const)]
    assert valid.size > 0
    np.testing.assert_allclose(valid, 7.0, rtol=1e-14)
    np.testing.assert_array_equal(f(np.arange(80), 5), f(np.arange(80, dtype=float), 5))


def test_vwma_zero_volume_window_is_nan():
    c = np.arange(1.0, 11.0)
    v = np.array([1.0, 1, 0, 0, 0, 2, 2, 2, 2, 2])
    out = vwma(c, v, 3)
    assert np.isnan(out[4]) and out[3] == 2.0 and out[5] == 6.0


def test_types_multicolumn_and_window_lists():
    df = ohlcv("walk1")[["open", "close"]]
    out = kama(df, 10)
    assert isinstance(out, pd.DataFrame) and out.columns.equals(df.columns) and out.index.equals(df.index)
    assert_matches_talib(out["open"].to_numpy(), talib.KAMA(df["open"].to_numpy(), 10))
    np.testing.assert_array_equal(out["close"].to_numpy(), kama(df["close"].to_numpy(), 10))
    many = wma(df["close"], [5, 10])
    np.testing.assert_array_equal(many[10].to_numpy(), wma(df["close"].to_numpy(), 10))
    vol = pd.DataFrame({"open": ohlcv("walk1")["volume"], "close": ohlcv("walk1")["volume"]})
    vw = vwma(df, vol, 5)
    np.testing.assert_array_equal(vw["open"].to_numpy(), vwma(df["open"].to_numpy(), vol["open"].to_numpy(), 5))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 150), window=st.integers(2, 25), seed=st.integers(0, 1000), nan=st.booleans())
def test_stream_equals_batch_every_prefix(n, window, seed, nan):
    rng = np.random.default_rng(seed)
    x = 100 + np.cumsum(rng.normal(size=n))
    v = rng.uniform(0, 10, n)
    if nan and n > 3:
        x[n // 2] = np.nan
    for cls, f in [(WMA, wma), (DEMA, dema), (TEMA, tema), (TRIMA, trima), (KAMA, kama), (HMA, hma)]:
        assert_stream_equals_batch(cls(window), [x], f(x, window))
    assert_stream_equals_batch(VWMA(window), [x, v], vwma(x, v, window))


def test_stream_long_run_crosses_recompute_points():
    x = ohlcv("walk1")["close"].to_numpy()[:2500]
    assert_stream_equals_batch(WMA(3), [x], wma(x, 3))
    assert_stream_equals_batch(KAMA(3), [x], kama(x, 3))


def run_in_chunks(spec, inputs, params, cuts):
    """Run ``spec.kernel`` on consecutive pieces of ``inputs`` (split at ``cuts``) with one state."""
    n = len(inputs[0])
    state = np.zeros(int(spec.state_size(*params)))
    outs = [np.full(n, -1.0) for _ in range(max(1, len(spec.outputs)))]
    for lo, hi in zip([0, *cuts], [*cuts, n], strict=True):
        spec.kernel(*[a[lo:hi] for a in inputs], *params, state, *[o[lo:hi] for o in outs])
    return outs


@pytest.mark.parametrize("window", [1, 3, 20])
@pytest.mark.parametrize(
    "spec",
    [overlap.SMA_SPEC, overlap.EMA_SPEC, overlap.WMA_SPEC, overlap.DEMA_SPEC, overlap.TEMA_SPEC,
     overlap.TRIMA_SPEC, overlap.KAMA_SPEC, overlap.HMA_SPEC],
)
def test_kernel_split_anywhere_equals_one_call(spec, window):
    """State carrying, bit for bit: the kernels' fast loops (which read the leaving bar from the
    input) and their general steps (which read it from the state's ring) must agree, also when
    NaNs stop and restart the fast loop and when a call starts mid-window."""
    if spec is overlap.HMA_SPEC and window < 2:
        return
    x = ohlcv("walk2")["close"].to_numpy()[:2000].copy()
    x[[100, 700, 701, 702, 1500]] = np.nan
    x[1000:1040] = np.nan  # a NaN run longer than every window
    whole = run_in_chunks(spec, [x], (window,), [])
    cuts = sorted(np.random.default_rng(window).choice(np.arange(1, 2000), 40, replace=False).tolist())
    for split in (cuts, list(range(1, 60)), [699, 700, 1001, 1039, 1041]):
        for a, b in zip(run_in_chunks(spec, [x], (window,), split), whole, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("window", [0, -3, 2.5, "10", True])
def test_bad_window(window):
    with pytest.raises(InvalidParameterError, match=r"`window` of wma\(\) must be an integer >= 1"):
        wma(np.arange(10.0), window)
    with pytest.raises(InvalidParameterError, match=r"`window` of KAMA\(\) must be an integer >= 1"):
        KAMA(window)


def test_hma_needs_window_two():
    with pytest.raises(InvalidParameterError, match=r"`window` of hma\(\) must be an integer >= 2"):
        hma(np.arange(10.0), 1)


def test_bad_data():
    d = ohlcv("walk1")
    with pytest.raises(DataError, match="numeric"):
        tema(pd.Series(["a", "b"]), 2)
    with pytest.raises(DataError, match="same length"):
        vwma(d["close"], d["volume"].iloc[:-1], 5)
    with pytest.raises(DataError, match="same index"):
        vwma(d["close"], d["volume"].shift(1, freq="h"), 5)

"""SMA and EMA: TA-Lib parity, pandas NaN policy, streaming, types, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

import quantlab.indicators as ind
from quantlab.errors import DataError, InvalidParameterError
from tests.indicators.oracle import (
    DATASETS,
    assert_matches_talib,
    assert_stream_equals_batch,
    ohlcv,
)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [1, 2, 14, 50, 200])
@pytest.mark.parametrize(("ours", "theirs"), [(ind.sma, talib.SMA), (ind.ema, talib.EMA)])
def test_talib_parity(name, window, ours, theirs):
    close = ohlcv(name)["close"].to_numpy()
    assert_matches_talib(ours(close, window), theirs(close, timeperiod=window))


def test_sma_nan_policy_is_pandas_rolling():
    x = ohlcv("walk1")["close"].to_numpy().copy()
    x[[10, 11, 300]] = np.nan
    expected = pd.Series(x).rolling(20, min_periods=20).mean().to_numpy()
    np.testing.assert_allclose(ind.sma(x, 20), expected, rtol=1e-9, equal_nan=True)


def test_ema_skips_nan_bars():
    s = ohlcv("walk2")["close"].iloc[:500].copy()
    s.iloc[[5, 100, 101]] = np.nan
    expected = ind.ema(s.dropna(), 10).reindex(s.index)
    pd.testing.assert_series_equal(ind.ema(s, 10), expected)


@pytest.mark.parametrize("f", [ind.sma, ind.ema])
def test_short_constant_and_integer_input(f):
    assert np.isnan(f(np.arange(5.0), 10)).all()
    const = f(np.full(100, 7.0), 10)
    np.testing.assert_allclose(const[9:], 7.0, rtol=1e-15)
    np.testing.assert_array_equal(f(np.arange(50), 5), f(np.arange(50, dtype=float), 5))


def test_types_and_window_lists():
    df = ohlcv("walk1")[["open", "close"]]
    out = ind.sma(df, 10)
    assert isinstance(out, pd.DataFrame) and out.columns.equals(df.columns) and out.index.equals(df.index)
    np.testing.assert_allclose(out["close"], talib.SMA(df["close"].to_numpy(), 10), equal_nan=True)
    many = ind.sma(df["close"], [5, 10, 5])
    assert list(many.columns) == [5, 10, 5]
    np.testing.assert_array_equal(many[10].to_numpy(), ind.sma(df["close"].to_numpy(), 10))
    multi = ind.ema(df, [3, 7])
    assert multi.columns.tolist() == [(3, "open"), (3, "close"), (7, "open"), (7, "close")]
    np.testing.assert_array_equal(multi[(7, "open")].to_numpy(), ind.ema(df["open"].to_numpy(), 7))
    arr = ind.sma(df.to_numpy(), [2, 4])
    assert arr.shape == (len(df), 4)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 120), window=st.integers(1, 30), seed=st.integers(0, 1000))
def test_stream_equals_batch_every_prefix(n, window, seed):
    x = 100 + np.cumsum(np.random.default_rng(seed).normal(size=n))
    assert_stream_equals_batch(ind.stream.SMA(window), [x], ind.sma(x, window))
    assert_stream_equals_batch(ind.stream.EMA(window), [x], ind.ema(x, window))


@pytest.mark.parametrize("window", [0, -3, 2.5, "10", True])
def test_bad_window(window):
    with pytest.raises(InvalidParameterError, match=r"`window` of sma\(\) must be an integer >= 1"):
        ind.sma(np.arange(10.0), window)


def test_non_numeric_input():
    with pytest.raises(DataError, match="numeric"):
        ind.ema(pd.Series(["a", "b"]), 2)


@pytest.mark.parametrize("cls", [ind.stream.SMA, ind.stream.EMA])
def test_stream_refuses_a_list_of_windows(cls):
    with pytest.raises(InvalidParameterError, match="must be a single value.*one stream per window"):
        cls([5, 10])


def test_scalar_where_a_series_is_expected():
    # vwma(close, volume, window): a window passed in volume's place must not reach len()
    with pytest.raises(DataError, match="`volume` of vwma\\(\\) must be an array, Series or DataFrame"):
        ind.vwma(np.arange(1.0, 11.0), 5.0)

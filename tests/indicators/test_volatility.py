"""Volatility indicators: TA-Lib parity, pandas oracles, NaN policy, streaming, types, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from quantlab.errors import DataError, InvalidParameterError
from quantlab.indicators import volatility
from quantlab.indicators.volatility import (
    ATR,
    BBANDS,
    DONCHIAN,
    KELTNER,
    NATR,
    STDDEV,
    TRANGE,
    VAR,
    ZSCORE,
    atr,
    bbands,
    donchian,
    keltner,
    natr,
    stddev,
    trange,
    var,
    zscore,
)
from tests.indicators.oracle import (
    DATASETS,
    assert_matches_talib,
    assert_stream_equals_batch,
    ohlcv,
)

WINDOWS = [1, 2, 5, 14, 50]


def hlc(name):
    d = ohlcv(name)
    return d["high"].to_numpy(), d["low"].to_numpy(), d["close"].to_numpy()


def exact_std(x, window):
    """Population std in extended precision (long double two-pass), an independent reference."""
    w = sliding_window_view(x.astype(np.longdouble), window)
    dev = w - w.mean(axis=1, keepdims=True)
    return np.concatenate([np.full(window - 1, np.nan), np.sqrt((dev * dev).mean(axis=1)).astype(float)])


# ---------------------------------------------------------------- TA-Lib parity
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", WINDOWS)
def test_atr_natr_trange_match_talib(name, window):
    h, lo, c = hlc(name)
    assert_matches_talib(atr(h, lo, c, window), talib.ATR(h, lo, c, timeperiod=window))
    # TA-Lib's NATR with timeperiod=1 returns the raw TRANGE (not normalized): compare to the formula
    expected = talib.NATR(h, lo, c, timeperiod=window) if window > 1 else talib.TRANGE(h, lo, c) / c * 100
    assert_matches_talib(natr(h, lo, c, window), expected)
    np.testing.assert_array_equal(trange(h, lo, c), talib.TRANGE(h, lo, c))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 5, 14, 50])
def test_stddev_var_bbands_match_talib(name, window):
    _, _, c = hlc(name)
    # TA-Lib computes the variance as E[x²] − E[x]² with running sums, which loses digits when the
    # std is tiny relative to the price (FX: 1e-4 on 1.1); its error is ~1e-15 x price, so the
    # comparison gets an atol at that scale (1e-13 x price) on top of rtol 1e-9.
    level = np.nanmax(np.abs(c))
    assert_matches_talib(stddev(c, window, 1.5), talib.STDDEV(c, window, 1.5), atol=1e-13 * level)
    assert_matches_talib(var(c, window), talib.VAR(c, window), atol=1e-13 * level**2)
    ours = bbands(c, window, 2.0)
    theirs = talib.BBANDS(c, window, 2.0, 2.0, 0)
    for a, b in zip(ours[:3], theirs, strict=True):
        assert_matches_talib(a, b)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 5, 20])
def test_stddev_is_accurate_against_extended_precision(name, window):
    _, _, c = hlc(name)
    level = np.nanmax(np.abs(c))
    np.testing.assert_allclose(stddev(c, window), exact_std(c, window), rtol=1e-9, atol=1e-14 * level)


def test_stddev_recovers_after_a_spike():
    """Cancellation: after a 1e8 spike leaves the window the std of a calm series is exact again."""
    x = 1.0 + np.sin(np.arange(3000.0)) * 1e-3
    x[500] = 1e8
    np.testing.assert_allclose(stddev(x, 10)[520:], exact_std(x, 10)[520:], rtol=1e-9)
    assert (var(np.full(50, 0.1), 5)[4:] == 0.0).all()


# ---------------------------------------------------------------- pandas oracles
def ema_pandas(s: pd.Series, window: int, alpha: float) -> pd.Series:
    """EMA with TA-Lib's SMA seed, written with pandas ewm (independent of ema_nb)."""
    seeded = s.copy()
    seeded.iloc[: window - 1] = np.nan
    seeded.iloc[window - 1] = s.iloc[:window].mean()
    return seeded.iloc[window - 1 :].ewm(alpha=alpha, adjust=False).mean().reindex(s.index)


@pytest.mark.parametrize("name", ["aapl", "eurusd", "walk1"])
@pytest.mark.parametrize(("window", "k", "atr_window"), [(20, 2.0, 10), (5, 1.5, 14), (30, 1.0, 3)])
def test_keltner_matches_pandas_formulation(name, window, k, atr_window):
    d = ohlcv(name)
    prev = d["close"].shift(1)
    tr = pd.concat([d["high"] - d["low"], (prev - d["high"]).abs(), (prev - d["low"]).abs()], axis=1).max(
        axis=1, skipna=False
    )
    atr_pd = ema_pandas(tr.iloc[1:], atr_window, 1.0 / atr_window).reindex(d.index)
    mid = ema_pandas(d["close"], window, 2.0 / (window + 1))
    upper, lower = mid + k * atr_pd, mid - k * atr_pd
    mid = mid.where(upper.notna())
    out = keltner(d["high"], d["low"], d["close"], window, k, atr_window)
    assert list(out.columns) == ["upper", "middle", "lower"]
    for col, exp in zip(["upper", "middle", "lower"], [upper, mid, lower], strict=True):
        np.testing.assert_allclose(out[col].to_numpy(), exp.to_numpy(), rtol=1e-9, equal_nan=True)
        assert out[col].isna().equals(exp.isna())


@pytest.mark.parametrize("name", ["msft", "eurusd", "walk2"])
@pytest.mark.parametrize("window", [1, 5, 20, 55])
def test_donchian_and_zscore_match_pandas(name, window):
    d = ohlcv(name).copy()
    d.iloc[[30, 31, 400], [1, 2, 3]] = np.nan  # high, low, close: pandas rolling NaN policy
    out = donchian(d["high"], d["low"], window)
    up = d["high"].rolling(window).max()
    lo = d["low"].rolling(window).min()
    pd.testing.assert_series_equal(out["upper"], up, check_names=False)
    pd.testing.assert_series_equal(out["lower"], lo, check_names=False)
    pd.testing.assert_series_equal(out["middle"], (up + lo) / 2, check_names=False)
    if window > 1:
        r = d["close"].rolling(window)
        expected = (d["close"] - r.mean()) / r.std(ddof=0)
        got = zscore(d["close"], window)
        # pandas' rolling std loses up to ~1e-6 relative on FX (see stddev accuracy test) -> z atol
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
        assert got.isna().equals(expected.isna())


@pytest.mark.parametrize("window", [3, 10])
def test_window_nan_policy_is_pandas_rolling(window):
    x = ohlcv("walk1")["close"].to_numpy().copy()
    x[[10, 11, 300]] = np.nan
    s = pd.Series(x)
    # NaN pattern from pandas; values from the extended-precision reference (pandas' rolling std
    # itself is only ~1e-8 accurate on small windows)
    assert np.array_equal(np.isnan(stddev(x, window)), s.rolling(window).std(ddof=0).isna().to_numpy())
    np.testing.assert_allclose(stddev(x, window), exact_std(x, window), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(var(x, window), exact_std(x, window) ** 2, rtol=1e-9, equal_nan=True)
    mid = bbands(x, window)[1]
    np.testing.assert_allclose(mid, s.rolling(window).mean(), rtol=1e-12, equal_nan=True)


def test_atr_skips_nan_true_ranges():
    d = ohlcv("walk2").iloc[:600].copy()
    d.iloc[[50, 200], 3] = np.nan  # a NaN close kills TR at t and t+1
    tr = trange(d["high"], d["low"], d["close"])
    valid = tr.dropna()
    ref = ema_pandas(valid, 14, 1.0 / 14).reindex(d.index)
    got = atr(d["high"], d["low"], d["close"], 14)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-9, equal_nan=True)
    assert got.isna().equals(ref.isna())


# ---------------------------------------------------------------- edge cases
def test_short_constant_integer_and_zero_inputs():
    h, lo, c = np.arange(5.0) + 1, np.arange(5.0), np.arange(5.0) + 0.5
    assert np.isnan(atr(h, lo, c, 10)).all()
    assert np.isnan(stddev(c, 10)).all()
    assert all(np.isnan(a).all() for a in bbands(c, 10))
    const = np.full(60, 7.0)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(atr(const, const, const, 5)[5:], 0.0)
        np.testing.assert_array_equal(stddev(const, 5)[4:], 0.0)
        up, mid, low, pb, bw = bbands(const, 5)
        np.testing.assert_array_equal(mid[4:], 7.0)
        np.testing.assert_array_equal(up[4:], low[4:])
        assert np.isnan(pb).all() and (bw[4:] == 0.0).all()  # %B is 0/0 on a constant window
        assert np.isnan(zscore(const, 5)).all()  # documented: NaN where the std is 0
        np.testing.assert_array_equal(donchian(const, const, 3)[1][2:], 7.0)
        z = np.zeros(20)
        assert np.isnan(natr(z + 1, z, z, 3)).all()  # close == 0 -> NaN (TA-Lib writes 0.0)
        assert np.isnan(bbands(z, 3)[4]).all()  # bandwidth with middle == 0 -> NaN
    ints = np.arange(40)
    np.testing.assert_array_equal(stddev(ints, 5), stddev(ints.astype(float), 5))
    np.testing.assert_array_equal(atr(ints + 2, ints, ints + 1, 5), atr(ints + 2.0, ints * 1.0, ints + 1.0, 5))


def test_types_multicolumn_and_window_lists():
    d1, d2 = ohlcv("walk1"), ohlcv("walk2")
    high = pd.DataFrame({"a": d1["high"], "b": d2["high"].to_numpy()})
    low = pd.DataFrame({"a": d1["low"], "b": d2["low"].to_numpy()})
    close = pd.DataFrame({"a": d1["close"], "b": d2["close"].to_numpy()})
    out = atr(high, low, close, 14)
    assert isinstance(out, pd.DataFrame) and out.columns.equals(close.columns) and out.index.equals(close.index)
    for col in "ab":
        np.testing.assert_array_equal(out[col].to_numpy(), atr(high[col].to_numpy(), low[col].to_numpy(),
                                                               close[col].to_numpy(), 14))
    bb = bbands(close, 20)
    assert bb.columns.tolist()[:2] == [("upper", "a"), ("upper", "b")]
    np.testing.assert_array_equal(bb[("percent_b", "b")].to_numpy(), bbands(close["b"].to_numpy(), 20)[3])
    many = stddev(close["a"], [5, 20])
    assert list(many.columns) == [5, 20]
    np.testing.assert_array_equal(many[20].to_numpy(), stddev(close["a"].to_numpy(), 20))
    s = bbands(close["a"], 20)
    assert list(s.columns) == ["upper", "middle", "lower", "percent_b", "bandwidth"]
    np.testing.assert_allclose(s["percent_b"], (close["a"] - s["lower"]) / (s["upper"] - s["lower"]), rtol=1e-12)
    np.testing.assert_allclose(s["bandwidth"], (s["upper"] - s["lower"]) / s["middle"], rtol=1e-12)
    np.testing.assert_allclose(zscore(close["a"], 20), 2.0 * (2.0 * s["percent_b"] - 1.0), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- streaming
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 120), window=st.integers(1, 25), seed=st.integers(0, 1000), nan=st.booleans())
def test_stream_equals_batch_every_prefix(n, window, seed, nan):
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(size=n))
    h = c + rng.uniform(0, 1, n)
    lo = c - rng.uniform(0, 1, n)
    if nan and n > 3:
        c[n // 2] = np.nan
    assert_stream_equals_batch(TRANGE(), [h, lo, c], trange(h, lo, c))
    assert_stream_equals_batch(ATR(window), [h, lo, c], atr(h, lo, c, window))
    assert_stream_equals_batch(NATR(window), [h, lo, c], natr(h, lo, c, window))
    assert_stream_equals_batch(STDDEV(window, 2.0), [c], stddev(c, window, 2.0))
    assert_stream_equals_batch(VAR(window), [c], var(c, window))
    assert_stream_equals_batch(ZSCORE(window), [c], zscore(c, window))
    assert_stream_equals_batch(BBANDS(window, 1.5), [c], bbands(c, window, 1.5))
    assert_stream_equals_batch(KELTNER(window, 2.0, 3), [h, lo, c], keltner(h, lo, c, window, 2.0, 3))
    assert_stream_equals_batch(DONCHIAN(window), [h, lo], donchian(h, lo, window))


def test_stream_long_run_crosses_recompute_points():
    c = ohlcv("walk1")["close"].to_numpy()[:2500]
    assert_stream_equals_batch(BBANDS(7), [c], bbands(c, 7))


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
    ("spec", "extra", "ohlc"),
    [(volatility.VAR_SPEC, (), False), (volatility.STDDEV_SPEC, (1.5,), False),
     (volatility.BBANDS_SPEC, (2.0,), False), (volatility.ZSCORE_SPEC, (), False),
     (volatility.TRANGE_SPEC, None, True), (volatility.ATR_SPEC, (), True), (volatility.NATR_SPEC, (), True)],
)
def test_kernel_split_anywhere_equals_one_call(spec, extra, ohlc, window):
    """State carrying, bit for bit: the fast loops (leaving bar read from the input) and the
    general steps (read from the state's ring) agree, also around NaNs, a NaN run, a spike that
    forces the exact recompute, a constant stretch, and calls that start mid-window."""
    h, lo, c = (a[:2000].copy() for a in hlc("walk2"))
    c[[100, 700, 701, 1500]] = np.nan
    c[1000:1040] = np.nan
    c[1200] = 1e8  # cancellation when it leaves the window
    c[1300:1340] = c[1299]  # a constant window: exactly 0
    inputs = [h, lo, c] if ohlc else [c]
    params = () if extra is None else (window, *extra)
    whole = run_in_chunks(spec, inputs, params, [])
    cuts = sorted(np.random.default_rng(window).choice(np.arange(1, 2000), 40, replace=False).tolist())
    for split in (cuts, list(range(1, 60)), [699, 700, 1001, 1039, 1041, 1201, 1203, 1220, 1221, 1222]):
        for a, b in zip(run_in_chunks(spec, inputs, params, split), whole, strict=True):
            np.testing.assert_array_equal(a, b)
    if spec is volatility.VAR_SPEC:
        assert (whole[0][1299 + window - 1 : 1340] == 0.0).all()
        ok = ~np.isnan(whole[0])
        np.testing.assert_allclose(whole[0][ok], (exact_std(c, window) ** 2)[ok], rtol=1e-9, atol=1e-300)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("window", [0, -3, 2.5, "10", True])
def test_bad_window(window):
    h, lo, c = hlc("walk1")
    with pytest.raises(InvalidParameterError, match=r"`window` of atr\(\) must be an integer >= 1"):
        atr(h, lo, c, window)
    with pytest.raises(InvalidParameterError, match=r"`window` of bbands\(\) must be an integer >= 1"):
        bbands(c, window)
    with pytest.raises(InvalidParameterError, match=r"`window` of ATR\(\) must be an integer >= 1"):
        ATR(window)


def test_bad_k_and_atr_window():
    h, lo, c = hlc("walk1")
    with pytest.raises(InvalidParameterError, match=r"`k` of bbands\(\) must be a finite number >= 0"):
        bbands(c, 5, -1.0)
    with pytest.raises(InvalidParameterError, match=r"`k` of stddev\(\)"):
        stddev(c, 5, float("nan"))
    with pytest.raises(InvalidParameterError, match=r"`atr_window` of keltner\(\) must be an integer >= 1"):
        keltner(h, lo, c, 20, 2.0, 0)


def test_misaligned_and_non_numeric_inputs():
    d = ohlcv("walk1")
    with pytest.raises(DataError, match="same length"):
        atr(d["high"], d["low"].iloc[:-1], d["close"], 14)
    with pytest.raises(DataError, match="same index"):
        donchian(d["high"], d["low"].shift(1, freq="h"), 5)
    with pytest.raises(DataError, match="numeric"):
        trange(d["high"], d["low"], pd.Series(["a"] * len(d), index=d.index))
    with pytest.raises(InvalidParameterError, match="shape"):
        keltner(d[["high", "open"]].to_numpy(), d["low"].to_numpy(), d["close"].to_numpy())

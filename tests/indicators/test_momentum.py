"""Momentum indicators: TA-Lib parity, NaN policies, edge cases, streaming, types, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.errors import DataError, InvalidParameterError
from quantlab.indicators.momentum import (
    APO,
    CCI,
    CMO,
    MACD,
    MFI,
    MOM,
    PPO,
    ROC,
    ROCP,
    ROCR,
    ROCR100,
    RSI,
    STOCH,
    STOCHF,
    STOCHRSI,
    TRIX,
    ULTOSC,
    WILLR,
    apo,
    cci,
    cmo,
    macd,
    mfi,
    mom,
    ppo,
    roc,
    rocp,
    rocr,
    rocr100,
    rsi,
    stoch,
    stochf,
    stochrsi,
    trix,
    ultosc,
    willr,
)
from tests.indicators.oracle import (
    DATASETS,
    assert_matches_talib,
    assert_stream_equals_batch,
    ohlcv,
)


def cols(name: str) -> tuple[np.ndarray, ...]:
    df = ohlcv(name)
    return tuple(df[c].to_numpy() for c in ("high", "low", "close", "volume"))


def scale(name: str) -> float:
    """Typical price level: atol for outputs that cross 0 (differences of prices)."""
    return float(np.nanmedian(np.abs(ohlcv(name)["close"].to_numpy())))


# ---------------------------------------------------------------- TA-Lib parity
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 5, 14, 50])
def test_single_close_parity(name, window):
    h, lo, c, v = cols(name)
    assert_matches_talib(rsi(c, window), talib.RSI(c, window))
    # CMO crosses 0: atol of 1e-9 on a [-100, 100] scale
    assert_matches_talib(cmo(c, window), talib.CMO(c, window), atol=1e-9 * 100)
    assert_matches_talib(willr(h, lo, c, window), talib.WILLR(h, lo, c, window))
    # CCI crosses 0 (TP - mean in the numerator): absolute tolerance on its ~100 scale
    assert_matches_talib(cci(h, lo, c, window), talib.CCI(h, lo, c, window), atol=1e-9 * 100)
    # a window without positive flow is exactly 0 here, a running-sum residue (~1e-14) in TA-Lib
    assert_matches_talib(mfi(h, lo, c, v, window), talib.MFI(h, lo, c, v, window), atol=1e-12)
    assert_matches_talib(trix(c, window), talib.TRIX(c, window), atol=1e-12)  # crosses 0
    # MOM / ROC / ROCP cross 0: atol scaled to the price level (MOM) or to 1e-9 percent
    assert_matches_talib(mom(c, window), talib.MOM(c, window), atol=1e-9 * scale(name))
    assert_matches_talib(roc(c, window), talib.ROC(c, window), atol=1e-9)
    assert_matches_talib(rocp(c, window), talib.ROCP(c, window), atol=1e-11)
    assert_matches_talib(rocr(c, window), talib.ROCR(c, window))
    assert_matches_talib(rocr100(c, window), talib.ROCR100(c, window))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(
    ("k", "sk", "sd"), [(5, 3, 3), (14, 3, 3), (1, 1, 1), (9, 1, 4), (21, 5, 2)]
)
def test_stoch_parity(name, k, sk, sd):
    h, lo, c, _ = cols(name)
    for ours, theirs in zip(
        stoch(h, lo, c, k, sk, sd), talib.STOCH(h, lo, c, k, sk, 0, sd, 0), strict=True
    ):
        assert_matches_talib(ours, theirs, atol=1e-9)  # %K is 0 at a low: absolute on [0, 100]
    for ours, theirs in zip(stochf(h, lo, c, k, sd), talib.STOCHF(h, lo, c, k, sd, 0), strict=True):
        assert_matches_talib(ours, theirs, atol=1e-9)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("w", "k", "d"), [(14, 5, 3), (14, 14, 3), (2, 1, 1), (30, 7, 5)])
def test_stochrsi_parity(name, w, k, d):
    c = cols(name)[2]
    for ours, theirs in zip(stochrsi(c, w, k, d), talib.STOCHRSI(c, w, k, d, 0), strict=True):
        assert_matches_talib(ours, theirs, atol=1e-9)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("windows", [(7, 14, 28), (1, 2, 3), (28, 7, 14), (5, 5, 20)])
def test_ultosc_parity(name, windows):
    h, lo, c, _ = cols(name)
    assert_matches_talib(ultosc(h, lo, c, *windows), talib.ULTOSC(h, lo, c, *windows))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(
    ("fast", "slow", "signal"), [(12, 26, 9), (2, 3, 1), (5, 35, 5), (10, 10, 3)]
)
def test_macd_parity(name, fast, slow, signal):
    c = cols(name)[2]
    # all three outputs cross 0: atol of 1e-9 x the price level (REFERENCES.md tolerance, scaled)
    for ours, theirs in zip(
        macd(c, fast, slow, signal), talib.MACD(c, fast, slow, signal), strict=True
    ):
        assert_matches_talib(ours, theirs, atol=1e-9 * scale(name))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("fast", "slow"), [(12, 26), (2, 3), (5, 50), (8, 8)])
@pytest.mark.parametrize("matype", [0, 1])
def test_apo_ppo_parity(name, fast, slow, matype):
    c = cols(name)[2]
    # APO crosses 0 (price units), PPO crosses 0 (percent): absolute tolerances
    assert_matches_talib(
        apo(c, fast, slow, matype), talib.APO(c, fast, slow, matype), atol=1e-9 * scale(name)
    )
    assert_matches_talib(ppo(c, fast, slow, matype), talib.PPO(c, fast, slow, matype), atol=1e-9)


def test_talib_defaults_and_lookbacks():
    """Our defaults are TA-Lib 0.8's (APO/PPO default to EMA there, matype=1)."""
    h, lo, c, v = cols("walk1")
    assert_matches_talib(rsi(c), talib.RSI(c))
    assert_matches_talib(cmo(c), talib.CMO(c), atol=1e-7)
    assert_matches_talib(willr(h, lo, c), talib.WILLR(h, lo, c))
    assert_matches_talib(cci(h, lo, c), talib.CCI(h, lo, c), atol=1e-7)
    assert_matches_talib(mfi(h, lo, c, v), talib.MFI(h, lo, c, v))
    assert_matches_talib(ultosc(h, lo, c), talib.ULTOSC(h, lo, c))
    assert_matches_talib(trix(c), talib.TRIX(c), atol=1e-12)
    assert_matches_talib(roc(c), talib.ROC(c), atol=1e-9)
    assert_matches_talib(mom(c), talib.MOM(c), atol=1e-7)
    assert_matches_talib(apo(c), talib.APO(c), atol=1e-7)
    assert_matches_talib(ppo(c), talib.PPO(c), atol=1e-9)
    for ours, theirs in [
        (macd(c), talib.MACD(c)),
        (stoch(h, lo, c), talib.STOCH(h, lo, c)),
        (stochf(h, lo, c), talib.STOCHF(h, lo, c)),
        (stochrsi(c), talib.STOCHRSI(c)),
    ]:
        for a, b in zip(ours, theirs, strict=True):
            assert_matches_talib(a, b, atol=1e-7)


def test_leading_nans_like_talib():
    """TA-Lib skips leading NaNs; both our policies give the same result there."""
    h, lo, c, v = (a.copy() for a in cols("walk2"))
    for a in (h, lo, c, v):
        a[:7] = np.nan
    assert_matches_talib(rsi(c, 14), talib.RSI(c, 14))
    assert_matches_talib(cci(h, lo, c, 14), talib.CCI(h, lo, c, 14), atol=1e-7)
    assert_matches_talib(mfi(h, lo, c, v, 14), talib.MFI(h, lo, c, v, 14))
    assert_matches_talib(ultosc(h, lo, c), talib.ULTOSC(h, lo, c))
    for a, b in zip(macd(c), talib.MACD(c), strict=True):
        assert_matches_talib(a, b, atol=1e-7)
    for a, b in zip(stoch(h, lo, c), talib.STOCH(h, lo, c), strict=True):
        assert_matches_talib(a, b, atol=1e-9)


def test_macd_is_not_apo_ema():
    """TA-Lib realigns MACD's fast EMA but not APO's: the two must differ early, agree late."""
    c = cols("walk1")[2]
    m = macd(c, 12, 26, 9)[0]
    a = apo(c, 12, 26, 1)
    assert abs(m[40] - a[40]) > 1e-6
    np.testing.assert_allclose(m[-100:], a[-100:], rtol=1e-9)


# ---------------------------------------------------------------- edge cases
def test_constant_series_matches_talib_zero():
    x = np.full(200, 7.0)
    expect_zero = {
        "rsi": rsi(x),
        "cmo": cmo(x),
        "willr": willr(x, x, x),
        "cci": cci(x, x, x),
        "mfi": mfi(x, x, x, x),
        "ultosc": ultosc(x, x, x),
        "trix": trix(x),
        "roc": roc(x),
        "mom": mom(x),
        "apo": apo(x),
        "ppo": ppo(x),
        "slowk": stoch(x, x, x)[0],
        "fastk": stochf(x, x, x)[0],
        "stochrsi": stochrsi(x)[0],
        "macd_hist": macd(x)[2],
    }
    talib_values = {
        "rsi": talib.RSI(x),
        "cmo": talib.CMO(x),
        "willr": talib.WILLR(x, x, x),
        "cci": talib.CCI(x, x, x),
        "mfi": talib.MFI(x, x, x, x),
        "ultosc": talib.ULTOSC(x, x, x),
        "trix": talib.TRIX(x),
        "roc": talib.ROC(x),
        "mom": talib.MOM(x),
        "apo": talib.APO(x),
        "ppo": talib.PPO(x),
        "slowk": talib.STOCH(x, x, x)[0],
        "fastk": talib.STOCHF(x, x, x)[0],
        "stochrsi": talib.STOCHRSI(x)[0],
        "macd_hist": talib.MACD(x)[2],
    }
    for key, ours in expect_zero.items():
        assert_matches_talib(ours, talib_values[key])
        tail = ours[~np.isnan(ours)]
        assert len(tail) > 0 and (tail == 0.0).all(), key
    np.testing.assert_array_equal(rocr(x)[10:], 1.0)


def test_tiny_prices_match_talib_zero_tests():
    """TA-Lib 0.8 tests RSI/ULTOSC/MFI denominators against exact 0, PPO's against 1e-14."""
    rng = np.random.default_rng(3)
    for s in (1e-12, 1e-20):
        c = s * (100 + np.cumsum(rng.normal(size=300)))
        h, lo = c + s, c - s
        assert_matches_talib(rsi(c), talib.RSI(c))
        assert_matches_talib(ultosc(h, lo, c), talib.ULTOSC(h, lo, c))
        assert_matches_talib(ppo(c), talib.PPO(c), atol=1e-9)
        assert_matches_talib(mfi(h, lo, c, np.full(300, s)), talib.MFI(h, lo, c, np.full(300, s)))


def test_zero_prices_roc_family_match_talib():
    x = np.array([0.0, 1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0, 0.0])
    for ours, theirs in [(roc, talib.ROC), (rocp, talib.ROCP), (rocr, talib.ROCR), (rocr100, talib.ROCR100), (mom, talib.MOM), (trix, talib.TRIX)]:  # fmt: skip
        assert_matches_talib(ours(x, 1), theirs(x, 1))


def test_short_input_all_nan():
    x = np.arange(1.0, 6.0)
    for out in [rsi(x, 5), cmo(x, 5), willr(x, x, x, 6), cci(x, x, x, 6), mfi(x, x, x, x, 5), trix(x, 3), mom(x, 5),
                ultosc(x, x, x, 2, 3, 5), apo(x, 2, 6), macd(x, 2, 4, 3)[0], stoch(x, x, x, 3, 2, 3)[1],
                stochrsi(x, 2, 2, 3)[0]]:  # fmt: skip
        assert np.isnan(out).all()


def test_integer_input():
    x = np.array([5, 7, 6, 8, 9, 7, 6, 8, 10, 11, 9, 8, 12, 13, 11, 10, 12, 14, 15, 13])
    f = x.astype(float)
    np.testing.assert_array_equal(rsi(x, 3), rsi(f, 3))
    np.testing.assert_array_equal(cci(x, x, x, 4), cci(f, f, f, 4))
    np.testing.assert_array_equal(mfi(x, x, x, x, 4), mfi(f, f, f, f, 4))
    for a, b in zip(macd(x, 2, 4, 2), macd(f, 2, 4, 2), strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- NaN policies
def test_recursive_nan_skipping_equals_dropna():
    s = ohlcv("walk2")["close"].iloc[:600].copy()
    s.iloc[[5, 100, 101, 300]] = np.nan
    clean = s.dropna()
    for f in (
        lambda x: rsi(x, 14),
        lambda x: cmo(x, 9),
        lambda x: trix(x, 5),
        lambda x: apo(x, 5, 20, 1),
    ):
        pd.testing.assert_series_equal(f(s), f(clean).reindex(s.index))
    pd.testing.assert_frame_equal(macd(s, 5, 13, 4), macd(clean, 5, 13, 4).reindex(s.index))
    pd.testing.assert_frame_equal(stochrsi(s, 9, 1, 1), stochrsi(clean, 9, 1, 1).reindex(s.index))


def test_window_nan_policy_is_pandas_rolling():
    """Window indicators against direct pandas formulations (rolling min_periods=window)."""
    df = ohlcv("walk1").iloc[:800].copy()
    df.iloc[[50, 51, 400], df.columns.get_indexer(["high"])] = np.nan
    df.iloc[[200], df.columns.get_indexer(["close"])] = np.nan
    df.iloc[[600], df.columns.get_indexer(["volume"])] = np.nan
    h, lo, c, v = df["high"], df["low"], df["close"], df["volume"]
    w = 10
    hh, ll = h.rolling(w).max(), lo.rolling(w).min()

    rng_ = hh - ll
    expect = (-100 * (hh - c) / rng_).where(rng_ != 0, 0.0).where(c.notna() & rng_.notna())
    np.testing.assert_allclose(willr(h, lo, c, w), expect, rtol=1e-12, atol=1e-12, equal_nan=True)

    raw = (100 * (c - ll) / rng_).where(rng_ != 0, 0.0).where(c.notna() & rng_.notna())
    slowk = raw.rolling(3).mean()
    slowd = slowk.rolling(4).mean()
    got = stoch(h, lo, c, w, 3, 4)
    np.testing.assert_allclose(got["slowd"], slowd, rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(
        got["slowk"], slowk.where(slowd.notna()), rtol=1e-9, atol=1e-9, equal_nan=True
    )

    tp = (h + lo + c) / 3
    mean = tp.rolling(w).mean()
    mad = tp.rolling(w).apply(lambda a: np.mean(np.abs(a - a.mean())), raw=True)
    expect = ((tp - mean) / (0.015 * mad)).where(mad.notna())
    np.testing.assert_allclose(cci(h, lo, c, w), expect, rtol=1e-7, atol=1e-7, equal_nan=True)

    d = tp.diff()
    flow = tp * v
    pos = flow.where(d > 0, 0.0).where(d.notna() & flow.notna())
    neg = flow.where(d < 0, 0.0).where(d.notna() & flow.notna())
    ps, ns = pos.rolling(w).sum(), neg.rolling(w).sum()
    # atol: pandas' rolling sums leave ~1e-14 residues where the positive flow sum is 0
    np.testing.assert_allclose(
        mfi(h, lo, c, v, w), 100 * ps / (ps + ns), rtol=1e-9, atol=1e-9, equal_nan=True
    )

    pc = c.shift()
    bp = c - np.minimum(lo, pc)
    tr = np.maximum(h, pc) - np.minimum(lo, pc)
    bp = bp.where(tr.notna())
    avg = [bp.rolling(p).sum() / tr.rolling(p).sum() for p in (4, 8, 16)]
    expect = 100 * (4 * avg[0] + 2 * avg[1] + avg[2]) / 7
    np.testing.assert_allclose(ultosc(h, lo, c, 8, 16, 4), expect, rtol=1e-9, equal_nan=True)

    np.testing.assert_allclose(mom(c, 5), c - c.shift(5), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(
        roc(c, 5), 100 * (c / c.shift(5) - 1), rtol=1e-9, atol=1e-12, equal_nan=True
    )
    sf, ss = c.rolling(5).mean(), c.rolling(20).mean()
    np.testing.assert_allclose(apo(c, 5, 20, 0), sf - ss, rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(
        ppo(c, 5, 20, 0), 100 * (sf - ss) / ss, rtol=1e-9, atol=1e-9, equal_nan=True
    )


def test_rsi_independent_formulation():
    """Wilder RSI written directly (Wilder 1978): simple-mean seed, then (n-1)/n recursion."""
    c = ohlcv("aapl")["close"].to_numpy()[:500]
    n = 14
    d = np.diff(c)
    up, dn = np.maximum(d, 0), np.maximum(-d, 0)
    g, lo_ = up[:n].mean(), dn[:n].mean()
    expect = np.full(len(c), np.nan)
    expect[n] = 100 * g / (g + lo_)
    for t in range(n, len(d)):
        g = (g * (n - 1) + up[t]) / n
        lo_ = (lo_ * (n - 1) + dn[t]) / n
        expect[t + 1] = 100 * g / (g + lo_)
    np.testing.assert_allclose(rsi(c, n), expect, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(cmo(c, n), 2 * expect - 100, rtol=1e-9, atol=1e-9, equal_nan=True)


# ---------------------------------------------------------------- types
def test_dataframe_and_series_types():
    df = pd.concat({k: ohlcv(k).iloc[:1500] for k in ("walk1", "walk2")}, axis=1)
    close = df.xs("close", axis=1, level=1)
    high = df.xs("high", axis=1, level=1)
    low = df.xs("low", axis=1, level=1)
    out = rsi(close, 14)
    assert (
        isinstance(out, pd.DataFrame)
        and out.columns.equals(close.columns)
        and out.index.equals(close.index)
    )
    for col in close:
        np.testing.assert_array_equal(out[col].to_numpy(), rsi(close[col].to_numpy(), 14))
    m = macd(close)
    assert list(m.columns) == [
        (o, k) for o in ("macd", "signal", "hist") for k in ("walk1", "walk2")
    ]
    np.testing.assert_array_equal(
        m[("signal", "walk2")].to_numpy(), macd(close["walk2"].to_numpy())[1]
    )
    s = stoch(high, low, close)
    np.testing.assert_array_equal(
        s[("slowd", "walk1")].to_numpy(),
        stoch(high["walk1"], low["walk1"], close["walk1"])["slowd"].to_numpy(),
    )
    ser = stoch(high["walk1"], low["walk1"], close["walk1"])
    assert isinstance(ser, pd.DataFrame) and list(ser.columns) == ["slowk", "slowd"]
    one = willr(high["walk1"], low["walk1"], close["walk1"])
    assert isinstance(one, pd.Series) and one.index.equals(close.index)
    many = rsi(close["walk1"], [5, 14])
    assert list(many.columns) == [5, 14]
    np.testing.assert_array_equal(many[5].to_numpy(), rsi(close["walk1"].to_numpy(), 5))


# ---------------------------------------------------------------- streaming
_prices = st.integers(0, 10_000)


def _hlcv(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(size=n))
    h = c + rng.uniform(0, 1, n)
    lo = c - rng.uniform(0, 1, n)
    v = rng.integers(1, 100, n).astype(float)
    if n > 3:  # ties and flat stretches exercise the zero-denominator branches
        c[n // 2 : n // 2 + 3] = c[n // 2]
    return h, lo, c, v


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 90), w=st.integers(2, 12), w2=st.integers(1, 5), seed=_prices)
def test_stream_equals_batch_every_prefix(n, w, w2, seed):
    h, lo, c, v = _hlcv(n, seed)
    assert_stream_equals_batch(RSI(w), [c], rsi(c, w))
    assert_stream_equals_batch(CMO(w), [c], cmo(c, w))
    assert_stream_equals_batch(WILLR(w), [h, lo, c], willr(h, lo, c, w))
    assert_stream_equals_batch(CCI(w), [h, lo, c], cci(h, lo, c, w))
    assert_stream_equals_batch(MFI(w), [h, lo, c, v], mfi(h, lo, c, v, w))
    assert_stream_equals_batch(TRIX(w2), [c], trix(c, w2))
    for cls, f in [(MOM, mom), (ROC, roc), (ROCP, rocp), (ROCR, rocr), (ROCR100, rocr100)]:
        assert_stream_equals_batch(cls(w2), [c], f(c, w2))
    assert_stream_equals_batch(ULTOSC(w2, w, 3), [h, lo, c], ultosc(h, lo, c, w2, w, 3))
    assert_stream_equals_batch(STOCH(w, w2, 3), [h, lo, c], stoch(h, lo, c, w, w2, 3))
    assert_stream_equals_batch(STOCHF(w, w2), [h, lo, c], stochf(h, lo, c, w, w2))
    assert_stream_equals_batch(STOCHRSI(w, w2, 2), [c], stochrsi(c, w, w2, 2))
    assert_stream_equals_batch(APO(2, w, 0), [c], apo(c, 2, w, 0))
    assert_stream_equals_batch(PPO(2, w, 1), [c], ppo(c, 2, w, 1))
    assert_stream_equals_batch(MACD(2, w, w2), [c], macd(c, 2, w, w2))


def test_stream_with_nans_equals_batch():
    h, lo, c, v = _hlcv(120, 5)
    for a, idx in ((h, [3, 40]), (c, [10, 70, 71])):
        a[idx] = np.nan
    assert_stream_equals_batch(RSI(5), [c], rsi(c, 5))
    assert_stream_equals_batch(ULTOSC(3, 5, 9), [h, lo, c], ultosc(h, lo, c, 3, 5, 9))
    assert_stream_equals_batch(MFI(6), [h, lo, c, v], mfi(h, lo, c, v, 6))
    assert_stream_equals_batch(MACD(3, 8, 4), [c], macd(c, 3, 8, 4))
    s = MACD()
    assert not s.ready and "MACD(fast=12, slow=26, signal=9)" in repr(s)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda x: rsi(x, 1), r"`window` of rsi\(\) must be an integer >= 2; got 1"),
        (lambda x: cci(x, x, x, 2.5), r"`window` of cci\(\) must be an integer >= 2"),
        (
            lambda x: stoch(x, x, x, 5, 0),
            r"`slowk_window` of stoch\(\) must be an integer >= 1; got 0",
        ),
        (lambda x: stochrsi(x, 14, 5, True), r"`fastd_window` of stochrsi\(\)"),
        (lambda x: ultosc(x, x, x, 7, 14, -1), r"`window3` of ultosc\(\)"),
        (
            lambda x: macd(x, 26, 12),
            r"`fast` of macd\(\) must be an integer <= `slow` \(12\); got 26.*swap",
        ),
        (lambda x: macd(x, 12, 26, 0), r"`signal` of macd\(\) must be an integer >= 1"),
        (lambda x: apo(x, 12, 26, 3), r"`matype` of apo\(\) must be 0 \(SMA\) or 1 \(EMA\); got 3"),
        (lambda x: ppo(x, "12"), r"`fast` of ppo\(\) must be an integer"),
        (lambda x: mom(x, 0), r"`window` of mom\(\) must be an integer >= 1; got 0"),
        (lambda x: RSI([5, 6]), r"`window` of RSI\(\) must be a single integer"),
        (lambda x: MACD(30), r"`fast` of MACD\(\)"),
    ],
)
def test_bad_parameters(call, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        call(np.arange(1.0, 60.0))


def test_misaligned_and_non_numeric_inputs():
    df = ohlcv("walk1").iloc[:100]
    with pytest.raises((DataError, InvalidParameterError)):
        willr(df["high"], df["low"].iloc[1:], df["close"])
    shifted = df["low"].copy()
    shifted.index = shifted.index + pd.Timedelta("1h")
    with pytest.raises((DataError, InvalidParameterError)):
        stoch(df["high"], shifted, df["close"])
    with pytest.raises(DataError, match=r"`volume` of mfi\(\) must have the same length as `high`"):
        mfi(np.ones(10), np.ones(10), np.ones(10), np.ones(9))
    with pytest.raises(InvalidParameterError, match=r"`low` of cci\(\) must be of shape \(10, 2\)"):
        cci(np.ones((10, 2)), np.ones((10, 3)), np.ones((10, 2)))
    with pytest.raises(DataError, match="numeric"):
        rsi(pd.Series(["a", "b", "c"]), 2)
    with pytest.raises(InvalidParameterError, match=r"update\(\) of STOCH takes 3 value"):
        STOCH().update(1.0, 2.0)


# ---------------------------------------------------------------- block kernels (speed paths)
def _tie_heavy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Small integers (many ties) with NaN sprinkled in (no infinities: pandas' rolling max
    treats them as NaN; test_trend checks them against the rescan kernel)."""
    rng = np.random.default_rng(seed)
    h = rng.integers(-3, 4, n).astype(float)
    lo = rng.integers(-3, 4, n).astype(float)
    if seed % 2:
        h[rng.integers(0, n, 3)] = np.nan
        lo[rng.integers(0, n, 2)] = np.nan
    return h, lo


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 120), w=st.integers(1, 15), seed=st.integers(0, 10_000),
       cuts=st.lists(st.integers(0, 120), max_size=6))
def test_rolling_max_min_equals_pandas_for_any_split(n, w, seed, cuts):
    """rolling_max_min_nb (van Herk / Gil-Werman blocks) called on arbitrary pieces of the input
    equals pandas rolling(w).max() / .min(), NaN policy included."""
    from quantlab.indicators._rolling import rolling_max_min_nb, rolling_max_min_state_size

    h, lo = _tie_heavy(n, seed)
    state = np.zeros(rolling_max_min_state_size(w))
    hi_out, lo_out = np.empty(n), np.empty(n)
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rolling_max_min_nb(h[a:b], lo[a:b], w, state, hi_out[a:b], lo_out[a:b])
    np.testing.assert_array_equal(hi_out, pd.Series(h).rolling(w).max().to_numpy())
    np.testing.assert_array_equal(lo_out, pd.Series(lo).rolling(w).min().to_numpy())


def test_long_input_across_blocks_equals_pieces_and_talib():
    """Inputs longer than the kernels' cache blocks (4096 bars), with NaN near block edges: one
    batch call equals the kernel fed in uneven pieces, and TA-Lib where the window is NaN-free."""
    from quantlab.indicators.momentum import STOCH_SPEC, ULTOSC_SPEC, WILLR_SPEC

    h, lo, c, _ = _hlcv(10_000, 11)
    np.testing.assert_allclose(willr(h, lo, c, 14)[13:], talib.WILLR(h, lo, c, 14)[13:], rtol=1e-9)
    for a in (h, c):
        a[[4090, 4095, 4096, 8191, 8200]] = np.nan
    bounds = [0, 1, 5, 4000, 4097, 4098, 9000, 10_000]
    for spec, params, batch in [
        (WILLR_SPEC, (14,), [willr(h, lo, c, 14)]),
        (STOCH_SPEC, (5, 3, 3), list(stoch(h, lo, c, 5, 3, 3))),
        (ULTOSC_SPEC, (7, 14, 28), [ultosc(h, lo, c)]),
    ]:
        state = np.zeros(spec.state_size(*params))
        outs = [np.empty(len(c)) for _ in batch]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            spec.kernel(h[a:b], lo[a:b], c[a:b], *params, state, *[o[a:b] for o in outs])
        for got, want in zip(outs, batch, strict=True):
            np.testing.assert_array_equal(got, want)

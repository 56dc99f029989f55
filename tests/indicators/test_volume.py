"""OBV, AD, ADOSC (TA-Lib parity) and VWAP (pandas groupby-cumsum oracle)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.errors import DataError, InvalidParameterError
from quantlab.indicators.volume import AD, ADOSC, ADOSC_SPEC, OBV, VWAP, ad, adosc, obv, vwap
from tests.indicators.oracle import (
    DATASETS,
    assert_matches_talib,
    assert_stream_equals_batch,
    ohlcv,
)


def _hlcv(name: str) -> tuple[np.ndarray, ...]:
    d = ohlcv(name)
    return tuple(d[c].to_numpy() for c in ("high", "low", "close", "volume"))


# ---------------------------------------------------------------- TA-Lib parity
@pytest.mark.parametrize("name", DATASETS)
def test_obv_ad_talib_parity(name):
    h, lo, c, v = _hlcv(name)
    # OBV and AD are running sums that cross 0: compare with an atol scaled to the volume level
    scale = 1e-9 * np.abs(np.cumsum(v)).max()
    assert_matches_talib(obv(c, v), talib.OBV(c, v), atol=scale)
    assert_matches_talib(ad(h, lo, c, v), talib.AD(h, lo, c, v), atol=scale)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("fast", "slow"), [(3, 10), (2, 3), (12, 26), (10, 3), (5, 5)])
def test_adosc_talib_parity(name, fast, slow):
    h, lo, c, v = _hlcv(name)
    theirs = talib.ADOSC(h, lo, c, v, fastperiod=fast, slowperiod=slow)
    # an oscillator around 0: atol scaled to the A/D line's magnitude (1e-9 relative)
    scale = 1e-9 * np.nanmax(np.abs(talib.AD(h, lo, c, v)))
    assert_matches_talib(adosc(h, lo, c, v, fast, slow), theirs, atol=scale)


# ---------------------------------------------------------------- NaN policy, edge cases
def _with_nans(name: str, rows: list[int], cols: list[str]) -> pd.DataFrame:
    df = ohlcv(name).iloc[:400].copy()
    for r, col in zip(rows, cols, strict=True):
        df.iloc[r, df.columns.get_loc(col)] = np.nan
    return df


def test_recursive_nan_bars_are_skipped():
    df = _with_nans("walk1", [0, 5, 100, 101, 250], ["close", "volume", "high", "close", "low"])
    cv = df[["close", "volume"]].dropna()
    pd.testing.assert_series_equal(obv(df["close"], df["volume"]), obv(cv["close"], cv["volume"]).reindex(df.index))
    clean = df.dropna()
    args = [df[c] for c in ("high", "low", "close", "volume")]
    clean_args = [clean[c] for c in ("high", "low", "close", "volume")]
    pd.testing.assert_series_equal(ad(*args), ad(*clean_args).reindex(df.index))
    pd.testing.assert_series_equal(adosc(*args, 3, 10), adosc(*clean_args, 3, 10).reindex(df.index))
    pd.testing.assert_series_equal(vwap(*args, anchor="D"), vwap(*clean_args, anchor="D").reindex(df.index))


def test_short_constant_and_integer_input():
    h, lo, c, v = _hlcv("walk2")
    assert np.isnan(adosc(h[:5], lo[:5], c[:5], v[:5], 3, 10)).all()
    const = np.full(50, 7.0)
    vol = np.arange(1.0, 51.0)
    np.testing.assert_array_equal(obv(const, vol), np.full(50, 1.0))  # stays at volume[0]
    np.testing.assert_array_equal(ad(const, const, const, vol), np.zeros(50))  # high == low adds 0
    np.testing.assert_array_equal(adosc(const, const, const, vol)[9:], np.zeros(41))
    np.testing.assert_allclose(vwap(const, const, const, vol), const, rtol=1e-15)
    hi, li, ci, vi = (np.round(a).astype(np.int64) for a in (h, lo, c, v))
    np.testing.assert_array_equal(adosc(hi, li, ci, vi), adosc(*(a.astype(float) for a in (hi, li, ci, vi))))
    np.testing.assert_array_equal(obv(ci, vi), talib.OBV(ci.astype(float), vi.astype(float)))


# ---------------------------------------------------------------- VWAP vs pandas
def _vwap_oracle(df: pd.DataFrame, keys) -> pd.Series:
    tp = (df["high"] + df["low"] + df["close"]) / 3.0
    pv = (tp * df["volume"]).groupby(keys).cumsum()
    vv = df["volume"].where(tp.notna()).groupby(keys).cumsum()
    return pv / vv


@pytest.mark.parametrize("name", ["eurusd", "walk1", "aapl"])
def test_vwap_cumulative_and_daily_match_pandas(name):
    df = ohlcv(name)
    args = [df[c] for c in ("high", "low", "close", "volume")]
    ones = np.zeros(len(df))
    np.testing.assert_allclose(vwap(*args), _vwap_oracle(df, ones), rtol=1e-12)
    np.testing.assert_allclose(vwap(*args, anchor="D"), _vwap_oracle(df, df.index.floor("D")), rtol=1e-12)


def test_vwap_calendar_anchors_and_labels():
    df = ohlcv("eurusd")
    args = [df[c] for c in ("high", "low", "close", "volume")]
    naive = df.index.tz_convert("UTC").tz_localize(None)
    weeks = naive.to_period("W")
    np.testing.assert_allclose(vwap(*args, anchor="W"), _vwap_oracle(df, weeks), rtol=1e-12)
    months = naive.to_period("M")
    np.testing.assert_allclose(vwap(*args, anchor="ME"), _vwap_oracle(df, months), rtol=1e-12)
    np.testing.assert_array_equal(vwap(*args, anchor="M"), vwap(*args, anchor="ME"))
    four = df.index.floor("4h")
    np.testing.assert_allclose(vwap(*args, anchor="4h"), _vwap_oracle(df, four), rtol=1e-12)
    # explicit labels, also for plain arrays
    labels = np.asarray(naive.date)
    arrays = [a.to_numpy() for a in args]
    np.testing.assert_allclose(vwap(*arrays, anchor=labels), vwap(*args, anchor="D").to_numpy(), rtol=1e-15)


def test_vwap_session_in_other_timezone_is_utc_day():
    df = ohlcv("eurusd").iloc[:200]
    local = df.tz_convert("America/New_York")
    args = [local[c] for c in ("high", "low", "close", "volume")]
    expected = vwap(*[df[c] for c in ("high", "low", "close", "volume")], anchor="D")
    np.testing.assert_array_equal(vwap(*args, anchor="D").to_numpy(), expected.to_numpy())


def test_vwap_zero_volume_is_nan():
    p = np.array([1.0, 2.0, 3.0])
    out = vwap(p, p, p, np.array([0.0, 0.0, 2.0]))
    assert np.isnan(out[:2]).all() and out[2] == 3.0


def test_vwap_dataframe_columns():
    a, b = ohlcv("walk1").iloc[:300], ohlcv("walk2").iloc[:300]
    frames = {c: pd.DataFrame({"A": a[c], "B": b[c]}) for c in ("high", "low", "close", "volume")}
    out = vwap(frames["high"], frames["low"], frames["close"], frames["volume"], anchor="D")
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["A", "B"]
    for col, src in (("A", a), ("B", b)):
        single = vwap(src["high"], src["low"], src["close"], src["volume"], anchor="D")
        np.testing.assert_array_equal(out[col].to_numpy(), single.to_numpy())
    multi = adosc(frames["high"], frames["low"], frames["close"], frames["volume"])
    assert isinstance(multi, pd.DataFrame)
    np.testing.assert_array_equal(
        multi["B"].to_numpy(), adosc(*(b[c].to_numpy() for c in ("high", "low", "close", "volume")))
    )


def test_vwap_bad_anchor():
    h, lo, c, v = _hlcv("walk1")
    with pytest.raises(InvalidParameterError, match=r"`anchor` of vwap\(\) must be None or an array"):
        vwap(h, lo, c, v, anchor="D")  # ndarray: no timestamps
    df = ohlcv("walk1")
    args = [df[k] for k in ("high", "low", "close", "volume")]
    with pytest.raises(InvalidParameterError, match=r"`anchor` of vwap\(\)"):
        vwap(*args, anchor="fortnight")
    with pytest.raises(InvalidParameterError, match="session labels"):
        vwap(*args, anchor=[1, 2, 3])
    labels = np.zeros(len(df), dtype=object)
    labels[3] = None
    with pytest.raises(DataError, match="missing"):
        vwap(*args, anchor=labels)


def test_vwap_stream_with_time():
    df = ohlcv("eurusd").iloc[:150]
    args = [df[c].to_numpy() for c in ("high", "low", "close", "volume")]
    batch = vwap(*[df[c] for c in ("high", "low", "close", "volume")], anchor="D").to_numpy()
    s = VWAP(anchor="D")
    got = [s.update(*(a[i] for a in args), time=df.index[i]) for i in range(len(df))]
    np.testing.assert_allclose(got, batch, rtol=1e-12, equal_nan=True)
    with pytest.raises(InvalidParameterError, match="time"):
        VWAP(anchor="D").update(1.0, 1.0, 1.0, 1.0)
    with pytest.raises(InvalidParameterError, match="anchor"):
        VWAP(anchor="nope")


# ---------------------------------------------------------------- streaming
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 80), fast=st.integers(1, 12), slow=st.integers(1, 12), seed=st.integers(0, 1000))
def test_stream_equals_batch_every_prefix(n, fast, slow, seed):
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(size=n))
    h = c + rng.uniform(0, 1, n)
    lo = c - rng.uniform(0, 1, n)
    v = rng.integers(0, 100, n).astype(float)
    if n > 5:
        c[rng.integers(0, n)] = np.nan
    assert_stream_equals_batch(OBV(), [c, v], obv(c, v))
    assert_stream_equals_batch(AD(), [h, lo, c, v], ad(h, lo, c, v))
    assert_stream_equals_batch(ADOSC(fast, slow), [h, lo, c, v], adosc(h, lo, c, v, fast, slow))
    assert_stream_equals_batch(VWAP(), [h, lo, c, v], vwap(h, lo, c, v))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True])
def test_bad_periods(bad):
    h, lo, c, v = _hlcv("walk1")
    with pytest.raises(InvalidParameterError, match=r"`fast` of adosc\(\) must be an integer >= 1"):
        adosc(h, lo, c, v, bad, 10)
    with pytest.raises(InvalidParameterError, match=r"`slow` of ADOSC\(\) must be an integer >= 1"):
        ADOSC(3, bad)


def test_misaligned_and_non_numeric():
    df = ohlcv("walk1")
    with pytest.raises(DataError, match=r"`volume` of obv\(\) must have the same length"):
        obv(df["close"], df["volume"].iloc[:-1])
    shifted = df["volume"].copy()
    shifted.index = shifted.index + pd.Timedelta("1h")
    with pytest.raises(DataError, match=r"`volume` of obv\(\) must have the same index"):
        obv(df["close"], shifted)
    with pytest.raises(DataError, match="numeric"):
        ad(df["high"], df["low"], df["close"].astype(str), df["volume"])


@pytest.mark.parametrize(("fast", "slow"), [(3, 10), (10, 3), (1, 1)])
def test_adosc_kernel_split_anywhere_equals_one_call(fast, slow):
    """State carrying, bit for bit, around NaN bars and across the end of the warm-up."""
    d = ohlcv("walk1").iloc[:1500]
    ins = [d[k].to_numpy().copy() for k in ("high", "low", "close", "volume")]
    ins[2][[5, 300, 301, 900]] = np.nan
    ins[3][[600]] = np.nan

    def run(cuts):
        state, out = np.zeros(4), np.full(1500, -1.0)
        for lo, hi in zip([0, *cuts], [*cuts, 1500], strict=True):
            ADOSC_SPEC.kernel(*[a[lo:hi] for a in ins], fast, slow, state, out[lo:hi])
        return out

    whole = run([])
    for cuts in ([1, 2, 3, 7, 9, 11, 12, 300, 301, 302], sorted(range(13, 1500, 97))):
        np.testing.assert_array_equal(run(cuts), whole)

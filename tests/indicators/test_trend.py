"""SAR, DMI/ADX family, Aroon (TA-Lib parity); Supertrend and Ichimoku (independent references)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.errors import DataError, InvalidParameterError
from quantlab.indicators.trend import (
    ADX,
    ADXR,
    AROON,
    AROONOSC,
    DX,
    ICHIMOKU,
    MINUS_DI,
    PLUS_DI,
    SAR,
    SUPERTREND,
    adx,
    adxr,
    aroon,
    aroonosc,
    dx,
    ichimoku,
    minus_di,
    plus_di,
    sar,
    supertrend,
)
from tests.indicators.oracle import (
    DATASETS,
    assert_matches_talib,
    assert_stream_equals_batch,
    ohlcv,
)

DMI = [(plus_di, talib.PLUS_DI), (minus_di, talib.MINUS_DI), (dx, talib.DX), (adx, talib.ADX), (adxr, talib.ADXR)]


def _hlc(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = ohlcv(name)
    return d["high"].to_numpy(), d["low"].to_numpy(), d["close"].to_numpy()


# ---------------------------------------------------------------- TA-Lib parity
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("acceleration", "maximum"), [(0.02, 0.2), (0.05, 0.3), (0.01, 0.05), (0.5, 0.3), (0.0, 0.2)])
def test_sar_talib_parity(name, acceleration, maximum):
    h, lo, _ = _hlc(name)
    assert_matches_talib(sar(h, lo, acceleration, maximum), talib.SAR(h, lo, acceleration, maximum))


def test_sar_first_direction_from_minus_dm():
    # bars 0-1 with -DM > 0 (lower low, lower high): start short, first SAR = high of bar 0
    h = np.array([10.0, 9.5, 9.0, 8.5, 8.0])
    lo = np.array([9.0, 8.0, 7.5, 7.0, 6.5])
    out = sar(h, lo)
    np.testing.assert_array_equal(out, talib.SAR(h, lo))
    assert out[1] == 10.0
    # higher low (-DM = 0): start long, first SAR = low of bar 0
    h, lo = np.array([10.0, 11.0, 12.0]), np.array([9.0, 9.5, 10.0])
    up = sar(h, lo)
    np.testing.assert_array_equal(up, talib.SAR(h, lo))
    assert up[1] == 9.0


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 5, 14, 30])
@pytest.mark.parametrize(("ours", "theirs"), DMI)
def test_dmi_family_talib_parity(name, window, ours, theirs):
    h, lo, c = _hlc(name)
    assert_matches_talib(ours(h, lo, c, window), theirs(h, lo, c, timeperiod=window))


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 5, 14, 25])
def test_aroon_talib_parity(name, window):
    h, lo, _ = _hlc(name)
    down, up = aroon(h, lo, window)
    tdown, tup = talib.AROON(h, lo, window)
    assert_matches_talib(down, tdown)
    assert_matches_talib(up, tup)
    # the oscillator crosses 0: absolute tolerance on its [-100, 100] scale
    assert_matches_talib(aroonosc(h, lo, window), talib.AROONOSC(h, lo, window), rtol=0, atol=1e-12)


def test_aroon_ties_go_to_the_newest_bar():
    h = np.array([5.0, 5.0, 5.0, 4.0, 5.0, 3.0, 3.0])
    lo = np.array([1.0, 1.0, 2.0, 1.0, 2.0, 2.0, 2.0])
    for w in (2, 3, 4):
        down, up = aroon(h, lo, w)
        tdown, tup = talib.AROON(h, lo, w)
        np.testing.assert_array_equal(up, tup)
        np.testing.assert_array_equal(down, tdown)


# ---------------------------------------------------------------- Supertrend (no TA-Lib)
def _wilder(tr: np.ndarray, window: int) -> np.ndarray:
    """Wilder smoothing of the valid values, seeded with their first simple mean (NaN skipped)."""
    out = np.full(len(tr), np.nan)
    valid = np.flatnonzero(~np.isnan(tr))
    if len(valid) < window:
        return out
    prev = tr[valid[:window]].mean()
    out[valid[window - 1]] = prev
    for i in valid[window:]:
        prev = prev + (tr[i] - prev) / window
        out[i] = prev
    return out


def _supertrend_oracle(high, low, close, window, k):
    """Straight from the definition: Wilder ATR bands around hl2 with the final-band carry rules."""
    h, lo, c = (pd.Series(a) for a in (high, low, close))
    prev_c = c.shift(1)
    tr = pd.concat([h - lo, (h - prev_c).abs(), (lo - prev_c).abs()], axis=1).max(axis=1, skipna=False)
    atr = _wilder(tr.to_numpy(), window)
    n = len(c)
    trend, direction = np.full(n, np.nan), np.full(n, np.nan)
    final_upper = final_lower = last_close = None
    is_up = False
    for i in range(n):
        if np.isnan(atr[i]) or np.isnan(close[i]):
            continue
        mid = (high[i] + low[i]) / 2
        basic_upper, basic_lower = mid + k * atr[i], mid - k * atr[i]
        if final_upper is None:
            final_upper, final_lower, is_up = basic_upper, basic_lower, False
        else:
            if basic_upper < final_upper or last_close > final_upper:
                final_upper = basic_upper
            if basic_lower > final_lower or last_close < final_lower:
                final_lower = basic_lower
            if not is_up and close[i] > final_upper:
                is_up = True
            elif is_up and close[i] < final_lower:
                is_up = False
        last_close = close[i]
        trend[i] = final_lower if is_up else final_upper
        direction[i] = 1.0 if is_up else -1.0
    return trend, direction


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize(("window", "k"), [(10, 3.0), (7, 2.0), (1, 1.0), (20, 0.5)])
def test_supertrend_matches_reference(name, window, k):
    h, lo, c = _hlc(name)
    trend, direction = supertrend(h, lo, c, window, k)
    ref_trend, ref_dir = _supertrend_oracle(h, lo, c, window, k)
    np.testing.assert_array_equal(direction, ref_dir)
    np.testing.assert_allclose(trend, ref_trend, rtol=1e-12, equal_nan=True)
    # properties: while a trend continues, the stop is below the close in an uptrend and above it
    # in a downtrend (on a flip bar the newly active band may lie on either side); both occur
    same = np.concatenate([[False], direction[1:] == direction[:-1]])
    up = same & (direction == 1.0)
    down = same & (direction == -1.0)
    assert (c[up] >= trend[up]).all() and (c[down] <= trend[down]).all()
    assert up.any() and down.any()


def test_supertrend_skips_nan_bars():
    d = ohlcv("walk2").iloc[:600].copy()
    d.iloc[[50, 51, 300], d.columns.get_loc("high")] = np.nan
    d.iloc[400, d.columns.get_loc("close")] = np.nan
    h, lo, c = (d[x].to_numpy() for x in ("high", "low", "close"))
    trend, direction = supertrend(h, lo, c, 10, 3.0)
    ref_trend, ref_dir = _supertrend_oracle(h, lo, c, 10, 3.0)
    np.testing.assert_array_equal(direction, ref_dir)
    np.testing.assert_allclose(trend, ref_trend, rtol=1e-12, equal_nan=True)
    assert np.isnan(trend[[50, 51, 300, 400, 401]]).all()


# ---------------------------------------------------------------- Ichimoku (no TA-Lib)
@pytest.mark.parametrize("name", ["aapl", "eurusd", "walk1"])
@pytest.mark.parametrize(("tenkan", "kijun", "senkou"), [(9, 26, 52), (3, 5, 7), (1, 1, 1)])
def test_ichimoku_matches_pandas(name, tenkan, kijun, senkou):
    d = ohlcv(name)
    out = ichimoku(d["high"], d["low"], d["close"], tenkan, kijun, senkou)
    assert list(out.columns) == ["tenkan", "kijun", "senkou_a", "senkou_b", "chikou"]

    def mid(w):
        return (d["high"].rolling(w).max() + d["low"].rolling(w).min()) / 2

    expected = pd.DataFrame({"tenkan": mid(tenkan), "kijun": mid(kijun)})
    expected["senkou_a"] = (expected["tenkan"] + expected["kijun"]) / 2
    expected["senkou_b"] = mid(senkou)
    expected["chikou"] = d["close"]
    pd.testing.assert_frame_equal(out, expected, check_names=False, rtol=1e-15)


def test_ichimoku_has_no_look_ahead():
    d = ohlcv("walk1")
    full = ichimoku(d["high"], d["low"], d["close"])
    for cut in (60, 200, 1000):
        part = ichimoku(d["high"].iloc[:cut], d["low"].iloc[:cut], d["close"].iloc[:cut])
        pd.testing.assert_frame_equal(part, full.iloc[:cut])


# ---------------------------------------------------------------- NaN policy, edge cases
def test_recursive_nan_bars_are_skipped():
    d = ohlcv("walk1").iloc[:500].copy()
    d.iloc[[0, 40, 41, 200], [d.columns.get_loc(c) for c in ("high", "low", "close", "high")]] = np.nan
    clean = d[["high", "low", "close"]].dropna()
    for f, _ in DMI:
        pd.testing.assert_series_equal(f(d["high"], d["low"], d["close"], 5),
                                       f(clean["high"], clean["low"], clean["close"], 5).reindex(d.index))
    hl = d[["high", "low"]].dropna()
    pd.testing.assert_series_equal(sar(d["high"], d["low"]), sar(hl["high"], hl["low"]).reindex(d.index))


def test_aroon_nan_policy_is_pandas_rolling():
    d = ohlcv("walk2").iloc[:400]
    h, lo = d["high"].to_numpy().copy(), d["low"].to_numpy().copy()
    h[[30, 150]] = np.nan
    lo[[200]] = np.nan
    w = 10

    def since(a, pick):  # bars since the newest extreme of a window of w + 1 bars
        return w - np.flatnonzero(a == pick(a))[-1]

    up_age = pd.Series(h).rolling(w + 1).apply(lambda a: since(a, np.max), raw=True).to_numpy()
    down_age = pd.Series(lo).rolling(w + 1).apply(lambda a: since(a, np.min), raw=True).to_numpy()
    down, up = aroon(h, lo, w)
    np.testing.assert_allclose(up, 100 * (w - up_age) / w, rtol=1e-15, equal_nan=True)
    np.testing.assert_allclose(down, 100 * (w - down_age) / w, rtol=1e-15, equal_nan=True)
    np.testing.assert_allclose(aroonosc(h, lo, w), 100 * (down_age - up_age) / w, atol=1e-12, equal_nan=True)


def test_short_constant_and_integer_input():
    h, lo, c = (a[:10] for a in _hlc("walk1"))
    assert np.isnan(adx(h, lo, c, 14)).all() and np.isnan(adxr(h, lo, c, 5)).all()
    assert np.isnan(np.column_stack(aroon(h, lo, 14))).all()
    assert np.isnan(np.column_stack(supertrend(h, lo, c, 10))).all()
    assert np.isnan(np.column_stack(ichimoku(h, lo, c))[:, 1:4]).all()  # kijun, senkou_a/b: 26+ bars
    assert np.isnan(sar(h[:1], lo[:1])).all()
    const = np.full(80, 7.0)
    for f, theirs in DMI:
        np.testing.assert_array_equal(f(const, const, const, 5), theirs(const, const, const, 5))
        assert (np.nan_to_num(f(const, const, const, 5)) == 0.0).all()
    np.testing.assert_array_equal(sar(const, const), talib.SAR(const, const))
    np.testing.assert_array_equal(sar(const, const)[1:], 7.0)
    down, up = aroon(const, const, 5)
    np.testing.assert_array_equal(up[5:], 100.0)
    np.testing.assert_array_equal(down[5:], 100.0)
    np.testing.assert_array_equal(aroonosc(const, const, 5)[5:], 0.0)
    trend, direction = supertrend(const, const, const, 5, 3.0)
    np.testing.assert_array_equal(trend[5:], 7.0)
    np.testing.assert_array_equal(direction[5:], -1.0)
    lines = np.column_stack(ichimoku(const, const, const, 3, 5, 7))
    np.testing.assert_array_equal(lines[6:], 7.0)
    hi, li, ci = (np.round(a * 10).astype(np.int64) for a in _hlc("walk2"))
    np.testing.assert_array_equal(adx(hi, li, ci), talib.ADX(*(a.astype(float) for a in (hi, li, ci))))
    np.testing.assert_allclose(sar(hi, li), talib.SAR(hi.astype(float), li.astype(float)), rtol=1e-15)


def test_dataframe_columns_and_window_lists():
    d1, d2 = ohlcv("walk1"), ohlcv("walk2")
    frames = {c: pd.DataFrame({"A": d1[c], "B": d2[c]}, index=d1.index) for c in ("high", "low", "close")}
    out = adx(frames["high"], frames["low"], frames["close"], 14)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["A", "B"]
    np.testing.assert_array_equal(out["B"].to_numpy(), talib.ADX(*_hlc("walk2"), 14))
    st_df = supertrend(frames["high"], frames["low"], frames["close"])
    assert st_df.columns.tolist() == [("supertrend", "A"), ("supertrend", "B"), ("direction", "A"), ("direction", "B")]
    np.testing.assert_array_equal(st_df[("direction", "A")].to_numpy(), supertrend(*_hlc("walk1"))[1])
    many = plus_di(d1["high"], d1["low"], d1["close"], [5, 14])
    assert list(many.columns) == [5, 14]
    np.testing.assert_array_equal(many[14].to_numpy(), talib.PLUS_DI(*_hlc("walk1"), 14))
    s = aroon(d1["high"], d1["low"])
    assert list(s.columns) == ["aroondown", "aroonup"] and s.index.equals(d1.index)


# ---------------------------------------------------------------- streaming
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 100), window=st.integers(2, 9), seed=st.integers(0, 1000))
def test_stream_equals_batch_every_prefix(n, window, seed):
    rng = np.random.default_rng(seed)
    c = 100 + np.cumsum(rng.normal(size=n))
    h = c + rng.uniform(0, 1, n)
    lo = c - rng.uniform(0, 1, n)
    if n > 10:
        h[rng.integers(0, n)] = np.nan
    assert_stream_equals_batch(SAR(0.02, 0.2), [h, lo], sar(h, lo))
    for cls, f in [(PLUS_DI, plus_di), (MINUS_DI, minus_di), (DX, dx), (ADX, adx), (ADXR, adxr)]:
        assert_stream_equals_batch(cls(window), [h, lo, c], f(h, lo, c, window))
    assert_stream_equals_batch(AROON(window), [h, lo], aroon(h, lo, window))
    assert_stream_equals_batch(AROONOSC(window), [h, lo], aroonosc(h, lo, window))
    assert_stream_equals_batch(SUPERTREND(window, 2.0), [h, lo, c], supertrend(h, lo, c, window, 2.0))
    assert_stream_equals_batch(ICHIMOKU(window, window + 2, 2 * window), [h, lo, c],
                               ichimoku(h, lo, c, window, window + 2, 2 * window))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [1, 0, -2, 2.5, "14", True])
def test_bad_window(bad):
    h, lo, c = _hlc("walk1")
    with pytest.raises(InvalidParameterError, match=r"`window` of adx\(\) must be an integer >= 2"):
        adx(h, lo, c, bad)
    with pytest.raises(InvalidParameterError, match=r"`window` of AROON\(\) must be an integer >= 2"):
        AROON(bad)


def test_bad_parameters():
    h, lo, c = _hlc("walk1")
    with pytest.raises(InvalidParameterError, match=r"`acceleration` of sar\(\) must be a finite number >= 0"):
        sar(h, lo, -0.1)
    with pytest.raises(InvalidParameterError, match=r"`maximum` of SAR\(\) must be a finite number >= 0"):
        SAR(0.02, float("nan"))
    with pytest.raises(InvalidParameterError, match=r"`k` of supertrend\(\) must be a finite number >= 0"):
        supertrend(h, lo, c, 10, -1.0)
    with pytest.raises(InvalidParameterError, match=r"`kijun` of ichimoku\(\) must be an integer >= 1"):
        ichimoku(h, lo, c, 9, 0)


def test_misaligned_and_non_numeric():
    d = ohlcv("walk1")
    with pytest.raises(DataError, match=r"`low` of sar\(\) must have the same length"):
        sar(d["high"], d["low"].iloc[1:])
    shifted = d["close"].copy()
    shifted.index = shifted.index + pd.Timedelta("1h")
    with pytest.raises(DataError, match=r"`close` of adx\(\) must have the same index"):
        adx(d["high"], d["low"], shifted)
    with pytest.raises(DataError, match="numeric"):
        aroon(d["high"].astype(str), d["low"])
    with pytest.raises(InvalidParameterError, match="shape"):
        supertrend(d["high"].to_numpy(), d["low"].to_numpy(), d[["close", "open"]].to_numpy())


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 120), w=st.integers(1, 15), seed=st.integers(0, 10_000),
       cuts=st.lists(st.integers(0, 120), max_size=6))
def test_rolling_argmax_argmin_equals_rescan_kernel_for_any_split(n, w, seed, cuts):
    """The block kernels give the same values (rolling_max_min_nb) and ages with TA-Lib's AROON
    tie rule, newest wins (rolling_argmax_argmin_nb, behind Aroon) as the rescan kernel, on
    tie-heavy data with NaN and infinities, however the input is split."""
    from quantlab.indicators._rolling import (
        rolling_argmax_argmin_nb,
        rolling_max_min_nb,
        rolling_max_min_state_size,
    )
    from tests.indicators.oracle import rolling_extreme_nb, rolling_extreme_state_size

    rng = np.random.default_rng(seed)
    h = rng.integers(-3, 4, n).astype(float)
    lo = rng.integers(-3, 4, n).astype(float)
    if seed % 2:
        h[rng.integers(0, n, 3)] = np.nan
        lo[rng.integers(0, n, 2)] = np.nan
    if seed % 3 == 0:
        h[rng.integers(0, n, 2)] = -np.inf
        lo[rng.integers(0, n, 2)] = np.inf
    max_h, max_l, want_h, want_l = (np.empty(n) for _ in range(4))
    rolling_extreme_nb(h, w, True, True, np.zeros(rolling_extreme_state_size(w)), max_h, want_h)
    rolling_extreme_nb(lo, w, False, True, np.zeros(rolling_extreme_state_size(w)), max_l, want_l)
    state = np.zeros(rolling_max_min_state_size(w))
    values = np.zeros(rolling_max_min_state_size(w))
    age_h, age_l, got_h, got_l = (np.empty(n) for _ in range(4))
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rolling_argmax_argmin_nb(h[a:b], lo[a:b], w, state, age_h[a:b], age_l[a:b])
        rolling_max_min_nb(h[a:b], lo[a:b], w, values, got_h[a:b], got_l[a:b])
    np.testing.assert_array_equal(age_h, want_h)
    np.testing.assert_array_equal(age_l, want_l)
    np.testing.assert_array_equal(got_h, max_h)  # the values-only kernel too, infinities included
    np.testing.assert_array_equal(got_l, max_l)


def test_long_input_matches_talib_across_blocks():
    """Longer than one steady-state block sequence many times over, with ties (rounded prices)."""
    d = ohlcv("walk1")
    h, lo, c = (np.round(np.tile(d[k].to_numpy(), 4), 1) for k in ("high", "low", "close"))
    for w in (5, 14):
        for ours, theirs in zip(aroon(h, lo, w), talib.AROON(h, lo, w), strict=True):
            assert_matches_talib(ours, theirs)
        assert_matches_talib(aroonosc(h, lo, w), talib.AROONOSC(h, lo, w))
        assert_matches_talib(plus_di(h, lo, c, w), talib.PLUS_DI(h, lo, c, w))
        assert_matches_talib(minus_di(h, lo, c, w), talib.MINUS_DI(h, lo, c, w))

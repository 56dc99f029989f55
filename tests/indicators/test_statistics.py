"""Linear regression family, CORREL, BETA (TA-Lib parity), R² (scipy), Hurst (numpy + properties)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.signal
import scipy.stats
import talib
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from quantlab.errors import DataError, InvalidParameterError
from quantlab.indicators.statistics import (
    BETA,
    BETA_SPEC,
    CORREL,
    CORREL_SPEC,
    HURST,
    HURST_SPEC,
    LINEARREG,
    LINEARREG_ANGLE,
    LINEARREG_ANGLE_SPEC,
    LINEARREG_INTERCEPT,
    LINEARREG_INTERCEPT_SPEC,
    LINEARREG_R2,
    LINEARREG_R2_SPEC,
    LINEARREG_SLOPE,
    LINEARREG_SLOPE_SPEC,
    LINEARREG_SPEC,
    TSF,
    TSF_SPEC,
    beta,
    correl,
    hurst,
    linearreg,
    linearreg_angle,
    linearreg_intercept,
    linearreg_r2,
    linearreg_slope,
    tsf,
)
from tests.indicators.oracle import (
    DATASETS,
    assert_matches_talib,
    assert_stream_equals_batch,
    ohlcv,
)

LINREG = [
    (linearreg, talib.LINEARREG),
    (linearreg_slope, talib.LINEARREG_SLOPE),
    (linearreg_intercept, talib.LINEARREG_INTERCEPT),
    (linearreg_angle, talib.LINEARREG_ANGLE),
    (tsf, talib.TSF),
]


# ---------------------------------------------------------------- TA-Lib parity
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 5, 14, 50])
@pytest.mark.parametrize(("ours", "theirs"), LINREG)
def test_linearreg_family_talib_parity(name, window, ours, theirs):
    close = ohlcv(name)["close"].to_numpy()
    # Slope and angle cross 0, so the tolerance is absolute, scaled to the price level. TA-Lib 0.8
    # keeps running sums and is itself off the exact slope by up to ~2e-13 x price (see
    # test_linearreg_slope_is_exact: quantlab's per-window sums are within 1e-15 x price); the
    # angle multiplies a slope error by up to 180/pi.
    atol = 1e-12 * close.max() * (60.0 if ours is linearreg_angle else 1.0)
    assert_matches_talib(ours(close, window), theirs(close, timeperiod=window), atol=atol)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [2, 14, 50])
def test_linearreg_slope_is_exact(name, window):
    close = ohlcv(name)["close"].to_numpy()
    seg = sliding_window_view(close, window)
    t = np.arange(window) - (window - 1) / 2
    centered = seg - seg.mean(axis=1, keepdims=True)
    slope = (centered * t).sum(axis=1) / (t * t).sum()  # centered two-pass least squares
    fit_last = seg.mean(axis=1) + slope * t[-1]
    pad = np.full(window - 1, np.nan)
    atol = 2e-15 * close.max()
    np.testing.assert_allclose(linearreg_slope(close, window), np.concatenate([pad, slope]), atol=atol, equal_nan=True)
    np.testing.assert_allclose(linearreg(close, window), np.concatenate([pad, fit_last]), rtol=1e-14, equal_nan=True)


def _exact_corr(x: np.ndarray, y: np.ndarray, w: int) -> np.ndarray:
    """Two-pass Pearson correlation of every window (independent of the running sums)."""
    xw = sliding_window_view(x, w)
    yw = sliding_window_view(y, w)
    xd = xw - xw.mean(axis=1, keepdims=True)
    yd = yw - yw.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xd * yd).sum(axis=1) / np.sqrt((xd * xd).sum(axis=1) * (yd * yd).sum(axis=1))
    return np.concatenate([np.full(w - 1, np.nan), r])


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [5, 14, 30, 100])
def test_correl_talib_parity_and_exact(name, window):
    d = ohlcv(name)
    x, y = d["high"].to_numpy(), d["close"].to_numpy()
    ours = correl(x, y, window)
    # a correlation is bounded, so an absolute tolerance is the meaningful one; TA-Lib's
    # unshifted running sums are themselves off by up to ~6e-11 on these data
    assert_matches_talib(ours, talib.CORREL(x, y, window), rtol=0, atol=1e-9)
    assert_matches_talib(ours, _exact_corr(x, y, window), rtol=0, atol=1e-12)


def test_correl_is_scale_invariant():
    d = ohlcv("eurusd")
    x, y = d["high"].to_numpy(), d["low"].to_numpy()
    base = correl(x, y, 30)
    for scale in (1e-4, 1e-9, 1e6):
        np.testing.assert_allclose(correl(x * scale, y, 30), base, atol=1e-12)


def _returns(p: np.ndarray) -> pd.Series:
    return pd.Series(p).pct_change(fill_method=None)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [1, 5, 14, 30])
def test_beta_talib_parity(name, window):
    # (window 2 is left out: a 2-return variance is so ill-conditioned on these data that TA-Lib
    # and an exact two-pass computation differ by up to 6e-8 relative; quantlab is checked
    # against the exact computation in test_beta_is_exact)
    d = ohlcv(name)
    x, y = d["close"].to_numpy(), d["high"].to_numpy()
    ours = beta(x, y, window)
    theirs = talib.BETA(x, y, window)
    # TA-Lib returns 0 where |n Σrx² − (Σrx)²| < TA_EPSILON = 1e-14 (absolute, TA-Lib >= 0.7;
    # 1e-8 before), e.g. always for window 1; exclude exactly those bars
    rx = _returns(x).to_numpy()
    sxx = pd.Series(rx * rx).rolling(window).sum().to_numpy()
    sx = pd.Series(rx).rolling(window).sum().to_numpy()
    tiny = np.abs(window * sxx - sx * sx) < 1e-13
    keep = ~tiny
    if window == 1:
        np.testing.assert_array_equal(ours[1:], 0.0)  # one return: no variance, 0 like TA-Lib
        np.testing.assert_array_equal(theirs[1:], 0.0)
    else:
        assert keep[window:].mean() > 0.99
    assert_matches_talib(ours[keep], theirs[keep], rtol=1e-9, atol=1e-9)  # beta crosses 0
    # pandas: cov(r_y, r_x) / var(r_x) over the same returns
    rxs, rys = _returns(x), _returns(y)
    if window > 1:
        expected = (rys.rolling(window).cov(rxs) / rxs.rolling(window).var()).to_numpy()
        ok = keep & ~np.isnan(expected)
        np.testing.assert_allclose(ours[ok], expected[ok], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("window", [3, 5, 14])
def test_beta_is_exact(name, window):
    d = ohlcv(name)
    x, y = d["close"].to_numpy(), d["high"].to_numpy()
    rx, ry = np.diff(x) / x[:-1], np.diff(y) / y[:-1]
    xw, yw = sliding_window_view(rx, window), sliding_window_view(ry, window)
    xc, yc = xw - xw.mean(axis=1, keepdims=True), yw - yw.mean(axis=1, keepdims=True)
    exact = np.concatenate([np.full(window, np.nan), (xc * yc).sum(axis=1) / (xc * xc).sum(axis=1)])
    ours = beta(x, y, window)
    np.testing.assert_allclose(ours, exact, rtol=1e-10, atol=1e-10, equal_nan=True)


def test_beta_regresses_returns_not_prices():
    rng = np.random.default_rng(3)
    rx = rng.normal(0, 0.01, 400)
    x = 100 * np.cumprod(1 + rx)
    y = 50 * np.cumprod(1 + 1.7 * rx)  # returns exactly 1.7 x the benchmark's
    np.testing.assert_allclose(beta(x, y, 20)[20:], 1.7, rtol=1e-9)


# ---------------------------------------------------------------- R² vs scipy
@pytest.mark.parametrize("name", ["aapl", "eurusd", "walk1"])
@pytest.mark.parametrize("window", [2, 3, 14, 60])
def test_linearreg_r2_matches_scipy(name, window):
    close = ohlcv(name)["close"].to_numpy()[:600]
    ours = linearreg_r2(close, window)
    t = np.arange(window)
    expected = np.full(len(close), np.nan)
    for i in range(window - 1, len(close)):
        seg = close[i - window + 1 : i + 1]
        expected[i] = scipy.stats.linregress(t, seg).rvalue ** 2 if np.ptp(seg) > 0 else 0.0
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12, equal_nan=True)
    # R² of the line equals r² of the price with time: consistent with the slope's sign
    slope = linearreg_slope(close, window)
    assert ((ours[window:] <= 1.0) & (ours[window:] >= 0.0)).all()
    assert np.isfinite(slope[window:]).all()


# ---------------------------------------------------------------- NaN policy, edge cases
def test_window_indicators_follow_pandas_rolling_nan_policy():
    d = ohlcv("walk1").iloc[:500]
    x = d["high"].to_numpy().copy()
    y = d["close"].to_numpy().copy()
    x[[10, 200]] = np.nan
    y[[300]] = np.nan
    w = 20
    expected = pd.Series(x).rolling(w).corr(pd.Series(y)).to_numpy()
    np.testing.assert_allclose(correl(x, y, w), expected, atol=1e-12, equal_nan=True)
    # linreg: NaN exactly where a NaN is in the window, TA-Lib values elsewhere
    want_nan = pd.Series(x).rolling(w).mean().isna().to_numpy()
    for f, _ in LINREG:
        out = f(x, w)
        np.testing.assert_array_equal(np.isnan(out), want_nan)
    r2 = linearreg_r2(x, w)
    np.testing.assert_array_equal(np.isnan(r2), want_nan)
    clean_slope = linearreg_slope(d["high"].to_numpy(), w)
    np.testing.assert_array_equal(linearreg_slope(x, w)[240:], clean_slope[240:])
    # beta: pandas policy over the returns (a NaN price spoils the two returns touching it)
    b = beta(x, y, 5)
    rx, ry = _returns(x), _returns(y)
    expected_nan = (rx.rolling(5).sum() + ry.rolling(5).sum()).isna().to_numpy()
    np.testing.assert_array_equal(np.isnan(b), expected_nan)
    h = hurst(x, 50, 2, 10)
    np.testing.assert_array_equal(np.isnan(h), pd.Series(x).rolling(50).mean().isna().to_numpy())


def test_short_constant_and_integer_input():
    short = np.arange(5.0)
    for f, _ in LINREG:
        assert np.isnan(f(short, 14)).all()
    assert np.isnan(linearreg_r2(short, 14)).all()
    assert np.isnan(correl(short, short, 30)).all()
    assert np.isnan(beta(short, short, 5)).all()
    assert np.isnan(hurst(short, 10, 2, 5)).all()
    const = np.full(60, 7.0)
    ramp = np.arange(60.0)
    np.testing.assert_array_equal(linearreg_slope(const, 14)[13:], 0.0)
    np.testing.assert_allclose(linearreg(const, 14)[13:], 7.0, rtol=1e-15)
    np.testing.assert_array_equal(linearreg_r2(const, 14)[13:], 0.0)
    np.testing.assert_array_equal(correl(const, ramp, 10)[9:], 0.0)  # undefined -> 0 (TA-Lib)
    np.testing.assert_array_equal(talib.CORREL(const, ramp, 10)[9:], 0.0)
    np.testing.assert_array_equal(beta(const, ramp + 1, 5)[5:], 0.0)
    assert np.isnan(hurst(const, 20, 2, 5)).all()
    closes = np.round(ohlcv("walk2")["close"].to_numpy()).astype(np.int64)
    np.testing.assert_array_equal(linearreg(closes, 10), linearreg(closes.astype(float), 10))
    np.testing.assert_array_equal(hurst(closes, 50), hurst(closes.astype(float), 50))


def test_dataframe_columns_and_window_lists():
    d1, d2 = ohlcv("walk1"), ohlcv("walk2")
    xs = pd.DataFrame({"A": d1["close"], "B": d2["close"]}, index=d1.index)
    ys = pd.DataFrame({"A": d1["high"], "B": d2["high"]}, index=d1.index)
    out = correl(xs, ys, 14)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["A", "B"]
    np.testing.assert_array_equal(out["B"].to_numpy(), correl(d2["close"].to_numpy(), d2["high"].to_numpy(), 14))
    many = linearreg_slope(d1["close"], [5, 20])
    assert list(many.columns) == [5, 20]
    np.testing.assert_array_equal(many[20].to_numpy(), linearreg_slope(d1["close"].to_numpy(), 20))
    s = beta(d1["close"], d1["high"])
    assert isinstance(s, pd.Series) and s.index.equals(d1.index)


# ---------------------------------------------------------------- Hurst
def _hurst_oracle(close: np.ndarray, window: int, min_lag: int, max_lag: int) -> np.ndarray:
    """Direct numpy: per window, population std of lagged log differences, polyfit on log-log."""
    y = np.log(close)
    lags = np.arange(min_lag, max_lag + 1)
    out = np.full(len(y), np.nan)
    for t in range(window - 1, len(y)):
        seg = y[t - window + 1 : t + 1]
        sd = [np.std(seg[lag:] - seg[:-lag]) for lag in lags]
        out[t] = np.polyfit(np.log(lags), np.log(sd), 1)[0]
    return out


@pytest.mark.parametrize(("name", "window", "min_lag", "max_lag"),
                         [("aapl", 100, 2, 20), ("eurusd", 60, 1, 10), ("walk1", 30, 3, 28)])
def test_hurst_matches_numpy_oracle(name, window, min_lag, max_lag):
    close = ohlcv(name)["close"].to_numpy()[:700]
    ours = hurst(close, window, min_lag, max_lag)
    np.testing.assert_allclose(ours, _hurst_oracle(close, window, min_lag, max_lag), rtol=1e-8, atol=1e-10,
                               equal_nan=True)


def _fgn(n: int, h: float, rng: np.random.Generator) -> np.ndarray:
    """Fractional Gaussian noise by Cholesky of its exact autocovariance."""
    k = np.arange(n)
    gamma = 0.5 * (np.abs(k + 1) ** (2 * h) - 2 * np.abs(k) ** (2 * h) + np.abs(k - 1) ** (2 * h))
    chol = np.linalg.cholesky(scipy.linalg.toeplitz(gamma))
    return chol @ rng.standard_normal(n)


def test_hurst_properties():
    rng = np.random.default_rng(11)
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 20_000)))
    h_walk = np.nanmean(hurst(walk, 500, 2, 20)[::50])
    assert abs(h_walk - 0.5) < 0.03
    # mean-reverting: AR(1) returns with phi = -0.5 (anti-persistent increments)
    r = scipy.signal.lfilter([1.0], [1.0, 0.5], rng.normal(0, 0.01, 20_000))  # r_t = -0.5 r_{t-1} + e_t
    h_rev = np.nanmean(hurst(100 * np.exp(np.cumsum(r)), 500, 2, 20)[::50])
    assert h_rev < 0.45  # theory for these lags: ~0.41
    # trending: fractional Brownian motion with H = 0.8
    fbm = 100 * np.exp(0.01 * np.cumsum(_fgn(1500, 0.8, rng)))
    h_fbm = np.nanmean(hurst(fbm, 300, 2, 20)[::25])
    assert 0.7 < h_fbm < 0.9
    # level input without logs (a spread that crosses 0)
    spread = np.cumsum(rng.normal(0, 1, 5000))
    assert abs(np.nanmean(hurst(spread, 500, 2, 20, log=False)[::50]) - 0.5) < 0.05
    assert np.isnan(hurst(spread, 500, 2, 20)).mean() > 0.0  # log of values <= 0 -> NaN


# ---------------------------------------------------------------- streaming
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 90), window=st.integers(2, 12), seed=st.integers(0, 1000))
def test_stream_equals_batch_every_prefix(n, window, seed):
    rng = np.random.default_rng(seed)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    y = x * np.exp(rng.normal(0, 0.01, n))
    if n > 10:
        x[rng.integers(0, n)] = np.nan
    for cls, f in [(LINEARREG, linearreg), (LINEARREG_SLOPE, linearreg_slope),
                   (LINEARREG_INTERCEPT, linearreg_intercept), (LINEARREG_ANGLE, linearreg_angle),
                   (TSF, tsf), (LINEARREG_R2, linearreg_r2)]:
        assert_stream_equals_batch(cls(window), [x], f(x, window))
    assert_stream_equals_batch(CORREL(window), [x, y], correl(x, y, window))
    assert_stream_equals_batch(BETA(window), [x, y], beta(x, y, window))
    hw = window + 3
    assert_stream_equals_batch(HURST(hw, 1, hw - 2), [x], hurst(x, hw, 1, hw - 2))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [1, 0, 2.5, "14", True])
def test_bad_window(bad):
    with pytest.raises(InvalidParameterError, match=r"`window` of linearreg\(\) must be an integer >= 2"):
        linearreg(np.arange(30.0), bad)
    with pytest.raises(InvalidParameterError, match=r"`window` of CORREL\(\) must be an integer >= 2"):
        CORREL(bad)


def test_bad_hurst_parameters():
    x = np.arange(1.0, 200.0)
    with pytest.raises(InvalidParameterError, match=r"`max_lag` of hurst\(\) must be <= window - 2 = 48"):
        hurst(x, 50, 2, 49)
    with pytest.raises(InvalidParameterError, match=r"`max_lag` of hurst\(\) must be an integer >= 6"):
        hurst(x, 50, 5, 5)
    with pytest.raises(InvalidParameterError, match=r"`min_lag` of hurst\(\) must be an integer >= 1"):
        hurst(x, 50, 0, 5)
    with pytest.raises(InvalidParameterError, match=r"`log` of HURST\(\) must be True or False"):
        HURST(50, 2, 10, log=1)


def test_misaligned_and_non_numeric():
    d = ohlcv("walk1")
    with pytest.raises(DataError, match=r"`y` of correl\(\) must have the same length"):
        correl(d["close"], d["high"].iloc[1:])
    other = d["high"].copy()
    other.index = other.index + pd.Timedelta("1h")
    with pytest.raises(DataError, match=r"`y` of beta\(\) must have the same index"):
        beta(d["close"], other)
    with pytest.raises(DataError, match="numeric"):
        linearreg(pd.Series(["a", "b", "c"]), 2)


# ---------------------------------------------------------------- kernels: split calls, long series
_SPLIT_SPECS = [
    (LINEARREG_SPEC, 1), (LINEARREG_SLOPE_SPEC, 1), (LINEARREG_INTERCEPT_SPEC, 1), (LINEARREG_ANGLE_SPEC, 1),
    (TSF_SPEC, 1), (LINEARREG_R2_SPEC, 1), (CORREL_SPEC, 2), (BETA_SPEC, 2),
]


def _run_split(spec, inputs, window, cuts):
    state = np.zeros(spec.state_size(window))
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, len(inputs[0])], strict=True):
        out = np.empty(hi - lo)
        spec.kernel(*[a[lo:hi] for a in inputs], window, state, out)
        parts.append(out)
    return np.concatenate(parts)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 400), window=st.integers(2, 40), seed=st.integers(0, 10_000))
def test_kernels_split_anywhere_equal_one_call(n, window, seed):
    # the kernels refit their running sums on blocks of `window` bars counted from the first bar
    # ever seen, and restart after NaN stretches: any split of the input must give the same bits
    rng = np.random.default_rng(seed)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    y = x * np.exp(rng.normal(0, 0.01, n))
    if n > 4:
        x[rng.integers(0, n, 3)] = np.nan
        a, b = sorted(rng.integers(0, n, 2))
        y[a : a + (b - a) // 4] = np.nan  # a NaN stretch
        x[rng.integers(0, n) :] = np.round(x[-1])  # a constant tail
    cuts = sorted(rng.integers(0, n + 1, int(rng.integers(1, 6))).tolist())
    for spec, k in _SPLIT_SPECS:
        inputs = [x] if k == 1 else [x, y]
        whole = _run_split(spec, inputs, window, [])
        np.testing.assert_array_equal(_run_split(spec, inputs, window, cuts), whole, err_msg=spec.name)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 300), window=st.integers(4, 40), seed=st.integers(0, 10_000))
def test_hurst_kernel_split_anywhere_equal_one_call(n, window, seed):
    rng = np.random.default_rng(seed)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    if n > 4:
        x[rng.integers(0, n, 2)] = np.nan
    max_lag = int(rng.integers(2, window - 1))
    params = (window, int(rng.integers(1, max_lag)), max_lag, True)
    cuts = sorted(rng.integers(0, n + 1, int(rng.integers(1, 6))).tolist())
    state_one, state_split = np.zeros(HURST_SPEC.state_size(*params)), np.zeros(HURST_SPEC.state_size(*params))
    whole = np.empty(n)
    HURST_SPEC.kernel(x, *params, state_one, whole)
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, n], strict=True):
        out = np.empty(hi - lo)
        HURST_SPEC.kernel(x[lo:hi], *params, state_split, out)
        parts.append(out)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    np.testing.assert_array_equal(state_split, state_one)


def test_long_trending_series_keeps_exact_fit():
    # 300k bars from 10 to ~1e4: rounding must not build up along the series (running sums are
    # replaced by exact ones every window), nor scale with the price level
    rng = np.random.default_rng(2)
    close = 10 * np.exp(np.cumsum(rng.normal(2.3e-5, 0.01, 300_000)))
    window = 20
    seg = sliding_window_view(close, window)
    t = np.arange(window) - (window - 1) / 2
    centered = seg - seg.mean(axis=1, keepdims=True)
    slope = (centered * t).sum(axis=1) / (t * t).sum()
    fit_last = seg.mean(axis=1) + slope * t[-1]
    top = seg.max(axis=1)
    assert np.max(np.abs(linearreg_slope(close, window)[window - 1 :] - slope) / top) < 1e-15
    assert np.max(np.abs(linearreg(close, window)[window - 1 :] - fit_last) / top) < 5e-15
    r2 = (centered * t).sum(axis=1) ** 2 / ((t * t).sum() * (centered * centered).sum(axis=1))
    np.testing.assert_allclose(linearreg_r2(close, window)[window - 1 :], r2, rtol=0, atol=1e-11)
    x, y = close[:-1], close[1:] * np.exp(rng.normal(0, 0.001, len(close) - 1))
    np.testing.assert_allclose(correl(x, y, 30), _exact_corr(x, y, 30), rtol=0, atol=1e-12)


def test_linearreg_r2_quiet_window_after_a_jump():
    # S_yy of a quiet window right after a large move cancels in running sums: R² must still
    # match the two-pass value, and a window that became constant must give exactly 0
    rng = np.random.default_rng(4)
    quiet = 100.0 + np.cumsum(rng.normal(0, 1e-6, 40))
    close = np.concatenate([np.linspace(50.0, 150.0, 30), 150 + quiet, np.full(20, 250.0)])
    window = 10
    ours = linearreg_r2(close, window)
    t = np.arange(window)
    for i in range(window - 1, len(close)):
        seg = close[i - window + 1 : i + 1]
        want = scipy.stats.linregress(t, seg).rvalue ** 2 if np.ptp(seg) > 0 else 0.0
        assert ours[i] == pytest.approx(want, rel=1e-9, abs=1e-12), i
    np.testing.assert_array_equal(ours[-11:], 0.0)

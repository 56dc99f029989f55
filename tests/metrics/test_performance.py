"""Return-based metrics against empyrical, scipy, pandas and closed forms.

Oracles: empyrical-reloaded (sharpe, sortino, calmar, omega, max drawdown, drawdown series,
annual volatility, CAGR, tail ratio, VaR, CVaR, stability, downside risk, alpha/beta),
scipy.stats (skew, kurtosis), pandas (rolling peaks), hand-made equity paths.
"""

from __future__ import annotations

import warnings

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

import quantlab.metrics as M
from quantlab.errors import DataError, InvalidParameterError

RTOL = 1e-10


# ------------------------------------------------------------------------------ fixtures
def _random_returns(n: int = 1500, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # fat-tailed, slightly positive drift
    return 3e-4 + 0.01 * rng.standard_t(4, size=n) / np.sqrt(2.0)


@pytest.fixture(scope="module")
def aapl() -> pd.Series:
    from quantlab.data import load

    return load("aapl")["close"].pct_change().dropna()


@pytest.fixture(scope="module")
def random_frame() -> pd.DataFrame:
    idx = pd.bdate_range("2015-01-01", periods=1500, tz="UTC", name="time")
    return pd.DataFrame({"a": _random_returns(seed=1), "b": _random_returns(seed=2) - 5e-4,
                         "c": _random_returns(seed=3) * 2}, index=idx)


FORMS = ["ndarray", "series", "frame", "ndarray2d"]


def _as(form: str, frame: pd.DataFrame):
    """Return (input in `form`, list of 1-D column arrays for the oracle, wrapper check)."""
    if form == "ndarray":
        return frame["a"].to_numpy(), [frame["a"].to_numpy()]
    if form == "series":
        return frame["a"], [frame["a"].to_numpy()]
    if form == "frame":
        return frame, [frame[c].to_numpy() for c in frame]
    return frame.to_numpy(), [frame[c].to_numpy() for c in frame]


def _check(result, expected: list[float], form: str, frame: pd.DataFrame, rtol: float = RTOL):
    if form in ("ndarray", "series"):
        assert isinstance(result, float)
        np.testing.assert_allclose(result, expected[0], rtol=rtol, atol=0)
    elif form == "frame":
        assert isinstance(result, pd.Series)
        assert list(result.index) == list(frame.columns)
        np.testing.assert_allclose(result.to_numpy(), expected, rtol=rtol, atol=0)
    else:
        assert isinstance(result, np.ndarray) and result.shape == (frame.shape[1],)
        np.testing.assert_allclose(result, expected, rtol=rtol, atol=0)


ORACLES = {
    # name: (quantlab call, empyrical call on one 1-D column)
    "sharpe": (lambda x: M.sharpe(x, periods_per_year=252),
               lambda c: ep.sharpe_ratio(c, annualization=252)),
    "sharpe_rf": (lambda x: M.sharpe(x, periods_per_year=252, risk_free_rate=0.03),
                  lambda c: ep.sharpe_ratio(c, risk_free=1.03 ** (1 / 252) - 1, annualization=252)),
    "sortino": (lambda x: M.sortino(x, periods_per_year=252),
                lambda c: ep.sortino_ratio(c, annualization=252)),
    "sortino_target": (lambda x: M.sortino(x, periods_per_year=365, target=1e-3),
                       lambda c: ep.sortino_ratio(c, required_return=1e-3, annualization=365)),
    "downside": (lambda x: M.downside_deviation(x, periods_per_year=252, target=-1e-3),
                 lambda c: ep.downside_risk(c, required_return=-1e-3, annualization=252)),
    "calmar": (lambda x: M.calmar(x, periods_per_year=252),
               lambda c: ep.calmar_ratio(c, annualization=252)),
    "omega": (lambda x: M.omega(x), lambda c: ep.omega_ratio(c, annualization=1)),
    "omega_thr": (lambda x: M.omega(x, threshold=2e-3),
                  lambda c: ep.omega_ratio(c, required_return=2e-3, annualization=1)),
    "max_drawdown": (M.max_drawdown, ep.max_drawdown),
    "annual_volatility": (lambda x: M.annual_volatility(x, periods_per_year=252),
                          lambda c: ep.annual_volatility(c, annualization=252)),
    "cagr": (lambda x: M.cagr(x, periods_per_year=252),
             lambda c: ep.cagr(c, annualization=252)),
    "total_return": (M.total_return, ep.cum_returns_final),
    "tail_ratio": (M.tail_ratio, ep.tail_ratio),
    "var95": (M.var_historical, lambda c: -ep.value_at_risk(c, cutoff=0.05)),
    "var99": (lambda x: M.var_historical(x, confidence=0.99),
              lambda c: -ep.value_at_risk(c, cutoff=0.01)),
    "es95": (M.es_historical, lambda c: -ep.conditional_value_at_risk(c, cutoff=0.05)),
    "es99": (lambda x: M.es_historical(x, confidence=0.99),
             lambda c: -ep.conditional_value_at_risk(c, cutoff=0.01)),
    "stability": (M.stability, ep.stability_of_timeseries),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("metric", list(ORACLES))
def test_against_empyrical_random(metric: str, form: str, random_frame: pd.DataFrame) -> None:
    ours, theirs = ORACLES[metric]
    data, columns = _as(form, random_frame)
    _check(ours(data), [theirs(c) for c in columns], form, random_frame)


@pytest.mark.parametrize("metric", list(ORACLES))
def test_against_empyrical_aapl(metric: str, aapl: pd.Series) -> None:
    ours, theirs = ORACLES[metric]
    np.testing.assert_allclose(ours(aapl), theirs(aapl.to_numpy()), rtol=RTOL, atol=0)


def test_drawdown_series_against_empyrical(random_frame: pd.DataFrame) -> None:
    ours = M.drawdown_series(random_frame)
    assert isinstance(ours, pd.DataFrame) and ours.index.equals(random_frame.index)
    np.testing.assert_allclose(ours.to_numpy(), ep.stats.drawdown_series(random_frame.to_numpy()),
                               rtol=RTOL, atol=1e-15)
    s = M.drawdown_series(random_frame["a"])
    assert isinstance(s, pd.Series) and s.index.equals(random_frame.index)
    arr = M.drawdown_series(random_frame["a"].to_numpy())
    assert isinstance(arr, np.ndarray) and arr.shape == (len(random_frame),)


def test_alpha_beta_against_empyrical(random_frame: pd.DataFrame) -> None:
    r, b = random_frame["a"], random_frame["c"] * 0.5 + random_frame["b"] * 0.1
    rf = 0.02
    rf_p = (1 + rf) ** (1 / 252) - 1
    table = M.benchmark_statistics(r, b, periods_per_year=252, risk_free_rate=rf)
    alpha, beta = ep.alpha_beta(r.to_numpy(), b.to_numpy(), risk_free=rf_p, annualization=252)
    np.testing.assert_allclose(table["beta"], beta, rtol=RTOL)
    np.testing.assert_allclose(table["alpha_annual"], alpha, rtol=1e-9)
    np.testing.assert_allclose(table["correlation"], np.corrcoef(r, b)[0, 1], rtol=RTOL)
    active = r - b
    np.testing.assert_allclose(table["information_ratio"],
                               active.mean() / active.std() * np.sqrt(252), rtol=RTOL)


# ------------------------------------------------------------------------------ scipy
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("form", FORMS)
def test_skew_kurtosis_against_scipy(form: str, bias: bool, random_frame: pd.DataFrame) -> None:
    data, columns = _as(form, random_frame)
    _check(M.skew(data, bias=bias), [stats.skew(c, bias=bias) for c in columns], form,
           random_frame, rtol=1e-9)
    _check(M.kurtosis(data, bias=bias), [stats.kurtosis(c, fisher=True, bias=bias) for c in columns],
           form, random_frame, rtol=1e-9)


def test_skew_kurtosis_skip_nan() -> None:
    r = _random_returns(300)
    r[[0, 10, 50]] = np.nan
    assert M.skew(r) == pytest.approx(stats.skew(r, nan_policy="omit"), rel=1e-10)
    assert M.kurtosis(r) == pytest.approx(stats.kurtosis(r, nan_policy="omit"), rel=1e-10)


def test_unbiased_moments_match_pandas(aapl: pd.Series) -> None:
    assert M.skew(aapl, bias=False) == pytest.approx(aapl.skew(), rel=1e-9)
    assert M.kurtosis(aapl, bias=False) == pytest.approx(aapl.kurt(), rel=1e-9)


# ------------------------------------------------------------------------------ closed forms
# Equity path 1 -> 2 -> 1 -> 1.5 -> 2.25 -> 4.5 -> 1.125 -> 2.25 (dyadic: exact in binary)
EQUITY = np.array([1.0, 2.0, 1.0, 1.5, 2.25, 4.5, 1.125, 2.25])
PATH = EQUITY[1:] / EQUITY[:-1] - 1.0


def test_drawdown_closed_form() -> None:
    # drawdowns: 0, -0.5, -0.25, 0 (2.25 >= 2: recovered), 0, -0.75, -0.5
    expected = np.array([0.0, -0.5, -0.25, 0.0, 0.0, -0.75, -0.5])
    np.testing.assert_array_equal(M.drawdown_series(PATH), expected)
    assert M.max_drawdown(PATH) == -0.75
    # spells: peak at position 1 (2.0) recovered at position 4 -> 3 bars;
    # peak at position 5 (4.5) never recovered, sample ends at position 7 -> 2 bars
    assert M.max_drawdown_duration(PATH) == 3.0
    assert M.average_drawdown(PATH) == pytest.approx(expected.mean(), rel=1e-15)
    assert M.ulcer_index(PATH) == pytest.approx(np.sqrt(np.mean(expected**2)), rel=1e-15)
    assert M.total_return(PATH) == 1.25
    assert M.cagr(PATH, periods_per_year=7) == pytest.approx(1.25, rel=1e-15)
    assert M.calmar(PATH, periods_per_year=7) == pytest.approx(1.25 / 0.75, rel=1e-15)


def test_drawdown_unrecovered_spell_is_longest() -> None:
    r = np.array([0.1, -0.1, 0.2, -0.05, -0.05, 0.01, 0.01, 0.01])
    # peak at position 3 (1.1*0.9*1.2=1.188) never regained: 8 - 3 = 5 bars
    assert M.max_drawdown_duration(r) == 5.0
    # a first-bar loss is a drawdown from the initial capital (position 0)
    assert M.max_drawdown_duration(np.array([-0.1, 0.2])) == 2.0
    assert M.max_drawdown_duration(np.array([0.01, 0.02])) == 0.0


def test_drawdown_duration_timedelta() -> None:
    idx = pd.date_range("2024-01-01", periods=len(PATH), freq="D", tz="UTC")
    s = pd.Series(PATH, index=idx)
    # peak bar idx[0] (position 1) to recovery bar idx[3] (position 4)
    assert M.max_drawdown_duration(s, unit="timedelta") == pd.Timedelta(days=3)
    frame = pd.DataFrame({"x": PATH, "flat": 0.0}, index=idx)
    out = M.max_drawdown_duration(frame, unit="timedelta")
    assert out["x"] == pd.Timedelta(days=3) and out["flat"] == pd.Timedelta(0)
    with pytest.raises(InvalidParameterError, match="`unit` of max_drawdown_duration"):
        M.max_drawdown_duration(PATH, unit="timedelta")
    with pytest.raises(InvalidParameterError, match="Did you mean 'bars'"):
        M.max_drawdown_duration(PATH, unit="bar")


def test_drawdown_against_pandas(aapl: pd.Series) -> None:
    equity = (1 + aapl).cumprod()
    peak = equity.cummax().clip(lower=1.0)
    dd = equity / peak - 1
    pd.testing.assert_series_equal(M.drawdown_series(aapl), dd, rtol=1e-12, check_names=False)
    assert M.ulcer_index(aapl) == pytest.approx(np.sqrt((dd**2).mean()), rel=1e-12)
    under = dd < 0
    spell = (under != under.shift()).cumsum()[under]
    longest_underwater = spell.value_counts().max()
    # duration counts the recovery bar too (when recovered), so it is the underwater run + 1
    # or the run itself if the run reaches the end of the sample
    dur = M.max_drawdown_duration(aapl)
    assert dur in (longest_underwater, longest_underwater + 1)


# ------------------------------------------------------------------------------ NaN, degenerate
def test_nan_returns_are_skipped(random_frame: pd.DataFrame) -> None:
    r = random_frame["a"].copy()
    r.iloc[[0, 5, 100]] = np.nan
    clean = r.dropna()
    for metric in ("sharpe", "sortino", "calmar", "omega", "max_drawdown", "cagr", "var95",
                   "es95", "tail_ratio", "annual_volatility", "stability"):
        ours, _ = ORACLES[metric]
        assert ours(r) == pytest.approx(ours(clean), rel=1e-12), metric
    dd = M.drawdown_series(r)
    assert np.isnan(dd.iloc[[0, 5, 100]]).all()
    np.testing.assert_allclose(dd.dropna(), M.drawdown_series(clean), rtol=1e-12)
    # a column with NaN inside a frame is handled per column
    frame = random_frame.copy()
    frame.iloc[:10, 1] = np.nan
    out = M.var_historical(frame)
    assert out["b"] == pytest.approx(M.var_historical(frame["b"].dropna()), rel=1e-12)
    assert out["a"] == pytest.approx(M.var_historical(frame["a"]), rel=1e-12)


def test_zero_dispersion_is_nan_without_warnings() -> None:
    const = np.full(50, 0.001)
    flat = np.zeros((50, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(M.sharpe(const, periods_per_year=252))
        assert np.isnan(M.sharpe(np.full(3, 0.1), periods_per_year=252))  # mean != 0.1 exactly
        assert np.isnan(M.sortino(const, periods_per_year=252))
        assert np.isnan(M.calmar(const, periods_per_year=252))
        assert np.isnan(M.omega(const))
        assert np.isnan(M.skew(const)) and np.isnan(M.kurtosis(const))
        assert np.isnan(M.tail_ratio(flat)).all()
        assert np.isnan(M.sharpe(flat, periods_per_year=252)).all()
        assert np.isnan(M.sharpe(np.array([0.01]), periods_per_year=252))
        assert M.max_drawdown(const) == 0.0
        assert np.isnan(M.sharpe(np.full((10, 2), np.nan), periods_per_year=252)).all()
        assert np.isnan(M.var_historical(np.full(10, np.nan)))
        s = M.summary(pd.Series(const), periods_per_year=252)
        assert np.isnan(s["sharpe"])


@pytest.mark.parametrize("bad", [np.array([]), np.empty((0, 3)), np.empty((5, 0)), [],
                                 pd.Series([], dtype=float), pd.DataFrame()])
def test_empty_input_raises(bad) -> None:
    for call in (lambda x: M.sharpe(x, periods_per_year=252), M.max_drawdown, M.var_historical,
                 M.skew, M.drawdown_series):
        with pytest.raises(DataError, match="must be non-empty"):
            call(bad)


def test_bad_parameters_follow_template() -> None:
    r = _random_returns(100)
    with pytest.raises(InvalidParameterError, match=r"`periods_per_year` of sharpe\(\) must be"):
        M.sharpe(r, periods_per_year=0)
    with pytest.raises(InvalidParameterError, match=r"`periods_per_year` of sharpe\(\) must be"):
        M.sharpe(r, periods_per_year=None)
    with pytest.raises(TypeError):
        M.sharpe(r, 252)  # keyword-only
    with pytest.raises(InvalidParameterError, match=r"`confidence` of var_historical\(\)"):
        M.var_historical(r, confidence=95)
    with pytest.raises(InvalidParameterError, match=r"`quantile` of tail_ratio\(\)"):
        M.tail_ratio(r, quantile=0.3)
    with pytest.raises(InvalidParameterError, match=r"`risk_free_rate` of sharpe\(\)"):
        M.sharpe(r, periods_per_year=252, risk_free_rate=-2)
    with pytest.raises(DataError, match="numeric"):
        M.sharpe(pd.Series(["a", "b"]), periods_per_year=252)


# ------------------------------------------------------------------------------ 2-D sweeps
def test_many_columns_match_numpy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(1e-4, 0.01, (5000, 300))
    expected = x.mean(0) / x.std(0, ddof=1) * np.sqrt(8760)
    np.testing.assert_allclose(M.sharpe(x, periods_per_year=8760), expected, rtol=1e-10)
    np.testing.assert_allclose(M.max_drawdown(x), ep.max_drawdown(x), rtol=1e-10)
    fortran = np.asfortranarray(x)
    np.testing.assert_allclose(M.sharpe(fortran, periods_per_year=8760), expected, rtol=1e-10)


# ------------------------------------------------------------------------------ properties
finite_returns = arrays(np.float64, st.integers(3, 80),
                        elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False))


@settings(max_examples=60, deadline=None)
@given(r=finite_returns, scale=st.floats(0.01, 100.0))
def test_sharpe_invariant_to_positive_scaling(r: np.ndarray, scale: float) -> None:
    base = M.sharpe(r, periods_per_year=252)
    scaled = M.sharpe(r * scale, periods_per_year=252)
    if np.isnan(base) or np.std(r) < 1e-9:
        return
    assert scaled == pytest.approx(base, rel=1e-7, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(r=arrays(np.float64, st.integers(1, 80),
                elements=st.floats(-0.999, 5.0, allow_nan=False, allow_subnormal=False)))
def test_max_drawdown_in_unit_interval(r: np.ndarray) -> None:
    mdd = M.max_drawdown(r)
    assert -1.0 <= mdd <= 0.0
    assert mdd == pytest.approx(float(np.min(M.drawdown_series(r))), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(r=finite_returns, c1=st.floats(0.5, 0.99), c2=st.floats(0.5, 0.99))
def test_var_grows_with_confidence(r: np.ndarray, c1: float, c2: float) -> None:
    low, high = sorted((c1, c2))
    assert M.var_historical(r, confidence=high) >= M.var_historical(r, confidence=low) - 1e-15
    assert M.es_historical(r, confidence=high) >= M.es_historical(r, confidence=low) - 1e-15
    assert M.es_historical(r, confidence=low) >= M.var_historical(r, confidence=low) - 1e-15


# ------------------------------------------------------------------------------ periods per year
def _idx(**kw) -> pd.DatetimeIndex:
    return pd.date_range(tz="UTC", **kw)


@pytest.mark.parametrize("index, expected", [
    (pd.bdate_range("2020-01-01", periods=300, tz="UTC"), 252.0),
    (_idx(start="2020-01-01", periods=300, freq="D"), 365.0),
    (_idx(start="2020-01-01", periods=24 * 60, freq="h"), 8760.0),
    (_idx(start="2020-01-01", periods=12 * 24 * 30, freq="5min"), 365.0 * 288),
    (_idx(start="2020-01-03", periods=100, freq="W-FRI"), 52.0),
    (_idx(start="2020-01-31", periods=40, freq="ME"), 12.0),
    (_idx(start="2020-03-31", periods=20, freq="QE"), 4.0),
    (_idx(start="2000-12-31", periods=20, freq="YE"), 1.0),
])
def test_infer_periods_per_year(index: pd.DatetimeIndex, expected: float) -> None:
    assert M.infer_periods_per_year(index) == expected


def test_infer_fx_hourly_and_equity_session() -> None:
    from quantlab.data import load

    eurusd = load("eurusd")  # Dukascopy hourly, Sunday 22:00 to Friday 22:00 UTC
    assert M.infer_periods_per_year(eurusd.index) == 6240.0
    days = pd.bdate_range("2024-01-01", periods=60, tz="America/New_York")
    bars = [d + pd.Timedelta(hours=9, minutes=30) + pd.Timedelta(minutes=5 * k)
            for d in days for k in range(78)]
    assert M.infer_periods_per_year(pd.DatetimeIndex(bars)) == 252.0 * 78


def test_infer_refuses_without_datetime_index() -> None:
    with pytest.raises(InvalidParameterError, match="Pass periods_per_year explicitly"):
        M.infer_periods_per_year(pd.RangeIndex(10))
    with pytest.raises(InvalidParameterError, match=r"`periods_per_year` of summary\(\)"):
        M.summary(pd.Series(_random_returns(50)))
    with pytest.raises(InvalidParameterError, match="Pass periods_per_year explicitly"):
        M.summary(_random_returns(50))
    odd = pd.DatetimeIndex(pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(np.arange(20) * 3.5, "D"))
    with pytest.raises(InvalidParameterError, match="fits no rule"):
        M.infer_periods_per_year(odd)


# ------------------------------------------------------------------------------ summary
def test_summary_series(random_frame: pd.DataFrame) -> None:
    r = random_frame["a"].rename("strat")
    s = M.summary(r)
    assert isinstance(s, pd.Series) and s.name == "strat" and s.dtype == np.float64
    assert len(s) >= 25
    assert s["periods_per_year"] == 252.0  # inferred from business days and reported
    assert s["n_periods"] == len(r)
    assert s["sharpe"] == pytest.approx(ep.sharpe_ratio(r.to_numpy(), annualization=252), rel=RTOL)
    assert s["cagr"] == pytest.approx(ep.cagr(r.to_numpy(), annualization=252), rel=RTOL)
    assert s["max_drawdown"] == pytest.approx(ep.max_drawdown(r.to_numpy()), rel=RTOL)
    assert s["var_99"] == pytest.approx(-ep.value_at_risk(r.to_numpy(), 0.01), rel=RTOL)
    assert s["excess_kurtosis"] == pytest.approx(stats.kurtosis(r), rel=1e-9)
    assert s["worst_period_return"] == r.min() and s["best_period_return"] == r.max()
    assert s["positive_periods_share"] == pytest.approx((r > 0).mean())
    days = M.max_drawdown_duration(r, unit="timedelta") / pd.Timedelta(days=1)
    assert s["max_drawdown_duration_days"] == days
    explicit = M.summary(r, periods_per_year=260)
    assert explicit["periods_per_year"] == 260.0
    assert explicit["sharpe"] == pytest.approx(s["sharpe"] * np.sqrt(260 / 252), rel=1e-12)


def test_summary_frame_and_extras(random_frame: pd.DataFrame) -> None:
    table = M.summary(random_frame, periods_per_year=252, benchmark=random_frame["c"],
                      positions=np.ones(random_frame.shape))
    assert isinstance(table, pd.DataFrame) and list(table.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(table.loc["sharpe"], M.sharpe(random_frame, periods_per_year=252))
    assert table.loc["beta", "c"] == pytest.approx(1.0)
    assert (table.loc["exposure"] == 1.0).all()
    assert table.loc["turnover_annual", "a"] == pytest.approx(252 / len(random_frame))
    trades = np.array([10.0, -5.0, 3.0])
    s = M.summary(random_frame["a"], trades=trades)
    assert s["n_trades"] == 3 and s["profit_factor"] == pytest.approx(13 / 5)
    with pytest.raises(DataError, match="`trades` of summary"):
        M.summary(random_frame, trades=trades)
    with pytest.raises(DataError, match="`benchmark` of summary"):
        M.summary(random_frame["a"], benchmark=random_frame["c"].iloc[::-1])
    with pytest.raises(DataError, match="`positions` of summary"):
        M.summary(random_frame["a"], positions=np.ones(3))


def test_summary_hourly_crypto_inferred() -> None:
    idx = _idx(start="2023-01-01", periods=24 * 90, freq="h")
    r = pd.Series(np.random.default_rng(5).normal(0, 0.003, len(idx)), index=idx)
    s = M.summary(r)
    assert s["periods_per_year"] == 8760.0
    assert s["annual_volatility"] == pytest.approx(r.std() * np.sqrt(8760), rel=1e-12)


def test_per_period_rate() -> None:
    assert M.per_period_rate(0.1, 12) == pytest.approx(1.1 ** (1 / 12) - 1, rel=1e-15)
    assert M.annual_return(np.array([0.01, 0.03]), periods_per_year=12) == pytest.approx(0.24)


@pytest.mark.parametrize("freq", ["2D", "48h", "2B", "3D"])
def test_multi_day_bars_are_not_annualized_as_daily(freq):
    # 2-day bars have ~183 (24/7) or ~126 (weekdays) periods a year, not 365/252: inferring
    # "daily" would inflate Sharpe by sqrt(2). No rule fits, so the caller must say.
    index = (pd.bdate_range("2020-01-01", periods=300, freq=freq) if freq.endswith("B")
             else pd.date_range("2020-01-01", periods=300, freq=freq))
    with pytest.raises(InvalidParameterError, match="periods_per_year"):
        M.infer_periods_per_year(index)

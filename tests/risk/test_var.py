"""VaR / ES forecasts of quantlab.risk.var against independent oracles.

Oracles: pandas ``rolling(...).quantile/mean/std/skew/kurt``, ``quantlab.metrics`` (numpy
percentile), scipy.stats (norm, t, skew, kurtosis), scipy.integrate.quad of quantile functions,
plain Python recursions written here, and the true conditional volatility of
``quantlab.data.synthetic.garch``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from quantlab.data.synthetic import garch as simulate_garch
from quantlab.errors import ConvergenceWarning, DataError, InvalidParameterError
from quantlab.metrics.tail import es_historical, var_historical
from quantlab.risk.backtests import kupiec
from quantlab.risk.var import METHODS, NU_BOUNDS, es, var

CLOSED_FORM = ("historical", "parametric", "student_t", "cornish_fisher", "ewma")


def _returns(n: int = 800, seed: int = 0, nan_at: tuple[int, ...] = ()) -> pd.Series:
    rng = np.random.default_rng(seed)
    r = pd.Series(rng.standard_t(5, n) * 0.01 + 0.0003,
                  index=pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC"), name="r")
    r.iloc[list(nan_at)] = np.nan
    return r


def _oracle_quantile(r: pd.Series, window: int, min_periods: int, alpha: float) -> pd.Series:
    return -r.rolling(window, min_periods=min_periods).quantile(alpha, interpolation="linear").shift(1)


# ----------------------------------------------------------------------------- historical
@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.one_of(st.floats(-0.125, 0.125, allow_nan=False, width=32),
                            st.sampled_from([0.0, 0.01, -0.01, np.nan])),  # ties and NaN
                  min_size=3, max_size=120),
    window=st.integers(2, 30),
    mp_frac=st.floats(0.0, 1.0),
    confidence=st.sampled_from([0.5, 0.9, 0.95, 0.975, 0.99, 0.999, 0.3]),
)
def test_rolling_historical_equals_pandas_rolling_quantile(data, window, mp_frac, confidence):
    r = pd.Series(np.asarray(data, dtype=np.float64))
    if len(r) < window + 1:
        r = pd.concat([r, pd.Series(np.zeros(window + 1 - len(r)))], ignore_index=True)
    min_periods = max(1, int(round(mp_frac * window)))
    alpha = round(1.0 - confidence, 12)
    got = var(r, confidence=confidence, window=window, min_periods=min_periods)
    want = _oracle_quantile(r, window, min_periods, alpha)
    pd.testing.assert_series_equal(got, want, check_exact=False, atol=1e-12, rtol=0)


def test_rolling_historical_on_long_data_with_ties_and_nan():
    rng = np.random.default_rng(3)
    r = pd.Series(np.round(rng.normal(0, 0.01, 5000), 3))  # heavy ties
    r.iloc[rng.choice(5000, 60, replace=False)] = np.nan
    for confidence in (0.95, 0.99):
        got = var(r, confidence=confidence, window=250, min_periods=240)
        want = _oracle_quantile(r, 250, 240, round(1 - confidence, 12))
        np.testing.assert_allclose(got, want, atol=1e-12, rtol=0)
    # default min_periods = window: every window touching a NaN is NaN (pandas' rule)
    got = var(r, window=250)
    np.testing.assert_allclose(got, _oracle_quantile(r, 250, 250, 0.01), atol=1e-12, rtol=0)


def test_rolling_historical_es_equals_metrics_es_on_every_window():
    r = _returns(600, seed=1, nan_at=(50, 51, 300))
    window, mp = 100, 90
    got = es(r, confidence=0.95, window=window, min_periods=mp)
    vals = r.to_numpy()
    for t in range(len(r)):
        past = vals[max(0, t - window):t]
        past = past[~np.isnan(past)]
        if t == 0 or past.size < mp:
            assert np.isnan(got.iloc[t])
        else:
            assert got.iloc[t] == pytest.approx(es_historical(past, confidence=0.95), abs=1e-13)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_scalar_historical_equals_metrics(confidence):
    r = _returns(700, seed=2, nan_at=(5, 400))
    frame = pd.DataFrame({"a": r, "b": _returns(700, seed=3).to_numpy()}, index=r.index)
    assert var(r, confidence=confidence, window=None) == pytest.approx(
        var_historical(r, confidence=confidence), abs=1e-14)
    assert es(r, confidence=confidence, window=None) == pytest.approx(
        es_historical(r, confidence=confidence), abs=1e-14)
    pd.testing.assert_series_equal(var(frame, confidence=confidence, window=None),
                                   var_historical(frame, confidence=confidence), atol=1e-14,
                                   check_names=False)
    np.testing.assert_allclose(es(frame.to_numpy(), confidence=confidence, window=None),
                               es_historical(frame.to_numpy(), confidence=confidence), atol=1e-14)


def test_input_types_series_frame_ndarray_agree():
    r = _returns(400, seed=4)
    frame = pd.DataFrame({"x": r, "y": -r.to_numpy()[::-1]}, index=r.index)
    for method in CLOSED_FORM:
        got = var(frame, method=method, window=60)
        assert isinstance(got, pd.DataFrame) and got.index.equals(frame.index)
        for col in frame:
            pd.testing.assert_series_equal(got[col], var(frame[col], method=method, window=60))
        arr = var(frame.to_numpy(), method=method, window=60)
        assert isinstance(arr, np.ndarray) and arr.shape == frame.shape
        np.testing.assert_array_equal(arr, got.to_numpy())
        one = var(r.to_numpy(), method=method, window=60)
        assert one.shape == (400,)


# ----------------------------------------------------------------------------- parametric family
def _moments(r: pd.Series, window: int):
    roll = r.rolling(window)
    return (roll.mean().shift(1), roll.std().shift(1), roll.skew().shift(1), roll.kurt().shift(1))


@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_parametric_equals_scipy_norm(confidence):
    r = _returns(700, seed=5)
    alpha = round(1 - confidence, 12)
    mu, sd, _, _ = _moments(r, 120)
    want_var = -stats.norm.ppf(alpha, loc=mu, scale=sd)
    want_es = -(mu - sd * stats.norm.pdf(stats.norm.ppf(alpha)) / alpha)
    np.testing.assert_allclose(var(r, method="parametric", confidence=confidence, window=120),
                               want_var, rtol=1e-10, atol=1e-14)
    got_es = es(r, method="parametric", confidence=confidence, window=120)
    np.testing.assert_allclose(got_es, want_es, rtol=1e-10, atol=1e-14)
    # the ES formula against a numerical tail integral of scipy's quantile function, a few rows
    for t in (120, 400, 699):
        loc, scale = mu.iloc[t], sd.iloc[t]
        tail = integrate.quad(lambda u, loc=loc, scale=scale: stats.norm.ppf(u, loc, scale),
                              0, alpha)[0]
        assert got_es.iloc[t] == pytest.approx(-tail / alpha, rel=1e-7)


@pytest.mark.parametrize("nu", [None, 6.0])
def test_student_t_equals_scipy_t(nu):
    r = _returns(700, seed=6)
    alpha = 0.01
    mu, sd, _, kurt = _moments(r, 150)
    if nu is None:
        dof = np.clip(np.where(kurt > 0, 4 + 6 / kurt, NU_BOUNDS[1]), *NU_BOUNDS)
        dof = pd.Series(np.where(kurt.isna(), np.nan, dof), index=r.index)
    else:
        dof = pd.Series(nu, index=r.index)
    scale = sd * np.sqrt((dof - 2) / dof)
    got = var(r, method="student_t", window=150, nu=nu)
    np.testing.assert_allclose(got, -stats.t.ppf(alpha, dof, loc=mu, scale=scale),
                               rtol=1e-9, atol=1e-14)
    # matched variance: the scaled t has the window's standard deviation
    t = 500
    assert stats.t(dof.iloc[t], scale=scale.iloc[t]).std() == pytest.approx(sd.iloc[t], rel=1e-12)
    got_es = es(r, method="student_t", window=150, nu=nu)
    for t in (150, 420, 699):
        dist = stats.t(dof.iloc[t], loc=mu.iloc[t], scale=scale.iloc[t])
        tail = dist.expect(lambda x: x, ub=dist.ppf(alpha), conditional=True)
        assert got_es.iloc[t] == pytest.approx(-tail, rel=1e-7)


def _cf_quantile(u: float, s: float, k: float) -> float:
    z = stats.norm.ppf(u)
    return z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36


@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_cornish_fisher_equals_closed_form_with_scipy_moments(confidence):
    r = _returns(500, seed=7)
    window = 120
    alpha = round(1 - confidence, 12)
    got_var = var(r, method="cornish_fisher", confidence=confidence, window=window)
    got_es = es(r, method="cornish_fisher", confidence=confidence, window=window)
    vals = r.to_numpy()
    for t in range(window, len(r), 37):
        past = vals[t - window:t]
        s = stats.skew(past, bias=False)
        k = stats.kurtosis(past, bias=False)
        mu, sd = past.mean(), past.std(ddof=1)
        assert got_var.iloc[t] == pytest.approx(-(mu + sd * _cf_quantile(alpha, s, k)), rel=1e-9)
        integral = integrate.quad(lambda u, s=s, k=k: _cf_quantile(u, s, k), 0, alpha)[0]
        assert got_es.iloc[t] == pytest.approx(-(mu + sd * integral / alpha), rel=1e-7)
    assert got_var.iloc[:window].isna().all()


def test_ewma_equals_plain_recursion_and_pandas_ewm():
    r = _returns(400, seed=8, nan_at=(150,))
    lam, window, z = 0.94, 30, stats.norm.ppf(0.01)
    vals = r.to_numpy()
    want = np.full(len(r), np.nan)
    s2 = np.mean(vals[:window] ** 2)
    want[window] = s2
    for t in range(window + 1, len(r)):
        if not np.isnan(vals[t - 1]):
            s2 = lam * s2 + (1 - lam) * vals[t - 1] ** 2
        want[t] = s2
    np.testing.assert_allclose(var(r, method="ewma", window=window, lam=lam),
                               -np.sqrt(want) * z, rtol=1e-12)
    np.testing.assert_allclose(es(r, method="ewma", window=window, lam=lam),
                               np.sqrt(want) * stats.norm.pdf(z) / 0.01, rtol=1e-12)
    # whole sample: the normalized EWMA of squared returns (pandas ewm, adjust=True)
    s2_all = (r**2).ewm(alpha=1 - lam, adjust=True).mean().iloc[-1]
    assert var(r, method="ewma", window=None, lam=lam) == pytest.approx(-math.sqrt(s2_all) * z,
                                                                         rel=1e-12)


def test_scalar_parametric_family_uses_whole_sample_moments():
    r = _returns(300, seed=9)
    vals = r.to_numpy()
    mu, sd = vals.mean(), vals.std(ddof=1)
    s, k = stats.skew(vals, bias=False), stats.kurtosis(vals, bias=False)
    assert var(r, method="parametric", window=None) == pytest.approx(
        -stats.norm.ppf(0.01, mu, sd), rel=1e-12)
    assert var(r, method="cornish_fisher", window=None) == pytest.approx(
        -(mu + sd * _cf_quantile(0.01, s, k)), rel=1e-10)
    dof = float(np.clip(4 + 6 / k, *NU_BOUNDS))
    assert var(r, method="student_t", window=None) == pytest.approx(
        -stats.t.ppf(0.01, dof, mu, sd * math.sqrt((dof - 2) / dof)), rel=1e-10)


# ----------------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c1=st.floats(0.80, 0.985), gap=st.floats(0.002, 0.014),
       method=st.sampled_from(["historical", "parametric", "student_t", "ewma"]))
def test_var_grows_with_confidence_and_es_exceeds_var(seed, c1, gap, method):
    r = _returns(160, seed=seed)
    low = var(r, method=method, confidence=c1, window=100)
    high = var(r, method=method, confidence=c1 + gap, window=100)
    ok = low.notna()
    assert (high[ok] >= low[ok] - 1e-15).all()
    shortfall = es(r, method=method, confidence=c1, window=100)
    assert (shortfall[ok] >= low[ok] - 1e-15).all()


def test_cornish_fisher_monotone_and_es_above_var_for_moderate_shape():
    r = _returns(600, seed=11)  # t(5) returns: moderate skewness and kurtosis over 250 bars
    levels = [var(r, method="cornish_fisher", confidence=c, window=250) for c in (0.9, 0.95, 0.99)]
    ok = levels[0].notna()
    assert (levels[1][ok] > levels[0][ok]).all() and (levels[2][ok] > levels[1][ok]).all()
    shortfall = es(r, method="cornish_fisher", confidence=0.99, window=250)
    assert (shortfall[ok] >= levels[2][ok]).all()


# ----------------------------------------------------------------------------- causality
@pytest.mark.parametrize("method", CLOSED_FORM)
def test_closed_form_methods_are_causal(method):
    r = _returns(500, seed=12)
    full_v = var(r, method=method, window=100)
    full_e = es(r, method=method, window=100)
    for cut in (101, 250, 499):  # truncating the future changes no past forecast
        pd.testing.assert_series_equal(var(r.iloc[:cut], method=method, window=100), full_v.iloc[:cut])
        pd.testing.assert_series_equal(es(r.iloc[:cut], method=method, window=100), full_e.iloc[:cut])
    for t in (150, 300):  # a shock at t moves nothing up to and including t
        shocked = r.copy()
        shocked.iloc[t] = -0.5
        got = var(shocked, method=method, window=100)
        pd.testing.assert_series_equal(got.iloc[:t + 1], full_v.iloc[:t + 1])
        assert got.iloc[t + 1] != full_v.iloc[t + 1]


def test_garch_and_fhs_are_causal():
    sim = simulate_garch(700, seed=13)
    r = sim.returns
    kw = dict(window=300, refit_every=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for method in ("garch", "filtered_historical"):
            full = var(r, method=method, **kw)
            assert full.iloc[:300].isna().all() and full.iloc[-1] > 0
            prefix = var(r.iloc[:520], method=method, **kw)
            pd.testing.assert_series_equal(prefix, full.iloc[:520])
            shocked = r.copy()
            shocked.iloc[650] = -0.3
            pd.testing.assert_series_equal(var(shocked, method=method, **kw).iloc[:651],
                                           full.iloc[:651])
        # fhs = -sigma_t * historical quantile of r/sigma over the previous window (oracle: pandas)
        from quantlab.regime.garch import garch_volatility
        sigma = garch_volatility(r, window=None, refit_every=150, min_train=300)
        z = r / sigma
        want = -sigma * z.rolling(300).quantile(0.01).shift(1)
        np.testing.assert_allclose(var(r, method="filtered_historical", **kw), want, atol=1e-12)
        np.testing.assert_allclose(var(r, method="garch", **kw), -sigma * stats.norm.ppf(0.01),
                                   rtol=1e-12)


def test_garch_var_exceptions_pass_kupiec_on_garch_returns():
    sim = simulate_garch(3500, seed=21)
    r, true_vol = sim.returns, sim.volatility
    z = stats.norm.ppf(0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = var(r, method="garch", window=500, refit_every=250)
    true_var = pd.Series(-true_vol * z, index=r.index)
    tested = fitted.notna()
    for forecast in (true_var, fitted):
        hits = (-r[tested] > forecast[tested]).to_numpy()
        result = kupiec(hits, confidence=0.99, level=0.05)
        assert not result.reject, result
        assert 15 <= result.n_exceptions <= 48  # 3000 bars x 1 %
    # the fitted forecast tracks the true conditional volatility
    assert np.corrcoef(fitted[tested], true_var[tested])[0, 1] > 0.9


# ----------------------------------------------------------------------------- bad inputs
def test_bad_inputs_name_the_parameter():
    r = _returns(300)
    with pytest.raises(InvalidParameterError, match="`method` of var.*Did you mean 'historical'"):
        var(r, method="histroical")
    with pytest.raises(InvalidParameterError, match="`confidence` of es"):
        es(r, confidence=1.2)
    with pytest.raises(InvalidParameterError, match="`confidence`"):
        var(r, confidence=0.0)
    for bad in (1, 2.5, True, "250"):
        with pytest.raises(InvalidParameterError, match="`window` of var"):
            var(r, window=bad)
    with pytest.raises(InvalidParameterError, match="`min_periods`"):
        var(r, window=50, min_periods=51)
    with pytest.raises(InvalidParameterError, match="`min_periods`"):
        var(r, method="student_t", window=50, min_periods=3)
    with pytest.raises(InvalidParameterError, match="`lam`"):
        var(r, method="ewma", lam=1.0)
    with pytest.raises(InvalidParameterError, match="`nu`"):
        var(r, method="student_t", nu=2.0)
    with pytest.raises(InvalidParameterError, match="`window` of var.*'garch'"):
        var(r, method="garch", window=None)
    with pytest.raises(InvalidParameterError, match="`window` of var.*>= 50"):
        var(r, method="filtered_historical", window=20)
    with pytest.raises(DataError, match="`returns` of var.*longer than window=250"):
        var(r.iloc[:250])
    with pytest.raises(DataError, match="`returns` of es"):
        es(pd.Series(["a", "b", "c"]), window=2)
    with pytest.raises(DataError, match="at least 4 non-NaN"):
        var([0.01, -0.02, 0.0], method="cornish_fisher", window=None)
    assert set(METHODS) == set(CLOSED_FORM) | {"garch", "filtered_historical"}

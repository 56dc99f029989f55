"""VaR and ES backtests of quantlab.risk.backtests, and the VaR backtest figure.

Reference vectors: /work/shared/REFERENCES.md, section "VaR backtesting" (Kupiec 1995;
Christoffersen 1998; BCBS 1996 traffic light) and "Expected-shortfall backtest" (Acerbi &
Szekely 2014). Other oracles: scipy.stats.chi2 / binom, and formulas written out here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import stats

from quantlab.errors import DataError, InvalidParameterError
from quantlab.plotting.risk import var_backtest_figure
from quantlab.risk.backtests import (
    backtest_var,
    christoffersen,
    conditional_coverage,
    es_backtest,
    kupiec,
    traffic_light,
)

# ----------------------------------------------------------------------------- Kupiec
# REFERENCES.md "VaR backtesting": non-rejection ranges at 5 % (T, p) -> [lo, hi]
KUPIEC_RANGES = [
    (250, 0.01, 1, 6), (500, 0.01, 2, 9), (1000, 0.01, 5, 16), (2000, 0.01, 12, 29),
    (250, 0.001, 0, 1), (1000, 0.001, 0, 3), (250, 0.05, 7, 19), (1000, 0.05, 38, 64),
]


@pytest.mark.parametrize(("n_obs", "p", "lo", "hi"), KUPIEC_RANGES)
def test_kupiec_non_rejection_ranges(n_obs, p, lo, hi):
    accepted = [x for x in range(n_obs + 1)
                if not kupiec(x, n_obs, confidence=1 - p, level=0.05).reject]
    assert accepted == list(range(lo, hi + 1))


def test_kupiec_zero_exceptions_vector():
    # REFERENCES.md: zero exceptions at T=250, p=1 %: LR = 5.0252, p-value 0.0250 (rejected)
    r = kupiec(0, 250, confidence=0.99)
    assert r.statistic == pytest.approx(5.0252, abs=5e-5)
    assert r.p_value == pytest.approx(0.0250, abs=5e-5)
    assert r.reject and r.critical_value == pytest.approx(3.841, abs=5e-4)
    assert (r.n_obs, r.n_exceptions, r.observed_rate) == (250, 0, 0.0)


@pytest.mark.parametrize("x", [0, 1, 3, 7, 12, 250])
def test_kupiec_statistic_equals_binomial_likelihood_ratio(x):
    # oracle: -2 log of the ratio of scipy binomial likelihoods at p and at x/T
    n, p = 250, 0.01
    lr = -2 * (stats.binom.logpmf(x, n, p) - stats.binom.logpmf(x, n, x / n))
    r = kupiec(x, n, confidence=0.99)
    assert r.statistic == pytest.approx(lr, abs=1e-9)
    assert r.p_value == pytest.approx(stats.chi2.sf(lr, 1), abs=1e-12)
    hits = np.zeros(n, dtype=bool)
    hits[:x] = True
    assert kupiec(hits, confidence=0.99) == r
    assert kupiec(pd.Series(hits), confidence=0.99) == r


# ----------------------------------------------------------------------------- Christoffersen
def test_christoffersen_spread_exceptions_vector():
    # REFERENCES.md (T=250, p=1 %): days 20,70,120,170,220 -> n=(239,5,5,0), LR_ind=0.2049,
    # LR_cc=2.1617 (pass)
    hits = np.zeros(250, dtype=bool)
    hits[[20, 70, 120, 170, 220]] = True
    ind = christoffersen(hits)
    assert (ind.n00, ind.n01, ind.n10, ind.n11) == (239, 5, 5, 0)
    assert ind.statistic == pytest.approx(0.2049, abs=5e-5) and not ind.reject
    cc = conditional_coverage(hits, confidence=0.99)
    assert cc.statistic == pytest.approx(2.1617, abs=5e-5)
    assert not cc.reject and cc.critical_value == pytest.approx(5.991, abs=5e-4)
    assert cc.statistic == pytest.approx(cc.kupiec.statistic + cc.independence.statistic)


def test_christoffersen_clustered_exceptions_vector():
    # REFERENCES.md: days 100-104 -> n=(243,1,1,4), LR_ind=30.985, LR_cc=32.942 (reject)
    hits = np.zeros(250, dtype=bool)
    hits[100:105] = True
    ind = christoffersen(hits)
    assert (ind.n00, ind.n01, ind.n10, ind.n11) == (243, 1, 1, 4)
    assert ind.statistic == pytest.approx(30.985, abs=5e-4) and ind.reject
    cc = conditional_coverage(hits, confidence=0.99)
    assert cc.statistic == pytest.approx(32.942, abs=5e-4) and cc.reject
    assert cc.p_value == pytest.approx(stats.chi2.sf(cc.statistic, 2))


def test_christoffersen_no_exceptions_is_zero():
    r = christoffersen(np.zeros(100, dtype=bool))
    assert r.statistic == 0.0 and r.p_value == 1.0 and not r.reject


# ----------------------------------------------------------------------------- traffic light
# REFERENCES.md: green / yellow / red boundaries (first yellow, first red)
ZONES = [(250, 0.01, 5, 10), (365, 0.01, 7, 13), (500, 0.01, 9, 15), (1000, 0.01, 15, 24),
         (250, 0.05, 18, 27)]


@pytest.mark.parametrize(("n_obs", "p", "first_yellow", "first_red"), ZONES)
def test_traffic_light_zones(n_obs, p, first_yellow, first_red):
    zones = [traffic_light(x, n_obs, 1 - p).zone for x in range(first_red + 5)]
    expected = (["green"] * first_yellow + ["yellow"] * (first_red - first_yellow)
                + ["red"] * 5)
    assert zones == expected


def test_traffic_light_plus_factors_and_binomial_cdf_row():
    # REFERENCES.md: plus-factors 0.40, 0.50, 0.65, 0.75, 0.85 for 5..9; red 1.00
    factors = [traffic_light(x, 250, 0.99).plus_factor for x in range(13)]
    assert factors == [0.0] * 5 + [0.40, 0.50, 0.65, 0.75, 0.85] + [1.0] * 3
    # REFERENCES.md: binomial CDF, T=250, p=1 %, x=0..10 (%)
    row = [8.11, 28.58, 54.32, 75.81, 89.22, 95.88, 98.63, 99.60, 99.89, 99.97, 99.99]
    got = [round(100 * traffic_light(x).cumulative_probability, 2) for x in range(11)]
    assert got == row
    assert traffic_light(3, 500, 0.99).plus_factor is None  # the table is for T=250 at 99 %


# ----------------------------------------------------------------------------- ES backtest
def _normal_forecasts(sigma: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    z = stats.norm.ppf(alpha)
    return -sigma * z, sigma * stats.norm.pdf(z) / alpha


def _z2(x, v, e, alpha):  # Acerbi & Szekely (2014) test 2, written out (REFERENCES.md)
    total = sum(xt / et for xt, vt, et in zip(x, v, e, strict=True) if xt < -vt)
    return total / (len(x) * alpha) + 1.0


def test_es_backtest_statistic_and_reproducibility():
    rng = np.random.default_rng(42)
    n, alpha = 2500, 0.025
    sigma = 0.01 * np.exp(0.3 * np.sin(np.arange(n) / 50))  # time-varying, known
    x = rng.normal(0, sigma)
    v, e = _normal_forecasts(sigma, alpha)
    res = es_backtest(x, v, e, confidence=1 - alpha, n_sims=4000, seed=7)
    assert res.statistic == pytest.approx(_z2(x, v, e, alpha), abs=1e-12)
    assert res.n_exceptions == int(np.sum(x < -v))
    assert (res.n_sims, res.seed, res.n_obs) == (4000, 7, n)
    # seeded and reproducible; another seed gives another (close) simulation
    again = es_backtest(x, v, e, confidence=1 - alpha, n_sims=4000, seed=7)
    assert again == res
    other = es_backtest(x, v, e, confidence=1 - alpha, n_sims=4000, seed=8)
    assert other.critical_value != res.critical_value
    assert other.critical_value == pytest.approx(res.critical_value, abs=0.05)


def test_es_backtest_under_h0_z2_is_centred_and_the_test_has_its_size():
    # 400 independent H0 samples drawn here (numpy, not the function's simulation): the mean of
    # Z2 is ~0 and the share below the function's simulated 5 % critical value is ~5 %
    n, alpha, n_rep = 500, 0.025, 400
    sigma = 0.01 * np.exp(0.3 * np.sin(np.arange(n) / 30))
    v, e = _normal_forecasts(sigma, alpha)
    rng = np.random.default_rng(2024)
    draws = rng.normal(0, sigma, size=(n_rep, n))
    z2 = np.array([_z2(row, v, e, alpha) for row in draws])
    assert abs(z2.mean()) < 3 * z2.std() / np.sqrt(n_rep)
    res = es_backtest(draws[0], v, e, confidence=1 - alpha, n_sims=4000, seed=3)
    rate = np.mean(z2 < res.critical_value)
    assert 0.025 <= rate <= 0.08  # binomial(400, 5 %) 99.9 % band is about [2.2 %, 8.5 %]
    # and on a typical H0 sample (Z2 near its null median) the test does not reject
    typical = draws[int(np.argsort(z2)[n_rep // 2])]
    mid = es_backtest(typical, v, e, confidence=1 - alpha, n_sims=4000, seed=3)
    assert abs(mid.statistic) < 0.2 and not mid.reject


def test_es_backtest_rejects_underestimated_es():
    rng = np.random.default_rng(5)
    n, alpha = 1000, 0.025
    sigma = np.full(n, 0.01)
    x = rng.normal(0, sigma)
    v, e = _normal_forecasts(0.7 * sigma, alpha)  # forecast sigma 30 % too small
    res = es_backtest(x, v, e, confidence=1 - alpha, n_sims=4000, seed=3)
    assert res.statistic < res.critical_value and res.reject and res.p_value < 0.01


def test_es_backtest_t_forecast_distribution_matches_var_and_es():
    # with dist="t" the simulated bars come from the scaled t whose VaR and ES equal the
    # forecasts: generating returns from exactly that t, the test does not reject
    nu, alpha, n = 5.0, 0.01, 3000
    scale = 0.01
    q = stats.t.ppf(alpha, nu)
    v = np.full(n, -scale * q)
    e = np.full(n, scale * (nu + q * q) / (nu - 1) * stats.t.pdf(q, nu) / alpha)
    x = scale * stats.t.rvs(nu, size=n, random_state=np.random.default_rng(9))
    res = es_backtest(x, v, e, confidence=1 - alpha, dist="t", nu=nu, n_sims=2000, seed=0)
    assert not res.reject


# ----------------------------------------------------------------------------- backtest_var
def _sample(n=600, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2022-01-01", periods=n, freq="D", tz="UTC")
    r = pd.Series(rng.normal(0, 0.01, n), index=idx)
    v = pd.Series(0.0233, index=idx)
    v.iloc[:100] = np.nan  # warm-up
    return r, v


def test_backtest_var_counts_exceptions_and_runs_every_test():
    r, v = _sample()
    r.iloc[300] = np.nan
    res = backtest_var(r, v, confidence=0.99)
    tested = r.notna() & v.notna()
    want_hits = (-r[tested] > v[tested])
    pd.testing.assert_series_equal(res.exceptions, want_hits, check_names=False)
    assert res.exceptions.dtype == bool and res.n_obs == 499 and res.n_dropped == 101
    assert res.kupiec == kupiec(want_hits.to_numpy(), confidence=0.99)
    assert res.christoffersen == christoffersen(want_hits.to_numpy())
    assert res.conditional_coverage == conditional_coverage(want_hits.to_numpy(), confidence=0.99)
    assert res.traffic_light == traffic_light(int(want_hits.sum()), 499, 0.99)
    assert res.es_test is None
    frame = res.to_frame()
    assert list(frame.index) == ["kupiec", "christoffersen", "conditional_coverage"]
    assert frame.loc["kupiec", "statistic"] == pytest.approx(res.kupiec.statistic)
    html = res._repr_html_()
    assert "<table" in html and res.traffic_light.zone in html
    assert res.summary()["n_exceptions"] == int(want_hits.sum())


def test_backtest_var_with_es_forecast_adds_z2():
    r, v = _sample(seed=1)
    e = v * 1.15
    res = backtest_var(r, v, es_forecast=e, confidence=0.99, n_sims=500, seed=2)
    assert res.es_test is not None and "acerbi_szekely_z2" in res.to_frame().index
    keep = v.notna()
    assert res.es_test == es_backtest(r[keep], v[keep], e[keep], confidence=0.99, n_sims=500, seed=2)


def test_backtest_var_plot_is_in_percent_with_exceptions_marked():
    r, v = _sample(seed=2)
    e = v * 1.15
    res = backtest_var(r, v, es_forecast=e, n_sims=200)
    fig = res.plot()
    assert isinstance(fig, go.Figure)
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"returns", "-VaR", "-ES", "exceptions"}
    np.testing.assert_allclose(traces["returns"].y, 100 * res.returns.to_numpy())
    np.testing.assert_allclose(traces["-VaR"].y, -100 * res.var_forecast.to_numpy())
    np.testing.assert_allclose(traces["-ES"].y, -100 * res.es_forecast.to_numpy())
    hits = res.exceptions.to_numpy()
    np.testing.assert_allclose(traces["exceptions"].y, 100 * res.returns.to_numpy()[hits])
    assert list(pd.DatetimeIndex(traces["exceptions"].x)) == list(res.returns.index[hits])
    assert fig.layout.yaxis.ticksuffix == "%"
    assert fig.layout.title.text.endswith(f"{res.n_exceptions} exceptions in {res.n_obs} bars")
    with pytest.raises(InvalidParameterError, match="`result` of var_backtest_figure"):
        var_backtest_figure(r)


def test_end_to_end_with_var_forecasts():
    from quantlab.risk.var import es, var

    r = pd.Series(np.random.default_rng(11).standard_t(6, 1500) * 0.01)
    res = backtest_var(r, var(r, method="historical", window=250), confidence=0.99,
                       es_forecast=es(r, method="historical", window=250), n_sims=500)
    assert res.n_obs == 1250 and res.traffic_light.n_obs == 1250
    assert math.isclose(res.kupiec.observed_rate, res.n_exceptions / 1250)


# ----------------------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_naming_the_parameter():
    with pytest.raises(InvalidParameterError, match="`n_obs` of kupiec"):
        kupiec(3)
    with pytest.raises(InvalidParameterError, match="`exceptions_or_n` of kupiec"):
        kupiec(300, 250)
    with pytest.raises(InvalidParameterError, match="`n_obs` of kupiec"):
        kupiec(np.zeros(10, dtype=bool), 10)
    with pytest.raises(InvalidParameterError, match="`confidence` of kupiec"):
        kupiec(1, 250, confidence=99)
    with pytest.raises(InvalidParameterError, match="`level` of christoffersen"):
        christoffersen(np.zeros(10, dtype=bool), level=0.0)
    with pytest.raises(DataError, match="`exceptions` of christoffersen"):
        christoffersen([0, 2, 1])
    with pytest.raises(DataError, match="`exceptions` of christoffersen"):
        christoffersen([True])
    with pytest.raises(InvalidParameterError, match="`n_exceptions` of traffic_light"):
        traffic_light(-1)
    r, v = _sample()
    with pytest.raises(DataError, match="same length"):
        backtest_var(r, v.to_numpy()[:-1])
    with pytest.raises(DataError, match="same index"):
        backtest_var(r, v.reset_index(drop=True))
    with pytest.raises(DataError, match="`var_forecast` of backtest_var"):
        backtest_var(r, v * np.nan)
    with pytest.raises(InvalidParameterError, match="`es_forecast` of es_backtest"):
        es_backtest(r[100:], v[100:], v[100:] * 0.5)
    with pytest.raises(InvalidParameterError, match="`dist` of es_backtest.*Did you mean 'normal'"):
        es_backtest(r[100:], v[100:], v[100:] * 1.2, dist="norml")
    with pytest.raises(InvalidParameterError, match="`n_sims` of es_backtest"):
        es_backtest(r[100:], v[100:], v[100:] * 1.2, n_sims=10)

"""Estimators: pandas, scikit-learn and closed forms as oracles; annualization explicit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.errors import DataError, InvalidParameterError
from quantlab.portfolio.estimators import (
    Estimator,
    ewm_covariance,
    ewm_mean,
    historical_mean,
    james_stein_mean,
    ledoit_wolf_covariance,
    sample_covariance,
)
from tests.portfolio._cases import returns


@pytest.mark.parametrize("kind", ["frame", "array"])
def test_sample_covariance_and_mean_equal_pandas_annualized(kind):
    r = returns(4, 300, seed=3)
    x = r if kind == "frame" else r.to_numpy()
    cov = sample_covariance(x, periods_per_year=252)
    mean = historical_mean(x, periods_per_year=252)
    assert isinstance(cov, pd.DataFrame if kind == "frame" else np.ndarray)
    assert isinstance(mean, pd.Series if kind == "frame" else np.ndarray)
    np.testing.assert_allclose(np.asarray(cov), r.cov().to_numpy() * 252, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(mean), r.mean().to_numpy() * 252, rtol=1e-12)
    if kind == "frame":
        assert list(cov.columns) == list(r.columns) and list(mean.index) == list(r.columns)


@pytest.mark.parametrize("span", [5, 30.5, 200])
def test_ewm_estimators_equal_pandas_ewm_at_the_last_bar(span):
    r = returns(3, 250, seed=4)
    cov = ewm_covariance(r, span=span, periods_per_year=365)
    pandas_cov = r.ewm(span=span).cov().iloc[-3:].to_numpy()
    np.testing.assert_allclose(cov.to_numpy(), pandas_cov * 365, rtol=1e-10)
    mean = ewm_mean(r, span=span, periods_per_year=365)
    np.testing.assert_allclose(mean.to_numpy(), r.ewm(span=span).mean().iloc[-1] * 365,
                               rtol=1e-10)


@pytest.mark.parametrize("shape", [(200, 5), (30, 12), (500, 1)])
def test_ledoit_wolf_equals_scikit_learn(shape):
    sk = pytest.importorskip("sklearn.covariance", reason="scikit-learn is the LedoitWolf oracle")
    x = np.random.default_rng(5).standard_t(5, size=shape) * 0.01
    ours = ledoit_wolf_covariance(x, periods_per_year=52)
    np.testing.assert_allclose(ours, sk.LedoitWolf().fit(x).covariance_ * 52, rtol=1e-10,
                               atol=1e-18)


def test_james_stein_with_three_assets_or_fewer_is_the_historical_mean():
    r = returns(3, 100, seed=6)
    np.testing.assert_allclose(james_stein_mean(r, periods_per_year=252),
                               historical_mean(r, periods_per_year=252), rtol=1e-14)


def test_james_stein_closed_form_on_a_hand_built_panel():
    # 5 assets, T = 4: sample means m = (-2, -1, 0, 1, 2) * 1e-3 (grand mean 0), each column's
    # deviations (+-d) give variance s2; c = (N - 3) s2 / (T ||m||^2) = 2 s2 / (4 * 10e-6)
    d = 2e-3
    dev = np.array([d, -d, d, -d])
    m = np.array([-2, -1, 0, 1, 2]) * 1e-3
    x = m[None, :] + dev[:, None]
    s2 = (4 * d * d) / 3  # ddof 1
    c = 2 * s2 / (4 * 10e-6)
    expected = (1 - c) * m
    np.testing.assert_allclose(james_stein_mean(x, periods_per_year=1), expected, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 10), t=st.integers(5, 80))
def test_james_stein_shrinks_every_mean_toward_the_grand_mean_by_one_factor(seed, n, t):
    x = np.random.default_rng(seed).normal(0.001, 0.02, (t, n))
    m = x.mean(axis=0)
    g = m.mean()
    js = james_stein_mean(x, periods_per_year=1)
    assert js.mean() == pytest.approx(g, abs=1e-15)  # the grand mean is kept
    factor = (js - g) / (m - g)
    assert np.all(factor >= -1e-12) and np.all(factor <= 1 + 1e-12)
    np.testing.assert_allclose(factor, factor[0], atol=1e-9)


def test_estimator_bundle_dispatches_to_the_functions():
    r = returns(5, 300, seed=7)
    mu, cov = Estimator(mean="james_stein", covariance="ledoit_wolf").estimate(
        r, periods_per_year=12)
    pd.testing.assert_series_equal(mu, james_stein_mean(r, periods_per_year=12))
    pd.testing.assert_frame_equal(cov, ledoit_wolf_covariance(r, periods_per_year=12))
    mu, cov = Estimator(mean="ewm", covariance="ewm", span=20).estimate(r, periods_per_year=1)
    pd.testing.assert_frame_equal(cov, ewm_covariance(r, span=20, periods_per_year=1))
    pd.testing.assert_series_equal(mu, ewm_mean(r, span=20, periods_per_year=1))


def test_annualization_is_explicit_and_bad_input_is_refused():
    r = returns(3, 50)
    with pytest.raises(TypeError):
        sample_covariance(r)  # type: ignore[call-arg]  # no silent 252
    with pytest.raises(InvalidParameterError, match="periods_per_year"):
        sample_covariance(r, periods_per_year=0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'ledoit_wolf'"):
        Estimator(covariance="ledoit_wolff")
    bad = r.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(DataError, match="dropna"):
        historical_mean(bad, periods_per_year=252)
    with pytest.raises(DataError, match="at least 2 rows"):
        sample_covariance(r.iloc[:1], periods_per_year=252)

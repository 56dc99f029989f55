"""Monte Carlo bootstraps: arch's StationaryBootstrap as the oracle for the index streams,
quantlab.metrics for the statistics of each path, and a seeded Monte Carlo of the coverage of
the intervals around the true Sharpe ratio of a simulated process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch.bootstrap import StationaryBootstrap, optimal_block_length

from quantlab.errors import DataError, InvalidParameterError
from quantlab.metrics import cagr, max_drawdown, sharpe
from quantlab.optimize.bootstrap import (
    bootstrap_returns,
    bootstrap_trades,
    resampled_stats_nb,
    stationary_indices,
)


@pytest.mark.parametrize("mean_block, n", [(1.0, 50), (5.0, 300), (12.5, 97)])
def test_stationary_indices_equal_arch(mean_block, n):
    """Row i equals arch.bootstrap.StationaryBootstrap's i-th index array for the same seed
    (REFERENCES.md, Bootstrap)."""
    x = np.arange(n, dtype=float)
    bs = StationaryBootstrap(mean_block, x, seed=42)
    expected = []
    for _ in bs.bootstrap(6):
        expected.append(np.asarray(bs.index).copy())
    got = stationary_indices(n, mean_block=mean_block, n_samples=6, seed=42)
    np.testing.assert_array_equal(got, np.stack(expected))


def test_path_statistics_equal_quantlab_metrics():
    rng = np.random.default_rng(5)
    r = rng.normal(0.0005, 0.01, 400)
    idx = stationary_indices(400, mean_block=7, n_samples=5, seed=3)
    steps = np.array([0, 10, 399], dtype=np.int64)
    stats, equity = resampled_stats_nb(r, idx, 252.0, steps)
    for s in range(5):
        path = r[idx[s]]
        assert stats[s, 0] == pytest.approx(sharpe(path, periods_per_year=252), rel=1e-12)
        assert stats[s, 1] == pytest.approx(cagr(path, periods_per_year=252), rel=1e-12)
        assert stats[s, 2] == pytest.approx(max_drawdown(path), rel=1e-12)
        np.testing.assert_allclose(equity[s], np.cumprod(1 + path)[steps], rtol=1e-12)


def test_result_intervals_fan_and_seed():
    rng = np.random.default_rng(0)
    r = pd.Series(rng.normal(0.0004, 0.01, 600),
                  index=pd.date_range("2020-01-01", periods=600, freq="D", tz="UTC"))
    mc = bootstrap_returns(r, periods_per_year=365, n_samples=300, mean_block=4, seed=11,
                           confidence=0.9)
    again = bootstrap_returns(r, periods_per_year=365, n_samples=300, mean_block=4, seed=11,
                              confidence=0.9)
    pd.testing.assert_frame_equal(mc.samples, again.samples, check_exact=True)
    other = bootstrap_returns(r, periods_per_year=365, n_samples=300, mean_block=4, seed=12)
    assert not mc.samples.equals(other.samples)
    # intervals are the 5 % / 50 % / 95 % quantiles of the samples (pandas as the oracle)
    for stat in ("sharpe", "cagr", "max_drawdown"):
        assert mc.intervals.at[stat, "lower"] == mc.samples[stat].quantile(0.05)
        assert mc.intervals.at[stat, "upper"] == mc.samples[stat].quantile(0.95)
    assert mc.actual["sharpe"] == pytest.approx(sharpe(r, periods_per_year=365), rel=1e-12)
    # the fan's last row: quantiles of each path's final value, recomputed with numpy
    idx = stationary_indices(600, mean_block=4, n_samples=300, seed=11)
    final = np.prod(1 + r.to_numpy()[idx], axis=1)
    np.testing.assert_allclose(mc.fan.iloc[-1].to_numpy(),
                               np.quantile(final, [0.05, 0.25, 0.5, 0.75, 0.95]), rtol=1e-10)
    assert mc.fan.index[-1] == r.index[-1] and len(mc.fan) == 200
    assert mc.actual_path.iloc[-1] == pytest.approx(np.prod(1 + r.to_numpy()), rel=1e-12)
    fig = mc.plot()
    assert {t.name for t in fig.data} >= {"median", "actual", "5%-95%"}
    assert "MonteCarloResult" in mc._repr_html_()


def test_default_block_is_politis_white():
    rng = np.random.default_rng(1)
    r = rng.normal(0, 0.01, 500)
    mc = bootstrap_returns(r, periods_per_year=252, n_samples=10, seed=0)
    assert mc.mean_block == pytest.approx(max(1.0, optimal_block_length(r)["stationary"].iloc[0]))


def _coverage(kind: str, reps: int, n: int, confidence: float) -> float:
    mu, sigma, ppy = 0.001, 0.01, 252.0
    true = mu / sigma * np.sqrt(ppy)  # true Sharpe of IID N(mu, sigma^2) returns
    rng = np.random.default_rng(2024)
    hits = 0
    for rep in range(reps):
        r = rng.normal(mu, sigma, n)
        if kind == "trades":
            mc = bootstrap_trades(r, trades_per_year=ppy, n_samples=400, seed=rep,
                                  confidence=confidence)
        else:
            mc = bootstrap_returns(r, periods_per_year=ppy, n_samples=400, seed=rep,
                                   mean_block=1.0 if kind == "iid" else 5.0,
                                   confidence=confidence)
        lo, hi = mc.intervals.loc["sharpe", ["lower", "upper"]]
        hits += lo <= true <= hi
    return hits / reps


@pytest.mark.parametrize("kind", ["iid", "stationary", "trades"])
def test_intervals_cover_the_true_sharpe_at_about_the_nominal_rate(kind):
    """200 seeded replications of 500 IID normal returns (true Sharpe 1.587 annualized), 90 %
    percentile intervals from 400 resamples each. Measured coverage (seed 2024): iid 0.905,
    stationary (L = 5) 0.895, trades 0.900. The binomial standard error at 200 replications
    is 0.021, so [0.84, 0.96] allows ~3 SE below nominal."""
    cov = _coverage(kind, reps=200, n=500, confidence=0.9)
    assert 0.84 <= cov <= 0.96, cov


def test_trades_bootstrap_is_iid_resampling():
    t = np.random.default_rng(3).normal(0.01, 0.05, 40)
    mc = bootstrap_trades(t, trades_per_year=20, n_samples=50, seed=9)
    idx = np.random.default_rng(9).integers(40, size=(50, 40), dtype=np.int64)
    for s in (0, 17, 49):
        path = t[idx[s]]
        assert mc.samples.at[s, "sharpe"] == pytest.approx(sharpe(path, periods_per_year=20),
                                                           rel=1e-12)
        assert mc.samples.at[s, "max_drawdown"] == pytest.approx(max_drawdown(path), rel=1e-12)
    assert mc.method == "trades" and mc.mean_block is None


@pytest.mark.parametrize("call, err, match", [
    (lambda: bootstrap_returns(pd.DataFrame({"a": [0.1] * 5}), periods_per_year=252),
     DataError, "Series or 1-D array"),
    (lambda: bootstrap_returns([0.1, -1.0, 0.2, 0.3], periods_per_year=252), DataError, "> -1"),
    (lambda: bootstrap_returns([0.1, 0.2], periods_per_year=252), DataError, "at least 3"),
    (lambda: bootstrap_returns([0.1, 0.2, 0.0], periods_per_year=252, confidence=1.0),
     InvalidParameterError, "`confidence` of bootstrap_returns"),
    (lambda: bootstrap_returns([0.1, 0.2, 0.0], periods_per_year=0), InvalidParameterError,
     "`periods_per_year` of bootstrap_returns"),
    (lambda: bootstrap_returns([0.1, 0.2, 0.0], periods_per_year=252, mean_block=0.5),
     InvalidParameterError, "`mean_block` of bootstrap_returns"),
    (lambda: bootstrap_trades([0.1, 0.2, 0.0], trades_per_year=10, n_samples=0),
     InvalidParameterError, "`n_samples` of bootstrap_trades"),
])
def test_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()

"""Tests of quantlab.data.synthetic against closed forms, scipy and arch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantlab._validate import check_ohlcv
from quantlab.data.synthetic import (
    SyntheticResult,
    calendar_index,
    garch,
    gbm,
    regime_switching,
    stationary_distribution,
)
from quantlab.errors import InvalidParameterError

Z = 4.0  # two-sided tolerance in standard errors (p ~ 6e-5 per check)


def _consistent(df: pd.DataFrame) -> None:
    check_ohlcv(df, caller="test")  # normalized: float64, UTC, sorted, unique, finite, > 0
    assert df.index.name == "time" and str(df.index.dtype) == "datetime64[ns, UTC]"
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert (df.high >= df[["open", "close"]].max(axis=1)).all()
    assert (df[["open", "close"]].min(axis=1) >= df.low).all()
    assert (df.low > 0).all() and (df.volume >= 0).all()


# ---------------------------------------------------------------- calendars


def test_calendar_24_7_constant_spacing():
    idx = calendar_index(500, start="2021-03-10 05:00", freq="1h", calendar="24/7")
    assert idx[0] == pd.Timestamp("2021-03-10 05:00", tz="UTC")
    assert (np.diff(idx.asi8) == pd.Timedelta("1h").value).all()


@pytest.mark.parametrize("freq", ["1d", "1h", "30min"])
def test_calendar_equity_sessions(freq):
    idx = calendar_index(3000, start="2021-01-01", freq=freq, calendar="equity")
    assert len(idx) == 3000 and idx.is_monotonic_increasing and idx.is_unique
    assert not (idx.day_of_week >= 5).any()
    if freq != "1d":
        local = idx.tz_convert("America/New_York")
        minutes = local.hour * 60 + local.minute
        assert (minutes >= 9 * 60 + 30).all() and (minutes < 16 * 60).all()
        assert (minutes == 9 * 60 + 30).any()
    # NYSE holidays (nyse.com holiday list): New Year, MLK, Good Friday 2021-04-02, July 5 (observed)
    local_days = idx if freq == "1d" else idx.tz_convert("America/New_York")  # daily: 00:00 UTC
    days = set(local_days.tz_localize(None).normalize())
    for holiday in ["2021-01-01", "2021-01-18", "2021-04-02", "2021-07-05", "2021-11-25"]:
        assert pd.Timestamp(holiday) not in days


def test_calendar_equity_daily_matches_bundled_sessions():
    """The NYSE calendar reproduces the session dates of the bundled S&P 500 (1999-2018)."""
    from quantlab.data import load

    sp = load("sp500")
    idx = calendar_index(len(sp), start=sp.index[0], freq="1d", calendar="equity")
    assert idx.equals(sp.index)


@pytest.mark.parametrize("freq", ["1h", "15min", "4h"])
def test_calendar_fx_week(freq):
    idx = calendar_index(4000, start="2021-01-01", freq=freq, calendar="fx")
    local = idx.tz_convert("America/New_York")
    dow, hour = local.day_of_week, local.hour
    # closed from Friday 17:00 to Sunday 17:00 New York
    assert not (dow == 5).any()
    assert not ((dow == 4) & (hour >= 17)).any()
    assert not ((dow == 6) & (hour < 17)).any()
    # in winter (EST) that is Friday 22:00 .. Sunday 22:00 UTC
    winter = idx[(idx.month <= 2)]
    assert not ((winter.day_of_week == 4) & (winter.hour >= 22)).any()
    assert not (winter.day_of_week == 5).any()
    assert not ((winter.day_of_week == 6) & (winter.hour < 22)).any()
    assert ((winter.day_of_week == 6) & (winter.hour == 22)).any()


def test_calendar_index_bad_input():
    with pytest.raises(InvalidParameterError, match="`n` of calendar_index"):
        calendar_index(0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'equity'"):
        calendar_index(5, calendar="equty")
    with pytest.raises(InvalidParameterError, match="`freq` of calendar_index"):
        calendar_index(5, freq="1M")
    with pytest.raises(InvalidParameterError, match="at most '1d'"):
        calendar_index(5, freq="7d", calendar="equity")
    with pytest.raises(InvalidParameterError, match="`start`"):
        calendar_index(5, start="not a date")


# ---------------------------------------------------------------- GBM


def test_gbm_log_return_moments_match_parameters():
    n, mu, sigma = 20_000, 0.0004, 0.015
    df = gbm(n, mu_per_bar=mu, sigma_per_bar=sigma, seed=11, freq="1h")
    _consistent(df)
    r = np.diff(np.log(np.r_[100.0, df.close.to_numpy()]))
    # log returns ~ N(mu - sigma^2/2, sigma^2): SE(mean) = sigma/sqrt(n), SE(std) ~ sigma/sqrt(2(n-1))
    assert abs(r.mean() - (mu - sigma**2 / 2)) < Z * sigma / math.sqrt(n)
    assert abs(r.std(ddof=1) - sigma) < Z * sigma / math.sqrt(2 * (n - 1))
    assert stats.kstest((r - (mu - sigma**2 / 2)) / sigma, "norm").pvalue > 1e-4
    # 24/7: the open of bar t is the close of bar t-1
    np.testing.assert_array_equal(df.open.to_numpy()[1:], df.close.to_numpy()[:-1])


def test_gbm_high_low_follow_continuous_brownian_extremes():
    """E[ln(H/O)] = sigma*sqrt(2/pi) (reflection principle) and E[ln(H/L)^2] = 4 ln2 sigma^2
    (Parkinson 1980) for driftless Brownian motion over one bar."""
    n, sigma = 40_000, 0.01
    df = gbm(n, mu_per_bar=sigma**2 / 2, sigma_per_bar=sigma, seed=5, freq="1h")  # zero log drift
    up = np.log(df.high / df.open).to_numpy()
    assert abs(up.mean() - sigma * math.sqrt(2 / math.pi)) < Z * up.std() / math.sqrt(n)
    rng2 = np.log(df.high / df.low).to_numpy() ** 2
    assert abs(rng2.mean() - 4 * math.log(2) * sigma**2) < Z * rng2.std() / math.sqrt(n)


def test_gbm_equity_gaps_keep_close_to_close_law():
    n, sigma = 6000, 0.01
    df = gbm(n, sigma_per_bar=sigma, mu_per_bar=sigma**2 / 2, seed=2, calendar="equity",
             gap_variance_fraction=0.3)
    _consistent(df)
    prev = np.r_[100.0, df.close.to_numpy()[:-1]]
    gap = np.log(df.open.to_numpy() / prev)
    r = np.log(df.close.to_numpy() / prev)
    # overnight variance = 0.3 sigma^2, close-to-close still sigma^2
    assert abs(gap.std() - math.sqrt(0.3) * sigma) < Z * math.sqrt(0.3) * sigma / math.sqrt(2 * n)
    assert abs(r.std() - sigma) < Z * sigma / math.sqrt(2 * n)
    assert not (df.index.day_of_week >= 5).any()


def test_seed_reproducibility():
    a = gbm(300, seed=4, calendar="fx", freq="1h")
    b = gbm(300, seed=4, calendar="fx", freq="1h")
    c = gbm(300, seed=5, calendar="fx", freq="1h")
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.close, c.close)
    g1, g2 = garch(300, seed=9), garch(300, seed=9)
    pd.testing.assert_frame_equal(g1.data, g2.data)
    pd.testing.assert_series_equal(g1.volatility, g2.volatility)
    r1, r2 = regime_switching(300, seed=9), regime_switching(300, seed=9)
    pd.testing.assert_series_equal(r1.states, r2.states)
    assert not regime_switching(300, seed=10).states.equals(r1.states)


def test_gbm_bad_parameters():
    with pytest.raises(InvalidParameterError, match="`n` of gbm"):
        gbm(0)
    with pytest.raises(InvalidParameterError, match="`sigma_per_bar` of gbm"):
        gbm(10, sigma_per_bar=-0.1)
    with pytest.raises(InvalidParameterError, match="`seed` of gbm"):
        gbm(10, seed=1.5)
    with pytest.raises(InvalidParameterError, match="`s0` of gbm"):
        gbm(10, s0=0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'fx'"):
        gbm(10, calendar="FX")
    with pytest.raises(InvalidParameterError, match="before 2262"):
        gbm(200_000, freq="1d")


# ---------------------------------------------------------------- GARCH


def test_garch_recovered_by_arch():
    """REFERENCES.md: GARCH(1,1) omega=0.05, alpha=0.10, beta=0.85, 5000 steps, percent returns;
    arch's fit recovers each parameter within ~3 standard errors."""
    from arch import arch_model

    res = garch(5000, omega=0.05, alpha=0.10, beta=0.85, seed=7)
    assert isinstance(res, SyntheticResult) and res.states is None
    _consistent(res.data)
    np.testing.assert_allclose(np.log(res.data.close / res.data.close.shift(1)).iloc[1:],
                               res.returns.iloc[1:], rtol=1e-9, atol=1e-12)
    fit = arch_model(res.returns * 100, mean="Zero", vol="GARCH", p=1, q=1).fit(disp="off")
    truth = {"omega": 0.05, "alpha[1]": 0.10, "beta[1]": 0.85}
    for name, value in truth.items():
        assert abs(fit.params[name] - value) < 3.5 * fit.std_err[name], name
    # unconditional variance omega / (1 - alpha - beta) = 1 (percent^2) vs the sample variance.
    # SE from Bollerslev (1986): kurtosis k = 3(1 - p^2) / (1 - p^2 - 2 alpha^2), p = alpha + beta,
    # ACF of r^2: rho_1 = alpha (1 - alpha beta - beta^2) / (1 - 2 alpha beta - beta^2), rho_k =
    # rho_1 p^(k-1), so Var(mean r^2) = (k - 1) var^2 (1 + 2 rho_1 / (1 - p)) / n.
    a, b, p_ = 0.10, 0.85, 0.95
    kurt = 3 * (1 - p_**2) / (1 - p_**2 - 2 * a**2)
    rho1 = a * (1 - a * b - b**2) / (1 - 2 * a * b - b**2)
    se_var = math.sqrt((kurt - 1) * (1 + 2 * rho1 / (1 - p_)) / 5000)
    assert abs(float((res.returns * 100).var()) - 1.0) < Z * se_var
    # the true conditional volatility satisfies the recursion, independently recomputed
    eps = res.returns.to_numpy() * 100
    h = (res.volatility.to_numpy() * 100) ** 2
    np.testing.assert_allclose(h[1:], 0.05 + 0.10 * eps[:-1] ** 2 + 0.85 * h[:-1], rtol=1e-10)
    assert h[0] == pytest.approx(0.05 / (1 - 0.95))
    # and standardizes the returns to N(0, 1)
    z = eps / np.sqrt(h)
    assert stats.kstest(z, "norm").pvalue > 1e-4


def test_garch_student_t_innovations():
    from arch import arch_model

    res = garch(5000, dist="t", nu=6.0, seed=3)
    z = (res.returns / res.volatility).to_numpy()
    assert abs(z.std() - 1.0) < 0.05  # standardized t has unit variance
    fit = arch_model(res.returns * 100, mean="Zero", vol="GARCH", dist="t").fit(disp="off")
    assert abs(fit.params["nu"] - 6.0) < 3.5 * fit.std_err["nu"]


def test_garch_bad_parameters():
    with pytest.raises(InvalidParameterError, match=r"`alpha \+ beta` of garch\(\) must be < 1"):
        garch(100, alpha=0.2, beta=0.8)
    with pytest.raises(InvalidParameterError, match="`omega` of garch"):
        garch(100, omega=0.0)
    with pytest.raises(InvalidParameterError, match="`nu` of garch"):
        garch(100, dist="t", nu=2.0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'normal'"):
        garch(100, dist="norml")


# ---------------------------------------------------------------- regimes


def test_stationary_distribution_closed_form():
    p00, p11 = 0.98, 0.95
    pi = stationary_distribution([[p00, 1 - p00], [1 - p11, p11]])
    np.testing.assert_allclose(pi, [(1 - p11) / (2 - p00 - p11), (1 - p00) / (2 - p00 - p11)],
                               rtol=1e-12)
    p = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    pi3 = stationary_distribution(p)
    w, v = np.linalg.eig(p.T)  # left eigenvector for eigenvalue 1
    ref = np.real(v[:, np.argmin(np.abs(w - 1))])
    np.testing.assert_allclose(pi3, ref / ref.sum(), rtol=1e-10)


def test_regime_switching_matches_chain_and_emission_parameters():
    """REFERENCES.md ground truth: stay 0.98/0.95, sigma 0.5% and 2% per bar."""
    n = 30_000
    p = np.array([[0.98, 0.02], [0.05, 0.95]])
    means, vols = np.array([0.0005, -0.001]), np.array([0.005, 0.02])
    res = regime_switching(n, transition=p, means=means, vols=vols, seed=21, freq="1h")
    _consistent(res.data)
    s = res.states.to_numpy()
    r = res.returns.to_numpy()
    # empirical transition matrix: SE = sqrt(p(1-p)/n_i)
    for i in range(2):
        from_i = s[:-1] == i
        n_i = from_i.sum()
        for j in range(2):
            p_hat = (s[1:][from_i] == j).mean()
            assert abs(p_hat - p[i, j]) < Z * math.sqrt(p[i, j] * (1 - p[i, j]) / n_i)
    # occupancy vs stationary pi; the chain's autocorrelation lambda = p00 + p11 - 1 inflates
    # the variance of the mean: pi0 pi1 (1 + lambda) / (1 - lambda) / n
    pi0 = 0.05 / 0.07
    lam = 0.98 + 0.95 - 1
    se = math.sqrt(pi0 * (1 - pi0) * (1 + lam) / (1 - lam) / n)
    assert abs((s == 0).mean() - pi0) < Z * se
    # per-state Gaussian emissions
    for k in range(2):
        rk = r[s == k]
        assert abs(rk.mean() - means[k]) < Z * vols[k] / math.sqrt(len(rk))
        assert abs(rk.std(ddof=1) - vols[k]) < Z * vols[k] / math.sqrt(2 * len(rk))
    np.testing.assert_array_equal(res.volatility.to_numpy(), vols[s])


def test_regime_switching_garch_recursion():
    """Haas, Mittnik & Paolella (2004) MS-GARCH, recomputed by a plain loop."""
    n = 2000
    pairs = [(0.05, 0.90), (0.10, 0.80)]
    vols = np.array([0.005, 0.02])
    res = regime_switching(n, vols=vols, garch=pairs, seed=8)
    s, r = res.states.to_numpy(), res.returns.to_numpy()
    h = vols**2
    expected = np.empty(n)
    for t in range(n):
        if t > 0:
            e2 = r[t - 1] ** 2  # means are 0
            h = np.array([vols[k] ** 2 * (1 - a - b) + a * e2 + b * h[k]
                          for k, (a, b) in enumerate(pairs)])
        expected[t] = math.sqrt(h[s[t]])
    np.testing.assert_allclose(res.volatility.to_numpy(), expected, rtol=1e-10)
    assert stats.kstest(r / expected, "norm").pvalue > 1e-4


def test_regime_switching_bad_parameters():
    with pytest.raises(InvalidParameterError, match="row-stochastic"):
        regime_switching(100, transition=[[0.9, 0.2], [0.05, 0.95]])
    with pytest.raises(InvalidParameterError, match="square"):
        regime_switching(100, transition=[[0.9, 0.1]])
    with pytest.raises(InvalidParameterError, match="`vols` of regime_switching"):
        regime_switching(100, vols=(0.01,))
    with pytest.raises(InvalidParameterError, match="`vols`"):
        regime_switching(100, vols=(0.01, 0.0))
    with pytest.raises(InvalidParameterError, match="alpha \\+ beta < 1"):
        regime_switching(100, garch=(0.5, 0.5))
    with pytest.raises(InvalidParameterError, match="`initial_state`"):
        regime_switching(100, initial_state=2)

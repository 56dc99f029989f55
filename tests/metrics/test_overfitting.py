"""PSR, DSR and PBO against the published formulas, the paper's test vector and properties.

Sources: Bailey & López de Prado (2012), "The Sharpe ratio efficient frontier", J. of Risk
15(2) (PSR); Bailey & López de Prado (2014), "The deflated Sharpe ratio", J. of Portfolio
Management 40(5) (DSR and its numerical example, quoted in ../shared/REFERENCES.md);
Bailey, Borwein, López de Prado & Zhu (2017), "The probability of backtest overfitting",
J. of Computational Finance 20(4) (CSCV, PBO).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import quantlab.metrics as M
from quantlab.errors import DataError, InvalidParameterError


# ------------------------------------------------------------------------------ PSR
def _psr_oracle(r: np.ndarray, sr_star: float) -> float:
    """PSR per Bailey & López de Prado (2012) eq. (13), moments from scipy."""
    sr = r.mean() / r.std(ddof=1)
    g3 = stats.skew(r)
    g4 = stats.kurtosis(r, fisher=False)
    z = (sr - sr_star) * np.sqrt(len(r) - 1) / np.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def test_psr_formula_from_returns() -> None:
    rng = np.random.default_rng(0)
    r = 4e-4 + 0.01 * rng.standard_t(5, 1000) / np.sqrt(5 / 3)
    assert M.probabilistic_sharpe_ratio(r) == pytest.approx(_psr_oracle(r, 0.0), rel=1e-10)
    bench = 0.5  # annualized
    ours = M.probabilistic_sharpe_ratio(r, benchmark_sharpe=bench, periods_per_year=252)
    assert ours == pytest.approx(_psr_oracle(r, bench / np.sqrt(252)), rel=1e-10)
    # forms: Series -> float, DataFrame -> Series, 2-D ndarray -> ndarray
    frame = pd.DataFrame({"x": r, "y": r[::-1] * 2 - 1e-3})
    out = M.probabilistic_sharpe_ratio(frame)
    assert isinstance(out, pd.Series)
    np.testing.assert_allclose(out, [_psr_oracle(frame[c].to_numpy(), 0.0) for c in frame],
                               rtol=1e-10)
    assert isinstance(M.probabilistic_sharpe_ratio(frame.to_numpy()), np.ndarray)
    assert isinstance(M.probabilistic_sharpe_ratio(frame["x"]), float)


def test_psr_scalar_mode_matches_returns_mode() -> None:
    rng = np.random.default_rng(1)
    r = rng.normal(5e-4, 0.01, 750)
    sr_annual = M.sharpe(r, periods_per_year=252)
    scalar = M.probabilistic_sharpe_ratio(
        sharpe=sr_annual, n_obs=len(r), periods_per_year=252, benchmark_sharpe=0.3,
        skewness=M.skew(r), excess_kurtosis=M.kurtosis(r))
    from_returns = M.probabilistic_sharpe_ratio(r, periods_per_year=252, benchmark_sharpe=0.3)
    assert scalar == pytest.approx(from_returns, rel=1e-12)


def test_psr_is_calibrated_under_the_null() -> None:
    """IID normal returns whose true SR equals SR*: P(PSR > 0.95) = 5% (the PSR is a p-value).

    2000 independent columns: the binomial standard error of the rejection rate is
    sqrt(0.05·0.95/2000) = 0.49%; we allow 4 standard errors.
    """
    rng = np.random.default_rng(2)
    true_sr = 0.1  # per period
    x = rng.normal(true_sr * 0.01, 0.01, (500, 2000))
    psr = M.probabilistic_sharpe_ratio(x, benchmark_sharpe=true_sr)
    rate = float(np.mean(psr > 0.95))
    assert abs(rate - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 2000)


def test_psr_input_errors() -> None:
    r = np.random.default_rng(0).normal(size=50)
    with pytest.raises(InvalidParameterError, match=r"`sharpe` of probabilistic_sharpe_ratio\(\)"):
        M.probabilistic_sharpe_ratio(r, sharpe=1.0)
    with pytest.raises(InvalidParameterError, match="`n_obs`"):
        M.probabilistic_sharpe_ratio(sharpe=1.0)
    with pytest.raises(InvalidParameterError, match="`n_obs`"):
        M.probabilistic_sharpe_ratio(sharpe=1.0, n_obs=1)
    with pytest.raises(InvalidParameterError, match="`excess_kurtosis`"):
        M.probabilistic_sharpe_ratio(sharpe=1.0, n_obs=10, excess_kurtosis=-5)
    with pytest.raises(DataError):
        M.probabilistic_sharpe_ratio(np.array([]))
    assert np.isnan(M.probabilistic_sharpe_ratio(np.full(20, 0.01)))


# ------------------------------------------------------------------------------ DSR
def test_dsr_paper_example() -> None:
    """Bailey & López de Prado (2014), numerical example (REFERENCES.md): N = 100 trials,
    V = 0.5 (annualized SR variance), best SR = 2.5 annualized, T = 1250 daily observations,
    250 per year, skewness −3, kurtosis 10 (excess 7) → SR* = 1.7894, DSR = 0.9004."""
    assert M.expected_max_sharpe(100, 0.5) == pytest.approx(1.7894, abs=5e-5)
    dsr = M.deflated_sharpe_ratio(sharpe=2.5, n_obs=1250, periods_per_year=250, n_trials=100,
                                  trials_sharpe_variance=0.5, skewness=-3.0, excess_kurtosis=7.0)
    assert round(dsr, 4) == 0.9004
    # the same computation in per-period units: SR and V rescaled by 250
    per_period = M.deflated_sharpe_ratio(sharpe=2.5 / np.sqrt(250), n_obs=1250, n_trials=100,
                                         trials_sharpe_variance=0.5 / 250, skewness=-3.0,
                                         excess_kurtosis=7.0)
    assert per_period == pytest.approx(dsr, rel=1e-12)
    # DSR is the PSR against SR*
    psr = M.probabilistic_sharpe_ratio(sharpe=2.5, n_obs=1250, periods_per_year=250,
                                       benchmark_sharpe=M.expected_max_sharpe(100, 0.5),
                                       skewness=-3.0, excess_kurtosis=7.0)
    assert psr == pytest.approx(dsr, rel=1e-12)


def test_expected_max_sharpe_matches_monte_carlo() -> None:
    """False strategy theorem: E[max of N standard normals] ≈ SR*(N, V=1) (an approximation
    that is within ~1% for N = 100)."""
    rng = np.random.default_rng(3)
    sample_max = rng.standard_normal((20000, 100)).max(axis=1).mean()
    assert M.expected_max_sharpe(100, 1.0) == pytest.approx(sample_max, rel=0.02)


def test_dsr_from_returns_and_trials() -> None:
    rng = np.random.default_rng(4)
    trials = rng.normal(0.0, 0.01, (1000, 50))
    srs = M.sharpe(trials, periods_per_year=252)
    best = int(np.argmax(srs))
    dsr = M.deflated_sharpe_ratio(trials[:, best], trials_sharpe=srs, periods_per_year=252)
    sr_star = M.expected_max_sharpe(len(srs), float(np.var(srs, ddof=1)))
    psr = M.probabilistic_sharpe_ratio(trials[:, best], benchmark_sharpe=sr_star,
                                       periods_per_year=252)
    assert dsr == pytest.approx(psr, rel=1e-12)
    # the best of 50 noise strategies looks significant on its own, not after deflation
    assert M.probabilistic_sharpe_ratio(trials[:, best]) > 0.9
    assert dsr < 0.5
    with pytest.raises(InvalidParameterError, match="`n_trials` of deflated_sharpe_ratio"):
        M.deflated_sharpe_ratio(trials[:, best], trials_sharpe=srs, n_trials=50)
    with pytest.raises(InvalidParameterError, match="`trials_sharpe`"):
        M.deflated_sharpe_ratio(trials[:, best])
    with pytest.raises(InvalidParameterError, match="`n_trials` of expected_max_sharpe"):
        M.expected_max_sharpe(1, 0.5)


# ------------------------------------------------------------------------------ CSCV / PBO
def _logits_oracle(x: pd.DataFrame, s: int) -> np.ndarray:
    """Brute-force CSCV with pandas, one combination at a time (BBLZ 2017, §2.2)."""
    blocks = np.array_split(np.arange(len(x)), s)
    out = []
    n = x.shape[1]
    for train in itertools.combinations(range(s), s // 2):
        is_rows = np.concatenate([blocks[b] for b in train])
        oos_rows = np.concatenate([blocks[b] for b in range(s) if b not in train])
        is_perf = x.iloc[is_rows].mean() / x.iloc[is_rows].std()
        oos_perf = x.iloc[oos_rows].mean() / x.iloc[oos_rows].std()
        best = is_perf.idxmax()
        rank = oos_perf.rank(method="average")[best]
        omega = rank / (n + 1)
        out.append(np.log(omega / (1 - omega)))
    return np.array(out)


def test_cscv_logits_against_brute_force() -> None:
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.normal(0, 0.01, (203, 7)))  # 203 rows: unequal blocks
    for s in (4, 6):
        np.testing.assert_allclose(M.cscv_logits(x, n_splits=s), _logits_oracle(x, s),
                                   rtol=1e-12)


def test_pbo_of_noise_is_one_half() -> None:
    """For IID strategies the in-sample winner's out-of-sample rank is uniform on 1..N, so
    E[PBO] = 1/2 exactly (N even). The C(S, S/2) combinations of one matrix share their
    blocks and are far from independent, so instead of a binomial bound over combinations we
    average PBO over 40 independent matrices and allow 4 standard errors of that mean,
    estimated from the 40 values themselves."""
    pbos = []
    for seed in range(40):
        x = np.random.default_rng(100 + seed).normal(0, 0.01, (400, 10))
        pbos.append(M.probability_of_backtest_overfitting(x, n_splits=8))
    pbos = np.array(pbos)
    se = pbos.std(ddof=1) / np.sqrt(len(pbos))
    assert abs(pbos.mean() - 0.5) < 4 * se
    assert 0.02 < se < 0.1  # the spread is real: single PBOs of noise vary a lot


def test_pbo_of_a_real_edge_is_zero() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(0, 0.01, (1600, 20))
    x[:, 7] += 0.003  # a Sharpe of 0.3 per bar: the best in every half of the data
    assert M.probability_of_backtest_overfitting(x) == 0.0  # default n_splits=16
    assert M.probability_of_backtest_overfitting(pd.DataFrame(x), n_splits=8, metric="mean") == 0.0
    assert (M.cscv_logits(x, n_splits=8) > 0).all()


def test_pbo_input_errors() -> None:
    x = np.random.default_rng(7).normal(size=(100, 4))
    with pytest.raises(InvalidParameterError, match="`n_splits` of cscv_logits.*even"):
        M.cscv_logits(x, n_splits=5)
    with pytest.raises(InvalidParameterError, match="`n_splits`"):
        M.probability_of_backtest_overfitting(x, n_splits=0)
    with pytest.raises(DataError, match="rows"):
        M.probability_of_backtest_overfitting(x[:20], n_splits=16)
    nan = x.copy()
    nan[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        M.probability_of_backtest_overfitting(nan, n_splits=4)
    with pytest.raises(DataError, match="N ≥ 2"):
        M.probability_of_backtest_overfitting(x[:, :1], n_splits=4)
    with pytest.raises(DataError):
        M.probability_of_backtest_overfitting(x[:, 0], n_splits=4)
    with pytest.raises(InvalidParameterError, match="Did you mean 'sharpe'"):
        M.cscv_logits(x, n_splits=4, metric="sharp")

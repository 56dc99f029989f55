"""Overfitting statistics: DSR on the paper's vector, the block CSCV against
quantlab.metrics.cscv_logits on the return matrix, PBO ≈ 0.5 for noise and ≈ 0 with a planted
edge, and overfitting_report against the functions it joins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.backtest.engine import backtest
from quantlab.backtest.sweep import sweep
from quantlab.errors import InvalidParameterError
from quantlab.metrics import cscv_logits, deflated_sharpe_ratio, probabilistic_sharpe_ratio
from quantlab.optimize.bootstrap import bootstrap_returns
from quantlab.optimize.report import block_pbo, cscv_block_logits, overfitting_report
from quantlab.optimize.splitters import RollingSplit
from quantlab.optimize.walkforward import walk_forward
from quantlab.strategies import SmaCross

from .test_walkforward import GRID, OPTS, bars


def test_dsr_reproduces_the_paper_vector():
    """Bailey & López de Prado (2014) example (REFERENCES.md): N = 100, V = 0.5, SR = 2.5,
    T = 1250, 250/year, skew −3, kurtosis 10 → DSR = 0.9004 (the function the report uses)."""
    dsr = deflated_sharpe_ratio(sharpe=2.5, n_obs=1250, periods_per_year=250, n_trials=100,
                                trials_sharpe_variance=0.5, skewness=-3.0, excess_kurtosis=7.0)
    assert round(dsr, 4) == 0.9004


def _block_moments(x: np.ndarray, s: int):
    blocks = np.array_split(np.arange(len(x)), s)
    counts = np.array([len(b) for b in blocks], dtype=float)
    means = np.stack([x[b].mean(axis=0) for b in blocks])
    variances = np.stack([x[b].var(axis=0, ddof=1) for b in blocks])
    return counts, means, variances


@pytest.mark.parametrize("seed, t, n, s", [(0, 203, 7, 8), (1, 640, 25, 10), (2, 96, 3, 4)])
def test_block_cscv_equals_cscv_logits_on_the_matrix(seed, t, n, s):
    """Pooling per-block count/mean/variance gives cscv_logits's logits on the T × N matrix."""
    x = np.random.default_rng(seed).normal(0.0002, 0.01, (t, n))
    got = cscv_block_logits(*_block_moments(x, s))
    np.testing.assert_allclose(got, cscv_logits(x, n_splits=s), rtol=1e-9, atol=1e-12)


def test_pbo_is_one_half_for_noise_and_zero_with_a_planted_edge():
    """Bailey et al. (2017), REFERENCES.md: N IID noise strategies → PBO ≈ 0.5; one strategy
    with a real edge → PBO ≈ 0. 40 seeded matrices of 1000 × 20, S = 8 (70 combinations):
    measured mean PBO of noise 0.486 (standard error of the mean 0.032); with an edge of
    0.25 standard deviations per bar on strategy 0, mean 0.0004 (max 0.014 = 1 of 70)."""
    rng = np.random.default_rng(7)
    noise, edge = [], []
    for _ in range(40):
        x = rng.normal(0, 0.01, (1000, 20))
        noise.append(np.mean(cscv_block_logits(*_block_moments(x, 8)) <= 0))
        x[:, 0] += 0.0025
        edge.append(np.mean(cscv_block_logits(*_block_moments(x, 8)) <= 0))
    assert abs(np.mean(noise) - 0.5) < 0.1, np.mean(noise)
    assert np.mean(edge) < 0.01 and np.max(edge) <= 0.05


def test_block_pbo_equals_cscv_on_the_stacked_block_backtests():
    """block_pbo sweeps each block with an evaluation window; the oracle stacks, for each
    combination, the returns of a backtest of every block (fresh account, all earlier bars
    as warm-up) into the T × N matrix and runs quantlab.metrics.cscv_logits on it."""
    data = bars(1600, seed=11)
    grid = {"fast": [3, 6, 10], "slow": [15, 30]}
    start, end = data.index[400], data.index[1599]
    res = block_pbo(SmaCross, data, grid, n_blocks=6, start=start, end=end, **OPTS)
    combos = [{"fast": f, "slow": s} for f in grid["fast"] for s in grid["slow"]]
    blocks = np.array_split(np.arange(400, 1600), 6)
    cols = []
    for p in combos:
        parts = [backtest(data.iloc[: b[-1] + 1], SmaCross(**p), start=data.index[b[0]],
                          end=data.index[b[-1]], **OPTS).returns.to_numpy() for b in blocks]
        cols.append(np.concatenate(parts))
    matrix = np.column_stack(cols)
    np.testing.assert_allclose(res.logits, cscv_logits(matrix, n_splits=6), rtol=1e-8,
                               atol=1e-10)
    assert res.pbo == np.mean(cscv_logits(matrix, n_splits=6) <= 0)
    assert list(res.blocks["n_bars"]) == [len(b) for b in blocks]
    with pytest.raises(InvalidParameterError, match="`n_blocks` of block_pbo"):
        block_pbo(SmaCross, data, grid, n_blocks=5)


@pytest.fixture(scope="module")
def wf():
    data = bars(2400, seed=3)
    return walk_forward(SmaCross, data, GRID, splitter=RollingSplit(600, 300), progress=False,
                        **OPTS)


def test_overfitting_report_joins_the_statistics(wf):
    rep = overfitting_report(wf, n_blocks=4, n_samples=200, seed=5, mean_block=3)
    r = wf.returns.to_numpy()
    ppy = wf.oos.periods_per_year
    assert rep.summary["psr_oos"] == pytest.approx(
        probabilistic_sharpe_ratio(r, periods_per_year=ppy), rel=1e-12)
    # DSR per fold = SweepResult.deflated_sharpe() of the train-window sweep (trials = 9)
    data = wf.data
    for k, row in wf.folds.iterrows():
        b = data.index.get_loc(row["train_end"])
        ref = sweep(SmaCross, data.iloc[: b + 1], GRID, start=row["train_start"],
                    end=row["train_end"], progress=False, **OPTS)
        assert rep.dsr.at[k, "dsr"] == pytest.approx(ref.deflated_sharpe(), rel=1e-9)
        assert rep.dsr.at[k, "n_trials"] == 9
    assert rep.summary["dsr_last_fold"] == rep.dsr["dsr"].iloc[-1]
    # PBO = block_pbo over the walk-forward's span
    ref_pbo = block_pbo(SmaCross, data, GRID, n_blocks=4, start=wf.folds["train_start"].iloc[0],
                        end=wf.folds["test_end"].iloc[-1], **OPTS)
    assert rep.summary["pbo"] == ref_pbo.pbo
    # Monte Carlo = bootstrap_returns of the stitched returns, same seed
    mc = bootstrap_returns(wf.returns, periods_per_year=ppy, n_samples=200, seed=5, mean_block=3)
    pd.testing.assert_frame_equal(rep.returns_mc.intervals, mc.intervals, check_exact=True)
    assert rep.trades_mc is not None
    closed = wf.oos.trades.loc[~wf.oos.trades["is_open"], "return"]
    assert rep.trades_mc.samples.shape == (200, 3)
    assert rep.trades_mc.periods_per_year == pytest.approx(len(closed) / (len(r) / ppy))
    assert set(rep.intervals.index.get_level_values(0)) == {"returns", "trades"}
    assert "OverfittingReport" in rep._repr_html_() and "pbo=" in repr(rep)
    assert rep.plot().data


def test_overfitting_report_refuses_other_objects():
    with pytest.raises(InvalidParameterError, match="`result` of overfitting_report"):
        overfitting_report(object())

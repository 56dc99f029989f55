"""walk_forward(): each fold against independent sweeps/backtests on the full data, causality
by perturbing the future, the stitched OOS equity against one parameter-switching backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.backtest.engine import backtest
from quantlab.backtest.sweep import sweep
from quantlab.errors import InvalidParameterError
from quantlab.metrics import annual_return
from quantlab.optimize.splitters import AnchoredSplit, PurgedKFold, RollingSplit
from quantlab.optimize.walkforward import FOLD_STATS, walk_forward
from quantlab.strategies import SmaCross

GRID = {"fast": [4, 8, 12], "slow": [20, 35, 50]}
OPTS = {"fee_bps": 10.0, "fill": "next_open"}


def bars(n: int = 2400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0001, 0.006, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.0005, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
    idx = pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": np.full(n, 1e3)}, index=idx)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return bars()


@pytest.fixture(scope="module")
def wf(data):
    return walk_forward(SmaCross, data, GRID, splitter=RollingSplit(600, 300), progress=False,
                        **OPTS)


def test_each_fold_equals_independent_sweep_and_backtest(wf, data):
    """Oracle per fold: a sweep of the train window on ALL the data (evaluation window; the
    SMA is causal, so later bars cannot change it) picks the same parameters with the same
    in-sample row, and a backtest of the test window on all the data gives the OOS row."""
    splits = list(RollingSplit(600, 300).split(data))
    assert wf.n_folds == len(splits) == 6
    idx = data.index
    for k, (tr, te) in enumerate(splits):
        row = wf.folds.loc[k]
        assert (row["train_start"], row["train_end"]) == (idx[tr[0]], idx[tr[-1]])
        assert (row["test_start"], row["test_end"]) == (idx[te[0]], idx[te[-1]])
        ref = sweep(SmaCross, data, GRID, start=idx[tr[0]], end=idx[tr[-1]], progress=False,
                    **OPTS)
        assert row["params"] == ref.best_params
        assert row["n_trials"] == ref.n_trials == 9
        for s in FOLD_STATS:
            assert row[f"is_{s}"] == pytest.approx(ref.best[s], rel=1e-12, abs=1e-15)
        oos = backtest(data, SmaCross(**ref.best_params), start=idx[te[0]], end=idx[te[-1]],
                       **OPTS).stats()
        for s in FOLD_STATS:
            assert row[f"oos_{s}"] == pytest.approx(oos[s], rel=1e-12, abs=1e-15)
        assert row["efficiency"] == pytest.approx(oos["annual_return"] / ref.best["annual_return"],
                                                  rel=1e-12)
        assert np.array_equal(wf.trials_sharpe[k], ref.table["sharpe"].to_numpy(), equal_nan=True)
    assert wf.best_params == wf.folds["params"].iloc[-1]
    assert set(wf.config["paths"]) == {"fused"}  # the fused sweep kernel chose every fold


@pytest.mark.parametrize("k", [1, 3, 5])
def test_causality_perturbing_the_future_never_changes_earlier_choices(wf, data, k):
    """Scramble every bar from fold k's test start on: folds < k are identical (choice, IS
    and OOS rows) and fold k's choice and IS row are identical."""
    c = data.index.get_loc(wf.folds.loc[k, "test_start"])
    rng = np.random.default_rng(99)
    noisy = data.copy()
    factor = np.exp(np.cumsum(rng.normal(0, 0.02, len(data) - c)))
    for col in ("open", "high", "low", "close"):
        noisy.iloc[c:, noisy.columns.get_loc(col)] *= factor
    other = walk_forward(SmaCross, noisy, GRID, splitter=RollingSplit(600, 300),
                         progress=False, **OPTS)
    is_cols = [f"is_{s}" for s in FOLD_STATS]
    oos_cols = [f"oos_{s}" for s in FOLD_STATS]
    pd.testing.assert_frame_equal(other.folds.loc[:k - 1], wf.folds.loc[:k - 1])
    assert other.folds.loc[k, "params"] == wf.folds.loc[k, "params"]
    pd.testing.assert_series_equal(other.folds.loc[k, is_cols], wf.folds.loc[k, is_cols])
    assert not other.folds.loc[k, oos_cols].equals(wf.folds.loc[k, oos_cols])  # it did change
    # the stitched equity is unchanged before the perturbation
    before = wf.equity.index < data.index[c]
    pd.testing.assert_series_equal(other.equity[before], wf.equity[before], check_exact=True)


class Switching:
    """A strategy that trades fold k's SmaCross parameters on fold k's test bars (written here
    independently of walk_forward's stitching)."""

    def __init__(self, schedule, warmup):
        self.schedule = schedule  # [(first bar, last bar, params)]
        self.warmup = warmup

    def signal(self, data):
        out = pd.Series(0.0, index=data.index)
        for first, last, params in self.schedule:
            sig = SmaCross(**params).signal(data)
            out.iloc[first:last + 1] = sig.iloc[first:last + 1].to_numpy()
        return out


@pytest.mark.parametrize("splitter", [RollingSplit(600, 300), AnchoredSplit(500, 250)])
@pytest.mark.parametrize("fill", ["next_open", "close"])
def test_stitched_equity_equals_one_switching_backtest(data, splitter, fill):
    """The stitched OOS equity equals one backtest of a strategy that switches parameter sets
    at the fold boundaries, EXACTLY (bit for bit): the same decision step runs on identical
    target arrays (the SMA of a prefix equals the SMA of the full data on that prefix)."""
    wf = walk_forward(SmaCross, data, GRID, splitter=splitter, progress=False, fee_bps=10.0,
                      fill=fill)
    idx = data.index
    schedule = [(idx.get_loc(r["test_start"]), idx.get_loc(r["test_end"]), r["params"])
                for _, r in wf.folds.iterrows()]
    one = backtest(data, Switching(schedule, SmaCross(**schedule[0][2]).warmup),
                   start=wf.folds["test_start"].iloc[0], end=wf.folds["test_end"].iloc[-1],
                   fee_bps=10.0, fill=fill)
    pd.testing.assert_series_equal(wf.equity, one.equity, check_exact=True)
    pd.testing.assert_frame_equal(wf.oos.orders, one.orders, check_exact=True)
    # parameters do switch somewhere (otherwise the test would prove little)
    assert len({tuple(sorted(p.items())) for *_, p in schedule}) > 1


def test_efficiency_and_parameter_stability(wf):
    """Overall WFE = annual return of the stitched OOS returns / the test-weighted mean
    in-sample annual return (REFERENCES.md); stability against plain pandas counts."""
    ppy = wf.oos.periods_per_year
    w = wf.folds["n_test"].to_numpy(float)
    ins = np.sum(w * wf.folds["is_annual_return"]) / w.sum()
    assert wf.efficiency == pytest.approx(annual_return(wf.returns.to_numpy(),
                                                        periods_per_year=ppy) / ins, rel=1e-12)
    stab = wf.parameter_stability()
    for name in ("fast", "slow"):
        col = wf.folds[name]
        assert stab.loc[name, "n_distinct"] == col.nunique()
        assert stab.loc[name, "changes"] == sum(a != b for a, b in zip(col[:-1], col[1:], strict=True))
        assert stab.loc[name, "mode_share"] == pytest.approx(col.value_counts().iloc[0] / len(col))
        assert stab.loc[name, "cv"] == pytest.approx(col.std(ddof=0) / col.mean())
        assert stab.loc[name, "last"] == col.iloc[-1]


def test_plot_repr_and_in_sample_optimum(wf, data):
    fig = wf.plot()
    names = {t.name for t in fig.data}
    assert {"train", "test", "out-of-sample (stitched)", "in-sample (chosen params)"} <= names
    oos = [t for t in fig.data if t.name == "out-of-sample (stitched)"][0]
    np.testing.assert_array_equal(np.asarray(oos.y, dtype=float), wf.equity.to_numpy())
    assert "WalkForwardResult" in wf._repr_html_() and "efficiency" in repr(wf)
    params, bt = wf.in_sample_optimum()
    ref = sweep(SmaCross, data, GRID, start=wf.equity.index[0], end=wf.equity.index[-1],
                progress=False, **OPTS)
    assert params == ref.best_params
    assert bt.stats()["sharpe"] == pytest.approx(ref.best["sharpe"], rel=1e-12)
    # hindsight beats (or ties) the causal choice on its own metric
    assert ref.best["sharpe"] >= wf.oos.stats()["sharpe"] - 1e-12


def test_errors(data):
    with pytest.raises(InvalidParameterError, match="train on the future"):
        walk_forward(SmaCross, data, GRID, splitter=PurgedKFold(4), progress=False)
    with pytest.raises(InvalidParameterError, match="`n_trials` of walk_forward"):
        walk_forward(SmaCross, data, GRID, splitter=RollingSplit(600, 300), n_trials=5)
    with pytest.raises(InvalidParameterError, match="Did you mean 'fee_bps'"):
        walk_forward(SmaCross, data, GRID, splitter=RollingSplit(600, 300), fee_bp=10)
    with pytest.raises(InvalidParameterError, match="`search` of walk_forward"):
        walk_forward(SmaCross, data, GRID, splitter=RollingSplit(600, 300), search="grdi")
    with pytest.raises(InvalidParameterError, match="at least one split"):
        walk_forward(SmaCross, data, GRID, splitter=RollingSplit(5000, 300))
    with pytest.raises(InvalidParameterError, match="`strategy_cls` of walk_forward"):
        walk_forward(SmaCross(), data, GRID, splitter=RollingSplit(600, 300))


def test_optuna_search_per_fold(data):
    """search="optuna" (part 2's optuna_search on each train window): the choice is a point of
    the space, and the OOS row equals an independent backtest of it."""
    pytest.importorskip("optuna")
    space = {"fast": (3, 15), "slow": (20, 60)}
    wf = walk_forward(SmaCross, data, space, splitter=RollingSplit(900, 500), search="optuna",
                      n_trials=6, seed=1, storage="memory", progress=False, **OPTS)
    idx = data.index
    for _, row in wf.folds.iterrows():
        assert 3 <= row["fast"] <= 15 and 20 <= row["slow"] <= 60
        oos = backtest(data, SmaCross(**row["params"]), start=row["test_start"],
                       end=row["test_end"], **OPTS).stats()
        assert row["oos_sharpe"] == pytest.approx(oos["sharpe"], rel=1e-12)
        assert row["n_trials"] == 6
    assert wf.folds["train_end"].iloc[0] == idx[899]


def test_local_processes_equal_sequential(data, wf):
    """Folds dispatched through run_tasks on 2 loky processes give the same table."""
    pytest.importorskip("joblib")
    par = walk_forward(SmaCross, data, GRID, splitter=RollingSplit(600, 300), progress=False,
                       n_jobs=2, **OPTS)
    pd.testing.assert_frame_equal(par.folds, wf.folds)
    pd.testing.assert_series_equal(par.equity, wf.equity, check_exact=True)


def test_dask_local_cluster_equals_local_and_keeps_the_fast_path(data, wf):
    """backend="dask" on a LocalCluster of 2 single-threaded workers (data scattered once by
    run_tasks): the same fold table and stitched equity, bit for bit, and every fold's sweep
    on the workers took the fused fast path (SweepResult.config["path"] reported back)."""
    pytest.importorskip("distributed")
    dask = walk_forward(SmaCross, data, GRID, splitter=RollingSplit(600, 300), progress=False,
                        backend="dask", scheduler="local", n_jobs=2, **OPTS)
    assert dask.config["paths"] == ["fused"] * dask.n_folds
    pd.testing.assert_frame_equal(dask.folds, wf.folds, check_exact=True)
    pd.testing.assert_series_equal(dask.equity, wf.equity, check_exact=True)


def test_walkforward_setup_validates_the_notebook_parameters():
    """The notebook's setup: smoke sizes, the options it hands to walk_forward, and errors
    in the house format."""
    from quantlab.report.walkforward_setup import walkforward_setup

    s = walkforward_setup(smoke=True)
    assert len(s.data) == 500 and s.splitter == RollingSplit(200, 100)
    assert s.splitter.get_n_splits(s.data) == 3
    assert s.walk_forward_options["splitter"] is s.splitter
    assert s.walk_forward_options["fee_bps"] == 10.0 and s.n_samples == 200 and s.n_blocks == 4
    assert "walkforward_report.ipynb" in s.command and "-p smoke true" in s.command
    o = walkforward_setup(search="optuna", smoke=True)
    assert o.walk_forward_options["n_trials"] == 5 and o.space == {"fast": [5, 40],
                                                                   "slow": [50, 200]}
    with pytest.raises(InvalidParameterError, match="Did you mean 'rolling'"):
        walkforward_setup(splitter="rolling_")
    with pytest.raises(InvalidParameterError, match="`n_trials` of walkforward_report"):
        walkforward_setup(n_trials=5)
    with pytest.raises(InvalidParameterError, match="`n_blocks` of walkforward_report"):
        walkforward_setup(n_blocks=5)
    with pytest.raises(InvalidParameterError, match="`space` of walkforward_report"):
        walkforward_setup(search="optuna", space={"fast": [5, 10, 20]})
    with pytest.raises(InvalidParameterError, match="`train` of walkforward_report"):
        walkforward_setup(train=5000)

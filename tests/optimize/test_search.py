"""optuna_search(): every trial's value is the backtest's statistic, invalid combinations are
pruned, the best is the table's best, the Pareto choice is the brute-force front's best by the
first metric, fold pruning reports and prunes, and no trial sees data after its window."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest

from quantlab.backtest import backtest
from quantlab.errors import InvalidParameterError
from quantlab.optimize.search import (
    _STATS_ROWS,
    default_directions,
    evaluate_folds,
    optuna_search,
    suggest,
)
from quantlab.strategies import SmaCross

SPACE = {"fast": (2, 40), "slow": (5, 60)}
TS = optuna.trial.TrialState


def _search(bars, **kw):
    kw.setdefault("storage", "memory")
    kw.setdefault("seed", 0)
    kw.setdefault("sampler", "random")
    return optuna_search(SmaCross, bars, kw.pop("space", SPACE), **kw)


def test_each_trial_equals_a_direct_backtest(bars) -> None:
    """Oracle: backtest(data, SmaCross(**params), start=..., end=..., fee_bps=...).stats()."""
    start, end = bars.index[300], bars.index[1200]
    res = _search(bars, n_trials=8, start=start, end=end, fee_bps=10, metric="sortino")
    done = res.table[res.table["state"] == "complete"]
    assert len(done) == res.n_trials == 8
    for _, row in done.iterrows():
        stats = backtest(bars, SmaCross(fast=int(row.fast), slow=int(row.slow)), start=start,
                         end=end, fee_bps=10).stats()
        assert row["sortino"] == stats["sortino"]


def test_invalid_combinations_are_pruned_not_errors(bars) -> None:
    res = _search(bars, n_trials=10)
    t = res.table
    invalid = t[t["reason"] == "invalid"]
    assert len(invalid) > 0  # fast >= slow is likely in this space
    assert (invalid["fast"] >= invalid["slow"]).all()
    assert (invalid["state"] == "pruned").all()
    done = t[t["state"] == "complete"]
    assert len(done) == 10 and (done["fast"] < done["slow"]).all()


def test_best_params_is_the_tables_best(bars) -> None:
    res = _search(bars, n_trials=12)
    done = res.table[res.table["state"] == "complete"]
    row = done.loc[done["sharpe"].idxmax()]
    assert res.best_params == {"fast": int(row.fast), "slow": int(row.slow)}
    assert res.best_value == row["sharpe"]


def test_minimized_metric_picks_the_lowest(bars) -> None:
    res = _search(bars, n_trials=6, metric="annual_volatility")
    assert res.directions == ("minimize",)
    done = res.table[res.table["state"] == "complete"]
    assert res.best_value == done["annual_volatility"].min()


def test_seeded_searches_repeat(bars) -> None:
    a = _search(bars, n_trials=6, seed=5, sampler="tpe").table
    b = _search(bars, n_trials=6, seed=5, sampler="tpe").table
    pd.testing.assert_frame_equal(a.drop(columns="duration_s"), b.drop(columns="duration_s"))


def _pareto(values: np.ndarray) -> np.ndarray:
    """Brute-force non-dominated mask (both objectives maximized)."""
    keep = np.ones(len(values), dtype=bool)
    for i, v in enumerate(values):
        dominated = np.all(values >= v, axis=1) & np.any(values > v, axis=1)
        keep[i] = not dominated.any()
    return keep


def test_nsga2_multi_objective_best_is_on_the_front(bars) -> None:
    res = _search(bars, n_trials=16, sampler="nsga2", metric=["sharpe", "max_drawdown"])
    assert res.directions == ("maximize", "maximize")  # max_drawdown <= 0: maximize it
    done = res.table[res.table["state"] == "complete"].reset_index(drop=True)
    front = done[_pareto(done[["sharpe", "max_drawdown"]].to_numpy())]
    assert sorted(front["number"]) == sorted(res.pareto_front["number"])
    best = front.sort_values(["sharpe", "number"], ascending=[False, True]).iloc[0]
    assert res.best_params == {"fast": int(best.fast), "slow": int(best.slow)}


def test_cmaes_and_tpe_run(bars) -> None:
    for sampler in ("cmaes", "tpe"):
        assert _search(bars, n_trials=4, sampler=sampler).n_trials == 4


def test_space_forms() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    p = suggest(trial, {"a": (1, 5), "b": (0.5, 2), "c": ["x", "y"], "d": {"low": 10, "high": 50,
                                                                          "step": 10},
                        "e": {"low": 0.1, "high": 1.0, "log": True}, "f": 7})
    dist = trial.distributions
    assert isinstance(dist["a"], optuna.distributions.IntDistribution)
    assert isinstance(dist["b"], optuna.distributions.FloatDistribution)
    assert isinstance(dist["c"], optuna.distributions.CategoricalDistribution)
    assert dist["d"].step == 10 and p["d"] in (10, 20, 30, 40, 50)
    assert dist["e"].log and 0.1 <= p["e"] <= 1.0
    assert p["f"] == 7 and "f" not in dist
    with pytest.raises(InvalidParameterError, match="low"):
        suggest(trial, {"g": {"lo": 1, "high": 2}})


def test_callable_space_derives_parameters(bars) -> None:
    def space(trial):
        fast = trial.suggest_int("fast", 2, 20)
        return {"fast": fast, "slow": fast + trial.suggest_int("gap", 5, 40)}

    res = _search(bars, n_trials=5, space=space)
    done = res.table[res.table["state"] == "complete"]
    assert ((done["slow"] - done["fast"]) >= 5).all()
    assert set(res.best_params) == {"fast", "slow"}


def test_fold_pruning_reports_and_prunes(bars) -> None:
    """Completed trials: the mean of the folds' metric (oracle: direct backtests); with a pruner
    that prunes anything below the median after the first fold, some trials are pruned with
    reason 'fold' and their first intermediate value is the first fold's metric."""
    folds = [(bars.index[200], bars.index[599]), (bars.index[600], bars.index[999]),
             (bars.index[1000], bars.index[1499])]
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    res = _search(bars, n_trials=8, folds=folds, pruner=pruner)
    t = res.table
    assert (t["reason"] == "fold").any()
    for trial in res.study.get_trials(states=(TS.COMPLETE,))[:3]:
        s = SmaCross(**trial.user_attrs["params"])
        per = [backtest(bars, s, start=a, end=b).stats()["sharpe"] for a, b in folds]
        assert trial.value == pytest.approx(np.mean(per), rel=1e-12)
        assert trial.intermediate_values[0] == pytest.approx(per[0], rel=1e-12)
    pruned = [tr for tr in res.study.get_trials(states=(TS.PRUNED,))
              if tr.user_attrs.get("quantlab_reason") == "fold"]
    tr = pruned[0]
    s = SmaCross(**tr.user_attrs["params"])
    first = backtest(bars, s, start=folds[0][0], end=folds[0][1]).stats()["sharpe"]
    assert tr.intermediate_values[0] == pytest.approx(first, rel=1e-12)


def test_evaluate_folds_without_pruning_averages() -> None:
    study = optuna.create_study()
    trial = study.ask()
    vals = iter([(1.0, -2.0), (3.0, -4.0)])
    out = evaluate_folds(trial, lambda s, e: next(vals), [(0, 1), (2, 3)], prune=False)
    assert out == (2.0, -3.0)


def test_future_data_cannot_change_a_trial(bars) -> None:
    """Causality: with the evaluation window ending at bar 1000, scrambling every bar after it
    leaves every trial's parameters and value unchanged (same seed, same proposals)."""
    end = bars.index[1000]
    perturbed = bars.copy()
    rng = np.random.default_rng(1)
    scale = np.exp(np.cumsum(rng.normal(0, 0.05, len(bars) - 1001)))
    perturbed.iloc[1001:, :4] = perturbed.iloc[1001:, :4].to_numpy() * scale[:, None]
    a = _search(bars, n_trials=8, end=end, start=bars.index[200]).table
    b = _search(perturbed, n_trials=8, end=end, start=bars.index[200]).table
    cols = ["number", "state", "fast", "slow", "sharpe", "reason"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_stats_rows_match_backtest_stats(bars) -> None:
    stats = backtest(bars, SmaCross(fast=5, slow=20)).stats()
    assert set(_STATS_ROWS) <= set(stats.index)
    assert default_directions(["sharpe", "annual_volatility", "max_drawdown"]) == (
        "maximize", "minimize", "maximize")


def test_errors_name_the_argument(bars) -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'random'"):
        _search(bars, n_trials=2, sampler="randon")
    with pytest.raises(InvalidParameterError, match="metric"):
        _search(bars, n_trials=2, metric="sharp")
    with pytest.raises(InvalidParameterError, match="fee_bps"):
        _search(bars, n_trials=2, fee_bsp=10)
    with pytest.raises(InvalidParameterError, match="one per metric"):
        _search(bars, n_trials=2, metric=["sharpe", "calmar"], directions=["maximize"])
    with pytest.raises(InvalidParameterError, match="n_trials"):
        _search(bars, n_trials=0)
    with pytest.raises(InvalidParameterError, match="nsga2"):
        _search(bars, n_trials=2, sampler="cmaes", metric=["sharpe", "calmar"])


def test_all_invalid_space_stops_with_a_warning(bars) -> None:
    """A space where every trial is invalid stops after the attempt limit with a warning."""
    from quantlab.errors import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="pruned or failed"):
        res = _search(bars, n_trials=1, space={"fast": (50, 60), "slow": (10, 20)})
    assert res.n_trials == 0
    assert math.isnan(float(res.table["sharpe"].iloc[0]))

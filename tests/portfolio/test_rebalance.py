"""rebalance(): through backtest()'s multi-asset target mode; past data only; turnover and
costs counted from the orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.errors import InvalidParameterError
from quantlab.portfolio.constraints import Constraints
from quantlab.portfolio.optimize import optimize
from quantlab.portfolio.problems import Optimizer
from quantlab.portfolio.rebalancing import TargetWeights, rebalance, rebalance_bars
from tests.portfolio._cases import panel

PPY = 252
LOOKBACK = 60


@pytest.fixture(scope="module")
def data():
    return panel(3, 300, seed=2)


def test_rebalance_bars_are_the_first_bar_of_each_period(data):
    idx = data.index
    bars = rebalance_bars(idx, "M", LOOKBACK)
    months = pd.Series(idx.year * 12 + idx.month, index=idx)
    firsts = np.flatnonzero(months.ne(months.shift()).to_numpy())
    np.testing.assert_array_equal(bars, firsts[firsts >= LOOKBACK])
    np.testing.assert_array_equal(rebalance_bars(idx, 21, LOOKBACK),
                                  np.arange(LOOKBACK, len(idx), 21))
    with pytest.raises(InvalidParameterError, match="Did you mean 'M'"):
        rebalance_bars(idx, "m", LOOKBACK)


@pytest.mark.parametrize("objective", ["min_variance", "min_cvar", "max_sharpe"])
def test_weights_equal_optimize_on_the_trailing_window(data, objective):
    opt = Optimizer(objective=objective, periods_per_year=PPY)
    strat = TargetWeights(optimizer=opt, every=20, lookback=LOOKBACK, on_infeasible="hold")
    w = strat.weights(data)
    rets = data["close"].pct_change()
    solved = w.dropna().index
    assert len(solved) >= 4
    for t in solved[::2]:
        k = data.index.get_loc(t)
        window = rets.iloc[k - LOOKBACK + 1:k + 1]
        want = optimize(window, objective=objective, periods_per_year=PPY).weights
        np.testing.assert_allclose(w.loc[t].to_numpy(), np.where(np.abs(want) < 1e-8, 0, want),
                                   atol=1e-7)


@pytest.mark.parametrize("objective", ["min_variance", "max_sharpe", "hrp"])
def test_perturbing_the_future_changes_no_past_weight_or_equity(data, objective):
    opt = Optimizer(objective=objective, periods_per_year=PPY,
                    constraints=Constraints(max_turnover=1.2) if objective != "hrp"
                    else Constraints())
    base = rebalance(data, opt, every="M", lookback=LOOKBACK, on_infeasible="hold")
    cut = 200
    future = data.copy()
    rng = np.random.default_rng(0)
    shock = np.exp(np.cumsum(rng.normal(0, 0.03, (len(data) - cut, 3)), axis=0))
    for f in ("open", "high", "low", "close"):
        future.loc[future.index[cut:], f] = data[f].iloc[cut:].to_numpy() * shock
    moved = rebalance(future, opt, every="M", lookback=LOOKBACK, on_infeasible="hold")
    past = base.weights.index[base.weights.index < data.index[cut]]
    pd.testing.assert_frame_equal(base.weights.loc[past], moved.weights.loc[past])
    # equity up to bar cut - 1: a decision at cut - 1 fills at the open of bar cut (changed),
    # so its marks start at cut
    pd.testing.assert_series_equal(base.equity.iloc[:cut], moved.equity.iloc[:cut])
    truncated = rebalance(data.iloc[:cut], opt, every="M", lookback=LOOKBACK,
                          on_infeasible="hold")
    pd.testing.assert_frame_equal(truncated.weights, base.weights.loc[past])
    assert not base.weights.loc[base.weights.index >= data.index[cut]].equals(
        moved.weights.loc[moved.weights.index >= data.index[cut]])  # the future did change


def test_each_rebalance_trades_back_to_the_weights(data):
    opt = Optimizer(objective="min_variance", periods_per_year=PPY)
    res = rebalance(data, opt, every="M", lookback=LOOKBACK, fill="close")
    expo = res.backtest.exposure.loc[res.weights.index]
    np.testing.assert_allclose(expo.to_numpy(), res.weights.to_numpy(), atol=1e-9)
    assert res.backtest.config["mode"] == "target"


def test_turnover_and_costs_are_counted_from_the_orders(data):
    opt = Optimizer(objective="equal_weight", periods_per_year=PPY)
    res = rebalance(data, opt, every="M", lookback=LOOKBACK, fee_bps=10, slippage_bps=5)
    bt = res.backtest
    close = bt.data["close"]
    opn = bt.data["open"]
    # independent: units traded from the position changes, valued at the fills
    traded_units = bt.positions.diff().fillna(bt.positions).abs()
    orders = bt.orders
    value = (orders["size"] * orders["price"]).groupby(orders["time"]).sum()
    np.testing.assert_allclose(traded_units.sum(axis=1).loc[value.index].to_numpy(),
                               orders.groupby("time")["size"].sum().to_numpy(), rtol=1e-12)
    prev = bt.equity.shift(1).fillna(100_000.0)
    np.testing.assert_allclose(res.turnover.to_numpy(), (value / prev.loc[value.index]).to_numpy(),
                               rtol=1e-12)
    assert res.turnover.iloc[0] == pytest.approx(1.0, abs=2e-3)  # the first buy from cash
    # fees are 10 bps of traded value; slippage moves each fill 5 bps from the open
    np.testing.assert_allclose(orders["fee"], orders["size"] * orders["price"] * 1e-3,
                               rtol=1e-9)
    ref = np.array([opn.at[t, s] for t, s in zip(orders["time"], orders["symbol"], strict=True)])
    np.testing.assert_allclose(np.abs(orders["price"] / ref - 1), 5e-4, rtol=1e-9)
    slip = (orders["size"] * np.abs(orders["price"] - ref)).sum()
    assert res.total_costs == pytest.approx(orders["fee"].sum() + slip, rel=1e-12)
    # equal weight drifts between rebalances: every rebalance after the first trades
    assert len(res.turnover) == len(res.weights)
    assert (res.turnover.iloc[1:] > 0).all()
    assert close.shape[1] == 3


def test_shorts_need_a_gross_bound_and_infeasible_rebalances_are_dated(data):
    free = Optimizer(objective="min_variance", periods_per_year=PPY,
                     constraints=Constraints(long_only=False))
    with pytest.raises(InvalidParameterError, match="gross_leverage"):
        rebalance(data, free, lookback=LOOKBACK)
    lev = rebalance(data, free.replace(constraints=Constraints(long_only=False,
                                                               gross_leverage=1.5)),
                    lookback=LOOKBACK, fill="close")
    assert lev.backtest.config["leverage"] == 1.5
    np.testing.assert_allclose(lev.backtest.exposure.loc[lev.weights.index].to_numpy(),
                               lev.weights.to_numpy(), atol=1e-9)
    bad = Optimizer(objective="min_variance", periods_per_year=PPY,
                    constraints=Constraints(max_weight=0.2))
    with pytest.raises(InvalidParameterError, match=r"at the rebalance of 2015-.*max_weight"):
        rebalance(data, bad, lookback=LOOKBACK)
    held = rebalance(data, bad, lookback=LOOKBACK, on_infeasible="hold")
    assert len(held.skipped) == len(held.weights) and held.backtest.orders.empty

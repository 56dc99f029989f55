"""Golden master: the demo backtest's numbers, pinned (and shown in the README).

Not an oracle (tests/backtest/test_vectorbt_parity.py is): a tripwire that any change to fills,
fees, sizing, the bundled data's adjustment or the metrics shows up here first. If a change is
intended, update the numbers here and in the README together, and say why in the commit.

First trade, checked by hand: SMA(20) crossed above SMA(50) at the close of Friday 2000-07-07;
with fill="next_open" the order fills at Monday 2000-07-10's open, 3.475659 (split-adjusted), for
100000 / (3.475659 * 1.001) = 28742.78 shares (10 bps fee included).
"""

from __future__ import annotations

import pandas as pd
import pytest

import quantlab as ql

PINNED = {
    "total_return": 6.375943440205153,
    "cagr": 0.16648104198337044,
    "annual_volatility": 0.34731405942694,
    "sharpe": 0.6340205117618657,
    "sortino": 0.8688612537310315,
    "max_drawdown": -0.7800935438820671,
    "n_trades": 31.0,
    "win_rate": 0.6129032258064516,
    "profit_factor": 2.838698541497028,
    "total_fees": 12969.087088257269,
    "end_value": 737594.3440205156,
    "exposure": 0.6385321100917432,
}


@pytest.fixture(scope="module")
def demo_result():
    return ql.backtest(ql.data.load("aapl"), ql.strategies.SmaCross(fast=20, slow=50), fee_bps=10.0)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_demo_statistics_are_pinned(demo_result, name):
    assert demo_result.stats()[name] == pytest.approx(PINNED[name], rel=1e-10)


def test_first_trade_by_hand(demo_result):
    first = demo_result.trades.iloc[0]
    assert first["entry_time"] == pd.Timestamp("2000-07-10", tz="UTC")
    assert first["entry_price"] == pytest.approx(3.475659443759257, rel=1e-12)
    assert first["size"] == pytest.approx(100_000 / (first["entry_price"] * 1.001), rel=1e-12)

"""backtesting.py semantics: its own published SmaCross example, reproduced by the simulator.

backtesting.py's test suite pins the statistics of ``Backtest(GOOG, SmaCross,
finalize_trades=True).run()`` (``backtesting/test/_test.py::test_compute_stats``, also the
numbers on its website): SMA(10) / SMA(30) on GOOG daily bars, a long on each upward
crossover and a short on each downward one (the open position reversed), market orders
filled at the next open, whole units, all the equity, no commission, 10 000 of cash.

In quantlab that is signal mode: ``backtest(df, (up, down, down, up), fill="next_open",
lot_size=1, init_cash=10_000)`` (entries on the upward cross, short entries on the downward
one, each exiting the other side). The trades are compared one by one with the installed
backtesting.py, then every published statistic defined on the trades, the equity path or the
final equity is compared with the published value (rtol 1e-8, as backtesting.py's test).
``finalize_trades=True`` closes the last trade at the last bar's open (a market order of the
last bar); quantlab keeps it open, marked at the close, so the test closes it at that open.
The statistics backtesting.py annualizes its own way (Sharpe, Sortino, CAGR, volatility,
alpha, beta), its drawdown durations and its buy & hold (from the end of the indicators'
warm-up) are not quantlab's definitions and are not compared.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest  # noqa: E402
from backtesting.test import GOOG  # noqa: E402
from backtesting.test._test import SmaCross as BtSmaCross  # noqa: E402

import quantlab as ql  # noqa: E402

#: backtesting.py's published values (test_compute_stats), the ones compared here
PUBLISHED = {
    "# Trades": 66,
    "Avg. Trade Duration": pd.Timedelta("46 days 00:00:00"),
    "Avg. Trade [%]": 2.531715975158555,
    "Best Trade [%]": 53.59595229490424,
    "Equity Final [$]": 51422.98999999996,
    "Equity Peak [$]": 75787.44,
    "Expectancy [%]": 3.2748078066748834,
    "Exposure Time [%]": 96.74115456238361,
    "Max. Drawdown [%]": -47.98012705007589,
    "Max. Trade Duration": pd.Timedelta("183 days 00:00:00"),
    "Profit Factor": 2.167945974262033,
    "Return [%]": 414.2298999999996,
    "SQN": 1.0766187356697705,
    "Kelly Criterion": 0.1518705127029717,
    "Win Rate [%]": 46.96969696969697,
    "Worst Trade [%]": -18.39887353835481,
}


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    df = GOOG.rename(columns=str.lower).astype(float)
    df.index = pd.DatetimeIndex(df.index, name="time").tz_localize("UTC")
    return df


@pytest.fixture(scope="module")
def quantlab_run(goog):
    close = goog["close"]
    fast, slow = close.rolling(10).mean(), close.rolling(30).mean()
    up = (fast > slow) & (fast.shift() < slow.shift())  # backtesting.lib.crossover
    down = (fast < slow) & (fast.shift() > slow.shift())
    return ql.backtest(goog, (up, down, down, up), fill="next_open", lot_size=1,
                       init_cash=10_000)


@pytest.fixture(scope="module")
def finalized(goog, quantlab_run) -> pd.DataFrame:
    """quantlab's trades with the open one closed at the last bar's open, as
    ``finalize_trades=True`` does."""
    trades = quantlab_run.trades.copy()
    last = trades.index[-1]
    assert bool(trades.at[last, "is_open"]) and not trades["is_open"].iloc[:-1].any()
    sign = 1.0 if trades.at[last, "direction"] == "long" else -1.0
    exit_price = float(goog["open"].iloc[-1])
    entry, size = float(trades.at[last, "entry_price"]), float(trades.at[last, "size"])
    trades.loc[last, ["exit_price", "exit_bar", "exit_time"]] = (
        exit_price, len(goog) - 1, goog.index[-1])
    trades.at[last, "pnl"] = sign * size * (exit_price - entry)
    trades.at[last, "return"] = sign * (exit_price / entry - 1.0)
    return trades


def test_trades_equal_backtesting_py_one_by_one(goog, finalized):
    bt = Backtest(GOOG, BtSmaCross, finalize_trades=True).run()["_trades"]
    assert len(bt) == len(finalized) == PUBLISHED["# Trades"]
    signed = np.where(finalized["direction"] == "long", 1.0, -1.0) * finalized["size"]
    np.testing.assert_array_equal(signed.to_numpy(), bt["Size"].to_numpy(dtype=float))
    np.testing.assert_array_equal(finalized["entry_bar"].to_numpy(), bt["EntryBar"].to_numpy())
    np.testing.assert_array_equal(finalized["exit_bar"].to_numpy(), bt["ExitBar"].to_numpy())
    # prices to the last bit or so: quantlab's trade prices are value / size averages
    np.testing.assert_allclose(finalized["entry_price"].to_numpy(), bt["EntryPrice"].to_numpy(),
                               rtol=1e-15)
    np.testing.assert_allclose(finalized["exit_price"].to_numpy(), bt["ExitPrice"].to_numpy(),
                               rtol=1e-15)
    np.testing.assert_allclose(finalized["pnl"].to_numpy(), bt["PnL"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(finalized["return"].to_numpy(), bt["ReturnPct"].to_numpy(),
                               rtol=1e-12)


def _close(got: float, key: str) -> None:
    assert math.isclose(got, PUBLISHED[key], rel_tol=1e-8), (key, got, PUBLISHED[key])


def test_equity_path_statistics_equal_the_published_ones(goog, quantlab_run):
    res = quantlab_run
    stats = res.stats()
    _close(float(res.equity.max()), "Equity Peak [$]")
    _close(100.0 * float(stats["max_drawdown"]), "Max. Drawdown [%]")
    _close(100.0 * float(stats["exposure"]), "Exposure Time [%]")
    # the final equity once the open trade is closed at the last open
    final = float(res.cash.iloc[-1] + res.positions.iloc[-1, 0] * goog["open"].iloc[-1])
    _close(final, "Equity Final [$]")
    _close(100.0 * (final / 10_000 - 1.0), "Return [%]")


def test_trade_statistics_equal_the_published_ones(finalized):
    returns = finalized["return"].to_numpy()
    pnl = finalized["pnl"].to_numpy()
    n = len(returns)
    _close(100.0 * float(np.mean(pnl > 0)), "Win Rate [%]")
    _close(100.0 * float(returns.max()), "Best Trade [%]")
    _close(100.0 * float(returns.min()), "Worst Trade [%]")
    # backtesting.py: the geometric mean of 1 + return, less 1; the mean return
    _close(100.0 * (float(np.exp(np.log1p(returns).mean())) - 1.0), "Avg. Trade [%]")
    _close(100.0 * float(returns.mean()), "Expectancy [%]")
    _close(float(returns[returns > 0].sum() / -returns[returns < 0].sum()), "Profit Factor")
    _close(math.sqrt(n) * float(pnl.mean() / pnl.std(ddof=1)), "SQN")
    win = float(np.mean(pnl > 0))
    kelly = win - (1 - win) / (pnl[pnl > 0].mean() / -pnl[pnl < 0].mean())
    _close(float(kelly), "Kelly Criterion")
    days = (finalized["exit_time"] - finalized["entry_time"]).dt.days
    assert pd.Timedelta(days=round(float(days.mean()))) == PUBLISHED["Avg. Trade Duration"]
    assert pd.Timedelta(days=int(days.max())) == PUBLISHED["Max. Trade Duration"]

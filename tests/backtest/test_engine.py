"""backtest(): fills, targets, multi-asset, leverage, stops, costs, result object, bad input.

Oracles: vectorbt (``from_signals`` with shifted signals and ``price=open`` for next-open
fills, ``from_orders`` with ``size_type="targetpercent"`` for targets, cash sharing for
several assets) and closed forms on hand-built bars (stops, gaps, liquidation, funding,
slippage, lots).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import quantlab.data as qd
from quantlab.backtest import BacktestResult, backtest
from quantlab.errors import DataError, DataQualityWarning, InvalidParameterError

vbt = pytest.importorskip("vectorbt")


def bars(close, open_=None, high=None, low=None, start="2021-01-04"):
    close = np.asarray(close, dtype=float)
    open_ = close.copy() if open_ is None else np.asarray(open_, dtype=float)
    high = np.maximum(open_, close) if high is None else np.asarray(high, dtype=float)
    low = np.minimum(open_, close) if low is None else np.asarray(low, dtype=float)
    idx = pd.date_range(start, periods=len(close), freq="D", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": np.ones(len(close))}, index=idx)


@pytest.fixture(scope="module")
def aapl():
    return qd.load("aapl", start="2005-01-01", end="2009-12-31")


@pytest.fixture(scope="module")
def cross(aapl):
    c = aapl["close"]
    fast, slow = c.rolling(10).mean(), c.rolling(30).mean()
    en = (fast > slow) & (fast.shift() <= slow.shift())
    ex = (fast < slow) & (fast.shift() >= slow.shift())
    return en, ex


class Stub:
    """Duck-typed strategy: long when close > its rolling mean (warmup = window)."""

    def __init__(self, window=20):
        self.window = window
        self.params = {"window": window}

    @property
    def warmup(self):
        return self.window

    def signal(self, data):
        c = data["close"]
        return (c > c.rolling(self.window).mean()).astype(float).where(
            c.rolling(self.window).mean().notna())


# ---- defaults and fills ------------------------------------------------------------------

def test_defaults(aapl, cross):
    res = backtest(aapl, cross)
    assert isinstance(res, BacktestResult)
    assert res.config["fill"] == "next_open"
    assert res.config["init_cash"] == 100_000
    assert res.config["fee_bps"] == 0.0 and res.config["size"] == 1.0
    assert res.periods_per_year == 252.0


@pytest.mark.parametrize("kw", [{}, {"fee_bps": 10}, {"fee_bps": 10, "direction": "both"}])
def test_next_open_equals_vectorbt_with_shifted_signals(aapl, cross, kw):
    en, ex = cross
    res = backtest(aapl, cross, **kw)
    pf = vbt.Portfolio.from_signals(aapl["close"], en.shift(1, fill_value=False),
                                    ex.shift(1, fill_value=False), price=aapl["open"],
                                    fees=kw.get("fee_bps", 0) / 1e4, init_cash=100_000,
                                    direction=kw.get("direction", "longonly"))
    np.testing.assert_allclose(res.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-9)
    # the order of a signal on bar t fills at the open of bar t+1
    first = res.orders.iloc[0]
    t = aapl.index.get_loc(first["time"])
    signal = en if kw.get("direction") != "both" else (en | ex)
    assert signal.iloc[t - 1] and first["price"] == aapl["open"].iloc[t]
    built = res.to_vectorbt()
    np.testing.assert_allclose(built.value().to_numpy().ravel(), pf.value().to_numpy(),
                               rtol=1e-9)


def test_target_exposure_equals_vectorbt_target_percent(aapl):
    rng = np.random.default_rng(3)
    n = len(aapl)
    levels = rng.choice([-0.5, 0.0, 0.3, 0.5, 1.0], size=n)
    change = rng.random(n) < 0.05
    target = pd.Series(np.where(change, levels, np.nan), index=aapl.index)
    # quantlab trades when the target changes; vectorbt on every non-NaN target: keep changes
    target = target.where(target != target.ffill().shift())
    res = backtest(aapl, target, fill="close", fee_bps=5)
    pf = vbt.Portfolio.from_orders(aapl["close"], size=target, size_type="targetpercent",
                                   fees=0.0005, init_cash=100_000)
    np.testing.assert_allclose(res.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res.positions.iloc[:, 0].to_numpy(), pf.assets().to_numpy(),
                               rtol=1e-9, atol=1e-9)


def test_strategy_duck_typed_and_warmup(aapl):
    res = backtest(aapl, Stub(20))
    assert res.config["warmup"] == 20
    assert res.config["strategy"] == {"name": "Stub", "params": {"window": 20}}
    first_bar = aapl.index.get_loc(res.orders["time"].iloc[0])
    assert first_bar >= 21  # decided at bar >= warmup, filled at the next open


# ---- several assets ----------------------------------------------------------------------

def _multi(*names, start="2008-01-01", end="2010-12-31"):
    frames = {n.upper(): qd.load(n, start=start, end=end) for n in names}
    return pd.concat(frames, axis=1).swaplevel(axis=1).sort_index(axis=1)


def test_multi_asset_shared_cash_equals_vectorbt():
    data = _multi("aapl", "msft", "ibm")
    close = data["close"]
    rng = np.random.default_rng(11)
    w = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    for k in range(0, len(w), 40):
        raw = rng.random(3)
        w.iloc[k] = np.round(raw / raw.sum() * 0.9, 3)
    # drift_threshold=0: an unchanged target is re-traded, as vectorbt does every bar it is set
    res = backtest(data, w, fill="close", drift_threshold=0.0)
    pf = vbt.Portfolio.from_orders(close, size=w, size_type="targetpercent", cash_sharing=True,
                                   group_by=True, call_seq="auto", init_cash=100_000)
    np.testing.assert_allclose(res.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res.positions.to_numpy(), pf.assets().to_numpy(), rtol=1e-9,
                               atol=1e-9)
    # equity = cash + sum of position values, one cash account
    np.testing.assert_allclose(res.equity, res.cash + (res.positions * close).sum(axis=1),
                               rtol=1e-12)
    assert res.benchmark.iloc[0] == pytest.approx(100_000)


def test_drift_threshold_rebalances():
    data = _multi("aapl", "msft")
    w = pd.DataFrame(0.5, index=data.index, columns=data["close"].columns)
    still = backtest(data, w, fill="close")
    assert len(still.orders) == 2  # constant target: one order per asset
    res = backtest(data, w, fill="close", drift_threshold=0.05)
    reb = res.orders[res.orders["reason"] == "rebalance"]
    assert len(reb) > 0
    # after each rebalance the exposure is back on target
    expo = res.exposure.loc[reb["time"].unique()]
    np.testing.assert_allclose(expo.to_numpy(), 0.5, atol=1e-9)


# ---- leverage, liquidation, stops, costs -------------------------------------------------

def test_leverage_and_exact_liquidation_price():
    # 2x long at 100 (fee 0): q = 2000, cash = -100_000. mm = 10 %:
    # liquidation at p = -cash / (q (1 - mm)) = 100_000 / 1800 = 55.555...
    close = [100.0, 100.0, 90.0, 80.0, 60.0, 50.0, 50.0]
    low = [100.0, 100.0, 88.0, 79.0, 40.0, 50.0, 50.0]
    df = bars(close, low=low, high=np.maximum(close, 100.0))
    target = pd.Series([1.0] + [np.nan] * 6, index=df.index)
    res = backtest(df, target, fill="close", leverage=2.0, maintenance_margin=0.1)
    assert res.positions.iloc[0, 0] == pytest.approx(2000.0)
    liq = res.orders[res.orders["reason"] == "liquidation"]
    assert len(liq) == 1
    assert liq["price"].iloc[0] == pytest.approx(100_000 / 1800, rel=1e-12)
    assert res.trades["exit_reason"].iloc[0] == "liquidation"
    # equity at liquidation = mm * gross
    p = 100_000 / 1800
    assert res.equity.iloc[4] == pytest.approx(0.1 * 2000 * p, rel=1e-9)


def test_stop_loss_intrabar_and_gap_through():
    # enter at the close of bar 0 (100); bar 1 trades down to 94 -> 5 % stop fills at 95
    df = bars([100, 97, 99], open_=[100, 99, 99], low=[100, 94, 98], high=[100, 99, 99])
    res = backtest(df, pd.Series([1.0, np.nan, np.nan], index=df.index), fill="close",
                   sl_stop=0.05)
    exit_ = res.orders.iloc[1]
    assert exit_["reason"] == "stop_loss" and exit_["price"] == pytest.approx(95.0)
    # gap: bar 1 opens at 90, below the 95 stop -> fills at the open
    df = bars([100, 92, 93], open_=[100, 90, 92], low=[100, 89, 91], high=[100, 93, 93])
    res = backtest(df, pd.Series([1.0, np.nan, np.nan], index=df.index), fill="close",
                   sl_stop=0.05)
    assert res.orders.iloc[1]["price"] == 90.0
    t = res.trades.iloc[0]
    assert t["exit_reason"] == "stop_loss" and t["return"] == pytest.approx(-0.10)


def test_take_profit_and_trailing_stop_short():
    # short at 100; bar 1 high 103 -> 2 % trailing stop at 102 (short) fills at 102
    df = bars([100, 101, 100], open_=[100, 100.5, 100], high=[100, 103, 101], low=[100, 100, 99])
    res = backtest(df, pd.Series([-1.0, np.nan, np.nan], index=df.index), fill="close",
                   tsl_stop=0.02)
    assert res.trades["exit_reason"].iloc[0] == "trailing_stop"
    assert res.orders.iloc[1]["price"] == pytest.approx(102.0)
    # take-profit for a long at 10 %: bar 1 high 112 -> fills at 110
    df = bars([100, 111, 111], open_=[100, 101, 111], high=[100, 112, 111], low=[100, 100, 110])
    res = backtest(df, pd.Series([1.0, np.nan, np.nan], index=df.index), fill="close",
                   tp_stop=0.10)
    assert res.trades["exit_reason"].iloc[0] == "take_profit"
    assert res.trades["exit_price"].iloc[0] == pytest.approx(110.0)


def test_slippage_fees_lot_min_notional():
    df = bars([50.0, 50.0, 50.0, 50.0])
    t = pd.Series([0.5, np.nan, 0.0, np.nan], index=df.index)
    res = backtest(df, t, fill="close", slippage_bps=20, fee_bps=10, fee_fixed=2.0, lot_size=10)
    buy, sell = res.orders.iloc[0], res.orders.iloc[1]
    assert buy["price"] == pytest.approx(50 * 1.002) and sell["price"] == pytest.approx(50 * 0.998)
    assert buy["size"] == 990.0  # 50_000 / 50.1 = 998.0 -> lots of 10
    assert buy["fee"] == pytest.approx(990 * 50.1 * 0.001 + 2.0)
    # round trip cost = slippage + fees, nothing else
    cost = 990 * (50.1 - 49.9) + buy["fee"] + sell["fee"]
    assert res.equity.iloc[-1] == pytest.approx(100_000 - cost, rel=1e-12)
    small = backtest(df, pd.Series([1e-4, np.nan, np.nan, np.nan], index=df.index),
                     fill="close", min_notional=100.0)
    assert len(small.orders) == 0


def test_funding_and_borrow_costs_closed_form():
    df = bars([10.0] * 5)
    long_ = backtest(df, pd.Series([1.0] + [np.nan] * 4, index=df.index), fill="close",
                     funding_bps=1.0)
    # 10_000 units * 10 * 1e-4 = 10 per bar, charged at each close from bar 0
    np.testing.assert_allclose(long_.equity.to_numpy(), 100_000 - 10.0 * np.arange(1, 6))
    short = backtest(df, pd.Series([-1.0] + [np.nan] * 4, index=df.index), fill="close",
                     funding_bps=1.0, borrow_bps=3.0)
    # shorts receive funding (+10) and pay borrow (-30) per bar
    np.testing.assert_allclose(short.equity.to_numpy(), 100_000 - 20.0 * np.arange(1, 6))


def test_slippage_atr_moves_fill_by_atr_multiple():
    df = bars([100.0] * 20, high=[101.0] * 20, low=[99.0] * 20)  # TR = 2 every bar
    res = backtest(df, pd.Series([np.nan] * 19 + [1.0], index=df.index), fill="close",
                   slippage_atr=0.5)
    assert res.orders["price"].iloc[0] == pytest.approx(101.0)


def test_atr_slippage_on_a_stop_uses_atr_known_before_the_bar():
    # TR = 2 on every bar but bar 25, whose 60-point range triggers the stop: the stop fill's
    # slippage must come from ATR up to bar 24 (= 2 -> 0.5 * 2 / 100 = 1 %), not ATR[25] (~6.1),
    # which needs bar 25's own high, low and close
    high, low = [101.0] * 30, [99.0] * 30
    high[25], low[25] = 130.0, 70.0
    df = bars([100.0] * 30, high=high, low=low)
    target = pd.Series([np.nan] * 20 + [1.0] + [np.nan] * 9, index=df.index)
    res = backtest(df, target, fill="close", slippage_atr=0.5, sl_stop=0.05)
    stop = res.orders[res.orders["reason"] == "stop_loss"].iloc[0]
    assert stop["time"] == df.index[25]
    assert stop["price"] == pytest.approx(95.0 * (1 - 0.01))


def test_sizer_fraction_and_callable(aapl, cross):
    half = backtest(aapl, cross, size=0.5, fill="close")
    first = half.orders.iloc[0]
    assert first["size"] * first["price"] == pytest.approx(50_000.0)

    def halve(target, data):
        return target * 0.5

    same = backtest(aapl, cross, size=halve, fill="close")
    np.testing.assert_allclose(same.equity, half.equity, rtol=1e-12)


# ---- the result object --------------------------------------------------------------------

def test_result_frames(aapl, cross):
    res = backtest(aapl, cross, fill="close", fee_bps=10)
    assert list(res.trades.columns[:14]) == [
        "symbol", "direction", "entry_time", "exit_time", "entry_price", "exit_price", "size",
        "pnl", "return", "fees", "mae", "mfe", "duration", "exit_reason"]
    assert list(res.orders.columns) == ["time", "symbol", "side", "size", "price", "fee",
                                        "reason"]
    # returns are equity's simple returns, the first against init_cash
    np.testing.assert_allclose(res.returns.iloc[1:], res.equity.pct_change().iloc[1:], rtol=1e-12)
    # exposure is position value over equity
    np.testing.assert_allclose(res.exposure.iloc[:, 0],
                               res.positions.iloc[:, 0] * aapl["close"] / res.equity)
    # the open trade at the end is valued at the last close with reason "end"
    if res.trades["is_open"].any():
        last = res.trades.iloc[-1]
        assert last["exit_reason"] == "end" and last["exit_price"] == aapl["close"].iloc[-1]
    # MAE/MFE of a closed trade against pandas: lows/highs after the entry bar to exit bar
    t = res.trades[~res.trades["is_open"]].iloc[3]
    held = aapl.iloc[t["entry_bar"] + 1: t["exit_bar"] + 1]
    assert t["mae"] == pytest.approx(min(held["low"].min(), t["exit_price"]) / t["entry_price"] - 1)
    assert t["mfe"] == pytest.approx(max(held["high"].max(), t["exit_price"], t["entry_price"])
                                     / t["entry_price"] - 1)
    with pytest.raises(AttributeError):
        res.equity = None  # frozen


def test_stats_repr_plot(aapl, cross, tmp_path):
    res = backtest(aapl, cross, fill="close", fee_bps=10)
    stats = res.stats()
    assert len(stats) >= 40
    assert stats["total_return"] == pytest.approx(res.equity.iloc[-1] / 100_000 - 1)
    assert stats["n_closed_trades"] == (~res.trades["is_open"]).sum()
    assert stats["n_open_trades"] == res.trades["is_open"].sum()
    html = res._repr_html_()
    assert "<table>" in html and "total_return" in html
    pytest.importorskip("quantlab.report.figures")
    fig = res.plot()
    assert fig.__class__.__name__ == "Figure"


# ---- bad input ----------------------------------------------------------------------------

def test_bad_input_errors(aapl, cross):
    en, ex = cross
    nan_df = aapl.copy()
    nan_df.iloc[5, 3] = np.nan
    with pytest.raises(DataError, match=r"`data\['close'\]` of backtest\(\) must be finite"):
        backtest(nan_df, cross)
    with pytest.raises(DataError, match=r"`target` of backtest\(\) must be an exposure in \[-1, 1\]"):
        backtest(aapl, pd.Series(1.5, index=aapl.index))
    with pytest.raises(DataError, match="same index as `data`"):
        backtest(aapl, (en.iloc[1:], ex.iloc[1:]))
    with pytest.raises(DataError, match="indexes differ"):
        backtest(aapl, (en.shift(1, freq="D"), ex))
    with pytest.raises(InvalidParameterError, match=r"`fee_bps` of backtest\(\) must be"):
        backtest(aapl, cross, fee_bps=-1)
    with pytest.raises(InvalidParameterError, match="unknown option `fees_bps`.*'fee_bps'"):
        backtest(aapl, cross, fees_bps=10)
    with pytest.raises(InvalidParameterError, match="Did you mean 'close'"):
        backtest(aapl, cross, fill="clsoe")
    with pytest.raises(InvalidParameterError, match="tuple"):
        backtest(aapl, en)
    with pytest.raises(InvalidParameterError, match="size"):
        backtest(aapl, cross, size=2.0)
    with pytest.raises(InvalidParameterError, match="leverage"):
        backtest(aapl, cross, leverage=0.5)
    with pytest.raises(DataError, match="boolean"):
        backtest(aapl, (en.astype(float), ex))


def test_sizer_output_is_matched_by_symbol_not_position():
    a = bars([10.0, 10.0, 10.0, 10.0])
    b = bars([20.0, 20.0, 20.0, 20.0])
    panel = pd.concat({"A": a, "B": b}, axis=1).swaplevel(axis=1).sort_index(axis=1)
    target = pd.DataFrame({"A": [0.2, np.nan, np.nan, np.nan], "B": [0.6, np.nan, np.nan, np.nan]},
                          index=a.index)

    def reversed_columns(t, data):
        return t[["B", "A"]]  # same exposures, columns in the other order

    plain = backtest(panel, target, fill="close")
    sized = backtest(panel, target, fill="close", size=reversed_columns)
    pd.testing.assert_frame_equal(sized.positions, plain.positions)

    def renamed(t, data):
        return t.rename(columns={"B": "C"})

    with pytest.raises(DataError, match="a sizer returning the columns"):
        backtest(panel, target, fill="close", size=renamed)


def test_turnover_counts_what_was_traded():
    # one buy of half the equity, then held: 0.5 traded over 10 bars, 365 bars a year (24/7 index)
    df = bars([10.0] * 10)
    held = backtest(df, pd.Series([0.5] + [np.nan] * 9, index=df.index), fill="close")
    assert held.periods_per_year == 365.0
    assert held.stats()["turnover_annual"] == pytest.approx(0.5 / 10 * 365)
    # rotating half the equity between two assets every bar: the net exposure never changes,
    # but each bar after the first sells 0.5 and buys 0.5 of equity
    a, b = bars([10.0] * 10), bars([20.0] * 10)
    panel = pd.concat({"A": a, "B": b}, axis=1).swaplevel(axis=1).sort_index(axis=1)
    on = np.arange(10) % 2 == 0
    target = pd.DataFrame({"A": np.where(on, 0.5, 0.0), "B": np.where(on, 0.0, 0.5)}, index=a.index)
    rotation = backtest(panel, target, fill="close")
    assert rotation.stats()["turnover_annual"] == pytest.approx((0.5 + 9 * 1.0) / 10 * 365)


def test_multi_day_bars_warn_and_annualize_by_calendar():
    # 2-day bars fit no annualization rule: bars per calendar year, with a warning
    idx = pd.date_range("2021-01-04", periods=60, freq="2D", tz="UTC", name="time")
    df = bars([10.0] * 60).set_axis(idx)
    with pytest.warns(DataQualityWarning, match="pass periods_per_year"):
        res = backtest(df, pd.Series(1.0, index=idx), fill="close")
    assert res.periods_per_year == pytest.approx(59 / (118 / 365.25))
    quiet = backtest(df, pd.Series(1.0, index=idx), fill="close", periods_per_year=182.625)
    assert quiet.periods_per_year == 182.625

"""Risk limits enforced by the decision step (``config.RiskLimits``): planted breaches with
known bars and values, the breach actions (flatten / reduce_only / halt), the daily reset,
the order-count limit, the position and gross-leverage clips, and the ``stats()`` counts.

Oracles: hand-built bars where the breach bar and the equity are known in closed form
(``1 - equity / peak`` recomputed from the fills), and properties over random paths
(hypothesis): after a breach no order increases any position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantlab.backtest import Account, BacktestConfig, backtest
from quantlab.backtest.step import RULES
from tests.backtest._cases import bars, multi, random_targets, replay, walk

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

K = 10          # the crash bar
N = 25
FEE = 10.0      # bps


def crash_bars():
    """Flat at 100, then a -40% close at bar K; the next bar opens at 61 (distinct from 60)."""
    close = np.full(N, 100.0)
    close[K:] = 60.0
    close[K + 1:] = np.linspace(62.0, 80.0, N - K - 1)
    open_ = close.copy()
    open_[K] = 100.0
    open_[K + 1] = 61.0
    return bars(close, open_)


def crash_targets(df):
    """All in at bar 0; then 0 at K+3 (a reduction) and 1 again at K+5 (an increase)."""
    t = pd.Series(np.nan, index=df.index)
    t.iloc[0] = 1.0
    t.iloc[K + 3] = 0.0
    t.iloc[K + 5] = 1.0
    return t


def _position_before(res, i):
    return 0.0 if i == 0 else float(res.positions.iloc[i - 1, 0])


@pytest.mark.parametrize("fill", ["close", "next_open"])
@pytest.mark.parametrize("on_breach", ["flatten", "reduce_only", "halt"])
def test_planted_crash_drawdown(fill, on_breach):
    df = crash_bars()
    res = backtest(df, crash_targets(df), fill=fill, fee_bps=FEE, max_drawdown=0.2,
                   on_breach=on_breach)
    ev = res.risk_events
    assert len(ev) == 1
    e = ev.iloc[0]
    assert (e["bar"], e["rule"], e["action"], e["symbol"]) == (K, "max_drawdown", on_breach, "")
    assert e["time"] == df.index[K]
    # the value, independently: the entry fill -> cash and units; peak of the close marks
    buy = res.orders.iloc[0]
    entry_bar = 0 if fill == "close" else 1
    assert buy["time"] == df.index[entry_bar] and buy["side"] == "buy"
    cash = 100_000.0 - buy["size"] * buy["price"] - buy["fee"]
    marks = np.where(np.arange(N) < entry_bar, 100_000.0, cash + buy["size"] * df["close"])
    peak = max(100_000.0, marks[:K + 1].max())  # the peak starts at the initial equity
    assert e["value"] == pytest.approx(1 - marks[K] / peak, rel=1e-12)
    assert e["value"] == pytest.approx(0.4, abs=2e-3)

    later = res.orders.iloc[1:]
    if on_breach == "flatten":
        assert len(later) == 1
        sell = later.iloc[0]
        assert sell["reason"] == "risk" and sell["side"] == "sell"
        assert sell["size"] == buy["size"]
        if fill == "close":
            assert sell["time"] == df.index[K] and sell["price"] == 60.0
        else:
            assert sell["time"] == df.index[K + 1] and sell["price"] == 61.0
        assert (res.positions.iloc[K + (fill == "next_open"):, 0] == 0).all()
    elif on_breach == "reduce_only":
        # the reduction (target 0 at K+3) is sent; the increase (target 1 at K+5) is not
        assert len(later) == 1
        sell = later.iloc[0]
        assert sell["reason"] == "signal" and sell["side"] == "sell"
        assert sell["time"] == df.index[K + 3 + (fill == "next_open")]
        assert (res.positions.iloc[K + 6:, 0] == 0).all()
    else:  # halt: no order at all, the position is held to the end
        assert len(later) == 0
        assert (res.positions.iloc[entry_bar:, 0] == buy["size"]).all()
    assert not (later["side"] == "buy").any()  # no buy after the breach
    # stats() counts it
    s = res.stats()
    assert s["risk_events"] == 1 and s["risk_max_drawdown"] == 1
    assert sum(s[f"risk_{r}"] for r in RULES) == 1


def test_drawdown_below_the_limit_is_no_breach():
    df = crash_bars()
    res = backtest(df, crash_targets(df), fill="close", max_drawdown=0.45)
    assert len(res.risk_events) == 0
    assert res.stats()["risk_events"] == 0


# ---- daily loss ------------------------------------------------------------------------

def daily_bars(unit="ns", drop_hour=5):
    """Hourly bars over 3 UTC days, flat at 100; a -5% close at ``drop_hour`` of day 2."""
    n = 72
    close = np.full(n, 100.0)
    close[24 + drop_hour:] = 95.0
    close[24 + drop_hour + 3:] = 96.0
    return bars(close, start="2021-01-04", freq="h", unit=unit)


def daily_targets(df):
    """All in at bar 0; flat then all in again later on day 2; all in on day 3 after a 0."""
    t = pd.Series(np.nan, index=df.index)
    t.iloc[0] = 1.0
    t.iloc[24 + 8] = 0.0
    t.iloc[24 + 10] = 1.0      # an increase on the halted day: refused
    t.iloc[48 + 2] = 0.0
    t.iloc[48 + 4] = 1.0       # an increase on day 3: allowed again
    return t


@pytest.mark.parametrize("fill", ["close", "next_open"])
@pytest.mark.parametrize("on_breach", ["flatten", "reduce_only", "halt"])
def test_daily_loss_halts_until_the_next_day(fill, on_breach):
    df = daily_bars()
    res = backtest(df, daily_targets(df), fill=fill, max_daily_loss=0.03, on_breach=on_breach)
    ev = res.risk_events
    k = 24 + 5
    assert ev["rule"].tolist() == ["max_daily_loss", "max_daily_loss"]
    assert ev["action"].tolist() == [on_breach, "resume"]
    assert ev["bar"].tolist() == [k, 48]  # the breach; the first bar of the next UTC day
    assert ev["value"].iloc[0] == pytest.approx(0.05, rel=1e-12)  # 1 - 95 000 / 100 000
    o = res.orders
    shift = fill == "next_open"
    day2 = o[(o["time"] >= df.index[k]) & (o["time"] < df.index[48])]
    assert not (day2["side"] == "buy").any()  # nothing increases a position while halted
    if on_breach == "flatten":
        assert day2["reason"].tolist() == ["risk"]
        assert day2["time"].iloc[0] == df.index[k + shift]
    elif on_breach == "reduce_only":
        assert day2["reason"].tolist() == ["signal"]  # the target-0 sell at 24 + 8
        assert day2["time"].iloc[0] == df.index[24 + 8 + shift]
    else:
        assert len(day2) == 0
    # day 3: trading resumed, the new all-in target buys
    day3_buys = o[(o["time"] >= df.index[48]) & (o["side"] == "buy")]
    assert day3_buys["time"].tolist() == [df.index[48 + 4 + shift]]
    s = res.stats()
    assert s["risk_events"] == 1 and s["risk_max_daily_loss"] == 1  # resumes are not counted


def test_daily_loss_resets_on_a_microsecond_index():
    df = daily_bars(unit="us")
    res = backtest(df, daily_targets(df), fill="close", max_daily_loss=0.03)
    ref = backtest(daily_bars(unit="ns"), daily_targets(daily_bars()), fill="close",
                   max_daily_loss=0.03)
    assert res.risk_events["action"].tolist() == ["flatten", "resume"]
    assert (res.equity.to_numpy() == ref.equity.to_numpy()).all()


def test_account_days_from_time_equal_backtest_on_a_microsecond_index():
    df = daily_bars(unit="us")
    target = daily_targets(df)
    res = backtest(df, target, fill="close", max_daily_loss=0.03)
    acc = Account(fill="close", max_daily_loss=0.03)
    for t, (ts, b) in enumerate(df.iterrows()):
        acc.step(open=b["open"], high=b["high"], low=b["low"], close=b["close"],
                 target=target.iloc[t], time=ts)
        assert acc.equity == res.equity.iloc[t]
    assert len(acc.risk_events) == len(res.risk_events)


def test_max_orders_per_day_on_a_microsecond_daily_index():
    for unit in ("ns", "us"):
        df = walk(1, 120, unit=unit)
        t = pd.Series(np.where(np.arange(120) % 2 == 0, 1.0, 0.0), index=df.index)
        res = backtest(df, t, fill="close", max_orders_per_day=2)
        assert len(res.orders) == 120, unit
        assert len(res.risk_events) == 0, unit


def test_account_days_from_time_equal_backtest_on_a_nanosecond_index():
    """The live path (days derived from each bar's time) == backtest() on an ns index."""
    df = daily_bars(unit="ns")
    target = daily_targets(df)
    res = backtest(df, target, fill="next_open", max_daily_loss=0.03)
    acc = Account(fill="next_open", max_daily_loss=0.03)
    for t, (ts, b) in enumerate(df.iterrows()):
        acc.step(open=b["open"], high=b["high"], low=b["low"], close=b["close"],
                 target=target.iloc[t], time=ts)
        assert acc.equity == res.equity.iloc[t]
        assert acc.cash == res.cash.iloc[t]
    assert acc.risk_events["action"].tolist() == res.risk_events["action"].tolist()
    assert acc.risk_events["bar"].tolist() == res.risk_events["bar"].tolist()


@pytest.mark.parametrize("on_breach", ["flatten", "reduce_only"])
def test_daily_loss_breach_on_the_last_bar_of_a_day_with_next_open(on_breach):
    """A breach at 23:00 with next-open fills: the action falls on the next day's first
    open, the day the halt lifts. The account and backtest() agree on what happens."""
    close = np.full(72, 100.0)
    close[23:] = 95.0
    df = bars(close, freq="h")
    target = pd.Series(np.nan, index=df.index)
    target.iloc[0] = 1.0
    cfg = BacktestConfig.from_options(fill="next_open", max_daily_loss=0.03,
                                      on_breach=on_breach)
    res = backtest(df, target, cfg)
    assert res.risk_events["bar"].tolist()[:1] == [23]
    assert res.risk_events["action"].tolist() == [on_breach, "resume"]
    acc = Account(cfg)
    for t, (ts, b) in enumerate(df.iterrows()):
        acc.step(open=b["open"], high=b["high"], low=b["low"], close=b["close"],
                 target=target.iloc[t], time=ts)
    assert acc.orders["reason"].tolist() == res.orders["reason"].tolist()
    assert acc.risk_events["action"].tolist() == res.risk_events["action"].tolist()


@pytest.mark.parametrize("freq, k", [("h", 23), ("D", 5)])
def test_daily_loss_flatten_pending_at_midnight_is_executed(freq, k):
    close = np.full(72, 100.0)
    close[k:] = 95.0
    df = bars(close, freq=freq)
    target = pd.Series(np.nan, index=df.index)
    target.iloc[0] = 1.0
    res = backtest(df, target, fill="next_open", max_daily_loss=0.03, on_breach="flatten")
    assert res.risk_events["action"].tolist()[0] == "flatten"
    assert res.risk_events["bar"].tolist()[0] == k
    # expected: the flatten at the next fill (bar k+1's open), as for a breach at any other hour
    risk = res.orders[res.orders["reason"] == "risk"]
    assert risk["time"].tolist() == [df.index[k + 1]]
    assert res.positions.iloc[k + 1, 0] == 0.0


# ---- order count -----------------------------------------------------------------------

def test_max_orders_per_day_refuses_the_extra_orders():
    df = walk(4, 72, freq="h", vol=0.005)
    # day 1: 1, 0, 1 (three orders), then 0, 0.5, 0, 0.5 ... each would trade: refused
    t = pd.Series(np.nan, index=df.index)
    t.iloc[0:3] = [1.0, 0.0, 1.0]
    t.iloc[3:20:2] = 0.0
    t.iloc[4:20:2] = 0.5
    t.iloc[24] = 0.2      # day 2: allowed again (a new target: refused ones are not retried)
    t.iloc[26] = 0.4
    res = backtest(df, t, fill="close", max_orders_per_day=3)
    o, ev = res.orders, res.risk_events
    per_day = o.groupby(o["time"].dt.floor("D")).size()
    assert per_day.iloc[0] == 3 and per_day.iloc[1] == 2
    assert o["time"].iloc[:3].tolist() == list(df.index[:3])
    refused = ev[ev["rule"] == "max_orders_per_day"]
    assert (refused["action"] == "refuse").all()
    assert refused["bar"].tolist() == list(range(3, 20))  # every changed target after the 3rd
    assert (refused["value"] == 3).all()
    assert (refused["symbol"] == "asset").all()
    assert res.stats()["risk_max_orders_per_day"] == len(refused) == 17


# ---- clips -----------------------------------------------------------------------------

@pytest.mark.parametrize("fill", ["close", "next_open"])
def test_max_position_clips_and_the_exposure_respects_it(fill):
    df = walk(8, 120)
    tgt = random_targets(9, df.index, ["asset"], p_change=0.25)["asset"]
    res = backtest(df, tgt, fill=fill, fee_bps=10, leverage=2.0, max_position=0.5)
    clips = res.risk_events[res.risk_events["rule"] == "max_position"]
    assert len(clips) > 0
    assert (clips["action"] == "clip").all()
    assert (clips["value"].abs() > 0.5).all()
    # after each fill, |position value| / equity at the fill point <= the limit (the order
    # is sized on the equity before its fee: compare with that equity)
    mark = df["close"] if fill == "close" else df["open"]
    pos = res.positions.iloc[:, 0].to_numpy()
    cash = res.cash.to_numpy()
    assert len(res.orders) > 5
    for _, row in res.orders.iterrows():
        i = df.index.get_loc(row["time"])
        prev_q, prev_cash = (pos[i - 1], cash[i - 1]) if i else (0.0, 100_000.0)
        eq_before = prev_cash + prev_q * mark.iloc[i]
        assert abs(pos[i]) * mark.iloc[i] / eq_before <= 0.5 * (1 + 1e-9)
    s = res.stats()
    assert s["risk_max_position"] == len(clips)


def test_max_gross_leverage_clips():
    frames = {s: walk(20 + k, 80) for k, s in enumerate(["A", "B"])}
    data = multi(frames)
    t = pd.DataFrame(np.nan, index=data.index, columns=["A", "B"])
    t.iloc[5] = [1.0, 1.0]
    t.iloc[30] = [0.0, 0.0]
    t.iloc[40] = [1.0, -1.0]
    res = backtest(data, t, fill="close", leverage=2.0, max_gross_leverage=1.5)
    ev = res.risk_events
    clips = ev[ev["rule"] == "max_gross_leverage"]
    assert len(clips) >= 2 and (clips["action"] == "clip").all()
    assert (clips["value"] > 1.5).all()
    close = data["close"][["A", "B"]].to_numpy()
    gross = (res.positions.abs().to_numpy() * close).sum(axis=1) / res.equity.to_numpy()
    for b in (5, 40):  # right after the fills
        assert gross[b] <= 1.5 * (1 + 1e-9)
        assert gross[b] == pytest.approx(1.5, rel=1e-6)
    assert res.stats()["risk_max_gross_leverage"] == len(clips)


# ---- properties: after a breach no order increases a position ----------------------------

@SETTINGS
@given(seed=st.integers(0, 10_000), n_assets=st.integers(1, 3),
       fill=st.sampled_from(["close", "next_open"]),
       on_breach=st.sampled_from(["flatten", "reduce_only", "halt"]),
       rule=st.sampled_from(["max_drawdown", "max_daily_loss"]))
def test_no_order_increases_a_position_while_halted(seed, n_assets, fill, on_breach, rule):
    symbols = ["A", "B", "C"][:n_assets]
    frames = {s: walk(seed + 7 * k, 150, freq="h", vol=0.02) for k, s in enumerate(symbols)}
    data = frames["A"] if n_assets == 1 else multi(frames)
    tgt = random_targets(seed, data.index, symbols, p_change=0.2)
    source = tgt["A"] if n_assets == 1 else tgt
    limit = {"max_drawdown": 0.05} if rule == "max_drawdown" else {"max_daily_loss": 0.02}
    res = backtest(data, source, fill=fill, fee_bps=5, on_breach=on_breach, sl_stop=0.05,
                   **limit)
    ev = res.risk_events
    stats = res.stats()
    counted = ev[ev["action"] != "resume"]
    assert stats["risk_events"] == len(counted)
    for r in RULES:
        assert stats[f"risk_{r}"] == (counted["rule"] == r).sum()
    pos = res.positions.to_numpy()
    index = res.equity.index
    breaches = ev[ev["action"] == on_breach]
    resumes = ev[ev["action"] == "resume"]
    for _, b in breaches.iterrows():
        first = b["bar"] + (fill == "next_open")  # the breach's fill point
        later_resumes = resumes[resumes["bar"] > b["bar"]]["bar"]
        last = later_resumes.iloc[0] - 1 if len(later_resumes) else len(index) - 1
        for _, o in res.orders.iterrows():
            i = index.get_loc(o["time"])
            if not first <= i <= last:
                continue
            j = list(res.positions.columns).index(o["symbol"])
            before = pos[i - 1, j] if i else 0.0
            # every fill in the halt reduces |position| on the same side
            assert abs(pos[i, j]) <= abs(before) * (1 + 1e-12)
            assert pos[i, j] == 0 or np.sign(pos[i, j]) == np.sign(before)
            if on_breach == "halt":
                assert o["reason"] in ("stop_loss", "take_profit", "trailing_stop",
                                       "liquidation")
            if on_breach == "flatten":
                assert o["reason"] in ("risk", "stop_loss")
        if on_breach == "flatten" and first < len(index):
            assert (pos[first:last + 1] == 0).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), fill=st.sampled_from(["close", "next_open"]),
       on_breach=st.sampled_from(["flatten", "reduce_only", "halt"]))
def test_limits_replay_exactly_on_the_account(seed, fill, on_breach):
    frames = {s: walk(seed + 3 * k, 96, freq="h", vol=0.015) for k, s in enumerate("AB")}
    data = multi(frames)
    tgt = random_targets(seed, data.index, ["A", "B"], p_change=0.3)
    cfg = BacktestConfig.from_options(fill=fill, fee_bps=5, on_breach=on_breach, leverage=2.0,
                                      max_daily_loss=0.03, max_drawdown=0.1,
                                      max_orders_per_day=4, max_position=0.8,
                                      max_gross_leverage=1.5)
    res = backtest(data, tgt, cfg)
    rep = replay(data, tgt, cfg)
    from tests.backtest._cases import assert_same_run

    assert_same_run(res, rep)

"""One execution core: an :class:`~quantlab.backtest.Account` stepped bar by bar over the
inputs ``backtest()`` builds sends the same orders and ends every bar with the same cash,
positions and equity, exactly (``==``, no tolerance), as ``backtest()`` itself.

The per-bar inputs are built as ``engine.backtest`` builds them (``prepare_simulation`` for
slippage, funding, borrow, days and the window; ``Simulation.sizer_inputs`` for the sizers)
and fed through ``Account.step_row`` (:func:`tests.backtest._cases.replay`). Cases: every
vectorbt parity case of ``test_vectorbt_parity.py`` and hypothesis-generated option sets
(costs, stops, leverage and margin, lots, 1-3 assets, both fills, every sizer, rebalance
band, every risk limit and breach action, random target paths with NaN holds, windows).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quantlab.data as qd
from quantlab.backtest import (
    Account,
    AtrRisk,
    BacktestConfig,
    FixedFraction,
    Kelly,
    VarBudget,
    VolTarget,
    backtest,
    combine,
)
from quantlab.errors import InvalidParameterError, SizingWarning
from quantlab.strategy.builtin import SmaCross
from tests.backtest._cases import assert_same_run, multi, random_targets, replay, walk

pytest.importorskip("vectorbt")
from tests.backtest.test_vectorbt_parity import CASES, INIT_CASH  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def _run(data, source, cfg, **kw):
    """backtest() with the SizingWarnings it raises recorded (Kelly sizing 0 warns)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SizingWarning)
        res = backtest(data, source, cfg, **kw)
    return res, [w for w in caught if issubclass(w.category, SizingWarning)]


def _cross_signals(df, fast, slow):
    c = df["close"]
    f, s = c.rolling(fast).mean(), c.rolling(slow).mean()
    return (f > s) & (f.shift() <= s.shift()), (f < s) & (f.shift() >= s.shift())


# ---- (a) the vectorbt parity cases ------------------------------------------------------

@pytest.fixture(scope="module", params=["aapl", "eurusd"])
def parity_data(request):
    df = qd.load(request.param)
    return request.param, df.iloc[:1500]  # ~1 s of Python stepping per case


@pytest.mark.parametrize("fill", ["close", "next_open"])
@pytest.mark.parametrize("case_name", list(CASES))
def test_account_equals_backtest_on_vectorbt_parity_cases(parity_data, case_name, fill):
    name, df = parity_data
    signals = _cross_signals(df, 10, 30)
    cfg = BacktestConfig.from_options(fill=fill, fee_bps=10, size="all_in", init_cash=INIT_CASH,
                                      **CASES[case_name])
    res, _ = _run(df, signals, cfg)
    assert len(res.orders) > 10, f"{name} {case_name}: too few orders to compare"
    rep = replay(df, signals, cfg)
    assert_same_run(res, rep)


def test_account_equals_backtest_for_a_strategy_with_warmup_and_window():
    df = qd.load("aapl", start="2006-01-01", end="2009-12-31")
    strat = SmaCross(fast=10, slow=40)
    cfg = BacktestConfig.from_options(fee_bps=10, size=VolTarget(0.2, 20),
                                      rebalance_threshold=0.1, max_drawdown=0.15,
                                      on_breach="reduce_only")
    res, _ = _run(df, strat, cfg, start="2007-03-01", end="2009-06-30")
    rep = replay(df, strat, cfg, start="2007-03-01", end="2009-06-30")
    assert res.equity.index[0] == pd.Timestamp("2007-03-01", tz="UTC")
    assert len(res.orders) > 20
    assert_same_run(res, rep)


def test_account_step_keywords_equal_step_row():
    """``Account.step(...)`` with keyword values == ``step_row`` with the laid-out rows."""
    df = walk(5, 120)
    target = random_targets(6, df.index, ["asset"])["asset"]
    cfg = BacktestConfig.from_options(fee_bps=7, fee_fixed=1.0, slippage_bps=3, fill="next_open",
                                      size=VolTarget(0.3, 10), rebalance_threshold=0.05)
    res, _ = _run(df, target, cfg)
    vol = df["close"].pct_change().rolling(10).std(ddof=1)
    acc = Account(cfg, periods_per_year=res.periods_per_year)
    for t, (ts, bar) in enumerate(df.iterrows()):
        acc.step(open=bar["open"], high=bar["high"], low=bar["low"], close=bar["close"],
                 target=target.iloc[t], sizer_inputs={"vol": vol.iloc[t]}, time=ts)
        assert acc.cash == res.cash.iloc[t]
        assert acc.equity == res.equity.iloc[t]
        assert acc.positions.iloc[0] == res.positions.iloc[t, 0]
    assert len(acc.orders) == len(res.orders) > 5
    assert (acc.orders["price"].to_numpy() == res.orders["price"].to_numpy()).all()
    assert (acc.orders["fee"].to_numpy() == res.orders["fee"].to_numpy()).all()


@pytest.mark.parametrize("fill", ["close", "next_open"])
def test_account_equals_backtest_through_a_liquidation(fill):
    """3x long into a -40% bar: liquidated at the exact price (one open position)."""
    close = np.full(30, 100.0)
    close[10:] = 62.0
    close[11:] = np.linspace(63.0, 70.0, 19)
    df = pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                       "volume": 1.0},
                      index=pd.date_range("2021-01-04", periods=30, freq="D", tz="UTC",
                                          name="time", unit="ns"))
    df.loc[df.index[10], "open"] = 100.0
    df.loc[df.index[10], "high"] = 100.0
    df.loc[df.index[10], "low"] = 60.0
    target = pd.Series(np.nan, index=df.index)
    target.iloc[0] = 1.0
    target.iloc[15] = 0.5
    cfg = BacktestConfig.from_options(fill=fill, leverage=3.0, maintenance_margin=0.1,
                                      fee_bps=10)
    res, _ = _run(df, target, cfg)
    assert "liquidation" in res.orders["reason"].tolist()
    assert_same_run(res, replay(df, target, cfg))


# ---- (b) hypothesis option sets ----------------------------------------------------------

SIZERS = [
    1.0,
    0.5,
    VolTarget(0.2, 10),
    AtrRisk(0.01, 2.0, 10),
    Kelly(0.5, window=20, min_obs=5, source="edge"),
    Kelly(0.5, window=10, min_obs=2, source="trades"),
    VarBudget(0.02, confidence=0.95, window=20),
    combine(VolTarget(0.2, 10), FixedFraction(0.8), max_position=0.6),
    combine(AtrRisk(0.02, 2.0, 10), VarBudget(0.03, 0.95, 20), max_leverage=1.2),
    combine(Kelly(0.5, 20, 5, "edge"), VolTarget(0.3, 10), max_position=0.9, max_leverage=1.5),
]

option_sets = st.fixed_dictionaries({
    "fill": st.sampled_from(["close", "next_open"]),
    "fee_bps": st.sampled_from([0.0, 5.0, 30.0]),
    "fee_fixed": st.sampled_from([0.0, 2.0]),
    "slippage": st.sampled_from([("slippage_bps", 0.0), ("slippage_bps", 10.0),
                                 ("slippage_atr", 0.1)]),
    "sl_stop": st.sampled_from([None, 0.03]),
    "tp_stop": st.sampled_from([None, 0.06]),
    "tsl_stop": st.sampled_from([None, 0.04]),
    "leverage": st.sampled_from([1.0, 2.0, 3.0]),
    "maintenance_margin": st.sampled_from([None, 0.05, 0.2]),
    "lot_size": st.sampled_from([0.0, 1.0, 0.5]),
    "size": st.sampled_from(SIZERS),
    "rebalance_threshold": st.sampled_from([None, 0.05]),
    "funding_bps": st.sampled_from([0.0, 1.0]),
    "borrow_bps": st.sampled_from([0.0, 2.0]),
    "max_position": st.sampled_from([None, 0.5]),
    "max_gross_leverage": st.sampled_from([None, 1.5]),
    "max_daily_loss": st.sampled_from([None, 0.01]),
    "max_drawdown": st.sampled_from([None, 0.08]),
    "max_orders_per_day": st.sampled_from([None, 2]),
    "on_breach": st.sampled_from(["flatten", "reduce_only", "halt"]),
})


def _config(opts):
    opts = dict(opts)
    slip_name, slip = opts.pop("slippage")
    opts[slip_name] = slip
    return BacktestConfig.from_options(**opts)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(30, 160), n_assets=st.integers(1, 3),
       hourly=st.booleans(), mode=st.sampled_from(["target", "signals"]),
       window=st.sampled_from([None, "start", "both"]), opts=option_sets)
def test_account_equals_backtest_on_random_options(seed, n, n_assets, hourly, mode, window, opts):
    freq = "h" if hourly else "D"
    symbols = ["A", "B", "C"][:n_assets]
    frames = {s: walk(seed + 17 * k, n, freq=freq, vol=0.01 if hourly else 0.02)
              for k, s in enumerate(symbols)}
    data = frames["A"] if n_assets == 1 else multi(frames)
    cfg = _config(opts)
    if mode == "target":
        tgt = random_targets(seed, data.index, symbols)
        source = tgt["A"] if n_assets == 1 else tgt
    else:
        rng = np.random.default_rng(seed + 3)
        en = pd.DataFrame(rng.random((n, n_assets)) < 0.1, index=data.index, columns=symbols)
        ex = pd.DataFrame(rng.random((n, n_assets)) < 0.1, index=data.index, columns=symbols)
        source = (en["A"], ex["A"]) if n_assets == 1 else (en, ex)
        cfg = cfg.replace(direction=["longonly", "shortonly", "both"][seed % 3])
    kw = {}
    if window in ("start", "both"):
        kw["start"] = data.index[n // 4]
    if window == "both":
        kw["end"] = data.index[n - n // 5]
    res, warned = _run(data, source, cfg, **kw)
    rep = replay(data, source, cfg, **kw)
    assert_same_run(res, rep)
    assert bool(warned) == bool(rep["warnings"])  # Kelly's zero sizes warn in both drivers


def test_book_fill_closes_like_a_step_decided_close():
    """A fill booked from outside (the live runner's shutdown flatten) moves cash and units by
    hand-computed amounts, and a closed position trades again like one the step closed."""
    df = walk(7, 60)
    cfg = BacktestConfig.from_options(fee_bps=10, fill="close")
    acc = Account(cfg)
    for t in range(10):  # long from bar 0
        row = df.iloc[t]
        acc.step(open=row["open"], high=row["high"], low=row["low"], close=row["close"],
                 target=1.0)
    units, cash = float(acc.positions.iloc[0]), acc.cash
    assert units > 0
    acc.book_fill("asset", -units, 50.0, 1.25, mark=[df["close"].iloc[9]])
    assert acc.positions.iloc[0] == 0.0
    assert acc.cash == cash + units * 50.0 - 1.25
    assert acc.equity == acc.cash
    # the next target of 1 is a change again (the flatten forgot the last target): it buys
    row = df.iloc[10]
    fills = acc.step(open=row["open"], high=row["high"], low=row["low"], close=row["close"],
                     target=1.0)
    assert len(fills) == 1 and fills[0].side == "buy"
    with pytest.raises(InvalidParameterError, match="symbol"):
        acc.book_fill("nope", 1.0, 1.0)
    with pytest.raises(InvalidParameterError, match="price"):
        acc.book_fill("asset", 1.0, float("nan"))

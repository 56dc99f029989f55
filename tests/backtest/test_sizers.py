"""Sizers run by the decision step: closed-form oracles, combine/cap/lot properties
(hypothesis), Kelly's zero sizes, and the per-bar sizer inputs against pandas and TA-Lib.

Oracles: the sizers' closed forms (VolTarget ``annual_vol / (vol * sqrt(ppy))``, AtrRisk
``risk / (mult * ATR/close)``, VarBudget ``budget / VaR``, Kelly ``fraction * mu / sigma^2``,
Thorp 2006 eq. 7.3 and REFERENCES.md "Kelly"), numpy for the Kelly trade statistics, pandas
rolling statistics and ``talib.ATR`` for the inputs.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quantlab as ql
from quantlab.backtest import (
    AtrRisk,
    BacktestConfig,
    FixedFraction,
    Kelly,
    VarBudget,
    VolTarget,
    backtest,
    combine,
    decide_order,
    size_exposure,
)
from quantlab.backtest import step as S
from quantlab.backtest.engine import _prepare_data
from quantlab.backtest.simulation import prepare_simulation
from quantlab.backtest.sizers import sizer_inputs
from quantlab.errors import InvalidParameterError, SizingWarning
from quantlab.strategy.builtin import SmaCross
from tests.backtest._cases import multi, walk

talib = pytest.importorskip("talib")

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


TARGETS = st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-3, 1.0), st.floats(-1.0, -1e-3))
LONG_TARGETS = st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-3, 1.0))


def _quiet(fn, *args, **kw):
    """Call with Kelly's SizingWarning silenced (for properties over inputs where Kelly may
    legitimately size 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SizingWarning)
        return fn(*args, **kw)


# ---- closed-form oracles -----------------------------------------------------------------

@SETTINGS
@given(annual=st.floats(0.01, 1.0), vol=st.floats(1e-4, 0.2), ppy=st.sampled_from([252, 365,
                                                                                    8760, 6240]),
       target=TARGETS)
def test_vol_target_closed_form(annual, vol, ppy, target):
    got = size_exposure(VolTarget(annual, 20), target, vol=vol, periods_per_year=ppy)
    assert got == pytest.approx(target * annual / (vol * math.sqrt(ppy)), rel=1e-14, abs=0)


@SETTINGS
@given(risk=st.floats(0.001, 1.0), mult=st.floats(0.5, 5.0), atr=st.floats(1e-4, 0.2),
       target=TARGETS)
def test_atr_risk_closed_form(risk, mult, atr, target):
    got = size_exposure(AtrRisk(risk, mult), target, atr=atr)
    assert got == pytest.approx(target * risk / (mult * atr), rel=1e-14, abs=0)


@SETTINGS
@given(budget=st.floats(0.001, 1.0), var=st.floats(1e-4, 0.3), target=TARGETS)
def test_var_budget_closed_form(budget, var, target):
    got = size_exposure(VarBudget(budget), target, var=var)
    assert got == pytest.approx(target * budget / var, rel=1e-14, abs=0)


@SETTINGS
@given(fraction=st.floats(0.01, 1.0), window=st.integers(2, 40), min_obs=st.integers(2, 10),
       seed=st.integers(0, 10_000), n=st.integers(2, 80))
def test_kelly_trades_closed_form(fraction, window, min_obs, seed, n):
    rng = np.random.default_rng(seed)
    trades = rng.normal(0.01, 0.03, n)
    last = trades[-window:]
    mu, var = last.mean(), last.var(ddof=1)
    sizer = Kelly(fraction, window=window, min_obs=min_obs)
    if len(last) < min_obs or mu <= 0:
        with pytest.warns(SizingWarning):
            assert size_exposure(sizer, 1.0, trade_returns=trades) == 0.0
        return
    got = size_exposure(sizer, 1.0, trade_returns=trades)
    assert got == pytest.approx(fraction * mu / var, rel=1e-10)


@SETTINGS
@given(fraction=st.floats(0.01, 1.0), mu=st.floats(1e-5, 0.01), var=st.floats(1e-6, 1e-2),
       n_obs=st.integers(30, 500), target=TARGETS)
def test_kelly_edge_closed_form(fraction, mu, var, n_obs, target):
    got = size_exposure(Kelly(fraction, source="edge"), target, edge_mean=mu, edge_var=var,
                        edge_n=n_obs)
    assert got == pytest.approx(target * fraction * mu / var, rel=1e-14, abs=0)


def test_fixed_fraction_counts_leverage():
    assert size_exposure(FixedFraction(0.5), 1.0, leverage=3.0) == 1.5
    assert size_exposure(0.25, -1.0, leverage=2.0) == -0.5


@pytest.mark.parametrize("inputs, reason", [
    ({"edge_mean": np.nan, "edge_var": 1e-4, "edge_n": 100}, "undefined inputs"),
    ({"edge_mean": 1e-3, "edge_var": np.nan, "edge_n": 100}, "undefined inputs"),
    ({"edge_mean": 1e-3, "edge_var": 0.0, "edge_n": 100}, "zero variance"),
    ({"edge_mean": -1e-3, "edge_var": 1e-4, "edge_n": 100}, "negative edge"),
    ({"edge_mean": 1e-3, "edge_var": 1e-4, "edge_n": 5}, "too few observations"),
])
def test_kelly_edge_sizes_zero_with_a_warning(inputs, reason):
    with pytest.warns(SizingWarning, match=reason):
        assert size_exposure(Kelly(0.5, min_obs=30, source="edge"), 1.0, **inputs) == 0.0


@pytest.mark.parametrize("trades, reason", [
    (list(np.linspace(-0.05, 0.01, 40)), "negative edge"),
    ([0.02, 0.01, 0.03], "too few observations"),
    ([], "too few observations"),
    ([0.01, np.nan] * 20, "undefined inputs"),
])
def test_kelly_trades_sizes_zero_with_a_warning(trades, reason):
    with pytest.warns(SizingWarning, match=reason):
        assert size_exposure(Kelly(0.5, window=40, min_obs=10), 1.0, trade_returns=trades) == 0.0


def test_kelly_trades_constant_returns_size_zero():
    trades = [0.01] * 40
    assert np.var(trades, ddof=1) == 0.0  # the numpy oracle: zero variance
    with pytest.warns(SizingWarning, match="zero variance"):
        assert size_exposure(Kelly(0.5, window=40, min_obs=10), 1.0, trade_returns=trades) == 0.0


@pytest.mark.parametrize("kw, name", [({"fraction": 1.5}, "fraction"), ({"fraction": 0.0},
                                                                         "fraction"),
                                      ({"window": 1}, "window"), ({"source": "edges"}, "source")])
def test_kelly_refuses_bad_parameters(kw, name):
    with pytest.raises(InvalidParameterError, match=f"`{name}`"):
        Kelly(**kw)


def test_kelly_in_a_backtest_warns_and_never_raises():
    """Kelly from trades with no closed trade yet sizes every entry 0: a warning, no error."""
    df = walk(3, 200)
    with pytest.warns(SizingWarning, match="too few observations"):
        res = backtest(df, SmaCross(fast=5, slow=20), size=Kelly(0.5, window=20, min_obs=5))
    assert len(res.orders) == 0
    assert (res.equity == 100_000.0).all()


# ---- combine, caps, sign, lots (hypothesis) ----------------------------------------------

PARTS = {
    "fixed": lambda: FixedFraction(0.7),
    "vol": lambda: VolTarget(0.15, 20),
    "atr": lambda: AtrRisk(0.01, 2.0),
    "var": lambda: VarBudget(0.02),
    "kelly_edge": lambda: Kelly(0.5, min_obs=10, source="edge"),
}

inputs = st.fixed_dictionaries({
    "vol": st.one_of(st.floats(1e-4, 0.1), st.just(np.nan), st.just(0.0)),
    "atr": st.one_of(st.floats(1e-4, 0.1), st.just(np.nan)),
    "var": st.one_of(st.floats(1e-4, 0.2), st.just(np.nan)),
    "edge_mean": st.floats(-0.01, 0.01),
    "edge_var": st.floats(1e-6, 1e-2),
    "edge_n": st.integers(0, 200),
})


@SETTINGS
@given(names=st.lists(st.sampled_from(sorted(PARTS)), min_size=1, max_size=4, unique=True),
       cap=st.one_of(st.none(), st.floats(0.05, 3.0)), leverage=st.sampled_from([1.0, 2.0, 3.0]),
       target=LONG_TARGETS, values=inputs)
def test_combined_never_exceeds_any_part_nor_the_cap(names, cap, leverage, target, values):
    parts = [PARTS[n]() for n in names]
    comb = combine(*parts, max_position=cap)
    kw = dict(leverage=leverage, periods_per_year=252.0, **values)
    got = _quiet(size_exposure, comb, target, **kw)
    singles = [_quiet(size_exposure, p, target, **kw) for p in parts]
    assert got >= 0.0  # long-only strategy: never a short
    expected = min(singles) if cap is None else min(min(singles), target * cap)
    assert got == pytest.approx(expected, rel=1e-14, abs=0)
    for s in singles:
        assert got <= s
    if cap is not None:
        assert got <= cap
    # the sign follows the target
    assert _quiet(size_exposure, comb, -target, **kw) == -got


@SETTINGS
@given(names=st.lists(st.sampled_from(sorted(PARTS)), min_size=1, max_size=3, unique=True),
       cap=st.one_of(st.none(), st.floats(0.05, 2.0)), target=TARGETS,
       values=inputs, lot=st.sampled_from([0.001, 0.01, 0.1, 1.0, 7.0, 100.0]),
       held_lots=st.integers(-50, 50), price=st.floats(1.0, 1000.0),
       equity=st.floats(1e3, 1e6), fee_bps=st.sampled_from([0.0, 10.0]),
       max_leverage=st.sampled_from([1.0, 2.0]))
def test_order_after_sizing_is_whole_lots(names, cap, target, values, lot, held_lots, price,
                                          equity, fee_bps, max_leverage):
    exposure = _quiet(size_exposure, combine(*[PARTS[n]() for n in names], max_position=cap),
                      target, **values)
    position = held_lots * lot
    d = decide_order(position, exposure, equity=equity, price=price, lot_size=lot,
                     fee_bps=fee_bps, max_leverage=max_leverage)
    n_lots = d.size / lot
    assert abs(n_lots - round(n_lots)) <= 1e-9 * max(1.0, abs(n_lots))
    if position == 0.0:  # rounding is toward zero: never more than the sized exposure
        assert abs(d.size) * price <= abs(exposure) * equity * (1 + 1e-12)
        assert d.size == 0.0 or np.sign(d.size) == np.sign(exposure)


# ---- per-bar sizer inputs ------------------------------------------------------------

@pytest.fixture(scope="module")
def three():
    frames = {s: walk(40 + k, 300) for k, s in enumerate(["A", "B", "C"])}
    return multi(frames)


def _prices(frame):
    _, symbols, prices = _prepare_data(frame)
    return symbols, prices


def test_inputs_equal_pandas_and_talib(three):
    symbols, prices = _prices(three)
    sizer = combine(VolTarget(0.2, 15), AtrRisk(0.01, 2.0, 10), VarBudget(0.02, 0.95, 30))
    target = np.ones((len(three), 3))
    sin = sizer_inputs(sizer, prices, target)
    close = three["close"][symbols]
    rets = close.pct_change()
    np.testing.assert_allclose(sin[S.IN_VOL], rets.rolling(15).std(ddof=1).to_numpy(),
                               rtol=1e-12, equal_nan=True)
    # historical VaR: -quantile (linear interpolation) of the last 30 returns, numpy per window
    var_ref = np.full((len(three), 3), np.nan)
    r = rets.to_numpy()
    for t in range(30, len(three)):
        var_ref[t] = -np.quantile(r[t - 29:t + 1], 0.05, axis=0)
    np.testing.assert_allclose(sin[S.IN_VAR], var_ref, rtol=1e-12, atol=1e-15, equal_nan=True)
    for j, s in enumerate(symbols):
        atr = talib.ATR(three["high"][s].to_numpy(), three["low"][s].to_numpy(),
                        close[s].to_numpy(), timeperiod=10)
        np.testing.assert_allclose(sin[S.IN_ATR][:, j], atr / close[s].to_numpy(), rtol=1e-9,
                                   equal_nan=True)
        assert np.isnan(sin[S.IN_ATR][:10, j]).all()  # NaN exactly where TA-Lib's lookback is
    assert np.isnan(sin[S.IN_EDGE_MU]).all()  # no Kelly: its rows stay undefined


def test_kelly_edge_inputs_equal_numpy():
    df = walk(9, 120)
    rng = np.random.default_rng(1)
    raw = np.where(rng.random(120) < 0.1, rng.choice([0.0, 0.5, 1.0, -1.0], 120), np.nan)
    symbols, prices = _prices(df)
    sin = sizer_inputs(Kelly(0.5, window=25, source="edge"), prices, raw.reshape(-1, 1))
    held = pd.Series(raw).ffill().fillna(0.0).to_numpy()
    r = df["close"].pct_change().to_numpy()
    strat = np.concatenate([[np.nan], held[:-1] * r[1:]])  # position_{t-1} * r_t
    for t in range(2, 120):
        w = strat[max(0, t - 24):t + 1]
        w = w[~np.isnan(w)]
        if len(w) < 2:
            assert np.isnan(sin[S.IN_EDGE_MU, t, 0])
            continue
        assert sin[S.IN_EDGE_N, t, 0] == len(w)
        assert sin[S.IN_EDGE_MU, t, 0] == pytest.approx(w.mean(), rel=1e-9, abs=1e-15)
        assert sin[S.IN_EDGE_VAR, t, 0] == pytest.approx(w.var(ddof=1), rel=1e-9, abs=1e-15)


def test_simulation_sizer_inputs_broadcast_and_override(three):
    symbols, prices = _prices(three)
    cfg = BacktestConfig.from_options(size=VolTarget(0.2, 15))
    sim = prepare_simulation(cfg, three, symbols, prices)
    target = np.ones((len(three), 3))
    sin = sim.sizer_inputs(target)
    assert sin.shape == (S.IN_N, len(three), 3)
    np.testing.assert_array_equal(sin, sizer_inputs(cfg.sizing.size, prices, target))
    forecast = pd.DataFrame(0.01, index=three.index, columns=symbols)
    over = sim.sizer_inputs(target, {"vol": forecast})
    assert (over[S.IN_VOL] == 0.01).all()
    # a fixed fraction needs no input: one broadcast (IN_N, 1, 1) block
    plain = prepare_simulation(BacktestConfig(), three, symbols, prices)
    assert plain.sizer_inputs(target).shape == (S.IN_N, 1, 1)
    with pytest.raises(InvalidParameterError, match="sizer_inputs"):
        sim.sizer_inputs(target, {"volatility": forecast})


@settings(max_examples=30, deadline=None)
@given(t=st.integers(5, 299))
def test_inputs_are_causal(three, t):
    """Truncating the data after bar t leaves every input row <= t unchanged."""
    symbols, prices = _prices(three)
    sizer = combine(VolTarget(0.2, 15), AtrRisk(0.01, 2.0, 10), VarBudget(0.02, 0.95, 30),
                    Kelly(0.5, window=20, source="edge"))
    rng = np.random.default_rng(t)
    target = np.where(rng.random((300, 3)) < 0.1, 1.0, np.nan)
    full = sizer_inputs(sizer, prices, target)
    cut = sizer_inputs(sizer, {k: v[:t + 1] for k, v in prices.items()}, target[:t + 1])
    np.testing.assert_array_equal(cut, full[:, :t + 1])


# ---- VolTarget in a backtest -------------------------------------------------------------

@pytest.fixture(scope="module")
def aapl_runs():
    df = ql.data.load("aapl")
    s = SmaCross(fast=20, slow=50)
    sized = backtest(df, s, fee_bps=10, size=VolTarget(0.2, 20), rebalance_threshold=0.1)
    plain = backtest(df, s, fee_bps=10)
    entry_only = backtest(df, s, fee_bps=10, size=VolTarget(0.2, 20), rebalance_threshold=None)
    print(f"orders: VolTarget+rebalance {len(sized.orders)}, unsized {len(plain.orders)}, "
          f"VolTarget no rebalance {len(entry_only.orders)}")
    return sized, plain, entry_only


def test_vol_target_order_counts(aapl_runs):
    sized, plain, entry_only = aapl_runs
    # measured: 228 (62 signal + 166 rebalance) vs 62
    assert len(sized.orders) == 228
    assert len(plain.orders) == 62
    assert (sized.orders["reason"] == "rebalance").sum() == 166
    # the signal orders happen at the same times as the unsized strategy's
    sig = sized.orders[sized.orders["reason"] == "signal"]
    assert sig["time"].tolist() == plain.orders["time"].tolist()
    assert sig["side"].tolist() == plain.orders["side"].tolist()
    # without a band it only sizes at entry: the same orders as the unsized strategy
    assert len(entry_only.orders) == len(plain.orders)
    assert entry_only.orders["time"].tolist() == plain.orders["time"].tolist()
    assert (entry_only.orders["reason"] == "signal").all()


def test_vol_target_sizes_entries_to_the_formula(aapl_runs):
    """At each entry (next open) the position value / equity at the fill equals
    0.2 / (std20 * sqrt(252)) at the decision bar, capped at 1 (a cash account)."""
    _, _, entry_only = aapl_runs
    df = ql.data.load("aapl")
    vol = df["close"].pct_change().rolling(20).std(ddof=1)
    o = entry_only.orders
    buys = o[o["side"] == "buy"]
    checked = 0
    for _, row in buys.iterrows():
        t = df.index.get_loc(row["time"])
        want = 0.2 / (vol.iloc[t - 1] * math.sqrt(252))
        if want >= 0.95:
            continue  # the cash limit binds
        prev_cash = entry_only.cash.iloc[t - 1]  # flat before the entry: equity = cash
        got = row["size"] * row["price"] / prev_cash
        assert got == pytest.approx(want, rel=1e-9)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("sizer, name", [(VarBudget(0.02), "var"), (VolTarget(0.2, 20), "vol")])
@pytest.mark.parametrize("bad", [np.nan, 0.0, -0.01, np.inf])
def test_undefined_risk_inputs_size_zero_and_tiny_ones_hit_the_cap(sizer, name, bad):
    """RELIABILITY T19: a NaN, zero, negative or infinite risk forecast opens nothing (size 0,
    never a fallback); a vanishing one is clipped to the cap of ``combine``."""
    assert size_exposure(sizer, 1.0, **{name: bad}) == 0.0
    assert size_exposure(combine(sizer, max_position=0.5), 1.0, **{name: bad}) == 0.0
    assert size_exposure(combine(sizer, max_position=0.5), 1.0, **{name: 1e-300}) == 0.5
    assert size_exposure(combine(sizer, max_position=0.5), -1.0, **{name: 1e-300}) == -0.5

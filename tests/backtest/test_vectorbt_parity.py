"""vectorbt as the oracle of the simulator (REFERENCES.md, "Backtests - vectorbt as the oracle").

All 1225 SMA-cross combinations (fast < slow in 5..54) on the bundled AAPL daily and EURUSD
hourly bars, fill at the close, fees 0.1 %: quantlab's total returns and trade lists equal
``vbt.Portfolio.from_signals`` to <= 1e-9 - long, short-only, long/short reversal, and with
``sl_stop`` / trailing ``sl_stop`` (``tsl_stop``) / ``tp_stop`` checked on high/low.

vectorbt runs once on the whole (bars x 1225) signal matrix; quantlab runs its simulator +
trade kernel per column (total return and the whole trade list, so the trade count too); the
public ``backtest()`` is checked on a 100-combination subset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import quantlab.data as qd
from quantlab.backtest import backtest
from quantlab.backtest import kernels as K
from quantlab.backtest.engine import signal_inputs

vbt = pytest.importorskip("vectorbt")

FEES = 0.001
INIT_CASH = 100_000.0
WINDOWS = range(5, 55)
COMBOS = [(f, s) for f in WINDOWS for s in WINDOWS if f < s]
SUBSET = COMBOS[::12]  # 103 combinations for the public-API check

CASES = {
    "long": {},
    "short": {"direction": "shortonly"},
    "reverse": {"direction": "both"},
    "sl_stop": {"sl_stop": 0.03},
    "tsl_stop": {"tsl_stop": 0.04},
    "tp_stop": {"tp_stop": 0.05},
    "sl_tp_short": {"sl_stop": 0.02, "tp_stop": 0.04, "direction": "shortonly"},
}


def test_combination_count():
    assert len(COMBOS) == 1225
    assert len(SUBSET) >= 100


@pytest.fixture(scope="module", params=["aapl", "eurusd"])
def dataset(request):
    df = qd.load(request.param)
    close = df["close"]
    smas = {w: close.rolling(w).mean().to_numpy() for w in WINDOWS}
    n = len(df)
    entries = np.zeros((n, len(COMBOS)), dtype=bool)
    exits = np.zeros((n, len(COMBOS)), dtype=bool)
    for k, (f, s) in enumerate(COMBOS):
        fast, slow = smas[f], smas[s]
        above = fast > slow
        below = fast < slow
        prev_le = np.concatenate([[False], fast[:-1] <= slow[:-1]])  # NaN compares False
        prev_ge = np.concatenate([[False], fast[:-1] >= slow[:-1]])
        entries[:, k] = above & prev_le
        exits[:, k] = below & prev_ge
    return request.param, df, entries, exits


def _vbt(df, entries, exits, case):
    # the same argument types for every case, so vectorbt's kernel compiles once
    kw = dict(case)
    direction = kw.pop("direction", "longonly")
    trail = "tsl_stop" in kw
    sl = kw.pop("tsl_stop") if trail else kw.pop("sl_stop", np.nan)
    kw.update(sl_stop=float(sl), sl_trail=trail, tp_stop=float(kw.pop("tp_stop", np.nan)),
              open=df["open"].to_numpy()[:, None], high=df["high"].to_numpy()[:, None],
              low=df["low"].to_numpy()[:, None])
    cols = pd.RangeIndex(entries.shape[1])
    close = pd.DataFrame(np.repeat(df["close"].to_numpy()[:, None], entries.shape[1], axis=1),
                         index=df.index, columns=cols)
    n_sig = int(entries.sum() + exits.sum())
    return vbt.Portfolio.from_signals(
        close, pd.DataFrame(entries, index=df.index, columns=cols),
        pd.DataFrame(exits, index=df.index, columns=cols), fees=FEES, init_cash=INIT_CASH,
        direction=direction, max_orders=2 * n_sig + 4 * entries.shape[1], **kw)


def _sides(entries, exits, direction):
    none = np.zeros_like(entries)
    if direction == "shortonly":
        return none, none, entries, exits
    if direction == "both":
        return entries, none, exits, none
    return entries, exits, none, none


def _stop(case, name):
    return case.get(name, np.nan)


def _kernel_trades(prices, entries, exits, case, col):
    """quantlab's full simulator + trade kernel on one signal column (no pandas)."""
    le, lx, se, sx = (a[:, col:col + 1] for a in _sides(entries, exits,
                                                         case.get("direction", "longonly")))
    entry, flags, _ = signal_inputs(le, lx, se, sx)
    o, h, lo, c = prices
    zero2, zero1 = np.zeros((1, 1)), np.zeros(1)
    out = K.simulate_nb(o, h, lo, c, entry, flags, True, False, INIT_CASH, 1.0, FEES, 0.0,
                        zero2, zero1, zero1, _stop(case, "sl_stop"), _stop(case, "tp_stop"),
                        _stop(case, "tsl_stop"), -1.0, zero2, zero2, np.nan, 0)
    tr = K.trades_nb(*out[3:], h, lo, o, c, False)
    return out[2], tr


def _compare_all(df, entries, exits, case, label):
    """vectorbt once on the signal matrix vs quantlab's simulator, column by column."""
    pf = _vbt(df, entries, exits, case)
    v_total = pf.total_return().to_numpy()
    v_trades = pf.trades.values
    v_count = np.bincount(v_trades["col"], minlength=entries.shape[1])

    prices = tuple(np.ascontiguousarray(df[f].to_numpy()[:, None])
                   for f in ("open", "high", "low", "close"))
    v_sorted = v_trades[np.argsort(v_trades["col"], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(v_count)])
    for col in range(entries.shape[1]):
        equity, tr = _kernel_trades(prices, entries, exits, case, col)
        assert abs(equity[-1] / INIT_CASH - 1 - v_total[col]) <= 1e-9, label
        rec = v_sorted[starts[col]:starts[col + 1]]
        _check_trades(rec, tr[2], tr[3], tr[4], tr[5], tr[6], tr[7], tr[8], tr[1],
                      tr[12] == K.REASON_END, f"{label} column {col}")


def _check_trades(vrec, ours_entry, ours_exit, ours_ep, ours_xp, ours_size, ours_pnl, ours_ret,
                  ours_dir, ours_open, label):
    assert len(vrec) == len(ours_entry), label
    np.testing.assert_array_equal(vrec["entry_idx"], ours_entry, err_msg=label)
    np.testing.assert_array_equal(vrec["exit_idx"], ours_exit, err_msg=label)
    np.testing.assert_array_equal(vrec["direction"] == 1, ours_dir < 0, err_msg=label)
    np.testing.assert_array_equal(vrec["status"] == 0, ours_open, err_msg=label)
    value = vrec["size"] * vrec["entry_price"]
    np.testing.assert_allclose(ours_ep, vrec["entry_price"], rtol=1e-9, atol=0, err_msg=label)
    np.testing.assert_allclose(ours_xp, vrec["exit_price"], rtol=1e-9, atol=0, err_msg=label)
    # Sizes and PnLs agree to 1e-9 of the trade's notional, plus a floor of 1e-12 of the initial
    # capital: in an account shorted to near bankruptcy (AAPL short-only) the cash that sizes a
    # trade is a difference of numbers of the capital's magnitude, so float64 noise of order
    # eps * capital * (number of operations) is all that separates the two engines there.
    floor = 1e-12 * INIT_CASH
    assert np.all(np.abs(ours_size - vrec["size"]) * vrec["entry_price"] <= 1e-9 * value + floor), label
    assert np.all(np.abs(ours_pnl - vrec["pnl"]) <= 1e-9 * np.maximum(value, 1.0) + floor), label
    np.testing.assert_allclose(ours_ret, vrec["return"], rtol=0, atol=1e-9, err_msg=label)


@pytest.mark.parametrize("case_name", list(CASES))
def test_subset_matches_vectorbt(dataset, case_name):
    """Long, short, reversal and stops on 103 of the 1225 combinations per dataset."""
    name, df, entries, exits = dataset
    cols = [COMBOS.index(c) for c in SUBSET]
    _compare_all(df, entries[:, cols], exits[:, cols], CASES[case_name], f"{name} {case_name}")


@pytest.mark.slow
@pytest.mark.parametrize("case_name", list(CASES))
def test_all_1225_combinations_match_vectorbt(dataset, case_name):
    """Every SMA-cross combination (fast < slow in 5..54), every case."""
    name, df, entries, exits = dataset
    _compare_all(df, entries, exits, CASES[case_name], f"{name} {case_name}")


@pytest.mark.parametrize("case_name", ["long", "short", "sl_stop", "tsl_stop", "tp_stop"])
def test_public_backtest_matches_vectorbt_on_subset(dataset, case_name):
    name, df, entries, exits = dataset
    case = CASES[case_name]
    subset = SUBSET if case_name == "long" else SUBSET[::4]  # the kernels cover all of SUBSET
    cols = [COMBOS.index(c) for c in subset]
    pf = _vbt(df, entries[:, cols], exits[:, cols], case)
    v_total = pf.total_return().to_numpy()
    v_trades = pf.trades.values
    for k, col in enumerate(cols):
        en = pd.Series(entries[:, col], index=df.index)
        ex = pd.Series(exits[:, col], index=df.index)
        res = backtest(df, (en, ex), fill="close", fee_bps=10, size="all_in",
                       init_cash=INIT_CASH, **case)
        assert abs(res.equity.iloc[-1] / INIT_CASH - 1 - v_total[k]) <= 1e-9
        t = res.trades
        rec = v_trades[v_trades["col"] == k]
        _check_trades(rec, t["entry_bar"].to_numpy(), t["exit_bar"].to_numpy(),
                      t["entry_price"].to_numpy(), t["exit_price"].to_numpy(),
                      t["size"].to_numpy(), t["pnl"].to_numpy(), t["return"].to_numpy(),
                      np.where(t["direction"] == "long", 1, -1), t["is_open"].to_numpy(),
                      f"{name} {case_name} {subset[k]}")
        # times are the bar timestamps of the indices
        assert (t["entry_time"].to_numpy() == df.index[rec["entry_idx"]].to_numpy()).all()


def test_equity_curve_and_to_vectorbt(dataset):
    name, df, entries, exits = dataset
    col = COMBOS.index((10, 30))
    en = pd.Series(entries[:, col], index=df.index)
    ex = pd.Series(exits[:, col], index=df.index)
    res = backtest(df, (en, ex), fill="close", fee_bps=10, size="all_in", init_cash=INIT_CASH,
                   sl_stop=0.05)
    pf = vbt.Portfolio.from_signals(df["close"], en, ex, fees=FEES, init_cash=INIT_CASH,
                                    sl_stop=0.05, open=df["open"], high=df["high"],
                                    low=df["low"])
    np.testing.assert_allclose(res.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res.cash.to_numpy(), pf.cash().to_numpy(), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res.positions.iloc[:, 0].to_numpy(), pf.assets().to_numpy(),
                               rtol=1e-9, atol=1e-9)
    orders = pf.orders.values
    np.testing.assert_allclose(res.orders["price"].to_numpy(), orders["price"], rtol=1e-12)
    np.testing.assert_allclose(res.orders["fee"].to_numpy(), orders["fees"], rtol=1e-9)
    built = res.to_vectorbt()
    np.testing.assert_allclose(built.value().to_numpy().ravel(), pf.value().to_numpy(),
                               rtol=1e-12)

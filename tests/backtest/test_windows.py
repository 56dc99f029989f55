"""Evaluation windows (``backtest(..., start=, end=)``, arch's ``first_obs``/``last_obs``):
the strategy and its indicators see all the data, the account trades and the statistics
count only bars inside ``[start, end]``.

Oracles: the strategy's own full-history signal (``s.signal(data)`` sliced), an independent
backtest on the window's prices alone driven by that full-history target (same numbers),
``quantlab.metrics`` applied to the window's returns, and truncation (a run ending at
``end`` equals the full run's prefix).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quantlab.data as qd
import quantlab.metrics as M
from quantlab.backtest import VolTarget, backtest
from quantlab.errors import InvalidParameterError
from quantlab.strategy.builtin import SmaCross

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
STRAT = SmaCross(fast=10, slow=50)


@pytest.fixture(scope="module")
def aapl():
    return qd.load("aapl", start="2004-01-01", end="2009-12-31")


@pytest.fixture(scope="module")
def full_signal(aapl):
    return STRAT.signal(aapl)


def _long_bar(signal, after):
    """First bar >= ``after`` where the strategy is long (so a window starting there must
    open a position at its first decision)."""
    s = signal.iloc[after:]
    return after + int(np.argmax((s == 1.0).to_numpy()))


@pytest.mark.parametrize("fill", ["close", "next_open"])
def test_nothing_trades_before_start(aapl, full_signal, fill):
    t0 = _long_bar(full_signal, 400)
    start = aapl.index[t0]
    full = backtest(aapl, STRAT, fill=fill, fee_bps=10)
    assert (full.orders["time"] < start).any()  # the full run did trade before the window
    res = backtest(aapl, STRAT, fill=fill, fee_bps=10, start=start)
    assert res.equity.index[0] == start and res.equity.index[-1] == aapl.index[-1]
    first = res.orders["time"].iloc[0]
    assert first >= start
    if fill == "next_open":  # decided at t0's close at the earliest, filled at t0 + 1's open
        assert first > start
        assert first == aapl.index[t0 + 1]
        assert res.orders["price"].iloc[0] == aapl["open"].iloc[t0 + 1]
        assert res.positions.iloc[0, 0] == 0.0
    else:  # already long at t0: the window opens the position at its first close
        assert first == start
    # it starts flat with init_cash
    assert res.cash.iloc[0] <= 100_000.0
    assert res.returns.iloc[0] == pytest.approx(res.equity.iloc[0] / 100_000.0 - 1, rel=1e-15)


def test_indicators_use_the_full_history(aapl, full_signal):
    t0 = 400
    start = aapl.index[t0]
    res = backtest(aapl, STRAT, start=start)
    windowed_target = res.inputs["target"].iloc[:, 0]
    pd.testing.assert_series_equal(windowed_target, full_signal.iloc[t0:], check_names=False)
    # the same strategy on the truncated data differs (its SMA(50) restarts: NaN warm-up)
    own = STRAT.signal(aapl.iloc[t0:])
    assert own.iloc[:49].isna().all()
    assert windowed_target.iloc[:49].notna().all()
    # and the SMA itself differs from one computed on the window only
    close = aapl["close"]
    sma_full = close.rolling(50).mean().iloc[t0:]
    sma_win = close.iloc[t0:].rolling(50).mean()
    assert sma_win.iloc[:49].isna().all() and sma_full.iloc[:49].notna().all()


@pytest.mark.parametrize("fill", ["close", "next_open"])
def test_window_equals_a_backtest_on_the_window_alone(aapl, full_signal, fill):
    t0, t1 = 400, 1200
    start, end = aapl.index[t0], aapl.index[t1]
    res = backtest(aapl, STRAT, fill=fill, fee_bps=10, start=start, end=end)
    window = aapl.iloc[t0:t1 + 1]
    ref = backtest(window, full_signal.iloc[t0:t1 + 1], fill=fill, fee_bps=10)
    assert (res.equity.to_numpy() == ref.equity.to_numpy()).all()
    assert (res.returns.to_numpy() == ref.returns.to_numpy()).all()
    assert res.equity.index.equals(ref.equity.index)
    pd.testing.assert_frame_equal(res.orders, ref.orders)
    assert res.periods_per_year == ref.periods_per_year == 252.0
    s_res, s_ref = res.stats(), ref.stats()
    for k in ("total_return", "cagr", "sharpe", "sortino", "calmar", "annual_volatility",
              "max_drawdown", "n_trades", "win_rate", "n_periods"):
        assert s_res[k] == s_ref[k] or (np.isnan(s_res[k]) and np.isnan(s_ref[k])), k
    assert s_res["n_periods"] == t1 - t0 + 1


def test_stats_are_the_metrics_of_the_window_returns(aapl):
    res = backtest(aapl, STRAT, fee_bps=10, start="2006-01-01", end="2008-12-31")
    r, ppy = res.returns, res.periods_per_year
    s = res.stats()
    assert len(r) == s["n_periods"]
    assert r.index[0] >= pd.Timestamp("2006-01-01", tz="UTC")
    assert r.index[-1] <= pd.Timestamp("2008-12-31", tz="UTC")
    expected = {
        "total_return": M.total_return(r),
        "cagr": M.cagr(r, periods_per_year=ppy),
        "annual_volatility": M.annual_volatility(r, periods_per_year=ppy),
        "sharpe": M.sharpe(r, periods_per_year=ppy),
        "sortino": M.sortino(r, periods_per_year=ppy),
        "calmar": M.calmar(r, periods_per_year=ppy),
        "max_drawdown": M.max_drawdown(r),
        "omega": M.omega(r),
    }
    for k, v in expected.items():
        assert s[k] == pytest.approx(float(v), rel=1e-12), k
    # sharpe by hand (REFERENCES.md: mean / std(ddof=1) * sqrt(ppy)), the window's bars only
    x = r.to_numpy()
    assert s["sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * np.sqrt(ppy), rel=1e-10)
    assert s["total_return"] == pytest.approx(res.equity.iloc[-1] / 100_000.0 - 1, rel=1e-12)


def test_sized_window_equals_the_window_alone_with_the_full_history_inputs(aapl, full_signal):
    """VolTarget's volatility is computed on all the data: the window alone, given the
    full-history volatility as ``sizer_inputs``, is the same backtest."""
    t0 = 500
    sizer = VolTarget(0.2, 20)
    res = backtest(aapl, STRAT, size=sizer, rebalance_threshold=0.1, fee_bps=10,
                   start=aapl.index[t0])
    vol = aapl["close"].pct_change().rolling(20).std(ddof=1)
    ref = backtest(aapl.iloc[t0:], full_signal.iloc[t0:], size=sizer, rebalance_threshold=0.1,
                   fee_bps=10, sizer_inputs={"vol": vol.iloc[t0:]})
    assert len(res.orders) > 20
    assert (res.equity.to_numpy() == ref.equity.to_numpy()).all()
    pd.testing.assert_frame_equal(res.orders, ref.orders)
    # without the full-history input the window alone sizes its first bars differently
    own = backtest(aapl.iloc[t0:], full_signal.iloc[t0:], size=sizer, rebalance_threshold=0.1,
                   fee_bps=10)
    assert not (own.equity.to_numpy() == res.equity.to_numpy()).all()


@SETTINGS
@given(t0=st.integers(50, 1000), length=st.integers(2, 400),
       fill=st.sampled_from(["close", "next_open"]), fee=st.sampled_from([0.0, 10.0]))
def test_random_windows_equal_the_window_alone(aapl, full_signal, t0, length, fill, fee):
    t1 = min(t0 + length - 1, len(aapl) - 1)
    res = backtest(aapl, STRAT, fill=fill, fee_bps=fee, start=aapl.index[t0],
                   end=aapl.index[t1])
    ref = backtest(aapl.iloc[t0:t1 + 1], full_signal.iloc[t0:t1 + 1], fill=fill, fee_bps=fee,
                   periods_per_year=252)
    assert len(res.equity) == t1 - t0 + 1
    assert (res.equity.to_numpy() == ref.equity.to_numpy()).all()
    assert (res.positions.to_numpy() == ref.positions.to_numpy()).all()
    assert len(res.orders) == len(ref.orders)
    assert (res.orders["time"] >= aapl.index[t0]).all()


@pytest.mark.parametrize("fill", ["close", "next_open"])
def test_end_only_is_the_prefix_of_the_full_run(aapl, fill):
    """Truncating the future never changes the past: a run ending at ``end`` equals the
    full run up to ``end``."""
    t1 = 900
    full = backtest(aapl, STRAT, fill=fill, fee_bps=10)
    res = backtest(aapl, STRAT, fill=fill, fee_bps=10, end=aapl.index[t1])
    assert res.equity.index[-1] == aapl.index[t1] and res.equity.index[0] == aapl.index[0]
    assert (res.equity.to_numpy() == full.equity.iloc[:t1 + 1].to_numpy()).all()
    assert (res.cash.to_numpy() == full.cash.iloc[:t1 + 1].to_numpy()).all()
    n = (full.orders["time"] <= aapl.index[t1]).sum()
    pd.testing.assert_frame_equal(res.orders, full.orders.iloc[:n])


def test_dates_between_bars_select_the_bars_inside(aapl):
    # a Saturday start/end: the window is the trading days inside
    res = backtest(aapl, STRAT, start="2006-01-07", end="2006-03-04")
    assert res.equity.index[0] == aapl.loc["2006-01-07":].index[0]
    assert res.equity.index[-1] == aapl.loc[:"2006-03-04"].index[-1]
    assert res.config["start"] == str(res.equity.index[0])


@pytest.mark.parametrize("kw, name", [
    ({"start": "2015-01-01"}, "start"),                                   # after the data
    ({"end": "1999-01-01"}, "end"),                                       # before the data
    ({"start": "2006-01-07", "end": "2006-01-08"}, "start"),              # a weekend: 0 bars
    ({"start": "2009-12-31"}, "start"),                                   # 1 bar
])
def test_empty_windows_are_refused_naming_the_range(aapl, kw, name):
    with pytest.raises(InvalidParameterError, match=f"`{name}`") as err:
        backtest(aapl, STRAT, **kw)
    msg = str(err.value)
    assert "the data runs" in msg
    assert str(aapl.index[0]) in msg and str(aapl.index[-1]) in msg


def test_start_after_end_is_refused(aapl):
    with pytest.raises(InvalidParameterError, match="`start`") as err:
        backtest(aapl, STRAT, start="2008-01-01", end="2007-01-01")
    assert "end" in str(err.value) and "2007-01-01" in str(err.value)


def test_bad_dates_are_refused(aapl):
    with pytest.raises(InvalidParameterError, match="`start`"):
        backtest(aapl, STRAT, start="not a date")

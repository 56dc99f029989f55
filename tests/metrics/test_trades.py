"""Trade and position statistics against direct pandas computations (the oracle)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import quantlab.metrics as M
from quantlab.errors import DataError, InvalidParameterError


def _pnl(seed: int, n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 10.0, n).round(2)
    x[::17] = 0.0  # break-even trades
    return x


def _oracle(s: pd.Series) -> dict[str, float]:
    s = s.dropna()
    wins, losses = s[s > 0], s[s < 0]
    streak = (s < 0).astype(int)
    runs = streak.groupby((streak != streak.shift()).cumsum()).sum().max()
    return {
        "n_trades": float(len(s)),
        "win_rate": len(wins) / len(s),
        "profit_factor": wins.sum() / -losses.sum(),
        "expectancy": s.mean(),
        "payoff_ratio": wins.mean() / -losses.mean(),
        "avg_win": wins.mean(),
        "avg_loss": losses.mean(),
        "best_trade": s.max(),
        "worst_trade": s.min(),
        "max_consecutive_losses": float(runs),
    }


FUNCS = {
    "n_trades": M.n_trades,
    "win_rate": M.win_rate,
    "profit_factor": M.profit_factor,
    "expectancy": M.expectancy,
    "payoff_ratio": M.payoff_ratio,
    "max_consecutive_losses": M.max_consecutive_losses,
}


@pytest.mark.parametrize("name", list(FUNCS))
def test_trade_stats_all_forms(name: str) -> None:
    a, b = _pnl(1), _pnl(2, 150)
    frame = pd.DataFrame({"a": pd.Series(a), "b": pd.Series(b)})  # b NaN-padded
    expected = [_oracle(frame["a"])[name], _oracle(frame["b"])[name]]
    func = FUNCS[name]
    r1 = func(a)
    assert isinstance(r1, float) and r1 == pytest.approx(expected[0], rel=1e-12)
    assert func(pd.Series(a)) == pytest.approx(expected[0], rel=1e-12)
    r2 = func(frame)
    assert isinstance(r2, pd.Series) and list(r2.index) == ["a", "b"]
    np.testing.assert_allclose(r2.to_numpy(), expected, rtol=1e-12)
    r3 = func(frame.to_numpy())
    assert isinstance(r3, np.ndarray)
    np.testing.assert_allclose(r3, expected, rtol=1e-12)


def test_trade_summary_matches_oracle() -> None:
    a = _pnl(3)
    s = M.trade_summary(pd.Series(a))
    expected = _oracle(pd.Series(a))
    assert list(s.index) == list(expected)
    for key, value in expected.items():
        assert s[key] == pytest.approx(value, rel=1e-12), key
    table = M.trade_summary(pd.DataFrame({"x": a, "y": -a}))
    assert table.loc["win_rate", "y"] == pytest.approx(_oracle(pd.Series(-a))["win_rate"])


def test_hand_counted_trades() -> None:
    trades = [10.0, -5.0, 0.0, 2.0, -1.0, -1.0, -3.0]
    assert M.win_rate(trades) == 2 / 7
    assert M.profit_factor(trades) == pytest.approx(12 / 10)
    assert M.expectancy(trades) == pytest.approx(2 / 7)
    assert M.max_consecutive_losses(trades) == 3.0
    assert M.payoff_ratio(trades) == pytest.approx(6 / 2.5)


def test_no_trades_and_degenerate() -> None:
    assert M.n_trades([]) == 0.0
    assert np.isnan(M.win_rate([]))
    assert np.isnan(M.expectancy(np.array([np.nan])))
    assert np.isnan(M.profit_factor([1.0, 2.0]))  # no losses: undefined, not inf
    assert M.profit_factor([-1.0, -2.0]) == 0.0
    assert M.max_consecutive_losses([]) == 0.0
    s = M.trade_summary([])
    assert s["n_trades"] == 0 and np.isnan(s["best_trade"])
    with pytest.raises(DataError, match="numeric"):
        M.win_rate(pd.Series(["win", "loss"]))


def test_exposure_and_turnover_against_pandas() -> None:
    rng = np.random.default_rng(4)
    w = pd.DataFrame({"a": rng.choice([0.0, 0.5, 1.0, -1.0], 500),
                      "b": rng.choice([0.0, 1.0], 500)})
    w.iloc[:20] = np.nan  # warm-up: flat
    flat = w.fillna(0.0)
    exp_exposure = (flat != 0).mean()
    exp_turnover = flat.diff().fillna(flat.iloc[0]).abs().mean()
    pd.testing.assert_series_equal(M.exposure(w), exp_exposure, check_names=False)
    pd.testing.assert_series_equal(M.turnover(w), exp_turnover, check_names=False, rtol=1e-12)
    pd.testing.assert_series_equal(M.turnover(w, periods_per_year=252), exp_turnover * 252,
                                   check_names=False, rtol=1e-12)
    assert M.exposure(w["a"]) == pytest.approx(exp_exposure["a"])
    assert M.exposure(w["a"].to_numpy()) == pytest.approx(exp_exposure["a"])
    np.testing.assert_allclose(M.turnover(w.to_numpy()), exp_turnover.to_numpy(), rtol=1e-12)
    # one round trip into and out of a full position: turnover 2 over 4 bars
    assert M.turnover([0.0, 1.0, 1.0, 0.0]) == 0.5


def test_position_errors() -> None:
    with pytest.raises(DataError, match="`positions` of exposure"):
        M.exposure([])
    with pytest.raises(InvalidParameterError, match="`periods_per_year` of turnover"):
        M.turnover([0.0, 1.0], periods_per_year=-1)


# ---------------------------------------------------------------------------- one name, one meaning

@pytest.fixture(scope="module")
def backtest_result():
    import quantlab as ql
    from quantlab.data import load
    from quantlab.strategies import SmaCross

    # ends inside a trade: one open trade, so "closed" and "including open" differ
    data = load("aapl", start="2004-01-01", end="2009-06-30")
    return ql.backtest(data, SmaCross(fast=10, slow=30), fee_bps=10)


def test_stats_and_trade_stats_agree_on_every_shared_name(backtest_result):
    """Issue 15: profit_factor, expectancy and n_trades meant different things in stats()
    (trade returns, closed trades) and trade_stats() (PnL, open trade included)."""
    res = backtest_result
    stats, trade = res.stats(), res.trade_stats()
    shared = sorted(set(stats.index) & set(trade.index))
    assert {"n_trades", "profit_factor", "expectancy", "win_rate"} <= set(shared)
    for name in shared:
        assert stats[name] == pytest.approx(trade[name], rel=1e-12, nan_ok=True), name
    assert stats.index.is_unique


def test_trade_statistics_definitions_by_oracle(backtest_result):
    res = backtest_result
    stats = res.stats()
    t = res.trades
    closed = t[~t["is_open"]]
    assert t["is_open"].sum() == 1 == stats["n_open_trades"]
    ret, pnl = closed["return"], closed["pnl"]
    assert stats["n_trades"] == len(closed) == stats["n_closed_trades"]
    assert stats["profit_factor"] == pytest.approx(ret[ret > 0].sum() / -ret[ret < 0].sum(),
                                                   rel=1e-12)
    assert stats["expectancy"] == pytest.approx(ret.mean(), rel=1e-12)
    assert stats["pnl_profit_factor"] == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl < 0].sum(),
                                                       rel=1e-12)
    assert stats["pnl_expectancy"] == pytest.approx(pnl.mean(), rel=1e-12)
    assert stats["profit_factor"] == pytest.approx(float(M.profit_factor(ret)), rel=1e-12)
    # buy and hold of the traded asset has its own name; the old key is gone
    assert "benchmark_return" not in stats.index and "benchmark_return" not in res.trade_stats()
    close = res.data["close"]
    assert stats["buy_hold_return"] == pytest.approx(close.iloc[-1] / close.iloc[0] - 1.0,
                                                     rel=1e-12)

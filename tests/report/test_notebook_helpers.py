"""The notebooks' shared logic (quantlab.report.notebook_helpers).

Oracles: the direct API calls the helpers stand for (``load``, ``Store.read``, ``backtest``,
``sweep``, the strategy classes); pandas ``merge_asof`` for the benchmark alignment;
empyrical for the statistics; a brute-force loop over grid positions for the neighbourhoods;
hand-computed values on small grids.
"""

from __future__ import annotations

import itertools

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

import quantlab as ql
from quantlab.backtest.sizer_names import SIZER_NAMES, sizer_from_name
from quantlab.backtest.sizers import FixedFraction
from quantlab.backtest.sweep import sweep
from quantlab.data import Store, load
from quantlab.errors import DataError, DataQualityWarning, InvalidParameterError
from quantlab.report import notebook_helpers as nh
from quantlab.strategies import DonchianBreakout, EmaCross, SmaCross


@pytest.fixture(autouse=True)
def _no_smoke_env(monkeypatch):
    monkeypatch.delenv(nh.SMOKE_ENV, raising=False)


@pytest.fixture(scope="module")
def aapl():
    return load("aapl", start="2008-01-01", end="2011-12-31")


@pytest.fixture(scope="module")
def result(aapl):
    return ql.backtest(aapl, SmaCross(fast=10, slow=30), fee_bps=10)


# ---------------------------------------------------------------------------- smoke

def test_smoke_mode_reads_the_parameter_and_the_environment(monkeypatch):
    assert nh.smoke_mode(True) is True and nh.smoke_mode(False) is False
    monkeypatch.setenv("QUANTLAB_SMOKE", "1")
    assert nh.smoke_mode(False) is True
    monkeypatch.setenv("QUANTLAB_SMOKE", "0")
    assert nh.smoke_mode(False) is False
    with pytest.raises(InvalidParameterError, match=r"`smoke` of smoke_mode\(\) must be True or False; got 'yes'"):
        nh.smoke_mode("yes")


# ---------------------------------------------------------------------------- strategies, sizers
# (the name tables themselves: tests/strategy/test_registry.py, and sizer_from_name below)

def test_make_strategy_equals_the_class_call():
    assert nh.make_strategy("SmaCross", {"fast": 20, "slow": 50}) == SmaCross(fast=20, slow=50)
    assert nh.make_strategy("DonchianBreakout") == DonchianBreakout()
    assert nh.make_strategy("DonchianBreakout", None) == DonchianBreakout()
    with pytest.raises(InvalidParameterError, match="unknown parameter `fsat`. Did you mean 'fast'"):
        nh.make_strategy("SmaCross", {"fsat": 20})
    with pytest.raises(InvalidParameterError, match=r"`fast` of SmaCross\(\) must be < slow"):
        nh.make_strategy("SmaCross", {"fast": 60, "slow": 50})
    with pytest.raises(InvalidParameterError,
                       match=r"`strategy_params` of make_strategy\(\) must be a dict"):
        nh.make_strategy("SmaCross", [20, 50])


def test_make_sizer():
    assert nh.make_sizer("fixed_fraction", {"fraction": 0.5}) == FixedFraction(0.5)
    assert nh.make_sizer("fixed_fraction") == FixedFraction(1.0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'fixed_fraction'"):
        nh.make_sizer("fixed_fractoin")
    with pytest.raises(InvalidParameterError, match="Did you mean 'fraction'"):
        nh.make_sizer("fixed_fraction", {"fractoin": 0.5})
    with pytest.raises(InvalidParameterError, match=r"`fraction` of FixedFraction\(\)"):
        nh.make_sizer("fixed_fraction", {"fraction": 1.5})
    with pytest.raises(InvalidParameterError, match=r"`sizer_params` of make_sizer\(\) must be a dict"):
        nh.make_sizer("fixed_fraction", [0.5])


def test_sizer_from_name_builds_the_named_class():
    assert sizer_from_name("fixed_fraction", fraction=0.25) == FixedFraction(0.25)
    assert sizer_from_name("fixed_fraction") == FixedFraction()
    required = {"vol_target": {"annual_vol": 0.1}, "atr_risk": {"risk_fraction": 0.01},
                "var_budget": {"budget": 0.02}}
    for name, class_name in SIZER_NAMES.items():  # every entry names a class of sizers.py
        assert type(sizer_from_name(name, **required.get(name, {}))).__name__ == class_name
    with pytest.raises(InvalidParameterError, match=r"needs the parameter\(s\) annual_vol of "
                                                    r"sizer 'vol_target'"):
        sizer_from_name("vol_target")
    with pytest.raises(InvalidParameterError,
                       match=r"`sizer` of backtest_report\(\) must be one of .*'fixed_fraction'.*"
                             r"Did you mean 'fixed_fraction'\?"):
        sizer_from_name("fixedfraction", caller="backtest_report")
    with pytest.raises(InvalidParameterError, match=r"unknown parameter `fractoin` of sizer "
                                                    r"'fixed_fraction'\. Did you mean 'fraction'"):
        sizer_from_name("fixed_fraction", fractoin=0.5)


# ---------------------------------------------------------------------------- data

def test_load_bars_equals_load_and_store_read(tmp_path):
    want = load("msft", start="2010-01-01", end="2010-06-30")
    pd.testing.assert_frame_equal(nh.load_bars("msft", start="2010-01-01", end="2010-06-30"), want)
    pd.testing.assert_frame_equal(nh.load_bars("msft", start="2010-01-01", end="2010-06-30",
                                               last_bars=7), want.iloc[-7:])
    store = Store(tmp_path / "store")
    store.write(want, "MSFT", "1d")
    got = nh.load_bars("aapl", store=tmp_path / "store", symbol="MSFT", start="2010-02-01")
    pd.testing.assert_frame_equal(got, store.read("MSFT", "1d", start="2010-02-01"))


def test_load_bars_errors(tmp_path):
    with pytest.raises(InvalidParameterError, match=r"`store` of load_bars\(\) must be a Store"):
        nh.load_bars(symbol="MSFT")
    with pytest.raises(InvalidParameterError, match=r"`dataset` of load_bars\(\)"):
        nh.load_bars()
    with pytest.raises(DataError, match="Did you mean 'aapl'"):
        nh.load_bars("appl")
    with pytest.raises(DataError, match=r"`start` of load_bars\(\)"):
        nh.load_bars("aapl", start="2030-01-01")
    with pytest.raises(InvalidParameterError, match="`last_bars`"):
        nh.load_bars("aapl", last_bars=1)


# ---------------------------------------------------------------------------- setups

def test_backtest_setup_runs_the_same_backtest_as_the_api():
    setup = nh.backtest_setup(dataset="msft", strategy="EmaCross",
                              strategy_params={"fast": 10, "slow": 40}, start="2005-01-01",
                              end="2009-12-31", fee_bps=5, slippage_bps=2, fill="close",
                              init_cash=50_000, sizer_params={"fraction": 0.5},
                              benchmark="sp500", rolling_window=63)
    data = load("msft", start="2005-01-01", end="2009-12-31")
    want = ql.backtest(data, EmaCross(fast=10, slow=40), fee_bps=5, slippage_bps=2, fill="close",
                       init_cash=50_000, size=0.5)
    got = setup.run()
    pd.testing.assert_series_equal(got.equity, want.equity)
    pd.testing.assert_frame_equal(got.trades, want.trades)
    assert (setup.label, setup.benchmark, setup.rolling_window, setup.smoke) == (
        "msft", "sp500", 63, False)
    assert "EmaCross(fast=10, slow=40, short=False) on msft" in repr(setup)


def test_backtest_setup_smoke_keeps_the_last_bars(monkeypatch):
    full = load("aapl")
    assert len(nh.backtest_setup(smoke=True).data) == nh.SMOKE_BARS
    monkeypatch.setenv("QUANTLAB_SMOKE", "1")
    setup = nh.backtest_setup(rolling_window=10_000)
    pd.testing.assert_frame_equal(setup.data, full.iloc[-nh.SMOKE_BARS:])
    assert setup.smoke and setup.rolling_window == nh.SMOKE_BARS // 2  # capped at half the bars


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"fill": "next_opne"}, InvalidParameterError, "Did you mean 'next_open'"),
    ({"fee_bps": -1.0}, InvalidParameterError, r"`fee_bps` of backtest_report\(\) must be a finite number >= 0"),
    ({"init_cash": 0.0}, InvalidParameterError, "`init_cash`"),
    ({"strategy": "SmaCros"}, InvalidParameterError, "Did you mean 'SmaCross'"),
    ({"strategy_params": {"slwo": 40}}, InvalidParameterError, "Did you mean 'slow'"),
    ({"benchmark": "sp50"}, DataError, "Did you mean 'sp500'"),
    ({"sizer": "martingale"}, InvalidParameterError, "`sizer` of backtest_report"),
    ({"rolling_window": 1}, InvalidParameterError, "`rolling_window`"),
])
def test_backtest_setup_refuses_bad_parameters(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        nh.backtest_setup(**kwargs)


def test_sweep_setup_runs_the_same_sweep_as_the_api():
    grid = {"fast": [5, 10, 20, 40], "slow": [30, 60]}
    setup = nh.sweep_setup(grid=grid, dataset="ibm", start="2006-01-01", end="2008-12-31",
                           metric="sortino", fee_bps=10, top_n=3)
    assert setup.n_combinations == 8 and setup.metric == "sortino"
    got = setup.run(progress=False)
    data = load("ibm", start="2006-01-01", end="2008-12-31")
    want = sweep(SmaCross, data, grid, metric="sortino", fee_bps=10, progress=False)
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got.best_params == want.best_params


def test_sweep_setup_smoke_shrinks_grid_and_period():
    setup = nh.sweep_setup(grid={"fast": [5, 10, 15, 20, 25], "slow": [50, 100]}, smoke=True)
    assert setup.grid == {"fast": [5, 15, 25], "slow": [50, 100]} and setup.smoke
    assert len(setup.data) == nh.SMOKE_BARS


@pytest.mark.parametrize("kwargs, pattern", [
    ({"grid": {"fsat": [5]}}, "Did you mean 'fast'"),
    ({"grid": {"fast": 5}}, r"`grid\['fast'\]` of sweep_report\(\) must be a non-empty list"),
    ({"grid": {}}, "must be a non-empty dict"),
    ({"grid": None}, "must be a non-empty dict"),
    ({"grid": {"fast": [5]}, "metric": "sharp"}, "Did you mean 'sharpe'"),
    ({"grid": {"fast": [5]}, "top_n": 0}, "`top_n`"),
    ({"grid": {"fast": [5]}, "strategy": "Donchian"}, "Did you mean 'DonchianBreakout'"),
])
def test_sweep_setup_refuses_bad_parameters(kwargs, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        nh.sweep_setup(**kwargs)


# ---------------------------------------------------------------------------- benchmark, stats

def _asof(index: pd.DatetimeIndex, price: pd.Series) -> pd.Series:
    """Oracle: the last price at or before each bar, with pandas' merge_asof."""
    left = pd.DataFrame({"time": index.as_unit("ns")})
    right = price.rename("p").rename_axis("time").reset_index().sort_values("time")
    right["time"] = right["time"].dt.as_unit("ns")
    merged = pd.merge_asof(left, right, on="time", direction="backward")
    return pd.Series(merged["p"].to_numpy(), index=index)


def test_benchmark_equity_is_causal_buy_and_hold(result):
    sp500 = load("sp500")
    got = nh.benchmark_equity(result, "sp500")
    price = _asof(result.equity.index, sp500["close"])
    want = 100_000.0 * price / price.iloc[0]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-13)
    assert got.name == "sp500" and got.index.equals(result.equity.index)
    pd.testing.assert_series_equal(nh.benchmark_equity(result, None), result.benchmark,
                                   check_names=False)
    assert nh.benchmark_equity(result, sp500, name="S&P").name == "S&P"


def test_benchmark_equity_on_another_calendar(result):
    # a benchmark that prints at 16:00 every third day, starting after the backtest does
    idx = result.equity.index
    stamps = idx[40::3] + pd.Timedelta(hours=16)
    price = pd.Series(np.linspace(10.0, 20.0, len(stamps)), index=stamps, name="bench")
    with pytest.warns(DataQualityWarning, match=r"bench covers .* starts after the strategy's "
                                                 r"period .* truncated"):
        got = nh.benchmark_equity(result, price)
    held = _asof(idx, price)
    first = held.first_valid_index()
    want = 100_000.0 * held / held[first]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-13)  # NaN where NaN
    assert got.loc[:first].iloc[:-1].isna().all() and got.name == "bench"
    with pytest.raises(DataError, match="prices at or before"):
        nh.benchmark_equity(result, price.set_axis(stamps + pd.Timedelta(days=9000)))
    with pytest.raises(DataError, match="starts after the strategy's period"):
        nh.benchmark_equity(result, price, on_partial="raise")
    with pytest.raises(DataError, match="'close' column"):
        nh.benchmark_equity(result, pd.DataFrame({"price": price}))


def test_compare_stats_against_empyrical(result):
    bench = nh.benchmark_equity(result, "sp500")
    table = nh.compare_stats(result, bench)
    stats = result.stats()
    own = [r for r in stats.index if r not in nh.BENCHMARK_RELATIVE]
    pd.testing.assert_series_equal(table["strategy"][own], stats[own], check_names=False)
    bench_returns = bench / bench.shift(1).fillna(100_000.0) - 1.0
    # beta and correlation against the benchmark shown beside them (sp500), not buy and hold
    strat = table["strategy"]
    beta = ep.beta(result.returns, bench_returns)
    assert strat["beta"] == pytest.approx(beta, rel=1e-10)
    assert strat["correlation"] == pytest.approx(result.returns.corr(bench_returns), rel=1e-10)
    alpha = ep.alpha(result.returns, bench_returns, annualization=252)
    assert strat["alpha_annual"] == pytest.approx(alpha, rel=1e-8)
    # stats() is against the traded asset's buy and hold, a different number
    hold = result.benchmark / result.benchmark.shift(1).fillna(100_000.0) - 1.0
    assert stats["beta"] == pytest.approx(ep.beta(result.returns, hold), rel=1e-10)
    assert strat["beta"] != pytest.approx(stats["beta"], rel=1e-3)
    assert table["benchmark"]["beta"] == pytest.approx(1.0)
    assert table["benchmark"]["correlation"] == pytest.approx(1.0)
    col = table["benchmark"]
    assert col["total_return"] == pytest.approx(bench.iloc[-1] / 100_000.0 - 1.0, rel=1e-12)
    assert col["sharpe"] == pytest.approx(ep.sharpe_ratio(bench_returns, annualization=252),
                                          rel=1e-10)
    assert col["max_drawdown"] == pytest.approx(ep.max_drawdown(bench_returns), rel=1e-12)
    assert np.isnan(col["win_rate"])  # trade rows do not apply to a benchmark


def test_key_figures_against_independent_computations(result):
    figures = nh.key_figures(result)
    assert list(figures) == list(nh.KEY_FIGURES)
    equity, init = result.equity, 100_000.0
    assert figures["total_return"] == pytest.approx(equity.iloc[-1] / init - 1.0, rel=1e-12)
    assert figures["end_value"] == pytest.approx(equity.iloc[-1], rel=1e-15)
    assert figures["sharpe"] == pytest.approx(ep.sharpe_ratio(result.returns, annualization=252),
                                              rel=1e-10)
    assert figures["max_drawdown"] == pytest.approx(ep.max_drawdown(result.returns), rel=1e-12)
    closed = result.trades[~result.trades["is_open"]]
    assert figures["n_trades"] == len(closed)
    assert figures["win_rate"] == pytest.approx((closed["pnl"] > 0).mean())
    assert figures["total_fees"] == pytest.approx(result.orders["fee"].sum(), rel=1e-12)
    assert all(isinstance(v, float) for v in figures.values())
    nh.record_figures(figures)  # no-op outside a notebook


# ---------------------------------------------------------------------------- grids

def test_shrink_grid():
    grid = {"a": list(range(10)), "b": [1, 2], "c": ["x"]}
    assert nh.shrink_grid(grid, 3) == {"a": [0, 4, 9], "b": [1, 2], "c": ["x"]}  # round half even
    assert nh.shrink_grid(grid, 4) == {"a": [0, 3, 6, 9], "b": [1, 2], "c": ["x"]}
    assert nh.shrink_grid(grid, 1) == {"a": [0], "b": [1], "c": ["x"]}
    assert nh.shrink_grid(grid, 10) == grid
    with pytest.raises(InvalidParameterError, match="`max_values`"):
        nh.shrink_grid(grid, 0)


def test_swept_pairs():
    table = pd.DataFrame({"a": [1, 2, 1], "b": [3, 3, 4], "c": [0, 0, 0], "d": [1, 2, 3]})
    assert nh.swept_pairs(table, ["a", "b", "c", "d"]) == [("a", "b"), ("a", "d"), ("b", "d")]
    assert nh.swept_pairs(table, ["a", "c"]) == []


def _grid_table(axes: dict[str, list], keep=lambda row: True) -> pd.DataFrame:
    rows = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    table = pd.DataFrame([r for r in rows if keep(r)]).reset_index(drop=True)
    table["metric"] = np.arange(len(table), dtype=float) * 0.1
    return table


def _brute_neighbours(table, params, index, radius):
    axes = {p: sorted(table[p].unique()) for p in params}
    here = {p: axes[p].index(table.at[index, p]) for p in params}
    out = []
    for i in table.index:
        if i != index and all(abs(axes[p].index(table.at[i, p]) - here[p]) <= radius
                              for p in params):
            out.append(i)
    return out


def test_neighbours_counts_on_a_full_grid():
    table = _grid_table({"x": [1, 2, 3, 4, 5], "y": [10, 20, 30, 40, 50]})
    center = table.index[(table.x == 3) & (table.y == 30)][0]
    corner = table.index[(table.x == 1) & (table.y == 10)][0]
    assert len(nh.neighbours(table, ["x", "y"], center)) == 8
    assert len(nh.neighbours(table, ["x", "y"], corner)) == 3
    assert len(nh.neighbours(table, ["x", "y"], center, radius=2)) == 24
    assert len(nh.neighbours(table, ["x", "y"], center, radius=0)) == 0


@pytest.mark.parametrize("radius", [1, 2])
def test_neighbours_equal_brute_force_on_a_ragged_3d_grid(radius):
    # uneven spacing, a bool axis, and combinations skipped as a strategy's check() would
    table = _grid_table({"fast": [3, 5, 8, 13, 21], "slow": [10, 20, 50, 100], "short": [False, True]},
                        keep=lambda r: r["fast"] < r["slow"])
    params = ["fast", "slow", "short"]
    for index in table.index:
        got = nh.neighbours(table, params, index, radius=radius).index.tolist()
        assert got == _brute_neighbours(table, params, index, radius)


def test_neighbour_stability_by_hand():
    # metric = x * y on a 3 x 3 grid; around the best (3, 3): (2,2)=4, (2,3)=6, (3,2)=6
    table = pd.DataFrame([{"x": x, "y": y, "m": float(x * y)} for x in (1, 2, 3) for y in (1, 2, 3)])
    best = int(table["m"].idxmax())
    s = nh.neighbour_stability(table, ["x", "y"], best, "m")
    assert s["value"] == 9.0 and s["n_neighbours"] == 3.0
    assert s["mean"] == pytest.approx(16 / 3) and s["median"] == 6.0
    assert (s["min"], s["max"]) == (4.0, 6.0)
    assert s["std"] == pytest.approx(np.std([4.0, 6.0, 6.0], ddof=1))
    assert s["share_positive"] == 1.0 and s["mean_to_value"] == pytest.approx(16 / 27)
    lone = pd.DataFrame({"x": [1], "m": [0.0]})
    s = nh.neighbour_stability(lone, ["x"], 0, "m")
    assert s["n_neighbours"] == 0.0 and np.isnan(s["mean"]) and np.isnan(s["mean_to_value"])
    with pytest.raises(InvalidParameterError, match="`index` of neighbours"):
        nh.neighbours(table, ["x", "y"], 99)
    with pytest.raises(InvalidParameterError, match="Did you mean 'x'"):
        nh.neighbours(table, ["xx"], 0)


def test_top_combinations():
    table = pd.DataFrame({"sharpe": [0.1, np.nan, 0.9, 0.5, 0.9],
                          "annual_volatility": [0.3, 0.1, np.nan, 0.2, 0.4]})
    assert nh.top_combinations(table, "sharpe", 3).index.tolist() == [2, 4, 3]
    assert nh.top_combinations(table, "sharpe", 10).index.tolist() == [2, 4, 3, 0, 1]
    assert nh.top_combinations(table, "annual_volatility", 2).index.tolist() == [1, 3]
    assert nh.top_combinations(table, "sharpe", 1, ascending=True).index.tolist() == [0]
    with pytest.raises(InvalidParameterError, match="Did you mean 'sharpe'"):
        nh.top_combinations(table, "sharp")


def test_top_combinations_pick_the_sweep_best(aapl):
    res = sweep(SmaCross, aapl, {"fast": [5, 10, 20], "slow": [30, 60]}, progress=False)
    assert nh.top_combinations(res.table, res.metric, 1).index[0] == res.best_index


def test_curves_figure(result):
    fig = nh.curves_figure({"strategy": result.equity, "hold": result.benchmark}, title="T")
    assert [t.name for t in fig.data] == ["strategy", "hold"]
    np.testing.assert_array_equal(fig.data[0].y, result.equity.to_numpy())
    norm = nh.curves_figure({"s": result.equity}, normalize=True)
    np.testing.assert_allclose(norm.data[0].y, (result.equity / result.equity.iloc[0]).to_numpy())
    with pytest.raises(InvalidParameterError, match="non-empty dict"):
        nh.curves_figure({})
    with pytest.raises(DataError, match="a pandas Series"):
        nh.curves_figure({"x": [1, 2]})


# ---------------------------------------------------------------------------- issue 15

def _daily(start, end, seed, name):
    idx = pd.date_range(start, end, freq="D", tz="UTC")
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.02, len(idx))))
    return pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                         "close": close, "volume": 1.0}, index=idx).rename_axis(name)


@pytest.fixture(scope="module")
def crypto():
    """A 24/7 daily strategy over 2017-2019 (the issue's crypto case)."""
    data = _daily("2017-01-01", "2019-12-31", 11, "btc")
    return ql.backtest(data, SmaCross(fast=10, slow=30), fee_bps=10)


def test_a_benchmark_ending_inside_the_period_is_truncated_not_held_flat(crypto):
    sp500 = load("sp500")  # ends 2018-12-31
    with pytest.warns(DataQualityWarning, match=r"sp500 covers 1999-01-04 \.\. 2018-12-31, "
                                                r"which ends before the strategy's period "
                                                r"2017-01-01 \.\. 2019-12-31"):
        bench = nh.benchmark_equity(crypto, "sp500")
    idx = crypto.equity.index
    # oracle: merge_asof, then nothing after the benchmark's last bar (+ 4 daily spacings)
    want = _asof(idx, sp500["close"])
    want[idx > pd.Timestamp("2018-12-31", tz="UTC") + pd.Timedelta(days=4)] = np.nan
    want = 100_000.0 * want / want.dropna().iloc[0]
    np.testing.assert_allclose(bench.to_numpy(), want.to_numpy(), rtol=1e-13)
    assert bench.loc["2019-01-05":].isna().all()  # 2019: no price, not the 2018 close held flat
    assert bench.loc["2018-12-31":"2019-01-04"].notna().sum() == 5
    with pytest.raises(DataError, match="ends before the strategy's period"):
        nh.benchmark_equity(crypto, "sp500", on_partial="raise")
    with pytest.raises(InvalidParameterError, match="`on_partial`"):
        nh.benchmark_equity(crypto, "sp500", on_partial="ignore")
    # the statistics beside it cover its own bars only, and beta against it
    table = nh.compare_stats(crypto, bench)
    r = bench / bench.shift(1) - 1.0
    r.iloc[0] = bench.iloc[0] / 100_000.0 - 1.0
    r = r.dropna()
    assert table.loc["n_periods", "benchmark"] == len(r) == (idx <= "2019-01-04").sum()
    assert table.loc["total_return", "benchmark"] == pytest.approx(
        bench.dropna().iloc[-1] / 100_000.0 - 1.0, rel=1e-12)
    common = crypto.returns.loc[r.index]
    assert table.loc["beta", "strategy"] == pytest.approx(ep.beta(common, r), rel=1e-9)
    assert table.loc["correlation", "strategy"] == pytest.approx(common.corr(r), rel=1e-9)


def test_a_covering_benchmark_on_a_weekday_calendar_does_not_warn(result):
    # aapl (weekdays) inside sp500's period: weekends and holidays are carried, no warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nh.benchmark_equity(result, "sp500")
        nh.benchmark_equity(result, "msft")


def test_stats_table_is_formatted_once(result):
    bench = nh.benchmark_equity(result, "sp500")
    table = nh.stats_table(result, bench)
    raw = nh.compare_stats(result, bench)
    assert list(table.columns) == ["strategy", "benchmark: sp500"]
    assert table.index.is_unique and list(table.index) == list(raw.index)
    assert table.loc["total_return", "strategy"] == f"{100 * raw.loc['total_return', 'strategy']:.2f}%"
    assert table.loc["n_trades", "strategy"] == f"{raw.loc['n_trades', 'strategy']:.0f}"
    assert table.loc["end_value", "strategy"] == f"{raw.loc['end_value', 'strategy']:,.2f}"
    assert table.loc["n_trades", "benchmark: sp500"] == "—"
    assert not table.stack().str.contains(r"\de[+-]\d").any()
    assert nh.stats_table(result).columns[1] == "benchmark: buy and hold"
    few = nh.stats_table(result, rows=["sharpe", "cagr"])
    assert list(few.index) == ["sharpe", "cagr"]


def test_report_command_reproduces_the_parameters():
    import shlex

    from quantlab.report.runner import notebook_parameters

    setup = nh.backtest_setup(dataset="msft", strategy="EmaCross",
                              strategy_params={"fast": 10, "slow": 40}, fee_bps=5,
                              benchmark=None, smoke=True)
    words = shlex.split(setup.command)
    assert words[:3] == ["quantlab", "report", "notebooks/backtest_report.ipynb"]
    pairs = dict(zip(words[4::3], words[5::3]))
    assert words[3::3] == ["-p"] * len(pairs)
    assert pairs["dataset"] == "msft" and pairs["strategy"] == "EmaCross"
    assert pairs["strategy_params"] == '{"fast": 10, "slow": 40}'
    assert pairs["benchmark"] == "null" and pairs["fee_bps"] == "5" and pairs["smoke"] == "true"
    assert "store" not in pairs and "csv" not in pairs  # sources not used are left out
    import pathlib
    specs = notebook_parameters(pathlib.Path(__file__).parents[2] / "notebooks" /
                                "backtest_report.ipynb")
    assert set(pairs) <= set(specs)  # every -p is a parameter of the notebook
    assert "This run:" in setup._repr_html_() and "quantlab report" in setup._repr_html_()
    sweep_cmd = nh.sweep_setup(grid={"fast": [5, 10]}, smoke=True).command
    assert '-p grid \'{"fast": [5, 10]}\'' in sweep_cmd


def test_setups_read_a_store_symbol(tmp_path):
    want = load("msft", start="2009-01-01", end="2010-12-31")
    store = Store(tmp_path / "store")
    store.write(want, "MSFT", "1d")
    setup = nh.backtest_setup(dataset="aapl", store=str(tmp_path / "store"), symbol="MSFT",
                              benchmark=None)
    pd.testing.assert_frame_equal(setup.data, store.read("MSFT", "1d"))
    assert setup.label == "MSFT" and "-p symbol MSFT" in setup.command
    assert "-p dataset null" in setup.command
    sw = nh.sweep_setup(grid={"fast": [5, 10]}, store=str(tmp_path / "store"), symbol="MSFT")
    pd.testing.assert_frame_equal(sw.data, store.read("MSFT", "1d"))
    with pytest.raises(InvalidParameterError, match="`symbol` of sweep_report"):
        nh.sweep_setup(grid={"fast": [5]}, store=str(tmp_path / "store"))
    with pytest.raises(InvalidParameterError, match="`csv` of backtest_report"):
        nh.backtest_setup(store=str(tmp_path / "store"), symbol="MSFT", csv="x.csv")


def test_key_figures_name_buy_and_hold_distinctly(result):
    figures = nh.key_figures(result)
    assert "benchmark_return" not in figures
    assert figures["buy_hold_return"] == pytest.approx(
        result.benchmark.iloc[-1] / 100_000.0 - 1.0, rel=1e-12)


def test_setups_read_a_csv_file(tmp_path):
    want = load("ibm", start="2009-01-01", end="2010-12-31")
    path = tmp_path / "ibm.csv"
    want.rename_axis("timestamp").to_csv(path)
    setup = nh.backtest_setup(csv=str(path), benchmark=None)
    np.testing.assert_allclose(setup.data[["open", "high", "low", "close"]].to_numpy(),
                               want[["open", "high", "low", "close"]].to_numpy(), rtol=1e-12)
    assert setup.data.index.equals(want.index)
    assert setup.label == "ibm.csv" and f"-p csv {path}" in setup.command
    sw = nh.sweep_setup(grid={"fast": [5, 10]}, csv=str(path), start="2010-01-01")
    assert sw.data.index[0] >= pd.Timestamp("2010-01-01", tz="UTC")

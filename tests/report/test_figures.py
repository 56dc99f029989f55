"""Figures: their data equal independent pandas / empyrical computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from quantlab.errors import DataError, InvalidParameterError
from quantlab.report import figures as F
from tests.report._standin import make_result


@pytest.fixture(scope="module")
def result():
    return make_result()


def _y(trace) -> np.ndarray:
    return np.asarray(trace.y, dtype=np.float64)


def test_monthly_heatmap_equals_pandas_resample_compounding(result):
    fig = F.monthly_returns_heatmap(result)
    (heat,) = fig.data
    z = np.asarray(heat.z, dtype=np.float64)
    # oracle 1: pandas resample('ME') compounding
    monthly = (1.0 + result.returns).resample("ME").prod() - 1.0
    assert z.shape == (3, 12)
    for ts, value in monthly.items():
        row = list(heat.y).index(str(ts.year))
        assert z[row, ts.month - 1] == pytest.approx(value, rel=1e-12, abs=1e-15)
    # oracle 2: month-end equity ratios (independent of the returns path)
    eq = result.equity
    month_end = eq.resample("ME").last()
    ratio = month_end / month_end.shift(1) - 1.0
    ratio.iloc[0] = month_end.iloc[0] / (eq.iloc[0] / (1.0 + result.returns.iloc[0])) - 1.0
    np.testing.assert_allclose(z.ravel(), ratio.to_numpy(), rtol=1e-10)
    assert heat.text[0][0].endswith("%")


def test_monthly_heatmap_blank_for_missing_months():
    idx = pd.to_datetime(["2020-01-15", "2020-03-10"], utc=True)
    table = F.monthly_returns_table(pd.Series([0.1, -0.2], index=idx))
    assert table.loc[2020, 1] == pytest.approx(0.1)
    assert table.loc[2020, 3] == pytest.approx(-0.2)
    assert np.isnan(table.loc[2020, 2]) and np.isnan(table.loc[2020, 12])


def test_rolling_sharpe_equals_empyrical(result):
    empyrical = pytest.importorskip("empyrical")
    fig = F.rolling_sharpe_figure(result, window=63)
    ours = _y(fig.data[0])
    oracle = np.asarray(empyrical.roll_sharpe_ratio(result.returns, window=63, period="daily"),
                        dtype=np.float64)
    # empyrical drops the first window-1 bars; ours keeps them as NaN
    assert np.isnan(ours[:62]).all()
    np.testing.assert_allclose(ours[62:], oracle, rtol=1e-9)


def test_rolling_sharpe_needs_periods_per_year_for_a_series(result):
    with pytest.raises(InvalidParameterError, match="periods_per_year"):
        F.rolling_sharpe_figure(result.returns, window=20)
    fig = F.rolling_sharpe_figure(result.returns, window=20, periods_per_year=365)
    roll = result.returns.rolling(20)
    np.testing.assert_allclose(_y(fig.data[0]), roll.mean() / roll.std() * np.sqrt(365))
    with pytest.raises(InvalidParameterError, match="`window` of rolling_sharpe_figure"):
        F.rolling_sharpe_figure(result, window=1)


def test_equity_and_drawdown_equal_pandas(result):
    fig = F.equity_figure(result)
    np.testing.assert_array_equal(_y(fig.data[0]), result.equity.to_numpy())
    np.testing.assert_array_equal(_y(fig.data[1]), result.benchmark.to_numpy())
    dd = F.drawdown_figure(result)
    expected = 100.0 * (result.equity / result.equity.cummax() - 1.0)
    np.testing.assert_allclose(_y(dd.data[0]), expected.to_numpy())
    assert f"{expected.min():.2f}%" in dd.layout.title.text


def test_backtest_figure_structure(result):
    fig = F.backtest_figure(result)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["aapl close", "long entry", "long exit", "strategy", "buy and hold",
                     "drawdown %", "exposure aapl"]
    entries = fig.data[1]
    assert len(entries.x) == len(result.trades)
    np.testing.assert_array_equal(np.asarray(entries.y, float), result.trades["entry_price"])
    # four rows sharing one x axis
    axes = [fig.layout.xaxis, fig.layout.xaxis2, fig.layout.xaxis3, fig.layout.xaxis4]
    assert [a.matches for a in axes] == ["x4", "x4", "x4", None]
    np.testing.assert_array_equal(_y(fig.data[6]), result.exposure["aapl"].to_numpy())


def test_backtest_figure_multi_asset_and_short_markers(result):
    data = pd.concat({"a": result.data, "b": result.data * 2}, axis=1)
    data = data.swaplevel(axis=1).sort_index(axis=1)
    trades = result.trades.copy()
    trades.loc[trades.index[::2], "direction"] = "short"
    trades["symbol"] = ["a", "b"] * (len(trades) // 2) + ["a"] * (len(trades) % 2)
    exposure = pd.concat([result.exposure["aapl"].rename("a"), -result.exposure["aapl"].rename("b")],
                         axis=1)
    multi = type(result)(**{**result.__dict__, "data": data, "trades": trades, "exposure": exposure})
    fig = F.backtest_figure(multi)
    names = [t.name for t in fig.data]
    assert names[:2] == ["a close", "b close"]
    assert {"long entry", "short entry", "short exit", "exposure a", "exposure b"} <= set(names)
    short = fig.data[names.index("short entry")]
    assert short.marker.symbol == "triangle-down"
    assert len(short.x) == (trades["direction"] == "short").sum()


def test_trade_distribution_and_mae_mfe(result):
    fig = F.trade_distribution_figure(result)
    pct = 100.0 * result.trades["return"]
    np.testing.assert_allclose(np.asarray(fig.data[0].x, float), pct[pct > 0])
    np.testing.assert_allclose(np.asarray(fig.data[1].x, float), pct[pct <= 0])
    mm = F.mae_mfe_figure(result)
    np.testing.assert_allclose(np.asarray(mm.data[0].x, float), 100 * result.trades["mae"])
    np.testing.assert_allclose(np.asarray(mm.data[1].x, float), 100 * result.trades["mfe"])
    np.testing.assert_allclose(_y(mm.data[1]), pct)
    with pytest.raises(DataError, match="'mae', 'mfe' and 'return'"):
        F.mae_mfe_figure(result.trades.drop(columns="mae"))


def test_exposure_figure(result):
    fig = F.exposure_figure(result)
    np.testing.assert_array_equal(_y(fig.data[0]), result.exposure["aapl"].to_numpy())


def test_heatmap_figure_equals_pivot_table():
    rng = np.random.default_rng(7)
    grid = pd.DataFrame([(f, s, seed) for f in (5, 10, 20) for s in (30, 50) for seed in (1, 2)],
                        columns=["fast", "slow", "seed"])
    grid["sharpe"] = rng.normal(size=len(grid))
    fig = F.heatmap_figure(grid, "fast", "slow", "sharpe")
    oracle = grid.groupby(["slow", "fast"])["sharpe"].mean().unstack()
    np.testing.assert_allclose(np.asarray(fig.data[0].z, float), oracle.to_numpy())
    assert list(fig.data[0].x) == ["5", "10", "20"] and list(fig.data[0].y) == ["30", "50"]
    best = F.heatmap_figure(grid, "fast", "slow", "sharpe", agg="max")
    np.testing.assert_allclose(np.asarray(best.data[0].z, float),
                               grid.groupby(["slow", "fast"])["sharpe"].max().unstack().to_numpy())


def test_heatmap_figure_errors():
    grid = pd.DataFrame({"fast": [1], "slow": [2], "sharpe": [0.5]})
    with pytest.raises(InvalidParameterError, match="Did you mean 'sharpe'"):
        F.heatmap_figure(grid, "fast", "slow", "sharp")
    with pytest.raises(InvalidParameterError, match="`agg` of heatmap_figure"):
        F.heatmap_figure(grid, "fast", "slow", "sharpe", agg="avg")
    with pytest.raises(InvalidParameterError, match="a pandas DataFrame"):
        F.heatmap_figure([1, 2], "fast", "slow", "sharpe")


def test_bad_inputs_raise_house_errors():
    with pytest.raises(InvalidParameterError, match="`result` of equity_figure"):
        F.equity_figure(42)
    with pytest.raises(DataError, match="DatetimeIndex"):
        F.equity_figure(pd.Series([1.0, 2.0]))
    with pytest.raises(DataError, match="numeric"):
        F.drawdown_figure(pd.Series(["a", "b"], index=pd.date_range("2020", periods=2, tz="UTC")))

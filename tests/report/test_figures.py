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
    expected = result.equity / result.equity.cummax() - 1.0  # a fraction, shown in percent
    np.testing.assert_allclose(_y(dd.data[0]), expected.to_numpy())
    assert f"{100 * expected.min():.2f}%" in dd.layout.title.text
    assert dd.layout.yaxis.tickformat == ".0%" and "(%)" in dd.layout.yaxis.title.text


def test_backtest_figure_structure(result):
    fig = F.backtest_figure(result)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["aapl close", "long entry", "long exit", "strategy", "buy and hold",
                     "drawdown", "exposure aapl"]
    entries = fig.data[1]
    assert len(entries.x) == len(result.trades)
    np.testing.assert_array_equal(np.asarray(entries.y, float), result.trades["entry_price"])
    # four rows sharing one x axis
    axes = [fig.layout.xaxis, fig.layout.xaxis2, fig.layout.xaxis3, fig.layout.xaxis4]
    assert [a.matches for a in axes] == ["x4", "x4", "x4", None]
    np.testing.assert_array_equal(_y(fig.data[6]), result.exposure["aapl"].to_numpy())
    dd = result.equity / result.equity.cummax() - 1.0
    np.testing.assert_allclose(_y(fig.data[5]), dd.to_numpy())


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
    ret = result.trades["return"]  # fractions on axes whose tickformat shows percent
    np.testing.assert_allclose(np.asarray(fig.data[0].x, float), ret[ret > 0])
    np.testing.assert_allclose(np.asarray(fig.data[1].x, float), ret[ret <= 0])
    assert fig.layout.xaxis.tickformat == ".0%"
    mm = F.mae_mfe_figure(result)
    np.testing.assert_allclose(np.asarray(mm.data[0].x, float), result.trades["mae"])
    np.testing.assert_allclose(np.asarray(mm.data[1].x, float), result.trades["mfe"])
    np.testing.assert_allclose(_y(mm.data[1]), ret)
    assert {mm.layout.xaxis.tickformat, mm.layout.xaxis2.tickformat,
            mm.layout.yaxis.tickformat} == {".0%"}
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


# ---------------------------------------------------------------------------- units

def test_axis_titles_carry_units(result):
    fig = F.backtest_figure(result)
    titles = [fig.layout[f"yaxis{i}"].title.text for i in ("", "2", "3", "4")]
    assert titles == ["price (USD)", "equity (USD)", "drawdown (%)", "exposure (% of equity)"]
    assert [fig.layout[f"yaxis{i}"].tickformat for i in ("", "2", "3", "4")] == [
        ",.6~r", ",.6~r", ".0%", ".0%"]
    assert F.backtest_figure(result, currency="EUR").layout.yaxis2.title.text == "equity (EUR)"
    assert F.equity_figure(result).layout.yaxis.title.text == "equity (USD)"
    assert F.exposure_figure(result).layout.yaxis.tickformat == ".0%"
    assert "Sharpe" in F.rolling_sharpe_figure(result, window=20).layout.yaxis.title.text
    assert F.trade_distribution_figure(result).layout.xaxis.title.text == "trade return (%)"


def test_currency_of_reads_attrs_config_and_symbol(result):
    assert F.currency_of(result) == "USD"
    assert F.currency_of(result, "CHF") == "CHF"
    crypto = type(result)(**{**result.__dict__,
                             "exposure": result.exposure.set_axis(["BTC/USDT"], axis=1)})
    assert F.currency_of(crypto) == "USDT"
    data = result.data.copy()
    data.attrs["currency"] = "JPY"
    assert F.currency_of(type(result)(**{**result.__dict__, "data": data})) == "JPY"


def test_log_axis_has_readable_ticks(result):
    fig = F.equity_figure(result, log=True)
    axis = fig.layout.yaxis
    assert axis.type == "log" and axis.tickmode == "array"
    low = min(result.equity.min(), result.benchmark.min())
    high = max(result.equity.max(), result.benchmark.max())
    values = list(axis.tickvals)
    assert len(values) >= 4 and min(values) >= low and max(values) <= high
    # each label is its value with thousands separators: no "10k", no exponent
    for value, text in zip(values, axis.ticktext):
        assert float(text.replace(",", "")) == pytest.approx(value)
        assert "k" not in text and "e" not in text


@pytest.mark.parametrize("low, high, want", [
    (90_000, 1_300_000, [1e5, 2e5, 5e5, 1e6]),
    (80_000, 700_000, [8e4, 9e4, 1e5, 2e5, 3e5, 4e5, 5e5, 6e5, 7e5]),  # 1-2-5 too few: 1..9
    (0.5, 3.0, [0.5, 0.6, 0.7, 0.8, 0.9, 1, 2, 3]),
])
def test_log_ticks_by_hand(low, high, want):
    values, text = F.log_ticks(low, high)
    assert values == want
    assert text[-1] == f"{want[-1]:,.0f}" if want[-1] >= 1 else True


# ---------------------------------------------------------------------------- heatmap colours

def _colour_at(fig, value):
    """The RGB plotly draws for ``value``: its position on [zmin, zmax] on the colour scale."""
    from plotly.colors import sample_colorscale, unlabel_rgb

    heat = fig.data[0]
    pos = (value - heat.zmin) / (heat.zmax - heat.zmin)
    return unlabel_rgb(sample_colorscale([list(c) for c in heat.colorscale], [pos])[0])


def test_heatmap_of_a_signed_metric_is_centred_at_zero():
    # all Sharpe ratios positive (0.2 .. 0.7): before the fix the lowest were drawn red
    grid = pd.DataFrame({"fast": [5, 5, 10, 10], "slow": [30, 50, 30, 50],
                         "sharpe": [0.2, 0.4, 0.55, 0.7]})
    fig = F.heatmap_figure(grid, "fast", "slow", "sharpe")
    heat = fig.data[0]
    assert heat.zmid == 0.0 and heat.zmin == -0.7 and heat.zmax == 0.7
    for value in (0.2, 0.7):
        red, green, _ = _colour_at(fig, value)
        assert green > red, value  # green side of RdYlGn
    red, green, _ = _colour_at(fig, -0.5)
    assert red > green
    # mixed signs make any metric signed; a count stays sequential (no zmid)
    grid["n_trades"] = [3, 5, 8, 13]
    counts = F.heatmap_figure(grid, "fast", "slow", "n_trades").data[0]
    assert counts.zmid is None and counts.zmin is None
    grid["custom"] = [-1.0, 0.5, 1.0, 2.0]
    assert F.heatmap_figure(grid, "fast", "slow", "custom").data[0].zmid == 0.0
    assert F.heatmap_figure(grid, "fast", "slow", "sharpe", signed=False).data[0].zmid is None


def test_heatmap_refuses_the_same_parameter_twice():
    grid = pd.DataFrame({"fast": [1, 2], "slow": [2, 3], "sharpe": [0.5, 0.1]})
    with pytest.raises(InvalidParameterError, match=r"`y` of heatmap_figure\(\) must be a "
                                                    r"parameter other than x='fast'"):
        F.heatmap_figure(grid, "fast", "fast", "sharpe")

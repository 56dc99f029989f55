"""Plotly figures of a backtest and of parameter sweeps.

Every function takes a ``BacktestResult`` (anything with the contract's attributes:
``equity``, ``returns``, ``benchmark``, ``exposure``, ``trades``, ``data``,
``periods_per_year``) and returns a :class:`plotly.graph_objects.Figure`. The one-series
figures (:func:`equity_figure`, :func:`drawdown_figure`, :func:`monthly_returns_heatmap`,
:func:`rolling_sharpe_figure`) also accept a plain :class:`pandas.Series`, so a notebook
can draw them from pandas alone.

Figures carry their numbers unrounded (rounding happens in hover text and tick labels
only), so a test can compare a figure's data with an independent pandas computation.

Units: every axis title names its unit. Prices and equity are in the quote currency
(``currency``; see :func:`currency_of`) with thousands separators and no SI suffixes;
returns, drawdowns, excursions and exposures are held as fractions and shown in percent
through the axis ``tickformat`` (``".0%"``); a logarithmic equity axis gets explicit
1-2-5 ticks (:func:`log_ticks`) so that more than one tick is labelled.

This module imports neither :mod:`quantlab.backtest` nor :mod:`quantlab.report` (it only
reads the attributes above), so ``BacktestResult.plot()`` and ``SweepResult.heatmap()``
draw without the report layer; :mod:`quantlab.report.figures` re-exports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from quantlab._validate import check_choice, check_float, check_int, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = [
    "backtest_figure",
    "equity_figure",
    "drawdown_figure",
    "monthly_returns_heatmap",
    "monthly_returns_table",
    "rolling_sharpe",
    "rolling_sharpe_figure",
    "trade_distribution_figure",
    "mae_mfe_figure",
    "exposure_figure",
    "heatmap_figure",
    "currency_of",
    "log_ticks",
    "SIGNED_METRICS",
]

#: Sweep/statistics columns whose sign means something (gain vs loss): their heatmaps use a
#: diverging colour scale centred at 0, so a positive value is never drawn red.
SIGNED_METRICS = frozenset({
    "total_return", "cagr", "annual_return", "sharpe", "sortino", "calmar", "max_drawdown",
    "alpha_annual", "information_ratio", "expectancy", "pnl_expectancy", "skew",
    "buy_hold_return", "avg_trade_return", "best_trade", "worst_trade", "deflated_sharpe",
})
#: tickformat of money axes: thousands separators, up to 6 significant digits, never "100k"
#: or an exponent (d3's "r" is decimal notation rounded to significant digits).
MONEY_TICKS = ",.6~r"
#: tickformat of axes holding fractions shown in percent.
PERCENT_TICKS = ".0%"

_GREEN = "#2ca02c"
_RED = "#d62728"
_BLUE = "#1f77b4"
_GREY = "#7f7f7f"
_LAYOUT = dict(template="plotly_white", hovermode="x unified",
               margin=dict(l=60, r=30, t=60, b=40))


# ---------------------------------------------------------------------------- helpers

def _series(obj: Any, attr: str, caller: str, name: str = "result") -> pd.Series:
    """Return ``obj`` if it is a Series, else ``obj.<attr>`` (a result), else raise."""
    if isinstance(obj, pd.Series):
        series = obj
    elif hasattr(obj, attr):
        series = getattr(obj, attr)
        if isinstance(series, pd.DataFrame) and series.shape[1] == 1:
            series = series.iloc[:, 0]
    else:
        raise InvalidParameterError(message(name, caller, f"a BacktestResult or a pandas Series "
                                            f"(of {attr})", type(obj).__name__))
    if not isinstance(series, pd.Series):
        raise DataError(message(f"{name}.{attr}", caller, "a pandas Series",
                                type(series).__name__))
    if not isinstance(series.index, pd.DatetimeIndex):
        raise DataError(message(name, caller, "indexed by a DatetimeIndex",
                                type(series.index).__name__,
                                "Set the bar timestamps as the index."))
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise DataError(message(name, caller, "numeric", f"a Series of dtype {series.dtype}"))
    return series.astype(np.float64)


def _frame(obj: Any, attr: str, caller: str) -> pd.DataFrame:
    value = getattr(obj, attr, None)
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if not isinstance(value, pd.DataFrame):
        raise InvalidParameterError(message("result", caller, f"a BacktestResult with a DataFrame "
                                            f"`{attr}`", type(obj).__name__))
    return value


def _trades(obj: Any, caller: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    return _frame(obj, "trades", caller)


def _drawdown(equity: pd.Series) -> pd.Series:
    """Return ``equity / running max - 1`` (0 at a new high, negative below it)."""
    return equity / equity.cummax() - 1.0


def _closes(data: Any) -> pd.DataFrame:
    """Close prices as a DataFrame with one column per symbol."""
    if isinstance(data, pd.DataFrame):
        if isinstance(data.columns, pd.MultiIndex):
            return data["close"]
        if "close" in data.columns:
            return data[["close"]]
    raise DataError(message("result.data", "backtest_figure", "OHLCV with a 'close' column",
                            type(data).__name__))


def currency_of(result: Any, currency: str | None = None) -> str:
    """Return the currency label of a result's prices and equity.

    ``currency`` when given; else ``result.data.attrs["currency"]`` or
    ``result.config["currency"]``; else the quote of a ``BASE/QUOTE`` symbol
    (``"BTC/USDT"`` -> ``"USDT"``); else ``"USD"``.

    Examples
    --------
    >>> currency_of(None, "EUR")
    'EUR'
    """
    if currency is not None:
        return str(currency)
    data = getattr(result, "data", None)
    attrs = getattr(data, "attrs", None) or {}
    config = getattr(result, "config", None) or {}
    for source in (attrs, config):
        if isinstance(source, dict) and source.get("currency"):
            return str(source["currency"])
    exposure = getattr(result, "exposure", None)
    symbols = [str(c) for c in getattr(exposure, "columns", [])]
    quotes = {s.split("/")[-1].split(":")[0] for s in symbols if "/" in s}
    if len(quotes) == 1:
        return quotes.pop()
    return "USD"


def _fmt_tick(value: float) -> str:
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:.6f}".rstrip("0").rstrip(".")


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Return tick values and labels for a log axis from ``low`` to ``high`` (both > 0).

    Ticks at 1, 2 and 5 times each power of ten inside the range (1 to 9 times when that
    gives fewer than 4), labelled with thousands separators (``"200,000"``, never ``"200k"``).

    Examples
    --------
    >>> log_ticks(90_000, 1_300_000)[1]
    ['100,000', '200,000', '500,000', '1,000,000']
    """
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 or high < low:
        return [], []
    values: list[float] = []
    for steps in ((1, 2, 5), tuple(range(1, 10))):
        grid = [float(f"{m}e{k}") for k in range(int(np.floor(np.log10(low))),
                                                  int(np.floor(np.log10(high))) + 1)
                for m in steps]
        values = [v for v in grid if low <= v <= high]
        if len(values) >= 4:
            break
    if len(values) < 2:
        values = sorted({float(low), float(high), *values})
    return values, [_fmt_tick(v) for v in values]


def _symbol_of(trades: pd.DataFrame, closes: pd.DataFrame) -> pd.Series:
    if "symbol" in trades.columns and closes.shape[1] > 1:
        return trades["symbol"]
    return pd.Series(closes.columns[0], index=trades.index)


# ---------------------------------------------------------------------------- backtest overview

def backtest_figure(result: Any, *, title: str | None = None, height: int = 900,
                    currency: str | None = None) -> go.Figure:
    """Draw a backtest overview: price and trades, equity, drawdown and exposure.

    Four rows share the time axis: (1) close price with entry and exit markers (triangles
    up for long entries, down for short entries, crosses for exits); (2) the strategy's
    equity against the buy-and-hold ``benchmark``; (3) the drawdown in percent;
    (4) the exposure (position value / equity) per symbol.

    Parameters
    ----------
    result : BacktestResult
        Needs ``data``, ``equity``, ``benchmark``, ``exposure`` and ``trades``.
    title : str, optional
        Figure title; defaults to "Backtest".
    height : int, default 900
        Figure height in pixels.
    currency : str, optional
        Currency of the price and equity axes (default :func:`currency_of`).

    Returns
    -------
    plotly.graph_objects.Figure
        Drawdown and exposure are held as fractions (``y`` of the drawdown trace equals
        ``equity / equity.cummax() - 1``) and shown in percent.

    Raises
    ------
    InvalidParameterError
        ``result`` lacks one of the attributes above.

    Examples
    --------
    >>> fig = backtest_figure(result)  # doctest: +SKIP
    >>> fig.show()  # doctest: +SKIP
    """
    caller = "backtest_figure"
    height = check_int("height", height, caller=caller, minimum=100)
    equity = _series(result, "equity", caller)
    benchmark = getattr(result, "benchmark", None)
    exposure = _frame(result, "exposure", caller)
    trades = _trades(result, caller)
    closes = _closes(getattr(result, "data", None))
    if closes.shape[1] == 1 and exposure.shape[1] == 1:  # single asset: name it by its symbol
        closes = closes.set_axis([exposure.columns[0]], axis=1)

    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        row_heights=[0.4, 0.25, 0.175, 0.175],
                        subplot_titles=("Price and trades", "Equity", "Drawdown", "Exposure"))
    for symbol in closes.columns:
        fig.add_trace(go.Scatter(x=closes.index, y=closes[symbol], mode="lines",
                                 name=f"{symbol} close", line=dict(width=1)), row=1, col=1)
    if len(trades):
        symbols = _symbol_of(trades, closes)
        direction = trades.get("direction", pd.Series("long", index=trades.index)).astype(str)
        for side, up_color in (("long", _GREEN), ("short", _RED)):
            pick = direction == side
            if not pick.any():
                continue
            sel = trades[pick]
            symbol_text = symbols[pick].astype(str)
            fig.add_trace(go.Scatter(
                x=sel["entry_time"], y=sel["entry_price"], mode="markers",
                name=f"{side} entry", text=symbol_text,
                marker=dict(symbol="triangle-up" if side == "long" else "triangle-down",
                            size=9, color=up_color, line=dict(width=1, color="black"))),
                row=1, col=1)
            fig.add_trace(go.Scatter(
                x=sel["exit_time"], y=sel["exit_price"], mode="markers",
                name=f"{side} exit", text=sel.get("exit_reason", symbol_text).astype(str),
                marker=dict(symbol="x", size=8, color=up_color)),
                row=1, col=1)
    fig.add_trace(go.Scatter(x=equity.index, y=equity, name="strategy",
                             line=dict(color=_BLUE)), row=2, col=1)
    if isinstance(benchmark, pd.Series):
        fig.add_trace(go.Scatter(x=benchmark.index, y=benchmark.astype(np.float64),
                                 name="buy and hold", line=dict(color=_GREY, dash="dot")),
                      row=2, col=1)
    drawdown = _drawdown(equity)
    fig.add_trace(go.Scatter(x=drawdown.index, y=drawdown, name="drawdown",
                             fill="tozeroy", line=dict(color=_RED, width=1),
                             hovertemplate="%{y:.2%}"), row=3, col=1)
    for symbol in exposure.columns:
        fig.add_trace(go.Scatter(x=exposure.index, y=exposure[symbol].astype(np.float64),
                                 name=f"exposure {symbol}", line=dict(width=1, shape="hv"),
                                 hovertemplate="%{y:.1%}"),
                      row=4, col=1)
    cur = currency_of(result, currency)
    fig.update_yaxes(title_text=f"price ({cur})", tickformat=MONEY_TICKS, row=1, col=1)
    fig.update_yaxes(title_text=f"equity ({cur})", tickformat=MONEY_TICKS, row=2, col=1)
    fig.update_yaxes(title_text="drawdown (%)", tickformat=PERCENT_TICKS, row=3, col=1)
    fig.update_yaxes(title_text="exposure (% of equity)", tickformat=PERCENT_TICKS, row=4, col=1)
    fig.update_layout(title=title or "Backtest", height=height, **_LAYOUT)
    return fig


# ---------------------------------------------------------------------------- single figures

def equity_figure(result: Any, *, benchmark: pd.Series | None = None, log: bool = False,
                  title: str | None = None, currency: str | None = None) -> go.Figure:
    """Draw the equity curve, with the buy-and-hold benchmark when there is one.

    Parameters
    ----------
    result : BacktestResult or Series
        A result (its ``equity`` and ``benchmark``) or an equity Series.
    benchmark : Series, optional
        Overrides ``result.benchmark``.
    log : bool, default False
        Logarithmic y axis, with 1-2-5 ticks labelled in full (:func:`log_ticks`).
    title : str, optional
        Figure title.
    currency : str, optional
        Currency of the equity axis (default :func:`currency_of`).

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0 is the equity (``y`` equals ``result.equity``), trace 1 the benchmark;
        the y axis title reads ``equity (<currency>)``.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2020-01-01", periods=3, tz="UTC")
    >>> fig = equity_figure(pd.Series([100.0, 101.0, 99.0], index=idx))
    >>> fig.data[0].y.tolist()
    [100.0, 101.0, 99.0]
    """
    equity = _series(result, "equity", "equity_figure")
    label = "benchmark" if benchmark is None or benchmark.name is None else str(benchmark.name)
    if benchmark is None and not isinstance(result, pd.Series):
        benchmark = getattr(result, "benchmark", None)
        label = "buy and hold"  # the result's own benchmark
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=equity.index, y=equity, name="strategy", line=dict(color=_BLUE)))
    if isinstance(benchmark, pd.Series):
        fig.add_trace(go.Scatter(x=benchmark.index, y=benchmark.astype(np.float64),
                                 name=label, line=dict(color=_GREY, dash="dot")))
    cur = currency_of(None if isinstance(result, pd.Series) else result, currency)
    fig.update_layout(title=title or "Equity", yaxis_title=f"equity ({cur})",
                      yaxis_type="log" if log else "linear", yaxis_tickformat=MONEY_TICKS,
                      **_LAYOUT)
    if log:
        values = [equity.to_numpy()]
        if isinstance(benchmark, pd.Series):
            values.append(benchmark.to_numpy(dtype=np.float64))
        finite = np.concatenate(values)
        finite = finite[np.isfinite(finite) & (finite > 0)]
        if finite.size:
            tickvals, ticktext = log_ticks(float(finite.min()), float(finite.max()))
            fig.update_yaxes(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    return fig


def drawdown_figure(result: Any, *, title: str | None = None) -> go.Figure:
    """Draw the drawdown ``equity / running maximum - 1`` in percent.

    Parameters
    ----------
    result : BacktestResult or Series
        A result (its ``equity``) or an equity Series.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0 ``y`` equals ``equity / equity.cummax() - 1`` (a fraction, shown in percent).
    """
    equity = _series(result, "equity", "drawdown_figure")
    drawdown = _drawdown(equity)
    fig = go.Figure(go.Scatter(x=drawdown.index, y=drawdown, name="drawdown", fill="tozeroy",
                               line=dict(color=_RED, width=1), hovertemplate="%{y:.2%}"))
    fig.update_layout(title=title or f"Drawdown (max {100.0 * drawdown.min():.2f}%)",
                      yaxis_title="drawdown (%)", yaxis_tickformat=PERCENT_TICKS, **_LAYOUT)
    return fig


def monthly_returns_table(result: Any) -> pd.DataFrame:
    """Return compounded monthly returns as a year x month table.

    Parameters
    ----------
    result : BacktestResult or Series
        A result (its ``returns``) or a Series of simple returns.

    Returns
    -------
    DataFrame
        Index: calendar years; columns 1..12; values ``prod(1 + r) - 1`` over each
        calendar month (UTC); NaN where a month has no bar.

    Notes
    -----
    Equals ``(1 + r).resample("ME").prod() - 1`` pivoted by year and month. NaN returns
    (e.g. the first bar) count as zero.
    """
    returns = _series(result, "returns", "monthly_returns_heatmap")
    monthly = (1.0 + returns.fillna(0.0)).resample("ME").prod() - 1.0
    counts = returns.resample("ME").count()
    monthly = monthly[counts > 0]
    table = pd.DataFrame({"year": monthly.index.year, "month": monthly.index.month,
                          "value": monthly.to_numpy()})
    table = table.pivot(index="year", columns="month", values="value")
    return table.reindex(columns=range(1, 13))


def monthly_returns_heatmap(result: Any, *, title: str | None = None) -> go.Figure:
    """Draw compounded monthly returns as a year x month heatmap.

    Parameters
    ----------
    result : BacktestResult or Series
        A result (its ``returns``) or a Series of simple returns.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One Heatmap whose ``z`` (fractions, rows = years ascending, columns = Jan..Dec)
        equals :func:`monthly_returns_table`; the cell text shows percent.

    Notes
    -----
    Monthly return = ``prod(1 + r_t) - 1`` over the bars of the month, i.e. pandas
    ``(1 + r).resample("ME").prod() - 1``.
    """
    table = monthly_returns_table(result)
    z = table.to_numpy(dtype=np.float64)
    text = np.where(np.isnan(z), "", np.char.mod("%.1f%%", np.nan_to_num(100.0 * z)))
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    fig = go.Figure(go.Heatmap(
        z=z, x=months, y=[str(y) for y in table.index], text=text, texttemplate="%{text}",
        colorscale="RdYlGn", zmid=0.0, zmin=-bound, zmax=bound,
        hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>", colorbar=dict(tickformat=".0%")))
    fig.update_layout(title=title or "Monthly returns", template="plotly_white",
                      yaxis=dict(autorange="reversed", type="category"),
                      height=max(300, 28 * len(table) + 120))
    return fig


def rolling_sharpe(returns: pd.Series, *, window: int, periods_per_year: float,
                   risk_free_rate: float = 0.0) -> pd.Series:
    """Return the rolling annualized Sharpe ratio over ``window`` bars.

    Notes
    -----
    ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)`` over the trailing
    ``window`` bars (NaN until the window is full), with ``rf`` the per-period rate
    ``risk_free_rate / periods_per_year``; equals ``empyrical.roll_sharpe_ratio``.
    """
    excess = returns - risk_free_rate / periods_per_year
    roll = excess.rolling(window, min_periods=window)
    return roll.mean() / roll.std(ddof=1) * np.sqrt(periods_per_year)


def rolling_sharpe_figure(result: Any, *, window: int = 126, periods_per_year: float | None = None,
                          risk_free_rate: float = 0.0, title: str | None = None) -> go.Figure:
    """Draw the rolling annualized Sharpe ratio.

    Parameters
    ----------
    result : BacktestResult or Series
        A result (its ``returns`` and ``periods_per_year``) or a Series of simple returns.
    window : int, default 126
        Window length in bars.
    periods_per_year : float, optional
        Bars per year for annualization; taken from ``result.periods_per_year`` when
        omitted. Required for a plain Series (no silent 252).
    risk_free_rate : float, default 0.0
        Annual risk-free rate.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0 ``y`` equals :func:`rolling_sharpe` (``empyrical.roll_sharpe_ratio``).

    Raises
    ------
    InvalidParameterError
        Bad ``window`` or a missing ``periods_per_year`` for a Series.
    """
    caller = "rolling_sharpe_figure"
    returns = _series(result, "returns", caller)
    window = check_int("window", window, caller=caller, minimum=2)
    if periods_per_year is None:
        periods_per_year = getattr(result, "periods_per_year", None)
        if periods_per_year is None or isinstance(result, pd.Series):
            raise InvalidParameterError(message(
                "periods_per_year", caller, "given for a returns Series", None,
                "Pass periods_per_year=252 for daily equities, 365 for daily crypto."))
    periods_per_year = check_float("periods_per_year", periods_per_year, caller=caller,
                                   minimum=0.0, exclusive_minimum=True)
    risk_free_rate = check_float("risk_free_rate", risk_free_rate, caller=caller)
    sharpe = rolling_sharpe(returns, window=window, periods_per_year=periods_per_year,
                            risk_free_rate=risk_free_rate)
    fig = go.Figure(go.Scatter(x=sharpe.index, y=sharpe, name=f"Sharpe ({window} bars)",
                               line=dict(color=_BLUE)))
    fig.add_hline(y=0.0, line=dict(color=_GREY, width=1))
    fig.update_layout(title=title or f"Rolling Sharpe ratio ({window} bars, annualized "
                      f"with {periods_per_year:g} periods/year)",
                      yaxis_title="Sharpe ratio (annualized)", yaxis_tickformat=",.2f",
                      **_LAYOUT)
    return fig


def trade_distribution_figure(result: Any, *, bins: int = 40, title: str | None = None) -> go.Figure:
    """Draw the distribution of trade returns, winners and losers in two colours.

    Parameters
    ----------
    result : BacktestResult or DataFrame
        A result (its ``trades``) or a trades frame with a ``return`` column.
    bins : int, default 40
        Number of histogram bins.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Trace 0 holds the winning trades' returns, trace 1 the others (fractions, the
        x axis shows percent).
    """
    caller = "trade_distribution_figure"
    bins = check_int("bins", bins, caller=caller, minimum=1)
    trades = _trades(result, caller)
    if "return" not in trades.columns:
        raise DataError(message("trades", caller, "a frame with a 'return' column",
                                list(trades.columns)))
    pct = trades["return"].astype(np.float64)
    fig = go.Figure()
    # one bin grid for both (bingroup), so winners and losers are comparable
    fig.add_trace(go.Histogram(x=pct[pct > 0], name="winners", marker_color=_GREEN,
                               nbinsx=bins, bingroup="trades", opacity=0.75))
    fig.add_trace(go.Histogram(x=pct[~(pct > 0)], name="losers", marker_color=_RED,
                               nbinsx=bins, bingroup="trades", opacity=0.75))
    mean = 100.0 * float(pct.mean()) if len(pct) else float("nan")
    fig.update_layout(title=title or f"Trade returns ({len(pct)} trades, mean {mean:.2f}%)",
                      barmode="overlay", xaxis_title="trade return (%)",
                      xaxis_tickformat=PERCENT_TICKS, yaxis_title="trades (count)",
                      template="plotly_white")
    return fig


def mae_mfe_figure(result: Any, *, title: str | None = None) -> go.Figure:
    """Draw each trade's return against its maximum adverse and favourable excursion.

    Parameters
    ----------
    result : BacktestResult or DataFrame
        A result (its ``trades``) or a trades frame with ``mae``, ``mfe`` and ``return``.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Left panel: MAE (x) vs return (y); right panel: MFE (x) vs return (y); winners
        green, losers red. Held as fractions (excursions of the entry price, trade return),
        both axes shown in percent.
    """
    caller = "mae_mfe_figure"
    trades = _trades(result, caller)
    missing = [c for c in ("mae", "mfe", "return") if c not in trades.columns]
    if missing:
        raise DataError(message("trades", caller, "a frame with 'mae', 'mfe' and 'return'",
                                f"missing {missing}"))
    ret = trades["return"].astype(np.float64)
    colors = np.where(ret > 0, _GREEN, _RED).tolist()
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("Maximum adverse excursion", "Maximum favourable excursion"))
    for col, field in ((1, "mae"), (2, "mfe")):
        fig.add_trace(go.Scatter(x=trades[field].astype(np.float64), y=ret, mode="markers",
                                 name=field.upper(), marker=dict(color=colors, size=7, opacity=0.8),
                                 hovertemplate=f"{field.upper()} %{{x:.2%}}<br>return %{{y:.2%}}"
                                               "<extra></extra>",
                                 showlegend=False), row=1, col=col)
        fig.update_xaxes(title_text=f"{field.upper()} (% of entry price)",
                         tickformat=PERCENT_TICKS, row=1, col=col)
    fig.update_yaxes(title_text="trade return (%)", tickformat=PERCENT_TICKS, row=1, col=1)
    fig.update_layout(title=title or "MAE / MFE", template="plotly_white")
    return fig


def exposure_figure(result: Any, *, title: str | None = None) -> go.Figure:
    """Draw the exposure (position value / equity) per symbol over time.

    Parameters
    ----------
    result : BacktestResult
        Needs ``exposure`` (DataFrame, one column per symbol).
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One step-line trace per symbol whose ``y`` equals ``result.exposure[symbol]`` (a
        fraction of equity, shown in percent).
    """
    exposure = _frame(result, "exposure", "exposure_figure")
    fig = go.Figure()
    for symbol in exposure.columns:
        fig.add_trace(go.Scatter(x=exposure.index, y=exposure[symbol].astype(np.float64),
                                 name=str(symbol), line=dict(shape="hv", width=1),
                                 hovertemplate="%{y:.1%}"))
    fig.update_layout(title=title or "Exposure", yaxis_title="exposure (% of equity)",
                      yaxis_tickformat=PERCENT_TICKS, **_LAYOUT)
    return fig


def heatmap_figure(frame: pd.DataFrame, x: str, y: str, value: str, *, agg: str = "mean",
                   title: str | None = None, colorscale: str | None = None,
                   signed: bool | None = None) -> go.Figure:
    """Draw a parameter sweep as a heatmap of ``value`` over two parameters.

    Parameters
    ----------
    frame : DataFrame
        One row per parameter combination (e.g. a sweep's results).
    x, y : str
        Columns on the horizontal and vertical axes.
    value : str
        Column shown as colour.
    agg : {"mean", "median", "max", "min"}, default "mean"
        How rows sharing ``(x, y)`` (other parameters varying) are combined.
    title : str, optional
        Figure title.
    colorscale : str, optional
        Plotly colour scale; default ``"RdYlGn"`` (diverging) when ``signed``, else
        ``"Viridis"``.
    signed : bool, optional
        Whether the sign of ``value`` means gain vs loss. Default: ``value`` is one of
        :data:`SIGNED_METRICS`, or the values take both signs. A signed heatmap is centred
        at 0 (``zmid=0``, ``zmin=-zmax``): positive cells are green, negative red, and the
        colour's depth is comparable on both sides.

    Returns
    -------
    plotly.graph_objects.Figure
        A Heatmap whose ``z`` equals
        ``frame.pivot_table(index=y, columns=x, values=value, aggfunc=agg)``.

    Raises
    ------
    InvalidParameterError
        A column is missing (with a did-you-mean), ``x`` equals ``y``, or ``agg`` is
        unknown.
    """
    caller = "heatmap_figure"
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(message("frame", caller, "a pandas DataFrame",
                                            type(frame).__name__))
    columns = [str(c) for c in frame.columns]
    for name, col in (("x", x), ("y", y), ("value", value)):
        check_choice(name, col, columns, caller=caller)
    if x == y:
        raise InvalidParameterError(message(
            "y", caller, f"a parameter other than x={x!r}", y,
            "A heatmap needs two different parameters; to see one, sort the table by it."))
    agg = check_choice("agg", agg, ["mean", "median", "max", "min"], caller=caller)
    table = frame.pivot_table(index=y, columns=x, values=value, aggfunc=agg)
    z = table.to_numpy(dtype=np.float64)
    finite = z[np.isfinite(z)]
    if signed is None:
        signed = value in SIGNED_METRICS or bool(finite.size and finite.min() < 0 < finite.max())
    scale: dict[str, Any] = {"colorscale": colorscale or ("RdYlGn" if signed else "Viridis")}
    if signed:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        bound = bound if bound > 0 else 1.0
        scale.update(zmid=0.0, zmin=-bound, zmax=bound)
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(c) for c in table.columns],
        y=[str(i) for i in table.index], colorbar=dict(title=value), **scale,
        hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{value}=%{{z:,.4~r}}<extra></extra>"))
    fig.update_layout(title=title or f"{value} by {x} and {y} ({agg})", template="plotly_white",
                      xaxis=dict(title=x, type="category"), yaxis=dict(title=y, type="category"))
    return fig

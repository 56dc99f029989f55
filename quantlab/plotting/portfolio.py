"""Plotly figures of portfolios: the efficient frontier, weights over time, risk contributions.

Every function takes plain pandas objects (the frame of
:func:`quantlab.portfolio.efficient_frontier`, a weights DataFrame, a Series of risk
contributions), so this module imports neither :mod:`quantlab.portfolio` nor the backtest,
strategy or report layers. Figures carry their numbers unrounded; returns, volatilities,
weights and contributions are fractions shown in percent through the axis ``tickformat``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from quantlab._validate import message
from quantlab.errors import DataError

__all__ = ["frontier_figure", "weights_area_figure", "risk_contributions_figure"]


def frontier_figure(frontier: pd.DataFrame, *,
                    portfolios: Mapping[str, tuple[float, float]] | None = None,
                    assets: pd.DataFrame | None = None,
                    title: str = "Efficient frontier") -> go.Figure:
    """Draw the efficient frontier (volatility on x, expected return on y).

    Parameters
    ----------
    frontier : DataFrame
        Columns ``volatility`` and ``expected_return`` (annualized fractions), one row per
        point, e.g. :func:`quantlab.portfolio.efficient_frontier`.
    portfolios : {name: (volatility, expected_return)}, optional
        Marked portfolios (e.g. min variance, max Sharpe).
    assets : DataFrame, optional
        Columns ``volatility`` and ``expected_return`` indexed by asset: the single assets.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    _need(frontier, ("volatility", "expected_return"), "frontier", "frontier_figure")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=frontier["volatility"].to_numpy(),
                             y=frontier["expected_return"].to_numpy(), mode="lines+markers",
                             name="frontier",
                             hovertemplate="vol %{x:.2%}<br>return %{y:.2%}<extra></extra>"))
    if assets is not None:
        _need(assets, ("volatility", "expected_return"), "assets", "frontier_figure")
        fig.add_trace(go.Scatter(x=assets["volatility"].to_numpy(),
                                 y=assets["expected_return"].to_numpy(), mode="markers+text",
                                 text=[str(i) for i in assets.index], textposition="top center",
                                 name="assets", marker={"symbol": "diamond", "size": 9}))
    for name, (vol, ret) in (portfolios or {}).items():
        fig.add_trace(go.Scatter(x=[vol], y=[ret], mode="markers", name=str(name),
                                 marker={"symbol": "star", "size": 14}))
    fig.update_layout(title=title, template="plotly_white",
                      xaxis={"title": "Volatility (annualized)", "tickformat": ".0%"},
                      yaxis={"title": "Expected return (annualized)", "tickformat": ".0%"})
    return fig


def weights_area_figure(weights: pd.DataFrame, *, title: str = "Weights over time") -> go.Figure:
    """Draw portfolio weights over time as a stacked area chart (one band per asset).

    Parameters
    ----------
    weights : DataFrame
        Index: time; one column per asset; values are fractions of equity (e.g.
        ``RebalanceResult.weights`` or ``BacktestResult.exposure``). NaN rows (held
        rebalances) are forward-filled for drawing.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
        One stacked ``Scatter`` per asset whose ``y`` is that asset's weight.
    """
    if not isinstance(weights, pd.DataFrame) or weights.empty:
        raise DataError(message("weights", "weights_area_figure",
                                "a non-empty DataFrame (time x assets)", type(weights).__name__))
    w = weights.ffill().fillna(0.0)
    fig = go.Figure()
    for col in w.columns:
        fig.add_trace(go.Scatter(x=w.index, y=w[col].to_numpy(), name=str(col), mode="lines",
                                 stackgroup="weights", line={"width": 0.5},
                                 hovertemplate="%{x}<br>%{y:.1%}<extra>" + str(col) + "</extra>"))
    fig.update_layout(title=title, template="plotly_white",
                      yaxis={"title": "Weight (fraction of equity)", "tickformat": ".0%"},
                      xaxis={"title": "Time"})
    return fig


def risk_contributions_figure(contributions: pd.Series, *, relative: bool = True,
                              title: str = "Risk contributions") -> go.Figure:
    """Draw each asset's risk contribution as a bar.

    Parameters
    ----------
    contributions : Series
        ``w_i (Sigma w)_i / sigma_p`` per asset (``PortfolioResult.risk_contributions``).
    relative : bool, default True
        Show shares of the portfolio volatility (they sum to 1) instead of volatility units.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if not isinstance(contributions, pd.Series) or contributions.empty:
        raise DataError(message("contributions", "risk_contributions_figure",
                                "a non-empty Series (one value per asset)",
                                type(contributions).__name__))
    values = contributions.to_numpy(np.float64)
    if relative:
        total = values.sum()
        values = values / total if total != 0 else values
    fig = go.Figure(go.Bar(x=[str(i) for i in contributions.index], y=values,
                           name="risk contribution",
                           hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    fig.update_layout(title=title, template="plotly_white", xaxis={"title": "Asset"},
                      yaxis={"title": "Share of portfolio volatility" if relative
                             else "Contribution to volatility (annualized)",
                             "tickformat": ".0%"})
    return fig


def _need(frame: object, columns: tuple[str, ...], name: str, caller: str) -> None:
    if not isinstance(frame, pd.DataFrame) or any(c not in frame.columns for c in columns):
        raise DataError(message(name, caller, f"a DataFrame with columns {list(columns)}",
                                type(frame).__name__ if not isinstance(frame, pd.DataFrame)
                                else list(frame.columns)))

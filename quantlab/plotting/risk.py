"""Plotly figure of a VaR backtest: returns against -VaR (and -ES), exceptions marked.

The figure reads a result through its attributes (``returns``, ``var_forecast``,
``exceptions``, optional ``es_forecast``, ``confidence``) — what
:class:`quantlab.risk.backtests.VarBacktestResult` holds — and imports neither
:mod:`quantlab.backtest`, :mod:`quantlab.strategy` nor :mod:`quantlab.report`.
Values are plotted in percent, unrounded (rounding happens in hover text only), so a test can
compare the figure's data with ``100 * returns``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from quantlab._validate import check_int, message
from quantlab.errors import InvalidParameterError

__all__ = ["var_backtest_figure"]

_RED = "#d62728"
_BLUE = "#1f77b4"
_ORANGE = "#ff7f0e"
_GREY = "#7f7f7f"


def _series(result: Any, attr: str) -> pd.Series:
    value = getattr(result, attr, None)
    if not isinstance(value, pd.Series):
        raise InvalidParameterError(message(
            "result", "var_backtest_figure",
            f"a VarBacktestResult (with a Series `{attr}`)", type(result).__name__,
            "Use quantlab.risk.backtests.backtest_var(returns, var_forecast)."))
    return value


def var_backtest_figure(result: Any, *, title: str | None = None, height: int = 450) -> go.Figure:
    """Draw returns against the negative VaR forecast, with the exceptions marked.

    Parameters
    ----------
    result : VarBacktestResult
        From :func:`quantlab.risk.backtests.backtest_var` (or anything with its attributes).
    title : str, optional
        Figure title; default names the confidence and the exception count.
    height : int, default 450
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces "returns" (bars, %), "-VaR" (line, %), "-ES" (dotted line, % — when ES
        forecasts are present) and "exceptions" (red markers at the exception returns, %);
        x is time (the returns' index), the y axis is in percent.

    Raises
    ------
    InvalidParameterError
        ``result`` lacks the attributes, or ``height`` < 100.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from quantlab.risk.backtests import backtest_var
    >>> r = pd.Series(np.random.default_rng(0).normal(0, 0.01, 300),
    ...               index=pd.date_range("2024-01-01", periods=300, freq="D"))
    >>> fig = var_backtest_figure(backtest_var(r, pd.Series(0.02, index=r.index)))
    >>> [t.name for t in fig.data]
    ['returns', '-VaR', 'exceptions']
    """
    height = check_int("height", height, caller="var_backtest_figure", minimum=100)
    returns = _series(result, "returns")
    var_f = _series(result, "var_forecast")
    hits = _series(result, "exceptions").to_numpy(dtype=bool)
    es_f = getattr(result, "es_forecast", None)
    confidence = float(getattr(result, "confidence", np.nan))
    x = returns.index
    pct = 100.0 * returns.to_numpy(dtype=np.float64)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=pct, name="returns", marker_color=_GREY, opacity=0.6,
                         hovertemplate="%{x}<br>return %{y:.2f}%<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=-100.0 * var_f.to_numpy(dtype=np.float64), name="-VaR",
                             mode="lines", line=dict(color=_BLUE, width=1.5),
                             hovertemplate="-VaR %{y:.2f}%<extra></extra>"))
    if isinstance(es_f, pd.Series):
        fig.add_trace(go.Scatter(x=x, y=-100.0 * es_f.to_numpy(dtype=np.float64), name="-ES",
                                 mode="lines", line=dict(color=_ORANGE, width=1.2, dash="dot"),
                                 hovertemplate="-ES %{y:.2f}%<extra></extra>"))
    fig.add_trace(go.Scatter(x=x[hits], y=pct[hits], name="exceptions", mode="markers",
                             marker=dict(color=_RED, size=8, symbol="x"),
                             hovertemplate="%{x}<br>exception %{y:.2f}%<extra></extra>"))
    if title is None:
        conf = f"{confidence:.1%} " if np.isfinite(confidence) else ""
        title = f"{conf}VaR backtest: {int(hits.sum())} exceptions in {hits.size} bars"
    fig.update_layout(title=title, height=height, template="plotly_white", hovermode="x unified",
                      margin=dict(l=60, r=30, t=60, b=40), bargap=0.0,
                      legend=dict(orientation="h", y=1.02, x=0.0, yanchor="bottom"))
    fig.update_yaxes(title_text="return (%)", ticksuffix="%")
    fig.update_xaxes(title_text="time")
    return fig

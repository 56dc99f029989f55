"""Plotly figures of regimes: price with shaded regime spans, and the transition matrix.

Imports neither :mod:`quantlab.backtest`, :mod:`quantlab.strategy` nor :mod:`quantlab.report`.
The statistics behind them live in :mod:`quantlab.regime.stats`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from quantlab._validate import message
from quantlab.errors import DataError
from quantlab.plotting.figures import MONEY_TICKS
from quantlab.regime.stats import spells

__all__ = ["regime_figure", "transition_heatmap", "REGIME_COLORS"]

#: Span colours by state: calm (0) green through to wild (last) red.
REGIME_COLORS: tuple[str, ...] = ("#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b",
                                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#1f77b4")
_LAYOUT = dict(template="plotly_white", hovermode="x unified",
               margin=dict(l=60, r=30, t=60, b=40))


def _labels(states_or_probs: Any) -> tuple[pd.Series, pd.DataFrame | None, int]:
    if isinstance(states_or_probs, pd.DataFrame):
        probs = states_or_probs
        values = probs.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = ~np.isnan(values).any(axis=1)
        labels = np.full(len(probs), np.nan)
        labels[ok] = np.argmax(values[ok], axis=1)
        return pd.Series(labels, index=probs.index), probs, probs.shape[1]
    if isinstance(states_or_probs, pd.Series) and pd.api.types.is_numeric_dtype(states_or_probs.dtype):
        labels = states_or_probs.astype("float64")
        top = np.nanmax(labels.to_numpy()) if labels.notna().any() else 0.0
        return labels, None, int(top) + 1
    raise DataError(message("states_or_probs", "regime_figure",
                            "a Series of state labels or a DataFrame of probabilities",
                            type(states_or_probs).__name__))


def regime_figure(close: pd.Series, states_or_probs: pd.Series | pd.DataFrame, *,
                  currency: str | None = None, title: str | None = None,
                  height: int | None = None) -> go.Figure:
    """Return the price with one shaded span per regime spell.

    Parameters
    ----------
    close : Series
        Prices, on the index of ``states_or_probs``.
    states_or_probs : Series or DataFrame
        Regime labels (NaN = unknown, left unshaded) or state probabilities such as
        :meth:`~quantlab.regime.hmm.HMMRegime.filter` (spans follow their argmax, and a
        second panel stacks the probabilities).
    currency : str, optional
        Price currency for the axis title; default ``close.attrs["currency"]`` or "USD".
    title : str, optional
        Figure title; default "Regimes".
    height : int, optional
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: the price (then one probability area per state). Shapes: one rectangle per
        spell, spanning from its first bar to the first bar of the next spell; the first
        spell of each state carries its legend entry.
    """
    if not isinstance(close, pd.Series):
        raise DataError(message("close", "regime_figure", "a pandas Series", type(close).__name__))
    labels, probs, n_states = _labels(states_or_probs)
    if len(labels) != len(close) or not labels.index.equals(close.index):
        raise DataError(message("states_or_probs", "regime_figure", "on the index of `close`",
                                f"{len(labels)} rows for {len(close)} prices",
                                "Align them with .reindex(close.index)."))
    cur = currency or close.attrs.get("currency") or "USD"
    rows = 2 if probs is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.7, 0.3] if rows == 2 else None)
    fig.add_trace(go.Scatter(x=close.index, y=close.to_numpy(), mode="lines", name="close",
                             line=dict(color="#1f1f1f", width=1.2)), row=1, col=1)
    runs = spells(labels)
    index = close.index
    shapes = []
    seen: set[int] = set()
    for state, first, last in zip(runs["state"], runs["first"], runs["last"], strict=True):
        x1 = index[last + 1] if last + 1 < len(index) else index[last]
        color = REGIME_COLORS[int(state) % len(REGIME_COLORS)]
        shapes.append(dict(type="rect", xref="x", yref="y domain", x0=index[first], x1=x1,
                           y0=0, y1=1, fillcolor=color, opacity=0.18, line_width=0,
                           layer="below", name=f"state {int(state)}",
                           legendgroup=f"state {int(state)}", showlegend=int(state) not in seen))
        seen.add(int(state))
    fig.update_layout(shapes=shapes)
    if probs is not None:
        for k, column in enumerate(probs.columns):
            fig.add_trace(go.Scatter(x=probs.index, y=probs[column].to_numpy(), mode="lines",
                                     stackgroup="probability", name=f"P({column})",
                                     line=dict(width=0.5, color=REGIME_COLORS[k % len(REGIME_COLORS)])),
                          row=2, col=1)
        fig.update_yaxes(title_text="probability", range=[0, 1], tickformat=".0%", row=2, col=1)
    fig.update_yaxes(title_text=f"price ({cur})", tickformat=MONEY_TICKS, row=1, col=1)
    fig.update_xaxes(title_text="time", row=rows, col=1)
    fig.update_layout(title=title or f"Regimes ({n_states} states)", **_LAYOUT)
    if height is not None:
        fig.update_layout(height=int(height))
    return fig


def transition_heatmap(transmat: Any, *, title: str | None = None, digits: int = 3) -> go.Figure:
    """Return the transition matrix as an annotated heatmap.

    Parameters
    ----------
    transmat : (K, K) array-like or DataFrame
        ``transmat[i, j] = P(s_t = j | s_{t-1} = i)``, e.g. ``HMMRegime.transmat_``.
    title : str, optional
        Figure title; default "Transition probabilities".
    digits : int, default 3
        Decimals of the cell annotations.

    Returns
    -------
    plotly.graph_objects.Figure
        One heatmap trace, rows "from state" (top = state 0), columns "to state", each cell
        annotated with its probability (``trace.text``), colour scale fixed to [0, 1].
    """
    values = np.asarray(transmat, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or not np.isfinite(values).all():
        raise DataError(message("transmat", "transition_heatmap", "a finite square matrix",
                                f"shape {values.shape}"))
    k = values.shape[0]
    names = [f"state {i}" for i in range(k)]
    text = [[f"{v:.{digits}f}" for v in row] for row in values]
    fig = go.Figure(go.Heatmap(z=values, x=names, y=names, text=text, texttemplate="%{text}",
                               colorscale="Blues", zmin=0.0, zmax=1.0,
                               colorbar=dict(title="probability"),
                               hovertemplate="from %{y} to %{x}: %{z:.4f}<extra></extra>"))
    fig.update_xaxes(title_text="to state", side="bottom")
    fig.update_yaxes(title_text="from state", autorange="reversed")
    fig.update_layout(title=title or "Transition probabilities", template="plotly_white",
                      margin=dict(l=60, r=30, t=60, b=40))
    return fig

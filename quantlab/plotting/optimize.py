"""Plotly figures of the optimizer: splits, the walk-forward fold timeline, Monte Carlo fans.

They take plain numpy/pandas objects (index arrays, a fold table, equity Series, a quantile
frame) and import neither :mod:`quantlab.optimize`, :mod:`quantlab.backtest` nor
:mod:`quantlab.strategy`; the result objects call them with their attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from quantlab._validate import message
from quantlab.errors import InvalidParameterError

__all__ = ["splits_figure", "walkforward_figure", "fan_figure"]

_TRAIN = "#1f77b4"
_TEST = "#ff7f0e"
_PURGED = "#d9d9d9"
_GREY = "#7f7f7f"


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive integers in sorted ``rows``."""
    if rows.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(rows) != 1) + 1
    return [(int(r[0]), int(r[-1])) for r in np.split(rows, cuts)]


def splits_figure(splits: Sequence[tuple[np.ndarray, np.ndarray]], *,
                  index: pd.Index | None = None, title: str | None = None,
                  height: int | None = None) -> go.Figure:
    """Gantt-style figure of train/test splits: one row per split, train blue, test orange.

    Parameters
    ----------
    splits : sequence of (train_idx, test_idx)
        Row positions, as a splitter's ``split(X)`` yields them.
    index : Index, optional
        Labels of the rows (time): the x axis. Default: row numbers.
    title : str, optional
    height : int, optional

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per contiguous run (``customdata`` = [first row, last row]).
    """
    if not splits:
        raise InvalidParameterError(message("splits", "splits_figure", "at least one "
                                            "(train, test) pair", "none",
                                            "The data may be shorter than one split."))
    fig = go.Figure()
    shown = {"train": False, "test": False}
    for k, (train, test) in enumerate(splits):
        for name, rows, color in (("train", np.asarray(train), _TRAIN),
                                  ("test", np.asarray(test), _TEST)):
            for lo, hi in _runs(np.sort(rows)):
                x0 = index[lo] if index is not None else lo
                x1 = index[hi] if index is not None else hi + 1
                base = x0
                width: Any = (x1 - x0) if index is None else (
                    (pd.Timestamp(x1) - pd.Timestamp(x0)) / pd.Timedelta(milliseconds=1)
                    if isinstance(index, pd.DatetimeIndex) else x1 - x0)
                fig.add_trace(go.Bar(
                    x=[width], y=[f"split {k}"], base=[base], orientation="h",
                    marker_color=color, name=name, legendgroup=name,
                    showlegend=not shown[name], customdata=[[lo, hi]],
                    hovertemplate=f"{name}: rows %{{customdata[0]}}-%{{customdata[1]}}"
                                  "<extra></extra>"))
                shown[name] = True
    fig.update_layout(barmode="overlay", title=title, height=height or max(250, 40 + 28 * len(splits)),
                      yaxis={"autorange": "reversed"}, template="plotly_white")
    if isinstance(index, pd.DatetimeIndex):
        fig.update_xaxes(type="date")
    return fig


def walkforward_figure(folds: pd.DataFrame, oos_equity: pd.Series, *,
                       is_equity: Mapping[int, pd.Series] | None = None,
                       benchmark: Mapping[str, pd.Series] | None = None,
                       title: str | None = None, height: int = 650) -> go.Figure:
    """Walk-forward timeline (train and test window of each fold) above the equity curves.

    Parameters
    ----------
    folds : DataFrame
        One row per fold with ``train_start, train_end, test_start, test_end`` (times) and,
        optionally, ``params`` (text shown on hover).
    oos_equity : Series
        The stitched out-of-sample equity.
    is_equity : mapping fold -> Series, optional
        In-sample equity of each fold's chosen parameters over its train window; each curve
        is rescaled to start at the stitched equity's first value.
    benchmark : mapping name -> Series, optional
        Other curves over the out-of-sample span (e.g. the in-sample optimum).
    title : str, optional
    height : int, default 650

    Returns
    -------
    plotly.graph_objects.Figure
    """
    need = ("train_start", "train_end", "test_start", "test_end")
    missing = [c for c in need if c not in folds.columns]
    if missing:
        raise InvalidParameterError(message("folds", "walkforward_figure",
                                            "a DataFrame with columns " + ", ".join(need),
                                            f"missing {missing}"))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.3, 0.7],
                        vertical_spacing=0.06)
    labels = [f"fold {k}" for k in range(len(folds))]
    texts = folds["params"].astype(str).tolist() if "params" in folds else [""] * len(folds)
    for name, lo, hi, color in (("train", "train_start", "train_end", _TRAIN),
                                ("test", "test_start", "test_end", _TEST)):
        start = pd.to_datetime(folds[lo])
        width = (pd.to_datetime(folds[hi]) - start) / pd.Timedelta(milliseconds=1)
        fig.add_trace(go.Bar(x=width.tolist(), y=labels, base=start.tolist(), orientation="h",
                             marker_color=color, name=name, hovertext=texts,
                             hovertemplate="%{y}: %{hovertext}<extra>" + name + "</extra>"),
                      row=1, col=1)
    first = float(oos_equity.iloc[0]) if len(oos_equity) else 1.0
    for k, eq in (is_equity or {}).items():
        if len(eq):
            fig.add_trace(go.Scatter(x=eq.index, y=eq / float(eq.iloc[0]) * first, mode="lines",
                                     line={"color": _TRAIN, "width": 1}, opacity=0.6,
                                     name="in-sample (chosen params)", legendgroup="is",
                                     showlegend=k == next(iter(is_equity or {0: 0}))),
                          row=2, col=1)
    for name, eq in (benchmark or {}).items():
        fig.add_trace(go.Scatter(x=eq.index, y=eq, mode="lines", name=name,
                                 line={"color": _GREY, "dash": "dot"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=oos_equity.index, y=oos_equity, mode="lines",
                             name="out-of-sample (stitched)", line={"color": _TEST, "width": 2}),
                  row=2, col=1)
    fig.update_layout(barmode="overlay", title=title, height=height, template="plotly_white")
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_yaxes(title_text="equity", row=2, col=1)
    fig.update_xaxes(type="date")
    return fig


def fan_figure(quantiles: pd.DataFrame, *, actual: pd.Series | None = None,
               title: str | None = None, height: int = 450,
               y_title: str = "equity (start = 1)") -> go.Figure:
    """Monte Carlo fan chart: bands between symmetric quantiles of simulated paths.

    Parameters
    ----------
    quantiles : DataFrame
        One row per step, one column per quantile level (floats in (0, 1), e.g. 0.05, 0.25,
        0.5, 0.75, 0.95). Levels q and 1 − q are filled as a band; 0.5 is drawn as a line.
    actual : Series, optional
        The realized path, on the same steps.
    title, height, y_title

    Returns
    -------
    plotly.graph_objects.Figure
    """
    levels = sorted(float(c) for c in quantiles.columns)
    if not levels or any(not 0.0 < q < 1.0 for q in levels):
        raise InvalidParameterError(message("quantiles", "fan_figure", "a DataFrame whose "
                                            "columns are quantile levels in (0, 1)",
                                            list(quantiles.columns)))
    cols = {float(c): c for c in quantiles.columns}
    x = quantiles.index
    fig = go.Figure()
    lows = [q for q in levels if q < 0.5]
    for i, lo in enumerate(lows):
        hi = levels[int(np.argmin([abs(q - (1.0 - lo)) for q in levels]))]
        if hi <= lo:
            continue
        opacity = 0.15 + 0.2 * i / max(len(lows), 1)
        fig.add_trace(go.Scatter(x=x, y=quantiles[cols[hi]], mode="lines",
                                 line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=quantiles[cols[lo]], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor=f"rgba(31,119,180,{opacity:.2f})",
                                 name=f"{lo:.0%}-{hi:.0%}"))
    if 0.5 in cols:
        fig.add_trace(go.Scatter(x=x, y=quantiles[cols[0.5]], mode="lines", name="median",
                                 line={"color": _TRAIN}))
    if actual is not None:
        fig.add_trace(go.Scatter(x=actual.index, y=actual, mode="lines", name="actual",
                                 line={"color": _TEST, "width": 2}))
    fig.update_layout(title=title, height=height, template="plotly_white",
                      yaxis_title=y_title)
    return fig

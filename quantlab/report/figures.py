"""Plotly figures of a backtest and of parameter sweeps (see :mod:`quantlab.plotting.figures`).

The builders live in :mod:`quantlab.plotting.figures`, below both ``backtest`` and ``report``,
so a ``BacktestResult`` draws itself without importing the report layer; they are
re-exported here, where notebooks and reports have always found them.
"""

from __future__ import annotations

from quantlab.plotting.figures import (
    SIGNED_METRICS,
    backtest_figure,
    currency_of,
    drawdown_figure,
    equity_figure,
    exposure_figure,
    heatmap_figure,
    log_ticks,
    mae_mfe_figure,
    monthly_returns_heatmap,
    monthly_returns_table,
    rolling_sharpe,
    rolling_sharpe_figure,
    trade_distribution_figure,
)

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

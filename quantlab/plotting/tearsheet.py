"""One self-contained, interactive HTML tearsheet of a backtest.

Below :mod:`quantlab.report` on purpose: ``BacktestResult.tearsheet()`` writes it without
importing the report layer (re-exported as :mod:`quantlab.report.tearsheet`).
"""

from __future__ import annotations

import html
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab._provenance import fingerprint, package_versions, to_jsonable
from quantlab._validate import message
from quantlab.errors import InvalidParameterError, ReportError

__all__ = ["write_tearsheet", "tearsheet_html", "key_numbers"]

# the headline numbers: (label, stats() name, format)
_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Total return", "total_return", "pct"),
    ("CAGR", "cagr", "pct"),
    ("Sharpe", "sharpe", "num"),
    ("Sortino", "sortino", "num"),
    ("Max drawdown", "max_drawdown", "pct"),
    ("Volatility", "annual_volatility", "pct"),
    ("Trades", "n_trades", "int"),
    ("Win rate", "win_rate", "pct"),
)

# stats() rows that are fractions (returns, drawdowns, shares, probabilities): shown in percent
_PERCENT = frozenset({
    "total_return", "cagr", "annual_return", "annual_volatility", "downside_deviation_annual",
    "max_drawdown", "average_drawdown", "ulcer_index", "var_95", "es_95", "var_99", "es_99",
    "best_period_return", "worst_period_return", "positive_periods_share",
    "probabilistic_sharpe_ratio", "alpha_annual", "tracking_error_annual", "exposure",
    "win_rate", "best_trade", "worst_trade", "avg_win", "avg_loss", "expectancy",
    "avg_trade_return", "avg_winning_trade_return", "avg_losing_trade_return",
    "best_trade_return", "worst_trade_return", "avg_mae", "avg_mfe", "time_in_market",
    "benchmark_return",
})


def _format(value: Any, kind: str) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        value = float(value)
        if not np.isfinite(value):
            return "—"
        if kind == "pct":
            return f"{100.0 * value:.2f}%"
        if kind == "int":
            return f"{value:,.0f}"
        if kind == "money":
            return f"{value:,.2f}"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return html.escape(str(value))


def key_numbers(result: Any) -> dict[str, tuple[Any, str]]:
    """Return the headline numbers of a result: ``{label: (value, kind)}``, from ``stats()``
    (the same numbers as the statistics table), plus the final equity."""
    stats = _stats(result)
    found = {label: (stats[name], kind) for label, name, kind in _KEYS if name in stats.index}
    found["Final equity"] = (float(result.equity.iloc[-1]), "money")
    return found


def _stats(result: Any) -> pd.Series:
    stats = result.stats() if callable(getattr(result, "stats", None)) else None
    if not isinstance(stats, pd.Series):
        raise InvalidParameterError(message("result", "write_tearsheet",
                                            "a BacktestResult whose stats() returns a Series",
                                            type(result).__name__))
    return stats


def _stats_table(stats: pd.Series) -> str:
    rows = []
    for name, value in stats.items():
        kind = "pct" if name in _PERCENT else "num"
        rows.append(f"<tr><td>{html.escape(str(name))}</td>"
                    f"<td class=\"num\">{_format(value, kind)}</td></tr>")
    half = (len(rows) + 1) // 2
    left, right = rows[:half], rows[half:]
    return ("<div style=\"display:flex;gap:32px;flex-wrap:wrap\">"
            f"<table>{''.join(left)}</table><table>{''.join(right)}</table></div>")


def _parameters(result: Any) -> dict[str, Any]:
    data = getattr(result, "data", None)
    block: dict[str, Any] = {"config": to_jsonable(dict(getattr(result, "config", {}) or {}))}
    equity = result.equity
    block["period"] = {"start": equity.index[0].isoformat(), "end": equity.index[-1].isoformat(),
                       "bars": int(len(equity))}
    block["periods_per_year"] = to_jsonable(getattr(result, "periods_per_year", None))
    if isinstance(data, pd.DataFrame):
        if isinstance(data.columns, pd.MultiIndex):
            block["symbols"] = sorted({str(s) for s in data.columns.get_level_values(-1)})
        block["data_fingerprint"] = fingerprint(data)
    versions = package_versions()
    block["versions"] = {k: versions.get(k) for k in ("quantlab", "python", "numpy", "pandas",
                                                       "numba", "plotly")}
    block["generated"] = datetime.now(UTC).isoformat(timespec="seconds")
    return block


def tearsheet_html(result: Any, *, title: str | None = None) -> str:
    """Return the tearsheet page of ``result`` as a string (see :func:`write_tearsheet`)."""
    from quantlab.plotting import figures as F
    from quantlab.plotting.page import figure_div, html_page

    stats = _stats(result)
    title = title or "Backtest tearsheet"
    keys = "".join(f'<div class="key"><div class="v">{_format(v, kind)}</div>'
                   f'<div class="k">{html.escape(label)}</div></div>'
                   for label, (v, kind) in key_numbers(result).items())
    figs = [F.backtest_figure(result), F.monthly_returns_heatmap(result)]
    ppy = getattr(result, "periods_per_year", None)
    if ppy and len(result.returns) > 20:
        window = int(min(max(20, round(float(ppy) / 2)), len(result.returns) // 2))
        figs.append(F.rolling_sharpe_figure(result, window=window))
    trades = getattr(result, "trades", None)
    if isinstance(trades, pd.DataFrame) and len(trades):
        figs.append(F.trade_distribution_figure(result))
        if {"mae", "mfe", "return"} <= set(trades.columns):
            figs.append(F.mae_mfe_figure(result))
    params = json.dumps(_parameters(result), indent=2, default=str)
    body = (
        f"<h1>{html.escape(title)}</h1>\n<div class=\"keys\">{keys}</div>\n"
        + "\n".join(figure_div(f) for f in figs)
        + "\n<h2>Statistics</h2>\n" + _stats_table(stats)
        + "\n<h2>Parameters</h2>\n<pre>" + html.escape(params) + "</pre>\n")
    return html_page(title, body)


def write_tearsheet(result: Any, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write one self-contained interactive HTML tearsheet of a backtest.

    Parameters
    ----------
    result : BacktestResult
        Needs ``equity``, ``returns``, ``benchmark``, ``exposure``, ``trades``, ``data``,
        ``config``, ``periods_per_year`` and ``stats()``.
    path : path
        Output file (``.html``); parent folders are created; written atomically.
    title : str, optional
        Page title.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InvalidParameterError
        ``result`` does not follow the BacktestResult contract.
    ReportError
        The file cannot be written.

    Notes
    -----
    The page holds key numbers, the backtest overview (price and trades, equity vs
    buy-and-hold, drawdown, exposure), monthly returns, rolling Sharpe, trade return and
    MAE/MFE distributions, the full ``stats()`` table and a parameters block (config,
    period, data fingerprint, versions). plotly.js is inlined exactly once, so the file
    opens offline (about 5 MB).

    Examples
    --------
    >>> write_tearsheet(result, "reports/ema_cross.html")  # doctest: +SKIP
    """
    from quantlab.plotting.page import atomic_write_text

    page = tearsheet_html(result, title=title)
    try:
        return atomic_write_text(path, page)
    except OSError as exc:
        raise ReportError(f"Cannot write the tearsheet to {path}: {exc}.") from exc

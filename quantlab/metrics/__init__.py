"""Performance, trade and overfitting statistics (Sharpe, drawdowns, VaR/ES, PSR, DSR, PBO).

Conventions shared by every function here:

* **Input**: simple (not log) per-period returns as a 1-D/2-D ndarray, Series or DataFrame
  (time on axis 0, one column per strategy/asset/parameter combination); data first,
  options keyword-only.
* **Output**: 1-D input → ``float``; 2-D ndarray → 1-D ndarray; DataFrame → Series indexed by
  the columns. 2-D inputs are reduced in one pass over memory by numba kernels (a sweep's
  100k bars × 1225 combinations costs well under a second for :func:`sharpe`).
* **NaN** is a missing observation: statistics skip it column by column (n counts non-NaN
  values); paths (equity, drawdown) stay flat through it. Positions: NaN = flat.
* **Degenerate cases**: a ratio whose denominator is zero (constant returns, no loss, no
  drawdown) is NaN — never ±inf — and no numpy RuntimeWarning escapes. Empty input raises
  :class:`~quantlab.errors.DataError`.
* **Annualization** always comes from ``periods_per_year`` (required where used);
  :func:`summary` infers it from a DatetimeIndex with :func:`infer_periods_per_year` and
  reports the value it used. ``risk_free_rate`` is annual; Sortino's ``target`` and
  Omega's ``threshold`` are per period.
* **Signs**: ``max_drawdown`` is negative (−0.35); VaR and ES are positive losses.

Differences from empyrical (the oracle of the tests): NaN rows are dropped rather than
counted as periods in :func:`cagr`; zero-denominator ratios are NaN instead of ±inf;
``risk_free_rate`` is annual (empyrical's ``risk_free`` is per period); VaR/ES have the
opposite sign; ``omega``'s threshold is per period (empyrical's ``required_return`` is
annual unless ``annualization=1``); ``kurtosis`` is excess (as scipy's default).
"""

from __future__ import annotations

from quantlab.metrics._common import infer_periods_per_year
from quantlab.metrics.drawdown import (
    average_drawdown,
    drawdown_series,
    max_drawdown,
    max_drawdown_duration,
    ulcer_index,
)
from quantlab.metrics.overfitting import (
    cscv_logits,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from quantlab.metrics.performance import (
    annual_return,
    annual_volatility,
    cagr,
    calmar,
    downside_deviation,
    kurtosis,
    omega,
    per_period_rate,
    sharpe,
    skew,
    sortino,
    stability,
    total_return,
)
from quantlab.metrics.summary import benchmark_statistics, summary
from quantlab.metrics.tail import es_historical, tail_ratio, var_historical
from quantlab.metrics.trades import (
    expectancy,
    exposure,
    max_consecutive_losses,
    n_trades,
    payoff_ratio,
    profit_factor,
    trade_summary,
    turnover,
    win_rate,
)

__all__ = [
    # returns
    "total_return",
    "cagr",
    "annual_return",
    "annual_volatility",
    "sharpe",
    "sortino",
    "downside_deviation",
    "calmar",
    "omega",
    "skew",
    "kurtosis",
    "stability",
    "per_period_rate",
    # drawdowns
    "drawdown_series",
    "max_drawdown",
    "max_drawdown_duration",
    "average_drawdown",
    "ulcer_index",
    # tails
    "var_historical",
    "es_historical",
    "tail_ratio",
    # trades and positions
    "n_trades",
    "win_rate",
    "profit_factor",
    "expectancy",
    "payoff_ratio",
    "max_consecutive_losses",
    "trade_summary",
    "exposure",
    "turnover",
    # overfitting
    "probabilistic_sharpe_ratio",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "cscv_logits",
    "probability_of_backtest_overfitting",
    # tables
    "summary",
    "benchmark_statistics",
    "infer_periods_per_year",
]

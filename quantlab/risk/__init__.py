"""Risk: VaR/ES forecasts, VaR and ES backtests, Kelly estimates, and the strategy risk report.

>>> from quantlab.risk import var, es, backtest_var, kelly_fraction  # doctest: +SKIP

* :func:`var` / :func:`es` - value at risk and expected shortfall as positive losses, by
  method (historical, parametric, Student-t, Cornish-Fisher, EWMA, GARCH, filtered
  historical); rolling (the forecast for bar t uses data up to t - 1) or over a whole sample.
* :func:`kupiec`, :func:`christoffersen`, :func:`conditional_coverage`,
  :func:`traffic_light`, :func:`es_backtest` and :func:`backtest_var` - the coverage,
  independence, Basel and Acerbi-Szekely backtests of a forecast.
* :func:`kelly_binary`, :func:`kelly_fraction`, :func:`kelly_portfolio` - Kelly bets, the
  estimate the execution core's ``Kelly`` sizer makes, and growth-optimal weights (cvxpy).
* :func:`risk_report` - a backtest's VaR/ES by method, each backtested, VaR by regime, and
  Kelly leverage against the leverage the strategy took.
"""

from __future__ import annotations

# the functions are bound after their modules, so ``quantlab.risk.var`` is the function
# (the module stays reachable as ``sys.modules["quantlab.risk.var"]``)
from quantlab.risk.backtests import (
    BASEL_PLUS_FACTORS,
    ChristoffersenResult,
    ConditionalCoverageResult,
    EsBacktestResult,
    KupiecResult,
    TrafficLightResult,
    VarBacktestResult,
    backtest_var,
    christoffersen,
    conditional_coverage,
    es_backtest,
    kupiec,
    traffic_light,
)
from quantlab.risk.kelly import kelly_binary, kelly_fraction, kelly_portfolio
from quantlab.risk.report import RiskReport, risk_report
from quantlab.risk.var import METHODS, es, var

__all__ = [
    "var", "es", "METHODS",
    "kupiec", "christoffersen", "conditional_coverage", "traffic_light", "es_backtest",
    "backtest_var", "VarBacktestResult", "KupiecResult", "ChristoffersenResult",
    "ConditionalCoverageResult", "TrafficLightResult", "EsBacktestResult", "BASEL_PLUS_FACTORS",
    "kelly_binary", "kelly_fraction", "kelly_portfolio", "risk_report", "RiskReport",
]

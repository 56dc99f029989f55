"""Portfolio optimization and multi-asset allocation (cvxpy).

* :func:`optimize` - one problem, one solve: min variance, mean-variance, max Sharpe, risk
  parity, min CVaR, max growth (Kelly), HRP, under :class:`Constraints`.
* :class:`Optimizer` - the same, as a frozen object that ``compile``\\ s once into a DPP
  problem re-solved for new estimates (:class:`CompiledProblem`).
* :func:`efficient_frontier` - the frontier under the constraints.
* estimators - sample / EWM / Ledoit-Wolf covariance; historical / EWM / James-Stein means.
* :func:`rebalance` - a walk-forward rebalanced multi-asset backtest through
  :func:`quantlab.backtest.backtest` (imported lazily: this package does not load the
  backtest layer until ``rebalance`` is used).
"""

from __future__ import annotations

import importlib
from typing import Any

from quantlab.portfolio.constraints import Constraints
from quantlab.portfolio.estimators import (
    COVARIANCES,
    MEANS,
    Estimator,
    ewm_covariance,
    ewm_mean,
    historical_mean,
    james_stein_mean,
    ledoit_wolf_covariance,
    sample_covariance,
)
from quantlab.portfolio.hrp import LINKAGES
from quantlab.portfolio.optimize import efficient_frontier, optimize
from quantlab.portfolio.problems import OBJECTIVES, CompiledProblem, Optimizer
from quantlab.portfolio.result import OptimizationError, PortfolioResult, risk_contributions_arr

__all__ = [
    "optimize",
    "efficient_frontier",
    "rebalance",
    "RebalanceResult",
    "TargetWeights",
    "Optimizer",
    "CompiledProblem",
    "Constraints",
    "Estimator",
    "PortfolioResult",
    "OptimizationError",
    "OBJECTIVES",
    "MEANS",
    "COVARIANCES",
    "LINKAGES",
    "sample_covariance",
    "ewm_covariance",
    "ledoit_wolf_covariance",
    "historical_mean",
    "ewm_mean",
    "james_stein_mean",
    "risk_contributions_arr",
]

_LAZY = {"rebalance", "RebalanceResult", "TargetWeights"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("quantlab.portfolio.rebalancing"), name)
    raise AttributeError(f"module 'quantlab.portfolio' has no attribute {name!r}")

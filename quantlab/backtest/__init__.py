"""Backtesting: numba simulator kernels, the order decision, ``backtest()`` and its result.

* :func:`backtest` - simulate a strategy, target exposures or entry/exit signals.
* :class:`BacktestResult` - equity, returns, positions, orders, trades, ``stats()``,
  ``plot()``, ``tearsheet()``, ``to_vectorbt()``.
* :func:`~quantlab.backtest.step.step_nb` - the one decision step (account + bar -> orders);
  :class:`Account` steps it one bar at a time (the live runner's entry point).
* :class:`BacktestConfig` and its parts (:class:`RiskLimits`, ...), frozen and serializable.
* :func:`decide_order` / :func:`order_size_nb` - the order size for a target exposure.
* Sizers run by the step: :class:`FixedFraction`, :class:`VolTarget`, :class:`AtrRisk`,
  :class:`Kelly`, :class:`VarBudget`, :func:`combine` (:mod:`quantlab.backtest.sizers`).
* :func:`sweep` - parameter sweeps (fused numba fast path, chunked generic path).
"""

from __future__ import annotations

from quantlab.backtest.account import Account
from quantlab.backtest.config import (
    BacktestConfig,
    Costs,
    Execution,
    Margin,
    RiskLimits,
    Sizing,
    Stops,
)
from quantlab.backtest.engine import backtest
from quantlab.backtest.kernels import simulate_nb
from quantlab.backtest.orders import ORDER_STATUS, OrderDecision, decide_order, order_size_nb
from quantlab.backtest.result import BacktestResult
from quantlab.backtest.sizers import (
    AtrRisk,
    FixedFraction,
    Kelly,
    Sizer,
    VarBudget,
    VolTarget,
    combine,
    size_exposure,
)
from quantlab.backtest.sweep import FastPath, SweepResult, register_fast_path, sweep

__all__ = [
    "Account",
    "BacktestConfig",
    "Costs",
    "Execution",
    "Stops",
    "Margin",
    "Sizing",
    "RiskLimits",
    "VolTarget",
    "AtrRisk",
    "Kelly",
    "VarBudget",
    "combine",
    "size_exposure",
    "backtest",
    "BacktestResult",
    "decide_order",
    "order_size_nb",
    "OrderDecision",
    "ORDER_STATUS",
    "simulate_nb",
    "FixedFraction",
    "Sizer",
    "sweep",
    "SweepResult",
    "FastPath",
    "register_fast_path",
]

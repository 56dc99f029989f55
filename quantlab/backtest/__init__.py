"""Backtesting: numba simulator kernels, the order decision, ``backtest()`` and its result.

* :func:`backtest` - simulate a strategy, target exposures or entry/exit signals.
* :class:`BacktestResult` - equity, returns, positions, orders, trades, ``stats()``,
  ``plot()``, ``tearsheet()``, ``to_vectorbt()``.
* :func:`decide_order` / :func:`order_size_nb` - the one order decision (target exposure
  -> order size), shared with the live runner.
* :class:`FixedFraction` and the sizer hook (:mod:`quantlab.backtest.sizers`).
* :func:`sweep` - parameter sweeps (fused numba fast path, chunked generic path).
"""

from __future__ import annotations

from quantlab.backtest.engine import backtest
from quantlab.backtest.kernels import simulate_nb
from quantlab.backtest.orders import ORDER_STATUS, OrderDecision, decide_order, order_size_nb
from quantlab.backtest.result import BacktestResult
from quantlab.backtest.sizers import FixedFraction, Sizer
from quantlab.backtest.sweep import FastPath, SweepResult, register_fast_path, sweep

__all__ = [
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

"""quantlab: Jupyter-centric quant research, from notebook to live runner.

>>> import quantlab as ql
>>> df = ql.data.load("aapl")
>>> result = ql.backtest(df, ql.strategies.SmaCross(fast=10, slow=30), fee_bps=10)

Importing quantlab compiles nothing: numba kernels compile (or load from the on-disk cache)
on first use. Plotting and papermill load only when a report is made.
"""

from __future__ import annotations

from quantlab import data, indicators, metrics, report, strategies
from quantlab import indicators as ind
from quantlab.backtest import Account, BacktestConfig, BacktestResult, RiskLimits, backtest
from quantlab.backtest import sizers as sizers
from quantlab.backtest.sweep import SweepResult, sweep
from quantlab.errors import (
    DataError,
    InvalidParameterError,
    LookAheadError,
    QuantlabError,
    QuantlabWarning,
)
from quantlab.strategy import Strategy, check_causality, param

__version__ = "0.1.0"

__all__ = [
    "data", "indicators", "ind", "metrics", "report", "strategies",
    "Strategy", "param", "check_causality",
    "backtest", "BacktestResult", "BacktestConfig", "RiskLimits", "Account", "sizers",
    "sweep", "SweepResult",
    "QuantlabError", "InvalidParameterError", "DataError", "LookAheadError", "QuantlabWarning",
]

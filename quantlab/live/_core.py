"""The execution core the live runner shares with the simulator.

LAYERING NOTE (for the lead): ``Account``, ``BacktestConfig`` and the per-bar sizer inputs
live in :mod:`quantlab.backtest` today, which ``quantlab.live`` must not import (backtest and
live are siblings, tests/test_layering.py). The live runner must still run the *same compiled
decision step* as the backtest, so this one module imports them, and every other module of
``quantlab.live`` takes them from here. The fix is to move ``step``/``Account``/``config``/
``sizers`` into a shared lower package (e.g. ``quantlab.execution``) that both import; then
only these imports change.
"""

from __future__ import annotations

import numpy as np

from quantlab.backtest.account import Account, Fill
from quantlab.backtest.config import BacktestConfig, Costs, RiskLimits
from quantlab.backtest.engine import backtest
from quantlab.backtest.result import _infer_ppy as infer_periods_per_year
from quantlab.backtest.sizers import _INPUT_NAMES as SIZER_INPUT_NAMES
from quantlab.backtest.sizers import sizer_inputs
from quantlab.backtest.step import S_POS


def positions_array(account: Account) -> np.ndarray:
    """The account's positions (units per symbol) as a copy, without building a Series."""
    return np.array(account._st[S_POS], dtype=np.float64)


__all__ = ["backtest", "Account", "Fill", "BacktestConfig", "Costs", "RiskLimits", "SIZER_INPUT_NAMES",
           "sizer_inputs", "infer_periods_per_year", "positions_array"]

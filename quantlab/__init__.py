"""quantlab: Jupyter-centric quant research, from notebook to live runner.

>>> import quantlab as ql
>>> df = ql.data.load("aapl")
>>> result = ql.backtest(df, ql.strategies.SmaCross(fast=10, slow=30), fee_bps=10)

Importing quantlab loads nothing heavy: each public name below is imported on first use
(a module-level ``__getattr__``), so ``import quantlab`` costs a few milliseconds and
``ql.backtest`` pays for pandas and numba only when it is first touched. Plotting, papermill,
cvxpy, ccxt and vectorbt load only when the code that needs them runs. Numba kernels compile
(or load from the on-disk cache, warmed by ``make setup``: :mod:`quantlab._warm`) on first call.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
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

#: public name -> (module, attribute in it; None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "data": ("quantlab.data", None),
    "indicators": ("quantlab.indicators", None),
    "ind": ("quantlab.indicators", None),
    "metrics": ("quantlab.metrics", None),
    "report": ("quantlab.report", None),
    "strategies": ("quantlab.strategies", None),
    "Strategy": ("quantlab.strategy", "Strategy"),
    "param": ("quantlab.strategy", "param"),
    "check_causality": ("quantlab.strategy", "check_causality"),
    "backtest": ("quantlab.backtest", "backtest"),
    "BacktestResult": ("quantlab.backtest", "BacktestResult"),
    "BacktestConfig": ("quantlab.backtest", "BacktestConfig"),
    "RiskLimits": ("quantlab.backtest", "RiskLimits"),
    "Account": ("quantlab.backtest", "Account"),
    "sizers": ("quantlab.backtest.sizers", None),
    "sweep": ("quantlab.backtest.sweep", "sweep"),
    "SweepResult": ("quantlab.backtest.sweep", "SweepResult"),
    "QuantlabError": ("quantlab.errors", "QuantlabError"),
    "InvalidParameterError": ("quantlab.errors", "InvalidParameterError"),
    "DataError": ("quantlab.errors", "DataError"),
    "LookAheadError": ("quantlab.errors", "LookAheadError"),
    "QuantlabWarning": ("quantlab.errors", "QuantlabWarning"),
}

__all__ = [
    "data", "indicators", "ind", "metrics", "report", "strategies",
    "Strategy", "param", "check_causality",
    "backtest", "BacktestResult", "BacktestConfig", "RiskLimits", "Account", "sizers",
    "sweep", "SweepResult",
    "QuantlabError", "InvalidParameterError", "DataError", "LookAheadError", "QuantlabWarning",
]

#: exported names that are also the name of a subpackage: the export wins
_SHADOWED = {"backtest"}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'quantlab' has no attribute {name!r}")
    module_name, attribute = target
    value = importlib.import_module(module_name)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """quantlab's module type: ``ql.backtest`` stays the function.

    Importing the subpackage ``quantlab.backtest`` (directly or through any module that
    imports it) makes Python set the attribute ``quantlab.backtest`` to the subpackage. The
    eager ``from quantlab.backtest import backtest`` of old rebound it to the function at import
    time; lazily, this hook does it whenever the import system sets it.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

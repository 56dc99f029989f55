"""Walk-forward optimization, splitters, Monte Carlo and overfitting statistics.

* :mod:`quantlab.optimize.splitters` - ``RollingSplit``, ``AnchoredSplit``, ``PurgedKFold``,
  ``CombinatorialPurgedKFold`` (scikit-learn's ``split(X)`` protocol);
* :mod:`quantlab.optimize.walkforward` - ``walk_forward()`` -> ``WalkForwardResult``;
* :mod:`quantlab.optimize.bootstrap` - ``bootstrap_returns()``, ``bootstrap_trades()``;
* :mod:`quantlab.optimize.report` - ``overfitting_report()``, ``block_pbo()``;
* :mod:`quantlab.optimize.search` - ``optuna_search()`` -> ``SearchResult``;
* :mod:`quantlab.optimize.execution` - ``run_tasks()`` (local processes or Dask).

Names load lazily (nothing heavy at import); import them from their modules or from here.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["RollingSplit", "AnchoredSplit", "PurgedKFold", "CombinatorialPurgedKFold",
           "walk_forward", "WalkForwardResult", "bootstrap_returns", "bootstrap_trades",
           "MonteCarloResult", "overfitting_report", "OverfittingReport", "block_pbo",
           "optuna_search", "SearchResult", "run_tasks"]

_WHERE = {
    "RollingSplit": "splitters", "AnchoredSplit": "splitters", "PurgedKFold": "splitters",
    "CombinatorialPurgedKFold": "splitters", "walk_forward": "walkforward",
    "WalkForwardResult": "walkforward", "bootstrap_returns": "bootstrap",
    "bootstrap_trades": "bootstrap", "MonteCarloResult": "bootstrap",
    "overfitting_report": "report", "OverfittingReport": "report", "block_pbo": "report",
    "optuna_search": "search", "SearchResult": "search", "run_tasks": "execution",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"quantlab.optimize.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'quantlab.optimize' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

"""Strategy base class, built-in strategies and the look-ahead checks.

The built-ins by name (for notebooks and the command line): :mod:`quantlab.strategy.registry`.
"""

from __future__ import annotations

from quantlab.strategy.base import Param, RegimeModel, Strategy, param
from quantlab.strategy.causality import CausalityReport, check_causality

__all__ = ["Strategy", "param", "Param", "RegimeModel", "check_causality", "CausalityReport"]

"""Strategy base class, built-in strategies and the look-ahead checks."""

from __future__ import annotations

from quantlab.strategy.base import Param, Strategy, param
from quantlab.strategy.causality import CausalityReport, check_causality

__all__ = ["Strategy", "param", "Param", "check_causality", "CausalityReport"]

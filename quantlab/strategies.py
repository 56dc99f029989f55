"""The built-in strategies: ``from quantlab.strategies import SmaCross``."""

from __future__ import annotations

from quantlab.strategy.builtin import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RsiReversion,
    SmaCross,
)
from quantlab.strategy.regime import RegimeFiltered, RegimeSwitch

__all__ = ["SmaCross", "EmaCross", "RsiReversion", "BollingerReversion", "DonchianBreakout", "RegimeFiltered",
           "RegimeSwitch"]

"""The built-in strategies: ``from quantlab.strategies import SmaCross``."""

from __future__ import annotations

from quantlab.strategy.builtin import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RegimeFiltered,
    RsiReversion,
    SmaCross,
)

__all__ = ["SmaCross", "EmaCross", "RsiReversion", "BollingerReversion", "DonchianBreakout", "RegimeFiltered"]

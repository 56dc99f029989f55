"""Technical indicators: numba kernels under a thin pandas API (also ``quantlab.ind``).

Names and positional order follow TA-Lib in lower case (``sma(close, window)``,
``atr(high, low, close, window)``); streaming twins live in :mod:`quantlab.indicators.stream`.
"""

from __future__ import annotations

from quantlab.indicators import stream
from quantlab.indicators.overlap import ema, sma

__all__ = ["stream", "sma", "ema"]

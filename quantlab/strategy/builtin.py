"""Built-in strategies (re-exported as :mod:`quantlab.strategies`).

Every built-in works on one asset (OHLCV DataFrame → exposure Series) or several (columns
``(field, symbol)`` → exposure DataFrame), because the indicators keep their input's shape.
Exposure is +1 long, -1 short (only with ``short=True``), 0 flat, NaN hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab import indicators as ind
from quantlab._validate import message
from quantlab.errors import InvalidParameterError
from quantlab.strategy.base import Strategy, param

__all__ = ["SmaCross", "EmaCross", "RsiReversion", "BollingerReversion", "DonchianBreakout"]


def _states(template: Any, long_when: Any, exit_when: Any, short_when: Any | None) -> Any:
    """+1 where ``long_when``, -1 where ``short_when``, 0 where ``exit_when``, NaN (hold) elsewhere.

    Comparisons with NaN are False, so warm-up bars are NaN (hold = flat at the start).
    """
    long_ = np.asarray(long_when, dtype=bool)
    flat = np.asarray(exit_when, dtype=bool)
    out = np.where(long_, 1.0, np.where(flat, 0.0, np.nan))
    if short_when is not None:
        out = np.where(np.asarray(short_when, dtype=bool), -1.0, out)
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(out, index=template.index, columns=template.columns)
    return pd.Series(out, index=template.index, name="exposure")


class _Cross(Strategy):
    fast: int = param(10, minimum=1, doc="fast moving-average window (bars)")
    slow: int = param(30, minimum=2, doc="slow moving-average window (bars)")
    short: bool = param(False, doc="go short when fast < slow (else flat)")

    def check(self) -> None:
        if self.fast >= self.slow:
            raise InvalidParameterError(message("fast", type(self).__name__, f"< slow ({self.slow})", self.fast,
                                                "Swap them or pick a shorter fast window."))

    @classmethod
    def check_grid(cls, grid: pd.DataFrame) -> np.ndarray:
        """:meth:`check` for a table of combinations (one row each): True where fast < slow."""
        return (grid["fast"].to_numpy() < grid["slow"].to_numpy()).astype(bool)

    def _ma(self, close: Any, window: int) -> Any:
        raise NotImplementedError

    def signal(self, data: pd.DataFrame) -> Any:
        close = data["close"]
        fast, slow = self._ma(close, self.fast), self._ma(close, self.slow)
        below = fast < slow
        return _states(close, fast > slow, below, below if self.short else None)


class SmaCross(_Cross):
    """Long while SMA(fast) > SMA(slow); flat (or short) while below; warmup = slow."""

    #: sweep()'s fast path for this class (not inherited), named so that this layer never
    #: imports quantlab.backtest: the sweep imports it when it needs it.
    sweep_fast_path = "quantlab.backtest.sweep:SMA_CROSS_FAST_PATH"

    @property
    def warmup(self) -> int:
        return self.slow

    def _ma(self, close: Any, window: int) -> Any:
        return ind.sma(close, window)


class EmaCross(_Cross):
    """Long while EMA(fast) > EMA(slow); flat (or short) while below.

    EMAs are recursive: their value depends on where the data starts. ``warmup`` is
    ``5 * slow`` bars, after which the seed's weight is below (1 - 2/(slow+1))^(5 slow) ≈ e^-10.
    """

    #: sweep()'s fast path for this class (see SmaCross.sweep_fast_path).
    sweep_fast_path = "quantlab.backtest.sweep:EMA_CROSS_FAST_PATH"

    @property
    def warmup(self) -> int:
        return 5 * self.slow

    def _ma(self, close: Any, window: int) -> Any:
        return ind.ema(close, window)


class RsiReversion(Strategy):
    """Long when RSI(window) < lower, exit when RSI > upper (short above upper with ``short``).

    RSI uses Wilder smoothing (recursive): warmup is ``10 * window`` bars (seed weight ≈ e^-10).
    """

    window: int = param(14, minimum=2, doc="RSI window (bars)")
    lower: float = param(30.0, minimum=0.0, maximum=100.0, doc="oversold threshold")
    upper: float = param(70.0, minimum=0.0, maximum=100.0, doc="overbought threshold")
    short: bool = param(False, doc="short above upper")

    def check(self) -> None:
        if self.lower >= self.upper:
            raise InvalidParameterError(message("lower", "RsiReversion", f"< upper ({self.upper})", self.lower))

    @property
    def warmup(self) -> int:
        return 10 * self.window

    def signal(self, data: pd.DataFrame) -> Any:
        close = data["close"]
        rsi = ind.rsi(close, self.window)
        above = rsi > self.upper
        return _states(close, rsi < self.lower, above, above if self.short else None)


class BollingerReversion(Strategy):
    """Long when close < lower band; exit when close > middle band.

    With ``short=True`` it is always in the market after the first signal: long below the lower
    band, short above the upper band, holding in between (the position flips at the opposite band).
    """

    window: int = param(20, minimum=2, doc="band window (bars)")
    k: float = param(2.0, minimum=0.0, doc="band width in standard deviations")
    short: bool = param(False, doc="flip between long (below lower) and short (above upper)")

    @property
    def warmup(self) -> int:
        return self.window

    def signal(self, data: pd.DataFrame) -> Any:
        close = data["close"]
        bands = ind.bbands(close, self.window, self.k)
        upper, middle, lower = (bands[name] for name in ("upper", "middle", "lower"))
        c = np.asarray(close, dtype=float)
        up, mid, low = (np.asarray(b, dtype=float) for b in (upper, middle, lower))
        if not self.short:
            return _states(close, c < low, c > mid, None)
        out = np.where(c < low, 1.0, np.where(c > up, -1.0, np.nan))
        return _states_from_array(close, out)


class DonchianBreakout(Strategy):
    """Long when close breaks above the previous ``window`` bars' high; exit below their low.

    The channel excludes the current bar (it is computed up to t-1), so a breakout is knowable
    at the close of bar t.
    """

    window: int = param(20, minimum=1, doc="channel window (bars)")
    short: bool = param(False, doc="short on a break below the channel")

    @property
    def warmup(self) -> int:
        return self.window + 1

    def signal(self, data: pd.DataFrame) -> Any:
        close = data["close"]
        channel = ind.donchian(data["high"], data["low"], self.window)
        upper = np.asarray(channel["upper"].shift(1), dtype=float)
        lower = np.asarray(channel["lower"].shift(1), dtype=float)
        c = np.asarray(close, dtype=float)
        below = c < lower
        return _states(close, c > upper, below, below if self.short else None)


def _states_from_array(template: Any, out: np.ndarray) -> Any:
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(out, index=template.index, columns=template.columns)
    return pd.Series(out, index=template.index, name="exposure")

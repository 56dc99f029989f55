"""Streaming per-bar decisions for the built-in strategies, on the indicators' streaming twins.

``signal()`` on a trailing window recomputes every indicator on every bar (about a
millisecond); a streaming decider keeps the indicators' state and takes one update per bar
(microseconds). It reproduces ``signal()``'s rule exactly, on the streaming twins of
:mod:`quantlab.indicators.stream` (the batch kernels run incrementally), so the target at bar
t equals ``signal(data[:t+1])[t]`` (a test checks every bar).

A strategy of one's own adds a streaming path with a ``stream()`` method returning an object
whose ``update(open, high, low, close, volume)`` (arrays, one value per symbol) returns the
target exposures of that bar.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from quantlab.indicators import stream as ist
from quantlab.strategy.builtin import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RsiReversion,
    SmaCross,
)

__all__ = ["Decider", "streaming_decider"]

_NAN = math.nan


class Decider(Protocol):
    def update(self, open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
               volume: np.ndarray) -> np.ndarray: ...  # pragma: no cover


def _state(long_: bool, flat: bool, short: bool | None) -> float:
    """``builtin._states`` for one bar: +1 long, 0 exit, NaN hold; short overrides."""
    out = 1.0 if long_ else (0.0 if flat else _NAN)
    return -1.0 if short else out


class _Cross:
    def __init__(self, s: Any, cls: Any) -> None:
        self.fast, self.slow, self.short = cls(s.fast), cls(s.slow), bool(s.short)

    def __call__(self, o: float, h: float, lo: float, c: float, v: float) -> float:
        f, s = self.fast.update(c), self.slow.update(c)
        below = f < s
        return _state(f > s, below, below if self.short else None)


class _Rsi:
    def __init__(self, s: Any) -> None:
        self.rsi = ist.RSI(s.window)
        self.lower, self.upper, self.short = float(s.lower), float(s.upper), bool(s.short)

    def __call__(self, o: float, h: float, lo: float, c: float, v: float) -> float:
        r = self.rsi.update(c)
        above = r > self.upper
        return _state(r < self.lower, above, above if self.short else None)


class _Bollinger:
    def __init__(self, s: Any) -> None:
        self.bands = ist.BBANDS(s.window, s.k)
        self.short = bool(s.short)

    def __call__(self, o: float, h: float, lo: float, c: float, v: float) -> float:
        b = self.bands.update(c)
        if not self.short:
            return _state(c < b["lower"], c > b["middle"], None)
        return 1.0 if c < b["lower"] else (-1.0 if c > b["upper"] else _NAN)


class _Donchian:
    def __init__(self, s: Any) -> None:
        self.channel = ist.DONCHIAN(s.window)
        self.short = bool(s.short)
        self.prev = {"upper": _NAN, "lower": _NAN}  # the channel up to t-1

    def __call__(self, o: float, h: float, lo: float, c: float, v: float) -> float:
        upper, lower = self.prev["upper"], self.prev["lower"]
        self.prev = dict(self.channel.update(h, lo))
        below = c < lower
        return _state(c > upper, below, below if self.short else None)


def _one(strategy: Any) -> Any:
    kind = type(strategy)
    if kind is SmaCross:
        return _Cross(strategy, ist.SMA)
    if kind is EmaCross:
        return _Cross(strategy, ist.EMA)
    if kind is RsiReversion:
        return _Rsi(strategy)
    if kind is BollingerReversion:
        return _Bollinger(strategy)
    if kind is DonchianBreakout:
        return _Donchian(strategy)
    return None


class _PerSymbol:
    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts
        self.out = np.empty(len(parts))

    def update(self, open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
               volume: np.ndarray) -> np.ndarray:
        out = self.out
        for j, part in enumerate(self.parts):
            out[j] = part(float(open[j]), float(high[j]), float(low[j]), float(close[j]),
                          float(volume[j]))
        return out.copy()


def streaming_decider(strategy: Any, n_symbols: int) -> Decider | None:
    """A streaming decider for ``strategy`` (its own ``stream()``, or the built-ins'), else None.

    Examples
    --------
    >>> import numpy as np
    >>> from quantlab.strategies import SmaCross
    >>> d = streaming_decider(SmaCross(fast=1, slow=2), 1)
    >>> [float(d.update(*(np.array([c]),) * 5)[0]) for c in (1.0, 2.0, 1.0)]
    [nan, 1.0, 0.0]
    """
    own = getattr(strategy, "stream", None)
    if callable(own):
        return own()  # type: ignore[no-any-return]
    parts = [_one(strategy) for _ in range(n_symbols)]
    if any(p is None for p in parts):
        return None
    return _PerSymbol(parts)

"""Feeds: closed bars in, one at a time.

:class:`Feed` is the interface the exchange feed of the next issue implements;
:class:`ReplayFeed` replays historical bars at any speed (the demo's and the parity tests'
feed). A feed yields **closed** bars only and replays rows as they are (it neither sorts nor
repairs): the runner's market-data gate judges them.
"""

from __future__ import annotations

import abc
import time as _time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from quantlab._validate import check_float, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["Bar", "Feed", "ReplayFeed"]

_FIELDS = ("open", "high", "low", "close", "volume")


class Bar(NamedTuple):
    """One closed bar of every symbol (arrays of length N, symbols in the feed's order)."""

    time: pd.Timestamp
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


class Feed(abc.ABC):
    """A source of closed bars.

    Attributes
    ----------
    symbols : list of str
    timeframe : Timedelta - the bar length.
    """

    symbols: list[str]
    timeframe: pd.Timedelta
    #: How a run resumes: "count" - ``bars(skip=n)`` (a replay starts at a fixed first bar);
    #: "time" - ``bars(after=t)`` with the journal's last bar (an exchange feed).
    resume_by: str = "count"

    @abc.abstractmethod
    def bars(self, *, skip: int = 0, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        """Closed bars; ``skip`` the first bars (a replay resumes by count) or those up to
        ``after`` (an exchange feed resumes by time)."""

    def now(self) -> pd.Timestamp:
        """The feed's clock (wall clock for an exchange feed)."""
        return pd.Timestamp.now(tz="UTC")


class ReplayFeed(Feed):
    """Historical bars replayed, at full speed or paced.

    Parameters
    ----------
    data : DataFrame
        OHLCV bars of one symbol, or ``(field, symbol)`` columns; replayed row by row as given.
    symbols : sequence of str, optional - default: the data's symbols (one symbol: the
        ``symbol`` attribute, else "asset").
    speed : "max", "realtime" or float, default "max" - "realtime" sleeps one bar length
        between bars, a float x replays x times faster than real time.
    timeframe : str or Timedelta, optional - default: the median spacing of the index.
    """

    def __init__(self, data: pd.DataFrame, *, symbols: Any = None, speed: Any = "max",
                 timeframe: Any = None) -> None:
        caller = "ReplayFeed"
        if not isinstance(data, pd.DataFrame) or len(data) == 0:
            raise DataError(message("data", caller, "a non-empty DataFrame of OHLCV bars",
                                    type(data).__name__))
        if isinstance(data.columns, pd.MultiIndex):
            syms = [str(s) for s in data["close"].columns]
            arrays = {f: data[f].to_numpy(np.float64) if f in data.columns.get_level_values(0)
                      else np.full((len(data), len(syms)), np.nan) for f in _FIELDS}
        else:
            syms = [str(data.attrs.get("symbol", "asset"))]
            arrays = {f: (data[f].to_numpy(np.float64) if f in data.columns
                          else np.full(len(data), np.nan)).reshape(-1, 1) for f in _FIELDS}
        if symbols is not None:
            given = [symbols] if isinstance(symbols, str) else [str(s) for s in symbols]
            if len(given) != len(syms):
                raise InvalidParameterError(message("symbols", caller,
                                                    f"{len(syms)} symbol(s), one per column",
                                                    given))
            syms = given
        self.symbols = syms
        self._arrays = arrays
        self._index = pd.DatetimeIndex(data.index)
        if self._index.tz is None:
            self._index = self._index.tz_localize("UTC")
        if timeframe is None:
            diffs = np.diff(self._index.asi8)
            step = int(np.median(diffs)) if diffs.size else 86_400_000_000_000
            self.timeframe = pd.Timedelta(step, unit="ns") if self._index.unit == "ns" else \
                pd.Timedelta(np.median(np.diff(self._index.as_unit("ns").asi8)), unit="ns")
        else:
            self.timeframe = pd.Timedelta(timeframe)
        if speed in ("max", "realtime"):
            self.speed = speed
        else:
            self.speed = check_float("speed", speed, caller=caller, minimum=0.0,
                                     exclusive_minimum=True)
        self._now: pd.Timestamp | None = None

    def __len__(self) -> int:
        return len(self._index)

    def bars(self, *, skip: int = 0, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        start = int(skip)
        if after is not None:
            start = max(start, int(self._index.searchsorted(pd.Timestamp(after), side="right")))
        a = self._arrays
        pause = 0.0 if self.speed == "max" else self.timeframe.total_seconds() / (
            1.0 if self.speed == "realtime" else float(self.speed))
        for i in range(start, len(self._index)):
            if pause and i > start:
                _time.sleep(pause)
            t = self._index[i]
            self._now = t + self.timeframe
            yield Bar(t, a["open"][i].copy(), a["high"][i].copy(), a["low"][i].copy(),
                      a["close"][i].copy(), a["volume"][i].copy())

    def now(self) -> pd.Timestamp:
        """Simulated clock: the close time of the last bar replayed."""
        return self._now if self._now is not None else self._index[0]


def check_symbols(symbols: Any, *, caller: str) -> list[str]:
    """A feed's symbols: one name or a non-empty list of distinct non-empty names."""
    given = [symbols] if isinstance(symbols, str) else symbols
    if not isinstance(given, Sequence) or not given or not all(
            isinstance(s, str) and s.strip() for s in given):
        raise InvalidParameterError(message("symbols", caller, "a symbol such as 'BTC/USDT' "
                                            "or a non-empty list of them", symbols))
    out = list(given)
    if len(set(out)) != len(out):
        raise InvalidParameterError(message("symbols", caller, "unique symbols", out))
    return out

"""Replay bars from quantlab's local data store (``quantlab data download``) into the runner.

:class:`StoreFeed` reads each symbol's bars from a :class:`~quantlab.data.Store` folder and
replays them through :class:`~quantlab.live.feeds.ReplayFeed`, so it has exactly its
interface and behaviour (speed, ``skip``/``after`` resume, a simulated clock at the close of
the last bar replayed). Design decisions:

- **Read once, then replay.** The bars of ``[start, end]`` are loaded when the feed is built;
  a missing store, symbol or timeframe fails there, before the runner opens a journal, with
  a message naming what the store does hold (and a did-you-mean).
- **Several symbols: timestamps every symbol holds.** The same gap policy as
  :class:`~quantlab.live.exchange_feed.CcxtPollingFeed`'s default (``gap="skip"``): a
  timestamp missing for one symbol is dropped for all, with a
  :class:`~quantlab.errors.DataQualityWarning` that counts them. Filling would invent prices;
  an outer join would hand the runner NaN bars it must reject.
- **The bar length comes from the timeframe** (``"1h"`` is one hour), not from the spacing
  of the rows; month and year timeframes, which have no fixed length, fall back to the
  median spacing.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from quantlab._validate import OHLCV, did_you_mean, message
from quantlab.data.store import Store, check_timeframe
from quantlab.errors import DataError, DataQualityWarning
from quantlab.live.feeds import ReplayFeed, check_symbols
from quantlab.live.promote import timeframe_delta

__all__ = ["StoreFeed"]

_CALLER = "StoreFeed"


class StoreFeed(ReplayFeed):
    """Bars of one or more symbols replayed from a local data store.

    Parameters
    ----------
    store_dir : str or PathLike
        The store's folder (as given to ``quantlab data download --store``).
    symbols : str or sequence of str
        Symbols as stored, e.g. ``"BTC/USDT"``; several are aligned on common timestamps.
    timeframe : str
        A stored timeframe such as ``"1h"`` or ``"1d"``.
    start, end : str or Timestamp, optional
        Inclusive bounds on the bar open time (naive values are UTC).
    speed : "max", "realtime" or float, default "max"
        As for :class:`~quantlab.live.feeds.ReplayFeed`.

    Attributes
    ----------
    store : Store
    dropped : int - timestamps dropped because not every symbol held them.

    Raises
    ------
    DataError
        The folder does not exist; a symbol or timeframe is not stored (the message lists
        what is); no bar in ``[start, end]``; no timestamp common to every symbol.
    InvalidParameterError
        A malformed symbol, timeframe or bound.

    Warns
    -----
    DataQualityWarning
        Some timestamps were not held by every symbol and were dropped.

    Examples
    --------
    >>> feed = StoreFeed("~/quantlab-data", "BTC/USDT", "1h", start="2024-01-01")  # doctest: +SKIP
    >>> quantlab.live.run("config/live/btc.yaml", feed=feed)                     # doctest: +SKIP
    """

    def __init__(self, store_dir: str | os.PathLike[str], symbols: str | Sequence[str],
                 timeframe: str, *, start: Any = None, end: Any = None,
                 speed: Any = "max") -> None:
        store = Store(store_dir)
        store.check_exists(caller=_CALLER)
        names = check_symbols(symbols, caller=_CALLER)
        check_timeframe(timeframe, caller=_CALLER)
        _check_stored(store, names, timeframe)
        frames = {s: store.read(s, timeframe, start=start, end=end) for s in names}
        data, self.dropped = _align(frames)
        super().__init__(data, symbols=names, speed=speed, timeframe=_bar_length(timeframe))
        self.store = store
        self.timeframe_name = timeframe

    def __repr__(self) -> str:
        return (f"StoreFeed({str(self.store.root)!r}, {self.symbols!r}, "
                f"{self.timeframe_name!r}, bars={len(self)})")


def _check_stored(store: Store, symbols: list[str], timeframe: str) -> None:
    held = store.symbols()
    names = sorted(set(held["symbol"]))
    for symbol in symbols:
        if symbol not in names:
            listed = ", ".join(repr(n) for n in names[:20]) if names else "none (it is empty)"
            raise DataError(message(
                "symbols", _CALLER, f"symbols held by the store {str(store.root)!r}: {listed}",
                symbol, did_you_mean(symbol, names) or "Download it first: quantlab data "
                f"download EXCHANGE {symbol} {timeframe} --store {store.root}"))
        frames = sorted(held.loc[held["symbol"] == symbol, "timeframe"])
        if timeframe not in frames:
            raise DataError(message(
                "timeframe", _CALLER, f"a timeframe stored for {symbol!r}: {', '.join(frames)}",
                timeframe, did_you_mean(timeframe, frames)))


def _align(frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """One symbol: its frame; several: ``(field, symbol)`` columns on common timestamps."""
    names = list(frames)
    if len(names) == 1:
        data = frames[names[0]].copy()
        data.attrs["symbol"] = names[0]
        return data, 0
    common = frames[names[0]].index
    union = frames[names[0]].index
    for name in names[1:]:
        common = common.intersection(frames[name].index)
        union = union.union(frames[name].index)
    if len(common) == 0:
        raise DataError(f"{_CALLER}: the symbols {names} share no timestamp in the range "
                        "asked; replay them separately or widen `start`/`end`.")
    dropped = len(union) - len(common)
    if dropped:
        short = {n: int((~union.isin(frames[n].index)).sum()) for n in names}
        warnings.warn(f"{_CALLER}: {dropped} timestamp(s) not held by every symbol were "
                      f"dropped (missing per symbol: {short}); the runner sees them as gaps.",
                      DataQualityWarning, stacklevel=3)
    data = pd.concat({f: pd.DataFrame({n: frames[n].loc[common, f] for n in names})
                      for f in OHLCV}, axis=1)
    return data, dropped


def _bar_length(timeframe: str) -> pd.Timedelta | None:
    if timeframe.endswith(("M", "y")):
        return None   # uneven lengths: ReplayFeed uses the median spacing
    return timeframe_delta(timeframe)

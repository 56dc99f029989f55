"""Closed candles from an exchange's public klines endpoint, polled through ccxt.

:class:`CcxtPollingFeed` implements :class:`~quantlab.live.feeds.Feed` for the live runner
(RELIABILITY.md behaviour 10). Design decisions a demanding user would want written down:

- **Public data, unauthenticated client.** The feed calls only ``load_markets``,
  ``fetch_time`` and ``fetch_ohlcv``. It builds its own ccxt client without keys and refuses
  a client (or ``config``) carrying credentials: market data never needs them, and an
  unauthenticated client can never place an order.
- **The exchange's clock.** :meth:`CcxtPollingFeed.now` is the local clock plus an offset
  measured with ``fetch_time`` (server time minus the midpoint of the request), re-measured
  every ``resync_seconds``. The runner's stale check and the closed-bar test both use it.
  Only the successful attempt is timed (a retried call's timeouts and backoff sleeps would
  skew the midpoint), and a measurement whose round trip exceeds ``settle_seconds`` is
  discarded: its error (up to half the round trip) could let a forming bar pass as closed.
  The previous offset is kept and a ``"feed_error"`` alert says so.
- **Closed candles only.** A row is a closed bar when ``open + timeframe + settle_seconds
  <= exchange now`` *taken before the request was sent*; the still-forming bar (which the
  exchange serves with a partial close and volume) is dropped and fetched again once it has
  closed, so each bar is yielded once, with its final values. ``settle_seconds`` absorbs the
  uncertainty of the clock offset and the exchange's late trades at the boundary.
- **Deduplicated, ordered, per symbol.** Each request re-reads the last three bars already
  accepted (ccxt drops rows before ``since``, so without an overlap a late bar would be lost
  silently), so duplicates are normal and dropped silently; a duplicate whose values differ
  raises a ``"revised"`` alert (the first values are kept: a bar is never yielded twice). A
  bar older than the newest accepted bar of its symbol that was never seen (the exchange
  published it late) is **out of order**: dropped with an ``"out_of_order"`` alert.
- **Alignment and gap policy.** A timestamp is yielded when every symbol has its bar. If a
  symbol lacks a timestamp but already has a *later* closed bar, the exchange skipped it
  (no trades, an outage): with ``gap="skip"`` (default) the timestamp is dropped for every
  symbol, with ``gap="ffill"`` the missing symbol gets a flat bar at its previous close and
  zero volume; either way a ``"gap"`` alert names it. A symbol that has not reached the
  timestamp yet is waited for (the stale check bounds the wait).
- **Stale data.** After each poll, a symbol whose newest closed bar closed more than
  ``stale_bars`` bars ago (exchange clock) is stale: :attr:`CcxtPollingFeed.stale_reason`
  says which and since when, and a ``"stale"`` alert fires once (``"recovered"`` when fresh
  bars return). While a symbol is stale no aligned bar can be yielded, and a late bar that
  does arrive is judged stale by the runner's gate (its close is old on the exchange clock).
- **Errors: the broker's policy.** Every request goes through
  :class:`~quantlab.live.venue_policy.VenueCaller` (one retry policy for the whole live
  package): network errors, timeouts and 5xx are retried up to ``retries`` times with
  seeded full-jitter backoff (first ceiling ``backoff_seconds``); a 429 honours
  ``Retry-After`` (seconds or an HTTP date); a 418 blocks every request for its
  ``Retry-After`` or, without one, 120 s. A poll's retries and waits are bounded by
  ``poll_seconds``: a longer wait blocks requests and ends the poll instead of blocking in
  it. A poll that still fails raises a ``"feed_error"`` alert and the feed keeps polling (a
  failed poll is "no data", never "flat"). ``BadSymbol`` raises
  :class:`~quantlab.errors.DataError` and other definitive refusals
  :class:`~quantlab.errors.ExchangeError`: those are not retried. Authentication errors
  and bugs (a non-ccxt exception inside ccxt) raise the fatal
  :class:`~quantlab.live.venue_policy.VenueAuthError` /
  :class:`~quantlab.live.venue_policy.VenueBugError`.
- **Resume by time.** ``bars(after=t)`` starts right after ``t`` (the journal's last bar)
  and never yields ``t`` or anything before it; without ``after`` the feed starts with the
  last ``history`` closed bars (the strategy's warm-up).
- **Pacing.** After a poll the feed sleeps until the next bar is due (its close plus
  ``settle_seconds``), or ``poll_seconds`` while a due bar is late; never past ``until``.
- **Bounded.** ``max_polls`` and ``until`` end the iteration (tests, batch catch-ups); each
  request, retry and page loop is bounded. ``clock`` and ``sleep`` are injectable so tests
  drive a fake exchange clock deterministically.
- **Alerts** are kept in a bounded list (:meth:`CcxtPollingFeed.drain_alerts`), logged on
  ``quantlab.live.feed`` and passed to ``on_alert(kind, text)`` when given, so the runner
  can journal them even while no bar arrives.
"""

from __future__ import annotations

import inspect
import logging
import math
import time as _time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from quantlab._validate import (
    check_choice,
    check_float,
    check_int,
    check_timestamp,
    did_you_mean,
    message,
)
from quantlab.data.store import check_timeframe
from quantlab.errors import DataError, ExchangeError, InvalidParameterError
from quantlab.live.feeds import Bar, Feed, check_symbols
from quantlab.live.venue_policy import (
    Backoff,
    RequestGate,
    VenueBannedError,
    VenueCaller,
    VenueRejectedError,
    VenueUnavailableError,
    rewrite_urls,
)

__all__ = ["CcxtPollingFeed", "FeedAlert"]

_CALLER = "CcxtPollingFeed"
_PAGE = 500            # rows asked per request; pagination copes with exchanges giving fewer
_SEEN = 4096           # closed bars remembered per symbol for deduplication
_RECHECK = 3           # each request re-reads this many bars already held (late arrivals)
_ALERTS = 1000         # alerts kept until drained
_MAX_BACKOFF = 30.0    # longest single backoff sleep (seconds)
_CREDENTIALS = ("apiKey", "secret", "password", "uid", "privateKey", "walletAddress", "token")
log = logging.getLogger("quantlab.live.feed")

Row = tuple[float, float, float, float, float]


class FeedAlert(NamedTuple):
    """Something the runner should journal: ``kind`` is one of ``"out_of_order"``,
    ``"revised"``, ``"gap"``, ``"stale"``, ``"recovered"``, ``"feed_error"``."""

    kind: str
    message: str
    time: pd.Timestamp


class _PollFailed(Exception):
    """A request failed after its retries, or a ban is in force: this poll is lost."""


@dataclass
class _Track:
    """One symbol's stream: request cursor, newest accepted bar, dedup memory, pending bars."""

    cursor: int
    newest: int | None = None
    seen: OrderedDict[int, Row] = field(default_factory=OrderedDict)
    pending: dict[int, Row] = field(default_factory=dict)
    last_close: float = math.nan


@dataclass
class _Stream:
    """The state of one ``bars()`` iteration."""

    tracks: dict[str, _Track]
    floor: int                  # bars at or before this open time are not this iteration's
    last: int | None = None     # open time of the last aligned timestamp yielded or skipped
    phase: int = 0              # open times are phase + k * step (1w bars open on Mondays)
    start: int = 0


class CcxtPollingFeed(Feed):
    """Closed bars of one or more symbols, polled from an exchange's public klines.

    Parameters
    ----------
    exchange : str
        ccxt exchange id, e.g. ``"binance"``.
    symbols : str or sequence of str
        Unified symbols such as ``"BTC/USDT"``; bars are aligned across them.
    timeframe : str
        A fixed-length ccxt timeframe offered by the exchange (``"1m"`` .. ``"1w"``).
    client : ccxt Exchange, optional
        A synchronous, unauthenticated client of ``exchange`` (default: one built here).
    urls : str or mapping, optional
        Only when the client is built here: a base URL that replaces the scheme and host of
        every API URL (a proxy, a test server), or a mapping merged into ``urls["api"]``.
    config : mapping, optional
        Extra ccxt constructor settings for the client built here (``timeout``,
        ``options``...); credentials are refused.
    poll_seconds : float, default 5.0
        Pause between polls while a due bar has not arrived (and the longest wait for a
        ``Retry-After`` inside one poll); otherwise the feed sleeps until the next bar is due.
    settle_seconds : float, default 2.0
        A bar counts as closed once the exchange clock is this far past its close.
    history : int, default 500
        Closed bars yielded first on a fresh start (the warm-up); ignored with ``after``.
    stale_bars : int or None, default 2
        A symbol is stale when its newest closed bar closed more than this many bars ago;
        None turns the check off.
    gap : {"skip", "ffill"}, default "skip"
        What to do with a timestamp a symbol skipped (see the module notes).
    max_polls : int, optional
        End the iteration after this many polls (default: never).
    until : str or Timestamp, optional
        End the iteration at the first poll at or after this exchange time.
    retries : int, default 3
        Retries of a failed request within one poll.
    backoff_seconds : float, default 0.5
        Ceiling of the first retry delay (full jitter), doubled at each retry up to 30 s;
        ``Retry-After`` wins when given.
    resync_seconds : float, default 300.0
        Re-measure the exchange clock offset this often.
    clock : callable, optional
        Local time in epoch seconds (default ``time.time``).
    sleep : callable, optional
        Sleeps a number of seconds (default ``time.sleep``).
    on_alert : callable, optional
        Called as ``on_alert(kind, text)`` for every alert (e.g. the runner's journal).

    Attributes
    ----------
    symbols : list of str
    timeframe : Timedelta
    speed : str - always ``"realtime"`` (an exchange cannot be replayed faster).
    counts : dict - running totals: polls, requests, forming, duplicates, out_of_order,
        revised, gaps, failed_polls.

    Raises
    ------
    InvalidParameterError
        Unknown exchange or timeframe, a client with credentials, bad option values.

    Examples
    --------
    >>> feed = CcxtPollingFeed("binance", "BTC/USDT", "1h", history=48)  # doctest: +SKIP
    >>> for bar in feed.bars():                                          # doctest: +SKIP
    ...     print(bar.time, bar.close)
    """

    resume_by = "time"

    def __init__(self, exchange: str, symbols: str | Sequence[str], timeframe: str, *,
                 client: Any = None, urls: str | Mapping[str, str] | None = None,
                 config: Mapping[str, Any] | None = None, poll_seconds: float = 5.0,
                 settle_seconds: float = 2.0, history: int = 500,
                 stale_bars: int | None = 2, gap: str = "skip", max_polls: int | None = None,
                 until: Any = None, retries: int = 3, backoff_seconds: float = 0.5,
                 resync_seconds: float = 300.0, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 on_alert: Callable[[str, str], None] | None = None) -> None:
        self.symbols = check_symbols(symbols, caller=_CALLER)
        self._tf_text = _check_fixed_timeframe(timeframe)
        self.client = client if client is not None else _build_client(exchange, urls, config)
        _check_client(self.client, exchange,
                      client is not None and (urls is not None or config is not None))
        self._step = _timeframe_ms(self.client, self._tf_text)
        self.timeframe = pd.Timedelta(self._step, unit="ms")
        self.speed = "realtime"
        self.poll_seconds = check_float("poll_seconds", poll_seconds, caller=_CALLER,
                                        minimum=0.0, exclusive_minimum=True)
        self._settle = round(1000 * check_float("settle_seconds", settle_seconds,
                                                caller=_CALLER, minimum=0.0))
        self.history = check_int("history", history, caller=_CALLER, minimum=0)
        self.stale_bars = None if stale_bars is None else check_int(
            "stale_bars", stale_bars, caller=_CALLER, minimum=1)
        self.gap = check_choice("gap", gap, ("skip", "ffill"), caller=_CALLER)
        self.max_polls = None if max_polls is None else check_int(
            "max_polls", max_polls, caller=_CALLER, minimum=1)
        until_ts = check_timestamp("until", until, caller=_CALLER, allow_none=True)
        self._until = None if until_ts is None else int(until_ts.value // 1_000_000)
        self.retries = check_int("retries", retries, caller=_CALLER, minimum=0, maximum=20)
        self.backoff_seconds = check_float("backoff_seconds", backoff_seconds, caller=_CALLER,
                                           minimum=0.0)
        self.resync_seconds = check_float("resync_seconds", resync_seconds, caller=_CALLER,
                                          minimum=0.0)
        self._clock = clock if clock is not None else _time.time
        self._sleep = sleep if sleep is not None else _time.sleep
        self.on_alert = on_alert
        self._offset = 0.0
        self._synced_at = -math.inf
        self._caller = VenueCaller(
            backoff=Backoff(max_attempts=self.retries + 1, base_s=self.backoff_seconds,
                            cap_s=_MAX_BACKOFF, max_total_s=self.poll_seconds),
            gate=RequestGate(clock=self._clock), sleep=self._sleep, clock=self._clock,
            headers=lambda: getattr(self.client, "last_response_headers", None),
            venue=str(self.client.id))
        self._failing = False
        self._stale_reason: str | None = None
        self._alerts: deque[FeedAlert] = deque(maxlen=_ALERTS)
        self.counts = dict.fromkeys(("polls", "requests", "forming", "duplicates",
                                     "out_of_order", "revised", "gaps", "failed_polls"), 0)

    def __repr__(self) -> str:
        return (f"CcxtPollingFeed({self.client.id!r}, {self.symbols!r}, {self._tf_text!r}, "
                f"gap={self.gap!r})")

    # ---- clock ---------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        """The exchange's clock: local time plus the offset measured by :meth:`sync_clock`."""
        return pd.Timestamp(self._now_ms(), unit="ms", tz="UTC").as_unit("ns")

    def _now_ms(self) -> int:
        return round((self._clock() + self._offset) * 1000)

    def sync_clock(self) -> float:
        """Measure the exchange clock's offset from the local clock with ``fetch_time``.

        Returns
        -------
        float
            Exchange time minus local time, in seconds (0 when the exchange has no clock
            endpoint: the local clock is used).

        Raises
        ------
        ExchangeError
            The exchange refused the request (not a network error).
        """
        if not self.client.has.get("fetchTime"):
            self._offset, self._synced_at = 0.0, self._clock()
            return 0.0
        stamps: list[float] = []

        def timed() -> Any:  # only the attempt that succeeds is timed
            stamps[:] = [self._clock()]
            server = self.client.fetch_time()
            stamps.append(self._clock())
            return server

        try:
            server_ms = self._call("fetch_time()", timed)
        except _PollFailed as exc:
            raise ExchangeError(f"{_CALLER}: could not read {self.client.id}'s clock: {exc}. "
                                "Check the network and try again.") from exc
        before, after = stamps
        self._synced_at = after
        if after - before > self._settle / 1000.0:
            self._alert("feed_error", f"clock sync discarded: fetch_time took "
                        f"{after - before:.3f} s, more than settle_seconds "
                        f"({self._settle / 1000:g} s); the previous offset "
                        f"({self._offset:+.3f} s) is kept")
            return self._offset
        self._offset = float(server_ms) / 1000.0 - (before + after) / 2.0
        return self._offset

    # ---- alerts --------------------------------------------------------------------------
    @property
    def stale_reason(self) -> str | None:
        """Why the data is stale after the last poll (None when every symbol is fresh)."""
        return self._stale_reason

    def drain_alerts(self) -> list[FeedAlert]:
        """Return the alerts raised since the last call, oldest first, and forget them."""
        out = list(self._alerts)
        self._alerts.clear()
        return out

    def _alert(self, kind: str, text: str) -> None:
        self._alerts.append(FeedAlert(kind, text, self.now()))
        log.warning("%s: %s", kind, text)
        if self.on_alert is not None:
            self.on_alert(kind, text)

    # ---- iteration -----------------------------------------------------------------------
    def bars(self, *, skip: int = 0, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        """Yield closed bars, aligned across symbols, as they close on the exchange.

        Parameters
        ----------
        skip : int, default 0
            Drop the first ``skip`` bars of this iteration (a replay's resume by count; an
            exchange feed resumes with ``after``).
        after : Timestamp, optional
            Resume after this bar's open time (the journal's last bar): it and everything
            before it are never yielded. Default: the last ``history`` closed bars first.

        Raises
        ------
        DataError
            A symbol the exchange does not list (with a did-you-mean).
        ExchangeError
            The markets or the clock cannot be read at start.
        """
        remaining = check_int("skip", skip, caller=_CALLER, minimum=0)
        start = check_timestamp("after", after, caller=_CALLER, allow_none=True)
        stream = self._open(None if start is None else int(start.value // 1_000_000))
        polls = 0
        while self.max_polls is None or polls < self.max_polls:
            if polls:
                self._pause(stream)
            polls += 1
            for bar in self._poll(stream):
                if remaining:
                    remaining -= 1
                    continue
                yield bar
            self._check_stale(stream)
            if self._until is not None and self._now_ms() >= self._until:
                return

    def _open(self, after_ms: int | None) -> _Stream:
        try:
            self._call("load_markets()", self.client.load_markets)
        except _PollFailed as exc:
            raise ExchangeError(f"{_CALLER}: could not load {self.client.id}'s markets: {exc}. "
                                "Check the network and try again.") from exc
        markets = self.client.markets or {}
        for symbol in self.symbols:
            if symbol not in markets:
                hint = did_you_mean(symbol, list(markets)) or (
                    f"See {self.client.id}.symbols after load_markets().")
                raise DataError(message("symbols", _CALLER, f"markets of {self.client.id}",
                                        symbol, hint))
        self.sync_clock()
        if after_ms is not None:
            start = after_ms
        else:
            last_closed = self._floor(self._now_ms() - self._settle, 0) - self._step
            start = last_closed - (self.history - 1) * self._step
        tracks = {s: _Track(cursor=start) for s in self.symbols}
        return _Stream(tracks, floor=start - self._step if after_ms is None else after_ms,
                       start=start)

    def _floor(self, ms: int, phase: int) -> int:
        return (ms - phase) // self._step * self._step + phase

    def _pause(self, stream: _Stream) -> None:
        now = self._now_ms()
        step = self._step
        latest_closed = self._floor(now - self._settle, stream.phase) - step
        reached = stream.last if stream.last is not None else stream.floor
        if reached < latest_closed:
            wait = self.poll_seconds * 1000.0        # a due bar is late: poll again soon
        else:
            wait = float(latest_closed + 2 * step + self._settle - now)
        wait = max(wait, self._caller.gate.remaining() * 1000.0, 0.0)
        if self._until is not None:
            wait = max(min(wait, float(self._until - now)), 0.0)
        self._sleep(wait / 1000.0)
        if self._clock() - self._synced_at >= self.resync_seconds:
            try:
                self.sync_clock()
            except ExchangeError as exc:
                self._alert("feed_error", f"clock resync failed, the previous offset is kept: "
                            f"{exc}")

    # ---- one poll ------------------------------------------------------------------------
    def _poll(self, stream: _Stream) -> list[Bar]:
        self.counts["polls"] += 1
        errors = []
        for symbol, track in stream.tracks.items():
            closed_by = self._now_ms() - self._settle
            since = track.cursor if track.newest is None else (
                track.newest - (_RECHECK - 1) * self._step)
            try:
                rows = self._fetch(symbol, since, closed_by)
            except _PollFailed as exc:
                errors.append(f"{symbol}: {exc}")
                continue
            self._accept(stream, symbol, rows, closed_by)
        self._report_errors(errors)
        return self._align(stream)

    def _report_errors(self, errors: list[str]) -> None:
        if errors:
            self.counts["failed_polls"] += 1
            if not self._failing:
                wait = max(self.poll_seconds, self._caller.gate.remaining())
                self._alert("feed_error", "; ".join(errors) + f". Polling again in {wait:.3g} "
                            "s; no bar is yielded until it succeeds.")
            self._failing = True
        elif self._failing:
            self._failing = False
            self._alert("recovered", f"{self.client.id} answers again")

    def _fetch(self, symbol: str, since: int, closed_by: int) -> list[list[Any]]:
        """Rows from ``since`` up to the newest, paging until the next bar cannot be closed."""
        rows: list[list[Any]] = []
        cursor = since
        pages = max(1, (closed_by - since) // self._step + 2)  # each page advances >= 1 bar
        for _ in range(pages):
            page = self._call(f"fetch_ohlcv({symbol!r}, {self._tf_text!r}, since={cursor})",
                              self.client.fetch_ohlcv, symbol, self._tf_text, since=cursor,
                              limit=_PAGE)
            rows.extend(page)
            if not page:
                break
            newest = max(int(r[0]) for r in page)
            if newest < cursor or newest + 2 * self._step > closed_by:
                break
            cursor = newest + self._step
        return rows

    def _accept(self, stream: _Stream, symbol: str, rows: list[list[Any]],
                closed_by: int) -> None:
        track = stream.tracks[symbol]
        for row in rows:
            t = int(row[0])
            values = _values(row)
            if t + self._step > closed_by:
                self.counts["forming"] += 1
            elif t in track.seen or t <= stream.floor:
                self._duplicate(symbol, track, t, values)
            elif track.newest is not None and t < track.newest:
                self.counts["out_of_order"] += 1
                self._alert("out_of_order", f"out-of-order bar of {symbol} at {_ts(t)} "
                            f"(after {_ts(track.newest)}): dropped")
            else:
                if stream.last is None:
                    stream.phase = t % self._step
                track.seen[t] = values
                if len(track.seen) > _SEEN:
                    track.seen.popitem(last=False)
                track.pending[t] = values
                track.newest = t

    def _duplicate(self, symbol: str, track: _Track, t: int, values: Row) -> None:
        self.counts["duplicates"] += 1
        first = track.seen.get(t)
        if first is not None and not np.array_equal(first, values, equal_nan=True):
            self.counts["revised"] += 1
            self._alert("revised", f"the closed bar of {symbol} at {_ts(t)} changed on the "
                        f"exchange after it was received ({first} -> {values}): the first "
                        "values are kept")

    def _align(self, stream: _Stream) -> list[Bar]:
        tracks = stream.tracks
        out: list[Bar] = []
        for t in sorted(set().union(*(tr.pending for tr in tracks.values()))):
            missing = [s for s, tr in tracks.items() if t not in tr.pending]
            if any((n := tracks[s].newest) is None or n < t for s in missing):
                break  # a symbol has not reached t yet: wait for it
            bar = self._fill_gap(stream, t, missing) if missing else self._bar(stream, t, {})
            for tr in tracks.values():
                tr.pending.pop(t, None)
            stream.last = t
            if bar is not None:
                out.append(bar)
        return out

    def _fill_gap(self, stream: _Stream, t: int, missing: list[str]) -> Bar | None:
        self.counts["gaps"] += 1
        names = ", ".join(missing)
        fill = {s: stream.tracks[s].last_close for s in missing}
        if self.gap == "ffill" and all(math.isfinite(c) for c in fill.values()):
            self._alert("gap", f"gap: no bar of {names} at {_ts(t)}; filled flat at the "
                        "previous close with zero volume (gap='ffill')")
            return self._bar(stream, t, {s: (c, c, c, c, 0.0) for s, c in fill.items()})
        self._alert("gap", f"gap: no bar of {names} at {_ts(t)}; the timestamp is dropped for "
                    f"every symbol (gap={self.gap!r})")
        return None

    def _bar(self, stream: _Stream, t: int, filled: dict[str, Row]) -> Bar:
        rows = np.array([filled[s] if s in filled else tr.pending[t]
                         for s, tr in stream.tracks.items()], dtype=np.float64)
        for k, tr in enumerate(stream.tracks.values()):
            tr.last_close = float(rows[k, 3])
        time = pd.Timestamp(t, unit="ms", tz="UTC").as_unit("ns")
        return Bar(time, rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy(),
                   rows[:, 3].copy(), rows[:, 4].copy())

    def _check_stale(self, stream: _Stream) -> None:
        if self.stale_bars is None:
            return
        now = self._now_ms()
        limit = self.stale_bars * self._step
        lagging = []
        for symbol, tr in stream.tracks.items():
            ref = tr.newest if tr.newest is not None else stream.start - self._step
            age = now - (ref + self._step)
            if age > limit:
                lagging.append(f"{symbol}'s last closed bar ({_ts(ref)}) closed "
                               f"{pd.Timedelta(age, unit='ms')} ago")
        reason = None if not lagging else (
            f"stale data: {'; '.join(lagging)} at exchange time {_ts(now)} (> {self.stale_bars} "
            f"bars of {self._tf_text}); no fresh bar until the exchange serves newer ones")
        if reason is not None and self._stale_reason is None:
            self._alert("stale", reason)
        elif reason is None and self._stale_reason is not None:
            self._alert("recovered", f"fresh bars again (newest at {_ts(stream.last or 0)})")
        self._stale_reason = reason

    # ---- requests ------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ccxt under the venue policy; raise _PollFailed when this poll must give up."""
        def once() -> Any:
            self.counts["requests"] += 1
            return fn(*args, **kwargs)

        try:
            return self._caller.call(what, once)
        except (VenueBannedError, VenueUnavailableError) as exc:
            raise _PollFailed(str(exc)) from exc
        except VenueRejectedError as exc:
            if exc.error_class == "BadSymbol":
                raise DataError(f"{self.client.id} refused the symbol in {what}: {exc}") \
                    from exc
            raise ExchangeError(f"{self.client.id} refused {what}: {exc}. This is not "
                                "retried; check the symbols and the timeframe.") from exc


# ---- helpers -------------------------------------------------------------------------------
def _ts(ms: int) -> str:
    return str(pd.Timestamp(ms, unit="ms", tz="UTC"))


def _values(row: list[Any]) -> Row:
    try:
        o, h, lo, c, v = (math.nan if x is None else float(x) for x in row[1:6])
    except (TypeError, ValueError) as exc:
        raise DataError(message("rows", _CALLER, "ccxt OHLCV rows [ms, open, high, low, close, "
                                "volume]", row)) from exc
    return (o, h, lo, c, v)


def _check_fixed_timeframe(timeframe: Any) -> str:
    text = check_timeframe(timeframe, caller=_CALLER)
    if text.endswith(("M", "y")):
        raise InvalidParameterError(message("timeframe", _CALLER, "a fixed-length timeframe "
                                            "(up to 1w)", timeframe, "Months and years have "
                                            "uneven lengths: poll '1d' and resample."))
    return text


def _timeframe_ms(client: Any, timeframe: str) -> int:
    offered = getattr(client, "timeframes", None) or {}
    if offered and timeframe not in offered:
        raise InvalidParameterError(message("timeframe", _CALLER, f"a timeframe offered by "
                                            f"{client.id}: " + ", ".join(offered), timeframe,
                                            did_you_mean(timeframe, offered)))
    return int(client.parse_timeframe(timeframe) * 1000)


def _build_client(exchange: Any, urls: Any, config: Mapping[str, Any] | None) -> Any:
    import ccxt

    if not isinstance(exchange, str) or exchange.lower() not in ccxt.exchanges:
        hint = did_you_mean(exchange, ccxt.exchanges) if isinstance(exchange, str) else None
        raise InvalidParameterError(message("exchange", _CALLER, "a ccxt exchange id such as "
                                            "'binance'", exchange,
                                            hint or "See ccxt.exchanges for the list."))
    settings = dict(config or {})
    keys = [k for k in _CREDENTIALS if settings.get(k)]
    if keys:
        raise InvalidParameterError(message("config", _CALLER, "free of credentials (market "
                                            "data needs no keys)", f"a mapping with {keys}",
                                            "Remove them; the feed only reads public data."))
    client = getattr(ccxt, exchange.lower())({"enableRateLimit": True, "timeout": 10_000,
                                              **settings})
    if urls is not None:
        rewrite_urls(client, urls, caller=_CALLER)
    return client


def _check_client(client: Any, exchange: Any, urls_ignored: bool) -> None:
    import ccxt

    if not isinstance(client, ccxt.Exchange):
        raise InvalidParameterError(message("client", _CALLER, "a ccxt Exchange",
                                            type(client).__name__))
    if inspect.iscoroutinefunction(client.fetch_ohlcv):
        raise InvalidParameterError(message("client", _CALLER, "a synchronous ccxt client",
                                            f"the async {client.id} client",
                                            "Use ccxt.<id>() rather than ccxt.async_support."))
    if isinstance(exchange, str) and exchange.lower() != client.id:
        raise InvalidParameterError(message("exchange", _CALLER, f"the client's exchange "
                                            f"{client.id!r}", exchange))
    keys = [k for k in _CREDENTIALS if getattr(client, k, None)]
    if keys:
        raise InvalidParameterError(message("client", _CALLER, "an unauthenticated client "
                                            "(market data needs no keys)",
                                            f"a {client.id} client with {keys} set",
                                            "Pass client=None: the feed builds its own."))
    if urls_ignored:
        raise InvalidParameterError(message("urls", _CALLER, "None (and `config` None) when a "
                                            "client is given", "a value", "Configure and point "
                                            "the client yourself, or pass client=None."))
    if not client.has.get("fetchOHLCV"):
        raise InvalidParameterError(message("exchange", _CALLER, "an exchange with fetchOHLCV",
                                            client.id))

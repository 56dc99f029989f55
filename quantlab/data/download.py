"""Download OHLCV bars from an exchange through ccxt into a :class:`~quantlab.data.Store`."""

from __future__ import annotations

import inspect
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import (
    OHLCV,
    check_bool,
    check_int,
    check_ohlcv,
    check_timestamp,
    did_you_mean,
    message,
)
from quantlab.data.store import Store, check_symbol, check_timeframe
from quantlab.errors import DataError, DataQualityWarning, ExchangeError, InvalidParameterError

__all__ = ["download", "bars_from_ccxt"]

_CALLER = "download"


def bars_from_ccxt(rows: list[list[Any]], *, caller: str = _CALLER) -> pd.DataFrame:
    """Convert ccxt OHLCV rows ``[[ms, open, high, low, close, volume], ...]`` to normalized OHLCV.

    Parameters
    ----------
    rows : list of lists
        As returned by ``exchange.fetch_ohlcv``: open time in epoch milliseconds, then
        open, high, low, close, volume.

    Returns
    -------
    DataFrame
        Normalized OHLCV (float64 columns, UTC ``DatetimeIndex`` named ``time``, ns),
        sorted by time, duplicates dropped (last kept).

    Raises
    ------
    DataError
        Malformed rows or bad values (NaN, non-positive prices, negative volume).

    Examples
    --------
    >>> bars_from_ccxt([[1704067200000, 1.0, 2.0, 0.5, 1.5, 10.0]]).index[0]
    Timestamp('2024-01-01 00:00:00+0000', tz='UTC')
    """
    if not rows:
        index = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]", name="time")
        return pd.DataFrame({c: np.array([], dtype=np.float64) for c in OHLCV}, index=index)
    try:
        stamps = np.array([int(r[0]) for r in rows], dtype=np.int64)
        values = np.array([[np.nan if v is None else float(v) for v in r[1:6]] for r in rows],
                          dtype=np.float64)
    except (TypeError, ValueError, IndexError) as exc:
        raise DataError(message("rows", caller, "ccxt OHLCV rows [ms, open, high, low, close, volume]",
                                rows[0])) from exc
    if values.shape[1] != 5:
        raise DataError(message("rows", caller, "ccxt OHLCV rows [ms, open, high, low, close, volume]",
                                rows[0]))
    index = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ms", utc=True), name="time").as_unit("ns")
    frame = pd.DataFrame(values, index=index, columns=list(OHLCV))
    frame = frame.sort_index(kind="stable")
    frame = frame[~frame.index.duplicated(keep="last")]
    check_ohlcv(frame, caller=caller, name="bars")
    return frame


def _to_ms(value: Any, name: str, *, allow_none: bool) -> int | None:
    if value is None:
        if allow_none:
            return None
        raise InvalidParameterError(message(name, _CALLER, "a date such as '2024-01-01'", value))
    if isinstance(value, bool):
        raise InvalidParameterError(message(name, _CALLER, "a date such as '2024-01-01'", value))
    if isinstance(value, int | np.integer):
        return int(value)  # epoch milliseconds, ccxt's convention
    ts = check_timestamp(name, value, caller=_CALLER, remedy="Or pass epoch milliseconds (int).")
    return int(ts.value // 1_000_000)


def _client(exchange: Any) -> Any:
    import ccxt

    if isinstance(exchange, str):
        name = exchange.lower()
        if name not in ccxt.exchanges:
            hint = did_you_mean(name, ccxt.exchanges) or "See ccxt.exchanges for the list."
            raise InvalidParameterError(message("exchange", _CALLER, "a ccxt exchange id such as "
                                                "'binance' or a ccxt Exchange", exchange, hint))
        return getattr(ccxt, name)({"enableRateLimit": True})
    if not isinstance(exchange, ccxt.Exchange):
        raise InvalidParameterError(message("exchange", _CALLER, "a ccxt exchange id such as "
                                            "'binance' or a ccxt Exchange", type(exchange).__name__))
    if inspect.iscoroutinefunction(exchange.fetch_ohlcv):
        raise InvalidParameterError(message("exchange", _CALLER, "a synchronous ccxt client",
                                            f"the async {exchange.id} client",
                                            "Use ccxt.<id>() rather than ccxt.async_support.<id>()."))
    return exchange


def _retry_after(client: Any) -> float | None:
    headers = getattr(client, "last_response_headers", None) or {}
    try:
        raw = headers.get("Retry-After") or headers.get("retry-after")
    except AttributeError:
        return None
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class _Caller:
    """Calls ccxt with rate-limit pacing, bounded retries and quantlab errors."""

    def __init__(self, client: Any, *, max_retries: int, backoff: float, max_wait: float,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.requests = 0
        self._last = -math.inf

    def _pace(self) -> None:
        # ccxt throttles itself when enableRateLimit is on; otherwise keep rateLimit ms apart
        if getattr(self.client, "enableRateLimit", False):
            return
        gap = float(getattr(self.client, "rateLimit", 0) or 0) / 1000.0
        wait = self._last + gap - time.monotonic()
        if wait > 0:
            self.sleep(wait)

    def __call__(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import ccxt

        for attempt in range(self.max_retries + 1):
            self._pace()
            try:
                self.requests += 1
                return fn(*args, **kwargs)
            except ccxt.BadSymbol as exc:
                raise DataError(f"{self.client.id} refused the symbol in {what}: {exc}") from exc
            except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
                retry_after = _retry_after(self.client)
                wait = retry_after if retry_after is not None else self.backoff * 2 ** attempt
                self._give_up_or_wait(what, exc, attempt, wait, rate_limited=True)
            except ccxt.OperationFailed as exc:  # NetworkError, timeouts, 5xx, bad responses
                self._give_up_or_wait(what, exc, attempt, self.backoff * 2 ** attempt,
                                      rate_limited=False)
            except ccxt.BaseError as exc:  # ExchangeError and subclasses: never retried
                raise ExchangeError(f"{self.client.id} refused {what}: {type(exc).__name__}: "
                                    f"{exc}. This is not retried; check the symbol, timeframe "
                                    "and dates.") from exc
            finally:
                self._last = time.monotonic()
        raise AssertionError("unreachable")  # pragma: no cover

    def _give_up_or_wait(self, what: str, exc: Exception, attempt: int, wait: float, *,
                         rate_limited: bool) -> None:
        kind = "rate limited" if rate_limited else "failed"
        if wait > self.max_wait:
            raise ExchangeError(
                f"{self.client.id} {kind} {what} and asks to wait {wait:g} s, more than "
                f"max_wait={self.max_wait:g} s: {type(exc).__name__}: {exc}. Bars fetched so "
                "far are in the store; call download() again later to resume.") from exc
        if attempt >= self.max_retries:
            raise ExchangeError(
                f"{self.client.id} {kind} {what} {attempt + 1} times: {type(exc).__name__}: "
                f"{exc}. Bars fetched so far are in the store; call download() again to "
                "resume.") from exc
        self.sleep(wait)


def download(
    exchange: Any,
    symbol: str,
    timeframe: str,
    *,
    since: Any,
    until: Any = None,
    store: Store,
    limit: int | None = None,
    progress: bool = True,
    max_retries: int = 5,
    backoff: float = 1.0,
    max_wait: float = 120.0,
) -> pd.DataFrame:
    """Download closed OHLCV bars through ccxt into ``store``, resuming where it stopped.

    Parameters
    ----------
    exchange : str or ccxt.Exchange
        A ccxt exchange id (``"binance"``; a public client is built with
        ``enableRateLimit=True``) or a configured synchronous ccxt client.
    symbol : str
        Unified ccxt symbol, e.g. ``"BTC/USDT"``.
    timeframe : str
        One of the exchange's ``timeframes`` keys, e.g. ``"1m"``, ``"1h"``, ``"1d"``.
    since : str, Timestamp, datetime or int
        First bar open time wanted (ints are epoch milliseconds; naive dates are UTC).
    until : same types, optional
        Last bar open time wanted, inclusive. Default: the last closed bar.
    store : Store
        Where the bars go; each page is merged into it as soon as it arrives.
    limit : int, optional
        Bars per request (default: the exchange's default page size).
    progress : bool, default True
        Show a tqdm progress bar.
    max_retries : int, default 5
        Retries per request on transient errors (network, timeouts, 5xx, 429/418).
    backoff : float, default 1.0
        First retry delay in seconds, doubled at each retry (``Retry-After`` wins when the
        exchange sends one).
    max_wait : float, default 120.0
        Longest single wait accepted; a longer ``Retry-After`` (a ban) raises instead.

    Returns
    -------
    DataFrame
        The bars the store now holds with open time in ``[since, until]`` (normalized OHLCV,
        possibly empty), i.e. ``store.read(symbol, timeframe, start=since, end=until)``.

    Raises
    ------
    InvalidParameterError
        Unknown exchange id, timeframe not offered by the exchange, bad dates or options.
    DataError
        Unknown symbol (with a did-you-mean), malformed bars from the exchange.
    ExchangeError
        The exchange refused a request (never retried), or transient failures outlasted
        ``max_retries``/``max_wait``. Bars fetched before the failure stay in the store.

    Notes
    -----
    Resuming: when the store already holds bars for ``symbol``/``timeframe``, the download
    starts at ``max(since, last stored + 1 timeframe)``; when ``since`` is before the first
    stored bar, the missing head ``[since, first stored)`` is fetched too (that back-fill
    is written in one piece at its end, so an interruption cannot leave a hole in the
    middle). The forward part is written page by page.

    The still-forming bar is dropped: only bars with ``open + timeframe <= now`` are kept,
    where ``now`` is the exchange's clock (``fetch_time``) when available, else the local
    clock.

    Pacing: ccxt's own throttle when ``exchange.enableRateLimit`` is true, else a sleep of
    ``exchange.rateLimit`` ms between requests. ccxt ``OperationFailed`` errors (network
    errors, timeouts, ``ExchangeNotAvailable``, ``DDoSProtection``, ``RateLimitExceeded``,
    bad responses) are retried with exponential backoff; ``ExchangeError`` subclasses
    (``BadSymbol``, ``BadRequest``, ``AuthenticationError``...) are never retried.

    Examples
    --------
    >>> from quantlab.data import Store, download                  # doctest: +SKIP
    >>> df = download("binance", "BTC/USDT", "1h", since="2024-01-01",
    ...               store=Store("~/quantlab-data"))                # doctest: +SKIP
    """
    check_symbol(symbol, caller=_CALLER)
    check_timeframe(timeframe, caller=_CALLER)
    if not isinstance(store, Store):
        raise InvalidParameterError(message("store", _CALLER, "a quantlab.data.Store",
                                            type(store).__name__,
                                            "Create one with quantlab.data.Store(folder)."))
    since_ms = _to_ms(since, "since", allow_none=False)
    if since_ms is None:  # pragma: no cover - refused above
        raise InvalidParameterError(message("since", _CALLER, "a date", since))
    until_ms = _to_ms(until, "until", allow_none=True)
    if until_ms is not None and until_ms < since_ms:
        raise InvalidParameterError(message("until", _CALLER, "on or after `since`", until))
    if limit is not None:
        limit = check_int("limit", limit, caller=_CALLER, minimum=1)
    progress = check_bool("progress", progress, caller=_CALLER)
    max_retries = check_int("max_retries", max_retries, caller=_CALLER, minimum=0, maximum=20)
    for name, value in (("backoff", backoff), ("max_wait", max_wait)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and value >= 0):
            raise InvalidParameterError(message(name, _CALLER, "a finite number >= 0", value))

    client = _client(exchange)
    timeframes = getattr(client, "timeframes", None) or {}
    if timeframes and timeframe not in timeframes:
        raise InvalidParameterError(message("timeframe", _CALLER,
                                            f"a timeframe offered by {client.id}: "
                                            + ", ".join(timeframes), timeframe,
                                            did_you_mean(timeframe, timeframes)))
    if not client.has.get("fetchOHLCV"):
        raise InvalidParameterError(message("exchange", _CALLER, "an exchange with fetchOHLCV",
                                            client.id))
    call = _Caller(client, max_retries=max_retries, backoff=float(backoff),
                   max_wait=float(max_wait))
    call("load_markets()", client.load_markets)
    if symbol not in client.markets:
        hint = did_you_mean(symbol, client.symbols or []) or None
        raise DataError(message("symbol", _CALLER, f"a market of {client.id}", symbol,
                                hint or f"See {client.id}.symbols after load_markets()."))
    if timeframe.endswith(("M", "y")):
        # months and years have uneven lengths: a fixed step would skip bars and misjudge which
        # bar is still forming
        raise InvalidParameterError(message("timeframe", _CALLER, "a fixed-length timeframe (up to 1w)",
                                            timeframe, "Download '1d' and use quantlab.data.resample()."))
    step = int(client.parse_timeframe(timeframe) * 1000)

    now_ms = None
    if client.has.get("fetchTime"):
        try:
            now_ms = int(call("fetch_time()", client.fetch_time))
        except ExchangeError:
            now_ms = None
    if now_ms is None:
        now_ms = int(client.milliseconds())
    stop = now_ms - step  # last open time of a closed bar
    if until_ms is not None:
        stop = min(stop, until_ms)

    first = store.first_timestamp(symbol, timeframe)
    last = store.last_timestamp(symbol, timeframe)
    segments: list[tuple[int, int, bool]] = []  # (from, to inclusive, write per page)
    if last is None:
        segments.append((since_ms, stop, True))
    else:
        first_ms = int(first.value // 1_000_000) if first is not None else since_ms
        last_ms = int(last.value // 1_000_000)
        if since_ms < first_ms:
            segments.append((since_ms, min(stop, first_ms - 1), False))
        segments.append((max(since_ms, last_ms + step), stop, True))
    segments = [s for s in segments if s[0] <= s[1]]

    from tqdm.auto import tqdm

    total = sum((hi - lo) // step + 1 for lo, hi, _ in segments)
    with tqdm(total=total, unit="bar", desc=f"{client.id} {symbol} {timeframe}",
              disable=not progress, leave=True) as bar:
        for lo, hi, per_page in segments:
            _fetch_segment(call, client, store, symbol, timeframe, step, lo, hi, limit,
                           per_page, bar)
    if store.last_timestamp(symbol, timeframe) is None:
        return bars_from_ccxt([])
    end = pd.Timestamp(until_ms, unit="ms", tz="UTC") if until_ms is not None else None
    return store.read(symbol, timeframe, start=pd.Timestamp(since_ms, unit="ms", tz="UTC"),
                      end=end)


def _fetch_segment(call: _Caller, client: Any, store: Store, symbol: str, timeframe: str,
                   step: int, lo: int, hi: int, limit: int | None, per_page: bool,
                   bar: Any) -> None:
    cursor = lo
    held: list[pd.DataFrame] = []
    while cursor <= hi:
        rows = call(f"fetch_ohlcv({symbol!r}, {timeframe!r}, since={cursor})",
                    client.fetch_ohlcv, symbol, timeframe, since=cursor, limit=limit)
        if not rows:
            # an exchange that answers a gap (or a range before listing) with an empty page:
            # stop, but say so -- the bars from here on are missing until download() runs again
            warnings.warn(
                f"{client.id} returned no {symbol} {timeframe} bars from "
                f"{pd.Timestamp(cursor, unit='ms', tz='UTC')}; the download stopped there and "
                f"{(hi - cursor) // step + 1} bar(s) up to {pd.Timestamp(hi, unit='ms', tz='UTC')} "
                "are missing. Call download() again later to resume.",
                DataQualityWarning, stacklevel=3)
            break
        page = bars_from_ccxt(rows)
        stamps = page.index.asi8 // 1_000_000
        newest = int(stamps[-1])
        page = page[(stamps >= cursor) & (stamps <= hi)]
        if len(page):
            if per_page:
                store.write(page, symbol, timeframe)
            else:
                held.append(page)
            bar.update(len(page))
        if newest < cursor:  # the exchange went backwards: stop rather than loop
            break
        cursor = newest + step
    if held:
        store.write(pd.concat(held), symbol, timeframe)

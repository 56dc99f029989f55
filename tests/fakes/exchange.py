"""A fake Binance spot REST API on 127.0.0.1, for driving the *real* ccxt client in tests.

Usage::

    with fake_binance(symbols=("BTC/USDT",), now="2024-03-01 12:30") as (server, client):
        client.fetch_ohlcv("BTC/USDT", "1h", since=...)   # real ccxt, loopback HTTP only
        server.bars("BTC/USDT", "1h")                      # the truth, as a normalized frame
        server.inject("status", status=429, retry_after=1)  # next klines request gets a 429

Design (kept small and extensible for the live runner's order endpoints):

- :class:`FakeBinance` holds the state (markets, clock, request log, faults) and a route
  table ``{(method, path): handler}``; a handler takes a :class:`Request` and returns a
  :class:`Response`. Subclasses or callers add endpoints with :meth:`FakeBinance.route`.
- Bars are deterministic from ``(seed, symbol, interval)``: generated in blocks of 1000 by a
  counter-seeded numpy generator, prices rounded to 8 decimals so the JSON strings and the
  floats of :meth:`FakeBinance.bars` are the same numbers. ``open`` equals the previous
  ``close``; ``high >= max(open, close)``, ``low <= min(open, close)``, all > 0.
- The clock ``now`` (fixed, settable, or a callable) decides which bars exist: every bar
  with open time in ``[listing, now]``. The bar containing ``now`` is still forming: its
  close and volume are partial (interpolated by the elapsed fraction).
- Faults: :meth:`FakeBinance.inject` makes the next matching request(s) fail with an HTTP
  status (500, 429/418 with ``Retry-After``...), drop the connection, or be delayed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

__all__ = ["FakeBinance", "Request", "Response", "Fault", "fake_binance", "INTERVAL_MS"]

INTERVAL_MS: dict[str, int] = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
    "30m": 1_800_000, "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000,
    "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000,
    "1w": 604_800_000,
}
_BLOCK = 1000


def _ms(value: Any) -> int:
    if isinstance(value, int | np.integer):
        return int(value)
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def _fmt(x: float) -> str:
    return f"{x:.8f}"


@dataclass(frozen=True)
class Request:
    """One HTTP request as the server saw it (``params`` merges query string and form body)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    time_ms: int


@dataclass
class Response:
    """What a route handler returns: a status, a JSON-able body and extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, code: int, msg: str) -> Response:
        """Binance's error shape: ``{"code": -1121, "msg": "Invalid symbol."}``."""
        return cls(status, {"code": code, "msg": msg})


@dataclass
class Fault:
    """A fault applied to requests matching ``method`` and ``path`` (None = any).

    ``skip`` matching requests pass first; then the next ``times`` matching requests get
    ``kind``: ``"status"`` (reply ``status`` with ``body`` and, when set, ``Retry-After``),
    ``"drop"`` (close the connection without a reply) or ``"delay"`` (sleep ``delay``
    seconds, then answer normally).
    """

    kind: str
    path: str | None = "/api/v3/klines"
    method: str | None = None
    skip: int = 0
    times: int = 1
    status: int = 500
    retry_after: float | None = None
    body: Any = None
    delay: float = 0.0
    seen: int = 0
    fired: int = 0

    def matches(self, request: Request) -> bool:
        return ((self.path is None or self.path == request.path)
                and (self.method is None or self.method == request.method))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _serve(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if body and "json" not in (self.headers.get("Content-Type") or ""):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        request = Request(self.command, parts.path, params, dict(self.headers.items()), body,
                          fake.now_ms())
        response = fake.handle(request)
        if response is None:  # drop the connection without replying
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeBinance

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out or hung up is expected in fault tests: stay quiet
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeBinance:
    """A Binance-like spot REST server on ``127.0.0.1`` with deterministic bars and faults.

    Parameters
    ----------
    symbols : iterable of str
        Unified symbols such as ``"BTC/USDT"`` (base/quote).
    seed : int
        Seed of the bar generator.
    listing : str, Timestamp or int ms
        Open time of each market's first bar.
    now : str, Timestamp, int ms or callable returning ms
        The exchange clock (``/api/v3/time``, and which bars exist). Settable with
        :meth:`set_now`. Default: 5000 hours after ``listing`` plus 30 minutes.
    """

    def __init__(
        self,
        *,
        symbols: tuple[str, ...] | list[str] = ("BTC/USDT", "ETH/USDT"),
        seed: int = 0,
        listing: Any = "2024-01-01",
        now: Any = None,
    ) -> None:
        self.seed = int(seed)
        self.listing_ms = _ms(listing)
        self.markets: dict[str, dict[str, str]] = {}
        for symbol in symbols:
            base, quote = symbol.split("/")
            self.markets[base + quote] = {"symbol": symbol, "base": base, "quote": quote}
        self._clock: Callable[[], int] = lambda: 0
        self.set_now(now if now is not None else self.listing_ms + 5000 * 3_600_000 + 1_800_000)
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {}
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._blocks: dict[tuple[str, str, int], tuple[np.ndarray, ...]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.route("GET", "/api/v3/ping", lambda request: Response(200, {}))
        self.route("GET", "/api/v3/time", self._time)
        self.route("GET", "/api/v3/exchangeInfo", self._exchange_info)
        self.route("GET", "/api/v3/klines", self._klines)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeBinance:
        """Bind ``127.0.0.1`` on a free port and serve from a daemon thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.fake = self
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeBinance:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("FakeBinance is not started; call start() or use it in a with block")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client(self, **config: Any) -> Any:
        """Return a real ``ccxt.binance`` client whose every API base URL points here."""
        import ccxt

        settings = {"enableRateLimit": True, "timeout": 5000}
        settings.update(config)
        exchange = ccxt.binance(settings)
        point_ccxt_at(exchange, self.url)
        return exchange

    # ------------------------------------------------------------------ state
    def route(self, method: str, path: str, handler: Callable[[Request], Response]) -> None:
        """Register (or replace) the handler of ``method path``."""
        self.routes[(method.upper(), path)] = handler

    def set_now(self, now: Any) -> None:
        """Set the exchange clock: a time (fixed) or a callable returning epoch ms."""
        if callable(now):
            self._clock = now
        else:
            fixed = _ms(now)
            self._clock = lambda: fixed

    def now_ms(self) -> int:
        """The exchange's current time in epoch milliseconds."""
        return int(self._clock())

    def inject(self, kind: str, **options: Any) -> Fault:
        """Add a :class:`Fault` (see its fields) and return it; faults apply in order."""
        if kind not in ("status", "drop", "delay"):
            raise ValueError(f"fault kind must be 'status', 'drop' or 'delay'; got {kind!r}")
        fault = Fault(kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def requests_to(self, path: str) -> list[Request]:
        """The logged requests to ``path``, in arrival order."""
        with self.lock:
            return [r for r in self.requests if r.path == path]

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: Request) -> Response | None:
        """Log ``request``, apply faults, route it. None means: drop the connection."""
        with self.lock:
            self.requests.append(request)
            fault = None
            for candidate in self.faults:
                if candidate.fired < candidate.times and candidate.matches(request):
                    candidate.seen += 1
                    if candidate.seen > candidate.skip:
                        candidate.fired += 1
                        fault = candidate
                        break
        if fault is not None:
            if fault.kind == "drop":
                return None
            if fault.kind == "status":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                body = fault.body if fault.body is not None else {
                    "code": -1003 if fault.status in (418, 429) else -1000,
                    "msg": "Too many requests." if fault.status in (418, 429)
                    else "An unknown error occurred while processing the request."}
                return Response(fault.status, body, headers)
            time.sleep(fault.delay)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return Response.error(404, -1, f"Unknown endpoint {request.method} {request.path}")
        return handler(request)

    # ------------------------------------------------------------------ endpoints
    def _time(self, request: Request) -> Response:
        return Response(200, {"serverTime": self.now_ms()})

    def _exchange_info(self, request: Request) -> Response:
        symbols = []
        for market_id, market in self.markets.items():
            symbols.append({
                "symbol": market_id, "status": "TRADING",
                "baseAsset": market["base"], "baseAssetPrecision": 8,
                "quoteAsset": market["quote"], "quotePrecision": 8, "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                               "TAKE_PROFIT_LIMIT"],
                "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
                "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
                "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                     "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001000",
                     "maxQty": "9000.00000000", "stepSize": "0.00001000"},
                    {"filterType": "NOTIONAL", "minNotional": "5.00000000",
                     "applyMinToMarket": True, "maxNotional": "9000000.00000000",
                     "applyMaxToMarket": False, "avgPriceMins": 5},
                    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                ],
                "permissions": [], "permissionSets": [["SPOT"]],
                "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
            })
        return Response(200, {
            "timezone": "UTC", "serverTime": self.now_ms(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
                 "limit": 100},
            ],
            "exchangeFilters": [], "symbols": symbols,
        })

    def _klines(self, request: Request) -> Response:
        p = request.params
        market_id = p.get("symbol", "")
        if market_id not in self.markets:
            return Response.error(400, -1121, "Invalid symbol.")
        interval = p.get("interval", "")
        if interval not in INTERVAL_MS:
            return Response.error(400, -1120, "Invalid interval.")
        try:
            limit = int(p.get("limit", 500))
            start = int(p["startTime"]) if "startTime" in p else None
            end = int(p["endTime"]) if "endTime" in p else None
        except ValueError:
            return Response.error(400, -1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= 1000:
            return Response.error(400, -1130, "Invalid data sent for a parameter.")
        step = INTERVAL_MS[interval]
        now = request.time_ms
        last = (now - self.listing_ms) // step  # index of the bar containing now
        if last < 0:
            return Response(200, [])
        lo = 0 if start is None else max(0, -(-(start - self.listing_ms) // step))
        hi = last if end is None else min(last, (end - self.listing_ms) // step)
        if hi < lo:
            return Response(200, [])
        if start is None:
            lo = max(lo, hi - limit + 1)
        else:
            hi = min(hi, lo + limit - 1)
        rows = self._rows(self.markets[market_id]["symbol"], interval, lo, hi + 1, now)
        return Response(200, rows)

    # ------------------------------------------------------------------ bars
    def _block(self, symbol: str, interval: str, block: int) -> tuple[np.ndarray, ...]:
        key = (symbol, interval, block)
        with self.lock:
            if key in self._blocks:
                return self._blocks[key]
            if block == 0:
                prev_close = float(100 + zlib.crc32(symbol.encode()) % 900)
            else:
                prev_close = float(self._block(symbol, interval, block - 1)[3][-1])
            rng = np.random.default_rng([self.seed, zlib.crc32(f"{symbol}|{interval}".encode()),
                                         block])
            scale = 0.002 * np.sqrt(INTERVAL_MS[interval] / 60_000)
            returns = rng.normal(0.0, min(scale, 0.05), _BLOCK)
            close = np.round(prev_close * np.exp(np.cumsum(returns)), 8)
            open_ = np.concatenate([[prev_close], close[:-1]])
            up = np.abs(rng.normal(0.0, min(scale, 0.05) / 2, _BLOCK))
            down = np.abs(rng.normal(0.0, min(scale, 0.05) / 2, _BLOCK))
            high = np.round(np.maximum(open_, close) * (1 + up), 8)
            low = np.round(np.minimum(open_, close) * (1 - np.minimum(down, 0.5)), 8)
            volume = np.round(rng.lognormal(3.0, 1.0, _BLOCK), 8)
            trades = rng.integers(1, 5000, _BLOCK)
            self._blocks[key] = (open_, high, low, close, volume, trades)
            return self._blocks[key]

    def _arrays(self, symbol: str, interval: str, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        """Final (closed) values of bars ``lo .. hi-1`` (indices from the listing)."""
        if hi <= lo:
            return tuple(np.empty(0) for _ in range(6))
        blocks = [self._block(symbol, interval, b) for b in range(lo // _BLOCK, (hi - 1) // _BLOCK + 1)]
        offset = (lo // _BLOCK) * _BLOCK
        return tuple(np.concatenate([blk[i] for blk in blocks])[lo - offset:hi - offset]
                     for i in range(6))

    def _rows(self, symbol: str, interval: str, lo: int, hi: int, now: int) -> list[list[Any]]:
        step = INTERVAL_MS[interval]
        open_, high, low, close, volume, trades = (a.copy() for a in
                                                   self._arrays(symbol, interval, lo, hi))
        opens_ms = self.listing_ms + step * np.arange(lo, hi, dtype=np.int64)
        if len(opens_ms) and opens_ms[-1] + step > now:  # still forming: partial close/volume
            frac = (now - opens_ms[-1]) / step
            close[-1] = round(open_[-1] + (close[-1] - open_[-1]) * frac, 8)
            volume[-1] = round(volume[-1] * frac, 8)
            trades[-1] = int(trades[-1] * frac)
        rows = []
        for i in range(len(opens_ms)):
            t = int(opens_ms[i])
            c, v = close[i], volume[i]
            rows.append([t, _fmt(open_[i]), _fmt(high[i]), _fmt(low[i]), _fmt(c), _fmt(v),
                         t + step - 1, _fmt(c * v), int(trades[i]), _fmt(v / 2),
                         _fmt(c * v / 2), "0"])
        return rows

    def bars(self, symbol: str, interval: str, *, start: Any = None, end: Any = None,
             include_forming: bool = False) -> pd.DataFrame:
        """The bars the server serves, as normalized OHLCV (the oracle for download tests).

        Closed bars with open time in ``[start, end]`` (inclusive; default: listing .. now);
        with ``include_forming`` the bar containing ``now`` is added with its partial values.
        """
        step = INTERVAL_MS[interval]
        now = self.now_ms()
        last = (now - self.listing_ms) // step
        hi = last + 1 if include_forming else last  # bar `last` is forming unless now is its end
        if not include_forming and self.listing_ms + step * (last + 1) <= now:
            hi = last + 1
        lo = 0
        if start is not None:
            lo = max(0, -(-(_ms(start) - self.listing_ms) // step))
        if end is not None:
            hi = min(hi, (_ms(end) - self.listing_ms) // step + 1)
        rows = self._rows(symbol, interval, lo, max(hi, lo), now)
        index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], unit="ms", utc=True),
                                 name="time").as_unit("ns")
        data = {name: np.array([float(r[k]) for r in rows], dtype=np.float64)
                for k, name in enumerate(("open", "high", "low", "close", "volume"), start=1)}
        return pd.DataFrame(data, index=index)


def point_ccxt_at(exchange: Any, base_url: str) -> None:
    """Rewrite every API base URL of a ccxt ``binance`` client to ``base_url``.

    Also keeps market loading to the spot endpoint only (``options['fetchMarkets']`` =
    ``{'types': ['spot']}``, ccxt 4.5's shape), and turns off the private currency and
    margin look-ups and proxy settings from the environment.
    """
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            parts = urlsplit(url)
            exchange.urls["api"][name] = base_url.rstrip("/") + parts.path
    fetch_markets = exchange.options.get("fetchMarkets")
    if isinstance(fetch_markets, dict):
        exchange.options["fetchMarkets"] = {**fetch_markets, "types": ["spot"]}
    else:
        exchange.options["fetchMarkets"] = {"types": ["spot"]}
    exchange.options["fetchCurrencies"] = False
    exchange.options["fetchMargins"] = False
    exchange.session.trust_env = False  # never route 127.0.0.1 through an env proxy


@contextlib.contextmanager
def fake_binance(**options: Any) -> Iterator[tuple[FakeBinance, Any]]:
    """Start a :class:`FakeBinance` and yield ``(server, ccxt_client)``; stop it on exit.

    ``client`` options (``rateLimit``, ``timeout``...) go in ``client={...}``; the rest go
    to :class:`FakeBinance`.
    """
    client_config = options.pop("client", {})
    server = FakeBinance(**options)
    with server:
        client = server.client(**client_config)
        try:
            yield server, client
        finally:
            with contextlib.suppress(Exception):
                client.session.close()

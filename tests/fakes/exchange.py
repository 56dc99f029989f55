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
  status (500, 429/418 with ``Retry-After``...), drop the connection, or be delayed. With
  ``commit=True`` the request is executed first (an order is booked on the ledger) and *then*
  the fault replaces the answer: the "timeout / reset / 5xx / status unknown after the
  exchange committed" case of RELIABILITY.md T5-T6.

Trading side (``/api/v3/order``, ``openOrders``, ``myTrades``, ``account``): the state lives
in :class:`tests.fakes.ledger.Ledger` (``server.ledger``), the ground truth of broker tests.
USDⓈ-M perpetuals for ``ccxt.binanceusdm`` (``/fapi/v1/exchangeInfo``, ``order``,
``openOrders``, ``userTrades``, ``leverage``, ``leverageBracket``, ``/fapi/v3/positionRisk``,
``/fapi/v3/account``) book into :class:`tests.fakes.ledger.FuturesLedger`
(``server.futures``: positions, leverage, reduce-only, margin); both books share the prices.

- Signed endpoints check the ``X-MBX-APIKEY`` header (-2015, HTTP 401), the HMAC-SHA256
  signature of the query string plus body with the configured secret (-1022), and
  ``timestamp``/``recvWindow`` (default 5000 ms) against the **wall clock** of the server:
  ``time.time()`` plus :attr:`FakeBinance.skew_ms` (-1021). The wall clock is separate from the
  bar clock ``now`` (which stays in the past so bars are deterministic); ``/api/v3/time``
  serves the bar clock by default (the download tests rely on it) and the wall clock with
  ``time_source="wall"`` (what a client resyncing its clock must see).
- A MARKET order fills at :meth:`FakeBinance.price`: the close of the forming 1m bar at
  ``now`` (exactly what klines serves), unless :meth:`FakeBinance.set_price` pinned one.
  LIMIT orders rest until :meth:`FakeBinance.fill` or until the price crosses them (checked on
  every trading request).
- Scripted trouble: :meth:`maintenance`, :meth:`hide_orders` (queries answer -2013 "Order does
  not exist." for a while), :meth:`duplicate_trades` (myTrades repeats each trade),
  :meth:`set_skew` (clock skew), :meth:`place_by_hand` (an order the runner never made).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

from tests.fakes._loopback import LoopbackFake, LoopbackServer
from tests.fakes.ledger import (
    OPEN,
    FuturesLedger,
    Ledger,
    LedgerError,
    Order,
    SymbolRules,
    Trade,
)

__all__ = ["FakeBinance", "Request", "Response", "Fault", "fake_binance", "INTERVAL_MS",
           "point_ccxt_at", "SymbolRules"]

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


def _dec(x: Decimal) -> str:
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
    query: str = ""
    received_s: float = 0.0
    """``time.monotonic()`` at arrival (measures client-side waits independently)."""


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
    ``kind``: ``"status"`` (reply ``status`` with ``body`` and, when set, ``Retry-After``: a
    number, or a string sent verbatim such as an HTTP date),
    ``"drop"`` (close the connection without a reply) or ``"delay"`` (sleep ``delay``
    seconds, then answer normally). With ``commit`` the request is executed first (its
    effects stay on the ledger) and the fault then replaces the answer.
    """

    kind: str
    path: str | None = "/api/v3/klines"
    method: str | None = None
    skip: int = 0
    times: int = 1
    status: int = 500
    retry_after: float | str | None = None
    body: Any = None
    delay: float = 0.0
    commit: bool = False
    seen: int = 0
    fired: int = 0

    def matches(self, request: Request) -> bool:
        return ((self.path is None or self.path == request.path)
                and (self.method is None or self.method == request.method))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: headers and body go out in two sends; with Nagle's algorithm the body waits for the
    #: client's delayed ACK (~40 ms per request on Linux)
    disable_nagle_algorithm = True
    server: LoopbackServer

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
                          fake.now_ms(), parts.query, time.monotonic())
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


class FakeBinance(LoopbackFake):
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
    api_key, secret : str
        The credentials signed requests must carry (HMAC-SHA256 of query + body).
    balances : dict, optional
        Starting free balances per asset (default 100 000 of each quote asset).
    fee_rate : float or str, default 0.001
        Commission rate, charged in the quote asset.
    rules : dict, optional
        ``{unified symbol: SymbolRules}``: each market's LOT_SIZE / PRICE_FILTER / NOTIONAL.
    recv_window_ms : int, default 5000
        The receive window when a request sends none.
    time_source : "bars" or "wall"
        What ``/api/v3/time`` serves: the bar clock (default) or the wall clock with skew.
    """

    handler = _Handler
    name = "FakeBinance"

    def __init__(
        self,
        *,
        symbols: tuple[str, ...] | list[str] = ("BTC/USDT", "ETH/USDT"),
        seed: int = 0,
        listing: Any = "2024-01-01",
        now: Any = None,
        api_key: str = "fake-api-key",
        secret: str = "fake-api-secret",
        balances: dict[str, Any] | None = None,
        fee_rate: Any = "0.001",
        rules: dict[str, SymbolRules] | None = None,
        recv_window_ms: int = 5000,
        time_source: str = "bars",
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
        self.route("GET", "/api/v3/ping", lambda request: Response(200, {}))
        self.route("GET", "/api/v3/time", self._time)
        self.route("GET", "/api/v3/exchangeInfo", self._exchange_info)
        self.route("GET", "/api/v3/klines", self._klines)
        self.api_key, self.secret = api_key, secret
        self.recv_window_ms = int(recv_window_ms)
        self.time_source = time_source
        self.skew_ms = 0
        self.prices: dict[str, Decimal] = {}
        self.hidden = 0
        self.duplicated = 0
        self.ledger = Ledger({m: (v["base"], v["quote"]) for m, v in self.markets.items()},
                             balances=balances, fee_rate=fee_rate,
                             rules={self._market_id(k): v for k, v in (rules or {}).items()})
        self.route("POST", "/api/v3/order", self._post_order)
        self.route("GET", "/api/v3/order", self._get_order)
        self.route("DELETE", "/api/v3/order", self._delete_order)
        self.route("GET", "/api/v3/openOrders", self._open_orders)
        self.route("GET", "/api/v3/allOrders", self._all_orders)
        self.route("GET", "/api/v3/myTrades", self._my_trades)
        self.route("GET", "/api/v3/account", self._account)
        self.futures = FuturesLedger({m: (v["base"], v["quote"]) for m, v in self.markets.items()},
                                     rules={self._market_id(k): v
                                            for k, v in (rules or {}).items()})
        self.route("GET", "/fapi/v1/ping", lambda request: Response(200, {}))
        self.route("GET", "/fapi/v1/time", self._time)
        self.route("GET", "/fapi/v1/exchangeInfo", self._futures_info)
        for method, handler in (("POST", self._post_order), ("GET", self._get_order),
                                ("DELETE", self._delete_order)):
            self.route(method, "/fapi/v1/order", handler)
        self.route("GET", "/fapi/v1/openOrders", self._open_orders)
        self.route("GET", "/fapi/v1/allOrders", self._all_orders)
        self.route("GET", "/fapi/v1/userTrades", self._my_trades)
        self.route("POST", "/fapi/v1/leverage", self._set_leverage)
        self.route("GET", "/fapi/v1/leverageBracket", self._leverage_bracket)
        self.route("GET", "/fapi/v3/positionRisk", self._position_risk)
        self.route("GET", "/fapi/v3/account", self._futures_account)

    # ------------------------------------------------------------------ lifecycle

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

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        """The logged requests to ``path`` (and ``method`` when given), in arrival order."""
        with self.lock:
            return [r for r in self.requests
                    if r.path == path and (method is None or r.method == method)]

    def request_counts(self) -> Counter[tuple[str, str]]:
        """How many requests each ``(method, path)`` received."""
        with self.lock:
            return Counter((r.method, r.path) for r in self.requests)

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
        committed = None
        if fault is not None and fault.commit:
            route = self.routes.get((request.method, request.path))
            if route is not None:
                committed = route(request)  # executed (and booked), then the answer is lost
        if fault is not None:
            if fault.kind == "drop":
                return None
            if fault.kind == "status":
                headers = {}
                if isinstance(fault.retry_after, str):   # sent as is (an HTTP date, "inf")
                    headers["Retry-After"] = fault.retry_after
                elif fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                body = fault.body if fault.body is not None else {
                    "code": -1003 if fault.status in (418, 429) else -1000,
                    "msg": "Too many requests." if fault.status in (418, 429)
                    else "An unknown error occurred while processing the request."}
                return Response(fault.status, body, headers)
            time.sleep(fault.delay)
            if committed is not None:
                return committed
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return Response.error(404, -1, f"Unknown endpoint {request.method} {request.path}")
        return handler(request)

    # ------------------------------------------------------------------ endpoints
    def _time(self, request: Request) -> Response:
        served = self.wall_ms() if self.time_source == "wall" else self.now_ms()
        return Response(200, {"serverTime": served})

    def _exchange_info(self, request: Request) -> Response:
        symbols = []
        for market_id, market in self.markets.items():
            r = self.ledger.rules[market_id]
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
                    {"filterType": "PRICE_FILTER", "minPrice": _dec(r.min_price),
                     "maxPrice": _dec(r.max_price), "tickSize": _dec(r.tick)},
                    {"filterType": "LOT_SIZE", "minQty": _dec(r.min_qty),
                     "maxQty": _dec(r.max_qty), "stepSize": _dec(r.step)},
                    {"filterType": "NOTIONAL", "minNotional": _dec(r.min_notional),
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

    # ------------------------------------------------------------------ trading: helpers
    def _market_id(self, symbol: str) -> str:
        return symbol.replace("/", "")

    def wall_ms(self) -> int:
        """The server's wall clock (``time.time()`` plus :attr:`skew_ms`) for ``recvWindow``."""
        return int(time.time() * 1000) + self.skew_ms

    def set_skew(self, skew_ms: int) -> None:
        """Move the server's wall clock by ``skew_ms`` (positive: the server is ahead)."""
        self.skew_ms = int(skew_ms)

    def price(self, symbol: str) -> Decimal:
        """The market price now: a pinned price, else the forming 1m bar's close (exact)."""
        if symbol in self.prices:
            return self.prices[symbol]
        now = self.now_ms()
        last = (now - self.listing_ms) // INTERVAL_MS["1m"]
        return Decimal(self._rows(symbol, "1m", last, last + 1, now)[0][4])

    def set_price(self, symbol: str, price: Any) -> None:
        """Pin the market price of ``symbol`` (resting limit orders it crosses fill)."""
        self.prices[symbol] = Decimal(str(price))
        self._match_all()

    def fill(self, client_id: str, qty: Any = None, price: Any = None, *,
             force: bool = False) -> Trade:
        """Fill ``qty`` (default all) of the open order ``client_id`` (scripted partial fills).

        ``force=True`` fills a CANCELED order: the fill the exchange reports after a cancel.
        """
        orders = self.ledger.by_client_id(client_id)
        if not orders:
            raise KeyError(f"no order with client id {client_id!r} on the ledger")
        return self.ledger.fill(orders[-1], None if qty is None else Decimal(str(qty)),
                                None if price is None else Decimal(str(price)),
                                now_ms=self.now_ms(), force=force)

    def place_by_hand(self, symbol: str, side: str, qty: Any, price: Any = None, *,
                      client_id: str = "web_by_hand_0001") -> Order:
        """Book an order the runner never made (a LIMIT when ``price`` is given)."""
        return self.ledger.place(self._market_id(symbol), side.upper(),
                                 "MARKET" if price is None else "LIMIT", str(qty),
                                 None if price is None else str(price), client_id,
                                 now_ms=self.now_ms(), market_price=self.price(symbol),
                                 by_hand=True)

    def maintenance(self, times: int) -> Fault:
        """The next ``times`` requests (any path) get 503 "System is under maintenance."."""
        return self.inject("status", path=None, status=503, times=times,
                           body={"code": 1, "msg": "System is under maintenance."})

    def hide_orders(self, times: int) -> None:
        """The next ``times`` order queries answer -2013 "Order does not exist." (and open
        orders omit the order): the order is not visible for a while."""
        self.hidden = int(times)

    def duplicate_trades(self, times: int) -> None:
        """The next ``times`` myTrades answers list every trade twice."""
        self.duplicated = int(times)

    def _match_all(self) -> None:
        for book in (self.ledger, self.futures):
            with book.lock:
                for market_id, market in self.markets.items():
                    if book.open_orders(market_id):
                        book.match(market_id, self.price(market["symbol"]), self.now_ms())

    def _auth(self, request: Request) -> Response | None:
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return Response.error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        raw = request.query + ("&" if request.query and request.body else "") + \
            request.body.decode("utf-8", "replace")
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature, expected):
            return Response.error(400, -1022, "Signature for this request is not valid.")
        try:
            stamp = int(request.params["timestamp"])
            window = int(request.params.get("recvWindow", self.recv_window_ms))
        except (KeyError, ValueError):
            return Response.error(400, -1102, "Mandatory parameter 'timestamp' was not sent, "
                                              "was empty/null, or malformed.")
        wall = self.wall_ms()
        if stamp > wall + 1000 or wall - stamp > window:
            return Response.error(400, -1021, "Timestamp for this request is outside of the "
                                              "recvWindow.")
        return None

    def _signed(self, request: Request, action: Callable[[], Response]) -> Response:
        refused = self._auth(request)
        if refused is not None:
            return refused
        try:
            self._match_all()
            return action()
        except LedgerError as exc:
            return Response.error(exc.status, exc.code, exc.msg)

    def _book(self, request: Request) -> Ledger:
        return self.futures if request.path.startswith("/fapi") else self.ledger

    def _order_json(self, o: Order, fut: bool = False) -> dict[str, Any]:
        out = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
               "clientOrderId": o.client_id, "price": _dec(o.price or Decimal(0)),
               "origQty": _dec(o.qty), "executedQty": _dec(o.executed),
               "cummulativeQuoteQty": _dec(o.quote), "status": o.status,
               "timeInForce": "GTC", "type": o.type, "side": o.side, "stopPrice": "0.00000000",
               "icebergQty": "0.00000000", "time": o.time_ms, "updateTime": o.update_ms,
               "isWorking": o.status in OPEN, "workingTime": o.time_ms,
               "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE"}
        if fut:
            avg = o.quote / o.executed if o.executed else Decimal(0)
            out.update({"avgPrice": _dec(avg), "cumQuote": _dec(o.quote), "cumQty": _dec(
                o.executed), "reduceOnly": o.reduce_only, "closePosition": False,
                "positionSide": "BOTH", "origType": o.type, "priceProtect": False,
                "goodTillDate": 0, "priceMatch": "NONE"})
        return out

    def _find(self, request: Request) -> Order | None:
        p = request.params
        order_id = int(p["orderId"]) if p.get("orderId") else None
        client_id = p.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise LedgerError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent,"
                                          " but both were empty/null!")
        return self._book(request).find(p.get("symbol", ""), client_id=client_id,
                                        order_id=order_id)

    # ------------------------------------------------------------------ trading: endpoints
    def _post_order(self, request: Request) -> Response:
        def action() -> Response:
            p, book = request.params, self._book(request)
            fut = book is self.futures
            client_id = p.get("newClientOrderId") or f"x-fake-{len(book.orders) + 1}"
            market_id = p.get("symbol", "")
            market = self.markets.get(market_id)
            px = self.price(market["symbol"]) if market else Decimal(0)
            order = book.place(market_id, p.get("side", ""), p.get("type", ""),
                               p.get("quantity"), p.get("price"), client_id,
                               now_ms=self.now_ms(), market_price=px,
                               reduce_only=fut and p.get("reduceOnly") == "true")
            body = self._order_json(order, fut)
            body["transactTime"] = order.time_ms
            if not fut:
                body["fills"] = [{"price": _dec(t.price), "qty": _dec(t.qty),
                                  "commission": _dec(t.commission),
                                  "commissionAsset": t.commission_asset, "tradeId": t.trade_id}
                                 for t in book.trades if t.order_id == order.order_id]
            return Response(200, body)
        return self._signed(request, action)

    def _get_order(self, request: Request) -> Response:
        def action() -> Response:
            order = self._find(request)
            with self.lock:
                hidden = self.hidden > 0
                self.hidden = max(0, self.hidden - 1)
            if order is None or hidden:
                return Response.error(400, -2013, "Order does not exist.")
            return Response(200, self._order_json(order, request.path.startswith("/fapi")))
        return self._signed(request, action)

    def _delete_order(self, request: Request) -> Response:
        def action() -> Response:
            order = self._find(request)
            if order is None:
                raise LedgerError(400, -2011, "Unknown order sent.")
            order = self._book(request).cancel(order.symbol, order_id=order.order_id,
                                               now_ms=self.now_ms())
            body = self._order_json(order, request.path.startswith("/fapi"))
            body["origClientOrderId"] = order.client_id
            body["transactTime"] = self.now_ms()
            return Response(200, body)
        return self._signed(request, action)

    def _open_orders(self, request: Request) -> Response:
        def action() -> Response:
            symbol = request.params.get("symbol") or None
            if symbol is not None and symbol not in self.markets:
                raise LedgerError(400, -1121, "Invalid symbol.")
            with self.lock:
                hidden = self.hidden > 0
            orders = [] if hidden else self._book(request).open_orders(symbol)
            fut = request.path.startswith("/fapi")
            return Response(200, [self._order_json(o, fut) for o in orders])
        return self._signed(request, action)

    def _all_orders(self, request: Request) -> Response:
        def action() -> Response:
            p = request.params
            if p.get("symbol") not in self.markets:
                raise LedgerError(400, -1121, "Invalid symbol.")
            rows = self._book(request).all_orders(
                p["symbol"], from_id=int(p.get("orderId") or 0),
                limit=min(int(p.get("limit", 500)), 1000))
            fut = request.path.startswith("/fapi")
            return Response(200, [self._order_json(o, fut) for o in rows])
        return self._signed(request, action)

    def _my_trades(self, request: Request) -> Response:
        def action() -> Response:
            p, book = request.params, self._book(request)
            if p.get("symbol") not in self.markets:
                raise LedgerError(400, -1121, "Invalid symbol.")
            trades = book.my_trades(
                p["symbol"], from_id=int(p["fromId"]) if p.get("fromId") else None,
                start_ms=int(p["startTime"]) if p.get("startTime") else None,
                end_ms=int(p["endTime"]) if p.get("endTime") else None,
                limit=min(int(p.get("limit", 500)), 1000))
            rows = [self._trade_json(t, book is self.futures) for t in trades]
            with self.lock:
                if self.duplicated > 0 and rows:
                    self.duplicated -= 1
                    rows = [r for r in rows for _ in (0, 1)]
            return Response(200, rows)
        return self._signed(request, action)

    def _trade_json(self, t: Trade, fut: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "symbol": t.symbol, "id": t.trade_id, "orderId": t.order_id, "orderListId": -1,
            "price": _dec(t.price), "qty": _dec(t.qty), "quoteQty": _dec(t.qty * t.price),
            "commission": _dec(t.commission), "commissionAsset": t.commission_asset,
            "time": t.time_ms, "isBuyer": t.side == "BUY", "isMaker": t.is_maker,
            "isBestMatch": True}
        if fut:
            row.update({"side": t.side, "buyer": t.side == "BUY", "maker": t.is_maker,
                        "realizedPnl": _dec(t.realized_pnl), "marginAsset": t.commission_asset,
                        "positionSide": "BOTH"})
        return row

    def _account(self, request: Request) -> Response:
        def action() -> Response:
            with self.ledger.lock:
                balances = [{"asset": a, "free": _dec(self.ledger.free[a]),
                             "locked": _dec(self.ledger.locked.get(a, Decimal(0)))}
                            for a in sorted(self.ledger.free)]
            return Response(200, {
                "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
                "sellerCommission": 0, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
                "preventSor": False, "updateTime": self.now_ms(), "accountType": "SPOT",
                "balances": balances, "permissions": ["SPOT"], "uid": 1})
        return self._signed(request, action)

    # ------------------------------------------------------------------ USDⓈ-M futures
    def _futures_info(self, request: Request) -> Response:
        symbols = []
        for market_id, market in self.markets.items():
            r = self.futures.rules[market_id]
            symbols.append({
                "symbol": market_id, "pair": market_id, "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000, "onboardDate": self.listing_ms,
                "status": "TRADING", "baseAsset": market["base"],
                "quoteAsset": market["quote"], "marginAsset": market["quote"],
                "pricePrecision": 2, "quantityPrecision": 5, "baseAssetPrecision": 8,
                "quotePrecision": 8, "underlyingType": "COIN", "settlePlan": 0,
                "triggerProtect": "0.0500", "liquidationFee": "0.012500",
                "marketTakeBound": "0.05", "orderTypes": ["LIMIT", "MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": _dec(r.min_price),
                     "maxPrice": _dec(r.max_price), "tickSize": _dec(r.tick)},
                    {"filterType": "LOT_SIZE", "minQty": _dec(r.min_qty),
                     "maxQty": _dec(r.max_qty), "stepSize": _dec(r.step)},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": _dec(r.min_qty),
                     "maxQty": _dec(r.max_qty), "stepSize": _dec(r.step)},
                    {"filterType": "MIN_NOTIONAL", "notional": _dec(r.min_notional)},
                ]})
        return Response(200, {"timezone": "UTC", "serverTime": self.now_ms(),
                              "rateLimits": [], "exchangeFilters": [], "assets": [],
                              "symbols": symbols})

    def _set_leverage(self, request: Request) -> Response:
        def action() -> Response:
            market_id = request.params.get("symbol", "")
            if market_id not in self.markets:
                raise LedgerError(400, -1121, "Invalid symbol.")
            leverage = int(request.params.get("leverage", "0"))
            if not 1 <= leverage <= 125:
                raise LedgerError(400, -4028, f"Leverage {leverage} is not valid")
            self.futures.leverage[market_id] = leverage
            return Response(200, {"leverage": leverage, "maxNotionalValue": "1000000",
                                  "symbol": market_id})
        return self._signed(request, action)

    def _leverage_bracket(self, request: Request) -> Response:
        def action() -> Response:
            return Response(200, [{"symbol": m, "brackets": [
                {"bracket": 1, "initialLeverage": 125, "notionalCap": 10_000_000,
                 "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0}]}
                for m in self.markets])
        return self._signed(request, action)

    def _position_rows(self) -> list[dict[str, Any]]:
        rows = []
        for market_id, (qty, entry) in self.futures.positions.items():
            mark = self.price(self.markets[market_id]["symbol"])
            rows.append({"symbol": market_id, "positionSide": "BOTH", "positionAmt": _dec(qty),
                         "entryPrice": _dec(entry), "breakEvenPrice": _dec(entry),
                         "markPrice": _dec(mark), "unRealizedProfit": _dec((mark - entry) * qty),
                         "liquidationPrice": "0", "isolatedMargin": "0",
                         "notional": _dec(qty * mark), "marginAsset":
                             self.markets[market_id]["quote"], "isolatedWallet": "0",
                         "initialMargin": _dec(abs(qty) * entry / self.futures.leverage[
                             market_id]), "maintMargin": "0", "positionInitialMargin": "0",
                         "openOrderInitialMargin": "0", "adl": 0, "bidNotional": "0",
                         "askNotional": "0", "updateTime": self.now_ms()})
        return rows

    def _position_risk(self, request: Request) -> Response:
        return self._signed(request, lambda: Response(200, self._position_rows()))

    def _futures_account(self, request: Request) -> Response:
        def action() -> Response:
            assets = [{"asset": a, "walletBalance": _dec(w), "unrealizedProfit": "0",
                       "marginBalance": _dec(w), "maintMargin": "0", "initialMargin":
                           _dec(self.futures.used_margin()), "positionInitialMargin": "0",
                       "openOrderInitialMargin": "0", "crossWalletBalance": _dec(w),
                       "crossUnPnl": "0", "availableBalance": _dec(w - self.futures.used_margin()),
                       "maxWithdrawAmount": _dec(w), "updateTime": self.now_ms()}
                      for a, w in sorted(self.futures.free.items())]
            return Response(200, {"totalWalletBalance": assets[0]["walletBalance"] if assets
                                  else "0", "assets": assets,
                                  "positions": self._position_rows()})
        return self._signed(request, action)

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

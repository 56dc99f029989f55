"""A fake OANDA v20 REST API on 127.0.0.1: the ground truth of the OANDA adapter's tests.

Usage::

    with FakeOanda(token="canary") as server:
        broker = OandaBroker(server.account_id, token=Secret("canary"), base_url=server.url,
                             session=server.session())
        broker.submit(...)
        server.positions(), server.balance, server.transactions   # the venue's ledger

Design:

- One account (home currency USD by default) and a few instruments with OANDA's real
  shapes (``EUR_USD``, ``USD_JPY``: integer units; ``DE30_EUR``: units to 0.1). Prices are
  set with :meth:`FakeOanda.set_price` (bid/ask); a MARKET order fills at once (fill or
  kill) at the ask (buy) or the bid (sell).
- The ledger follows v20: every change is a transaction with an increasing integer id
  (``MARKET_ORDER``, ``ORDER_FILL``, ``ORDER_CANCEL``, ``MARKET_ORDER_REJECT``); an order's id is
  the id of the transaction that created it; trades are FIFO lots (a trade's id is the id
  of the fill that opened it); positions are net units; the balance moves by realized P/L
  (converted to the home currency at the mid price) minus commission.
- Rejections like OANDA's: a duplicate ``clientExtensions.id`` (400,
  ``CLIENT_ORDER_ID_ALREADY_EXISTS``), units finer than ``tradeUnitsPrecision`` or below
  ``minimumTradeSize`` (400); a fill whose margin exceeds the NAV is cancelled (201 with an
  ``orderCancelTransaction``, reason ``INSUFFICIENT_MARGIN``).
- ``Authorization: Bearer <token>`` is checked on every request (401 otherwise).
- Faults (:meth:`FakeOanda.inject`) apply to the next matching requests: ``status`` (reply
  with a status and ``Retry-After``, nothing processed), ``drop`` (close the connection,
  nothing processed), ``delay``, and the after-commit kinds ``commit_drop``,
  ``commit_delay`` and ``commit_status``: the request is processed (the order exists on the
  ledger) and then the connection is dropped, the reply delayed past the client's timeout,
  or replaced by a 5xx.
- Candles are deterministic from ``(seed, instrument, granularity)``; the candle containing
  ``now`` is served with ``complete: false`` and partial values; :meth:`FakeOanda.candles`
  returns the closed ones as a frame (the oracle of the feed tests).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
import pandas as pd

from tests.fakes._loopback import LoopbackFake, LoopbackServer

__all__ = ["FakeOanda", "OandaFault", "OandaRequest", "INSTRUMENTS", "GRANULARITY_SECONDS"]

#: v20 instrument definitions served by ``GET /v3/accounts/{id}/instruments``.
INSTRUMENTS: dict[str, dict[str, Any]] = {
    "EUR_USD": {"type": "CURRENCY", "displayName": "EUR/USD", "pipLocation": -4,
                "displayPrecision": 5, "tradeUnitsPrecision": 0, "minimumTradeSize": "1",
                "maximumOrderUnits": "100000000", "marginRate": "0.0333"},
    "USD_JPY": {"type": "CURRENCY", "displayName": "USD/JPY", "pipLocation": -2,
                "displayPrecision": 3, "tradeUnitsPrecision": 0, "minimumTradeSize": "1",
                "maximumOrderUnits": "100000000", "marginRate": "0.04"},
    "DE30_EUR": {"type": "CFD", "displayName": "Germany 30", "pipLocation": 0,
                 "displayPrecision": 1, "tradeUnitsPrecision": 1, "minimumTradeSize": "0.1",
                 "maximumOrderUnits": "5000", "marginRate": "0.05"},
}
_PRICES = {"EUR_USD": 1.085, "USD_JPY": 150.0, "DE30_EUR": 17500.0}
GRANULARITY_SECONDS = {"S5": 5, "S10": 10, "S15": 15, "S30": 30, "M1": 60, "M2": 120,
                       "M4": 240, "M5": 300, "M10": 600, "M15": 900, "M30": 1800,
                       "H1": 3600, "H2": 7200, "H3": 10800, "H4": 14400, "H6": 21600,
                       "H8": 28800, "H12": 43200, "D": 86400}
_BLOCK = 500
_FAULT_KINDS = ("status", "drop", "delay", "commit_drop", "commit_delay", "commit_status")


def _ns(value: Any) -> int:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return int(ts.value)


def _rfc3339(ns: int) -> str:
    ts = pd.Timestamp(ns, unit="ns", tz="UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 1_000_000_000:09d}Z"


def _num(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


@dataclass(frozen=True)
class OandaRequest:
    """One request as the server saw it (``time`` is ``time.monotonic()`` at arrival)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any
    time: float


@dataclass
class OandaFault:
    """A fault for requests whose method is ``method`` (None: any) and whose path contains
    ``path`` (None: any); ``skip`` matching requests pass, then ``times`` get ``kind``."""

    kind: str
    method: str | None = None
    path: str | None = None
    skip: int = 0
    times: int = 1
    status: int = 503
    retry_after: float | None = None
    body: Any = None
    delay: float = 0.0
    seen: int = 0
    fired: int = 0

    def matches(self, request: OandaRequest) -> bool:
        return ((self.method is None or self.method == request.method)
                and (self.path is None or self.path in request.path))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else ~40 ms per request (delayed ACK of the body)
    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = OandaRequest(self.command, unquote(parts.path),
                               dict(parse_qsl(parts.query, keep_blank_values=True)),
                               dict(self.headers.items()), body, time.monotonic())
        reply = self.server.fake.handle(request)
        if reply is None:  # drop the connection without a reply
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        status, payload, headers = reply
        data = json.dumps(payload, separators=(",", ":")).encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


_Reply = tuple[int, Any, dict[str, str]]


class FakeOanda(LoopbackFake):
    """An OANDA v20-like REST server on ``127.0.0.1`` (see the module docstring).

    Parameters
    ----------
    account_id : str, default "101-001-1234567-001"
    token : str, default "fake-token" - the Bearer token the server accepts.
    balance : float, default 100 000 - the opening balance (home currency).
    currency : str, default "USD"
    seed : int, default 0 - seed of the candles.
    now : str or Timestamp, default "2024-03-01 12:30" - the server clock (settable).
    commission_per_unit : float, default 0 - commission per unit filled (home currency).
    page_size : int, default 1000 - most transactions one ``sinceid`` reply holds.
    legacy_price_offset : float, default 0 - added to the deprecated ``price`` field of an
        ``ORDER_FILL`` only (``fullVWAP`` and the ledger keep the true fill price), so a
        test can tell which field a client reads.
    """

    handler = _Handler
    name = "FakeOanda"

    def __init__(self, *, account_id: str = "101-001-1234567-001", token: str = "fake-token",
                 balance: float = 100_000.0, currency: str = "USD", seed: int = 0,
                 now: Any = "2024-03-01 12:30", commission_per_unit: float = 0.0,
                 page_size: int = 1000, legacy_price_offset: float = 0.0) -> None:
        self.account_id = account_id
        self.token = token
        self.currency = currency
        self.seed = int(seed)
        self.now_ns = _ns(now)
        self.listing_ns = _ns("2024-01-01")
        self.commission_per_unit = float(commission_per_unit)
        self.page_size = int(page_size)
        self.legacy_price_offset = float(legacy_price_offset)
        self.instruments = {k: dict(v) for k, v in INSTRUMENTS.items()}
        self.prices: dict[str, tuple[float, float]] = {k: (p, p) for k, p in _PRICES.items()}
        self.balance = float(balance)
        self.transactions: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.requests: list[OandaRequest] = []
        self.faults: list[OandaFault] = []
        self.lock = threading.RLock()
        self._blocks: dict[tuple[str, str, int], np.ndarray] = {}
        self._record({"type": "CREATE", "divisionID": 1, "siteID": 101, "homeCurrency": currency,
                      "accountNumber": 1, "reason": "CREATE"})
        a = r"/v3/accounts/(?P<account>[^/]+)"
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., _Reply]]] = [
            ("GET", re.compile(a + "$"), self._account),
            ("GET", re.compile(a + "/instruments$"), self._instruments),
            ("POST", re.compile(a + "/orders$"), self._create_order),
            ("GET", re.compile(a + "/orders/(?P<spec>[^/]+)$"), self._get_order),
            ("PUT", re.compile(a + "/orders/(?P<spec>[^/]+)/cancel$"), self._cancel_order),
            ("GET", re.compile(a + "/pendingOrders$"), self._pending_orders),
            ("GET", re.compile(a + "/openPositions$"), self._open_positions),
            ("GET", re.compile(a + "/trades$"), self._open_trades),
            ("GET", re.compile(a + "/transactions/sinceid$"), self._since_id),
            ("GET", re.compile(a + r"/transactions/(?P<tx>\d+)$"), self._transaction),
            ("GET", re.compile(r"/v3/instruments/(?P<inst>[^/]+)/candles$"), self._candles),
        ]

    # ------------------------------------------------------------------ lifecycle

    def session(self) -> Any:
        """A ``requests.Session`` that never routes 127.0.0.1 through an env proxy."""
        import requests

        s = requests.Session()
        s.trust_env = False
        return s

    # ------------------------------------------------------------------ test controls
    def set_price(self, instrument: str, bid: float, ask: float | None = None) -> None:
        """Set the quote of ``instrument`` (``ask`` defaults to ``bid``: no spread)."""
        with self.lock:
            self.prices[instrument] = (float(bid), float(bid if ask is None else ask))

    def set_now(self, now: Any) -> None:
        """Set the server clock (decides which candles are complete)."""
        self.now_ns = _ns(now)

    def inject(self, kind: str, **options: Any) -> OandaFault:
        """Add an :class:`OandaFault` (see its fields); faults apply in order."""
        if kind not in _FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {_FAULT_KINDS}; got {kind!r}")
        fault = OandaFault(kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def requests_to(self, method: str, fragment: str = "") -> list[OandaRequest]:
        """Logged requests with this method whose path contains ``fragment``."""
        with self.lock:
            return [r for r in self.requests if r.method == method and fragment in r.path]

    def place_order(self, instrument: str, units: float,
                    client_id: str | None = None) -> dict[str, Any]:
        """Place a MARKET order by hand (as an operator on the web platform would)."""
        order: dict[str, Any] = {"type": "MARKET", "instrument": instrument,
                                 "units": str(units)}
        if client_id is not None:
            order["clientExtensions"] = {"id": client_id}
        with self.lock:
            return self._execute(order)[1]

    def place_limit(self, instrument: str, units: float, price: float,
                    client_id: str | None = None) -> str:
        """Place a LIMIT order by hand; it stays PENDING (the fake never triggers it)."""
        with self.lock:
            tx = self._record({"type": "LIMIT_ORDER", "instrument": instrument,
                               "units": str(units), "price": str(price), "timeInForce": "GTC",
                               "reason": "CLIENT_ORDER"}, client_id)
            self.orders[tx["id"]] = {"id": tx["id"], "createTime": tx["time"], "type": "LIMIT",
                                     "instrument": instrument, "units": str(units),
                                     "price": str(price), "timeInForce": "GTC",
                                     "state": "PENDING", **self._ext(client_id)}
            return str(tx["id"])

    # ------------------------------------------------------------------ ledger views
    def positions(self) -> dict[str, float]:
        """Net units per instrument (from the open trades)."""
        with self.lock:
            out: dict[str, float] = {}
            for t in self.trades:
                if t["state"] == "OPEN":
                    out[t["instrument"]] = out.get(t["instrument"], 0.0) + t["currentUnits"]
            return {k: round(v, 6) for k, v in out.items() if round(v, 6) != 0}

    def fills(self) -> list[dict[str, Any]]:
        """The ``ORDER_FILL`` transactions, in order."""
        with self.lock:
            return [t for t in self.transactions if t["type"] == "ORDER_FILL"]

    def nav(self) -> float:
        """Balance plus the unrealized P/L of the open trades at the mid prices."""
        with self.lock:
            upl = sum(t["currentUnits"] * (self._mid(t["instrument"]) - t["price"])
                      * self._to_home(t["instrument"]) for t in self.trades
                      if t["state"] == "OPEN")
            return self.balance + upl

    def margin_used(self, positions: dict[str, float] | None = None) -> float:
        """Margin of ``positions`` (default: the current ones) at the mid prices."""
        with self.lock:
            pos = self.positions() if positions is None else positions
            return sum(abs(u) * self._mid(i) * self._to_home(i)
                       * float(self.instruments[i]["marginRate"]) for i, u in pos.items())

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: OandaRequest) -> _Reply | None:
        """Log, check auth, apply faults, route. None means: drop the connection."""
        with self.lock:
            self.requests.append(request)
            fault = self._fault_for(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"errorMessage": "Insufficient authorization to perform request."}, {}
        if fault is not None and fault.kind in ("status", "drop", "delay"):
            if fault.kind == "drop":
                return None
            if fault.kind == "status":
                return self._fault_reply(fault)
            time.sleep(fault.delay)
        reply = self._route(request)
        if fault is not None and fault.kind == "commit_drop":
            return None
        if fault is not None and fault.kind == "commit_status":
            return self._fault_reply(fault)
        if fault is not None and fault.kind == "commit_delay":
            time.sleep(fault.delay)
        return reply

    def _fault_for(self, request: OandaRequest) -> OandaFault | None:
        for fault in self.faults:
            if fault.fired < fault.times and fault.matches(request):
                fault.seen += 1
                if fault.seen > fault.skip:
                    fault.fired += 1
                    return fault
        return None

    @staticmethod
    def _fault_reply(fault: OandaFault) -> _Reply:
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        body = fault.body if fault.body is not None else {
            "errorMessage": "Rate limit violation" if fault.status == 429
            else "An internal server error occurred"}
        return fault.status, body, headers

    def _route(self, request: OandaRequest) -> _Reply:
        for method, pattern, handler in self.routes:
            m = pattern.match(request.path)
            if m and method == request.method:
                groups = m.groupdict()
                if groups.pop("account", self.account_id) != self.account_id:
                    return 403, {"errorMessage": "The provided request was forbidden."}, {}
                with self.lock:
                    return handler(request, **groups)
        return 404, {"errorMessage": f"Unknown endpoint {request.method} {request.path}"}, {}

    # ------------------------------------------------------------------ helpers
    def _mid(self, instrument: str) -> float:
        bid, ask = self.prices[instrument]
        return (bid + ask) / 2.0

    def _to_home(self, instrument: str) -> float:
        """Home-currency value of one unit of ``instrument``'s quote currency."""
        base, quote = instrument.split("_")
        if quote == self.currency:
            return 1.0
        if base == self.currency:
            return 1.0 / self._mid(instrument)
        if f"{quote}_{self.currency}" in self.prices:
            return self._mid(f"{quote}_{self.currency}")
        return 1.0 / self._mid(f"{self.currency}_{quote}")

    def _record(self, tx: dict[str, Any], client_id: str | None = None) -> dict[str, Any]:
        tid = len(self.transactions) + 1
        full = {"id": str(tid), "time": _rfc3339(self.now_ns), "userID": 1234567,
                "accountID": self.account_id, "batchID": str(tid), "requestID": str(10**17 + tid),
                **tx}
        if client_id is not None:
            if tx["type"].endswith(("ORDER", "ORDER_REJECT")):
                full["clientExtensions"] = {"id": client_id}
            else:
                full["clientOrderID"] = client_id
        self.transactions.append(full)
        return full

    @staticmethod
    def _ext(client_id: str | None) -> dict[str, Any]:
        return {} if client_id is None else {"clientExtensions": {"id": client_id}}

    def _last(self) -> str:
        return str(len(self.transactions))

    # ------------------------------------------------------------------ endpoints
    def _account(self, request: OandaRequest) -> _Reply:
        used = self.margin_used()
        nav = self.nav()
        return 200, {"account": {
            "id": self.account_id, "alias": "Primary", "currency": self.currency,
            "balance": _num(self.balance), "NAV": _num(nav), "marginUsed": _num(used),
            "marginAvailable": _num(nav - used), "unrealizedPL": _num(nav - self.balance),
            "openTradeCount": sum(t["state"] == "OPEN" for t in self.trades),
            "openPositionCount": len(self.positions()),
            "pendingOrderCount": sum(o["state"] == "PENDING" for o in self.orders.values()),
            "hedgingEnabled": False, "lastTransactionID": self._last()},
            "lastTransactionID": self._last()}, {}

    def _instruments(self, request: OandaRequest) -> _Reply:
        wanted = request.params.get("instruments")
        names = wanted.split(",") if wanted else list(self.instruments)
        out = [{"name": n, **self.instruments[n]} for n in names if n in self.instruments]
        return 200, {"instruments": out, "lastTransactionID": self._last()}, {}

    def _create_order(self, request: OandaRequest) -> _Reply:
        body = request.body if isinstance(request.body, dict) else {}
        order = body.get("order")
        if not isinstance(order, dict) or order.get("type") != "MARKET":
            return 400, {"errorMessage": "Invalid value specified for 'order'",
                         "errorCode": "INVALID_VALUE"}, {}
        return self._execute(order)

    def _reject(self, order: dict[str, Any], reason: str, text: str) -> _Reply:
        cid = (order.get("clientExtensions") or {}).get("id")
        tx = self._record({"type": "MARKET_ORDER_REJECT", "instrument": order.get("instrument"),
                           "units": str(order.get("units")), "timeInForce": "FOK",
                           "reason": "CLIENT_ORDER", "rejectReason": reason}, cid)
        return 400, {"orderRejectTransaction": tx, "relatedTransactionIDs": [tx["id"]],
                     "lastTransactionID": self._last(), "errorCode": reason,
                     "errorMessage": text}, {}

    def _check(self, order: dict[str, Any]) -> tuple[str, str] | None:
        inst = self.instruments.get(str(order.get("instrument")))
        if inst is None:
            return "INSTRUMENT_UNKNOWN", "The instrument specified is unknown"
        cid = (order.get("clientExtensions") or {}).get("id")
        if cid is not None and any((o.get("clientExtensions") or {}).get("id") == cid
                                   for o in self.orders.values()):
            return "CLIENT_ORDER_ID_ALREADY_EXISTS", "The client Order ID specified is already assigned"
        try:
            units = float(order.get("units", "x"))
        except ValueError:
            return "UNITS_INVALID", "The units specified are invalid"
        text = str(order["units"]).lstrip("+-")
        decimals = len(text.split(".")[1].rstrip("0")) if "." in text else 0
        if decimals > inst["tradeUnitsPrecision"] or units == 0:
            return "UNITS_PRECISION_EXCEEDED", "The units specified exceed the precision"
        if abs(units) < float(inst["minimumTradeSize"]):
            return "UNITS_MINIMUM_NOT_MET", "The units specified are below the minimum"
        if abs(units) > float(inst["maximumOrderUnits"]):
            return "UNITS_LIMIT_EXCEEDED", "The units specified exceed the maximum"
        return None

    def _execute(self, order: dict[str, Any]) -> _Reply:
        problem = self._check(order)
        if problem is not None:
            return self._reject(order, *problem)
        inst, units = str(order["instrument"]), float(order["units"])
        cid = (order.get("clientExtensions") or {}).get("id")
        create = self._record({"type": "MARKET_ORDER", "instrument": inst, "units": order["units"],
                               "timeInForce": order.get("timeInForce", "FOK"),
                               "positionFill": order.get("positionFill", "DEFAULT"),
                               "reason": "CLIENT_ORDER"}, cid)
        oid = create["id"]
        self.orders[oid] = {"id": oid, "createTime": create["time"], "type": "MARKET",
                            "instrument": inst, "units": order["units"],
                            "timeInForce": create["timeInForce"],
                            "positionFill": create["positionFill"], "state": "PENDING",
                            **self._ext(cid)}
        pos = self.positions()
        new = dict(pos)
        new[inst] = round(pos.get(inst, 0.0) + units, 6)
        grows = abs(new[inst]) > abs(pos.get(inst, 0.0))
        if grows and self.margin_used(new) > self.nav():
            return self._cancel(oid, "INSUFFICIENT_MARGIN", create)
        fill = self._fill(oid, inst, units, cid)
        return 201, {"orderCreateTransaction": create, "orderFillTransaction": fill,
                     "relatedTransactionIDs": [oid, fill["id"]],
                     "lastTransactionID": self._last()}, {}

    def _cancel(self, oid: str, reason: str, create: dict[str, Any] | None = None) -> _Reply:
        order = self.orders[oid]
        cid = (order.get("clientExtensions") or {}).get("id")
        tx = self._record({"type": "ORDER_CANCEL", "orderID": oid, "reason": reason}, cid)
        order.update(state="CANCELLED", cancellingTransactionID=tx["id"], cancelledTime=tx["time"])
        body: dict[str, Any] = {"orderCancelTransaction": tx, "lastTransactionID": self._last()}
        if create is not None:
            body.update(orderCreateTransaction=create, relatedTransactionIDs=[oid, tx["id"]])
            return 201, body, {}
        body["relatedTransactionIDs"] = [tx["id"]]
        return 200, body, {}

    def _fill(self, oid: str, inst: str, units: float, cid: str | None) -> dict[str, Any]:
        bid, ask = self.prices[inst]
        price = ask if units > 0 else bid
        conv = self._to_home(inst)
        remaining, pl, closed = units, 0.0, []
        for t in self.trades:
            if t["state"] != "OPEN" or t["instrument"] != inst or t["currentUnits"] * remaining >= 0:
                continue
            take = min(abs(remaining), abs(t["currentUnits"]))
            signed = take if t["currentUnits"] > 0 else -take
            gain = signed * (price - t["price"]) * conv
            t["currentUnits"] = round(t["currentUnits"] - signed, 6)
            t["realizedPL"] += gain
            if t["currentUnits"] == 0:
                t["state"] = "CLOSED"
            pl += gain
            remaining = round(remaining + signed, 6)
            closed.append({"tradeID": t["id"], "units": _num(-signed, 1), "price": str(price),
                           "realizedPL": _num(gain)})
            if remaining == 0:
                break
        commission = abs(units) * self.commission_per_unit
        self.balance += pl - commission
        fill = self._record({"type": "ORDER_FILL", "orderID": oid, "instrument": inst,
                             "units": self.orders[oid]["units"],
                             "price": str(price + self.legacy_price_offset),
                             "fullVWAP": str(price), "reason": "MARKET_ORDER",
                             "pl": _num(pl), "financing": "0.0000",
                             "commission": _num(commission),
                             "guaranteedExecutionFee": "0.0000",
                             "accountBalance": _num(self.balance),
                             "halfSpreadCost": _num(abs(units) * (ask - bid) / 2 * conv)},
                            cid)
        if closed:
            fill["tradesClosed"] = closed
        if remaining != 0:
            self.trades.append({"id": fill["id"], "instrument": inst, "price": price,
                                "openTime": fill["time"], "initialUnits": remaining,
                                "currentUnits": remaining, "state": "OPEN", "realizedPL": 0.0,
                                **self._ext(cid)})
            fill["tradeOpened"] = {"tradeID": fill["id"], "units": str(remaining),
                                   "price": str(price)}
        self.orders[oid].update(state="FILLED", fillingTransactionID=fill["id"],
                                filledTime=fill["time"])
        return fill

    def _find(self, spec: str) -> dict[str, Any] | None:
        if spec.startswith("@"):
            return next((o for o in self.orders.values()
                         if (o.get("clientExtensions") or {}).get("id") == spec[1:]), None)
        return self.orders.get(spec)

    def _get_order(self, request: OandaRequest, spec: str) -> _Reply:
        order = self._find(spec)
        if order is None:
            return 404, {"errorCode": "NO_SUCH_ORDER",
                         "errorMessage": "The Order specified does not exist"}, {}
        return 200, {"order": order, "lastTransactionID": self._last()}, {}

    def _cancel_order(self, request: OandaRequest, spec: str) -> _Reply:
        order = self._find(spec)
        if order is None or order["state"] != "PENDING":
            tx = self._record({"type": "ORDER_CANCEL_REJECT", "orderID": spec,
                               "rejectReason": "ORDER_DOESNT_EXIST"})
            return 404, {"orderCancelRejectTransaction": tx, "relatedTransactionIDs": [tx["id"]],
                         "lastTransactionID": self._last(), "errorCode": "ORDER_DOESNT_EXIST",
                         "errorMessage": "The Order specified does not exist"}, {}
        return self._cancel(order["id"], "CLIENT_REQUEST")

    def _pending_orders(self, request: OandaRequest) -> _Reply:
        pending = [o for o in self.orders.values() if o["state"] == "PENDING"]
        return 200, {"orders": pending, "lastTransactionID": self._last()}, {}

    def _open_positions(self, request: OandaRequest) -> _Reply:
        out = []
        for inst in sorted({t["instrument"] for t in self.trades if t["state"] == "OPEN"}):
            mine = [t for t in self.trades if t["state"] == "OPEN" and t["instrument"] == inst]
            long_u = sum(t["currentUnits"] for t in mine if t["currentUnits"] > 0)
            short_u = sum(t["currentUnits"] for t in mine if t["currentUnits"] < 0)
            out.append({"instrument": inst,
                        "long": {"units": _num(long_u, 1), "tradeIDs":
                                 [t["id"] for t in mine if t["currentUnits"] > 0]},
                        "short": {"units": _num(short_u, 1), "tradeIDs":
                                  [t["id"] for t in mine if t["currentUnits"] < 0]}})
        return 200, {"positions": out, "lastTransactionID": self._last()}, {}

    def _open_trades(self, request: OandaRequest) -> _Reply:
        out = [{**t, "price": str(t["price"]), "initialUnits": str(t["initialUnits"]),
                "currentUnits": str(t["currentUnits"]), "realizedPL": _num(t["realizedPL"])}
               for t in self.trades if t["state"] == "OPEN"]
        return 200, {"trades": out[::-1], "lastTransactionID": self._last()}, {}

    def _since_id(self, request: OandaRequest) -> _Reply:
        try:
            since = int(request.params["id"])
        except (KeyError, ValueError):
            return 400, {"errorMessage": "Invalid value specified for 'id'"}, {}
        txs = [t for t in self.transactions if int(t["id"]) > since][:self.page_size]
        return 200, {"transactions": txs, "lastTransactionID": self._last()}, {}

    def _transaction(self, request: OandaRequest, tx: str) -> _Reply:
        i = int(tx)
        if not 1 <= i <= len(self.transactions):
            return 404, {"errorMessage": "The Transaction specified does not exist"}, {}
        return 200, {"transaction": self.transactions[i - 1],
                     "lastTransactionID": self._last()}, {}

    # ------------------------------------------------------------------ candles
    def _block(self, inst: str, gran: str, block: int) -> np.ndarray:
        key = (inst, gran, block)
        if key not in self._blocks:
            prev = _PRICES[inst] if block == 0 else float(self._block(inst, gran, block - 1)[3, -1])
            rng = np.random.default_rng([self.seed, zlib.crc32(f"{inst}|{gran}".encode()), block])
            scale = 0.0003 * np.sqrt(GRANULARITY_SECONDS[gran] / 60)
            digits = int(self.instruments[inst]["displayPrecision"])
            close = np.round(prev * np.exp(np.cumsum(rng.normal(0, scale, _BLOCK))), digits)
            open_ = np.concatenate([[prev], close[:-1]])
            high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, scale / 2, _BLOCK))),
                            digits)
            low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, scale / 2, _BLOCK))),
                           digits)
            volume = rng.integers(1, 5000, _BLOCK).astype(np.float64)
            self._blocks[key] = np.vstack([open_, high, low, close, volume])
        return self._blocks[key]

    def _candle(self, inst: str, gran: str, i: int) -> np.ndarray:
        return self._block(inst, gran, i // _BLOCK)[:, i % _BLOCK]

    def _candles(self, request: OandaRequest, inst: str) -> _Reply:
        p = request.params
        gran = p.get("granularity", "S5")
        if inst not in self.instruments or gran not in GRANULARITY_SECONDS:
            return 400, {"errorMessage": f"Invalid value specified for 'instrument' or "
                         f"'granularity': {inst} {gran}"}, {}
        step = GRANULARITY_SECONDS[gran] * 1_000_000_000
        last = (self.now_ns - self.listing_ns) // step  # the candle containing now
        count = int(p.get("count", 500))
        if "from" in p:
            lo = max(0, -(-(_ns(p["from"]) - self.listing_ns) // step))
            hi = min(last, lo + count - 1)
        else:
            hi = last
            lo = max(0, hi - count + 1)
        digits = int(self.instruments[inst]["displayPrecision"])
        candles = []
        for i in range(lo, hi + 1):
            o, h, lw, c, v = self._candle(inst, gran, i).tolist()
            t = self.listing_ns + i * step
            complete = t + step <= self.now_ns
            if not complete:  # still forming: partial close and volume
                frac = (self.now_ns - t) / step
                c, v = round(o + (c - o) * frac, digits), float(int(v * frac))
                h, lw = max(h, c), min(lw, c)
            candles.append({"complete": complete, "volume": int(v), "time": _rfc3339(t),
                            "mid": {"o": f"{o:.{digits}f}", "h": f"{h:.{digits}f}",
                                    "l": f"{lw:.{digits}f}", "c": f"{c:.{digits}f}"}})
        return 200, {"instrument": inst, "granularity": gran, "candles": candles}, {}

    def candles(self, inst: str, gran: str, *, count: int = 500) -> pd.DataFrame:
        """The last ``count`` **closed** candles as OHLCV floats (the feed tests' oracle)."""
        step = GRANULARITY_SECONDS[gran] * 1_000_000_000
        last_closed = (self.now_ns - self.listing_ns) // step - 1
        idx = range(max(0, last_closed - count + 1), last_closed + 1)
        rows = np.array([self._candle(inst, gran, i) for i in idx]).reshape(-1, 5)
        index = pd.DatetimeIndex([self.listing_ns + i * step for i in idx], tz="UTC")
        return pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])

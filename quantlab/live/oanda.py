"""OANDA v20 REST: a :class:`~quantlab.live.brokers.Broker` for forex and CFDs, and a candle feed.

:class:`OandaBroker` speaks the v20 REST API with ``requests`` (base URLs
:data:`ENVIRONMENTS`: ``https://api-fxpractice.oanda.com`` for a practice account,
``https://api-fxtrade.oanda.com`` for a live one; ``base_url`` overrides them, e.g. to point at
the loopback fake of the tests). :class:`OandaFeed` serves the closed candles available
when asked (a catch-up run: one pass, then it ends).

Design decisions (RELIABILITY.md):

- **Symbols are OANDA instruments** (``"EUR_USD"``, ``"DE30_EUR"``), sizes are units; a buy is
  positive units, a sell negative. Orders are MARKET, ``timeInForce`` FOK (filled in full or
  cancelled: no partial fills to track), ``positionFill`` ``REDUCE_ONLY`` for reduce-only
  orders, else ``DEFAULT``. The runner's client order id travels as ``clientExtensions.id``
  (do not use this on an account linked to MT4: OANDA forbids client extensions there).
- **Exchange rules before any request** (behaviour 8): units are truncated (never rounded
  up) to the instrument's ``tradeUnitsPrecision`` with decimal arithmetic (in a context
  wide enough for any finite float: a size of ``1e27`` is refused like any other, never an
  exception); fewer units than
  ``minimumTradeSize`` or more than ``maximumOrderUnits``, or a size that is NaN, infinite or
  not positive, are refused locally (a REJECTED ack whose detail starts with
  ``"refused locally"``) without a request. :meth:`OandaBroker.rules` maps
  ``tradeUnitsPrecision`` to ``lot_size`` and ``displayPrecision`` to ``tick_size``;
  OANDA has no minimum notional (``min_notional`` 0) and the minimum trade size, in units,
  has no field in :class:`~quantlab.live.brokers.ExchangeRules`: :meth:`OandaBroker.instrument`
  returns it.
- **One order per client id** (INV-1, behaviour 3): :meth:`OandaBroker.submit` first asks
  ``GET /orders/@<client id>``; an order found is returned, never sent again (OANDA's own
  ``CLIENT_ORDER_ID_ALREADY_EXISTS`` check is also handled, but is not relied upon). After
  a timeout, a dropped connection or a 5xx *after* the POST was sent, the order is queried
  by client id (``resolve_attempts`` times, with backoff) and its state returned; if no
  query finds it the state is ``UNKNOWN`` and nothing is resent: the caller resolves it
  later with :meth:`OandaBroker.get_order`, which returns None on a 404. One 404 does not
  prove the order absent (the POST may still be in flight, or the venue not have indexed it
  yet): the runner queries an UNKNOWN order by client id before each decision and concludes
  "never received" (voiding it) only after the venue answered "not found" on 2 consecutive
  bars (``NOT_FOUND_BARS`` of :mod:`quantlab.live.runner`); until then the order stays
  UNKNOWN and the bar's target goes through the reduce-only path.
- **Errors** (behaviour 4): a 400/404 order reject (``orderRejectTransaction``) or a 201
  with an ``orderCancelTransaction`` (e.g. ``INSUFFICIENT_MARGIN``) is REJECTED at once with
  the reason, never retried. 401/403 raise :class:`~quantlab.live._errors.LiveError` (the
  runner must stop: the token or account is wrong). A 429 sleeps ``Retry-After`` seconds
  (at most ``max_retry_after``; a longer ban raises) and retries, also for a POST: a
  rate-limited request is not processed. Reads (GET) retry timeouts, resets and 5xx with a
  bounded backoff; after ``retries`` they raise :class:`~quantlab.errors.ExchangeError`.
- **Fills are transactions** (INV-3): :meth:`OandaBroker.fills_since` reads
  ``GET /transactions/sinceid?id=<cursor>`` and turns every ``ORDER_FILL`` into a
  :class:`~quantlab.live.brokers.BrokerFill` whose ``trade_id`` is the transaction id; the
  returned cursor is the last transaction id *read* (fills or not), so calls chain exactly,
  never skip and never count a fill twice. Paging is bounded (``max_pages``): a history
  longer than that (the cursor still below the account's ``lastTransactionID`` after
  ``max_pages`` pages) raises :class:`~quantlab.errors.ExchangeError` rather than return a
  partial set the caller would take as complete (the runner reconciles positions with
  ``fills_since(0)`` at start); raise ``max_pages`` for a long account (OANDA serves up to
  1000 transactions a page). The price is ``fullVWAP`` (the volume-weighted price of the
  whole fill); the deprecated ``price`` field is read only when ``fullVWAP`` is absent.
  ``fee`` is ``commission + guaranteedExecutionFee`` (the half spread is in the fill price).
- **Foreign orders** (T25): an order or fill without a client id is reported with client id
  ``"oanda:<order id>"``, a form :func:`~quantlab.live.orders.client_order_id` never makes,
  so the runner flags it and never counts it as its own; a foreign client id is passed on
  as it is.
- **The token** (behaviour 15) is a :class:`~quantlab.live.secrets.Secret`, revealed only
  into the ``Authorization`` header of each request (never into the session's default
  headers, a URL, ``repr`` or a log line); every error message is passed through
  :func:`~quantlab.live.secrets.redact` as well. This module logs method, path and status at
  DEBUG, never headers or bodies.
- ``mode`` is ``"live"`` for practice and live accounts alike: both are a real venue with
  credentials (the in-process paper broker is the only paper broker). ``environment`` tells
  them apart.
- The clock and the sleep are injectable (tests measure waits without sleeping).
"""

from __future__ import annotations

import logging
import math
import time as _time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import ROUND_DOWN, Context, Decimal
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, cast
from urllib.parse import quote

import numpy as np
import pandas as pd

from quantlab._validate import check_choice, check_float, check_int, check_options, message
from quantlab.errors import ExchangeError, InvalidParameterError
from quantlab.live._errors import LiveError
from quantlab.live.brokers import Broker, BrokerFill, ExchangeRules, OrderAck, OrderRequest
from quantlab.live.feeds import Bar, Feed
from quantlab.live.secrets import Secret, redact, secret_from_env

__all__ = ["OandaBroker", "OandaFeed", "OandaInstrument", "OandaAccount", "OandaTrade",
           "ENVIRONMENTS", "GRANULARITIES", "MAX_CANDLES"]

#: v20 REST base URLs by environment.
ENVIRONMENTS = {"practice": "https://api-fxpractice.oanda.com",
                "live": "https://api-fxtrade.oanda.com"}
#: Candle granularities and their length in seconds (``D`` follows OANDA's daily alignment).
GRANULARITIES = {"S5": 5, "S10": 10, "S15": 15, "S30": 30, "M1": 60, "M2": 120, "M4": 240,
                 "M5": 300, "M10": 600, "M15": 900, "M30": 1800, "H1": 3600, "H2": 7200,
                 "H3": 10800, "H4": 14400, "H6": 21600, "H8": 28800, "H12": 43200, "D": 86400}
#: The most candles one ``GET /v3/instruments/{name}/candles`` request returns.
MAX_CANDLES = 5000
_CONFIG_KEYS = ("account_id", "token_env", "environment", "base_url", "timeout", "retries",
                "max_retry_after", "max_pages", "resolve_attempts")
_STATES = {"PENDING": "ACCEPTED", "TRIGGERED": "ACCEPTED", "FILLED": "FILLED",
           "CANCELLED": "CANCELLED"}
log = logging.getLogger("quantlab.live.oanda")


class OandaInstrument(NamedTuple):
    """An instrument's trading rules, from ``GET /v3/accounts/{id}/instruments``."""

    name: str
    units_precision: int
    """``tradeUnitsPrecision``: decimals of the units (0: whole units)."""
    min_units: Decimal
    max_units: Decimal
    pip_size: float
    """``10 ** pipLocation``."""
    tick_size: float
    """``10 ** -displayPrecision``."""
    margin_rate: float


class OandaAccount(NamedTuple):
    """The account summary (home currency amounts)."""

    currency: str
    balance: float
    nav: float
    margin_used: float
    margin_available: float
    last_transaction_id: int


class OandaTrade(NamedTuple):
    """An open trade (a lot of a position)."""

    trade_id: str
    client_id: str
    instrument: str
    units: float
    price: float


class _Uncertain(Exception):
    """A request was sent and its outcome is unknown (timeout, reset, 5xx)."""


class _Reply(NamedTuple):
    status: int
    data: dict[str, Any]


def _truncate(size: float, decimals: int) -> Decimal:
    """``size`` truncated toward zero to ``decimals`` places (decimal, never rounded up).

    The context's precision covers every digit of the result, so no finite float raises
    ``decimal.InvalidOperation`` (the default 28 digits would for ``1e27`` at 1 decimal).
    """
    value = Decimal(repr(float(size)))
    digits = max(value.adjusted() + 1, 1) + max(int(decimals), 0) + 2
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN,
                          context=Context(prec=max(28, digits)))


def _client_id(order: Mapping[str, Any]) -> str:
    cid = (order.get("clientExtensions") or {}).get("id")
    return str(cid) if cid else f"oanda:{order.get('id', '')}"


class OandaBroker(Broker):
    """A :class:`~quantlab.live.brokers.Broker` on an OANDA v20 account (see the module notes).

    Parameters
    ----------
    account_id : str
        The v20 account, e.g. ``"101-001-1234567-001"``.
    token : Secret
        The personal access token (read it with
        :func:`~quantlab.live.secrets.secret_from_env`, or use :meth:`from_config`).
    environment : {"practice", "live"}, default "practice"
        Picks the base URL of :data:`ENVIRONMENTS`.
    base_url : str, optional
        Overrides the environment's base URL (a proxy, the loopback fake of the tests).
    timeout : float, default 10
        Seconds per request (connect and read).
    session : requests.Session, optional
        Default: a new session, closed by :meth:`close`.
    retries : int, default 3
        Retries of a read after a timeout, reset or 5xx, and of any request after a 429.
    max_retry_after : float, default 60
        The longest ``Retry-After`` honoured; a longer one raises ExchangeError.
    max_pages : int, default 100
        Most ``sinceid`` pages one :meth:`fills_since` call reads; a longer history raises
        (see the module notes).
    resolve_attempts : int, default 2
        Queries by client id after a submit's outcome was lost (0: return UNKNOWN at once).
    clock, sleep : callables, default ``time.monotonic``, ``time.sleep``

    Raises
    ------
    InvalidParameterError
        A bad parameter (the message names it); ``token`` not a :class:`Secret`.

    Examples
    --------
    >>> from quantlab.live.secrets import Secret
    >>> OandaBroker("101-001-1234567-001", token=Secret("t", name="OANDA_TOKEN"))
    OandaBroker(account_id='101-001-1234567-001', environment='practice', \
base_url='https://api-fxpractice.oanda.com', token=Secret(OANDA_TOKEN=***))
    """

    mode = "live"
    authenticated = True

    def __init__(self, account_id: str, *, token: Secret, environment: str = "practice",
                 base_url: str | None = None, timeout: float = 10.0, session: Any = None,
                 retries: int = 3, max_retry_after: float = 60.0, max_pages: int = 100,
                 resolve_attempts: int = 2,
                 clock: Callable[[], float] = _time.monotonic,
                 sleep: Callable[[float], None] = _time.sleep) -> None:
        caller = "OandaBroker"
        if not isinstance(account_id, str) or not account_id:
            raise InvalidParameterError(message("account_id", caller, "a non-empty string",
                                                account_id, "e.g. '101-001-1234567-001'."))
        if not isinstance(token, Secret):
            raise InvalidParameterError(message(
                "token", caller, "a quantlab.live.secrets.Secret", type(token).__name__,
                "Read it with secret_from_env('OANDA_TOKEN'); a plain string would leak."))
        self.environment = check_choice("environment", environment, tuple(ENVIRONMENTS),
                                        caller=caller)
        self.account_id = account_id
        self.base_url = (base_url or ENVIRONMENTS[self.environment]).rstrip("/")
        self.timeout = check_float("timeout", timeout, caller=caller, minimum=0.0,
                                   exclusive_minimum=True)
        self.retries = check_int("retries", retries, caller=caller, minimum=0, maximum=20)
        self.max_retry_after = check_float("max_retry_after", max_retry_after, caller=caller,
                                           minimum=0.0)
        self.max_pages = check_int("max_pages", max_pages, caller=caller, minimum=1)
        self.resolve_attempts = check_int("resolve_attempts", resolve_attempts, caller=caller,
                                          minimum=0, maximum=10)
        self._token = token
        self._clock = clock
        self._sleep = sleep
        self._own_session = session is None
        if session is None:
            import requests

            session = requests.Session()
        self._session = session
        self._instruments: dict[str, OandaInstrument] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, environ: dict[str, str] | None = None,
                    session: Any = None) -> OandaBroker:
        """Build a broker from a config mapping; the token comes from the environment.

        Keys: ``account_id`` (required), ``token_env`` (the environment variable holding the
        token, default ``"OANDA_TOKEN"``), ``environment``, ``base_url``, ``timeout``,
        ``retries``, ``max_retry_after``, ``max_pages``, ``resolve_attempts``. A config
        never holds the token.

        Raises
        ------
        InvalidParameterError
            An unknown key (with a did-you-mean), no ``account_id``, the variable unset.
        """
        options = dict(config)
        check_options(options, _CONFIG_KEYS, caller="OandaBroker.from_config")
        if "account_id" not in options:
            raise InvalidParameterError(message("account_id", "OandaBroker.from_config",
                                                "given in the config", None,
                                                "Add `account_id: 101-...` to the broker "
                                                "section."))
        token = cast(Secret, secret_from_env(str(options.pop("token_env", "OANDA_TOKEN")),
                                             environ=environ))  # required: never None
        return cls(str(options.pop("account_id")), token=token, session=session, **options)

    def __repr__(self) -> str:
        return (f"OandaBroker(account_id={self.account_id!r}, environment={self.environment!r}, "
                f"base_url={self.base_url!r}, token={self._token!r})")

    # ------------------------------------------------------------------ HTTP
    def _redact(self, text: str) -> str:
        return redact(text, [self._token])

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: Any = None, safe_to_retry: bool = True) -> _Reply:
        """One v20 request with the error policy of the module notes.

        ``safe_to_retry`` False (a POST) turns a timeout, reset or 5xx into :class:`_Uncertain`.
        """
        import requests

        headers = {"Authorization": f"Bearer {self._token.reveal()}",
                   "Accept-Datetime-Format": "RFC3339"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = self.base_url + path
        last = ""
        start = self._clock()
        for attempt in range(self.retries + 1):
            try:
                resp = self._session.request(method, url, params=params, json=body,
                                             headers=headers, timeout=self.timeout,
                                             allow_redirects=False)
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {self._redact(str(exc))}"
                log.debug("%s %s -> %s", method, path, type(exc).__name__)
                if not safe_to_retry:
                    raise _Uncertain(last) from None
                self._sleep(min(0.25 * 2 ** attempt, 2.0))
                continue
            log.debug("%s %s -> %s", method, path, resp.status_code)
            status = resp.status_code
            if status in (401, 403):
                raise LiveError(self._redact(
                    f"OANDA refused the credentials (HTTP {status}: {_error_text(resp)}) for "
                    f"account {self.account_id} on {self.base_url}; check the token variable "
                    f"{self._token.name or '(unnamed)'} and the account id and environment, "
                    "then restart. The runner stops.")) from None
            if status == 429:
                wait = _retry_after(resp.headers.get("Retry-After"), attempt)
                if wait > self.max_retry_after:
                    raise ExchangeError(f"OANDA rate limit: Retry-After {wait:g} s exceeds "
                                        f"max_retry_after={self.max_retry_after:g} s; nothing "
                                        "was processed. Slow the request rate, or raise "
                                        "max_retry_after.")
                last = f"HTTP 429 (Retry-After {wait:g} s)"
                self._sleep(wait)
                continue
            if status >= 500:
                last = f"HTTP {status}: {self._redact(_error_text(resp))}"
                if not safe_to_retry:
                    raise _Uncertain(last)
                self._sleep(min(0.25 * 2 ** attempt, 2.0))
                continue
            return _Reply(status, _json(resp))
        raise ExchangeError(f"OANDA {method} {path} failed {self.retries + 1} times in "
                            f"{self._clock() - start:.1f} s; last: {last}. Nothing is "
                            "assumed: check connectivity and "
                            "https://status.oanda.com, then retry.")

    def _get(self, path: str, *, params: dict[str, Any] | None = None,
             allow: tuple[int, ...] = ()) -> _Reply:
        reply = self._call("GET", path, params=params)
        if reply.status >= 400 and reply.status not in allow:
            raise ExchangeError(self._redact(
                f"OANDA GET {path} answered HTTP {reply.status}: "
                f"{reply.data.get('errorMessage', reply.data)}"))
        return reply

    @property
    def _account_path(self) -> str:
        return f"/v3/accounts/{quote(self.account_id, safe='')}"

    # ------------------------------------------------------------------ rules
    def instrument(self, symbol: str) -> OandaInstrument:
        """The trading rules of ``symbol`` (fetched once for every instrument, then cached).

        Raises
        ------
        InvalidParameterError
            ``symbol`` is not tradeable on the account (with a did-you-mean).
        """
        if not self._instruments:
            data = self._get(self._account_path + "/instruments").data
            self._instruments = {d["name"]: _instrument(d) for d in data.get("instruments", [])}
        if symbol not in self._instruments:
            raise InvalidParameterError(message(
                "symbol", "OandaBroker", "an instrument of the account, e.g. 'EUR_USD'", symbol,
                _did_you_mean_instrument(symbol, self._instruments)))
        return self._instruments[symbol]

    def rules(self, symbol: str) -> ExchangeRules:
        """``lot_size`` from ``tradeUnitsPrecision``, ``tick_size`` from ``displayPrecision``."""
        inst = self.instrument(symbol)
        return ExchangeRules(10.0 ** -inst.units_precision, inst.tick_size, 0.0)

    def units(self, symbol: str, size: float) -> Decimal:
        """The units an order of ``size`` sends: truncated to the precision, never rounded up."""
        return _truncate(size, self.instrument(symbol).units_precision)

    def _refusal(self, order: OrderRequest) -> tuple[Decimal, str]:
        size = float(order.size)
        if not math.isfinite(size) or size <= 0:
            return Decimal(0), f"refused locally: size {size} is not a finite number > 0"
        inst = self.instrument(order.symbol)
        units = _truncate(size, inst.units_precision)
        if units < inst.min_units:
            return units, (f"refused locally: {size} {order.symbol} truncates to {units} units, "
                           f"below the minimum trade size {inst.min_units}")
        if inst.max_units and units > inst.max_units:
            return units, (f"refused locally: {units} {order.symbol} units exceed the maximum "
                           f"order size {inst.max_units}")
        return units, ""

    # ------------------------------------------------------------------ orders
    def submit(self, order: OrderRequest) -> OrderAck:
        """Send a MARKET order (FOK); a client id already on the account is never resent."""
        side = check_choice("side", order.side, ("buy", "sell"), caller="OandaBroker.submit")
        units, refusal = self._refusal(order)
        if refusal:
            return OrderAck(order.client_id, "", "REJECTED", 0.0, refusal)
        existing = self.get_order(order.client_id)
        if existing is not None:
            return existing._replace(detail="duplicate client id")
        signed = units if side == "buy" else -units
        body = {"order": {"type": "MARKET", "instrument": order.symbol, "units": str(signed),
                          "timeInForce": "FOK",
                          "positionFill": "REDUCE_ONLY" if order.reduce_only else "DEFAULT",
                          "clientExtensions": {"id": order.client_id}}}
        try:
            reply = self._call("POST", self._account_path + "/orders", body=body,
                               safe_to_retry=False)
        except _Uncertain as exc:
            return self._resolve(order.client_id, str(exc))
        return self._ack_from_create(order.client_id, reply)

    def _resolve(self, client_id: str, why: str) -> OrderAck:
        """Query a lost submit by client id, ``resolve_attempts`` times; else UNKNOWN."""
        log.warning("order %s: outcome unknown after sending (%s); querying, never resending",
                    client_id, why)
        for attempt in range(self.resolve_attempts):
            if attempt:
                self._sleep(min(0.25 * 2 ** attempt, 2.0))
            try:
                ack = self.get_order(client_id)
            except ExchangeError:
                ack = None
            if ack is not None:
                return ack._replace(detail=f"resolved by query after: {why}")
        return OrderAck(client_id, "", "UNKNOWN", 0.0,
                        f"outcome unknown after sending ({why}): resolve with "
                        f"get_order({client_id!r}); never resend")

    def _ack_from_create(self, client_id: str, reply: _Reply) -> OrderAck:
        data = reply.data
        created = data.get("orderCreateTransaction") or {}
        if reply.status in (200, 201):
            if "orderFillTransaction" in data:
                fill = data["orderFillTransaction"]
                return OrderAck(client_id, str(fill.get("orderID", created.get("id", ""))),
                                "FILLED", abs(float(fill["units"])), "")
            if "orderCancelTransaction" in data:
                reason = data["orderCancelTransaction"].get("reason", "")
                return OrderAck(client_id, str(created.get("id", "")), "REJECTED", 0.0,
                                f"cancelled by OANDA: {reason}")
            return OrderAck(client_id, str(created.get("id", "")), "ACCEPTED", 0.0, "")
        reject = data.get("orderRejectTransaction") or {}
        reason = reject.get("rejectReason") or data.get("errorCode") or f"HTTP {reply.status}"
        if reason == "CLIENT_ORDER_ID_ALREADY_EXISTS":
            existing = self.get_order(client_id)
            if existing is not None:
                return existing._replace(detail="duplicate client id")
        return OrderAck(client_id, "", "REJECTED", 0.0, self._redact(
            f"rejected by OANDA: {reason}: {data.get('errorMessage', '')}".rstrip(": ")))

    def cancel(self, client_id: str) -> OrderAck:
        """Cancel a pending order; a filled or unknown one reports its state instead."""
        reply = self._call("PUT", f"{self._account_path}/orders/@{quote(client_id, safe='')}"
                           "/cancel")
        if reply.status == 200 and "orderCancelTransaction" in reply.data:
            tx = reply.data["orderCancelTransaction"]
            return OrderAck(client_id, str(tx.get("orderID", "")), "CANCELLED", 0.0, "")
        ack = self.get_order(client_id)
        if ack is None:
            return OrderAck(client_id, "", "REJECTED", 0.0, "unknown order")
        return ack

    def get_order(self, client_id: str) -> OrderAck | None:
        """The order with this client id, or None when OANDA has none."""
        reply = self._get(f"{self._account_path}/orders/@{quote(client_id, safe='')}",
                          allow=(404,))
        if reply.status == 404:
            return None
        return self._ack_from_order(reply.data["order"])

    def _ack_from_order(self, order: Mapping[str, Any]) -> OrderAck:
        state = _STATES.get(str(order.get("state")), "UNKNOWN")
        filled = abs(float(order.get("units", 0))) if state == "FILLED" else 0.0
        detail = ""
        if state == "CANCELLED" and order.get("type") == "MARKET":
            # a market order is cancelled by OANDA (margin, market halted): a rejection
            tx = order.get("cancellingTransactionID")
            reason = ""
            if tx:
                reason = self._get(f"{self._account_path}/transactions/{tx}").data.get(
                    "transaction", {}).get("reason", "")
            state = "CANCELLED" if reason == "CLIENT_REQUEST" else "REJECTED"
            detail = f"cancelled by OANDA: {reason}" if reason else "cancelled by OANDA"
        return OrderAck(_client_id(order), str(order.get("id", "")), state, filled, detail)

    def open_orders(self) -> list[OrderAck]:
        """Pending orders (with ``"oanda:<id>"`` as the client id of those without one)."""
        data = self._get(self._account_path + "/pendingOrders").data
        return [self._ack_from_order(o) for o in data.get("orders", [])]

    # ------------------------------------------------------------------ fills, positions
    def fills_since(self, cursor: int = 0) -> tuple[list[BrokerFill], int]:
        """``ORDER_FILL`` transactions after transaction id ``cursor``, and the new cursor.

        Every page up to the account's ``lastTransactionID`` is read (at most
        ``max_pages``), so the fills returned are all of them.

        Raises
        ------
        ExchangeError
            The history after ``cursor`` is longer than ``max_pages`` pages: nothing is
            returned (a partial set would be taken as complete). Raise ``max_pages``.
        """
        start = cursor = check_int("cursor", cursor, caller="OandaBroker.fills_since",
                                   minimum=0)
        fills: list[BrokerFill] = []
        last = cursor
        for _page in range(self.max_pages):
            data = self._get(self._account_path + "/transactions/sinceid",
                             params={"id": cursor}).data
            txs = data.get("transactions", [])
            for tx in txs:
                if tx.get("type") == "ORDER_FILL":
                    fills.append(_fill(tx))
                cursor = max(cursor, int(tx["id"]))
            last = int(data.get("lastTransactionID", cursor))
            if not txs or cursor >= last:
                return fills, cursor
        raise ExchangeError(
            f"OandaBroker.fills_since({start}): the transaction history is longer than "
            f"max_pages={self.max_pages} pages (read up to transaction {cursor} of {last}); "
            "no fills are returned, as a partial set would be taken as complete. Raise "
            "max_pages (broker option `max_pages`; OANDA serves up to 1000 transactions a "
            "page).")

    def positions(self) -> dict[str, float]:
        """Net units per instrument (``long.units + short.units``; flat ones left out)."""
        data = self._get(self._account_path + "/openPositions").data
        out = {}
        for p in data.get("positions", []):
            net = float(p.get("long", {}).get("units", 0)) + float(
                p.get("short", {}).get("units", 0))
            if net != 0:
                out[str(p["instrument"])] = net
        return out

    def account(self) -> OandaAccount:
        """The account summary (balance, NAV, margin)."""
        a = self._get(self._account_path).data["account"]
        return OandaAccount(str(a["currency"]), float(a["balance"]), float(a["NAV"]),
                            float(a.get("marginUsed", 0)), float(a.get("marginAvailable", 0)),
                            int(a.get("lastTransactionID", 0)))

    def balances(self) -> dict[str, float]:
        """``{home currency: balance}`` (realized; :meth:`account` has the NAV)."""
        a = self.account()
        return {a.currency: a.balance}

    def open_trades(self) -> list[OandaTrade]:
        """Open trades (``GET /trades``), newest first as OANDA lists them."""
        data = self._get(self._account_path + "/trades").data
        return [OandaTrade(str(t["id"]), _client_id(t), str(t["instrument"]),
                           float(t["currentUnits"]), float(t["price"]))
                for t in data.get("trades", [])]

    def close(self) -> None:
        """Close the HTTP session if the broker made it."""
        if self._own_session:
            self._session.close()


class OandaFeed(Feed):
    """Closed candles of OANDA instruments (``GET /v3/instruments/{name}/candles``).

    Each call of :meth:`bars` fetches the candles available now (mid prices), keeps the
    ``complete`` ones only, and yields one :class:`~quantlab.live.feeds.Bar` per time that
    every symbol has a complete candle for (a time missing for one symbol is left out), in
    time order; then it ends: it never waits for the next candle. The still-forming candle
    is never served.

    :meth:`~quantlab.live.runner.Runner.loop` calls :meth:`bars` once, so a run on this
    feed is a **catch-up** over the candles available when it starts, and ends with them.
    To follow the market, start the run again after each bar close (e.g. from cron): the
    feed resumes by time (``resume_by = "time"``: ``bars(after=<the journal's last bar>)``),
    so a restart never repeats or skips a bar.

    Parameters
    ----------
    broker : OandaBroker - supplies the base URL, token and error policy (the caller's:
        :meth:`close` leaves it open; :meth:`from_config` builds one the feed owns).
    symbols : sequence of str - OANDA instruments.
    granularity : str, default "H1" - a key of :data:`GRANULARITIES`.
    count : int, default 500 - candles per request (OANDA allows at most
        :data:`MAX_CANDLES`); without ``after``, the history the run starts with.
    """

    #: a run resumes after the journal's last bar time (not by a count of bars)
    resume_by = "time"

    def __init__(self, broker: OandaBroker, symbols: Sequence[str], *, granularity: str = "H1",
                 count: int = 500) -> None:
        caller = "OandaFeed"
        self.broker = broker
        self.symbols = [str(s) for s in ([symbols] if isinstance(symbols, str) else symbols)]
        if not self.symbols:
            raise InvalidParameterError(message("symbols", caller, "at least one instrument",
                                                symbols))
        self.granularity = check_choice("granularity", granularity, tuple(GRANULARITIES),
                                        caller=caller)
        self.count = check_int("count", count, caller=caller, minimum=1, maximum=MAX_CANDLES)
        self.timeframe = pd.Timedelta(seconds=GRANULARITIES[self.granularity])
        self._own_broker = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], symbols: Sequence[str], *,
                    granularity: str = "H1", count: int = 500,
                    environ: dict[str, str] | None = None, session: Any = None) -> OandaFeed:
        """A feed on a broker built from an OANDA config mapping; :meth:`close` closes it.

        ``config`` is what :meth:`OandaBroker.from_config` takes (the token comes from the
        environment variable ``token_env``).
        """
        broker = OandaBroker.from_config(config, environ=environ, session=session)
        try:
            feed = cls(broker, symbols, granularity=granularity, count=count)
        except BaseException:
            broker.close()
            raise
        feed._own_broker = True
        return feed

    def close(self) -> None:
        """Close the broker (and its HTTP session) if this feed built it."""
        if self._own_broker:
            self.broker.close()

    def _candles(self, symbol: str, after: pd.Timestamp | None) -> dict[pd.Timestamp, list[float]]:
        params: dict[str, Any] = {"granularity": self.granularity, "price": "M",
                                  "count": self.count}
        if after is not None:
            params["from"] = (after + self.timeframe).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
        data = self.broker._get(f"/v3/instruments/{quote(symbol, safe='')}/candles",
                                params=params).data
        out = {}
        for c in data.get("candles", []):
            if c.get("complete") is True:
                m = c["mid"]
                out[pd.Timestamp(c["time"])] = [float(m["o"]), float(m["h"]), float(m["l"]),
                                                float(m["c"]), float(c.get("volume", 0))]
        return out

    def bars(self, *, skip: int = 0, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        """Closed bars after ``after`` (default: the last ``count``), the first ``skip`` left out."""
        stamp = None if after is None else pd.Timestamp(after)
        if stamp is not None and stamp.tz is None:
            stamp = stamp.tz_localize("UTC")
        per_symbol = [self._candles(s, stamp) for s in self.symbols]
        times = sorted(set.intersection(*(set(c) for c in per_symbol)))
        if stamp is not None:
            times = [t for t in times if t > stamp]
        for t in times[int(skip):]:
            rows = np.array([c[t] for c in per_symbol], dtype=np.float64)
            yield Bar(t, rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy(),
                      rows[:, 3].copy(), rows[:, 4].copy())


# ---------------------------------------------------------------------- parsing helpers
def _did_you_mean_instrument(symbol: Any, known: Mapping[str, Any]) -> str:
    """A did-you-mean for an instrument name (``EUR/USD`` -> ``EUR_USD``)."""
    from quantlab._validate import did_you_mean

    guess = str(symbol).replace("/", "_").upper()
    if guess in known:
        return f"Did you mean {guess!r}? OANDA names instruments BASE_QUOTE."
    return did_you_mean(symbol, known) or "OANDA names instruments BASE_QUOTE, e.g. 'EUR_USD'."


def _instrument(d: Mapping[str, Any]) -> OandaInstrument:
    return OandaInstrument(str(d["name"]), int(d.get("tradeUnitsPrecision", 0)),
                           Decimal(str(d.get("minimumTradeSize", "1"))),
                           Decimal(str(d.get("maximumOrderUnits", "0"))),
                           10.0 ** int(d.get("pipLocation", -4)),
                           10.0 ** -int(d.get("displayPrecision", 5)),
                           float(d.get("marginRate", 0.0)))


def _fill(tx: Mapping[str, Any]) -> BrokerFill:
    units = float(tx["units"])
    cid = tx.get("clientOrderID") or f"oanda:{tx.get('orderID', '')}"
    fee = float(tx.get("commission", 0) or 0) + float(tx.get("guaranteedExecutionFee", 0) or 0)
    price = tx.get("fullVWAP") or tx["price"]  # ``price`` is deprecated in v20
    return BrokerFill(str(tx["id"]), str(cid), str(tx["instrument"]),
                      "buy" if units > 0 else "sell", abs(units), float(price), fee,
                      tx.get("time"))


def _json(resp: Any) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {"errorMessage": f"non-JSON body ({len(resp.content)} bytes)"}
    return data if isinstance(data, dict) else {"data": data}


def _error_text(resp: Any) -> str:
    return str(_json(resp).get("errorMessage", ""))[:200]


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date); backoff if absent."""
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = pd.Timestamp(parsedate_to_datetime(value))
                return max(0.0, (when - pd.Timestamp.now(tz="UTC")).total_seconds())
            except (ValueError, TypeError):
                pass
    return min(0.5 * 2 ** attempt, 8.0)

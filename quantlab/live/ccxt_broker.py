"""A :class:`~quantlab.live.brokers.Broker` over the unified ccxt API (any ccxt exchange id).

:class:`CcxtBroker` turns the runner's calls into ccxt calls and every failure into a policy
of :mod:`quantlab.live.venue_policy` (retry, unknown, reject, stop, rate, ban, resync).

Design decisions a demanding user would want written down:

- **Never a blind resend.** ``submit`` sends an order once. A timeout, reset, 5xx or Binance
  "status unknown" (-1006/-1007) after the send makes the outcome unknown: the broker then
  queries the order *by its client order id* (a bounded number of times) and returns what the
  venue holds, or ``OrderAck(state="UNKNOWN")`` when it still cannot tell. A 429 or a -1021
  (definitive refusals: the venue did not process the order) are the only submit errors
  followed by a new attempt. The retry is safe *because* those answers mean the venue
  processed nothing (a 429 is refused before the matching engine, a -1021 before the
  signature is even accepted), not because of the client id; the same client order id is
  kept anyway, so a venue that did book the first would refuse the second as a duplicate.
- **Rules before requests.** Amounts are truncated to the market's lot (exact decimal
  arithmetic, never rounded up). An order below the minimum quantity or the minimum notional
  (at the order's reference price) is refused locally, ``state="REJECTED"``, with no request.
  A reduce-only linear order skips the minimum notional (Binance futures exempt them: a
  small remainder must always be closable). An unknown symbol raises before the broker
  learns it.
- **Units vs contracts.** The runner speaks units of the base asset everywhere. A linear
  market with ``contractSize`` != 1 trades in contracts: the order size is converted with
  ``contracts = units / contractSize`` before the lot, min/max quantity checks (which ccxt
  states in contracts) and ``create_order``; an ack's ``filled``, every fill's size and every
  position are converted back to units (``x contractSize``).
  The free balance is not checked here (it would cost a request per order; the runner's
  account holds the cash): the venue's -2010 comes back as a REJECTED ack after one request.
- **Client order ids.** Sent as ccxt's ``clientOrderId`` (Binance ``newClientOrderId``) and
  queried with ``origClientOrderId`` (Binance) or ``clientOrderId`` (others).
  :meth:`get_order` returns None only when the venue answers "order does not exist" for
  every symbol it may belong to; any other failure raises.
- **Fills.** Trades come from ``fetch_my_trades`` per symbol, at most ``max_trade_pages``
  pages per symbol per call. Binance: paged by ``fromId`` from trade id 0, 1000 per page,
  until a short page. Others: a per-symbol time cursor starting at ``trades_since_ms``; each
  page moves it to the newest trade's timestamp (*inclusive*: trades sharing that
  millisecond but cut off by the page boundary are read again and deduplicated, where "+1"
  would lose them), and paging stops when a page adds no new trade id, never on a short
  page (venues cap pages below 1000: OKX 100, Bybit 100). A trade's id is ``"<market id>:<venue trade id>"`` (venue ids
  are unique per market only); duplicates are dropped by that id. The client order id of a
  trade comes from the order it belongs to (cached; one ``fetch_order`` for an order the
  broker has not seen). The cursor of :meth:`fills_since` is the count of distinct trades
  seen in this broker's lifetime, in first-seen order: the runner re-reads it with
  ``fills_since(0)`` after a restart. Fees are converted to the quote currency (a fee paid in
  the base asset is multiplied by the trade price; a fee in a third currency, e.g. BNB, is
  reported in its own units: configure the account to pay fees in the quote asset).
- **Positions.** Spot: derived from the fills already fetched (bought minus sold per
  symbol), because base balances include holdings that are not trades (deposits, dust, fees
  paid in the base asset), and the runner reconciles positions with fills (INV-3). The
  trades are fetched only when :meth:`fills_since` never ran: a fill landing between the
  runner's ``fills_since(0)`` and ``positions()`` must not make the two disagree. A history
  longer than ``max_trade_pages`` pages raises :class:`~quantlab.live._errors.LiveError`
  instead of reporting a partial position. Linear: ccxt's ``fetch_positions`` (contracts x
  contract size, negative when short; hedge mode's long and short rows of a symbol are
  summed).
- **One thread.** The broker keeps caches (client id -> symbol, order id -> client id, the
  trades seen) without locks: the runner calls it from one thread.
- **Secrets.** Keys are :class:`~quantlab.live.secrets.Secret` objects, revealed once to the
  ccxt client (which signs). ccxt ``verbose`` is forced off; the client's DEBUG logger is
  replaced by one that redacts the key and secret values (ccxt logs request headers, which
  carry the API key); every error message built here is redacted too; ``repr`` shows no
  credential. A ready client's credentials are redacted too: every attribute ccxt knows as
  a credential (``apiKey``, ``secret``, ``password`` (OKX passphrase), ``uid``,
  ``privateKey``, ``token``...).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from quantlab._validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_options,
    did_you_mean,
    message,
)
from quantlab.errors import InvalidParameterError
from quantlab.live._errors import LiveError
from quantlab.live.brokers import Broker, BrokerFill, ExchangeRules, OrderAck, OrderRequest
from quantlab.live.secrets import Secret, redact, secret_from_env
from quantlab.live.venue_policy import (
    Backoff,
    OutcomeUnknown,
    RequestGate,
    VenueCaller,
    VenueError,
    VenueRejectedError,
    rewrite_urls,
)

__all__ = ["CcxtBroker"]

_BINANCE_STATES = {"NEW": "ACCEPTED", "PARTIALLY_FILLED": "PARTIALLY_FILLED",
                   "FILLED": "FILLED", "CANCELED": "CANCELLED",
                   "PENDING_CANCEL": "CANCEL_PENDING", "REJECTED": "REJECTED",
                   "EXPIRED": "EXPIRED", "EXPIRED_IN_MATCH": "EXPIRED"}
_CCXT_STATES = {"closed": "FILLED", "canceled": "CANCELLED", "cancelled": "CANCELLED",
                "expired": "EXPIRED", "rejected": "REJECTED"}
_CONFIG_KEYS = ("exchange", "market_type", "symbols", "api_key_env", "secret_env", "urls",
                "sandbox", "leverage", "timeout_ms", "max_attempts", "max_total_s",
                "backoff_seed", "resolve_attempts", "max_trade_pages", "trades_since_ms")
_PAGE = 1000
_CREDENTIALS = ("apiKey", "secret", "uid", "accountId", "login", "password", "twofa",
                "privateKey", "walletAddress", "token")


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """ccxt's ``exchange.logger`` replacement: formats, redacts, then logs."""

    def __init__(self, logger: logging.Logger, secrets: list[Secret]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = f"{msg} {args}"
        kwargs.pop("exc_info", None)
        self.logger.log(level, redact(text, self._secrets), **kwargs)


def _decimal(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def truncate_to_lot(size: float, lot: float) -> float:
    """``size`` rounded *down* to a multiple of ``lot`` (exact decimals; lot 0: unchanged)."""
    if lot <= 0:
        return float(size)
    step = _decimal(lot)
    return float((_decimal(size) / step).to_integral_value(ROUND_FLOOR) * step)


class CcxtBroker(Broker):
    """A live (or testnet) venue through ccxt.

    Parameters
    ----------
    exchange : str
        A ccxt exchange id (``"binance"``, ``"binanceusdm"``, ``"okx"``...).
    market_type : {"spot", "linear"}, default "spot"
        Spot markets, or linear perpetuals (``reduce_only`` is sent as ``reduceOnly``).
    symbols : iterable of str
        Unified symbols the run trades (fills and positions are read for these; a symbol
        submitted later is added).
    api_key, secret : Secret, optional
        Both or neither. Without them only public calls work (``authenticated`` False).
    urls : dict, optional
        REST base URL overrides: ``{"base": "http://127.0.0.1:8000"}`` rewrites the scheme and
        host of every API URL (keeping paths; environment proxies are then ignored); any other
        key replaces ``client.urls["api"][key]``.
    sandbox : bool, default False
        ccxt's testnet mode (``set_sandbox_mode(True)``).
    leverage : float, optional
        Linear only: set once per symbol before its first order.
    timeout_ms : int, default 10 000
        ccxt's request timeout.
    max_attempts, max_total_s, backoff_seed
        The :class:`~quantlab.live.venue_policy.Backoff` of every call.
    resolve_attempts : int, default 3
        Queries by client id after an unknown submit outcome.
    max_trade_pages : int, default 20
        Pages of trades read per symbol per :meth:`fills_since` call (Binance: 1000 a page).
    trades_since_ms : int, optional
        Non-Binance venues: read trades from this time (ms).
    clock, sleep : callables
        Monotonic seconds and ``sleep(seconds)`` (tests inject fakes).
    client : ccxt.Exchange, optional
        A ready client (then ``api_key``/``secret``/``urls``/``sandbox`` are not applied;
        verbose is still forced off and the logger still replaced).

    Examples
    --------
    >>> b = CcxtBroker("binance", symbols=["BTC/USDT"])
    >>> b.mode, b.authenticated
    ('live', False)
    >>> b
    CcxtBroker(exchange='binance', market_type='spot', authenticated=False, symbols=['BTC/USDT'])
    """

    mode = "live"

    def __init__(self, exchange: str, *, market_type: str = "spot",
                 symbols: Iterable[str] = (), api_key: Secret | None = None,
                 secret: Secret | None = None, urls: Mapping[str, str] | None = None,
                 sandbox: bool = False, leverage: float | None = None,
                 timeout_ms: int = 10_000, max_attempts: int = 5, max_total_s: float = 30.0,
                 backoff_seed: int = 0, resolve_attempts: int = 3, max_trade_pages: int = 20,
                 trades_since_ms: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, client: Any = None) -> None:
        caller = "CcxtBroker"
        self.market_type = check_choice("market_type", market_type, ("spot", "linear"),
                                        caller=caller)
        self.leverage = check_float("leverage", leverage, caller=caller, minimum=0.0,
                                    exclusive_minimum=True, allow_none=True)
        self.resolve_attempts = check_int("resolve_attempts", resolve_attempts, caller=caller,
                                          minimum=0)
        self.max_trade_pages = check_int("max_trade_pages", max_trade_pages, caller=caller,
                                         minimum=1)
        self.trades_since_ms = (None if trades_since_ms is None else
                                check_int("trades_since_ms", trades_since_ms, caller=caller))
        self._secrets = _check_keys(api_key, secret)
        self.client = client if client is not None else _build_client(
            exchange, api_key, secret, urls, check_bool("sandbox", sandbox, caller=caller),
            check_int("timeout_ms", timeout_ms, caller=caller, minimum=1))
        required = getattr(self.client, "requiredCredentials", None) or {}
        for attr in dict.fromkeys([*_CREDENTIALS, *required]):  # a ready client's too
            value = getattr(self.client, attr, None)
            if isinstance(value, str) and value and not any(s == value for s in self._secrets):
                self._secrets.append(Secret(value, name=f"client.{attr}"))
        self.authenticated = bool(self._secrets)
        self.exchange = str(self.client.id)
        self.is_binance = self.exchange.startswith("binance")
        self.client.verbose = False
        self.client.logger = _RedactingLogger(logging.getLogger("ccxt.base.exchange"),
                                              self._secrets)
        self.client.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
        self.caller = VenueCaller(
            backoff=Backoff(max_attempts=max_attempts, max_total_s=max_total_s,
                            seed=backoff_seed),
            gate=RequestGate(clock=clock), sleep=sleep, clock=clock,
            headers=lambda: self.client.last_response_headers,
            resync=self.client.load_time_difference, redact=self._redact, venue=self.exchange)
        self._symbols: list[str] = []
        for symbol in symbols:
            self._learn(str(symbol))
        self._cid_symbol: dict[str, str] = {}
        self._order_cid: dict[tuple[str, str], str] = {}
        self._fills: list[BrokerFill] = []
        self._seen: set[str] = set()
        self._next_trade_id: dict[str, int] = {}
        self._since: dict[str, int | None] = {}
        self._incomplete: set[str] = set()
        self._fetched: set[str] = set()
        self._leverage_set: set[str] = set()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, config: Mapping[str, Any], *,
                    environ: Mapping[str, str] | None = None, **overrides: Any) -> CcxtBroker:
        """Build from a config dict; credentials come from the environment only.

        ``api_key_env`` and ``secret_env`` name the environment variables holding the key and
        the secret (both or neither). A config holding ``api_key`` or ``secret`` values is
        refused. ``overrides`` (``clock``, ``sleep``, ``client``) are passed through.

        Examples
        --------
        >>> b = CcxtBroker.from_config({"exchange": "binance", "symbols": ["BTC/USDT"],
        ...                             "api_key_env": "K", "secret_env": "S"},
        ...                            environ={"K": "key", "S": "secret"})
        >>> b.authenticated
        True
        """
        for bad in ("api_key", "secret", "apiKey", "password"):
            if bad in config:
                raise InvalidParameterError(
                    f"CcxtBroker.from_config(): the config holds `{bad}`; secrets are never "
                    "read from config files. Put the variable's name in `api_key_env` / "
                    "`secret_env` and export the value in the environment.")
        check_options(dict(config), _CONFIG_KEYS, caller="CcxtBroker.from_config")
        if "exchange" not in config:
            raise InvalidParameterError(message("exchange", "CcxtBroker.from_config",
                                                "a ccxt exchange id", None))
        options = {k: v for k, v in config.items()
                   if k not in ("exchange", "api_key_env", "secret_env")}
        env = dict(environ) if environ is not None else None
        key = secret = None
        if config.get("api_key_env") or config.get("secret_env"):
            for name in ("api_key_env", "secret_env"):
                if not config.get(name):
                    raise InvalidParameterError(message(
                        name, "CcxtBroker.from_config", "the name of an environment variable "
                        "(api_key_env and secret_env go together)", config.get(name),
                        "Set both keys, or neither for public calls only."))
            key = secret_from_env(str(config.get("api_key_env", "")), environ=env)
            secret = secret_from_env(str(config.get("secret_env", "")), environ=env)
        return cls(str(config["exchange"]), api_key=key, secret=secret, **options, **overrides)

    def __repr__(self) -> str:
        return (f"CcxtBroker(exchange={self.exchange!r}, market_type={self.market_type!r}, "
                f"authenticated={self.authenticated}, symbols={self._symbols!r})")

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _learn(self, symbol: str) -> None:
        if symbol not in self._symbols:
            self._symbols.append(symbol)

    # ------------------------------------------------------------------ markets and rules
    def _markets(self) -> dict[str, Any]:
        markets = self.caller.call("load_markets", self.client.load_markets)
        return dict(markets)

    def _market(self, symbol: str) -> dict[str, Any]:
        markets = self._markets()
        if symbol not in markets:
            raise InvalidParameterError(message(
                "symbol", "CcxtBroker", f"a market of {self.exchange}", symbol,
                did_you_mean(symbol, list(markets)) or "Check the symbol and market_type."))
        return dict(markets[symbol])

    def rules(self, symbol: str) -> ExchangeRules:
        """Lot (amount step), tick and min notional of ``symbol`` from ``load_markets``."""
        market = self._market(symbol)
        return ExchangeRules(self._step(market, "amount"), self._step(market, "price"),
                             float((market.get("limits", {}).get("cost") or {}).get("min")
                                   or 0.0))

    def _step(self, market: Mapping[str, Any], key: str) -> float:
        import ccxt

        value = (market.get("precision") or {}).get(key)
        if value is None:
            return 0.0
        mode = getattr(self.client, "precisionMode", ccxt.TICK_SIZE)
        if mode == ccxt.DECIMAL_PLACES:
            return float(Decimal(1).scaleb(-int(value)))
        if mode == ccxt.SIGNIFICANT_DIGITS:
            return 0.0  # no fixed step: leave sizes to ccxt's amount_to_precision
        return float(value)

    def _contract_size(self, symbol: str) -> float:
        """Units of the base asset per contract (1 for spot and when ccxt does not say)."""
        if self.market_type != "linear":
            return 1.0
        markets = self._markets()
        size = float((markets.get(symbol) or {}).get("contractSize") or 1.0)
        return size if math.isfinite(size) and size > 0 else 1.0

    def _precheck(self, order: OrderRequest) -> tuple[float, str]:
        """``(amount in contracts, reason)``; a reason means: refuse locally, send nothing.

        Spot and contract size 1: the amount is the size in units. Every check below is in
        the market's amount unit (contracts), the notional in the quote currency.
        """
        size, price = float(order.size), float(order.price)
        if not (math.isfinite(size) and math.isfinite(price)) or size <= 0 or price <= 0:
            return 0.0, f"invalid order: size {size}, price {price}"
        market = self._market(order.symbol)
        rules = self.rules(order.symbol)
        contract = self._contract_size(order.symbol)
        if contract != 1.0:
            size = float(_decimal(size) / _decimal(contract))
        qty = truncate_to_lot(size, rules.lot_size)
        amount = (market.get("limits") or {}).get("amount") or {}
        min_qty, max_qty = float(amount.get("min") or 0.0), amount.get("max")
        if qty <= 0 or qty < min_qty:
            return qty, (f"size {size} truncated to the lot {rules.lot_size:g} is {qty:g}, below "
                         f"the minimum quantity {min_qty:g}")
        if max_qty is not None and qty > float(max_qty):
            return qty, f"size {qty:g} above the maximum quantity {float(max_qty):g}"
        notional = _decimal(qty) * _decimal(contract) * _decimal(price)
        exempt = self.market_type == "linear" and order.reduce_only
        if not exempt and notional < _decimal(rules.min_notional):
            return qty, (f"notional {qty:g} x {contract:g} x {price:g} = {float(notional):.8g} "
                         f"below the minimum notional {rules.min_notional:g}")
        return qty, ""

    # ------------------------------------------------------------------ orders
    def submit(self, order: OrderRequest) -> OrderAck:
        """Send a market order once; unknown outcomes are resolved by client id, never resent.

        Returns REJECTED (no request) when the rules refuse it, REJECTED after the venue's
        definitive refusal, the venue's state when a query resolved a lost answer, UNKNOWN
        when nothing could resolve it. A client id the venue already holds returns that
        order's state (Binance refuses the duplicate; the broker then queries it).

        Raises
        ------
        VenueAuthError, VenueBannedError, VenueUnavailableError
            The order was not placed and the runner must stop or wait.
        """
        side = check_choice("side", order.side, ("buy", "sell"), caller="CcxtBroker.submit")
        qty, reason = self._precheck(order)
        self._learn(order.symbol)  # after the precheck: an unknown symbol raised there
        cid = order.client_id
        if reason:
            return OrderAck(cid, "", "REJECTED", 0.0, f"refused locally, nothing sent: {reason}")
        self._cid_symbol[cid] = order.symbol
        self._ensure_leverage(order.symbol)
        params: dict[str, Any] = {"clientOrderId": cid}
        if self.market_type == "linear" and order.reduce_only:
            params["reduceOnly"] = True
        try:
            raw = self.caller.call(
                f"create_order({cid})",
                lambda: self.client.create_order(order.symbol, "market", side, qty, None,
                                                 dict(params)), sent=True)
        except OutcomeUnknown as exc:
            return self._resolve(cid, exc)
        except VenueRejectedError as exc:
            if "Duplicate order" in str(exc):
                known = self.get_order(cid)
                if known is not None:
                    return known._replace(detail="duplicate client id")
            return OrderAck(cid, "", "REJECTED", 0.0, str(exc))
        return self._ack(raw, cid, order.symbol)

    def _ensure_leverage(self, symbol: str) -> None:
        if self.market_type != "linear" or self.leverage is None or symbol in self._leverage_set:
            return
        lev = self.leverage
        self.caller.call(f"set_leverage({symbol})",
                         lambda: self.client.set_leverage(int(lev) if lev.is_integer() else lev,
                                                          symbol))
        self._leverage_set.add(symbol)

    def _resolve(self, cid: str, exc: VenueError) -> OrderAck:
        """Query a lost submit by client id, a bounded number of times."""
        for attempt in range(1, self.resolve_attempts + 1):
            try:
                ack = self.get_order(cid)
            except VenueError as err:
                if err.fatal:
                    raise
                ack = None
            if ack is not None:
                return ack._replace(detail=f"resolved by query after {exc.error_class}")
            if attempt < self.resolve_attempts:
                self.caller.sleep(self.caller.backoff.delay(attempt, self.caller.rng))
        return OrderAck(cid, "", "UNKNOWN", 0.0, str(exc))

    def _fetch_order_params(self, cid: str) -> dict[str, str]:
        return {"origClientOrderId": cid} if self.is_binance else {"clientOrderId": cid}

    def get_order(self, client_id: str) -> OrderAck | None:
        """The order with this client id; None only when the venue says it does not exist.

        Raises
        ------
        VenueError
            The venue could not answer (the order's existence is unknown: never None).
        """
        known = self._cid_symbol.get(client_id)
        candidates = [known] if known else list(self._symbols)
        if not candidates:
            raise InvalidParameterError(message(
                "symbols", "CcxtBroker.get_order", "non-empty to look an order up by client id",
                [], "Pass symbols=[...] to CcxtBroker."))
        for symbol in candidates:
            try:
                raw = self.caller.call(
                    f"fetch_order({client_id})",
                    lambda s=symbol: self.client.fetch_order(  # type: ignore[misc]
                        None, s, self._fetch_order_params(client_id)))
            except VenueRejectedError as exc:
                if _not_found(exc):
                    continue
                raise
            return self._ack(raw, client_id, symbol)
        return None

    def cancel(self, client_id: str) -> OrderAck:
        """Cancel a working order; an order that is no longer open returns its state."""
        symbol = self._cid_symbol.get(client_id)
        if symbol is None:
            found = self.get_order(client_id)
            if found is None:
                return OrderAck(client_id, "", "REJECTED", 0.0, "unknown order")
            symbol = self._cid_symbol[client_id]
        try:
            raw = self.caller.call(
                f"cancel_order({client_id})",
                lambda: self.client.cancel_order(None, symbol,
                                                 self._fetch_order_params(client_id)),
                sent=True)
        except OutcomeUnknown as exc:
            return self._resolve(client_id, exc)
        except VenueRejectedError as exc:
            if not _not_found(exc):
                raise
            ack = self.get_order(client_id)  # filled or cancelled before the cancel arrived
            return ack if ack is not None else OrderAck(client_id, "", "REJECTED", 0.0,
                                                        "unknown order")
        return self._ack(raw, client_id, symbol)

    def open_orders(self) -> list[OrderAck]:
        """Working orders, foreign ones included.

        Binance: one call over every market of the client's market type. Other venues:
        one call per symbol this broker knows (``symbols`` and every symbol submitted), so
        an order on another market is not listed.
        """
        if self.is_binance:
            raws = list(self.caller.call("fetch_open_orders", self.client.fetch_open_orders))
        else:
            raws = []
            for symbol in self._symbols:
                raws.extend(self.caller.call(
                    f"fetch_open_orders({symbol})",
                    lambda s=symbol: self.client.fetch_open_orders(s)))  # type: ignore[misc]
        return [self._ack(r, str(r.get("clientOrderId") or ""), str(r.get("symbol")))
                for r in raws]

    def _ack(self, raw: Mapping[str, Any], cid: str, symbol: str) -> OrderAck:
        info = raw.get("info") or {}
        filled = float(raw.get("filled") or 0.0)
        state = _BINANCE_STATES.get(str(info.get("status"))) if isinstance(info, dict) else None
        if state is None:
            status = raw.get("status")
            state = _CCXT_STATES.get(str(status)) or (
                ("PARTIALLY_FILLED" if filled > 0 else "ACCEPTED") if status == "open"
                else "UNKNOWN")
        cid = str(raw.get("clientOrderId") or cid)
        broker_id = str(raw.get("id") or "")
        if cid:
            self._cid_symbol[cid] = symbol
            if broker_id:
                self._order_cid[(symbol, broker_id)] = cid
        return OrderAck(cid, broker_id, state, filled * self._contract_size(symbol), "")

    # ------------------------------------------------------------------ fills
    def fills_since(self, cursor: int = 0) -> tuple[list[BrokerFill], int]:
        """Distinct trades after ``cursor`` (first-seen order) and the new cursor."""
        cursor = check_int("cursor", cursor, caller="CcxtBroker.fills_since", minimum=0)
        self._refresh_trades()
        return list(self._fills[cursor:]), max(cursor, len(self._fills))

    def _refresh_trades(self) -> None:
        """Read new trades of every symbol, at most ``max_trade_pages`` pages each."""
        for symbol in list(self._symbols):
            self._incomplete.add(symbol)
            for _ in range(self.max_trade_pages):
                page = self._trade_page(symbol)
                added = self._apply_page(symbol, page)
                if not added or (self.is_binance and len(page) < _PAGE):
                    self._incomplete.discard(symbol)
                    break
            self._fetched.add(symbol)

    def _trade_page(self, symbol: str) -> list[dict[str, Any]]:
        if self.is_binance:
            params = {"fromId": self._next_trade_id.get(symbol, 0)}
            since = None
        else:
            params, since = {}, self._since.get(symbol, self.trades_since_ms)
        return list(self.caller.call(
            f"fetch_my_trades({symbol})",
            lambda: self.client.fetch_my_trades(symbol, since, _PAGE, params)))

    def _apply_page(self, symbol: str, page: list[dict[str, Any]]) -> int:
        """Turn a page into fills and return how many are new.

        Nothing is kept unless the whole page is mapped. The time cursor moves to the newest
        timestamp of the page (inclusive; see the module notes).
        """
        market = self._market(symbol)
        new: list[BrokerFill] = []
        ids: set[str] = set()
        top = self._next_trade_id.get(symbol, 0)
        for trade in page:
            trade_id = f"{market['id']}:{trade['id']}"
            with_int = str(trade["id"])
            if with_int.isdigit():
                top = max(top, int(with_int) + 1)
            if trade_id in self._seen or trade_id in ids:
                continue
            ids.add(trade_id)
            new.append(self._fill(trade, trade_id, symbol, market))
        stamps = [int(t["timestamp"]) for t in page if t.get("timestamp") is not None]
        self._fills.extend(new)
        self._seen |= ids
        self._next_trade_id[symbol] = top
        if stamps:
            self._since[symbol] = max(stamps)
        return len(new)

    def _fill(self, trade: Mapping[str, Any], trade_id: str, symbol: str,
              market: Mapping[str, Any]) -> BrokerFill:
        price = float(trade["price"])
        fee = trade.get("fee") or {}
        cost = float(fee.get("cost") or 0.0)
        if fee.get("currency") == market.get("base"):
            cost *= price
        stamp = trade.get("timestamp")
        when = None if stamp is None else datetime.fromtimestamp(stamp / 1000, UTC).isoformat()
        size = float(trade["amount"]) * self._contract_size(symbol)
        return BrokerFill(trade_id, self._client_id_of(symbol, str(trade.get("order"))),
                          symbol, str(trade["side"]), size, price, cost, when)

    def _client_id_of(self, symbol: str, order_id: str) -> str:
        cid = self._order_cid.get((symbol, order_id))
        if cid is None and self.is_binance and order_id.isdigit():
            # one allOrders page (ids >= order_id, up to 1000) maps the client ids of the next
            # trades' orders too, instead of one fetch_order per order (1000 trades at
            # start-up: 3 requests instead of 1000)
            page = self.caller.call(f"fetch_orders({symbol})", lambda: self.client.fetch_orders(
                symbol, None, _PAGE, {"orderId": int(order_id)}))
            for raw in page:
                self._order_cid[(symbol, str(raw.get("id")))] = str(raw.get("clientOrderId") or "")
            cid = self._order_cid.get((symbol, order_id))
        if cid is None:
            raw = self.caller.call(f"fetch_order(id={order_id})",
                                   lambda: self.client.fetch_order(order_id, symbol))
            cid = str(raw.get("clientOrderId") or "")
            self._order_cid[(symbol, order_id)] = cid
        return cid

    # ------------------------------------------------------------------ account
    def positions(self) -> dict[str, float]:
        """Units per symbol: spot from the fills already fetched, linear from the venue.

        Raises
        ------
        LiveError
            Spot: a symbol's trade history is longer than ``max_trade_pages`` pages, so the
            fills (and the position) are incomplete.
        """
        if self.market_type == "linear":
            raws = self.caller.call("fetch_positions",
                                    lambda: self.client.fetch_positions(list(self._symbols)))
            out: dict[str, float] = {}
            for p in raws:
                contract = float(p.get("contractSize") or self._contract_size(str(p["symbol"])))
                units = float(p.get("contracts") or 0.0) * contract
                units = -units if p.get("side") == "short" else units
                out[str(p["symbol"])] = out.get(str(p["symbol"]), 0.0) + units  # hedge mode
            return out
        if not self._fetched.issuperset(self._symbols):
            self._refresh_trades()
        if self._incomplete:
            names = ", ".join(sorted(self._incomplete))
            raise LiveError(
                f"CcxtBroker.positions(): the trade history of {names} is longer than "
                f"max_trade_pages={self.max_trade_pages} pages, so a position computed from "
                "the fills read so far would be wrong. Call fills_since() again until it "
                "returns no new fill, or raise max_trade_pages (or set trades_since_ms).")
        out = {}
        for f in self._fills:
            out[f.symbol] = out.get(f.symbol, 0.0) + (f.size if f.side == "buy" else -f.size)
        return out

    def balances(self) -> dict[str, float]:
        """Total (free + locked) balance per currency, zero balances left out."""
        raw = self.caller.call("fetch_balance", self.client.fetch_balance)
        totals = raw.get("total") or {}
        return {str(k): float(v) for k, v in totals.items() if v}

    def close(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None:
            session.close()


def _not_found(exc: VenueError) -> bool:
    return exc.error_class == "OrderNotFound" or any(
        f'"code":{c}' in str(exc) for c in (-2011, -2013))


def _check_keys(api_key: Secret | None, secret: Secret | None) -> list[Secret]:
    for name, value in (("api_key", api_key), ("secret", secret)):
        if value is not None and not isinstance(value, Secret):
            raise InvalidParameterError(
                f"`{name}` of CcxtBroker() must be a quantlab.live.secrets.Secret or None; got "
                f"a {type(value).__name__} (value not shown). Read it with "
                "secret_from_env('VAR') or CcxtBroker.from_config({..., 'api_key_env': 'VAR'}).")
    if (api_key is None) != (secret is None):
        raise InvalidParameterError("`api_key` and `secret` of CcxtBroker() must be given "
                                    "together or not at all; got only one. Set both "
                                    "environment variables.")
    return [s for s in (api_key, secret) if s is not None]


def _build_client(exchange: str, api_key: Secret | None, secret: Secret | None,
                  urls: Mapping[str, str] | None, sandbox: bool, timeout_ms: int) -> Any:
    import ccxt

    if exchange not in ccxt.exchanges:
        raise InvalidParameterError(message("exchange", "CcxtBroker", "a ccxt exchange id",
                                            exchange, did_you_mean(exchange, ccxt.exchanges)))
    config: dict[str, Any] = {"enableRateLimit": True, "timeout": timeout_ms, "verbose": False}
    if api_key is not None and secret is not None:
        config["apiKey"], config["secret"] = api_key.reveal(), secret.reveal()
    client = getattr(ccxt, exchange)(config)
    if exchange == "binance":
        client.options["fetchMarkets"] = {"types": ["spot"]}
    if exchange.startswith("binance"):
        client.options["fetchCurrencies"] = False  # a private sapi call per load_markets
        client.options["fetchMargins"] = False
    if sandbox:
        client.set_sandbox_mode(True)
    if urls:
        rewrite_urls(client, urls, caller="CcxtBroker")
    return client


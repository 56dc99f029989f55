"""The trading ledger of the fake Binance: orders, trades, balances and exchange filters.

It is the ground truth of the broker tests: a test asserts on what the ledger holds, never on
what the code under test says it did. Everything is exact (:class:`decimal.Decimal` parsed from
the request's strings), so a filter check here is the exchange's check, not a float's guess.

Semantics, kept to what Binance spot does (and documented where simplified):

- Filters checked in Binance's order on ``POST /api/v3/order``: parameters (-1100/-1102),
  precision over 8 decimals (-1111), ``LOT_SIZE`` (minQty, maxQty, stepSize multiple: -1013
  "Filter failure: LOT_SIZE"), ``PRICE_FILTER`` for LIMIT orders (-1013), ``NOTIONAL``
  (qty x price, the market price for MARKET orders: -1013), a duplicate ``newClientOrderId``
  of an open or filled order (-2010 "Duplicate order sent."), then the free balance
  (-2010 "Account has insufficient balance for requested action.").
- A MARKET order fills at once, in full, at the market price the server passes in. A LIMIT
  order rests (locking quote for a buy, base for a sell) until :meth:`Ledger.fill` or a price
  cross in :meth:`Ledger.match` (filled at its limit price, as a maker).
- Commission is ``fee_rate`` x quote amount, charged in the **quote** asset (a simplification:
  Binance charges a buy's commission in the base asset unless BNB pays it).
- Trade ids are unique per ledger and increase (Binance: per symbol); order ids likewise.
- :meth:`Ledger.fill` with ``force=True`` adds a trade to a CANCELED order: the exchange
  reports a fill that happened before the cancel (a "fill after cancel").
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

__all__ = ["LedgerError", "SymbolRules", "Order", "Trade", "Ledger", "FuturesLedger", "OPEN",
           "D"]

D = Decimal
OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})
_ZERO = Decimal(0)


class LedgerError(Exception):
    """A refusal in Binance's shape: HTTP ``status``, error ``code`` and ``msg``."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status, self.code, self.msg = status, code, msg


@dataclass(frozen=True)
class SymbolRules:
    """One market's filters (``exchangeInfo``), as exact decimals."""

    step: Decimal = D("0.00001")
    min_qty: Decimal = D("0.00001")
    max_qty: Decimal = D("9000")
    tick: Decimal = D("0.01")
    min_price: Decimal = D("0.01")
    max_price: Decimal = D("1000000")
    min_notional: Decimal = D("5")

    @classmethod
    def of(cls, **values: object) -> SymbolRules:
        """Build from numbers or strings (``step=0.001, min_notional="10"``)."""
        return cls(**{k: D(str(v)) for k, v in values.items()})


@dataclass
class Order:
    """One order on the ledger (quantities and prices exact)."""

    order_id: int
    client_id: str
    symbol: str
    side: str
    type: str
    qty: Decimal
    price: Decimal | None
    status: str = "NEW"
    executed: Decimal = _ZERO
    quote: Decimal = _ZERO
    time_ms: int = 0
    update_ms: int = 0
    by_hand: bool = False
    reduce_only: bool = False
    trade_ids: list[int] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed


@dataclass(frozen=True)
class Trade:
    """One execution (``trade_id`` unique)."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    is_maker: bool
    realized_pnl: Decimal = _ZERO


def _parse(value: str | None, name: str) -> Decimal:
    if value is None or value == "":
        raise LedgerError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null,"
                                      " or malformed.")
    try:
        out = D(value)
    except InvalidOperation:
        raise LedgerError(400, -1100, f"Illegal characters found in parameter '{name}'; legal "
                                      "range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.") from None
    if not out.is_finite() or out <= 0:
        raise LedgerError(400, -1100, f"Illegal characters found in parameter '{name}'.")
    exponent = out.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > 8:
        raise LedgerError(400, -1111, f"Parameter '{name}' has too much precision.")
    return out


def _multiple(value: Decimal, step: Decimal) -> bool:
    return step == 0 or value % step == 0


class Ledger:
    """Orders, trades and balances of one account on the fake exchange.

    Parameters
    ----------
    markets : dict
        ``{market_id: (base, quote)}``, e.g. ``{"BTCUSDT": ("BTC", "USDT")}``.
    balances : dict, optional
        Starting free balance per asset (default 100 000 of each quote, 0 of each base).
    fee_rate : str or float
        Commission rate (default 0.001, Binance's spot taker rate).
    rules : dict, optional
        ``{market_id: SymbolRules}`` (default :class:`SymbolRules()`).
    """

    def __init__(self, markets: dict[str, tuple[str, str]], *,
                 balances: dict[str, object] | None = None, fee_rate: object = "0.001",
                 rules: dict[str, SymbolRules] | None = None) -> None:
        self.markets = dict(markets)
        self.fee_rate = D(str(fee_rate))
        self.rules = {m: (rules or {}).get(m, SymbolRules()) for m in self.markets}
        self.free: dict[str, Decimal] = {}
        self.locked: dict[str, Decimal] = {}
        for base, quote in self.markets.values():
            self.free.setdefault(base, _ZERO)
            self.free.setdefault(quote, D(100_000))
        for asset, amount in (balances or {}).items():
            self.free[asset] = D(str(amount))
        for asset in self.free:
            self.locked[asset] = _ZERO
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self._order_ids = itertools.count(1000001)
        self._trade_ids = itertools.count(5000001)
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ queries
    def find(self, symbol: str, *, client_id: str | None = None,
             order_id: int | None = None) -> Order | None:
        """The newest order of ``symbol`` with this client id or order id, or None."""
        with self.lock:
            for order in reversed(self.orders):
                if order.symbol != symbol:
                    continue
                if (client_id is not None and order.client_id == client_id) or (
                        order_id is not None and order.order_id == order_id):
                    return order
        return None

    def by_client_id(self, client_id: str) -> list[Order]:
        """Every order with this client id (any symbol): the oracle of "one order per id"."""
        with self.lock:
            return [o for o in self.orders if o.client_id == client_id]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self.lock:
            return [o for o in self.orders if o.status in OPEN
                    and (symbol is None or o.symbol == symbol)]

    def all_orders(self, symbol: str, *, from_id: int = 0, limit: int = 500) -> list[Order]:
        """Orders of ``symbol`` with id >= ``from_id``, oldest first (Binance allOrders)."""
        with self.lock:
            rows = [o for o in self.orders if o.symbol == symbol and o.order_id >= from_id]
        return rows[:limit]

    def my_trades(self, symbol: str, *, from_id: int | None = None, start_ms: int | None = None,
                  end_ms: int | None = None, limit: int = 500) -> list[Trade]:
        with self.lock:
            out = [t for t in self.trades if t.symbol == symbol
                   and (from_id is None or t.trade_id >= from_id)
                   and (start_ms is None or t.time_ms >= start_ms)
                   and (end_ms is None or t.time_ms <= end_ms)]
        return out[:limit]

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        """``(free, locked)`` of ``asset``."""
        with self.lock:
            return self.free.get(asset, _ZERO), self.locked.get(asset, _ZERO)

    def position(self, symbol: str) -> Decimal:
        """Net base units bought minus sold on ``symbol`` (from trades)."""
        with self.lock:
            return sum((t.qty if t.side == "BUY" else -t.qty for t in self.trades
                        if t.symbol == symbol), _ZERO)

    # ------------------------------------------------------------------ commands
    def place(self, symbol: str, side: str, type_: str, quantity: str | None,
              price: str | None, client_id: str, *, now_ms: int, market_price: Decimal,
              by_hand: bool = False, reduce_only: bool = False) -> Order:
        """Validate and book an order (a MARKET order fills at ``market_price``)."""
        with self.lock:
            if symbol not in self.markets:
                raise LedgerError(400, -1121, "Invalid symbol.")
            if side not in ("BUY", "SELL"):
                raise LedgerError(400, -1117, "Invalid side.")
            if type_ not in ("MARKET", "LIMIT"):
                raise LedgerError(400, -1116, "Invalid orderType.")
            qty = _parse(quantity, "quantity")
            limit = _parse(price, "price") if type_ == "LIMIT" else None
            self._check_filters(symbol, qty, limit, market_price, reduce_only)
            for order in self.orders:
                if order.client_id == client_id and (order.status in OPEN
                                                     or order.status == "FILLED"):
                    raise LedgerError(400, -2010, "Duplicate order sent.")
            px = market_price if limit is None else limit
            self._check_funds(symbol, side, qty, px, reduce_only)
            order = Order(next(self._order_ids), client_id, symbol, side, type_, qty, limit,
                          time_ms=now_ms, update_ms=now_ms, by_hand=by_hand,
                          reduce_only=reduce_only)
            self.orders.append(order)
            if limit is None:
                self._execute(order, qty, market_price, now_ms, maker=False)
            else:
                self._lock(order)
            return order

    def _check_funds(self, symbol: str, side: str, qty: Decimal, px: Decimal,
                     reduce_only: bool) -> None:
        base, quote = self.markets[symbol]
        need_asset, need = (quote, qty * px * (1 + self.fee_rate)) if side == "BUY" else (
            base, qty)
        if self.free.get(need_asset, _ZERO) < need:
            raise LedgerError(400, -2010, "Account has insufficient balance for requested "
                                          "action.")

    def _lock(self, order: Order) -> None:
        base, quote = self.markets[order.symbol]
        asset, amount = (quote, order.qty * (order.price or _ZERO)) if order.side == "BUY" \
            else (base, order.qty)
        self.free[asset] -= amount
        self.locked[asset] = self.locked.get(asset, _ZERO) + amount

    def _check_filters(self, symbol: str, qty: Decimal, limit: Decimal | None,
                       market_price: Decimal, reduce_only: bool = False) -> None:
        r = self.rules[symbol]
        if qty < r.min_qty or qty > r.max_qty or not _multiple(qty, r.step):
            raise LedgerError(400, -1013, "Filter failure: LOT_SIZE")
        if limit is not None and (limit < r.min_price or limit > r.max_price
                                  or not _multiple(limit, r.tick)):
            raise LedgerError(400, -1013, "Filter failure: PRICE_FILTER")
        if qty * (market_price if limit is None else limit) < r.min_notional:
            raise LedgerError(400, -1013, "Filter failure: NOTIONAL")

    def cancel(self, symbol: str, *, client_id: str | None = None,
               order_id: int | None = None, now_ms: int = 0) -> Order:
        with self.lock:
            order = self.find(symbol, client_id=client_id, order_id=order_id)
            if order is None or order.status not in OPEN:
                raise LedgerError(400, -2011, "Unknown order sent.")
            self._unlock(order)
            order.status = "CANCELED"
            order.update_ms = now_ms
            return order

    def fill(self, order: Order, qty: Decimal | None = None, price: Decimal | None = None, *,
             now_ms: int = 0, force: bool = False) -> Trade:
        """Execute ``qty`` (default: the rest) of a resting order at ``price`` (its limit).

        ``force`` allows a CANCELED order (a fill the exchange reports after the cancel).
        """
        with self.lock:
            if order.status not in OPEN and not (force and order.status == "CANCELED"):
                raise ValueError(f"order {order.client_id} is {order.status}: cannot fill it "
                                 "(pass force=True for a fill after cancel)")
            qty = order.remaining if qty is None else D(str(qty))
            if qty <= 0 or qty > order.remaining:
                raise ValueError(f"fill of {qty} outside (0, {order.remaining}]")
            px = D(str(price)) if price is not None else (order.price or _ZERO)
            if order.status in OPEN and order.price is not None:
                self._release(order, qty)
            return self._execute(order, qty, px, now_ms, maker=order.price is not None,
                                 keep_status=order.status == "CANCELED")

    def match(self, symbol: str, price: Decimal, now_ms: int) -> list[Trade]:
        """Fill every resting LIMIT order of ``symbol`` that ``price`` crosses."""
        with self.lock:
            out = []
            for order in self.open_orders(symbol):
                if order.price is None:
                    continue
                if (order.side == "BUY" and price <= order.price) or (
                        order.side == "SELL" and price >= order.price):
                    out.append(self.fill(order, now_ms=now_ms))
            return out

    # ------------------------------------------------------------------ internals
    def _unlock(self, order: Order) -> None:
        if order.price is None:
            return
        self._release(order, order.remaining)

    def _release(self, order: Order, qty: Decimal) -> None:
        base, quote = self.markets[order.symbol]
        asset, amount = (quote, qty * (order.price or _ZERO)) if order.side == "BUY" else (
            base, qty)
        self.locked[asset] -= amount
        self.free[asset] += amount

    def _execute(self, order: Order, qty: Decimal, price: Decimal, now_ms: int, *, maker: bool,
                 keep_status: bool = False) -> Trade:
        quote = self.markets[order.symbol][1]
        notional = qty * price
        fee = notional * self.fee_rate
        pnl = self._settle(order, qty, price, fee)
        trade = Trade(next(self._trade_ids), order.order_id, order.symbol, order.side, qty,
                      price, fee, quote, now_ms, maker, pnl)
        self.trades.append(trade)
        order.trade_ids.append(trade.trade_id)
        order.executed += qty
        order.quote += notional
        order.update_ms = now_ms
        if not keep_status:
            order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        return trade

    def _settle(self, order: Order, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Move balances for one execution; return the realized PnL (0 on spot)."""
        base, quote = self.markets[order.symbol]
        if order.side == "BUY":
            self.free[base] = self.free.get(base, _ZERO) + qty
            self.free[quote] -= qty * price + fee
        else:
            self.free[base] -= qty
            self.free[quote] = self.free.get(quote, _ZERO) + qty * price - fee
        return _ZERO


class FuturesLedger(Ledger):
    """A USDⓈ-M linear perpetual account: one-way positions, cross margin, a quote wallet.

    Simplifications (documented, tested against): a position is a signed quantity and an
    average entry price per symbol; realized PnL and commission settle into the quote wallet
    at each fill; an order that increases exposure needs ``notional / leverage + fee`` of
    available balance (wallet minus the initial margin of open positions at entry), else -2019
    "Margin is insufficient."; a reduce-only order that would open or flip a position is
    refused (-2022 "ReduceOnly Order is rejected."); the minimum notional answers -4164
    (waived for reduce-only orders, as on Binance). Resting LIMIT orders lock nothing.
    """

    def __init__(self, markets: dict[str, tuple[str, str]], *,
                 balances: dict[str, object] | None = None, fee_rate: object = "0.0004",
                 rules: dict[str, SymbolRules] | None = None, leverage: int = 20) -> None:
        quotes = {q for _, q in markets.values()}
        super().__init__(markets, balances={q: D(100_000) for q in quotes} | dict(balances or {}),
                         fee_rate=fee_rate, rules=rules)
        for base, _ in markets.values():
            self.free.pop(base, None)
            self.locked.pop(base, None)
        self.positions: dict[str, tuple[Decimal, Decimal]] = {m: (_ZERO, _ZERO)
                                                               for m in markets}
        self.leverage: dict[str, int] = dict.fromkeys(markets, int(leverage))

    def position(self, symbol: str) -> Decimal:
        with self.lock:
            return self.positions[symbol][0]

    def used_margin(self) -> Decimal:
        """Initial margin of the open positions, at entry prices."""
        with self.lock:
            return sum((abs(q) * e / self.leverage[m] for m, (q, e) in self.positions.items()),
                       _ZERO)

    def _check_filters(self, symbol: str, qty: Decimal, limit: Decimal | None,
                       market_price: Decimal, reduce_only: bool = False) -> None:
        try:
            super()._check_filters(symbol, qty, limit, market_price, reduce_only)
        except LedgerError as exc:
            if "NOTIONAL" not in exc.msg:
                raise
            if not reduce_only:
                raise LedgerError(400, -4164, "Order's notional must be no smaller than "
                                  f"{self.rules[symbol].min_notional} (unless you choose "
                                  "reduce only).") from None

    def _check_funds(self, symbol: str, side: str, qty: Decimal, px: Decimal,
                     reduce_only: bool) -> None:
        held = self.positions[symbol][0]
        signed = qty if side == "BUY" else -qty
        if reduce_only and (held == 0 or (held > 0) == (signed > 0) or abs(signed) > abs(held)):
            raise LedgerError(400, -2022, "ReduceOnly Order is rejected.")
        if abs(held + signed) <= abs(held):
            return
        quote = self.markets[symbol][1]
        need = qty * px / self.leverage[symbol] + qty * px * self.fee_rate
        if self.free[quote] - self.used_margin() < need:
            raise LedgerError(400, -2019, "Margin is insufficient.")

    def _lock(self, order: Order) -> None:
        return None

    def _release(self, order: Order, qty: Decimal) -> None:
        return None

    def _settle(self, order: Order, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        quote = self.markets[order.symbol][1]
        held, entry = self.positions[order.symbol]
        signed = qty if order.side == "BUY" else -qty
        pnl = _ZERO
        if held != 0 and (held > 0) != (signed > 0):       # reducing (maybe flipping)
            closed = min(abs(signed), abs(held))
            pnl = (price - entry) * closed * (1 if held > 0 else -1)
        new = held + signed
        if new == 0:
            entry = _ZERO
        elif held == 0 or (held > 0) != (new > 0):
            entry = price                                     # opened or flipped
        elif abs(new) > abs(held):
            entry = (abs(held) * entry + qty * price) / abs(new)
        self.positions[order.symbol] = (new, entry)
        self.free[quote] += pnl - fee
        return pnl

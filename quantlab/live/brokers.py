"""Brokers: the interface every venue adapter implements, and the paper broker.

:class:`Broker` is what the runner talks to: submit, cancel, one order by client order id,
open orders, fills since a cursor, positions, balances and the exchange rules. The ccxt broker
of the next issue (and a forex adapter) implement the same methods; the paper broker here fills
in-process with the simulator's cost model, so a paper run reproduces ``backtest()``.
"""

from __future__ import annotations

import abc
import math
import sqlite3
import time as _time
from pathlib import Path
from typing import Any, NamedTuple

from quantlab._validate import check_choice, check_float, message
from quantlab.errors import InvalidParameterError

__all__ = ["OrderRequest", "OrderAck", "BrokerFill", "ExchangeRules", "Broker", "PaperBroker"]


class OrderRequest(NamedTuple):
    """An order the runner sends (market orders; ``price`` is the modelled execution price)."""

    client_id: str
    symbol: str
    side: str
    """"buy" or "sell"."""
    size: float
    """Units (> 0)."""
    price: float
    """Reference price: the price the decision step modelled (slippage included)."""
    reduce_only: bool = False
    time: Any = None


class OrderAck(NamedTuple):
    """The venue's answer to a submit or a query."""

    client_id: str
    broker_id: str
    state: str
    """A state of :data:`quantlab.live.orders.STATES`."""
    filled: float = 0.0
    detail: str = ""


class BrokerFill(NamedTuple):
    """One trade on the venue (``trade_id`` unique)."""

    trade_id: str
    client_id: str
    symbol: str
    side: str
    size: float
    price: float
    fee: float
    time: Any = None


class ExchangeRules(NamedTuple):
    """A market's order filters (checked before any request)."""

    lot_size: float = 0.0
    tick_size: float = 0.0
    min_notional: float = 0.0


class Broker(abc.ABC):
    """What the runner needs from a venue.

    ``mode`` is ``"paper"`` or ``"live"`` (a journal of one mode refuses the other), and
    ``authenticated`` whether the broker holds credentials (paper never does).
    """

    mode: str = "live"
    authenticated: bool = False

    @abc.abstractmethod
    def submit(self, order: OrderRequest) -> OrderAck:
        """Send an order; a client id already known returns its state (never a second order)."""

    @abc.abstractmethod
    def cancel(self, client_id: str) -> OrderAck:
        """Cancel a working order."""

    @abc.abstractmethod
    def get_order(self, client_id: str) -> OrderAck | None:
        """The order with this client id, or None when the venue never received it."""

    @abc.abstractmethod
    def open_orders(self) -> list[OrderAck]:
        """Working orders."""

    @abc.abstractmethod
    def fills_since(self, cursor: int = 0) -> tuple[list[BrokerFill], int]:
        """Trades after ``cursor`` and the new cursor."""

    @abc.abstractmethod
    def positions(self) -> dict[str, float]:
        """Units held per symbol."""

    @abc.abstractmethod
    def balances(self) -> dict[str, float]:
        """Cash balances by currency."""

    @abc.abstractmethod
    def rules(self, symbol: str) -> ExchangeRules:
        """The market's order filters."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS orders (client_id TEXT PRIMARY KEY, broker_id TEXT NOT NULL, "
    "symbol TEXT, side TEXT, size REAL, price REAL, state TEXT, detail TEXT, time REAL)",
    "CREATE TABLE IF NOT EXISTS fills (seq INTEGER PRIMARY KEY, trade_id TEXT UNIQUE, "
    "client_id TEXT, symbol TEXT, side TEXT, size REAL, price REAL, fee REAL, time TEXT)",
    "CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY, kind TEXT, client_id TEXT, "
    "time REAL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
)


class PaperBroker(Broker):
    """An in-process venue filling market orders with the simulator's cost model.

    A market order fills at once, in full, at its reference price (the decision step's fill
    price, slippage included) moved by ``slippage_bps`` (default 0: the step already priced
    it), paying ``|size| * price * fee_bps / 1e4 + fee_fixed`` - the step's own fee formula, so
    a paper run reproduces the backtest. Orders below ``min_notional`` or not a multiple of
    ``lot_size`` are rejected (no fill). A client order id it already holds is never filled
    twice: the submit returns the order's state.

    Parameters
    ----------
    fee_bps, fee_fixed, slippage_bps : float, default 0
    init_cash : float, default 100 000
    path : str or Path, optional
        SQLite file holding the venue's state, so that it survives a runner restart (the
        venue does not crash with the runner); None: in memory.
    lot_size, min_notional : float, default 0 - the exchange rules of every symbol.

    Examples
    --------
    >>> b = PaperBroker(fee_bps=10)
    >>> b.submit(OrderRequest("r-s-00000000", "AAPL", "buy", 10.0, 100.0)).state
    'FILLED'
    >>> b.positions(), round(b.balances()["cash"], 2)
    ({'AAPL': 10.0}, 98999.0)
    """

    mode = "paper"
    authenticated = False

    def __init__(self, *, fee_bps: float = 0.0, fee_fixed: float = 0.0,
                 slippage_bps: float = 0.0, init_cash: float = 100_000.0,
                 path: str | Path | None = None, lot_size: float = 0.0,
                 min_notional: float = 0.0) -> None:
        caller = "PaperBroker"
        self.fee_rate = check_float("fee_bps", fee_bps, caller=caller, minimum=0.0) / 1e4
        self.fee_fixed = check_float("fee_fixed", fee_fixed, caller=caller, minimum=0.0)
        self.slip = check_float("slippage_bps", slippage_bps, caller=caller, minimum=0.0) / 1e4
        self.init_cash = check_float("init_cash", init_cash, caller=caller, minimum=0.0,
                                     exclusive_minimum=True)
        self._rules = ExchangeRules(check_float("lot_size", lot_size, caller=caller, minimum=0.0),
                                    0.0, check_float("min_notional", min_notional, caller=caller,
                                                     minimum=0.0))
        self.path = None if path is None else Path(path)
        self.conn = sqlite3.connect(":memory:" if path is None else str(path),
                                    isolation_level=None, check_same_thread=False)
        if path is not None:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
        for sql in _SCHEMA:
            self.conn.execute(sql)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('init_cash', ?)",
                          (repr(self.init_cash),))
        stored = float(self.conn.execute("SELECT value FROM meta WHERE key='init_cash'")
                       .fetchone()[0])
        if stored != self.init_cash:
            raise InvalidParameterError(message("init_cash", caller,
                                                f"the venue's stored {stored}", self.init_cash))

    def submit(self, order: OrderRequest) -> OrderAck:
        side = check_choice("side", order.side, ("buy", "sell"), caller="PaperBroker.submit")
        size = float(order.size)
        price = float(order.price)
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute("INSERT INTO requests (kind, client_id, time) VALUES ('submit', ?, ?)",
                        (order.client_id, _time.time()))
            row = cur.execute("SELECT broker_id, state, size FROM orders WHERE client_id=?",
                              (order.client_id,)).fetchone()
            if row is not None:  # duplicate client id: the venue keeps one order
                cur.execute("COMMIT")
                return OrderAck(order.client_id, row[0], row[1], row[2], "duplicate client id")
            broker_id = f"P{cur.execute('SELECT COUNT(*) FROM orders').fetchone()[0] + 1:09d}"
            reason = self._reject_reason(size, price)
            state = "REJECTED" if reason else "FILLED"
            cur.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (order.client_id, broker_id, order.symbol, side, size, price, state,
                         reason, _time.time()))
            if not reason:
                px = price * (1.0 + self.slip) if side == "buy" else price * (1.0 - self.slip)
                fee = abs(size) * px * self.fee_rate + self.fee_fixed
                cur.execute("INSERT INTO fills (trade_id, client_id, symbol, side, size, price, "
                            "fee, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (f"T{broker_id[1:]}", order.client_id, order.symbol, side, size, px,
                             fee, None if order.time is None else str(order.time)))
            cur.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                cur.execute("ROLLBACK")
            raise
        return OrderAck(order.client_id, broker_id, state, 0.0 if reason else size, reason)

    def _reject_reason(self, size: float, price: float) -> str:
        if not (math.isfinite(size) and math.isfinite(price)) or size <= 0 or price <= 0:
            return f"invalid order: size {size}, price {price}"
        lot = self._rules.lot_size
        if lot > 0 and abs(size / lot - round(size / lot)) > 1e-9:
            return f"size {size} is not a multiple of the lot size {lot}"
        if size * price < self._rules.min_notional:
            return f"notional {size * price:.2f} below the minimum {self._rules.min_notional}"
        return ""

    def cancel(self, client_id: str) -> OrderAck:
        self.conn.execute("INSERT INTO requests (kind, client_id, time) VALUES ('cancel', ?, ?)",
                          (client_id, _time.time()))
        ack = self.get_order(client_id)
        if ack is None:
            return OrderAck(client_id, "", "REJECTED", 0.0, "unknown order")
        return ack  # market orders are terminal at once: nothing is working

    def get_order(self, client_id: str) -> OrderAck | None:
        row = self.conn.execute("SELECT broker_id, state, size, detail FROM orders WHERE "
                                "client_id=?", (client_id,)).fetchone()
        if row is None:
            return None
        return OrderAck(client_id, row[0], row[1], row[2] if row[1] == "FILLED" else 0.0,
                        row[3] or "")

    def open_orders(self) -> list[OrderAck]:
        rows = self.conn.execute("SELECT client_id FROM orders WHERE state IN ('SUBMITTED', "
                                 "'ACCEPTED', 'PARTIALLY_FILLED')").fetchall()
        return [a for (cid,) in rows if (a := self.get_order(cid)) is not None]

    def fills_since(self, cursor: int = 0) -> tuple[list[BrokerFill], int]:
        rows = self.conn.execute("SELECT seq, trade_id, client_id, symbol, side, size, price, "
                                 "fee, time FROM fills WHERE seq > ? ORDER BY seq",
                                 (int(cursor),)).fetchall()
        fills = [BrokerFill(*r[1:]) for r in rows]
        return fills, (rows[-1][0] if rows else int(cursor))

    def positions(self) -> dict[str, float]:
        rows = self.conn.execute("SELECT symbol, side, size FROM fills ORDER BY seq").fetchall()
        out: dict[str, float] = {}
        for sym, side, size in rows:
            out[sym] = out.get(sym, 0.0) + (size if side == "buy" else -size)
        return out

    def balances(self) -> dict[str, float]:
        cash = self.init_cash
        for side, size, price, fee in self.conn.execute(
                "SELECT side, size, price, fee FROM fills ORDER BY seq").fetchall():
            cash += (-size * price if side == "buy" else size * price) - fee
        return {"cash": cash}

    def rules(self, symbol: str) -> ExchangeRules:
        return self._rules

    def requests(self) -> list[tuple[str, str]]:
        """Every request received, ``(kind, client_id)`` in order (for audits and tests)."""
        return [(k, c) for k, c in self.conn.execute(
            "SELECT kind, client_id FROM requests ORDER BY id").fetchall()]

    def close(self) -> None:
        self.conn.close()

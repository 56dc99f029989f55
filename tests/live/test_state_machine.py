"""Random order-lifecycle sequences against the fake Binance: INV-1..3 after every step.

A hypothesis ``RuleBasedStateMachine`` drives a :class:`~quantlab.live.journal.Journal` and a
:class:`~quantlab.live.CcxtBroker` (the real ccxt client) against the fake Binance on
127.0.0.1, the way the runner uses them (RELIABILITY.md, last item of the fault plan):

* **submit**: the intent and its client order id are journaled in one transaction, then
  sent (``broker.submit``, market orders); the answer is journaled after;
* **rest**: a LIMIT order far from the market, journaled the same way. CcxtBroker only sends
  market orders, so resting orders are placed through the same ccxt client
  (``broker.client.create_order(..., "limit", ...)``) with the client order id;
* **cancel** a resting order; the exchange **fills** a resting order (partly or fully, the
  fake's ``fill``), or reports a **fill after the cancel**; **duplicate** trade events
  (every trade listed twice by ``myTrades``); a **commit-then-timeout** submit (the venue
  books the order, the connection drops, and optionally the order stays invisible to the
  broker's own queries: the answer is UNKNOWN);
* **import** fills since the cursor (what the runner does each bar);
* **kill**: the journal and broker objects are dropped without closing, optionally between
  journaling an intent and sending it, or between sending it and journaling the answer;
* **restart**: new objects on the same files, then the start-up reconciliation: import every
  fill not journaled, resolve UNKNOWN orders by client id, and redo pending intents the way
  the runner redoes an interrupted bar (query by client id; send only when the venue never
  received it).

Invariants after every step (the ledger is the truth): INV-1 each client order id at most
once on the ledger, and only journaled intents there; INV-3 every journaled trade id is a
ledger trade of ours, journaled once; after an import or a restart every ledger trade of ours
is journaled and the journal's fills sum to the ledger's position; INV-2 after a restart the
local open orders (resting intents not cancelled nor fully filled per the journal) equal the
venue's by client id.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from quantlab.live.brokers import OrderRequest
from quantlab.live.journal import Journal
from quantlab.live.orders import client_order_id
from quantlab.live.secrets import Secret
from tests.live._exchange_run import MARKET, PRICE, SYMBOL, make_broker, venue

KEY, SECRET = "sm-key-1", "sm-secret-1"
SIZES = st.integers(20, 400).map(lambda k: round(k * 0.001, 3))   # lots of 0.001, >= 1 USDT
SIDES = st.sampled_from(["buy", "sell"])


class OrderLifecycle(RuleBasedStateMachine):
    """Journal + CcxtBroker + fake Binance under random submit/cancel/fill/kill/restart."""

    @initialize()
    def start(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ql-sm-"))
        self.path = self.dir / "j.sqlite"
        self.fake = venue(api_key=KEY, secret=SECRET)
        self.fake.ledger.free["BTC"] = Decimal(10**6)    # spot sells never lack the asset
        self.seq = 0
        self.alive = True
        self.synced = True
        self.open_()

    def open_(self) -> None:
        self.journal = Journal(self.path, mode="live", run="sm", fsync=False)
        self.broker = make_broker(self.fake.url, api_key=Secret(KEY), secret=Secret(SECRET),
                                  sleep=lambda seconds: None)
        self.cursor = 0

    def teardown(self) -> None:
        if getattr(self, "alive", False):
            self.journal.close()
            self.broker.close()
        if hasattr(self, "fake"):
            self.fake.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---------------------------------------------------------------- journal writes
    def intent(self, side: str, size: float, reason: str, price: float) -> str:
        cid = client_order_id("sm", "H", self.seq)
        with self.journal.transaction("intents") as cur:
            cur.execute("INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (self.seq, cid, 0, None, SYMBOL, side, size, price, reason, 0))
        self.seq += 1
        return cid

    def event(self, cid: str, event: str, state: str, detail: str = "") -> None:
        with self.journal.transaction("order") as cur:
            cur.execute("INSERT INTO orders (client_id, event, state, time, detail) VALUES "
                        "(?, ?, ?, ?, ?)", (cid, event, state, time.time(), detail))

    def import_since(self, cursor: int) -> None:
        fills, self.cursor = self.broker.fills_since(cursor)
        ours = {c for (c,) in self.journal.conn.execute("SELECT client_id FROM intents")}
        with self.journal.transaction("fills") as cur:
            for f in fills:
                if f.client_id in ours:
                    cur.execute("INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                tuple(f))

    def send(self, cid: str, side: str, size: float) -> None:
        ack = self.broker.submit(OrderRequest(cid, SYMBOL, side, size, float(PRICE)))
        self.event(cid, "unknown" if ack.state == "UNKNOWN" else "submit", ack.state,
                   ack.detail)

    def rest(self, cid: str, side: str, size: float, price: float) -> None:
        raw = self.broker.client.create_order(SYMBOL, "limit", side, size, price,
                                              {"clientOrderId": cid})
        self.event(cid, "submit", "ACCEPTED", str(raw.get("id")))

    # ---------------------------------------------------------------- rules
    @rule(side=SIDES, size=SIZES)
    def submit(self, side: str, size: float) -> None:
        self.revive()
        self.send(self.intent(side, size, "market", float(PRICE)), side, size)
        self.synced = False

    @rule(side=SIDES, size=SIZES)
    def rest_limit(self, side: str, size: float) -> None:
        self.revive()
        price = 60.0 if side == "buy" else 80.0       # away from the market: it rests
        self.rest(self.intent(side, size, "limit", price), side, size, price)

    def _resting(self) -> list[str]:
        return sorted(o.client_id for o in self.fake.ledger.open_orders() if not o.by_hand)

    @rule(data=st.data())
    def cancel(self, data: Any) -> None:
        self.revive()
        resting = self._resting()
        if not resting:
            return
        cid = data.draw(st.sampled_from(resting))
        ack = self.broker.cancel(cid)
        assert ack.state == "CANCELLED"
        self.event(cid, "cancelled", ack.state)

    @rule(data=st.data(), part=st.sampled_from([0.25, 0.5, 1.0]))
    def exchange_fills(self, data: Any, part: float) -> None:
        self.revive()
        resting = self._resting()
        if not resting:
            return
        cid = data.draw(st.sampled_from(resting))
        order = self.fake.ledger.by_client_id(cid)[-1]
        qty = order.remaining if part == 1.0 else \
            max(Decimal("0.001"), (order.remaining * Decimal(str(part))).quantize(
                Decimal("0.001")))
        self.fake.fill(cid, min(qty, order.remaining))
        self.synced = False

    @rule(data=st.data())
    def fill_after_cancel(self, data: Any) -> None:
        self.revive()
        cancelled = sorted(o.client_id for o in self.fake.ledger.orders
                           if o.status == "CANCELED" and o.remaining > 0)
        if not cancelled:
            return
        cid = data.draw(st.sampled_from(cancelled))
        self.fake.fill(cid, Decimal("0.001") * 20 if self.fake.ledger.by_client_id(cid)[-1]
                       .remaining >= Decimal("0.02") else None, force=True)
        self.synced = False

    @rule()
    def duplicate_trade_events(self) -> None:
        self.revive()
        self.fake.duplicate_trades(2)

    @rule(side=SIDES, size=SIZES, invisible=st.booleans())
    def commit_then_timeout(self, side: str, size: float, invisible: bool) -> None:
        self.revive()
        cid = self.intent(side, size, "market", float(PRICE))
        self.fake.inject("drop", path="/api/v3/order", method="POST", commit=True)
        if invisible:
            self.fake.hide_orders(self.broker.resolve_attempts)
        self.send(cid, side, size)
        assert len(self.fake.ledger.by_client_id(cid)) == 1
        self.synced = False

    @rule()
    def import_fills(self) -> None:
        self.revive()
        self.import_since(self.cursor)
        self.synced = True

    @rule(where=st.sampled_from(["idle", "after_intent", "after_send"]), side=SIDES,
          size=SIZES)
    def kill(self, where: str, side: str, size: float) -> None:
        self.revive()
        if where != "idle":
            cid = self.intent(side, size, "market", float(PRICE))
            if where == "after_send":
                self.broker.submit(OrderRequest(cid, SYMBOL, side, size, float(PRICE)))
        # dropped without closing (no checkpoint, no session close), like a kill -9
        del self.journal, self.broker
        self.alive = False
        self.synced = False

    def revive(self) -> None:
        """After a kill, the next thing that happens is the runner's restart."""
        if not self.alive:
            self.restart_()

    @rule()
    def restart(self) -> None:
        """A restart (after a kill, or a clean stop first): reconcile, INV-2."""
        if self.alive:
            self.journal.close()
            self.broker.close()
            self.alive = False
        self.restart_()

    def restart_(self) -> None:
        self.open_()
        self.alive = True
        self.import_since(0)                                 # fills journaled nowhere
        known = {c: e for c, e in self.journal.conn.execute(
            "SELECT client_id, event FROM orders ORDER BY id")}
        pending = [(c, s, z) for c, s, z, r in self.journal.conn.execute(
            "SELECT client_id, side, size, reason FROM intents ORDER BY seq")
            if r == "market" and known.get(c) in (None, "unknown")]
        for cid, side, size in pending:                       # resolve or redo, never resend
            ack = self.broker.get_order(cid)
            if ack is None and known.get(cid) is None:
                self.send(cid, side, size)                    # the venue never received it
            elif ack is not None:
                self.event(cid, "resolved", ack.state)
            else:                                             # UNKNOWN, and still absent
                self.event(cid, "resolved", "REJECTED", "never received; not resent")
        self.import_since(self.cursor)
        self.synced = True
        self.check_open_orders()
        self.check_no_intent_in_limbo()

    def check_no_intent_in_limbo(self) -> None:
        """After a restart every market intent is on the ledger once, or journaled as never
        received (resolved REJECTED): none is silently dropped, none is sent twice."""
        j = self.journal.conn
        rejected = {c for (c,) in j.execute("SELECT client_id FROM orders WHERE event = "
                                            "'resolved' AND state = 'REJECTED'")}
        for (cid,) in j.execute("SELECT client_id FROM intents WHERE reason = 'market'"):
            on_ledger = len(self.fake.ledger.by_client_id(cid))
            assert on_ledger == 1 or (on_ledger == 0 and cid in rejected), cid

    def check_open_orders(self) -> None:
        """INV-2: local open orders (from the journal) == the venue's, by client id."""
        j = self.journal.conn
        filled: Counter[str] = Counter()
        for cid, size in j.execute("SELECT client_id, size FROM fills"):
            filled[cid] += size
        cancelled = {c for (c,) in j.execute("SELECT client_id FROM orders WHERE "
                                             "event = 'cancelled'")}
        local = sorted(c for c, size in j.execute("SELECT client_id, size FROM intents "
                                                  "WHERE reason = 'limit'")
                       if c not in cancelled and filled[c] < size - 1e-9)
        assert local == self._resting()

    # ---------------------------------------------------------------- invariants
    @invariant()
    def one_order_per_intent(self) -> None:
        """INV-1: each client order id at most once on the ledger, all of them journaled."""
        per_id = Counter(o.client_id for o in self.fake.ledger.orders)
        assert not per_id or max(per_id.values()) == 1, per_id.most_common(2)
        if self.alive:
            intents = {c for (c,) in self.journal.conn.execute("SELECT client_id FROM intents")}
            assert set(per_id) <= intents

    @invariant()
    def trades_once_and_positions(self) -> None:
        """INV-3: journaled trades are ledger trades, once; in sync: all of them, and the
        journal's fills sum to the ledger's position."""
        if not self.alive:
            return
        rows = self.journal.conn.execute("SELECT trade_id, side, size FROM fills").fetchall()
        ledger = {f"{MARKET}:{t.trade_id}" for t in self.fake.ledger.trades}
        local = Counter(t for t, _, _ in rows)
        assert not local or max(local.values()) == 1
        assert set(local) <= ledger
        if self.synced:
            assert set(local) == ledger
            got = sum(size if side == "buy" else -size for _, side, size in rows)
            assert got == pytest.approx(float(self.fake.ledger.position(MARKET)), abs=1e-9)


OrderLifecycle.TestCase.settings = settings(
    max_examples=20, stateful_step_count=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow])
TestOrderLifecycle = pytest.mark.timeout(300)(OrderLifecycle.TestCase)


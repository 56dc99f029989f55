"""The runner: feed -> strategy -> the execution core's ``Account`` step -> guard -> broker.

One bar at a time, each closed bar goes through:

1. the **market-data gate** (NaN, inf, non-positive or inconsistent prices, duplicate or
   out-of-order timestamps: the bar is not stepped; a gap or stale data: the bar is stepped
   but no new decision is taken); each with a journaled alert;
2. the **strategy**: ``signal()`` on the trailing window the promotion proved (last row);
3. the **guard** (kill switch and latch: only exits while halted);
4. the **decision step** (:class:`quantlab.backtest.Account`, the compiled step the
   backtest loops over: same sizing, order decision and risk limits), whose fills are the
   orders to send;
5. the **journal** (intent and client order id committed before sending), the **broker**,
   then the fills, positions and the decision (with the account's state) in one transaction.

At start the runner checks the config (:func:`~quantlab.live.promote.load_config`), verifies
the fingerprint, opens the journal (refusing another mode, a copy without its WAL), restores
the last completed bar and reconciles with the broker; it trades only after both succeed. A
bar interrupted by a crash is redone: its intents are recomputed with the same client order
ids, and an intent the broker already holds is never sent again.

Broker errors fail closed (RELIABILITY.md behaviour 3, INV-4, INV-5). A submit that raises
or answers UNKNOWN leaves the order UNKNOWN (an ``orders`` event and one ``order_unknown``
alert naming the error class, the intent and the client order id); before the next decision
every UNKNOWN order is queried by client id (``RESOLVE_ATTEMPTS`` per bar) and never resent;
it counts as never received (and is voided from the account) only after the venue answered
"no such order" on ``NOT_FOUND_BARS`` bars.
While one stays unresolved, or after a broker call failed, the bar's target goes through the
guard's reduce-only path (nothing is latched; a ``fail_closed`` alert says why). An
authentication-type error (:func:`is_fatal`) stops the run: a ``fatal`` alert, the stop
journaled, :class:`~quantlab.live.LiveError` raised (the CLI exits non-zero).

**Venues.** Without a ``broker`` argument the runner builds the config's
(:func:`~quantlab.live.venues.build_broker`: paper, ccxt or OANDA, credentials from the
environment) and, before the journal is opened, compares each symbol's
``broker.rules(symbol)`` with the config's ``lot_size``/``min_notional``
(:func:`~quantlab.live.venues.check_venue_rules`): a venue lot that does not divide the
config's, or a larger minimum notional, refuses the start (the account and the venue would
book different sizes and reconciliation would halt on the first order). A paper config never
takes an authenticated broker (behaviour 12).

**Monitoring** (behaviour 13). ``Runner(metrics=, alerts=, heartbeat_s=)``: every committed
journal alert goes to the :class:`~quantlab.live.alerts.AlertRouter` (a journal listener;
the router never raises), and so does a halt another process latched (``quantlab live
halt``, the API), when the guard picks it up; :class:`~quantlab.live.metrics.LiveMetrics`
observes each completed bar (equity, cash, positions, guard state, decision latency),
fills, order states, each submit's round trip and the reconciliation drift per symbol; a
:class:`~quantlab.live.metrics.Heartbeat` thread alerts when no bar completed for
``heartbeat_s`` (it never touches the journal, whose connection belongs to the runner's
thread). :func:`run` builds them from the config's ``monitoring`` section (or
``metrics_port``/``api_port``/``heartbeat_s``), serves the metrics and the control API on
127.0.0.1 for the run's duration, and closes every thread and port when it returns or raises,
a refused start included.

Shutdown (behaviour 14): working orders are cancelled; with ``shutdown.flatten`` every
position is closed by orders journaled like any other (intent and client order id of the
run's next sequence numbers committed before sending, reason ``"shutdown"``; fills and order
events after), and the account books the fills. A restart applies those fills to the account
restored from the last bar, so it reconciles flat and never resends the flatten; the strategy
then re-enters on its next signal. The post-flatten positions are in the journal's fills and
a ``flatten`` alert; the ``positions`` table (one row per bar) keeps the last bar's.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal as _signal
import time as _time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_choice
from quantlab.errors import QuantlabError
from quantlab.live._core import (
    SIZER_INPUT_NAMES,
    Account,
    positions_array,
    sizer_inputs,
)
from quantlab.live._errors import LiveError, ReconciliationError, StartupError
from quantlab.live.alerts import AlertRouter
from quantlab.live.brokers import Broker, BrokerFill, OrderAck, OrderRequest
from quantlab.live.feeds import Bar, Feed
from quantlab.live.guard import Guard, reduce_only_target
from quantlab.live.journal import Journal, dumps
from quantlab.live.metrics import Heartbeat, LiveMetrics
from quantlab.live.orders import client_order_id
from quantlab.live.promote import LiveConfig, load_config, timeframe_delta, verify_fingerprint
from quantlab.live.streaming import streaming_decider
from quantlab.live.venues import build_broker, check_venue_rules
from quantlab.strategy.base import as_exposure

__all__ = ["run", "Runner", "RunResult", "KILL_ENV", "default_journal", "is_fatal"]

#: Test hook: the runner SIGKILLs itself at the n-th crash point (see ``_CRASH_POINTS``).
KILL_ENV = "QUANTLAB_LIVE_KILL_AT"
_FIELDS = ("open", "high", "low", "close", "volume")
#: ``broker.get_order`` queries per UNKNOWN order and bar before the bar is decided anyway
#: (reduce-only while any stays unresolved)
RESOLVE_ATTEMPTS = 3
#: bars on which the venue must answer "no such order" (queried by client id) before an
#: UNKNOWN order counts as never received and is voided: venues index a new order with a lag
#: (RELIABILITY T13, "order not found for a while"), so one "not found" proves nothing
NOT_FOUND_BARS = 2
#: the intent ``reason`` of a shutdown flatten (the account applies these fills at restart)
FLATTEN_REASON = "shutdown"
log = logging.getLogger("quantlab.live")


def is_fatal(exc: BaseException) -> bool:
    """Whether a broker error must stop the run (authentication and the like).

    True for an exception with a true ``fatal`` attribute (a
    :class:`~quantlab.live._errors.LiveError` raised by a broker with ``fatal=True``) or
    whose class name contains "Authentication" (ccxt's ``AuthenticationError`` and its
    subclasses), anywhere in its class hierarchy.
    """
    if getattr(exc, "fatal", False) is True:
        return True
    return any("Authentication" in cls.__name__ for cls in type(exc).__mro__)


def _log(event: str, **fields: Any) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info(json.dumps({"event": event, **fields}, default=str))


class _Crash:
    """Counts crash points; SIGKILLs the process at the one named by ``KILL_ENV``."""

    def __init__(self) -> None:
        value = os.environ.get(KILL_ENV)
        self.at = int(value) if value else None
        self.count = 0

    def __call__(self, where: str) -> None:
        if self.at is None:
            return
        self.count += 1
        if self.count == self.at:
            os.kill(os.getpid(), _signal.SIGKILL)


@dataclass
class RunResult:
    """What a run journaled (read back from the journal)."""

    journal: Path
    bars: int
    state: str
    orders: pd.DataFrame
    fills: pd.DataFrame
    equity: pd.Series
    positions: dict[str, float]
    alerts: pd.DataFrame


def default_journal(config: LiveConfig) -> Path:
    """``runs/<name>.journal.sqlite``."""
    return Path("runs") / f"{config.name}.journal.sqlite"


class Runner:
    """One run of a promoted config (see :func:`run`).

    Parameters
    ----------
    config : LiveConfig
    feed : Feed
    broker : Broker, optional - default :func:`~quantlab.live.venues.build_broker` (the
        config's paper, ccxt or OANDA broker).
    journal, fsync, decision : as in :func:`run`.
    verify : bool, default True - recompute the parity fingerprint.
    metrics : LiveMetrics, optional - observed after every bar, order and fill; its HTTP
        endpoint (if serving) is closed by :meth:`close`.
    alerts : AlertRouter, optional - every journaled alert is routed to it (a journal
        listener), plus heartbeat alerts and halts latched by another process; closed
        (queue drained, bounded) by :meth:`close`.
    heartbeat_s : float, optional - a watchdog thread (started by :meth:`start`) sends a
        ``heartbeat`` alert for each ``heartbeat_s`` without a completed bar.

    Raises
    ------
    StartupError
        As :func:`run`; the broker the runner built is closed and nothing is journaled.
    """

    def __init__(self, config: LiveConfig, *, feed: Feed, broker: Broker | None = None,
                 journal: str | Path | None = None, fsync: bool = True,
                 verify: bool = True, decision: str = "auto",
                 metrics: LiveMetrics | None = None, alerts: AlertRouter | None = None,
                 heartbeat_s: float | None = None) -> None:
        self.config = config
        self.feed = feed
        self.crash = _Crash()
        self.metrics = metrics
        self.alerts = alerts
        self.heartbeat = None if heartbeat_s is None else Heartbeat(heartbeat_s, self._missed)
        self._routed_halt = False
        by_time = getattr(feed, "resume_by", "count") == "time"
        if (list(feed.symbols) != config.symbols and len(feed.symbols) == len(config.symbols)
                and not by_time):   # relabel a replay's columns, never a venue's markets
            feed.symbols = list(config.symbols)
        elif list(feed.symbols) != config.symbols:
            raise StartupError(f"the feed has symbols {feed.symbols}; the config trades "
                               f"{config.symbols}")
        if verify:
            verify_fingerprint(config)
        path = Path(journal) if journal is not None else default_journal(config)
        cfg = config.backtest
        path.parent.mkdir(parents=True, exist_ok=True)
        self.broker = self._venue(config, broker, path)
        self.journal = Journal(path, mode=self.broker.mode, run=config.name, fsync=fsync)
        if alerts is not None:  # every journaled alert also goes out (the router never raises)
            self.journal.alert_listeners.append(self._route_alert)
        if by_time and getattr(feed, "on_alert", False) is None:
            feed.on_alert = self._feed_alert  # type: ignore[attr-defined]
        g = config.guard
        self.guard = Guard(self.journal, halt_file=g.get("halt_file") or str(path) + ".HALT",
                           max_orders_per_window=g.get("max_orders_per_window"),
                           rate_window_bars=int(g.get("rate_window_bars") or 1))
        strat = config.strategy
        self.strategy = strat
        self.symbols = list(config.symbols)
        self.n = len(self.symbols)
        decision = check_choice("decision", decision, ("auto", "stream", "window"),
                                caller="run")
        self.decider = None if decision == "window" else streaming_decider(strat, self.n)
        if decision == "stream" and self.decider is None:
            raise StartupError(f"{type(strat).__name__} has no streaming path (no stream() "
                               "method, not a built-in); use decision='window'.")
        self.decision = "window" if self.decider is None else "stream"
        warmup = int(cfg.warmup if cfg.warmup is not None else strat.warmup)
        self.account = Account(cfg, symbols=self.symbols, warmup=warmup,
                               periods_per_year=float(cfg.periods_per_year or 252.0))
        size = cfg.sizing.size
        self._sizer = size
        probe = sizer_inputs(size, {f: np.ones((3, self.n)) for f in _FIELDS[:4]},
                             np.zeros((3, self.n)))
        self._needs_inputs = probe.shape[1] > 1
        sizer_window = 0
        for part in getattr(size, "sizers", (size,)):
            sizer_window = max(sizer_window, int(getattr(part, "window", 0) or 0),
                               int(getattr(part, "min_train", 0) or 0))
        win = config.window
        self.window: int | None = None if win is None else max(win, 2 * sizer_window + 5)
        maxlen = self.window
        self._times: deque[pd.Timestamp] = deque(maxlen=maxlen)
        self._rows: dict[str, deque[np.ndarray]] = {f: deque(maxlen=maxlen) for f in _FIELDS}
        self._held: deque[np.ndarray] = deque(maxlen=maxlen)
        self._held_last = np.zeros(self.n)
        self.completed = 0           # bars completed (decision journaled)
        self.received_time: pd.Timestamp | None = None  # last good bar's time
        self.intent_seq = 0          # intents journaled in completed bars
        self.cursor = 0              # broker fills cursor
        self.timeframe = timeframe_delta(config.timeframe)
        self._tf_ns = int(self.timeframe.value)
        self._max_gap = config.guard.get("max_gap_bars") or 0
        self._stale = config.guard.get("stale_bars") or 0
        self._stop_reason: str | None = None
        self._sigterm = False
        self._foreign: dict[str, float] = {}     # units traded by orders not this run's
        self._unresolved: dict[str, str] = {}   # client id -> intent state (UNKNOWN/SUBMITTED)
        self._not_found: dict[str, int] = {}    # client id -> bars the venue said "no such order"
        self._broker_failed = False              # a broker call failed in the last bar
        # order events of resolutions, journaled with the bar (a crash before its commit
        # resolves them again on the restored account, so a void is applied exactly once)
        self._bar_events: list[tuple[str, str, str, str]] = []
        self.run_tag = config.name
        self.strategy_tag = type(strat).__name__

    @staticmethod
    def _venue(config: LiveConfig, broker: Broker | None, path: Path) -> Broker:
        """The broker (built from the config when None), isolated and checked against the
        config's order rules; a broker built here is closed again when a check refuses."""
        built = broker is None
        venue = build_broker(config, journal_path=path) if broker is None else broker
        try:
            if config.broker == "paper" and (venue.mode != "paper" or venue.authenticated):
                raise StartupError("the config is a paper config but the broker is a "
                                   f"{venue.mode} broker; paper never uses an authenticated "
                                   "client.")
            check_venue_rules(config, venue)
        except BaseException:
            if built:
                venue.close()
            raise
        return venue

    # ---- start: restore, reconcile --------------------------------------------------
    def start(self) -> None:
        j = self.journal
        j.session("start", dumps({"config": str(self.config.path)}))
        if j.scalar("SELECT COUNT(*) FROM config") == 0:
            with j.transaction("config") as cur:
                cur.execute("INSERT INTO config (time, text) VALUES (?, ?)",
                            (_time.time(), json.dumps(self.config.raw, default=str)))
        self._restore()
        self._reconcile()
        if self.heartbeat is not None:
            self.heartbeat.start()
        _log("started", run=self.run_tag, completed=self.completed, state=self.guard.state)

    def _restore(self) -> None:
        j = self.journal
        last = j.last_decision()
        if last is None:
            return
        self.completed = int(last["bar_seq"])
        blob = np.frombuffer(last["account"], dtype=np.float64)
        own = self.account.state()
        parts, k = {}, 0
        for key in ("acct", "st", "ring", "bi"):
            size = own[key].size
            parts[key] = blob[k:k + size].reshape(own[key].shape)
            k += size
        self.account.restore(parts)
        held = np.zeros(self.n)
        rows = j.conn.execute("SELECT b.seq, b.time, b.data, d.target FROM bars b JOIN "
                              "decisions d ON d.bar_seq = b.seq WHERE b.seq <= ? AND "
                              "b.status != 'rejected' ORDER BY b.seq",
                              (self.completed,)).fetchall()
        for _seq, t, data, target in rows:
            d = json.loads(data)
            tgt = np.asarray(json.loads(target), dtype=np.float64)
            held = np.where(np.isnan(tgt), held, tgt)
            self._push(pd.Timestamp(t), d, held)
            if self.decider is not None:
                self.decider.update(*(np.asarray(d[f], dtype=np.float64) for f in _FIELDS))
            self.received_time = pd.Timestamp(t)
        self._held_last = held
        self.intent_seq = int(j.scalar("SELECT COUNT(*) FROM intents WHERE bar_seq <= ?",
                                       self.completed))

    def _push(self, t: pd.Timestamp, d: dict[str, list[float]], held: np.ndarray) -> None:
        self._times.append(t)
        for f in _FIELDS:
            self._rows[f].append(np.asarray(d[f], dtype=np.float64))
        self._held.append(held.copy())

    def _reconcile(self) -> None:
        """Broker vs journal: import the fills journaled nowhere, compare positions."""
        j = self.journal
        fills, cursor = self.broker.fills_since(0)
        known = {r[0] for r in j.conn.execute("SELECT trade_id FROM fills").fetchall()}
        ours = {r[0] for r in j.conn.execute("SELECT client_id FROM intents").fetchall()}
        foreign = [f for f in fills if f.client_id not in ours]
        missing = [f for f in fills if f.trade_id not in known and f.client_id in ours]
        if missing:
            with j.transaction("reconcile") as cur:
                _insert_fills(cur, missing, detail="found at reconciliation")
            self._count_fills(len(missing))
        for f in foreign:
            self._set_aside(f)
        self.cursor = cursor
        self._apply_flatten_fills()
        self._unresolved = self._journaled_unknown()
        jpos = self._journal_positions()
        bpos = self._own(self.broker.positions())
        for sym in set(jpos) | set(bpos):
            if not _close(jpos.get(sym, 0.0), bpos.get(sym, 0.0)):
                text = (f"reconciliation failed: the journal holds {jpos.get(sym, 0.0)} "
                        f"{sym}, the broker {bpos.get(sym, 0.0)}; trading waits. Inspect "
                        "the orders by hand, then start a new journal.")
                j.alert("reconciliation", text)
                raise ReconciliationError(text)
        # the restored account plus the fills of an interrupted bar must equal the journal
        pending = dict.fromkeys(self.symbols, 0.0)
        for sym, side, size in j.conn.execute(
                "SELECT f.symbol, f.side, f.size FROM fills f JOIN intents i ON "
                "i.client_id = f.client_id WHERE i.bar_seq > ?", (self.completed,)).fetchall():
            pending[sym] += size if side == "buy" else -size
        acc = self.account.positions
        for sym in self.symbols:
            if not _close(float(acc[sym]) + pending[sym], jpos.get(sym, 0.0)):
                text = (f"reconciliation failed: the restored account holds {acc[sym]} {sym} "
                        f"(+{pending[sym]} in flight), the journal's fills {jpos.get(sym)}")
                j.alert("reconciliation", text)
                raise ReconciliationError(text)
        for ack in self.broker.open_orders():
            if ack.client_id not in ours:
                j.alert("foreign_order", f"open order {ack.client_id!r} is not this run's")

    def _set_aside(self, f: BrokerFill, when: Any = None) -> None:
        """A trade of an order this run never made (T25): alerted, never counted as its own."""
        signed = f.size if f.side == "buy" else -f.size
        self._foreign[f.symbol] = self._foreign.get(f.symbol, 0.0) + signed
        self.journal.alert("foreign_order", f"trade {f.trade_id} of client id {f.client_id!r} "
                           "is not this run's: not counted as its own", when)

    def _split_foreign(self, fills: list[BrokerFill], when: Any) -> list[BrokerFill]:
        """The run's own fills; the others are set aside (:meth:`_set_aside`)."""
        if not fills:
            return fills
        ours = {r[0] for r in self.journal.conn.execute("SELECT client_id FROM intents")}
        own = [f for f in fills if f.client_id in ours]
        for f in fills:
            if f.client_id not in ours:
                self._set_aside(f, when)
        return own

    def _own(self, positions: dict[str, float]) -> dict[str, float]:
        """The broker's positions without the trades of foreign orders."""
        out = dict(positions)
        for sym, units in self._foreign.items():
            out[sym] = out.get(sym, 0.0) - units
        return out

    def _journal_positions(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for sym, side, size in self.journal.conn.execute(
                "SELECT f.symbol, f.side, f.size FROM fills f JOIN intents i ON "
                "i.client_id = f.client_id ORDER BY f.rowid").fetchall():
            out[sym] = out.get(sym, 0.0) + (size if side == "buy" else -size)
        return out

    # ---- one bar -----------------------------------------------------------------------
    def _gate(self, bar: Bar) -> tuple[bool, bool, str | None]:
        """(step it, decide on it, alert)."""
        for o, h, lo, c in zip(bar.open.tolist(), bar.high.tolist(), bar.low.tolist(),
                               bar.close.tolist(), strict=True):
            if not math.isfinite(o + h + lo + c):
                kind = "nan" if math.isnan(o + h + lo + c) else "inf"
                return False, False, f"bad bar ({kind} price) at {bar.time}: not traded"
            if o <= 0 or h <= 0 or lo <= 0 or c <= 0:
                return False, False, f"bad bar (non-positive price) at {bar.time}: not traded"
            if h < max(o, c) or lo > min(o, c):
                return False, False, f"bad bar (low/high inconsistent) at {bar.time}: not traded"
        t = bar.time.value
        last = self.received_time
        tf = self._tf_ns
        if last is not None:
            lv = last.value
            if t == lv:
                return False, False, f"duplicate bar at {bar.time}: dropped"
            if t < lv:
                return False, False, f"out-of-order bar at {bar.time} (after {last}): dropped"
            if self._max_gap and t - lv > self._max_gap * tf:
                return True, False, (f"gap: {bar.time - last} since the last bar ({last}) > "
                                     f"{self._max_gap} bars; no new decision on {bar.time}")
        if self._stale:
            age = self.feed.now().value - (t + tf)
            if age > self._stale * tf:
                return True, False, (f"stale data: the bar of {bar.time} closed "
                                     f"{pd.Timedelta(age, unit='ns')} ago (> {self._stale} "
                                     "bars); no new decision")
        return True, True, None

    def _target(self) -> np.ndarray:
        times = pd.DatetimeIndex(list(self._times))
        if self.n == 1:
            frame = pd.DataFrame({f: np.fromiter((r[0] for r in self._rows[f]), np.float64,
                                                 len(times)) for f in _FIELDS}, index=times)
        else:
            frame = pd.concat({f: pd.DataFrame(np.vstack(list(self._rows[f])), index=times,
                                               columns=self.symbols) for f in _FIELDS}, axis=1)
        sig = as_exposure(self.strategy.signal(frame))
        return np.asarray(sig, dtype=np.float64).reshape(len(times), -1)[-1].copy()

    def _sizer_inputs(self) -> dict[str, np.ndarray] | None:
        if not self._needs_inputs:
            return None
        prices = {f: np.vstack(list(self._rows[f])) for f in _FIELDS[:4]}
        out = sizer_inputs(self._sizer, prices, np.vstack(list(self._held)))
        return {name: out[i, -1, :] for name, i in SIZER_INPUT_NAMES.items()}

    def process(self, bar: Bar) -> None:
        """Run one closed bar through gate, strategy, guard, step, journal and broker."""
        t0 = _time.perf_counter()
        j, acc = self.journal, self.account
        seq = self.completed + 1
        step_it, decide, alert = self._gate(bar)
        data = {f: getattr(bar, f).tolist() for f in _FIELDS}
        status = "ok" if step_it and decide else ("hold" if step_it else "rejected")
        if alert:
            j.alert("bad_bar" if not step_it else "data", alert, bar.time)
            _log("alert", kind="data", message=alert)
        self._kill_switches(bar.time)
        degraded = self._preflight(bar.time)
        fills: list[Any] = []
        target = np.full(self.n, np.nan)
        events: list[tuple[str, str]] = []
        if step_it:
            held = self._held_last
            self._push(bar.time, data, held)   # held target of this bar set below
            if self.decider is not None:
                streamed = np.asarray(self.decider.update(bar.open, bar.high, bar.low,
                                                          bar.close, bar.volume),
                                      dtype=np.float64)
            if decide:
                raw = streamed if self.decider is not None else self._target()
                target = self.guard.filter(raw, positions_array(acc))
                if degraded:  # INV-4: uncertain orders or a failing broker
                    target = reduce_only_target(target, positions_array(acc))
            held = np.where(np.isnan(target), self._held_last, target)
            self._held[-1] = held.copy()
            self._held_last = held
            n_events = len(acc._events)
            before = positions_array(acc)
            fills = acc.step(open=bar.open, high=bar.high, low=bar.low, close=bar.close,
                             target=target if self.n > 1 else float(target[0]),
                             sizer_inputs=self._sizer_inputs(), time=bar.time,
                             day=bar.time.value // 86_400_000_000_000)
            events = [(e[2], e[4]) for e in acc._events[n_events:]]
            self.received_time = bar.time
        latency = (_time.perf_counter() - t0) * 1e6
        intents = []
        pos = dict(zip(self.symbols, before if step_it else positions_array(acc),
                       strict=True))
        for k, f in enumerate(fills):
            cid = client_order_id(self.run_tag, self.strategy_tag, self.intent_seq + k)
            signed = f.size if f.side == "buy" else -f.size
            p = pos[f.symbol]
            reduce_only = p != 0 and abs(p + signed) <= abs(p) and np.sign(p + signed) in (
                0, np.sign(p))
            pos[f.symbol] = p + signed
            intents.append((self.intent_seq + k, cid, seq, str(bar.time), f.symbol, f.side,
                            float(f.size), float(f.price), f.reason, int(reduce_only), f.fee))
        if intents:
            redo: set[str] = set()   # intents an earlier process journaled: maybe sent
            with j.transaction("intents") as cur:
                cur.execute("INSERT OR IGNORE INTO bars VALUES (?, ?, ?, ?)",
                            (seq, str(bar.time), status, dumps(data)))
                self.crash("in_intent_txn")
                for it in intents:
                    row = cur.execute("SELECT symbol, side, size, price FROM intents WHERE "
                                      "client_id = ?", (it[1],)).fetchone()
                    if row is None:
                        cur.execute("INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    it[:10])
                    elif row != (it[4], it[5], it[6], it[7]):
                        raise ReconciliationError(
                            f"the recomputed intent {it[1]} ({it[5]} {it[6]} {it[4]} @ "
                            f"{it[7]}) differs from the journaled one {row}; refusing to send")
                    else:
                        redo.add(it[1])
            self.crash("after_intents")
            for it in intents:
                # query first when an earlier process may have sent it, or while the broker
                # is failing (the query probes the venue before anything is sent)
                probe = it[1] in redo or degraded or self._broker_failed
                self._send(OrderRequest(it[1], it[4], it[5], it[6], it[7], bool(it[9]),
                                        bar.time), it[0], bar.time, check_first=probe)
        new_fills, cursor = self._fills(bar.time)
        new_fills = self._split_foreign(new_fills, bar.time)
        for f in new_fills:
            match = [it for it in intents if it[1] == f.client_id]
            if match and not _close(f.fee, match[0][10]):
                j.alert("fee_drift", f"{f.client_id}: broker fee {f.fee}, model {match[0][10]}")
        state_blob = np.concatenate([a.ravel() for a in acc.state().values()]).tobytes()
        positions = dict(zip(self.symbols, positions_array(acc).tolist(), strict=True))
        with j.transaction("bar") as cur:
            cur.execute("INSERT OR IGNORE INTO bars VALUES (?, ?, ?, ?)",
                        (seq, str(bar.time), status, dumps(data)))
            _insert_fills(cur, new_fills)
            for cid, event, state, detail in self._bar_events:
                cur.execute("INSERT INTO orders (client_id, event, state, time, detail) VALUES "
                            "(?, ?, ?, ?, ?)", (cid, event, state, _time.time(), detail))
            self.crash("in_bar_txn")
            cur.execute("INSERT INTO positions VALUES (?, ?, ?)",
                        (seq, str(bar.time), dumps(positions)))
            cur.execute("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (seq, str(bar.time), dumps(target.tolist()), self.guard.state,
                         acc.equity, acc.cash, latency, state_blob))
        self.crash("after_bar")
        self._bar_events.clear()
        self.cursor = cursor
        self.completed = seq
        self.intent_seq += len(intents)
        self.guard.after_bar(acc.halted, len(intents), events)
        self._observe(bar, positions, latency, len(new_fills))
        bpos = self._broker_call("positions", bar.time, self.broker.positions)
        if bpos is None:
            return
        bpos = self._own(bpos)
        for sym in self.symbols:
            if self.metrics is not None:
                self.metrics.observe_drift(sym, positions[sym] - bpos.get(sym, 0.0))
            # an order whose outcome is still UNKNOWN explains a difference until it resolves
            # (then it is voided or its fills arrive): no drift is concluded meanwhile
            if not self._unresolved and not _close(positions[sym], bpos.get(sym, 0.0)):
                text = (f"reconciliation drift: the account holds {positions[sym]} {sym}, the "
                        f"broker {bpos.get(sym, 0.0)}")
                j.alert("reconciliation", text, bar.time)
                if self.guard.latch is None:
                    self.guard._latch("reconciliation", text)

    # ---- monitoring ---------------------------------------------------------------------
    def _kill_switches(self, when: Any) -> None:
        """The guard's kill switches; a halt latched by another process (``quantlab live
        halt``, the API) journaled its own alert there: route it from here."""
        before = self.guard.latch
        self._routed_halt = False
        self.guard.before_bar()
        latch = self.guard.latch
        if (self.alerts is not None and latch is not None and before is None
                and not self._routed_halt):
            self.alerts.send("halt", f"HALTED by {latch[0]}: {latch[1]} (latched outside the "
                             f"runner; acted on at the bar of {when})", source="halt",
                             bar_time=str(when))

    def _route_alert(self, kind: str, text: str, bar_time: Any = None) -> None:
        """The journal's listener: every committed alert goes to the router."""
        if kind == "halt":
            self._routed_halt = True
        if self.alerts is not None:
            self.alerts.journal_alert(kind, text, bar_time)

    def _observe(self, bar: Bar, positions: dict[str, float], latency_us: float,
                 n_fills: int) -> None:
        """Metrics and heartbeat of a completed bar."""
        if self.heartbeat is not None:
            self.heartbeat.beat()
        if self.metrics is None:
            return
        acc = self.account
        self.metrics.observe_bar(bar.time, equity=float(acc.equity), cash=float(acc.cash),
                                 positions=positions, guard_state=self.guard.state,
                                 latency_s=latency_us / 1e6)
        self._count_fills(n_fills)

    def _count_fills(self, n: int) -> None:
        if self.metrics is not None and n:
            self.metrics.observe_fill(n)

    def _observe_order(self, state: str) -> None:
        if self.metrics is not None:
            try:
                self.metrics.observe_order(state)
            except QuantlabError:  # a state outside orders.STATES: counted as UNKNOWN
                self.metrics.observe_order("UNKNOWN")

    def _missed(self, age_s: float) -> None:
        """The heartbeat's callback (watchdog thread): alert and log, never journal."""
        text = (f"run {self.run_tag}: no bar completed for {age_s:.1f} s (last bar "
                f"{self.received_time})")
        _log("alert", kind="heartbeat", message=text)
        if self.alerts is not None:
            self.alerts.send("heartbeat", text, age_s=round(age_s, 3))

    # ---- loop and shutdown -------------------------------------------------------------
    def loop(self, *, max_bars: int | None = None) -> None:
        """Process the feed's bars from where the journal ends."""
        done = 0
        skip = int(self.journal.scalar("SELECT COUNT(*) FROM decisions"))
        if getattr(self.feed, "resume_by", "count") == "time" and self.received_time is not None:
            bars = self.feed.bars(after=self.received_time)   # an exchange resumes by time
        else:
            bars = self.feed.bars(skip=skip)
        for bar in bars:
            self.process(bar)
            done += 1
            if self._sigterm:
                if self.config.shutdown.get("on_sigterm") == "halt" and self.guard.latch is None:
                    self.guard._latch("sigterm", "SIGTERM received (policy: halt)")
                self._stop_reason = "SIGTERM"
                break
            if max_bars is not None and done >= max_bars:
                self._stop_reason = "max_bars"
                break
        else:
            self._stop_reason = "feed ended"

    def shutdown(self, reason: str | None = None) -> None:
        """The shutdown policy: cancel working orders, optionally flatten, journal the stop."""
        reason = reason or self._stop_reason or "stop"
        when = self._times[-1] if self._times else None
        for ack in self._broker_call("open_orders", when, self.broker.open_orders) or []:
            res = self._broker_call("cancel", when, lambda c=ack.client_id: self.broker.cancel(c))
            if res is None:
                continue
            with self.journal.transaction("cancel") as cur:
                cur.execute("INSERT INTO orders (client_id, event, state, time, detail) VALUES "
                            "(?, 'cancelled', ?, ?, 'shutdown')",
                            (ack.client_id, res.state, _time.time()))
        if self.config.shutdown.get("flatten"):
            self._flatten()
        self.journal.session("stop", reason)
        _log("stopped", run=self.run_tag, reason=reason, bars=self.completed)

    def _flatten(self) -> None:
        """Close every position the broker holds, journaled like any order.

        The intents (the run's next sequence numbers, reason ``"shutdown"``, reduce-only,
        at the last close, ``bar_seq`` = the last completed bar) and their client order ids
        commit before sending; the fills and order events commit after, and the account
        takes the fills (flat, cash adjusted, no pending decision), as a restart does again
        from the journal (:meth:`_apply_flatten_fills`).
        """
        if not self._rows["close"]:
            return
        last = self._rows["close"][-1]
        when = self._times[-1]
        pos = self._broker_call("positions", when, self.broker.positions)
        if pos is None:
            return
        pos = self._own(pos)  # never flatten what orders of others hold
        intents: list[tuple[Any, ...]] = []
        for j, sym in enumerate(self.symbols):
            q = float(pos.get(sym, 0.0))
            if q == 0.0:
                continue
            seq = self.intent_seq + len(intents)
            intents.append((seq, client_order_id(self.run_tag, "flatten", seq), self.completed,
                            str(when), sym, "sell" if q > 0 else "buy", abs(q), float(last[j]),
                            FLATTEN_REASON, 1))
        if not intents:
            return
        with self.journal.transaction("flatten") as cur:
            cur.executemany("INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", intents)
        self.intent_seq += len(intents)
        for it in intents:
            self._send(OrderRequest(it[1], it[4], it[5], it[6], it[7], True, when), it[0], when)
        fills, cursor = self._fills(when)
        self._journal_fills(fills)
        self._count_fills(len(fills))
        self.cursor = cursor
        ours = {it[1] for it in intents}
        self._apply_to_account([(f.symbol, f.side, f.size, f.price, f.fee) for f in fills
                                if f.client_id in ours])
        after = self._broker_call("positions", when, self.broker.positions)
        self.journal.alert("flatten", f"shutdown flatten: {len(intents)} order(s) "
                           f"{[it[1] for it in intents]}; broker positions after: {after}", when)

    def _journal_fills(self, fills: list[BrokerFill]) -> None:
        if not fills:
            return
        with self.journal.transaction("fills") as cur:
            _insert_fills(cur, fills)

    def _apply_flatten_fills(self) -> None:
        """Give the restored account the fills of a shutdown flatten after its last bar."""
        rows = self.journal.conn.execute(
            "SELECT f.symbol, f.side, f.size, f.price, f.fee FROM fills f JOIN intents i ON "
            "i.client_id = f.client_id WHERE i.reason = ? AND i.bar_seq = ? ORDER BY f.rowid",
            (FLATTEN_REASON, self.completed)).fetchall()
        self._apply_to_account(rows)

    def _apply_to_account(self, fills: list[tuple[str, str, float, float, float]]) -> None:
        """Book fills made outside the decision step (a flatten) into the account."""
        if not fills:
            return
        closes = self._rows["close"][-1] if self._rows["close"] else np.zeros(self.n)
        for sym, side, size, price, fee in fills:
            self.account.book_fill(sym, size if side == "buy" else -size, price, fee,
                                   mark=closes)

    # ---- broker errors: fail closed ------------------------------------------------------
    def _send(self, order: OrderRequest, seq: int, when: Any, *,
              check_first: bool = True) -> None:
        """Send one journaled intent unless the venue holds it; an uncertain send -> UNKNOWN.

        ``check_first``: query the venue by client id before sending. Needed for an intent an
        earlier process journaled (it may have been sent before a crash) and while broker calls
        fail (the query probes the venue: nothing is sent into a partition); an intent first
        journaled in this bar's transaction on a healthy venue was never sent, and skipping the
        query saves a round trip per order (with ccxt's rate limiter, ~38 ms).
        """
        cid = order.client_id
        error = "UNKNOWN"  # the class of the alert: the exception's, or the venue's answer
        try:
            ack = self.broker.get_order(cid) if check_first else None
            if ack is None:
                self.crash("before_send")
                sent = _time.perf_counter()
                ack = self.broker.submit(order)
                if self.metrics is not None:
                    self.metrics.observe_round_trip(_time.perf_counter() - sent)
                _log("order", client_id=cid, side=order.side, size=order.size, state=ack.state)
                self.crash("after_send")
        except Exception as exc:
            self._fail(exc, "submit", when, seq=seq, client_id=cid, alert=False)
            error = type(exc).__name__
            ack = OrderAck(cid, "", "UNKNOWN", 0.0, f"{error}: {exc}")
        self._observe_order(ack.state)
        if ack.state == "UNKNOWN":
            self._unresolved[cid] = "UNKNOWN"
            self._order_event(cid, "unknown", "UNKNOWN", ack.detail)
            text = (f"{error}: intent {seq}, client order id {cid}: the send's outcome is "
                    f"unknown ({ack.detail or 'the venue answered UNKNOWN'}); it is queried by "
                    "client id before the next decision, never resent")
            self.journal.alert("order_unknown", text, when)
            _log("alert", kind="order_unknown", message=text)
        elif ack.state == "REJECTED":
            self.journal.alert("reject", f"order {cid} rejected: {ack.detail}", when)
            self._void(cid, ack.filled)

    def _fills(self, when: Any) -> tuple[list[BrokerFill], int]:
        try:
            return self.broker.fills_since(self.cursor)
        except Exception as exc:
            self._fail(exc, "fills_since", when)
            return [], self.cursor

    def _broker_call(self, name: str, when: Any, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            self._fail(exc, name, when)
            return None

    def _fail(self, exc: Exception, call: str, when: Any, *, seq: int | None = None,
              client_id: str | None = None, alert: bool = True) -> None:
        """A broker error: stop on a fatal one (LiveError), else fail closed for a bar."""
        text = (f"{type(exc).__name__} in broker.{call}: intent {seq}, client order id "
                f"{client_id}: {exc}")
        if is_fatal(exc):
            text += (" - the run stops (authentication or permission); fix the credentials, "
                     "then restart on the same journal")
            self.journal.alert("fatal", text, when)
            _log("fatal", message=text)
            self._stop_reason = f"fatal: {type(exc).__name__}"
            raise LiveError(text) from exc
        self._broker_failed = True
        if alert:
            self.journal.alert("broker_error", text + " - reduce-only until the broker answers",
                               when)
            _log("alert", kind="broker_error", message=text)

    def _order_event(self, cid: str, event: str, state: str, detail: str) -> None:
        with self.journal.transaction("order") as cur:
            cur.execute("INSERT INTO orders (client_id, event, state, time, detail) VALUES "
                        "(?, ?, ?, ?, ?)", (cid, event, state, _time.time(), detail))

    def _journaled_unknown(self) -> dict[str, str]:
        """Orders whose last journaled event left them UNKNOWN (a restart resolves them)."""
        out: dict[str, str] = {}
        for cid, event in self.journal.conn.execute(
                "SELECT client_id, event FROM orders ORDER BY id").fetchall():
            if event == "unknown":
                out[cid] = "UNKNOWN"
            elif event in ("resolved", "fill"):
                out.pop(cid, None)
        return out

    def _resolve(self, when: Any) -> None:
        """Query every UNKNOWN order by client id (``RESOLVE_ATTEMPTS`` per bar)."""
        for cid in list(self._unresolved):
            ack: OrderAck | None = None
            answered = False
            for _ in range(RESOLVE_ATTEMPTS):
                try:
                    ack = self.broker.get_order(cid)
                except Exception as exc:
                    self._fail(exc, "get_order", when, client_id=cid)
                    continue
                if ack is None or ack.state != "UNKNOWN":
                    answered = True
                    break
            if not answered:
                continue
            filled, size = self._filled(cid)
            if ack is None and filled >= size - 1e-12 * max(size, 1.0):
                ack = OrderAck(cid, "", "FILLED", filled, "its fills arrived; the venue's order "
                               "query does not show it yet")
            if ack is None:
                self._not_found[cid] = self._not_found.get(cid, 0) + 1
                if self._not_found[cid] < NOT_FOUND_BARS:
                    continue  # maybe not indexed yet: ask again on the next bar
            self._not_found.pop(cid, None)
            del self._unresolved[cid]
            if ack is None:
                what = "never received it" if filled == 0 else f"filled {filled} of {size} only"
                self._bar_events.append((cid, "resolved", "REJECTED", "queried by client id: "
                                         f"the venue {what} (not resent)"))
                self.journal.alert("order_unknown", f"client order id {cid}: the venue {what}; "
                                   "not resent", when)
                self._void(cid, filled)
            else:
                self._bar_events.append((cid, "resolved", ack.state, f"queried by client id: "
                                         f"{ack.state} {ack.filled}"))
                self._observe_order(ack.state)
                if ack.state in ("REJECTED", "CANCELLED", "EXPIRED"):
                    self._void(cid, ack.filled)

    def _filled(self, cid: str) -> tuple[float, float]:
        """(units the journaled fills of ``cid`` hold, the intent's size)."""
        got = self.journal.scalar("SELECT COALESCE(SUM(size), 0) FROM fills WHERE client_id = ?",
                                  cid)
        size = self.journal.scalar("SELECT size FROM intents WHERE client_id = ?", cid)
        return float(got or 0.0), float(size or 0.0)

    def _void(self, cid: str, filled: float) -> None:
        """Take back from the account the part of an intent the venue never filled.

        The decision step booked the intent's fill when it decided it; a refused order (or
        one the venue never received, or cancelled unfilled) is reversed at the modelled price
        and fee, keeping the step's target so the same order is not decided again on the next
        bar (no retry loop). Account and venue then agree, and the run goes on; the void is in
        the bar's state, journaled with the bar.
        """
        row = self.journal.conn.execute("SELECT symbol, side, size, price, reason FROM intents "
                                        "WHERE client_id = ?", (cid,)).fetchone()
        if row is None or row[4] == FLATTEN_REASON:  # a flatten is booked when it fills only
            return
        sym, side, size, price, _ = row
        left = max(float(size) - float(filled or 0.0), 0.0)
        if left <= 0.0 or sym not in self.symbols:
            return
        co = self.config.backtest.costs
        fee = left * float(price) * co.fee_bps / 1e4 + (co.fee_fixed if filled == 0 else 0.0)
        signed = left if side == "buy" else -left
        closes = self._rows["close"][-1] if self._rows["close"] else np.zeros(self.n)
        self.account.book_fill(sym, -signed, float(price), -fee, mark=closes,
                               forget_target=False)

    def _preflight(self, when: Any) -> bool:
        """Resolve UNKNOWN orders; True (reduce-only) while any is open or the broker failed."""
        failed = self._broker_failed
        self._broker_failed = False
        if self._unresolved:
            self._resolve(when)
        reasons = []
        if self._unresolved:
            reasons.append(f"{len(self._unresolved)} order(s) still UNKNOWN "
                           f"({sorted(self._unresolved)})")
        if failed or self._broker_failed:
            reasons.append("a broker call failed")
        if not reasons:
            return False
        self.journal.alert("fail_closed", f"reduce-only targets on the bar of {when}: "
                           f"{'; '.join(reasons)} (INV-4, nothing latched)", when)
        return True

    def _feed_alert(self, kind: str, text: str) -> None:
        """Journal and log an alert the feed raised between bars (stale, gap, feed error)."""
        self.journal.alert(f"feed_{kind}" if not kind.startswith("feed") else kind, text)
        _log("alert", kind=kind, message=text)

    def on_sigterm(self, *_: Any) -> None:
        self._sigterm = True

    def result(self) -> RunResult:
        j = self.journal
        dec = j.frame("decisions")
        equity = pd.Series(dec["equity"].to_numpy(), index=pd.DatetimeIndex(dec["time"]),
                           name="equity")
        return RunResult(j.path, int(self.completed), self.guard.state, j.frame("intents"),
                         j.frame("fills"), equity, self.broker.positions(), j.frame("alerts"))

    def close(self) -> None:
        """Stop the heartbeat, drain the alert router (bounded), stop the metrics endpoint,
        close the journal and the broker. Safe to call more than once."""
        try:
            if self.heartbeat is not None:
                self.heartbeat.stop()
            if self.alerts is not None:
                self.alerts.close(timeout_s=10.0)
            if self.metrics is not None:
                self.metrics.close()
        finally:
            self.journal.close()
            self.broker.close()


def _insert_fills(cur: Any, fills: list[BrokerFill], *, detail: str | None = None) -> None:
    """Journal venue fills (once each: the trade id is unique) and their order events (the
    event's detail: ``detail``, default the trade id)."""
    for f in fills:
        cur.execute("INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", tuple(f))
        cur.execute("INSERT INTO orders (client_id, event, state, time, detail) VALUES "
                    "(?, 'fill', 'FILLED', ?, ?)", (f.client_id, _time.time(),
                                                    f.trade_id if detail is None else detail))


def _close(a: float, b: float) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def run(config: str | Path | LiveConfig, *, feed: Feed, broker: Broker | None = None,
        journal: str | Path | None = None, speed: Any = None, max_bars: int | None = None,
        fsync: bool = True, handle_signals: bool = False,
        decision: str = "auto", metrics_port: int | None = None,
        api_port: int | None = None, heartbeat_s: float | None = None) -> RunResult:
    """Run a promoted strategy on a feed until the feed ends (or ``max_bars``, or SIGTERM).

    Parameters
    ----------
    config : path or LiveConfig - a file written by :func:`~quantlab.live.promote`.
    feed : Feed - e.g. :class:`~quantlab.live.feeds.ReplayFeed`
        (:func:`~quantlab.live.venues.build_feed` builds one from the config).
    broker : Broker, optional - default: the config's
        (:func:`~quantlab.live.venues.build_broker`): a :class:`PaperBroker` with the
        config's costs persisted beside the journal (``<journal>.paper.sqlite``), or the
        ccxt / OANDA broker of its ``broker`` mapping, credentials from the environment.
    journal : path, optional - default ``runs/<name>.journal.sqlite``; an existing journal
        resumes the run. The kill-switch file is ``<journal>.HALT`` unless the config's
        ``guard.halt_file`` names another; the paper venue's state is kept in
        ``<journal>.paper.sqlite``.
    speed : "max", "realtime" or float, optional - the replay pace (sets ``feed.speed``).
    max_bars : int, optional - stop after this many bars.
    fsync : bool, default True - commit each journal transaction to disk.
    handle_signals : bool, default False - install the SIGTERM policy (the CLI does).
    decision : {"auto", "stream", "window"}, default "auto" - "stream": the strategy's
        streaming path (the built-ins have one); "window": ``signal()`` on the trailing
        window; "auto": streaming when available.
    metrics_port : int, optional - serve Prometheus metrics
        (:class:`~quantlab.live.metrics.LiveMetrics`) on ``127.0.0.1:<port>`` for the run's
        duration (0: a free port); default the config's ``monitoring.metrics_port``.
    api_port : int, optional - serve the control API and status page
        (:func:`~quantlab.live.api.start_in_thread`, token from ``QUANTLAB_API_TOKEN``) on
        ``127.0.0.1:<port>`` for the run's duration; default ``monitoring.api_port``.
    heartbeat_s : float, optional - alert when no bar completed for this long; default
        ``monitoring.heartbeat_s``, else 3 bars when ``monitoring.alerts`` routes alerts.

    Returns
    -------
    RunResult

    Raises
    ------
    StartupError
        Unknown strategy, missing/unknown parameter, invalid limits, fingerprint mismatch,
        a broker that cannot be built (an unset credential variable), the venue's lot or
        minimum notional not matching the config's, a monitoring port already in use.
    JournalError
        Another mode's journal, a journal copied without its WAL.
    ReconciliationError
        The broker and the journal disagree: nothing is traded.

    Notes
    -----
    Every thread and port the run opens (metrics endpoint, API server, heartbeat, alert
    worker) is closed when it returns or raises, start-up failures included.
    """
    cfg = config if isinstance(config, LiveConfig) else load_config(config)
    if speed is not None:
        feed.speed = speed  # type: ignore[attr-defined]
    mon = cfg.monitoring or {}
    metrics_port = metrics_port if metrics_port is not None else mon.get("metrics_port")
    api_port = api_port if api_port is not None else mon.get("api_port")
    metrics, alerts = _monitoring(cfg, metrics_port)
    beat = heartbeat_s if heartbeat_s is not None else mon.get("heartbeat_s")
    if beat is None and alerts is not None:
        beat = 3 * timeframe_delta(cfg.timeframe).total_seconds()
    try:
        runner = Runner(cfg, feed=feed, broker=broker, journal=journal, fsync=fsync,
                        decision=decision, metrics=metrics, alerts=alerts, heartbeat_s=beat)
    except BaseException:
        _close_monitoring(metrics, alerts)
        raise
    previous = None
    api = None
    try:
        if api_port is not None:
            api = _start_api(runner.journal.path, api_port)
        if handle_signals:
            previous = _signal.signal(_signal.SIGTERM, runner.on_sigterm)
        runner.start()
        try:
            runner.loop(max_bars=max_bars)
        except LiveError:
            runner.journal.session("stop", runner._stop_reason or "fatal")
            raise
        runner.shutdown()
        return runner.result()
    finally:
        if previous is not None:
            _signal.signal(_signal.SIGTERM, previous)
        if api is not None:
            api.stop(timeout=10.0)
        runner.close()


def _monitoring(cfg: LiveConfig, metrics_port: int | None
                ) -> tuple[LiveMetrics | None, AlertRouter | None]:
    """The run's metrics (served on loopback when a port is given) and alert router."""
    metrics = alerts = None
    try:
        if metrics_port is not None:
            metrics = LiveMetrics(run=cfg.name,
                                  bar_duration_s=timeframe_delta(cfg.timeframe).total_seconds())
            metrics.serve(port=metrics_port)
        spec = (cfg.monitoring or {}).get("alerts")
        if spec:
            alerts = AlertRouter.from_config(spec, run=cfg.name, metrics=metrics)
    except QuantlabError as exc:
        _close_monitoring(metrics, alerts)
        raise StartupError(f"monitoring of {cfg.name}: {exc}") from None
    return metrics, alerts


def _close_monitoring(metrics: LiveMetrics | None, alerts: AlertRouter | None) -> None:
    if alerts is not None:
        alerts.close(timeout_s=5.0)
    if metrics is not None:
        metrics.close()


def _start_api(journal: Path, port: int) -> Any:
    """The control API on 127.0.0.1 beside the run (a StartupError if it cannot listen)."""
    import socket

    from quantlab.live.api import start_in_thread

    if port:  # a taken port: refuse here rather than let uvicorn exit its thread
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                raise StartupError(f"the control API cannot listen on 127.0.0.1:{port} "
                                   f"({exc.strerror}); pick another --api-port, or 0 for a "
                                   "free one.") from None
    try:
        server, _ = start_in_thread(journal, host="127.0.0.1", port=port)
    except QuantlabError as exc:
        raise StartupError(f"the control API: {exc}") from None
    return server

"""RELIABILITY.md's fault plan at runner level: ``run()`` with a CcxtBroker against the fake.

Every test runs :func:`quantlab.live.run` (``SmaCross(3, 8)`` on bundled AAPL bars relabelled
``BTC/USDT``, see :mod:`tests.live._exchange_run`) with a :class:`~quantlab.live.CcxtBroker`
on a fake Binance on 127.0.0.1, through the real ccxt client. The fake's ledger and request
log are the truth; the journal is read back through its own connection. Faults are scripted
on the fake (a route that books the order and then loses the answer, faults on every path
for a span of bars, balances, hand-placed orders) or in the replayed bars.

Where each fault of the plan is proven (across files):

====  =====================================================================================
T1-4  test_crash_exchange.py::test_kill_at_each_named_point_then_restart (before send, after
      send, after fill before commit, inside a journal transaction; kill -9, restart,
      INV-1..3), ::test_crash_loop_50_kills (+ _other_seed, slow; a reconciliation
      check after every restart); test_crash.py (paper)
T5-6  here: test_lost_answer_after_commit_is_unknown_then_resolved_never_resent (reset, 5xx,
      status unknown, timeout, during a run); broker level:
      test_ccxt_broker.py::test_lost_answer_after_commit_is_resolved_by_query_never_resent
T7    here: test_venue_rejection_is_one_request_an_alert_and_no_loop; broker level:
      test_ccxt_broker.py::test_min_notional_at_the_exchange_is_one_request_no_retry,
      ::test_insufficient_funds_is_one_request_no_retry, ::test_bad_request_..._no_retry
T8    test_ccxt_broker.py::test_every_order_passes_the_exchange_filters_or_is_refused_locally
T9    test_ccxt_broker.py::test_429_retry_after_is_honoured, ::test_418_stops_every_request_
      until_the_ban_ends; test_venue_policy.py
T10   here: test_runaway_strategy_trips_the_order_rate_breaker (INV-6 on the ledger)
T11-  test_ccxt_broker.py::test_partial_fills_cancel_fill_after_cancel_and_duplicates_count_
T13   once, ::test_not_visible_for_a_while_stays_unknown_then_is_found;
      test_state_machine.py (fills of resting orders, duplicate trade events, kill/restart)
T14-  here: test_partition_and_maintenance_send_nothing_and_resolve_before_trading
T15   (all requests dropped / 503 maintenance for k bars); broker level:
      test_ccxt_broker.py::test_maintenance_during_submit_sends_once_and_reports_unknown
T16   test_ccxt_broker.py::test_clock_skew_resyncs_once_and_places_one_order
T17   here: test_corrupt_foreign_or_disagreeing_journal_refuses_to_start;
      test_crash_exchange.py (copy without its WAL); test_journal.py
T18   here: test_bad_bars_send_no_order_and_alert; test_runner.py (paper)
T19   here: test_sizing_inputs_zero_variance_nan_and_huge_are_clipped (the runner's gate
      drops a NaN bar before any sizer sees it); sizer level: tests/backtest/test_sizers.py::
      test_undefined_risk_inputs_size_zero_and_tiny_ones_hit_the_cap (NaN/0/negative/inf VaR
      or volatility opens nothing), ::test_kelly_edge_sizes_zero_with_a_warning and
      ::test_kelly_trades_sizes_zero_with_a_warning (NaN, zero variance, negative edge, too
      few observations: size 0, never an exception)
T20-  here: test_kill_switch_persists_across_restart_and_only_exits_reach_the_venue,
T21   test_drawdown_breaker_persists_across_restart_and_only_exits_reach_the_venue
T22   (not in the plan)
T23   here: test_paper_and_live_journals_and_clients_are_isolated; test_runner.py
T24   here: test_canary_secrets_never_appear_anywhere; test_ccxt_broker.py (broker level)
T25   here: test_hand_placed_order_during_the_run_is_flagged_never_counted;
      test_ccxt_broker.py::test_a_hand_placed_order_is_foreign
====  =====================================================================================
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantlab.live import JournalError, ReconciliationError, ReplayFeed, StartupError, run
from quantlab.live.brokers import PaperBroker
from quantlab.live.feeds import Bar
from quantlab.live.journal import Journal
from quantlab.live.secrets import Secret
from tests.fakes.exchange import Fault, Response
from tests.fakes.ledger import Ledger
from tests.live._exchange_run import (
    MARKET,
    SYMBOL,
    Flipper,
    _rows,
    check_ledger_invariants,
    journal_positions,
    journal_trade_ids,
    ledger_position,
    live_config,
    make_broker,
    promote_config,
    replay_frame,
    venue,
)

KEY, SECRET = "CANARY-KEY-5d1e77a0", "CANARY-SECRET-93b2c4f1"
POST = ("POST", "/api/v3/order")


# ---------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def fake():
    with venue(api_key=KEY, secret=SECRET) as server:
        server.original_routes = dict(server.routes)
        yield server


@pytest.fixture
def fresh(fake):
    """The module's fake with an empty ledger, no faults, no requests, the pinned price."""
    with fake.lock:
        fake.faults.clear()
        fake.requests.clear()
    old = fake.ledger
    fake.ledger = Ledger(dict(old.markets), balances={"USDT": 10**9}, fee_rate=old.fee_rate,
                         rules=dict(old.rules))
    fake.routes.update(fake.original_routes)
    fake.hidden = fake.duplicated = fake.skew_ms = 0
    return fake


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    return promote_config(tmp_path_factory.mktemp("faults"), name="fp")


@pytest.fixture(scope="module")
def clean(config_path, tmp_path_factory):
    """An uninterrupted run's intents ``(client_id, bar_seq, side, size)`` (the oracle)."""
    config = live_config(config_path)
    journal = tmp_path_factory.mktemp("clean") / "clean.sqlite"
    with venue(api_key=KEY, secret=SECRET) as other:
        trade(other, config, journal)
    return _rows(journal, "SELECT client_id, bar_seq, side, size FROM intents ORDER BY seq")


def broker_for(fake, **options: Any):
    options.setdefault("sleep", lambda seconds: None)   # backoff without waiting
    return make_broker(fake.url, api_key=Secret(KEY, name="key"),
                       secret=Secret(SECRET, name="secret"), **options)


def trade(fake, config, journal: Path, *, frame: pd.DataFrame | None = None,
          feed: Any = None, broker: Any = None, **kw: Any):
    frame = replay_frame(config) if frame is None else frame
    feed = feed if feed is not None else ReplayFeed(frame, symbols=config.symbols)
    return run(config, feed=feed, broker=broker if broker is not None else broker_for(fake),
               journal=journal, fsync=False, **kw)


class HookFeed(ReplayFeed):
    """A replay that calls ``hook(i, bar)`` before yielding its i-th bar (0-based)."""

    def __init__(self, data: pd.DataFrame, hook: Callable[[int, Bar], None],
                 **kw: Any) -> None:
        super().__init__(data, **kw)
        self.hook = hook

    def bars(self, *, skip: int = 0, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        for i, bar in enumerate(super().bars(skip=skip, after=after), start=skip):
            self.hook(i, bar)
            yield bar


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def posts_of(fake, cid: str) -> int:
    return sum(1 for r in fake.requests_to("/api/v3/order", "POST")
               if r.params.get("newClientOrderId") == cid)


def alerts(journal: Path, kind: str) -> list[str]:
    return [m for (m,) in _rows(journal, f"SELECT message FROM alerts WHERE kind = '{kind}'")]


def events(journal: Path, cid: str) -> list[tuple[str, str]]:
    return _rows(journal, "SELECT event, state FROM orders WHERE client_id = "
                          f"'{cid}' ORDER BY id")


def own_consistency(fake, journal: Path) -> None:
    """INV-1 and INV-3 when some intents never reached the venue: each client id at most
    once on the ledger and journaled; each ledger trade once in the journal; positions."""
    per_id = Counter(o.client_id for o in fake.ledger.orders if not o.by_hand)
    intents = {c for (c,) in _rows(journal, "SELECT client_id FROM intents")}
    assert not per_id or max(per_id.values()) == 1
    assert set(per_id) <= intents
    ours = {o.order_id for o in fake.ledger.orders if not o.by_hand}
    local = journal_trade_ids(journal)
    assert not local or max(local.values()) == 1
    assert {f"{MARKET}:{t.trade_id}" for t in fake.ledger.trades if t.order_id in ours} \
        <= set(local)
    assert journal_positions(journal).get(SYMBOL, 0.0) == pytest.approx(
        float(sum((t.qty if t.side == "BUY" else -t.qty for t in fake.ledger.trades
                   if t.order_id in ours), Decimal(0))), abs=1e-9)


# ---------------------------------------------------------------- T5-T6
def _late(response: Response, seconds: float) -> Response:
    time.sleep(seconds)
    return response


LOST = {
    "reset": lambda resp: None,                               # connection dropped
    "5xx": lambda resp: Response.error(500, -1000, "An unknown error occurred while "
                                                   "processing the request."),
    "status-unknown": lambda resp: Response.error(503, -1007, "Timeout waiting for response "
                                                  "from backend server. Send status unknown; "
                                                  "execution status unknown."),
    "timeout": lambda resp: _late(resp, 1.2),                  # after the client's 0.7 s
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", list(LOST))
@pytest.mark.parametrize("hidden", [3, 6], ids=["hidden-from-broker", "hidden-for-a-bar"])
def test_lost_answer_after_commit_is_unknown_then_resolved_never_resent(
        fresh, config_path, clean, tmp_path, how, hidden):
    config = live_config(config_path)
    book = fresh.routes[POST]
    target = 3                       # the third order: the venue books it, the answer is lost
    seen = {"n": 0}

    def lossy(request):
        response = book(request)
        seen["n"] += 1
        if seen["n"] != target:
            return response
        # the broker's own 3 queries miss it too (UNKNOWN); with 6, also the runner's 3 on
        # the next bar ("not found for a while", T13): one "not found" never voids it
        fresh.hide_orders(hidden)
        return LOST[how](response)

    fresh.route(*POST, lossy)
    journal = tmp_path / "j.sqlite"
    res = trade(fresh, config, journal, broker=broker_for(fresh, timeout_ms=700))
    cid = clean[target - 1][0]
    assert posts_of(fresh, cid) == 1 and len(fresh.ledger.by_client_id(cid)) == 1
    ev = events(journal, cid)
    assert ("unknown", "UNKNOWN") in ev and ("resolved", "FILLED") in ev
    assert ev.index(("unknown", "UNKNOWN")) < ev.index(("resolved", "FILLED"))
    unknown = alerts(journal, "order_unknown")
    assert len(unknown) == 1 and cid in unknown[0]
    assert _rows(journal, "SELECT client_id, bar_seq, side, size FROM intents ORDER BY seq") \
        == clean
    check_ledger_invariants(fresh, journal)
    assert alerts(journal, "reconciliation") == [] and res.state == "ACTIVE"
    assert res.positions[SYMBOL] == pytest.approx(ledger_position(fresh), abs=1e-9)


# ---------------------------------------------------------------- T7
@pytest.mark.timeout(120)
def test_venue_rejection_is_one_request_an_alert_and_no_loop(fresh, config_path, clean,
                                                             tmp_path):
    config = live_config(config_path)
    fresh.ledger.free["USDT"] = Decimal(50)       # the first entry cannot be paid for
    journal = tmp_path / "j.sqlite"
    res = trade(fresh, config, journal)
    first = clean[0][0]
    sent = Counter(r.params.get("newClientOrderId")
                   for r in fresh.requests_to("/api/v3/order", "POST"))
    assert sent[first] == 1 and max(sent.values()) == 1        # one request each, no retry
    rejects = alerts(journal, "reject")
    assert rejects and first in rejects[0] and "insufficient balance" in rejects[0]
    assert fresh.ledger.orders == [] and fresh.ledger.trades == []
    # the refused order is voided in the account (its model fill taken back), so account and
    # venue agree: no drift, no halt; no loop: the same order is never decided again, and
    # every later entry (each refused as well: the venue still cannot fund it) went out once
    assert alerts(journal, "reconciliation") == [] and res.state == "ACTIVE"
    assert res.positions.get(SYMBOL, 0.0) == 0.0 == ledger_position(fresh)
    last = _rows(journal, "SELECT data FROM positions ORDER BY bar_seq DESC LIMIT 1")
    n_buys = _rows(journal, "SELECT COUNT(*) FROM intents WHERE side = 'buy'")[0][0]
    assert json.loads(last[0][0])[SYMBOL] == 0.0  # the account's own position after the run
    buys = [c for c in sent if any(i[0] == c and i[2] == "buy" for i in clean)]
    assert buys and buys[0] == first and len(rejects) == len(sent) == n_buys
    own_consistency(fresh, journal)


# ---------------------------------------------------------------- T10
@pytest.mark.timeout(120)
def test_runaway_strategy_trips_the_order_rate_breaker(fresh, tmp_path):
    path = promote_config(tmp_path, name="runaway", strategy=Flipper())
    limit, window = 4, 10
    config = live_config(path, max_orders_per_window=limit, rate_window_bars=window)
    journal = tmp_path / "j.sqlite"
    res = trade(fresh, config, journal)
    assert res.state == "HALTED"
    latched = Journal(journal, mode="live", readonly=True).latched()
    assert latched is not None and latched[0] == "order_rate"
    # INV-6 on the ledger: no window of `window` bars holds more than `limit` orders
    bar_of = dict(_rows(journal, "SELECT client_id, bar_seq FROM intents"))
    bars = sorted(bar_of[o.client_id] for o in fresh.ledger.orders)
    worst = max(sum(1 for b in bars if s <= b < s + window) for s in bars)
    assert worst <= limit, f"{worst} orders within {window} bars on the ledger > {limit}"
    own_consistency(fresh, journal)


# ---------------------------------------------------------------- T14-T15
def _outage(fake, kind: str) -> Fault:
    if kind == "partition":
        return Fault("drop", path=None, times=10**9)
    return Fault("status", path=None, times=10**9, status=503,
                 body={"code": 1, "msg": "System is under maintenance."})


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["partition", "maintenance"])
def test_partition_and_maintenance_send_nothing_and_resolve_before_trading(
        fresh, config_path, clean, tmp_path, kind):
    config = live_config(config_path)
    frame = replay_frame(config)
    trading_bars = sorted({i[1] for i in clean})
    start = trading_bars[3] - 2            # bar_seq is 1-based: bars start-1 .. start+2 cut off
    span = 4
    fault = _outage(fresh, kind)
    marks: dict[str, int] = {}

    def hook(i: int, bar: Bar) -> None:
        if i == start - 1:
            with fresh.lock:
                marks["cut"] = len(fresh.requests)
                fresh.faults.append(fault)
        elif i == start - 1 + span:
            with fresh.lock:
                fresh.faults.remove(fault)
                marks["healed"] = len(fresh.requests)

    journal = tmp_path / "j.sqlite"
    res = trade(fresh, config, journal, feed=HookFeed(frame, hook, symbols=config.symbols))
    during = fresh.requests[marks["cut"]:marks["healed"]]
    assert during and not [r for r in during if (r.method, r.path) == POST]   # nothing sent
    cut_times = {str(t) for t in frame.index[start - 1:start - 1 + span]}
    told = _rows(journal, "SELECT kind, bar_time FROM alerts WHERE kind IN "
                          "('broker_error', 'order_unknown', 'fail_closed')")
    assert {t for _, t in told} & cut_times                          # alerts while cut off
    # the intent of the cut-off trading bar: queried by client id after the outage, never sent
    cid = next(i[0] for i in clean if i[1] == trading_bars[3])
    assert posts_of(fresh, cid) == 0
    after = fresh.requests[marks["healed"]:]
    queries = [k for k, r in enumerate(after)
               if r.params.get("origClientOrderId") == cid and r.method == "GET"]
    first_post = next(k for k, r in enumerate(after) if (r.method, r.path) == POST) \
        if any((r.method, r.path) == POST for r in after) else len(after)
    assert queries and queries[0] < first_post                       # resolved before trading
    assert ("resolved", "REJECTED") in events(journal, cid)
    # the never-received intent was voided in the account: it agrees with the venue, the run
    # trades on after the outage without a reconciliation halt
    assert alerts(journal, "reconciliation") == [] and res.state == "ACTIVE"
    assert res.positions.get(SYMBOL, 0.0) == pytest.approx(ledger_position(fresh), abs=1e-9)
    assert [r for r in after if (r.method, r.path) == POST]          # trading resumed
    own_consistency(fresh, journal)


# ---------------------------------------------------------------- T17
@pytest.mark.timeout(120)
def test_corrupt_foreign_or_disagreeing_journal_refuses_to_start(fresh, config_path, clean,
                                                                 tmp_path):
    config = live_config(config_path)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a journal" * 200)
    with pytest.raises(JournalError, match="refusing to start as if flat"):
        trade(fresh, config, garbage)
    # a journal of another run
    journal = tmp_path / "j.sqlite"
    trade(fresh, config, journal, max_bars=next(b for _, b, side, _ in clean if side == "buy"))
    other = dataclasses.replace(config, name="another")
    with pytest.raises(JournalError, match="belongs to run"):
        trade(fresh, other, journal)
    # the ledger disagrees with the journal (another account, or trades undone): refused
    held = ledger_position(fresh)
    assert held > 0                                          # the journal holds a position
    requests = len(fresh.requests_to("/api/v3/order", "POST"))
    fresh.ledger = Ledger(dict(fresh.ledger.markets), balances={"USDT": 10**9},
                          rules=dict(fresh.ledger.rules))
    with pytest.raises(ReconciliationError, match="reconciliation failed"):
        trade(fresh, config, journal)
    assert len(fresh.requests_to("/api/v3/order", "POST")) == requests   # nothing sent
    assert fresh.ledger.orders == []


# ---------------------------------------------------------------- T18
@pytest.mark.timeout(120)
def test_bad_bars_send_no_order_and_alert(fresh, config_path, clean, tmp_path):
    config = live_config(config_path)
    frame = replay_frame(config)
    df = frame.copy()
    trade_rows = [b - 1 for b in sorted({i[1] for i in clean})]   # 0-based rows that trade
    i_nan, i_inf, i_neg = trade_rows[1], trade_rows[3], trade_rows[5]
    df.iloc[i_nan, df.columns.get_loc("close")] = np.nan
    df.iloc[i_inf, df.columns.get_loc("high")] = np.inf
    df.iloc[i_neg, df.columns.get_loc("low")] = -1.0
    rows = pd.concat([df.iloc[:101], df.iloc[[100]], df.iloc[[90]], df.iloc[101:130],
                      df.iloc[140:]])
    journal = tmp_path / "j.sqlite"
    res = trade(fresh, config, journal, frame=rows)
    text = " | ".join(res.alerts["message"])
    for kind in ("nan price", "inf price", "non-positive price", "duplicate bar",
                 "out-of-order bar", "gap:"):
        assert kind in text, kind
    bad = {s for (s,) in _rows(journal, "SELECT seq FROM bars WHERE status != 'ok'")}
    assert len(bad) == 6
    bar_of = dict(_rows(journal, "SELECT client_id, bar_seq FROM intents"))
    assert not {bar_of[o.client_id] for o in fresh.ledger.orders} & bad   # no order on them
    check_ledger_invariants(fresh, journal)
    # stale data: a clock far past the bars -> no decision, nothing sent
    posts = fresh.request_counts()[POST]

    class Late(ReplayFeed):
        def now(self) -> pd.Timestamp:
            return pd.Timestamp("2030-01-01", tz="UTC")

    res2 = trade(fresh, config, tmp_path / "stale.sqlite",
                 feed=Late(frame, symbols=config.symbols))
    assert fresh.request_counts()[POST] == posts and len(res2.orders) == 0
    assert res2.alerts["message"].str.contains("stale data").sum() == len(frame)


# ---------------------------------------------------------------- T19
@pytest.mark.timeout(120)
def test_sizing_inputs_zero_variance_nan_and_huge_are_clipped(fresh, tmp_path):
    from quantlab.backtest.sizers import VolTarget

    path = promote_config(tmp_path, name="vol", size=VolTarget(annual_vol=0.5, window=5))
    config = live_config(path)
    frame = replay_frame(config).copy()
    flat = frame.index[60:75]                 # zero variance: sigma 0 -> an infinite size
    for col in ("open", "high", "low", "close"):
        frame.loc[flat, col] = float(frame["close"].iloc[59])
    frame.iloc[90, frame.columns.get_loc("close")] = np.nan          # a NaN input
    frame.iloc[120:, :4] = frame.iloc[120:, :4] * 1e4                  # huge prices
    journal = tmp_path / "j.sqlite"
    trade(fresh, config, journal, frame=frame)
    assert fresh.ledger.orders                # it traded
    equity = dict(_rows(journal, "SELECT bar_seq, equity FROM decisions"))
    bar_of = dict(_rows(journal, "SELECT client_id, bar_seq FROM intents"))
    prices = frame["open"].to_numpy()
    held = Decimal(0)
    for order in fresh.ledger.orders:
        held += order.qty if order.side == "BUY" else -order.qty
        bar = bar_of[order.client_id]
        # the exposure on the venue is within [0, 1] x the equity (leverage 1, long only)
        assert held >= 0
        assert float(held) * prices[bar - 1] <= 1.02 * equity[bar - 1] + 1e-6, order
    nan_bar = _rows(journal, f"SELECT seq FROM bars WHERE time = '{frame.index[90]}'")
    assert nan_bar and not [c for c, b in bar_of.items() if b == nan_bar[0][0]]
    check_ledger_invariants(fresh, journal)


# ---------------------------------------------------------------- T20-T21
def _after_halt_only_exits(fake, journal: Path, halted_from: int) -> None:
    """Every ledger order of an intent decided after ``halted_from`` is a sell that never
    makes the ledger's position negative (an exit), and the intent is marked reduce-only."""
    info = {c: (b, r) for c, b, r in _rows(journal, "SELECT client_id, bar_seq, reduce_only "
                                                    "FROM intents")}
    held = Decimal(0)
    late = 0
    for order in fake.ledger.orders:
        held += order.qty if order.side == "BUY" else -order.qty
        bar, reduce_only = info[order.client_id]
        if bar > halted_from:
            late += 1
            assert order.side == "SELL" and held >= 0 and reduce_only == 1, order
    assert held == 0 and late >= 1


@pytest.mark.timeout(120)
def test_kill_switch_persists_across_restart_and_only_exits_reach_the_venue(
        fresh, config_path, clean, tmp_path):
    config = live_config(config_path)
    buy_bar = next(b for _, b, side, _ in clean if side == "buy")
    journal = tmp_path / "j.sqlite"
    trade(fresh, config, journal, max_bars=buy_bar)
    assert ledger_position(fresh) > 0
    with Journal(journal, mode="live") as j:
        j.latch("operator test", source="cli")           # what `quantlab live halt` writes
    res = trade(fresh, config, journal, max_bars=40)       # restart: still halted
    assert res.state == "HALTED"
    res = trade(fresh, config, journal)                    # and again, to the end
    assert res.state == "HALTED"
    with Journal(journal, mode="live", readonly=True) as j:
        assert j.latched() == ("cli", "operator test")
    _after_halt_only_exits(fresh, journal, buy_bar)
    check_ledger_invariants(fresh, journal)


@pytest.mark.timeout(120)
def test_drawdown_breaker_persists_across_restart_and_only_exits_reach_the_venue(
        fresh, tmp_path):
    path = promote_config(tmp_path, name="dd", max_drawdown=0.03, on_breach="reduce_only")
    config = live_config(path)
    journal = tmp_path / "j.sqlite"
    res = trade(fresh, config, journal, max_bars=120)
    with Journal(journal, mode="live", readonly=True) as j:
        latch = j.latched()
        halted_at = _rows(journal, "SELECT MIN(bar_seq) FROM decisions WHERE state = 'HALTED'")
    assert latch is not None and latch[0] == "drawdown", latch
    res = trade(fresh, config, journal)                    # restart: the breaker holds
    assert res.state == "HALTED"
    _after_halt_only_exits(fresh, journal, halted_at[0][0])
    check_ledger_invariants(fresh, journal)


# ---------------------------------------------------------------- T23
@pytest.mark.timeout(120)
def test_paper_and_live_journals_and_clients_are_isolated(fresh, config_path, tmp_path):
    from quantlab.live.promote import load_config

    paper = load_config(config_path)                       # broker: paper
    live = live_config(config_path)
    frame = replay_frame(live)
    paper_journal = tmp_path / "paper.sqlite"
    run(paper, feed=ReplayFeed(frame, symbols=paper.symbols), journal=paper_journal,
        max_bars=30, fsync=False)
    assert sum(fresh.request_counts().values()) == 0      # paper never talked to the venue
    with pytest.raises(JournalError, match="paper journal; a live run refuses it"):
        trade(fresh, live, paper_journal)
    live_journal = tmp_path / "live.sqlite"
    trade(fresh, live, live_journal, max_bars=30)
    with pytest.raises(JournalError, match="live journal; a paper run refuses it"):
        run(paper, feed=ReplayFeed(frame, symbols=paper.symbols), journal=live_journal,
            fsync=False, broker=PaperBroker(path=str(tmp_path / "p.sqlite")))
    # a paper config never runs on an authenticated client
    posts = fresh.request_counts()[POST]
    with pytest.raises(StartupError, match="paper never uses an authenticated client"):
        run(paper, feed=ReplayFeed(frame, symbols=paper.symbols), broker=broker_for(fresh),
            journal=tmp_path / "p2.sqlite", fsync=False)
    assert fresh.request_counts()[POST] == posts


# ---------------------------------------------------------------- T24
@pytest.mark.timeout(120)
def test_canary_secrets_never_appear_anywhere(fresh, config_path, tmp_path, caplog,
                                              monkeypatch):
    from quantlab.live import LiveError
    from quantlab.live.shadow import shadow_report

    monkeypatch.delenv("QUANTLAB_API_TOKEN", raising=False)  # the API open on loopback
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="ccxt")
    caplog.set_level(logging.DEBUG, logger="quantlab")
    config = live_config(config_path)
    journal = tmp_path / "j.sqlite"
    broker = broker_for(fresh)
    texts = [repr(broker), str(broker), repr(config), str(config)]
    fresh.inject("drop", path="/api/v3/order", method="POST", commit=True, skip=1)
    mport, aport = _free_port(), _free_port()
    served: list[str] = []

    def scrape(i: int, bar: Bar) -> None:  # the metrics and every API route, mid-run
        if i != 60:
            return
        urls = [f"http://127.0.0.1:{mport}/metrics"] + [
            f"http://127.0.0.1:{aport}/api/{route}"
            for route in ("status", "positions", "orders", "pnl", "alerts")]
        for url in urls:
            with urllib.request.urlopen(url, timeout=10) as response:
                served.append(str(dict(response.headers)) + response.read().decode())

    trade(fresh, config, journal, broker=broker, max_bars=80,
          feed=HookFeed(replay_frame(config), scrape, symbols=config.symbols),
          metrics_port=mport, api_port=aport)
    assert len(served) == 6 and "quantlab_live_equity" in served[0]
    texts += served
    texts.append(shadow_report(journal).read_text())
    bad = make_broker(fresh.url, api_key=Secret(KEY), secret=Secret(SECRET + "-wrong"),
                      sleep=lambda s: None)
    with pytest.raises(LiveError) as info:
        trade(fresh, config, journal, broker=bad)
    texts += [str(info.value), repr(info.value), repr(info.value.__cause__), repr(bad)]
    logged = caplog.text
    assert "X-MBX-APIKEY" in logged                 # ccxt's DEBUG request lines were captured
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    blobs = [p.read_bytes() for p in files]
    assert any(p.name == "j.sqlite" for p in files)
    for text in [*texts, logged]:
        assert KEY not in text and SECRET not in text
    for blob in blobs:
        assert KEY.encode() not in blob and SECRET.encode() not in blob


# ---------------------------------------------------------------- T25
@pytest.mark.timeout(120)
def test_hand_placed_order_during_the_run_is_flagged_never_counted(fresh, config_path, clean,
                                                                   tmp_path):
    config = live_config(config_path)
    frame = replay_frame(config)

    def hook(i: int, bar: Bar) -> None:
        if i == 70:
            fresh.place_by_hand(SYMBOL, "buy", "2", client_id="web_manual_1")     # filled
            fresh.place_by_hand(SYMBOL, "buy", "1", "1", client_id="web_manual_2")  # rests

    journal = tmp_path / "j.sqlite"
    res = trade(fresh, config, journal, feed=HookFeed(frame, hook, symbols=config.symbols))
    flagged = " | ".join(alerts(journal, "foreign_order"))
    assert "web_manual_1" in flagged
    assert _rows(journal, "SELECT client_id, bar_seq, side, size FROM intents ORDER BY seq") \
        == clean                                       # the run's own orders are unchanged
    mine = [o for o in fresh.ledger.orders if not o.by_hand]
    own = float(sum((t.qty if t.side == "BUY" else -t.qty for t in fresh.ledger.trades
                     if t.order_id in {o.order_id for o in mine}), Decimal(0)))
    assert journal_positions(journal).get(SYMBOL, 0.0) == pytest.approx(own, abs=1e-9)
    assert res.state == "ACTIVE" and alerts(journal, "reconciliation") == []
    check_ledger_invariants(fresh, journal)
    # a restart reconciles too: the foreign trade is flagged again, never counted
    again = trade(fresh, config, journal, max_bars=1)
    assert again.state == "ACTIVE"

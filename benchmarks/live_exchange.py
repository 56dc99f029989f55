"""The live runner on the loopback fake Binance: order round trip and start-up reconciliation.

    .venv/bin/python benchmarks/live_exchange.py [--orders 500 --warmup 20 --markdown]

Everything runs in this one fresh process: the fake Binance (``tests.fakes.FakeBinance``, a
threaded HTTP server on 127.0.0.1) and the real ccxt client inside
:class:`~quantlab.live.ccxt_broker.CcxtBroker`, with a real on-disk
:class:`~quantlab.live.journal.Journal`. Nothing leaves the loopback interface.

* **Part 1 - order round trip**, per market order, the steps of ``Runner.process`` /
  ``Runner._send``: (a) the intent committed in one journal transaction (bar row, look-up by
  client id, intent row, as the runner writes it), (g) ``broker.get_order(client_id)`` (the
  runner's "never send twice" check before every send), (b) ``broker.submit`` (one POST),
  (c) the ack committed as an ``orders`` event in one transaction (the runner commits it with
  the bar's fills; the cost per transaction is the same). p50 / p99 / max over ``--orders``
  orders after ``--warmup`` excluded ones, with fsync on (``synchronous=FULL``, what the runner
  uses) and off. Every order is checked on the fake's ledger (exactly one FILLED order per
  client id, one POST per order): a run that did not trade as claimed stops with an error.
* **Part 2 - start-up reconciliation** (``Runner._reconcile``: ``fills_since(0)``,
  ``positions()``, ``open_orders()`` and the journal comparison) with 100 resting LIMIT orders
  of the run on the fake (placed through ccxt ``create_order(..., "limit", ...)`` with the
  run's client ids), then also with 1000 historical trades of the run on the ledger (paged
  fills). Each run uses a fresh broker (an empty cache, as after a restart) with its markets
  loaded beforehand (``load_markets`` timed on its own); best and median of ``--runs``. The
  journal part alone is timed by replaying the broker's recorded answers from memory.
* **Peers**: there is no peer run here: freqtrade and hummingbot are not installed and need
  exchange accounts. The in-process comparison is raw ccxt (``fetch_order`` by client id, then
  ``create_order``, on a plain ``ccxt.binance`` client: no journal, no policy layer, no local
  rule checks) against ``CcxtBroker.get_order`` + ``submit`` without a journal, the two
  interleaved order by order in one loop so that both see the same load on a shared machine.

Design decisions a reader of the numbers should know:

- **TCP_NODELAY on the fake.** The fake's handler (``http.server``) writes the headers and
  the body of a response in two ``send`` calls; with Nagle's algorithm on, the second waits
  for the client's delayed ACK (~40 ms on Linux), so every request to the stock fake costs
  ~44 ms whatever quantlab does. The fake's handler sets ``disable_nagle_algorithm``
  (``TCP_NODELAY``); one row turns it off in this process, for comparison.
- **ccxt's rate limiter off in the main rows.** ``CcxtBroker`` builds its client with
  ``enableRateLimit=True``: ccxt (sync) then sleeps ``rateLimit x cost`` (Binance: 50 ms x the
  endpoint's weight / 5) since the previous request before each request. That wait is the
  client pacing itself for the venue's weight limits, not latency; the main rows switch it off
  to measure the work, and separate rows switch it on (as a live run has it).
- **A live config for the runner.** ``promote`` writes paper configs only in this version, and
  the runner refuses an authenticated broker for a paper config; the benchmark relabels the
  promoted config's ``broker`` so ``Runner`` accepts the ccxt broker (only ``_reconcile`` runs;
  no bar is processed).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pandas as pd

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent))  # tests.fakes
from _timing import markdown  # noqa: E402

from quantlab.live.brokers import (  # noqa: E402
    Broker,
    BrokerFill,
    ExchangeRules,
    OrderAck,
    OrderRequest,
)
from quantlab.live.ccxt_broker import CcxtBroker  # noqa: E402
from quantlab.live.journal import Journal, dumps  # noqa: E402
from quantlab.live.orders import client_order_id  # noqa: E402
from quantlab.live.secrets import Secret  # noqa: E402
from tests.fakes.exchange import FakeBinance  # noqa: E402

SYMBOL, MARKET_ID = "BTC/USDT", "BTCUSDT"
#: the fake server's own credentials (made up here; the server checks the HMAC signatures)
FAKE_KEY, FAKE_SECRET = "bench-fake-key", "bench-fake-secret"
PRICE = Decimal(100)
ORDER_SIZE = 0.1            # 10 USDT per order: above the fake's 5 USDT minimum notional
RESTING_PRICE = "50"        # LIMIT buys below the pinned price rest
RUN, STRATEGY = "bench", "Bench"


# ---------------------------------------------------------------- fake exchange and clients
@contextmanager
def fake_exchange(*, nodelay: bool) -> Iterator[FakeBinance]:
    """A fake Binance on 127.0.0.1 with a pinned price and ample balances."""
    server = FakeBinance(symbols=(SYMBOL,), api_key=FAKE_KEY, secret=FAKE_SECRET,
                         time_source="wall", balances={"USDT": "1000000000"})
    with server:
        if not nodelay:  # the fake serves with TCP_NODELAY; this row measures without it
            http = server._server
            if http is None:
                raise RuntimeError("the fake exchange did not start")
            handler: type = http.RequestHandlerClass  # type: ignore[assignment]
            http.RequestHandlerClass = type("NagleHandler", (handler,),
                                            {"disable_nagle_algorithm": False})
        server.prices[SYMBOL] = PRICE
        yield server


def make_broker(server: FakeBinance, *, rate_limit: bool) -> CcxtBroker:
    """A ``CcxtBroker`` on the fake with its markets loaded (ccxt's rate limiter on or off)."""
    broker = CcxtBroker("binance", symbols=[SYMBOL], urls={"base": server.url},
                        api_key=Secret(FAKE_KEY, name="FAKE_KEY"),
                        secret=Secret(FAKE_SECRET, name="FAKE_SECRET"))
    broker.client.enableRateLimit = rate_limit
    broker.rules(SYMBOL)
    return broker


def raw_client(server: FakeBinance) -> Any:
    """A plain ``ccxt.binance`` client on the fake (rate limiter off, markets loaded)."""
    client = server.client(enableRateLimit=False, apiKey=FAKE_KEY, secret=FAKE_SECRET)
    client.load_markets()
    return client


def post_count(server: FakeBinance) -> int:
    """POST /api/v3/order requests the fake received (its own log)."""
    return server.request_counts()[("POST", "/api/v3/order")]


def check(condition: bool, text: str) -> None:
    """Stop the benchmark when the fake's ledger disagrees with what was measured."""
    if not condition:
        raise RuntimeError(f"benchmark self-check failed: {text}")


# ---------------------------------------------------------------- part 1: round trip
def journal_intent(journal: Journal, seq: int, cid: str) -> None:
    """(a) The intent transaction as ``Runner.process`` writes it (bar, look-up, intent)."""
    stamp = str(pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=seq))
    with journal.transaction("intents") as cur:
        cur.execute("INSERT OR IGNORE INTO bars VALUES (?, ?, ?, ?)",
                    (seq + 1, stamp, "ok", dumps({"close": [float(PRICE)]})))
        row = cur.execute("SELECT symbol, side, size, price FROM intents WHERE client_id = ?",
                          (cid,)).fetchone()
        if row is None:
            cur.execute("INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (seq, cid, seq + 1, stamp, SYMBOL, "buy", ORDER_SIZE, float(PRICE),
                         "signal", 0))


def journal_ack(journal: Journal, ack: OrderAck) -> None:
    """(c) The ack as one ``orders`` event transaction (``Runner._order_event``)."""
    with journal.transaction("order") as cur:
        cur.execute("INSERT INTO orders (client_id, event, state, time, detail) VALUES "
                    "(?, ?, ?, ?, ?)", (ack.client_id, "ack", ack.state, time.time(),
                                        ack.broker_id))


def round_trips(server: FakeBinance, broker: CcxtBroker, journal: Journal, *, tag: str,
                n: int, warmup: int) -> np.ndarray:
    """Stage times (seconds), shape ``(n, 4)``: intent txn, get_order, submit, ack txn."""
    times = np.empty((warmup + n, 4))
    posts_before = post_count(server)
    for k in range(warmup + n):
        cid = client_order_id(RUN, tag, k)
        t0 = time.perf_counter()
        journal_intent(journal, k, cid)
        t1 = time.perf_counter()
        known = broker.get_order(cid)
        t2 = time.perf_counter()
        ack = broker.submit(OrderRequest(cid, SYMBOL, "buy", ORDER_SIZE, float(PRICE)))
        t3 = time.perf_counter()
        journal_ack(journal, ack)
        t4 = time.perf_counter()
        check(known is None and ack.state == "FILLED", f"{cid}: {known}, {ack}")
        times[k] = (t1 - t0, t2 - t1, t3 - t2, t4 - t3)
    check_ledger(server, tag, warmup + n, post_count(server) - posts_before)
    return times[warmup:]


def check_ledger(server: FakeBinance, tag: str, sent: int, posts: int) -> None:
    """Exactly one FILLED order per client id on the ledger and one POST per order."""
    prefix = client_order_id(RUN, tag, 0)[:-8]
    ours = [o for o in server.ledger.orders if o.client_id.startswith(prefix)]
    ids = {o.client_id for o in ours}
    check(len(ours) == sent == len(ids) == posts,
          f"{tag}: {len(ours)} orders, {len(ids)} ids, {posts} POSTs for {sent} sends")
    check(all(o.status == "FILLED" for o in ours), f"{tag}: an order is not FILLED")


def peer_interleaved(server: FakeBinance, *, n: int, warmup: int) -> np.ndarray:
    """Per order, alternately: ``CcxtBroker`` (get_order, submit; no journal) and raw ccxt
    (``fetch_order``, ``create_order``) in the same loop, so both see the same machine load.

    Shape ``(n, 4)`` seconds: broker get_order, broker submit, raw fetch_order, raw create_order.
    """
    broker = make_broker(server, rate_limit=False)
    client = raw_client(server)
    times = np.empty((warmup + n, 4))
    posts_before = post_count(server)
    for k in range(warmup + n):
        cid, raw_cid = client_order_id(RUN, "Peer", k), client_order_id(RUN, "RawCcxt", k)
        t0 = time.perf_counter()
        known = broker.get_order(cid)
        t1 = time.perf_counter()
        ack = broker.submit(OrderRequest(cid, SYMBOL, "buy", ORDER_SIZE, float(PRICE)))
        t2 = time.perf_counter()
        with contextlib.suppress(ccxt.OrderNotFound):
            client.fetch_order(None, SYMBOL, {"origClientOrderId": raw_cid})
        t3 = time.perf_counter()
        client.create_order(SYMBOL, "market", "buy", ORDER_SIZE, None,
                            {"newClientOrderId": raw_cid})
        times[k] = (t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3)
        check(known is None and ack.state == "FILLED", f"{cid}: {known}, {ack}")
    client.session.close()
    broker.close()
    posts = post_count(server) - posts_before
    check_ledger(server, "Peer", warmup + n, posts // 2)
    check_ledger(server, "RawCcxt", warmup + n, posts // 2)
    return times[warmup:]


def stats(values: np.ndarray) -> dict[str, float]:
    ms = np.asarray(values) * 1e3
    return {"p50 ms": float(np.median(ms)), "p99 ms": float(np.percentile(ms, 99)),
            "max ms": float(ms.max())}


def stage_rows(config: str, t: np.ndarray, *, full: bool) -> list[dict[str, Any]]:
    """Rows of the round-trip table from the stage times of one configuration."""
    a, g, b, c = t.T
    measures = [("intent -> ack journaled (a+b+c)", a + b + c),
                ("runner's path (a+g+b+c)", a + g + b + c),
                ("HTTP: submit (b)", b), ("HTTP: get_order pre-check (g)", g)]
    if full:
        measures += [("journal: intent + ack txns (a+c)", a + c), ("journal: intent txn (a)", a),
                     ("journal: ack txn (c)", c)]
    return [{"configuration": config, "measure": m, "orders": len(t), **stats(v)}
            for m, v in measures]


def part_round_trip(tmp: Path, *, n: int, warmup: int, slow_n: int) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    with fake_exchange(nodelay=True) as server:
        for fsync in (True, False):
            broker = make_broker(server, rate_limit=False)
            journal = Journal(tmp / f"rt-{fsync}.sqlite", mode="live", run=RUN, fsync=fsync)
            t = round_trips(server, broker, journal, tag=f"Fsync{fsync}", n=n, warmup=warmup)
            journal.close()
            broker.close()
            rows += stage_rows(f"fsync {'on' if fsync else 'off'}", t, full=True)
        broker = make_broker(server, rate_limit=True)
        journal = Journal(tmp / "rt-throttled.sqlite", mode="live", run=RUN, fsync=True)
        t = round_trips(server, broker, journal, tag="Throttled", n=slow_n, warmup=5)
        journal.close()
        broker.close()
        rows += stage_rows("fsync on, ccxt rate limiter on", t, full=False)
        peer = peer_interleaved(server, n=n, warmup=warmup)
        ours = "quantlab CcxtBroker, no journal"
        rows += [{"configuration": who, "measure": m, "orders": n, **stats(v)}
                 for who, m, v in (
                     (ours, "get_order + submit", peer[:, 0] + peer[:, 1]),
                     (ours, "submit", peer[:, 1]),
                     ("peer: raw ccxt, no journal", "fetch_order + create_order",
                      peer[:, 2] + peer[:, 3]),
                     ("peer: raw ccxt, no journal", "create_order", peer[:, 3]))]
    with fake_exchange(nodelay=False) as server:
        broker = make_broker(server, rate_limit=False)
        journal = Journal(tmp / "rt-nagle.sqlite", mode="live", run=RUN, fsync=True)
        t = round_trips(server, broker, journal, tag="Nagle", n=slow_n, warmup=5)
        journal.close()
        broker.close()
        rows += stage_rows("fsync on, fake with Nagle on", t, full=False)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- part 2: reconciliation
class ReplayBroker(Broker):
    """The answers a broker gave, replayed from memory (times the journal part alone)."""

    mode = "live"
    authenticated = True

    def __init__(self, fills: list[BrokerFill], positions: dict[str, float],
                 open_orders: list[OrderAck], rules: ExchangeRules) -> None:
        self._fills, self._positions, self._open = fills, positions, open_orders
        self._rules = rules

    def fills_since(self, cursor: int = 0) -> tuple[list[BrokerFill], int]:
        return self._fills[cursor:], max(cursor, len(self._fills))

    def positions(self) -> dict[str, float]:
        return dict(self._positions)

    def open_orders(self) -> list[OrderAck]:
        return list(self._open)

    def submit(self, order: OrderRequest) -> OrderAck:
        raise NotImplementedError("ReplayBroker only replays reconciliation answers")

    def cancel(self, client_id: str) -> OrderAck:
        raise NotImplementedError("ReplayBroker only replays reconciliation answers")

    def get_order(self, client_id: str) -> OrderAck | None:
        raise NotImplementedError("ReplayBroker only replays reconciliation answers")

    def balances(self) -> dict[str, float]:
        return {}

    def rules(self, symbol: str) -> ExchangeRules:
        return self._rules


def live_config(tmp: Path) -> Any:
    """A promoted SmaCross config on ``BTC/USDT`` (the fake's lot and minimum notional),
    relabelled as a ccxt config (the benchmark passes the broker itself)."""
    import quantlab as ql
    from quantlab.live import load_config, promote
    from quantlab.strategies import SmaCross

    data = ql.data.load("aapl").loc["2010-01":"2012-12"].copy()
    path = promote(SmaCross(fast=10, slow=30), data=data, symbols=[SYMBOL], name=RUN,
                   out_dir=tmp / "config", fee_bps=10, lot_size=1e-05, min_notional=5.0)
    return dataclasses.replace(load_config(path), broker="ccxt"), data


def seed_exchange(server: FakeBinance, *, resting: int, trades: int) -> list[tuple[Any, ...]]:
    """Book the run's history on the fake; return the matching journal intents."""
    intents: list[tuple[Any, ...]] = []
    for k in range(trades):   # historical market orders, booked on the ledger directly
        cid = client_order_id(RUN, STRATEGY, k)
        server.ledger.place(MARKET_ID, "BUY", "MARKET", str(ORDER_SIZE), None, cid,
                            now_ms=server.now_ms(), market_price=PRICE)
        intents.append((k, cid, 1, None, SYMBOL, "buy", ORDER_SIZE, float(PRICE), "signal", 0))
    client = raw_client(server)
    for k in range(trades, trades + resting):   # resting LIMIT orders, through ccxt
        cid = client_order_id(RUN, STRATEGY, k)
        client.create_order(SYMBOL, "limit", "buy", ORDER_SIZE, float(RESTING_PRICE),
                            {"newClientOrderId": cid})
        intents.append((k, cid, 1, None, SYMBOL, "buy", ORDER_SIZE, float(RESTING_PRICE),
                        "signal", 0))
    client.session.close()
    check(len(server.ledger.open_orders()) == resting and len(server.ledger.trades) == trades,
          "the fake does not hold the seeded orders and trades")
    return intents


def seed_journal(path: Path, server: FakeBinance, intents: list[tuple[Any, ...]]) -> None:
    """The run's journal: every intent and every ledger trade already journaled."""
    fills = [(f"{MARKET_ID}:{t.trade_id}", next(o.client_id for o in server.ledger.orders
                                               if o.order_id == t.order_id),
              SYMBOL, t.side.lower(), float(t.qty), float(t.price), float(t.commission),
              None) for t in server.ledger.trades]
    with Journal(path, mode="live", run=RUN, fsync=False) as journal:
        with journal.transaction("seed") as cur:
            cur.executemany("INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            intents)
            cur.executemany("INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fills)


def reconcile_once(config: Any, data: pd.DataFrame, journal: Path,
                   broker: Broker) -> tuple[float, Any]:
    """Seconds of ``Runner._reconcile`` on a fresh runner; and the runner (closed)."""
    from quantlab.live import ReplayFeed
    from quantlab.live.runner import Runner

    runner = Runner(config, feed=ReplayFeed(data), broker=broker, journal=journal,
                    verify=False)
    t0 = time.perf_counter()
    runner._reconcile()
    elapsed = time.perf_counter() - t0
    alerts = len(runner.journal.rows("alerts"))
    runner.close()
    check(alerts == 0, f"reconciliation raised {alerts} alert(s): journal != exchange")
    return elapsed, runner


def reconcile_scenario(server: FakeBinance, config: Any, data: pd.DataFrame, journal: Path, *,
                       runs: int, rate_limit: bool) -> dict[str, Any]:
    """Best/median of ``runs`` reconciliations, each on a fresh broker; request counts."""
    totals, loads, broker_part, requests = [], [], [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        broker = make_broker(server, rate_limit=rate_limit)   # loads the markets
        loads.append(time.perf_counter() - t0)
        before = sum(server.request_counts().values())
        elapsed, runner = reconcile_once(config, data, journal, broker)
        requests = sum(server.request_counts().values()) - before
        totals.append(elapsed)
        check(runner.cursor == len(server.ledger.trades),
              f"the runner saw {runner.cursor} trades; the ledger holds "
              f"{len(server.ledger.trades)}")
        broker_part.append(broker_calls(server, rate_limit) if not rate_limit else np.nan)
    return {"reconcile best s": min(totals), "reconcile median s": float(np.median(totals)),
            "broker calls median s": float(np.nanmedian(broker_part)) if not rate_limit
            else np.nan, "new broker + load_markets s": float(np.median(loads)),
            "HTTP requests": requests, "runs": runs}


def broker_calls(server: FakeBinance, rate_limit: bool) -> float:
    """The same three broker calls on a fresh broker, without the runner."""
    broker = make_broker(server, rate_limit=rate_limit)
    t0 = time.perf_counter()
    broker.fills_since(0)
    broker.positions()
    broker.open_orders()
    elapsed = time.perf_counter() - t0
    broker.close()
    return elapsed


def journal_part(server: FakeBinance, config: Any, data: pd.DataFrame, journal: Path, *,
                 runs: int) -> float:
    """Median seconds of ``_reconcile`` with the broker's answers replayed from memory."""
    broker = make_broker(server, rate_limit=False)
    fills, _ = broker.fills_since(0)
    replay = ReplayBroker(fills, broker.positions(), broker.open_orders(), broker.rules(SYMBOL))
    broker.close()
    check(len(replay.open_orders()) == len(server.ledger.open_orders()),
          "the broker's open orders differ from the ledger's")
    return float(np.median([reconcile_once(config, data, journal, replay)[0]
                            for _ in range(runs)]))


def part_reconcile(tmp: Path, *, runs: int, throttled_runs: int) -> pd.DataFrame:
    config, data = live_config(tmp)
    rows = []
    for resting, trades in ((100, 0), (100, 1000)):
        with fake_exchange(nodelay=True) as server:
            path = tmp / f"reconcile-{trades}.sqlite"
            seed_journal(path, server, seed_exchange(server, resting=resting, trades=trades))
            what = f"{resting} open orders, {trades} trades"
            row = reconcile_scenario(server, config, data, path, runs=runs, rate_limit=False)
            row["journal part median s"] = journal_part(server, config, data, path, runs=runs)
            rows.append({"ledger": what, "ccxt rate limiter": "off", **row})
            if throttled_runs:
                row = reconcile_scenario(server, config, data, path, runs=throttled_runs,
                                         rate_limit=True)
                rows.append({"ledger": what, "ccxt rate limiter": "on", **row,
                             "journal part median s": np.nan})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- main
def show(title: str, frame: pd.DataFrame, as_markdown: bool, digits: int) -> None:
    print(f"\n{title}\n")
    print(markdown(frame, digits) if as_markdown else frame.to_string(index=False))


def run_parts(tmp: Path, args: argparse.Namespace) -> None:
    """Run and print both parts (files go to ``tmp``)."""
    timed: list[tuple[str, Callable[[], pd.DataFrame], int]] = [
        ("Order round trip (ms per order)",
         lambda: part_round_trip(tmp, n=args.orders, warmup=args.warmup,
                                 slow_n=args.slow_orders), 3),
        ("Start-up reconciliation (Runner._reconcile, seconds)",
         lambda: part_reconcile(tmp, runs=args.runs, throttled_runs=args.throttled_runs), 4)]
    for title, part, digits in timed:
        t0 = time.perf_counter()
        frame = part()
        show(f"{title}, part took {time.perf_counter() - t0:.1f} s:", frame, args.markdown,
             digits)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--orders", type=int, default=500, help="timed orders per configuration")
    ap.add_argument("--warmup", type=int, default=20, help="orders excluded before timing")
    ap.add_argument("--slow-orders", type=int, default=100,
                    help="orders of the rate-limited and stock-fake rows (~50 ms each)")
    ap.add_argument("--runs", type=int, default=10, help="reconciliations per scenario")
    ap.add_argument("--throttled-runs", type=int, default=1,
                    help="reconciliations with ccxt's rate limiter on (0: skip)")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args(argv)
    for name, low in (("orders", 1), ("slow_orders", 1), ("runs", 1), ("warmup", 0),
                      ("throttled_runs", 0)):
        if getattr(args, name) < low:
            ap.error(f"--{name.replace('_', '-')} must be an integer >= {low}; got "
                     f"{getattr(args, name)}")
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    print(f"{started:%Y-%m-%d %H:%M} UTC, load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="ql-live-exchange-bench-") as folder:
        run_parts(Path(folder), args)
    print(f"\nload average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"total {(datetime.now(UTC) - started).total_seconds():.0f} s")


if __name__ == "__main__":
    main()

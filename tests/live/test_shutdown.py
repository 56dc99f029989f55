"""Shutdown policy (RELIABILITY.md behaviour 14): cancel, optionally flatten, journal the stop.

Oracles: the paper venue's own ledger (its SQLite file, reopened as a new ``PaperBroker``),
its request log (``PaperBroker.requests()``), and the journal's tables read back through a
separate read-only connection.
"""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from quantlab.backtest import backtest
from quantlab.live import ReplayFeed, load_config, run
from quantlab.live.brokers import PaperBroker
from quantlab.live.guard import HALTED
from quantlab.live.journal import Journal
from quantlab.live.runner import Runner
from quantlab.strategies import SmaCross
from tests.live.conftest import promoted

STRAT = SmaCross(fast=3, slow=8)


def _config(tmp_path, aapl, flatten: bool):
    path = promoted(tmp_path, STRAT, aapl, name=f"sd{int(flatten)}", fee_bps=5)
    doc = yaml.safe_load(path.read_text())
    doc["shutdown"]["flatten"] = flatten
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _long_bars(config, aapl) -> int:
    """Bars to run so that the run ends holding a long position (the backtest's first buy)."""
    orders = backtest(aapl, STRAT, load_config(config).backtest).orders
    return int(aapl.index.get_loc(orders[orders["side"] == "buy"]["time"].iloc[0])) + 1


def _venue(journal) -> PaperBroker:
    return PaperBroker(fee_bps=5, path=str(journal) + ".paper.sqlite")


def _journal_positions(journal) -> dict[str, float]:
    j = Journal(journal, readonly=True)
    out: dict[str, float] = {}
    for sym, side, size in j.conn.execute("SELECT symbol, side, size FROM fills").fetchall():
        out[sym] = out.get(sym, 0.0) + (size if side == "buy" else -size)
    j.close()
    return out


def test_flatten_is_journaled_and_a_restart_reconciles_flat(tmp_path, aapl):
    config = _config(tmp_path, aapl, flatten=True)
    journal = tmp_path / "j.sqlite"
    n = _long_bars(config, aapl)
    first = run(config, feed=ReplayFeed(aapl), journal=journal, max_bars=n, fsync=False)
    held = first.fills[~first.fills["client_id"].str.contains("flatten")]
    assert held["size"].where(held["side"] == "buy", -held["size"]).sum() > 0  # was long

    venue = _venue(journal)
    assert venue.positions() == {"AAPL": 0.0}
    assert _journal_positions(journal) == {"AAPL": 0.0}
    j = Journal(journal, readonly=True)
    flat = [r for r in j.rows("intents") if r["reason"] == "shutdown"]
    assert len(flat) == 1 and flat[0]["side"] == "sell" and flat[0]["reduce_only"] == 1
    cid = flat[0]["client_id"]
    assert flat[0]["seq"] == len(j.rows("intents")) - 1  # the run's next sequence number
    fills = [r for r in j.rows("fills") if r["client_id"] == cid]
    assert len(fills) == 1 and fills[0]["size"] == flat[0]["size"]
    assert [r["event"] for r in j.rows("orders") if r["client_id"] == cid] == ["fill"]
    assert j.rows("sessions")[-1]["event"] == "stop"
    j.close()
    venue_cash = venue.balances()["cash"]
    venue.close()

    # restart on the same journal: reconciles (flat), never resends the flatten
    second = run(config, feed=ReplayFeed(aapl), journal=journal, max_bars=3, fsync=False)
    assert not second.alerts["kind"].isin(["reconciliation"]).any()
    venue = _venue(journal)
    sent = Counter(c for k, c in venue.requests() if k == "submit")
    assert sent[cid] == 1 and max(sent.values()) == 1
    dec = Journal(journal, readonly=True)
    first_after = dec.rows("decisions")[n]  # the restart's first bar
    dec.close()
    if not [r for r in second.orders.itertuples() if r.bar_seq == n + 1]:
        # no trade on that bar: the restored account's cash is the venue's after the flatten
        assert first_after["cash"] == pytest.approx(venue_cash, rel=1e-12)
    venue.close()


def test_no_flatten_keeps_positions(tmp_path, aapl):
    config = _config(tmp_path, aapl, flatten=False)
    journal = tmp_path / "j.sqlite"
    run(config, feed=ReplayFeed(aapl), journal=journal, max_bars=_long_bars(config, aapl),
        fsync=False)
    venue = _venue(journal)
    assert venue.positions()["AAPL"] > 0
    assert _journal_positions(journal) == venue.positions()
    assert not [c for _, c in venue.requests() if "flatten" in c]
    venue.close()


def test_sigterm_halt_latches_and_persists(tmp_path, aapl):
    config = _config(tmp_path, aapl, flatten=False)
    journal = tmp_path / "j.sqlite"
    cfg = load_config(config)
    cfg.shutdown["on_sigterm"] = "halt"
    runner = Runner(cfg, feed=ReplayFeed(aapl), journal=journal, fsync=False)
    runner.start()
    runner.on_sigterm()
    runner.loop()
    runner.shutdown()
    runner.close()
    j = Journal(journal, readonly=True)
    assert j.latched() == ("sigterm", "SIGTERM received (policy: halt)")
    assert j.rows("sessions")[-1]["detail"] == "SIGTERM"
    j.close()
    # a new process on the same journal starts halted: no entry goes out
    res = run(config, feed=ReplayFeed(aapl), journal=journal, fsync=False)
    assert res.state == HALTED and (res.orders["side"] == "buy").sum() == 0
    assert backtest(aapl, STRAT, cfg.backtest).orders["side"].eq("buy").any()


class _RefusesFlatten(PaperBroker):
    """A paper venue that rejects the shutdown flatten's orders (e.g. below its minimum)."""

    def submit(self, order):
        if "flatten" in order.client_id:
            from quantlab.live.brokers import OrderAck

            self.conn.execute("INSERT INTO requests (kind, client_id, time) VALUES "
                              "('submit', ?, 0)", (order.client_id,))
            return OrderAck(order.client_id, "", "REJECTED", 0.0, "below the minimum notional")
        return super().submit(order)


def test_a_refused_flatten_leaves_the_account_as_the_venue(tmp_path, aapl):
    """A flatten the venue refuses is not voided from the account (the step never booked
    it): the account keeps the position the venue keeps."""
    config = _config(tmp_path, aapl, flatten=True)
    journal = tmp_path / "j.sqlite"
    broker = _RefusesFlatten(fee_bps=5, path=str(journal) + ".paper.sqlite")
    runner = Runner(load_config(config), feed=ReplayFeed(aapl), broker=broker, journal=journal,
                    fsync=False)
    try:
        runner.start()
        runner.loop(max_bars=_long_bars(config, aapl))
        held = broker.positions()["AAPL"]
        runner.shutdown()
        assert held > 0 and broker.positions()["AAPL"] == held          # still held
        assert runner.account.positions["AAPL"] == pytest.approx(held)  # no phantom void
        alerts = [r["kind"] for r in runner.journal.rows("alerts")]
        assert "reject" in alerts and "flatten" in alerts
    finally:
        runner.close()

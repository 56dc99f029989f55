"""Runner behaviours: market-data gate, guard and latch, kill switches, status, isolation."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from quantlab.backtest import backtest
from quantlab.live import JournalError, ReplayFeed, StartupError, load_config, run
from quantlab.live.brokers import PaperBroker
from quantlab.live.guard import HALTED, Guard, reduce_only_target
from quantlab.live.journal import Journal
from quantlab.live.runner import Runner
from quantlab.live.status import status
from quantlab.strategies import SmaCross
from tests.live.conftest import promoted

STRAT = SmaCross(fast=3, slow=8)


@pytest.fixture
def config(tmp_path, aapl):
    return promoted(tmp_path, STRAT, aapl, name="rt", fee_bps=5)


def test_bad_bars_give_no_order_and_an_alert(tmp_path, aapl, config):
    df = aapl.copy()
    clean = backtest(aapl, STRAT, load_config(config).backtest)
    # bad bars placed on the bars where the clean run trades (an order would go out there)
    trade_bars = [aapl.index.get_loc(t) - 1 for t in clean.orders["time"]]
    i_nan, i_inf, i_neg = trade_bars[2], trade_bars[4], trade_bars[6]
    df.iloc[i_nan, df.columns.get_loc("close")] = np.nan
    df.iloc[i_inf, df.columns.get_loc("high")] = np.inf
    df.iloc[i_neg, df.columns.get_loc("low")] = -1.0
    dup = df.iloc[[100]]
    back = df.iloc[[90]]
    rows = pd.concat([df.iloc[:101], dup, back, df.iloc[101:150], df.iloc[165:]])
    rows.attrs["symbol"] = "AAPL"
    stale_clock = pd.Timestamp("2030-01-01", tz="UTC")
    res = run(config, feed=ReplayFeed(rows), journal=tmp_path / "j.sqlite", fsync=False)
    alerts = res.alerts
    text = " | ".join(alerts["message"])
    for kind in ("nan price", "inf price", "non-positive price", "duplicate bar",
                 "out-of-order bar", "gap:"):
        assert kind in text, kind
    j = Journal(tmp_path / "j.sqlite", readonly=True)
    bars = j.frame("bars")
    bad = bars[bars["status"] != "ok"]
    assert len(bad) == 6  # 3 bad prices, duplicate, out of order (not stepped), gap (held)
    assert set(bad["status"]) == {"rejected", "hold"}
    intents = j.frame("intents")
    assert not set(intents["bar_seq"]) & set(bad["seq"])  # no order on any bad bar
    j.close()
    # stale data: a clock far past the bars -> no decision on any bar, an alert each
    class Late(ReplayFeed):
        def now(self):
            return stale_clock
    res2 = run(config, feed=Late(aapl), journal=tmp_path / "stale.sqlite", fsync=False)
    assert len(res2.orders) == 0
    assert res2.alerts["message"].str.contains("stale data").sum() == len(aapl)


def _first_long_then_exit(config, aapl):
    bt = backtest(aapl, STRAT, load_config(config).backtest)
    orders = bt.orders.reset_index(drop=True)
    k = int(orders.index[orders["side"] == "buy"][0])
    buy, sell = orders.loc[k, "time"], orders.loc[k + 1, "time"]
    return bt, aapl.index.get_loc(buy), aapl.index.get_loc(sell)


def test_latched_halt_survives_restart_and_exits_still_work(tmp_path, aapl, config):
    bt, i_buy, i_sell = _first_long_then_exit(config, aapl)
    journal = tmp_path / "j.sqlite"
    first = run(config, feed=ReplayFeed(aapl), journal=journal, max_bars=i_buy + 1, fsync=False)
    assert first.positions["AAPL"] > 0  # long when the halt comes
    j = Journal(journal)
    j.latch("operator test", source="cli")  # what `quantlab live halt` writes
    j.close()
    assert status(journal)["state"] == HALTED
    second = run(config, feed=ReplayFeed(aapl), journal=journal, fsync=False)
    assert status(journal)["latched"] == {"source": "cli", "reason": "operator test"}
    later = second.orders[second.orders["bar_seq"] > i_buy + 1]
    # the exit went out while halted (reduce-only), at the backtest's exit bar; no new entry
    assert list(later["side"]) == ["sell"] and list(later["reduce_only"]) == [1]
    assert pd.Timestamp(later["time"].iloc[0]) == aapl.index[i_sell]
    assert second.positions["AAPL"] == 0.0
    assert (bt.orders["time"] > aapl.index[i_sell]).any()  # the backtest did trade again
    # the operator resumes: trading starts again
    j = Journal(journal)
    j.resume("done")
    j.close()
    assert status(journal)["latched"] is None


def test_halt_file_latches(tmp_path, aapl, config):
    journal = tmp_path / "j.sqlite"
    (tmp_path / "j.sqlite.HALT").write_text("stop now")
    res = run(config, feed=ReplayFeed(aapl), journal=journal, fsync=False)
    assert len(res.orders) == 0 and res.state == HALTED
    assert status(journal)["latched"]["source"] == "file"


def test_an_exception_in_the_guard_halts(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    guard = Guard(j, halt_file=tmp_path / "HALT")

    def boom():
        raise RuntimeError("disk on fire")

    j.latched = boom  # the latch query fails
    guard.before_bar()
    assert guard.state == HALTED and "disk on fire" in guard.latch[1]
    # reduce-only while halted: entries held, exits pass
    out = guard.filter(np.array([1.0, 0.0, -1.0, 1.0]), np.array([0.0, 5.0, 5.0, 5.0]))
    np.testing.assert_array_equal(out, [np.nan, 0.0, 0.0, np.nan])
    np.testing.assert_array_equal(reduce_only_target(np.array([np.nan]), np.array([1.0])),
                                  [np.nan])
    j.close()


def test_order_rate_breaker_latches(tmp_path, aapl):
    path = promoted(tmp_path, STRAT, aapl, name="rate")
    import yaml

    doc = yaml.safe_load(path.read_text())
    doc["guard"].update({"max_orders_per_window": 2, "rate_window_bars": 30})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    res = run(path, feed=ReplayFeed(aapl), journal=tmp_path / "j.sqlite", fsync=False)
    assert res.state == HALTED
    assert status(tmp_path / "j.sqlite")["latched"]["source"] == "order_rate"
    assert (res.orders["side"] == "buy").sum() <= 2  # no entry after the breaker


def test_sigterm_policy_halt(tmp_path, aapl, config):
    runner = Runner(load_config(config), feed=ReplayFeed(aapl), journal=tmp_path / "j.sqlite",
                    fsync=False)
    runner.start()
    runner.on_sigterm()
    runner.config.shutdown["on_sigterm"] = "halt"
    runner.loop()
    runner.shutdown()
    assert runner.completed == 1 and runner.guard.latch[0] == "sigterm"
    sessions = runner.journal.rows("sessions")
    assert sessions[-1]["event"] == "stop" and sessions[-1]["detail"] == "SIGTERM"
    runner.close()


class LiveBroker(PaperBroker):
    mode = "live"
    authenticated = True


def test_paper_and_live_are_isolated(tmp_path, aapl, config):
    journal = tmp_path / "j.sqlite"
    run(config, feed=ReplayFeed(aapl), journal=journal, max_bars=5, fsync=False)
    with pytest.raises(JournalError, match="paper journal; a live run refuses it"):
        Journal(journal, mode="live")
    with pytest.raises(StartupError, match="paper config but the broker is a live broker"):
        run(config, feed=ReplayFeed(aapl), broker=LiveBroker(), journal=journal, fsync=False)


def test_status_reports_the_run(tmp_path, aapl, config):
    journal = tmp_path / "j.sqlite"
    res = run(config, feed=ReplayFeed(aapl), journal=journal, fsync=False)
    st = status(journal)
    assert st["bars"] == len(aapl) and st["last_bar"] == str(aapl.index[-1])
    assert st["orders"] == len(res.orders) and st["open_intents"] == 0
    assert st["equity"] == res.equity.iloc[-1]
    assert st["pnl"] == pytest.approx(res.equity.iloc[-1] - 100_000.0)
    assert st["positions"] == {"AAPL": res.positions.get("AAPL", 0.0)}
    assert st["stopped"] and st["state"] == "ACTIVE" and st["lag_seconds"] >= 0


# ---- fail closed on broker errors (RELIABILITY.md behaviour 3, INV-4, INV-5) ------------------

class AuthenticationError(Exception):
    """Named like ccxt's: the runner stops on it."""


class Scripted(PaperBroker):
    """The paper venue, with scripted faults on the n-th call of a method.

    ``"timeout"``: the venue takes the order, then the call raises (the send's outcome is
    unknown to the caller); ``"unknown"``: the venue takes it and answers UNKNOWN;
    ``"error"``: the call raises before reaching the venue; ``"auth"``: an authentication error.
    """

    def __init__(self, script, **kwargs):
        super().__init__(**kwargs)
        self.script, self.calls = script, {}

    def _fault(self, method):
        self.calls[method] = self.calls.get(method, 0) + 1
        return self.script.get((method, self.calls[method]))

    def submit(self, order):
        fault = self._fault("submit")
        if fault == "auth":
            raise AuthenticationError("binance: invalid api key")
        ack = super().submit(order)
        if fault == "timeout":
            raise TimeoutError("read timed out")
        return ack._replace(state="UNKNOWN", detail="status unknown") if fault == "unknown" \
            else ack

    def get_order(self, client_id):
        if self._fault("get_order") == "error":
            raise ConnectionError("connection reset")
        return super().get_order(client_id)

    def fills_since(self, cursor=0):
        if self._fault("fills_since") == "error":
            raise ConnectionError("connection reset")
        return super().fills_since(cursor)


def _venue(tmp_path, script, name="j"):
    return Scripted(script, fee_bps=5, path=str(tmp_path / f"{name}.sqlite.paper.sqlite"))


@pytest.mark.parametrize("fault", ["timeout", "unknown"])
def test_uncertain_send_is_resolved_by_client_id_never_resent(tmp_path, aapl, config, fault):
    clean = run(config, feed=ReplayFeed(aapl), journal=tmp_path / "clean.sqlite", fsync=False)
    broker = _venue(tmp_path, {("submit", 2): fault})
    res = run(config, feed=ReplayFeed(aapl), broker=broker, journal=tmp_path / "j.sqlite",
              fsync=False)
    venue = PaperBroker(fee_bps=5, path=str(tmp_path / "j.sqlite.paper.sqlite"))
    cid = res.orders["client_id"].iloc[1]
    submits = Counter(c for k, c in venue.requests() if k == "submit")
    assert submits[cid] == 1 and max(submits.values()) == 1  # on the venue exactly once
    j = Journal(tmp_path / "j.sqlite", readonly=True)
    events = [(r["event"], r["state"]) for r in j.rows("orders") if r["client_id"] == cid]
    assert ("unknown", "UNKNOWN") in events and ("resolved", "FILLED") in events
    assert len([r for r in j.rows("fills") if r["client_id"] == cid]) == 1
    alert = [r["message"] for r in j.rows("alerts") if r["kind"] == "order_unknown"]
    want = "TimeoutError" if fault == "timeout" else "UNKNOWN"
    assert len(alert) == 1 and want in alert[0] and cid in alert[0] and "intent 1" in alert[0]
    j.close()
    assert res.positions == venue.positions() == clean.positions
    np.testing.assert_array_equal(res.equity.to_numpy(), clean.equity.to_numpy())
    venue.close()


def test_unresolved_orders_and_broker_errors_allow_only_reduce_only(tmp_path, aapl, config):
    clean = run(config, feed=ReplayFeed(aapl), journal=tmp_path / "clean.sqlite", fsync=False)
    first_buy = int(clean.orders.index[clean.orders["side"] == "buy"][0])
    # the entry's send times out, then every query of it fails for 2 bars (3 attempts each)
    script = {("submit", first_buy + 1): "timeout"}
    # a healthy run sends fresh intents without querying first: the first get_order calls
    # are the timed-out order's resolution queries
    script.update({("get_order", k): "error" for k in range(1, 7)})
    broker = _venue(tmp_path, script)
    res = run(config, feed=ReplayFeed(aapl), broker=broker, journal=tmp_path / "j.sqlite",
              fsync=False)
    j = Journal(tmp_path / "j.sqlite", readonly=True)
    closed = [r for r in j.rows("alerts") if r["kind"] == "fail_closed"]
    assert len(closed) >= 2 and "still UNKNOWN" in closed[0]["message"]
    held = {pd.Timestamp(r["bar_time"]) for r in closed}
    intents = j.frame("intents").assign(time=lambda d: pd.to_datetime(d["time"]))
    # no order that opens or grows a position was decided on a fail-closed bar
    opening = intents[intents["reduce_only"] == 0]
    decided = [aapl.index[aapl.index.get_loc(t) - 1] for t in opening["time"]]
    assert not set(decided) & held
    assert not j.latched()  # nothing latched
    j.close()
    venue = PaperBroker(fee_bps=5, path=str(tmp_path / "j.sqlite.paper.sqlite"))
    assert max(Counter(c for k, c in venue.requests() if k == "submit").values()) == 1
    assert res.positions == venue.positions()
    venue.close()


def test_fills_query_failure_journals_each_fill_once(tmp_path, aapl, config):
    broker = _venue(tmp_path, {("fills_since", k): "error" for k in (20, 21, 60)})
    res = run(config, feed=ReplayFeed(aapl), broker=broker, journal=tmp_path / "j.sqlite",
              fsync=False)
    venue = PaperBroker(fee_bps=5, path=str(tmp_path / "j.sqlite.paper.sqlite"))
    vfills, _ = venue.fills_since(0)
    assert sorted(res.fills["trade_id"]) == sorted(f.trade_id for f in vfills)  # once each
    assert res.alerts["message"].str.contains("ConnectionError in broker.fills_since").sum() == 3
    assert res.positions == venue.positions()
    assert status(tmp_path / "j.sqlite")["positions"] == venue.positions()
    venue.close()


def test_authentication_error_stops_the_run(tmp_path, aapl, config):
    from quantlab.live import LiveError

    broker = _venue(tmp_path, {("submit", 1): "auth"})
    with pytest.raises(LiveError, match="AuthenticationError in broker.submit: intent 0"):
        run(config, feed=ReplayFeed(aapl), broker=broker, journal=tmp_path / "j.sqlite",
            fsync=False)
    j = Journal(tmp_path / "j.sqlite", readonly=True)
    fatal = [r["message"] for r in j.rows("alerts") if r["kind"] == "fatal"]
    assert len(fatal) == 1 and "client order id" in fatal[0]
    assert j.rows("sessions")[-1]["detail"] == "fatal: AuthenticationError"
    j.close()
    venue = PaperBroker(fee_bps=5, path=str(tmp_path / "j.sqlite.paper.sqlite"))
    assert not [c for k, c in venue.requests() if k == "submit"]
    venue.close()


def test_authentication_error_exits_the_cli_non_zero(tmp_path, config, monkeypatch):
    from quantlab.live.commands import main

    def refuse(self, order):
        raise AuthenticationError("binance: invalid api key")

    monkeypatch.setattr(PaperBroker, "submit", refuse)
    code = main(["live", "run", str(config), "--start", "2011-06", "--end", "2012-12",
                 "--journal", str(tmp_path / "cli.sqlite"), "--no-fsync"])
    assert code != 0
    assert status(tmp_path / "cli.sqlite")["bars"] < 300  # stopped at the first order

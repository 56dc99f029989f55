"""Runner behaviours: market-data gate, guard and latch, kill switches, status, isolation."""

from __future__ import annotations

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
    j.halt("operator test", source="cli")  # what `quantlab live halt` writes
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

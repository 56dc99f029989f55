"""Monitoring wired into ``run``: Prometheus metrics and the control API served beside the run,
alerts routed to a webhook (halts, heartbeat), and nothing left behind when the run ends.

The oracles are independent of the runner's own echo: the journal (read through its own
connection), a webhook receiver on 127.0.0.1 (what actually arrived), HTTP scrapes of the
served endpoints, ``threading.enumerate()`` and re-binding the ports.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

from quantlab.live import ReplayFeed, StartupError, run
from quantlab.live.brokers import ExchangeRules, PaperBroker
from quantlab.live.journal import Journal
from quantlab.strategies import SmaCross
from tests.live.conftest import promoted

STRAT = SmaCross(fast=3, slow=8)


class Hooked(ReplayFeed):
    """A replay whose hooks run after the runner processed bar k (``after[k]``), before bar k
    is yielded (``stall[k]`` seconds of silence), and when the bars are exhausted (``end``)."""

    def __init__(self, data, *, after: dict[int, Callable[[], None]] | None = None,
                 stall: dict[int, float] | None = None,
                 end: Callable[[], None] | None = None) -> None:
        super().__init__(data)
        self.after, self.stall, self.end = after or {}, stall or {}, end

    def bars(self, *, skip=0, after=None):
        for k, bar in enumerate(super().bars(skip=skip, after=after)):
            time.sleep(self.stall.get(k, 0.0))
            yield bar
            if k in self.after:
                self.after[k]()
        if self.end is not None:
            self.end()


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it receives."""

    def __init__(self) -> None:
        self.got: list[dict] = []
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - stdlib name
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def kinds(self) -> list[str]:
        return [a["kind"] for a in self.got]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def no_api_token(monkeypatch):
    monkeypatch.delenv("QUANTLAB_API_TOKEN", raising=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bindable(port: int) -> bool:
    """Whether a listener could bind the port again (none holds it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.is_alive() and t.ident is not None}


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "run"))
            out[(s.name, labels)] = s.value
    return out


def webhook(url: str, **options) -> dict:
    return {"alerts": {"sinks": [{"type": "webhook", "url": url, "timeout_s": 5}],
                       "min_interval_s": 0, **options}}


# ---------------------------------------------------------------- metrics and API
@pytest.mark.timeout(120)
def test_metrics_and_api_are_served_during_the_run_and_match_the_journal(tmp_path, aapl):
    config = promoted(tmp_path, STRAT, aapl, name="mw", fee_bps=5)
    journal = tmp_path / "j.sqlite"
    mport, aport = free_port(), free_port()
    seen: dict[str, object] = {}

    def scrape() -> None:  # after the last bar, while the run is still up
        seen["metrics"] = get(f"http://127.0.0.1:{mport}/metrics").decode()
        seen["status"] = json.loads(get(f"http://127.0.0.1:{aport}/api/status"))

    before = threads()
    res = run(config, feed=Hooked(aapl, end=scrape), journal=journal, fsync=False,
              metrics_port=mport, api_port=aport)
    m = samples(str(seen["metrics"]))
    j = Journal(journal, readonly=True)
    last = j.conn.execute("SELECT equity FROM decisions ORDER BY bar_seq DESC LIMIT 1").fetchone()
    n_fills = j.scalar("SELECT COUNT(*) FROM fills")
    n_intents = j.scalar("SELECT COUNT(*) FROM intents")
    position = json.loads(j.conn.execute("SELECT data FROM positions ORDER BY bar_seq DESC "
                                         "LIMIT 1").fetchone()[0])["AAPL"]
    j.close()
    assert n_fills > 4 and n_intents == n_fills
    assert m[("quantlab_live_equity", ())] == last[0]
    assert m[("quantlab_live_fills_total", ())] == n_fills
    assert m[("quantlab_live_orders_total", (("state", "FILLED"),))] == n_intents
    assert m[("quantlab_live_order_round_trip_seconds_count", ())] == n_intents  # one submit each
    assert m[("quantlab_live_bars_total", ())] == len(aapl)
    assert m[("quantlab_live_position", (("symbol", "AAPL"),))] == position
    assert m[("quantlab_live_reconciliation_drift", (("symbol", "AAPL"),))] == 0.0
    assert m[("quantlab_live_guard_state", ())] == 0.0
    assert seen["status"]["bars"] == len(aapl) == res.bars
    # nothing left behind: threads joined, both ports free again
    assert threads() <= before
    assert bindable(mport) and bindable(aport)


# ---------------------------------------------------------------- alerts
def _halt_by_cli(journal):
    def halt() -> None:  # what `quantlab live halt` writes, from another connection
        j = Journal(journal)
        j.latch("operator test", source="cli")
        j.close(checkpoint=False)
    return halt


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["file", "cli"])
def test_a_halt_during_the_run_reaches_the_webhook(tmp_path, aapl, receiver, how):
    config = promoted(tmp_path, STRAT, aapl, name="ha", monitoring=webhook(receiver.url))
    journal = tmp_path / "j.sqlite"
    hook = (_halt_by_cli(journal) if how == "cli"
            else lambda: (tmp_path / "j.sqlite.HALT").write_text("stop now"))
    before = threads()
    res = run(config, feed=Hooked(aapl, after={50: hook}), journal=journal, fsync=False)
    assert res.state == "HALTED"
    halts = [a for a in receiver.got if a["kind"] == "halt"]
    assert len(halts) == 1 and halts[0]["run"] == "ha"
    if how == "file":
        assert halts[0]["text"].startswith("HALTED by file") and "stop now" in halts[0]["text"]
        assert halts[0]["source"] == "halt"  # the journal's alert kind, routed as a listener
    else:
        assert "HALTED by cli: operator test (latched outside the runner" in halts[0]["text"]
    # the alert the webhook got is the one the journal holds (file) or names its latch (cli)
    j = Journal(journal, readonly=True)
    assert j.latched()[0] == how
    j.close()
    assert threads() <= before


@pytest.mark.timeout(120)
def test_a_stalled_feed_raises_a_heartbeat_alert(tmp_path, aapl, receiver):
    config = promoted(tmp_path, STRAT, aapl, name="hb",
                      monitoring={"heartbeat_s": 0.2, **webhook(receiver.url)})
    before = threads()
    start = time.monotonic()
    run(config, feed=Hooked(aapl.iloc[:60], stall={30: 1.2}), journal=tmp_path / "j.sqlite",
        fsync=False)
    assert time.monotonic() - start >= 1.2
    beats = [a for a in receiver.got if a["kind"] == "heartbeat"]
    assert 1 <= len(beats) <= 12
    assert max(a["age_s"] for a in beats) >= 0.2 and "no bar completed" in beats[0]["text"]
    assert threads() <= before


# ---------------------------------------------------------------- start-up failures leak nothing
class Coarse(PaperBroker):
    def rules(self, symbol):
        return ExchangeRules(1.0, 0.01, 0.0)  # whole shares: coarser than the config's lot 0


@pytest.mark.timeout(120)
def test_a_refused_start_leaves_no_thread_and_no_port(tmp_path, aapl, receiver):
    mport = free_port()
    config = promoted(tmp_path, STRAT, aapl, name="sf",
                      monitoring={"metrics_port": mport, **webhook(receiver.url)})
    before = threads()
    with pytest.raises(StartupError, match=r"-o lot_size=1"):
        run(config, feed=ReplayFeed(aapl), broker=Coarse(path=str(tmp_path / "v.sqlite")),
            journal=tmp_path / "j.sqlite", fsync=False)
    assert threads() <= before and bindable(mport)
    assert not (tmp_path / "j.sqlite").exists()
    # the API's port is taken: refused after the journal opened; still nothing left behind
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(StartupError, match=r"control API"):
            run(config, feed=ReplayFeed(aapl), journal=tmp_path / "k.sqlite", fsync=False,
                api_port=taken.getsockname()[1])
    assert threads() <= before and bindable(mport)

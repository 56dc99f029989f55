"""The control API and status page against a real uvicorn server on 127.0.0.1.

Every test serves the journal of a real paper run (SmaCross on bundled AAPL data, stopped
while long) with :func:`quantlab.live.api.start_in_thread` on a free loopback port and talks
to it with httpx. Expected numbers come from independent sources: the journal read with raw
``sqlite3`` and the paper venue's own ledger (``<journal>.paper.sqlite``), never from the
API's own answers. The browser test drives Debian's chromium over the DevTools protocol
(websocket-client), answering the page's real ``window.confirm`` dialog.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from quantlab.backtest import backtest
from quantlab.errors import InvalidParameterError
from quantlab.live import ReplayFeed, load_config, run
from quantlab.live.api import TOKEN_ENV, TokenBuckets, create_app, serve, start_in_thread
from quantlab.live.journal import Journal
from quantlab.live.runner import Runner
from quantlab.live.secrets import Secret
from quantlab.strategies import SmaCross
from tests.live.conftest import promoted

STRAT = SmaCross(fast=3, slow=8)
TOKEN = "test-token-" + "x" * 24
SECRET = Secret(TOKEN, name="TEST_API_TOKEN")
ROUTES = ["/api/status", "/api/positions", "/api/orders", "/api/pnl", "/api/alerts"]


# ---- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def setup(tmp_path_factory, aapl) -> dict[str, Any]:
    """A promoted config and, from its backtest, the first long entry and its exit bar."""
    folder = tmp_path_factory.mktemp("api")
    config = promoted(folder, STRAT, aapl, name="api", fee_bps=5)
    orders = backtest(aapl, STRAT, load_config(config).backtest).orders.reset_index(drop=True)
    k = int(orders.index[orders["side"] == "buy"][1])  # the second entry: trades before it
    return {"config": config, "i_buy": aapl.index.get_loc(orders.loc[k, "time"]),
            "i_sell": aapl.index.get_loc(orders.loc[k + 1, "time"]), "aapl": aapl}


@pytest.fixture
def journal(tmp_path, setup) -> Path:
    """A paper run stopped while long (the bar after the second entry)."""
    path = tmp_path / "j.sqlite"
    res = run(setup["config"], feed=ReplayFeed(setup["aapl"]), journal=path,
              max_bars=setup["i_buy"] + 1, fsync=False)
    assert res.positions["AAPL"] > 0
    return path


@pytest.fixture
def serve_api(tmp_path):
    """Start servers on 127.0.0.1:<free port>; every one is stopped at the end."""
    started: list[Any] = []

    def start(path: Path, token: Secret | None = SECRET, **options: Any) -> str:
        server, port = start_in_thread(path, token=token, **options)
        started.append(server)
        return f"http://127.0.0.1:{port}"

    yield start
    for server in started:
        assert server.stop(timeout=10.0)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def raw(path: Path, sql: str, *args: Any) -> list[tuple]:
    """Rows read with plain sqlite3 (read-only), independent of the code under test."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


# ---- auth, numbers, validation ---------------------------------------------------------
@pytest.mark.timeout(60)
def test_bearer_token_is_required_on_every_api_route(journal, serve_api):
    base = serve_api(journal)
    with httpx.Client(base_url=base, timeout=10) as c:
        for route in ROUTES:
            for headers in ({}, auth("wrong"), {"Authorization": "Bearer"}, {"Authorization": "Basic dTpw"},
                            {"Authorization": TOKEN}, auth(TOKEN + "x")):
                r = c.get(route, headers=headers)
                assert r.status_code == 401, (route, headers, r.text)
                assert r.headers["www-authenticate"].startswith("Bearer")
            assert c.get(route, headers=auth()).status_code == 200, route
            assert c.get(route, headers={"authorization": f"bearer {TOKEN}"}).status_code == 200
        for route in ("/api/halt", "/api/resume"):
            assert c.post(route, json={"reason": "x"}).status_code == 401
            assert c.post(route, json={"reason": "x"}, headers=auth("no")).status_code == 401
        health = c.get("/healthz")
        assert health.status_code == 200 and health.json() == {"ok": True}  # no data
        page = c.get("/")
        assert page.status_code == 200 and "<svg" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
    assert raw(journal, "SELECT COUNT(*) FROM halts") == [(0,)]  # refused POSTs wrote nothing


@pytest.mark.timeout(60)
def test_numbers_equal_the_journal_and_the_venue(journal, serve_api):
    base = serve_api(journal)
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as c:
        st = c.get("/api/status").json()
        pos = c.get("/api/positions").json()
        pnl = c.get("/api/pnl").json()
        orders = c.get("/api/orders", params={"limit": 5}).json()
        alerts = c.get("/api/alerts").json()
    seq, t, equity, cash, state = raw(journal, "SELECT bar_seq, time, equity, cash, state FROM "
                                      "decisions ORDER BY bar_seq DESC LIMIT 1")[0]
    assert (st["bars"], st["equity"], st["cash"], st["state"]) == (seq, equity, cash, state)
    assert st["state"] == "ACTIVE" and st["latched"] is None and st["lag_seconds"] >= 0
    assert pd_time(st["last_bar"]) == pd_time(t)
    # positions: the journal's row and the paper venue's own fills agree
    venue = raw(Path(str(journal) + ".paper.sqlite"),
                "SELECT SUM(CASE side WHEN 'buy' THEN size ELSE -size END) FROM fills")[0][0]
    (held,) = raw(journal, "SELECT data FROM positions ORDER BY bar_seq DESC LIMIT 1")[0]
    close = json.loads(raw(journal, "SELECT data FROM bars WHERE seq = ?", seq)[0][0])["close"]
    assert pos["bar_seq"] == seq and len(pos["positions"]) == 1
    (row,) = pos["positions"]
    assert row["symbol"] == "AAPL" and row["quantity"] == json.loads(held)["AAPL"]
    assert math.isclose(row["quantity"], venue, rel_tol=1e-12) and venue > 0
    assert row["price"] == close[0] and row["value"] == pytest.approx(venue * close[0])
    # the equity curve: one point per decision, the journal's values
    curve = raw(journal, "SELECT time, equity FROM decisions ORDER BY bar_seq")
    assert pnl["times"] == [r[0] for r in curve] and pnl["equity"] == [r[1] for r in curve]
    # average-cost PnL from the venue's fills closes against the account's equity
    assert pnl["realized"] + pnl["unrealized"] - pnl["fees"] == pytest.approx(
        equity - 100_000.0, rel=1e-9, abs=1e-6)
    venue_fees = raw(Path(str(journal) + ".paper.sqlite"), "SELECT SUM(fee) FROM fills")[0][0]
    assert pnl["fees"] == pytest.approx(venue_fees) and pnl["realized"] != 0.0
    # orders: the newest five intents, each FILLED in full on the venue
    newest = raw(journal, "SELECT client_id, side, size FROM intents ORDER BY rowid DESC LIMIT 5")
    assert [(o["client_id"], o["side"], o["size"]) for o in orders["orders"]] == newest
    assert orders["total"] == raw(journal, "SELECT COUNT(*) FROM intents")[0][0]
    venue_sizes = dict(raw(Path(str(journal) + ".paper.sqlite"),
                           "SELECT client_id, size FROM fills"))
    for o in orders["orders"]:
        assert o["state"] == "FILLED" and o["filled"] == venue_sizes[o["client_id"]]
    assert len(alerts["alerts"]) == raw(journal, "SELECT COUNT(*) FROM alerts")[0][0]


def pd_time(text: str) -> Any:
    import pandas as pd

    return pd.Timestamp(text)


@pytest.mark.timeout(60)
def test_bad_input_is_422_with_a_clear_message(journal, serve_api):
    base = serve_api(journal)
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as c:
        for value in ("0", "1001", "abc", "2.5"):
            r = c.get("/api/orders", params={"limit": value})
            assert r.status_code == 422, value
            detail = r.json()["detail"]
            assert detail.startswith("`limit` of GET /api/orders must be an integer between 1 "
                                     "and 1000; got ") and value in detail, detail
        assert c.get("/api/alerts", params={"limit": "-3"}).status_code == 422
        every = c.get("/api/orders", params={"limit": 1000}).json()
        assert len(every["orders"]) == every["total"] == len(raw(journal, "SELECT * FROM intents"))
        bodies = [{"reason": 5}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501},
                  {"reason": None}, {}, {"reason": "ok", "extra": 1}, ["reason"]]
        for body in bodies:
            r = c.post("/api/halt", json=body)
            assert r.status_code == 422, (body, r.text)
            assert "reason" in r.json()["detail"] or "extra" in r.json()["detail"], r.text
        r = c.post("/api/halt", content=b"{not json", headers={"Content-Type":
                                                                "application/json"})
        assert r.status_code == 422 and "JSON" in r.json()["detail"]
        r = c.post("/api/halt", json={"reason": 5})
        assert r.json()["detail"] == ('`reason` of POST /api/halt must be a non-empty string of '
                                      'at most 500 characters; got 5. Send JSON such as '
                                      '{"reason": "maintenance"}.')
    assert raw(journal, "SELECT COUNT(*) FROM halts") == [(0,)]  # nothing was latched


@pytest.mark.timeout(60)
def test_missing_journal_is_503_until_the_runner_creates_it(tmp_path, serve_api):
    base = serve_api(tmp_path / "later.sqlite")
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as c:
        r = c.get("/api/status")
        assert r.status_code == 503 and "does not exist" in r.json()["detail"]
        assert c.post("/api/halt", json={"reason": "x"}).status_code == 503
    assert not (tmp_path / "later.sqlite").exists()  # the API never creates a journal


# ---- halt and resume -------------------------------------------------------------------
@pytest.mark.timeout(90)
def test_halt_through_the_api_persists_across_a_restart(journal, setup, serve_api):
    base = serve_api(journal)
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as c:
        r = c.post("/api/halt", json={"reason": "api test halt"})
        assert r.status_code == 200
        assert c.get("/api/status").json()["state"] == "HALTED"
    j = Journal(journal, readonly=True)
    assert j.latched() == ("api", "api test halt")
    assert [(a["kind"], a["message"]) for a in j.rows("alerts")] == [
        ("halt", "HALTED by api: api test halt")]
    j.close()
    # the run continues from the journal: halted, only the exit goes out
    before = raw(journal, "SELECT COUNT(*) FROM intents")[0][0]
    second = run(setup["config"], feed=ReplayFeed(setup["aapl"]), journal=journal, fsync=False)
    later = raw(journal, "SELECT time, side, reduce_only FROM intents WHERE seq >= ?", before)
    assert [(s, ro) for _, s, ro in later] == [("sell", 1)]
    assert pd_time(later[0][0]) == setup["aapl"].index[setup["i_sell"]]
    assert second.positions["AAPL"] == 0.0 and second.state == "HALTED"
    assert raw(journal, "SELECT source, reason FROM halts ORDER BY id DESC LIMIT 1") == [
        ("api", "api test halt")]
    # resume through the API clears the latch
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as c:
        r = c.post("/api/resume", json={"reason": "all clear"})
        assert r.status_code == 200 and r.json() == {"was_latched": True, "latched": None}
    assert raw(journal, "SELECT action, source, reason FROM halts ORDER BY id") == [
        ("halt", "api", "api test halt"), ("resume", "api", "all clear")]
    j = Journal(journal, readonly=True)
    assert j.latched() is None
    j.close()


@pytest.mark.timeout(90)
def test_a_running_runner_picks_up_the_api_halt_at_its_next_bar(tmp_path, setup, serve_api):
    path = tmp_path / "live.sqlite"
    runner = Runner(load_config(setup["config"]), feed=ReplayFeed(setup["aapl"]), journal=path,
                    fsync=False)
    try:
        runner.start()
        runner.loop(max_bars=setup["i_buy"] + 1)
        assert runner.broker.positions()["AAPL"] > 0 and runner.guard.latch is None
        base = serve_api(path)  # beside the running runner, on the same journal
        r = httpx.post(f"{base}/api/halt", json={"reason": "from the api"}, headers=auth(),
                       timeout=10)
        assert r.status_code == 200
        assert runner.guard.latch is None  # not yet: the guard reads the latch per bar
        before = runner.intent_seq
        runner.loop(max_bars=1)
        assert runner.guard.latch == ("api", "from the api") and runner.guard.state == "HALTED"
        runner.loop()  # the rest of the feed, halted: only the exit goes out
        runner.shutdown()
        later = raw(path, "SELECT side, reduce_only FROM intents WHERE seq >= ?", before)
        assert later == [("sell", 1)] and runner.broker.positions()["AAPL"] == 0.0
    finally:
        runner.close()


# ---- rate limit, binding, secrets ------------------------------------------------------
@pytest.mark.timeout(60)
def test_rate_limit_answers_429_with_retry_after(journal, serve_api):
    base = serve_api(journal, rate_limit=(3, 60.0))
    with httpx.Client(base_url=base, timeout=10) as c:
        codes = [c.get("/api/status", headers=auth()).status_code for _ in range(2)]
        codes.append(c.get("/api/status", headers=auth("wrong")).status_code)  # counts too
        assert codes == [200, 200, 401]
        for headers in (auth(), auth("wrong"), {}):
            r = c.get("/api/status", headers=headers)
            assert r.status_code == 429, r.text
            assert r.headers["retry-after"] == "20"  # one token refills in 60/3 s
        assert c.get("/healthz").status_code == 200  # liveness is never limited


def test_token_buckets_refill_per_client():
    now = [100.0]
    buckets = TokenBuckets(2, 10.0, clock=lambda: now[0], max_clients=2)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 5.0]
    assert buckets.take("b") == 0.0  # another address has its own bucket
    now[0] += 2.5
    assert buckets.take("a") == pytest.approx(2.5)  # half a token refilled: 2.5 s to go
    now[0] += 2.5
    assert buckets.take("a") == 0.0
    buckets.take("c")  # a third client: the least recently seen ("b") is forgotten
    assert set(buckets._buckets) == {"a", "c"}


@pytest.mark.timeout(30)
def test_non_loopback_bind_without_token_is_refused(journal, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        with pytest.raises(InvalidParameterError, match=r"`host` of serve\(\) must be a "
                                                        r"loopback address") as err:
            serve(journal, host=host)
        assert repr(host) in str(err.value) and TOKEN_ENV in str(err.value)
    with pytest.raises(InvalidParameterError, match="start_in_thread"):
        start_in_thread(journal, host="0.0.0.0")
    with pytest.raises(InvalidParameterError, match="a Secret or None"):
        create_app(journal, token=TOKEN)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="rate_limit"):
        create_app(journal, token=None, rate_limit=(0, 60.0))
    with pytest.raises(InvalidParameterError, match="`port`"):
        serve(journal, port=70000)


@pytest.mark.timeout(60)
def test_loopback_without_token_serves_openly(journal, monkeypatch, serve_api):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    base = serve_api(journal, token=None)
    assert httpx.get(f"{base}/api/status", timeout=10).status_code == 200


@pytest.mark.timeout(60)
def test_canary_token_never_appears_in_responses_or_logs(journal, serve_api, monkeypatch,
                                                         caplog):
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv(TOKEN_ENV, canary)  # read by secret_from_env at start
    caplog.set_level(logging.DEBUG)
    base = serve_api(journal, token=None, log_level="debug")  # access log on
    seen: list[str] = []
    with httpx.Client(base_url=base, timeout=10) as c:
        answers = [c.get(route, headers=auth(canary)) for route in ROUTES]
        answers += [c.get("/api/status", headers=h) for h in ({}, auth("wrong"))]
        answers += [c.get("/api/orders", params={"limit": "x"}, headers=auth(canary)),
                    c.post("/api/halt", json={"reason": 1}, headers=auth(canary)),
                    c.post("/api/halt", json={"reason": "canary test"}, headers=auth(canary)),
                    c.post("/api/resume", json={"reason": "done"}, headers=auth(canary)),
                    c.get("/"), c.get("/healthz"), c.get("/api/nothing", headers=auth(canary))]
    assert answers[0].status_code == 200 and answers[5].status_code == 401
    for r in answers:
        seen.append(r.text)
        seen.extend(f"{k}: {v}" for k, v in r.headers.items())
    assert all(canary not in text for text in seen)
    assert caplog.records and "GET /api/status" in caplog.text  # the access log was captured
    assert canary not in caplog.text
    for name in ("j.sqlite", "j.sqlite-wal"):
        if (journal.parent / name).exists():
            assert canary.encode() not in (journal.parent / name).read_bytes()


# ---- the status page in a real browser -------------------------------------------------
class DevTools:
    """A DevTools-protocol client for one page: evaluate, and answer JavaScript dialogs."""

    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.n = 0
        self.dialogs: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> int:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        return self.n

    def wait(self, ident: int, deadline: float) -> dict[str, Any]:
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("method") == "Page.javascriptDialogOpening":
                self.dialogs.append(message["params"])
            if message.get("id") == ident:
                return message
        pytest.fail(f"DevTools: no answer to request {ident}")

    def evaluate(self, expression: str, deadline: float) -> Any:
        answer = self.wait(self.send("Runtime.evaluate", expression=expression,
                                     returnByValue=True, awaitPromise=True), deadline)
        result = answer.get("result", {})
        if "exceptionDetails" in result:
            pytest.fail(f"JavaScript error: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def answer_dialog(self, accept: bool, deadline: float, most: float = 20.0) -> dict[str, Any]:
        """Wait for the page's next dialog and accept or dismiss it.

        While a confirm dialog is open the page's JavaScript is blocked, so this only reads
        events (no evaluate) until the dialog opens.
        """
        import websocket

        end = min(deadline, time.monotonic() + most)
        self.ws.settimeout(0.5)
        try:
            while not self.dialogs and time.monotonic() < end:
                try:
                    message = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if message.get("method") == "Page.javascriptDialogOpening":
                    self.dialogs.append(message["params"])
        finally:
            self.ws.settimeout(30)
        if not self.dialogs:
            pytest.fail("the page opened no confirm dialog")
        dialog = self.dialogs.pop(0)
        self.wait(self.send("Page.handleJavaScriptDialog", accept=accept), deadline)
        return dialog

    def close(self) -> None:
        self.ws.close()


def wait_for(check: Any, what: str, deadline: float, most: float = 30.0) -> Any:
    """Poll ``check`` until truthy, for at most ``most`` seconds (and never past deadline)."""
    end = min(deadline, time.monotonic() + most)
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


PAGE_JS = """JSON.stringify({
  refreshed: Number(document.body.dataset.refreshed || 0),
  action: document.body.dataset.lastAction || null,
  badge: document.getElementById('state').textContent,
  points: (document.getElementById('equity_line')?.getAttribute('points') || '')
            .trim().split(/\\s+/).filter(Boolean).length,
  ylabel: document.querySelector('#equity_chart .ylabel')?.textContent || null,
  xlabel: document.querySelector('#equity_chart .xlabel')?.textContent || null,
  positions: [...document.querySelectorAll('#positions tbody tr')]
               .map(tr => [...tr.children].map(td => td.textContent)),
  orders: document.querySelectorAll('#orders tbody tr').length,
  message: document.getElementById('message').textContent,
})"""


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_status_page_in_chromium(journal, serve_api, tmp_path):
    import shutil

    if shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (`apt-get install chromium` enables this test)")
    pytest.importorskip("websocket", reason="websocket-client is not installed")
    from tests.report.test_lab import get_json

    base = serve_api(journal)
    deadline = time.monotonic() + 150.0
    profile = tmp_path / "profile"
    browser = subprocess.Popen(
        [shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--remote-allow-origins=*", "--window-size=1200,1000", f"{base}/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tools = None
    try:
        active = profile / "DevToolsActivePort"
        wait_for(lambda: active.exists() and active.read_text().strip(), "DevTools", deadline,
                 most=60.0)
        dev = int(active.read_text().split()[0])
        pages = wait_for(lambda: [t for t in get_json(f"http://127.0.0.1:{dev}/json") or []
                                  if t.get("type") == "page"], "the page target", deadline,
                 most=60.0)
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        tools.wait(tools.send("Page.enable"), deadline)

        def page() -> dict[str, Any]:
            return json.loads(tools.evaluate(PAGE_JS, deadline) or "{}")

        wait_for(lambda: tools.evaluate("document.readyState === 'complete' && "
                                        "!!document.getElementById('connect')", deadline),
                 "the status page to load", deadline)
        assert page()["refreshed"] == 0  # no token yet: nothing shown
        tools.evaluate(f"document.getElementById('token').value = {json.dumps(TOKEN)};"
                       "document.getElementById('connect').click(); 1", deadline)
        shown = wait_for(lambda: (p := page())["refreshed"] >= 1 and p, "the first refresh",
                         deadline)
        decisions = raw(journal, "SELECT COUNT(*) FROM decisions")[0][0]
        (held,) = raw(journal, "SELECT data FROM positions ORDER BY bar_seq DESC LIMIT 1")[0]
        qty = json.loads(held)["AAPL"]
        assert shown["points"] == decisions > 10
        assert shown["ylabel"] == "Equity (account currency)"
        assert shown["xlabel"] == "Bar time (UTC)"
        assert len(shown["positions"]) == 1 and shown["positions"][0][0] == "AAPL"
        assert float(shown["positions"][0][1].replace(",", "")) == pytest.approx(qty, abs=1e-6)
        assert shown["badge"] == "ACTIVE" and shown["orders"] > 0
        # Halt, confirm dismissed: nothing is sent
        tools.evaluate("setTimeout(() => document.getElementById('halt').click(), 0); 1",
                       deadline)
        dialog = tools.answer_dialog(False, deadline)
        assert dialog["type"] == "confirm" and "Halt trading?" in dialog["message"]
        wait_for(lambda: page()["action"] == "Halt:cancelled", "the cancel", deadline)
        time.sleep(0.5)
        assert raw(journal, "SELECT COUNT(*) FROM halts") == [(0,)]
        # Halt, confirm accepted: latched in the journal, the badge turns HALTED
        tools.evaluate("setTimeout(() => document.getElementById('halt').click(), 0); 1",
                       deadline)
        tools.answer_dialog(True, deadline)
        done = wait_for(lambda: (p := page())["action"] == "Halt:sent" and
                        p["badge"] == "HALTED" and p, "the halt", deadline)
        assert done["badge"] == "HALTED"
        assert raw(journal, "SELECT action, source, reason FROM halts") == [
            ("halt", "api", "operator (status page)")]
        # Resume, accepted: the latch is cleared
        tools.evaluate("setTimeout(() => document.getElementById('resume').click(), 0); 1",
                       deadline)
        tools.answer_dialog(True, deadline)
        wait_for(lambda: page()["action"] == "Resume:sent", "the resume", deadline)
        assert raw(journal, "SELECT action FROM halts ORDER BY id") == [("halt",), ("resume",)]
        # the token lives in sessionStorage, never in the page's HTML
        assert TOKEN not in (tools.evaluate("document.documentElement.outerHTML", deadline)
                             or TOKEN)
    finally:
        if tools is not None:
            tools.close()
        browser.terminate()
        try:
            browser.wait(timeout=20)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait(timeout=10)


# ---- fixes: Host check, NaN, halt exempt from the bucket, one transaction, points -------
@pytest.mark.timeout(60)
def test_without_token_a_foreign_host_header_is_refused(journal, monkeypatch, serve_api):
    """DNS rebinding: a page on evil.example rebound to 127.0.0.1 sends Host: evil.example."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    base = serve_api(journal, token=None)
    port = base.rsplit(":", 1)[1]
    with httpx.Client(base_url=base, timeout=10) as c:
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example"):
            assert c.get("/api/status", headers={"Host": host}).status_code == 400, host
            r = c.post("/api/resume", json={"reason": "x"}, headers={"Host": host})
            assert r.status_code == 400, host
            r = c.post("/api/halt", json={"reason": "x"}, headers={"Host": host})
            assert r.status_code == 400, host
        for host in (f"127.0.0.1:{port}", "127.0.0.1", f"localhost:{port}", f"[::1]:{port}"):
            assert c.get("/api/status", headers={"Host": host}).status_code == 200, host
    assert raw(journal, "SELECT COUNT(*) FROM halts") == [(0,)]  # refused POSTs wrote nothing


@pytest.mark.timeout(60)
def test_with_a_token_the_host_header_is_not_restricted(journal, serve_api):
    base = serve_api(journal)  # behind a reverse proxy the Host is the public name
    r = httpx.get(f"{base}/api/status", headers={**auth(), "Host": "quant.example.org"},
                  timeout=10)
    assert r.status_code == 200


def _append_rejected_bar(path: Path) -> tuple[int, dict[str, float]]:
    """Journal a bar as the runner does for a gate-rejected one: NaN close, positions held."""
    seq, held = raw(path, "SELECT bar_seq, data FROM positions ORDER BY bar_seq DESC LIMIT 1")[0]
    j = Journal(path)
    try:
        with j.transaction("bar") as cur:
            cur.execute("INSERT INTO bars VALUES (?, ?, ?, ?)",
                        (seq + 1, "2099-01-01 00:00:00", "rejected",
                         '{"open":[NaN],"high":[NaN],"low":[NaN],"close":[NaN],"volume":[NaN]}'))
            cur.execute("INSERT INTO positions VALUES (?, ?, ?)",
                        (seq + 1, "2099-01-01 00:00:00", held))
    finally:
        j.close(checkpoint=False)
    return seq + 1, json.loads(held)


@pytest.mark.timeout(60)
def test_a_nan_close_in_the_journal_is_null_not_a_500(journal, serve_api):
    seq, held = _append_rejected_bar(journal)
    base = serve_api(journal)
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as c:
        r = c.get("/api/positions")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["bar_seq"] == seq
        assert [(p["symbol"], p["quantity"]) for p in body["positions"]] == list(held.items())
        assert [(p["price"], p["value"]) for p in body["positions"]] == [(None, None)] * len(held)
        r = c.get("/api/pnl")
        assert r.status_code == 200, r.text
        pnl = r.json()
        assert pnl["unrealized"] is None  # long, marked at a NaN close
        equity = [e for (e,) in raw(journal, "SELECT equity FROM decisions ORDER BY bar_seq")]
        assert pnl["equity"] == equity
        assert c.get("/api/status").status_code == 200


@pytest.mark.timeout(60)
def test_halt_is_exempt_from_the_rate_limit_but_not_from_auth(journal, serve_api):
    base = serve_api(journal, rate_limit=(2, 600.0))
    with httpx.Client(base_url=base, timeout=10) as c:
        assert [c.get("/api/status", headers=auth()).status_code for _ in range(3)] == [
            200, 200, 429]  # the page's polling spent the bucket
        r = c.post("/api/halt", json={"reason": "stop now"}, headers=auth())
        assert r.status_code == 200, r.text
        assert raw(journal, "SELECT action, source, reason FROM halts") == [
            ("halt", "api", "stop now")]
        # a wrong token is not exempt (guessing stays throttled), nor is resume
        assert c.post("/api/halt", json={"reason": "x"}, headers=auth("wrong")).status_code \
            == 429
        assert c.post("/api/resume", json={"reason": "x"}, headers=auth()).status_code == 429
    assert raw(journal, "SELECT COUNT(*) FROM halts") == [(1,)]


@pytest.mark.timeout(60)
def test_api_halt_writes_the_latch_and_its_alert_in_one_transaction(journal, serve_api):
    txns = raw(journal, "SELECT MAX(txn) FROM txns")[0][0]
    base = serve_api(journal)
    r = httpx.post(f"{base}/api/halt", json={"reason": "one txn"}, headers=auth(), timeout=10)
    assert r.status_code == 200
    assert raw(journal, "SELECT kind FROM txns WHERE txn > ?", txns) == [("halt",)]
    assert raw(journal, "SELECT source, reason FROM halts") == [("api", "one txn")]
    assert raw(journal, "SELECT kind, message FROM alerts WHERE kind = 'halt'") == [
        ("halt", "HALTED by api: one txn")]


@pytest.mark.timeout(60)
def test_a_non_lock_sqlite_error_is_503_with_its_own_text(journal, serve_api):
    conn = sqlite3.connect(journal)  # a damaged journal: a table is gone
    conn.execute("DROP TABLE intents")
    conn.close()
    base = serve_api(journal)
    r = httpx.get(f"{base}/api/orders", headers=auth(), timeout=10)
    assert r.status_code == 503
    assert "no such table: intents" in r.json()["detail"]
    assert "busy" not in r.json()["detail"] and "retry-after" not in r.headers


@pytest.mark.timeout(60)
def test_pnl_points_downsamples_and_keeps_the_last_point_exact(journal, serve_api):
    curve = raw(journal, "SELECT time, equity, cash FROM decisions ORDER BY bar_seq")
    assert len(curve) > 20
    base = serve_api(journal)
    with httpx.Client(base_url=base, headers=auth(), timeout=10) as c:
        full = c.get("/api/pnl").json()  # default 2000 >= this run's bars: everything
        assert full["times"] == [t for t, _, _ in curve] and full["total_points"] == len(curve)
        small = c.get("/api/pnl", params={"points": 7}).json()
        assert len(small["times"]) == len(small["equity"]) == len(small["cash"]) == 7
        assert small["total_points"] == len(curve)
        assert (small["times"][0], small["equity"][0]) == curve[0][:2]
        assert (small["times"][-1], small["equity"][-1], small["cash"][-1]) == curve[-1]
        by_time = {t: e for t, e, _ in curve}
        assert all(by_time[t] == e for t, e in zip(small["times"], small["equity"]))
        assert small["pnl"] == full["pnl"] and small["realized"] == full["realized"]
        for bad in ("1", "20001", "x"):
            r = c.get("/api/pnl", params={"points": bad})
            assert r.status_code == 422 and "`points` of GET /api/pnl" in r.json()["detail"]


def test_status_page_says_a_failed_halt_was_not_sent_and_never_spreads_the_curve():
    page = (Path(__file__).parents[2] / "quantlab/live/status_page.html").read_text()
    assert "Halt NOT sent - press again" in page
    assert "Math.min(..." not in page and "Math.max(..." not in page

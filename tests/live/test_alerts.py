"""Alerts: webhook, Telegram and email delivered to local servers on 127.0.0.1; a dead sink
does not stop the others; dedupe and rate limit; background delivery; canary secrets never
appear in logs or exception text.

The oracles are the receiving servers (an ``http.server`` thread and an aiosmtpd
``Controller``): the tests assert on what they received, never on the router's echo.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from quantlab.errors import InvalidParameterError
from quantlab.live.alerts import (
    AlertDeliveryError,
    AlertRouter,
    EmailSink,
    TelegramSink,
    WebhookSink,
)
from quantlab.live.metrics import LiveMetrics
from quantlab.live.secrets import Secret, env_names, redact

TOKEN = "123456:CANARY-tg-token-5f1e9c"
PASSWORD = "CANARY-smtp-password-77ab"
AUTH = "Bearer CANARY-webhook-auth-3c2d"
CANARIES = (TOKEN, PASSWORD, AUTH)


# ---- local servers ----------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        record = {"path": self.path, "headers": dict(self.headers), "body": body}
        self.server.requests.append(record)  # type: ignore[attr-defined]
        if self.path.startswith("/redirect"):  # /redirect<code>: to the server's redirect_to
            self.send_response(int(self.path[len("/redirect"):len("/redirect") + 3]))
            self.send_header("Location", self.server.redirect_to)  # type: ignore[attr-defined]
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/slow"):
            time.sleep(0.3)
        if self.path.startswith("/fail"):
            self._answer(500, b'{"error": "boom"}')
        elif "/echo404" in self.path:  # a server that echoes the URL (token) in its error
            self._answer(404, f"not found: {self.path}".encode())
        else:
            self._answer(200, b'{"ok": true}')

    def do_GET(self) -> None:  # noqa: N802 - a followed 302 would arrive here
        self.server.requests.append({"path": self.path,  # type: ignore[attr-defined]
                                     "headers": dict(self.headers), "body": b""})
        self._answer(200, b'{"ok": true}')

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass


def _serve() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    yield from _serve()


@pytest.fixture
def other_host() -> Iterator[ThreadingHTTPServer]:
    """A second receiver: where a redirect points (another host, as far as urllib knows)."""
    yield from _serve()


def _url(server: ThreadingHTTPServer, path: str = "") -> str:
    return f"http://127.0.0.1:{server.server_port}{path}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "content": envelope.content})
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login, data.password))
            # handled=False: the server answers 535 itself on a failure
            return AuthResult(success=data.password == PASSWORD.encode(), handled=False)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, _Mailbox]]:
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port(),
                            authenticator=box.authenticate, auth_require_tls=False)
    controller.start()
    yield controller, box
    controller.stop()


def _wait(predicate: Any, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


# ---- each sink against its server -------------------------------------------------------
def test_webhook_posts_the_alert_as_json(receiver):
    sink = WebhookSink(_url(receiver, "/hook"), headers={"Authorization": Secret(AUTH)},
                       timeout_s=5)
    router = AlertRouter([sink], run="r1", background=False, clock=lambda: 1000.0)
    assert router.send("reject", "order q-1 rejected: min notional", client_id="q-1")
    (req,) = receiver.requests
    assert req["path"] == "/hook"
    assert req["headers"]["Authorization"] == AUTH
    assert req["headers"]["Content-Type"] == "application/json"
    body = json.loads(req["body"])
    assert body == {"kind": "reject", "text": "order q-1 rejected: min notional", "run": "r1",
                    "time": 1000.0, "client_id": "q-1"}


def test_telegram_calls_send_message_with_chat_and_text(receiver):
    sink = TelegramSink(Secret(TOKEN), -100123, base_url=_url(receiver))
    router = AlertRouter([sink], run="r1", background=False)
    assert router.send("halt", "HALTED by drawdown: limit breached")
    (req,) = receiver.requests
    assert req["path"] == f"/bot{TOKEN}/sendMessage"
    body = json.loads(req["body"])
    assert body["chat_id"] == -100123
    assert "HALTED by drawdown: limit breached" in body["text"]
    assert "[quantlab r1] halt" in body["text"]


def test_email_is_received_with_sender_recipients_subject_body(smtp):
    controller, box = smtp
    sink = EmailSink("127.0.0.1", controller.port, "bot@quantlab.test",
                     ["ops@quantlab.test", "pager@quantlab.test"], username="bot",
                     password=Secret(PASSWORD), timeout_s=5)
    router = AlertRouter([sink], run="r1", background=False)
    assert router.send("reconciliation", "reconciliation drift: 1.0 BTC/USDT", symbol="BTC")
    (msg,) = box.messages
    assert box.logins == [(b"bot", PASSWORD.encode())]
    assert msg["from"] == "bot@quantlab.test"
    assert msg["to"] == ["ops@quantlab.test", "pager@quantlab.test"]
    mail = message_from_bytes(msg["content"])
    assert mail["Subject"] == "[quantlab r1] reconciliation: reconciliation drift: 1.0 BTC/USDT"
    text = mail.get_payload(decode=True).decode()
    assert "reconciliation drift: 1.0 BTC/USDT" in text and "symbol: BTC" in text


# ---- failure isolation ------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_a_dead_sink_does_not_stop_the_others_and_is_counted(receiver, smtp):
    controller, box = smtp
    dead = WebhookSink(f"http://127.0.0.1:{_free_port()}/x", timeout_s=2, name="dead")
    failing = WebhookSink(_url(receiver, "/fail"), timeout_s=2, name="http500")
    tg = TelegramSink(Secret(TOKEN), "42", base_url=_url(receiver))
    mail = EmailSink("127.0.0.1", controller.port, "bot@q.test", ["ops@q.test"], timeout_s=5)
    metrics = LiveMetrics(run="r1")
    router = AlertRouter([dead, failing, tg, mail], run="r1", background=False,
                         metrics=metrics)
    assert router.send("error", "something broke") is True  # returned, did not raise
    paths = [r["path"] for r in receiver.requests]
    assert paths == ["/fail", f"/bot{TOKEN}/sendMessage"]
    assert len(box.messages) == 1
    assert router.stats["failures"] == {"dead": 1, "http500": 1}
    assert metrics.sample("quantlab_live_alert_failures_total", sink="dead") == 1.0
    assert metrics.sample("quantlab_live_alert_failures_total", sink="http500") == 1.0
    assert metrics.sample("quantlab_live_alerts_total", kind="error") == 1.0


@pytest.mark.timeout(30)
def test_a_silent_server_is_bounded_by_the_timeout():
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        sink = WebhookSink(f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout_s=0.5,
                           name="silent")
        router = AlertRouter([sink], background=False)
        t0 = time.monotonic()
        router.send("error", "x")
        elapsed = time.monotonic() - t0
    assert router.stats["failures"] == {"silent": 1}
    assert 0.4 <= elapsed < 3.0


def test_send_never_raises_on_bad_arguments(receiver):
    class Exploding:
        name = "exploding"

        def secrets(self) -> list[Secret]:
            return []

        def deliver(self, alert: Any) -> None:
            raise RuntimeError("sink bug")

    router = AlertRouter([Exploding(), WebhookSink(_url(receiver))], background=False)
    assert router.send("data", "stale data", weird=object()) is True
    assert len(receiver.requests) == 1  # the object field was sent as its str()
    assert router.stats["failures"] == {"exploding": 1}


# ---- dedupe and rate limit --------------------------------------------------------------
def test_identical_alerts_are_deduplicated_within_the_interval(receiver):
    now = [0.0]
    router = AlertRouter([WebhookSink(_url(receiver))], min_interval_s=60, background=False,
                         clock=lambda: now[0])
    sent = [router.send("data", "stale data") for _ in range(5)]
    assert sent == [True, False, False, False, False]
    assert router.send("data", "gap: 3 bars") is True          # other text: not a duplicate
    assert router.send("reject", "stale data") is True         # other kind: not a duplicate
    now[0] = 59.9
    assert router.send("data", "stale data") is False
    now[0] = 60.0
    assert router.send("data", "stale data") is True
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert [(b["kind"], b["text"]) for b in bodies] == [
        ("data", "stale data"), ("data", "gap: 3 bars"), ("reject", "stale data"),
        ("data", "stale data")]
    assert bodies[-1]["suppressed_repeats"] == 5
    assert "suppressed_repeats" not in bodies[0]
    assert router.stats["suppressed"] == 5


def test_rate_limit_caps_distinct_alerts_but_never_halts(receiver):
    now = [0.0]
    router = AlertRouter([WebhookSink(_url(receiver))], max_per_minute=3, background=False,
                         clock=lambda: now[0])
    results = [router.send("reject", f"order {i} rejected") for i in range(6)]
    assert results == [True, True, True, False, False, False]
    assert router.send("halt", "HALTED by order_rate") is True
    now[0] = 60.0
    assert router.send("reject", "order 99 rejected") is True
    texts = [json.loads(r["body"])["text"] for r in receiver.requests]
    assert texts == ["order 0 rejected", "order 1 rejected", "order 2 rejected",
                     "HALTED by order_rate", "order 99 rejected"]


def test_kinds_filter_routes_only_chosen_kinds(receiver):
    router = AlertRouter([WebhookSink(_url(receiver))], kinds=["halt"], background=False)
    assert router.send("reject", "r") is False
    assert router.send("halt", "h") is True
    assert [json.loads(r["body"])["kind"] for r in receiver.requests] == ["halt"]
    assert router.stats["filtered"] == 1


# ---- background delivery ----------------------------------------------------------------
@pytest.mark.timeout(30)
def test_background_send_returns_at_once_and_flush_delivers_in_order(receiver):
    router = AlertRouter([WebhookSink(_url(receiver, "/slow"), timeout_s=5)],
                         background=True, queue_size=3, min_interval_s=0)
    t0 = time.monotonic()
    accepted = [router.send("data", f"bar {i}") for i in range(6)]
    elapsed = time.monotonic() - t0
    assert elapsed < 0.25  # the receiver sleeps 0.3 s per request: send did not wait
    # one alert is taken by the worker, 3 wait in the queue: at least 2 of 6 dropped
    assert accepted.count(True) in (3, 4) and accepted[:3] == [True, True, True]
    assert router.close(timeout_s=10) is True
    texts = [json.loads(r["body"])["text"] for r in receiver.requests]
    assert texts == [f"bar {i}" for i, ok in enumerate(accepted) if ok]
    assert router.stats["dropped"] == accepted.count(False)
    assert router._worker is None
    assert router.send("data", "after close") is True  # delivered inline now
    assert json.loads(receiver.requests[-1]["body"])["text"] == "after close"


# ---- secrets ----------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_canary_secrets_never_reach_logs_or_exception_text(receiver, smtp, caplog):
    controller, _ = smtp
    caplog.set_level(logging.DEBUG)
    dead_port = _free_port()
    sinks = [
        TelegramSink(Secret(TOKEN), "1", base_url=f"http://127.0.0.1:{dead_port}",
                     timeout_s=2, name="tg-dead"),
        TelegramSink(Secret(TOKEN), "1", base_url=_url(receiver, "/echo404"), name="tg-404"),
        EmailSink("127.0.0.1", controller.port, "bot@q.test", ["ops@q.test"],
                  username="bot", password=Secret(PASSWORD + "-wrong"), timeout_s=5, name="mail-auth"),
        WebhookSink(_url(receiver, "/fail"), headers={"Authorization": Secret(AUTH)},
                    name="hook-500"),
    ]
    router = AlertRouter(sinks, background=False)
    router.send("error", "canary check")
    assert router.stats["failures"] == {"tg-dead": 1, "tg-404": 1, "mail-auth": 1,
                                        "hook-500": 1}
    # the echoing server did put the token in its answer: the redaction is exercised
    assert TOKEN in receiver.requests[0]["path"]
    errors = []
    for sink in sinks[:3]:
        with pytest.raises(AlertDeliveryError) as info:
            sink.deliver(router_alert(router))
        errors.append(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(s) for s in sinks]
    texts += [caplog.text, repr(router)] + [r.getMessage() for r in caplog.records]
    assert "***" in str(errors[1])  # the echoed token was replaced
    for text in texts:
        for canary in CANARIES:
            assert canary not in text, (canary, text)
    assert "tg-404" in caplog.text and "HTTP 404" in caplog.text


def router_alert(router: AlertRouter) -> Any:
    from quantlab.live.alerts import Alert

    return Alert("error", "direct", router.run, 0.0, {})


# ---- configuration and input checks -----------------------------------------------------
def test_from_config_reads_secrets_from_the_environment(receiver, smtp):
    controller, box = smtp
    env = {"TG_TOKEN": TOKEN, "SMTP_PW": PASSWORD, "HOOK_AUTH": AUTH}
    config = {
        "min_interval_s": 10, "kinds": ["halt", "reject"], "background": False,
        "sinks": [
            {"type": "webhook", "url": _url(receiver, "/h"), "headers_env":
             {"Authorization": "HOOK_AUTH"}},
            {"type": "telegram", "token_env": "TG_TOKEN", "chat_id": 7,
             "base_url": _url(receiver)},
            {"type": "email", "host": "127.0.0.1", "port": controller.port,
             "sender": "bot@q.test", "recipients": ["ops@q.test"], "username": "bot",
             "password_env": "SMTP_PW"},
        ]}
    router = AlertRouter.from_config(config, run="cfg", environ=env)
    assert router.send("halt", "HALTED") and not router.send("data", "not routed")
    assert [r["path"] for r in receiver.requests] == ["/h", f"/bot{TOKEN}/sendMessage"]
    assert receiver.requests[0]["headers"]["Authorization"] == AUTH
    assert len(box.messages) == 1 and box.logins == [(b"bot", PASSWORD.encode())]
    assert TOKEN not in repr(router) and router.min_interval_s == 10


def test_from_config_refuses_literal_secrets_unknown_options_and_unset_variables():
    with pytest.raises(InvalidParameterError, match="token_env: VARIABLE_NAME"):
        AlertRouter.from_config({"sinks": [{"type": "telegram", "token": TOKEN,
                                            "chat_id": 1}]})
    with pytest.raises(InvalidParameterError, match="Did you mean 'chat_id'"):
        AlertRouter.from_config({"sinks": [{"type": "telegram", "token_env": "X",
                                            "chatid": 1}]}, environ={"X": TOKEN})
    with pytest.raises(InvalidParameterError, match="Did you mean 'telegram'") as info:
        AlertRouter.from_config({"sinks": [{"type": "telegramm"}]})
    with pytest.raises(InvalidParameterError, match="TG_MISSING is not set") as info:
        AlertRouter.from_config({"sinks": [{"type": "telegram", "token_env": "TG_MISSING",
                                            "chat_id": 1}]}, environ={})
    assert TOKEN not in str(info.value)
    with pytest.raises(InvalidParameterError, match="Did you mean 'min_interval_s'"):
        AlertRouter.from_config({"min_interval": 5})


def test_input_checks_name_the_parameter_and_the_fix():
    with pytest.raises(InvalidParameterError, match=r"`url` of WebhookSink\(\) must be an "
                                                    r"http:// or https:// URL; got 'file:///etc"):
        WebhookSink("file:///etc/passwd")
    with pytest.raises(InvalidParameterError, match="Pass starttls=True"):
        EmailSink("smtp.example.com", 25, "a@b.c", ["d@e.f"], username="u",
                  password=Secret(PASSWORD))
    with pytest.raises(InvalidParameterError, match="secret_from_env"):
        TelegramSink(TOKEN, 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="Did you mean 'halt'"):
        AlertRouter([], kinds=["halts"], background=False)
    with pytest.raises(InvalidParameterError, match="`timeout_s` of WebhookSink"):
        WebhookSink("http://127.0.0.1:1/", timeout_s=0)


def test_journal_alerts_map_to_router_kinds(receiver):
    router = AlertRouter([WebhookSink(_url(receiver))], kinds=["data", "error"],
                         background=False)
    assert router.journal_alert("bad_bar", "bad bar (nan price)", "2026-01-05 10:00:00+00:00")
    assert router.journal_alert("order_unknown", "client order id q-3: unknown")
    assert router.journal_alert("something_new", "x")  # not listed: routed as "error"
    assert not router.journal_alert("reject", "order q-1 rejected")  # filtered out
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert [(b["kind"], b["source"]) for b in bodies] == [
        ("data", "bad_bar"), ("error", "order_unknown"), ("error", "something_new")]
    assert bodies[0]["bar_time"] == "2026-01-05 10:00:00+00:00"
    assert "bar_time" not in bodies[1]


# ---- fixes: redirects, url_env, halts never lost, close race, redaction -------------------
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_not_followed_nor_counted_delivered(receiver, other_host, code):
    receiver.redirect_to = _url(other_host, "/stolen")  # type: ignore[attr-defined]
    sink = WebhookSink(_url(receiver, f"/redirect{code}"),
                       headers={"Authorization": Secret(AUTH)})
    with pytest.raises(AlertDeliveryError, match=f"HTTP {code}.*redirect") as info:
        sink.deliver(_alert())
    assert AUTH not in str(info.value)
    router = AlertRouter([sink], background=False)
    router.send("halt", "HALTED by cli")
    assert other_host.requests == []  # nothing (and no Authorization header) went elsewhere
    assert len(receiver.requests) == 2  # the two POSTs, no follow-up
    assert router.stats["delivered"] == 0 and router.stats["failures"] == {"webhook": 1}


def _alert() -> Any:
    from quantlab.live.alerts import Alert

    return Alert("halt", "HALTED", "r", 1.0)


def test_url_env_keeps_a_credential_url_out_of_reprs_and_errors(receiver, caplog):
    path = "/echo404/T000/B000/CANARY-slack-url-secret"
    env = {"SLACK_URL": _url(receiver, path)}
    router = AlertRouter.from_config({"background": False, "sinks": [
        {"type": "webhook", "url_env": "SLACK_URL"}]}, environ=env)
    caplog.set_level(logging.DEBUG)
    assert router.send("halt", "HALTED") is True
    assert [r["path"] for r in receiver.requests] == [path]  # delivered to the secret URL
    assert router.stats["failures"] == {"webhook": 1}  # the server answered 404 with the path
    text = repr(router) + repr(router.sinks[0]) + caplog.text
    assert "CANARY" not in text and "echo404" not in text
    assert f"http://127.0.0.1:{receiver.server_port}" in repr(router.sinks[0])
    with pytest.raises(AlertDeliveryError) as info:
        router.sinks[0].deliver(_alert())
    assert "CANARY" not in str(info.value) and "404" in str(info.value)
    plain = WebhookSink(_url(receiver, "/hook/CANARY-path?key=CANARY-q"))
    assert "CANARY" not in repr(plain) and "CANARY" not in repr(AlertRouter([plain]))
    with pytest.raises(InvalidParameterError, match="exactly one of `url` and `url_env`"):
        AlertRouter.from_config({"sinks": [{"type": "webhook", "url": _url(receiver),
                                            "url_env": "SLACK_URL"}]}, environ=env)
    with pytest.raises(InvalidParameterError, match="`url` of WebhookSink") as bad:
        WebhookSink(Secret("ftp://CANARY-host/x", name="SLACK_URL"))
    assert "CANARY" not in str(bad.value) and "SLACK_URL" in str(bad.value)


def test_env_names_include_header_variables_of_a_mapping():
    settings = {"alerts": {"sinks": [
        {"type": "webhook", "url_env": "HOOK_URL",
         "headers_env": {"Authorization": "HOOK_AUTH", "X-Key": "HOOK_KEY"}},
        {"type": "telegram", "token_env": "TG"}]}}
    assert env_names(settings) == ["HOOK_URL", "HOOK_AUTH", "HOOK_KEY", "TG"]


def test_redact_replaces_the_longer_secret_first_and_equal_secrets_hash_alike():
    assert redact("key=abc123 other=abc", [Secret("abc"), Secret("abc123")]) == \
        "key=*** other=***"
    assert redact("key=abc123", ["abc", "abc123"]) == "key=***"
    a, b = Secret("same", name="A"), Secret("same", name="B")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1


def test_halt_alerts_are_never_deduplicated(receiver):
    router = AlertRouter([WebhookSink(_url(receiver))], background=False, clock=lambda: 5.0)
    assert [router.send("halt", "HALTED by api: x") for _ in range(3)] == [True] * 3
    assert [json.loads(r["body"])["text"] for r in receiver.requests] == [
        "HALTED by api: x"] * 3
    assert router.stats["suppressed"] == 0


class _GateSink:
    """A sink that records alerts and blocks in ``deliver`` until ``gate`` is set."""

    name = "gate"

    def __init__(self) -> None:
        self.gate, self.entered = threading.Event(), threading.Event()
        self.seen: list[tuple[str, str]] = []

    def secrets(self) -> list[Secret]:
        return []

    def deliver(self, alert: Any) -> None:
        self.entered.set()
        assert self.gate.wait(10.0)
        self.seen.append((alert.kind, alert.text))


@pytest.mark.timeout(30)
def test_a_halt_evicts_a_queued_alert_instead_of_being_dropped():
    sink = _GateSink()
    router = AlertRouter([sink], queue_size=1, min_interval_s=0)
    try:
        assert router.send("data", "first")
        assert sink.entered.wait(5.0)  # the worker is busy with "first"
        assert router.send("data", "queued")  # the queue is now full
        t0 = time.monotonic()
        assert router.send("halt", "HALTED by guard: x") is True
        assert time.monotonic() - t0 < 1.0  # evicted at once, no wait
    finally:
        sink.gate.set()
        assert router.close(timeout_s=10)
    assert sink.seen == [("data", "first"), ("halt", "HALTED by guard: x")]
    assert router.stats["dropped"] == 1 and router.stats["routed"] == 3


@pytest.mark.timeout(30)
def test_a_dropped_alert_is_not_remembered_so_its_retry_goes_out():
    sink = _GateSink()
    router = AlertRouter([sink], queue_size=1, min_interval_s=300, clock=lambda: 0.0)
    try:
        assert router.send("halt", "HALTED by a")
        assert sink.entered.wait(5.0)
        assert router.send("halt", "HALTED by b")  # queued: the queue is full of halts
        t0 = time.monotonic()
        assert router.send("halt", "HALTED by c") is False  # waited, then dropped
        assert 1.5 < time.monotonic() - t0 < 5.0
        assert router.send("data", "stale") is False  # dropped (not remembered either)
        sink.gate.set()
        assert router.flush(10)
        assert router.send("halt", "HALTED by c") is True  # the retry is not a duplicate
        assert router.flush(10)
        assert router.send("data", "stale") is True
    finally:
        sink.gate.set()
        assert router.close(timeout_s=10)
    assert sink.seen == [("halt", "HALTED by a"), ("halt", "HALTED by b"),
                         ("halt", "HALTED by c"), ("data", "stale")]
    assert router.stats["dropped"] == 2


@pytest.mark.timeout(30)
def test_an_alert_queued_behind_the_close_sentinel_is_still_delivered():
    """The race: send() read the queue, close() put its sentinel, then send() put the alert."""
    sink = _GateSink()
    router = AlertRouter([sink], queue_size=5, min_interval_s=0)
    q, worker = router._queue, router._worker
    assert q is not None and worker is not None
    assert router.send("data", "first") and sink.entered.wait(5.0)
    q.put(None)  # close()'s sentinel ...
    assert router.send("data", "late")  # ... and the racing send() behind it
    sink.gate.set()
    worker.join(10.0)
    assert not worker.is_alive()
    assert sink.seen == [("data", "first"), ("data", "late")]
    assert router.flush(1.0)  # nothing left pending

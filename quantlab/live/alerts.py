"""Alerts of a live run: a router that deduplicates, and webhook, Telegram and email sinks.

The runner calls ``router.send(kind, text, **fields)`` on a halt, a reject, a
reconciliation failure or drift, bad/stale/gapped data, a missed heartbeat, a foreign order
or an error. The router delivers the alert to every sink that wants its kind.

Design decisions
----------------
* **Never raise into the caller.** An alert channel that is down must not crash the runner
  (which fails closed on its own terms, RELIABILITY.md INV-4/INV-5): a sink's failure is
  logged (one line, redacted), counted per sink (:attr:`AlertRouter.stats`, and
  ``quantlab_live_alert_failures_total`` when a :class:`~quantlab.live.metrics.LiveMetrics`
  is given), and the other sinks are still tried. Even a bad argument to :meth:`send` is
  logged, not raised.
* **Off the runner's thread by default.** With ``background=True`` (default) ``send`` puts
  the alert on a bounded queue and returns at once; one daemon thread delivers. A full queue
  drops the alert (counted as ``dropped``), except a ``halt``: it evicts the oldest queued
  non-halt alert, or waits up to :data:`HALT_ENQUEUE_S` for room. :meth:`flush` and
  :meth:`close` wait, bounded; an alert a racing ``send`` queued behind ``close``'s stop
  sentinel is still delivered.
  ``background=False`` delivers inline (scripts, tests); each sink's own ``timeout_s``
  then bounds the wait.
* **Deduplicated and rate-limited.** An alert identical to one sent less than
  ``min_interval_s`` ago (same kind and text) is suppressed and counted; the next one that
  goes out says how many were suppressed. Beyond ``max_per_minute`` distinct alerts in 60 s
  the rest are suppressed too. ``halt`` alerts are never deduplicated nor rate-limited. An
  alert is remembered for deduplication only once it was queued (or delivered inline): a
  dropped alert sent again is not suppressed as a duplicate.
* **Secrets stay secret.** The Telegram token is part of the URL path and the SMTP password
  is sent at login; both are :class:`~quantlab.live.secrets.Secret`. A sink's failure is
  re-raised as :class:`AlertDeliveryError` whose text has every secret value replaced by
  ``***`` and no exception chain (``from None``), and the router logs only that text, never a
  traceback. Secrets come from environment variables in :meth:`AlertRouter.from_config`:
  a config file names variables (``token_env``), never holds values.
* **Only http(s) URLs** (urllib would also open ``file://``), and no SMTP password over a
  cleartext connection to a non-loopback host (``starttls=True`` is required).
* **Redirects are refused.** urllib would re-send a POST answered by 302/303 as a body-less
  GET (counted delivered) and forward the ``Authorization`` header to the new host; any
  3xx answer is an :class:`AlertDeliveryError` instead.
* **A webhook URL can be the credential** (Slack, Discord): ``url_env`` reads it from the
  environment as a :class:`Secret`; reprs show only ``scheme://host``.

Wiring into the runner (a few lines): every alert the runner journals goes out, its
journal kind mapped to a router kind by :data:`JOURNAL_KINDS` (``bad_bar`` -> ``data``,
``order_unknown`` -> ``error``, ...)::

    router = AlertRouter.from_config(config.raw.get("alerts") or {}, run=config.name,
                                     metrics=metrics)
    ...  # after each ``journal.alert(kind, text, bar_time)`` (or as a journal listener):
    router.journal_alert(kind, text, bar_time)
    ...  # at shutdown, after the last alert:
    router.close(timeout_s=10)
"""

from __future__ import annotations

import json
import logging
import queue
import smtplib
import ssl
import threading
import time as _time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formatdate
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlsplit

from quantlab._validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_options,
    did_you_mean,
    message,
)
from quantlab.errors import InvalidParameterError, QuantlabError
from quantlab.live.metrics import ALERT_KINDS, is_loopback
from quantlab.live.secrets import Secret, redact, secret_from_env

if TYPE_CHECKING:
    from quantlab.live.metrics import LiveMetrics

__all__ = ["Alert", "AlertSink", "AlertRouter", "AlertDeliveryError", "WebhookSink",
           "TelegramSink", "EmailSink", "KINDS", "JOURNAL_KINDS"]

#: The kinds the runner emits.
KINDS = ALERT_KINDS
#: The runner's journal alert kinds -> the router's kinds (:meth:`AlertRouter.journal_alert`);
#: a kind not listed goes out as "error", its own name in the field ``source``.
JOURNAL_KINDS: Mapping[str, str] = MappingProxyType({
    "halt": "halt", "flatten": "halt", "reject": "reject", "reconciliation": "reconciliation",
    "fee_drift": "reconciliation", "data": "data", "bad_bar": "data", "heartbeat": "heartbeat",
    "foreign_order": "foreign_order", "order_unknown": "error", "broker_error": "error",
    "fail_closed": "error", "fatal": "error", "error": "error"})
log = logging.getLogger("quantlab.live.alerts")
_TELEGRAM_MAX = 4096
#: Seconds a halt alert waits for room in a full queue (after evicting a non-halt alert).
HALT_ENQUEUE_S = 2.0
_DEDUPE_MAX = 1024


class AlertDeliveryError(QuantlabError, ConnectionError):
    """A sink could not deliver an alert (the message is redacted of every secret)."""


@dataclass(frozen=True)
class Alert:
    """One alert: what happened (``kind``), the operator's text, and structured fields."""

    kind: str
    text: str
    run: str = ""
    time: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of a webhook: ``kind, text, run, time`` and the fields."""
        return {**{k: _jsonable(v) for k, v in self.fields.items()}, "kind": self.kind,
                "text": self.text, "run": self.run, "time": self.time}

    def subject(self) -> str:
        """A one-line subject: ``[quantlab <run>] <kind>: <first line of text>``."""
        first = self.text.splitlines()[0] if self.text else ""
        first = first if len(first) <= 100 else first[:97] + "..."
        return f"[quantlab {self.run}] {self.kind}: {first}" if self.run else \
            f"[quantlab] {self.kind}: {first}"

    def body(self) -> str:
        """The text followed by one ``key: value`` line per field."""
        lines = [self.text, ""] + [f"{k}: {v}" for k, v in self.fields.items()]
        return "\n".join(lines).rstrip() + "\n"


def _describe(exc: BaseException) -> str:
    """``Class: text`` of an exception (just the text for our own delivery errors)."""
    return str(exc) if isinstance(exc, AlertDeliveryError) else f"{type(exc).__name__}: {exc}"


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


class AlertSink(Protocol):
    """What a sink provides: a ``name``, its ``secrets`` and ``deliver`` (raises on failure)."""

    name: str

    def secrets(self) -> list[Secret]:
        """The secrets to redact from this sink's errors."""
        ...

    def deliver(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise."""
        ...


def _check_url(name: str, url: Any, caller: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameterError(message(name, caller, "an http:// or https:// URL", url))
    return str(url).rstrip("/")


def _check_timeout(value: Any, caller: str) -> float:
    return check_float("timeout_s", value, caller=caller, minimum=0.0, exclusive_minimum=True)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: urllib would re-send a 302/303 as a GET without the alert and
    forward the ``Authorization`` header to whatever host the answer names."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None  # urllib then raises HTTPError with the 3xx code


def _post_json(url: str, body: dict[str, Any], headers: Mapping[str, str],
               timeout_s: float) -> None:
    """POST ``body`` as JSON; raise on a non-2xx answer (the body's start in the message).

    A 3xx answer is a failure too (redirects are never followed).
    """
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    opener = urllib.request.build_opener(_RefuseRedirects)
    try:
        with opener.open(request, timeout=timeout_s) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise AlertDeliveryError(
                f"HTTP {exc.code} {exc.reason}: the alert endpoint answered with a redirect, "
                "which is refused (the alert and its headers are never re-sent elsewhere); "
                "configure the final URL.") from None
        detail = exc.read(300).decode("utf-8", "replace") if exc.fp is not None else ""
        raise AlertDeliveryError(f"HTTP {exc.code} {exc.reason}: {detail}".strip()) from None


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what a repr may show (never a path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class WebhookSink:
    """POST each alert as JSON (``kind, text, run, time`` and the fields) to ``url``.

    Parameters
    ----------
    url : str or Secret - an http(s) URL (Slack and Mattermost incoming webhooks read
        ``text``). Pass a :class:`Secret` when the URL itself is the credential (Slack,
        Discord): it is then redacted from every error like any other secret.
    headers : dict, optional - extra headers; a value may be a :class:`Secret` (e.g. an
        ``Authorization`` token), revealed only when sending.
    timeout_s : float, default 5.0 - per request.
    name : str, default "webhook"

    Notes
    -----
    Redirects are refused (a 3xx answer is a delivery failure): following one would re-send
    the ``Authorization`` header to another host and, for 302/303, drop the alert's body.
    The ``repr`` shows only the URL's scheme and host.
    """

    def __init__(self, url: str | Secret, *, headers: Mapping[str, str | Secret] | None = None,
                 timeout_s: float = 5.0, name: str = "webhook") -> None:
        if isinstance(url, Secret):
            try:
                checked = _check_url("url", url.reveal(), "WebhookSink")
            except InvalidParameterError:  # the message would show the secret URL
                raise InvalidParameterError(message(
                    "url", "WebhookSink", "an http:// or https:// URL", f"<hidden {url!r}>",
                    f"Set {url.name or 'the variable'} to the full https:// URL.")) from None
            self._url: str | Secret = Secret(checked, name=url.name)
        else:
            self._url = _check_url("url", url, "WebhookSink")
        self.headers = dict(headers or {})
        self.timeout_s = _check_timeout(timeout_s, "WebhookSink")
        self.name = name

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the URL (safe to show)."""
        return _origin(_reveal(self._url))

    def secrets(self) -> list[Secret]:
        out = [v for v in self.headers.values() if isinstance(v, Secret)]
        if isinstance(self._url, Secret):
            parts = urlsplit(self._url.reveal())
            tail = parts.path + (f"?{parts.query}" if parts.query else "")
            out.append(self._url)
            if len(tail) > 1:  # an error may quote only the path (Slack's token is in it)
                out.append(Secret(tail, name=self._url.name))
        return out

    def deliver(self, alert: Alert) -> None:
        headers = {k: _reveal(v) for k, v in self.headers.items()}
        try:
            _post_json(_reveal(self._url), alert.to_dict(), headers, self.timeout_s)
        except Exception as exc:  # the URL or a header may be a secret: redact, no chain
            raise AlertDeliveryError(redact(_describe(exc), self.secrets())) from None

    def __repr__(self) -> str:
        return f"WebhookSink({self.origin!r}, name={self.name!r})"


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value)


class TelegramSink:
    """Send each alert to a Telegram chat with the Bot API's ``sendMessage``.

    Parameters
    ----------
    token : Secret - the bot token (from ``secret_from_env("TELEGRAM_TOKEN")``).
    chat_id : str or int - the chat (or channel ``@name``) to write to.
    base_url : str, default "https://api.telegram.org" - overridable for tests.
    timeout_s : float, default 5.0
    name : str, default "telegram"

    Notes
    -----
    The request is ``POST {base_url}/bot<token>/sendMessage`` with JSON ``chat_id`` and
    ``text`` (plain text, cut at Telegram's 4096 characters). The token is in the URL path,
    so every error text is redacted of it before it leaves the sink.
    """

    def __init__(self, token: Secret, chat_id: str | int, *,
                 base_url: str = "https://api.telegram.org", timeout_s: float = 5.0,
                 name: str = "telegram") -> None:
        if not isinstance(token, Secret):
            raise InvalidParameterError(message(
                "token", "TelegramSink", "a Secret", type(token).__name__,
                "Read it with quantlab.live.secrets.secret_from_env('TELEGRAM_TOKEN')."))
        if isinstance(chat_id, bool) or not isinstance(chat_id, str | int) or chat_id == "":
            raise InvalidParameterError(message("chat_id", "TelegramSink",
                                                "a chat id (int or non-empty str)", chat_id))
        self.token = token
        self.chat_id = chat_id
        self.base_url = _check_url("base_url", base_url, "TelegramSink")
        self.timeout_s = _check_timeout(timeout_s, "TelegramSink")
        self.name = name

    def secrets(self) -> list[Secret]:
        return [self.token]

    def deliver(self, alert: Alert) -> None:
        text = f"{alert.subject()}\n{alert.body()}"
        body = {"chat_id": self.chat_id, "text": text[:_TELEGRAM_MAX],
                "disable_web_page_preview": True}
        url = f"{self.base_url}/bot{self.token.reveal()}/sendMessage"
        try:
            _post_json(url, body, {}, self.timeout_s)
        except Exception as exc:  # the URL holds the token: redact, drop the chain
            raise AlertDeliveryError(redact(_describe(exc), [self.token])) from None

    def __repr__(self) -> str:
        return f"TelegramSink(chat_id={self.chat_id!r}, base_url={self.base_url!r})"


class EmailSink:
    """Send each alert as an email through an SMTP server (:mod:`smtplib`).

    Parameters
    ----------
    host : str
    port : int
    sender : str - the From address.
    recipients : list of str - the To addresses (at least one).
    username : str, optional - log in when given (needs ``password``).
    password : Secret, optional
    starttls : bool, default False - upgrade the connection with STARTTLS (certificate
        verified). Required when a password is sent to a non-loopback host.
    timeout_s : float, default 10.0 - per connection and command.
    name : str, default "email"
    """

    def __init__(self, host: str, port: int, sender: str, recipients: Sequence[str], *,
                 username: str | None = None, password: Secret | None = None,
                 starttls: bool = False, timeout_s: float = 10.0, name: str = "email") -> None:
        caller = "EmailSink"
        if not isinstance(host, str) or not host:
            raise InvalidParameterError(message("host", caller, "a host name", host))
        self.host = host
        self.port = check_int("port", port, caller=caller, minimum=1, maximum=65535)
        self.sender = _check_address("sender", sender)
        if isinstance(recipients, str) or not recipients:
            raise InvalidParameterError(message("recipients", caller,
                                                "a non-empty list of addresses", recipients))
        self.recipients = [_check_address("recipients", r) for r in recipients]
        self.starttls = check_bool("starttls", starttls, caller=caller)
        self.timeout_s = _check_timeout(timeout_s, caller)
        self.username, self.password = _check_login(username, password, host, self.starttls)
        self.name = name

    def secrets(self) -> list[Secret]:
        return [self.password] if self.password is not None else []

    def message(self, alert: Alert) -> EmailMessage:
        """The email of ``alert`` (From, To, Date, Subject, plain-text body)."""
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(localtime=False)
        msg["Subject"] = alert.subject()
        msg.set_content(alert.body())
        return msg

    def deliver(self, alert: Alert) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None and self.password is not None:
                    smtp.login(self.username, self.password.reveal())
                smtp.send_message(self.message(alert), self.sender, self.recipients)
        except Exception as exc:
            raise AlertDeliveryError(redact(_describe(exc), self.secrets())) from None

    def __repr__(self) -> str:
        return f"EmailSink({self.host!r}, {self.port}, to={self.recipients!r})"


def _check_address(name: str, value: Any) -> str:
    if not isinstance(value, str) or "@" not in value or "\n" in value or "\r" in value:
        raise InvalidParameterError(message(name, "EmailSink", "an email address", value))
    return value


def _check_login(username: Any, password: Any, host: str,
                 starttls: bool) -> tuple[str | None, Secret | None]:
    caller = "EmailSink"
    if password is not None and not isinstance(password, Secret):
        raise InvalidParameterError(message(
            "password", caller, "a Secret or None", type(password).__name__,
            "Read it with quantlab.live.secrets.secret_from_env('SMTP_PASSWORD')."))
    if (username is None) != (password is None):
        raise InvalidParameterError(message("username", caller, "given together with password",
                                            username, "Pass both, or neither."))
    if password is not None and not starttls and not is_loopback(host):
        raise InvalidParameterError(message(
            "starttls", caller, "True when a password is sent to a non-loopback host", starttls,
            "Pass starttls=True; a password must not cross the network in clear."))
    return username, password


class AlertRouter:
    """Deliver alerts to sinks: deduplicated, rate-limited, never raising into the caller.

    Parameters
    ----------
    sinks : list of sinks - :class:`WebhookSink`, :class:`TelegramSink`, :class:`EmailSink`
        or anything with ``name``, ``secrets()`` and ``deliver(alert)``.
    min_interval_s : float, default 300.0 - an identical alert (kind and text) within this
        interval is suppressed (never a ``halt``).
    kinds : list of str, optional - route only these kinds (default: every kind).
    max_per_minute : int, default 30 - distinct alerts per 60 s beyond which the rest are
        suppressed (``halt`` alerts are exempt).
    run : str, default "" - the run's name, put on every alert.
    metrics : LiveMetrics, optional - counts routed alerts by kind and failures by sink.
    background : bool, default True - deliver from a daemon thread through a bounded queue.
    queue_size : int, default 100
    clock : callable, optional - Unix seconds (default :func:`time.time`).

    Examples
    --------
    >>> seen = []
    >>> class ListSink:
    ...     name = "list"
    ...     def secrets(self): return []
    ...     def deliver(self, alert): seen.append((alert.kind, alert.text))
    >>> router = AlertRouter([ListSink()], background=False, clock=lambda: 0.0)
    >>> router.send("data", "stale data"), router.send("data", "stale data")
    (True, False)
    >>> router.send("halt", "HALTED by cli"), router.send("halt", "HALTED by cli")
    (True, True)
    >>> seen, router.stats["suppressed"]
    ([('data', 'stale data'), ('halt', 'HALTED by cli'), ('halt', 'HALTED by cli')], 1)
    """

    def __init__(self, sinks: Iterable[AlertSink], *, min_interval_s: float = 300.0,
                 kinds: Iterable[str] | None = None, max_per_minute: int = 30, run: str = "",
                 metrics: LiveMetrics | None = None, background: bool = True,
                 queue_size: int = 100, clock: Callable[[], float] | None = None) -> None:
        caller = "AlertRouter"
        self.sinks = list(sinks)
        for sink in self.sinks:
            if not callable(getattr(sink, "deliver", None)) or not hasattr(sink, "name"):
                raise InvalidParameterError(message("sinks", caller, "sinks with a name and "
                                                    "deliver(alert)", sink))
        self.min_interval_s = check_float("min_interval_s", min_interval_s, caller=caller,
                                          minimum=0.0)
        self.kinds = None if kinds is None else frozenset(
            check_choice("kinds", k, KINDS, caller=caller) for k in kinds)
        self.max_per_minute = check_int("max_per_minute", max_per_minute, caller=caller,
                                        minimum=1)
        self.run = str(run)
        self.metrics = metrics
        self.clock: Callable[[], float] = clock or _time.time
        self._secrets = [s for sink in self.sinks for s in sink.secrets()]
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self._recent: deque[float] = deque()
        self._stats: dict[str, Any] = {"routed": 0, "delivered": 0, "suppressed": 0,
                                       "dropped": 0, "filtered": 0, "failures": {}}
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._queue: queue.Queue[Alert | None] | None = None
        self._worker: threading.Thread | None = None
        if check_bool("background", background, caller=caller):
            size = check_int("queue_size", queue_size, caller=caller, minimum=1)
            self._queue = queue.Queue(maxsize=size)
            self._worker = threading.Thread(target=self._work, args=(self._queue,),
                                            name="quantlab-alerts", daemon=True)
            self._worker.start()

    # ---- building from a config --------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, run: str = "",
                    metrics: LiveMetrics | None = None,
                    environ: Mapping[str, str] | None = None) -> AlertRouter:
        """Build a router from a config mapping; secrets are read from environment variables.

        Parameters
        ----------
        config : mapping - ``{"sinks": [...], "min_interval_s": 300, "kinds": [...],
            "max_per_minute": 30, "background": True}``; each sink is one of::

                {"type": "webhook", "url": ... (or "url_env": "SLACK_HOOK_URL" when the
                 URL is the credential), "headers_env": {"Authorization": "ENV"},
                 "headers": {...}, "timeout_s": 5, "name": ...}
                {"type": "telegram", "token_env": "TELEGRAM_TOKEN", "chat_id": ...,
                 "base_url": ..., "timeout_s": 5, "name": ...}
                {"type": "email", "host": ..., "port": 587, "sender": ..., "recipients": [...],
                 "username": ..., "password_env": "SMTP_PASSWORD", "starttls": true,
                 "timeout_s": 10, "name": ...}

        run, metrics : passed to the router.
        environ : mapping, optional - default ``os.environ``.

        Raises
        ------
        InvalidParameterError
            An unknown option or sink type, a secret written in the config (``token``,
            ``password``), an unset environment variable, a bad value.
        """
        caller = "AlertRouter.from_config"
        if not isinstance(config, Mapping):
            raise InvalidParameterError(message("config", caller, "a mapping", config))
        check_options(dict(config), ("sinks", "min_interval_s", "kinds", "max_per_minute",
                                     "background", "queue_size"), caller=caller)
        specs = config.get("sinks") or []
        if not isinstance(specs, list | tuple):
            raise InvalidParameterError(message("sinks", caller, "a list of sink mappings",
                                                specs))
        env = dict(environ) if environ is not None else None
        sinks = [_sink_from_config(spec, env) for spec in specs]
        options = {k: config[k] for k in ("min_interval_s", "kinds", "max_per_minute",
                                          "background", "queue_size") if k in config}
        return cls(sinks, run=run, metrics=metrics, **options)

    # ---- sending -----------------------------------------------------------------------
    def send(self, kind: str, text: str, **fields: Any) -> bool:
        """Route one alert; return whether it was accepted for delivery.

        False means it was filtered (kind not routed), suppressed (duplicate or rate limit)
        or dropped (queue full). Never raises: a bad argument or a failing sink is logged.
        """
        try:
            admitted = self._admit(Alert(str(kind) or "error", str(text), self.run,
                                         float(self.clock()), dict(fields)))
            if admitted is None:
                return False
            q = self._queue  # read once: close() may set it to None meanwhile
            if q is None:
                self._commit(admitted)
                self._deliver(admitted)
                return True
            if not self._enqueue(q, admitted):
                return False  # not remembered: the same alert sent again is not a duplicate
            self._commit(admitted)
            return True
        except Exception as exc:  # never raise into the runner
            log.error("alert %r not routed: %s", kind, self._redact(f"{type(exc).__name__}: "
                                                                    f"{exc}"))
            return False

    def journal_alert(self, kind: str, text: str, bar_time: Any = None) -> bool:
        """Route an alert the runner journaled (the signature of ``Journal.alert``).

        ``kind`` is mapped by :data:`JOURNAL_KINDS` (unknown kinds -> "error"); the
        journal's kind is kept in the field ``source`` and ``bar_time`` in ``bar_time``.
        Never raises.
        """
        fields: dict[str, Any] = {"source": kind}
        if bar_time is not None:
            fields["bar_time"] = str(bar_time)
        return self.send(JOURNAL_KINDS.get(str(kind), "error"), text, **fields)

    def _admit(self, alert: Alert) -> Alert | None:
        """Filter by kind, deduplicate, rate-limit; annotate a repeat with its count.

        Nothing is remembered here (see :meth:`_commit`): an alert that is then dropped is
        not counted as sent. ``halt`` alerts are never deduplicated nor rate-limited.
        """
        with self._lock:
            if self.kinds is not None and alert.kind not in self.kinds:
                self._stats["filtered"] += 1
                return None
            if alert.kind == "halt":
                return alert
            key, now = (alert.kind, alert.text), alert.time
            last, repeats = self._last.get(key, (None, 0))
            if last is not None and now - last < self.min_interval_s:
                self._last[key] = (last, repeats + 1)
                self._stats["suppressed"] += 1
                return None
            while self._recent and now - self._recent[0] >= 60.0:
                self._recent.popleft()
            if len(self._recent) >= self.max_per_minute:
                self._stats["suppressed"] += 1
                return None
        if repeats:
            alert = replace(alert, fields={**alert.fields, "suppressed_repeats": repeats})
        return alert

    def _commit(self, alert: Alert) -> None:
        """Count an alert accepted for delivery (after it was queued or before inline)."""
        with self._lock:
            if alert.kind != "halt":
                self._recent.append(alert.time)
                self._remember((alert.kind, alert.text), alert.time)
            self._stats["routed"] += 1
        if self.metrics is not None:
            self.metrics.observe_alert(alert.kind)

    def _remember(self, key: tuple[str, str], now: float) -> None:
        self._last[key] = (now, 0)
        if len(self._last) > _DEDUPE_MAX:  # bounded memory: forget the oldest
            for old in sorted(self._last, key=lambda k: self._last[k][0])[:_DEDUPE_MAX // 4]:
                del self._last[old]

    def _enqueue(self, q: queue.Queue[Alert | None], alert: Alert) -> bool:
        """Queue ``alert``; a full queue drops it, except a halt, which evicts the oldest
        queued non-halt alert or waits up to :data:`HALT_ENQUEUE_S` for room."""
        with self._lock:
            self._pending += 1
        try:
            q.put_nowait(alert)
            return True
        except queue.Full:
            pass
        if alert.kind == "halt":
            evicted = self._evict(q)
            if evicted is not None:
                self._dropped(q, evicted)
            try:
                q.put(alert, timeout=HALT_ENQUEUE_S)
                return True
            except queue.Full:
                pass
        self._dropped(q, alert)
        return False

    def _evict(self, q: queue.Queue[Alert | None]) -> Alert | None:
        """Remove the oldest queued non-halt alert (None when all queued are halts)."""
        with q.mutex:
            for item in q.queue:
                if item is not None and item.kind != "halt":
                    q.queue.remove(item)
                    q.not_full.notify()
                    return item
        return None

    def _dropped(self, q: queue.Queue[Alert | None], alert: Alert) -> None:
        with self._idle:
            self._pending -= 1
            self._stats["dropped"] += 1
            self._idle.notify_all()
        log.error("alert queue full (%d): %s alert dropped", q.maxsize, alert.kind)

    def _work(self, q: queue.Queue[Alert | None]) -> None:
        while True:
            alert = q.get()
            if alert is None:  # close(): deliver what a racing send() put after the sentinel
                self._drain(q)
                return
            self._deliver_one(alert)

    def _drain(self, q: queue.Queue[Alert | None]) -> None:
        for _ in range(q.maxsize + 1):  # bounded: send() no longer queues after close()
            try:
                alert = q.get_nowait()
            except queue.Empty:
                return
            if alert is not None:
                self._deliver_one(alert)

    def _deliver_one(self, alert: Alert) -> None:
        try:
            self._deliver(alert)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _deliver(self, alert: Alert) -> None:
        for sink in self.sinks:
            name = str(sink.name)
            try:
                sink.deliver(alert)
            except Exception as exc:  # one sink down never stops the others
                self._failed(name, alert, exc)
            else:
                with self._lock:
                    self._stats["delivered"] += 1

    def _failed(self, name: str, alert: Alert, exc: Exception) -> None:
        text = self._redact(_describe(exc))
        with self._lock:
            failures = self._stats["failures"]
            failures[name] = failures.get(name, 0) + 1
        log.warning("alert sink %s failed to deliver an alert of kind %s: %s", name, alert.kind,
                    text)
        if self.metrics is not None:
            try:
                self.metrics.observe_alert_failure(name)
            except Exception:  # metrics must not break alerting
                log.error("could not count the failure of alert sink %s", name)

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # ---- state and lifecycle -----------------------------------------------------------
    @property
    def stats(self) -> dict[str, Any]:
        """Counts: routed, delivered (per sink delivery), suppressed, dropped, filtered,
        failures (per sink name)."""
        with self._lock:
            return {**self._stats, "failures": dict(self._stats["failures"])}

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued alert was tried; return False on timeout."""
        deadline = _time.monotonic() + timeout_s
        with self._idle:
            while self._pending > 0:
                remaining = deadline - _time.monotonic()
                if remaining <= 0 or not self._idle.wait(remaining):
                    return self._pending == 0
        return True

    def close(self, timeout_s: float = 10.0) -> bool:
        """Deliver what is queued (bounded by ``timeout_s``), then stop the worker.

        Alerts sent after ``close`` are delivered inline (each bounded by its sink's timeout).
        Returns False if the queue did not drain in time.
        """
        done = self.flush(timeout_s)
        with self._lock:
            q, worker = self._queue, self._worker
            self._queue, self._worker = None, None
        if q is not None and worker is not None:
            try:
                q.put(None, timeout=1.0)
            except queue.Full:
                pass
            worker.join(max(1.0, timeout_s / 10))
        return done

    def __repr__(self) -> str:  # each sink's repr shows no secret (a webhook: its origin)
        return f"AlertRouter(sinks={self.sinks!r}, kinds={sorted(self.kinds or [])!r})"


_SINK_OPTIONS: dict[str, tuple[str, ...]] = {
    "webhook": ("type", "url", "url_env", "headers", "headers_env", "timeout_s", "name"),
    "telegram": ("type", "token_env", "chat_id", "base_url", "timeout_s", "name"),
    "email": ("type", "host", "port", "sender", "recipients", "username", "password_env",
              "starttls", "timeout_s", "name"),
}
_LITERAL_SECRETS = {"token": "token_env", "password": "password_env"}


def _sink_from_config(spec: Any, environ: dict[str, str] | None) -> AlertSink:
    caller = "AlertRouter.from_config"
    if not isinstance(spec, Mapping):
        raise InvalidParameterError(message("sinks[]", caller, "a mapping with a 'type'", spec))
    kind = check_choice("type", spec.get("type"), tuple(_SINK_OPTIONS), caller=caller)
    for literal, env_key in _LITERAL_SECRETS.items():
        if literal in spec:
            raise InvalidParameterError(
                f"{caller}(): the {kind} sink has `{literal}` written in the config; secrets "
                f"are read from environment variables only: write `{env_key}: VARIABLE_NAME` "
                "and export the variable.")
    options = dict(spec)
    unknown = [k for k in options if k not in _SINK_OPTIONS[kind]]
    if unknown:
        hint = did_you_mean(unknown[0], _SINK_OPTIONS[kind]) or (
            "Known options: " + ", ".join(_SINK_OPTIONS[kind]) + ".")
        raise InvalidParameterError(f"{caller}(): the {kind} sink got an unknown option "
                                    f"`{unknown[0]}`. {hint}")
    options.pop("type")
    if kind == "webhook":
        return _webhook_from_config(options, environ)
    if kind == "telegram":
        token = _env_secret(options.pop("token_env", None), environ)
        return TelegramSink(token, **options)
    var = options.pop("password_env", None)
    password = None if var is None else _env_secret(var, environ, "password_env")
    return EmailSink(password=password, **options)


def _webhook_from_config(options: dict[str, Any], environ: dict[str, str] | None) -> AlertSink:
    caller = "AlertRouter.from_config"
    headers: dict[str, str | Secret] = dict(options.pop("headers", None) or {})
    for header, var in dict(options.pop("headers_env", None) or {}).items():
        headers[header] = _env_secret(var, environ, "headers_env")
    url_env = options.pop("url_env", None)
    if (url_env is None) == ("url" not in options):
        raise InvalidParameterError(
            f"{caller}(): the webhook sink needs exactly one of `url` and `url_env`; got "
            f"{'both' if url_env is not None else 'neither'}. Write `url_env: VARIABLE_NAME` "
            "when the URL is itself the credential (Slack, Discord), else `url: https://...`.")
    url = options.pop("url") if url_env is None else _env_secret(url_env, environ, "url_env")
    return WebhookSink(url, headers=headers, **options)


def _env_secret(name: Any, environ: dict[str, str] | None,
                option: str = "token_env") -> Secret:
    if not isinstance(name, str) or not name:
        raise InvalidParameterError(message(option, "AlertRouter.from_config",
                                            "the name of an environment variable", name))
    return cast(Secret, secret_from_env(name, environ=environ))  # required: never None

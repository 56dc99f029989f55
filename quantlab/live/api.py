"""The live runner's control API (FastAPI + uvicorn) and its status page.

Endpoints (JSON unless said otherwise)::

    GET  /healthz          liveness only, no data, no token, no rate limit
    GET  /                 the status page (HTML; holds no data, asks for the token)
    GET  /api/status       state, latch, last bar, lag, equity, cash, PnL, bars, orders
    GET  /api/positions    the positions at the last completed bar, with its close price
    GET  /api/orders       recent intents with their order state (``limit``, 1..1000)
    GET  /api/pnl          the equity curve (``points``, 2..20000, default 2000: evenly
                           downsampled, the last point exact), realized / unrealized PnL
                           and fees
    GET  /api/alerts       recent alerts, newest first (``limit``, 1..1000)
    POST /api/halt         {"reason": "..."}: latch a halt, exactly like ``quantlab live halt``
    POST /api/resume       {"reason": "..."}: clear it, exactly like ``quantlab live resume``

Design decisions a demanding user will want to know:

* **The journal is the only source.** The API never talks to the runner process: every GET
  opens the journal read-only (SQLite URI ``mode=ro``) for the length of the request, so it
  holds no lock while idle and never blocks the runner's writes. A halt opens it writable
  for one short transaction (:meth:`Journal.latch`: the ``halts`` row with ``source="api"``
  and its ``alerts`` row together, as the CLI does); the running runner's guard re-reads
  the latch when SQLite's
  ``data_version`` changes, i.e. at its next bar. A halt is therefore *latched* at once and
  *acted on* at the next bar; while it holds only exits go out (RELIABILITY.md behaviour 11).
* **Authentication**: ``Authorization: Bearer <token>`` on every ``/api`` route, compared in
  constant time (:meth:`Secret.__eq__` uses :func:`hmac.compare_digest`). Missing or wrong
  -> 401 with ``WWW-Authenticate: Bearer``. The token comes from the environment
  (``QUANTLAB_API_TOKEN``) through :func:`~quantlab.live.secrets.secret_from_env`; it is
  accepted in the header only (never in a query string, which access logs would show),
  never logged and never echoed. Bearer tokens are not sent automatically by browsers, so
  the POST routes need no CSRF token; no CORS header is set (same origin only).
  ``token=None`` disables authentication, which :func:`serve` allows on loopback only; the
  app then also checks the ``Host`` header (starlette's ``TrustedHostMiddleware``: only
  127.0.0.1, localhost and ::1, any port, else 400), so a web page that rebinds its own DNS
  name to 127.0.0.1 cannot reach the API from the operator's browser.
* **Rate limit**: one token bucket per client address, held by the app instance (no module
  state): ``rate_limit=(n, seconds)`` allows bursts of ``n`` requests refilled at
  ``n / seconds`` per second; beyond it 429 with ``Retry-After`` (whole seconds). It runs
  *before* authentication, so guessing tokens is throttled too. The client address is the
  TCP peer: uvicorn's proxy-header trust is turned off, so ``X-Forwarded-For`` cannot be
  used to dodge the limit (behind a reverse proxy every client shares the proxy's bucket).
  At most 10 000 addresses are tracked; the least recently seen is forgotten first.
  ``POST /api/halt`` with a valid token (or with none configured) is exempt: the page's
  polling must never starve the kill switch. A halt with a wrong token still spends the
  bucket, so guessing stays throttled.
* **Errors**: bad input -> 422 with one house-style message (``detail``) naming the field,
  the constraint, the value and the fix; a missing or refused journal -> 503 with the
  journal's own message (e.g. before the runner created it); a locked journal -> 503 "busy"
  with ``Retry-After: 1``; any other SQLite error -> 503 with its own text.
* **Numbers**: a non-finite number (a rejected bar's NaN close is journaled as it came) is
  sent as ``null``: strict JSON has no NaN.
* **The page** is one self-contained HTML file (no CDN, no build step): the equity curve is
  inline SVG drawn from ``/api/pnl``; tables are filled with ``textContent`` (journal text is
  never parsed as HTML); the page may not be framed (``frame-ancestors 'none'``), so the Halt
  button cannot be click-jacked. It refreshes every 5 s with 4 requests (48 a minute, under
  the default 60) and waits out ``Retry-After`` on a 429; a failed halt says "Halt NOT
  sent - press again".
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import sqlite3
import threading
import time as _time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

try:
    import uvicorn
    from fastapi import FastAPI, Query
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, ConfigDict, Field
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from uvicorn.config import LOGGING_CONFIG
except ImportError as _exc:  # pragma: no cover - the optional extra is missing
    raise ImportError(f"quantlab.live.api needs fastapi and uvicorn ({_exc}); install them "
                      "with: pip install 'quantlab[live]'") from None

from quantlab._validate import check_choice, check_float, check_int, message
from quantlab.errors import InvalidParameterError
from quantlab.live._errors import JournalError, StartupError
from quantlab.live.journal import Journal, journal_mode
from quantlab.live.secrets import Secret, secret_from_env

__all__ = ["create_app", "serve", "check_serve", "start_in_thread", "ApiServer", "TokenBuckets",
           "TOKEN_ENV", "DEFAULT_PORT"]

#: The environment variable :func:`serve` reads the API token from.
TOKEN_ENV = "QUANTLAB_API_TOKEN"
DEFAULT_PORT = 8765
_MAX_LIMIT = 1000
_DEFAULT_POINTS = 2000
_MAX_POINTS = 20_000
#: The Host header values accepted when no token is set (compared without the port).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
_MAX_REASON = 500
_MAX_CLIENTS = 10_000
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_CONSTRAINTS = {"limit": f"an integer between 1 and {_MAX_LIMIT}",
                "reason": f"a non-empty string of at most {_MAX_REASON} characters",
                "points": f"an integer between 2 and {_MAX_POINTS}"}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
             "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'")


# ---- rate limit ------------------------------------------------------------------------
class TokenBuckets:
    """Token buckets by client: ``capacity`` requests, refilled at ``capacity / period`` per s.

    Parameters
    ----------
    capacity : int - the burst size (requests).
    period : float - seconds to refill an empty bucket.
    clock : callable, optional - monotonic seconds (default :func:`time.monotonic`).
    max_clients : int, default 10 000 - buckets kept; the least recently seen go first.

    Examples
    --------
    >>> now = [0.0]
    >>> buckets = TokenBuckets(2, 10.0, clock=lambda: now[0])
    >>> [buckets.take("a") for _ in range(3)]
    [0.0, 0.0, 5.0]
    >>> now[0] = 5.0; buckets.take("a")
    0.0
    """

    def __init__(self, capacity: int, period: float, *, clock: Callable[[], float] | None = None,
                 max_clients: int = _MAX_CLIENTS) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / period
        self.clock = clock or _time.monotonic
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token for ``client``: 0.0 if allowed, else the seconds until one is free."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


# ---- reading the journal ---------------------------------------------------------------
@contextlib.contextmanager
def _reader(path: Path) -> Iterator[Journal]:
    """The journal opened read-only for one request (raises JournalError when missing)."""
    journal = Journal(path, mode=journal_mode(path), readonly=True)
    try:
        yield journal
    finally:
        journal.close()


def _status(path: Path) -> dict[str, Any]:
    from quantlab.live.status import status

    out = status(path)
    with _reader(path) as j:
        row = j.conn.execute("SELECT cash FROM decisions WHERE bar_seq = ?",
                             (out["bars"],)).fetchone()
    out["cash"] = None if row is None else float(row[0])
    return out


def _positions(path: Path) -> dict[str, Any]:
    with _reader(path) as j:
        row = j.conn.execute("SELECT p.bar_seq, p.time, p.data, b.data FROM positions p LEFT "
                             "JOIN bars b ON b.seq = p.bar_seq ORDER BY p.bar_seq DESC LIMIT 1"
                             ).fetchone()
    if row is None:
        return {"bar_seq": None, "time": None, "positions": []}
    held = json.loads(row[2])
    closes = json.loads(row[3])["close"] if row[3] else [None] * len(held)
    rows = [{"symbol": sym, "quantity": _finite(qty), "price": _finite(price),
             "value": None if price is None else _finite(qty * price)}
            for (sym, qty), price in zip(held.items(), closes, strict=True)]
    return {"bar_seq": int(row[0]), "time": row[1], "positions": rows}


def _finite(value: Any) -> float | None:
    """``value`` as a float, or None when missing or not finite (strict JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _downsample(n: int, points: int) -> list[int]:
    """``points`` indices of ``range(n)`` evenly spread, the first and the last included."""
    if n <= points:
        return list(range(n))
    return [round(i * (n - 1) / (points - 1)) for i in range(points)]


_ORDERS_SQL = """
SELECT i.seq, i.client_id, i.bar_seq, i.time, i.symbol, i.side, i.size, i.price, i.reason,
       i.reduce_only,
       (SELECT o.state FROM orders o WHERE o.client_id = i.client_id ORDER BY o.id DESC
        LIMIT 1) AS state,
       (SELECT COALESCE(SUM(f.size), 0.0) FROM fills f WHERE f.client_id = i.client_id)
        AS filled
FROM intents i ORDER BY i.rowid DESC LIMIT ?"""


def _orders(path: Path, limit: int) -> dict[str, Any]:
    with _reader(path) as j:
        cur = j.conn.execute(_ORDERS_SQL, (limit,))
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        total = int(j.scalar("SELECT COUNT(*) FROM intents"))
    for r in rows:
        r["state"] = r["state"] or "INTENT"  # journaled, no order event yet
        r["reduce_only"] = bool(r["reduce_only"])
    return {"total": total, "orders": rows}


def _average_cost(fills: list[tuple[str, str, float, float, float]],
                  closes: dict[str, float]) -> dict[str, float]:
    """Realized and unrealized PnL (average-cost method) and fees of ``fills``."""
    book: dict[str, list[float]] = {}   # symbol -> [position, average price]
    realized = fees = 0.0
    for sym, side, size, price, fee in fills:
        pos, avg = book.get(sym, [0.0, 0.0])
        q = size if side == "buy" else -size
        fees += fee
        if pos == 0.0 or math.copysign(1.0, q) == math.copysign(1.0, pos):
            avg = (avg * abs(pos) + price * abs(q)) / (abs(pos) + abs(q))
        else:
            realized += min(abs(q), abs(pos)) * (price - avg) * math.copysign(1.0, pos)
            if abs(q) > abs(pos):
                avg = price
        book[sym] = [pos + q, avg if abs(pos + q) > 1e-12 else 0.0]
    unrealized = sum(p * (closes[s] - a) for s, (p, a) in book.items() if p and s in closes)
    return {"realized": realized, "unrealized": unrealized, "fees": fees}


def _pnl(path: Path, points: int = _DEFAULT_POINTS) -> dict[str, Any]:
    with _reader(path) as j:
        curve = j.conn.execute("SELECT time, equity, cash FROM decisions ORDER BY bar_seq"
                               ).fetchall()
        fills = j.conn.execute("SELECT f.symbol, f.side, f.size, f.price, f.fee FROM fills f "
                               "JOIN intents i ON i.client_id = f.client_id ORDER BY f.rowid"
                               ).fetchall()
        last = j.conn.execute("SELECT p.data, b.data FROM positions p JOIN bars b ON b.seq = "
                              "p.bar_seq ORDER BY p.bar_seq DESC LIMIT 1").fetchone()
        config = j.conn.execute("SELECT text FROM config ORDER BY id LIMIT 1").fetchone()
    closes = {} if last is None else dict(zip(json.loads(last[0]),
                                              json.loads(last[1])["close"], strict=True))
    init_cash = None
    if config is not None:
        execution = json.loads(config[0]).get("backtest", {}).get("execution", {})
        init_cash = float(execution.get("init_cash", 100_000.0))
    last_equity = _finite(curve[-1][1]) if curve else None
    keep = [curve[i] for i in _downsample(len(curve), points)]
    pnl = {k: _finite(v) for k, v in _average_cost(fills, closes).items()}
    return {"times": [r[0] for r in keep], "equity": [_finite(r[1]) for r in keep],
            "cash": [_finite(r[2]) for r in keep], "total_points": len(curve),
            "init_cash": init_cash,
            "pnl": None if last_equity is None or init_cash is None else
            _finite(last_equity - init_cash), **pnl}


def _alerts(path: Path, limit: int) -> dict[str, Any]:
    with _reader(path) as j:
        cur = j.conn.execute("SELECT id, time, kind, message, bar_time FROM alerts ORDER BY id "
                             "DESC LIMIT ?", (limit,))
        names = [d[0] for d in cur.description]
        return {"alerts": [dict(zip(names, r, strict=True)) for r in cur.fetchall()]}


# ---- writing the latch -----------------------------------------------------------------
def _latch_dict(latched: tuple[str, str] | None) -> dict[str, str] | None:
    return None if latched is None else {"source": latched[0], "reason": latched[1]}


def _halt(path: Path, reason: str) -> dict[str, Any]:
    """What ``quantlab live halt`` does, with ``source="api"``."""
    j = Journal(path, mode=journal_mode(path))  # journal_mode: refuses a missing journal
    try:
        j.latch(reason, source="api")  # the halt and its alert in one transaction
        latched = j.latched()
    finally:
        j.close(checkpoint=False)  # the runner owns checkpoints
    return {"latched": _latch_dict(latched)}


def _resume(path: Path, reason: str) -> dict[str, Any]:
    """What ``quantlab live resume`` does, with ``source="api"``."""
    j = Journal(path, mode=journal_mode(path))
    try:
        was = j.latched()
        j.resume(reason, source="api")
        latched = j.latched()
    finally:
        j.close(checkpoint=False)
    return {"was_latched": was is not None, "latched": _latch_dict(latched)}


# ---- the app ---------------------------------------------------------------------------
def _page() -> str:
    return resources.files("quantlab.live").joinpath("status_page.html").read_text("utf-8")


def _client(request: Any) -> str:
    return request.client.host if request.client is not None else "unknown"


def _unauthorized(text: str, error: str | None) -> Any:
    value = "Bearer" if error is None else f'Bearer error="{error}"'
    return JSONResponse({"detail": text}, status_code=401,
                        headers={"WWW-Authenticate": value})


def _check_bearer(header: str | None, token: Secret) -> Any:
    """None when ``header`` carries ``token``; else the 401 response."""
    scheme, _, supplied = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        return _unauthorized("missing bearer token: send the header `Authorization: Bearer "
                             f"<token>` with the token the server was started with "
                             f"(${TOKEN_ENV}).", None)
    if not token == supplied.strip():  # Secret.__eq__: hmac.compare_digest
        return _unauthorized("invalid bearer token: send the token the server was started "
                             f"with (${TOKEN_ENV}).", "invalid_token")
    return None


def _validation_message(request: Any, errors: list[Any]) -> str:
    """One house-style message for the first pydantic error of a request."""
    err = errors[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query")]
    name = loc[-1] if loc else "body"
    where = f"{request.method} {request.url.path}"
    got = "nothing" if err.get("type") == "missing" else repr(err.get("input"))
    if len(got) > 80:
        got = got[:77] + "..."
    if err.get("type") == "json_invalid":
        return (f"the body of {where} must be valid JSON such as "
                f'{{"reason": "maintenance"}}; got invalid JSON '
                f"({err.get('ctx', {}).get('error', 'decode error')}).")
    if err.get("type") == "extra_forbidden":
        return f"`{name}` is not a field of {where}; send only `reason`."
    if name == "body":
        return (f"the body of {where} must be a JSON object such as "
                f'{{"reason": "maintenance"}}; got {got}.')
    constraint = _CONSTRAINTS.get(name, str(err.get("msg", "valid")).lower())
    remedy = ' Send JSON such as {"reason": "maintenance"}.' if name == "reason" else ""
    return f"`{name}` of {where} must be {constraint}; got {got}.{remedy}"


def _install_handlers(app: FastAPI) -> None:
    async def invalid(request: Any, exc: Exception) -> Any:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else None
        text = _validation_message(request, list(errors)) if errors else str(exc)
        return JSONResponse({"detail": text}, status_code=422)

    async def journal(request: Any, exc: Exception) -> Any:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    async def busy(request: Any, exc: Exception) -> Any:
        text = str(exc)
        if "locked" in text.lower() or "busy" in text.lower():
            return JSONResponse({"detail": f"the journal is busy ({text}); retry in a "
                                           "moment."},
                                status_code=503, headers={"Retry-After": "1"})
        return JSONResponse({"detail": f"the journal could not be read or written: {text}"},
                            status_code=503)

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(InvalidParameterError, invalid)
    app.add_exception_handler(JournalError, journal)
    app.add_exception_handler(sqlite3.OperationalError, busy)


def _install_gate(app: FastAPI, token: Secret | None, buckets: TokenBuckets) -> None:
    """Middleware: rate limit (all but /healthz and an authenticated halt), then the bearer
    check (/api)."""
    @app.middleware("http")
    async def gate(request: Any, call_next: Any) -> Any:
        path = request.url.path
        refused = None
        if token is not None and (path == "/api" or path.startswith("/api/")):
            refused = _check_bearer(request.headers.get("authorization"), token)
        halt = request.method == "POST" and path == "/api/halt" and refused is None
        if path != "/healthz" and not halt:  # the kill switch never waits for polling
            wait = buckets.take(_client(request))
            if wait > 0.0:
                seconds = max(1, math.ceil(wait))
                return JSONResponse({"detail": f"rate limit: too many requests from this "
                                               f"address; retry in {seconds} s."},
                                    status_code=429, headers={"Retry-After": str(seconds)})
        if refused is not None:
            return refused
        response = await call_next(request)
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response


class ReasonBody(BaseModel):
    """The body of POST /api/halt and /api/resume: ``{"reason": "..."}``, nothing else."""

    model_config = ConfigDict(extra="forbid", strict=True)
    reason: str = Field(min_length=1, max_length=_MAX_REASON)


def _reason(reason: str, where: str) -> str:
    """``reason`` stripped; blank is refused (the halt's audit trail needs a reason)."""
    if not reason.strip():
        raise InvalidParameterError(
            f"`reason` of {where} must be {_CONSTRAINTS['reason']}; got {reason!r}. "
            'Send JSON such as {"reason": "maintenance"}.')
    return reason.strip()


def _install_routes(app: FastAPI, path: Path) -> None:
    page = _page()
    limit_q = Query(50, ge=1, le=_MAX_LIMIT, description="rows, newest first (1..1000)")
    points_q = Query(_DEFAULT_POINTS, ge=2, le=_MAX_POINTS,
                     description="equity points at most (2..20000), the last one exact")

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/", response_class=HTMLResponse)
    def index() -> Any:
        return HTMLResponse(page, headers={"Content-Security-Policy": _PAGE_CSP})

    @app.get("/api/status")
    def get_status() -> dict[str, Any]:
        return _status(path)

    @app.get("/api/positions")
    def get_positions() -> dict[str, Any]:
        return _positions(path)

    @app.get("/api/orders")
    def get_orders(limit: int = limit_q) -> dict[str, Any]:
        return _orders(path, limit)

    @app.get("/api/pnl")
    def get_pnl(points: int = points_q) -> dict[str, Any]:
        return _pnl(path, points)

    @app.get("/api/alerts")
    def get_alerts(limit: int = limit_q) -> dict[str, Any]:
        return _alerts(path, limit)

    @app.post("/api/halt")
    def post_halt(body: ReasonBody) -> dict[str, Any]:
        return _halt(path, _reason(body.reason, "POST /api/halt"))

    @app.post("/api/resume")
    def post_resume(body: ReasonBody) -> dict[str, Any]:
        return _resume(path, _reason(body.reason, "POST /api/resume"))


def create_app(journal: str | Path, *, token: Secret | None,
               rate_limit: tuple[int, float] = (60, 60.0),
               clock: Callable[[], float] | None = None) -> FastAPI:
    """Build the control API of the run journaled in ``journal``.

    Parameters
    ----------
    journal : str or Path
        The run's journal (it may not exist yet: the data routes answer 503 until it does).
    token : Secret or None
        The bearer token every ``/api`` route requires; None disables authentication
        (:func:`serve` allows that on loopback only).
    rate_limit : (int, float), default (60, 60.0)
        ``(requests, seconds)`` per client address: a burst of ``requests``, refilled over
        ``seconds``.
    clock : callable, optional
        Monotonic seconds for the rate limiter (default :func:`time.monotonic`; tests pass a
        fake one).

    Returns
    -------
    fastapi.FastAPI

    Raises
    ------
    InvalidParameterError
        ``journal`` not a path, ``token`` not a :class:`Secret`, a bad ``rate_limit``.
    """
    if not isinstance(journal, str | Path):
        raise InvalidParameterError(message("journal", "create_app", "a path", journal))
    if token is not None and not isinstance(token, Secret):
        raise InvalidParameterError(message(
            "token", "create_app", "a Secret or None", "<hidden>",
            f"Read it with secret_from_env({TOKEN_ENV!r}) so it stays redacted."))
    if not isinstance(rate_limit, tuple) or len(rate_limit) != 2:
        raise InvalidParameterError(message("rate_limit", "create_app",
                                            "a (requests, seconds) tuple", rate_limit))
    requests = check_int("rate_limit[0]", rate_limit[0], caller="create_app", minimum=1)
    seconds = check_float("rate_limit[1]", rate_limit[1], caller="create_app", minimum=0.0,
                          exclusive_minimum=True)
    app = FastAPI(title="quantlab live", docs_url=None, redoc_url=None, openapi_url=None)
    _install_handlers(app)
    _install_gate(app, token, TokenBuckets(requests, seconds, clock=clock))
    if token is None:  # no token: only a loopback Host (DNS rebinding), checked first
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_HOSTS))
    _install_routes(app, Path(journal))
    return app


# ---- serving ---------------------------------------------------------------------------
def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _resolve_token(token: Secret | None, token_env: str) -> Secret | None:
    if token is None:
        return secret_from_env(token_env, required=False)
    return token


def check_serve(journal: str | Path, *, host: str, port: int, token: Secret | None = None,
                token_env: str = TOKEN_ENV) -> None:
    """Make the checks of :func:`serve` (the port's range; a non-loopback host needs a
    token) without binding anything.

    Raises
    ------
    InvalidParameterError
    """
    from uvicorn.config import LOGGING_CONFIG

    _config(journal, host=host, port=port, token=token, log_level="warning",
            rate_limit=(60, 60.0), token_env=token_env, caller="serve",
            log_config=LOGGING_CONFIG)


def _config(journal: str | Path, *, host: str, port: int, token: Secret | None, log_level: str,
            rate_limit: tuple[int, float], token_env: str, caller: str,
            log_config: Any) -> uvicorn.Config:
    if not isinstance(host, str):
        raise InvalidParameterError(message("host", caller, "a string", host))
    port = check_int("port", port, caller=caller, minimum=0, maximum=65535)
    log_level = check_choice("log_level", log_level, _LOG_LEVELS, caller=caller)
    token = _resolve_token(token, token_env)
    if token is None and not _is_loopback(host):
        raise InvalidParameterError(message(
            "host", caller, "a loopback address (127.0.0.1, ::1, localhost) when no token is "
            "set", host, f"Export {token_env}=<a long random token> (or pass "
            "token=Secret(...)) to serve on another interface, or bind 127.0.0.1."))
    app = create_app(journal, token=token, rate_limit=rate_limit)
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, log_config=log_config,
                          proxy_headers=False, server_header=False, lifespan="off",
                          limit_concurrency=64, timeout_graceful_shutdown=5)


def serve(journal: str | Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          token: Secret | None = None, log_level: str = "warning",
          rate_limit: tuple[int, float] = (60, 60.0), token_env: str = TOKEN_ENV) -> None:
    """Serve the control API and status page with uvicorn until interrupted.

    Parameters
    ----------
    journal : str or Path - the run's journal.
    host : str, default "127.0.0.1" - the interface; a non-loopback one needs a token.
    port : int, default 8765
    token : Secret, optional - default: read from the environment variable ``token_env``.
    log_level : str, default "warning" - uvicorn's level ("info" adds the access log,
        which shows paths, never headers).
    rate_limit : (int, float), default (60, 60.0) - see :func:`create_app`.
    token_env : str, default "QUANTLAB_API_TOKEN"

    Raises
    ------
    InvalidParameterError
        A non-loopback ``host`` without a token; a bad port or log level.
    """
    config = _config(journal, host=host, port=port, token=token, log_level=log_level,
                     rate_limit=rate_limit, token_env=token_env, caller="serve",
                     log_config=LOGGING_CONFIG)
    uvicorn.Server(config).run()


class ApiServer(uvicorn.Server):
    """A :class:`uvicorn.Server` running in a daemon thread (see :func:`start_in_thread`).

    Parameters
    ----------
    config : uvicorn.Config
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.thread = threading.Thread(target=self.run, name="quantlab-api", daemon=True)

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the server to exit; True once its thread ended within ``timeout`` seconds."""
        self.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        return not self.thread.is_alive()


def start_in_thread(journal: str | Path, *, host: str = "127.0.0.1", port: int = 0,
                    token: Secret | None = None, log_level: str = "warning",
                    rate_limit: tuple[int, float] = (60, 60.0), token_env: str = TOKEN_ENV,
                    startup_timeout: float = 10.0) -> tuple[ApiServer, int]:
    """Start the API in a daemon thread (beside the runner, or in tests).

    Parameters
    ----------
    journal, host, token, log_level, rate_limit, token_env
        As in :func:`serve`.
    port : int, default 0 - 0 picks a free port (read back and returned).
    startup_timeout : float, default 10.0 - seconds to wait for the socket to listen.

    Returns
    -------
    (server, port)
        ``server`` is a :class:`uvicorn.Server` (stop it with ``server.stop()`` or
        ``server.should_exit = True``; its thread is ``server.thread``); ``port`` the bound
        port. uvicorn does not reconfigure logging here (its records propagate to the
        process's handlers) and installs no signal handlers (not the main thread).

    Raises
    ------
    InvalidParameterError
        As in :func:`serve`.
    StartupError
        The server did not listen within ``startup_timeout`` (e.g. the port is taken).
    """
    timeout = check_float("startup_timeout", startup_timeout, caller="start_in_thread",
                          minimum=0.0, exclusive_minimum=True)
    config = _config(journal, host=host, port=port, token=token, log_level=log_level,
                     rate_limit=rate_limit, token_env=token_env, caller="start_in_thread",
                     log_config=None)
    server = ApiServer(config)
    server.thread.start()
    deadline = _time.monotonic() + timeout
    while not server.started and server.thread.is_alive() and _time.monotonic() < deadline:
        _time.sleep(0.02)
    if not server.started:
        server.stop(timeout=5.0)
        raise StartupError(f"the API server did not start on {host}:{port} within {timeout:g} "
                           "s (is the port taken? see the uvicorn error above); pick another "
                           "port or 0 for a free one.")
    bound = int(server.servers[0].sockets[0].getsockname()[1])
    return server, bound

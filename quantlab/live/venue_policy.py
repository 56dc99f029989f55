"""What to do when a venue call fails: classify ccxt errors, back off, gate, resync the clock.

RELIABILITY.md behaviour 4 in one place. :func:`classify` maps an exception raised by a ccxt
call to a :class:`Policy`; :class:`VenueCaller` runs a call under that policy:

======== ============================================================== =====================
Policy   raised by                                                      action
======== ============================================================== =====================
RETRY    NetworkError family, RequestTimeout, ExchangeNotAvailable,     backoff, then again
         OnMaintenance, OperationFailed (-1000/-1006) *before* a send
UNKNOWN  the same errors *after* an order was sent (timeout, reset,      never resent: the
         5xx, -1006/-1007 "status unknown")                             caller queries by
                                                                        client order id
REJECT   InvalidOrder, InsufficientFunds, BadRequest, OrderNotFound,     never retried
         Binance -1013/-1111/-2010, futures -2019/-2022/-4164... (a
         definitive "no")
STOP     AuthenticationError, PermissionDenied, AccountSuspended,        never retried; the
         Binance -1022/-2014/-2015                                      runner must stop
BUG      a non-ccxt exception *before* a send (a KeyError parsing a       never retried; the
         response: a bug in ccxt or here, not the credentials)          runner must stop
RATE     RateLimitExceeded **and** DDoSProtection (in ccxt 4.5 neither   wait Retry-After
         subclasses the other), HTTP 429, Binance -1003/-1015           (else backoff)
BAN      HTTP 418 (an IP ban)                                           the gate refuses
                                                                        every request until
                                                                        the ban ends
RESYNC   InvalidNonce, Binance -1021 (timestamp outside recvWindow)     resync the clock
                                                                        (fetch_time), retry
                                                                        once
======== ============================================================== =====================

Design decisions:

- **Codes before classes.** ccxt's class for a Binance error depends on the URL it called
  (its per-market-type tables match ``https://api.binance.com/...`` only): the same -1021 is
  ``InvalidNonce`` against a test server and ``BadRequest`` against the real host, -1013 is
  ``BadRequest`` or ``ExchangeError``. The Binance code in the message is read first, so the
  policy does not change with the base URL.
- **"Sent" is the caller's knowledge.** A timeout on a query is harmless to repeat; on an
  order it means the order may exist. :func:`classify` takes ``sent`` and turns every
  transport-level doubt after a send into UNKNOWN (never RETRY, never REJECT).
- A plain ``ccxt.ExchangeError`` (no subclass: ccxt did not recognise the answer, e.g. an
  unmapped HTTP 504) is RETRY before a send and UNKNOWN after: querying costs nothing,
  assuming a rejection could double the exposure.
- Bounded everything: ``max_attempts`` and ``max_total_s`` bound a call; a Retry-After
  longer than what is left blocks the gate and raises at once instead of sleeping. A
  non-finite Retry-After is ignored and every block is capped at ``max_ban_s`` (3 days, the
  longest ban Binance documents): a bogus header can never block a process forever.
- A non-ccxt exception raised inside a ccxt call is a bug (a response ccxt could not parse,
  a KeyError in our code), not a credentials problem: it is ``BUG`` and raises
  :class:`VenueBugError` (fatal, with its own message); after a send it is UNKNOWN, since the
  order may exist.
- Jitter is "full jitter" (uniform in ``[0, min(cap, base * 2**k)]``) from a
  ``random.Random(seed)`` owned by the caller object: reproducible, no global state.
- Clock, sleep and the response-header source are injected, so tests measure waits exactly.
- Error messages go through ``redact`` (the broker passes one that removes its secrets):
  a ccxt message carries URLs and response bodies, never credentials, but a filter is cheap.
"""

from __future__ import annotations

import enum
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from quantlab._validate import check_float, check_int, message
from quantlab.errors import ExchangeError, InvalidParameterError
from quantlab.live._errors import LiveError

__all__ = ["Policy", "classify", "exchange_code", "http_status", "retry_after_seconds",
           "Backoff", "RequestGate", "VenueCaller", "VenueError", "VenueRejectedError",
           "VenueAuthError", "VenueBugError", "VenueBannedError", "VenueUnavailableError",
           "OutcomeUnknown", "MAX_BAN_S", "rewrite_urls"]

T = TypeVar("T")
MAX_BAN_S = 3 * 24 * 3600.0  # Binance: "IP bans ... scale in duration ... from 2 minutes to 3 days"


class Policy(enum.Enum):
    """What to do after a failed venue call (see the module docstring's table)."""

    RETRY = "retry"
    UNKNOWN = "unknown"
    REJECT = "reject"
    STOP = "stop"
    RATE = "rate"
    BAN = "ban"
    RESYNC = "resync"
    BUG = "bug"


class VenueError(ExchangeError):
    """A venue call failed under ``policy`` (``what`` names the call).

    ``fatal`` is True when the runner must stop (see ``quantlab.live.runner.is_fatal``).
    """

    fatal: bool = False

    def __init__(self, text: str, *, policy: Policy, what: str = "",
                 error_class: str = "") -> None:
        super().__init__(text)
        self.policy, self.what, self.error_class = policy, what, error_class


class VenueRejectedError(VenueError):
    """The venue definitively refused the request (never retried)."""


class VenueAuthError(VenueError, LiveError):
    """Credentials or permissions refused: the runner must stop (never retried)."""

    fatal = True


class VenueBugError(VenueError, LiveError):
    """A non-ccxt exception inside a ccxt call: a bug, not credentials; the runner stops."""

    fatal = True


class VenueBannedError(VenueError):
    """Requests are refused locally: the venue banned us (418) or asked us to wait (429)."""


class VenueUnavailableError(VenueError):
    """The venue stayed unreachable or rate-limited through every allowed attempt."""


class OutcomeUnknown(VenueError):
    """A request that may have changed state on the venue got no definitive answer."""


# Binance error codes (https://developers.binance.com/docs/binance-spot-api-docs/errors)
_RESYNC_CODES = frozenset({-1021})
_STOP_CODES = frozenset({-1002, -1022, -2014, -2015})
_RATE_CODES = frozenset({-1003, -1015})
_UNSURE_CODES = frozenset({-1000, -1001, -1006, -1007})
_REJECT_CODES = frozenset({-1013, -1100, -1101, -1102, -1103, -1104, -1105, -1106, -1111,
                           -1112, -1114, -1115, -1116, -1117, -1118, -1119, -1120, -1121,
                           -1125, -1127, -1128, -1130, -2010, -2011, -2013,
                           # USDⓈ-M futures: margin, reduce-only, quantity, leverage, notional
                           -2018, -2019, -2020, -2021, -2022, -2024, -2025, -2026, -2027,
                           -2028, -4003, -4004, -4005, -4014, -4023, -4024, -4028, -4131,
                           -4164})
_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')
_STATUS = re.compile(r"(?:^|\s)([45]\d\d)(?=\s|$)")


def exchange_code(exc: BaseException) -> int | None:
    """The venue's error code in a ccxt message (``{"code":-1021,...}``), or None."""
    match = _CODE.search(str(exc))
    return int(match.group(1)) if match else None


def http_status(exc: BaseException) -> int | None:
    """The HTTP status (4xx/5xx) ccxt wrote into the message, or None."""
    match = _STATUS.search(str(exc))
    return int(match.group(1)) if match else None


def _by_code(code: int, sent: bool) -> Policy | None:
    if code in _RESYNC_CODES:
        return Policy.RESYNC
    if code in _STOP_CODES:
        return Policy.STOP
    if code in _RATE_CODES:
        return Policy.RATE
    if code in _UNSURE_CODES:
        return Policy.UNKNOWN if sent else Policy.RETRY
    if code in _REJECT_CODES:
        return Policy.REJECT
    return None


def classify(exc: BaseException, *, sent: bool = False) -> Policy:
    """Return the :class:`Policy` for an exception raised by a ccxt call.

    Parameters
    ----------
    exc : BaseException
        What the call raised.
    sent : bool, default False
        Whether the call may have changed state on the venue (an order was sent). Transport
        doubts then map to UNKNOWN instead of RETRY.

    Returns
    -------
    Policy
        Non-ccxt exceptions are UNKNOWN after a send and BUG before one (fail closed).

    Examples
    --------
    >>> import ccxt
    >>> classify(ccxt.RateLimitExceeded("binance 429 Too Many Requests"))
    <Policy.RATE: 'rate'>
    >>> classify(ccxt.DDoSProtection("binance 418 I'm a teapot {}"))
    <Policy.BAN: 'ban'>
    >>> classify(ccxt.RequestTimeout("binance POST /api/v3/order"), sent=True)
    <Policy.UNKNOWN: 'unknown'>
    >>> classify(ccxt.BadRequest('binance {"code":-1021,"msg":"Timestamp..."}'))
    <Policy.RESYNC: 'resync'>
    """
    import ccxt

    if not isinstance(exc, ccxt.BaseError):
        return Policy.UNKNOWN if sent else Policy.BUG
    if isinstance(exc, ccxt.InvalidNonce) or exchange_code(exc) in _RESYNC_CODES:
        return Policy.RESYNC
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return Policy.BAN if http_status(exc) == 418 else Policy.RATE
    if isinstance(exc, ccxt.AuthenticationError):  # PermissionDenied, AccountSuspended
        return Policy.STOP
    code = exchange_code(exc)
    if code is not None and (policy := _by_code(code, sent)) is not None:
        return policy
    if isinstance(exc, ccxt.NetworkError | ccxt.OperationFailed):
        # RequestTimeout, ExchangeNotAvailable, OnMaintenance, BadResponse, NullResponse...
        return Policy.UNKNOWN if sent else Policy.RETRY
    if type(exc) is ccxt.ExchangeError or type(exc) is ccxt.BaseError:
        return Policy.UNKNOWN if sent else Policy.RETRY
    return Policy.REJECT  # InvalidOrder, InsufficientFunds, BadRequest, OrderNotFound...


def retry_after_seconds(headers: Mapping[str, Any] | None, *,
                        now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None.

    A non-finite value (``inf``, ``nan``) is None; a finite one is capped at
    :data:`MAX_BAN_S`.
    """
    if not headers:
        return None
    value = None
    for key, item in headers.items():
        if str(key).lower() == "retry-after":
            value = str(item).strip()
            break
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return min(max(0.0, seconds), MAX_BAN_S) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return min(max(0.0, when - (time.time() if now is None else now)), MAX_BAN_S)


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff with full jitter.

    Parameters
    ----------
    max_attempts : int, default 5 - calls in total (the first one included).
    base_s : float, default 0.25 - the first backoff ceiling.
    cap_s : float, default 8 - the largest ceiling.
    max_total_s : float, default 30 - no call keeps trying (waits included) past this.
    seed : int, default 0 - seed of the jitter.
    """

    max_attempts: int = 5
    base_s: float = 0.25
    cap_s: float = 8.0
    max_total_s: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("max_attempts", self.max_attempts, caller="Backoff", minimum=1)
        check_float("base_s", self.base_s, caller="Backoff", minimum=0.0)
        check_float("cap_s", self.cap_s, caller="Backoff", minimum=0.0)
        check_float("max_total_s", self.max_total_s, caller="Backoff", minimum=0.0)
        check_int("seed", self.seed, caller="Backoff")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt ``attempt`` (1-based)."""
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2.0 ** (attempt - 1)))


@dataclass
class RequestGate:
    """Refuses requests locally until a ban or a long Retry-After ends.

    ``clock`` is a monotonic clock in seconds (injectable for tests).
    """

    clock: Callable[[], float] = time.monotonic
    until: float = 0.0
    reason: str = ""

    def block(self, seconds: float, reason: str) -> None:
        """Refuse requests for ``seconds`` from now (extends, never shortens, a block).

        ``seconds`` is capped at :data:`MAX_BAN_S`; a non-finite value blocks that long.
        """
        seconds = min(max(0.0, seconds), MAX_BAN_S) if not math.isnan(seconds) else MAX_BAN_S
        self.until = max(self.until, self.clock() + seconds)
        self.reason = reason

    def remaining(self) -> float:
        """Seconds left before requests may go out (0 when open)."""
        return max(0.0, self.until - self.clock())

    def check(self, what: str) -> None:
        """Raise :class:`VenueBannedError` while blocked."""
        left = self.remaining()
        if left > 0:
            raise VenueBannedError(
                f"{what} was not sent: requests to the venue are blocked for {left:.1f} s more "
                f"({self.reason}). Wait until the block ends; sending earlier extends the ban.",
                policy=Policy.BAN, what=what)


def _identity(text: str) -> str:
    return text


@dataclass
class VenueCaller:
    """Run venue calls under the policy of :func:`classify`.

    Parameters
    ----------
    backoff : Backoff
    gate : RequestGate
    sleep : callable - ``sleep(seconds)``; default :func:`time.sleep`.
    clock : callable - monotonic seconds; default :func:`time.monotonic`.
    headers : callable - the last response's headers (ccxt's
        ``exchange.last_response_headers``), read for Retry-After.
    resync : callable, optional - resync the clock (``exchange.load_time_difference``).
    redact : callable - applied to every message built from a venue error.
    ban_default_s : float, default 120 - the ban length when a 418 gives no Retry-After.
    venue : str - the venue's name in messages.
    """

    backoff: Backoff = field(default_factory=Backoff)
    gate: RequestGate = field(default_factory=RequestGate)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    headers: Callable[[], Mapping[str, Any] | None] = lambda: None
    resync: Callable[[], Any] | None = None
    redact: Callable[[str], str] = _identity
    ban_default_s: float = 120.0
    venue: str = "venue"
    rng: random.Random = field(init=False)
    waits: list[float] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.backoff.seed)

    def call(self, what: str, fn: Callable[[], T], *, sent: bool = False) -> T:
        """Return ``fn()``, retrying per policy; raise a :class:`VenueError` otherwise.

        Raises
        ------
        OutcomeUnknown
            ``sent`` and the answer was lost (the caller must query, never resend).
        VenueRejectedError, VenueAuthError, VenueBannedError, VenueUnavailableError
        """
        start = self.clock()
        resynced = False
        attempt = 0
        while True:
            self.gate.check(what)
            attempt += 1
            try:
                return fn()
            except Exception as exc:  # classified below; nothing is swallowed
                policy = classify(exc, sent=sent)
                if policy is Policy.RESYNC and not resynced and self.resync is not None:
                    self._resync(what, exc)
                    resynced = True
                    continue
                wait = self._wait_or_raise(what, exc, policy, attempt, start)
            self.waits.append(wait)
            self.sleep(wait)

    def _resync(self, what: str, exc: BaseException) -> None:
        try:
            self.resync()  # type: ignore[misc]
        except Exception as again:
            raise self._error(VenueUnavailableError, Policy.RESYNC, what, again,
                              "the clock resync (fetch_time) failed after a timestamp "
                              "error; check the host clock (NTP)") from again

    def _wait_or_raise(self, what: str, exc: BaseException, policy: Policy, attempt: int,
                       start: float) -> float:
        if policy is Policy.UNKNOWN:
            raise self._error(OutcomeUnknown, policy, what, exc,
                              "the outcome is unknown: query the order by its client id, "
                              "never resend it") from exc
        if policy is Policy.REJECT:
            raise self._error(VenueRejectedError, policy, what, exc,
                              "the venue refused it; not retried") from exc
        if policy is Policy.STOP:
            raise self._error(VenueAuthError, policy, what, exc,
                              "credentials or permissions were refused; not retried: check "
                              "the API key, its permissions and IP whitelist, then restart") \
                from exc
        if policy is Policy.BUG:
            raise self._error(VenueBugError, policy, what, exc,
                              f"unexpected {type(exc).__name__} inside a ccxt call (a bug, not "
                              "credentials); not retried: report it with the traceback") \
                from exc
        if policy is Policy.RESYNC:
            raise self._error(VenueUnavailableError, policy, what, exc,
                              "the timestamp is still outside the receive window after a "
                              "clock resync; fix the host clock (NTP)") from exc
        after = retry_after_seconds(self.headers())
        if policy is Policy.BAN:
            self.gate.block(self.ban_default_s if after is None else after, "HTTP 418 ban")
            raise self._error(VenueBannedError, policy, what, exc,
                              f"the venue banned this IP for {self.gate.remaining():.0f} s; "
                              "no request goes out until the ban ends") from exc
        if policy is Policy.RATE and after is not None:
            wait = after
        else:
            wait = self.backoff.delay(attempt, self.rng)
        elapsed = self.clock() - start
        if attempt >= self.backoff.max_attempts or elapsed + wait > self.backoff.max_total_s:
            if policy is Policy.RATE and after is not None:
                self.gate.block(after, "HTTP 429 Retry-After")
            raise self._error(VenueUnavailableError, policy, what, exc,
                              f"gave up after {attempt} attempt(s) in {elapsed:.1f} s (limits: "
                              f"{self.backoff.max_attempts} attempts, "
                              f"{self.backoff.max_total_s:g} s)") from exc
        return wait

    def _error(self, cls: type[VenueError], policy: Policy, what: str, exc: BaseException,
               text: str) -> VenueError:
        detail = self.redact(f"{type(exc).__name__}: {exc}")
        if len(detail) > 300:
            detail = detail[:297] + "..."
        return cls(f"{self.venue} {what}: {text} [{policy.value}; {detail}]", policy=policy,
                   what=what, error_class=type(exc).__name__)


def rewrite_urls(client: Any, urls: Any, *, caller: str) -> None:
    """Point a ccxt client's REST API at other hosts (a proxy, a testnet, a fake server).

    Parameters
    ----------
    client : ccxt.Exchange
    urls : str or mapping
        A base URL (``"http://127.0.0.1:8000"``) replaces the scheme and host of every API
        URL, keeping each path; a mapping's ``"base"`` key does the same and every other key
        replaces ``client.urls["api"][key]``.
    caller : str
        Named in the error message.

    Notes
    -----
    ``client.session.trust_env`` is set False: a rewritten host never goes through the
    environment's proxies (``HTTPS_PROXY`` would otherwise capture a loopback URL).

    Raises
    ------
    InvalidParameterError
        ``urls`` is neither an http(s) URL nor a mapping.
    """
    items = {"base": urls} if isinstance(urls, str) else urls
    if not isinstance(items, Mapping) or not all(
            isinstance(v, str) and (k != "base" or v.startswith(("http://", "https://")))
            for k, v in items.items()):
        raise InvalidParameterError(message(
            "urls", caller, "a base URL such as 'https://host:port' or a mapping of API URLs",
            urls))
    api = client.urls.get("api")
    for key, url in items.items():
        if key != "base":
            if not isinstance(api, dict):
                client.urls["api"] = api = {}
            api[str(key)] = url
        elif isinstance(api, str):
            client.urls["api"] = api = url.rstrip("/") + urlsplit(api).path
        else:
            for name, old in list(api.items()):
                if isinstance(old, str):
                    api[name] = url.rstrip("/") + urlsplit(old).path
    session = getattr(client, "session", None)
    if session is not None:
        session.trust_env = False

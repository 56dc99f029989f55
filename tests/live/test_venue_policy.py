"""venue_policy: ccxt error classes -> policies, Retry-After, backoff bounds, the request gate.

Oracles: ccxt's own exception hierarchy (checked here, not assumed), the HTTP date format of
RFC 9110 (``email.utils.format_datetime``), and fake clocks whose readings the code under test
does not control.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import ccxt
import pytest

from quantlab.errors import ExchangeError
from quantlab.live._errors import LiveError
from quantlab.live.runner import is_fatal
from quantlab.live.venue_policy import (
    MAX_BAN_S,
    Backoff,
    OutcomeUnknown,
    Policy,
    RequestGate,
    VenueAuthError,
    VenueBannedError,
    VenueBugError,
    VenueCaller,
    VenueRejectedError,
    VenueUnavailableError,
    classify,
    exchange_code,
    http_status,
    retry_after_seconds,
    rewrite_urls,
)


class FakeClock:
    """Monotonic seconds advanced only by the fake sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limit_exceeded_is_not_ddos_protection_in_this_ccxt():
    # the premise of behaviour 4: both must be handled, neither subclasses the other
    assert not issubclass(ccxt.RateLimitExceeded, ccxt.DDoSProtection)
    assert not issubclass(ccxt.DDoSProtection, ccxt.RateLimitExceeded)
    assert classify(ccxt.RateLimitExceeded("binance 429 Too Many Requests {}")) is Policy.RATE
    assert classify(ccxt.DDoSProtection("binance 429 Too Many Requests {}")) is Policy.RATE
    assert classify(ccxt.DDoSProtection("binance 418 I'm a teapot {}")) is Policy.BAN
    # the generic ccxt message format: "<id> <method> <url> <status> <reason> <body>"
    assert classify(ccxt.DDoSProtection("okx GET https://x/y 418 I'm a teapot ")) is Policy.BAN


@pytest.mark.parametrize("exc, before, after", [
    (ccxt.RequestTimeout("binance POST http://h/api/v3/order"), Policy.RETRY, Policy.UNKNOWN),
    (ccxt.NetworkError("reset"), Policy.RETRY, Policy.UNKNOWN),
    (ccxt.ExchangeNotAvailable("binance 503"), Policy.RETRY, Policy.UNKNOWN),
    (ccxt.OnMaintenance("System is under maintenance."), Policy.RETRY, Policy.UNKNOWN),
    (ccxt.OperationFailed('binance {"code":-1000,"msg":"unknown"}'), Policy.RETRY,
     Policy.UNKNOWN),
    (ccxt.BadResponse('binance {"code":-1006,"msg":"status unknown"}'), Policy.RETRY,
     Policy.UNKNOWN),
    (ccxt.ExchangeError("binance POST http://h/x"), Policy.RETRY, Policy.UNKNOWN),
    (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'),
     Policy.REJECT, Policy.REJECT),
    (ccxt.InsufficientFunds("binance Account has insufficient balance"), Policy.REJECT,
     Policy.REJECT),
    (ccxt.BadRequest('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'),
     Policy.REJECT, Policy.REJECT),
    # the real host's spot table maps -1013 to a plain ExchangeError: the code decides
    (ccxt.ExchangeError('binance {"code":-1013,"msg":"Filter failure: NOTIONAL"}'),
     Policy.REJECT, Policy.REJECT),
    (ccxt.OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'),
     Policy.REJECT, Policy.REJECT),
    (ccxt.AuthenticationError('binance {"code":-2015}'), Policy.STOP, Policy.STOP),
    (ccxt.PermissionDenied("no"), Policy.STOP, Policy.STOP),
    (ccxt.AccountSuspended("no"), Policy.STOP, Policy.STOP),
    # -1022 is BadRequest on the real host's spot table and AuthenticationError elsewhere
    (ccxt.BadRequest('binance {"code":-1022,"msg":"Signature"}'), Policy.STOP, Policy.STOP),
    (ccxt.InvalidNonce('binance {"code":-1021}'), Policy.RESYNC, Policy.RESYNC),
    (ccxt.BadRequest('binance {"code":-1021,"msg":"Timestamp"}'), Policy.RESYNC,
     Policy.RESYNC),
    (ValueError("a bug"), Policy.BUG, Policy.UNKNOWN),
    (KeyError("price"), Policy.BUG, Policy.UNKNOWN),
])
def test_classify_table(exc, before, after):
    assert classify(exc, sent=False) is before
    assert classify(exc, sent=True) is after


def test_code_and_status_parsing():
    assert exchange_code(ccxt.BadRequest('binance {"code":-1021,"msg":"x"}')) == -1021
    assert exchange_code(ccxt.BadRequest("no code")) is None
    assert http_status(ccxt.DDoSProtection("binance 418 I'm a teapot {}")) == 418
    assert http_status(ccxt.DDoSProtection("binance nothing")) is None


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds({"Retry-After": "2.5"}) == 2.5
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"X": "1"}) is None and retry_after_seconds(None) is None
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds({"Retry-After": date}, now=now) == 30.0
    assert retry_after_seconds({"Retry-After": "garbage"}) is None


def test_backoff_is_bounded_seeded_and_jittered():
    b = Backoff(max_attempts=6, base_s=0.5, cap_s=2.0, seed=3)
    first = [b.delay(k, random.Random(3)) for k in range(1, 7)]
    again = [b.delay(k, random.Random(3)) for k in range(1, 7)]
    assert first == again  # seeded
    for k, d in enumerate(first, start=1):
        assert 0.0 <= d <= min(2.0, 0.5 * 2 ** (k - 1))
    with pytest.raises(ValueError, match="max_attempts"):
        Backoff(max_attempts=0)


def _caller(clock: FakeClock, **kw) -> VenueCaller:
    return VenueCaller(backoff=kw.pop("backoff", Backoff(max_attempts=4, max_total_s=60)),
                       gate=RequestGate(clock=clock), sleep=clock.sleep, clock=clock, **kw)


def _failing(*errors):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"
    return fn, calls


def test_retry_then_success_and_bounded_attempts():
    clock = FakeClock()
    fn, calls = _failing(ccxt.RequestTimeout("t"), ccxt.ExchangeNotAvailable("503"))
    assert _caller(clock).call("fetch_balance", fn) == "ok"
    assert len(calls) == 3 and len(clock.slept) == 2
    fn, calls = _failing(*[ccxt.NetworkError("down")] * 10)
    with pytest.raises(VenueUnavailableError, match="gave up after 4 attempt"):
        _caller(clock).call("fetch_balance", fn)
    assert len(calls) == 4


def test_total_time_bound():
    clock = FakeClock()
    fn, calls = _failing(*[ccxt.RateLimitExceeded("429")] * 10)
    caller = _caller(clock, backoff=Backoff(max_attempts=10, max_total_s=5.0),
                     headers=lambda: {"Retry-After": "2"})
    with pytest.raises(VenueUnavailableError):
        caller.call("fetch_balance", fn)
    assert sum(clock.slept) <= 5.0 and clock.slept == [2.0, 2.0]
    # the unspent Retry-After blocks the gate: the next call sends nothing
    fn2, calls2 = _failing()
    with pytest.raises(VenueBannedError):
        caller.call("fetch_balance", fn2)
    assert calls2 == []


def test_rejects_and_auth_are_never_retried():
    clock = FakeClock()
    for exc, cls in ((ccxt.InvalidOrder("x"), VenueRejectedError),
                     (ccxt.AuthenticationError("x"), VenueAuthError)):
        fn, calls = _failing(exc, exc)
        with pytest.raises(cls):
            _caller(clock).call("create_order(a)", fn, sent=True)
        assert len(calls) == 1
    assert clock.slept == []
    err = VenueAuthError("x", policy=Policy.STOP)
    assert isinstance(err, LiveError) and isinstance(err, ExchangeError) and is_fatal(err)
    assert not is_fatal(VenueBannedError("x", policy=Policy.BAN))


def test_unknown_after_send_is_raised_not_retried():
    clock = FakeClock()
    fn, calls = _failing(ccxt.RequestTimeout("t"))
    with pytest.raises(OutcomeUnknown, match="never resend"):
        _caller(clock).call("create_order(a)", fn, sent=True)
    assert len(calls) == 1


def test_resync_once_then_retry():
    clock = FakeClock()
    resyncs = []
    fn, calls = _failing(ccxt.InvalidNonce('{"code":-1021}'))
    assert _caller(clock, resync=lambda: resyncs.append(1)).call("x", fn, sent=True) == "ok"
    assert len(calls) == 2 and resyncs == [1]
    fn, calls = _failing(ccxt.InvalidNonce("a"), ccxt.InvalidNonce("b"))
    with pytest.raises(VenueUnavailableError, match="host clock"):
        _caller(clock, resync=lambda: resyncs.append(1)).call("x", fn)
    assert len(calls) == 2 and len(resyncs) == 2


def test_ban_blocks_the_gate_until_it_ends():
    clock = FakeClock()
    caller = _caller(clock, headers=lambda: {"Retry-After": "30"})
    fn, calls = _failing(ccxt.DDoSProtection("binance 418 I'm a teapot {}"))
    with pytest.raises(VenueBannedError, match="banned"):
        caller.call("fetch_balance", fn)
    assert len(calls) == 1
    clock.now += 29.0
    with pytest.raises(VenueBannedError, match="blocked for 1.0 s"):
        caller.call("fetch_balance", fn)
    assert len(calls) == 1  # nothing sent during the ban
    clock.now += 1.0
    assert caller.call("fetch_balance", fn) == "ok" and len(calls) == 2


def test_messages_are_redacted():
    clock = FakeClock()
    fn, _ = _failing(ccxt.AuthenticationError("key CANARY-KEY refused"))
    caller = _caller(clock, redact=lambda t: t.replace("CANARY-KEY", "***"))
    with pytest.raises(VenueAuthError) as info:
        caller.call("fetch_balance", fn)
    assert "CANARY-KEY" not in str(info.value) and "***" in str(info.value)


def test_futures_codes_reject_even_as_a_plain_exchange_error():
    # against a non-Binance host ccxt raises a bare ExchangeError for -2022: the code decides
    exc = ccxt.ExchangeError('binanceusdm {"code":-2022,"msg":"ReduceOnly Order is rejected."}')
    assert classify(exc, sent=True) is Policy.REJECT
    exc = ccxt.ExchangeError('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}')
    assert classify(exc, sent=True) is Policy.REJECT


# ---------------------------------------------------------------- review fixes
def test_a_non_ccxt_exception_is_a_fatal_bug_not_a_credentials_error():
    clock = FakeClock()
    fn, calls = _failing(KeyError("price"), KeyError("price"))
    with pytest.raises(VenueBugError) as info:
        _caller(clock).call("fetch_my_trades(BTC/USDT)", fn)
    err = info.value
    assert len(calls) == 1 and clock.slept == []             # never retried
    assert not isinstance(err, VenueAuthError) and is_fatal(err)
    assert "unexpected KeyError inside a ccxt call (a bug, not credentials)" in str(err)
    assert "API key" not in str(err)
    # after a send the order may exist: still UNKNOWN (query, never resend)
    fn, _ = _failing(KeyError("price"))
    with pytest.raises(OutcomeUnknown):
        _caller(clock).call("create_order(a)", fn, sent=True)


@pytest.mark.parametrize("value", ["inf", "Infinity", "nan", "-inf"])
def test_a_non_finite_retry_after_is_ignored(value):
    assert retry_after_seconds({"Retry-After": value}) is None
    clock = FakeClock()
    caller = _caller(clock, headers=lambda: {"Retry-After": value})
    fn, _ = _failing(ccxt.DDoSProtection("binance 418 I'm a teapot {}"))
    with pytest.raises(VenueBannedError):
        caller.call("fetch_balance", fn)
    assert caller.gate.remaining() == caller.ban_default_s    # the default, not forever


def test_a_huge_retry_after_is_capped_at_the_longest_ban():
    assert MAX_BAN_S == 3 * 24 * 3600.0
    assert retry_after_seconds({"Retry-After": "1e12"}) == MAX_BAN_S
    far = format_datetime(datetime(2999, 1, 1, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds({"Retry-After": far}) == MAX_BAN_S
    clock = FakeClock()
    caller = _caller(clock, headers=lambda: {"Retry-After": "1e300"})
    fn, calls = _failing(ccxt.DDoSProtection("binance 418 I'm a teapot {}"))
    with pytest.raises(VenueBannedError):
        caller.call("fetch_balance", fn)
    assert caller.gate.remaining() == MAX_BAN_S
    clock.now += MAX_BAN_S
    assert caller.call("fetch_balance", fn) == "ok" and len(calls) == 2
    gate = RequestGate(clock=clock)
    gate.block(float("inf"), "x")
    assert gate.remaining() == MAX_BAN_S


def test_rewrite_urls_keeps_paths_and_ignores_environment_proxies():
    client = ccxt.binance()
    client.session.trust_env = True
    old = client.urls["api"]["private"]
    rewrite_urls(client, "http://127.0.0.1:9/", caller="T")
    assert client.urls["api"]["private"] == "http://127.0.0.1:9" + old.split(".com", 1)[1]
    assert client.session.trust_env is False
    rewrite_urls(client, {"public": "http://127.0.0.1:8/x"}, caller="T")
    assert client.urls["api"]["public"] == "http://127.0.0.1:8/x"
    from quantlab.errors import InvalidParameterError
    with pytest.raises(InvalidParameterError, match="`urls` of T"):
        rewrite_urls(client, "ftp://x", caller="T")

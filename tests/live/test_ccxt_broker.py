"""CcxtBroker against the fake Binance on 127.0.0.1, through the real ccxt client.

The fake's ledger and request log are the truth: every test asserts on what the exchange
holds (orders per client id, trades, balances) and on how many requests reached it, never on
the broker's own account of what it did. RELIABILITY.md T5-T9, T11-T13, T16, T25, T24 (canary)
and behaviour 4 (auth errors stop).
"""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantlab.errors import InvalidParameterError
from quantlab.live.brokers import OrderRequest
from quantlab.live.ccxt_broker import CcxtBroker, truncate_to_lot
from quantlab.live.secrets import Secret
from quantlab.live.venue_policy import VenueAuthError, VenueBannedError
from tests.fakes.exchange import FakeBinance, SymbolRules

KEY, SECRET = "CANARY-KEY-7f3a9c", "CANARY-SECRET-b41e0d"
SYM = "BTC/USDT"
POST = ("POST", "/api/v3/order")


class Clock:
    """A monotonic clock moved by the broker's (fake) sleep and by the test."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def server():
    with FakeBinance(symbols=(SYM, "ETH/USDT"), api_key=KEY, secret=SECRET,
                     time_source="wall") as s:
        yield s


@pytest.fixture
def fresh(server):
    """The module's server with an empty ledger, no faults and a pinned price of 100."""
    from tests.fakes.ledger import Ledger

    with server.lock:
        server.faults.clear()
        server.requests.clear()
    server.ledger = Ledger({m: (v["base"], v["quote"]) for m, v in server.markets.items()})
    server.prices = {SYM: D(100), "ETH/USDT": D(10)}
    server.skew_ms = server.hidden = server.duplicated = 0
    return server


def make(server, clock=None, **kw) -> CcxtBroker:
    clock = clock or Clock()
    return CcxtBroker("binance", symbols=[SYM], urls={"base": server.url},
                      api_key=Secret(KEY, name="K"), secret=Secret(SECRET, name="S"),
                      clock=clock, sleep=clock.sleep, **kw)


def buy(cid, size=0.5, price=100.0, symbol=SYM):
    return OrderRequest(cid, symbol, "buy", size, price)


def posts(server) -> int:
    return server.request_counts()[POST]


# ---------------------------------------------------------------- basic contract
def test_submit_fill_query_positions_balances(fresh):
    b = make(fresh)
    ack = b.submit(buy("r-s-00000001", 0.123456))
    (order,) = fresh.ledger.by_client_id("r-s-00000001")
    assert order.qty == D("0.12345")            # truncated to the 0.00001 lot, never up
    assert (ack.state, ack.broker_id, ack.filled) == ("FILLED", str(order.order_id), 0.12345)
    fills, cursor = b.fills_since(0)
    (trade,) = fresh.ledger.trades
    assert [(f.trade_id, f.client_id, f.size, f.price, f.fee) for f in fills] == [
        (f"BTCUSDT:{trade.trade_id}", "r-s-00000001", float(trade.qty), float(trade.price),
         float(trade.commission))]
    assert b.fills_since(cursor) == ([], cursor)
    assert b.positions() == {SYM: float(fresh.ledger.position("BTCUSDT"))}
    assert b.balances()["USDT"] == pytest.approx(float(fresh.ledger.balance("USDT")[0]))
    assert b.get_order("r-s-00000001").state == "FILLED"
    assert b.get_order("never-sent") is None
    assert b.rules(SYM) == (1e-05, 0.01, 5.0)


def test_a_known_client_id_returns_its_state_without_a_second_order(fresh):
    b = make(fresh)
    b.submit(buy("r-s-00000001"))
    again = b.submit(buy("r-s-00000001"))
    assert again.state == "FILLED" and again.detail == "duplicate client id"
    assert len(fresh.ledger.by_client_id("r-s-00000001")) == 1


# ---------------------------------------------------------------- T5-T6: commit then fail
@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", [
    dict(kind="drop"),                                                   # reset
    dict(kind="status", status=500),                                     # 5xx (-1000)
    dict(kind="status", status=503,
         body={"code": -1007, "msg": "Timeout waiting for response from backend server. "
                                     "Send status unknown; execution status unknown."}),
    dict(kind="status", status=502,
         body={"code": -1006, "msg": "An unexpected response was received from the message "
                                     "bus. Execution status unknown."}),
    dict(kind="delay", delay=1.5),                                       # client timeout
], ids=["reset", "5xx", "status-unknown-1007", "status-unknown-1006", "timeout"])
def test_lost_answer_after_commit_is_resolved_by_query_never_resent(fresh, fault):
    b = make(fresh, timeout_ms=700)
    kind = fault.pop("kind")
    fresh.inject(kind, path="/api/v3/order", method="POST", commit=True, **fault)
    ack = b.submit(buy("r-s-00000002"))
    assert ack.state == "FILLED" and ack.detail.startswith("resolved by query")
    assert len(fresh.ledger.by_client_id("r-s-00000002")) == 1      # exactly one order
    assert posts(fresh) == 1                                        # never resent
    assert [f.client_id for f in b.fills_since(0)[0]] == ["r-s-00000002"]


def test_not_visible_for_a_while_stays_unknown_then_is_found(fresh):
    # T13: the order exists but queries say "does not exist" for a while
    b = make(fresh, resolve_attempts=2)
    fresh.inject("drop", path="/api/v3/order", method="POST", commit=True)
    fresh.hide_orders(3)
    ack = b.submit(buy("r-s-00000003"))
    assert ack.state == "UNKNOWN"                     # never REJECTED by assumption
    assert b.get_order("r-s-00000003") is None        # the third hidden answer
    assert b.get_order("r-s-00000003").state == "FILLED"
    assert posts(fresh) == 1 and len(fresh.ledger.by_client_id("r-s-00000003")) == 1


def test_maintenance_during_submit_sends_once_and_reports_unknown(fresh):
    # T15: 503 maintenance on the order and on the first query; no order booked
    b = make(fresh, resolve_attempts=2)
    b.rules(SYM)                                         # markets loaded before the fault
    fresh.maintenance(2)
    ack = b.submit(buy("r-s-00000004"))
    assert ack.state == "UNKNOWN" and posts(fresh) == 1
    assert fresh.ledger.orders == []
    assert b.get_order("r-s-00000004") is None        # maintenance over: definitively absent


# ---------------------------------------------------------------- T7: definitive rejections
def test_min_notional_at_the_exchange_is_one_request_no_retry(fresh):
    b = make(fresh)
    fresh.prices[SYM] = D(9)       # reference 100 passes locally; 0.5 x 9 = 4.5 < 5 there
    ack = b.submit(buy("r-s-00000005", 0.5, 100.0))
    assert ack.state == "REJECTED" and "NOTIONAL" in ack.detail
    assert posts(fresh) == 1 and fresh.ledger.orders == []


def test_insufficient_funds_is_one_request_no_retry(fresh):
    b = make(fresh)
    ack = b.submit(buy("r-s-00000006", 5000.0))          # 500 000 USDT > 100 000
    assert ack.state == "REJECTED" and "insufficient balance" in ack.detail
    assert posts(fresh) == 1 and fresh.ledger.orders == []


def test_bad_request_is_one_request_no_retry(fresh):
    b = make(fresh)
    fresh.inject("status", path="/api/v3/order", method="POST", status=400,
                 body={"code": -1102, "msg": "Mandatory parameter 'x' was not sent."})
    ack = b.submit(buy("r-s-00000007"))
    assert ack.state == "REJECTED" and posts(fresh) == 1 and fresh.ledger.orders == []


def test_local_refusals_send_nothing(fresh):
    b = make(fresh)
    b.rules(SYM)                                         # markets loaded
    before = sum(fresh.request_counts().values())
    for order in (buy("a", 0.04, 100.0),                 # notional 4 < 5
                  buy("b", 0.000004, 1e7),               # truncates to 0
                  buy("c", float("nan")), buy("d", 1.0, float("inf"))):
        ack = b.submit(order)
        assert ack.state == "REJECTED" and ack.detail.startswith("refused locally")
    assert sum(fresh.request_counts().values()) == before


# ---------------------------------------------------------------- T8: rules under hypothesis
STEPS = ["1", "0.1", "0.01", "0.001", "0.00001", "0.005", "0.25"]


@pytest.mark.timeout(120)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(step=st.sampled_from(STEPS), tick=st.sampled_from(["0.01", "0.5", "1", "0.0001"]),
       min_notional=st.sampled_from(["0", "1", "5", "10", "100"]),
       ticks=st.integers(1, 200_000), size=st.floats(1e-6, 50.0))
def test_every_order_passes_the_exchange_filters_or_is_refused_locally(
        server, step, tick, min_notional, ticks, size):
    price = D(tick) * ticks
    server.ledger.rules["BTCUSDT"] = SymbolRules.of(step=step, min_qty=step, tick=tick,
                                                    min_notional=min_notional,
                                                    max_qty="1000000")
    server.ledger.free["USDT"] = D(10) ** 12
    server.prices[SYM] = price
    b = make(server)
    b.rules(SYM)
    cid = f"h-{len(server.ledger.orders)}-{len(server.requests)}"
    before = posts(server)
    ack = b.submit(OrderRequest(cid, SYM, "buy", size, float(price)))
    if ack.detail.startswith("refused locally"):
        assert posts(server) == before                  # no request at all
        exact = (D(repr(size)) // D(step)) * D(step)
        assert exact < D(step) or exact * price < D(min_notional)
    else:
        (order,) = server.ledger.by_client_id(cid)     # the exchange accepted it
        assert ack.state == "FILLED" and order.status == "FILLED"
        assert order.qty <= D(repr(size)) < order.qty + D(step)   # truncated, never up
    b.close()


def test_truncate_to_lot_is_exact():
    assert truncate_to_lot(0.3, 0.1) == 0.3                # floats: 0.3 / 0.1 < 3
    assert truncate_to_lot(0.29999, 0.1) == 0.2
    assert truncate_to_lot(1.0, 0.25) == 1.0 and truncate_to_lot(0.999, 0.25) == 0.75


# ---------------------------------------------------------------- T9: 429 and 418
@pytest.mark.timeout(60)
def test_429_retry_after_is_honoured(fresh):
    b = CcxtBroker("binance", symbols=[SYM], urls={"base": fresh.url},
                   api_key=Secret(KEY), secret=Secret(SECRET))    # the real clock and sleep
    b.rules(SYM)
    fresh.inject("status", path="/api/v3/order", method="POST", status=429, retry_after=1)
    ack = b.submit(buy("r-s-00000009"))
    first, second = fresh.requests_to("/api/v3/order", "POST")
    assert second.received_s - first.received_s >= 1.0      # measured by the server
    assert ack.state == "FILLED" and len(fresh.ledger.by_client_id("r-s-00000009")) == 1


def test_418_stops_every_request_until_the_ban_ends(fresh):
    clock = Clock()
    b = make(fresh, clock)
    b.rules(SYM)
    fresh.inject("status", path="/api/v3/order", method="POST", status=418, retry_after=60)
    with pytest.raises(VenueBannedError, match="banned"):
        b.submit(buy("r-s-00000010"))
    sent = sum(fresh.request_counts().values())
    clock.now += 59.0
    for call in (lambda: b.submit(buy("r-s-00000011")), b.balances, b.open_orders,
                 lambda: b.get_order("r-s-00000010")):
        with pytest.raises(VenueBannedError, match="blocked"):
            call()
    assert sum(fresh.request_counts().values()) == sent     # nothing left the process
    clock.now += 1.0
    assert b.submit(buy("r-s-00000011")).state == "FILLED"
    assert fresh.ledger.by_client_id("r-s-00000010") == []


# ---------------------------------------------------------------- T11-T13: fills
def test_partial_fills_cancel_fill_after_cancel_and_duplicates_count_once(fresh):
    b = make(fresh)
    resting = fresh.place_by_hand(SYM, "buy", "2", "90", client_id="r-s-00000012")
    fresh.fill("r-s-00000012", "0.5")
    fresh.fill("r-s-00000012", "0.25")
    assert b.get_order("r-s-00000012")[2:4] == ("PARTIALLY_FILLED", 0.75)
    assert b.cancel("r-s-00000012").state == "CANCELLED"
    fresh.fill("r-s-00000012", "0.5", force=True)            # reported after the cancel
    fresh.duplicate_trades(2)
    fills, cursor = b.fills_since(0)
    fills2, _ = b.fills_since(0)
    assert fills == fills2
    ledger_ids = [f"BTCUSDT:{t}" for t in resting.trade_ids]
    assert [f.trade_id for f in fills] == ledger_ids           # each exactly once
    assert {f.client_id for f in fills} == {"r-s-00000012"}
    assert b.positions()[SYM] == float(fresh.ledger.position("BTCUSDT")) == 1.25
    assert b.get_order("r-s-00000012").state == "CANCELLED"
    assert b.cancel("r-s-00000012").state == "CANCELLED"       # not open: its state


def test_fills_page_by_trade_id(fresh):
    b = make(fresh)
    for k in range(3):
        b.submit(buy(f"r-s-0000002{k}", 0.1))
    first, cursor = b.fills_since(0)
    b.submit(buy("r-s-00000023", 0.1))
    later, cursor2 = b.fills_since(cursor)
    assert [f.client_id for f in later] == ["r-s-00000023"] and cursor2 == cursor + 1
    asked = [int(r.params["fromId"]) for r in fresh.requests_to("/api/v3/myTrades")]
    assert asked[0] == 0 and asked[-1] == fresh.ledger.trades[-2].trade_id + 1


# ---------------------------------------------------------------- T16: clock skew
@pytest.mark.parametrize("skew_ms", [+20_000, -20_000])
def test_clock_skew_resyncs_once_and_places_one_order(fresh, skew_ms):
    b = make(fresh)
    b.rules(SYM)
    fresh.set_skew(skew_ms)
    ack = b.submit(buy("r-s-00000030"))
    assert ack.state == "FILLED"
    assert posts(fresh) == 2                                   # -1021, then the retry
    assert fresh.request_counts()[("GET", "/api/v3/time")] == 1
    assert len(fresh.ledger.by_client_id("r-s-00000030")) == 1


# ---------------------------------------------------------------- T25: foreign orders
def test_a_hand_placed_order_is_foreign(fresh):
    b = make(fresh)
    b.submit(buy("r-s-00000040"))
    fresh.place_by_hand(SYM, "buy", "1", "50", client_id="web_manual_1")
    mine = fresh.place_by_hand(SYM, "buy", "1", "60", client_id="r-s-00000041")
    ours, foreign = b.reconcile_open_orders("r-")
    assert [a.client_id for a in ours] == [mine.client_id]
    assert [a.client_id for a in foreign] == ["web_manual_1"]
    fresh.place_by_hand(SYM, "sell", "0.1", client_id="web_manual_2")    # a market fill
    owners = {f.client_id for f in b.fills_since(0)[0]}
    assert owners == {"r-s-00000040", "web_manual_2"}
    with pytest.raises(InvalidParameterError, match="prefix"):
        b.reconcile_open_orders("")


# ---------------------------------------------------------------- auth stops; canary
def test_auth_error_stops_without_retry(fresh):
    clock = Clock()
    b = CcxtBroker("binance", symbols=[SYM], urls={"base": fresh.url},
                   api_key=Secret(KEY), secret=Secret("wrong-secret"), clock=clock,
                   sleep=clock.sleep)
    b.rules(SYM)
    with pytest.raises(VenueAuthError) as info:
        b.submit(buy("r-s-00000050"))
    assert info.value.fatal and posts(fresh) == 1 and clock.slept == []
    with pytest.raises(VenueAuthError):
        b.balances()
    assert fresh.request_counts()[("GET", "/api/v3/account")] == 1


def test_canary_secrets_never_appear(fresh, caplog):
    caplog.set_level(logging.DEBUG, logger="ccxt")
    caplog.set_level(logging.DEBUG, logger="quantlab")
    clock = Clock()
    b = make(fresh, clock, resolve_attempts=1)
    texts = [repr(b), str(b)]
    b.submit(buy("r-s-00000060"))
    b.fills_since(0)
    b.balances()
    fresh.inject("drop", path="/api/v3/order", method="POST")
    fresh.hide_orders(5)
    texts.append(b.submit(buy("r-s-00000061")).detail)
    bad = CcxtBroker("binance", symbols=[SYM], urls={"base": fresh.url},
                     api_key=Secret(KEY), secret=Secret(SECRET + "x"), clock=clock,
                     sleep=clock.sleep)
    with pytest.raises(VenueAuthError) as info:
        bad.balances()
    texts += [str(info.value), repr(info.value), repr(bad)]
    logged = caplog.text
    assert "X-MBX-APIKEY" in logged and "***" in logged   # ccxt did log the headers, redacted
    for text in [*texts, logged]:
        assert KEY not in text and SECRET not in text


def test_from_config_reads_secrets_from_the_environment_only(fresh):
    env = {"QL_KEY": KEY, "QL_SECRET": SECRET}
    b = CcxtBroker.from_config({"exchange": "binance", "symbols": [SYM],
                                "urls": {"base": fresh.url}, "api_key_env": "QL_KEY",
                                "secret_env": "QL_SECRET"}, environ=env)
    assert b.authenticated and b.mode == "live"
    assert b.submit(buy("r-s-00000070")).state == "FILLED"
    with pytest.raises(InvalidParameterError, match="never read from config"):
        CcxtBroker.from_config({"exchange": "binance", "secret": SECRET})
    with pytest.raises(InvalidParameterError, match="QL_MISSING") as info:
        CcxtBroker.from_config({"exchange": "binance", "api_key_env": "QL_MISSING",
                                "secret_env": "QL_SECRET"}, environ=env)
    assert SECRET not in str(info.value)
    with pytest.raises(InvalidParameterError, match="binance"):
        CcxtBroker("binanc")
    with pytest.raises(InvalidParameterError, match="together"):
        CcxtBroker("binance", api_key=Secret(KEY))
    with pytest.raises(InvalidParameterError, match="Secret"):
        CcxtBroker("binance", api_key=KEY, secret=SECRET)  # type: ignore[arg-type]


# ---------------------------------------------------------------- linear perpetuals
PERP = "BTC/USDT:USDT"


def test_linear_leverage_reduce_only_positions_and_fills(fresh):
    from tests.fakes.ledger import FuturesLedger

    fresh.futures = FuturesLedger({"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT")})
    clock = Clock()
    b = CcxtBroker("binanceusdm", market_type="linear", symbols=[PERP], leverage=3,
                   urls={"base": fresh.url}, api_key=Secret(KEY), secret=Secret(SECRET),
                   clock=clock, sleep=clock.sleep)
    assert b.submit(OrderRequest("r-p-00000001", PERP, "buy", 0.5, 100.0)).state == "FILLED"
    assert fresh.futures.leverage["BTCUSDT"] == 3
    # reduce-only that would flip the position: the venue refuses, one request, no retry
    before = fresh.request_counts()[("POST", "/fapi/v1/order")]
    ack = b.submit(OrderRequest("r-p-00000002", PERP, "sell", 1.0, 100.0, True))
    assert ack.state == "REJECTED" and "-2022" in ack.detail
    assert fresh.request_counts()[("POST", "/fapi/v1/order")] == before + 1
    fresh.prices[SYM] = D(110)
    assert b.submit(OrderRequest("r-p-00000003", PERP, "sell", 0.2, 110.0, True)).state == \
        "FILLED"
    (sent,) = [r for r in fresh.requests_to("/fapi/v1/order", "POST")
               if r.params["newClientOrderId"] == "r-p-00000003"]
    assert sent.params["reduceOnly"] == "true"
    assert b.positions() == {PERP: float(fresh.futures.position("BTCUSDT"))} == {PERP: 0.3}
    # wallet: fees at 4 bps and the realized PnL of the 0.2 closed at 110 (exact oracle)
    wallet = D(100_000) - D("50") * D("0.0004") + D(10) * D("0.2") - D("22") * D("0.0004")
    assert fresh.futures.free["USDT"] == wallet
    assert b.balances()["USDT"] == pytest.approx(float(wallet))
    fills, _ = b.fills_since(0)
    assert [(f.client_id, f.side, f.size) for f in fills] == [
        ("r-p-00000001", "buy", 0.5), ("r-p-00000003", "sell", 0.2)]
    assert len(fresh.futures.by_client_id("r-p-00000002")) == 0


def test_a_ready_client_keys_are_redacted_too(fresh, caplog):
    caplog.set_level(logging.DEBUG, logger="ccxt")
    b = CcxtBroker("binance", client=fresh.client(apiKey=KEY, secret=SECRET), symbols=[SYM])
    assert b.authenticated
    b.balances()
    assert "X-MBX-APIKEY" in caplog.text and KEY not in caplog.text and KEY not in repr(b)

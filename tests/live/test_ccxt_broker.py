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
    open_ids = sorted(a.client_id for a in b.open_orders())
    assert open_ids == sorted([mine.client_id, "web_manual_1"])   # foreign ones listed too
    fresh.place_by_hand(SYM, "sell", "0.1", client_id="web_manual_2")    # a market fill
    owners = {f.client_id for f in b.fills_since(0)[0]}
    assert owners == {"r-s-00000040", "web_manual_2"}


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


# ---------------------------------------------------------------- a non-Binance venue
class FakeVenue:
    """A ccxt-shaped client of a non-Binance venue (OKX-like): the test holds the truth.

    ``fetch_my_trades`` serves trades with ``timestamp >= since`` in (timestamp, id) order,
    at most ``page`` per call (below ccxt's limit of 1000, like OKX's 100).
    """

    id = "okx"
    precisionMode = 4  # ccxt.TICK_SIZE
    requiredCredentials = {"apiKey": True, "secret": True, "password": True}

    def __init__(self, *, page=100, contract_size=1.0, **credentials):
        self.options, self.verbose, self.logger = {}, False, None
        self.last_response_headers = {}
        self.page, self.trades, self.positions, self.sent = page, [], [], []
        self.calls: list[tuple] = []
        self.fail_create = self.fail_fetch = None
        rules = {"precision": {"amount": 1.0, "price": 0.1},
                 "limits": {"amount": {"min": 1.0}, "cost": {"min": 5.0}}}
        self.markets = {
            "BTC/USDT": {"id": "BTC-USDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT",
                         "precision": {"amount": 1e-5, "price": 0.1},
                         "limits": {"amount": {"min": 1e-5}, "cost": {"min": 5.0}}},
            PERP: {"id": "BTC-USDT-SWAP", "symbol": PERP, "base": "BTC", "quote": "USDT",
                   "contractSize": contract_size, **rules}}
        for name, value in credentials.items():
            setattr(self, name, value)

    def load_time_difference(self):
        return 0

    def load_markets(self):
        return self.markets

    def add_trades(self, symbol, n, *, start_id=1, ts=1_000, same_ms_at=()):
        for k in range(n):
            tid = start_id + k
            stamp = ts + (k if k not in same_ms_at else same_ms_at[0])
            self.trades.append({"id": str(tid), "symbol": symbol, "order": f"o{tid}",
                                "side": "buy", "amount": 1.0, "price": 100.0,
                                "timestamp": stamp, "fee": None})

    def fetch_my_trades(self, symbol, since=None, limit=None, params=None):
        self.calls.append(("fetch_my_trades", symbol, since))
        rows = sorted((t for t in self.trades if t["symbol"] == symbol
                       and (since is None or t["timestamp"] >= since)),
                      key=lambda t: (t["timestamp"], int(t["id"])))
        return [dict(t) for t in rows[:min(limit or 1000, self.page)]]

    def fetch_order(self, order_id, symbol=None, params=None):
        self.calls.append(("fetch_order", order_id, params))
        if self.fail_fetch is not None:
            raise self.fail_fetch
        return {"id": order_id, "clientOrderId": f"c-{order_id}", "status": "closed",
                "filled": 1.0, "info": {}}

    def create_order(self, symbol, type, side, amount, price=None, params=None):  # noqa: A002
        self.sent.append((symbol, side, amount, dict(params or {})))
        if self.fail_create is not None:
            raise self.fail_create
        return {"id": str(len(self.sent)), "clientOrderId": params["clientOrderId"],
                "status": "closed", "filled": amount, "info": {}}

    def fetch_positions(self, symbols=None, params=None):
        return [dict(p) for p in self.positions]


def venue_broker(venue, **kw):
    return CcxtBroker("okx", client=venue, clock=Clock(), sleep=lambda s: None, **kw)


def test_non_binance_fills_page_by_time_with_a_small_page_and_lose_nothing():
    venue = FakeVenue(page=100)
    # 250 trades; ids 99..102 share one millisecond across the first page boundary
    venue.add_trades(SYM, 250, same_ms_at=(98, 99, 100, 101))
    b = venue_broker(venue, symbols=[SYM])
    fills, cursor = b.fills_since(0)
    truth = {f"BTC-USDT:{t['id']}" for t in venue.trades}
    assert sorted(f.trade_id for f in fills) == sorted(truth) and len(fills) == 250
    pages = [c for c in venue.calls if c[0] == "fetch_my_trades"]
    assert len(pages) <= 5                                   # bounded: 3 full + the last
    venue.add_trades(SYM, 3, start_id=1000, ts=9_000)
    new, _ = b.fills_since(cursor)
    assert [f.trade_id for f in new] == [f"BTC-USDT:{i}" for i in (1000, 1001, 1002)]


def test_positions_use_the_fills_already_fetched_and_refuse_a_partial_history():
    venue = FakeVenue(page=100)
    venue.add_trades(SYM, 5)
    b = venue_broker(venue, symbols=[SYM])
    fills, _ = b.fills_since(0)
    venue.add_trades(SYM, 1, start_id=500, ts=5_000)   # lands between the two calls
    requests = len(venue.calls)
    assert b.positions() == {SYM: sum(f.size for f in fills)} == {SYM: 5.0}
    assert len(venue.calls) == requests                 # no re-fetch behind the runner
    fresh_broker = venue_broker(venue, symbols=[SYM])
    assert fresh_broker.positions() == {SYM: 6.0}       # never fetched: fetches once
    long_venue = FakeVenue(page=100)
    long_venue.add_trades(SYM, 250)
    from quantlab.live._errors import LiveError
    with pytest.raises(LiveError, match="max_trade_pages=2"):
        venue_broker(long_venue, symbols=[SYM], max_trade_pages=2).positions()


def test_linear_contract_size_converts_units_to_contracts_and_back():
    venue = FakeVenue(contract_size=0.01)
    b = venue_broker(venue, market_type="linear", symbols=[PERP])
    ack = b.submit(OrderRequest("r-c-00000001", PERP, "buy", 0.5, 100.0))
    assert venue.sent[0][2] == 50.0                   # 0.5 BTC = 50 contracts of 0.01
    assert ack.state == "FILLED" and ack.filled == pytest.approx(0.5)
    # 0.555 BTC = 55.5 contracts: truncated to the 1-contract lot, never up
    b.submit(OrderRequest("r-c-00000002", PERP, "buy", 0.555, 100.0))
    assert venue.sent[1][2] == 55.0
    # 0.02 BTC = 2 contracts (>= min 1) but notional 2 USDT < 5: refused locally...
    ack = b.submit(OrderRequest("r-c-00000003", PERP, "buy", 0.02, 100.0))
    assert ack.state == "REJECTED" and "notional" in ack.detail and len(venue.sent) == 2
    # ...unless reduce-only (Binance futures exempt it from the minimum notional)
    b.submit(OrderRequest("r-c-00000004", PERP, "sell", 0.02, 100.0, True))
    assert venue.sent[2][2] == 2.0 and venue.sent[2][3]["reduceOnly"] is True
    venue.trades.append({"id": "7", "symbol": PERP, "order": "1", "side": "buy",
                         "amount": 50.0, "price": 100.0, "timestamp": 1, "fee": None})
    (fill,) = b.fills_since(0)[0]
    assert fill.size == pytest.approx(0.5) and fill.client_id == "r-c-00000001"
    # hedge mode: a long and a short row of one symbol are summed, not overwritten
    venue.positions = [{"symbol": PERP, "contracts": 50.0, "contractSize": 0.01, "side": "long"},
                       {"symbol": PERP, "contracts": 20.0, "contractSize": 0.01,
                        "side": "short"}]
    assert b.positions() == {PERP: pytest.approx(0.3)}


def test_an_auth_error_while_resolving_a_lost_submit_is_raised_not_unknown():
    import ccxt

    venue = FakeVenue()
    venue.fail_create = ccxt.RequestTimeout("okx POST /api/v5/trade/order timed out")
    venue.fail_fetch = ccxt.AuthenticationError("okx 50111 Invalid OK-ACCESS-KEY")
    b = venue_broker(venue, symbols=[SYM])
    with pytest.raises(VenueAuthError):
        b.submit(buy("r-a-00000001"))
    assert len(venue.sent) == 1                          # sent once, never resent


def test_an_unknown_symbol_is_not_learned():
    venue = FakeVenue()
    b = venue_broker(venue, symbols=[SYM])
    with pytest.raises(InvalidParameterError, match="DOGE/USDT"):
        b.submit(buy("r-u-00000001", symbol="DOGE/USDT"))
    b.fills_since(0)
    assert {c[1] for c in venue.calls if c[0] == "fetch_my_trades"} == {SYM}
    assert "DOGE" not in repr(b)


def test_every_credential_of_a_ready_client_is_redacted(caplog):
    caplog.set_level(logging.DEBUG, logger="ccxt")
    venue = FakeVenue(apiKey="CANARY-K-1", secret="CANARY-S-2", password="CANARY-PASS-3",
                      uid="CANARY-UID-4", privateKey="CANARY-PK-5")
    b = venue_broker(venue, symbols=[SYM])
    b.client.logger.debug("headers %s", {"OK-ACCESS-KEY": "CANARY-K-1",
                                         "OK-ACCESS-PASSPHRASE": "CANARY-PASS-3",
                                         "uid": "CANARY-UID-4", "pk": "CANARY-PK-5"})
    assert "OK-ACCESS-PASSPHRASE" in caplog.text and "CANARY" not in caplog.text


def test_from_config_with_one_env_key_missing_names_the_missing_key():
    with pytest.raises(InvalidParameterError, match="`secret_env` of CcxtBroker.from_config"):
        CcxtBroker.from_config({"exchange": "binance", "api_key_env": "K"},
                               environ={"K": "key"})

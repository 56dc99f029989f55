"""OandaBroker and OandaFeed against the loopback fake of the v20 REST API.

Every oracle is the fake's own ledger (orders, transactions, trades, balance) or its request
log, never the adapter's echo.
"""

from __future__ import annotations

import logging
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantlab.errors import ExchangeError, InvalidParameterError
from quantlab.live._errors import LiveError
from quantlab.live.brokers import OrderRequest
from quantlab.live.oanda import OandaBroker, OandaFeed
from quantlab.live.orders import client_order_id
from quantlab.live.secrets import Secret
from tests.fakes.oanda import INSTRUMENTS, FakeOanda

CANARY = "canary-9f1c2e7a-0ANDA-t0ken"


def make_broker(server: FakeOanda, token: str = CANARY, **options) -> OandaBroker:
    return OandaBroker(server.account_id, token=Secret(token, name="OANDA_TOKEN"),
                       base_url=server.url, session=server.session(), **options)


@pytest.fixture
def venue():
    with FakeOanda(token=CANARY) as server:
        broker = make_broker(server, timeout=2.0)
        try:
            yield server, broker
        finally:
            broker.close()


def order(seq: int, symbol: str, side: str, size: float, reduce_only: bool = False):
    return OrderRequest(client_order_id("run", "Strat", seq), symbol, side, size, 1.0,
                        reduce_only)


def orders_with(server: FakeOanda, client_id: str) -> list[dict]:
    return [o for o in server.orders.values()
            if (o.get("clientExtensions") or {}).get("id") == client_id]


# ---------------------------------------------------------------------- rules
def test_rules_come_from_the_instruments_endpoint(venue):
    server, broker = venue
    for name, spec in INSTRUMENTS.items():
        rules = broker.rules(name)
        assert rules.lot_size == 10.0 ** -spec["tradeUnitsPrecision"]
        assert rules.tick_size == 10.0 ** -spec["displayPrecision"]
        assert rules.min_notional == 0.0
        inst = broker.instrument(name)
        assert str(inst.min_units) == spec["minimumTradeSize"]
        assert inst.pip_size == 10.0 ** spec["pipLocation"]
        assert inst.margin_rate == float(spec["marginRate"])
    assert len(server.requests_to("GET", "/instruments")) == 1  # cached
    with pytest.raises(InvalidParameterError, match="Did you mean 'EUR_USD'"):
        broker.rules("EUR/USD")


# ---------------------------------------------------------------------- round trip
def test_buy_sell_round_trip_matches_the_ledger(venue):
    server, broker = venue
    server.set_price("EUR_USD", 1.08500, 1.08520)
    a = broker.submit(order(0, "EUR_USD", "buy", 10_000))
    server.set_price("EUR_USD", 1.09000, 1.09020)
    b = broker.submit(order(1, "EUR_USD", "sell", 4_000))
    c = broker.submit(order(2, "EUR_USD", "sell", 7_000))  # flips to short 1000
    assert [x.state for x in (a, b, c)] == ["FILLED"] * 3
    assert broker.positions() == server.positions() == {"EUR_USD": -1000.0}
    # oracle: FIFO realized P/L at the fake's bid/ask, by hand
    realized = 4_000 * (1.09000 - 1.08520) + 6_000 * (1.09000 - 1.08520)
    assert server.balance == pytest.approx(100_000 + realized, abs=1e-9)
    assert broker.balances() == {"USD": pytest.approx(server.balance, abs=1e-4)}
    assert broker.account().nav == pytest.approx(server.nav(), abs=1e-4)
    fills, _ = broker.fills_since(0)
    net = sum(f.size if f.side == "buy" else -f.size for f in fills)
    assert net == server.positions()["EUR_USD"]
    assert [f.trade_id for f in fills] == [t["id"] for t in server.fills()]
    assert [f.price for f in fills] == [float(t["price"]) for t in server.fills()]
    assert [t.units for t in broker.open_trades()] == [-1000.0]
    sent = [r.body["order"] for r in server.requests_to("POST", "/orders")]
    assert [o["units"] for o in sent] == ["10000", "-4000", "-7000"]
    assert {o["timeInForce"] for o in sent} == {"FOK"}


def test_reduce_only_sets_position_fill(venue):
    server, broker = venue
    broker.submit(order(0, "EUR_USD", "buy", 100))
    broker.submit(order(1, "EUR_USD", "sell", 100, reduce_only=True))
    fills = [r.body["order"]["positionFill"] for r in server.requests_to("POST", "/orders")]
    assert fills == ["DEFAULT", "REDUCE_ONLY"]
    assert server.positions() == {}


def test_fee_is_the_commission_of_the_fill():
    with FakeOanda(token=CANARY, commission_per_unit=0.00005) as server:
        broker = make_broker(server)
        broker.submit(order(0, "EUR_USD", "buy", 20_000))
        (fill,), _ = broker.fills_since(0)
        assert fill.fee == float(server.fills()[0]["commission"]) == pytest.approx(1.0)
        assert server.balance == pytest.approx(100_000 - 1.0)


# ---------------------------------------------------------------------- fills cursor
def test_fills_since_chains_exactly_across_calls_and_pages():
    with FakeOanda(token=CANARY, page_size=2) as server:  # 2 transactions per page
        broker = make_broker(server)
        seen, cursor, seq = [], 0, 0
        for batch in (3, 0, 2, 1):
            for _ in range(batch):
                broker.submit(order(seq, "EUR_USD", "buy" if seq % 2 else "sell", 100 + seq))
                seq += 1
            server.place_limit("EUR_USD", 5, 1.0)  # a non-fill transaction in between
            fills, new_cursor = broker.fills_since(cursor)
            assert new_cursor == len(server.transactions)  # read to the end, every page
            seen += fills
            cursor = new_cursor
        assert [f.trade_id for f in seen] == [t["id"] for t in server.fills()]
        assert len({f.trade_id for f in seen}) == len(seen) == 6
        assert broker.fills_since(cursor) == ([], cursor)


def test_fills_since_refuses_a_history_longer_than_max_pages():
    """A capped read never returns a partial set as if complete (the runner reconciles with
    ``fills_since(0)``): it raises, naming max_pages; a larger cap reads everything."""
    with FakeOanda(token=CANARY, page_size=1) as server:
        for seq in range(3):
            make_broker(server).submit(order(seq, "EUR_USD", "buy", 10))
        total = len(server.transactions)  # CREATE + 3 x (MARKET_ORDER, ORDER_FILL) = 7
        broker = make_broker(server, max_pages=total - 1)
        before = len(server.requests_to("GET", "/transactions/sinceid"))
        with pytest.raises(ExchangeError, match=r"longer than max_pages=6 pages.*Raise "
                                                r"max_pages"):
            broker.fills_since(0)
        assert len(server.requests_to("GET", "/transactions/sinceid")) - before == total - 1
        # the cap exactly reached: complete, no error
        fills, cursor = make_broker(server, max_pages=total).fills_since(0)
        assert cursor == total
        assert [f.trade_id for f in fills] == [t["id"] for t in server.fills()]
        # from a later cursor the same cap is enough
        fills, cursor = broker.fills_since(2)
        assert cursor == total and len(fills) == len(server.fills())


def test_fill_price_is_full_vwap_not_the_deprecated_price():
    with FakeOanda(token=CANARY, legacy_price_offset=0.25) as server:
        server.set_price("EUR_USD", 1.08500, 1.08520)
        broker = make_broker(server)
        broker.submit(order(0, "EUR_USD", "buy", 1000))
        (fill,), _ = broker.fills_since(0)
        (truth,) = server.fills()
        assert fill.price == float(truth["fullVWAP"]) == 1.08520  # the ask: a buy
        assert float(truth["price"]) != fill.price  # the deprecated field is not read
    from quantlab.live.oanda import _fill

    legacy = {"id": "9", "type": "ORDER_FILL", "orderID": "8", "instrument": "EUR_USD",
              "units": "-5", "price": "1.1"}  # an old transaction without fullVWAP
    assert _fill(legacy).price == 1.1 and _fill(legacy).side == "sell"


# ---------------------------------------------------------------------- unknown outcome
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind, options", [
    ("commit_drop", {}),
    ("commit_delay", {"delay": 1.5}),          # the client times out after 0.5 s
    ("commit_status", {"status": 503}),
])
def test_failure_after_commit_is_unknown_then_resolved_never_resent(kind, options):
    with FakeOanda(token=CANARY) as server:
        broker = make_broker(server, timeout=0.5, resolve_attempts=0)
        server.inject(kind, method="POST", path="/orders", **options)
        req = order(0, "EUR_USD", "buy", 1000)
        ack = broker.submit(req)
        assert ack.state == "UNKNOWN" and "never resend" in ack.detail
        assert len(server.requests_to("POST", "/orders")) == 1
        assert len(orders_with(server, req.client_id)) == 1  # the venue did commit it
        resolved = broker.get_order(req.client_id)
        assert resolved is not None and resolved.state == "FILLED" and resolved.filled == 1000
        again = broker.submit(req)  # the runner redoing the bar
        assert again.state == "FILLED" and again.detail == "duplicate client id"
        assert len(server.requests_to("POST", "/orders")) == 1
        assert len(orders_with(server, req.client_id)) == 1
        assert server.positions() == {"EUR_USD": 1000.0}


def test_submit_resolves_a_lost_answer_by_querying(venue):
    server, broker = venue
    server.inject("commit_drop", method="POST", path="/orders")
    req = order(0, "EUR_USD", "buy", 1000)
    ack = broker.submit(req)
    assert ack.state == "FILLED" and ack.detail.startswith("resolved by query")
    assert ack.broker_id == orders_with(server, req.client_id)[0]["id"]
    assert len(server.requests_to("POST", "/orders")) == 1


def test_failure_before_commit_stays_unknown_and_is_never_resent(venue):
    server, _ = venue
    waits: list[float] = []
    broker = make_broker(server, resolve_attempts=3, sleep=waits.append)
    server.inject("drop", method="POST", path="/orders")
    req = order(0, "EUR_USD", "buy", 1000)
    assert broker.submit(req).state == "UNKNOWN"
    assert orders_with(server, req.client_id) == []
    assert len(server.requests_to("GET", f"/orders/@{req.client_id}")) == 1 + 3  # pre + 3
    assert len(waits) == 2
    assert broker.get_order(req.client_id) is None
    assert len(server.requests_to("POST", "/orders")) == 1


# ---------------------------------------------------------------------- rejects
def test_insufficient_margin_is_rejected_with_one_request(venue):
    server, broker = venue
    req = order(0, "EUR_USD", "buy", 10_000_000)  # margin 361k > NAV 100k
    ack = broker.submit(req)
    assert ack.state == "REJECTED" and "INSUFFICIENT_MARGIN" in ack.detail
    assert len(server.requests_to("POST", "/orders")) == 1
    assert [o["state"] for o in orders_with(server, req.client_id)] == ["CANCELLED"]
    assert server.positions() == {} and server.fills() == []
    later = broker.get_order(req.client_id)  # the query agrees with the submit
    assert later is not None and later.state == "REJECTED" and "INSUFFICIENT_MARGIN" in later.detail


def test_a_400_reject_is_final_without_retry(venue):
    server, broker = venue
    body = {"orderRejectTransaction": {"type": "MARKET_ORDER_REJECT",
                                       "rejectReason": "MARKET_HALTED"},
            "errorCode": "MARKET_HALTED", "errorMessage": "The market is halted"}
    server.inject("status", method="POST", path="/orders", status=400, body=body)
    ack = broker.submit(order(0, "EUR_USD", "buy", 100))
    assert ack.state == "REJECTED" and "MARKET_HALTED" in ack.detail
    assert len(server.requests_to("POST", "/orders")) == 1
    assert server.orders == {}


def test_the_fake_rejects_a_duplicate_client_id_like_oanda(venue):
    server, _ = venue
    server.place_order("EUR_USD", 10, client_id="dup-1")
    reply = server.place_order("EUR_USD", 10, client_id="dup-1")
    assert reply["errorCode"] == "CLIENT_ORDER_ID_ALREADY_EXISTS"
    assert len(orders_with(server, "dup-1")) == 1


# ---------------------------------------------------------------------- auth, rate limits
def test_401_stops_without_retry_and_names_no_token():
    with FakeOanda(token="the-real-token") as server:
        broker = make_broker(server)  # holds CANARY: wrong
        with pytest.raises(LiveError, match="HTTP 401.*OANDA_TOKEN") as info:
            broker.positions()
        assert len(server.requests) == 1
        assert CANARY not in str(info.value)
        with pytest.raises(LiveError):
            broker.submit(order(0, "EUR_USD", "buy", 100))
        assert server.requests_to("POST", "/orders") == [] and server.orders == {}


@pytest.mark.timeout(30)
def test_429_retry_after_is_honoured(venue):
    server, broker = venue
    server.inject("status", method="GET", path="/openPositions", status=429, retry_after=0.4)
    broker.positions()
    hits = server.requests_to("GET", "/openPositions")
    assert len(hits) == 2
    assert hits[1].time - hits[0].time >= 0.4  # measured by the server's clock
    server.inject("status", method="POST", path="/orders", status=429, retry_after=0.3)
    req = order(0, "EUR_USD", "buy", 100)
    assert broker.submit(req).state == "FILLED"
    posts = server.requests_to("POST", "/orders")
    assert len(posts) == 2 and posts[1].time - posts[0].time >= 0.3
    assert len(orders_with(server, req.client_id)) == 1  # the 429 was not processed


def test_a_retry_after_beyond_the_cap_raises_without_waiting(venue):
    server, _ = venue
    waits: list[float] = []
    broker = make_broker(server, max_retry_after=5.0, sleep=waits.append)
    server.inject("status", path="/openPositions", status=429, retry_after=120)
    with pytest.raises(ExchangeError, match="Retry-After 120 s exceeds"):
        broker.positions()
    assert waits == [] and len(server.requests_to("GET", "/openPositions")) == 1


def test_reads_retry_5xx_and_resets_then_give_up(venue):
    server, _ = venue
    waits: list[float] = []
    broker = make_broker(server, retries=2, sleep=waits.append)
    server.inject("status", path="/openPositions", status=502)
    server.inject("drop", path="/openPositions")
    assert broker.positions() == {}
    assert len(server.requests_to("GET", "/openPositions")) == 3 and len(waits) == 2
    server.inject("status", path="/pendingOrders", status=500, times=5)
    with pytest.raises(ExchangeError, match="failed 3 times"):
        broker.open_orders()
    assert len(server.requests_to("GET", "/pendingOrders")) == 3


# ---------------------------------------------------------------------- local rules
def test_truncation_and_minimum_are_local(venue):
    server, broker = venue
    broker.rules("EUR_USD")
    n = len(server.requests)
    for symbol, size in (("EUR_USD", 0.99), ("DE30_EUR", 0.09), ("EUR_USD", float("nan")),
                         ("EUR_USD", -5.0), ("EUR_USD", math.inf), ("DE30_EUR", 5000.1)):
        ack = broker.submit(order(0, symbol, "buy", size))
        assert ack.state == "REJECTED" and ack.detail.startswith("refused locally"), ack
    assert len(server.requests) == n  # not one request
    broker.submit(order(1, "EUR_USD", "buy", 1000.9999))
    broker.submit(order(2, "DE30_EUR", "sell", 2.57))
    sent = [r.body["order"]["units"] for r in server.requests_to("POST", "/orders")]
    assert sent == ["1000", "-2.5"]  # truncated, never rounded up
    assert server.positions() == {"EUR_USD": 1000.0, "DE30_EUR": -2.5}


@pytest.mark.parametrize("size", [1e27, 1e28, 1.7e308])
@pytest.mark.parametrize("symbol", ["EUR_USD", "DE30_EUR"])
def test_a_huge_size_is_refused_locally_not_an_exception(venue, symbol, size):
    """1e27 units overflow the default 28-digit decimal context: refused, zero requests."""
    from decimal import Decimal

    server, broker = venue
    broker.rules(symbol)
    n = len(server.requests)
    ack = broker.submit(order(0, symbol, "buy", size))
    assert ack.state == "REJECTED" and ack.detail.startswith("refused locally")
    assert "exceed the maximum order size" in ack.detail
    assert len(server.requests) == n and server.orders == {}
    assert broker.units(symbol, size) == Decimal(repr(size))  # exact, never rounded


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(symbol=st.sampled_from(sorted(INSTRUMENTS)),
       size=st.floats(min_value=0.0, max_value=2e4, allow_nan=False, allow_infinity=False))
def test_every_order_passes_the_venue_filters_or_is_refused_locally(venue, symbol, size):
    server, broker = venue
    server.set_price("EUR_USD", 1.0)
    before = len(server.requests_to("POST", "/orders"))
    seq = len(server.requests)
    ack = broker.submit(order(seq, symbol, "buy", size))
    posts = server.requests_to("POST", "/orders")[before:]
    if ack.detail.startswith("refused locally"):
        assert posts == []
    else:
        assert len(posts) == 1
        tx = server.transactions[-1] if server.transactions else {}
        assert not str(tx.get("rejectReason", "")).startswith("UNITS_"), tx
        assert float(posts[0].body["order"]["units"]) <= size


# ---------------------------------------------------------------------- secrets
def test_the_token_never_appears_in_repr_errors_or_debug_logs(venue, caplog):
    server, broker = venue
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "quantlab"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    texts = [repr(broker), str(broker)]
    broker.submit(order(0, "EUR_USD", "buy", 100))
    server.inject("commit_status", method="POST", path="/orders", status=500,
                  body={"errorMessage": f"echo Bearer {CANARY}"})  # a server echoing it
    detail = broker.submit(order(1, "EUR_USD", "buy", 100)).detail
    assert "echo Bearer ***" in detail  # the echoed text is there, redacted
    texts.append(detail)
    server.inject("status", path="/openPositions", status=500, times=10,
                  body={"errorMessage": f"echo {CANARY}"})
    with pytest.raises(ExchangeError) as e1:
        make_broker(server, retries=1, sleep=lambda s: None).positions()
    texts.append(str(e1.value))
    wrong = FakeOanda(token="other")
    with wrong:
        with pytest.raises(LiveError) as e2:
            make_broker(wrong).balances()
    texts.append(str(e2.value))
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # DEBUG was captured
    assert server.requests[0].headers["Authorization"] == f"Bearer {CANARY}"  # it was sent
    for text in texts + [caplog.text]:
        assert CANARY not in text


def test_a_plain_string_token_is_refused():
    with pytest.raises(InvalidParameterError, match="`token` of OandaBroker"):
        OandaBroker("101-001-1-001", token=CANARY)  # type: ignore[arg-type]


def test_from_config_reads_the_token_from_the_environment(venue):
    server, _ = venue
    cfg = {"account_id": server.account_id, "token_env": "MY_OANDA", "base_url": server.url}
    broker = OandaBroker.from_config(cfg, environ={"MY_OANDA": CANARY}, session=server.session())
    assert broker.positions() == {}
    assert CANARY not in repr(broker) and "MY_OANDA" in repr(broker)
    with pytest.raises(InvalidParameterError, match="MY_OANDA is not set"):
        OandaBroker.from_config(cfg, environ={})
    with pytest.raises(InvalidParameterError, match="Did you mean 'token_env'"):
        OandaBroker.from_config({**cfg, "token_enx": "X"}, environ={"MY_OANDA": CANARY})
    with pytest.raises(InvalidParameterError, match="environment"):
        OandaBroker.from_config({**cfg, "environment": "demo"}, environ={"MY_OANDA": CANARY})


# ---------------------------------------------------------------------- foreign orders
def test_orders_placed_by_hand_are_reported_as_foreign(venue):
    server, broker = venue
    mine = order(0, "EUR_USD", "buy", 100)
    broker.submit(mine)
    by_hand = server.place_order("EUR_USD", 50)["orderCreateTransaction"]["id"]
    server.place_order("EUR_USD", 25, client_id="manual-1")
    pending = server.place_limit("EUR_USD", 10, 1.0)
    fills, _ = broker.fills_since(0)
    assert [f.client_id for f in fills] == [mine.client_id, f"oanda:{by_hand}", "manual-1"]
    assert [a.client_id for a in broker.open_orders()] == [f"oanda:{pending}"]
    ours = {mine.client_id}
    foreign = [f for f in fills if f.client_id not in ours]
    assert sum(f.size for f in foreign) == 75  # the runner would flag exactly these
    assert broker.positions() == server.positions() == {"EUR_USD": 175.0}


def test_cancel_a_pending_order_and_a_filled_one(venue):
    server, broker = venue
    server.place_limit("EUR_USD", 10, 1.0, client_id="lim-1")
    assert broker.cancel("lim-1").state == "CANCELLED"
    assert [o["state"] for o in orders_with(server, "lim-1")] == ["CANCELLED"]
    filled = order(0, "EUR_USD", "buy", 10)
    broker.submit(filled)
    assert broker.cancel(filled.client_id).state == "FILLED"
    assert broker.cancel("never-sent").state == "REJECTED"


# ---------------------------------------------------------------------- feed
def test_feed_serves_closed_candles_only(venue):
    server, broker = venue
    server.set_now("2024-03-01 12:30")
    feed = OandaFeed(broker, ["EUR_USD", "USD_JPY"], granularity="H1", count=50)
    bars = list(feed.bars())
    truth = {s: server.candles(s, "H1", count=49) for s in feed.symbols}
    assert [b.time for b in bars] == list(truth["EUR_USD"].index)
    assert bars[-1].time == time_of("2024-03-01 11:00")  # the 12:00 candle is still forming
    for j, s in enumerate(feed.symbols):
        assert [b.close[j] for b in bars] == truth[s]["close"].tolist()
        assert [b.high[j] for b in bars] == truth[s]["high"].tolist()
    later = list(feed.bars(after=bars[-3].time))
    assert [b.time for b in later] == [b.time for b in bars[-2:]]
    assert len(list(feed.bars(skip=45))) == 4


def test_feed_from_config_owns_and_closes_its_broker(venue, monkeypatch):
    server, broker = venue
    cfg = {"account_id": server.account_id, "token_env": "MY_OANDA", "base_url": server.url}
    feed = OandaFeed.from_config(cfg, ["EUR_USD"], granularity="H1", count=3,
                                 environ={"MY_OANDA": CANARY}, session=server.session())
    assert [b.time for b in feed.bars()] == list(server.candles("EUR_USD", "H1",
                                                                count=2).index)
    closed: list[str] = []
    monkeypatch.setattr(feed.broker, "close", lambda: closed.append("own"))
    feed.close()
    assert closed == ["own"]
    lent = OandaFeed(broker, ["EUR_USD"], count=3)  # the caller's broker: left open
    monkeypatch.setattr(broker, "close", lambda: closed.append("lent"))
    lent.close()
    assert closed == ["own"]
    assert lent.resume_by == "time" and feed.resume_by == "time"


def time_of(text: str):
    import pandas as pd

    return pd.Timestamp(text, tz="UTC")


def test_requests_are_bounded_in_time(venue):
    server, _ = venue
    broker = make_broker(server, timeout=0.3, retries=1, sleep=lambda s: None)
    server.inject("delay", path="/openPositions", delay=1.0, times=2)
    start = time.monotonic()
    with pytest.raises(ExchangeError, match="ReadTimeout"):
        broker.positions()
    assert time.monotonic() - start < 1.5

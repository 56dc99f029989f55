"""The fake Binance's trading side, driven by the real ccxt client: the ledger is the truth.

Each test checks the fake against an independent source: the klines it serves (prices), exact
decimal arithmetic written here (balances, fees), Binance's documented error codes, or the
raw HTTP request log.
"""

from __future__ import annotations

from decimal import Decimal as D

import ccxt
import pytest

from tests.fakes.exchange import FakeBinance, SymbolRules

KEY, SECRET = "test-key-A", "test-secret-A"


@pytest.fixture
def server():
    with FakeBinance(symbols=("BTC/USDT", "ETH/USDT"), api_key=KEY, secret=SECRET,
                     time_source="wall") as s:
        yield s


@pytest.fixture
def client(server):
    c = server.client(apiKey=KEY, secret=SECRET)
    c.options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    yield c
    c.session.close()


def _buy(client, qty, cid, type_="market", price=None, symbol="BTC/USDT"):
    return client.create_order(symbol, type_, "buy", qty, price, {"clientOrderId": cid})


def test_market_order_fills_at_the_served_1m_close_with_exact_fee(server, client):
    bars = client.fetch_ohlcv("BTC/USDT", "1m", limit=1)  # the forming bar, as served
    price = D(repr(bars[-1][4]))
    _buy(client, 0.01, "a-1")
    (trade,) = server.ledger.trades
    assert trade.price == price and trade.qty == D("0.01")
    notional = D("0.01") * price
    assert trade.commission == notional * D("0.001")
    assert server.ledger.balance("USDT") == (D(100_000) - notional - notional * D("0.001"),
                                             D(0))
    assert server.ledger.balance("BTC") == (D("0.01"), D(0))


def test_filters_refuse_with_binance_codes(server, client):
    server.ledger.rules["BTCUSDT"] = SymbolRules.of(step="0.001", min_qty="0.001",
                                                    tick="0.5", min_notional="50")
    client.load_markets(reload=True)
    server.set_price("BTC/USDT", "100")
    # ccxt itself truncates to the advertised step, so the lot check is hit with raw params
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        client.privatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                 "quantity": "0.0015", "newClientOrderId": "x"})
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        _buy(client, 0.4, "b-1")                       # 0.4 * 100 = 40 < 50
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        client.privatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                 "timeInForce": "GTC", "quantity": "1", "price": "99.3",
                                 "newClientOrderId": "y"})
    with pytest.raises(ccxt.BadRequest, match="-1111"):
        client.privatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                 "quantity": "1.000000001", "newClientOrderId": "z"})
    assert server.ledger.orders == []


def test_duplicate_client_id_and_insufficient_balance(server, client):
    server.set_price("BTC/USDT", "100")
    _buy(client, 1, "dup-1")
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        _buy(client, 1, "dup-1")
    with pytest.raises(ccxt.InsufficientFunds):
        _buy(client, 2000, "big-1")                    # 200 000 USDT > 100 000
    assert [o.client_id for o in server.ledger.orders] == ["dup-1"]


def test_signature_key_and_timestamp_checks(server):
    bad_secret = server.client(apiKey=KEY, secret="wrong")
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        bad_secret.fetch_balance()
    bad_key = server.client(apiKey="other", secret=SECRET)
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        bad_key.fetch_balance()
    good = server.client(apiKey=KEY, secret=SECRET)
    server.set_skew(+20_000)   # the server is 20 s ahead: our timestamp is outside the window
    with pytest.raises(ccxt.InvalidNonce):
        good.fetch_balance()
    good.load_time_difference()
    assert abs(good.options["timeDifference"] + 20_000) < 1_000
    assert good.fetch_balance()["total"]["USDT"] == 100_000


def test_limit_orders_rest_lock_and_fill_on_cross_or_script(server, client):
    server.set_price("BTC/USDT", "100")
    _buy(client, 1, "lim-1", "limit", 90)
    assert server.ledger.balance("USDT") == (D(100_000) - D(90), D(90))
    server.fill("lim-1", "0.4")                        # scripted partial fill
    order = server.ledger.by_client_id("lim-1")[0]
    assert order.status == "PARTIALLY_FILLED" and order.executed == D("0.4")
    assert server.ledger.balance("USDT")[1] == D(90) * D("0.6")
    server.set_price("BTC/USDT", "89.5")               # crosses: the rest fills at 90
    assert order.status == "FILLED" and order.executed == D(1)
    assert [t.price for t in server.ledger.trades] == [D(90), D(90)]
    assert server.ledger.balance("USDT")[1] == D(0)


def test_cancel_then_fill_after_cancel_and_hand_orders(server, client):
    server.set_price("BTC/USDT", "100")
    _buy(client, 1, "c-1", "limit", 80)
    hand = server.place_by_hand("ETH/USDT", "buy", "0.5", "10")
    assert {o["clientOrderId"] for o in client.fetch_open_orders()} == {"c-1", hand.client_id}
    client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "c-1"})
    server.fill("c-1", "0.3", force=True)              # reported after the cancel
    order = server.ledger.by_client_id("c-1")[0]
    assert order.status == "CANCELED" and order.executed == D("0.3")
    assert server.ledger.balance("USDT") == (D(100_000) - D(24) - D(24) * D("0.001") - D(5),
                                             D(5))     # the ETH order still locks 5
    with pytest.raises(ccxt.OrderNotFound):
        client.cancel_order(None, "BTC/USDT", {"origClientOrderId": "c-1"})


def test_commit_then_fail_books_the_order(server, client):
    server.inject("status", path="/api/v3/order", method="POST", status=503, commit=True,
                  body={"code": -1007, "msg": "Timeout waiting for response from backend "
                                              "server. Send status unknown."})
    with pytest.raises(ccxt.RequestTimeout):
        _buy(client, 0.01, "k-1")
    assert [o.status for o in server.ledger.by_client_id("k-1")] == ["FILLED"]
    assert len(server.requests_to("/api/v3/order", "POST")) == 1


def test_scripted_visibility_duplicates_and_maintenance(server, client):
    _buy(client, 0.01, "h-1")
    server.hide_orders(2)
    for _ in range(2):
        with pytest.raises(ccxt.OrderNotFound):
            client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "h-1"})
    assert client.fetch_order(None, "BTC/USDT", {"origClientOrderId": "h-1"})["status"] == \
        "closed"
    server.duplicate_trades(1)
    trades = client.fetch_my_trades("BTC/USDT", params={"fromId": 0})
    assert len(trades) == 2 and trades[0]["id"] == trades[1]["id"]
    assert len(client.fetch_my_trades("BTC/USDT", params={"fromId": 0})) == 1
    server.maintenance(1)
    with pytest.raises(ccxt.OnMaintenance):
        client.fetch_balance()
    counts = server.request_counts()
    assert counts[("GET", "/api/v3/order")] == 3 and counts[("GET", "/api/v3/myTrades")] == 2


def test_futures_ledger_margin_reduce_only_and_realized_pnl(server):
    c = ccxt.binanceusdm({"apiKey": KEY, "secret": SECRET})
    from tests.fakes.exchange import point_ccxt_at

    point_ccxt_at(c, server.url)
    c.options["fetchMarkets"] = {"types": ["linear"]}
    server.set_price("BTC/USDT", "100")
    c.set_leverage(2, "BTC/USDT:USDT")
    with pytest.raises(ccxt.BaseError, match="-2019"):     # 2000 x 100 / 2 > 100 000
        c.create_order("BTC/USDT:USDT", "market", "buy", 2000, None, {"clientOrderId": "m"})
    with pytest.raises(ccxt.BaseError, match="-2022"):     # nothing to reduce
        c.create_order("BTC/USDT:USDT", "market", "sell", 1, None,
                       {"clientOrderId": "r", "reduceOnly": True})
    c.create_order("BTC/USDT:USDT", "market", "sell", 2, None, {"clientOrderId": "s"})
    server.set_price("BTC/USDT", "90")
    c.create_order("BTC/USDT:USDT", "market", "buy", 3, None, {"clientOrderId": "f"})  # flip
    assert server.futures.positions["BTCUSDT"] == (D(1), D(90))
    fee = (D(200) + D(270)) * D("0.0004")
    assert server.futures.free["USDT"] == D(100_000) + D(20) - fee   # short 2 from 100 to 90
    (pos,) = [p for p in c.fetch_positions(["BTC/USDT:USDT"]) if p["contracts"]]
    assert (pos["side"], pos["contracts"], pos["entryPrice"]) == ("long", 1.0, 90.0)
    c.session.close()

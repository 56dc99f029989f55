"""PaperBroker: the step's cost model, idempotent client ids, rules, persistence."""

from __future__ import annotations

import pytest

from quantlab.live.brokers import OrderRequest, PaperBroker


def test_fills_with_the_step_fee_formula():
    b = PaperBroker(fee_bps=10, fee_fixed=1.5, init_cash=10_000)
    ack = b.submit(OrderRequest("r-s-00000000", "X", "buy", 12.0, 101.25))
    assert ack.state == "FILLED" and ack.filled == 12.0
    fills, cursor = b.fills_since(0)
    # oracle: the decision step's fee = |size| * price * fee_bps / 1e4 + fee_fixed
    assert fills[0].fee == 12.0 * 101.25 * (10 / 1e4) + 1.5
    assert fills[0].price == 101.25
    b.submit(OrderRequest("r-s-00000001", "X", "sell", 5.0, 110.0))
    assert b.positions() == {"X": 7.0}
    cash = 10_000 - 12 * 101.25 - fills[0].fee + 5 * 110 - (5 * 110 * 1e-3 + 1.5)
    assert b.balances()["cash"] == pytest.approx(cash, rel=1e-14)
    later, cursor2 = b.fills_since(cursor)
    assert [f.client_id for f in later] == ["r-s-00000001"] and cursor2 > cursor


def test_a_known_client_id_never_fills_twice():
    b = PaperBroker()
    order = OrderRequest("r-s-00000000", "X", "buy", 1.0, 10.0)
    b.submit(order)
    again = b.submit(order)
    assert again.detail == "duplicate client id" and again.state == "FILLED"
    assert b.positions() == {"X": 1.0}
    assert len(b.fills_since(0)[0]) == 1
    assert b.requests() == [("submit", order.client_id)] * 2


def test_rules_reject_without_a_fill():
    b = PaperBroker(min_notional=100.0, lot_size=1.0)
    assert b.submit(OrderRequest("a", "X", "buy", 5.0, 10.0)).state == "REJECTED"  # 50 < 100
    assert b.submit(OrderRequest("b", "X", "buy", 10.5, 10.0)).state == "REJECTED"  # lot
    assert b.submit(OrderRequest("c", "X", "buy", float("nan"), 10.0)).state == "REJECTED"
    assert b.positions() == {} and b.fills_since(0)[0] == []


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "venue.sqlite"
    b = PaperBroker(fee_bps=5, path=path)
    b.submit(OrderRequest("a", "X", "buy", 3.0, 10.0))
    b.close()
    b2 = PaperBroker(fee_bps=5, path=path)
    assert b2.positions() == {"X": 3.0}
    assert b2.get_order("a").state == "FILLED" and b2.get_order("zzz") is None
    assert b2.submit(OrderRequest("a", "X", "buy", 3.0, 10.0)).detail == "duplicate client id"


def test_paper_is_never_authenticated():
    b = PaperBroker()
    assert b.mode == "paper" and b.authenticated is False

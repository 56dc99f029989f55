"""The order state machine and client order ids (RELIABILITY.md behaviours 2, 3, 6)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.errors import InvalidParameterError
from quantlab.live.orders import (
    STATES,
    OrderStateError,
    client_order_id,
    parse_client_order_id,
    transition,
)

EVENTS = ["submit", "accept", "reject", "partial_fill", "fill", "cancel_request", "cancelled",
          "expire", "unknown"]


def test_venue_orders_of_events():
    # fill after a cancel (the fill happened first), late accept, UNKNOWN resolved by a query
    assert transition("CANCELLED", "fill") == "FILLED"
    assert transition("CANCEL_PENDING", "fill") == "FILLED"
    assert transition("FILLED", "accept") == "FILLED"
    assert transition("SUBMITTED", "fill") == "FILLED"
    assert transition("SUBMITTED", "unknown") == "UNKNOWN"
    assert transition("UNKNOWN", "fill") == "FILLED"
    assert transition("UNKNOWN", "reject") == "REJECTED"


def test_impossible_transitions_raise():
    with pytest.raises(OrderStateError, match="not allowed"):
        transition("FILLED", "reject")
    with pytest.raises(OrderStateError):
        transition("REJECTED", "fill")
    with pytest.raises(OrderStateError):
        transition("INTENT", "fill")  # never sent: cannot fill
    with pytest.raises(InvalidParameterError, match="event"):
        transition("ACCEPTED", "explode")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(EVENTS), max_size=12))
def test_filled_is_absorbing_and_unknown_is_never_a_guess(events):
    """Property: once FILLED an order stays FILLED; UNKNOWN is left only by an event the venue
    reported (never turned into REJECTED/CANCELLED without one)."""
    state = "INTENT"
    for event in events:
        try:
            new = transition(state, event)
        except OrderStateError:
            continue
        assert new in STATES
        if state == "FILLED":
            assert new == "FILLED"
        if state == "UNKNOWN" and new in ("REJECTED", "CANCELLED"):
            assert event in ("reject", "cancelled")
        state = new


def test_client_order_ids_are_deterministic_and_unique():
    ids = [client_order_id("paper-demo", "SmaCross", k) for k in range(1000)]
    assert ids == [client_order_id("paper-demo", "SmaCross", k) for k in range(1000)]
    assert len(set(ids)) == 1000
    assert all(len(i) <= 36 for i in ids)
    assert parse_client_order_id(ids[42]) == ("paperdemo", "SmaCross", 42)
    with pytest.raises(InvalidParameterError):
        client_order_id("r", "s", -1)

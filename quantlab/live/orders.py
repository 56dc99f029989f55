"""The order state machine and client order ids.

States::

    INTENT -> SUBMITTED -> ACCEPTED -> PARTIALLY_FILLED -> FILLED
                  |            |  \\-> CANCEL_PENDING -> CANCELLED
                  |            \\-> REJECTED / EXPIRED
                  \\-> UNKNOWN (timeout, reset, 5xx after sending: query, never resend)

Exchanges report events out of order, so the machine allows what real venues do (RELIABILITY.md
behaviour 6): a fill after a cancel was requested or even confirmed (the fill happened first),
an accept arriving after fills (a late accept never moves a filled order back), and UNKNOWN
resolving to any state a query reports. Anything else is an :class:`OrderStateError`.
"""

from __future__ import annotations

import re

from quantlab._validate import check_int, message
from quantlab.errors import InvalidParameterError, QuantlabError

__all__ = ["STATES", "TERMINAL", "OrderStateError", "transition", "client_order_id",
           "parse_client_order_id"]

STATES = ("INTENT", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "CANCEL_PENDING", "FILLED",
          "CANCELLED", "REJECTED", "EXPIRED", "UNKNOWN")
#: States after which no new fill is expected (a CANCELLED order may still report a fill
#: that happened before the cancel: see :func:`transition`).
TERMINAL = frozenset({"FILLED", "CANCELLED", "REJECTED", "EXPIRED"})

_EVENTS = ("submit", "accept", "reject", "partial_fill", "fill", "cancel_request", "cancelled",
           "expire", "unknown")

_TABLE: dict[tuple[str, str], str] = {
    ("INTENT", "submit"): "SUBMITTED",
    ("INTENT", "cancelled"): "CANCELLED",          # never sent: dropped at shutdown
    ("SUBMITTED", "accept"): "ACCEPTED",
    ("SUBMITTED", "reject"): "REJECTED",
    ("SUBMITTED", "partial_fill"): "PARTIALLY_FILLED",
    ("SUBMITTED", "fill"): "FILLED",                # fill before the accept
    ("SUBMITTED", "unknown"): "UNKNOWN",
    ("SUBMITTED", "cancel_request"): "CANCEL_PENDING",
    ("ACCEPTED", "partial_fill"): "PARTIALLY_FILLED",
    ("ACCEPTED", "fill"): "FILLED",
    ("ACCEPTED", "cancel_request"): "CANCEL_PENDING",
    ("ACCEPTED", "cancelled"): "CANCELLED",
    ("ACCEPTED", "expire"): "EXPIRED",
    ("ACCEPTED", "unknown"): "UNKNOWN",
    ("ACCEPTED", "accept"): "ACCEPTED",
    ("PARTIALLY_FILLED", "partial_fill"): "PARTIALLY_FILLED",
    ("PARTIALLY_FILLED", "fill"): "FILLED",
    ("PARTIALLY_FILLED", "cancel_request"): "CANCEL_PENDING",
    ("PARTIALLY_FILLED", "cancelled"): "CANCELLED",
    ("PARTIALLY_FILLED", "accept"): "PARTIALLY_FILLED",   # late accept
    ("PARTIALLY_FILLED", "unknown"): "UNKNOWN",
    ("CANCEL_PENDING", "cancelled"): "CANCELLED",
    ("CANCEL_PENDING", "partial_fill"): "CANCEL_PENDING",  # fill racing the cancel
    ("CANCEL_PENDING", "fill"): "FILLED",
    ("CANCEL_PENDING", "accept"): "CANCEL_PENDING",
    ("CANCEL_PENDING", "unknown"): "UNKNOWN",
    ("FILLED", "accept"): "FILLED",                 # late accept
    ("FILLED", "cancelled"): "FILLED",              # cancel confirmation after the fill
    ("CANCELLED", "partial_fill"): "CANCELLED",     # fill after cancel (happened before it)
    ("CANCELLED", "fill"): "FILLED",
    ("CANCELLED", "accept"): "CANCELLED",
    ("REJECTED", "reject"): "REJECTED",
}
# UNKNOWN resolves to whatever the exchange reports when queried
for _event, _state in (("accept", "ACCEPTED"), ("reject", "REJECTED"),
                       ("partial_fill", "PARTIALLY_FILLED"), ("fill", "FILLED"),
                       ("cancelled", "CANCELLED"), ("expire", "EXPIRED"),
                       ("unknown", "UNKNOWN"), ("cancel_request", "UNKNOWN")):
    _TABLE[("UNKNOWN", _event)] = _state


class OrderStateError(QuantlabError, RuntimeError):
    """An order event that the state machine does not allow."""


def transition(state: str, event: str) -> str:
    """Return the state an order in ``state`` moves to on ``event``.

    Parameters
    ----------
    state : str - one of :data:`STATES`.
    event : str - submit, accept, reject, partial_fill, fill, cancel_request, cancelled,
        expire or unknown.

    Returns
    -------
    str

    Raises
    ------
    InvalidParameterError
        An unknown state or event.
    OrderStateError
        A transition real venues never produce (e.g. a reject after a fill).

    Examples
    --------
    >>> transition("CANCELLED", "fill")   # the fill happened before the cancel
    'FILLED'
    >>> transition("FILLED", "accept")    # late accept
    'FILLED'
    """
    if state not in STATES:
        raise InvalidParameterError(message("state", "transition", f"one of {STATES}", state))
    if event not in _EVENTS:
        raise InvalidParameterError(message("event", "transition", f"one of {_EVENTS}", event))
    try:
        return _TABLE[(state, event)]
    except KeyError:
        raise OrderStateError(f"order event {event!r} is not allowed in state {state!r}; the "
                              "order's journal is inconsistent with the venue: reconcile "
                              "before trading.") from None


_ID_PART = re.compile(r"[^A-Za-z0-9]+")


def client_order_id(run: str, strategy: str, sequence: int) -> str:
    """Return the deterministic client order id of intent ``sequence`` of a run.

    ``<run>-<strategy>-<sequence:08d>`` with non-alphanumerics of the names removed, at most 36
    characters (the shortest limit of the major venues): a restart recomputes the same ids.

    Examples
    --------
    >>> client_order_id("demo", "SmaCross", 7)
    'demo-SmaCross-00000007'
    """
    seq = check_int("sequence", sequence, caller="client_order_id", minimum=0)
    r = _ID_PART.sub("", str(run))[:14] or "run"
    s = _ID_PART.sub("", str(strategy))[:12] or "strategy"
    return f"{r}-{s}-{seq:08d}"


def parse_client_order_id(cid: str) -> tuple[str, str, int]:
    """Inverse of :func:`client_order_id`: ``(run, strategy, sequence)``."""
    run, strategy, seq = str(cid).rsplit("-", 2)
    return run, strategy, int(seq)

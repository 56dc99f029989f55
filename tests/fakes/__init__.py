"""Test doubles that speak real protocols on 127.0.0.1 (see :mod:`tests.fakes.exchange`)."""

from tests.fakes.exchange import (
    FakeBinance,
    Fault,
    Request,
    Response,
    SymbolRules,
    fake_binance,
    point_ccxt_at,
)
from tests.fakes.ledger import FuturesLedger, Ledger

__all__ = ["FakeBinance", "Fault", "Request", "Response", "SymbolRules", "fake_binance",
           "point_ccxt_at", "Ledger", "FuturesLedger"]

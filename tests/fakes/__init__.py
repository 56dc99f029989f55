"""Test doubles that speak real protocols on 127.0.0.1 (see :mod:`tests.fakes.exchange`)."""

from tests.fakes.exchange import FakeBinance, Fault, Request, Response, fake_binance

__all__ = ["FakeBinance", "Fault", "Request", "Response", "fake_binance"]

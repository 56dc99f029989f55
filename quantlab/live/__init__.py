"""The live runner on paper: promotion gate, runner, paper broker, journal and guard.

* :func:`promote` - check a strategy (causality, trailing-window parity) and write
  ``config/live/<name>.yaml`` with its parity fingerprint.
* :func:`run` - feed -> strategy -> the execution core's ``Account`` step -> guard -> broker.
* :class:`ReplayFeed`, :class:`Feed` - closed bars in.
* :class:`PaperBroker`, :class:`Broker` - the venue interface and its paper implementation.
* :class:`Journal` - SQLite WAL, append-only; :class:`Guard` - ACTIVE / REDUCING / HALTED.
"""

from __future__ import annotations

from quantlab.live._errors import (
    JournalError,
    LiveError,
    PromotionError,
    ReconciliationError,
    StartupError,
)
from quantlab.live.brokers import (
    Broker,
    BrokerFill,
    ExchangeRules,
    OrderAck,
    OrderRequest,
    PaperBroker,
)
from quantlab.live.ccxt_broker import CcxtBroker
from quantlab.live.exchange_feed import CcxtPollingFeed, FeedAlert
from quantlab.live.feeds import Bar, Feed, ReplayFeed
from quantlab.live.guard import Guard
from quantlab.live.journal import Journal
from quantlab.live.promote import LiveConfig, load_config, promote, verify_fingerprint
from quantlab.live.runner import RunResult, run
from quantlab.live.store_feed import StoreFeed

__all__ = ["promote", "load_config", "verify_fingerprint", "LiveConfig", "run", "RunResult",
           "Feed", "ReplayFeed", "StoreFeed", "CcxtPollingFeed", "FeedAlert", "Bar", "Broker", "PaperBroker", "CcxtBroker", "OrderRequest", "OrderAck",
           "BrokerFill", "ExchangeRules", "Journal", "Guard", "LiveError", "PromotionError",
           "StartupError", "JournalError", "ReconciliationError"]

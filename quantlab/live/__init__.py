"""The live runner: promotion gate, runner, brokers (paper, ccxt, OANDA), journal and guard.

* :func:`promote` - check a strategy (causality, trailing-window parity) and write
  ``config/live/<name>.yaml`` with its parity fingerprint, broker and monitoring sections.
* :func:`run` - feed -> strategy -> the execution core's ``Account`` step -> guard -> broker;
  optional Prometheus metrics, control API, heartbeat and alert routing beside it.
* :func:`build_broker`, :func:`build_feed` - the broker and feed of a config
  (:mod:`quantlab.live.venues`: paper, ccxt or OANDA; replay, store, ccxt or OANDA feeds).
* :class:`ReplayFeed`, :class:`StoreFeed`, :class:`CcxtPollingFeed`, :class:`Feed` - closed
  bars in.
* :class:`PaperBroker`, :class:`CcxtBroker`, :class:`Broker` - the venue interface and its
  implementations (:class:`~quantlab.live.oanda.OandaBroker` in :mod:`quantlab.live.oanda`).
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
from quantlab.live.venues import build_broker, build_feed

__all__ = ["promote", "load_config", "verify_fingerprint", "LiveConfig", "run", "RunResult",
           "build_broker", "build_feed", "Feed", "ReplayFeed", "StoreFeed", "CcxtPollingFeed",
           "FeedAlert", "Bar", "Broker", "PaperBroker", "CcxtBroker", "OrderRequest",
           "OrderAck", "BrokerFill", "ExchangeRules", "Journal", "Guard", "LiveError",
           "PromotionError", "StartupError", "JournalError", "ReconciliationError"]

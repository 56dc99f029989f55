"""Run a promoted config against a (fake) Binance URL: the crash tests' child, and their kit.

As a script (the process the crash tests SIGKILL and restart)::

    python -m tests.live._exchange_run --url URL --config CFG --journal J [--max-bars N]

builds a :class:`~quantlab.live.CcxtBroker` (``exchange="binance"``, ``urls={"base": URL}``,
key and secret read from the environment variables named by ``--key-env`` / ``--secret-env``)
and a :class:`~quantlab.live.ReplayFeed` over the config's reference window, and calls
:func:`quantlab.live.run`. Exit status: 0 when the replay ended, 3 with one line on stderr
when the runner refused or stopped (:class:`~quantlab.live.LiveError`: a reconciliation
failure, a refused journal), -9 when killed. The runner's JSON log lines (``started``,
``order``, ``stopped``) go to stderr at INFO, so a parent can wait for ``"started"`` (the
start-up reconciliation passed) before a timed ``kill -9``.

As a module, the shared kit of ``test_crash_exchange.py``, ``test_fault_plan.py`` and
``test_state_machine.py``:

* :func:`venue` - a :class:`~tests.fakes.exchange.FakeBinance` on 127.0.0.1 with a large USDT balance, the
  lot of :data:`LOT` and a minimum notional of 1 USDT on :data:`SYMBOL`, its fill price pinned;
* :func:`promote_config` / :func:`live_config` / :func:`replay_frame` - ``SmaCross(3, 8)``
  promoted on bundled AAPL bars relabelled ``BTC/USDT`` with ``lot_size`` equal to the venue's
  lot (so the account's sizes are the venue's), read back as a non-paper config, its replay;
* :func:`make_broker` - the broker the runner gets;
* :func:`journal_positions`, :func:`ledger_position`, :func:`check_ledger_invariants` - the
  oracles (the fake's ledger is the truth; the journal is read through its own connection).

Design decisions written down:

* **The fake lives in the test process.** It outlives every killed runner, so its ledger is
  the one truth across restarts.
* **Nagle off on the fake's sockets** (the fake's own ``disable_nagle_algorithm``): with
  Nagle's algorithm and the client's delayed ACK each request waited ~40 ms (a 200-bar run
  took 20 s instead of 1.6 s).
* **ccxt's client-side throttle is off** (``client.enableRateLimit = False``): the fake has
  no rate limit, and ccxt's per-endpoint costs (``myTrades`` weighs 20) would make each bar
  take ~0.4 s. The 429/418 policy is proven by ``test_ccxt_broker.py`` with it on.
* **Spot, market orders, long only** (the default ``BacktestConfig``): a sell never exceeds
  what was bought, so the venue never refuses one for funds and every refusal a test sees is
  the one it scripted.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sqlite3
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from quantlab.strategy.base import Strategy
from tests.fakes.exchange import FakeBinance, SymbolRules

__all__ = ["Flipper", "SYMBOL", "MARKET", "LOT", "PRICE", "KEY_ENV", "SECRET_ENV",
           "venue", "promote_config", "live_config", "replay_frame", "make_broker",
           "journal_positions", "journal_trade_ids", "ledger_position",
           "check_ledger_invariants", "main"]

SYMBOL = "BTC/USDT"
MARKET = "BTCUSDT"
LOT = "0.001"
#: the venue's pinned fill price (the bundled AAPL closes of 2012 are 50..90)
PRICE = "70"
KEY_ENV, SECRET_ENV = "QUANTLAB_TEST_EXCHANGE_KEY", "QUANTLAB_TEST_EXCHANGE_SECRET"
ROOT = Path(__file__).resolve().parents[2]


def venue(*, api_key: str = "fake-key", secret: str = "fake-secret",
          price: str = PRICE, min_notional: str = "1", **options: Any) -> FakeBinance:
    """A started fake Binance trading :data:`SYMBOL` (close it, or use it in ``with``)."""
    rules = {SYMBOL: SymbolRules.of(step=LOT, min_qty=LOT, max_qty="1000000",
                                    min_notional=min_notional)}
    fake = FakeBinance(symbols=(SYMBOL,), api_key=api_key, secret=secret,
                            balances={"USDT": 10**9}, rules=rules, **options)
    fake.start()
    fake.set_price(SYMBOL, price)
    return fake


def promote_config(out_dir: str | Path, *, name: str, strategy: Any = None,
                   start: str = "2011-10", end: str = "2012-12", reference_bars: int = 150,
                   **options: Any) -> Path:
    """Promote ``strategy`` (default ``SmaCross(3, 8)``) on AAPL relabelled :data:`SYMBOL`.

    ``lot_size`` is the venue's lot and ``min_notional`` 1, ``fee_bps`` 10 (the fake's
    0.1 %); ``options`` override or add ``BacktestConfig`` options.
    """
    import quantlab as ql
    from quantlab.live.promote import promote
    from quantlab.strategies import SmaCross

    frame = ql.data.load("aapl").loc[start:end].copy()
    frame.attrs["symbol"] = SYMBOL
    settings: dict[str, Any] = {"lot_size": float(LOT), "min_notional": 1.0, "fee_bps": 10.0}
    settings.update(options)
    return promote(strategy if strategy is not None else SmaCross(fast=3, slow=8),
                   data=frame, name=name, out_dir=out_dir, reference_bars=reference_bars,
                   **settings)


def live_config(path: str | Path, **guard: Any) -> Any:
    """``load_config(path)`` as a non-paper config (broker kind ``"ccxt"``), guard updated."""
    from quantlab.live.promote import load_config

    config = load_config(path)
    return dataclasses.replace(config, broker="ccxt", guard={**config.guard, **guard})


def replay_frame(config: Any) -> pd.DataFrame:
    """The config's reference window (its CSV beside the config), labelled :data:`SYMBOL`."""
    folder = Path(config.path).parent
    frame = pd.read_csv(folder / str(config.reference["csv"]), index_col=0, parse_dates=True)
    frame.attrs["symbol"] = SYMBOL
    return frame


def make_broker(url: str, *, api_key: Any, secret: Any, **options: Any) -> Any:
    """A :class:`~quantlab.live.CcxtBroker` on ``url`` (ccxt's client throttle off)."""
    from quantlab.live.ccxt_broker import CcxtBroker

    settings: dict[str, Any] = {"timeout_ms": 3000, "max_attempts": 2, "max_total_s": 5.0}
    settings.update(options)
    broker = CcxtBroker("binance", symbols=[SYMBOL], urls={"base": url}, api_key=api_key,
                        secret=secret, **settings)
    broker.client.enableRateLimit = False
    return broker


class Flipper(Strategy):
    """A runaway strategy for the order-rate breaker: long on even days of the year, flat on
    odd ones (it flips on nearly every bar; causal, and independent of where data starts)."""

    @property
    def warmup(self) -> int:
        return 1

    def signal(self, data: pd.DataFrame) -> pd.Series:
        index = pd.DatetimeIndex(data.index)
        return pd.Series((index.day_of_year % 2 == 0).astype(float), index=index)


# ---------------------------------------------------------------- oracles
def _rows(path: str | Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def journal_positions(path: str | Path) -> dict[str, float]:
    """Units per symbol from the journal's fills of its own intents (INV-3's local side)."""
    out: dict[str, float] = {}
    for sym, side, size in _rows(path, "SELECT f.symbol, f.side, f.size FROM fills f JOIN "
                                       "intents i ON i.client_id = f.client_id"):
        out[sym] = out.get(sym, 0.0) + (size if side == "buy" else -size)
    return out


def journal_trade_ids(path: str | Path) -> Counter[str]:
    """How many times each trade id is in the journal's fills."""
    return Counter(t for (t,) in _rows(path, "SELECT trade_id FROM fills"))


def ledger_position(fake: FakeBinance) -> float:
    """The ledger's net units of :data:`SYMBOL` (bought minus sold)."""
    return float(fake.ledger.position(MARKET))


def check_ledger_invariants(fake: FakeBinance, journal: str | Path) -> dict[str, Any]:
    """Assert INV-1..3 of a journal against the fake's ledger; return the counts.

    INV-1: each client order id at most once on the ledger, and the ledger's orders are
    exactly the journal's intents (none lost, none extra). INV-3: every ledger trade id
    exactly once in the journal's fills, and the journal's fills sum to the ledger's
    position. INV-2 (market orders): nothing left open on the venue.
    """
    orders = [o for o in fake.ledger.orders if not o.by_hand]
    per_id = Counter(o.client_id for o in orders)
    intents = {c for (c,) in _rows(journal, "SELECT client_id FROM intents")}
    assert not per_id or max(per_id.values()) == 1, per_id.most_common(3)
    assert set(per_id) == intents, (set(per_id) ^ intents)
    ours = {o.order_id for o in orders}
    ledger_ids = {f"{MARKET}:{t.trade_id}" for t in fake.ledger.trades if t.order_id in ours}
    local = journal_trade_ids(journal)
    assert not local or max(local.values()) == 1
    assert set(local) == ledger_ids, set(local) ^ ledger_ids
    got = journal_positions(journal).get(SYMBOL, 0.0)
    own = sum((t.qty if t.side == "BUY" else -t.qty for t in fake.ledger.trades
               if t.order_id in ours), Decimal(0))
    assert abs(got - float(own)) < 1e-9, (got, own)
    assert [o.client_id for o in fake.ledger.open_orders() if not o.by_hand] == []
    return {"orders": len(orders), "intents": len(intents), "trades": len(ledger_ids),
            "position": got}


# ---------------------------------------------------------------- the child process
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests.live._exchange_run",
                                description="Run a promoted config against a Binance URL.")
    p.add_argument("--url", required=True, help="base URL of the (fake) exchange")
    p.add_argument("--config", required=True, help="a config written by promote()")
    p.add_argument("--journal", required=True, help="the run's journal (resumed if present)")
    p.add_argument("--max-bars", type=int, default=None, help="stop after N bars")
    p.add_argument("--key-env", default=KEY_ENV, help="variable holding the API key")
    p.add_argument("--secret-env", default=SECRET_ENV, help="variable holding the secret")
    p.add_argument("--fsync", action="store_true", help="fsync each journal commit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the config; 0 when the replay ended, 3 (one line on stderr) on a LiveError."""
    from quantlab.live import LiveError, ReplayFeed, run
    from quantlab.live.secrets import secret_from_env

    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    logging.getLogger("quantlab.live").setLevel(logging.INFO)
    config = live_config(args.config)
    broker = make_broker(args.url, api_key=secret_from_env(args.key_env),
                         secret=secret_from_env(args.secret_env))
    feed = ReplayFeed(replay_frame(config), symbols=config.symbols)
    try:
        run(config, feed=feed, broker=broker, journal=args.journal, max_bars=args.max_bars,
            fsync=args.fsync)
    except LiveError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

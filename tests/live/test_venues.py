"""Venues from a config: the broker mapping (promote / load_config), the CcxtBroker the runner
builds from it, the start-up rule check, the feeds of ``build_feed`` and the CLI's exit code.

The fake Binance (127.0.0.1, real ccxt client) is the truth: its ledger holds the orders and
trades, its request log the requests; nothing is asserted on the runner's own echo alone.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest
import yaml

from quantlab.errors import InvalidParameterError
from quantlab.live import ReplayFeed, StartupError, load_config, promote, run
from quantlab.live.brokers import ExchangeRules, PaperBroker
from quantlab.live.commands import main
from quantlab.live.journal import Journal, journal_mode
from quantlab.live.venues import build_feed, check_broker, check_venue_rules, granularity_of
from quantlab.strategies import SmaCross
from tests.fakes.exchange import FakeBinance

KEY, SECRET = "CANARY-KEY-g1-5d2e8a", "CANARY-SECRET-g1-90c4f7"
SYM = "BTC/USDT"
STRAT = SmaCross(fast=3, slow=8)


@pytest.fixture(scope="module")
def server():
    """A fake Binance with the canary credentials and plenty of quote balance."""
    with FakeBinance(symbols=(SYM,), api_key=KEY, secret=SECRET, time_source="wall",
                     balances={"USDT": 10_000_000}) as s:
        yield s


@pytest.fixture(scope="module")
def bars(server):
    frame = server.bars(SYM, "1h", start="2024-01-01", end="2024-01-17")
    frame.attrs["symbol"] = SYM
    return frame


@pytest.fixture
def fresh(server, monkeypatch):
    """Empty ledger and request log; credentials exported; ccxt's client-side pacing off.

    ccxt sleeps ``rateLimit`` x endpoint weight before each request (about 0.2 s per
    ``myTrades``); the loopback fake has no limit and these tests are about ids and fills.
    """
    import ccxt

    from tests.fakes.ledger import Ledger

    with server.lock:
        server.faults.clear()
        server.requests.clear()
    server.ledger = Ledger({m: (v["base"], v["quote"]) for m, v in server.markets.items()},
                           balances={"USDT": 10_000_000})
    monkeypatch.setattr(ccxt.binance, "throttle", lambda self, cost=None: None)
    monkeypatch.setenv("G1_KEY", KEY)
    monkeypatch.setenv("G1_SECRET", SECRET)
    return server


def ccxt_broker(url: str, **extra) -> dict:
    return {"kind": "ccxt", "exchange": "binance", "market_type": "spot",
            "urls": {"base": url}, "sandbox": False, "api_key_env": "G1_KEY",
            "secret_env": "G1_SECRET", **extra}


def promoted(tmp_path: Path, data, broker, name: str = "v", **options) -> Path:
    return promote(STRAT, data=data, name=name, out_dir=tmp_path, reference_bars=60,
                   symbols=[SYM], broker=broker, **options)


# ---------------------------------------------------------------- config round trip
def test_a_ccxt_broker_mapping_round_trips(tmp_path, bars, server):
    mapping = ccxt_broker(server.url)
    path = promoted(tmp_path, bars.iloc[:300], mapping, lot_size=1e-5, min_notional=5)
    doc = yaml.safe_load(path.read_text())
    assert doc["broker"] == mapping and next(iter(doc["broker"])) == "kind"
    cfg = load_config(path)
    assert cfg.broker == "ccxt"  # the kind string: code comparing to "paper" keeps working
    assert cfg.broker_options == {k: v for k, v in mapping.items() if k != "kind"}
    assert cfg.monitoring == {"metrics_port": None, "api_port": None, "heartbeat_s": None,
                              "alerts": None}
    oanda = {"kind": "oanda", "account_id": "101-001-1-001", "token_env": "OANDA_TOKEN",
             "environment": "practice", "base_url": "http://127.0.0.1:1"}
    cfg2 = load_config(promoted(tmp_path, bars.iloc[:300], oanda, name="o"))
    assert (cfg2.broker, cfg2.broker_options["account_id"]) == ("oanda", "101-001-1-001")
    assert load_config(promoted(tmp_path, bars.iloc[:300], "paper", name="p")).broker == "paper"


REFUSED = [
    ({"api_key": KEY}, r"broker\.api_key.*never holds a secret.*api_key_env"),
    ({"secret": SECRET}, r"broker\.secret.*never holds a secret.*secret_env"),
    ({"secert_env": "G1_SECRET"}, r"broker\.secert_env.*Did you mean 'secret_env'"),
    ({"kind": "ccxtt"}, r"broker\.kind.*Did you mean 'ccxt'"),
    ({"exchange": "binanse"}, r"broker\.exchange.*Did you mean 'binance'"),
    ({"api_key_env": KEY + "/+="}, r"broker\.api_key_env.*NAME of an environment variable"),
    ({"urls": {"base": "http://exchange.example.com"}}, r"broker\.urls\.base.*https://"),
    ({"leverage": 3}, r"broker\.leverage.*only with market_type 'linear'"),
    ({"market_type": "linear"}, r"binanceusdm"),
]


@pytest.mark.parametrize("change, pattern", REFUSED)
def test_bad_broker_mappings_are_refused_by_promote_and_load_config(tmp_path, bars, server,
                                                                    change, pattern):
    bad = {**ccxt_broker(server.url), **change}
    with pytest.raises(InvalidParameterError, match=pattern) as info:
        promoted(tmp_path, bars.iloc[:300], bad)
    assert KEY not in str(info.value) and SECRET not in str(info.value)
    assert not (tmp_path / "v.yaml").exists()
    # the same mapping written into a config by hand: refused at start, naming the key
    path = promoted(tmp_path, bars.iloc[:300], "paper")
    doc = yaml.safe_load(path.read_text())
    doc["broker"] = bad
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(StartupError, match=pattern) as info:
        load_config(path)
    assert KEY not in str(info.value) and SECRET not in str(info.value)


def test_a_broker_string_other_than_paper_says_how_to_write_a_mapping():
    with pytest.raises(InvalidParameterError, match=r"kind: ccxt, exchange: binance"):
        check_broker("binance", caller="promote")


def test_a_missing_variable_is_named_never_a_value(tmp_path, bars, fresh, monkeypatch):
    path = promoted(tmp_path, bars.iloc[:300], ccxt_broker(fresh.url), lot_size=1e-5,
                    min_notional=5)
    monkeypatch.delenv("G1_KEY")
    with pytest.raises(StartupError, match=r"environment variable G1_KEY is not set") as info:
        run(path, feed=ReplayFeed(bars.iloc[300:320]), journal=tmp_path / "j.sqlite",
            fsync=False)
    assert SECRET not in str(info.value) and KEY not in str(info.value)
    assert not (tmp_path / "j.sqlite").exists() and fresh.requests == []


# ---------------------------------------------------------------- a run on the fake exchange
@pytest.mark.timeout(120)
def test_a_run_builds_the_ccxt_broker_from_the_config_and_trades_on_the_fake(
        tmp_path, bars, fresh):
    path = promoted(tmp_path, bars.iloc[:300], ccxt_broker(fresh.url), lot_size=1e-5,
                    min_notional=5, fee_bps=10)
    journal = tmp_path / "j.sqlite"
    res = run(path, feed=ReplayFeed(bars.iloc[300:360]), journal=journal, fsync=False)
    ledger = fresh.ledger
    intents = list(res.orders["client_id"])
    assert len(intents) >= 4  # the strategy traded several times
    # the exchange holds exactly the runner's client order ids, each once, each POSTed once
    assert Counter(o.client_id for o in ledger.orders) == Counter(intents)
    assert max(Counter(intents).values()) == 1
    posted = Counter(r.params.get("newClientOrderId") for r in fresh.requests
                     if (r.method, r.path) == ("POST", "/api/v3/order"))
    assert posted == Counter(intents)
    # the journal's fills are the ledger's trades: ids, client ids and sizes
    cid = {o.order_id: o.client_id for o in ledger.orders}
    truth = sorted((f"BTCUSDT:{t.trade_id}", cid[t.order_id], t.side.lower(), D(t.qty))
                   for t in ledger.trades)
    assert journal_mode(journal) == "live"  # a live run: a paper run would refuse it
    j = Journal(journal, mode="live", readonly=True)
    got = sorted((r["trade_id"], r["client_id"], r["side"], D(repr(r["size"])))
                 for r in j.rows("fills"))
    j.close()
    assert got == truth
    # the account's position is the exchange's
    assert D(repr(res.positions.get(SYM, 0.0))) == ledger.position("BTCUSDT")
    assert not Path(str(journal) + ".paper.sqlite").exists()
    # no credential reached the journal
    raw = journal.read_bytes() + Path(str(journal) + "-wal").read_bytes() \
        if Path(str(journal) + "-wal").exists() else journal.read_bytes()
    assert KEY.encode() not in raw and SECRET.encode() not in raw


# ---------------------------------------------------------------- start-up rule check
def test_a_coarser_venue_lot_or_larger_min_notional_refuses_the_start(tmp_path, bars, fresh):
    path = promoted(tmp_path, bars.iloc[:300], ccxt_broker(fresh.url))  # lot 0, min 0
    with pytest.raises(StartupError, match=r"lot_size=1e-05 -o min_notional=5") as info:
        run(path, feed=ReplayFeed(bars.iloc[300:320]), journal=tmp_path / "j.sqlite",
            fsync=False)
    text = str(info.value)
    assert "venue's lot is 1e-05" in text and "minimum notional is 5" in text
    assert not (tmp_path / "j.sqlite").exists()
    assert not [r for r in fresh.requests if r.path == "/api/v3/order"]  # nothing sent


class Rules(PaperBroker):
    def __init__(self, lot: float, notional: float, **kw):
        super().__init__(**kw)
        self._venue = ExchangeRules(lot, 0.01, notional)

    def rules(self, symbol):
        return self._venue


@pytest.mark.parametrize("config_lot, venue_lot, ok", [
    (0.02, 0.01, True), (0.001, 0.001, True), (0.001, 0.0, True), (0.0, 0.0, True),
    (0.015, 0.01, False), (0.001, 0.01, False), (0.0, 1e-5, False), (0.3, 0.1, True),
])
def test_the_venue_lot_must_divide_the_config_lot(tmp_path, bars, config_lot, venue_lot, ok):
    cfg = load_config(promoted(tmp_path, bars.iloc[:300], "paper", lot_size=config_lot,
                               min_notional=5))
    venue = Rules(venue_lot, 5.0, path=str(tmp_path / "venue.sqlite"))
    if ok:
        assert check_venue_rules(cfg, venue)[SYM].lot_size == venue_lot
    else:
        with pytest.raises(StartupError, match=r"not a multiple of it.*Promote again with "
                                               r"-o lot_size="):
            check_venue_rules(cfg, venue)
    with pytest.raises(StartupError, match=r"minimum notional is 10.*-o min_notional=10"):
        check_venue_rules(cfg, Rules(venue_lot, 10.0, path=str(tmp_path / "venue2.sqlite")))
    venue.close()


def test_a_paper_run_passes_the_rule_check_and_never_authenticates(tmp_path, bars, fresh):
    path = promoted(tmp_path, bars.iloc[:300], "paper", lot_size=1e-5, min_notional=5)
    res = run(path, feed=ReplayFeed(bars.iloc[300:330]), journal=tmp_path / "p.sqlite",
              fsync=False)
    assert res.bars == 30 and Path(str(tmp_path / "p.sqlite") + ".paper.sqlite").exists()
    assert fresh.requests == []  # paper never talked to the exchange


# ---------------------------------------------------------------- feeds
def test_build_feed_replay_and_ccxt_on_the_config(tmp_path, bars):
    with FakeBinance(symbols=(SYM,), now="2024-01-20 12:30") as venue:
        mapping = {**ccxt_broker(venue.url), "urls": {"base": venue.url}}
        cfg = load_config(promoted(tmp_path, bars.iloc[:300], mapping, lot_size=1e-5,
                                   min_notional=5))
        feed = build_feed(cfg, "ccxt", history=5, max_polls=1, poll_seconds=0.1)
        got = list(feed.bars())
        truth = venue.bars(SYM, "1h", start="2024-01-20 07:00", end="2024-01-20 11:00")
        assert [b.time for b in got] == list(truth.index)
        np.testing.assert_array_equal([b.close[0] for b in got], truth["close"].to_numpy())
        assert feed.resume_by == "time" and feed.symbols == [SYM]
        assert {r.path for r in venue.requests} <= {"/api/v3/exchangeInfo", "/api/v3/time",
                                                    "/api/v3/klines"}  # public data only
    replay = build_feed(cfg, "replay", data=bars.iloc[300:310])
    assert len(list(replay.bars())) == 10 and replay.symbols == [SYM]
    with pytest.raises(StartupError, match=r"`data` of build_feed\[replay\]"):
        build_feed(cfg, "replay")
    with pytest.raises(StartupError, match=r"Did you mean 'store'"):
        build_feed(cfg, "stroe")


def test_the_oanda_feed_needs_an_oanda_config(tmp_path, bars):
    cfg = load_config(promoted(tmp_path, bars.iloc[:300], "paper"))
    with pytest.raises(StartupError, match=r"paper never uses a token"):
        build_feed(cfg, "oanda")
    assert (granularity_of("1h"), granularity_of("1d"), granularity_of("5s")) == (
        "H1", "D", "S5")
    with pytest.raises(StartupError, match=r"timeframe"):
        granularity_of("7m")


# ---------------------------------------------------------------- CLI
def test_cli_exits_2_with_one_line_naming_the_variable(tmp_path, bars, fresh, monkeypatch,
                                                       capsys):
    path = promoted(tmp_path, bars.iloc[:300], ccxt_broker(fresh.url), lot_size=1e-5,
                    min_notional=5)
    monkeypatch.delenv("G1_SECRET")
    code = main(["live", "run", str(path), "--feed", "ccxt", "--max-polls", "1",
                 "--journal", str(tmp_path / "j.sqlite"), "--no-fsync"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "G1_SECRET is not set" in err
    assert SECRET not in err and KEY not in err


def test_cli_promote_takes_a_broker_mapping(tmp_path, server, monkeypatch):
    mapping = tmp_path / "broker.yaml"
    mapping.write_text(yaml.safe_dump(ccxt_broker(server.url)))
    assert main(["promote", "SmaCross", "--name", "cb", "--start", "2011-06", "--end",
                 "2012-12", "--symbol", "AAPL", "-o", "lot_size=0.001", "--broker",
                 str(mapping), "--monitoring", "{metrics_port: 9108, heartbeat_s: 60}",
                 "--out", str(tmp_path)]) == 0
    cfg = load_config(tmp_path / "cb.yaml")
    assert cfg.broker == "ccxt" and cfg.broker_options["urls"] == {"base": server.url}
    assert cfg.monitoring["metrics_port"] == 9108 and cfg.monitoring["heartbeat_s"] == 60.0
    assert main(["promote", "SmaCross", "--name", "bad", "--broker",
                 "{kind: ccxt, exchange: binance, api_key: x}", "--out", str(tmp_path)]) == 2


def test_the_committed_exchange_example_verifies_and_names_its_variables(monkeypatch,
                                                                         tmp_path):
    from quantlab.live.promote import verify_fingerprint
    from quantlab.live.venues import build_broker

    path = Path(__file__).resolve().parents[2] / "config" / "live" / "exchange_example.yaml"
    cfg = load_config(path)
    verify_fingerprint(cfg)
    assert cfg.broker == "ccxt" and cfg.broker_options["sandbox"] is True
    assert cfg.monitoring["metrics_port"] == 9108 and cfg.monitoring["alerts"]["sinks"]
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    with pytest.raises(StartupError, match=r"BINANCE_API_KEY is not set"):
        build_broker(cfg, journal_path=tmp_path / "j.sqlite")


# ---------------------------------------------------------------- venue feeds and windows
def oanda_broker(url: str, **extra) -> dict:
    return {"kind": "oanda", "account_id": "101-001-1234567-001", "token_env": "FX3_OANDA",
            "base_url": url, **extra}


def test_a_full_window_config_is_refused_on_venue_feeds(tmp_path, bars):
    """``window: full`` needs the promotion's whole history; a venue feed serves the last
    bars only, so the refits would differ silently: refused at start, naming the fix."""
    full = load_config(promote(STRAT, data=bars.iloc[:300], name="full", out_dir=tmp_path,
                               reference_bars=60, symbols=["EUR_USD"], window="full",
                               broker=oanda_broker("http://127.0.0.1:1")))
    assert full.window is None
    for kind, options in (("ccxt", {"exchange": "binance"}), ("oanda", {})):
        with pytest.raises(StartupError, match=rf"`window` of build_feed\[{kind}\].*got "
                                               r"'full'.*--feed replay.*--window N"):
            build_feed(full, kind, **options)
    replay = build_feed(full, "replay", data=bars.iloc[300:305])  # the history itself: fine
    assert len(list(replay.bars())) == 5


def test_the_oanda_feed_starts_with_the_configs_window(tmp_path, bars, monkeypatch):
    from dataclasses import replace

    from tests.fakes.oanda import FakeOanda

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FX3_OANDA", "fx3-canary-token")
    with FakeOanda(token="fx3-canary-token", now="2024-03-01 12:30") as server:
        cfg = load_config(promote(STRAT, data=bars.iloc[:300], name="fx", out_dir=tmp_path,
                                  reference_bars=60, symbols=["EUR_USD"],
                                  broker=oanda_broker(server.url)))
        feed = build_feed(cfg, "oanda")
        try:
            got = [b.time for b in feed.bars()]
        finally:
            feed.close()
        truth = server.candles("EUR_USD", "H1", count=cfg.window)  # the closed ones
        assert len(got) == cfg.window and got == list(truth.index)
        (request,) = server.requests_to("GET", "/candles")
        assert int(request.params["count"]) == cfg.window + 1  # + the forming candle
        with pytest.raises(StartupError, match=r"`window` of build_feed\[oanda\]\(\) must be at "
                                               r"most 4999 bars.*got 5000"):
            build_feed(replace(cfg, window=5000), "oanda")
        explicit = build_feed(replace(cfg, window=5000), "oanda", count=10)
        assert explicit.count == 10  # the caller's choice, stated
        explicit.close()


def test_an_oanda_mapping_without_token_env_names_and_redacts_the_default(tmp_path, bars,
                                                                         monkeypatch):
    """The adapter reads OANDA_TOKEN when ``token_env`` is omitted: the config must name it,
    or the run's log redaction (which finds secrets by the names a config holds) misses it."""
    import io
    import logging

    from quantlab.live.commands import _redact_logs

    bare = {"kind": "oanda", "account_id": "101-001-1-001"}
    assert check_broker(bare, caller="promote")[1]["token_env"] == "OANDA_TOKEN"
    path = promote(STRAT, data=bars.iloc[:300], name="bare", out_dir=tmp_path,
                   reference_bars=60, symbols=["EUR_USD"], broker=bare)
    assert yaml.safe_load(path.read_text())["broker"]["token_env"] == "OANDA_TOKEN"
    doc = yaml.safe_load(path.read_text())  # an older config, written without it
    del doc["broker"]["token_env"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    cfg = load_config(path)
    assert cfg.broker_options["token_env"] == "OANDA_TOKEN"
    canary = "oanda-canary-5e1f0b9d"
    monkeypatch.setenv("OANDA_TOKEN", canary)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        _redact_logs(cfg)
        logging.getLogger("urllib3").warning("Authorization: Bearer %s", canary)
    finally:
        root.removeHandler(handler)
        if logging.lastResort is not None:
            for flt in list(logging.lastResort.filters):
                logging.lastResort.removeFilter(flt)
    text = stream.getvalue()
    assert "Authorization: Bearer ***" in text and canary not in text

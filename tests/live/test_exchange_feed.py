"""CcxtPollingFeed against the fake Binance on 127.0.0.1, through the real ccxt client.

The oracle is the fake exchange itself (``server.bars``: the final OHLCV it serves, and its
request log); the feed's own counters are never the evidence. The exchange clock is driven
deterministically: the feed's ``clock`` reads the fake's clock and its ``sleep`` advances it,
so a test of hours of bars runs in well under a second of wall time.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from quantlab.errors import DataError, ExchangeError, InvalidParameterError
from quantlab.live.exchange_feed import CcxtPollingFeed
from tests.fakes.exchange import INTERVAL_MS, Response, fake_binance

pytestmark = pytest.mark.timeout(60)

BTC, ETH = "BTC/USDT", "ETH/USDT"
KLINES = "/api/v3/klines"
FIELDS = ("open", "high", "low", "close", "volume")


class FakeTime:
    """The feed's clock and sleep: read and advance the fake exchange's clock."""

    def __init__(self, server):
        self.server = server
        self.sleeps: list[float] = []
        self.hook = None

    def clock(self) -> float:
        return self.server.now_ms() / 1000.0

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.server.set_now(self.server.now_ms() + round(seconds * 1000))
        if self.hook is not None:
            self.hook(len(self.sleeps))


def make_feed(server, client, ft, symbols=BTC, **options):
    options.setdefault("history", 3)
    return CcxtPollingFeed("binance", symbols, "1h", client=client, clock=ft.clock,
                           sleep=ft.sleep, **options)


def frame(bars, k=0):
    """The yielded bars of symbol number ``k`` as an OHLCV frame (the fake's format)."""
    index = pd.DatetimeIndex([b.time for b in bars], name="time").as_unit("ns")
    return pd.DataFrame({f: np.array([getattr(b, f)[k] for b in bars]) for f in FIELDS},
                        index=index)


def wrap_klines(server, change):
    """Replace the klines route by ``change(request, original_handler)``."""
    original = server.routes[("GET", KLINES)]
    server.route("GET", KLINES, lambda request: change(request, original))


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def ms(text):
    return int(ts(text).value // 1_000_000)


# ---- closed bars only -------------------------------------------------------------------
def test_forming_bar_is_dropped_then_yielded_once_after_it_closes_with_final_values():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        forming = server.bars(BTC, "1h", include_forming=True).iloc[-1]
        assert forming.name == ts("2024-03-01 10:00")  # served at 10:30, partial
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, max_polls=3)
        got = [(len(ft.sleeps), b) for b in feed.bars()]
        truth = server.bars(BTC, "1h", start="2024-03-01 07:00")  # now final
        assert server.now_ms() > ms("2024-03-01 11:00")
    bars = [b for _, b in got]
    # poll 1 (10:30): the three closed bars, not the forming 10:00 one
    assert [b.time for n, b in got if n == 0] == list(pd.date_range(
        "2024-03-01 07:00", periods=3, freq="h", tz="UTC"))
    # the 10:00 bar: once, after it closed, with the exchange's final values
    assert [b.time for b in bars].count(ts("2024-03-01 10:00")) == 1
    pd.testing.assert_frame_equal(frame(bars), truth.loc[:"2024-03-01 11:00"])
    assert frame(bars).loc["2024-03-01 10:00", "close"] != forming["close"]
    # the feed slept until the bar's close plus settle_seconds (2 s), not a blind poll
    assert ft.sleeps[0] == pytest.approx(30 * 60 + 2.0)


def test_settle_seconds_keeps_a_bar_back_until_the_exchange_clock_passes_close_plus_settle():
    with fake_binance(symbols=(BTC,), now="2024-03-01 11:00:01") as (server, client):
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, history=1, settle_seconds=5.0, max_polls=1)
        times = [b.time for b in feed.bars()]
    # 10:00 closed at 11:00 but 11:00:01 < 11:00:05: the newest yielded bar is 09:00
    assert times == [ts("2024-03-01 09:00")]


# ---- duplicates, out of order ------------------------------------------------------------
def test_repeated_and_overlapping_rows_are_yielded_once():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        def doubled(request, original):
            response = original(request)
            return Response(response.status, response.body * 2, response.headers)

        wrap_klines(server, doubled)
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, max_polls=6)
        bars = list(feed.bars())
        truth = server.bars(BTC, "1h", start="2024-03-01 07:00")
        starts = [int(r.params["startTime"]) for r in server.requests_to(KLINES)]
    times = [b.time for b in bars]
    assert len(times) == len(set(times)) == 8 and times == sorted(times)
    pd.testing.assert_frame_equal(frame(bars), truth)
    # every later request re-read the three newest bars already held: the exchange served
    # each of those bars (twice per response) again, and none came out twice
    newest = [ts("2024-03-01 09:00")] + times[3:-1]
    assert starts[1:] == [ms(str(t - pd.Timedelta(hours=2))) for t in newest]


def test_an_out_of_order_bar_is_dropped_with_a_reason():
    hidden = ms("2024-03-01 08:00")
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        calls = []

        def late(request, original):
            calls.append(request)
            response = original(request)
            if len(calls) == 1:   # the first answer lacks 08:00; later ones bring it back
                return Response(200, [r for r in response.body if r[0] != hidden])
            return response

        wrap_klines(server, late)
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, history=4, max_polls=2)
        bars = list(feed.bars())
        truth = server.bars(BTC, "1h", start="2024-03-01 06:00")
    assert [b.time for b in bars] == [ts(f"2024-03-01 {h:02d}:00") for h in (6, 7, 9, 10)]
    pd.testing.assert_frame_equal(frame(bars), truth.drop(ts("2024-03-01 08:00")))
    alerts = feed.drain_alerts()
    assert [a.kind for a in alerts] == ["out_of_order"]
    assert "BTC/USDT" in alerts[0].message and "2024-03-01 08:00" in alerts[0].message
    assert "dropped" in alerts[0].message


# ---- several symbols ---------------------------------------------------------------------
def test_two_symbols_are_aligned_by_timestamp():
    with fake_binance(symbols=(BTC, ETH), now="2024-03-01 10:30") as (server, client):
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, symbols=[BTC, ETH], max_polls=3)
        bars = list(feed.bars())
        truth = {s: server.bars(s, "1h", start="2024-03-01 07:00") for s in (BTC, ETH)}
    assert feed.symbols == [BTC, ETH]
    assert all(b.close.shape == (2,) for b in bars)
    for k, symbol in enumerate((BTC, ETH)):
        pd.testing.assert_frame_equal(frame(bars, k), truth[symbol])


@pytest.mark.parametrize("gap", ["skip", "ffill"])
def test_a_bar_one_symbol_skipped_follows_the_gap_policy(gap):
    hole = ms("2024-03-01 08:00")
    with fake_binance(symbols=(BTC, ETH), now="2024-03-01 10:30") as (server, client):
        def no_eth_0800(request, original):
            response = original(request)
            if request.params.get("symbol") != "ETHUSDT":
                return response
            return Response(200, [r for r in response.body if r[0] != hole])

        wrap_klines(server, no_eth_0800)
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, symbols=[BTC, ETH], gap=gap, max_polls=2)
        bars = list(feed.bars())
        truth = {s: server.bars(s, "1h", start="2024-03-01 07:00") for s in (BTC, ETH)}
    times = [b.time for b in bars]
    alerts = feed.drain_alerts()
    assert [a.kind for a in alerts] == ["gap"]
    assert "ETH/USDT" in alerts[0].message and "2024-03-01 08:00" in alerts[0].message
    if gap == "skip":
        assert ts("2024-03-01 08:00") not in times
        pd.testing.assert_frame_equal(frame(bars, 0), truth[BTC].drop(ts("2024-03-01 08:00")))
    else:
        filled = bars[times.index(ts("2024-03-01 08:00"))]
        prev = truth[ETH].loc["2024-03-01 07:00", "close"]
        assert [filled.open[1], filled.high[1], filled.low[1], filled.close[1],
                filled.volume[1]] == [prev, prev, prev, prev, 0.0]
        pd.testing.assert_frame_equal(frame(bars, 0), truth[BTC])


# ---- stale data --------------------------------------------------------------------------
def test_stale_data_is_reported_and_clears_when_bars_return():
    freeze = {"at": ms("2024-03-01 10:00")}
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        def frozen(request, original):
            response = original(request)
            if freeze["at"] is None:
                return response
            return Response(200, [r for r in response.body if r[0] < freeze["at"]])

        wrap_klines(server, frozen)
        ft = FakeTime(server)
        seen = []

        def on_sleep(n):
            seen.append((server.now_ms(), feed.stale_reason))
            if n == 4:
                freeze["at"] = None   # the exchange serves new bars again

        ft.hook = on_sleep
        journaled = []
        feed = make_feed(server, client, ft, history=2, poll_seconds=1800, max_polls=6,
                         on_alert=lambda kind, text: journaled.append((kind, text)))
        got = [(len(ft.sleeps), b.time) for b in feed.bars()]
    # polls at 10:30, 11:00:02, 11:30:02, 12:00:02 (stale: 09:00 closed > 2 h ago), then
    # 12:30:02 with the exchange back (10:00 and 11:00), 13:00:02 (12:00)
    assert [n for n, _ in got if n < 4] == [0, 0]                 # nothing new while frozen
    assert seen[2][1] is None and seen[3][1] is not None          # stale from 12:00:02 on
    assert "BTC/USDT" in seen[3][1] and "2024-03-01 09:00" in seen[3][1]
    assert [k for k, _ in journaled] == ["stale", "recovered"]    # one alert each way
    assert feed.stale_reason is None
    assert [t for n, t in got if n >= 4] == list(pd.date_range(
        "2024-03-01 10:00", "2024-03-01 12:00", freq="h", tz="UTC"))


def test_now_is_the_exchange_clock_measured_with_fetch_time():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        feed = CcxtPollingFeed("binance", BTC, "1h", client=client)  # local clock: today
        offset = feed.sync_clock()
        gap = abs((feed.now() - ts("2024-03-01 10:30")).total_seconds())
        assert server.requests_to("/api/v3/time")
    assert gap < 2.0
    assert offset == pytest.approx(ms("2024-03-01 10:30") / 1000 - time.time(), abs=2.0)


# ---- restart -----------------------------------------------------------------------------
def test_restart_after_the_journals_last_bar_yields_no_duplicate():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        ft = FakeTime(server)
        first = list(make_feed(server, client, ft, max_polls=1).bars())
        server.set_now("2024-03-01 13:30")  # the runner was down for three hours
        feed = make_feed(server, client, ft, max_polls=1)
        second = list(feed.bars(after=first[-1].time))
        truth = server.bars(BTC, "1h", start="2024-03-01 07:00")
    assert [b.time for b in first][-1] == ts("2024-03-01 09:00")
    assert [b.time for b in second][0] == ts("2024-03-01 10:00")
    pd.testing.assert_frame_equal(frame(first + second), truth)


def test_resume_far_back_pages_through_the_history_once():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        ft = FakeTime(server)
        after = ts("2024-03-01 09:00") - pd.Timedelta(hours=1200)
        bars = list(make_feed(server, client, ft, max_polls=1).bars(after=after))
        truth = server.bars(BTC, "1h", start=after + pd.Timedelta(hours=1))
        pages = len(server.requests_to(KLINES))
    assert len(bars) == 1200
    pd.testing.assert_frame_equal(frame(bars), truth)
    assert pages == 3   # 500 + 500 + 200 rows; the loop stops at the newest closed bar


# ---- faults ------------------------------------------------------------------------------
def test_5xx_429_and_a_reset_are_retried_and_each_bar_arrives_once():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        server.inject("status", status=500)
        server.inject("status", status=429, retry_after=1)
        server.inject("drop")
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, max_polls=2)
        bars = list(feed.bars())
        truth = server.bars(BTC, "1h", start="2024-03-01 07:00")
        failed = sum(f.fired for f in server.faults)
        requests = len(server.requests_to(KLINES))
    pd.testing.assert_frame_equal(frame(bars), truth)
    assert failed == 3 and requests == 2 + failed
    assert 1.0 in ft.sleeps                      # Retry-After honoured
    assert feed.drain_alerts() == []             # recovered within the poll's retries


def test_a_ban_stops_every_request_until_retry_after_has_passed():
    with fake_binance(symbols=(BTC, ETH), now="2024-03-01 10:30") as (server, client):
        server.inject("status", status=418, retry_after=120, skip=2)  # poll 2, first symbol
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, symbols=[BTC, ETH], history=2, poll_seconds=10,
                         max_polls=4)
        bars = list(feed.bars())
        log = [r.time_ms for r in server.requests if r.path != "/api/v3/exchangeInfo"]
        banned_at = server.requests_to(KLINES)[2].time_ms
        truth = server.bars(BTC, "1h", start="2024-03-01 08:00")
        klines = [r.time_ms for r in server.requests_to(KLINES)]
    after = [t for t in log if t > banned_at]
    assert after and min(after) >= banned_at + 120_000   # no request of any kind in the ban
    assert klines.count(banned_at) == 1                   # ETH was not asked either
    assert [a.kind for a in feed.drain_alerts()] == ["feed_error", "recovered"]
    pd.testing.assert_frame_equal(frame(bars), truth)


def test_a_definitive_exchange_error_is_raised_after_one_request():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        server.inject("status", status=400, body={"code": -1100, "msg": "Illegal characters"})
        ft = FakeTime(server)
        with pytest.raises(ExchangeError, match="not retried"):
            list(make_feed(server, client, ft, max_polls=1).bars())
        assert len(server.requests_to(KLINES)) == 1


# ---- construction ------------------------------------------------------------------------
def test_the_feed_builds_its_own_unauthenticated_client_from_urls():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, _client):
        ft = FakeTime(server)
        config = {"options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                              "fetchMargins": False}}
        feed = CcxtPollingFeed("binance", BTC, "1h", urls=server.url, config=config, history=2,
                               clock=ft.clock, sleep=ft.sleep, max_polls=1)
        feed.client.session.trust_env = False
        bars = list(feed.bars())
        truth = server.bars(BTC, "1h", start="2024-03-01 08:00")
        assert all("X-MBX-APIKEY" not in r.headers for r in server.requests)
    assert not feed.client.apiKey and not feed.client.secret
    pd.testing.assert_frame_equal(frame(bars), truth)


def test_unknown_symbol_names_the_markets():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        feed = make_feed(server, client, FakeTime(server), symbols="BTC/USDX", max_polls=1)
        with pytest.raises(DataError, match=r"`symbols` of CcxtPollingFeed\(\).*'BTC/USDT'"):
            list(feed.bars())


def test_bad_arguments_are_refused_with_the_house_message():
    import ccxt

    canary = "canary-secret-4242"
    keyed = ccxt.binance({"apiKey": "k", "secret": canary})
    with pytest.raises(InvalidParameterError, match="unauthenticated") as info:
        CcxtPollingFeed("binance", BTC, "1h", client=keyed)
    assert canary not in str(info.value)
    with pytest.raises(InvalidParameterError, match="credentials"):
        CcxtPollingFeed("binance", BTC, "1h", config={"secret": canary})
    with pytest.raises(InvalidParameterError, match="Did you mean 'binance'"):
        CcxtPollingFeed("binanse", BTC, "1h")
    with pytest.raises(InvalidParameterError, match="fixed-length"):
        CcxtPollingFeed("binance", BTC, "1M")
    with pytest.raises(InvalidParameterError, match="offered by binance"):
        CcxtPollingFeed("binance", BTC, "7h")
    with pytest.raises(InvalidParameterError, match="`gap` of CcxtPollingFeed.*'skip'"):
        CcxtPollingFeed("binance", BTC, "1h", gap="skipp")
    with pytest.raises(InvalidParameterError, match="unique"):
        CcxtPollingFeed("binance", [BTC, BTC], "1h")
    with pytest.raises(InvalidParameterError, match="poll_seconds"):
        CcxtPollingFeed("binance", BTC, "1h", poll_seconds=0)
    assert INTERVAL_MS["1h"] == CcxtPollingFeed("binance", BTC, "1h").timeframe.value // 10**6


# ---- the runner on the exchange feed -----------------------------------------------------
@pytest.mark.timeout(120)
def test_the_runner_journals_each_closed_bar_once_and_decides_only_on_fresh_ones(tmp_path):
    from quantlab.live import run
    from quantlab.live.journal import Journal
    from quantlab.strategies import SmaCross
    from tests.live.conftest import promoted

    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        past = server.bars(BTC, "1h", end="2024-02-28 23:00").iloc[-300:]
        past.attrs["symbol"] = BTC
        config = promoted(tmp_path, SmaCross(fast=3, slow=8), past, name="cf", timeframe="1h")
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, history=20, max_polls=4)
        res = run(config, feed=feed, journal=tmp_path / "j.sqlite", fsync=False)
        truth = server.bars(BTC, "1h", start="2024-02-29 14:00")
    j = Journal(tmp_path / "j.sqlite", readonly=True)
    bars = j.frame("bars")
    j.close()
    # 20 history bars (14:00 .. 09:00) at 10:30, then 10:00, 11:00, 12:00 as they close
    assert list(pd.DatetimeIndex(bars["time"])) == list(truth.index)
    assert res.bars == len(truth) == 23
    # the runner's stale check ran on the exchange clock (10:30 for the history): bars that
    # closed more than 2 h before it were held, the fresh ones decided on
    stale = res.alerts[res.alerts["message"].str.contains("stale data")]
    assert len(stale) == int((truth.index + pd.Timedelta(hours=1)
                              < ts("2024-03-01 08:30")).sum()) == 18
    assert set(bars.loc[bars["time"].isin(stale["bar_time"]), "status"]) == {"hold"}


# ---- review fixes: clock offset, shared retry policy -------------------------------------
def test_the_clock_offset_times_only_the_successful_fetch_time_attempt():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        server.inject("status", status=500, path="/api/v3/time")
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, backoff_seconds=4.0, poll_seconds=30)
        offset = feed.sync_clock()
        fired = server.faults[0].fired
    assert fired == 1 and ft.sleeps and ft.sleeps[0] > 0.5   # a retry with a real backoff
    # the feed's clock *is* the exchange clock: the true offset is exactly zero
    assert offset == pytest.approx(0.0, abs=1e-9)


def test_a_slow_clock_sync_keeps_the_previous_offset_and_alerts():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, settle_seconds=2)
        assert feed.sync_clock() == pytest.approx(0.0, abs=1e-9)
        original = server.routes[("GET", "/api/v3/time")]

        def slow(request):  # the answer takes 6 s of exchange time to come back
            server.set_now(server.now_ms() + 6000)
            return original(request)

        server.route("GET", "/api/v3/time", slow)
        assert feed.sync_clock() == pytest.approx(0.0, abs=1e-9)
        gap = (feed.now() - pd.Timestamp(server.now_ms(), unit="ms", tz="UTC")).total_seconds()
    assert gap == pytest.approx(0.0, abs=1e-3)      # not 3 s ahead of the exchange
    (alert,) = feed.drain_alerts()
    assert alert.kind == "feed_error" and "previous offset" in alert.message


def test_a_418_without_retry_after_blocks_requests_for_the_default_ban():
    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        server.inject("status", status=418, skip=1)   # poll 2
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, history=2, poll_seconds=10, max_polls=4)
        list(feed.bars())
        klines = [r.time_ms for r in server.requests_to(KLINES)]
        banned_at = klines[1]
    later = [t for t in klines if t > banned_at]
    assert klines.count(banned_at) == 1                   # not retried at once
    assert later and min(later) >= banned_at + 120_000    # the 120 s default ban


def test_an_http_date_retry_after_is_honoured():
    from email.utils import formatdate

    with fake_binance(symbols=(BTC,), now="2024-03-01 10:30") as (server, client):
        server.inject("status", status=429, retry_after=formatdate(time.time() + 30,
                                                                  usegmt=True))
        ft = FakeTime(server)
        feed = make_feed(server, client, ft, poll_seconds=60, max_polls=1)
        bars = list(feed.bars())
    assert any(28.0 <= s <= 31.0 for s in ft.sleeps), ft.sleeps   # the date, not a backoff
    assert len(bars) == 3

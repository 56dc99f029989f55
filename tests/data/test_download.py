"""Tests of quantlab.data.download against a fake Binance on 127.0.0.1 through the real ccxt client.

The oracle is the fake exchange's own bar table (``FakeBinance.bars``), built from the same
numbers it serves as JSON strings.
"""

from __future__ import annotations

import time
from pathlib import Path

import ccxt
import numpy as np
import pandas as pd
import pytest

from quantlab.data.download import bars_from_ccxt, download
from quantlab.data.store import Store
from quantlab.errors import DataError, DataQualityWarning, ExchangeError, InvalidParameterError
from tests.fakes.exchange import FakeBinance, fake_binance

pytestmark = pytest.mark.timeout(60)

HOUR = 3_600_000
LISTING = pd.Timestamp("2024-01-01", tz="UTC")
# 3 500 closed hourly bars; bar #3500 is still forming (30 minutes into it)
NOW = LISTING + pd.Timedelta(hours=3500, minutes=30)


@pytest.fixture
def fake():
    with fake_binance(listing=LISTING, now=NOW, client={"rateLimit": 10}) as pair:
        yield pair


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def _klines(server: FakeBinance) -> list:
    return server.requests_to("/api/v3/klines")


def _assert_no_gaps(frame: pd.DataFrame, step: pd.Timedelta) -> None:
    assert frame.index.is_unique
    assert (np.diff(frame.index.asi8) == step.value).all()


def test_multi_page_download_equals_the_exchange(fake, store: Store) -> None:
    server, client = fake
    out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=500,
                   progress=False)
    truth = server.bars("BTC/USDT", "1h")
    assert len(truth) == 3500
    pd.testing.assert_frame_equal(out, truth, check_exact=True)
    pd.testing.assert_frame_equal(store.read("BTC/USDT", "1h"), truth, check_exact=True)
    pages = _klines(server)
    assert len(pages) == 7  # 3500 bars / 500 per page
    assert [int(r.params["startTime"]) for r in pages] == [
        int((LISTING + pd.Timedelta(hours=500 * i)).value // 10**6) for i in range(7)]
    assert all(r.params["limit"] == "500" and r.params["symbol"] == "BTCUSDT" for r in pages)


def test_full_pages_of_1000_and_a_second_symbol(fake, store: Store) -> None:
    server, client = fake
    out = download(client, "ETH/USDT", "1h", since=LISTING, store=store, limit=1000,
                   progress=False)
    pd.testing.assert_frame_equal(out, server.bars("ETH/USDT", "1h"), check_exact=True)
    assert len(_klines(server)) == 4


def test_still_forming_bar_is_dropped(fake, store: Store) -> None:
    server, client = fake
    forming = LISTING + pd.Timedelta(hours=3500)
    served = server.bars("BTC/USDT", "1h", start=forming, include_forming=True)
    assert served.index.tolist() == [forming]  # the exchange does serve it
    out = download(client, "BTC/USDT", "1h", since=forming - pd.Timedelta(hours=5), store=store,
                   progress=False)
    assert out.index[-1] == forming - pd.Timedelta(hours=1)
    assert forming not in store.read("BTC/USDT", "1h").index
    # once the bar has closed, the next run picks it up with its final values
    server.set_now(forming + pd.Timedelta(hours=1))
    out = download(client, "BTC/USDT", "1h", since=forming - pd.Timedelta(hours=5), store=store,
                   progress=False)
    assert out.index[-1] == forming
    pd.testing.assert_frame_equal(out, server.bars("BTC/USDT", "1h",
                                                   start=forming - pd.Timedelta(hours=5)),
                                  check_exact=True)
    assert out.loc[forming, "close"] != served.loc[forming, "close"]  # partial != final


def test_bar_that_just_closed_is_kept(store: Store) -> None:
    now = LISTING + pd.Timedelta(hours=10)  # bar 9 closes exactly now
    with fake_binance(listing=LISTING, now=now) as (server, client):
        out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, progress=False)
        assert len(out) == 10
        pd.testing.assert_frame_equal(out, server.bars("BTC/USDT", "1h"), check_exact=True)


def test_resumes_after_an_interruption_without_gaps_or_duplicates(fake, store: Store) -> None:
    server, client = fake
    # the 4th page request and every retry of it lose the connection
    server.inject("drop", skip=3, times=2)
    with pytest.raises(ExchangeError, match="call download\\(\\) again to resume"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=500,
                 progress=False, max_retries=1, backoff=0.01)
    kept = store.read("BTC/USDT", "1h")
    truth = server.bars("BTC/USDT", "1h")
    pd.testing.assert_frame_equal(kept, truth.iloc[:1500], check_exact=True)  # 3 pages kept
    first_run = len(_klines(server))
    out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=500,
                   progress=False)
    pd.testing.assert_frame_equal(out, truth, check_exact=True)
    _assert_no_gaps(store.read("BTC/USDT", "1h"), pd.Timedelta(hours=1))
    resumed = _klines(server)[first_run:]
    # resumed from the last stored bar + 1 h, not from `since`
    assert int(resumed[0].params["startTime"]) == int(
        (LISTING + pd.Timedelta(hours=1500)).value // 10**6)
    assert len(resumed) == 4


def test_an_empty_page_mid_range_warns_and_the_next_run_completes(fake, store: Store) -> None:
    server, client = fake
    # the 3rd page comes back as an empty list (an exchange with a gap in its history)
    server.inject("status", status=200, body=[], skip=2)
    with pytest.warns(DataQualityWarning, match=r"returned no BTC/USDT 1h bars from .* are missing"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=500, progress=False)
    truth = server.bars("BTC/USDT", "1h")
    pd.testing.assert_frame_equal(store.read("BTC/USDT", "1h"), truth.iloc[:1000], check_exact=True)
    out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=500, progress=False)
    pd.testing.assert_frame_equal(out, truth, check_exact=True)


def test_a_later_run_only_fetches_new_closed_bars(fake, store: Store) -> None:
    server, client = fake
    download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=1000, progress=False)
    before = len(_klines(server))
    server.set_now(NOW + pd.Timedelta(hours=3))
    out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=1000,
                   progress=False)
    assert len(out) == 3503
    pd.testing.assert_frame_equal(out, server.bars("BTC/USDT", "1h"), check_exact=True)
    assert len(_klines(server)) == before + 1


def test_back_fill_before_the_first_stored_bar(fake, store: Store) -> None:
    server, client = fake
    middle = LISTING + pd.Timedelta(hours=2000)
    download(client, "BTC/USDT", "1h", since=middle, store=store, limit=1000, progress=False)
    assert store.first_timestamp("BTC/USDT", "1h") == middle
    out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=1000,
                   progress=False)
    pd.testing.assert_frame_equal(out, server.bars("BTC/USDT", "1h"), check_exact=True)


def test_until_is_inclusive(fake, store: Store) -> None:
    server, client = fake
    until = LISTING + pd.Timedelta(hours=1234)
    out = download(client, "BTC/USDT", "1h", since=LISTING + pd.Timedelta(hours=1000),
                   until=until, store=store, limit=100, progress=False)
    pd.testing.assert_frame_equal(
        out, server.bars("BTC/USDT", "1h", start=LISTING + pd.Timedelta(hours=1000), end=until),
        check_exact=True)
    assert store.last_timestamp("BTC/USDT", "1h") == until


def test_429_with_retry_after_is_honoured(fake, store: Store) -> None:
    server, client = fake
    server.inject("status", status=429, retry_after=1, skip=1)
    start = time.monotonic()
    out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=1000,
                   progress=False, backoff=0.01)
    elapsed = time.monotonic() - start
    pd.testing.assert_frame_equal(out, server.bars("BTC/USDT", "1h"), check_exact=True)
    assert elapsed >= 0.95  # waited Retry-After, not the 0.01 s backoff
    pages = _klines(server)
    assert len(pages) == 5  # 4 pages + 1 retry
    assert pages[1].params["startTime"] == pages[2].params["startTime"]


@pytest.mark.parametrize("kind, options", [("status", {"status": 500}),
                                           ("status", {"status": 503}),
                                           ("drop", {})])
def test_transient_errors_are_retried(fake, store: Store, kind, options) -> None:
    server, client = fake
    server.inject(kind, skip=2, times=2, **options)
    out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=1000,
                   progress=False, backoff=0.01)
    pd.testing.assert_frame_equal(out, server.bars("BTC/USDT", "1h"), check_exact=True)
    assert len(_klines(server)) == 6


def test_a_request_timeout_is_retried(store: Store) -> None:
    with fake_binance(listing=LISTING, now=NOW, client={"timeout": 300}) as (server, client):
        server.inject("delay", delay=0.8, skip=1)
        out = download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=1000,
                       progress=False, backoff=0.01)
        pd.testing.assert_frame_equal(out, server.bars("BTC/USDT", "1h"), check_exact=True)
        assert len(_klines(server)) == 5


def test_ban_longer_than_max_wait_raises_at_once(fake, store: Store) -> None:
    server, client = fake
    server.inject("status", status=418, retry_after=3600)
    start = time.monotonic()
    with pytest.raises(ExchangeError, match="wait 3600 s, more than max_wait=120 s"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, progress=False)
    assert time.monotonic() - start < 5
    assert len(_klines(server)) == 1


def test_exchange_errors_are_not_retried(fake, store: Store) -> None:
    server, client = fake
    server.inject("status", status=400,
                  body={"code": -1100, "msg": "Illegal characters found in a parameter."})
    with pytest.raises(ExchangeError, match="BadRequest.*not retried"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, progress=False,
                 backoff=0.01)
    assert len(_klines(server)) == 1


def test_unknown_symbol_is_a_clear_error(fake, store: Store) -> None:
    server, client = fake
    with pytest.raises(DataError, match=r"`symbol` of download\(\) must be a market of binance; "
                                        r"got 'BTC/USTD'\. Did you mean 'BTC/USDT'\?"):
        download(client, "BTC/USTD", "1h", since=LISTING, store=store, progress=False)
    assert _klines(server) == []


def test_symbol_refused_by_the_server_is_a_data_error(fake, store: Store) -> None:
    server, client = fake
    server.inject("status", status=400, body={"code": -1121, "msg": "Invalid symbol."})
    with pytest.raises(DataError, match="refused the symbol"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, progress=False)
    assert len(_klines(server)) == 1


def test_bad_parameters(fake, store: Store, tmp_path: Path) -> None:
    server, client = fake
    with pytest.raises(InvalidParameterError, match=r"offered by binance: 1s, 1m, .*got '7m'"):
        download(client, "BTC/USDT", "7m", since=LISTING, store=store, progress=False)
    with pytest.raises(InvalidParameterError, match=r"timeframe such as '1m'.*got '1H'"):
        download(client, "BTC/USDT", "1H", since=LISTING, store=store, progress=False)
    with pytest.raises(InvalidParameterError, match="Did you mean 'binance'"):
        download("binanse", "BTC/USDT", "1h", since=LISTING, store=store, progress=False)
    with pytest.raises(InvalidParameterError, match="`store` of download()"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=str(tmp_path), progress=False)
    with pytest.raises(InvalidParameterError, match="`until` of download()"):
        download(client, "BTC/USDT", "1h", since="2024-02-01", until="2024-01-01", store=store,
                 progress=False)
    with pytest.raises(InvalidParameterError, match="`since` of download()"):
        download(client, "BTC/USDT", "1h", since="not a date", store=store, progress=False)
    with pytest.raises(InvalidParameterError, match="`limit` of download()"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=0, progress=False)
    with pytest.raises(InvalidParameterError, match="`exchange` of download()"):
        download(object(), "BTC/USDT", "1h", since=LISTING, store=store, progress=False)
    with pytest.raises(InvalidParameterError, match="`progress` of download()"):
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, progress="no")
    with pytest.raises(InvalidParameterError, match=r"fixed-length timeframe.*got '1M'.*resample"):
        download(client, "BTC/USDT", "1M", since=LISTING, store=store, progress=False)
    assert _klines(server) == []


def test_exchange_id_builds_a_rate_limited_client() -> None:
    from quantlab.data.download import _client

    client = _client("binance")  # no request is made
    assert isinstance(client, ccxt.binance) and client.enableRateLimit


def test_paces_requests_when_ccxt_throttle_is_off(store: Store) -> None:
    with fake_binance(listing=LISTING, now=NOW,
                      client={"enableRateLimit": False, "rateLimit": 150}) as (server, client):
        start = time.monotonic()
        download(client, "BTC/USDT", "1h", since=LISTING, store=store, limit=1000,
                 progress=False)
        elapsed = time.monotonic() - start
        stamps = [r.time_ms for r in server.requests]  # fixed clock: use arrival order only
        assert len(stamps) == 6  # exchangeInfo, time, 4 pages
        assert elapsed >= 5 * 0.15 * 0.95


def test_progress_bar_can_be_shown(fake, store: Store, capsys) -> None:
    server, client = fake
    download(client, "BTC/USDT", "1h", since=LISTING + pd.Timedelta(hours=3400), store=store,
             progress=True)
    assert "BTC/USDT 1h" in capsys.readouterr().err


def test_bars_from_ccxt_converts_ms_rows() -> None:
    rows = [[1704070800000, "2", 3, 1, 2.5, 7], [1704067200000, 1.0, 2.0, 0.5, 1.5, 10.0],
            [1704070800000, 2.0, 3.5, 1.0, 2.5, 8.0]]
    frame = bars_from_ccxt(rows)
    expected = pd.DataFrame(
        {"open": [1.0, 2.0], "high": [2.0, 3.5], "low": [0.5, 1.0], "close": [1.5, 2.5],
         "volume": [10.0, 8.0]},
        index=pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00"], tz="UTC",
                               name="time").as_unit("ns"))
    pd.testing.assert_frame_equal(frame, expected)
    with pytest.raises(DataError, match="finite and >= 0"):
        bars_from_ccxt([[1704067200000, 1.0, 2.0, 0.5, 1.5, None]])
    with pytest.raises(DataError, match="ccxt OHLCV rows"):
        bars_from_ccxt([[1704067200000, 1.0]])
    assert bars_from_ccxt([]).empty


def test_fake_exchange_bars_are_consistent() -> None:
    server = FakeBinance(listing=LISTING, now=NOW, seed=3)
    bars = server.bars("BTC/USDT", "1h", include_forming=True)
    assert len(bars) == 3501
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["low"] > 0).all() and (bars["volume"] >= 0).all()
    assert (bars["open"].iloc[1:].to_numpy() == bars["close"].iloc[:-1].to_numpy()).all()
    again = FakeBinance(listing=LISTING, now=NOW + pd.Timedelta(days=30), seed=3)
    later = again.bars("BTC/USDT", "1h", end=NOW - pd.Timedelta(hours=1))
    pd.testing.assert_frame_equal(later, bars.iloc[:-1], check_exact=True)  # deterministic

"""StoreFeed: replay from a quantlab data store equals the stored frame and the ReplayFeed run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.data import Store
from quantlab.errors import DataError, DataQualityWarning, InvalidParameterError
from quantlab.live import ReplayFeed, run
from quantlab.live.store_feed import StoreFeed
from quantlab.strategies import SmaCross
from tests.live.conftest import promoted

FIELDS = ("open", "high", "low", "close", "volume")


def replayed(feed, k=0, **kwargs):
    bars = list(feed.bars(**kwargs))
    index = pd.DatetimeIndex([b.time for b in bars], name="time").as_unit("ns")
    return pd.DataFrame({f: np.array([getattr(b, f)[k] for b in bars]) for f in FIELDS},
                        index=index)


def utc(df):
    out = df[list(FIELDS)].astype(np.float64).copy()
    index = pd.DatetimeIndex(out.index)
    out.index = (index.tz_localize("UTC") if index.tz is None else index).as_unit("ns")
    out.index.name = "time"
    out.attrs = {}
    return out


@pytest.fixture
def store_dir(tmp_path, aapl):
    Store(tmp_path / "store").write(aapl, "AAPL", "1d")
    return tmp_path / "store"


def test_replay_equals_the_frame_written(store_dir, aapl):
    feed = StoreFeed(store_dir, "AAPL", "1d")
    assert feed.symbols == ["AAPL"] and feed.timeframe == pd.Timedelta(days=1)
    pd.testing.assert_frame_equal(replayed(feed), utc(aapl))   # the frame given to write()
    window = replayed(StoreFeed(store_dir, "AAPL", "1d", start="2012-01-01", end="2012-03-31"))
    pd.testing.assert_frame_equal(window, utc(aapl.loc["2012-01-01":"2012-03-31"]))
    after = aapl.index[100]
    resumed = replayed(feed, after=after)
    pd.testing.assert_frame_equal(resumed, utc(aapl.iloc[101:]))


def test_two_symbols_replay_on_the_timestamps_both_hold(tmp_path):
    index = pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC", name="time")
    rng = np.random.default_rng(3)

    def bars(n):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        return pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                             "close": close, "volume": rng.uniform(1, 5, n)}, index=index[:n])

    btc, eth = bars(48), bars(48)
    eth = eth.drop(index[[5, 6, 30]])
    store = Store(tmp_path / "s")
    store.write(btc, "BTC/USDT", "1h")
    store.write(eth, "ETH/USDT", "1h")
    with pytest.warns(DataQualityWarning, match=r"3 timestamp\(s\).*'ETH/USDT': 3"):
        feed = StoreFeed(tmp_path / "s", ["BTC/USDT", "ETH/USDT"], "1h")
    assert feed.dropped == 3 and len(feed) == 45
    pd.testing.assert_frame_equal(replayed(feed, 0), utc(btc.drop(index[[5, 6, 30]])))
    pd.testing.assert_frame_equal(replayed(feed, 1), utc(eth))


def test_missing_store_symbol_or_timeframe_names_what_exists(tmp_path, store_dir):
    with pytest.raises(DataError, match="does not exist"):
        StoreFeed(tmp_path / "nowhere", "AAPL", "1d")
    with pytest.raises(DataError, match=r"`symbols` of StoreFeed\(\).*'AAPL'.*Did you mean"):
        StoreFeed(store_dir, "AAPLE", "1d")
    with pytest.raises(DataError, match="Download it first"):
        StoreFeed(store_dir, "MSFT", "1d")
    with pytest.raises(DataError, match=r"`timeframe` of StoreFeed\(\).*stored for 'AAPL': 1d"):
        StoreFeed(store_dir, "AAPL", "1h")
    with pytest.raises(InvalidParameterError, match="timeframe"):
        StoreFeed(store_dir, "AAPL", "daily")
    with pytest.raises(InvalidParameterError, match="unique"):
        StoreFeed(store_dir, ["AAPL", "AAPL"], "1d")


@pytest.mark.timeout(120)
def test_a_run_on_the_store_equals_the_same_run_on_a_replay_feed(tmp_path, store_dir, aapl):
    config = promoted(tmp_path, SmaCross(fast=3, slow=8), aapl, name="sf", fee_bps=5)
    a = run(config, feed=StoreFeed(store_dir, "AAPL", "1d"), journal=tmp_path / "store.sqlite",
            fsync=False)
    b = run(config, feed=ReplayFeed(aapl), journal=tmp_path / "replay.sqlite", fsync=False)
    assert a.bars == b.bars == len(aapl)
    assert len(b.orders) > 4                    # the comparison covers real trading
    pd.testing.assert_frame_equal(a.orders, b.orders)
    pd.testing.assert_frame_equal(a.fills.drop(columns=["trade_id"], errors="ignore"),
                                  b.fills.drop(columns=["trade_id"], errors="ignore"))
    pd.testing.assert_series_equal(a.equity, b.equity)
    assert a.positions == b.positions

"""Tests of quantlab.data.store: Parquet round trips, merge semantics, crash safety, SQL, CSV."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import quantlab.data as qd
from quantlab.data.store import Store, import_csv
from quantlab.errors import DataError, InvalidParameterError


def _bars(n: int, *, start: str = "2024-01-01", freq: str = "1h", seed: int = 0,
          tz: str = "UTC") -> pd.DataFrame:
    """Random but consistent OHLCV (high >= open, close >= low > 0) with an ns UTC index."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    index = pd.date_range(start, periods=n, freq=freq, tz=tz, unit="ns", name="time")
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                          "volume": rng.lognormal(3, 1, n)}, index=index)
    frame.index.freq = None
    return frame


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


# ---------------------------------------------------------------------- round trip
def test_round_trip_is_exact(store: Store) -> None:
    df = _bars(500)
    # sub-second, non-round timestamps survive at ns resolution
    df.index = (df.index + pd.to_timedelta(np.arange(500), unit="ns")).rename("time")
    assert store.write(df, "BTC/USDT", "1h") == 500
    out = store.read("BTC/USDT", "1h")
    pd.testing.assert_frame_equal(out, df, check_exact=True)
    assert list(out.columns) == ["open", "high", "low", "close", "volume"]
    assert all(out[c].dtype == np.float64 for c in out.columns)
    assert str(out.index.dtype) == "datetime64[ns, UTC]"
    assert out.index.name == "time"


def test_round_trip_of_a_bundled_dataset(store: Store) -> None:
    df = qd.load("eurusd")
    store.write(df, "EUR/USD", "1h")
    pd.testing.assert_frame_equal(store.read("EUR/USD", "1h"), df, check_exact=True,
                                  check_freq=False)


def test_non_utc_input_is_stored_in_utc(store: Store) -> None:
    df = _bars(48, tz="America/New_York")
    store.write(df, "SPY", "1h")
    out = store.read("SPY", "1h")
    assert str(out.index.tz) == "UTC"
    pd.testing.assert_frame_equal(out, df.tz_convert("UTC"), check_exact=True)


def test_layout_is_documented_hive_style(store: Store) -> None:
    store.write(_bars(3), "BTC/USDT:USDT", "1h")
    store.write(_bars(3), "BTC/USDT", "1M")
    store.write(_bars(3), "BTC/USDT", "1m")
    files = sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("data.parquet"))
    assert files == ["symbol=BTC_USDT/timeframe=1m/data.parquet",
                     "symbol=BTC_USDT/timeframe=1mo/data.parquet",
                     "symbol=BTC_USDT_USDT/timeframe=1h/data.parquet"]
    assert store.path("BTC/USDT", "1m") == store.root / files[0]
    # any Parquet reader sees plain columns
    table = pq.read_table(store.root / files[0])
    assert table.column_names == ["open", "high", "low", "close", "volume", "time"]


# ---------------------------------------------------------------------- merge semantics
def test_append_with_overlap_dedupes_and_new_rows_win(store: Store) -> None:
    a = _bars(100, seed=1)
    b = _bars(100, seed=2, start="2024-01-03 02:00")  # overlaps a's last 50 hours
    assert store.write(a, "X", "1h") == 100
    assert store.write(b, "X", "1h") == 50
    out = store.read("X", "1h")
    expected = b.combine_first(a)  # pandas oracle: b's values where both exist
    pd.testing.assert_frame_equal(out, expected, check_exact=True, check_freq=False)
    assert out.index.is_unique and out.index.is_monotonic_increasing
    assert len(out) == 150


def test_writing_the_same_frame_twice_adds_nothing(store: Store) -> None:
    df = _bars(30)
    store.write(df, "X", "1h")
    before = store.path("X", "1h").read_bytes()
    assert store.write(df, "X", "1h") == 0
    pd.testing.assert_frame_equal(store.read("X", "1h"), df, check_exact=True)
    assert len(before) > 0


def test_out_of_order_pages_are_sorted(store: Store) -> None:
    df = _bars(90)
    for part in (df.iloc[60:], df.iloc[:30], df.iloc[30:60]):
        store.write(part, "X", "1h")
    pd.testing.assert_frame_equal(store.read("X", "1h"), df, check_exact=True)


def test_empty_frame_writes_nothing(store: Store) -> None:
    assert store.write(_bars(0), "X", "1h") == 0
    assert store.last_timestamp("X", "1h") is None
    assert not store.path("X", "1h").exists()


def test_read_bounds_are_inclusive(store: Store) -> None:
    df = _bars(100)
    store.write(df, "X", "1h")
    out = store.read("X", "1h", start="2024-01-02 00:00", end="2024-01-03 00:00")
    pd.testing.assert_frame_equal(out, df.loc["2024-01-02 00:00":"2024-01-03 00:00"])
    assert len(out) == 25
    with pytest.raises(DataError, match="`start` of Store.read"):
        store.read("X", "1h", start="2030-01-01")  # an empty range names the option and the range


def test_read_from_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        Store(tmp_path / "nope").read("X", "1h")


def test_symbols_and_timestamps(store: Store) -> None:
    assert store.symbols().empty
    assert list(store.symbols().columns) == ["symbol", "timeframe", "first", "last", "rows"]
    a, b = _bars(10), _bars(5, freq="1D")
    store.write(a, "ETH/USDT", "1h")
    store.write(b, "BTC/USDT", "1d")
    table = store.symbols()
    assert table["symbol"].tolist() == ["BTC/USDT", "ETH/USDT"]
    assert table["timeframe"].tolist() == ["1d", "1h"]
    assert table["rows"].tolist() == [5, 10]
    assert table["first"].tolist() == [b.index[0], a.index[0]]
    assert table["last"].tolist() == [b.index[-1], a.index[-1]]
    assert store.last_timestamp("ETH/USDT", "1h") == a.index[-1]
    assert store.first_timestamp("ETH/USDT", "1h") == a.index[0]
    assert store.last_timestamp("ETH/USDT", "4h") is None
    assert store.last_timestamp("SOL/USDT", "1h") is None


# ---------------------------------------------------------------------- SQL
def test_query_bars_view_matches_pandas(store: Store) -> None:
    a, b = _bars(200, seed=1), _bars(120, seed=2)
    store.write(a, "BTC/USDT", "1h")
    store.write(b, "ETH/USDT", "1h")
    got = store.query("SELECT symbol, count(*) AS n, avg(close) AS mean_close, max(high) AS hi "
                      "FROM bars GROUP BY symbol ORDER BY symbol")
    assert got["symbol"].tolist() == ["BTC/USDT", "ETH/USDT"]
    assert got["n"].tolist() == [200, 120]
    np.testing.assert_allclose(got["mean_close"], [a["close"].mean(), b["close"].mean()],
                               rtol=1e-12)
    assert got["hi"].tolist() == [a["high"].max(), b["high"].max()]


def test_query_time_is_utc_and_params_work(store: Store) -> None:
    df = _bars(48)
    store.write(df, "BTC/USDT", "1h")
    got = store.query("SELECT time, close FROM bars WHERE symbol = ? AND time >= ? ORDER BY time",
                      ["BTC/USDT", "2024-01-02 00:00:00+00"])
    expected = df.loc["2024-01-02":, "close"]
    assert str(got["time"].dt.tz) == "UTC"
    assert (got["time"].to_numpy() == expected.index.to_numpy()).all()
    assert got["close"].tolist() == expected.tolist()


def test_query_on_empty_store_and_bad_sql(store: Store) -> None:
    assert store.query("SELECT * FROM bars").empty
    store.write(_bars(5), "X", "1h")
    with pytest.raises(DataError, match="view `bars` has columns"):
        store.query("SELECT nope FROM bars")
    with pytest.raises(InvalidParameterError, match="`sql` of Store.query()"):
        store.query("")


# ---------------------------------------------------------------------- bad input
def test_write_refuses_unnormalized_frames(store: Store) -> None:
    naive = _bars(5).tz_localize(None)
    with pytest.raises(DataError, match="tz-aware"):
        store.write(naive, "X", "1h")
    upper = _bars(5).rename(columns=str.title)
    with pytest.raises(DataError, match="quantlab.data.normalize"):
        store.write(upper, "X", "1h")
    unsorted = _bars(5).iloc[::-1]
    with pytest.raises(DataError, match="sorted"):
        store.write(unsorted, "X", "1h")
    with pytest.raises(DataError, match="a pandas DataFrame"):
        store.write([1, 2, 3], "X", "1h")  # type: ignore[arg-type]
    bad = _bars(5)
    bad.iloc[2, 3] = np.nan
    with pytest.raises(DataError, match="finite and > 0"):
        store.write(bad, "X", "1h")
    assert store.symbols().empty


@pytest.mark.parametrize("symbol", ["", "   ", "..", ".hidden", 7, None])
def test_bad_symbols(store: Store, symbol: object) -> None:
    with pytest.raises(InvalidParameterError, match="`symbol` of Store.write()"):
        store.write(_bars(3), symbol, "1h")  # type: ignore[arg-type]


@pytest.mark.parametrize("timeframe", ["1x", "h", "0m", "1 h", "", 60])
def test_bad_timeframes(store: Store, timeframe: object) -> None:
    with pytest.raises(InvalidParameterError, match="`timeframe` of Store.write()"):
        store.write(_bars(3), "X", timeframe)  # type: ignore[arg-type]


def test_unknown_dataset_says_did_you_mean(store: Store) -> None:
    store.write(_bars(3), "BTC/USDT", "1h")
    with pytest.raises(DataError, match=r"got 'BTC/USTD'\. Did you mean 'BTC/USDT'\?"):
        store.read("BTC/USTD", "1h")
    with pytest.raises(DataError, match=r"stored timeframe of 'BTC/USDT': 1h; got '4h'"):
        store.read("BTC/USDT", "4h")
    with pytest.raises(DataError, match="does not exist"):
        Store(store.root / "elsewhere").read("BTC/USDT", "1h")
    (store.root / "empty").mkdir()
    with pytest.raises(DataError, match="the store is empty"):
        Store(store.root / "empty").read("BTC/USDT", "1h")


def test_sanitized_name_collision_is_refused(store: Store) -> None:
    store.write(_bars(3), "BTC/USDT", "1h")
    with pytest.raises(DataError, match="map to the same folder"):
        store.write(_bars(3), "BTC_USDT", "1h")
    # the folder name is accepted for reading; the original symbol is what is listed
    assert len(store.read("BTC_USDT", "1h")) == 3
    assert store.symbols()["symbol"].tolist() == ["BTC/USDT"]


def test_store_root_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidParameterError, match="`root` of Store()"):
        Store(tmp_path / "file")
    with pytest.raises(InvalidParameterError, match="`root` of Store()"):
        Store(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- crash safety
def test_failed_replace_keeps_previous_version(store: Store, monkeypatch) -> None:
    v1 = _bars(50, seed=1)
    store.write(v1, "X", "1h")

    def boom(*args, **kwargs):
        raise OSError("simulated crash just before the rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        store.write(_bars(50, seed=2), "X", "1h")
    monkeypatch.undo()
    pd.testing.assert_frame_equal(store.read("X", "1h"), v1, check_exact=True)
    assert [p.name for p in store.path("X", "1h").parent.iterdir()
            if p.name.endswith(".tmp")] == []


def test_leftover_partial_temp_file_is_ignored_then_cleaned(store: Store) -> None:
    v1 = _bars(50, seed=1)
    store.write(v1, "X", "1h")
    folder = store.path("X", "1h").parent
    partial = folder / ".data.parquet.99999.deadbeef.tmp"
    partial.write_bytes(store.path("X", "1h").read_bytes()[:100])  # a truncated Parquet file
    pd.testing.assert_frame_equal(store.read("X", "1h"), v1, check_exact=True)
    assert store.symbols()["rows"].tolist() == [50]
    assert store.query("SELECT count(*) AS n FROM bars")["n"].tolist() == [50]
    store.write(_bars(60, seed=1), "X", "1h")
    assert not partial.exists()


_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import pandas as pd
    from quantlab.data.store import Store

    def version(k, n):
        index = pd.date_range("2020-01-01", periods=n, freq="min", tz="UTC", unit="ns",
                              name="time")
        price = 1.0 + k + np.arange(n) * 1e-6
        return pd.DataFrame({"open": price, "high": price, "low": price, "close": price,
                             "volume": np.full(n, float(k))}, index=index)

    if __name__ == "__main__":
        root, n = sys.argv[1], int(sys.argv[2])
        store = Store(root)
        print("ready", flush=True)
        for k in range(1, 60):
            store.write(version(k, n), "BTC/USDT", "1m")
            print(k, flush=True)
""")


def test_sigkill_mid_write_leaves_a_complete_version(tmp_path: Path) -> None:
    """A writer killed with SIGKILL at random moments never leaves a torn or partial file."""
    n, trials = 100_000, 5
    script = tmp_path / "writer.py"
    script.write_text(_CHILD)
    namespace: dict = {}
    exec(compile(_CHILD, "writer", "exec"), namespace)  # the same version() as the child
    version = namespace["version"]
    rng = random.Random(1234)
    torn = 0
    for trial in range(trials):
        root = tmp_path / f"store{trial}"
        store = Store(root)
        store.write(version(0, n), "BTC/USDT", "1m")
        proc = subprocess.Popen([sys.executable, str(script), str(root), str(n)],
                                stdout=subprocess.PIPE, text=True)
        acked: list[str] = []
        reader = threading.Thread(target=lambda p=proc, a=acked: a.extend(p.stdout), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        while "ready\n" not in acked and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "ready\n" in acked, "writer did not start"
        time.sleep(rng.uniform(0.05, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=10)
        done = [int(x) for x in acked if x.strip().isdigit()]
        last = done[-1] if done else 0
        folder = store.path("BTC/USDT", "1m").parent
        torn += any(p.name.endswith(".tmp") for p in folder.iterdir())
        out = store.read("BTC/USDT", "1m")
        k = int(out["volume"].iloc[0])
        assert k in (last, last + 1), (k, last)  # the last acknowledged version or the next
        pd.testing.assert_frame_equal(out, version(k, n), check_exact=True, check_freq=False)
        listed = store.symbols()
        assert listed["rows"].tolist() == [n]
        # the next write cleans any temp file the killed writer left
        store.write(version(99, n).iloc[:1], "BTC/USDT", "1m")
        assert not any(p.name.endswith(".tmp") for p in folder.iterdir())
    print(f"kills that left a temp file (killed mid-write): {torn}/{trials}")


# ---------------------------------------------------------------------- CSV import
def test_import_csv_matches_pandas(store: Store, tmp_path: Path) -> None:
    df = _bars(40)
    raw = df.reset_index().rename(columns={"time": "Date", "open": "Open", "high": "High",
                                           "low": "Low", "close": "Close",
                                           "volume": "Volume"})
    raw["Date"] = raw["Date"].dt.tz_localize(None).astype(str)
    path = tmp_path / "bars.csv"
    raw.to_csv(path, index=False)
    assert import_csv(path, "BTC/USDT", "1h", store=store).added == 40
    expected = qd.normalize(pd.read_csv(path))
    pd.testing.assert_frame_equal(store.read("BTC/USDT", "1h"), expected, check_exact=True)
    np.testing.assert_allclose(store.read("BTC/USDT", "1h").to_numpy(), df.to_numpy(),
                               rtol=1e-15)


def test_import_csv_epoch_ms_needs_unit(store: Store, tmp_path: Path) -> None:
    df = _bars(10)
    raw = df.reset_index()
    raw["timestamp"] = raw.pop("time").astype("int64") // 1_000_000
    path = tmp_path / "ms.csv"
    raw.to_csv(path, index=False, sep=";")
    with pytest.raises(DataError, match="unit='ms'"):
        import_csv(path, "X", "1h", store=store, sep=";")
    import_csv(path, "X", "1h", store=store, unit="ms", sep=";")
    pd.testing.assert_index_equal(store.read("X", "1h").index, df.index)


def test_import_csv_naive_times_in_a_zone(store: Store, tmp_path: Path) -> None:
    df = _bars(5, tz="Europe/Berlin")
    raw = df.tz_localize(None).reset_index()
    path = tmp_path / "berlin.csv"
    raw.to_csv(path, index=False)
    import_csv(path, "DAX", "1h", store=store, tz="Europe/Berlin")
    pd.testing.assert_index_equal(store.read("DAX", "1h").index, df.index.tz_convert("UTC"))


def test_import_csv_bad_input(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="an existing CSV file"):
        import_csv(tmp_path / "missing.csv", "X", "1h", store=store)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,price\n2024-01-01,1\n")
    with pytest.raises(DataError, match="missing"):
        import_csv(bad, "X", "1h", store=store)
    with pytest.raises(InvalidParameterError, match="Did you mean 'ms'"):
        import_csv(bad, "X", "1h", store=store, unit="mss")
    with pytest.raises(InvalidParameterError, match="`store` of import_csv()"):
        import_csv(bad, "X", "1h", store=str(tmp_path))  # type: ignore[arg-type]

"""Exchange-style CSV exports: quantlab.data.read_csv / import_csv options, and errors that
name the option that fixes them (fixture: tests/data/fixtures/, see make_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.data import Store, import_csv, normalize, read_csv
from quantlab.errors import DataError, InvalidParameterError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CDD = FIXTURES / "Gemini_BTCUSD_1h.csv"
BLOCK = FIXTURES / "Gemini_BTCUSD_1h_block.csv"
FMT = "%Y-%m-%d %I-%p"
OPTIONS = {"skiprows": 1, "date_format": FMT, "columns": {"Volume BTC": "volume"}, "sort": True}


def _oracle(path: Path) -> pd.DataFrame:
    """The same file parsed step by step with plain pandas (the independent reading)."""
    raw = pd.read_csv(path, skiprows=1)
    index = pd.DatetimeIndex(pd.to_datetime(raw["Date"], format=FMT)).tz_localize("UTC")
    frame = pd.DataFrame({"open": raw["Open"].to_numpy(), "high": raw["High"].to_numpy(),
                          "low": raw["Low"].to_numpy(), "close": raw["Close"].to_numpy(),
                          "volume": raw["Volume BTC"].to_numpy()},
                         index=index.as_unit("ns").rename("time"))
    return frame.sort_index()


def test_exchange_export_reads_like_pandas_step_by_step():
    df = read_csv(CDD, **OPTIONS)
    expected = _oracle(CDD)
    pd.testing.assert_frame_equal(df, expected, check_exact=True, check_freq=False)
    assert df.index[0] == pd.Timestamp("2017-07-01 00:00", tz="UTC")  # "12-AM" is midnight
    assert df.index[-1] == pd.Timestamp("2017-07-17 15:00", tz="UTC")
    # the Unix Timestamp column agrees with the parsed 12-hour dates (a second oracle)
    unix = pd.read_csv(CDD, skiprows=1)["Unix Timestamp"].to_numpy()
    np.testing.assert_array_equal(np.sort(unix), df.index.asi8 // 10**9)
    info = df.attrs["quantlab"]
    assert info["sorted"] and info["order"] == "descending" and info["moved"] == 400 - 0
    assert "sorted 400 rows" in info["note"] and "newest first" in info["note"]


def test_sort_reports_nothing_moved_on_sorted_input(tmp_path):
    path = tmp_path / "asc.csv"
    lines = CDD.read_text().splitlines()
    path.write_text("\n".join([lines[1], *reversed(lines[2:])]) + "\n")
    df = read_csv(path, date_format=FMT, columns={"Volume BTC": "volume"}, sort=True)
    assert df.attrs["quantlab"]["moved"] == 0 and "already in order" in df.attrs["quantlab"]["note"]
    pd.testing.assert_frame_equal(df, _oracle(CDD), check_exact=True, check_freq=False)


def test_tz_option_localizes_naive_dates():
    df = read_csv(CDD, **{**OPTIONS, "tz": "America/New_York"})
    expected = _oracle(CDD).index.tz_localize(None).tz_localize("America/New_York").tz_convert("UTC")
    pd.testing.assert_index_equal(df.index, expected.rename("time"))


# ---------------------------------------------------------------- errors name the option


def test_banner_line_names_skiprows():
    with pytest.raises(DataError, match=r"skiprows=1 / --skiprows 1") as info:
        read_csv(CDD, date_format=FMT, columns={"Volume BTC": "volume"}, sort=True)
    assert "CryptoDataDownload" in str(info.value)
    assert "C error" not in str(info.value) and "tokenizing" not in str(info.value)


def test_unparseable_dates_show_value_and_suggest_date_format():
    with pytest.raises(DataError) as info:
        read_csv(CDD, skiprows=1, columns={"Volume BTC": "volume"}, sort=True)
    text = str(info.value)
    assert "'2017-07-17 03-PM'" in text and "date_format='%Y-%m-%d %I-%p'" in text
    assert "--date-format" in text and "Unknown datetime string format" not in text


def test_wrong_date_format_shows_offending_value():
    with pytest.raises(DataError, match=r"'2017-07-17 03-PM'.*`date_format`"):
        read_csv(CDD, skiprows=1, date_format="%Y-%m-%d %H:%M", columns={"Volume BTC": "volume"})


def test_newest_first_names_sort():
    with pytest.raises(DataError, match=r"newest first.*sort=True / --sort"):
        read_csv(CDD, skiprows=1, date_format=FMT, columns={"Volume BTC": "volume"})


def test_two_volume_columns_name_map():
    with pytest.raises(DataError) as info:
        read_csv(CDD, skiprows=1, date_format=FMT, sort=True)
    text = str(info.value)
    assert "'Volume BTC'" in text and "'Volume USD'" in text
    assert "--map 'Volume BTC=volume'" in text and "columns={'Volume BTC': 'volume'}" in text


def test_bad_column_mapping_is_refused_with_did_you_mean():
    with pytest.raises(InvalidParameterError, match="Did you mean 'Volume BTC'"):
        read_csv(CDD, skiprows=1, date_format=FMT, columns={"Volume BTX": "volume"})
    with pytest.raises(InvalidParameterError, match="`columns` of read_csv"):
        read_csv(CDD, skiprows=1, date_format=FMT, columns={"Volume BTC": "vol"})
    with pytest.raises(InvalidParameterError, match="both"):
        read_csv(CDD, skiprows=1, date_format=FMT,
                 columns={"Volume BTC": "volume", "Volume USD": "volume"})


def test_explicit_time_mapping_wins_over_the_date_alias():
    df = read_csv(CDD, skiprows=1, unit="s", sort=True,
                  columns={"Unix Timestamp": "time", "Volume BTC": "volume"})
    pd.testing.assert_frame_equal(df, _oracle(CDD), check_exact=True, check_freq=False)


def test_missing_file_and_bad_options():
    with pytest.raises(DataError, match="an existing CSV file"):
        read_csv(FIXTURES / "nope.csv")
    with pytest.raises(InvalidParameterError, match="`skiprows` of read_csv"):
        read_csv(CDD, skiprows=-1)
    with pytest.raises(InvalidParameterError, match="`sort` of read_csv"):
        read_csv(CDD, sort="yes")


def test_ragged_file_without_banner_gets_a_plain_message(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("time,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n2024-01-02,1,1,1,1,1,7,8\n")
    with pytest.raises(DataError, match=r"line 3 has 8 fields") as info:
        read_csv(path)
    assert "C error" not in str(info.value)


# ---------------------------------------------------------------- import_csv


def test_import_csv_reports_sorting(tmp_path):
    store = Store(tmp_path / "store")
    result = import_csv(CDD, "BTC/USD", "1h", store=store, **OPTIONS)
    assert result.added == 400 and result.rows == 400 and result.sorted and result.moved == 400
    assert "sorted 400 rows" in str(result)
    pd.testing.assert_frame_equal(store.read("BTC/USD", "1h"), _oracle(CDD), check_exact=True,
                                  check_freq=False)
    again = import_csv(CDD, "BTC/USD", "1h", store=store, **OPTIONS)
    assert again.added == 0


def test_block_fixture_is_refused_on_import_with_the_duplicates_named(tmp_path):
    with pytest.raises(DataError, match="duplicate") as info:
        import_csv(BLOCK, "BTC/USD", "1h", store=Store(tmp_path / "s"), **OPTIONS)
    assert "2017-07-12 10:00" in str(info.value)


def test_block_is_named_in_the_sort_note():
    # validate the raw file (no normalization) to see the sort note of the block file
    from quantlab.data.csv import read_raw_csv

    frame, info = read_raw_csv(BLOCK, **OPTIONS)
    assert len(frame) == 404
    assert "4 rows" in info.note and "2017-07-12 10:00" in info.note


# ---------------------------------------------------------------- normalize (bug 7)


def test_normalize_names_colliding_columns():
    raw = pd.DataFrame({"time": ["2024-01-01", "2024-01-02"], "open": [1.0, 1.0], "high": [1.0, 1.0],
                        "low": [1.0, 1.0], "close": [1.0, 1.0], "Volume": [1.0, 2.0],
                        "volume": [3.0, 4.0]})
    with pytest.raises(DataError, match=r"'Volume' and 'volume'.*'volume'"):
        normalize(raw)
    fixed = normalize(raw.drop(columns="Volume"))
    assert fixed["volume"].tolist() == [3.0, 4.0]

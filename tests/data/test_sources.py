"""open_data (one resolution of dataset / Store / CSV for the CLI and the notebooks) and
empty date ranges (load, Store.read, open_data) naming the option and the data's range."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import quantlab.data as qd
from quantlab.data import Store, open_data
from quantlab.errors import DataError, InvalidParameterError

CDD = Path(__file__).resolve().parent / "fixtures" / "Gemini_BTCUSD_1h.csv"
CSV_OPTIONS = {"skiprows": 1, "date_format": "%Y-%m-%d %I-%p", "columns": {"Volume BTC": "volume"},
               "sort": True}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store")
    Store(root).write(qd.load("ibm", start="2012-01-01", end="2012-12-31"), "IBM", "1d")
    return root


def test_each_source_equals_its_own_reader(store):
    pd.testing.assert_frame_equal(open_data(dataset="aapl", start="2010", end="2010-12-31"),
                                  qd.load("aapl", start="2010", end="2010-12-31"))
    pd.testing.assert_frame_equal(open_data(store=store, symbol="IBM", timeframe="1d", start="2012-06"),
                                  Store(store).read("IBM", "1d", start="2012-06"))
    pd.testing.assert_frame_equal(open_data(csv=CDD, csv_options=CSV_OPTIONS, end="2017-07-02"),
                                  qd.read_csv(CDD, **CSV_OPTIONS).loc[:pd.Timestamp("2017-07-02", tz="UTC")])


def test_source_is_described_in_attrs(store):
    assert open_data(dataset="aapl").attrs["quantlab"]["source"] == "dataset aapl"
    label = open_data(store=store, symbol="IBM", timeframe="1d").attrs["quantlab"]["source"]
    assert "IBM" in label and "1d" in label
    info = open_data(csv=CDD, csv_options=CSV_OPTIONS).attrs["quantlab"]
    assert "sorted 400 rows" in info["note"]


def test_exactly_one_source():
    with pytest.raises(InvalidParameterError, match="exactly one of"):
        open_data()
    with pytest.raises(InvalidParameterError, match="exactly one of"):
        open_data(dataset="aapl", csv=CDD)
    with pytest.raises(InvalidParameterError, match="exactly one of.*--dataset"):
        open_data(dataset="aapl", csv=CDD, caller="quantlab backtest")


def test_store_needs_symbol_and_timeframe(store):
    with pytest.raises(InvalidParameterError, match="`symbol` of open_data"):
        open_data(store=store, timeframe="1d")
    with pytest.raises(InvalidParameterError, match="`--timeframe` of quantlab sweep"):
        open_data(store=store, symbol="IBM", caller="quantlab sweep")
    with pytest.raises(InvalidParameterError, match="only with"):
        open_data(dataset="aapl", symbol="IBM")
    with pytest.raises(InvalidParameterError, match="`csv_options`"):
        open_data(dataset="aapl", csv_options={"sort": True})
    with pytest.raises(InvalidParameterError, match="Did you mean 'skiprows'"):
        open_data(csv=CDD, csv_options={"skiprow": 1})


def test_missing_store_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        open_data(store=tmp_path / "nope", symbol="X", timeframe="1h")


# ---------------------------------------------------------------- empty ranges (item 4)


def test_load_refuses_reversed_range():
    with pytest.raises(InvalidParameterError, match=r"`start` of load\(\).*2012.*`end`.*2010") as info:
        qd.load("aapl", start="2012", end="2010")
    assert "2000-03-01 .. 2013-03-01" in str(info.value)


def test_load_refuses_an_empty_range_with_the_data_range():
    with pytest.raises(DataError, match=r"2000-03-01 .. 2013-03-01") as info:
        qd.load("aapl", start="2020-01-01")
    assert "`start`" in str(info.value)


def test_store_read_refuses_an_empty_range(store):
    with pytest.raises(DataError, match=r"`start`.*2012-01-03 .. 2012-12-31"):
        Store(store).read("IBM", "1d", start="2030-01-01")
    with pytest.raises(InvalidParameterError, match=r"`start` of Store.read"):
        Store(store).read("IBM", "1d", start="2012-06-01", end="2012-05-01")


def test_open_data_empty_range_names_the_cli_option(store):
    with pytest.raises(DataError, match=r"`--start`.*2020-01-01.*2012-01-03 .. 2012-12-31"):
        open_data(store=store, symbol="IBM", timeframe="1d", start="2020-01-01",
                  caller="quantlab backtest")
    with pytest.raises(DataError, match=r"`end`.*1990-01-01.*2000-03-01 .. 2013-03-01"):
        open_data(dataset="aapl", end="1990-01-01")
    with pytest.raises(DataError, match=r"2017-07-01 00:00 .. 2017-07-17 15:00"):
        open_data(csv=CDD, csv_options=CSV_OPTIONS, start="2018")

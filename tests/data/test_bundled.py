"""Bundled datasets: documented ranges and row counts, normalization, adjustment, bad names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import quantlab.data as qd
from quantlab.errors import DataError, InvalidParameterError

# name -> (first, last, rows), as documented in load()'s docstring and data/README.md
EXPECTED = {
    "aapl": ("2000-03-01", "2013-03-01", 3270),
    "msft": ("2000-03-01", "2013-03-01", 3270),
    "ibm": ("2000-03-01", "2013-03-01", 3270),
    "goog": ("2004-08-19", "2013-03-01", 2148),
    "eurusd": ("2017-01-01 22:00", "2017-12-29 21:00", 6225),
    "sp500": ("1999-01-04", "2018-12-31", 5031),
    "nasdaq": ("1999-01-04", "2018-12-31", 5031),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dataset_range_rows_and_shape(name):
    first, last, rows = EXPECTED[name]
    df = qd.load(name)
    assert len(df) == rows
    assert df.index[0] == pd.Timestamp(first, tz="UTC") and df.index[-1] == pd.Timestamp(last, tz="UTC")
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert (df.dtypes == np.float64).all()
    assert str(df.index.tz) == "UTC" and df.index.name == "time"
    assert df.index.is_monotonic_increasing and df.index.is_unique


def test_list_datasets_matches_load():
    listing = qd.list_datasets().set_index("name")
    assert list(listing.columns) == ["symbol", "frequency", "first", "last", "rows", "source", "licence"]
    for name, (_, _, rows) in EXPECTED.items():
        assert listing.loc[name, "rows"] == rows


def test_adjustment_matches_source_adj_close():
    raw = qd.load("aapl", adjust=False)
    adjusted = qd.load("aapl")
    parquet = pd.read_parquet(qd.bundled.data_dir() / "aapl_1d.parquet")
    np.testing.assert_array_equal(adjusted["close"].to_numpy(), parquet["adj_close"].to_numpy())
    ratio = parquet["adj_close"] / parquet["close"]
    np.testing.assert_allclose(adjusted["open"], raw["open"] * ratio.to_numpy(), rtol=1e-15)
    # AAPL's 2:1 split on 2005-02-28: the raw close halves, the adjusted close does not
    raw_ret = raw["close"].pct_change().loc[pd.Timestamp("2005-02-28", tz="UTC")]
    adj_ret = adjusted["close"].pct_change().loc[pd.Timestamp("2005-02-28", tz="UTC")]
    assert raw_ret < -0.4 and abs(adj_ret) < 0.1


def test_start_end_inclusive():
    df = qd.load("msft", start="2010-01-04", end="2010-01-08")
    assert len(df) == 5 and df.index[0] == pd.Timestamp("2010-01-04", tz="UTC")


def test_unknown_name_did_you_mean():
    with pytest.raises(DataError, match=r"`name` of load\(\) must be a bundled dataset.*Did you mean 'aapl'"):
        qd.load("appl")


def test_bad_dates():
    with pytest.raises(InvalidParameterError, match="`start` of load"):
        qd.load("aapl", start="not a date")


def test_normalize_raw_frame_and_errors():
    raw = pd.DataFrame({"Date": ["2024-01-02", "2024-01-03"], "Open": [1, 2], "High": [2, 3],
                        "Low": [0.5, 1], "Close": [1.5, 2.5], "Volume": [10, 20]})
    out = qd.normalize(raw)
    assert str(out.index.tz) == "UTC" and (out.dtypes == np.float64).all()
    with pytest.raises(DataError, match="missing \\['volume'\\]"):
        qd.normalize(raw.drop(columns="Volume"))
    with pytest.raises(DataError, match="numeric"):
        qd.normalize(raw.assign(Close=["a", "b"]))
    with pytest.raises(DataError, match="finite and > 0"):
        qd.normalize(raw.assign(Close=[-1.0, 2.0]))
    with pytest.raises(DataError, match="sorted by time.*sort_index"):
        qd.normalize(raw.iloc[::-1])
    with pytest.raises(DataError, match="duplicate"):
        qd.normalize(pd.concat([raw, raw.iloc[[1]]]))

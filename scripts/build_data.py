"""Build the bundled Parquet files in data/ from their public sources.

Run once (it is how data/*.parquet were made; re-running reproduces them byte for byte
up to Parquet metadata):

    pip install -e '.[build-data]'
    python scripts/build_data.py

Sources (see data/README.md for licences):
* daily AAPL, MSFT, IBM, GOOG -- Quandl WIKI prices via ``bokeh_sampledata.stocks``
  (public domain). Unadjusted OHLCV plus the source's ``adj_close``.
* hourly EURUSD 2017 (ask) -- ``gym_anytrading`` FOREX_EURUSD_1H_ASK.csv (MIT). Its index is a
  string ``dd.mm.YYYY HH:MM:SS.fff`` in UTC.
S&P 500 and NASDAQ daily are not copied: quantlab reads them from ``arch.data`` at run time.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "data"


def _write(df: pd.DataFrame, name: str) -> None:
    path = OUT / f"{name}.parquet"
    df.to_parquet(path, engine="pyarrow", compression="zstd", index=True)
    print(f"{path.relative_to(OUT.parent)}: {len(df)} rows {df.index[0]} .. {df.index[-1]}")


def build_stocks() -> None:
    from bokeh_sampledata import stocks

    data = stocks.data
    for ticker in ("AAPL", "MSFT", "IBM", "GOOG"):
        part = data[data["ticker"] == ticker].copy()
        index = pd.DatetimeIndex(pd.to_datetime(part["date"]), name="time").tz_localize("UTC")
        frame = pd.DataFrame(
            {c: part[c].to_numpy(dtype=np.float64) for c in
             ("open", "high", "low", "close", "volume", "adj_close")},
            index=index.as_unit("ns"),
        ).sort_index()
        _write(frame, f"{ticker.lower()}_1d")


def build_eurusd() -> None:
    # find the file without importing gym_anytrading (its __init__ needs gymnasium)
    spec = importlib.util.find_spec("gym_anytrading")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install gym-anytrading --no-deps")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    source = package_dir / "datasets" / "data" / "FOREX_EURUSD_1H_ASK.csv"
    raw = pd.read_csv(source)
    index = pd.to_datetime(raw["Time"], format="%d.%m.%Y %H:%M:%S.%f", utc=True)
    frame = pd.DataFrame(
        {c.lower(): raw[c].to_numpy(dtype=np.float64) for c in ("Open", "High", "Low", "Close", "Volume")},
        index=pd.DatetimeIndex(index, name="time").as_unit("ns"),
    ).sort_index()
    _write(frame, "eurusd_1h")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    build_stocks()
    build_eurusd()

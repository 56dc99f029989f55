"""Bundled sample datasets: real market data shipped as Parquet or read from ``arch.data``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quantlab._validate import did_you_mean, message
from quantlab.data._frame import normalize, select_range
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["load", "list_datasets", "data_dir"]


@dataclass(frozen=True)
class _Dataset:
    name: str
    symbol: str
    frequency: str
    source: str
    licence: str
    file: str | None = None      # Parquet file in data/
    arch_module: str | None = None  # or a module of arch.data


_QUANDL = "Quandl WIKI prices via bokeh-sampledata"
_DATASETS: dict[str, _Dataset] = {
    d.name: d
    for d in (
        _Dataset("aapl", "AAPL", "1d", _QUANDL, "public domain", file="aapl_1d.parquet"),
        _Dataset("msft", "MSFT", "1d", _QUANDL, "public domain", file="msft_1d.parquet"),
        _Dataset("ibm", "IBM", "1d", _QUANDL, "public domain", file="ibm_1d.parquet"),
        _Dataset("goog", "GOOG", "1d", _QUANDL, "public domain", file="goog_1d.parquet"),
        _Dataset("eurusd", "EURUSD", "1h", "Dukascopy ask prices via gym-anytrading", "MIT",
                 file="eurusd_1h.parquet"),
        _Dataset("sp500", "^GSPC", "1d", "Yahoo! Finance via arch.data", "NCSA (arch)",
                 arch_module="sp500"),
        _Dataset("nasdaq", "^IXIC", "1d", "Yahoo! Finance via arch.data", "NCSA (arch)",
                 arch_module="nasdaq"),
    )
}


def data_dir() -> Path:
    """Return the folder holding the bundled Parquet files.

    ``QUANTLAB_DATA_DIR`` overrides it; by default it is ``data/`` of the source checkout.
    """
    override = os.environ.get("QUANTLAB_DATA_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "data"


def _read(ds: _Dataset, adjust: bool) -> pd.DataFrame:
    if ds.file is not None:
        path = data_dir() / ds.file
        if not path.exists():
            raise DataError(f"The bundled file {path} is missing. Run from a quantlab checkout "
                            "or set QUANTLAB_DATA_DIR to the folder holding it.")
        raw = pd.read_parquet(path)
    else:
        import importlib

        module = importlib.import_module(f"arch.data.{ds.arch_module}")
        raw = module.load()
        raw.columns = [str(c).lower().replace(" ", "_") for c in raw.columns]
        raw.index = pd.DatetimeIndex(raw.index).tz_localize("UTC")
    if adjust and "adj_close" in raw.columns:
        # split- and dividend-adjust the whole bar by the source's adj_close / close ratio
        ratio = raw["adj_close"].to_numpy(np.float64) / raw["close"].to_numpy(np.float64)
        open_, close = raw["open"] * ratio, raw["adj_close"]
        # scaling can move high/low by one rounding step past open/close: keep the bar consistent
        high = np.maximum.reduce([raw["high"] * ratio, open_, close])
        low = np.minimum.reduce([raw["low"] * ratio, open_, close])
        raw = raw.assign(open=open_, high=high, low=low, close=close, volume=raw["volume"] / ratio)
    return normalize(raw, caller="load")


def load(
    name: str,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    adjust: bool = True,
) -> pd.DataFrame:
    """Load a bundled dataset as normalized OHLCV.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets` names (case-insensitive): ``aapl msft ibm goog``
        (daily, Quandl WIKI, 2000-03-01 .. 2013-03-01; GOOG from 2004-08-19), ``eurusd``
        (hourly ask, 2017), ``sp500`` and ``nasdaq`` (daily, 1999-01-04 .. 2018-12-31).
    start, end : str or Timestamp, optional
        Inclusive bounds; naive values are read as UTC. A reversed range, or one that
        selects no bar, is refused with the dataset's range in the message.
    adjust : bool, default True
        Split- and dividend-adjust the equities: open, high, low and close are scaled by
        the source's ``adj_close / close`` and volume by its inverse. With ``False`` the
        raw (unadjusted) prints are returned, splits and all.

    Returns
    -------
    DataFrame
        Columns ``open high low close volume`` (float64), UTC ``DatetimeIndex`` named
        ``time``. Daily bars are labelled with the session date at 00:00 UTC.

    Raises
    ------
    DataError
        Unknown name (with a did-you-mean), a missing bundled file, or no bar in
        ``[start, end]``.
    InvalidParameterError
        ``start`` after ``end``, or a bound that is not a date.

    Examples
    --------
    >>> df = load("aapl", start="2010-01-01", end="2010-12-31")
    >>> len(df), df.index[0].date().isoformat()
    (252, '2010-01-04')
    """
    key = str(name).lower()
    if key not in _DATASETS:
        hint = did_you_mean(key, _DATASETS) or "See quantlab.data.list_datasets()."
        raise DataError(message("name", "load", "a bundled dataset: " + ", ".join(_DATASETS), name, hint))
    if not isinstance(adjust, bool):
        raise InvalidParameterError(message("adjust", "load", "True or False", adjust))
    frame = _read(_DATASETS[key], adjust)
    return select_range(frame, start, end, caller="load", label=key)


def list_datasets() -> pd.DataFrame:
    """List the bundled datasets with their range and row count.

    Returns
    -------
    DataFrame
        Columns ``name, symbol, frequency, first, last, rows, source, licence``.
    """
    rows = []
    for ds in _DATASETS.values():
        frame = _read(ds, adjust=False)
        rows.append({"name": ds.name, "symbol": ds.symbol, "frequency": ds.frequency,
                     "first": frame.index[0], "last": frame.index[-1], "rows": len(frame),
                     "source": ds.source, "licence": ds.licence})
    return pd.DataFrame(rows)

"""Normalization of raw OHLCV frames into quantlab's one shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import OHLCV, check_ohlcv, message
from quantlab.errors import DataError

__all__ = ["normalize"]

_ALIASES = {
    "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume", "vol": "volume",
    "date": "time", "datetime": "time", "timestamp": "time",
}


def normalize(df: Any, *, tz: str = "UTC", caller: str = "normalize") -> pd.DataFrame:
    """Return ``df`` as normalized OHLCV.

    Lower-case ``open high low close volume`` float64 columns (other columns dropped), a
    tz-aware UTC ``DatetimeIndex`` named ``time`` at nanosecond resolution.
    Column names are matched case-insensitively ("Close", "CLOSE") and a ``time``/``date``/
    ``timestamp`` column becomes the index. Naive timestamps are localized to ``tz``.

    Normalization never reorders or drops rows: an unsorted index, duplicate timestamps and
    bad prices raise :class:`~quantlab.errors.DataError` (repair them explicitly with
    :func:`quantlab.data.clean`), so nothing is silently changed.

    Parameters
    ----------
    df : DataFrame
        Raw bars.
    tz : str, default "UTC"
        Time zone of naive timestamps.

    Returns
    -------
    DataFrame
        Normalized OHLCV.

    Raises
    ------
    DataError
        Missing columns, non-numeric values, unsorted or duplicated timestamps,
        non-positive or non-finite prices.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Date": ["2024-01-02", "2024-01-03"], "Open": [1, 2], "High": [2, 3],
    ...                     "Low": [0.5, 1], "Close": [1.5, 2.5], "Volume": [10, 20]})
    >>> normalize(raw).columns.tolist()
    ['open', 'high', 'low', 'close', 'volume']
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(message("df", caller, "a pandas DataFrame of OHLCV bars", type(df).__name__))
    frame = df.copy()
    frame.columns = [_ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns]
    if "time" in frame.columns:
        frame = frame.set_index("time")
    missing = [c for c in OHLCV if c not in frame.columns]
    if missing:
        raise DataError(message("df", caller, f"a DataFrame with columns {list(OHLCV)}",
                                f"columns {list(df.columns)} (missing {missing})",
                                "Rename the columns, e.g. df.rename(columns={'Adj Close': 'close'})."))
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index))
        except (ValueError, TypeError) as exc:
            raise DataError(message("df", caller, "indexed by timestamps", f"an index of {index.dtype}",
                                    "Set a datetime index with df.set_index(pd.to_datetime(...)).")) from exc
    index = index.tz_localize(tz) if index.tz is None else index
    frame.index = index.tz_convert("UTC").as_unit("ns").rename("time")
    out = pd.DataFrame(index=frame.index)
    for col in OHLCV:
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values.dtype):
            raise DataError(message(f"df['{col}']", caller, "numeric", f"dtype {values.dtype}",
                                    "Convert with pd.to_numeric(df[col], errors='coerce') and clean the NaNs."))
        out[col] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    check_ohlcv(out, caller=caller, name="df")
    return out

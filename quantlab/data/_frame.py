"""Normalization of raw OHLCV frames into quantlab's one shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import OHLCV, check_ohlcv, check_timestamp, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["normalize", "select_range", "show_span", "option_name", "ALIASES"]

#: Lower-cased column names read as another (``"date"`` is the time column).
ALIASES = {
    "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume", "vol": "volume",
    "date": "time", "datetime": "time", "timestamp": "time",
}
_ALIASES = ALIASES


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
    names = [_ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns]
    for target in ("time", *OHLCV):
        sources = [str(c) for c, n in zip(df.columns, names) if n == target]
        if len(sources) > 1:
            listed = " and ".join(repr(c) for c in sources)
            raise DataError(message(
                "df", caller, f"a DataFrame with one column read as {target!r}",
                f"columns {listed} (both read as {target!r}, case and aliases ignored)",
                f"Drop or rename one, e.g. df.drop(columns={sources[0]!r})."))
    frame.columns = names
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


def option_name(name: str, caller: str) -> str:
    """``start`` for a function, ``--start`` for a command (a caller starting ``quantlab ``)."""
    if caller.startswith("quantlab "):
        return "--" + name.replace("_", "-")
    return name


def _show_time(ts: pd.Timestamp, index: pd.DatetimeIndex) -> str:
    midnight = bool((index.asi8 % 86_400_000_000_000 == 0).all())
    return ts.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M")


def show_span(index: pd.DatetimeIndex) -> str:
    """``'2000-03-01 .. 2013-03-01 (3270 bars)'``: dates alone when every bar opens at midnight
    (UTC)."""
    if len(index) == 0:
        return "no bars"
    return (f"{_show_time(index[0], index)} .. {_show_time(index[-1], index)} "
            f"({len(index)} bars)")


def select_range(frame: pd.DataFrame, start: Any, end: Any, *, caller: str,
                 label: str) -> pd.DataFrame:
    """Return ``frame.loc[start:end]`` (inclusive); refuse a reversed or empty range.

    Naive bounds are read as UTC. The errors name the option (``--start`` when ``caller``
    is a command) and the data's available range, so the fix is in the message.

    Raises
    ------
    InvalidParameterError
        A bound that is not a date, or ``start`` after ``end``.
    DataError
        No bar of ``frame`` in ``[start, end]``.
    """
    s_name, e_name = option_name("start", caller), option_name("end", caller)
    lo = check_timestamp(s_name, start, caller=caller, allow_none=True,
                         remedy="Pass None for no bound.")
    hi = check_timestamp(e_name, end, caller=caller, allow_none=True,
                         remedy="Pass None for no bound.")
    span = show_span(frame.index)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidParameterError(message(
            s_name, caller, f"on or before `{e_name}`", start,
            f"`{e_name}` is {end!r}: the range is reversed. {label} covers {span}."))
    if lo is None and hi is None:
        return frame
    out = frame.loc[lo:hi]
    if len(out) == 0:
        if len(frame) == 0:
            raise DataError(f"{label} holds no bars, so `{s_name}`/`{e_name}` select none.")
        first, last = (_show_time(t, frame.index) for t in (frame.index[0], frame.index[-1]))
        if lo is not None and lo > frame.index[-1]:
            name, value, fix = s_name, start, f"a `{s_name}` on or before {last}"
        elif hi is not None and hi < frame.index[0]:
            name, value, fix = e_name, end, f"an `{e_name}` on or after {first}"
        else:
            name, value, fix = s_name, start, f"a wider `{s_name}` .. `{e_name}`"
        asked = (f"from {start!r} on" if end is None else f"up to {end!r}" if start is None
                 else f"in {start!r} .. {end!r}")
        raise DataError(message(name, caller, f"a date that selects bars of {label}", value,
                                f"{label} covers {span}; nothing falls {asked}. "
                                f"Pick {fix}."))
    return out

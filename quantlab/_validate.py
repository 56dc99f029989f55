"""The one place input checks and their messages are written.

Every message follows one template::

    `window` of sma() must be an integer >= 1; got 0. <remedy or did-you-mean>

so a user always learns which parameter, which function, which constraint, which value
and, when one exists, the fix.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from quantlab.errors import DataError, InvalidParameterError

__all__ = [
    "message",
    "did_you_mean",
    "check_int",
    "check_float",
    "check_bool",
    "check_choice",
    "check_options",
    "check_timestamp",
    "as_float_array",
    "wrap_like",
    "check_aligned",
    "check_sorted_index",
    "check_ohlcv",
    "ohlcv_arrays",
    "OHLCV",
]

OHLCV: tuple[str, ...] = ("open", "high", "low", "close", "volume")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def message(name: str, caller: str, constraint: str, got: Any, remedy: str | None = None) -> str:
    """Format the house error message.

    Examples
    --------
    >>> message("window", "sma", "an integer >= 1", 0)
    '`window` of sma() must be an integer >= 1; got 0.'
    """
    text = f"`{name}` of {caller}() must be {constraint}; got {_show(got)}."
    if remedy:
        text += " " + remedy
    return text


def did_you_mean(value: Any, choices: Iterable[str]) -> str | None:
    """Return ``"did you mean 'x'?"`` for the closest choice, or None."""
    options = [str(c) for c in choices]
    match = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
    if not match:
        lowered = {o.lower(): o for o in options}
        if str(value).lower() in lowered:
            match = [lowered[str(value).lower()]]
    return f"Did you mean {match[0]!r}?" if match else None


def check_int(
    name: str,
    value: Any,
    *,
    caller: str,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return ``value`` as an ``int`` or raise InvalidParameterError (bools are refused)."""
    bounds = _bounds_text(minimum, maximum)
    constraint = "an integer" + bounds
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidParameterError(message(name, caller, constraint, value))
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidParameterError(message(name, caller, constraint, value))
    return value


def check_float(
    name: str,
    value: Any,
    *,
    caller: str,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    allow_none: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within bounds or raise InvalidParameterError."""
    if value is None and allow_none:
        return None  # type: ignore[return-value]
    low = ">" if exclusive_minimum else ">="
    bounds = []
    if minimum is not None:
        bounds.append(f"{low} {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    constraint = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidParameterError(message(name, caller, constraint, value))
    value = float(value)
    if not math.isfinite(value):
        raise InvalidParameterError(message(name, caller, constraint, value))
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        raise InvalidParameterError(message(name, caller, constraint, value))
    if maximum is not None and value > maximum:
        raise InvalidParameterError(message(name, caller, constraint, value))
    return value


def check_bool(name: str, value: Any, *, caller: str) -> bool:
    """Return ``value`` if it is a bool, else raise InvalidParameterError."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidParameterError(message(name, caller, "True or False", value))
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str], *, caller: str) -> str:
    """Return ``value`` if it is one of ``choices``, else raise with a did-you-mean."""
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(repr(c) for c in choices)
    hint = did_you_mean(value, choices) if isinstance(value, str) else None
    raise InvalidParameterError(message(name, caller, f"one of {listed}", value, hint))


def check_options(options: dict[str, Any], known: Iterable[str], *, caller: str) -> None:
    """Refuse unknown keyword options with a did-you-mean."""
    known = list(known)
    for key in options:
        if key not in known:
            hint = did_you_mean(key, known) or "Known options: " + ", ".join(sorted(known)) + "."
            raise InvalidParameterError(
                f"{caller}() got an unknown option `{key}`. {hint}"
            )


@overload
def check_timestamp(name: str, value: Any, *, caller: str, allow_none: Literal[False] = ...,
                    remedy: str | None = None) -> pd.Timestamp: ...


@overload
def check_timestamp(name: str, value: Any, *, caller: str, allow_none: bool,
                    remedy: str | None = None) -> pd.Timestamp | None: ...


def check_timestamp(name: str, value: Any, *, caller: str, allow_none: bool = False,
                    remedy: str | None = None) -> pd.Timestamp | None:
    """Return ``value`` as a UTC ``Timestamp`` (ns); naive values are read as UTC.

    None is returned as None when ``allow_none``; anything unparsable, NaT or (without
    ``allow_none``) None raises InvalidParameterError.
    """
    if value is None and allow_none:
        return None
    constraint = "a date such as '2024-01-31'"
    try:
        ts = pd.Timestamp(value) if value is not None and not isinstance(value, bool) else pd.NaT
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(message(name, caller, constraint, value, remedy)) from exc
    if ts is pd.NaT:
        raise InvalidParameterError(message(name, caller, constraint, value, remedy))
    return (ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")).as_unit("ns")


def _bounds_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def as_float_array(
    data: Any, name: str, *, caller: str, ndim: tuple[int, ...] = (1, 2), order: str = "C"
) -> np.ndarray:
    """Return ``data`` (ndarray, Series, DataFrame, list) as a contiguous float64 array.

    ``order`` is "C" (rows contiguous) or "F" (columns contiguous: no copy for a one-dtype
    DataFrame, whose values pandas stores column by column). Integers and booleans are
    converted; strings, objects and datetimes raise DataError.
    """
    if isinstance(data, pd.DataFrame):
        bad = [c for c in data.columns if not _is_numeric_dtype(data[c].dtype)]
        if bad:
            raise DataError(
                message(name, caller, "numeric", f"non-numeric column(s) {bad}",
                        "Convert with pd.to_numeric() or select numeric columns.")
            )
        arr = data.to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(data, pd.Series):
        if not _is_numeric_dtype(data.dtype):
            raise DataError(
                message(name, caller, "numeric", f"a Series of dtype {data.dtype}",
                        "Convert with pd.to_numeric().")
            )
        arr = data.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raw = np.asarray(data)
        if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == np.bool_):
            raise DataError(
                message(name, caller, "numeric", f"an array of dtype {raw.dtype}",
                        "Pass floats or integers.")
            )
        arr = raw.astype(np.float64, copy=False)
    if arr.ndim not in ndim:
        raise DataError(message(name, caller, f"{' or '.join(map(str, ndim))}-dimensional",
                                f"an array of shape {arr.shape}"))
    return np.asfortranarray(arr) if order == "F" else np.ascontiguousarray(arr)


def _is_numeric_dtype(dtype: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(dtype)) and not pd.api.types.is_complex_dtype(dtype)


def wrap_like(template: Any, values: np.ndarray, *, name: str | None = None) -> Any:
    """Wrap ``values`` in the type of ``template`` (ndarray, Series or DataFrame)."""
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(values, index=template.index, columns=template.columns)
    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index, name=template.name if name is None else name)
    return values


def check_aligned(caller: str, **inputs: Any) -> None:
    """Require equal lengths (and equal indexes for pandas inputs)."""
    names = list(inputs)
    for name in names:
        if np.ndim(inputs[name]) == 0:
            raise DataError(message(name, caller, "an array, Series or DataFrame of bars", inputs[name],
                                    "Pass one value per bar."))
    first = names[0]
    ref = inputs[first]
    for other in names[1:]:
        value = inputs[other]
        if len(value) != len(ref):
            raise DataError(
                f"`{other}` of {caller}() must have the same length as `{first}`; "
                f"got {len(value)} vs {len(ref)}. Align them first (e.g. df.dropna())."
            )
        if isinstance(ref, pd.Series | pd.DataFrame) and isinstance(value, pd.Series | pd.DataFrame):
            if not ref.index.equals(value.index):
                raise DataError(
                    f"`{other}` of {caller}() must have the same index as `{first}`; "
                    "the indexes differ. Align them with .reindex() or pd.concat(..., join='inner')."
                )


def check_sorted_index(name: str, data: Any, *, caller: str) -> None:
    """Refuse a Series/DataFrame whose DatetimeIndex is not sorted in increasing time.

    An unsorted index would make every rolling or recursive computation read later bars as
    earlier ones (look-ahead). Other inputs (ndarray, non-datetime index) pass unchecked.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series([1.0, 2.0], index=pd.to_datetime(["2024-01-02", "2024-01-01"]))
    >>> check_sorted_index("close", s, caller="sma")
    Traceback (most recent call last):
    ...
    quantlab.errors.DataError: `close` of sma() must be sorted by time (increasing DatetimeIndex); got an unsorted index (2024-01-01 00:00:00 after 2024-01-02 00:00:00). Sort it with .sort_index() first.
    """
    index = getattr(data, "index", None)
    if not isinstance(index, pd.DatetimeIndex) or index.is_monotonic_increasing:
        return
    values = index.asi8
    row = int(np.argmax(values[1:] < values[:-1])) + 1
    raise DataError(message(name, caller, "sorted by time (increasing DatetimeIndex)",
                            _Raw(f"an unsorted index ({index[row]} after {index[row - 1]})"),
                            "Sort it with .sort_index() first."))


class _Raw:
    """A value shown in a message as its text (no quotes)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def check_ohlcv(
    df: Any,
    *,
    caller: str,
    name: str = "data",
    columns: Sequence[str] = OHLCV,
) -> None:
    """Check that ``df`` is normalized OHLCV, or raise DataError saying how to fix it.

    Normalized means: a DataFrame with lower-case float columns ``columns``, a tz-aware
    DatetimeIndex that is sorted and unique, finite positive prices, non-negative volume.
    Use :func:`quantlab.data.normalize` to convert a raw frame.
    """
    ohlcv_arrays(df, caller=caller, name=name, columns=columns)


def ohlcv_arrays(
    df: Any,
    *,
    caller: str,
    name: str = "data",
    columns: Sequence[str] = OHLCV,
    check_values: bool = True,
) -> dict[str, np.ndarray]:
    """:func:`check_ohlcv`, returning the checked columns as float64 arrays ``{column: (T,)}``.

    The arrays are views of ``df``'s data when its columns are float64 (do not write to
    them). A frame of float64 columns is checked with one min/max pass per column; any
    other frame, or one that fails, takes the column-by-column checks, whose message
    names the first bad value (row by row, then column by column). With
    ``check_values=False`` only the frame, its index and the columns' dtypes are checked:
    the caller checks the values (and calls :func:`check_ohlcv` for the message when one
    is bad).
    """
    fix = "Use quantlab.data.normalize(df) to convert a raw frame."
    if not isinstance(df, pd.DataFrame):
        raise DataError(message(name, caller, "a pandas DataFrame of OHLCV bars", type(df).__name__))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        lower = {str(c).lower(): c for c in df.columns}
        hint = fix if all(m in lower for m in missing) else (
            f"Columns present: {list(df.columns)}. Rename them to {list(columns)}."
        )
        raise DataError(message(name, caller, f"a DataFrame with columns {list(columns)}",
                                f"missing {missing}", hint))
    index = df.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(message(name, caller, "indexed by a DatetimeIndex", type(index).__name__, fix))
    if index.tz is None:
        raise DataError(message(name, caller, "indexed by tz-aware timestamps", "naive timestamps",
                                "Localize with df.tz_localize('UTC') (or the exchange's zone)."))
    if not index.is_monotonic_increasing:
        raise DataError(message(name, caller, "sorted by time", "an unsorted index",
                                "Sort with df.sort_index()."))
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise DataError(message(name, caller, "free of duplicate timestamps", f"duplicate {dup}",
                                "Drop them with quantlab.data.clean(df, policy='drop').") )
    arrays = _float64_columns(df, columns)
    if arrays is not None and (not check_values or all(
            _all_finite_and_above(v, 0.0, c == "volume") for c, v in arrays.items())):
        return arrays
    _check_ohlcv_values(df, index, caller=caller, name=name, columns=columns,
                        check_values=check_values)
    return {c: df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in columns}


def _float64_columns(df: pd.DataFrame, columns: Sequence[str]) -> dict[str, np.ndarray] | None:
    """``{column: df[column].to_numpy()}`` when each of ``columns`` is one float64 column."""
    out = {}
    for col in columns:
        series = df[col]
        if not isinstance(series, pd.Series) or series.dtype != np.float64:
            return None
        out[col] = series.to_numpy()
    return out


def _all_finite_and_above(values: np.ndarray, low: float, inclusive: bool) -> bool:
    """Every value finite and > ``low`` (>= when ``inclusive``): NaN makes min/max NaN."""
    if values.size == 0:
        return True
    lo, hi = values.min(), values.max()
    return bool((lo >= low if inclusive else lo > low) and hi < np.inf)


def _check_ohlcv_values(df: pd.DataFrame, index: pd.DatetimeIndex, *, caller: str, name: str,
                        columns: Sequence[str], check_values: bool = True) -> None:
    """The dtype and value checks of :func:`check_ohlcv`, with the first bad value named."""
    for col in columns:
        dtype = df[col].dtype
        if not _is_numeric_dtype(dtype):
            raise DataError(message(f"{name}['{col}']", caller, "numeric", f"dtype {dtype}",
                                    "Convert with pd.to_numeric()."))
    if not check_values:
        return
    prices = [c for c in columns if c != "volume"]
    if prices:
        values = df[prices].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(message(f"{name}['{prices[col]}']", caller, "finite and > 0",
                                    f"{values[row, col]} at {index[row]}",
                                    "Inspect with quantlab.data.validate(df); repair with quantlab.data.clean()."))
    if "volume" in columns:
        vol = df["volume"].to_numpy(dtype=np.float64, na_value=np.nan)
        bad_vol = ~np.isfinite(vol) | (vol < 0)
        if bad_vol.any():
            row = int(np.argmax(bad_vol))
            raise DataError(message(f"{name}['volume']", caller, "finite and >= 0",
                                    f"{vol[row]} at {index[row]}",
                                    "Repair with quantlab.data.clean()."))

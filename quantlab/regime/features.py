"""Causal features for regime models, computed from OHLCV bars (batch and streaming).

Named features (row t uses bars up to t only):

* ``"returns"`` - log return of the close, ``log(close_t / close_{t-1})``; NaN at the first bar;
* ``"abs_returns"`` - its absolute value;
* ``"range"`` - the bar's log range ``log(high_t / low_t)`` (a Parkinson-type volatility proxy).

A bar whose close is missing (NaN, non-positive) gives NaN returns, and the next return spans
the gap from the last valid close. The batch and the streaming paths run the same kernel, so a
feature computed bar by bar equals the batch value bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import njit
from quantlab._validate import did_you_mean, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["FEATURES", "FEATURE_WARMUP", "check_features", "feature_columns",
           "compute_features", "features_from_arrays", "callable_features", "features_nb"]

#: Named features and the integer codes the kernel uses.
FEATURES: tuple[str, ...] = ("returns", "abs_returns", "range")
#: Bars of warm-up (NaN rows) each named feature needs.
FEATURE_WARMUP: dict[str, int] = {"returns": 1, "abs_returns": 1, "range": 0}
_COLUMNS: dict[str, tuple[str, ...]] = {"returns": ("close",), "abs_returns": ("close",),
                                        "range": ("high", "low")}


def check_features(value: Any, *, caller: str) -> tuple[str, ...] | Callable[..., Any]:
    """Return ``value`` as a tuple of known feature names, or the callable itself."""
    if callable(value):
        return value  # type: ignore[no-any-return]
    names = (value,) if isinstance(value, str) else value
    constraint = f"a callable or a non-empty tuple of names among {', '.join(map(repr, FEATURES))}"
    if not isinstance(names, Sequence) or isinstance(names, bytes) or len(names) == 0:
        raise InvalidParameterError(message("features", caller, constraint, value))
    out = []
    for name in names:
        if not isinstance(name, str) or name not in FEATURES:
            hint = did_you_mean(name, FEATURES) if isinstance(name, str) else None
            raise InvalidParameterError(message("features", caller, constraint,
                                                f"unknown feature {name!r}", hint))
        if name in out:
            raise InvalidParameterError(message("features", caller, "free of duplicates", value))
        out.append(name)
    return tuple(out)


def feature_columns(names: tuple[str, ...]) -> tuple[str, ...]:
    """OHLCV columns the named features read, in a fixed order."""
    cols: list[str] = []
    for name in names:
        cols += [c for c in _COLUMNS[name] if c not in cols]
    return tuple(cols)


@njit
def features_nb(close, high, low, codes, state, out):
    """float64[:] close/high/low, int64[F] feature codes, float64[1] carried previous close,
    (T, F) output -> None; codes index :data:`FEATURES`.

    Equals ``np.log(close).diff()`` (returns), its ``abs()`` and ``np.log(high / low)`` (range)
    on gap-free data; ``state[0]`` (NaN before the first bar) is updated in place.
    """
    n_obs = close.shape[0]
    n_feat = codes.shape[0]
    for t in range(n_obs):
        prev = state[0]
        c = close[t]
        c_ok = math.isfinite(c) and c > 0.0
        if c_ok and math.isfinite(prev) and prev > 0.0:
            r = math.log(c / prev)
        else:
            r = np.nan
        for f in range(n_feat):
            code = codes[f]
            if code == 0:
                out[t, f] = r
            elif code == 1:
                out[t, f] = abs(r)
            else:
                h = high[t]
                lo = low[t]
                if math.isfinite(h) and math.isfinite(lo) and h > 0.0 and lo > 0.0:
                    out[t, f] = math.log(h / lo)
                else:
                    out[t, f] = np.nan
        if c_ok:
            state[0] = c


def _column(data: pd.DataFrame, name: str, caller: str) -> np.ndarray:
    if name not in data.columns:
        raise DataError(message("data", caller, f"a DataFrame with a {name!r} column",
                                f"columns {list(data.columns)}",
                                "Pass OHLCV bars (see quantlab.data.normalize) or a Series of "
                                "returns."))
    col = data[name]
    if not pd.api.types.is_numeric_dtype(col.dtype):
        raise DataError(message(f"data['{name}']", caller, "numeric", f"dtype {col.dtype}",
                                "Convert with pd.to_numeric()."))
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def compute_features(data: pd.DataFrame, names: tuple[str, ...], state: np.ndarray,
                     *, caller: str) -> np.ndarray:
    """(T, F) named features of OHLCV ``data``; ``state`` (float64[1]) carries the last close."""
    n = len(data)
    close = _column(data, "close", caller) if "close" in feature_columns(names) else np.full(n, np.nan)
    if "range" in names:
        high = _column(data, "high", caller)
        low = _column(data, "low", caller)
    else:
        high = low = np.full(n, np.nan)
    return features_from_arrays(close, high, low, names, state)


def features_from_arrays(close: np.ndarray, high: np.ndarray, low: np.ndarray,
                         names: tuple[str, ...], state: np.ndarray) -> np.ndarray:
    """(T, F) named features from float64 arrays (unused ones may be NaN); runs :func:`features_nb`."""
    codes = np.array([FEATURES.index(name) for name in names], dtype=np.int64)
    out = np.empty((close.shape[0], len(names)))
    features_nb(np.ascontiguousarray(close, dtype=np.float64),
                np.ascontiguousarray(high, dtype=np.float64),
                np.ascontiguousarray(low, dtype=np.float64), codes, state, out)
    return out


def callable_features(func: Callable[..., Any], data: pd.DataFrame, *, caller: str) -> np.ndarray:
    """Call a user feature function and check its output: (T, F) float64, same index."""
    result = func(data)
    if isinstance(result, pd.Series):
        result = result.to_frame()
    if not isinstance(result, pd.DataFrame):
        raise DataError(message("features", caller, "a callable returning a DataFrame (or Series)",
                                f"a callable returning {type(result).__name__}"))
    if len(result) != len(data) or not result.index.equals(data.index):
        raise DataError(message("features", caller,
                                "a callable returning one row per bar, on the data's index",
                                f"{len(result)} rows for {len(data)} bars",
                                "Keep warm-up rows as NaN instead of dropping them."))
    bad = [c for c in result.columns if not pd.api.types.is_numeric_dtype(result[c].dtype)]
    if bad or result.shape[1] == 0:
        raise DataError(message("features", caller, "a callable returning numeric columns",
                                f"non-numeric columns {bad}" if bad else "no columns"))
    return np.ascontiguousarray(result.to_numpy(dtype=np.float64, na_value=np.nan))

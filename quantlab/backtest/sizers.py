"""Position sizers: the hook between a strategy's target exposure and the simulator.

A *sizer* maps the strategy's target exposure (time x symbol, in [-1, 1], NaN = hold)
and the data to the exposure the simulator should aim for::

    sizer(target: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame   # same shape/labels

Row ``t`` of the output may only use data up to bar ``t`` (the same causality rule as a
strategy; the look-ahead checks of :mod:`quantlab.strategy` apply to it). The result is
computed once, before the kernel, as an array of exposures; inside the simulator the
order decision (:func:`quantlab.backtest.orders.order_size_nb`) turns each exposure into
units against the equity *at the fill*, so a fraction of equity really is a fraction of
the current equity, and the leverage cap and fees apply on top.

Built in: :class:`FixedFraction` (``size=0.5`` is ``FixedFraction(0.5)``). Kelly, VaR
budget and ATR (volatility-target) sizers plug into the same hook: they are callables
computing a causal per-bar scale, e.g. ATR sizing ``target * risk / (k * atr / close)``
clipped to the leverage. A sizer that depends on the backtest's own path (e.g. Kelly
from the realized trades so far) needs kernel state and is not supported by this hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from quantlab._validate import check_float, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["Sizer", "FixedFraction", "as_sizer", "apply_sizer"]


@runtime_checkable
class Sizer(Protocol):
    """Anything callable as ``sizer(target, data) -> scaled target`` (see module doc)."""

    def __call__(self, target: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:  # pragma: no cover
        ...


@dataclass(frozen=True)
class FixedFraction:
    """Scale every target exposure by a constant fraction of equity.

    Parameters
    ----------
    fraction : float
        In (0, 1]; 1.0 puts the whole equity (times ``leverage``) behind a full signal.

    Examples
    --------
    >>> import pandas as pd
    >>> FixedFraction(0.5)(pd.DataFrame({"x": [1.0, -1.0, float("nan")]}), None)["x"].tolist()
    [0.5, -0.5, nan]
    """

    fraction: float = 1.0

    def __post_init__(self) -> None:
        check_float("fraction", self.fraction, caller="FixedFraction", minimum=0.0,
                    maximum=1.0, exclusive_minimum=True)

    def __call__(self, target: pd.DataFrame, data: Any) -> pd.DataFrame:
        return target * float(self.fraction)


def as_sizer(size: Any, *, caller: str = "backtest") -> Any:
    """Turn the ``size`` option into a sizer: a float fraction, ``"all_in"``, or a callable."""
    if isinstance(size, str):
        if size == "all_in":
            return FixedFraction(1.0)
        raise InvalidParameterError(message("size", caller,
                                            "a fraction in (0, 1], 'all_in' or a sizer callable",
                                            size, "Did you mean 'all_in'?" if "all" in size.lower()
                                            else None))
    if isinstance(size, int | float) and not isinstance(size, bool):
        value = float(size)
        if not (np.isfinite(value) and 0.0 < value <= 1.0):
            raise InvalidParameterError(message(
                "size", caller, "a fraction in (0, 1], 'all_in' or a sizer callable", size,
                "Use leverage= for exposure above 1x equity."))
        return FixedFraction(value)
    if callable(size):
        return size
    raise InvalidParameterError(message("size", caller,
                                        "a fraction in (0, 1], 'all_in' or a sizer callable", size))


def apply_sizer(sizer: Any, target: pd.DataFrame, data: Any, *, caller: str = "backtest") -> np.ndarray:
    """Call ``sizer`` and check its output; return a (T, N) float64 array (NaN = hold)."""
    out = sizer(target, data)
    if isinstance(out, pd.Series) and target.shape[1] == 1:
        out = out.to_frame(target.columns[0])
    if not isinstance(out, pd.DataFrame) or out.shape != target.shape:
        got = type(out).__name__ if not hasattr(out, "shape") else f"shape {out.shape}"
        raise DataError(message("size", caller, f"a sizer returning a DataFrame of shape {target.shape}",
                                got))
    if not out.index.equals(target.index):
        raise DataError(message("size", caller, "a sizer returning the target's index", "another index"))
    if isinstance(out, pd.DataFrame) and set(out.columns) != set(target.columns):
        raise DataError(message("size", caller, f"a sizer returning the columns {list(target.columns)}",
                                list(out.columns)))
    values = out[list(target.columns)].to_numpy(dtype=np.float64, na_value=np.nan)  # symbol order
    if np.isinf(values).any():
        raise DataError(message("size", caller, "a sizer returning finite exposures (NaN = hold)",
                                "an infinite value"))
    return np.ascontiguousarray(values)

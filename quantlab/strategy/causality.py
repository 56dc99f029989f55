"""Look-ahead and warm-up checks for strategies (and any causal signal function)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_float, check_int, message
from quantlab.errors import DataError, InvalidParameterError, LookAheadError, WarmupWarning
from quantlab.strategy.base import check_instance

__all__ = ["check_causality", "CausalityReport"]


@dataclass(frozen=True)
class CausalityReport:
    """Outcome of :func:`check_causality`.

    Attributes
    ----------
    truncation_points : list of Timestamp
        Bars at which the data was truncated and the signal recomputed.
    warmup_ok : bool
        Whether signals after ``warmup`` are independent of where the data starts.
    warmup_first_difference : Timestamp or None
        First bar after the warm-up whose signal changed when the start moved.
    """

    truncation_points: list[pd.Timestamp]
    warmup_ok: bool
    warmup_first_difference: pd.Timestamp | None


def _as_frame(signal: Any, index: pd.Index) -> np.ndarray:
    values = np.asarray(signal, dtype=float)
    return values.reshape(len(index), -1)


def _first_difference(a: np.ndarray, b: np.ndarray, tolerance: float) -> int | None:
    both_nan = np.isnan(a) & np.isnan(b)
    differ = ~both_nan & ~(np.abs(a - b) <= tolerance)
    rows = np.flatnonzero(differ.any(axis=1))
    return int(rows[0]) if rows.size else None


def check_causality(
    strategy: Any,
    data: pd.DataFrame,
    *,
    n_points: int = 12,
    tolerance: float = 1e-9,
    check_warmup: bool = True,
) -> CausalityReport:
    """Prove on ``data`` that ``strategy.signal`` uses no future data.

    The signal is recomputed on the data truncated at ``n_points`` bars (spread evenly after
    the warm-up, plus the last bar's predecessor) and compared, bar by bar, with the full-history
    signal up to the truncation point. Any difference means the value at some bar depended on
    later data: :class:`~quantlab.errors.LookAheadError` names the first bar that changed.

    With ``check_warmup``, the signal is also recomputed with the first ``warmup`` bars
    dropped: bars later than ``2 * warmup`` from the original start must not change. A change
    means a recursive indicator still remembers where the data started: ``warmup`` is too
    short, which is reported with a :class:`~quantlab.errors.WarmupWarning`.

    Parameters
    ----------
    strategy : Strategy
        Anything with ``signal(data)`` and ``warmup``.
    data : DataFrame
        The history to test on (OHLCV, or multi-asset ``(field, symbol)`` columns).
    n_points : int, default 12
        Number of truncation points.
    tolerance : float, default 1e-9
        Absolute tolerance on exposures.
    check_warmup : bool, default True
        Also check the warm-up length.

    Returns
    -------
    CausalityReport

    Raises
    ------
    InvalidParameterError
        ``strategy`` is a class (pass an instance: ``SmaCross()``) or has no ``signal``.
    LookAheadError
        The signal at some bar changed when later data was removed.
    DataError
        Data shorter than the warm-up plus two bars.

    Examples
    --------
    >>> import quantlab as ql
    >>> report = ql.check_causality(ql.strategies.SmaCross(fast=5, slow=20), ql.data.load("aapl").iloc[:400])
    >>> report.warmup_ok
    True
    """
    caller = "check_causality"
    n_points = check_int("n_points", n_points, caller=caller, minimum=1)
    tolerance = check_float("tolerance", tolerance, caller=caller, minimum=0.0)
    check_instance(strategy, "strategy", caller=caller)
    if not hasattr(strategy, "signal"):
        raise InvalidParameterError(message("strategy", caller, "an object with signal(data)", type(strategy).__name__))
    warmup = int(getattr(strategy, "warmup", 0))
    n = len(data)
    if n < warmup + 2:
        raise DataError(message("data", caller, f"longer than warmup + 2 = {warmup + 2} bars", f"{n} bars"))
    full = _as_frame(strategy.signal(data), data.index)

    first = min(max(warmup, 1), n - 2)
    cuts = np.unique(np.linspace(first, n - 2, num=n_points).astype(int))
    earliest: int | None = None
    for cut in cuts:
        part = _as_frame(strategy.signal(data.iloc[: cut + 1]), data.index[: cut + 1])
        diff = _first_difference(part, full[: cut + 1], tolerance)
        if diff is not None and (earliest is None or diff < earliest):
            earliest = diff
            truncated_at = cut
    if earliest is not None:
        raise LookAheadError(
            f"{strategy!r}: the signal at {data.index[earliest]} (bar {earliest}) changed when data after "
            f"{data.index[truncated_at]} was removed, so it uses future data. Compute it from data up to "
            "each bar only (no shift(-k), centred windows, full-sample statistics or smoothed models)."
        )

    warmup_ok, first_diff = True, None
    if check_warmup and warmup > 0 and n > 3 * warmup + 2:
        late = _as_frame(strategy.signal(data.iloc[warmup:]), data.index[warmup:])
        start = warmup  # in `late` coordinates: bar 2*warmup of the original data
        diff = _first_difference(late[start:], full[2 * warmup:], tolerance)
        if diff is not None:
            warmup_ok = False
            first_diff = data.index[2 * warmup + diff]
            warnings.warn(
                f"{strategy!r}: warmup={warmup} is too short; the signal at {first_diff} still depends on "
                "where the data starts. Increase warmup (recursive indicators need several windows).",
                WarmupWarning,
                stacklevel=2,
            )
    return CausalityReport([data.index[c] for c in cuts], warmup_ok, first_diff)

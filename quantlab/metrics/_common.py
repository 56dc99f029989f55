"""Input preparation, output wrapping and the ``periods_per_year`` rule shared by metrics.

Conventions every metric follows
--------------------------------
* ``returns`` are simple (not log) per-period returns: ndarray (1-D or 2-D, time on axis 0),
  Series, or DataFrame (one column per strategy / asset / parameter combination).
* Output: 1-D ndarray or Series -> ``float``; 2-D ndarray -> 1-D ndarray (one value per
  column); DataFrame -> Series indexed by the columns.
* NaN is a *missing observation*: statistics skip it column by column (a column's ``n`` is
  its count of non-NaN values), paths (equity, drawdown) carry the equity flat through it.
* Empty input (no rows or no columns) raises :class:`~quantlab.errors.DataError`.
* A ratio whose denominator is zero (constant returns, no losses, no drawdown) is NaN,
  never ``inf``, and no numpy RuntimeWarning leaks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import njit
from quantlab._validate import as_float_array, check_float, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["Prepared", "prepare", "check_ppy", "check_confidence", "infer_periods_per_year"]


class Prepared:
    """A 2-D float64 view of the input plus what is needed to wrap results back."""

    __slots__ = ("values", "kind", "columns", "index")

    def __init__(self, values: np.ndarray, kind: str, columns: Any, index: Any) -> None:
        self.values = values      # (n_rows, n_cols) C-contiguous float64
        self.kind = kind          # "scalar" (1-D input), "array" (2-D ndarray), "frame"
        self.columns = columns
        self.index = index

    def wrap(self, result: np.ndarray, name: str | None = None) -> Any:
        """Per-column 1-D ``result`` -> float, ndarray or Series (matching the input)."""
        result = np.asarray(result)
        if self.kind == "scalar":
            value = result.reshape(-1)[0]
            return value.item() if hasattr(value, "item") else value
        if self.kind == "frame":
            return pd.Series(result, index=self.columns, name=name)
        return result

    def wrap_path(self, path: np.ndarray, template: Any) -> Any:
        """Per-bar 2-D ``path`` -> the input's own type and shape."""
        if isinstance(template, pd.DataFrame):
            return pd.DataFrame(path, index=template.index, columns=template.columns)
        if isinstance(template, pd.Series):
            return pd.Series(path[:, 0], index=template.index, name=template.name)
        if self.kind == "scalar":
            return path[:, 0]
        return path


def prepare(data: Any, name: str, caller: str, *, min_rows: int = 1) -> Prepared:
    """Validate ``data`` and return it as a :class:`Prepared` 2-D float64 array."""
    arr = as_float_array(data, name, caller=caller)
    if arr.ndim == 1:
        kind = "scalar"
        arr = arr.reshape(-1, 1)
    else:
        kind = "frame" if isinstance(data, pd.DataFrame) else "array"
    if arr.shape[0] < min_rows or arr.shape[1] == 0:
        raise DataError(message(name, caller, f"non-empty (at least {min_rows} row(s) and one column)",
                                f"an input of shape {arr.shape}",
                                "Pass at least one period of returns."))
    index = data.index if isinstance(data, pd.Series | pd.DataFrame) else None
    columns = data.columns if isinstance(data, pd.DataFrame) else None
    return Prepared(np.ascontiguousarray(arr), kind, columns, index)


def check_ppy(value: Any, caller: str) -> float:
    """Validate ``periods_per_year`` (a finite number > 0)."""
    if value is None:
        raise InvalidParameterError(message(
            "periods_per_year", caller, "a number > 0", None,
            "Pass it explicitly (252 daily equities, 365 daily crypto, 8760 hourly crypto) or "
            "use quantlab.metrics.infer_periods_per_year(returns.index)."))
    return check_float("periods_per_year", value, caller=caller, minimum=0.0, exclusive_minimum=True)


def check_confidence(value: Any, caller: str, name: str = "confidence") -> float:
    """Validate a confidence level (or probability) strictly between 0 and 1."""
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if not ok or not (0.0 < float(value) < 1.0):
        raise InvalidParameterError(message(name, caller, "a number in (0, 1), e.g. 0.95", value))
    return float(value)


def tail_probability(confidence: float) -> float:
    """``1 - confidence`` without its representation error (1 - 0.95 is 0.050000000000000044).

    The tail probability behind every VaR, ES and VaR backtest, so each rounds it alike.
    """
    return round(1.0 - confidence, 12)


# --------------------------------------------------------------------------- periods per year
_DAY = 86400.0
_DAY_NS = 86_400_000_000_000
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_COARSE = (  # (low days, high days, periods per year, label)
    (5.0, 8.0, 52.0, "weekly"),
    (26.0, 33.0, 12.0, "monthly"),
    (80.0, 100.0, 4.0, "quarterly"),
    (350.0, 380.0, 1.0, "yearly"),
)


def _day_of_week(index: pd.DatetimeIndex, stamps: np.ndarray, day: int) -> np.ndarray:
    """Day of the week (Monday 0) of each timestamp (``index.asi8``, ``day`` of its units to
    a day), in the index's own time zone.

    Naive and UTC stamps take integer arithmetic (1970-01-01 was a Thursday, 3): ~10x
    faster than ``index.day_of_week`` on 100k bars; other zones go through pandas.
    """
    if _is_utc_or_naive(index):
        return (np.floor_divide(stamps, day) + 3) % 7
    return np.asarray(index.day_of_week)


def _is_utc_or_naive(index: pd.DatetimeIndex) -> bool:
    return index.tz is None or str(index.tz) == "UTC"


@njit
def _sorted_stamps_nb(stamps, day):  # pragma: no cover - compiled
    """stamps (T,) int64 sorted, T >= 2; day: their units in a day -> (smallest spacing,
    largest spacing, number of stamps on a Saturday, i.e. with
    ``(stamps // day + 3) % 7 == 5``).

    Sorted, each day's stamps are a run, counted per Saturday of the span: by arithmetic
    when the spacing is regular (stamp i is ``stamps[0] + i * step``), else from the first
    stamp of the Saturday and of the Sunday (binary searches)."""
    n = stamps.shape[0]
    lo = hi = stamps[1] - stamps[0]
    for i in range(1, n):  # from 1, not 2: LLVM vectorizes this form
        gap = stamps[i] - stamps[i - 1]
        if gap < lo:
            lo = gap
        if gap > hi:
            hi = gap
    # in day numbers (d * day for stamps only between the first and the last stamp's days, so
    # nothing overflows at either end of int64's range)
    first = stamps[0] // day
    last = stamps[n - 1] // day
    regular = lo == hi and lo > 0  # stamps >= x from i = ceil((x - stamps[0]) / step)
    n_saturday = 0
    d = first + (2 - first) % 7  # day d is a Saturday when d % 7 == 2
    while d <= last:
        if d == first:
            begin = 0
        elif regular:
            begin = max(-((stamps[0] - d * day) // lo), 0)
        else:
            begin = np.searchsorted(stamps, d * day)
        if d == last:
            end = n
        elif regular:
            end = min(-((stamps[0] - (d + 1) * day) // lo), n)
        else:
            end = np.searchsorted(stamps, (d + 1) * day)
        n_saturday += end - begin
        d += 7
    return lo, hi, n_saturday


def _spacing_and_saturdays(index: pd.DatetimeIndex, caller: str) -> tuple[float, float]:
    """``(median spacing in seconds, share of the timestamps on a Saturday)`` of an index of
    at least 2 timestamps: ``float(np.median(d)) / 1e9`` with ``d`` the positive spacings of
    ``index.as_unit("ns").asi8``, and ``np.mean(index.day_of_week == 5)``, exactly.

    A sorted index takes one pass (:func:`_sorted_stamps_nb`: the spacings' range and the
    Saturdays; regular bars need no more); the integers stay in the index's own unit (no
    conversion pass: the order, the days and the median in nanoseconds come out the same).
    """
    stamps = index.asi8
    unit_ns = _NS_PER_UNIT[index.unit]
    day = _DAY_NS // unit_ns
    if index.is_monotonic_increasing:
        lo, hi, n_saturday = (int(x) for x in _sorted_stamps_nb(stamps, day))
        saturdays = n_saturday / stamps.size if _is_utc_or_naive(index) else None
    else:
        lo, hi, saturdays = -1, 0, None
    if lo == hi and lo > 0:  # regular bars: the median is the spacing
        delta_ns = float(lo * unit_ns)
    else:
        spacing = np.diff(stamps)
        if lo <= 0:
            spacing = spacing[spacing > 0]
        if spacing.size == 0:
            raise InvalidParameterError(message(
                "periods_per_year", caller, "given when all timestamps are equal", "None",
                "Pass periods_per_year explicitly."))
        delta_ns = _median_spacing(spacing, unit_ns)
    if saturdays is None:
        saturdays = float(np.mean(_day_of_week(index, stamps, day) == 5))
    return delta_ns / 1e9, saturdays


def _median_spacing(spacing: np.ndarray, unit_ns: int) -> float:
    """``float(np.median(spacing * unit_ns))`` of positive int64 spacings, exactly, without
    sorting them when a value found in a sample is the median: counting the spacings below
    and at it proves it (the median is then that value, the mean of one or two equal
    middle elements)."""
    n = spacing.size
    sample = spacing[:: max(1, n // 257)]
    candidate = int(np.partition(sample, sample.size // 2)[sample.size // 2])
    below = int(np.count_nonzero(spacing < candidate))
    at_most = int(np.count_nonzero(spacing <= candidate))
    # the middle element(s) of the sorted spacings: n // 2 (odd n), n // 2 - 1 and n // 2
    if below <= (n - 1) // 2 and n // 2 < at_most:
        return float(candidate * unit_ns)
    return float(np.median(spacing * unit_ns))


def infer_periods_per_year(index: Any, *, caller: str = "infer_periods_per_year") -> float:
    """Infer the number of bars per year from a DatetimeIndex.

    Parameters
    ----------
    index : DatetimeIndex, or a Series/DataFrame indexed by one
        Bar timestamps, sorted, at least 3 of them.
    caller : str, default "infer_periods_per_year"
        Function name used in error messages.

    Returns
    -------
    float
        Periods per year, from the rule in Notes.

    Raises
    ------
    InvalidParameterError
        The index is not a DatetimeIndex, has fewer than 3 timestamps, or its spacing fits no
        rule; the message says to pass ``periods_per_year`` explicitly.

    Notes
    -----
    Let Δ be the median spacing between consecutive timestamps, "weekend" mean that more
    than 2% of the bars fall on a Saturday (crypto trades then; equities and FX do not —
    FX opens on Sunday 22:00 UTC, so Sunday is not a usable test), in the index's own
    time zone.

    * Δ within [20 h, 1.5 d] (daily bars): 365 with weekend bars, else 252. Multi-day bars
      (2-4 days) fit no rule and raise, rather than being annualized as daily.
    * Δ of about a week (5–8 d) → 52, a month (26–33 d) → 12, a quarter (80–100 d) → 4,
      a year (350–380 d) → 1.
    * Δ < 20 h (intraday), with k = 86400 s / Δ bars in a full day:

      - weekend bars → 365 · k (hourly 24/7 crypto: 8760);
      - no weekend, but the median calendar day holds bars spanning ≥ 20 h
        (round-the-clock 24/5 markets such as FX) → 260 · k (hourly FX: 6240 = 24·5·52);
      - otherwise (a trading session) → 252 · m, m = median number of bars per day with
        data (US equities, 5-minute bars: 252 · 78 = 19656).
    * Anything else raises: pass ``periods_per_year``.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_periods_per_year(pd.bdate_range("2024-01-01", periods=30))
    252.0
    >>> infer_periods_per_year(pd.date_range("2024-01-01", periods=24 * 28, freq="h"))
    8760.0
    """
    if isinstance(index, pd.Series | pd.DataFrame):
        index = index.index
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidParameterError(message(
            "periods_per_year", caller, "given when the index is not a DatetimeIndex",
            f"None with a {type(index).__name__}",
            "Pass periods_per_year explicitly (252 daily equities, 365 daily crypto, "
            "8760 hourly crypto, 6240 hourly FX)."))
    if len(index) < 3:
        raise InvalidParameterError(message(
            "periods_per_year", caller, "given when there are fewer than 3 timestamps",
            f"None with {len(index)} timestamp(s)", "Pass periods_per_year explicitly."))
    delta, saturdays = _spacing_and_saturdays(index, caller)
    weekend = saturdays > 0.02
    days = delta / _DAY
    if 20 * 3600 <= delta <= 1.5 * _DAY:  # daily (weekend gaps don't move the median spacing)
        return 365.0 if weekend else 252.0
    for low, high, ppy, _label in _COARSE:
        if low <= days <= high:
            return ppy
    if delta < 20 * 3600:
        per_day = _DAY / delta
        if weekend:
            return float(365.0 * per_day)
        dates = index.normalize()
        codes, uniques = pd.factorize(dates)
        counts = np.bincount(codes)
        median_count = float(np.median(counts))
        if median_count * delta >= 20 * 3600:
            return float(260.0 * per_day)
        return float(252.0 * median_count)
    raise InvalidParameterError(message(
        "periods_per_year", caller, "given when the bar spacing fits no rule",
        f"None with a median spacing of {pd.Timedelta(seconds=delta)}",
        "Pass periods_per_year explicitly."))

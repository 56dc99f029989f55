"""The data quality gate: :func:`validate` finds defects, :func:`clean` repairs them by an
explicit policy, :func:`resample` aggregates bars without look-ahead.

Time stamps
-----------
Source bars are stamped at their **open** time (the bundled data and ccxt convention): a bar
stamped ``s`` of duration ``d`` holds prices from ``[s, s + d)`` and its close is known at
``s + d``. :func:`resample` stamps each output bar at its **close** time, so an output bar
labelled ``L`` contains only source bars with ``s + d <= L``: nothing in it happened after
its label, and an as-of join on the label never leaks the future.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import (
    OHLCV,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_ohlcv,
    message,
)
from quantlab.data.synthetic import CALENDARS, _grid, _nyse_holidays, _parse_freq
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["QualityReport", "validate", "clean", "resample", "CHECKS", "CLEAN_POLICIES",
           "SEVERITIES", "order_analysis", "OrderAnalysis"]

CHECKS: tuple[str, ...] = (
    "tz_naive", "non_numeric", "duplicate", "unsorted", "reordered_block", "nan", "inf",
    "non_positive", "negative_volume", "ohlc", "gap", "off_calendar", "stale", "zero_volume",
    "outlier",
)
#: Severity of each check. Errors make :attr:`QualityReport.ok` False; warnings are reported
#: and leave it True. ``gap`` is a warning on 24/7 data (venues pause) and an error on a
#: calendar with closed hours, where the calendar already excuses every closure.
SEVERITIES: dict[str, str] = {
    "tz_naive": "warning", "non_numeric": "error", "duplicate": "error", "unsorted": "error",
    "reordered_block": "error", "nan": "error", "inf": "error", "non_positive": "error",
    "negative_volume": "error", "ohlc": "error", "gap": "error", "off_calendar": "error",
    "stale": "warning", "zero_volume": "warning", "outlier": "warning",
}
_CHECK_TEXT = {
    "tz_naive": "naive timestamps (read as UTC)",
    "non_numeric": "values that are not numbers",
    "duplicate": "duplicate timestamps",
    "unsorted": "timestamps out of order",
    "reordered_block": "blocks of rows that reappear out of order",
    "nan": "missing values (NaN)",
    "inf": "infinite values",
    "non_positive": "prices <= 0",
    "negative_volume": "negative volume",
    "ohlc": "high/low not containing open/close",
    "gap": "missing bars on the calendar",
    "off_calendar": "bars outside the calendar",
    "stale": "runs of an unchanged close",
    "zero_volume": "runs of zero volume",
    "outlier": "outlier returns (robust z-score)",
}
CLEAN_POLICIES: tuple[str, ...] = ("drop", "ffill", "repair_ohlc")
_PRICES = ("open", "high", "low", "close")
_OHLC_RTOL = 1e-12  # split adjustment leaves 1-ulp violations (high = 1.0000000000000002 * close)
_ISSUE_COLUMNS = ("check", "time", "column", "value", "detail", "severity")


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class QualityReport:
    """What :func:`validate` found.

    Attributes
    ----------
    issues : DataFrame
        One row per finding, columns ``check`` (one of :data:`CHECKS`), ``time`` (UTC
        timestamp of the offending bar, or of the first bar of a run/gap), ``column``
        (the OHLCV column concerned, or None), ``value`` (the offending number, the run or
        gap length in bars, or NaN), ``detail`` (a sentence) and ``severity``
        (``"error"`` or ``"warning"``, see :data:`SEVERITIES`).
    ok : bool
        True when no issue is an error (warnings allowed).
    counts : dict of str to int
        Number of issues per check, every check listed (zeros included).
    rows : int
        Rows of the input.
    start, end : Timestamp or None
        First and last timestamp (UTC).
    freq : Timedelta or None
        Bar spacing used for the gap checks.
    calendar : str or None
        Trading calendar used for the gap checks.
    inferred : tuple of str
        Which of ``"freq"`` and ``"calendar"`` were inferred from the data.
    """

    issues: pd.DataFrame
    ok: bool
    counts: dict[str, int]
    rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    freq: pd.Timedelta | None
    calendar: str | None
    inferred: tuple[str, ...] = ()

    @property
    def errors(self) -> pd.DataFrame:
        """The rows of :attr:`issues` whose severity is ``"error"``."""
        return self.issues[self.issues["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        """The rows of :attr:`issues` whose severity is ``"warning"``."""
        return self.issues[self.issues["severity"] == "warning"]

    @property
    def n_errors(self) -> int:
        """Number of issues that are errors."""
        return int((self.issues["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        """Number of issues that are warnings."""
        return int((self.issues["severity"] == "warning").sum())

    def severity(self, check: str) -> str:
        """Return the severity of ``check`` in this report (``gap`` depends on the calendar)."""
        check_choice("check", check, CHECKS, caller="QualityReport.severity")
        return _severity(check, self.calendar, self.freq)

    def _verdict(self) -> str:
        if self.ok:
            return f"OK with {self.n_warnings} warning(s)" if self.n_warnings else "OK"
        return f"{self.n_errors} error(s), {self.n_warnings} warning(s)"

    def _header(self) -> str:
        span = f"{self.start} .. {self.end}" if self.start is not None else "empty"
        freq = "unknown" if self.freq is None else _show_freq(self.freq)
        tag_f = " (inferred)" if "freq" in self.inferred else ""
        tag_c = " (inferred)" if "calendar" in self.inferred else ""
        return (f"QualityReport: {self.rows} rows, {span}, freq {freq}{tag_f}, "
                f"calendar {self.calendar}{tag_c}: {self._verdict()}")

    def summary(self, max_rows: int = 10) -> str:
        """Return a plain-text summary: header, counts per check found, first errors and warnings."""
        lines = [self._header()]
        for check, count in self.counts.items():
            if count:
                kind = self.severity(check)
                lines.append(f"  {check:<16} {count:>7}  {kind:<7}  {_CHECK_TEXT[check]}")
        for title, table in (("First errors:", self.errors), ("Warnings:", self.warnings)):
            if table.empty:
                continue
            lines.append(title)
            for row in table.head(max_rows).itertuples(index=False):
                lines.append(f"  {row.time}  {row.check:<15} {row.detail}")
            if len(table) > max_rows:
                lines.append(f"  ... {len(table) - max_rows} more in report.issues")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self, max_rows: int = 20) -> str:
        head = f"<p><b>{html.escape(self._header())}</b></p>"
        if self.issues.empty:
            return head
        counts = "".join(
            f"<tr><td>{html.escape(c)}</td><td>{n}</td><td>{self.severity(c)}</td>"
            f"<td>{html.escape(_CHECK_TEXT[c])}</td></tr>"
            for c, n in self.counts.items() if n)
        table = ("<table><thead><tr><th>check</th><th>count</th><th>severity</th><th>meaning</th>"
                 "</tr></thead>"
                 f"<tbody>{counts}</tbody></table>")
        return head + table + self.issues.head(max_rows).to_html(index=False, escape=True)

    def raise_if_failed(self, *, ignore: Sequence[str] = (), strict: bool = False) -> None:
        """Raise DataError if any check not in ``ignore`` found an error (or, with
        ``strict``, any issue at all).

        Parameters
        ----------
        ignore : sequence of str, default ()
            Checks to tolerate (e.g. ``("gap",)`` for a venue closed on extra days).
        strict : bool, default False
            Fail on warnings too (outliers, stale runs, zero volume, gaps on 24/7 data).

        Raises
        ------
        DataError
            Listing the failing checks and their counts.
        InvalidParameterError
            An unknown check name in ``ignore``.
        """
        for name in ignore:
            check_choice("ignore", name, CHECKS, caller="raise_if_failed")
        strict = check_bool("strict", strict, caller="raise_if_failed")
        failing = {c: n for c, n in self.counts.items()
                   if n and c not in ignore and (strict or self.severity(c) == "error")}
        if failing:
            listed = ", ".join(f"{c}={n}" for c, n in failing.items())
            first = self.issues[self.issues["check"].isin(list(failing))].iloc[0]
            raise DataError(message(
                "data", "validate", "free of defects", listed,
                f"First: {first['check']} at {first['time']}: {first['detail']} "
                "Inspect report.issues; repair with quantlab.data.clean(df, policy=...)."))


def _show_freq(freq: pd.Timedelta) -> str:
    day = pd.Timedelta("1D")
    if freq >= day and freq % day == pd.Timedelta(0):
        return f"{freq // day}d"
    try:
        text = pd.tseries.frequencies.to_offset(freq).freqstr
    except ValueError:
        return str(freq)
    return text if text[0].isdigit() else "1" + text


# --------------------------------------------------------------------------------------
# raw frames
# --------------------------------------------------------------------------------------

def _raw(df: Any, caller: str, *, strict: bool) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Return (float OHLCV frame with a UTC index in input order, issues found on the way)."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(message("df", caller, "a pandas DataFrame of OHLCV bars", type(df).__name__))
    names = [str(c) for c in df.columns]
    missing = [c for c in OHLCV if c not in df.columns]
    if missing:
        hints = []
        for col in missing:
            same = [n for n in names if n.strip().lower() == col]
            near = difflib.get_close_matches(col, names, n=1, cutoff=0.6)
            if same:
                hints.append(f"found {same[0]!r} for {col!r}")
            elif near:
                hints.append(f"column {near[0]!r} looks like {col!r}")
        remedy = ("; ".join(hints) + ". " if hints else f"Columns present: {names}. ") + \
            "Rename them, e.g. df.rename(columns=str.lower), or use quantlab.data.normalize(df)."
        raise DataError(message("df", caller, f"a DataFrame with columns {list(OHLCV)}",
                                f"missing {missing}", remedy[0].upper() + remedy[1:]))
    dup_cols = [c for c in OHLCV if list(df.columns).count(c) > 1]
    if dup_cols:
        raise DataError(message("df", caller, "a DataFrame with one column per OHLCV field",
                                f"repeated column(s) {dup_cols}", "Drop the extra copies."))
    index = df.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(message("df", caller, "indexed by a DatetimeIndex", type(index).__name__,
                                "Set one with df.set_index(pd.to_datetime(df['time'], utc=True))."))
    issues: list[dict[str, Any]] = []
    if index.tz is None:
        issues.append(_issue("tz_naive", pd.NaT, None, np.nan,
                             "timestamps are naive; read as UTC. Localize with df.tz_localize(...)."))
        index = index.tz_localize("UTC")
    index = index.tz_convert("UTC").as_unit("ns").rename("time")
    out = pd.DataFrame(index=index)
    for col in OHLCV:
        series = df[col]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_complex_dtype(series.dtype):
            out[col] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        if strict:
            raise DataError(message(f"df['{col}']", caller, "numeric", f"dtype {series.dtype}",
                                    "Convert with pd.to_numeric(df[col], errors='coerce'), then "
                                    "inspect with validate() and clean()."))
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(series.notna().to_numpy() & coerced.isna().to_numpy())
        for pos in bad:
            issues.append(_issue("non_numeric", index[pos], col, np.nan,
                                 f"{col} is {series.iloc[pos]!r}, not a number"))
        out[col] = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    return out, issues


def _issue(check: str, time: Any, column: str | None, value: float, detail: str) -> dict[str, Any]:
    return {"check": check, "time": time, "column": column, "value": float(value), "detail": detail}


def _severity(check: str, calendar: str | None, freq: pd.Timedelta | None) -> str:
    if check == "gap":
        effective = "24/7" if freq is not None and freq > pd.Timedelta("1D") else calendar
        return "warning" if effective == "24/7" else "error"
    return SEVERITIES[check]


@dataclass(frozen=True)
class OrderAnalysis:
    """How a sequence of timestamps is ordered (see :func:`order_analysis`).

    Attributes
    ----------
    order : str
        ``"ascending"`` (sorted, ties allowed), ``"descending"`` (newest first, every step
        back in time or equal) or ``"mixed"``.
    newest_first : bool
        Most steps go back in time: the rows are read in reverse before looking for
        misplaced rows.
    misplaced : ndarray of bool
        Rows (input positions) out of place in the time-ordered reading, the smaller of
        the two sets whose removal leaves the rest sorted: rows stamped before an earlier
        row, or rows stamped after a later row.
    blocks : list of (int, int)
        Runs of >= 2 consecutive misplaced rows as (lowest, highest) input positions,
        in input order: blocks of timestamps that reappear out of order.
    """

    order: str
    newest_first: bool
    misplaced: np.ndarray
    blocks: list[tuple[int, int]]


def order_analysis(stamps: np.ndarray) -> OrderAnalysis:
    """Describe the order of ``stamps`` (int64 nanoseconds, in input order).

    A file read newest first is taken in reverse; then the rows out of place are the
    smaller of two sets, each of whose removal leaves the others strictly increasing: the
    rows stamped before some earlier row (not a new running maximum) and the rows stamped
    after some later row (above the running minimum from the end). One block moved
    elsewhere is exactly one of these sets. Consecutive misplaced rows form blocks.
    """
    t = np.asarray(stamps, dtype=np.int64)
    n = len(t)
    none = np.zeros(n, dtype=bool)
    if n < 2:
        return OrderAnalysis("ascending", False, none, [])
    step = np.diff(t)
    if (step >= 0).all():
        return OrderAnalysis("ascending", False, none, [])
    if (step <= 0).all():
        return OrderAnalysis("descending", True, none, [])
    newest_first = int((step < 0).sum()) > int((step > 0).sum())
    seq = t[::-1] if newest_first else t
    before = np.r_[False, seq[1:] < np.maximum.accumulate(seq)[:-1]]
    after = np.r_[seq[:-1] > np.minimum.accumulate(seq[::-1])[::-1][1:], False]
    mask = before if before.sum() <= after.sum() else after
    starts, lengths = _runs(mask)
    blocks = [(int(s), int(s + k - 1)) for s, k in zip(starts, lengths) if k >= 2]
    if newest_first:  # back to input positions
        mask = mask[::-1]
        blocks = [(n - 1 - b, n - 1 - a) for a, b in blocks][::-1]
    return OrderAnalysis("mixed", newest_first, mask, blocks)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and lengths of the runs of True in a boolean array."""
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, stops = edges[::2], edges[1::2]
    return starts, stops - starts


def _infer_calendar(index: pd.DatetimeIndex) -> str:
    days = index.day_of_week
    if (days == 5).any():
        return "24/7"
    if (days == 6).any():
        return "fx"
    # weekday-only data: NYSE (equity) unless it trades on most NYSE holidays (fx daily)
    dates = index.tz_localize(None).normalize()
    holidays = _nyse_holidays(dates[0], dates[-1])
    holidays = holidays[holidays.day_of_week < 5]
    if len(holidays) and dates.isin(holidays).sum() > len(holidays) / 2:
        return "fx"
    return "equity"


# --------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------

def validate(
    df: Any,
    *,
    freq: str | pd.Timedelta | None = None,
    calendar: str | None = None,
    stale_run: int = 5,
    outlier_sigma: float = 10.0,
) -> QualityReport:
    """Check OHLCV bars for defects and report them, without changing anything.

    Raw frames are accepted: every defect listed below is reported, not raised.

    Parameters
    ----------
    df : DataFrame
        Bars with columns ``open high low close volume`` (other columns ignored) and a
        DatetimeIndex of bar open times.
    freq : str or Timedelta, optional
        Expected bar spacing; default: the median spacing of the sorted unique timestamps.
    calendar : {"24/7", "equity", "fx"}, optional
        Expected trading calendar (see :func:`quantlab.data.synthetic.calendar_index`);
        closed hours, weekends and NYSE holidays are never gaps. Default: inferred from
        the weekdays present: any Saturday bar -> "24/7", else any Sunday bar -> "fx",
        else "fx" if the data trades on most NYSE holidays in its span, else "equity". The report shows what was used and whether it was inferred.
    stale_run : int, default 5
        Minimum length (bars) of a run of identical closes, or of zero volumes, to report.
    outlier_sigma : float, default 10.0
        Threshold on the robust z-score of log returns.

    Returns
    -------
    QualityReport

    Raises
    ------
    DataError
        Not a DataFrame, missing OHLCV columns (with a case / did-you-mean hint), or an
        index that is not a DatetimeIndex.
    InvalidParameterError
        Bad ``freq``, ``calendar``, ``stale_run`` or ``outlier_sigma``.

    Notes
    -----
    Checks (the ``check`` column of ``issues``):

    * ``tz_naive`` one row if the index has no time zone (then read as UTC);
      ``non_numeric`` cells that are not numbers (e.g. strings);
    * ``duplicate`` one row per repeated timestamp (value = number of rows);
      ``unsorted`` each row stamped before its predecessor;
    * ``nan``, ``inf`` per cell; ``non_positive`` prices <= 0; ``negative_volume``;
    * ``ohlc``: ``high < max(open, close)`` (column high) or ``low > min(open, close)``
      (column low), with a relative tolerance of 1e-12; ``high < low`` implies one of them;
    * ``gap``: a run of calendar bars missing (time = first missing bar, value = count);
      ``off_calendar``: bars at times the calendar has none (if most bars are off the
      grid, a single row says so and gaps are not checked). The calendar grid is
      anchored at the first bar (24/7), at 09:30 New York (equity intraday), at Sunday
      17:00 New York (fx intraday) or at the first bar's time of day (daily bars).
      Spacing above one day is checked on a plain regular grid;
    * ``stale``: >= ``stale_run`` consecutive identical closes (time = first bar of the
      run, value = length); ``zero_volume``: >= ``stale_run`` consecutive zero volumes;
    * ``outlier``: ``|r_t - median(r)| / (1.4826 MAD(r)) > outlier_sigma`` on close log
      returns (time = the bar whose close jumped; if MAD is 0 the scale falls back to
      1.2533 x the mean absolute deviation).

    Time-based checks (gap, off_calendar, stale, zero_volume, outlier) run on the rows
    sorted by time, duplicates resolved to the last row, bad values dropped.

    Examples
    --------
    >>> from quantlab.data import load
    >>> report = validate(load("msft", start="2010-01-01", end="2010-12-31"))
    >>> report.ok, report.calendar
    (True, 'equity')
    """
    caller = "validate"
    stale_run = check_int("stale_run", stale_run, caller=caller, minimum=2)
    outlier_sigma = check_float("outlier_sigma", outlier_sigma, caller=caller, minimum=0.0,
                                exclusive_minimum=True)
    if calendar is not None:
        calendar = check_choice("calendar", calendar, CALENDARS, caller=caller)
    step = None if freq is None else _parse_freq(freq, caller=caller)
    frame, issues = _raw(df, caller, strict=False)
    index = frame.index
    values = frame.to_numpy()
    inferred: list[str] = []

    # structure
    dup = index.duplicated(keep=False)
    if dup.any():
        counts = index[dup].value_counts(sort=False)
        for ts, count in counts.items():
            issues.append(_issue("duplicate", ts, None, count, f"{count} rows stamped {ts}"))
    issues.extend(_order_issues(index))

    # values
    not_numbers = {(i["time"], i["column"]) for i in issues if i["check"] == "non_numeric"}
    for j, col in enumerate(OHLCV):
        v = values[:, j]
        for pos in np.flatnonzero(np.isnan(v)):
            if (index[pos], col) not in not_numbers:
                issues.append(_issue("nan", index[pos], col, np.nan, f"{col} is NaN"))
        for pos in np.flatnonzero(np.isinf(v)):
            issues.append(_issue("inf", index[pos], col, v[pos], f"{col} is {v[pos]}"))
        if col == "volume":
            for pos in np.flatnonzero(np.isfinite(v) & (v < 0)):
                issues.append(_issue("negative_volume", index[pos], col, v[pos], f"volume is {v[pos]:g}"))
        else:
            for pos in np.flatnonzero(np.isfinite(v) & (v <= 0)):
                issues.append(_issue("non_positive", index[pos], col, v[pos], f"{col} is {v[pos]:g}"))
    o, h, lo, c = (values[:, j] for j in range(4))
    good = np.isfinite(values[:, :4]).all(axis=1) & (values[:, :4] > 0).all(axis=1)
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    with np.errstate(invalid="ignore"):
        high_bad = good & (h < top * (1.0 - _OHLC_RTOL))
        low_bad = good & (lo > bottom * (1.0 + _OHLC_RTOL))
    for pos in np.flatnonzero(high_bad):
        issues.append(_issue("ohlc", index[pos], "high", h[pos],
                             f"high {h[pos]:.10g} < max(open, close) {top[pos]:.10g}"))
    for pos in np.flatnonzero(low_bad):
        issues.append(_issue("ohlc", index[pos], "low", lo[pos],
                             f"low {lo[pos]:.10g} > min(open, close) {bottom[pos]:.10g}"))

    # time series view: sorted, last of duplicates
    order = np.argsort(index.asi8, kind="stable")
    view = frame.iloc[order]
    view = view[~view.index.duplicated(keep="last")]
    stamps = view.index
    if len(stamps) >= 2:
        if step is None:
            step = pd.Timedelta(int(np.median(np.diff(stamps.asi8))), unit="ns")
            inferred.append("freq")
        if calendar is None:
            calendar = _infer_calendar(stamps)
            inferred.append("calendar")
        issues.extend(_calendar_issues(stamps, step, calendar))

    closes = view["close"].to_numpy()
    ok_close = np.isfinite(closes) & (closes > 0)
    c_times = stamps[ok_close]
    cv = closes[ok_close]
    if len(cv) >= stale_run:
        starts, lengths = _runs(np.r_[False, cv[1:] == cv[:-1]])
        for s, length in zip(starts, lengths):
            run = length + 1  # k equal steps = k + 1 equal closes
            if run >= stale_run:
                first = s - 1
                issues.append(_issue("stale", c_times[first], "close", run,
                                     f"close {cv[first]:.10g} unchanged for {run} bars "
                                     f"({c_times[first]} .. {c_times[first + run - 1]})"))
    vol = view["volume"].to_numpy()
    ok_vol = np.isfinite(vol)
    v_times = stamps[ok_vol]
    starts, lengths = _runs(vol[ok_vol] == 0)
    for s, length in zip(starts, lengths):
        if length >= stale_run:
            issues.append(_issue("zero_volume", v_times[s], "volume", length,
                                 f"volume 0 for {length} bars ({v_times[s]} .. {v_times[s + length - 1]})"))
    if len(cv) >= 3:
        r = np.diff(np.log(cv))
        centre = np.median(r)
        dev = np.abs(r - centre)
        scale = 1.4826 * np.median(dev)
        if scale == 0:
            scale = 1.2533 * dev.mean()
        if scale > 0:
            z = dev / scale
            for k in np.flatnonzero(z > outlier_sigma):
                issues.append(_issue("outlier", c_times[k + 1], "close", r[k],
                                     f"log return {r[k]:.4g} is {z[k]:.1f} robust sigmas from the "
                                     f"median {centre:.3g}"))

    for item in issues:
        item["severity"] = _severity(item["check"], calendar, step)
    table = pd.DataFrame(issues, columns=list(_ISSUE_COLUMNS))
    table["time"] = pd.to_datetime(table["time"], utc=True).dt.as_unit("ns")
    table["value"] = table["value"].astype(np.float64)
    table["column"] = table["column"].astype(object)
    table["severity"] = table["severity"].astype(object)
    rank = table["check"].map({c: i for i, c in enumerate(CHECKS)})
    table = (table.assign(_rank=rank).sort_values(["time", "_rank"], kind="stable", na_position="first")
             .drop(columns="_rank").reset_index(drop=True))
    counts = {c: int((table["check"] == c).sum()) for c in CHECKS}
    return QualityReport(
        issues=table, ok=bool((table["severity"] != "error").all()), counts=counts, rows=len(frame),
        start=stamps[0] if len(stamps) else None, end=stamps[-1] if len(stamps) else None,
        freq=step, calendar=calendar, inferred=tuple(inferred),
    )


def _order_issues(index: pd.DatetimeIndex) -> list[dict[str, Any]]:
    """``unsorted`` and ``reordered_block`` issues of ``index`` read in input order."""
    stamps = index.asi8
    n = len(stamps)
    if n < 2 or (np.diff(stamps) >= 0).all():
        return []
    found = order_analysis(stamps)
    issues = []
    if found.newest_first:
        issues.append(_issue("unsorted", index[0], None, np.nan,
                             f"the rows run newest first ({index[0]} .. {index[-1]}); sort them "
                             "(read_csv(..., sort=True) / --sort, or df.sort_index())"))
    if found.order == "descending":
        return issues
    reading = np.arange(n)[::-1] if found.newest_first else np.arange(n)
    seq = stamps[reading]
    in_block = np.zeros(n, dtype=bool)
    for first, last in found.blocks:
        lo, hi = sorted((first, last))
        in_block[lo:hi + 1] = True
        size = hi - lo + 1
        block = index[lo:hi + 1]
        prev_pos = hi + 1 if found.newest_first else lo - 1  # the row read just before it
        where = (f"after {index[prev_pos]} (row {prev_pos})" if 0 <= prev_pos < n
                 else "at the start")
        issues.append(_issue("reordered_block", block.min(), None, size,
                             f"{size} rows stamped {block.min()} .. {block.max()} appear out of "
                             f"order, {where}, rows {lo}..{hi} of the input"))
    # single rows stamped before their predecessor in reading order, outside any block
    back = np.flatnonzero(seq[1:] < seq[:-1]) + 1
    for k in back:
        pos, prev = int(reading[k]), int(reading[k - 1])
        if in_block[pos] or in_block[prev]:  # a block's edges are the block's issue
            continue
        issues.append(_issue("unsorted", index[pos], None, np.nan,
                             f"row {pos} stamped {index[pos]} follows {index[prev]}"))
    return issues


def _calendar_issues(stamps: pd.DatetimeIndex, step: pd.Timedelta, calendar: str) -> list[dict[str, Any]]:
    effective = "24/7" if step > pd.Timedelta("1D") else calendar
    grid = _grid(effective, step, stamps[0], stamps[-1], anchor=stamps[0])
    off = stamps.difference(grid)
    if len(off) > len(stamps) // 2:
        return [_issue("off_calendar", off[0], None, len(off),
                       f"{len(off)} of {len(stamps)} bars are not on the {calendar!r} calendar at "
                       f"{_show_freq(step)}; pass the right freq= and calendar= (gaps not checked)")]
    issues = [_issue("off_calendar", ts, None, np.nan,
                     f"bar at {ts} is outside the {calendar!r} calendar at {_show_freq(step)}")
              for ts in off]
    missing = grid.difference(stamps)
    if len(missing):
        pos = grid.get_indexer(missing)
        starts, lengths = _runs_of_consecutive(pos)
        for s, length in zip(starts, lengths):
            a, b = grid[pos[s]], grid[pos[s] + length - 1]
            issues.append(_issue("gap", a, None, length,
                                 f"{length} bar(s) missing: {a} .. {b}"))
    return issues


def _runs_of_consecutive(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    breaks = np.flatnonzero(np.diff(pos) != 1) + 1
    starts = np.r_[0, breaks]
    stops = np.r_[breaks, len(pos)]
    return starts, stops - starts


# --------------------------------------------------------------------------------------
# clean
# --------------------------------------------------------------------------------------

def clean(df: Any, *, policy: str | Sequence[str]) -> pd.DataFrame:
    """Repair OHLCV bars by an explicit policy and return normalized OHLCV.

    The input is never modified.

    Parameters
    ----------
    df : DataFrame
        Bars with columns ``open high low close volume`` (numeric; other columns are
        dropped) and a DatetimeIndex (naive timestamps are read as UTC, like
        :func:`quantlab.data.normalize`).
    policy : str or sequence of str
        One step or several applied in order:

        * ``"drop"``: keep the last row of each duplicated timestamp, sort by time, drop
          rows with a NaN/inf value, a price <= 0 or a negative volume. Fixes nothing else.
        * ``"ffill"``: keep the last of duplicates, sort; a row with any bad price becomes a
          flat bar at the last good close (open = high = low = close) with volume 0; a bad
          volume alone becomes 0; bad rows before the first good close are dropped.
        * ``"repair_ohlc"``: on rows with finite prices, raise high to ``max(open, high,
          close)`` and lower low to ``min(open, low, close)``.

    Returns
    -------
    DataFrame
        Normalized OHLCV.

    Raises
    ------
    InvalidParameterError
        Unknown or empty policy (with a did-you-mean).
    DataError
        Malformed input (see :func:`validate`), non-numeric columns, or defects the policy
        does not repair (e.g. ``policy="repair_ohlc"`` on a frame with NaN prices).

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-02"], utc=True)
    >>> raw = pd.DataFrame({"open": [1.0, 1.0, 2.0], "high": [1.0, 1.0, 2.5], "low": [1.0, 1.0, 1.5],
    ...                     "close": [1.0, 1.0, 2.0], "volume": [1.0, 1.0, 3.0]}, index=idx)
    >>> clean(raw, policy="drop")["close"].tolist()
    [1.0, 2.0]
    """
    caller = "clean"
    steps = _policy_steps(policy, caller)
    frame, _ = _raw(df, caller, strict=True)
    for step in steps:
        frame = _STEPS[step](frame)
    try:
        check_ohlcv(frame, caller=caller, name="df")
    except DataError as exc:
        raise DataError(f"{exc} The policy {list(steps)} left this defect; add 'drop' or 'ffill' "
                        "to it.") from exc
    return frame


def _policy_steps(policy: Any, caller: str) -> tuple[str, ...]:
    steps = (policy,) if isinstance(policy, str) else policy
    try:
        steps = tuple(steps)
    except TypeError as exc:
        raise InvalidParameterError(message("policy", caller, "a step name or a sequence of them",
                                            policy)) from exc
    if not steps:
        raise InvalidParameterError(message("policy", caller, "a non-empty sequence of steps",
                                            policy, "E.g. policy=['drop', 'repair_ohlc']."))
    for step in steps:
        check_choice("policy", step, CLEAN_POLICIES, caller=caller)
    return steps


def _structural(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[~frame.index.duplicated(keep="last")]
    return frame.sort_index(kind="stable")


def _bad_prices(frame: pd.DataFrame) -> np.ndarray:
    prices = frame[list(_PRICES)].to_numpy()
    return ~(np.isfinite(prices) & (prices > 0)).all(axis=1)


def _bad_volume(frame: pd.DataFrame) -> np.ndarray:
    vol = frame["volume"].to_numpy()
    return ~(np.isfinite(vol) & (vol >= 0))


def _step_drop(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _structural(frame)
    return frame[~(_bad_prices(frame) | _bad_volume(frame))].copy()


def _step_ffill(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _structural(frame).copy()
    bad = _bad_prices(frame)
    last_good = frame["close"].where(~bad).ffill().to_numpy()
    keep = ~(bad & np.isnan(last_good))
    for col in _PRICES:
        frame[col] = np.where(bad, last_good, frame[col].to_numpy())
    vol = frame["volume"].to_numpy()
    frame["volume"] = np.where(bad | _bad_volume(frame), 0.0, vol)
    return frame[keep]


def _step_repair_ohlc(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    o, h, lo, c = (frame[col].to_numpy() for col in _PRICES)
    finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
    frame["high"] = np.where(finite, np.maximum(h, np.maximum(o, c)), h)
    frame["low"] = np.where(finite, np.minimum(lo, np.minimum(o, c)), lo)
    return frame


_STEPS = {"drop": _step_drop, "ffill": _step_ffill, "repair_ohlc": _step_repair_ohlc}


# --------------------------------------------------------------------------------------
# resample
# --------------------------------------------------------------------------------------

def resample(
    df: pd.DataFrame,
    rule: str | pd.Timedelta,
    *,
    source_freq: str | pd.Timedelta | None = None,
    offset: str | pd.Timedelta | None = None,
    drop_partial: bool = True,
) -> pd.DataFrame:
    """Aggregate bars into longer bars stamped at their **close** time (no look-ahead).

    Parameters
    ----------
    df : DataFrame
        Normalized OHLCV whose index holds bar **open** times (the quantlab convention).
    rule : str or Timedelta
        Output bar duration, a fixed duration that is a multiple of the source duration
        ("4h", "1d", "15min").
    source_freq : str or Timedelta, optional
        Duration of a source bar; default: the median spacing of ``df``.
    offset : str or Timedelta, optional
        Shift of the bucket boundaries from the Unix epoch (e.g. ``"22h"`` for FX days
        closing at 22:00 UTC); default 0, so daily buckets close at 00:00 UTC. Buckets
        are counted from the epoch (a Thursday): use ``offset="4d"`` for weeks starting
        Monday 00:00 UTC.
    drop_partial : bool, default True
        Drop the last bucket when the data ends before the bucket does (the bar is still
        forming and must not be used).

    Returns
    -------
    DataFrame
        Normalized OHLCV: open = first open, high = max, low = min, close = last close,
        volume = sum. An output bar stamped ``L`` aggregates exactly the source bars whose
        open time ``s`` satisfies ``L - rule <= s`` and ``s + source_freq <= L``; it is
        complete, and known, at ``L``. Buckets without source bars (weekends, gaps) are
        absent. **Note** the output stamps are close times while source stamps are open
        times; ``out.index - rule`` gives the bucket open times (whose values are only
        known ``rule`` later).

    Raises
    ------
    DataError
        ``df`` is not normalized OHLCV (e.g. naive timestamps), has fewer than 2 rows and no
        ``source_freq``, or has source bars that straddle a bucket boundary (stamps not
        aligned with ``rule`` and ``offset``).
    InvalidParameterError
        ``rule`` is not a fixed duration or not a multiple of the source duration.

    Notes
    -----
    Equals ``pandas`` ``df.set_axis(df.index + source_freq).resample(rule, closed="right",
    label="right", origin="epoch", offset=offset).agg(...)`` with empty buckets dropped:
    shifting stamps to bar close times and closing buckets on the right is what makes a
    label an upper bound of the data it summarizes.

    Examples
    --------
    >>> from quantlab.data import load
    >>> daily = resample(load("eurusd", end="2017-01-04"), "1d")
    >>> daily.index[0]  # the Sunday-evening bars, complete at Monday 00:00 UTC
    Timestamp('2017-01-02 00:00:00+0000', tz='UTC')
    """
    caller = "resample"
    check_ohlcv(df, caller=caller, name="df")
    step = _parse_freq(rule, caller=caller, name="rule")
    drop_partial = check_bool("drop_partial", drop_partial, caller=caller)
    if source_freq is not None:
        source = _parse_freq(source_freq, caller=caller, name="source_freq")
    elif len(df) >= 2:
        source = pd.Timedelta(int(np.median(np.diff(df.index.asi8))), unit="ns")
    else:
        raise DataError(message("df", caller, "at least 2 rows to infer the bar duration",
                                f"{len(df)} row(s)", "Pass source_freq= explicitly."))
    shift = pd.Timedelta(0) if offset is None else _parse_offset(offset, caller)
    if step.value % source.value != 0:
        raise InvalidParameterError(message(
            "rule", caller, f"a multiple of the source bar duration {_show_freq(source)}",
            rule, "Bars cannot be split; pick e.g. "
            f"{_show_freq(source * max(1, step // source))} or pass source_freq=."))
    stamps = df.index.as_unit("ns").asi8
    width = step.value
    bucket = np.floor_divide(stamps - shift.value, width)
    ends = (bucket + 1) * width + shift.value
    cross = np.flatnonzero(stamps + source.value > ends)
    if len(cross):
        pos = int(cross[0])
        raise DataError(message(
            "df", caller, f"bars that fit inside the {_show_freq(step)} buckets",
            f"a {_show_freq(source)} bar opening at {df.index[pos]} that ends after its bucket "
            f"closes at {pd.Timestamp(int(ends[pos]), tz='UTC')}",
            "Align the buckets with the source stamps via offset= (e.g. offset='30min'), "
            "or check source_freq."))
    empty = pd.DataFrame({c: np.empty(0) for c in OHLCV},
                         index=pd.DatetimeIndex([], tz="UTC", name="time").as_unit("ns"))
    if len(stamps) == 0:
        return empty
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    lasts = np.r_[starts[1:], len(stamps)] - 1
    o, h, lo, c, v = (df[col].to_numpy(dtype=np.float64) for col in OHLCV)
    out = pd.DataFrame(
        {"open": o[starts], "high": np.maximum.reduceat(h, starts),
         "low": np.minimum.reduceat(lo, starts), "close": c[lasts],
         "volume": np.add.reduceat(v, starts)},
        index=pd.DatetimeIndex(ends[starts].view("M8[ns]")).tz_localize("UTC").rename("time"),
    )
    if drop_partial and stamps[-1] + source.value < ends[-1]:
        out = out.iloc[:-1]
    return out


def _parse_offset(offset: Any, caller: str) -> pd.Timedelta:
    if isinstance(offset, pd.Timedelta):
        return offset
    if isinstance(offset, str):
        text = offset.strip()
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-").strip()
        if text in ("", "0"):
            return pd.Timedelta(0)
        return sign * _parse_freq(text, caller=caller, name="offset")
    raise InvalidParameterError(message("offset", caller, "a duration such as '22h' or '-2h'", offset))

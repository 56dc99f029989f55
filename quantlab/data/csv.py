"""Reading CSV exports of bars: banner lines, 12-hour timestamps, newest-first rows, several
volume columns, each handled by an explicit option that the error names when it is missing.

Every reading option has a Python name and a command-line flag (``quantlab data
import-csv``, ``quantlab data validate``, ``quantlab backtest``, ``quantlab sweep``):

=================  ========================  ==============================================
Python             command line              what it does
=================  ========================  ==============================================
``skiprows=1``     ``--skiprows 1``          skip lines before the header (a banner line)
``date_format=``   ``--date-format FMT``     strptime format of the time column
``tz=``            ``--tz ZONE``             zone of naive timestamps (default UTC)
``unit=``          ``--unit s|ms|us|ns``     unit of epoch-number timestamps
``columns={}``     ``--map 'FROM=TO'``       name a column ``time open high low close volume``
``sort=True``      ``--sort``                sort the rows by time (reported, never silent)
=================  ========================  ==============================================
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import OHLCV, check_bool, check_int, did_you_mean, message
from quantlab.data._frame import ALIASES, normalize
from quantlab.data.quality import order_analysis
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["read_csv", "read_raw_csv", "CsvInfo", "CSV_OPTIONS", "TARGETS"]

#: Columns a mapping may name.
TARGETS: tuple[str, ...] = ("time", *OHLCV)
#: The reading options (keys of ``csv_options`` in :func:`quantlab.data.open_data`).
CSV_OPTIONS: tuple[str, ...] = ("skiprows", "date_format", "tz", "unit", "columns", "sort", "sep",
                                "decimal", "thousands", "encoding")
_UNITS = ("s", "ms", "us", "ns")
#: strptime formats tried on dates pandas cannot read, to suggest a ``date_format``.
_FORMATS = (
    "%Y-%m-%d %I-%p", "%Y-%m-%d %I %p", "%Y-%m-%d %I:%M %p", "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %H-%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%Y.%m.%d %H:%M", "%d-%m-%Y %H:%M",
    "%Y%m%d %H:%M:%S", "%Y%m%d %H%M%S", "%Y%m%d %H%M", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y",
    "%Y%m%d",
)


def _opt(python: str, cli: str) -> str:
    """Both spellings of an option: ``skiprows=1 / --skiprows 1``."""
    return f"{python} / {cli}"


_UNIT_MS = "unit='ms'"
_DATE_EXAMPLE = _opt("date_format='%Y-%m-%d %I-%p'", "--date-format '%Y-%m-%d %I-%p'")


def _map_opt(source: str, target: str) -> str:
    return _opt(f"columns={{{source!r}: {target!r}}}", f"--map '{source}={target}'")


@dataclass(frozen=True)
class CsvInfo:
    """How a CSV file was read (:func:`read_raw_csv`; also ``read_csv(...).attrs["quantlab"]``).

    Attributes
    ----------
    path : str
        The file.
    rows : int
        Rows read.
    order : str
        Order of the rows in the file: ``"ascending"``, ``"descending"`` (newest first)
        or ``"mixed"``.
    sorted : bool
        Whether ``sort=True`` was given (the rows are then in time order).
    moved : int
        Rows whose position sorting changed (0 without ``sort``).
    blocks : int
        Blocks of >= 2 rows out of place besides a reversal (see
        :func:`quantlab.data.quality.order_analysis`).
    note : str
        One sentence on the sorting, empty when ``sort`` was not asked.
    """

    path: str
    rows: int
    order: str
    sorted: bool
    moved: int
    blocks: int
    note: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict."""
        return asdict(self)


def _check_options(skiprows: Any, date_format: Any, tz: Any, unit: Any, columns: Any, sort: Any,
                   caller: str) -> tuple[int | None, str | None, str, str | None, dict[str, str], bool]:
    if skiprows is not None:
        skiprows = check_int("skiprows", skiprows, caller=caller, minimum=0)
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise InvalidParameterError(message("date_format", caller, "a strptime format such as "
                                            "'%Y-%m-%d %I-%p'", date_format))
    if not isinstance(tz, str):
        raise InvalidParameterError(message("tz", caller, "a time zone name such as 'UTC'", tz))
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception as exc:  # noqa: BLE001 - pytz/zoneinfo raise several types
        raise InvalidParameterError(message("tz", caller, "a time zone name such as 'UTC' or "
                                            "'America/New_York'", tz)) from exc
    if unit is not None and unit not in _UNITS:
        raise InvalidParameterError(message("unit", caller, "one of 's', 'ms', 'us', 'ns'", unit,
                                            did_you_mean(unit, _UNITS)))
    if columns is None:
        columns = {}
    if not isinstance(columns, Mapping):
        raise InvalidParameterError(message("columns", caller, "a mapping {column of the file: "
                                            "'time'|'open'|'high'|'low'|'close'|'volume'}", columns))
    mapping: dict[str, str] = {}
    for source, target in columns.items():
        key = str(target).strip().lower() if isinstance(target, str) else target
        if key not in TARGETS:
            raise InvalidParameterError(message(
                "columns", caller, "a mapping to " + ", ".join(repr(t) for t in TARGETS),
                f"{source!r}: {target!r}", did_you_mean(target, TARGETS)))
        mapping[str(source)] = key
    for target in set(mapping.values()):
        sources = [s for s, t in mapping.items() if t == target]
        if len(sources) > 1:
            raise InvalidParameterError(message(
                "columns", caller, "a mapping with one column per target",
                f"both {sources[0]!r} and {sources[1]!r} mapped to {target!r}", "Map only one."))
    return skiprows, date_format, tz, unit, mapping, check_bool("sort", sort, caller=caller)


def _head(path: Path, n: int = 40) -> list[str]:
    lines: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            lines.append(line.rstrip("\r\n"))
            if len(lines) >= n:
                break
    return lines


def _header_line(lines: list[str], sep: str) -> int | None:
    """Index of the first line that looks like an OHLCV header (has a close column)."""
    for i, line in enumerate(lines):
        fields = [f.strip().strip('"').lower() for f in line.split(sep)]
        if len(fields) >= 2 and any(f == "close" or f.startswith("close") or f == "c" for f in fields):
            return i
    return None


def _banner_hint(path: Path, lines: list[str], skip: int, sep: str) -> str | None:
    header = _header_line(lines, sep)
    if header is None or header <= skip:
        return None
    shown = lines[skip] if skip < len(lines) else ""
    first = "line 1 is" if skip == 0 and header == 1 else f"lines {skip + 1}..{header} are"
    return (f"{path.name}: {first} not the header ({shown!r} comes before the header "
            f"{lines[header]!r} on line {header + 1}). Skip {'it' if header - skip == 1 else 'them'} "
            f"with {_opt(f'skiprows={header}', f'--skiprows {header}')}.")


def _parse_error(path: Path, lines: list[str], skip: int, sep: str, exc: Exception,
                 caller: str) -> DataError:
    banner = _banner_hint(path, lines, skip, sep)
    if banner:
        return DataError(f"{caller}() cannot read {banner}")
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        expected, line, saw = found.groups()
        return DataError(
            f"{caller}() cannot read {path.name}: line {line} has {saw} fields where the header "
            f"has {expected}. If lines before the header are not data, skip them with "
            f"{_opt('skiprows=N', '--skiprows N')}; check the delimiter (sep=) and the quoting.")
    return DataError(f"{caller}() cannot read {path.name} as CSV (the lines do not split into "
                     "the same columns). Check the delimiter (sep=), the quoting and lines "
                     f"before the header ({_opt('skiprows=N', '--skiprows N')}).")


def _choose_columns(raw: pd.DataFrame, mapping: dict[str, str], path: Path, lines: list[str],
                    skip: int, sep: str, caller: str) -> dict[str, str]:
    """Return {target: source column} for time and OHLCV, or raise naming ``--map``."""
    names = [str(c) for c in raw.columns]
    if not any("close" in n.lower() or n.strip().lower() == "c" for n in names) and \
            "close" not in mapping.values():
        banner = _banner_hint(path, lines, skip, sep)  # pandas read the banner as the header
        if banner:
            raise DataError(f"{caller}() cannot read {banner}")
    for source in mapping:
        if source not in names:
            raise InvalidParameterError(message(
                "columns", caller, "a mapping from columns of the file (" +
                ", ".join(repr(n) for n in names) + ")", source, did_you_mean(source, names)))
    explicit = set(mapping.values())
    chosen: dict[str, list[str]] = {}
    for name in names:
        if name in mapping:
            target = mapping[name]
        else:
            key = ALIASES.get(name.strip().lower(), name.strip().lower())
            if key not in TARGETS or key in explicit:
                continue
            target = key
        chosen.setdefault(target, []).append(name)
    for target, sources in chosen.items():
        if len(sources) > 1:
            raise DataError(
                f"{caller}() cannot read {path.name}: columns {sources[0]!r} and {sources[1]!r} "
                f"both read as {target!r}. Choose one with {_map_opt(sources[0], target)}.")
    missing = [t for t in TARGETS if t not in chosen]
    if missing:
        banner = _banner_hint(path, lines, skip, sep)
        if banner:
            raise DataError(f"{caller}() cannot read {banner}")
        target = missing[0]
        like = [n for n in names if n not in mapping and target[:3] in n.lower()]
        if target == "time":
            like = [n for n in names if n not in mapping and
                    any(k in n.lower() for k in ("time", "date"))]
        listed = ", ".join(repr(n) for n in names)
        if len(like) >= 2:
            remedy = (f"{len(like)} columns could be {target!r}: " + ", ".join(repr(n) for n in like)
                      + f". Choose one with {_map_opt(like[0], target)}.")
        elif like:
            remedy = f"{like[0]!r} looks like it: map it with {_map_opt(like[0], target)}."
        else:
            remedy = f"Name the column that holds it with {_map_opt('<column>', target)}."
        raise DataError(f"{caller}() cannot read {path.name}: no {target!r} column among "
                        f"{listed} (missing {missing}). {remedy}")
    return {t: chosen[t][0] for t in TARGETS}


def _guess_format(values: pd.Series) -> str | None:
    sample = values.head(500)
    for fmt in _FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if not parsed.isna().any():
            return fmt
    return None


def _parse_times(column: pd.Series, name: str, *, date_format: str | None, unit: str | None,
                 tz: str, path: Path, skip: int, caller: str) -> pd.DatetimeIndex:
    def line_of(pos: int) -> int:
        return skip + 2 + pos  # header line, 1-based

    if pd.api.types.is_numeric_dtype(column.dtype):
        if unit is None:
            raise DataError(message(
                name, caller, "dates, or epoch numbers with `unit`",
                f"numbers such as {column.iloc[0]!r}",
                f"Pass {_opt(_UNIT_MS, '--unit ms')} (or 's', 'us', 'ns') "
                "for epoch timestamps, or map a column of dates to 'time'."))
        try:
            times = pd.to_datetime(column, unit=unit, utc=True)
        except (ValueError, OverflowError) as exc:
            raise DataError(message(name, caller, f"epoch numbers in {unit!r}",
                                    f"{column.iloc[0]!r}", "Check `unit` / --unit.")) from exc
        return pd.DatetimeIndex(times)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' "could not infer format" is replaced by ours
        try:
            times = pd.to_datetime(column, format=date_format)
            bad = times.isna().to_numpy() & column.notna().to_numpy()
        except (ValueError, TypeError, OverflowError):
            try:
                times = pd.to_datetime(column, format=date_format, utc=True)  # mixed offsets
                bad = times.isna().to_numpy() & column.notna().to_numpy()
            except (ValueError, TypeError, OverflowError):
                coerced = pd.to_datetime(column, format=date_format, errors="coerce", utc=True)
                bad = coerced.isna().to_numpy() & column.notna().to_numpy()
                if not bad.any():  # only the strict call failed: blame the first value
                    bad = np.zeros(len(column), dtype=bool)
                    bad[0] = True
                times = None
        if column.isna().any():
            pos = int(np.flatnonzero(column.isna().to_numpy())[0])
            raise DataError(f"{caller}() cannot read {path.name}: the time column {name!r} is "
                            f"empty on line {line_of(pos)}. Remove that row from the file.")
        if times is None or bad.any():
            pos = int(np.flatnonzero(bad)[0])
            value = column.iloc[pos]
            guess = _guess_format(column.dropna().astype(str))
            fix = (f" Try {_opt(f'date_format={guess!r}', f'--date-format {guess!r}')}."
                   if guess and guess != date_format else
                   f" Pass its strptime format with {_DATE_EXAMPLE} for '2017-07-01 11-AM'.")
            if date_format is not None:
                raise DataError(f"{caller}() cannot read {path.name}: {value!r} in column {name!r} "
                                f"(line {line_of(pos)}) does not match `date_format` "
                                f"{date_format!r}.{fix}")
            raise DataError(f"{caller}() cannot read the dates of {path.name}: {value!r} in column "
                            f"{name!r} (line {line_of(pos)}) is not a date pandas recognizes."
                            f"{fix}")
    index = pd.DatetimeIndex(times)
    if index.tz is None:
        try:
            index = index.tz_localize(tz, ambiguous="raise", nonexistent="raise")
        except Exception as exc:  # noqa: BLE001 - pytz/zoneinfo DST errors
            raise DataError(f"{caller}() cannot place the naive times of {path.name} in {tz!r}: "
                            f"a time does not exist or is ambiguous there (a DST change). Pass "
                            f"the file's real zone with {_opt('tz=...', '--tz ...')} (UTC files: "
                            "tz='UTC').") from exc
    return index


def read_raw_csv(
    path: str | os.PathLike[str],
    *,
    skiprows: int | None = None,
    date_format: str | None = None,
    tz: str = "UTC",
    unit: str | None = None,
    columns: Mapping[str, str] | None = None,
    sort: bool = False,
    caller: str = "read_raw_csv",
    **read_csv_kwargs: Any,
) -> tuple[pd.DataFrame, CsvInfo]:
    """Read a CSV of bars into OHLCV columns and a UTC index, without normalizing values.

    Rows keep the file's order unless ``sort``; bad values (text, NaN, duplicates) are kept
    so that :func:`quantlab.data.validate` can report them. Takes the options of
    :func:`read_csv`.

    Returns
    -------
    (DataFrame, CsvInfo)
        Columns ``open high low close volume`` as parsed, a UTC ``DatetimeIndex`` named
        ``time``; and how the file was read.
    """
    skiprows, date_format, tz, unit, mapping, sort = _check_options(
        skiprows, date_format, tz, unit, columns, sort, caller)
    path = Path(path)
    if not path.is_file():
        raise DataError(message("path", caller, "an existing CSV file", str(path)))
    skip = skiprows or 0
    sep = read_csv_kwargs.get("sep", read_csv_kwargs.get("delimiter", ","))
    sep = sep if isinstance(sep, str) else ","
    lines = _head(path, skip + 40)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = pd.read_csv(path, skiprows=skiprows, **read_csv_kwargs)
    except TypeError as exc:
        raise InvalidParameterError(f"{caller}() got an option pandas.read_csv does not take "
                                    f"({exc}).") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{caller}() cannot read {path.name}: no lines left"
                        + (f" after skipping {skip}." if skip else " (the file is empty).")) from exc
    except pd.errors.ParserError as exc:
        raise _parse_error(path, lines, skip, sep, exc, caller) from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{caller}() cannot read {path.name}: it is not UTF-8 text. Pass its "
                        "encoding, e.g. encoding='latin-1'.") from exc
    except ValueError as exc:
        raise DataError(f"{caller}() cannot read {path.name} with these options "
                        f"({type(exc).__name__}: {exc}).") from exc
    chosen = _choose_columns(raw, mapping, path, lines, skip, sep, caller)
    index = _parse_times(raw[chosen["time"]], chosen["time"], date_format=date_format, unit=unit,
                         tz=tz, path=path, skip=skip, caller=caller)
    index = index.tz_convert("UTC").as_unit("ns").rename("time")
    frame = pd.DataFrame({c: raw[chosen[c]].to_numpy() for c in OHLCV}, index=index)
    found = order_analysis(index.asi8)
    moved, note = 0, ""
    if sort:
        perm = np.argsort(index.asi8, kind="stable")
        moved = int((perm != np.arange(len(perm))).sum())
        frame = frame.iloc[perm]
        note = _sort_note(len(frame), moved, found, index)
    info = CsvInfo(path=str(path), rows=len(frame), order=found.order, sorted=sort, moved=moved,
                   blocks=len(found.blocks), note=note)
    return frame, info


def _sort_note(rows: int, moved: int, found: Any, index: pd.DatetimeIndex) -> str:
    if moved == 0:
        return f"sort: the {rows} rows were already in order"
    text = f"sorted {rows} rows by time ({moved} moved)"
    if found.newest_first:
        text += ": the file lists them newest first"
    elif not found.blocks:
        text += f": {int(found.misplaced.sum())} were out of order"
    for lo, hi in found.blocks:
        block = index[lo:hi + 1]
        text += (f"; besides, {hi - lo + 1} rows stamped {block.min()} .. {block.max()} (rows "
                 f"{lo}..{hi} of the file) were out of place: a block that reappears out of "
                 "order, check the file with quantlab data validate")
    return text


def read_csv(
    path: str | os.PathLike[str],
    *,
    skiprows: int | None = None,
    date_format: str | None = None,
    tz: str = "UTC",
    unit: str | None = None,
    columns: Mapping[str, str] | None = None,
    sort: bool = False,
    caller: str = "read_csv",
    **read_csv_kwargs: Any,
) -> pd.DataFrame:
    """Read a CSV of bars (an exchange export, say) as normalized OHLCV.

    Parameters
    ----------
    path : str or PathLike
        CSV file with a time column (``time``, ``date``, ``datetime`` or ``timestamp``, any
        case, or one named in ``columns``) and ``open high low close volume`` columns
        (any case, or ``o h l c v``). Other columns are ignored.
    skiprows : int, optional
        Lines to skip before the header (a banner line such as
        ``https://www.CryptoDataDownload.com``: ``skiprows=1``).
    date_format : str, optional
        strptime format of the time column, e.g. ``"%Y-%m-%d %I-%p"`` for
        ``2017-07-01 11-AM``. Default: pandas' inference (ISO 8601 and the like).
    tz : str, default "UTC"
        Time zone of naive timestamps in the file.
    unit : {"s", "ms", "us", "ns"}, optional
        Unit of integer epoch timestamps (``1704067200000`` is ms). Required when the time
        column holds numbers, so they are never silently read as nanoseconds.
    columns : mapping, optional
        ``{column of the file: "time" | "open" | "high" | "low" | "close" | "volume"}``;
        e.g. ``{"Volume BTC": "volume"}`` when an export has base and quote volumes. An
        explicit mapping wins over the automatic names.
    sort : bool, default False
        Sort the rows by time (stable). Without it, rows out of order are refused. What the
        sort did is in ``.attrs["quantlab"]["note"]``.
    caller : str, default "read_csv"
        Function named in error messages.
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv` (``sep``, ``decimal``, ``thousands``,
        ``encoding``...).

    Returns
    -------
    DataFrame
        Normalized OHLCV (see :func:`quantlab.data.normalize`); ``.attrs["quantlab"]``
        holds :class:`CsvInfo` as a dict plus ``source``.

    Raises
    ------
    DataError
        A file that cannot be read as given; the message names the option that fixes it
        (``skiprows`` for a banner, ``date_format`` with the offending value, ``sort``
        for newest-first rows, ``columns`` for two volume columns), or bars that are not
        valid OHLCV (duplicate timestamps, text, prices <= 0).
    InvalidParameterError
        A bad option (with a did-you-mean for a mapped column that is not in the file).

    Examples
    --------
    A CryptoDataDownload export (banner line, 12-hour times, newest first)::

        read_csv("Gemini_BTCUSD_1h.csv", skiprows=1, date_format="%Y-%m-%d %I-%p",
                 columns={"Volume BTC": "volume"}, sort=True)
    """
    frame, info = read_raw_csv(path, skiprows=skiprows, date_format=date_format, tz=tz, unit=unit,
                               columns=columns, sort=sort, caller=caller, **read_csv_kwargs)
    name = Path(info.path).name
    stamps = frame.index.asi8
    if not sort and len(stamps) > 1 and not (np.diff(stamps) >= 0).all():
        found = order_analysis(stamps)
        if found.newest_first:
            raise DataError(f"{caller}() read {name} newest first ({frame.index[0]} .. "
                            f"{frame.index[-1]}); pass {_opt('sort=True', '--sort')} to sort the "
                            "rows by time.")
        pos = int(np.flatnonzero(np.diff(stamps) < 0)[0]) + 1
        raise DataError(f"{caller}() read {name} with rows out of time order (row {pos} stamped "
                        f"{frame.index[pos]} follows {frame.index[pos - 1]}); pass "
                        f"{_opt('sort=True', '--sort')} to sort them, and check the file with "
                        "quantlab data validate (a block of rows may reappear out of order).")
    dup = frame.index.duplicated(keep=False)
    if dup.any():
        stamps_dup = frame.index[dup].unique()
        raise DataError(f"{caller}() read {name} with {len(stamps_dup)} duplicate timestamp(s) "
                        f"(first {stamps_dup[0]}). quantlab data validate {name} shows them; "
                        "remove them from the file, or read it with read_raw_csv() and repair it "
                        "with quantlab.data.clean(df, policy='drop') (keeps the last row).")
    for col in OHLCV:
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values.dtype):
            coerced = pd.to_numeric(values, errors="coerce")
            bad = np.flatnonzero(coerced.isna().to_numpy() & values.notna().to_numpy())
            if len(bad):
                row = int(bad[0])
                raise DataError(f"{caller}() read {name}: column {col!r} holds "
                                f"{values.iloc[row]!r} at {frame.index[row]}, not a number. "
                                "Check the decimal= and thousands= separators, or fix the row.")
            frame[col] = coerced
    out = normalize(frame, caller=caller)
    out.attrs["quantlab"] = {"source": f"csv {info.path}", "name": Path(info.path).stem,
                             **info.to_dict()}
    return out

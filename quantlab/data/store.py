"""A local bar store: Parquet files partitioned by symbol and timeframe, queried with DuckDB.

Layout on disk (one folder per dataset, one file per folder)::

    <root>/
      symbol=BTC_USDT/
        timeframe=1h/
          data.parquet        # the bars, sorted by time, unique timestamps
          .lock               # advisory lock taken by writers (POSIX)
          .data.parquet.<pid>.<hex>.tmp   # only while a write is in flight (or after a crash)

The folder name is the symbol with every character outside ``[A-Za-z0-9._-]`` replaced by
``_`` (``"BTC/USDT"`` -> ``BTC_USDT``, ``"BTC/USDT:USDT"`` -> ``BTC_USDT_USDT``); a month
timeframe ``"1M"`` is written ``1mo`` so that it cannot collide with ``1m`` on a
case-insensitive file system. The exact symbol and timeframe are kept in the Parquet file's
key-value metadata (key ``quantlab``), so two symbols that sanitize to the same folder are
detected and refused instead of being mixed.

``data.parquet`` holds the columns ``time`` (timestamp[ns, UTC]) and ``open high low close
volume`` (float64), written by pyarrow: any Parquet reader (pandas, polars, DuckDB, Spark)
can read it directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from quantlab._validate import OHLCV, check_ohlcv, check_timestamp, did_you_mean, message
from quantlab.data._frame import select_range
from quantlab.errors import DataError, InvalidParameterError

try:  # advisory locking between writer processes (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Store", "import_csv", "ImportResult"]

_DATA = "data.parquet"
_META_KEY = b"quantlab"
_FORMAT_VERSION = 1
_TIMEFRAME = re.compile(r"^[1-9][0-9]*(s|m|h|d|w|M|y)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def check_timeframe(timeframe: Any, *, caller: str) -> str:
    """Return ``timeframe`` if it is a ccxt-style timeframe (``"1m"``, ``"4h"``, ``"1d"``, ...)."""
    if not isinstance(timeframe, str) or not _TIMEFRAME.match(timeframe):
        raise InvalidParameterError(message(
            "timeframe", caller, "a timeframe such as '1m', '15m', '1h', '4h', '1d', '1w' or '1M'",
            timeframe))
    return timeframe


def check_symbol(symbol: Any, *, caller: str) -> str:
    """Return ``symbol`` if it is a non-empty string usable as a folder name once sanitized."""
    if not isinstance(symbol, str) or not symbol.strip() or len(symbol) > 200:
        raise InvalidParameterError(message(
            "symbol", caller, "a non-empty string of at most 200 characters such as 'BTC/USDT'",
            symbol))
    if _sanitize(symbol).startswith("."):
        raise InvalidParameterError(message("symbol", caller, "a name not starting with '.'",
                                            symbol))
    return symbol


def _sanitize(symbol: str) -> str:
    return _UNSAFE.sub("_", symbol)


def _timeframe_dir(timeframe: str) -> str:
    return timeframe[:-1] + "mo" if timeframe.endswith("M") else timeframe


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Store:
    """A folder of OHLCV bars: Parquet files per (symbol, timeframe), DuckDB for SQL.

    Parameters
    ----------
    root : str or PathLike
        Folder holding the store; created on the first write if missing.

    Notes
    -----
    Layout: ``<root>/symbol=<sanitized>/timeframe=<tf>/data.parquet`` (see the module
    docstring). Writes are atomic: the merged frame goes to a temporary file in the same
    folder, which is flushed and ``fsync``-ed, then moved over ``data.parquet`` with
    ``os.replace`` (and the folder is ``fsync``-ed). A process killed at any moment leaves
    either the previous or the new complete file; readers never see a partial one.
    Concurrent writers to the same dataset are serialized with an advisory ``fcntl`` lock
    (POSIX). A write rewrites the whole file, so its cost grows with the dataset.

    Examples
    --------
    >>> import tempfile, quantlab.data as qd
    >>> store = Store(tempfile.mkdtemp())
    >>> store.write(qd.load("aapl", end="2000-03-31"), "AAPL", "1d")
    23
    >>> store.read("AAPL", "1d").shape
    (23, 5)
    >>> store.query("SELECT symbol, count(*) AS n FROM bars GROUP BY symbol")["n"].tolist()
    [23]
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not isinstance(root, str | os.PathLike):
            raise InvalidParameterError(message("root", "Store", "a folder path", root))
        self.root = Path(root).expanduser()
        if self.root.exists() and not self.root.is_dir():
            raise InvalidParameterError(message("root", "Store", "a folder path", str(root),
                                                "It exists and is not a folder."))

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def check_exists(self, *, caller: str = "Store") -> None:
        """Raise DataError when the store's folder does not exist (nothing can be read).

        Writing creates the folder; reading from, or listing, a folder that is not there
        is almost always a mistyped path.
        """
        if not self.root.is_dir():
            raise DataError(f"{caller}: the store folder {str(self.root)!r} does not exist. "
                            "Check the path; a store is created by the first "
                            "quantlab.data.download() or import_csv() into it.")

    # ------------------------------------------------------------------ paths
    def path(self, symbol: str, timeframe: str) -> Path:
        """Return the Parquet file that holds (or would hold) ``symbol`` at ``timeframe``."""
        check_symbol(symbol, caller="Store.path")
        check_timeframe(timeframe, caller="Store.path")
        return self._dir(symbol, timeframe) / _DATA

    def _dir(self, symbol: str, timeframe: str) -> Path:
        return (self.root / f"symbol={_sanitize(symbol)}"
                / f"timeframe={_timeframe_dir(timeframe)}")

    def _files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(self.root.glob(f"symbol=*/timeframe=*/{_DATA}"))

    @staticmethod
    def _meta(path: Path) -> dict[str, Any]:
        meta = pq.read_schema(path).metadata or {}
        raw = meta.get(_META_KEY)
        if raw is None:
            raise DataError(f"{path} has no quantlab metadata; it was not written by Store.write(). "
                            "Move it out of the store folder.")
        return json.loads(raw)

    def _datasets(self) -> list[tuple[str, str, Path]]:
        out = []
        for path in self._files():
            meta = self._meta(path)
            out.append((meta["symbol"], meta["timeframe"], path))
        return out

    def _locate(self, symbol: str, timeframe: str, caller: str) -> Path:
        check_symbol(symbol, caller=caller)
        check_timeframe(timeframe, caller=caller)
        self.check_exists(caller=caller)
        path = self._dir(symbol, timeframe) / _DATA
        if path.exists():
            meta = self._meta(path)
            if meta["timeframe"] == timeframe and symbol in (meta["symbol"],
                                                             _sanitize(meta["symbol"])):
                return path
        stored = self._datasets()
        if any(s == symbol for s, _, _ in stored):
            frames = [t for s, t, _ in stored if s == symbol]
            raise DataError(message("timeframe", caller,
                                    f"a stored timeframe of {symbol!r}: {', '.join(frames)}",
                                    timeframe, did_you_mean(timeframe, frames)))
        names = sorted({s for s, _, _ in stored})
        hint = did_you_mean(symbol, names)
        listed = ", ".join(repr(n) for n in names[:20]) if names else "none (the store is empty)"
        raise DataError(message("symbol", caller, f"a symbol held by {self!r}: {listed}", symbol,
                                hint or "Download it with quantlab.data.download() or "
                                "import it with quantlab.data.import_csv()."))

    # ------------------------------------------------------------------ write
    def write(self, df: pd.DataFrame, symbol: str, timeframe: str) -> int:
        """Merge ``df`` into the stored bars of ``symbol`` at ``timeframe``, atomically.

        Parameters
        ----------
        df : DataFrame
            Normalized OHLCV (see :func:`quantlab.data.normalize`). Only the columns
            ``open high low close volume`` are stored; the index frequency is not.
        symbol : str
            Market symbol, e.g. ``"BTC/USDT"``.
        timeframe : str
            Bar length, ccxt style: ``"1m"``, ``"1h"``, ``"1d"``, ``"1w"``, ``"1M"``...

        Returns
        -------
        int
            The number of timestamps that were not stored before.

        Raises
        ------
        DataError
            ``df`` is not normalized OHLCV, or the folder already holds a different symbol
            that sanitizes to the same name.
        InvalidParameterError
            Bad ``symbol`` or ``timeframe``.

        Notes
        -----
        Rows are deduplicated on the timestamp: where ``df`` and the stored bars share a
        timestamp, **the new row wins** (a re-download corrects a previously stored bar).
        The result is sorted by time. The write goes to a temporary file in the same folder,
        ``fsync``-ed, then ``os.replace``-d over ``data.parquet``.
        """
        caller = "Store.write"
        check_symbol(symbol, caller=caller)
        check_timeframe(timeframe, caller=caller)
        check_ohlcv(df, caller=caller, name="df")
        new = pd.DataFrame(
            {c: df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in OHLCV},
            index=df.index.tz_convert("UTC").as_unit("ns").rename("time"),
        )
        if new.empty:
            return 0
        folder = self._dir(symbol, timeframe)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _DATA
        with self._lock(folder):
            self._remove_stale_temps(folder)
            if path.exists():
                meta = self._meta(path)
                if meta["symbol"] != symbol or meta["timeframe"] != timeframe:
                    raise DataError(
                        f"Cannot store {symbol!r} {timeframe!r} in {folder}: that folder holds "
                        f"{meta['symbol']!r} {meta['timeframe']!r} (both names map to the same "
                        "folder). Use another store root or rename one of the symbols.")
                old = self._read_file(path)
                added = int((~new.index.isin(old.index)).sum())
                merged = pd.concat([old.loc[~old.index.isin(new.index)], new])
                merged = merged.sort_index(kind="stable")
            else:
                added = len(new)
                merged = new
            self._atomic_write(merged, path, symbol, timeframe)
        return added

    @contextlib.contextmanager
    def _lock(self, folder: Path) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @staticmethod
    def _remove_stale_temps(folder: Path) -> None:
        # called under the lock: any temp file left is from a writer that died mid-write
        if fcntl is None:  # pragma: no cover - no lock, a live writer's temp may exist
            return
        for tmp in folder.glob(f".{_DATA}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    @staticmethod
    def _atomic_write(frame: pd.DataFrame, path: Path, symbol: str, timeframe: str) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=True)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps({"symbol": symbol, "timeframe": timeframe,
                                      "version": _FORMAT_VERSION}).encode()
        table = table.replace_schema_metadata(meta)
        tmp = path.with_name(f".{_DATA}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as handle:
                pq.write_table(table, handle, compression="zstd")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
            fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # ------------------------------------------------------------------ read
    @staticmethod
    def _read_file(path: Path) -> pd.DataFrame:
        table = pq.read_table(path, columns=["time", *OHLCV])
        times = table.column("time").to_numpy()
        index = pd.DatetimeIndex(times).tz_localize("UTC").as_unit("ns").rename("time")
        data = {c: table.column(c).to_numpy().astype(np.float64, copy=False) for c in OHLCV}
        return pd.DataFrame(data, index=index)

    def read(
        self,
        symbol: str,
        timeframe: str,
        *,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Read the stored bars of ``symbol`` at ``timeframe`` as normalized OHLCV.

        Parameters
        ----------
        symbol, timeframe : str
            As given to :meth:`write` (the sanitized folder name is accepted too).
        start, end : str or Timestamp, optional
            Inclusive bounds on the bar open time; naive values are read as UTC.

        Returns
        -------
        DataFrame
            Columns ``open high low close volume`` (float64), UTC ``DatetimeIndex`` named
            ``time`` (ns), sorted and unique.

        Raises
        ------
        DataError
            The store folder does not exist; nothing is stored for ``symbol``/``timeframe``
            (with a did-you-mean among the stored ones); no bar in ``[start, end]`` (the
            message names the bound and the stored range).
        InvalidParameterError
            ``start`` after ``end``, or a bound that is not a date.
        """
        caller = "Store.read"
        check_timestamp("start", start, caller=caller, allow_none=True)
        check_timestamp("end", end, caller=caller, allow_none=True)
        frame = self._read_file(self._locate(symbol, timeframe, caller))
        return select_range(frame, start, end, caller=caller, label=f"{symbol} {timeframe}")

    def last_timestamp(self, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """Return the open time of the last stored bar, or None when nothing is stored.

        Useful to resume a download: the next bar to fetch opens one timeframe later.
        """
        bounds = self._bounds(symbol, timeframe, "Store.last_timestamp")
        return None if bounds is None else bounds[1]

    def first_timestamp(self, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """Return the open time of the first stored bar, or None when nothing is stored."""
        bounds = self._bounds(symbol, timeframe, "Store.first_timestamp")
        return None if bounds is None else bounds[0]

    def _bounds(self, symbol: str, timeframe: str,
                caller: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        check_symbol(symbol, caller=caller)
        check_timeframe(timeframe, caller=caller)
        path = self._dir(symbol, timeframe) / _DATA
        if not path.exists():
            return None
        meta = self._meta(path)
        if meta["symbol"] != symbol or meta["timeframe"] != timeframe:
            return None
        times = pq.read_table(path, columns=["time"]).column("time").to_numpy()
        if len(times) == 0:
            return None
        return (pd.Timestamp(times[0]).tz_localize("UTC"),
                pd.Timestamp(times[-1]).tz_localize("UTC"))

    def symbols(self) -> pd.DataFrame:
        """List the stored datasets.

        Returns
        -------
        DataFrame
            One row per (symbol, timeframe), sorted, with columns ``symbol``, ``timeframe``,
            ``first`` and ``last`` (open times, UTC) and ``rows``.
        """
        rows = []
        for symbol, timeframe, path in self._datasets():
            times = pq.read_table(path, columns=["time"]).column("time").to_numpy()
            rows.append({"symbol": symbol, "timeframe": timeframe,
                         "first": pd.Timestamp(times[0]).tz_localize("UTC") if len(times) else pd.NaT,
                         "last": pd.Timestamp(times[-1]).tz_localize("UTC") if len(times) else pd.NaT,
                         "rows": len(times)})
        out = pd.DataFrame(rows, columns=["symbol", "timeframe", "first", "last", "rows"])
        for col in ("first", "last"):
            out[col] = pd.to_datetime(out[col], utc=True).dt.as_unit("ns")
        out["rows"] = out["rows"].astype(np.int64)
        return out.sort_values(["symbol", "timeframe"], ignore_index=True)

    # ------------------------------------------------------------------ SQL
    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run DuckDB SQL over the stored bars and return a DataFrame.

        Parameters
        ----------
        sql : str
            A DuckDB query. The view ``bars`` has one row per stored bar of every dataset,
            with columns ``symbol`` (the exact symbol, e.g. ``'BTC/USDT'``), ``timeframe``,
            ``time`` (TIMESTAMPTZ, UTC), ``open``, ``high``, ``low``, ``close``, ``volume``.
            A filter on ``symbol``/``timeframe`` skips the other files entirely.
        params : list or dict, optional
            Values for ``?`` or ``$name`` placeholders (prefer them to string formatting).

        Returns
        -------
        DataFrame
            The result, ``time`` columns as ``datetime64[us, UTC]``.

        Raises
        ------
        DataError
            The SQL failed (syntax, unknown column...), with DuckDB's message.

        Examples
        --------
        ``store.query("SELECT time, close FROM bars WHERE symbol = ? AND timeframe = '1h'
        ORDER BY time", ["BTC/USDT"])``
        """
        if not isinstance(sql, str) or not sql.strip():
            raise InvalidParameterError(message("sql", "Store.query", "a non-empty SQL string", sql))
        import duckdb

        con = duckdb.connect(":memory:")
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("CREATE VIEW bars AS " + self._bars_sql())
            try:
                relation = con.sql(sql, params=params)
                table = relation.to_arrow_table() if relation is not None else None
            except duckdb.Error as exc:
                raise DataError(f"Store.query() failed: {exc}. The view `bars` has columns "
                                "symbol, timeframe, time, open, high, low, close, volume.") from exc
        finally:
            con.close()
        return table.to_pandas() if table is not None else pd.DataFrame()

    def _bars_sql(self) -> str:
        parts = []
        for symbol, timeframe, path in self._datasets():
            parts.append(
                f"SELECT {_sql_string(symbol)} AS symbol, {_sql_string(timeframe)} AS timeframe, "
                "CAST(time AS TIMESTAMPTZ) AS time, open, high, low, close, volume "
                f"FROM read_parquet({_sql_string(str(path))})")
        if not parts:
            return ("SELECT NULL::VARCHAR AS symbol, NULL::VARCHAR AS timeframe, "
                    "NULL::TIMESTAMPTZ AS time, NULL::DOUBLE AS open, NULL::DOUBLE AS high, "
                    "NULL::DOUBLE AS low, NULL::DOUBLE AS close, NULL::DOUBLE AS volume WHERE false")
        return " UNION ALL ".join(parts)


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_csv` did.

    Attributes
    ----------
    symbol, timeframe : str
        Where the bars went.
    added : int
        Timestamps that were not stored before.
    rows : int
        Rows read from the file.
    first, last : Timestamp
        First and last bar of the file (UTC).
    sorted : bool
        Whether ``sort=True`` was given.
    moved : int
        Rows whose position the sort changed.
    note : str
        The sort's sentence (empty without ``sort``).
    """

    symbol: str
    timeframe: str
    added: int
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    sorted: bool
    moved: int
    note: str

    def __str__(self) -> str:
        text = (f"{self.symbol} {self.timeframe}: {self.added} new bars of {self.rows} read "
                f"({self.first} .. {self.last})")
        return text + (f"; {self.note}" if self.note else "")


def import_csv(
    path: str | os.PathLike[str],
    symbol: str,
    timeframe: str,
    *,
    store: Store,
    skiprows: int | None = None,
    date_format: str | None = None,
    tz: str = "UTC",
    unit: str | None = None,
    columns: Mapping[str, str] | None = None,
    sort: bool = False,
    **read_csv_kwargs: Any,
) -> ImportResult:
    """Read a CSV of bars (see :func:`quantlab.data.read_csv`) and merge it into ``store``.

    Parameters
    ----------
    path : str or PathLike
        CSV file with a time column (``time``, ``date``, ``datetime`` or ``timestamp``, any
        case) and ``open high low close volume`` columns (any case, or ``o h l c v``).
    symbol, timeframe : str
        Where to store the bars (see :meth:`Store.write`).
    store : Store
        Destination.
    skiprows, date_format, tz, unit, columns, sort
        Reading options of :func:`quantlab.data.read_csv`: lines before the header, the
        strptime format of the dates (``"%Y-%m-%d %I-%p"``), the zone of naive times
        (default UTC), the unit of epoch numbers, a column mapping
        (``{"Volume BTC": "volume"}``) and an explicit, reported sort by time.
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv` (``sep``, ``decimal``...).

    Returns
    -------
    ImportResult
        ``added`` (new timestamps stored), ``rows`` read, and whether/how the rows were
        sorted; ``str()`` of it is the one-line summary the command prints.

    Raises
    ------
    DataError
        Missing file, a file that cannot be read as given (the message names the option
        that fixes it), invalid bars (see :func:`quantlab.data.normalize`).
    InvalidParameterError
        A bad option, ``store`` not a Store.

    Examples
    --------
    A CryptoDataDownload export::

        import_csv("Gemini_BTCUSD_1h.csv", "BTC/USD", "1h", store=Store("data/store"),
                   skiprows=1, date_format="%Y-%m-%d %I-%p",
                   columns={"Volume BTC": "volume"}, sort=True)
    """
    from quantlab.data.csv import read_csv

    caller = "import_csv"
    if not isinstance(store, Store):
        raise InvalidParameterError(message("store", caller, "a quantlab.data.Store",
                                            type(store).__name__))
    check_symbol(symbol, caller=caller)
    check_timeframe(timeframe, caller=caller)
    frame = read_csv(path, skiprows=skiprows, date_format=date_format, tz=tz, unit=unit,
                     columns=columns, sort=sort, caller=caller, **read_csv_kwargs)
    info = frame.attrs.get("quantlab", {})
    added = store.write(frame, symbol, timeframe)
    return ImportResult(symbol=symbol, timeframe=timeframe, added=added, rows=len(frame),
                        first=frame.index[0] if len(frame) else pd.NaT,
                        last=frame.index[-1] if len(frame) else pd.NaT,
                        sorted=bool(info.get("sorted", False)), moved=int(info.get("moved", 0)),
                        note=str(info.get("note", "")))

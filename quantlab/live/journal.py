"""The journal: SQLite in WAL mode, append-only, with a schema version.

Every table is append-only (triggers refuse ``UPDATE`` and ``DELETE``): the runner's state at
any time is derived from the rows, never overwritten. One write is one transaction
(:meth:`Journal.transaction`); each bumps a transaction counter that is also written, after
the commit, to a small ``<journal>.head`` file beside it. Opening a journal whose newest
transaction is older than its head means rows are missing: the file was copied without its
``-wal`` file (the runner disables automatic checkpoints, so until a clean stop the newest
rows live only in the WAL), and the journal is refused instead of starting as if flat.

Tables: ``meta`` (schema version, mode, run), ``sessions`` (start, stop, restart),
``config``, ``bars`` (every bar received, with its gate status), ``intents`` (an order intent
and its client order id, committed before the order is sent), ``orders`` (order state events),
``fills`` (one row per venue trade id), ``positions`` and ``decisions`` (per completed bar,
with the account's state), ``halts`` (the latch: halt / resume) and ``alerts``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time as _time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from quantlab._validate import check_choice
from quantlab.live._errors import JournalError

__all__ = ["Journal", "SCHEMA_VERSION", "journal_mode"]

SCHEMA_VERSION = 1

_TABLES = {
    "meta": "key TEXT PRIMARY KEY, value TEXT NOT NULL",
    "txns": "txn INTEGER PRIMARY KEY, time REAL NOT NULL, kind TEXT NOT NULL",
    "sessions": "id INTEGER PRIMARY KEY, time REAL NOT NULL, event TEXT NOT NULL, "
                "pid INTEGER, detail TEXT",
    "config": "id INTEGER PRIMARY KEY, time REAL NOT NULL, text TEXT NOT NULL",
    "bars": "seq INTEGER PRIMARY KEY, time TEXT NOT NULL, status TEXT NOT NULL, "
            "data TEXT NOT NULL",
    "intents": "seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL UNIQUE, bar_seq INTEGER NOT "
               "NULL, time TEXT, symbol TEXT NOT NULL, side TEXT NOT NULL, size REAL NOT NULL, "
               "price REAL NOT NULL, reason TEXT NOT NULL, reduce_only INTEGER NOT NULL",
    "orders": "id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, event TEXT NOT NULL, "
              "state TEXT NOT NULL, time REAL NOT NULL, detail TEXT",
    "fills": "trade_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, symbol TEXT NOT NULL, "
             "side TEXT NOT NULL, size REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, "
             "time TEXT",
    "positions": "bar_seq INTEGER PRIMARY KEY, time TEXT NOT NULL, data TEXT NOT NULL",
    "decisions": "bar_seq INTEGER PRIMARY KEY, time TEXT NOT NULL, target TEXT NOT NULL, "
                 "state TEXT NOT NULL, equity REAL NOT NULL, cash REAL NOT NULL, "
                 "latency_us REAL, account BLOB NOT NULL",
    "halts": "id INTEGER PRIMARY KEY, time REAL NOT NULL, action TEXT NOT NULL, "
             "source TEXT NOT NULL, reason TEXT NOT NULL",
    "alerts": "id INTEGER PRIMARY KEY, time REAL NOT NULL, kind TEXT NOT NULL, "
              "message TEXT NOT NULL, bar_time TEXT",
}


class Journal:
    """An append-only SQLite journal of one run.

    Parameters
    ----------
    path : str or Path
        The journal file (created with its folder when missing).
    mode : {"paper", "live"}
        A journal belongs to one mode: a paper journal is refused for a live run and
        vice versa (RELIABILITY.md behaviour 12).
    run : str, optional
        The run name (stored at creation; client order ids derive from it).
    readonly : bool, default False
        Open for reading (``quantlab live status``, reports): nothing is written and no
        checkpoint runs.
    fsync : bool, default True
        ``synchronous=FULL``: each commit is on disk before the order goes out.

    Raises
    ------
    JournalError
        Rows missing (copied without its WAL or head file), another schema version, another
        mode, not a journal.
    """

    def __init__(self, path: str | Path, *, mode: str = "paper", run: str | None = None,
                 readonly: bool = False, fsync: bool = True) -> None:
        self.path = Path(path)
        self.mode = check_choice("mode", mode, ("paper", "live"), caller="Journal")
        self.readonly = readonly
        #: called as ``listener(kind, text, bar_time)`` after each alert is committed (the
        #: runner's alert router: it never raises)
        self.alert_listeners: list[Callable[[str, str, Any], Any]] = []
        self._head_path = Path(str(self.path) + ".head")
        existed = self.path.exists() and self.path.stat().st_size > 0
        if readonly and not existed:
            raise JournalError(f"journal {self.path} does not exist; pass the --journal of a "
                               "run (quantlab live run writes it).")
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        uri = f"file:{self.path}{'?mode=ro' if readonly else ''}"
        try:
            self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout=10000")
            if not readonly:
                mode_row = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()
                if str(mode_row[0]).lower() != "wal":
                    raise JournalError(f"journal {self.path}: could not switch to WAL mode")
                self.conn.execute(f"PRAGMA synchronous={'FULL' if fsync else 'OFF'}")
                self.conn.execute("PRAGMA wal_autocheckpoint=0")
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path} is not a readable journal ({exc}); refusing to "
                               "start as if flat.") from None
        if existed:
            self._check_existing(run)
        else:
            if self._read_head() is not None:
                raise JournalError(
                    f"journal {self.path} is empty but its head file says transaction "
                    f"{self._read_head()}: it was copied without its -wal file. Copy "
                    f"{self.path.name}-wal with it.")
            self._create(run)
            # the schema and metadata go to the main file at once: a copy without the WAL
            # is then recognized as a journal with missing rows
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ---- creation and checks ---------------------------------------------------------
    def _create(self, run: str | None) -> None:
        with self.transaction("create") as cur:
            for name, cols in _TABLES.items():
                cur.execute(f"CREATE TABLE {name} ({cols})")
                if name != "txns":
                    for op in ("UPDATE", "DELETE"):
                        cur.execute(f"CREATE TRIGGER {name}_no_{op.lower()} BEFORE {op} ON "
                                    f"{name} BEGIN SELECT RAISE(ABORT, 'the journal is "
                                    f"append-only: {op} on {name}'); END")
            cur.executemany("INSERT INTO meta VALUES (?, ?)",
                            [("schema_version", str(SCHEMA_VERSION)), ("mode", self.mode),
                             ("run", run or self.path.stem), ("created", repr(_time.time()))])

    def _check_existing(self, run: str | None) -> None:
        try:
            meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
            last = self.conn.execute("SELECT MAX(txn) FROM txns").fetchone()[0] or 0
        except sqlite3.DatabaseError as exc:
            hint = (" Its -wal file is missing: if it was copied, copy the -wal file too."
                    if not Path(str(self.path) + "-wal").exists() else "")
            raise JournalError(f"{self.path} is not a quantlab journal ({exc}); refusing to "
                               f"start as if flat.{hint}") from None
        version = int(meta.get("schema_version", -1))
        if version != SCHEMA_VERSION:
            raise JournalError(f"journal {self.path} has schema version {version}; this "
                               f"quantlab writes version {SCHEMA_VERSION}. Start a new journal.")
        if meta.get("mode") != self.mode:
            raise JournalError(
                f"journal {self.path} is a {meta.get('mode')} journal; a {self.mode} run "
                f"refuses it (paper and live are isolated). Pass another --journal.")
        if run is not None and meta.get("run") != run:
            raise JournalError(f"journal {self.path} belongs to run {meta.get('run')!r}, not "
                               f"{run!r}. Pass the matching --journal or a new one.")
        head = self._read_head()
        if head is None:
            raise JournalError(
                f"journal {self.path} has no head file ({self._head_path.name}): it was copied "
                "without it (and probably without its -wal file). Copy the journal with its "
                "-wal and .head files, or start a new journal.")
        if last < head:
            raise JournalError(
                f"journal {self.path} ends at transaction {last} but its head says {head}: "
                f"{head - last} committed transaction(s) are missing, so it was copied without "
                "its -wal file. Refusing to start as if those orders never happened; copy "
                f"{self.path.name}-wal with it.")
        self.run = meta["run"]

    def _read_head(self) -> int | None:
        try:
            return int(self._head_path.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def _write_head(self, txn: int) -> None:
        fd = os.open(self._head_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            text = os.pread(fd, 32, 0).split()
            current = int(text[0]) if text and text[0].isdigit() else 0
            if txn > current:
                os.pwrite(fd, f"{txn:020d}\n".encode(), 0)  # fixed width: no truncate
        finally:
            os.close(fd)

    @property
    def meta(self) -> dict[str, str]:
        """The journal's metadata (schema version, mode, run, created)."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    # ---- writing ---------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, kind: str) -> Iterator[sqlite3.Cursor]:
        """One write transaction (``BEGIN IMMEDIATE`` .. ``COMMIT``), counted in ``txns``."""
        if self.readonly:
            raise JournalError(f"journal {self.path} is open read-only")
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
            cur.execute("INSERT INTO txns (time, kind) VALUES (?, ?)", (_time.time(), kind))
            txn = int(cur.lastrowid or 0)
            cur.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                cur.execute("ROLLBACK")
            raise
        self._write_head(txn)
        if kind == "create":
            self.run = str(dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
                           ["run"])

    def session(self, event: str, detail: str = "") -> None:
        with self.transaction("session") as cur:
            cur.execute("INSERT INTO sessions (time, event, pid, detail) VALUES (?, ?, ?, ?)",
                        (_time.time(), event, os.getpid(), detail))

    def alert(self, kind: str, text: str, bar_time: Any = None) -> None:
        """Journal an alert (bad bar, halt, reconciliation drift, reject)."""
        with self.transaction("alert") as cur:
            cur.execute("INSERT INTO alerts (time, kind, message, bar_time) VALUES (?, ?, ?, ?)",
                        (_time.time(), kind, text, None if bar_time is None else str(bar_time)))
        for listener in self.alert_listeners:
            listener(kind, text, bar_time)

    def latch(self, reason: str, source: str) -> None:
        """Latch a halt and journal its alert in ONE transaction, then tell the listeners.

        The ``halts`` row (``action="halt"``) and the ``alerts`` row (kind ``"halt"``, text
        ``"HALTED by {source}: {reason}"``) commit together: a crash or a locked journal never
        leaves a latch without its alert, nor an alert of a halt that did not latch. The
        :attr:`alert_listeners` are called after the commit (as :meth:`alert` does).
        """
        text = f"HALTED by {source}: {reason}"
        with self.transaction("halt") as cur:
            now = _time.time()
            cur.execute("INSERT INTO halts (time, action, source, reason) VALUES (?, ?, ?, ?)",
                        (now, "halt", source, reason))
            cur.execute("INSERT INTO alerts (time, kind, message, bar_time) VALUES (?, ?, ?, ?)",
                        (now, "halt", text, None))
        for listener in self.alert_listeners:
            listener("halt", text, None)

    def resume(self, reason: str = "operator", source: str = "cli") -> None:
        """Clear the halt latch (the operator's ``quantlab live resume``)."""
        with self.transaction("resume") as cur:
            cur.execute("INSERT INTO halts (time, action, source, reason) VALUES (?, ?, ?, ?)",
                        (_time.time(), "resume", source, reason))

    # ---- reading ---------------------------------------------------------------------
    def latched(self) -> tuple[str, str] | None:
        """``(source, reason)`` of the latched halt, or None."""
        row = self.conn.execute("SELECT action, source, reason FROM halts ORDER BY id DESC "
                                "LIMIT 1").fetchone()
        return (row[1], row[2]) if row and row[0] == "halt" else None

    def rows(self, table: str, order: str = "rowid") -> list[dict[str, Any]]:
        """Every row of ``table`` as dicts."""
        if table not in _TABLES:
            raise JournalError(f"no table {table!r} in the journal")
        cur = self.conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def frame(self, table: str) -> Any:
        """``table`` as a DataFrame."""
        import pandas as pd

        rows = self.rows(table)
        cols = [c.split()[0] for c in _TABLES[table].split(", ")]
        return pd.DataFrame(rows, columns=cols)

    def last_decision(self) -> dict[str, Any] | None:
        cur = self.conn.execute("SELECT * FROM decisions ORDER BY bar_seq DESC LIMIT 1")
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row,
                                                 strict=True))

    def scalar(self, sql: str, *args: Any) -> Any:
        return self.conn.execute(sql, args).fetchone()[0]

    def close(self, *, checkpoint: bool = True) -> None:
        """Close (after a full checkpoint unless read-only)."""
        if not self.readonly and checkpoint:
            with contextlib.suppress(sqlite3.DatabaseError):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def journal_mode(path: str | Path) -> str:
    """The mode ("paper" or "live") an existing journal was created with."""
    if not Path(path).exists():
        raise JournalError(f"journal {path} does not exist")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='mode'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path} is not a quantlab journal ({exc})") from None
    finally:
        conn.close()
    if row is None:
        raise JournalError(f"{path} is not a quantlab journal (no mode)")
    return str(row[0])


def dumps(obj: Any) -> str:
    """JSON with exact floats (repr), NaN allowed."""
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))

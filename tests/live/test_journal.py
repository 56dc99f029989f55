"""The journal: WAL, append-only, schema version, modes, copies without the WAL."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from quantlab.live import JournalError
from quantlab.live.journal import SCHEMA_VERSION, Journal


def test_wal_and_append_only(tmp_path):
    j = Journal(tmp_path / "j.sqlite", run="r")
    assert j.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    j.alert("data", "hello")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        j.conn.execute("UPDATE alerts SET message = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        j.conn.execute("DELETE FROM alerts")
    assert j.meta["schema_version"] == str(SCHEMA_VERSION)
    assert j.meta["mode"] == "paper" and j.meta["run"] == "r"
    j.close()


def test_halt_latch_persists_until_resume(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.latch("manual", source="cli")
    j.close()
    j = Journal(tmp_path / "j.sqlite")
    assert j.latched() == ("cli", "manual")
    j.resume()
    assert j.latched() is None
    j.close()


def test_mode_isolation(tmp_path):
    Journal(tmp_path / "j.sqlite", mode="paper").close()
    with pytest.raises(JournalError, match="paper journal; a live run refuses it"):
        Journal(tmp_path / "j.sqlite", mode="live")
    Journal(tmp_path / "l.sqlite", mode="live").close()
    with pytest.raises(JournalError, match="live journal; a paper run refuses it"):
        Journal(tmp_path / "l.sqlite", mode="paper")


def test_copy_without_wal_is_refused(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    for k in range(5):
        j.alert("data", f"row {k}")  # these live in the WAL (no automatic checkpoint)
    dest = tmp_path / "copy"
    dest.mkdir()
    shutil.copy(tmp_path / "j.sqlite", dest / "j.sqlite")
    with pytest.raises(JournalError, match="no head file"):
        Journal(dest / "j.sqlite")
    shutil.copy(tmp_path / "j.sqlite.head", dest / "j.sqlite.head")
    with pytest.raises(JournalError, match="5 committed transaction"):
        Journal(dest / "j.sqlite")
    # with its WAL the copy is complete and accepted
    full = tmp_path / "full"
    full.mkdir()
    for suffix in ("", "-wal", ".head"):
        shutil.copy(tmp_path / f"j.sqlite{suffix}", full / f"j.sqlite{suffix}")
    copy = Journal(full / "j.sqlite")
    assert len(copy.rows("alerts")) == 5
    copy.close()
    j.close()


def test_other_schema_version_is_refused(tmp_path):
    path = tmp_path / "j.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("CREATE TABLE txns (txn INTEGER PRIMARY KEY, time REAL, kind TEXT)")
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "99"),
                                                        ("mode", "paper"), ("run", "r")])
    conn.commit()
    conn.close()
    (tmp_path / "j.sqlite.head").write_text("0\n")
    with pytest.raises(JournalError, match="schema version 99"):
        Journal(path)


def test_not_a_journal_is_refused(tmp_path):
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(JournalError, match="not a"):
        Journal(path)


def test_latch_writes_the_halt_and_its_alert_in_one_transaction(tmp_path):
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    heard: list[tuple] = []
    j.alert_listeners.append(lambda *args: heard.append(args))
    before = j.scalar("SELECT MAX(txn) FROM txns")
    j.latch("drawdown limit breached", "drawdown")
    j.close()
    conn = sqlite3.connect(path)  # read back independently of the Journal class
    try:
        assert conn.execute("SELECT kind FROM txns WHERE txn > ?", (before,)).fetchall() == [
            ("halt",)]
        assert conn.execute("SELECT action, source, reason FROM halts").fetchall() == [
            ("halt", "drawdown", "drawdown limit breached")]
        assert conn.execute("SELECT kind, message, bar_time FROM alerts").fetchall() == [
            ("halt", "HALTED by drawdown: drawdown limit breached", None)]
    finally:
        conn.close()
    assert heard == [("halt", "HALTED by drawdown: drawdown limit breached", None)]


def test_latch_is_all_or_nothing(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    heard: list[tuple] = []
    j.alert_listeners.append(lambda *args: heard.append(args))
    j.conn.execute("CREATE TEMP TRIGGER no_alert BEFORE INSERT ON alerts BEGIN "
                   "SELECT RAISE(ABORT, 'alerts table refused'); END")
    with pytest.raises(sqlite3.DatabaseError, match="alerts table refused"):
        j.latch("x", "api")
    assert j.latched() is None and j.scalar("SELECT COUNT(*) FROM halts") == 0
    assert heard == []
    j.close()


def test_guard_latch_is_one_transaction(tmp_path):
    from quantlab.live.guard import Guard

    halt_file = tmp_path / "HALT"
    halt_file.write_text("operator went home")
    j = Journal(tmp_path / "j.sqlite")
    guard = Guard(j, halt_file=halt_file)
    before = j.scalar("SELECT MAX(txn) FROM txns")
    guard.before_bar()
    assert guard.state == "HALTED"
    assert j.conn.execute("SELECT kind FROM txns WHERE txn > ?", (before,)).fetchall() == [
        ("halt",)]
    reason = f"{halt_file}: operator went home"
    assert j.latched() == ("file", reason)
    assert [(a["kind"], a["message"]) for a in j.rows("alerts")] == [
        ("halt", f"HALTED by file: {reason}")]
    j.close()

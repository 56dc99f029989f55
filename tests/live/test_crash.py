"""Crash safety (RELIABILITY.md T1-T4, T17): SIGKILL at seeded points of a replay, restart.

The runner SIGKILLs itself (a real ``kill -9``, no cleanup) at the n-th of its crash points
(inside the intent transaction, after the intents commit, before and after a send, inside the
bar transaction, after it: ``QUANTLAB_LIVE_KILL_AT``), chosen by a seeded generator, and is
restarted each time. Oracle: an uninterrupted run of the same config on the same bars.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from quantlab.live import JournalError
from quantlab.live.journal import Journal
from quantlab.live.promote import promote
from quantlab.live.runner import KILL_ENV

ROOT = Path(__file__).resolve().parents[2]
START, END = "2012-01", "2012-12"


def _run(config: Path, journal: Path, kill_at: int | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop(KILL_ENV, None)
    if kill_at is not None:
        env[KILL_ENV] = str(kill_at)
    return subprocess.run([sys.executable, "-m", "quantlab.live", "live", "run", str(config),
                           "--start", START, "--end", END, "--journal", str(journal),
                           "--no-fsync"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def _table(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


TABLES = {
    "intents": "SELECT * FROM intents ORDER BY seq",
    "fills": "SELECT trade_id, client_id, symbol, side, size, price, fee, time FROM fills "
             "ORDER BY trade_id",
    "decisions": "SELECT bar_seq, time, target, state, equity, cash, account FROM decisions "
                 "ORDER BY bar_seq",
    "positions": "SELECT * FROM positions ORDER BY bar_seq",
    "bars": "SELECT * FROM bars ORDER BY seq",
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import quantlab as ql
    from quantlab.strategies import SmaCross

    tmp = tmp_path_factory.mktemp("crash")
    df = ql.data.load("aapl").loc[START:END].copy()
    df.attrs["symbol"] = "AAPL"
    config = promote(SmaCross(fast=3, slow=8), data=df, name="crash", out_dir=tmp,
                     reference_bars=60, fee_bps=5, slippage_bps=2)
    clean = tmp / "clean.sqlite"
    proc = _run(config, clean, None)
    assert proc.returncode == 0, proc.stderr
    return tmp, config, clean


def _crash_run(setup, n_kills: int, seed: int) -> None:
    tmp, config, clean = setup
    journal = tmp / f"killed-{n_kills}-{seed}.sqlite"
    rng = np.random.default_rng(seed)
    kills = 0
    for attempt in range(n_kills):
        proc = _run(config, journal, int(rng.integers(1, 40)))
        assert proc.returncode in (-9, 0), proc.stderr
        kills += proc.returncode == -9
        if attempt == 0 and proc.returncode == -9:
            _check_copy_without_wal(journal, tmp)
    assert kills >= n_kills - 1  # (the last points may fall after the replay's end)
    proc = _run(config, journal, None)
    assert proc.returncode == 0, proc.stderr
    for name, sql in TABLES.items():
        assert _table(journal, sql) == _table(clean, sql), name
    # no client order id was ever sent twice to the broker
    broker = Path(str(journal) + ".paper.sqlite")
    sent = Counter(c for (c,) in _table(broker, "SELECT client_id FROM requests WHERE "
                                                "kind='submit'"))
    assert sent and max(sent.values()) == 1
    assert set(sent) == {r[1] for r in _table(journal, TABLES["intents"])}
    # broker positions and cash equal the uninterrupted run's
    clean_broker = Path(str(clean) + ".paper.sqlite")
    q = "SELECT symbol, side, size, price, fee FROM fills ORDER BY seq"
    assert _table(broker, q) == _table(clean_broker, q)


def _check_copy_without_wal(journal: Path, tmp: Path) -> None:
    """T17: a journal copied without its -wal file is refused (rows would be missing)."""
    if not Path(str(journal) + "-wal").exists():
        return
    dest = tmp / "copy"
    dest.mkdir(exist_ok=True)
    shutil.copy(journal, dest / "j.sqlite")
    with pytest.raises(JournalError, match="no head file"):
        Journal(dest / "j.sqlite", mode="paper")
    shutil.copy(str(journal) + ".head", dest / "j.sqlite.head")
    with pytest.raises(JournalError, match="copied without its -wal"):
        Journal(dest / "j.sqlite", mode="paper")
    shutil.rmtree(dest)


def test_crash_5_points(setup):
    _crash_run(setup, 5, seed=7)


@pytest.mark.slow
def test_crash_20_points(setup):
    _crash_run(setup, 20, seed=13)

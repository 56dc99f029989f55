"""Crash safety against the fake Binance (RELIABILITY.md T1-T4, T17): kill -9 and restart.

The runner runs as a child process (``python -m tests.live._exchange_run``) trading through
the real ccxt client against a fake Binance that lives in the test process, so the fake's
ledger outlives every kill and is the truth. Two kinds of kill:

* ``QUANTLAB_LIVE_KILL_AT=n``: the runner SIGKILLs itself at its n-th crash point (inside
  the intent transaction, after the intents commit, before and after each send, inside the
  bar transaction, after it);
* a timed ``kill -9`` from the test, a seeded random delay after the child logged
  ``started`` (its start-up reconciliation passed): anywhere, inside an HTTP call included.

After every kill the run is restarted in this process (the runner's own start: restore,
then reconcile with the venue) and the journal is compared with the ledger: the same
position, every ledger trade id exactly once. At the end the uninterrupted remainder runs in
a child and INV-1..3 are checked on the ledger (:func:`check_ledger_invariants`), and the
intents equal those of an uninterrupted run on a second fake (the oracle).

The named-point tests (T1-T4) find the crash-point number of a point from the uninterrupted
run's intents (which bars trade, how many orders), kill there, prove from the ledger and the
journal that the kill happened where intended (e.g. after a send: the order is on the ledger,
its fill nowhere in the journal), then restart the child to the end.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quantlab.live import JournalError, ReplayFeed, run
from quantlab.live.journal import Journal
from quantlab.live.runner import KILL_ENV, Runner
from quantlab.live.secrets import Secret
from tests.live._exchange_run import (
    KEY_ENV,
    MARKET,
    SECRET_ENV,
    SYMBOL,
    _rows,
    check_ledger_invariants,
    journal_positions,
    journal_trade_ids,
    ledger_position,
    live_config,
    make_broker,
    promote_config,
    replay_frame,
    venue,
)

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "crash-key-0042", "crash-secret-0042"
CHILD_TIMEOUT_S = 120.0
INTENTS_SQL = "SELECT seq, client_id, bar_seq, side, size FROM intents ORDER BY seq"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The config, its replay, an uninterrupted run's intents and its crash-point names."""
    tmp = tmp_path_factory.mktemp("crashx")
    # ~2000 bars: enough replay for 50 kills however many bars a timed kill lets through (an
    # idle machine runs tens of bars in 30 ms; 2011-10..2012-12 ran out after 43 kills)
    path = promote_config(tmp, name="crashx", start="2005-01")
    config = live_config(path)
    frame = replay_frame(config)
    clean = tmp / "clean.sqlite"
    with venue(api_key=KEY, secret=SECRET) as fake:
        broker = make_broker(fake.url, api_key=Secret(KEY), secret=Secret(SECRET))
        run(config, feed=ReplayFeed(frame, symbols=config.symbols), broker=broker,
            journal=clean, fsync=False)
        clean_trades = [(t.side, t.qty) for t in fake.ledger.trades]
    intents = _rows(clean, INTENTS_SQL)
    assert len(intents) >= 10   # the strategy trades often: many points to kill at
    return {"tmp": tmp, "path": path, "config": config, "frame": frame, "intents": intents,
            "trades": clean_trades, "points": crash_points(len(frame), intents)}


def crash_points(n_bars: int, intents: list[tuple[Any, ...]]) -> list[tuple[str, int]]:
    """The runner's crash points in order, ``(name, bar_seq)``, for an uninterrupted run."""
    per_bar: dict[int, int] = {}
    for _seq, _cid, bar_seq, _side, _size in intents:
        per_bar[bar_seq] = per_bar.get(bar_seq, 0) + 1
    out: list[tuple[str, int]] = []
    for bar in range(1, n_bars + 1):
        k = per_bar.get(bar, 0)
        if k:
            out += [("in_intent_txn", bar), ("after_intents", bar)]
            out += [(name, bar) for _ in range(k) for name in ("before_send", "after_send")]
        out += [("in_bar_txn", bar), ("after_bar", bar)]
    return out


def _env(kill_at: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    env.update({KEY_ENV: KEY, SECRET_ENV: SECRET})
    if kill_at is not None:
        env[KILL_ENV] = str(kill_at)
    return env


def _argv(fake, setup, journal: Path) -> list[str]:
    return [sys.executable, "-m", "tests.live._exchange_run", "--url", fake.url, "--config",
            str(setup["path"]), "--journal", str(journal)]


def child(fake, setup, journal: Path, kill_at: int | None = None) -> tuple[int, str]:
    """Run the child to its end (or its self-kill); ``(returncode, stderr)``."""
    proc = subprocess.run(_argv(fake, setup, journal), cwd=ROOT, env=_env(kill_at),
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    return proc.returncode, proc.stderr


def timed_kill(fake, setup, journal: Path, delay_s: float) -> tuple[int, str]:
    """Start the child, wait for its ``started`` line, sleep ``delay_s``, then kill -9."""
    proc = subprocess.Popen(_argv(fake, setup, journal), cwd=ROOT, env=_env(None),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    text = b""
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    with selectors.DefaultSelector() as sel:
        assert proc.stderr is not None
        sel.register(proc.stderr, selectors.EVENT_READ)
        while b'"started"' not in text and time.monotonic() < deadline:
            if sel.select(timeout=1.0):
                chunk = os.read(proc.stderr.fileno(), 65536)
                if not chunk:   # the child ended before starting: report its stderr
                    break
                text += chunk
        if b'"started"' in text:
            time.sleep(delay_s)
            proc.send_signal(signal.SIGKILL)
        else:
            proc.kill()
        rest = b""
        while time.monotonic() < deadline and sel.select(timeout=1.0):
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                break
            rest += chunk
    proc.wait(timeout=30)
    proc.stderr.close()
    return proc.returncode, (text + rest).decode("utf-8", "replace")


def restart_and_reconcile(fake, setup, journal: Path) -> None:
    """A restart's start-up (restore, reconcile) in this process; journal == ledger after."""
    config = setup["config"]
    runner = Runner(config, feed=ReplayFeed(setup["frame"], symbols=config.symbols),
                    broker=make_broker(fake.url, api_key=Secret(KEY), secret=Secret(SECRET)),
                    journal=journal, fsync=False)
    try:
        runner.start()          # raises ReconciliationError when they disagree
    finally:
        runner.close()
    assert journal_positions(journal).get(SYMBOL, 0.0) == pytest.approx(
        ledger_position(fake), abs=1e-9)
    local = journal_trade_ids(journal)
    assert set(local) == {f"{MARKET}:{t.trade_id}" for t in fake.ledger.trades}
    assert not local or max(local.values()) == 1


def finish_and_check(fake, setup, journal: Path) -> dict[str, Any]:
    """Run the child to the replay's end; INV-1..3 on the ledger; intents == the clean run's."""
    code, err = child(fake, setup, journal)
    assert code == 0, err
    counts = check_ledger_invariants(fake, journal)
    assert _rows(journal, INTENTS_SQL) == setup["intents"]
    assert [(t.side, t.qty) for t in fake.ledger.trades] == setup["trades"]
    assert len(_rows(journal, "SELECT * FROM decisions")) == len(setup["frame"])
    alerts = _rows(journal, "SELECT kind, message FROM alerts WHERE kind IN "
                            "('reconciliation', 'order_unknown', 'fatal', 'halt')")
    assert alerts == []
    return counts


def crash_loop(setup, n_kills: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    journal = setup["tmp"] / f"loop-{n_kills}-{seed}.sqlite"
    kills, timed = 0, 0
    with venue(api_key=KEY, secret=SECRET) as fake:
        for _attempt in range(n_kills + 10):
            if kills >= n_kills:
                break
            if rng.random() < 0.3:
                code, err = timed_kill(fake, setup, journal, float(rng.uniform(0.0, 0.03)))
                timed += code == -signal.SIGKILL
            else:
                code, err = child(fake, setup, journal, int(rng.integers(1, 13)))
            assert code in (-signal.SIGKILL, 0), err
            if code == 0:
                break                     # the replay ended before the kill
            kills += 1
            restart_and_reconcile(fake, setup, journal)
        assert kills == n_kills and timed >= 1
        counts = finish_and_check(fake, setup, journal)
    assert counts["orders"] == counts["intents"] == len(setup["intents"])


@pytest.mark.timeout(900)
def test_crash_loop_50_kills(setup):
    """Issue 14's crash loop, in the default suite (~2 minutes): 50 SIGKILLs, a restart and a
    reconciliation after each, zero duplicate orders on the ledger."""
    crash_loop(setup, 50, seed=5)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_crash_loop_50_kills_other_seed(setup):
    crash_loop(setup, 50, seed=11)


# ---------------------------------------------------------------- T1-T4: named points
def _point(setup, name: str) -> tuple[int, int]:
    """``(KILL_AT, bar_seq)`` of ``name`` on the second bar that trades."""
    bars = sorted({i[2] for i in setup["intents"]})
    for k, (point, bar) in enumerate(setup["points"]):
        if point == name and bar == bars[1]:
            return k + 1, bar
    raise AssertionError(name)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", ["before_send", "after_send", "in_bar_txn", "in_intent_txn"])
def test_kill_at_each_named_point_then_restart(setup, name):
    kill_at, bar = _point(setup, name)
    journal = setup["tmp"] / f"named-{name}.sqlite"
    cid = next(i[1] for i in setup["intents"] if i[2] == bar)
    with venue(api_key=KEY, secret=SECRET) as fake:
        code, err = child(fake, setup, journal, kill_at)
        assert code == -signal.SIGKILL, err
        # where the kill landed, from the ledger and the journal (not the runner's word)
        on_ledger = len(fake.ledger.by_client_id(cid))
        journaled = _rows(journal, f"SELECT COUNT(*) FROM intents WHERE client_id = '{cid}'")
        filled = _rows(journal, f"SELECT COUNT(*) FROM fills WHERE client_id = '{cid}'")
        decided = _rows(journal, f"SELECT COUNT(*) FROM decisions WHERE bar_seq = {bar}")
        expect = {"in_intent_txn": (0, 0, 0, 0), "before_send": (0, 1, 0, 0),
                  "after_send": (1, 1, 0, 0), "in_bar_txn": (1, 1, 0, 0)}[name]
        assert (on_ledger, journaled[0][0], filled[0][0], decided[0][0]) == expect
        if name == "after_send":
            _copy_without_wal_is_refused(setup, fake, journal)
        finish_and_check(fake, setup, journal)     # the child's own restart and reconcile
        assert len(fake.ledger.by_client_id(cid)) == 1


def _copy_without_wal_is_refused(setup, fake, journal: Path) -> None:
    """T17: a journal copied without its -wal (and head) file is refused, nothing is sent."""
    assert Path(f"{journal}-wal").exists()       # the newest rows live only in the WAL
    dest = setup["tmp"] / "copied"
    dest.mkdir(exist_ok=True)
    copy = dest / "j.sqlite"
    shutil.copy(journal, copy)
    with pytest.raises(JournalError, match="no head file"):
        Journal(copy, mode="live")
    shutil.copy(f"{journal}.head", f"{copy}.head")
    with pytest.raises(JournalError, match="copied without its -wal"):
        Journal(copy, mode="live")
    before = len(fake.ledger.orders)
    config = setup["config"]
    with pytest.raises(JournalError, match="-wal"):
        run(config, feed=ReplayFeed(setup["frame"], symbols=config.symbols),
            broker=make_broker(fake.url, api_key=Secret(KEY), secret=Secret(SECRET)),
            journal=copy, fsync=False)
    assert len(fake.ledger.orders) == before
    shutil.rmtree(dest)

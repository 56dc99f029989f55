"""Fixtures of the optimize tests: OHLCV bars and a throw-away PostgreSQL server.

``postgres_url`` initdb's a cluster in a temporary folder and starts it on 127.0.0.1 on a free
port (Debian's ``postgresql`` binaries: ``initdb``/``pg_ctl`` on the PATH or under
``/usr/lib/postgresql/*/bin``). PostgreSQL refuses to run as root, so under root (CI) the
cluster runs as the ``postgres`` system user (or ``nobody``) through ``runuser``. The server is
stopped and the folder removed at the end of the session; the tests using it skip with the
reason when any of this is impossible.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def make_bars(n: int = 1500, seed: int = 7) -> pd.DataFrame:
    """Hourly OHLCV bars of a geometric random walk (UTC index named ``time``)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.006, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.001, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.002, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.002, n)))
    idx = pd.date_range("2022-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": np.full(n, 1e3)}, index=idx)


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    return make_bars()


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as(user: str | None, cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a fresh PostgreSQL database (skips when it cannot start)."""
    pytest.importorskip("psycopg2", reason="PostgreSQL tests need psycopg2 "
                                           "(pip install psycopg2-binary)")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl on the PATH or in "
                    "/usr/lib/postgresql/*/bin); apt-get install postgresql")
    user: str | None = None
    if os.geteuid() == 0:
        import pwd

        for candidate in ("postgres", "nobody"):
            try:
                pwd.getpwnam(candidate)
            except KeyError:
                continue
            user = candidate
            break
        if user is None or shutil.which("runuser") is None:
            pytest.skip("running as root and no unprivileged user (postgres/nobody) or "
                        "runuser to start PostgreSQL with")
    root = Path(tempfile.mkdtemp(prefix="ql-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if user is not None:
        import pwd

        pw = pwd.getpwnam(user)
        for p in (root, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(root, 0o755)
        db_user = user
    else:
        import getpass

        db_user = getpass.getuser()
    port = _free_port()
    started = False
    try:
        res = _run_as(user, [initdb, "-D", str(data), "-A", "trust", "-U", db_user,
                             "--no-sync", "-E", "UTF8"])
        if res.returncode != 0:
            pytest.skip(f"initdb failed: {res.stderr.strip()[-300:]}")
        opts = f"-h 127.0.0.1 -p {port} -k {sock} -F -c max_connections=50"
        res = _run_as(user, [pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"),
                             "-w", "-t", "60", "start"])
        if res.returncode != 0:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            pytest.skip(f"PostgreSQL did not start: {res.stderr.strip()[-200:]} {log[-300:]}")
        started = True
        createdb = _pg_bin("createdb")
        res = _run_as(user, [createdb or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U",
                             db_user, "quantlab"])
        if res.returncode != 0:
            pytest.skip(f"createdb failed: {res.stderr.strip()[-300:]}")
        yield f"postgresql+psycopg2://{db_user}@127.0.0.1:{port}/quantlab"
    finally:
        if started:
            _run_as(user, [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)

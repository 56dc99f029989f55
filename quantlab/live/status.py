"""``quantlab live status``: what a run holds, read from its journal (read-only)."""

from __future__ import annotations

import json
import time as _time
from pathlib import Path
from typing import Any

import pandas as pd

from quantlab.live.journal import Journal, journal_mode

__all__ = ["status"]


def status(journal: str | Path) -> dict[str, Any]:
    """Positions, orders, PnL, trading state, last bar and lag of a run.

    Parameters
    ----------
    journal : path - the run's journal.

    Returns
    -------
    dict
        ``run, mode, state, latched, last_bar, lag_seconds (wall clock since the last bar was
        journaled), bars, positions, orders (count), open_intents (journaled, no fill),
        equity, pnl, init_cash, alerts (the last five), stopped``.
    """
    j = Journal(journal, mode=journal_mode(journal), readonly=True)
    try:
        meta = j.meta
        last = j.conn.execute("SELECT bar_seq, time, state, equity FROM decisions ORDER BY "
                              "bar_seq DESC LIMIT 1").fetchone()
        written = j.scalar("SELECT MAX(time) FROM txns WHERE kind IN ('bar', 'intents')")
        config = j.conn.execute("SELECT text FROM config ORDER BY id LIMIT 1").fetchone()
        init_cash = None
        if config is not None:
            doc = json.loads(config[0])
            init_cash = float(doc.get("backtest", {}).get("execution", {}).get("init_cash",
                                                                                100_000.0))
        row = j.conn.execute("SELECT data FROM positions ORDER BY bar_seq DESC LIMIT 1"
                             ).fetchone()
        # positions are the sum of the run's fills (INV-3), also after a shutdown flatten
        # that no bar row records; every traded symbol is listed, at 0 when flat
        positions = dict.fromkeys(json.loads(row[0]) if row else {}, 0.0)
        for sym, units in j.conn.execute(
                "SELECT f.symbol, SUM(CASE f.side WHEN 'buy' THEN f.size ELSE -f.size END) "
                "FROM fills f JOIN intents i ON i.client_id = f.client_id GROUP BY f.symbol"):
            positions[sym] = float(units)
        open_intents = j.scalar("SELECT COUNT(*) FROM intents i WHERE NOT EXISTS (SELECT 1 "
                                "FROM fills f WHERE f.client_id = i.client_id)")
        alerts = j.rows("alerts")[-5:]
        sessions = j.rows("sessions")
        latched = j.latched()
        equity = None if last is None else float(last[3])
        return {
            "run": meta.get("run"), "mode": meta.get("mode"),
            "state": "HALTED" if latched else (last[2] if last else "NOT STARTED"),
            "latched": None if latched is None else {"source": latched[0],
                                                     "reason": latched[1]},
            "last_bar": None if last is None else str(pd.Timestamp(last[1])),
            "lag_seconds": None if written is None else round(_time.time() - written, 3),
            "bars": 0 if last is None else int(last[0]),
            "positions": positions,
            "orders": int(j.scalar("SELECT COUNT(*) FROM intents")),
            "open_intents": int(open_intents),
            "equity": equity, "init_cash": init_cash,
            "pnl": None if equity is None or init_cash is None else equity - init_cash,
            "alerts": [{"kind": a["kind"], "message": a["message"]} for a in alerts],
            "stopped": bool(sessions) and sessions[-1]["event"] == "stop",
        }
    finally:
        j.close()

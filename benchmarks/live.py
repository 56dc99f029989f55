"""The live runner on paper: decision latency, journal write cost, replay throughput.

    .venv/bin/python benchmarks/live.py [--start 2010-01 --end 2012-12]

* **Decision latency per bar** (closed bar in -> orders decided: market-data gate, strategy,
  guard, the ``Account`` step; what the runner journals as ``latency_us``) for each built-in
  strategy, on its streaming path and with ``signal()`` on the trailing window; median and
  99th percentile over a replay of bundled AAPL daily bars.
* **Journal write cost per order**: one intent transaction (intent row, transaction counter,
  head file) committed with ``synchronous=FULL`` (fsync) and without; median and p99.
* **Replay throughput**: bars per second through the whole runner (gate, strategy, step,
  journal, paper broker), streaming SmaCross, with and without fsync (start-up excluded).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import markdown  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--start", default="2010-01")
    ap.add_argument("--end", default="2012-12")
    ap.add_argument("--orders", type=int, default=300)
    args = ap.parse_args()
    import quantlab as ql
    from quantlab.live import ReplayFeed, load_config, promote
    from quantlab.live.journal import Journal
    from quantlab.live.runner import Runner
    from quantlab.strategies import (
        BollingerReversion,
        DonchianBreakout,
        EmaCross,
        RsiReversion,
        SmaCross,
    )

    df = ql.data.load("aapl").loc[args.start:args.end].copy()
    df.attrs["symbol"] = "AAPL"
    tmp = Path(tempfile.mkdtemp(prefix="ql-live-bench-"))
    rows = []
    for strat in (SmaCross(fast=10, slow=30), EmaCross(fast=10, slow=30), RsiReversion(),
                  BollingerReversion(), DonchianBreakout()):
        path = promote(strat, data=df, name=type(strat).__name__, out_dir=tmp, fee_bps=5)
        cfg = load_config(path)
        for decision in ("stream", "window"):
            runner = Runner(cfg, feed=ReplayFeed(df), journal=tmp / f"{path.stem}-{decision}.db",
                            fsync=False, decision=decision, verify=False)
            runner.start()
            runner.loop()
            lat = runner.journal.frame("decisions")["latency_us"].to_numpy()[5:]
            runner.close()
            rows.append({"strategy": type(strat).__name__, "path": decision,
                         "median us": float(np.median(lat)),
                         "p99 us": float(np.percentile(lat, 99))})
    print(f"Decision latency per bar (closed bar in -> orders decided), {len(df)} AAPL daily "
          "bars:\n")
    print(markdown(pd.DataFrame(rows), 1))

    jrows = []
    for fsync in (True, False):
        j = Journal(tmp / f"journal-{fsync}.db", fsync=fsync)
        times = np.empty(args.orders)
        for k in range(args.orders):
            t0 = time.perf_counter()
            with j.transaction("intents") as cur:
                cur.execute("INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (k, f"bench-x-{k:08d}", k, "2020-01-01", "AAPL", "buy", 1.0,
                             100.0, "signal", 0))
            times[k] = time.perf_counter() - t0
        j.close()
        jrows.append({"fsync": "on" if fsync else "off",
                      "median us": float(np.median(times) * 1e6),
                      "p99 us": float(np.percentile(times, 99) * 1e6)})
    print("\nJournal write cost per order (intent committed before sending):\n")
    print(markdown(pd.DataFrame(jrows), 1))

    trows = []
    cfg = load_config(tmp / "SmaCross.yaml")
    for fsync in (True, False):
        for decision in ("stream", "window"):
            runner = Runner(cfg, feed=ReplayFeed(df), journal=tmp / f"tp-{fsync}-{decision}.db",
                            fsync=fsync, decision=decision, verify=False)
            runner.start()
            t0 = time.perf_counter()
            runner.loop()
            elapsed = time.perf_counter() - t0
            n_orders = len(runner.journal.frame("intents"))
            runner.close()
            trows.append({"path": decision, "fsync": "on" if fsync else "off",
                          "bars": len(df), "orders": n_orders,
                          "bars/s": len(df) / elapsed})
    print("\nReplay throughput (SmaCross(10, 30), whole runner, start-up excluded):\n")
    print(markdown(pd.DataFrame(trows), 0))


if __name__ == "__main__":
    main()

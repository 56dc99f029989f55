"""Rolling historical VaR: quantlab's heap kernel vs pandas' rolling quantile, in one run.

    .venv/bin/python benchmarks/risk.py [--bars 1000000] [--window 250] [--markdown]

Times ``quantlab.risk.var.var(returns, window=250)`` (the pandas layer and the kernel) and the
kernel alone, against ``-returns.rolling(250).quantile(0.01).shift(1)`` on the same 1M bars of
returns, one thread, best of 7 wall times after a warm-up (numba compiled beforehand), and the
best of 7 process CPU times (steadier when other jobs share the machine). Goal: quantlab
<= 50 ns/bar. The results are checked equal (to 1e-12) before timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from _timing import best_time, markdown

from quantlab.risk._kernels import rolling_quantile_tail_nb
from quantlab.risk.var import es, var


def best_cpu_time(func: Callable[[], Any], repeat: int = 7) -> float:
    """Best process CPU time of ``func()`` in seconds (less sensitive to a loaded machine)."""
    func()
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        func()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=250)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    n, w = args.bars, args.window
    rng = np.random.default_rng(0)
    r = pd.Series(rng.standard_t(4, n) * 0.01)
    x = r.to_numpy().reshape(-1, 1)

    got = var(r, confidence=0.99, window=w)
    want = -r.rolling(w).quantile(0.01, interpolation="linear").shift(1)
    err = float(np.nanmax(np.abs(got.to_numpy() - want.to_numpy())))
    if not (err <= 1e-12 and got.isna().equals(want.isna())):
        raise SystemExit(f"quantlab and pandas disagree: max abs error {err}")

    cases = [
        ("quantlab var(window=250), historical 99 %", lambda: var(r, confidence=0.99, window=w)),
        ("quantlab kernel only (quantile + tail mean)",
         lambda: rolling_quantile_tail_nb(x, w, w, 0.01)),
        ("quantlab es(window=250), historical 99 %", lambda: es(r, confidence=0.99, window=w)),
        ("pandas -rolling(250).quantile(0.01).shift(1)",
         lambda: -r.rolling(w).quantile(0.01, interpolation="linear").shift(1)),
    ]
    rows = []
    for name, func in cases:
        seconds = best_time(func, repeat=7, min_time=0.0)
        cpu = best_cpu_time(func)
        rows.append({"case": name, "ns/bar": seconds / n * 1e9, "CPU ns/bar": cpu / n * 1e9,
                     "total ms": seconds * 1e3})
    frame = pd.DataFrame(rows)
    pandas_ns = float(frame["ns/bar"].iloc[-1])
    frame["vs pandas"] = [f"{pandas_ns / v:.1f}x" for v in frame["ns/bar"]]
    header = (f"Rolling historical VaR({w}), {n:,} bars, 1 column; {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; "
              f"max |quantlab - pandas| = {err:.1e}")
    if args.markdown:
        print(header + "\n")
        print(markdown(frame, digits=1))
    else:
        print(header)
        print(frame.to_string(index=False))


if __name__ == "__main__":
    main()

"""Simulator speed (ns per bar x asset): this checkout vs a baseline commit, in one run.

    .venv/bin/python benchmarks/simulator.py [--baseline REV] [--bars 1000000] [--markdown]

Times ``quantlab.backtest.kernels.simulate_nb`` (the kernel behind ``backtest()``, called
with its positional arguments, which every version since the first accepts) on synthetic
bars: one asset in target mode (fill at the next open, fees; the SMA-cross exposures),
the same with stops, signal mode (vectorbt's semantics), and 10 assets sharing cash.
Each case: a warm-up round over all cases, then the best of ``--repeat`` calls.

``--baseline REV`` checks REV out into a temporary git worktree and runs the same cases
there in a subprocess (numba cache in that worktree), so both columns come from one
command on one machine. The default baseline is the commit before the execution core
(the step kernel) landed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASELINE = "d148739"


def _bars(n: int, n_assets: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, (n, n_assets)), axis=0))
    open_ = np.vstack([np.full((1, n_assets), 100.0), close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, (n, n_assets))))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, (n, n_assets))))
    return tuple(np.ascontiguousarray(a) for a in (open_, high, low, close))


def _cross_target(close: np.ndarray, fast: int = 20, slow: int = 50) -> np.ndarray:
    c = np.cumsum(np.vstack([np.zeros((1, close.shape[1])), close]), axis=0)
    ma_f = np.full_like(close, np.nan)
    ma_s = np.full_like(close, np.nan)
    ma_f[fast - 1:] = (c[fast:] - c[:-fast]) / fast
    ma_s[slow - 1:] = (c[slow:] - c[:-slow]) / slow
    return np.where(ma_f > ma_s, 1.0, np.where(ma_f < ma_s, 0.0, np.nan))


def measure(n_bars: int, repeat: int) -> dict[str, float]:
    """ns per bar x asset of each case, in this interpreter (whatever quantlab it imports):
    every case once (JIT, allocator and page-cache warm-up, discarded), then every case
    timed, best of ``repeat``."""
    _measure(n_bars, 1)
    return _measure(n_bars, repeat)


def _measure(n_bars: int, repeat: int) -> dict[str, float]:
    from quantlab.backtest import kernels as K

    out: dict[str, float] = {}
    z2 = np.zeros((1, 1))
    cases = {
        "target, 1 asset": (1, False, np.nan),
        "target + stops, 1 asset": (1, False, 0.02),
        "signals, 1 asset": (1, True, np.nan),
        "target, 10 assets": (10, False, np.nan),
    }
    for name, (n_assets, signals, stop) in cases.items():
        bars = n_bars if n_assets == 1 else n_bars // 10
        o, h, lo, c = _bars(bars, n_assets)
        target = np.ascontiguousarray(_cross_target(c) / n_assets)
        flags = np.zeros(target.shape, dtype=np.int8)
        if signals:
            prev = np.vstack([np.full((1, n_assets), np.nan), target[:-1]])
            flags = np.where((target == 0.0) & (prev == 1.0), 1, 0).astype(np.int8)
            target = np.where((target == 1.0) & (prev != 1.0), 1.0, np.nan)
        lot = np.zeros(n_assets)

        def run(t: np.ndarray = target, f: np.ndarray = flags, lot: np.ndarray = lot,
                o: np.ndarray = o, h: np.ndarray = h, lo: np.ndarray = lo, c: np.ndarray = c,
                signals: bool = signals, stop: float = stop) -> None:
            K.simulate_nb(o, h, lo, c, t, f, signals, True, 1e5, 1.0, 0.001, 0.0, z2, lot, lot,
                          stop, np.nan, np.nan, -1.0, z2, z2, np.nan, 50)

        run()
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        out[name] = best / (bars * n_assets) * 1e9
    return out


def _baseline(rev: str, n_bars: int, repeat: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="ql-baseline-"))
    tree = tmp / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                   check=True, capture_output=True)
    try:
        code = (f"import json, sys; sys.path.insert(0, {str(tree)!r}); "
                f"sys.path.insert(1, {str(ROOT / 'benchmarks')!r}); import simulator; "
                f"print(json.dumps(simulator.measure({n_bars}, {repeat})))")
        env = {**os.environ, "PYTHONPATH": str(tree)}
        res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True, env=env, cwd=str(tree))
        return json.loads(res.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                       capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", default=DEFAULT_BASELINE)
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    base = _baseline(args.baseline, args.bars, args.repeat)
    now = measure(args.bars, args.repeat)
    rows = [(k, now[k], base.get(k, float("nan"))) for k in now]
    if args.markdown:
        print(f"| case ({args.bars:,} bars) | this checkout ns/bar | {args.baseline} ns/bar | ratio |")
        print("|---|---|---|---|")
        for k, a, b in rows:
            print(f"| {k} | {a:.1f} | {b:.1f} | {a / b:.2f} |")
    else:
        for k, a, b in rows:
            print(f"{k:28s} now {a:7.1f} ns/bar   baseline {b:7.1f} ns/bar   ratio {a / b:5.2f}")


if __name__ == "__main__":
    main()

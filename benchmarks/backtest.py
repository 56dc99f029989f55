"""Parameter sweep: quantlab vs vectorbt (and backtesting.py on one combination), same data.

    .venv/bin/python benchmarks/backtest.py --skip-extras --markdown       # the sweep table
    .venv/bin/python benchmarks/backtest.py [--sizes 10000 20000 100000] [--vbt-combos 1225]

Data: synthetic hourly bars (geometric random walk, seed 0). Strategy: SMA cross, fast < slow
in 5..54 (1225 combinations), all-in long while SMA(fast) > SMA(slow), flat while below,
fills at the close, fees 0.1 %. vectorbt runs the *same state-based signals*
(``entries = fast > slow`` from bar ``slow`` on, ``exits = fast < slow``, accumulate=False),
which is exactly quantlab's target mode; the total returns are asserted equal (max abs diff
printed).

The sweep table (one row per ``--sizes`` entry, each engine in its own fresh subprocess, so
its peak RSS is its own): ``quantlab.sweep(SmaCross, data, {"fast": 5..54, "slow": 5..54},
constraint="fast < slow")`` - the whole call, from the 50 x 50 grid to the statistics table -
seven times after a small JIT warm-up (first call and median reported, with the Python time
per combination: ``elapsed_s - kernel_s`` of ``SweepResult.config`` / 1225), and vectorbt
once on ``--vbt-combos`` combinations (default all 1225; ~11.5 GB and ~28 s at 100k bars),
its JIT warm-up excluded.

Extras at the largest size (skipped with ``--skip-extras``):
* quantlab generic path (a plain-pandas strategy, no fast path), ``--generic-combos``;
* cold start: ``python -c "import quantlab...; sweep(...)"`` wall time with the numba cache
  warm on disk (run once before to fill it);
* backtesting.py on one combination vs ``quantlab.backtest`` on the same combination.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FAST = list(range(5, 55))
#: timed sweep() calls per size: a median of 7, not 3, so that one call slowed by the
#: machine (a descheduled worker thread, ~20 ms on this VM) does not move it
REPEAT = 7


def make_bars(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
    idx = pd.date_range("2012-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": np.full(n, 1e3)}, index=idx)


def combos(limit: int | None = None) -> list[tuple[int, int]]:
    out = [(f, s) for f in FAST for s in FAST if f < s]
    if limit is not None and limit < len(out):
        step = len(out) / limit  # spread over the grid so the mix of windows is the same
        out = [out[int(i * step)] for i in range(limit)]
    return out


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---- children (one engine per fresh process) ------------------------------------------------

def child_quantlab(n: int, path: str, limit: int | None) -> dict:
    from quantlab.backtest.sweep import sweep
    from quantlab.strategies import SmaCross
    from quantlab.strategy import Strategy, param

    class PandasSmaCross(Strategy):
        """SmaCross in plain pandas (rolling means), no fast path."""

        fast: int = param(10, minimum=1)
        slow: int = param(30, minimum=2)

        def check(self) -> None:
            SmaCross(fast=self.fast, slow=self.slow)

        @property
        def warmup(self) -> int:
            return self.slow

        def signal(self, data):
            c = data["close"]
            f, s = c.rolling(self.fast).mean(), c.rolling(self.slow).mean()
            return pd.Series(np.where(f > s, 1.0, np.where(f < s, 0.0, np.nan)), index=c.index)

    data = make_bars(n)
    pairs = combos(limit)
    cls = SmaCross if path == "fused" else PandasSmaCross
    fasts = sorted({f for f, _ in pairs})
    slows = sorted({s for _, s in pairs})
    wanted = set(pairs)
    # the full grid: fast < slow as a DataFrame.eval string over the 50 x 50 product; a
    # subset (--limit) through a per-combination callable
    constraint = "fast < slow" if limit is None or limit >= 1225 else (
        lambda p: (p["fast"], p["slow"]) in wanted)
    kw = dict(constraint=constraint, fill="close", fee_bps=10.0, progress=False)
    sweep(cls, data.iloc[:2000], {"fast": [5], "slow": [10]}, fill="close", progress=False)  # JIT
    times, python = [], []
    for _ in range(REPEAT):  # the first call and the median are both reported
        t0 = time.perf_counter()
        res = sweep(cls, data, {"fast": fasts, "slow": slows}, **kw)
        times.append(time.perf_counter() - t0)
        python.append(res.config["elapsed_s"] - res.config["kernel_s"])
    table = res.table
    return {"engine": f"quantlab {res.config['path']}", "combos": len(table),
            "seconds": float(np.median(times)), "first_seconds": times[0],
            "python_us_per_combo": float(np.median(python)) / len(table) * 1e6,
            "rss_mb": _rss_mb(), "fast": table["fast"].tolist(), "slow": table["slow"].tolist(),
            "total_return": table["total_return"].tolist()}


def child_vectorbt(n: int, limit: int | None) -> dict:
    _vectorbt_run(500, combos(4))  # JIT warm-up (vectorbt's numba cache), not timed
    pairs = combos(limit)
    t0 = time.perf_counter()
    tr = _vectorbt_run(n, pairs)
    elapsed = time.perf_counter() - t0
    return {"engine": "vectorbt", "combos": len(pairs), "seconds": elapsed, "rss_mb": _rss_mb(),
            "fast": [f for f, _ in pairs], "slow": [s for _, s in pairs],
            "total_return": tr.to_numpy().tolist()}


def _vectorbt_run(n: int, pairs: list[tuple[int, int]]) -> pd.Series:
    import vectorbt as vbt

    close = make_bars(n)["close"]
    windows = sorted({w for p in pairs for w in p})
    ma = vbt.MA.run(close, window=windows, short_name="ma").ma  # each window once
    fast = ma[[f for f, _ in pairs]].to_numpy()
    slow = ma[[s for _, s in pairs]].to_numpy()
    warm = np.arange(n)[:, None] >= np.array([s for _, s in pairs])[None, :]
    cols = pd.MultiIndex.from_tuples(pairs, names=["fast", "slow"])
    entries = pd.DataFrame((fast > slow) & warm, index=close.index, columns=cols)
    exits = pd.DataFrame(fast < slow, index=close.index, columns=cols)
    del fast, slow, warm
    pf = vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, init_cash=100_000.0,
                                    freq="1h")
    return pf.total_return()


def child_backtestingpy(n: int) -> dict:
    from backtesting import Backtest
    from backtesting import Strategy as BtStrategy

    from quantlab.backtest import backtest
    from quantlab.strategies import SmaCross

    data = make_bars(n)
    frame = data.rename(columns=str.capitalize)
    frame.index = frame.index.tz_localize(None)

    class Cross(BtStrategy):
        fast = 10
        slow = 30

        def init(self):
            c = pd.Series(self.data.Close)
            self.f = self.I(lambda: c.rolling(self.fast).mean().to_numpy())
            self.s = self.I(lambda: c.rolling(self.slow).mean().to_numpy())

        def next(self):
            if self.f[-1] > self.s[-1] and not self.position:
                self.buy()
            elif self.f[-1] < self.s[-1] and self.position:
                self.position.close()

    t0 = time.perf_counter()
    stats = Backtest(frame, Cross, cash=100_000, commission=0.001, trade_on_close=True,
                     finalize_trades=True).run()
    t_bt = time.perf_counter() - t0
    backtest(data.iloc[:500], SmaCross(fast=10, slow=30), fill="close", fee_bps=10)  # JIT
    t0 = time.perf_counter()
    res = backtest(data, SmaCross(fast=10, slow=30), fill="close", fee_bps=10)
    t_ql = time.perf_counter() - t0
    return {"backtesting_seconds": t_bt, "backtesting_return": float(stats["Return [%]"]) / 100,
            "backtesting_trades": int(stats["# Trades"]), "quantlab_seconds": t_ql,
            "quantlab_return": float(res.equity.iloc[-1] / 1e5 - 1),
            "quantlab_trades": int(len(res.trades))}


def sweep_table(sizes: list[int], vbt_combos: int, markdown: bool) -> list[int]:
    """quantlab.sweep (1225 combinations) vs vectorbt, side by side, one row per size."""
    rows = []
    for n in sizes:
        ql = run_child(["--child", "fused", "--bars", str(n)])
        vbt = run_child(["--child", "vectorbt", "--bars", str(n), "--limit", str(vbt_combos)])
        ours = {(f, s): r for f, s, r in zip(ql["fast"], ql["slow"], ql["total_return"],
                                             strict=True)}
        diff = max(abs(ours[(f, s)] - r) for f, s, r in
                   zip(vbt["fast"], vbt["slow"], vbt["total_return"], strict=True))
        assert diff <= 1e-8, f"quantlab and vectorbt total returns differ by {diff} at {n} bars"
        scale = ql["combos"] / vbt["combos"]  # vectorbt on a subset: extrapolated per combination
        rows.append({"bars": n, "combinations": ql["combos"],
                     "quantlab first call s": ql["first_seconds"],
                     f"quantlab median of {REPEAT} s": ql["seconds"],
                     "quantlab Python µs per combination": ql["python_us_per_combo"],
                     "vectorbt s": vbt["seconds"] * scale,
                     "vectorbt / quantlab (median)": vbt["seconds"] * scale / ql["seconds"],
                     "vectorbt / quantlab (first call)": vbt["seconds"] * scale
                     / ql["first_seconds"],
                     "max |total_return diff|": diff,
                     "peak RSS MB quantlab / vectorbt": f"{ql['rss_mb']:.0f} / {vbt['rss_mb']:.0f}"})
        print(f"# {n} bars done (load average {os.getloadavg()[0]:.1f})", file=sys.stderr)
    table = pd.DataFrame(rows)
    if markdown:
        sys.path.insert(0, str(HERE))
        from _timing import markdown as to_markdown

        print(to_markdown(table, digits=3))
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print()
    return sizes


def run_child(args: list[str], timeout: float = 1800) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start(n: int) -> float:
    code = ("import time; t0 = time.perf_counter()\n"
            "import quantlab\n"
            "from quantlab.backtest.sweep import sweep\n"
            "from quantlab.strategies import SmaCross\n"
            f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
            "from backtest import make_bars\n"
            f"r = sweep(SmaCross, make_bars({n}), {{'fast': list(range(5, 55)), "
            "'slow': list(range(5, 55))}, fill='close', fee_bps=10, progress=False)\n"
            "assert r.n_trials == 1225\n")
    subprocess.run([sys.executable, "-c", code], check=True)  # fills the numba cache if needed
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=100_000, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 100_000],
                        help="bars of the sweep-vs-vectorbt table (one row each)")
    parser.add_argument("--vbt-combos", type=int, default=1225,
                        help="combinations vectorbt runs (1225 = the full grid: ~11.5 GB and "
                             "~28 s at 100k bars)")
    parser.add_argument("--skip-extras", action="store_true",
                        help="only the sweep table (no generic path, cold start, backtesting.py)")
    parser.add_argument("--generic-combos", type=int, default=49,
                        help="combinations of the plain-pandas (generic path) run")
    parser.add_argument("--skip-backtestingpy", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = args.bars
    if args.child:
        if args.child in ("fused", "generic"):
            result = child_quantlab(n, args.child, args.limit)
        elif args.child == "vectorbt":
            result = child_vectorbt(n, args.limit)
        else:
            result = child_backtestingpy(n)
        print(json.dumps(result))
        return

    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}; "
          f"SMA cross fast<slow in 5..54, fill at close, fees 0.1%")
    sizes = sweep_table(args.sizes, args.vbt_combos, args.markdown)
    if args.skip_extras:
        return
    n = max(sizes)
    fused = run_child(["--child", "fused", "--bars", str(n)])
    generic = run_child(["--child", "generic", "--bars", str(n), "--limit",
                         str(args.generic_combos)])
    vbt = run_child(["--child", "vectorbt", "--bars", str(n), "--limit", str(args.vbt_combos)])
    cold = cold_start(n)

    ours = {(f, s): r for f, s, r in zip(fused["fast"], fused["slow"], fused["total_return"],
                                         strict=True)}
    diffs = [abs(ours[(f, s)] - r) for f, s, r in
             zip(vbt["fast"], vbt["slow"], vbt["total_return"], strict=True)]
    gen = [abs(ours[(f, s)] - r) for f, s, r in
           zip(generic["fast"], generic["slow"], generic["total_return"], strict=True)]
    max_diff, max_gen = max(diffs), max(gen)
    print(f"total_return parity: quantlab vs vectorbt max |diff| = {max_diff:.2e} over "
          f"{len(diffs)} combinations; fused vs generic path max |diff| = {max_gen:.2e}")
    assert max_diff <= 1e-8, f"quantlab and vectorbt total returns differ by {max_diff}"
    assert max_gen == 0.0, f"fused and generic paths differ by {max_gen} (they are equal bit for bit)"

    rows = []
    for r in (fused, generic, vbt):
        ns = r["seconds"] / (r["combos"] * n) * 1e9
        rows.append({"engine": r["engine"], "combinations": r["combos"],
                     "first call s": r.get("first_seconds", r["seconds"]),
                     f"seconds (median of {REPEAT}; vectorbt: 1 run)": r["seconds"],
                     "ns per bar x combination": ns,
                     "full grid s (extrapolated)": ns * 1225 * n / 1e9,
                     "peak RSS MB": r["rss_mb"]})
    table = pd.DataFrame(rows)
    vbt_ns = table.loc[2, "ns per bar x combination"]
    table["throughput vs vectorbt"] = vbt_ns / table["ns per bar x combination"]
    table["first call vs vectorbt"] = (table.loc[2, "first call s"] / table["first call s"]
                                       * table["combinations"] / table.loc[2, "combinations"])
    extra = pd.DataFrame([{"measure": "first sweep in a fresh process (import + 1225 combos), s",
                           "value": cold}])
    if not args.skip_backtestingpy:
        bt = run_child(["--child", "backtestingpy", "--bars", str(n)])
        extra = pd.concat([extra, pd.DataFrame([
            {"measure": "backtesting.py, SMA(10/30) one run, s", "value": bt["backtesting_seconds"]},
            {"measure": "quantlab.backtest, SMA(10/30) one run, s", "value": bt["quantlab_seconds"]},
            {"measure": "backtesting.py total return", "value": bt["backtesting_return"]},
            {"measure": "quantlab total return", "value": bt["quantlab_return"]},
            {"measure": "backtesting.py trades", "value": float(bt["backtesting_trades"])},
            {"measure": "quantlab trades", "value": float(bt["quantlab_trades"])},
        ])], ignore_index=True)
    if args.markdown:
        sys.path.insert(0, str(HERE))
        from _timing import markdown

        print(markdown(table, digits=2))
        print()
        print(markdown(extra, digits=4))
    else:
        print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        print()
        print(extra.to_string(index=False, float_format=lambda x: f"{x:.4f}"))


if __name__ == "__main__":
    main()

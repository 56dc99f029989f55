"""First use: ``import quantlab``, the first indicator call and the first sweep, cold vs warmed.

    .venv/bin/python benchmarks/first_use.py [--repeat 5] [--skip-cold]

* **Import**: wall time of ``import quantlab`` inside a fresh interpreter (best of
  ``--repeat``), next to importing what ``quantlab/__init__.py`` imported eagerly before the
  lazy imports (data, indicators, metrics, strategies, strategy, backtest, report), and to
  ``import quantlab`` followed by the first touch of ``ql.backtest``.
* **First calls**, each in a fresh process, timed around the call alone (imports and data
  loading excluded): ``ql.ind.sma(close, 20)`` and ``ql.sweep(SmaCross, df, 3x3 grid)`` on
  bundled AAPL. *Cold*: ``NUMBA_CACHE_DIR`` is a new empty folder (a fresh install without
  warming: numba compiles). *Warmed*: a folder filled once by ``python -m quantlab._warm``
  (what ``make setup`` runs; its own time is shown). Cold runs are single shots (a second
  run would be warm); warmed runs are the best of 3.

Prints a Markdown table. The shared machine's load makes absolute numbers noisy; the
ratios are what matters.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EAGER = ("import quantlab.data, quantlab.indicators, quantlab.metrics, quantlab.strategies, "
         "quantlab.strategy, quantlab.backtest, quantlab.backtest.sweep, quantlab.report")

TIMED = {
    "import quantlab": ("", "import quantlab"),
    "import quantlab; ql.backtest": ("", "import quantlab as ql; ql.backtest"),
    "eager imports (the old __init__)": ("", EAGER),
    "first indicator call: sma(close, 20)": (
        "import quantlab as ql; close = ql.data.load('aapl')['close']",
        "ql.ind.sma(close, 20)"),
    "first sweep: SmaCross 3x3 grid": (
        "import quantlab as ql; from quantlab.strategies import SmaCross; "
        "df = ql.data.load('aapl'); grid = {'fast': [5, 10, 20], 'slow': [50, 100, 200]}",
        "ql.sweep(SmaCross, df, grid, progress=False)"),
}


def timed(setup: str, statement: str, env: dict[str, str]) -> float:
    """Seconds ``statement`` takes in a fresh interpreter after ``setup``."""
    code = (f"import time\n{setup}\nt = time.perf_counter()\n{statement}\n"
            "print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-cold", action="store_true", help="only imports and warmed calls")
    args = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR",
                                                            "QUANTLAB_DISABLE_JIT")}
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="ql-first-use-") as tmp:
        warm_dir = Path(tmp) / "warm"
        env_warm = {**base, "NUMBA_CACHE_DIR": str(warm_dir)}
        for name in ("import quantlab", "import quantlab; ql.backtest",
                     "eager imports (the old __init__)"):
            best = min(timed(*TIMED[name], env_warm) for _ in range(args.repeat))
            rows.append((name, f"{best:.3f} s", f"best of {args.repeat}"))
        clock = time.perf_counter()
        subprocess.run([sys.executable, "-m", "quantlab._warm", "--quiet"], env=env_warm,
                       cwd=ROOT, check=True)
        rows.append(("python -m quantlab._warm (make setup)",
                     f"{time.perf_counter() - clock:.1f} s", "once"))
        for name in ("first indicator call: sma(close, 20)", "first sweep: SmaCross 3x3 grid"):
            if not args.skip_cold:
                cold_dir = Path(tmp) / f"cold-{len(rows)}"
                cold = timed(*TIMED[name], {**base, "NUMBA_CACHE_DIR": str(cold_dir)})
                rows.append((f"{name}, cold cache", f"{cold:.3f} s", "1 run"))
            warm = min(timed(*TIMED[name], env_warm) for _ in range(3))
            rows.append((f"{name}, warmed cache", f"{warm:.3f} s", "best of 3"))
    print("| what | time | runs |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

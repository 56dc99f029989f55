"""Cold end-to-end notebook report: `quantlab report notebooks/backtest_report.ipynb`.

    .venv/bin/python benchmarks/report.py [--runs 3]

Each run is a fresh `quantlab report` process (kernel start, execution, HTML export,
manifest), timed wall-clock, with the numba cache on disk as a user has it after the first
run; one more run first clears the numba cache to show the very first run after install.
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
QUANTLAB = Path(sys.executable).parent / "quantlab"


def run_once(out: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(QUANTLAB), "report", "notebooks/backtest_report.ipynb", "--out", out, "--no-progress"],
                   cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def clear_numba_cache() -> None:
    for path in (ROOT / "quantlab").rglob("*.nb[ic]"):
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        clear_numba_cache()
        first = run_once(out)
        warm = [run_once(out) for _ in range(args.runs)]
    print(f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("| run | wall s |\n|---|---|")
    print(f"| first after install (numba cache empty) | {first:.1f} |")
    for i, t in enumerate(warm, 1):
        print(f"| cold process {i} (numba cache on disk) | {t:.1f} |")


if __name__ == "__main__":
    main()

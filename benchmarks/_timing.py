"""Timing helpers shared by the benchmarks (best of N, after a warm-up call)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd


def best_time(func: Callable[[], Any], *, repeat: int = 5, min_time: float = 0.05) -> float:
    """Best wall time of ``func()`` in seconds over ``repeat`` rounds (after one warm-up call).

    Each round repeats the call until it has run at least ``min_time`` seconds.
    """
    func()
    best = float("inf")
    for _ in range(repeat):
        calls = 0
        start = time.perf_counter()
        while True:
            func()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / calls)
    return best


def markdown(frame: pd.DataFrame, digits: int = 2) -> str:
    """Render ``frame`` as a GitHub Markdown table (floats with ``digits`` decimals)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "n/a" if v != v else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)

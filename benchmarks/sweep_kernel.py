"""The fused sweep kernel alone, and the first-touch cost behind ``compute_rows``.

    .venv/bin/python benchmarks/sweep_kernel.py [--bars 100000] [--repeat 5]

Part 1: ``cross_sweep`` (the fused kernel, one share of combinations per thread) on the
benchmark grid of ``benchmarks/backtest.py`` (SMA cross,
fast < slow in 5..54, 1225 combinations, fill at the close, fees 0.1 %): CPU seconds of the
calling thread with one numba thread (``time.thread_time``, insensitive to other load), and
wall seconds with all threads; best of ``--repeat``.
Part 2: ``compute_rows`` (50 SMA windows into a fresh (50, T) array) on two threads, each call
timed, with the output's pages touched first by the calling thread (as shipped) and without.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from backtest import combos, make_bars

import quantlab.indicators._api as api
from quantlab.backtest import sweep_kernels as SK
from quantlab.indicators.overlap import SMA_SPEC


def part1(n: int, repeat: int) -> None:
    data = make_bars(n)
    pairs = combos()
    windows = np.arange(5, 55, dtype=np.float64)
    params = np.array([[f - 5, s - 5, 0.0] for f, s in pairs])
    warm = np.array([s for _, s in pairs], dtype=np.int64)
    o = data["open"].to_numpy().copy()
    c = data["close"].to_numpy().copy()
    args = (SK.MA_SMA, windows, params, warm, o, c, False, 1e4, 0.001, 0.0, 0.0, 1.0, 0, n - 1)
    SK.cross_sweep(*args)  # compile / load
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    cpu = min(_timed(time.thread_time, args) for _ in range(repeat))
    numba.set_num_threads(threads)
    wall = min(_timed(time.perf_counter, args) for _ in range(repeat))
    per = 1e9 / (len(pairs) * n)
    print(f"cross_sweep, {len(pairs)} combinations x {n} bars: 1 thread {cpu:.3f} s CPU "
          f"({cpu * per:.2f} ns per bar x combination); {threads} threads {wall:.3f} s wall")


def _timed(clock, args) -> float:
    t0 = clock()
    SK.cross_sweep(*args)
    return clock() - t0


def part2(n: int) -> None:
    x = make_bars(n)["close"].to_numpy().copy()
    windows = list(range(5, 55))
    api.compute_rows(SMA_SPEC, x, windows)
    shipped = api._prefault
    for label, prefault in (("pages touched first", shipped), ("no touching", lambda arrays: None)):
        api._prefault = prefault
        ms = []
        for _ in range(8):
            t0 = time.perf_counter()
            api.compute_rows(SMA_SPEC, x, windows)
            ms.append((time.perf_counter() - t0) * 1e3)
        print(f"compute_rows, 50 windows x {n} bars, {numba.get_num_threads()} threads, "
              f"{label}: " + " ".join(f"{m:.1f}" for m in ms) + " ms")
    api._prefault = shipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    part1(args.bars, args.repeat)
    part2(args.bars)


if __name__ == "__main__":
    main()

"""GARCH one-step forecasts over 20 years of daily bars: quantlab's walk forward vs arch loops.

    .venv/bin/python benchmarks/garch.py [--bars 5040] [--stretch 100] [--markdown]

Rows, all GARCH(1,1), zero mean, normal, expanding window, first fit after 500 bars, on
``quantlab.data.synthetic.garch(bars, seed=0)`` returns:

1. quantlab ``garch_volatility(refit_every=21)`` (arch fits monthly, numba recursion between);
2. arch by hand, the same schedule: per refit ``arch_model(y[:end]).fit(last_obs=k)`` and
   ``forecast(start=k - 1)`` (the forecasts must equal row 1: max relative difference shown);
3. arch refitting every bar (``arch_model(y[:t]).fit()`` then a one-step ``forecast``), timed
   on ``--stretch`` bars from bar 500; its total for all bars is **extrapolated** from the
   stretch (per-bar time x forecast bars) and labelled so.
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

import numpy as np
import pandas as pd
from _timing import markdown
from arch import arch_model

from quantlab.data import synthetic
from quantlab.regime.garch import garch_volatility

MIN_TRAIN = 500
REFIT = 21


def _timed(func: Any, repeat: int) -> tuple[float, float, Any]:
    """Best wall time, CPU time of that round (process CPU: steadier on a loaded machine)."""
    best, cpu, out = float("inf"), float("nan"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = func()
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, time.process_time() - start_cpu
    return best, cpu, out


def arch_monthly(y: np.ndarray) -> np.ndarray:
    n = y.size
    out = np.full(n, np.nan)
    bars = list(range(MIN_TRAIN, n, REFIT))
    for i, k in enumerate(bars):
        end = bars[i + 1] if i + 1 < len(bars) else n
        res = arch_model(y[:end], mean="Zero", vol="GARCH", p=1, q=1, rescale=False).fit(
            disp="off", last_obs=k)
        fc = res.forecast(horizon=1, start=k - 1, reindex=False).variance.to_numpy()[:, 0]
        out[k:end] = np.sqrt(fc[: end - k]) / 100.0
    return out


def arch_every_bar(y: np.ndarray, first: int, count: int) -> np.ndarray:
    out = np.empty(count)
    for i, t in enumerate(range(first, first + count)):
        res = arch_model(y[:t], mean="Zero", vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
        out[i] = np.sqrt(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]) / 100
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=5040)
    ap.add_argument("--stretch", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    r = synthetic.garch(args.bars, seed=0).returns
    y = r.to_numpy() * 100.0
    garch_volatility(r.iloc[:700], refit_every=100)  # compile the numba kernel (cached)
    n_fc = args.bars - MIN_TRAIN
    n_fits = len(range(MIN_TRAIN, args.bars, REFIT))

    t_ql, c_ql, ours = _timed(lambda: garch_volatility(r, refit_every=REFIT, min_train=MIN_TRAIN),
                        args.repeat)
    t_arch, c_arch, theirs = _timed(lambda: arch_monthly(y), args.repeat)
    ok = ~np.isnan(theirs)
    diff = float(np.max(np.abs(ours.to_numpy()[ok] / theirs[ok] - 1.0)))
    first = MIN_TRAIN + (n_fc - args.stretch) // 2
    t_bar, c_bar, _ = _timed(lambda: arch_every_bar(y, first, args.stretch), 1)
    per_bar = t_bar / args.stretch

    rows = [
        {"method": f"quantlab garch_volatility(refit_every={REFIT})", "fits": n_fits,
         "total s": t_ql, "cpu s": c_ql, "ms per forecast bar": 1e3 * t_ql / n_fc, "measured": "yes"},
        {"method": f"arch by hand, refit every {REFIT} (same forecasts; max rel diff "
                   f"{diff:.1e})", "fits": n_fits, "total s": t_arch, "cpu s": c_arch,
         "ms per forecast bar": 1e3 * t_arch / n_fc, "measured": "yes"},
        {"method": f"arch refit every bar: bars {first}-{first + args.stretch - 1}",
         "fits": args.stretch,
         "total s": t_bar, "cpu s": c_bar, "ms per forecast bar": 1e3 * per_bar, "measured": "yes"},
        {"method": f"arch refit every bar: all {n_fc} forecast bars", "fits": n_fc,
         "total s": per_bar * n_fc, "cpu s": c_bar / args.stretch * n_fc,
         "ms per forecast bar": 1e3 * per_bar,
         "measured": "EXTRAPOLATED from the stretch"},
    ]
    frame = pd.DataFrame(rows)
    header = (f"GARCH(1,1) one-step forecasts, {args.bars} daily bars ({n_fc} forecast bars, "
              f"first fit at {MIN_TRAIN}, expanding window), best of {args.repeat}; "
              f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    if args.markdown:
        print(header + "\n")
        print(markdown(frame, digits=2))
    else:
        print(header)
        print(frame.to_string(index=False))
    print(f"\nspeed-up of monthly refits over per-bar refits (extrapolated): "
          f"{per_bar * n_fc / t_ql:.0f}x; quantlab / arch-by-hand on the same schedule: "
          f"{t_ql / t_arch:.2f}")


if __name__ == "__main__":
    main()

"""Walk-forward portfolio re-optimization: one compiled (DPP) problem vs rebuilding each time.

    .venv/bin/python benchmarks/portfolio.py --markdown
    .venv/bin/python benchmarks/portfolio.py --assets 50 --years 20 --lookback 252

Data: synthetic daily returns of ``--assets`` assets over ``--years`` x 252 bars (a 3-factor
model plus idiosyncratic noise, seed 0). Schedule: monthly (every 21 bars) from bar
``--lookback`` on; each rebalance estimates the mean and sample covariance on the trailing
``--lookback`` returns (these estimates are computed once, outside the timing) and solves:

* ``min_cvar`` (95 %, the ``lookback`` returns as scenarios: an LP with lookback + N + 1
  variables), long only, max weight 10 %;
* ``max_sharpe`` (homogenized QP), long only, max weight 10 %.

Two ways, in one run, same solver (Clarabel) and tolerances:

* **rebuilt**: a new cvxpy problem with the estimates as constants at every rebalance
  (``CompiledProblem(..., parametric=False)``, what ``optimize()`` and PyPortfolioOpt do),
  so cvxpy canonicalizes every time;
* **compiled**: ``Optimizer.compile`` once (``Parameter``s, DPP), then only
  ``Parameter.value`` assignments and ``solve`` (the first solve, which canonicalizes, is
  included).

Reported: total wall seconds over the schedule (CPU seconds of this process in brackets:
the fairer number on a shared machine), CPU milliseconds per rebalance, the speed-up, the
largest weight difference between the two (they solve the same problem), and, when it is
installed, PyPortfolioOpt rebuilding each time (``EfficientFrontier.max_sharpe`` /
``EfficientCVaR.min_cvar``, Clarabel, the same bounds) as the field's baseline.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import markdown  # noqa: E402

from quantlab.portfolio.constraints import Constraints  # noqa: E402
from quantlab.portfolio.problems import CompiledProblem, Optimizer  # noqa: E402


def synthetic_returns(n_assets: int, n_bars: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    factors = rng.normal(0.0, 0.01, (n_bars, 3))
    loadings = rng.normal(0.8, 0.4, (n_assets, 3)) * np.array([1.0, 0.5, 0.3])
    alpha = rng.normal(3e-4, 2e-4, n_assets)
    noise = rng.normal(0.0, 0.012, (n_bars, n_assets))
    return alpha + factors @ loadings.T + noise


def _timed(func):
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _pypfopt(objective: str, est, windows, n: int) -> list[np.ndarray] | None:
    try:
        import pypfopt
    except ImportError:  # a test-only dependency
        return None
    out = []
    for (mu, cov), w in zip(est, windows, strict=True):
        if objective == "max_sharpe":
            ef = pypfopt.EfficientFrontier(mu, cov, weight_bounds=(0, 0.10), solver="CLARABEL")
            ef.max_sharpe(risk_free_rate=0.0)
        else:
            ef = pypfopt.EfficientCVaR(mu, pd.DataFrame(w), beta=0.95, weight_bounds=(0, 0.10),
                                       solver="CLARABEL")
            ef.min_cvar()
        out.append(np.asarray(ef.weights, dtype=np.float64))
    return out


def run(objective: str, x: np.ndarray, lookback: int, every: int) -> dict[str, object]:
    n = x.shape[1]
    assets = [f"A{i:02d}" for i in range(n)]
    opt = Optimizer(objective=objective, periods_per_year=252,
                    constraints=Constraints(max_weight=0.10))
    bars = np.arange(lookback, x.shape[0], every)
    windows = [x[t - lookback:t] for t in bars]
    est = [opt.estimator.estimate_arr(w, 252) for w in windows]

    def compiled_run() -> list[np.ndarray]:
        compiled = opt.compile(assets, n_scenarios=lookback)
        return [compiled.solve_estimates(mu, cov, scenarios=w).weights.to_numpy()
                for (mu, cov), w in zip(est, windows, strict=True)]

    def rebuilt_run() -> list[np.ndarray]:
        return [CompiledProblem(opt, assets, n_scenarios=lookback, parametric=False)
                .solve_estimates(mu, cov, scenarios=w).weights.to_numpy()
                for (mu, cov), w in zip(est, windows, strict=True)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an inaccurate solve is reported, not fatal, here
        fast, fast_wall, fast_cpu = _timed(compiled_run)
        slow, slow_wall, slow_cpu = _timed(rebuilt_run)
        ppo, ppo_wall, ppo_cpu = _timed(lambda: _pypfopt(objective, est, windows, n))
    diff = max(float(np.abs(a - b).max()) for a, b in zip(fast, slow, strict=True))
    k = len(bars)
    return {"objective": objective, "rebalances": k,
            "rebuilt_s (cpu)": f"{slow_wall:.1f} ({slow_cpu:.1f})",
            "compiled_s (cpu)": f"{fast_wall:.1f} ({fast_cpu:.1f})",
            "ms/rebalance rebuilt vs compiled (cpu)": f"{1e3 * slow_cpu / k:.0f} vs "
                                                      f"{1e3 * fast_cpu / k:.0f}",
            "speedup wall (cpu)": f"{slow_wall / fast_wall:.2f}x ({slow_cpu / fast_cpu:.2f}x)",
            "pypfopt_s (cpu)": "n/a" if ppo is None else f"{ppo_wall:.1f} ({ppo_cpu:.1f})",
            "max_weight_diff": f"{diff:.1e}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=50)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--lookback", type=int, default=252)
    ap.add_argument("--every", type=int, default=21, help="bars between rebalances")
    ap.add_argument("--objectives", nargs="+", default=["min_cvar", "max_sharpe"])
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    x = synthetic_returns(args.assets, args.years * 252)
    rows = [run(obj, x, args.lookback, args.every) for obj in args.objectives]
    table = pd.DataFrame(rows)
    print(f"# {args.assets} assets, {args.years} years of daily returns "
          f"({x.shape[0]} bars), lookback {args.lookback}, every {args.every} bars; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    if args.markdown:
        print(markdown(table, digits=2))
    else:
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()

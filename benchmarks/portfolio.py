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

Two ways, in one run, interleaved (at each rebalance the compiled problem, then a rebuilt
one), the same solver and the same tolerances (``SOLVER_OPTIONS``) on both sides:

* **rebuilt**: a new cvxpy problem with the estimates as constants at every rebalance
  (``CompiledProblem(..., parametric=False)``, what ``optimize()`` and PyPortfolioOpt do),
  so cvxpy canonicalizes and the solver starts cold every time;
* **compiled**: ``Optimizer.compile`` once (its compile time is counted), then re-solves.
  With Clarabel: ``Parameter.value`` assignments and cvxpy's DPP fast path (an
  interior-point method cannot warm start). With HiGHS: one persistent HiGHS model whose
  data are refreshed in a fixed sparsity pattern, no cvxpy call per solve, and for the CVaR
  LP the simplex basis of the previous rebalance as the start, the scenarios kept in their
  rows as the window rolls (``problems._HighsWarm``). The max-Sharpe QP starts afresh (HiGHS's
  QP solver measured no faster from a basis): its gain is skipping cvxpy.

Solvers (``--solvers``): HiGHS (feasibility tolerances 1e-9) and Clarabel (gaps 1e-10).

Reported: total wall seconds over the schedule (CPU seconds of this process in brackets:
the fairer number on a shared machine), CPU milliseconds per rebalance, the speed-up, the
largest weight difference between the two (they solve the same problem), and, when it is
installed, PyPortfolioOpt rebuilding each time (``EfficientFrontier.max_sharpe`` /
``EfficientCVaR.min_cvar``, Clarabel at its default tolerances, the same bounds) as the
field's baseline (on the Clarabel row).
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


def run(objective: str, solver: str, x: np.ndarray, lookback: int, every: int,
        peer: bool) -> dict[str, object]:
    n = x.shape[1]
    assets = [f"A{i:02d}" for i in range(n)]
    opt = Optimizer(objective=objective, periods_per_year=252,
                    constraints=Constraints(max_weight=0.10), solver=solver)
    bars = np.arange(lookback, x.shape[0], every)
    windows = [x[t - lookback:t] for t in bars]
    est = [opt.estimator.estimate_arr(w, 252) for w in windows]
    fast, slow = [], []
    wall = {"compiled": 0.0, "rebuilt": 0.0}
    cpu = {"compiled": 0.0, "rebuilt": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an inaccurate solve is reported, not fatal, here
        # interleaved: at each rebalance the compiled problem, then a rebuilt one, so both
        # see the same load on a shared machine; compiling is counted in the first solve
        compiled = None
        for (mu, cov), w in zip(est, windows, strict=True):
            def solve_compiled(mu=mu, cov=cov, w=w):
                nonlocal compiled
                if compiled is None:
                    compiled = opt.compile(assets, n_scenarios=lookback)
                return compiled.solve_estimates(mu, cov, scenarios=w).weights.to_numpy()

            def solve_rebuilt(mu=mu, cov=cov, w=w):
                return (CompiledProblem(opt, assets, n_scenarios=lookback, parametric=False)
                        .solve_estimates(mu, cov, scenarios=w).weights.to_numpy())

            for name, func, out in (("compiled", solve_compiled, fast),
                                    ("rebuilt", solve_rebuilt, slow)):
                got, dw, dc = _timed(func)
                out.append(got)
                wall[name] += dw
                cpu[name] += dc
        ppo, ppo_wall, ppo_cpu = (None, 0.0, 0.0)
        if peer:
            ppo, ppo_wall, ppo_cpu = _timed(lambda: _pypfopt(objective, est, windows, n))
    diff = max(float(np.abs(a - b).max()) for a, b in zip(fast, slow, strict=True))
    k = len(bars)
    sw, fw, sc, fc = wall["rebuilt"], wall["compiled"], cpu["rebuilt"], cpu["compiled"]
    return {"objective": objective, "solver": solver, "rebalances": k,
            "rebuilt_s (cpu)": f"{sw:.2f} ({sc:.2f})",
            "compiled_s (cpu)": f"{fw:.2f} ({fc:.2f})",
            "cpu ms/rebalance rebuilt vs compiled": f"{1e3 * sc / k:.1f} vs {1e3 * fc / k:.1f}",
            "speedup wall (cpu)": f"{sw / fw:.2f}x ({sc / fc:.2f}x)",
            "pypfopt_s (cpu)": "-" if not peer else "n/a" if ppo is None
            else f"{ppo_wall:.2f} ({ppo_cpu:.2f})",
            "max_weight_diff": f"{diff:.1e}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=50)
    ap.add_argument("--years", type=int, default=20)
    ap.add_argument("--lookback", type=int, default=252)
    ap.add_argument("--every", type=int, default=21, help="bars between rebalances")
    ap.add_argument("--objectives", nargs="+", default=["min_cvar", "max_sharpe"])
    ap.add_argument("--solvers", nargs="+", default=["HIGHS", "CLARABEL"],
                    help="each solver on both sides (rebuilt and compiled)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    x = synthetic_returns(args.assets, args.years * 252)
    rows = [run(obj, solver, x, args.lookback, args.every, peer=solver == args.solvers[-1])
            for obj in args.objectives for solver in args.solvers]
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

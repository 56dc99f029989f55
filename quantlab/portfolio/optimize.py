"""``optimize()`` and ``efficient_frontier()``: one-shot portfolio optimization."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import as_float_array, check_int, message
from quantlab.errors import DataError, InvalidParameterError
from quantlab.portfolio.constraints import Constraints
from quantlab.portfolio.estimators import Estimator, _prepare
from quantlab.portfolio.problems import CompiledProblem, Optimizer
from quantlab.portfolio.result import PortfolioResult

__all__ = ["optimize", "efficient_frontier"]


def _assets(returns: Any, caller: str) -> list[str]:
    if isinstance(returns, pd.DataFrame):
        return [str(c) for c in returns.columns]
    arr = np.asarray(returns)
    if arr.ndim != 2:
        raise DataError(message("returns", caller, "a (T, N) DataFrame or array",
                                f"shape {arr.shape}"))
    return [f"asset_{i}" for i in range(arr.shape[1])]


def _estimates(opt: Optimizer, x: np.ndarray, assets: list[str], expected_returns: Any,
               covariance: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
    mu, cov = opt.estimator.estimate_arr(x, opt.periods_per_year)
    for name, given, shape in (("expected_returns", expected_returns, (len(assets),)),
                               ("covariance", covariance, (len(assets), len(assets)))):
        if given is None:
            continue
        if isinstance(given, pd.Series):
            given = given.reindex(assets)
        elif isinstance(given, pd.DataFrame):
            given = given.reindex(index=assets, columns=assets)
        arr = as_float_array(given, name, caller=caller, ndim=(len(shape),))
        if arr.shape != shape or not np.isfinite(arr).all():
            raise DataError(message(name, caller, f"finite, shape {shape}, labelled by the "
                                    "columns of returns", f"shape {arr.shape}"))
        if name == "expected_returns":
            mu = arr
        else:
            cov = arr
    return mu, cov


def optimize(returns: Any, *, objective: str = "min_variance", periods_per_year: float,
             constraints: Constraints | None = None, estimator: Estimator | None = None,
             risk_aversion: float = 1.0, risk_free_rate: float = 0.0, confidence: float = 0.95,
             risk_budget: Mapping[str, float] | Sequence[float] | None = None,
             linkage: str = "single", solver: str = "CLARABEL", current_weights: Any = None,
             expected_returns: Any = None, covariance: Any = None) -> PortfolioResult:
    """Optimize portfolio weights from a history of asset returns.

    Parameters
    ----------
    returns : DataFrame or (T, N) ndarray
        Simple per-period returns, one column per asset, no NaN. They feed the estimators
        and, for ``min_cvar`` and ``max_growth``, are the scenarios.
    objective : str, default "min_variance"
        ``"min_variance"``, ``"mean_variance"`` (``risk_aversion``), ``"max_sharpe"``,
        ``"risk_parity"`` (``risk_budget``), ``"min_cvar"`` (``confidence``),
        ``"max_growth"`` (Kelly) or ``"hrp"`` (``linkage``).
    periods_per_year : float
        Bars per year: means and covariances are annualized with it (required).
    constraints : Constraints, optional
        Default ``Constraints()``: long only, fully invested.
    estimator : Estimator, optional
        Default ``Estimator()``: historical mean, sample covariance.
    risk_aversion, risk_free_rate, confidence, risk_budget, linkage, solver
        See :class:`~quantlab.portfolio.Optimizer`.
    current_weights : Series, mapping or array, optional
        Held weights, for ``constraints.max_turnover`` (default: cash).
    expected_returns, covariance : Series/DataFrame or arrays, optional
        Annualized estimates replacing the estimator's (e.g. the same numbers a reference
        library uses).

    Returns
    -------
    PortfolioResult

    Raises
    ------
    InvalidParameterError
        A bad option, or an infeasible problem: the message names the constraints that
        clash. No weights are returned.
    OptimizationError
        The solver failed; ``.status`` carries its status.

    Notes
    -----
    The problem is built with the estimates as constants and solved once (PyPortfolioOpt's
    way). For many solves of one problem shape use ``Optimizer(...).compile(assets)`` or
    :func:`~quantlab.portfolio.rebalance`, which re-solve one DPP-compiled problem.
    Formulations: :mod:`quantlab.portfolio.problems`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> r = pd.DataFrame(rng.normal(0.0005, 0.01, (500, 3)), columns=["A", "B", "C"])
    >>> res = optimize(r, objective="min_variance", periods_per_year=252)
    >>> round(float(res.weights.sum()), 8)
    1.0
    """
    caller = "optimize"
    opt = Optimizer(objective=objective, periods_per_year=periods_per_year,
                    constraints=constraints if constraints is not None else Constraints(),
                    estimator=estimator if estimator is not None else Estimator(),
                    risk_aversion=risk_aversion, risk_free_rate=risk_free_rate,
                    confidence=confidence, risk_budget=risk_budget, linkage=linkage,
                    solver=solver)
    x = _prepare(returns, caller)
    assets = _assets(returns, caller)
    mu, cov = _estimates(opt, x, assets, expected_returns, covariance, caller)
    problem = CompiledProblem(opt, assets, n_scenarios=x.shape[0], parametric=False,
                              caller=caller)
    return problem.solve_estimates(mu, cov, scenarios=x, current_weights=current_weights)


def efficient_frontier(returns: Any, *, periods_per_year: float, n_points: int = 20,
                       constraints: Constraints | None = None,
                       estimator: Estimator | None = None, risk_free_rate: float = 0.0,
                       expected_returns: Any = None, covariance: Any = None) -> pd.DataFrame:
    """Trace the mean-variance efficient frontier under the constraints.

    From the minimum-variance portfolio to the highest expected return the constraints
    allow, ``n_points`` target returns evenly spaced; each point is the minimum-variance
    portfolio with ``mu'w >= target``. One DPP problem is compiled and re-solved for each
    target.

    Parameters
    ----------
    returns : DataFrame or (T, N) ndarray
    periods_per_year : float
    n_points : int >= 2, default 20
    constraints : Constraints, optional (its ``target_return`` is ignored)
    estimator : Estimator, optional
    risk_free_rate : float, default 0.0 - for the Sharpe column.
    expected_returns, covariance : optional annualized estimates (see :func:`optimize`).

    Returns
    -------
    DataFrame
        One row per point: ``expected_return``, ``volatility``, ``sharpe``, then one
        weight column per asset.

    Raises
    ------
    InvalidParameterError
        Infeasible constraints (named), or an unbounded highest return (no upper bound
        on the weights).
    """
    caller = "efficient_frontier"
    n_points = check_int("n_points", n_points, caller=caller, minimum=2)
    cons = constraints if constraints is not None else Constraints()
    x = _prepare(returns, caller)
    assets = _assets(returns, caller)
    base = Optimizer(objective="min_variance", periods_per_year=periods_per_year,
                     constraints=replace(cons, target_return=None),
                     estimator=estimator if estimator is not None else Estimator(),
                     risk_free_rate=risk_free_rate)
    mu, cov = _estimates(base, x, assets, expected_returns, covariance, caller)
    low = CompiledProblem(base, assets, n_scenarios=None, parametric=False,
                          caller=caller).solve_estimates(mu, cov)
    top = CompiledProblem(base.replace(objective="mean_variance", risk_aversion=0.0), assets,
                          n_scenarios=None, parametric=False, caller=caller)
    try:
        best = top.solve_estimates(mu, cov)
    except Exception as exc:
        raise InvalidParameterError(
            f"{caller}(): the highest expected return under the constraints is unbounded; "
            "bound the weights (long_only, upper, max_weight or gross_leverage).") from exc
    compiled = base.replace(constraints=replace(cons, target_return=0.0)).compile(assets)
    rows = []
    for target in np.linspace(low.expected_return, best.expected_return, n_points):
        # the end points exactly: a target at the highest return is feasible only to tolerance
        res = compiled.solve_estimates(mu, cov, target_return=min(target, best.expected_return
                                                                  - 1e-9 * (1 + abs(target))))
        rows.append([res.expected_return, res.volatility, res.sharpe, *res.weights.to_numpy()])
    return pd.DataFrame(rows, columns=["expected_return", "volatility", "sharpe", *assets])


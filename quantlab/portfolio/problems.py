"""The portfolio problems: an :class:`Optimizer` (what to solve) compiles once into a
:class:`CompiledProblem` (cvxpy, DPP ``Parameter``s) that re-solves for new estimates.

``optimize()`` (:mod:`quantlab.portfolio.optimize`) builds a problem with the estimates as
constants and solves it once, as PyPortfolioOpt does; a rebalancing schedule compiles one
problem and only assigns ``Parameter.value`` at each rebalance (cvxpy then skips
canonicalization: the DPP fast path).

With ``solver="HIGHS"`` a compiled ``min_variance``, ``mean_variance``, ``max_sharpe`` or
``min_cvar`` problem whose constraints are linear (``net_exposure``, bounds, ``max_weight``,
groups, ``target_return``) re-solves without cvxpy: one persistent HiGHS model takes the new
data (its sparsity pattern is fixed) and, for the CVaR LP, starts the simplex from the
previous solve's basis, so a re-solve costs the few pivots the new estimates require. An
interior-point solver (Clarabel, the default) cannot warm start. Other constraints, and any
solve HiGHS does not finish optimal, go through the cvxpy problem (still with HiGHS).

Formulations (``w`` weights, ``mu`` annualized means, ``Sigma = F F'`` annualized
covariance with ``F`` its symmetric square-root factor, ``R`` the (S, N) scenario returns):

* ``min_variance``: min ``||F'w||^2``.
* ``mean_variance``: max ``mu'w - risk_aversion / 2 ||F'w||^2`` (``risk_aversion = 0``:
  max ``mu'w``, the efficient-risk problem with ``target_volatility``).
* ``max_sharpe``: the homogenized problem (Cornuejols & Tütüncü 2007, sec. 8.2):
  min ``||F'y||^2`` s.t. ``(mu - r_f)'y = 1``, every linear constraint scaled by
  ``kappa >= 0``; ``w = y / kappa``.
* ``risk_parity``: min ``1/2 y'Sigma y - b' ln y`` (then ``w = y / sum y``; REFERENCES
  "Portfolio"), polished by Newton steps on ``Sigma y = b / y``.
* ``min_cvar``: Rockafellar & Uryasev (2000): min ``z + sum(u) / ((1 - beta) S)`` s.t.
  ``u >= -R w - z``, ``u >= 0``.
* ``max_growth``: max ``mean_s ln(1 + r_s'w)`` (Kelly on the scenarios).
* ``hrp``: :func:`~quantlab.portfolio.hrp.hrp_weights_arr` (no solver).
* ``equal_weight``: ``net_exposure / N`` each (no solver; the usual benchmark).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import cvxpy as cp
import numpy as np
import pandas as pd

from quantlab._validate import as_float_array, check_choice, check_float, message
from quantlab.errors import ConvergenceWarning, DataError, InvalidParameterError
from quantlab.portfolio.constraints import Constraints, Resolved
from quantlab.portfolio.estimators import Estimator
from quantlab.portfolio.hrp import LINKAGES, hrp_weights_arr
from quantlab.portfolio.result import OptimizationError, PortfolioResult

__all__ = ["OBJECTIVES", "Optimizer", "CompiledProblem", "cvar_arr", "SOLVER_OPTIONS"]

OBJECTIVES: tuple[str, ...] = ("min_variance", "mean_variance", "max_sharpe", "risk_parity",
                               "min_cvar", "max_growth", "hrp", "equal_weight")
_SCENARIO_OBJECTIVES = ("min_cvar", "max_growth")
#: Solver tolerances, the same for a one-shot solve and a compiled re-solve. Clarabel's:
#: tight, so closed forms and the reference libraries match to 1e-8. HiGHS's (simplex for
#: the LPs, active set for the QPs): feasibility to 1e-9.
SOLVER_OPTIONS: dict[str, dict[str, Any]] = {
    "CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10,
                 "tol_ktratio": 1e-8, "max_iter": 500},
    "HIGHS": {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9},
}
#: Objectives the HiGHS warm path re-solves (LP or QP with linear constraints).
_WARM_OBJECTIVES = ("min_variance", "mean_variance", "max_sharpe", "min_cvar")
#: Constraint groups the HiGHS warm path models (the rest need auxiliary variables or cones).
_WARM_GROUPS = ("net_exposure", "bounds", "max_weight", "target_return")
_OK = ("optimal", "optimal_inaccurate")


@dataclass(frozen=True, kw_only=True, eq=False)
class Optimizer:
    """What to optimize: objective, constraints, estimators and annualization.

    Parameters
    ----------
    objective : str, default "min_variance"
        One of :data:`OBJECTIVES`.
    periods_per_year : float
        Bars per year of the returns (required: annualization is always explicit).
    constraints : Constraints, default Constraints() (long only, fully invested)
    estimator : Estimator, default Estimator() (historical mean, sample covariance)
    risk_aversion : float >= 0, default 1.0 - ``mean_variance``'s ``delta``.
    risk_free_rate : float, default 0.0 - annual, for ``max_sharpe`` and the Sharpe ratio.
    confidence : float in (0, 1), default 0.95 - ``min_cvar``'s ``beta``.
    risk_budget : {asset: float} or sequence, optional - ``risk_parity``'s budgets
        (normalized to sum 1; default equal).
    linkage : {"single", "complete", "average", "ward"}, default "single" - ``hrp``.
    solver : str, default "CLARABEL" - any solver cvxpy has installed. ``"HIGHS"`` re-solves
        a compiled LP/QP from the previous basis (much faster over a schedule; see the
        module notes); Clarabel is needed for ``risk_parity``, ``max_growth`` and
        ``target_volatility`` (cones).

    Examples
    --------
    >>> Optimizer(objective="min_cvar", periods_per_year=252, confidence=0.9).objective
    'min_cvar'
    """

    objective: str = "min_variance"
    periods_per_year: float
    constraints: Constraints = field(default_factory=Constraints)
    estimator: Estimator = field(default_factory=Estimator)
    risk_aversion: float = 1.0
    risk_free_rate: float = 0.0
    confidence: float = 0.95
    risk_budget: Mapping[str, float] | Sequence[float] | None = None
    linkage: str = "single"
    solver: str = "CLARABEL"

    def __post_init__(self) -> None:
        caller = "Optimizer"
        check_choice("objective", self.objective, OBJECTIVES, caller=caller)
        checks: tuple[tuple[str, float | None, float | None, bool], ...] = (
            ("periods_per_year", 0.0, None, True), ("risk_aversion", 0.0, None, False),
            ("risk_free_rate", None, None, False), ("confidence", 0.0, 1.0 - 1e-12, True))
        for name, low, high, exclusive in checks:
            object.__setattr__(self, name, check_float(name, getattr(self, name), caller=caller,
                                                       minimum=low, maximum=high,
                                                       exclusive_minimum=exclusive))
        if not isinstance(self.constraints, Constraints):
            raise InvalidParameterError(message("constraints", caller, "a Constraints",
                                                type(self.constraints).__name__,
                                                "Build one: Constraints(max_weight=0.3)."))
        if not isinstance(self.estimator, Estimator):
            raise InvalidParameterError(message("estimator", caller, "an Estimator",
                                                type(self.estimator).__name__,
                                                "Build one: Estimator(covariance='ledoit_wolf')."))
        check_choice("linkage", self.linkage, LINKAGES, caller=caller)
        solvers = cp.installed_solvers()
        check_choice("solver", self.solver, solvers, caller=caller)
        if self.objective in ("risk_parity", "hrp", "equal_weight"):
            c = self.constraints
            extra = [n for n in c.active() if n not in ("net_exposure", "bounds")]
            if c.lower is not None or c.upper is not None:
                extra.insert(0, "lower/upper")
            if extra or not c.long_only or c.net_exposure <= 0:
                raise InvalidParameterError(message(
                    "constraints", caller, f"long-only with a positive net_exposure for "
                    f"objective {self.objective!r} (its weights follow from the covariance)",
                    ", ".join(extra) or f"long_only={c.long_only}, "
                    f"net_exposure={c.net_exposure}",
                    "Use min_variance or min_cvar for constrained allocations."))
        if self.objective == "max_sharpe":
            c = self.constraints
            bad = [n for n in ("target_return", "target_volatility") if getattr(c, n) is not None]
            if bad:
                raise InvalidParameterError(message(
                    "constraints", caller, "free of target_return/target_volatility for "
                    "max_sharpe (the Sharpe ratio fixes the scale)", ", ".join(bad),
                    "Use objective='min_variance' with target_return (efficient return) or "
                    "'mean_variance' with risk_aversion=0 and target_volatility (efficient risk)."))

    def replace(self, **changes: Any) -> Optimizer:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @property
    def needs_scenarios(self) -> bool:
        """True when the objective reads the scenario returns (min_cvar, max_growth)."""
        return self.objective in _SCENARIO_OBJECTIVES

    def compile(self, assets: Sequence[str], *, n_scenarios: int | None = None) -> CompiledProblem:
        """Build the parametrized problem once, for re-solving with new estimates.

        Parameters
        ----------
        assets : sequence of str
        n_scenarios : int, optional - rows of the scenario matrix (the lookback), required
            for ``min_cvar`` and ``max_growth``.
        """
        return CompiledProblem(self, list(assets), n_scenarios=n_scenarios, parametric=True)


def cvar_arr(losses: np.ndarray, beta: float) -> float:
    """(S,) losses -> ``min_z z + E[(L - z)+] / (1 - beta)`` (Rockafellar-Uryasev CVaR;
    the minimum over z is attained at a scenario loss, searched exactly)."""
    s = np.sort(losses)
    n = s.size
    tail = np.cumsum(s[::-1])[::-1]  # tail[j] = sum_{i >= j} s_i
    above = np.concatenate([tail[1:], [0.0]]) - s * (n - 1 - np.arange(n))
    return float(np.min(s + above / (n * (1.0 - beta))))


def _factor(cov: np.ndarray) -> np.ndarray:
    """A factor F with F F' = cov: the Cholesky factor, or for a singular PSD matrix the
    symmetric square root (negative eigenvalues of rounding -> 0)."""
    sym = (cov + cov.T) / 2.0
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(sym)
        return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


class CompiledProblem:
    """One portfolio problem, built once, re-solved for new estimates.

    With ``parametric=True`` (``Optimizer.compile``) the estimates are cvxpy
    ``Parameter``s and the problem is DPP (``is_dpp()``): a re-solve assigns values and
    reuses the canonicalization. With ``parametric=False`` every solve builds a new problem
    from constants (what ``optimize()`` does for a single solve).
    """

    def __init__(self, optimizer: Optimizer, assets: list[str], *, n_scenarios: int | None,
                 parametric: bool = True, caller: str = "Optimizer.compile") -> None:
        self.optimizer = optimizer
        self.assets = assets
        # one Index for every result: pandas takes it wherever it takes labels, and building
        # it from the names at each solve cost more than a warm HiGHS re-solve
        self._labels = cast(list[str], pd.Index(assets))
        self.n = len(assets)
        self.caller = caller
        if self.n < 1:
            raise DataError(message("assets", caller, "at least one asset", assets))
        if optimizer.needs_scenarios:
            if n_scenarios is None or int(n_scenarios) < 2:
                raise InvalidParameterError(message(
                    "n_scenarios", caller, f"an integer >= 2 for objective "
                    f"{optimizer.objective!r}", n_scenarios, "Pass the lookback."))
            n_scenarios = int(n_scenarios)
        self.n_scenarios = n_scenarios
        self.parametric = parametric
        self.resolved: Resolved = optimizer.constraints.resolve(assets, caller=caller)
        self.budget = self._budget()
        self.problem: cp.Problem | None = None
        self._params: dict[str, cp.Parameter] = {}
        if parametric and optimizer.objective not in ("hrp", "equal_weight"):
            n = self.n
            self._params = {"mu": cp.Parameter(n, name="mu"),
                            "F": cp.Parameter((n, n), name="F"),
                            "w0": cp.Parameter(n, name="w0"),
                            "b": cp.Parameter(n, nonneg=True, name="b"),
                            "target_return": cp.Parameter(name="target_return")}
            if n_scenarios is not None and optimizer.needs_scenarios:
                self._params["R"] = cp.Parameter((n_scenarios, n), name="R")
            self.problem, self._vars = self._formulate(self._params)
        self._warm: _HighsWarm | None = None
        if parametric and _HighsWarm.applies(self):
            self._warm = _HighsWarm(self)

    # ---- formulation -------------------------------------------------------------------
    def _budget(self) -> np.ndarray:
        rb = self.optimizer.risk_budget
        if rb is None:
            b = np.ones(self.n)
        elif isinstance(rb, Mapping):
            b = np.zeros(self.n)
            pos = {a: i for i, a in enumerate(self.assets)}
            for k, v in rb.items():
                if k not in pos:
                    raise InvalidParameterError(message("risk_budget", self.caller,
                                                        f"keys among the assets {self.assets}", k))
                b[pos[k]] = float(v)
        else:
            b = as_float_array(rb, "risk_budget", caller=self.caller, ndim=(1,))
            if b.size != self.n:
                raise InvalidParameterError(message("risk_budget", self.caller,
                                                    f"{self.n} values (one per asset)", b.size))
        if not (np.isfinite(b).all() and (b > 0).all()):
            raise InvalidParameterError(message("risk_budget", self.caller,
                                                "positive finite budgets", b.tolist()))
        return b / b.sum()

    def constraint_groups(self, w: Any, scale: Any, data: Mapping[str, Any],
                          with_targets: bool = True) -> dict[str, list[Any]]:
        """The constraints on ``w`` by group name; linear ones scaled by ``scale``."""
        c = self.optimizer.constraints
        res = self.resolved
        out: dict[str, list[Any]] = {"net_exposure": [cp.sum(w) == c.net_exposure * scale]}
        bounds = []
        lo_idx = np.flatnonzero(np.isfinite(res.lb))
        hi_idx = np.flatnonzero(np.isfinite(res.ub))
        if lo_idx.size:
            bounds.append(w[lo_idx] >= res.lb[lo_idx] * scale)
        if hi_idx.size:
            bounds.append(w[hi_idx] <= res.ub[hi_idx] * scale)
        if bounds:
            out["bounds"] = bounds
        if c.max_weight is not None:  # |w| <= m as two linear rows (no auxiliary variables)
            out["max_weight"] = [w <= c.max_weight * scale, w >= -c.max_weight * scale]
        if c.gross_leverage is not None:
            out["gross_leverage"] = [cp.norm1(w) <= c.gross_leverage * scale]
        for gname, idx, lo, hi in res.groups:
            cons = []
            if lo is not None:
                cons.append(cp.sum(w[idx]) >= lo * scale)
            if hi is not None:
                cons.append(cp.sum(w[idx]) <= hi * scale)
            out[f"group {gname}"] = cons
        if c.max_turnover is not None:
            out["max_turnover"] = [cp.norm1(w - scale * data["w0"]) <= c.max_turnover * scale]
        if with_targets and c.target_return is not None:
            out["target_return"] = [data["mu"] @ w >= data["target_return"]]
        if with_targets and c.target_volatility is not None:
            out["target_volatility"] = [cp.norm(data["F"].T @ w, 2) <= c.target_volatility]
        return out

    def _formulate(self, data: Mapping[str, Any]) -> tuple[cp.Problem, dict[str, Any]]:
        opt = self.optimizer
        n = self.n
        obj = opt.objective
        mu, F = data["mu"], data["F"]

        def variance(x: Any) -> Any:
            # HiGHS's QP solver fails on the factor form (t = F'x rows) now and then: with a
            # constant covariance (a rebuilt problem) it gets the Hessian itself
            if opt.solver == "HIGHS" and isinstance(F, np.ndarray) and "cov" in data:
                return cp.quad_form(x, cp.psd_wrap(data["cov"]))
            return cp.sum_squares(F.T @ x)

        if obj == "max_sharpe":
            y = cp.Variable(n, name="y")
            kappa = cp.Variable(nonneg=True, name="kappa")
            groups = self.constraint_groups(y, kappa, data, with_targets=False)
            cons = [(mu - opt.risk_free_rate) @ y == 1.0] + [x for g in groups.values() for x in g]
            return cp.Problem(cp.Minimize(variance(y)), cons), {"y": y, "kappa": kappa}
        if obj == "risk_parity":
            y = cp.Variable(n, name="y")
            return (cp.Problem(cp.Minimize(0.5 * cp.sum_squares(F.T @ y) - data["b"] @ cp.log(y))),
                    {"y": y})
        w = cp.Variable(n, name="w")
        cons = [x for g in self.constraint_groups(w, 1.0, data).values() for x in g]
        extra: dict[str, Any] = {"w": w}
        objective: cp.Minimize | cp.Maximize
        if obj == "min_variance":
            objective = cp.Minimize(variance(w))
        elif obj == "mean_variance":
            if opt.risk_aversion == 0.0:
                objective = cp.Maximize(mu @ w)
            else:
                objective = cp.Maximize(mu @ w - opt.risk_aversion / 2.0 * variance(w))
        elif obj == "min_cvar":
            s = int(self.n_scenarios or 0)
            z = cp.Variable(name="zeta")
            u = cp.Variable(s, nonneg=True, name="u")
            cons.append(u >= -data["R"] @ w - z)
            objective = cp.Minimize(z + cp.sum(u) / ((1.0 - opt.confidence) * s))
        else:  # max_growth
            objective = cp.Maximize(cp.sum(cp.log(1.0 + data["R"] @ w)) / self.n_scenarios)
        return cp.Problem(objective, cons), extra

    def is_dpp(self) -> bool:
        """True when the compiled problem follows the DPP rules (re-solves skip compiling)."""
        return bool(self.problem is not None and self.problem.is_dpp())

    # ---- solving -----------------------------------------------------------------------
    def solve(self, returns: Any, *, current_weights: Any = None) -> PortfolioResult:
        """Estimate from a window of returns and solve.

        Parameters
        ----------
        returns : DataFrame or (T, N) ndarray
            Simple per-period returns, columns in the order of ``assets``; ``T`` equals
            ``n_scenarios`` for the scenario objectives.
        current_weights : Series, mapping or array, optional - for ``max_turnover``
            (default: all zero, i.e. cash).
        """
        x = as_float_array(returns, "returns", caller=self.caller, ndim=(2,))
        if x.shape[1] != self.n:
            raise DataError(message("returns", self.caller, f"{self.n} columns (the assets)",
                                    x.shape[1]))
        if not np.isfinite(x).all():
            raise DataError(message("returns", self.caller, "finite (no NaN)", "NaN values",
                                    "Drop incomplete rows first, e.g. returns.dropna()."))
        mu, cov = self.optimizer.estimator.estimate_arr(x, self.optimizer.periods_per_year)
        return self.solve_estimates(mu, cov, scenarios=x, current_weights=current_weights)

    def solve_estimates(self, mu: Any, cov: Any, *, scenarios: Any = None,
                        current_weights: Any = None,
                        target_return: float | None = None) -> PortfolioResult:
        """Solve for given annualized estimates (and per-period scenarios).

        Parameters
        ----------
        mu : (N,) array-like - annualized expected returns.
        cov : (N, N) array-like - annualized covariance (PSD).
        scenarios : (S, N) array-like, optional - per-period returns (min_cvar, max_growth).
        current_weights : optional - for ``max_turnover``.
        target_return : float, optional - overrides ``constraints.target_return`` (the
            efficient frontier walks it).
        """
        opt = self.optimizer
        mu = as_float_array(mu, "expected_returns", caller=self.caller, ndim=(1,))
        cov = as_float_array(cov, "covariance", caller=self.caller, ndim=(2,))
        if mu.shape != (self.n,) or cov.shape != (self.n, self.n):
            raise DataError(message("covariance", self.caller,
                                    f"shape ({self.n}, {self.n}) with {self.n} means",
                                    f"{cov.shape} and {mu.shape}"))
        if not (np.isfinite(mu).all() and np.isfinite(cov).all()):
            raise DataError(message("covariance", self.caller, "finite estimates", "NaN/inf"))
        w0 = self._current(current_weights)
        if opt.objective == "hrp":
            w = hrp_weights_arr(cov, opt.linkage) * opt.constraints.net_exposure
            return PortfolioResult._build(w, mu, cov, self._labels, status="closed_form",
                                          objective="hrp", risk_free_rate=opt.risk_free_rate)
        if opt.objective == "equal_weight":
            w = np.full(self.n, opt.constraints.net_exposure / self.n)
            return PortfolioResult._build(w, mu, cov, self._labels, status="closed_form",
                                          objective="equal_weight",
                                          risk_free_rate=opt.risk_free_rate)
        R = None
        if opt.needs_scenarios:
            if scenarios is None:
                raise InvalidParameterError(message("scenarios", self.caller,
                                                    f"a ({self.n_scenarios}, {self.n}) array "
                                                    f"for {opt.objective!r}", None))
            R = as_float_array(scenarios, "scenarios", caller=self.caller, ndim=(2,))
            if R.shape != (self.n_scenarios, self.n):
                raise DataError(message("scenarios", self.caller,
                                        f"shape ({self.n_scenarios}, {self.n}) (fixed when "
                                        "compiled)", R.shape))
        tr = opt.constraints.target_return if target_return is None else target_return
        values = {"mu": mu, "F": None, "w0": w0, "b": self.budget,
                  "target_return": 0.0 if tr is None else float(tr)}
        if R is not None:
            values["R"] = R
        if not self.parametric:
            values["cov"] = (cov + cov.T) / 2.0
        w_warm = None if self._warm is None else self._warm.solve(values, cov, R)
        if w_warm is not None:
            status, w = "optimal", w_warm
        else:  # cvxpy: the DPP problem (values assigned) or a new one from constants
            values["F"] = _factor(cov)
            if self.parametric:
                for key, param in self._params.items():
                    param.value = values[key]
                problem, vars_ = self.problem, self._vars
            else:
                problem, vars_ = self._formulate(values)
            if problem is None:  # pragma: no cover - only hrp has no problem, handled above
                raise OptimizationError(f"{self.caller}(): no problem was built.", status="none")
            status = self._run(problem)
            if status not in _OK:
                self._fail(status, values)
            if status == "optimal_inaccurate":
                warnings.warn(f"{self.caller}(): the solver stopped at status "
                              f"'optimal_inaccurate' for {opt.objective!r}; the weights may be "
                              "off by more than 1e-6.", ConvergenceWarning, stacklevel=3)
            w = self._weights(vars_, values, cov)
        cvar = float("nan")
        if R is not None:
            cvar = cvar_arr(-(R @ w), opt.confidence)
        return PortfolioResult._build(w, mu, cov, self._labels, status=status,
                                      objective=opt.objective,
                                      risk_free_rate=opt.risk_free_rate, cvar=cvar)

    def _current(self, current: Any) -> np.ndarray:
        if current is None:
            return np.zeros(self.n)
        if isinstance(current, pd.Series | Mapping):
            s = pd.Series(current, dtype=np.float64)
            unknown = [k for k in s.index if k not in self.assets]
            if unknown:
                raise InvalidParameterError(message("current_weights", self.caller,
                                                    f"keys among the assets {self.assets}",
                                                    unknown))
            return s.reindex(self.assets).fillna(0.0).to_numpy(np.float64)
        arr = as_float_array(current, "current_weights", caller=self.caller, ndim=(1,))
        if arr.size != self.n or not np.isfinite(arr).all():
            raise InvalidParameterError(message("current_weights", self.caller,
                                                f"{self.n} finite weights", arr.tolist()))
        return arr

    def _run(self, problem: cp.Problem) -> str:
        """Solve with tight tolerances; at 'optimal_inaccurate' retry with the solver's
        defaults (exponential cones rarely reach 1e-10) and keep an 'optimal' answer."""
        opts = SOLVER_OPTIONS.get(self.optimizer.solver, {})
        attempts = [opts, {}] if opts else [{}]
        status = "solver_error"
        for options in attempts:
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                    problem.solve(solver=self.optimizer.solver, **options)
            except cp.error.SolverError as exc:
                raise OptimizationError(f"{self.caller}(): the solver {self.optimizer.solver} "
                                        f"failed for {self.optimizer.objective!r} ({exc}).",
                                        status="solver_error") from exc
            status = str(problem.status)
            if status != "optimal_inaccurate":
                break
        return status

    def _weights(self, vars_: dict[str, Any], values: dict[str, Any],
                 cov: np.ndarray) -> np.ndarray:
        obj = self.optimizer.objective
        if obj == "max_sharpe":
            y = np.asarray(vars_["y"].value, dtype=np.float64)
            return y / float(vars_["kappa"].value)
        if obj == "risk_parity":
            y = _risk_parity_polish(np.asarray(vars_["y"].value, dtype=np.float64), cov,
                                    values["b"])
            return y / y.sum() * self.optimizer.constraints.net_exposure
        return np.asarray(vars_["w"].value, dtype=np.float64)

    # ---- failures ----------------------------------------------------------------------
    def _fail(self, status: str, values: dict[str, Any]) -> None:
        opt = self.optimizer
        if status.startswith("infeasible"):
            raise InvalidParameterError(self._diagnose(values))
        remedy = ""
        if status.startswith("unbounded"):
            remedy = (" The objective is unbounded: bound the weights (long_only, max_weight, "
                      "gross_leverage) or raise risk_aversion.")
        raise OptimizationError(f"{self.caller}(): the solver {opt.solver} returned status "
                                f"{status!r} for {opt.objective!r}.{remedy}", status=status)

    def _feasible(self, values: dict[str, Any], skip: Sequence[str] = (),
                  objective: Any = None, w: Any = None) -> tuple[bool, float]:
        w = cp.Variable(self.n) if w is None else w
        groups = self.constraint_groups(w, 1.0, values)
        cons = [x for name, g in groups.items() if name not in skip for x in g]
        prob = cp.Problem(objective if objective is not None else cp.Minimize(0), cons)
        status = self._run(prob)
        return status in _OK, float(prob.value) if status in _OK else float("nan")

    def _diagnose(self, values: dict[str, Any]) -> str:
        """Name the constraint groups that clash (each whose removal restores feasibility)."""
        opt = self.optimizer
        c = opt.constraints
        names = list(self.constraint_groups(cp.Variable(self.n), 1.0, values))
        head = f"{self.caller}(): the problem ({opt.objective!r}) is infeasible: "
        feasible, _ = self._feasible(values)
        if feasible:
            if opt.objective == "max_sharpe":
                w = cp.Variable(self.n)
                ok, best = self._feasible(values, objective=cp.Maximize(values["mu"] @ w), w=w)
                return (head + "no portfolio satisfying the constraints has an expected return "
                        f"above risk_free_rate={opt.risk_free_rate:g} x net_exposure (the highest "
                        f"is {best:.6g}). Lower risk_free_rate or use min_variance.")
            return (head + "the constraints hold together but the objective's domain does not "
                    "(e.g. max_growth needs 1 + r_s'w > 0 in every scenario). Bound the "
                    "weights or leverage.")
        culprits = [name for name in names if self._feasible(values, skip=(name,))[0]]
        details = [d for d in (self._detail(name, values) for name in culprits) if d]
        if culprits:
            listed = " and ".join(f"`{n}`" for n in culprits)
            text = (head + f"constraints {listed} clash (dropping any one of them makes it "
                    "feasible).")
        else:
            listed = ", ".join(f"`{n}`" for n in names)
            text = head + f"the constraints {listed} clash jointly (no single one is to blame)."
        if c.long_only and any(n.startswith("group") or n == "bounds" for n in culprits):
            details.append("long_only=True adds w >= 0 to the bounds.")
        return " ".join([text] + details)

    def _detail(self, name: str, values: dict[str, Any]) -> str:
        c = self.optimizer.constraints
        res = self.resolved
        if name in ("bounds", "net_exposure"):
            lo, hi = res.lb.sum(), res.ub.sum()
            if c.max_weight is not None:
                lo = max(lo, -c.max_weight * self.n)
                hi = min(hi, c.max_weight * self.n)
            if not lo <= c.net_exposure <= hi:
                return (f"The bounds allow a net exposure in [{lo:.6g}, {hi:.6g}] but "
                        f"net_exposure={c.net_exposure:g}.")
        if name == "max_weight" and c.max_weight is not None \
                and c.max_weight * self.n < c.net_exposure:
            return (f"max_weight={c.max_weight:g} x {self.n} assets < net_exposure="
                    f"{c.net_exposure:g}.")
        if name == "target_return" and c.target_return is not None:
            w = cp.Variable(self.n)
            ok, best = self._feasible(values, skip=("target_return",),
                                      objective=cp.Maximize(values["mu"] @ w), w=w)
            if ok:
                return (f"target_return={values['target_return']:.6g} is above the highest "
                        f"expected return the other constraints allow ({best:.6g}).")
        if name == "target_volatility" and c.target_volatility is not None:
            w = cp.Variable(self.n)
            ok, best = self._feasible(values, skip=("target_volatility",),
                                      objective=cp.Minimize(cp.norm(values["F"].T @ w, 2)), w=w)
            if ok:
                return (f"target_volatility={c.target_volatility:.6g} is below the lowest "
                        f"volatility the other constraints allow ({best:.6g}).")
        if name == "max_turnover" and c.max_turnover is not None:
            return (f"max_turnover={c.max_turnover:g} is measured from current_weights "
                    f"(sum {float(np.sum(values['w0'])):.6g}); with no current weights it is "
                    "measured from cash.")
        return ""


def _risk_parity_polish(y: np.ndarray, cov: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Newton steps on ``Sigma y = b / y`` (the optimality condition of the log-barrier
    problem, strictly convex on y > 0) from the solver's answer, to machine precision."""
    y = np.where(np.isfinite(y) & (y > 0), y, 1.0 / np.sqrt(np.diag(cov)))

    def f(v: np.ndarray) -> float:
        return float(0.5 * v @ cov @ v - b @ np.log(v))

    for _ in range(100):
        g = cov @ y - b / y
        if np.max(np.abs(g * y)) < 1e-15:
            break
        step = np.linalg.solve(cov + np.diag(b / (y * y)), g)
        t = 1.0
        f0 = f(y)
        while np.any(y - t * step <= 0) or f(y - t * step) > f0 - 1e-4 * t * (g @ step):
            t *= 0.5
            if t < 1e-12:
                return y
        y = y - t * step
    return y


class _HighsWarm:
    """A compiled problem's re-solve with HiGHS, warm started from the previous basis.

    An interior-point method (Clarabel) starts from scratch at every solve; a simplex (LP)
    or active-set (QP) method can start from the previous optimal basis, which after a
    month's roll of the estimates is a few pivots from the new optimum. One persistent
    ``highspy.Highs`` holds the problem: each solve passes the new data (the sparsity
    pattern does not change) and sets the last optimal basis, so only the pivots the new
    estimates require are done (measured: 3.5 ms instead of 9.7 ms per CVaR re-solve of 50
    assets x 252 scenarios). HiGHS's QP solver is no faster from a basis, so the QPs start
    afresh; they gain from skipping cvxpy. cvxpy is not called per solve.

    Columns: ``w`` (``y`` and ``kappa`` for max_sharpe, the formulation of
    :class:`CompiledProblem`), then for min_cvar ``zeta`` and one ``u_s`` per scenario.
    Rows: for min_cvar ``r_s'w + zeta + u_s >= 0`` per scenario, then the linear constraints
    (``net_exposure``, groups, ``target_return``; for max_sharpe ``(mu - r_f)'y = 1`` and
    every row scaled by ``kappa``). Bounds and ``max_weight`` are column bounds (rows in
    ``y`` and ``kappa`` for max_sharpe, except zero bounds).

    The scenario rows are matched to the previous solve's by content, so a rolling window
    keeps each retained scenario in its row and the previous basis stays meaningful (CVaR
    does not depend on the order of the scenarios).

    A warm start that does not end optimal is retried from scratch; a status other than
    optimal then gives ``None``: the caller solves through cvxpy, which reports
    infeasibility and solver failures the usual way.
    """

    def __init__(self, problem: CompiledProblem) -> None:
        import highspy

        self.hp = highspy
        opt = problem.optimizer
        self.n = n = problem.n
        self.objective = opt.objective
        self.sharpe = opt.objective == "max_sharpe"
        self.s = int(problem.n_scenarios or 0) if opt.objective == "min_cvar" else 0
        self.risk_aversion = opt.risk_aversion
        self.risk_free_rate = opt.risk_free_rate
        self.confidence = opt.confidence
        c = opt.constraints
        res = problem.resolved
        lo, hi = res.lb.copy(), res.ub.copy()
        if c.max_weight is not None:
            lo, hi = np.maximum(lo, -c.max_weight), np.minimum(hi, c.max_weight)
        # linear rows lo <= a'w <= hi; the target-return row's a is mu (set per solve)
        rows: list[tuple[np.ndarray | None, float, float]] = [
            (np.ones(n), c.net_exposure, c.net_exposure)]
        for _, idx, glo, ghi in res.groups:
            a = np.zeros(n)
            a[idx] = 1.0
            rows.append((a, -np.inf if glo is None else glo, np.inf if ghi is None else ghi))
        self.col_lo, self.col_hi = lo, hi
        if self.sharpe:  # homogenized: y >= lo kappa, y <= hi kappa, rows scaled by kappa
            for i in range(n):
                if np.isfinite(lo[i]) and lo[i] != 0.0:
                    rows.append((np.eye(n)[i], lo[i], np.inf))
                if np.isfinite(hi[i]) and hi[i] != 0.0:
                    rows.append((np.eye(n)[i], -np.inf, hi[i]))
            self.col_lo = np.where(lo == 0.0, 0.0, -np.inf)
            self.col_hi = np.where(hi == 0.0, 0.0, np.inf)
        elif c.target_return is not None:
            rows.append((None, np.nan, np.inf))  # mu'w >= target_return
        self.rows = rows
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        for key, value in SOLVER_OPTIONS.get("HIGHS", {}).items():
            self.highs.setOptionValue(key, value)
        self.basis: Any = None
        self._prev_R: np.ndarray | None = None
        self._slot = np.arange(self.s)

    @staticmethod
    def applies(problem: CompiledProblem) -> bool:
        """True for HiGHS and an objective and constraints it models without cvxpy."""
        opt = problem.optimizer
        return (opt.solver == "HIGHS" and opt.objective in _WARM_OBJECTIVES
                and all(name in _WARM_GROUPS or name.startswith("group ")
                        for name in opt.constraints.active()))

    def _align(self, R: np.ndarray) -> np.ndarray:
        """The scenarios reordered so that each one kept from the last solve keeps its row.

        A rolling window (the last solve's scenarios shifted by ``d`` rows, ``d`` new ones
        at the end) puts the new scenarios in the rows the ``d`` oldest ones leave; any
        other change keeps the row of each position.
        """
        prev, slot = self._prev_R, self._slot
        if prev is not None and prev.shape == R.shape:
            hits = np.flatnonzero((prev == R[0]).all(axis=1))
            for d in hits[hits > 0]:
                if np.array_equal(R[:R.shape[0] - d], prev[d:]):
                    slot = np.concatenate([slot[d:], slot[:d]])
                    break
        self._prev_R, self._slot = R.copy(), slot
        out = np.empty_like(R)
        out[slot] = R
        return out

    def _linear_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The linear rows on ``w`` (``y, kappa``): (m, k) coefficients and their bounds.

        Row 0 of max_sharpe (``(mu - r_f)'y = 1``) and the last row when ``target_return``
        is set (``mu'w >= target``) are placeholders, filled at each solve.
        """
        inf = self.hp.kHighsInf
        blocks, row_lo, row_hi = [], [], []
        ones = np.ones(self.n)
        if self.sharpe:
            blocks.append(np.append(ones, 0.0))
            row_lo.append(1.0)
            row_hi.append(1.0)
        for a, lo, hi in self.rows:
            a = ones if a is None else a
            if not self.sharpe:
                blocks.append(a)
                row_lo.append(lo if np.isfinite(lo) else -inf)
                row_hi.append(hi if np.isfinite(hi) else inf)
            elif lo == hi:  # lo kappa <= a'y <= hi kappa
                blocks.append(np.append(a, -lo))
                row_lo.append(0.0)
                row_hi.append(0.0)
            else:
                for bound, low, high in ((lo, 0.0, inf), (hi, -inf, 0.0)):
                    if np.isfinite(bound):
                        blocks.append(np.append(a, -bound))
                        row_lo.append(low)
                        row_hi.append(high)
        return np.array(blocks), np.array(row_lo), np.array(row_hi)

    def _structure(self) -> None:
        """The fixed sparsity pattern (column-wise) of the constraint matrix and Hessian."""
        G, self.row_lo, self.row_hi = self._linear_rows()
        m, k = G.shape
        s = self.s
        self.G = G
        # the row holding mu (dense in w whatever the values) and the target-return row
        self.mu_row = 0 if self.sharpe else m - 1 if self.rows[-1][0] is None else None
        self.target_row = None if self.sharpe or self.mu_row is None else s + m - 1
        self.mask_t = G.T != 0.0  # (k, m): the constraint rows' pattern, column by column
        if self.mu_row is not None:
            self.mask_t[: self.n, self.mu_row] = True
        cols, rows = np.nonzero(self.mask_t)
        count = np.bincount(cols, minlength=k) + s  # each w column: S scenario rows first
        start = np.concatenate([[0], np.cumsum(count)])
        index = np.empty(start[-1], dtype=np.int32)
        for j in range(k):
            index[start[j]:start[j] + s] = np.arange(s)
            index[start[j] + s:start[j + 1]] = s + rows[cols == j]
        inf = self.hp.kHighsInf
        cost = np.zeros(k)
        col_lo = np.where(np.isfinite(self.col_lo), self.col_lo, -inf)
        col_hi = np.where(np.isfinite(self.col_hi), self.col_hi, inf)
        if self.sharpe:
            col_lo, col_hi = np.append(col_lo, 0.0), np.append(col_hi, inf)
        if s:  # zeta: ones in the scenario rows; u_s: one in row s
            start = np.concatenate([start, start[-1] + s + np.arange(s + 1)])
            index = np.concatenate([index, np.arange(s), np.arange(s)]).astype(np.int32)
            cost = np.concatenate([cost, [1.0], np.full(s, 1.0 / ((1.0 - self.confidence) * s))])
            col_lo = np.concatenate([col_lo, [-inf], np.zeros(s)])
            col_hi = np.concatenate([col_hi, np.full(s + 1, inf)])
            self.row_lo = np.concatenate([np.zeros(s), self.row_lo])
            self.row_hi = np.concatenate([np.full(s, inf), self.row_hi])
        self.k, self.start, self.index = k, start.astype(np.int32), index
        # where the scenario returns and the linear rows go among the matrix values
        self.r_pos = (start[:k, None] + np.arange(s)[None, :]).ravel()
        self.lin_pos = np.concatenate([np.arange(start[j] + s, start[j + 1]) for j in range(k)])
        self.value = np.ones(index.size)  # zeta's and u's ones stay
        self.cost, self.col_lo_h, self.col_hi_h = cost, col_lo, col_hi
        tri_c, tri_r = np.triu_indices(k)  # lower triangle column-wise: (row >= col)
        keep = (tri_c < self.n) & (tri_r < self.n)
        self.q_col, self.q_row = tri_c[keep], tri_r[keep]
        q_count = np.bincount(self.q_col, minlength=k)
        self.q_start = np.concatenate([[0], np.cumsum(q_count)]).astype(np.int32)
        self.q_index = self.q_row.astype(np.int32)
        self.integrality = np.zeros(start.size - 1, dtype=np.int32)

    def solve(self, values: Mapping[str, Any], cov: np.ndarray,
              R: np.ndarray | None) -> np.ndarray | None:
        """The weights, or None when HiGHS does not report an optimum."""
        hp = self.hp
        n, s = self.n, self.s
        mu = np.asarray(values["mu"], dtype=np.float64)
        if not hasattr(self, "start"):
            self._structure()
        G, row_lo = self.G, self.row_lo
        if self.mu_row is not None:
            G[self.mu_row, :n] = mu - self.risk_free_rate if self.sharpe else mu
        if self.target_row is not None:
            row_lo = row_lo.copy()
            row_lo[self.target_row] = float(values["target_return"])
        lin = G.T[self.mask_t]
        if s and R is not None:  # min_cvar: per w column the S scenario returns, then G
            value = self.value
            value[self.r_pos] = self._align(R).T.ravel()
            value[self.lin_pos] = lin
        else:
            value = lin
        cost = self.cost.copy()
        hessian = None
        if self.objective == "mean_variance":
            cost[:n] = -mu
            if self.risk_aversion > 0.0:
                hessian = self.risk_aversion * cov
        elif self.objective in ("min_variance", "max_sharpe"):
            hessian = 2.0 * cov
        num_col, num_row = self.start.size - 1, self.row_hi.size
        kcol, minimize = hp.MatrixFormat.kColwise, hp.ObjSense.kMinimize
        h = self.highs
        if hessian is None:
            h.passModel(num_col, num_row, value.size, kcol, minimize, 0.0, cost, self.col_lo_h,
                        self.col_hi_h, row_lo, self.row_hi, self.start, self.index, value,
                        self.integrality)
        else:
            sym = (hessian + hessian.T) / 2.0
            q_value = sym[self.q_row, self.q_col]
            h.passModel(num_col, num_row, value.size, q_value.size, kcol,
                        hp.HessianFormat.kTriangular, minimize, 0.0, cost, self.col_lo_h,
                        self.col_hi_h, row_lo, self.row_hi, self.start, self.index, value,
                        self.q_start, self.q_index, q_value, self.integrality)
        if self.basis is not None:
            h.setBasis(self.basis)
        h.run()
        if h.getModelStatus() != hp.HighsModelStatus.kOptimal and self.basis is not None:
            h.clearSolver()  # once more from scratch before handing over to cvxpy
            h.run()
        if h.getModelStatus() != hp.HighsModelStatus.kOptimal:
            self.basis = None
            return None
        # the LP's simplex basis is kept; HiGHS's QP solver measured no faster from one (it
        # runs its own feasibility phase), so a QP re-solve starts afresh
        self.basis = h.getBasis() if hessian is None else None
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        if self.sharpe:
            return x[:n] / x[n] if x[n] > 0.0 else None
        return x[:n].copy()

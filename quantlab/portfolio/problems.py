"""The portfolio problems: an :class:`Optimizer` (what to solve) compiles once into a
:class:`CompiledProblem` (cvxpy, DPP ``Parameter``s) that re-solves for new estimates.

``optimize()`` (:mod:`quantlab.portfolio.optimize`) builds a problem with the estimates as
constants and solves it once, as PyPortfolioOpt does; a rebalancing schedule compiles one
problem and only assigns ``Parameter.value`` at each rebalance (cvxpy then skips
canonicalization: the DPP fast path).

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
from typing import Any

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
#: Clarabel's tolerances: tight, so closed forms and the reference libraries match to 1e-8.
SOLVER_OPTIONS: dict[str, dict[str, Any]] = {
    "CLARABEL": {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10,
                 "tol_ktratio": 1e-8, "max_iter": 500},
}
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
    solver : str, default "CLARABEL" - any solver cvxpy has installed.

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
        if obj == "max_sharpe":
            y = cp.Variable(n, name="y")
            kappa = cp.Variable(nonneg=True, name="kappa")
            groups = self.constraint_groups(y, kappa, data, with_targets=False)
            cons = [(mu - opt.risk_free_rate) @ y == 1.0] + [x for g in groups.values() for x in g]
            return cp.Problem(cp.Minimize(cp.sum_squares(F.T @ y)), cons), {"y": y, "kappa": kappa}
        if obj == "risk_parity":
            y = cp.Variable(n, name="y")
            return (cp.Problem(cp.Minimize(0.5 * cp.sum_squares(F.T @ y) - data["b"] @ cp.log(y))),
                    {"y": y})
        w = cp.Variable(n, name="w")
        cons = [x for g in self.constraint_groups(w, 1.0, data).values() for x in g]
        extra: dict[str, Any] = {"w": w}
        objective: cp.Minimize | cp.Maximize
        if obj == "min_variance":
            objective = cp.Minimize(cp.sum_squares(F.T @ w))
        elif obj == "mean_variance":
            if opt.risk_aversion == 0.0:
                objective = cp.Maximize(mu @ w)
            else:
                objective = cp.Maximize(mu @ w - opt.risk_aversion / 2.0 * cp.sum_squares(F.T @ w))
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
            return PortfolioResult._build(w, mu, cov, self.assets, status="closed_form",
                                          objective="hrp", risk_free_rate=opt.risk_free_rate)
        if opt.objective == "equal_weight":
            w = np.full(self.n, opt.constraints.net_exposure / self.n)
            return PortfolioResult._build(w, mu, cov, self.assets, status="closed_form",
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
        values = {"mu": mu, "F": _factor(cov), "w0": w0, "b": self.budget,
                  "target_return": 0.0 if tr is None else float(tr)}
        if R is not None:
            values["R"] = R
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
            warnings.warn(f"{self.caller}(): the solver stopped at status 'optimal_inaccurate' "
                          f"for {opt.objective!r}; the weights may be off by more than 1e-6.",
                          ConvergenceWarning, stacklevel=3)
        w = self._weights(vars_, values, cov)
        cvar = float("nan")
        if R is not None:
            cvar = cvar_arr(-(R @ w), opt.confidence)
        return PortfolioResult._build(w, mu, cov, self.assets, status=status,
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

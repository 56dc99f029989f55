"""optimize(): closed forms (REFERENCES "Portfolio"), the field's libraries, constraints,
infeasibility and solver failures, and the compiled (DPP) problem equal to a rebuilt one."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantlab.errors import InvalidParameterError
from quantlab.portfolio.constraints import Constraints
from quantlab.portfolio.optimize import efficient_frontier, optimize
from quantlab.portfolio.problems import SOLVER_OPTIONS, Optimizer, cvar_arr
from quantlab.portfolio.result import OptimizationError
from tests.portfolio._cases import returns

PPY = 252
FREE = Constraints(long_only=False)


@pytest.fixture(scope="module")
def r():
    return returns(6, 750, seed=1)


def _w(res):
    return res.weights.to_numpy()


def _est(r):
    return r.mean().to_numpy() * PPY, r.cov().to_numpy() * PPY


# ---------------------------------------------------------------------------- closed forms

def test_unconstrained_min_variance_is_the_closed_form(r):
    _, cov = _est(r)
    inv = np.linalg.solve(cov, np.ones(len(cov)))
    res = optimize(r, objective="min_variance", periods_per_year=PPY, constraints=FREE)
    np.testing.assert_allclose(_w(res), inv / inv.sum(), atol=1e-8)
    assert res.status == "optimal"
    assert res.volatility == pytest.approx(np.sqrt(1 / inv.sum()), rel=1e-8)


@pytest.mark.parametrize("gamma", [0.5, 3.0, 20.0])
def test_unconstrained_mean_variance_is_the_closed_form(r, gamma):
    # max mu'w - g/2 w'Sw s.t. 1'w = 1  ->  w = S^-1 (mu - eta 1) / g
    mu, cov = _est(r)
    inv = np.linalg.inv(cov)
    one = np.ones(len(mu))
    eta = (one @ inv @ mu - gamma) / (one @ inv @ one)
    expected = inv @ (mu - eta * one) / gamma
    res = optimize(r, objective="mean_variance", risk_aversion=gamma, periods_per_year=PPY,
                   constraints=FREE)
    np.testing.assert_allclose(_w(res), expected, atol=1e-8)


@pytest.mark.parametrize("rf", [0.0, 0.03])
def test_unconstrained_max_sharpe_is_the_tangency_portfolio(r, rf):
    mu, cov = _est(r)
    t = np.linalg.solve(cov, mu - rf)
    res = optimize(r, objective="max_sharpe", risk_free_rate=rf, periods_per_year=PPY,
                   constraints=FREE)
    np.testing.assert_allclose(_w(res), t / t.sum(), atol=1e-8)
    assert res.sharpe == pytest.approx(np.sqrt((mu - rf) @ np.linalg.solve(cov, mu - rf)),
                                       rel=1e-8)


def test_risk_parity_gives_equal_risk_contributions(r):
    res = optimize(r, objective="risk_parity", periods_per_year=PPY)
    rc = res.risk_contributions.to_numpy()
    np.testing.assert_allclose(rc, rc.mean(), atol=1e-6 * res.volatility)
    assert rc.sum() == pytest.approx(res.volatility, rel=1e-12)  # Euler
    assert _w(res).sum() == pytest.approx(1.0, abs=1e-12)


def test_risk_budgets_give_proportional_contributions(r):
    budget = np.array([1, 2, 3, 1, 2, 3], dtype=float)
    res = optimize(r, objective="risk_parity", periods_per_year=PPY, risk_budget=budget)
    share = res.risk_contributions.to_numpy() / res.volatility
    np.testing.assert_allclose(share, budget / budget.sum(), atol=1e-6)


def test_two_asset_risk_parity_is_inverse_volatility():
    x = returns(2, 500, seed=9)
    res = optimize(x, objective="risk_parity", periods_per_year=PPY)
    inv = 1 / x.std().to_numpy()
    np.testing.assert_allclose(_w(res), inv / inv.sum(), atol=1e-10)


def test_max_growth_equals_scipy_on_the_scenarios(r):
    opt = pytest.importorskip("scipy.optimize")
    x = r.to_numpy() * 3  # bigger moves: the log differs from its quadratic approximation
    res = optimize(x, objective="max_growth", periods_per_year=PPY,
                   constraints=Constraints(max_weight=0.6))
    n = x.shape[1]
    sol = opt.minimize(lambda w: -np.mean(np.log1p(x @ w)), np.full(n, 1 / n),
                       jac=lambda w: -(x / (1 + x @ w)[:, None]).mean(axis=0),
                       bounds=[(0, 0.6)] * n, method="SLSQP", tol=1e-14,
                       constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                       options={"maxiter": 1000})
    np.testing.assert_allclose(_w(res), sol.x, atol=1e-5)


def test_cvar_of_the_result_is_the_lp_optimum_and_the_tail_mean(r):
    res = optimize(r, objective="min_cvar", confidence=0.9, periods_per_year=PPY)
    losses = -(r.to_numpy() @ _w(res))
    # with 750 scenarios and beta = 0.9 the tail holds exactly 75 scenarios: CVaR = their mean
    assert res.cvar == pytest.approx(np.sort(losses)[-75:].mean(), rel=1e-12)
    # and no other feasible portfolio (here: equal weight, min variance) has a lower CVaR
    for w in (np.full(6, 1 / 6), _w(optimize(r, periods_per_year=PPY))):
        assert cvar_arr(-(r.to_numpy() @ w), 0.9) >= res.cvar - 1e-10


# ---------------------------------------------------------------------------- reference libraries

@pytest.fixture(scope="module")
def pypfopt():
    return pytest.importorskip("pypfopt", reason="PyPortfolioOpt is a test-only oracle")


def _pypfopt_ef(pypfopt, r, bounds=(0, 1)):
    mu, cov = r.mean() * PPY, r.cov() * PPY  # PyPortfolioOpt annualizes with 252 too
    # the same solver and tolerances on both sides: Clarabel's defaults (1e-8) leave 1e-5
    # differences in the flat direction of efficient_risk's optimum
    return pypfopt.EfficientFrontier(mu, cov, weight_bounds=bounds, solver="CLARABEL",
                                     solver_options=SOLVER_OPTIONS["CLARABEL"])


def test_min_variance_equals_pypfopt(pypfopt, r):
    ef = _pypfopt_ef(pypfopt, r)
    ef.min_volatility()
    np.testing.assert_allclose(_w(optimize(r, periods_per_year=PPY)), ef.weights, atol=1e-5)


@pytest.mark.parametrize("rf", [0.0, 0.02])
def test_max_sharpe_equals_pypfopt(pypfopt, r, rf):
    ef = _pypfopt_ef(pypfopt, r)
    ef.max_sharpe(risk_free_rate=rf)
    res = optimize(r, objective="max_sharpe", risk_free_rate=rf, periods_per_year=PPY)
    np.testing.assert_allclose(_w(res), ef.weights, atol=1e-5)


def test_efficient_risk_and_return_with_bounds_equal_pypfopt(pypfopt, r):
    bounded = Constraints(lower=0.05, upper=0.4)
    ef = _pypfopt_ef(pypfopt, r, bounds=(0.05, 0.4))
    ef.efficient_risk(0.15)
    res = optimize(r, objective="mean_variance", risk_aversion=0.0, periods_per_year=PPY,
                   constraints=Constraints(lower=0.05, upper=0.4, target_volatility=0.15))
    np.testing.assert_allclose(_w(res), ef.weights, atol=1e-5)
    ef = _pypfopt_ef(pypfopt, r, bounds=(0.05, 0.4))
    ef.efficient_return(0.12)
    res = optimize(r, objective="min_variance", periods_per_year=PPY,
                   constraints=Constraints(lower=0.05, upper=0.4, target_return=0.12))
    np.testing.assert_allclose(_w(res), ef.weights, atol=1e-5)
    ef = _pypfopt_ef(pypfopt, r, bounds=(0.05, 0.4))
    ef.max_quadratic_utility(risk_aversion=4)
    res = optimize(r, objective="mean_variance", risk_aversion=4, periods_per_year=PPY,
                   constraints=bounded)
    np.testing.assert_allclose(_w(res), ef.weights, atol=1e-5)


def test_hrp_equals_pypfopt_with_single_linkage(pypfopt, r):
    w = pypfopt.HRPOpt(r).optimize(linkage_method="single")
    np.testing.assert_allclose(_w(optimize(r, objective="hrp", periods_per_year=PPY)),
                               pd.Series(w)[r.columns].to_numpy(), atol=1e-12)


@pytest.fixture(scope="module")
def riskfolio():
    return pytest.importorskip("riskfolio", reason="Riskfolio-Lib is a test-only oracle")


def test_min_cvar_and_risk_parity_equal_riskfolio(riskfolio, r):
    port = riskfolio.Portfolio(returns=r, alpha=0.05)  # alpha = 1 - confidence
    port.assets_stats(method_mu="hist", method_cov="hist")
    port.solvers = ["CLARABEL"]
    w = port.optimization(model="Classic", rm="CVaR", obj="MinRisk", rf=0, l=0, hist=True)
    res = optimize(r, objective="min_cvar", confidence=0.95, periods_per_year=PPY)
    np.testing.assert_allclose(_w(res), w["weights"].to_numpy(), atol=1e-5)
    w = port.rp_optimization(model="Classic", rm="MV", rf=0, b=None, hist=True)
    res = optimize(r, objective="risk_parity", periods_per_year=PPY)
    np.testing.assert_allclose(_w(res), w["weights"].to_numpy(), atol=1e-5)


def test_hrp_equals_riskfolio_with_single_linkage(riskfolio, r):
    hc = riskfolio.HCPortfolio(returns=r)
    w = hc.optimization(model="HRP", codependence="pearson", rm="MV", rf=0, linkage="single",
                        leaf_order=False)  # no optimal leaf reordering: the plain dendrogram
    np.testing.assert_allclose(_w(optimize(r, objective="hrp", periods_per_year=PPY)),
                               w["weights"].to_numpy(), atol=1e-12)


def test_min_cvar_and_risk_parity_equal_skfolio(r):
    sk = pytest.importorskip("skfolio", reason="skfolio is a test-only oracle")
    from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting

    tight = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
    m = MeanRisk(risk_measure=sk.RiskMeasure.CVAR, cvar_beta=0.95, solver="CLARABEL",
                 objective_function=ObjectiveFunction.MINIMIZE_RISK, solver_params=tight)
    m.fit(r.to_numpy())
    np.testing.assert_allclose(_w(optimize(r, objective="min_cvar", periods_per_year=PPY)),
                               m.weights_, atol=1e-5)
    m = RiskBudgeting(risk_measure=sk.RiskMeasure.VARIANCE, solver="CLARABEL",
                      solver_params=tight).fit(r.to_numpy())
    np.testing.assert_allclose(_w(optimize(r, objective="risk_parity", periods_per_year=PPY)),
                               m.weights_, atol=1e-5)
    # (skfolio's HierarchicalRiskParity bisects along the dendrogram's own clusters, not the
    # halves of the quasi-diagonal order, so its HRP differs by design: PyPortfolioOpt and
    # Riskfolio-Lib are the HRP oracles above.)


# ---------------------------------------------------------------------------- constraints

@st.composite
def feasible_problems(draw):
    """A problem built around a known feasible point w*, so every constraint can hold."""
    n = draw(st.integers(3, 6))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    long_only = draw(st.booleans())
    w_star = rng.dirichlet(np.ones(n))
    if not long_only:
        w_star = w_star + rng.normal(0, 0.3, n)
        w_star += (1 - w_star.sum()) / n
    x = returns(n, 300, seed=seed)
    mu = x.mean().to_numpy() * PPY
    cov = x.cov().to_numpy() * PPY
    names = list(x.columns)
    slack = draw(st.floats(0.0, 0.2))
    kwargs = {"long_only": long_only}
    if draw(st.booleans()):
        kwargs["max_weight"] = float(np.abs(w_star).max() + slack)
    if not long_only or draw(st.booleans()):
        kwargs["gross_leverage"] = float(np.abs(w_star).sum() + slack)
    if draw(st.booleans()):
        members = names[: draw(st.integers(1, n - 1))]
        total = float(w_star[: len(members)].sum())
        kwargs["groups"] = {"g": (members, total - slack, total + slack)}
    current = None
    if draw(st.booleans()):
        current = rng.dirichlet(np.ones(n))
        kwargs["max_turnover"] = float(np.abs(w_star - current).sum() + slack + 1e-6)
    objective = draw(st.sampled_from(["min_variance", "mean_variance", "min_cvar",
                                      "max_sharpe", "max_growth"]))
    if objective not in ("max_sharpe",) and draw(st.booleans()):
        kwargs["target_return"] = float(mu @ w_star - slack)
    if objective not in ("max_sharpe",) and draw(st.booleans()):
        kwargs["target_volatility"] = float(np.sqrt(w_star @ cov @ w_star) + slack)
    if objective == "max_sharpe" and mu @ w_star <= 0:
        objective = "min_variance"
    return x, Constraints(**kwargs), objective, current


def _violations(w, c: Constraints, x, current):
    mu = x.mean().to_numpy() * PPY
    cov = x.cov().to_numpy() * PPY
    out = {"net": abs(w.sum() - c.net_exposure)}
    if c.long_only:
        out["long"] = max(0.0, -w.min())
    if c.max_weight is not None:
        out["max_weight"] = max(0.0, np.abs(w).max() - c.max_weight)
    if c.gross_leverage is not None:
        out["gross"] = max(0.0, np.abs(w).sum() - c.gross_leverage)
    for members, lo, hi in (c.groups or {}).values():
        s = w[[list(x.columns).index(m) for m in members]].sum()
        out["group"] = max(0.0, lo - s, s - hi)
    if c.max_turnover is not None:
        out["turnover"] = max(0.0, np.abs(w - current).sum() - c.max_turnover)
    if c.target_return is not None:
        out["target_return"] = max(0.0, c.target_return - mu @ w)
    if c.target_volatility is not None:
        out["target_volatility"] = max(0.0, np.sqrt(w @ cov @ w) - c.target_volatility)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=feasible_problems())
def test_every_constraint_holds_on_generated_problems(problem):
    x, c, objective, current = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an inaccurate-solve warning is not the point here
        res = optimize(x, objective=objective, periods_per_year=PPY, constraints=c,
                       current_weights=current)
    bad = {k: v for k, v in _violations(_w(res), c, x, current).items() if v > 1e-8}
    assert not bad, (objective, c, bad)


@st.composite
def infeasible_problems(draw):
    n = draw(st.integers(3, 6))
    x = returns(n, 200, seed=draw(st.integers(0, 1000)))
    names = list(x.columns)
    kind = draw(st.sampled_from(["max_weight", "group", "target_return", "upper",
                                 "target_volatility"]))
    if kind == "max_weight":
        return x, Constraints(max_weight=draw(st.floats(0.01, 0.99)) / n), ["max_weight"]
    if kind == "upper":
        return x, Constraints(upper=draw(st.floats(0.01, 0.99)) / n), ["bounds"]
    if kind == "group":
        k = draw(st.integers(1, n - 1))
        cap = draw(st.floats(0.05, 0.3))
        return (x, Constraints(upper={m: cap / k for m in names[:k]},
                               groups={"core": (names[:k], 0.5, None)}),
                ["bounds", "group core"])
    if kind == "target_return":
        best = x.mean().max() * PPY
        return x, Constraints(target_return=float(best + draw(st.floats(0.01, 1.0)))), \
            ["target_return"]
    return x, Constraints(target_volatility=draw(st.floats(1e-4, 0.01))), ["target_volatility"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=infeasible_problems(),
       objective=st.sampled_from(["min_variance", "min_cvar", "mean_variance"]))
def test_an_infeasible_problem_names_the_clash_and_returns_no_weights(problem, objective):
    x, c, culprits = problem
    with pytest.raises(InvalidParameterError, match="infeasible") as info:
        optimize(x, objective=objective, periods_per_year=PPY, constraints=c)
    for name in culprits:
        assert f"`{name}`" in str(info.value)


def test_infeasible_messages_give_the_numbers():
    x = returns(4, 200)
    with pytest.raises(InvalidParameterError, match=r"net exposure in \[0, 0.8\]"):
        optimize(x, periods_per_year=PPY, constraints=Constraints(upper=0.2))
    with pytest.raises(InvalidParameterError, match="above the highest expected return"):
        optimize(x, periods_per_year=PPY, constraints=Constraints(target_return=10.0))
    with pytest.raises(InvalidParameterError, match="below the lowest volatility"):
        optimize(x, periods_per_year=PPY, constraints=Constraints(target_volatility=1e-4))
    neg = x - 0.01  # every mean negative: no long-only portfolio beats cash
    with pytest.raises(InvalidParameterError, match="above risk_free_rate"):
        optimize(neg, objective="max_sharpe", periods_per_year=PPY)


def test_solver_failures_carry_the_status(monkeypatch):
    x = returns(3, 100)
    with pytest.raises(OptimizationError) as info:
        optimize(x, objective="mean_variance", risk_aversion=0.0, periods_per_year=PPY,
                 constraints=FREE)
    assert info.value.status.startswith("unbounded")

    def broken(self, *args, **kwargs):
        raise cp.error.SolverError("boom")

    monkeypatch.setattr(cp.Problem, "solve", broken)
    with pytest.raises(OptimizationError, match="boom") as info:
        optimize(x, periods_per_year=PPY)
    assert info.value.status == "solver_error"


def test_bad_options_are_refused_with_the_house_message():
    x = returns(3, 100)
    with pytest.raises(InvalidParameterError, match="Did you mean 'min_variance'"):
        optimize(x, objective="min_varience", periods_per_year=PPY)
    with pytest.raises(InvalidParameterError, match="risk_parity"):
        optimize(x, objective="risk_parity", periods_per_year=PPY,
                 constraints=Constraints(max_weight=0.5))
    with pytest.raises(InvalidParameterError, match="efficient return"):
        optimize(x, objective="max_sharpe", periods_per_year=PPY,
                 constraints=Constraints(target_return=0.1))
    with pytest.raises(InvalidParameterError, match="Did you mean 'S1'"):
        optimize(x, periods_per_year=PPY, constraints=Constraints(upper={"S_1": 0.5}))


# ---------------------------------------------------------------------------- compiled problem

@pytest.mark.parametrize("objective", ["min_variance", "mean_variance", "max_sharpe",
                                       "risk_parity", "min_cvar", "max_growth", "hrp",
                                       "equal_weight"])
def test_the_compiled_problem_re_solves_equal_to_a_rebuilt_one(objective):
    x = returns(5, 700, seed=11)
    c = Constraints() if objective in ("risk_parity", "hrp", "equal_weight") else \
        Constraints(max_weight=0.5, max_turnover=1.5)
    opt = Optimizer(objective=objective, periods_per_year=PPY, constraints=c)
    compiled = opt.compile(list(x.columns), n_scenarios=250)
    if compiled.problem is not None:
        assert compiled.is_dpp()
    problem = compiled.problem
    current = np.full(5, 0.2)
    for start in (0, 200, 450):
        window = x.iloc[start:start + 250]
        got = compiled.solve(window, current_weights=current)
        want = optimize(window, objective=objective, periods_per_year=PPY, constraints=c,
                        current_weights=current)
        np.testing.assert_allclose(_w(got), _w(want), atol=1e-7)
        assert compiled.problem is problem  # the same cvxpy problem, only values assigned


def test_efficient_frontier_spans_min_variance_to_max_return(pypfopt, r):
    c = Constraints(upper=0.5)
    fr = efficient_frontier(r, periods_per_year=PPY, n_points=8, constraints=c)
    low = optimize(r, periods_per_year=PPY, constraints=c)
    assert fr["volatility"].iloc[0] == pytest.approx(low.volatility, rel=1e-6)
    assert np.all(np.diff(fr["expected_return"]) > 0)
    assert np.all(np.diff(fr["volatility"]) > -1e-9)
    for i in (2, 5):
        ef = _pypfopt_ef(pypfopt, r, bounds=(0, 0.5))
        ef.efficient_return(float(fr["expected_return"].iloc[i]))
        np.testing.assert_allclose(fr[list(r.columns)].iloc[i].to_numpy(), ef.weights,
                                   atol=1e-5)


# ---------------------------------------------------------------------------- HiGHS warm re-solve

WARM_CASES = {
    "min_cvar": Constraints(max_weight=0.4, groups={"g": (["S0", "S1"], 0.1, 0.5)}),
    "max_sharpe": Constraints(lower=0.02, upper=0.45, groups={"g": (["S0", "S1"], 0.1, 0.5)}),
    "min_variance": Constraints(max_weight=0.4, target_return=0.05),
    "mean_variance": Constraints(lower=-0.1, upper=0.6, long_only=False,
                                 groups={"g": (["S2", "S3"], None, 0.7)}),
}


def _goal(res, objective):
    """The objective each problem minimizes, from the result (lower is better)."""
    return {"min_cvar": res.cvar, "max_sharpe": -res.sharpe, "min_variance": res.volatility,
            "mean_variance": -(res.expected_return - 0.5 * res.volatility**2)}[objective]


@pytest.mark.parametrize("objective", list(WARM_CASES))
def test_highs_warm_re_solves_equal_rebuilt_highs_and_clarabel(objective):
    # a rolling schedule (scenario rows shifted, the previous basis reused) on the warm path
    # equals a cvxpy problem rebuilt with HiGHS (cold) at every step; against Clarabel (an
    # interior-point method stopping at 1e-10 gaps, up to 1e-6 off along flat optima) the
    # weights agree to the oracle bar and HiGHS's objective is never worse
    x = returns(6, 640, seed=5)
    c = WARM_CASES[objective]
    opt = Optimizer(objective=objective, periods_per_year=PPY, constraints=c, solver="HIGHS")
    compiled = opt.compile([f"S{i}" for i in range(6)], n_scenarios=250)
    assert compiled._warm is not None  # the HiGHS warm path, not cvxpy
    ref = opt.replace(solver="CLARABEL").compile([f"S{i}" for i in range(6)], n_scenarios=250)
    for start in range(0, 390, 21):
        window = x.iloc[start:start + 250]
        got = compiled.solve(window)
        rebuilt = _w(optimize(window, objective=objective, periods_per_year=PPY, constraints=c,
                              solver="HIGHS"))
        np.testing.assert_allclose(_w(got), rebuilt, atol=1e-9)
        clarabel = ref.solve(window)
        np.testing.assert_allclose(_w(got), _w(clarabel), atol=1e-5)
        assert _goal(got, objective) <= _goal(clarabel, objective) + 1e-12
    # the LP keeps its simplex basis for the next re-solve; the QPs start afresh
    assert (compiled._warm.basis is not None) == (objective == "min_cvar")


def test_highs_warm_max_sharpe_and_min_cvar_equal_the_oracles(pypfopt, riskfolio):
    x = returns(6, 700, seed=3)
    names = list(x.columns)
    sharpe = Optimizer(objective="max_sharpe", periods_per_year=PPY, solver="HIGHS",
                       constraints=Constraints(max_weight=0.35)).compile(names)
    cvar = Optimizer(objective="min_cvar", periods_per_year=PPY, solver="HIGHS",
                     constraints=Constraints()).compile(names, n_scenarios=250)
    for start in (0, 21, 42, 450):  # warm re-solves, then a jump (no shared scenarios)
        r = x.iloc[start:start + 250]
        ef = _pypfopt_ef(pypfopt, r, bounds=(0, 0.35))
        ef.max_sharpe(risk_free_rate=0.0)
        np.testing.assert_allclose(_w(sharpe.solve(r)), ef.weights, atol=1e-5)
        port = riskfolio.Portfolio(returns=r, alpha=0.05)
        port.assets_stats(method_mu="hist", method_cov="hist")
        port.solvers = ["CLARABEL"]
        w = port.optimization(model="Classic", rm="CVaR", obj="MinRisk", rf=0, l=0, hist=True)
        np.testing.assert_allclose(_w(cvar.solve(r)), w["weights"].to_numpy(), atol=1e-5)


def test_highs_warm_path_keeps_each_retained_scenario_in_its_row():
    x = returns(3, 40, seed=2).to_numpy()
    opt = Optimizer(objective="min_cvar", periods_per_year=PPY, solver="HIGHS")
    warm = opt.compile(["S0", "S1", "S2"], n_scenarios=20)._warm
    first = warm._align(x[0:20])
    np.testing.assert_array_equal(first, x[0:20])
    second = warm._align(x[5:25])  # rolled by 5: rows 5..19 stay, 20..24 take rows 0..4
    np.testing.assert_array_equal(second[5:], x[5:20])
    np.testing.assert_array_equal(second[:5], x[20:25])
    third = warm._align(x[30:32].repeat(10, axis=0))  # not a roll: positions keep their rows
    assert sorted(map(tuple, third)) == sorted(map(tuple, x[30:32].repeat(10, axis=0)))


def test_highs_warm_path_falls_back_to_cvxpy_for_other_constraints_and_failures():
    x = returns(4, 300, seed=4)
    names = list(x.columns)
    # max_turnover needs auxiliary variables: cvxpy solves it, still with HiGHS
    opt = Optimizer(objective="min_cvar", periods_per_year=PPY, solver="HIGHS",
                    constraints=Constraints(max_turnover=0.5))
    compiled = opt.compile(names, n_scenarios=250)
    assert compiled._warm is None
    got = compiled.solve(x.iloc[:250], current_weights=np.full(4, 0.25))
    want = optimize(x.iloc[:250], objective="min_cvar", periods_per_year=PPY, solver="HIGHS",
                    constraints=Constraints(max_turnover=0.5), current_weights=np.full(4, 0.25))
    np.testing.assert_allclose(_w(got), _w(want), atol=1e-9)
    # an infeasible target after a warm solve: HiGHS fails warm and cold, then the cvxpy
    # path names the clash and no weights come back
    opt = Optimizer(objective="min_cvar", periods_per_year=PPY, solver="HIGHS",
                    constraints=Constraints(target_return=0.0))
    compiled = opt.compile(names, n_scenarios=250)
    window = x.iloc[:250]
    compiled.solve(window)
    assert compiled._warm is not None and compiled._warm.basis is not None
    mu = window.mean().to_numpy() * PPY
    cov = window.cov().to_numpy() * PPY
    with pytest.raises(InvalidParameterError, match="`target_return`"):
        compiled.solve_estimates(mu, cov, scenarios=window, target_return=float(mu.max()) + 1.0)
    assert compiled._warm.basis is None  # a failed solve forgets the basis
    # and the next feasible solve is right again
    np.testing.assert_allclose(_w(compiled.solve(window)),
                               _w(optimize(window, objective="min_cvar", periods_per_year=PPY,
                                           constraints=Constraints(target_return=0.0),
                                           solver="HIGHS")), atol=1e-9)

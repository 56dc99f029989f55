"""Kelly estimates (quantlab.risk.kelly) against closed forms (REFERENCES.md "Kelly"; Thorp
2006), the backtest's own Kelly sizer, scipy optimizers, and properties."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import optimize

from quantlab.backtest.sizers import Kelly, size_exposure
from quantlab.errors import DataError, InvalidParameterError, SizingWarning
from quantlab.risk.kelly import kelly_binary, kelly_fraction, kelly_portfolio

# ------------------------------------------------------------------------------ binary


@pytest.mark.parametrize(("p", "odds", "expected"), [
    (0.6, 1.0, 0.2), (0.5, 2.0, 0.25), (0.55, 1.0, 0.1), (0.4, 1.0, -0.2), (1.0, 3.0, 1.0),
])
def test_binary_closed_form(p: float, odds: float, expected: float) -> None:
    # REFERENCES.md "Kelly": f* = p - (1 - p) / b
    assert kelly_binary(p, odds) == pytest.approx(expected, abs=1e-15)


@given(p=st.floats(0.05, 0.95), odds=st.floats(0.2, 10.0))
def test_binary_maximizes_expected_log_growth(p: float, odds: float) -> None:
    f = kelly_binary(p, odds)
    if not 0.0 < f < 0.99:
        return
    growth = lambda x: -(p * np.log1p(odds * x) + (1 - p) * np.log1p(-x))  # noqa: E731
    best = optimize.minimize_scalar(growth, bounds=(0.0, 0.999), method="bounded",
                                    options={"xatol": 1e-10})
    assert f == pytest.approx(best.x, abs=1e-6)


def test_binary_validation() -> None:
    with pytest.raises(InvalidParameterError, match="`p`"):
        kelly_binary(1.2, 1.0)
    with pytest.raises(InvalidParameterError, match="`odds`"):
        kelly_binary(0.5, 0.0)


# ---------------------------------------------------------------------------- one asset


@pytest.fixture(scope="module")
def edge_returns() -> np.ndarray:
    return np.random.default_rng(1).normal(0.003, 0.01, 250)


def test_mean_over_variance_closed_form(edge_returns: np.ndarray) -> None:
    mu, var = edge_returns.mean(), edge_returns.var(ddof=1)
    assert kelly_fraction(edge_returns, fraction=1.0) == pytest.approx(mu / var, rel=1e-12)
    assert kelly_fraction(edge_returns) == pytest.approx(0.5 * mu / var, rel=1e-12)
    # shrinkage and the risk-free rate, exactly as documented
    got = kelly_fraction(edge_returns, fraction=0.4, shrinkage=0.3, risk_free_rate=0.0005)
    x = edge_returns - 0.0005
    assert got == pytest.approx(0.4 * 0.7 * x.mean() / x.var(ddof=1), rel=1e-12)


@pytest.mark.parametrize("fraction", [0.25, 0.5, 1.0])
def test_equals_the_backtest_kelly_sizer(edge_returns: np.ndarray, fraction: float) -> None:
    # the execution core's own code path (step.sizer_exposure_nb -> _kelly_nb, trades source)
    for n in (30, 100, 250):
        r = edge_returns[-n:]
        assert r.mean() > 0  # a live edge: the sizer's value, not its zero rule
        sizer = Kelly(fraction=fraction, window=n, min_obs=30)
        expected = size_exposure(sizer, 1.0, trade_returns=r)
        assert kelly_fraction(r, fraction=fraction, min_obs=30) == expected  # bit for bit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(np.float64, st.integers(5, 60),
              elements=st.floats(-0.05, 0.05, allow_nan=False)),
       st.floats(0.1, 1.0))
def test_agrees_with_the_sizer_on_any_window(r: np.ndarray, fraction: float) -> None:
    """Same value, and the same decision to size 0 (both warn), on arbitrary windows."""
    sizer = Kelly(fraction=fraction, window=max(r.size, 2), min_obs=5)
    with pytest.warns(SizingWarning) if _sizer_zero(sizer, r) else nullcontext():
        expected = size_exposure(sizer, 1.0, trade_returns=r)
    with pytest.warns(SizingWarning) if expected == 0.0 else nullcontext():
        got = kelly_fraction(r, fraction=fraction, min_obs=5)
    assert got == expected  # bit for bit, zeros included


def _sizer_zero(sizer: Kelly, r: np.ndarray) -> bool:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SizingWarning)
        return size_exposure(sizer, 1.0, trade_returns=r) == 0.0


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.floats(0.01, 100.0))
def test_scaling_returns_by_c_scales_kelly_by_one_over_c(seed: int, c: float) -> None:
    r = np.random.default_rng(seed).normal(0.003, 0.01, 60)
    if r.mean() <= 0:
        return
    base = kelly_fraction(r, fraction=1.0)
    assert kelly_fraction(r * c, fraction=1.0) == pytest.approx(base / c, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.01, 1.0), shrink=st.floats(0.0, 0.99))
def test_linear_in_fraction_and_in_one_minus_shrinkage(seed: int, fraction: float,
                                                       shrink: float) -> None:
    r = np.random.default_rng(seed).normal(0.003, 0.01, 60)
    if r.mean() <= 0:
        return
    full = kelly_fraction(r, fraction=1.0)
    got = kelly_fraction(r, fraction=fraction, shrinkage=shrink)
    assert got == pytest.approx(fraction * (1 - shrink) * full, rel=1e-12)


def test_dataframe_gives_one_estimate_per_column(edge_returns: np.ndarray) -> None:
    df = pd.DataFrame({"a": edge_returns, "b": edge_returns * 2.0})
    out = kelly_fraction(df)
    assert isinstance(out, pd.Series) and list(out.index) == ["a", "b"]
    assert out["a"] == kelly_fraction(df["a"])
    assert out["b"] == pytest.approx(out["a"] / 2.0, rel=1e-12)


@pytest.mark.parametrize(("returns", "reason"), [
    (np.r_[np.full(40, 0.01), np.nan], "NaN"),
    (np.full(40, 0.01), "zero variance"),
    (np.random.default_rng(2).normal(-0.002, 0.01, 100), "negative edge"),
    (np.random.default_rng(3).normal(0.002, 0.01, 10), "too few observations"),
])
def test_degenerate_inputs_size_zero_with_a_warning(returns: np.ndarray, reason: str) -> None:
    with pytest.warns(SizingWarning, match=reason):
        assert kelly_fraction(returns) == 0.0


def test_shrinkage_can_remove_the_edge(edge_returns: np.ndarray) -> None:
    r = edge_returns - edge_returns.mean() + 1e-5
    assert kelly_fraction(r) > 0.0
    with pytest.warns(SizingWarning, match="negative edge"):
        assert kelly_fraction(r, risk_free_rate=2e-5) == 0.0


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"fraction": 1.5}, "`fraction`"), ({"fraction": 0.0}, "`fraction`"),
    ({"shrinkage": 1.0}, "`shrinkage`"), ({"shrinkage": -0.1}, "`shrinkage`"),
    ({"min_obs": 1}, "`min_obs`"),
])
def test_bad_parameters_are_refused(edge_returns: np.ndarray, kwargs: dict, name: str) -> None:
    with pytest.raises(InvalidParameterError, match=name):
        kelly_fraction(edge_returns, **kwargs)


# ----------------------------------------------------------------------------- portfolio


@pytest.fixture(scope="module")
def assets() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    cov = np.array([[1.0, 0.3, -0.2], [0.3, 1.5, 0.4], [-0.2, 0.4, 2.0]]) * 1e-4
    x = rng.multivariate_normal([0.0012, 0.0008, -0.0004], cov, size=750)
    return pd.DataFrame(x, columns=["a", "b", "c"])


def test_mean_variance_is_inverse_covariance_times_mean(assets: pd.DataFrame) -> None:
    # REFERENCES.md "Kelly": multi-asset f* = Sigma^{-1} mu
    expected = np.linalg.inv(assets.cov().to_numpy()) @ assets.mean().to_numpy()
    got = kelly_portfolio(assets, fraction=0.5, method="mean_variance")
    np.testing.assert_allclose(got.to_numpy(), 0.5 * expected, rtol=1e-10)
    assert list(got.index) == ["a", "b", "c"]


def _scipy_growth(x: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  max_leverage: float | None) -> np.ndarray:
    """Maximize mean(log(1 + x w)) with SLSQP; w = u - v, u, v >= 0 makes |w|_1 smooth."""
    k = x.shape[1]

    def neg(z: np.ndarray) -> float:
        w = z[:k] - z[k:]
        return -float(np.mean(np.log(np.maximum(1.0 + x @ w, 1e-12))))

    def grad(z: np.ndarray) -> np.ndarray:
        w = z[:k] - z[k:]
        g = -(x / (1.0 + x @ w)[:, None]).mean(axis=0)
        return np.r_[g, -g]

    cons = []
    if max_leverage is not None:
        cons.append({"type": "ineq", "fun": lambda z: max_leverage - z.sum(),
                     "jac": lambda z: -np.ones_like(z)})
    cons.append({"type": "ineq", "fun": lambda z: np.r_[hi - (z[:k] - z[k:]),
                                                        (z[:k] - z[k:]) - lo][np.isfinite(np.r_[hi, lo])]})
    res = optimize.minimize(neg, np.full(2 * k, 0.01), jac=grad, method="SLSQP",
                            bounds=[(0, None)] * (2 * k), constraints=cons,
                            options={"ftol": 1e-15, "maxiter": 2000})
    assert res.success, res.message
    return res.x[:k] - res.x[k:]


@pytest.mark.parametrize(("max_leverage", "bounds"), [
    (1.5, (0.0, None)),                                   # long-only, gross <= 1.5
    (3.0, None),                                          # long/short, gross <= 3
    (None, {"a": (-1.0, 4.0), "b": (-2.0, 2.0), "c": (-5.0, 0.0)}),
    (2.0, [(0.0, 0.8), (-0.5, 1.0), (-1.0, 1.0)]),
])
def test_constrained_growth_optimum(assets: pd.DataFrame, max_leverage: float | None,
                                    bounds: object) -> None:
    w = kelly_portfolio(assets, fraction=1.0, max_leverage=max_leverage, bounds=bounds)
    x = assets.to_numpy()
    if isinstance(bounds, dict):
        lo = np.array([bounds[c][0] for c in assets.columns])
        hi = np.array([bounds[c][1] for c in assets.columns])
    elif isinstance(bounds, list):
        lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    elif bounds is None:
        lo, hi = np.full(3, -np.inf), np.full(3, np.inf)
    else:
        lo, hi = np.zeros(3), np.full(3, np.inf)
    # the constraints hold to 1e-8
    if max_leverage is not None:
        assert np.abs(w).sum() <= max_leverage + 1e-8
    assert (w.to_numpy() >= lo - 1e-8).all() and (w.to_numpy() <= hi + 1e-8).all()
    # and scipy finds the same optimum of the same objective
    oracle = _scipy_growth(x, lo, hi, max_leverage)
    np.testing.assert_allclose(w.to_numpy(), oracle, atol=1e-5)
    assert np.mean(np.log1p(x @ w.to_numpy())) >= np.mean(np.log1p(x @ oracle)) - 1e-10


def test_fraction_scales_the_full_kelly_weights(assets: pd.DataFrame) -> None:
    full = kelly_portfolio(assets, fraction=1.0, max_leverage=2.0)
    half = kelly_portfolio(assets, max_leverage=2.0)
    np.testing.assert_allclose(half.to_numpy(), 0.5 * full.to_numpy(), rtol=1e-12)


def test_single_asset_growth_optimum_equals_scipy() -> None:
    r = pd.DataFrame({"x": np.random.default_rng(5).normal(0.001, 0.02, 500)})
    w = kelly_portfolio(r, fraction=1.0)["x"]
    x = r["x"].to_numpy()
    best = optimize.minimize_scalar(lambda f: -np.mean(np.log1p(f * x)),
                                    bounds=(-1 / x.max() + 1e-9, -1 / x.min() - 1e-9),
                                    method="bounded", options={"xatol": 1e-10})
    assert w == pytest.approx(best.x, abs=1e-5)
    # close to, but not equal to, the second-order mu / sigma^2 (a real difference)
    assert w == pytest.approx(kelly_fraction(x, fraction=1.0), rel=0.1)


@pytest.mark.parametrize(("frame", "reason"), [
    (pd.DataFrame({"a": [0.01, np.nan] * 40, "b": [0.0, 0.01] * 40}), "NaN"),
    (pd.DataFrame({"a": np.random.default_rng(0).normal(0, 0.01, 20),
                   "b": np.random.default_rng(1).normal(0, 0.01, 20)}), "too few"),
    (pd.DataFrame({"a": np.random.default_rng(0).normal(0.001, 0.01, 80), "b": 0.001}),
     "zero variance"),
    (pd.DataFrame({"a": np.abs(np.random.default_rng(0).normal(0.01, 0.01, 80)),
                   "b": np.random.default_rng(1).normal(0, 0.01, 80)}), "unbounded"),
])
def test_degenerate_portfolios_size_zero_with_a_warning(frame: pd.DataFrame, reason: str) -> None:
    with pytest.warns(SizingWarning, match=reason):
        w = kelly_portfolio(frame)
    assert (w == 0.0).all() and list(w.index) == list(frame.columns)


def test_no_positive_edge_long_only_sizes_zero() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(-0.002, 0.01, (300, 2)), columns=["a", "b"])
    frame -= frame.mean() + 0.001  # both means exactly -0.001
    with pytest.warns(SizingWarning, match="no positive edge"):
        w = kelly_portfolio(frame, bounds=(0.0, None), max_leverage=1.0)
    assert (w == 0.0).all()
    # mean-variance: mu = 0 exactly gives w = 0
    centred = frame - frame.mean()
    with pytest.warns(SizingWarning, match="no positive edge"):
        w = kelly_portfolio(centred, method="mean_variance")
    assert (w == 0.0).all()


def test_portfolio_validation(assets: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="`fraction`"):
        kelly_portfolio(assets, fraction=2.0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'growth'"):
        kelly_portfolio(assets, method="grwoth")
    with pytest.raises(InvalidParameterError, match="`max_leverage`"):
        kelly_portfolio(assets, max_leverage=0.0)
    with pytest.raises(InvalidParameterError, match="`method`"):
        kelly_portfolio(assets, method="mean_variance", max_leverage=1.0)
    with pytest.raises(InvalidParameterError, match="low <= 0 <= high"):
        kelly_portfolio(assets, bounds=(0.1, 1.0))
    with pytest.raises(InvalidParameterError, match="unknown column"):
        kelly_portfolio(assets, bounds={"zz": (0.0, 1.0)})
    with pytest.raises(DataError, match="`returns`"):
        kelly_portfolio(assets["a"])

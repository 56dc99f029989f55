"""Portfolio figures: their data equal the pandas inputs; the module stays below portfolio."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.errors import DataError
from quantlab.plotting import portfolio as pp
from quantlab.portfolio.constraints import Constraints
from quantlab.portfolio.optimize import efficient_frontier, optimize
from tests.portfolio._cases import returns


def test_frontier_figure_carries_the_frontier_and_the_marked_portfolios():
    r = returns(4, 400, seed=3)
    fr = efficient_frontier(r, periods_per_year=252, n_points=5, constraints=Constraints())
    mv = optimize(r, periods_per_year=252)
    fig = pp.frontier_figure(fr, portfolios={"min variance": (mv.volatility, mv.expected_return)})
    np.testing.assert_array_equal(fig.data[0].x, fr["volatility"].to_numpy())
    np.testing.assert_array_equal(fig.data[0].y, fr["expected_return"].to_numpy())
    assert fig.data[1].name == "min variance" and fig.data[1].x[0] == mv.volatility
    assert fig.layout.xaxis.tickformat == ".0%"
    with pytest.raises(DataError, match="volatility"):
        pp.frontier_figure(fr.drop(columns="volatility"))


def test_weights_area_stacks_one_band_per_asset_forward_filled():
    idx = pd.date_range("2020-01-01", periods=4, freq="MS", tz="UTC")
    w = pd.DataFrame({"A": [0.5, np.nan, 0.2, 0.1], "B": [0.5, np.nan, 0.8, 0.9]}, index=idx)
    fig = pp.weights_area_figure(w)
    assert [t.name for t in fig.data] == ["A", "B"]
    assert all(t.stackgroup == "weights" for t in fig.data)
    np.testing.assert_array_equal(fig.data[0].y, [0.5, 0.5, 0.2, 0.1])


def test_risk_contribution_bars_are_shares_of_volatility():
    r = returns(5, 400, seed=4)
    res = optimize(r, objective="min_variance", periods_per_year=252)
    fig = pp.risk_contributions_figure(res.risk_contributions)
    assert np.sum(fig.data[0].y) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(fig.data[0].y, res.risk_contributions / res.volatility,
                               rtol=1e-12)
    raw = pp.risk_contributions_figure(res.risk_contributions, relative=False)
    np.testing.assert_array_equal(raw.data[0].y, res.risk_contributions.to_numpy())


def test_the_plotting_module_imports_no_higher_layer():
    path = Path(pp.__file__)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    for banned in ("quantlab.portfolio", "quantlab.backtest", "quantlab.strategy",
                   "quantlab.report"):
        assert not any(n == banned or n.startswith(banned + ".") for n in names)

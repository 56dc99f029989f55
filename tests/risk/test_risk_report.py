"""risk_report(result): the wiring of forecasts, backtests, regimes and Kelly on a real backtest.

Oracles written out here: numpy's percentile of the last ``window`` returns (historical VaR),
the exception count ``-r > VaR`` by hand, a pandas groupby per regime state, ``mean / var``
for the Kelly multiplier and ``|position x close| / equity`` for the leverage.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import quantlab as ql
from quantlab.errors import ConvergenceWarning, DataError, InvalidParameterError
from quantlab.risk.report import risk_report


@pytest.fixture(scope="module")
def result():
    return ql.backtest(ql.data.load("aapl").iloc[:1200], ql.strategies.SmaCross(fast=10, slow=30),
                       fee_bps=10)


@pytest.fixture(scope="module")
def report(result):
    labels = pd.Series(np.where(np.arange(len(result.returns)) % 200 < 120, 0, 1),
                       index=result.returns.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return risk_report(result, methods=("historical", "parametric", "garch"), window=250,
                           regime=labels, n_sims=500), labels


def test_var_table_rows_are_the_forecasts_and_their_backtests(result, report):
    rep, _ = report
    r = result.returns.dropna()
    assert list(rep.var_table.index) == ["historical", "parametric", "garch"]
    last = -np.percentile(r.to_numpy()[-251:-1], 1.0)  # the forecast for the last bar: 250 before it
    assert rep.var_table.loc["historical", "var_last"] == pytest.approx(last, rel=1e-12)
    for method, row in rep.var_table.iterrows():
        v = rep.forecasts[method]["var"]
        known = v.notna()
        assert row["exceptions"] == int((-r[known] > v[known]).sum())
        assert row["n_obs"] == int(known.sum())
        assert row["basel_zone"] == rep.backtests[method].traffic_light.zone
        assert (rep.forecasts[method]["es"][known] >= v[known] - 1e-15).all()
    assert rep.plot("parametric").layout.yaxis.title.text
    html = rep._repr_html_()
    assert "VaR by regime" in html and "kupiec_p" in html


def test_by_regime_matches_a_groupby(result, report):
    rep, labels = report
    r = result.returns.dropna()
    v = rep.forecasts["historical"]["var"]
    frame = pd.DataFrame({"r": r, "v": v, "s": labels}).dropna()
    frame["hit"] = -frame["r"] > frame["v"]
    expected = frame.groupby("s")["hit"].mean()
    np.testing.assert_allclose(rep.by_regime["exception_rate"].to_numpy(), expected.to_numpy())
    np.testing.assert_allclose(rep.by_regime["volatility"].to_numpy(),
                               frame.groupby("s")["r"].std().to_numpy())
    assert rep.by_regime["share"].sum() == pytest.approx(1.0)


def test_kelly_against_realized_leverage(result, report):
    rep, _ = report
    r = result.returns.dropna()
    mu, var_ = r.mean(), r.var(ddof=1)
    assert rep.kelly["kelly_multiplier"] == pytest.approx(max(mu / var_, 0.0), rel=1e-12)
    gross = (result.positions["asset"].abs() * result.data["close"] / result.equity)
    assert rep.kelly["realized_leverage"] == pytest.approx(gross[gross > 0].mean(), rel=1e-12)
    assert rep.kelly["kelly_leverage"] == pytest.approx(
        rep.kelly["kelly_multiplier"] * rep.kelly["realized_leverage"])
    assert rep.kelly["kelly_leverage_x0.5"] == pytest.approx(0.5 * rep.kelly["kelly_leverage"])


def test_bad_input_is_refused(result):
    with pytest.raises(InvalidParameterError, match="`method` of var.*Did you mean 'historical'"):
        risk_report(result, methods=("histrical",))
    with pytest.raises(InvalidParameterError, match="`methods` of risk_report"):
        risk_report(result, methods="historical")
    with pytest.raises(DataError, match="window \\+ 20"):
        risk_report(result, window=1190)
    with pytest.raises(InvalidParameterError, match="`result` of risk_report"):
        risk_report(object())

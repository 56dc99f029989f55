"""Model forecasts as sizer inputs: ``VolTarget(estimator="garch")`` and ``VarBudget(method=...)``.

Oracles: :func:`quantlab.regime.garch_volatility` and :func:`quantlab.risk.var` called on the
returns *truncated at the decision bar* (so the value the sizer reads at bar t is shown to be
the forecast for t + 1 from data up to t, and nothing later), and scipy's normal quantile for
the parametric VaR written out by hand.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quantlab.backtest import backtest
from quantlab.backtest import step as S
from quantlab.backtest.sizers import VarBudget, VolTarget, sizer_inputs
from quantlab.data import synthetic
from quantlab.errors import ConvergenceWarning, InvalidParameterError
from quantlab.regime import garch_volatility
from quantlab.risk import var
from quantlab.strategies import SmaCross


@pytest.fixture(scope="module")
def bars():
    return synthetic.garch(700, seed=3).data


def _inputs(sizer, data):
    prices = {f: data[f].to_numpy().reshape(-1, 1) for f in ("open", "high", "low", "close")}
    target = np.ones((len(data), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return sizer_inputs(sizer, prices, target)


def test_garch_vol_target_reads_the_next_bar_forecast_from_data_up_to_the_bar(bars):
    sizer = VolTarget(0.2, window=250, estimator="garch", refit_every=100)
    vol = _inputs(sizer, bars)[S.IN_VOL][:, 0]
    r = bars["close"].pct_change().to_numpy()[1:]  # r[i] is the return of bar i + 1
    assert np.isnan(vol[:250]).all() and np.isfinite(vol[250:]).all()
    for t in (250, 251, 349, 350, 517, len(bars) - 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            truth = garch_volatility(pd.Series(np.append(r[:t], 0.0)), refit_every=100, min_train=250)
        assert vol[t] == truth.iloc[-1]  # bit for bit: the same fits on the same data


@pytest.mark.parametrize("method", ["parametric", "historical", "ewma"])
def test_var_budget_reads_the_model_var_for_the_next_bar(bars, method):
    window = 60
    got = _inputs(VarBudget(0.01, confidence=0.99, window=window, method=method), bars)[S.IN_VAR][:, 0]
    r = bars["close"].pct_change()
    if method == "parametric":  # -(mean + std * z) of the window ending at the decision bar
        roll = r.rolling(window)
        expected = -(roll.mean() + roll.std(ddof=1) * stats.norm.ppf(0.01)).to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    elif method == "historical":  # the historical path and var() agree on what bar t knows
        model = var(r.iloc[1:], confidence=0.99, method="historical", window=window).shift(-1)
        np.testing.assert_allclose(got[1:-1], model.to_numpy()[:-1], rtol=1e-12, atol=0)
    else:
        for t in (window + 1, 300, len(bars) - 1):
            truth = var(pd.Series(np.append(r.to_numpy()[1 : t + 1], 0.0)), confidence=0.99,
                        method="ewma", window=window)
            assert got[t] == pytest.approx(truth.iloc[-1], rel=1e-12)


def test_a_garch_sized_backtest_is_causal(bars):
    sizer = VolTarget(0.2, window=250, estimator="garch", refit_every=100)
    strategy = SmaCross(fast=10, slow=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = backtest(bars, strategy, size=sizer, fee_bps=10)
        cut = backtest(bars.iloc[:500], strategy, size=sizer, fee_bps=10)
    head = full.orders[full.orders["time"] < bars.index[499]]
    pd.testing.assert_frame_equal(head, cut.orders[cut.orders["time"] < bars.index[499]])
    assert len(full.orders) > 2


def test_estimator_and_method_are_checked():
    with pytest.raises(InvalidParameterError, match="`estimator` of VolTarget.*Did you mean 'garch'"):
        VolTarget(0.2, estimator="garh")
    with pytest.raises(InvalidParameterError, match="`method` of VarBudget.*Did you mean 'parametric'"):
        VarBudget(0.01, method="parametrc")

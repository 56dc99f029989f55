"""RegimeFiltered (gate / scale) and RegimeSwitch on stand-in regime inputs.

Oracles: the definitions written out with pandas in each test (the base strategy's held
position, masked or scaled; each strategy's held position picked by label), and
``check_causality`` (truncating the data), which must flag a smoothed (centred) regime.
The regime models of :mod:`quantlab.regime` are exercised with these strategies in
``tests/regime/test_regime_strategies_models.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.data import load
from quantlab.errors import InvalidParameterError, LookAheadError
from quantlab.strategies import RegimeFiltered, RegimeSwitch, RsiReversion, SmaCross
from quantlab.strategy import check_causality
from quantlab.strategy.registry import strategy_from_name, strategy_names


@pytest.fixture(scope="module")
def aapl():
    return load("aapl").iloc[:1500]


def _held(signal):
    return signal.ffill().fillna(0.0)


class VolProbability:
    """A causal two-state 'filter': P(calm) from the trailing 30-bar volatility."""

    warmup = 31

    def filter(self, data):
        vol = np.log(data["close"]).diff().rolling(30).std()
        calm = 1.0 / (1.0 + np.exp((vol - 0.02) / 0.002))
        return pd.DataFrame({"state_0": calm, "state_1": 1.0 - calm}, index=data.index)


class CentredProbability(VolProbability):
    """The same, but smoothed: a centred window reads 15 bars of the future."""

    def filter(self, data):
        vol = np.log(data["close"]).diff().rolling(30, center=True).std()
        calm = (vol < 0.02).astype(float).where(vol.notna())
        return pd.DataFrame({"state_0": calm, "state_1": 1.0 - calm}, index=data.index)


def test_gate_holds_the_base_position_where_allowed_and_is_flat_elsewhere(aapl):
    base = RsiReversion(window=14)  # holds (NaN) between its signals
    allowed = pd.Series(np.arange(len(aapl)) % 200 < 100, index=aapl.index)
    sig = RegimeFiltered(base=base, regime=allowed).signal(aapl)
    expected = _held(base.signal(aapl)).where(allowed, 0.0)
    pd.testing.assert_series_equal(sig, expected.rename("exposure"))
    assert sig.isna().sum() == 0


def test_gate_on_filtered_probabilities_uses_the_threshold_and_the_states(aapl):
    base = SmaCross(fast=5, slow=20)
    model = VolProbability()
    probs = model.filter(aapl)
    for states, threshold in (((0,), 0.5), ((0,), 0.8), ((1,), 0.5), ((0, 1), 0.99)):
        sig = RegimeFiltered(base=base, regime=model, states=states, threshold=threshold).signal(aapl)
        p = probs[[f"state_{k}" for k in states]].sum(axis=1).fillna(0.0)
        expected = _held(base.signal(aapl)).where(p >= threshold, 0.0)
        np.testing.assert_array_equal(sig.to_numpy(), expected.to_numpy())


def test_scale_multiplies_the_held_position_by_the_probability(aapl):
    base = SmaCross(fast=5, slow=20)
    model = VolProbability()
    sig = RegimeFiltered(base=base, regime=model, mode="scale").signal(aapl)
    p = model.filter(aapl)["state_0"].fillna(0.0)
    np.testing.assert_allclose(sig.to_numpy(), (_held(base.signal(aapl)) * p).to_numpy(), rtol=0, atol=0)
    assert 0.0 < sig[sig > 0].min() < 1.0  # really scaled, not gated


def test_regime_switch_trades_the_strategy_of_the_current_state(aapl):
    trend, revert = SmaCross(fast=5, slow=20), RsiReversion(window=14)
    labels = pd.Series(np.where(np.arange(len(aapl)) % 300 < 150, 0.0, 1.0), index=aapl.index)
    labels.iloc[:40] = np.nan  # unknown state: flat
    sig = RegimeSwitch(strategies={0: trend, 1: revert}, regime=labels).signal(aapl)
    expected = np.where(labels == 0, _held(trend.signal(aapl)),
                        np.where(labels == 1, _held(revert.signal(aapl)), 0.0))
    np.testing.assert_array_equal(sig.to_numpy(), expected)
    # a model: argmax of its filtered probabilities; a state without a strategy is flat
    model = VolProbability()
    only_calm = RegimeSwitch(strategies={0: trend}, regime=model).signal(aapl)
    probs = model.filter(aapl)
    calm = (probs["state_0"] >= probs["state_1"]) & probs["state_0"].notna()
    np.testing.assert_array_equal(only_calm.to_numpy(),
                                  _held(trend.signal(aapl)).where(calm, 0.0).to_numpy())
    assert RegimeSwitch(strategies={0: trend, 1: revert}, regime=model).warmup == max(
        trend.warmup, revert.warmup, model.warmup)


def test_both_pass_check_causality_and_a_smoothed_regime_is_caught(aapl):
    base = SmaCross(fast=5, slow=20)
    model = VolProbability()
    for strategy in (RegimeFiltered(base=base, regime=model),
                     RegimeFiltered(base=base, regime=model, mode="scale"),
                     RegimeSwitch(strategies={0: base, 1: RsiReversion()}, regime=model)):
        assert len(check_causality(strategy, aapl, check_warmup=False).truncation_points) >= 12
    with pytest.raises(LookAheadError):
        check_causality(RegimeFiltered(base=base, regime=CentredProbability()), aapl,
                        check_warmup=False)


def test_parameters_are_checked_and_compare_by_value():
    base, model = SmaCross(), VolProbability()
    with pytest.raises(InvalidParameterError, match="`mode` of RegimeFiltered.*Did you mean 'scale'"):
        RegimeFiltered(base=base, regime=model, mode="scal")
    with pytest.raises(InvalidParameterError, match="`states` of RegimeFiltered"):
        RegimeFiltered(base=base, regime=model, states=())
    with pytest.raises(InvalidParameterError, match="`threshold` of RegimeFiltered"):
        RegimeFiltered(base=base, regime=model, threshold=1.5)
    with pytest.raises(InvalidParameterError, match="`strategies` of RegimeSwitch.*Strategy instances"):
        RegimeSwitch(strategies={0: "SmaCross"}, regime=model)
    with pytest.raises(InvalidParameterError, match="`strategies` of RegimeSwitch.*non-empty"):
        RegimeSwitch(strategies={}, regime=model)
    a = RegimeSwitch(strategies={0: SmaCross(), 1: RsiReversion()}, regime=model)
    assert a == RegimeSwitch(strategies={0: SmaCross(), 1: RsiReversion()}, regime=model)
    assert a != RegimeSwitch(strategies={0: SmaCross(fast=5)}, regime=model)
    assert "RegimeSwitch(strategies={0: SmaCross(" in repr(a) and "\n" not in repr(a)


def test_by_name_with_specs_for_the_object_parameters():
    assert {"RegimeFiltered", "RegimeSwitch"} <= set(strategy_names())
    mask = pd.Series([True, False], index=pd.date_range("2024", periods=2, tz="UTC"))
    s = strategy_from_name("RegimeFiltered", base="SmaCross(fast=5, slow=20)", regime=mask,
                           mode="scale", states="(0, 1)")
    assert s.base == SmaCross(fast=5, slow=20) and s.states == (0, 1) and s.mode == "scale"
    sw = strategy_from_name("regimeswitch", strategies="{0: 'SmaCross(fast=5, slow=20)', 1: 'RsiReversion'}",
                            regime=mask)
    assert sw.strategies == {0: SmaCross(fast=5, slow=20), 1: RsiReversion()}
    with pytest.raises(InvalidParameterError, match=r"`base` of quantlab backtest\(\) must be a spec"):
        strategy_from_name("RegimeFiltered", caller="quantlab backtest", base="SmaCross(5, 20)",
                           regime=mask)
    with pytest.raises(InvalidParameterError, match="Did you mean 'HMMRegime'"):
        strategy_from_name("RegimeFiltered", base="SmaCross", regime="HmmRegime(n_states=2)")


def test_the_report_notebooks_build_them_from_specs():
    from quantlab.report.notebook_helpers import make_strategy

    s = make_strategy("RegimeFiltered", {"base": "EmaCross(fast=5, slow=20)",
                                         "regime": "GarchRegime(refit_every=21)", "mode": "scale"},
                      caller="backtest_report")
    assert s.base.slow == 20 and type(s.regime).__name__ == "GarchRegime" and s.mode == "scale"

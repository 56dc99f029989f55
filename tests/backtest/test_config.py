"""``BacktestConfig``: storage round trips (dict, JSON, YAML) over many configs
(hypothesis), validation messages naming the parameter, settings that cannot be stored,
and ``backtest(df, s, config=cfg) == backtest(df, s, **cfg.options())``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantlab.backtest import (
    AtrRisk,
    BacktestConfig,
    Costs,
    Execution,
    FixedFraction,
    Kelly,
    Margin,
    RiskLimits,
    Sizing,
    Stops,
    VarBudget,
    VolTarget,
    backtest,
    combine,
)
from quantlab.errors import InvalidParameterError
from quantlab.strategy.builtin import SmaCross
from tests.backtest._cases import random_targets, walk

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

opt_frac = st.one_of(st.none(), st.floats(0.001, 0.99))
fraction = st.floats(0.01, 1.0)

single_sizers = st.one_of(
    st.floats(0.01, 1.0),
    st.just("all_in"),
    st.builds(FixedFraction, fraction),
    st.builds(VolTarget, st.floats(0.01, 1.0), st.integers(2, 100)),
    st.builds(AtrRisk, fraction, st.floats(0.1, 5.0), st.integers(1, 50)),
    st.builds(Kelly, fraction, st.integers(2, 200), st.integers(2, 50),
              st.sampled_from(["trades", "edge"])),
    st.builds(VarBudget, fraction, st.floats(0.51, 0.999), st.integers(10, 500)),
)
kernel_parts = st.one_of(
    st.builds(FixedFraction, fraction),
    st.builds(VolTarget, st.floats(0.01, 1.0), st.just(20)),
    st.builds(AtrRisk, fraction, st.floats(0.1, 5.0), st.just(14)),
    st.builds(VarBudget, fraction, st.just(0.99), st.just(250)),
)
combined = st.builds(
    lambda parts, kelly, cap, lev: combine(*parts, *([Kelly(0.5, 50, 10, "edge")] if kelly
                                                    else []), max_position=cap,
                                           max_leverage=lev),
    st.lists(kernel_parts, min_size=1, max_size=3), st.booleans(),
    st.one_of(st.none(), st.floats(0.1, 3.0)), st.one_of(st.none(), st.floats(0.5, 4.0)))

configs = st.builds(
    BacktestConfig,
    costs=st.builds(Costs, fee_bps=st.floats(0, 9999), fee_fixed=st.floats(0, 100),
                    slippage_bps=st.floats(0, 100), atr_window=st.integers(1, 100),
                    funding_bps=st.floats(-5, 5), borrow_bps=st.floats(0, 5)),
    execution=st.builds(Execution, fill=st.sampled_from(["next_open", "close"]),
                        init_cash=st.floats(1.0, 1e9), leverage=st.floats(1.0, 10.0),
                        lot_size=st.one_of(st.floats(0, 100),
                                           st.fixed_dictionaries({"A": st.floats(0, 10),
                                                                  "B": st.floats(0, 10)})),
                        min_notional=st.floats(0, 1000),
                        direction=st.sampled_from(["longonly", "shortonly", "both"])),
    stops=st.builds(Stops, sl_stop=opt_frac, tp_stop=st.one_of(st.none(), st.floats(0.001, 5)),
                    tsl_stop=opt_frac),
    margin=st.builds(Margin, st.one_of(st.none(), st.floats(0.0, 0.99))),
    sizing=st.builds(Sizing, size=st.one_of(single_sizers, combined),
                     rebalance_threshold=st.one_of(st.none(), st.floats(0.0, 1.0))),
    limits=st.builds(RiskLimits, max_position=st.one_of(st.none(), st.floats(0.01, 5)),
                     max_gross_leverage=st.one_of(st.none(), st.floats(0.01, 10)),
                     max_daily_loss=opt_frac, max_drawdown=opt_frac,
                     max_orders_per_day=st.one_of(st.none(), st.integers(1, 1000)),
                     on_breach=st.sampled_from(["flatten", "reduce_only", "halt"])),
    warmup=st.one_of(st.none(), st.integers(0, 500)),
    periods_per_year=st.one_of(st.none(), st.sampled_from([252.0, 365.0, 8760.0, 6240.0])),
)


# ---- storage --------------------------------------------------------------------------

@SETTINGS
@given(cfg=configs)
def test_round_trips_are_equal(cfg):
    d = cfg.to_dict()
    assert BacktestConfig.from_dict(d) == cfg
    assert BacktestConfig.from_dict(d).to_dict() == d
    text = cfg.to_json()
    assert BacktestConfig.from_json(text) == cfg
    assert json.loads(text) == d  # plain data: no NaN/inf, no objects
    assert BacktestConfig.from_yaml(cfg.to_yaml()) == cfg
    assert yaml.safe_load(cfg.to_yaml()) == d
    # the per-bar costs are compare=False in ==: check them explicitly
    back = BacktestConfig.from_json(text)
    assert back.costs.funding_bps == cfg.costs.funding_bps
    assert back.costs.borrow_bps == cfg.costs.borrow_bps
    # the flat options rebuild it too
    assert BacktestConfig.from_options(**cfg.options()) == cfg


def test_combine_round_trip_keeps_the_parts_and_caps():
    cfg = BacktestConfig.from_options(size=combine(VolTarget(0.15, 30), Kelly(0.25, 60, 12, "edge"),
                                                   VarBudget(0.02, 0.975, 100),
                                                   max_position=0.7, max_leverage=1.5))
    d = cfg.to_dict()
    assert d["sizing"]["size"] == {
        "kind": "combine",
        "sizers": [{"kind": "VolTarget", "annual_vol": 0.15, "window": 30,
                    "estimator": "realized", "refit_every": 21},
                   {"kind": "Kelly", "fraction": 0.25, "window": 60, "min_obs": 12,
                    "source": "edge", "prior": None},
                   {"kind": "VarBudget", "budget": 0.02, "confidence": 0.975, "window": 100,
                    "method": "historical"}],
        "max_position": 0.7, "max_leverage": 1.5}
    back = BacktestConfig.from_yaml(cfg.to_yaml())
    assert back == cfg
    assert back.sizing.size.sizers[1] == Kelly(0.25, 60, 12, "edge")


def test_from_dict_fills_defaults_and_refuses_unknown_keys():
    cfg = BacktestConfig.from_dict({"costs": {"fee_bps": 5}})
    assert cfg == BacktestConfig.from_options(fee_bps=5)
    with pytest.raises(InvalidParameterError, match="`cost`.*Did you mean 'costs'"):
        BacktestConfig.from_dict({"cost": {}})
    with pytest.raises(InvalidParameterError, match="`fee_bp`.*Did you mean 'fee_bps'"):
        BacktestConfig.from_dict({"costs": {"fee_bp": 1}})
    with pytest.raises(InvalidParameterError, match="`kind`"):
        BacktestConfig.from_dict({"sizing": {"size": {"kind": "VolTargt", "annual_vol": 0.1}}})
    with pytest.raises(InvalidParameterError, match="`fee_bps`"):  # validated on the way in
        BacktestConfig.from_dict({"costs": {"fee_bps": 20000}})


def test_per_bar_series_cannot_be_stored():
    idx = pd.date_range("2022-01-01", periods=3, freq="D", tz="UTC")
    for name in ("funding_bps", "borrow_bps"):
        cfg = BacktestConfig.from_options(**{name: pd.Series([1.0, 2.0, 0.5], index=idx)})
        with pytest.raises(InvalidParameterError, match=f"`{name}`.*per bar") as err:
            cfg.to_dict()
        assert "at run time" in str(err.value)
        with pytest.raises(InvalidParameterError, match=f"`{name}`"):
            cfg.to_json()
        with pytest.raises(InvalidParameterError, match=f"`{name}`"):
            cfg.to_yaml()


def test_pandas_sizer_cannot_be_stored():
    def half(target, data):
        return target * 0.5

    cfg = BacktestConfig.from_options(size=half)
    with pytest.raises(InvalidParameterError, match="`size`.*pandas sizer callable"):
        cfg.to_dict()


# ---- validation --------------------------------------------------------------------------

@pytest.mark.parametrize("kw, pattern", [
    ({"fee_bps": 20000}, r"`fee_bps`.*< 10000.*got 20000.*basis points"),
    ({"fee_bps": -1}, r"`fee_bps`"),
    ({"slippage_bps": 10000}, r"`slippage_bps`.*basis points"),
    ({"sl_stop": 5}, r"`sl_stop`.*fraction.*got 5.*sl_stop=0.05 is 5%"),
    ({"tsl_stop": 1.0}, r"`tsl_stop`.*fraction"),
    ({"sl_stop": 0}, r"`sl_stop`"),
    ({"on_breach": "flaten"}, r"`on_breach`.*got 'flaten'.*Did you mean 'flatten'"),
    ({"on_breach": "reduceonly"}, r"`on_breach`.*Did you mean 'reduce_only'"),
    ({"fee_bsp": 10}, r"unknown option `fee_bsp`.*Did you mean 'fee_bps'"),
    ({"max_drawdwn": 0.2}, r"unknown option `max_drawdwn`.*Did you mean 'max_drawdown'"),
    ({"fill": "open"}, r"`fill`.*got 'open'"),
    ({"size": 1.5}, r"`size`.*leverage="),
    ({"size": "allin"}, r"`size`.*Did you mean 'all_in'"),
    ({"leverage": 0.5}, r"`leverage`.*>= 1"),
    ({"maintenance_margin": 1.0}, r"`maintenance_margin`"),
    ({"max_drawdown": 1.5}, r"`max_drawdown`"),
    ({"max_daily_loss": 0}, r"`max_daily_loss`"),
    ({"max_orders_per_day": 0}, r"`max_orders_per_day`.*>= 1"),
    ({"max_position": -0.5}, r"`max_position`"),
    ({"slippage_bps": 5, "slippage_atr": 0.1}, r"`slippage_atr`.*one slippage model"),
    ({"direction": "long"}, r"`direction`"),
    ({"warmup": -1}, r"`warmup`"),
])
def test_bad_values_are_refused_naming_the_parameter(kw, pattern):
    with pytest.raises(InvalidParameterError, match=pattern):
        BacktestConfig.from_options(**kw)
    df = walk(1, 30)
    with pytest.raises(InvalidParameterError, match=pattern.replace("BacktestConfig", "")):
        backtest(df, SmaCross(fast=2, slow=5), **kw)


def test_messages_name_the_caller():
    with pytest.raises(InvalidParameterError, match=r"`fee_bps` of backtest\(\)"):
        backtest(walk(1, 30), SmaCross(fast=2, slow=5), fee_bps=20000)
    with pytest.raises(InvalidParameterError, match=r"`fee_bps` of BacktestConfig"):
        BacktestConfig(costs=Costs(fee_bps=20000))
    with pytest.raises(InvalidParameterError, match=r"`costs`.*a Costs"):
        BacktestConfig(costs={"fee_bps": 1})
    with pytest.raises(InvalidParameterError, match=r"`config`.*BacktestConfig"):
        backtest(walk(1, 30), SmaCross(fast=2, slow=5), {"fee_bps": 1})


def test_config_is_frozen_and_replace_validates():
    cfg = BacktestConfig.from_options(fee_bps=10)
    with pytest.raises(AttributeError):
        cfg.warmup = 3  # type: ignore[misc]
    assert cfg.replace(fee_bps=5).costs.fee_bps == 5.0 and cfg.costs.fee_bps == 10.0
    assert cfg.replace(drift_threshold=0.1).sizing.rebalance_threshold == 0.1  # the older name
    with pytest.raises(InvalidParameterError, match="`sl_stop`"):
        cfg.replace(sl_stop=5)


# ---- config == options in backtest() -----------------------------------------------------

run_options = st.fixed_dictionaries({
    "fill": st.sampled_from(["close", "next_open"]),
    "fee_bps": st.sampled_from([0.0, 10.0]),
    "fee_fixed": st.sampled_from([0.0, 1.0]),
    "slippage_bps": st.sampled_from([0.0, 5.0]),
    "leverage": st.sampled_from([1.0, 2.0]),
    "sl_stop": st.sampled_from([None, 0.03]),
    "tsl_stop": st.sampled_from([None, 0.05]),
    "lot_size": st.sampled_from([0.0, 1.0]),
    "size": st.sampled_from([1.0, 0.5, VolTarget(0.2, 10), AtrRisk(0.01),
                             combine(VolTarget(0.3, 10), FixedFraction(0.9), max_position=0.6)]),
    "rebalance_threshold": st.sampled_from([None, 0.05]),
    "max_drawdown": st.sampled_from([None, 0.1]),
    "max_orders_per_day": st.sampled_from([None, 1]),
    "on_breach": st.sampled_from(["flatten", "reduce_only", "halt"]),
    "warmup": st.sampled_from([None, 10]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), opts=run_options, strategy=st.booleans())
def test_backtest_with_config_equals_backtest_with_its_options(seed, opts, strategy):
    df = walk(seed, 150)
    source = SmaCross(fast=5, slow=20) if strategy else random_targets(seed, df.index,
                                                                       ["asset"])["asset"]
    cfg = BacktestConfig.from_options(**opts)
    a = backtest(df, source, config=cfg)
    b = backtest(df, source, **cfg.options())
    c = backtest(df, source, **opts)
    for other in (b, c):
        assert (a.equity.to_numpy() == other.equity.to_numpy()).all()
        pd.testing.assert_frame_equal(a.orders, other.orders)
        pd.testing.assert_frame_equal(a.risk_events, other.risk_events)
    assert a.settings == cfg


def test_keyword_options_override_the_config():
    df = walk(2, 200)
    s = SmaCross(fast=5, slow=20)
    cfg = BacktestConfig.from_options(fee_bps=10, sl_stop=0.03)
    a = backtest(df, s, cfg, fee_bps=30)
    b = backtest(df, s, cfg.replace(fee_bps=30))
    c = backtest(df, s, cfg)
    assert (a.equity.to_numpy() == b.equity.to_numpy()).all()
    assert not (a.equity.to_numpy() == c.equity.to_numpy()).all()
    assert a.config["fee_bps"] == 30.0 and a.config["sl_stop"] == 0.03
    assert np.isclose(a.orders["fee"].sum() / (a.orders["size"] * a.orders["price"]).sum(),
                      0.003)

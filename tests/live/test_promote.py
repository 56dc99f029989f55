"""Promotion gate, the config file, and the refusals at start (issue 13 "Refused at start")."""

from __future__ import annotations

import importlib
import sys
import textwrap

import numpy as np
import pytest
import yaml

from quantlab.backtest import BacktestConfig
from quantlab.live import PromotionError, ReplayFeed, StartupError, load_config, run
from quantlab.live.promote import check_trailing_window, trailing_targets, verify_fingerprint
from quantlab.strategies import EmaCross, RegimeFiltered, SmaCross
from quantlab.strategy import Strategy
from quantlab.strategy.registry import strategy_from_name
from tests.live.conftest import promoted


def test_config_holds_everything(tmp_path, aapl):
    path = promoted(tmp_path, SmaCross(fast=5, slow=20), aapl, name="sma", fee_bps=7,
                    max_drawdown=0.2)
    doc = yaml.safe_load(path.read_text())
    assert doc["strategy"] == {"class": "quantlab.strategy.builtin:SmaCross",
                               "params": {"fast": 5, "slow": 20, "short": False}}
    assert doc["symbols"] == ["AAPL"] and doc["timeframe"] == "1d" and doc["broker"] == "paper"
    cfg = BacktestConfig.from_dict(doc["backtest"])
    assert cfg.costs.fee_bps == 7 and cfg.limits.max_drawdown == 0.2
    assert set(doc["fingerprint"]) == {"targets", "source", "quantlab_version"}
    live = load_config(path)
    assert live.strategy == SmaCross(fast=5, slow=20) and live.window == 50
    verify_fingerprint(live)  # passes on the unchanged code


def test_best_params_dict_with_a_class(tmp_path, aapl):
    best_params = {"fast": 4, "slow": 12}  # what a walk-forward result reports
    path = promoted(tmp_path, EmaCross, aapl, name="wf", params=best_params)
    assert load_config(path).strategy == EmaCross(fast=4, slow=12)


def test_object_parameters_are_written_as_specs(tmp_path, aapl):
    strat = strategy_from_name("RegimeFiltered", base="SmaCross(fast=5, slow=20)",
                               regime="GarchRegime(refit_every=63, min_train=100)")
    from quantlab.live.promote import build_strategy, strategy_params

    params = strategy_params(strat)
    assert params["base"] == "SmaCross(fast=5, slow=20, short=False)"
    rebuilt = build_strategy("quantlab.strategy.regime:RegimeFiltered", params)
    # regime models compare by identity: compare their specs
    assert repr(rebuilt.params) == repr(strat.params)
    assert isinstance(strat, RegimeFiltered)


class Peek(Strategy):
    """Looks one bar ahead (shift(-1)): must be refused."""

    def signal(self, data):
        return (data["close"].shift(-1) > data["close"]).astype(float)


def test_lookahead_is_refused_naming_the_bar(tmp_path, aapl):
    with pytest.raises(PromotionError, match=r"promotion refused: .*the signal at \d{4}-\d\d-\d\d"):
        promoted(tmp_path, Peek(), aapl, name="peek")


def test_trailing_window_difference_names_the_bar(aapl):
    ema = EmaCross(fast=5, slow=30)
    ref = aapl.iloc[:300]
    with pytest.raises(PromotionError, match=r"trailing window of 12 bars the target at "
                                             r"\d{4}-\d\d-\d\d .*\(bar \d+"):
        check_trailing_window(ema, ref, 12)
    check_trailing_window(ema, ref, 2 * ema.warmup + 2)  # the default window passes
    # oracle for trailing_targets: signal() on each prefix, last row (window None)
    got = trailing_targets(SmaCross(fast=3, slow=8), aapl.iloc[:40], None, start=30)
    want = [SmaCross(fast=3, slow=8).signal(aapl.iloc[:t + 1]).iloc[-1] for t in range(30, 40)]
    np.testing.assert_array_equal(got[:, 0], want)


def _edit(path, fn):
    doc = yaml.safe_load(path.read_text())
    fn(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize("edit, pattern", [
    (lambda d: d["strategy"].update({"class": "quantlab.strategy.builtin:SmaCros"}),
     r"(?i)strategy.class.*SmaCros.*did you mean 'SmaCross'"),
    (lambda d: d["strategy"]["params"].pop("slow"), r"missing \['slow'\]"),
    (lambda d: d["strategy"]["params"].update({"fsat": 3}),
     r"(?i)unknown parameter 'fsat'.*did you mean 'fast'"),
    (lambda d: d["backtest"]["limits"].update({"max_drawdown": -0.1}), r"max_drawdown"),
    (lambda d: d["backtest"]["costs"].update({"fee_bps": -5}), r"fee_bps"),
    (lambda d: d["guard"].update({"max_orders_per_window": -1}), r"max_orders_per_window"),
    (lambda d: d.update({"broker": "binance"}), r"broker"),
])
def test_refused_at_start(tmp_path, aapl, edit, pattern):
    path = promoted(tmp_path, SmaCross(fast=5, slow=20), aapl, name="r")
    _edit(path, edit)
    with pytest.raises(StartupError, match=pattern):
        run(path, feed=ReplayFeed(aapl), journal=tmp_path / "j.sqlite", fsync=False)
    assert not (tmp_path / "j.sqlite").exists()  # nothing was journaled, nothing traded


MODULE = '''
from quantlab.strategy import Strategy, param


class Mom(Strategy):
    window: int = param(10, minimum=1)

    @property
    def warmup(self):
        return self.window + 1

    def signal(self, data):
        close = data["close"]
        return (close > close.shift(self.window)).astype(float){extra}
'''


def test_fingerprint_mismatch_when_the_code_changed(tmp_path, aapl, monkeypatch):
    pkg = tmp_path / "mods"
    pkg.mkdir()
    (pkg / "live_mom.py").write_text(textwrap.dedent(MODULE.format(extra="")))
    monkeypatch.syspath_prepend(str(pkg))
    import live_mom

    path = promoted(tmp_path, live_mom.Mom(window=10), aapl, name="mom")
    verify_fingerprint(load_config(path))
    # the strategy's code changes after the promotion (same numbers: only a comment added)
    (pkg / "live_mom.py").write_text(textwrap.dedent(MODULE.format(extra="  # tweaked")))
    sys.modules.pop("live_mom")
    importlib.invalidate_caches()
    with pytest.raises(StartupError, match="fingerprint mismatch: the source of Mom changed"):
        run(path, feed=ReplayFeed(aapl), journal=tmp_path / "j.sqlite", fsync=False)


def test_fingerprint_mismatch_when_the_numbers_changed(tmp_path, aapl):
    path = promoted(tmp_path, SmaCross(fast=5, slow=20), aapl, name="n")
    csv = tmp_path / "n.reference.csv"
    lines = csv.read_text().splitlines()
    row = lines[-5].split(",")
    row[4] = str(float(row[4]) * 1.5)  # a different close on the reference window
    lines[-5] = ",".join(row)
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(StartupError, match="target exposures on the reference window differ"):
        verify_fingerprint(load_config(path))


def test_the_committed_demo_config_verifies():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "config" / "live" / "paper_demo.yaml"
    cfg = load_config(path)
    assert cfg.broker == "paper" and cfg.reference["dataset"] == "aapl"
    verify_fingerprint(cfg)


class Vote(Strategy):
    """The mean of its members' signals: strategies held in a tuple parameter."""

    members: tuple = ()
    screens: tuple = ()

    def signal(self, data):
        return sum(m.signal(data) for m in self.members) / len(self.members)


class Calm:
    """A regime model by duck type (``allowed``)."""

    def allowed(self, data):
        return data["close"].pct_change().abs() < 0.05


def test_history_models_are_found_inside_lists_tuples_and_nested_strategies():
    from quantlab.live.promote import history_models
    from quantlab.regime import GarchRegime

    garch = GarchRegime(refit_every=63, min_train=100)
    nested = Vote(members=(SmaCross(fast=3, slow=8),
                           RegimeFiltered(base=EmaCross(fast=3, slow=8), regime=garch)),
                  screens=(Calm(),))
    assert sorted(history_models(nested)) == ["Calm", "GarchRegime"]
    assert history_models(Vote(members=(SmaCross(fast=3, slow=8),), screens=(0.5, "x"))) == []
    # the one-level case is unchanged
    assert history_models(RegimeFiltered(base=SmaCross(fast=3, slow=8), regime=garch)) == [
        "GarchRegime"]


def test_source_hash_covers_strategies_inside_containers_and_is_stable_one_level_deep():
    import hashlib
    import inspect

    from quantlab.live.promote import source_hash

    sma, ema = SmaCross(fast=3, slow=8), EmaCross(fast=3, slow=8)
    assert source_hash(Vote(members=(sma,))) != source_hash(Vote(members=(ema,)))
    inner = Vote(members=(RegimeFiltered(base=sma, regime=Calm()),))
    assert source_hash(inner) != source_hash(Vote(members=(RegimeFiltered(base=ema,
                                                                          regime=Calm()),)))
    # a strategy holding one strategy hashes exactly as promoted configs already recorded:
    # the source of its classes (MRO up to Strategy), then of the held strategy's classes
    expected = hashlib.sha256()
    for cls in (*RegimeFiltered.__mro__, *SmaCross.__mro__):
        if cls not in (Strategy, object):
            expected.update(inspect.getsource(cls).encode())
    assert source_hash(RegimeFiltered(base=sma, regime=Calm())) == expected.hexdigest()

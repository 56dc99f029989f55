"""The built-in strategies by name (quantlab.strategy.registry).

Oracle: the classes themselves (``strategy_from_name(n, **p) == cls(**p)``) and the
declared parameter types (a name can only build a strategy whose parameters are literals).
"""

from __future__ import annotations

import pytest

from quantlab import strategies
from quantlab.errors import InvalidParameterError
from quantlab.strategies import DonchianBreakout, EmaCross, SmaCross
from quantlab.strategy.registry import (
    STRATEGIES,
    strategy_class,
    strategy_from_name,
    strategy_names,
)


def test_table_holds_every_builtin_and_is_read_only():
    assert list(STRATEGIES) == strategies.__all__
    assert all(STRATEGIES[name] is getattr(strategies, name) for name in strategies.__all__)
    with pytest.raises(TypeError):
        STRATEGIES["Mine"] = SmaCross  # type: ignore[index]


def test_strategy_names_are_the_literal_builtins():
    assert strategy_names() == ["SmaCross", "EmaCross", "RsiReversion", "BollingerReversion",
                                "DonchianBreakout", "RegimeFiltered", "RegimeSwitch"]


def test_strategy_class_exact_case_insensitive_and_did_you_mean():
    assert strategy_class("SmaCross") is SmaCross
    assert strategy_class("emacross") is EmaCross
    with pytest.raises(InvalidParameterError,
                       match=r"`strategy` of backtest_report\(\) must be one of SmaCross.*; got "
                             r"'SmaCros'\. Did you mean 'SmaCross'\?"):
        strategy_class("SmaCros", caller="backtest_report")
    assert strategy_class("regimefiltered").__name__ == "RegimeFiltered"  # specs spell its objects
    with pytest.raises(InvalidParameterError, match="got 3"):
        strategy_class(3)  # type: ignore[arg-type]


def test_strategy_from_name_equals_the_class_call():
    assert strategy_from_name("SmaCross", fast=20, slow=50) == SmaCross(fast=20, slow=50)
    assert strategy_from_name("donchianbreakout") == DonchianBreakout()
    with pytest.raises(InvalidParameterError, match="unknown parameter `fsat`. Did you mean 'fast'"):
        strategy_from_name("SmaCross", fsat=20)
    with pytest.raises(InvalidParameterError, match=r"`strategy` of quantlab backtest\(\)"):
        strategy_from_name("Nope", caller="quantlab backtest")

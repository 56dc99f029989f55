"""Issue 15, bugs 2, 12, 13 and 14: what a new user hits when calling strategies.

2. a strategy class where an instance is expected (backtest, check_causality);
12. a backtest shorter than the warm-up (0 trades, NaN Sharpe) must warn;
13. a custom strategy whose signal is boolean is read as exposure {0, 1};
14. positional strategy parameters: say they are keyword-only and name them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import quantlab as ql
from quantlab.errors import InvalidParameterError, QuantlabError, WarmupWarning
from quantlab.strategy.base import KeywordOnlyError, Strategy, as_exposure, param
from quantlab.strategy.builtin import BollingerReversion, EmaCross, RsiReversion, SmaCross
from quantlab.strategy.causality import check_causality


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return ql.data.load("aapl").iloc[:600]


class AboveMean(Strategy):
    """Long while close is above its `window`-bar mean: a boolean signal."""

    window: int = param(20, minimum=2)

    @property
    def warmup(self) -> int:
        return self.window

    def signal(self, data: pd.DataFrame) -> pd.Series:
        close = data["close"]
        return close > close.rolling(self.window).mean()


class AboveMeanFloat(AboveMean):
    def signal(self, data: pd.DataFrame) -> pd.Series:
        return super().signal(data).astype(float)


# ---------------------------------------------------------------- bug 2
@pytest.mark.parametrize("cls", [SmaCross, EmaCross, RsiReversion, AboveMean])
def test_backtest_refuses_a_class_with_the_remedy(df, cls):
    with pytest.raises(InvalidParameterError, match=rf"`strategy_or_signals` of backtest\(\).*"
                                                    rf"got the class {cls.__name__}\. Pass an instance: "
                                                    rf"{cls.__name__}\(\)"):
        ql.backtest(df, cls)


def test_check_causality_refuses_a_class_with_the_remedy(df):
    with pytest.raises(InvalidParameterError, match=r"`strategy` of check_causality\(\).*Pass an instance: "
                                                    r"SmaCross\(\) \(parameters by keyword: fast, slow, short\)"):
        check_causality(SmaCross, df)


def test_instances_still_work(df):
    assert check_causality(SmaCross(fast=5, slow=20), df).warmup_ok
    assert ql.backtest(df, SmaCross(fast=5, slow=20)).stats()["n_trades"] > 0


# ---------------------------------------------------------------- bug 14
def test_positional_parameters_are_refused_by_name():
    with pytest.raises(KeywordOnlyError, match=r"SmaCross\(\) takes its parameters by keyword only; got 2 "
                                               r"positional argument\(s\)\. Parameters: `fast`, `slow`, `short`\. "
                                               r"Write SmaCross\(fast=10, slow=30\)\."):
        SmaCross(10, 30)


def test_keyword_only_error_is_a_type_error_and_ours():
    """Code that caught Python's TypeError keeps working; ours is catchable as QuantlabError."""
    for kind in (TypeError, InvalidParameterError, QuantlabError, ValueError):
        with pytest.raises(kind):
            BollingerReversion(20, 2.0)


def test_too_many_positional_parameters_still_name_them():
    with pytest.raises(KeywordOnlyError, match=r"Parameters: `window`\.$"):
        AboveMean(1, 2, 3)


def test_keywords_still_work():
    assert SmaCross(fast=10, slow=30) == SmaCross(slow=30, fast=10)


# ---------------------------------------------------------------- bug 13
def test_bool_signal_is_exposure_zero_one(df):
    """A boolean signal backtests exactly as its float twin (True = 1 long, False = 0 flat)."""
    got = ql.backtest(df, AboveMean(window=20), fee_bps=5)
    want = ql.backtest(df, AboveMeanFloat(window=20), fee_bps=5)
    assert got.stats()["n_trades"] > 0
    pd.testing.assert_series_equal(got.equity, want.equity)
    pd.testing.assert_frame_equal(got.trades, want.trades)


def test_bool_signal_equals_explicit_targets(df):
    """The same exposure passed as a float target Series (the documented meaning)."""
    close = df["close"]
    target = (close > close.rolling(20).mean()).astype(float)
    got = ql.backtest(df, AboveMean(window=20), warmup=20)
    want = ql.backtest(df, target, warmup=20)
    pd.testing.assert_series_equal(got.equity, want.equity)


def test_as_exposure():
    s = pd.Series([True, False, True])
    assert as_exposure(s).tolist() == [1.0, 0.0, 1.0]
    frame = pd.DataFrame({"a": [True, False], "b": [0.5, np.nan]})
    out = as_exposure(frame)
    assert out["a"].tolist() == [1.0, 0.0] and out["b"].dtype == np.float64
    floats = pd.Series([0.5, -1.0])
    assert as_exposure(floats) is floats
    np.testing.assert_array_equal(as_exposure(np.array([True, False])), [1.0, 0.0])


def test_bool_array_as_direct_target_is_still_refused(df):
    """Passed directly (not from a strategy), a boolean array is ambiguous (entries? targets?):
    backtest() keeps asking for (entries, exits)."""
    with pytest.raises(InvalidParameterError, match=r"\(entries, exits\)"):
        ql.backtest(df, df["close"] > 0)


# ---------------------------------------------------------------- bug 12
def test_backtest_shorter_than_warmup_warns(df):
    short = df.iloc[:20]
    with pytest.warns(WarmupWarning, match=r"backtest\(\) has 20 bars .* warm-up of 30 bars"):
        res = ql.backtest(short, SmaCross(fast=5, slow=30))
    assert res.stats()["n_trades"] == 0  # what the warning explains


def test_warmup_equal_to_length_warns(df):
    """warmup = number of bars: no bar is left to decide at."""
    with pytest.warns(WarmupWarning, match="30 bars .* warm-up of 30"):
        ql.backtest(df.iloc[:30], SmaCross(fast=5, slow=30))


def test_explicit_warmup_option_warns_too(df):
    with pytest.warns(WarmupWarning):
        ql.backtest(df.iloc[:50], SmaCross(fast=5, slow=20), warmup=60)


def test_enough_bars_do_not_warn(df):
    # the suite turns WarmupWarning into an error: this passing proves no warning
    res = ql.backtest(df.iloc[:31], SmaCross(fast=5, slow=30))
    assert len(res.equity) == 31


def test_sweep_accepts_a_bool_signal_like_backtest():
    """Bug 13 in sweep(): a bool signal is {0, 1} exposure there too (the generic path)."""
    import quantlab as ql
    from quantlab.data import load
    from quantlab.strategy import Strategy, param

    class Above(Strategy):
        window: int = param(20, minimum=2)

        @property
        def warmup(self) -> int:
            return self.window

        def signal(self, data):
            return data["close"] > data["close"].rolling(self.window).mean()

    df = load("aapl").iloc[:600]
    res = ql.sweep(Above, df, {"window": [10, 20]}, progress=False, fee_bps=10)
    one = ql.backtest(df, Above(window=20), fee_bps=10).stats()
    row = res.table.set_index("window").loc[20]
    assert row["total_return"] == pytest.approx(one["total_return"], rel=1e-12)

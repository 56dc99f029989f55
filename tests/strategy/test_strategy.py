"""Strategy base class and built-in strategies: parameters, signals vs independent formulas,
causality (planted look-ahead is caught, every built-in passes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import talib

import quantlab.data as qd
from quantlab.errors import InvalidParameterError, LookAheadError, WarmupWarning
from quantlab.strategies import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RegimeFiltered,
    RsiReversion,
    SmaCross,
)
from quantlab.strategy import Strategy, check_causality, param


@pytest.fixture(scope="module")
def aapl():
    return qd.load("aapl").iloc[:1500]


def test_params_frozen_validated_repr():
    s = SmaCross(fast=5, slow=20)
    assert repr(s) == "SmaCross(fast=5, slow=20, short=False)"
    assert s.params == {"fast": 5, "slow": 20, "short": False}
    assert s == SmaCross(fast=5, slow=20) and hash(s) == hash(SmaCross(fast=5, slow=20))
    with pytest.raises(AttributeError, match="frozen"):
        s.fast = 3
    assert s.replace(fast=7).fast == 7
    with pytest.raises(InvalidParameterError, match="Did you mean 'fast'"):
        SmaCross(fsat=5)
    with pytest.raises(InvalidParameterError, match="`fast` of SmaCross\\(\\) must be < slow"):
        SmaCross(fast=30, slow=10)
    with pytest.raises(InvalidParameterError, match="`slow` of SmaCross\\(\\) must be an integer >= 2"):
        SmaCross(fast=1, slow=1.5)


def test_sma_cross_equals_talib_formula(aapl):
    close = aapl["close"].to_numpy()
    fast, slow = talib.SMA(close, 10), talib.SMA(close, 30)
    expected = np.where(fast > slow, 1.0, np.where(fast < slow, 0.0, np.nan))
    got = SmaCross(fast=10, slow=30).signal(aapl)
    np.testing.assert_array_equal(got.to_numpy(), expected)
    short = SmaCross(fast=10, slow=30, short=True).signal(aapl).to_numpy()
    np.testing.assert_array_equal(short, np.where(fast > slow, 1.0, np.where(fast < slow, -1.0, np.nan)))


def test_multi_asset_signal_is_per_column(aapl):
    msft = qd.load("msft").iloc[:1500]
    panel = pd.concat({"AAPL": aapl, "MSFT": msft}, axis=1).swaplevel(axis=1).sort_index(axis=1)
    sig = EmaCross(fast=5, slow=20).signal(panel)
    assert list(sig.columns) == ["AAPL", "MSFT"]
    pd.testing.assert_series_equal(sig["MSFT"], EmaCross(fast=5, slow=20).signal(msft), check_names=False)


ALL_BUILTINS = [
    SmaCross(fast=5, slow=20), EmaCross(fast=5, slow=20), SmaCross(fast=3, slow=50, short=True),
    RsiReversion(window=14), RsiReversion(window=7, lower=20, upper=80, short=True),
    BollingerReversion(window=20, k=2.0), BollingerReversion(window=10, k=1.5, short=True),
    DonchianBreakout(window=20), DonchianBreakout(window=55, short=True),
]


@pytest.mark.parametrize("strategy", ALL_BUILTINS, ids=repr)
def test_builtins_pass_causality(strategy, aapl):
    report = check_causality(strategy, aapl)
    assert report.warmup_ok and len(report.truncation_points) > 5


class _Planted(Strategy):
    kind: str = param("shift", choices=("shift", "full_mean", "centred"))

    def signal(self, data):
        close = data["close"]
        if self.kind == "shift":
            return (close.shift(-1) > close).astype(float)
        if self.kind == "full_mean":
            return (close > close.mean()).astype(float)
        return (close > close.rolling(21, center=True).mean()).astype(float)


@pytest.mark.parametrize("kind", ["shift", "full_mean", "centred"])
def test_planted_lookahead_is_caught(kind, aapl):
    with pytest.raises(LookAheadError, match="uses future data"):
        check_causality(_Planted(kind=kind), aapl)


def test_smoothed_hmm_is_caught(aapl):
    from hmmlearn.hmm import GaussianHMM

    class SmoothedHmm(Strategy):
        def signal(self, data):
            r = np.log(data["close"]).diff().fillna(0.0).to_numpy()[:, None]
            model = GaussianHMM(n_components=2, random_state=0, n_iter=20).fit(r)
            probs = model.predict_proba(r)  # forward-backward: smoothed over the whole sample
            calm = int(np.argmin(model.covars_.ravel()))
            return pd.Series((probs[:, calm] > 0.5).astype(float), index=data.index)

    with pytest.raises(LookAheadError):
        check_causality(SmoothedHmm(), aapl.iloc[:600], n_points=4)


def test_too_short_warmup_is_flagged(aapl):
    class ShortWarmup(EmaCross):
        @property
        def warmup(self):
            return 2

    with pytest.warns(WarmupWarning, match="too short"):
        report = check_causality(ShortWarmup(fast=20, slow=100), aapl)
    assert not report.warmup_ok


def test_rsi_reversion_equals_talib_formula(aapl):
    close = aapl["close"].to_numpy()
    rsi = talib.RSI(close, 14)
    expected = np.where(rsi < 30, 1.0, np.where(rsi > 70, 0.0, np.nan))
    np.testing.assert_array_equal(RsiReversion().signal(aapl).to_numpy(), expected)


def test_bollinger_and_donchian_equal_independent_formulas(aapl):
    close = aapl["close"]
    upper, middle, lower = talib.BBANDS(close.to_numpy(), 20, 2.0, 2.0, 0)
    c = close.to_numpy()
    expected = np.where(c < lower, 1.0, np.where(c > middle, 0.0, np.nan))
    np.testing.assert_array_equal(BollingerReversion().signal(aapl).to_numpy(), expected)
    hi = aapl["high"].rolling(20).max().shift(1).to_numpy()
    lo = aapl["low"].rolling(20).min().shift(1).to_numpy()
    expected = np.where(c > hi, 1.0, np.where(c < lo, 0.0, np.nan))
    np.testing.assert_array_equal(DonchianBreakout().signal(aapl).to_numpy(), expected)


def test_regime_filtered_trades_only_when_allowed(aapl):
    base = SmaCross(fast=5, slow=20)
    allowed = pd.Series(np.arange(len(aapl)) % 200 < 100, index=aapl.index)
    sig = RegimeFiltered(base=base, regime=allowed).signal(aapl)
    held = base.signal(aapl).ffill().fillna(0.0)  # the position the base strategy holds
    np.testing.assert_array_equal(sig[allowed].to_numpy(), held[allowed].to_numpy())
    assert (sig[~allowed] == 0.0).all()

    class Calm:  # the regime-model interface: allowed(data) computed causally
        warmup = 31

        def __init__(self, expanding=False):
            self.expanding = expanding

        def allowed(self, data):
            vol = np.log(data["close"]).diff().rolling(30).std()
            return vol < (vol.expanding().median() if self.expanding else 0.025)

    filtered = RegimeFiltered(base=base, regime=Calm())
    assert filtered.warmup == 31
    assert check_causality(filtered, aapl).warmup_ok
    # an expanding statistic is causal but never forgets where the data starts: flagged
    with pytest.warns(WarmupWarning):
        check_causality(RegimeFiltered(base=base, regime=Calm(expanding=True)), aapl)
    with pytest.raises(InvalidParameterError, match="`regime` of RegimeFiltered"):
        RegimeFiltered(base=base, regime=3)



# ---------------------------------------------------------------------------- object parameters

class _Vol:
    """A regime model without value semantics (compares by identity)."""

    warmup = 31

    def allowed(self, data):
        return np.log(data["close"]).diff().rolling(30).std() < 0.025


def _mask(aapl):
    return pd.Series(np.arange(len(aapl)) % 200 < 100, index=aapl.index)


def test_object_parameters_are_validated_with_the_fix_named(aapl):
    with pytest.raises(InvalidParameterError,
                       match=r"`base` of RegimeFiltered\(\) must be a Strategy instance; got 3\. "
                             r"Pass a strategy object, e\.g\. base=SmaCross"):
        RegimeFiltered(base=3, regime=_Vol())
    with pytest.raises(InvalidParameterError, match=r"`base` of RegimeFiltered\(\) .*; got None"):
        RegimeFiltered(regime=_Vol())  # base has no usable default
    with pytest.raises(InvalidParameterError,
                       match=r"`regime` of RegimeFiltered\(\) must be a regime model .*allowed\(data\)"
                             r".*; got SmaCross\(fast=10, slow=30, short=False\)\. Pass an object"):
        RegimeFiltered(base=SmaCross(), regime=SmaCross())  # a strategy is not a regime model
    with pytest.raises(InvalidParameterError, match=r"`regime` .*; got <ndarray bool, shape \(1500,\)>"):
        RegimeFiltered(base=SmaCross(), regime=_mask(aapl).to_numpy())  # the message stays short

    class Declared(Strategy):  # any class, or union of classes, is a parameter type
        inner: EmaCross | SmaCross = None  # type: ignore[assignment]

    assert Declared(inner=EmaCross()).inner == EmaCross()
    with pytest.raises(InvalidParameterError,
                       match=r"`inner` of Declared\(\) must be an EmaCross instance or a SmaCross "
                             r"instance; got DonchianBreakout\(window=20, short=False\)"):
        Declared(inner=DonchianBreakout())


def test_object_parameters_compare_by_value_or_identity_never_element_wise(aapl):
    model, mask = _Vol(), _mask(aapl)
    a = RegimeFiltered(base=SmaCross(fast=10, slow=30), regime=model)
    b = RegimeFiltered(base=SmaCross(fast=10, slow=30), regime=model)
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != RegimeFiltered(base=SmaCross(fast=10, slow=40), regime=model)  # base by value
    assert a != RegimeFiltered(base=EmaCross(fast=10, slow=30), regime=model)
    assert a != RegimeFiltered(base=SmaCross(fast=10, slow=30), regime=_Vol())  # model by identity
    # a Series parameter: identity, so == never asks pandas for an element-wise truth value
    m1 = RegimeFiltered(base=SmaCross(), regime=mask)
    assert m1 == RegimeFiltered(base=SmaCross(), regime=mask)
    assert hash(m1) == hash(RegimeFiltered(base=SmaCross(), regime=mask))
    assert m1 != RegimeFiltered(base=SmaCross(), regime=mask.copy())
    assert m1 != a and a != m1
    # a nested strategy parameter compares by its own == and hash
    nested = RegimeFiltered(base=a, regime=model)
    assert nested == RegimeFiltered(base=b, regime=model)
    assert hash(nested) == hash(RegimeFiltered(base=b, regime=model))


@dataclass(frozen=True)
class Threshold:
    """A regime model with value semantics (a frozen dataclass)."""

    level: float

    def allowed(self, data):
        return data["close"] > self.level


def test_object_parameters_with_value_semantics_compare_by_value():
    a = RegimeFiltered(base=SmaCross(), regime=Threshold(1.0))
    assert a == RegimeFiltered(base=SmaCross(), regime=Threshold(1.0))
    assert hash(a) == hash(RegimeFiltered(base=SmaCross(), regime=Threshold(1.0)))
    assert a != RegimeFiltered(base=SmaCross(), regime=Threshold(2.0))
    assert repr(a) == ("RegimeFiltered(base=SmaCross(fast=10, slow=30, short=False), "
                       "regime=Threshold(level=1.0), mode='gate', states=(0,), "
                       "threshold=0.5)")  # a short own repr is kept


def test_object_parameters_have_a_short_repr(aapl):
    model = _Vol()
    assert repr(RegimeFiltered(base=SmaCross(fast=10, slow=30), regime=model)) == (
        "RegimeFiltered(base=SmaCross(fast=10, slow=30, short=False), regime=<_Vol>, "
        "mode='gate', states=(0,), threshold=0.5)")
    with_series = repr(RegimeFiltered(base=SmaCross(), regime=_mask(aapl)))
    assert "regime=<Series bool, 1500 rows>, mode=" in with_series and len(with_series) < 160
    frame = pd.DataFrame({"AAPL": _mask(aapl), "MSFT": _mask(aapl)})
    assert "regime=<DataFrame 1500x2>, mode=" in repr(RegimeFiltered(base=SmaCross(), regime=frame))

    class Chatty:  # an own repr that is long or spans lines is replaced by the type name
        def allowed(self, data):
            return data["close"] > 0

        def __repr__(self):
            return "Chatty(\n" + "x" * 500 + ")"

    assert "regime=<Chatty>, mode=" in repr(RegimeFiltered(base=SmaCross(), regime=Chatty()))


def test_object_parameters_pickle_round_trip(aapl):
    import pickle

    plain = RegimeFiltered(base=EmaCross(fast=5, slow=20), regime=_mask(aapl))
    back = pickle.loads(pickle.dumps(plain))
    assert repr(back) == repr(plain) and back.base == plain.base
    pd.testing.assert_series_equal(back.signal(aapl), plain.signal(aapl))
    model = RegimeFiltered(base=SmaCross(), regime=_Vol())
    back = pickle.loads(pickle.dumps(model))
    assert isinstance(back.regime, _Vol) and back.base == SmaCross()
    pd.testing.assert_series_equal(back.signal(aapl), model.signal(aapl))

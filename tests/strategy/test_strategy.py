"""Strategy base class and built-in strategies: parameters, signals vs independent formulas,
causality (planted look-ahead is caught, every built-in passes)."""

from __future__ import annotations

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
    raw = base.signal(aapl)
    np.testing.assert_array_equal(sig[allowed].to_numpy(), raw[allowed].to_numpy())
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

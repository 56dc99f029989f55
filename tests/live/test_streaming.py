"""The streaming path equals ``signal()`` on every bar (the built-ins, on stream twins)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.live.streaming import streaming_decider
from quantlab.strategies import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RegimeFiltered,
    RsiReversion,
    SmaCross,
)

CASES = [SmaCross(fast=5, slow=20), SmaCross(fast=3, slow=8, short=True), EmaCross(),
         EmaCross(fast=4, slow=12, short=True), RsiReversion(), RsiReversion(window=6, lower=35,
                                                                            upper=65, short=True),
         BollingerReversion(), BollingerReversion(window=10, k=1.5, short=True),
         DonchianBreakout(), DonchianBreakout(window=10, short=True)]


def _streamed(strategy, data: pd.DataFrame) -> np.ndarray:
    d = streaming_decider(strategy, 1)
    cols = [data[f].to_numpy(np.float64) for f in ("open", "high", "low", "close", "volume")]
    return np.array([d.update(*(np.array([c[t]]) for c in cols))[0] for t in range(len(data))])


@pytest.mark.parametrize("strategy", CASES, ids=repr)
def test_streaming_equals_signal_on_every_bar(aapl, strategy):
    want = np.asarray(strategy.signal(aapl), dtype=np.float64)
    np.testing.assert_array_equal(_streamed(strategy, aapl), want)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), which=st.integers(0, len(CASES) - 1))
def test_streaming_equals_signal_on_random_walks(seed, which):
    rng = np.random.default_rng(seed)
    n = 300
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    data = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": rng.uniform(1e3, 1e4, n)},
                        index=pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC"))
    strategy = CASES[which]
    want = np.asarray(strategy.signal(data), dtype=np.float64)
    np.testing.assert_array_equal(_streamed(strategy, data), want)


def test_no_streaming_path_for_other_strategies():
    from quantlab.strategy.registry import strategy_from_name

    regime = strategy_from_name("RegimeFiltered", base="SmaCross(fast=5, slow=20)",
                                regime="GarchRegime(refit_every=63)")
    assert isinstance(regime, RegimeFiltered)
    assert streaming_decider(regime, 1) is None

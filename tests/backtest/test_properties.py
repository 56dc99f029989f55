"""Properties of the simulator (hypothesis): accounting identities and causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantlab.backtest import backtest
from quantlab.errors import WarmupWarning

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _bars(seed, n):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.01, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.01, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.01, n)))
    idx = pd.date_range("2022-01-03", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": 1.0}, index=idx)


def _signals(seed, df, p=0.1):
    rng = np.random.default_rng(seed + 1)
    n = len(df)
    return (pd.Series(rng.random(n) < p, index=df.index),
            pd.Series(rng.random(n) < p, index=df.index))


def _targets(seed, df):
    rng = np.random.default_rng(seed + 2)
    n = len(df)
    levels = rng.choice([-1.0, -0.4, 0.0, 0.25, 0.7, 1.0], size=n)
    return pd.Series(np.where(rng.random(n) < 0.1, levels, np.nan), index=df.index)


options = st.fixed_dictionaries({
    "fill": st.sampled_from(["close", "next_open"]),
    "fee_bps": st.sampled_from([0.0, 5.0, 30.0]),
    "sl_stop": st.sampled_from([None, 0.02]),
    "tp_stop": st.sampled_from([None, 0.05]),
    "direction": st.sampled_from(["longonly", "shortonly", "both"]),
})


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), opts=options)
def test_equity_is_cash_plus_positions(seed, n, opts):
    df = _bars(seed, n)
    res = backtest(df, _signals(seed, df), **opts)
    np.testing.assert_allclose(res.equity, res.cash + res.positions.iloc[:, 0] * df["close"],
                               rtol=1e-12, atol=1e-6)
    assert (res.orders["fee"] >= 0).all()
    # the position changes only on a fill
    changed = res.positions.iloc[:, 0].diff().fillna(res.positions.iloc[0, 0]).abs() > 0
    assert set(res.equity.index[changed.to_numpy()]) <= set(res.orders["time"])


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(2, 100),
       fill=st.sampled_from(["close", "next_open"]))
def test_zero_fee_round_trips_at_constant_price_keep_equity(seed, n, fill):
    idx = pd.date_range("2022-01-03", periods=n, freq="D", tz="UTC", name="time")
    df = pd.DataFrame({"open": 42.0, "high": 42.0, "low": 42.0, "close": 42.0, "volume": 1.0},
                      index=idx)
    # periods_per_year given: a 2-bar index has nothing to annualize from (it would warn)
    res = backtest(df, _targets(seed, df), fill=fill, periods_per_year=365)
    np.testing.assert_allclose(res.equity, 100_000.0, rtol=1e-12)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300),
       fill=st.sampled_from(["close", "next_open"]),
       direction=st.sampled_from(["longonly", "shortonly", "both"]),
       fee=st.sampled_from([1.0, 10.0, 100.0]))
def test_fees_never_raise_equity(seed, n, fill, direction, fee):
    df = _bars(seed, n)
    sig = _signals(seed, df)
    free = backtest(df, sig, fill=fill, direction=direction)
    paid = backtest(df, sig, fill=fill, direction=direction, fee_bps=fee)
    assert (paid.equity.to_numpy() <= free.equity.to_numpy() * (1 + 1e-12) + 1e-9).all()


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(5, 200), warmup=st.integers(0, 150),
       fill=st.sampled_from(["close", "next_open"]))
def test_no_order_before_warmup(seed, n, warmup, fill):
    df = _bars(seed, n)
    if warmup > n - 1:  # no bar left to decide at: said, not silent (issue 15, bug 12)
        with pytest.warns(WarmupWarning, match="no order can be decided"):
            res = backtest(df, _targets(seed, df), fill=fill, warmup=warmup, sl_stop=0.01)
        assert len(res.orders) == 0
        return
    res = backtest(df, _targets(seed, df), fill=fill, warmup=warmup, sl_stop=0.01)
    if len(res.orders):
        first = df.index.get_loc(res.orders["time"].iloc[0])
        assert first >= warmup + (1 if fill == "next_open" else 0)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(6, 200), cut=st.floats(0.1, 0.9),
       opts=options, targets=st.booleans())
def test_truncating_the_future_never_changes_the_past(seed, n, cut, opts, targets):
    df = _bars(seed, n)
    k = max(2, int(n * cut))
    opts = {**opts, "periods_per_year": 252}  # a 2-bar prefix has nothing to annualize from
    if targets:
        opts = {k2: v for k2, v in opts.items() if k2 != "direction"}
        full = backtest(df, _targets(seed, df), **opts)
        part = backtest(df.iloc[:k], _targets(seed, df).iloc[:k], **opts)
    else:
        en, ex = _signals(seed, df)
        full = backtest(df, (en, ex), **opts)
        part = backtest(df.iloc[:k], (en.iloc[:k], ex.iloc[:k]), **opts)
    np.testing.assert_array_equal(part.equity.to_numpy(), full.equity.to_numpy()[:k])
    np.testing.assert_array_equal(part.positions.to_numpy(), full.positions.to_numpy()[:k])
    pd.testing.assert_frame_equal(part.orders, full.orders[full.orders["time"] < df.index[k]]
                                  .reset_index(drop=True))

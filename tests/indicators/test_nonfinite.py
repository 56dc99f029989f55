"""Issue 15, bugs 3, 4 and 5: non-finite inputs, degenerate windows, unsorted time indexes.

* Bug 3: one ±inf (or NaN) in the input. Windowed indicators are NaN while it is in the window
  and, once it has left, equal the clean reference (TA-Lib or pandas on the data without it);
  pandas' rolling treats ±inf as NaN, so where pandas computes the indicator the whole output
  must equal pandas'. Recursive indicators: the policy their docstrings state is pinned.
* Bug 4: windows whose inputs are all zero or all equal give TA-Lib's exact answers (MFI 0,
  STDDEV 0, ...), not the residue of their running sums.
* Bug 5: a Series with an unsorted DatetimeIndex is refused (DataError naming the input).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

import quantlab.indicators as ind
from quantlab.errors import DataError
from quantlab.indicators.momentum import MFI
from quantlab.indicators.overlap import SMA, WMA
from quantlab.indicators.volatility import STDDEV
from tests.indicators.oracle import assert_stream_equals_batch, random_walk

N = 400
P = 150  # the bar that gets the bad value
W = 10

_WALK = random_walk(N, seed=11)
_OTHER = random_walk(N, seed=12)
CLEAN = {
    "high": _WALK["high"].to_numpy(),
    "low": _WALK["low"].to_numpy(),
    "close": _WALK["close"].to_numpy(),
    "volume": _WALK["volume"].to_numpy(),
    "y": _OTHER["close"].to_numpy(),
}
Inputs = dict[str, np.ndarray]


def _pd(x: np.ndarray) -> pd.Series:
    return pd.Series(x)


# name -> (inputs it reads, quantlab call, independent reference on the same inputs)
WINDOWED: dict[str, tuple[tuple[str, ...], Callable[[Inputs], np.ndarray], Callable[[Inputs], np.ndarray]]] = {
    "sma": (("close",), lambda d: ind.sma(d["close"], W), lambda d: talib.SMA(d["close"], W)),
    "wma": (("close",), lambda d: ind.wma(d["close"], W), lambda d: talib.WMA(d["close"], W)),
    "trima": (("close",), lambda d: ind.trima(d["close"], W), lambda d: talib.TRIMA(d["close"], W)),
    "vwma": (("close", "volume"), lambda d: ind.vwma(d["close"], d["volume"], W),
             lambda d: (_pd(d["close"] * d["volume"]).rolling(W).sum() / _pd(d["volume"]).rolling(W).sum()).to_numpy()),
    "stoch_k": (("high", "low", "close"), lambda d: ind.stoch(d["high"], d["low"], d["close"], W)[0],
                lambda d: talib.STOCH(d["high"], d["low"], d["close"], W, 3, 0, 3, 0)[0]),
    "stochf_d": (("high", "low", "close"), lambda d: ind.stochf(d["high"], d["low"], d["close"], W)[1],
                 lambda d: talib.STOCHF(d["high"], d["low"], d["close"], W, 3, 0)[1]),
    "willr": (("high", "low", "close"), lambda d: ind.willr(d["high"], d["low"], d["close"], W),
              lambda d: talib.WILLR(d["high"], d["low"], d["close"], W)),
    "cci": (("high", "low", "close"), lambda d: ind.cci(d["high"], d["low"], d["close"], W),
            lambda d: talib.CCI(d["high"], d["low"], d["close"], W)),
    "mfi": (("high", "low", "close", "volume"), lambda d: ind.mfi(d["high"], d["low"], d["close"], d["volume"], W),
            lambda d: talib.MFI(d["high"], d["low"], d["close"], d["volume"], W)),
    "ultosc": (("high", "low", "close"), lambda d: ind.ultosc(d["high"], d["low"], d["close"]),
               lambda d: talib.ULTOSC(d["high"], d["low"], d["close"])),
    "stddev": (("close",), lambda d: ind.stddev(d["close"], W), lambda d: talib.STDDEV(d["close"], W)),
    "var": (("close",), lambda d: ind.var(d["close"], W), lambda d: talib.VAR(d["close"], W)),
    "bbands_upper": (("close",), lambda d: ind.bbands(d["close"], W)[0], lambda d: talib.BBANDS(d["close"], W)[0]),
    "bbands_middle": (("close",), lambda d: ind.bbands(d["close"], W)[1], lambda d: talib.BBANDS(d["close"], W)[1]),
    "zscore": (("close",), lambda d: ind.zscore(d["close"], W),
               lambda d: ((_pd(d["close"]) - _pd(d["close"]).rolling(W).mean()) / _pd(d["close"]).rolling(W).std(ddof=0)).to_numpy()),
    "donchian_upper": (("high",), lambda d: ind.donchian(d["high"], d["low"], W)[0],
                       lambda d: _pd(d["high"]).rolling(W).max().to_numpy()),
    "aroon_up": (("high",), lambda d: ind.aroon(d["high"], d["low"], W)[1],
                 lambda d: talib.AROON(d["high"], d["low"], W)[1]),
    "linearreg": (("close",), lambda d: ind.linearreg(d["close"], W), lambda d: talib.LINEARREG(d["close"], W)),
    "linearreg_slope": (("close",), lambda d: ind.linearreg_slope(d["close"], W),
                        lambda d: talib.LINEARREG_SLOPE(d["close"], W)),
    "linearreg_intercept": (("close",), lambda d: ind.linearreg_intercept(d["close"], W),
                            lambda d: talib.LINEARREG_INTERCEPT(d["close"], W)),
    "linearreg_angle": (("close",), lambda d: ind.linearreg_angle(d["close"], W),
                        lambda d: talib.LINEARREG_ANGLE(d["close"], W)),
    "tsf": (("close",), lambda d: ind.tsf(d["close"], W), lambda d: talib.TSF(d["close"], W)),
    "linearreg_r2": (("close",), lambda d: ind.linearreg_r2(d["close"], W),  # r² = correl(t, y)²
                     lambda d: talib.CORREL(np.arange(N, dtype=float), d["close"], W) ** 2),
    "correl": (("close", "y"), lambda d: ind.correl(d["close"], d["y"], W), lambda d: talib.CORREL(d["close"], d["y"], W)),
    "beta": (("close", "y"), lambda d: ind.beta(d["close"], d["y"], W), lambda d: talib.BETA(d["close"], d["y"], W)),
    "apo_sma": (("close",), lambda d: ind.apo(d["close"], 5, W, matype=0), lambda d: talib.APO(d["close"], 5, W, 0)),
    "ppo_sma": (("close",), lambda d: ind.ppo(d["close"], 5, W, matype=0), lambda d: talib.PPO(d["close"], 5, W, 0)),
}

#: outputs that cross 0 or sit at a bound: compared with an absolute tolerance on their scale
ATOL = 1e-7
#: pandas computes these itself; pandas treats ±inf as NaN, so they must equal it everywhere
PANDAS_EVERYWHERE = {
    "sma": lambda x: _pd(x).rolling(W).mean(),
    "stddev": lambda x: _pd(x).rolling(W).std(ddof=0),
    "var": lambda x: _pd(x).rolling(W).var(ddof=0),
    "bbands_middle": lambda x: _pd(x).rolling(W).mean(),
    "zscore": lambda x: (_pd(x) - _pd(x).rolling(W).mean()) / _pd(x).rolling(W).std(ddof=0),
}
#: rolling max/min: ±inf is an extreme like any other value (as TA-Lib); only recovery is asserted
ORDER_STATISTICS = {"donchian_upper", "aroon_up", "willr", "stoch_k", "stochf_d"}


def _cases() -> list[tuple[str, str, float]]:
    return [(name, field, bad) for name, (fields, _, _) in WINDOWED.items() for field in fields
            for bad in (np.inf, -np.inf, np.nan)]


def _dirty(field: str, bad: float) -> Inputs:
    data = {k: v.copy() for k, v in CLEAN.items()}
    data[field][P] = bad
    return data


@pytest.mark.parametrize(("name", "field", "bad"), _cases(), ids=lambda v: str(v))
def test_windowed_recovers_after_a_bad_value_leaves(name, field, bad):
    """Bug 3: NaN (or the clean value) while the bad bar is in the window, then exactly the
    clean reference; before it, unchanged."""
    _, ours_fn, ref_fn = WINDOWED[name]
    ref = np.asarray(ref_fn(CLEAN), dtype=float)
    ours = np.asarray(ours_fn(_dirty(field, bad)), dtype=float)
    lookback = int(np.argmax(~np.isnan(ref)))  # TA-Lib's lookback: the bar's influence span
    after = slice(P + lookback + 1, N)
    np.testing.assert_allclose(ours[after], ref[after], rtol=1e-9, atol=ATOL)
    np.testing.assert_allclose(ours[:P], ref[:P], rtol=1e-9, atol=ATOL, equal_nan=True)
    inside = ours[P : P + lookback + 1]
    if name in ORDER_STATISTICS and not np.isnan(bad):
        return  # an infinite extreme is a value here (see quantlab.indicators._api)
    assert np.isnan(ours[P]), f"{name}: bar {P} holds {bad} in `{field}` but gave {ours[P]}"
    clean_inside = ref[P : P + lookback + 1]
    ok = np.isnan(inside) | np.isclose(inside, clean_inside, rtol=1e-9, atol=ATOL)
    assert ok.all(), f"{name}: a window holding {bad} gave {inside[~ok][:3]} (neither NaN nor clean)"


@pytest.mark.parametrize("name", sorted(PANDAS_EVERYWHERE))
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_windowed_equals_pandas_rolling_with_bad_values(name, bad):
    """Bug 3, the issue's own oracle: pandas' rolling on the same dirty data, bar by bar."""
    x = CLEAN["close"].copy()
    x[P] = bad
    x[P + 3 * W] = -bad if not np.isnan(bad) else np.inf  # a second one, of the other kind
    ours = np.asarray(WINDOWED[name][1]({"close": x}), dtype=float)
    theirs = PANDAS_EVERYWHERE[name](x).to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_streams_recover_like_batch(bad):
    """The streaming twins share the kernels: same NaN span, same recovery."""
    d = _dirty("close", bad)
    d["volume"][P + 20] = bad
    for stream, inputs, batch in [
        (SMA(W), [d["close"]], ind.sma(d["close"], W)),
        (WMA(W), [d["close"]], ind.wma(d["close"], W)),
        (STDDEV(W), [d["close"]], ind.stddev(d["close"], W)),
        (MFI(W), [d["high"], d["low"], d["close"], d["volume"]], ind.mfi(d["high"], d["low"], d["close"], d["volume"], W)),
    ]:
        assert_stream_equals_batch(stream, inputs, batch)


def test_issue_example_stddev_sma_bbands():
    """The report: stddev was 0.0 and sma/bbands NaN for ever after one inf; now pandas'."""
    x = CLEAN["close"].copy()
    x[P] = np.inf
    s = pd.Series(x)
    np.testing.assert_allclose(ind.stddev(s, 5), s.rolling(5).std(ddof=0), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(ind.sma(s, 5), s.rolling(5).mean(), rtol=1e-12, equal_nan=True)
    upper, middle, lower = (ind.bbands(s, 5)[k] for k in ("upper", "middle", "lower"))
    sd = s.rolling(5).std(ddof=0)
    np.testing.assert_allclose(middle, s.rolling(5).mean(), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(upper, s.rolling(5).mean() + 2 * sd, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(lower, s.rolling(5).mean() - 2 * sd, rtol=1e-9, equal_nan=True)


# ---------------------------------------------------------------- recursive kernels: the policy
RECURSIVE: dict[str, tuple[str, Callable[[Inputs], np.ndarray]]] = {
    "ema": ("close", lambda d: ind.ema(d["close"], W)),
    "dema": ("close", lambda d: ind.dema(d["close"], W)),
    "tema": ("close", lambda d: ind.tema(d["close"], W)),
    "trix": ("close", lambda d: ind.trix(d["close"], W)),
    "kama": ("close", lambda d: ind.kama(d["close"], W)),
    "macd": ("close", lambda d: ind.macd(d["close"])[0]),
    "apo": ("close", lambda d: ind.apo(d["close"], 5, W)),
    "rsi": ("close", lambda d: ind.rsi(d["close"], W)),
    "cmo": ("close", lambda d: ind.cmo(d["close"], W)),
    "atr_high": ("high", lambda d: ind.atr(d["high"], d["low"], d["close"], W)),
    "atr_close": ("close", lambda d: ind.atr(d["high"], d["low"], d["close"], W)),
    "natr": ("low", lambda d: ind.natr(d["high"], d["low"], d["close"], W)),
    "keltner": ("close", lambda d: ind.keltner(d["high"], d["low"], d["close"], W)[0]),
    "vwap": ("volume", lambda d: ind.vwap(d["high"], d["low"], d["close"], d["volume"])),
}


@pytest.mark.parametrize("name", sorted(RECURSIVE))
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_recursive_inf_poisons_for_ever(name, bad):
    """Documented policy (quantlab.indicators._api, ema/rsi/atr docstrings): ±inf is not
    skipped; it enters the recursion and every later output is NaN or ±inf, as in TA-Lib."""
    field, fn = RECURSIVE[name]
    clean = np.asarray(fn(CLEAN), dtype=float)
    ours = np.asarray(fn(_dirty(field, bad)), dtype=float)
    np.testing.assert_array_equal(ours[:P], clean[:P])  # causal: the past is untouched
    assert not np.isfinite(ours[P + 1 :]).any()


@pytest.mark.parametrize("name", ["ema", "rsi", "kama", "dema"])
def test_recursive_nan_is_skipped(name):
    """Documented policy: a NaN bar is skipped (NaN out, state unchanged) = computing on
    dropna() and reindexing; turning ±inf into NaN is the documented remedy."""
    field, fn = RECURSIVE[name]
    x = CLEAN[field].copy()
    x[P] = np.inf
    x = pd.Series(x).replace([np.inf, -np.inf], np.nan).to_numpy()
    ours = np.asarray(fn({field: x}), dtype=float)
    kept = np.asarray(fn({field: np.delete(x, P)}), dtype=float)
    assert np.isnan(ours[P])
    np.testing.assert_array_equal(np.delete(ours, P), kept)


def test_talib_never_recovers_either():
    """The reference the recursive policy follows: TA-Lib's EMA and ATR are NaN for ever after
    an inf, its RSI is stuck at 0 for ever."""
    x = CLEAN["close"].copy()
    x[P] = np.inf
    assert np.isnan(talib.EMA(x, W)[P + 1 :]).all()
    assert np.isnan(talib.ATR(x + 1, x - 1, x, W)[P + 1 :]).all()
    assert (talib.RSI(x, W)[P + 1 :] == 0.0).all()


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_lag_indicators_are_pointwise_like_pandas(bad):
    """MOM / ROC compare two bars (no window sum): exactly pandas' diff / pct_change on the same
    dirty data (±inf in, ±inf out at that bar and `window` bars later; clean elsewhere)."""
    x = CLEAN["close"].copy()
    x[P] = bad
    s = pd.Series(x)
    np.testing.assert_array_equal(ind.mom(x, W), s.diff(W).to_numpy())
    np.testing.assert_allclose(ind.roc(x, W), (s / s.shift(W) - 1).to_numpy() * 100, rtol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- bug 4: degenerate windows
def _flat_tail(level: float, zero_volume: bool, start: int = 200, length: int = 60) -> Inputs:
    """Volatile bars, then `length` bars with every price equal to `level` (and zero volume)."""
    d = {k: v.copy() for k, v in CLEAN.items()}
    for k in ("high", "low", "close"):
        d[k][start : start + length] = level
    d["y"][start : start + length] = level / 2
    if zero_volume:
        d["volume"][start : start + length] = 0.0
    return d


EXACT: dict[str, tuple[Callable[[Inputs], np.ndarray], Callable[[Inputs], np.ndarray], Callable[[float], float] | None]] = {
    # name: (quantlab, TA-Lib, the exact value over a flat window of `level`, or None: TA-Lib only)
    "mfi": (lambda d: ind.mfi(d["high"], d["low"], d["close"], d["volume"], W),
            lambda d: talib.MFI(d["high"], d["low"], d["close"], d["volume"], W), lambda level: 0.0),
    "stddev": (lambda d: ind.stddev(d["close"], W), lambda d: talib.STDDEV(d["close"], W), lambda level: 0.0),
    "var": (lambda d: ind.var(d["close"], W), lambda d: talib.VAR(d["close"], W), lambda level: 0.0),
    # SMA-based: TA-Lib's running sum (a ~1e-16 relative residue, as TA-Lib): TA-Lib parity only
    "sma": (lambda d: ind.sma(d["close"], W), lambda d: talib.SMA(d["close"], W), None),
    "wma": (lambda d: ind.wma(d["close"], W), lambda d: talib.WMA(d["close"], W), lambda level: level),
    "trima": (lambda d: ind.trima(d["close"], W), lambda d: talib.TRIMA(d["close"], W), None),
    "bbands_upper": (lambda d: ind.bbands(d["close"], W)[0], lambda d: talib.BBANDS(d["close"], W)[0], lambda level: level),
    "apo_sma": (lambda d: ind.apo(d["close"], 5, W, matype=0), lambda d: talib.APO(d["close"], 5, W, 0), None),
    "ppo_sma": (lambda d: ind.ppo(d["close"], 5, W, matype=0), lambda d: talib.PPO(d["close"], 5, W, 0), None),
    "stoch_k": (lambda d: ind.stoch(d["high"], d["low"], d["close"], W)[0],
                lambda d: talib.STOCH(d["high"], d["low"], d["close"], W, 3, 0, 3, 0)[0], None),
    "cci": (lambda d: ind.cci(d["high"], d["low"], d["close"], W),
            lambda d: talib.CCI(d["high"], d["low"], d["close"], W), lambda level: 0.0),
    "willr": (lambda d: ind.willr(d["high"], d["low"], d["close"], W),
              lambda d: talib.WILLR(d["high"], d["low"], d["close"], W), lambda level: 0.0),
    "ultosc": (lambda d: ind.ultosc(d["high"], d["low"], d["close"], 2, 3, 4),
               lambda d: talib.ULTOSC(d["high"], d["low"], d["close"], 2, 3, 4), lambda level: 0.0),
    "correl": (lambda d: ind.correl(d["close"], d["y"], W), lambda d: talib.CORREL(d["close"], d["y"], W),
               lambda level: 0.0),
    "beta": (lambda d: ind.beta(d["close"], d["y"], W), lambda d: talib.BETA(d["close"], d["y"], W), lambda level: 0.0),
    "roc": (lambda d: ind.roc(d["close"], W), lambda d: talib.ROC(d["close"], W), lambda level: 0.0),
}


def _flat_bars(start: int = 200, length: int = 60) -> slice:
    # every window of the longest lookback here (STOCH: W + 4, MFI / BETA / ROC: W + 1) is flat
    return slice(start + W + 5, start + length)


@pytest.mark.parametrize("name", sorted(EXACT))
@pytest.mark.parametrize("level", [1234.5678, 0.7317, 1.0])
def test_flat_windows_are_exact_and_match_talib(name, level):
    """Bug 4: over windows of equal prices and zero volume the result is the exact value
    (TA-Lib's definition for a zero denominator), not a running-sum residue; TA-Lib agrees up
    to its own residue."""
    ours_fn, talib_fn, exact = EXACT[name]
    d = _flat_tail(level, zero_volume=True)
    flat = _flat_bars()
    ours = np.asarray(ours_fn(d), dtype=float)[flat]
    theirs = np.asarray(talib_fn(d), dtype=float)[flat]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-9 * max(level, 100.0))
    if exact is not None:
        np.testing.assert_array_equal(ours, np.full_like(ours, exact(level)))


def test_mfi_zero_volume_issue_example():
    """The report: MFI over zero-volume bars gave the residue of its running sums (e.g. 12.49),
    TA-Lib 0."""
    d = {k: v.copy() for k, v in CLEAN.items()}
    d["volume"] = d["volume"] * np.random.default_rng(0).uniform(0.001, 1000, N)  # many magnitudes
    d["volume"][200:260] = 0.0  # prices keep moving, volume stops (before the fix: MFI 80.0 here)
    ours = ind.mfi(d["high"], d["low"], d["close"], d["volume"], W)
    theirs = talib.MFI(d["high"], d["low"], d["close"], d["volume"], W)
    window = slice(200 + W, 260)
    np.testing.assert_array_equal(ours[window], 0.0)
    np.testing.assert_allclose(ours[window], theirs[window], atol=1e-9)
    np.testing.assert_allclose(ours[260 + W :], theirs[260 + W :], rtol=1e-9)  # flows resume


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    level=st.floats(1e-3, 1e6),
    window=st.integers(2, 20),
    length=st.integers(25, 60),
)
def test_flat_windows_property(seed, level, window, length):
    """Any volatile history, then a flat stretch: exact WMA and band middle, zero spread, MFI 0
    over every fully flat window; SMA and the rest within TA-Lib's own residue."""
    rng = np.random.default_rng(seed)
    n = 120 + length
    x = level * np.exp(np.cumsum(rng.normal(0, 0.05, n)))
    x[120:] = level
    v = rng.uniform(0, 1e6, n)
    v[120:] = 0.0
    flat = slice(120 + window, n)
    assert (ind.wma(x, window)[flat] == level).all()
    assert (ind.bbands(x, window)[1][flat] == level).all()
    assert (ind.stddev(x, window)[flat] == 0.0).all()
    assert (ind.var(x, window)[flat] == 0.0).all()
    m = ind.mfi(x, x, x, v, window)[flat]
    assert (m == 0.0).all()
    np.testing.assert_allclose(m, talib.MFI(x, x, x, v, window)[flat], atol=1e-9)
    np.testing.assert_allclose(ind.sma(x, window)[flat], talib.SMA(x, window)[flat], rtol=1e-12)
    np.testing.assert_allclose(ind.stddev(x, window)[flat], talib.STDDEV(x, window)[flat], atol=1e-6 * level)


# ---------------------------------------------------------------- bug 5: unsorted index
def _series(n: int = 60) -> pd.Series:
    return pd.Series(CLEAN["close"][:n], index=pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC"))


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: ind.sma(s, 5), "close"),
        (lambda s: ind.ema(s, 5), "close"),
        (lambda s: ind.rsi(s, 5), "close"),
        (lambda s: ind.bbands(s, 5), "close"),
        (lambda s: ind.atr(s, s, s, 5), "high"),
        (lambda s: ind.correl(s, s, 5), "x"),
        (lambda s: ind.vwap(s, s, s, s), "high"),
        (lambda s: ind.sma(s.to_frame("a"), [3, 5]), "close"),
    ],
)
def test_unsorted_datetime_index_is_refused(call, field):
    """Bug 5: each value would use future bars; refuse, naming the input and the fix."""
    s = _series()
    shuffled = s.iloc[np.r_[0:20, 30:40, 20:30, 40:60]]
    with pytest.raises(DataError, match=rf"`{field}` of .*sorted by time.*sort_index\(\)"):
        call(shuffled)
    call(shuffled.sort_index())  # the remedy works


def test_unsorted_second_input_is_named():
    s = _series()
    with pytest.raises(DataError, match="`y` of correl"):
        ind.correl(s.to_numpy(), s.iloc[::-1], 5)


def test_sorted_and_non_datetime_indexes_still_compute():
    s = _series()
    np.testing.assert_allclose(ind.sma(s, 5), s.rolling(5).mean(), rtol=1e-12)
    shuffled_labels = pd.Series(s.to_numpy(), index=np.arange(len(s))[::-1])  # labels, not time
    np.testing.assert_allclose(ind.sma(shuffled_labels, 5).to_numpy(), s.rolling(5).mean().to_numpy(), rtol=1e-12)
    with_duplicates = pd.Series(s.to_numpy(), index=s.index.repeat(1).where(np.arange(len(s)) != 5, s.index[4]))
    assert with_duplicates.index.is_monotonic_increasing
    ind.sma(with_duplicates, 5)  # sorted (ties allowed): the quality gate reports duplicates

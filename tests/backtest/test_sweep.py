"""sweep(): fast paths equal signal(), every row equals backtest().stats(), vectorbt parity."""

from __future__ import annotations

import inspect
import itertools
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.backtest import backtest
from quantlab.backtest import sweep_kernels as SK
from quantlab.backtest.engine import UNSET
from quantlab.backtest.sweep import (
    _SIGNAL_OPTIONS,
    _SWEEP_OPTIONS,
    EMA_CROSS_FAST_PATH,
    SMA_CROSS_FAST_PATH,
    STATS,
    FastPath,
    SweepResult,
    fast_path_for,
    register_fast_path,
    sweep,
)
from quantlab.errors import InvalidParameterError
from quantlab.strategies import EmaCross, SmaCross
from quantlab.strategy import Strategy, param

N_BARS = 2000
CHECKED = ("total_return", "cagr", "annual_return", "annual_volatility", "sharpe", "sortino",
           "calmar", "max_drawdown", "exposure", "n_trades", "win_rate")


def _bars(n: int = N_BARS, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.001, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.002, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.002, n)))
    idx = pd.date_range("2021-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": np.full(n, 1e3)}, index=idx)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return _bars()


GRID = {"fast": [3, 5, 8, 13], "slow": [5, 10, 21, 34, 55], "short": [False, True]}


def _assert_rows_match_backtest(res: SweepResult, data: pd.DataFrame, rows, **options) -> None:
    for i in rows:
        stats = backtest(data, res.strategy(i), **options).stats()
        row = res.table.loc[i]
        for key in CHECKED:
            expected, got = float(stats[key]), float(row[key])
            if np.isnan(expected):
                assert np.isnan(got), (i, key)
            else:
                assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (res.params(i), key)


# ---- fast path == signal ------------------------------------------------------------------

@pytest.mark.parametrize("cls", [SmaCross, EmaCross])
def test_fast_path_exposure_equals_signal(bars, cls):
    fast = fast_path_for(cls)
    combos = [{"fast": f, "slow": s, "short": sh} for f, s, sh in
              [(3, 5, False), (5, 34, True), (8, 21, False), (13, 55, True), (2, 3, False)]]
    inputs, params = fast.prepare(bars, pd.DataFrame(combos))
    assert inputs.shape == (len({3, 5, 34, 8, 21, 13, 55, 2}), N_BARS)  # each window once
    out = np.empty((len(combos), N_BARS))
    fast.exposure_nb(inputs, params, out)
    for k, combo in enumerate(combos):
        expected = cls(**combo).signal(bars).to_numpy()
        np.testing.assert_array_equal(out[k], expected)
    np.testing.assert_array_equal(fast.warmups(pd.DataFrame(combos)),
                                  [cls(**combo).warmup for combo in combos])


def test_fast_path_is_not_inherited():
    class MyCross(SmaCross):
        def signal(self, data):
            return super().signal(data) * 0.5

    assert fast_path_for(SmaCross) is SMA_CROSS_FAST_PATH
    assert fast_path_for(EmaCross) is EMA_CROSS_FAST_PATH
    assert fast_path_for(MyCross) is None
    assert sweep(MyCross, _bars(300), {"fast": [3], "slow": [8]}, progress=False
                 ).config["path"] == "generic"


def test_fast_path_is_a_class_attribute_named_by_a_string():
    """The strategy layer names its fast path without importing quantlab.backtest."""
    assert SmaCross.__dict__["sweep_fast_path"] == "quantlab.backtest.sweep:SMA_CROSS_FAST_PATH"

    class Own(SmaCross):
        sweep_fast_path = SMA_CROSS_FAST_PATH  # a FastPath object works too

    class Broken(SmaCross):
        sweep_fast_path = "quantlab.backtest.sweep:NO_SUCH_THING"

    assert fast_path_for(Own) is SMA_CROSS_FAST_PATH
    with pytest.raises(InvalidParameterError, match="`sweep_fast_path` of Broken.*FastPath"):
        fast_path_for(Broken)


def test_register_fast_path_is_deprecated_and_sets_the_attribute():
    class Mine(SmaCross):
        pass

    with pytest.warns(DeprecationWarning, match="sweep_fast_path"):
        register_fast_path(Mine, SMA_CROSS_FAST_PATH)
    assert Mine.__dict__["sweep_fast_path"] is SMA_CROSS_FAST_PATH
    assert fast_path_for(Mine) is SMA_CROSS_FAST_PATH


def test_fast_path_travels_with_a_pickled_strategy():
    """A worker process that unpickles a strategy (class or instance) finds its fast path:
    it is part of the class, not of a registry some other import filled."""
    payload = pickle.dumps((SmaCross, EmaCross(fast=5, slow=20)))
    code = (
        "import pickle, sys\n"
        "cls, strat = pickle.loads(sys.stdin.buffer.read())\n"
        "from quantlab.backtest.sweep import fast_path_for, FastPath\n"
        "a, b = fast_path_for(cls), fast_path_for(type(strat))\n"
        "assert isinstance(a, FastPath) and isinstance(b, FastPath) and a is not b\n"
        "print(type(strat).__name__, a.fused_nb.args, b.fused_nb.args)\n")
    out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True,
                         check=False, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert out.stdout.decode().split() == ["EmaCross", "(0,)", "(1,)"]  # MA_SMA, MA_EMA
    assert isinstance(fast_path_for(pickle.loads(pickle.dumps(SmaCross))), FastPath)


# ---- every row equals backtest().stats() --------------------------------------------------

@pytest.mark.parametrize("options", [
    {"fill": "close", "fee_bps": 10.0},
    {"fill": "next_open", "fee_bps": 5.0, "slippage_bps": 2.0, "size": 0.5, "init_cash": 1e4},
    {"fill": "close", "fee_bps": 10.0, "fee_fixed": 2.0, "slippage_bps": 3.0, "init_cash": 1e4},
])
def test_fused_rows_equal_backtest_stats(bars, options):
    res = sweep(SmaCross, bars, GRID, progress=False, **options)
    assert res.config["path"] == "fused"
    _assert_rows_match_backtest(res, bars, [0, 7, 15, res.n_trials - 1], **options)


def test_generic_and_fast_paths_equal_fused(bars):
    opts = {"fill": "close", "fee_bps": 10.0}
    fused = sweep(EmaCross, bars, GRID, progress=False, **opts)
    generic = sweep(EmaCross, bars, GRID, progress=False, use_fast_path=False, chunk_size=7,
                    n_jobs=2, **opts)
    assert generic.config["path"] == "generic"
    pd.testing.assert_frame_equal(fused.table, generic.table, rtol=1e-12)
    # options outside the fused kernel: fast-path exposures through the full simulator
    stops = {"fill": "next_open", "fee_bps": 10.0, "sl_stop": 0.01, "tp_stop": 0.02}
    fast = sweep(SmaCross, bars, GRID, progress=False, **stops)
    assert fast.config["path"] == "fast"
    _assert_rows_match_backtest(fast, bars, [1, 9, fast.n_trials - 2], **stops)


@pytest.mark.parametrize("opts", [
    {"fill": "close", "fee_bps": 10.0, "fee_fixed": 400.0},   # fixed fee eats the cash
    {"fill": "next_open", "fee_bps": 0.0, "slippage_bps": 1.0, "size": 1.0},
])
def test_fused_equals_generic_on_ties_and_ruinous_fees(opts):
    """Flat price stretches make the moving averages tie (NaN targets: hold) and a fixed fee
    larger than a trade's profit drives cash to zero: the fused kernel's special cases
    (written-out long entries/exits, prefix-sum statistics) must fall back exactly."""
    data = _bars(600, seed=11)
    for col in ("open", "high", "low", "close"):
        data.iloc[200:260, data.columns.get_loc(col)] = 100.0
    grid = {"fast": [2, 3, 5], "slow": [4, 8, 13], "short": [False, True]}
    fused = sweep(SmaCross, data, grid, progress=False, init_cash=1e4, **opts)
    generic = sweep(SmaCross, data, grid, progress=False, use_fast_path=False, init_cash=1e4,
                    **opts)
    assert (fused.config["path"], generic.config["path"]) == ("fused", "generic")
    pd.testing.assert_frame_equal(fused.table, generic.table, rtol=1e-12)


@pytest.mark.parametrize("n", [3, 1024, 1025, 2049])  # around the fused kernel's 1024-bar blocks
@pytest.mark.parametrize("cls", [SmaCross, EmaCross])
def test_fused_equals_generic_at_block_edges(n, cls):
    """The fused kernel computes the moving averages block by block (state carried over) and
    fills at the next open from the previous block's last bar: any length must agree."""
    data = _bars(n, seed=n)
    grid = {"fast": [2, 7], "slow": [4, 30], "short": [False, True]}
    opts = {"fill": "next_open", "fee_bps": 5.0, "slippage_bps": 2.0, "periods_per_year": 8760}
    fused = sweep(cls, data, grid, progress=False, **opts)
    generic = sweep(cls, data, grid, progress=False, use_fast_path=False, **opts)
    assert fused.config["path"] == "fused"
    pd.testing.assert_frame_equal(fused.table, generic.table, rtol=1e-12)


class PandasMomentum(Strategy):
    """A plain-pandas strategy with no fast path."""

    window: int = param(10, minimum=1)
    threshold: float = param(0.0)

    @property
    def warmup(self) -> int:
        return self.window

    def signal(self, data):
        mom = data["close"].pct_change(self.window)
        return pd.Series(np.where(mom > self.threshold, 1.0, np.where(mom < -self.threshold, -1.0,
                                                                         np.nan)),
                         index=data.index)


def test_plain_pandas_strategy_generic_path(bars):
    opts = {"fill": "close", "fee_bps": 10.0, "leverage": 2.0}
    res = sweep(PandasMomentum, bars, {"window": [5, 20, 60], "threshold": [0.0, 0.01]},
                progress=False, **opts)
    assert res.config["path"] == "generic" and res.n_trials == 6
    _assert_rows_match_backtest(res, bars, range(6), **opts)


def test_multi_asset_generic(bars):
    other = _bars(seed=11)
    data = pd.concat({"A": bars, "B": other}, axis=1).swaplevel(axis=1).sort_index(axis=1)
    res = sweep(SmaCross, data, {"fast": [5, 8], "slow": [21, 34]}, progress=False, fill="close")
    assert res.config["path"] == "generic"
    _assert_rows_match_backtest(res, data, range(4), fill="close")


def test_chunking_does_not_change_results(bars):
    a = sweep(SmaCross, bars, GRID, progress=False, fill="close")
    b = sweep(SmaCross, bars, GRID, progress=False, fill="close", chunk_size=3, n_jobs=1)
    pd.testing.assert_frame_equal(a.table, b.table)


# ---- oracle: vectorbt -------------------------------------------------------------------

def test_total_returns_equal_vectorbt(bars):
    vbt = pytest.importorskip("vectorbt")
    res = sweep(SmaCross, bars, {"fast": [3, 8], "slow": [21, 55]}, progress=False,
                fill="close", fee_bps=10.0)
    close = bars["close"]
    for i in res.table.index:
        p = res.params(i)
        fast, slow = close.rolling(p["fast"]).mean(), close.rolling(p["slow"]).mean()
        entries = (fast > slow) & (np.arange(len(close)) >= p["slow"])  # state-based, after warmup
        exits = fast < slow
        pf = vbt.Portfolio.from_signals(close, entries, exits, fees=0.001, init_cash=100_000.0,
                                        freq="1h")
        assert res.table.loc[i, "total_return"] == pytest.approx(pf.total_return(), abs=1e-9)
        assert res.table.loc[i, "n_trades"] == pf.trades.closed.count()


# ---- grid, skipping, result API ---------------------------------------------------------

def _reference_expand(cls, grid, keep):
    """The combinations as the per-combination implementation found them: itertools.product
    in grid order, one Strategy each, check() then keep(params dict)."""
    names = list(grid) + [n for n in cls._params if n not in grid]
    axes = [list(grid[n]) if n in grid else [cls._params[n][1].default] for n in names]
    rows, n_check, n_constraint = [], 0, 0
    for values in itertools.product(*axes):
        try:
            params = cls(**dict(zip(names, values))).params
        except InvalidParameterError:
            n_check += 1
            continue
        if keep is not None and not keep(dict(params)):
            n_constraint += 1
            continue
        rows.append(params)
    return pd.DataFrame(rows), {"check": n_check, "constraint": n_constraint}


class Thresholds(Strategy):
    """Parameters of every literal kind, a check() without check_grid, no fast path."""

    window: int = param(5, minimum=1)
    level: float = param(0.0)
    short: bool = param(False)
    mode: str = param("a", choices=("a", "b"))

    def check(self) -> None:
        if self.level > self.window / 10:
            raise InvalidParameterError("level too high")

    @property
    def warmup(self) -> int:
        return self.window

    def signal(self, data):
        mom = data["close"].pct_change(self.window)
        return pd.Series(np.where(mom > self.level / 100, 1.0, np.nan), index=data.index)


@pytest.mark.parametrize("constraint, keep", [
    (None, None),
    ("slow - fast >= 10", lambda p: p["slow"] - p["fast"] >= 10),             # DataFrame.eval
    (lambda p: p["slow"] - p["fast"] >= 10, lambda p: p["slow"] - p["fast"] >= 10),  # vectorized
    (lambda p: p["slow"] > 2 * p["fast"] and p["fast"] != 8,                  # per row: `and`
     lambda p: p["slow"] > 2 * p["fast"] and p["fast"] != 8),
    (lambda p: (p["fast"], p["slow"]) in {(5, 30), (3, 34)},                  # per row: `in`
     lambda p: (p["fast"], p["slow"]) in {(5, 30), (3, 34)}),
    ("short or fast < 8", lambda p: p["short"] or p["fast"] < 8),
])
def test_vectorized_grid_equals_the_per_combination_expansion(bars, constraint, keep):
    grid = {"slow": [34, 5, 10, 30, 21], "short": [True, False], "fast": [8, 3, 5, 13, 21]}
    res = sweep(SmaCross, bars.iloc[:300], grid, constraint=constraint, progress=False)
    expected, skipped = _reference_expand(SmaCross, grid, keep)
    assert res.n_skipped == skipped
    params = res.table[list(res.param_names)]
    pd.testing.assert_frame_equal(params, expected, check_exact=True)
    assert res.param_names == ("fast", "slow", "short")  # declaration order, rows in grid order


def test_per_row_check_and_every_literal_kind(bars):
    grid = {"mode": ["b", "a"], "level": [0.0, 0.5, 1.5], "window": [20, 5, 10]}
    res = sweep(Thresholds, bars.iloc[:300], grid, constraint="mode == 'a' or window > 5",
                progress=False, fill="close")
    expected, skipped = _reference_expand(
        Thresholds, grid, lambda p: p["mode"] == "a" or p["window"] > 5)
    assert res.n_skipped == skipped and skipped["check"] > 0 and skipped["constraint"] > 0
    pd.testing.assert_frame_equal(res.table[list(res.param_names)], expected, check_exact=True)
    _assert_rows_match_backtest(res, bars.iloc[:300], range(res.n_trials), fill="close")


def test_check_grid_agrees_with_check():
    fast, slow = np.meshgrid(np.arange(1, 40), np.arange(2, 40))
    grid = pd.DataFrame({"fast": fast.ravel(), "slow": slow.ravel(), "short": False})
    for cls in (SmaCross, EmaCross):
        expected = []
        for f, s in zip(grid["fast"], grid["slow"], strict=True):
            try:
                cls(fast=int(f), slow=int(s))
                expected.append(True)
            except InvalidParameterError:
                expected.append(False)
        np.testing.assert_array_equal(cls.check_grid(grid), expected)


def test_a_subclass_overriding_check_alone_is_checked_row_by_row(bars):
    class Wide(SmaCross):
        def check(self) -> None:
            super().check()
            if self.slow < 3 * self.fast:
                raise InvalidParameterError("too close")

    res = sweep(Wide, bars.iloc[:300], {"fast": [3, 5, 8], "slow": [8, 13, 21]}, progress=False)
    # _Cross.check_grid knows only fast < slow: Wide's own check() must decide
    assert res.n_skipped == {"check": 6, "constraint": 0}
    assert list(map(tuple, res.table[["fast", "slow"]].to_numpy())) == [(3, 13), (3, 21),
                                                                      (5, 21)]


def test_constraint_string_errors_name_sweep(bars):
    with pytest.raises(InvalidParameterError, match="`constraint` of sweep.*Did you mean 'fast'"):
        sweep(SmaCross, bars, GRID, constraint="fats < slow", progress=False)
    with pytest.raises(InvalidParameterError, match="`constraint` of sweep.*boolean.*int64"):
        sweep(SmaCross, bars, GRID, constraint="fast + slow", progress=False)
    with pytest.raises(InvalidParameterError, match="`constraint` of sweep"):
        sweep(SmaCross, bars, GRID, constraint=5, progress=False)


def test_skipped_combinations_are_counted(bars):
    res = sweep(SmaCross, bars, {"fast": [5, 10, 20], "slow": [10, 20, 30]},
                constraint=lambda p: p["slow"] - p["fast"] >= 10, progress=False)
    # check() rejects fast >= slow: (10,10), (20,10), (20,20); the constraint rejects (5,10)
    assert res.n_skipped == {"check": 3, "constraint": 1}
    assert res.n_trials == 5
    assert sorted(map(tuple, res.table[["fast", "slow"]].to_numpy())) == [
        (5, 20), (5, 30), (10, 20), (10, 30), (20, 30)]
    assert list(res.table.columns) == ["fast", "slow", "short", *STATS]


def test_best_strategy_heatmap_and_dsr(bars):
    from quantlab.metrics import deflated_sharpe_ratio

    res = sweep(SmaCross, bars, GRID, progress=False, fill="close", fee_bps=10.0)
    sharpe = res.table["sharpe"]
    assert res.best["sharpe"] == sharpe.max()
    assert res.best_strategy == SmaCross(**res.best_params)
    assert res.strategy(0) == SmaCross(**res.params(0))
    worst = sweep(SmaCross, bars, GRID, progress=False, metric="annual_volatility")
    assert worst.best["annual_volatility"] == worst.table["annual_volatility"].min()
    fig = res.heatmap("fast", "slow")
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (res.table["slow"].nunique(), res.table["fast"].nunique())
    expected = res.table.groupby(["slow", "fast"])["sharpe"].max().unstack()
    np.testing.assert_allclose(z, expected.to_numpy())
    best_returns = backtest(bars, res.best_strategy, fill="close", fee_bps=10.0).returns
    dsr = deflated_sharpe_ratio(best_returns.to_numpy(), trials_sharpe=sharpe.to_numpy(),
                                periods_per_year=res.config["periods_per_year"])
    assert res.deflated_sharpe() == pytest.approx(dsr, rel=1e-12)
    assert 0.0 <= res.deflated_sharpe() <= 1.0
    html_text = res._repr_html_()
    assert "SweepResult" in html_text and "<table" in html_text
    assert "SmaCross" in repr(res)


def test_errors(bars):
    with pytest.raises(InvalidParameterError, match="Did you mean 'fee_bps'"):
        sweep(SmaCross, bars, GRID, fees_bps=10)
    with pytest.raises(InvalidParameterError, match="unknown parameter `fats`.*'fast'"):
        sweep(SmaCross, bars, {"fats": [5]})
    with pytest.raises(InvalidParameterError, match="`fast` of SmaCross"):
        sweep(SmaCross, bars, {"fast": [0, 5]})
    with pytest.raises(InvalidParameterError, match="`entries` of sweep"):
        sweep(SmaCross, bars, GRID, entries=bars["close"] > 0)
    with pytest.raises(InvalidParameterError, match="`metric` of sweep.*'sharpe'"):
        sweep(SmaCross, bars, GRID, metric="sharp")
    with pytest.raises(InvalidParameterError, match="at least one valid combination"):
        sweep(SmaCross, bars, {"fast": [30], "slow": [10]})
    with pytest.raises(InvalidParameterError, match="a Strategy subclass"):
        sweep(SmaCross(), bars, GRID)
    with pytest.raises(InvalidParameterError, match="`fee_bps` of sweep"):
        sweep(SmaCross, bars, GRID, fee_bps=-1)
    with pytest.raises(InvalidParameterError, match="`n_jobs` of sweep"):
        sweep(SmaCross, bars, GRID, n_jobs=0)



def test_a_strategy_with_its_own_init_is_built_through_it(bars):
    """sweep validates grid values once and skips Strategy.__init__ per combination, but a
    subclass that defines its own __init__ still gets it called."""
    calls = []

    class Counted(SmaCross):
        def __init__(self, **params):
            calls.append(params)
            super().__init__(**params)

    res = sweep(Counted, bars, {"fast": [3, 5], "slow": [8, 13]}, progress=False, fill="close")
    assert len(calls) == 4 and res.n_trials == 4


# ---- fused == generic, bit for bit -----------------------------------------------------

FUSED_OPTIONS = [
    {"fill": "close"},
    {"fill": "next_open"},
    {"fill": "close", "fee_bps": 10.0},
    {"fill": "next_open", "fee_bps": 5.0, "fee_fixed": 2.0, "slippage_bps": 3.0, "init_cash": 1e4},
    {"fill": "close", "fee_fixed": 1.0, "slippage_bps": 1.0},
    {"fill": "close", "size": 0.5, "fee_bps": 10.0},
    {"fill": "next_open", "size": 0.25, "slippage_bps": 2.0},
    {"fill": "next_open", "warmup": 150, "fee_bps": 10.0},
    {"fill": "close", "warmup": 0},
    {"fill": "close", "fee_bps": 10.0, "start": "2021-01-20", "end": "2021-03-01"},
    {"fill": "next_open", "slippage_bps": 5.0, "start": "2021-02-10 13:00"},
    {"fill": "next_open", "fee_bps": 1.0, "size": 0.5, "end": "2021-02-01", "warmup": 40},
]


def _assert_fused_equals_generic(fused: pd.DataFrame, generic: pd.DataFrame) -> None:
    """Every column equal, bit for bit (NaN where NaN): the fused kernel folds the same
    equity into the same statistics with the same operations in the same order."""
    assert list(fused.columns) == list(generic.columns)
    pd.testing.assert_frame_equal(fused, generic, check_exact=True)
    assert set(STATS) <= set(fused.columns)


@pytest.mark.parametrize("options", FUSED_OPTIONS, ids=lambda o: ",".join(map(str, o.items())))
@pytest.mark.parametrize("cls", [SmaCross, EmaCross])
def test_fused_equals_generic_on_every_fused_option(bars, cls, options):
    grid = {"fast": [3, 5, 8, 13], "slow": [5, 10, 21, 55], "short": [False, True]}
    fused = sweep(cls, bars, grid, progress=False, **options)
    generic = sweep(cls, bars, grid, progress=False, use_fast_path=False, chunk_size=5,
                    **options)
    assert (fused.config["path"], generic.config["path"]) == ("fused", "generic")
    assert fused.table["n_orders"].sum() > 0
    _assert_fused_equals_generic(fused.table, generic.table)


@pytest.mark.parametrize("t0", [1023, 1024, 1500])
@pytest.mark.parametrize("cls", [SmaCross, EmaCross])
def test_fused_window_after_whole_blocks_equals_generic(bars, cls, t0):
    """Windows starting after one or more whole blocks of the fused kernel (1024 bars): the
    moving averages warmed in one launch before the window are the block-by-block ones."""
    grid = {"fast": [3, 5, 8, 13], "slow": [5, 10, 21, 55], "short": [False, True]}
    opts = {"fill": "next_open", "fee_bps": 10.0, "start": bars.index[t0]}
    fused = sweep(cls, bars, grid, progress=False, **opts)
    generic = sweep(cls, bars, grid, progress=False, use_fast_path=False, chunk_size=9, **opts)
    assert (fused.config["path"], generic.config["path"]) == ("fused", "generic")
    assert fused.table["n_orders"].sum() > 0
    _assert_fused_equals_generic(fused.table, generic.table)


FUSED_CLASSES = (SmaCross, EmaCross)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(cls=st.sampled_from(FUSED_CLASSES), fill=st.sampled_from(["close", "next_open"]),
       fee_bps=st.sampled_from([0.0, 1.0, 10.0, 30.0]), fee_fixed=st.sampled_from([0.0, 0.5, 3.0]),
       slippage_bps=st.sampled_from([0.0, 2.0, 7.5]), size=st.sampled_from([1.0, 0.5, 0.3]),
       warmup=st.sampled_from([None, 0, 70]), init_cash=st.sampled_from([1e3, 1e4, 12345.0]),
       start=st.integers(0, 1100), length=st.integers(60, 1500), seed=st.integers(0, 2 ** 16))
def test_fused_equals_generic_on_random_option_sets(cls, fill, fee_bps, fee_fixed, slippage_bps,
                                                    size, warmup, init_cash, start, length, seed):
    """Every option the fused path accepts, drawn together (hypothesis): the fused table
    equals the generic one bit for bit, on random data, windows and shorts."""
    data = _bars(1300, seed)
    end = min(start + length, len(data) - 1)
    options = {"fill": fill, "fee_bps": fee_bps, "fee_fixed": fee_fixed,
               "slippage_bps": slippage_bps, "size": size, "warmup": warmup,
               "init_cash": init_cash, "start": data.index[start], "end": data.index[end]}
    grid = {"fast": [2, 4, 9], "slow": [6, 17, 40], "short": [False, True]}
    fused = sweep(cls, data, grid, progress=False, **options)
    generic = sweep(cls, data, grid, progress=False, use_fast_path=False, chunk_size=7,
                    **options)
    assert (fused.config["path"], generic.config["path"]) == ("fused", "generic")
    _assert_fused_equals_generic(fused.table, generic.table)


def _frame(open_: list[float], close: list[float]) -> pd.DataFrame:
    o, c = np.asarray(open_, float), np.asarray(close, float)
    idx = pd.date_range("2021-01-01", periods=len(c), freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": o, "high": np.maximum(o, c), "low": np.minimum(o, c),
                         "close": c, "volume": np.full(len(c), 1e3)}, index=idx)


@pytest.mark.parametrize("case", ["negative equity", "partial cover", "huge warmup"])
def test_fused_equals_generic_on_edge_cases(case):
    """Cases a review found (each failed before its fix): a short driven below zero equity
    whose next new low sat between the rounded and the exact drawdown bound (max_dd < -1);
    a short only partly covered when fixed fees leave too little cash (a partial reduction
    is a closed trade, as in vectorbt's exit trades); a warmup near 2**63 (overflowed)."""
    grid = {"fast": [1], "slow": [2], "short": [True]}
    if case == "negative equity":
        data = _frame([100, 100, 100, 100, 98, 100, 250, 240, 230],
                      [100, 100, 99, 98, 300, 250, 745.0980392156864, 240, 230])
        opts = {"fill": "next_open", "init_cash": 1e4}
    elif case == "partial cover":
        close = [100, 100, 99, 197.95, 190, 180, 170]
        data, opts = _frame(close, close), {"fill": "close", "fee_fixed": 1.0, "init_cash": 1e3}
    else:
        data = _bars(500, 5)
        grid = {"fast": [2, 3], "slow": [5, 8], "short": [False, True]}
        opts = {"fill": "next_open", "warmup": 2 ** 63 - 1}
    fused = sweep(SmaCross, data, grid, progress=False, **opts)
    generic = sweep(SmaCross, data, grid, progress=False, use_fast_path=False, **opts)
    assert (fused.config["path"], generic.config["path"]) == ("fused", "generic")
    _assert_fused_equals_generic(fused.table, generic.table)
    if case == "negative equity":
        assert generic.table["max_drawdown"].min() < -1.0
    if case == "partial cover":
        assert generic.table["n_trades"].iloc[0] == 1


def _kernel_args(data: pd.DataFrame, t_start: int, t_end: int) -> tuple:
    windows = np.array([3.0, 5.0, 8.0, 13.0, 21.0, 55.0])
    params = np.array([[f, s, short] for f in range(6) for s in range(6) if f < s
                       for short in (0.0, 1.0)])
    warmups = windows[params[:, 1].astype(int)].astype(np.int64)
    return (SK.MA_SMA, windows, params, warmups, data["open"].to_numpy(),
            data["close"].to_numpy(), True, 1e4, 0.001, 1.0, 2e-4, 1.0, t_start, t_end)


@pytest.mark.parametrize("n_share, span", [(1, 1024), (3, 1024), (2, 2048), (30, 1024),
                                           (7, 10 ** 9)])
def test_fused_kernel_splits_change_no_number(bars, n_share, span):
    """Spans of bars (two parallel launches each) and shares of combinations (one per thread)
    only split the work: any split gives the bits of the default one. The window starts in
    the second 1024-bar span, so the first only warms the moving averages."""
    args = _kernel_args(bars, 1100, 1900)
    ref = SK.cross_sweep(*args)
    got = SK.cross_sweep_nb(*args, n_share, span)
    assert np.array_equal(ref, got, equal_nan=True)
    assert ref[:, 11].sum() > 100  # orders were sent


@pytest.mark.parametrize("options", [
    {"fill": "close", "fee_bps": 10.0, "start": "2021-01-20", "end": "2021-03-01"},
    {"fill": "next_open", "slippage_bps": 5.0, "size": 0.5, "start": "2021-02-10 13:00"},
    {"fill": "next_open", "sl_stop": 0.01, "end": "2021-02-01", "warmup": 40},  # fast path
])
def test_a_windowed_row_equals_backtest_on_the_window(bars, options):
    res = sweep(SmaCross, bars, GRID, progress=False, **options)
    assert res.config["path"] == ("fast" if "sl_stop" in options else "fused")
    for i in (0, 5, 11, res.n_trials - 1):
        stats = backtest(bars, res.strategy(i), **options).stats()
        for key in STATS:
            expected, got = float(stats[key]), float(res.table.at[i, key])
            if np.isnan(expected):
                assert np.isnan(got), (res.params(i), key)
            else:
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), (res.params(i), key)
    # the window really is one: statistics differ from the full-history run
    full = sweep(SmaCross, bars, GRID, progress=False,
                 **{k: v for k, v in options.items() if k not in ("start", "end")})
    assert not np.array_equal(full.table["end_value"], res.table["end_value"])
    # SweepResult.backtest re-runs the row with the same settings and window
    again = res.backtest(3)
    assert float(again.stats()["total_return"]) == pytest.approx(res.table.at[3, "total_return"],
                                                                 rel=1e-12)


# ---- options: named keywords like backtest(), errors naming sweep() --------------------------

def test_sweep_takes_backtests_options_as_named_keywords():
    ours = inspect.signature(sweep).parameters
    theirs = inspect.signature(backtest).parameters
    for name in _SWEEP_OPTIONS:
        assert ours[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert ours[name].default is UNSET and theirs[name].default is UNSET, name
        assert ours[name].annotation == theirs[name].annotation, name
    for name in ("config", "start", "end"):
        assert name in ours
    assert not set(_SIGNAL_OPTIONS) & set(ours)
    assert [p.kind for p in ours.values()][-1] is inspect.Parameter.VAR_KEYWORD
    expected = {n for n in theirs if theirs[n].default is UNSET} - set(_SIGNAL_OPTIONS)
    assert set(_SWEEP_OPTIONS) == expected


def test_config_and_keywords_combine(bars):
    from quantlab.backtest.config import BacktestConfig

    cfg = BacktestConfig().replace(fill="close", fee_bps=10.0)
    a = sweep(SmaCross, bars, GRID, config=cfg, slippage_bps=2.0, progress=False)
    b = sweep(SmaCross, bars, GRID, fill="close", fee_bps=10.0, slippage_bps=2.0,
              progress=False)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.config["settings"].costs.slippage_bps == 2.0
    stats = a.backtest(2).stats()  # re-run through the same config
    assert float(stats["total_fees"]) == pytest.approx(a.table.at[2, "total_fees"], rel=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"fee_bps": -1}, r"`fee_bps` of sweep\(\)"),
    ({"sl_stop": 5}, r"`sl_stop` of sweep\(\)"),
    ({"fees_bps": 10}, r"sweep\(\) got an unknown option `fees_bps`. Did you mean 'fee_bps'"),
    ({"metrc": "sharpe"}, r"sweep\(\) got an unknown option `metrc`. Did you mean 'metric'"),
    ({"start": "2021-02-10", "end": "2021-02-01"}, r"`start` of sweep\(\) must be <= end"),
    ({"start": "2030-01-01"}, r"`start` of sweep\(\) must be a window"),
    ({"config": {"fee_bps": 1}}, r"`config` of sweep\(\) must be a BacktestConfig"),
    ({"on_breach": "flaten"}, r"`on_breach` of sweep\(\).*'flatten'"),
    ({"direction": "both"}, r"`direction` of sweep\(\) must be omitted"),
    ({"warmup": -3}, r"`warmup` of sweep\(\)"),
])
def test_option_errors_name_sweep(bars, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        sweep(SmaCross, bars, GRID, progress=False, **kwargs)


def test_heatmap_of_one_parameter_twice_is_refused(bars):
    """Bug 8: heatmap("fast", "fast") raised pandas' ValueError from pivot_table."""
    res = sweep(SmaCross, bars, {"fast": [5, 10], "slow": [20, 30]}, progress=False)
    with pytest.raises(InvalidParameterError, match=r"`y` of heatmap\(\) must be a parameter "
                                                    r"other than x='fast'.*heatmap\('fast', "
                                                    r"'slow'\)"):
        res.heatmap("fast", "fast")
    with pytest.raises(InvalidParameterError, match="Did you mean 'slow'"):
        res.heatmap("fast", "slwo")


def test_heatmap_colours_are_centred_at_zero_for_signed_metrics(bars):
    res = sweep(SmaCross, bars, {"fast": [5, 10], "slow": [20, 30]}, progress=False)
    heat = res.heatmap("fast", "slow").data[0]  # sharpe: signed
    bound = float(np.nanmax(np.abs(res.table["sharpe"])))
    assert heat.zmid == 0.0 and heat.zmin == -bound and heat.zmax == bound
    assert heat.colorscale[0][1] != heat.colorscale[-1][1]  # diverging RdYlGn
    counts = res.heatmap("fast", "slow", "n_trades").data[0]  # a count: sequential, no centre
    assert counts.zmid is None


# ---- the Python around the kernels: constraint strings, inputs, statistics ---------------

def _constraint_columns() -> dict:
    """Combination columns of every kind a constraint meets (as _expand builds them)."""
    rng = np.random.default_rng(11)
    n = 64
    return {"fast": rng.integers(1, 20, n).astype(np.int64),
            "slow": rng.integers(0, 30, n).astype(np.int64),
            "level": rng.normal(0.0, 2.0, n), "short": rng.random(n) < 0.5,
            "mode": pd.Series(rng.choice(["a", "b"], n)).array}


@pytest.mark.parametrize("expr", [
    "fast < slow", "fast <= slow", "fast > slow", "fast >= slow", "fast == slow", "fast != slow",
    "3 < fast < slow", "fast < slow <= 20", "-fast < -5", "+fast > 3", "fast < 1e1",
    "fast + slow > 20", "slow - fast >= 10", "fast * 2 < slow", "slow / fast > 2",
    "slow // fast >= 2", "slow % fast == 0", "fast ** 2 < slow", "level ** 0.5 > 1",
    "(fast + 1) * (slow - 2) > 40", "not short", "~short", "not (fast < slow)",
    "short and fast < 5", "short or fast < 5", "short & (fast < 5)", "short | (fast < 5)",
    "fast < 5 & slow > 5", "fast < 5 | slow > 20 & short", "(fast < 5) == short",
    "short == True", "fast > 5 and short", "(fast > 3) * 2 > 1", "level * 2 + 1 < fast",
    "abs(level) < 1", "sqrt(fast) > 3", "arctan2(level, fast) > 0", "fast < inf",
    "fast < 2 ** 70", "slow // (fast - fast) > 1", "slow % (fast - fast) != 0",
    "level / 0 > 1", "fast in [5, 6, 7]", "fast not in (5, 6)", "mode == 'a'",
    "mode != 'a' and fast < 10", "`fast` < slow",
])
def test_constraint_string_equals_dataframe_eval(expr):
    from quantlab.backtest.grid import constraint_mask as _constraint_mask

    cols = _constraint_columns()
    expected = pd.DataFrame(cols).eval(expr, local_dict={}, global_dict={})
    assert expected.dtype == bool  # the oracle itself is a mask
    got = _constraint_mask(expr, cols, len(expected))
    np.testing.assert_array_equal(got, expected.to_numpy())


@pytest.mark.parametrize("expr, match", [
    ("fast + slow", r"It gave .*int64"),                                   # not a mask
    ("1 < 2", r"It gave a bool"),
    ("short / short > 0", r"not implemented for bool"),                   # as pandas
    ("fast > 5 and 1", r"scalar only bool ops"),
    ("fast ** -1 > 0", r"negative integer powers"),
    ("fats < slow", r"Did you mean 'fast'"),
    ("fast < slow <", r"not a Python expression"),
])
def test_constraint_string_errors_keep_their_meaning(expr, match):
    from quantlab.backtest.grid import constraint_mask as _constraint_mask

    cols = _constraint_columns()
    with pytest.raises(InvalidParameterError, match=r"`constraint` of sweep\(\) must be a "
                                                    r"boolean expression.*" + match):
        _constraint_mask(expr, cols, 64)


@pytest.mark.parametrize("expr", [
    "__import__('os')", "__import__('os').system('touch {marker}') == 0",
    "fast.__class__ == 1", "fast.real > 1", "fast[0] < 1", "(lambda: 1)() == 1",
    "open('{marker}', 'w') == 1", "abs(fast, out=slow) > 1", "fast if slow else 1",
    "fast is slow", "[x for x in fast] == 1", "fast << 1 > 2", "(y := fast) > 1",
    # a second argument to a math function is numpy's output array (it would overwrite slow)
    "abs(fast, slow) > 0", "arctan2(fast, slow, fast) > 0", "floor(fast, fast) > 1",
    # text that pandas' own backtick tokenizer reads differently from Python (found in review)
    "\"\\\\\" != \"`\" != '`' != '\" or fast.__class__.__init__.__globals__.get(\"sys\")"
    ".modules.get(\"os\").system(\"touch {marker}\") #'",
])
def test_constraint_strings_refuse_code(bars, tmp_path, expr):
    marker = tmp_path / "ran"
    with pytest.raises(InvalidParameterError, match=r"`constraint` of sweep\(\) must be a "
                                                    r"boolean expression.*(not allow|takes 1|takes 2|backtick).*callable"):
        sweep(SmaCross, bars.iloc[:300], {"fast": [5, 10], "slow": [20, 30]},
              constraint=expr.format(marker=marker), progress=False)
    assert not marker.exists()


def test_a_constraint_never_writes_the_grid():
    from quantlab.backtest.grid import expand

    cols, _, _ = expand(SmaCross, {"fast": [3, 5], "slow": [10, 21]}, "abs(fast) + 0 * slow > 0")
    np.testing.assert_array_equal(cols["slow"], [10, 21, 10, 21])
    np.testing.assert_array_equal(cols["fast"], [3, 3, 5, 5])


def _ppy_indexes() -> dict[str, pd.DatetimeIndex]:
    rng = np.random.default_rng(5)
    hourly = pd.date_range("2021-01-01", periods=3000, freq="h", tz="UTC")
    fx = hourly[~hourly.day_of_week.isin([5])]                 # 24/5 with weekend gaps
    minutes = pd.date_range("2024-01-02 14:30", periods=6 * 78 * 5, freq="5min", tz="UTC")
    session = minutes[(minutes.hour * 60 + minutes.minute >= 14 * 60 + 30)
                      & (minutes.hour < 21) & (minutes.day_of_week < 5)]
    irregular = pd.DatetimeIndex(np.cumsum(rng.integers(1, 7200, 2000)) * 10**9 + 1.6e18,
                                 tz="UTC")
    return {
        "hourly 24/7": hourly,
        "hourly, unit s": hourly.as_unit("s"),
        "hourly, unit ns": hourly.as_unit("ns"),
        "hourly from a Saturday noon": pd.date_range("2024-01-06 12:00", periods=500,
                                                     freq="h", tz="UTC"),
        "7-hour bars": pd.date_range("2024-01-06 12:00", periods=700, freq="7h"),
        "hourly FX 24/5": fx,
        "5-minute sessions": session,
        "business days": pd.bdate_range("2020-01-01", periods=800),
        "calendar days, New York": pd.date_range("2020-01-01", periods=900, freq="D",
                                                 tz="America/New_York"),
        "hourly, New York": pd.date_range("2020-03-01", periods=2000, freq="h",
                                          tz="America/New_York"),
        "weekly": pd.date_range("2000-01-07", periods=300, freq="W-FRI", tz="UTC"),
        "irregular": irregular,
        "irregular with duplicates": irregular.append(irregular[100:400]).sort_values(),
        "unsorted": hourly[rng.permutation(hourly.size)],
        "one gap": hourly.delete(slice(100, 130)),
        "mostly regular, median elsewhere": hourly[np.r_[0:50, 50:3000:2]],
        # the last and the first days of int64 nanoseconds: the Saturday count must not wrap
        "days to 2262-04-11, unit ns": pd.date_range(end="2262-04-11", periods=30,
                                                     freq="D").as_unit("ns"),
        "hours to 2262-04-11 23:00, irregular": pd.date_range(
            end="2262-04-11 23:00", periods=400, freq="h").as_unit("ns").delete(slice(50, 60)),
        "days from 1677-09-22": pd.date_range("1677-09-22", periods=30,
                                              freq="D").as_unit("ns"),
    }


@pytest.mark.parametrize("name", list(_ppy_indexes()))
def test_bar_spacing_and_saturdays_equal_their_definitions(name):
    """The inputs of the periods_per_year rule, exactly: the median of the positive spacings
    in nanoseconds and the share of Saturday bars (pandas' day_of_week, in the index's zone)."""
    from quantlab.metrics import infer_periods_per_year
    from quantlab.metrics._common import _spacing_and_saturdays

    index = _ppy_indexes()[name]
    spacing = np.diff(index.as_unit("ns").asi8)
    expected = (float(np.median(spacing[spacing > 0])) / 1e9,
                float(np.mean(index.day_of_week == 5)))
    assert _spacing_and_saturdays(index, "test") == expected
    known = {"hourly 24/7": 8760.0, "hourly, unit s": 8760.0, "hourly FX 24/5": 6240.0,
             "5-minute sessions": 252.0 * 78, "business days": 252.0, "weekly": 52.0}
    if name in known:
        assert infer_periods_per_year(index) == known[name]


def test_periods_per_year_of_a_sweep_is_backtests(bars):
    from quantlab.backtest.result import _infer_ppy

    res = sweep(SmaCross, bars.iloc[:300], {"fast": [5], "slow": [20]}, progress=False)
    assert res.config["periods_per_year"] == _infer_ppy(bars.index[:300]) == 8760.0


@pytest.mark.filterwarnings("ignore:overflow encountered in power:RuntimeWarning")
def test_statistics_equal_the_numpy_formulas():
    """_finish (compiled) equals the numpy expressions of quantlab.metrics bit for bit,
    edge cases included (no returns, flat, no drawdown, no closed trade, total loss)."""
    from quantlab.backtest import sweep_kernels as SK
    from quantlab.backtest.sweep import _finish, _stat_buffers, _stat_columns

    rng = np.random.default_rng(2)
    k = 400
    raw = np.empty((k, len(SK.RAW_STATS)))
    col = {name: raw[:, i] for i, name in enumerate(SK.RAW_STATS)}
    col["n_returns"][:] = rng.choice([0.0, 1.0, 2.0, 250.0, 9999.0], k)
    col["mean_return"][:] = rng.choice([0.0, 1e-4, -3e-4, 2e-3], k)
    col["var_return"][:] = rng.choice([0.0, 1e-6, 4e-5], k)
    col["downside_sq"][:] = rng.choice([0.0, 1e-4, 3e-3], k)
    col["total_return"][:] = rng.choice([-1.0, -1.5, -0.3, 0.0, 0.7, 12.0], k)
    col["max_drawdown"][:] = rng.choice([0.0, -0.2, -1.0], k)
    col["n_closed"][:] = rng.choice([0.0, 1.0, 7.0], k)
    col["n_wins"][:] = np.minimum(col["n_closed"], rng.choice([0.0, 1.0, 3.0], k))
    col["bars_in_market"][:] = np.minimum(col["n_returns"], rng.choice([0.0, 5.0, 100.0], k))
    for name in ("total_fees", "end_value", "n_open", "n_orders"):
        col[name][:] = rng.choice([0.0, 1.0, 2.0], k)
    ppy = 8760.0
    floats, counts = _stat_buffers(k)
    _finish(raw, ppy, floats, counts)
    got = _stat_columns(floats, counts)

    n, mean, std = col["n_returns"], col["mean_return"], np.sqrt(col["var_return"])
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.sqrt(np.where(n > 0, col["downside_sq"] / np.maximum(n, 1), np.nan))
        final = col["total_return"] + 1.0
        cagr = np.where(n > 0, np.where(final > 0, np.abs(final) ** (ppy / np.maximum(n, 1))
                                        - 1.0, -1.0), np.nan)
        expected = {
            "total_return": col["total_return"], "cagr": cagr, "annual_return": mean * ppy,
            "annual_volatility": std * np.sqrt(ppy),
            "sharpe": np.where(std > 0, mean / std, np.nan) * np.sqrt(ppy),
            "sortino": np.where(dd > 0, mean / dd, np.nan) * np.sqrt(ppy),
            "calmar": np.where(col["max_drawdown"] < 0, cagr / -col["max_drawdown"], np.nan),
            "max_drawdown": col["max_drawdown"],
            "exposure": col["bars_in_market"] / np.maximum(n, 1),
            "n_trades": col["n_closed"].astype(np.int64),
            "win_rate": np.where(col["n_closed"] > 0,
                                 col["n_wins"] / np.maximum(col["n_closed"], 1), np.nan),
            "n_open_trades": col["n_open"].astype(np.int64),
            "n_orders": col["n_orders"].astype(np.int64),
            "total_fees": col["total_fees"], "end_value": col["end_value"]}
    assert list(got) == list(STATS)
    for name in STATS:
        assert got[name].dtype == expected[name].dtype, name
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_the_table_is_built_on_its_buffers():
    """columns_frame equals pd.DataFrame and copies nothing: the table's columns are the
    buffers _finish filled (its labels' Index is cached, its name is not shared)."""
    from quantlab.backtest.grid import columns_frame as _frame

    cols = {"fast": np.arange(4), "short": np.zeros(4, dtype=bool), "x": np.linspace(0, 1, 4)}
    frame = _frame(cols)
    pd.testing.assert_frame_equal(frame, pd.DataFrame(cols), check_exact=True)
    cols["x"][:] = 7.0
    assert (frame["x"] == 7.0).all()
    frame.columns.name = "renamed"  # the labels are shared between frames, not their name
    assert _frame(cols).columns.name is None


@pytest.mark.parametrize("corrupt, match", [
    (("close", 5, np.nan), r"`data\['close'\]` of backtest\(\) must be finite and > 0; got "
                           r"'nan at 2021-01-01 05:00"),
    (("open", 7, -1.0), r"`data\['open'\]` .* must be finite and > 0; got '-1.0 at "
                        r"2021-01-01 07:00"),
    (("high", 3, np.inf), r"`data\['high'\]` .* must be finite and > 0; got 'inf at"),
    (("low", 9, 0.0), r"`data\['low'\]` .* must be finite and > 0; got '0.0 at"),
    (("high", 4, "half"), r"bars with low <= open, close <= high; got 'an inconsistent bar "
                          r"at 2021-01-01 04:00"),
    (("low", 6, "double"), r"inconsistent bar at 2021-01-01 06:00"),
])
def test_bad_bars_are_named_as_before(bars, corrupt, match):
    from quantlab.errors import DataError

    column, row, value = corrupt
    data = bars.iloc[:50].copy()
    if value == "half":
        value = min(data["open"].iloc[row], data["close"].iloc[row]) / 2
    elif value == "double":
        value = max(data["open"].iloc[row], data["close"].iloc[row]) * 2
    data.iloc[row, data.columns.get_loc(column)] = value
    with pytest.raises(DataError, match=match):
        sweep(SmaCross, data, {"fast": [5], "slow": [20]}, progress=False)


def test_bars_inside_the_tolerance_pass(bars):
    data = bars.iloc[:50].copy()
    top = np.maximum(data["open"], data["close"])
    data["high"] = top * (1 - 1e-13)  # below max(open, close), within the 1e-12 tolerance
    sweep(SmaCross, data, {"fast": [5], "slow": [20]}, progress=False)


def test_the_one_pass_bar_check_implies_the_full_checks():
    """_bars_ok_nb True => every price finite and > 0 and no inconsistent bar, on bars made
    of the values where comparisons turn (0, -0, subnormal, inf, NaN, equal prices)."""
    from quantlab.backtest.engine import _bars_ok_nb, _inconsistent_bars

    values = np.array([0.0, -0.0, 5e-324, 1.0, 1.0 + 1e-13, 2.0, 1e308, np.inf, -np.inf,
                       np.nan, -1.0])
    rng = np.random.default_rng(4)
    n_ok = 0
    for _ in range(6000):
        o, h, lo, c = rng.choice(values, size=(4, int(rng.integers(1, 3))))
        if _bars_ok_nb(o, h, lo, c):
            n_ok += 1
            prices = np.stack([o, h, lo, c])
            assert np.isfinite(prices).all() and (prices > 0).all()
            assert _inconsistent_bars({"open": o, "high": h, "low": lo, "close": c}) is None
    assert n_ok > 0


def test_integer_grid_values_out_of_bounds_name_the_first(bars):
    with pytest.raises(InvalidParameterError, match=r"`fast` of SmaCross\(\) must be an "
                                                    r"integer >= 1; got 0\."):
        sweep(SmaCross, bars, {"fast": [5, 0, -2], "slow": [20]}, progress=False)

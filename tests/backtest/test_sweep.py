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

from quantlab.backtest import backtest
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


# ---- fused == generic, bit for bit where the docstring claims it ---------------------------

EXACT = ("total_return", "cagr", "calmar", "max_drawdown", "n_trades", "win_rate",
         "n_open_trades", "n_orders", "total_fees", "end_value", "exposure")
#: built on the sums of bar returns, which the fused kernel takes from prefix sums on all-in
#: long stretches (cross_sweep_nb's documented trade-off)
PREFIX_SUMS = ("annual_return", "annual_volatility", "sharpe", "sortino")
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


def _assert_fused_equals_generic(fused: pd.DataFrame, generic: pd.DataFrame,
                                 ppy: float) -> None:
    """Parameters and EXACT columns ==, NaN where NaN; PREFIX_SUMS to rtol 1e-12 of the size of
    the bar returns summed. A prefix-sum segment errs by ~1e-16 of the returns' size, not of
    their mean: when the mean is ~0 (a flat strategy), its relative error grows as
    rms / |mean| (measured: 1.2e-11 relative on an annual_return of 0.0046, 5e-16 relative
    to the rms of the returns), so the tolerance is rtol 1e-12 x (1 + rms / |mean|)."""
    assert list(fused.columns) == list(generic.columns)
    mean = generic["annual_return"].to_numpy() / ppy
    std = generic["annual_volatility"].to_numpy() / np.sqrt(ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        widen = 1.0 + np.sqrt(std ** 2 + mean ** 2) / np.abs(mean)
    for col in fused.columns:
        a, b = fused[col].to_numpy(), generic[col].to_numpy()
        if col in PREFIX_SUMS:
            a, b = a.astype(float), b.astype(float)
            tol = 1e-12 * np.abs(b) * (widen if col != "annual_volatility" else 1.0)
            ok = (np.abs(a - b) <= tol) | (np.isnan(a) & np.isnan(b))
        else:  # parameters and the exact statistics
            ok = (a == b) | (pd.isna(a) & pd.isna(b))
        assert ok.all(), (col, fused.loc[~ok, col].tolist(), generic.loc[~ok, col].tolist())
    assert set(EXACT) | set(PREFIX_SUMS) == set(STATS)


@pytest.mark.parametrize("options", FUSED_OPTIONS, ids=lambda o: ",".join(map(str, o.items())))
@pytest.mark.parametrize("cls", [SmaCross, EmaCross])
def test_fused_equals_generic_on_every_fused_option(bars, cls, options):
    grid = {"fast": [3, 5, 8, 13], "slow": [5, 10, 21, 55], "short": [False, True]}
    fused = sweep(cls, bars, grid, progress=False, **options)
    generic = sweep(cls, bars, grid, progress=False, use_fast_path=False, chunk_size=5,
                    **options)
    assert (fused.config["path"], generic.config["path"]) == ("fused", "generic")
    assert fused.table["n_orders"].sum() > 0
    _assert_fused_equals_generic(fused.table, generic.table, fused.config["periods_per_year"])


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
    _assert_fused_equals_generic(fused.table, generic.table, fused.config["periods_per_year"])


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

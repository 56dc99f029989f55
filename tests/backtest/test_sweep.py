"""sweep(): fast paths equal signal(), every row equals backtest().stats(), vectorbt parity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.backtest import backtest
from quantlab.backtest.sweep import STATS, SweepResult, fast_path_for, sweep
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
    inputs, params = fast.prepare(bars, combos)
    assert inputs.shape == (len({3, 5, 34, 8, 21, 13, 55, 2}), N_BARS)  # each window once
    out = np.empty((len(combos), N_BARS))
    fast.exposure_nb(inputs, params, out)
    for k, combo in enumerate(combos):
        expected = cls(**combo).signal(bars).to_numpy()
        np.testing.assert_array_equal(out[k], expected)


def test_fast_path_is_not_inherited():
    class MyCross(SmaCross):
        def signal(self, data):
            return super().signal(data) * 0.5

    assert fast_path_for(SmaCross) is not None
    assert fast_path_for(MyCross) is None


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

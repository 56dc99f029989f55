"""``sweep()``: backtest every combination of a strategy's parameters, in bounded memory.

How a sweep runs
----------------
1. The grid (``{param: [values]}``) is expanded in order; each value is validated once
   against the strategy's declared parameter; combinations rejected by the strategy's own
   ``check()`` (e.g. ``fast >= slow``) or by ``constraint(params)`` are skipped and counted.
2. The combinations are processed in chunks. For each chunk the target exposures come
   from the strategy's **fast path** when it has one (see below), else from
   ``Strategy.signal(data)`` called per combination (threads). They are simulated by the
   very kernel behind :func:`quantlab.backtest` (:func:`~quantlab.backtest.kernels.simulate_nb`,
   parallel over combinations) and reduced to one row of statistics; the chunk is freed.
   Memory is O(bars x chunk) whatever the grid.
3. When the strategy's fast path has a *fused* kernel and the options are simple (one
   asset, ``leverage=1``, no stops, lot size, minimum notional, funding, drift or ATR
   slippage), exposure, simulation and statistics run in one numba pass per combination
   with O(1) memory per combination.

Fast-path protocol (for strategy authors)
-----------------------------------------
A strategy class may let sweeps skip its pandas ``signal()`` by providing a
:class:`FastPath`, either as a class attribute ``sweep_fast_path`` defined on the class
itself (not inherited: a subclass that changes ``signal`` must not inherit it) or through
:func:`register_fast_path` (how the built-in ``SmaCross`` and ``EmaCross`` get theirs)::

    FastPath(
        prepare=lambda data, combos: (inputs, params),
        exposure_nb=my_exposure_nb,           # numba: (inputs, params, out) -> None
        fused_nb=None,                        # optional, see cross_sweep_nb
        fused_prepare=None,                   # optional: inputs of fused_nb (default prepare)
    )

* ``prepare(data, combos)`` gets the single-asset OHLCV frame and the list of parameter
  dicts; it computes each distinct indicator **once** (e.g. ``ind.sma(close, windows)``
  with the list of distinct windows) and returns ``inputs``, a 2-D float64 array
  (e.g. one row per distinct window, time on axis 1), and ``params``, a (K, P) float64
  array describing each combination in terms of ``inputs`` (e.g. row numbers).
* ``exposure_nb(inputs, params, out)`` fills ``out`` (K, T) with the target exposures,
  which must equal ``Strategy(**combo).signal(data)`` exactly (NaN where it is NaN). The
  test suite checks this for the built-ins; do the same for yours.

Only single-asset data uses fast paths; multi-asset data always takes the generic path.
"""

from __future__ import annotations

import functools
import html
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import (
    check_bool,
    check_choice,
    check_int,
    check_options,
    did_you_mean,
    message,
)
from quantlab.backtest import sweep_kernels as SK
from quantlab.backtest.config import BacktestConfig
from quantlab.backtest.engine import OPTIONS, _align_target, _prepare_data
from quantlab.backtest.simulation import Simulation, prepare_simulation
from quantlab.backtest.result import _infer_ppy
from quantlab.backtest.sizers import FixedFraction, _Kernel, apply_sizer
from quantlab.errors import InvalidParameterError
from quantlab.indicators._api import Spec, compute_rows

__all__ = ["sweep", "SweepResult", "FastPath", "register_fast_path", "fast_path_for", "STATS"]

_CALLER = "sweep"

#: Statistics columns of :attr:`SweepResult.table` (after the parameter columns).
STATS: tuple[str, ...] = ("total_return", "cagr", "annual_return", "annual_volatility", "sharpe",
                          "sortino", "calmar", "max_drawdown", "exposure", "n_trades",
                          "win_rate", "n_open_trades", "n_orders", "total_fees", "end_value")
LOWER_IS_BETTER = frozenset({"annual_volatility"})  # the sweep metrics where lower is better
_SIGNAL_OPTIONS = ("entries", "exits", "short_entries", "short_exits", "direction")
_SWEEP_OPTIONS = tuple(k for k in OPTIONS if k not in _SIGNAL_OPTIONS)


# ---- fast paths -------------------------------------------------------------------------

@dataclass(frozen=True)
class FastPath:
    """How a strategy class computes its exposures for many combinations at once.

    Attributes
    ----------
    prepare : callable
        ``prepare(data, combos) -> (inputs, params)``: ``inputs`` a 2-D float64 array of
        precomputed indicator columns (each distinct indicator once), ``params`` a (K, P)
        float64 array, one row per combination of ``combos`` (list of parameter dicts).
    exposure_nb : numba function
        ``exposure_nb(inputs, params, out)`` fills ``out`` (K, T) with exposures equal to
        ``signal(data)`` of each combination.
    fused_nb : callable, optional
        ``fused_nb(inputs, params, warmups, open_, close, fill_next_open, init_cash,
        fee_rate, fee_fixed, slippage, size) -> (K, 13)`` fusing exposure, simulation and
        statistics (simple options only), as
        :func:`~quantlab.backtest.sweep_kernels.cross_sweep_nb` with its ``kind`` bound.
    fused_prepare : callable, optional
        Like ``prepare``, for ``fused_nb``'s ``inputs`` (the crosses pass their distinct
        windows: the fused kernel computes the moving averages block by block itself).
    """

    prepare: Callable[[pd.DataFrame, list[dict[str, Any]]], tuple[np.ndarray, np.ndarray]]
    exposure_nb: Callable[..., None]
    fused_nb: Callable[..., np.ndarray] | None = None
    fused_prepare: Callable[[pd.DataFrame, list[dict[str, Any]]],
                            tuple[np.ndarray, np.ndarray]] | None = None


_REGISTRY: dict[type, FastPath] = {}


def register_fast_path(cls: type, fast_path: FastPath) -> None:
    """Attach ``fast_path`` to strategy class ``cls`` (exactly that class, not subclasses)."""
    if not isinstance(fast_path, FastPath):
        raise InvalidParameterError(message("fast_path", "register_fast_path", "a FastPath",
                                            type(fast_path).__name__))
    _REGISTRY[cls] = fast_path


def fast_path_for(cls: type) -> FastPath | None:
    """The fast path of strategy class ``cls`` (its own ``sweep_fast_path`` or registered)."""
    own = cls.__dict__.get("sweep_fast_path")
    if isinstance(own, FastPath):
        return own
    return _REGISTRY.get(cls)


def _cross_windows(data: pd.DataFrame, combos: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct windows (W,) and params (K, 3) = (fast row, slow row, short flag)."""
    windows = sorted({int(c["fast"]) for c in combos} | {int(c["slow"]) for c in combos})
    row = {w: i for i, w in enumerate(windows)}
    params = np.array([[row[int(c["fast"])], row[int(c["slow"])], 1.0 if c["short"] else 0.0]
                       for c in combos], dtype=np.float64).reshape(-1, 3)
    return np.array(windows, dtype=np.float64), params


def _cross_prepare(spec: Spec) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    def prepare(data: pd.DataFrame, combos: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        windows, params = _cross_windows(data, combos)
        close = np.ascontiguousarray(data["close"].to_numpy(dtype=np.float64))
        values = compute_rows(spec, close, windows.astype(np.int64))  # (W, T): a row per window
        return values, params
    return prepare


def _register_builtins() -> None:
    from quantlab.indicators.overlap import EMA_SPEC, SMA_SPEC
    from quantlab.strategy.builtin import EmaCross, SmaCross

    register_fast_path(SmaCross, FastPath(_cross_prepare(SMA_SPEC), SK.cross_exposure_nb,
                                          functools.partial(SK.cross_sweep_nb, SK.MA_SMA),
                                          _cross_windows))
    register_fast_path(EmaCross, FastPath(_cross_prepare(EMA_SPEC), SK.cross_exposure_nb,
                                          functools.partial(SK.cross_sweep_nb, SK.MA_EMA),
                                          _cross_windows))


_register_builtins()


# ---- result -------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class SweepResult:
    """What :func:`sweep` produced (immutable).

    Attributes
    ----------
    table : DataFrame
        One row per combination simulated (index 0..n-1 in grid order): the parameter
        columns, then :data:`STATS`.
    strategy_cls : type
        The strategy class swept.
    metric : str
        The statistic :attr:`best` maximizes (minimizes for ``annual_volatility``).
    n_skipped : dict
        ``{"check": n, "constraint": n}`` combinations skipped by ``Strategy.check()`` and
        by ``constraint``.
    config : dict
        Backtest options used, ``periods_per_year``, the path taken (``"fused"``, ``"fast"``
        or ``"generic"``), chunk size and elapsed seconds.
    """

    table: pd.DataFrame
    strategy_cls: type
    metric: str
    n_skipped: dict[str, int]
    config: dict[str, Any]
    data: pd.DataFrame = field(repr=False)
    param_names: tuple[str, ...] = ()

    @property
    def n_trials(self) -> int:
        """Number of combinations simulated (skipped ones excluded)."""
        return len(self.table)

    @property
    def best_index(self) -> int:
        """Row of the best combination by ``metric`` (NaN never wins; row 0 if all NaN)."""
        return _best_row(self.table, self.metric)

    @property
    def best(self) -> dict[str, Any]:
        """Parameters and statistics of the best combination by ``metric``."""
        i = self.best_index
        return {k: _py(self.table.at[i, k]) for k in self.table.columns}

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of the best combination."""
        return {k: v for k, v in self.best.items() if k in self.param_names}

    def params(self, i: int) -> dict[str, Any]:
        """Parameters of row ``i``."""
        return {k: _py(self.table.at[i, k]) for k in self.param_names}

    def strategy(self, i: int) -> Any:
        """The strategy instance of row ``i``."""
        return self.strategy_cls(**self.params(i))

    @property
    def best_strategy(self) -> Any:
        """The strategy instance of the best combination."""
        return self.strategy(self.best_index)

    def backtest(self, i: int | None = None) -> Any:
        """Re-run the full :func:`quantlab.backtest` of row ``i`` (default: the best)."""
        from quantlab.backtest.engine import backtest

        i = self.best_index if i is None else i
        return backtest(self.data, self.strategy(i), **self.config["options"])

    def deflated_sharpe(self) -> float:
        """Deflated Sharpe ratio of the best combination given all the trials' Sharpe ratios.

        Re-runs the best combination to get its returns, then
        :func:`quantlab.metrics.deflated_sharpe_ratio` with ``trials_sharpe`` = the
        ``sharpe`` column (N = trials with a defined Sharpe, V = their variance). Bailey &
        López de Prado (2014).
        """
        from quantlab.metrics import deflated_sharpe_ratio

        res = self.backtest(self.best_index_by("sharpe"))
        return float(deflated_sharpe_ratio(res.returns.to_numpy(), trials_sharpe=self.table["sharpe"],
                                           periods_per_year=self.config["periods_per_year"]))

    def best_index_by(self, metric: str) -> int:
        """Row of the best combination by another statistic."""
        return _best_row(self.table, check_choice("metric", metric, STATS, caller="best_index_by"))

    def heatmap(self, x: str, y: str, value: str | None = None, *, agg: str = "max") -> Any:
        """Plotly heatmap of ``value`` (default: ``metric``) over two parameters.

        Other parameters are aggregated with ``agg`` ("max", "mean", "median", "min").
        """
        from quantlab.plotting.figures import heatmap_figure

        value = self.metric if value is None else value
        for name, v in (("x", x), ("y", y)):
            check_choice(name, v, self.param_names, caller="heatmap")
        check_choice("value", value, STATS, caller="heatmap")
        name = self.strategy_cls.__name__
        title = (f"{name}: {value} ({agg} over other parameters)" if len(self.param_names) > 2
                 else f"{name}: {value}")
        return heatmap_figure(self.table, x, y, value, agg=agg, title=title, colorscale="RdYlGn")

    def _repr_html_(self) -> str:
        top = self.table.sort_values(self.metric, ascending=self.metric in LOWER_IS_BETTER,
                                     na_position="last").head(10)
        skipped = sum(self.n_skipped.values())
        head = (f"<div><b>SweepResult</b> {html.escape(self.strategy_cls.__name__)} &middot; "
                f"{self.n_trials} combinations ({skipped} skipped) &middot; metric "
                f"{html.escape(self.metric)} &middot; {self.config['path']} path, "
                f"{self.config['elapsed_s']:.2f} s</div>")
        return head + top.to_html(float_format=lambda v: f"{v:.4g}")

    def __repr__(self) -> str:
        return (f"SweepResult({self.strategy_cls.__name__}, {self.n_trials} combinations, "
                f"best {self.metric}={self.best[self.metric]!r} at {self.best_params})")


def _best_row(table: pd.DataFrame, metric: str) -> int:
    values = table[metric].to_numpy(dtype=np.float64)
    if np.isnan(values).all():
        return int(table.index[0])
    pos = np.nanargmin(values) if metric in LOWER_IS_BETTER else np.nanargmax(values)
    return int(table.index[pos])


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# ---- sweep --------------------------------------------------------------------------

def sweep(strategy_cls: type, data: pd.DataFrame, grid: Mapping[str, Any], *,
          constraint: Callable[[dict[str, Any]], bool] | None = None, metric: str = "sharpe",
          n_jobs: int = -1, chunk_size: int | None = None, use_fast_path: bool = True,
          progress: bool = True, config: BacktestConfig | None = None, start: Any = None,
          end: Any = None, **options: Any) -> SweepResult:
    """Backtest every combination of a parameter grid; one row of statistics per combination.

    Parameters
    ----------
    strategy_cls : type
        A :class:`~quantlab.strategy.Strategy` subclass (typed parameters).
    data : DataFrame
        OHLCV bars as for :func:`quantlab.backtest` (one asset, or (field, symbol) columns).
    grid : mapping
        ``{parameter: list of values}`` (a scalar is a one-value list). Parameters not in
        the grid keep their defaults.
    constraint : callable, optional
        ``constraint(params) -> bool``; combinations for which it is False are skipped.
    metric : str, default "sharpe"
        Statistic :attr:`SweepResult.best` optimizes, one of :data:`STATS`.
    n_jobs : int, default -1
        Threads (numba kernels and ``signal()`` calls); -1 = all cores.
    chunk_size : int, optional
        Combinations per chunk (default: as many as fit ~64 MB of exposures, 16..256).
    use_fast_path : bool, default True
        Use the strategy's fast path when it has one (False: always ``signal()``).
    progress : bool, default True
        Show a tqdm progress bar.
    **options
        :func:`quantlab.backtest` options (``fill``, ``fee_bps``, ``init_cash``,
        ``slippage_bps``, stops, ``leverage``, ``size``, ``warmup``, ``periods_per_year``,
        ...); the signal-only options (``entries``, ``direction``, ...) do not apply.

    Returns
    -------
    SweepResult
        ``table`` (parameters + :data:`STATS`), ``best``, ``heatmap()``,
        ``deflated_sharpe()``, ``strategy(i)``, ``best_strategy``.

    Raises
    ------
    InvalidParameterError
        Unknown option or grid parameter (did-you-mean), a grid value outside the
        parameter's declared bounds, an unknown ``metric``, a grid leaving no combination.
    DataError
        Malformed data, or a ``signal()`` output that does not align with it.

    Notes
    -----
    Each row equals ``backtest(data, strategy_cls(**params), **options).stats()`` for
    ``total_return, cagr, annual_return, annual_volatility, sharpe, sortino, calmar,
    max_drawdown, exposure, n_trades`` (closed trades) ``, win_rate`` (closed trades),
    plus ``n_open_trades`` (0/1), ``n_orders``, ``total_fees`` and ``end_value``
    (``trade_stats()``) - the same simulator runs underneath. On the fused path (built-in
    crosses with simple options, ``config["path"] == "fused"``) the statistics built on sums
    of bar returns (``annual_return``, ``annual_volatility``, ``sharpe``, ``sortino``) agree
    to ~1e-12 relative rather than bit for bit: all-in long stretches take those sums from
    prefix sums of the price returns. Statistics follow
    :mod:`quantlab.metrics` (Sharpe with ddof=1 and ``periods_per_year`` from the options
    or inferred from the index).

    Examples
    --------
    >>> import quantlab as ql  # doctest: +SKIP
    >>> from quantlab.strategies import SmaCross  # doctest: +SKIP
    >>> res = ql.sweep(SmaCross, df, {"fast": range(5, 55), "slow": range(5, 55)},
    ...                fill="close", fee_bps=10)  # doctest: +SKIP
    >>> res.best_params, res.heatmap("fast", "slow")  # doctest: +SKIP
    """
    started = time.perf_counter()
    for key in options:
        if key in _SIGNAL_OPTIONS:
            raise InvalidParameterError(message(key, _CALLER, "omitted (sweep simulates the "
                                                "strategy's target exposures)", options[key]))
    check_options(options, _SWEEP_OPTIONS, caller=_CALLER)
    if config is not None and not isinstance(config, BacktestConfig):
        raise InvalidParameterError(message("config", _CALLER, "a BacktestConfig or None",
                                            type(config).__name__))
    settings = (config or BacktestConfig()).replace(caller=_CALLER, **options)
    declared = getattr(strategy_cls, "_params", None)
    if not isinstance(strategy_cls, type) or declared is None or not callable(
            getattr(strategy_cls, "signal", None)):
        raise InvalidParameterError(message("strategy_cls", _CALLER, "a Strategy subclass",
                                            strategy_cls, "Pass the class, e.g. SmaCross, not "
                                            "an instance."))
    metric = check_choice("metric", metric, STATS, caller=_CALLER)
    n_jobs = check_int("n_jobs", n_jobs, caller=_CALLER, minimum=-1)
    if n_jobs == 0:
        raise InvalidParameterError(message("n_jobs", _CALLER, "-1 (all cores) or >= 1", 0))
    use_fast_path = check_bool("use_fast_path", use_fast_path, caller=_CALLER)
    progress = check_bool("progress", progress, caller=_CALLER)
    if constraint is not None and not callable(constraint):
        raise InvalidParameterError(message("constraint", _CALLER, "a callable params -> bool",
                                            constraint))

    frame, symbols, prices = _prepare_data(data)
    simulation = prepare_simulation(settings, frame, symbols, prices, start=start, end=end,
                                    caller=_CALLER)
    sim = _sim_options(settings, simulation)
    combos, strategies, skipped = _expand(strategy_cls, grid, constraint)
    n_bars, n_assets = prices["close"].shape
    user_chunk = chunk_size is not None
    if chunk_size is None:
        chunk_size = int(min(256, max(16, (64 << 20) // (8 * n_bars * n_assets))))
    else:
        chunk_size = check_int("chunk_size", chunk_size, caller=_CALLER, minimum=1)
    warmup_opt = settings.warmup
    if warmup_opt is None:
        warmups = np.array([check_int("warmup", s.warmup, caller=_CALLER, minimum=0)
                            for s in strategies], dtype=np.int64)
    else:
        warmups = np.full(len(strategies), check_int("warmup", warmup_opt, caller=_CALLER,
                                                     minimum=0), dtype=np.int64)

    fast = fast_path_for(strategy_cls) if use_fast_path and n_assets == 1 else None
    fused = fast is not None and fast.fused_nb is not None and sim["simple"]
    path = "fused" if fused else ("fast" if fast is not None else "generic")
    if fused and not user_chunk:
        # O(K) memory whatever the chunk: chunks only pace the progress bar (~1e8 bar-combos,
        # a fraction of a second each); small chunks would pay a parallel launch per time block
        # and recompute the moving averages (W x T each)
        chunk_size = max(chunk_size, int(1e8 // max(n_bars, 1)))
    threads = _threads(n_jobs)
    raw = np.empty((len(combos), len(SK.RAW_STATS)))
    bar = _progress(len(combos), progress, strategy_cls.__name__)
    try:
        with _numba_threads(threads):
            if fast is not None:
                prep = fast.fused_prepare if fused and fast.fused_prepare else fast.prepare
                inputs, params = prep(frame, combos)
            open_, close = prices["open"][:, 0].copy(), prices["close"][:, 0].copy()
            for lo in range(0, len(combos), chunk_size):
                hi = min(lo + chunk_size, len(combos))
                if fused:
                    raw[lo:hi] = fast.fused_nb(  # type: ignore[union-attr]
                        inputs, np.ascontiguousarray(params[lo:hi]), warmups[lo:hi],
                        open_, close, sim["fill_next_open"], sim["init_cash"], sim["fee_rate"],
                        sim["fee_fixed"], float(sim["slippage"][0, 0]), sim["size"],
                        simulation.t0, simulation.t1)
                else:
                    if fast is not None:
                        expo = np.empty((hi - lo, n_bars))
                        fast.exposure_nb(inputs, np.ascontiguousarray(params[lo:hi]), expo)
                        targets = expo.reshape(hi - lo, n_bars, 1)
                    else:
                        targets = _signals(strategies[lo:hi], frame, symbols, threads)
                    targets = _size(targets, sim["sizer"], frame, symbols, data)
                    raw[lo:hi] = _generic(simulation, targets, warmups[lo:hi])
                    del targets
                if bar is not None:
                    bar.update(hi - lo)
    finally:
        if bar is not None:
            bar.close()

    ppy = simulation.periods_per_year
    table = pd.DataFrame(combos)
    for name, values in _finish(raw, float(ppy)).items():
        table[name] = values
    config = {"options": {**dict(options), "start": start, "end": end},
              "settings": settings, "periods_per_year": float(ppy), "path": path,
              "chunk_size": chunk_size, "n_jobs": threads,
              "elapsed_s": time.perf_counter() - started}
    return SweepResult(table=table, strategy_cls=strategy_cls, metric=metric,
                       n_skipped=skipped, config=config, data=data,
                       param_names=tuple(combos[0]))


def _finish(raw: np.ndarray, ppy: float) -> dict[str, np.ndarray]:
    """RAW_STATS -> STATS with the formulas of quantlab.metrics."""
    col = {name: raw[:, i] for i, name in enumerate(SK.RAW_STATS)}
    n = col["n_returns"]
    mean = col["mean_return"]
    std = np.sqrt(col["var_return"])
    root = math.sqrt(ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(std > 0, mean / std, np.nan) * root
        dd = np.sqrt(np.where(n > 0, col["downside_sq"] / np.maximum(n, 1), np.nan))
        sortino = np.where(dd > 0, mean / dd, np.nan) * root
        final = col["total_return"] + 1.0
        cagr = np.where(n > 0, np.where(final > 0, np.abs(final) ** (ppy / np.maximum(n, 1)) - 1.0,
                                        -1.0), np.nan)
        mdd = col["max_drawdown"]
        calmar = np.where(mdd < 0, cagr / -mdd, np.nan)
        closed = col["n_closed"]
        win_rate = np.where(closed > 0, col["n_wins"] / np.maximum(closed, 1), np.nan)
    return {
        "total_return": col["total_return"],
        "cagr": cagr,
        "annual_return": mean * ppy,
        "annual_volatility": std * root,
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": calmar,
        "max_drawdown": mdd,
        "exposure": col["bars_in_market"] / np.maximum(n, 1),
        "n_trades": closed.astype(np.int64),
        "win_rate": win_rate,
        "n_open_trades": col["n_open"].astype(np.int64),
        "n_orders": col["n_orders"].astype(np.int64),
        "total_fees": col["total_fees"],
        "end_value": col["end_value"],
    }


def _expand(strategy_cls: type, grid: Mapping[str, Any],
            constraint: Callable[[dict[str, Any]], bool] | None
            ) -> tuple[list[dict[str, Any]], list[Any], dict[str, int]]:
    from quantlab.strategy.base import Strategy, _check_param

    if not isinstance(grid, Mapping) or not grid:
        raise InvalidParameterError(message("grid", _CALLER, "a non-empty dict {parameter: "
                                            "[values]}", grid))
    declared = strategy_cls._params
    caller = strategy_cls.__name__
    axes: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if name not in declared:
            hint = did_you_mean(name, declared) or f"Parameters: {', '.join(declared)}."
            raise InvalidParameterError(f"`grid` of {_CALLER}() has an unknown parameter "
                                        f"`{name}` of {caller}. {hint}")
        if isinstance(values, str) or not isinstance(values, Iterable):
            values = [values]
        values = list(dict.fromkeys(values))
        if not values:
            raise InvalidParameterError(message(f"grid[{name!r}]", _CALLER,
                                                "a non-empty list of values", values))
        kind, spec = declared[name]
        axes[name] = [_check_param(name, _py(v), kind, spec, caller) for v in values]
    for name, (kind, spec) in declared.items():  # parameters left at their default
        if name not in axes:
            axes[name] = [_check_param(name, spec.default, kind, spec, caller)]
    combos: list[dict[str, Any]] = []
    strategies: list[Any] = []
    skipped = {"check": 0, "constraint": 0}
    order = list(axes)  # the grid's order (then defaults): rows come in this product order
    own_init = strategy_cls.__init__ is not Strategy.__init__  # a subclass's own __init__ runs
    for values in itertools.product(*axes.values()):
        kw = dict(zip(order, values, strict=True))
        try:  # each value was validated once above; only check() runs per combination
            strat = (strategy_cls(**kw) if own_init
                     else strategy_cls._from_valid({name: kw[name] for name in declared}))
        except InvalidParameterError:
            skipped["check"] += 1
            continue
        params = strat.params
        if constraint is not None and not constraint(dict(params)):
            skipped["constraint"] += 1
            continue
        combos.append(params)
        strategies.append(strat)
    if not combos:
        raise InvalidParameterError(message("grid", _CALLER, "a grid with at least one valid "
                                            "combination", f"{skipped['check']} rejected by "
                                            f"{caller}.check(), {skipped['constraint']} by "
                                            "constraint", "Widen the grid."))
    return combos, strategies, skipped


def _sim_options(settings: BacktestConfig, simulation: Simulation) -> dict[str, Any]:
    """What the sweep kernels need beyond the step's arrays: ``sizer``, ``size`` (the fixed
    fraction), ``fill_next_open``, ``init_cash``, ``fee_rate``, ``fee_fixed``, ``slippage``, and
    ``simple`` (True when the fused kernel handles every setting)."""
    sizer = settings.sizing.size
    co, ex = settings.costs, settings.execution
    fixed = isinstance(sizer, FixedFraction)
    simple = bool(
        fixed and ex.leverage == 1.0 and settings.margin.maintenance_margin is None
        and settings.stops == type(settings.stops)() and settings.sizing.rebalance_threshold is None
        and not settings.limits.any and not simulation.acfg.any() and simulation.slip.size == 1
        and simulation.funding.size == 1 and not simulation.funding.any()
        and simulation.borrow.size == 1 and not simulation.borrow.any())
    return {"sizer": sizer, "size": float(sizer.fraction) if fixed else 1.0,
            "fill_next_open": ex.fill == "next_open", "init_cash": ex.init_cash,
            "fee_rate": co.fee_bps / 1e4, "fee_fixed": co.fee_fixed,
            "slippage": simulation.slip, "simple": simple}


def _generic(simulation: Simulation, targets: np.ndarray, warmups: np.ndarray) -> np.ndarray:
    """RAW_STATS rows of (k, T, N) raw targets: the decision step over the evaluation window
    for each combination (:func:`~quantlab.backtest.sweep_kernels.sweep_targets_nb`)."""
    sim = simulation
    a, b = sim.t0, sim.t1 + 1
    sin = sim.sizer_inputs(targets[0]) if isinstance(sim.config.sizing.size, _Kernel) and not \
        isinstance(sim.config.sizing.size, FixedFraction) else np.full((6, 1, 1), np.nan)
    if sin.shape[1] > 1 and targets.shape[0] > 1:
        # sizer inputs that depend on the targets (Kelly's edge) differ per combination
        sins = [sim.sizer_inputs(targets[i]) for i in range(targets.shape[0])]
    else:
        sins = [sin]

    def rows(x: np.ndarray, axis: int = 0) -> np.ndarray:
        if x.shape[axis] == 1:
            return x
        return np.ascontiguousarray(x[a:b] if axis == 0 else x[:, a:b])

    p = sim.prices
    out = np.empty((targets.shape[0], len(SK.RAW_STATS)))
    tg = np.ascontiguousarray(targets[:, a:b])
    w = np.maximum(warmups - a, 0).astype(np.int64)
    for i, sn in enumerate(sins):
        sel = slice(None) if len(sins) == 1 else slice(i, i + 1)
        out[sel] = SK.sweep_targets_nb(sim.cfg, sim.acfg, sim.sizers, rows(p["open"]),
                                       rows(p["high"]), rows(p["low"]), rows(p["close"]),
                                       np.ascontiguousarray(tg[sel]), rows(sim.slip),
                                       rows(sim.funding), rows(sim.borrow), rows(sn, 1),
                                       rows(sim.day), w[sel], sim.ring_size)
    return out


def _signals(strategies: list[Any], frame: pd.DataFrame, symbols: list[str],
             threads: int) -> np.ndarray:
    """Raw targets (k, T, N) from ``signal()`` of each strategy (threads)."""
    out = np.empty((len(strategies), len(frame), len(symbols)))

    def one(i: int) -> None:
        out[i] = _align_target(strategies[i].signal(frame), frame, symbols)

    if threads <= 1 or len(strategies) == 1:
        for i in range(len(strategies)):
            one(i)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, range(len(strategies))))
    return out


def _size(targets: np.ndarray, sizer: Any, frame: pd.DataFrame, symbols: list[str],
          data: pd.DataFrame) -> np.ndarray:
    """Apply the sizer as backtest() does (FixedFraction: multiply; a callable: per combo)."""
    if isinstance(sizer, FixedFraction):
        if sizer.fraction != 1.0:
            targets = targets * float(sizer.fraction)
        return np.ascontiguousarray(targets)
    out = np.empty_like(targets)
    for i in range(targets.shape[0]):
        df = pd.DataFrame(targets[i], index=frame.index, columns=symbols)
        out[i] = apply_sizer(sizer, df, data, caller=_CALLER)
    return out


def _threads(n_jobs: int) -> int:
    import numba

    if n_jobs == -1:
        return int(numba.config.NUMBA_NUM_THREADS)
    return int(min(n_jobs, numba.config.NUMBA_NUM_THREADS))


class _numba_threads:
    """Context manager limiting numba's threads (restored on exit)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.previous: int | None = None

    def __enter__(self) -> None:
        import numba

        self.previous = numba.get_num_threads()
        numba.set_num_threads(self.n)

    def __exit__(self, *exc: Any) -> None:
        import numba

        if self.previous is not None:
            numba.set_num_threads(self.previous)


def _progress(total: int, enabled: bool, name: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, desc=f"sweep {name}", unit="combo", leave=False)


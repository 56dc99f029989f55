"""``sweep()``: backtest every combination of a strategy's parameters, in bounded memory.

How a sweep runs
----------------
1. The grid (``{param: [values]}``) is expanded with numpy into a DataFrame of
   combinations, one row per combination in product order (the first grid parameter varies
   slowest); each value is validated once against the strategy's declared parameter.
   Combinations rejected by the strategy's own check (``fast >= slow``) or by
   ``constraint`` are skipped and counted. No strategy object is built for that: the
   strategy's vectorized ``check_grid`` (see below) and a vectorized ``constraint`` work on
   the whole table at once (:mod:`quantlab.backtest.grid`).
2. The combinations are processed in chunks. For each chunk the target exposures come
   from the strategy's **fast path** when it has one (see below), else from
   ``Strategy.signal(data)`` called per combination (threads; the strategy objects of a
   chunk are built for it and dropped with it). They are simulated by the decision step
   behind :func:`quantlab.backtest` (:func:`~quantlab.backtest.sweep_kernels.sweep_targets_nb`,
   parallel over combinations) and reduced to one row of statistics; the chunk is freed.
   Memory is O(bars x chunk) whatever the grid.
3. When the strategy's fast path has a *fused* kernel and the options are simple (one
   asset, ``leverage=1``, no stops, lot size, minimum notional, funding, drift or ATR
   slippage), exposure, simulation and statistics run in one numba pass per combination
   with O(1) memory per combination, equal to step 2's numbers bit for bit.

Vectorized parameter check (for strategy authors)
-------------------------------------------------
A strategy whose :meth:`~quantlab.strategy.Strategy.check` constrains its parameters may
also declare the same rule for a whole table of combinations::

    @classmethod
    def check_grid(cls, grid: pd.DataFrame) -> np.ndarray:   # one row per combination
        return (grid["fast"] < grid["slow"]).to_numpy()     # True = valid

``sweep`` uses it instead of building an instance per combination, but only when it is
declared by the class that declares the ``check()`` in effect, or below it (a subclass that
overrides ``check()`` alone is checked row by row).

Fast-path protocol (for strategy authors)
-----------------------------------------
A strategy class may let sweeps skip its pandas ``signal()`` with a :class:`FastPath`,
named by a class attribute ``sweep_fast_path`` defined on the class itself (looked up in
``cls.__dict__``, so never inherited: a subclass that changes ``signal`` must not inherit
it). The attribute is either the :class:`FastPath` itself or, for classes in layers that
must not import :mod:`quantlab.backtest` (``quantlab.strategy``), a string
``"module:ATTRIBUTE"`` the sweep imports lazily (how the built-in crosses name theirs:
``SmaCross.sweep_fast_path = "quantlab.backtest.sweep:SMA_CROSS_FAST_PATH"``). Being part
of the class, it travels with it: a worker process that unpickles a strategy imports its
module and finds the fast path there. ::

    FastPath(
        prepare=lambda data, grid: (inputs, params),
        exposure_nb=my_exposure_nb,           # numba: (inputs, params, out) -> None
        fused_nb=None,                        # optional, see cross_sweep_nb
        fused_prepare=None,                   # optional: inputs of fused_nb (default prepare)
        warmups=None,                         # optional: grid -> (K,) int warmups
    )

* ``prepare(data, grid)`` gets the single-asset OHLCV frame and the DataFrame of
  combinations (one row per combination, one column per parameter); it computes each
  distinct indicator **once** (e.g. ``ind.sma(close, windows)`` with the distinct windows)
  and returns ``inputs``, a 2-D float64 array (e.g. one row per distinct window, time on
  axis 1), and ``params``, a (K, P) float64 array describing each combination in terms of
  ``inputs`` (e.g. row numbers).
* ``exposure_nb(inputs, params, out)`` fills ``out`` (K, T) with the target exposures,
  which must equal ``Strategy(**combo).signal(data)`` exactly (NaN where it is NaN).
* ``warmups(grid)`` returns each combination's ``Strategy(**combo).warmup`` (else sweep
  builds the strategy objects to ask them).

The test suite checks these equalities for the built-ins; do the same for yours. Only
single-asset data uses fast paths; multi-asset data always takes the generic path.
"""

from __future__ import annotations

import html
import importlib
import math
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import (
    check_bool,
    check_choice,
    check_int,
    check_options,
    message,
)
from quantlab.backtest import sweep_kernels as SK
from quantlab.backtest.config import BacktestConfig
from quantlab.backtest.engine import OPTIONS, UNSET, _align_target, _prepare_data
from quantlab.backtest.grid import columns_frame, expand, py_value, records
from quantlab.backtest.simulation import Simulation, prepare_simulation
from quantlab.backtest.sizers import FixedFraction, _Kernel, apply_sizer
from quantlab.errors import InvalidParameterError
from quantlab.indicators._api import Spec, compute_rows
from quantlab.indicators.overlap import EMA_SPEC, SMA_SPEC
from quantlab.strategy.base import as_exposure

__all__ = ["sweep", "SweepResult", "FastPath", "register_fast_path", "fast_path_for", "STATS",
           "SMA_CROSS_FAST_PATH", "EMA_CROSS_FAST_PATH"]

_CALLER = "sweep"

#: Statistics columns of :attr:`SweepResult.table` (after the parameter columns).
STATS: tuple[str, ...] = ("total_return", "cagr", "annual_return", "annual_volatility", "sharpe",
                          "sortino", "calmar", "max_drawdown", "exposure", "n_trades",
                          "win_rate", "n_open_trades", "n_orders", "total_fees", "end_value")
LOWER_IS_BETTER = frozenset({"annual_volatility"})  # the sweep metrics where lower is better
_SIGNAL_OPTIONS = ("entries", "exits", "short_entries", "short_exits", "direction")
#: The flat simulation options sweep() takes: backtest()'s, minus the signal-only ones.
_SWEEP_OPTIONS = tuple(k for k in OPTIONS if k not in _SIGNAL_OPTIONS)
_DEFAULT_CONFIG = BacktestConfig()  # frozen: the base of every sweep without ``config``


# ---- fast paths -------------------------------------------------------------------------

@dataclass(frozen=True)
class FastPath:
    """How a strategy class computes its exposures for many combinations at once.

    Attributes
    ----------
    prepare : callable
        ``prepare(data, grid) -> (inputs, params)``: ``grid`` the DataFrame of combinations
        (one row each, one column per parameter); ``inputs`` a 2-D float64 array of
        precomputed indicator columns (each distinct indicator once), ``params`` a (K, P)
        float64 array, one row per row of ``grid``.
    exposure_nb : numba function
        ``exposure_nb(inputs, params, out)`` fills ``out`` (K, T) with exposures equal to
        ``signal(data)`` of each combination.
    fused_nb : callable, optional
        ``fused_nb(inputs, params, warmups, open_, close, fill_next_open, init_cash,
        fee_rate, fee_fixed, slippage, size, t_start, t_end) -> (K, 13)`` fusing exposure,
        simulation and statistics (simple options only) over the evaluation window
        ``t_start .. t_end``, as :func:`~quantlab.backtest.sweep_kernels.cross_sweep_nb` with
        its ``kind`` bound.
    fused_prepare : callable, optional
        Like ``prepare``, for ``fused_nb``'s ``inputs`` (the crosses pass their distinct
        windows: the fused kernel computes the moving averages block by block itself).
    warmups : callable, optional
        ``warmups(grid) -> (K,) int64``: ``Strategy(**row).warmup`` of each row, vectorized.
    """

    prepare: Callable[[pd.DataFrame, pd.DataFrame], tuple[np.ndarray, np.ndarray]]
    exposure_nb: Callable[..., None]
    fused_nb: Callable[..., np.ndarray] | None = None
    fused_prepare: Callable[[pd.DataFrame, pd.DataFrame], tuple[np.ndarray, np.ndarray]] | None = None
    warmups: Callable[[pd.DataFrame], np.ndarray] | None = None


def register_fast_path(cls: type, fast_path: FastPath) -> None:
    """Set ``cls.sweep_fast_path = fast_path`` (deprecated: assign the attribute instead).

    .. deprecated::
        Declare ``sweep_fast_path`` in the class body: an attribute set at run time is
        missing in a worker process that imports the class afresh.
    """
    warnings.warn("register_fast_path() is deprecated: declare `sweep_fast_path` in the class "
                  "body (a FastPath or a 'module:ATTRIBUTE' string).", DeprecationWarning,
                  stacklevel=2)
    if not isinstance(fast_path, FastPath):
        raise InvalidParameterError(message("fast_path", "register_fast_path", "a FastPath",
                                            type(fast_path).__name__))
    cls.sweep_fast_path = fast_path  # type: ignore[attr-defined]


def fast_path_for(cls: type) -> FastPath | None:
    """The fast path strategy class ``cls`` declares itself (``sweep_fast_path`` in its own
    ``__dict__``; a ``"module:ATTRIBUTE"`` string is imported), or None.

    Raises
    ------
    InvalidParameterError
        ``sweep_fast_path`` is neither a :class:`FastPath` nor a string naming one.
    """
    own = cls.__dict__.get("sweep_fast_path")
    if own is None or isinstance(own, FastPath):
        return own
    name = f"{cls.__name__}.sweep_fast_path"
    if not isinstance(own, str) or own.count(":") != 1:
        raise InvalidParameterError(message("sweep_fast_path", cls.__name__, "a FastPath or a "
                                            "'module:ATTRIBUTE' string naming one", own))
    module_name, attr = own.split(":")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidParameterError(message("sweep_fast_path", cls.__name__, "a "
                                            "'module:ATTRIBUTE' string naming a FastPath", own,
                                            f"Importing it failed: {exc}.")) from exc
    if not isinstance(found, FastPath):
        raise InvalidParameterError(message("sweep_fast_path", cls.__name__, "a "
                                            "'module:ATTRIBUTE' string naming a FastPath",
                                            own, f"{name} names a {type(found).__name__}."))
    return found


def _cross_windows(data: pd.DataFrame, grid: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The distinct windows (W,) and params (K, 3) = (fast row, slow row, short flag)."""
    fast = grid["fast"].to_numpy(dtype=np.int64)
    slow = grid["slow"].to_numpy(dtype=np.int64)
    windows = np.union1d(fast, slow)  # sorted, each once
    params = np.empty((len(grid), 3))
    params[:, 0] = np.searchsorted(windows, fast)
    params[:, 1] = np.searchsorted(windows, slow)
    params[:, 2] = grid["short"].to_numpy(dtype=bool)
    return windows.astype(np.float64), params


def _cross_prepare(spec: Spec, data: pd.DataFrame, grid: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    windows, params = _cross_windows(data, grid)
    close = np.ascontiguousarray(data["close"].to_numpy(dtype=np.float64))
    values = compute_rows(spec, close, windows.astype(np.int64).tolist())  # (W, T): a row per window
    return values, params


def _slow_warmups(factor: int, grid: pd.DataFrame) -> np.ndarray:
    return factor * grid["slow"].to_numpy(dtype=np.int64)


#: ``SmaCross.sweep_fast_path``: SMA columns once per window, the fused cross kernel, warmup = slow.
SMA_CROSS_FAST_PATH = FastPath(partial(_cross_prepare, SMA_SPEC), SK.cross_exposure_nb,
                               partial(SK.cross_sweep, SK.MA_SMA), _cross_windows,
                               partial(_slow_warmups, 1))
#: ``EmaCross.sweep_fast_path``: as :data:`SMA_CROSS_FAST_PATH` with EMAs, warmup = 5 slow.
EMA_CROSS_FAST_PATH = FastPath(partial(_cross_prepare, EMA_SPEC), SK.cross_exposure_nb,
                               partial(SK.cross_sweep, SK.MA_EMA), _cross_windows,
                               partial(_slow_warmups, 5))


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
        ``options`` (the keyword options given, with ``start`` and ``end``), ``settings``
        (the :class:`~quantlab.backtest.config.BacktestConfig` simulated),
        ``periods_per_year``, the ``path`` taken (``"fused"``, ``"fast"`` or ``"generic"``),
        ``chunk_size``, ``n_jobs``, ``elapsed_s`` (the whole call) and ``kernel_s`` (in the
        numba kernels: moving averages, exposures, simulation; ``elapsed_s - kernel_s`` is
        the Python around them).
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
        return {k: py_value(self.table.at[i, k]) for k in self.table.columns}

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of the best combination."""
        return {k: v for k, v in self.best.items() if k in self.param_names}

    def params(self, i: int) -> dict[str, Any]:
        """Parameters of row ``i``."""
        return {k: py_value(self.table.at[i, k]) for k in self.param_names}

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
        opts = self.config["options"]
        return backtest(self.data, self.strategy(i), self.config["settings"],
                        start=opts.get("start"), end=opts.get("end"))

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
        Signed metrics (Sharpe, returns...) use a diverging scale centred at 0, so a
        positive value is never red (see :func:`quantlab.plotting.figures.heatmap_figure`).

        Raises
        ------
        InvalidParameterError
            ``x`` or ``y`` is not a swept parameter, ``x == y``, or ``value`` is unknown.
        """
        from quantlab.plotting.figures import heatmap_figure

        value = self.metric if value is None else value
        for name, v in (("x", x), ("y", y)):
            check_choice(name, v, self.param_names, caller="heatmap")
        if x == y:
            others = [p for p in self.param_names if p != x]
            raise InvalidParameterError(message(
                "y", "heatmap", f"a parameter other than x={x!r}", y,
                f"Try heatmap({x!r}, {others[0]!r})." if others else
                "Only one parameter was swept: read res.table sorted by it."))
        check_choice("value", value, STATS, caller="heatmap")
        name = self.strategy_cls.__name__
        title = (f"{name}: {value} ({agg} over other parameters)" if len(self.param_names) > 2
                 else f"{name}: {value}")
        return heatmap_figure(self.table, x, y, value, agg=agg, title=title)

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


# ---- sweep --------------------------------------------------------------------------

def sweep(strategy_cls: type, data: pd.DataFrame, grid: Mapping[str, Any], *,
          constraint: str | Callable[[Any], Any] | None = None, metric: str = "sharpe",
          n_jobs: int = -1, chunk_size: int | None = None, use_fast_path: bool = True,
          progress: bool = True, config: BacktestConfig | None = None,
          fill: str = UNSET, init_cash: float = UNSET, fee_bps: float = UNSET,
          fee_fixed: float = UNSET, slippage_bps: float = UNSET, slippage_atr: float = UNSET,
          atr_window: int = UNSET, size: Any = UNSET, rebalance_threshold: float | None = UNSET,
          leverage: float = UNSET, maintenance_margin: float | None = UNSET,
          sl_stop: float | None = UNSET, tp_stop: float | None = UNSET,
          tsl_stop: float | None = UNSET, lot_size: Any = UNSET, min_notional: Any = UNSET,
          funding_bps: Any = UNSET, borrow_bps: Any = UNSET,
          max_position: float | None = UNSET, max_gross_leverage: float | None = UNSET,
          max_daily_loss: float | None = UNSET, max_drawdown: float | None = UNSET,
          max_orders_per_day: int | None = UNSET, on_breach: str = UNSET,
          warmup: int | None = UNSET, periods_per_year: float | None = UNSET,
          drift_threshold: float | None = UNSET, start: Any = None, end: Any = None,
          **unknown: Any) -> SweepResult:
    """Backtest every combination of a parameter grid; one row of statistics per combination.

    Parameters
    ----------
    strategy_cls : type
        A :class:`~quantlab.strategy.Strategy` subclass (typed parameters).
    data : DataFrame
        OHLCV bars as for :func:`quantlab.backtest` (one asset, or (field, symbol) columns).
    grid : mapping
        ``{parameter: list of values}`` (a scalar is a one-value list). Parameters not in
        the grid keep their defaults. Rows come in product order, the first parameter
        varying slowest.
    constraint : str or callable, optional
        Which combinations to keep, evaluated once on the DataFrame of combinations that
        pass the strategy's own check (one row each, one column per parameter):

        * a string is a ``DataFrame.eval`` expression over the parameter names, e.g.
          ``"fast < slow"`` or ``"slow - fast >= 10 and not short"``, with the same meaning
          (``&``/``|`` read as ``and``/``or``). It may use parameter names, numbers,
          strings, comparisons (chained too), ``+ - * / // % **``, ``and``/``or``/``not``,
          ``&``/``|``/``~``, ``in`` a list and pandas' math functions (``abs``, ``sqrt``,
          ``log``, ...); anything else (attribute access, subscripts, other calls) is
          refused before it runs;
        * a callable gets that DataFrame and returns a boolean mask (Series or ndarray, one
          value per row). A callable written for one combination's dict, such as
          ``lambda p: p["fast"] < p["slow"]``, works unchanged when it only reads columns,
          does arithmetic and compares; if it raises on the DataFrame or returns anything
          but a boolean mask of the right length (``and``/``or``/``not`` or ``in`` on a
          column raise, a scalar is refused), it is called again once per row with a
          ``{parameter: value}`` dict, and its truth value decides. So a callable may be
          called once more than the number of rows: keep it free of side effects.
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
    config : BacktestConfig, optional
        All settings at once; the keyword options below override its fields.
    fill, init_cash, fee_bps, fee_fixed, slippage_bps, slippage_atr, atr_window, size, \
rebalance_threshold, leverage, maintenance_margin, sl_stop, tp_stop, tsl_stop, lot_size, \
min_notional, funding_bps, borrow_bps, max_position, max_gross_leverage, max_daily_loss, \
max_drawdown, max_orders_per_day, on_breach, warmup, periods_per_year, drift_threshold
        The options of :func:`quantlab.backtest`, with the same meaning and defaults
        (each defaults to ``config``'s value). ``warmup`` given here applies to every
        combination; by default each combination uses its strategy's ``warmup``. The
        signal-only options (``entries``, ``exits``, ``short_entries``, ``short_exits``,
        ``direction``) do not apply: a sweep simulates target exposures.
    start, end : date, optional
        Evaluation window, as in :func:`quantlab.backtest`: indicators see all the data;
        trading and statistics are restricted to ``[start, end]``.
    **unknown
        Refused with a did-you-mean.

    Returns
    -------
    SweepResult
        ``table`` (parameters + :data:`STATS`), ``best``, ``heatmap()``,
        ``deflated_sharpe()``, ``strategy(i)``, ``best_strategy``.

    Raises
    ------
    InvalidParameterError
        Unknown option or grid parameter (did-you-mean), an option out of range, a grid
        value outside the parameter's declared bounds, an unknown ``metric``, a
        ``constraint`` string that is not a boolean expression of the parameters, an empty
        evaluation window, a grid leaving no combination. The messages name ``sweep()``.
    DataError
        Malformed data, or a ``signal()`` output that does not align with it.

    Notes
    -----
    Each row equals ``backtest(data, strategy_cls(**params), config, start=start, end=end,
    **options).stats()`` for ``total_return, cagr, annual_return, annual_volatility,
    sharpe, sortino, calmar, max_drawdown, exposure, n_trades`` (closed trades) ``,
    win_rate`` (closed trades), plus ``n_open_trades`` (0/1), ``n_orders``, ``total_fees``
    and ``end_value`` (``trade_stats()``) - the same decision step runs underneath; the
    statistics built on sums of bar returns may differ in the last bits (the kernels sum in
    bar order, :mod:`quantlab.metrics` with numpy's pairwise sums). On the fused path
    (built-in crosses with simple options, ``config["path"] == "fused"``) every column
    equals the generic path's (``use_fast_path=False``) bit for bit: the fused kernel folds
    the same equity into the same statistics with the same operations in the same order.
    The test suite checks it on every option the fused path accepts, and on random option
    sets (hypothesis). Statistics follow
    :mod:`quantlab.metrics` (Sharpe with ddof=1 and ``periods_per_year`` from the options
    or inferred from the index).

    Examples
    --------
    >>> import quantlab as ql  # doctest: +SKIP
    >>> from quantlab.strategies import SmaCross  # doctest: +SKIP
    >>> res = ql.sweep(SmaCross, df, {"fast": range(5, 55), "slow": range(5, 55)},
    ...                constraint="slow - fast >= 5", fill="close", fee_bps=10)  # doctest: +SKIP
    >>> res.best_params, res.heatmap("fast", "slow")  # doctest: +SKIP
    """
    started = time.perf_counter()
    options = {k: v for k, v in locals().items() if k in _SWEEP_OPTIONS and v is not UNSET}
    if unknown:
        for key in unknown:
            if key in _SIGNAL_OPTIONS:
                raise InvalidParameterError(message(key, _CALLER, "omitted (sweep simulates "
                                                    "the strategy's target exposures)",
                                                    unknown[key]))
        check_options(unknown, _SWEEP_OPTIONS + _SWEEP_ARGUMENTS, caller=_CALLER)
    if config is not None and not isinstance(config, BacktestConfig):
        raise InvalidParameterError(message("config", _CALLER, "a BacktestConfig or None",
                                            type(config).__name__,
                                            "Pass options as keywords, e.g. fee_bps=10."))
    settings = (config or _DEFAULT_CONFIG).replace(caller=_CALLER, **options)
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
    if constraint is not None and not (isinstance(constraint, str) or callable(constraint)):
        raise InvalidParameterError(message("constraint", _CALLER, "an expression string "
                                            "such as 'fast < slow', or a callable returning "
                                            "a boolean mask", constraint))

    frame, symbols, prices = _prepare_data(data)
    simulation = prepare_simulation(settings, frame, symbols, prices, start=start, end=end,
                                    caller=_CALLER)
    sim = _sim_options(settings, simulation)
    cols, instances, skipped = expand(strategy_cls, grid, constraint)
    combos = columns_frame(cols)
    n_combos = len(combos)
    n_bars, n_assets = prices["close"].shape
    user_chunk = chunk_size is not None
    if chunk_size is None:
        chunk_size = int(min(256, max(16, (64 << 20) // (8 * n_bars * n_assets))))
    else:
        chunk_size = check_int("chunk_size", chunk_size, caller=_CALLER, minimum=1)

    fast = fast_path_for(strategy_cls) if use_fast_path and n_assets == 1 else None
    fused = fast is not None and fast.fused_nb is not None and sim["simple"]
    path = "fused" if fused else ("fast" if fast is not None else "generic")
    warmups: np.ndarray | None = None
    if settings.warmup is not None:
        warmups = np.full(n_combos, check_int("warmup", settings.warmup, caller=_CALLER,
                                              minimum=0), dtype=np.int64)
    elif fast is not None and fast.warmups is not None:
        warmups = np.ascontiguousarray(fast.warmups(combos), dtype=np.int64)
    if fused and not user_chunk:
        # O(K) memory whatever the chunk: chunks only pace the progress bar (~1e9 bar-combos,
        # a few seconds each: 1225 combinations of 100k bars in one call); each call pays a
        # parallel launch per time block and recomputes the moving averages (W x T each)
        chunk_size = max(chunk_size, int(1e9 // max(n_bars, 1)))

    def strategies(lo: int, hi: int) -> list[Any]:
        """The strategy objects of rows lo..hi-1, built for their chunk only."""
        if instances is not None:
            return instances[lo:hi]
        rows = records({name: col[lo:hi] for name, col in cols.items()})
        return [strategy_cls._from_valid(row) for row in rows]  # type: ignore[attr-defined]

    threads = _threads(n_jobs)
    raw = np.empty((n_combos, len(SK.RAW_STATS)))
    bar = _progress(n_combos, progress, strategy_cls.__name__)
    kernel_s = 0.0
    try:
        with _numba_threads(threads):
            if fast is not None:
                tick = time.perf_counter()
                prep = fast.fused_prepare if fused and fast.fused_prepare else fast.prepare
                inputs, params = prep(frame, combos)
                kernel_s += time.perf_counter() - tick
            open_, close = prices["open"][:, 0], prices["close"][:, 0]  # contiguous views
            for lo in range(0, n_combos, chunk_size):
                hi = min(lo + chunk_size, n_combos)
                chunk = strategies(lo, hi) if fast is None or warmups is None else None
                if warmups is not None:
                    warm = warmups[lo:hi]
                else:
                    warm = np.array([check_int("warmup", s.warmup, caller=_CALLER, minimum=0)
                                     for s in chunk or ()], dtype=np.int64)
                tick = time.perf_counter()
                if fused:
                    raw[lo:hi] = fast.fused_nb(  # type: ignore[union-attr, misc]
                        inputs, np.ascontiguousarray(params[lo:hi]), warm,
                        open_, close, sim["fill_next_open"], sim["init_cash"], sim["fee_rate"],
                        sim["fee_fixed"], float(sim["slippage"][0, 0]), sim["size"],
                        simulation.t0, simulation.t1)
                    kernel_s += time.perf_counter() - tick
                else:
                    if fast is not None:
                        expo = np.empty((hi - lo, n_bars))
                        fast.exposure_nb(inputs, np.ascontiguousarray(params[lo:hi]), expo)
                        targets = expo.reshape(hi - lo, n_bars, 1)
                        kernel_s += time.perf_counter() - tick
                    else:
                        targets = _signals(chunk or [], frame, symbols, threads)
                    targets = _size(targets, sim["sizer"], frame, symbols, data)
                    tick = time.perf_counter()
                    raw[lo:hi] = _generic(simulation, targets, warm)
                    kernel_s += time.perf_counter() - tick
                    del targets
                del chunk
                if bar is not None:
                    bar.update(hi - lo)
    finally:
        if bar is not None:
            bar.close()

    ppy = simulation.periods_per_year
    floats, counts = _stat_buffers(n_combos)
    _finish(raw, float(ppy), floats, counts)
    table = columns_frame({**cols, **_stat_columns(floats, counts)})
    info = {"options": {**options, "start": start, "end": end}, "settings": settings,
            "periods_per_year": float(ppy), "path": path, "chunk_size": chunk_size,
            "n_jobs": threads, "elapsed_s": time.perf_counter() - started,
            "kernel_s": kernel_s}
    return SweepResult(table=table, strategy_cls=strategy_cls, metric=metric,
                       n_skipped=skipped, config=info, data=data,
                       param_names=tuple(cols))


#: sweep()'s own keyword arguments (for the did-you-mean of a misspelt one).
_SWEEP_ARGUMENTS = ("constraint", "metric", "n_jobs", "chunk_size", "use_fast_path", "progress",
                    "config", "start", "end")


def _stat_buffers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty ``(floats, counts)`` for :func:`_finish`: (len(_FINISHED), n) float64 and
    (len(_COUNTS), n) int64."""
    return np.empty((len(_FINISHED), n)), np.empty((len(_COUNTS), n), dtype=np.int64)


def _stat_columns(floats: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`STATS` columns: rows (views) of :func:`_stat_buffers`' arrays."""
    rows = {**dict(zip(_FINISHED, floats, strict=True)), **dict(zip(_COUNTS, counts, strict=True))}
    return {name: rows[name] for name in STATS}


def _finish(raw: np.ndarray, ppy: float, floats: np.ndarray, counts: np.ndarray) -> None:
    """RAW_STATS (K, len(RAW_STATS)) -> STATS with the formulas of quantlab.metrics, written
    into :func:`_stat_buffers`' arrays: ``SK.stats_table_nb``, then CAGR's growth factor
    ``|1 + total_return| ** (ppy / max(n, 1))`` in numpy (numpy's ``power`` may round
    differently from the compiled one), then ``SK.cagr_calmar_nb``."""
    SK.stats_table_nb(raw, _FINISH_ROWS, ppy, math.sqrt(ppy), floats, counts)
    growth = np.power(floats[_FINISHED.index("base")], floats[_FINISHED.index("exponent")])
    SK.cagr_calmar_nb(growth, floats)


#: The rows of ``SK.stats_table_nb``'s float output (the last three are intermediate).
_FINISHED = ("cagr", "annual_return", "annual_volatility", "sharpe", "sortino", "calmar",
             "exposure", "win_rate", "total_return", "max_drawdown", "total_fees",
             "end_value", "base", "exponent", "n_returns")
#: The rows of ``SK.stats_table_nb``'s int64 output.
_COUNTS = ("n_trades", "n_open_trades", "n_orders")
#: The columns of RAW_STATS ``SK.stats_table_nb`` reads (an argument: a kernel cached on
#: disk must not bake in another module's constants).
_FINISH_ROWS = np.array([SK.RAW_STATS.index(name) for name in (
    "n_returns", "mean_return", "var_return", "downside_sq", "total_return", "max_drawdown",
    "n_closed", "n_wins", "bars_in_market", "total_fees", "end_value", "n_open",
    "n_orders")], dtype=np.int64)


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
    sin = sim.sizer_inputs(targets[0])  # (IN_N, 1, 1) when the sizer reads no input
    if sin.shape[1] > 1 and targets.shape[0] > 1:
        # sizer inputs that depend on the targets (Kelly's edge) differ per combination
        sins = [sim.sizer_inputs(targets[i]) for i in range(targets.shape[0])]
    else:
        sins = [sin]

    rows = sim.in_window
    p = sim.prices
    out = np.empty((targets.shape[0], len(SK.RAW_STATS)))
    tg = rows(targets, 1)
    w = np.maximum(warmups - sim.t0, 0).astype(np.int64)
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
        out[i] = _align_target(as_exposure(strategies[i].signal(frame)), frame, symbols)

    if threads <= 1 or len(strategies) == 1:
        for i in range(len(strategies)):
            one(i)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, range(len(strategies))))
    return out


def _size(targets: np.ndarray, sizer: Any, frame: pd.DataFrame, symbols: list[str],
          data: pd.DataFrame) -> np.ndarray:
    """Apply the sizer as backtest() does: a pandas callable per combination, before the
    step; the built-in sizers (``FixedFraction``, ``VolTarget``, ...) run inside the step, on
    the raw targets."""
    if isinstance(sizer, _Kernel) or not callable(sizer):
        return np.ascontiguousarray(targets)
    out = np.empty_like(targets)
    for i in range(targets.shape[0]):
        df = pd.DataFrame(targets[i], index=frame.index, columns=symbols)
        out[i] = apply_sizer(sizer, df, data, caller=_CALLER)
    return out


def _threads(n_jobs: int) -> int:
    import numba

    if n_jobs == -1:
        return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    return int(min(n_jobs, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


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


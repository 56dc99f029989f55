"""What the report notebooks share: parameter validation, data loading, benchmarks, grid tools.

The notebooks in ``notebooks/`` hold narrative and calls; everything they compute that a
test should check, or that two notebooks use, lives here.

* :func:`smoke_mode` - the notebook's ``smoke`` parameter, or ``QUANTLAB_SMOKE=1`` (how CI
  runs the notebooks with nbval, which cannot pass parameters).
* :func:`make_strategy`, :func:`make_sizer` - literal parameters (a name and a dict) to
  objects, with the house errors and a did-you-mean (the name tables live beside the
  classes: :mod:`quantlab.strategy.registry`, :mod:`quantlab.backtest.sizer_names`).
* :func:`backtest_setup`, :func:`sweep_setup` - the validation cells of
  ``backtest_report.ipynb`` and ``sweep_report.ipynb``: every parameter checked at once,
  returned as a frozen config object that also runs the work.
* :func:`load_bars` - a bundled dataset, a :class:`~quantlab.data.Store` symbol or a CSV
  file, through :func:`quantlab.data.open_data`.
* :func:`report_command` - the command that reproduces a report run (shown in its header).
* :func:`benchmark_equity`, :func:`compare_stats`, :func:`stats_table`, :func:`key_figures`
  - the statistics a backtest report shows (once, formatted) and records.
* :func:`shrink_grid`, :func:`swept_pairs`, :func:`neighbours`, :func:`neighbour_stability`,
  :func:`top_combinations`, :func:`curves_figure` - reading a parameter sweep.
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_choice, check_float, check_int, did_you_mean, message
from quantlab.backtest.sizer_names import sizer_from_name
from quantlab.backtest.sweep import LOWER_IS_BETTER  # one definition: SweepResult.best agrees
from quantlab.errors import DataError, DataQualityWarning, InvalidParameterError
from quantlab.strategy.registry import strategy_class, strategy_from_name

__all__ = [
    "SMOKE_ENV",
    "SMOKE_BARS",
    "LOWER_IS_BETTER",
    "KEY_FIGURES",
    "smoke_mode",
    "make_strategy",
    "make_sizer",
    "load_bars",
    "report_command",
    "BacktestSetup",
    "backtest_setup",
    "SweepSetup",
    "sweep_setup",
    "benchmark_equity",
    "compare_stats",
    "stats_table",
    "BENCHMARK_RELATIVE",
    "key_figures",
    "record_figures",
    "shrink_grid",
    "swept_pairs",
    "neighbours",
    "neighbour_stability",
    "top_combinations",
    "curves_figure",
    "command_html",
]

#: Environment variable that turns smoke mode on in every notebook (``QUANTLAB_SMOKE=1``).
SMOKE_ENV = "QUANTLAB_SMOKE"
#: Bars kept in smoke mode (the last ones of the requested period).
SMOKE_BARS = 500
#: Values kept per grid axis in smoke mode.
SMOKE_GRID_VALUES = 3

#: Statistics :func:`key_figures` takes from ``BacktestResult.stats()``.
KEY_FIGURES: tuple[str, ...] = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino",
                                "max_drawdown", "calmar", "exposure", "n_trades", "win_rate",
                                "profit_factor", "total_fees", "end_value", "buy_hold_return")
#: Rows of ``stats()`` measured against a benchmark; :func:`compare_stats` recomputes them
#: against the benchmark shown beside them.
BENCHMARK_RELATIVE: tuple[str, ...] = ("beta", "alpha_annual", "correlation",
                                       "tracking_error_annual", "information_ratio")


# ---------------------------------------------------------------------------- parameters

def smoke_mode(smoke: bool) -> bool:
    """Return True when a notebook should shrink its work: ``smoke`` or ``QUANTLAB_SMOKE=1``.

    Parameters
    ----------
    smoke : bool
        The notebook's ``smoke`` parameter.

    Returns
    -------
    bool
        ``smoke or os.environ.get("QUANTLAB_SMOKE") == "1"``. CI runs the notebooks with
        ``QUANTLAB_SMOKE=1 pytest --nbval-lax notebooks/`` (nbval cannot pass parameters).

    Raises
    ------
    InvalidParameterError
        ``smoke`` is not a bool.

    Examples
    --------
    >>> smoke_mode(True)
    True
    """
    if not isinstance(smoke, bool | np.bool_):
        raise InvalidParameterError(message("smoke", "smoke_mode", "True or False", smoke))
    return bool(smoke) or os.environ.get(SMOKE_ENV) == "1"


def _check_mapping(name: str, value: Any, caller: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidParameterError(message(name, caller, "a dict of parameter name -> value",
                                            value, 'Example: {"fast": 20, "slow": 50}.'))
    return dict(value)


def make_strategy(name: str, params: Mapping[str, Any] | None = None, *,
                  caller: str = "make_strategy") -> Any:
    """Build a built-in strategy from its name and a dict of parameters.

    Parameters
    ----------
    name : str
        A name of :func:`quantlab.strategy.registry.strategy_names` (case-insensitive).
    params : dict, optional
        Parameters of the strategy; missing ones keep their defaults. Object parameters
        are spelled as specs, e.g. ``{"base": "SmaCross(fast=10, slow=30)", "regime":
        "HMMRegime(n_states=2, refit_every=63)"}`` for ``RegimeFiltered``.
    caller : str, default "make_strategy"
        Function (or notebook) named in error messages.

    Returns
    -------
    Strategy
        :func:`quantlab.strategy.registry.strategy_from_name` ``(name, **params)``.

    Raises
    ------
    InvalidParameterError
        Unknown strategy (did-you-mean), ``params`` not a dict, an unknown parameter
        (did-you-mean, raised by the strategy), a value out of its bounds.

    Examples
    --------
    >>> make_strategy("SmaCross", {"fast": 20, "slow": 50})
    SmaCross(fast=20, slow=50, short=False)
    """
    return strategy_from_name(name, caller=caller,
                              **_check_mapping("strategy_params", params, caller))


def make_sizer(name: str, params: Mapping[str, Any] | None = None, *,
               caller: str = "make_sizer") -> Any:
    """Build a position sizer (the ``size`` option of :func:`quantlab.backtest`) by name.

    Parameters
    ----------
    name : str
        A key of :data:`quantlab.backtest.sizer_names.SIZER_NAMES` (``"fixed_fraction"``).
    params : dict, optional
        Keyword arguments of the sizer, e.g. ``{"fraction": 0.5}``.
    caller : str, default "make_sizer"
        Function (or notebook) named in error messages.

    Returns
    -------
    callable
        The sizer, e.g. ``FixedFraction(0.5)``.

    Raises
    ------
    InvalidParameterError
        Unknown sizer or parameter (did-you-mean), or a value the sizer refuses.

    Examples
    --------
    >>> make_sizer("fixed_fraction", {"fraction": 0.5})
    FixedFraction(fraction=0.5)
    """
    return sizer_from_name(name, caller=caller, **_check_mapping("sizer_params", params, caller))


def load_bars(dataset: str | None = None, *, store: str | os.PathLike[str] | None = None,
              symbol: str | None = None, timeframe: str | None = None,
              csv: str | os.PathLike[str] | None = None,
              csv_options: Mapping[str, Any] | None = None, start: str | None = None,
              end: str | None = None, last_bars: int | None = None,
              caller: str = "load_bars") -> pd.DataFrame:
    """Load OHLCV bars from a bundled dataset, a :class:`~quantlab.data.Store` or a CSV file.

    Parameters
    ----------
    dataset : str, optional
        Bundled dataset name (:func:`quantlab.data.load`); used when neither ``symbol``
        nor ``csv`` is given.
    store : path, optional
        Store folder; required with ``symbol``.
    symbol : str, optional
        Stored symbol (``Store(store).read(symbol, timeframe)``); wins over ``dataset``.
    timeframe : str, optional
        Stored timeframe (store only; default ``"1d"``).
    csv : path, optional
        A CSV file of bars; wins over ``dataset``.
    csv_options : dict, optional
        Options of :func:`quantlab.data.import_csv` (``skiprows``, ``date_format``...).
    start, end : str, optional
        Inclusive bounds (UTC dates).
    last_bars : int, optional
        Keep only the last ``last_bars`` bars (smoke mode).
    caller : str, default "load_bars"
        Function (or notebook) named in error messages.

    Returns
    -------
    DataFrame
        Normalized OHLCV, as :func:`quantlab.data.open_data` returns it.

    Raises
    ------
    InvalidParameterError
        No source, a symbol without a store (or a store without a symbol), a store and a
        CSV at once, bad ``last_bars``.
    DataError
        Unknown dataset or symbol (did-you-mean), or no bar in ``[start, end]``.

    Examples
    --------
    >>> len(load_bars("aapl", start="2010-01-01", end="2010-12-31", last_bars=10))
    10
    """
    if symbol is not None and store is None:
        raise InvalidParameterError(message("store", caller, "a Store folder when a store "
                                            "symbol is given", None))
    if store is not None and symbol is None:
        raise InvalidParameterError(message("symbol", caller, "a symbol of the store when a "
                                            "store is given", None))
    if csv is not None and store is not None:
        raise InvalidParameterError(message("csv", caller, "None when a store is given (one "
                                            "source at a time)", str(csv)))
    if symbol is None and csv is None and dataset is None:
        raise InvalidParameterError(message("dataset", caller, "a bundled dataset name (or a "
                                            "store and a symbol, or a csv file)", None))
    if symbol is not None:
        source: dict[str, Any] = {"store": store, "symbol": symbol,
                                  "timeframe": timeframe or "1d"}
        label = f"{symbol} ({timeframe or '1d'}, {store})"
    elif csv is not None:
        source = {"csv": csv, "csv_options": dict(csv_options or {}) or None}
        label = os.path.basename(os.fspath(csv))
    else:
        source = {"dataset": dataset}
        label = str(dataset)
    frame = _open_data(**source, start=start, end=end, caller=caller)
    if last_bars is not None:
        last_bars = check_int("last_bars", last_bars, caller=caller, minimum=2)
        frame = frame.iloc[-last_bars:]
    if len(frame) < 2:
        raise DataError(message("start", caller, f"a period holding at least 2 bars of {label}",
                                f"{start} .. {end} ({len(frame)} bars)"))
    return frame


def _open_data(**kwargs: Any) -> pd.DataFrame:
    from quantlab.data import open_data

    return open_data(**kwargs)


def _yaml(value: Any) -> str:
    """A parameter value as the runner's ``-p`` parses it (YAML; JSON is YAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def report_command(notebook: str, parameters: Mapping[str, Any]) -> str:
    """Return the ``quantlab report`` command that runs ``notebook`` with ``parameters``.

    Parameters
    ----------
    notebook : str
        The notebook's path as the user would type it.
    parameters : dict
        Every parameter of the run (the values in effect, defaults included), so the
        command reproduces the run whatever the notebook's defaults become.

    Returns
    -------
    str
        ``quantlab report NOTEBOOK -p name value ...``, each value in the runner's YAML
        syntax and shell-quoted.

    Examples
    --------
    >>> report_command("notebooks/backtest_report.ipynb",
    ...                {"dataset": "msft", "strategy_params": {"fast": 10}, "benchmark": None})
    'quantlab report notebooks/backtest_report.ipynb -p dataset msft -p strategy_params \'{"fast": 10}\' -p benchmark null'
    """
    words = ["quantlab", "report", str(notebook)]
    for name, value in parameters.items():
        words += ["-p", str(name), _yaml(value)]
    return shlex.join(words)


def command_html(command: str, summary: str) -> str:
    """The header a report notebook's setup shows: this run's own command, then a summary."""
    import html

    return (f'<div class="quantlab-run"><div><b>This run:</b></div><pre class="command" '
            f'style="white-space:pre-wrap;word-break:break-all">$ {html.escape(command)}</pre>'
            f"<div>{html.escape(summary)}</div></div>")


# ---------------------------------------------------------------------------- config objects

_BACKTEST_CALLER = "backtest_report"
_BACKTEST_NOTEBOOK = "notebooks/backtest_report.ipynb"
_SWEEP_NOTEBOOK = "notebooks/sweep_report.ipynb"
_FILLS = ("next_open", "close")


@dataclass(frozen=True)
class BacktestSetup:
    """The validated parameters of a backtest report (see :func:`backtest_setup`).

    Attributes
    ----------
    data : DataFrame
        The bars to simulate.
    label : str
        The data's name (dataset or store symbol).
    strategy : Strategy
        The strategy instance.
    options : dict
        Keyword options of :func:`quantlab.backtest`.
    benchmark : str or None
        Benchmark dataset (None: buy and hold of the traded asset).
    smoke : bool
        Whether the work was shrunk.
    rolling_window : int
        Window of the rolling Sharpe figure, in bars.
    parameters : dict
        The notebook parameters in effect (what :attr:`command` repeats).
    """

    data: pd.DataFrame = field(repr=False)
    label: str
    strategy: Any
    options: dict[str, Any]
    benchmark: str | None
    smoke: bool
    rolling_window: int
    parameters: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def command(self) -> str:
        """The ``quantlab report`` command of this run (:func:`report_command`)."""
        return report_command(_BACKTEST_NOTEBOOK, self.parameters)

    def _repr_html_(self) -> str:
        return command_html(self.command, repr(self))

    def run(self) -> Any:
        """Return ``quantlab.backtest(self.data, self.strategy, **self.options)``."""
        from quantlab.backtest import backtest

        return backtest(self.data, self.strategy, **self.options)

    def __repr__(self) -> str:
        span = f"{self.data.index[0]:%Y-%m-%d} .. {self.data.index[-1]:%Y-%m-%d}"
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return (f"BacktestSetup({self.strategy!r} on {self.label}, {span}, {len(self.data)} "
                f"bars, {opts}, benchmark={self.benchmark or 'buy and hold'}"
                f"{', smoke' if self.smoke else ''})")


def _cost_options(fee_bps: float, slippage_bps: float, fill: str, init_cash: float,
                  caller: str) -> dict[str, Any]:
    """The backtest options every report notebook takes, validated."""
    return {
        "fee_bps": check_float("fee_bps", fee_bps, caller=caller, minimum=0.0),
        "slippage_bps": check_float("slippage_bps", slippage_bps, caller=caller, minimum=0.0),
        "fill": check_choice("fill", fill, _FILLS, caller=caller),
        "init_cash": check_float("init_cash", init_cash, caller=caller, minimum=0.0,
                                 exclusive_minimum=True),
    }


def backtest_setup(*, dataset: str | None = "aapl", store: str | None = None,
                   symbol: str | None = None, timeframe: str | None = "1d",
                   csv: str | None = None,
                   strategy: str = "SmaCross", strategy_params: Mapping[str, Any] | None = None,
                   start: str | None = None, end: str | None = None, fee_bps: float = 0.0,
                   slippage_bps: float = 0.0, fill: str = "next_open",
                   init_cash: float = 100_000.0, sizer: str = "fixed_fraction",
                   sizer_params: Mapping[str, Any] | None = None,
                   benchmark: str | None = None, rolling_window: int = 126,
                   smoke: bool = False) -> BacktestSetup:
    """Validate a backtest report's parameters and load its data (the notebook's 2nd cell).

    Parameters
    ----------
    dataset, store, symbol, timeframe, csv, start, end
        Where the bars come from, see :func:`load_bars` (a store ``symbol`` or a ``csv``
        file wins over ``dataset``).
    strategy, strategy_params
        See :func:`make_strategy`.
    fee_bps, slippage_bps, fill, init_cash
        Options of :func:`quantlab.backtest`.
    sizer, sizer_params
        See :func:`make_sizer`; becomes the ``size`` option.
    benchmark : str, optional
        Bundled dataset to compare with (None: buy and hold of the traded asset).
    rolling_window : int, default 126
        Rolling Sharpe window in bars (capped at half the bars).
    smoke : bool, default False
        Keep only the last :data:`SMOKE_BARS` bars (also on with ``QUANTLAB_SMOKE=1``).

    Returns
    -------
    BacktestSetup
        ``setup.run()`` is ``quantlab.backtest(setup.data, setup.strategy, **setup.options)``;
        ``setup.command`` the ``quantlab report`` command of these parameters.

    Raises
    ------
    InvalidParameterError, DataError
        The first bad parameter, in the house format (did-you-mean where one exists).

    Examples
    --------
    >>> setup = backtest_setup(dataset="aapl", strategy="SmaCross",
    ...                        strategy_params={"fast": 10, "slow": 30}, smoke=True)
    >>> len(setup.data), setup.options["fill"]
    (500, 'next_open')
    """
    caller = _BACKTEST_CALLER
    parameters = {"dataset": dataset, "store": store, "symbol": symbol, "timeframe": timeframe,
                  "csv": csv, "strategy": strategy, "strategy_params": strategy_params,
                  "start": start, "end": end, "fee_bps": fee_bps, "slippage_bps": slippage_bps,
                  "fill": fill, "init_cash": init_cash, "sizer": sizer,
                  "sizer_params": sizer_params, "benchmark": benchmark,
                  "rolling_window": rolling_window, "smoke": smoke}
    smoke = smoke_mode(smoke)
    strat = make_strategy(strategy, strategy_params, caller=caller)
    options = {**_cost_options(fee_bps, slippage_bps, fill, init_cash, caller),
               "size": make_sizer(sizer, sizer_params, caller=caller)}
    if benchmark is not None:
        from quantlab.data import load

        load(benchmark)  # unknown name -> DataError with a did-you-mean, before any work
    window = check_int("rolling_window", rolling_window, caller=caller, minimum=2)
    data = load_bars(dataset, store=store, symbol=symbol, timeframe=timeframe, csv=csv,
                     start=start, end=end, last_bars=SMOKE_BARS if smoke else None,
                     caller=caller)
    window = max(2, min(window, len(data) // 2))
    return BacktestSetup(data=data, label=_label(dataset, symbol, csv), strategy=strat,
                         options=options, benchmark=benchmark, smoke=smoke,
                         rolling_window=window, parameters=_given(parameters))


def _label(dataset: str | None, symbol: str | None, csv: str | None) -> str:
    if symbol is not None:
        return str(symbol)
    if csv is not None:
        return os.path.basename(os.fspath(csv))
    return str(dataset)


def _given(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters for the command: the source actually used, then the rest in order."""
    out = dict(parameters)
    if out.get("symbol") is None:
        for key in ("store", "symbol", "timeframe"):
            out.pop(key, None)
    if out.get("csv") is None:
        out.pop("csv", None)
    if out.get("symbol") is not None or out.get("csv") is not None:
        out["dataset"] = None  # what the user set: a store or a csv, not the default dataset
    return out


@dataclass(frozen=True)
class SweepSetup:
    """The validated parameters of a sweep report (see :func:`sweep_setup`).

    Attributes
    ----------
    strategy_cls : type
        The strategy class swept.
    data : DataFrame
        The bars.
    label : str
        Dataset name.
    grid : dict
        ``{parameter: [values]}`` (shrunk in smoke mode).
    metric : str
        Statistic to rank combinations by.
    options : dict
        Backtest options for every combination.
    top_n : int
        Number of top combinations whose equity curves are drawn.
    radius : int
        Neighbourhood radius (grid steps) of the stability analysis.
    smoke : bool
        Whether the work was shrunk.
    parameters : dict
        The notebook parameters in effect (what :attr:`command` repeats).
    """

    strategy_cls: type
    data: pd.DataFrame = field(repr=False)
    label: str
    grid: dict[str, list[Any]]
    metric: str
    options: dict[str, Any]
    top_n: int
    radius: int
    smoke: bool
    parameters: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def command(self) -> str:
        """The ``quantlab report`` command of this run (:func:`report_command`)."""
        return report_command(_SWEEP_NOTEBOOK, self.parameters)

    def _repr_html_(self) -> str:
        return command_html(self.command, repr(self))

    @property
    def n_combinations(self) -> int:
        """Size of the full grid (before the strategy's own checks skip some)."""
        return int(np.prod([len(v) for v in self.grid.values()]))

    def run(self, **kwargs: Any) -> Any:
        """Return ``sweep(strategy_cls, data, grid, metric=metric, **options, **kwargs)``."""
        from quantlab.backtest.sweep import sweep

        return sweep(self.strategy_cls, self.data, self.grid, metric=self.metric,
                     **{**self.options, **kwargs})

    def __repr__(self) -> str:
        span = f"{self.data.index[0]:%Y-%m-%d} .. {self.data.index[-1]:%Y-%m-%d}"
        return (f"SweepSetup({self.strategy_cls.__name__} on {self.label}, {span}, "
                f"{len(self.data)} bars, grid {self.grid}, {self.n_combinations} combinations, "
                f"metric={self.metric!r}, {self.options}{', smoke' if self.smoke else ''})")


def _check_grid(grid: Any, cls: type, caller: str) -> dict[str, list[Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise InvalidParameterError(message("grid", caller, "a non-empty dict {parameter: "
                                            "[values]}", grid,
                                            'Example: {"fast": [5, 10, 20], "slow": [50, 100]}.'))
    declared: dict[str, Any] = getattr(cls, "_params", {})
    out: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if name not in declared:
            hint = did_you_mean(name, declared) or f"Parameters: {', '.join(declared)}."
            raise InvalidParameterError(message("grid", caller, f"keyed by parameters of "
                                                f"{cls.__name__}", name, hint))
        if not isinstance(values, list | tuple) or not values:
            raise InvalidParameterError(message(f"grid[{name!r}]", caller,
                                                "a non-empty list of values", values))
        out[name] = list(dict.fromkeys(values))
    return out


def sweep_setup(*, strategy: str = "SmaCross", grid: Mapping[str, Any] | None = None,
                dataset: str | None = "aapl", store: str | None = None,
                symbol: str | None = None, timeframe: str | None = "1d",
                csv: str | None = None, start: str | None = None, end: str | None = None,
                metric: str = "sharpe", fee_bps: float = 0.0, slippage_bps: float = 0.0,
                fill: str = "next_open", init_cash: float = 100_000.0, top_n: int = 5,
                radius: int = 1, smoke: bool = False) -> SweepSetup:
    """Validate a sweep report's parameters and load its data (the notebook's 2nd cell).

    Parameters
    ----------
    strategy : str
        See :func:`quantlab.strategy.registry.strategy_class`.
    grid : dict
        ``{parameter: [values]}``; every key must be a parameter of the strategy.
    dataset, store, symbol, timeframe, csv, start, end
        The bars (:func:`load_bars`; a store ``symbol`` or a ``csv`` wins over ``dataset``).
    metric : str, default "sharpe"
        One of :data:`quantlab.backtest.sweep.STATS`.
    fee_bps, slippage_bps, fill, init_cash
        Options of every backtest.
    top_n : int, default 5
        Number of top combinations re-run for their equity curves.
    radius : int, default 1
        Neighbourhood radius in grid steps (:func:`neighbours`).
    smoke : bool, default False
        Keep the last :data:`SMOKE_BARS` bars and at most 3 values per grid axis
        (:func:`shrink_grid`); also on with ``QUANTLAB_SMOKE=1``.

    Returns
    -------
    SweepSetup

    Raises
    ------
    InvalidParameterError, DataError
        The first bad parameter, in the house format.

    Examples
    --------
    >>> s = sweep_setup(grid={"fast": [5, 10, 20, 40], "slow": [50, 100]}, smoke=True)
    >>> s.grid
    {'fast': [5, 20, 40], 'slow': [50, 100]}
    """
    from quantlab.backtest.sweep import STATS

    caller = "sweep_report"
    parameters = {"strategy": strategy, "grid": grid, "dataset": dataset, "store": store,
                  "symbol": symbol, "timeframe": timeframe, "csv": csv, "start": start,
                  "end": end, "metric": metric, "fee_bps": fee_bps,
                  "slippage_bps": slippage_bps, "fill": fill, "init_cash": init_cash,
                  "top_n": top_n, "radius": radius, "smoke": smoke}
    smoke = smoke_mode(smoke)
    cls = strategy_class(strategy, caller=caller)
    checked = _check_grid(grid, cls, caller)
    metric = check_choice("metric", metric, STATS, caller=caller)
    options = _cost_options(fee_bps, slippage_bps, fill, init_cash, caller)
    top_n = check_int("top_n", top_n, caller=caller, minimum=1)
    radius = check_int("radius", radius, caller=caller, minimum=1)
    if smoke:
        checked = shrink_grid(checked, SMOKE_GRID_VALUES)
    data = load_bars(dataset, store=store, symbol=symbol, timeframe=timeframe, csv=csv,
                     start=start, end=end, last_bars=SMOKE_BARS if smoke else None,
                     caller=caller)
    return SweepSetup(strategy_cls=cls, data=data, label=_label(dataset, symbol, csv),
                      grid=checked, metric=metric, options=options, top_n=top_n,
                      radius=radius, smoke=smoke, parameters=_given(parameters))


# ---------------------------------------------------------------------------- backtest report

def benchmark_equity(result: Any, benchmark: str | pd.DataFrame | pd.Series | None = None, *,
                     name: str | None = None, on_partial: str = "warn") -> pd.Series:
    """Return the equity of ``init_cash`` held in a benchmark over the backtest's bars.

    Parameters
    ----------
    result : BacktestResult
        Needs ``equity``, ``benchmark`` and ``config["init_cash"]``.
    benchmark : str, DataFrame, Series or None
        A bundled dataset name, OHLCV bars, or a price Series; None returns
        ``result.benchmark`` (buy and hold of the traded asset).
    name : str, optional
        Name of the returned Series (default: the dataset name, the Series' name,
        "benchmark" or "buy and hold").
    on_partial : {"warn", "raise"}, default "warn"
        What to do when the benchmark starts after the backtest's first bar or ends
        before its last (beyond the tolerance below): "warn" truncates it (NaN outside
        its own period, never held flat) with a :class:`~quantlab.errors.DataQualityWarning`
        naming both periods; "raise" refuses it with a :class:`~quantlab.errors.DataError`.

    Returns
    -------
    Series
        Indexed like ``result.equity``:
        ``init_cash * price_t / price_0`` with ``price_t`` the last benchmark close at or
        before bar t (forward-filled, never a later price) and ``price_0`` the first of them;
        NaN before the benchmark's first bar and after its last bar plus the tolerance.

    Raises
    ------
    DataError
        Unknown dataset, no benchmark price inside the backtest's period, or a partial
        benchmark with ``on_partial="raise"``.

    Notes
    -----
    Tolerance: a benchmark's last close is carried over the bars that follow it for at
    most 4 of its median bar spacings (a weekend or a holiday of daily data), and its
    first bar may come that much after the backtest's first bar. Past that, the benchmark
    does not cover the period: it is truncated, not held flat.

    Examples
    --------
    >>> eq = benchmark_equity(result, "sp500")  # doctest: +SKIP
    """
    caller = "benchmark_equity"
    on_partial = check_choice("on_partial", on_partial, ("warn", "raise"), caller=caller)
    if benchmark is None:
        return result.benchmark.rename(name or "buy and hold")
    label = "benchmark"
    if isinstance(benchmark, str):
        from quantlab.data import load

        label, benchmark = benchmark, load(benchmark)
    if isinstance(benchmark, pd.DataFrame):
        if "close" not in benchmark.columns:
            raise DataError(message("benchmark", caller, "OHLCV bars with a 'close' column",
                                    list(benchmark.columns)))
        price = benchmark["close"]
    elif isinstance(benchmark, pd.Series):
        price, label = benchmark, str(benchmark.name or label)
    else:
        raise DataError(message("benchmark", caller, "a dataset name, OHLCV DataFrame or price "
                                "Series", type(benchmark).__name__))
    index = result.equity.index
    price = price.astype(np.float64).dropna().sort_index()
    if price.empty:
        raise DataError(message("benchmark", caller, "prices at or before the backtest's bars",
                                f"{label} with no price"))
    first, last = price.index[0], price.index[-1]
    spacing = price.index.to_series().diff().median() if len(price) > 1 else pd.Timedelta(0)
    tolerance = 4 * (spacing if pd.notna(spacing) else pd.Timedelta(0))
    aligned = price.reindex(price.index.union(index)).ffill().reindex(index)
    aligned[index > last + tolerance] = np.nan  # not held flat past its end
    valid = aligned.dropna()
    if valid.empty:
        raise DataError(message("benchmark", caller, "prices at or before the backtest's bars",
                                f"{label} covering {first:%Y-%m-%d} .. {last:%Y-%m-%d}",
                                f"The backtest runs {index[0]:%Y-%m-%d} .. {index[-1]:%Y-%m-%d}."))
    late_start = first > index[0] + tolerance
    early_end = last + tolerance < index[-1]
    if late_start or early_end:
        text = (f"The benchmark {label} covers {first:%Y-%m-%d} .. {last:%Y-%m-%d}, which "
                f"{'starts after' if late_start else 'ends before'}"
                f"{' and ends before' if late_start and early_end else ''} the strategy's "
                f"period {index[0]:%Y-%m-%d} .. {index[-1]:%Y-%m-%d}")
        if on_partial == "raise":
            raise DataError(message("benchmark", caller, "a benchmark covering the strategy's "
                                    "period", label, text + "; pick another benchmark or cut "
                                    "the period (start/end)."))
        warnings.warn(f"{text}: it is truncated to {valid.index[0]:%Y-%m-%d} .. "
                      f"{valid.index[-1]:%Y-%m-%d} (NaN outside, not held flat), and its "
                      "statistics, beta and correlation cover only those bars. Pass "
                      "on_partial='raise' to refuse it.", DataQualityWarning, stacklevel=2)
    init_cash = float(result.config["init_cash"])
    return (init_cash * aligned / valid.iloc[0]).rename(name or label)


def _equity_returns(equity: pd.Series, init_cash: float) -> pd.Series:
    """Simple returns of an equity Series (first bar against ``init_cash``); NaN where the
    equity is NaN (a truncated benchmark), the first valid bar against ``init_cash``."""
    prev = equity.shift(1)
    first = equity.first_valid_index()
    if first is not None:
        prev.loc[first] = init_cash
    return equity / prev - 1.0


def compare_stats(result: Any, benchmark: pd.Series | None = None) -> pd.DataFrame:
    """Return the strategy's statistics next to the benchmark's.

    Parameters
    ----------
    result : BacktestResult
    benchmark : Series, optional
        Benchmark equity on the result's bars (:func:`benchmark_equity`); default
        ``result.benchmark`` (buy and hold of the traded asset).

    Returns
    -------
    DataFrame
        Column ``strategy`` = ``result.stats()``, except the benchmark-relative rows
        (:data:`BENCHMARK_RELATIVE`: beta, alpha, correlation, tracking error,
        information ratio), recomputed against ``benchmark`` - the benchmark shown beside
        them - over the bars where it has a price; column ``benchmark`` =
        :func:`quantlab.metrics.summary` of the benchmark's returns (its first valid bar
        against ``init_cash``) with the same ``periods_per_year``, and its own relative rows
        (beta 1, correlation 1); NaN where a row does not apply (trades).
    """
    from quantlab.metrics import summary
    from quantlab.metrics.summary import benchmark_statistics

    stats = result.stats().copy()
    bench = result.benchmark if benchmark is None else benchmark
    init_cash = float(result.config["init_cash"])
    bench_returns = _equity_returns(bench.astype(np.float64), init_cash)
    returns = bench_returns.dropna()
    other = summary(returns, periods_per_year=result.periods_per_year)
    strat = result.returns.reindex(bench_returns.index)
    relative = benchmark_statistics(strat, bench_returns, periods_per_year=result.periods_per_year)
    own = benchmark_statistics(returns, returns, periods_per_year=result.periods_per_year)
    for row in BENCHMARK_RELATIVE:
        if row in stats.index:
            stats[row] = float(relative[row])
    other = pd.concat([other, own[[r for r in BENCHMARK_RELATIVE if r in stats.index]]])
    return pd.DataFrame({"strategy": stats, "benchmark": other.reindex(stats.index)})


def stats_table(result: Any, benchmark: pd.Series | None = None, *,
                rows: Sequence[str] | None = None) -> pd.DataFrame:
    """Return :func:`compare_stats` formatted for display: the report's one statistics table.

    Parameters
    ----------
    result : BacktestResult
    benchmark : Series, optional
        As :func:`compare_stats`; its name heads the benchmark column.
    rows : sequence of str, optional
        Rows to keep, in order (default: all of ``stats()``).

    Returns
    -------
    DataFrame
        String cells from :func:`quantlab.plotting.tearsheet.format_value` (percent for
        fractions, integers without decimals, money with thousands separators, never
        scientific notation, "—" where a row does not apply); columns ``strategy`` and the
        benchmark's name.
    """
    from quantlab.plotting.tearsheet import format_stats

    table = compare_stats(result, benchmark)
    if rows is not None:
        table = table.loc[list(rows)]
    name = "buy and hold" if benchmark is None else str(benchmark.name or "benchmark")
    out = format_stats(table)
    out.columns = ["strategy", f"benchmark: {name}"]
    out.index.name = "statistic"
    return out


def key_figures(result: Any) -> dict[str, float]:
    """Return the headline numbers a report records: :data:`KEY_FIGURES` of ``stats()``.

    Parameters
    ----------
    result : BacktestResult

    Returns
    -------
    dict
        ``{name: float}`` for each name of :data:`KEY_FIGURES` (``n_trades`` and
        ``win_rate`` count closed trades, as ``stats()``; ``buy_hold_return`` is buy and
        hold of the traded asset, not the report's benchmark).
    """
    stats = result.stats()
    return {name: float(stats[name]) for name in KEY_FIGURES if name in stats.index}


def record_figures(figures: Mapping[str, Any], *, prefix: str = "") -> None:
    """Record every item of ``figures`` with :func:`quantlab.report.record` (``prefix + name``).

    Examples
    --------
    >>> record_figures({"sharpe": 1.0})  # no-op outside a notebook
    """
    from quantlab.report.manifest import record

    for name, value in figures.items():
        record(prefix + str(name), value)


# ---------------------------------------------------------------------------- sweep report

def shrink_grid(grid: Mapping[str, Sequence[Any]], max_values: int = 3) -> dict[str, list[Any]]:
    """Keep at most ``max_values`` values per grid axis, evenly spread, ends included.

    Parameters
    ----------
    grid : dict
        ``{parameter: [values]}``.
    max_values : int, default 3
        Values kept per axis (>= 1; 1 keeps the first).

    Returns
    -------
    dict
        Values at positions ``round(linspace(0, n - 1, max_values))`` of each axis, in order.

    Examples
    --------
    >>> shrink_grid({"fast": [5, 10, 15, 20, 25], "short": [False]})
    {'fast': [5, 15, 25], 'short': [False]}
    """
    max_values = check_int("max_values", max_values, caller="shrink_grid", minimum=1)
    out = {}
    for name, values in grid.items():
        values = list(values)
        if len(values) > max_values:
            picks = np.unique(np.rint(np.linspace(0, len(values) - 1, max_values)).astype(int))
            values = [values[i] for i in picks]
        out[name] = values
    return out


def swept_pairs(table: pd.DataFrame, params: Sequence[str]) -> list[tuple[str, str]]:
    """Return the pairs (x, y) of parameters that take at least 2 values in ``table``.

    Examples
    --------
    >>> swept_pairs(pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [0, 0]}), ["a", "b", "c"])
    [('a', 'b')]
    """
    varying = [p for p in params if table[p].nunique(dropna=False) > 1]
    return list(itertools.combinations(varying, 2))


def _positions(table: pd.DataFrame, params: Sequence[str]) -> np.ndarray:
    """(n_rows, n_params) integer position of each row's value on its sorted axis."""
    cols = []
    for p in params:
        axis = sorted(table[p].unique().tolist())
        lookup = {v: i for i, v in enumerate(axis)}
        cols.append(table[p].map(lookup).to_numpy(dtype=np.int64))
    return np.column_stack(cols) if cols else np.zeros((len(table), 0), dtype=np.int64)


def neighbours(table: pd.DataFrame, params: Sequence[str], index: Any, *,
               radius: int = 1) -> pd.DataFrame:
    """Return the rows of a sweep table adjacent to row ``index`` on the parameter grid.

    Parameters
    ----------
    table : DataFrame
        One row per combination (``SweepResult.table``).
    params : sequence of str
        Parameter columns spanning the grid.
    index : label
        Row whose neighbourhood is wanted (e.g. ``SweepResult.best_index``).
    radius : int, default 1
        Grid steps: a row is a neighbour when, on every parameter's sorted list of
        distinct values, its position is within ``radius`` of the row's (a Chebyshev
        ball: 8 neighbours in a full 2-D grid with radius 1). The row itself is excluded;
        combinations absent from ``table`` (skipped) are simply missing.

    Returns
    -------
    DataFrame
        The neighbouring rows, in table order.

    Raises
    ------
    InvalidParameterError
        ``index`` not in the table, an unknown column, bad ``radius``.
    """
    caller = "neighbours"
    radius = check_int("radius", radius, caller=caller, minimum=0)
    params = list(params)
    for p in params:
        check_choice("params", p, [str(c) for c in table.columns], caller=caller)
    if index not in table.index:
        raise InvalidParameterError(message("index", caller, "a row label of the table", index))
    pos = _positions(table, params)
    row = pos[table.index.get_loc(index)]
    close = (np.abs(pos - row) <= radius).all(axis=1)
    close[table.index.get_loc(index)] = False
    return table[close]


def neighbour_stability(table: pd.DataFrame, params: Sequence[str], index: Any, metric: str, *,
                        radius: int = 1) -> dict[str, float]:
    """Summarize how ``metric`` holds up around row ``index`` (is the best a lone peak?).

    Parameters
    ----------
    table, params, index, radius
        As :func:`neighbours`.
    metric : str
        Column to summarize.

    Returns
    -------
    dict
        ``value`` (the row's metric), ``n_neighbours``, and over the neighbours' metric
        (NaN skipped): ``mean``, ``median``, ``min``, ``max``, ``std`` (ddof=1),
        ``share_positive`` (fraction > 0) and ``mean_to_value`` (``mean / value``; NaN when
        ``value`` is 0 or NaN). A robust optimum has ``mean_to_value`` near 1; a lone
        spike far below 1.
    """
    check_choice("metric", metric, [str(c) for c in table.columns], caller="neighbour_stability")
    near = neighbours(table, params, index, radius=radius)[metric].astype(np.float64).dropna()
    value = float(table.at[index, metric])
    n = len(near)
    mean = float(near.mean()) if n else float("nan")
    return {
        "value": value,
        "n_neighbours": float(n),
        "mean": mean,
        "median": float(near.median()) if n else float("nan"),
        "min": float(near.min()) if n else float("nan"),
        "max": float(near.max()) if n else float("nan"),
        "std": float(near.std(ddof=1)) if n > 1 else float("nan"),
        "share_positive": float((near > 0).mean()) if n else float("nan"),
        "mean_to_value": mean / value if np.isfinite(value) and value != 0 else float("nan"),
    }


def top_combinations(table: pd.DataFrame, metric: str, n: int = 5, *,
                     ascending: bool | None = None) -> pd.DataFrame:
    """Return the ``n`` best rows by ``metric`` (NaN last; ties keep table order).

    ``ascending`` defaults to True only for the metrics of :data:`LOWER_IS_BETTER`
    (``annual_volatility``), as :attr:`SweepResult.best <quantlab.backtest.sweep.SweepResult>`.

    Examples
    --------
    >>> top_combinations(pd.DataFrame({"sharpe": [0.1, 0.9, float("nan"), 0.5]}), "sharpe", 2)
       sharpe
    1     0.9
    3     0.5
    """
    check_choice("metric", metric, [str(c) for c in table.columns], caller="top_combinations")
    n = check_int("n", n, caller="top_combinations", minimum=1)
    if ascending is None:
        ascending = metric in LOWER_IS_BETTER
    return table.sort_values(metric, ascending=ascending, na_position="last",
                             kind="stable").head(n)


def curves_figure(curves: Mapping[str, pd.Series], *, title: str = "Equity",
                  normalize: bool = False, y_title: str | None = None) -> Any:
    """Draw several equity curves on one chart (one line each, legend = the keys).

    Parameters
    ----------
    curves : dict of str -> Series
        Label -> equity Series (DatetimeIndex).
    title : str, default "Equity"
    normalize : bool, default False
        Divide each curve by its first value (growth of 1).
    y_title : str, optional
        The y axis title with its unit (default "growth of 1" when normalized, else
        "equity (USD)"; e.g. "price (USD)" for prices).

    Returns
    -------
    plotly.graph_objects.Figure
        Trace ``i`` has ``name`` = ``i``-th key and ``y`` = its Series (normalized when asked).
    """
    import plotly.graph_objects as go

    if not isinstance(curves, Mapping) or not curves:
        raise InvalidParameterError(message("curves", "curves_figure",
                                            "a non-empty dict of label -> Series", curves))
    fig = go.Figure()
    for label, series in curves.items():
        if not isinstance(series, pd.Series):
            raise DataError(message(f"curves[{label!r}]", "curves_figure", "a pandas Series",
                                    type(series).__name__))
        y = series.astype(np.float64)
        if normalize:
            y = y / y.dropna().iloc[0]
        fig.add_trace(go.Scatter(x=y.index, y=y, name=str(label), mode="lines",
                                 line=dict(width=1.5)))
    if y_title is None:
        y_title = "growth of 1" if normalize else "equity (USD)"
    fig.update_layout(title=title, yaxis_title=y_title,
                      template="plotly_white", hovermode="x unified")
    return fig

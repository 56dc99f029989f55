"""The walk-forward report's parameters, validated before any work (its 2nd cell).

``notebooks/walkforward_report.ipynb`` calls :func:`walkforward_setup` on its parameters; a
bad value fails at once, in the house format, before any fold runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from quantlab._validate import check_choice, check_int, message
from quantlab.errors import InvalidParameterError
from quantlab.report.notebook_helpers import (
    SMOKE_BARS,
    SMOKE_GRID_VALUES,
    _check_grid,
    _cost_options,
    _given,
    _label,
    command_html,
    load_bars,
    report_command,
    shrink_grid,
    smoke_mode,
)
from quantlab.strategy.registry import strategy_class

__all__ = ["WalkForwardSetup", "walkforward_setup", "SPLITTERS"]

_CALLER = "walkforward_report"
_NOTEBOOK = "notebooks/walkforward_report.ipynb"
#: The splitters the report can use, by parameter value.
SPLITTERS = ("rolling", "anchored")
#: Folds of a smoke run (train and test shrink so that they fit in SMOKE_BARS bars).
SMOKE_FOLDS = 3


@dataclass(frozen=True)
class WalkForwardSetup:
    """The validated parameters of a walk-forward report (see :func:`walkforward_setup`).

    Attributes
    ----------
    strategy_cls : type
    data : DataFrame
    label : str
    space : dict
        The grid (``search="grid"``) or the ranges (``search="optuna"``).
    splitter : RollingSplit or AnchoredSplit
    search : str
    n_trials : int or None
    metric : str
    options : dict
        Backtest options of every fold (fees, slippage, fill, initial cash).
    n_samples : int
        Monte Carlo resamples.
    n_blocks : int
        CSCV blocks of the PBO.
    seed : int
    smoke : bool
    parameters : dict
        Every parameter given (for :attr:`command`).
    """

    strategy_cls: type
    data: pd.DataFrame
    label: str
    space: dict[str, Any]
    splitter: Any
    search: str
    n_trials: int | None
    metric: str
    options: dict[str, Any]
    n_samples: int
    n_blocks: int
    seed: int
    smoke: bool
    parameters: dict[str, Any]

    @property
    def command(self) -> str:
        """The ``quantlab report`` command that reproduces this run."""
        return report_command(_NOTEBOOK, self.parameters)

    @property
    def walk_forward_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`quantlab.optimize.walkforward.walk_forward`."""
        extra = ({"n_trials": self.n_trials, "seed": self.seed, "storage": "memory"}
                 if self.search == "optuna" else {})
        return {"splitter": self.splitter, "metric": self.metric, "search": self.search,
                "progress": False, **extra, **self.options}

    def _repr_html_(self) -> str:
        summary = (f"{self.label}: {len(self.data)} bars, {self.strategy_cls.__name__} "
                   f"{self.search} search of {self.space} on {self.metric}, {self.splitter!r}"
                   + (" (smoke)" if self.smoke else ""))
        return command_html(self.command, summary)


def walkforward_setup(*, dataset: str | None = "aapl", store: str | None = None,
                      symbol: str | None = None, timeframe: str | None = "1d",
                      csv: str | None = None, start: str | None = None, end: str | None = None,
                      strategy: str = "SmaCross", space: Mapping[str, Any] | None = None,
                      splitter: str = "rolling", train: int = 750, test: int = 250,
                      step: int | None = None, search: str = "grid",
                      n_trials: int | None = None, metric: str = "sharpe",
                      fee_bps: float = 10.0, slippage_bps: float = 0.0,
                      fill: str = "next_open", init_cash: float = 100_000.0,
                      n_samples: int = 1000, n_blocks: int = 8, seed: int = 7,
                      smoke: bool = False) -> WalkForwardSetup:
    """Validate a walk-forward report's parameters and load its data.

    Parameters
    ----------
    dataset, store, symbol, timeframe, csv, start, end
        Where the bars come from (:func:`quantlab.report.notebook_helpers.load_bars`).
    strategy : str, default "SmaCross"
        A built-in strategy (:func:`quantlab.strategy.registry.strategy_class`).
    space : dict, optional
        ``search="grid"``: ``{parameter: [values]}`` (default: fast 5..40, slow 20..200 for the
        crosses). ``search="optuna"``: ``{parameter: [low, high]}`` ranges.
    splitter : {"rolling", "anchored"}, default "rolling"
        :class:`~quantlab.optimize.splitters.RollingSplit` or
        :class:`~quantlab.optimize.splitters.AnchoredSplit`.
    train, test, step : int
        Bars per train window (the first one, anchored), per test window, and between
        folds (default ``test``).
    search : {"grid", "optuna"}, default "grid"
    n_trials : int, optional
        Optuna trials per fold (required with ``search="optuna"``).
    metric : str, default "sharpe"
        A column of :data:`quantlab.backtest.sweep.STATS`.
    fee_bps, slippage_bps, fill, init_cash
        Options of every backtest.
    n_samples : int, default 1000
        Monte Carlo resamples (200 in smoke mode).
    n_blocks : int, default 8
        CSCV blocks of the PBO (even).
    seed : int, default 7
        Seed of the Monte Carlo (and of Optuna's sampler).
    smoke : bool, default False
        Keep the last :data:`~quantlab.report.notebook_helpers.SMOKE_BARS` bars, at most 3
        values per grid axis, 3 folds sized to fit, 200 resamples, 4 blocks; also on with
        ``QUANTLAB_SMOKE=1``.

    Returns
    -------
    WalkForwardSetup

    Raises
    ------
    InvalidParameterError, DataError
        The first bad parameter, in the house format.

    Examples
    --------
    >>> s = walkforward_setup(smoke=True)
    >>> len(s.data), s.splitter, s.space
    (500, RollingSplit(train=200, test=100, step=100), {'fast': [5, 20, 40], 'slow': [50, 150, 200]})
    """
    from quantlab.backtest.sweep import STATS
    from quantlab.optimize.splitters import AnchoredSplit, RollingSplit

    caller = _CALLER
    parameters = {"dataset": dataset, "store": store, "symbol": symbol, "timeframe": timeframe,
                  "csv": csv, "start": start, "end": end, "strategy": strategy,
                  "space": dict(space) if isinstance(space, Mapping) else space,
                  "splitter": splitter, "train": train, "test": test, "step": step,
                  "search": search, "n_trials": n_trials, "metric": metric,
                  "fee_bps": fee_bps, "slippage_bps": slippage_bps, "fill": fill,
                  "init_cash": init_cash, "n_samples": n_samples, "n_blocks": n_blocks,
                  "seed": seed, "smoke": smoke}
    smoke = smoke_mode(smoke)
    cls = strategy_class(strategy, caller=caller)
    search = check_choice("search", search, ("grid", "optuna"), caller=caller)
    if space is None:
        if "fast" not in getattr(cls, "_params", {}):
            raise InvalidParameterError(message("space", caller, f"given for {cls.__name__} "
                                                "(the default space is the crosses' fast/slow)",
                                                space))
        space = ({"fast": [5, 10, 20, 40], "slow": [50, 100, 150, 200]} if search == "grid"
                 else {"fast": [5, 40], "slow": [50, 200]})
    checked = _check_grid(space, cls, caller)
    if search == "optuna" and any(len(v) != 2 for v in checked.values()):
        raise InvalidParameterError(message("space", caller, "{parameter: [low, high]} ranges "
                                            "with search='optuna'", dict(space)))
    splitter = check_choice("splitter", splitter, SPLITTERS, caller=caller)
    train = check_int("train", train, caller=caller, minimum=20)
    test = check_int("test", test, caller=caller, minimum=10)
    step = None if step is None else check_int("step", step, caller=caller, minimum=1)
    metric = check_choice("metric", metric, STATS, caller=caller)
    if search == "optuna":
        n_trials = check_int("n_trials", 20 if n_trials is None else n_trials, caller=caller,
                             minimum=1)
    elif n_trials is not None:
        raise InvalidParameterError(message("n_trials", caller, "None with search='grid'",
                                            n_trials))
    options = _cost_options(fee_bps, slippage_bps, fill, init_cash, caller)
    n_samples = check_int("n_samples", n_samples, caller=caller, minimum=10)
    n_blocks = check_int("n_blocks", n_blocks, caller=caller, minimum=2)
    if n_blocks % 2:
        raise InvalidParameterError(message("n_blocks", caller, "an even integer >= 2",
                                            n_blocks))
    seed = check_int("seed", seed, caller=caller, minimum=0)
    if smoke:
        if search == "grid":
            checked = shrink_grid(checked, SMOKE_GRID_VALUES)
        else:
            n_trials = min(int(n_trials or 5), 5)
        test = SMOKE_BARS // (SMOKE_FOLDS + 2)
        train, step = 2 * test, None
        n_samples, n_blocks = min(n_samples, 200), 4
    data = load_bars(dataset, store=store, symbol=symbol, timeframe=timeframe, csv=csv,
                     start=start, end=end, last_bars=SMOKE_BARS if smoke else None,
                     caller=caller)
    cut = (RollingSplit if splitter == "rolling" else AnchoredSplit)(train, test, step)
    if cut.get_n_splits(data) == 0:
        raise InvalidParameterError(message("train", caller, f"+ test <= the {len(data)} bars "
                                            "loaded", f"train={train}, test={test}",
                                            "Shorten the windows or load more data."))
    return WalkForwardSetup(strategy_cls=cls, data=data,
                            label=_label(dataset, symbol, csv), space=checked, splitter=cut,
                            search=search, n_trials=n_trials, metric=metric, options=options,
                            n_samples=n_samples, n_blocks=n_blocks, seed=seed, smoke=smoke,
                            parameters=_given(parameters))

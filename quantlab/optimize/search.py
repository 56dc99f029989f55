"""Optuna search over a strategy's parameters: :func:`optuna_search` -> :class:`SearchResult`.

Each trial builds ``strategy_cls(**params)`` and runs :func:`quantlab.backtest.backtest` on
the evaluation window ``[start, end]`` (indicators see all the data given; trading and
statistics only the window), then reads the metric(s) from ``.stats()``.

Search spaces
-------------
A dict ``{parameter: range}``:

* ``(low, high)`` of ints -> ``trial.suggest_int(name, low, high)`` (inclusive);
* ``(low, high)`` with a float -> ``trial.suggest_float(name, low, high)``;
* a dict ``{"low": .., "high": .., "step": .., "log": ..}`` -> ``suggest_int`` when low,
  high (and step) are ints, else ``suggest_float`` (the form YAML configs use);
* a list -> ``trial.suggest_categorical(name, values)``;
* a scalar -> that fixed value (not searched).

or a callable ``trial -> {parameter: value}`` (parameters may be derived, e.g.
``slow = fast + trial.suggest_int("gap", 5, 100)``). Combinations the strategy refuses
(its ``check()`` raises :class:`~quantlab.errors.InvalidParameterError`, e.g. fast >= slow)
are **pruned**, not errors, and do not count as completed trials.

Counting trials
---------------
``n_trials`` is the number of **completed** trials the study holds when the search returns,
whoever ran them: a study resumed from its storage runs only the missing ones, and workers
sharing the study (``quantlab worker``) stop together at exactly ``n_trials`` (see
:func:`run_trials`). Pruned trials (invalid parameters, NaN metric, pruned folds) do not count.

Pruning on fold results
-----------------------
With ``folds=[(start, end), ...]`` the objective is the mean of the metric over the folds;
after each fold the running mean is reported to optuna (``trial.report(value, step=fold)``)
and the trial is pruned when the study's pruner says so (default optuna's
``MedianPruner``; ``pruner="hyperband"``, ``"none"`` or any optuna pruner). Optuna supports
intermediate values for single-objective studies only: with several metrics the folds are
still averaged but never pruned. :func:`evaluate_folds` is the same step for custom
objectives.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_choice, check_int, message
from quantlab.errors import ConvergenceWarning, InvalidParameterError
from quantlab.optimize.storage import create_study, import_optuna

__all__ = ["optuna_search", "SearchResult", "SearchObjective", "make_sampler", "make_pruner",
           "suggest", "evaluate_folds", "run_trials", "default_directions", "SAMPLERS",
           "PRUNERS"]

_CALLER = "optuna_search"
SAMPLERS = ("tpe", "random", "cmaes", "nsga2")
PRUNERS = ("median", "hyperband", "none")
#: stats() rows where lower is better (minimized by default).
_LOWER_IS_BETTER = frozenset({"annual_volatility", "downside_deviation_annual", "ulcer_index",
                              "max_drawdown_duration_bars", "max_drawdown_duration_days",
                              "total_fees", "turnover_annual", "max_consecutive_losses"})
#: user attribute of a pruned trial saying why: "invalid", "nan", "fold", "budget".
REASON = "quantlab_reason"


# ---- result --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class SearchResult:
    """What :func:`optuna_search` produced.

    Attributes
    ----------
    study : optuna.Study
        The study (all its trials, including those of earlier runs and of other workers).
    metrics : tuple of str
        The ``stats()`` rows optimized, in objective order.
    directions : tuple of str
        ``"maximize"`` / ``"minimize"`` per metric.
    param_names : tuple of str
        The strategy parameters of the trials.
    elapsed_s : float
        Wall time of the call.
    """

    study: Any
    metrics: tuple[str, ...]
    directions: tuple[str, ...]
    param_names: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    @property
    def n_trials(self) -> int:
        """Completed trials of the study (pruned and failed ones excluded)."""
        return len(self._complete())

    def _complete(self) -> list[Any]:
        optuna = import_optuna()
        return self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))

    @property
    def best_trial(self) -> Any:
        """The best completed trial. Single objective: optuna's ``best_trial``. Several
        objectives: among the Pareto-optimal trials (``study.best_trials``), the best by the
        **first** metric (ties: the lowest trial number)."""
        if len(self.metrics) == 1:
            return self.study.best_trial
        front = self.study.best_trials
        if not front:
            raise InvalidParameterError(message("study", "SearchResult.best_trial",
                                                "a study with a completed trial", "none"))
        sign = 1.0 if self.directions[0] == "maximize" else -1.0
        return max(front, key=lambda t: (sign * t.values[0], -t.number))

    @property
    def best_params(self) -> dict[str, Any]:
        """Strategy parameters of :attr:`best_trial`."""
        return _params_of(self.best_trial)

    @property
    def best_value(self) -> float | tuple[float, ...]:
        """Metric value(s) of :attr:`best_trial`."""
        values = self.best_trial.values
        return float(values[0]) if len(values) == 1 else tuple(float(v) for v in values)

    @property
    def pareto_front(self) -> pd.DataFrame:
        """The Pareto-optimal trials (multi-objective), as rows of :attr:`table`."""
        numbers = [t.number for t in self.study.best_trials]
        table = self.table
        return table[table["number"].isin(numbers)].reset_index(drop=True)

    @property
    def table(self) -> pd.DataFrame:
        """One row per trial: ``number``, ``state``, the parameters, the metric(s),
        ``reason`` (why a trial was pruned) and ``duration_s``."""
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            row: dict[str, Any] = {"number": t.number, "state": t.state.name.lower()}
            row.update(_params_of(t))
            values = t.values or [math.nan] * len(self.metrics)
            row.update({m: float(v) for m, v in zip(self.metrics, values, strict=False)})
            row["reason"] = t.user_attrs.get(REASON)
            row["duration_s"] = t.duration.total_seconds() if t.duration is not None else math.nan
            rows.append(row)
        columns = ["number", "state", *self.param_names, *self.metrics, "reason", "duration_s"]
        table = pd.DataFrame(rows)
        for c in columns:
            if c not in table:
                table[c] = pd.Series(dtype=object)
        return table[columns + [c for c in table.columns if c not in columns]]

    def __repr__(self) -> str:
        try:
            best = f"best {self.best_value!r} at {self.best_params}"
        except (ValueError, InvalidParameterError):
            best = "no completed trial"
        return (f"SearchResult({self.study.study_name!r}, {self.n_trials} completed trials, "
                f"{', '.join(self.metrics)}: {best})")


def _params_of(trial: Any) -> dict[str, Any]:
    params = trial.user_attrs.get("params")
    return dict(params) if params is not None else dict(trial.params)


# ---- spaces, samplers, pruners -------------------------------------------------------------

def suggest(trial: Any, space: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]]) -> dict[str, Any]:
    """Parameters for ``trial`` from ``space`` (see the module docstring for the forms).

    Raises
    ------
    InvalidParameterError
        A range that is none of the accepted forms, or a callable returning no dict.
    """
    if callable(space) and not isinstance(space, Mapping):
        out = space(trial)
        if not isinstance(out, Mapping):
            raise InvalidParameterError(message("space", _CALLER, "a callable returning a dict "
                                                "{parameter: value}", type(out).__name__))
        return dict(out)
    params: dict[str, Any] = {}
    for name, spec in space.items():
        params[name] = _suggest_one(trial, str(name), spec)
    return params


def _suggest_one(trial: Any, name: str, spec: Any) -> Any:
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"low", "high", "step", "log"}
        if unknown or "low" not in spec or "high" not in spec:
            raise InvalidParameterError(message(
                f"space[{name!r}]", _CALLER, "a dict with 'low' and 'high' (and optionally "
                "'step', 'log')", dict(spec)))
        low, high, step = spec["low"], spec["high"], spec.get("step")
        log = bool(spec.get("log", False))
        if all(_is_int(v) for v in (low, high) + ((step,) if step is not None else ())):
            return trial.suggest_int(name, int(low), int(high), step=int(step or 1), log=log)
        return trial.suggest_float(name, float(low), float(high), step=step, log=log)
    if isinstance(spec, tuple):
        if len(spec) != 2 or not all(_is_number(v) for v in spec):
            raise InvalidParameterError(message(
                f"space[{name!r}]", _CALLER, "a (low, high) pair of numbers, a list of "
                "choices or a {'low', 'high', 'step', 'log'} dict", spec))
        low, high = spec
        if _is_int(low) and _is_int(high):
            return trial.suggest_int(name, int(low), int(high))
        return trial.suggest_float(name, float(low), float(high))
    if isinstance(spec, list | range):
        choices = list(spec)
        if not choices:
            raise InvalidParameterError(message(f"space[{name!r}]", _CALLER,
                                                "a non-empty list of choices", spec))
        return trial.suggest_categorical(name, [_py(c) for c in choices])
    return _py(spec)  # fixed value


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def make_sampler(sampler: Any = "tpe", *, seed: int | None = None, n_objectives: int = 1,
                 caller: str = "make_sampler") -> Any:
    """The optuna sampler named ``sampler`` ("tpe", "random", "cmaes", "nsga2"), seeded.

    An optuna sampler instance is returned as is. CMA-ES is single-objective (it needs the
    ``cmaes`` package); NSGA-II is meant for several objectives.
    """
    optuna = import_optuna()
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    name = check_choice("sampler", sampler, SAMPLERS, caller=caller)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if n_objectives > 1:
        raise InvalidParameterError(message("sampler", caller, "'tpe', 'random' or 'nsga2' "
                                            "with several metrics", name,
                                            "CMA-ES optimizes one objective; use 'nsga2'."))
    try:
        import cmaes  # noqa: F401
    except ImportError as exc:
        raise ImportError("sampler='cmaes' needs the cmaes package: pip install cmaes") from exc
    return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


def make_pruner(pruner: Any = None, *, caller: str = "make_pruner") -> Any:
    """The optuna pruner for ``pruner``: None/"median" (``MedianPruner``), "hyperband",
    "none" (``NopPruner``), or an optuna pruner instance."""
    optuna = import_optuna()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    name = "median" if pruner is None else check_choice("pruner", pruner, PRUNERS, caller=caller)
    return {"median": optuna.pruners.MedianPruner,
            "hyperband": optuna.pruners.HyperbandPruner,
            "none": optuna.pruners.NopPruner}[name]()


def default_directions(metrics: Sequence[str]) -> tuple[str, ...]:
    """``"minimize"`` for the ``stats()`` rows where lower is better (volatility, drawdown
    durations, fees, ...), else ``"maximize"`` (``max_drawdown`` is negative: maximize)."""
    return tuple("minimize" if m in _LOWER_IS_BETTER else "maximize" for m in metrics)


# ---- objective --------------------------------------------------------------------------

def evaluate_folds(trial: Any, run: Callable[[Any, Any], Sequence[float]],
                   folds: Sequence[tuple[Any, Any]], *, prune: bool = True) -> tuple[float, ...]:
    """Evaluate ``run(start, end) -> metric values`` on each fold; report the running mean of
    the first metric after each fold and prune the trial when the study's pruner says so.

    Parameters
    ----------
    trial : optuna.Trial
    run : callable
        ``run(start, end)`` returns the metric value(s) of one fold.
    folds : sequence of (start, end)
    prune : bool, default True
        Report and prune (single-objective studies only).

    Returns
    -------
    tuple of float
        The mean of each metric over the folds.

    Raises
    ------
    optuna.TrialPruned
        The pruner stopped the trial (its user attribute ``quantlab_reason`` is ``"fold"``).
    """
    optuna = import_optuna()
    values: list[Sequence[float]] = []
    for step, (start, end) in enumerate(folds):
        values.append(tuple(run(start, end)))
        if prune:
            running = float(np.mean([v[0] for v in values]))
            trial.report(running, step)
            if trial.should_prune():
                trial.set_user_attr(REASON, "fold")
                raise optuna.TrialPruned(f"pruned after fold {step}")
    return tuple(float(np.mean([v[i] for v in values])) for i in range(len(values[0])))


class SearchObjective:
    """The objective of :func:`optuna_search` (picklable: workers rebuild or receive it).

    ``objective(trial)`` suggests parameters from ``space``, builds the strategy (refused
    combinations are pruned with reason ``"invalid"``), backtests it on ``[start, end]`` (or
    on each of ``folds``) and returns the metric value(s) read from ``stats()`` (a NaN value
    prunes the trial with reason ``"nan"``).
    """

    def __init__(self, strategy_cls: type, data: pd.DataFrame, space: Any, *,
                 metrics: Sequence[str], start: Any = None, end: Any = None,
                 config: Any = None, folds: Sequence[tuple[Any, Any]] | None = None,
                 prune: bool = True, options: Mapping[str, Any] | None = None) -> None:
        self.strategy_cls = strategy_cls
        self.data = data
        self.space = space
        self.metrics = tuple(metrics)
        self.start, self.end = start, end
        self.config = config
        self.folds = list(folds) if folds is not None else None
        self.prune = prune
        self.options = dict(options or {})

    def run(self, params: Mapping[str, Any], start: Any, end: Any) -> tuple[float, ...]:
        """Backtest ``params`` on ``[start, end]``; the metric values from ``stats()``."""
        from quantlab.backtest.engine import backtest

        strategy = self.strategy_cls(**params)
        stats = backtest(self.data, strategy, self.config, start=start, end=end, **self.options).stats()
        return tuple(float(stats[m]) for m in self.metrics)

    def __call__(self, trial: Any) -> float | tuple[float, ...]:
        optuna = import_optuna()
        params = suggest(trial, self.space)
        trial.set_user_attr("params", params)
        trial.set_user_attr("pid", os.getpid())  # which process ran it (shared studies)
        try:
            strategy = self.strategy_cls(**params)
        except InvalidParameterError as exc:
            trial.set_user_attr(REASON, "invalid")
            raise optuna.TrialPruned(str(exc)) from None
        del strategy
        if self.folds:
            values = evaluate_folds(trial, lambda s, e: self.run(params, s, e), self.folds,
                                    prune=self.prune and len(self.metrics) == 1)
        else:
            values = self.run(params, self.start, self.end)
        if any(math.isnan(v) for v in values):
            trial.set_user_attr(REASON, "nan")
            raise optuna.TrialPruned(f"undefined metric: {dict(zip(self.metrics, values, strict=True))}")
        return values[0] if len(values) == 1 else values


# ---- running trials to an exact count --------------------------------------------------------

def run_trials(study: Any, objective: Callable[[Any], Any], n_trials: int, *,
               callbacks: Sequence[Callable[..., None]] = (), poll_s: float = 0.1,
               max_attempts: int | None = None, caller: str = "run_trials") -> int:
    """Run trials of ``study`` until it holds exactly ``n_trials`` completed trials.

    Safe with several processes sharing the study: before its objective runs, a trial
    counts the completed and running trials numbered below it and is pruned (reason
    ``"budget"``) when they already reach ``n_trials``; while the running ones could fill the
    budget the process waits (``poll_s``) to see whether they complete or are pruned.
    So the study never exceeds ``n_trials`` completed trials, and reaches it unless
    ``max_attempts`` trials (default ``10 * n_trials + 100``) of this call were pruned or
    failed first (a :class:`~quantlab.errors.ConvergenceWarning` then says so). On an RDB
    storage, trials of a killed process are failed after the heartbeat grace period.

    Returns
    -------
    int
        Trials this call started.
    """
    optuna = import_optuna()
    TS = optuna.trial.TrialState
    n_trials = check_int("n_trials", n_trials, caller=caller, minimum=1)
    limit = 10 * n_trials + 100 if max_attempts is None else max_attempts
    live = (TS.COMPLETE, TS.RUNNING, TS.WAITING)

    storage, study_id = study._storage, study._study_id
    snapshot = [0, 0]  # trials of any state, live trials: counted in that order by the loop

    def guarded(trial: Any) -> Any:
        # live trials numbered below this one <= those live at the snapshot + those created
        # since (numbers are dense): only near the budget is the storage asked again
        created_since = trial.number - snapshot[0]
        if snapshot[1] + created_since >= n_trials:
            ahead = [t for t in study.get_trials(deepcopy=False, states=live)
                     if t.number < trial.number]
            if len(ahead) >= n_trials:
                trial.set_user_attr(REASON, "budget")
                raise optuna.TrialPruned("the study already has its trials")
        return objective(trial)

    started = 0
    heartbeat = getattr(storage, "is_heartbeat_enabled", lambda: False)()
    while True:
        snapshot[0] = storage.get_n_trials(study_id)
        trials = study.get_trials(deepcopy=False, states=live)
        snapshot[1] = len(trials)
        done = sum(t.state == TS.COMPLETE for t in trials)
        if done >= n_trials:
            return started
        if len(trials) >= n_trials:  # others' running trials may fill the budget: wait
            if heartbeat:
                optuna.storages.fail_stale_trials(study)
            time.sleep(poll_s)
            continue
        if started >= limit:
            warnings.warn(f"{caller}() stopped after {started} trials with {done} of "
                          f"{n_trials} completed: most trials were pruned or failed (invalid "
                          "parameters or undefined metrics). Narrow the search space.",
                          ConvergenceWarning, stacklevel=3)
            return started
        started += 1
        study.optimize(guarded, n_trials=1, callbacks=list(callbacks))


# ---- the search ------------------------------------------------------------------------------

def optuna_search(strategy_cls: type, data: pd.DataFrame, space: Any, *, start: Any = None,
                  end: Any = None, metric: str | Sequence[str] = "sharpe", n_trials: int,
                  sampler: Any = "tpe", storage: Any = None, study_name: str | None = None,
                  seed: int | None = None, config: Any = None,
                  directions: Sequence[str] | None = None, pruner: Any = None,
                  folds: Sequence[tuple[Any, Any]] | None = None,
                  callbacks: Sequence[Callable[..., None]] = (), **options: Any) -> SearchResult:
    """Search a strategy's parameters with Optuna; each trial is one backtest.

    Parameters
    ----------
    strategy_cls : type
        A :class:`~quantlab.strategy.Strategy` subclass.
    data : DataFrame
        OHLCV bars as for :func:`quantlab.backtest`.
    space : dict or callable
        Search space (module docstring): ``{"fast": (5, 50), "slow": (20, 200)}``, lists for
        choices, or ``trial -> params``.
    start, end : date, optional
        Evaluation window (indicators see all of ``data``; trading and statistics only
        ``[start, end]``).
    metric : str or list of str, default "sharpe"
        Row(s) of ``BacktestResult.stats()``. Several metrics make a multi-objective study.
    n_trials : int
        Completed trials the study holds on return (a resumed study runs only the missing
        ones; pruned trials do not count).
    sampler : {"tpe", "random", "cmaes", "nsga2"} or optuna sampler, default "tpe"
    storage : None, str or optuna storage, optional
        None: SQLite ``reports/optuna/<study_name>.db`` (resumable); ``"memory"``; a
        SQLAlchemy URL; ``"journal:PATH"`` (:func:`~quantlab.optimize.storage.resolve_storage`).
    study_name : str, optional
        Default: ``<Strategy>-<metrics>-<8 hex digits>`` from a fingerprint of the search
        (strategy, space, metrics, window, folds, options, data), so the same search resumes
        and a different one starts afresh. A named study that holds another search is
        refused.
    seed : int, optional
        Seed of the sampler.
    config : BacktestConfig, optional
        Simulation settings; ``**options`` override its fields.
    directions : list of {"maximize", "minimize"}, optional
        One per metric (default :func:`default_directions`).
    pruner : None, "median", "hyperband", "none" or optuna pruner
        Used with ``folds`` (default optuna's median pruner).
    folds : list of (start, end), optional
        Evaluate each trial on these windows (mean of the metric), reporting after each fold
        so that the pruner can stop a poor trial early.
    callbacks : list of callables, optional
        optuna callbacks ``(study, frozen_trial) -> None`` after each trial.
    **options
        Keyword options of :func:`quantlab.backtest` (``fee_bps=10``, ``fill="close"``, ...).

    Returns
    -------
    SearchResult
        ``best_params``, ``n_trials`` (completed), ``study``, ``table``. With several
        metrics ``best_params`` is the Pareto-optimal trial best by the first metric.

    Raises
    ------
    InvalidParameterError
        Unknown sampler, metric or pruner (did-you-mean); ``n_trials`` < 1; directions of
        the wrong length; a named study holding a different search.

    Examples
    --------
    >>> from quantlab.strategies import SmaCross  # doctest: +SKIP
    >>> res = optuna_search(SmaCross, df, {"fast": (5, 50), "slow": (20, 200)},
    ...                     start="2020", n_trials=50, fee_bps=10, seed=0)  # doctest: +SKIP
    >>> res.best_params, res.table.head()  # doctest: +SKIP
    """
    started = time.perf_counter()
    n_trials = check_int("n_trials", n_trials, caller=_CALLER, minimum=1)
    metrics = (metric,) if isinstance(metric, str) else tuple(metric)
    if not metrics:
        raise InvalidParameterError(message("metric", _CALLER, "a stats() row or a list of "
                                            "them", metric))
    from quantlab.backtest.engine import OPTIONS
    for m in metrics:
        check_choice("metric", m, _stats_rows(), caller=_CALLER)
    unknown = [k for k in options if k not in OPTIONS]
    if unknown:
        from quantlab._validate import check_options

        check_options({unknown[0]: options[unknown[0]]}, list(OPTIONS), caller=_CALLER)
    if directions is None:
        dirs = default_directions(metrics)
    else:
        dirs = tuple(check_choice("directions", d, ("maximize", "minimize"), caller=_CALLER)
                     for d in directions)
        if len(dirs) != len(metrics):
            raise InvalidParameterError(message("directions", _CALLER, f"one per metric "
                                                f"({len(metrics)})", list(directions)))
    if not (callable(space) or isinstance(space, Mapping)) or (isinstance(space, Mapping)
                                                               and not space):
        raise InvalidParameterError(message("space", _CALLER, "a non-empty dict of ranges or "
                                            "a callable trial -> params", space))
    sampler_obj = make_sampler(sampler, seed=seed, n_objectives=len(metrics), caller=_CALLER)
    pruner_obj = make_pruner(pruner, caller=_CALLER)
    fingerprint = search_fingerprint(strategy_cls, data, space, metrics=metrics, start=start,
                                     end=end, folds=folds, config=config, options=options)
    if study_name is None:
        study_name = f"{strategy_cls.__name__}-{'-'.join(metrics)}-{fingerprint[:8]}"
    study = create_study(study_name, storage=storage, directions=dirs, sampler=sampler_obj,
                         pruner=pruner_obj)
    stored = study.user_attrs.get("quantlab_fingerprint")
    if stored is None:
        study.set_user_attr("quantlab_fingerprint", fingerprint)
    elif stored != fingerprint:
        raise InvalidParameterError(message(
            "study_name", _CALLER, "the name of a new study or of one holding this same "
            "search", study_name, "That study holds a different search (strategy, space, "
            "metric, window or data): pick another study_name."))
    objective = SearchObjective(strategy_cls, data, space, metrics=metrics, start=start,
                                end=end, config=config, folds=folds, options=options)
    run_trials(study, objective, n_trials, callbacks=callbacks, caller=_CALLER)
    names = tuple(_param_names(study, space))
    return SearchResult(study=study, metrics=metrics, directions=dirs, param_names=names,
                        elapsed_s=time.perf_counter() - started)


def _stats_rows() -> tuple[str, ...]:
    """The rows of ``BacktestResult.stats()`` (the metrics a search may optimize)."""
    return _STATS_ROWS


#: BacktestResult.stats() rows (checked by the test suite against a real stats() call).
_STATS_ROWS: tuple[str, ...] = (
    "total_return", "cagr", "annual_return", "annual_volatility", "sharpe", "sortino", "calmar",
    "omega", "downside_deviation_annual", "max_drawdown", "max_drawdown_duration_bars",
    "max_drawdown_duration_days", "average_drawdown", "ulcer_index", "var_95", "es_95",
    "var_99", "es_99", "tail_ratio", "skew", "excess_kurtosis", "stability",
    "best_period_return", "worst_period_return", "positive_periods_share",
    "probabilistic_sharpe_ratio", "beta", "alpha_annual", "correlation",
    "tracking_error_annual", "information_ratio", "exposure", "turnover_annual", "n_trades",
    "win_rate", "profit_factor", "expectancy", "payoff_ratio", "avg_win", "avg_loss",
    "best_trade", "worst_trade", "max_consecutive_losses", "n_closed_trades", "n_open_trades",
    "n_orders", "pnl_profit_factor", "pnl_expectancy", "avg_trade_return",
    "avg_winning_trade_return", "avg_losing_trade_return", "best_trade_return",
    "worst_trade_return", "avg_trade_duration_bars", "max_consecutive_wins", "avg_mae",
    "avg_mfe", "total_fees", "time_in_market", "end_value", "buy_hold_return")


def _param_names(study: Any, space: Any) -> list[str]:
    if isinstance(space, Mapping):
        return [str(k) for k in space]
    names: dict[str, None] = {}
    for t in study.get_trials(deepcopy=False):
        for k in _params_of(t):
            names[k] = None
    return list(names)


def search_fingerprint(strategy_cls: type, data: pd.DataFrame, space: Any, *,
                       metrics: Sequence[str], start: Any = None, end: Any = None,
                       folds: Any = None, config: Any = None,
                       options: Mapping[str, Any] | None = None) -> str:
    """A hex digest identifying a search (same inputs -> same digest)."""
    h = hashlib.sha256()
    space_key = (getattr(space, "__qualname__", repr(space)) if callable(space)
                 and not isinstance(space, Mapping) else
                 {str(k): repr(v) for k, v in space.items()})
    cfg = config.to_dict() if hasattr(config, "to_dict") else repr(config)
    key = {"strategy": f"{strategy_cls.__module__}.{strategy_cls.__qualname__}",
           "space": space_key, "metrics": list(metrics), "start": str(start), "end": str(end),
           "folds": repr(folds), "config": repr(cfg),
           "options": {k: repr(v) for k, v in sorted((options or {}).items())}}
    h.update(json.dumps(key, sort_keys=True, default=str).encode())
    if isinstance(data, pd.DataFrame):
        h.update(str(data.shape).encode())
        h.update(np.ascontiguousarray(data.index.asi8 if isinstance(data.index, pd.DatetimeIndex)
                                      else np.arange(len(data))).tobytes())
        h.update(np.ascontiguousarray(data.to_numpy(dtype=np.float64, na_value=np.nan)).tobytes())
    return h.hexdigest()

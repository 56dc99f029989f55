"""``walk_forward()``: choose parameters on each train window, trade them on the next test window.

How a walk-forward runs
-----------------------
For each ``(train_idx, test_idx)`` of the splitter (train windows must end before their
test windows: :class:`~quantlab.optimize.splitters.RollingSplit`,
:class:`~quantlab.optimize.splitters.AnchoredSplit`):

1. **Choose** on the train window ``[a, b]``: the grid through
   :func:`quantlab.backtest.sweep.sweep` (``search="grid"``, the fused fast path for the
   built-in crosses) or an Optuna study (``search="optuna"``), given ``data.iloc[:b + 1]``
   only - nothing after the train window exists for the choice - with the evaluation
   window ``start=index[a], end=index[b]`` (indicators warmed on every bar before ``a``).
2. **Test** the chosen parameters on the test window ``[c, d]``:
   ``backtest(data.iloc[:d + 1], Strategy(**params), start=index[c], end=index[d])`` - a
   fresh account, indicators warmed on the bars before ``c`` (never restarted at the fold
   edge). Its statistics are the fold's out-of-sample row.

The folds run through :func:`quantlab.optimize.execution.run_tasks` (local processes with
``n_jobs > 1``, or Dask with the data scattered once); with the default ``backend="local",
n_jobs=1`` they run one after another in this process, each sweep using every core.

3. **Stitch**: one continuous account over ``[first test start, last test end]`` trades the
   target exposure of fold k's parameters on fold k's test bars (each computed on
   ``data.iloc[:d_k + 1]``), i.e. one backtest of a strategy that switches parameter sets at
   the fold boundaries. Positions carry across boundaries as they would live (the new
   parameters' NaN = hold keeps the previous position). This is :attr:`WalkForwardResult.equity`.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_bool, check_choice, check_int, check_options, message
from quantlab.errors import InvalidParameterError

__all__ = ["walk_forward", "WalkForwardResult", "FOLD_STATS"]

_CALLER = "walk_forward"
#: Statistics reported for each fold, in and out of sample (``is_*`` / ``oos_*`` columns).
FOLD_STATS: tuple[str, ...] = ("total_return", "annual_return", "sharpe", "max_drawdown",
                               "n_trades")
SEARCHES = ("grid", "optuna")
BACKENDS = ("local", "dask")


# ---- one fold ------------------------------------------------------------------------------

def _run_fold(task: tuple[int, int, int, int, int], *, strategy_cls: type, data: pd.DataFrame,
              space: Any, metric: str, search: str, n_trials: int | None, constraint: Any,
              config: Any, overrides: dict[str, Any], storage: Any, study_name: str | None,
              seed: int | None) -> dict[str, Any]:
    """Choose on the train window, test on the test window; a picklable task for run_tasks."""
    from quantlab.backtest.engine import backtest

    k, a, b, c, d = task
    index = data.index
    train = data.iloc[: b + 1]  # nothing after the train window exists for the choice
    if search == "grid":
        from quantlab.backtest.sweep import sweep

        res = sweep(strategy_cls, train, space, constraint=constraint, metric=metric,
                    start=index[a], end=index[b], progress=False, config=config, **overrides)
        params = res.best_params
        best = res.best
        is_stats = {s: best[s] for s in FOLD_STATS + (metric,)}
        trials_sharpe = res.table["sharpe"].to_numpy(dtype=np.float64)
        path = res.config["path"]
    else:
        from quantlab.optimize.search import optuna_search

        if n_trials is None:  # walk_forward checked it; a direct call must pass it too
            raise InvalidParameterError(message("n_trials", _CALLER, "an integer >= 1 with "
                                                "search='optuna'", n_trials))
        name = None if study_name is None else f"{study_name}-fold{k}"
        # unnamed fold studies are transient: in memory (~0.2 ms a trial against ~20 ms in
        # SQLite); a named one persists (SQLite under reports/optuna/ unless `storage` says)
        where = "memory" if storage is None and study_name is None else storage
        found = optuna_search(strategy_cls, train, space, start=index[a], end=index[b],
                              metric=metric, n_trials=n_trials, storage=where,
                              study_name=name, seed=None if seed is None else seed + k,
                              config=config, **overrides)
        params = dict(found.best_params)
        ins = backtest(train, strategy_cls(**params), config, start=index[a], end=index[b],
                       **overrides).stats()
        is_stats = {s: _py(ins[s]) for s in FOLD_STATS + (metric,)}
        table = found.table
        col = "sharpe" if "sharpe" in table else ("value" if metric == "sharpe" else None)
        trials_sharpe = (table[col].to_numpy(dtype=np.float64) if col is not None
                         else np.full(int(found.n_trials), np.nan))
        path = "optuna"
    out = backtest(data.iloc[: d + 1], strategy_cls(**params), config, start=index[c],
                   end=index[d], **overrides)
    oos = out.stats()
    return {"fold": k, "params": params, "is": is_stats,
            "oos": {s: _py(oos[s]) for s in FOLD_STATS + (metric,)},
            "trials_sharpe": trials_sharpe, "n_trials": int(trials_sharpe.size), "path": path}


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _dispatch(func: Callable[..., dict[str, Any]], tasks: list[Any], shared: dict[str, Any], *,
              backend: str, scheduler: Any, n_jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Run the fold tasks: through :func:`quantlab.optimize.execution.run_tasks` on Dask or
    on several local processes; in this process, one after another (with a progress bar),
    when ``backend="local"`` and ``n_jobs=1`` (what ``run_tasks`` itself does then)."""
    if backend != "local" or n_jobs != 1:
        from quantlab.optimize.execution import run_tasks

        return list(run_tasks(func, tasks, backend=backend, scheduler=scheduler,
                              n_jobs=n_jobs, shared=shared))
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(tasks), desc="walk-forward", unit="fold", leave=False)
        except ImportError:  # pragma: no cover - tqdm is a dependency
            bar = None
    out = []
    try:
        for task in tasks:
            out.append(func(task, **shared))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


# ---- result --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class WalkForwardResult:
    """What :func:`walk_forward` produced (immutable).

    Attributes
    ----------
    folds : DataFrame
        One row per fold: ``train_start, train_end, test_start, test_end`` (times),
        ``n_train, n_test`` (bars), one column per parameter (the choice), ``params`` (the
        dict), ``is_<stat>`` and ``oos_<stat>`` for :data:`FOLD_STATS` and ``metric``
        (in-sample: the chosen row of the train sweep; out-of-sample: a fresh-account
        backtest of the test window), ``efficiency`` (walk-forward efficiency,
        ``oos_annual_return / is_annual_return``), ``n_trials`` (combinations tried).
    oos : BacktestResult
        The stitched out-of-sample backtest (one account, parameters switching at the fold
        boundaries); :attr:`equity` and :attr:`returns` are its.
    strategy_cls : type
    metric : str
    search : str
    splitter : object
    space : dict or callable
    trials_sharpe : tuple of ndarray
        The Sharpe ratio of every trial of each fold (for the deflated Sharpe ratio).
    config : dict
        ``overrides`` (backtest options), ``config`` (the BacktestConfig or None),
        ``constraint``, ``backend``, ``paths`` (sweep path per fold), ``elapsed_s``.
    data : DataFrame
    param_names : tuple of str
    """

    folds: pd.DataFrame
    oos: Any
    strategy_cls: type
    metric: str
    search: str
    splitter: Any
    space: Any
    trials_sharpe: tuple[np.ndarray, ...]
    config: dict[str, Any]
    data: pd.DataFrame = field(repr=False)
    param_names: tuple[str, ...] = ()

    @property
    def equity(self) -> pd.Series:
        """Stitched out-of-sample equity."""
        return self.oos.equity  # type: ignore[no-any-return]

    @property
    def returns(self) -> pd.Series:
        """Stitched out-of-sample returns (the first bar against ``init_cash``)."""
        return self.oos.returns  # type: ignore[no-any-return]

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        return len(self.folds)

    @property
    def n_trials(self) -> int:
        """Trials per fold behind the choice (the largest over folds), for the DSR."""
        return int(self.folds["n_trials"].max())

    @property
    def best_params(self) -> dict[str, Any]:
        """The parameters to promote to live: the **last** fold's choice.

        It was chosen on the most recent train window, so it is what the walk-forward
        itself would be trading next. Read :meth:`parameter_stability` before promoting it.
        """
        return dict(self.folds["params"].iloc[-1])

    @property
    def efficiency(self) -> float:
        """Overall walk-forward efficiency.

        The annualized return of the stitched out-of-sample returns divided by the mean
        in-sample annualized return of the chosen parameters (folds weighted by their test
        bars). NaN when that mean is 0. Per-fold values are in ``folds["efficiency"]``.
        """
        from quantlab.metrics import annual_return

        ppy = float(self.oos.periods_per_year)
        oos = float(annual_return(self.returns.to_numpy(), periods_per_year=ppy))
        w = self.folds["n_test"].to_numpy(dtype=np.float64)
        ins = float(np.sum(w * self.folds["is_annual_return"].to_numpy(dtype=np.float64))
                    / w.sum())
        return oos / ins if ins != 0 else float("nan")

    def parameter_stability(self) -> pd.DataFrame:
        """How the chosen parameters move from fold to fold, one row per parameter.

        Columns: ``n_distinct`` (distinct values chosen), ``changes`` (folds whose choice
        differs from the previous fold's), ``mode`` and ``mode_share`` (the most frequent
        value and its share of folds), ``last`` (the value promoted), and for numbers
        ``mean``, ``std`` (ddof=0) and ``cv`` (``std / |mean|``).
        """
        rows = {}
        for name in self.param_names:
            col = self.folds[name]
            counts = col.value_counts(sort=True)
            row: dict[str, Any] = {
                "n_distinct": int(col.nunique()),
                "changes": int((col != col.shift(1)).iloc[1:].sum()),
                "mode": _py(counts.index[0]), "mode_share": float(counts.iloc[0] / len(col)),
                "last": _py(col.iloc[-1])}
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                mean, std = float(col.mean()), float(col.std(ddof=0))
                row.update(mean=mean, std=std, cv=std / abs(mean) if mean else float("nan"))
            rows[name] = row
        return pd.DataFrame.from_dict(rows, orient="index")

    def in_sample_results(self) -> dict[int, Any]:
        """Backtest of each fold's chosen parameters over its own train window (fresh account,
        data up to the train end), as the sweep simulated it: ``{fold: BacktestResult}``."""
        from quantlab.backtest.engine import backtest

        out = {}
        index = self.data.index
        for k, row in self.folds.iterrows():
            b = index.get_loc(row["train_end"])
            out[int(k)] = backtest(self.data.iloc[: b + 1], self.strategy_cls(**row["params"]),
                                   self.config["config"], start=row["train_start"],
                                   end=row["train_end"], **self.config["overrides"])
        return out

    def in_sample_equity(self) -> dict[int, pd.Series]:
        """Equity of each fold's chosen parameters over its own train window (fresh account)."""
        return {k: res.equity for k, res in self.in_sample_results().items()}

    def in_sample_optimum(self) -> tuple[dict[str, Any], Any]:
        """The hindsight benchmark: the grid's best over the whole out-of-sample span.

        One sweep of ``space`` with the evaluation window = the stitched span (all data up
        to its end), then the backtest of its best parameters on that span. What the
        walk-forward could not know; the gap to :attr:`equity` is the price of choosing
        causally. Grid search only (``space`` a dict of lists).

        Returns
        -------
        (dict, BacktestResult)
        """
        from quantlab.backtest.engine import backtest
        from quantlab.backtest.sweep import sweep

        if self.search != "grid":
            raise InvalidParameterError(message("search", "in_sample_optimum", "'grid' (the "
                                                "space must be a grid)", self.search))
        start, end = self.equity.index[0], self.equity.index[-1]
        upto = self.data.loc[:end]
        res = sweep(self.strategy_cls, upto, self.space, constraint=self.config["constraint"],
                    metric=self.metric, start=start, end=end, progress=False,
                    config=self.config["config"], **self.config["overrides"])
        params = res.best_params
        bt = backtest(upto, self.strategy_cls(**params), self.config["config"], start=start,
                      end=end, **self.config["overrides"])
        return params, bt

    def plot(self, *, in_sample: bool = True, benchmark: Mapping[str, pd.Series] | None = None,
             title: str | None = None) -> Any:
        """Fold timeline (train and test windows) above the in-sample and stitched OOS equity.

        ``in_sample=True`` re-runs each fold's chosen parameters on its train window
        (:meth:`in_sample_equity`).
        """
        from quantlab.plotting.optimize import walkforward_figure

        return walkforward_figure(self.folds, self.equity,
                                  is_equity=self.in_sample_equity() if in_sample else None,
                                  benchmark=benchmark,
                                  title=title or f"Walk-forward of {self.strategy_cls.__name__}: "
                                                 f"{self.n_folds} folds, {self.metric}")

    def _repr_html_(self) -> str:
        cols = (["train_start", "train_end", "test_start", "test_end", *self.param_names]
                + [f"is_{self.metric}", f"oos_{self.metric}", "efficiency"])
        cols = list(dict.fromkeys(cols))
        head = (f"<div><b>WalkForwardResult</b> {html.escape(self.strategy_cls.__name__)} "
                f"&middot; {self.n_folds} folds &middot; {html.escape(self.search)} search on "
                f"{html.escape(self.metric)} &middot; efficiency {self.efficiency:.3g} &middot; "
                f"OOS total return {float(self.equity.iloc[-1] / self.oos.config['init_cash'] - 1):.2%}"
                f" &middot; best_params {html.escape(repr(self.best_params))}</div>")
        return head + self.folds[cols].to_html(float_format=lambda v: f"{v:.4g}")

    def __repr__(self) -> str:
        return (f"WalkForwardResult({self.strategy_cls.__name__}, {self.n_folds} folds, "
                f"{self.search} on {self.metric}, efficiency={self.efficiency:.3g}, "
                f"best_params={self.best_params})")


# ---- walk_forward ---------------------------------------------------------------------------

def _fold_bounds(splitter: Any, data: pd.DataFrame) -> list[tuple[int, int, int, int, int]]:
    split = getattr(splitter, "split", None)
    if not callable(split):
        raise InvalidParameterError(message("splitter", _CALLER, "a splitter with split(X) "
                                            "(e.g. RollingSplit(train, test))",
                                            type(splitter).__name__))
    out = []
    for k, (train, test) in enumerate(split(data)):
        train = np.asarray(train, dtype=np.int64)
        test = np.asarray(test, dtype=np.int64)
        if train.size < 2 or test.size < 2:
            raise InvalidParameterError(message("splitter", _CALLER, "splits of at least 2 "
                                                "train and 2 test bars", f"split {k} with "
                                                f"{train.size} train and {test.size} test bars"))
        a, b, c, d = int(train.min()), int(train.max()), int(test.min()), int(test.max())
        if b - a + 1 != train.size or d - c + 1 != test.size or b >= c:
            raise InvalidParameterError(message(
                "splitter", _CALLER, "contiguous train windows ending before their test "
                "windows", f"{splitter!r} (split {k}: train rows {a}..{b}, test rows {c}..{d})",
                "Use RollingSplit or AnchoredSplit; PurgedKFold and CombinatorialPurgedKFold "
                "train on the future too, which a walk-forward must not."))
        out.append((k, a, b, c, d))
    if not out:
        raise InvalidParameterError(message("splitter", _CALLER, "at least one split of the "
                                            "data", f"none for {len(data)} bars",
                                            "Shorten the train or test windows."))
    return out


def _stitch(strategy_cls: type, data: pd.DataFrame, folds: list[tuple[int, int, int, int, int]],
            params: list[dict[str, Any]], config: Any, overrides: dict[str, Any]) -> Any:
    """One backtest over the test windows, fold k's exposure on fold k's test bars."""
    from quantlab.backtest.engine import backtest

    first = min(f[3] for f in folds)
    last = max(f[4] for f in folds)
    upto = data.iloc[: last + 1]
    target: np.ndarray | None = None
    columns: Any = None
    for (_, _, _, c, d), p in zip(folds, params, strict=True):  # later folds win an overlap
        sig = strategy_cls(**p).signal(data.iloc[: d + 1])
        values = np.asarray(sig, dtype=np.float64)
        if target is None:
            shape = (len(upto),) + values.shape[1:]
            target = np.zeros(shape)  # flat between test windows (a step > test leaves gaps)
            columns = getattr(sig, "columns", None)
        target[c: d + 1] = values[c: d + 1]
    if target is None:  # pragma: no cover - _fold_bounds never returns no fold
        raise InvalidParameterError(message("splitter", _CALLER, "at least one split", 0))
    if target.ndim == 1:
        tgt: Any = pd.Series(target, index=upto.index, name="exposure")
    else:
        tgt = pd.DataFrame(target, index=upto.index, columns=columns)
    options = dict(overrides)
    if "warmup" not in options and (config is None or config.warmup is None):
        options["warmup"] = int(strategy_cls(**params[0]).warmup)
    return backtest(upto, tgt, config, start=upto.index[first], end=upto.index[last], **options)


def walk_forward(strategy_cls: type, data: pd.DataFrame, space: Any, *, splitter: Any,
                 metric: str = "sharpe", search: str = "grid", n_trials: int | None = None,
                 constraint: str | Callable[[Any], Any] | None = None, config: Any = None,
                 backend: str = "local", scheduler: Any = None, storage: Any = None,
                 study_name: str | None = None, seed: int | None = None, progress: bool = True,
                 n_jobs: int = 1, **overrides: Any) -> WalkForwardResult:
    """Walk-forward optimization: choose on each train window, trade on the next test window.

    Parameters
    ----------
    strategy_cls : type
        A :class:`~quantlab.strategy.Strategy` subclass.
    data : DataFrame
        OHLCV bars, as for :func:`quantlab.backtest`.
    space : dict or callable
        ``search="grid"``: ``{parameter: [values]}`` as :func:`quantlab.backtest.sweep.sweep`.
        ``search="optuna"``: a dict of ranges or a callable ``trial -> params``
        (:func:`quantlab.optimize.search.optuna_search`).
    splitter : RollingSplit or AnchoredSplit
        Any object with ``split(X)`` whose train windows are contiguous and end before their
        test windows.
    metric : str, default "sharpe"
        What the choice maximizes (a column of :data:`quantlab.backtest.sweep.STATS`).
    search : {"grid", "optuna"}, default "grid"
    n_trials : int, optional
        Optuna trials per fold (required with ``search="optuna"``; refused with "grid").
    constraint : str or callable, optional
        Grid constraint, as :func:`~quantlab.backtest.sweep.sweep`'s (grid search only).
    config : BacktestConfig, optional
        Settings shared by every sweep and backtest; ``**overrides`` override its fields.
    backend : {"local", "dask"}, default "local"
    scheduler : str or dask Client, optional
        With ``backend="dask"``: the scheduler address (passed to ``run_tasks``).
    storage, study_name, seed
        Optuna storage URL, study name (fold k's study is ``f"{study_name}-fold{k}"``), and
        seed (fold k's sampler seed is ``seed + k``). Without both a storage and a name the
        fold studies live in memory (nothing to resume); with a name and no storage they
        persist in SQLite under ``reports/optuna/``, so an interrupted walk-forward resumes.
    progress : bool, default True
        A progress bar over folds (local, sequential runs).
    n_jobs : int, default 1
        Folds run at once locally (processes). 1: one after another in this process - each
        sweep already uses every core.
    **overrides
        Options of :func:`quantlab.backtest` / :func:`~quantlab.backtest.sweep.sweep`
        (``fee_bps``, ``fill``, ...), refused with a did-you-mean when unknown.

    Returns
    -------
    WalkForwardResult
        ``folds`` (per-fold table), ``equity`` (stitched OOS), ``efficiency``,
        ``parameter_stability()``, ``plot()``, ``best_params`` (the last fold's choice).

    Raises
    ------
    InvalidParameterError
        A splitter whose train windows are not before their test windows (PurgedKFold,
        CPCV), no split, an unknown search/metric/backend/option, ``n_trials`` missing for
        Optuna or given for a grid.

    Notes
    -----
    Causality: fold k's choice sees ``data.iloc[:train_end_k + 1]`` only; its test backtest
    and its share of the stitched exposure see ``data.iloc[:test_end_k + 1]``. Walk-forward
    efficiency (Pardo 2008): annualized OOS return / annualized IS return of the chosen
    parameters, per fold (``folds["efficiency"]``) and overall (:attr:`~WalkForwardResult.
    efficiency`). The per-fold OOS statistics come from a fresh account per test window;
    the stitched equity is one account, so the two differ at the fold boundaries only (a
    position carried over instead of entered).

    Examples
    --------
    >>> from quantlab.strategies import SmaCross  # doctest: +SKIP
    >>> from quantlab.optimize.splitters import RollingSplit  # doctest: +SKIP
    >>> wf = walk_forward(SmaCross, df, {"fast": range(5, 30, 5), "slow": range(20, 80, 10)},
    ...                   splitter=RollingSplit(2000, 500), fee_bps=10)  # doctest: +SKIP
    >>> wf.folds, wf.efficiency, wf.best_params, wf.plot()  # doctest: +SKIP
    """
    from quantlab.backtest.config import BacktestConfig
    from quantlab.backtest.engine import _prepare_data
    from quantlab.backtest.sweep import _SWEEP_OPTIONS, STATS

    started = time.perf_counter()
    declared = getattr(strategy_cls, "_params", None)
    if not isinstance(strategy_cls, type) or declared is None:
        raise InvalidParameterError(message("strategy_cls", _CALLER, "a Strategy subclass",
                                            strategy_cls, "Pass the class, e.g. SmaCross."))
    check_options(overrides, _SWEEP_OPTIONS, caller=_CALLER)
    if config is not None and not isinstance(config, BacktestConfig):
        raise InvalidParameterError(message("config", _CALLER, "a BacktestConfig or None",
                                            type(config).__name__))
    search = check_choice("search", search, SEARCHES, caller=_CALLER)
    metric = check_choice("metric", metric, STATS, caller=_CALLER)
    backend = check_choice("backend", backend, BACKENDS, caller=_CALLER)
    progress = check_bool("progress", progress, caller=_CALLER)
    n_jobs = check_int("n_jobs", n_jobs, caller=_CALLER, minimum=-1)
    if n_jobs == 0:
        raise InvalidParameterError(message("n_jobs", _CALLER, "-1 (all cores) or >= 1", 0))
    if search == "optuna":
        n_trials = check_int("n_trials", n_trials, caller=_CALLER, minimum=1)
    elif n_trials is not None:
        raise InvalidParameterError(message("n_trials", _CALLER, "None with search='grid' "
                                            "(the grid sets the trials)", n_trials,
                                            "Pass search='optuna' to sample n_trials."))
    if search == "optuna" and constraint is not None:
        raise InvalidParameterError(message("constraint", _CALLER, "None with search='optuna'",
                                            constraint, "Express the rule in a callable space "
                                            "(trial -> params) instead."))
    if search == "grid" and not isinstance(space, Mapping):
        raise InvalidParameterError(message("space", _CALLER, "a dict {parameter: [values]} "
                                            "with search='grid'", type(space).__name__))
    _prepare_data(data)  # malformed data fails here, before any fold
    folds = _fold_bounds(splitter, data)
    shared = {"strategy_cls": strategy_cls, "data": data, "space": space, "metric": metric,
              "search": search, "n_trials": n_trials, "constraint": constraint,
              "config": config, "overrides": dict(overrides), "storage": storage,
              "study_name": study_name, "seed": seed}
    outcomes = _dispatch(_run_fold, folds, shared, backend=backend, scheduler=scheduler,
                         n_jobs=n_jobs, progress=progress)
    outcomes = sorted(outcomes, key=lambda o: o["fold"])
    params = [o["params"] for o in outcomes]
    oos = _stitch(strategy_cls, data, folds, params, config, dict(overrides))

    index = data.index
    names = tuple(n for n in declared if any(n in p for p in params))
    rows = []
    for (k, a, b, c, d), o in zip(folds, outcomes, strict=True):
        row: dict[str, Any] = {"fold": k, "train_start": index[a], "train_end": index[b],
                               "test_start": index[c], "test_end": index[d],
                               "n_train": b - a + 1, "n_test": d - c + 1}
        row.update({n: o["params"].get(n) for n in names})
        row["params"] = o["params"]
        row.update({f"is_{s}": v for s, v in o["is"].items()})
        row.update({f"oos_{s}": v for s, v in o["oos"].items()})
        ins = row["is_annual_return"]
        row["efficiency"] = row["oos_annual_return"] / ins if ins else float("nan")
        row["n_trials"] = o["n_trials"]
        rows.append(row)
    table = pd.DataFrame(rows).set_index("fold")
    info = {"overrides": dict(overrides), "config": config, "constraint": constraint,
            "backend": backend, "n_jobs": n_jobs, "paths": [o["path"] for o in outcomes],
            "n_trials": n_trials, "elapsed_s": time.perf_counter() - started}
    return WalkForwardResult(folds=table, oos=oos, strategy_cls=strategy_cls, metric=metric,
                             search=search, splitter=splitter, space=space,
                             trials_sharpe=tuple(o["trials_sharpe"] for o in outcomes),
                             config=info, data=data, param_names=names)

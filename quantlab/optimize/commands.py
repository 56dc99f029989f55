"""`quantlab optimize CONFIG.yaml` and `quantlab worker --storage URL --study NAME`.

The YAML configuration
----------------------
::

    study: sma-aapl                 # study name (optuna; default: the file's stem)
    strategy: SmaCross              # a built-in strategy (quantlab.strategy.registry)
    data:                           # exactly one source, as quantlab.data.open_data
      dataset: aapl                 #   or csv: bars.csv (+ csv_options: {...})
      start: "2010-01-01"           #   or store: DIR, symbol: BTC/USDT, timeframe: 1h
    window: {start: "2015-01-01", end: null}    # evaluation window (optional)
    search:
      method: optuna                # optuna | grid
      metric: sharpe                # a stats() row, or a list (multi-objective)
      directions: null              # one per metric (default: by metric)
      n_trials: 50                  # completed trials the study should hold
      sampler: tpe                  # tpe | random | cmaes | nsga2
      pruner: null                  # median | hyperband | none (with folds)
      seed: 0
    space:                          # optuna: {low, high[, step, log]} or a list of choices
      fast: {low: 5, high: 50}
      slow: {low: 20, high: 200}
    grid:                           # method grid: lists, or {low, high, step} ranges
      fast: {low: 5, high: 50, step: 5}
      slow: [50, 100, 150, 200]
    backtest: {fee_bps: 10, fill: next_open}    # options of quantlab.backtest
    storage: null                   # null: reports/optuna/<study>.db; a SQLAlchemy URL;
                                    # journal:PATH (a journal file several workers share)
    backend: {name: local, scheduler: null, n_jobs: -1}   # grid sweeps: local | dask
    splitter: null                  # e.g. {type: RollingSplit, train: 2000, test: 500}:
                                    # a walk-forward (quantlab.optimize.walkforward)
    out: reports/optimize           # where the trial table (CSV) is written

``quantlab optimize`` creates the study first (storing this configuration on it), then runs
the trials; ``--create-only`` only creates it, so that workers can start on a shared storage
(PostgreSQL: create the study before the workers, concurrent schema creation fails).
``quantlab worker --storage URL --study NAME [--n-trials N]`` rebuilds the objective from the
configuration stored on the study (so the data source must be readable from the worker:
a bundled dataset, or a path valid on that machine) and runs trials until the study holds
``N`` completed trials (default: the configuration's ``n_trials``). Any number of workers
may share a study; together they stop at exactly ``N``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from quantlab._validate import check_choice, check_int, check_options, message
from quantlab.errors import InvalidParameterError

__all__ = ["add_commands", "load_config", "run_config", "run_worker", "main", "CONFIG_KEYS"]

CONFIG_KEYS = ("study", "strategy", "data", "window", "search", "space", "grid", "backtest",
               "storage", "backend", "splitter", "out")
_SEARCH_KEYS = ("method", "metric", "directions", "n_trials", "sampler", "pruner", "seed")
_BACKEND_KEYS = ("name", "scheduler", "n_jobs")
_CONFIG_ATTR = "quantlab_config"


def add_commands(subparsers: Any) -> None:
    """Add ``optimize`` and ``worker`` to the ``quantlab`` sub-command parsers."""
    p = subparsers.add_parser(
        "optimize", help="run a grid or Optuna search (or a walk-forward) described by a YAML file",
        description="Run the search described by CONFIG.yaml (format: quantlab.optimize.commands).")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("--create-only", action="store_true",
                   help="create the Optuna study (with its configuration) and exit: start "
                        "`quantlab worker` processes on it next")
    p.add_argument("--n-trials", type=int, metavar="N", help="override search.n_trials")
    p.set_defaults(func=_optimize)

    p = subparsers.add_parser(
        "worker", help="join an existing Optuna study and run its trials",
        description="Join the study NAME of storage URL (created by `quantlab optimize`) and "
                    "run trials until it holds N completed trials.")
    p.add_argument("--storage", required=True, metavar="URL",
                   help="sqlite:///FILE, postgresql://..., or journal:FILE")
    p.add_argument("--study", required=True, metavar="NAME")
    p.add_argument("--n-trials", type=int, metavar="N",
                   help="completed trials the study should hold (default: its configuration's)")
    p.set_defaults(func=_worker)


# ---- configuration -------------------------------------------------------------------------

def load_config(path: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read and validate an optimize configuration (a YAML file or a dict already read).

    Raises
    ------
    InvalidParameterError
        Unknown keys (did-you-mean), a missing strategy / data / space (or grid), a bad
        method, backend or ``n_trials``.
    """
    caller = "quantlab optimize"
    if isinstance(path, Mapping):
        cfg = dict(path)
        stem = "study"
    else:
        import yaml

        file = Path(path)
        if not file.exists():
            raise InvalidParameterError(message("CONFIG", caller, "an existing YAML file",
                                                str(file)))
        cfg = yaml.safe_load(file.read_text()) or {}
        if not isinstance(cfg, dict):
            raise InvalidParameterError(message("CONFIG", caller, "a YAML mapping",
                                                type(cfg).__name__))
        stem = file.stem
    check_options(cfg, CONFIG_KEYS, caller=caller)
    for key in ("strategy", "data"):
        if key not in cfg:
            raise InvalidParameterError(message(key, caller, "given in the configuration",
                                                None, "See quantlab.optimize.commands."))
    search = dict(cfg.get("search") or {})
    check_options(search, _SEARCH_KEYS, caller=caller)
    search.setdefault("method", "optuna")
    check_choice("search.method", search["method"], ("optuna", "grid"), caller=caller)
    search.setdefault("metric", "sharpe")
    if search["method"] == "optuna":
        search["n_trials"] = check_int("search.n_trials", search.get("n_trials", 50),
                                       caller=caller, minimum=1)
    cfg["search"] = search
    need = "space" if search["method"] == "optuna" else "grid"
    if not isinstance(cfg.get(need), Mapping) or not cfg[need]:
        raise InvalidParameterError(message(need, caller, f"a non-empty mapping (search.method "
                                            f"is {search['method']!r})", cfg.get(need)))
    backend = dict(cfg.get("backend") or {})
    check_options(backend, _BACKEND_KEYS, caller=caller)
    backend.setdefault("name", "local")
    backend.setdefault("n_jobs", -1)
    cfg["backend"] = backend
    cfg.setdefault("study", stem)
    cfg.setdefault("window", {})
    cfg.setdefault("backtest", {})
    cfg.setdefault("storage", None)
    cfg.setdefault("out", "reports/optimize")
    check_options(dict(cfg["window"] or {}), ("start", "end"), caller=caller)
    return cfg


def _grid(spec: Mapping[str, Any]) -> dict[str, list[Any]]:
    """YAML grid -> sweep grid: lists stay; ``{low, high, step}`` becomes the inclusive range."""
    out: dict[str, list[Any]] = {}
    for name, values in spec.items():
        if isinstance(values, Mapping):
            low, high, step = values["low"], values["high"], values.get("step", 1)
            if all(isinstance(v, int) for v in (low, high, step)):
                out[name] = list(range(low, high + 1, step))
            else:
                import numpy as np

                n = int(round((high - low) / step)) + 1
                out[name] = [float(v) for v in np.linspace(low, low + (n - 1) * step, n)]
        elif isinstance(values, list):
            out[name] = values
        else:
            out[name] = [values]
    return out


def _data(cfg: Mapping[str, Any]) -> Any:
    from quantlab.data.sources import open_data

    spec = dict(cfg["data"])
    return open_data(caller="quantlab optimize", **spec)


def _strategy(cfg: Mapping[str, Any]) -> type:
    from quantlab.strategy.registry import strategy_class

    return strategy_class(cfg["strategy"], caller="quantlab optimize")


def _window(cfg: Mapping[str, Any]) -> tuple[Any, Any]:
    window = cfg.get("window") or {}
    return window.get("start"), window.get("end")


def _metric(search: Mapping[str, Any]) -> Any:
    metric = search["metric"]
    return metric if isinstance(metric, str) else list(metric)


def run_config(cfg: Mapping[str, Any], *, create_only: bool = False,
               n_trials: int | None = None) -> Any:
    """Run the search a configuration describes (what ``quantlab optimize`` does).

    Returns the :class:`~quantlab.optimize.search.SearchResult`, the
    :class:`~quantlab.backtest.sweep.SweepResult`, the walk-forward result, or (with
    ``create_only``) the optuna study.
    """
    cfg = load_config(cfg)
    search = cfg["search"]
    strategy_cls = _strategy(cfg)
    start, end = _window(cfg)
    options = dict(cfg["backtest"])
    if cfg.get("splitter"):
        return _walk_forward(cfg, strategy_cls, options)
    if search["method"] == "grid":
        from quantlab.optimize.execution import sweep_tasks

        backend = cfg["backend"]
        return sweep_tasks(strategy_cls, _data(cfg), _grid(cfg["grid"]), backend=backend["name"],
                           scheduler=backend.get("scheduler"), n_jobs=backend["n_jobs"],
                           metric=_metric(search), start=start, end=end, **options)
    from quantlab.optimize.search import (
        default_directions,
        make_pruner,
        make_sampler,
    )
    from quantlab.optimize.storage import create_study

    metric = _metric(search)
    metrics = [metric] if isinstance(metric, str) else metric
    directions = search.get("directions") or list(default_directions(metrics))
    if create_only:
        sampler = make_sampler(search.get("sampler", "tpe"), seed=search.get("seed"),
                               n_objectives=len(metrics), caller="quantlab optimize")
        return create_study(cfg["study"], storage=cfg["storage"], directions=directions,
                            sampler=sampler, pruner=make_pruner(search.get("pruner")),
                            user_attrs={_CONFIG_ATTR: json.loads(json.dumps(cfg, default=str))})
    return _search(cfg, n_trials=n_trials, store_config=True)


def _search(cfg: dict[str, Any], *, n_trials: int | None, store_config: bool,
            seed_offset: int = 0) -> Any:
    from quantlab.optimize.search import optuna_search
    from quantlab.optimize.storage import create_study

    search = cfg["search"]
    metric = _metric(search)
    if store_config:
        from quantlab.optimize.search import default_directions

        metrics = [metric] if isinstance(metric, str) else metric
        create_study(cfg["study"], storage=cfg["storage"],
                     directions=search.get("directions") or list(default_directions(metrics)),
                     user_attrs={_CONFIG_ATTR: json.loads(json.dumps(cfg, default=str))})
    start, end = _window(cfg)
    seed = search.get("seed")
    return optuna_search(_strategy(cfg), _data(cfg), dict(cfg["space"]), start=start, end=end,
                         metric=metric, n_trials=n_trials or search["n_trials"],
                         sampler=search.get("sampler", "tpe"), storage=cfg["storage"],
                         study_name=cfg["study"],
                         seed=None if seed is None else int(seed) + seed_offset,
                         directions=search.get("directions"), pruner=search.get("pruner"),
                         **dict(cfg["backtest"]))


def run_worker(storage: str, study: str, *, n_trials: int | None = None) -> Any:
    """Join ``study`` of ``storage`` and run trials until it holds ``n_trials`` completed ones
    (default: its configuration's); what ``quantlab worker`` does.

    Each worker seeds its sampler with the configured seed plus its process id, so workers
    do not propose the same parameters.

    Raises
    ------
    InvalidParameterError
        No such study (did-you-mean), or one not created by ``quantlab optimize`` (no stored
        configuration).
    """
    import os

    from quantlab.optimize.storage import load_study

    existing = load_study(study, storage=storage)
    stored = existing.user_attrs.get(_CONFIG_ATTR)
    if stored is None:
        raise InvalidParameterError(message(
            "--study", "quantlab worker", "a study created by `quantlab optimize` (holding its "
            "configuration)", study, "Create it with `quantlab optimize CONFIG.yaml "
            "--create-only`."))
    cfg = load_config(stored)
    cfg["storage"] = storage  # the URL as this worker reaches it
    if n_trials is not None:
        n_trials = check_int("--n-trials", n_trials, caller="quantlab worker", minimum=1)
    return _search(cfg, n_trials=n_trials, store_config=False, seed_offset=os.getpid())


def _walk_forward(cfg: dict[str, Any], strategy_cls: type, options: dict[str, Any]) -> Any:
    try:
        from quantlab.optimize import splitters
        from quantlab.optimize.walkforward import walk_forward
    except ImportError as exc:
        raise InvalidParameterError(message("splitter", "quantlab optimize", "used with a "
                                            "quantlab that has quantlab.optimize.walkforward",
                                            cfg["splitter"], str(exc))) from exc
    spec = dict(cfg["splitter"])
    kind = spec.pop("type", "RollingSplit")
    names = [n for n in dir(splitters) if n.endswith(("Split", "KFold"))]
    cls = getattr(splitters, check_choice("splitter.type", kind, names, caller="quantlab optimize"))
    search = cfg["search"]
    space = dict(cfg["space"]) if search["method"] == "optuna" else _grid(cfg["grid"])
    backend = cfg["backend"]
    return walk_forward(strategy_cls, _data(cfg), space, splitter=cls(**spec),
                        metric=_metric(search), search=search["method"],
                        n_trials=search.get("n_trials") if search["method"] == "optuna" else None,
                        backend=backend["name"], scheduler=backend.get("scheduler"),
                        n_jobs=1 if backend["name"] == "local" and backend["n_jobs"] == -1
                        else backend["n_jobs"],
                        storage=cfg["storage"] if search["method"] == "optuna" else None,
                        study_name=cfg["study"], seed=search.get("seed"), progress=False,
                        **options)


# ---- command handlers ------------------------------------------------------------------------

def _optimize(args: argparse.Namespace) -> int:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = load_config(args.config)
    result = run_config(cfg, create_only=args.create_only, n_trials=args.n_trials)
    if args.create_only:
        print(f"study {cfg['study']!r} ready on {cfg['storage'] or 'the default SQLite file'}; "
              f"start workers: quantlab worker --storage URL --study {cfg['study']}")
        return 0
    table = getattr(result, "table", None)
    out = Path(cfg["out"])
    if isinstance(table, __import__("pandas").DataFrame):
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{cfg['study']}-trials.csv"
        table.to_csv(path, index=False)
        print(f"trials: {path.resolve()}")
    n = getattr(result, "n_trials", None)
    print(f"{cfg['strategy']} {cfg['search']['method']} search: {n} trials; "
          f"best parameters {getattr(result, 'best_params', None)}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = run_worker(args.storage, args.study, n_trials=args.n_trials)
    print(f"study {args.study!r}: {result.n_trials} completed trials; best "
          f"{result.best_params}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``optimize``/``worker`` alone (``python -m quantlab.optimize.commands worker ...``)."""
    from quantlab.errors import QuantlabError

    parser = argparse.ArgumentParser(prog="quantlab")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except QuantlabError as exc:
        print(f"quantlab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    raise SystemExit(main())

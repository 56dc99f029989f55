"""Optuna storages: one contract run against SQLite, a journal file and PostgreSQL (optuna's
``StorageTestCase`` idea): a study resumes with the same trial count, and four worker
processes sharing it complete exactly N trials without errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

from quantlab.errors import InvalidParameterError
from quantlab.optimize.commands import load_config, run_config
from quantlab.optimize.search import optuna_search
from quantlab.optimize.storage import create_study, load_study, resolve_storage
from quantlab.strategies import SmaCross

SPACE = {"fast": (2, 30), "slow": (10, 80)}
TS = optuna.trial.TrialState


def _count(study: optuna.Study, state: TS) -> int:
    return len(study.get_trials(deepcopy=False, states=(state,)))


@pytest.fixture(params=["sqlite", "journal", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    if request.param == "journal":
        return f"journal:{tmp_path / 'study.log'}"
    return request.getfixturevalue("postgres_url")


def test_resolve_storage_kinds(tmp_path: Path) -> None:
    from optuna.storages import InMemoryStorage, JournalStorage, RDBStorage

    assert isinstance(resolve_storage("memory", "s"), InMemoryStorage)
    assert isinstance(resolve_storage(f"journal:{tmp_path / 'a.log'}", "s"), JournalStorage)
    assert isinstance(resolve_storage(str(tmp_path / "b.journal"), "s"), JournalStorage)
    assert isinstance(resolve_storage(f"sqlite:///{tmp_path / 'c.db'}", "s"), RDBStorage)
    with pytest.raises(InvalidParameterError, match="needs a scheme"):
        resolve_storage(str(tmp_path / "c.db"), "s")


def test_default_storage_is_sqlite_under_reports(tmp_path: Path, bars, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = optuna_search(SmaCross, bars, SPACE, n_trials=3, seed=0, study_name="dflt")
    assert (tmp_path / "reports" / "optuna" / "dflt.db").exists()
    again = optuna.load_study(study_name="dflt",
                              storage=f"sqlite:///{tmp_path / 'reports/optuna/dflt.db'}")
    assert _count(again, TS.COMPLETE) == res.n_trials == 3


def test_interrupted_study_resumes_to_the_same_count(storage: str, bars) -> None:
    """Interrupt a 20-trial search after 7 completed trials (KeyboardInterrupt from a callback,
    as Ctrl-C), resume it from the storage: it ends with exactly 20 completed trials, the
    first 7 kept (same numbers and parameters)."""

    def interrupt(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if _count(study, TS.COMPLETE) >= 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        optuna_search(SmaCross, bars, SPACE, n_trials=20, storage=storage, study_name="resume",
                      seed=1, callbacks=[interrupt])
    study = optuna.load_study(study_name="resume", storage=resolve_storage(storage, "resume"))
    first = {t.number: t.params for t in study.get_trials(states=(TS.COMPLETE,))}
    assert len(first) == 7
    res = optuna_search(SmaCross, bars, SPACE, n_trials=20, storage=storage,
                        study_name="resume", seed=1)
    assert res.n_trials == 20
    assert _count(res.study, TS.COMPLETE) == 20
    assert _count(res.study, TS.FAIL) == 0
    kept = {t.number: t.params for t in res.study.get_trials(states=(TS.COMPLETE,))}
    assert {k: kept[k] for k in first} == first
    # a third call with the same target runs nothing
    n_before = len(res.study.trials)
    res = optuna_search(SmaCross, bars, SPACE, n_trials=20, storage=storage,
                        study_name="resume", seed=1)
    assert len(res.study.trials) == n_before and res.n_trials == 20


def test_study_holding_another_search_is_refused(tmp_path: Path, bars) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna_search(SmaCross, bars, SPACE, n_trials=2, storage=url, study_name="x", seed=0)
    with pytest.raises(InvalidParameterError, match="different search"):
        optuna_search(SmaCross, bars, {"fast": (2, 10), "slow": (10, 80)}, n_trials=2,
                      storage=url, study_name="x", seed=0)


def _config(tmp_path: Path, bars, storage: str, n_trials: int) -> dict:
    csv = tmp_path / "bars.csv"
    bars.to_csv(csv)
    return load_config({"study": "shared", "strategy": "SmaCross", "data": {"csv": str(csv)},
                        "search": {"method": "optuna", "metric": "sharpe",
                                   "n_trials": n_trials, "sampler": "random", "seed": 3},
                        "space": {"fast": {"low": 2, "high": 30}, "slow": {"low": 10, "high": 80}},
                        "backtest": {"fee_bps": 5}, "storage": storage})


def test_four_worker_processes_complete_exactly_n(storage: str, tmp_path: Path, bars) -> None:
    """The study is created first (``quantlab optimize --create-only``: schema and
    configuration), then four ``quantlab worker`` subprocesses share it: all exit 0, the study
    holds exactly N completed trials, none failed, and several workers contributed."""
    n = 16
    cfg = _config(tmp_path, bars, storage, n)
    study = run_config(cfg, create_only=True)
    assert study.user_attrs["quantlab_config"]["study"] == "shared"
    cmd = [sys.executable, "-m", "quantlab.optimize.commands", "worker", "--storage", storage,
           "--study", "shared"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert f"{n} completed trials" in out
    study = load_study("shared", storage=storage)
    assert _count(study, TS.COMPLETE) == n
    assert _count(study, TS.FAIL) == 0
    assert _count(study, TS.RUNNING) == 0
    workers = {t.user_attrs.get("pid") for t in study.trials} - {None}
    assert len(workers) >= 2, "the trials were not shared between the workers"


def test_worker_on_unknown_study_names_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    create_study("alpha", storage=url)
    res = subprocess.run([sys.executable, "-m", "quantlab.optimize.commands", "worker",
                          "--storage", url, "--study", "alpah"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2
    assert "Did you mean 'alpha'?" in res.stderr


# ---- the optimize command ------------------------------------------------------------------

def _write_yaml(path: Path, cfg: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(cfg))
    return path


def test_optimize_command_then_worker_extends_the_study(tmp_path: Path, bars) -> None:
    """`quantlab optimize CONFIG.yaml` (Optuna, SQLite): exit 0, the trial table CSV holds the
    completed trials and the best parameters printed are the study's; a worker then raises the
    same study to 12 completed trials."""
    csv = tmp_path / "bars.csv"
    bars.to_csv(csv)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cfg = {"study": "cli", "strategy": "SmaCross", "data": {"csv": str(csv)},
           "window": {"start": str(bars.index[200])},
           "search": {"method": "optuna", "n_trials": 6, "sampler": "tpe", "seed": 0},
           "space": {"fast": {"low": 2, "high": 20}, "slow": {"low": 25, "high": 80}},
           "backtest": {"fee_bps": 10}, "storage": url, "out": str(tmp_path / "out")}
    path = _write_yaml(tmp_path / "cli.yaml", cfg)
    run = subprocess.run([sys.executable, "-m", "quantlab.optimize.commands", "optimize",
                          str(path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    table = pd.read_csv(tmp_path / "out" / "cli-trials.csv")
    assert (table["state"] == "complete").sum() == 6
    study = load_study("cli", storage=url)
    assert str(study.best_trial.user_attrs["params"]) in run.stdout
    # each trial's value is the backtest's Sharpe on the configured window and fees
    from quantlab.backtest import backtest

    t = study.best_trial
    stats = backtest(bars, SmaCross(**t.user_attrs["params"]), start=bars.index[200],
                     fee_bps=10).stats()
    assert t.value == pytest.approx(stats["sharpe"], rel=1e-9)  # CSV round trip of the bars
    work = subprocess.run([sys.executable, "-m", "quantlab.optimize.commands", "worker",
                           "--storage", url, "--study", "cli", "--n-trials", "12"],
                          capture_output=True, text=True, timeout=300)
    assert work.returncode == 0, work.stderr[-2000:]
    assert _count(load_study("cli", storage=url), TS.COMPLETE) == 12


def test_grid_config_equals_sweep(bars, tmp_path: Path) -> None:
    from quantlab.backtest.sweep import sweep

    csv = tmp_path / "bars.csv"
    bars.to_csv(csv)
    cfg = {"strategy": "SmaCross", "data": {"csv": str(csv)},
           "search": {"method": "grid", "metric": "sortino"},
           "grid": {"fast": {"low": 2, "high": 10, "step": 4}, "slow": [20, 40]},
           "backtest": {"fee_bps": 5}, "backend": {"name": "local", "n_jobs": 1}}
    res = run_config(cfg)
    data = pd_read(csv)
    ref = sweep(SmaCross, data, {"fast": [2, 6, 10], "slow": [20, 40]}, fee_bps=5,
                metric="sortino", progress=False)
    pd.testing.assert_frame_equal(res.table, ref.table)
    assert res.config["path"] == "fused" and res.best_params == ref.best_params


def pd_read(csv: Path):
    from quantlab.data.sources import open_data

    return open_data(csv=csv)


def test_splitter_config_runs_walk_forward(bars, tmp_path: Path) -> None:
    wf = pytest.importorskip("quantlab.optimize.walkforward")
    from quantlab.optimize.splitters import RollingSplit

    csv = tmp_path / "bars.csv"
    bars.to_csv(csv)
    cfg = {"strategy": "SmaCross", "data": {"csv": str(csv)},
           "search": {"method": "grid"}, "grid": {"fast": [3, 5, 8], "slow": [20, 40]},
           "splitter": {"type": "RollingSplit", "train": 500, "test": 250, "step": 250}}
    res = run_config(cfg)
    ref = wf.walk_forward(SmaCross, pd_read(csv), {"fast": [3, 5, 8], "slow": [20, 40]},
                          splitter=RollingSplit(train=500, test=250, step=250), progress=False)
    pd.testing.assert_frame_equal(res.folds, ref.folds)


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'search'"):
        load_config({"strategy": "SmaCross", "data": {"dataset": "aapl"}, "serach": {}})
    with pytest.raises(InvalidParameterError, match="space"):
        load_config({"strategy": "SmaCross", "data": {"dataset": "aapl"}})
    with pytest.raises(InvalidParameterError, match="Did you mean 'grid'"):
        load_config({"strategy": "SmaCross", "data": {"dataset": "aapl"},
                     "search": {"method": "gird"}})
    with pytest.raises(InvalidParameterError, match="existing YAML"):
        load_config(tmp_path / "missing.yaml")


def test_worker_needs_a_study_created_by_optimize(tmp_path: Path) -> None:
    from quantlab.optimize.commands import run_worker

    url = f"sqlite:///{tmp_path / 'bare.db'}"
    create_study("bare", storage=url)
    with pytest.raises(InvalidParameterError, match="--create-only"):
        run_worker(url, "bare")

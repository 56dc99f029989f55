"""Scheduled notebook pipelines from ``config/pipelines.yaml``.

The file
--------
::

    output_dir: reports            # optional; relative paths are from the project root
    alert:                         # optional default for every pipeline
      webhook: https://hooks.example.com/T000/B000   # POSTed JSON when a run fails
    pipelines:
      daily_report:
        notebook: notebooks/backtest_report.ipynb
        parameters: {fast: 10, slow: 30}
        grid: {symbol: [aapl, msft]}    # optional: one run per combination (cartesian)
        schedule: "30 22 * * 1-5"       # cron: minute hour day month weekday
        timezone: UTC                   # optional, default UTC

The project root is the folder holding ``config/`` (or the file's folder otherwise).

Three ways to run them
----------------------
* ``quantlab pipelines run [NAME]`` — now, whatever the schedule.
* ``quantlab pipelines due`` — every pipeline whose schedule fired since its last run
  (never-run pipelines are due). Keeps its state in ``<output_dir>/.pipelines-state.json``
  and takes a lock so overlapping invocations never run a pipeline twice. One crontab
  line is enough::

      */5 * * * * cd /path/to/quantlab && .venv/bin/quantlab pipelines due >> reports/pipelines.log 2>&1

  or a systemd user timer (``~/.config/systemd/user/quantlab-pipelines.{service,timer}``)::

      # quantlab-pipelines.service
      [Service]
      Type=oneshot
      WorkingDirectory=/path/to/quantlab
      ExecStart=/path/to/quantlab/.venv/bin/quantlab pipelines due

      # quantlab-pipelines.timer
      [Timer]
      OnCalendar=*:0/5
      Persistent=true
      [Install]
      WantedBy=timers.target

  then ``systemctl --user enable --now quantlab-pipelines.timer``.
* ``quantlab pipelines serve`` — a foreground APScheduler process for machines without cron.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from quantlab._validate import check_options, did_you_mean
from quantlab.errors import InvalidParameterError, QuantlabWarning, ReportError

__all__ = [
    "Pipeline",
    "PipelineConfig",
    "PipelineRun",
    "load_pipelines",
    "run_pipeline",
    "run_pipelines",
    "due_pipelines",
    "run_due",
    "build_scheduler",
    "serve",
    "send_alert",
]

_PIPELINE_KEYS = ("notebook", "parameters", "grid", "schedule", "timezone", "alert", "description")
_TOP_KEYS = ("output_dir", "alert", "pipelines", "timezone")
_STATE = ".pipelines-state.json"
_LOCK = ".pipelines.lock"


@dataclass(frozen=True)
class Pipeline:
    """One named pipeline: a notebook, its parameters, an optional grid and a cron schedule."""

    name: str
    notebook: Path
    parameters: dict[str, Any]
    schedule: str | None
    grid: dict[str, list[Any]] = field(default_factory=dict)
    timezone: str = "UTC"
    webhook: str | None = None
    description: str = ""

    def combinations(self) -> list[dict[str, Any]]:
        """The parameter sets of one run: ``parameters`` updated by each grid combination."""
        if not self.grid:
            return [dict(self.parameters)]
        keys = list(self.grid)
        return [{**self.parameters, **dict(zip(keys, values))}
                for values in itertools.product(*(self.grid[k] for k in keys))]

    def trigger(self) -> Any:
        """The APScheduler ``CronTrigger`` of :attr:`schedule` (None without a schedule)."""
        if self.schedule is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger.from_crontab(self.schedule, timezone=self.timezone)


@dataclass(frozen=True)
class PipelineConfig:
    """The parsed ``pipelines.yaml``."""

    path: Path
    root: Path
    output_dir: Path
    pipelines: dict[str, Pipeline]

    def get(self, name: str) -> Pipeline:
        """Return the pipeline ``name`` or raise with a did-you-mean."""
        if name not in self.pipelines:
            hint = did_you_mean(name, self.pipelines) or ""
            known = ", ".join(self.pipelines) or "(none)"
            raise InvalidParameterError(f"No pipeline named {name!r} in {self.path}. {hint} "
                                        f"Known pipelines: {known}.".replace("  ", " "))
        return self.pipelines[name]


@dataclass
class PipelineRun:
    """The runs of one pipeline invocation (one per grid combination)."""

    name: str
    runs: list[Any] = field(default_factory=list)        # RunResult
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every combination ran."""
        return not self.failures


def _project_root(path: Path) -> Path:
    parent = path.resolve().parent
    return parent.parent if parent.name == "config" else parent


def load_pipelines(path: str | os.PathLike[str] = "config/pipelines.yaml") -> PipelineConfig:
    """Read and validate a pipelines file.

    Parameters
    ----------
    path : path, default "config/pipelines.yaml"

    Returns
    -------
    PipelineConfig

    Raises
    ------
    ReportError
        The file is missing or not YAML.
    InvalidParameterError
        Unknown keys (with a did-you-mean), a bad cron expression, a grid that is not a
        mapping of lists, a missing notebook.
    """
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ReportError(f"The pipelines file {path} does not exist. Create it (see "
                          "quantlab.report.pipelines for the format) or pass --config.") from exc
    except yaml.YAMLError as exc:
        raise ReportError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"{path} must hold a mapping with a `pipelines` key; got "
                                    f"{type(raw).__name__}.")
    check_options(raw, _TOP_KEYS, caller=f"pipelines file {path.name}")
    root = _project_root(path)
    output_dir = Path(raw.get("output_dir") or "reports")
    output_dir = output_dir if output_dir.is_absolute() else root / output_dir
    default_alert = (raw.get("alert") or {}).get("webhook")
    default_tz = raw.get("timezone") or "UTC"
    entries = raw.get("pipelines") or {}
    if not isinstance(entries, dict):
        raise InvalidParameterError(f"`pipelines` in {path} must be a mapping of name -> "
                                    f"pipeline; got {type(entries).__name__}.")
    pipelines = {}
    for name, spec in entries.items():
        where = f"pipeline {name!r} of {path.name}"
        if not isinstance(spec, dict):
            raise InvalidParameterError(f"{where} must be a mapping; got {spec!r}.")
        check_options(spec, _PIPELINE_KEYS, caller=where)
        if "notebook" not in spec:
            raise InvalidParameterError(f"{where} needs a `notebook` (path to the .ipynb).")
        notebook = Path(spec["notebook"])
        notebook = notebook if notebook.is_absolute() else root / notebook
        params = spec.get("parameters") or {}
        grid = spec.get("grid") or {}
        if not isinstance(params, dict):
            raise InvalidParameterError(f"`parameters` of {where} must be a mapping; got {params!r}.")
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
            raise InvalidParameterError(f"`grid` of {where} must map names to non-empty lists, "
                                        f"e.g. {{symbol: [aapl, msft]}}; got {grid!r}.")
        pipeline = Pipeline(name=str(name), notebook=notebook, parameters=dict(params),
                            schedule=spec.get("schedule"), grid=dict(grid),
                            timezone=str(spec.get("timezone") or default_tz),
                            webhook=(spec.get("alert") or {}).get("webhook", default_alert),
                            description=str(spec.get("description") or ""))
        try:
            pipeline.trigger()
        except (ValueError, LookupError) as exc:
            raise InvalidParameterError(
                f"`schedule` of {where} must be a cron expression 'minute hour day month "
                f"weekday' (e.g. '30 22 * * 1-5') with a valid timezone; got "
                f"{pipeline.schedule!r} ({exc}).") from exc
        pipelines[str(name)] = pipeline
    return PipelineConfig(path=path, root=root, output_dir=output_dir, pipelines=pipelines)


def send_alert(url: str, payload: dict[str, Any], *, timeout: float = 10.0) -> bool:
    """POST ``payload`` as JSON to a webhook; return True on a 2xx answer.

    A failing webhook never raises: it warns (``QuantlabWarning``) and returns False, so
    an unreachable alert endpoint cannot hide the run's own failure.
    """
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "quantlab-pipelines"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return 200 <= answer.status < 300
    except OSError as exc:
        warnings.warn(f"The failure alert to {url} could not be sent: {exc}.", QuantlabWarning,
                      stacklevel=2)
        return False


def run_pipeline(pipeline: Pipeline, *, output_dir: str | os.PathLike[str],
                 progress: bool = True) -> PipelineRun:
    """Run every parameter combination of ``pipeline`` now; alert on failure.

    Failures (bad parameters or a failing cell) are collected, not raised, so one bad
    combination does not stop the others; ``PipelineRun.ok`` says whether all ran.
    """
    from tqdm.auto import tqdm

    from quantlab.report.runner import NotebookRunError, run_notebook

    outcome = PipelineRun(pipeline.name)
    combos = pipeline.combinations()
    bar = tqdm(combos, desc=pipeline.name, unit="run", disable=not progress or len(combos) < 2)
    for params in bar:
        try:
            run = run_notebook(pipeline.notebook, params, output_dir=output_dir,
                               extra={"pipeline": pipeline.name})
            outcome.runs.append(run)
        except NotebookRunError as exc:
            outcome.runs.append(exc.result)
            outcome.failures.append({"parameters": params, "error": str(exc),
                                     "manifest": str(exc.result.manifest_path)})
        except (ReportError, ValueError) as exc:  # bad parameters / dataset: nothing ran
            outcome.failures.append({"parameters": params, "error": str(exc), "manifest": None})
    if outcome.failures and pipeline.webhook:
        send_alert(pipeline.webhook, {
            "text": f"quantlab pipeline {pipeline.name!r}: {len(outcome.failures)} of "
                    f"{len(combos)} run(s) failed",
            "pipeline": pipeline.name, "status": "failed", "failures": outcome.failures})
    return outcome


def run_pipelines(config: PipelineConfig, names: list[str] | None = None, *,
                  progress: bool = True) -> list[PipelineRun]:
    """Run the named pipelines (all when ``names`` is empty) now and record them as run."""
    chosen = [config.get(n) for n in names] if names else list(config.pipelines.values())
    with _locked(config.output_dir) as got:
        if not got:
            raise ReportError(f"Another `quantlab pipelines` process holds "
                              f"{config.output_dir / _LOCK}; try again when it finishes.")
        return [_run_and_mark(config, p, progress) for p in chosen]


def _run_and_mark(config: PipelineConfig, pipeline: Pipeline, progress: bool) -> PipelineRun:
    started = datetime.now(UTC)
    outcome = run_pipeline(pipeline, output_dir=config.output_dir, progress=progress)
    state = _read_state(config.output_dir)
    state[pipeline.name] = {"last_run": started.isoformat(),
                            "status": "ok" if outcome.ok else "failed",
                            "runs": [str(r.run_dir) for r in outcome.runs]}
    _write_state(config.output_dir, state)
    return outcome


def _read_state(output_dir: Path) -> dict[str, Any]:
    path = output_dir / _STATE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_state(output_dir: Path, state: dict[str, Any]) -> None:
    from quantlab.report.html import atomic_write_text

    atomic_write_text(output_dir / _STATE, json.dumps(state, indent=2) + "\n")


@contextlib.contextmanager
def _locked(output_dir: Path) -> Iterator[bool]:
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / _LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def due_pipelines(config: PipelineConfig, *, now: datetime | None = None) -> list[Pipeline]:
    """Return the scheduled pipelines whose schedule fired since their last recorded run.

    A pipeline is due when it has never run, or when its cron trigger's first fire time
    after the last run is at or before ``now``. Pipelines without ``schedule`` never are.
    """
    now = now or datetime.now(UTC)
    state = _read_state(config.output_dir)
    due = []
    for pipeline in config.pipelines.values():
        trigger = pipeline.trigger()
        if trigger is None:
            continue
        last = (state.get(pipeline.name) or {}).get("last_run")
        if last is None:
            due.append(pipeline)
            continue
        after = datetime.fromisoformat(last) + timedelta(seconds=1)
        nxt = trigger.get_next_fire_time(None, after)
        if nxt is not None and nxt <= now:
            due.append(pipeline)
    return due


def run_due(config: PipelineConfig, *, now: datetime | None = None,
            progress: bool = False) -> list[PipelineRun] | None:
    """Run what :func:`due_pipelines` returns; None when another process holds the lock."""
    with _locked(config.output_dir) as got:
        if not got:
            return None
        return [_run_and_mark(config, p, progress) for p in due_pipelines(config, now=now)]


def build_scheduler(config: PipelineConfig, scheduler: Any = None) -> Any:
    """Add one cron job per scheduled pipeline to an APScheduler scheduler (default blocking).

    Jobs coalesce missed runs, never overlap (``max_instances=1``) and accept a run up to
    an hour late (``misfire_grace_time=3600``).
    """
    if scheduler is None:
        from apscheduler.schedulers.blocking import BlockingScheduler

        scheduler = BlockingScheduler(timezone="UTC")
    for pipeline in config.pipelines.values():
        trigger = pipeline.trigger()
        if trigger is None:
            continue
        scheduler.add_job(_run_and_mark, trigger, args=(config, pipeline, False),
                          id=pipeline.name, name=pipeline.name, max_instances=1,
                          coalesce=True, misfire_grace_time=3600, replace_existing=True)
    return scheduler


def serve(config: PipelineConfig) -> None:  # pragma: no cover - blocks until interrupted
    """Run the pipelines on their schedules in the foreground until Ctrl-C (APScheduler)."""
    scheduler = build_scheduler(config)
    for job in scheduler.get_jobs():
        print(f"scheduled {job.name}: {job.trigger}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)

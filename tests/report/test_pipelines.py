"""Pipelines: config validation, grids, what is due, locking, alerts, the scheduler, the CLI."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from quantlab.errors import InvalidParameterError, QuantlabWarning, ReportError
from quantlab.report import pipelines as P
from quantlab.report.commands import main
from quantlab.report.pipelines import load_pipelines

NOTEBOOKS = Path(__file__).parent / "notebooks"
TINY = NOTEBOOKS / "tiny.ipynb"
PROJECT = Path(__file__).parents[2]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "pipelines.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Hook.received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_config_paths_grid_and_defaults(tmp_path):
    path = write_config(tmp_path, f"""
output_dir: out
alert: {{webhook: "http://127.0.0.1:9/x"}}
pipelines:
  one:
    notebook: {TINY}
    parameters: {{x: 1}}
    grid: {{x: [1, 2], y: [a, b]}}
    schedule: "0 6 * * 1-5"
  manual:
    notebook: notebooks/rel.ipynb
""")
    config = P.load_pipelines(path)
    assert config.root == tmp_path and config.output_dir == tmp_path / "out"
    one = config.get("one")
    assert one.combinations() == [{"x": 1, "y": "a"}, {"x": 1, "y": "b"},
                                  {"x": 2, "y": "a"}, {"x": 2, "y": "b"}]
    assert one.webhook == "http://127.0.0.1:9/x" and one.timezone == "UTC"
    manual = config.get("manual")
    assert manual.notebook == tmp_path / "notebooks" / "rel.ipynb"
    assert manual.schedule is None and manual.combinations() == [{}]
    with pytest.raises(InvalidParameterError, match="Did you mean 'one'"):
        config.get("onee")


@pytest.mark.parametrize("body, match", [
    ("pipelines: {a: {notebook: x.ipynb, shedule: '* * * * *'}}", "Did you mean 'schedule'"),
    ("pipelines: {a: {notebook: x.ipynb, schedule: '61 * * * *'}}", "cron expression"),
    ("pipelines: {a: {notebook: x.ipynb, schedule: '0 6 * * *', timezone: Mars/Base}}",
     "valid timezone"),
    ("pipelines: {a: {notebook: x.ipynb, grid: {symbol: aapl}}}", "non-empty lists"),
    ("pipelines: {a: {parameters: {}}}", "needs a `notebook`"),
    ("pipeline: {}", "Did you mean 'pipelines'"),
])
def test_config_errors(tmp_path, body, match):
    with pytest.raises(InvalidParameterError, match=match):
        P.load_pipelines(write_config(tmp_path, body))


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        P.load_pipelines(tmp_path / "nope.yaml")
    with pytest.raises(ReportError, match="not valid YAML"):
        P.load_pipelines(write_config(tmp_path, "pipelines: [unclosed"))


def test_shipped_config_is_valid():
    config = P.load_pipelines(PROJECT / "config" / "pipelines.yaml")
    assert config.root == PROJECT and config.output_dir == PROJECT / "reports"
    assert all(p.schedule for p in config.pipelines.values())
    assert len(config.get("daily_backtest").combinations()) == 4


def test_due_follows_the_cron_schedule(tmp_path):
    path = write_config(tmp_path, f"""
pipelines:
  daily: {{notebook: {TINY}, schedule: "0 6 * * *"}}
  manual: {{notebook: {TINY}}}
""")
    config = P.load_pipelines(path)
    t0 = datetime(2026, 3, 2, 6, 0, 30, tzinfo=UTC)
    assert [p.name for p in P.due_pipelines(config, now=t0)] == ["daily"]   # never run
    P._write_state(config.output_dir, {"daily": {"last_run": t0.isoformat()}})
    assert P.due_pipelines(config, now=t0 + timedelta(hours=23)) == []
    assert P.due_pipelines(config, now=datetime(2026, 3, 3, 5, 59, 59, tzinfo=UTC)) == []
    due = P.due_pipelines(config, now=datetime(2026, 3, 3, 6, 0, 0, tzinfo=UTC))
    assert [p.name for p in due] == ["daily"]
    # a missed week still means one run, not seven
    assert len(P.due_pipelines(config, now=t0 + timedelta(days=7))) == 1


def test_run_due_runs_alerts_records_state_and_locks(tmp_path, webhook):
    url, received = webhook
    path = write_config(tmp_path, f"""
alert: {{webhook: "{url}"}}
pipelines:
  tiny:
    notebook: {TINY}
    grid: {{x: [21]}}
    schedule: "0 6 * * *"
  broken:
    notebook: {TINY}
    parameters: {{nope: 1}}
    schedule: "0 6 * * *"
""")
    config = P.load_pipelines(path)
    outcomes = {o.name: o for o in P.run_due(config)}
    assert outcomes["tiny"].ok and outcomes["tiny"].runs[0].records == {"x2": 42}
    manifest = json.loads(outcomes["tiny"].runs[0].manifest_path.read_text())
    assert manifest["extra"] == {"pipeline": "tiny"}
    assert not outcomes["broken"].ok and "no parameter `nope`" in \
        outcomes["broken"].failures[0]["error"]
    # one alert, for the broken pipeline only
    assert len(received) == 1 and received[0]["pipeline"] == "broken"
    assert received[0]["failures"][0]["parameters"] == {"nope": 1}
    state = json.loads((config.output_dir / ".pipelines-state.json").read_text())
    assert state["tiny"]["status"] == "ok" and state["broken"]["status"] == "failed"
    assert (config.output_dir / "index.html").exists()
    assert P.run_due(config) == []                                   # nothing due any more
    with P._locked(config.output_dir) as got:                         # a second process
        assert got
        assert P.run_due(config, now=datetime(2100, 1, 1, tzinfo=UTC)) is None
        with pytest.raises(ReportError, match="Another `quantlab pipelines` process"):
            P.run_pipelines(config, ["tiny"])


def test_alert_failure_warns_and_never_raises():
    with pytest.warns(QuantlabWarning, match="could not be sent"):
        assert P.send_alert("http://127.0.0.1:9/nothing-listens", {"x": 1}, timeout=2) is False


def test_scheduler_has_one_job_per_scheduled_pipeline(tmp_path):
    from apscheduler.schedulers.background import BackgroundScheduler

    path = write_config(tmp_path, f"""
pipelines:
  a: {{notebook: {TINY}, schedule: "30 22 * * 1-5", timezone: America/New_York}}
  b: {{notebook: {TINY}, schedule: "*/15 * * * *"}}
  c: {{notebook: {TINY}}}
""")
    scheduler = P.build_scheduler(P.load_pipelines(path), BackgroundScheduler(timezone="UTC"))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"a", "b"}
    assert jobs["a"].max_instances == 1 and jobs["a"].coalesce
    nxt = jobs["a"].trigger.get_next_fire_time(None, datetime(2026, 3, 6, 12, tzinfo=UTC))
    assert (nxt.hour, nxt.minute, str(nxt.tzinfo)) == (22, 30, "America/New_York")


def test_cli_pipelines(tmp_path, capsys):
    path = write_config(tmp_path, f"pipelines: {{a: {{notebook: {TINY}, schedule: '0 6 * * *'}}}}")
    assert main(["pipelines", "--config", str(path), "list"]) == 0
    assert "a: " in capsys.readouterr().out
    assert main(["pipelines", "--config", str(path), "run", "aa"]) == 2
    assert "Did you mean 'a'" in capsys.readouterr().err
    assert main(["pipelines", "--config", str(tmp_path / "none.yaml"), "due"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_shipped_config_matches_the_notebooks():
    """config/pipelines.yaml loads, and every grid combination of every pipeline passes the
    runner's parameter check for its notebook (names, types, datasets) before any run is due."""
    from quantlab.report.runner import validate_parameters

    config = load_pipelines(PROJECT / "config" / "pipelines.yaml")
    assert {"quickstart", "daily_backtest", "weekly_sweep", "regime_risk"} <= set(config.pipelines)
    for pipeline in config.pipelines.values():
        assert pipeline.notebook.exists()
        for combination in pipeline.combinations():
            validate_parameters(pipeline.notebook, combination)
    assert len(config.get("daily_backtest").combinations()) == 4


def test_bad_value_in_a_pipeline_fails_that_run_before_any_kernel(tmp_path, webhook):
    """A value the notebook's validation cell refuses (fast >= slow, a negative fee) is caught in-process
    by the runner: the pipeline records the failure, with no run folder, and alerts."""
    import time

    url, received = webhook
    notebook = PROJECT / "notebooks" / "backtest_report.ipynb"
    path = write_config(tmp_path, f"""
output_dir: out
alert: {{webhook: "{url}"}}
pipelines:
  bad:
    notebook: {notebook}
    parameters: {{fee_bps: -1.0}}
    grid: {{strategy_params: [{{fast: 50, slow: 20}}, {{fast: 10, slow: 20}}]}}
""")
    config = P.load_pipelines(path)
    clock = time.perf_counter()
    (outcome,) = P.run_pipelines(config, ["bad"], progress=False)
    assert time.perf_counter() - clock < 10.0   # two refusals, no kernel start
    assert outcome.runs == [] and len(outcome.failures) == 2
    assert "`fast` of SmaCross() must be < slow" in outcome.failures[0]["error"]
    assert "`fee_bps` of backtest_report() must be a finite number >= 0" in \
        outcome.failures[1]["error"]
    assert all(f["manifest"] is None for f in outcome.failures)
    assert not (tmp_path / "config" / "out" / "backtest_report").exists()
    assert received and received[0]["status"] == "failed"

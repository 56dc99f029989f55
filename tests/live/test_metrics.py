"""Metrics: the endpoint scraped over HTTP on 127.0.0.1 and parsed with prometheus_client's
own parser; loopback only; last-bar age at scrape time; the heartbeat watchdog; the Grafana
dashboard references only exported metrics; a real Prometheus (Debian's) scrapes it.

Oracles: the parsed exposition (what Prometheus would read), bucket counts computed here
from the observed values, Prometheus's own query API.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from quantlab.errors import InvalidParameterError
from quantlab.live._errors import LiveError
from quantlab.live.metrics import DECISION_BUCKETS, ROUND_TRIP_BUCKETS, Heartbeat, LiveMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "config" / "grafana" / "quantlab_live.json"
T0 = pd.Timestamp("2026-01-05 10:00", tz="UTC")
LATENCIES = [4e-6, 3e-5, 3e-5, 7e-4, 0.02, 0.3, 2.0]
ROUND_TRIPS = [0.0005, 0.04, 0.04, 1.5, 45.0]


class Clock:
    """A settable clock (Unix seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[LiveMetrics, Clock, int]]:
    clock = Clock(T0.timestamp() + 3600 + 90)
    metrics = LiveMetrics(run="t1", bar_duration_s=3600, clock=clock)
    _, port = metrics.serve()
    yield metrics, clock, port
    metrics.close()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics on loopback, parsed: (sample name, sorted labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted({"run": "t1", **labels}.items())))]


def observe_run(metrics: LiveMetrics) -> None:
    """Three bars, orders, fills, round trips, drift (the values the tests check)."""
    for i, (equity, btc, state) in enumerate([(1000.0, 0.0, "ACTIVE"), (1012.5, 0.25, "ACTIVE"),
                                              (990.25, -0.5, "REDUCING")]):
        metrics.observe_bar(T0 + pd.Timedelta(hours=i), equity=equity, cash=equity - 100.0,
                            positions={"BTC/USDT": btc, "ETH/USDT": 2.0 * i},
                            guard_state=state, latency_s=LATENCIES[i])
    for latency in LATENCIES[3:]:
        metrics.observe_bar(T0 + pd.Timedelta(hours=2), equity=990.25, cash=890.25,
                            positions={}, guard_state="REDUCING", latency_s=latency)
    for state in ("SUBMITTED", "ACCEPTED", "FILLED", "SUBMITTED", "REJECTED"):
        metrics.observe_order(state)
    metrics.observe_fill()
    metrics.observe_fill(3)
    metrics.observe_reject()
    for seconds in ROUND_TRIPS:
        metrics.observe_round_trip(seconds)
    metrics.observe_drift("BTC/USDT", -0.125)
    metrics.observe_alert("data")
    metrics.observe_alert_failure("webhook")


def test_scraped_values_equal_what_was_observed(served):
    metrics, clock, port = served
    observe_run(metrics)
    s = scrape(port)
    assert value(s, "quantlab_live_equity") == 990.25
    assert value(s, "quantlab_live_cash") == 890.25
    assert value(s, "quantlab_live_position", symbol="BTC/USDT") == -0.5
    assert value(s, "quantlab_live_position", symbol="ETH/USDT") == 4.0
    assert value(s, "quantlab_live_bars_total") == 7
    assert value(s, "quantlab_live_orders_total", state="SUBMITTED") == 2
    assert value(s, "quantlab_live_orders_total", state="FILLED") == 1
    assert value(s, "quantlab_live_orders_total", state="CANCELLED") == 0  # exported at 0
    assert value(s, "quantlab_live_fills_total") == 4
    assert value(s, "quantlab_live_rejects_total") == 2  # one REJECTED order + one local
    assert value(s, "quantlab_live_reconciliation_drift", symbol="BTC/USDT") == -0.125
    assert value(s, "quantlab_live_alerts_total", kind="data") == 1
    assert value(s, "quantlab_live_alerts_total", kind="halt") == 0
    assert value(s, "quantlab_live_alert_failures_total", sink="webhook") == 1
    assert value(s, "quantlab_live_guard_state") == 1
    assert [value(s, "quantlab_live_guard_status", state=g) for g in
            ("ACTIVE", "REDUCING", "HALTED")] == [0, 1, 0]
    last_close = (T0 + pd.Timedelta(hours=3)).timestamp()
    assert value(s, "quantlab_live_last_bar_timestamp_seconds") == last_close
    assert value(s, "quantlab_live_heartbeat_timestamp_seconds") == clock.now
    for name, observed, buckets in (
            ("quantlab_live_decision_latency_seconds", LATENCIES, DECISION_BUCKETS),
            ("quantlab_live_order_round_trip_seconds", ROUND_TRIPS, ROUND_TRIP_BUCKETS)):
        for le in buckets:
            expected = sum(x <= le for x in observed)
            assert value(s, f"{name}_bucket", le=_le(le)) == expected, (name, le)
        assert value(s, f"{name}_bucket", le="+Inf") == len(observed)
        assert value(s, f"{name}_count") == len(observed)
        assert value(s, f"{name}_sum") == pytest.approx(sum(observed), rel=1e-12)



def _le(bound: float) -> str:
    """The ``le`` label as prometheus_client writes it (floatToGoString)."""
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(bound))


def test_histogram_bounds_span_10_microseconds_to_1_second():
    assert DECISION_BUCKETS[0] == 1e-5 and DECISION_BUCKETS[-1] == 1.0
    assert list(DECISION_BUCKETS) == sorted(DECISION_BUCKETS)


def test_last_bar_age_is_computed_at_scrape_time_from_the_clock(served):
    metrics, clock, port = served
    assert math.isnan(value(scrape(port), "quantlab_live_last_bar_age_seconds"))
    metrics.observe_bar(T0, equity=1.0, cash=1.0, positions={}, guard_state="ACTIVE",
                        latency_s=0.0)
    close = T0.timestamp() + 3600
    assert value(scrape(port), "quantlab_live_last_bar_age_seconds") == clock.now - close
    clock.now += 1234.5  # no new bar: the age grows at each scrape
    assert value(scrape(port), "quantlab_live_last_bar_age_seconds") == clock.now - close
    metrics.observe_bar(T0 + pd.Timedelta(hours=1), equity=1.0, cash=1.0, positions={},
                        guard_state="HALTED", latency_s=0.0)
    assert value(scrape(port), "quantlab_live_last_bar_age_seconds") == clock.now - close - 3600


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.10", "example.com"])
def test_non_loopback_bind_is_refused(host):
    metrics = LiveMetrics(run="t1")
    with pytest.raises(InvalidParameterError, match="allow_remote=True") as info:
        metrics.serve(host=host)
    assert "`host` of LiveMetrics.serve() must be a loopback address" in str(info.value)
    assert metrics._server is None


def test_serve_twice_refused_close_frees_the_port_and_port_in_use_is_clear():
    metrics = LiveMetrics(run="t1")
    _, port = metrics.serve("localhost")
    try:
        with pytest.raises(LiveError, match=f"already serving on port {port}"):
            metrics.serve()
        other = LiveMetrics(run="t2")
        with pytest.raises(LiveError, match=f"cannot listen on 127.0.0.1:{port}"):
            other.serve(port=port)
    finally:
        metrics.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


def test_each_instance_has_its_own_registry_never_the_global_one():
    a, b = LiveMetrics(run="same"), LiveMetrics(run="same")  # no duplicate-name error
    a.observe_fill(2)
    assert a.sample("quantlab_live_fills_total") == 2
    assert b.sample("quantlab_live_fills_total") == 0
    assert REGISTRY.get_sample_value("quantlab_live_fills_total", {"run": "same"}) is None


def test_bad_inputs_name_the_parameter():
    m = LiveMetrics(run="t1")
    with pytest.raises(InvalidParameterError, match="Did you mean 'HALTED'"):
        m.observe_bar(T0, equity=1.0, cash=1.0, positions={}, guard_state="HALTD",
                      latency_s=0.0)
    with pytest.raises(InvalidParameterError, match="`latency_s` of LiveMetrics.observe_bar"):
        m.observe_bar(T0, equity=1.0, cash=1.0, positions={}, guard_state="ACTIVE",
                      latency_s=-1.0)
    with pytest.raises(InvalidParameterError, match=r"`positions\['X'\]`"):
        m.observe_bar(T0, equity=1.0, cash=1.0, positions={"X": "1"}, guard_state="ACTIVE",
                      latency_s=0.0)
    with pytest.raises(InvalidParameterError, match="Did you mean 'FILLED'"):
        m.observe_order("FILED")
    with pytest.raises(InvalidParameterError, match="`run` of LiveMetrics"):
        LiveMetrics(run="")
    assert m.sample("quantlab_live_bars_total") == 0  # nothing half-recorded
    m.observe_bar(T0, equity=math.nan, cash=1.0, positions={}, guard_state="HALTED",
                  latency_s=0.0)
    assert math.isnan(m.sample("quantlab_live_equity"))  # NaN is shown, not refused


# ---- heartbeat --------------------------------------------------------------------------
def test_heartbeat_fires_once_per_missed_period_with_a_fake_clock():
    clock, ages = Clock(100.0), []
    hb = Heartbeat(10.0, ages.append, clock=clock)
    for now in (105.0, 109.99, 110.0, 115.0, 119.0, 120.5, 121.0, 145.0, 146.0, 149.9, 150.0):
        clock.now = now
        hb.check()
    # a jump over several periods gives one call; the next one comes at the next period
    assert ages == [10.0, 20.5, 45.0, 50.0]
    hb.beat()  # re-armed: the next call waits a whole period again
    clock.now = 159.0
    assert hb.check() is False
    clock.now = 160.0
    assert hb.check() is True and ages[-1] == 10.0


@pytest.mark.timeout(30)
def test_heartbeat_thread_calls_back_and_stops_cleanly():
    clock, called = Clock(0.0), threading.Event()
    ages: list[float] = []

    def on_missed(age: float) -> None:
        ages.append(age)
        called.set()
        raise RuntimeError("a failing callback must not kill the watchdog")

    hb = Heartbeat(5.0, on_missed, clock=clock, poll_s=0.01).start()
    try:
        time.sleep(0.1)
        assert ages == []  # the clock did not move
        clock.now = 6.0
        assert called.wait(5.0)
        called.clear()
        clock.now = 11.0
        assert called.wait(5.0)  # still alive after the callback raised
        time.sleep(0.1)
        assert ages == [6.0, 11.0] and hb.missed == 2
    finally:
        assert hb.stop(timeout_s=5.0) is True
    assert not hb.is_running
    clock.now = 100.0
    time.sleep(0.05)
    assert ages == [6.0, 11.0]  # stopped: no more calls


def test_heartbeat_checks_its_arguments():
    with pytest.raises(InvalidParameterError, match="`interval_s` of Heartbeat"):
        Heartbeat(0, print)
    with pytest.raises(InvalidParameterError, match="`on_missed` of Heartbeat"):
        Heartbeat(1.0, "print")  # type: ignore[arg-type]


# ---- Grafana dashboard ------------------------------------------------------------------
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
             "or", "unless", "offset"}


def promql_metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers outside label matchers, ranges,
    strings and grouping clauses that are not functions, keywords, numbers or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[m.end():].lstrip()
        if rest.startswith("(") or m.group() in _KEYWORDS:
            continue
        names.add(m.group())
    return names


def exported_names() -> set[str]:
    metrics = LiveMetrics(run="t1")
    observe_run(metrics)
    names: set[str] = set()
    for family in text_string_to_metric_families(metrics.exposition()):
        names.update(s.name for s in family.samples)
    return names


def test_dashboard_panels_use_only_exported_metrics():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    exported = exported_names()
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    variable = re.fullmatch(r"label_values\((\w+), run\)", variables["run"]["definition"])
    assert variable is not None and variable.group(1) in exported
    used: set[str] = set()
    for expr in exprs:
        names = promql_metric_names(expr)
        assert names, expr
        assert names <= exported, (expr, names - exported)
        used |= names
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
    joined = " ".join(exprs)
    for needed in ("quantlab_live_equity", "quantlab_live_position", "quantlab_live_orders_total",
                   "quantlab_live_fills_total", "quantlab_live_rejects_total",
                   "quantlab_live_guard_state", "quantlab_live_last_bar_age_seconds",
                   "quantlab_live_reconciliation_drift",
                   "quantlab_live_heartbeat_timestamp_seconds"):
        assert needed in used, needed
    for q in ("0.5", "0.99"):
        for h in ("decision_latency_seconds", "order_round_trip_seconds"):
            assert f"histogram_quantile({q}, sum by (le) (rate(quantlab_live_{h}_bucket" in joined


def test_the_promql_name_extractor_is_not_vacuous():
    assert promql_metric_names('histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="y"}'
                               '[$__rate_interval])))') == {"a_bucket"}
    assert promql_metric_names("time() - b_seconds offset 5m") == {"b_seconds"}
    assert promql_metric_names('c == 1 and on (run) d{s="e f"}') == {"c", "d"}


# ---- a real Prometheus ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        doc = json.loads(response.read())
    return list(doc["data"]["result"]) if doc.get("status") == "success" else []


@pytest.mark.timeout(120)
@pytest.mark.skipif(shutil.which("prometheus") is None,
                    reason="Debian's prometheus is not installed (apt-get install prometheus)")
def test_prometheus_scrapes_the_endpoint(tmp_path, served):
    metrics, _, port = served
    observe_run(metrics)
    prom_port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: quantlab\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n")
    log_path = tmp_path / "prometheus.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [str(shutil.which("prometheus")), f"--config.file={config}",
             f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=log_file, stderr=subprocess.STDOUT)
        try:
            up, equity, count = _poll_prometheus(prom_port, deadline_s=60.0)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    tail = log_path.read_text(errors="replace")[-2000:]
    assert up == 1.0, tail
    assert equity == 990.25, tail
    assert count == len(LATENCIES), tail


def _poll_prometheus(port: int, *, deadline_s: float) -> tuple[float, float, float]:
    """Query until up == 1 and the equity series is there (bounded); the last values seen."""
    up = equity = count = math.nan
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            ups = _query(port, 'up{job="quantlab"}')
            eqs = _query(port, 'quantlab_live_equity{run="t1"}')
            cnt = _query(port, 'quantlab_live_decision_latency_seconds_count{run="t1"}')
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            ups, eqs, cnt = [], [], []
        if ups:
            up = float(ups[0]["value"][1])
        if eqs and cnt:
            equity, count = float(eqs[0]["value"][1]), float(cnt[0]["value"][1])
        if up == 1.0 and not math.isnan(equity):
            break
        time.sleep(0.25)
    return up, equity, count


@pytest.mark.timeout(30)
def test_heartbeat_stop_that_times_out_keeps_the_thread_and_start_refuses():
    clock, entered, release = Clock(0.0), threading.Event(), threading.Event()
    calls: list[float] = []

    def hang(age: float) -> None:  # a callback stuck on a slow alert channel
        calls.append(age)
        entered.set()
        release.wait(10.0)

    hb = Heartbeat(5.0, hang, clock=clock, poll_s=0.01).start()
    try:
        clock.now = 6.0
        assert entered.wait(5.0)
        assert hb.stop(timeout_s=0.05) is False  # the callback still runs
        assert hb.is_running  # not forgotten: the thread is alive
        with pytest.raises(LiveError, match="previous watchdog thread has not ended"):
            hb.start()
        assert sum(t.name == "quantlab-heartbeat" and t.is_alive()
                   for t in threading.enumerate()) >= 1
    finally:
        release.set()
    assert hb.stop(timeout_s=5.0) is True and not hb.is_running
    hb.start()  # ended: a new watchdog may start
    try:
        assert hb.is_running
    finally:
        assert hb.stop(timeout_s=5.0) is True
    assert calls == [6.0]

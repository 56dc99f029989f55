"""Prometheus metrics of a live run, and the heartbeat watchdog.

:class:`LiveMetrics` holds the run's metrics on its **own** ``CollectorRegistry`` (never
prometheus_client's process-wide default registry: two runners in one process, or a test
next to a runner, never share or collide) and serves them on loopback. :class:`Heartbeat`
is a watchdog thread that calls back when no bar has been processed for a while.

Exported metrics (every one carries the label ``run``)::

    quantlab_live_equity                      gauge      account equity (quote currency)
    quantlab_live_cash                        gauge      cash
    quantlab_live_position{symbol}            gauge      position, units (signed)
    quantlab_live_orders_total{state}         counter    order events by the state entered
    quantlab_live_fills_total                 counter    fills applied
    quantlab_live_rejects_total               counter    orders rejected (locally or by the venue)
    quantlab_live_decision_latency_seconds    histogram  bar in -> decision out (10 us .. 1 s)
    quantlab_live_order_round_trip_seconds    histogram  request sent -> venue answer (1 ms .. 30 s)
    quantlab_live_guard_state                 gauge      0 ACTIVE, 1 REDUCING, 2 HALTED
    quantlab_live_guard_status{state}         gauge      1 for the current state, 0 for the others
    quantlab_live_last_bar_timestamp_seconds  gauge      close time of the last bar (Unix s)
    quantlab_live_last_bar_age_seconds        gauge      clock - last bar's close, at scrape time
    quantlab_live_reconciliation_drift{symbol} gauge     local - venue position, units
    quantlab_live_heartbeat_timestamp_seconds gauge      clock at the last processed bar
    quantlab_live_bars_total                  counter    bars processed
    quantlab_live_alerts_total{kind}          counter    alerts routed, by kind
    quantlab_live_alert_failures_total{sink}  counter    alert deliveries that failed, by sink

Design decisions
----------------
* **Plain arguments.** The runner calls ``observe_*`` with floats, strings and dicts, never
  with itself: metrics can be tested, and reused by another driver, without a runner.
* **Age at scrape time.** ``last_bar_age_seconds`` is a callback gauge evaluated when
  Prometheus scrapes, from the injectable ``clock``: a runner stuck inside a bar still shows
  a growing age (a value set at the last bar would freeze exactly when it matters). Before
  the first bar it is NaN.
* **Labels known up front** (order states, guard states, alert kinds) are exported at 0 from
  the start, so a rate() or a dashboard panel has a series before the first event.
* **Loopback only.** :meth:`LiveMetrics.serve` refuses any non-loopback address unless
  ``allow_remote=True``: the endpoint has no authentication and shows positions. Expose it
  through a reverse proxy, or bind remotely on purpose.
* **Lazy dependency.** ``prometheus_client`` is imported when :class:`LiveMetrics` is built,
  with a message saying what to install.
* **The heartbeat fires once per missed period**, not once per poll: with ``interval_s=60``
  a runner silent for 5 minutes calls ``on_missed`` 5 times (at ages ~60, 120, ... s), and a
  beat re-arms it. A callback that raises is logged and the watchdog keeps running.

Wiring into the runner (a few lines; see ``Runner.process``)::

    metrics = LiveMetrics(run=config.name, bar_duration_s=timeframe.total_seconds())
    server, port = metrics.serve(port=9108)            # 127.0.0.1 by default
    heartbeat = Heartbeat(3 * bar_s, lambda age: router.send("heartbeat",
                          f"no bar processed for {age:.0f} s"))
    heartbeat.start()
    ...  # after each bar's journal transaction:
    metrics.observe_bar(bar.time, equity=acc.equity, cash=acc.cash, positions=positions,
                        guard_state=guard.state, latency_s=latency_us / 1e6)
    heartbeat.beat()
    ...  # at shutdown:
    heartbeat.stop(); metrics.close()
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time as _time
from collections.abc import Callable, Mapping
from numbers import Real
from typing import TYPE_CHECKING, Any

from quantlab._validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_timestamp,
    message,
)
from quantlab.errors import InvalidParameterError
from quantlab.live._errors import LiveError
from quantlab.live.guard import ACTIVE, HALTED, REDUCING
from quantlab.live.orders import STATES

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["LiveMetrics", "Heartbeat", "GUARD_STATES", "ALERT_KINDS", "DECISION_BUCKETS",
           "ROUND_TRIP_BUCKETS", "PREFIX", "is_loopback"]

PREFIX = "quantlab_live"
#: Guard states in the order of their numeric code (0, 1, 2).
GUARD_STATES = (ACTIVE, REDUCING, HALTED)
#: Alert kinds the runner emits (exported at 0 from the start).
ALERT_KINDS = ("halt", "reject", "reconciliation", "data", "heartbeat", "foreign_order", "error")
#: Decision latency buckets, seconds: 10 us .. 1 s.
DECISION_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025,
                    0.05, 0.1, 0.25, 0.5, 1.0)
#: Order round-trip buckets, seconds: 1 ms .. 30 s (a venue's answer, network included).
ROUND_TRIP_BUCKETS = (1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                      10.0, 30.0)

log = logging.getLogger("quantlab.live.metrics")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost``, 127.0.0.0/8, ``::1``).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InvalidParameterError(
            "LiveMetrics needs prometheus_client; install it with "
            "`pip install prometheus_client`.") from exc
    return prometheus_client


def _epoch_seconds(value: Any, name: str, caller: str) -> float:
    """A time as Unix seconds: a number is taken as Unix seconds, else a timestamp."""
    if isinstance(value, Real) and not isinstance(value, bool):
        return check_float(name, value, caller=caller)
    return check_timestamp(name, value, caller=caller).value / 1e9


def _number(name: str, value: Any, caller: str) -> float:
    """``value`` as a float; NaN and inf pass (a gauge shows them), non-numbers raise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidParameterError(message(name, caller, "a number", value))
    return float(value)


class LiveMetrics:
    """The Prometheus metrics of one live run, on their own registry.

    Parameters
    ----------
    registry : prometheus_client.CollectorRegistry, optional
        Where to register; default a new registry (never the global default one).
    run : str
        The run's name, exported as the label ``run`` of every metric.
    bar_duration_s : float, default 0.0
        Bar length in seconds: ``observe_bar(time)`` takes the bar's open time and the close
        is ``time + bar_duration_s`` (pass 0 if you pass close times).
    clock : callable, optional
        Unix time in seconds (default :func:`time.time`); used for the last bar's age and
        the heartbeat timestamp. Inject a fake one in tests.

    Examples
    --------
    >>> m = LiveMetrics(run="demo", clock=lambda: 1_700_000_100.0)
    >>> m.observe_bar(1_700_000_000.0, equity=1000.0, cash=400.0, positions={"BTC/USDT": 0.5},
    ...               guard_state="ACTIVE", latency_s=0.002)
    >>> m.sample("quantlab_live_last_bar_age_seconds")
    100.0
    >>> m.sample("quantlab_live_position", symbol="BTC/USDT")
    0.5
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, run: str,
                 bar_duration_s: float = 0.0, clock: Callable[[], float] | None = None) -> None:
        if not isinstance(run, str) or not run:
            raise InvalidParameterError(message("run", "LiveMetrics", "a non-empty string", run))
        self.bar_duration_s = check_float("bar_duration_s", bar_duration_s, caller="LiveMetrics",
                                          minimum=0.0)
        pc = _prometheus()
        self.registry = registry if registry is not None else pc.CollectorRegistry()
        self.run = run
        self.clock: Callable[[], float] = clock or _time.time
        self._last_close: float = math.nan
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._build(pc)

    # ---- construction ------------------------------------------------------------------
    def _build(self, pc: Any) -> None:
        reg, run = self.registry, ("run",)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Any:
            return pc.Gauge(f"{PREFIX}_{name}", doc, run + labels, registry=reg)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Any:
            return pc.Counter(f"{PREFIX}_{name}", doc, run + labels, registry=reg)

        self._equity = gauge("equity", "Account equity (quote currency).")
        self._cash = gauge("cash", "Cash (quote currency).")
        self._position = gauge("position", "Position in units (signed).", ("symbol",))
        self._orders = counter("orders", "Order events by the state entered.", ("state",))
        self._fills = counter("fills", "Fills applied.")
        self._rejects = counter("rejects", "Orders rejected (locally or by the venue).")
        self._decision = pc.Histogram(f"{PREFIX}_decision_latency_seconds",
                                      "Bar in to decision out, seconds.", run,
                                      buckets=DECISION_BUCKETS, registry=reg)
        self._round_trip = pc.Histogram(f"{PREFIX}_order_round_trip_seconds",
                                        "Order request sent to the venue's answer, seconds.",
                                        run, buckets=ROUND_TRIP_BUCKETS, registry=reg)
        self._guard = gauge("guard_state", "Guard state: 0 ACTIVE, 1 REDUCING, 2 HALTED.")
        self._guard_status = gauge("guard_status", "1 for the current guard state.", ("state",))
        self._last_bar = gauge("last_bar_timestamp_seconds", "Close time of the last bar (Unix s).")
        self._age = gauge("last_bar_age_seconds", "Clock minus the last bar's close, seconds "
                          "(evaluated at scrape time; NaN before the first bar).")
        self._drift = gauge("reconciliation_drift", "Local minus venue position, units.",
                            ("symbol",))
        self._heartbeat = gauge("heartbeat_timestamp_seconds", "Clock at the last processed bar.")
        self._bars = counter("bars", "Bars processed.")
        self._alerts = counter("alerts", "Alerts routed, by kind.", ("kind",))
        self._alert_failures = counter("alert_failures", "Failed alert deliveries, by sink.",
                                       ("sink",))
        self._init_children()

    def _init_children(self) -> None:
        r = self.run
        for g in (self._equity, self._cash):
            g.labels(r).set(math.nan)
        for metric in (self._fills, self._rejects, self._bars, self._decision, self._round_trip,
                       self._heartbeat, self._last_bar):
            metric.labels(r)
        for state in STATES:
            self._orders.labels(r, state)
        for kind in ALERT_KINDS:
            self._alerts.labels(r, kind)
        self._set_guard(ACTIVE)
        self._age.labels(r).set_function(self.last_bar_age)

    # ---- what the runner calls ---------------------------------------------------------
    def observe_bar(self, time: Any, *, equity: float, cash: float,
                    positions: Mapping[str, float], guard_state: str,
                    latency_s: float) -> None:
        """Record one processed bar.

        Parameters
        ----------
        time : pd.Timestamp, datetime, str or float
            The bar's open time (a number is read as Unix seconds); its close is
            ``time + bar_duration_s``.
        equity, cash : float - NaN is shown as NaN.
        positions : dict - symbol -> units (signed).
        guard_state : {"ACTIVE", "REDUCING", "HALTED"}
        latency_s : float - the decision's latency in seconds (>= 0).

        Raises
        ------
        InvalidParameterError
            A non-number, an unknown guard state or a negative latency.
        """
        caller = "LiveMetrics.observe_bar"
        close = _epoch_seconds(time, "time", caller) + self.bar_duration_s
        latency = check_float("latency_s", latency_s, caller=caller, minimum=0.0)
        values = {str(s): _number(f"positions[{s!r}]", v, caller) for s, v in positions.items()}
        equity_v, cash_v = _number("equity", equity, caller), _number("cash", cash, caller)
        self._set_guard(guard_state)
        r = self.run
        self._equity.labels(r).set(equity_v)
        self._cash.labels(r).set(cash_v)
        for symbol, units in values.items():
            self._position.labels(r, symbol).set(units)
        self._decision.labels(r).observe(latency)
        self._last_close = close
        self._last_bar.labels(r).set(close)
        self._bars.labels(r).inc()
        self.beat()

    def observe_order(self, state: str) -> None:
        """Count an order event by the state it entered (a state of ``orders.STATES``)."""
        state = check_choice("state", state, STATES, caller="LiveMetrics.observe_order")
        self._orders.labels(self.run, state).inc()
        if state == "REJECTED":
            self._rejects.labels(self.run).inc()

    def observe_fill(self, n: int = 1) -> None:
        """Count ``n`` fills applied."""
        n = check_int("n", n, caller="LiveMetrics.observe_fill", minimum=0)
        self._fills.labels(self.run).inc(n)

    def observe_reject(self) -> None:
        """Count a rejection that did not go through :meth:`observe_order` (a local refusal)."""
        self._rejects.labels(self.run).inc()

    def observe_round_trip(self, seconds: float) -> None:
        """Record one order request's round trip (sent -> the venue's answer), in seconds."""
        seconds = check_float("seconds", seconds, caller="LiveMetrics.observe_round_trip",
                              minimum=0.0)
        self._round_trip.labels(self.run).observe(seconds)

    def observe_drift(self, symbol: str, units: float) -> None:
        """Record the reconciliation drift of ``symbol``: local minus venue position."""
        units = _number("units", units, "LiveMetrics.observe_drift")
        self._drift.labels(self.run, str(symbol)).set(units)

    def observe_alert(self, kind: str) -> None:
        """Count an alert of ``kind`` (any non-empty string; the runner's are ALERT_KINDS)."""
        if not isinstance(kind, str) or not kind:
            raise InvalidParameterError(message("kind", "LiveMetrics.observe_alert",
                                                "a non-empty string", kind))
        self._alerts.labels(self.run, kind).inc()

    def observe_alert_failure(self, sink: str) -> None:
        """Count a failed alert delivery on ``sink`` (the sink's name)."""
        self._alert_failures.labels(self.run, str(sink)).inc()

    def beat(self) -> None:
        """Set the heartbeat timestamp to the clock's now (``observe_bar`` does it too)."""
        self._heartbeat.labels(self.run).set(float(self.clock()))

    def last_bar_age(self) -> float:
        """Seconds since the last observed bar's close, by ``clock`` (NaN before any bar)."""
        return float(self.clock()) - self._last_close

    def _set_guard(self, state: str) -> None:
        state = check_choice("guard_state", state, GUARD_STATES, caller="LiveMetrics")
        self._guard.labels(self.run).set(GUARD_STATES.index(state))
        for s in GUARD_STATES:
            self._guard_status.labels(self.run, s).set(1.0 if s == state else 0.0)

    # ---- reading and serving -----------------------------------------------------------
    def exposition(self) -> str:
        """The registry in Prometheus text format (what a scrape returns)."""
        return str(_prometheus().generate_latest(self.registry).decode("utf-8"))

    def sample(self, name: str, **labels: str) -> float | None:
        """The current value of sample ``name`` with this run and ``labels``, or None."""
        return self.registry.get_sample_value(name, {"run": self.run, **labels})

    def serve(self, host: str = "127.0.0.1", port: int = 0, *,
              allow_remote: bool = False) -> tuple[Any, int]:
        """Serve ``/metrics`` over HTTP from a daemon thread.

        Parameters
        ----------
        host : str, default "127.0.0.1" - a loopback address unless ``allow_remote``.
        port : int, default 0 - 0 picks a free port.
        allow_remote : bool, default False - allow a non-loopback address (no auth!).

        Returns
        -------
        (server, port) : the WSGI server and the port it listens on.

        Raises
        ------
        InvalidParameterError
            A non-loopback host without ``allow_remote``, a bad port.
        LiveError
            Already serving, or the address cannot be bound (in use, not permitted).
        """
        caller = "LiveMetrics.serve"
        port = check_int("port", port, caller=caller, minimum=0, maximum=65535)
        allow_remote = check_bool("allow_remote", allow_remote, caller=caller)
        if not isinstance(host, str) or not (is_loopback(host) or allow_remote):
            raise InvalidParameterError(message(
                "host", caller, "a loopback address such as '127.0.0.1'", host,
                "The metrics endpoint has no authentication and shows positions; pass "
                "allow_remote=True to bind another address on purpose."))
        if self._server is not None:
            raise LiveError(f"LiveMetrics.serve(): already serving on port "
                            f"{self._server.server_port}; call close() first.")
        try:
            server, thread = _prometheus().start_http_server(port, addr=host,
                                                             registry=self.registry)
        except OSError as exc:
            raise LiveError(f"LiveMetrics.serve(): cannot listen on {host}:{port} ({exc}); "
                            "choose another port, or 0 for a free one.") from exc
        self._server, self._thread = server, thread
        bound = int(server.server_port)
        log.info("metrics of run %s served on http://%s:%d/metrics", self.run, host, bound)
        return server, bound

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the HTTP endpoint (a no-op when not serving)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout_s)


class Heartbeat:
    """A watchdog thread: calls ``on_missed(age_s)`` when no :meth:`beat` came for a period.

    Parameters
    ----------
    interval_s : float - the period (> 0): one call per ``interval_s`` without a beat.
    on_missed : callable - ``on_missed(age_s)``, called from the watchdog thread; an
        exception it raises is logged, never propagated.
    clock : callable, optional - monotonic seconds (default :func:`time.monotonic`).
    poll_s : float, optional - how often the thread looks (default
        ``min(interval_s / 4, 1.0)``); the call comes at most ``poll_s`` late.

    Notes
    -----
    The age is measured from the last beat, or from :meth:`start` before the first beat.
    After ``k`` whole periods without a beat exactly ``k`` calls have been made (a clock that
    jumps several periods between two polls gives one call, with the full age). The thread
    is a daemon and :meth:`stop` joins it within ``poll_s`` plus the callback's duration.

    Examples
    --------
    >>> now = [0.0]
    >>> missed = []
    >>> hb = Heartbeat(10.0, missed.append, clock=lambda: now[0])
    >>> now[0] = 25.0
    >>> hb.check(), hb.check(), missed
    (True, False, [25.0])
    """

    def __init__(self, interval_s: float, on_missed: Callable[[float], Any], *,
                 clock: Callable[[], float] | None = None, poll_s: float | None = None) -> None:
        self.interval_s = check_float("interval_s", interval_s, caller="Heartbeat", minimum=0.0,
                                      exclusive_minimum=True)
        if not callable(on_missed):
            raise InvalidParameterError(message("on_missed", "Heartbeat", "a callable",
                                                on_missed))
        default_poll = min(self.interval_s / 4.0, 1.0)
        self.poll_s = check_float("poll_s", default_poll if poll_s is None else poll_s,
                                  caller="Heartbeat", minimum=0.0, exclusive_minimum=True)
        self.on_missed = on_missed
        self.clock: Callable[[], float] = clock or _time.monotonic
        self._lock = threading.Lock()
        self._last = float(self.clock())
        self._fired = 0
        self.missed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        """Record a processed bar (re-arms the watchdog)."""
        with self._lock:
            self._last = float(self.clock())
            self._fired = 0

    def check(self) -> bool:
        """Look once: call ``on_missed`` if a new period was missed; return whether it was."""
        with self._lock:
            age = float(self.clock()) - self._last
            periods = int(age // self.interval_s) if age >= self.interval_s else 0
            due = periods > self._fired
            if due:
                self._fired = periods
                self.missed += 1
        if due:
            try:
                self.on_missed(age)
            except Exception as exc:  # the watchdog must keep watching
                log.error("heartbeat callback failed: %s: %s", type(exc).__name__, exc)
        return due

    def start(self) -> Heartbeat:
        """Start the watchdog thread (the age counts from now until the first beat).

        Raises
        ------
        LiveError
            A previous :meth:`stop` timed out and that thread is still running (a callback
            that hangs): two watchdogs would share one stop flag.
        """
        if self._thread is not None and self._thread.is_alive():
            if self._stop.is_set():
                raise LiveError("Heartbeat.start(): the previous watchdog thread has not "
                                "ended yet (its on_missed callback is still running); call "
                                "stop() again until it returns True, then start().")
            return self
        self.beat()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="quantlab-heartbeat",
                                        daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.check()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop the thread; return True if it ended within ``timeout_s``.

        A thread that did not end in time is kept (:attr:`is_running` stays True and
        :meth:`start` refuses) until a later ``stop`` sees it end.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout_s)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    @property
    def is_running(self) -> bool:
        """Whether the watchdog thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

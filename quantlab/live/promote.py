"""Promotion: the gate a strategy passes before the live runner trades it, and its config file.

:func:`promote` checks the strategy (``check_causality``; the trailing window the runner keeps
gives the decisions of the full history on a reference window) and writes
``config/live/<name>.yaml``: the strategy's import path and parameters (objects as spec
strings), symbols, timeframe, the ``BacktestConfig``, the broker (``paper`` or an exchange
adapter's mapping: :mod:`quantlab.live.venues`), the optional ``monitoring`` section, the
runner's window and a
**parity fingerprint** (a hash of the target exposures on the reference window, the hash of
the strategy class's source and the quantlab version). :func:`load_config` reads it back with
every check the runner makes at start; :func:`verify_fingerprint` recomputes the fingerprint.

A strategy driven by a regime model (:func:`history_models`: ``HMMRegime``, ``GarchRegime``)
is promoted with ``window="full"`` by default: the model's refits are counted from the first
bar it sees, so a trailing window decides differently; an explicit int window is checked and,
when it differs, refused with that explanation. With ``window="full"`` the warm-up check of
``check_causality`` (does the signal depend on where the data starts?) does not refuse, as the
runner keeps the history from the same first bar; look-ahead still does. Such a config runs
on a feed that replays that whole history (``replay``, ``store``):
:func:`~quantlab.live.venues.build_feed` refuses the venue feeds (ccxt, OANDA), which start
with the last bars only.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_int, did_you_mean, message
from quantlab.errors import InvalidParameterError, LookAheadError, QuantlabError, WarmupWarning
from quantlab.live._core import BacktestConfig, infer_periods_per_year
from quantlab.live._errors import PromotionError, StartupError
from quantlab.live.venues import check_broker, check_monitoring
from quantlab.strategy.base import Strategy, as_exposure

__all__ = ["promote", "load_config", "verify_fingerprint", "LiveConfig", "fingerprint",
           "timeframe_delta", "timeframe_text",
           "trailing_targets", "check_trailing_window", "history_models"]

_GUARD_DEFAULTS: dict[str, Any] = {"halt_file": None, "max_orders_per_window": None,
                                   "rate_window_bars": 1, "max_gap_bars": 5, "stale_bars": 2}
_SHUTDOWN_DEFAULTS: dict[str, Any] = {"on_sigterm": "stop", "flatten": False}


@dataclass(frozen=True)
class LiveConfig:
    """A promoted strategy, as the runner reads it (see :func:`load_config`)."""

    name: str
    strategy: Strategy
    strategy_path: str
    params: dict[str, Any]
    symbols: list[str]
    timeframe: str
    backtest: BacktestConfig
    broker: str
    """The broker's kind: "paper", "ccxt" or "oanda" (its options: ``broker_options``)."""
    window: int | None
    """Bars the runner keeps (None: the whole history)."""
    reference: dict[str, Any]
    fingerprint: dict[str, str]
    guard: dict[str, Any] = field(default_factory=dict)
    shutdown: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    broker_options: dict[str, Any] = field(default_factory=dict)
    """The broker mapping without ``kind`` (``{}`` for paper; see :mod:`quantlab.live.venues`)."""
    monitoring: dict[str, Any] = field(default_factory=dict)
    """``metrics_port``, ``api_port``, ``heartbeat_s``, ``alerts`` (each None when unset)."""


# ---- strategy <-> text ----------------------------------------------------------------

def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """``"1d"``, ``"4h"``, ``"15m"``, ``"30s"`` as a Timedelta (exchange spelling)."""
    text = str(timeframe).strip()
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "w": "weeks"}
    if text[:-1].isdigit() and text[-1:].lower() in units:
        return pd.Timedelta(**{units[text[-1].lower()]: int(text[:-1])})
    try:
        return pd.Timedelta(text)
    except ValueError:
        raise StartupError(message("timeframe", "load_config", "a bar length such as 1d, 4h, "
                                   "15m", timeframe)) from None


def timeframe_text(length: pd.Timedelta) -> str:
    """A bar length in exchange spelling, largest whole unit first (``3600s`` -> ``"1h"``).

    Examples
    --------
    >>> timeframe_text(pd.Timedelta(minutes=15)), timeframe_text(pd.Timedelta(hours=4))
    ('15m', '4h')
    """
    seconds = int(pd.Timedelta(length).total_seconds())
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _import_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _param_text(value: Any) -> Any:
    """A parameter as YAML-safe data: literals as they are, objects as spec strings."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_param_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _param_text(v) for k, v in value.items()}
    return repr(value)  # a strategy or regime model: its repr is its spec


def strategy_params(strategy: Strategy) -> dict[str, Any]:
    """The strategy's parameters as YAML-safe data, checked to rebuild the same strategy."""
    params = {k: _param_text(v) for k, v in strategy.params.items()}
    rebuilt = build_strategy(_import_path(type(strategy)), params, caller="promote")
    if rebuilt != strategy and {k: _param_text(v) for k, v in rebuilt.params.items()} != params:
        raise PromotionError(f"{strategy!r} cannot be written as text: its parameters rebuild "
                             f"{rebuilt!r}. Give object parameters as specs.")
    return params


def build_strategy(path: str, params: dict[str, Any], *, caller: str = "load_config") -> Strategy:
    """Import the strategy class at ``module:Class`` and build it from text parameters.

    Raises
    ------
    StartupError
        Unknown strategy (with a did-you-mean among the built-ins), a missing or unknown
        parameter, a value out of bounds.
    """
    from quantlab.strategy.registry import STRATEGIES, _from_spec

    module, _, qual = str(path).partition(":")
    cls: Any = None
    try:
        cls = importlib.import_module(module)
        for part in qual.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError, ValueError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        hint = did_you_mean(qual or module, list(STRATEGIES))
        raise StartupError(message("strategy.class", caller, "an importable Strategy class "
                                   "'module:Class'", path, hint))
    if not isinstance(params, dict):
        raise StartupError(message("strategy.params", caller, "a mapping", type(params).__name__))
    declared = cls._params
    unknown = [k for k in params if k not in declared]
    if unknown:
        hint = did_you_mean(unknown[0], list(declared))
        raise StartupError(message("strategy.params", caller,
                                   f"parameters of {cls.__name__}: {sorted(declared)}",
                                   f"unknown parameter {unknown[0]!r}", hint))
    missing = [k for k in declared if k not in params]
    if missing:
        raise StartupError(message("strategy.params", caller, f"every parameter of "
                                   f"{cls.__name__} (the promoted values)",
                                   f"missing {missing}", "Promote the strategy again."))
    try:
        built = {k: _from_spec(v, declared[k][0], k, caller) for k, v in params.items()}
        return cls(**built)
    except QuantlabError as exc:
        raise StartupError(f"strategy {qual}: {exc}") from None


def _nested_params(strategy: Strategy) -> Iterator[Any]:
    """Every parameter value of ``strategy``, depth first: list, tuple and dict values are
    opened (their items yielded, not the container), and a strategy found is yielded, then
    its own parameters walked the same way. The one walk :func:`source_hash` and
    :func:`history_models` share."""
    stack: list[Any] = list(reversed(list(strategy.params.values())))
    seen: set[int] = set()
    while stack:
        value = stack.pop()
        if isinstance(value, list | tuple | dict):
            if id(value) in seen:  # a container holding itself: walk it once
                continue
            seen.add(id(value))
            items = list(value.values()) if isinstance(value, dict) else list(value)
            stack.extend(reversed(items))
            continue
        yield value
        if isinstance(value, Strategy):
            stack.extend(reversed(list(value.params.values())))


def source_hash(strategy: Strategy) -> str:
    """sha256 of the source of the strategy's classes (its MRO up to ``Strategy``, and the
    classes of every strategy among its parameters, at any depth: :func:`_nested_params`)."""
    h = hashlib.sha256()
    seen: set[type] = set()

    def add(cls: type) -> None:
        for c in cls.__mro__:
            if c in seen or c in (Strategy, object) or c.__module__ == "builtins":
                continue
            seen.add(c)
            try:
                h.update(inspect.getsource(c).encode())
            except (OSError, TypeError):
                h.update(c.__qualname__.encode())

    add(type(strategy))
    for value in _nested_params(strategy):
        if isinstance(value, Strategy):
            add(type(value))
    return h.hexdigest()


def history_models(strategy: Strategy) -> list[str]:
    """The regime models a strategy (or a strategy among its parameters) is driven by.

    A model (an object with ``filter``, ``predict`` or ``allowed`` that is not a pandas
    object: :class:`~quantlab.regime.HMMRegime`, :class:`~quantlab.regime.GarchRegime`)
    refits on a schedule counted from the first bar it sees and filters from there, so its
    output at bar t depends on where the history starts: a trailing window does not
    reproduce it. Such strategies are promoted with ``window="full"`` by default. Models
    are found at any depth: in a parameter, in a list, tuple or dict of parameters, in a
    strategy among them (:func:`_nested_params`).
    """
    return [type(v).__name__ for v in _nested_params(strategy)
            if not isinstance(v, Strategy | pd.Series | pd.DataFrame | str) and any(
                callable(getattr(v, name, None)) for name in ("filter", "predict", "allowed"))]


def _targets_hash(targets: np.ndarray) -> str:
    arr = np.round(np.asarray(targets, dtype=np.float64), 9)
    arr = np.where(np.isnan(arr), np.nan, arr + 0.0)  # one NaN, no -0.0
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def _as_2d(signal: Any, n: int) -> np.ndarray:
    return np.asarray(as_exposure(signal), dtype=np.float64).reshape(n, -1)


def fingerprint(strategy: Strategy, reference: pd.DataFrame) -> dict[str, str]:
    """The parity fingerprint: targets on ``reference``, class source, quantlab version."""
    import quantlab

    return {"targets": _targets_hash(_as_2d(strategy.signal(reference), len(reference))),
            "source": source_hash(strategy), "quantlab_version": str(quantlab.__version__)}


def trailing_targets(strategy: Strategy, data: pd.DataFrame, window: int | None,
                     start: int = 0) -> np.ndarray:
    """The target the runner computes at each bar from ``start``: ``signal()`` on the trailing
    ``window`` bars (None: all bars so far), last row."""
    n = len(data)
    out = []
    for t in range(start, n):
        lo = 0 if window is None else max(0, t - window + 1)
        part = data.iloc[lo:t + 1]
        out.append(_as_2d(strategy.signal(part), len(part))[-1])
    return np.array(out).reshape(n - start, -1)


def check_trailing_window(strategy: Strategy, data: pd.DataFrame, window: int | None, *,
                          tolerance: float = 1e-9) -> None:
    """Prove the runner's trailing window decides as the full history on ``data``.

    Raises
    ------
    PromotionError
        Naming the first bar whose target differed.
    """
    if window is None or window >= len(data):
        return
    full = _as_2d(strategy.signal(data), len(data))[window:]
    trail = trailing_targets(strategy, data, window, start=window)
    both_nan = np.isnan(full) & np.isnan(trail)
    bad = ~both_nan & ~(np.abs(full - trail) <= tolerance)
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size:
        i = int(rows[0])
        raise PromotionError(
            f"{strategy!r}: with the runner's trailing window of {window} bars the target at "
            f"{data.index[window + i]} (bar {window + i} of the reference window) is "
            f"{trail[i].tolist()}, but {full[i].tolist()} on the full history. Promote with a "
            "longer window (or window='full').")


# ---- promote -----------------------------------------------------------------------------

def _resolve_strategy(strategy: Any, params: dict[str, Any] | None) -> Strategy:
    from quantlab.strategy.registry import strategy_from_name

    if isinstance(strategy, str):
        return strategy_from_name(strategy, caller="promote", **(params or {}))
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy(**(params or {}))
    if isinstance(strategy, Strategy):
        return strategy.replace(**params) if params else strategy
    raise InvalidParameterError(message("strategy", "promote", "a Strategy, a Strategy class "
                                        "with params, or a built-in name",
                                        type(strategy).__name__))


def _load_data(data: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    if isinstance(data, str):
        from quantlab.data import load

        frame = load(data)
        return frame, {"dataset": data}
    if isinstance(data, pd.DataFrame):
        return data, {}
    raise InvalidParameterError(message("data", "promote", "a DataFrame or a bundled dataset "
                                        "name", type(data).__name__))


def promote(strategy: Any, *, data: Any, symbols: Any = None, timeframe: str | None = None,
            config: BacktestConfig | None = None, broker: str | dict[str, Any] = "paper",
            name: str, out_dir: str | Path = "config/live",
            params: dict[str, Any] | None = None, window: int | str | None = None,
            reference_bars: int = 250, monitoring: dict[str, Any] | None = None,
            **options: Any) -> Path:
    """Check a strategy for live trading and write its config file.

    Parameters
    ----------
    strategy : Strategy, Strategy class or str
        An instance; a class with ``params`` (a walk-forward result's ``best_params``); or a
        built-in name with ``params``.
    data : DataFrame or str
        History to prove the strategy on (a bundled dataset name is stored as such; a frame's
        reference window is written beside the config as ``<name>.reference.csv``).
    symbols : sequence of str, optional - default: the data's (``attrs["symbol"]`` or "asset").
    timeframe : str, optional - bar length, e.g. "1d"; default: inferred from the index.
    config : BacktestConfig, optional - costs, sizer, risk limits (``options`` override it).
    broker : "paper" or dict, default "paper"
        ``"paper"``, or an exchange adapter: ``{"kind": "ccxt", "exchange": "binance",
        "market_type": "spot", "api_key_env": "BINANCE_KEY", "secret_env":
        "BINANCE_SECRET", "urls": {...}, "sandbox": False, "leverage": 3}`` or
        ``{"kind": "oanda", "account_id": ..., "token_env": "OANDA_TOKEN", "environment":
        "practice", "base_url": ...}`` (:func:`~quantlab.live.venues.check_broker`).
        Secrets are named by environment variable, never written. The venue's lot and
        minimum notional must match ``lot_size``/``min_notional`` (checked at start).
    name : str - the config's name (file ``<out_dir>/<name>.yaml``, the run's name).
    out_dir : str or Path, default "config/live"
    params : dict, optional - parameters (``best_params``) for a class or a name.
    window : int, "full" or None - bars of history the runner keeps; default
        ``max(2 * warmup + 2, 50)``, or "full" (all of it) for a strategy driven by a regime
        model (:func:`history_models`: its refits and filter start at the first bar, so a
        trailing window decides differently; an int window is then checked like any other
        and refused with that explanation when it differs).
    reference_bars : int, default 250 - bars of the reference window checked after ``window``.
    monitoring : dict, optional - ``{"metrics_port": 9108, "api_port": 8765, "heartbeat_s":
        ..., "alerts": {...}}`` (:func:`~quantlab.live.venues.check_monitoring`).
    **options - flat ``BacktestConfig`` options (``fee_bps=5``, ``max_drawdown=0.2``).

    Returns
    -------
    Path
        The config file written.

    Raises
    ------
    PromotionError
        The strategy looks ahead, its warm-up is too short, or the trailing window decides
        differently from the full history (each naming the bar), or its parameters cannot be
        written as text.
    InvalidParameterError
        A bad broker mapping (unknown kind or key, a secret written as a value) or
        monitoring section.
    """
    caller = "promote"
    strat = _resolve_strategy(strategy, params)
    kind, broker_options = check_broker(broker, caller=caller)
    broker_doc: Any = kind if kind == "paper" else {"kind": kind, **broker_options}
    monitor = check_monitoring(monitoring, caller=caller) if monitoring is not None else None
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise InvalidParameterError(message("name", caller, "a file name", name))
    frame, source = _load_data(data)
    warm = int(strat.warmup)
    if len(frame) < 2 * warm + 12:
        raise InvalidParameterError(message("data", caller, f"at least 2 * warmup + 12 = "
                                            f"{2 * warm + 12} bars", f"{len(frame)} bars"))
    models = history_models(strat)
    if window in (None, "auto"):
        win: int | None = None if models else max(2 * warm + 2, 50)
    elif window == "full":
        win = None
    else:
        win = check_int("window", window, caller=caller, minimum=max(warm + 1, 2))
    reference_bars = check_int("reference_bars", reference_bars, caller=caller, minimum=10)
    n_ref = min(len(frame), (win or 3 * warm + 2) + reference_bars)
    ref = frame.iloc[-n_ref:]
    if symbols is None:
        symbols = ([str(s) for s in frame["close"].columns] if isinstance(frame.columns,
                                                                          pd.MultiIndex)
                   else [str(frame.attrs.get("symbol", "asset"))])
    symbols = [symbols] if isinstance(symbols, str) else [str(s) for s in symbols]
    if timeframe is None:
        step = pd.Timedelta(int(np.median(np.diff(pd.DatetimeIndex(frame.index)
                                                  .as_unit("ns").asi8))), unit="ns")
        timeframe = "1d" if step >= pd.Timedelta(days=1) else timeframe_text(step)
    cfg = (config or BacktestConfig()).replace(caller=caller, **options)
    if cfg.periods_per_year is None:
        cfg = cfg.replace(caller=caller, periods_per_year=infer_periods_per_year(frame.index))

    # ---- the gate ------------------------------------------------------------------------
    from quantlab.strategy.causality import check_causality

    try:
        with warnings.catch_warnings():
            # window="full": the runner sees the history from the backtest's first bar, so a
            # signal that depends on where the data starts (a regime model's refit schedule)
            # is not a warm-up fault; only look-ahead refuses it
            warnings.simplefilter("error" if win is not None else "ignore", WarmupWarning)
            check_causality(strat, ref)
    except LookAheadError as exc:
        raise PromotionError(f"promotion refused: {exc}") from None
    except WarmupWarning as exc:
        raise PromotionError(f"promotion refused: {exc}") from None
    try:
        check_trailing_window(strat, ref, win)
    except PromotionError as exc:
        if not models:
            raise
        raise PromotionError(
            f"{exc} {strat!r} is driven by {', '.join(models)}, whose fits and filter start "
            "at the first bar of the history it is given, so its decisions depend on the "
            "whole history: promote it with window='full' (the default for strategies "
            "driven by a regime model).") from None
    text_params = strategy_params(strat)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reference: dict[str, Any] = {"start": str(ref.index[0]), "end": str(ref.index[-1]),
                                 "bars": len(ref)}
    if source:
        reference.update(source)
    else:
        csv = out / f"{name}.reference.csv"
        _write_reference(ref, csv)
        reference["csv"] = csv.name
    doc = {
        "name": name,
        "strategy": {"class": _import_path(type(strat)), "params": text_params},
        "symbols": symbols,
        "timeframe": str(timeframe),
        "broker": broker_doc,
        "window": "full" if win is None else win,
        "backtest": cfg.to_dict(),
        "guard": dict(_GUARD_DEFAULTS),
        "shutdown": dict(_SHUTDOWN_DEFAULTS),
        "reference": reference,
        "fingerprint": fingerprint(strat, _read_reference(reference, out)),
    }
    if monitor is not None:
        doc["monitoring"] = {k: v for k, v in monitor.items() if v is not None}
    import yaml

    path = out / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _write_reference(ref: pd.DataFrame, path: Path) -> None:
    frame = ref.copy()
    frame.to_csv(path, float_format="%.17g")


def _read_reference(reference: dict[str, Any], folder: Path) -> pd.DataFrame:
    if "dataset" in reference:
        from quantlab.data import load

        frame = load(reference["dataset"])
    else:
        csv = folder / str(reference.get("csv", ""))
        if not csv.exists():
            raise StartupError(f"the reference window {csv} of the config is missing; the "
                               "fingerprint cannot be verified. Promote again.")
        header = [0, 1] if _csv_multi(csv) else [0]
        frame = pd.read_csv(csv, index_col=0, header=header, parse_dates=True)
    idx = frame.index
    start, end = pd.Timestamp(reference["start"]), pd.Timestamp(reference["end"])
    if idx.tz is None and start.tz is not None:
        start, end = start.tz_localize(None), end.tz_localize(None)
    return frame.loc[start:end]


def _csv_multi(path: Path) -> bool:
    with open(path) as fh:
        fh.readline()
        second = fh.readline()
    return second.split(",")[0] not in ("", "time") and not second[:1].isdigit()


# ---- reading a config back ---------------------------------------------------------------

def load_config(path: str | Path) -> LiveConfig:
    """Read and check a promoted config (what the runner does first).

    Raises
    ------
    StartupError
        A missing file or key, an unknown strategy, a missing or unknown parameter, invalid
        settings (negative limits, ...), an unknown broker kind or key, a secret written in
        the broker mapping, a bad ``monitoring`` section (each naming the key).
    """
    import yaml

    path = Path(path)
    if not path.exists():
        raise StartupError(f"config {path} does not exist; write it with quantlab promote.")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise StartupError(f"config {path} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise StartupError(f"config {path} must be a mapping; got {type(doc).__name__}")
    required = ("name", "strategy", "symbols", "timeframe", "broker", "backtest", "window",
                "reference", "fingerprint")
    missing = [k for k in required if k not in doc]
    if missing:
        raise StartupError(f"config {path} lacks {missing}; write it with quantlab promote.")
    strat_doc = doc["strategy"]
    if not isinstance(strat_doc, dict) or "class" not in strat_doc:
        raise StartupError(f"config {path}: `strategy` needs `class` and `params`")
    strategy = build_strategy(str(strat_doc["class"]), strat_doc.get("params") or {})
    try:
        cfg = BacktestConfig.from_dict(doc["backtest"])
    except QuantlabError as exc:
        raise StartupError(f"config {path}: backtest settings refused: {exc}") from None
    guard = {**_GUARD_DEFAULTS, **(doc.get("guard") or {})}
    for key in guard:
        if key not in _GUARD_DEFAULTS:
            raise StartupError(message(f"guard.{key}", "load_config",
                                       f"one of {sorted(_GUARD_DEFAULTS)}", key,
                                       did_you_mean(key, list(_GUARD_DEFAULTS))))
    for key in ("max_orders_per_window", "rate_window_bars", "max_gap_bars", "stale_bars"):
        value = guard[key]
        if value is not None and (not isinstance(value, int | float) or value < 0):
            raise StartupError(message(f"guard.{key}", "load_config", "a number >= 0 or null",
                                       value))
    shutdown = {**_SHUTDOWN_DEFAULTS, **(doc.get("shutdown") or {})}
    if shutdown["on_sigterm"] not in ("stop", "halt"):
        raise StartupError(message("shutdown.on_sigterm", "load_config", "'stop' or 'halt'",
                                   shutdown["on_sigterm"]))
    try:
        kind, broker_options = check_broker(doc["broker"], caller="load_config")
        monitoring = check_monitoring(doc.get("monitoring"), caller="load_config")
    except InvalidParameterError as exc:
        raise StartupError(f"config {path}: {exc}") from None
    window = doc["window"]
    if window == "full":
        win = None
    elif isinstance(window, int) and window >= max(int(strategy.warmup) + 1, 2):
        win = window
    else:
        raise StartupError(message("window", "load_config",
                                   f"an integer > warmup ({strategy.warmup}) or 'full'", window))
    timeframe_delta(doc["timeframe"])
    symbols = doc["symbols"]
    if not isinstance(symbols, list) or not symbols:
        raise StartupError(message("symbols", "load_config", "a non-empty list", symbols))
    return LiveConfig(str(doc["name"]), strategy, str(strat_doc["class"]),
                      dict(strat_doc.get("params") or {}), [str(s) for s in symbols],
                      str(doc["timeframe"]), cfg, kind, win,
                      dict(doc["reference"]), dict(doc["fingerprint"]), guard, shutdown, path,
                      doc, broker_options, monitoring)


def verify_fingerprint(config: LiveConfig) -> None:
    """Recompute the fingerprint: same code, same quantlab, same numbers.

    Raises
    ------
    StartupError
        Naming what changed since the promotion.
    """
    import quantlab

    fp = config.fingerprint
    src = source_hash(config.strategy)
    if src != fp.get("source"):
        raise StartupError(f"fingerprint mismatch: the source of {type(config.strategy).__name__} "
                           "changed since the promotion (its code is not what was checked). "
                           "Promote it again.")
    if str(quantlab.__version__) != fp.get("quantlab_version"):
        raise StartupError(f"fingerprint mismatch: promoted with quantlab "
                           f"{fp.get('quantlab_version')}, running {quantlab.__version__}. "
                           "Promote it again.")
    folder = config.path.parent if config.path is not None else Path(".")
    ref = _read_reference(config.reference, folder)
    got = _targets_hash(_as_2d(config.strategy.signal(ref), len(ref)))
    if got != fp.get("targets"):
        raise StartupError("fingerprint mismatch: the strategy's target exposures on the "
                           "reference window differ from the promoted ones (same code, other "
                           "numbers: data or dependencies changed). Promote it again.")

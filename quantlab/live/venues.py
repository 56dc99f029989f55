"""Venues from a promoted config: the broker and the feed a run trades on, and their checks.

A promoted config's ``broker`` is ``paper`` or a mapping naming an exchange adapter::

    broker:                                  broker:
      kind: ccxt                               kind: oanda
      exchange: binance                        account_id: 101-001-1234567-001
      market_type: spot        # or linear     token_env: OANDA_TOKEN
      api_key_env: BINANCE_KEY                 environment: practice   # or live
      secret_env: BINANCE_SECRET               base_url: https://...   # optional
      urls: {base: http://127.0.0.1:8000}      # optional (a proxy, a test server)
      sandbox: false
      leverage: 3                              # linear only

:func:`check_broker` validates it (at promotion and when the runner loads the config),
:func:`build_broker` builds the :class:`~quantlab.live.brokers.Broker`,
:func:`build_feed` a feed on the same venue, :func:`check_venue_rules` compares the venue's
order filters with the config's, :func:`check_monitoring` validates the ``monitoring``
section.

Design decisions a demanding user would want written down:

* **Secrets are named, never written.** A broker mapping holds the *names* of environment
  variables (``api_key_env``, ``secret_env``, ``token_env``); a key such as ``api_key``,
  ``secret``, ``token`` or ``password`` in it is refused. A ``*_env`` value that is not a
  variable name is refused without being echoed (it may be the secret pasted by mistake).
  A variable that is unset is reported by its name when the broker is built (start-up),
  never with a value. An OANDA mapping without ``token_env`` gets ``token_env:
  OANDA_TOKEN`` written in (the variable the adapter reads by default): the run's log
  redaction finds the secrets it must hide by the names the config holds.
* **Paper never authenticates** (RELIABILITY.md behaviour 12): ``broker: paper`` builds a
  :class:`~quantlab.live.brokers.PaperBroker`, whatever the environment holds, and refuses
  the OANDA feed (whose candles need the account's token).
* **Cleartext only on loopback.** A ``urls``/``base_url`` override must be ``https://``
  unless its host is a loopback address: the API key travels in a request header.
* **The config's rules must be the venue's** (:func:`check_venue_rules`): the decision step
  sizes orders with the config's ``lot_size`` and ``min_notional``; a venue whose lot is
  coarser (not a divisor of the config's) or whose minimum notional is larger would truncate
  or refuse orders the account books as filled, and reconciliation would halt the run on the
  first order. The run is refused at start, with the ``-o lot_size=...`` to promote with.
* **A venue feed needs a finite window.** The ccxt and OANDA feeds start with the last
  ``window`` closed bars (OANDA: at most 4999), not at the promotion's first bar; a
  ``window: full`` config (a regime model refitting from its first bar) would decide on
  another history than the one promoted, so :func:`build_feed` refuses it (replay or store
  the whole history, or promote with a finite window the gate proves).
* **Checks here, construction in the adapters.** Key sets and types are checked here so
  :func:`~quantlab.live.promote.load_config` fails before anything starts; value ranges
  (timeouts, attempts) are the adapters' own checks, run when the broker is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from quantlab._validate import check_choice, check_float, check_int, did_you_mean, message
from quantlab.errors import InvalidParameterError, QuantlabError
from quantlab.live._errors import StartupError
from quantlab.live.brokers import Broker, ExchangeRules, PaperBroker
from quantlab.live.feeds import Feed

if TYPE_CHECKING:
    from quantlab.live.promote import LiveConfig

__all__ = ["BROKER_KINDS", "FEED_KINDS", "CCXT_OPTIONS", "OANDA_OPTIONS", "MONITORING_OPTIONS",
           "check_broker", "check_monitoring", "build_broker", "build_feed",
           "check_venue_rules", "granularity_of"]

BROKER_KINDS = ("paper", "ccxt", "oanda")
FEED_KINDS = ("replay", "store", "ccxt", "oanda")
#: Keys of a ``kind: ccxt`` broker mapping (besides ``kind``); see
#: :meth:`~quantlab.live.ccxt_broker.CcxtBroker.from_config`.
CCXT_OPTIONS = ("exchange", "market_type", "urls", "sandbox", "api_key_env", "secret_env",
                "leverage", "timeout_ms", "max_attempts", "max_total_s", "backoff_seed",
                "resolve_attempts", "max_trade_pages", "trades_since_ms")
#: Keys of a ``kind: oanda`` broker mapping (besides ``kind``); see
#: :meth:`~quantlab.live.oanda.OandaBroker.from_config`.
OANDA_OPTIONS = ("account_id", "token_env", "environment", "base_url", "timeout", "retries",
                 "max_retry_after", "max_pages", "resolve_attempts")
#: Keys of the config's optional ``monitoring`` section.
MONITORING_OPTIONS = ("metrics_port", "api_port", "heartbeat_s", "alerts")
_OPTIONS = {"ccxt": CCXT_OPTIONS, "oanda": OANDA_OPTIONS}
#: Keys that would hold a secret's value -> the key naming its environment variable.
_LITERAL_SECRETS = {"api_key": "api_key_env", "apiKey": "api_key_env", "key": "api_key_env",
                    "secret": "secret_env", "token": "token_env", "password": "secret_env",
                    "uid": "api_key_env", "privateKey": "secret_env"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ALERT_OPTIONS = ("sinks", "min_interval_s", "kinds", "max_per_minute", "background",
                  "queue_size")


# ---- the broker mapping --------------------------------------------------------------------
def check_broker(value: Any, *, caller: str = "load_config") -> tuple[str, dict[str, Any]]:
    """Validate a config's ``broker``: ``"paper"`` or a ``kind: ccxt|oanda`` mapping.

    Parameters
    ----------
    value : str or mapping - the ``broker`` entry.
    caller : str - named in the messages (``promote`` or ``load_config``).

    Returns
    -------
    (kind, options) : the kind string and the mapping without ``kind`` (``{}`` for paper);
        an OANDA mapping gets its default ``token_env: OANDA_TOKEN`` filled in.

    Raises
    ------
    InvalidParameterError
        An unknown kind or key (with a did-you-mean), a secret written as a value, a
        ``*_env`` that is not a variable name, a bad type, a cleartext URL to a remote host.

    Examples
    --------
    >>> check_broker("paper")
    ('paper', {})
    >>> check_broker({"kind": "ccxt", "exchange": "binance", "api_key_env": "K",
    ...               "secret_env": "S"})[0]
    'ccxt'
    """
    if isinstance(value, str):
        if value == "paper":
            return "paper", {}
        raise InvalidParameterError(message(
            "broker", caller, "'paper' or a mapping with `kind: ccxt` or `kind: oanda`", value,
            did_you_mean(value, BROKER_KINDS) or f"For an exchange write `broker: {{kind: "
            f"ccxt, exchange: {value}, api_key_env: ..., secret_env: ...}}`."))
    if not isinstance(value, Mapping):
        raise InvalidParameterError(message("broker", caller, "'paper' or a mapping", value))
    options = {str(k): v for k, v in value.items()}
    kind = options.pop("kind", None)
    if kind == "paper" and not options:
        return "paper", {}
    kind = check_choice("broker.kind", kind, ("ccxt", "oanda"), caller=caller)
    _refuse_literal_secrets(options, kind, caller)
    known = _OPTIONS[kind]
    for key in options:
        if key not in known:
            raise InvalidParameterError(message(
                f"broker.{key}", caller, f"a key of a {kind} broker: {', '.join(known)}",
                key, did_you_mean(key, known) or "Remove it."))
    (_check_ccxt if kind == "ccxt" else _check_oanda)(options, caller)
    return kind, options


def _refuse_literal_secrets(options: Mapping[str, Any], kind: str, caller: str) -> None:
    for key in options:
        if key in _LITERAL_SECRETS:
            env = _LITERAL_SECRETS[key] if kind == "ccxt" else "token_env"
            raise InvalidParameterError(
                f"`broker.{key}` of {caller}(): a config never holds a secret (value not "
                f"shown). Write `{env}: VARIABLE_NAME` and export the variable before the run.")


def _env_name(options: Mapping[str, Any], key: str, caller: str) -> None:
    value = options.get(key)
    if value is None:
        return
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise InvalidParameterError(
            f"`broker.{key}` of {caller}() must be the NAME of an environment variable "
            "(letters, digits and _, not starting with a digit); got a value that is not one "
            "(not shown: it may be the secret itself). Export the secret in a variable and "
            "write its name here.")


def _check_url(name: str, url: Any, caller: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError(message(name, caller, "an http(s) URL", url))
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidParameterError(message(
            name, caller, "an https:// URL (http:// only on 127.0.0.1, ::1 or localhost)", url,
            "The API key travels in a request header; use https://."))


def _is_loopback(host: str) -> bool:
    from quantlab.live.metrics import is_loopback

    return is_loopback(host)


def _check_ccxt(options: dict[str, Any], caller: str) -> None:
    import ccxt

    exchange = options.get("exchange")
    if not isinstance(exchange, str) or exchange not in ccxt.exchanges:
        raise InvalidParameterError(message(
            "broker.exchange", caller, "a ccxt exchange id such as 'binance'", exchange,
            did_you_mean(exchange, ccxt.exchanges) if isinstance(exchange, str) else None))
    market = check_choice("broker.market_type", options.get("market_type", "spot"),
                          ("spot", "linear"), caller=caller)
    if market == "linear" and exchange == "binance":
        raise InvalidParameterError(message(
            "broker.exchange", caller, "the ccxt id of a derivatives venue with "
            "market_type 'linear'", exchange, "Binance USD-M perpetuals are 'binanceusdm'."))
    if options.get("leverage") is not None:
        if market != "linear":
            raise InvalidParameterError(message("broker.leverage", caller, "given only with "
                                                "market_type 'linear'", options["leverage"]))
        check_float("broker.leverage", options["leverage"], caller=caller, minimum=0.0,
                    exclusive_minimum=True)
    for key in ("api_key_env", "secret_env"):
        _env_name(options, key, caller)
    if not options.get("api_key_env") or not options.get("secret_env"):
        raise InvalidParameterError(message(
            "broker.api_key_env", caller, "given with `secret_env` (a ccxt broker trades "
            "with credentials)", options.get("api_key_env"),
            "Name the environment variables holding the key and the secret."))
    if not isinstance(options.get("sandbox", False), bool):
        raise InvalidParameterError(message("broker.sandbox", caller, "true or false",
                                            options["sandbox"]))
    urls = options.get("urls")
    if urls is not None:
        if not isinstance(urls, Mapping) or not urls:
            raise InvalidParameterError(message("broker.urls", caller, "a mapping such as "
                                                "{base: https://host:port}", urls))
        for key, url in urls.items():
            _check_url(f"broker.urls.{key}", url, caller)
    for key in ("timeout_ms", "max_attempts", "backoff_seed", "resolve_attempts",
                "max_trade_pages", "trades_since_ms"):
        if options.get(key) is not None:
            check_int(f"broker.{key}", options[key], caller=caller, minimum=0)
    if options.get("max_total_s") is not None:
        check_float("broker.max_total_s", options["max_total_s"], caller=caller, minimum=0.0)


def _check_oanda(options: dict[str, Any], caller: str) -> None:
    account = options.get("account_id")
    if not isinstance(account, str) or not account:
        raise InvalidParameterError(message("broker.account_id", caller, "the v20 account id, "
                                            "a non-empty string", account,
                                            "e.g. account_id: '101-001-1234567-001'."))
    _env_name(options, "token_env", caller)
    # the adapter's default, written out: log redaction finds secrets by the names held here
    options.setdefault("token_env", "OANDA_TOKEN")
    check_choice("broker.environment", options.get("environment", "practice"),
                 ("practice", "live"), caller=caller)
    if options.get("base_url") is not None:
        _check_url("broker.base_url", options["base_url"], caller)
    for key in ("retries", "max_pages", "resolve_attempts"):
        if options.get(key) is not None:
            check_int(f"broker.{key}", options[key], caller=caller, minimum=0)
    for key in ("timeout", "max_retry_after"):
        if options.get(key) is not None:
            check_float(f"broker.{key}", options[key], caller=caller, minimum=0.0)


# ---- the monitoring section ---------------------------------------------------------------
def check_monitoring(value: Any, *, caller: str = "load_config") -> dict[str, Any]:
    """Validate the optional ``monitoring`` section; return it with every key present.

    ``metrics_port`` and ``api_port``: an integer 0..65535 (0: any free port) or null;
    ``heartbeat_s``: seconds > 0 or null (default: 3 bars when alerts are routed);
    ``alerts``: an :meth:`~quantlab.live.alerts.AlertRouter.from_config` mapping (keys and
    sink types checked here, secrets as environment variable names only).

    Raises
    ------
    InvalidParameterError
        An unknown key (with a did-you-mean), a bad port or period, a bad alerts mapping.
    """
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise InvalidParameterError(message("monitoring", caller, "a mapping", value))
    out: dict[str, Any] = dict.fromkeys(MONITORING_OPTIONS)
    for key, item in value.items():
        if key not in MONITORING_OPTIONS:
            raise InvalidParameterError(message(
                f"monitoring.{key}", caller, f"one of {', '.join(MONITORING_OPTIONS)}", key,
                did_you_mean(key, MONITORING_OPTIONS)))
        out[str(key)] = item
    for key in ("metrics_port", "api_port"):
        if out[key] is not None:
            out[key] = check_int(f"monitoring.{key}", out[key], caller=caller, minimum=0,
                                 maximum=65535)
    if out["heartbeat_s"] is not None:
        out["heartbeat_s"] = check_float("monitoring.heartbeat_s", out["heartbeat_s"],
                                         caller=caller, minimum=0.0, exclusive_minimum=True)
    if out["alerts"] is not None:
        _check_alerts(out["alerts"], caller)
    return out


def _check_alerts(alerts: Any, caller: str) -> None:
    from quantlab.live.alerts import _LITERAL_SECRETS as SINK_SECRETS
    from quantlab.live.alerts import _SINK_OPTIONS

    if not isinstance(alerts, Mapping):
        raise InvalidParameterError(message("monitoring.alerts", caller, "a mapping with "
                                            "`sinks`", alerts))
    for key in alerts:
        if key not in _ALERT_OPTIONS:
            raise InvalidParameterError(message(
                f"monitoring.alerts.{key}", caller, f"one of {', '.join(_ALERT_OPTIONS)}", key,
                did_you_mean(key, _ALERT_OPTIONS)))
    sinks = alerts.get("sinks") or []
    if not isinstance(sinks, list):
        raise InvalidParameterError(message("monitoring.alerts.sinks", caller, "a list of "
                                            "sink mappings", sinks))
    for k, sink in enumerate(sinks):
        name = f"monitoring.alerts.sinks[{k}]"
        if not isinstance(sink, Mapping):
            raise InvalidParameterError(message(name, caller, "a mapping with a `type`", sink))
        kind = check_choice(f"{name}.type", sink.get("type"), tuple(_SINK_OPTIONS),
                            caller=caller)
        for literal, env in SINK_SECRETS.items():
            if literal in sink:
                raise InvalidParameterError(
                    f"`{name}.{literal}` of {caller}(): a config never holds a secret (value "
                    f"not shown). Write `{env}: VARIABLE_NAME` and export the variable.")
        for key in sink:
            if key not in _SINK_OPTIONS[kind]:
                raise InvalidParameterError(message(
                    f"{name}.{key}", caller, f"a key of a {kind} sink: "
                    f"{', '.join(_SINK_OPTIONS[kind])}", key,
                    did_you_mean(key, _SINK_OPTIONS[kind])))


# ---- building ------------------------------------------------------------------------------
def build_broker(config: LiveConfig, *, journal_path: str | Path,
                 environ: Mapping[str, str] | None = None) -> Broker:
    """The broker of a config: paper, ccxt or OANDA.

    Parameters
    ----------
    config : LiveConfig
    journal_path : path - the run's journal; the paper venue persists beside it
        (``<journal>.paper.sqlite``).
    environ : mapping, optional - where credentials are read (default ``os.environ``).

    Returns
    -------
    Broker
        ``paper``: a :class:`PaperBroker` with the config's costs, cash and (scalar) lot and
        minimum notional, never authenticated; ``ccxt``: a
        :class:`~quantlab.live.ccxt_broker.CcxtBroker` on the config's symbols; ``oanda``:
        an :class:`~quantlab.live.oanda.OandaBroker`.

    Raises
    ------
    StartupError
        An unset environment variable (named, never its value), an option an adapter
        refuses.
    """
    kind, options = config.broker, dict(config.broker_options)
    if kind == "paper":
        ex, co = config.backtest.execution, config.backtest.costs
        return PaperBroker(fee_bps=co.fee_bps, fee_fixed=co.fee_fixed, init_cash=ex.init_cash,
                           path=str(journal_path) + ".paper.sqlite",
                           lot_size=0.0 if isinstance(ex.lot_size, dict) else ex.lot_size,
                           min_notional=0.0 if isinstance(ex.min_notional, dict)
                           else ex.min_notional)
    env = dict(environ) if environ is not None else None
    try:
        if kind == "ccxt":
            from quantlab.live.ccxt_broker import CcxtBroker

            return CcxtBroker.from_config({**options, "symbols": list(config.symbols)},
                                          environ=env)
        if kind == "oanda":
            from quantlab.live.oanda import OandaBroker

            return OandaBroker.from_config(options, environ=env)
    except QuantlabError as exc:
        raise StartupError(f"config {config.name}: the {kind} broker cannot be built: "
                           f"{exc}") from None
    raise StartupError(message("broker", "build_broker", f"one of {BROKER_KINDS}", kind))


def granularity_of(timeframe: str) -> str:
    """The OANDA candle granularity of a timeframe (``"1h"`` -> ``"H1"``, ``"1d"`` -> ``"D"``).

    Raises
    ------
    StartupError
        No OANDA granularity has that length.

    Examples
    --------
    >>> granularity_of("15m"), granularity_of("1d")
    ('M15', 'D')
    """
    from quantlab.live.oanda import GRANULARITIES
    from quantlab.live.promote import timeframe_delta

    seconds = int(timeframe_delta(timeframe).total_seconds())
    for name, length in GRANULARITIES.items():
        if length == seconds:
            return name
    raise StartupError(message("timeframe", "build_feed", "a length OANDA serves: "
                               + ", ".join(GRANULARITIES), timeframe))


def build_feed(config: LiveConfig, kind: str, **options: Any) -> Feed:
    """A feed of the config's symbols and timeframe.

    Parameters
    ----------
    config : LiveConfig
    kind : {"replay", "store", "ccxt", "oanda"}
    **options
        ``replay``: ``data`` (a DataFrame, required), ``speed``.
        ``store``: ``store_dir`` (required), ``start``, ``end``, ``speed``.
        ``ccxt``: ``exchange`` (default the broker's), ``poll_seconds``, ``history``
        (default the config's window), ``max_polls``, ``stale_bars``, ``gap``,
        ``settle_seconds``; the broker's ``urls`` (``base``) and ``sandbox`` are followed.
        ``oanda``: ``count`` (candles per request, default the config's window + 1: the
        last ``window`` closed candles and the forming one, which is dropped; OANDA serves
        at most 5000), ``environ``; an OANDA broker config only (the candles need
        the account's token, which paper never uses). The OANDA feed serves the closed
        candles available when asked, then ends (a catch-up run); it resumes by time after
        a restart; close it (:meth:`~quantlab.live.oanda.OandaFeed.close`) to close the
        HTTP session it opened.

    Returns
    -------
    Feed

    Raises
    ------
    StartupError
        An unknown kind or option, a missing required option, a feed the config's broker
        cannot back (an OANDA feed for a paper config), a ccxt or OANDA feed for a
        ``window: full`` config (the venue serves the last bars, not the promotion's
        history), an OANDA feed without ``count`` for a window longer than 4999 bars.
    """
    kind = _startup(lambda: check_choice("feed", kind, FEED_KINDS, caller="build_feed"))
    builders = {"replay": _replay_feed, "store": _store_feed, "ccxt": _ccxt_feed,
                "oanda": _oanda_feed}
    return _startup(lambda: builders[kind](config, dict(options)))


def _startup(fn: Any) -> Any:
    try:
        return fn()
    except StartupError:
        raise
    except QuantlabError as exc:
        raise StartupError(str(exc)) from None


def _finite_window(config: LiveConfig, kind: str) -> int:
    """The config's window; a ``window: full`` config is refused on a venue feed."""
    if config.window is None:
        raise InvalidParameterError(message(
            "window", f"build_feed[{kind}]", "a finite number of bars for a venue feed",
            "full", f"The {kind} feed starts with the last closed bars the venue serves, not "
            "at the promotion's first bar, so a model that needs the whole history (refits "
            "counted from its first bar) would decide on another history than the one "
            "promoted. Replay it over the whole history (--feed replay or --feed store), or "
            "promote with a finite window the gate proves (--window N)."))
    return int(config.window)


def _known(options: Mapping[str, Any], known: tuple[str, ...], kind: str) -> None:
    for key in options:
        if key not in known:
            raise InvalidParameterError(message(
                key, f"build_feed[{kind}]", f"one of {', '.join(known) or 'nothing'}", key,
                did_you_mean(key, known)))


def _replay_feed(config: LiveConfig, options: dict[str, Any]) -> Feed:
    from quantlab.live.feeds import ReplayFeed

    _known(options, ("data", "speed"), "replay")
    if "data" not in options:
        raise InvalidParameterError(message("data", "build_feed[replay]", "a DataFrame of "
                                            "OHLCV bars", None))
    return ReplayFeed(options["data"], symbols=config.symbols,
                      speed=options.get("speed", "max"))


def _store_feed(config: LiveConfig, options: dict[str, Any]) -> Feed:
    from quantlab.live.store_feed import StoreFeed

    _known(options, ("store_dir", "start", "end", "speed"), "store")
    if not options.get("store_dir"):
        raise InvalidParameterError(message("store_dir", "build_feed[store]", "the store's "
                                            "folder", None))
    return StoreFeed(options.pop("store_dir"), config.symbols, config.timeframe, **options)


def _ccxt_feed(config: LiveConfig, options: dict[str, Any]) -> Feed:
    from quantlab.live.exchange_feed import CcxtPollingFeed

    known = ("exchange", "poll_seconds", "history", "max_polls", "stale_bars", "gap",
             "settle_seconds", "until", "clock", "sleep")
    _known(options, known, "ccxt")
    venue = config.broker_options if config.broker == "ccxt" else {}
    exchange = options.pop("exchange", None) or venue.get("exchange")
    if not exchange:
        raise InvalidParameterError(message(
            "exchange", "build_feed[ccxt]", "a ccxt exchange id (a paper config names none)",
            None, "Pass --exchange binance (or exchange='binance')."))
    window = _finite_window(config, "ccxt")
    options.setdefault("history", window)
    from quantlab.live.promote import timeframe_delta, timeframe_text

    urls = dict(venue.get("urls") or {})
    base = urls.pop("base", None)
    # ccxt's binance loads spot, USD-M and COIN-M markets: a spot run needs the first only
    settings = ({"options": {"fetchMarkets": {"types": ["spot"]}}}
                if exchange == "binance" else {})
    client = None
    if venue.get("sandbox") and not base and not urls:
        import ccxt

        client = getattr(ccxt, str(exchange))({"enableRateLimit": True, "timeout": 10_000,
                                               **settings})
        client.set_sandbox_mode(True)
    timeframe = timeframe_text(timeframe_delta(config.timeframe))  # "3600s" -> "1h"
    return CcxtPollingFeed(str(exchange), config.symbols, timeframe, client=client,
                           urls=None if client is not None else base or (urls or None),
                           config=None if client is not None else settings, **options)


def _oanda_feed(config: LiveConfig, options: dict[str, Any]) -> Feed:
    from quantlab.live.oanda import MAX_CANDLES as OANDA_MAX_COUNT
    from quantlab.live.oanda import OandaFeed

    _known(options, ("count", "environ"), "oanda")
    if config.broker != "oanda":
        raise InvalidParameterError(message(
            "feed", "build_feed", "'oanda' only with an OANDA broker config", "oanda",
            f"The {config.broker} config has no OANDA account (and paper never uses a token): "
            "use --feed replay or --feed store, or promote with an oanda broker."))
    window = _finite_window(config, "oanda")
    if "count" not in options:
        # + 1: without `from`, OANDA's last `count` candles include the forming one
        if window + 1 > OANDA_MAX_COUNT:
            raise InvalidParameterError(message(
                "window", "build_feed[oanda]", f"at most {OANDA_MAX_COUNT - 1} bars (OANDA "
                f"serves {OANDA_MAX_COUNT} candles a request, the forming one included)",
                window, "Promote with a shorter window, or pass count= knowing the run "
                "starts with fewer bars than its window."))
        options["count"] = window + 1
    granularity = granularity_of(config.timeframe)
    return OandaFeed.from_config(config.broker_options, config.symbols,
                                 granularity=granularity, **options)


# ---- the venue's rules vs the config's -----------------------------------------------------
def _per_symbol(value: Any, symbol: str) -> float:
    if isinstance(value, Mapping):
        return float(value.get(symbol, 0.0) or 0.0)
    return float(value or 0.0)


def _divides(venue_lot: float, config_lot: float) -> bool:
    if venue_lot <= 0:
        return True
    if config_lot <= 0:
        return False
    return Decimal(repr(config_lot)) % Decimal(repr(venue_lot)) == 0


def check_venue_rules(config: LiveConfig, broker: Broker) -> dict[str, ExchangeRules]:
    """Refuse a run whose config sizes orders the venue would truncate or refuse.

    For each symbol, ``broker.rules(symbol)`` is compared with the config's execution
    ``lot_size`` and ``min_notional``: the venue's lot must divide the config's (a config lot
    of 0 accepts only a venue without a lot), and the venue's minimum notional must not
    exceed the config's.

    Returns
    -------
    dict - the venue's rules per symbol.

    Raises
    ------
    StartupError
        Naming each symbol, both values and the ``-o lot_size=... -o min_notional=...`` to
        promote with; or the venue's rules could not be read (nothing is traded).
    """
    ex = config.backtest.execution
    found: dict[str, ExchangeRules] = {}
    problems: list[str] = []
    for symbol in config.symbols:
        try:
            rules = broker.rules(symbol)
        except Exception as exc:
            raise StartupError(f"the venue's order rules for {symbol} could not be read "
                               f"({type(exc).__name__}: {exc}); nothing was traded. Check the "
                               "connection, the symbol and the credentials, then start "
                               "again.") from None
        found[symbol] = rules
        lot, notional = _per_symbol(ex.lot_size, symbol), _per_symbol(ex.min_notional, symbol)
        if not _divides(float(rules.lot_size), lot):
            problems.append(f"{symbol}: the venue's lot is {rules.lot_size:g}, the config's "
                            f"lot_size {lot:g} is not a multiple of it")
        if float(rules.min_notional) > notional * (1 + 1e-12):
            problems.append(f"{symbol}: the venue's minimum notional is "
                            f"{rules.min_notional:g}, the config's min_notional {notional:g}")
    if problems:
        raise StartupError(
            "the config's order rules differ from the venue's (" + "; ".join(problems) + "): "
            "the account would book sizes the venue truncates or refuses, and reconciliation "
            "would halt the run on the first order. Promote again with "
            + _promote_hint(config, found) + ".")
    return found


def _promote_hint(config: LiveConfig, rules: dict[str, ExchangeRules]) -> str:
    ex = config.backtest.execution

    def option(name: str, venue: dict[str, float], current: Any) -> str:
        values = {s: max(v, _per_symbol(current, s)) if name == "min_notional" else
                  (_per_symbol(current, s) if _divides(v, _per_symbol(current, s)) else v)
                  for s, v in venue.items()}
        if len(set(values.values())) == 1:
            return f"-o {name}={next(iter(values.values())):g}"
        return f"-o \"{name}={ {s: float(v) for s, v in values.items()} }\""

    lots = {s: float(r.lot_size) for s, r in rules.items()}
    notionals = {s: float(r.min_notional) for s, r in rules.items()}
    return (option("lot_size", lots, ex.lot_size) + " "
            + option("min_notional", notionals, ex.min_notional))

"""``quantlab promote`` and ``quantlab live run|status|halt|resume|report|serve``.

Wired into ``quantlab/cli.py`` with ``add_commands(sub)``; also runnable as
``python -m quantlab.live ...`` (same parser).

``quantlab promote ... --broker B`` takes ``paper``, a YAML file holding the broker mapping,
or the mapping inline (``--broker "{kind: ccxt, exchange: binance, api_key_env: K,
secret_env: S}"``); ``--monitoring`` likewise. A value that looks like a file (a
``.yaml``/``.yml``/``.json`` suffix or a ``/``) but does not exist is refused, naming the
option and the path (it is never read as inline YAML). ``quantlab live run CONFIG --feed
replay|store|ccxt|oanda`` builds the feed with :func:`~quantlab.live.venues.build_feed`
(``ccxt``: the exchange's public klines, polled every ``--poll-seconds`` while a bar is
late; ``oanda``: a catch-up over the account's closed candles available now, then the run
ends: start it again after the next bar close); ``--metrics-port`` and ``--api-port`` serve the
Prometheus metrics and the control API on 127.0.0.1 for the run's duration. Any
:class:`~quantlab.errors.QuantlabError` (a refused start, a run that must stop) exits with
status 2 and one line ``error: ...`` on stderr.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "main"]


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def add_commands(subparsers: Any) -> None:
    """Register ``promote`` and ``live`` on an argparse subparsers object."""
    p = subparsers.add_parser(
        "promote", help="check a strategy (causality, trailing-window parity) and write "
                        "config/live/NAME.yaml",
        description="Promote a built-in strategy: run the causality and parity gate on a "
                    "dataset and write its live config with a parity fingerprint.")
    p.add_argument("strategy", help="built-in strategy name, e.g. SmaCross")
    p.add_argument("--name", required=True, help="config name (file NAME.yaml)")
    p.add_argument("--data", default="aapl", help="bundled dataset (default aapl)")
    p.add_argument("--start", help="first bar of the data used")
    p.add_argument("--end", help="last bar of the data used")
    p.add_argument("--symbol", help="symbol name (default: the data's)")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="strategy parameter, repeatable")
    p.add_argument("--best-params", help="a JSON file of parameters (a walk-forward "
                                         "result's best_params)")
    p.add_argument("-o", "--option", action="append", default=[], metavar="NAME=VALUE",
                   help="a backtest option, repeatable: -o fee_bps=5 -o max_drawdown=0.2")
    p.add_argument("--window", help="bars the runner keeps (default 2*warmup+2; 'full')")
    p.add_argument("--broker", default="paper",
                   help="'paper' (default), a YAML file with the broker mapping, or the "
                        "mapping inline: \"{kind: ccxt, exchange: binance, api_key_env: K, "
                        "secret_env: S}\" (secrets by environment variable name only)")
    p.add_argument("--monitoring", help="the monitoring section (YAML file or inline): "
                                        "{metrics_port, api_port, heartbeat_s, alerts}")
    p.add_argument("--out", default="config/live", help="folder (default config/live)")
    p.set_defaults(func=_promote)

    live = subparsers.add_parser("live", help="run a promoted strategy on paper; status, "
                                              "halt, resume, report")
    sub = live.add_subparsers(dest="live_command", required=True,
                              metavar="{run,status,halt,resume,report,serve}")
    r = sub.add_parser("run", help="run a promoted config on a feed")
    r.add_argument("config", help="config/live/NAME.yaml")
    r.add_argument("--feed", choices=["replay", "store", "ccxt", "oanda"], default="replay",
                   help="replay a bundled dataset (default), a data --store, poll the "
                        "exchange's klines (ccxt), or catch up over the OANDA account's "
                        "closed candles available now and end (oanda: run it again after "
                        "each bar close)")
    r.add_argument("--data", default="aapl", help="bundled dataset replayed (default aapl)")
    r.add_argument("--exchange", help="--feed ccxt: the exchange (default: the broker's)")
    r.add_argument("--poll-seconds", type=float, default=5.0,
                   help="--feed ccxt: pause between polls while a bar is late (default 5)")
    r.add_argument("--max-polls", type=int, help="--feed ccxt: stop after this many polls")
    r.add_argument("--metrics-port", type=int,
                   help="serve Prometheus metrics on 127.0.0.1:PORT during the run")
    r.add_argument("--api-port", type=int,
                   help="serve the control API and status page on 127.0.0.1:PORT")
    r.add_argument("--store", metavar="DIR", help="replay the config's symbols and timeframe "
                   "from a quantlab data store (`quantlab data download`) instead of --data")
    r.add_argument("--start")
    r.add_argument("--end")
    r.add_argument("--journal", help="journal file (default runs/NAME.journal.sqlite)")
    r.add_argument("--speed", default="max", help="max, realtime or a speed-up factor")
    r.add_argument("--max-bars", type=int)
    r.add_argument("--no-fsync", action="store_true", help="do not fsync each commit")
    r.set_defaults(func=_run)
    for name, helptext in (("status", "positions, orders, PnL, state, last bar and lag"),
                           ("halt", "latch a halt (only exits go out until resume)"),
                           ("resume", "clear the halt latch"),
                           ("report", "shadow backtest of what the runner saw (HTML)")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("journal", help="the run's journal file")
        if name in ("halt", "resume"):
            s.add_argument("--reason", default="operator")
        if name == "report":
            s.add_argument("--out", help="HTML file (default <journal>.report.html)")
        s.set_defaults(func={"status": _status, "halt": _halt, "resume": _resume,
                             "report": _report}[name])
    _add_serve(sub)


def _add_serve(sub: Any) -> None:
    s = sub.add_parser("serve", help="control API and status page (halt/resume, positions, "
                                     "orders, equity) over HTTP")
    s.add_argument("journal", help="the run's journal file")
    s.add_argument("--host", default="127.0.0.1",
                   help="interface (default 127.0.0.1; another one needs QUANTLAB_API_TOKEN)")
    s.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    s.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from quantlab.live.api import check_serve, serve

    # the checks serve() makes (a non-loopback host needs a token, the port's range) come
    # first: "serving" is printed only for a server that will start
    check_serve(args.journal, host=args.host, port=args.port)
    print(f"serving {args.journal} on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    serve(args.journal, host=args.host, port=args.port)
    return 0


def _data(name: str, start: str | None, end: str | None, symbol: str | None = None) -> Any:
    from quantlab.data import load

    frame = load(name)
    frame = frame.loc[start:end] if (start or end) else frame
    if symbol:
        frame.attrs["symbol"] = symbol
    return frame


def _promote(args: argparse.Namespace) -> int:
    from quantlab.live.promote import promote

    params = {k: _value(v) for k, v in args.param}
    if args.best_params:
        params.update(json.loads(Path(args.best_params).read_text()))
    options = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key.strip()] = _value(value)
    window: Any = args.window
    if window not in (None, "full"):
        window = int(window)
    frame = _data(args.data, args.start, args.end, args.symbol)
    monitoring = None if args.monitoring is None else _mapping(args.monitoring, "--monitoring")
    broker = args.broker if args.broker == "paper" else _mapping(args.broker, "--broker")
    path = promote(args.strategy, data=frame, params=params, name=args.name, out_dir=args.out,
                   window=window, broker=broker, monitoring=monitoring, **options)
    print(f"promoted: {path}")
    return 0


def _mapping(text: str, option: str) -> Any:
    """A YAML file's content, or ``text`` itself read as YAML (a mapping or a word).

    ``text`` names a file when it has a ``.yaml``/``.yml``/``.json`` suffix or holds a ``/``
    and is not an inline mapping (``{...}``); such a file must exist.
    """
    import yaml

    from quantlab._validate import message
    from quantlab.errors import InvalidParameterError

    source = Path(text)
    stripped = text.strip()
    is_path = not stripped.startswith(("{", "[")) and (
        source.suffix.lower() in (".yaml", ".yml", ".json") or "/" in stripped)
    if is_path and not source.is_file():
        raise InvalidParameterError(message(
            option, "promote", "an existing YAML file, `paper` or an inline mapping", text,
            f"No file {str(source.resolve())!r} exists (the value looks like a path, so it "
            "is not read as inline YAML): fix the path, or write the mapping inline, "
            "e.g. \"{kind: oanda, account_id: ...}\"."))
    try:
        doc = yaml.safe_load(source.read_text() if is_path else text)
    except yaml.YAMLError as exc:
        raise InvalidParameterError(f"`{option}` of promote must be a YAML mapping or a YAML "
                                    f"file; it does not parse ({type(exc).__name__}).") from None
    return doc


def _json_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("quantlab.live")
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def _redact_logs(cfg: Any) -> None:
    """Redact, by value, every secret the run reads (the config's ``*_env`` variables and the
    API token) from every log line: this process's handlers and Python's last-resort one."""
    from quantlab.live.secrets import env_names, install_redaction

    names = [*env_names(cfg.broker_options), *env_names(cfg.monitoring), "QUANTLAB_API_TOKEN"]
    flt = install_redaction(names, loggers=[logging.getLogger("quantlab.live")])
    if logging.lastResort is not None and flt not in logging.lastResort.filters:
        logging.lastResort.addFilter(flt)


def _run(args: argparse.Namespace) -> int:
    from quantlab.live.promote import load_config
    from quantlab.live.runner import run

    _json_logging()
    cfg = load_config(args.config)
    _redact_logs(cfg)
    feed = _feed(args, cfg)
    try:
        res = run(cfg, feed=feed,
                  journal=args.journal, max_bars=args.max_bars, fsync=not args.no_fsync,
                  handle_signals=True, metrics_port=args.metrics_port, api_port=args.api_port)
    finally:
        close = getattr(feed, "close", None)
        if callable(close):
            close()  # a venue feed's HTTP session (the OANDA feed opens its own)
    print(json.dumps({"event": "done", "bars": res.bars, "state": res.state,
                      "orders": len(res.orders), "equity": float(res.equity.iloc[-1])
                      if len(res.equity) else None, "journal": str(res.journal)}))
    return 0


def _feed(args: argparse.Namespace, cfg: Any) -> Any:
    """The feed of ``--feed`` (``--store DIR`` alone still means the store feed)."""
    from quantlab.live.venues import build_feed

    speed: Any = args.speed if args.speed in ("max", "realtime") else float(args.speed)
    kind = "store" if args.store and args.feed == "replay" else args.feed
    if kind == "store":
        return build_feed(cfg, "store", store_dir=args.store, start=args.start, end=args.end,
                          speed=speed)
    if kind == "ccxt":
        options: dict[str, Any] = {"poll_seconds": args.poll_seconds}
        if args.exchange:
            options["exchange"] = args.exchange
        if args.max_polls is not None:
            options["max_polls"] = args.max_polls
        return build_feed(cfg, "ccxt", **options)
    if kind == "oanda":
        return build_feed(cfg, "oanda")
    frame = _data(args.data, args.start, args.end, cfg.symbols[0])
    return build_feed(cfg, "replay", data=frame, speed=speed)


def _writable(path: str) -> Any:
    from quantlab.live.journal import Journal, journal_mode

    return Journal(path, mode=journal_mode(path))


def _halt(args: argparse.Namespace) -> int:
    j = _writable(args.journal)
    j.latch(args.reason, source="cli")  # the halts row and its alert in one transaction
    j.close(checkpoint=False)
    print(f"halt latched in {args.journal}: {args.reason}")
    return 0


def _resume(args: argparse.Namespace) -> int:
    j = _writable(args.journal)
    if j.latched() is None:
        print("no halt is latched")
    j.resume(args.reason, source="cli")
    j.close(checkpoint=False)
    print(f"halt cleared in {args.journal}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from quantlab.live.status import status

    print(json.dumps(status(args.journal), indent=2, default=str))
    return 0


def _report(args: argparse.Namespace) -> int:
    from quantlab.live.shadow import shadow_report

    out = shadow_report(args.journal, out=args.out)
    print(f"report: {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m quantlab.live``: the same commands as ``quantlab``."""
    from quantlab.errors import QuantlabError

    parser = argparse.ArgumentParser(prog="quantlab")
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except QuantlabError as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)  # one line
        return 2

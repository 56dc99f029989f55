"""`quantlab data ...` sub-commands: list, download, import-csv, validate; and the data-source
and CSV-reading options that ``quantlab backtest`` and ``quantlab sweep`` share."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "add_csv_options", "add_source_options", "csv_options", "open_source"]

_CSV_HELP = ("reading a CSV (an exchange export): --skiprows 1 for a banner line, "
             "--date-format '%Y-%m-%d %I-%p' for 12-hour times, --map 'Volume BTC=volume' "
             "to pick a column, --sort for newest-first rows")


def add_csv_options(parser: argparse.ArgumentParser) -> None:
    """Add the CSV reading options (``--skiprows --date-format --tz --unit --map --sort --sep``)."""
    group = parser.add_argument_group("CSV reading options", _CSV_HELP)
    group.add_argument("--skiprows", type=int, metavar="N",
                       help="lines to skip before the header (a banner line: --skiprows 1)")
    group.add_argument("--date-format", metavar="FMT",
                       help="strptime format of the time column, e.g. '%%Y-%%m-%%d %%I-%%p' for "
                            "'2017-07-01 11-AM' (default: ISO-like dates inferred)")
    group.add_argument("--tz", metavar="ZONE",
                       help="time zone of naive timestamps in the file (default UTC)")
    group.add_argument("--unit", choices=["s", "ms", "us", "ns"],
                       help="unit of epoch-number timestamps")
    group.add_argument("--map", action="append", default=[], metavar="FROM=TO",
                       help="read column FROM as TO (time, open, high, low, close or volume); "
                            "repeatable: --map 'Volume BTC=volume'")
    group.add_argument("--sort", action="store_true",
                       help="sort the rows by time (newest-first exports); the output says "
                            "how many rows moved")
    group.add_argument("--sep", metavar="CHAR", help="field delimiter (default ',')")


def add_source_options(parser: argparse.ArgumentParser, *, default_dataset: str = "aapl") -> None:
    """Add ``--dataset | --store/--symbol/--timeframe | --csv`` and the CSV reading options."""
    group = parser.add_argument_group(
        "data source", f"exactly one of --dataset, --store (with --symbol and --timeframe) or "
                       f"--csv; none given: --dataset {default_dataset}")
    group.add_argument("--dataset", help=f"bundled dataset name (quantlab data list); "
                                         f"default {default_dataset} when no source is given")
    group.add_argument("--store", help="Store folder (with --symbol and --timeframe)")
    group.add_argument("--symbol", help="stored symbol, e.g. BTC/USDT")
    group.add_argument("--timeframe", help="stored timeframe, e.g. 1h")
    group.add_argument("--csv", metavar="FILE", help="CSV file of bars (see the reading options)")
    add_csv_options(parser)
    parser.set_defaults(_default_dataset=default_dataset)


def csv_options(args: argparse.Namespace, *, caller: str) -> dict[str, Any]:
    """The CSV reading options given on the command line, as ``read_csv`` keywords."""
    from quantlab._validate import message
    from quantlab.errors import InvalidParameterError

    options: dict[str, Any] = {}
    for name in ("skiprows", "date_format", "tz", "unit", "sep"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    mapping: dict[str, str] = {}
    for item in getattr(args, "map", []) or []:
        source, eq, target = item.rpartition("=")
        if not eq or not source.strip() or not target.strip():
            raise InvalidParameterError(message(
                "--map", caller, "FROM=TO, such as 'Volume BTC=volume'", item,
                "TO is one of time, open, high, low, close, volume."))
        mapping[source.strip()] = target.strip()
    if mapping:
        options["columns"] = mapping
    if getattr(args, "sort", False):
        options["sort"] = True
    return options


def open_source(args: argparse.Namespace, *, caller: str, start: Any = None,
                end: Any = None) -> Any:
    """Resolve the data-source options through :func:`quantlab.data.open_data`."""
    from quantlab.data.sources import open_data

    options = csv_options(args, caller=caller)
    dataset = args.dataset
    if all(v is None for v in (args.dataset, args.store, args.csv, args.symbol, args.timeframe)):
        dataset = args._default_dataset
    if options and args.csv is None:
        from quantlab.errors import InvalidParameterError

        flags = ", ".join("--" + k.replace("_", "-") if k != "columns" else "--map" for k in options)
        raise InvalidParameterError(f"{caller}: the CSV reading options ({flags}) apply to "
                                    "--csv FILE only.")
    return open_data(dataset=dataset, store=args.store, symbol=args.symbol,
                     timeframe=args.timeframe, csv=args.csv,
                     csv_options=options if args.csv is not None else None,
                     start=start, end=end, caller=caller)


def add_commands(subparsers: Any) -> None:
    """Register ``data`` and its sub-commands on an argparse subparsers object."""
    data = subparsers.add_parser("data", help="bundled datasets, the local store, downloads, quality checks")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="{list,download,import-csv,validate}")

    p = sub.add_parser("list", help="list bundled datasets (and stored symbols with --store)")
    p.add_argument("--store", help="also list what a Store under this folder holds (it must exist)")
    p.set_defaults(func=_list)

    p = sub.add_parser("download", help="download OHLCV bars through ccxt into a Store (resumable)")
    p.add_argument("exchange", help="ccxt exchange id, e.g. binance")
    p.add_argument("symbol", help="market symbol, e.g. BTC/USDT")
    p.add_argument("timeframe", help="bar size, e.g. 1h")
    p.add_argument("--since", required=True, help="first bar (UTC), e.g. 2024-01-01")
    p.add_argument("--until", help="last bar (UTC), default now")
    p.add_argument("--store", default="data/store", help="Store folder (default data/store)")
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "import-csv", help="import a CSV of OHLCV bars into a Store",
        description="Import a CSV of OHLCV bars into a Store. An exchange export such as "
                    "CryptoDataDownload's: quantlab data import-csv Gemini_BTCUSD_1h.csv "
                    "BTC/USD 1h --skiprows 1 --date-format '%Y-%m-%d %I-%p' "
                    "--map 'Volume BTC=volume' --sort")
    p.add_argument("path", help="CSV file with time, open, high, low, close, volume columns")
    p.add_argument("symbol")
    p.add_argument("timeframe")
    p.add_argument("--store", default="data/store", help="Store folder (default data/store)")
    add_csv_options(p)
    p.set_defaults(func=_import_csv)

    p = sub.add_parser(
        "validate", help="quality report of a bundled dataset, a stored symbol or a CSV",
        description="Quality report. Exit status 0 when there is no error (warnings such as "
                    "outliers, stale runs, zero volume and gaps on 24/7 data allowed), 1 when "
                    "there are errors (NaN, prices <= 0, inconsistent OHLC, duplicate or "
                    "unsorted timestamps, blocks reappearing out of order...), 2 when the "
                    "source cannot be read.")
    p.add_argument("source", help="bundled dataset name, CSV path, or SYMBOL:TIMEFRAME with --store")
    p.add_argument("--store", help="Store folder for SYMBOL:TIMEFRAME")
    p.add_argument("--freq", help="expected bar spacing, e.g. 1h (inferred when omitted)")
    add_csv_options(p)
    p.set_defaults(func=_validate)


def _list(args: argparse.Namespace) -> int:
    from quantlab.data import list_datasets

    if args.store:
        from quantlab.data.store import Store

        store = Store(args.store)
        store.check_exists(caller="quantlab data list --store")
    print(list_datasets().to_string(index=False))
    if args.store:
        print()
        print(store.symbols().to_string(index=False))
    return 0


def _download(args: argparse.Namespace) -> int:
    from quantlab.data.download import download
    from quantlab.data.store import Store

    frame = download(args.exchange, args.symbol, args.timeframe, since=args.since, until=args.until,
                     store=Store(args.store))
    print(f"{args.symbol} {args.timeframe}: {len(frame)} bars stored in {args.store}")
    return 0


def _import_csv(args: argparse.Namespace) -> int:
    from quantlab.data.store import Store, import_csv

    options = csv_options(args, caller="quantlab data import-csv")
    result = import_csv(args.path, args.symbol, args.timeframe, store=Store(args.store), **options)
    print(f"{args.symbol} {args.timeframe}: {result.added} new bars in {args.store} "
          f"({result.rows} rows read, {result.first} .. {result.last})")
    if result.note:
        print(result.note)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from quantlab.data import list_datasets, load
    from quantlab.data.quality import validate
    from quantlab.errors import DataError, InvalidParameterError

    caller = "quantlab data validate"
    options = csv_options(args, caller=caller)
    source = args.source
    is_csv = Path(source).is_file()
    if options and not is_csv:
        raise InvalidParameterError(f"{caller}: the CSV reading options apply to a CSV file; "
                                    f"{source!r} is not a file.")
    if ":" in source and not is_csv:
        if not args.store:
            raise DataError(f"{source!r} names a stored SYMBOL:TIMEFRAME; pass --store DIR (the "
                            "Store's folder), or give a bundled dataset name or a CSV path.")
        from quantlab.data.store import Store

        symbol, timeframe = source.rsplit(":", 1)
        frame = Store(args.store).read(symbol, timeframe)
    elif not is_csv and source.lower() in set(list_datasets()["name"]):
        frame = load(source)
    elif is_csv:
        from quantlab.data.csv import read_raw_csv

        frame, info = read_raw_csv(source, caller=caller, **options)
        if info.note:
            print(info.note)
    else:
        raise DataError(f"Cannot read {source!r}: no such file or bundled dataset. Give a bundled "
                        "dataset name (quantlab data list), a CSV path, or SYMBOL:TIMEFRAME "
                        "with --store.")
    report = validate(frame, freq=args.freq)
    print(report.summary())
    return 0 if report.ok else 1

"""`quantlab data ...` sub-commands: list, download, import-csv, validate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Register ``data`` and its sub-commands on an argparse subparsers object."""
    data = subparsers.add_parser("data", help="bundled datasets, the local store, downloads, quality checks")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="{list,download,import-csv,validate}")

    p = sub.add_parser("list", help="list bundled datasets (and stored symbols with --store)")
    p.add_argument("--store", help="also list what a Store under this folder holds")
    p.set_defaults(func=_list)

    p = sub.add_parser("download", help="download OHLCV bars through ccxt into a Store (resumable)")
    p.add_argument("exchange", help="ccxt exchange id, e.g. binance")
    p.add_argument("symbol", help="market symbol, e.g. BTC/USDT")
    p.add_argument("timeframe", help="bar size, e.g. 1h")
    p.add_argument("--since", required=True, help="first bar (UTC), e.g. 2024-01-01")
    p.add_argument("--until", help="last bar (UTC), default now")
    p.add_argument("--store", default="data/store", help="Store folder (default data/store)")
    p.set_defaults(func=_download)

    p = sub.add_parser("import-csv", help="import a CSV of OHLCV bars into a Store")
    p.add_argument("path", help="CSV file with time, open, high, low, close, volume columns")
    p.add_argument("symbol")
    p.add_argument("timeframe")
    p.add_argument("--store", default="data/store", help="Store folder (default data/store)")
    p.add_argument("--tz", default="UTC", help="time zone of naive timestamps (default UTC)")
    p.add_argument("--unit", choices=["s", "ms", "us", "ns"], help="unit of integer epoch timestamps")
    p.set_defaults(func=_import_csv)

    p = sub.add_parser("validate", help="quality report of a bundled dataset, a stored symbol or a CSV")
    p.add_argument("source", help="bundled dataset name, CSV path, or SYMBOL:TIMEFRAME with --store")
    p.add_argument("--store", help="Store folder for SYMBOL:TIMEFRAME")
    p.add_argument("--freq", help="expected bar spacing, e.g. 1h (inferred when omitted)")
    p.set_defaults(func=_validate)


def _list(args: argparse.Namespace) -> int:
    from quantlab.data import list_datasets

    print(list_datasets().to_string(index=False))
    if args.store:
        from quantlab.data.store import Store

        print()
        print(Store(args.store).symbols().to_string(index=False))
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

    added = import_csv(args.path, args.symbol, args.timeframe, store=Store(args.store), tz=args.tz, unit=args.unit)
    print(f"{args.symbol} {args.timeframe}: {added} new bars in {args.store}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from quantlab.data import list_datasets, load
    from quantlab.data.quality import validate
    from quantlab.errors import DataError

    source = args.source
    if ":" in source and not Path(source).exists():
        if not args.store:
            raise DataError(f"{source!r} names a stored SYMBOL:TIMEFRAME; pass --store DIR (the "
                            "Store's folder), or give a bundled dataset name or a CSV path.")
        from quantlab.data.store import Store

        symbol, timeframe = source.rsplit(":", 1)
        frame = Store(args.store).read(symbol, timeframe)
    elif source.lower() in set(list_datasets()["name"]):
        frame = load(source)
    else:
        try:
            frame = pd.read_csv(source, index_col=0, parse_dates=True)
        except (OSError, ValueError) as exc:  # missing file, parse error
            raise DataError(f"Cannot read {source!r} as a CSV of OHLCV bars ({exc}). Give a bundled "
                            "dataset name (quantlab data list), a CSV path, or SYMBOL:TIMEFRAME "
                            "with --store.") from exc
    report = validate(frame, freq=args.freq)
    print(report.summary())
    return 0 if report.ok else 1

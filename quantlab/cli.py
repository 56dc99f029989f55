"""The ``quantlab`` command.

    quantlab demo                         run notebooks/backtest_report.ipynb on bundled data
    quantlab backtest [options]           backtest a built-in strategy, print stats, write a tearsheet
    quantlab data list|download|import-csv|validate
    quantlab report NOTEBOOK -p name value ...   (and rerun, pipelines)

Errors from quantlab (bad parameters, bad data) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from quantlab.errors import QuantlabError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``quantlab`` command."""
    from quantlab.data.commands import add_commands as add_data_commands
    from quantlab.report.commands import add_commands as add_report_commands

    parser = argparse.ArgumentParser(prog="quantlab", description="quantlab: quant research from notebook to live.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the backtest report notebook on bundled data (what `make demo` does)")
    p.add_argument("--out", default="reports", help="output folder (default reports/)")
    p.set_defaults(func=_demo)

    p = sub.add_parser("backtest", help="backtest a built-in strategy on a bundled dataset")
    p.add_argument("--dataset", default="aapl", help="bundled dataset name (default aapl)")
    p.add_argument("--strategy", default="SmaCross", help="built-in strategy class (default SmaCross)")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="strategy parameter, repeatable: -p fast 10 -p slow 30")
    p.add_argument("--fee-bps", type=float, default=10.0, help="fee in basis points of traded value (default 10)")
    p.add_argument("--slippage-bps", type=float, default=0.0, help="slippage in basis points (default 0)")
    p.add_argument("--fill", default="next_open", choices=["next_open", "close"], help="fill price (default next_open)")
    p.add_argument("--start", help="first bar (UTC date)")
    p.add_argument("--end", help="last bar (UTC date)")
    p.add_argument("--out", default="reports", help="folder for the tearsheet (default reports/)")
    p.set_defaults(func=_backtest)

    add_data_commands(sub)
    add_report_commands(sub)
    return parser


def _parse_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def _backtest(args: argparse.Namespace) -> int:
    from quantlab.backtest import backtest
    from quantlab.data import load
    from quantlab.strategy.registry import strategy_from_name

    strategy = strategy_from_name(args.strategy, caller="quantlab backtest",
                                  **{k: _parse_value(v) for k, v in args.param})
    name = type(strategy).__name__
    data = load(args.dataset, start=args.start, end=args.end)
    result = backtest(data, strategy, fee_bps=args.fee_bps, slippage_bps=args.slippage_bps, fill=args.fill)
    print(f"{strategy!r} on {args.dataset} ({data.index[0].date()} .. {data.index[-1].date()}, {len(data)} bars), "
          f"fees {args.fee_bps:g} bps, fill at {args.fill}")
    print(result.stats().to_string())
    out = Path(args.out) / f"tearsheet-{args.dataset}-{name}.html"
    path = result.tearsheet(out)
    print(f"\ntearsheet: {path.resolve()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Run notebooks/backtest_report.ipynb on bundled data; print its key figures and paths."""
    from quantlab.report.runner import run_notebook

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "backtest_report.ipynb"
    if not notebook.exists():
        print(f"quantlab: error: {notebook} not found; `quantlab demo` runs from a source checkout.",
              file=sys.stderr)
        return 2
    print(f"running {notebook.name} (SmaCross 20/50 on bundled AAPL daily, 10 bps fees, "
          "fill at the next open, benchmark S&P 500) ...", flush=True)
    run = run_notebook(notebook, {}, output_dir=args.out)
    width = max(map(len, run.records), default=0)
    for name, value in run.records.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"{name:<{width}}  {shown}")
    print(f"\nmanifest: {run.manifest_path.resolve()}")
    print(f"report: {run.html_path.resolve() if run.html_path else '(no HTML: see the manifest)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``quantlab`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except QuantlabError as exc:
        print(f"quantlab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

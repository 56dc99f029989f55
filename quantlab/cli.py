"""The ``quantlab`` command.

    quantlab demo                         run notebooks/backtest_report.ipynb on bundled data
    quantlab backtest [options]           backtest a built-in strategy, print stats, write a tearsheet
    quantlab sweep --grid fast=5:50:5 ... backtest a parameter grid, print the top rows, write a heatmap
    quantlab data list|download|import-csv|validate
    quantlab report NOTEBOOK -p name value ...   (and rerun, pipelines)
    quantlab optimize CONFIG.yaml          an Optuna search, grid or walk-forward from a YAML file
    quantlab worker --storage URL --study NAME [--n-trials N]   join a shared study
    quantlab promote ... / quantlab live run|status|halt|resume|report   the live runner

``backtest`` and ``sweep`` read bars from exactly one source: a bundled ``--dataset``, a
Store (``--store DIR --symbol S --timeframe T``) or ``--csv FILE`` with the CSV reading
options (``--skiprows --date-format --tz --unit --map --sort``); see
:func:`quantlab.data.open_data`.

Errors from quantlab (bad parameters, bad data) print one line and exit with status 2. Output
into a pipe closed early (``| head``) ends quietly with status 141, as if killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any

from quantlab.errors import QuantlabError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``quantlab`` command."""
    from quantlab.data.commands import add_commands as add_data_commands
    from quantlab.data.commands import add_source_options
    from quantlab.live.commands import add_commands as add_live_commands
    from quantlab.optimize.commands import add_commands as add_optimize_commands
    from quantlab.report.commands import add_commands as add_report_commands

    parser = argparse.ArgumentParser(prog="quantlab", description="quantlab: quant research from notebook to live.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the backtest report notebook on bundled data (what `make demo` does)")
    p.add_argument("--out", default="reports", help="output folder (default reports/)")
    p.set_defaults(func=_demo)

    p = sub.add_parser(
        "backtest", help="backtest a built-in strategy on a dataset, a stored symbol or a CSV",
        description="Backtest a built-in strategy, print its statistics and write an HTML "
                    "tearsheet. Data: --dataset NAME, --store DIR --symbol S --timeframe T, or "
                    "--csv FILE with the CSV reading options.")
    add_source_options(p)
    p.add_argument("--strategy", default="SmaCross", help="built-in strategy class (default SmaCross)")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="strategy parameter, repeatable: -p fast 10 -p slow 30")
    _add_trading_options(p)
    p.add_argument("--out", default="reports", help="folder for the tearsheet (default reports/)")
    p.add_argument("--plotlyjs", choices=["inline", "directory"], default="inline",
                   help="inline: a self-contained tearsheet (default); directory: one shared "
                        "plotly.min.js beside the reports of --out")
    p.set_defaults(func=_backtest)

    p = sub.add_parser(
        "sweep", help="backtest every combination of a parameter grid; print the top rows, "
                      "write a heatmap",
        description="Backtest a grid of strategy parameters (quantlab.backtest.sweep), print "
                    "the best rows and write the heatmap of the metric over the first two "
                    "grid parameters as HTML. Example: quantlab sweep --dataset aapl --grid "
                    "fast=5:50:5 --grid slow=20:200:10 --constraint 'fast < slow'")
    add_source_options(p)
    p.add_argument("--strategy", default="SmaCross", help="built-in strategy class (default SmaCross)")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=SPEC", required=True,
                   help="a swept parameter, repeatable: NAME=START:STOP:STEP (inclusive), "
                        "NAME=A,B,C or NAME=VALUE; e.g. --grid fast=5:50:5 --grid slow=20:200:10")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="a fixed strategy parameter, repeatable")
    p.add_argument("--constraint", help="keep the combinations where this expression of the "
                                        "parameters holds, e.g. 'fast < slow'")
    p.add_argument("--metric", default="sharpe", help="statistic to rank by (default sharpe)")
    p.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    _add_trading_options(p)
    p.add_argument("--out", default="reports", help="folder for the heatmap HTML (default reports/)")
    p.set_defaults(func=_sweep)

    add_data_commands(sub)
    add_report_commands(sub)
    add_optimize_commands(sub)
    add_live_commands(sub)
    return parser


def _add_trading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fee-bps", type=float, default=10.0, help="fee in basis points of traded value (default 10)")
    p.add_argument("--slippage-bps", type=float, default=0.0, help="slippage in basis points (default 0)")
    p.add_argument("--fill", default="next_open", choices=["next_open", "close"], help="fill price (default next_open)")
    p.add_argument("--start", help="first bar (UTC date)")
    p.add_argument("--end", help="last bar (UTC date)")


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


def _load(args: argparse.Namespace, caller: str) -> Any:
    """The bars of the data-source options, with at least 2 of them (else name the range)."""
    from quantlab.data._frame import show_span
    from quantlab.data.commands import open_source
    from quantlab.errors import DataError

    data = open_source(args, caller=caller, start=args.start, end=args.end)
    if len(data) < 2:
        full = open_source(args, caller=caller)
        raise DataError(f"`--start`/`--end` of {caller} select {len(data)} bar of "
                        f"{data.attrs['quantlab']['source']}, which covers {show_span(full.index)}; "
                        "a backtest needs at least 2. Widen the range.")
    return data


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")


def _describe(data: Any) -> str:
    from quantlab.data._frame import show_span

    return f"{data.attrs['quantlab']['source']} ({show_span(data.index)})"


def _backtest(args: argparse.Namespace) -> int:
    from quantlab.backtest import backtest
    from quantlab.strategy.registry import strategy_from_name

    caller = "quantlab backtest"
    params = {k: _parse_value(v) for k, v in args.param}
    strategy = strategy_from_name(args.strategy, caller=caller, **params)
    name = type(strategy).__name__
    data = _load(args, caller)
    info = data.attrs["quantlab"]
    result = backtest(data, strategy, fee_bps=args.fee_bps, slippage_bps=args.slippage_bps, fill=args.fill)
    print(f"{strategy!r} on {_describe(data)}, fees {args.fee_bps:g} bps, fill at {args.fill}")
    if info.get("note"):
        print(info["note"])
    print(result.stats().to_string())
    tag = "-".join(f"{k}{v}" for k, v in params.items())
    out = Path(args.out) / _safe(f"tearsheet-{info['name']}-{name}{'-' + tag if tag else ''}.html")
    options: dict[str, Any] = {}
    from quantlab.plotting.tearsheet import write_tearsheet

    if "command" in inspect.signature(write_tearsheet).parameters:  # the run's own command line
        options["command"] = " ".join(["quantlab", *(_quote(a) for a in args._argv)])
    if args.plotlyjs != "inline":
        options["plotlyjs"] = args.plotlyjs
    path = result.tearsheet(out, **options)
    print(f"\ntearsheet: {Path(path).resolve()}")
    return 0


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[A-Za-z0-9._:/=+-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def _grid_values(spec: str, caller: str) -> tuple[str, list[Any]]:
    from quantlab._validate import message
    from quantlab.errors import InvalidParameterError

    name, eq, text = spec.partition("=")
    name, text = name.strip(), text.strip()
    usage = "NAME=START:STOP:STEP, NAME=A,B,C or NAME=VALUE, e.g. fast=5:50:5"
    if not eq or not name or not text:
        raise InvalidParameterError(message("--grid", caller, usage, spec))
    if ":" in text:
        parts = text.split(":")
        values = [_parse_value(p.strip()) for p in parts]
        if len(parts) != 3 or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                      for v in values):
            raise InvalidParameterError(message("--grid", caller, usage, spec))
        lo, hi, step = values
        if step <= 0 or hi < lo:
            raise InvalidParameterError(message("--grid", caller, f"{usage} with STOP >= START and "
                                                "STEP > 0", spec))
        if all(isinstance(v, int) for v in values):
            return name, list(range(int(lo), int(hi) + 1, int(step)))
        count = int((hi - lo) / step + 1e-9) + 1
        return name, [round(lo + k * step, 12) for k in range(count)]
    return name, [_parse_value(v.strip()) for v in text.split(",") if v.strip()]


def _sweep(args: argparse.Namespace) -> int:
    from quantlab._validate import check_int
    from quantlab.backtest.sweep import sweep
    from quantlab.plotting.page import atomic_write_text, figure_div, html_page
    from quantlab.strategy.registry import strategy_class

    caller = "quantlab sweep"
    cls = strategy_class(args.strategy, caller=caller)
    grid: dict[str, Any] = {k: [_parse_value(v)] for k, v in args.param}
    for spec in args.grid:
        name, values = _grid_values(spec, caller)
        grid[name] = values
    top = check_int("--top", args.top, caller=caller, minimum=1)
    data = _load(args, caller)
    info = data.attrs["quantlab"]
    result = sweep(cls, data, grid, constraint=args.constraint, metric=args.metric,
                   progress=False, fee_bps=args.fee_bps, slippage_bps=args.slippage_bps,
                   fill=args.fill)
    skipped = sum(result.n_skipped.values())
    print(f"{cls.__name__} sweep on {_describe(data)}: {result.n_trials} combinations "
          f"({skipped} skipped), fees {args.fee_bps:g} bps, fill at {args.fill}")
    if info.get("note"):
        print(info["note"])
    from quantlab.backtest.sweep import LOWER_IS_BETTER

    table = result.table.sort_values(result.metric, ascending=result.metric in LOWER_IS_BETTER,
                                     na_position="last").head(top)
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"\nbest {result.metric}: {result.best[result.metric]!r} at {result.best_params}")
    swept = [k for k in grid if len(grid[k]) > 1]
    if len(swept) >= 2:
        fig = result.heatmap(swept[0], swept[1])
        tag = "-".join(swept)
        out = Path(args.out) / _safe(f"sweep-{info['name']}-{cls.__name__}-{tag}-{result.metric}.html")
        title = f"{cls.__name__} sweep on {info['source']}: {result.metric}"
        path = atomic_write_text(out, html_page(title, figure_div(fig)))
        print(f"heatmap: {path.resolve()}")
    else:
        print("heatmap: none (it needs two swept parameters)")
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
    args._argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args) or 0)
    except QuantlabError as exc:
        print("quantlab: error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`quantlab data validate eurusd | head -2`): stop quietly;
        # point stdout at /dev/null so the interpreter's final flush cannot fail again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # pragma: no cover - no real stdout
            pass
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

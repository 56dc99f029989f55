"""The ``report``, ``rerun`` and ``pipelines`` sub-commands of the ``quantlab`` CLI.

``quantlab/cli.py`` calls :func:`add_commands` on its sub-parsers; each sub-command sets
``func(args) -> int`` (the exit status). Exit codes: 0 success, 1 a run failed (or a rerun
differs), 2 bad input (unknown parameter, wrong type, missing dataset or file) — reported
before anything runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from quantlab.errors import QuantlabError

__all__ = ["add_commands", "main"]


def _err(text: str) -> None:
    print(f"error: {text}", file=sys.stderr)


def _parse_params(notebook: str, pairs: list[list[str]] | None) -> dict[str, Any]:
    from quantlab.errors import InvalidParameterError
    from quantlab.report.runner import notebook_parameters, parse_cli_value

    specs = notebook_parameters(notebook)
    params: dict[str, Any] = {}
    for name, text in pairs or []:
        spec = specs.get(name)
        if spec is None:  # let validate_parameters word the did-you-mean
            params[name] = text
            continue
        if name in params:
            raise InvalidParameterError(f"Parameter `{name}` is given twice (-p {name} ...).")
        params[name] = parse_cli_value(spec, text)
    return params


def cmd_report(args: argparse.Namespace) -> int:
    """``quantlab report NOTEBOOK [-p NAME VALUE]... [--out DIR]``."""
    from quantlab.report.runner import NotebookRunError, help_notebook, run_notebook

    try:
        if args.help_notebook:
            print(help_notebook(args.notebook))
            return 0
        params = _parse_params(args.notebook, args.parameter)
        run = run_notebook(args.notebook, params, output_dir=args.out, kernel=args.kernel,
                           cell_timeout=args.timeout, progress=not args.no_progress,
                           exclude_input=not args.show_code, plotlyjs=args.plotlyjs)
    except NotebookRunError as exc:
        _err(str(exc))
        return 1
    except QuantlabError as exc:
        _err(str(exc))
        return 2
    print(f"report:   {run.html_path}")
    print(f"manifest: {run.manifest_path}")
    for name, value in run.records.items():
        print(f"  {name} = {value}")
    if args.static:
        from quantlab.report.html import export_static

        try:
            for path in export_static(run.run_dir, formats=tuple(args.static.split(","))):
                print(f"figure:   {path}")
        except QuantlabError as exc:
            _err(str(exc))
            return 2
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """``quantlab rerun MANIFEST [--out DIR]``: exit 0 when the numbers are identical."""
    from quantlab.report.runner import NotebookRunError, rerun

    try:
        run, diffs = rerun(args.manifest, output_dir=args.out, progress=not args.no_progress)
    except NotebookRunError as exc:
        _err(str(exc))
        return 1
    except QuantlabError as exc:
        _err(str(exc))
        return 2
    print(f"manifest: {run.manifest_path}")
    notes = [d for d in diffs if d.startswith("note:")]
    changes = [d for d in diffs if not d.startswith("note:")]
    for line in notes + changes:
        print(f"  {line}")
    if changes:
        print(f"NOT reproduced: {len(changes)} difference(s).")
        return 1
    print("reproduced: key figures and data fingerprints are identical.")
    return 0


def cmd_pipelines(args: argparse.Namespace) -> int:
    """``quantlab pipelines {run [NAME...], due, serve, list}``."""
    from quantlab.report import pipelines as P

    try:
        config = P.load_pipelines(args.config)
        if args.action == "list":
            state = P._read_state(config.output_dir)
            for p in config.pipelines.values():
                last = state.get(p.name, {})
                print(f"{p.name}: {p.notebook} schedule={p.schedule!r} runs/time="
                      f"{len(p.combinations())} last={last.get('last_run')} "
                      f"status={last.get('status')}")
            return 0
        if args.action == "serve":  # pragma: no cover - blocks
            P.serve(config)
            return 0
        if args.action == "due":
            outcomes = P.run_due(config, progress=not args.no_progress)
            if outcomes is None:
                print("another `quantlab pipelines` process is running; nothing done.")
                return 0
        else:
            outcomes = P.run_pipelines(config, args.names or None, progress=not args.no_progress)
    except QuantlabError as exc:
        _err(str(exc))
        return 2
    failed = 0
    for outcome in outcomes:
        print(f"{outcome.name}: {len(outcome.runs)} run(s), {len(outcome.failures)} failed")
        for failure in outcome.failures:
            print(f"  FAILED {failure['parameters']}: {failure['error']}")
        failed += len(outcome.failures)
    if not outcomes:
        print("nothing due.")
    return 1 if failed else 0


def add_commands(subparsers: Any) -> None:
    """Register ``report``, ``rerun`` and ``pipelines`` on an argparse sub-parsers object."""
    p = subparsers.add_parser(
        "report", help="run a parameterized notebook into reports/ (HTML + manifest)",
        description="Run NOTEBOOK with papermill (kernel 'quantlab', else 'python3') after "
                    "checking the parameters against its 'parameters' cell; write "
                    "reports/<notebook>/<UTC time>-<hash>/{notebook.ipynb,report.html,"
                    "manifest.json} and update reports/index.html.")
    p.add_argument("notebook", help="path to the .ipynb")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="set a parameter (YAML value: 20, 0.5, true, [a, b]); repeatable")
    p.add_argument("--out", default=None, help="reports root (default $QUANTLAB_REPORTS_DIR "
                                              "or ./reports)")
    p.add_argument("--help-notebook", action="store_true",
                   help="list the notebook's parameters (type, default, help) and exit")
    p.add_argument("--kernel", default=None, help="Jupyter kernel (default quantlab/python3)")
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--plotlyjs", choices=["inline", "directory"], default="inline",
                   help="inline: self-contained report (default, ~5 MB); directory: one shared "
                        "plotly.min.js in the reports root (reports of a few hundred KB)")
    p.add_argument("--static", default=None, metavar="FORMATS",
                   help="also export each figure, e.g. png,pdf (needs kaleido + chromium)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_report)

    r = subparsers.add_parser("rerun", help="re-run a report from its manifest.json and "
                                            "check the numbers are identical")
    r.add_argument("manifest", help="reports/<notebook>/<run>/manifest.json")
    r.add_argument("--out", default=None, help="reports root (default: the original's)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_rerun)

    q = subparsers.add_parser("pipelines", help="run scheduled notebook pipelines "
                                                "(config/pipelines.yaml)")
    q.add_argument("--config", default="config/pipelines.yaml", help="pipelines file")
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    actions = q.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="run pipelines now (all, or the NAMEs given)")
    run.add_argument("names", nargs="*", metavar="NAME")
    actions.add_parser("due", help="run the pipelines whose schedule fired since their last "
                                   "run (call from cron or a systemd timer)")
    actions.add_parser("serve", help="run pipelines on schedule in the foreground (APScheduler)")
    actions.add_parser("list", help="show pipelines, schedules and last runs")
    q.set_defaults(func=cmd_pipelines)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` with only these sub-commands (for tests and ``python -m``)."""
    parser = argparse.ArgumentParser(prog="quantlab")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

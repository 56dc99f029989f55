"""Run a parameterized notebook reproducibly: papermill underneath, quantlab's checks on top.

What the runner adds to papermill
---------------------------------
* The notebook's ``parameters``-tagged cell is parsed with :mod:`ast`: each line is a literal
  assignment ``name = value  # help`` or ``name: type = value  # help``. Unknown parameters
  and wrong types are refused with a did-you-mean **before any cell runs** (papermill only
  warns). A parameter whose help comment starts with "dataset" must name a dataset
  :func:`quantlab.data.load` knows, also checked up front.
* Every run gets its own folder ``<root>/<notebook>/<UTC timestamp>-<params hash>/`` holding
  ``notebook.ipynb`` (executed), ``report.html`` (self-contained, code hidden, plotly.js
  inlined once) and ``manifest.json`` (parameters, data fingerprints, key figures, git
  commit and dirty flag, package versions, seeds, times, status, error).
* A failing cell still leaves a manifest (``status: "failed"``, the error and the cell) and
  raises :class:`NotebookRunError`; the CLI exits non-zero.
* :func:`rerun` replays a manifest and says whether the key figures and data are identical.

Kernel: the Jupyter kernel named ``quantlab`` (``make setup`` installs it into ``.venv`` with
``--sys-prefix``), else ``python3``; ``QUANTLAB_KERNEL`` overrides both.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import importlib
import io
import json
import logging
import os
import re
import sys
import time
import tokenize
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quantlab._validate import did_you_mean
from quantlab.errors import DataError, InvalidParameterError, QuantlabError, ReportError
from quantlab.report.manifest import (
    MANIFEST_VERSION,
    collect_data,
    collect_records,
    git_info,
    package_versions,
    read_manifest,
    to_jsonable,
    write_manifest,
)

__all__ = [
    "Parameter",
    "RunResult",
    "NotebookRunError",
    "notebook_parameters",
    "validate_parameters",
    "parse_cli_value",
    "NULL_WORDS",
    "check_values",
    "help_notebook",
    "default_reports_dir",
    "kernel_name",
    "run_notebook",
    "rerun",
]

_TYPES: dict[str, tuple[type, ...]] = {
    "bool": (bool,), "int": (int,), "float": (float, int), "str": (str,),
    "list": (list,), "dict": (dict,), "tuple": (tuple, list),
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotebookRunError(ReportError):
    """A notebook run failed; ``result`` holds its run folder and manifest."""

    def __init__(self, text: str, result: RunResult) -> None:
        super().__init__(text)
        self.result = result


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook's ``parameters`` cell."""

    name: str
    type: str          # "bool", "int", "float", "str", "list", "dict", "tuple" or "any"
    default: Any
    help: str
    nullable: bool = False

    @property
    def is_dataset(self) -> bool:
        """True when the help comment starts with "dataset" (checked with quantlab.data)."""
        return self.help.lower().startswith("dataset")


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`run_notebook`: where everything went and what it recorded."""

    run_dir: Path
    manifest: dict[str, Any]
    notebook_path: Path
    html_path: Path | None
    manifest_path: Path
    records: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``"ok"`` or ``"failed"``."""
        return str(self.manifest["status"])

    @property
    def ok(self) -> bool:
        """True when every cell ran."""
        return self.status == "ok"


# ---------------------------------------------------------------------------- parameters

def _read(notebook: Any) -> Any:
    import nbformat

    if isinstance(notebook, nbformat.NotebookNode):
        return notebook
    path = Path(notebook)
    if not path.exists():
        raise ReportError(f"`notebook` of run_notebook() must be an existing .ipynb file; got "
                          f"{str(path)!r}. Check the path (relative to {Path.cwd()}).")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several types for bad JSON
        raise ReportError(f"{path} is not a readable notebook: {exc}.") from exc


def _comments(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return found


def _annotation(node: ast.expr | None) -> tuple[str | None, bool]:
    """Return (type name, nullable) for annotations like ``int``, ``float | None``."""
    if node is None:
        return None, False
    if isinstance(node, ast.Name):
        return node.id, False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _annotation(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None, False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, _ = _annotation(node.left)
        right, _ = _annotation(node.right)
        if right in ("None", None) and isinstance(node.right, ast.Constant | ast.Name):
            return left, True
        if left in ("None",):
            return right, True
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        if node.value.id == "Optional":
            return _annotation(node.slice)[0], True
        return node.value.id.lower(), False  # list[str] -> list
    return None, False


def notebook_parameters(notebook: Any) -> dict[str, Parameter]:
    """Return the parameters declared in a notebook's ``parameters``-tagged cell.

    Parameters
    ----------
    notebook : path or NotebookNode

    Returns
    -------
    dict
        ``{name: Parameter(name, type, default, help, nullable)}`` in cell order. The type
        is the annotation when there is one (``smoke: bool = False``), else the type of the
        default (``"any"`` for a ``None`` default).

    Raises
    ------
    ReportError
        More than one ``parameters`` cell, a syntax error, or a line that is not a literal
        assignment.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell('window = 20  # lookback in bars')
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb.cells.append(cell)
    >>> notebook_parameters(nb)["window"]
    Parameter(name='window', type='int', default=20, help='lookback in bars', nullable=False)
    """
    nb = _read(notebook)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return {}
    if len(cells) > 1:
        raise ReportError(f"A notebook must have at most one cell tagged 'parameters'; "
                          f"found {len(cells)}. Merge them into one.")
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ReportError(f"The parameters cell does not parse: {exc}.") from exc
    comments = _comments(source)
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            name, value_node, ann = node.targets[0].id, node.value, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            name, value_node, ann = node.target.id, node.value, node.annotation
        else:
            raise ReportError(f"Line {node.lineno} of the parameters cell must be a literal "
                              f"assignment such as `window = 20  # help`; got "
                              f"{ast.get_source_segment(source, node)!r}.")
        try:
            default = ast.literal_eval(value_node)
        except ValueError as exc:
            raise ReportError(f"Parameter `{name}` (line {node.lineno} of the parameters cell) "
                              f"must have a literal default (number, string, bool, None, list, "
                              f"dict); got {ast.get_source_segment(source, value_node)!r}.") from exc
        type_name, nullable = _annotation(ann)
        if type_name is None or type_name not in _TYPES:
            type_name = "any" if default is None else type(default).__name__
            if type_name not in _TYPES:
                type_name = "any"
            nullable = nullable or default is None
        params[name] = Parameter(name, type_name, default, comments.get(node.end_lineno or 0, ""),
                                 nullable or default is None)
    return params


def _type_ok(spec: Parameter, value: Any) -> bool:
    if value is None:
        return spec.nullable or spec.type == "any"
    if spec.type == "any":
        return True
    if isinstance(value, bool) and spec.type != "bool":
        return False
    return isinstance(value, _TYPES[spec.type])


#: What a command line may write for None (YAML's nulls and Python's spelling).
NULL_WORDS: tuple[str, ...] = ("null", "Null", "NULL", "~", "None")


def parse_cli_value(spec: Parameter, text: str) -> Any:
    """Turn a command-line string into a value of ``spec``'s type (YAML syntax, as papermill).

    A nullable parameter (``x: str | None = ...`` or a ``None`` default) takes ``null``,
    ``None`` or ``~`` as None, whatever its type. Otherwise a ``str`` parameter takes the text
    as is; ``int``/``float`` parameters try ``int()`` / ``float()`` first (so ``1e4`` is a
    float); everything else is read with ``yaml.safe_load`` (``true``, ``[a, b]``,
    ``{a: 1}``, ``null``), then type-checked by :func:`validate_parameters`.
    """
    if text in NULL_WORDS and (spec.nullable or spec.type == "any"):
        return None
    if spec.type == "str":
        return text
    number = {"int": int, "float": float}.get(spec.type)
    if number is not None:
        try:
            return number(text)
        except ValueError:
            pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def validate_parameters(notebook: Any, params: dict[str, Any], *,
                        check_datasets: bool = True) -> dict[str, Any]:
    """Check ``params`` against a notebook's declared parameters; return all resolved values.

    Parameters
    ----------
    notebook : path or NotebookNode
    params : dict
        Values to override.
    check_datasets : bool, default True
        Load each dataset-typed parameter (help starting with "dataset") once to prove it exists.

    Returns
    -------
    dict
        Defaults overridden by ``params`` (ints given for float parameters become floats).

    Raises
    ------
    InvalidParameterError
        Unknown name (with a did-you-mean) or a wrong type.
    DataError
        A dataset parameter names no known dataset.
    """
    specs = notebook_parameters(notebook)
    label = _label(notebook)
    if not isinstance(params, dict):
        raise InvalidParameterError(f"`params` of run_notebook() must be a dict; got "
                                    f"{type(params).__name__}.")
    resolved = {name: spec.default for name, spec in specs.items()}
    for name, value in params.items():
        if name not in specs:
            known = ", ".join(specs) or "(none: the notebook has no parameters cell)"
            hint = did_you_mean(name, specs) or ""
            raise InvalidParameterError(
                f"Notebook {label} has no parameter `{name}`. {hint} Known parameters: {known}. "
                f"See `quantlab report --help-notebook {_as_given(notebook)}`.".replace("  ", " "))
        spec = specs[name]
        if not _type_ok(spec, value):
            null = " or None" if spec.nullable else ""
            raise InvalidParameterError(
                f"`{name}` of notebook {label} must be of type {spec.type}{null}; got "
                f"{value!r} ({type(value).__name__}). Default: {spec.default!r}"
                + (f" ({spec.help})." if spec.help else "."))
        if spec.type == "float" and isinstance(value, int):
            value = float(value)
        resolved[name] = value
    if check_datasets:
        for name, spec in specs.items():
            if spec.is_dataset:
                _check_dataset(label, name, resolved[name])
    return resolved


def _check_dataset(label: str, name: str, value: Any) -> None:
    from quantlab.data import load

    values = value if isinstance(value, list | tuple) else [value]
    for item in values:
        if item is None:
            continue
        try:
            load(item)
        except DataError as exc:
            raise DataError(f"`{name}` of notebook {label} must name a dataset; {exc}") from exc


def _label(notebook: Any) -> str:
    return Path(notebook).name if isinstance(notebook, str | os.PathLike) else "<notebook>"


def _as_given(notebook: Any) -> str:
    """The notebook's path as the user gave it (commands we suggest must run as printed)."""
    return str(notebook) if isinstance(notebook, str | os.PathLike) else "NOTEBOOK"


# ---------------------------------------------------------------------------- values

#: notebook_helpers functions a validation cell may call that check_values runs in-process:
#: the ``*_setup`` functions, and these (cheap, no side effects)
_PURE_HELPERS = ("smoke_mode",)


class _Unknown(Exception):
    """An expression check_values cannot evaluate without running the notebook."""


#: Modules holding the report notebooks' ``*_setup`` functions (beside notebook_helpers).
_SETUP_MODULES = ("quantlab.report.notebook_helpers", "quantlab.report.regime_risk",
                  "quantlab.report.walkforward_setup")


def _helper(name: str) -> Any:
    """The setup (or pure) helper called ``name`` in :data:`_SETUP_MODULES`, or None."""
    for module_name in _SETUP_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, name, None)
        if callable(found):
            return found
    return None


def _helper_name(node: ast.expr) -> str | None:
    """``nh.backtest_setup`` / ``regime_risk_setup`` -> its name, when a setup module has it."""
    name = node.attr if isinstance(node, ast.Attribute) else \
        node.id if isinstance(node, ast.Name) else None
    if name is None or not (name.endswith("_setup") or name in _PURE_HELPERS):
        return None
    return name if _helper(name) is not None else None


def _literal(node: ast.expr, names: dict[str, Any]) -> Any:
    """Evaluate literals, known names and containers of them; anything else is _Unknown."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise _Unknown(node.id)
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand, names)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_literal(e, names) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else \
            set(items) if isinstance(node, ast.Set) else items
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, names): _literal(v, names)  # type: ignore[arg-type]
                for k, v in zip(node.keys, node.values)}
    raise _Unknown(ast.dump(node)[:40])


def _call(node: ast.Call, names: dict[str, Any]) -> tuple[str, Any]:
    """Run a setup-helper call in-process with evaluated arguments."""
    name = _helper_name(node.func)
    if name is None or any(isinstance(a, ast.Starred) for a in node.args) \
            or any(k.arg is None for k in node.keywords):
        raise _Unknown("call")
    args = [_literal(a, names) for a in node.args]
    kwargs = {str(k.arg): _literal(k.value, names) for k in node.keywords}
    return name, _helper(name)(*args, **kwargs)


def check_values(notebook: Any, resolved: dict[str, Any]) -> str | None:
    """Run the notebook's validation cell on ``resolved`` in this process; return its name.

    The report notebooks check every parameter value in one call to a function named
    ``*_setup`` of :data:`_SETUP_MODULES` (``backtest_setup``, ``sweep_setup``,
    ``regime_risk_setup``): fees, strategy names, ``fast < slow``, the data period. This finds that
    call in the notebook's code (the first one), evaluates its arguments from ``resolved``
    (names of parameters, literals, dicts and lists of them; a name first rebound by
    ``x = nh.smoke_mode(x)`` is rebound the same way here) and calls the same function, so a
    bad value fails in a second instead of after a kernel has started. Working directory and
    environment are the kernel's: the notebook's folder, this process's environment.

    Parameters
    ----------
    notebook : path or NotebookNode
    resolved : dict
        All parameter values (:func:`validate_parameters`).

    Returns
    -------
    str or None
        The function called (``"backtest_setup"``), or None when the notebook has no such
        call or its arguments need the notebook to run (the kernel then checks them).

    Raises
    ------
    InvalidParameterError, DataError
        What the validation cell would raise. Other exceptions are left to the run, which
        records them in its manifest.

    Examples
    --------
    >>> check_values("notebooks/backtest_report.ipynb",
    ...              validate_parameters("notebooks/backtest_report.ipynb",
    ...                                  {"fee_bps": -1.0}))  # doctest: +SKIP
    Traceback (most recent call last):
    InvalidParameterError: `fee_bps` of backtest_report() must be a finite number >= 0; got -1.0.
    """
    nb = _read(notebook)
    names = dict(resolved)
    cwd = Path(notebook).resolve().parent if isinstance(notebook, str | os.PathLike) else None
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: what the cell binds is unknown from here on
            return None
        for statement in tree.body:
            value = statement.value if isinstance(statement, ast.Assign | ast.Expr) else None
            target = statement.targets[0].id if isinstance(statement, ast.Assign) \
                and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name) \
                else None
            name = _helper_name(value.func) if isinstance(value, ast.Call) else None
            if name is not None and isinstance(value, ast.Call) \
                    and (name not in _PURE_HELPERS or target is not None):
                try:
                    with contextlib.ExitStack() as stack:
                        if cwd is not None:
                            stack.enter_context(contextlib.chdir(cwd))  # the kernel's cwd
                        stack.enter_context(warnings.catch_warnings())
                        warnings.simplefilter("ignore")  # the kernel shows them, once
                        result = _call(value, names)[1]
                except _Unknown:
                    return None
                except QuantlabError:
                    raise
                except Exception:  # a bug or an odd value: the run records it in a manifest
                    return None
                if name not in _PURE_HELPERS:
                    return name
                names[str(target)] = result
                continue
            for node in ast.walk(statement):
                if isinstance(node, ast.Call) and _helper_name(node.func) is not None \
                        and _helper_name(node.func) not in _PURE_HELPERS:
                    return None  # a *_setup call inside if/for/...: only the kernel knows
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.pop(node.id, None)  # rebound: its value is unknown from here on
    return None


def help_notebook(notebook: Any) -> str:
    """Return a text table of a notebook's parameters (name, type, default, help)."""
    specs = notebook_parameters(notebook)
    if not specs:
        return f"{_label(notebook)} has no parameters cell."
    rows = [(s.name, s.type + (" | None" if s.nullable and s.type != "any" else ""),
             repr(s.default), s.help) for s in specs.values()]
    widths = [max(len(r[i]) for r in rows + [("name", "type", "default", "")]) for i in range(3)]
    lines = [f"Parameters of {_label(notebook)}:", ""]
    lines.append(f"  {'name':<{widths[0]}}  {'type':<{widths[1]}}  {'default':<{widths[2]}}  help")
    for row in rows:
        lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  "
                     f"{row[3]}")
    lines.append("")
    lines.append(f"Run: quantlab report {_as_given(notebook)} -p NAME VALUE ...")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- running

def default_reports_dir() -> Path:
    """``$QUANTLAB_REPORTS_DIR`` or ``./reports``."""
    return Path(os.environ.get("QUANTLAB_REPORTS_DIR", "reports"))


def kernel_name() -> str:
    """Return the Jupyter kernel to use: ``$QUANTLAB_KERNEL``, else ``quantlab``, else ``python3``."""
    override = os.environ.get("QUANTLAB_KERNEL")
    if override:
        return override
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().find_kernel_specs()
    except Exception:  # pragma: no cover - broken jupyter install
        return "python3"
    return "quantlab" if "quantlab" in specs else "python3"


def _params_hash(params: dict[str, Any]) -> str:
    text = json.dumps(to_jsonable(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _run_dir(root: Path, stem: str, started: datetime, phash: str) -> Path:
    base = root / stem / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{phash}"
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir()  # atomic: two processes never share a folder
        except FileExistsError:
            continue
        return candidate
    raise ReportError(f"Too many runs named {base.name} in {base.parent}.")


def _setup_cell() -> Any:
    import nbformat

    cell = nbformat.v4.new_code_cell(
        "import quantlab.report.html as _quantlab_report_html\n"
        "_quantlab_report_html.setup_notebook()\n"
        "del _quantlab_report_html")
    cell.metadata["tags"] = ["injected-setup", "remove_cell"]
    return cell


def _seeds(params: dict[str, Any], records: dict[str, Any]) -> dict[str, Any]:
    pick = {k: v for k, v in params.items() if k == "seed" or k.endswith("_seed")}
    pick.update({k: v for k, v in records.items() if k == "seed" or k.endswith("_seed")})
    pick["PYTHONHASHSEED"] = os.environ.get("PYTHONHASHSEED")
    return pick


def _error_info(exc: BaseException, notebook: Any | None) -> dict[str, Any]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        trace = [_ANSI.sub("", line) for line in (exc.traceback or [])]
        info = {"type": exc.ename, "message": exc.evalue, "cell_index": exc.cell_index,
                "execution_count": exc.exec_count, "cell_source": exc.source[:4000],
                "traceback": "\n".join(trace)[-8000:]}
        if notebook is not None:
            # index among the user's own cells (the runner and papermill inject cells)
            own = [i for i, c in enumerate(notebook.cells)
                   if not set(c.get("metadata", {}).get("tags", []))
                   & {"injected-setup", "injected-parameters"}]
            if exc.cell_index in own:
                info["notebook_cell_index"] = own.index(exc.cell_index)
        return info
    return {"type": type(exc).__name__, "message": str(exc), "cell_index": None}


#: File in the run folder that receives the kernel's own stdout and stderr.
_KERNEL_LOG = "kernel.log"


def _kernel_manager_logging_to(log: Any) -> type:
    """A jupyter_client kernel manager whose kernel writes its stdout/stderr to ``log``.

    ipykernel logs "Kernel is running over TCP without encryption" on every start and prints
    "KeyboardInterrupt caught in kernel" to its ``sys.__stdout__`` at shutdown; both reached
    the user's terminal, run after run. nbclient starts the kernel through this class (a
    papermill/nbclient option), and ``start_kernel`` hands the file to ``subprocess.Popen``.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _LoggingKernelManager(AsyncKernelManager):  # type: ignore[misc]
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw.setdefault("stdout", log)
            kw.setdefault("stderr", log)
            await super().start_kernel(**kw)

    return _LoggingKernelManager


def _keep_kernel_log(path: Path, *, failed: bool) -> bool:
    """Delete the kernel log after a success; after a failure keep it and show it."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    if not failed or not text.strip():
        path.unlink(missing_ok=True)
        return False
    sys.stderr.write(f"kernel output ({path}):\n{text}" + ("" if text.endswith("\n") else "\n"))
    return True


#: Environment variables that change what a run computes, recorded in the manifest.
_RECORDED_ENV = ("QUANTLAB_SMOKE", "QUANTLAB_DISABLE_JIT", "QUANTLAB_DATA_DIR", "NUMBA_NUM_THREADS")


def run_notebook(
    notebook: str | os.PathLike[str],
    params: dict[str, Any] | None = None,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    kernel: str | None = None,
    cell_timeout: float | None = None,
    progress: bool = False,
    exclude_input: bool = True,
    update_index: bool = True,
    extra: dict[str, Any] | None = None,
    precheck: bool = True,
    plotlyjs: str = "inline",
) -> RunResult:
    """Execute a parameterized notebook and write its report, manifest and index entry.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file.
    params : dict, optional
        Parameter overrides; checked against the ``parameters`` cell first.
    output_dir : path, optional
        Reports root (default ``$QUANTLAB_REPORTS_DIR`` or ``./reports``). The run goes to
        ``<output_dir>/<notebook stem>/<YYYYmmddTHHMMSSZ>-<hash of parameters>/``.
    kernel : str, optional
        Jupyter kernel; default :func:`kernel_name` (``quantlab``, else ``python3``).
    cell_timeout : float, optional
        Seconds one cell may run (default: no limit).
    progress : bool, default False
        Show papermill's per-cell tqdm bar.
    exclude_input : bool, default True
        Hide code in the HTML report.
    update_index : bool, default True
        Rebuild ``<output_dir>/index.html`` afterwards.
    extra : dict, optional
        Extra JSON-able entries stored under ``manifest["extra"]`` (pipelines put their name).
    precheck : bool, default True
        Run the notebook's validation cell in this process first (:func:`check_values`), so a
        bad value (negative fees, unknown strategy, ``fast >= slow``, a start outside the
        data) is refused in about a second, before a kernel starts.
    plotlyjs : {"inline", "directory"}, default "inline"
        "inline": the HTML report is self-contained (plotly.js inlined, ~4.8 MB of the page).
        "directory": one shared ``plotly.min.js`` in the reports root, loaded by every report
        written this way (a report page is then a few hundred KB).

    Returns
    -------
    RunResult
        Paths, the manifest and the recorded key figures.

    Raises
    ------
    InvalidParameterError, DataError
        Bad parameters, dataset or parameter values, before anything runs (no run folder is
        created).
    NotebookRunError
        A cell raised or the kernel died; the manifest (``status: "failed"``, ``error``
        with the cell) is written first and ``exc.result`` points to it.

    Notes
    -----
    The kernel's own output (its log warnings such as "Kernel is running over TCP without
    encryption", anything written straight to its stdout/stderr) goes to ``kernel.log`` in
    the run folder. A successful run deletes it; a failed run keeps it (``outputs.kernel_log``
    in the manifest) and copies it to ``sys.stderr``.

    Examples
    --------
    >>> run = run_notebook("notebooks/backtest_report.ipynb", {"symbol": "msft"})  # doctest: +SKIP
    >>> run.records["sharpe"]  # doctest: +SKIP
    """
    import nbformat
    import papermill as pm

    if plotlyjs not in ("inline", "directory"):
        raise InvalidParameterError(f"`plotlyjs` of run_notebook() must be 'inline' or "
                                    f"'directory'; got {plotlyjs!r}.")
    source_path = Path(notebook)
    nb = _read(source_path)
    resolved = validate_parameters(source_path, dict(params or {}))
    given = {k: resolved[k] for k in (params or {})}
    if "smoke" in resolved and os.environ.get("QUANTLAB_SMOKE") == "1":
        # the notebooks also read this switch: make it a parameter, so the manifest, the run
        # folder's hash and `quantlab rerun` all see a smoke run as one
        resolved["smoke"] = given["smoke"] = True
    if precheck:
        check_values(source_path, resolved)
    root = Path(output_dir) if output_dir is not None else default_reports_dir()
    started = _now()
    run_dir = _run_dir(root, source_path.stem, started, _params_hash(resolved))
    out_nb, out_html, out_manifest = (run_dir / "notebook.ipynb", run_dir / "report.html",
                                      run_dir / "manifest.json")
    kernel = kernel or kernel_name()
    manifest: dict[str, Any] = {
        "quantlab_manifest": MANIFEST_VERSION,
        "notebook": {"path": str(source_path.resolve()), "name": source_path.name,
                     "sha256": _sha256_file(source_path)},
        "parameters": resolved,
        "parameters_given": given,
        "status": "running",
        "started": started.isoformat(),
        "finished": None,
        "duration_seconds": None,
        "kernel": kernel,
        "git": git_info(source_path.resolve().parent),
        "packages": package_versions(),
        "environment": {k: os.environ.get(k) for k in _RECORDED_ENV},
        "seeds": _seeds(resolved, {}),
        "data": {},
        "records": {},
        "figures": 0,
        "outputs": {"notebook": out_nb.name, "html": out_html.name},
        "error": None,
        "rerun": f"quantlab rerun {out_manifest}",
    }
    if extra:
        manifest["extra"] = extra
    write_manifest(out_manifest, manifest)

    prepared = copy.deepcopy(nb)
    prepared.cells.insert(0, _setup_cell())
    clock = time.perf_counter()
    executed, error = None, None
    # papermill warns that it cannot parse annotated parameter lines and that our parameters
    # are "unknown"; they were validated above, so only its errors are worth showing
    logging.getLogger("papermill").setLevel(logging.ERROR)
    log_path = run_dir / _KERNEL_LOG
    with open(log_path, "wb") as kernel_log:
        try:
            executed = pm.execute_notebook(
                prepared, str(out_nb), parameters=given, kernel_name=kernel,
                progress_bar=progress, cwd=str(source_path.resolve().parent),
                execution_timeout=cell_timeout, log_output=False,
                request_save_on_cell_execute=False,  # saved once at the end (and on failure)
                kernel_manager_class=_kernel_manager_logging_to(kernel_log))
        except Exception as exc:  # papermill/nbclient raise many types; all end the run
            error = exc
            if out_nb.exists():
                try:
                    executed = nbformat.read(str(out_nb), as_version=4)
                except Exception:  # pragma: no cover - half-written notebook
                    executed = None
    finished = _now()
    manifest.update(status="failed" if error else "ok", finished=finished.isoformat(),
                    duration_seconds=round(time.perf_counter() - clock, 3))
    kept_log = _keep_kernel_log(log_path, failed=error is not None)
    if error is not None:
        manifest["error"] = _error_info(error, executed)
    if executed is not None:
        records = collect_records(executed)
        manifest.update(records=records, data=collect_data(executed),
                        seeds=_seeds(resolved, records))
        from quantlab.report.html import export_html, figures_from_notebook

        manifest["figures"] = len(figures_from_notebook(executed))
        try:
            export_html(executed, out_html, exclude_input=exclude_input and error is None,
                        title=f"{source_path.stem} {started:%Y-%m-%d %H:%M} UTC",
                        plotlyjs=plotlyjs, plotlyjs_dir=root if plotlyjs == "directory" else None)
        except ReportError as exc:
            manifest["html_error"] = str(exc)
            manifest["outputs"]["html"] = None
    else:
        manifest["outputs"] = {"notebook": None, "html": None}
    if kept_log:
        manifest["outputs"]["kernel_log"] = _KERNEL_LOG
    write_manifest(out_manifest, manifest)
    if update_index:
        from quantlab.report.index import write_index

        try:
            write_index(root)
        except OSError as exc:  # the run itself succeeded; say so but do not fail it
            manifest.setdefault("warnings", []).append(f"index not updated: {exc}")
    html_path = out_html if manifest["outputs"].get("html") else None
    result = RunResult(run_dir, manifest, out_nb, html_path, out_manifest,
                       dict(manifest["records"]))
    if error is not None:
        err = manifest["error"]
        where = (f" in cell {err['cell_index']} (execution count {err.get('execution_count')})"
                 if err.get("cell_index") is not None else "")
        raise NotebookRunError(f"Notebook {source_path.name} failed{where}: {err['type']}: "
                               f"{err['message']}. Manifest: {out_manifest}", result) from error
    return result


def _locate_notebook(old: dict[str, Any]) -> Path | None:
    """The manifest's notebook: at its recorded path, or at the same place relative to the git
    checkout it was run from, resolved in this checkout (a clone elsewhere, another machine)."""
    recorded = Path(old["notebook"]["path"])
    if recorded.exists():
        return recorded
    old_root = (old.get("git") or {}).get("root")
    here = git_info(Path.cwd()).get("root")
    if old_root and here:
        try:
            candidate = Path(here) / recorded.relative_to(old_root)
        except ValueError:
            return None
        return candidate if candidate.exists() else None
    return None


def rerun(
    manifest: str | os.PathLike[str],
    *,
    output_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> tuple[RunResult, list[str]]:
    """Run a notebook again with the parameters of a previous run's manifest.

    Parameters
    ----------
    manifest : path
        A ``manifest.json`` (or its run folder).
    output_dir : path, optional
        Reports root of the new run; default: the root the old run lives in.
    progress : bool, default False
        Show papermill's progress bar.

    Returns
    -------
    (RunResult, list of str)
        The new run, and the differences from the old one: one line per key figure or
        data fingerprint that changed (``"records['sharpe']: 0.91 -> 0.95"``), plus lines
        starting with ``"note:"`` when the notebook file, the git commit or package versions
        differ, or the original ran on uncommitted code (those alone do not mean the numbers
        differ). The notebook is found at its recorded path or, in another checkout, at the
        same place relative to the git root. No line without "note:" means the run was
        reproduced exactly; ``quantlab rerun`` then exits 0.

    Raises
    ------
    ReportError
        The manifest is unreadable or its notebook is gone.
    NotebookRunError
        The new run failed.
    """
    path = Path(manifest)
    old = read_manifest(path)
    manifest_path = path / "manifest.json" if path.is_dir() else path
    nb_path = _locate_notebook(old)
    if nb_path is None:
        raise ReportError(f"The notebook of {manifest_path} ({old['notebook']['path']}) no longer "
                          "exists, here or at the same place in this git checkout.")
    root = Path(output_dir) if output_dir is not None else manifest_path.resolve().parents[2]
    new = run_notebook(nb_path, old["parameters"], output_dir=root, progress=progress,
                       extra={"rerun_of": str(manifest_path.resolve())})
    diffs: list[str] = []
    if new.manifest["notebook"]["sha256"] != old["notebook"].get("sha256"):
        diffs.append("note: the notebook file changed since the original run")
    if (old.get("git") or {}).get("commit") != (new.manifest.get("git") or {}).get("commit"):
        diffs.append(f"note: git commit {old.get('git', {}).get('commit')} -> "
                     f"{new.manifest['git']['commit']}")
    if (old.get("git") or {}).get("dirty"):
        diffs.append("note: the original run used uncommitted changes (git dirty): its code is "
                     "not recoverable from the commit alone")
    before_pkgs, after_pkgs = old.get("packages") or {}, new.manifest.get("packages") or {}
    changed = [f"{k} {before_pkgs.get(k)} -> {after_pkgs.get(k)}"
               for k in sorted(set(before_pkgs) | set(after_pkgs)) if before_pkgs.get(k) != after_pkgs.get(k)]
    if changed:
        diffs.append("note: package versions differ: " + ", ".join(changed))
    for kind in ("records", "data"):
        before, after = old.get(kind) or {}, new.manifest.get(kind) or {}
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                diffs.append(f"{kind}[{key!r}]: {before.get(key)!r} -> {after.get(key)!r}")
    return new, diffs

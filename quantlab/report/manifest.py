"""Run manifests, key figures recorded by notebooks, and data fingerprints.

A notebook reports numbers to the runner through its outputs, which papermill keeps in
the executed notebook:

* :func:`record` emits ``application/vnd.quantlab.record+json`` ``{"name", "value"}``
  (plus a small HTML line for the report); the runner collects every record into
  ``manifest.json["records"]`` and the reports index shows them as "key figures";
* :func:`record_data` fingerprints a frame the notebook loaded and emits
  ``application/vnd.quantlab.data+json``; they land in ``manifest.json["data"]``.

Outside a notebook both simply return (no display happens), so the same code runs in a
script or a test.
"""

from __future__ import annotations

import html as _html
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd

from quantlab._provenance import fingerprint, package_versions, to_jsonable
from quantlab._validate import message
from quantlab.errors import InvalidParameterError, ReportError

__all__ = [
    "RECORD_MIME",
    "DATA_MIME",
    "MANIFEST_VERSION",
    "record",
    "record_data",
    "fingerprint",
    "collect_records",
    "collect_data",
    "git_info",
    "package_versions",
    "read_manifest",
    "write_manifest",
    "to_jsonable",
]

RECORD_MIME = "application/vnd.quantlab.record+json"
DATA_MIME = "application/vnd.quantlab.data+json"
MANIFEST_VERSION = 1


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


def record(name: str, value: Any) -> None:
    """Record a key figure of a notebook run (kept in the manifest and the reports index).

    Parameters
    ----------
    name : str
        Identifier such as ``"sharpe"``; recording the same name twice keeps the last.
    value : number, str, bool, list or dict
        JSON-able value; numpy/pandas scalars are converted, NaN becomes null.

    Returns
    -------
    None
        Nothing, so a cell ending in ``record(...)`` shows no ``Out[]`` in the report.

    Raises
    ------
    InvalidParameterError
        ``name`` is not a non-empty string.

    Examples
    --------
    >>> record("total_return", np.float64(0.25))  # no-op outside a notebook
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(message("name", "record", "a non-empty string", name))
    value = to_jsonable(value)
    if _in_ipython():
        from IPython.display import display

        shown = f"{value:.6g}" if isinstance(value, float) else _html.escape(str(value))
        display({RECORD_MIME: {"name": name, "value": value},
                 "text/html": f'<div class="quantlab-record"><b>{_html.escape(name)}</b>: '
                              f"{shown}</div>",
                 "text/plain": f"{name} = {value!r}"}, raw=True)


def record_data(name: str, data: pd.Series | pd.DataFrame) -> None:
    """Fingerprint a data set a notebook loaded and record it for the manifest.

    Parameters
    ----------
    name : str
        Label, e.g. the dataset name (``"aapl"``).
    data : Series or DataFrame

    Returns
    -------
    None
        The digest (:func:`fingerprint`) goes to the manifest; call :func:`fingerprint`
        to get it in the notebook.

    Examples
    --------
    >>> from quantlab.data import load
    >>> record_data("aapl", load("aapl"))  # no-op outside a notebook
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(message("name", "record_data", "a non-empty string", name))
    digest = fingerprint(data)
    if _in_ipython():
        from IPython.display import display

        info: dict[str, Any] = {"name": name, "fingerprint": digest, "rows": int(len(data))}
        if isinstance(data.index, pd.DatetimeIndex) and len(data):
            info["start"] = data.index[0].isoformat()
            info["end"] = data.index[-1].isoformat()
        span = f", {info['start'][:10]} .. {info['end'][:10]}" if "start" in info else ""
        text = f"data {name}: {info['rows']} rows{span}, fingerprint {digest[:12]}"
        display({DATA_MIME: info, "text/plain": text,
                 "text/html": f'<div class="quantlab-data"><small>{_html.escape(text)}'
                              "</small></div>"}, raw=True)


def code_outputs(notebook: Any) -> list[Any]:
    """Every output of the code cells of a notebook, in order."""
    out = []
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            out.extend(cell.get("outputs", []))
    return out


def collect_records(notebook: Any) -> dict[str, Any]:
    """Return ``{name: value}`` of every :func:`record` in an executed notebook (last wins)."""
    records: dict[str, Any] = {}
    for output in code_outputs(notebook):
        payload = (output.get("data") or {}).get(RECORD_MIME)
        if payload is not None:
            payload = json.loads(payload) if isinstance(payload, str) else payload
            records[str(payload["name"])] = payload.get("value")
    return records


def collect_data(notebook: Any) -> dict[str, dict[str, Any]]:
    """Return ``{name: {fingerprint, rows, start, end}}`` of every :func:`record_data`."""
    found: dict[str, dict[str, Any]] = {}
    for output in code_outputs(notebook):
        payload = (output.get("data") or {}).get(DATA_MIME)
        if payload is not None:
            payload = json.loads(payload) if isinstance(payload, str) else dict(payload)
            found[str(payload["name"])] = {k: v for k, v in payload.items() if k != "name"}
    return found


def git_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Return ``{"commit", "dirty", "root"}`` of the git checkout holding ``path``.

    Outside a git repository (or without git) every value is None; this never raises.
    """
    cwd = Path(path or ".").resolve()
    if cwd.is_file():
        cwd = cwd.parent
    info: dict[str, Any] = {"commit": None, "dirty": None, "root": None}

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                  timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return info
    status = git("status", "--porcelain", "--untracked-files=no")
    info.update(commit=commit, dirty=None if status is None else bool(status),
                root=git("rev-parse", "--show-toplevel"))
    return info


def write_manifest(path: str | os.PathLike[str], manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` as indented JSON, atomically."""
    from quantlab.report.html import atomic_write_text

    text = json.dumps(to_jsonable(manifest), indent=2, sort_keys=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``manifest.json`` written by the runner.

    Raises
    ------
    ReportError
        The file is missing, not JSON, or not a quantlab manifest.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(message("manifest", "rerun", "an existing manifest.json", str(path),
                                  "Pass reports/<notebook>/<run>/manifest.json.")) from exc
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or "notebook" not in manifest or "parameters" not in manifest:
        raise ReportError(message("manifest", "rerun", "a quantlab run manifest (with 'notebook' "
                                  "and 'parameters')", str(path)))
    return manifest

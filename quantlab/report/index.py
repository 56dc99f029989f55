"""``reports/index.html``: every run, newest first, with its key figures."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["list_runs", "write_index"]

_MAX_FIGURES = 8


def list_runs(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Return the manifests under ``root/<notebook>/<run>/manifest.json``, newest first.

    Each manifest gains ``"_dir"`` (its run folder relative to ``root``). Unreadable
    manifests are skipped.
    """
    root = Path(root)
    runs = []
    for path in root.glob("*/*/manifest.json"):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(manifest, dict) or "notebook" not in manifest:
            continue
        manifest["_dir"] = path.parent.relative_to(root).as_posix()
        runs.append(manifest)
    runs.sort(key=lambda m: (str(m.get("started") or ""), m["_dir"]), reverse=True)
    return runs


def _fmt(value: Any, name: str = "") -> str:
    if isinstance(value, float):
        from quantlab.plotting.tearsheet import format_value, stat_kind

        return format_value(value, stat_kind(name))  # never "8.297e+05"
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def write_index(root: str | os.PathLike[str]) -> Path:
    """Write ``root/index.html`` listing every run (atomically) and return its path.

    Columns: start time (UTC), notebook, status, duration, parameters given, key figures
    (the first eight :func:`quantlab.report.record` values), links to the HTML report,
    the executed notebook and the manifest.
    """
    from quantlab.report.html import atomic_write_text, html_page

    root = Path(root)
    rows = []
    for m in list_runs(root):
        run = m["_dir"]
        status = str(m.get("status"))
        css = "ok" if status == "ok" else "failed"
        records = m.get("records") or {}
        figures = "<br>".join(f"{html.escape(str(k))}: {html.escape(_fmt(v, str(k)))}"
                              for k, v in list(records.items())[:_MAX_FIGURES])
        params = m.get("parameters_given") or {}
        param_text = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items()) or "defaults"
        outputs = m.get("outputs") or {}
        links = []
        for label, key in (("report", "html"), ("notebook", "notebook")):
            if outputs.get(key):
                links.append(f'<a href="{html.escape(run)}/{html.escape(outputs[key])}">{label}</a>')
        links.append(f'<a href="{html.escape(run)}/manifest.json">manifest</a>')
        error = m.get("error") or {}
        status_cell = f'<span class="{css}">{html.escape(status)}</span>'
        if error:
            status_cell += f"<br><small>{html.escape(str(error.get('type')))}: " \
                           f"{html.escape(str(error.get('message'))[:120])}</small>"
        duration = m.get("duration_seconds")
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(m.get('started', ''))[:19].replace('T', ' '))}</td>"
            f"<td>{html.escape(str((m.get('notebook') or {}).get('name', '')))}</td>"
            f"<td>{status_cell}</td>"
            f"<td class=\"num\">{'' if duration is None else f'{duration:.1f} s'}</td>"
            f"<td>{html.escape(param_text)}</td>"
            f"<td>{figures}</td>"
            f"<td>{' · '.join(links)}</td>"
            "</tr>")
    body = (
        "<h1>quantlab reports</h1>\n"
        f"<p>{len(rows)} run(s), newest first. Re-run one with "
        "<code>quantlab rerun &lt;run&gt;/manifest.json</code>.</p>\n"
        "<table>\n<tr><th>started (UTC)</th><th>notebook</th><th>status</th><th>duration</th>"
        "<th>parameters</th><th>key figures</th><th>files</th></tr>\n"
        + "\n".join(rows) + "\n</table>")
    return atomic_write_text(root / "index.html", html_page("quantlab reports", body))

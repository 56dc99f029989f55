"""Self-contained HTML pages of plotly figures: one copy of plotly.js per page.

:func:`figure_div` renders a figure without plotly.js; :func:`html_page` wraps a body in a
complete page and inlines plotly.js once when the body shows a figure;
:func:`atomic_write_text` writes the file. :mod:`quantlab.report.html` builds the notebook
side (renderer, HTML export) on these.
"""

from __future__ import annotations

import hashlib
import html as _html
import itertools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["figure_div", "plotlyjs_script", "html_page", "atomic_write_text"]

_FIGURE_CLASS = "quantlab-figure"
_counter = itertools.count()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fig_json(fig: Any) -> dict[str, Any]:
    import plotly.io as pio

    if isinstance(fig, dict):
        return json.loads(pio.to_json(fig, validate=False, remove_uids=False))
    return json.loads(fig.to_json())


def figure_div(fig: Any, *, div_id: str | None = None) -> str:
    """Return the HTML of one figure: a ``<div>`` and its ``Plotly.newPlot`` script.

    The snippet does not contain plotly.js; the page must load it once (see
    :func:`plotlyjs_script`). ``div_id`` defaults to a deterministic id derived from the
    figure's JSON and a per-process counter, so re-running a notebook gives identical HTML.
    """
    import plotly.io as pio

    fig_dict = _fig_json(fig)
    if div_id is None:
        digest = hashlib.sha1(json.dumps(fig_dict, sort_keys=True).encode()).hexdigest()[:10]
        div_id = f"qlfig-{next(_counter)}-{digest}"
    body = pio.to_html(fig_dict, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"responsive": True, "displaylogo": False}, validate=False)
    return f'<div class="{_FIGURE_CLASS}">{body}</div>'


def plotlyjs_script() -> str:
    """Return ``<script>`` holding the bundled plotly.js (the one copy a page needs)."""
    from plotly.offline import get_plotlyjs

    return ('<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: "local"};'
            "</script>\n<script type=\"text/javascript\">" + get_plotlyjs() + "</script>\n")


def _inject_plotlyjs(page: str) -> str:
    if f'class="{_FIGURE_CLASS}"' not in page and "Plotly.newPlot" not in page:
        return page
    head_end = page.find("</head>")
    if head_end < 0:
        return plotlyjs_script() + page
    return page[:head_end] + plotlyjs_script() + page[head_end:]


def html_page(title: str, body: str, *, style: str = "") -> str:
    """Wrap ``body`` in a complete HTML page, inlining plotly.js once if it shows figures."""
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_html.escape(title)}</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<style>{_BASE_CSS}{style}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return _inject_plotlyjs(page)


_BASE_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1200px;color:#222;padding:0 16px}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em} td,th{padding:3px 10px;border-bottom:1px solid #ddd;
text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
.keys{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.key{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.key .v{font-size:1.4em;font-weight:600} .key .k{color:#666;font-size:.8em}
pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:.85em}
.failed{color:#b00020;font-weight:600} .ok{color:#2e7d32;font-weight:600}
"""

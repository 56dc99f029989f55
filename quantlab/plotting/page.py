"""HTML pages of plotly figures: one copy of plotly.js per page, or one per folder.

:func:`figure_div` renders a figure without plotly.js; :func:`html_page` wraps a body in a
complete page and inlines plotly.js once when the body shows a figure (self-contained, the
default: about 4.7 MB of plotly.js per page) or, with ``plotlyjs_src``, loads it from a
relative URL; :func:`write_plotlyjs` writes the one shared ``plotly.min.js`` a folder of
such pages loads (``plotlyjs="directory"`` in the writers), and :func:`plotlyjs_for` does
both for a page about to be written. :func:`atomic_write_text` writes the file.
:mod:`quantlab.report.html` builds the notebook side (renderer, HTML export) on these.
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

__all__ = ["figure_div", "plotlyjs_script", "html_page", "atomic_write_text", "PLOTLYJS_MODES",
           "PLOTLYJS_FILE", "write_plotlyjs", "plotlyjs_for"]

#: Where a written page finds plotly.js: inlined in the page, or one shared file in a folder.
PLOTLYJS_MODES: tuple[str, ...] = ("inline", "directory")
#: Name of the shared copy ``plotlyjs="directory"`` writes (as plotly's own "directory" mode).
PLOTLYJS_FILE = "plotly.min.js"

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


def _inject_plotlyjs(page: str, src: str | None = None) -> str:
    if f'class="{_FIGURE_CLASS}"' not in page and "Plotly.newPlot" not in page:
        return page
    script = plotlyjs_script() if src is None else (
        '<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: "local"};'
        f'</script>\n<script type="text/javascript" src="{_html.escape(src)}"></script>\n')
    head_end = page.find("</head>")
    if head_end < 0:
        return script + page
    return page[:head_end] + script + page[head_end:]


def write_plotlyjs(folder: str | os.PathLike[str]) -> Path:
    """Write the bundled plotly.js as ``folder/plotly.min.js`` (once) and return its path.

    The file is (re)written only when it is missing or differs from the installed plotly's
    bundle, atomically, so many reports written into one folder share one copy.
    """
    from plotly.offline import get_plotlyjs

    path = Path(folder) / PLOTLYJS_FILE
    js = get_plotlyjs()
    try:
        if path.stat().st_size == len(js.encode("utf-8")) and path.read_text("utf-8") == js:
            return path
    except OSError:
        pass
    return atomic_write_text(path, js)


def plotlyjs_for(page_path: str | os.PathLike[str], plotlyjs: str, *, caller: str,
                 plotlyjs_dir: str | os.PathLike[str] | None = None) -> str | None:
    """Prepare plotly.js for a page about to be written at ``page_path``.

    Parameters
    ----------
    page_path : path
        Where the page will be written.
    plotlyjs : {"inline", "directory"}
        ``"inline"``: nothing to do (returns None, the page inlines plotly.js).
        ``"directory"``: write the shared ``plotly.min.js`` (:func:`write_plotlyjs`) into
        ``plotlyjs_dir`` and return its URL relative to the page's folder.
    caller : str
        Function named in error messages.
    plotlyjs_dir : path, optional
        Folder of the shared copy; default: the page's own folder.

    Returns
    -------
    str or None
        The ``src`` to pass to :func:`html_page` (``plotlyjs_src``).

    Raises
    ------
    InvalidParameterError
        Unknown ``plotlyjs``.
    """
    from quantlab._validate import check_choice

    plotlyjs = check_choice("plotlyjs", plotlyjs, PLOTLYJS_MODES, caller=caller)
    if plotlyjs == "inline":
        return None
    page_dir = Path(page_path).parent.resolve()
    folder = page_dir if plotlyjs_dir is None else Path(plotlyjs_dir).resolve()
    js = write_plotlyjs(folder)
    return Path(os.path.relpath(js, page_dir)).as_posix()


def html_page(title: str, body: str, *, style: str = "", plotlyjs_src: str | None = None) -> str:
    """Wrap ``body`` in a complete HTML page with plotly.js once if it shows figures.

    plotly.js is inlined (a self-contained page) unless ``plotlyjs_src`` gives the URL of a
    shared copy (see :func:`plotlyjs_for`), which the page then loads with ``<script src>``.
    """
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_html.escape(title)}</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<style>{_BASE_CSS}{style}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return _inject_plotlyjs(page, plotlyjs_src)


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
.scroll{max-height:480px;overflow:auto;border:1px solid #ddd}
.scroll table{width:100%} .scroll th{position:sticky;top:0;background:#fff}
.command{background:#f6f8fa;padding:8px 10px;font-family:monospace;font-size:.85em;
white-space:pre-wrap;word-break:break-all}
"""

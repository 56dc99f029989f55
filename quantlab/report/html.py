"""Figures in notebooks and self-contained HTML: one copy of plotly.js per page.

How figures survive the trip notebook -> HTML
---------------------------------------------
Plotly's default renderer emits only ``application/vnd.plotly.v1+json``, which nbconvert's
HTML export ignores, so a report would show no charts. Inlining plotly.js into every
output (the ``notebook`` renderer without a CDN) makes a 5 MB copy per figure.

quantlab does neither. :func:`show` (and the ``"quantlab"`` plotly renderer that
:func:`setup_notebook` makes the default, which the runner does in an injected first cell)
emits a bundle with

* ``application/vnd.plotly.v1+json`` — the figure JSON, which JupyterLab renders live and
  which tests and :func:`figures_from_notebook` read back;
* ``text/html`` — a ``<div>`` and a ``Plotly.newPlot`` call, **without** plotly.js;
* ``text/plain`` — a one-line description.

:func:`export_html` then converts the executed notebook with nbconvert's ``HTMLExporter``
(code cells hidden by default, external CDN scripts dropped) and inserts plotly.js once in
``<head>`` when the page holds at least one figure. :func:`html_page` does the same for
hand-built pages such as the tearsheet.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from quantlab.plotting.page import (  # re-exported: the page writer lives below report/
    PLOTLYJS_FILE,
    _fig_json,
    _inject_plotlyjs,
    atomic_write_text,
    figure_div,
    html_page,
    plotlyjs_script,
    write_plotlyjs,
)
from quantlab.report.manifest import code_outputs

__all__ = [
    "PLOTLY_MIME",
    "RENDERER_NAME",
    "show",
    "figure_bundle",
    "figure_div",
    "setup_notebook",
    "plotlyjs_script",
    "html_page",
    "export_html",
    "figures_from_notebook",
    "atomic_write_text",
    "export_static",
    "write_plotlyjs",
    "PLOTLYJS_FILE",
]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
RENDERER_NAME = "quantlab"


def figure_bundle(fig: Any) -> dict[str, Any]:
    """Return the display bundle :func:`show` emits for ``fig`` (see the module notes)."""
    fig_dict = _fig_json(fig)
    title = ((fig_dict.get("layout") or {}).get("title") or {})
    title_text = title.get("text") if isinstance(title, dict) else str(title)
    return {
        PLOTLY_MIME: fig_dict,
        "text/html": figure_div(fig_dict),
        "text/plain": f"<plotly figure: {title_text or 'untitled'}>",
    }


def show(fig: Any) -> None:
    """Display a plotly figure so it renders in JupyterLab *and* in the HTML report.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure or dict
        The figure.

    Notes
    -----
    Outside IPython (a plain script) this does nothing but return. Inside a notebook run
    by :func:`quantlab.report.run_notebook`, ``fig.show()`` and a bare ``fig`` as the last
    expression do the same, because the runner sets the ``"quantlab"`` renderer.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> show(go.Figure())  # no-op outside a notebook
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return
    if get_ipython() is None:
        return
    display(figure_bundle(fig), raw=True)


def _renderer_class() -> type:
    from plotly.io._base_renderers import MimetypeRenderer

    class QuantlabRenderer(MimetypeRenderer):
        """Figure JSON + an HTML snippet without plotly.js (see quantlab.report.html)."""

        def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
            return figure_bundle(fig_dict)

    return QuantlabRenderer


def setup_notebook(*, make_default: bool = True) -> None:
    """Register the ``"quantlab"`` plotly renderer and (by default) make it the default.

    Called by the runner's injected first cell; call it yourself at the top of a notebook
    for the same behaviour in JupyterLab.
    """
    import plotly.io as pio

    if RENDERER_NAME not in pio.renderers:
        pio.renderers[RENDERER_NAME] = _renderer_class()()
    if make_default:
        pio.renderers.default = RENDERER_NAME


_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', re.I)


def export_html(
    notebook: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    exclude_input: bool = True,
    title: str | None = None,
    plotlyjs: str = "inline",
    plotlyjs_dir: str | os.PathLike[str] | None = None,
) -> str:
    """Convert an executed notebook into one self-contained HTML page.

    Parameters
    ----------
    notebook : NotebookNode or path
        The executed notebook.
    path : path, optional
        Where to write the page (atomically); the HTML is returned either way.
    exclude_input : bool, default True
        Hide code cells (inputs and prompts), leaving narrative and outputs. Cells tagged
        ``remove_cell`` (and the runner's injected cells) are always removed; cells tagged
        ``remove_input`` / ``remove_output`` lose that part.
    title : str, optional
        Page title; defaults to the notebook's file name.
    plotlyjs : {"inline", "directory"}, default "inline"
        "inline": plotly.js inlined once in ``<head>`` (self-contained; about 4.7 MB of
        the page). "directory": one shared ``plotly.min.js`` written (once) into
        ``plotlyjs_dir`` and loaded by a relative ``<script src>``; needs ``path``.
    plotlyjs_dir : path, optional
        Folder of the shared copy (default: the page's folder), e.g. the reports root for
        pages in ``reports/<notebook>/<run>/``.

    Returns
    -------
    str
        The page. plotly.js appears once (in ``<head>``, or as one ``<script src>``) when
        there is a figure; the CDN scripts nbconvert's lab template links (require.js,
        MathJax) are dropped so the page works offline (LaTeX in Markdown is then shown as
        source).

    Raises
    ------
    InvalidParameterError
        Unknown ``plotlyjs``, or "directory" without ``path``.
    ReportError
        nbconvert failed.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    from quantlab._validate import check_choice, message
    from quantlab.errors import InvalidParameterError, ReportError
    from quantlab.plotting.page import PLOTLYJS_MODES, plotlyjs_for

    plotlyjs = check_choice("plotlyjs", plotlyjs, PLOTLYJS_MODES, caller="export_html")
    if plotlyjs == "directory" and path is None:
        raise InvalidParameterError(message("path", "export_html", 'given with plotlyjs='
                                            '"directory" (the script\'s URL is relative to it)',
                                            None))
    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(str(notebook), as_version=4)
    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = ("remove_cell", "injected-setup")
    config.TagRemovePreprocessor.remove_input_tags = ("remove_input",)
    config.TagRemovePreprocessor.remove_all_outputs_tags = ("remove_output",)
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    exporter.exclude_input = exclude_input
    exporter.exclude_input_prompt = exclude_input
    exporter.exclude_output_prompt = exclude_input
    resources = {"metadata": {"name": title or "report"}}
    try:
        body, _ = exporter.from_notebook_node(notebook, resources=resources)
    except Exception as exc:  # nbconvert raises many types
        raise ReportError(f"Exporting the notebook to HTML failed: {exc!r}.") from exc
    body = _EXTERNAL_SCRIPT.sub("", body)
    src = None
    if path is not None and plotlyjs == "directory":
        src = plotlyjs_for(path, plotlyjs, caller="export_html", plotlyjs_dir=plotlyjs_dir)
    body = _inject_plotlyjs(body, src)
    if path is not None:
        atomic_write_text(path, body)
    return body


def figures_from_notebook(notebook: Any) -> list[dict[str, Any]]:
    """Return the plotly figures (as JSON dicts) a notebook's outputs hold, in order."""
    import nbformat

    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(str(notebook), as_version=4)
    found: list[dict[str, Any]] = []
    for output in code_outputs(notebook):
        data = output.get("data") or {}
        if PLOTLY_MIME in data:
            fig = data[PLOTLY_MIME]
            found.append(json.loads(fig) if isinstance(fig, str) else dict(fig))
    return found


def export_static(run_dir: str | os.PathLike[str], *, formats: tuple[str, ...] = ("png", "pdf"),
                  width: int = 1100, height: int = 650, scale: float = 1.0) -> list[Path]:
    """Write each figure of a run's executed notebook as PNG/PDF through kaleido.

    Parameters
    ----------
    run_dir : path
        A run folder (holding ``notebook.ipynb``) or an executed notebook file.
    formats : tuple of {"png", "pdf", "svg", "jpeg"}, default ("png", "pdf")
    width, height : int
        Pixel size of each image.
    scale : float, default 1.0
        Resolution multiplier.

    Returns
    -------
    list of Path
        ``<run_dir>/figures/figure-01.png`` ... in notebook order.

    Raises
    ------
    ReportError
        kaleido is not installed (``pip install 'quantlab[export]'``) or it finds no
        Chrome/Chromium (on Debian: ``apt-get install chromium``).
    """
    from quantlab._validate import check_choice
    from quantlab.errors import ReportError

    run_dir = Path(run_dir)
    nb_path = run_dir / "notebook.ipynb" if run_dir.is_dir() else run_dir
    out_dir = nb_path.parent / "figures"
    for fmt in formats:
        check_choice("formats", fmt, ["png", "pdf", "svg", "jpeg"], caller="export_static")
    try:
        import kaleido  # noqa: F401
    except ImportError as exc:
        raise ReportError("Static export needs kaleido: pip install 'quantlab[export]' "
                          "(kaleido >= 1 also needs Chrome/Chromium, e.g. Debian's "
                          "`apt-get install chromium`).") from exc
    import plotly.io as pio

    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, fig in enumerate(figures_from_notebook(nb_path), start=1):
        figure = pio.from_json(json.dumps(fig), skip_invalid=True)
        for fmt in formats:
            target = out_dir / f"figure-{i:02d}.{fmt}"
            try:
                figure.write_image(str(target), format=fmt, width=width, height=height,
                                   scale=scale)
            except Exception as exc:  # kaleido/choreographer raise their own types
                raise ReportError(f"kaleido could not write {target}: {exc}. It needs "
                                  "Chrome/Chromium (Debian: apt-get install chromium).") from exc
            written.append(target)
    return written

"""The quickstart notebook works the way a user sees it: in JupyterLab, in a real browser.

Starts JupyterLab headless on a free loopback port (a token set here), opens a copy of
``notebooks/01_quickstart.ipynb`` (outputs cleared, so everything found was drawn by this run)
in Debian's chromium driven over the DevTools protocol (``websocket-client``), runs the
"Run All Cells" command, waits for the kernel to finish, and finds in the page the plotly
figures and the ``_repr_html_`` table of the BacktestResult. ``QUANTLAB_SMOKE=1`` keeps the
notebook small.

How a figure shows in JupyterLab: ``qr.show()`` emits ``application/vnd.plotly.v1+json`` (plus
``text/html`` for nbconvert and ``text/plain``); JupyterLab picks the plotly mime renderer of the
``jupyterlab-plotly`` lab extension (rank 2, before text/html's 50), whose widget *is* the output
node: ``<div class="jp-OutputArea-output jp-RenderedPlotly js-plotly-plot">`` holding
``svg.main-svg``. So ``.js-plotly-plot`` is the output element itself, not a descendant of it,
and the figure carries no ``data-mime-type`` (only JupyterLab's own renderers set it).

Marked ``browser``: skipped with a reason when chromium (``make browser``), websocket-client
or the ``quantlab`` kernel (``make setup``) is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.report.test_browser import chromium

pytestmark = pytest.mark.browser

QUICKSTART = Path(__file__).parents[2] / "notebooks" / "01_quickstart.ipynb"
TOKEN = "quantlab-test-token"
DEADLINE = 240.0  # seconds for the whole test (about 60 s on an idle machine)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Any, what: str, deadline: float, every: float = 0.5,
             what_else: Any = None) -> Any:
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}" + (f"; last seen {what_else()}" if what_else
                                                    else ""))


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback only
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


class DevTools:
    """The smallest DevTools-protocol client: Runtime.evaluate on one page."""

    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.n = 0

    def evaluate(self, expression: str) -> Any:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": "Runtime.evaluate", "params": {
            "expression": expression, "returnByValue": True, "awaitPromise": True}}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.n:
                break
        result = message.get("result", {})
        if "exceptionDetails" in result:
            return None
        return result.get("result", {}).get("value")

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1:<free port> serving a folder with the cleared quickstart."""
    tmp_path = tmp_path_factory.mktemp("lab")
    pytest.importorskip("websocket", reason="websocket-client is not installed "
                                            "(pip install -e '.[dev]')")
    from jupyter_client.kernelspec import KernelSpecManager

    if "quantlab" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("the `quantlab` Jupyter kernel is not installed (`make setup` installs it)")
    browser = chromium()
    root = tmp_path / "notebooks"
    root.mkdir()
    nb = nbformat.read(str(QUICKSTART), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, str(root / QUICKSTART.name))
    port = free_port()
    # JupyterLab 4 keeps only the cells on screen in the DOM ("windowing"): draw them all
    settings = tmp_path / "jsettings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {**os.environ, "QUANTLAB_SMOKE": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrun"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jws"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "jsettings")}
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
         "--MappingKernelManager.default_kernel_name=quantlab",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI runs as root
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield {"port": port, "root": root, "browser": browser, "log": tmp_path / "lab.log",
               "server": server, "tmp": tmp_path}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


#: JavaScript: the state of every code cell of the open notebook (from JupyterLab's model)
CELLS_JS = """(() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return null;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    const outputs = c.toJSON().outputs || [];
    out.push({count: c.executionCount,
              errors: outputs.filter(o => o.output_type === 'error')
                             .map(o => o.ename + ': ' + o.evalue)});
  }
  const running = document.querySelectorAll('.jp-InputPrompt').length &&
    [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
  return JSON.stringify({kernel: kernel ? kernel.status : null, running, cells: out});
})()"""

#: JavaScript: what the page shows (counted in the DOM after the run)
PAGE_JS = """(() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.content || !w.content.rendermime) return null;
  const rendermime = w.content.rendermime, MIME = 'application/vnd.plotly.v1+json';
  // every figure output, from JupyterLab's model: the renderer it chose and what that drew
  const figures = [];
  for (const cell of w.content.widgets) {
    if (cell.model.type !== 'code' || !cell.outputArea) continue;
    const area = cell.outputArea;
    for (let i = 0; i < area.model.length; i++) {
      const output = area.model.get(i), data = output.data;
      if (!(MIME in data)) continue;
      const child = area.widgets[i];
      const node = child ? child.node.querySelector('.jp-OutputArea-output') : null;
      const title = (data[MIME].layout || {}).title;
      const gtitle = node ? node.querySelector('.gtitle') : null;
      figures.push({
        preferred: rendermime.preferredMimeType(data, output.trusted ? 'any' : 'ensure'),
        plotly_renderer: !!node && node.classList.contains('jp-RenderedPlotly'),
        plot: !!node && node.classList.contains('js-plotly-plot'),
        svgs: node ? node.querySelectorAll('svg.main-svg').length : 0,
        title: title && typeof title === 'object' ? (title.text ?? null) : (title ?? null),
        drawn_title: gtitle ? gtitle.textContent : null,
      });
    }
  }
  // a drawn plotly graph: the output node itself (mime renderer) or a div inside it (HTML)
  const PLOT = '.jp-OutputArea-output.js-plotly-plot, .jp-OutputArea-output .js-plotly-plot';
  return JSON.stringify({
  figures,
  plots: document.querySelectorAll(PLOT).length,
  svgs: [...document.querySelectorAll(PLOT)]
    .reduce((n, p) => n + p.querySelectorAll('svg.main-svg').length, 0),
  results: [...document.querySelectorAll('.jp-OutputArea-output')]
    .filter(o => o.querySelector('b') && o.querySelector('table') &&
                 o.textContent.includes('BacktestResult'))
    .map(o => o.querySelector('table').textContent),
  frames: document.querySelectorAll('.jp-OutputArea-output table.dataframe').length,
  mimes: [...document.querySelectorAll('.jp-OutputArea-output')]
    .map(o => o.getAttribute('data-mime-type') ||
              (o.classList.contains('jp-RenderedPlotly') ? 'plotly (jupyterlab-plotly)' : null)),
  renderers: rendermime.mimeTypes.filter(m => m.includes('plotly')),
  });
})()"""


def run_quickstart(lab: dict[str, Any]) -> dict[str, Any]:
    """Open, run all cells, wait; return the final cell states and the page."""
    deadline = time.monotonic() + DEADLINE
    port = lab["port"]
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: lab["server"].poll() is not None or
             get_json(f"{base}/api/status?token={TOKEN}"), "JupyterLab to answer", deadline)
    assert lab["server"].poll() is None, lab["log"].read_text()[-3000:]
    # the server listens on the loopback interface only (and the token is required)
    assert get_json(f"{base}/api/contents") is None
    assert get_json(f"{base}/api/contents?token={TOKEN}")["content"][0]["name"] == \
        QUICKSTART.name

    profile = lab["tmp"] / "profile"
    browser = subprocess.Popen(
        [lab["browser"], "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={profile}",
         "--window-size=1400,1000",
         f"{base}/lab/tree/{QUICKSTART.name}?token={TOKEN}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tools = None
    try:
        active = profile / "DevToolsActivePort"
        wait_for(lambda: active.exists() and active.read_text().strip(), "chromium's DevTools",
                 deadline)
        dev_port = int(active.read_text().split()[0])
        pages = wait_for(lambda: [t for t in get_json(f"http://127.0.0.1:{dev_port}/json") or []
                                  if t.get("type") == "page"], "the page target", deadline)
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])

        def state() -> Any:
            text = tools.evaluate(CELLS_JS)
            return json.loads(text) if text else None

        # the notebook is open and its `quantlab` kernel is idle
        wait_for(lambda: (s := state()) and s["kernel"] == "idle" and s["cells"],
                 "the notebook and its kernel", deadline)
        tools.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

        def finished() -> Any:
            s = state()
            if not s:
                return None
            errors = [e for c in s["cells"] for e in c["errors"]]
            if errors:
                pytest.fail(f"a cell raised in JupyterLab: {errors}")
            done = all(c["count"] is not None for c in s["cells"])
            return done and s["kernel"] == "idle" and not s["running"] and s

        final = wait_for(finished, "every cell to run", deadline, every=1.0)
        counts = [c["count"] for c in final["cells"]]
        assert counts == list(range(1, len(counts) + 1))  # in order, each once
        # plotly draws asynchronously after the output lands (it loads plotly.js on first
        # use): wait up to 30 s more for every figure's svg
        seen: list[Any] = [None]

        def rendered() -> Any:
            seen[0] = json.loads(tools.evaluate(PAGE_JS) or "null")
            p = seen[0]
            return (p and len(p["figures"]) >= 3 and all(f["svgs"] for f in p["figures"])
                    and p["results"] and p)

        soon = min(deadline, time.monotonic() + 30.0)
        while time.monotonic() < soon and not rendered():
            time.sleep(0.5)
        return {"cells": final["cells"], "page": seen[0]}
    finally:
        if tools is not None:
            tools.close()
        browser.terminate()
        try:
            browser.wait(timeout=20)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def ran(lab):
    """The quickstart, run once in JupyterLab (about 1 minute; up to 4 on a loaded machine)."""
    return run_quickstart(lab)


def test_every_cell_runs_in_jupyterlab(ran):
    counts = [c["count"] for c in ran["cells"]]
    assert counts == list(range(1, len(counts) + 1))  # in order, each once, no error


def test_result_html_table_is_rendered(ran):
    page = ran["page"]
    (table,) = page["results"]           # BacktestResult._repr_html_
    assert "sharpe" in table and "total_return" in table and "n_trades" in table
    assert page["frames"] >= 1           # the DataFrames' own _repr_html_ tables


#: the quickstart's three ``qr.show()`` figures, in order, and their titles (parameters
#: dataset="aapl", fast=20, slow=50; the backtest plot's title is ``f"{strategy!r} on aapl"``)
FIGURE_TITLES = ["aapl: price, moving averages and Bollinger bands",
                 "SmaCross(fast=20, slow=50, short=False) on aapl",
                 "SmaCross: sharpe (max over other parameters)"]


def test_plotly_figures_are_drawn(ran):
    page = ran["page"]
    figures = page["figures"]
    assert len(figures) == len(FIGURE_TITLES), json.dumps(page)
    assert page["renderers"] == ["application/vnd.plotly.v1+json"]  # jupyterlab-plotly loaded
    for fig, title in zip(figures, FIGURE_TITLES):
        # JupyterLab draws the figure JSON with plotly's renderer, not the bundle's text/html
        assert fig["preferred"] == "application/vnd.plotly.v1+json", fig
        assert fig["plotly_renderer"] and fig["plot"] and fig["svgs"] >= 1, fig
        # what is drawn is this figure: the svg's title is the one in the figure JSON
        assert fig["title"] == title and fig["drawn_title"] == title, fig
    assert page["plots"] == len(figures) and page["svgs"] >= page["plots"]

"""Reports open in a real browser: headless Debian chromium renders the plotly charts.

Marked ``browser``; skipped with a reason when chromium is absent (``make browser`` installs
it). The browser gets no network (the pages must be self-contained anyway).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from quantlab.report.tearsheet import write_tearsheet
from tests.report._standin import make_result

pytestmark = pytest.mark.browser


def chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); `make browser` or "
                "`apt-get install chromium` enables these tests")


def headless(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--virtual-time-budget=15000", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def browser() -> str:
    """Skip (before any notebook run) when chromium is absent."""
    return chromium()


def assert_rendered(page: Path, profile: Path, figures: int, screenshot: Path) -> None:
    done = headless(page, profile, "--dump-dom", f"--screenshot={screenshot}",
                    "--window-size=1280,2400", "--hide-scrollbars")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    # plotly marks each drawn graph div .js-plotly-plot and draws into svg.main-svg
    assert len(re.findall(r'<div[^>]*class="[^"]*\bjs-plotly-plot\b', dom)) == figures, dom[:500]
    assert len(re.findall(r'<svg[^>]*class="main-svg"', dom)) >= figures
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a blank page compresses to a few kB


def test_notebook_report_renders_plotly_charts(browser, ok_run, tmp_path):
    assert_rendered(ok_run.html_path, tmp_path / "profile", 3, tmp_path / "report.png")


def test_tearsheet_renders_plotly_charts(browser, tmp_path):
    page = write_tearsheet(make_result(), tmp_path / "tearsheet.html")
    assert_rendered(page, tmp_path / "profile", 5, tmp_path / "tearsheet.png")


def test_reports_index_opens(browser, ok_run, reports_root, tmp_path):
    done = headless(reports_root / "index.html", tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert ok_run.run_dir.name in done.stdout and "total_return" in done.stdout


def test_static_export_through_kaleido(browser, ok_run, monkeypatch, tmp_path):
    pytest.importorskip("kaleido", reason="kaleido is not installed (pip install "
                                          "'quantlab[export]')")
    from quantlab.report.html import export_static

    if "BROWSER_PATH" not in os.environ:  # kaleido/choreographer: which Chrome to drive
        monkeypatch.setenv("BROWSER_PATH", browser)
    run_dir = tmp_path / ok_run.run_dir.name  # a copy: the shared run folder stays as written
    shutil.copytree(ok_run.run_dir, run_dir)
    written = export_static(run_dir, formats=("png", "pdf"))
    assert [p.name for p in written] == ["figure-01.png", "figure-01.pdf", "figure-02.png",
                                         "figure-02.pdf", "figure-03.png", "figure-03.pdf"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written[1].read_bytes()[:5] == b"%PDF-"


# ---------------------------------------------------------------------------- issue 15: units, statistics once

def _texts(dom: str, css_class: str) -> list[str]:
    """Texts of the SVG <text class="css_class"> elements plotly drew (axis titles, ticks)."""
    pattern = css_class[0] + r"\d*" + css_class[1:]  # ytitle, y2title, y3title...
    found = re.findall(rf'<text[^>]*class="{pattern}"[^>]*>(.*?)</text>', dom, re.S)
    return [re.sub(r"<[^>]+>", "", t) for t in found]


def _ticks(dom: str) -> list[str]:
    """Tick labels plotly drew: <g class="ytick"><text ...>label</text> (y2tick, xtick...)."""
    found = re.findall(r'<g class="[xy]\d*tick"><text[^>]*>(.*?)</text>', dom, re.S)
    return [re.sub(r"<[^>]+>", "", t) for t in found]


def _stat_rows(dom: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr><td>([a-z0-9_]+)</td><td class="num">([^<]*)</td></tr>', dom)


@pytest.fixture(scope="module")
def real_result():
    import quantlab as ql
    from quantlab.data import load
    from quantlab.strategies import SmaCross

    return ql.backtest(load("aapl"), SmaCross(fast=20, slow=50), fee_bps=10)


def test_tearsheet_axes_carry_units_and_statistics_show_once(browser, real_result, tmp_path):
    from quantlab.plotting.tearsheet import format_value, stat_kind

    page = write_tearsheet(real_result, tmp_path / "t.html",
                           command="quantlab backtest --dataset aapl -p fast 20 -p slow 50")
    done = headless(page, tmp_path / "profile", "--dump-dom", "--window-size=1280,2400")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    ytitles = _texts(dom, "ytitle")
    for title in ("price (USD)", "equity (USD)", "drawdown (%)", "exposure (% of equity)",
                  "trade return (%)", "Sharpe ratio (annualized)"):
        assert title in ytitles, ytitles
    assert "trade return (%)" in _texts(dom, "xtitle")
    ticks = _ticks(dom)
    assert len(ticks) > 30
    assert any(t.endswith("%") for t in ticks)  # percent axes drawn in percent
    assert not [t for t in ticks if re.search(r"\d[kMG]$|e[+-]\d", t)]  # no "100k", no exponent
    # the statistics: one table, every row once, formatted as its kind says
    assert dom.count('class="stats"') == 1
    rows = _stat_rows(dom)
    names = [n for n, _ in rows]
    assert len(names) == len(set(names)) > 40
    stats = real_result.stats()
    for name, text in rows:
        assert text == format_value(stats[name], stat_kind(name)), name
        assert not re.search(r"\de[+-]\d", text), (name, text)
    shown = dict(rows)
    assert shown["buy_hold_return"].endswith("%") and shown["n_orders"] == "62"
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d\d", shown["total_fees"])
    assert "total_return" not in names and "end_value" not in names  # in the key numbers
    assert dom.count('class="key"') == 9 and "$ quantlab backtest --dataset aapl" in dom
    # the complete trades table, excursions in percent
    assert dom.count("<h2>Trades (") == 1
    trade_rows = re.search(r'class="scroll trades".*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
    assert trade_rows.count("<tr>") == len(real_result.trades)


def test_notebook_report_axes_carry_units_and_statistics_show_once(browser, reports_root,
                                                                    tmp_path):
    from quantlab.report.runner import run_notebook

    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "backtest_report.ipynb"
    run = run_notebook(notebook, {"smoke": True, "strategy_params": {"fast": 10, "slow": 30}},
                       output_dir=reports_root)
    assert run.ok and run.html_path is not None
    done = headless(run.html_path, tmp_path / "profile", "--dump-dom", "--window-size=1280,2400")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    ytitles = _texts(dom, "ytitle")
    for title in ("price (USD)", "equity (USD)", "drawdown (%)", "exposure (% of equity)"):
        assert title in ytitles, ytitles
    # the statistics table: once, one row per statistic, formatted (no raw 6.37594)
    assert dom.count("benchmark: sp500") == 1
    for name in ("total_return", "sharpe", "n_trades", "end_value", "buy_hold_return"):
        assert len(re.findall(rf"<th>{name}</th>", dom)) == 1, name
    row = re.search(r"<th>total_return</th>\s*<td>([^<]*)</td>", dom).group(1)
    assert re.fullmatch(r"-?[\d,]+\.\d\d%", row), row
    row = re.search(r"<th>end_value</th>\s*<td>([^<]*)</td>", dom).group(1)
    assert re.fullmatch(r"[\d,]+\.\d\d", row) and "," in row, row
    row = re.search(r"<th>n_trades</th>\s*<td>([^<]*)</td>", dom).group(1)
    assert re.fullmatch(r"\d+", row), row
    # the header is this run's own command
    assert "quantlab report notebooks/backtest_report.ipynb" in dom
    assert "-p strategy_params '{&quot;fast&quot;: 10, &quot;slow&quot;: 30}'" in dom or \
        "-p strategy_params '{\"fast\": 10, \"slow\": 30}'" in dom

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

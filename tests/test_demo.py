"""`quantlab demo` (what `make demo` runs) and `quantlab backtest`: statistics printed equal the
API call, and the HTML they write renders plotly charts in a real browser."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import quantlab as ql

QUANTLAB = Path(sys.executable).parent / "quantlab"


def _run(*args: str) -> str:
    run = subprocess.run([str(QUANTLAB), *args], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def _printed(out: str, name: str) -> float:
    return float(re.search(rf"^{name}\s+(\S+)$", out, re.M).group(1))


@pytest.fixture(scope="module")
def api_stats():
    result = ql.backtest(ql.data.load("aapl"), ql.strategies.SmaCross(fast=20, slow=50), fee_bps=10.0)
    return result.stats()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return _run("demo", "--out", str(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="module")
def cli_backtest(tmp_path_factory):
    return _run("backtest", "--dataset", "aapl", "--strategy", "SmaCross", "-p", "fast", "20", "-p", "slow",
                "50", "--fee-bps", "10", "--out", str(tmp_path_factory.mktemp("bt")))


def _path(out: str, label: str) -> Path:
    return Path(re.search(rf"^{label}: (.+)$", out, re.M).group(1))


def test_demo_prints_key_figures_equal_to_the_api(demo, api_stats):
    for name in ("total_return", "sharpe", "max_drawdown", "cagr", "n_trades"):
        assert _printed(demo, name) == pytest.approx(api_stats[name], rel=1e-5)  # printed with 6 digits
    assert _path(demo, "report").exists() and _path(demo, "manifest").exists()


def test_cli_backtest_prints_stats_and_writes_tearsheet(cli_backtest, api_stats):
    for name in ("total_return", "sharpe", "max_drawdown", "cagr"):
        assert _printed(cli_backtest, name) == pytest.approx(api_stats[name], rel=1e-6)
    assert "Plotly.newPlot" in _path(cli_backtest, "tearsheet").read_text()


@pytest.mark.browser
@pytest.mark.parametrize("which", ["demo", "cli_backtest"])
def test_html_renders_in_chromium(which, request, tmp_path):
    from tests.report.test_browser import assert_rendered, chromium

    chromium()
    out = request.getfixturevalue(which)
    page = _path(out, "report" if which == "demo" else "tearsheet")
    figures = page.read_text().count('class="plotly-graph-div"')
    assert figures >= 5
    assert_rendered(page, tmp_path / "profile", figures=figures, screenshot=tmp_path / "page.png")

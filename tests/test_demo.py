"""`quantlab demo` (what `make demo` runs): statistics printed, an HTML tearsheet written that a
real browser renders, and the printed numbers equal the API call."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import quantlab as ql

QUANTLAB = Path(sys.executable).parent / "quantlab"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run([str(QUANTLAB), "demo", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_demo_prints_statistics_equal_to_the_api(demo):
    result = ql.backtest(ql.data.load("aapl"), ql.strategies.SmaCross(fast=20, slow=50), fee_bps=10.0)
    stats = result.stats()
    for name in ("total_return", "sharpe", "max_drawdown", "cagr"):
        printed = float(re.search(rf"^{name}\s+(\S+)$", demo, re.M).group(1))
        assert printed == pytest.approx(stats[name], rel=1e-6)


def test_demo_writes_a_tearsheet(demo):
    path = Path(demo.strip().splitlines()[-1].removeprefix("tearsheet: "))
    html = path.read_text()
    assert path.suffix == ".html" and "Plotly.newPlot" in html


@pytest.mark.browser
def test_demo_tearsheet_renders_in_chromium(demo, tmp_path):
    from tests.report.test_browser import assert_rendered, chromium

    chromium()
    path = Path(demo.strip().splitlines()[-1].removeprefix("tearsheet: "))
    assert_rendered(path, tmp_path / "profile", figures=5, screenshot=tmp_path / "demo.png")

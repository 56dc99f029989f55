"""Shared fixtures: one real notebook run serves the runner and browser tests."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture(scope="session")
def reports_root(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def ok_run(reports_root):
    """buy_and_hold.ipynb run with symbol=msft, window=21 (about 5-15 s: a kernel starts)."""
    from quantlab.report.runner import run_notebook

    return run_notebook(NOTEBOOKS / "buy_and_hold.ipynb", {"symbol": "msft", "window": 21},
                        output_dir=reports_root)

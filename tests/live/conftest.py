"""Shared fixtures of the live tests: a bundled-data slice and promoted configs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import quantlab as ql
from quantlab.live.promote import promote


@pytest.fixture(scope="session")
def aapl() -> pd.DataFrame:
    """AAPL daily bars 2011-06 .. 2012-12 (bundled), symbol AAPL."""
    df = ql.data.load("aapl").loc["2011-06":"2012-12"].copy()
    df.attrs["symbol"] = "AAPL"
    return df


def promoted(tmp_path: Path, strategy, data, name: str = "t", **options) -> Path:
    """Promote into ``tmp_path`` (a CSV reference window beside the YAML)."""
    return promote(strategy, data=data, name=name, out_dir=tmp_path, reference_bars=60,
                   **options)

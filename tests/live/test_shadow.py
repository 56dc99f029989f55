"""Shadow backtest: the paper run's gap is zero; a costlier venue's gap is all fees; a data
gate that held a decision shows as missed fills."""

from __future__ import annotations

import numpy as np
import pytest

from quantlab.live import ReplayFeed, run
from quantlab.live.brokers import PaperBroker
from quantlab.live.shadow import shadow, shadow_report
from quantlab.strategies import SmaCross
from tests.live.conftest import promoted

STRAT = SmaCross(fast=3, slow=8)


def test_paper_run_has_no_gap(tmp_path, aapl):
    path = promoted(tmp_path, STRAT, aapl, name="s", fee_bps=5, slippage_bps=2)
    run(path, feed=ReplayFeed(aapl), journal=tmp_path / "j.sqlite", fsync=False)
    res = shadow(tmp_path / "j.sqlite")
    assert set(res.orders["status"]) == {"matched"}
    np.testing.assert_allclose(res.equity["live"], res.equity["shadow"], rtol=1e-9)
    assert abs(res.attribution["total (live - shadow)"]) < 1e-6
    html = shadow_report(tmp_path / "j.sqlite").read_text()
    assert "attribution of the gap" in html and "plotly" in html


def test_costlier_venue_gap_is_fees(tmp_path, aapl):
    path = promoted(tmp_path, STRAT, aapl, name="s", fee_bps=5)
    broker = PaperBroker(fee_bps=25, path=tmp_path / "venue.sqlite")  # the venue charges more
    res = run(path, feed=ReplayFeed(aapl), broker=broker, journal=tmp_path / "j.sqlite",
              fsync=False)
    assert res.alerts["kind"].eq("fee_drift").any()
    sh = shadow(tmp_path / "j.sqlite")
    att = sh.attribution
    # oracle: the extra fee is 20 bps of the traded value of every fill
    traded = (res.fills["size"] * res.fills["price"]).sum()
    assert att["fees"] == pytest.approx(-traded * 20 / 1e4, rel=1e-9)
    assert att["total (live - shadow)"] == pytest.approx(att["fees"], rel=1e-9)
    assert abs(att["unexplained"]) < 1e-6 * abs(att["fees"])


def test_held_decision_shows_as_missed_fill(tmp_path, aapl):
    import pandas as pd

    from quantlab.backtest import backtest

    path = promoted(tmp_path, STRAT, aapl, name="s")
    bt = backtest(aapl, STRAT)
    decided_at = aapl.index[aapl.index.get_loc(bt.orders["time"].iloc[3]) - 1]

    class StaleOnce(ReplayFeed):
        """The clock jumps a week ahead while the decision bar is delivered (stale data)."""

        def now(self):
            t = super().now()
            return t + pd.Timedelta(days=7) if t - self.timeframe == decided_at else t

    run(path, feed=StaleOnce(aapl), journal=tmp_path / "j.sqlite", fsync=False)
    sh = shadow(tmp_path / "j.sqlite")
    missed = sh.orders[sh.orders["status"] == "missed"]
    assert list(missed["time"]) == [bt.orders["time"].iloc[3]]
    assert sh.attribution["missed fills"] != 0.0

"""Parity: the paper runner equals ``backtest(..., fill="next_open")`` bar for bar.

Both decision paths are checked: ``signal()`` on the trailing window, and the streaming path
on the indicators' streaming twins. Oracle: :func:`quantlab.backtest.backtest` on the same bars with the same ``BacktestConfig``
(costs, sizer, risk limits), for every built-in strategy of :mod:`quantlab.strategies`; the
regime strategies (``RegimeFiltered``, ``RegimeSwitch`` on ``GarchRegime`` / ``HMMRegime``)
are promoted with ``window="full"`` (their refits are counted from the first bar) and
decided by ``signal()`` on the whole history seen so far.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.backtest import VolTarget, backtest
from quantlab.live import ReplayFeed, load_config, run
from quantlab.strategies import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RsiReversion,
    SmaCross,
)
from tests.live.conftest import promoted

STRATEGIES = {
    "SmaCross": SmaCross(fast=5, slow=20, short=True),
    "EmaCross": EmaCross(fast=4, slow=12),
    "RsiReversion": RsiReversion(window=6, lower=35, upper=65),
    "BollingerReversion": BollingerReversion(window=10, k=1.5, short=True),
    "DonchianBreakout": DonchianBreakout(window=10, short=True),
}
SETTINGS = {
    "costs": dict(fee_bps=10, fee_fixed=1.0, slippage_bps=5, leverage=2.0),
    "sizer_limits": dict(fee_bps=5, slippage_bps=3, leverage=2.0,
                         size=VolTarget(0.15, window=20), rebalance_threshold=0.05,
                         max_position=0.8, max_daily_loss=0.02, max_drawdown=0.3,
                         on_breach="reduce_only", sl_stop=0.04),
}


#: every strategy x setting on the streaming path; the trailing-window path (slower) with the
#: sizer and the limits
CASES = [(n, s, "stream") for n in STRATEGIES for s in SETTINGS] + \
    [(n, "sizer_limits", "window") for n in STRATEGIES]


@pytest.mark.parametrize("name, setting, decision", CASES)
def test_runner_equals_backtest(tmp_path, aapl, name, setting, decision):
    strat = STRATEGIES[name]
    path = promoted(tmp_path, strat, aapl, name=name, **SETTINGS[setting])
    cfg = load_config(path).backtest
    res = run(path, feed=ReplayFeed(aapl), journal=tmp_path / "j.sqlite", fsync=False,
              decision=decision)
    bt = backtest(aapl, strat, cfg, fill="next_open")

    assert len(bt.orders) > 3  # the strategy traded
    live = res.orders.assign(time=pd.to_datetime(res.orders["time"]))
    assert list(live["time"]) == list(bt.orders["time"])
    assert list(live["side"]) == list(bt.orders["side"])
    assert list(live["reason"]) == list(bt.orders["reason"])
    np.testing.assert_allclose(live["size"], bt.orders["size"], rtol=1e-9)
    np.testing.assert_allclose(live["price"], bt.orders["price"], rtol=1e-12)
    # fills are the broker's: same prices and fees as the simulator's orders
    fills = res.fills.set_index("client_id").loc[live["client_id"]]
    np.testing.assert_allclose(fills["price"], bt.orders["price"], rtol=1e-12)
    np.testing.assert_allclose(fills["fee"], bt.orders["fee"], rtol=1e-9)
    # equity bar for bar
    assert list(res.equity.index) == list(bt.equity.index.astype(str).map(pd.Timestamp))
    np.testing.assert_allclose(res.equity.to_numpy(), bt.equity.to_numpy(), rtol=1e-9)
    # the broker's positions equal the simulator's final positions
    assert res.positions.get("AAPL", 0.0) == pytest.approx(bt.positions.iloc[-1, 0], rel=1e-9,
                                                            abs=1e-9)
    if setting == "sizer_limits" and name == "SmaCross":
        assert len(bt.risk_events) > 0  # the limits acted in the compared run


# ---- the regime strategies (issue 13) -----------------------------------------------------
# Their regime models refit on a schedule counted from the first bar and filter from there,
# so promotion picks window="full" and the runner decides on signal() of the whole history
# seen so far (no streaming path). Small refit schedules on a 2012 slice keep this short.

def _regime_strategies():
    from quantlab.regime import GarchRegime, HMMRegime
    from quantlab.strategies import RegimeFiltered, RegimeSwitch

    return {
        "RegimeFiltered-Garch": RegimeFiltered(
            base=SmaCross(fast=5, slow=20, short=True),
            regime=GarchRegime(refit_every=50, min_train=100)),
        "RegimeSwitch-HMM": RegimeSwitch(
            strategies={0: SmaCross(fast=5, slow=20), 1: RsiReversion(window=6)},
            regime=HMMRegime(2, n_init=1, seed=7, refit_every=60, window=60)),
    }


REGIME_CASES = [("RegimeFiltered-Garch", "costs"), ("RegimeFiltered-Garch", "sizer_limits"),
                ("RegimeSwitch-HMM", "sizer_limits")]


@pytest.mark.timeout(240)
# EM may stop at n_iter on a short refit window (and on check_causality's truncations): the
# same fits drive both sides, so it does not bear on parity
@pytest.mark.filterwarnings("ignore::quantlab.errors.ConvergenceWarning")
@pytest.mark.parametrize("name, setting", REGIME_CASES)
def test_regime_strategies_equal_backtest(tmp_path, name, setting):
    import quantlab as ql

    data = ql.data.load("aapl").loc["2012-01":"2012-12"].copy()
    data.attrs["symbol"] = "AAPL"
    strat = _regime_strategies()[name]
    path = promoted(tmp_path, strat, data, name="regime", **SETTINGS[setting])
    live_cfg = load_config(path)
    assert live_cfg.window is None and live_cfg.raw["window"] == "full"  # picked, not guessed
    res = run(path, feed=ReplayFeed(data), journal=tmp_path / "j.sqlite", fsync=False)
    bt = backtest(data, strat, live_cfg.backtest, fill="next_open")

    assert len(bt.orders) > 3
    live = res.orders.assign(time=pd.to_datetime(res.orders["time"]))
    assert list(live["time"]) == list(bt.orders["time"])
    assert list(live["side"]) == list(bt.orders["side"])
    assert list(live["reason"]) == list(bt.orders["reason"])
    np.testing.assert_allclose(live["size"], bt.orders["size"], rtol=1e-9)
    np.testing.assert_allclose(live["price"], bt.orders["price"], rtol=1e-12)
    fills = res.fills.set_index("client_id").loc[live["client_id"]]
    np.testing.assert_allclose(fills["fee"], bt.orders["fee"], rtol=1e-9)
    np.testing.assert_allclose(res.equity.to_numpy(), bt.equity.to_numpy(), rtol=1e-9)
    assert res.positions.get("AAPL", 0.0) == pytest.approx(bt.positions.iloc[-1, 0], rel=1e-9,
                                                            abs=1e-9)
    # the regime acted: the same base strategy alone trades differently
    base = strat.base if hasattr(strat, "base") else strat.strategies[0]
    alone = backtest(data, base, live_cfg.backtest, fill="next_open")
    assert list(alone.orders["time"]) != list(bt.orders["time"])


def test_regime_strategy_refuses_a_trailing_window(tmp_path):
    import quantlab as ql
    from quantlab.live import PromotionError

    data = ql.data.load("aapl").loc["2012-01":"2012-12"].copy()
    data.attrs["symbol"] = "AAPL"
    strat = _regime_strategies()["RegimeFiltered-Garch"]
    with pytest.raises(PromotionError, match=r"trailing window of 120 bars.*driven by "
                                             r"GarchRegime.*window='full'"):
        promoted(tmp_path, strat, data, name="trail", window=120)

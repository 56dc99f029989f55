"""The order decision against closed forms and vectorbt's all-in sizing (buy_nb / sell_nb)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantlab.backtest import decide_order
from quantlab.backtest.orders import (
    STATUS_BELOW_LOT,
    STATUS_BELOW_MIN_NOTIONAL,
    STATUS_CAPPED,
    STATUS_FILLED,
    STATUS_NO_BUYING_POWER,
    STATUS_NOTHING,
)
from quantlab.errors import InvalidParameterError

vbt_nb = pytest.importorskip("vectorbt.portfolio.nb")
vbt_enums = pytest.importorskip("vectorbt.portfolio.enums")


def _vbt_all_in(cash, position, price, fees, fixed, side):
    """vectorbt's size for an all-in order (size=inf) from the given state."""
    state = vbt_enums.ExecuteOrderState(cash=cash, position=position, debt=0.0, free_cash=cash)
    if side > 0:
        _, res = vbt_nb.buy_nb(state, np.inf, price, direction=vbt_enums.Direction.Both,
                               fees=fees, fixed_fees=fixed)
    else:
        _, res = vbt_nb.sell_nb(state, np.inf, price, direction=vbt_enums.Direction.Both,
                                fees=fees, fixed_fees=fixed, percent=1.0)
    return res.size


@pytest.mark.parametrize("fees,fixed", [(0.0, 0.0), (0.001, 0.0), (0.0025, 3.0)])
@pytest.mark.parametrize("price", [0.8731, 17.0, 412.55])
def test_all_in_long_equals_vectorbt(fees, fixed, price):
    cash = 100_000.0
    d = decide_order(0.0, 1.0, equity=cash, price=price, fee_bps=fees * 1e4, fee_fixed=fixed)
    assert d.size == pytest.approx(_vbt_all_in(cash, 0.0, price, fees, fixed, +1), rel=1e-12)
    # closed form: (cash - F) / (p (1 + f))
    assert d.size == pytest.approx((cash - fixed) / (price * (1 + fees)), rel=1e-12)


@pytest.mark.parametrize("fees,fixed", [(0.0, 0.0), (0.001, 0.0), (0.0025, 3.0)])
def test_all_in_short_and_reversal_equal_vectorbt(fees, fixed):
    cash, price = 50_000.0, 25.0
    d = decide_order(0.0, -1.0, equity=cash, price=price, fee_bps=fees * 1e4, fee_fixed=fixed)
    assert -d.size == pytest.approx(_vbt_all_in(cash, 0.0, price, fees, fixed, -1), rel=1e-12)
    # long 1000 units and 10_000 cash: reverse to all-in short (vectorbt: sell position + short)
    pos, cash2 = 1000.0, 10_000.0
    equity = cash2 + pos * price
    d = decide_order(pos, -1.0, equity=equity, price=price, fee_bps=fees * 1e4, fee_fixed=fixed)
    assert -d.size == pytest.approx(_vbt_all_in(cash2, pos, price, fees, fixed, -1), rel=1e-12)


def test_close_is_exact_and_never_capped():
    d = decide_order(123.456, 0.0, equity=10.0, price=99.0, lot_size=10, min_notional=1e9)
    assert d.size == -123.456 and d.status == STATUS_FILLED


def test_nan_target_is_nothing_and_met_target_is_nothing():
    assert decide_order(5.0, math.nan, equity=1000.0, price=10.0).status == STATUS_NOTHING
    assert decide_order(50.0, 0.5, equity=1000.0, price=10.0).status == STATUS_NOTHING


def test_reduction_is_not_capped_and_rounds_to_lots():
    # 80 units long, equity 1000 at price 10, target 30 % -> 30 units: sell 50
    d = decide_order(80.0, 0.3, equity=1000.0, price=10.0)
    assert d.size == pytest.approx(-50.0) and d.status == STATUS_FILLED
    d = decide_order(80.0, 0.33, equity=1000.0, price=10.0, lot_size=4)
    assert d.size == -44.0  # 47 rounded toward zero to lots of 4


def test_leverage_cap_closed_form():
    # max units s = (L (E - F) - G) / (p (1 + L f)) when flat
    E, p, f, F, G, L = 10_000.0, 50.0, 0.0005, 1.0, 3_000.0, 3.0
    d = decide_order(0.0, 5.0, equity=E, price=p, fee_bps=f * 1e4, fee_fixed=F, other_gross=G,
                     max_leverage=L)
    assert d.status == STATUS_CAPPED
    assert d.size == pytest.approx((L * (E - F) - G) / (p * (1 + L * f)), rel=1e-12)
    # after the order, gross exposure = L * (equity - fee)
    fee = d.size * p * f + F
    assert G + d.size * p == pytest.approx(L * (E - fee), rel=1e-12)


def test_no_buying_power_lot_and_min_notional():
    assert decide_order(0.0, 1.0, equity=1000.0, price=10.0, other_gross=1000.0).status == \
        STATUS_NO_BUYING_POWER
    assert decide_order(0.0, 0.001, equity=1000.0, price=10.0, lot_size=1).status == \
        STATUS_BELOW_LOT
    assert decide_order(0.0, 0.01, equity=1000.0, price=10.0, min_notional=50).status == \
        STATUS_BELOW_MIN_NOTIONAL
    d = decide_order(0.0, 0.06, equity=1000.0, price=10.0, min_notional=50)
    assert d.size == pytest.approx(6.0) and d.reason == "filled"


def test_cash_limit_caps_buys():
    # cover a short of 100 at 30 with only 2000 cash and 0.1 % fee -> 2000 / (30 * 1.001)
    d = decide_order(-100.0, 0.0, equity=-1000.0, price=30.0, fee_bps=10, cash_limit=2000.0)
    assert d.size == pytest.approx(2000.0 / (30.0 * 1.001), rel=1e-12)
    assert d.status == STATUS_CAPPED


@pytest.mark.parametrize("kwargs,name", [
    ({"fee_bps": -1.0}, "fee_bps"),
    ({"fee_fixed": -0.5}, "fee_fixed"),
    ({"lot_size": -1.0}, "lot_size"),
    ({"max_leverage": 0.0}, "max_leverage"),
    ({"price": 0.0}, "price"),
])
def test_bad_parameters_raise_house_errors(kwargs, name):
    base = dict(equity=1000.0, price=10.0)
    base.update(kwargs)
    with pytest.raises(InvalidParameterError, match=f"`{name}` of decide_order\\(\\) must be"):
        decide_order(0.0, 1.0, **base)

"""The order decision: turn a target exposure into an order size.

One pure function sizes every order quantlab sends, in the backtest and in the live
runner: :func:`order_size_nb` (numba, called by the decision step
:func:`quantlab.backtest.step.step_nb`) and its checked Python twin :func:`decide_order`. Neither knows anything of backtest state: the inputs are
the account numbers a broker reports (position, equity, the gross exposure held in other
assets), the price, and the limits (fees, lot size, minimum notional, leverage).

Margin model
------------
``equity = cash + sum(position_j * price_j)``; the gross exposure ``sum(|position_j| *
price_j)`` may not exceed ``max_leverage * equity`` *after* the order's fee is paid.
Orders that only reduce a position are never capped (they free margin). With
``max_leverage = 1`` this is exactly vectorbt's all-in rule: a long entry from cash buys
``(cash - fee_fixed) / (price * (1 + fee_rate))`` units, a short entry sells the same
amount, and a reversal closes the position and opens the opposite one with everything
the closing leg released (``vectorbt.portfolio.nb.buy_nb`` / ``sell_nb``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from quantlab._jit import njit
from quantlab._validate import check_float, message
from quantlab.errors import InvalidParameterError

__all__ = [
    "order_size_nb",
    "decide_order",
    "OrderDecision",
    "ORDER_STATUS",
    "STATUS_FILLED",
    "STATUS_NOTHING",
    "STATUS_CAPPED",
    "STATUS_NO_BUYING_POWER",
    "STATUS_BELOW_LOT",
    "STATUS_BELOW_MIN_NOTIONAL",
    "STATUS_INVALID",
]

STATUS_FILLED = 0            # order size returned as requested (after lot rounding)
STATUS_NOTHING = 1           # target already met (or NaN target): no order
STATUS_CAPPED = 2            # size reduced by the leverage / buying-power limit
STATUS_NO_BUYING_POWER = 3   # an increase was requested but no margin is left
STATUS_BELOW_LOT = 4         # the size rounds down to zero lots
STATUS_BELOW_MIN_NOTIONAL = 5  # |size| * price is below the minimum notional
STATUS_INVALID = 6           # non-finite or non-positive price / equity

ORDER_STATUS: dict[int, str] = {
    STATUS_FILLED: "filled",
    STATUS_NOTHING: "nothing",
    STATUS_CAPPED: "capped",
    STATUS_NO_BUYING_POWER: "no_buying_power",
    STATUS_BELOW_LOT: "below_lot",
    STATUS_BELOW_MIN_NOTIONAL: "below_min_notional",
    STATUS_INVALID: "invalid",
}

_TINY = 1e-12  # relative size below which an order is "nothing" (float noise)


@njit
def order_size_nb(position, target_exposure, equity, other_gross, price, fee_rate,
                  fee_fixed, lot_size, min_notional, max_leverage, cash_limit):
    """Scalar float64 inputs -> (signed order size in units, int status code).

    Equals the size that moves ``position`` to ``target_exposure * equity / price`` units,
    capped so that ``other_gross + |new position| * price <= max_leverage * (equity - fee)``
    (increases only), buys capped so they spend at most ``cash_limit`` (inf = no limit),
    rounded toward zero to ``lot_size`` (0 = no rounding) and refused below
    ``min_notional``. A target of exactly 0 closes the whole position, unrounded.
    """
    if not (price > 0.0) or math.isnan(target_exposure) or not math.isfinite(price):
        if math.isnan(target_exposure):
            return 0.0, STATUS_NOTHING
        return 0.0, STATUS_INVALID
    if target_exposure == 0.0:
        if position == 0.0:
            return 0.0, STATUS_NOTHING
        if position < 0.0:
            return _cash_cap(-position, price, fee_rate, fee_fixed, cash_limit, STATUS_FILLED)
        return -position, STATUS_FILLED
    if not math.isfinite(equity):
        return 0.0, STATUS_INVALID
    status = STATUS_FILLED
    direction = 1.0 if target_exposure > 0.0 else -1.0
    target_units = target_exposure * equity / price if equity > 0.0 else 0.0
    abs_pos = abs(position)
    same_side = position * direction > 0.0
    wanted = abs(target_units)  # size of the new position, on the target's side
    if same_side and wanted <= abs_pos:
        # pure reduction (or nothing): never capped by margin
        delta = (wanted - abs_pos) * direction
    else:
        # increase on the same side, or open / reverse: margin-capped
        leverage = max_leverage
        if same_side:
            room = leverage * (equity + abs_pos * price * fee_rate - fee_fixed) - other_gross
        else:
            room = leverage * (equity - abs_pos * price * fee_rate - fee_fixed) - other_gross
        max_units = room / (price * (1.0 + leverage * fee_rate))
        if max_units < 0.0:
            max_units = 0.0
        if wanted > max_units:
            wanted = max_units
            status = STATUS_CAPPED
        if same_side:
            if wanted <= abs_pos:
                return 0.0, STATUS_NO_BUYING_POWER
            delta = (wanted - abs_pos) * direction
        else:
            delta = wanted * direction - position
            if wanted == 0.0 and position == 0.0:
                return 0.0, STATUS_NO_BUYING_POWER
    if abs(delta) <= _TINY * max(abs_pos, abs(target_units), 1e-300):
        return 0.0, STATUS_NOTHING
    if lot_size > 0.0:
        lots = math.floor(abs(delta) / lot_size + 1e-9)
        if lots == 0.0:
            return 0.0, STATUS_BELOW_LOT
        delta = math.copysign(lots * lot_size, delta)
    if delta > 0.0:
        capped, cap_status = _cash_cap(delta, price, fee_rate, fee_fixed, cash_limit, status)
        if capped != delta:
            if lot_size > 0.0:
                capped = math.floor(capped / lot_size + 1e-9) * lot_size
            if capped <= 0.0:
                return 0.0, STATUS_NO_BUYING_POWER
            delta = capped
            status = cap_status
    if min_notional > 0.0 and abs(delta) * price < min_notional:
        return 0.0, STATUS_BELOW_MIN_NOTIONAL
    return delta, status


@njit
def _cash_cap(size, price, fee_rate, fee_fixed, cash_limit, status):
    """Cap a buy of ``size`` units so it costs at most ``cash_limit`` (vectorbt's buy_nb)."""
    cost = size * price * (1.0 + fee_rate) + fee_fixed
    if cost <= cash_limit or cost - cash_limit <= 1e-9 * abs(cash_limit):
        return size, status
    room = (cash_limit - fee_fixed) / (1.0 + fee_rate)
    if room <= 1e-9 * size * price:  # nothing (or float dust) left to spend
        return 0.0, STATUS_NO_BUYING_POWER
    return room / price, STATUS_CAPPED


class OrderDecision(NamedTuple):
    """The result of :func:`decide_order`."""

    size: float
    """Signed order size in units (> 0 buy, < 0 sell); 0 when nothing is sent."""
    status: int
    """Status code (see ``ORDER_STATUS``)."""
    reason: str
    """Status name: ``filled capped nothing no_buying_power below_lot below_min_notional invalid``."""


def decide_order(
    position: float,
    target_exposure: float,
    *,
    equity: float,
    price: float,
    other_gross: float = 0.0,
    fee_bps: float = 0.0,
    fee_fixed: float = 0.0,
    lot_size: float = 0.0,
    min_notional: float = 0.0,
    max_leverage: float = 1.0,
    cash_limit: float | None = None,
) -> OrderDecision:
    """Size the order that moves a position to a target exposure of equity.

    The size only: *whether* to trade on a bar (the target changed, the rebalance band, the
    warm-up, stops, risk limits, the sizers) is the decision step's
    (:func:`quantlab.backtest.step.step_nb`), which calls the numba twin :func:`order_size_nb`.
    To trade as the backtest does, one bar at a time, step a :class:`quantlab.backtest.Account`:
    ``decide_order(50, 0.5, equity=1100, price=12)`` sizes a 4.17-unit sale, but an account
    whose target has not changed sends nothing.

    Parameters
    ----------
    position : float
        Units currently held (negative = short).
    target_exposure : float
        Wanted position value as a fraction of equity, already scaled by the sizer and
        the leverage (e.g. 1.0 all in, -0.5 half short, 2.0 twice levered). NaN = hold.
    equity : float
        Account equity (cash + value of all positions) at ``price``.
    price : float
        The price the order is expected to fill at (> 0).
    other_gross : float, default 0.0
        Gross exposure ``sum |units| * price`` held in *other* assets (shared margin).
    fee_bps : float, default 0.0
        Proportional fee in basis points of traded value.
    fee_fixed : float, default 0.0
        Fixed fee per order, in cash units.
    lot_size : float, default 0.0
        Order sizes are rounded toward zero to a multiple of it (0 = fractional units).
    min_notional : float, default 0.0
        Orders worth less than this (``|size| * price``) are refused, except a full close.
    max_leverage : float, default 1.0
        Gross exposure may not exceed ``max_leverage * equity`` after fees.
    cash_limit : float, optional
        Most cash a buy may spend, fees included (a cash account: the cash balance).
        None = no limit (a margin account may borrow cash).

    Returns
    -------
    OrderDecision
        ``(size, status, reason)``.

    Raises
    ------
    InvalidParameterError
        Negative fees, lot size, minimum notional, or ``max_leverage <= 0``.

    Notes
    -----
    For an increase on the same side the largest reachable position is
    ``s = (L (E + |q| p f - F) - G) / (p (1 + L f))``; for an opening or a reversal it is
    ``s = (L (E - |q| p f - F) - G) / (p (1 + L f))``, with ``E`` equity, ``q`` position,
    ``p`` price, ``f`` fee rate, ``F`` fixed fee, ``G`` other gross exposure, ``L`` max
    leverage. With ``L = 1, G = 0`` these are vectorbt's all-in sizes
    (``vectorbt.portfolio.nb.buy_nb``/``sell_nb``, ``size=np.inf``).

    Examples
    --------
    >>> d = decide_order(0.0, 1.0, equity=1000.0, price=10.0, fee_bps=10)
    >>> round(d.size, 6), d.reason
    (99.9001, 'capped')
    >>> decide_order(50.0, 0.0, equity=1000.0, price=10.0).size
    -50.0
    >>> decide_order(0.0, 0.5, equity=1000.0, price=10.0, lot_size=7).size
    49.0
    """
    caller = "decide_order"
    position = check_float("position", position, caller=caller)
    if not isinstance(target_exposure, int | float) or isinstance(target_exposure, bool):
        raise InvalidParameterError(message("target_exposure", caller, "a number (NaN = hold)",
                                            target_exposure))
    equity = check_float("equity", equity, caller=caller)
    price = check_float("price", price, caller=caller, minimum=0.0, exclusive_minimum=True)
    other_gross = check_float("other_gross", other_gross, caller=caller, minimum=0.0)
    fee_bps = check_float("fee_bps", fee_bps, caller=caller, minimum=0.0)
    fee_fixed = check_float("fee_fixed", fee_fixed, caller=caller, minimum=0.0)
    lot_size = check_float("lot_size", lot_size, caller=caller, minimum=0.0)
    min_notional = check_float("min_notional", min_notional, caller=caller, minimum=0.0)
    max_leverage = check_float("max_leverage", max_leverage, caller=caller, minimum=0.0,
                               exclusive_minimum=True)
    limit = math.inf if cash_limit is None else check_float("cash_limit", cash_limit,
                                                             caller=caller)
    size, status = order_size_nb(float(position), float(target_exposure), float(equity),
                                 float(other_gross), float(price), fee_bps / 1e4, fee_fixed,
                                 lot_size, min_notional, max_leverage, limit)
    return OrderDecision(float(size), int(status), ORDER_STATUS[int(status)])

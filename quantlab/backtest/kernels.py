"""Simulator kernels (numba, float64 arrays, no pandas).

* :func:`simulate_nb` - the one simulator behind :func:`quantlab.backtest` and
  :func:`quantlab.sweep` (built on :func:`stop_check_nb`, the order decision
  :func:`quantlab.backtest.orders.order_size_nb` and :func:`fill_price_nb`): several assets
  (time x asset arrays) with shared cash, target exposures or entry/exit signals, fills at
  the close or the next open, fees, slippage, leverage with margin and liquidation,
  stop-loss / take-profit / trailing stop checked intrabar on high/low with gap-through at
  the open, lot size, minimum notional, funding and borrow costs, drift rebalancing. It
  records every order and the end-of-bar cash, positions and equity.
* :func:`trades_nb` - the trade list (entry/exit, PnL, MAE/MFE, exit reason) from the orders.

Conventions: time on axis 0; prices > 0 and finite (checked by the pandas layer); a NaN
target means "hold"; kernels never raise for market conditions.

Bar timeline (``fill_next_open`` False / True)::

    close mode : [stops on open/high/low] -> [liquidation] -> [orders at close t] -> [funding]
    next-open  : [orders decided at t-1 filled at open t] -> [stops] -> [liquidation] -> [funding]
"""

from __future__ import annotations

import math

import numpy as np

from quantlab._jit import njit
from quantlab.backtest.orders import order_size_nb

__all__ = [
    "simulate_nb",
    "trades_nb",
    "stop_check_nb",
    "fill_price_nb",
    "REASONS",
    "REASON_SIGNAL",
    "REASON_STOP_LOSS",
    "REASON_TAKE_PROFIT",
    "REASON_TRAILING_STOP",
    "REASON_LIQUIDATION",
    "REASON_END",
    "REASON_REBALANCE",
]

REASON_SIGNAL = 0
REASON_STOP_LOSS = 1
REASON_TAKE_PROFIT = 2
REASON_TRAILING_STOP = 3
REASON_LIQUIDATION = 4
REASON_END = 5
REASON_REBALANCE = 6
REASONS: tuple[str, ...] = ("signal", "stop_loss", "take_profit", "trailing_stop",
                            "liquidation", "end", "rebalance")

EXIT_LONG = 1   # bit of ``exit_flags``: close a long position
EXIT_SHORT = 2  # bit of ``exit_flags``: close a short position


@njit
def fill_price_nb(price, size, slip):
    """Fill price of an order of signed ``size`` at ``price`` with fractional slippage.

    Equals ``price * (1 + slip)`` for buys and ``price * (1 - slip)`` for sells.
    """
    if size > 0.0:
        return price * (1.0 + slip)
    return price * (1.0 - slip)


@njit
def stop_check_nb(position, ref_price, extreme, sl_stop, tp_stop, tsl_stop, open_, high, low):
    """Intrabar stop check -> (fill price or NaN, reason code).

    Stop-loss (``ref_price * (1 -/+ sl_stop)``) and trailing stop (``extreme * (1 -/+
    tsl_stop)``) are checked first (the nearer one wins), then take-profit; a level the
    open has already passed fills at the open (gap-through), a level inside [low, high]
    fills at the level. NaN stops are off. Equals vectorbt's ``get_stop_price_nb``.
    """
    if position > 0.0:
        level = -np.inf
        reason = 0
        if not math.isnan(sl_stop):
            level = ref_price * (1.0 - sl_stop)
            reason = REASON_STOP_LOSS
        if not math.isnan(tsl_stop):
            lv = extreme * (1.0 - tsl_stop)
            if reason == 0 or lv > level:
                level = lv
                reason = REASON_TRAILING_STOP
        if reason != 0:
            if open_ <= level:
                return open_, reason
            if low <= level <= high:
                return level, reason
        if not math.isnan(tp_stop):
            lv = ref_price * (1.0 + tp_stop)
            if lv <= open_:
                return open_, REASON_TAKE_PROFIT
            if low <= lv <= high:
                return lv, REASON_TAKE_PROFIT
    elif position < 0.0:
        level = np.inf
        reason = 0
        if not math.isnan(sl_stop):
            level = ref_price * (1.0 + sl_stop)
            reason = REASON_STOP_LOSS
        if not math.isnan(tsl_stop):
            lv = extreme * (1.0 + tsl_stop)
            if reason == 0 or lv < level:
                level = lv
                reason = REASON_TRAILING_STOP
        if reason != 0:
            if level <= open_:
                return open_, reason
            if low <= level <= high:
                return level, reason
        if not math.isnan(tp_stop):
            lv = ref_price * (1.0 - tp_stop)
            if open_ <= lv:
                return open_, REASON_TAKE_PROFIT
            if low <= lv <= high:
                return lv, REASON_TAKE_PROFIT
    return np.nan, 0


@njit
def _flex(a, t, j):
    """a[t, j] with broadcasting of length-1 axes (a is 2-D)."""
    return a[t if a.shape[0] > 1 else 0, j if a.shape[1] > 1 else 0]


@njit
def _signal_target(w, flags, position):
    """Signal mode: the exposure to move to (NaN = nothing), vectorbt accumulate=False."""
    if not math.isnan(w) and w != 0.0:
        if position == 0.0 or (position > 0.0) != (w > 0.0):
            return w  # open or reverse
        return np.nan  # already on that side: ignore
    if flags != 0:
        if (flags & EXIT_LONG) != 0 and position > 0.0:
            return 0.0
        if (flags & EXIT_SHORT) != 0 and position < 0.0:
            return 0.0
    return np.nan


@njit
def _record_nb(o_bar, o_asset, o_size, o_price, o_fee, o_reason, n, t, j, size, price, fee, reason):
    """Write order record ``n`` (bar, asset, signed size, fill price, fee, reason); return n + 1."""
    o_bar[n] = t
    o_asset[n] = j
    o_size[n] = size
    o_price[n] = price
    o_fee[n] = fee
    o_reason[n] = reason
    return n + 1


@njit
def simulate_nb(open_, high, low, close, target, exit_flags, signal_mode, fill_next_open,
                init_cash, leverage, fee_rate, fee_fixed, slippage, lot_size, min_notional,
                sl_stop, tp_stop, tsl_stop, maintenance_margin, funding, borrow,
                drift_threshold, warmup):
    """Full simulator over time x asset float64 arrays with shared cash.

    Parameters (all float64 unless said; ``(T, N)`` = time x asset)
        open_, high, low, close : (T, N) prices, finite and > 0.
        target : (T, N) exposure decided at bar t (fraction of equity before ``leverage``),
            NaN = hold. In signal mode a non-zero value is an entry of that size/side.
        exit_flags : (T, N) int8, signal mode only: bit 1 closes a long, bit 2 a short.
        signal_mode : bool - vectorbt semantics (entries never resize an open position).
        fill_next_open : bool - fill at open[t+1] (True) or close[t] (False).
        init_cash, leverage, fee_rate (fraction), fee_fixed (cash per order),
        maintenance_margin (fraction of gross exposure; < 0 = never liquidate),
        drift_threshold (NaN = off) : scalars. With ``leverage <= 1`` the account is a
            cash account: buys spend at most the cash held (vectorbt's rule).
        slippage, funding, borrow : 2-D arrays broadcast against (T, N) (length-1 axes);
            fractions (slippage of the fill price, funding of signed position value per
            bar, borrow of short value per bar).
        lot_size, min_notional : (N,) per asset; 0 = off.
        sl_stop, tp_stop, tsl_stop : scalars, fractions of the reference price; NaN = off.
        warmup : int - no order is decided at bars t < warmup.

    Returns
        cash (T,), positions (T, N), equity (T,) at each bar's close, and the order records
        ``(bar int64, asset int64, size float64 (signed), price, fee, reason int8)`` trimmed
        to the number of orders.
    """
    n_bars, n_assets = close.shape
    cash_out = np.empty(n_bars)
    pos_out = np.empty((n_bars, n_assets))
    equity_out = np.empty(n_bars)
    # at most one order per asset at the open, one stop, one liquidation and one at the close:
    # a fixed capacity (np.empty pages cost nothing until written) keeps the record arrays
    # from being reassigned inside the loop, which made numba refcount them on every bar (10x)
    cap = 16 + 4 * n_bars * n_assets
    o_bar = np.empty(cap, dtype=np.int64)
    o_asset = np.empty(cap, dtype=np.int64)
    o_size = np.empty(cap)
    o_price = np.empty(cap)
    o_fee = np.empty(cap)
    o_reason = np.empty(cap, dtype=np.int8)
    n_orders = 0

    cash = init_cash
    pos = np.zeros(n_assets)
    ref = np.full(n_assets, np.nan)      # stop reference (entry) price
    extreme = np.full(n_assets, np.nan)  # trailing extreme since entry
    last_w = np.full(n_assets, np.nan)   # last target acted on (target mode)
    stopped = np.zeros(n_assets, dtype=np.bool_)
    marks = np.empty(n_assets)
    has_stops = not (math.isnan(sl_stop) and math.isnan(tp_stop) and math.isnan(tsl_stop))
    cash_account = leverage <= 1.0  # no cash borrowing: buys spend at most the cash held

    for t in range(n_bars):
        for j in range(n_assets):
            stopped[j] = False

        for phase in range(2):
            # phase 0: the open of bar t; phase 1: the close of bar t
            if phase == 0:
                if not fill_next_open or t == 0:
                    decide = -1
                else:
                    decide = t - 1
                for j in range(n_assets):
                    marks[j] = open_[t, j]
            else:
                decide = -1 if fill_next_open else t
                for j in range(n_assets):
                    marks[j] = close[t, j]
            if decide >= warmup:
                # two passes: orders that only reduce exposure first (they free margin)
                for pas in range(2):
                    for j in range(n_assets):
                        if stopped[j]:
                            continue
                        w = target[decide, j]
                        q = pos[j]
                        reason = REASON_SIGNAL
                        if signal_mode:
                            w_eff = _signal_target(w, exit_flags[decide, j], q)
                        else:
                            w_eff = np.nan
                            if not math.isnan(w):
                                if w != last_w[j]:
                                    w_eff = w
                                elif not math.isnan(drift_threshold):
                                    eq_now = cash
                                    for k in range(n_assets):
                                        eq_now += pos[k] * marks[k]
                                    if eq_now > 0.0:
                                        cur = q * marks[j] / eq_now
                                        if abs(cur - w * leverage) > drift_threshold:
                                            w_eff = w
                                            reason = REASON_REBALANCE
                        if math.isnan(w_eff):
                            continue
                        p = marks[j]
                        equity = cash
                        other_gross = 0.0
                        for k in range(n_assets):
                            equity += pos[k] * marks[k]
                            if k != j:
                                other_gross += abs(pos[k]) * marks[k]
                        w_lev = w_eff * leverage
                        want = w_lev * equity / p
                        reducing = w_lev == 0.0 or (q * w_lev > 0.0 and abs(want) <= abs(q))
                        if (pas == 0) != reducing:
                            continue
                        if not signal_mode:
                            last_w[j] = w
                        side = 1.0 if want > q else -1.0
                        slip = _flex(slippage, decide, j)
                        pf = fill_price_nb(p, side, slip)
                        equity_f = equity + q * (pf - p)
                        size, status = order_size_nb(q, w_lev, equity_f, other_gross, pf,
                                                     fee_rate, fee_fixed, lot_size[j],
                                                     min_notional[j], leverage,
                                                     cash if cash_account else np.inf)
                        if size == 0.0:
                            continue
                        pf = fill_price_nb(p, size, slip)
                        fee = abs(size) * pf * fee_rate + fee_fixed
                        cash -= size * pf + fee
                        new_q = q + size
                        if abs(new_q) <= 1e-12 * abs(q):
                            new_q = 0.0
                        pos[j] = new_q
                        if new_q != 0.0 and (q == 0.0 or (q > 0.0) != (new_q > 0.0)
                                             or abs(new_q) > abs(q)):
                            ref[j] = p
                            extreme[j] = p
                        n_orders = _record_nb(o_bar, o_asset, o_size, o_price, o_fee, o_reason, n_orders,
                                              t, j, size, pf, fee, reason)
            if phase == 0:
                # intrabar: stops, then liquidation, on open/high/low of bar t
                for j in range(n_assets):
                    q = pos[j]
                    if q == 0.0 or not has_stops:
                        continue
                    px, why = stop_check_nb(q, ref[j], extreme[j], sl_stop, tp_stop, tsl_stop,
                                            open_[t, j], high[t, j], low[t, j])
                    if q > 0.0:
                        if high[t, j] > extreme[j]:
                            extreme[j] = high[t, j]
                    else:
                        if low[t, j] < extreme[j]:
                            extreme[j] = low[t, j]
                    if math.isnan(px):
                        continue
                    size = -q
                    # slippage known before bar t trades (an ATR-based one at t would use bar t's
                    # own high, low and close, which the stop fill cannot know)
                    pf = fill_price_nb(px, size, _flex(slippage, t - 1 if t > 0 else 0, j))
                    fee = abs(size) * pf * fee_rate + fee_fixed
                    cash -= size * pf + fee
                    pos[j] = 0.0
                    stopped[j] = True
                    if not signal_mode and not fill_next_open:
                        w = target[t, j]
                        if not math.isnan(w):
                            last_w[j] = w
                    n_orders = _record_nb(o_bar, o_asset, o_size, o_price, o_fee, o_reason, n_orders,
                                          t, j, size, pf, fee, why)
                # liquidation: equity at each position's worst price of the bar
                n_open = 0
                last_j = -1
                eq_worst = cash
                gross_worst = 0.0
                for j in range(n_assets):
                    q = pos[j]
                    if q != 0.0:
                        n_open += 1
                        last_j = j
                        wp = low[t, j] if q > 0.0 else high[t, j]
                        eq_worst += q * wp
                        gross_worst += abs(q) * wp
                if (n_open > 0 and maintenance_margin >= 0.0
                        and eq_worst <= maintenance_margin * gross_worst):
                    for j in range(n_assets):
                        q = pos[j]
                        if q == 0.0:
                            continue
                        if n_open == 1 and j == last_j:
                            if q > 0.0:
                                den = q * (1.0 - maintenance_margin)
                                px = -cash / den if den > 0.0 else low[t, j]
                                if open_[t, j] <= px:
                                    px = open_[t, j]
                            else:
                                px = cash / (-q * (1.0 + maintenance_margin))
                                if open_[t, j] >= px:
                                    px = open_[t, j]
                            px = min(max(px, low[t, j]), high[t, j])
                        else:
                            px = low[t, j] if q > 0.0 else high[t, j]
                        size = -q
                        fee = abs(size) * px * fee_rate + fee_fixed
                        cash -= size * px + fee
                        pos[j] = 0.0
                        stopped[j] = True
                        if not signal_mode and not fill_next_open:
                            w = target[t, j]
                            if not math.isnan(w):
                                last_w[j] = w
                        n_orders = _record_nb(o_bar, o_asset, o_size, o_price, o_fee, o_reason, n_orders,
                                              t, j, size, px, fee, REASON_LIQUIDATION)

        # end of bar: funding and borrow on the close value, then record
        for j in range(n_assets):
            q = pos[j]
            if q != 0.0:
                value = q * close[t, j]
                cash -= value * _flex(funding, t, j)
                if q < 0.0:
                    cash -= -value * _flex(borrow, t, j)
        equity = cash
        for j in range(n_assets):
            pos_out[t, j] = pos[j]
        for j in range(n_assets):
            equity += pos[j] * close[t, j]
        cash_out[t] = cash
        equity_out[t] = equity

    return (cash_out, pos_out, equity_out, o_bar[:n_orders].copy(), o_asset[:n_orders].copy(),
            o_size[:n_orders].copy(), o_price[:n_orders].copy(), o_fee[:n_orders].copy(),
            o_reason[:n_orders].copy())


@njit
def trades_nb(o_bar, o_asset, o_size, o_price, o_fee, o_reason, high, low, open_, close,
              fill_next_open):
    """Order records -> trades, as vectorbt's exit trades (``get_exit_trades_nb``).

    Inputs are the order records of :func:`simulate_nb` (chronological) and the (T, N)
    prices. A trade is recorded each time a position is reduced or closed: its size is the
    reduced size, its entry price the size-weighted average entry of the position, its
    entry fees the matching share of the entry fees, its exit fees the exiting order's
    (a reversal's fee is split pro rata between the closing and the opening leg);
    ``pnl = dir * size * (exit - entry) - fees`` and ``ret = pnl / (size * entry)``. With
    entry/exit signals (no resizing) a trade is one round trip. A position still open after
    the last bar gives a trade valued at the last close with no exit fee and reason ``end``
    (vectorbt's open trades). MAE/MFE are the worst/best price excursion while held, as a
    fraction of the entry price (MAE <= 0 <= MFE): bars entirely held contribute their
    high/low, the entry and exit bars only what is known to lie after the entry / before
    the exit.

    Returns arrays ``asset, direction (+1/-1), entry_bar, exit_bar, entry_price,
    exit_price, size, pnl, ret, fees, mae, mfe, reason``.
    """
    n_bars, n_assets = close.shape
    n = o_bar.shape[0]
    cap = 2 * n + n_assets
    t_asset = np.empty(cap, dtype=np.int64)
    t_dir = np.empty(cap, dtype=np.int64)
    t_entry = np.empty(cap, dtype=np.int64)
    t_exit = np.empty(cap, dtype=np.int64)
    t_eprice = np.empty(cap)
    t_xprice = np.empty(cap)
    t_size = np.empty(cap)
    t_pnl = np.empty(cap)
    t_ret = np.empty(cap)
    t_fees = np.empty(cap)
    t_mae = np.empty(cap)
    t_mfe = np.empty(cap)
    t_reason = np.empty(cap, dtype=np.int8)
    m = 0
    q = np.zeros(n_assets)
    e_bar = np.zeros(n_assets, dtype=np.int64)
    e_size = np.zeros(n_assets)
    e_gross = np.zeros(n_assets)
    e_fees = np.zeros(n_assets)
    lo_px = np.zeros(n_assets)
    hi_px = np.zeros(n_assets)
    scanned = np.zeros(n_assets, dtype=np.int64)  # last bar whose range is in lo/hi
    for i in range(n + n_assets):
        if i < n:
            j = o_asset[i]
            bar = o_bar[i]
            d = o_size[i]
            px = o_price[i]
            fee = o_fee[i]
            why = o_reason[i]
        else:
            j = i - n
            if q[j] == 0.0:
                continue
            bar = n_bars - 1
            d = -q[j]
            px = close[bar, j]
            fee = 0.0
            why = REASON_END
        qj = q[j]
        new_q = qj + d
        if abs(new_q) <= 1e-12 * abs(qj):
            new_q = 0.0
        if qj == 0.0 or (qj > 0.0) == (d > 0.0):
            # opening or adding
            if qj == 0.0:
                e_bar[j] = bar
                e_size[j] = 0.0
                e_gross[j] = 0.0
                e_fees[j] = 0.0
                lo_px[j] = px
                hi_px[j] = px
                scanned[j] = bar if not fill_next_open else bar - 1
            e_size[j] += abs(d)
            e_gross[j] += abs(d) * px
            e_fees[j] += fee
            lo_px[j] = min(lo_px[j], px)
            hi_px[j] = max(hi_px[j], px)
            q[j] = new_q
            continue
        # reducing, closing or reversing
        at_open_exit = why != REASON_SIGNAL and why != REASON_REBALANCE and why != REASON_END
        at_open_exit = at_open_exit or (fill_next_open and why != REASON_END)
        b1 = bar - 1 if at_open_exit else bar
        lo = min(lo_px[j], px)
        hi = max(hi_px[j], px)
        for b in range(scanned[j] + 1, b1 + 1):
            if low[b, j] < lo:
                lo = low[b, j]
            if high[b, j] > hi:
                hi = high[b, j]
        if b1 > scanned[j]:
            scanned[j] = b1
        if at_open_exit and bar > e_bar[j]:
            lo = min(lo, open_[bar, j])
            hi = max(hi, open_[bar, j])
        lo_px[j] = lo
        hi_px[j] = hi
        reverse = new_q != 0.0 and (new_q > 0.0) != (qj > 0.0)
        exit_size = abs(qj) if (reverse or new_q == 0.0) else abs(d)
        exit_fee = fee * exit_size / abs(d)
        avg = e_gross[j] / e_size[j]
        frac = exit_size / e_size[j]
        entry_fee = frac * e_fees[j]
        sign = 1.0 if qj > 0.0 else -1.0
        t_asset[m] = j
        t_dir[m] = 1 if qj > 0.0 else -1
        t_entry[m] = e_bar[j]
        t_exit[m] = bar
        t_eprice[m] = avg
        t_xprice[m] = px
        t_size[m] = exit_size
        pnl = sign * (exit_size * px - exit_size * avg) - entry_fee - exit_fee
        t_pnl[m] = pnl
        t_ret[m] = pnl / (exit_size * avg)
        t_fees[m] = entry_fee + exit_fee
        if qj > 0.0:
            t_mae[m] = lo / avg - 1.0
            t_mfe[m] = hi / avg - 1.0
        else:
            t_mae[m] = 1.0 - hi / avg
            t_mfe[m] = 1.0 - lo / avg
        t_reason[m] = REASON_SIGNAL if why == REASON_REBALANCE else why
        m += 1
        if reverse:
            e_bar[j] = bar
            e_size[j] = abs(new_q)
            e_gross[j] = abs(new_q) * px
            e_fees[j] = fee - exit_fee
            lo_px[j] = px
            hi_px[j] = px
            scanned[j] = bar if not fill_next_open else bar - 1
        elif new_q != 0.0:
            keep = 1.0 - frac
            e_size[j] *= keep
            e_gross[j] *= keep
            e_fees[j] *= keep
        q[j] = new_q
    return (t_asset[:m], t_dir[:m], t_entry[:m], t_exit[:m], t_eprice[:m], t_xprice[:m],
            t_size[:m], t_pnl[:m], t_ret[:m], t_fees[:m], t_mae[:m], t_mfe[:m], t_reason[:m])

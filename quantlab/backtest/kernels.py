"""Simulator kernels (numba, float64 arrays, no pandas).

* :func:`run_nb` - the one simulator behind :func:`quantlab.backtest` and
  :func:`quantlab.sweep`: a loop over the decision step
  :func:`quantlab.backtest.step.step_nb` (the same step the live runner's
  :class:`~quantlab.backtest.Account` takes one bar at a time). Several assets (time x asset
  arrays) with shared cash, target exposures or entry/exit signals, fills at the close or
  the next open, fees, slippage, leverage with margin and liquidation, stop-loss /
  take-profit / trailing stop checked intrabar with gap-through at the open, lot size,
  minimum notional, funding and borrow costs, rebalance re-trades, sizers evaluated on the
  account, risk limits. It records every order, every risk event and the end-of-bar cash,
  positions and equity.
* :func:`simulate_nb` - :func:`run_nb` with the simulator's original positional arguments
  (a fixed-fraction sizer, no risk limits).
* :func:`trades_nb` - the trade list (entry/exit, PnL, MAE/MFE, exit reason) from the orders.

Conventions: time on axis 0; prices > 0 and finite (checked by the pandas layer); a NaN
target means "hold"; kernels never raise for market conditions.
"""

from __future__ import annotations

import numpy as np

from quantlab._jit import njit
from quantlab.backtest import step as S
from quantlab.backtest.step import (
    EXIT_LONG,
    EXIT_SHORT,
    REASON_END,
    REASON_LIQUIDATION,
    REASON_REBALANCE,
    REASON_RISK,
    REASON_SIGNAL,
    REASON_STOP_LOSS,
    REASON_TAKE_PROFIT,
    REASON_TRAILING_STOP,
    REASONS,
    fill_price_nb,
    stop_check_nb,
)

__all__ = [
    "run_nb",
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
    "REASON_RISK",
    "EXIT_LONG",
    "EXIT_SHORT",
]


@njit
def run_nb(cfg, acfg, sizers, open_, high, low, close, target, flags, slip, funding, borrow,
           sin, day, warmup, ring_size):
    """Step an account over every bar: :func:`~quantlab.backtest.step.step_nb` in a loop.

    ``open_ high low close target`` (T, N); ``flags`` (T, N) int8 (or (1, 1) outside signal
    mode); ``slip funding borrow`` 2-D and ``sin`` 3-D with length-1 axes broadcast; ``day``
    (T,) int64 calendar days (or (1,) when no limit needs them); no order is decided at bars
    ``t < warmup``; ``ring_size`` closed-trade returns kept per asset (Kelly from trades).

    Returns cash (T,), positions (T, N), equity (T,) at each bar's close, the order records
    (n, 6: bar, asset, signed size, fill price, fee, reason), the risk events (m, 5: bar,
    rule, value, action, asset or -1) and the final account scalars.
    """
    n_bars, n_assets = close.shape
    cash_out = np.empty(n_bars)
    pos_out = np.empty((n_bars, n_assets))
    equity_out = np.empty(n_bars)
    # record buffers start small and double when a bar might not fit (at most 5 orders and
    # 4 events per asset and bar): a capacity for the worst case over every bar would be
    # tens of MB of fresh pages per call, whose page faults cost more than the simulation
    orec = np.empty((256 + 5 * n_assets, 6))
    erec = np.empty((64 + 4 * (n_assets + 1), 5))
    acct = np.zeros(S.A_N)
    st = np.zeros((S.S_N, n_assets))
    ring = np.zeros((max(ring_size, 1), n_assets))
    S.init_state_nb(acct, st, cfg[S.C_INIT_CASH])
    bi = np.full((S.B_N, n_assets), np.nan)
    t = 0
    while True:
        t = _loop_nb(cfg, acfg, sizers, acct, st, ring, orec, erec, bi, open_, high, low, close,
                     target, flags, slip, funding, borrow, sin, day, warmup, cash_out, pos_out,
                     equity_out, t)
        if t >= n_bars:
            break
        if acct[S.A_N_ORDERS] + 5 * n_assets > orec.shape[0]:
            grown = np.empty((2 * orec.shape[0], 6))
            grown[: orec.shape[0]] = orec
            orec = grown
        if acct[S.A_N_EVENTS] + 4 * (n_assets + 1) > erec.shape[0]:
            grown = np.empty((2 * erec.shape[0], 5))
            grown[: erec.shape[0]] = erec
            erec = grown
    n = int(acct[S.A_N_ORDERS])
    m = int(acct[S.A_N_EVENTS])
    return cash_out, pos_out, equity_out, orec[:n].copy(), erec[:m].copy(), acct


@njit(_nrt=False)
def _loop_nb(cfg, acfg, sizers, acct, st, ring, orec, erec, bi, open_, high, low, close, target,
             flags, slip, funding, borrow, sin, day, warmup, cash_out, pos_out, equity_out,
             t_first):
    """The bar loop of :func:`run_nb` from bar ``t_first``, compiled without numba's runtime:
    nothing here allocates, so no array is reference-counted per bar (with counts, ~10x
    slower). Returns the first bar not stepped: ``n_bars``, or earlier when the next bar
    might not fit in the record buffers (the caller grows them and calls again)."""
    n_bars, n_assets = close.shape
    one_day = day.shape[0] == 1
    with_sin = not (sizers.shape[0] == 1 and sizers[0, 0] == S.SZ_FIXED)
    # inputs constant over time (length-1 time axis) are laid out once, the rest per bar
    S.load_bar_nb(bi, 0, open_, high, low, close, target, flags, slip, funding, borrow, sin,
                  with_sin)
    flags_t = flags.shape[0] > 1 and cfg[S.C_SIGNAL] != 0.0  # (flags only matter for signals)
    slip_t = slip.shape[0] > 1
    funding_t = funding.shape[0] > 1
    borrow_t = borrow.shape[0] > 1
    sin_t = with_sin and sin.shape[1] > 1
    next_open, signal_mode, has_stops, protective, has_risk, fixed, rebalance = S._modes_nb(
        cfg, sizers)
    room_o = orec.shape[0] - 5 * n_assets
    room_e = erec.shape[0] - 4 * (n_assets + 1)
    for t in range(t_first, n_bars):
        if acct[S.A_N_ORDERS] > room_o or acct[S.A_N_EVENTS] > room_e:
            return t
        d = day[0] if one_day else day[t]
        for j in range(n_assets):
            bi[S.B_OPEN, j] = open_[t, j]
            bi[S.B_HIGH, j] = high[t, j]
            bi[S.B_LOW, j] = low[t, j]
            bi[S.B_CLOSE, j] = close[t, j]
            bi[S.B_TARGET, j] = target[t, j]
        if flags_t:
            S.load_row_nb(bi, S.B_FLAGS, flags, t)
        if slip_t:
            S.load_row_nb(bi, S.B_SLIP, slip, t)
        if funding_t:
            S.load_row_nb(bi, S.B_FUNDING, funding, t)
        if borrow_t:
            S.load_row_nb(bi, S.B_BORROW, borrow, t)
        if sin_t:
            for j in range(n_assets):
                for r in range(S.IN_N):
                    bi[S.B_SIN + r, j] = S.flex3_nb(sin, r, t, j)
        equity = S.step_modes_nb(t, d, t >= warmup, cfg, acfg, sizers, acct, st, ring, orec,
                                 erec, bi, next_open, signal_mode, has_stops, protective,
                                 has_risk, fixed, rebalance)
        for j in range(n_assets):
            pos_out[t, j] = st[S.S_POS, j]
        cash_out[t] = acct[S.A_CASH]
        equity_out[t] = equity
    return n_bars


@njit
def simulate_nb(open_, high, low, close, target, exit_flags, signal_mode, fill_next_open,
                init_cash, leverage, fee_rate, fee_fixed, slippage, lot_size, min_notional,
                sl_stop, tp_stop, tsl_stop, maintenance_margin, funding, borrow,
                drift_threshold, warmup):
    """:func:`run_nb` with the first simulator's positional arguments (one fixed-fraction
    sizer of 1, targets already sized, no risk limits).

    Parameters (all float64 unless said; ``(T, N)`` = time x asset)
        open_, high, low, close : (T, N) prices, finite and > 0.
        target : (T, N) exposure decided at bar t (fraction of equity before ``leverage``),
            NaN = hold. In signal mode a non-zero value is an entry of that size/side.
        exit_flags : (T, N) int8, signal mode only: bit 1 closes a long, bit 2 a short.
        signal_mode, fill_next_open : bool.
        init_cash, leverage, fee_rate, fee_fixed, maintenance_margin (< 0 = never
        liquidate), drift_threshold (NaN = off), sl_stop, tp_stop, tsl_stop (NaN = off) :
            scalars, as the ``C_*`` slots of :mod:`quantlab.backtest.step`.
        slippage, funding, borrow : 2-D arrays broadcast against (T, N).
        lot_size, min_notional : (N,) per asset; 0 = off.
        warmup : int - no order is decided at bars t < warmup.

    Returns
        cash (T,), positions (T, N), equity (T,) and the order records as six arrays
        ``(bar int64, asset int64, size float64 (signed), price, fee, reason int8)``.
    """
    cfg = S.base_config_nb(signal_mode, fill_next_open, init_cash, leverage, fee_rate,
                           fee_fixed, sl_stop, tp_stop, tsl_stop, maintenance_margin,
                           drift_threshold)
    n_assets = close.shape[1]
    acfg = np.empty((2, n_assets))
    for j in range(n_assets):
        acfg[0, j] = lot_size[j]
        acfg[1, j] = min_notional[j]
    sizers = np.zeros((1, 6))
    sizers[0, 1] = 1.0
    sin = np.full((S.IN_N, 1, 1), np.nan)
    day = np.zeros(1, dtype=np.int64)
    cash, pos, equity, orec, _, _ = run_nb(cfg, acfg, sizers, open_, high, low, close, target,
                                           exit_flags, slippage, funding, borrow, sin, day,
                                           warmup, 1)
    return (cash, pos, equity, orec[:, 0].astype(np.int64), orec[:, 1].astype(np.int64),
            orec[:, 2].copy(), orec[:, 3].copy(), orec[:, 4].copy(), orec[:, 5].astype(np.int8))


@njit
def trade_fill_nb(q, d, new_q, px, fee, e_size, e_gross, e_fees):
    """The money side of one fill in :func:`trades_nb`: ``d`` units at ``px`` (fee ``fee``)
    take the position ``q`` to ``new_q`` (0.0 once snapped), the open entry being ``e_size``
    units for ``e_gross`` with ``e_fees`` of fees.

    Returns ``(e_size, e_gross, e_fees, reverse, exit_size, avg, pnl, fees)``: the entry after
    the fill; when it reduces, closes or reverses the position, the trade it closes (its size,
    the size-weighted average entry price, ``pnl = dir * size * (exit - avg) - fees`` and the
    fees: the entry's share and the exit's share of ``fee``), else ``exit_size`` 0.0. The
    fused sweep kernel books its trades through this function too.
    """
    if q == 0.0 or (q > 0.0) == (d > 0.0):  # opening or adding
        if q == 0.0:
            e_size = 0.0
            e_gross = 0.0
            e_fees = 0.0
        e_size += abs(d)
        e_gross += abs(d) * px
        e_fees += fee
        return e_size, e_gross, e_fees, False, 0.0, 0.0, 0.0, 0.0
    reverse = new_q != 0.0 and (new_q > 0.0) != (q > 0.0)
    exit_size = abs(q) if (reverse or new_q == 0.0) else abs(d)
    exit_fee = fee * exit_size / abs(d)
    avg = e_gross / e_size
    frac = exit_size / e_size
    entry_fee = frac * e_fees
    sign = 1.0 if q > 0.0 else -1.0
    pnl = sign * (exit_size * px - exit_size * avg) - entry_fee - exit_fee
    fees = entry_fee + exit_fee
    if reverse:
        e_size = abs(new_q)
        e_gross = abs(new_q) * px
        e_fees = fee - exit_fee
    elif new_q != 0.0:
        keep = 1.0 - frac
        e_size *= keep
        e_gross *= keep
        e_fees *= keep
    return e_size, e_gross, e_fees, reverse, exit_size, avg, pnl, fees


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
        (e_size[j], e_gross[j], e_fees[j], reverse, exit_size, avg, pnl,
         fees) = trade_fill_nb(qj, d, new_q, px, fee, e_size[j], e_gross[j], e_fees[j])
        if exit_size == 0.0:  # opening or adding
            if qj == 0.0:
                e_bar[j] = bar
                lo_px[j] = px
                hi_px[j] = px
                scanned[j] = bar if not fill_next_open else bar - 1
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
        t_asset[m] = j
        t_dir[m] = 1 if qj > 0.0 else -1
        t_entry[m] = e_bar[j]
        t_exit[m] = bar
        t_eprice[m] = avg
        t_xprice[m] = px
        t_size[m] = exit_size
        t_pnl[m] = pnl
        t_ret[m] = pnl / (exit_size * avg)
        t_fees[m] = fees
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
            lo_px[j] = px
            hi_px[j] = px
            scanned[j] = bar if not fill_next_open else bar - 1
        q[j] = new_q
    return (t_asset[:m], t_dir[:m], t_entry[:m], t_exit[:m], t_eprice[:m], t_xprice[:m],
            t_size[:m], t_pnl[:m], t_ret[:m], t_fees[:m], t_mae[:m], t_mfe[:m], t_reason[:m])

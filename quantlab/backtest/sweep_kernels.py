"""Sweep kernels (numba, float64 arrays, no pandas): many parameter combinations at once.

* :func:`sweep_targets_nb` - the generic path: K target-exposure matrices (one per
  combination) run through :func:`~quantlab.backtest.kernels.simulate_nb` itself (parallel
  over combinations), each reduced to one row of statistics. Same code as ``backtest()``,
  so every option of the simulator is supported and the numbers are the same.
* :func:`cross_exposure_nb` - the fast path of the moving-average crosses: exposures of
  ``SmaCross``/``EmaCross`` combinations from precomputed moving-average columns.
* :func:`cross_sweep_nb` - the fused kernel: the moving averages, the cross exposure, a
  single-asset target-mode simulator (cash account, fees, slippage, fill at the close or
  next open) and the statistics in one pass over the bars, no per-bar allocation,
  O(K + W * span + T) memory; equal to :func:`sweep_targets_nb` bit for bit.
  :func:`cross_sweep` calls it with one share of the combinations per thread.

Each kernel returns a (K, ``len(RAW_STATS)``) float64 array, columns :data:`RAW_STATS`.

Caching note: numba's on-disk cache keys a function on its own source file only; after
editing ``kernels.py``, ``orders.py`` or ``indicators/overlap.py`` delete this module's
``__pycache__/sweep_kernels*`` cache files (or run ``make clean-cache``) so the inlined code
is recompiled.
"""

from __future__ import annotations

import numpy as np

from quantlab._jit import njit, num_threads, prange, trailing_zeros
from quantlab.backtest.kernels import REASON_END, run_nb, trade_fill_nb, trades_nb
from quantlab.backtest.orders import _cash_cap, order_size_nb
from quantlab.indicators.overlap import _ema_window_nb, sma_nb

__all__ = ["RAW_STATS", "sweep_targets_nb", "cross_exposure_nb", "cross_sweep_nb", "cross_sweep",
           "stats_table_nb", "cagr_calmar_nb", "MA_SMA", "MA_EMA"]

#: Columns of the kernels' output (finished into the public statistics by ``sweep``).
RAW_STATS: tuple[str, ...] = ("total_return", "n_returns", "mean_return", "var_return",
                              "downside_sq", "max_drawdown", "bars_in_market", "n_closed",
                              "n_wins", "n_open", "total_fees", "n_orders", "end_value")
_N_RAW = 13


@njit
def _path_stats_nb(equity, in_market, init_cash, out):
    """Fill out[0..6] and out[12] from an equity path (T,) and a bool in-market flag (T,).

    Returns per bar ``r_t = equity_t / equity_{t-1} - 1`` (bar 0 against ``init_cash``; NaN
    and skipped when the previous equity is 0), as ``BacktestResult.returns``.
    """
    prev = init_cash
    peak = init_cash
    max_dd = 0.0
    n = 0.0
    s1 = 0.0
    s2 = 0.0
    down = 0.0
    expo = 0.0
    for t in range(equity.shape[0]):
        eq = equity[t]
        if prev != 0.0:
            r = eq / prev - 1.0
            n += 1.0
            s1 += r
            s2 += r * r
            if r < 0.0:
                down += r * r
        prev = eq
        if eq > peak:
            peak = eq
        elif peak > 0.0:
            dd = eq / peak - 1.0
            if dd < max_dd:
                max_dd = dd
        if in_market[t] and eq != 0.0:
            expo += 1.0
    _finish_nb(out, init_cash, prev, n, s1, s2, down, max_dd, expo)


@njit
def _finish_nb(out, init_cash, end_value, n, s1, s2, down, max_dd, expo):
    out[0] = end_value / init_cash - 1.0
    out[1] = n
    mean = s1 / n if n > 0.0 else np.nan
    out[2] = mean
    if n > 1.0:
        var = (s2 - s1 * mean) / (n - 1.0)
        out[3] = var if var > 0.0 else 0.0
    else:
        out[3] = np.nan
    out[4] = down
    out[5] = max_dd
    out[6] = expo
    out[12] = end_value


@njit(parallel=True)
def sweep_targets_nb(cfg, acfg, sizers, open_, high, low, close, targets, slip, funding, borrow,
                     sin, day, warmups, ring_size):
    """(T, N) prices, (K, T, N) raw targets, (K,) int64 warmups -> (K, 13) ``RAW_STATS``.

    Runs :func:`~quantlab.backtest.kernels.run_nb` (the decision step over every bar) once
    per combination (parallel over K) with the step's arrays exactly as ``backtest()`` passes
    them, and reduces each run to statistics equal to ``BacktestResult.stats()`` (returns,
    trades) on the same inputs. Memory: O(T * N) per thread beyond the inputs.
    """
    n_combos = targets.shape[0]
    n_bars, n_assets = close.shape
    out = np.empty((n_combos, _N_RAW))
    flags = np.zeros((1, 1), dtype=np.int8)
    init_cash = cfg[2]
    fill_next_open = cfg[1] != 0.0
    for c in prange(n_combos):
        res = run_nb(cfg, acfg, sizers, open_, high, low, close, targets[c], flags, slip,
                     funding, borrow, sin, day, warmups[c], ring_size)
        orec = res[3]
        pos = res[1]
        equity = res[2]
        in_market = np.zeros(n_bars, dtype=np.bool_)
        for t in range(n_bars):
            for j in range(n_assets):
                if pos[t, j] != 0.0:
                    in_market[t] = True
        row = out[c]
        _path_stats_nb(equity, in_market, init_cash, row)
        tr = trades_nb(orec[:, 0].astype(np.int64), orec[:, 1].astype(np.int64), orec[:, 2].copy(),
                       orec[:, 3].copy(), orec[:, 4].copy(), orec[:, 5].astype(np.int8), high, low,
                       open_, close, fill_next_open)
        pnl = tr[7]
        reason = tr[12]
        closed = 0.0
        wins = 0.0
        n_open = 0.0
        for i in range(pnl.shape[0]):
            if reason[i] == REASON_END:
                n_open += 1.0
            else:
                closed += 1.0
                if tr[8][i] > 0.0:
                    wins += 1.0
        row[7] = closed
        row[8] = wins
        row[9] = n_open
        fees = 0.0
        for i in range(orec.shape[0]):
            fees += orec[i, 4]
        row[10] = fees
        row[11] = orec.shape[0]
    return out


@njit(parallel=True)
def cross_exposure_nb(ma, params, out):
    """Moving-average cross exposures: ma (W, T), params (K, 3) -> fills out (K, T).

    ``params[k] = (fast column, slow column, short flag)``; exposure at bar t is 1.0 where
    ``ma[fast, t] > ma[slow, t]``, -1.0 (short) or 0.0 where below, NaN where equal or
    undefined. Equals ``SmaCross/EmaCross(...).signal(data)`` when ``ma`` holds the SMA/EMA
    of the close for each distinct window.
    """
    n_combos = params.shape[0]
    n_bars = ma.shape[1]
    for k in prange(n_combos):
        fi = int(params[k, 0])
        si = int(params[k, 1])
        below = -1.0 if params[k, 2] != 0.0 else 0.0
        mf = ma[fi]
        ms = ma[si]
        for t in range(n_bars):
            f = mf[t]
            s = ms[t]
            if f > s:
                out[k, t] = 1.0
            elif f < s:
                out[k, t] = below
            else:
                out[k, t] = np.nan


@njit
def _trade_nb(q, d, new_q, px, fee, e_size, e_gross, e_fees):
    """:func:`trades_nb`'s bookkeeping of one fill (:func:`trade_fill_nb`, the same function):
    the entry's size, gross value and fees, and, when the fill reduces, closes or reverses
    the position, one closed trade (vectorbt's exit trades: a partial reduction is a trade
    too) and whether its return ``pnl / (size * avg)`` is > 0.

    Returns (entry size, entry gross value, entry fees, 1.0 if a trade closed, 1.0 if it won).
    """
    e_size, e_gross, e_fees, _, exit_size, avg, pnl, _ = trade_fill_nb(
        q, d, new_q, px, fee, e_size, e_gross, e_fees)
    if exit_size == 0.0:
        return e_size, e_gross, e_fees, 0.0, 0.0
    return e_size, e_gross, e_fees, 1.0, 1.0 if pnl / (exit_size * avg) > 0.0 else 0.0


@njit
def _order_nb(q, w, p, cash, slippage, fee_rate, fee_fixed, e_size, e_gross, e_fees):
    """One target-mode order of simulate_nb (one asset, leverage 1) + trades_nb bookkeeping
    (:func:`_trade_nb`).

    Returns (cash, position, entry size, entry gross value, entry fees, order fee, 1.0 if an
    order filled, 1.0 if a trade closed, 1.0 if it closed with a positive return).
    """
    equity = cash + q * p
    side = 1.0 if w * equity / p > q else -1.0
    pf = p * (1.0 + slippage) if side > 0.0 else p * (1.0 - slippage)
    equity_f = equity + q * (pf - p)
    d, status = order_size_nb(q, w, equity_f, 0.0, pf, fee_rate, fee_fixed, 0.0, 0.0, 1.0, cash)
    if d == 0.0:
        return cash, q, e_size, e_gross, e_fees, 0.0, 0.0, 0.0, 0.0
    pf = p * (1.0 + slippage) if d > 0.0 else p * (1.0 - slippage)
    fee = abs(d) * pf * fee_rate + fee_fixed
    cash -= d * pf + fee
    new_q = q + d
    if abs(new_q) <= 1e-12 * abs(q):
        new_q = 0.0
    e_size, e_gross, e_fees, closes, win = _trade_nb(q, d, new_q, pf, fee, e_size, e_gross,
                                                     e_fees)
    return cash, new_q, e_size, e_gross, e_fees, fee, 1.0, closes, win


_N_STATE = 19  # per-combination state carried between time blocks (see _cross_block_nb)
_BLOCK = 1024  # bars per block: 50 moving averages x 1024 bars x 8 B = 400 kB stays in L2
_ROUND_UP = 1.0 + 2.0 ** -50  # peak * (1 + max_dd) * _ROUND_UP >= every equity whose
# drawdown eq / peak - 1, as computed, is below max_dd (the roundings are < 2 ** -52 relative;
# for -1 < max_dd <= 0, where 1 + max_dd is exact)
_SPAN_BYTES = 32 << 20  # moving averages held at once: (W, span) float64 within 32 MB


@njit
def _bar_stats_nb(eq, prev, n, s1, s2, down, peak, max_dd, floor):
    """Fold one bar's equity into the running return and drawdown statistics."""
    if prev != 0.0:
        r = eq / prev - 1.0
        n += 1.0
        s1 += r
        s2 += r * r
        lo = min(r, 0.0)
        down += lo * lo
    # the drawdown of _path_stats_nb: a new peak, or eq / peak - 1 below max_dd. floor bounds
    # from above the equities that can set a new max_dd (rounded up, so none is missed), which
    # spares the division on most bars
    if eq > peak:
        peak = eq
        # (once equity has been <= 0, max_dd <= -1 and the bound no longer holds: every bar
        # below the peak is divided)
        floor = peak * (1.0 + max_dd) * _ROUND_UP if max_dd > -1.0 else np.inf
    elif eq < floor and peak > 0.0:
        dd = eq / peak - 1.0
        if dd < max_dd:
            max_dd = dd
            floor = eq
    return n, s1, s2, down, peak, max_dd, floor


@njit
def _close_long_nb(q, p, cash, slippage, fee_rate, fee_fixed, e_size, e_gross, e_fees):
    """:func:`_order_nb` for target 0 from a long ``q > 0`` (needs ``slippage < 1``), written
    out: the same operations in the same order, so the same numbers, without its branches.

    Returns (cash, order fee, 1.0 if the trade won).
    """
    pf = p * (1.0 - slippage)
    d = -q
    fee = q * pf * fee_rate + fee_fixed
    cash -= d * pf + fee
    win = _trade_nb(q, d, 0.0, pf, fee, e_size, e_gross, e_fees)[4]
    return cash, fee, win


@njit
def _open_long_nb(w, p, cash, slippage, fee_rate, fee_fixed):
    """:func:`_order_nb` for a target ``w > 0`` from flat with ``cash > 0`` (the all-in rule of
    :func:`~quantlab.backtest.orders.order_size_nb` with leverage 1), written out.

    Returns (cash, position, entry gross value, order fee, 1.0 if an order filled).
    """
    pf = p * (1.0 + slippage)
    target = w * cash / pf
    wanted = target
    max_units = (cash - fee_fixed) / (pf * (1.0 + fee_rate))
    if max_units < 0.0:
        max_units = 0.0
    if wanted > max_units:
        wanted = max_units
    if wanted == 0.0 or wanted <= 1e-12 * max(target, 1e-300):
        return cash, 0.0, 0.0, 0.0, 0.0
    d, _ = _cash_cap(wanted, pf, fee_rate, fee_fixed, cash, 0)
    if d <= 0.0:
        return cash, 0.0, 0.0, 0.0, 0.0
    fee = d * pf * fee_rate + fee_fixed
    cash -= d * pf + fee
    return cash, d, d * pf, fee, 1.0



@njit
def _build_masks_nb(mf, ms, off, t0, t1, lag, gt, lt):
    """Byte j of ``gt`` / ``lt`` (uint64 words seen as bytes) = 1 where the fast moving average
    of bar d = t0 + j - lag is above / below the slow one (``mf[d - off]``, ``ms[d - off]``;
    0 before d = 0 and past the block); returns the number of words. A branch-free loop that
    vectorizes: the search for the next cross then reads 8 bars a word (:func:`_next_bit_nb`)
    instead of comparing bar by bar."""
    n = t1 - t0
    nw = (n + 7) // 8
    g8 = gt.view(np.uint8)
    l8 = lt.view(np.uint8)
    base = t0 - lag
    j0 = -base if base < 0 else 0
    for j in range(j0):
        g8[j] = 0
        l8[j] = 0
    a = mf[base + j0 - off: base + n - off]
    b = ms[base + j0 - off: base + n - off]
    gg = g8[j0:n]
    ll = l8[j0:n]
    for j in range(a.shape[0]):
        gg[j] = a[j] > b[j]
        ll[j] = a[j] < b[j]
    for j in range(n, nw * 8):
        g8[j] = 0
        l8[j] = 0
    return nw


@njit
def _next_bit_nb(mask, nw, p):
    """Index of the first non-zero byte >= p in ``mask[:nw]`` (8 bytes a word, little-endian:
    byte j of the block is bits 8 (j % 8) .. of word j // 8); 8 nw if none."""
    w = p >> 3
    if w >= nw:
        return nw * 8
    x = mask[w] & (~np.uint64(0) << np.uint64((p & 7) * 8))
    while x == 0:
        w += 1
        if w >= nw:
            return nw * 8
        x = mask[w]
    return (w << 3) + (int(trailing_zeros(x)) >> 3)


@njit
def _cross_block_nb(st, gt, lt, mf, ms, off, t0, t1, below, warm, open_, close, fill_next_open,
                    fee_rate, fee_fixed, slippage, size):
    """Run one combination over bars [t0, t1) from its state row ``st`` (written back).

    The target used at bar t was decided at bar d = t - 1 (fill at the next open) or d = t
    (fill at the close), from the moving averages at d (``mf[d - off]``, ``ms[d - off]``);
    orders start once d >= ``warm``.
    Between two order events nothing but the statistics moves:

    * flat: equity is constant, so each bar adds a zero return; the bars are counted in
      bulk. The next event is the next non-zero byte of the block's cross masks ``gt`` /
      ``lt`` (:func:`_build_masks_nb`, built once per block), found 8 bars at a time;
    * holding a position: each bar's equity, return and drawdown as
      :func:`_path_stats_nb` computes them from ``simulate_nb``'s equity, with the same
      operations in the same order, so the same numbers. (Sums of the price returns over
      a stretch, from prefix sums, were 20% faster but only equal to ~1e-12: the equity
      ``cash + q * close`` is not ``q * close``. The divisions four at a time and sums in
      four lanes were tried too: no faster on stretches this short, ~24 bars; see
      benchmarks/RESULTS.md.)

    The common events (opening a long from cash, closing it) are written out
    (:func:`_open_long_nb`, :func:`_close_long_nb`); the others go through :func:`_order_nb`.
    """
    cash, q, last_w, prev, peak, max_dd, floor = st[0], st[1], st[2], st[3], st[4], st[5], st[6]
    n, s1, s2, down, expo = st[7], st[8], st[9], st[10], st[11]
    closed, wins, fees_total, n_orders = st[12], st[13], st[14], st[15]
    e_size, e_gross, e_fees = st[16], st[17], st[18]  # the open trade (see _trade_nb)
    lag = 1 if fill_next_open else 0
    first = warm + lag  # the first bar that may carry an order
    t = t0
    nw = _build_masks_nb(mf, ms, off, t0, t1, lag, gt, lt)
    while t < t1:
        # the next order event te: the first bar from `first` on whose target is defined and
        # differs from last_w (byte p of the masks is bar t0 + p)
        p = (t if t >= first else min(first, t1)) - t0
        if last_w != last_w:  # no target yet: any strict inequality is an event
            te = t0 + min(_next_bit_nb(gt, nw, p), _next_bit_nb(lt, nw, p))
        elif last_w == size:
            te = t0 + _next_bit_nb(lt, nw, p)
        else:
            te = t0 + _next_bit_nb(gt, nw, p)
        if te > t1:
            te = t1
        # bars t .. te - 1: no order
        if q == 0.0:
            if prev != 0.0:
                n += te - t
        else:
            for u in range(t, te):
                eq = cash + q * close[u]
                n, s1, s2, down, peak, max_dd, floor = _bar_stats_nb(
                    eq, prev, n, s1, s2, down, peak, max_dd, floor)
                prev = eq
                expo += 1.0 if eq != 0.0 else 0.0
        t = te
        if t >= t1:
            break
        # the order event at bar t, then that bar's statistics
        w = size if mf[t - lag - off] > ms[t - lag - off] else below
        last_w = w
        p = open_[t] if fill_next_open else close[t]
        if q > 0.0 and w == 0.0 and slippage < 1.0:
            cash, fee, win = _close_long_nb(q, p, cash, slippage, fee_rate, fee_fixed, e_size,
                                            e_gross, e_fees)
            q, filled, closes = 0.0, 1.0, 1.0
        elif q == 0.0 and w > 0.0 and cash > 0.0 and w * cash / p > 0.0:
            cash, q_new, e_new, fee, filled = _open_long_nb(w, p, cash, slippage, fee_rate,
                                                            fee_fixed)
            if filled != 0.0:  # _trade_nb's opening: 0.0 + d, 0.0 + d * pf, 0.0 + fee
                q, e_size, e_gross, e_fees = q_new, q_new, e_new, fee
            closes, win = 0.0, 0.0
        else:
            cash, q, e_size, e_gross, e_fees, fee, filled, closes, win = _order_nb(
                q, w, p, cash, slippage, fee_rate, fee_fixed, e_size, e_gross, e_fees)
        fees_total += fee
        n_orders += filled
        closed += closes
        wins += win
        eq = cash + q * close[t]
        n, s1, s2, down, peak, max_dd, floor = _bar_stats_nb(
            eq, prev, n, s1, s2, down, peak, max_dd, floor)
        prev = eq
        expo += 1.0 if (q != 0.0 and eq != 0.0) else 0.0
        t += 1
    st[0], st[1], st[2], st[3], st[4], st[5], st[6] = cash, q, last_w, prev, peak, max_dd, floor
    st[7], st[8], st[9], st[10], st[11] = n, s1, s2, down, expo
    st[12], st[13], st[14], st[15] = closed, wins, fees_total, n_orders
    st[16], st[17], st[18] = e_size, e_gross, e_fees


@njit(error_model="numpy")
def stats_table_nb(raw, cols, ppy, root, floats, counts):
    """raw (K, len(RAW_STATS)), cols (13,) its columns n_returns, mean_return, var_return,
    downside_sq, total_return, max_drawdown, n_closed, n_wins, bars_in_market, total_fees,
    end_value, n_open, n_orders -> fills floats (15, K) in ``sweep._FINISHED`` order (cagr and
    calmar left for :func:`cagr_calmar_nb`) and counts (3, K) int64 in ``sweep._COUNTS`` order.

    Each equals its numpy expression in quantlab.metrics element by element, e.g. Sharpe
    ``np.where(std > 0, mean / std, nan) * sqrt(ppy)``, ``np.maximum(n, 1)`` as ``n`` unless
    ``n < 1``, the counts as ``astype(np.int64)``: the same operations in the same order (no
    fastmath)."""
    for k in range(raw.shape[0]):
        n, mean, var, down = raw[k, cols[0]], raw[k, cols[1]], raw[k, cols[2]], raw[k, cols[3]]
        total, mdd, closed, wins = raw[k, cols[4]], raw[k, cols[5]], raw[k, cols[6]], raw[k, cols[7]]
        n_or_1 = n if not n < 1.0 else 1.0
        std = np.sqrt(var)
        dd = np.sqrt(down / n_or_1) if n > 0 else np.nan
        floats[1, k] = mean * ppy
        floats[2, k] = std * root
        floats[3, k] = (mean / std if std > 0 else np.nan) * root
        floats[4, k] = (mean / dd if dd > 0 else np.nan) * root
        floats[6, k] = raw[k, cols[8]] / n_or_1
        floats[7, k] = wins / (closed if not closed < 1.0 else 1.0) if closed > 0 else np.nan
        floats[8, k] = total
        floats[9, k] = mdd
        floats[10, k] = raw[k, cols[9]]
        floats[11, k] = raw[k, cols[10]]
        floats[12, k] = abs(total + 1.0)
        floats[13, k] = ppy / n_or_1
        floats[14, k] = n
        counts[0, k] = np.int64(closed)
        counts[1, k] = np.int64(raw[k, cols[11]])
        counts[2, k] = np.int64(raw[k, cols[12]])


@njit(error_model="numpy")
def cagr_calmar_nb(growth, floats):
    """Fill rows cagr (0) and calmar (5) of :func:`stats_table_nb`'s ``floats`` from ``growth``
    (K,): ``np.where(n > 0, np.where(1 + total > 0, growth - 1, -1), nan)`` and
    ``np.where(mdd < 0, cagr / -mdd, nan)``."""
    for k in range(growth.shape[0]):
        n, total, mdd = floats[14, k], floats[8, k], floats[9, k]
        cagr = (growth[k] - 1.0 if total + 1.0 > 0 else -1.0) if n > 0 else np.nan
        floats[0, k] = cagr
        floats[5, k] = cagr / -mdd if mdd < 0 else np.nan


#: moving-average kinds of :func:`cross_sweep_nb` (the kernels of ``ind.sma`` / ``ind.ema``)
MA_SMA = 0
MA_EMA = 1


@njit
def _ma_block_nb(kind, x, window, state, out):
    """One window's moving average over the block ``x`` from its carried ``state``."""
    if kind == MA_SMA:
        sma_nb(x, window, state[: 3 + window], out)
    else:
        _ema_window_nb(x, window, state[:3], out)


@njit(parallel=True)
def cross_sweep_nb(kind, windows, params, warmups, open_, close, fill_next_open, init_cash,
                   fee_rate, fee_fixed, slippage, size, t_start, t_end, n_share, span):
    """Fused moving-average-cross sweep: windows (W,), params (K, 3), warmups (K,) -> (K, 13).

    The moving averages run over all the bars; the account trades and the statistics count
    only bars ``t_start .. t_end`` (the evaluation window; no order decided before
    ``t_start``), as the decision step does on the window's slice.

    ``kind`` is :data:`MA_SMA` or :data:`MA_EMA`; ``params[k] = (fast row, slow row, short
    flag)`` index ``windows``; ``n_share``: the number of shares the combinations are split
    in, one per thread, and ``span``: bars per span, a multiple of ``_BLOCK`` (both chosen by
    :func:`cross_sweep`; neither changes a number). For each combination: the exposure of
    :func:`cross_exposure_nb` times ``size``, simulated as :func:`simulate_nb` does in target
    mode for one asset with ``leverage=1`` (cash account), no stops, lot size, minimum
    notional, funding or drift (an order when the target changes, sized by
    :func:`order_size_nb` at the close of the decision bar or the next open), reduced on the
    fly to ``RAW_STATS`` (trade PnL as :func:`trades_nb`). Equals :func:`sweep_targets_nb` on
    the same exposures bit for bit: the same floating-point operations in the same order.

    Work is split in spans of bars. Per span, two parallel launches: the moving average of every
    distinct window over the span (parallel over W; ``sma_nb`` / ``ema_nb`` carrying their
    state from span to span, so the values are exactly those of ``ind.sma`` / ``ind.ema``),
    then the combinations (one interleaved share per thread: k = i, i + n, ...), each
    thread walking the span in blocks of ``_BLOCK`` bars so the block's moving averages stay
    in its L2 cache. Each combination carries a row of ``_N_STATE`` floats (a thread's rows
    are contiguous, so two threads write one cache line at most, where their rows meet), and
    each thread 2 KB of
    cross masks (:func:`_build_masks_nb`). Few launches matter on a busy machine, where every
    launch waits for a descheduled worker. Memory: O(K + W * span + T), no per-bar
    allocation.
    """
    n_combos = params.shape[0]
    n_bars = close.shape[0]
    n_ma = windows.shape[0]
    max_w = 1
    for i in range(n_ma):
        max_w = max(max_w, int(windows[i]))
    span = min(max(_BLOCK, span // _BLOCK * _BLOCK), max(n_bars, 1))
    ma_state = np.zeros((n_ma, 3 + max_w))
    buf = np.full((n_ma, span + 1), np.nan)  # buf[i, 1 + j]: bar s0 + j; column 0: bar s0 - 1
    n_share = max(1, min(n_combos, n_share))
    per = (n_combos + n_share - 1) // n_share
    st = np.zeros((n_share, per, _N_STATE))  # combination k = i + n_share * r is st[i, r]
    for k in range(n_combos):
        row = st[k % n_share, k // n_share]
        row[0] = init_cash  # cash
        row[2] = np.nan  # last target
        row[3] = init_cash  # previous equity
        row[4] = init_cash  # peak
        row[6] = init_cash  # floor: equity below which a new maximum drawdown starts
    for s0 in range(0, n_bars, span):
        s1 = min(n_bars, s0 + span)
        for i in prange(n_ma):
            buf[i, 0] = buf[i, span]  # the previous span's last bar (NaN before bar 0)
            _ma_block_nb(kind, close[s0:s1], int(windows[i]), ma_state[i], buf[i, 1 : 1 + s1 - s0])
        if max(s0, t_start) >= min(s1, t_end + 1):
            continue  # a span before the window only warms the moving averages
        for i in prange(n_share):
            masks = np.empty((2, (_BLOCK + 7) // 8), dtype=np.uint64)
            for t0 in range(s0, s1, _BLOCK):
                tb0 = max(t0, t_start)
                tb1 = min(t0 + _BLOCK, s1, t_end + 1)
                if tb0 >= tb1:
                    continue
                for k in range(i, n_combos, n_share):
                    below = -size if params[k, 2] != 0.0 else 0.0
                    _cross_block_nb(st[i, k // n_share], masks[0], masks[1],
                                    buf[int(params[k, 0])], buf[int(params[k, 1])], s0 - 1, tb0,
                                    tb1, below, min(max(warmups[k], t_start), n_bars),
                                    open_, close,
                                    fill_next_open, fee_rate, fee_fixed, slippage, size)
    out = np.empty((n_combos, _N_RAW))
    for k in range(n_combos):
        row = out[k]
        s = st[k % n_share, k // n_share]
        _finish_nb(row, init_cash, s[3], s[7], s[8], s[9], s[10], s[5], s[11])
        row[7] = s[12]
        row[8] = s[13]
        row[9] = 1.0 if s[1] != 0.0 else 0.0
        row[10] = s[14]
        row[11] = s[15]
    return out


def cross_sweep(kind, windows, params, warmups, open_, close, fill_next_open, init_cash,
                fee_rate, fee_fixed, slippage, size, t_start, t_end):
    """:func:`cross_sweep_nb` with one share of combinations per numba thread and spans of
    as many bars as fit ``_SPAN_BYTES`` of moving averages (all the bars when they fit)."""
    span = max(_BLOCK, _SPAN_BYTES // (8 * max(len(windows), 1)))
    return cross_sweep_nb(kind, windows, params, warmups, open_, close, fill_next_open,
                          init_cash, fee_rate, fee_fixed, slippage, size, t_start, t_end,
                          num_threads(), span)

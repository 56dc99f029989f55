"""The one decision step: an account and one bar in, orders and the new account out.

Every order quantlab sends goes through :func:`step_nb`: :func:`~quantlab.backtest.kernels.
run_nb` (behind ``backtest()`` and ``sweep()``) is a loop over it, and
:class:`quantlab.backtest.Account` (the live runner's entry point) calls it once per bar. It
holds every rule that decides *whether* and *how much* to trade: the warm-up and evaluation
gate, trade-only-when-the-target-changes, rebalance re-trades, reduce-first across assets,
the sizers (evaluated on the account at the decision bar), stops, liquidation, the risk
limits and their breach actions, funding and borrow.

State and inputs are plain float64 arrays (numba caches functions, not objects):

* ``cfg`` (``C_N``,): the scalar configuration (``C_*`` slots), built once from a
  :class:`~quantlab.backtest.config.BacktestConfig`;
* ``acfg`` (2, N): per-asset lot size and minimum notional;
* ``sizers`` (S, 6): one row per sizer, ``kind, p0..p4`` (``SZ_*`` kinds); their size is the
  smallest of the rows, then the caps ``C_CAP_POSITION``/``C_CAP_LEVERAGE``;
* ``acct`` (``A_N``,): account scalars (cash, peak equity, the day's opening equity, halt
  state, orders today, record counters; ``A_*`` slots);
* ``st`` (``S_N``, N): per-asset state (position, stop reference, trailing extreme, last
  target acted on, the decision pending for the next open, trade book, Kelly estimate);
* ``ring`` (W, N): the last W closed-trade returns of each asset (Kelly from trades);
* ``orec`` (cap, 6) / ``erec`` (cap, 5): order and risk-event records, appended.

The step functions are compiled without numba's runtime (``_nrt=False``): they allocate
nothing, and numba then passes their array arguments without atomic reference counts (with
them, a bar cost ~300 ns instead of ~30). The step and what it runs on every bar (stops,
limits, small helpers) are inlined into the caller's loop (``inline="always"``): a call
passing a dozen arrays costs ~20 ns. What runs only on bars that trade (the order loop, the
sizers, the fills) stays a call, which keeps the first compile near 30 s instead of 90. The
switches that are constant for a run (fill point, signal mode, stops, risk limits, sizer kind;
:func:`_modes_nb`) are read from ``cfg`` once by the loop (:func:`step_modes_nb`), not at
every bar.

One bar's inputs are the rows of ``bi`` (``B_N``, N) (``B_*`` rows): open, high, low, close,
the raw target exposure (NaN = hold), exit flags (signal mode), slippage known at the bar,
funding and borrow fractions, and the ``IN_N`` sizer inputs (``IN_*``: return volatility,
ATR / close, unit VaR, edge mean / variance / count), plus two rows of scratch space.
:func:`load_bar_nb` copies them from time x asset arrays; the Python account fills them
directly. ``day`` is an integer calendar day (the daily risk limits reset on a new day) and
``can_decide`` whether the bar may decide orders (warm-up, evaluation window).

Bar timeline (``C_NEXT_OPEN`` 0 / 1)::

    new day? -> [open: orders decided at t-1 (next-open mode)] -> [stops] -> [liquidation]
    -> [close mark: risk limits] -> [close: orders decided at t (close mode)]
    -> [funding, borrow] -> record -> [next-open mode: sizer evaluated, decision kept pending]
"""

from __future__ import annotations

import math

import numpy as np

from quantlab._jit import njit
from quantlab.backtest.orders import order_size_nb

__all__ = ["step_nb", "new_state", "init_state_nb", "base_config_nb", "sizer_exposure_nb",
           "stop_check_nb", "fill_price_nb"]

# ---- configuration slots (cfg) ------------------------------------------------------------
C_SIGNAL = 0          # 1: entry/exit signal mode (vectorbt semantics); 0: target exposures
C_NEXT_OPEN = 1       # 1: fill at the next open; 0: at the decision bar's close
C_INIT_CASH = 2
C_LEVERAGE = 3        # >= 1; <= 1 is a cash account (buys spend at most the cash held)
C_FEE_RATE = 4        # fraction of traded value
C_FEE_FIXED = 5       # cash per order
C_SL = 6              # stop-loss fraction (NaN off)
C_TP = 7              # take-profit fraction (NaN off)
C_TSL = 8             # trailing stop fraction (NaN off)
C_MM = 9              # maintenance margin fraction (< 0: never liquidate)
C_REBALANCE = 10      # re-trade an unchanged target past this |exposure - target| (NaN off)
C_MAX_POSITION = 11   # risk limit: |exposure| per asset (inf off)
C_MAX_GROSS = 12      # risk limit: gross exposure / equity (inf off)
C_MAX_DAILY_LOSS = 13  # risk limit: loss since the day's open, fraction (NaN off)
C_MAX_DRAWDOWN = 14   # risk limit: drawdown from the peak, fraction (NaN off)
C_MAX_ORDERS_DAY = 15  # risk limit: discretionary orders per day (inf off)
C_ON_BREACH = 16      # ACT_FLATTEN, ACT_REDUCE_ONLY or ACT_HALT
C_CAP_POSITION = 17   # sizer cap: |exposure| per asset (inf off)
C_CAP_LEVERAGE = 18   # sizer cap: gross exposure / equity (inf off)
C_PPY = 19            # periods per year (annualizes VolTarget's volatility input)
C_N = 20

# ---- sizer kinds (sizers[:, 0]) ---------------------------------------------------------
SZ_FIXED = 0          # p0 fraction: exposure = target * p0 * leverage
SZ_VOL_TARGET = 1     # p0 annual volatility: target * p0 / (vol * sqrt(ppy))
SZ_ATR_RISK = 2       # p0 risk fraction, p1 ATR multiple: target * p0 / (p1 * ATR / close)
SZ_KELLY = 3          # p0 fraction, p1 window, p2 min_obs, p3 source (0 trades, 1 edge), p4 prior
SZ_VAR_BUDGET = 4     # p0 budget: target * p0 / VaR(unit exposure)

# ---- sizer input rows (sin) ---------------------------------------------------------
IN_VOL = 0            # per-bar volatility of the asset's returns (or a forecast of it)
IN_ATR = 1            # ATR / close
IN_VAR = 2            # one-bar VaR of a unit exposure, a positive fraction (or a forecast)
IN_EDGE_MU = 3        # the strategy's causal edge: mean return per bar of its position
IN_EDGE_VAR = 4       # ... its variance
IN_EDGE_N = 5         # ... and the number of observations behind them
IN_N = 6

# ---- account slots (acct) ----------------------------------------------------------------
A_CASH = 0
A_PEAK = 1            # highest close mark so far (drawdown limit)
A_DAY = 2             # calendar day of the last bar
A_DAY_START = 3       # equity at the end of the previous day
A_EQUITY = 4          # equity recorded at the end of the last bar
A_HALT = 5            # 0 trading, ACT_REDUCE_ONLY + 1, ACT_HALT + 1 (halted), 4 flatten pending
A_HALT_DAILY = 6      # 1 while the halt comes from the daily loss only (lifted next day);
                      # 2: a daily flatten still pending on the new day (resume after it)
A_ORDERS_TODAY = 7
A_N_ORDERS = 8        # records written to orec
A_N_EVENTS = 9        # records written to erec
A_PEND_OK = 10        # 1: a decision is pending for the next open
A_BAR = 11            # bars stepped
A_KELLY_NAN = 12      # Kelly decisions sized 0: undefined inputs
A_KELLY_ZERO_VAR = 13  # ... zero variance
A_KELLY_NEGATIVE = 14  # ... negative edge
A_KELLY_FEW = 15      # ... too few observations
A_N = 16

# ---- per-asset slots (st rows) -----------------------------------------------------
S_POS = 0
S_REF = 1             # stop reference (entry) price
S_EXTREME = 2         # best price since entry (trailing stop)
S_LAST_W = 3          # last raw target acted on (target mode)
S_STOPPED = 4         # the bar at which a stop or liquidation last closed the asset
S_PEND_W = 5          # raw target decided at the previous bar (next-open mode)
S_PEND_FLAGS = 6      # its exit flags
S_PEND_SCALE = 7      # the sizer's exposure per unit of target at that decision
S_PEND_SLIP = 8       # slippage known at the previous bar
S_E_SIZE = 9          # trade book: units entered (for the Kelly trade returns)
S_E_GROSS = 10        # ... their cost
S_E_FEES = 11         # ... and entry fees
S_K_COUNT = 12        # closed trades seen (Kelly ring)
S_N = 13

# ---- order reasons (orec[:, 5]) ----------------------------------------------------------
REASON_SIGNAL = 0
REASON_STOP_LOSS = 1
REASON_TAKE_PROFIT = 2
REASON_TRAILING_STOP = 3
REASON_LIQUIDATION = 4
REASON_END = 5
REASON_REBALANCE = 6
REASON_RISK = 7
REASONS: tuple[str, ...] = ("signal", "stop_loss", "take_profit", "trailing_stop",
                            "liquidation", "end", "rebalance", "risk")

# ---- risk events (erec rows: bar, rule, value, action, asset or -1) ---------------------------
RULE_MAX_POSITION = 0
RULE_MAX_GROSS = 1
RULE_MAX_DAILY_LOSS = 2
RULE_MAX_DRAWDOWN = 3
RULE_MAX_ORDERS_DAY = 4
RULES: tuple[str, ...] = ("max_position", "max_gross_leverage", "max_daily_loss",
                          "max_drawdown", "max_orders_per_day")
ACT_FLATTEN = 0
ACT_REDUCE_ONLY = 1
ACT_HALT = 2
ACT_CLIP = 3
ACT_REFUSE = 4
ACT_RESUME = 5
ACTIONS: tuple[str, ...] = ("flatten", "reduce_only", "halt", "clip", "refuse", "resume")
_FLATTEN_PENDING = 4.0  # A_HALT value: close everything at the next fill, then halt

# ---- one bar's inputs (bi rows; time x asset arrays are copied in row by row) --------------
B_OPEN = 0
B_HIGH = 1
B_LOW = 2
B_CLOSE = 3
B_TARGET = 4          # raw target exposure decided at this bar (NaN = hold)
B_FLAGS = 5           # exit flags (signal mode)
B_SCALE = 6           # written by the step: the sizer's exposure per unit of target
B_SLIP = 7            # fractional slippage known at this bar
B_FUNDING = 8         # funding, fraction of the signed position value
B_BORROW = 9          # borrow fee, fraction of the short value
B_MARK = 10           # written by the step: the marks of the current fill point
B_SIN = 11            # the IN_N sizer inputs (rows B_SIN + IN_*)
B_N = B_SIN + IN_N

EXIT_LONG = 1   # bit of the exit flags: close a long position
EXIT_SHORT = 2  # bit of the exit flags: close a short position


def new_state(n_assets: int, init_cash: float, ring: int = 1) -> tuple[np.ndarray, np.ndarray,
                                                                        np.ndarray]:
    """Fresh ``(acct, st, ring)`` arrays for an account of ``n_assets`` holding ``init_cash``."""
    acct = np.zeros(A_N)
    st = np.zeros((S_N, n_assets))
    init_state_nb(acct, st, float(init_cash))
    return acct, st, np.zeros((max(int(ring), 1), n_assets))


@njit(_nrt=False)
def init_state_nb(acct, st, init_cash):
    """Reset ``acct`` (``A_N``,) and ``st`` (``S_N``, N) to a flat account holding ``init_cash``."""
    acct[:] = 0.0
    acct[A_CASH] = init_cash
    acct[A_PEAK] = init_cash
    acct[A_EQUITY] = init_cash
    acct[A_DAY_START] = init_cash
    acct[A_DAY] = -4611686018427387904.0  # no day yet
    st[:, :] = 0.0
    st[S_REF] = np.nan
    st[S_EXTREME] = np.nan
    st[S_STOPPED] = -1.0
    st[S_LAST_W] = np.nan
    st[S_PEND_W] = np.nan


@njit
def base_config_nb(signal_mode, fill_next_open, init_cash, leverage, fee_rate, fee_fixed,
                   sl_stop, tp_stop, tsl_stop, maintenance_margin, rebalance_threshold):
    """A ``cfg`` vector with these simulation settings and no risk limit or sizer cap."""
    cfg = np.empty(C_N)
    cfg[C_SIGNAL] = 1.0 if signal_mode else 0.0
    cfg[C_NEXT_OPEN] = 1.0 if fill_next_open else 0.0
    cfg[C_INIT_CASH] = init_cash
    cfg[C_LEVERAGE] = leverage
    cfg[C_FEE_RATE] = fee_rate
    cfg[C_FEE_FIXED] = fee_fixed
    cfg[C_SL] = sl_stop
    cfg[C_TP] = tp_stop
    cfg[C_TSL] = tsl_stop
    cfg[C_MM] = maintenance_margin
    cfg[C_REBALANCE] = rebalance_threshold
    cfg[C_MAX_POSITION] = np.inf
    cfg[C_MAX_GROSS] = np.inf
    cfg[C_MAX_DAILY_LOSS] = np.nan
    cfg[C_MAX_DRAWDOWN] = np.nan
    cfg[C_MAX_ORDERS_DAY] = np.inf
    cfg[C_ON_BREACH] = ACT_FLATTEN
    cfg[C_CAP_POSITION] = np.inf
    cfg[C_CAP_LEVERAGE] = np.inf
    cfg[C_PPY] = 252.0
    return cfg


@njit(_nrt=False, inline="always")
def flex_nb(a, t, j):
    """a[t, j] with broadcasting of length-1 axes (a is 2-D)."""
    return a[t if a.shape[0] > 1 else 0, j if a.shape[1] > 1 else 0]


@njit(_nrt=False, inline="always")
def flex3_nb(a, r, t, j):
    """a[r, t, j] with broadcasting of length-1 time / asset axes (a is 3-D)."""
    return a[r, t if a.shape[1] > 1 else 0, j if a.shape[2] > 1 else 0]


@njit(_nrt=False)
def fill_price_nb(price, size, slip):
    """Fill price of an order of signed ``size`` at ``price`` with fractional slippage.

    Equals ``price * (1 + slip)`` for buys and ``price * (1 - slip)`` for sells.
    """
    if size > 0.0:
        return price * (1.0 + slip)
    return price * (1.0 - slip)


@njit(_nrt=False, inline="always")
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


@njit(_nrt=False, inline="always")
def _signal_target(w, flags, position):
    """Signal mode: the raw exposure to move to (NaN = nothing), vectorbt accumulate=False."""
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


@njit(_nrt=False, inline="always")
def _event_nb(acct, erec, bar, rule, value, action, asset):
    n = int(acct[A_N_EVENTS])
    if n < erec.shape[0]:
        erec[n, 0] = bar
        erec[n, 1] = rule
        erec[n, 2] = value
        erec[n, 3] = action
        erec[n, 4] = asset
        acct[A_N_EVENTS] = n + 1


@njit(_nrt=False, inline="always")
def _record_nb(acct, orec, bar, j, size, price, fee, reason):
    n = int(acct[A_N_ORDERS])
    orec[n, 0] = bar
    orec[n, 1] = j
    orec[n, 2] = size
    orec[n, 3] = price
    orec[n, 4] = fee
    orec[n, 5] = reason
    acct[A_N_ORDERS] = n + 1


@njit(_nrt=False)
def _book_nb(st, ring, j, q, d, px, fee):
    """Trade book of asset j for Kelly: a fill of ``d`` units at ``px`` from position ``q``.

    A reduction closes ``|reduced|`` units at the size-weighted entry price and pushes the
    closed trade's return ``pnl / (size * entry)`` (fees pro rata, as ``trades_nb``) into
    ``ring``; a reversal closes the whole position and opens the rest.
    """
    new_q = q + d
    if q == 0.0 or (q > 0.0) == (d > 0.0):
        if q == 0.0:
            st[S_E_SIZE, j] = 0.0
            st[S_E_GROSS, j] = 0.0
            st[S_E_FEES, j] = 0.0
        st[S_E_SIZE, j] += abs(d)
        st[S_E_GROSS, j] += abs(d) * px
        st[S_E_FEES, j] += fee
        return
    reverse = new_q != 0.0 and (new_q > 0.0) != (q > 0.0)
    exit_size = abs(q) if (reverse or new_q == 0.0) else abs(d)
    exit_fee = fee * exit_size / abs(d)
    e_size = st[S_E_SIZE, j]
    if e_size > 0.0:
        avg = st[S_E_GROSS, j] / e_size
        frac = exit_size / e_size
        sign = 1.0 if q > 0.0 else -1.0
        pnl = sign * (exit_size * px - exit_size * avg) - frac * st[S_E_FEES, j] - exit_fee
        k = int(st[S_K_COUNT, j])
        ring[k % ring.shape[0], j] = pnl / (exit_size * avg)
        st[S_K_COUNT, j] = k + 1
        if reverse:
            st[S_E_SIZE, j] = abs(new_q)
            st[S_E_GROSS, j] = abs(new_q) * px
            st[S_E_FEES, j] = fee - exit_fee
        elif new_q != 0.0:
            keep = 1.0 - frac
            st[S_E_SIZE, j] = e_size * keep
            st[S_E_GROSS, j] *= keep
            st[S_E_FEES, j] *= keep


@njit(_nrt=False)
def _kelly_nb(sz, st, ring, bi, j, acct, count):
    """Kelly exposure per unit of target: ``fraction * mean / variance`` (0 when undefined).

    From the last ``window`` closed trades of asset j (source 0) or the strategy's edge
    inputs at bar t (source 1). Sizes 0 and counts the reason (``A_KELLY_*``, warned about by
    the pandas layer) on NaN inputs, zero variance, a negative edge or fewer than ``min_obs``
    observations.
    """
    fraction = sz[1]
    window = int(sz[2])
    min_obs = sz[3]
    prior = sz[5]
    if sz[4] == 0.0:
        k = int(st[S_K_COUNT, j])
        n = min(k, window, ring.shape[0])
        if n < min_obs or n < 2:
            if not math.isnan(prior):
                return prior  # the documented starting size until min_obs trades closed
            if count:
                acct[A_KELLY_FEW] += 1.0
            return 0.0
        # shifted data: deviations from the newest return, so equal returns give exactly 0
        ref = ring[(k - 1) % ring.shape[0], j]
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            dev = ring[(k - 1 - i) % ring.shape[0], j] - ref
            s1 += dev
            s2 += dev * dev
        mu = ref + s1 / n
        var = (s2 - s1 * s1 / n) / (n - 1)
    else:
        mu = bi[B_SIN + IN_EDGE_MU, j]
        var = bi[B_SIN + IN_EDGE_VAR, j]
        n_obs = bi[B_SIN + IN_EDGE_N, j]
        if math.isnan(mu) or math.isnan(var) or math.isnan(n_obs):
            if count:
                acct[A_KELLY_NAN] += 1.0
            return 0.0
        if n_obs < min_obs:
            if not math.isnan(prior):
                return prior
            if count:
                acct[A_KELLY_FEW] += 1.0
            return 0.0
    if math.isnan(mu) or math.isnan(var):
        if count:
            acct[A_KELLY_NAN] += 1.0
        return 0.0
    if not (var > 1e-12 * mu * mu):  # zero (or a per-bar Sharpe ratio above 1e6: float dust)
        if count:
            acct[A_KELLY_ZERO_VAR] += 1.0
        return 0.0
    if mu <= 0.0:
        if count:
            acct[A_KELLY_NEGATIVE] += 1.0
        return 0.0
    return fraction * mu / var


@njit(_nrt=False)
def sizer_exposure_nb(cfg, sizers, st, ring, bi, j, acct, count):
    """Exposure per unit of raw target for asset j at the bar ``bi``: the smallest sizer, then
    the cap.

    A fixed fraction counts ``p0 * leverage``; a sizer whose input is undefined (NaN, or 0
    volatility / ATR / VaR) gives 0. The result is in [0, ``C_CAP_POSITION``]. The gross cap
    ``C_CAP_LEVERAGE`` is applied by the order decision (it needs the other assets).
    """
    scale = np.inf
    for s in range(sizers.shape[0]):
        kind = int(sizers[s, 0])
        p0 = sizers[s, 1]
        if kind == SZ_FIXED:
            v = p0 * cfg[C_LEVERAGE]
        elif kind == SZ_VOL_TARGET:
            vol = bi[B_SIN + IN_VOL, j]
            v = p0 / (vol * math.sqrt(cfg[C_PPY])) if vol > 0.0 else 0.0
        elif kind == SZ_ATR_RISK:
            atr = bi[B_SIN + IN_ATR, j]
            v = p0 / (sizers[s, 2] * atr) if atr > 0.0 else 0.0
        elif kind == SZ_KELLY:
            v = _kelly_nb(sizers[s], st, ring, bi, j, acct, count)
        else:  # SZ_VAR_BUDGET
            var = bi[B_SIN + IN_VAR, j]
            v = p0 / var if var > 0.0 else 0.0
        if not (v >= 0.0):  # NaN
            v = 0.0
        if v < scale:
            scale = v
    if scale > cfg[C_CAP_POSITION]:
        scale = cfg[C_CAP_POSITION]
    return scale


@njit(_nrt=False, inline="always")
def _may_trade_nb(cfg, st, rows, r0):
    """False when :func:`_orders_nb` would send nothing for the decision in ``rows[r0:r0 + 2]``
    (no target changed, no entry or exit signal, no rebalance band): a cheap pre-check so the
    bars without a decision skip the order loop."""
    return _may_trade_modes_nb(st, rows, r0, cfg[C_SIGNAL] != 0.0,
                               not math.isnan(cfg[C_REBALANCE]))


@njit(_nrt=False, inline="always")
def _may_trade_modes_nb(st, rows, r0, signal_mode, rebalance):
    """:func:`_may_trade_nb` with ``signal_mode`` and ``rebalance`` (a rebalance band is set)
    given (:func:`_modes_nb`'s)."""
    if rebalance:
        return True
    for j in range(st.shape[1]):
        w = rows[r0, j]
        if signal_mode:
            if (not math.isnan(w) and w != 0.0) or rows[r0 + 1, j] != 0.0:
                return True
        elif not math.isnan(w) and w != st[S_LAST_W, j]:
            return True
    return False


@njit(_nrt=False, inline="always")
def _is_fixed_nb(cfg, sizers):
    """One fixed-fraction sizer and no cap: the sizes of the first simulator, bit for bit."""
    return sizers.shape[0] == 1 and sizers[0, 0] == SZ_FIXED and cfg[C_CAP_POSITION] == np.inf


@njit(_nrt=False, inline="always")
def _equity_nb(cash, st, bi):
    """cash + sum(position * mark), the marks in ``bi[B_MARK]``."""
    eq = cash
    for k in range(st.shape[1]):
        eq += st[S_POS, k] * bi[B_MARK, k]
    return eq


@njit(_nrt=False)
def _orders_nb(bar, cfg, acfg, sizers, acct, st, ring, orec, erec, bi, rows, r0):
    """The orders of one fill point (an open or a close): two passes over the assets, orders
    that only reduce exposure first (they free margin), each through the order decision.

    The decision is read from four consecutive rows of ``rows`` starting at ``r0``: raw
    target, exit flags, sizer exposure per unit of target, slippage (the pending decision in
    ``st`` at the open, the bar's own in ``bi`` at the close); the marks from ``bi[B_MARK]``.
    The step skips this call when :func:`_may_trade_nb` says no order can come of it: a new
    reason to trade added here must be added there too.
    """
    n_assets = st.shape[1]
    signal_mode = cfg[C_SIGNAL] != 0.0
    leverage = cfg[C_LEVERAGE]
    fee_rate = cfg[C_FEE_RATE]
    fee_fixed = cfg[C_FEE_FIXED]
    cash_account = leverage <= 1.0
    rebalance = cfg[C_REBALANCE]
    halt = acct[A_HALT]
    if halt == ACT_HALT + 1.0:
        return  # halted: no order (stops and liquidation are not decided here)
    max_lev = leverage
    if cfg[C_MAX_GROSS] < max_lev:
        max_lev = cfg[C_MAX_GROSS]
    if cfg[C_CAP_LEVERAGE] < max_lev:
        max_lev = cfg[C_CAP_LEVERAGE]
    fixed = _is_fixed_nb(cfg, sizers)
    for pas in range(2):
        for j in range(n_assets):
            if st[S_STOPPED, j] == bar:
                continue
            q = st[S_POS, j]
            w = rows[r0, j]
            reason = REASON_SIGNAL
            if halt == _FLATTEN_PENDING:
                if q == 0.0:
                    continue
                w_eff = 0.0
                reason = REASON_RISK
            elif signal_mode:
                w_eff = _signal_target(w, int(rows[r0 + 1, j]), q)
            else:
                w_eff = np.nan
                if not math.isnan(w):
                    if w != st[S_LAST_W, j]:
                        w_eff = w
                    elif not math.isnan(rebalance):
                        eq_now = _equity_nb(acct[A_CASH], st, bi)
                        if eq_now > 0.0:
                            cur = q * bi[B_MARK, j] / eq_now
                            if fixed:
                                target_now = w * sizers[0, 1] * leverage
                            else:
                                target_now = w * rows[r0 + 2, j]
                            if abs(cur - target_now) > rebalance:
                                w_eff = w
                                reason = REASON_REBALANCE
            if math.isnan(w_eff):
                continue
            p = bi[B_MARK, j]
            equity = acct[A_CASH]
            other_gross = 0.0
            for k in range(n_assets):
                equity += st[S_POS, k] * bi[B_MARK, k]
                if k != j:
                    other_gross += abs(st[S_POS, k]) * bi[B_MARK, k]
            if reason == REASON_RISK:
                w_lev = 0.0
            elif fixed:
                w_lev = w_eff * sizers[0, 1] * leverage
            else:
                w_lev = w_eff * rows[r0 + 2, j]
            if abs(w_lev) > cfg[C_MAX_POSITION]:
                if pas == 0:
                    _event_nb(acct, erec, bar, RULE_MAX_POSITION, w_lev, ACT_CLIP, j)
                w_lev = math.copysign(cfg[C_MAX_POSITION], w_lev)
            want = w_lev * equity / p
            reducing = w_lev == 0.0 or (q * w_lev > 0.0 and abs(want) <= abs(q))
            if halt == ACT_REDUCE_ONLY + 1.0 and not reducing:
                if q == 0.0 or q * w_lev > 0.0:
                    continue  # an increase: refused while reduce-only
                w_lev = 0.0  # a reversal: only the closing leg
                want = 0.0
                reducing = True
            if (pas == 0) != reducing:
                continue
            if not signal_mode:
                st[S_LAST_W, j] = w
            side = 1.0 if want > q else -1.0
            slip = rows[r0 + 3, j]
            pf = fill_price_nb(p, side, slip)
            equity_f = equity + q * (pf - p)
            size, status = order_size_nb(q, w_lev, equity_f, other_gross, pf, fee_rate,
                                         fee_fixed, acfg[0, j], acfg[1, j], max_lev,
                                         acct[A_CASH] if cash_account else np.inf)
            if size == 0.0:
                continue
            if reason != REASON_RISK and acct[A_ORDERS_TODAY] >= cfg[C_MAX_ORDERS_DAY]:
                _event_nb(acct, erec, bar, RULE_MAX_ORDERS_DAY, acct[A_ORDERS_TODAY],
                          ACT_REFUSE, j)
                continue
            if status == 2 and max_lev < leverage:  # capped by a gross limit tighter than leverage
                _event_nb(acct, erec, bar, RULE_MAX_GROSS, (other_gross + abs(want) * p) / equity
                          if equity > 0.0 else np.inf, ACT_CLIP, j)
            pf = fill_price_nb(p, size, slip)
            _fill_nb(bar, cfg, acct, st, ring, orec, j, q, size, pf, p, reason, sizers)
            acct[A_ORDERS_TODAY] += 1.0
    if halt == _FLATTEN_PENDING:
        if acct[A_HALT_DAILY] == 2.0:  # a daily-loss flatten carried into a new day: done
            acct[A_HALT] = 0.0
            acct[A_HALT_DAILY] = 0.0
            _event_nb(acct, erec, bar, RULE_MAX_DAILY_LOSS, 0.0, ACT_RESUME, -1)
        else:
            acct[A_HALT] = ACT_HALT + 1.0


@njit(_nrt=False)
def _fill_nb(bar, cfg, acct, st, ring, orec, j, q, size, pf, p, reason, sizers):
    """Book a fill of ``size`` units of asset j at ``pf`` (cash, fee, position, stop
    references, Kelly trade book) and record it."""
    fee = abs(size) * pf * cfg[C_FEE_RATE] + cfg[C_FEE_FIXED]
    acct[A_CASH] -= size * pf + fee
    new_q = q + size
    if abs(new_q) <= 1e-12 * abs(q):
        new_q = 0.0
    st[S_POS, j] = new_q
    if new_q != 0.0 and (q == 0.0 or (q > 0.0) != (new_q > 0.0) or abs(new_q) > abs(q)):
        st[S_REF, j] = p
        st[S_EXTREME, j] = p
    if ring.shape[0] > 1:
        _book_nb(st, ring, j, q, new_q - q, pf, fee)
    _record_nb(acct, orec, bar, j, size, pf, fee, reason)


@njit(_nrt=False, inline="always")
def _stops_nb(bar, cfg, acct, st, ring, orec, bi, sizers, has_stops, signal_mode, next_open):
    """Stops (intrabar on open/high/low of bar t), then liquidation on the adverse extremes.
    ``has_stops signal_mode next_open`` are :func:`_modes_nb`'s."""
    n_assets = st.shape[1]
    sl, tp, tsl = cfg[C_SL], cfg[C_TP], cfg[C_TSL]
    for j in range(n_assets):
        q = st[S_POS, j]
        if q == 0.0 or not has_stops:
            continue
        o = bi[B_OPEN, j]
        h = bi[B_HIGH, j]
        lo = bi[B_LOW, j]
        fill, why = stop_check_nb(q, st[S_REF, j], st[S_EXTREME, j], sl, tp, tsl, o, h, lo)
        if q > 0.0:
            if h > st[S_EXTREME, j]:
                st[S_EXTREME, j] = h
        else:
            if lo < st[S_EXTREME, j]:
                st[S_EXTREME, j] = lo
        if math.isnan(fill):
            continue
        size = -q
        # slippage known before bar t trades (an ATR-based one at t would use bar t's own
        # high, low and close, which the stop fill cannot know)
        pf = fill_price_nb(fill, size, st[S_PEND_SLIP, j])
        _fill_nb(bar, cfg, acct, st, ring, orec, j, q, size, pf, fill, why, sizers)
        st[S_POS, j] = 0.0
        st[S_STOPPED, j] = bar
        if not signal_mode and not next_open:
            w = bi[B_TARGET, j]
            if not math.isnan(w):
                st[S_LAST_W, j] = w
    mm = cfg[C_MM]
    if mm < 0.0:
        return
    n_open = 0
    last_j = -1
    eq_worst = acct[A_CASH]
    gross_worst = 0.0
    for j in range(n_assets):
        q = st[S_POS, j]
        if q != 0.0:
            n_open += 1
            last_j = j
            wp = bi[B_LOW, j] if q > 0.0 else bi[B_HIGH, j]
            eq_worst += q * wp
            gross_worst += abs(q) * wp
    if n_open == 0 or eq_worst > mm * gross_worst:
        return
    for j in range(n_assets):
        q = st[S_POS, j]
        if q == 0.0:
            continue
        o = bi[B_OPEN, j]
        h = bi[B_HIGH, j]
        lo = bi[B_LOW, j]
        cash = acct[A_CASH]
        if n_open == 1 and j == last_j:
            if q > 0.0:
                den = q * (1.0 - mm)
                fill = -cash / den if den > 0.0 else lo
                if o <= fill:
                    fill = o
            else:
                fill = cash / (-q * (1.0 + mm))
                if o >= fill:
                    fill = o
            fill = min(max(fill, lo), h)
        else:
            fill = lo if q > 0.0 else h
        _fill_nb(bar, cfg, acct, st, ring, orec, j, q, -q, fill, fill, REASON_LIQUIDATION,
                 sizers)
        st[S_POS, j] = 0.0
        st[S_STOPPED, j] = bar
        if not signal_mode and not next_open:
            w = bi[B_TARGET, j]
            if not math.isnan(w):
                st[S_LAST_W, j] = w


@njit(_nrt=False, inline="always")
def _risk_nb(bar, cfg, acct, st, erec, bi):
    """Risk limits on the close mark: drawdown from the peak and loss since the day's open.

    A breach is recorded once (bar, rule, value, action) and sets the halt state; the action
    (``C_ON_BREACH``) is taken at the next fill point. A daily-loss halt lifts at the next day;
    a drawdown halt stays.
    """
    equity = _equity_nb(acct[A_CASH], st, bi)
    if equity > acct[A_PEAK]:
        acct[A_PEAK] = equity
    action = cfg[C_ON_BREACH]
    if acct[A_HALT] != 0.0 and acct[A_HALT_DAILY] == 0.0:
        return  # halted for good
    max_dd = cfg[C_MAX_DRAWDOWN]
    if not math.isnan(max_dd) and acct[A_PEAK] > 0.0:
        dd = 1.0 - equity / acct[A_PEAK]
        if dd >= max_dd:
            _event_nb(acct, erec, bar, RULE_MAX_DRAWDOWN, dd, action, -1)
            _halt_nb(acct, action)
            acct[A_HALT_DAILY] = 0.0
            return
    max_loss = cfg[C_MAX_DAILY_LOSS]
    if not math.isnan(max_loss) and acct[A_HALT] == 0.0 and acct[A_DAY_START] > 0.0:
        loss = 1.0 - equity / acct[A_DAY_START]
        if loss >= max_loss:
            _event_nb(acct, erec, bar, RULE_MAX_DAILY_LOSS, loss, action, -1)
            _halt_nb(acct, action)
            acct[A_HALT_DAILY] = 1.0


@njit(_nrt=False, inline="always")
def _halt_nb(acct, action):
    if action == ACT_FLATTEN:
        acct[A_HALT] = _FLATTEN_PENDING
    else:
        acct[A_HALT] = action + 1.0


@njit(_nrt=False, inline="always")
def _modes_nb(cfg, sizers):
    """The step's switches that are constant for a run (read from ``cfg`` and ``sizers``):
    next-open fills, signal mode, any stop, stops or liquidation, any risk limit, one fixed
    fraction (:func:`_is_fixed_nb`), a rebalance band. A loop over bars computes them once
    (:func:`step_modes_nb`)."""
    has_stops = not (math.isnan(cfg[C_SL]) and math.isnan(cfg[C_TP]) and math.isnan(cfg[C_TSL]))
    return (cfg[C_NEXT_OPEN] != 0.0, cfg[C_SIGNAL] != 0.0, has_stops,
            has_stops or cfg[C_MM] >= 0.0,
            not (math.isnan(cfg[C_MAX_DRAWDOWN]) and math.isnan(cfg[C_MAX_DAILY_LOSS])),
            _is_fixed_nb(cfg, sizers), not math.isnan(cfg[C_REBALANCE]))


@njit(_nrt=False, inline="always")
def step_nb(bar, day, can_decide, cfg, acfg, sizers, acct, st, ring, orec, erec, bi):
    """Advance the account (``acct``, ``st``, ``ring``) over one bar ``bi`` (``B_N``, N); append
    its orders to ``orec`` and its risk events to ``erec``; return the equity at its close.

    ``bar`` is the bar's number (written in the records), ``day`` its calendar day,
    ``can_decide`` whether it may decide orders (warm-up and evaluation window). The rows
    ``B_SCALE`` and ``B_MARK`` of ``bi`` are scratch space. See the module docstring for the
    arrays and the bar timeline. ``orec`` needs room for ``5 * N`` more rows.
    """
    next_open, signal_mode, has_stops, protective, has_risk, fixed, rebalance = _modes_nb(
        cfg, sizers)
    return step_modes_nb(bar, day, can_decide, cfg, acfg, sizers, acct, st, ring, orec, erec,
                         bi, next_open, signal_mode, has_stops, protective, has_risk, fixed,
                         rebalance)


@njit(_nrt=False, inline="always")
def step_modes_nb(bar, day, can_decide, cfg, acfg, sizers, acct, st, ring, orec, erec, bi,
                  next_open, signal_mode, has_stops, protective, has_risk, fixed, rebalance):
    """:func:`step_nb` with its run-constant switches (:func:`_modes_nb`) given, so that a loop
    over bars reads them from ``cfg`` once, not at every bar."""
    n_assets = st.shape[1]
    if day != acct[A_DAY]:
        acct[A_DAY] = day
        acct[A_DAY_START] = acct[A_EQUITY]
        acct[A_ORDERS_TODAY] = 0.0
        if acct[A_HALT_DAILY] != 0.0 and acct[A_HALT] != 0.0:
            if acct[A_HALT] == _FLATTEN_PENDING:
                acct[A_HALT_DAILY] = 2.0  # flatten at this bar's first fill, then resume
            else:
                acct[A_HALT] = 0.0
                acct[A_HALT_DAILY] = 0.0
                _event_nb(acct, erec, bar, RULE_MAX_DAILY_LOSS, 0.0, ACT_RESUME, -1)
    # ---- the open: orders decided at the previous bar (next-open mode) --------------------
    if next_open and (acct[A_PEND_OK] != 0.0 or acct[A_HALT] == _FLATTEN_PENDING):
        for j in range(n_assets):
            bi[B_MARK, j] = bi[B_OPEN, j]
        _orders_nb(bar, cfg, acfg, sizers, acct, st, ring, orec, erec, bi, st, S_PEND_W)
    # ---- intrabar: stops, then liquidation ---------------------------------------------------
    if protective:
        _stops_nb(bar, cfg, acct, st, ring, orec, bi, sizers, has_stops, signal_mode, next_open)
    # ---- the close: risk limits on the mark, then orders decided now (close mode) ---------------
    for j in range(n_assets):
        bi[B_MARK, j] = bi[B_CLOSE, j]
    if has_risk:
        _risk_nb(bar, cfg, acct, st, erec, bi)
    if can_decide and not fixed:  # (one fixed fraction reads no scale)
        for j in range(n_assets):
            w = bi[B_TARGET, j]
            scale = 0.0
            if not math.isnan(w):
                # the sizer at the decision bar (Kelly's zero-size reasons counted on new targets)
                scale = sizer_exposure_nb(cfg, sizers, st, ring, bi, j, acct,
                                          w != 0.0 and w != st[S_LAST_W, j])
            bi[B_SCALE, j] = scale
    elif not can_decide:
        for j in range(n_assets):
            bi[B_SCALE, j] = 0.0
    if not next_open and ((can_decide
                           and _may_trade_modes_nb(st, bi, B_TARGET, signal_mode, rebalance))
                          or acct[A_HALT] == _FLATTEN_PENDING):
        _orders_nb(bar, cfg, acfg, sizers, acct, st, ring, orec, erec, bi, bi, B_TARGET)
    # ---- end of bar: funding and borrow on the close value, the mark, and the decision kept
    # ---- for the next open (with the slippage its stops will use) ----------------------------
    cash = acct[A_CASH]
    for j in range(n_assets):
        q = st[S_POS, j]
        if q != 0.0:
            v = q * bi[B_CLOSE, j]
            cash -= v * bi[B_FUNDING, j]
            if q < 0.0:
                cash -= -v * bi[B_BORROW, j]
        st[S_PEND_SLIP, j] = bi[B_SLIP, j]
        if next_open:
            st[S_PEND_W, j] = bi[B_TARGET, j]
            st[S_PEND_FLAGS, j] = bi[B_FLAGS, j]
            st[S_PEND_SCALE, j] = bi[B_SCALE, j]
    acct[A_CASH] = cash
    equity = _equity_nb(cash, st, bi)
    acct[A_EQUITY] = equity
    acct[A_PEND_OK] = 1.0 if (next_open and can_decide
                              and _may_trade_modes_nb(st, st, S_PEND_W, signal_mode,
                                                      rebalance)) else 0.0
    acct[A_BAR] += 1.0
    return equity


@njit(_nrt=False, inline="always")
def load_row_nb(bi, r, a, t):
    """``bi[r, :] = a[t, :]`` with length-1 axes of the 2-D ``a`` broadcast."""
    for j in range(bi.shape[1]):
        bi[r, j] = flex_nb(a, t, j)


@njit(_nrt=False, inline="always")
def load_bar_nb(bi, t, open_, high, low, close, target, flags, slip, funding, borrow, sin,
                with_sin):
    """Copy row ``t`` of the per-bar input arrays into ``bi`` (length-1 axes broadcast; the
    sizer inputs only when ``with_sin``: a fixed fraction does not read them)."""
    load_row_nb(bi, B_OPEN, open_, t)
    load_row_nb(bi, B_HIGH, high, t)
    load_row_nb(bi, B_LOW, low, t)
    load_row_nb(bi, B_CLOSE, close, t)
    load_row_nb(bi, B_TARGET, target, t)
    load_row_nb(bi, B_FLAGS, flags, t)
    load_row_nb(bi, B_SLIP, slip, t)
    load_row_nb(bi, B_FUNDING, funding, t)
    load_row_nb(bi, B_BORROW, borrow, t)
    if with_sin:
        for j in range(bi.shape[1]):
            for r in range(IN_N):
                bi[B_SIN + r, j] = flex3_nb(sin, r, t, j)

"""``Account``: the decision step one bar at a time, for the live runner and for inspection.

The same compiled step (:func:`quantlab.backtest.step.step_nb`) that ``backtest()`` loops
over: fed the same bars, targets and inputs, an account sends the same orders at the same
prices and ends each bar with the same cash, positions and equity, bit for bit.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from quantlab._validate import check_float, check_int, message
from quantlab.backtest import step as S
from quantlab.backtest.config import BacktestConfig
from quantlab.backtest.sizers import _INPUT_NAMES, kelly_message
from quantlab.errors import InvalidParameterError, SizingWarning

__all__ = ["Account", "Fill"]

_ORDER_COLUMNS = ["bar", "time", "symbol", "side", "size", "price", "fee", "reason"]


class Fill(NamedTuple):
    """One order filled by :meth:`Account.step`."""

    bar: int
    time: Any
    symbol: str
    side: str
    """"buy" or "sell"."""
    size: float
    """Units (> 0)."""
    price: float
    """Fill price, slippage included."""
    fee: float
    reason: str
    """signal, rebalance, stop_loss, take_profit, trailing_stop, liquidation, risk."""

_EVENT_COLUMNS = ["bar", "time", "rule", "value", "action", "symbol"]


class Account:
    """A trading account stepped one bar at a time through the one decision step.

    Parameters
    ----------
    config : BacktestConfig, optional
        The settings (costs, fills, stops, margin, sizer, risk limits), as for
        :func:`quantlab.backtest`; keyword ``options`` override its fields.
    symbols : sequence of str, default ("asset",)
    signal_mode : bool, default False
        Targets are entry/exit signals (vectorbt semantics) instead of exposures.
    periods_per_year : float, default 252
        Annualizes ``VolTarget``'s volatility input.
    warmup : int, default 0
        Bars stepped before the first decision.
    **options
        Flat options of :class:`~quantlab.backtest.config.BacktestConfig`.

    Examples
    --------
    >>> acc = Account(fee_bps=10, fill="close")
    >>> [f.side for f in acc.step(open=100.0, high=101.0, low=99.0, close=100.0, target=1.0)]
    ['buy']
    >>> round(acc.equity, 2)
    99900.1
    """

    def __init__(self, config: BacktestConfig | None = None, *, symbols: Any = ("asset",),
                 signal_mode: bool = False, periods_per_year: float = 252.0, warmup: int = 0,
                 **options: Any) -> None:
        caller = "Account"
        if config is not None and not isinstance(config, BacktestConfig):
            raise InvalidParameterError(message("config", caller, "a BacktestConfig or None",
                                                type(config).__name__))
        self.config = (config or BacktestConfig()).replace(caller=caller, **options)
        if callable(self.config.sizing.size) and not hasattr(self.config.sizing.size, "rows"):
            raise InvalidParameterError(message(
                "size", caller, "a fraction or a built-in sizer", "a pandas sizer callable",
                "A pandas sizer needs the whole history; use a built-in sizer live."))
        if self.config.costs.slippage_atr > 0:
            raise InvalidParameterError(message(
                "slippage_atr", caller, "0 (pass the bar's slippage to step())",
                self.config.costs.slippage_atr))
        self.symbols = [str(s) for s in ([symbols] if isinstance(symbols, str) else symbols)]
        if not self.symbols:
            raise InvalidParameterError(message("symbols", caller, "at least one symbol", []))
        self.warmup = check_int("warmup", warmup, caller=caller, minimum=0)
        ppy = check_float("periods_per_year", periods_per_year, caller=caller, minimum=0.0,
                          exclusive_minimum=True)
        self._cfg, self._acfg, self._sizers, ring = self.config.kernel_arrays(
            signal_mode=bool(signal_mode), symbols=self.symbols, periods_per_year=ppy,
            caller=caller)
        n = len(self.symbols)
        self._acct, self._st, self._ring = S.new_state(n, self.config.execution.init_cash, ring)
        self._bi = np.full((S.B_N, n), np.nan)
        self._orec = np.empty((5 * n + 16, 6))
        self._erec = np.empty((4 * n + 16, 5))
        self._fixed_slip = self.config.costs.slippage_bps / 1e4
        self._funding = self._per_bar_constant(self.config.costs.funding_bps, "funding_bps")
        self._borrow = self._per_bar_constant(self.config.costs.borrow_bps, "borrow_bps")
        self._orders: list[Fill] = []
        self._events: list[list[Any]] = []
        self._kelly_seen = 0.0

    @staticmethod
    def _per_bar_constant(value: Any, name: str) -> float:
        if hasattr(value, "to_numpy"):
            raise InvalidParameterError(message(name, "Account", "a number (bps per bar)",
                                                f"a {type(value).__name__}",
                                                f"Pass the bar's value to step({name[:-4]}=...)."))
        return float(value) / 1e4

    # ---- one bar ---------------------------------------------------------------------
    def step(self, *, open: Any, high: Any, low: Any, close: Any, target: Any = math.nan,
             exit_flags: Any = 0, slippage: Any = None, funding: Any = None,
             borrow: Any = None, sizer_inputs: dict[str, Any] | None = None,
             time: Any = None, day: int | None = None) -> list[Fill]:
        """Advance one bar; return the orders filled during it.

        Parameters
        ----------
        open, high, low, close : float or sequence (one per symbol)
            The bar, complete (the step fills pending next-open orders at ``open``, checks
            stops on ``high``/``low``, marks and decides at ``close``).
        target : float or sequence, default NaN
            Raw target exposure decided at this bar's close (NaN = hold); in signal mode a
            non-zero value is an entry of that side.
        exit_flags : int or sequence, default 0 - signal mode: bit 1 closes a long, bit 2 a short.
        slippage : float or sequence, optional - fractional slippage known at this bar
            (default: ``slippage_bps`` of the config).
        funding, borrow : float or sequence, optional - fractions of position value for this
            bar (default: the config's bps / 1e4).
        sizer_inputs : dict, optional - this bar's sizer inputs (``vol``, ``atr``, ``var``,
            ``edge_mean``, ``edge_var``, ``edge_n``).
        time : timestamp, optional - recorded with the orders (default: the bar number).
        day : int, optional - calendar day for the daily limits (default: from ``time``).

        Returns
        -------
        list of Fill
            ``(bar, time, symbol, side, size (> 0), price, fee, reason)`` of this bar's fills
            (all of them: :attr:`orders`).
        """
        bi = self._bi
        bi[S.B_OPEN] = open
        bi[S.B_HIGH] = high
        bi[S.B_LOW] = low
        bi[S.B_CLOSE] = close
        bi[S.B_TARGET] = target
        bi[S.B_FLAGS] = exit_flags
        bi[S.B_SLIP] = self._fixed_slip if slippage is None else slippage
        bi[S.B_FUNDING] = self._funding if funding is None else funding
        bi[S.B_BORROW] = self._borrow if borrow is None else borrow
        bi[S.B_SIN:] = np.nan
        for name, value in (sizer_inputs or {}).items():
            if name not in _INPUT_NAMES:
                raise InvalidParameterError(message("sizer_inputs", "Account.step",
                                                    f"keys among {sorted(_INPUT_NAMES)}", name))
            bi[S.B_SIN + _INPUT_NAMES[name]] = value
        return self.step_row(bi, time=time, day=day)

    def step_row(self, bi: np.ndarray, *, time: Any = None, day: int | None = None,
                 can_decide: bool | None = None) -> list[Fill]:
        """:meth:`step` with the bar already laid out as the step's ``(B_N, N)`` rows (see
        :mod:`quantlab.backtest.step`); the fastest way to replay history."""
        bar = int(self._acct[S.A_BAR])
        if day is None:
            day = 0 if time is None else int(pd.Timestamp(time).value // 86_400_000_000_000)
        if can_decide is None:
            can_decide = bar >= self.warmup
        acct = self._acct
        acct[S.A_N_ORDERS] = 0.0
        acct[S.A_N_EVENTS] = 0.0
        S.step_nb(bar, day, can_decide, self._cfg, self._acfg, self._sizers, acct, self._st,
                  self._ring, self._orec, self._erec, bi)
        stamp = bar if time is None else time
        n, m = int(acct[S.A_N_ORDERS]), int(acct[S.A_N_EVENTS])
        fills = [Fill(bar, stamp, self.symbols[int(r[1])], "buy" if r[2] > 0 else "sell",
                      float(abs(r[2])), float(r[3]), float(r[4]), S.REASONS[int(r[5])])
                 for r in self._orec[:n]] if n else []
        self._orders.extend(fills)
        for r in self._erec[:m] if m else ():
            self._events.append([bar, stamp, S.RULES[int(r[1])], float(r[2]),
                                 S.ACTIONS[int(r[3])], "" if r[4] < 0 else self.symbols[int(r[4])]])
        kelly = acct[S.A_KELLY_NAN] + acct[S.A_KELLY_ZERO_VAR] + acct[S.A_KELLY_NEGATIVE] + \
            acct[S.A_KELLY_FEW]
        if kelly > self._kelly_seen:
            self._kelly_seen = kelly
            warnings.warn(kelly_message(acct, "Account.step"), SizingWarning, stacklevel=2)
        return fills

    # ---- state -----------------------------------------------------------------------
    @property
    def cash(self) -> float:
        """Cash balance (short proceeds included)."""
        return float(self._acct[S.A_CASH])

    @property
    def equity(self) -> float:
        """Equity at the last bar's close (after funding)."""
        return float(self._acct[S.A_EQUITY])

    @property
    def positions(self) -> pd.Series:
        """Units held per symbol (negative = short)."""
        return pd.Series(self._st[S.S_POS].copy(), index=self.symbols, name="position")

    @property
    def halted(self) -> str | None:
        """None while trading; else ``"reduce_only"``, ``"halt"`` or ``"flatten"`` (pending)."""
        state = self._acct[S.A_HALT]
        return {0.0: None, 2.0: "reduce_only", 3.0: "halt", 4.0: "flatten"}.get(float(state),
                                                                                "halt")

    @property
    def orders(self) -> pd.DataFrame:
        """Every order filled so far."""
        return pd.DataFrame(self._orders, columns=_ORDER_COLUMNS)

    @property
    def risk_events(self) -> pd.DataFrame:
        """Every risk-limit event so far (bar, time, rule, value, action, symbol)."""
        return pd.DataFrame(self._events, columns=_EVENT_COLUMNS)

    @property
    def bars(self) -> int:
        """Bars stepped."""
        return int(self._acct[S.A_BAR])

    def state(self) -> dict[str, Any]:
        """The account's raw state arrays (copies), e.g. to journal or restore.

        ``bi`` is the step's row of the last bar's inputs: the step reads some of it back at
        the next bar (the sized scale of a pending decision), so a restored account steps on
        bit for bit like one that never stopped.
        """
        return {"acct": self._acct.copy(), "st": self._st.copy(), "ring": self._ring.copy(),
                "bi": self._bi.copy()}

    def restore(self, state: dict[str, Any]) -> None:
        """Restore arrays saved by :meth:`state` (same config and symbols)."""
        for key, own in (("acct", self._acct), ("st", self._st), ("ring", self._ring),
                         ("bi", self._bi)):
            arr = np.asarray(state[key], dtype=np.float64)
            if arr.shape != own.shape:
                raise InvalidParameterError(message(f"state[{key!r}]", "Account.restore",
                                                    f"shape {own.shape}", arr.shape))
            own[...] = arr

    def book_fill(self, symbol: str, units: float, price: float, fee: float = 0.0, *,
                  mark: Any = None, forget_target: bool = True) -> None:
        """Book a fill the step did not decide (the live runner's shutdown flatten).

        Cash pays ``units * price + fee``; the position moves by ``units`` (signed). A position
        that closes also forgets its target, pending decision and trade book, as a close
        decided by the step would (``forget_target=False`` keeps the target: the live runner
        voiding an order the venue refused, so the step does not decide it again until the
        target changes). ``mark`` (a close per symbol; default 0) revalues the equity.
        """
        caller = "Account.book_fill"
        if symbol not in self.symbols:
            raise InvalidParameterError(message("symbol", caller, f"one of {self.symbols}",
                                                symbol))
        for name, value in (("units", units), ("price", price), ("fee", fee)):
            if not np.isfinite(value):
                raise InvalidParameterError(message(name, caller, "a finite number", value))
        j = self.symbols.index(symbol)
        st, acct = self._st, self._acct
        st[S.S_POS, j] += units
        acct[S.A_CASH] -= units * price + fee
        if abs(st[S.S_POS, j]) <= 1e-9:  # closed (float dust of the fills)
            st[S.S_POS, j] = 0.0
            st[[S.S_E_SIZE, S.S_E_GROSS, S.S_E_FEES], j] = 0.0
            if forget_target:
                st[S.S_LAST_W, j] = 0.0
                st[S.S_PEND_W, j] = np.nan
        marks = np.zeros(len(self.symbols)) if mark is None else np.asarray(mark, np.float64)
        acct[S.A_EQUITY] = acct[S.A_CASH] + float(np.dot(st[S.S_POS], marks))

    def __repr__(self) -> str:
        pos = ", ".join(f"{s}={q:g}" for s, q in zip(self.symbols, self._st[S.S_POS],
                                                      strict=True))
        return (f"Account(bars={self.bars}, equity={self.equity:,.2f}, cash={self.cash:,.2f}, "
                f"positions: {pos}, halted={self.halted})")

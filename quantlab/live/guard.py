"""The guard: trading state ACTIVE / REDUCING / HALTED, the kill switch and the breakers.

The decision step already enforces the :class:`~quantlab.backtest.config.RiskLimits` of the
config (daily loss, drawdown, order count, position caps), exactly as in the backtest; the
guard mirrors its state and adds what only a live process needs:

* a **kill switch**: ``quantlab live halt`` (a ``halt`` row in the journal), a halt file, or
  SIGTERM with ``shutdown.on_sigterm: halt``;
* a **persisted latch**: a halt (kill switch, drawdown breach, order-rate breaker, an error)
  is journaled and holds across restarts until ``quantlab live resume``;
* an **order-rate breaker** on bars (``max_orders_per_window`` per ``rate_window_bars``);
* **fail closed**: an exception inside the guard latches a halt; it never lets trading go on.

While the guard's latch holds, only exits go out: a target that would open or grow a position
is held (NaN); a target of 0 (close) passes, and stops keep working inside the step.
"""

from __future__ import annotations

import math
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from quantlab.live.journal import Journal

__all__ = ["Guard", "ACTIVE", "REDUCING", "HALTED", "reduce_only_target"]

ACTIVE, REDUCING, HALTED = "ACTIVE", "REDUCING", "HALTED"


def reduce_only_target(target: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Keep only targets that close positions (0 where a position is held); others -> NaN."""
    out = np.full_like(np.asarray(target, dtype=np.float64), np.nan)
    for j, (t, p) in enumerate(zip(target, positions, strict=True)):
        if p != 0.0 and not math.isnan(t) and (t == 0.0 or np.sign(t) != np.sign(p)):
            out[j] = 0.0
    return out


class Guard:
    """Trading state and kill switch of one run.

    Parameters
    ----------
    journal : Journal - where the latch lives.
    halt_file : path, optional - its existence latches a halt.
    max_orders_per_window : int, optional - orders allowed per ``rate_window_bars`` bars.
    rate_window_bars : int, default 1
    """

    def __init__(self, journal: Journal, *, halt_file: str | Path | None = None,
                 max_orders_per_window: int | None = None, rate_window_bars: int = 1) -> None:
        self.journal = journal
        self.halt_file = None if halt_file is None else Path(halt_file)
        self.max_orders = max_orders_per_window
        self._recent: deque[int] = deque(maxlen=max(int(rate_window_bars), 1))
        self.latch: tuple[str, str] | None = journal.latched()
        self._data_version: Any = None
        self.account_state: str | None = None

    @property
    def state(self) -> str:
        """ACTIVE, REDUCING or HALTED (the guard's latch or the step's breach state)."""
        if self.latch is not None or self.account_state in ("halt", "flatten"):
            return HALTED
        if self.account_state == "reduce_only":
            return REDUCING
        return ACTIVE

    def _latch(self, source: str, reason: str) -> None:
        self.latch = (source, reason)  # halted in memory even if the journal fails
        self.journal.latch(reason, source)  # the halt and its alert: one transaction

    def before_bar(self) -> None:
        """Read the kill switches (journal latch, halt file); any error halts."""
        try:
            # another connection (quantlab live halt/resume) committed: read the latch again
            version = self.journal.conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._data_version = version
                self.latch = self.journal.latched()
            if self.latch is None and self.halt_file is not None and self.halt_file.exists():
                reason = self.halt_file.read_text().strip() or "halt file present"
                self._latch("file", f"{self.halt_file}: {reason}")
        except Exception as exc:  # fail closed: never let trading continue
            self.latch = ("guard", f"guard error: {type(exc).__name__}: {exc}")
            try:
                self._latch("guard", self.latch[1])
            except Exception:  # the journal itself failed: stay halted in memory
                pass

    def filter(self, target: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The target allowed in the current state (reduce-only while the latch holds)."""
        try:
            if self.max_orders is not None and \
                    sum(self._recent) + 2 * len(target) > self.max_orders:
                # INV-6: this bar's orders (decided last bar, filled at this open) and the
                # next bar's (decided now) would not fit the window's budget: nothing goes
                # out, exits included, until older bars leave the window
                return np.full_like(np.asarray(target, dtype=np.float64), np.nan)
            if self.latch is not None:
                return reduce_only_target(target, positions)
            return target
        except Exception as exc:
            self._latch("guard", f"guard error: {type(exc).__name__}: {exc}")
            return np.full_like(np.asarray(target, dtype=np.float64), np.nan)

    def after_bar(self, account_halted: str | None, n_orders: int,
                  events: list[tuple[str, str]]) -> None:
        """Update from the step: its breach state, the bar's orders and risk events."""
        try:
            self.account_state = account_halted
            for rule, action in events:
                if rule == "max_drawdown" and self.latch is None:
                    self._latch("drawdown", f"drawdown limit breached ({action})")
            self._recent.append(int(n_orders))
            if self.max_orders is not None and sum(self._recent) >= self.max_orders \
                    and self.latch is None:
                self._latch("order_rate", f"{sum(self._recent)} orders in the last "
                                          f"{self._recent.maxlen} bar(s): the budget of "
                                          f"{self.max_orders} is spent")
        except Exception as exc:
            self.latch = ("guard", f"guard error: {type(exc).__name__}: {exc}")
            try:
                self._latch("guard", self.latch[1])
            except Exception:
                pass

    def describe(self) -> dict[str, Any]:
        return {"state": self.state, "latch": self.latch, "account": self.account_state}

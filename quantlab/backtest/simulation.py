"""A config and a data set, ready for the decision step: the arrays ``backtest()`` and
``sweep()`` both hand to :func:`~quantlab.backtest.kernels.run_nb`, and the evaluation
window they simulate.

The evaluation window ``[start, end]`` works as arch's ``first_obs`` / ``last_obs``: the
strategy and every per-bar input (indicators, ATR slippage, sizer inputs) are computed on all
the data given, and the account trades and counts statistics only inside the window. The
first bar of the window starts flat with ``init_cash``; no order is decided before it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab import indicators as ind
from quantlab._validate import check_choice, check_timestamp, message
from quantlab.backtest import step as S
from quantlab.backtest.config import BacktestConfig
from quantlab.backtest.kernels import run_nb
from quantlab.backtest.sizers import _INPUT_NAMES, kelly_message, sizer_inputs
from quantlab.errors import DataError, InvalidParameterError, SizingWarning

__all__ = ["Simulation", "prepare_simulation", "window_bounds"]


@dataclass(frozen=True, eq=False)
class Simulation:
    """Everything the decision step needs besides the targets (see :func:`prepare_simulation`)."""

    config: BacktestConfig
    index: pd.DatetimeIndex
    symbols: list[str]
    prices: dict[str, np.ndarray]
    cfg: np.ndarray
    acfg: np.ndarray
    sizers: np.ndarray
    ring_size: int
    slip: np.ndarray
    funding: np.ndarray
    borrow: np.ndarray
    day: np.ndarray
    t0: int
    t1: int
    periods_per_year: float
    caller: str

    def sizer_inputs(self, target: np.ndarray,
                     overrides: dict[str, Any] | None = None) -> np.ndarray:
        """Per-bar sizer inputs ``(IN_N, T, N)`` for raw targets ``target`` (T, N) over all
        the data; ``overrides`` maps input names (``vol``, ``atr``, ``var``, ``edge_mean``,
        ``edge_var``, ``edge_n``) to Series/DataFrames aligned with the data."""
        aligned = {}
        for name, value in (overrides or {}).items():
            if name not in _INPUT_NAMES:
                check_choice("sizer_inputs", name, sorted(_INPUT_NAMES), caller=self.caller)
            aligned[name] = _per_bar_array(f"sizer_inputs[{name!r}]", value, self.index,
                                           self.symbols, self.caller, signed=True,
                                           allow_nan=True)
        return sizer_inputs(self.config.sizing.size, self.prices, target, aligned)

    def in_window(self, x: np.ndarray, axis: int = 0) -> np.ndarray:
        """``x`` cut to the window's bars along ``axis`` (time), C-contiguous; an input
        constant over time (length-1 time axis) is returned as it is (broadcast)."""
        if x.shape[axis] == 1:
            return x
        window = slice(self.t0, self.t1 + 1)
        return np.ascontiguousarray(x[window] if axis == 0 else x[:, window])

    def run(self, target: np.ndarray, flags: np.ndarray, warmup: int,
            sin: np.ndarray) -> tuple[np.ndarray, ...]:
        """Run the step over the window: ``(cash, positions, equity, orders (n, 6), events
        (m, 5), account)`` for bars ``t0 .. t1`` (bar numbers in the records count from t0).
        Warns (:class:`SizingWarning`) when Kelly sized decisions at 0."""
        rows = self.in_window
        p = self.prices
        out = run_nb(self.cfg, self.acfg, self.sizers, rows(p["open"]), rows(p["high"]),
                     rows(p["low"]), rows(p["close"]), rows(np.ascontiguousarray(target)),
                     rows(flags), rows(self.slip), rows(self.funding), rows(self.borrow),
                     rows(sin, 1), rows(self.day), max(0, int(warmup) - self.t0),
                     self.ring_size)
        acct = out[5]
        if acct[S.A_KELLY_NAN:S.A_KELLY_FEW + 1].any():
            warnings.warn(kelly_message(acct, self.caller), SizingWarning, stacklevel=3)
        return out


def prepare_simulation(config: BacktestConfig, frame: pd.DataFrame, symbols: list[str],
                       prices: dict[str, np.ndarray], *, signal_mode: bool = False,
                       start: Any = None, end: Any = None,
                       periods_per_year: float | None = None,
                       caller: str = "backtest") -> Simulation:
    """The step's arrays for ``config`` on validated data (``engine._prepare_data``)."""
    from quantlab.backtest.result import _infer_ppy

    index = frame.index
    t0, t1 = window_bounds(index, start, end, caller=caller)
    ppy = periods_per_year or config.periods_per_year or _infer_ppy(index)
    co = config.costs
    cfg, acfg, sizers, ring = config.kernel_arrays(signal_mode=signal_mode, symbols=symbols,
                                                   periods_per_year=float(ppy), caller=caller)
    if co.slippage_atr > 0:
        atr = ind.atr(prices["high"], prices["low"], prices["close"], co.atr_window)
        slip = np.nan_to_num(co.slippage_atr * atr / prices["close"], nan=0.0)
    else:
        slip = np.full((1, 1), co.slippage_bps / 1e4)
    lim = config.limits
    if lim.max_daily_loss is not None or lim.max_orders_per_day is not None:
        # UTC calendar days, whatever the index's unit (pandas 3 builds microsecond indexes)
        day = (index.as_unit("ns").asi8 // 86_400_000_000_000).astype(np.int64)
    else:
        day = np.zeros(1, dtype=np.int64)
    funding = _per_bar_array("funding_bps", co.funding_bps, index, symbols, caller, signed=True)
    borrow = _per_bar_array("borrow_bps", co.borrow_bps, index, symbols, caller, signed=False)
    return Simulation(config, index, symbols, prices, cfg, acfg, sizers, ring,
                      np.ascontiguousarray(slip), funding / 1e4, borrow / 1e4, day, t0, t1,
                      float(ppy), caller)


def window_bounds(index: pd.DatetimeIndex, start: Any, end: Any, *,
                  caller: str = "backtest") -> tuple[int, int]:
    """Positions ``(t0, t1)`` of the first and last bar in ``[start, end]`` (inclusive).

    Raises
    ------
    InvalidParameterError
        ``start`` after ``end``, or a window holding fewer than 2 bars (the message names the
        data's range).
    """
    t0, t1 = 0, len(index) - 1
    ts_start = ts_end = None
    if start is not None:
        ts_start = check_timestamp("start", start, caller=caller)
        t0 = int(index.searchsorted(ts_start.as_unit(index.unit), side="left"))
    if end is not None:
        ts_end = check_timestamp("end", end, caller=caller)
        t1 = int(index.searchsorted(ts_end.as_unit(index.unit), side="right")) - 1
    if t1 - t0 + 1 >= 2 and (ts_start is None or ts_end is None or ts_start <= ts_end):
        return t0, t1
    first, last = index[0], index[-1]
    rng = f"the data runs {first} .. {last}"
    if ts_start is not None and ts_end is not None and ts_start > ts_end:
        raise InvalidParameterError(message("start", caller, f"<= end ({ts_end})", ts_start,
                                            f"Swap them; {rng}."))
    if t1 - t0 + 1 < 2:
        name = "start" if start is not None else "end"
        raise InvalidParameterError(message(
            name, caller, "a window holding at least 2 bars", f"{max(t1 - t0 + 1, 0)} bars "
            f"in [{ts_start or first}, {ts_end or last}]", f"Pick dates inside it: {rng}."))
    return t0, t1


def _per_bar_array(name: str, value: Any, index: pd.Index, symbols: list[str], caller: str, *,
                   signed: bool, allow_nan: bool = False) -> np.ndarray:
    """A scalar -> (1, 1); a Series (one symbol) / DataFrame (columns = symbols) aligned with
    the data -> (T, 1) / (T, N)."""
    if isinstance(value, pd.Series | pd.DataFrame):
        if not value.index.equals(index):
            raise DataError(message(name, caller, "indexed like `data`", "another index",
                                    "Align it with .reindex(data.index)."))
        if isinstance(value, pd.Series):
            arr = value.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
        elif value.shape[1] == 1 and len(symbols) == 1:
            arr = value.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            missing = [s for s in symbols if s not in value.columns]
            if missing:
                raise DataError(message(name, caller, f"one column per symbol {symbols}",
                                        f"missing {missing}"))
            arr = value[symbols].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(arr) if not allow_nan else np.isinf(arr)
        if bad.any() or (not signed and (np.nan_to_num(arr) < 0).any()):
            raise DataError(message(name, caller, "finite" + ("" if signed else " and >= 0"),
                                    "NaN, infinite or negative values", "Fill them with 0."))
        return np.ascontiguousarray(arr)
    return np.full((1, 1), float(value))

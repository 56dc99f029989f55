"""``backtest()``: config + data -> :class:`~quantlab.backtest.simulation.Simulation` ->
the decision step over every bar (:func:`~quantlab.backtest.kernels.run_nb`) -> wrap."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import njit
from quantlab._validate import check_int, check_ohlcv, check_options, message, ohlcv_arrays
from quantlab.backtest import kernels as K
from quantlab.backtest.config import OPTION_PARTS, BacktestConfig
from quantlab.backtest.result import BacktestResult
from quantlab.backtest.simulation import prepare_simulation
from quantlab.backtest.sizers import FixedFraction, _Kernel, apply_sizer
from quantlab.errors import DataError, InvalidParameterError, WarmupWarning
from quantlab.strategy.base import as_exposure, check_instance

__all__ = ["backtest", "OPTIONS", "UNSET"]

_CALLER = "backtest"
_PRICES = ("open", "high", "low", "close")


class _Unset:
    """The default of backtest()'s keyword options: "take it from ``config``"."""

    def __repr__(self) -> str:
        return "<from config>"


UNSET: Any = _Unset()
#: The flat simulation options (``BacktestConfig`` fields) ``backtest()`` and ``sweep()`` take.
OPTIONS: tuple[str, ...] = tuple(OPTION_PARTS) + ("warmup", "periods_per_year")


def backtest(data: pd.DataFrame, strategy_or_signals: Any = None, /,
             config: BacktestConfig | None = None, *,
             fill: str = UNSET, init_cash: float = UNSET, fee_bps: float = UNSET,
             fee_fixed: float = UNSET, slippage_bps: float = UNSET, slippage_atr: float = UNSET,
             atr_window: int = UNSET, size: Any = UNSET, rebalance_threshold: float | None = UNSET,
             leverage: float = UNSET, maintenance_margin: float | None = UNSET,
             sl_stop: float | None = UNSET, tp_stop: float | None = UNSET,
             tsl_stop: float | None = UNSET, lot_size: Any = UNSET, min_notional: Any = UNSET,
             funding_bps: Any = UNSET, borrow_bps: Any = UNSET,
             max_position: float | None = UNSET, max_gross_leverage: float | None = UNSET,
             max_daily_loss: float | None = UNSET, max_drawdown: float | None = UNSET,
             max_orders_per_day: int | None = UNSET, on_breach: str = UNSET,
             warmup: int | None = UNSET, direction: str = UNSET,
             periods_per_year: float | None = UNSET, drift_threshold: float | None = UNSET,
             start: Any = None, end: Any = None, sizer_inputs: dict[str, Any] | None = None,
             entries: Any = None, exits: Any = None, short_entries: Any = None,
             short_exits: Any = None, **unknown: Any) -> BacktestResult:
    """Simulate a strategy, target exposures or entry/exit signals on OHLCV bars.

    Every order goes through the one decision step (:mod:`quantlab.backtest.step`), the same
    the sweep, walk-forward and the live :class:`~quantlab.backtest.Account` take.

    Parameters
    ----------
    data : DataFrame
        Normalized OHLCV (one asset) or a frame with (field, symbol) MultiIndex columns
        (several assets sharing one cash account). Prices must be finite and > 0.
    strategy_or_signals : Strategy, Series, DataFrame, tuple or dict
        * a strategy instance (anything with ``.signal(data)`` and ``.warmup``): its target
          exposure (a boolean signal reads True = 1, long, False = 0, flat);
        * a Series (one asset) / DataFrame (columns = symbols) of target exposures in
          [-1, 1], NaN = hold the current position;
        * ``(entries, exits)`` or ``(entries, exits, short_entries, short_exits)`` boolean
          Series/DataFrames, or a dict with those keys (or pass them as keywords).
    config : BacktestConfig, optional
        All settings at once (:mod:`quantlab.backtest.config`); the keyword options below
        override its fields. Each keyword's default is the config's (itself the default
        listed here).
    fill : {"next_open", "close"}, default "next_open"
        A target decided on bar t fills at the open of bar t+1 (sized with equity at that
        open), or at the close of bar t (vectorbt's convention).
    init_cash : float, default 100_000
    fee_bps : float, default 0 - proportional fee, basis points of traded value (< 10 000).
    fee_fixed : float, default 0 - fee per order, cash units.
    slippage_bps : float, default 0 - fill price moved against the order, bps (< 10 000).
    slippage_atr : float, default 0 - ... or by this multiple of ATR(``atr_window``) / close
        (``quantlab.indicators.atr``, known at the decision bar; 0 during its warm-up).
    atr_window : int, default 14
    size : float in (0, 1], "all_in" or sizer, default 1.0 - fraction of equity behind a
        full signal, or a sizer of :mod:`quantlab.backtest.sizers` (``VolTarget``,
        ``AtrRisk``, ``Kelly``, ``VarBudget``, ``combine(...)``) run by the step on the
        account at each decision, or a pandas callable run before the simulation.
    rebalance_threshold : float or None, default None - re-trade an unchanged target when
        the position is off its sized target by more than this fraction of equity (None:
        trade only when the target changes; the size is set then). ``drift_threshold`` is
        its older name.
    leverage : float >= 1, default 1 - a full fixed-fraction signal is ``leverage`` x
        equity; gross exposure is capped at ``leverage`` x equity.
    maintenance_margin : float in [0, 1) or None, default None - liquidation when equity
        falls to this fraction of gross exposure, checked on each bar's adverse extreme and
        filled at the exact liquidation price (one open position) or the adverse extremes.
        None: 0 when ``leverage > 1``; never at ``leverage = 1`` (vectorbt's cash account).
    sl_stop, tp_stop, tsl_stop : float > 0 or None - stop-loss, take-profit, trailing stop
        as fractions of the entry price (0.05 = 5%; trailing: of the best price since
        entry), checked intrabar on high/low; a gap through the level fills at the open.
    lot_size, min_notional : float or {symbol: float}, default 0.
    funding_bps : float, Series or DataFrame, default 0 - per-bar funding, bps of the signed
        position value (longs pay when positive, shorts receive).
    borrow_bps : float, Series or DataFrame, default 0 - per-bar borrow fee on shorts.
    max_position, max_gross_leverage, max_daily_loss, max_drawdown, max_orders_per_day,
    on_breach : risk limits (:class:`~quantlab.backtest.config.RiskLimits`); breaches are
        events in ``result.risk_events`` and counted by ``stats()``.
    warmup : int, optional - no order is decided before this bar (default: the strategy's
        ``warmup``, else 0).
    direction : {"longonly", "shortonly", "both"}, default "longonly" - how ``(entries,
        exits)`` map to sides (vectorbt's ``direction``).
    periods_per_year : float, optional - default inferred from the index.
    start, end : date, optional
        Evaluation window: the strategy and its indicators see all the data, the account
        trades and the statistics count only bars in ``[start, end]`` (arch's
        ``first_obs`` / ``last_obs``). The result covers the window.
    sizer_inputs : dict, optional
        Per-bar sizer inputs replacing the computed ones: ``vol`` (return volatility, e.g.
        a GARCH forecast), ``var`` (one-bar VaR of a unit exposure), ``atr`` (ATR / close),
        ``edge_mean``, ``edge_var``, ``edge_n``; Series/DataFrames aligned with ``data``,
        each value computed from data up to its bar.
    entries, exits, short_entries, short_exits : boolean Series/DataFrames, optional.
    **unknown
        Refused with a did-you-mean (a misspelt option never passes silently).

    Returns
    -------
    BacktestResult

    Raises
    ------
    InvalidParameterError
        An option out of range (naming it, the constraint and the value), an empty window,
        a strategy class instead of an instance (``SmaCross`` for ``SmaCross()``).
    DataError
        Malformed data (NaN or non-positive prices, bad index), signals or targets that do
        not align with the data, targets outside [-1, 1].

    Warns
    -----
    WarmupWarning
        The warm-up covers every bar to the end of the evaluation window: no order can be
        decided (0 trades, undefined ratios).

    Notes
    -----
    **vectorbt mapping.** ``backtest(df, (entries, exits), fill="close", fee_bps=10,
    size="all_in")`` equals ``vbt.Portfolio.from_signals(df.close, entries, exits,
    fees=0.001, open=df.open, high=df.high, low=df.low, init_cash=...)`` (equity, orders and
    trades to float precision; ``result.to_vectorbt()`` builds it): ``fee_bps/1e4 = fees``,
    ``fee_fixed = fixed_fees``, ``slippage_bps/1e4 = slippage``, ``sl_stop = sl_stop``,
    ``tsl_stop = sl_stop`` with ``sl_trail=True``, ``tp_stop = tp_stop``,
    ``direction = direction``; signals behave as ``accumulate=False`` (an entry never
    resizes an open position), conflicting signals on one bar are ignored, an opposite
    entry reverses (``upon_opposite_entry='reversereduce'``), a stop exit overrides the
    signals of its bar, stops are measured from the entry bar's close and fill at the
    stop level (``stop_exit_price='stoplimit'``) or the open when gapped through; at
    ``leverage=1`` buys never spend more than the cash held (a bankrupt short is covered
    partially, as in vectorbt). Known difference: quantlab applies slippage to stop fills
    (vectorbt's stop-limit fills have none).

    **Signals vs targets.** Entry/exit signals are events (vectorbt semantics); target
    exposures are states: an order is sent when the target changes (or, with
    ``rebalance_threshold``, when the position drifts off its sized target). After a stop
    exit an unchanged target does not re-enter, and an order refused for its size (no buying
    power, below the lot size or minimum notional, the daily order limit) is not retried
    until the target changes: compare ``positions`` with the targets to see such shortfalls.

    Trades still open after the last bar are valued at the last close with reason
    ``"end"`` and no exit fee (vectorbt's open trades).

    Examples
    --------
    >>> import quantlab as ql  # doctest: +SKIP
    >>> df = ql.data.load("aapl", start="2010", end="2012")  # doctest: +SKIP
    >>> res = backtest(df, ql.strategies.SmaCross(fast=10, slow=30), fee_bps=10,
    ...                size=ql.sizers.VolTarget(0.15), rebalance_threshold=0.1)  # doctest: +SKIP
    """
    if unknown:
        check_options(unknown, list(OPTIONS) + ["start", "end", "sizer_inputs", "config"],
                      caller=_CALLER)
    overrides = {k: v for k, v in locals().items() if k in OPTIONS and v is not UNSET}
    if config is not None and not isinstance(config, BacktestConfig):
        raise InvalidParameterError(message("config", _CALLER, "a BacktestConfig or None",
                                            type(config).__name__,
                                            "Pass options as keywords, e.g. fee_bps=10."))
    cfg = (config or BacktestConfig()).replace(caller=_CALLER, **overrides)
    frame, symbols, prices = _prepare_data(data)
    n_bars, n_assets = prices["close"].shape
    index = frame.index
    signals = {k: v for k, v in (("entries", entries), ("exits", exits),
                                 ("short_entries", short_entries),
                                 ("short_exits", short_exits)) if v is not None}

    # ---- what to simulate ------------------------------------------------------------
    source, warmup_default = _resolve_source(strategy_or_signals, signals, frame)
    warmup_bars = warmup_default if cfg.warmup is None else cfg.warmup
    sizer = cfg.sizing.size
    pandas_sizer = callable(sizer) and not isinstance(sizer, _Kernel)  # runs before the step
    sim = prepare_simulation(cfg, frame, symbols, prices, signal_mode=source[0] == "signals",
                             start=start, end=end, caller=_CALLER)
    if source[0] == "target":
        raw = _align_target(source[1], frame, symbols)
        target_df = pd.DataFrame(raw, index=index, columns=symbols)
        target = raw if not pandas_sizer else apply_sizer(sizer, target_df, data,
                                                              caller=_CALLER)
        flags = np.zeros((1, 1), dtype=np.int8)
        inputs: dict[str, Any] = {"target": target_df}
    else:
        sig = {k: _align_signal(k, v, frame, symbols) for k, v in source[1].items()}
        le, lx, se, sx = _signal_sides(sig, cfg.execution.direction, n_bars, n_assets)
        entry, flags, (le, lx, se, sx) = signal_inputs(le, lx, se, sx)
        target_df = pd.DataFrame(entry, index=index, columns=symbols)
        target = entry if not pandas_sizer else apply_sizer(sizer, target_df, data,
                                                                caller=_CALLER)
        inputs = {"entries": _frame(le, index, symbols), "exits": _frame(lx, index, symbols),
                  "short_entries": _frame(se, index, symbols),
                  "short_exits": _frame(sx, index, symbols)}
    if warmup_bars > sim.t1:  # no bar left to decide at: 0 trades, NaN ratios
        warnings.warn(f"backtest() has {sim.t1 + 1} bars (to {index[sim.t1]}) but a warm-up of "
                      f"{warmup_bars} bars, so no order can be decided: 0 trades and undefined "
                      "ratios. Pass more history or a strategy with a shorter warm-up.",
                      WarmupWarning, stacklevel=2)
    sin = sim.sizer_inputs(np.asarray(target), sizer_inputs)
    out = sim.run(np.ascontiguousarray(target, dtype=np.float64), flags, warmup_bars, sin)
    t0, t1 = sim.t0, sim.t1
    window = slice(t0, t1 + 1)
    if t0 > 0 or t1 < n_bars - 1:
        frame = frame.iloc[window]
        prices = {k: np.ascontiguousarray(v[window]) for k, v in prices.items()}
        inputs = {k: v.iloc[window] for k, v in inputs.items()}
    described = {
        **{k: _describe(v) for k, v in cfg.options().items()},
        "fill": cfg.execution.fill, "init_cash": cfg.execution.init_cash,
        "warmup": warmup_bars, "mode": "signals" if source[0] == "signals" else "target",
        "strategy": _describe_strategy(strategy_or_signals),
        "start": str(frame.index[0]), "end": str(frame.index[-1]),
        "size": _describe(sizer),
    }
    return BacktestResult._build(frame=frame, symbols=symbols, prices=prices, out=out,
                                 config=described, periods_per_year=sim.periods_per_year,
                                 inputs=inputs, single=not isinstance(frame.columns, pd.MultiIndex),
                                 settings=cfg)


# ---- data ------------------------------------------------------------------------------

def _prepare_data(data: Any) -> tuple[pd.DataFrame, list[str], dict[str, np.ndarray]]:
    if not isinstance(data, pd.DataFrame):
        raise DataError(message("data", _CALLER, "a pandas DataFrame of OHLCV bars",
                                type(data).__name__, "Load one with quantlab.data.load()."))
    if isinstance(data.columns, pd.MultiIndex):
        if data.columns.nlevels != 2:
            raise DataError(message("data", _CALLER, "columns of 2 levels (field, symbol)",
                                    f"{data.columns.nlevels} levels"))
        fields = set(data.columns.get_level_values(0))
        missing = [f for f in _PRICES if f not in fields]
        if missing:
            raise DataError(message("data", _CALLER, "a (field, symbol) frame with fields "
                                    f"{list(_PRICES)}", f"missing {missing}",
                                    "Build it with pd.concat({sym: df}, axis=1).swaplevel(axis=1)."))
        symbols = [str(s) for s in data["close"].columns]
        for sym in data["close"].columns:
            sub = pd.DataFrame({f: data[f][sym] for f in _PRICES})
            check_ohlcv(sub, caller=_CALLER, name=f"data[{sym!r}]", columns=_PRICES)
        prices = {f: np.ascontiguousarray(data[f][data["close"].columns].to_numpy(np.float64))
                  for f in _PRICES}
        bars_ok = False  # the consistency check below
    else:
        # the frame and its index first, then the prices in one pass (_bars_ok_nb); when that
        # fails, the checks that name the bad value: check_ohlcv's, the bars' consistency
        columns = ohlcv_arrays(data, caller=_CALLER, columns=_PRICES, check_values=False)
        symbols = [str(data.attrs.get("symbol", "asset"))]
        prices = {f: np.ascontiguousarray(columns[f].reshape(-1, 1)) for f in _PRICES}
        bars_ok = bool(_bars_ok_nb(*(prices[f][:, 0] for f in _PRICES)))  # C-contiguous
        if not bars_ok:
            check_ohlcv(data, caller=_CALLER, columns=_PRICES)
    if len(data) < 2:
        raise DataError(message("data", _CALLER, "at least 2 bars", len(data)))
    bad = None if bars_ok else _inconsistent_bars(prices)
    if bad is not None:
        row = int(np.argwhere(bad)[0][0])
        raise DataError(message("data", _CALLER, "bars with low <= open, close <= high",
                                f"an inconsistent bar at {data.index[row]}",
                                "Repair with quantlab.data.clean()."))
    return data, symbols, prices


@njit
def _bars_ok_nb(open_, high, low, close):  # pragma: no cover - compiled
    """(T,) float64 x 4 -> True when ``0 < low <= open, close <= high < inf`` on every bar
    (NaN fails). Sufficient for :func:`check_ohlcv`'s prices (finite, > 0) and for
    :func:`_inconsistent_bars` (none), which are run when it is False."""
    good = True
    for t in range(open_.shape[0]):
        o, h, lo, c = open_[t], high[t], low[t], close[t]
        good &= (lo > 0.0) & (h < np.inf) & (lo <= o) & (lo <= c) & (o <= h) & (c <= h)
    return good


def _inconsistent_bars(prices: dict[str, np.ndarray]) -> np.ndarray | None:
    """The (T, N) mask of bars with ``high < max(open, close)`` or ``low > min(open, close)``
    (beyond 1e-12 relative), or None when there is none."""
    open_, high, low, close = prices["open"], prices["high"], prices["low"], prices["close"]
    edge = np.maximum(open_, close)
    edge *= 1 - 1e-12
    bad = high < edge
    np.minimum(open_, close, out=edge)
    edge *= 1 + 1e-12
    bad |= low > edge
    return bad if bad.any() else None


# ---- signals and targets -----------------------------------------------------------------

def _is_strategy(obj: Any) -> bool:
    return callable(getattr(obj, "signal", None)) and hasattr(obj, "warmup")


def _resolve_source(obj: Any, sig_opts: dict[str, Any],
                    frame: pd.DataFrame) -> tuple[tuple[str, Any], int]:
    if obj is None:
        if not sig_opts:
            raise InvalidParameterError(message("strategy_or_signals", _CALLER,
                                                "a strategy, target exposures or entry/exit signals",
                                                None, "Pass e.g. backtest(df, (entries, exits))."))
        return ("signals", sig_opts), 0
    if sig_opts:
        raise InvalidParameterError(message("entries", _CALLER,
                                            "omitted when strategy_or_signals is given",
                                            "both", "Pass the signals one way only."))
    check_instance(obj, "strategy_or_signals", caller=_CALLER)  # SmaCross, not SmaCross()
    if _is_strategy(obj):
        warmup = check_int("warmup", obj.warmup, caller=_CALLER, minimum=0)
        return ("target", as_exposure(obj.signal(frame))), warmup  # bool signal: {0, 1}
    if isinstance(obj, tuple | list):
        if len(obj) not in (2, 4):
            raise InvalidParameterError(message("strategy_or_signals", _CALLER,
                                                "(entries, exits) or (entries, exits, "
                                                "short_entries, short_exits)",
                                                f"a {type(obj).__name__} of length {len(obj)}"))
        keys = ("entries", "exits", "short_entries", "short_exits")
        return ("signals", dict(zip(keys, obj))), 0
    if isinstance(obj, Mapping):
        keys = ("entries", "exits", "short_entries", "short_exits")
        unknown = [k for k in obj if k not in keys]
        if unknown:
            check_options({unknown[0]: None}, keys, caller=_CALLER)
        return ("signals", {k: v for k, v in obj.items() if v is not None}), 0
    if isinstance(obj, pd.Series | pd.DataFrame | np.ndarray):
        dtypes = [obj.dtype] if not isinstance(obj, pd.DataFrame) else list(obj.dtypes)
        if all(pd.api.types.is_bool_dtype(d) for d in dtypes):
            raise InvalidParameterError(message(
                "strategy_or_signals", _CALLER, "target exposures (floats) or a tuple of signals",
                "a boolean array", "Pass entries and exits as a tuple: (entries, exits)."))
        return ("target", obj), 0
    raise InvalidParameterError(message("strategy_or_signals", _CALLER,
                                        "a strategy, a Series/DataFrame of target exposures, or "
                                        "(entries, exits)", type(obj).__name__))


def _to_frame(name: str, obj: Any, frame: pd.DataFrame, symbols: list[str]) -> pd.DataFrame:
    if isinstance(obj, np.ndarray):
        if obj.shape[0] != len(frame):
            raise DataError(message(name, _CALLER, f"of length {len(frame)} (one row per bar)",
                                    f"shape {obj.shape}"))
        obj = pd.DataFrame(obj.reshape(len(frame), -1), index=frame.index)
        if obj.shape[1] == len(symbols):
            obj.columns = symbols
    if isinstance(obj, pd.Series):
        if len(symbols) != 1:
            raise DataError(message(name, _CALLER, f"a DataFrame with columns {symbols}",
                                    "a Series", "One column per symbol of the data."))
        obj = obj.to_frame(symbols[0])
    if not isinstance(obj, pd.DataFrame):
        raise DataError(message(name, _CALLER, "a Series, DataFrame or ndarray", type(obj).__name__))
    if not obj.index.equals(frame.index):
        if len(obj) != len(frame):
            raise DataError(f"`{name}` of {_CALLER}() must have the same index as `data`; got "
                            f"{len(obj)} rows vs {len(frame)}. Align them with "
                            ".reindex(data.index).")
        raise DataError(f"`{name}` of {_CALLER}() must have the same index as `data`; the "
                        "indexes differ. Align them with .reindex(data.index).")
    if len(symbols) == 1 and obj.shape[1] == 1:
        obj = obj.set_axis(symbols, axis=1)
    cols = [str(c) for c in obj.columns]
    if sorted(cols) != sorted(symbols):
        raise DataError(message(name, _CALLER, f"columns {symbols} (one per symbol)", cols))
    obj = obj.set_axis(cols, axis=1)
    return obj[symbols]


def _align_target(obj: Any, frame: pd.DataFrame, symbols: list[str]) -> np.ndarray:
    df = _to_frame("target", obj, frame, symbols)
    bad = [c for c in df.columns if not (pd.api.types.is_numeric_dtype(df[c].dtype)
                                         and not pd.api.types.is_bool_dtype(df[c].dtype))]
    if bad:
        raise DataError(message("target", _CALLER, "numeric exposures", f"column(s) {bad} of "
                                f"dtype {df[bad[0]].dtype}"))
    arr = df.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = arr[~np.isnan(arr)]
    if np.isinf(arr).any() or (finite.size and (finite.min() < -1.0 or finite.max() > 1.0)):
        row, col = np.argwhere(np.isinf(arr) | (np.abs(np.nan_to_num(arr)) > 1.0))[0]
        raise DataError(message("target", _CALLER, "an exposure in [-1, 1] (NaN = hold)",
                                f"{arr[row, col]} at {frame.index[row]}",
                                "Use leverage= for more than 1x equity."))
    return arr


def _align_signal(name: str, obj: Any, frame: pd.DataFrame, symbols: list[str]) -> np.ndarray:
    df = _to_frame(name, obj, frame, symbols)
    for c in df.columns:
        dtype = df[c].dtype
        if pd.api.types.is_bool_dtype(dtype):
            if df[c].isna().any():
                raise DataError(message(name, _CALLER, "boolean without missing values",
                                        "NA values", "Fill them with .fillna(False)."))
            continue
        raise DataError(message(name, _CALLER, "boolean", f"dtype {dtype}",
                                "Build it with a comparison, e.g. fast > slow."))
    return df.to_numpy(dtype=bool)


def _signal_sides(sig: dict[str, np.ndarray], direction: str, n: int, m: int):
    false = np.zeros((n, m), dtype=bool)
    entries = sig.get("entries", false)
    exits = sig.get("exits", false)
    short_entries = sig.get("short_entries", false)
    short_exits = sig.get("short_exits", false)
    if "short_entries" in sig or "short_exits" in sig:
        if direction != "longonly":
            raise InvalidParameterError(message("direction", _CALLER,
                                                "'longonly' when short signals are given",
                                                direction))
        return entries, exits, short_entries, short_exits
    if direction == "longonly":
        return entries, exits, false, false
    if direction == "shortonly":
        return false, false, entries, exits
    # both: entries open longs, exits open shorts (vectorbt's Direction.Both)
    return entries, false, exits, false


def signal_inputs(le: np.ndarray, lx: np.ndarray, se: np.ndarray, sx: np.ndarray):
    """Boolean (T, N) signals -> (entry exposure ±1/NaN, int8 exit flags, resolved signals).

    Conflicts are ignored as vectorbt's defaults do: an entry and an exit of the same side
    on one bar cancel, and so do a long and a short entry. The outputs are the ``target``
    and ``exit_flags`` inputs of :func:`~quantlab.backtest.kernels.simulate_nb` in signal
    mode (before the sizer scales the entries).
    """
    both_l = le & lx
    both_s = se & sx
    le, lx = le & ~both_l, lx & ~both_l
    se, sx = se & ~both_s, sx & ~both_s
    clash = le & se
    le, se = le & ~clash, se & ~clash
    entry = np.where(le, 1.0, np.where(se, -1.0, np.nan))
    flags = (lx.astype(np.int8) * K.EXIT_LONG
             + sx.astype(np.int8) * K.EXIT_SHORT).astype(np.int8)
    return entry, flags, (le, lx, se, sx)


def _frame(arr: np.ndarray, index: pd.Index, symbols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(arr, index=index, columns=symbols)


def _describe(value: Any) -> Any:
    if isinstance(value, pd.Series | pd.DataFrame):
        return f"<{type(value).__name__} per bar>"
    if isinstance(value, FixedFraction):
        return value.fraction
    if isinstance(value, _Kernel):
        return value.to_dict()
    if callable(value):
        return f"<{getattr(value, '__name__', type(value).__name__)}>"
    return value


def _describe_strategy(obj: Any) -> Any:
    if _is_strategy(obj):
        params = getattr(obj, "params", None)
        return {"name": type(obj).__name__, "params": dict(params) if params else {}}
    if isinstance(obj, tuple | list | Mapping):
        return "signals"
    return "target" if obj is not None else "signals"

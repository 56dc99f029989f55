"""``backtest()``: validate -> arrays -> :func:`~quantlab.backtest.kernels.simulate_nb` -> wrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantlab import indicators as ind
from quantlab._validate import (
    check_choice,
    check_float,
    check_int,
    check_ohlcv,
    check_options,
    message,
)
from quantlab.backtest import kernels as K
from quantlab.backtest.result import BacktestResult
from quantlab.backtest.sizers import apply_sizer, as_sizer
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["backtest", "DEFAULTS"]

_CALLER = "backtest"
_PRICES = ("open", "high", "low", "close")

#: Default options (the values a call without options uses).
DEFAULTS: dict[str, Any] = {
    "fill": "next_open",
    "init_cash": 100_000.0,
    "fee_bps": 0.0,
    "fee_fixed": 0.0,
    "slippage_bps": 0.0,
    "slippage_atr": 0.0,
    "atr_window": 14,
    "size": 1.0,
    "leverage": 1.0,
    "maintenance_margin": None,
    "sl_stop": None,
    "tp_stop": None,
    "tsl_stop": None,
    "lot_size": 0.0,
    "min_notional": 0.0,
    "funding_bps": 0.0,
    "borrow_bps": 0.0,
    "drift_threshold": None,
    "warmup": None,
    "direction": "longonly",
    "entries": None,
    "exits": None,
    "short_entries": None,
    "short_exits": None,
    "periods_per_year": None,
}


def backtest(data: pd.DataFrame, strategy_or_signals: Any = None, /, **options: Any) -> BacktestResult:
    """Simulate a strategy, target exposures or entry/exit signals on OHLCV bars.

    Parameters
    ----------
    data : DataFrame
        Normalized OHLCV (one asset) or a frame with (field, symbol) MultiIndex columns
        (several assets sharing one cash account). Prices must be finite and > 0.
    strategy_or_signals : Strategy, Series, DataFrame, tuple or dict
        * a strategy (anything with ``.signal(data)`` and ``.warmup``): its target exposure;
        * a Series (one asset) / DataFrame (columns = symbols) of target exposures in
          [-1, 1], NaN = hold the current position;
        * ``(entries, exits)`` or ``(entries, exits, short_entries, short_exits)`` boolean
          Series/DataFrames, or a dict with those keys (or pass them as options).
    **options
        fill : {"next_open", "close"}, default "next_open"
            A target decided on bar t fills at the open of bar t+1 (sized with equity at
            that open), or at the close of bar t (vectorbt's convention).
        init_cash : float, default 100_000
        fee_bps : float, default 0 - proportional fee, basis points of traded value.
        fee_fixed : float, default 0 - fee per order, cash units.
        slippage_bps : float, default 0 - fill price moved against the order, bps.
        slippage_atr : float, default 0 - ... or by this multiple of ATR(``atr_window``)
            (``quantlab.indicators.atr``, known at the decision bar; 0 during its warm-up).
        size : float in (0, 1], "all_in" or sizer, default 1.0 - fraction of equity behind a
            full signal; a callable is a sizer (:mod:`quantlab.backtest.sizers`).
        leverage : float >= 1, default 1 - a full signal is ``leverage`` x equity; gross
            exposure is capped at ``leverage`` x equity (initial margin 1/leverage).
        maintenance_margin : float in [0, 1) or None, default None - positions are
            liquidated when equity falls to this fraction of gross exposure, checked on
            each bar's adverse extreme (high for shorts, low for longs) and filled at the
            exact liquidation price (one open position) or the adverse extremes (several).
            None: 0 (liquidation at zero equity) when ``leverage > 1``; never at
            ``leverage = 1`` (vectorbt's cash account: a short may lose more than equity).
        sl_stop, tp_stop, tsl_stop : float > 0 or None - stop-loss, take-profit, trailing
            stop as fractions of the entry price (trailing: of the best price since entry),
            checked intrabar on high/low; a gap through the level fills at the open.
        lot_size, min_notional : float or {symbol: float}, default 0 - order sizes round
            toward zero to lots; orders worth less than ``min_notional`` are refused.
        funding_bps : float, Series or DataFrame, default 0 - per-bar funding in bps of the
            signed position value (longs pay when positive, shorts receive).
        borrow_bps : float, Series or DataFrame, default 0 - per-bar borrow fee on shorts.
        drift_threshold : float or None, default None - target mode: re-trade an unchanged
            target when |exposure - target| exceeds it (None: trade only on changes).
        warmup : int, optional - no order is decided before this bar (default: the
            strategy's ``warmup``, else 0).
        direction : {"longonly", "shortonly", "both"}, default "longonly" - how
            ``(entries, exits)`` map to sides (vectorbt's ``direction``).
        periods_per_year : float, optional - default inferred from the index.

    Returns
    -------
    BacktestResult

    Raises
    ------
    InvalidParameterError
        Unknown option (with a did-you-mean), an option out of range, negative fees.
    DataError
        Malformed data (NaN or non-positive prices, bad index), signals or targets that do
        not align with the data, targets outside [-1, 1].

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
    exposures are states: an order is sent when the target changes (or drifts past
    ``drift_threshold``). After a stop exit an unchanged target does not re-enter, and an
    order refused for its size (no buying power, below the lot size or minimum notional) is
    not retried until the target changes (or drifts past ``drift_threshold``): compare
    ``positions`` with the targets to see such shortfalls.

    Trades still open after the last bar are valued at the last close with reason
    ``"end"`` and no exit fee (vectorbt's open trades).

    Examples
    --------
    >>> import quantlab as ql  # doctest: +SKIP
    >>> df = ql.data.load("aapl", start="2010", end="2012")  # doctest: +SKIP
    >>> fast, slow = df.close.rolling(10).mean(), df.close.rolling(30).mean()  # doctest: +SKIP
    >>> res = backtest(df, (fast > slow) & (fast.shift() <= slow.shift()), fill="close")  # doctest: +SKIP
    """
    check_options(options, DEFAULTS, caller=_CALLER)
    opts = {**DEFAULTS, **options}
    frame, symbols, prices = _prepare_data(data)
    n_bars, n_assets = prices["close"].shape
    index = frame.index

    o = resolve_options(opts, frame, symbols, prices, caller=_CALLER)
    fill, init_cash, sizer, ppy = o["fill"], o["init_cash"], o["sizer"], o["periods_per_year"]
    direction = check_choice("direction", opts["direction"], ("longonly", "shortonly", "both"),
                             caller=_CALLER)

    # ---- what to simulate ------------------------------------------------------------
    source, warmup_default = _resolve_source(strategy_or_signals, opts, frame)
    warmup = opts["warmup"]
    warmup = warmup_default if warmup is None else check_int("warmup", warmup, caller=_CALLER,
                                                             minimum=0)
    if source[0] == "target":
        raw = _align_target(source[1], frame, symbols)
        signal_mode = False
        target_df = pd.DataFrame(raw, index=index, columns=symbols)
        target = apply_sizer(sizer, target_df, data, caller=_CALLER)
        exit_flags = np.zeros((n_bars, n_assets), dtype=np.int8)
        inputs: dict[str, Any] = {"target": target_df}
    else:
        sig = {k: _align_signal(k, v, frame, symbols) for k, v in source[1].items()}
        le, lx, se, sx = _signal_sides(sig, direction, n_bars, n_assets)
        entry, exit_flags, (le, lx, se, sx) = signal_inputs(le, lx, se, sx)
        target_df = pd.DataFrame(entry, index=index, columns=symbols)
        target = apply_sizer(sizer, target_df, data, caller=_CALLER)
        signal_mode = True
        inputs = {"entries": _frame(le, index, symbols), "exits": _frame(lx, index, symbols),
                  "short_entries": _frame(se, index, symbols),
                  "short_exits": _frame(sx, index, symbols)}

    out = K.simulate_nb(prices["open"], prices["high"], prices["low"], prices["close"],
                        np.ascontiguousarray(target), np.ascontiguousarray(exit_flags),
                        signal_mode, o["fill_next_open"], init_cash, o["leverage"], o["fee_rate"],
                        o["fee_fixed"], o["slippage"], o["lot"], o["min_notional"],
                        o["sl_stop"], o["tp_stop"], o["tsl_stop"], o["mm"], o["funding"],
                        o["borrow"], o["drift"], warmup)
    config = {
        "fill": fill, "init_cash": init_cash, "fee_bps": o["fee_bps"], "fee_fixed": o["fee_fixed"],
        "slippage_bps": o["slippage_bps"], "slippage_atr": o["slippage_atr"],
        "atr_window": o["atr_window"], "size": opts["size"], "leverage": o["leverage"],
        "maintenance_margin": opts["maintenance_margin"],
        "sl_stop": opts["sl_stop"], "tp_stop": opts["tp_stop"], "tsl_stop": opts["tsl_stop"],
        "lot_size": opts["lot_size"], "min_notional": opts["min_notional"],
        "funding_bps": _describe(opts["funding_bps"]), "borrow_bps": _describe(opts["borrow_bps"]),
        "drift_threshold": opts["drift_threshold"], "warmup": warmup, "direction": direction,
        "mode": "signals" if signal_mode else "target",
        "strategy": _describe_strategy(strategy_or_signals),
    }
    return BacktestResult._build(frame=frame, symbols=symbols, prices=prices, out=out,
                                 config=config, periods_per_year=ppy, inputs=inputs,
                                 single=not isinstance(frame.columns, pd.MultiIndex))


def resolve_options(opts: dict[str, Any], frame: pd.DataFrame, symbols: list[str],
                    prices: dict[str, np.ndarray], *, caller: str = _CALLER) -> dict[str, Any]:
    """Validate the simulation options of ``backtest()`` (merged with ``DEFAULTS``) and return
    the simulator's arguments: ``fill``, ``fill_next_open``, ``init_cash``, ``fee_bps``,
    ``fee_rate``, ``fee_fixed``, ``slippage_bps``, ``slippage_atr``, ``atr_window``,
    ``slippage`` (array), ``leverage``, ``mm``, ``sl_stop``/``tp_stop``/``tsl_stop`` (NaN = off),
    ``drift`` (NaN = off), ``lot``, ``min_notional``, ``funding``, ``borrow``, ``sizer``,
    ``periods_per_year``. Shared by :func:`backtest` and :func:`quantlab.sweep`.
    """
    fill = check_choice("fill", opts["fill"], ("next_open", "close"), caller=caller)
    init_cash = check_float("init_cash", opts["init_cash"], caller=caller, minimum=0.0,
                            exclusive_minimum=True)
    fee_bps = check_float("fee_bps", opts["fee_bps"], caller=caller, minimum=0.0)
    fee_fixed = check_float("fee_fixed", opts["fee_fixed"], caller=caller, minimum=0.0)
    slippage_bps = check_float("slippage_bps", opts["slippage_bps"], caller=caller, minimum=0.0)
    slippage_atr = check_float("slippage_atr", opts["slippage_atr"], caller=caller, minimum=0.0)
    atr_window = check_int("atr_window", opts["atr_window"], caller=caller, minimum=1)
    if slippage_bps > 0 and slippage_atr > 0:
        raise InvalidParameterError(message("slippage_atr", caller, "0 when slippage_bps is set",
                                            slippage_atr, "Choose one slippage model."))
    leverage = check_float("leverage", opts["leverage"], caller=caller, minimum=1.0)
    if opts["maintenance_margin"] is None:
        mm = -1.0 if leverage == 1.0 else 0.0  # -1: never liquidate (vectorbt's cash account)
    else:
        mm = check_float("maintenance_margin", opts["maintenance_margin"], caller=caller,
                         minimum=0.0)
        if mm >= 1.0:
            raise InvalidParameterError(message("maintenance_margin", caller,
                                                "a fraction in [0, 1) or None", mm))
    stops = {}
    for name in ("sl_stop", "tp_stop", "tsl_stop"):
        value = opts[name]
        stops[name] = np.nan if value is None else check_float(
            name, value, caller=caller, minimum=0.0, exclusive_minimum=True)
    drift = opts["drift_threshold"]
    drift = np.nan if drift is None else check_float("drift_threshold", drift, caller=caller,
                                                     minimum=0.0)
    ppy = opts["periods_per_year"]
    if ppy is not None:
        ppy = check_float("periods_per_year", ppy, caller=caller, minimum=0.0,
                          exclusive_minimum=True)
    if slippage_atr > 0:
        atr = ind.atr(prices["high"], prices["low"], prices["close"], atr_window)  # NaN in warm-up
        slip = np.nan_to_num(slippage_atr * atr / prices["close"], nan=0.0)
    else:
        slip = np.full((1, 1), slippage_bps / 1e4)
    return {
        "fill": fill, "fill_next_open": fill == "next_open", "init_cash": init_cash,
        "fee_bps": fee_bps, "fee_rate": fee_bps / 1e4, "fee_fixed": fee_fixed,
        "slippage_bps": slippage_bps, "slippage_atr": slippage_atr, "atr_window": atr_window,
        "slippage": np.ascontiguousarray(slip), "leverage": leverage, "mm": mm, **stops,
        "drift": drift,
        "lot": _per_symbol("lot_size", opts["lot_size"], symbols),
        "min_notional": _per_symbol("min_notional", opts["min_notional"], symbols),
        "funding": np.ascontiguousarray(
            _per_bar("funding_bps", opts["funding_bps"], frame, symbols, signed=True) / 1e4),
        "borrow": np.ascontiguousarray(
            _per_bar("borrow_bps", opts["borrow_bps"], frame, symbols, signed=False) / 1e4),
        "sizer": as_sizer(opts["size"], caller=caller),
        "periods_per_year": ppy,
    }


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
    else:
        check_ohlcv(data, caller=_CALLER, columns=_PRICES)
        symbols = [str(data.attrs.get("symbol", "asset"))]
        prices = {f: np.ascontiguousarray(data[f].to_numpy(np.float64).reshape(-1, 1))
                  for f in _PRICES}
    if len(data) < 2:
        raise DataError(message("data", _CALLER, "at least 2 bars", len(data)))
    bad = (prices["high"] < np.maximum(prices["open"], prices["close"]) * (1 - 1e-12)) | (
        prices["low"] > np.minimum(prices["open"], prices["close"]) * (1 + 1e-12))
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(message("data", _CALLER, "bars with low <= open, close <= high",
                                f"an inconsistent bar at {data.index[row]}",
                                "Repair with quantlab.data.clean()."))
    return data, symbols, prices


def _per_symbol(name: str, value: Any, symbols: list[str]) -> np.ndarray:
    if isinstance(value, Mapping):
        unknown = [k for k in value if str(k) not in symbols]
        if unknown:
            raise InvalidParameterError(message(name, _CALLER, f"keyed by the symbols {symbols}",
                                                f"unknown key(s) {unknown}"))
        vals = [value.get(s, 0.0) for s in symbols]
    else:
        vals = [value] * len(symbols)
    return np.array([check_float(name, v, caller=_CALLER, minimum=0.0) for v in vals])


def _per_bar(name: str, value: Any, frame: pd.DataFrame, symbols: list[str], *,
             signed: bool) -> np.ndarray:
    minimum = None if signed else 0.0
    if isinstance(value, pd.Series | pd.DataFrame):
        if not value.index.equals(frame.index):
            raise DataError(message(name, _CALLER, "indexed like `data`", "another index",
                                    "Align it with .reindex(data.index)."))
        arr = value.to_numpy(dtype=np.float64, na_value=np.nan)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        elif arr.shape[1] != len(symbols):
            raise DataError(message(name, _CALLER, f"one column per symbol {symbols}",
                                    f"{arr.shape[1]} columns"))
        else:
            arr = value[symbols].to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(arr).all() or (not signed and (arr < 0).any()):
            raise DataError(message(name, _CALLER, "finite" + ("" if signed else " and >= 0"),
                                    "NaN, infinite or negative values", "Fill them with 0."))
        return np.ascontiguousarray(arr)
    return np.full((1, 1), check_float(name, value, caller=_CALLER, minimum=minimum))


# ---- signals and targets -----------------------------------------------------------------

def _is_strategy(obj: Any) -> bool:
    return callable(getattr(obj, "signal", None)) and hasattr(obj, "warmup")


def _resolve_source(obj: Any, opts: dict[str, Any], frame: pd.DataFrame) -> tuple[tuple[str, Any], int]:
    sig_opts = {k: opts[k] for k in ("entries", "exits", "short_entries", "short_exits")
                if opts[k] is not None}
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
    if _is_strategy(obj):
        warmup = check_int("warmup", obj.warmup, caller=_CALLER, minimum=0)
        return ("target", obj.signal(frame)), warmup
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
    return value


def _describe_strategy(obj: Any) -> Any:
    if _is_strategy(obj):
        params = getattr(obj, "params", None)
        return {"name": type(obj).__name__, "params": dict(params) if params else {}}
    if isinstance(obj, tuple | list | Mapping):
        return "signals"
    return "target" if obj is not None else "signals"

"""``BacktestConfig``: every simulation setting, typed, frozen and validated without data.

One config drives ``backtest()``, ``sweep()``, walk-forward folds and the live
:class:`~quantlab.backtest.Account`; the report manifest and the live promotion file store
it (``to_dict`` / ``from_dict`` round-trip through JSON and YAML). Its parts:

* :class:`Costs` - fees, slippage, funding and borrow;
* :class:`Execution` - fills, cash, leverage, lots, signal direction;
* :class:`Stops` - stop-loss, take-profit, trailing stop;
* :class:`Margin` - maintenance margin (liquidation);
* :class:`Sizing` - the sizer and the rebalance band;
* :class:`RiskLimits` - the limits the step enforces, and what a breach does.

``backtest(data, strategy, config, fee_bps=5)`` takes a config and/or the flat keyword
options; :meth:`BacktestConfig.replace` applies flat options to a config
(``config.replace(fee_bps=5, max_drawdown=0.2)``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quantlab._validate import check_choice, check_float, check_int, check_options, message
from quantlab.backtest import step as S
from quantlab.backtest.sizers import as_sizer, kernel_sizer, sizer_from_dict, sizer_to_dict
from quantlab.errors import InvalidParameterError

__all__ = ["BacktestConfig", "Costs", "Execution", "Stops", "Margin", "Sizing", "RiskLimits",
           "OPTION_PARTS"]

_ON_BREACH = ("flatten", "reduce_only", "halt")


def _per_symbol_value(name: str, value: Any, caller: str) -> Any:
    """A float >= 0, or a {symbol: float >= 0} mapping (checked against the data later)."""
    if isinstance(value, Mapping):
        return {str(k): check_float(f"{name}[{k!r}]", v, caller=caller, minimum=0.0)
                for k, v in value.items()}
    return check_float(name, value, caller=caller, minimum=0.0)


def _per_bar_value(name: str, value: Any, caller: str, signed: bool) -> Any:
    """A float (bps per bar) or a pandas object of per-bar values (checked against the data)."""
    if hasattr(value, "index") and hasattr(value, "to_numpy"):
        return value
    return check_float(name, value, caller=caller, minimum=None if signed else 0.0)


@dataclass(frozen=True)
class Costs:
    """Trading costs.

    Attributes
    ----------
    fee_bps : float, default 0 - proportional fee, basis points of traded value (< 10 000).
    fee_fixed : float, default 0 - fee per order, cash units.
    slippage_bps : float, default 0 - fill price moved against the order, bps (< 10 000).
    slippage_atr : float, default 0 - ... or by this multiple of ATR(``atr_window``) / close,
        known at the decision bar (0 during the ATR's warm-up).
    atr_window : int, default 14
    funding_bps : float or Series/DataFrame, default 0 - per-bar funding, bps of the signed
        position value (longs pay when positive).
    borrow_bps : float or Series/DataFrame, default 0 - per-bar borrow fee on shorts, bps.
    """

    fee_bps: float = 0.0
    fee_fixed: float = 0.0
    slippage_bps: float = 0.0
    slippage_atr: float = 0.0
    atr_window: int = 14
    funding_bps: Any = field(default=0.0, compare=False)
    borrow_bps: Any = field(default=0.0, compare=False)

    def _check(self, caller: str) -> Costs:
        fee = check_float("fee_bps", self.fee_bps, caller=caller, minimum=0.0)
        if fee >= 1e4:
            raise InvalidParameterError(message("fee_bps", caller, "< 10000 (100% of the traded "
                                                "value)", fee, "Fees are in basis points: "
                                                "10 = 0.1%."))
        slip = check_float("slippage_bps", self.slippage_bps, caller=caller, minimum=0.0)
        if slip >= 1e4:
            raise InvalidParameterError(message("slippage_bps", caller, "< 10000 (100% of the "
                                                "price)", slip, "Slippage is in basis points."))
        atr = check_float("slippage_atr", self.slippage_atr, caller=caller, minimum=0.0)
        if slip > 0 and atr > 0:
            raise InvalidParameterError(message("slippage_atr", caller, "0 when slippage_bps is "
                                                "set", atr, "Choose one slippage model."))
        return Costs(fee, check_float("fee_fixed", self.fee_fixed, caller=caller, minimum=0.0),
                     slip, atr, check_int("atr_window", self.atr_window, caller=caller, minimum=1),
                     _per_bar_value("funding_bps", self.funding_bps, caller, True),
                     _per_bar_value("borrow_bps", self.borrow_bps, caller, False))


@dataclass(frozen=True)
class Execution:
    """How orders fill and what the account holds.

    Attributes
    ----------
    fill : {"next_open", "close"}, default "next_open" - a target decided at bar t fills at
        the open of t+1 (sized with equity at that open) or at the close of t (vectorbt's).
    init_cash : float, default 100 000
    leverage : float >= 1, default 1 - a full fixed-fraction signal is ``leverage`` x equity;
        gross exposure is capped at ``leverage`` x equity (initial margin 1/leverage). At 1
        the account is a cash account: buys spend at most the cash held.
    lot_size, min_notional : float or {symbol: float}, default 0 - order sizes round toward
        zero to lots; orders worth less than ``min_notional`` are refused.
    direction : {"longonly", "shortonly", "both"}, default "longonly" - how ``(entries,
        exits)`` signals map to sides (vectorbt's ``direction``).
    """

    fill: str = "next_open"
    init_cash: float = 100_000.0
    leverage: float = 1.0
    lot_size: Any = 0.0
    min_notional: Any = 0.0
    direction: str = "longonly"

    def _check(self, caller: str) -> Execution:
        return Execution(
            check_choice("fill", self.fill, ("next_open", "close"), caller=caller),
            check_float("init_cash", self.init_cash, caller=caller, minimum=0.0,
                        exclusive_minimum=True),
            check_float("leverage", self.leverage, caller=caller, minimum=1.0),
            _per_symbol_value("lot_size", self.lot_size, caller),
            _per_symbol_value("min_notional", self.min_notional, caller),
            check_choice("direction", self.direction, ("longonly", "shortonly", "both"),
                         caller=caller))


@dataclass(frozen=True)
class Stops:
    """Stops as fractions of the entry price (trailing: of the best price since entry),
    checked intrabar on high/low; a gap through the level fills at the open. None = off.

    A long stop-loss must be < 1 (a stop at or beyond 100% of the price never triggers).
    """

    sl_stop: float | None = None
    tp_stop: float | None = None
    tsl_stop: float | None = None

    def _check(self, caller: str) -> Stops:
        values = {}
        for name in ("sl_stop", "tp_stop", "tsl_stop"):
            value = getattr(self, name)
            if value is not None:
                value = check_float(name, value, caller=caller, minimum=0.0,
                                    exclusive_minimum=True)
                if name != "tp_stop" and value >= 1.0:
                    raise InvalidParameterError(message(
                        name, caller, "a fraction of the entry price < 1", value,
                        f"Stops are fractions: {name}=0.05 is 5%."))
            values[name] = value
        return Stops(**values)


@dataclass(frozen=True)
class Margin:
    """Liquidation: positions are closed when equity falls to ``maintenance_margin`` of the
    gross exposure, checked on each bar's adverse extremes. None: 0 (liquidation at zero
    equity) when ``leverage > 1``; never at ``leverage = 1`` (vectorbt's cash account)."""

    maintenance_margin: float | None = None

    def _check(self, caller: str) -> Margin:
        mm = self.maintenance_margin
        if mm is not None:
            mm = check_float("maintenance_margin", mm, caller=caller, minimum=0.0)
            if mm >= 1.0:
                raise InvalidParameterError(message("maintenance_margin", caller,
                                                    "a fraction in [0, 1) or None", mm))
        return Margin(mm)


@dataclass(frozen=True)
class Sizing:
    """The sizer and the rebalance band.

    Attributes
    ----------
    size : float, "all_in", sizer or callable, default 1.0 - a fraction of equity in (0, 1]
        behind a full signal (``FixedFraction``), a built-in sizer of
        :mod:`quantlab.backtest.sizers`, or a pandas callable (run before the simulation).
    rebalance_threshold : float or None, default None - re-trade an unchanged target when
        the position is off its sized target by more than this fraction of equity (prices
        drift, a moving sizer's size moves). None: an order only when the target changes;
        the size is then fixed until the next change.
    """

    size: Any = 1.0
    rebalance_threshold: float | None = None

    def _check(self, caller: str) -> Sizing:
        band = self.rebalance_threshold
        if band is not None:
            band = check_float("rebalance_threshold", band, caller=caller, minimum=0.0)
        return Sizing(as_sizer(self.size, caller=caller), band)


@dataclass(frozen=True)
class RiskLimits:
    """Limits the decision step enforces in backtests and live alike (the live guard's twin).

    Attributes
    ----------
    max_position : float, optional - largest |exposure| of one asset (fraction of equity);
        larger orders are clipped (event ``clip``).
    max_gross_leverage : float, optional - largest gross exposure / equity after an order;
        larger orders are clipped (event ``clip``).
    max_daily_loss : float, optional - loss since the day's open (UTC), fraction of the
        equity at the end of the previous day; a breach takes ``on_breach`` until the next day.
    max_drawdown : float, optional - drawdown from the peak close mark; a breach takes
        ``on_breach`` for good.
    max_orders_per_day : int, optional - discretionary orders (not stops, liquidations or
        risk flattening) beyond it are refused (event ``refuse``).
    on_breach : {"flatten", "reduce_only", "halt"}, default "flatten" - ``flatten``: close
        every position at the next fill, then no new orders; ``reduce_only``: orders may only
        reduce positions; ``halt``: no orders (stops still work).

    Notes
    -----
    Drawdown and daily loss are checked on each bar's close mark (cash + positions at the
    close, before the bar's funding); the breach is recorded at that bar and the action is
    taken at the next fill: the same close with ``fill="close"``, the next open with
    ``fill="next_open"``.
    """

    max_position: float | None = None
    max_gross_leverage: float | None = None
    max_daily_loss: float | None = None
    max_drawdown: float | None = None
    max_orders_per_day: int | None = None
    on_breach: str = "flatten"

    def _check(self, caller: str) -> RiskLimits:
        def frac(name: str, value: Any, maximum: float | None) -> float | None:
            if value is None:
                return None
            return check_float(name, value, caller=caller, minimum=0.0, maximum=maximum,
                               exclusive_minimum=True)

        orders = self.max_orders_per_day
        if orders is not None:
            orders = check_int("max_orders_per_day", orders, caller=caller, minimum=1)
        return RiskLimits(frac("max_position", self.max_position, None),
                          frac("max_gross_leverage", self.max_gross_leverage, None),
                          frac("max_daily_loss", self.max_daily_loss, 1.0),
                          frac("max_drawdown", self.max_drawdown, 1.0), orders,
                          check_choice("on_breach", self.on_breach, _ON_BREACH, caller=caller))

    @property
    def any(self) -> bool:
        """True when at least one limit is set."""
        return any(getattr(self, f) is not None for f in ("max_position", "max_gross_leverage",
                                                          "max_daily_loss", "max_drawdown",
                                                          "max_orders_per_day"))


_PARTS: dict[str, Any] = {"costs": Costs, "execution": Execution, "stops": Stops,
                           "margin": Margin, "sizing": Sizing, "limits": RiskLimits}
#: Flat option name -> the config part that holds it.
OPTION_PARTS: dict[str, str] = {f.name: part for part, cls in _PARTS.items()
                                for f in dataclasses.fields(cls)}
OPTION_PARTS["drift_threshold"] = "sizing"  # the older name of rebalance_threshold
_TOP = ("warmup", "periods_per_year")


@dataclass(frozen=True)
class BacktestConfig:
    """Every simulation setting of a backtest (frozen; validated when built, without data).

    Parameters
    ----------
    costs, execution, stops, margin, sizing, limits : the parts (defaults: their defaults).
    warmup : int, optional - no order is decided before this bar of the data (default: the
        strategy's ``warmup``, else 0).
    periods_per_year : float, optional - default inferred from the index.

    Examples
    --------
    >>> cfg = BacktestConfig.from_options(fee_bps=10, max_drawdown=0.25)
    >>> cfg.costs.fee_bps, cfg.limits.max_drawdown
    (10.0, 0.25)
    >>> BacktestConfig.from_json(cfg.to_json()) == cfg
    True
    """

    costs: Costs = field(default_factory=Costs)
    execution: Execution = field(default_factory=Execution)
    stops: Stops = field(default_factory=Stops)
    margin: Margin = field(default_factory=Margin)
    sizing: Sizing = field(default_factory=Sizing)
    limits: RiskLimits = field(default_factory=RiskLimits)
    warmup: int | None = None
    periods_per_year: float | None = None

    def __post_init__(self) -> None:
        self._validate("BacktestConfig")

    def _validate(self, caller: str) -> None:
        for name, cls in _PARTS.items():
            part: Any = getattr(self, name)
            if not isinstance(part, cls):
                raise InvalidParameterError(message(name, caller, f"a {cls.__name__}",
                                                    type(part).__name__))
            object.__setattr__(self, name, part._check(caller))
        if self.warmup is not None:
            object.__setattr__(self, "warmup", check_int("warmup", self.warmup, caller=caller,
                                                         minimum=0))
        if self.periods_per_year is not None:
            object.__setattr__(self, "periods_per_year", check_float(
                "periods_per_year", self.periods_per_year, caller=caller, minimum=0.0,
                exclusive_minimum=True))

    # ---- flat options ---------------------------------------------------------------
    @classmethod
    def from_options(cls, *, caller: str = "BacktestConfig", **options: Any) -> BacktestConfig:
        """A config from flat keyword options (``fee_bps=10, sl_stop=0.05, ...``)."""
        return cls().replace(caller=caller, **options)

    def replace(self, *, caller: str = "BacktestConfig.replace", **options: Any) -> BacktestConfig:
        """A copy with flat options changed; unknown names get a did-you-mean."""
        check_options(options, list(OPTION_PARTS) + list(_TOP), caller=caller)
        if "drift_threshold" in options:
            options["rebalance_threshold"] = options.pop("drift_threshold")
        changes: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in options.items():
            if key in _TOP:
                top[key] = value
            else:
                changes.setdefault(OPTION_PARTS[key], {})[key] = value
        parts = {name: dataclasses.replace(getattr(self, name), **kw)
                 for name, kw in changes.items()}
        new = object.__new__(BacktestConfig)
        for f in dataclasses.fields(self):
            object.__setattr__(new, f.name, parts.get(f.name, top.get(f.name,
                                                                      getattr(self, f.name))))
        new._validate(caller)
        return new

    def options(self) -> dict[str, Any]:
        """The flat keyword options this config equals (``backtest(..., **cfg.options())``)."""
        out: dict[str, Any] = {}
        for name in _PARTS:
            part = getattr(self, name)
            out.update({f.name: getattr(part, f.name) for f in dataclasses.fields(part)})
        out["warmup"] = self.warmup
        out["periods_per_year"] = self.periods_per_year
        return out

    # ---- storage ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Nested plain data (JSON/YAML-ready). Per-bar pandas costs and pandas sizer
        callables cannot be stored: they raise, naming the setting."""
        out: dict[str, Any] = {}
        for name in _PARTS:
            part = getattr(self, name)
            d = {}
            for f in dataclasses.fields(part):
                value = getattr(part, f.name)
                if f.name == "size":
                    value = sizer_to_dict(value)
                elif hasattr(value, "to_numpy"):
                    raise InvalidParameterError(message(
                        f.name, "BacktestConfig.to_dict", "a number to be stored",
                        f"a {type(value).__name__} per bar", f"Pass it to backtest({f.name}=...) "
                        "at run time."))
                d[f.name] = value
            out[name] = d
        out["warmup"] = self.warmup
        out["periods_per_year"] = self.periods_per_year
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BacktestConfig:
        """Inverse of :meth:`to_dict` (missing parts or fields keep their defaults)."""
        if not isinstance(data, Mapping):
            raise InvalidParameterError(message("data", "BacktestConfig.from_dict", "a mapping",
                                                type(data).__name__))
        check_options(dict(data), list(_PARTS) + list(_TOP), caller="BacktestConfig.from_dict")
        kw: dict[str, Any] = {}
        for name, part_cls in _PARTS.items():
            if name in data:
                fields = dict(data[name])
                check_options(fields, [f.name for f in dataclasses.fields(part_cls)],
                              caller=f"BacktestConfig.from_dict[{name!r}]")
                if "size" in fields:
                    fields["size"] = sizer_from_dict(fields["size"])
                kw[name] = part_cls(**fields)
        return cls(**kw, **{k: data[k] for k in _TOP if k in data})

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON (infinite and NaN values are not used)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BacktestConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def to_yaml(self) -> str:
        """:meth:`to_dict` as YAML."""
        import yaml

        return str(yaml.safe_dump(self.to_dict(), sort_keys=True))

    @classmethod
    def from_yaml(cls, text: str) -> BacktestConfig:
        """Inverse of :meth:`to_yaml`."""
        import yaml

        return cls.from_dict(yaml.safe_load(text))

    # ---- the decision step's arrays ----------------------------------------------------
    def kernel_arrays(self, *, signal_mode: bool, symbols: list[str], periods_per_year: float,
                      caller: str = "backtest") -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """``(cfg, acfg, sizers, ring_size)`` for :func:`~quantlab.backtest.step.step_nb`."""
        ex, co, sto, lim = self.execution, self.costs, self.stops, self.limits
        mm = self.margin.maintenance_margin
        if mm is None:
            mm = -1.0 if ex.leverage == 1.0 else 0.0  # -1: never liquidate (cash account)
        band = self.sizing.rebalance_threshold

        def nan(v: float | None) -> float:
            return math.nan if v is None else float(v)

        cfg = S.base_config_nb(signal_mode, ex.fill == "next_open", ex.init_cash, ex.leverage,
                               co.fee_bps / 1e4, co.fee_fixed, nan(sto.sl_stop),
                               nan(sto.tp_stop), nan(sto.tsl_stop), float(mm), nan(band))
        rows, cap_pos, cap_lev, ring = kernel_sizer(self.sizing.size)
        cfg[S.C_CAP_POSITION] = cap_pos
        cfg[S.C_CAP_LEVERAGE] = cap_lev
        cfg[S.C_PPY] = float(periods_per_year)
        inf = math.inf
        cfg[S.C_MAX_POSITION] = inf if lim.max_position is None else lim.max_position
        cfg[S.C_MAX_GROSS] = inf if lim.max_gross_leverage is None else lim.max_gross_leverage
        cfg[S.C_MAX_DAILY_LOSS] = nan(lim.max_daily_loss)
        cfg[S.C_MAX_DRAWDOWN] = nan(lim.max_drawdown)
        cfg[S.C_MAX_ORDERS_DAY] = inf if lim.max_orders_per_day is None else lim.max_orders_per_day
        cfg[S.C_ON_BREACH] = float(_ON_BREACH.index(lim.on_breach))
        acfg = np.vstack([_per_symbol_array("lot_size", ex.lot_size, symbols, caller),
                          _per_symbol_array("min_notional", ex.min_notional, symbols, caller)])
        return cfg, np.ascontiguousarray(acfg), rows, ring


def _per_symbol_array(name: str, value: Any, symbols: list[str], caller: str) -> np.ndarray:
    if isinstance(value, Mapping):
        unknown = [k for k in value if str(k) not in symbols]
        if unknown:
            raise InvalidParameterError(message(name, caller, f"keyed by the symbols {symbols}",
                                                f"unknown key(s) {unknown}"))
        return np.array([float(value.get(s, 0.0)) for s in symbols])
    return np.full(len(symbols), float(value))

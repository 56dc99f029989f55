"""Position sizers: how much of the account a strategy's target exposure puts at risk.

A strategy says *where* to be (a raw target exposure in [-1, 1], NaN = hold); a sizer says
*how much*. Sizers run inside the decision step (:mod:`quantlab.backtest.step`), at the
decision bar, on the account as it is then (equity, the trades closed so far) and on causal
per-bar inputs computed from data up to that bar. The step turns the sized exposure into
units at the fill price against the equity at the fill, then the leverage cap, fees and lot
rounding apply (:func:`~quantlab.backtest.orders.order_size_nb`).

Built in (chosen by kind and parameters; no numba function is passed around):

* :class:`FixedFraction` ``(fraction)`` - ``target * fraction * leverage``;
* :class:`VolTarget` ``(annual_vol, window)`` - ``target * annual_vol / sigma_annual``, sigma the
  standard deviation of the last ``window`` close-to-close returns (or a volatility
  forecast given as ``sizer_inputs={"vol": ...}``, e.g. GARCH's);
* :class:`AtrRisk` ``(risk_fraction, atr_mult, window)`` - the position whose loss over
  ``atr_mult`` ATRs is ``risk_fraction`` of equity: ``target * risk_fraction * close / (atr_mult
  * ATR)``;
* :class:`Kelly` ``(fraction, window, min_obs, source)`` - ``target * fraction * mean / variance``
  of the last ``window`` closed trades' returns (``source="trades"``) or of the strategy's
  causal edge estimate (``source="edge"``); 0 (and a :class:`~quantlab.errors.SizingWarning`
  after the run) on undefined inputs, zero variance, a negative edge or fewer than
  ``min_obs`` observations;
* :class:`VarBudget` ``(budget, confidence, window)`` - the exposure whose one-bar VaR is
  ``budget`` of equity: ``target * budget / VaR``, VaR the historical one of the last
  ``window`` returns (or a forecast given as ``sizer_inputs={"var": ...}``);
* :func:`combine` ``(*sizers, max_position=, max_leverage=)`` - the smallest of them, then
  the caps (``max_position``: |exposure| per asset; ``max_leverage``: gross exposure).

Sizes move with their inputs; an unchanged target is re-traded to the new size only when
the position is off by more than ``rebalance_threshold`` of equity (default: never, the
size is set when the target changes).

A plain callable ``sizer(target: DataFrame, data) -> DataFrame`` still works: it runs once,
before the simulation, as a pandas step (it cannot see the account).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from quantlab._validate import check_choice, check_float, check_int, message
from quantlab.backtest import step as S
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["Sizer", "FixedFraction", "VolTarget", "AtrRisk", "Kelly", "VarBudget", "Combined",
           "combine", "as_sizer", "apply_sizer", "sizer_to_dict", "sizer_from_dict",
           "size_exposure"]


@runtime_checkable
class Sizer(Protocol):
    """A pandas sizer hook: ``sizer(target, data) -> scaled target`` (see module doc)."""

    def __call__(self, target: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:  # pragma: no cover
        ...


class _Kernel:
    """A sizer the decision step runs: its rows of the step's ``sizers`` array."""

    def rows(self) -> list[list[float]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": class name, **parameters}`` (JSON/YAML-ready; :func:`sizer_from_dict`)."""
        return {"kind": type(self).__name__, **{k: getattr(self, k) for k in
                                                self.__dataclass_fields__}}  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FixedFraction(_Kernel):
    """Scale every target exposure by a constant fraction of equity (times ``leverage``).

    Parameters
    ----------
    fraction : float
        In (0, 1]; 1.0 puts the whole equity (times ``leverage``) behind a full signal.

    Examples
    --------
    >>> import pandas as pd
    >>> FixedFraction(0.5)(pd.DataFrame({"x": [1.0, -1.0, float("nan")]}), None)["x"].tolist()
    [0.5, -0.5, nan]
    """

    fraction: float = 1.0

    def __post_init__(self) -> None:
        check_float("fraction", self.fraction, caller="FixedFraction", minimum=0.0,
                    maximum=1.0, exclusive_minimum=True)

    def __call__(self, target: pd.DataFrame, data: Any) -> pd.DataFrame:
        return target * float(self.fraction)

    def rows(self) -> list[list[float]]:
        return [[S.SZ_FIXED, float(self.fraction), 0.0, 0.0, 0.0, 0.0]]


@dataclass(frozen=True)
class VolTarget(_Kernel):
    """Size to a target annualized volatility: ``annual_vol / (sigma * sqrt(periods_per_year))``.

    Parameters
    ----------
    annual_vol : float
        Target annualized volatility of the position (e.g. 0.10), > 0.
    window : int, default 20
        ``estimator="realized"``: bars of close-to-close returns behind sigma (ddof=1),
        known at the decision bar. ``estimator="garch"``: the bars before the first fit.
    estimator : {"realized", "garch"}, default "realized"
        ``"garch"``: sigma is the GARCH(1,1) one-step-ahead forecast for the bar after the
        decision bar, from arch fits on an expanding window of the returns up to the decision
        bar (:func:`quantlab.regime.garch_volatility`), refitted every ``refit_every`` bars.
    refit_every : int, default 21
        ``estimator="garch"``: bars between refits (21: monthly on daily bars).

    Notes
    -----
    A volatility forecast of your own replaces sigma through ``sizer_inputs={"vol": series}``
    (per-bar sigma for the next bar, computed from data up to the bar it is stamped at).
    """

    annual_vol: float
    window: int = 20
    estimator: str = "realized"
    refit_every: int = 21

    def __post_init__(self) -> None:
        check_float("annual_vol", self.annual_vol, caller="VolTarget", minimum=0.0,
                    exclusive_minimum=True)
        check_int("window", self.window, caller="VolTarget", minimum=2)
        check_choice("estimator", self.estimator, ("realized", "garch"), caller="VolTarget")
        check_int("refit_every", self.refit_every, caller="VolTarget", minimum=1)

    def rows(self) -> list[list[float]]:
        return [[S.SZ_VOL_TARGET, float(self.annual_vol), 0.0, 0.0, 0.0, 0.0]]


@dataclass(frozen=True)
class AtrRisk(_Kernel):
    """Risk a fraction of equity over ``atr_mult`` ATRs: exposure ``risk_fraction * close /
    (atr_mult * ATR(window))``.

    Parameters
    ----------
    risk_fraction : float
        Fraction of equity lost if price moves ``atr_mult`` ATRs against the position, in (0, 1].
    atr_mult : float, default 2.0
    window : int, default 14
        ATR window (Wilder's, :func:`quantlab.indicators.atr`).
    """

    risk_fraction: float
    atr_mult: float = 2.0
    window: int = 14

    def __post_init__(self) -> None:
        check_float("risk_fraction", self.risk_fraction, caller="AtrRisk", minimum=0.0,
                    maximum=1.0, exclusive_minimum=True)
        check_float("atr_mult", self.atr_mult, caller="AtrRisk", minimum=0.0,
                    exclusive_minimum=True)
        check_int("window", self.window, caller="AtrRisk", minimum=1)

    def rows(self) -> list[list[float]]:
        return [[S.SZ_ATR_RISK, float(self.risk_fraction), float(self.atr_mult), 0.0, 0.0, 0.0]]


@dataclass(frozen=True)
class Kelly(_Kernel):
    """Fractional Kelly: exposure ``fraction * mean / variance`` of the strategy's returns.

    Parameters
    ----------
    fraction : float, default 0.5
        Share of the full Kelly bet, in (0, 1] (half Kelly by default; full Kelly is
        refused above 1: it overbets whenever the estimate is off).
    window : int, default 100
        Most recent observations used (closed trades, or bars of the edge estimate).
    min_obs : int, default 30
        Fewer observations size 0.
    source : {"trades", "edge"}, default "trades"
        ``"trades"``: the returns of the trades the backtest (or live account) has closed so
        far (net of fees, ``pnl / (size * entry)``); ``"edge"``: the mean and variance of the
        strategy's causal per-bar returns ``position_{t-1} * r_t`` over ``window`` bars (or
        ``sizer_inputs={"edge_mean", "edge_var", "edge_n"}``).
    prior : float, optional
        Exposure used until ``min_obs`` observations exist (e.g. 0.1). None: 0 (and a
        warning). An account starting flat has closed no trade, so ``source="trades"``
        without a ``prior`` never opens a position: give it one, or use ``"edge"``.

    Notes
    -----
    ``f* = mu / sigma^2`` maximizes the growth rate ``E[log(1 + f r)]`` to second order
    (Thorp 2006, "The Kelly criterion in blackjack, sports betting and the stock market",
    eq. 7.3). The size is 0 - never an exception - on NaN inputs, zero variance, a negative
    edge or too few observations; the run then warns (:class:`~quantlab.errors.SizingWarning`)
    with the counts.
    """

    fraction: float = 0.5
    window: int = 100
    min_obs: int = 30
    source: str = "trades"
    prior: float | None = None

    def __post_init__(self) -> None:
        check_float("fraction", self.fraction, caller="Kelly", minimum=0.0, maximum=1.0,
                    exclusive_minimum=True)
        if self.prior is not None:
            check_float("prior", self.prior, caller="Kelly", minimum=0.0)
        check_int("window", self.window, caller="Kelly", minimum=2)
        check_int("min_obs", self.min_obs, caller="Kelly", minimum=2)
        check_choice("source", self.source, ("trades", "edge"), caller="Kelly")

    def rows(self) -> list[list[float]]:
        return [[S.SZ_KELLY, float(self.fraction), float(self.window), float(self.min_obs),
                 0.0 if self.source == "trades" else 1.0,
                 math.nan if self.prior is None else float(self.prior)]]


@dataclass(frozen=True)
class VarBudget(_Kernel):
    """Size so the one-bar Value at Risk is ``budget`` of equity: exposure ``budget / VaR``.

    Parameters
    ----------
    budget : float
        Largest one-bar loss at ``confidence``, a fraction of equity in (0, 1].
    confidence : float, default 0.99
        In (0.5, 1).
    window : int, default 250
        Bars of returns behind the VaR estimate, known at the decision bar.
    method : str, default "historical"
        A method of :func:`quantlab.risk.var` (``"historical"``: ``-quantile(r, 1 -
        confidence)`` with linear interpolation; ``"parametric"``, ``"student_t"``,
        ``"cornish_fisher"``, ``"ewma"``, ``"garch"``, ``"filtered_historical"``), forecast for
        the bar after the decision bar from the returns up to it.

    Notes
    -----
    A VaR forecast of your own replaces it through ``sizer_inputs={"var": series}`` (a
    positive fraction per bar, forecast from data up to that bar).
    """

    budget: float
    confidence: float = 0.99
    window: int = 250
    method: str = "historical"

    def __post_init__(self) -> None:
        check_float("budget", self.budget, caller="VarBudget", minimum=0.0, maximum=1.0,
                    exclusive_minimum=True)
        check_float("confidence", self.confidence, caller="VarBudget", minimum=0.5,
                    maximum=0.9999, exclusive_minimum=True)
        check_int("window", self.window, caller="VarBudget", minimum=10)
        check_choice("method", self.method, VAR_METHODS, caller="VarBudget")

    def rows(self) -> list[list[float]]:
        return [[S.SZ_VAR_BUDGET, float(self.budget), 0.0, 0.0, 0.0, 0.0]]


#: The methods of :func:`quantlab.risk.var` (kept here so a sizer validates without importing it).
VAR_METHODS = ("historical", "parametric", "student_t", "cornish_fisher", "ewma", "garch",
               "filtered_historical")


@dataclass(frozen=True)
class Combined(_Kernel):
    """The smallest of several sizers, then caps (built by :func:`combine`)."""

    sizers: tuple[Any, ...]
    max_position: float | None = None
    max_leverage: float | None = None

    def __post_init__(self) -> None:
        if not self.sizers:
            raise InvalidParameterError(message("sizers", "combine", "at least one sizer", 0))
        for i, s in enumerate(self.sizers):
            if not isinstance(s, _Kernel) or isinstance(s, Combined):
                raise InvalidParameterError(message(
                    f"sizers[{i}]", "combine", "a built-in sizer (FixedFraction, VolTarget, "
                    "AtrRisk, Kelly, VarBudget)", type(s).__name__,
                    "A pandas callable cannot be combined: it runs before the simulation."))
        for name in ("max_position", "max_leverage"):
            value = getattr(self, name)
            if value is not None:
                check_float(name, value, caller="combine", minimum=0.0, exclusive_minimum=True)
        kinds = [type(s) for s in self.sizers]
        for kind in (VolTarget, AtrRisk, VarBudget):
            windows = {(s.window, getattr(s, "confidence", None)) for s in self.sizers
                       if isinstance(s, kind)}
            if len(windows) > 1:
                raise InvalidParameterError(message(
                    "sizers", "combine", f"one {kind.__name__} window", sorted(windows),
                    f"Combine {kind.__name__}s with different budgets, not windows."))
        if kinds.count(Kelly) > 1:
            raise InvalidParameterError(message("sizers", "combine", "at most one Kelly",
                                                kinds.count(Kelly)))

    def rows(self) -> list[list[float]]:
        return [row for s in self.sizers for row in s.rows()]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "combine", "sizers": [s.to_dict() for s in self.sizers],
                "max_position": self.max_position, "max_leverage": self.max_leverage}


def combine(*sizers: Any, max_position: float | None = None,
            max_leverage: float | None = None) -> Combined:
    """Combine sizers: the smallest exposure of them, then the caps, then lot truncation.

    Parameters
    ----------
    *sizers : FixedFraction, VolTarget, AtrRisk, Kelly or VarBudget
    max_position : float, optional
        Largest |exposure| of one asset, a fraction of equity.
    max_leverage : float, optional
        Largest gross exposure / equity after the order (with ``leverage``, the tighter wins).

    Examples
    --------
    >>> combine(VolTarget(0.1), FixedFraction(1.0), max_position=0.5).max_position
    0.5
    """
    return Combined(tuple(sizers), max_position, max_leverage)


_KINDS: dict[str, type] = {c.__name__: c for c in (FixedFraction, VolTarget, AtrRisk, Kelly,
                                                    VarBudget)}


def sizer_to_dict(sizer: Any) -> Any:
    """The ``size`` setting as JSON/YAML-ready data (a number, or ``{"kind": ..., ...}``)."""
    if isinstance(sizer, _Kernel):
        return sizer.to_dict()
    if isinstance(sizer, int | float | str):
        return sizer
    raise InvalidParameterError(message(
        "size", "BacktestConfig.to_dict", "a fraction, 'all_in' or a built-in sizer",
        f"a {type(sizer).__name__}", "A pandas sizer callable cannot be stored; pass it to "
        "backtest(size=...) at run time."))


def sizer_from_dict(data: Any) -> Any:
    """Inverse of :func:`sizer_to_dict`."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    kind = data.pop("kind", None)
    if kind == "combine":
        return combine(*[sizer_from_dict(s) for s in data.get("sizers", [])],
                       max_position=data.get("max_position"),
                       max_leverage=data.get("max_leverage"))
    kind = check_choice("kind", kind, sorted(_KINDS) + ["combine"], caller="sizer_from_dict")
    return _KINDS[kind](**data)


def as_sizer(size: Any, *, caller: str = "backtest") -> Any:
    """Turn the ``size`` option into a sizer: a float fraction, ``"all_in"``, a built-in
    sizer, or a pandas callable."""
    constraint = "a fraction in (0, 1], 'all_in', a built-in sizer or a sizer callable"
    if isinstance(size, _Kernel):
        return size
    if isinstance(size, str):
        if size == "all_in":
            return FixedFraction(1.0)
        raise InvalidParameterError(message("size", caller, constraint, size,
                                            "Did you mean 'all_in'?" if "all" in size.lower()
                                            else None))
    if isinstance(size, int | float) and not isinstance(size, bool):
        value = float(size)
        if not (math.isfinite(value) and 0.0 < value <= 1.0):
            raise InvalidParameterError(message(
                "size", caller, constraint, size, "Use leverage= for exposure above 1x equity."))
        return FixedFraction(value)
    if callable(size):
        return size
    raise InvalidParameterError(message("size", caller, constraint, size))


def kernel_sizer(sizer: Any) -> tuple[np.ndarray, float, float, int]:
    """The step's view of a sizer: ``(rows (S, 6), cap_position, cap_leverage, ring size)``.
    A pandas callable runs before the simulation, so the step sees ``FixedFraction(1)``."""
    if not isinstance(sizer, _Kernel):
        sizer = FixedFraction(1.0)
    rows = np.ascontiguousarray(sizer.rows(), dtype=np.float64).reshape(-1, 6)
    cap_pos = cap_lev = math.inf
    if isinstance(sizer, Combined):
        cap_pos = math.inf if sizer.max_position is None else float(sizer.max_position)
        cap_lev = math.inf if sizer.max_leverage is None else float(sizer.max_leverage)
    parts = sizer.sizers if isinstance(sizer, Combined) else (sizer,)
    ring = max([s.window for s in parts if isinstance(s, Kelly) and s.source == "trades"] or [1])
    return rows, cap_pos, cap_lev, int(ring)


_INPUT_NAMES = {"vol": S.IN_VOL, "atr": S.IN_ATR, "var": S.IN_VAR, "edge_mean": S.IN_EDGE_MU,
                "edge_var": S.IN_EDGE_VAR, "edge_n": S.IN_EDGE_N}


def sizer_inputs(sizer: Any, prices: dict[str, np.ndarray], target: np.ndarray,
                 overrides: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Per-bar sizer inputs ``(IN_N, T, N)`` (NaN where unused or undefined), each row at bar t
    computed from data up to t: return volatility, ATR / close, historical VaR, and the
    strategy's edge (mean, variance, count of ``position_{t-1} * r_t`` over the window, the
    position being the raw target held forward). ``overrides`` (already aligned (T, N)
    arrays) replace computed rows (forecasts: GARCH volatility, model VaR)."""
    close = prices["close"]
    n_bars, n_assets = close.shape
    parts = sizer.sizers if isinstance(sizer, Combined) else (sizer,)
    out = np.full((S.IN_N, n_bars, n_assets), np.nan)
    if not any(isinstance(p, VolTarget | AtrRisk | Kelly | VarBudget) for p in parts):
        return out[:, :1, :1].copy()
    rets = pd.DataFrame(close).pct_change()
    for p in parts:
        if isinstance(p, VolTarget) and p.estimator == "garch":
            from quantlab.regime import garch_volatility  # arch: a heavy import, only when used

            out[S.IN_VOL] = _next_bar_forecast(rets, partial(
                garch_volatility, refit_every=p.refit_every, min_train=p.window))
        elif isinstance(p, VolTarget):
            out[S.IN_VOL] = rets.rolling(p.window, min_periods=p.window).std(ddof=1).to_numpy()
        elif isinstance(p, AtrRisk):
            from quantlab import indicators as ind

            atr = ind.atr(prices["high"], prices["low"], close, p.window)
            out[S.IN_ATR] = atr / close  # the multiple is in the sizer row
        elif isinstance(p, VarBudget) and p.method != "historical":
            from quantlab.risk.var import var  # a model VaR (GARCH: arch), only when used

            out[S.IN_VAR] = _next_bar_forecast(rets, partial(
                var, confidence=p.confidence, method=p.method, window=p.window))
        elif isinstance(p, VarBudget):
            q = rets.rolling(p.window, min_periods=p.window).quantile(1.0 - p.confidence)
            out[S.IN_VAR] = -q.to_numpy()
        elif isinstance(p, Kelly) and p.source == "edge":
            held = pd.DataFrame(target).ffill().fillna(0.0)
            strat = held.shift(1) * rets
            roll = strat.rolling(p.window, min_periods=2)
            out[S.IN_EDGE_MU] = roll.mean().to_numpy()
            out[S.IN_EDGE_VAR] = roll.var(ddof=1).to_numpy()
            out[S.IN_EDGE_N] = roll.count().to_numpy()
    for name, arr in (overrides or {}).items():
        out[_INPUT_NAMES[name]] = arr
    return out


def _next_bar_forecast(rets: pd.DataFrame, forecast: Any) -> np.ndarray:
    """Stamp at bar t a forecast for bar t + 1 made from the returns up to t, per column.

    ``forecast(r)`` maps a returns Series to the forecast for each of its bars from the bars
    before it; the returns after the first bar get one placeholder bar appended (0.0, never
    read: a forecast for it uses the bars before it) so that the last bar has a forecast too.
    """
    out = np.full(rets.shape, np.nan)
    for j in range(rets.shape[1]):
        r = rets.iloc[1:, j].to_numpy()
        if r.size < 2:
            continue
        ahead = np.asarray(forecast(pd.Series(np.append(r, 0.0))), dtype=float)
        out[:, j] = ahead  # ahead[i] is the forecast for return i + 1, known at bar i
    return out


def size_exposure(sizer: Any, target: float, *, leverage: float = 1.0,
                  periods_per_year: float = 252.0, vol: float = math.nan,
                  atr: float = math.nan, var: float = math.nan, edge_mean: float = math.nan,
                  edge_var: float = math.nan, edge_n: float = math.nan,
                  trade_returns: Any = ()) -> float:
    """The exposure (fraction of equity) a built-in sizer gives raw ``target`` on one bar.

    The decision step's own sizing code (:func:`~quantlab.backtest.step.sizer_exposure_nb`),
    for inspection and tests: ``vol`` is the per-bar return volatility, ``atr`` ATR / close,
    ``var`` the unit VaR, ``edge_*`` the strategy's edge, ``trade_returns`` the closed trades
    so far (oldest first). The sizer caps apply; lot rounding and the gross cap are the
    order decision's (:func:`~quantlab.backtest.orders.decide_order`).

    Examples
    --------
    >>> size_exposure(VolTarget(0.10), 1.0, vol=0.01, periods_per_year=100)
    1.0
    """
    import warnings

    from quantlab.errors import SizingWarning

    sizer = as_sizer(sizer, caller="size_exposure")
    rows, cap_pos, cap_lev, ring_size = kernel_sizer(sizer)
    cfg = S.base_config_nb(False, True, 1.0, float(leverage), 0.0, 0.0, np.nan, np.nan,
                           np.nan, -1.0, np.nan)
    cfg[S.C_CAP_POSITION] = cap_pos
    cfg[S.C_CAP_LEVERAGE] = cap_lev
    cfg[S.C_PPY] = float(periods_per_year)
    acct, st, ring = S.new_state(1, 1.0, ring_size)
    trs = np.asarray(list(trade_returns), dtype=np.float64)[-ring.shape[0]:]
    ring[: len(trs), 0] = trs
    st[S.S_K_COUNT, 0] = len(trs)
    bi = np.full((S.B_N, 1), np.nan)
    for name, value in (("vol", vol), ("atr", atr), ("var", var), ("edge_mean", edge_mean),
                        ("edge_var", edge_var), ("edge_n", edge_n)):
        bi[S.B_SIN + _INPUT_NAMES[name], 0] = value
    scale = S.sizer_exposure_nb(cfg, rows, st, ring, bi, 0, acct, True)
    if acct[S.A_KELLY_NAN:S.A_KELLY_FEW + 1].any():
        warnings.warn(kelly_message(acct, "size_exposure"), SizingWarning, stacklevel=2)
    return float(target) * float(scale)


def kelly_message(acct: np.ndarray, caller: str) -> str:
    """The warning for decisions Kelly sized 0, with the count of each reason."""
    reasons = {"undefined inputs (NaN)": acct[S.A_KELLY_NAN],
               "zero variance": acct[S.A_KELLY_ZERO_VAR],
               "a negative edge": acct[S.A_KELLY_NEGATIVE],
               "too few observations": acct[S.A_KELLY_FEW]}
    parts = ", ".join(f"{int(n)} {why}" for why, n in reasons.items() if n)
    return (f"Kelly sized {int(sum(reasons.values()))} decision(s) of {caller}() at 0: {parts}. "
            "Lower min_obs, widen window, or combine Kelly with another sizer.")


def apply_sizer(sizer: Any, target: pd.DataFrame, data: Any, *, caller: str = "backtest") -> np.ndarray:
    """Call a pandas ``sizer`` and check its output; return a (T, N) float64 array (NaN = hold)."""
    out = sizer(target, data)
    if isinstance(out, pd.Series) and target.shape[1] == 1:
        out = out.to_frame(target.columns[0])
    if not isinstance(out, pd.DataFrame) or out.shape != target.shape:
        got = type(out).__name__ if not hasattr(out, "shape") else f"shape {out.shape}"
        raise DataError(message("size", caller, f"a sizer returning a DataFrame of shape {target.shape}",
                                got))
    if not out.index.equals(target.index):
        raise DataError(message("size", caller, "a sizer returning the target's index", "another index"))
    if isinstance(out, pd.DataFrame) and set(out.columns) != set(target.columns):
        raise DataError(message("size", caller, f"a sizer returning the columns {list(target.columns)}",
                                list(out.columns)))
    values = out[list(target.columns)].to_numpy(dtype=np.float64, na_value=np.nan)  # symbol order
    if np.isinf(values).any():
        raise DataError(message("size", caller, "a sizer returning finite exposures (NaN = hold)",
                                "an infinite value"))
    return np.ascontiguousarray(values)

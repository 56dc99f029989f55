"""Strategies driven by a regime model: :class:`RegimeFiltered` and :class:`RegimeSwitch`.

A regime input is read causally, bar by bar, in one of these forms:

* a **model with** ``filter(data)`` returning filtered state probabilities (a DataFrame with
  columns ``state_0 .. state_{K-1}``, NaN during its warm-up), such as
  :class:`quantlab.regime.HMMRegime` or :class:`quantlab.regime.GarchRegime`;
* a **model with** ``allowed(data)`` returning a boolean Series (the older
  :class:`~quantlab.strategy.RegimeModel` interface);
* a **pandas object** aligned with the data: booleans (allowed), probabilities in [0, 1],
  or (for :class:`RegimeSwitch`) integer state labels.

Whatever the form, the value at bar t must be computable from data up to t: a filtered, never
a smoothed, probability. :func:`quantlab.check_causality` verifies it by truncating the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import message
from quantlab.errors import DataError, InvalidParameterError
from quantlab.strategy.base import RegimeModel, Strategy, param

__all__ = ["RegimeFiltered", "RegimeSwitch", "regime_probability", "regime_labels"]


def _held(signal: Any) -> np.ndarray:
    """The position a signal holds at each bar: NaN (hold) carried forward, flat before any."""
    frame = signal if isinstance(signal, pd.DataFrame) else pd.DataFrame(signal)
    return frame.ffill().fillna(0.0).to_numpy(dtype=float)


def _as_frame(template: Any, out: np.ndarray) -> Any:
    if isinstance(template, pd.DataFrame):
        return pd.DataFrame(out, index=template.index, columns=template.columns)
    return pd.Series(out[:, 0], index=template.index, name="exposure")


def _columns(values: Any, index: pd.Index, caller: str) -> np.ndarray:
    """A regime output aligned with ``index`` as a (T, 1) or (T, N) float array."""
    if not isinstance(values, pd.Series | pd.DataFrame):
        raise DataError(message("regime", caller, "a model whose output is a pandas Series or "
                                "DataFrame indexed like the data", type(values).__name__))
    aligned = values.reindex(index)
    arr = aligned.to_numpy(dtype=float)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


def regime_probability(regime: Any, data: pd.DataFrame, states: tuple[int, ...], *,
                       caller: str = "regime_probability") -> np.ndarray:
    """Return the probability, at each bar, that the regime is one of ``states``.

    Parameters
    ----------
    regime : model or pandas object
        A model with ``filter(data)`` (state probabilities: the sum over ``states`` is
        taken), a model with ``allowed(data)`` (True = 1), a boolean Series/DataFrame
        (True = 1) or a Series/DataFrame of probabilities in [0, 1].
    data : DataFrame
        The bars the strategy sees.
    states : tuple of int
        The states whose probabilities are summed (models with ``filter`` only).
    caller : str
        Named in error messages.

    Returns
    -------
    ndarray, shape (T, 1) or (T, N)
        Values in [0, 1]; 0 where the regime is unknown (NaN, warm-up; a model is not
        called on data shorter than its ``warmup``).
    """
    if _in_warmup(regime, data):
        return np.zeros((len(data), 1))
    if hasattr(regime, "filter") and callable(regime.filter) and not isinstance(
            regime, pd.Series | pd.DataFrame):
        probs = regime.filter(data)
        if not isinstance(probs, pd.DataFrame):
            raise DataError(message("regime", caller, "a model whose filter(data) returns a "
                                    "DataFrame of state probabilities", type(probs).__name__))
        names = [f"state_{k}" for k in states]
        missing = [n for n in names if n not in probs.columns]
        if missing:
            raise InvalidParameterError(message(
                "states", caller, f"states the model has ({', '.join(map(str, probs.columns))})",
                states, "Pick states between 0 and n_states - 1 (0 = the calmest)."))
        arr = probs[names].reindex(data.index).to_numpy(dtype=float).sum(axis=1, keepdims=True)
    elif isinstance(regime, pd.Series | pd.DataFrame):
        arr = _columns(regime, data.index, caller)
    else:
        arr = _columns(regime.allowed(data), data.index, caller)
    arr = np.where(np.isnan(arr), 0.0, arr)
    if arr.size and (arr.min() < -1e-12 or arr.max() > 1.0 + 1e-12):
        raise DataError(message("regime", caller, "probabilities in [0, 1] (or booleans)",
                                f"values in [{arr.min():.4g}, {arr.max():.4g}]"))
    return np.clip(arr, 0.0, 1.0)


def regime_labels(regime: Any, data: pd.DataFrame, *, caller: str = "regime_labels") -> np.ndarray:
    """Return the filtered most-likely state at each bar (NaN where unknown), shape (T, 1).

    ``regime`` is a model with ``predict(data)`` or ``filter(data)`` (argmax of the
    probabilities), or a Series of integer labels aligned with the data.
    """
    if isinstance(regime, pd.Series | pd.DataFrame):
        return _columns(regime, data.index, caller)
    if _in_warmup(regime, data):
        return np.full((len(data), 1), np.nan)
    if hasattr(regime, "predict") and callable(regime.predict):
        return _columns(regime.predict(data), data.index, caller)
    if hasattr(regime, "filter") and callable(regime.filter):
        probs = regime.filter(data).reindex(data.index)
        arr = probs.to_numpy(dtype=float)
        known = ~np.isnan(arr).any(axis=1)
        labels = np.full(len(arr), np.nan)
        labels[known] = np.argmax(arr[known], axis=1)
        return labels.reshape(-1, 1)
    raise InvalidParameterError(message("regime", caller, "a model with predict(data) or "
                                        "filter(data), or a Series of state labels",
                                        type(regime).__name__))


def _regime_warmup(regime: Any) -> int:
    return int(getattr(regime, "warmup", 0) or 0)


def _in_warmup(regime: Any, data: pd.DataFrame) -> bool:
    """Whether every bar of ``data`` lies in the model's warm-up (its regime is unknown).

    The model is then not called: some (``GarchRegime``) refuse a history that short, and
    the live runner's first decisions see exactly such prefixes. Every bar before
    ``warmup`` is NaN on the full history too, so the answer (unknown) is the same.
    """
    if isinstance(regime, pd.Series | pd.DataFrame):
        return False
    warm = _regime_warmup(regime)
    return warm > 0 and len(data) <= warm


class RegimeFiltered(Strategy):
    """Trade ``base`` only in the allowed regime (``mode="gate"``), or scaled by its probability.

    ``regime`` is a regime model (an object with ``filter(data)`` giving filtered state
    probabilities, such as :class:`quantlab.regime.HMMRegime`, or with ``allowed(data)``),
    or a pandas object aligned with the data: booleans (True = allowed) or probabilities.
    The probability of the allowed regime at bar t is the sum of the filtered probabilities
    of ``states`` (default: state 0, the calmest; models order their states by volatility).

    * ``mode="gate"``: the base strategy's position while that probability is at least
      ``threshold``, flat otherwise. Re-entering the allowed regime restores the position
      the base strategy holds at that bar (its last signal, carried forward).
    * ``mode="scale"``: the base position times the probability. The target then moves
      every bar: pair it with a ``rebalance_threshold`` band in :func:`quantlab.backtest`
      so small moves do not trade.

    Bars where the regime is unknown (its warm-up, NaN) count as probability 0: flat.
    Two instances are equal when their ``base`` strategies are equal, their ``regime`` is
    the same object (or equal by its own ``==``), and the other parameters are equal.

    Examples
    --------
    >>> from quantlab.strategies import SmaCross
    >>> class Calm:
    ...     def allowed(self, data):
    ...         return data["close"].pct_change().abs() < 0.05
    >>> RegimeFiltered(base=SmaCross(fast=10, slow=30), regime=Calm())
    RegimeFiltered(base=SmaCross(fast=10, slow=30, short=False), regime=<Calm>, mode='gate', states=(0,), threshold=0.5)
    """

    base: Strategy = None  # type: ignore[assignment]  # required: None fails validation
    regime: RegimeModel | pd.Series | pd.DataFrame = None  # type: ignore[assignment]
    mode: str = param("gate", choices=("gate", "scale"),
                      doc="gate: base or flat; scale: base times the regime probability")
    states: tuple = (0,)  # type: ignore[type-arg]
    threshold: float = param(0.5, minimum=0.0, maximum=1.0,
                             doc="gate: the allowed regime's probability needed to trade")

    def check(self) -> None:
        _check_states(self.states, "RegimeFiltered")

    @property
    def warmup(self) -> int:
        return max(self.base.warmup, _regime_warmup(self.regime))

    def signal(self, data: pd.DataFrame) -> Any:
        base = self.base.signal(data)
        held = _held(base)
        prob = regime_probability(self.regime, data, tuple(self.states), caller="RegimeFiltered")
        if self.mode == "gate":
            out = np.where(prob >= self.threshold, held, 0.0)
        else:
            out = held * prob
        return _as_frame(base, out)


class RegimeSwitch(Strategy):
    """Run one strategy per regime: at each bar, the strategy of the most likely state.

    ``strategies`` maps a state (0 = the calmest, for models that order states by
    volatility) to a strategy; in a state without one, the position is flat. Every strategy
    is computed on all the data (each keeps its own indicators warm) and holds its own
    position; the switch only picks whose position is traded. ``regime`` is a model with
    ``predict(data)`` or ``filter(data)`` (argmax of the filtered probabilities), or a
    Series of integer state labels known at each bar. Unknown state (NaN): flat.

    Examples
    --------
    >>> import pandas as pd
    >>> from quantlab.strategies import SmaCross
    >>> labels = pd.Series([0, 0, 1], index=pd.date_range("2024", periods=3, tz="UTC"))
    >>> RegimeSwitch(strategies={0: SmaCross(fast=2, slow=3)}, regime=labels)
    RegimeSwitch(strategies={0: SmaCross(fast=2, slow=3, short=False)}, regime=<Series int64, 3 rows>)
    """

    strategies: dict = None  # type: ignore[assignment, type-arg]
    regime: RegimeModel | pd.Series | pd.DataFrame = None  # type: ignore[assignment]

    def check(self) -> None:
        mapping = self.strategies
        if not isinstance(mapping, Mapping) or not mapping:
            raise InvalidParameterError(message(
                "strategies", "RegimeSwitch", "a non-empty {state: Strategy} dict",
                type(mapping).__name__, "e.g. strategies={0: SmaCross(), 1: RsiReversion()}."))
        for state, strategy in mapping.items():
            if not isinstance(state, int | np.integer) or isinstance(state, bool) or state < 0:
                raise InvalidParameterError(message("strategies", "RegimeSwitch",
                                                    "keys that are states (integers >= 0)", state))
            if not isinstance(strategy, Strategy):
                raise InvalidParameterError(message(
                    "strategies", "RegimeSwitch", "Strategy instances as values",
                    f"{type(strategy).__name__} for state {state}",
                    "Pass instances, e.g. SmaCross(fast=10, slow=30)."))

    @property
    def warmup(self) -> int:
        return max([_regime_warmup(self.regime)] + [s.warmup for s in self.strategies.values()])

    def signal(self, data: pd.DataFrame) -> Any:
        labels = regime_labels(self.regime, data, caller="RegimeSwitch")
        template = None
        out: np.ndarray | None = None
        for state, strategy in self.strategies.items():
            sig = strategy.signal(data)
            held = _held(sig)
            if out is None:
                template, out = sig, np.zeros_like(held)
            out = np.where(labels == state, held, out)
        return _as_frame(template, out)  # type: ignore[arg-type]


def _check_states(states: Any, caller: str) -> None:
    ok = isinstance(states, tuple) and len(states) > 0 and all(
        isinstance(s, int | np.integer) and not isinstance(s, bool) and s >= 0 for s in states)
    if not ok:
        raise InvalidParameterError(message("states", caller, "a non-empty tuple of states "
                                            "(integers >= 0; 0 = the calmest)", states,
                                            "e.g. states=(0,)."))

"""The Strategy base class: one object for backtest, sweep, notebooks and the live runner."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from quantlab._validate import check_bool, check_choice, check_float, check_int, did_you_mean
from quantlab.errors import InvalidParameterError

__all__ = ["Strategy", "param", "Param"]


@dataclass(frozen=True)
class Param:
    """Declaration of a strategy parameter with bounds (see :func:`param`)."""

    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""


def param(default: Any, *, minimum: float | None = None, maximum: float | None = None,
          choices: tuple[str, ...] | None = None, doc: str = "") -> Any:
    """Declare a bounded strategy parameter: ``fast: int = param(10, minimum=1)``."""
    return Param(default, minimum, maximum, choices, doc)


class Strategy:
    """Base class of every strategy.

    Declare parameters as annotated class attributes (``int``, ``float``, ``bool``, ``str``)
    with a default or a :func:`param` declaration; instances are frozen and validated, with
    the parameters in ``repr`` and in the ``params`` dict.

    Subclasses implement :meth:`signal` (data up to each bar -> target exposure in [-1, 1];
    NaN = hold the current position) and :attr:`warmup` (bars needed before the signal is
    meaningful), and may override :meth:`check` for constraints between parameters.

    The same instance drives :func:`quantlab.backtest`, :func:`quantlab.sweep` and the live
    runner, which calls ``signal`` on a trailing window of at least ``warmup`` bars.

    Examples
    --------
    >>> class Momentum(Strategy):
    ...     window: int = param(20, minimum=1)
    ...     @property
    ...     def warmup(self) -> int:
    ...         return self.window + 1
    ...     def signal(self, data):
    ...         return (data["close"].pct_change(self.window) > 0).astype(float)
    >>> Momentum(window=5)
    Momentum(window=5)
    """

    _params: ClassVar[dict[str, tuple[type, Param]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = typing.get_type_hints(cls)
        params: dict[str, tuple[type, Param]] = dict(getattr(cls, "_params", {}))
        for name in cls.__dict__.get("__annotations__", {}):
            kind = hints.get(name)
            if name.startswith("_") or typing.get_origin(kind) is ClassVar or name not in cls.__dict__:
                continue
            raw = cls.__dict__[name]
            params[name] = (kind, raw if isinstance(raw, Param) else Param(raw))
            delattr(cls, name)  # instances read parameters from their validated values
        cls._params = params

    def __init__(self, **params: Any) -> None:
        caller = type(self).__name__
        declared = type(self)._params
        for key in params:
            if key not in declared:
                hint = did_you_mean(key, declared) or f"Parameters: {', '.join(declared) or 'none'}."
                raise InvalidParameterError(f"{caller}() got an unknown parameter `{key}`. {hint}")
        values = {}
        for name, (kind, spec) in declared.items():
            value = params.get(name, spec.default)
            values[name] = _check_param(name, value, kind, spec, caller)
        object.__setattr__(self, "_values", values)
        self.check()

    @classmethod
    def _from_valid(cls, values: dict[str, Any]) -> Strategy:
        """An instance from parameter values already validated one by one (all declared
        parameters, in declaration order); runs only :meth:`check`. For ``sweep``, which
        validates each grid value once instead of once per combination."""
        self = object.__new__(cls)
        object.__setattr__(self, "_values", values)
        self.check()
        return self

    def check(self) -> None:
        """Validate constraints between parameters (override; raise InvalidParameterError)."""

    @property
    def params(self) -> dict[str, Any]:
        """The parameters as a dict (a copy)."""
        return dict(self._values)

    @property
    def warmup(self) -> int:
        """Bars of history needed before the signal is meaningful."""
        return 0

    def signal(self, data: pd.DataFrame) -> pd.Series | pd.DataFrame:
        """Target exposure per bar in [-1, 1] computed from data up to each bar (NaN = hold)."""
        raise NotImplementedError(f"{type(self).__name__} must implement signal(data)")

    def replace(self, **changes: Any) -> Strategy:
        """Return a copy with some parameters changed."""
        return type(self)(**{**self._values, **changes})

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen; use .replace({name}=...) for a modified copy.")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__qualname__, tuple(sorted((k, repr(v)) for k, v in self._values.items()))))


def _check_param(name: str, value: Any, kind: Any, spec: Param, caller: str) -> Any:
    if kind is int:
        return check_int(name, value, caller=caller, minimum=_int_or_none(spec.minimum), maximum=_int_or_none(spec.maximum))
    if kind is float:
        return check_float(name, value, caller=caller, minimum=spec.minimum, maximum=spec.maximum)
    if kind is bool:
        return check_bool(name, value, caller=caller)
    if kind is str and spec.choices:
        return check_choice(name, value, spec.choices, caller=caller)
    if kind is str and not isinstance(value, str):
        raise InvalidParameterError(f"`{name}` of {caller}() must be a string; got {value!r}.")
    return value


def _int_or_none(x: float | None) -> int | None:
    return None if x is None else int(x)

"""The Strategy base class: one object for backtest, sweep, notebooks and the live runner."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from quantlab._validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    did_you_mean,
    message,
)
from quantlab.errors import InvalidParameterError

__all__ = ["Strategy", "param", "Param", "RegimeModel", "KeywordOnlyError", "check_instance", "as_exposure"]


class KeywordOnlyError(InvalidParameterError, TypeError):
    """Strategy parameters were passed by position; they are keyword-only.

    Both an :class:`~quantlab.errors.InvalidParameterError` and a ``TypeError`` (what Python
    raises for a call with the wrong arguments), so either ``except`` catches it.
    """


def check_instance(strategy: Any, name: str, *, caller: str) -> None:
    """Refuse a strategy *class* where an instance is expected, saying how to make one.

    Examples
    --------
    >>> class Hold(Strategy):
    ...     def signal(self, data):
    ...         return data["close"] * 0.0
    >>> check_instance(Hold, "strategy", caller="check_causality")
    Traceback (most recent call last):
    ...
    quantlab.errors.InvalidParameterError: `strategy` of check_causality() must be a strategy instance; got the class Hold. Pass an instance: Hold().
    """
    if not isinstance(strategy, type):
        return
    cls_name = strategy.__name__
    declared = list(getattr(strategy, "_params", {}) or {})
    remedy = f"Pass an instance: {cls_name}()"
    remedy += f" (parameters by keyword: {', '.join(declared)})." if declared else "."
    raise InvalidParameterError(message(name, caller, "a strategy instance",
                                        _Text(f"the class {cls_name}"), remedy))


def as_exposure(signal: Any) -> Any:
    """A strategy's signal as float exposures: a boolean signal reads True = 1 (long),
    False = 0 (flat); anything else is returned unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> as_exposure(pd.Series([True, False])).tolist()
    [1.0, 0.0]
    """
    if isinstance(signal, pd.DataFrame):
        bools = [c for c in signal.columns if pd.api.types.is_bool_dtype(signal[c].dtype)]
        if not bools:
            return signal
        return signal.astype({c: np.float64 for c in bools})
    if isinstance(signal, pd.Series | np.ndarray) and pd.api.types.is_bool_dtype(signal.dtype):
        return signal.astype(np.float64)
    return signal


class _Text:
    """A value shown in an error message as plain text (no quotes)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


@runtime_checkable
class RegimeModel(Protocol):
    """Anything that says, causally, at which bars trading is allowed.

    The simplest interface :class:`~quantlab.strategies.RegimeFiltered` consumes:
    ``allowed(data)`` returns a boolean Series (or DataFrame, one column per symbol) aligned
    with ``data``, whose value at bar t uses data up to bar t only (a filtered, not a
    smoothed, probability). An optional ``warmup`` attribute gives the bars it needs before
    its answer is meaningful. The regime models of :mod:`quantlab.regime` offer the richer
    ``filter(data)`` (state probabilities) and ``predict(data)`` (state labels), which the
    regime strategies accept as well (:mod:`quantlab.strategy.regime`).

    Examples
    --------
    >>> class AlwaysOn:
    ...     def allowed(self, data):
    ...         return data["close"] > 0
    >>> isinstance(AlwaysOn(), RegimeModel)
    True
    """

    def allowed(self, data: pd.DataFrame) -> pd.Series | pd.DataFrame:  # pragma: no cover
        """Return True at the bars where trading is allowed (known at that bar)."""
        ...


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
    the parameters in ``repr`` and in the ``params`` dict. A parameter may also hold an
    object, declared by its type: another ``Strategy``, a :class:`RegimeModel`, a pandas
    object, or a union of them (``regime: RegimeModel | pd.Series``). Such a value is
    checked with ``isinstance``, compared by its own ``==`` when it has value semantics
    (a strategy) and by identity otherwise (a pandas object is never compared element by
    element), and shown in ``repr`` in one short line.

    Subclasses implement :meth:`signal` (data up to each bar -> target exposure in [-1, 1];
    NaN = hold the current position; a boolean signal means True = 1, long, and False = 0,
    flat) and :attr:`warmup` (bars needed before the signal is meaningful), and may override
    :meth:`check` for constraints between parameters.

    Parameters are keyword-only: ``SmaCross(fast=10, slow=30)``; ``SmaCross(10, 30)`` raises
    :class:`KeywordOnlyError` (an ``InvalidParameterError`` and a ``TypeError``) naming them.

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

    _params: ClassVar[dict[str, tuple[Any, Param]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = typing.get_type_hints(cls)
        params: dict[str, tuple[Any, Param]] = dict(getattr(cls, "_params", {}))
        for name in cls.__dict__.get("__annotations__", {}):
            kind = hints.get(name)
            if name.startswith("_") or typing.get_origin(kind) is ClassVar or name not in cls.__dict__:
                continue
            raw = cls.__dict__[name]
            params[name] = (kind, raw if isinstance(raw, Param) else Param(raw))
            delattr(cls, name)  # instances read parameters from their validated values
        cls._params = params

    def __init__(self, *args: Any, **params: Any) -> None:
        caller = type(self).__name__
        declared = type(self)._params
        if args:
            raise KeywordOnlyError(_positional_message(caller, list(declared), args))
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
        """Target exposure per bar in [-1, 1] computed from data up to each bar (NaN = hold).

        A boolean Series/DataFrame is accepted as exposure True = 1 (long), False = 0 (flat);
        see :func:`as_exposure`.
        """
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
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in self._values.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        mine, theirs = self._values, other._values
        return mine.keys() == theirs.keys() and all(_same(mine[k], theirs[k]) for k in mine)

    def __hash__(self) -> int:
        return hash((type(self).__qualname__,
                     tuple(sorted((k, _hash_key(v)) for k, v in self._values.items()))))


# ---------------------------------------------------------------------------- value semantics

_LITERALS = (int, float, bool, str, type(None), np.integer, np.floating, np.bool_)
#: Containers compared element by element by ``==``: parameters holding them compare by identity.
_ARRAYS = (pd.Series, pd.DataFrame, pd.Index, np.ndarray)
_MAX_REPR = 80


def _same(a: Any, b: Any) -> bool:
    """Parameter equality: identity for arrays and pandas objects, else ``==`` if it is a bool."""
    if a is b:
        return True
    if isinstance(a, _ARRAYS) or isinstance(b, _ARRAYS):
        return False
    try:
        result = a == b
    except (TypeError, ValueError):  # e.g. a tuple holding a Series: no element-wise answer
        return False
    return bool(result) if isinstance(result, bool | np.bool_) else False


def _hash_key(value: Any) -> Any:
    """A hashable stand-in for a parameter value, consistent with :func:`_same`."""
    if isinstance(value, _ARRAYS):
        return ("id", id(value))
    try:
        return hash(value)
    except TypeError:  # __eq__ without __hash__: equal objects must hash alike, so one bucket
        return ("unhashable", 0)


def _short_repr(value: Any) -> str:
    """One short line for a parameter value: literals and strategies as themselves,
    pandas/numpy objects by type and shape, other objects by their own repr when it is a
    short single line, else ``<TypeName>``."""
    if isinstance(value, _LITERALS) or isinstance(value, Strategy):
        return repr(value)
    if type(value) is dict:  # e.g. {state: strategy}: each value in its own short form
        return "{" + ", ".join(f"{k!r}: {_short_repr(v)}" for k, v in value.items()) + "}"
    if type(value) is tuple:
        inner = ", ".join(_short_repr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    name = type(value).__name__
    if isinstance(value, pd.Series):
        return f"<Series {value.dtype}, {len(value)} rows>"
    if isinstance(value, pd.DataFrame):
        return f"<DataFrame {value.shape[0]}x{value.shape[1]}>"
    if isinstance(value, np.ndarray | pd.Index):
        return f"<{name} {value.dtype}, shape {value.shape}>"
    if type(value).__repr__ is not object.__repr__:
        try:
            text = repr(value)
        except Exception:  # noqa: BLE001 - a broken __repr__ must not break ours
            text = ""
        if text and "\n" not in text and len(text) <= _MAX_REPR:
            return text
    return f"<{name}>"


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
    members = _object_kinds(kind)
    if members and not any(_is_instance(value, member) for member in members):
        raise InvalidParameterError(message(name, caller, " or ".join(map(_describe, members)),
                                            _Shown(value), _remedy(name, members)))
    return value


def _object_kinds(kind: Any) -> tuple[type, ...]:
    """The classes an object parameter's annotation allows (``A | B`` -> ``(A, B)``); empty
    when the annotation is not a class or a union of classes (``Any``: nothing checked)."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        members = typing.get_args(kind)
        return members if all(isinstance(m, type) for m in members) else ()
    return (kind,) if isinstance(kind, type) and kind not in (int, float, bool, str) else ()


def _is_instance(value: Any, kind: type) -> bool:
    if kind is RegimeModel:  # runtime_checkable only tests that the attribute exists
        return not isinstance(value, Strategy) and any(
            callable(getattr(value, attr, None)) for attr in ("allowed", "filter", "predict"))
    return isinstance(value, kind)


def _describe(kind: type) -> str:
    if kind is type(None):
        return "None"
    if kind is RegimeModel:
        return ("a regime model (an object with allowed(data) -> boolean Series, or "
                "filter(data) -> state probabilities, or predict(data) -> state labels)")
    if issubclass(kind, Strategy):
        return f"{_article(kind.__name__)} {kind.__name__} instance"
    if kind.__module__.startswith("pandas"):
        return f"a pandas {kind.__name__}"
    return f"{_article(kind.__name__)} {kind.__name__}"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _remedy(name: str, members: tuple[type, ...]) -> str | None:
    if any(issubclass(m, Strategy) for m in members):
        return f"Pass a strategy object, e.g. {name}=SmaCross(fast=10, slow=30)."
    if RegimeModel in members:
        return ("Pass an object whose allowed(data) says, causally, at which bars trading is "
                "allowed (e.g. a fitted regime model).")
    return None


class _Shown:
    """A value shown in an error message by its short repr (never a whole Series)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return _short_repr(self.value)


def _positional_message(caller: str, declared: list[str], args: tuple[Any, ...]) -> str:
    """The message for ``Cls(10, 30)``: the parameters are keyword-only; name them."""
    listed = ", ".join(f"`{n}`" for n in declared) if declared else "none"
    text = (f"{caller}() takes its parameters by keyword only; got {len(args)} positional "
            f"argument(s). Parameters: {listed}.")
    if declared and len(args) <= len(declared):
        shown = ", ".join(f"{n}={_short_repr(a)}" for n, a in zip(declared, args, strict=False))
        text += f" Write {caller}({shown})."
    return text


def _int_or_none(x: float | None) -> int | None:
    return None if x is None else int(x)

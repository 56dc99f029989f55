"""The built-in strategies by name: what a notebook parameter or the command line can spell.

:data:`STRATEGIES` is a constant table built from the classes of
:mod:`quantlab.strategy.builtin` and :mod:`quantlab.strategy.regime`; nothing registers
itself at import. A new built-in is one more entry in it.

Parameters that hold objects are spelled as **specs**, strings of the form
``Name(key=literal, ...)`` read with :mod:`ast` (never ``eval``): a strategy parameter takes a
strategy spec (``base="SmaCross(fast=10, slow=30)"``), a regime parameter a regime-model
spec (``regime="HMMRegime(n_states=2, refit_every=250)"``, the names of
:data:`quantlab.regime.REGIMES`), a ``{state: strategy}`` parameter a dict of strategy specs,
and a tuple parameter a tuple literal (``states="(0, 1)"``) or a list.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from quantlab._spec import parse_spec
from quantlab._validate import did_you_mean, message
from quantlab.errors import InvalidParameterError
from quantlab.strategy.base import RegimeModel, Strategy, _object_kinds
from quantlab.strategy.builtin import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RsiReversion,
    SmaCross,
)
from quantlab.strategy.regime import RegimeFiltered, RegimeSwitch

__all__ = ["STRATEGIES", "strategy_names", "strategy_class", "strategy_from_name", "parse_spec"]

#: Every built-in strategy class by its class name (read-only).
STRATEGIES: Mapping[str, type[Strategy]] = MappingProxyType({
    cls.__name__: cls for cls in (SmaCross, EmaCross, RsiReversion, BollingerReversion,
                                  DonchianBreakout, RegimeFiltered, RegimeSwitch)
})

_LITERAL_KINDS = (int, float, bool, str)
#: Object parameter types a string can still spell (see the module docstring).
_SPEC_KINDS = (Strategy, RegimeModel, dict, tuple)


def _spellable(kind: Any) -> bool:
    if kind in _LITERAL_KINDS:
        return True
    members = _object_kinds(kind)
    return bool(members) and any(m in _SPEC_KINDS or (isinstance(m, type) and issubclass(m, Strategy))
                                 for m in members)


def _literal_only(cls: type[Strategy]) -> bool:
    """True when every declared parameter of ``cls`` is a literal or a spec-able object."""
    return all(_spellable(kind) for kind, _ in cls._params.values())


def _from_spec(value: Any, kind: Any, key: str, caller: str) -> Any:
    """A parameter value given as text (a spec, a literal) turned into the declared object."""
    members = _object_kinds(kind)
    if not members:
        return value
    if isinstance(value, str) and any(isinstance(m, type) and issubclass(m, Strategy) for m in members):
        cls_name, kwargs = parse_spec(value, name=key, caller=caller)
        return strategy_from_name(cls_name, caller=caller, **kwargs)
    if isinstance(value, str) and RegimeModel in members:
        from quantlab.regime import regime_from_spec  # the models load hmmlearn/arch: lazily

        return regime_from_spec(value, name=key, caller=caller)
    if dict in members:
        if isinstance(value, str):
            value = _literal(value, key, caller)
        if isinstance(value, Mapping):
            return {state: (_from_spec(v, Strategy, key, caller) if isinstance(v, str) else v)
                    for state, v in value.items()}
    if tuple in members:
        if isinstance(value, str):
            value = _literal(value, key, caller)
        if isinstance(value, list):
            return tuple(value)
    return value


def _literal(text: str, key: str, caller: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise InvalidParameterError(message(key, caller, "a Python literal", text)) from None


def strategy_names() -> list[str]:
    """Return the built-in strategies a name can build.

    Returns
    -------
    list of str
        The names of :data:`STRATEGIES` in table order whose parameters are all literal
        values or objects a spec can spell (see the module docstring): all of them today.

    Examples
    --------
    >>> "SmaCross" in strategy_names(), "RegimeFiltered" in strategy_names()
    (True, True)
    """
    return [name for name, cls in STRATEGIES.items() if _literal_only(cls)]


def strategy_class(name: str, *, caller: str = "strategy_class") -> type[Strategy]:
    """Return the built-in strategy class called ``name`` (exact, else a did-you-mean error).

    Parameters
    ----------
    name : str
        Class name such as ``"SmaCross"``; matching ignores case (``"smacross"`` works).
    caller : str, default "strategy_class"
        Function (or notebook) named in error messages.

    Returns
    -------
    type
        The class from :data:`STRATEGIES`.

    Raises
    ------
    InvalidParameterError
        Unknown name, or a strategy whose parameters are objects (``RegimeFiltered``),
        which literal parameters cannot express.

    Examples
    --------
    >>> strategy_class("emacross").__name__
    'EmaCross'
    """
    names = strategy_names()
    if isinstance(name, str):
        lowered = {n.lower(): n for n in names}
        if name.lower() in lowered:
            return STRATEGIES[lowered[name.lower()]]
        if name in STRATEGIES:
            raise InvalidParameterError(message(
                "strategy", caller, "a strategy with literal parameters: " + ", ".join(names),
                name, f"{name} takes objects as parameters; build it in code and call "
                      "quantlab.backtest() directly."))
    hint = did_you_mean(name, names) if isinstance(name, str) else None
    raise InvalidParameterError(message("strategy", caller, "one of " + ", ".join(names), name,
                                        hint))


def strategy_from_name(name: str, /, *, caller: str = "strategy_from_name",
                       **params: Any) -> Strategy:
    """Build a built-in strategy from its name and keyword parameters.

    Parameters
    ----------
    name : str
        A name of :func:`strategy_names` (case-insensitive).
    caller : str, default "strategy_from_name"
        Function (or notebook) named in error messages.
    **params
        Parameters of the strategy; missing ones keep their defaults. An object parameter
        may be given as a spec string (see the module docstring).

    Returns
    -------
    Strategy
        ``strategy_class(name)(**params)``, specs built first.

    Raises
    ------
    InvalidParameterError
        Unknown strategy (did-you-mean), an unknown parameter (did-you-mean, raised by the
        strategy), a value out of its bounds.

    Examples
    --------
    >>> strategy_from_name("smacross", fast=20, slow=50)
    SmaCross(fast=20, slow=50, short=False)
    >>> strategy_from_name("RegimeFiltered", base="SmaCross(fast=5, slow=20)",
    ...                    regime="GarchRegime(refit_every=63)").base
    SmaCross(fast=5, slow=20, short=False)
    """
    cls = strategy_class(name, caller=caller)
    declared = cls._params
    built = {key: (_from_spec(value, declared[key][0], key, caller) if key in declared else value)
             for key, value in params.items()}
    return cls(**built)

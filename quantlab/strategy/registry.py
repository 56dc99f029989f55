"""The built-in strategies by name: what a notebook parameter or the command line can spell.

:data:`STRATEGIES` is a constant table built from the classes of
:mod:`quantlab.strategy.builtin`; nothing registers itself at import. A new built-in is one
more entry in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from quantlab._validate import did_you_mean, message
from quantlab.errors import InvalidParameterError
from quantlab.strategy.base import Strategy
from quantlab.strategy.builtin import (
    BollingerReversion,
    DonchianBreakout,
    EmaCross,
    RegimeFiltered,
    RsiReversion,
    SmaCross,
)

__all__ = ["STRATEGIES", "strategy_names", "strategy_class", "strategy_from_name"]

#: Every built-in strategy class by its class name (read-only).
STRATEGIES: Mapping[str, type[Strategy]] = MappingProxyType({
    cls.__name__: cls for cls in (SmaCross, EmaCross, RsiReversion, BollingerReversion,
                                  DonchianBreakout, RegimeFiltered)
})

_LITERAL_KINDS = (int, float, bool, str)


def _literal_only(cls: type[Strategy]) -> bool:
    """True when every declared parameter of ``cls`` is an int, float, bool or str."""
    return all(kind in _LITERAL_KINDS for kind, _ in cls._params.values())


def strategy_names() -> list[str]:
    """Return the built-in strategies a name can build (their parameters all literal values).

    Returns
    -------
    list of str
        The names of :data:`STRATEGIES` in table order, without the strategies whose
        parameters are objects (``RegimeFiltered``), which a string cannot express.

    Examples
    --------
    >>> "SmaCross" in strategy_names(), "RegimeFiltered" in strategy_names()
    (True, False)
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
        Parameters of the strategy; missing ones keep their defaults.

    Returns
    -------
    Strategy
        ``strategy_class(name)(**params)``.

    Raises
    ------
    InvalidParameterError
        Unknown strategy (did-you-mean), an unknown parameter (did-you-mean, raised by the
        strategy), a value out of its bounds.

    Examples
    --------
    >>> strategy_from_name("smacross", fast=20, slow=50)
    SmaCross(fast=20, slow=50, short=False)
    """
    return strategy_class(name, caller=caller)(**params)

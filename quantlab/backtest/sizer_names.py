"""Position sizers by name: what a notebook parameter or the command line can spell.

:data:`SIZER_NAMES` maps a name to a class of :mod:`quantlab.backtest.sizers`, looked up
there when a sizer is built (nothing registers itself at import). A new sizer is one more
line in it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from quantlab._validate import check_choice, did_you_mean
from quantlab.errors import InvalidParameterError

__all__ = ["SIZER_NAMES", "sizer_class", "sizer_from_name"]

#: Sizer name -> class name in :mod:`quantlab.backtest.sizers` (read-only).
SIZER_NAMES: Mapping[str, str] = MappingProxyType({
    "fixed_fraction": "FixedFraction",
    "vol_target": "VolTarget",
    "atr_risk": "AtrRisk",
    "kelly": "Kelly",
    "var_budget": "VarBudget",
})


def sizer_class(name: str, *, caller: str = "sizer_class") -> type:
    """Return the sizer class called ``name`` (a key of :data:`SIZER_NAMES`).

    Raises
    ------
    InvalidParameterError
        Unknown name (did-you-mean).

    Examples
    --------
    >>> sizer_class("fixed_fraction").__name__
    'FixedFraction'
    """
    from quantlab.backtest import sizers

    key = check_choice("sizer", name, sorted(SIZER_NAMES), caller=caller)
    cls: type = getattr(sizers, SIZER_NAMES[key])
    return cls


def sizer_from_name(name: str, /, *, caller: str = "sizer_from_name", **params: Any) -> Any:
    """Build a position sizer (the ``size`` option of :func:`quantlab.backtest`) by name.

    Parameters
    ----------
    name : str
        A key of :data:`SIZER_NAMES` (``"fixed_fraction"``).
    caller : str, default "sizer_from_name"
        Function (or notebook) named in error messages.
    **params
        Keyword arguments of the sizer, e.g. ``fraction=0.5``.

    Returns
    -------
    Sizer
        The sizer, e.g. ``FixedFraction(0.5)``.

    Raises
    ------
    InvalidParameterError
        Unknown sizer or parameter (did-you-mean), or a value the sizer refuses.

    Examples
    --------
    >>> sizer_from_name("fixed_fraction", fraction=0.5)
    FixedFraction(fraction=0.5)
    """
    cls = sizer_class(name, caller=caller)
    signature = inspect.signature(cls).parameters
    known = [p for p in signature if p != "self"]
    for arg in params:
        if arg not in known:
            hint = did_you_mean(arg, known) or f"Parameters of {name}: {', '.join(known)}."
            raise InvalidParameterError(f"{caller}() got an unknown parameter `{arg}` of sizer "
                                        f"{name!r}. {hint}")
    missing = [p for p in known if signature[p].default is inspect.Parameter.empty
               and p not in params]
    if missing:
        raise InvalidParameterError(f"{caller}() needs the parameter(s) {', '.join(missing)} "
                                    f"of sizer {name!r}; got {sorted(params) or 'none'}. "
                                    f"Pass them, e.g. {missing[0]}=0.1.")
    return cls(**params)


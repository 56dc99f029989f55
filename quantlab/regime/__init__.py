"""Regime models: HMM (on hmmlearn) and GARCH volatility regimes (on arch), all causal.

>>> from quantlab.regime import HMMRegime, GarchRegime, garch_volatility  # doctest: +SKIP

* :class:`HMMRegime` - a Gaussian hidden Markov model fitted by hmmlearn, read through a
  forward filter (probabilities at bar t use data up to t), states ordered by volatility
  (state 0 = the calmest) on every fit, refits on a schedule, a streaming ``update``.
* :func:`garch_volatility` - one-step-ahead conditional volatility from arch's GARCH fits on
  a refit schedule (the value at t uses data up to t - 1); :class:`GarchRegime` turns it
  into volatility regimes with thresholds from each fitting window.

The names load on first use (hmmlearn and arch are heavy imports).
"""

from __future__ import annotations

import importlib
from typing import Any

from quantlab._spec import parse_spec
from quantlab._validate import did_you_mean, message
from quantlab.errors import InvalidParameterError

__all__ = ["HMMRegime", "GarchRegime", "garch_volatility", "fit_garch", "GarchFit",
           "REGIMES", "regime_from_spec"]

#: public name -> the module defining it (imported on first access)
_LAZY = {
    "HMMRegime": "quantlab.regime.hmm",
    "GarchRegime": "quantlab.regime.garch",
    "garch_volatility": "quantlab.regime.garch",
    "fit_garch": "quantlab.regime.garch",
    "GarchFit": "quantlab.regime.garch",
}

#: The regime models a spec string can name (``regime_from_spec``).
REGIMES: tuple[str, ...] = ("HMMRegime", "GarchRegime")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'quantlab.regime' has no attribute {name!r}")


def regime_from_spec(text: str, *, name: str = "regime", caller: str = "regime_from_spec") -> Any:
    """Build a regime model from a spec such as ``"HMMRegime(n_states=2, refit_every=250)"``.

    Parameters
    ----------
    text : str
        ``Name(key=literal, ...)`` with ``Name`` one of :data:`REGIMES`.
    name : str, default "regime"
        The parameter the spec was given for (named in error messages).
    caller : str, default "regime_from_spec"
        Function (or notebook) named in error messages.

    Returns
    -------
    HMMRegime or GarchRegime
        An unfitted model: give it ``refit_every`` so it fits itself, bar by bar, on past
        data only (a spec cannot carry a model fitted in a notebook).

    Raises
    ------
    InvalidParameterError
        Not a spec, an unknown model name (did-you-mean), or a parameter the model refuses.

    Examples
    --------
    >>> regime_from_spec("GarchRegime(refit_every=63)").refit_every
    63
    """
    cls_name, kwargs = parse_spec(text, name=name, caller=caller)
    if cls_name not in REGIMES:
        raise InvalidParameterError(message(name, caller, "a regime model spec naming one of "
                                            + ", ".join(REGIMES), text,
                                            did_you_mean(cls_name, REGIMES)))
    return __getattr__(cls_name)(**kwargs)

"""The regime and risk report's parameters, validated before any work (its 2nd cell).

``notebooks/regime_risk_report.ipynb`` calls :func:`regime_risk_setup` on its parameters; the
report runner calls the same function before starting a kernel, so a bad value fails at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from quantlab._validate import check_choice, check_float, check_int, message
from quantlab.errors import InvalidParameterError
from quantlab.report.notebook_helpers import (
    SMOKE_BARS,
    command_html,
    load_bars,
    make_strategy,
    report_command,
    smoke_mode,
)

__all__ = ["RegimeRiskSetup", "regime_risk_setup", "REGIME_MODELS"]

_CALLER = "regime_risk_report"
_NOTEBOOK = "notebooks/regime_risk_report.ipynb"
#: The regime models the report can fit, by parameter value.
REGIME_MODELS = ("hmm", "garch")


@dataclass(frozen=True)
class RegimeRiskSetup:
    """The validated parameters of a regime and risk report (see :func:`regime_risk_setup`).

    Attributes
    ----------
    data : DataFrame
        The bars.
    label : str
        The data's name in titles.
    model : HMMRegime or GarchRegime
        The regime model, unfitted: it refits itself on past data every ``refit_every`` bars.
    base : Strategy
        The strategy the regime filters.
    filtered : RegimeFiltered
        ``base`` gated (or scaled) by the model's filtered probability of ``states``.
    kelly : Kelly
        The Kelly sizer of the sized variant (``source="edge"``).
    options : dict
        Backtest options shared by every run (fees, fill).
    var_methods : tuple of str
    confidence : float
    var_window : int
    smoke : bool
    parameters : dict
        Every parameter in effect (for :attr:`command`).
    """

    data: pd.DataFrame
    label: str
    model: Any
    base: Any
    filtered: Any
    kelly: Any
    options: dict[str, Any]
    var_methods: tuple[str, ...]
    confidence: float
    var_window: int
    smoke: bool
    parameters: dict[str, Any]

    @property
    def command(self) -> str:
        """The ``quantlab report`` command that reproduces this run."""
        return report_command(_NOTEBOOK, self.parameters)

    def _repr_html_(self) -> str:
        summary = (f"{self.label}: {len(self.data)} bars, {self.model!r}; {self.filtered!r}; "
                   f"VaR {self.confidence:.1%} by {', '.join(self.var_methods)}"
                   + (" (smoke)" if self.smoke else ""))
        return command_html(self.command, summary)


def regime_risk_setup(*, dataset: str | None = "aapl", store: str | None = None,
                      symbol: str | None = None, timeframe: str | None = "1d",
                      csv: str | None = None, start: str | None = None, end: str | None = None,
                      regime_model: str = "hmm", n_states: int = 2, refit_every: int = 63,
                      window: int | None = None, n_init: int = 5, seed: int = 7,
                      states: Sequence[int] = (0,), mode: str = "gate",
                      strategy: str = "SmaCross",
                      strategy_params: Mapping[str, Any] | None = None,
                      var_methods: Sequence[str] = ("historical", "parametric", "cornish_fisher",
                                                    "ewma", "garch"),
                      confidence: float = 0.99, var_window: int = 250,
                      kelly_fraction: float = 0.5, kelly_window: int = 100,
                      fee_bps: float = 10.0, fill: str = "next_open",
                      smoke: bool = False) -> RegimeRiskSetup:
    """Validate a regime and risk report's parameters and load its data.

    Parameters
    ----------
    dataset, store, symbol, timeframe, csv, start, end
        Where the bars come from (:func:`quantlab.report.notebook_helpers.load_bars`).
    regime_model : {"hmm", "garch"}, default "hmm"
        :class:`quantlab.regime.HMMRegime` on log returns, or
        :class:`quantlab.regime.GarchRegime` (volatility quantiles of GARCH forecasts).
    n_states : int, default 2
        Regimes (states) of the model.
    refit_every : int, default 63
        Bars between refits (each on data before the refit bar only).
    window : int, optional
        Rolling training window in bars; None = expanding.
    n_init, seed : int
        HMM restarts per fit and the seed they are derived from.
    states : sequence of int, default (0,)
        The regimes the strategy trades in (0 = the calmest).
    mode : {"gate", "scale"}, default "gate"
        :class:`quantlab.strategies.RegimeFiltered`'s mode.
    strategy, strategy_params
        The base strategy (:func:`quantlab.strategy.registry.strategy_from_name`).
    var_methods : sequence of str
        Methods of :func:`quantlab.risk.var` forecast and backtested.
    confidence : float, default 0.99
    var_window : int, default 250
        Bars behind each VaR forecast (>= 50 for the GARCH methods).
    kelly_fraction : float, default 0.5
        Fraction of Kelly of the sized variant (in (0, 1]).
    kelly_window : int, default 100
        Bars of the strategy's edge estimate behind the Kelly size.
    fee_bps : float, default 10
    fill : {"next_open", "close"}
    smoke : bool, default False
        Keep only the last bars (also on with ``QUANTLAB_SMOKE=1``), fewer restarts.

    Returns
    -------
    RegimeRiskSetup

    Raises
    ------
    InvalidParameterError, DataError
        The first bad parameter, in the house format.

    Examples
    --------
    >>> setup = regime_risk_setup(regime_model="garch", smoke=True)
    >>> len(setup.data), type(setup.model).__name__
    (750, 'GarchRegime')
    """
    from quantlab.backtest.sizers import Kelly
    from quantlab.regime import GarchRegime, HMMRegime
    from quantlab.risk.var import METHODS
    from quantlab.strategies import RegimeFiltered

    caller = _CALLER
    parameters = {"dataset": dataset, "store": store, "symbol": symbol, "timeframe": timeframe,
                  "csv": csv, "start": start, "end": end, "regime_model": regime_model,
                  "n_states": n_states, "refit_every": refit_every, "window": window,
                  "n_init": n_init, "seed": seed, "states": list(states) if isinstance(
                      states, tuple) else states, "mode": mode, "strategy": strategy,
                  "strategy_params": strategy_params, "var_methods": list(var_methods)
                  if isinstance(var_methods, tuple) else var_methods,
                  "confidence": confidence, "var_window": var_window,
                  "kelly_fraction": kelly_fraction, "kelly_window": kelly_window,
                  "fee_bps": fee_bps, "fill": fill, "smoke": smoke}
    smoke = smoke_mode(smoke)
    regime_model = check_choice("regime_model", regime_model, REGIME_MODELS, caller=caller)
    n_states = check_int("n_states", n_states, caller=caller, minimum=2, maximum=5)
    refit_every = check_int("refit_every", refit_every, caller=caller, minimum=1)
    n_init = check_int("n_init", n_init, caller=caller, minimum=1)
    if smoke:
        n_init = min(n_init, 2)
    base = make_strategy(strategy, strategy_params, caller=caller)
    if regime_model == "hmm":
        model: Any = HMMRegime(n_states, n_init=n_init, seed=seed, refit_every=refit_every,
                               window=window)
    else:
        model = GarchRegime(n_states, refit_every=refit_every, window=window)
    if (not isinstance(states, Sequence) or isinstance(states, str) or not states
            or any(not isinstance(k, int) or not 0 <= k < n_states for k in states)):
        raise InvalidParameterError(message("states", caller, "a non-empty list of states "
                                            f"from 0 to n_states - 1 = {n_states - 1} "
                                            "(0 = the calmest)", states, "e.g. [0]."))
    filtered = RegimeFiltered(base=base, regime=model, mode=mode, states=tuple(states))
    if isinstance(var_methods, str) or not var_methods:
        raise InvalidParameterError(message("var_methods", caller, "a non-empty list of "
                                            "methods", var_methods))
    methods = tuple(check_choice("var_methods", m, METHODS, caller=caller) for m in var_methods)
    confidence = check_float("confidence", confidence, caller=caller, minimum=0.5,
                             maximum=0.9999, exclusive_minimum=True)
    var_window = check_int("var_window", var_window, caller=caller, minimum=50)
    kelly = Kelly(fraction=kelly_fraction, window=check_int("kelly_window", kelly_window,
                                                            caller=caller, minimum=10),
                  min_obs=20, source="edge")
    fee = check_float("fee_bps", fee_bps, caller=caller, minimum=0.0, maximum=9_999.0)
    fill = check_choice("fill", fill, ("next_open", "close"), caller=caller)
    data = load_bars(dataset, store=store, symbol=symbol, timeframe=timeframe, csv=csv,
                     start=start, end=end, last_bars=int(1.5 * SMOKE_BARS) if smoke else None,
                     caller=caller)
    label = symbol or (str(csv) if csv is not None else str(dataset))
    return RegimeRiskSetup(data=data, label=label, model=model, base=base, filtered=filtered,
                           kelly=kelly, options={"fee_bps": fee, "fill": fill},
                           var_methods=methods, confidence=confidence, var_window=var_window,
                           smoke=smoke, parameters=parameters)

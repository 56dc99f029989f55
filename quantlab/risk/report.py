"""``risk_report(result)``: a backtest's risk, forecast and backtested the way a risk desk does.

For the strategy's own per-bar returns: VaR and ES forecasts by method (each one a rolling
forecast from data before the bar), each backtested (Kupiec, Christoffersen, conditional
coverage, the Basel traffic light, Acerbi-Szekely Z2); VaR conditional on the regime at each
bar; and the Kelly leverage of the return stream against the leverage the strategy took.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_int, message
from quantlab.errors import ConvergenceWarning, DataError, InvalidParameterError, SizingWarning
from quantlab.metrics._common import check_confidence
from quantlab.risk.backtests import VarBacktestResult, backtest_var
from quantlab.risk.kelly import kelly_fraction
from quantlab.risk.var import METHODS, es, var

__all__ = ["RiskReport", "risk_report"]

_CALLER = "risk_report"


@dataclass(frozen=True)
class RiskReport:
    """What :func:`risk_report` found (immutable).

    Attributes
    ----------
    var_table : DataFrame
        One row per method: the latest VaR and ES forecasts, their averages, exceptions
        observed and expected, the Kupiec, Christoffersen and conditional-coverage p-values
        and decisions, the Basel zone, and the Acerbi-Szekely Z2 statistic and p-value.
    forecasts : dict of str to DataFrame
        Per method, the rolling ``var`` and ``es`` forecasts (positive losses) on the
        returns' index.
    backtests : dict of str to VarBacktestResult
        Per method, the full backtest (``.plot()`` draws returns against -VaR).
    by_regime : DataFrame or None
        Per regime state (0 = the calmest): bars, share of time, realized volatility, mean
        VaR forecast, exception rate and realized ES (mean loss beyond VaR) of the first
        method; None without a regime.
    kelly : Series
        The mean and standard deviation of the strategy's per-bar returns, the full-Kelly
        multiplier ``mu / sigma^2`` of that stream, the mean gross leverage the strategy
        took, and the leverage full and fractional Kelly would have taken
        (``multiplier * leverage``).
    confidence : float
    """

    var_table: pd.DataFrame
    forecasts: dict[str, pd.DataFrame]
    backtests: dict[str, VarBacktestResult]
    by_regime: pd.DataFrame | None
    kelly: pd.Series
    confidence: float

    def plot(self, method: str | None = None) -> Any:
        """Plot returns against -VaR and -ES of ``method`` (default: the first) with exceptions."""
        name = method if method is not None else next(iter(self.backtests))
        if name not in self.backtests:
            raise InvalidParameterError(message("method", "RiskReport.plot", "one of "
                                                + ", ".join(self.backtests), name))
        return self.backtests[name].plot(title=f"{name} VaR {self.confidence:.1%}")

    def _repr_html_(self) -> str:
        parts = [f"<h4>Risk report: VaR/ES at {self.confidence:.1%}</h4>",
                 self.var_table.to_html(float_format=lambda v: f"{v:.4g}")]
        if self.by_regime is not None:
            parts += ["<h4>VaR by regime</h4>",
                      self.by_regime.to_html(float_format=lambda v: f"{v:.4g}")]
        parts += ["<h4>Kelly</h4>", self.kelly.to_frame("value").to_html(
            float_format=lambda v: f"{v:.4g}")]
        return "\n".join(parts)


def risk_report(result: Any, *, confidence: float = 0.99,
                methods: tuple[str, ...] = ("historical", "parametric", "cornish_fisher", "ewma",
                                            "garch"),
                window: int = 250, regime: Any = None, kelly_fraction_of: float = 0.5,
                level: float = 0.05, n_sims: int = 2_000, seed: int = 0) -> RiskReport:
    """Forecast and backtest a backtest's VaR/ES by method, by regime, and against Kelly.

    Parameters
    ----------
    result : BacktestResult
        A backtest (anything with ``returns``, ``equity``, ``positions`` and ``data``).
    confidence : float, default 0.99
        VaR/ES confidence level.
    methods : tuple of str, default ("historical", "parametric", "cornish_fisher", "ewma", "garch")
        Methods of :func:`quantlab.risk.var`.
    window : int, default 250
        Bars behind each forecast (>= 50 with ``"garch"`` / ``"filtered_historical"``).
    regime : model or Series, optional
        A regime model with ``predict(data)`` (e.g. a fitted ``HMMRegime`` or a
        ``GarchRegime``; called on ``result.data``) or a Series of state labels known at
        each bar. Adds :attr:`RiskReport.by_regime`.
    kelly_fraction_of : float, default 0.5
        The fraction of Kelly reported beside full Kelly (half Kelly by default).
    level : float, default 0.05
        Significance level of the tests.
    n_sims, seed : int
        Simulations and seed of the Acerbi-Szekely critical values.

    Returns
    -------
    RiskReport

    Raises
    ------
    InvalidParameterError
        An unknown method (did-you-mean), a confidence outside (0, 1), too short a window.
    DataError
        Fewer returns than ``window + 20``.

    Notes
    -----
    Forecasts are rolling: the VaR for bar t uses the strategy's returns up to t - 1
    (:func:`quantlab.risk.var`), so the exceptions are honest out-of-sample counts. The
    strategy's returns include its flat bars (zero returns), as a risk desk sees the book.
    GARCH fits that do not converge are reported once as a ``ConvergenceWarning``.

    Examples
    --------
    >>> import quantlab as ql  # doctest: +SKIP
    >>> res = ql.backtest(ql.data.load("aapl"), ql.strategies.SmaCross())  # doctest: +SKIP
    >>> ql.risk.risk_report(res, methods=("historical", "garch"))  # doctest: +SKIP
    """
    confidence = check_confidence(confidence, _CALLER)
    window = check_int("window", window, caller=_CALLER, minimum=10)
    if isinstance(methods, str) or not methods:
        raise InvalidParameterError(message("methods", _CALLER, "a non-empty tuple of methods "
                                            "of quantlab.risk.var", methods,
                                            f"e.g. methods=('historical', 'garch'); methods: "
                                            f"{', '.join(METHODS)}."))
    returns = _returns(result)
    if returns.shape[0] < window + 20:
        raise DataError(message("result", _CALLER, f"at least window + 20 = {window + 20} "
                                "returns", f"{returns.shape[0]} returns",
                                "Use a shorter window or a longer backtest."))
    forecasts: dict[str, pd.DataFrame] = {}
    backtests: dict[str, VarBacktestResult] = {}
    rows = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        for method in methods:
            v = var(returns, confidence=confidence, method=method, window=window)
            e = es(returns, confidence=confidence, method=method, window=window)
            forecasts[method] = pd.DataFrame({"var": v, "es": e})
            bt = backtest_var(returns, v, confidence=confidence, level=level, es_forecast=e,
                              n_sims=n_sims, seed=seed)
            backtests[method] = bt
            rows.append(_row(method, v, e, bt))
    not_converged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not_converged:
        warnings.warn(f"risk_report(): {len(not_converged)} GARCH fit(s) did not converge; "
                      "their forecasts are used as arch returned them.", ConvergenceWarning,
                      stacklevel=2)
    table = pd.DataFrame(rows).set_index("method")
    first = methods[0]
    by_regime = None if regime is None else _by_regime(
        returns, forecasts[first]["var"], backtests[first], _labels(regime, result))
    return RiskReport(var_table=table, forecasts=forecasts, backtests=backtests,
                      by_regime=by_regime, kelly=_kelly(result, returns, kelly_fraction_of),
                      confidence=confidence)


def _returns(result: Any) -> pd.Series:
    returns = getattr(result, "returns", None)
    if not isinstance(returns, pd.Series):
        raise InvalidParameterError(message("result", _CALLER, "a BacktestResult (with a "
                                            "returns Series)", type(result).__name__,
                                            "Pass the result of quantlab.backtest()."))
    return returns.dropna().astype(float)


def _row(method: str, v: pd.Series, e: pd.Series, bt: VarBacktestResult) -> dict[str, Any]:
    es_test = bt.es_test
    return {
        "method": method,
        "var_last": float(v.iloc[-1]),
        "es_last": float(e.iloc[-1]),
        "var_mean": float(v.mean()),
        "es_mean": float(e.mean()),
        "n_obs": bt.n_obs,
        "exceptions": bt.n_exceptions,
        "expected": bt.kupiec.expected_rate * bt.n_obs,
        "kupiec_p": bt.kupiec.p_value,
        "kupiec_reject": bool(bt.kupiec.reject),
        "christoffersen_p": bt.christoffersen.p_value,
        "cc_p": bt.conditional_coverage.p_value,
        "basel_zone": bt.traffic_light.zone,
        "es_z2": np.nan if es_test is None else es_test.statistic,
        "es_p": np.nan if es_test is None else es_test.p_value,
    }


def _labels(regime: Any, result: Any) -> pd.Series:
    if isinstance(regime, pd.Series):
        return regime
    predict = getattr(regime, "predict", None)
    if not callable(predict):
        raise InvalidParameterError(message("regime", _CALLER, "a regime model with "
                                            "predict(data) or a Series of state labels",
                                            type(regime).__name__))
    labels = predict(result.data)
    if not isinstance(labels, pd.Series):
        raise DataError(message("regime", _CALLER, "a model whose predict(data) returns a "
                                "Series of state labels", type(labels).__name__))
    return labels


def _by_regime(returns: pd.Series, v: pd.Series, bt: VarBacktestResult,
               labels: pd.Series) -> pd.DataFrame:
    """Per state: bars, share, realized volatility, mean VaR, exception rate, realized ES."""
    frame = pd.DataFrame({"r": returns, "var": v, "state": labels.reindex(returns.index)})
    frame["exception"] = bt.exceptions.reindex(frame.index)
    frame = frame.dropna(subset=["state", "var", "exception"])
    rows = {}
    for state, part in frame.groupby("state"):
        hit = part["exception"].astype(bool)
        rows[int(state)] = {
            "bars": len(part),
            "share": len(part) / len(frame),
            "volatility": part["r"].std(ddof=1),
            "var_mean": part["var"].mean(),
            "exception_rate": hit.mean(),
            "expected_rate": bt.kupiec.expected_rate,
            "realized_es": float(-part.loc[hit, "r"].mean()) if hit.any() else np.nan,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "state"
    return out


def _kelly(result: Any, returns: pd.Series, fraction: float) -> pd.Series:
    """Kelly multiplier of the return stream against the gross leverage the strategy took."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SizingWarning)  # 0 for a losing stream is the answer
        multiplier = float(kelly_fraction(returns, fraction=1.0, min_obs=2))
    leverage = _mean_gross_leverage(result)
    mu, sigma = float(returns.mean()), float(returns.std(ddof=1))
    return pd.Series({
        "mean_return": mu,
        "volatility": sigma,
        "kelly_multiplier": multiplier,
        "realized_leverage": leverage,
        "kelly_leverage": multiplier * leverage,
        f"kelly_leverage_x{fraction:g}": fraction * multiplier * leverage,
    }, name="kelly")


def _mean_gross_leverage(result: Any) -> float:
    """Mean over bars of sum |position x close| / equity (the bars the strategy was in)."""
    positions = getattr(result, "positions", None)
    data = getattr(result, "data", None)
    equity = getattr(result, "equity", None)
    if positions is None or data is None or equity is None:
        return float("nan")
    close = data["close"]
    close = close.to_frame() if isinstance(close, pd.Series) else close
    values = np.abs(positions.to_numpy(dtype=float)) * close.reindex(positions.index).to_numpy(dtype=float)
    gross = values.sum(axis=1) / equity.reindex(positions.index).to_numpy(dtype=float)
    held = gross[gross > 0]
    return float(held.mean()) if held.size else 0.0

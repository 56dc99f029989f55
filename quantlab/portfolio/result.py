"""PortfolioResult and the portfolio statistics it carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PortfolioResult", "OptimizationError", "risk_contributions_arr"]

from quantlab.errors import QuantlabError


class OptimizationError(QuantlabError, RuntimeError):
    """The solver failed (not an infeasible problem: that is an InvalidParameterError).

    Attributes
    ----------
    status : str
        The solver's status (cvxpy's ``problem.status``, or ``"solver_error"``).
    """

    def __init__(self, text: str, *, status: str) -> None:
        super().__init__(text)
        self.status = status


def risk_contributions_arr(w: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(N,) weights, (N, N) covariance -> (N,) ``w_i (Sigma w)_i / sqrt(w' Sigma w)``; they
    sum to the portfolio volatility (Euler)."""
    sw = cov @ w
    vol = float(np.sqrt(max(w @ sw, 0.0)))
    if vol == 0.0:
        return np.zeros_like(w)
    return w * sw / vol


@dataclass(frozen=True, eq=False)
class PortfolioResult:
    """An optimized portfolio (immutable).

    Attributes
    ----------
    weights : Series
        Weight per asset (fractions of equity; negative = short).
    expected_return : float
        Annualized ``mu'w``.
    volatility : float
        Annualized ``sqrt(w' Sigma w)``.
    sharpe : float
        ``(expected_return - risk_free_rate) / volatility`` (NaN at zero volatility).
    risk_contributions : Series
        ``w_i (Sigma w)_i / volatility``, annualized; they sum to ``volatility``.
    status : str
        The solver's status ("optimal", "optimal_inaccurate"; "closed_form" for HRP).
    objective : str
    expected_returns : Series
        The annualized mean estimate used.
    covariance : DataFrame
        The annualized covariance estimate used.
    cvar : float
        Per-period CVaR at the objective's confidence of the scenario returns (positive
        loss), for ``min_cvar`` and ``max_growth``; NaN otherwise.
    """

    weights: pd.Series
    expected_return: float
    volatility: float
    sharpe: float
    risk_contributions: pd.Series
    status: str
    objective: str
    expected_returns: pd.Series
    covariance: pd.DataFrame
    cvar: float = float("nan")

    @classmethod
    def _build(cls, w: np.ndarray, mu: np.ndarray, cov: np.ndarray, assets: list[str], *,
               status: str, objective: str, risk_free_rate: float,
               cvar: float = float("nan")) -> PortfolioResult:
        ret = float(mu @ w)
        vol = float(np.sqrt(max(w @ cov @ w, 0.0)))
        sharpe = (ret - risk_free_rate) / vol if vol > 0 else float("nan")
        return cls(
            weights=pd.Series(w, index=assets, name="weight"),
            expected_return=ret, volatility=vol, sharpe=sharpe,
            risk_contributions=pd.Series(risk_contributions_arr(w, cov), index=assets,
                                         name="risk_contribution"),
            status=status, objective=objective,
            expected_returns=pd.Series(mu, index=assets, name="expected_return"),
            covariance=pd.DataFrame(cov, index=assets, columns=assets),
            cvar=cvar,
        )

    def __repr__(self) -> str:
        top = ", ".join(f"{k}={v:.3f}" for k, v in self.weights.items())
        if len(top) > 120:
            top = top[:117] + "..."
        return (f"PortfolioResult({self.objective}, status={self.status!r}, "
                f"return={self.expected_return:.4f}, vol={self.volatility:.4f}, "
                f"sharpe={self.sharpe:.3f}; {top})")

    def to_dict(self) -> dict[str, Any]:
        """Key numbers and weights as plain Python values."""
        return {"objective": self.objective, "status": self.status,
                "expected_return": self.expected_return, "volatility": self.volatility,
                "sharpe": self.sharpe, "weights": self.weights.to_dict()}

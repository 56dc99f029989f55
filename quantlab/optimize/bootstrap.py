"""Monte Carlo confidence intervals: a bootstrap of trades and a stationary bootstrap of returns.

* :func:`bootstrap_returns` resamples a return series in blocks of random length (the
  stationary bootstrap of Politis & Romano 1994, which keeps short-range dependence such
  as volatility clustering), with the index streams of
  :class:`arch.bootstrap.StationaryBootstrap` given the same seed;
* :func:`bootstrap_trades` resamples the closed trades' returns independently, with
  replacement (the order of trades is what the resampling randomizes).

Each gives a :class:`MonteCarloResult`: percentile intervals for the Sharpe ratio, CAGR and
maximum drawdown, the statistics of every sample, and the quantile paths for a fan chart.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import njit
from quantlab._validate import check_float, check_int, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["bootstrap_returns", "bootstrap_trades", "stationary_indices", "MonteCarloResult",
           "stationary_indices_nb", "resampled_stats_nb", "MC_STATS"]

#: The statistics of each resampled path, in the columns of :attr:`MonteCarloResult.samples`.
MC_STATS: tuple[str, ...] = ("sharpe", "cagr", "max_drawdown")
_FAN_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


# ---- kernels ----------------------------------------------------------------------------

@njit
def stationary_indices_nb(starts, u, p):  # pragma: no cover - compiled
    """int64 (n,), float64 (n,), float -> int64 (n,): stationary-bootstrap indices.

    Equals ``arch.bootstrap.base.stationary_bootstrap_sample(starts, u, p)``: index i
    continues the block (previous index + 1, wrapping at n) when ``u[i] > p``, else it
    starts a new block at ``starts[i]``.
    """
    n = starts.shape[0]
    out = starts.copy()
    for i in range(1, n):
        if u[i] > p:
            out[i] = out[i - 1] + 1
            if out[i] == n:
                out[i] = 0
    return out


@njit
def resampled_stats_nb(returns, idx, ppy, steps):  # pragma: no cover - compiled
    """float64 (n,), int64 (S, m), float, int64 (P,) -> (S, 3) stats, (S, P) equity.

    For each row s, the path ``r = returns[idx[s]]``: Sharpe ``mean / std(ddof=1) *
    sqrt(ppy)`` (NaN when std is 0), CAGR ``prod(1 + r) ** (ppy / m) - 1`` (-1 when the
    final value is <= 0), maximum drawdown ``min_t E_t / max(1, max_{u<=t} E_u) - 1``; as
    :func:`quantlab.metrics.sharpe`, :func:`~quantlab.metrics.cagr` and
    :func:`~quantlab.metrics.max_drawdown` on that path. ``equity[s, j]`` is the path's
    equity (start 1) after ``steps[j] + 1`` returns.
    """
    n_samples, m = idx.shape
    stats = np.empty((n_samples, 3))
    equity = np.empty((n_samples, steps.shape[0]))
    root = math.sqrt(ppy)
    for s in range(n_samples):
        total = 0.0
        for t in range(m):
            total += returns[idx[s, t]]
        mean = total / m
        ss = 0.0
        eq = 1.0
        peak = 1.0
        mdd = 0.0
        j = 0
        for t in range(m):
            r = returns[idx[s, t]]
            d = r - mean
            ss += d * d
            eq *= 1.0 + r
            if eq > peak:
                peak = eq
            dd = eq / peak - 1.0
            if dd < mdd:
                mdd = dd
            while j < steps.shape[0] and steps[j] == t:
                equity[s, j] = eq
                j += 1
        std = math.sqrt(ss / (m - 1)) if m > 1 else 0.0
        stats[s, 0] = mean / std * root if std > 0 else np.nan
        stats[s, 1] = eq ** (ppy / m) - 1.0 if eq > 0 else -1.0
        stats[s, 2] = mdd
    return stats, equity


# ---- result -----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class MonteCarloResult:
    """What a bootstrap produced (immutable).

    Attributes
    ----------
    samples : DataFrame
        One row per resampled path, columns :data:`MC_STATS`.
    actual : Series
        The same statistics on the original series.
    intervals : DataFrame
        Rows :data:`MC_STATS`; columns ``lower``, ``median``, ``upper``: the
        ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of ``samples``
        (the percentile bootstrap).
    fan : DataFrame
        Quantiles (columns 0.05, 0.25, 0.5, 0.75, 0.95) of the resampled equity paths
        (start 1) at up to 200 evenly spaced steps (index: the original index at those steps,
        or step numbers).
    actual_path : Series
        The original equity path (start 1) on the same steps.
    method : str
        ``"stationary"`` or ``"trades"``.
    confidence : float
    n_samples : int
    mean_block : float or None
        Mean block length of the stationary bootstrap (None for trades).
    seed : int or None
    periods_per_year : float
        Periods (bars or trades) per year behind the annualized statistics.
    """

    samples: pd.DataFrame
    actual: pd.Series
    intervals: pd.DataFrame
    fan: pd.DataFrame
    actual_path: pd.Series
    method: str
    confidence: float
    n_samples: int
    mean_block: float | None
    seed: int | None
    periods_per_year: float

    def plot(self, *, title: str | None = None) -> Any:
        """Fan chart of the resampled equity paths with the actual path."""
        from quantlab.plotting.optimize import fan_figure

        what = ("stationary bootstrap of returns" if self.method == "stationary"
                else "bootstrap of trades")
        return fan_figure(self.fan, actual=self.actual_path,
                          title=title or f"Monte Carlo: {self.n_samples} paths, {what}")

    def _repr_html_(self) -> str:
        head = (f"<div><b>MonteCarloResult</b> {html.escape(self.method)} &middot; "
                f"{self.n_samples} samples &middot; {self.confidence:.0%} intervals</div>")
        table = self.intervals.assign(actual=self.actual)
        return head + table.to_html(float_format=lambda v: f"{v:.4g}")

    def __repr__(self) -> str:
        rows = ", ".join(f"{k} [{self.intervals.at[k, 'lower']:.3g}, "
                         f"{self.intervals.at[k, 'upper']:.3g}]" for k in MC_STATS)
        return f"MonteCarloResult({self.method}, {self.n_samples} samples, {rows})"


# ---- pandas layer -------------------------------------------------------------------------

def _returns(values: Any, name: str, caller: str) -> tuple[np.ndarray, pd.Index | None]:
    index = values.index if isinstance(values, pd.Series) else None
    if isinstance(values, pd.DataFrame):
        raise DataError(message(name, caller, "a Series or 1-D array", "a DataFrame",
                                "Bootstrap one column at a time."))
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(message(name, caller, "numeric", type(values).__name__)) from exc
    if x.ndim != 1:
        raise DataError(message(name, caller, "1-D", f"shape {x.shape}"))
    keep = ~np.isnan(x)
    if not keep.all():
        x = x[keep]
        index = index[keep] if index is not None else None
    if x.size < 3:
        raise DataError(message(name, caller, "at least 3 non-NaN values", f"{x.size}"))
    if not np.isfinite(x).all() or (x <= -1.0).any():
        raise DataError(message(name, caller, "finite simple returns > -1",
                                "an infinite value or a return <= -1"))
    return np.ascontiguousarray(x), index


def stationary_indices(n: int, *, mean_block: float, n_samples: int,
                       seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Index streams of the stationary bootstrap: (n_samples, n) int64.

    Each row draws ``n`` uniform start indices (``Generator.integers(n, size=n)``) then
    ``n`` uniforms (``Generator.random(n)``) and chains them with
    :func:`stationary_indices_nb`, exactly as
    ``arch.bootstrap.StationaryBootstrap(mean_block, x, seed=seed)`` does on each
    iteration, so row i equals arch's i-th index array for the same seed.

    Parameters
    ----------
    n : int
        Length of the series (≥ 2).
    mean_block : float
        Mean block length L ≥ 1 (a new block starts with probability 1/L).
    n_samples : int
        Number of index streams (≥ 1).
    seed : int or numpy Generator, optional

    Returns
    -------
    ndarray
    """
    caller = "stationary_indices"
    n = check_int("n", n, caller=caller, minimum=2)
    n_samples = check_int("n_samples", n_samples, caller=caller, minimum=1)
    mean_block = check_float("mean_block", mean_block, caller=caller, minimum=1.0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p = 1.0 / mean_block
    out = np.empty((n_samples, n), dtype=np.int64)
    for s in range(n_samples):  # one pair of vectorized draws per sample (arch's order)
        starts = rng.integers(n, size=n, dtype=np.int64)
        u = rng.random(n)
        out[s] = stationary_indices_nb(starts, u, p)
    return out


def _finish(x: np.ndarray, idx: np.ndarray, index: pd.Index | None, ppy: float,
            confidence: float, method: str, mean_block: float | None, seed: Any
            ) -> MonteCarloResult:
    m = idx.shape[1]
    n_points = min(m, 200)
    steps = np.unique(np.linspace(0, m - 1, n_points).round().astype(np.int64))
    stats, equity = resampled_stats_nb(x, idx, float(ppy), steps)
    own, own_eq = resampled_stats_nb(x, np.arange(m, dtype=np.int64)[None, :], float(ppy), steps)
    samples = pd.DataFrame(stats, columns=list(MC_STATS))
    lo, hi = (1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0
    intervals = pd.DataFrame({
        "lower": samples.quantile(lo),
        "median": samples.quantile(0.5),
        "upper": samples.quantile(hi)})
    where = index[steps] if index is not None and len(index) == m else pd.Index(steps, name="step")
    fan = pd.DataFrame(np.quantile(equity, _FAN_LEVELS, axis=0).T, index=where,
                       columns=list(_FAN_LEVELS))
    return MonteCarloResult(samples=samples, actual=pd.Series(own[0], index=list(MC_STATS)),
                            intervals=intervals, fan=fan,
                            actual_path=pd.Series(own_eq[0], index=where, name="actual"),
                            method=method, confidence=confidence, n_samples=idx.shape[0],
                            mean_block=mean_block, seed=seed if not isinstance(
                                seed, np.random.Generator) else None,
                            periods_per_year=float(ppy))


def bootstrap_returns(returns: Any, *, periods_per_year: float, n_samples: int = 1000,
                      mean_block: float | None = None, confidence: float = 0.95,
                      seed: int | None = None) -> MonteCarloResult:
    """Confidence intervals for Sharpe, CAGR and max drawdown by a stationary bootstrap.

    Parameters
    ----------
    returns : Series or 1-D array
        Simple per-period returns (NaN dropped; at least 3).
    periods_per_year : float
        Periods per year, for the annualized Sharpe ratio and CAGR.
    n_samples : int, default 1000
        Resampled paths, each as long as ``returns``.
    mean_block : float, optional
        Mean block length L (≥ 1). Default: Politis & White's (2004, with Patton et al.'s
        2009 correction) optimal length for the stationary bootstrap,
        ``arch.bootstrap.optimal_block_length(returns)["stationary"]`` (at least 1).
        ``mean_block=1`` is the IID bootstrap.
    confidence : float, default 0.95
        Coverage of the percentile intervals, in (0, 1).
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the index streams equal those of
        ``arch.bootstrap.StationaryBootstrap(mean_block, returns, seed=seed)``.

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    DataError
        Fewer than 3 returns, a return ≤ −1 or infinite, a DataFrame.
    InvalidParameterError
        An option out of range.

    Notes
    -----
    Politis & Romano (1994), "The stationary bootstrap", JASA 89(428). Intervals are
    percentile intervals of the resampled statistics (Efron & Tibshirani 1993, §13.3).

    Examples
    --------
    >>> r = np.random.default_rng(0).normal(0.001, 0.01, 500)
    >>> mc = bootstrap_returns(r, periods_per_year=252, n_samples=200, mean_block=5, seed=1)
    >>> lo, hi = mc.intervals.loc["sharpe", ["lower", "upper"]]
    >>> bool(lo < mc.actual["sharpe"] < hi)
    True
    """
    caller = "bootstrap_returns"
    x, index = _returns(returns, "returns", caller)
    ppy = check_float("periods_per_year", periods_per_year, caller=caller, minimum=0.0,
                      exclusive_minimum=True)
    n_samples = check_int("n_samples", n_samples, caller=caller, minimum=1)
    confidence = check_float("confidence", confidence, caller=caller, minimum=0.0,
                             maximum=1.0, exclusive_minimum=True)
    if confidence >= 1.0:
        raise InvalidParameterError(message("confidence", caller, "a number in (0, 1)",
                                            confidence))
    if mean_block is None:
        from arch.bootstrap import optimal_block_length

        mean_block = max(1.0, float(optimal_block_length(x)["stationary"].iloc[0]))
        if not math.isfinite(mean_block):
            mean_block = 1.0
    else:
        mean_block = check_float("mean_block", mean_block, caller=caller, minimum=1.0)
    idx = stationary_indices(x.size, mean_block=mean_block, n_samples=n_samples, seed=seed)
    return _finish(x, idx, index, ppy, confidence, "stationary", mean_block, seed)


def bootstrap_trades(trade_returns: Any, *, trades_per_year: float, n_samples: int = 1000,
                     confidence: float = 0.95, seed: int | None = None) -> MonteCarloResult:
    """Confidence intervals for Sharpe, CAGR and max drawdown by resampling trades.

    Each sample draws ``len(trade_returns)`` trades with replacement (IID,
    ``numpy.random.default_rng(seed).integers``) and compounds them in the order drawn, as if
    each trade were taken with the whole equity.

    Parameters
    ----------
    trade_returns : Series or 1-D array
        Returns of the closed trades (``BacktestResult.trades["return"]``), at least 3.
    trades_per_year : float
        Trades per year (e.g. number of trades / years of the backtest): the Sharpe ratio
        is annualized with ``sqrt(trades_per_year)``, the CAGR with ``trades_per_year``.
    n_samples : int, default 1000
    confidence : float, default 0.95
    seed : int, optional

    Returns
    -------
    MonteCarloResult
        ``method="trades"``; the drawdowns are those of the trade-by-trade equity
        (intra-trade excursions are not seen).

    Raises
    ------
    DataError, InvalidParameterError
        As :func:`bootstrap_returns`.

    Examples
    --------
    >>> t = np.random.default_rng(0).normal(0.01, 0.05, 60)
    >>> bootstrap_trades(t, trades_per_year=30, n_samples=100, seed=2).samples.shape
    (100, 3)
    """
    caller = "bootstrap_trades"
    x, index = _returns(trade_returns, "trade_returns", caller)
    ppy = check_float("trades_per_year", trades_per_year, caller=caller, minimum=0.0,
                      exclusive_minimum=True)
    n_samples = check_int("n_samples", n_samples, caller=caller, minimum=1)
    confidence = check_float("confidence", confidence, caller=caller, minimum=0.0,
                             maximum=1.0, exclusive_minimum=True)
    if confidence >= 1.0:
        raise InvalidParameterError(message("confidence", caller, "a number in (0, 1)",
                                            confidence))
    rng = np.random.default_rng(seed)
    idx = rng.integers(x.size, size=(n_samples, x.size), dtype=np.int64)
    return _finish(x, idx, None, ppy, confidence, "trades", None, seed)

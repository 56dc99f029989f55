"""``overfitting_report()``: PSR, DSR, PBO and Monte Carlo intervals of a walk-forward, in one place.

* **PSR** of the stitched out-of-sample returns against a Sharpe ratio of 0 (no deflation:
  those returns were not selected on).
* **DSR** of each fold's in-sample choice: the chosen parameters' train-window returns against
  the best Sharpe ratio luck alone would give among that fold's trials (N = the grid's
  combinations or the study's trials, V = the variance of their Sharpe ratios), taken
  automatically from the walk-forward.
* **PBO** by CSCV (:func:`block_pbo`): the span of the walk-forward cut into S blocks, every
  combination of the grid swept on each block with evaluation windows, and the CSCV of
  Bailey et al. (2017) run on the per-block sums.
* **Monte Carlo**: a stationary bootstrap of the stitched out-of-sample returns and a
  bootstrap of its closed trades (:mod:`quantlab.optimize.bootstrap`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_int, message
from quantlab.errors import InvalidParameterError
from quantlab.optimize.bootstrap import MonteCarloResult, bootstrap_returns, bootstrap_trades

__all__ = ["overfitting_report", "OverfittingReport", "block_pbo", "cscv_block_logits",
           "BlockPBO"]


# ---- PBO from per-block sweeps -------------------------------------------------------------

def cscv_block_logits(counts: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """CSCV logits from per-block statistics instead of the T × N return matrix.

    Parameters
    ----------
    counts : (S,) array
        Observations (bars) in each block.
    means, variances : (S, N) arrays
        Mean and variance (ddof=1) of each strategy's returns in each block.

    Returns
    -------
    ndarray
        One logit per combination of S/2 train blocks (``itertools.combinations`` order),
        equal to :func:`quantlab.metrics.cscv_logits` (metric "sharpe") on the return matrix
        whose blocks have those moments: the pooled mean and variance of a set of blocks
        follow from each block's count, mean and variance exactly.
    """
    counts = np.asarray(counts, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    variances = np.asarray(variances, dtype=np.float64)
    s, n = means.shape
    center = (counts @ means) / counts.sum()  # overall mean per strategy
    s1 = counts[:, None] * (means - center)  # centered sums, as cscv_logits
    s2 = (counts[:, None] - 1.0) * variances + counts[:, None] * (means - center) ** 2
    combos = np.array(list(itertools.combinations(range(s), s // 2)), dtype=np.int64)
    mask = np.zeros((len(combos), s))
    mask[np.arange(len(combos))[:, None], combos] = 1.0

    def perf(m: np.ndarray) -> np.ndarray:
        c = (m @ counts)[:, None]
        sum1 = m @ s1
        mean = sum1 / c + center
        var = (m @ s2 - sum1 ** 2 / c) / (c - 1.0)
        std = np.sqrt(np.maximum(var, 0.0))
        out = np.full(mean.shape, -np.inf)
        np.divide(mean, std, out=out, where=std > 0)
        return out

    perf_is, perf_oos = perf(mask), perf(1.0 - mask)
    best = np.argmax(perf_is, axis=1)
    best_oos = perf_oos[np.arange(len(combos)), best][:, None]
    below = (perf_oos < best_oos).sum(axis=1)
    ties = (perf_oos == best_oos).sum(axis=1)
    omega = (below + (ties + 1) / 2.0) / (n + 1.0)
    return np.asarray(np.log(omega / (1.0 - omega)))


@dataclass(frozen=True, eq=False, repr=False)
class BlockPBO:
    """PBO by CSCV over blocks of a grid sweep (see :func:`block_pbo`).

    Attributes
    ----------
    pbo : float
        Share of logits ≤ 0.
    logits : ndarray
    blocks : DataFrame
        ``start, end, n_bars`` of each block.
    n_strategies : int
    """

    pbo: float
    logits: np.ndarray
    blocks: pd.DataFrame
    n_strategies: int

    def __repr__(self) -> str:
        return (f"BlockPBO(pbo={self.pbo:.3f}, {len(self.blocks)} blocks, "
                f"{self.n_strategies} strategies, {self.logits.size} combinations)")


def block_pbo(strategy_cls: type, data: pd.DataFrame, grid: Mapping[str, Any], *,
              n_blocks: int = 8, start: Any = None, end: Any = None,
              constraint: str | Callable[[Any], Any] | None = None, config: Any = None,
              **overrides: Any) -> BlockPBO:
    """Probability of backtest overfitting of a grid, by CSCV on per-block sweeps.

    The bars of ``[start, end]`` are cut into ``n_blocks`` contiguous blocks
    (``np.array_split``). Block j is swept with
    ``sweep(strategy_cls, data.iloc[:end_j + 1], grid, start=start_j, end=end_j)`` (an
    evaluation window: indicators warmed on every earlier bar, a fresh account in the block),
    which gives each combination's mean and variance of returns in the block; the CSCV
    (:func:`cscv_block_logits`) then pools blocks exactly as the T × N matrix would. No
    T × N matrix is ever held: memory is O(N · S).

    Parameters
    ----------
    strategy_cls, data, grid, constraint, config, **overrides
        As :func:`quantlab.backtest.sweep.sweep`.
    n_blocks : int, default 8
        S, even, ≥ 2: C(S, S/2) combinations are ranked (70 for 8).
    start, end : date, optional
        The span (default: all the data).

    Returns
    -------
    BlockPBO

    Notes
    -----
    Bailey, Borwein, López de Prado & Zhu (2017). Equals
    :func:`quantlab.metrics.cscv_logits` with ``n_splits=S`` on the matrix of the blocks'
    backtest returns stacked in time (each block a fresh account), which the tests check.
    """
    from quantlab.backtest.simulation import window_bounds
    from quantlab.backtest.sweep import sweep

    caller = "block_pbo"
    n_blocks = check_int("n_blocks", n_blocks, caller=caller, minimum=2)
    if n_blocks % 2:
        raise InvalidParameterError(message("n_blocks", caller, "an even integer >= 2",
                                            n_blocks))
    index = data.index
    t0, t1 = window_bounds(index, start, end, caller=caller)
    blocks = np.array_split(np.arange(t0, t1 + 1), n_blocks)
    if min(len(b) for b in blocks) < 2:
        raise InvalidParameterError(message("n_blocks", caller, f"at most {(t1 - t0 + 1) // 2} "
                                            "(2 bars per block)", n_blocks))
    means, variances, counts = [], [], []
    for b in blocks:
        res = sweep(strategy_cls, data.iloc[: int(b[-1]) + 1], grid, constraint=constraint,
                    start=index[int(b[0])], end=index[int(b[-1])], progress=False,
                    config=config, **overrides)
        ppy = res.config["periods_per_year"]
        means.append(res.table["annual_return"].to_numpy(dtype=np.float64) / ppy)
        variances.append(res.table["annual_volatility"].to_numpy(dtype=np.float64) ** 2 / ppy)
        counts.append(len(b))
    logits = cscv_block_logits(np.array(counts), np.array(means), np.array(variances))
    table = pd.DataFrame({"start": [index[int(b[0])] for b in blocks],
                          "end": [index[int(b[-1])] for b in blocks],
                          "n_bars": [len(b) for b in blocks]})
    return BlockPBO(pbo=float(np.mean(logits <= 0.0)), logits=logits, blocks=table,
                    n_strategies=int(np.shape(means)[1]))


# ---- the report ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class OverfittingReport:
    """PSR, DSR, PBO and Monte Carlo intervals of a walk-forward (see :func:`overfitting_report`).

    Attributes
    ----------
    summary : Series
        The headline numbers: ``oos_sharpe``, ``psr_oos``, ``dsr_last_fold``,
        ``dsr_mean``, ``pbo``, ``efficiency``, ``n_trials``, and the Monte Carlo interval of
        the OOS Sharpe (``sharpe_lower``, ``sharpe_upper``).
    dsr : DataFrame
        Per fold: ``is_sharpe``, ``n_trials``, ``trials_sharpe_variance``, ``dsr``.
    pbo : BlockPBO or None
    returns_mc : MonteCarloResult
        Stationary bootstrap of the stitched OOS returns.
    trades_mc : MonteCarloResult or None
        Bootstrap of the stitched OOS closed trades (None with fewer than 3).
    """

    summary: pd.Series
    dsr: pd.DataFrame
    pbo: BlockPBO | None
    returns_mc: MonteCarloResult
    trades_mc: MonteCarloResult | None

    @property
    def intervals(self) -> pd.DataFrame:
        """Monte Carlo intervals, one row per (method, statistic)."""
        parts = {"returns": self.returns_mc.intervals.assign(actual=self.returns_mc.actual)}
        if self.trades_mc is not None:
            parts["trades"] = self.trades_mc.intervals.assign(actual=self.trades_mc.actual)
        return pd.concat(parts, names=["bootstrap", "statistic"])

    def plot(self, *, title: str | None = None) -> Any:
        """Fan chart of the stationary bootstrap of the OOS returns."""
        return self.returns_mc.plot(title=title)

    def _repr_html_(self) -> str:
        head = "<div><b>OverfittingReport</b></div>"
        return (head + self.summary.to_frame("value").to_html(float_format=lambda v: f"{v:.4g}")
                + self.intervals.to_html(float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        s = self.summary
        return (f"OverfittingReport(psr_oos={s['psr_oos']:.3f}, dsr_last_fold="
                f"{s['dsr_last_fold']:.3f}, pbo={s['pbo']:.3f}, OOS Sharpe "
                f"[{s['sharpe_lower']:.3g}, {s['sharpe_upper']:.3g}])")


def overfitting_report(result: Any, *, n_blocks: int = 8, pbo: bool = True,
                       n_samples: int = 1000, confidence: float = 0.95,
                       mean_block: float | None = None, seed: int | None = None
                       ) -> OverfittingReport:
    """Join PSR, DSR, PBO and the Monte Carlo intervals of a walk-forward.

    Parameters
    ----------
    result : WalkForwardResult
        What :func:`quantlab.optimize.walkforward.walk_forward` returned.
    n_blocks : int, default 8
        S of the CSCV (:func:`block_pbo`), over the walk-forward's whole span (first train
        bar to last test bar).
    pbo : bool, default True
        Compute the PBO (grid search only; one sweep per block). False or an Optuna
        walk-forward: ``summary["pbo"]`` is NaN.
    n_samples, confidence, mean_block, seed
        Of :func:`~quantlab.optimize.bootstrap.bootstrap_returns` and
        :func:`~quantlab.optimize.bootstrap.bootstrap_trades` (``seed`` for both).

    Returns
    -------
    OverfittingReport

    Raises
    ------
    InvalidParameterError
        ``result`` is not a WalkForwardResult; bad options.

    Notes
    -----
    PSR: Bailey & López de Prado (2012). DSR: Bailey & López de Prado (2014), with N and V
    taken from each fold's trials. PBO: Bailey, Borwein, López de Prado & Zhu (2017).
    Stationary bootstrap: Politis & Romano (1994).
    """
    from quantlab.metrics import deflated_sharpe_ratio, probabilistic_sharpe_ratio
    from quantlab.optimize.walkforward import WalkForwardResult

    caller = "overfitting_report"
    if not isinstance(result, WalkForwardResult):
        raise InvalidParameterError(message("result", caller, "a WalkForwardResult",
                                            type(result).__name__,
                                            "Run quantlab.optimize.walk_forward first."))
    ppy = float(result.oos.periods_per_year)
    returns = result.returns
    psr = float(probabilistic_sharpe_ratio(returns.to_numpy(), periods_per_year=ppy))

    rows = {}
    for (k, ins), trials in zip(result.in_sample_results().items(), result.trials_sharpe,
                                strict=True):
        finite = trials[np.isfinite(trials)]
        if finite.size >= 2 and np.var(finite, ddof=1) > 0:
            dsr = float(deflated_sharpe_ratio(ins.returns.to_numpy(), trials_sharpe=finite,
                                              periods_per_year=ppy))
            var = float(np.var(finite, ddof=1))
        else:
            dsr, var = float("nan"), float("nan")
        rows[k] = {"is_sharpe": float(result.folds.at[k, "is_sharpe"]),
                   "n_trials": int(finite.size), "trials_sharpe_variance": var, "dsr": dsr}
    dsr_table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("fold")

    block: BlockPBO | None = None
    if pbo and result.search == "grid":
        block = block_pbo(result.strategy_cls, result.data, result.space, n_blocks=n_blocks,
                          start=result.folds["train_start"].iloc[0],
                          end=result.folds["test_end"].max(),
                          constraint=result.config["constraint"], config=result.config["config"],
                          **result.config["overrides"])

    returns_mc = bootstrap_returns(returns, periods_per_year=ppy, n_samples=n_samples,
                                   mean_block=mean_block, confidence=confidence, seed=seed)
    trades = result.oos.trades
    closed = trades.loc[~trades["is_open"], "return"].to_numpy(dtype=np.float64)
    trades_mc = None
    if closed.size >= 3:
        years = len(returns) / ppy
        trades_mc = bootstrap_trades(closed, trades_per_year=closed.size / years,
                                     n_samples=n_samples, confidence=confidence, seed=seed)
    from quantlab.metrics import sharpe

    summary = pd.Series({
        "oos_sharpe": float(sharpe(returns.to_numpy(), periods_per_year=ppy)),
        "psr_oos": psr,
        "dsr_last_fold": float(dsr_table["dsr"].iloc[-1]),
        "dsr_mean": float(dsr_table["dsr"].mean()),
        "pbo": block.pbo if block is not None else float("nan"),
        "efficiency": result.efficiency,
        "n_trials": result.n_trials,
        "sharpe_lower": float(returns_mc.intervals.at["sharpe", "lower"]),
        "sharpe_upper": float(returns_mc.intervals.at["sharpe", "upper"]),
    }, name="overfitting")
    return OverfittingReport(summary=summary, dsr=dsr_table, pbo=block, returns_mc=returns_mc,
                             trades_mc=trades_mc)

"""Walk-forward rebalancing: one compiled problem per schedule, run through the execution core.

This module is the only part of :mod:`quantlab.portfolio` that imports the backtest and
strategy layers (``quantlab.portfolio`` loads it lazily, on first use of its names).

At each rebalance bar ``t`` (the first bar of each calendar period, or every ``n`` bars) the
compiled problem of :meth:`Optimizer.compile` is re-solved on the returns of bars
``t - lookback + 1 .. t`` (close to close, so known at the close of ``t``); the weights are
the target exposures of :class:`TargetWeights`, which :func:`quantlab.backtest.backtest`
fills at the next open (or at the close with ``fill="close"``). Between rebalances the
targets are NaN (hold): the weights drift with prices, and each rebalance re-trades every
asset back to its weight (``rebalance_threshold=0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_choice, check_int, message
from quantlab.backtest.engine import backtest
from quantlab.backtest.result import BacktestResult
from quantlab.errors import DataError, InvalidParameterError
from quantlab.portfolio.problems import Optimizer
from quantlab.portfolio.result import OptimizationError
from quantlab.strategy.base import Strategy, param

__all__ = ["rebalance", "RebalanceResult", "TargetWeights", "rebalance_bars", "PERIODS"]

#: Calendar periods ``every`` accepts: weekly, monthly, quarterly, yearly.
PERIODS: tuple[str, ...] = ("W", "M", "Q", "Y")
#: Weights smaller than this (interior-point noise at a zero bound) are traded as 0.
_DUST = 1e-8


def rebalance_bars(index: pd.DatetimeIndex, every: str | int, lookback: int, *,
                   caller: str = "rebalance") -> np.ndarray:
    """Bar positions where the weights are re-solved (each with ``lookback`` past returns).

    ``every`` a period: the first bar of each week / month / quarter / year (its own
    timestamp says so: no look at the next bar); an int ``n``: every ``n`` bars. Both start
    at bar ``lookback`` (the first with ``lookback`` returns behind it).
    """
    n = len(index)
    if isinstance(every, str):
        every = check_choice("every", every, PERIODS, caller=caller)
        if not isinstance(index, pd.DatetimeIndex):
            raise DataError(message("data", caller, "indexed by a DatetimeIndex for a "
                                    "calendar schedule", type(index).__name__,
                                    "Pass every=<number of bars> instead."))
        year = index.year.to_numpy()
        if every == "W":
            iso = index.isocalendar()
            key = iso["year"].to_numpy() * 100 + iso["week"].to_numpy()
        elif every == "M":
            key = year * 12 + index.month.to_numpy()
        elif every == "Q":
            key = year * 4 + (index.month.to_numpy() - 1) // 3
        else:
            key = year
        first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        return first[first >= lookback]
    step = check_int("every", every, caller=caller, minimum=1)
    return np.arange(lookback, n, step)


def _drift(w: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """Weights after prices grew by ``growth`` (cash, ``1 - sum w``, unchanged)."""
    value = w * growth
    total = 1.0 - w.sum() + value.sum()
    return value / total if total > 0 else w


class TargetWeights(Strategy):
    """Target weights re-solved on a schedule from past returns only.

    ``signal(data)`` returns a DataFrame (one column per symbol of the (field, symbol)
    frame): at each rebalance bar t the weights of ``optimizer`` on the ``lookback``
    close-to-close returns up to t, divided by ``leverage`` (the backtest's ``leverage``
    scales them back); NaN (hold) elsewhere. One compiled problem serves every rebalance.
    ``max_turnover`` is measured from the previous weights drifted with prices to t.
    """

    optimizer: Optimizer = param(None, doc="what to solve at each rebalance")
    every: str | int = param("M", doc="'W', 'M', 'Q', 'Y' (first bar of each) or n bars")
    lookback: int = param(252, minimum=2, doc="bars of returns each estimate uses")
    leverage: float = param(1.0, minimum=1.0, doc="targets are weights / leverage")
    on_infeasible: str = param("raise", choices=("raise", "hold"),
                               doc="an infeasible rebalance raises, or keeps the held weights")

    def check(self) -> None:
        if isinstance(self.every, str):
            check_choice("every", self.every, PERIODS, caller="TargetWeights")
        else:
            check_int("every", self.every, caller="TargetWeights", minimum=1)

    @property
    def warmup(self) -> int:
        return self.lookback

    def weights(self, data: pd.DataFrame) -> pd.DataFrame:
        """The weights at each rebalance bar (rows: decision bars; columns: symbols)."""
        close = data["close"] if isinstance(data.columns, pd.MultiIndex) else data[["close"]]
        if not isinstance(close, pd.DataFrame):  # pragma: no cover - defensive
            close = close.to_frame()
        symbols = [str(c) for c in close.columns]
        prices = close.to_numpy(np.float64)
        rets = prices[1:] / prices[:-1] - 1.0  # rets[t - 1] = return of bar t
        bars = rebalance_bars(data.index, self.every, self.lookback, caller="TargetWeights")
        opt: Optimizer = self.optimizer
        compiled = opt.compile(symbols, n_scenarios=self.lookback)
        out = np.full((len(bars), len(symbols)), np.nan)
        held = np.zeros(len(symbols))
        last = None
        for k, t in enumerate(bars):
            window = rets[t - self.lookback:t]
            if last is not None:
                held = _drift(held, prices[t] / prices[last])
            try:
                res = compiled.solve(window, current_weights=held)
            except (InvalidParameterError, OptimizationError) as exc:
                if self.on_infeasible == "hold":
                    continue  # NaN row: hold the drifted positions, try again next time
                text = f"at the rebalance of {data.index[t]}: {exc}"
                if isinstance(exc, OptimizationError):
                    raise OptimizationError(text, status=exc.status) from exc
                raise InvalidParameterError(text) from exc
            w = res.weights.to_numpy()
            out[k] = np.where(np.abs(w) < _DUST, 0.0, w)  # solver noise at a bound: no dust orders
            held, last = out[k].copy(), t
        return pd.DataFrame(out, index=data.index[bars], columns=symbols)

    def signal(self, data: pd.DataFrame) -> pd.DataFrame:
        w = self.weights(data)
        target = pd.DataFrame(np.nan, index=data.index, columns=w.columns)
        # solver noise can put a full weight at 1 + 1e-14: the backtest takes [-1, 1]
        target.loc[w.index] = np.clip(w.to_numpy() / self.leverage, -1.0, 1.0)
        return target


@dataclass(frozen=True, eq=False)
class RebalanceResult:
    """A rebalanced multi-asset backtest.

    Attributes
    ----------
    skipped : DatetimeIndex
        Rebalance bars whose problem was infeasible or failed, held over with
        ``on_infeasible="hold"`` (their rows of ``weights`` are NaN).
    backtest : BacktestResult
        The execution core's result (equity, orders with fees, positions...).
    weights : DataFrame
        Target weights decided at each rebalance bar (index: decision time).
    turnover : Series
        Per fill bar: traded value / equity at the previous close (one-way, summed over
        assets), from ``backtest.orders``.
    costs : Series
        Per fill bar: fees plus slippage (``size * |fill price - reference price|``, the
        reference being the bar's open, or its close with ``fill="close"``), cash units.
    """

    backtest: BacktestResult
    weights: pd.DataFrame
    turnover: pd.Series
    costs: pd.Series
    skipped: pd.Index

    @property
    def total_turnover(self) -> float:
        """Sum of :attr:`turnover` (the first allocation from cash included)."""
        return float(self.turnover.sum())

    @property
    def total_costs(self) -> float:
        """Fees and slippage paid, cash units."""
        return float(self.costs.sum())

    @property
    def equity(self) -> pd.Series:
        """The backtest's equity curve."""
        return self.backtest.equity

    def stats(self, **kwargs: Any) -> pd.Series:
        """The backtest's statistics plus turnover and costs."""
        s = self.backtest.stats(**kwargs).copy()
        years = len(self.backtest.equity) / self.backtest.periods_per_year
        s["n_rebalances"] = float(len(self.weights))
        s["annual_turnover"] = self.total_turnover / years if years > 0 else float("nan")
        s["total_costs"] = self.total_costs
        return s


def rebalance(data: pd.DataFrame, optimizer: Optimizer, *, every: str | int = "M",
              lookback: int = 252, fee_bps: float = 0.0, slippage_bps: float = 0.0,
              fee_fixed: float = 0.0, init_cash: float = 100_000.0, fill: str = "next_open",
              on_infeasible: str = "raise", **backtest_options: Any) -> RebalanceResult:
    """Backtest a portfolio re-optimized on a schedule, through the execution core.

    Parameters
    ----------
    data : DataFrame
        (field, symbol) MultiIndex-column OHLCV of several assets on one index (finite
        prices: align them first, e.g. ``pd.concat(frames, axis=1, join="inner")``).
    optimizer : Optimizer
        What to solve at each rebalance; compiled once for the whole schedule.
    every : {"W", "M", "Q", "Y"} or int, default "M"
        First bar of each week / month / quarter / year, or every ``n`` bars.
    lookback : int >= 2, default 252
        Returns per estimate (and CVaR / growth scenarios); the first rebalance is at bar
        ``lookback``.
    fee_bps, slippage_bps, fee_fixed, init_cash, fill
        Passed to :func:`quantlab.backtest.backtest` (costs in basis points of traded
        value; fills at the next open by default).
    on_infeasible : {"raise", "hold"}, default "raise"
        An infeasible (or failed) rebalance raises, or keeps the held positions until the
        next rebalance (listed in ``result.skipped``), e.g. ``max_sharpe`` when no asset
        has a positive expected excess return.
    **backtest_options
        Any other option of ``backtest()`` (``start``/``end`` windows, ``lot_size``,
        risk limits...). ``leverage`` is set here from the constraints.

    Returns
    -------
    RebalanceResult

    Raises
    ------
    InvalidParameterError
        A bad option; an infeasible rebalance (dated, naming the clashing constraints);
        shorting without ``gross_leverage`` (the backtest's leverage must be known).
    OptimizationError
        A solver failure at a rebalance (dated, with its status).

    Notes
    -----
    The backtest runs with ``leverage = max(1, gross bound)`` (``gross_leverage``, or the
    net exposure when long only) and targets ``w / leverage``, so the account holds ``w``
    x equity; ``rebalance_threshold=0`` re-trades every asset to its weight at each
    rebalance. ``max_turnover`` is measured from the previous weights drifted with prices.
    Weights at bar t use returns up to t only: truncating or changing the data after t
    changes no weight decided at or before t (tested).

    Examples
    --------
    >>> import quantlab.data as qd, pandas as pd  # doctest: +SKIP
    >>> frames = {s.upper(): qd.load(s) for s in ("aapl", "msft", "ibm")}  # doctest: +SKIP
    >>> data = pd.concat(frames, axis=1, join="inner").swaplevel(axis=1)  # doctest: +SKIP
    >>> res = rebalance(data, Optimizer(objective="min_variance", periods_per_year=252),
    ...                 every="M", lookback=252, fee_bps=5)  # doctest: +SKIP
    """
    caller = "rebalance"
    if not isinstance(optimizer, Optimizer):
        raise InvalidParameterError(message("optimizer", caller, "an Optimizer",
                                            type(optimizer).__name__,
                                            "Build one: Optimizer(objective='min_variance', "
                                            "periods_per_year=252)."))
    lookback = check_int("lookback", lookback, caller=caller, minimum=2)
    for name in ("leverage", "rebalance_threshold", "drift_threshold", "size"):
        if name in backtest_options:
            raise InvalidParameterError(message(name, caller, "left to rebalance()",
                                                backtest_options[name],
                                                "Bound the weights with Constraints instead."))
    c = optimizer.constraints
    if c.gross_leverage is not None:
        leverage = max(1.0, c.gross_leverage)
    elif c.long_only:  # every weight >= 0: gross exposure = net exposure
        leverage = max(1.0, c.net_exposure)
    else:
        raise InvalidParameterError(message("optimizer", caller,
                                            "bounded in gross exposure when shorts are allowed",
                                            "long_only=False without gross_leverage",
                                            "Add Constraints(gross_leverage=...)."))
    if isinstance(data, pd.DataFrame) and len(data) <= lookback:
        raise DataError(message("data", caller, f"more than lookback={lookback} bars",
                                len(data)))
    strategy = TargetWeights(optimizer=optimizer, every=every, lookback=lookback,
                             leverage=leverage, on_infeasible=on_infeasible)
    res = backtest(data, strategy, fee_bps=fee_bps, slippage_bps=slippage_bps,
                   fee_fixed=fee_fixed, init_cash=init_cash, fill=fill, leverage=leverage,
                   rebalance_threshold=0.0, **backtest_options)
    target = res.inputs["target"]
    times = data.index[rebalance_bars(data.index, every, lookback, caller=caller)]
    decided = target.loc[times[times.isin(target.index)]] * leverage
    skipped = decided.index[decided.isna().all(axis=1).to_numpy()]
    return RebalanceResult(backtest=res, weights=decided, turnover=_turnover(res),
                           costs=_costs(res, fill), skipped=skipped)


def _turnover(res: BacktestResult) -> pd.Series:
    orders = res.orders
    if orders.empty:
        return pd.Series(dtype=np.float64, name="turnover")
    traded = (orders["size"] * orders["price"]).groupby(orders["time"]).sum()
    prev_equity = res.equity.shift(1).fillna(res.config["init_cash"])
    return (traded / prev_equity.loc[traded.index]).rename("turnover")


def _costs(res: BacktestResult, fill: str) -> pd.Series:
    orders = res.orders
    if orders.empty:
        return pd.Series(dtype=np.float64, name="costs")
    field = "close" if fill == "close" else "open"
    ref_frame = res.data[field]
    ref = np.array([ref_frame.at[t, s] for t, s in zip(orders["time"], orders["symbol"],
                                                       strict=True)], dtype=np.float64)
    slip = orders["size"].to_numpy() * np.abs(orders["price"].to_numpy() - ref)
    total = pd.Series(orders["fee"].to_numpy() + slip, index=orders["time"])
    return total.groupby(level=0).sum().rename("costs")

"""A stand-in for BacktestResult built from real pandas Series of the bundled data.

Strategy: long one unit of exposure while the close is above its 50-day mean (decided on the
previous close), flat otherwise. Everything is computed with plain pandas here, so the report
code under test is checked against numbers it did not produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from quantlab.data import load


@dataclass(frozen=True)
class StandInResult:
    equity: pd.Series
    returns: pd.Series
    positions: pd.DataFrame
    exposure: pd.DataFrame
    cash: pd.Series
    orders: pd.DataFrame
    trades: pd.DataFrame
    benchmark: pd.Series
    data: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)
    periods_per_year: float = 252.0

    def stats(self) -> pd.Series:
        r = self.returns
        dd = self.equity / self.equity.cummax() - 1.0
        return pd.Series({
            "total_return": self.equity.iloc[-1] / self.equity.iloc[0] - 1.0,
            "sharpe": r.mean() / r.std(ddof=1) * np.sqrt(self.periods_per_year),
            "max_drawdown": dd.min(),
            "annual_volatility": r.std(ddof=1) * np.sqrt(self.periods_per_year),
            "n_trades": len(self.trades),
            "win_rate": float((self.trades["return"] > 0).mean()),
            "best_day": r.max(),
            "worst_day": r.min(),
        })


def make_result(symbol: str = "aapl", start: str = "2010-01-01", end: str = "2012-12-31",
                init_cash: float = 10_000.0) -> StandInResult:
    data = load(symbol, start=start, end=end)
    close = data["close"]
    asset = close.pct_change().fillna(0.0)
    target = (close > close.rolling(50).mean()).astype(float)
    held = target.shift(1).fillna(0.0)            # decided on the previous close
    returns = held * asset
    equity = init_cash * (1.0 + returns).cumprod()
    benchmark = init_cash * (1.0 + asset).cumprod()
    exposure = held.to_frame(symbol)
    units = held * equity / close
    change = held.diff().fillna(held)
    entries = list(held.index[change > 0])
    exits = list(held.index[change < 0])
    if len(exits) < len(entries):
        exits.append(held.index[-1])
    rows = []
    for t_in, t_out in zip(entries, exits):
        # entered at the previous bar's close (when the decision was made)
        i_in = held.index.get_loc(t_in) - 1
        i_out = held.index.get_loc(t_out) - (1 if t_out != held.index[-1] else 0)
        p_in, p_out = close.iloc[i_in], close.iloc[i_out]
        path = close.iloc[i_in:i_out + 1] / p_in - 1.0
        rows.append({"symbol": symbol, "direction": "long", "entry_time": close.index[i_in],
                     "exit_time": close.index[i_out], "entry_price": p_in, "exit_price": p_out,
                     "size": 1.0, "pnl": p_out - p_in, "return": p_out / p_in - 1.0,
                     "fees": 0.0, "mae": path.min(), "mfe": path.max(),
                     "duration": i_out - i_in, "exit_reason": "signal"})
    trades = pd.DataFrame(rows)
    orders = pd.DataFrame(columns=["time", "symbol", "side", "size", "price", "fee", "reason"])
    return StandInResult(equity=equity, returns=returns, positions=units.to_frame(symbol),
                         exposure=exposure, cash=equity * (1.0 - held), orders=orders,
                         trades=trades, benchmark=benchmark, data=data,
                         config={"init_cash": init_cash, "fee_bps": 0.0, "sma": 50})

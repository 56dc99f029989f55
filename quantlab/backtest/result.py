"""BacktestResult: the immutable output of :func:`quantlab.backtest`."""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quantlab.backtest import kernels as K
from quantlab.errors import DataQualityWarning, QuantlabError

__all__ = ["BacktestResult"]

_TRADE_COLUMNS = ["symbol", "direction", "entry_time", "exit_time", "entry_price", "exit_price",
                  "size", "pnl", "return", "fees", "mae", "mfe", "duration", "exit_reason",
                  "entry_bar", "exit_bar", "is_open"]


@dataclass(frozen=True, eq=False, repr=False)
class BacktestResult:
    """What a backtest produced (immutable; every frame is indexed by bar time).

    Attributes
    ----------
    equity : Series
        Portfolio value at each bar's close: ``cash + sum(positions * close)``.
    returns : Series
        Simple returns of ``equity``; the first bar against ``init_cash``.
    positions : DataFrame
        Units held per symbol at each bar's close (negative = short).
    exposure : DataFrame
        Position value / equity per symbol.
    cash : Series
        Cash balance (short-sale proceeds included; negative when borrowing).
    orders : DataFrame
        ``time, symbol, side ("buy"/"sell"), size (> 0), price (fill, slippage included),
        fee, reason`` (signal, rebalance, stop_loss, take_profit, trailing_stop, liquidation).
    trades : DataFrame
        ``symbol, direction, entry_time, exit_time, entry_price, exit_price, size, pnl,
        return, fees, mae, mfe, duration (bars), exit_reason`` (+ ``entry_bar, exit_bar,
        is_open``), one row per position reduction as vectorbt's exit trades (with
        entry/exit signals: one row per round trip; see :func:`~quantlab.backtest.kernels.
        trades_nb`). Trades open at the end are valued at the last close with no exit fee,
        reason ``"end"``.
    benchmark : Series
        Buy-and-hold equity of ``init_cash`` bought at the first close, equal weight (its
        return is ``stats()["buy_hold_return"]``; a report's external benchmark is a
        different thing, see :func:`quantlab.report.notebook_helpers.benchmark_equity`).
    data : DataFrame
        The OHLCV simulated.
    config : dict
        Options actually used.
    periods_per_year : float
        Bars per year (given, or inferred from the index).
    """

    equity: pd.Series
    returns: pd.Series
    positions: pd.DataFrame
    exposure: pd.DataFrame
    cash: pd.Series
    orders: pd.DataFrame
    trades: pd.DataFrame
    benchmark: pd.Series
    data: pd.DataFrame
    config: dict[str, Any]
    periods_per_year: float
    inputs: dict[str, Any] = field(default_factory=dict)
    risk_events: pd.DataFrame = field(default_factory=lambda: _events_frame(
        np.empty((0, 5)), pd.DatetimeIndex([], tz="UTC"), []))
    settings: Any = None

    # ---- construction --------------------------------------------------------------
    @classmethod
    def _build(cls, *, frame: pd.DataFrame, symbols: list[str], prices: dict[str, np.ndarray],
               out: tuple, config: dict[str, Any], periods_per_year: float | None,
               inputs: dict[str, Any], single: bool, settings: Any = None) -> BacktestResult:
        index = frame.index
        cash, pos, equity, orec, erec = out[:5]
        o_bar = orec[:, 0].astype(np.int64)
        o_asset = orec[:, 1].astype(np.int64)
        o_size = np.ascontiguousarray(orec[:, 2])
        o_price = np.ascontiguousarray(orec[:, 3])
        o_fee = np.ascontiguousarray(orec[:, 4])
        o_reason = orec[:, 5].astype(np.int8)
        init_cash = config["init_cash"]
        close = prices["close"]
        equity_s = pd.Series(equity, index=index, name="equity")
        prev = np.concatenate([[init_cash], equity[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            rets = np.where(prev != 0.0, equity / prev - 1.0, np.nan)
            expo = np.where(equity[:, None] != 0.0, pos * close / equity[:, None], np.nan)
        sym = np.asarray(symbols, dtype=object)
        orders = pd.DataFrame({
            "time": index[o_bar],
            "symbol": sym[o_asset],
            "side": np.where(o_size > 0, "buy", "sell"),
            "size": np.abs(o_size),
            "price": o_price,
            "fee": o_fee,
            "reason": np.asarray(K.REASONS, dtype=object)[o_reason.astype(np.int64)],
        })
        orders["symbol"] = orders["symbol"].astype(object)
        orders["side"] = orders["side"].astype(object)
        orders["reason"] = orders["reason"].astype(object)
        tr = K.trades_nb(o_bar, o_asset, o_size, o_price, o_fee, o_reason, prices["high"],
                         prices["low"], prices["open"], close, config["fill"] == "next_open")
        (t_asset, t_dir, t_entry, t_exit, t_ep, t_xp, t_size, t_pnl, t_ret, t_fees, t_mae,
         t_mfe, t_reason) = tr
        trades = pd.DataFrame({
            "symbol": sym[t_asset],
            "direction": np.where(t_dir > 0, "long", "short"),
            "entry_time": index[t_entry],
            "exit_time": index[t_exit],
            "entry_price": t_ep,
            "exit_price": t_xp,
            "size": t_size,
            "pnl": t_pnl,
            "return": t_ret,
            "fees": t_fees,
            "mae": t_mae,
            "mfe": t_mfe,
            "duration": (t_exit - t_entry).astype(np.int64),
            "exit_reason": np.asarray(K.REASONS, dtype=object)[t_reason.astype(np.int64)],
            "entry_bar": t_entry.astype(np.int64),
            "exit_bar": t_exit.astype(np.int64),
            "is_open": t_reason == K.REASON_END,
        }, columns=_TRADE_COLUMNS)
        for col in ("symbol", "direction", "exit_reason"):
            trades[col] = trades[col].astype(object)
        bench = init_cash * np.mean(close / close[0], axis=1)
        if periods_per_year is None:
            periods_per_year = _infer_ppy(index)
        config = dict(config)
        config["periods_per_year"] = periods_per_year
        return cls(
            equity=equity_s,
            returns=pd.Series(rets, index=index, name="returns"),
            positions=pd.DataFrame(pos, index=index, columns=symbols),
            exposure=pd.DataFrame(expo, index=index, columns=symbols),
            cash=pd.Series(cash, index=index, name="cash"),
            orders=orders,
            trades=trades,
            benchmark=pd.Series(bench, index=index, name="benchmark"),
            data=frame,
            config=config,
            periods_per_year=float(periods_per_year),
            inputs=inputs,
            risk_events=_events_frame(erec, index, symbols),
            settings=settings,
        )

    # ---- statistics ----------------------------------------------------------------
    def trade_stats(self) -> pd.Series:
        """Trade statistics (counts, win rate, profit factor, expectancy, streaks, fees...).

        Closed trades only, except ``n_open_trades`` (the trade still open at the end is in
        ``trades`` with reason ``"end"``). Each name has one meaning, the same in
        :meth:`stats`:

        * ``n_trades`` = ``n_closed_trades``: closed trades (open ones are ``n_open_trades``);
        * ``profit_factor`` = Σ positive trade returns / |Σ negative trade returns| and
          ``expectancy`` = mean trade return (a fraction), both from the trades' returns as
          in backtesting.py;
        * ``pnl_profit_factor`` = gross profit / gross loss and ``pnl_expectancy`` = mean
          PnL per trade (money), both from the trades' PnL, as vectorbt's ``Profit Factor``
          and ``Expectancy``;
        * ``buy_hold_return``: return of :attr:`benchmark`, buy and hold of the traded
          asset(s) - not a report's external benchmark.
        """
        t = self.trades
        closed = t[~t["is_open"]]
        pnl = closed["pnl"].to_numpy()
        ret = closed["return"].to_numpy()
        wins = pnl[pnl > 0]
        losses = pnl[pnl < 0]
        gross_loss = -losses.sum()
        streak_w, streak_l = _streaks(pnl)
        n_closed = len(closed)

        def _mean(a: np.ndarray) -> float:
            return float(a.mean()) if a.size else float("nan")

        ret_wins = ret[ret > 0].sum()
        ret_losses = -ret[ret < 0].sum()
        return pd.Series({
            "n_trades": float(n_closed),
            "n_closed_trades": float(n_closed),
            "n_open_trades": float(t["is_open"].sum()),
            "n_orders": float(len(self.orders)),
            "win_rate": float(len(wins) / n_closed) if n_closed else float("nan"),
            "profit_factor": float(ret_wins / ret_losses) if ret_losses > 0 else float("nan"),
            "expectancy": _mean(ret),
            "pnl_profit_factor": float(wins.sum() / gross_loss) if gross_loss > 0
            else float("nan"),
            "pnl_expectancy": _mean(pnl),
            "avg_trade_return": _mean(ret),
            "avg_winning_trade_return": _mean(ret[pnl > 0]),
            "avg_losing_trade_return": _mean(ret[pnl < 0]),
            "best_trade_return": float(ret.max()) if ret.size else float("nan"),
            "worst_trade_return": float(ret.min()) if ret.size else float("nan"),
            "avg_trade_duration_bars": _mean(closed["duration"].to_numpy(np.float64)),
            "max_consecutive_wins": float(streak_w),
            "max_consecutive_losses": float(streak_l),
            "avg_mae": _mean(closed["mae"].to_numpy()),
            "avg_mfe": _mean(closed["mfe"].to_numpy()),
            "total_fees": float(self.orders["fee"].sum()),
            "time_in_market": float((self.positions.abs().sum(axis=1) > 0).mean()),
            "start_value": float(self.config["init_cash"]),
            "end_value": float(self.equity.iloc[-1]),
            "buy_hold_return": float(self.benchmark.iloc[-1] / self.config["init_cash"] - 1),
        })

    def stats(self, *, risk_free_rate: float = 0.0) -> pd.Series:
        """Performance and trade statistics (>= 40 rows).

        Returns-based rows come from :func:`quantlab.metrics.summary` (with the trades'
        returns, the net exposure and the buy-and-hold benchmark), followed by
        :meth:`trade_stats` rows it does not already hold. ``turnover_annual`` is
        Σ|traded value| / previous equity per bar, averaged and annualized (buys and sells both
        count: a full round trip is 2).
        """
        try:
            from quantlab.metrics import summary
        except ImportError as exc:  # pragma: no cover - metrics is part of quantlab
            raise QuantlabError("stats() needs quantlab.metrics, which failed to import: "
                                f"{exc}") from exc
        bench = self.benchmark / self.benchmark.shift(1).fillna(self.config["init_cash"]) - 1
        expo = self.exposure.fillna(0.0)
        net = expo.sum(axis=1) if expo.shape[1] == 1 else expo.abs().sum(axis=1)
        base = summary(self.returns, periods_per_year=self.periods_per_year,
                       risk_free_rate=risk_free_rate,
                       trades=self.trades.loc[~self.trades["is_open"], "return"].reset_index(drop=True),
                       positions=net, benchmark=bench)
        # turnover from what was traded (the weights also move with prices, and a rotation
        # between assets leaves the net exposure unchanged): two-sided traded value per bar over
        # the previous bar's equity, averaged and annualized
        orders = self.orders
        traded = (orders["size"].abs() * orders["price"]).groupby(orders["time"]).sum()
        traded = traded.reindex(self.equity.index, fill_value=0.0)
        prev_equity = self.equity.shift(1).fillna(self.config["init_cash"])
        base["turnover_annual"] = float((traded / prev_equity).mean() * self.periods_per_year)
        extra = self.trade_stats()
        extra = extra[[k for k in extra.index if k not in base.index]]
        return pd.concat([base, extra, self._risk_counts()])

    def _risk_counts(self) -> pd.Series:
        """``risk_events`` (all risk-limit events but resumes) and one count per rule."""
        from quantlab.backtest.step import RULES

        ev = self.risk_events
        ev = ev[ev["action"] != "resume"]
        counts = {"risk_events": float(len(ev))}
        for rule in RULES:
            counts[f"risk_{rule}"] = float((ev["rule"] == rule).sum())
        return pd.Series(counts)

    # ---- display and export ----------------------------------------------------------
    def _key_numbers(self) -> dict[str, float]:
        """The headline numbers of ``_repr_html_``: the same functions and counts as ``stats()``."""
        from quantlab import metrics as M

        init = float(self.config["init_cash"])
        closed = self.trades[~self.trades["is_open"]]
        return {
            "total_return": float(self.equity.iloc[-1]) / init - 1,
            "buy_hold_return": float(self.benchmark.iloc[-1]) / init - 1,
            "sharpe": float(M.sharpe(self.returns, periods_per_year=self.periods_per_year)),
            "max_drawdown": float(M.max_drawdown(self.returns)),
            "n_trades": float(len(closed)),  # closed trades, as stats()["n_trades"]
            "win_rate": float((closed["pnl"] > 0).mean()) if len(closed) else float("nan"),
            "total_fees": float(self.orders["fee"].sum()),
        }

    def _repr_html_(self) -> str:
        keys = self._key_numbers()
        start, end = self.equity.index[0], self.equity.index[-1]
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:right'>{_fmt(k, v)}</td></tr>" for k, v in keys.items())
        syms = ", ".join(map(str, self.positions.columns))
        return (f"<div><b>BacktestResult</b> {html.escape(syms)} &middot; {start:%Y-%m-%d} .. "
                f"{end:%Y-%m-%d} &middot; {len(self.equity)} bars &middot; fill="
                f"{html.escape(str(self.config.get('fill')))}<table>{rows}</table></div>")

    def __repr__(self) -> str:
        k = self._key_numbers()
        return (f"BacktestResult({', '.join(map(str, self.positions.columns))}, "
                f"{len(self.equity)} bars, total_return={k['total_return']:.4f}, "
                f"sharpe={k['sharpe']:.3f}, max_drawdown={k['max_drawdown']:.4f}, "
                f"n_trades={int(k['n_trades'])})")

    def plot(self, **kwargs: Any) -> Any:
        """Plotly figure: price with trade markers, equity vs buy-and-hold, drawdown, exposure.

        Delegates to :func:`quantlab.plotting.figures.backtest_figure`.
        """
        from quantlab.plotting.figures import backtest_figure

        return backtest_figure(self, **kwargs)

    def tearsheet(self, path: str | Path, **kwargs: Any) -> Path:
        """Write one interactive HTML tearsheet; return its path.

        ``path`` is a file, or an existing folder (or one ending in "/"), in which the file
        is named after the strategy, its parameters and the options
        (:func:`quantlab.plotting.tearsheet.tearsheet_filename`), so runs with other
        parameters do not overwrite each other. ``kwargs`` (``title``, ``command``,
        ``plotlyjs="directory"``...) go to
        :func:`quantlab.plotting.tearsheet.write_tearsheet`.
        """
        from quantlab.plotting.tearsheet import write_tearsheet

        return write_tearsheet(self, path, **kwargs)

    def to_vectorbt(self, **kwargs: Any) -> Any:
        """Build the equivalent ``vectorbt.Portfolio`` (for cross-checking).

        Signals map to ``Portfolio.from_signals`` with the mapping of
        :func:`quantlab.backtest`'s Notes (exact for ``fill="close"``; for
        ``fill="next_open"`` the signals are shifted one bar and filled at the open, which
        matches except for stops on the entry bar). Targets map to
        ``Portfolio.from_orders(size=target * size * leverage, size_type="targetpercent")``
        (one asset per column, no shared cash: approximate). Extra ``kwargs`` go to vectorbt.

        Raises
        ------
        QuantlabError
            Options vectorbt cannot express (``sl_stop`` with ``tsl_stop``, leverage,
            lot size, funding, ATR slippage, a sizer callable, several symbols in signal mode
            with shared cash).
        """
        import vectorbt as vbt

        c = self.config
        unsupported = [k for k in ("slippage_atr", "maintenance_margin") if c[k]]
        if c["leverage"] != 1.0:
            unsupported.append("leverage")
        if c["sl_stop"] is not None and c["tsl_stop"] is not None:
            unsupported.append("sl_stop with tsl_stop")
        if c["funding_bps"] != 0.0 or c["borrow_bps"] != 0.0:
            unsupported.append("funding_bps/borrow_bps")
        if c["lot_size"] != 0.0 or c["min_notional"] != 0.0:
            unsupported.append("lot_size/min_notional")
        if callable(c["size"]):
            unsupported.append("a sizer callable")
        if unsupported:
            raise QuantlabError("to_vectorbt() cannot express " + ", ".join(unsupported) + ".")
        data = self.data
        fields = {}
        for f in ("open", "high", "low", "close"):
            frame = data[f] if isinstance(data.columns, pd.MultiIndex) else data[[f]]
            fields[f] = pd.DataFrame(frame.to_numpy(), index=data.index,
                                     columns=list(self.positions.columns))
        size = 1.0 if c["size"] == "all_in" else float(c["size"])
        common = dict(fees=c["fee_bps"] / 1e4, fixed_fees=c["fee_fixed"],
                      slippage=c["slippage_bps"] / 1e4, init_cash=c["init_cash"])
        if c["mode"] == "signals":
            sig = {k: v.copy() for k, v in self.inputs.items()}
            price = fields["close"]
            if c["fill"] == "next_open":
                sig = {k: v.shift(1, fill_value=False) for k, v in sig.items()}
                price = fields["open"]
            if c["warmup"]:
                for v in sig.values():
                    v.iloc[: c["warmup"] + (1 if c["fill"] == "next_open" else 0)] = False
            stop_kw: dict[str, Any] = {}
            if c["sl_stop"] is not None:
                stop_kw.update(sl_stop=c["sl_stop"])
            if c["tsl_stop"] is not None:
                stop_kw.update(sl_stop=c["tsl_stop"], sl_trail=True)
            if c["tp_stop"] is not None:
                stop_kw.update(tp_stop=c["tp_stop"])
            if stop_kw:
                stop_kw.update(open=fields["open"], high=fields["high"], low=fields["low"],
                               stop_entry_price="price" if c["fill"] == "next_open" else "close")
            size_kw: dict[str, Any] = {}
            if size != 1.0:
                size_kw = dict(size=size, size_type="percent")
            return vbt.Portfolio.from_signals(
                fields["close"], sig["entries"], sig["exits"], short_entries=sig["short_entries"],
                short_exits=sig["short_exits"], price=price, **size_kw, **stop_kw,
                **{**common, **kwargs})
        target = self.inputs["target"] * size * c["leverage"]
        if c["warmup"]:
            target = target.copy()
            target.iloc[: c["warmup"]] = np.nan
        price = fields["close"]
        if c["fill"] == "next_open":
            target = target.shift(1)
            price = fields["open"]
        return vbt.Portfolio.from_orders(fields["close"], size=target, size_type="targetpercent",
                                         price=price, **{**common, **kwargs})


def _streaks(pnl: np.ndarray) -> tuple[int, int]:
    best_w = best_l = cur_w = cur_l = 0
    for x in pnl:  # per trade, not per bar
        if x > 0:
            cur_w, cur_l = cur_w + 1, 0
        elif x < 0:
            cur_w, cur_l = 0, cur_l + 1
        else:
            cur_w = cur_l = 0
        best_w, best_l = max(best_w, cur_w), max(best_l, cur_l)
    return best_w, best_l


def _fmt(key: str, value: float) -> str:
    if not np.isfinite(value):
        return "&ndash;"
    if key.startswith("n_"):
        return f"{int(value)}"
    if key in ("sharpe", "total_fees"):
        return f"{value:,.2f}"
    return f"{value:.2%}"


def _events_frame(erec: np.ndarray, index: pd.Index, symbols: list[str]) -> pd.DataFrame:
    """Risk-event records (bar, rule, value, action, asset or -1) -> a DataFrame."""
    from quantlab.backtest import step as S

    bars = erec[:, 0].astype(np.int64)
    assets = erec[:, 4].astype(np.int64)
    sym = np.asarray(list(symbols) + [""], dtype=object)
    return pd.DataFrame({
        "time": index[bars] if len(bars) else pd.DatetimeIndex([], tz="UTC"),
        "bar": bars,
        "rule": np.asarray(S.RULES, dtype=object)[erec[:, 1].astype(np.int64)],
        "value": erec[:, 2],
        "action": np.asarray(S.ACTIONS, dtype=object)[erec[:, 3].astype(np.int64)],
        "symbol": sym[assets],  # "" for account-wide rules
    })


def _infer_ppy(index: pd.Index) -> float:
    """periods_per_year from the index's spacing; when no rule fits (irregular or multi-day
    bars), the bars per calendar year, with a warning saying so (pass periods_per_year)."""
    from quantlab.metrics import infer_periods_per_year

    try:
        return float(infer_periods_per_year(index, caller="backtest"))
    except QuantlabError:
        span = (index[-1] - index[0]).total_seconds() / (365.25 * 86400)
        ppy = float((len(index) - 1) / span)
        warnings.warn(f"periods_per_year inferred as {ppy:.4g} bars per calendar year (the bar "
                      "spacing fits no rule); pass periods_per_year= to annualize explicitly.",
                      DataQualityWarning, stacklevel=4)
        return ppy

"""Shadow backtest: replay the bars a run saw through the simulator and explain the gap.

``quantlab live report JOURNAL`` reads the bars the runner stepped from its journal, runs
``backtest()`` on them with the promoted strategy and settings, matches the simulator's orders
with the run's fills (by bar and side) and attributes the difference in final equity:

* **fees** - fees paid live minus the simulator's, on matched orders;
* **slippage** - execution price differences on matched orders (signed, in cash);
* **missed / extra fills** - orders one side has and the other does not (a bad or stale bar,
  a halt, a reject);
* **partial fills** - size differences on matched orders, valued at the simulator's price;
* **latency** - the decision latency per bar (closed bar in -> orders out) as measured live.

The HTML report has the two equity curves, their difference and the attribution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quantlab.live._core import BacktestConfig, backtest
from quantlab.live.journal import Journal, journal_mode
from quantlab.live.promote import build_strategy

__all__ = ["ShadowResult", "shadow", "shadow_report"]


@dataclass
class ShadowResult:
    """Live vs simulator on the bars a run saw."""

    equity: pd.DataFrame
    """Columns ``live``, ``shadow``, ``difference`` per bar."""
    orders: pd.DataFrame
    """Matched and unmatched orders (``status``: matched, missed, extra)."""
    attribution: pd.Series
    """Cash effect of fees, slippage, missed/extra fills, partial fills; ``unexplained``."""
    latency_us: pd.Series
    """Decision latency per bar (microseconds)."""


def shadow(journal: str | Path) -> ShadowResult:
    """Replay a run's bars through ``backtest()`` and attribute the differences."""
    j = Journal(journal, mode=journal_mode(journal), readonly=True)
    try:
        doc = json.loads(j.conn.execute("SELECT text FROM config ORDER BY id LIMIT 1")
                         .fetchone()[0])
        bars = j.frame("bars")
        dec = j.frame("decisions")
        fills = j.frame("fills")
        intents = j.frame("intents")
    finally:
        j.close()
    strategy = build_strategy(doc["strategy"]["class"], doc["strategy"]["params"],
                              caller="shadow")
    cfg = BacktestConfig.from_dict(doc["backtest"])
    symbol = doc["symbols"][0]
    seen = bars[bars["status"] != "rejected"]
    rows = [json.loads(d) for d in seen["data"]]
    frame = pd.DataFrame({f: [r[f][0] for r in rows] for f in ("open", "high", "low", "close",
                                                               "volume")},
                         index=pd.DatetimeIndex(pd.to_datetime(seen["time"]), name="time"))
    frame.attrs["symbol"] = symbol
    bt = backtest(frame, strategy, cfg)
    # live equity from the broker's fills (cash flows and positions), marked at each close
    init_cash = float(cfg.execution.init_cash)
    f = fills.copy()
    f["time"] = pd.to_datetime(f["time"])
    signed = np.where(f["side"] == "buy", 1.0, -1.0) * f["size"]
    f["cash"] = -signed * f["price"] - f["fee"]
    f["units"] = signed
    per_bar = f.groupby("time")[["cash", "units"]].sum().reindex(frame.index, fill_value=0.0)
    live_eq = init_cash + per_bar["cash"].cumsum() + per_bar["units"].cumsum() * frame["close"]
    equity = pd.DataFrame({"live": live_eq.to_numpy(), "shadow": bt.equity.to_numpy()},
                          index=frame.index)
    equity["difference"] = equity["live"] - equity["shadow"]

    live = intents.merge(fills[["client_id", "size", "price", "fee"]], on="client_id",
                         how="left", suffixes=("_intent", ""))
    live["time"] = pd.to_datetime(live["time"])
    sim = bt.orders.copy()
    sim["time"] = pd.to_datetime(sim["time"])
    merged = sim.merge(live[["time", "side", "size", "price", "fee", "client_id"]],
                       on=["time", "side"], how="outer", suffixes=("_sim", "_live"),
                       indicator=True)
    merged["status"] = merged["_merge"].map({"both": "matched", "left_only": "missed",
                                             "right_only": "extra"}).astype(str)
    merged = merged.drop(columns="_merge")
    m = merged[merged["status"] == "matched"]
    sign = np.where(m["side"] == "buy", 1.0, -1.0)
    last = float(frame["close"].iloc[-1])
    fees = -(m["fee_live"].fillna(0) - m["fee_sim"]).sum()
    slippage = -(sign * (m["price_live"] - m["price_sim"]) * m["size_live"]).sum()
    partial = (sign * (m["size_live"] - m["size_sim"]) * (last - m["price_sim"])).sum()
    missed = merged[merged["status"] == "missed"]
    extra = merged[merged["status"] == "extra"]
    s_missed = -(np.where(missed["side"] == "buy", 1.0, -1.0) * missed["size_sim"]
                 * (last - missed["price_sim"]) - missed["fee_sim"]).sum()
    s_extra = (np.where(extra["side"] == "buy", 1.0, -1.0) * extra["size_live"].fillna(0)
               * (last - extra["price_live"].fillna(last)) - extra["fee_live"].fillna(0)).sum()
    total = float(equity["difference"].iloc[-1]) if len(equity) else 0.0
    parts = {"fees": fees, "slippage": slippage, "missed fills": s_missed,
             "extra fills": s_extra, "partial fills": partial}
    parts["unexplained"] = total - sum(parts.values())
    parts["total (live - shadow)"] = total
    attribution = pd.Series({k: float(v) for k, v in parts.items()}, name="cash")
    latency = pd.Series(dec["latency_us"].to_numpy(), index=pd.to_datetime(dec["time"]),
                        name="latency_us")
    return ShadowResult(equity, merged, attribution, latency)


def shadow_report(journal: str | Path, *, out: str | Path | None = None) -> Path:
    """Write the shadow report of a run as HTML (figures: equity, difference, attribution,
    latency); return its path (default ``<journal>.report.html``)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    res = shadow(journal)
    out = Path(out) if out is not None else Path(str(journal) + ".report.html")
    fig = make_subplots(rows=2, cols=2, subplot_titles=(
        "equity: live vs shadow backtest", "live - shadow", "attribution of the gap (cash)",
        "decision latency per bar (µs)"))
    eq = res.equity
    fig.add_trace(go.Scatter(x=eq.index, y=eq["live"], name="live"), 1, 1)
    fig.add_trace(go.Scatter(x=eq.index, y=eq["shadow"], name="shadow", line={"dash": "dot"}),
                  1, 1)
    fig.add_trace(go.Scatter(x=eq.index, y=eq["difference"], name="difference"), 1, 2)
    att = res.attribution
    fig.add_trace(go.Bar(x=list(att.index), y=att.to_numpy(), name="attribution"), 2, 1)
    fig.add_trace(go.Histogram(x=res.latency_us.to_numpy(), name="latency"), 2, 2)
    fig.update_layout(height=800, title=f"Shadow report: {Path(journal).name}")
    counts = res.orders["status"].value_counts().to_dict()
    table = att.to_frame().to_html(float_format=lambda v: f"{v:,.4f}")
    lat = res.latency_us.describe(percentiles=[0.5, 0.99]).to_frame().to_html(
        float_format=lambda v: f"{v:,.1f}")
    html = (f"<html><head><meta charset='utf-8'><title>Shadow report</title></head><body>"
            f"<h1>Shadow report</h1><p>Orders: {counts}</p>{table}{lat}"
            f"{fig.to_html(full_html=False, include_plotlyjs=True)}</body></html>")
    out.write_text(html, encoding="utf-8")
    return out

"""The tearsheet: one self-contained HTML file, plotly.js inlined exactly once."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from quantlab.errors import InvalidParameterError
from quantlab.report.html import figure_div, html_page
from quantlab.report.tearsheet import (
    format_stats,
    format_value,
    key_numbers,
    stat_kind,
    tearsheet_filename,
    trades_table,
    trades_table_html,
    write_tearsheet,
)
from tests.report._standin import make_result


def plotlyjs_copies(page: str) -> int:
    js = get_plotlyjs()
    # three probes spread over the bundle: each appears once per copy
    probes = [js[len(js) // 4: len(js) // 4 + 300], js[len(js) // 2: len(js) // 2 + 300],
              js[-300:]]
    counts = {page.count(p) for p in probes}
    assert len(counts) == 1, counts
    return counts.pop()


@pytest.fixture(scope="module")
def result():
    return make_result()


@pytest.fixture(scope="module")
def page(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("tear") / "sub" / "tearsheet.html"
    written = write_tearsheet(result, path, title="SMA 50 on AAPL")
    assert written == path
    assert [p.name for p in path.parent.iterdir()] == ["tearsheet.html"]  # no temp file left
    return path.read_text(encoding="utf-8")


def test_one_copy_of_plotlyjs_and_every_figure(page, result):
    assert plotlyjs_copies(page) == 1
    assert re.search(r"<script[^>]*\bsrc=", page) is None  # nothing external
    # overview, monthly heatmap, rolling Sharpe, trade distribution, MAE/MFE
    assert page.count('class="quantlab-figure"') == 5
    assert page.count("Plotly.newPlot(") == 5
    assert page.index("Plotly.newPlot(") > page.index("</head>")  # library loads first


def test_stats_table_key_numbers_and_parameters(page, result):
    stats = result.stats()
    keys = key_numbers(result)
    carded = {"total_return", "sharpe", "max_drawdown", "annual_volatility", "n_trades",
              "win_rate"} & set(stats.index)
    for name, value in stats.items():  # each statistic once: a key number or a table row
        row = f"<tr><td>{name}</td><td class=\"num\">{format_value(value, stat_kind(name))}</td></tr>"
        assert page.count(row) == (0 if name in carded else 1), name
        assert page.count(f"<td>{name}</td>") == (0 if name in carded else 1), name
    for label, (value, kind) in keys.items():
        card = f'<div class="v">{format_value(value, kind)}</div><div class="k">{label}</div>'
        assert page.count(card) == 1, label
    assert "SMA 50 on AAPL" in page
    total = result.equity.iloc[-1] / result.equity.iloc[0] - 1.0
    assert page.count(f"{100 * total:.2f}%") == 1
    assert re.search(r"\d\.\d+e[+-]\d", page.split("<h2>Parameters</h2>")[0].split(
        "</head>")[1].split("<h2>Statistics</h2>")[1]) is None  # no scientific notation
    block = re.search(r"<h2>Parameters</h2>\n<pre>(.*?)</pre>", page, re.S).group(1)
    params = json.loads(block.replace("&quot;", '"').replace("&#x27;", "'"))
    assert params["config"] == {"init_cash": 10000.0, "fee_bps": 0.0, "sma": 50}
    assert params["period"]["bars"] == len(result.equity)
    assert len(params["data_fingerprint"]) == 64


def test_key_numbers_are_the_stats_values(result):
    keys, stats, eq = key_numbers(result), result.stats(), result.equity
    assert keys["Total return"][0] == stats["total_return"] == pytest.approx(eq.iloc[-1] / eq.iloc[0] - 1.0)
    assert keys["Max drawdown"][0] == stats["max_drawdown"] == pytest.approx((eq / eq.cummax() - 1.0).min())
    assert keys["Sharpe"][0] == stats["sharpe"]
    assert keys["Trades"][0] == stats["n_trades"] == len(result.trades)
    assert keys["Final equity"][0] == eq.iloc[-1]


def test_html_page_inlines_plotlyjs_once_for_many_figures(result):
    from quantlab.report.figures import drawdown_figure, equity_figure

    body = "".join(figure_div(f) for f in (equity_figure(result), drawdown_figure(result)) * 3)
    assert plotlyjs_copies(html_page("t", body)) == 1
    assert plotlyjs_copies(html_page("t", "<p>no figures</p>")) == 0


def test_bad_result_is_refused(tmp_path):
    with pytest.raises(InvalidParameterError, match="`result` of write_tearsheet"):
        write_tearsheet(object(), tmp_path / "x.html")


# ---------------------------------------------------------------------------- formatting

@pytest.mark.parametrize("value, kind, text", [
    (6.37594, "pct", "637.59%"),          # the raw total_return the issue quotes
    (-0.780094, "pct", "-78.01%"),
    (0.0, "pct", "0.00%"),
    (31.0, "int", "31"),
    (3270.0, "int", "3,270"),
    (np.int64(12), "int", "12"),
    (829_700.5, "money", "829,700.50"),   # was "8.297e+05"
    (737_594.344021, "money", "737,594.34"),
    (12_969.087, "money", "12,969.09"),
    (0.634021, "num", "0.63"),
    (101.278916, "num", "101.28"),
    (1_234_567.891, "num", "1,234,567.89"),
    (0.0001234, "num", "0.0001234"),
    (-0.003, "num", "-0.003000"),
    (1e-12, "num", "0.000000000001000"),
    (float("nan"), "pct", "—"),
    (float("inf"), "num", "—"),
    (True, "num", "True"),
    ("next_open", "num", "next_open"),
])
def test_format_value_by_hand(value, kind, text):
    assert format_value(value, kind) == text
    assert "e+" not in format_value(value, kind) and "e-" not in format_value(value, kind)


def test_format_value_round_trips_and_refuses_unknown_kinds():
    rng = np.random.default_rng(3)
    for x in rng.lognormal(0, 6, 200) * rng.choice([-1, 1], 200):
        assert float(format_value(x, "money").replace(",", "")) == pytest.approx(x, abs=0.005)
        assert float(format_value(x, "pct").rstrip("%").replace(",", "")) == pytest.approx(
            100 * x, abs=0.005)
        shown = format_value(x, "num")
        assert float(shown.replace(",", "")) == pytest.approx(x, rel=1e-3, abs=0.005)
        assert "e" not in shown
    with pytest.raises(InvalidParameterError, match="Did you mean 'pct'"):
        format_value(1.0, "pcnt")


def test_stat_kinds_cover_every_row_of_a_real_backtest():
    import quantlab as ql
    from quantlab.data import load
    from quantlab.strategies import SmaCross

    stats = ql.backtest(load("aapl", start="2005-01-01", end="2008-12-31"),
                        SmaCross(fast=10, slow=30), fee_bps=10).stats()
    kinds = {name: stat_kind(name) for name in stats.index}
    assert {n for n, k in kinds.items() if k == "money"} == {
        "total_fees", "start_value", "end_value", "pnl_expectancy"}
    for name in ("total_return", "cagr", "max_drawdown", "win_rate", "expectancy",
                 "buy_hold_return", "exposure", "var_95", "avg_mae"):
        assert kinds[name] == "pct", name
    for name in ("n_trades", "n_open_trades", "n_orders", "max_consecutive_losses",
                 "max_drawdown_duration_bars", "risk_events", "periods_per_year"):
        assert kinds[name] == "int", name
    shown = format_stats(stats)
    assert shown["total_return"] == f"{100 * stats['total_return']:,.2f}%"
    assert shown["end_value"] == f"{stats['end_value']:,.2f}" and "," in shown["end_value"]
    assert shown["n_trades"] == f"{int(stats['n_trades'])}"
    assert not shown.str.contains(r"\de[+-]").any()


# ---------------------------------------------------------------------------- trades

def test_trades_table_is_complete_with_percent_excursions(result, page):
    trades = result.trades
    table = trades_table(trades)
    assert len(table) == len(trades) and list(table.index) == list(range(1, len(trades) + 1))
    for i, (_, trade) in enumerate(trades.iterrows(), start=1):
        assert table.loc[i, "MAE"] == f"{100 * trade['mae']:.2f}%"
        assert table.loc[i, "MFE"] == f"{100 * trade['mfe']:.2f}%"
        assert table.loc[i, "return"] == f"{100 * trade['return']:.2f}%"
        assert table.loc[i, "entry"] == f"{trade['entry_time']:%Y-%m-%d %H:%M}"
    html_table = trades_table_html(trades)
    assert html_table.count("<tr>") == len(trades) + 1  # every trade + the header
    assert 'class="scroll trades"' in html_table
    assert html_table in page and f"<h2>Trades ({len(trades)})</h2>" in page
    assert trades_table_html(trades.iloc[:0]) == "<p>No trade in this period.</p>"


# ---------------------------------------------------------------------------- header, names

def test_header_shows_the_runs_own_command(result, tmp_path):
    command = "quantlab backtest --dataset aapl --strategy SmaCross -p fast 7 --fee-bps 3"
    page = write_tearsheet(result, tmp_path / "t.html", command=command).read_text()
    assert f'<div class="command">$ {command}</div>' in page
    default = write_tearsheet(result, tmp_path / "u.html").read_text()
    start, end = result.equity.index[0], result.equity.index[-1]
    assert f"{start:%Y-%m-%d} .. {end:%Y-%m-%d} ({len(result.equity):,} bars)" in default
    assert "init_cash=10,000" in default and "fee_bps=0" in default


class _Run:
    def __init__(self, base, **config):
        self.__dict__.update(base.__dict__)
        self.config = config

    def stats(self):
        return _STANDIN.stats()


_STANDIN = make_result()


def test_file_names_include_the_parameters_and_are_safe(tmp_path):
    one = _Run(_STANDIN, strategy={"name": "SmaCross", "params": {"fast": 20, "slow": 50}},
               fee_bps=10.0, fill="next_open")
    two = _Run(_STANDIN, strategy={"name": "SmaCross", "params": {"fast": 10, "slow": 50}},
               fee_bps=10.0, fill="next_open")
    name = tearsheet_filename(one, label="aapl")
    assert name == "tearsheet-aapl-SmaCross-fast=20-slow=50-fee_bps=10-fill=next_open.html"
    a = write_tearsheet(one, tmp_path, label="aapl")
    b = write_tearsheet(two, str(tmp_path) + "/", label="aapl")
    assert a != b and a.exists() and b.exists() and a.parent == b.parent == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.name, b.name])
    odd = _Run(_STANDIN, strategy={"name": "Custom", "params": {"path": "../x y/z", "w": 1.5}})
    safe = tearsheet_filename(odd, label="BTC/USDT:USDT")
    assert re.fullmatch(r"[A-Za-z0-9._=+-]+\.html", safe) and "/" not in safe
    long = _Run(_STANDIN, strategy={"name": "S", "params": {f"p{i}": i for i in range(80)}})
    long2 = _Run(_STANDIN, strategy={"name": "S", "params": {f"p{i}": i + (i == 79)
                                                              for i in range(80)}})
    n1, n2 = tearsheet_filename(long), tearsheet_filename(long2)
    assert len(n1) <= 155 and n1 != n2  # cut, with a hash of the full name


# ---------------------------------------------------------------------------- plotly.js once per folder

def test_plotlyjs_directory_shares_one_copy(result, tmp_path):
    inline = write_tearsheet(result, tmp_path / "inline" / "t.html")
    first = write_tearsheet(result, tmp_path / "shared" / "a.html", plotlyjs="directory")
    second = write_tearsheet(result, tmp_path / "shared" / "b.html", plotlyjs="directory")
    js = tmp_path / "shared" / "plotly.min.js"
    assert js.read_text(encoding="utf-8") == get_plotlyjs()
    for path in (first, second):
        page = path.read_text(encoding="utf-8")
        assert plotlyjs_copies(page) == 0
        assert page.count('<script type="text/javascript" src="plotly.min.js"></script>') == 1
        assert page.index('src="plotly.min.js"') < page.index("Plotly.newPlot(")
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["a.html", "b.html",
                                                                      "plotly.min.js"]
    sizes = (inline.stat().st_size, first.stat().st_size, js.stat().st_size)
    assert sizes[0] == pytest.approx(sizes[1] + sizes[2], rel=0.01)
    assert sizes[1] < sizes[0] / 5
    # a shared folder elsewhere: the page loads it by a relative path
    deep = write_tearsheet(result, tmp_path / "root" / "nb" / "run" / "t.html",
                           plotlyjs="directory", plotlyjs_dir=tmp_path / "root")
    assert 'src="../../plotly.min.js"' in deep.read_text(encoding="utf-8")
    assert (tmp_path / "root" / "plotly.min.js").exists()
    with pytest.raises(InvalidParameterError, match="Did you mean 'directory'"):
        write_tearsheet(result, tmp_path / "x.html", plotlyjs="directroy")


def test_export_html_directory_mode(result, tmp_path):
    import nbformat

    from quantlab.report.figures import equity_figure
    from quantlab.report.html import export_html, figure_bundle

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [nbformat.v4.new_output("display_data", data=figure_bundle(equity_figure(result)))]
    nb.cells = [cell]
    inline = export_html(nb, tmp_path / "a" / "report.html")
    shared = export_html(nb, tmp_path / "root" / "nb" / "run" / "report.html",
                         plotlyjs="directory", plotlyjs_dir=tmp_path / "root")
    assert plotlyjs_copies(inline) == 1 and plotlyjs_copies(shared) == 0
    assert shared.count('src="../../plotly.min.js"') == 1
    assert (tmp_path / "root" / "plotly.min.js").read_text(encoding="utf-8") == get_plotlyjs()
    with pytest.raises(InvalidParameterError, match="`path` of export_html"):
        export_html(nb, plotlyjs="directory")

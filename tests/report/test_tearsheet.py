"""The tearsheet: one self-contained HTML file, plotly.js inlined exactly once."""

from __future__ import annotations

import json
import re

import pytest
from plotly.offline import get_plotlyjs

from quantlab.errors import InvalidParameterError
from quantlab.report.html import figure_div, html_page
from quantlab.report.tearsheet import key_numbers, write_tearsheet
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
    for name in result.stats().index:
        assert f"<td>{name}</td>" in page
    assert "SMA 50 on AAPL" in page
    total = result.equity.iloc[-1] / result.equity.iloc[0] - 1.0
    assert f"{100 * total:.2f}%" in page
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

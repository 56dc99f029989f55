"""The user notebooks in notebooks/: committed clean, parameterized, and honest reports.

Structure: every notebook is valid nbformat 4.5 without outputs, with cell ids, exactly one
``parameters`` cell of literal assignments with help comments (``smoke: bool = False``
included) followed by the validation cell, and the ``quantlab`` kernel.

Execution: CI runs every notebook in smoke mode with nbval in a separate pytest call
(``QUANTLAB_SMOKE=1 pytest --nbval-lax --nbval-kernel-name quantlab notebooks/``). Here,
backtest_report.ipynb runs through the report runner, and its recorded key figures, data
fingerprint and figures are compared with the same ``quantlab.backtest`` call made directly
(the oracle), then the run is replayed from its manifest.
"""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import empyrical as ep
import nbformat
import numpy as np
import pytest

import quantlab as ql
import quantlab.report as qr
from quantlab.backtest.sizers import FixedFraction
from quantlab.data import load
from quantlab.report import notebook_helpers as nh
from quantlab.report.html import figures_from_notebook
from quantlab.report.manifest import fingerprint
from quantlab.report.runner import notebook_parameters, rerun, run_notebook, validate_parameters
from quantlab.strategies import EmaCross

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
BACKTEST_REPORT = NOTEBOOKS / "backtest_report.ipynb"


def test_the_notebooks_exist():
    assert [p.name for p in PATHS] == ["01_quickstart.ipynb", "02_execution_core.ipynb",
                                       "backtest_report.ipynb", "portfolio_report.ipynb",
                                       "promote.ipynb",
                                       "regime_risk_report.ipynb", "sweep_report.ipynb",
                                       "walkforward_report.ipynb"]


# ---------------------------------------------------------------------------- structure

@pytest.fixture(params=PATHS, ids=[p.name for p in PATHS])
def notebook(request):
    path = request.param
    nb = nbformat.read(str(path), as_version=4)
    return path, nb


def test_valid_with_cell_ids_and_the_quantlab_kernel(notebook):
    path, nb = notebook
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert nb.metadata["kernelspec"]["name"] == "quantlab"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert set(raw["metadata"]) <= {"kernelspec", "language_info"}  # no papermill/widget state


def test_committed_without_outputs(notebook):
    _, nb = notebook
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata, cell.id


def test_exactly_one_parameters_cell_then_the_validation_cell(notebook):
    path, nb = notebook
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    cell = nb.cells[tagged[0]]
    assert cell.cell_type == "code"
    for node in ast.parse(cell.source).body:  # literal assignments only
        assert isinstance(node, ast.Assign | ast.AnnAssign)
        ast.literal_eval(node.value)
    specs = notebook_parameters(path)
    assert (specs["smoke"].type, specs["smoke"].default) == ("bool", False)
    assert all(spec.help for spec in specs.values()), [n for n, s in specs.items() if not s.help]
    assert len(specs) == len(cell.source.strip().splitlines())  # one parameter per line
    after = nb.cells[tagged[0] + 1]
    assert after.cell_type == "code" and "nh.smoke_mode(smoke)" in after.source
    validate_parameters(path, {})  # the defaults pass the runner's checks (datasets exist)


# ---------------------------------------------------------------------------- the report

PARAMS = {"smoke": True, "dataset": "msft", "strategy": "EmaCross",
          "strategy_params": {"fast": 10, "slow": 40}, "fee_bps": 5.0, "slippage_bps": 2.0,
          "sizer_params": {"fraction": 0.5}, "benchmark": "ibm", "rolling_window": 63,
          "end": "2012-06-30"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """backtest_report.ipynb run by the runner in smoke mode (a kernel starts: 5-15 s)."""
    return run_notebook(BACKTEST_REPORT, PARAMS, output_dir=tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def api():
    """The same backtest made directly through the API: the oracle."""
    data = load("msft", end="2012-06-30").iloc[-nh.SMOKE_BARS:]
    res = ql.backtest(data, EmaCross(fast=10, slow=40), fee_bps=5.0, slippage_bps=2.0,
                      fill="next_open", init_cash=100_000.0, size=FixedFraction(0.5))
    return data, res


def test_report_records_equal_the_api(report, api):
    data, res = api
    assert report.ok and report.manifest["parameters"]["smoke"] is True
    stats = res.stats()
    rec = report.records
    for name in nh.KEY_FIGURES:
        assert rec[name] == pytest.approx(float(stats[name]), rel=1e-12, abs=1e-15), name
    # the headline numbers also against the result's own series
    assert rec["total_return"] == pytest.approx(res.equity.iloc[-1] / 100_000.0 - 1.0, rel=1e-12)
    assert rec["max_drawdown"] == pytest.approx(ep.max_drawdown(res.returns), rel=1e-12)
    assert rec["n_trades"] == int((~res.trades["is_open"]).sum())
    assert rec["bars"] == nh.SMOKE_BARS == len(data)
    assert rec["strategy"] == "EmaCross(fast=10, slow=40, short=False)"
    ibm = load("ibm")["close"].reindex(data.index)
    assert rec["benchmark_total_return"] == pytest.approx(ibm.iloc[-1] / ibm.iloc[0] - 1.0,
                                                          rel=1e-12)


def test_report_data_fingerprints_equal_the_api(report, api):
    data, _ = api
    recorded = report.manifest["data"]
    assert recorded["msft"]["fingerprint"] == fingerprint(data)
    assert recorded["msft"]["rows"] == len(data)
    assert recorded["msft"]["start"] == data.index[0].isoformat()
    assert recorded["ibm"]["fingerprint"] == fingerprint(load("ibm"))


def _values(y):
    """A figure JSON array: a list, or plotly's typed array {"dtype", "bdata" (base64)}."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    return np.asarray(y, dtype=float)


def test_report_figures_equal_the_api(report, api):
    _, res = api
    bench = nh.benchmark_equity(res, load("ibm"), name="ibm")
    expected = {
        "equity": qr.equity_figure(res, benchmark=bench, log=True, title="Equity vs ibm (log scale)"),
        "drawdown": qr.drawdown_figure(res),
        "monthly": qr.monthly_returns_heatmap(res),
        "rolling": qr.rolling_sharpe_figure(res, window=63),
        "exposure": qr.exposure_figure(res),
        "mae_mfe": qr.mae_mfe_figure(res),
    }
    stored = figures_from_notebook(report.notebook_path)
    assert len(stored) == report.manifest["figures"] == 8  # overview, equity, drawdown,
    # monthly, trade distribution, MAE/MFE, rolling Sharpe, exposure
    titles = [(f["layout"].get("title") or {}).get("text") for f in stored]
    for name, fig in expected.items():
        want = json.loads(fig.to_json())
        (got,) = [f for f, t in zip(stored, titles) if t == want["layout"]["title"]["text"]]
        assert got["data"] == want["data"], name
    (equity_trace,) = [t for t in stored[0]["data"] if t.get("name") == "strategy"]
    np.testing.assert_array_equal(_values(equity_trace["y"]), res.equity.to_numpy())
    assert report.html_path is not None and report.html_path.stat().st_size > 0


def test_report_rerun_from_the_manifest_is_identical(report):
    new, diffs = rerun(report.manifest_path)
    assert [d for d in diffs if not d.startswith("note:")] == []
    assert new.records == report.records
    assert new.manifest["data"] == report.manifest["data"]
    assert new.manifest["parameters"] == report.manifest["parameters"]

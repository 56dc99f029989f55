"""The notebook runner: parameter checks, manifests, HTML reports, reruns, the index, the CLI.

Oracles: the key figures, data fingerprints and figures a notebook run records equal the same
computations made here through the API; git's own answer for the commit; plotly's bundle for
the single copy of plotly.js.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

import quantlab.report as qr
from quantlab.data import load
from quantlab.errors import DataError, InvalidParameterError, ReportError
from quantlab.report.commands import main
from quantlab.report.html import export_html, figure_bundle, figures_from_notebook
from quantlab.report.index import list_runs, write_index
from quantlab.report.manifest import fingerprint, read_manifest
from quantlab.report.runner import (
    NotebookRunError,
    help_notebook,
    notebook_parameters,
    parse_cli_value,
    run_notebook,
    validate_parameters,
)
from tests.report.test_tearsheet import plotlyjs_copies

NOTEBOOKS = Path(__file__).parent / "notebooks"
BUY_AND_HOLD = NOTEBOOKS / "buy_and_hold.ipynb"
TINY = NOTEBOOKS / "tiny.ipynb"


@pytest.fixture(scope="module")
def root(reports_root):
    return reports_root  # ok_run (conftest.py) writes here


# ---------------------------------------------------------------------------- parameters

def test_parameters_are_parsed_from_the_tagged_cell():
    specs = notebook_parameters(BUY_AND_HOLD)
    assert list(specs) == ["symbol", "start", "end", "init_cash", "window", "smoke", "fail"]
    assert (specs["symbol"].type, specs["symbol"].default) == ("str", "aapl")
    assert specs["symbol"].help == "dataset name (quantlab.data.load)"
    assert specs["symbol"].is_dataset and not specs["start"].is_dataset
    assert (specs["init_cash"].type, specs["window"].type) == ("float", "int")
    assert (specs["smoke"].type, specs["smoke"].default) == ("bool", False)  # annotated
    assert specs["smoke"].help == "shrink the work for CI"


def _notebook(source: str, *, twice: bool = False) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for _ in range(2 if twice else 1):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    return nb


def test_parameter_cell_rules():
    specs = notebook_parameters(_notebook('a: float | None = None  # optional\nb = [1, 2]\n'
                                          'c: "int" = 3'))
    assert specs["a"].type == "float" and specs["a"].nullable
    assert specs["b"].type == "list" and specs["c"].type == "int"
    with pytest.raises(ReportError, match="literal default"):
        notebook_parameters(_notebook("x = len([1])  # not a literal"))
    with pytest.raises(ReportError, match="literal assignment"):
        notebook_parameters(_notebook("import os"))
    with pytest.raises(ReportError, match="at most one cell tagged 'parameters'"):
        notebook_parameters(_notebook("x = 1", twice=True))
    assert notebook_parameters(nbformat.v4.new_notebook()) == {}


def test_unknown_parameter_has_did_you_mean_and_nothing_runs(tmp_path):
    with pytest.raises(InvalidParameterError, match="no parameter `symbl`. Did you mean 'symbol'"):
        run_notebook(BUY_AND_HOLD, {"symbl": "msft"}, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, value", [("window", "abc"), ("window", 2.5), ("smoke", 1),
                                         ("symbol", 3), ("init_cash", True)])
def test_wrong_type_is_refused_before_running(tmp_path, name, value):
    with pytest.raises(InvalidParameterError, match=f"`{name}` of notebook buy_and_hold.ipynb "
                                                    "must be of type"):
        run_notebook(BUY_AND_HOLD, {name: value}, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_dataset_is_refused_before_running(tmp_path):
    with pytest.raises(DataError, match="`symbol` of notebook buy_and_hold.ipynb must name a "
                                        "dataset.*Did you mean 'aapl'"):
        run_notebook(BUY_AND_HOLD, {"symbol": "appl"}, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_notebook(tmp_path):
    with pytest.raises(ReportError, match="existing .ipynb"):
        run_notebook(tmp_path / "nope.ipynb", output_dir=tmp_path)


def test_validate_resolves_defaults_and_widens_int_to_float():
    resolved = validate_parameters(BUY_AND_HOLD, {"init_cash": 5, "smoke": True})
    assert resolved["init_cash"] == 5.0 and isinstance(resolved["init_cash"], float)
    assert resolved["smoke"] is True and resolved["symbol"] == "aapl"


def test_cli_values_are_yaml_except_for_strings():
    specs = notebook_parameters(BUY_AND_HOLD)
    assert parse_cli_value(specs["window"], "20") == 20
    assert parse_cli_value(specs["smoke"], "true") is True
    assert parse_cli_value(specs["init_cash"], "1e4") == 1e4   # YAML 1.1 alone would say str
    assert parse_cli_value(specs["window"], "abc") == "abc"      # refused later, with the type
    assert parse_cli_value(specs["init_cash"], "10000.0") == 10000.0
    assert parse_cli_value(specs["symbol"], "123") == "123"     # str stays str


def test_help_notebook_lists_parameters():
    text = help_notebook(BUY_AND_HOLD)
    assert "smoke" in text and "bool" in text and "shrink the work for CI" in text
    assert "'aapl'" in text and "dataset name" in text


# ---------------------------------------------------------------------------- a real run

def test_run_writes_notebook_html_manifest(ok_run, root):
    run_dir = ok_run.run_dir
    assert run_dir.parent == root / "buy_and_hold"
    stamp, phash = run_dir.name.split("-")[:2]
    assert len(stamp) == 16 and stamp.endswith("Z") and len(phash) == 8
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "notebook.ipynb",
                                                         "report.html"]
    manifest = read_manifest(ok_run.manifest_path)
    assert manifest == json.loads(json.dumps(ok_run.manifest))
    assert manifest["status"] == "ok" and manifest["error"] is None
    assert manifest["parameters_given"] == {"symbol": "msft", "window": 21}
    assert manifest["parameters"]["init_cash"] == 10000.0
    assert manifest["started"] < manifest["finished"]
    assert manifest["kernel"] in ("quantlab", "python3")
    assert manifest["packages"]["pandas"] == pd.__version__
    assert manifest["packages"]["numpy"] == np.__version__
    assert manifest["figures"] == 3


def test_manifest_git_matches_git(ok_run):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=BUY_AND_HOLD.parent,
                          capture_output=True, text=True, check=False)
    git = ok_run.manifest["git"]
    if head.returncode != 0:
        assert git["commit"] is None
    else:
        # HEAD may have moved on since the run (commits land while tests run): the recorded
        # commit must be HEAD or one of its ancestors
        ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", git["commit"], "HEAD"],
                                  cwd=BUY_AND_HOLD.parent, capture_output=True, check=False)
        assert ancestor.returncode == 0, (git["commit"], head.stdout)
        assert isinstance(git["dirty"], bool)


def test_recorded_numbers_equal_the_api(ok_run):
    params = ok_run.manifest["parameters"]
    df = load("msft", start=params["start"], end=params["end"])
    returns = df["close"].pct_change().fillna(0.0)
    equity = params["init_cash"] * (1.0 + returns).cumprod()
    assert ok_run.records == {
        "total_return": float(equity.iloc[-1] / equity.iloc[0] - 1.0),
        "max_drawdown": float((equity / equity.cummax() - 1.0).min()),
        "bars": len(df),
        "symbol": "msft",
    }
    data = ok_run.manifest["data"]["msft"]
    assert data["fingerprint"] == fingerprint(df)
    assert data["rows"] == len(df) and data["start"] == df.index[0].isoformat()


def test_figures_in_the_report_equal_the_api(ok_run):
    params = ok_run.manifest["parameters"]
    df = load("msft", start=params["start"], end=params["end"])
    returns = df["close"].pct_change().fillna(0.0)
    equity = params["init_cash"] * (1.0 + returns).cumprod()
    expected = [qr.equity_figure(equity, title="msft buy and hold"),
                qr.monthly_returns_heatmap(returns),
                qr.rolling_sharpe_figure(returns, window=21, periods_per_year=252)]
    stored = figures_from_notebook(ok_run.notebook_path)
    assert len(stored) == 3
    for got, fig in zip(stored, expected):
        want = json.loads(fig.to_json())
        assert got["data"] == want["data"]
        assert got["layout"] == want["layout"]


def test_html_report_is_self_contained_without_code(ok_run):
    page = ok_run.html_path.read_text(encoding="utf-8")
    assert plotlyjs_copies(page) == 1
    assert page.count('class="quantlab-figure"') == 3
    assert "qr.record(" not in page and "import quantlab" not in page   # code hidden
    assert "<b>total_return</b>" in page                                # key figures shown
    import re

    assert re.search(r"<script[^>]*\bsrc=\"https?:", page) is None       # nothing from a CDN


def test_html_export_can_show_code(ok_run, tmp_path):
    page = export_html(ok_run.notebook_path, tmp_path / "code.html", exclude_input=False)
    assert ">record_data<" in page  # highlighted code is back
    assert "_quantlab_report_html" not in page  # the injected setup cell is always removed
    assert plotlyjs_copies(page) == 1


def test_rerun_reproduces_identical_numbers(ok_run, root, capsys):
    assert main(["rerun", str(ok_run.manifest_path), "--no-progress"]) == 0   # the CLI
    assert "reproduced: key figures and data fingerprints are identical" in capsys.readouterr().out
    (new,) = [m for m in list_runs(root)
              if (m.get("extra") or {}).get("rerun_of") == str(ok_run.manifest_path.resolve())]
    assert new["_dir"] != f"buy_and_hold/{ok_run.run_dir.name}"
    assert new["records"] == ok_run.records
    assert new["data"] == ok_run.manifest["data"]
    assert new["parameters"] == ok_run.manifest["parameters"]
    # the same parameters hash to the same folder suffix
    assert new["_dir"].split("-")[1] == ok_run.run_dir.name.split("-")[1]


@pytest.fixture(scope="module")
def failed_manifest(root):
    """A failing cell, run through the CLI: exit status 1 and a failed manifest."""
    before = set(root.glob("buy_and_hold/*/manifest.json"))
    code = main(["report", str(BUY_AND_HOLD), "-p", "fail", "true", "-p", "smoke", "true",
                 "--out", str(root), "--no-progress"])
    (path,) = set(root.glob("buy_and_hold/*/manifest.json")) - before
    return code, path


def test_failing_cell_exits_1_and_writes_failed_manifest(failed_manifest):
    code, path = failed_manifest
    assert code == 1
    manifest = json.loads(path.read_text())
    assert manifest["status"] == "failed"
    error = manifest["error"]
    assert error["type"] == "RuntimeError" and error["message"] == "asked to fail"
    assert 'raise RuntimeError("asked to fail")' in error["cell_source"]
    assert error["notebook_cell_index"] == 8   # the last cell of the notebook as written
    assert "RuntimeError" in error["traceback"]
    # the cells before the failure still recorded their numbers
    assert manifest["records"]["symbol"] == "aapl"
    assert (path.parent / "report.html").exists()


def test_missing_kernel_fails_with_a_manifest(tmp_path):
    with pytest.raises(NotebookRunError, match="NoSuchKernel") as info:
        run_notebook(TINY, output_dir=tmp_path, kernel="no-such-kernel", update_index=False)
    manifest = json.loads(info.value.result.manifest_path.read_text())
    assert manifest["status"] == "failed" and manifest["error"]["cell_index"] is None
    assert manifest["kernel"] == "no-such-kernel"


def test_same_second_same_parameters_get_distinct_folders(tmp_path):
    from datetime import UTC, datetime

    from quantlab.report.runner import _run_dir

    t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    dirs = [_run_dir(tmp_path, "nb", t, "abcd1234") for _ in range(3)]
    assert [d.name for d in dirs] == ["20260102T030405Z-abcd1234", "20260102T030405Z-abcd1234-2",
                                      "20260102T030405Z-abcd1234-3"]


@pytest.mark.slow
def test_notebook_run_error_carries_the_result(tmp_path):
    bad = nbformat.read(str(TINY), as_version=4)
    bad.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    nbformat.write(bad, str(tmp_path / "bad.ipynb"))
    with pytest.raises(NotebookRunError, match="ZeroDivisionError") as info:
        run_notebook(tmp_path / "bad.ipynb", output_dir=tmp_path / "r", update_index=False)
    assert info.value.result.status == "failed" and not info.value.result.ok
    assert info.value.result.records == {"x2": 2}


def test_index_lists_runs_newest_first(ok_run, root):
    runs = list_runs(root)
    starts = [r["started"] for r in runs]
    assert starts == sorted(starts, reverse=True)
    page = (root / "index.html").read_text(encoding="utf-8")
    assert f'{ok_run.run_dir.name}/report.html' in page
    assert "total_return: " in page


def test_index_order_and_content(tmp_path):
    for i, (nb, status) in enumerate([("a", "ok"), ("b", "failed"), ("a", "ok")]):
        run = tmp_path / nb / f"run{i}"
        run.mkdir(parents=True)
        (run / "manifest.json").write_text(json.dumps({
            "notebook": {"name": f"{nb}.ipynb"}, "status": status,
            "started": f"2026-01-0{i + 1}T00:00:00+00:00", "records": {"sharpe": 0.5 + i},
            "parameters_given": {"symbol": "aapl"}, "outputs": {"html": "report.html"},
            "error": {"type": "ValueError", "message": "boom"} if status == "failed" else None}))
    (tmp_path / "a" / "junk").mkdir()
    (tmp_path / "a" / "junk" / "manifest.json").write_text("{not json")
    page = write_index(tmp_path).read_text()
    assert [r["_dir"] for r in list_runs(tmp_path)] == ["a/run2", "b/run1", "a/run0"]
    assert page.index("a/run2/report.html") < page.index("b/run1") < page.index("a/run0")
    assert "sharpe: 2.5" in page and "ValueError: boom" in page
    assert plotlyjs_copies(page) == 0


# ---------------------------------------------------------------------------- notebook side

def test_record_and_show_are_noops_outside_a_notebook():
    assert qr.record("x", np.float64(1.5)) is None
    assert qr.record_data("d", pd.Series([1.0])) is None
    with pytest.raises(InvalidParameterError, match="`name` of record"):
        qr.record("", 1)


def test_figure_bundle_has_json_html_without_plotlyjs():
    import plotly.graph_objects as go

    bundle = figure_bundle(go.Figure(go.Scatter(y=[1, 2]), layout_title_text="t"))
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html", "text/plain"}
    assert "Plotly.newPlot" in bundle["text/html"] and plotlyjs_copies(bundle["text/html"]) == 0
    assert bundle["text/plain"] == "<plotly figure: t>"


def test_fingerprint_is_stable_and_sensitive():
    df = load("ibm", start="2012-01-01", end="2012-03-01")
    digest = fingerprint(df)
    assert digest == fingerprint(df.copy()) and len(digest) == 64
    # pinned: the digest must not depend on the process (hash_pandas_object is seedless)
    other = subprocess.run(
        [sys.executable, "-c",
         "from quantlab.data import load; from quantlab.report import fingerprint;"
         "print(fingerprint(load('ibm', start='2012-01-01', end='2012-03-01')))"],
        capture_output=True, text=True, check=False, env={"PYTHONHASHSEED": "123"})
    assert other.stdout.strip() == digest, other.stderr
    changed = df.copy()
    changed.iloc[3, 0] += 1e-9
    assert fingerprint(changed) != digest
    assert fingerprint(df[["close", "open", "high", "low", "volume"]]) != digest
    assert fingerprint(df.shift(freq="1D")) != digest
    with pytest.raises(DataError, match="`data` of fingerprint"):
        fingerprint([1, 2])


# ---------------------------------------------------------------------------- CLI

@pytest.mark.slow
def test_cli_report_success(tmp_path, capsys):
    assert main(["report", str(TINY), "-p", "x", "3", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "x2 = 6" in out and "report:" in out
    (manifest,) = tmp_path.glob("tiny/*/manifest.json")
    assert json.loads(manifest.read_text())["records"] == {"x2": 6}


def test_cli_help_notebook(capsys):
    assert main(["report", "--help-notebook", str(TINY)]) == 0
    assert "a number" in capsys.readouterr().out


def test_cli_bad_input_exits_2_before_running(tmp_path, capsys):
    assert main(["report", str(TINY), "-p", "xx", "3", "--out", str(tmp_path)]) == 2
    assert "Did you mean 'x'" in capsys.readouterr().err
    assert main(["report", str(TINY), "-p", "x", "three", "--out", str(tmp_path)]) == 2
    assert "must be of type int" in capsys.readouterr().err
    assert main(["report", str(BUY_AND_HOLD), "-p", "symbol", "nope", "--out",
                 str(tmp_path)]) == 2
    assert "must name a dataset" in capsys.readouterr().err
    assert main(["rerun", str(tmp_path / "missing.json")]) == 2
    assert list(tmp_path.iterdir()) == []


def test_smoke_switch_from_the_environment_is_recorded(tmp_path, monkeypatch):
    """QUANTLAB_SMOKE=1 makes the notebooks shrink their work: the manifest must say so (and the
    run folder's hash must differ from a full run), or `quantlab rerun` would not reproduce it."""
    from quantlab.report.runner import run_notebook

    monkeypatch.setenv("QUANTLAB_SMOKE", "1")
    run = run_notebook(NOTEBOOKS / "buy_and_hold.ipynb", {}, output_dir=tmp_path)
    assert run.manifest["parameters"]["smoke"] is True
    assert run.manifest["parameters_given"]["smoke"] is True
    assert run.manifest["environment"]["QUANTLAB_SMOKE"] == "1"


def test_rerun_finds_the_notebook_in_another_checkout(monkeypatch):
    """A manifest written in /elsewhere/quantlab (another clone or machine) resolves its notebook
    at the same place relative to this checkout's git root."""
    from quantlab.report.manifest import git_info
    from quantlab.report.runner import _locate_notebook

    root = Path(git_info(Path(__file__)).get("root") or Path(__file__).parents[2])
    monkeypatch.chdir(root)
    old = {"notebook": {"path": "/elsewhere/quantlab/tests/report/notebooks/tiny.ipynb"},
           "git": {"root": "/elsewhere/quantlab"}}
    assert _locate_notebook(old) == root / "tests" / "report" / "notebooks" / "tiny.ipynb"
    old["notebook"]["path"] = "/elsewhere/quantlab/notebooks/gone.ipynb"
    assert _locate_notebook(old) is None


# ---------------------------------------------------------------------------- bug 1: null values

PROJECT_NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
BACKTEST_REPORT = PROJECT_NOTEBOOKS / "backtest_report.ipynb"


@pytest.mark.parametrize("text", ["null", "None", "~", "Null", "NULL"])
def test_nullable_parameter_takes_none_from_the_cli(text):
    """Issue 15, bug 1: `-p benchmark null` (or None, ~) must set the nullable `benchmark` to
    None, as --help-notebook advertises ("None: buy and hold"); it was the string "null"."""
    from quantlab.report.commands import _parse_params

    specs = notebook_parameters(BACKTEST_REPORT)
    assert specs["benchmark"].nullable and specs["benchmark"].type == "str"
    assert parse_cli_value(specs["benchmark"], text) is None
    params = _parse_params(str(BACKTEST_REPORT), [["benchmark", text]])
    assert params == {"benchmark": None}
    assert validate_parameters(BACKTEST_REPORT, params)["benchmark"] is None
    # and the notebook's own validation cell accepts it (run here, in-process)
    from quantlab.report.runner import check_values

    assert check_values(BACKTEST_REPORT, validate_parameters(BACKTEST_REPORT, params)) \
        == "backtest_setup"


def test_null_words_stay_text_for_parameters_that_are_not_nullable():
    specs = notebook_parameters(BACKTEST_REPORT)
    assert not specs["strategy"].nullable
    assert parse_cli_value(specs["strategy"], "None") == "None"  # refused later by name
    assert parse_cli_value(specs["rolling_window"], "~") is None  # YAML null, refused by type
    with pytest.raises(InvalidParameterError, match="`rolling_window` .* must be of type int"):
        validate_parameters(BACKTEST_REPORT, {"rolling_window": None})


def test_none_from_the_cli_reaches_the_kernel(tmp_path, capsys):
    """A real run: the kernel sees None, not the text "~"."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell('label: str | None = "x"  # a label or None')
    cell.metadata["tags"] = ["parameters"]
    nb.cells += [cell, nbformat.v4.new_code_cell(
        "import quantlab.report as qr\nqr.record('label_is_none', label is None)")]
    nbformat.write(nb, str(tmp_path / "nullable.ipynb"))
    assert main(["report", str(tmp_path / "nullable.ipynb"), "-p", "label", "~", "--out",
                 str(tmp_path / "out"), "--no-progress"]) == 0
    (manifest,) = (tmp_path / "out").glob("nullable/*/manifest.json")
    saved = json.loads(manifest.read_text())
    assert saved["records"] == {"label_is_none": True}
    assert saved["parameters_given"] == {"label": None}


# ---------------------------------------------------------------------------- values, in-process

SWEEP_REPORT = PROJECT_NOTEBOOKS / "sweep_report.ipynb"
QUICKSTART = PROJECT_NOTEBOOKS / "01_quickstart.ipynb"
REGIME_RISK = PROJECT_NOTEBOOKS / "regime_risk_report.ipynb"

BAD_VALUES = [
    (BACKTEST_REPORT, {"fee_bps": -5.0}, InvalidParameterError, "`fee_bps` of backtest_report"),
    (BACKTEST_REPORT, {"strategy": "SmaCros"}, InvalidParameterError, "Did you mean 'SmaCross'"),
    (BACKTEST_REPORT, {"strategy_params": {"fast": 50, "slow": 20}}, InvalidParameterError,
     "`fast` of SmaCross"),
    (BACKTEST_REPORT, {"start": "2090-01-01"}, DataError, "`start` of backtest_report"),
    (BACKTEST_REPORT, {"benchmark": "sp5000"}, DataError, "sp500"),
    (SWEEP_REPORT, {"metric": "sharp"}, InvalidParameterError, "Did you mean 'sharpe'"),
    (SWEEP_REPORT, {"grid": {"fats": [5, 10]}}, InvalidParameterError, "Did you mean 'fast'"),
    (QUICKSTART, {"fast": 60, "slow": 50}, InvalidParameterError, "`fast` of SmaCross"),
    (REGIME_RISK, {"regime_model": "hmmm"}, InvalidParameterError, "Did you mean 'hmm'"),
    (REGIME_RISK, {"var_methods": ["historicl"]}, InvalidParameterError, "Did you mean 'historical'"),
    (REGIME_RISK, {"states": [2]}, InvalidParameterError, "`states` of regime_risk_report"),
]


def _run_validation_cell(notebook: Path, params: dict) -> BaseException | None:
    """The oracle: the notebook's own parameters and validation cells, executed here."""
    import os

    nb = nbformat.read(str(notebook), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    namespace: dict = {}
    cwd = Path.cwd()
    os.chdir(notebook.parent)
    try:
        exec(code[0], namespace)   # the parameters cell (defaults)
        namespace.update(params)   # what papermill injects after it
        exec(code[1], namespace)   # the validation cell
    except Exception as exc:
        return exc
    finally:
        os.chdir(cwd)
    return None


@pytest.mark.parametrize("notebook, params, error, text", BAD_VALUES)
def test_bad_values_are_refused_in_process_fast_without_a_run_folder(tmp_path, notebook, params,
                                                                     error, text):
    import time

    expected = _run_validation_cell(notebook, params)  # also imports what the check needs
    assert isinstance(expected, error)  # the notebook itself refuses it
    clock = time.perf_counter()
    with pytest.raises(error, match=text) as info:
        run_notebook(notebook, params, output_dir=tmp_path)
    elapsed = time.perf_counter() - clock
    assert str(expected) in str(info.value)  # same function, same message
    assert elapsed < 5.0, elapsed            # a kernel start alone takes 5-30 s (first: ~2.5 s)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("notebook, name", [(BACKTEST_REPORT, "backtest_setup"),
                                            (SWEEP_REPORT, "sweep_setup"),
                                            (QUICKSTART, "backtest_setup"),
                                            (REGIME_RISK, "regime_risk_setup"),
                                            (BUY_AND_HOLD, None), (TINY, None)])
def test_check_values_finds_the_validation_cell(notebook, name):
    from quantlab.report.runner import check_values

    assert check_values(notebook, validate_parameters(notebook, {})) == name


def test_check_values_passes_the_notebooks_arguments(monkeypatch):
    """The call is the notebook's: its keyword arguments, parameters substituted, smoke
    rebound through smoke_mode as the cell does."""
    from quantlab.report import notebook_helpers
    from quantlab.report.runner import check_values

    seen: list[dict] = []
    monkeypatch.setattr(notebook_helpers, "backtest_setup", lambda **kw: seen.append(kw))
    monkeypatch.setenv("QUANTLAB_SMOKE", "1")
    resolved = validate_parameters(QUICKSTART, {"fast": 7, "dataset": "msft"})
    assert check_values(QUICKSTART, resolved) == "backtest_setup"
    assert seen == [{"dataset": "msft", "strategy": "SmaCross",
                     "strategy_params": {"fast": 7, "slow": 50}, "fee_bps": 10.0,
                     "smoke": True}]


def test_check_values_leaves_what_it_cannot_evaluate_to_the_kernel():
    from quantlab.report.runner import check_values

    def notebook(*sources: str) -> nbformat.NotebookNode:
        nb = _notebook("fee = -1.0  # fee")
        nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
        return nb

    call = "nh.backtest_setup(fee_bps=fee)"
    with pytest.raises(InvalidParameterError, match="fee_bps"):
        check_values(notebook(call), {"fee": -1.0})
    assert check_values(notebook("fee = abs(fee)", call), {"fee": -1.0}) is None   # rebound
    assert check_values(notebook("if True:\n    " + call), {"fee": -1.0}) is None  # nested
    assert check_values(notebook("%time x = 1", call), {"fee": -1.0}) is None      # magic
    assert check_values(notebook("nh.backtest_setup(fee_bps=float(fee))"), {"fee": -1.0}) is None


def test_cli_refuses_a_bad_value_fast_with_exit_2(tmp_path):
    """The whole command in a fresh process (imports included): well under a kernel start."""
    import time

    clock = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "quantlab"), "report",
                           str(BACKTEST_REPORT), "-p", "fee_bps", "-5", "--out", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - clock
    assert done.returncode == 2, done.stderr
    assert "`fee_bps` of backtest_report() must be a finite number >= 0; got -5.0" in done.stderr
    assert list(tmp_path.iterdir()) == []
    assert elapsed < 20.0, elapsed  # measured 9-15 s on a loaded 2-core machine: not profiled yet


# ---------------------------------------------------------------------------- kernel output

def test_kernel_log_noise_is_hidden_on_success(ok_run, capfd):
    """ok_run ran in this process: nothing of the kernel's log reached the terminal, and the
    run folder keeps no log."""
    capfd.readouterr()
    run = run_notebook(TINY, {"x": 2}, output_dir=ok_run.run_dir.parents[1], update_index=False)
    err = capfd.readouterr().err
    assert "without encryption" not in err and "KeyboardInterrupt" not in err
    assert not (run.run_dir / "kernel.log").exists()
    assert "kernel_log" not in run.manifest["outputs"]


def test_kernel_log_is_kept_and_shown_on_failure(failed_manifest, capfd):
    code, path = failed_manifest
    manifest = json.loads(path.read_text())
    assert manifest["outputs"]["kernel_log"] == "kernel.log"
    log = (path.parent / "kernel.log").read_text()
    assert "[IPKernelApp]" in log   # ipykernel's start-up warning, kept for the post-mortem


def test_plotlyjs_option_is_checked_before_a_run_and_offered_by_the_cli(tmp_path):
    """`quantlab report --plotlyjs directory` writes one shared plotly.min.js in the reports
    root (export_html's directory mode, tested in test_tearsheet/test_browser); a bad value is
    refused before any folder exists."""
    from quantlab.cli import build_parser

    with pytest.raises(InvalidParameterError, match="`plotlyjs` of run_notebook"):
        run_notebook(BACKTEST_REPORT, {"smoke": True}, output_dir=tmp_path, plotlyjs="shared")
    assert list(tmp_path.iterdir()) == []
    args = build_parser().parse_args(["report", str(BACKTEST_REPORT), "--plotlyjs", "directory"])
    assert args.plotlyjs == "directory"

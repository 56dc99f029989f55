"""The `quantlab` command: the whole flow on an exchange-style CSV (import-csv, validate,
backtest, sweep), the data sources of backtest/sweep, and the CLI bugs of issue 15."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

from quantlab.cli import build_parser, main
from quantlab.data import Store

ROOT = Path(__file__).resolve().parents[1]
QUANTLAB = Path(sys.executable).parent / "quantlab"
CDD = ROOT / "tests" / "data" / "fixtures" / "Gemini_BTCUSD_1h.csv"
BLOCK = ROOT / "tests" / "data" / "fixtures" / "Gemini_BTCUSD_1h_block.csv"
READ = ["--skiprows", "1", "--date-format", "%Y-%m-%d %I-%p", "--map", "Volume BTC=volume"]


def test_whole_flow_on_an_exchange_export(tmp_path, capsys):
    store = tmp_path / "store"
    out = tmp_path / "reports"
    assert main(["data", "import-csv", str(CDD), "BTC/USD", "1h", "--store", str(store), *READ,
                 "--sort"]) == 0
    text = capsys.readouterr().out
    assert "400 new bars" in text and "sorted 400 rows" in text and "newest first" in text
    stored = Store(store).read("BTC/USD", "1h")
    assert len(stored) == 400 and stored.index.is_monotonic_increasing

    # ok, with warnings: the +8% / -8% hours and the 6-hour zero-volume run are real data
    assert main(["data", "validate", "BTC/USD:1h", "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "OK with 3 warning(s)" in text and "outlier" in text and "zero_volume" in text

    assert main(["backtest", "--store", str(store), "--symbol", "BTC/USD", "--timeframe", "1h",
                 "--strategy", "SmaCross", "-p", "fast", "10", "-p", "slow", "30",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sharpe" in text and "BTC/USD 1h" in text
    sheets = list(out.glob("tearsheet-*.html"))
    assert len(sheets) == 1 and sheets[0].stat().st_size > 10_000

    assert main(["sweep", "--store", str(store), "--symbol", "BTC/USD", "--timeframe", "1h",
                 "--strategy", "SmaCross", "--grid", "fast=5:20:5", "--grid", "slow=20:60:10",
                 "--constraint", "fast < slow", "--top", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "19 combinations (1 skipped)" in text and "best sharpe" in text
    maps = list(out.glob("sweep-*.html"))
    assert len(maps) == 1 and "plotly" in maps[0].read_text()[:200_000].lower()


def test_validate_a_csv_with_the_reading_options(capsys):
    assert main(["data", "validate", str(CDD), *READ, "--sort"]) == 0
    text = capsys.readouterr().out
    assert "sorted 400 rows" in text and "OK with 3 warning(s)" in text
    # without --sort the file is reported newest first (an error), not a pandas message
    assert main(["data", "validate", str(CDD), *READ]) == 1
    assert "newest first" in capsys.readouterr().out
    assert main(["data", "validate", str(BLOCK), *READ]) == 1
    assert "reordered_block" in capsys.readouterr().out


def test_reading_errors_name_the_cli_option(tmp_path, capsys):
    store = str(tmp_path / "s")
    assert main(["data", "import-csv", str(CDD), "X", "1h", "--store", store]) == 2
    assert "--skiprows 1" in capsys.readouterr().err
    assert main(["data", "import-csv", str(CDD), "X", "1h", "--store", store, "--skiprows", "1"]) == 2
    assert "--map 'Volume BTC=volume'" in capsys.readouterr().err
    assert main(["data", "validate", str(CDD), "--skiprows", "1", "--map", "Volume BTC=volume"]) == 2
    err = capsys.readouterr().err
    assert "--date-format '%Y-%m-%d %I-%p'" in err and "'2017-07-17 03-PM'" in err
    assert main(["data", "import-csv", str(CDD), "X", "1h", "--store", store, *READ]) == 2
    assert "--sort" in capsys.readouterr().err
    assert main(["data", "import-csv", str(CDD), "X", "1h", "--store", store, *READ,
                 "--map", "nonsense"]) == 2
    assert "--map" in capsys.readouterr().err


def test_backtest_and_sweep_take_exactly_one_source(tmp_path, capsys):
    out = str(tmp_path)
    assert main(["backtest", "--dataset", "aapl", "--csv", str(CDD), "--out", out]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert main(["sweep", "--store", out, "--csv", str(CDD), "--grid", "fast=5:10:5",
                 "--out", out]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert main(["sweep", "--dataset", "aapl", "--skiprows", "1", "--grid", "fast=5:10:5",
                 "--out", out]) == 2
    assert "apply to --csv FILE only" in capsys.readouterr().err
    assert main(["backtest", "--csv", str(CDD), *READ, "--sort", "-p", "fast", "10", "-p", "slow",
                 "30", "--out", out]) == 0
    assert "Gemini_BTCUSD_1h.csv" in capsys.readouterr().out


def test_backtest_start_after_the_data_names_start_and_the_range(tmp_path, capsys):
    code = main(["backtest", "--dataset", "aapl", "--start", "2020-01-01", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "`--start`" in err and "2000-03-01 .. 2013-03-01" in err
    assert "at least 2 bars" not in err


def test_sweep_grid_syntax_errors(tmp_path, capsys):
    for spec, fragment in (("fast", "NAME=START:STOP:STEP"), ("fast=5:x:5", "fast=5:x:5"),
                           ("fast=10:5:1", "STOP >= START")):
        assert main(["sweep", "--dataset", "aapl", "--grid", spec, "--out", str(tmp_path)]) == 2
        assert fragment in capsys.readouterr().err


def test_sweep_on_a_dataset_with_a_list_grid(tmp_path, capsys):
    assert main(["sweep", "--dataset", "aapl", "--start", "2008", "--end", "2010-12-31",
                 "--grid", "fast=10,20", "--grid", "slow=50,100", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "4 combinations" in text


def test_help_lists_the_new_options():
    for command in (["data", "import-csv"], ["data", "validate"]):
        text = _help(command)
        for flag in ("--skiprows", "--date-format", "--tz", "--map", "--sort"):
            assert flag in text, (command, flag)
    for command in (["backtest"], ["sweep"]):
        text = _help(command)
        for flag in ("--store", "--symbol", "--timeframe", "--csv", "--dataset", "--skiprows",
                     "--date-format", "--map", "--sort"):
            assert flag in text, (command, flag)
    sweep_help = _help(["sweep"])
    assert "--grid" in sweep_help and "--constraint" in sweep_help


def _help(command: list[str]) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            build_parser().parse_args([*command, "--help"])
        except SystemExit as exc:
            assert exc.code == 0
    return buffer.getvalue()


# ---------------------------------------------------------------- bugs 9 and 10


def test_validate_into_a_closed_pipe_has_no_traceback():
    proc = subprocess.Popen([str(QUANTLAB), "data", "validate", "eurusd"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before anything is written (like `| head -0`)
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 141


def test_list_with_a_missing_store_folder(capsys, tmp_path):
    assert main(["data", "list", "--store", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "nope" in err


def test_readme_examples_still_work(tmp_path, capsys):
    assert main(["backtest", "--dataset", "aapl", "--strategy", "SmaCross", "-p", "fast", "20",
                 "-p", "slow", "50", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    stats = text.split("\n")
    assert any(line.startswith("total_return") for line in stats)
    assert pd.Series(list(tmp_path.glob("tearsheet-*.html"))).size == 1


def test_regime_strategies_by_name_with_specs(tmp_path, capsys):
    """RegimeFiltered / RegimeSwitch from the command line: object parameters as specs."""
    assert main(["backtest", "--dataset", "aapl", "--start", "2008-01-01", "--strategy",
                 "RegimeFiltered", "-p", "base", "SmaCross(fast=10, slow=30)", "-p", "regime",
                 "GarchRegime(refit_every=63, min_train=250)", "-p", "mode", "scale",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sharpe" in out and list(tmp_path.glob("tearsheet-*RegimeFiltered*.html"))
    assert main(["backtest", "--dataset", "aapl", "--start", "2008-01-01", "--strategy",
                 "RegimeSwitch", "-p", "strategies", "{0: 'SmaCross(fast=10, slow=30)', "
                 "1: 'RsiReversion'}", "-p", "regime", "GarchRegime(refit_every=63, min_train=250)",
                 "--out", str(tmp_path)]) == 0
    assert main(["backtest", "--dataset", "aapl", "--strategy", "RegimeFiltered", "-p", "base",
                 "SmaCross(10, 30)", "-p", "regime", "GarchRegime()", "--out", str(tmp_path)]) == 2
    assert "`base` of quantlab backtest() must be a spec" in capsys.readouterr().err

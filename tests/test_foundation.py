"""Foundation: the error tree, the message template, the JIT switch, the CLI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantlab import errors
from quantlab._validate import check_choice, check_float, check_int, check_options, message
from quantlab.errors import DataError, InvalidParameterError

ROOT = Path(__file__).resolve().parents[1]
QUANTLAB = Path(sys.executable).parent / "quantlab"


@pytest.mark.parametrize(("cls", "builtin"), [
    (errors.InvalidParameterError, ValueError), (errors.DataError, ValueError),
    (errors.LookAheadError, RuntimeError), (errors.NotFittedError, AttributeError),
    (errors.OrderRejectedError, RuntimeError), (errors.ExchangeError, ConnectionError),
])
def test_errors_refine_builtins(cls, builtin):
    assert issubclass(cls, errors.QuantlabError) and issubclass(cls, builtin)


def test_message_template():
    assert message("window", "sma", "an integer >= 1", 0, "Use 14.") == \
        "`window` of sma() must be an integer >= 1; got 0. Use 14."


@pytest.mark.parametrize("value", [True, 1.0, "3", None, np.float64(2)])
def test_check_int_refuses_non_integers(value):
    with pytest.raises(InvalidParameterError, match="must be an integer"):
        check_int("n", value, caller="f")


def test_check_int_accepts_numpy_integers():
    assert check_int("n", np.int32(4), caller="f", minimum=1) == 4


@pytest.mark.parametrize("value", [np.nan, np.inf, -1.0, "1"])
def test_check_float(value):
    with pytest.raises(InvalidParameterError, match="`x` of f\\(\\) must be a finite number >= 0"):
        check_float("x", value, caller="f", minimum=0.0)


def test_did_you_mean():
    with pytest.raises(InvalidParameterError, match="Did you mean 'historical'"):
        check_choice("method", "histroical", ["historical", "parametric"], caller="var")
    with pytest.raises(InvalidParameterError, match="unknown option `fee_bsp`. Did you mean 'fee_bps'"):
        check_options({"fee_bsp": 1}, ["fee_bps", "fill"], caller="backtest")


def test_disable_jit_runs_pure_python_with_same_results():
    code = (
        "import numpy as np, quantlab.indicators.overlap as o;"
        "print(type(o.sma_nb).__name__);"
        "print(repr(o.sma(np.arange(10.0), 3).tolist()))"
    )
    env = {**os.environ, "QUANTLAB_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    kind, values = out.strip().splitlines()
    assert kind == "function"
    from quantlab.indicators import sma
    assert values == repr(sma(np.arange(10.0), 3).tolist())


def test_import_has_no_jit_side_effects():
    code = "import quantlab, numba, sys; import quantlab.indicators; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_cli_data_list_and_clear_errors():
    out = subprocess.run([str(QUANTLAB), "data", "list"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "eurusd" in out.stdout and "public domain" in out.stdout
    bad = subprocess.run([str(QUANTLAB), "data", "validate", "appl"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0


def test_data_error_message_names_fix():
    import pandas as pd

    from quantlab._validate import check_ohlcv

    naive = pd.DataFrame({c: [1.0, 2.0] for c in ("open", "high", "low", "close", "volume")},
                         index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"]))
    with pytest.raises(DataError, match="tz_localize"):
        check_ohlcv(naive, caller="backtest")


def test_cli_import_csv_list_and_validate(tmp_path, capsys):
    from quantlab.cli import main
    from quantlab.data import Store, load

    bars = load("ibm", start="2012-01-01", end="2012-12-31")
    csv = tmp_path / "ibm.csv"
    bars.to_csv(csv)
    store = tmp_path / "store"
    assert main(["data", "import-csv", str(csv), "IBM", "1d", "--store", str(store)]) == 0
    assert "250 new bars" in capsys.readouterr().out
    assert main(["data", "import-csv", str(csv), "IBM", "1d", "--store", str(store)]) == 0
    assert "0 new bars" in capsys.readouterr().out  # deduplicated on timestamp
    np.testing.assert_array_equal(Store(store).read("IBM", "1d").to_numpy(), bars.to_numpy())
    assert main(["data", "list", "--store", str(store)]) == 0
    assert "IBM" in capsys.readouterr().out
    # clean, and Hurricane Sandy's NYSE closure (2012-10-29/30) is not a gap on the equity calendar
    assert main(["data", "validate", "IBM:1d", "--store", str(store)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(": OK")
    assert main(["data", "validate", "eurusd"]) == 1  # the Christmas 2017 closure shows as gaps
    assert "gap" in capsys.readouterr().out


def test_cli_validate_bad_sources_give_clear_errors(capsys):
    from quantlab.cli import main

    assert main(["data", "validate", "BTC/USDT:1h"]) == 2
    assert "pass --store" in capsys.readouterr().err
    assert main(["data", "validate", "no_such_file.csv"]) == 2
    assert "Cannot read 'no_such_file.csv'" in capsys.readouterr().err


def test_cli_backtest_names_a_strategy_from_the_registry(capsys):
    from quantlab.cli import main

    assert main(["backtest", "--strategy", "SmaCros"]) == 2
    assert "`strategy` of quantlab backtest() must be one of SmaCross" in capsys.readouterr().err
    assert main(["backtest", "--strategy", "SmaCross", "-p", "fsat", "5"]) == 2
    assert "Did you mean 'fast'" in capsys.readouterr().err


def test_load_refuses_nat_bounds():
    import quantlab.data as qd

    with pytest.raises(InvalidParameterError, match="`start` of load"):
        qd.load("aapl", start="NaT")


# ---------------------------------------------------------------------------- first use

HEAVY = ("plotly", "ccxt", "cvxpy", "vectorbt", "papermill", "scipy", "numba", "pandas")


def test_import_quantlab_loads_no_heavy_dependency():
    """`import quantlab` is lazy: none of the heavy libraries is imported until a name that
    needs it is touched (issue 15: it took 3.8 s on a fresh install)."""
    code = ("import sys, json, quantlab; "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout


def test_lazy_names_are_the_old_objects():
    """Every public name resolves to the object the eager __init__ bound; `ql.backtest` stays
    the function even when the subpackage `quantlab.backtest` is imported first."""
    code = """
import sys
import quantlab.backtest.sizers            # binds quantlab.backtest (the subpackage) first
import quantlab as ql
from quantlab.backtest.engine import backtest
from quantlab.backtest.sweep import sweep as sweep_function
assert ql.backtest is backtest, ql.backtest
assert ql.sweep is sweep_function and ql.sizers is sys.modules["quantlab.backtest.sizers"]
assert ql.ind is ql.indicators and ql.ind.sma is sys.modules["quantlab.indicators"].sma
namespace = {}
exec("from quantlab import *", namespace)
missing = [n for n in ql.__all__ if n not in namespace]
assert not missing, missing
assert set(ql.__all__) <= set(dir(ql))
try:
    ql.nope
except AttributeError as exc:
    assert "nope" in str(exc)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, cwd=ROOT)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_warm_reports_a_failing_step_and_runs_the_others(monkeypatch, capsys):
    from quantlab import _warm

    calls: list[str] = []

    def broken(df):
        raise RuntimeError("boom")

    monkeypatch.setattr(_warm, "STEPS", {"a": lambda df: calls.append(f"a{len(df)}"),
                                         "broken": broken,
                                         "c": lambda df: calls.append("c")})
    done = _warm.warm()
    assert calls == ["a300", "c"]
    assert isinstance(done["a"], float) and done["broken"] == "RuntimeError: boom"
    assert _warm.main(["--quiet"]) == 0
    assert "1 step(s) failed" in capsys.readouterr().err


def test_warm_covers_every_indicator_with_its_inputs():
    """The indicator step calls each public indicator with the inputs its signature names
    (close, high, low, volume, x, y): none is left out by a missing input."""
    import inspect

    from quantlab import indicators

    known = {"close", "open", "high", "low", "volume", "x", "y"}
    for name in indicators.__all__:
        func = getattr(indicators, name)
        if inspect.ismodule(func):
            continue
        required = [p.name for p in inspect.signature(func).parameters.values()
                    if p.default is inspect.Parameter.empty
                    and p.kind is not inspect.Parameter.KEYWORD_ONLY]
        assert set(required) <= known, (name, required)

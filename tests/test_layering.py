"""The layers of the house (STYLE.md section 1): which package may import which.

Every module of the package is parsed with ``ast`` and every import is collected, wherever
it is written: at the top, inside a function (a lazy import), under ``if TYPE_CHECKING:``,
as ``from quantlab import report``, as a relative import, or as a literal
``importlib.import_module("...")`` / ``__import__("...")``. A lazy import is still a
dependency: it only fails later.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "quantlab"

_LOWER = ("quantlab.strategy", "quantlab.backtest", "quantlab.report", "quantlab.live",
          "quantlab.plotting", "quantlab.cli")

#: package -> packages it must not import (a package also forbids each of its submodules).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # data, indicators and metrics are the foundation every layer builds on
    "quantlab.data": _LOWER,
    "quantlab.indicators": _LOWER,
    "quantlab.metrics": _LOWER,
    "quantlab._validate": _LOWER + ("quantlab.data", "quantlab.indicators", "quantlab.metrics"),
    "quantlab._jit": _LOWER + ("quantlab.data", "quantlab.indicators", "quantlab.metrics"),
    "quantlab._provenance": _LOWER + ("quantlab.data", "quantlab.indicators", "quantlab.metrics"),
    "quantlab.errors": _LOWER + ("quantlab.data", "quantlab.indicators", "quantlab.metrics",
                                 "quantlab._validate"),
    # strategies map data to exposures; the drivers (backtest, live) come above them
    "quantlab.strategy": ("quantlab.backtest", "quantlab.report", "quantlab.live",
                          "quantlab.plotting", "quantlab.cli"),
    "quantlab.strategies": ("quantlab.backtest", "quantlab.report", "quantlab.live",
                            "quantlab.plotting", "quantlab.cli"),
    # regime models and risk measures sit on data, indicators and metrics; strategies, sizers
    # and reports use them (risk may read a GARCH forecast of regime; never the other way)
    "quantlab.regime": _LOWER + ("quantlab.risk", "quantlab.portfolio", "quantlab.optimize"),
    "quantlab.risk": ("quantlab.strategy", "quantlab.backtest", "quantlab.report", "quantlab.live",
                      "quantlab.cli", "quantlab.portfolio", "quantlab.optimize"),
    # portfolio optimization sits beside risk; only its rebalancing backtest (loaded lazily)
    # reaches up to strategies and the backtest
    "quantlab.portfolio": ("quantlab.report", "quantlab.live", "quantlab.plotting",
                           "quantlab.cli", "quantlab.optimize"),
    **{f"quantlab.portfolio.{m}": _LOWER for m in ("estimators", "constraints", "hrp",
                                                   "problems", "optimize", "result")},
    # walk-forward and search drive the backtest and sweep; reports and the live runner use them
    "quantlab.optimize": ("quantlab.report", "quantlab.live", "quantlab.cli"),
    # figures and pages read results through their attributes (plain pandas objects), below
    # every layer that draws through them (regime statistics such as spells() they may use)
    "quantlab.plotting": ("quantlab.backtest", "quantlab.strategy", "quantlab.report",
                          "quantlab.live", "quantlab.cli", "quantlab.risk", "quantlab.portfolio",
                          "quantlab.optimize"),
    # the backtest draws through plotting, never through report; backtest and live are siblings
    "quantlab.backtest": ("quantlab.report", "quantlab.live", "quantlab.cli"),
    "quantlab.live": ("quantlab.backtest", "quantlab.report", "quantlab.cli"),
    # report sits on top of backtest (it may import it), never on the live runner or the CLI
    "quantlab.report": ("quantlab.live", "quantlab.cli"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str | None, level: int, current: str, is_package: bool) -> str:
    """Absolute name of ``from <.. module> import ...`` written in module ``current``."""
    if level == 0:
        return module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(source: str, current: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, anywhere in it, as absolute dotted names.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a submodule).
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, current, is_package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (name in ("import_module", "__import__") and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                found.add(first.value)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


#: module -> packages it may import although a rule above bans them (one door each).
ALLOWED: dict[str, tuple[str, ...]] = {
    # the live runner trades through the backtest's own compiled decision step (Account,
    # BacktestConfig, the sizers) and replays its shadow backtest with backtest(): one module
    # of quantlab.live imports them, every other one takes them from it. backtest never
    # imports live.
    "quantlab.live._core": ("quantlab.backtest",),
}


def violations(module: str, imported: set[str]) -> list[str]:
    """The imports of ``module`` that :data:`FORBIDDEN` rules out (less :data:`ALLOWED`)."""
    bad = []
    allowed = ALLOWED.get(module, ())
    for package, banned in FORBIDDEN.items():
        if _within(module, package):
            bad += [f"{module} imports {name}" for name in sorted(imported)
                    for ban in banned if _within(name, ban)
                    and not any(_within(name, ok) for ok in allowed)]
    return bad


MODULES = sorted(ROOT.rglob("*.py"))


def test_every_layer_exists_where_the_rules_expect_it():
    names = {_module_name(p) for p in MODULES}
    for package in ("quantlab.data", "quantlab.indicators", "quantlab.metrics",
                    "quantlab.strategy", "quantlab.backtest", "quantlab.plotting",
                    "quantlab.report", "quantlab.regime", "quantlab.risk"):
        assert package in names, f"{package} moved: update FORBIDDEN in {__file__}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_module_respects_the_layers(path):
    module = _module_name(path)
    imported = imports_of(path.read_text(encoding="utf-8"), module,
                          is_package=path.name == "__init__.py")
    assert violations(module, imported) == []


# ---------------------------------------------------------------------------- the checker itself

@pytest.mark.parametrize("source", [
    "import quantlab.report.figures",
    "from quantlab.report.figures import backtest_figure",
    "from quantlab import report",
    "from quantlab.report import tearsheet as T",
    "from ..report import figures",
    "from .. import report",
    "def plot(self):\n    from quantlab.report.figures import backtest_figure\n    return 1",
    "class R:\n    def tearsheet(self):\n        import quantlab.report.tearsheet as t\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from quantlab.report import html\n",
    "import importlib\nmod = importlib.import_module('quantlab.report.figures')",
    "def f():\n    return __import__('quantlab.report')",
    "import quantlab.live",
])
def test_a_forbidden_import_is_caught_wherever_it_is_written(source):
    imported = imports_of(source, "quantlab.backtest.result")
    assert violations("quantlab.backtest.result", imported), imported


@pytest.mark.parametrize("module, source", [
    ("quantlab.report.figures", "from quantlab.plotting.figures import backtest_figure"),
    ("quantlab.report.notebook_helpers", "from quantlab.backtest.sweep import sweep"),
    ("quantlab.backtest.result", "from quantlab.plotting.tearsheet import write_tearsheet"),
    ("quantlab.backtest.result", "from quantlab.reporting import x"),  # a prefix is not a package
    ("quantlab.strategy.builtin", "from quantlab import indicators as ind"),
])
def test_an_allowed_import_passes(module, source):
    assert violations(module, imports_of(source, module)) == []


def test_the_strategy_layer_may_not_import_its_drivers():
    for source in ("from quantlab.backtest import backtest", "import quantlab.live.runner",
                   "def f():\n    from quantlab.report import notebook_helpers"):
        module = "quantlab.strategy.base"
        assert violations(module, imports_of(source, module)), source

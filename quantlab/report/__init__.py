"""Reports: plotly figures, the HTML tearsheet, the papermill runner and scheduled pipelines.

In a notebook::

    import quantlab.report as qr
    qr.record_data("aapl", df)          # data fingerprint -> manifest.json
    qr.record("sharpe", sharpe)         # key figure -> manifest.json and reports/index.html
    qr.show(fig)                        # a plotly figure that also renders in the HTML report

From Python or the shell::

    run = qr.run_notebook("notebooks/backtest_report.ipynb", {"symbol": "msft"})
    $ quantlab report notebooks/backtest_report.ipynb -p symbol msft
    $ quantlab rerun reports/backtest_report/20260101T000000Z-1a2b3c4d/manifest.json

Names load lazily, so ``import quantlab.report`` is cheap (no plotly or papermill import).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # notebook side
    "record": "manifest", "record_data": "manifest", "fingerprint": "manifest",
    "show": "html", "setup_notebook": "html",
    # figures
    "backtest_figure": "figures", "equity_figure": "figures", "drawdown_figure": "figures",
    "monthly_returns_heatmap": "figures", "monthly_returns_table": "figures",
    "rolling_sharpe_figure": "figures", "trade_distribution_figure": "figures",
    "mae_mfe_figure": "figures", "exposure_figure": "figures", "heatmap_figure": "figures",
    # pages
    "write_tearsheet": "tearsheet", "export_html": "html", "export_static": "html",
    "write_index": "index",
    # runner
    "run_notebook": "runner", "rerun": "runner", "notebook_parameters": "runner",
    "help_notebook": "runner", "RunResult": "runner", "NotebookRunError": "runner",
    "read_manifest": "manifest",
    # pipelines
    "load_pipelines": "pipelines", "run_pipelines": "pipelines", "run_due": "pipelines",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'quantlab.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"quantlab.report.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

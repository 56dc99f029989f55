"""One interactive HTML tearsheet of a backtest (see :mod:`quantlab.plotting.tearsheet`,
where it is written, below the report layer, so that ``BacktestResult.tearsheet()`` needs no
import of :mod:`quantlab.report`), and the one formatter of the numbers reports show."""

from __future__ import annotations

from quantlab.plotting.tearsheet import (
    format_stats,
    format_value,
    key_numbers,
    run_summary,
    stat_kind,
    tearsheet_filename,
    tearsheet_html,
    trades_table,
    trades_table_html,
    write_tearsheet,
)

__all__ = ["write_tearsheet", "tearsheet_html", "key_numbers", "format_value", "stat_kind",
           "format_stats", "trades_table", "trades_table_html", "tearsheet_filename",
           "run_summary"]

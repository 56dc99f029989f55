"""One self-contained, interactive HTML tearsheet of a backtest (see
:mod:`quantlab.plotting.tearsheet`, where it is written, below the report layer, so that
``BacktestResult.tearsheet()`` needs no import of :mod:`quantlab.report`)."""

from __future__ import annotations

from quantlab.plotting.tearsheet import key_numbers, tearsheet_html, write_tearsheet

__all__ = ["write_tearsheet", "tearsheet_html", "key_numbers"]

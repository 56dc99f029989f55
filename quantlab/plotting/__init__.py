"""Figures and self-contained HTML pages of results, below ``backtest`` and ``report``.

* :mod:`quantlab.plotting.figures` - plotly figures of a backtest and of a sweep;
* :mod:`quantlab.plotting.page` - one HTML page of figures, plotly.js inlined once;
* :mod:`quantlab.plotting.tearsheet` - the HTML tearsheet of a backtest.

They read a result through its attributes (``equity``, ``trades``, ``stats()``...) and import
neither :mod:`quantlab.backtest` nor :mod:`quantlab.report`: ``BacktestResult.plot()`` and
``.tearsheet()`` use them directly, and :mod:`quantlab.report` re-exports them. Importing this
package loads nothing: plotly loads with the submodules.
"""

from __future__ import annotations

__all__: list[str] = []

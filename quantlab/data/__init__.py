"""Market data: bundled samples, synthetic generators, the Parquet/DuckDB store,
ccxt download, the quality gate and causal resampling."""

from __future__ import annotations

from quantlab.data._frame import normalize
from quantlab.data.bundled import list_datasets, load
from quantlab.data.download import download
from quantlab.data.store import Store, import_csv

__all__ = ["load", "list_datasets", "normalize", "Store", "download", "import_csv"]

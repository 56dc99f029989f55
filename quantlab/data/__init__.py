"""Market data: bundled samples, synthetic generators, the Parquet/DuckDB store,
ccxt download, the quality gate and causal resampling."""

from __future__ import annotations

from quantlab.data import synthetic
from quantlab.data._frame import normalize
from quantlab.data.bundled import list_datasets, load
from quantlab.data.csv import read_csv, read_raw_csv
from quantlab.data.download import download
from quantlab.data.quality import QualityReport, clean, resample, validate
from quantlab.data.sources import open_data
from quantlab.data.store import ImportResult, Store, import_csv
from quantlab.data.synthetic import SyntheticResult, calendar_index, garch, gbm, regime_switching

__all__ = [
    "load", "list_datasets", "normalize", "Store", "download", "import_csv", "ImportResult",
    "read_csv", "read_raw_csv", "open_data",
    "validate", "clean", "resample", "QualityReport",
    "synthetic", "calendar_index", "gbm", "garch", "regime_switching", "SyntheticResult",
]

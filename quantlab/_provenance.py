"""Provenance of a result: JSON-able values, data fingerprints, package versions.

The one place these are written; the run manifests (:mod:`quantlab.report.manifest`) and the
tearsheet (:mod:`quantlab.plotting.tearsheet`) both use them.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import message
from quantlab.errors import DataError

__all__ = ["to_jsonable", "fingerprint", "package_versions"]

_PACKAGES = ("quantlab", "numpy", "pandas", "numba", "scipy", "plotly", "papermill", "nbconvert",
             "nbclient", "ipykernel", "vectorbt", "arch", "hmmlearn", "cvxpy", "optuna", "pyarrow",
             "duckdb", "ccxt", "kaleido")


def to_jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON values (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, pd.Series):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return str(value)
    if value is None or isinstance(value, int | str):
        return value
    return str(value)



def fingerprint(data: pd.Series | pd.DataFrame) -> str:
    """Return a stable SHA-256 hex digest of a Series or DataFrame (index, columns, values).

    Parameters
    ----------
    data : Series or DataFrame

    Returns
    -------
    str
        64 hex characters. Equal data (same index, column names, dtypes and values) gives
        the same digest in any process; changing one value, one timestamp or the column
        order changes it.

    Raises
    ------
    DataError
        ``data`` is not a Series or DataFrame.

    Notes
    -----
    Hashes ``pd.util.hash_pandas_object(data, index=True)`` (a deterministic 64-bit hash per
    row over index and values, independent of ``PYTHONHASHSEED``) together with the column
    names, dtypes and shape.

    Examples
    --------
    >>> s = pd.Series([1.0, 2.0], index=[0, 1])
    >>> fingerprint(s) == fingerprint(s.copy())
    True
    """
    if not isinstance(data, pd.Series | pd.DataFrame):
        raise DataError(message("data", "fingerprint", "a pandas Series or DataFrame",
                                type(data).__name__))
    digest = hashlib.sha256()
    header: list[Any]
    if isinstance(data, pd.DataFrame):
        header = [list(map(str, data.columns)), [str(t) for t in data.dtypes], list(data.shape)]
    else:
        header = [str(data.name), str(data.dtype), [len(data)]]
    digest.update(json.dumps(header).encode())
    digest.update(str(data.index.dtype).encode())
    rows = pd.util.hash_pandas_object(data, index=True).to_numpy(dtype=np.uint64)
    digest.update(rows.tobytes())
    return digest.hexdigest()



def package_versions() -> dict[str, str | None]:
    """Return the Python version and the installed versions of quantlab's key packages."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["executable"] = sys.executable
    return versions


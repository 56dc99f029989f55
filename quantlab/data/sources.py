"""One place that turns "where the bars come from" into a DataFrame: a bundled dataset, a
:class:`~quantlab.data.Store`, or a CSV file. The command line (``quantlab backtest``,
``quantlab sweep``) and the report notebooks all call :func:`open_data`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from quantlab._validate import check_options, message
from quantlab.data._frame import option_name, select_range
from quantlab.errors import InvalidParameterError

__all__ = ["open_data"]


def _sources_text(caller: str) -> str:
    o = lambda name: f"`{option_name(name, caller)}`"  # noqa: E731
    return (f"exactly one of {o('dataset')}, {o('store')} (with {o('symbol')} and "
            f"{o('timeframe')}) or {o('csv')}")


def open_data(
    *,
    dataset: str | None = None,
    store: str | os.PathLike[str] | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    csv: str | os.PathLike[str] | None = None,
    csv_options: Mapping[str, Any] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    caller: str = "open_data",
) -> pd.DataFrame:
    """Load OHLCV bars from exactly one source: a bundled dataset, a Store or a CSV file.

    Parameters
    ----------
    dataset : str, optional
        Bundled dataset name (:func:`quantlab.data.load`, adjusted prices).
    store : str or PathLike, optional
        Folder of a :class:`~quantlab.data.Store`; needs ``symbol`` and ``timeframe``.
    symbol, timeframe : str, optional
        The stored dataset, e.g. ``"BTC/USDT"`` and ``"1h"`` (only with ``store``).
    csv : str or PathLike, optional
        CSV file of bars, read by :func:`quantlab.data.read_csv`.
    csv_options : mapping, optional
        Keyword options of :func:`quantlab.data.read_csv` (only with ``csv``):
        ``skiprows``, ``date_format``, ``tz``, ``unit``, ``columns``, ``sort``, ``sep``,
        ``decimal``, ``thousands``, ``encoding``.
    start, end : str or Timestamp, optional
        Inclusive bounds (naive values are UTC). A reversed range or one that selects no
        bar is refused; the message names the bound and the data's range.
    caller : str, default "open_data"
        Function, notebook or command named in error messages. A command (a caller that
        starts with ``"quantlab "``, e.g. ``"quantlab backtest"``) gets the options
        spelled as its flags: ``--start``, ``--store``, ``--csv``.

    Returns
    -------
    DataFrame
        Normalized OHLCV. ``.attrs["quantlab"]`` describes the source: ``source`` (a
        phrase such as ``"dataset aapl"`` or ``"BTC/USDT 1h from store data/store"``),
        ``name`` (short and file-name safe: ``"aapl"``, ``"BTC_USDT-1h"``, the CSV's
        stem) and, for a CSV, how it was read (``note`` says what ``sort`` did).

    Raises
    ------
    InvalidParameterError
        No source or more than one, ``symbol``/``timeframe`` without ``store`` (or
        missing with it), ``csv_options`` without ``csv`` or with an unknown key
        (did-you-mean), a bad bound or ``start`` after ``end``.
    DataError
        Unknown dataset or stored symbol, a store folder that does not exist, a CSV that
        cannot be read as given (the message names the option that fixes it), no bar in
        ``[start, end]``.

    Examples
    --------
    >>> df = open_data(dataset="aapl", start="2010-01-01", end="2010-12-31")
    >>> len(df), df.attrs["quantlab"]["source"]
    (252, 'dataset aapl')
    """
    opt = lambda name: option_name(name, caller)  # noqa: E731
    given = [name for name, value in (("dataset", dataset), ("store", store), ("csv", csv))
             if value is not None]
    if len(given) != 1:
        got = "none" if not given else " and ".join(f"`{opt(g)}`" for g in given)
        raise InvalidParameterError(f"{caller}() needs {_sources_text(caller)}; got {got}.")
    if store is None:
        for name, value in (("symbol", symbol), ("timeframe", timeframe)):
            if value is not None:
                raise InvalidParameterError(message(
                    opt(name), caller, f"given only with `{opt('store')}`", value,
                    f"Pass `{opt('store')}` DIR, or drop `{opt(name)}`."))
    if csv_options is not None and csv is None:
        raise InvalidParameterError(message(opt("csv_options") if not caller.startswith("quantlab ")
                                            else "csv_options", caller,
                                            f"given only with `{opt('csv')}`", dict(csv_options)))

    if dataset is not None:
        from quantlab.data.bundled import load

        frame = load(dataset)
        key = str(dataset).lower()
        info: dict[str, Any] = {"source": f"dataset {key}", "name": key}
        label = f"dataset {key}"
    elif store is not None:
        from quantlab.data.store import Store, _sanitize

        for name, value in (("symbol", symbol), ("timeframe", timeframe)):
            if value is None:
                raise InvalidParameterError(message(
                    opt(name), caller, f"given with `{opt('store')}`", None,
                    "A store holds many datasets; name one (quantlab data list --store DIR "
                    "lists them)."))
        folder = Store(store)
        folder.check_exists(caller=f"{caller}()")
        frame = folder.read(str(symbol), str(timeframe))
        label = f"{symbol} {timeframe}"
        info = {"source": f"{symbol} {timeframe} from store {store}",
                "name": f"{_sanitize(str(symbol))}-{timeframe}"}
    else:
        from quantlab.data.csv import CSV_OPTIONS, read_csv

        options = dict(csv_options or {})
        check_options(options, CSV_OPTIONS, caller=caller)
        frame = read_csv(csv, caller=caller, **options)  # type: ignore[arg-type]
        label = Path(str(csv)).name
        info = dict(frame.attrs.get("quantlab", {}))
    out = select_range(frame, start, end, caller=caller, label=label)
    out.attrs["quantlab"] = info
    return out

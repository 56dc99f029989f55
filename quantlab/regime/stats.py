"""Statistics of returns per regime: annualized mean, volatility, Sharpe, spells."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_aligned, check_float, message
from quantlab.errors import DataError, InvalidParameterError

__all__ = ["regime_stats", "spells", "most_likely_state"]

_COLUMNS = ["mean", "volatility", "sharpe", "avg_duration", "share", "n_spells", "n_bars"]


def most_likely_state(probabilities: pd.DataFrame) -> pd.Series:
    """Return the most likely state at each bar of a probabilities DataFrame (NaN where unknown).

    ``probabilities`` has one column per state in state order (``state_0 ..``, as
    :meth:`HMMRegime.filter` returns them); a row with any NaN (warm-up) gives NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> most_likely_state(pd.DataFrame({"state_0": [0.9, 0.2, None], "state_1": [0.1, 0.8, None]}))
    0    0.0
    1    1.0
    2    NaN
    Name: state, dtype: float64
    """
    values = probabilities.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = ~np.isnan(values).any(axis=1)
    labels = np.full(len(probabilities), np.nan)
    labels[ok] = np.argmax(values[ok], axis=1)
    return pd.Series(labels, index=probabilities.index, name="state")


def _labels(states: Any, caller: str) -> pd.Series:
    if isinstance(states, pd.DataFrame):  # probabilities -> most likely state
        return most_likely_state(states)
    if not isinstance(states, pd.Series):
        raise DataError(message("states", caller, "a Series of labels or a DataFrame of probabilities",
                                type(states).__name__))
    if not pd.api.types.is_numeric_dtype(states.dtype):
        raise DataError(message("states", caller, "numeric labels", f"dtype {states.dtype}"))
    return states.astype("float64")


def spells(states: pd.Series) -> pd.DataFrame:
    """Return the spells (maximal runs of one state) of a label Series.

    A NaN label ends a spell and belongs to none.

    Returns
    -------
    DataFrame
        One row per spell: ``state``, ``start`` and ``end`` (index labels, inclusive),
        ``first`` and ``last`` (positions), ``length`` in bars.
    """
    values = _labels(states, "spells").to_numpy()
    n = len(values)
    ok = ~np.isnan(values)
    change = np.ones(n, dtype=bool)
    if n > 1:
        change[1:] = ~(ok[1:] & ok[:-1] & (values[1:] == values[:-1]))
    first = np.flatnonzero(change & ok)
    # a spell runs until the next change (exclusive) or the end
    boundaries = np.append(np.flatnonzero(change), n)
    nxt = boundaries[np.searchsorted(boundaries, first, side="right")]
    last = nxt - 1
    return pd.DataFrame({
        "state": values[first].astype(np.int64) if len(first) else np.empty(0, dtype=np.int64),
        "start": states.index[first], "end": states.index[last],
        "first": first, "last": last, "length": last - first + 1,
    })


def regime_stats(returns: pd.Series, states: pd.Series | pd.DataFrame, *,
                 periods_per_year: float) -> pd.DataFrame:
    """Return per-regime statistics of ``returns``.

    Parameters
    ----------
    returns : Series
        Per-bar returns, on the index of ``states``.
    states : Series or DataFrame
        Regime labels (NaN = unknown, e.g. warm-up) or a DataFrame of state probabilities
        such as :meth:`~quantlab.regime.hmm.HMMRegime.filter` (its argmax is used).
    periods_per_year : float
        Bars per year for annualization (252 daily equities, 365 daily crypto).

    Returns
    -------
    DataFrame
        Indexed by state, columns: ``mean`` (annualized: mean x periods_per_year),
        ``volatility`` (annualized: std, ddof 1, x sqrt(periods_per_year)), ``sharpe``
        (mean / volatility, no risk-free rate; NaN when volatility is 0), ``avg_duration``
        (mean spell length in bars), ``share`` (fraction of the labelled bars),
        ``n_spells``, ``n_bars``. Bars with a NaN label or return are left out of the return
        statistics; spells are counted on the labels alone.

    Raises
    ------
    InvalidParameterError
        ``periods_per_year`` missing or not > 0.
    DataError
        ``returns`` and ``states`` not aligned.
    """
    caller = "regime_stats"
    if periods_per_year is None:
        raise InvalidParameterError(message(
            "periods_per_year", caller, "a number > 0", None,
            "Pass it explicitly (252 daily equities, 365 daily crypto, 8760 hourly crypto)."))
    ppy = check_float("periods_per_year", periods_per_year, caller=caller, minimum=0.0,
                      exclusive_minimum=True)
    if not isinstance(returns, pd.Series):
        raise DataError(message("returns", caller, "a pandas Series", type(returns).__name__))
    check_aligned(caller, returns=returns, states=states)
    labels = _labels(states, caller)
    runs = spells(labels)
    r = returns.to_numpy(dtype=np.float64, na_value=np.nan)
    lab = labels.to_numpy()
    n_labelled = int((~np.isnan(lab)).sum())
    rows = []
    for k in np.unique(lab[~np.isnan(lab)]).astype(np.int64):
        x = r[(lab == k) & ~np.isnan(r)]
        mean = x.mean() * ppy if len(x) else np.nan
        vol = x.std(ddof=1) * np.sqrt(ppy) if len(x) > 1 else np.nan
        sharpe = mean / vol if vol > 0 else np.nan
        lengths = runs.loc[runs["state"] == k, "length"]
        rows.append((mean, vol, sharpe, float(lengths.mean()),
                     int((lab == k).sum()) / n_labelled, len(lengths), int((lab == k).sum())))
    out = pd.DataFrame(rows, columns=_COLUMNS,
                       index=pd.Index(np.unique(lab[~np.isnan(lab)]).astype(np.int64), name="state"))
    return out

"""The machinery every indicator shares: input handling, window lists, column
parallelism, output wrapping, and the streaming twin.

The kernel convention
---------------------
Every indicator is one numba kernel over 1-D float64 arrays that **carries its state**::

    xxx_nb(in_1, ..., in_k, param_1, ..., param_p, state, out_1, ..., out_q) -> None

* ``state`` is a float64 array of ``spec.state_size(**params)`` zeros for a fresh start; the
  kernel reads it on entry and writes it back on exit, so calling the kernel on
  ``x[:i]`` and then on ``x[i:]`` with the same state gives exactly the outputs of one call
  on ``x``. Batch mode calls it once per column with a fresh state; the streaming twin
  (:class:`Stream`) calls it with one-element arrays and keeps the state. Both therefore run
  the same arithmetic in the same order, which is why streaming equals batch on every prefix.
* Kernels write NaN where the indicator is undefined and never raise.

NaN and ±inf policy (documented in every indicator)
---------------------------------------------------
* Window indicators follow pandas ``rolling(window, min_periods=window)``, which treats ±inf
  as NaN: a NaN or ±inf input makes every window containing it NaN, and the output resumes,
  equal to the clean value, once it has left the window. Running sums count such inputs
  instead of adding them (an inf added and later subtracted would leave NaN for ever).
  Rolling max/min kernels (donchian, aroon, willr's and stoch's extremes) take ±inf as an
  extreme like any other value (as TA-Lib) and forget it when it leaves the window.
* Recursive indicators (EMA, Wilder smoothing, ...) skip NaN bars: the output is NaN at that bar
  and the state is left unchanged, which equals computing on ``x.dropna()`` and reindexing.
  ±inf is not skipped: it enters the recursion as a value, as in TA-Lib, so the smoothed
  indicators (EMA, DEMA, TEMA, TRIX, KAMA, MACD, APO/PPO, RSI, CMO, ATR, NATR, Keltner, the DMI
  family, AD, ADOSC, VWAP) are NaN or ±inf from that bar on, for ever (re-seeding would silently
  hide a data error). Indicators that only compare an input (SAR's extremes, OBV's price
  direction, SuperTrend's flips) keep going, shifted by it. Clean the data first
  (``quantlab.data.validate`` / ``clean``), or turn ±inf into NaN
  (``x.replace([np.inf, -np.inf], np.nan)``) to have those bars skipped.
* The input's DatetimeIndex, if any, must be sorted: an unsorted index raises DataError
  (each value would otherwise read later bars as earlier ones).

Input/output types
------------------
ndarray in -> ndarray out, Series in -> Series out, DataFrame in -> DataFrame out (one column per
asset, computed column by column in ``numba.get_num_threads()`` threads; kernels release the GIL). A list of windows
gives one column per window (columns named by the window for a Series, a ``(window, column)``
MultiIndex for a DataFrame; for an ndarray, a 2-D array with windows along axis 1, times the
input's columns when it is 2-D). Each distinct window is computed once. Multi-output indicators
return a DataFrame with one column per output (a ``(output, column)`` MultiIndex for DataFrame
input) or, for ndarray input, a tuple of arrays in TA-Lib's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quantlab._jit import num_threads
from quantlab._validate import as_float_array, check_aligned, check_int, check_sorted_index, message
from quantlab.errors import InvalidParameterError

__all__ = ["Spec", "compute", "compute_rows", "Stream", "window_list"]


@dataclass(frozen=True)
class Spec:
    """What :func:`compute` needs to know about one indicator kernel."""

    name: str
    kernel: Callable[..., None]
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    state_size: Callable[..., int]
    outputs: tuple[str, ...] = ()  # () = one output named after the indicator


def window_list(name: str, value: Any, *, caller: str, minimum: int = 1) -> list[int] | int:
    """Validate a window that may be an int or a non-empty list of ints."""
    if isinstance(value, list | tuple | np.ndarray | pd.Index):
        if len(value) == 0:
            raise InvalidParameterError(message(name, caller, "an integer or a non-empty list of integers", value))
        return [check_int(name, v, caller=caller, minimum=minimum) for v in value]
    return check_int(name, value, caller=caller, minimum=minimum)


_POOL: list[ThreadPoolExecutor] = []  # one pool for the process, created on first parallel use


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=max(2, num_threads()), thread_name_prefix="quantlab"))
    return _POOL[0]


def _prefault(arrays: list[np.ndarray]) -> None:
    """Touch every 4 KiB page of fresh output arrays from the calling thread.

    Used by :func:`compute_rows`: there, two workers taking the first-touch page faults of one
    fresh (W, T) array at once take 6-10 ms most of the time but 50-60 ms in some stretches
    (transparent huge pages); with the pages touched first, a steady 8-13 ms
    (``benchmarks/sweep_kernel.py``, part 2). :func:`compute`'s column blocks do not need it
    (two workers on a fresh 80 MB frame: 14.4 ms without, 17.6 ms with).
    """
    for a in arrays:
        flat = a.reshape(-1, order="A")
        flat[::512] = 0.0


def _run_columns(spec: Spec, arrays: list[np.ndarray], params: tuple[Any, ...]) -> list[np.ndarray]:
    """Run the kernel over every column of 2-D F-ordered inputs; returns 2-D outputs.

    Columns are split into one contiguous range per thread (``numba.get_num_threads()``), run
    on a process-wide thread pool; kernels release the GIL. Small inputs run inline.
    """
    n, m = arrays[0].shape
    n_out = max(1, len(spec.outputs))
    outs = [np.empty((n, m), dtype=np.float64, order="F") for _ in range(n_out)]
    size = int(spec.state_size(*params))

    def run(lo: int, hi: int) -> None:
        for j in range(lo, hi):
            state = np.zeros(size, dtype=np.float64)
            spec.kernel(*[a[:, j] for a in arrays], *params, state, *[o[:, j] for o in outs])

    workers = min(m, num_threads())  # numba's thread count: set_num_threads() limits it
    if workers <= 1 or n * m < 200_000:
        run(0, m)
    else:
        bounds = np.linspace(0, m, workers + 1).astype(int)
        futures = [_pool().submit(run, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
        for future in futures:
            future.result()
    return outs


def compute(spec: Spec, inputs: dict[str, Any], params: dict[str, Any]) -> Any:
    """Validate inputs, run ``spec.kernel`` and wrap the result like the first input.

    ``params`` must already be validated, in the kernel's order. The first parameter may be a
    list of windows.
    """
    names = list(inputs)
    for k in names:  # an unsorted time index would feed later bars in as earlier ones
        check_sorted_index(k, inputs[k], caller=spec.name)
    if len(names) > 1:
        check_aligned(spec.name, **inputs)
    template = inputs[names[0]]
    arrays = [as_float_array(inputs[k], k, caller=spec.name, order="F") for k in names]
    for k, a in zip(names[1:], arrays[1:], strict=True):
        if a.shape != arrays[0].shape:
            raise InvalidParameterError(message(k, spec.name, f"of shape {arrays[0].shape} like `{names[0]}`", a.shape))
    was_1d = arrays[0].ndim == 1
    arrays = [np.asfortranarray(a.reshape(-1, 1) if was_1d else a) for a in arrays]

    values = list(params.values())
    first = values[0] if values else None
    windows = first if isinstance(first, list) else None
    if windows is None:
        outs = _run_columns(spec, arrays, tuple(values))
        return _wrap(spec, template, outs, was_1d)
    distinct = {w: _run_columns(spec, arrays, (w, *values[1:])) for w in dict.fromkeys(windows)}
    return _wrap_windows(spec, template, windows, distinct, was_1d)


def compute_rows(spec: Spec, x: np.ndarray, windows: Sequence[int]) -> np.ndarray:
    """One single-input, single-output indicator for many windows: (W, T) C-ordered array.

    Row ``i`` equals ``spec``'s indicator of the 1-D float64 array ``x`` for ``windows[i]``
    (the same kernel, each row written in place: no stacking copy). Windows are split into
    one contiguous range per thread like :func:`compute`'s columns. For sweeps, which read
    every window's series along time. No validation: callers pass checked windows and a
    contiguous float64 ``x``.
    """
    out = np.empty((len(windows), x.shape[0]), dtype=np.float64)

    def run(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            w = int(windows[i])
            spec.kernel(x, w, np.zeros(int(spec.state_size(w))), out[i])

    workers = min(len(windows), num_threads())
    if workers <= 1 or out.size < 200_000:
        run(0, len(windows))
    else:
        _prefault([out])
        bounds = np.linspace(0, len(windows), workers + 1).astype(int)
        for future in [_pool().submit(run, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]:
            future.result()
    return out


def _wrap(spec: Spec, template: Any, outs: list[np.ndarray], was_1d: bool) -> Any:
    single = not spec.outputs
    if isinstance(template, pd.DataFrame):
        if single:  # F-ordered output is pandas' own block layout: no copy
            return pd.DataFrame(outs[0], index=template.index, columns=template.columns, copy=False)
        cols = pd.MultiIndex.from_product([list(spec.outputs), list(template.columns)])
        return pd.DataFrame(np.concatenate(outs, axis=1), index=template.index, columns=cols, copy=False)
    if isinstance(template, pd.Series):
        if single:
            return pd.Series(outs[0][:, 0], index=template.index, name=spec.name)
        return pd.DataFrame({o: a[:, 0] for o, a in zip(spec.outputs, outs, strict=True)}, index=template.index)
    flat = [a[:, 0] if was_1d else np.ascontiguousarray(a) for a in outs]
    return flat[0] if single else tuple(flat)


def _wrap_windows(spec: Spec, template: Any, windows: list[int], distinct: dict[int, list[np.ndarray]], was_1d: bool) -> Any:
    single = not spec.outputs
    outputs = list(spec.outputs) if not single else [spec.name]
    if isinstance(template, pd.DataFrame):
        blocks: list[np.ndarray] = []
        keys: list[tuple[Any, ...]] = []
        for w in windows:
            for o, arr in zip(outputs, distinct[w], strict=True):
                blocks.append(arr)
                keys.extend((w, c) if single else (w, o, c) for c in template.columns)
        names = ["window", *template.columns.names] if single else ["window", "output", *template.columns.names]
        cols = pd.MultiIndex.from_tuples(keys, names=names)
        return pd.DataFrame(np.concatenate(blocks, axis=1), index=template.index, columns=cols)
    if isinstance(template, pd.Series):
        if single:
            data = np.column_stack([distinct[w][0][:, 0] for w in windows])
            return pd.DataFrame(data, index=template.index, columns=pd.Index(windows, name="window"))
        cols = pd.MultiIndex.from_tuples([(w, o) for w in windows for o in outputs], names=["window", "output"])
        data = np.column_stack([distinct[w][i][:, 0] for w in windows for i in range(len(outputs))])
        return pd.DataFrame(data, index=template.index, columns=cols)
    per_output = [np.concatenate([distinct[w][i] for w in windows], axis=1) for i in range(len(outputs))]
    return per_output[0] if single else tuple(per_output)


class Stream:
    """Streaming twin of a batch indicator: ``update(...)`` one bar at a time.

    It runs the batch kernel on one-element arrays with a persistent state, so after ``k``
    updates ``value`` equals the batch result at bar ``k - 1``.

    Attributes
    ----------
    value : float or tuple of float
        The latest output (NaN until ready).
    ready : bool
        True once the latest output is defined (not NaN).
    """

    spec: Spec

    def __init__(self, spec: Spec, params: dict[str, Any]) -> None:
        for name, value in params.items():
            if isinstance(value, list | tuple | np.ndarray):
                raise InvalidParameterError(message(
                    name, type(self).__name__, "a single value (a stream computes one series)", value,
                    "Make one stream per window."))
        self.spec = spec
        self._params = tuple(params.values())
        self._state = np.zeros(int(spec.state_size(*self._params)), dtype=np.float64)
        n_out = max(1, len(spec.outputs))
        self._ins = [np.empty(1, dtype=np.float64) for _ in spec.inputs]
        self._outs = [np.empty(1, dtype=np.float64) for _ in range(n_out)]
        self._last: tuple[float, ...] = tuple(np.nan for _ in range(n_out))
        self.params = dict(params)

    def update(self, *values: float) -> Any:
        """Feed one bar (inputs in the batch function's positional order); return the value."""
        if len(values) != len(self._ins):
            raise InvalidParameterError(
                f"update() of {type(self).__name__} takes {len(self._ins)} value(s) "
                f"({', '.join(self.spec.inputs)}); got {len(values)}."
            )
        for buf, v in zip(self._ins, values, strict=True):
            buf[0] = float(v)
        self.spec.kernel(*self._ins, *self._params, self._state, *self._outs)
        self._last = tuple(float(o[0]) for o in self._outs)
        return self.value

    @property
    def value(self) -> Any:
        if not self.spec.outputs:
            return self._last[0]
        return dict(zip(self.spec.outputs, self._last, strict=True))

    @property
    def ready(self) -> bool:
        return not any(np.isnan(v) for v in self._last)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args}) value={self.value!r}"

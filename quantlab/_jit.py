"""The one place numba is configured.

* Every kernel is compiled with ``cache=True``. When the package directory is not writable
  (a system site-packages), numba's cache goes to ``$XDG_CACHE_HOME/quantlab/numba`` unless
  ``NUMBA_CACHE_DIR`` is already set.
* ``QUANTLAB_DISABLE_JIT=1`` returns the undecorated Python functions, for debugging
  and for coverage; ``prange`` then behaves as ``range``.

Nothing here compiles at import: numba compiles lazily on the first call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numba
from numba import prange

__all__ = ["njit", "prange", "JIT_DISABLED", "num_threads", "trailing_zeros"]

F = TypeVar("F", bound=Callable[..., Any])

JIT_DISABLED: bool = os.environ.get("QUANTLAB_DISABLE_JIT", "") not in ("", "0")


def _ensure_writable_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    package_dir = Path(__file__).resolve().parent
    if os.access(package_dir, os.W_OK):
        return  # numba writes next to the sources (__pycache__)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    cache_dir = base / "quantlab" / "numba"
    cache_dir.mkdir(parents=True, exist_ok=True)
    numba.config.CACHE_DIR = str(cache_dir)  # type: ignore[attr-defined]  # set at runtime by numba


_ensure_writable_cache()


def njit(*args: Any, parallel: bool = False, **kwargs: Any) -> Any:
    """Compile with ``numba.njit(cache=True, nogil=True)``; identity when JIT is disabled.

    Use as ``@njit`` or ``@njit(parallel=True)``.
    """

    def decorate(func: F) -> F:
        if JIT_DISABLED:
            return func
        return numba.njit(cache=True, nogil=True, parallel=parallel, **kwargs)(func)  # type: ignore[no-any-return]

    if args and callable(args[0]):
        return decorate(args[0])
    return decorate


def num_threads() -> int:
    """Number of threads numba's parallel kernels use (1 when JIT is disabled)."""
    return 1 if JIT_DISABLED else int(numba.get_num_threads())


def _trailing_zeros_py(x: Any) -> int:
    """Number of trailing zero bits of a non-zero unsigned integer (pure Python twin)."""
    v = int(x)
    return (v & -v).bit_length() - 1


#: Number of trailing zero bits of a non-zero unsigned integer: with JIT an LLVM cttz
#: intrinsic, callable from kernels only (one instruction on x86-64); else the Python twin.
trailing_zeros: Any = _trailing_zeros_py
if not JIT_DISABLED:
    from numba.cpython.unsafe.numbers import trailing_zeros as _cttz

    trailing_zeros = _cttz

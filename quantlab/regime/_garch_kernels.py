"""Numba kernel of the GARCH / GJR-GARCH(p, o, q) variance recursion (arch's, power 2).

The kernel knows nothing of pandas or of arch; :mod:`quantlab.regime.garch` feeds it the
parameters arch fitted and the residuals of one refit segment.
"""

from __future__ import annotations

import numpy as np

from quantlab._jit import njit

__all__ = ["garch_variance_nb"]


@njit
def garch_variance_nb(params, resids, backcast, p, o, q):  # pragma: no cover - numba
    """float64[:] params ``[omega, alpha_1..p, gamma_1..o, beta_1..q]``, float64[:] resids
    (m,) -> float64[:] (m + 1,) conditional variances, no NaN handling (callers pass finite
    residuals).

    ``out[t]`` for t < m equals arch's ``compute_variance`` (``garch_recursion``, power 2) on
    ``resids`` started at ``backcast``, without arch's variance bounds; ``out[m]`` is the
    one-step forecast after the last residual, i.e. ``out[t]`` equals arch's
    ``forecast(params, horizon=1)`` made at ``t - 1``.
    """
    m = resids.shape[0]
    out = np.empty(m + 1)
    for t in range(m + 1):
        s = params[0]
        loc = 1
        for j in range(p):
            if t - 1 - j < 0:
                s += params[loc] * backcast
            else:
                e = resids[t - 1 - j]
                s += params[loc] * e * e
            loc += 1
        for j in range(o):
            if t - 1 - j < 0:
                s += params[loc] * 0.5 * backcast
            else:
                e = resids[t - 1 - j]
                if e < 0.0:
                    s += params[loc] * e * e
            loc += 1
        for j in range(q):
            if t - 1 - j < 0:
                s += params[loc] * backcast
            else:
                s += params[loc] * out[t - 1 - j]
            loc += 1
        out[t] = s
    return out

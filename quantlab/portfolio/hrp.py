"""Hierarchical risk parity (López de Prado 2016): cluster, quasi-diagonalize, bisect."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

__all__ = ["LINKAGES", "hrp_weights_arr", "hrp_order_arr"]

LINKAGES: tuple[str, ...] = ("single", "complete", "average", "ward")


def _corr(cov: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def hrp_order_arr(cov: np.ndarray, method: str = "single") -> np.ndarray:
    """(N, N) covariance -> the quasi-diagonal order: the leaves of the linkage of the
    distance ``d_ij = sqrt((1 - rho_ij) / 2)`` (scipy's ``linkage`` and ``leaves_list``)."""
    n = cov.shape[0]
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    dist = np.sqrt(np.clip((1.0 - _corr(cov)) / 2.0, 0.0, None))
    np.fill_diagonal(dist, 0.0)
    link = linkage(squareform(dist, checks=False), method=method)
    return np.asarray(leaves_list(link), dtype=np.int64)


def hrp_weights_arr(cov: np.ndarray, method: str = "single") -> np.ndarray:
    """(N, N) covariance -> (N,) HRP weights (sum 1, all > 0).

    Recursive bisection of the quasi-diagonal order into halves; each half gets the
    inverse-variance portfolio of its block, and the split is ``alpha = 1 - v_left /
    (v_left + v_right)`` with ``v`` the variance of that portfolio (López de Prado 2016,
    "Building diversified portfolios that outperform out of sample", J. Portfolio Mgmt).
    """
    order = hrp_order_arr(cov, method)
    w = np.ones(cov.shape[0])
    stack = [order]
    while stack:
        items = stack.pop()
        if items.size <= 1:
            continue
        half = items.size // 2
        left, right = items[:half], items[half:]
        v_left = _cluster_var(cov, left)
        v_right = _cluster_var(cov, right)
        alpha = 1.0 - v_left / (v_left + v_right)
        w[left] *= alpha
        w[right] *= 1.0 - alpha
        stack += [left, right]
    return w / w.sum()


def _cluster_var(cov: np.ndarray, items: np.ndarray) -> float:
    sub = cov[np.ix_(items, items)]
    ivp = 1.0 / np.diag(sub)
    ivp /= ivp.sum()
    return float(ivp @ sub @ ivp)

"""Seeded return panels shared by the portfolio tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def returns(n_assets: int = 5, n_bars: int = 600, seed: int = 0, *, drift: float = 4e-4,
            scale: float = 0.008) -> pd.DataFrame:
    """Correlated Gaussian daily returns with distinct means (a one-factor-ish covariance)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n_assets, n_assets)) * scale
    cov = a @ a.T + np.eye(n_assets) * scale**2
    mean = np.linspace(0.2, 1.8, n_assets) * drift
    x = rng.multivariate_normal(mean, cov, n_bars)
    return pd.DataFrame(x, columns=[f"S{i}" for i in range(n_assets)])


def panel(n_assets: int = 3, n_bars: int = 400, seed: int = 0) -> pd.DataFrame:
    """A (field, symbol) OHLCV frame of correlated random walks on a daily UTC index."""
    r = returns(n_assets, n_bars, seed).to_numpy()
    close = 100.0 * np.cumprod(1.0 + r, axis=0)
    rng = np.random.default_rng(seed + 1)
    opn = np.vstack([close[:1], close[:-1]]) * (1.0 + rng.normal(0, 0.002, close.shape))
    high = np.maximum(opn, close) * 1.003
    low = np.minimum(opn, close) * 0.997
    index = pd.date_range("2015-01-01", periods=n_bars, freq="B", tz="UTC", name="time")
    syms = [f"S{i}" for i in range(n_assets)]
    frames = {}
    for j, s in enumerate(syms):
        frames[s] = pd.DataFrame({"open": opn[:, j], "high": high[:, j], "low": low[:, j],
                                  "close": close[:, j], "volume": 1e6}, index=index)
    return pd.concat(frames, axis=1).swaplevel(axis=1).sort_index(axis=1)

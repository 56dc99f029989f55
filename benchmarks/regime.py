"""HMM regimes: quantlab's HMMRegime vs raw hmmlearn, in one process, on the same data.

    .venv/bin/python benchmarks/regime.py [--fit-bars 2000] [--n-init 10] [--bars 1000000] [--markdown]

Part 1 - fit time per restart: ``HMMRegime(n_init=k).fit(returns)`` / k vs raw
``GaussianHMM.fit`` on the same standardized returns with the same k seeds and settings (2
states, diag, n_iter=100, tol=1e-4), once with hmmlearn's default threads and once limited to
one thread like quantlab (goal: quantlab <= 1.2x raw).
Part 2 - filter on ``--bars`` bars: ``HMMRegime.filter`` (OHLCV frame: features + emissions +
forward recursion + DataFrame), the two numba kernels alone, hmmlearn's ``predict_proba``
(forward-backward smoothing, for reference: it is not causal) and streaming ``update``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from _timing import best_time, markdown
from hmmlearn.hmm import GaussianHMM
from threadpoolctl import threadpool_limits

from quantlab.data.synthetic import regime_switching
from quantlab.regime._filter import forward_filter_nb, gaussian_loglik_nb
from quantlab.regime.hmm import HMMRegime


def part_fit(n_bars: int, n_init: int) -> pd.DataFrame:
    returns = regime_switching(n_bars, seed=0).returns
    seed = 0
    model = HMMRegime(2, n_init=n_init, seed=seed)

    def ql() -> None:
        model.fit(returns)

    x = returns.to_numpy()[:, None]
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    seeds = np.random.SeedSequence(seed, spawn_key=(0,)).generate_state(n_init)

    def raw() -> None:
        for s in seeds:
            GaussianHMM(2, covariance_type="diag", n_iter=100, tol=1e-4, random_state=int(s)).fit(z)

    def raw_one_thread() -> None:
        with threadpool_limits(limits=1):
            raw()

    t_ql = best_time(ql, repeat=3, min_time=0.0) / n_init
    t_raw1 = best_time(raw_one_thread, repeat=3, min_time=0.0) / n_init
    t_raw = best_time(raw, repeat=2, min_time=0.0) / n_init
    iters = model.fits_[0].n_iter
    rows = [
        ("quantlab HMMRegime.fit / n_init", t_ql * 1e3, 1.0, iters),
        ("hmmlearn GaussianHMM.fit (1 thread)", t_raw1 * 1e3, t_ql / t_raw1, iters),
        ("hmmlearn GaussianHMM.fit (default threads)", t_raw * 1e3, t_ql / t_raw, iters),
    ]
    return pd.DataFrame(rows, columns=["fit (per restart)", "ms", "quantlab / this", "EM iters (kept)"])


def part_filter(n_bars: int) -> pd.DataFrame:
    train = regime_switching(3000, seed=1).data
    model = HMMRegime(2, n_init=3, seed=0).fit(train)
    rng = np.random.default_rng(2)
    states = (rng.random(n_bars) < 0.3).astype(int)
    r = rng.normal(0.0, np.where(states == 1, 0.02, 0.005))
    index = pd.date_range("2000-01-01", periods=n_bars, freq="1min", tz="UTC")
    data = pd.DataFrame({"close": 100 * np.exp(np.cumsum(r))}, index=index)
    x = r[:, None].copy()
    fit = model.fits_[0]

    def kernels() -> None:
        ll = gaussian_loglik_nb(x, fit.means, fit.chol, fit.logdet)
        out = np.empty_like(ll)
        forward_filter_nb(ll, fit.transmat, fit.startprob, np.zeros(3), out)

    ll = gaussian_loglik_nb(x, fit.means, fit.chol, fit.logdet)

    def forward_only() -> None:
        forward_filter_nb(ll, fit.transmat, fit.startprob, np.zeros(3), np.empty_like(ll))

    oracle = model.to_hmmlearn()
    with threadpool_limits(limits=1):
        rows = [
            ("HMMRegime.filter (OHLCV frame, all steps)", best_time(lambda: model.filter(data), repeat=3)),
            ("numba kernels: emissions + forward", best_time(kernels, repeat=3)),
            ("numba forward recursion alone", best_time(forward_only, repeat=3)),
            ("hmmlearn predict_proba (smoothed, reference)", best_time(lambda: oracle.predict_proba(x), repeat=2)),
        ]
    n_stream = 20_000
    bars = [{"close": float(c)} for c in data["close"].to_numpy()[:n_stream]]
    model.reset()
    start = time.perf_counter()
    for bar in bars:
        model.update(bar)
    t_stream = (time.perf_counter() - start) / n_stream
    frame = pd.DataFrame([(name, t / n_bars * 1e9) for name, t in rows], columns=["filter", "ns/bar"])
    frame.loc[len(frame)] = (f"HMMRegime.update (streaming, dict bars, {n_stream} bars)", t_stream * 1e9)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit-bars", type=int, default=2000)
    parser.add_argument("--n-init", type=int, default=10)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args()
    print(f"# regime benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    one = part_fit(args.fit_bars, args.n_init)
    two = part_filter(args.bars)
    print(f"\nPart 1: fit, {args.fit_bars} bars, 2 states, diag, n_init={args.n_init}")
    print(markdown(one) if args.markdown else one.to_string(index=False))
    print(f"\nPart 2: filter, {args.bars:,} bars, 2 states")
    print(markdown(two, digits=1) if args.markdown else two.to_string(index=False))


if __name__ == "__main__":
    main()

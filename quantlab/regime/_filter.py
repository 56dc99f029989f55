"""Numba kernels of the HMM forward filter: Gaussian emissions and the normalized recursion.

Both kernels know nothing of pandas and never raise for market conditions. They are written
so that a batch call over T rows and T calls over one row each run the same arithmetic in the
same order: this is why :meth:`quantlab.regime.hmm.HMMRegime.update` equals
:meth:`~quantlab.regime.hmm.HMMRegime.filter` on every prefix, bit for bit.

Carried state of the filter (float64[K + 1]): ``state[:K]`` is the last filtered probability
vector P(s_{t-1} = k | x_1..x_{t-1}); ``state[K]`` counts the observations filtered so far
(0 = nothing seen yet, the next observation uses ``startprob``).
"""

from __future__ import annotations

import math

import numpy as np

from quantlab._jit import njit

__all__ = ["gaussian_loglik_nb", "forward_filter_nb", "LOG_2PI"]

LOG_2PI = math.log(2.0 * math.pi)


@njit
def gaussian_loglik_nb(x, means, chol, logdet):
    """(T, F) features, (K, F) means, (K, F, F) lower Cholesky factors, (K,) log-determinants
    -> (T, K) Gaussian log-densities; a row with any non-finite feature is all NaN.

    Equals ``scipy.stats.multivariate_normal(means[k], chol[k] @ chol[k].T).logpdf(x)`` and
    hmmlearn's ``_compute_log_likelihood`` (forward substitution, no explicit inverse).
    """
    n_obs, n_feat = x.shape
    n_states = means.shape[0]
    out = np.empty((n_obs, n_states))
    z = np.empty(n_feat)
    for t in range(n_obs):
        ok = True
        for f in range(n_feat):
            if not math.isfinite(x[t, f]):
                ok = False
        if not ok:
            for k in range(n_states):
                out[t, k] = np.nan
            continue
        for k in range(n_states):
            quad = 0.0
            for f in range(n_feat):
                acc = x[t, f] - means[k, f]
                for g in range(f):
                    acc -= chol[k, f, g] * z[g]
                z[f] = acc / chol[k, f, f]
                quad += z[f] * z[f]
            out[t, k] = -0.5 * (n_feat * LOG_2PI + logdet[k] + quad)
    return out


@njit
def forward_filter_nb(loglik, transmat, startprob, state, out):
    """(T, K) emission log-likelihoods, (K, K) transition matrix, (K,) start probabilities,
    float64[K + 1] carried state, (T, K) output -> float log-likelihood of the filtered rows.

    Writes P(s_t = k | x_1..x_t) into ``out`` (the scaled forward recursion of Rabiner 1989,
    normalized every step; emissions shifted by their maximum, and the weights redone in log
    space when the likeliest emission has a near-zero prior, so nothing underflows); a row with
    a NaN log-likelihood (or where every state is impossible) is NaN and leaves the state
    unchanged. Equals hmmlearn's ``predict_proba(X[:t + 1])[-1]`` for every t and its sum
    of log normalizers equals ``score(X)``. ``state`` is updated in place.
    """
    n_obs, n_states = loglik.shape
    prior = np.empty(n_states)
    logw = np.empty(n_states)
    total = 0.0
    for t in range(n_obs):
        skip = False
        for k in range(n_states):
            if math.isnan(loglik[t, k]):
                skip = True
        if skip:
            for k in range(n_states):
                out[t, k] = np.nan
            continue
        if state[n_states] == 0.0:
            for k in range(n_states):
                prior[k] = startprob[k]
        else:
            for j in range(n_states):
                acc = 0.0
                for i in range(n_states):
                    acc += state[i] * transmat[i, j]
                prior[j] = acc
        # fast path: w_k = prior_k exp(ll_k - max ll), K exponentials
        peak = loglik[t, 0]
        for k in range(1, n_states):
            if loglik[t, k] > peak:
                peak = loglik[t, k]
        norm = 0.0
        if math.isfinite(peak):
            for k in range(n_states):
                w = prior[k] * math.exp(loglik[t, k] - peak)
                out[t, k] = w
                norm += w
        if not (norm > 1e-290 and math.isfinite(norm)):
            # the likeliest emission has a (near) zero prior: weights in log space
            peak = -np.inf
            for k in range(n_states):
                if prior[k] > 0.0:
                    logw[k] = math.log(prior[k]) + loglik[t, k]
                else:
                    logw[k] = -np.inf
                if logw[k] > peak:
                    peak = logw[k]
            if not math.isfinite(peak):  # every state impossible: NaN, keep the state
                for k in range(n_states):
                    out[t, k] = np.nan
                continue
            norm = 0.0
            for k in range(n_states):
                w = math.exp(logw[k] - peak)
                out[t, k] = w
                norm += w
        for k in range(n_states):
            out[t, k] /= norm
            state[k] = out[t, k]
        state[n_states] += 1.0
        total += peak + math.log(norm)
    return total

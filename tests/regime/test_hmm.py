"""HMMRegime: fits equal hmmlearn's, filtered probabilities equal hmmlearn's last smoothed ones,
labels ordered by volatility, no look-ahead, streaming equals batch, clear errors.

Oracles: hmmlearn (``GaussianHMM.fit`` with the same random_state, ``predict_proba`` of a
prefix, ``score``), scipy (``multivariate_normal.logpdf``, ``logsumexp``), pandas (features),
the planted truth of ``quantlab.data.synthetic.regime_switching`` (REFERENCES.md, "Regime
models").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from threadpoolctl import threadpool_limits

from quantlab.data.synthetic import regime_switching
from quantlab.errors import (
    ConvergenceWarning,
    DataError,
    InvalidParameterError,
    NotFittedError,
)
from quantlab.regime._filter import forward_filter_nb, gaussian_loglik_nb
from quantlab.regime.hmm import HMMRegime, stationary_distribution


@pytest.fixture(scope="module")
def sim():
    return regime_switching(3000, seed=11)


@pytest.fixture(scope="module")
def fitted(sim):
    return HMMRegime(2, n_init=4, seed=3).fit(sim.data.iloc[:1500])


def _log_returns(data: pd.DataFrame) -> np.ndarray:
    """log(close_t / close_{t-1}) with libm's log, NaN at bar 0 (independent of quantlab)."""
    close = data["close"].to_numpy()
    return np.array([np.nan] + [math.log(c / p) for p, c in zip(close[:-1], close[1:])])


def _hmmlearn_model(startprob, transmat, means, covars, covariance="diag"):
    """An hmmlearn model holding the given parameters (built here, not by quantlab)."""
    model = GaussianHMM(n_components=len(startprob), covariance_type=covariance, init_params="")
    model.startprob_ = startprob
    model.transmat_ = transmat
    model.means_ = means
    model.covars_ = covars
    return model


# ------------------------------------------------------------------ acceptance: the planted truth

def test_filtered_labels_match_the_true_states(sim, fitted):
    """REFERENCES.md: >= 90% of bars labelled correctly after the first few hundred.

    Measured with seed 11, fit on bars 0-1499 (n_init=4, seed=3): 95.6% on bars 250-2999,
    94.6% on the out-of-sample bars 1500-2999.
    """
    labels = fitted.predict(sim.data)
    truth = sim.states.astype(float)
    after_burn_in = (labels.iloc[250:] == truth.iloc[250:]).mean()
    out_of_sample = (labels.iloc[1500:] == truth.iloc[1500:]).mean()
    assert after_burn_in >= 0.90, after_burn_in
    assert out_of_sample >= 0.90, out_of_sample
    # state 0 is the calm one: its volatility is near the planted 0.5%, state 1's near 2%
    vol = np.sqrt(fitted.covars_[:, 0])
    assert vol[0] == pytest.approx(0.005, rel=0.1) and vol[1] == pytest.approx(0.02, rel=0.15)
    # stay probabilities near the realized ones of the true path (0.985 / 0.917 in this sample)
    path = sim.states.to_numpy()[:1500]
    realized = [(path[1:][path[:-1] == k] == k).mean() for k in (0, 1)]
    np.testing.assert_allclose(np.diag(fitted.transmat_), realized, atol=0.02)


def test_same_seed_is_bit_identical_and_seeds_differ_between_restarts(sim):
    a = HMMRegime(2, n_init=3, seed=42).fit(sim.data.iloc[:1000])
    b = HMMRegime(2, n_init=3, seed=42).fit(sim.data.iloc[:1000])
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.loglik_ == b.loglik_ and a.fits_[0].seed == b.fits_[0].seed
    assert np.array_equal(a.filter(sim.data).to_numpy(), b.filter(sim.data).to_numpy(), equal_nan=True)
    assert len(set(a.fits_[0].restart_logliks)) > 1 or len(a.fits_[0].restart_logliks) == 1


# ------------------------------------------------------------------ oracle: hmmlearn

def test_fit_equals_hmmlearn_with_the_same_initialization(sim):
    """Each restart is a raw GaussianHMM fit on the standardized features with the seed
    ``SeedSequence(seed, spawn_key=(0,))`` gives; the best one, mapped back to the features'
    units and permuted by variance, is what quantlab reports."""
    train = sim.data.iloc[:1200]
    model = HMMRegime(2, n_init=3, seed=9).fit(train)
    x = _log_returns(train)[1:, None]
    center, scale = x.mean(axis=0), x.std(axis=0)
    z = (x - center) / scale
    seeds = np.random.SeedSequence(9, spawn_key=(0,)).generate_state(3)
    with threadpool_limits(limits=1):
        raws = [GaussianHMM(2, covariance_type="diag", n_iter=100, tol=1e-4,
                            random_state=int(s)).fit(z) for s in seeds]
    scores = [r.score(z) for r in raws]
    np.testing.assert_array_equal(scores, model.fits_[0].restart_logliks)
    raw = raws[int(np.argmax(scores))]
    assert model.fits_[0].seed == int(seeds[int(np.argmax(scores))])
    var = raw.covars_[:, 0, 0] * scale[0] ** 2
    order = np.argsort(var)
    np.testing.assert_allclose(model.means_, (raw.means_ * scale + center)[order], rtol=1e-13)
    np.testing.assert_allclose(model.covars_[:, 0], var[order], rtol=1e-13)
    np.testing.assert_allclose(model.transmat_, raw.transmat_[np.ix_(order, order)], rtol=1e-13)
    np.testing.assert_allclose(model.startprob_, raw.startprob_[order], rtol=1e-12, atol=1e-300)
    # loglik_ is the log-likelihood of the features in their own units
    oracle = _hmmlearn_model(model.startprob_, model.transmat_, model.means_, model.covars_)
    assert model.loglik_ == pytest.approx(oracle.score(x), rel=1e-11)
    assert model.n_obs_ == len(x)
    assert model.converged_ == (raw.monitor_.history[-1] - raw.monitor_.history[-2] < 1e-4)


def test_filter_equals_hmmlearn_last_smoothed_probability_and_score(sim, fitted):
    x = _log_returns(sim.data)[1:, None]
    oracle = _hmmlearn_model(fitted.startprob_, fitted.transmat_, fitted.means_, fitted.covars_)
    probs = fitted.filter(sim.data).to_numpy()
    assert np.isnan(probs[0]).all()  # warm-up: no return at bar 0
    for t in [0, 1, 2, 5, 17, 100, 333, 999, 1499, 1500, 2222, len(x) - 1]:
        np.testing.assert_allclose(probs[t + 1], oracle.predict_proba(x[: t + 1])[-1],
                                   rtol=1e-9, atol=1e-12)
    assert fitted.score(sim.data) == pytest.approx(oracle.score(x), rel=1e-12)
    np.testing.assert_allclose(probs[1:].sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("covariance", ["full", "tied", "spherical", "diag"])
def test_every_covariance_type_matches_hmmlearn(sim, covariance):
    data = sim.data.iloc[:1500]
    model = HMMRegime(2, features=("returns", "range"), covariance=covariance, n_init=2,
                      seed=1).fit(data)
    x = np.column_stack([_log_returns(data), np.log(data["high"] / data["low"])])[1:]
    oracle = _hmmlearn_model(model.startprob_, model.transmat_, model.means_, model.covars_,
                             covariance)
    assert model.score(data) == pytest.approx(oracle.score(x), rel=1e-11)
    assert model.loglik_ == pytest.approx(oracle.score(x), rel=1e-10)
    probs = model.filter(data).to_numpy()[1:]
    for t in [0, 3, 50, 700, len(x) - 1]:
        np.testing.assert_allclose(probs[t], oracle.predict_proba(x[: t + 1])[-1],
                                   rtol=1e-9, atol=1e-12)
    var0 = oracle.covars_[:, 0, 0]
    assert (np.diff(var0) >= 0).all()  # ordered by the variance of the first feature


def test_emission_kernel_equals_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    x[7, 1] = np.nan
    means = rng.normal(size=(2, 3))
    covs = []
    for _ in range(2):
        a = rng.normal(size=(3, 3))
        covs.append(a @ a.T + 0.5 * np.eye(3))
    covs = np.array(covs)
    chol = np.linalg.cholesky(covs)
    logdet = np.linalg.slogdet(covs)[1]
    got = gaussian_loglik_nb(x, means, chol, logdet)
    for k in range(2):
        want = multivariate_normal(means[k], covs[k]).logpdf(np.nan_to_num(x))
        want[7] = np.nan
        np.testing.assert_allclose(got[:, k], want, rtol=1e-12)


def _reference_forward(ll, transmat, startprob):
    """Unnormalized forward recursion in log space (scipy logsumexp): an independent twin."""
    log_alpha = np.log(startprob) + ll[0]
    out = [np.exp(log_alpha - logsumexp(log_alpha))]
    for t in range(1, len(ll)):
        log_alpha = logsumexp(log_alpha[:, None] + np.log(transmat), axis=0) + ll[t]
        out.append(np.exp(log_alpha - logsumexp(log_alpha)))
    return np.array(out), float(logsumexp(log_alpha))


@settings(max_examples=40, deadline=None)
@given(k=st.integers(2, 4), n=st.integers(1, 60), seed=st.integers(0, 10_000),
       scale=st.sampled_from([1.0, 50.0, 800.0]))
def test_forward_kernel_equals_a_log_space_reference(k, n, seed, scale):
    """Property: for random chains and emissions (up to 800 nats apart, where a naive
    probability-space recursion underflows) the kernel equals the log-space reference."""
    rng = np.random.default_rng(seed)
    transmat = rng.dirichlet(np.ones(k), size=k)
    startprob = rng.dirichlet(np.ones(k))
    ll = -scale * rng.random((n, k))
    state = np.zeros(k + 1)
    out = np.empty((n, k))
    total = forward_filter_nb(ll, transmat, startprob, state, out)
    want, want_total = _reference_forward(ll, transmat, startprob)
    np.testing.assert_allclose(out, want, rtol=1e-9, atol=1e-300)
    assert total == pytest.approx(want_total, rel=1e-11)
    assert state[k] == n and np.array_equal(state[:k], out[-1])


def test_forward_kernel_survives_an_emission_800_nats_beyond_a_zero_prior():
    """The likeliest emission's state is unreachable: the fast path's weights all underflow
    to 0 and the kernel falls back to log space; equals the log-space reference."""
    transmat = np.array([[1.0, 0.0], [0.5, 0.5]])
    startprob = np.array([1.0, 0.0])
    ll = np.array([[0.0, -1.0], [-800.0, 0.0], [-900.0, 0.0], [0.0, -3.0]])
    out = np.empty((4, 2))
    total = forward_filter_nb(ll, transmat, startprob, np.zeros(3), out)
    with np.errstate(divide="ignore"):
        want, want_total = _reference_forward(ll, transmat, startprob)
    np.testing.assert_array_equal(out, want)  # [1, 0] on every row
    assert total == pytest.approx(want_total, rel=1e-14)


def test_forward_kernel_skips_nan_rows_and_carries_state():
    rng = np.random.default_rng(1)
    transmat = rng.dirichlet(np.ones(2), size=2)
    ll = rng.normal(size=(10, 2))
    with_gap = ll.copy()
    with_gap[4] = np.nan
    out_gap = np.empty((10, 2))
    forward_filter_nb(with_gap, transmat, np.array([0.5, 0.5]), np.zeros(3), out_gap)
    dropped = np.delete(ll, 4, axis=0)
    out_drop = np.empty((9, 2))
    forward_filter_nb(dropped, transmat, np.array([0.5, 0.5]), np.zeros(3), out_drop)
    assert np.isnan(out_gap[4]).all()
    np.testing.assert_array_equal(np.delete(out_gap, 4, axis=0), out_drop)


# ------------------------------------------------------------------ features

def test_named_features_equal_pandas(sim):
    data = sim.data.iloc[:300]
    model = HMMRegime(2, features=("returns", "abs_returns", "range"), n_init=1, seed=0)
    x = model._features(data, "test")
    r = np.log(data["close"] / data["close"].shift(1))
    np.testing.assert_allclose(x[:, 0], r, rtol=1e-14, equal_nan=True)
    np.testing.assert_allclose(x[:, 1], r.abs(), rtol=1e-14, equal_nan=True)
    np.testing.assert_allclose(x[1:, 2], np.log(data["high"] / data["low"])[1:], rtol=1e-14)
    np.testing.assert_array_equal(x[:, 0], _log_returns(data))  # libm's log, bit for bit
    assert np.isnan(x[0]).all()  # a row with any NaN feature is a warm-up row


# ------------------------------------------------------------------ causality

def test_fitted_filter_ignores_the_future(sim, fitted):
    full = fitted.filter(sim.data).to_numpy()
    for m in (2, 10, 400, 1501, 2700):
        assert np.array_equal(fitted.filter(sim.data.iloc[:m]).to_numpy(), full[:m], equal_nan=True)
    perturbed = sim.data.copy()
    perturbed.iloc[2000:, :4] *= 1.7  # wild future prices
    assert np.array_equal(fitted.filter(perturbed).to_numpy()[:2000], full[:2000], equal_nan=True)


@pytest.fixture(scope="module")
def walk(sim):
    data = sim.data.iloc[:1000]
    model = HMMRegime(2, n_init=2, seed=4, refit_every=150, min_train=300)
    probs = model.filter(data)
    return model, data, probs


def test_walk_forward_refits_on_past_data_only_and_ignores_the_future(walk):
    model, data, probs = walk
    fits = list(model.fits_)
    assert [f.stop for f in fits] == [301, 451, 601, 751, 901]  # bar 0 has no return
    assert all(f.start == 0 and f.n_obs == f.stop - 1 for f in fits)  # expanding, valid rows
    assert list(model.refit_bars_) == list(data.index[[301, 451, 601, 751, 901]])
    assert probs.iloc[:301].isna().all().all() and probs.iloc[301:].notna().all().all()
    assert model.warmup == 301 and probs.first_valid_index() == data.index[model.warmup]
    # truncating the future changes nothing (fits and probabilities)
    for m in (301, 520, 750, 902):
        short = HMMRegime(2, n_init=2, seed=4, refit_every=150, min_train=300)
        got = short.filter(data.iloc[:m])
        assert np.array_equal(got.to_numpy(), probs.to_numpy()[:m], equal_nan=True), m
        for a, b in zip(short.fits_, fits, strict=False):
            assert np.array_equal(a.transmat, b.transmat) and np.array_equal(a.covars, b.covars)
    # perturbing bars from k on changes no probability before k, nor the fit at k
    k = 601  # the refit bar: its fit uses bars < 601 only
    perturbed = data.copy()
    perturbed.iloc[k:, :4] *= np.exp(np.random.default_rng(0).normal(0, 0.05, size=(len(data) - k, 1)))
    other = HMMRegime(2, n_init=2, seed=4, refit_every=150, min_train=300)
    got = other.filter(perturbed).to_numpy()
    assert np.array_equal(got[:k], probs.to_numpy()[:k], equal_nan=True)
    assert np.array_equal(other.fits_[2].means, fits[2].means)
    assert not np.array_equal(other.fits_[3].means, fits[3].means)  # the perturbation is seen


def test_state_zero_is_the_calm_state_after_every_refit(walk):
    model, _, _ = walk
    for fit in model.fits_:
        assert fit.covars[0, 0] < fit.covars[1, 0]
        assert np.array_equal(fit.full_covars[:, 0, 0], fit.covars[:, 0])
    # the reordering did real work: hmmlearn labelled the wild state 0 in some fit
    assert any(tuple(f.permutation) == (1, 0) for f in model.fits_)


def test_rolling_window_uses_the_last_window_bars(sim):
    data = sim.data.iloc[:800]
    model = HMMRegime(2, n_init=1, seed=2, refit_every=200, window=300)
    model.filter(data)
    assert model.min_train_ == 300
    assert [(f.start, f.stop) for f in model.fits_] == [(1, 301), (201, 501), (401, 701)]


# ------------------------------------------------------------------ streaming

def test_streaming_equals_batch_on_every_prefix_fitted(sim, fitted):
    data = sim.data.iloc[:700]
    batch = fitted.filter(data).to_numpy()
    fitted.reset()
    rows = np.array([fitted.update(bar) for _, bar in data.iterrows()])
    assert np.array_equal(rows, batch, equal_nan=True)
    fitted.reset(data.iloc[:350])
    dicts = data.iloc[350:].to_dict("records")
    rows = np.array([fitted.update(bar) for bar in dicts])
    assert np.array_equal(rows, batch[350:], equal_nan=True)


def test_streaming_equals_batch_for_a_returns_series(sim):
    returns = sim.returns.iloc[:600]
    model = HMMRegime(2, n_init=2, seed=6).fit(returns.iloc[:400])
    batch = model.filter(returns).to_numpy()
    rows = np.array([model.update(float(r)) for r in returns])
    assert np.array_equal(rows, batch)
    assert model.warmup == 0
    with pytest.raises(DataError, match="Series"):
        model.update({"close": 1.0})


def test_streaming_equals_batch_walk_forward(walk):
    model, data, probs = walk
    model.reset()
    rows = np.array([model.update(bar) for _, bar in data.iterrows()])
    assert np.array_equal(rows, probs.to_numpy(), equal_nan=True)
    model.reset(data.iloc[:500])
    rows = np.array([model.update(bar) for _, bar in data.iloc[500:].iterrows()])
    assert np.array_equal(rows, probs.to_numpy()[500:], equal_nan=True)


def test_callable_features_stream_and_truncate(sim):
    def feats(d: pd.DataFrame) -> pd.DataFrame:  # causal: rolling over the past only
        r = np.log(d["close"]).diff()
        return pd.DataFrame({"r": r, "vol": r.rolling(5).std()}, index=d.index)

    data = sim.data.iloc[:450]
    model = HMMRegime(2, features=feats, n_init=1, seed=1).fit(data.iloc[:300])
    assert model.warmup == 5 and model.n_features == 2
    batch = model.filter(data).to_numpy()
    assert np.array_equal(model.filter(data.iloc[:320]).to_numpy(), batch[:320], equal_nan=True)
    model.reset(data.iloc[:400])
    rows = np.array([model.update(bar) for _, bar in data.iloc[400:].iterrows()])
    assert np.array_equal(rows, batch[400:], equal_nan=True)


# ------------------------------------------------------------------ warnings and errors

def test_non_convergence_warns(sim):
    with pytest.warns(ConvergenceWarning, match="n_iter=2"):
        model = HMMRegime(2, n_init=1, n_iter=2, seed=0).fit(sim.data.iloc[:800])
    assert model.converged_ is False


def test_filter_before_fit_says_what_to_do(sim):
    with pytest.raises(NotFittedError, match=r"fit\(train\).*refit_every"):
        HMMRegime(2).filter(sim.data)
    with pytest.raises(NotFittedError):
        HMMRegime(2).update({"close": 100.0})
    with pytest.raises(NotFittedError):
        _ = HMMRegime(2).transmat_


@pytest.mark.parametrize("kwargs, name", [
    ({"n_states": 1}, "n_states"),
    ({"n_states": 2.5}, "n_states"),
    ({"n_states": True}, "n_states"),
    ({"covariance": "dig"}, "covariance"),
    ({"n_init": 0}, "n_init"),
    ({"n_iter": 0}, "n_iter"),
    ({"tol": 0.0}, "tol"),
    ({"seed": -1}, "seed"),
    ({"refit_every": 0}, "refit_every"),
    ({"refit_every": 1.5}, "refit_every"),
    ({"refit_every": 10, "window": 1}, "window"),
    ({"refit_every": 10, "window": "50"}, "window"),
    ({"window": 100}, "window"),
    ({"min_train": 100}, "min_train"),
    ({"refit_every": 10, "window": 100, "min_train": 200}, "min_train"),
    ({"features": ("retruns",)}, "features"),
    ({"features": ()}, "features"),
    ({"features": ("returns", "returns")}, "features"),
    ({"features": 3}, "features"),
])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(InvalidParameterError, match=f"`{name}`"):
        HMMRegime(**kwargs)


def test_did_you_mean():
    with pytest.raises(InvalidParameterError, match="Did you mean 'diag'"):
        HMMRegime(covariance="dig")
    with pytest.raises(InvalidParameterError, match="Did you mean 'returns'"):
        HMMRegime(features=("retruns",))


def test_bad_data(sim):
    with pytest.raises(DataError, match="at least 8 valid observations for n_states=2"):
        HMMRegime(2, n_init=1).fit(sim.data.iloc[:5])
    with pytest.raises(DataError, match="'high'"):
        HMMRegime(2, features=("range",), n_init=1).fit(sim.data[["close"]])
    with pytest.raises(DataError, match="features"):
        HMMRegime(2, features=("range",)).fit(sim.returns)
    with pytest.raises(DataError, match="constant"):
        HMMRegime(2, n_init=1).fit(pd.Series(np.zeros(100)))
    model = HMMRegime(2, n_init=1, seed=0).fit(sim.data.iloc[:400])
    with pytest.raises(DataError, match="DataFrame"):
        model.filter(sim.returns)
    with pytest.raises(DataError, match="OHLCV"):
        model.update(0.01)
    with pytest.raises(DataError, match="missing"):
        model.update({"open": 1.0})


def test_stationary_distribution_solves_pi_a_equals_pi():
    a = np.array([[0.98, 0.02], [0.05, 0.95]])
    pi = stationary_distribution(a)
    np.testing.assert_allclose(pi, [0.05 / 0.07, 0.02 / 0.07], rtol=1e-12)  # closed form
    np.testing.assert_allclose(pi @ a, pi, rtol=1e-12)


def test_refit_on_another_kind_of_data(sim):
    model = HMMRegime(2, n_init=1, seed=0).fit(sim.data.iloc[:500])
    model.fit(sim.returns.iloc[:500])  # a new fit may switch from bars to a returns Series
    assert model.warmup == 0 and model.filter(sim.returns.iloc[:600]).shape == (600, 2)
    assert repr(model).startswith("HMMRegime(n_states=2")


def test_states_table_is_ordered_by_volatility_and_matches_the_parameters():
    """`states_`: state 0 the calmest; its columns restate the fitted parameters (oracle:
    numpy on means_, covars_, transmat_ and the stationary distribution)."""
    from quantlab.data.synthetic import regime_switching

    sim = regime_switching(1500, seed=3)
    for covariance in ("diag", "full", "spherical"):
        model = HMMRegime(2, covariance=covariance, n_init=2, seed=7).fit(sim.data.iloc[:1000])
        table = model.states_
        assert list(table.index) == [0, 1] and table["volatility"].is_monotonic_increasing
        np.testing.assert_allclose(table["mean"], model.means_[:, 0])
        np.testing.assert_allclose(table["expected_duration"], 1 / (1 - np.diag(model.transmat_)))
        pi = table["stationary"].to_numpy()
        np.testing.assert_allclose(pi @ model.transmat_, pi, atol=1e-12)

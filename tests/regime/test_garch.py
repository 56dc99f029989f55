"""GARCH forecasts and regimes (quantlab.regime.garch) against arch, the simulator's truth and
causality checks. Sources: REFERENCES.md "Regime models" (planted GARCH(1,1) 0.05/0.10/0.85,
percent returns; arch's numbers returned exactly; rolling forecasts from past data only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from arch import arch_model

from quantlab.data import synthetic
from quantlab.errors import DataError, InvalidParameterError, NotFittedError
from quantlab.regime._garch_kernels import garch_variance_nb
from quantlab.regime.garch import (
    GarchRegime,
    _backcast,
    fit_garch,
    garch_forecast,
    garch_volatility,
)

ARCH_MEAN = {"zero": "Zero", "constant": "Constant"}
N = 1300
MIN_TRAIN = 600
REFIT = 150


@pytest.fixture(scope="module")
def sim() -> synthetic.SyntheticResult:
    return synthetic.garch(N, seed=11)


@pytest.fixture(scope="module")
def returns(sim: synthetic.SyntheticResult) -> pd.Series:
    return sim.returns


def _arch(y: pd.Series, *, p: int = 1, o: int = 0, q: int = 1, dist: str = "normal",
          mean: str = "zero") -> object:
    return arch_model(y, mean=ARCH_MEAN[mean], vol="GARCH", p=p, o=o, q=q, dist=dist,
                      rescale=False)


# ---------------------------------------------------------------------------- fit_garch

@pytest.mark.parametrize(("mean", "o", "dist"), [("zero", 0, "normal"), ("constant", 1, "t"),
                                                 ("zero", 0, "skewt")])
def test_fit_equals_arch_exactly(returns: pd.Series, mean: str, o: int, dist: str) -> None:
    fit = fit_garch(returns, o=o, dist=dist, mean=mean, last_obs=1000)
    res = _arch(returns * 100.0, o=o, dist=dist, mean=mean).fit(disp="off", last_obs=1000)
    assert list(fit.params.index) == list(res.params.index)
    np.testing.assert_array_equal(fit.params.to_numpy(), res.params.to_numpy())
    np.testing.assert_array_equal(fit.std_errors.to_numpy(), res.std_err.to_numpy())
    assert fit.loglik == res.loglikelihood
    assert fit.converged is (res.convergence_flag == 0)
    assert fit.n_obs == res.nobs == 1000
    assert fit.scale == 100.0
    np.testing.assert_array_equal(fit.conditional_volatility.dropna().to_numpy(),
                                  res.conditional_volatility.dropna().to_numpy() / 100.0)


def test_fit_window_by_position_and_label(returns: pd.Series) -> None:
    by_pos = fit_garch(returns, first_obs=100, last_obs=900)
    by_label = fit_garch(returns, first_obs=returns.index[100], last_obs=returns.index[900])
    res = _arch(returns * 100.0).fit(disp="off", first_obs=100, last_obs=900)
    np.testing.assert_array_equal(by_pos.params.to_numpy(), res.params.to_numpy())
    np.testing.assert_array_equal(by_label.params.to_numpy(), res.params.to_numpy())


def test_rescale_one_on_percent_returns_is_the_same_fit(returns: pd.Series) -> None:
    a = fit_garch(returns, last_obs=800)
    b = fit_garch(returns * 100.0, last_obs=800, rescale=1.0)
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())


@pytest.mark.parametrize("seed", range(10))
def test_planted_parameters_recovered_within_three_standard_errors(seed: int) -> None:
    # REFERENCES.md "Regime models": GARCH(1,1) omega=0.05, alpha=0.10, beta=0.85, 5000 steps
    # (measured |z| <= 1.92 over seeds 0-9)
    fit = fit_garch(synthetic.garch(5000, seed=seed).returns)
    true = pd.Series({"omega": 0.05, "alpha[1]": 0.10, "beta[1]": 0.85})
    z = (fit.params[true.index] - true) / fit.std_errors[true.index]
    assert fit.converged
    assert (z.abs() < 3.0).all(), z


# ------------------------------------------------------------------- recursion vs arch

def test_kernel_equals_arch_recursion_and_forecast_general_orders() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal(400)
    params = np.array([0.05, 0.05, 0.03, 0.06, 0.4, 0.35])  # omega, a1, a2, g1, b1, b2
    model = arch_model(y, mean="Zero", vol="GARCH", p=2, o=1, q=2, rescale=False)
    ours = garch_variance_nb(params, y, _backcast(y), 2, 1, 2)
    sigma2 = np.zeros(y.size)
    no_bounds = np.column_stack([np.zeros(y.size), np.full(y.size, np.inf)])
    model.volatility.compute_variance(params, y, sigma2, model.volatility.backcast(y), no_bounds)
    np.testing.assert_allclose(ours[:-1], sigma2, rtol=1e-13)
    fc = model.forecast(params, horizon=1, start=0, reindex=False).variance.to_numpy()[:, 0]
    np.testing.assert_allclose(ours[1:], fc, rtol=1e-13)  # row t: forecast for t + 1


@pytest.mark.parametrize(("mean", "o", "dist", "window"),
                         [("zero", 0, "normal", None), ("constant", 1, "t", 500)])
def test_walk_forward_equals_arch_forecast_per_refit(returns: pd.Series, mean: str, o: int,
                                                     dist: str, window: int | None) -> None:
    out = garch_forecast(returns, o=o, dist=dist, mean=mean, refit_every=REFIT, window=window,
                         min_train=MIN_TRAIN)
    assert [f.bar for f in out.fits] == list(range(MIN_TRAIN, N, REFIT))
    y = returns * 100.0
    for i, f in enumerate(out.fits):
        assert f.train_end == f.bar
        assert f.train_start == (0 if window is None else f.bar - window)
        res = _arch(y, o=o, dist=dist, mean=mean).fit(disp="off", first_obs=f.train_start,
                                                       last_obs=f.train_end)
        np.testing.assert_array_equal(f.fit.params.to_numpy(), res.params.to_numpy())
        end = out.fits[i + 1].bar if i + 1 < len(out.fits) else N
        fc = res.forecast(horizon=1, start=f.bar - 1, reindex=False).variance["h.1"].to_numpy()
        np.testing.assert_allclose(out.volatility.iloc[f.bar:end].to_numpy(),
                                   np.sqrt(fc[: end - f.bar]) / 100.0, rtol=1e-12)
        if i + 1 == len(out.fits):  # the forecast after the data is arch's last row
            np.testing.assert_allclose(out.next_volatility, np.sqrt(fc[-1]) / 100.0, rtol=1e-12)
    assert out.volatility.iloc[:MIN_TRAIN].isna().all()
    assert out.volatility.iloc[MIN_TRAIN:].notna().all()


def test_in_sample_volatility_equals_arch_for_zero_mean(returns: pd.Series) -> None:
    out = garch_forecast(returns, refit_every=REFIT, window=400, min_train=MIN_TRAIN)
    for f in out.fits:
        np.testing.assert_allclose(f.in_sample_volatility,
                                   f.fit.conditional_volatility.to_numpy(), rtol=1e-12)


def test_single_fit_when_refit_every_is_none(returns: pd.Series) -> None:
    out = garch_forecast(returns, refit_every=None, min_train=MIN_TRAIN)
    assert len(out.fits) == 1 and out.fits[0].bar == MIN_TRAIN
    fit = fit_garch(returns, last_obs=MIN_TRAIN)
    np.testing.assert_array_equal(out.fits[0].fit.params.to_numpy(), fit.params.to_numpy())
    res = fit.arch_result
    full = _arch(returns * 100.0).fit(disp="off", last_obs=MIN_TRAIN)
    fc = full.forecast(horizon=1, start=MIN_TRAIN - 1, reindex=False).variance["h.1"].to_numpy()
    np.testing.assert_allclose(out.volatility.iloc[MIN_TRAIN:].to_numpy(),
                               np.sqrt(fc[:-1]) / 100.0, rtol=1e-12)
    assert res.nobs == MIN_TRAIN


def test_output_units_follow_rescale(returns: pd.Series) -> None:
    decimal = garch_volatility(returns, refit_every=300, min_train=MIN_TRAIN)
    percent = garch_volatility(returns * 100.0, refit_every=300, min_train=MIN_TRAIN,
                               rescale=1.0)
    np.testing.assert_allclose(percent.to_numpy(), decimal.to_numpy() * 100.0, rtol=1e-12)


def test_forecast_tracks_the_true_conditional_volatility() -> None:
    # the simulator's true sigma_t (units of returns) is the oracle
    sim = synthetic.garch(3000, seed=3)
    vol = garch_volatility(sim.returns, refit_every=250, min_train=1000)
    ok = vol.notna()
    rel = (vol[ok] / sim.volatility[ok] - 1.0).abs()
    assert rel.median() < 0.05, rel.median()
    assert np.corrcoef(vol[ok], sim.volatility[ok])[0, 1] > 0.97


def test_array_in_array_out(returns: pd.Series) -> None:
    s = garch_volatility(returns, refit_every=300, min_train=MIN_TRAIN)
    a = garch_volatility(returns.to_numpy(), refit_every=300, min_train=MIN_TRAIN)
    assert isinstance(a, np.ndarray)
    np.testing.assert_array_equal(a, s.to_numpy())
    assert s.index.equals(returns.index)


# ------------------------------------------------------------------------- causality

@pytest.mark.parametrize("window", [None, 450])
def test_appending_data_changes_no_past_forecast(returns: pd.Series, window: int | None) -> None:
    full = garch_volatility(returns, refit_every=REFIT, window=window, min_train=MIN_TRAIN)
    for cut in (MIN_TRAIN + 1, MIN_TRAIN + REFIT, MIN_TRAIN + REFIT + 37, N - 1):
        prefix = garch_volatility(returns.iloc[:cut], refit_every=REFIT, window=window,
                                  min_train=MIN_TRAIN)
        pd.testing.assert_series_equal(prefix, full.iloc[:cut], check_exact=True)


@pytest.mark.parametrize("window", [None, 450])
def test_forecast_at_refit_bar_ignores_that_bar(returns: pd.Series, window: int | None) -> None:
    k = MIN_TRAIN + REFIT  # a refit bar
    base = garch_forecast(returns, refit_every=REFIT, window=window, min_train=MIN_TRAIN)
    bumped = returns.copy()
    bumped.iloc[k] = 0.25  # a 25% shock at the refit bar
    moved = garch_forecast(bumped, refit_every=REFIT, window=window, min_train=MIN_TRAIN)
    np.testing.assert_array_equal(moved.volatility.iloc[: k + 1].to_numpy(),
                                  base.volatility.iloc[: k + 1].to_numpy())
    assert moved.volatility.iloc[k + 1] > 2 * base.volatility.iloc[k + 1]  # the test can see it
    np.testing.assert_array_equal(moved.fits[1].fit.params.to_numpy(),
                                  base.fits[1].fit.params.to_numpy())  # fit at k: data < k


def test_leading_nan_are_skipped(sim: synthetic.SyntheticResult) -> None:
    logret = np.log(sim.data["close"]).diff()
    vol = garch_volatility(logret, refit_every=300, min_train=MIN_TRAIN)
    direct = garch_volatility(logret.iloc[1:], refit_every=300, min_train=MIN_TRAIN)
    assert vol.iloc[: MIN_TRAIN + 1].isna().all()
    pd.testing.assert_series_equal(vol.iloc[1:], direct, check_exact=True)


# ---------------------------------------------------------------------------- regimes

@pytest.fixture(scope="module")
def regime_run(sim: synthetic.SyntheticResult) -> tuple[GarchRegime, pd.Series, pd.DataFrame]:
    model = GarchRegime(3, refit_every=REFIT, window=500, min_train=MIN_TRAIN)
    labels = model.predict(sim.data)
    return model, labels, model.filter(sim.data)


def test_regime_thresholds_are_quantiles_of_the_training_window(
        regime_run: tuple[GarchRegime, pd.Series, pd.DataFrame]) -> None:
    model, _, _ = regime_run
    assert model.quantiles == (1 / 3, 2 / 3)
    for rf in model.fits_:
        # oracle: arch's own in-sample conditional volatility of the fit (zero mean)
        vol = rf.refit.fit.conditional_volatility.to_numpy()
        assert vol.size == rf.refit.train_end - rf.refit.train_start
        np.testing.assert_allclose(rf.thresholds, np.quantile(vol, [1 / 3, 2 / 3]), rtol=1e-12)


def test_regime_labels_count_thresholds_below_the_forecast(
        sim: synthetic.SyntheticResult,
        regime_run: tuple[GarchRegime, pd.Series, pd.DataFrame]) -> None:
    model, labels, probs = regime_run
    vol = model.forecast_.volatility.to_numpy()
    expected = np.full(len(labels), np.nan)
    fits = model.fits_
    for i, rf in enumerate(fits):
        end = fits[i + 1].refit.bar if i + 1 < len(fits) else len(labels)
        seg = slice(rf.refit.bar, end)
        expected[seg] = np.searchsorted(np.asarray(rf.thresholds), vol[seg], side="right")
    np.testing.assert_array_equal(labels.to_numpy(), expected)
    assert int(labels.isna().sum()) == model.warmup == MIN_TRAIN + 1
    assert set(labels.dropna().unique()) == {0.0, 1.0, 2.0}
    assert list(probs.columns) == ["state_0", "state_1", "state_2"]
    ok = labels.notna().to_numpy()
    np.testing.assert_array_equal(probs.to_numpy()[ok].argmax(axis=1), labels.to_numpy()[ok])
    np.testing.assert_array_equal(probs.to_numpy()[ok].sum(axis=1), 1.0)
    assert probs.iloc[: model.warmup].isna().all().all()
    # a Series of returns gives the same labels (data's log returns)
    logret = np.log(sim.data["close"]).diff()
    np.testing.assert_array_equal(model.predict(logret).to_numpy(), labels.to_numpy())


def test_regime_thresholds_use_only_the_training_window(returns: pd.Series) -> None:
    model = GarchRegime(2, refit_every=REFIT, window=450, min_train=MIN_TRAIN)
    model.predict(returns)
    base = model.fits_
    j = 2
    start, end = base[j].refit.train_start, base[j].refit.train_end
    # triple every return after fit j's training window: thresholds up to fit j unchanged ...
    after = returns.copy()
    after.iloc[end:] *= 3.0
    model.predict(after)
    for i in range(j + 1):
        assert model.fits_[i].thresholds == base[i].thresholds
    assert model.fits_[j + 1].thresholds != base[j + 1].thresholds  # ... later fits see it
    # a rolling window also forgets what came before it
    before = returns.copy()
    before.iloc[:start] *= 3.0
    model.predict(before)
    assert model.fits_[j].thresholds == base[j].thresholds
    assert model.fits_[0].thresholds != base[0].thresholds


def test_regime_series_input_and_default_quantiles(returns: pd.Series) -> None:
    model = GarchRegime(refit_every=300, min_train=MIN_TRAIN)
    labels = model.predict(returns)
    assert model.quantiles == (0.5,)
    assert labels.iloc[:MIN_TRAIN].isna().all() and labels.iloc[MIN_TRAIN:].notna().all()
    thr = model.thresholds(returns)
    assert list(thr.columns) == ["q=0.5"]
    assert thr.iloc[MIN_TRAIN, 0] == model.fits_[0].thresholds[0]


# ------------------------------------------------------------------------- validation

@pytest.mark.parametrize(("kwargs", "name"), [
    ({"p": 0}, "`p`"), ({"o": -1}, "`o`"), ({"q": 1.5}, "`q`"), ({"refit_every": 0}, "`refit_every`"),
    ({"window": 10}, "`window`"), ({"min_train": 5}, "`min_train`"), ({"rescale": 0.0}, "`rescale`"),
])
def test_bad_parameters_name_the_parameter(returns: pd.Series, kwargs: dict, name: str) -> None:
    with pytest.raises(InvalidParameterError, match=name):
        garch_volatility(returns, **kwargs)


def test_choices_suggest_the_closest(returns: pd.Series) -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'skewt'"):
        garch_volatility(returns, dist="skew_t")
    with pytest.raises(InvalidParameterError, match="Did you mean 'constant'"):
        fit_garch(returns, mean="konstant")


def test_bad_data(returns: pd.Series) -> None:
    with pytest.raises(DataError, match="min_train=600"):
        garch_volatility(returns.iloc[:600], min_train=MIN_TRAIN)
    holed = returns.copy()
    holed.iloc[700] = np.nan
    with pytest.raises(DataError, match="position 700"):
        garch_volatility(holed, min_train=MIN_TRAIN)
    with pytest.raises(DataError, match="one series"):
        garch_volatility(returns.to_frame(), min_train=MIN_TRAIN)
    with pytest.raises(DataError, match="constant"):
        fit_garch(pd.Series(0.01, index=returns.index))
    with pytest.raises(DataError, match="at least 50"):
        fit_garch(returns.iloc[:40])


def test_regime_validation_and_not_fitted() -> None:
    with pytest.raises(InvalidParameterError, match="`n_regimes`"):
        GarchRegime(1)
    with pytest.raises(InvalidParameterError, match="`quantiles`"):
        GarchRegime(3, quantiles=[0.7, 0.3])
    with pytest.raises(InvalidParameterError, match="`quantiles`"):
        GarchRegime(2, quantiles=[0.2, 0.5])
    with pytest.raises(NotFittedError, match="predict"):
        GarchRegime().fits_  # noqa: B018
    with pytest.raises(DataError, match="`data`"):
        GarchRegime().predict([0.01, 0.02])


def test_non_convergence_is_reported_once_with_the_count(returns: pd.Series,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import quantlab.regime.garch as G
    from quantlab.errors import ConvergenceWarning

    real = G._arch_fit
    monkeypatch.setattr(G, "_arch_fit", lambda *a, **k: dataclasses.replace(real(*a, **k),
                                                                            converged=False))
    with pytest.warns(ConvergenceWarning, match="3 of 3 GARCH fits") as record:
        out = garch_forecast(returns, refit_every=300, min_train=MIN_TRAIN)
    assert len(record) == 1 and len(out.fits) == 3
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit_garch(returns)

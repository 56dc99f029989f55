"""Causal Gaussian hidden-Markov regimes: hmmlearn fits, quantlab filters.

:class:`HMMRegime` wraps :class:`hmmlearn.hmm.GaussianHMM` for the fit (Baum-Welch is
hmmlearn's) and adds what a trading signal needs:

* **causal probabilities** - :meth:`HMMRegime.filter` returns the *filtered* probabilities
  P(s_t = k | x_1..x_t) from a numba forward recursion (:mod:`quantlab.regime._filter`), never
  the smoothed ones (hmmlearn's ``predict_proba`` uses the whole sample: look-ahead);
* **stable labels** - after every fit the states are ordered by the variance of the first
  feature, so state 0 is always the calmest;
* **walk-forward refits** that use only data before the refit bar;
* **streaming** - :meth:`HMMRegime.update` feeds one bar at a time and equals the batch filter
  on every prefix, bit for bit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import check_choice, check_float, check_int, message
from quantlab.data.synthetic import stationary_distribution
from quantlab.errors import ConvergenceWarning, DataError, InvalidParameterError, NotFittedError
from quantlab.regime._filter import forward_filter_nb, gaussian_loglik_nb
from quantlab.regime.features import (
    FEATURE_WARMUP,
    callable_features,
    check_features,
    compute_features,
    feature_columns,
    features_from_arrays,
)

__all__ = ["HMMRegime", "HMMFit", "COVARIANCES", "stationary_distribution"]

#: Covariance structures of the Gaussian emissions (hmmlearn's ``covariance_type``).
COVARIANCES: tuple[str, ...] = ("diag", "full", "spherical", "tied")
_CALLER = "HMMRegime"


@dataclass(frozen=True)
class HMMFit:
    """One fit of an :class:`HMMRegime`, states ordered by volatility (state 0 = calmest).

    Attributes
    ----------
    start, stop : int
        Positions (0-based bars of the data given) of the training window ``[start, stop)``;
        in walk-forward mode ``stop`` is the refit bar, the first bar filtered with this fit.
    refit_bar : Any
        Index label of bar ``stop`` (None for a plain :meth:`HMMRegime.fit` or when the
        window ends with the data).
    n_obs : int
        Observations used (rows of the window with no NaN feature).
    startprob, transmat, means, covars : ndarray
        Parameters in the features' own units; ``covars`` in hmmlearn's shape for the
        covariance type: (K,) spherical, (K, F) diag, (K, F, F) full, (F, F) tied.
    loglik : float
        Log-likelihood of the training features under the fit (features' own units).
    converged : bool
        EM stopped because the gain fell below ``tol`` (not because ``n_iter`` ran out).
    n_iter : int
        EM iterations of the kept restart.
    seed : int
        ``random_state`` given to hmmlearn for the kept restart.
    restart_logliks : tuple of float
        Log-likelihood of every restart (standardized units; NaN for a failed restart).
    feature_mean, feature_scale : ndarray
        Centering and scaling hmmlearn saw: it fits ``(x - feature_mean) / feature_scale``.
    permutation : ndarray
        ``permutation[k]`` is hmmlearn's label of quantlab's state k.
    """

    start: int
    stop: int
    refit_bar: Any
    n_obs: int
    startprob: np.ndarray
    transmat: np.ndarray
    means: np.ndarray
    covars: np.ndarray
    loglik: float
    converged: bool
    n_iter: int
    seed: int
    restart_logliks: tuple[float, ...]
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    permutation: np.ndarray
    full_covars: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    chol: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    logdet: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))


class _Stream:
    """Everything :meth:`HMMRegime.update` carries between bars."""

    def __init__(self, n_states: int, kind: str | None) -> None:
        self.kind = kind                      # "frame" or "series"; None until the first bar
        self.filter_state = np.zeros(n_states + 1)
        self.feature_state = np.full(1, np.nan)  # previous close
        self.bars: list[Any] = []             # raw bars (callable features only)
        self.index: list[Any] = []
        self.rows: list[np.ndarray] = []      # feature rows (walk-forward only)
        self.position = 0                     # bars seen since reset
        self.label: Any = None                # index label of the current bar (if known)
        self.n_valid = 0                      # of which with finite features
        self.next_refit: int | None = None
        self.fit: HMMFit | None = None
        self.startprob: np.ndarray | None = None
        self.n_fits = 0


class HMMRegime:
    """Gaussian hidden-Markov regimes with causal (filtered) probabilities.

    Parameters
    ----------
    n_states : int, default 2
        Number of hidden states K, >= 2.
    features : tuple of str or callable, default ("returns",)
        What the HMM observes at each bar of an OHLCV DataFrame:

        * names among ``"returns"`` (log return of ``close``), ``"abs_returns"`` and
          ``"range"`` (``log(high / low)``), see :mod:`quantlab.regime.features`;
        * or a callable ``data -> DataFrame`` (one row per bar, same index, NaN in its
          warm-up). **It must be causal**: row t may use ``data`` up to row t only, or every
          probability inherits its look-ahead. :meth:`update` calls it on all bars seen since
          :meth:`reset` and keeps the last row (cost O(t) per bar).

        A pandas Series passed instead of a DataFrame is used as the one feature itself (e.g. a
        Series of returns); then ``features`` must be left at ``("returns",)`` and
        :meth:`update` takes scalars.
    covariance : {"diag", "full", "spherical", "tied"}, default "diag"
        hmmlearn's ``covariance_type``.
    n_init : int, default 10
        EM restarts per fit; the restart with the best log-likelihood is kept.
    n_iter : int, default 100
        Maximum EM iterations per restart (hmmlearn's ``n_iter``).
    tol : float, default 1e-4
        EM stops when the log-likelihood (of the standardized features) gains less than this.
    seed : int, optional
        Seeds every restart of every fit through ``np.random.SeedSequence(seed)``: the same
        seed gives bit-identical parameters and probabilities. None draws fresh entropy once
        (kept in ``seed_``).
    refit_every : int, optional
        Walk-forward mode: :meth:`filter` refits every ``refit_every`` bars on data strictly
        before the refit bar. None (default): :meth:`filter` uses the parameters of
        :meth:`fit`.
    window : int, optional
        Walk-forward training window in bars (rolling); None = expanding (all bars before the
        refit bar). Needs ``refit_every``.
    min_train : int, optional
        Walk-forward: the first fit happens at the first bar preceded by ``min_train`` valid
        observations; earlier bars are NaN. Default ``window`` when given, else
        ``max(250, 20 * number of free parameters)`` (250 for 2 states and one feature: about
        a year of daily bars). Needs ``refit_every``.

    Attributes
    ----------
    startprob_, transmat_, means_, covars_ : ndarray
        Parameters of the last fit, states ordered by the variance of the first feature
        (state 0 = calmest); ``covars_`` in hmmlearn's documented shape for ``covariance``:
        (K,) spherical, (K, F) diag, (K, F, F) full, (F, F) tied.
    converged_ : bool
        Whether EM met ``tol`` for the kept restart (a :class:`ConvergenceWarning` is emitted
        when not).
    loglik_ : float
        Log-likelihood of the training features (their own units).
    n_obs_ : int
        Training observations.
    fits_ : list of HMMFit
        Every fit, in order: one after :meth:`fit`, one per refit after a walk-forward
        :meth:`filter` (the fits of the last call).
    refit_bars_ : Index
        Index labels of the walk-forward refit bars (last :meth:`filter` call).
    seed_ : int
        The entropy every restart seed is derived from.

    Notes
    -----
    The fit. Features are standardized with the training window's mean and standard
    deviation (one common scale for ``"spherical"``), so hmmlearn's ``min_covar`` (1e-3) and
    covariance prior act the same whatever the units; the parameters are mapped back to the
    features' units. Restart i of fit j gets ``random_state =
    SeedSequence(seed, spawn_key=(j,)).generate_state(n_init)[i]`` (hmmlearn draws the start
    and transition matrices from it and seeds its k-means means with it). NaN feature rows are
    dropped before fitting. The restarts run with one OpenMP/BLAS thread (threadpoolctl, scoped
    to the fit): scikit-learn's k-means threads made small fits 10-30x slower on a busy machine.
    ``converged_`` is hmmlearn's tolerance test on the last two log-likelihoods of
    ``monitor_.history``; hmmlearn's own ``monitor_.converged`` also reports True when EM merely
    ran out of iterations, which would hide every non-convergence.

    The filter is the scaled forward recursion (Rabiner 1989, eq. 19-20 with per-step
    normalization) started from ``startprob_`` at the first valid row: the probability at t
    equals hmmlearn's ``predict_proba(X[:t + 1])[-1]`` (the last smoothed probability is the
    filtered one) and the sum of the log normalizers equals hmmlearn's ``score(X)``. Rows with
    a NaN feature get NaN probabilities and are skipped (the state carries over unchanged).

    Walk-forward. Refit bars are ``t0, t0 + refit_every, ...`` where ``t0`` is the first bar
    preceded by ``min_train`` valid observations. The fit at bar r uses the valid rows of
    bars ``[r - window, r)`` (``[0, r)`` expanding) and filters bars ``[r, r + refit_every)``.
    The first segment starts from the stationary distribution of the first fit's transition
    matrix; at later refits the filtered probability vector of bar r - 1 is **carried over**
    (labels mean the same in both fits: ordered by volatility) and propagated with the new
    transition matrix. Probabilities at t therefore use data up to t only.

    Examples
    --------
    >>> from quantlab.data.synthetic import regime_switching
    >>> sim = regime_switching(1500, seed=3)
    >>> model = HMMRegime(2, n_init=2, seed=7).fit(sim.data.iloc[:1000])
    >>> bool(model.covars_[0, 0] < model.covars_[1, 0])
    True
    >>> model.filter(sim.data).shape
    (1500, 2)
    """

    def __init__(
        self,
        n_states: int = 2,
        *,
        features: tuple[str, ...] | Callable[[pd.DataFrame], pd.DataFrame] = ("returns",),
        covariance: str = "diag",
        n_init: int = 10,
        n_iter: int = 100,
        tol: float = 1e-4,
        seed: int | None = None,
        refit_every: int | None = None,
        window: int | None = None,
        min_train: int | None = None,
    ) -> None:
        c = _CALLER
        self.n_states = check_int("n_states", n_states, caller=c, minimum=2)
        self.features = check_features(features, caller=c)
        self.covariance = check_choice("covariance", covariance, COVARIANCES, caller=c)
        self.n_init = check_int("n_init", n_init, caller=c, minimum=1)
        self.n_iter = check_int("n_iter", n_iter, caller=c, minimum=1)
        self.tol = check_float("tol", tol, caller=c, minimum=0.0, exclusive_minimum=True)
        if seed is not None:
            seed = check_int("seed", seed, caller=c, minimum=0)
        self.seed = seed
        self.seed_ = int(np.random.SeedSequence(seed).entropy)  # type: ignore[arg-type]
        if refit_every is not None:
            refit_every = check_int("refit_every", refit_every, caller=c, minimum=1)
        self.refit_every = refit_every
        for name, value in (("window", window), ("min_train", min_train)):
            if value is not None and refit_every is None:
                raise InvalidParameterError(message(
                    name, c, "None unless `refit_every` is set", value,
                    "Set refit_every=... for walk-forward refits, or leave it out."))
        if window is not None:
            window = check_int("window", window, caller=c, minimum=2)
        self.window = window
        if min_train is not None:
            min_train = check_int("min_train", min_train, caller=c, minimum=2)
            if window is not None and min_train > window:
                raise InvalidParameterError(message(
                    "min_train", c, f"<= window ({window})", min_train,
                    "A rolling window can never hold more observations than its length."))
        self.min_train = min_train
        self._kind: str | None = None
        self._fit: HMMFit | None = None
        self._callable_warmup = 0
        self.fits_: list[HMMFit] = []
        self.refit_bars_: pd.Index = pd.Index([])
        self._stream = _Stream(self.n_states, None)

    # ------------------------------------------------------------------ public properties
    def __repr__(self) -> str:
        feats = getattr(self.features, "__name__", "callable") if callable(self.features) else self.features
        return (f"HMMRegime(n_states={self.n_states}, features={feats!r}, "
                f"covariance={self.covariance!r}, n_init={self.n_init}, n_iter={self.n_iter}, "
                f"tol={self.tol!r}, seed={self.seed}, refit_every={self.refit_every}, "
                f"window={self.window}, min_train={self.min_train})")

    @property
    def n_features(self) -> int | None:
        """Number of features (None for a callable before the first fit)."""
        if callable(self.features):
            return None if self._fit is None else int(self._fit.means.shape[1])
        return len(self.features)

    @property
    def min_train_(self) -> int:
        """The ``min_train`` in effect (its default resolved; a callable counts 1 feature
        until its output has been seen)."""
        return self._min_train_for(self.n_features or 1)

    def _min_train_for(self, n_feat: int) -> int:
        if self.min_train is not None:
            return self.min_train
        if self.window is not None:
            return self.window
        return max(250, 20 * self._n_free(n_feat))

    @property
    def warmup(self) -> int:
        """Bars before the first meaningful probability (with no missing bars after the start).

        The features' warm-up (1 for ``"returns"``/``"abs_returns"``, 0 for ``"range"`` and for
        a returns Series; for a callable, its first non-NaN row seen by the last fit), plus
        ``min_train_`` in walk-forward mode.
        """
        if callable(self.features):
            base = self._callable_warmup
        elif self._kind == "series":
            base = 0
        else:
            base = max(FEATURE_WARMUP[name] for name in self.features)
        return base + (self.min_train_ if self.refit_every is not None else 0)

    def _n_free(self, n_feat: int) -> int:
        k = self.n_states
        cov = {"spherical": k, "diag": k * n_feat, "full": k * n_feat * (n_feat + 1) // 2,
               "tied": n_feat * (n_feat + 1) // 2}[self.covariance]
        return (k - 1) + k * (k - 1) + k * n_feat + cov

    def _fitted(self, method: str) -> HMMFit:
        if self._fit is None:
            raise NotFittedError(
                f"HMMRegime.{method}() needs a fitted model: call fit(train) first, or set "
                "refit_every=... for walk-forward refits inside filter().")
        return self._fit

    def _attr(self, name: str) -> Any:
        return getattr(self._fitted(name), name)

    startprob_ = property(lambda self: self._attr("startprob"), doc="Start probabilities (K,).")
    transmat_ = property(lambda self: self._attr("transmat"), doc="Transition matrix (K, K).")
    means_ = property(lambda self: self._attr("means"), doc="State means (K, F).")
    covars_ = property(lambda self: self._attr("covars"), doc="Covariances, hmmlearn's shape.")
    converged_ = property(lambda self: self._attr("converged"), doc="EM met ``tol``.")
    loglik_ = property(lambda self: self._attr("loglik"), doc="Training log-likelihood.")
    n_obs_ = property(lambda self: self._attr("n_obs"), doc="Training observations.")

    @property
    def states_(self) -> pd.DataFrame:
        """The states of the last fit, in their order (state 0 = the calmest).

        One row per state: ``mean`` and ``volatility`` of the first feature (per bar, in its
        units; the order is by this volatility), ``stationary`` (long-run share of time,
        from ``transmat_``) and ``expected_duration`` (bars, ``1 / (1 - transmat_[k, k])``).
        """
        fit = self._fitted("states_")
        cov = np.asarray(fit.covars, dtype=np.float64)
        k = np.asarray(fit.transmat).shape[0]
        if cov.ndim == 1:  # spherical (K,)
            var = cov
        elif cov.ndim == 2 and cov.shape[0] == k and self.covariance == "diag":  # (K, F)
            var = cov[:, 0]
        elif cov.ndim == 3:  # full (K, F, F)
            var = cov[:, 0, 0]
        else:  # tied (F, F): one covariance for every state
            var = np.full(k, cov[0, 0])
        stay = np.diag(np.asarray(fit.transmat, dtype=np.float64))
        with np.errstate(divide="ignore"):
            duration = np.where(stay < 1.0, 1.0 / (1.0 - stay), np.inf)
        frame = pd.DataFrame({"mean": np.asarray(fit.means, dtype=np.float64)[:, 0],
                              "volatility": np.sqrt(var),
                              "stationary": stationary_distribution(fit.transmat),
                              "expected_duration": duration})
        frame.index.name = "state"
        return frame

    # ------------------------------------------------------------------ features
    def _features(self, data: Any, method: str, *, state: np.ndarray | None = None) -> np.ndarray:
        """(T, F) features of ``data``; sets/checks the input kind."""
        caller = f"{_CALLER}.{method}"
        if isinstance(data, pd.Series):
            if callable(self.features) or self.features != ("returns",):
                raise DataError(message(
                    "data", caller, "an OHLCV DataFrame when `features` is set", "a Series",
                    "A Series is used as the single feature itself; pass the OHLCV frame to "
                    "compute named or callable features."))
            kind = "series"
            if not pd.api.types.is_numeric_dtype(data.dtype):
                raise DataError(message("data", caller, "numeric", f"a Series of dtype {data.dtype}",
                                        "Convert with pd.to_numeric()."))
            x = data.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1).copy()
        elif isinstance(data, pd.DataFrame):
            kind = "frame"
            if callable(self.features):
                x = callable_features(self.features, data, caller=caller)
            else:
                x = compute_features(data, self.features, np.full(1, np.nan) if state is None else state,
                                     caller=caller)
        else:
            raise DataError(message("data", caller, "an OHLCV DataFrame or a Series of returns",
                                    type(data).__name__))
        if self._kind is not None and kind != self._kind:
            was = "an OHLCV DataFrame" if self._kind == "frame" else "a Series"
            raise DataError(message("data", caller, f"{was} like the data the model was fitted on",
                                    "a Series" if kind == "series" else "a DataFrame"))
        if self._fit is not None and x.shape[1] != self._fit.means.shape[1]:
            raise DataError(message("features", caller, f"{self._fit.means.shape[1]} columns like at fit",
                                    x.shape[1]))
        self._kind = kind
        x[~np.isfinite(x).all(axis=1)] = np.nan
        return x

    # ------------------------------------------------------------------ fitting
    def _restart_seeds(self, fit_number: int) -> np.ndarray:
        ss = np.random.SeedSequence(self.seed_, spawn_key=(fit_number,))
        return ss.generate_state(self.n_init)

    def _fit_rows(self, rows: np.ndarray, fit_number: int, *, start: int, stop: int,
                  refit_bar: Any, method: str) -> HMMFit:
        """Fit hmmlearn on valid feature rows (n, F) and order states by volatility."""
        from hmmlearn.hmm import GaussianHMM
        from threadpoolctl import threadpool_limits  # installed with scikit-learn (hmmlearn)

        caller = f"{_CALLER}.{method}"
        n_obs, n_feat = rows.shape
        need = self._n_free(n_feat) + 1
        if n_obs < need:
            raise DataError(message(
                "data", caller,
                f"at least {need} valid observations for n_states={self.n_states} with "
                f"{n_feat} feature(s) ({need - 1} free parameters)", f"{n_obs} observations",
                "Pass a longer sample or use fewer states."))
        center = rows.mean(axis=0)
        spread = rows.std(axis=0)
        if self.covariance == "spherical":
            spread = np.full(n_feat, math.sqrt(float(np.mean(spread**2))))
        if not (spread > 0).all():
            raise DataError(message("data", caller, "features that vary over the training window",
                                    f"a constant feature (column {int(np.argmin(spread))})"))
        z = (rows - center) / spread
        best = None
        best_score = -np.inf
        best_seed = 0
        scores = []
        # hmmlearn seeds its means with scikit-learn's k-means, whose OpenMP threads make a
        # small fit 10-30x slower on a busy machine (spinning workers); one thread, scoped to
        # this block, is also what makes a fit reproducible across machines.
        with threadpool_limits(limits=1):
            for seed in self._restart_seeds(fit_number):
                model = GaussianHMM(n_components=self.n_states, covariance_type=self.covariance,
                                    n_iter=self.n_iter, tol=self.tol, random_state=int(seed))
                try:
                    model.fit(z)
                    score = float(model.score(z))
                except (ValueError, np.linalg.LinAlgError):
                    score = np.nan
                scores.append(score)
                if math.isfinite(score) and score > best_score:
                    best, best_score, best_seed = model, score, int(seed)
        if best is None:
            raise DataError(message("data", caller, "data hmmlearn can fit", "every restart failed",
                                    "Check the features for outliers or use covariance='diag'."))
        hist = list(best.monitor_.history)
        converged = len(hist) >= 2 and hist[-1] - hist[-2] < self.tol
        if self.covariance == "spherical":
            # hmmlearn 0.3's covars_ getter mis-shapes fitted spherical covariances (its M-step
            # stores them tiled as (K, F)): read the per-state variance from that array.
            sph = np.asarray(best._covars_, dtype=np.float64).reshape(self.n_states, -1)[:, 0]
            fitted_full = sph[:, None, None] * np.eye(n_feat)[None, :, :]
        else:
            fitted_full = np.asarray(best.covars_, dtype=np.float64)
        full = fitted_full * np.outer(spread, spread)
        means = np.asarray(best.means_) * spread + center
        order = np.lexsort((means[:, 0], full[:, 0, 0]))
        full = full[order]
        means = means[order]
        startprob = np.asarray(best.startprob_)[order]
        transmat = np.asarray(best.transmat_)[np.ix_(order, order)]
        if self.covariance == "diag":
            covars = np.diagonal(full, axis1=1, axis2=2).copy()
        elif self.covariance == "spherical":
            covars = full[:, 0, 0].copy()
        elif self.covariance == "tied":
            covars = full[0].copy()
        else:
            covars = full.copy()
        chol = np.linalg.cholesky(full)
        logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        loglik = best_score - n_obs * float(np.log(spread).sum())
        return HMMFit(start=start, stop=stop, refit_bar=refit_bar, n_obs=n_obs,
                      startprob=startprob, transmat=np.ascontiguousarray(transmat),
                      means=np.ascontiguousarray(means), covars=covars, loglik=loglik,
                      converged=converged, n_iter=int(best.monitor_.iter), seed=best_seed,
                      restart_logliks=tuple(scores), feature_mean=center, feature_scale=spread,
                      permutation=order, full_covars=full, chol=np.ascontiguousarray(chol),
                      logdet=logdet)

    def fit(self, data: pd.DataFrame | pd.Series) -> HMMRegime:
        """Fit the HMM on ``data`` (``n_init`` restarts, best log-likelihood kept).

        Parameters
        ----------
        data : DataFrame or Series
            OHLCV bars (features computed from them) or a Series used as the feature.

        Returns
        -------
        HMMRegime
            ``self``, fitted; states ordered by volatility. Resets the stream.

        Raises
        ------
        DataError
            Too few valid observations for ``n_states`` (more than the free parameters are
            needed), a constant feature, missing columns.

        Warns
        -----
        ConvergenceWarning
            When EM hit ``n_iter`` before gaining less than ``tol``.
        """
        self._kind, self._fit = None, None  # a new fit may take another kind of data
        x = self._features(data, "fit")
        valid = ~np.isnan(x[:, 0])
        if callable(self.features):
            self._callable_warmup = int(np.argmax(valid)) if valid.any() else 0
        fit = self._fit_rows(x[valid], 0, start=0, stop=len(x), refit_bar=None, method="fit")
        if not fit.converged:
            warnings.warn(
                f"HMMRegime.fit(): EM did not converge in n_iter={self.n_iter} iterations "
                f"(tol={self.tol:g}) for the best of {self.n_init} restarts; raise n_iter or "
                "tol.", ConvergenceWarning, stacklevel=2)
        self._fit = fit
        self.fits_ = [fit]
        self.reset()
        return self

    def to_hmmlearn(self) -> Any:
        """Return an :class:`hmmlearn.hmm.GaussianHMM` holding the fitted parameters.

        In the features' own units and quantlab's state order, e.g. to compare ``score``.
        """
        from hmmlearn.hmm import GaussianHMM

        fit = self._fitted("to_hmmlearn")
        model = GaussianHMM(n_components=self.n_states, covariance_type=self.covariance,
                            init_params="")
        model.n_features = fit.means.shape[1]
        model.startprob_ = fit.startprob
        model.transmat_ = fit.transmat
        model.means_ = fit.means
        model.covars_ = fit.covars
        return model

    # ------------------------------------------------------------------ filtering
    def _columns(self) -> list[str]:
        return [f"state_{k}" for k in range(self.n_states)]

    def _filtered(self, data: Any, method: str, *,
                  keep_stream: bool = False) -> tuple[np.ndarray, _Stream, float]:
        """Probabilities (T, K), the stream state after the last bar, log-likelihood.

        ``keep_stream`` also stores what :meth:`update` needs to continue after ``data``
        (the raw bars for a callable, the training rows in walk-forward mode).
        """
        stream = _Stream(self.n_states, None)
        if self.refit_every is None:
            fit = self._fitted(method)
            x = self._features(data, method, state=stream.feature_state)
            ll = gaussian_loglik_nb(x, fit.means, fit.chol, fit.logdet)
            out = np.empty_like(ll)
            total = forward_filter_nb(ll, fit.transmat, fit.startprob, stream.filter_state, out)
            stream.kind, stream.fit, stream.startprob = self._kind, fit, fit.startprob
            stream.position = len(x)
            if keep_stream and callable(self.features):
                self._store_bars(stream, data)
            return out, stream, total
        return self._walk_forward(data, method, stream, keep_stream)

    def _walk_forward(self, data: Any, method: str, stream: _Stream,
                      keep_stream: bool) -> tuple[np.ndarray, _Stream, float]:
        x = self._features(data, method, state=stream.feature_state)
        n = len(x)
        valid = ~np.isnan(x[:, 0])
        counts = np.concatenate([[0], np.cumsum(valid)])  # counts[t] = valid rows before t
        out = np.full((n, self.n_states), np.nan)
        fits: list[HMMFit] = []
        ready = np.flatnonzero(counts[:n] >= self._min_train_for(x.shape[1]))
        total = 0.0
        if len(ready):
            t0 = int(ready[0])
            bars = list(range(t0, n, self.refit_every))  # type: ignore[arg-type]
            index = data.index
            for j, r in enumerate(bars):
                lo = 0 if self.window is None else max(0, r - self.window)
                fit = self._fit_rows(x[lo:r][valid[lo:r]], j, start=lo, stop=r,
                                     refit_bar=index[r], method=method)
                fits.append(fit)
                hi = min(n, r + self.refit_every)  # type: ignore[operator]
                start = stationary_distribution(fit.transmat)  # used until a first valid row
                ll = gaussian_loglik_nb(x[r:hi], fit.means, fit.chol, fit.logdet)
                total += forward_filter_nb(ll, fit.transmat, start, stream.filter_state, out[r:hi])
                stream.startprob = start
                stream.fit = fit
            stream.next_refit = bars[-1] + self.refit_every  # type: ignore[operator]
            stream.n_fits = len(bars)
            if callable(self.features):
                self._callable_warmup = int(np.argmax(valid)) if valid.any() else 0
        if keep_stream:
            self._store_rows(stream, x, data)
        stream.kind = self._kind
        stream.position = n
        stream.n_valid = int(counts[-1])
        self.fits_ = fits
        self.refit_bars_ = data.index[[f.stop for f in fits]]
        if fits:
            self._fit = fits[-1]
        bad = [f for f in fits if not f.converged]
        if bad:
            warnings.warn(
                f"HMMRegime: EM did not converge in n_iter={self.n_iter} iterations at "
                f"{len(bad)} of {len(fits)} refits (first at {bad[0].refit_bar}); raise n_iter "
                "or tol.", ConvergenceWarning, stacklevel=3)
        return out, stream, total

    def _store_rows(self, stream: _Stream, x: np.ndarray, data: Any) -> None:
        keep = len(x) if self.window is None else min(len(x), self.window)
        stream.rows = list(x[len(x) - keep:])
        if callable(self.features):
            self._store_bars(stream, data)

    @staticmethod
    def _store_bars(stream: _Stream, data: pd.DataFrame) -> None:
        stream.bars = [row for _, row in data.iterrows()]
        stream.index = list(data.index)

    def filter(self, data: pd.DataFrame | pd.Series) -> pd.DataFrame:
        """Return the filtered probabilities P(s_t = k | x_1..x_t) of every bar.

        Parameters
        ----------
        data : DataFrame or Series
            Like the data of :meth:`fit` (walk-forward mode: the whole history to refit on).

        Returns
        -------
        DataFrame
            Columns ``state_0 .. state_{K-1}`` (state 0 = calmest), the index of ``data``;
            rows sum to 1, NaN in the warm-up and at bars with a NaN feature.

        Raises
        ------
        NotFittedError
            Without ``refit_every``, when :meth:`fit` was not called.
        """
        out, _, _ = self._filtered(data, "filter")
        return pd.DataFrame(out, index=data.index, columns=self._columns())

    def predict(self, data: pd.DataFrame | pd.Series) -> pd.Series:
        """Return the filtered most likely state of every bar (argmax of :meth:`filter`).

        Returns
        -------
        Series
            float64 labels 0..K-1 (state 0 = calmest) named ``state``, NaN where the
            probabilities are NaN (so the warm-up stays visible and numeric).
        """
        probs, _, _ = self._filtered(data, "predict")
        ok = ~np.isnan(probs[:, 0])
        labels = np.full(len(probs), np.nan)
        labels[ok] = np.argmax(probs[ok], axis=1)
        return pd.Series(labels, index=data.index, name="state")

    def score(self, data: pd.DataFrame | pd.Series) -> float:
        """Return the log-likelihood of the features of ``data`` under the fitted model.

        Equals hmmlearn's ``score`` on the valid feature rows (the filter's log normalizers
        summed); in walk-forward mode, the sum over the filtered segments.
        """
        _, _, total = self._filtered(data, "score")
        return float(total)

    # ------------------------------------------------------------------ streaming
    def reset(self, data: pd.DataFrame | pd.Series | None = None) -> HMMRegime:
        """Restart the stream; with ``data``, continue it after those bars.

        ``reset(history)`` then ``update(bar)`` gives the probabilities ``filter`` would give
        on ``history`` followed by ``bar`` (walk-forward refits included).
        """
        if data is None:
            self._stream = _Stream(self.n_states, self._kind)
            if self._fit is not None and self.refit_every is None:
                self._stream.fit = self._fit
                self._stream.startprob = self._fit.startprob
            return self
        _, self._stream, _ = self._filtered(data, "reset", keep_stream=True)
        return self

    def update(self, bar: Mapping[str, Any] | pd.Series | float) -> np.ndarray:
        """Feed one new bar; return its filtered probability vector.

        Parameters
        ----------
        bar : Series, dict or float
            One OHLCV bar (fields ``close``, and ``high``/``low`` for ``"range"``; for a
            callable feature, every field it reads; a Series' ``name`` is its index label), or
            one scalar when the model was fitted on a Series.

        Returns
        -------
        ndarray
            float64[K], P(s_t = k | x_1..x_t); NaN in the warm-up. Equals the row of
            :meth:`filter` on all bars fed since :meth:`reset`, bit for bit.
        """
        st = self._stream
        if self.refit_every is None:
            self._fitted("update")
        x = self._bar_features(bar, st)
        st.position += 1
        if self.refit_every is None:
            fit = st.fit if st.fit is not None else self._fitted("update")
            return self._step(x, fit, fit.startprob, st)
        return self._wf_step(x, st)

    def _step(self, x: np.ndarray, fit: HMMFit, startprob: np.ndarray, st: _Stream) -> np.ndarray:
        ll = gaussian_loglik_nb(x, fit.means, fit.chol, fit.logdet)
        out = np.empty((1, self.n_states))
        forward_filter_nb(ll, fit.transmat, startprob, st.filter_state, out)
        return out[0]

    def _wf_step(self, x: np.ndarray, st: _Stream) -> np.ndarray:
        t = st.position - 1  # this bar's position since reset
        ready = st.next_refit is None and st.n_valid >= self._min_train_for(x.shape[1])
        if ready or (st.next_refit is not None and t == st.next_refit):
            lo = 0 if self.window is None else max(0, t - self.window)
            rows = np.array(st.rows[len(st.rows) - (t - lo):]) if t > lo else np.empty((0, x.shape[1]))
            rows = rows[~np.isnan(rows[:, 0])]
            fit = self._fit_rows(rows, st.n_fits, start=lo, stop=t, refit_bar=st.label,
                                 method="update")
            if not fit.converged:
                warnings.warn(f"HMMRegime.update(): EM did not converge at the refit of bar {t}.",
                              ConvergenceWarning, stacklevel=3)
            st.startprob = stationary_distribution(fit.transmat)  # used until a first valid row
            st.fit = fit
            st.n_fits += 1
            st.next_refit = t + self.refit_every  # type: ignore[operator]
            self._fit = fit
        st.rows.append(x[0])
        if self.window is not None and len(st.rows) > self.window:
            del st.rows[0]
        st.n_valid += int(not np.isnan(x[0, 0]))
        if st.fit is None or st.startprob is None:
            return np.full(self.n_states, np.nan)
        return self._step(x, st.fit, st.startprob, st)

    def _bar_features(self, bar: Any, st: _Stream) -> np.ndarray:
        caller = f"{_CALLER}.update"
        st.label = bar.name if isinstance(bar, pd.Series) else None
        if isinstance(bar, Real) and not isinstance(bar, bool):
            if (st.kind or self._kind) == "frame":
                raise DataError(message("bar", caller, "an OHLCV bar (Series or dict)", bar,
                                        "The model was fitted on a DataFrame of bars."))
            if callable(self.features) or self.features != ("returns",):
                raise DataError(message("bar", caller, "an OHLCV bar when `features` is set", bar))
            st.kind = self._kind = "series"
            x = np.array([[float(bar)]])
        elif isinstance(bar, Mapping | pd.Series):
            if (st.kind or self._kind) == "series":
                raise DataError(message("bar", caller, "a number (the model was fitted on a Series)",
                                        type(bar).__name__))
            st.kind = self._kind = "frame"
            if callable(self.features):
                st.bars.append(pd.Series(bar))
                st.index.append(getattr(bar, "name", None) if isinstance(bar, pd.Series) else len(st.index))
                frame = pd.DataFrame(st.bars)
                frame.index = pd.Index(st.index)
                x = callable_features(self.features, frame, caller=caller)[-1:].copy()
            else:
                cols = feature_columns(self.features)
                missing = [c for c in cols if c not in bar]
                if missing:
                    raise DataError(message("bar", caller, f"a bar with fields {list(cols)}",
                                            f"missing {missing}"))
                try:
                    vals = {c: np.array([float(bar[c])]) for c in cols}
                except (TypeError, ValueError) as exc:
                    raise DataError(message("bar", caller, "a bar with numeric fields",
                                            {c: bar[c] for c in cols})) from exc
                nan = np.full(1, np.nan)
                x = features_from_arrays(vals.get("close", nan), vals.get("high", nan),
                                         vals.get("low", nan), self.features, st.feature_state)
        else:
            raise DataError(message("bar", caller, "an OHLCV bar (Series or dict) or a number",
                                    type(bar).__name__))
        x[~np.isfinite(x).all(axis=1)] = np.nan
        return x

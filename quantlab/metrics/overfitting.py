"""Overfitting statistics: probabilistic and deflated Sharpe ratios, CSCV and the PBO.

Units. Bailey & López de Prado write their formulas with the **per-period** (not annualized)
Sharpe ratio and the **raw** kurtosis γ4 (3 for a normal law). Here every Sharpe-valued
argument (``sharpe``, ``benchmark_sharpe``, ``trials_sharpe``, ``trials_sharpe_variance``)
is **annualized when** ``periods_per_year`` **is given** and per period when it is None;
it is converted to per period internally (SR_p = SR_a / sqrt(periods_per_year), variance
divided by periods_per_year). Higher moments are passed as ``skewness`` and
``excess_kurtosis`` (γ4 − 3, what :func:`quantlab.metrics.kurtosis` returns).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from quantlab._validate import as_float_array, check_choice, check_float, check_int, message
from quantlab.errors import DataError, InvalidParameterError
from quantlab.metrics import _kernels as K
from quantlab.metrics._common import check_ppy, prepare

__all__ = [
    "probabilistic_sharpe_ratio",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "cscv_logits",
    "probability_of_backtest_overfitting",
]

EULER_GAMMA = 0.5772156649015329


def _sharpe_inputs(returns: Any, sharpe: Any, n_obs: Any, skewness: Any, excess_kurtosis: Any,
                   ppy: float | None, caller: str) -> tuple[Any, np.ndarray, np.ndarray,
                                                        np.ndarray, np.ndarray]:
    """Return (prepared or None, SR per period, n, g3, g4 raw) as arrays."""
    scalars = {"sharpe": sharpe, "n_obs": n_obs, "skewness": skewness,
               "excess_kurtosis": excess_kurtosis}
    if returns is not None:
        given = [k for k, v in scalars.items() if v is not None]
        if given:
            raise InvalidParameterError(message(
                given[0], caller, "None when `returns` is given", scalars[given[0]],
                "Pass either returns, or the scalars sharpe, n_obs (skewness, excess_kurtosis)."))
        p = prepare(returns, "returns", caller)
        mom = K.moments_nb(p.values, 4)
        n = mom[K.COUNT]
        with np.errstate(divide="ignore", invalid="ignore"):
            std = np.where(n >= 2, np.sqrt(mom[K.M2] / np.maximum(n - 1.0, 1.0)), np.nan)
            sr = np.where(std > 0, mom[K.MEAN] / np.where(std > 0, std, 1.0), np.nan)
            m2 = mom[K.M2] / n
            g3 = np.where(m2 > 0, (mom[K.M3] / n) / np.where(m2 > 0, m2, 1.0) ** 1.5, np.nan)
            g4 = np.where(m2 > 0, (mom[K.M4] / n) / np.where(m2 > 0, m2, 1.0) ** 2, np.nan)
        return p, sr, n, g3, g4
    if sharpe is None or n_obs is None:
        missing = "sharpe" if sharpe is None else "n_obs"
        raise InvalidParameterError(message(
            missing, caller, "given when `returns` is None", None,
            "Pass returns, or the scalars sharpe and n_obs (and skewness, excess_kurtosis)."))
    sr_1 = check_float("sharpe", sharpe, caller=caller)
    n_1 = check_int("n_obs", n_obs, caller=caller, minimum=2)
    g3_1 = 0.0 if skewness is None else check_float("skewness", skewness, caller=caller)
    ek_1 = 0.0 if excess_kurtosis is None else check_float("excess_kurtosis", excess_kurtosis,
                                                           caller=caller, minimum=-2.0)
    if ppy is not None:
        sr_1 = sr_1 / math.sqrt(ppy)
    return (None, np.array([sr_1]), np.array([float(n_1)]), np.array([g3_1]),
            np.array([ek_1 + 3.0]))


def _psr(sr: np.ndarray, sr_star: float | np.ndarray, n: np.ndarray, g3: np.ndarray,
         g4: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        var = 1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr**2
        ok = (var > 0) & (n >= 2) & np.isfinite(sr)
        z = (sr - sr_star) * np.sqrt(np.maximum(n - 1.0, 0.0)) / np.sqrt(np.where(ok, var, 1.0))
    return np.where(ok, ndtr(z), np.nan)


def probabilistic_sharpe_ratio(
    returns: Any = None,
    *,
    benchmark_sharpe: float = 0.0,
    periods_per_year: float | None = None,
    sharpe: float | None = None,
    n_obs: int | None = None,
    skewness: float | None = None,
    excess_kurtosis: float | None = None,
) -> Any:
    """Compute the probability that the true Sharpe ratio exceeds ``benchmark_sharpe``.

    Parameters
    ----------
    returns : array-like, Series or DataFrame, optional
        Per-period returns (NaN skipped). Either this, or the scalars ``sharpe`` and
        ``n_obs`` (with optional ``skewness``, ``excess_kurtosis``).
    benchmark_sharpe : float, default 0.0
        SR*, annualized if ``periods_per_year`` is given, else per period.
    periods_per_year : float, optional
        When given, ``sharpe`` and ``benchmark_sharpe`` are annualized values.
    sharpe : float, optional
        Observed Sharpe ratio (scalar mode), same units as ``benchmark_sharpe``.
    n_obs : int, optional
        Number of return observations T (scalar mode), ≥ 2.
    skewness : float, optional
        γ3 of the returns (scalar mode); default 0.
    excess_kurtosis : float, optional
        γ4 − 3 of the returns (scalar mode); default 0 (normal).

    Returns
    -------
    float, ndarray or Series
        PSR in [0, 1] (NaN for zero variance or a non-positive variance term).

    Raises
    ------
    InvalidParameterError
        Both or neither of ``returns`` and the scalars, or a bad scalar.
    DataError
        Empty or non-numeric ``returns``.

    Notes
    -----
    Bailey & López de Prado (2012), "The Sharpe ratio efficient frontier", J. of Risk 15(2),
    eq. (13), with per-period SR, T observations, skewness γ3 and raw kurtosis γ4:

    .. math:: \\mathrm{PSR}(SR^*) = \\Phi\\left(\\frac{(SR - SR^*)\\sqrt{T-1}}
              {\\sqrt{1 - \\gamma_3 SR + \\frac{\\gamma_4 - 1}{4} SR^2}}\\right)

    From returns: SR = mean / std(ddof=1), γ3, γ4 the moment (biased) estimators.

    Examples
    --------
    >>> round(probabilistic_sharpe_ratio(sharpe=1.0, n_obs=1000, periods_per_year=250), 4)
    0.9771
    """
    caller = "probabilistic_sharpe_ratio"
    ppy = None if periods_per_year is None else check_ppy(periods_per_year, caller)
    bench = check_float("benchmark_sharpe", benchmark_sharpe, caller=caller)
    if ppy is not None:
        bench /= math.sqrt(ppy)
    p, sr, n, g3, g4 = _sharpe_inputs(returns, sharpe, n_obs, skewness, excess_kurtosis, ppy,
                                      caller)
    out = _psr(sr, bench, n, g3, g4)
    return float(out[0]) if p is None else p.wrap(out, "probabilistic_sharpe_ratio")


def expected_max_sharpe(n_trials: int, trials_sharpe_variance: float) -> float:
    """Compute the expected maximum Sharpe ratio of ``n_trials`` unskilled trials.

    Parameters
    ----------
    n_trials : int
        Number of independent trials N, ≥ 2.
    trials_sharpe_variance : float
        Variance V of the trials' Sharpe ratios (in the units you want the answer in).

    Returns
    -------
    float
        ``SR* = sqrt(V) · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))``, γ the
        Euler–Mascheroni constant.

    Raises
    ------
    InvalidParameterError
        ``n_trials`` < 2 or ``trials_sharpe_variance`` < 0.

    Notes
    -----
    Bailey & López de Prado (2014), "The deflated Sharpe ratio", J. of Portfolio Management
    40(5), eq. (2) (the false strategy theorem).

    Examples
    --------
    >>> round(expected_max_sharpe(100, 0.5), 4)
    1.7894
    """
    n = check_int("n_trials", n_trials, caller="expected_max_sharpe", minimum=2)
    v = check_float("trials_sharpe_variance", trials_sharpe_variance, caller="expected_max_sharpe",
                    minimum=0.0)
    return float(math.sqrt(v) * ((1.0 - EULER_GAMMA) * ndtri(1.0 - 1.0 / n)
                                 + EULER_GAMMA * ndtri(1.0 - 1.0 / (n * math.e))))


def deflated_sharpe_ratio(
    returns: Any = None,
    *,
    trials_sharpe: Any = None,
    n_trials: int | None = None,
    trials_sharpe_variance: float | None = None,
    periods_per_year: float | None = None,
    sharpe: float | None = None,
    n_obs: int | None = None,
    skewness: float | None = None,
    excess_kurtosis: float | None = None,
) -> Any:
    """Compute the deflated Sharpe ratio: PSR against the best Sharpe luck alone would give.

    Parameters
    ----------
    returns : array-like, Series or DataFrame, optional
        Returns of the selected strategy (or one column per candidate). Either this or the
        scalars ``sharpe``, ``n_obs`` (``skewness``, ``excess_kurtosis``).
    trials_sharpe : array-like, optional
        Sharpe ratios of all trials tried (N = their count, V = their variance, ddof=1).
        Either this or both ``n_trials`` and ``trials_sharpe_variance``.
    n_trials : int, optional
        Number of independent trials N (≥ 2).
    trials_sharpe_variance : float, optional
        Variance V of the trials' Sharpe ratios.
    periods_per_year : float, optional
        When given, ``sharpe``, ``trials_sharpe`` and ``trials_sharpe_variance`` are
        annualized (V in annualized SR units squared); else per period.
    sharpe, n_obs, skewness, excess_kurtosis
        Scalar mode, as in :func:`probabilistic_sharpe_ratio`.

    Returns
    -------
    float, ndarray or Series
        ``DSR = PSR(SR*)`` with ``SR* = expected_max_sharpe(N, V)``.

    Raises
    ------
    InvalidParameterError
        Inconsistent or missing inputs.

    Notes
    -----
    Bailey & López de Prado (2014), "The deflated Sharpe ratio: correcting for selection bias,
    backtest overfitting and non-normality", J. of Portfolio Management 40(5).
    Their example: N = 100, V = 0.5, SR = 2.5 (annualized), T = 1250, 250 periods per year,
    γ3 = −3, γ4 = 10 → SR* = 1.7894 (annualized), DSR = 0.9004.

    Examples
    --------
    >>> round(deflated_sharpe_ratio(sharpe=2.5, n_obs=1250, periods_per_year=250,
    ...       n_trials=100, trials_sharpe_variance=0.5, skewness=-3, excess_kurtosis=7), 4)
    0.9004
    """
    caller = "deflated_sharpe_ratio"
    ppy = None if periods_per_year is None else check_ppy(periods_per_year, caller)
    if trials_sharpe is not None:
        if n_trials is not None or trials_sharpe_variance is not None:
            raise InvalidParameterError(message(
                "n_trials" if n_trials is not None else "trials_sharpe_variance", caller,
                "None when `trials_sharpe` is given", n_trials if n_trials is not None
                else trials_sharpe_variance, "Pass either trials_sharpe, or n_trials and "
                "trials_sharpe_variance."))
        srs = as_float_array(trials_sharpe, "trials_sharpe", caller=caller, ndim=(1,))
        srs = srs[~np.isnan(srs)]
        if srs.size < 2:
            raise DataError(message("trials_sharpe", caller, "at least 2 non-NaN Sharpe ratios",
                                    f"{srs.size}"))
        n_trials = int(srs.size)
        trials_sharpe_variance = float(np.var(srs, ddof=1))
    elif n_trials is None or trials_sharpe_variance is None:
        raise InvalidParameterError(message(
            "trials_sharpe", caller, "given, or both n_trials and trials_sharpe_variance", None,
            "DSR needs the number of trials and the variance of their Sharpe ratios."))
    sr_star = expected_max_sharpe(n_trials, trials_sharpe_variance)
    if ppy is not None:
        sr_star /= math.sqrt(ppy)
    p, sr, n, g3, g4 = _sharpe_inputs(returns, sharpe, n_obs, skewness, excess_kurtosis, ppy,
                                      caller)
    out = _psr(sr, sr_star, n, g3, g4)
    return float(out[0]) if p is None else p.wrap(out, "deflated_sharpe_ratio")


# ----------------------------------------------------------------------------------- CSCV
def _check_matrix(performance_matrix: Any, n_splits: Any, caller: str) -> tuple[np.ndarray, int]:
    x = as_float_array(performance_matrix, "performance_matrix", caller=caller, ndim=(2,))
    t, n = x.shape
    if n < 2:
        raise DataError(message("performance_matrix", caller, "a T×N matrix with N ≥ 2 strategies",
                                f"shape {x.shape}"))
    if np.isnan(x).any():
        raise DataError(message("performance_matrix", caller, "free of NaN", "NaN values",
                                "Drop the warm-up rows (.dropna()) or fill flat periods with 0."))
    s = check_int("n_splits", n_splits, caller=caller, minimum=2, maximum=max(2, t))
    if s % 2:
        raise InvalidParameterError(message("n_splits", caller, "an even integer", s,
                                            f"Try {s + 1}."))
    if t < 2 * s:
        raise DataError(message("performance_matrix", caller,
                                f"at least 2·n_splits = {2 * s} rows", f"{t} rows",
                                "Use fewer splits."))
    return x, s


def cscv_logits(performance_matrix: Any, *, n_splits: int = 16, metric: str = "sharpe") -> np.ndarray:
    """Compute the CSCV logits λ_c of the best in-sample strategy's out-of-sample rank.

    Parameters
    ----------
    performance_matrix : 2-D array or DataFrame
        T × N per-period performance (returns) of N strategies (columns); no NaN.
    n_splits : int, default 16
        Number S of contiguous row blocks (even); C(S, S/2) combinations are evaluated
        (12870 for 16).
    metric : {"sharpe", "mean"}, default "sharpe"
        In- and out-of-sample performance of each strategy: mean / std (ddof=1), or mean.

    Returns
    -------
    ndarray
        One logit ``λ_c = ln(ω_c / (1 − ω_c))`` per combination, ``ω_c = rank / (N + 1)``,
        rank 1 = worst out of sample (average rank for ties).

    Raises
    ------
    DataError
        Not 2-D, fewer than 2 columns, NaN, or fewer than 2·S rows.
    InvalidParameterError
        ``n_splits`` not an even integer ≥ 2, or unknown ``metric``.

    Notes
    -----
    Bailey, Borwein, López de Prado & Zhu (2017), "The probability of backtest overfitting",
    J. of Computational Finance 20(4), §2.2 (combinatorially symmetric cross-validation).
    Rows are split with ``np.array_split`` (block sizes differ by at most one).

    Examples
    --------
    >>> import numpy as np
    >>> cscv_logits(np.random.default_rng(0).normal(size=(64, 4)), n_splits=4).shape
    (6,)
    """
    caller = "cscv_logits"
    metric = check_choice("metric", metric, ("sharpe", "mean"), caller=caller)
    x, s = _check_matrix(performance_matrix, n_splits, caller)
    t, n = x.shape
    center = x.mean(axis=0)
    y = x - center
    blocks = np.array_split(np.arange(t), s)
    s1 = np.stack([y[b].sum(axis=0) for b in blocks])           # (S, N)
    s2 = np.stack([(y[b] ** 2).sum(axis=0) for b in blocks])    # (S, N)
    counts = np.array([len(b) for b in blocks], dtype=np.float64)
    combos = np.array(list(itertools.combinations(range(s), s // 2)), dtype=np.int64)
    chunk = max(1, int(2e6 // n))
    logits = np.empty(len(combos))
    for start in range(0, len(combos), chunk):
        sel = combos[start:start + chunk]
        mask = np.zeros((len(sel), s))
        mask[np.arange(len(sel))[:, None], sel] = 1.0
        perf_is = _perf(mask, s1, s2, counts, center, metric)
        perf_oos = _perf(1.0 - mask, s1, s2, counts, center, metric)
        best = np.argmax(perf_is, axis=1)
        best_oos = perf_oos[np.arange(len(sel)), best][:, None]
        below = (perf_oos < best_oos).sum(axis=1)
        ties = (perf_oos == best_oos).sum(axis=1)  # includes the strategy itself
        rank = below + (ties + 1) / 2.0
        omega = rank / (n + 1.0)
        logits[start:start + len(sel)] = np.log(omega / (1.0 - omega))
    return logits


def _perf(mask: np.ndarray, s1: np.ndarray, s2: np.ndarray, counts: np.ndarray,
          center: np.ndarray, metric: str) -> np.ndarray:
    c = (mask @ counts)[:, None]
    sum1 = mask @ s1
    mean = sum1 / c + center
    if metric == "mean":
        return mean
    var = (mask @ s2 - sum1**2 / c) / (c - 1.0)
    std = np.sqrt(np.maximum(var, 0.0))
    out = np.full(mean.shape, -np.inf)
    np.divide(mean, std, out=out, where=std > 0)
    return out


def probability_of_backtest_overfitting(performance_matrix: Any, *, n_splits: int = 16,
                                        metric: str = "sharpe") -> float:
    """Compute the probability of backtest overfitting (PBO) by CSCV.

    Parameters
    ----------
    performance_matrix : 2-D array or DataFrame
        T × N per-period returns of the N strategies tried (e.g. every combination of a
        parameter sweep); no NaN.
    n_splits : int, default 16
        Even number S of row blocks.
    metric : {"sharpe", "mean"}, default "sharpe"
        Performance statistic used to pick and rank strategies.

    Returns
    -------
    float
        Share of the C(S, S/2) train/test combinations in which the in-sample best strategy
        ranks in the bottom half out of sample (``λ_c ≤ 0``): ≈ 0.5 for pure noise, ≈ 0 for
        a genuine edge.

    Raises
    ------
    DataError
        See :func:`cscv_logits`.
    InvalidParameterError
        See :func:`cscv_logits`.

    Notes
    -----
    Bailey, Borwein, López de Prado & Zhu (2017), eq. (5): PBO = ∫_{−∞}^0 f(λ) dλ.
    For IID strategies the in-sample winner's out-of-sample rank is uniform on 1..N, so
    E[PBO] = 1/2 exactly when N is even.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.random.default_rng(1).normal(size=(400, 10)) * 0.01
    >>> r[:, 0] += 0.01
    >>> probability_of_backtest_overfitting(r, n_splits=8)
    0.0
    """
    logits = cscv_logits(performance_matrix, n_splits=n_splits, metric=metric)
    return float(np.mean(logits <= 0.0))

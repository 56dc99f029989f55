"""Technical indicators: numba kernels under a thin pandas API (also ``quantlab.ind``).

Names and positional order follow TA-Lib in lower case (``sma(close, window)``,
``atr(high, low, close, window)``); streaming twins live in :mod:`quantlab.indicators.stream`.
Input/output types, window lists and the NaN policy are described in
:mod:`quantlab.indicators._api`.
"""

from __future__ import annotations

from quantlab.indicators import stream
from quantlab.indicators.momentum import (
    apo,
    cci,
    cmo,
    macd,
    mfi,
    mom,
    ppo,
    roc,
    rocp,
    rocr,
    rocr100,
    rsi,
    stoch,
    stochf,
    stochrsi,
    trix,
    ultosc,
    willr,
)
from quantlab.indicators.overlap import dema, ema, hma, kama, sma, tema, trima, vwma, wma
from quantlab.indicators.statistics import (
    beta,
    correl,
    hurst,
    linearreg,
    linearreg_angle,
    linearreg_intercept,
    linearreg_r2,
    linearreg_slope,
    tsf,
)
from quantlab.indicators.trend import (
    adx,
    adxr,
    aroon,
    aroonosc,
    dx,
    ichimoku,
    minus_di,
    plus_di,
    sar,
    supertrend,
)
from quantlab.indicators.volatility import (
    atr,
    bbands,
    donchian,
    keltner,
    natr,
    stddev,
    trange,
    var,
    zscore,
)
from quantlab.indicators.volume import ad, adosc, obv, vwap

__all__ = [
    "stream",
    # moving averages
    "sma", "ema", "wma", "dema", "tema", "trima", "kama", "hma", "vwma",
    # momentum
    "rsi", "stochrsi", "stoch", "stochf", "willr", "cci", "roc", "rocp", "rocr", "rocr100", "mom",
    "cmo", "mfi", "ultosc", "trix", "ppo", "apo", "macd",
    # volatility
    "trange", "atr", "natr", "bbands", "keltner", "donchian", "stddev", "var", "zscore",
    # trend
    "sar", "supertrend", "adx", "adxr", "dx", "plus_di", "minus_di", "aroon", "aroonosc", "ichimoku",
    # volume
    "obv", "ad", "adosc", "vwap",
    # statistics
    "linearreg", "linearreg_slope", "linearreg_intercept", "linearreg_angle", "linearreg_r2", "tsf",
    "correl", "beta", "hurst",
]

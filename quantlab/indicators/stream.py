"""Streaming twins of the batch indicators, for the live runner.

Each class takes the batch function's parameters; ``update(*inputs) -> value`` feeds one bar
(inputs in the batch function's positional order) and returns the latest value (a dict for
multi-output indicators); ``ready`` says whether it is defined yet. The same kernel runs in
batch and streaming mode, so after ``k`` updates ``value`` equals the batch output at bar ``k - 1``.

>>> from quantlab.indicators.stream import SMA
>>> s = SMA(2)
>>> [s.update(v) for v in (1.0, 2.0, 3.0)]
[nan, 1.5, 2.5]
"""

from __future__ import annotations

from quantlab.indicators.momentum import (
    APO,
    CCI,
    CMO,
    MACD,
    MFI,
    MOM,
    PPO,
    ROC,
    ROCP,
    ROCR,
    ROCR100,
    RSI,
    STOCH,
    STOCHF,
    STOCHRSI,
    TRIX,
    ULTOSC,
    WILLR,
)
from quantlab.indicators.overlap import DEMA, EMA, HMA, KAMA, SMA, TEMA, TRIMA, VWMA, WMA
from quantlab.indicators.statistics import (
    BETA,
    CORREL,
    HURST,
    LINEARREG,
    LINEARREG_ANGLE,
    LINEARREG_INTERCEPT,
    LINEARREG_R2,
    LINEARREG_SLOPE,
    TSF,
)
from quantlab.indicators.trend import (
    ADX,
    ADXR,
    AROON,
    AROONOSC,
    DX,
    ICHIMOKU,
    MINUS_DI,
    PLUS_DI,
    SAR,
    SUPERTREND,
)
from quantlab.indicators.volatility import (
    ATR,
    BBANDS,
    DONCHIAN,
    KELTNER,
    NATR,
    STDDEV,
    TRANGE,
    VAR,
    ZSCORE,
)
from quantlab.indicators.volume import AD, ADOSC, OBV, VWAP

__all__ = [
    "SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "HMA", "VWMA",
    "RSI", "STOCHRSI", "STOCH", "STOCHF", "WILLR", "CCI", "ROC", "ROCP", "ROCR", "ROCR100", "MOM",
    "CMO", "MFI", "ULTOSC", "TRIX", "PPO", "APO", "MACD",
    "TRANGE", "ATR", "NATR", "BBANDS", "KELTNER", "DONCHIAN", "STDDEV", "VAR", "ZSCORE",
    "SAR", "SUPERTREND", "ADX", "ADXR", "DX", "PLUS_DI", "MINUS_DI", "AROON", "AROONOSC", "ICHIMOKU",
    "OBV", "AD", "ADOSC", "VWAP",
    "LINEARREG", "LINEARREG_SLOPE", "LINEARREG_INTERCEPT", "LINEARREG_ANGLE", "LINEARREG_R2", "TSF",
    "CORREL", "BETA", "HURST",
]

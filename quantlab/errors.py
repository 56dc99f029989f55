"""The quantlab exception tree and warning categories.

Every exception subclasses both :class:`QuantlabError` and the builtin it refines, so
``except ValueError`` in user code keeps working. Messages are built in
:mod:`quantlab._validate` with one template: what, constraint, value, remedy.
"""

from __future__ import annotations

__all__ = [
    "QuantlabError",
    "InvalidParameterError",
    "DataError",
    "LookAheadError",
    "NotFittedError",
    "OrderRejectedError",
    "ExchangeError",
    "ReportError",
    "QuantlabWarning",
    "DataQualityWarning",
    "ConvergenceWarning",
    "WarmupWarning",
    "SizingWarning",
]


class QuantlabError(Exception):
    """Base class of every error quantlab raises on purpose."""


class InvalidParameterError(QuantlabError, ValueError):
    """A parameter is outside its domain (wrong type, range or choice)."""


class DataError(QuantlabError, ValueError):
    """Input data is malformed: columns, dtypes, index, NaN, unknown dataset."""


class LookAheadError(QuantlabError, RuntimeError):
    """A value at bar t depends on data after t."""


class NotFittedError(QuantlabError, AttributeError):
    """A model method was called before ``fit``."""


class OrderRejectedError(QuantlabError, RuntimeError):
    """An order was refused locally or by the exchange."""


class ExchangeError(QuantlabError, ConnectionError):
    """The exchange could not be reached or answered with an error."""


class ReportError(QuantlabError, RuntimeError):
    """A notebook report failed to execute or render."""


class QuantlabWarning(UserWarning):
    """Base class of quantlab's warnings (the test suite turns them into errors)."""


class DataQualityWarning(QuantlabWarning):
    """Data has a defect that results may depend on (gaps, stale runs, outliers)."""


class ConvergenceWarning(QuantlabWarning):
    """An estimator stopped before converging."""


class WarmupWarning(QuantlabWarning):
    """A recursive indicator's output still depends on where the data starts."""


class SizingWarning(QuantlabWarning):
    """A sizer sized some decisions at 0 (undefined inputs, no edge, too few observations)."""

"""Errors of the live runner (all :class:`~quantlab.errors.QuantlabError`)."""

from __future__ import annotations

from quantlab.errors import QuantlabError

__all__ = ["LiveError", "PromotionError", "StartupError", "JournalError",
           "ReconciliationError"]


class LiveError(QuantlabError, RuntimeError):
    """The live runner must stop (the message says why and what to do)."""


class PromotionError(QuantlabError, ValueError):
    """A strategy failed the promotion gate (causality, trailing-window parity)."""


class StartupError(LiveError):
    """The runner refused to start (unknown strategy, bad parameter, fingerprint, journal)."""


class JournalError(LiveError):
    """The journal is missing, corrupt, copied without its WAL, or of another mode."""


class ReconciliationError(LiveError):
    """Local state and the broker's disagree; trading waits (fail closed)."""

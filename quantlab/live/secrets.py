"""Secrets of the live runner: read from the environment only, redacted everywhere.

RELIABILITY.md behaviour 15: API keys, secrets and tokens come from environment variables,
are held in :class:`Secret` (whose ``repr``/``str`` never show the value), never reach strategy
or notebook code, and :class:`RedactingFilter` removes their values from every log record.

Only the code that signs a request calls :meth:`Secret.reveal`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from quantlab.errors import InvalidParameterError

__all__ = ["Secret", "secret_from_env", "RedactingFilter", "redact", "REDACTED", "env_names",
           "install_redaction"]

REDACTED = "***"


class Secret:
    """A secret value whose ``repr``, ``str`` and format show ``***``.

    Parameters
    ----------
    value : str - the secret (non-empty).
    name : str, default "" - where it came from (an environment variable name), shown in
        ``repr`` so an operator knows which secret is meant.

    Examples
    --------
    >>> s = Secret("hunter2", name="EXCHANGE_SECRET")
    >>> s, str(s), f"{s}"
    (Secret(EXCHANGE_SECRET=***), '***', '***')
    >>> s.reveal()
    'hunter2'
    """

    __slots__ = ("_value", "name")

    def __init__(self, value: str, *, name: str = "") -> None:
        if not isinstance(value, str) or not value:
            raise InvalidParameterError(f"Secret({name or 'value'}): expected a non-empty "
                                        "string; set the environment variable.")
        self._value = value
        self.name = name

    def reveal(self) -> str:
        """The value, for the one place that signs a request."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name}={REDACTED})" if self.name else f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        import hmac

        if isinstance(other, Secret):
            other = other._value
        return isinstance(other, str) and hmac.compare_digest(self._value.encode(),
                                                              other.encode())

    def __hash__(self) -> int:
        # consistent with __eq__ between Secrets (equal values, whatever their names, hash
        # alike); a constant, so the hash reveals nothing about the value. (A Secret also
        # equals its plain string, whose hash differs: do not mix both in one set.)
        return 0

    def __reduce__(self) -> Any:  # never pickled into a report, a cache or a Dask task
        raise TypeError("a Secret cannot be pickled; read it from the environment where "
                        "it is needed.")


def secret_from_env(name: str, *, required: bool = True,
                    environ: dict[str, str] | None = None) -> Secret | None:
    """Read the secret named by environment variable ``name``.

    Raises
    ------
    InvalidParameterError
        ``required`` and the variable is unset or empty (the message names the variable,
        never a value).
    """
    env = os.environ if environ is None else environ
    value = env.get(name, "")
    if not value:
        if required:
            raise InvalidParameterError(f"secret: the environment variable {name} is not set; "
                                        f"export {name}=... before starting (secrets are read "
                                        "from the environment only, never from config files).")
        return None
    return Secret(value, name=name)


def redact(text: str, secrets: Iterable[Secret | str]) -> str:
    """``text`` with every secret value replaced by ``***``.

    The longest values are replaced first: a secret that contains another (``"abc123"`` and
    ``"abc"``) is never left half shown (``"***123"``).

    Examples
    --------
    >>> redact("key=abc123", ["abc", "abc123"])
    'key=***'
    """
    values = {s.reveal() if isinstance(s, Secret) else str(s) for s in secrets}
    for value in sorted(values, key=len, reverse=True):
        if value:
            text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that replaces secret values in every record by ``***``.

    Attach it to the handlers (a filter on a logger misses records of its children)::

        handler.addFilter(RedactingFilter([key, secret]))

    The message is formatted with its arguments first, then redacted; the arguments are
    dropped so no handler formats the raw values again.
    """

    def __init__(self, secrets: Iterable[Secret | str] = ()) -> None:
        super().__init__()
        self.secrets: list[Secret | str] = list(secrets)

    def add(self, secret: Secret | str) -> None:
        self.secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a broken format: keep the raw text, still redacted
            text = f"{record.msg} {record.args}"
        record.msg = redact(text, self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info),
                                     self.secrets)
            record.exc_info = None
        return True


def env_names(settings: Any) -> list[str]:
    """The environment variable names a config section refers to (every ``*_env`` value).

    A string under a key ending in ``_env`` is a name; so is every string value of a mapping
    under such a key (``headers_env: {"Authorization": "HOOK_AUTH"}``).

    Examples
    --------
    >>> env_names({"kind": "ccxt", "api_key_env": "K", "alerts": {"sinks": [{"token_env": "T"}]}})
    ['K', 'T']
    >>> env_names({"headers_env": {"Authorization": "A", "X-Key": "B"}, "url_env": "U"})
    ['A', 'B', 'U']
    """
    out: list[str] = []
    if isinstance(settings, dict):
        for key, value in settings.items():
            if str(key).endswith("_env") and isinstance(value, str):
                out.append(value)
            elif str(key).endswith("_env") and isinstance(value, dict):
                out.extend(v for v in value.values() if isinstance(v, str))
            else:
                out.extend(env_names(value))
    elif isinstance(settings, list | tuple):
        for item in settings:
            out.extend(env_names(item))
    return out


def install_redaction(names: Iterable[str], *, loggers: Iterable[logging.Logger] = (),
                      environ: dict[str, str] | None = None) -> RedactingFilter:
    """Redact the values of environment variables ``names`` in every log line.

    The filter goes on every handler of the root logger and of ``loggers`` (a filter on a
    handler sees the records of all loggers that reach it, ccxt's and urllib3's included).
    Unset variables are skipped. Returns the filter (``add`` more secrets to it).
    """
    env = os.environ if environ is None else environ
    flt = RedactingFilter([env[n] for n in names if env.get(n)])
    for logger in (logging.getLogger(), *loggers):
        for handler in logger.handlers:
            if flt not in handler.filters:
                handler.addFilter(flt)
    return flt

"""Specs: a class named with literal keyword arguments, as text (``"SmaCross(fast=10)"``).

What a notebook parameter or a command-line option can spell for a parameter that holds an
object (a strategy, a regime model). Read with :mod:`ast`, never ``eval``.
"""

from __future__ import annotations

import ast
from typing import Any

from quantlab._validate import message
from quantlab.errors import InvalidParameterError

__all__ = ["parse_spec"]


def parse_spec(text: str, *, name: str = "spec", caller: str = "parse_spec") -> tuple[str, dict[str, Any]]:
    """Split ``"Name(key=literal, ...)"`` into the name and its keyword arguments.

    Parameters
    ----------
    text : str
        A class name, optionally called with keyword arguments whose values are Python
        literals (numbers, strings, booleans, None, tuples, lists, dicts).
    name : str, default "spec"
        The parameter the spec was given for (named in error messages).
    caller : str, default "parse_spec"
        Function (or notebook) named in error messages.

    Returns
    -------
    (str, dict)
        The class name and the keyword arguments.

    Raises
    ------
    InvalidParameterError
        Anything else: positional arguments, expressions, attribute access.

    Examples
    --------
    >>> parse_spec("HMMRegime(n_states=3, seed=7)")
    ('HMMRegime', {'n_states': 3, 'seed': 7})
    >>> parse_spec("SmaCross")
    ('SmaCross', {})
    """
    fix = "Write Name(key=value, ...) with literal values, e.g. \"SmaCross(fast=10, slow=30)\"."
    try:
        node = ast.parse(text.strip(), mode="eval").body if isinstance(text, str) else None
    except SyntaxError:
        node = None
    if isinstance(node, ast.Name):
        return node.id, {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
            and all(k.arg is not None for k in node.keywords)):
        raise InvalidParameterError(message(name, caller, "a spec Name(key=literal, ...)", text, fix))
    kwargs: dict[str, Any] = {}
    for keyword in node.keywords:
        try:
            kwargs[str(keyword.arg)] = ast.literal_eval(keyword.value)
        except ValueError:
            raise InvalidParameterError(message(
                name, caller, "a spec whose values are literals", text,
                f"`{keyword.arg}` is not a literal. {fix}")) from None
    return node.func.id, kwargs

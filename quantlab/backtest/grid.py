"""The parameter grid of ``sweep()``: expansion, validation and constraints.

* :func:`expand` - a ``{parameter: [values]}`` grid into columns of combinations (numpy,
  the product in declaration order), each value validated once as the strategy validates
  it, the class's ``check_grid`` and the ``constraint`` applied as vectorized masks.
* Constraint strings (``"fast < slow"``) mean what ``DataFrame.eval`` of the combinations
  means, evaluated over the numpy columns by a checked subset (see the comment above
  :data:`_MATH_FUNCTIONS`): attribute access, subscripts and other calls are refused
  before anything runs. A callable constraint gets the DataFrame of combinations (or one
  combination's dict, if it was written for that).
"""

from __future__ import annotations

import ast
import io
import math
import operator
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from quantlab._validate import did_you_mean, message
from quantlab.errors import InvalidParameterError

__all__ = ["expand", "columns_frame", "records", "constraint_mask", "py_value"]

_CALLER = "sweep"


def py_value(v: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (anything else unchanged)."""
    return v.item() if isinstance(v, np.generic) else v


def expand(strategy_cls: type, grid: Mapping[str, Any], constraint: Any
           ) -> tuple[dict[str, Any], list[Any] | None, dict[str, int]]:
    """The combinations to simulate: their parameter columns (declaration order; arrays
    with ``take``, rows in the grid's product order), the strategy objects when the class
    has its own ``__init__`` (else None: they are built per chunk), and the skip counts."""
    from quantlab.strategy.base import Strategy, _check_param

    if not isinstance(grid, Mapping) or not grid:
        raise InvalidParameterError(message("grid", _CALLER, "a non-empty dict {parameter: "
                                            "[values]}", grid))
    declared = strategy_cls._params  # type: ignore[attr-defined]
    caller = strategy_cls.__name__
    axes: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if name not in declared:
            hint = did_you_mean(name, declared) or f"Parameters: {', '.join(declared)}."
            raise InvalidParameterError(f"`grid` of {_CALLER}() has an unknown parameter "
                                        f"`{name}` of {caller}. {hint}")
        if isinstance(values, str) or not isinstance(values, Iterable):
            values = [values]
        values = list(dict.fromkeys(values))
        if not values:
            raise InvalidParameterError(message(f"grid[{name!r}]", _CALLER,
                                                "a non-empty list of values", values))
        kind, spec = declared[name]
        axes[name] = _check_values(name, values, kind, spec, caller)
    for name, (kind, spec) in declared.items():  # parameters left at their default
        if name not in axes:
            axes[name] = [_check_param(name, spec.default, kind, spec, caller)]
    # the product in the grid's order (then defaults), the first axis varying slowest, as
    # itertools.product; each value was validated once above
    total = math.prod(len(v) for v in axes.values())
    codes: dict[str, np.ndarray] = {}
    inner = total
    for name, values in axes.items():
        inner //= len(values)
        codes[name] = np.tile(np.repeat(np.arange(len(values)), inner),
                              total // (len(values) * inner))
    cols = {name: _column(axes[name], declared[name][0]).take(codes[name])
            for name in declared}  # declaration order, as Strategy.params

    instances: list[Any] | None = None
    init_owner = next(k for k in strategy_cls.__mro__ if "__init__" in k.__dict__)
    if init_owner is not Strategy:  # a subclass's own __init__ runs, once per combination
        ok = np.zeros(total, dtype=bool)
        instances = []
        for r, kw in enumerate(records(cols)):
            try:
                instances.append(strategy_cls(**kw))
            except InvalidParameterError:
                continue
            ok[r] = True
    else:
        ok = _check_mask(strategy_cls, cols, Strategy)
    skipped = {"check": int(total - ok.sum()), "constraint": 0}
    if skipped["check"]:
        cols = _take(cols, ok)
    n = total - skipped["check"]
    if constraint is not None and n:
        keep = constraint_mask(constraint, cols, n)
        skipped["constraint"] = int(n - keep.sum())
        if skipped["constraint"]:
            cols = _take(cols, keep)
            if instances is not None:
                instances = [s for s, k in zip(instances, keep, strict=True) if k]
            n -= skipped["constraint"]
    if not n:
        raise InvalidParameterError(message("grid", _CALLER, "a grid with at least one valid "
                                            "combination", f"{skipped['check']} rejected by "
                                            f"{caller}.check(), {skipped['constraint']} by "
                                            "constraint", "Widen the grid."))
    return cols, instances, skipped


def _check_values(name: str, values: list[Any], kind: Any, spec: Any, caller: str) -> list[Any]:
    """The grid's values of one parameter, each validated as the strategy validates it
    (``_check_param``). Plain ints are checked through their extremes: when the smallest
    and the largest pass the declared bounds, every value does, unchanged."""
    from quantlab.strategy.base import _check_param

    if kind is int and all(type(v) is int for v in values):
        try:
            _check_param(name, min(values), kind, spec, caller)
            _check_param(name, max(values), kind, spec, caller)
        except InvalidParameterError:
            pass  # the loop below names the first value out of bounds
        else:
            return values
    return [_check_param(name, py_value(v), kind, spec, caller) for v in values]


def _column(values: list[Any], kind: Any) -> Any:
    """The distinct values of one parameter as an array with ``take`` and the dtype a
    DataFrame infers for them (int64, float64, bool, str); objects stay objects."""
    if kind in (int, float, bool):
        return np.array(values, dtype={int: np.int64, float: np.float64, bool: np.bool_}[kind])
    if kind is str:
        return pd.Series(values).array
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _take(cols: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    idx = np.flatnonzero(mask)
    return {name: col.take(idx) for name, col in cols.items()}


def columns_frame(cols: dict[str, Any]) -> pd.DataFrame:
    """The combinations as a DataFrame: one row each, one column per parameter (or any
    columns: the statistics table), as ``pd.DataFrame(cols)`` builds it."""
    frame = pd.DataFrame(dict(enumerate(cols.values())), copy=False)
    # the labels' Index, built once per set of names: building a string Index and its hash
    # table costs more than the rest of a small frame (pandas 3 stores labels as pyarrow strings)
    frame.columns = _labels(tuple(cols)).view()  # a view shares the hash table, not the name
    return frame


@lru_cache(maxsize=64)
def _labels(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names))


def records(cols: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``{parameter: value}`` dict per row, with Python scalars."""
    return columns_frame(cols).to_dict("records")


def _check_mask(strategy_cls: Any, cols: dict[str, Any], base: type) -> np.ndarray:
    """True where ``strategy_cls.check()`` accepts a row: through the class's vectorized
    ``check_grid`` when it is declared at or below the class declaring the ``check()`` in
    effect, else one ``check()`` per row (none when ``check`` is the base class's no-op)."""
    mro = strategy_cls.__mro__
    owner = next(k for k in mro if "check" in k.__dict__)
    vectorized = next((k for k in mro if "check_grid" in k.__dict__), None)
    n = len(next(iter(cols.values())))
    if vectorized is not None and issubclass(vectorized, owner):
        result = strategy_cls.check_grid(columns_frame(cols))
        mask = _as_mask(result, n)
        if mask is None:
            raise InvalidParameterError(message(
                "check_grid", strategy_cls.__name__, f"a boolean array with one value per row "
                f"({n})", _describe_result(result)))
        return mask
    if owner is base:
        return np.ones(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    for r, values in enumerate(records(cols)):
        try:
            strategy_cls._from_valid(values)
        except InvalidParameterError:
            continue
        ok[r] = True
    return ok


def constraint_mask(constraint: Any, cols: dict[str, Any], n: int) -> np.ndarray:
    """True where ``constraint`` keeps a row (see sweep's ``constraint``)."""
    if isinstance(constraint, str):
        return _expression_mask(constraint, cols, n)
    try:
        mask = _as_mask(constraint(columns_frame(cols)), n)
    except Exception:  # noqa: BLE001 - written for one combination's dict: called per row
        mask = None
    if mask is not None:
        return mask
    return np.fromiter((bool(constraint(row)) for row in records(cols)), dtype=bool, count=n)


# ---- constraint strings ---------------------------------------------------------------
# A constraint string means what ``DataFrame.eval(constraint)`` of the combinations means
# (pandas' python engine: ``&``/``|`` read as ``and``/``or``, ``not`` as ``~``, each
# operation applied to the columns as Series), but only these constructs are accepted:
# parameter names, literals, comparisons (chained too), + - * / // % **, unary - + ~ not,
# and/or, ``in`` / ``not in`` a list, and pandas' math functions (abs, sqrt, log, ...).
# Attribute access, subscripts and any other call are refused before anything runs.
# Comparisons and and/or/not of numeric columns run on the numpy columns directly;
# arithmetic runs on Series (pandas' own rules: int // 0 is inf, bool / bool raises);
# anything else (strings, lists, ``in``, other names) goes to DataFrame.eval: the checked
# tree, unparsed (``ast.unparse``), never the original text, which pandas' own tokenizer may
# read differently (backticks). Parsed expressions are cached by text.

#: pandas.eval's math functions (``pandas.core.computation.ops.MATHOPS``), numpy's ufuncs.
_MATH_FUNCTIONS = frozenset({
    "sin", "cos", "tan", "exp", "log", "expm1", "log1p", "sqrt", "sinh", "cosh", "tanh",
    "arcsin", "arccos", "arctan", "arccosh", "arcsinh", "arctanh", "abs", "log10", "floor",
    "ceil", "arctan2"})
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
            ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name,
            ast.Constant, ast.List, ast.Tuple, ast.Load, ast.And, ast.Or, ast.UAdd, ast.USub,
            ast.Not, ast.Invert, ast.In, ast.NotIn, *_BINARY, *_COMPARE)
_WHAT = {ast.Attribute: "attribute access (`x.y`)", ast.Subscript: "subscripts (`x[i]`)",
         ast.Lambda: "lambdas", ast.IfExp: "if-else", ast.NamedExpr: "assignments"}
_EXPECTED = "a boolean expression of the parameters ({}) in DataFrame.eval syntax"
_ALLOWED_TEXT = ("parameter names, numbers, strings, comparisons, + - * / // % **, and/or/not "
                 "(& | ~), `in` a list and pandas' math functions (abs, sqrt, ...)")


class _Refused(Exception):
    """A construct constraint strings do not allow (the message says which)."""


class _Delegate(Exception):
    """Outside the numeric subset evaluated here: DataFrame.eval evaluates it."""


def _expression_mask(constraint: str, cols: dict[str, Any], n: int) -> np.ndarray:
    """The mask of a constraint string (see the comment above)."""
    expected = _EXPECTED.format(", ".join(cols))
    try:
        tree = _parse_constraint(constraint)
    except _Refused as exc:
        raise InvalidParameterError(message(
            "constraint", _CALLER, expected, constraint,
            f"{exc} Constraint strings take {_ALLOWED_TEXT}; for anything else pass a "
            "callable (it gets the DataFrame of combinations).")) from None
    except (SyntaxError, tokenize.TokenError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else exc.args[0]
        raise InvalidParameterError(message(
            "constraint", _CALLER, expected, constraint,
            f"It is not a Python expression ({detail}).")) from exc
    try:
        with np.errstate(all="ignore"):
            result = _evaluate(tree.body, cols)
    except _Delegate:  # pandas evaluates the checked tree, not the text it came from
        result = _pandas_eval(ast.unparse(tree), constraint, cols, expected)
    except Exception as exc:  # noqa: BLE001 - numpy/pandas raise many types; re-raised as ours
        raise InvalidParameterError(message(
            "constraint", _CALLER, expected, constraint,
            f"Evaluating it failed: {exc}.")) from exc
    mask = _as_mask(result, n)
    if mask is None:
        raise InvalidParameterError(message("constraint", _CALLER, expected, constraint,
                                            f"It gave {_describe_result(result)}."))
    return mask


def _pandas_eval(checked: str, constraint: str, cols: dict[str, Any], expected: str) -> Any:
    """``DataFrame.eval`` of ``checked`` (the checked tree of ``constraint``, unparsed: pandas
    reads exactly what was checked, whatever its own tokenizer makes of the original text)
    over the combinations' frame."""
    try:  # the parameters only: no variable of this module or its caller leaks in
        return columns_frame(cols).eval(checked, local_dict={}, global_dict={})
    except Exception as exc:  # noqa: BLE001 - pandas raises many types; re-raised as ours
        unknown = re.search(r"name '(\w+)' is not defined", str(exc))
        hint = did_you_mean(unknown.group(1), cols) if unknown else None
        raise InvalidParameterError(message(
            "constraint", _CALLER, expected, constraint,
            f"pandas said: {exc}. " + (hint or "Use a callable to refer to other "
                                       "variables."))) from exc


@lru_cache(maxsize=128)
def _parse_constraint(text: str) -> ast.Expression:
    """The checked syntax tree of a constraint string, read as pandas reads it (``&``/``|``
    are ``and``/``or``; a backtick-quoted name is the name). Raises SyntaxError or
    :class:`_Refused`."""
    text = re.sub(r"`([A-Za-z_]\w*)`", r"\1", text)
    if "`" in text:
        raise _Refused("It uses a backtick other than around a parameter name (`fast`).")
    if "&" in text or "|" in text:
        words = {"&": "and", "|": "or"}
        tokens = [(tokenize.NAME, words[tok.string])
                  if tok.type == tokenize.OP and tok.string in words else (tok.type, tok.string)
                  for tok in tokenize.generate_tokens(io.StringIO(text).readline)]
        text = tokenize.untokenize(tokens)
    tree = ast.parse(text.strip(), mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id in _MATH_FUNCTIONS and not node.keywords
                and not any(isinstance(a, ast.Starred) for a in node.args)):
            arity = getattr(np, node.func.id).nin  # more would be numpy's output arrays
            if len(node.args) != arity:
                raise _Refused(f"It calls `{node.func.id}()` with {len(node.args)} "
                               f"argument(s); it takes {arity}.")
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) or (
                isinstance(node, _ALLOWED) and not isinstance(node, ast.Name)):
            continue
        what = _WHAT.get(type(node), f"`{type(node).__name__}` nodes")
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            what = (f"a call of `{name}()`, not one of pandas' math functions"
                    if isinstance(node.func, ast.Name) and name not in _MATH_FUNCTIONS else
                    f"keyword or starred arguments in `{name}()`"
                    if isinstance(node.func, ast.Name) else "a call of an expression")
        raise _Refused(f"It uses {what}, which constraint strings do not allow.")
    return tree


def _is_bool(x: Any) -> bool:
    return isinstance(x, bool | np.bool_) or (isinstance(x, np.ndarray) and x.dtype == np.bool_)


def _is_number(x: Any) -> bool:
    """A numeric/boolean column (ndarray) or literal (not a string, not complex)."""
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "biuf"
    return isinstance(x, int | float | np.integer | np.floating | np.bool_)


def _evaluate(node: ast.AST, cols: dict[str, Any]) -> Any:
    """Evaluate a checked constraint's node over the numpy columns, as DataFrame.eval would;
    :class:`_Delegate` for what only DataFrame.eval evaluates."""
    if isinstance(node, ast.Name):
        value = cols.get(node.id)
        if isinstance(value, np.ndarray) and _is_number(value):
            return value
        if value is None and node.id in ("inf", "Inf"):
            return np.inf
        raise _Delegate  # strings, objects, the index, unknown names: pandas' resolvers
    if isinstance(node, ast.Constant):
        if _is_number(node.value):
            return node.value
        raise _Delegate
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, cols)
        result = None
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise _Delegate  # in / not in
            right = _evaluate(comparator, cols)
            value = _COMPARE[type(op)](left, right)  # numbers: numpy's comparison is pandas'
            result = value if result is None else _logical(operator.and_, result, value)
            left = right
        return result
    if isinstance(node, ast.BoolOp):
        func = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        values = [_evaluate(v, cols) for v in node.values]
        result = values[0]
        for value in values[1:]:
            result = _logical(func, result, value)
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, cols)
        if isinstance(node.op, ast.Not | ast.Invert) and _is_bool(operand) and isinstance(
                operand, np.ndarray):
            return ~operand
        if isinstance(node.op, ast.USub | ast.UAdd) and not _is_bool(operand):
            return -operand if isinstance(node.op, ast.USub) else +operand
        raise _Delegate  # pandas: -bool is ~bool; ~ of a literal
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, cols), _evaluate(node.right, cols)
        func = _BINARY[type(node.op)]
        if not isinstance(left, np.ndarray) and not isinstance(right, np.ndarray):
            return func(left, right)
        # on Series, as DataFrame.eval: pandas' rules for x // 0, x % 0, bool / bool
        out = func(_series(left), _series(right))
        return out.to_numpy() if isinstance(out, pd.Series) else out
    if isinstance(node, ast.Call):
        return getattr(np, node.func.id)(*(_evaluate(a, cols) for a in node.args))  # type: ignore[attr-defined]
    raise _Delegate  # lists and tuples (for `in`)


def _logical(func: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """``and``/``or`` as DataFrame.eval: elementwise ``&``/``|``, refused between a literal
    and anything but booleans (as pandas refuses it)."""
    if _is_bool(left) and _is_bool(right):
        return func(left, right)
    if not isinstance(left, np.ndarray) or not isinstance(right, np.ndarray):
        raise NotImplementedError("cannot evaluate scalar only bool ops")
    raise _Delegate  # integers: bitwise; mixed: pandas casts to bool


def _series(x: Any) -> Any:
    return pd.Series(x, copy=False) if isinstance(x, np.ndarray) else x


def _as_mask(result: Any, n: int) -> np.ndarray | None:
    """``result`` as a (n,) bool array if it is a boolean Series/ndarray of length n (no NA)."""
    if isinstance(result, pd.Series):
        if not pd.api.types.is_bool_dtype(result.dtype) or result.isna().any():
            return None
        arr = result.to_numpy(dtype=bool)
    elif isinstance(result, np.ndarray) and result.dtype == np.bool_:
        arr = result
    else:
        return None
    return arr if arr.shape == (n,) else None


def _describe_result(result: Any) -> str:
    name = type(result).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    if isinstance(result, pd.Series | np.ndarray):
        return f"{article} {name} of dtype {result.dtype} and shape {result.shape}"
    return f"{article} {name}"

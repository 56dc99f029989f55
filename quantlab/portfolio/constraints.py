"""Portfolio constraints: a frozen description, resolved against asset names at solve time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from quantlab._validate import check_bool, check_float, did_you_mean, message
from quantlab.errors import InvalidParameterError

__all__ = ["Constraints", "Resolved"]

_CALLER = "Constraints"


@dataclass(frozen=True, eq=False)
class Constraints:
    """The weight constraints of a portfolio problem (all optional but the budget).

    Parameters
    ----------
    long_only : bool, default True
        Every weight >= 0 (on top of ``lower``).
    lower, upper : float or {asset: float}, optional
        Per-asset bounds (a float applies to every asset; a mapping names assets, the
        others stay unbounded).
    max_weight : float > 0, optional
        ``|w_i| <= max_weight`` for every asset.
    gross_leverage : float > 0, optional
        ``sum |w_i| <= gross_leverage``.
    net_exposure : float, default 1.0
        ``sum w_i == net_exposure`` (1: fully invested; 0: market neutral).
    groups : {name: (assets, min, max)}, optional
        ``min <= sum of the group's weights <= max`` (None for an open side).
    max_turnover : float > 0, optional
        ``sum |w_i - current_i| <= max_turnover`` against the current weights
        (``current_weights`` of ``optimize``; the held weights in ``rebalance``).
    target_return : float, optional
        Annualized expected return ``mu'w >= target_return``.
    target_volatility : float > 0, optional
        Annualized volatility ``sqrt(w' Sigma w) <= target_volatility``.

    Examples
    --------
    >>> c = Constraints(max_weight=0.4, groups={"tech": (["AAPL", "MSFT"], None, 0.6)})
    >>> c.active()
    ['net_exposure', 'bounds', 'max_weight', 'group tech']
    """

    long_only: bool = True
    lower: float | Mapping[str, float] | None = None
    upper: float | Mapping[str, float] | None = None
    max_weight: float | None = None
    gross_leverage: float | None = None
    net_exposure: float = 1.0
    groups: Mapping[str, tuple[Sequence[str], float | None, float | None]] | None = None
    max_turnover: float | None = None
    target_return: float | None = None
    target_volatility: float | None = None

    def __post_init__(self) -> None:
        check_bool("long_only", self.long_only, caller=_CALLER)
        for name in ("max_weight", "gross_leverage", "max_turnover", "target_volatility"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_float(name, value, caller=_CALLER,
                                                           minimum=0.0, exclusive_minimum=True))
        object.__setattr__(self, "net_exposure",
                           check_float("net_exposure", self.net_exposure, caller=_CALLER))
        if self.target_return is not None:
            object.__setattr__(self, "target_return",
                               check_float("target_return", self.target_return, caller=_CALLER))
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, Mapping):
                object.__setattr__(self, name, {str(k): check_float(f"{name}[{k!r}]", v,
                                                                    caller=_CALLER)
                                                for k, v in value.items()})
            else:
                object.__setattr__(self, name, check_float(name, value, caller=_CALLER))
        if self.groups is not None:
            if not isinstance(self.groups, Mapping):
                raise InvalidParameterError(message("groups", _CALLER,
                                                    "a mapping {name: (assets, min, max)}",
                                                    type(self.groups).__name__))
            clean = {}
            for gname, spec in self.groups.items():
                if not (isinstance(spec, Sequence) and len(spec) == 3
                        and not isinstance(spec[0], str)):
                    raise InvalidParameterError(message(f"groups[{gname!r}]", _CALLER,
                                                        "a tuple (assets, min, max)", spec))
                members, lo, hi = spec
                lo = None if lo is None else check_float(f"groups[{gname!r}] min", lo,
                                                         caller=_CALLER)
                hi = None if hi is None else check_float(f"groups[{gname!r}] max", hi,
                                                         caller=_CALLER)
                clean[str(gname)] = (tuple(str(m) for m in members), lo, hi)
            object.__setattr__(self, "groups", clean)

    def active(self) -> list[str]:
        """Names of the constraint groups in force (the names error messages use)."""
        names = ["net_exposure"]
        if self.long_only or self.lower is not None or self.upper is not None:
            names.append("bounds")
        for name in ("max_weight", "gross_leverage"):
            if getattr(self, name) is not None:
                names.append(name)
        names += [f"group {g}" for g in (self.groups or {})]
        for name in ("max_turnover", "target_return", "target_volatility"):
            if getattr(self, name) is not None:
                names.append(name)
        return names

    def resolve(self, assets: Sequence[str], *, caller: str) -> Resolved:
        """Bounds and group index arrays for these assets (unknown names raise)."""
        n = len(assets)
        pos = {a: i for i, a in enumerate(assets)}
        lb = np.full(n, -np.inf)
        ub = np.full(n, np.inf)
        for name, arr in (("lower", lb), ("upper", ub)):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                for key, v in value.items():
                    arr[_index(pos, key, f"constraints.{name}", caller)] = v
            elif value is not None:
                arr[:] = value
        if self.long_only:
            lb = np.maximum(lb, 0.0)
        groups = []
        for gname, (members, lo, hi) in (self.groups or {}).items():
            idx = np.array([_index(pos, m, f"constraints.groups[{gname!r}]", caller)
                            for m in members], dtype=np.int64)
            groups.append((gname, idx, lo, hi))
        return Resolved(lb=lb, ub=ub, groups=groups)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Constraints) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


@dataclass(frozen=True, eq=False)
class Resolved:
    """Constraints resolved against asset names (internal)."""

    lb: np.ndarray
    ub: np.ndarray
    groups: list[tuple[str, np.ndarray, float | None, float | None]]


def _index(pos: dict[str, int], key: str, name: str, caller: str) -> int:
    if key in pos:
        return pos[key]
    raise InvalidParameterError(message(name, caller, f"names among the assets {list(pos)}",
                                        key, did_you_mean(key, pos)))

"""Cut time into train and test windows, with scikit-learn's ``split(X)`` protocol.

Every splitter yields ``(train_idx, test_idx)`` pairs of sorted int64 position arrays
(row numbers of ``X``, never labels) and has ``get_n_splits(X)`` and ``plot(X)``. ``X`` is
anything with a length (a DataFrame, an array) or the number of rows itself.

* :class:`RollingSplit` - a train window of fixed length rolling forward, the test window
  right after it (walk-forward);
* :class:`AnchoredSplit` - as :class:`RollingSplit` with the train window anchored at row 0
  (expanding);
* :class:`PurgedKFold` - K contiguous test blocks, the train rows around them purged and
  embargoed (López de Prado 2018, ch. 7);
* :class:`CombinatorialPurgedKFold` - CPCV: every choice of k test groups out of N, with
  :meth:`~CombinatorialPurgedKFold.paths` assembling the φ = C(N−1, k−1) out-of-sample paths
  (López de Prado 2018, ch. 12).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from quantlab._validate import check_int, message
from quantlab.errors import InvalidParameterError

__all__ = ["RollingSplit", "AnchoredSplit", "PurgedKFold", "CombinatorialPurgedKFold"]


def _n_rows(X: Any, caller: str) -> int:
    """Number of rows of ``X`` (an int is taken as the number itself)."""
    if isinstance(X, bool):
        raise InvalidParameterError(message("X", caller, "a DataFrame, an array or a number "
                                            "of rows", X))
    if isinstance(X, int | np.integer):
        return check_int("X", int(X), caller=caller, minimum=0)
    try:
        return len(X)
    except TypeError as exc:
        raise InvalidParameterError(message("X", caller, "a DataFrame, an array or a number "
                                            "of rows", type(X).__name__)) from exc


class _Splitter:
    """Shared protocol: ``split``, ``get_n_splits``, ``plot``, ``__repr__``."""

    _fields: tuple[str, ...] = ()

    def _folds(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:  # pragma: no cover
        raise NotImplementedError

    def split(self, X: Any, y: Any = None, groups: Any = None
              ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)``: sorted int64 row positions of ``X``.

        ``y`` and ``groups`` are ignored (scikit-learn's signature).
        """
        yield from self._folds(_n_rows(X, f"{type(self).__name__}.split"))

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of splits for ``X`` (the rolling splitters need ``X``)."""
        if X is None:
            raise InvalidParameterError(message("X", f"{type(self).__name__}.get_n_splits",
                                                "the data (or its number of rows)", X))
        return len(self._folds(_n_rows(X, f"{type(self).__name__}.get_n_splits")))

    def plot(self, X: Any, *, title: str | None = None) -> Any:
        """Plotly figure of the splits of ``X``: one row per split, train and test spans.

        With a DataFrame or Series ``X`` the x axis is its index (time), else row numbers.
        """
        from quantlab.plotting.optimize import splits_figure

        index = getattr(X, "index", None)
        return splits_figure(list(self.split(X)), index=index,
                             title=title or repr(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, k) == getattr(other, k) for k in self._fields)

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + tuple(getattr(self, k) for k in self._fields))


class RollingSplit(_Splitter):
    """Walk-forward splits: a train window of ``train`` rows, then ``test`` rows of test.

    Split i trains on rows ``[i·step, i·step + train)`` and tests on
    ``[i·step + train, i·step + train + test)``, for every i whose test window fits in the
    data (a last partial window is dropped).

    Parameters
    ----------
    train : int
        Rows per train window (≥ 2).
    test : int
        Rows per test window (≥ 2).
    step : int, optional
        Rows between the starts of consecutive splits (default ``test``: the test windows
        tile the data without gap or overlap, so they stitch into one out-of-sample path).

    Examples
    --------
    >>> [(tr.tolist(), te.tolist()) for tr, te in RollingSplit(3, 2).split(8)]
    [([0, 1, 2], [3, 4]), ([2, 3, 4], [5, 6])]
    """

    _fields = ("train", "test", "step")

    def __init__(self, train: int, test: int, step: int | None = None) -> None:
        name = type(self).__name__
        self.train = check_int("train", train, caller=name, minimum=2)
        self.test = check_int("test", test, caller=name, minimum=2)
        self.step = self.test if step is None else check_int("step", step, caller=name,
                                                              minimum=1)

    def _start(self, i: int) -> int:
        return i * self.step

    def _folds(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        out: list[tuple[np.ndarray, np.ndarray]] = []
        i = 0
        while True:
            lo = i * self.step
            cut = lo + self.train
            if cut + self.test > n:
                return out
            out.append((np.arange(self._start(i), cut, dtype=np.int64),
                        np.arange(cut, cut + self.test, dtype=np.int64)))
            i += 1


class AnchoredSplit(RollingSplit):
    """Walk-forward splits with an expanding train window anchored at row 0.

    Split i trains on rows ``[0, train + i·step)`` and tests on
    ``[train + i·step, train + i·step + test)``; the test windows are those of
    :class:`RollingSplit` with the same arguments.

    Parameters
    ----------
    train : int
        Rows of the first train window (≥ 2).
    test : int
        Rows per test window (≥ 2).
    step : int, optional
        Rows the train window grows by between splits (default ``test``).

    Examples
    --------
    >>> [(tr.tolist(), te.tolist()) for tr, te in AnchoredSplit(3, 2).split(8)]
    [([0, 1, 2], [3, 4]), ([0, 1, 2, 3, 4], [5, 6])]
    """

    def _start(self, i: int) -> int:
        return 0


def _groups(n: int, n_groups: int, caller: str) -> list[np.ndarray]:
    if n < n_groups:
        raise InvalidParameterError(message("X", caller, f"at least {n_groups} rows (one per "
                                            "group)", f"{n} rows"))
    return np.array_split(np.arange(n, dtype=np.int64), n_groups)


def _purged_train(n: int, blocks: list[np.ndarray], purge: int, embargo: int) -> np.ndarray:
    """Rows outside every test block widened by ``purge`` rows before and ``embargo`` after."""
    keep = np.ones(n, dtype=bool)
    for b in blocks:
        keep[max(int(b[0]) - purge, 0): int(b[-1]) + 1 + embargo] = False
    return np.flatnonzero(keep).astype(np.int64)


def _contiguous(rows: np.ndarray) -> list[np.ndarray]:
    """``rows`` (sorted) cut into runs of consecutive integers."""
    if rows.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(rows) != 1) + 1
    return np.split(rows, cuts)


class PurgedKFold(_Splitter):
    """K-fold over contiguous blocks, purging and embargoing the train rows around each test block.

    The rows are cut into ``n_splits`` contiguous blocks (``np.array_split``: sizes differ
    by at most one); block j is the test set of split j. Its train set is every other row
    except

    * the ``purge`` rows right before the test block (observations whose label, looking
      ``purge`` rows ahead, overlaps the test block), and
    * the ``embargo`` rows right after it (serial correlation leaking back into train).

    So split j's train set has exactly ``n - len(test) - min(purge, a) - min(embargo,
    n - b - 1)`` rows for a test block ``[a, b]``.

    Parameters
    ----------
    n_splits : int
        Number of blocks K (≥ 2).
    purge : int, default 0
        Rows dropped from train before each test block (the label horizon, in bars).
    embargo : int, default 0
        Rows dropped from train after each test block.

    Notes
    -----
    López de Prado (2018), *Advances in Financial Machine Learning*, §7.4.

    Examples
    --------
    >>> [(tr.tolist(), te.tolist()) for tr, te in PurgedKFold(3, purge=1, embargo=1).split(6)]
    [([3, 4, 5], [0, 1]), ([0, 5], [2, 3]), ([0, 1, 2], [4, 5])]
    """

    _fields = ("n_splits", "purge", "embargo")

    def __init__(self, n_splits: int = 5, purge: int = 0, embargo: int = 0) -> None:
        name = type(self).__name__
        self.n_splits = check_int("n_splits", n_splits, caller=name, minimum=2)
        self.purge = check_int("purge", purge, caller=name, minimum=0)
        self.embargo = check_int("embargo", embargo, caller=name, minimum=0)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """``n_splits`` (``X`` is not needed)."""
        return self.n_splits

    def _folds(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        blocks = _groups(n, self.n_splits, f"{type(self).__name__}.split")
        return [(_purged_train(n, [b], self.purge, self.embargo), b) for b in blocks]


class CombinatorialPurgedKFold(_Splitter):
    """Combinatorial purged cross-validation (CPCV): every choice of k test groups out of N.

    The rows are cut into ``n_groups`` contiguous groups (``np.array_split``). Each of the
    C(N, k) combinations of ``n_test_groups`` groups (``itertools.combinations`` order) is
    one split: its test set is the union of those groups, its train set every other row
    except ``purge`` rows before and ``embargo`` rows after each contiguous test run (as
    :class:`PurgedKFold`; two adjacent test groups form one run, purged and embargoed once).

    Each group is tested in C(N−1, k−1) splits, so the test sets assemble into
    φ = C(N−1, k−1) complete out-of-sample paths (:meth:`paths`).

    Parameters
    ----------
    n_groups : int
        Number of groups N (≥ 2).
    n_test_groups : int
        Test groups per split k (1 ≤ k < N).
    purge, embargo : int, default 0
        Rows dropped from train before / after each test run.

    Notes
    -----
    López de Prado (2018), *Advances in Financial Machine Learning*, §12.4. N = 6, k = 2
    gives 15 splits and 5 paths.

    Examples
    --------
    >>> cv = CombinatorialPurgedKFold(6, 2)
    >>> cv.get_n_splits(), cv.n_paths
    (15, 5)
    """

    _fields = ("n_groups", "n_test_groups", "purge", "embargo")

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, purge: int = 0,
                 embargo: int = 0) -> None:
        name = type(self).__name__
        self.n_groups = check_int("n_groups", n_groups, caller=name, minimum=2)
        self.n_test_groups = check_int("n_test_groups", n_test_groups, caller=name, minimum=1,
                                       maximum=self.n_groups - 1)
        self.purge = check_int("purge", purge, caller=name, minimum=0)
        self.embargo = check_int("embargo", embargo, caller=name, minimum=0)

    @property
    def combinations(self) -> list[tuple[int, ...]]:
        """The test groups of each split, in split order."""
        return list(itertools.combinations(range(self.n_groups), self.n_test_groups))

    @property
    def n_paths(self) -> int:
        """φ = C(N−1, k−1), the number of out-of-sample paths."""
        return math.comb(self.n_groups - 1, self.n_test_groups - 1)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """C(N, k) (``X`` is not needed)."""
        return math.comb(self.n_groups, self.n_test_groups)

    def _folds(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        groups = _groups(n, self.n_groups, f"{type(self).__name__}.split")
        out = []
        for combo in self.combinations:
            test = np.concatenate([groups[g] for g in combo])
            train = _purged_train(n, _contiguous(test), self.purge, self.embargo)
            out.append((train, test))
        return out

    def paths(self) -> np.ndarray:
        """Which split supplies each group of each out-of-sample path: (φ, N) int array.

        ``paths()[p, g]`` is the split whose test set provides group g on path p. Group g
        is tested by C(N−1, k−1) splits; path p takes the p-th of them (split order). So
        every path covers every group exactly once, and each split feeds exactly k of the
        paths, one per test group.

        Examples
        --------
        >>> CombinatorialPurgedKFold(4, 2).paths().tolist()
        [[0, 0, 1, 2], [1, 3, 3, 4], [2, 4, 5, 5]]
        """
        seen = [0] * self.n_groups
        out = np.empty((self.n_paths, self.n_groups), dtype=np.int64)
        for s, combo in enumerate(self.combinations):
            for g in combo:
                out[seen[g], g] = s
                seen[g] += 1
        return out

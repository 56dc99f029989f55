"""Splitters: scikit-learn's TimeSeriesSplit as the oracle for the walk-forward windows; the
purge/embargo/CPCV rules of REFERENCES.md ("Cross-validation in time") as properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import TimeSeriesSplit

from quantlab.errors import InvalidParameterError
from quantlab.optimize.splitters import (
    AnchoredSplit,
    CombinatorialPurgedKFold,
    PurgedKFold,
    RollingSplit,
)


def _pairs(splitter, n):
    return [(tr.tolist(), te.tolist()) for tr, te in splitter.split(n)]


# ------------------------------------------------------------------ rolling / anchored
@given(train=st.integers(2, 40), test=st.integers(2, 20), n_splits=st.integers(2, 8))
@settings(max_examples=60, deadline=None)
def test_rolling_and_anchored_equal_sklearn_timeseriessplit(train, test, n_splits):
    """With n = train + n_splits·test rows, RollingSplit(train, test) equals
    TimeSeriesSplit(n_splits, test_size=test, max_train_size=train) and AnchoredSplit the same
    without max_train_size (scikit-learn aligns its folds on the end of the data)."""
    n = train + n_splits * test
    X = np.zeros((n, 1))
    sk_roll = [(a.tolist(), b.tolist()) for a, b in
               TimeSeriesSplit(n_splits, test_size=test, max_train_size=train).split(X)]
    sk_anch = [(a.tolist(), b.tolist()) for a, b in
               TimeSeriesSplit(n_splits, test_size=test).split(X)]
    assert _pairs(RollingSplit(train, test), X) == sk_roll
    assert _pairs(AnchoredSplit(train, test), X) == sk_anch
    # a partial last window (fewer than `test` rows left) is dropped
    assert RollingSplit(train, test).get_n_splits(n + test - 1) == n_splits


@given(n=st.integers(0, 300), train=st.integers(2, 50), test=st.integers(2, 30),
       step=st.integers(1, 30))
@settings(max_examples=100, deadline=None)
def test_rolling_properties(n, train, test, step):
    """No train index inside (or after) its test window; exact window lengths; starts move by
    `step`; the anchored test windows are the rolling ones."""
    rolling = list(RollingSplit(train, test, step).split(n))
    anchored = list(AnchoredSplit(train, test, step).split(n))
    assert len(rolling) == len(anchored) == (0 if n < train + test
                                               else (n - train - test) // step + 1)
    for i, ((tr, te), (atr, ate)) in enumerate(zip(rolling, anchored, strict=True)):
        assert tr.dtype == te.dtype == np.int64
        assert np.array_equal(tr, np.arange(i * step, i * step + train))
        assert np.array_equal(te, np.arange(i * step + train, i * step + train + test))
        assert tr.max() < te.min() and te.max() < n
        assert np.array_equal(ate, te) and atr[0] == 0 and np.array_equal(atr, np.arange(te[0]))


def test_rolling_examples_and_default_step():
    assert _pairs(RollingSplit(3, 2), 8) == [([0, 1, 2], [3, 4]), ([2, 3, 4], [5, 6])]
    assert RollingSplit(3, 2).step == 2
    assert _pairs(AnchoredSplit(3, 2, step=1), 6) == [([0, 1, 2], [3, 4]), ([0, 1, 2, 3], [4, 5])]
    df = pd.DataFrame({"x": range(8)})
    assert _pairs(RollingSplit(3, 2), df) == _pairs(RollingSplit(3, 2), 8)


# ------------------------------------------------------------------ purged k-fold
@given(n=st.integers(2, 200), k=st.integers(2, 10), purge=st.integers(0, 15),
       embargo=st.integers(0, 15))
@settings(max_examples=150, deadline=None)
def test_purged_kfold_removes_exactly_the_documented_rows(n, k, purge, embargo):
    """Test block j = np.array_split block j; train = every other row except the `purge` rows
    before and the `embargo` rows after the block (REFERENCES.md), nothing more, nothing less."""
    if n < k:
        with pytest.raises(InvalidParameterError, match="at least"):
            list(PurgedKFold(k, purge, embargo).split(n))
        return
    blocks = np.array_split(np.arange(n), k)
    splits = list(PurgedKFold(k, purge=purge, embargo=embargo).split(n))
    assert len(splits) == PurgedKFold(k).get_n_splits() == k
    for (tr, te), block in zip(splits, blocks, strict=True):
        a, b = int(block[0]), int(block[-1])
        assert np.array_equal(te, block)
        assert not np.isin(tr, te).any()  # no train index inside its test window
        removed = set(range(n)) - set(tr.tolist()) - set(te.tolist())
        assert removed == set(range(max(a - purge, 0), a)) | set(range(b + 1, min(b + 1 + embargo, n)))
        assert len(tr) == n - len(te) - min(purge, a) - min(embargo, n - 1 - b)
        assert np.all(np.diff(tr) > 0)


def test_purged_kfold_example():
    assert _pairs(PurgedKFold(3, purge=1, embargo=1), 6) == [
        ([3, 4, 5], [0, 1]), ([0, 5], [2, 3]), ([0, 1, 2], [4, 5])]


# ------------------------------------------------------------------ CPCV
def test_cpcv_reference_example():
    """López de Prado (2018) / REFERENCES.md: N = 6, k = 2 → 15 splits, 5 paths."""
    cv = CombinatorialPurgedKFold(6, 2)
    assert cv.get_n_splits() == 15 and cv.n_paths == 5
    assert len(list(cv.split(60))) == 15
    assert cv.paths().shape == (5, 6)
    assert CombinatorialPurgedKFold(4, 2).paths().tolist() == [[0, 0, 1, 2], [1, 3, 3, 4],
                                                               [2, 4, 5, 5]]


@given(n_groups=st.integers(2, 8), data=st.data(), extra=st.integers(0, 40),
       purge=st.integers(0, 6), embargo=st.integers(0, 6))
@settings(max_examples=80, deadline=None)
def test_cpcv_properties(n_groups, data, extra, purge, embargo):
    k = data.draw(st.integers(1, n_groups - 1))
    n = n_groups + extra
    cv = CombinatorialPurgedKFold(n_groups, k, purge=purge, embargo=embargo)
    splits = list(cv.split(n))
    groups = np.array_split(np.arange(n), n_groups)
    assert len(splits) == cv.get_n_splits() == math.comb(n_groups, k)
    assert cv.n_paths == math.comb(n_groups - 1, k - 1)
    tested = np.zeros(n_groups, dtype=int)
    for (tr, te), combo in zip(splits, cv.combinations, strict=True):
        assert np.array_equal(te, np.concatenate([groups[g] for g in combo]))
        assert not np.isin(tr, te).any()
        # purge/embargo around each contiguous test run, exactly
        test_set = set(te.tolist())
        expected_removed = set()
        for t in test_set:
            if t - 1 not in test_set:  # start of a run
                expected_removed |= set(range(max(t - purge, 0), t))
            if t + 1 not in test_set:  # end of a run
                expected_removed |= set(range(t + 1, min(t + 1 + embargo, n)))
        expected_removed -= test_set
        assert set(range(n)) - set(tr.tolist()) - test_set == expected_removed
        tested[list(combo)] += 1
    assert (tested == cv.n_paths).all()  # each group tested C(N-1, k-1) times
    paths = cv.paths()
    for p in range(cv.n_paths):  # each path: every group once, from a split that tests it
        for g in range(n_groups):
            assert g in cv.combinations[paths[p, g]]
    counts = np.bincount(paths.ravel(), minlength=len(splits))
    assert (counts == k).all()  # each split feeds k path cells, one per test group


# ------------------------------------------------------------------ errors, plot
@pytest.mark.parametrize("make, match", [
    (lambda: RollingSplit(1, 5), "`train` of RollingSplit"),
    (lambda: RollingSplit(5, 1), "`test` of RollingSplit"),
    (lambda: AnchoredSplit(5, 5, step=0), "`step` of AnchoredSplit"),
    (lambda: PurgedKFold(1), "`n_splits` of PurgedKFold"),
    (lambda: PurgedKFold(3, purge=-1), "`purge` of PurgedKFold"),
    (lambda: CombinatorialPurgedKFold(6, 6), "`n_test_groups` of CombinatorialPurgedKFold"),
    (lambda: list(RollingSplit(3, 2).split(object())), "`X` of RollingSplit.split"),
    (lambda: RollingSplit(3, 2).get_n_splits(), "`X` of RollingSplit.get_n_splits"),
])
def test_errors(make, match):
    with pytest.raises(InvalidParameterError, match=match):
        make()


def test_plot_draws_every_run_on_the_index():
    idx = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC")
    df = pd.DataFrame({"close": np.ones(40)}, index=idx)
    fig = RollingSplit(10, 5).plot(df)
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2 * RollingSplit(10, 5).get_n_splits(df)
    first_test = [t for t in bars if t.name == "test"][0]
    assert pd.Timestamp(first_test.base[0]) == idx[10] and list(first_test.customdata[0]) == [10, 14]
    # a CPCV split with two separate test groups draws two test runs
    fig = CombinatorialPurgedKFold(4, 2).plot(40)
    runs = [t for t in fig.data if t.name == "test" and t.y[0] == "split 1"]  # groups 0 and 2
    assert sorted(tuple(t.customdata[0]) for t in runs) == [(0, 9), (20, 29)]
    assert repr(PurgedKFold(3, 1, 2)) == "PurgedKFold(n_splits=3, purge=1, embargo=2)"
    assert PurgedKFold(3, 1, 2) == PurgedKFold(3, 1, 2) != PurgedKFold(3, 1, 1)

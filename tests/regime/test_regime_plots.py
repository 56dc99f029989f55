"""Regime figures and regime statistics.

Oracles: spells and statistics recomputed here with pandas (shift/cumsum run ids, groupby).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab.errors import DataError, InvalidParameterError
from quantlab.plotting.regime import regime_figure, transition_heatmap
from quantlab.regime.stats import regime_stats, spells


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(3)
    n = 400
    index = pd.date_range("2024-01-01", periods=n, freq="1D", tz="UTC", name="time")
    states = np.repeat(rng.integers(0, 3, size=40), rng.integers(5, 15, size=40))[:n]
    states = pd.Series(states[:n].astype(float), index=index[: len(states)], name="state")
    states = states.reindex(index)
    states.iloc[:7] = np.nan  # warm-up
    states.iloc[200] = np.nan  # a hole in the middle
    returns = pd.Series(rng.normal(0.0005, 0.01, n) * (1 + states.fillna(0)), index=index)
    returns.iloc[50] = np.nan
    close = 100 * np.exp(returns.fillna(0).cumsum())
    return close, returns, states


def _runs(states: pd.Series) -> pd.DataFrame:
    """Spells with pandas: a new run id at every change of label, NaN bars dropped."""
    run_id = (states != states.shift()).cumsum()
    frame = pd.DataFrame({"state": states, "run": run_id}).dropna()
    return frame.groupby("run").agg(state=("state", "first"), length=("state", "size"))


def test_spells_equal_pandas_run_lengths(sample):
    _, _, states = sample
    got = spells(states)
    want = _runs(states)
    assert got["state"].tolist() == want["state"].astype(int).tolist()
    assert got["length"].tolist() == want["length"].tolist()
    assert got["start"].iloc[0] == states.index[7]
    assert (got["last"] - got["first"] + 1).tolist() == got["length"].tolist()


def test_regime_stats_equal_a_pandas_groupby(sample):
    _, returns, states = sample
    ppy = 365
    got = regime_stats(returns, states, periods_per_year=ppy)
    frame = pd.DataFrame({"r": returns, "s": states}).dropna()
    grouped = frame.groupby("s")["r"]
    runs = _runs(states)
    labelled = states.dropna()
    np.testing.assert_allclose(got["mean"], grouped.mean() * ppy, rtol=1e-12)
    np.testing.assert_allclose(got["volatility"], grouped.std() * np.sqrt(ppy), rtol=1e-12)
    np.testing.assert_allclose(got["sharpe"], grouped.mean() * ppy / (grouped.std() * np.sqrt(ppy)),
                               rtol=1e-12)
    np.testing.assert_allclose(got["avg_duration"], runs.groupby("state")["length"].mean(), rtol=1e-12)
    np.testing.assert_allclose(got["share"], labelled.value_counts(normalize=True).sort_index(),
                               rtol=1e-12)
    assert got["n_spells"].tolist() == runs.groupby("state").size().tolist()
    assert got["n_bars"].tolist() == labelled.value_counts().sort_index().tolist()
    assert got.index.tolist() == [0, 1, 2]


def test_regime_stats_accept_probabilities(sample):
    _, returns, states = sample
    probs = pd.get_dummies(states).astype(float).reindex(states.index)
    probs.loc[states.isna()] = np.nan
    got = regime_stats(returns, probs, periods_per_year=252)
    pd.testing.assert_frame_equal(got, regime_stats(returns, states, periods_per_year=252))


def test_regime_stats_errors(sample):
    _, returns, states = sample
    with pytest.raises(InvalidParameterError, match="`periods_per_year`"):
        regime_stats(returns, states, periods_per_year=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="`periods_per_year`"):
        regime_stats(returns, states, periods_per_year=0)
    with pytest.raises(DataError, match="same length"):
        regime_stats(returns.iloc[:-1], states, periods_per_year=252)


def test_regime_figure_with_labels(sample):
    close, _, states = sample
    fig = regime_figure(close, states, currency="EUR")
    assert len(fig.data) == 1 and fig.data[0].name == "close"
    runs = _runs(states)
    assert len(fig.layout.shapes) == len(runs)
    assert fig.layout.yaxis.title.text == "price (EUR)"
    assert fig.layout.xaxis.title.text == "time"
    first = fig.layout.shapes[0]
    assert pd.Timestamp(first.x0) == states.index[7]
    assert pd.Timestamp(first.x1) == states.index[7 + int(runs["length"].iloc[0])]
    # one legend entry per state, on the first spell of each
    legend = [s.name for s in fig.layout.shapes if s.showlegend]
    assert sorted(legend) == ["state 0", "state 1", "state 2"]
    assert regime_figure(close, states).layout.yaxis.title.text == "price (USD)"


def test_regime_figure_with_probabilities(sample):
    close, _, states = sample
    probs = pd.get_dummies(states).astype(float).reindex(states.index)
    probs.columns = ["state_0", "state_1", "state_2"]
    probs.loc[states.isna()] = np.nan
    fig = regime_figure(close, probs)
    assert len(fig.data) == 1 + 3
    assert len(fig.layout.shapes) == len(_runs(states))
    assert fig.layout.yaxis2.title.text == "probability"
    assert fig.layout.xaxis2.title.text == "time"


def test_regime_figure_rejects_misaligned_input(sample):
    close, _, states = sample
    with pytest.raises(DataError, match="states_or_probs"):
        regime_figure(close, states.iloc[:-5])
    with pytest.raises(DataError, match="states_or_probs"):
        regime_figure(close, states.astype(str))


def test_transition_heatmap():
    a = np.array([[0.98, 0.02], [0.05, 0.95]])
    fig = transition_heatmap(a)
    assert len(fig.data) == 1
    trace = fig.data[0]
    np.testing.assert_array_equal(np.asarray(trace.z), a)
    assert [list(row) for row in trace.text] == [["0.980", "0.020"], ["0.050", "0.950"]]
    assert trace.texttemplate == "%{text}"
    assert fig.layout.xaxis.title.text == "to state"
    assert fig.layout.yaxis.title.text == "from state"
    with pytest.raises(DataError, match="transmat"):
        transition_heatmap(np.ones((2, 3)))


def test_plotting_does_not_import_the_upper_layers():
    import ast
    from pathlib import Path

    import quantlab.plotting.regime as mod

    tree = ast.parse(Path(mod.__file__).read_text())
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    for banned in ("quantlab.backtest", "quantlab.strategy", "quantlab.report"):
        assert not any(str(m).startswith(banned) for m in names)

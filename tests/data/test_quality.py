"""Tests of quantlab.data.quality: validate (planted defects), clean (policies), resample
(pandas oracle and causality)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantlab.data import load
from quantlab.data.quality import (
    CHECKS,
    QualityReport,
    clean,
    order_analysis,
    resample,
    validate,
)
from quantlab.data.synthetic import gbm
from quantlab.errors import DataError, InvalidParameterError

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return gbm(600, sigma_per_bar=0.005, seed=3, freq="1h", calendar="24/7")


@pytest.fixture(scope="module")
def eurusd() -> pd.DataFrame:
    return load("eurusd")


def _fired(report: QualityReport) -> set[tuple[str, pd.Timestamp]]:
    return set(zip(report.issues["check"], report.issues["time"]))


# ---------------------------------------------------------------- validate: clean inputs


@pytest.mark.parametrize("calendar,freq", [("24/7", "1h"), ("equity", "1d"), ("equity", "30min"),
                                           ("fx", "1h"), ("fx", "1d")])
def test_synthetic_frames_pass(calendar, freq):
    df = gbm(800, sigma_per_bar=0.004, seed=1, calendar=calendar, freq=freq)
    report = validate(df)
    assert report.ok, report.summary()
    assert report.calendar == calendar and set(report.inferred) == {"freq", "calendar"}
    assert report.freq == pd.Timedelta(freq.replace("d", "D"))
    assert report.counts == dict.fromkeys(CHECKS, 0)
    report.raise_if_failed()
    assert "OK" in report.summary() and "OK" in report._repr_html_()


# Known, real defects of the bundled data (not data errors): returns beyond 10 robust sigmas
# are genuine market events, e.g. AAPL -52% on 2000-09-29 (profit warning), the October 2008
# crash days; EURUSD gaps on Christmas 2017 (market closed) and the French-election weekend
# gap at the open of 2017-04-23. NYSE holidays are not gaps on the equity calendar.
KNOWN = {
    "aapl": {("outlier", "2000-09-29")},
    "msft": {("outlier", "2000-04-03"), ("outlier", "2000-04-24"), ("outlier", "2000-10-19"),
             ("outlier", "2008-10-13")},
    "ibm": {("outlier", "2000-10-18")},
    "goog": {("outlier", "2008-04-18")},
    "sp500": {("outlier", d) for d in ["2008-09-29", "2008-10-09", "2008-10-13", "2008-10-15",
                                       "2008-10-28", "2008-12-01"]},
    "nasdaq": {("outlier", "2001-01-03"), ("outlier", "2008-10-13")},
    "eurusd": {("gap", "2017-12-24 22:00"), ("gap", "2017-12-25 08:00"),
               ("outlier", "2017-03-15 18:00"), ("outlier", "2017-04-23 21:00"),
               ("outlier", "2017-07-20 12:00"), ("outlier", "2017-07-20 14:00"),
               ("outlier", "2017-09-20 18:00")},
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_bundled_datasets_only_known_defects(name):
    report = validate(load(name))
    expected = {(c, pd.Timestamp(t, tz="UTC")) for c, t in KNOWN[name]}
    assert _fired(report) == expected, report.summary(50)
    assert report.calendar == ("fx" if name == "eurusd" else "equity")
    # outliers are warnings; gaps on a calendar with closed hours (EURUSD's fx) are errors
    assert report.ok == (name != "eurusd")
    assert set(report.issues.loc[report.issues.check == "outlier", "severity"]) == {"warning"}
    report.raise_if_failed(ignore=("gap",))
    with pytest.raises(DataError, match="`data` of validate"):
        report.raise_if_failed(strict=True)
    if name == "eurusd":
        with pytest.raises(DataError, match="gap=2"):
            report.raise_if_failed()


def test_adjusted_prices_are_consistent_and_one_ulp_is_tolerated():
    df = load("aapl")
    # the loader clips adjusted high/low to contain open/close exactly
    assert (df.high >= df[["open", "close"]].max(axis=1)).all()
    assert (df.low <= df[["open", "close"]].min(axis=1)).all()
    # a 1-ulp violation (what scaling by adj_close/close can produce) is not an OHLC defect
    bar = df.index[100]
    nudged = df.copy()
    nudged.loc[bar, "high"] = np.nextafter(max(df.loc[bar, "open"], df.loc[bar, "close"]), 0.0)
    assert validate(nudged).counts["ohlc"] == 0


# ---------------------------------------------------------------- validate: planted defects


def _plant(df: pd.DataFrame, pos: int, **values) -> pd.DataFrame:
    out = df.copy()
    for col, value in values.items():
        out.iloc[pos, out.columns.get_loc(col)] = value
    return out


def _only(report: QualityReport, check: str, times: list[pd.Timestamp]) -> pd.DataFrame:
    assert set(report.issues["check"]) == {check}, report.summary()
    assert sorted(set(report.issues["time"])) == sorted(times)
    return report.issues


def test_plant_duplicate(hourly):
    t = hourly.index[100]
    df = pd.concat([hourly.iloc[:101], hourly.iloc[[100]], hourly.iloc[101:]])
    issues = _only(validate(df), "duplicate", [t])
    assert issues["value"].iloc[0] == 2


def test_plant_unsorted(hourly):
    df = hourly.iloc[np.r_[0:100, 101, 100, 102:len(hourly)]]
    _only(validate(df), "unsorted", [hourly.index[100]])


@pytest.mark.parametrize("col", ["open", "high", "low", "close", "volume"])
def test_plant_nan(hourly, col):
    issues = _only(validate(_plant(hourly, 200, **{col: np.nan})), "nan", [hourly.index[200]])
    assert issues["column"].tolist() == [col]


def test_plant_inf(hourly):
    df = _plant(hourly, 50, high=np.inf)
    _only(validate(df), "inf", [hourly.index[50]])


def test_plant_non_positive_and_negative_volume(hourly):
    t = hourly.index[300]
    df = _plant(hourly, 300, open=0.0, high=0.0, low=0.0, close=0.0)
    issues = _only(validate(df), "non_positive", [t])
    assert sorted(issues["column"]) == ["close", "high", "low", "open"]
    _only(validate(_plant(hourly, 300, volume=-5.0)), "negative_volume", [t])


def test_plant_ohlc_inconsistency(hourly):
    t = hourly.index[120]
    row = hourly.iloc[120]
    top = max(row.open, row.close)
    issues = _only(validate(_plant(hourly, 120, high=top * 0.999)), "ohlc", [t])
    assert issues["column"].tolist() == ["high"]
    bottom = min(row.open, row.close)
    issues = _only(validate(_plant(hourly, 120, low=bottom * 1.001)), "ohlc", [t])
    assert issues["column"].tolist() == ["low"]
    swapped = _plant(hourly, 120, high=row.low, low=row.high)  # high < low
    issues = _only(validate(swapped), "ohlc", [t])
    assert sorted(issues["column"]) == ["high", "low"]


def test_plant_gap(hourly):
    df = hourly.drop(hourly.index[400:403])
    issues = _only(validate(df), "gap", [hourly.index[400]])
    assert issues["value"].iloc[0] == 3


def test_plant_gap_equity_and_fx_calendars():
    eq = gbm(300, seed=2, calendar="equity", freq="1d")
    holes = eq.drop(eq.index[[100]])
    _only(validate(holes, calendar="equity"), "gap", [eq.index[100]])
    fx = gbm(500, seed=2, calendar="fx", freq="1h")
    _only(validate(fx.drop(fx.index[[250]]), calendar="fx", freq="1h"), "gap", [fx.index[250]])


def test_plant_off_calendar():
    eq = gbm(300, seed=2, calendar="equity", freq="1d")
    saturday = pd.Timestamp("2020-03-07", tz="UTC")
    extra = pd.concat([eq, eq.iloc[[0]].set_axis(pd.DatetimeIndex([saturday], name="time"))]).sort_index()
    # the Saturday bar breaks its neighbours' returns? no: it repeats bar 0's prices -> also an
    # outlier; disable the outlier check to isolate the calendar check
    _only(validate(extra, calendar="equity", freq="1d", outlier_sigma=1e9), "off_calendar", [saturday])


def test_plant_stale_run(hourly):
    c = hourly.close.iloc[150]
    df = hourly.copy()
    df.iloc[150:157, :4] = c  # 7 flat bars with one close
    issues = _only(validate(df, stale_run=5), "stale", [hourly.index[150]])
    assert issues["value"].iloc[0] == 7
    assert validate(df, stale_run=8).ok


def test_plant_zero_volume_run(hourly):
    df = hourly.copy()
    df.iloc[10:16, 4] = 0.0
    issues = _only(validate(df), "zero_volume", [hourly.index[10]])
    assert issues["value"].iloc[0] == 6
    assert validate(_plant(hourly, 10, volume=0.0)).ok  # a single zero is not a run


def test_plant_outlier_level_shift(hourly):
    df = hourly.copy()
    df.iloc[250:, :4] *= 1.3  # a 26% jump in an hourly series with 0.5% volatility
    issues = _only(validate(df), "outlier", [hourly.index[250]])
    assert issues["value"].iloc[0] == pytest.approx(np.log(1.3), rel=0.1)


def test_outlier_threshold_is_robust_z(hourly):
    r = np.diff(np.log(hourly.close.to_numpy()))
    z = np.abs(r - np.median(r)) / (1.4826 * np.median(np.abs(r - np.median(r))))
    cut = float(np.sort(z)[-3])  # between the 3rd and 2nd largest -> exactly 2 flagged
    report = validate(hourly, outlier_sigma=cut)
    assert report.counts["outlier"] == 2
    expected = hourly.index[1:][np.argsort(z)[-2:]]
    assert set(report.issues["time"]) == set(expected)


def test_raw_frames_are_reported_not_raised(hourly):
    raw = hourly.copy()
    raw.index = raw.index.tz_localize(None)
    raw["close"] = raw["close"].astype(object)
    raw.iloc[5, raw.columns.get_loc("close")] = "n/a"
    report = validate(raw)
    assert report.counts["tz_naive"] == 1
    assert report.counts["non_numeric"] == 1 and report.counts["nan"] == 0
    assert report.severity("tz_naive") == "warning" and report.severity("non_numeric") == "error"
    row = report.issues[report.issues.check == "non_numeric"].iloc[0]
    assert row["time"] == hourly.index[5] and "'n/a'" in row["detail"]
    assert not report.ok


def test_report_rendering(hourly):
    report = validate(hourly.drop(hourly.index[400:403]))
    text = report.summary()
    assert "gap" in text and "1h (inferred)" in text and "calendar 24/7 (inferred)" in text
    html = report._repr_html_()
    assert "<table" in html and "gap" in html
    assert list(report.issues.columns) == ["check", "time", "column", "value", "detail", "severity"]
    assert report.ok  # a gap in 24/7 data is a warning
    report.raise_if_failed()
    with pytest.raises(DataError, match="gap=1"):
        report.raise_if_failed(strict=True)
    report.raise_if_failed(ignore=["gap"], strict=True)
    with pytest.raises(InvalidParameterError, match="Did you mean 'gap'"):
        report.raise_if_failed(ignore=["gaps"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.ok = True  # type: ignore[misc]


# ---------------------------------------------------------------- validate: severities


ERRORS = {"nan": dict(close=np.nan), "non_positive": dict(low=-1.0), "ohlc": dict(high=1e-3)}


@pytest.mark.parametrize("check", sorted(ERRORS))
def test_value_defects_are_errors(hourly, check):
    report = validate(_plant(hourly, 200, **ERRORS[check]))
    assert report.counts[check] >= 1 and not report.ok and report.n_errors >= 1
    assert set(report.errors["check"]) == {check}
    assert "error" in report.summary()


def test_structure_defects_are_errors(hourly):
    dup = pd.concat([hourly.iloc[:101], hourly.iloc[[100]], hourly.iloc[101:]])
    swapped = hourly.iloc[np.r_[0:100, 101, 100, 102:len(hourly)]]
    for df, check in ((dup, "duplicate"), (swapped, "unsorted")):
        report = validate(df)
        assert not report.ok and set(report.errors["check"]) == {check}


def test_market_features_are_warnings(hourly):
    df = hourly.copy()
    df.iloc[250:, :4] *= 1.3            # outlier
    df.iloc[10:16, 4] = 0.0             # zero volume run
    df.iloc[150:157, :4] = df.close.iloc[150]  # stale run
    df = df.drop(df.index[400:403])     # gap on 24/7 data
    report = validate(df)
    assert set(report.issues["check"]) == {"outlier", "zero_volume", "stale", "gap"}
    assert report.ok and report.n_errors == 0 and report.n_warnings == len(report.issues)
    assert set(report.issues["severity"]) == {"warning"}
    assert "OK with 4 warning(s)" in report.summary()
    report.raise_if_failed()
    with pytest.raises(DataError, match="gap=1"):
        report.raise_if_failed(strict=True)


def test_hourly_crypto_with_genuine_large_moves_is_ok():
    # 1% hourly volatility with fat tails (t with 3 degrees of freedom): 5-10% hourly moves
    # happen and are 10+ robust sigmas out; the gate reports them and still says ok
    rng = np.random.default_rng(5)
    r = 0.006 * rng.standard_t(3, 3000)
    r[[500, 1700, 2500]] = [0.08, -0.09, 0.06]
    close = 20000 * np.exp(np.cumsum(r))
    open_ = np.r_[20000, close[:-1]]
    idx = pd.date_range("2022-01-01", periods=3000, freq="1h", tz="UTC", name="time")
    df = pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * 1.001,
                       "low": np.minimum(open_, close) * 0.999, "close": close,
                       "volume": rng.lognormal(3, 1, 3000)}, index=idx)
    report = validate(df)
    assert report.counts["outlier"] >= 3 and report.ok


def test_gap_is_an_error_on_a_calendar_with_closed_hours():
    eq = gbm(300, seed=2, calendar="equity", freq="1d")
    report = validate(eq.drop(eq.index[[100]]), calendar="equity")
    assert report.counts["gap"] == 1 and not report.ok


# ---------------------------------------------------------------- validate: reordered blocks


def test_block_that_reappears_later_is_its_own_issue(hourly):
    # rows 300..303 moved after row 450: a block of 4 timestamps, out of order
    order = np.r_[0:300, 304:451, 300:304, 451:len(hourly)]
    report = validate(hourly.iloc[order])
    assert set(report.issues["check"]) == {"reordered_block"}
    row = report.issues.iloc[0]
    assert row["value"] == 4 and row["time"] == hourly.index[300] and row["severity"] == "error"
    assert str(hourly.index[303]) in row["detail"] and str(hourly.index[450]) in row["detail"]
    assert not report.ok


def test_block_that_reappears_as_a_copy(hourly):
    order = np.r_[0:451, 300:304, 451:len(hourly)]
    report = validate(hourly.iloc[order])
    assert set(report.issues["check"]) == {"reordered_block", "duplicate"}
    assert report.counts["reordered_block"] == 1 and report.counts["duplicate"] == 4


def test_newest_first_is_one_issue_and_a_block_is_found_inside_it(hourly):
    report = validate(hourly.iloc[::-1])
    assert report.counts["unsorted"] == 1 and len(report.issues) == 1
    assert "newest first" in report.issues["detail"].iloc[0]
    order = np.r_[0:300, 304:451, 300:304, 451:len(hourly)][::-1]
    report = validate(hourly.iloc[order])
    assert report.counts == {**dict.fromkeys(CHECKS, 0), "unsorted": 1, "reordered_block": 1}


def test_exchange_fixture_with_a_block():
    from quantlab.data.csv import read_raw_csv

    path = __import__("pathlib").Path(__file__).resolve().parent / "fixtures" / "Gemini_BTCUSD_1h_block.csv"
    frame, _ = read_raw_csv(path, skiprows=1, date_format="%Y-%m-%d %I-%p",
                            columns={"Volume BTC": "volume"})
    report = validate(frame)
    block = report.issues[report.issues.check == "reordered_block"]
    assert len(block) == 1 and block["value"].iloc[0] == 4
    assert block["time"].iloc[0] == pd.Timestamp("2017-07-12 10:00", tz="UTC")
    assert report.counts["duplicate"] == 4 and not report.ok


def test_validate_bad_input(hourly):
    with pytest.raises(DataError, match="`df` of validate"):
        validate(hourly.to_numpy())
    with pytest.raises(DataError, match="Found 'Close'"):
        validate(hourly.rename(columns={"close": "Close"}))
    with pytest.raises(DataError, match="Column 'closes' looks like 'close'"):
        validate(hourly.rename(columns={"close": "closes"}))
    with pytest.raises(DataError, match="DatetimeIndex"):
        validate(hourly.reset_index(drop=True))
    with pytest.raises(InvalidParameterError, match="`stale_run` of validate"):
        validate(hourly, stale_run=1)
    with pytest.raises(InvalidParameterError, match="Did you mean 'equity'"):
        validate(hourly, calendar="equities")
    with pytest.raises(InvalidParameterError, match="`freq` of validate"):
        validate(hourly, freq="often")


# ---------------------------------------------------------------- clean


def _messy(hourly: pd.DataFrame) -> pd.DataFrame:
    df = hourly.iloc[:20].copy()
    df.iloc[3, 3] = np.nan  # close NaN
    df.iloc[6, 1] = np.inf  # high inf
    df.iloc[8, 0] = -1.0  # open negative
    df.iloc[10, 4] = np.nan  # volume NaN
    df.iloc[12, 1] = df.iloc[12, 3] * 0.99  # high below close (when close is the top)
    df.iloc[12, 0] = df.iloc[12, 3] * 0.995
    dup = df.iloc[[15]].copy()
    dup.iloc[0, 3] = 999.0  # a later revision of bar 15: 'drop' keeps it
    dup.iloc[0, 1] = 1000.0
    df = pd.concat([df, dup])
    return df.iloc[np.r_[1, 0, 2:len(df)]]  # unsorted


def test_clean_drop(hourly):
    messy = _messy(hourly)
    before = messy.copy()
    out = clean(messy, policy="drop")
    pd.testing.assert_frame_equal(messy, before)  # input untouched
    expected_times = hourly.index[:20].delete([3, 6, 8, 10])
    assert out.index.equals(expected_times)
    assert out.loc[hourly.index[15], "close"] == 999.0  # last duplicate kept
    assert out.loc[hourly.index[12], "high"] == messy.loc[hourly.index[12], "high"]  # not repaired
    issues = validate(out).issues  # also gaps (dropped rows) and an outlier (the 999 revision)
    assert set(issues.loc[issues.check == "ohlc", "time"]) == {hourly.index[12]}


def test_clean_ffill(hourly):
    messy = _messy(hourly)
    out = clean(messy, policy="ffill")
    assert out.index.equals(hourly.index[:20])
    for pos in (3, 6, 8):
        prev_close = out["close"].iloc[pos - 1]
        assert (out.iloc[pos, :4] == prev_close).all() and out["volume"].iloc[pos] == 0
    assert out["volume"].iloc[10] == 0 and out["close"].iloc[10] == hourly.close.iloc[10]


def test_clean_ffill_drops_leading_bad_rows(hourly):
    df = _plant(hourly.iloc[:10], 0, close=np.nan)
    out = clean(df, policy="ffill")
    assert out.index.equals(hourly.index[1:10])


def test_clean_repair_ohlc_sequence(hourly):
    messy = _messy(hourly)
    out = clean(messy, policy=["drop", "repair_ohlc"])
    assert validate(out, freq="1h").counts["ohlc"] == 0
    t = hourly.index[12]
    assert out.loc[t, "high"] == max(messy.loc[t, "open"], messy.loc[t, "close"])
    untouched = out.index.difference([t])
    pd.testing.assert_frame_equal(out.loc[untouched], clean(messy, policy="drop").loc[untouched])


def test_clean_refuses_what_policy_leaves(hourly):
    with pytest.raises(DataError, match="add 'drop' or 'ffill'"):
        clean(_messy(hourly), policy="repair_ohlc")


def test_clean_bad_input(hourly):
    with pytest.raises(InvalidParameterError, match="Did you mean 'ffill'"):
        clean(hourly, policy="fill")
    with pytest.raises(InvalidParameterError, match="non-empty"):
        clean(hourly, policy=[])
    bad = hourly.copy()
    bad["close"] = bad["close"].astype(str)
    with pytest.raises(DataError, match=r"`df\['close'\]` of clean\(\) must be numeric"):
        clean(bad, policy="drop")
    with pytest.raises(DataError, match="missing \\['volume'\\]"):
        clean(hourly.drop(columns="volume"), policy="drop")


# ---------------------------------------------------------------- resample


def _pandas_oracle(df: pd.DataFrame, rule: str, source: str, offset: str | None = None):
    shifted = df.set_axis(df.index + pd.Timedelta(source))  # open stamps -> close stamps
    kwargs = {"offset": offset} if offset else {}
    out = shifted.resample(rule, closed="right", label="right", origin="epoch", **kwargs).agg(AGG)
    return out.dropna(subset=["open"])


@pytest.mark.parametrize("rule,pandas_rule", [("4h", "4h"), ("1d", "24h")])
def test_resample_matches_pandas_eurusd(eurusd, rule, pandas_rule):
    out = resample(eurusd, rule)
    expected = _pandas_oracle(eurusd, pandas_rule, "1h")
    # the last bucket is still forming (data ends 2017-12-29 22:00) and is dropped
    assert expected.index[-1] > eurusd.index[-1] + pd.Timedelta("1h")
    pd.testing.assert_frame_equal(out, expected.iloc[:-1], check_freq=False)
    kept = resample(eurusd, rule, drop_partial=False)
    pd.testing.assert_frame_equal(kept, expected, check_freq=False)


def test_resample_with_offset_matches_pandas(eurusd):
    out = resample(eurusd, "1d", offset="22h")  # FX days closing at 22:00 UTC
    expected = _pandas_oracle(eurusd, "24h", "1h", offset="22h")
    assert (out.index.hour == 22).all()
    pd.testing.assert_frame_equal(out, expected.loc[out.index], check_freq=False)


def test_resample_no_bar_contains_data_after_its_label(eurusd):
    rule, source = pd.Timedelta("4h"), pd.Timedelta("1h")
    out = resample(eurusd, "4h")
    opens = eurusd.index
    for label, bar in out.iloc[::37].iterrows():  # independent reconstruction of each bucket
        members = eurusd[(opens + source <= label) & (opens >= label - rule)]
        assert len(members) > 0
        assert (members.index + source <= label).all()
        assert bar["open"] == members["open"].iloc[0] and bar["close"] == members["close"].iloc[-1]
        assert bar["high"] == members["high"].max() and bar["low"] == members["low"].min()
        assert bar["volume"] == pytest.approx(members["volume"].sum(), rel=1e-12)


@pytest.mark.parametrize("cut", [100, 1001, 2502, 4003, 6100])
def test_resample_truncation_keeps_completed_bars(eurusd, cut):
    full = resample(eurusd, "4h")
    part = eurusd.iloc[:cut]
    head = resample(part, "4h")
    known_at = part.index[-1] + pd.Timedelta("1h")
    pd.testing.assert_frame_equal(head, full[full.index <= known_at])
    assert (head.index <= known_at).all()


def test_resample_daily_equity_to_weekly_24_7():
    df = gbm(200, seed=1, freq="1d", calendar="24/7")
    out = resample(df, "7d")
    pd.testing.assert_frame_equal(out, _pandas_oracle(df, "168h", "24h").loc[out.index], check_freq=False)


def test_resample_bad_input(eurusd):
    naive = eurusd.tz_localize(None)
    with pytest.raises(DataError, match="tz-aware"):
        resample(naive, "4h")
    with pytest.raises(InvalidParameterError, match="`rule` of resample"):
        resample(eurusd, "1M")
    with pytest.raises(InvalidParameterError, match="`rule` of resample"):
        resample(eurusd, "quarterly")
    with pytest.raises(InvalidParameterError, match="multiple of the source bar duration"):
        resample(eurusd, "90min")
    with pytest.raises(DataError, match="ends after its bucket"):
        resample(eurusd, "4h", offset="30min")
    with pytest.raises(DataError, match="missing"):
        resample(eurusd.drop(columns="high"), "4h")
    with pytest.raises(DataError, match="at least 2 rows"):
        resample(eurusd.iloc[:1], "4h")
    strings = eurusd.assign(close=eurusd["close"].astype(str))
    with pytest.raises(DataError, match="numeric"):
        resample(strings, "4h")


# ---------------------------------------------------------------- order_analysis (property)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(10, 200), data=st.data(), newest_first=st.booleans())
def test_order_analysis_finds_exactly_a_moved_block(n, data, newest_first):
    # move rows [a, a + k) of a sorted sequence to just after row d (jumping over more
    # than k rows, so the block is the smaller set); the analysis must return that block
    k = data.draw(st.integers(2, max(2, n // 4)))
    a = data.draw(st.integers(0, n - k))
    rest = [i for i in range(n) if not a <= i < a + k]
    candidates = [j for j in range(len(rest) + 1) if abs(j - a) > k]
    if not candidates:
        return
    j = data.draw(st.sampled_from(candidates))
    order = rest[:j] + list(range(a, a + k)) + rest[j:]
    stamps = np.array(order, dtype=np.int64) * 3_600_000_000_000
    if newest_first:
        stamps = stamps[::-1]
    found = order_analysis(stamps)
    assert found.newest_first == newest_first and found.order == "mixed"
    positions = [j + m for m in range(k)]
    if newest_first:
        positions = [n - 1 - p for p in positions][::-1]
    assert found.blocks == [(positions[0], positions[-1])]
    assert np.flatnonzero(found.misplaced).tolist() == positions
    # removing the misplaced rows leaves a sequence sorted in the reading direction
    kept = stamps[~found.misplaced]
    assert (np.diff(kept[::-1] if newest_first else kept) > 0).all()

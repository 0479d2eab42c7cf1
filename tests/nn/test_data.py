"""The built-in data, user CSVs with clear errors, the 58 features, the split and the baselines."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.data import DataError, load_series
from nn.features import FEATURES, WINDOW, make_dataset
from nn.metrics import Scores, baselines, scores


def test_taylor_equals_pmdarimas_copy_value_for_value():
    from pmdarima.datasets import load_taylor

    series = load_series("taylor")
    assert np.array_equal(series.to_numpy(), load_taylor())
    assert series.index[0] == pd.Timestamp("2000-06-05 00:00") and series.index[-1] == pd.Timestamp("2000-08-27 23:30")
    assert series.index[0].day_name() == "Monday" and series.index[-1].day_name() == "Sunday"


def write(tmp_path, rows, header="timestamp,load"):
    path = tmp_path / "load.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(path)


def good_rows(n=10):
    times = pd.date_range("2021-03-01", periods=n, freq="30min")
    return [f"{t:%Y-%m-%d %H:%M},{100 + i}" for i, t in enumerate(times)]


def test_user_csv_round_trip(tmp_path):
    s = load_series(write(tmp_path, good_rows()))
    assert len(s) == 10 and s.iloc[3] == 103.0


@pytest.mark.parametrize("mutate,row,what", [
    (lambda r: r.__setitem__(4, r[4].split(",")[0] + ",abc"), 5, "not a number"),
    (lambda r: r.__setitem__(4, r[4].split(",")[0] + ","), 5, "not a number"),
    (lambda r: r.__setitem__(6, "yesterday," + r[6].split(",")[1]), 7, "timestamp"),
    (lambda r: r.__setitem__(5, r[4]), 6, "duplicate"),
    (lambda r: r.__setitem__(5, r[3]), 6, "earlier"),
    (lambda r: r.pop(7), 8, "step"),
])
def test_bad_csv_names_the_first_bad_row(tmp_path, mutate, row, what):
    rows = good_rows()
    mutate(rows)
    with pytest.raises(DataError, match=rf"data row {row} .*{what}"):
        load_series(write(tmp_path, rows))


def test_missing_column_and_file(tmp_path):
    with pytest.raises(DataError, match="no column 'load'"):
        load_series(write(tmp_path, good_rows(), header="timestamp,demand"))
    with pytest.raises(DataError, match="no such data file"):
        load_series(str(tmp_path / "none.csv"))


def test_features_windows_and_split():
    data = make_dataset(load_series("taylor"))
    n = 4032 - WINDOW
    assert data.x.shape == (n, WINDOW, FEATURES) and FEATURES == 58
    assert [data.splits[k].stop - data.splits[k].start for k in ("train", "val", "test")] == [
        int(0.7 * n), int(0.2 * n), n - int(0.7 * n) - int(0.2 * n)]
    # one-hot blocks: exactly one 1 in each
    steps = data.x.reshape(-1, FEATURES)
    for lo, hi in ((1, 49), (49, 56), (56, 58)):
        assert np.all(steps[:, lo:hi].sum(axis=1) == 1)
    # the first step is Monday 00:00, no holiday (the series has none in England)
    first = data.x[0, 0]
    assert first[1] == 1 and first[49] == 1 and first[57] == 1
    # targets follow the windows; min-max from the training part only
    assert np.allclose(data.x[1:, -1, 0], data.y[:-1, 0])
    seen = data.loads[: data.splits["train"].stop + WINDOW]
    assert data.load_min == seen.min() and data.load_max == seen.max()
    assert np.allclose(data.to_mw(data.y[:, 0]), data.loads[data.target_pos])


def test_holidays_come_from_the_calendar(tmp_path):
    times = pd.date_range("2000-08-26", periods=48 * 4, freq="30min")  # Sat 26 Aug .. Tue 29 Aug 2000
    rows = [f"{t:%Y-%m-%d %H:%M},{1000 + (i % 7)}" for i, t in enumerate(times)]
    data = make_dataset(load_series(write(tmp_path, rows)), window=4)
    holiday = data.x[:, -1, 56] == 1
    dates = (data.index - pd.Timedelta(minutes=30)).date  # the window's last step
    assert set(np.array(dates)[holiday]) == {pd.Timestamp("2000-08-28").date()}  # Late Summer Bank Holiday


def test_metrics_and_baselines_on_known_series():
    loads = np.arange(1.0, 201.0)
    pos = np.arange(60, 200)
    b = baselines(loads, pos)
    assert b["persistence"].mae == 1.0 and b["seasonal_naive_day"].mae == 48.0
    assert "seasonal_naive_week" not in b  # targets from 60 on have no week of history
    assert baselines(np.arange(1.0, 501.0), np.arange(336, 500))["seasonal_naive_week"].mae == 336.0
    s = scores(np.array([110.0, 90.0]), np.array([100.0, 100.0]))
    assert s == Scores(rmse=10.0, mae=10.0, mape=10.0) and s.as_dict() == {"rmse": 10.0, "mae": 10.0, "mape": 10.0}
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.mape = 0.0


def _weekly_series(weeks: int, seed: int) -> pd.Series:
    """A random half-hourly series that repeats every week (336 steps) exactly."""
    week = np.random.default_rng(seed).uniform(20000.0, 40000.0, 336)
    index = pd.date_range("2001-01-01", periods=336 * weeks, freq="30min")
    return pd.Series(np.tile(week, weeks), index=index)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=3, unique=True), st.integers(1, 30), st.integers(0, 99))
def test_lag_features_are_the_loads_lag_steps_before_each_next_step(lags, window, seed):
    data = make_dataset(_weekly_series(12, seed) * np.linspace(1.0, 1.2, 336 * 12), window=window, lags=lags)
    e = (data.loads - data.load_min) / (data.load_max - data.load_min)
    assert data.x.shape[1:] == (window, FEATURES + len(lags)) and data.features == FEATURES + len(lags)
    step = data.target_pos[:, None] - window + np.arange(window)  # position of each window step
    for j, lag in enumerate(lags):
        assert np.array_equal(data.x[:, :, FEATURES + j], e[step + 1 - lag])
    # the first sample's earliest lag reaches exactly the first step of the series
    assert step[0, 0] + 1 - max(lags) == 0
    # validation and test targets do not depend on the lags
    plain = make_dataset(_weekly_series(12, seed) * np.linspace(1.0, 1.2, 336 * 12), window=window)
    for part in ("val", "test"):
        assert np.array_equal(data.target_pos[data.splits[part]], plain.target_pos[plain.splits[part]])


def test_weekly_lag_of_a_weekly_series_forecasts_it_exactly():
    data = make_dataset(_weekly_series(12, 0), lags=(336,))
    x, y = data.part("train")
    # the naive forecast and a linear model on the last step's features are exact
    assert np.array_equal(data.x[:, -1, -1], data.y[:, 0])
    last = np.concatenate([x[:, -1], np.ones((len(x), 1))], axis=1)
    coef = np.linalg.lstsq(last, y[:, 0], rcond=None)[0]
    xt, yt = data.part("test")
    predicted = data.to_mw(np.concatenate([xt[:, -1], np.ones((len(xt), 1))], axis=1) @ coef)
    assert np.max(np.abs(predicted - data.to_mw(yt[:, 0]))) < 1e-6
    # the weekly naive baseline scores exactly the targets the model predicts, with zero error
    test_pos = data.target_pos[data.splits["test"]]
    assert np.allclose(data.loads[test_pos], data.to_mw(yt[:, 0]))
    assert baselines(data.loads, test_pos)["seasonal_naive_week"].mape == 0.0
    assert baselines(data.loads, test_pos)["seasonal_naive_day"].mape > 1.0


def test_bad_lags_are_refused():
    with pytest.raises(DataError, match="positive"):
        make_dataset(_weekly_series(12, 0), lags=(0,))
    with pytest.raises(DataError, match="too few"):
        make_dataset(_weekly_series(2, 0), lags=(600,))

"""Inputs of the forecaster (docs/design.md, "Networks").

Each step t becomes x_t in R^58: the min-max normalised load e_t, a 48-way
one-hot of the half hour of the day, a 7-way one-hot of the day of the week
(Monday first) and a 2-way one-hot (holiday, not holiday), holidays from the
``holidays`` package (default GB, England).  A window of 20 consecutive steps
predicts the normalised load of the next step.  Windows are split 7 : 2 : 1 in
time order into train, validation and test, and the min-max scaling is fitted
on the loads the training windows see only.

Optional lagged loads: with lags L_1..L_k every step s of a window
gets k more features, the normalised loads e_(s+1-L_j), so the window's last
step carries the load L_j steps before the target (``lags=(48, 336)``: the
same half hour one day and one week earlier).  The split is made on the target
positions exactly as without lags, then the first samples whose lags reach
before the start of the series are dropped, so the validation and test targets
do not depend on the lags.
"""

from __future__ import annotations

import dataclasses

import holidays as holidays_lib
import numpy as np
import pandas as pd

from nn.data import DataError

__all__ = ["Dataset", "make_dataset", "FEATURES", "WINDOW"]

WINDOW = 20
FEATURES = 1 + 48 + 7 + 2
SPLIT = (0.7, 0.2, 0.1)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Windows and targets of one series, split in time order.

    Attributes
    ----------
    x : ndarray, shape (samples, window, 58)
    y : ndarray, shape (samples, 1)
        Normalised load of the step after each window.
    index : DatetimeIndex, length samples
        Time of each target.
    loads : ndarray, shape (steps,)
        The series in MW.
    target_pos : ndarray, shape (samples,)
        Position of each target in ``loads``.
    window : int
        Steps per window.
    lags : tuple of int
        Lags (in steps) of the extra load features, empty for the design's 58 features.
    splits : dict of str -> slice
        ``train``, ``val`` and ``test`` ranges of samples.
    load_min, load_max : float
        The min-max scaling (fitted on the training part, or a model's own).
    source : str
        Where the series came from, for messages (e.g. ``"taylor (built-in)"``); may be empty.
    """

    x: np.ndarray
    y: np.ndarray
    index: pd.DatetimeIndex
    loads: np.ndarray
    target_pos: np.ndarray
    window: int
    lags: tuple
    splits: dict
    load_min: float
    load_max: float
    source: str = ""

    @property
    def features(self) -> int:
        """Features per step: 58 plus one per lag."""
        return self.x.shape[2]

    @property
    def load_columns(self) -> tuple:
        """Feature indices of the load and the lagged loads (what a highway term reads)."""
        return (0, *range(FEATURES, self.features))

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of ``train``, ``val`` or ``test``."""
        s = self.splits[name]
        return self.x[s], self.y[s]

    def to_mw(self, normalised: np.ndarray) -> np.ndarray:
        """Undo the min-max scaling."""
        return np.asarray(normalised) * (self.load_max - self.load_min) + self.load_min


def _calendar(index: pd.DatetimeIndex, country: str, subdiv: str | None) -> np.ndarray:
    half_hour = index.hour * 2 + index.minute // 30
    if np.any(index.minute % 30 != 0):
        raise DataError("timestamps must fall on the hour or the half hour")
    try:
        calendar = holidays_lib.country_holidays(country, subdiv=subdiv, years=sorted(set(index.year)))
    except NotImplementedError:
        raise DataError(f"unknown holiday country or subdivision {country!r}/{subdiv!r}; "
                        "give an ISO code such as GB with --holidays") from None
    is_holiday = np.array([d in calendar for d in index.date])
    out = np.zeros((len(index), FEATURES - 1))
    rows = np.arange(len(index))
    out[rows, half_hour] = 1.0
    out[rows, 48 + index.day_of_week] = 1.0
    out[rows, 55 + np.where(is_holiday, 0, 1)] = 1.0
    return out


def make_dataset(series: pd.Series, window: int = WINDOW, lags=(), country: str = "GB",
                 subdiv: str | None = "ENG", scaling: tuple[float, float] | None = None) -> Dataset:
    """Windows, targets and the chronological 7:2:1 split of a half-hourly series.

    Parameters
    ----------
    series : pandas.Series
        From :func:`nn.data.load_series`.
    window : int
        Steps per input window (>= 1).
    lags : sequence of int
        Lags in steps (each >= 1) of extra load features; default none.
    country, subdiv : str
        Holiday calendar of the ``holidays`` package.
    scaling : (load_min, load_max), optional
        The min-max scaling to apply, e.g. the one a model was trained with;
        default: fitted on the loads the training windows see.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        If the window or a lag is not a positive whole number, or the series is
        too short for ten windows in every part.
    """
    lags = tuple(int(v) for v in lags)
    if window < 1 or any(v < 1 for v in lags) or len(set(lags)) != len(lags):
        raise DataError(f"the window ({window}) and the lags {list(lags)} must be distinct positive numbers of steps")
    loads = series.to_numpy(dtype=np.float64)
    samples = len(loads) - window
    n_train, n_val = int(samples * SPLIT[0]), int(samples * SPLIT[1])
    # targets at window + i; a lag L needs the step window + i - window + 1 - L >= 0
    dropped = max(lags, default=1) - 1
    if min(n_train - dropped, n_val, samples - n_train - n_val) < 10:
        raise DataError(f"{len(loads)} steps are too few for windows of {window}, lags up to "
                        f"{max(lags, default=0)} and a 7:2:1 split with ten windows in each part")
    seen = loads[: n_train + window]
    lo, hi = (float(seen.min()), float(seen.max())) if scaling is None else map(float, scaling)
    if not hi > lo:
        raise DataError("the training part of the load is constant; nothing to forecast" if scaling is None
                        else f"the scaling [{lo}, {hi}] is empty")
    e = (loads - lo) / (hi - lo)
    lagged = [np.concatenate([np.zeros(lag - 1), e[: len(e) - lag + 1]])[:, None] for lag in lags]
    x_steps = np.concatenate([e[:, None], _calendar(series.index, country, subdiv), *lagged], axis=1)
    starts = np.arange(dropped, samples)
    x = np.lib.stride_tricks.sliding_window_view(x_steps, window, axis=0)[starts].transpose(0, 2, 1)
    target_pos = starts + window
    n_train -= dropped
    splits = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val),
              "test": slice(n_train + n_val, samples - dropped)}
    return Dataset(x=np.ascontiguousarray(x), y=e[target_pos][:, None], index=series.index[target_pos],
                   loads=loads, target_pos=target_pos, window=window, lags=lags, splits=splits,
                   load_min=lo, load_max=hi)

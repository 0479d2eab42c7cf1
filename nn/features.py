"""Inputs of the forecaster (DESIGN.md, seed 000).

Each step t becomes x_t in R^58: the min-max normalised load e_t, a 48-way
one-hot of the half hour of the day, a 7-way one-hot of the day of the week
(Monday first) and a 2-way one-hot (holiday, not holiday), holidays from the
``holidays`` package (default GB, England).  A window of 20 consecutive steps
predicts the normalised load of the next step.  Windows are split 7 : 2 : 1 in
time order into train, validation and test, and the min-max scaling is fitted
on the loads the training windows see only.
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
    splits : dict of str -> slice
        ``train``, ``val`` and ``test`` ranges of samples.
    load_min, load_max : float
        The min-max scaling (fitted on the training part).
    """

    x: np.ndarray
    y: np.ndarray
    index: pd.DatetimeIndex
    loads: np.ndarray
    target_pos: np.ndarray
    splits: dict
    load_min: float
    load_max: float

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
    out[rows, 48 + index.dayofweek] = 1.0
    out[rows, 55 + np.where(is_holiday, 0, 1)] = 1.0
    return out


def make_dataset(series: pd.Series, window: int = WINDOW, country: str = "GB",
                 subdiv: str | None = "ENG") -> Dataset:
    """Windows, targets and the chronological 7:2:1 split of a half-hourly series.

    Parameters
    ----------
    series : pandas.Series
        From :func:`nn.data.load_series`.
    window : int
        Steps per input window.
    country, subdiv : str
        Holiday calendar of the ``holidays`` package.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        If the series is too short for ten windows in every part.
    """
    loads = series.to_numpy(dtype=np.float64)
    samples = len(loads) - window
    n_train, n_val = int(samples * SPLIT[0]), int(samples * SPLIT[1])
    if min(n_train, n_val, samples - n_train - n_val) < 10:
        raise DataError(f"{len(loads)} steps are too few for windows of {window} and a 7:2:1 split")
    seen = loads[: n_train + window]
    lo, hi = float(seen.min()), float(seen.max())
    if hi == lo:
        raise DataError("the training part of the load is constant; nothing to forecast")
    e = (loads - lo) / (hi - lo)
    x_steps = np.concatenate([e[:, None], _calendar(series.index, country, subdiv)], axis=1)
    starts = np.arange(samples)
    x = np.lib.stride_tricks.sliding_window_view(x_steps, window, axis=0)[:samples].transpose(0, 2, 1)
    target_pos = starts + window
    splits = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val),
              "test": slice(n_train + n_val, samples)}
    return Dataset(x=np.ascontiguousarray(x), y=e[target_pos][:, None], index=series.index[target_pos],
                   loads=loads, target_pos=target_pos, splits=splits, load_min=lo, load_max=hi)

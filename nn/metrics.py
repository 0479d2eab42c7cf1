"""Forecast accuracy in MW and the naive baselines on the same targets.

RMSE, MAE and MAPE (mean absolute percentage error, in %) of forecasts against
the actual loads; baselines (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, 3rd ed., section 5.2): persistence (the last value
of the window) and the seasonal naive forecasts with a daily and a weekly
season (the same half hour 48 and 336 steps earlier).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Scores", "scores", "baselines"]

DAY = 48
WEEK = 7 * DAY


@dataclasses.dataclass(frozen=True)
class Scores:
    """Accuracy of forecasts against the actual values (:func:`scores`).

    Attributes
    ----------
    rmse : float
        Root mean squared error, in the unit of the values (MW).
    mae : float
        Mean absolute error, in the same unit.
    mape : float
        Mean absolute percentage error, in %; NaN (undefined) when some actual value is 0.
    """

    rmse: float
    mae: float
    mape: float

    def as_dict(self) -> dict[str, float]:
        """``{"rmse", "mae", "mape"}``, for JSON output (a NaN MAPE stays NaN: write it with
        :func:`approx.strict_json.dumps`)."""
        return dataclasses.asdict(self)


def scores(forecast: np.ndarray, actual: np.ndarray) -> Scores:
    """RMSE, MAE and MAPE of forecasts against actual values.

    Parameters
    ----------
    forecast, actual : ndarray
        The same number of values (any shape; MW).

    Returns
    -------
    Scores
        MAPE is in % and NaN (undefined, not infinite) when some actual value is 0.
    """
    f, a = np.ravel(forecast), np.ravel(actual)
    err = f - a
    mape = float(100.0 * np.mean(np.abs(err) / np.abs(a))) if np.all(a != 0) else float("nan")
    return Scores(rmse=float(np.sqrt(np.mean(err**2))), mae=float(np.mean(np.abs(err))), mape=mape)


def baselines(loads: np.ndarray, target_pos: np.ndarray) -> dict[str, Scores]:
    """Scores of the naive forecasts of ``loads[target_pos]``.

    Parameters
    ----------
    loads : ndarray, shape (steps,)
        The series (MW).
    target_pos : ndarray of int, shape (targets,)
        Positions of the forecast targets (each >= 1).

    Returns
    -------
    dict
        ``persistence``, ``seasonal_naive_day`` (48 steps earlier) and
        ``seasonal_naive_week`` (336 steps earlier), each :class:`Scores`;
        a seasonal baseline is left out when some target has less than one
        season of history.
    """
    target_pos = np.asarray(target_pos)
    actual = loads[target_pos]
    out = {"persistence": scores(loads[target_pos - 1], actual)}
    for name, lag in (("seasonal_naive_day", DAY), ("seasonal_naive_week", WEEK)):
        if np.min(target_pos) >= lag:
            out[name] = scores(loads[target_pos - lag], actual)
    return out

"""Forecast accuracy in MW and the naive baselines on the same targets.

RMSE, MAE and MAPE (mean absolute percentage error, in %) of forecasts against
the actual loads; baselines (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, 3rd ed., section 5.2): persistence (the last value
of the window) and seasonal naive (the same half hour of the previous day,
48 steps earlier).
"""

from __future__ import annotations

import numpy as np

__all__ = ["scores", "baselines"]

DAY = 48


def scores(forecast: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """{"rmse", "mae", "mape"} of forecasts against actual values (same shape, MW)."""
    f, a = np.ravel(forecast), np.ravel(actual)
    err = f - a
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err))),
            "mape": float(100.0 * np.mean(np.abs(err) / np.abs(a)))}


def baselines(loads: np.ndarray, target_pos: np.ndarray) -> dict[str, dict[str, float]]:
    """Scores of the persistence and seasonal naive forecasts of ``loads[target_pos]``.

    Raises
    ------
    ValueError
        If a target has no value one day earlier.
    """
    if np.min(target_pos) < DAY:
        raise ValueError("seasonal naive needs a full day of history before every target")
    actual = loads[target_pos]
    return {"persistence": scores(loads[target_pos - 1], actual),
            "seasonal_naive": scores(loads[target_pos - DAY], actual)}

"""Forecast a dataset's validation and test parts and score them in MW beside the baselines."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from nn.data import DataError
from nn.features import Dataset
from nn.metrics import baselines, scores

__all__ = ["forecast", "evaluate", "forecaster_summary"]


def forecast(model, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Normalised forecasts, shape (samples,), for windows x of shape (samples, time, features)."""
    return np.concatenate([model.forward(x[i:i + batch]).ravel() for i in range(0, len(x), batch)])


@threadpool_limits.wrap(limits=1, user_api="blas")  # small matrices: see nn.training.train
def evaluate(model, data: Dataset) -> dict:
    """Validation and test RMSE/MAE/MAPE in MW, the baselines on the same targets, and the domain monitor
    (BLAS on one thread).

    Returns
    -------
    dict
        ``val`` and ``test`` (each rmse, mae, mape), ``baselines`` (see
        :func:`nn.metrics.baselines`) on the test part, ``baselines_val`` on the validation
        part, and ``outside_interval`` (domain monitor on the test windows).

    Raises
    ------
    DataError
        If the data's features per step differ from the model's input size.
    """
    if data.features != model.config.input_size:
        raise DataError(f"the model reads {model.config.input_size} features per step but the data has "
                        f"{data.features}: build the data with the window and lags the model was trained on")
    out = {}
    for part in ("val", "test"):
        x, _ = data.part(part)
        predicted = data.to_mw(forecast(model, x))
        out[part] = scores(predicted, data.loads[data.target_pos[data.splits[part]]])
    model.forward(data.part("test")[0])
    out["outside_interval"] = model.outside_interval()
    out["baselines"] = baselines(data.loads, data.target_pos[data.splits["test"]])
    out["baselines_val"] = baselines(data.loads, data.target_pos[data.splits["val"]])
    return out


def forecaster_summary(result: dict, history, train_info: dict) -> dict:
    """The figures of a finished training run, as ``approx train forecaster --json`` prints them and the model
    file keeps them (``summary``).

    Parameters
    ----------
    result : dict
        :func:`evaluate` of the trained model.
    history : nn.training.History
    train_info : dict
        The training settings to record.

    Returns
    -------
    dict
        Test and validation RMSE/MAE/MAPE (MW, %), epochs, seconds, the baselines, the domain monitor and
        ``train``.
    """
    return {
        "test_rmse": result["test"]["rmse"], "test_mae": result["test"]["mae"], "test_mape": result["test"]["mape"],
        "val_rmse": result["val"]["rmse"], "val_mape": result["val"]["mape"],
        "epochs_run": history.epochs_run, "best_epoch": history.best_epoch, "diverged": False,
        "train_seconds": history.seconds, "seconds_per_epoch": history.seconds / max(history.epochs_run, 1),
        "baselines": result["baselines"], "outside_interval": result["outside_interval"], "train": train_info,
    }

"""Forecast a dataset's validation and test parts and score them in MW beside the baselines."""

from __future__ import annotations

import dataclasses

import numpy as np
from threadpoolctl import threadpool_limits

from nn.data import DataError
from nn.features import Dataset
from nn.metrics import Scores, baselines, scores

__all__ = ["Evaluation", "forecast", "evaluate", "forecaster_summary"]


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """A forecaster scored on a dataset's validation and test parts (:func:`evaluate`).

    Attributes
    ----------
    val, test : nn.metrics.Scores
        RMSE and MAE (MW) and MAPE (%) of the model's forecasts on the validation and test parts.
    baselines, baselines_val : dict of str -> nn.metrics.Scores
        The naive forecasts (:func:`nn.metrics.baselines`) on the same test and validation targets.
    outside_interval : dict of str -> float
        The domain monitor on the test windows: per polynomial activation, the fraction of its inputs that
        fell outside its fitted interval.
    """

    val: Scores
    test: Scores
    baselines: dict
    baselines_val: dict
    outside_interval: dict

    def as_dict(self) -> dict:
        """The fields as nested dicts (every Scores as ``{"rmse", "mae", "mape"}``), for JSON output."""
        return dataclasses.asdict(self)


def forecast(model, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Normalised forecasts, shape (samples,), for windows x of shape (samples, time, features)."""
    return np.concatenate([model.forward(x[i:i + batch]).ravel() for i in range(0, len(x), batch)])


@threadpool_limits.wrap(limits=1, user_api="blas")  # small matrices: see nn.training.train
def evaluate(model, data: Dataset) -> Evaluation:
    """Validation and test RMSE/MAE/MAPE in MW, the baselines on the same targets, and the domain monitor
    (BLAS on one thread).

    Parameters
    ----------
    model : nn.forecaster.Forecaster
    data : nn.features.Dataset
        Windows built with the features the model was trained on.

    Returns
    -------
    Evaluation

    Raises
    ------
    DataError
        If the data's features per step differ from the model's input size.
    """
    if data.features != model.config.input_size:
        raise DataError(f"the model reads {model.config.input_size} features per step but the data has "
                        f"{data.features}: build the data with the window and lags the model was trained on")
    scored = {}
    for part in ("val", "test"):
        x, _ = data.part(part)
        predicted = data.to_mw(forecast(model, x))
        scored[part] = scores(predicted, data.loads[data.target_pos[data.splits[part]]])
    model.forward(data.part("test")[0])
    return Evaluation(scored["val"], scored["test"],
                      baselines=baselines(data.loads, data.target_pos[data.splits["test"]]),
                      baselines_val=baselines(data.loads, data.target_pos[data.splits["val"]]),
                      outside_interval=model.outside_interval())


def forecaster_summary(result: Evaluation, history, train_info: dict) -> dict:
    """The figures of a finished training run, as ``approx train forecaster --json`` prints them and the model
    file keeps them (``summary``).

    Parameters
    ----------
    result : Evaluation
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
        "test_rmse": result.test.rmse, "test_mae": result.test.mae, "test_mape": result.test.mape,
        "val_rmse": result.val.rmse, "val_mape": result.val.mape,
        "epochs_run": history.epochs_run, "best_epoch": history.best_epoch, "diverged": False,
        "train_seconds": history.seconds, "seconds_per_epoch": history.seconds / max(history.epochs_run, 1),
        "baselines": result.as_dict()["baselines"], "outside_interval": result.outside_interval, "train": train_info,
    }

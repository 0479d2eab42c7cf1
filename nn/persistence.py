"""Save and load a trained model (forecaster, MLP or RNN classifier): one ``.npz`` file with the weights and JSON metadata.

The metadata (key ``metadata`` in the archive, a JSON string) holds the model
configuration, each activation's registry name and -- for polynomials -- its
coefficients and interval, the data scaling and the training figures.  Loading
resolves every activation in the registry again and refuses one that is
missing or whose coefficients differ from those the model was trained with.
Files are written to a temporary file and renamed, so a crash never leaves a
half-written model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from approx.errors import ApproxError, UnknownNameError
from nn.forecaster import Forecaster, ForecasterConfig
from nn.network import MLPConfig, Network
from nn.rnn_classifier import RNNClassifier, RNNClassifierConfig

__all__ = ["save_model", "load_model", "ModelFileError", "FORMAT", "MODELS"]

FORMAT = "approx-model/1"
OLD_FORMATS = {"approx-forecaster/1": "forecaster"}
MODELS = {"forecaster": (Forecaster, ForecasterConfig), "mlp": (Network, MLPConfig),
          "rnn": (RNNClassifier, RNNClassifierConfig)}


class ModelFileError(ApproxError):
    """A model file that is missing, corrupt, or whose activations no longer match the registry."""


def save_model(path, model, extra: dict | None = None) -> None:
    """Write ``model`` (weights + metadata) to ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Target file (``.npz``).
    model : Forecaster, Network (built from an MLPConfig) or RNNClassifier
    extra : dict, optional
        JSON-serialisable metadata stored beside the configuration (data scaling, metrics).
    """
    path = Path(path)
    meta = {"format": FORMAT, "model": model.kind, "config": dataclasses.asdict(model.config),
            "activations": {role: act.describe() for role, act in model.activations().items()},
            **(extra or {})}
    arrays = {name: value for name, value in model.params.items()}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, metadata=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_model(path, registry=None) -> tuple[object, dict]:
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    path : str or Path
    registry : str or approx.Registry, optional
        Where its polynomial activations are looked up.

    Returns
    -------
    (model, metadata dict)
        The model is a Forecaster, Network or RNNClassifier, as saved (``metadata["model"]``).

    Raises
    ------
    ModelFileError
        If the file is missing or not a model file, an activation is missing
        from the registry, or a polynomial's coefficients differ from the saved ones.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["metadata"]))
            arrays = {k: archive[k] for k in archive.files if k != "metadata"}
    except FileNotFoundError:
        raise ModelFileError(f"no model file {path}; train one with approx train -o {path}") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        raise ModelFileError(f"{path} is not a model file written by approx train") from None
    kind = OLD_FORMATS.get(meta.get("format")) or (meta.get("model") if meta.get("format") == FORMAT else None)
    if kind not in MODELS:
        raise ModelFileError(f"{path} is not a model file written by approx train (format {meta.get('format')!r})")
    meta["model"] = kind
    model_class, config_class = MODELS[kind]
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()}
    config.setdefault("dtype", "float64")  # files from before the float32 path
    try:
        model = model_class(config_class(**config), registry=registry)
    except UnknownNameError as exc:
        raise ModelFileError(f"{path} was trained with an activation that is missing now: {exc}") from None
    for role, saved in meta["activations"].items():
        now = model.activations()[role].describe()
        if saved.get("coefficients") != now.get("coefficients") or saved.get("interval") != now.get("interval"):
            raise ModelFileError(f"the {role} activation {saved['name']!r} in the registry differs from the one "
                                 f"{path} was trained with; restore it or retrain")
    params = model.params
    if set(arrays) != set(params) or any(arrays[k].shape != params[k].shape for k in params):
        raise ModelFileError(f"{path}: its weights do not match its configuration")
    for name, value in arrays.items():
        params[name][...] = value
    return model, meta

"""Save and load a trained model (forecaster, MLP or RNN classifier): one ``.npz`` file with the weights and JSON metadata.

The metadata (key ``metadata`` in the archive, a JSON string) is an object with

- ``format`` (``approx-model/1``), ``model`` (``forecaster``, ``mlp`` or ``rnn``),
  ``config`` (the model's configuration dataclass as an object) and ``activations``
  (role -> the activation's registry name and, for polynomials, its coefficients and
  interval), written by :func:`save_model`;
- what the model was trained on, built by :func:`forecaster_metadata` or
  :func:`classifier_metadata`: ``data`` (the source and its SHA-256,
  :mod:`nn.provenance`; a forecaster's time and load columns and holiday calendar, a
  classifier's label column, steps per row and class labels), for a forecaster
  ``scaling`` (``load_min``, ``load_max`` in MW) and ``features`` (``window``,
  ``lags``), and ``summary`` (the training figures and settings, ``summary.train``; for
  a model trained on secret shares also ``secure`` (true) and the public settings of that
  run, e.g. ``frac_bits`` and ``truncation``).

Every non-finite number in the metadata is written as null (strict JSON).  Loading
resolves every activation in the registry again and refuses one that is
missing or whose coefficients differ from those the model was trained with.
Files are written whole or not at all (:func:`approx.atomic_file.atomic_write`),
so a crash or Ctrl-C never leaves a half-written model, and weights that are
not finite (a diverged run) are never written.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np

from approx.errors import ApproxError, UnknownNameError
from approx.strict_json import finite
from approx.atomic_file import atomic_write
from nn.forecaster import Forecaster, ForecasterConfig
from nn.network import MLPConfig, Network
from nn.rnn_classifier import RNNClassifier, RNNClassifierConfig

__all__ = ["save_model", "load_model", "model_kind", "forecaster_metadata", "classifier_metadata", "training_summary",
           "ModelFileError", "FORMAT", "MODELS"]

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
        JSON-serialisable metadata stored beside the configuration: :func:`forecaster_metadata` or
        :func:`classifier_metadata` (NaN and infinities are stored as null).

    Raises
    ------
    ModelFileError
        If a weight is NaN or infinite (nothing is written).
    OSError
        If the file cannot be written (the old file, if any, is kept).
    """
    meta = {"format": FORMAT, "model": model.kind, "config": dataclasses.asdict(model.config),
            "activations": {role: act.describe() for role, act in model.activations().items()},
            **finite(extra or {})}
    arrays = {name: value for name, value in model.params.items()}
    bad = [name for name, value in arrays.items() if not np.all(np.isfinite(value))]
    if bad:
        raise ModelFileError(f"{bad[0]} holds NaN or infinite weights; {path} was not written")
    with atomic_write(path) as fh:
        np.savez(fh, metadata=np.array(json.dumps(meta, allow_nan=False)), **arrays)


def forecaster_metadata(dataset, source: str, time_column: str = "timestamp", load_column: str = "load",
                        holidays: str = "GB/ENG", lags=(), summary: dict | None = None, *,
                        secure: dict | None = None) -> dict:
    """The metadata a forecaster's model file keeps beside its configuration (``extra`` of :func:`save_model`).

    Parameters
    ----------
    dataset : nn.features.Dataset
        The data it was trained on (its window and min-max scaling are recorded).
    source, time_column, load_column, holidays : str
        How that data was read (:func:`nn.provenance.series_record`); ``holidays`` as COUNTRY or
        COUNTRY/SUBDIVISION.
    lags : tuple of int
        The lagged-load features, in steps.
    summary : dict, optional
        The training figures and, under ``train``, the settings.
    secure : dict, optional
        For a model trained on secret shares, the public settings of that run (``frac_bits``, ``truncation``):
        recorded in ``summary.train`` beside ``secure: true``.

    Returns
    -------
    dict
        ``scaling``, ``data``, ``features``, ``summary``: what :func:`nn.provenance.model_dataset` reads back.
    """
    from nn.provenance import series_record

    return {"scaling": {"load_min": dataset.load_min, "load_max": dataset.load_max},
            "data": series_record(source, time_column, load_column, holidays),
            "features": {"window": int(dataset.window), "lags": [int(v) for v in lags]},
            "summary": training_summary(summary or {}, secure)}


def classifier_metadata(source: str, label_column: str, steps: int, classes: list, summary: dict, *,
                        secure: dict | None = None) -> dict:
    """The metadata a classifier's model file keeps beside its configuration (``extra`` of :func:`save_model`).

    Parameters
    ----------
    source : str
        ``digits`` or the CSV it was trained on (:func:`nn.provenance.source_record`).
    label_column : str
    steps : int
        Steps each row is read as (1 for the MLP).
    classes : list
        The class labels in the order of the outputs.
    summary : dict
        The training figures and, under ``train``, the settings (``seed`` at least; rescoring splits with it).
    secure : dict, optional
        As for :func:`forecaster_metadata`.

    Returns
    -------
    dict
        ``data`` and ``summary``: what :func:`nn.classifiers.classifier_data` reads back.
    """
    from nn.provenance import source_record

    return {"data": {**source_record(source), "label_column": label_column, "steps": steps, "classes": classes},
            "summary": training_summary(summary, secure)}


def training_summary(summary: dict, secure: dict | None = None) -> dict:
    """A model file's ``summary``: the training figures in strict JSON, ``train`` marked as a run on secret shares.

    Parameters
    ----------
    summary : dict
        The training figures and, under ``train``, the settings.
    secure : dict, optional
        For a model trained on secret shares, the public settings of that run (``frac_bits``, ``truncation``):
        added to ``train`` beside ``secure: true``.

    Returns
    -------
    dict
        A new dict (``summary`` is not changed) with every NaN or infinity as None.
    """
    if secure is not None:
        summary = {**summary, "train": {**summary.get("train", {}), "secure": True, **secure}}
    return finite(summary)


def model_kind(path) -> str | None:
    """The kind of model (``forecaster``, ``mlp``, ``rnn``) in the file ``path``, None if it is not a model file.

    Reads the metadata only, not the weights.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["metadata"]))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if not isinstance(meta, dict):
        return None
    return _kind(meta)


def _kind(meta: dict):
    """The model kind a file's metadata names (files of the older formats included), or None."""
    return OLD_FORMATS.get(meta.get("format")) or (meta.get("model") if meta.get("format") == FORMAT else None)


def _whole(value) -> bool:
    return type(value) is int and value >= 1


def _checked_config(path, config_class, saved) -> dict:
    """The saved configuration, refused unless every field is one of ``config_class``'s with a value of its type
    (whole numbers at least 0 where the default is one, texts, lists)."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    if not isinstance(saved, dict) or not set(saved) <= set(fields):
        raise ModelFileError(f"{path}: its metadata holds no {config_class.__name__} (fields "
                             f"{', '.join(sorted(set(saved) - set(fields))) if isinstance(saved, dict) else 'none'})")
    out = {}
    for name, value in saved.items():
        default = fields[name].default
        ok = (type(value) is int and value >= 0 if type(default) is int
              else isinstance(value, (int, float)) and not isinstance(value, bool) if isinstance(default, float)
              else type(value) is type(default) if isinstance(default, (str, bool))
              else isinstance(value, list) if isinstance(default, tuple) else True)
        if not ok:
            raise ModelFileError(f"{path}: its metadata gives {name} = {value!r}, not a value of the field's type")
        out[name] = tuple(value) if isinstance(value, list) else value
    return out


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
    if Path(path).is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["metadata"]))
            arrays = {k: archive[k] for k in archive.files if k != "metadata"}
    except FileNotFoundError:
        raise ModelFileError(f"no model file {path}; train one with approx train -o {path}") from None
    except EOFError:
        raise ModelFileError(f"{path} is empty (0 bytes), not a model file; train one with approx train -o {path}") \
            from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        raise ModelFileError(f"{path} is not a model file written by approx train") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path} is not a model file written by approx train")
    kind = _kind(meta)
    if kind not in MODELS:
        raise ModelFileError(f"{path} is not a model file written by approx train (format {meta.get('format')!r})")
    meta["model"] = kind
    model_class, config_class = MODELS[kind]
    config = _checked_config(path, config_class, meta.get("config"))
    config.setdefault("dtype", "float64")  # files from before the float32 path
    features = meta.get("features", {})
    if not isinstance(features, dict) or not (features.get("window") is None or _whole(features["window"])) or \
            not all(_whole(v) for v in features.get("lags", [])):
        raise ModelFileError(f"{path}: its metadata names input features that are not a window and lags in steps")
    try:
        model = model_class(config_class(**config), registry=registry)
    except UnknownNameError as exc:
        raise ModelFileError(f"{path} was trained with an activation that is missing now: {exc}") from None
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ModelFileError(f"{path}: its configuration cannot build a model ({exc})") from None
    saved_activations = meta.get("activations")
    if not isinstance(saved_activations, dict) or set(saved_activations) != set(model.activations()) or not all(
            isinstance(v, dict) for v in saved_activations.values()):
        raise ModelFileError(f"{path}: its metadata does not describe the model's activations")
    for role, saved in saved_activations.items():
        now = model.activations()[role].describe()
        if saved.get("coefficients") != now.get("coefficients") or saved.get("interval") != now.get("interval"):
            raise ModelFileError(f"the {role} activation {saved.get('name')!r} in the registry differs from the one "
                                 f"{path} was trained with; restore it or retrain")
    params = model.params
    if set(arrays) != set(params) or any(arrays[k].shape != params[k].shape for k in params):
        raise ModelFileError(f"{path}: its weights do not match its configuration")
    for name, value in arrays.items():
        params[name][...] = value
    return model, meta

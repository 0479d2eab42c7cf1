"""The model owner's inputs to a secure inference: a trained forecaster as plain arrays and a public description.

:func:`mpc.inference.forecast_program` receives no model object, only what
:func:`forecaster_inputs` returns: the configuration as a dict, the
activations (role -> :class:`approx.Activation`, read from the registry as
the model was trained with them), the weights as numpy arrays and the input
features (window, lags) the data owner builds its windows with.  ``mpc``
checks on its side that every activation is one it can evaluate on shares.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from approx.errors import ApproxError

__all__ = ["forecaster_inputs", "read_forecaster_inputs"]


def forecaster_inputs(model, meta: dict) -> dict:
    """What the model owner holds, as :func:`mpc.inference.forecast_program` takes it.

    Parameters
    ----------
    model : nn.forecaster.Forecaster
        A trained forecaster (e.g. read by :func:`nn.persistence.load_model`).
    meta : dict
        Its model file's metadata (``model`` and ``features``).

    Returns
    -------
    dict
        ``config`` (the ForecasterConfig as a dict), ``activations`` (role -> approx.Activation), ``weights``
        (name -> ndarray, copies of the parameters, e.g. ``lstm1.weight_ih`` of shape (F, 4H)) and ``features``
        (``window``, ``lags`` and ``scaling``: the smallest and largest load the model was trained with, which the
        data owner must scale its loads by).

    Raises
    ------
    ApproxError
        If the file holds a classifier.
    """
    if meta["model"] != "forecaster":
        raise ApproxError(f"the model file holds a classifier ({meta['model']}); secure inference runs forecasters")
    return {"config": dataclasses.asdict(model.config),
            "activations": {role: act.activation for role, act in model.activations().items()},
            "weights": {name: np.array(value) for name, value in model.params.items()},
            "features": {**meta.get("features", {}), "scaling": _scaling(meta)}}


def _scaling(meta: dict) -> tuple | None:
    scaling = meta.get("scaling")
    return None if not scaling else (float(scaling["load_min"]), float(scaling["load_max"]))


def read_forecaster_inputs(path, registry=None) -> tuple[dict, dict, object]:
    """:func:`forecaster_inputs` of the model file ``path``, with its metadata and the plaintext model.

    Parameters
    ----------
    path : str or Path
        A model file written by :func:`nn.persistence.save_model`.
    registry : str or approx.Registry, optional
        Where its polynomial activations are looked up.

    Returns
    -------
    (inputs, metadata, model)

    Raises
    ------
    nn.persistence.ModelFileError
        If the file cannot be read (see :func:`nn.persistence.load_model`).
    ApproxError
        If it holds a classifier.
    """
    from nn.persistence import load_model

    model, meta = load_model(path, registry=registry)
    return forecaster_inputs(model, meta), meta, model

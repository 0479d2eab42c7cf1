"""nn.secure_inputs: a model file read into the plain arrays and description the secure inference takes."""

import numpy as np
import pytest

from approx import ApproxError
from nn.forecaster import Forecaster, ForecasterConfig
from nn.network import MLPConfig, Network
from nn.persistence import save_model
from nn.secure_inputs import read_forecaster_inputs
from tests.strategies import POLY_CELL, POLY_GATE


def test_a_forecaster_file_gives_copies_of_its_weights_its_activations_and_features(tmp_path, poly_registry):
    model = Forecaster(ForecasterConfig(6, 4, 3, POLY_GATE, POLY_CELL, "linear", "square", "identity"),
                       registry=poly_registry, seed=3)
    save_model(tmp_path / "m.npz", model, {"features": {"window": 5, "lags": [48]},
                                           "scaling": {"load_min": 20000.0, "load_max": 45000.0}})
    inputs, meta, read = read_forecaster_inputs(tmp_path / "m.npz", registry=poly_registry)
    assert set(inputs["weights"]) == set(model.params)
    assert all(np.array_equal(inputs["weights"][k], v) for k, v in model.params.items())
    inputs["weights"]["dense2.bias"] += 1.0  # copies: the model read stays as it was
    assert np.array_equal(read.params["dense2.bias"], model.params["dense2.bias"])
    assert inputs["config"]["hidden_size"] == 4
    assert inputs["features"] == {"window": 5, "lags": [48], "scaling": (20000.0, 45000.0)}  # announced to the data owner
    assert {role: act.name for role, act in inputs["activations"].items()} == {
        "gate": POLY_GATE, "cell": POLY_CELL, "hidden": "square", "output": "identity"}


def test_a_classifier_file_is_refused(tmp_path, poly_registry):
    save_model(tmp_path / "c.npz", Network(MLPConfig(4, (3,), 2), registry=poly_registry))
    with pytest.raises(ApproxError, match="classifier"):
        read_forecaster_inputs(tmp_path / "c.npz", registry=poly_registry)

"""Finite-difference gradient checks of every layer, both cells, exact and polynomial activations."""

import dataclasses

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from tests.strategies import POLY_CELL, POLY_GATE
from tests.gradients import finite_difference_check as check
from nn.activation import LayerActivation
from nn.dense import Dense
from nn.forecaster import Forecaster, ForecasterConfig
from nn.losses import mse, softmax_cross_entropy
from nn.lstm import LSTM
from nn.rnn import RNN

def acts(poly: bool, mode: str, registry):
    names = (POLY_GATE, POLY_CELL) if poly else ("sigmoid", "tanh")
    return [LayerActivation(n, registry=registry, derivative=mode) for n in names]


shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
variants = st.sampled_from([(False, "poly"), (True, "poly"), (False, "output")])


def check_sequence_layer(layer, shape, rng) -> None:
    """Loss = sum(h * weights) over every step: checks the parameters' and the input's gradients."""
    n, t, d, hid = shape
    x = rng.normal(size=(n, t, d))
    weights = rng.normal(size=(n, t, hid))

    def loss():
        return float(np.sum(layer.forward(x) * weights))

    loss()
    dx = layer.backward(weights)
    check(layer.params, layer.grads, loss, rng)
    check({"x": x}, {"x": dx}, loss, rng)


@given(shapes, st.sampled_from(["standard", "linear"]), variants, st.integers(0, 2**31))
def test_lstm_gradients(poly_registry, shape, cell, variant, seed):
    rng = np.random.default_rng(seed)
    gate, cand = acts(*variant, poly_registry)
    check_sequence_layer(LSTM(shape[2], shape[3], gate, cand, cand, cell, rng), shape, rng)


@given(shapes, variants, st.integers(0, 2**31))
def test_rnn_gradients(poly_registry, shape, variant, seed):
    rng = np.random.default_rng(seed)
    _, cand = acts(*variant, poly_registry)
    check_sequence_layer(RNN(shape[2], shape[3], cand, rng), shape, rng)


@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5),
       st.sampled_from(["sigmoid", "tanh", "identity", "square", "swish", "swish-chebyshev-4[-8,8]", POLY_GATE]),
       st.sampled_from(["mse", "cross_entropy"]), st.integers(0, 2**31))
def test_dense_and_loss_gradients(poly_registry, n, d, k, activation, loss_name, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(d, k, LayerActivation(activation, registry=poly_registry), rng)
    x = rng.normal(size=(n, d))
    target = rng.normal(size=(n, k)) if loss_name == "mse" else rng.integers(0, k, n)
    loss_fn = mse if loss_name == "mse" else softmax_cross_entropy

    def loss():
        return loss_fn(layer.forward(x), target)[0]

    _, d_out = loss_fn(layer.forward(x), target)
    dx = layer.backward(d_out)
    check(layer.params, layer.grads, loss, rng)
    check({"x": x}, {"x": dx}, loss, rng)


@pytest.mark.parametrize("cell,highway", [("standard", 0), ("linear", 0), ("standard", 2)])
@pytest.mark.parametrize("poly", [False, True])
def test_forecaster_loss_and_grads(poly_registry, cell, poly, highway):
    config = ForecasterConfig(input_size=5, hidden_size=4, dense_size=3, cell=cell,
                              gate_activation=POLY_GATE if poly else "sigmoid",
                              cell_activation=POLY_CELL if poly else "tanh",
                              hidden_activation="square", output_activation="identity", highway=highway,
                              highway_features=(0, 3), dtype="float64")
    model = Forecaster(config, registry=poly_registry, seed=3)
    rng = np.random.default_rng(0)
    if highway:  # zero-initialised, it starts as the plain model; then give it weights so that it matters
        x0 = rng.normal(size=(2, 6, 5))
        plain = Forecaster(dataclasses.replace(config, highway=0), registry=poly_registry, seed=3)
        assert np.array_equal(model.forward(x0), plain.forward(x0))
        model.layers["highway"].params["weight"][:] = rng.normal(size=(2 * 2, 1))
    x, y = rng.normal(size=(3, 6, 5)), rng.normal(size=(3, 1))
    loss, grads = model.loss_and_grads(x, y)
    assert set(grads) == set(model.params)
    assert all(grads[k].shape == model.params[k].shape for k in grads)
    check(model.params, grads, lambda: model.loss_and_grads(x, y)[0], rng, per_param=4)


def test_output_mode_with_polynomials_is_close_to_the_true_gradient(poly_registry):
    # y(1 - y) is not p'(z): the output-mode gradient is a surrogate; it must still point downhill
    rng = np.random.default_rng(1)
    gate, cand = acts(True, "output", poly_registry)
    layer = LSTM(3, 4, gate, cand, cand, "standard", rng)
    x, weights = rng.normal(size=(2, 5, 3)) * 0.5, rng.normal(size=(2, 5, 4))
    layer.forward(x)
    layer.backward(weights)
    surrogate = {k: v.copy() for k, v in layer.grads.items()}
    exact_gate, exact_cand = acts(True, "poly", poly_registry)
    layer.gate, layer.candidate, layer.cell_activation = exact_gate, exact_cand, exact_cand
    layer.forward(x)
    layer.backward(weights)
    a = np.concatenate([surrogate[k].ravel() for k in sorted(surrogate)])
    b = np.concatenate([layer.grads[k].ravel() for k in sorted(surrogate)])
    assert a @ b > 0.5 * np.linalg.norm(a) * np.linalg.norm(b)

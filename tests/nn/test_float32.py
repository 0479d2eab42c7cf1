"""The float32 path and the compiled LSTM kernels: against numpy references and against float64."""

import dataclasses
import json

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from approx import ApproxError, Registry, fit
from tests.strategies import POLY_CELL, POLY_GATE
from nn import lstm_kernels
from nn.activation import LayerActivation
from nn.dtypes import float_dtype
from nn.forecaster import Forecaster, ForecasterConfig
from nn.lstm import LSTM
from nn.network import MLPConfig, Network
from nn.persistence import load_model, save_model
from nn.rnn_classifier import RNNClassifier, RNNClassifierConfig

DTYPES = st.sampled_from(["float32", "float64"])
EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}


@pytest.fixture(scope="module")
def degree_registry(tmp_path_factory):
    """Sigmoid and tanh fits of odd and even degrees, on a shifted and on a symmetric interval."""
    reg = Registry(tmp_path_factory.mktemp("degrees") / "r.json")
    for degree in (2, 3, 6, 9):
        reg.add(fit("sigmoid", degree, interval=(-6.0, 5.0)))
        reg.add(fit("tanh", degree, interval=(-3.0, 3.0)))
    return reg


def _kernel_values(activation, z, dtype):
    out, slope = np.empty_like(z), np.empty_like(z)
    sp = lstm_kernels.spec(activation, dtype)
    lstm_kernels._apply(sp, z, out)
    lstm_kernels._slope(sp, z, out, slope)
    return out, slope


@given(st.sampled_from(["sigmoid", "tanh", "swish", "relu"]), DTYPES, st.integers(0, 2**31))
def test_exact_activations_match_numpy_to_a_few_ulps(name, dtype, seed):
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.normal(0, 4, 500), rng.uniform(-30, 30, 100), 10.0 ** rng.uniform(-12, 1, 100),
                        [0.0, -0.0, 20.0, -20.0, 1e-30]]).astype(dtype)
    act = LayerActivation(name)
    out, slope = _kernel_values(act, z, dtype)
    reference = act.forward(z.astype(np.float64))
    # relative for tanh and relu; sigmoid = (1 + tanh(z/2)) / 2 and swish = z sigmoid(z) are accurate
    # to eps absolutely, eps |z| for swish (both cancel where sigmoid underflows to 0)
    tol = 8 * EPS[dtype] * (np.abs(reference) + (name == "sigmoid") + (name == "swish") * np.abs(z.astype(float)))
    assert np.all(np.abs(out - reference) <= tol)
    assert np.allclose(slope, act.grad(z.astype(np.float64), reference), rtol=0, atol=64 * EPS[dtype])


@given(st.sampled_from([2, 3, 6, 9]), st.sampled_from(["sigmoid", "tanh"]), st.booleans(), st.sampled_from(["poly", "output"]),
       DTYPES, st.integers(0, 2**31))
def test_polynomials_of_every_degree_match_their_registry_evaluation(degree_registry, degree, func, clip, mode,
                                                                     dtype, seed):
    interval = "[-6,5]" if func == "sigmoid" else "[-3,3]"
    act = LayerActivation(f"{func}-chebyshev-{degree}{interval}", registry=degree_registry, derivative=mode,
                          clip=clip)
    z = np.random.default_rng(seed).normal(0, 4, 300).astype(dtype)
    out, slope = _kernel_values(act, z, dtype)
    z64 = z.astype(np.float64)
    reference = act.forward(z64)
    # Horner's rounding error is bounded by (2 degree + 2) eps sum |a_k t^k| (Higham, Accuracy and
    # Stability of Numerical Algorithms, 2nd ed., eq. 5.3); float32 coefficients add eps sum |a_k t^k|
    poly = act.activation
    t = np.abs(poly.scale * (np.clip(z64, *act.interval) if clip else z64) + poly.shift)
    powers = t[:, None] ** np.arange(degree + 1)
    assert np.all(np.abs(out - reference) <= (2 * degree + 4) * EPS[dtype] * (powers @ np.abs(poly.power_coef)))
    grad = act.grad(z64, reference if mode == "poly" else out.astype(np.float64))
    if mode == "poly":
        dcoef = np.abs(poly.power_coef[1:] * np.arange(1, degree + 1) * poly.scale)
        bound = (2 * degree + 4) * EPS[dtype] * (powers[:, :-1] @ dcoef)
    else:  # y (1 - y) or 1 - y^2 from the kernel's own output y
        bound = 4 * EPS[dtype] * (1.0 + out.astype(np.float64) ** 2)
    assert np.all(np.abs(slope - grad) <= bound)


def _numpy_lstm(layer, x):
    """The recurrence of nn.lstm written step by step with the registry's numpy activations (float64)."""
    p = {k: v.astype(np.float64) for k, v in layer.params.items()}
    n, steps, _ = x.shape
    hid = layer.hidden_size
    h, s, out = np.zeros((n, hid)), np.zeros((n, hid)), []
    for t in range(steps):
        z = x[:, t] @ p["weight_ih"] + h @ p["weight_hh"] + p["bias"]
        i, f, o = (layer.gate.forward(z[:, k * hid:(k + 1) * hid]) for k in range(3))
        s = layer.candidate.forward(z[:, 3 * hid:]) * i + s * f
        h = o * (layer.cell_activation.forward(s) if layer.cell == "standard" else s)
        out.append(h)
    return np.stack(out, axis=1)


@given(st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 5), st.integers(1, 9)),
       st.sampled_from(["standard", "linear"]), st.booleans(), DTYPES, st.integers(0, 2**31))
def test_lstm_forward_matches_a_step_by_step_numpy_loop(poly_registry, shape, cell, poly, dtype, seed):
    n, steps, d, hid = shape
    rng = np.random.default_rng(seed)
    gate, cand = (LayerActivation(name, registry=poly_registry)
                  for name in ((POLY_GATE, POLY_CELL) if poly else ("sigmoid", "tanh")))
    layer = LSTM(d, hid, gate, cand, cand, cell, rng, dtype)
    x = rng.normal(size=(n, steps, d))
    ours = layer.forward(x.astype(dtype))
    assert ours.dtype == float_dtype(dtype)
    assert np.allclose(ours, _numpy_lstm(layer, x.astype(dtype).astype(np.float64)), rtol=0,
                       atol=200 * EPS[dtype] * steps)


@pytest.mark.parametrize("poly,cell", [(False, "standard"), (True, "standard"), (True, "linear")])
def test_float32_gradients_agree_with_float64_to_float32_precision(poly_registry, poly, cell):
    config = ForecasterConfig(input_size=7, hidden_size=6, dense_size=4, cell=cell,
                              gate_activation=POLY_GATE if poly else "sigmoid",
                              cell_activation=POLY_CELL if poly else "tanh", dtype="float64")
    wide = Forecaster(config, registry=poly_registry, seed=1, output_bias=0.5)
    narrow = Forecaster(dataclasses.replace(config, dtype="float32"), registry=poly_registry, seed=1,
                        output_bias=0.5)
    for name, p in wide.params.items():
        narrow.params[name][...] = p  # the same weights, rounded to float32
        p[...] = narrow.params[name]  # and float64 starts from exactly those
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 1, (16, 20, 7)).astype(np.float32), rng.uniform(0, 1, (16, 1)).astype(np.float32)
    loss64, grads64 = wide.loss_and_grads(x, y)
    loss32, grads32 = narrow.loss_and_grads(x, y)
    assert all(grads32[k].dtype == np.float32 and grads64[k].dtype == np.float64 for k in grads64)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    g64 = np.concatenate([grads64[k].ravel() for k in sorted(grads64)])
    g32 = np.concatenate([grads32[k].ravel() for k in sorted(grads64)]).astype(np.float64)
    # the 20-step recursion's rounding: measured 2.4 float32 ulps of the whole gradient; 50 allowed
    assert np.linalg.norm(g32 - g64) <= 50 * EPS["float32"] * np.linalg.norm(g64)
    assert np.linalg.norm(g32 - g64) > 0  # float32 was really used


def test_every_model_trains_in_its_dtype(poly_registry):
    rng = np.random.default_rng(0)
    models = [(Forecaster(ForecasterConfig(input_size=3, hidden_size=4, dense_size=2, dtype="float32")),
               rng.normal(size=(5, 6, 3)), rng.normal(size=(5, 1))),
              (Network(MLPConfig(4, (5,), 3, POLY_GATE, dtype="float32"), registry=poly_registry),
               rng.normal(size=(5, 4)), rng.integers(0, 3, 5)),
              (RNNClassifier(RNNClassifierConfig(4, 5, 3, POLY_CELL, dtype="float32"), registry=poly_registry),
               rng.normal(size=(5, 2, 4)), rng.integers(0, 3, 5))]
    for model, x, y in models:
        loss, grads = model.loss_and_grads(x, y)
        assert np.isfinite(loss)
        assert all(p.dtype == np.float32 for p in model.params.values())
        assert all(g.dtype == np.float32 and g.shape == model.params[k].shape for k, g in grads.items())
        assert model.forward(x).dtype == np.float32
    with pytest.raises(ApproxError, match="float32 or float64"):
        Forecaster(ForecasterConfig(dtype="float16"))


def test_a_float32_model_file_loads_as_float32_and_an_old_file_as_float64(tmp_path):
    model = Forecaster(ForecasterConfig(input_size=3, hidden_size=4, dense_size=2, dtype="float32"))
    save_model(tmp_path / "m.npz", model)
    loaded, meta = load_model(tmp_path / "m.npz")
    assert meta["config"]["dtype"] == "float32" and loaded.params["lstm1.weight_ih"].dtype == np.float32
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    assert np.array_equal(loaded.forward(x), model.forward(x))
    # a file written before the dtype existed: its float64 weights stay float64
    with np.load(tmp_path / "m.npz") as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays.pop("metadata")))
    del meta["config"]["dtype"]
    np.savez(tmp_path / "old.npz", metadata=np.array(json.dumps(meta)),
             **{k: v.astype(np.float64) for k, v in arrays.items()})
    old, _ = load_model(tmp_path / "old.npz")
    assert old.config.dtype == "float64" and old.params["lstm1.weight_ih"].dtype == np.float64

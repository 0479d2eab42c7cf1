"""Secure inference of the forecaster: the same forecasts as the plaintext model, in process and over TCP,
at the round and byte counts of the accounting's formulas; non-polynomial models refused."""

import dataclasses
import os
import time

import numpy as np
import pytest

import approx
from tests.strategies import POLY_CELL, POLY_GATE
from mpc.forecaster import SecureForecaster, check_activations, weight_bounds
from mpc.launch import run
from mpc.wire import TransportError
from nn.forecaster import Forecaster, ForecasterConfig
from nn.persistence import save_model

B, T, F, H, D = 3, 4, 5, 4, 3
# these tests compare forecasts with plaintext: the public bounds of the small random models reach a little
# outside the intervals (the forecasts stay inside), and the run is short
LOOSE = {"allow_out_of_range": True}


def program(session, config, names, registry, weights, x):
    acts = {role: approx.get(name, registry=registry) for role, name in names.items()}
    model = SecureForecaster(session, config, acts, weights if session.comm.position(0) is not None else None,
                             weight_bounds(weights))
    mine = session.comm.position(1) is not None
    return model.forecast(x if mine else None, x.shape, float(np.max(np.abs(x))))


def small_model(registry, cell, hidden="square", output="identity", highway=0):
    config = ForecasterConfig(F, H, D, POLY_GATE, POLY_CELL, cell, hidden, output, highway=highway,
                              highway_features=(0, 4))
    model = Forecaster(config, registry=registry, seed=1, output_bias=0.5)
    rng = np.random.default_rng(2)
    for p in model.params.values():
        p[...] = rng.uniform(-0.5, 0.5, p.shape)
    return model


def expected_costs(cell):
    """Rounds and bytes party 0 sends, from the schedule in mpc/forecaster.py (2 parties)."""
    weights = F * 4 * H + 3 * H * 4 * H + H * D + D
    per_layer = T * B * H + T * 2 * B * 4 * H  # h opened once; t and t^2 of the gates
    if cell == "standard":
        per_layer += (2 + 4 * (T - 1)) * B * H + T * 2 * B * H + T * 2 * B * H  # s update, tanh(s), o tanh(s)
        rounds = 7 * (T + 1) + 4
    else:
        per_layer += (2 + 3 * (T - 1)) * B * H + T * 2 * B * H  # s update (s opened by h = o s), o s
        rounds = 5 * (T + 1) + 4
    opened = weights + B * T * F + 2 * per_layer + B * D + B * D  # hidden square: u1 and a1
    return rounds, 8 * opened + 8 * B  # and the forecasts, to party 1


@pytest.mark.parametrize("cell", ["standard", "linear"])
def test_secure_forecasts_equal_plaintext_and_costs_match_the_formulas(poly_registry, cell):
    model = small_model(poly_registry, cell)
    x = np.random.default_rng(3).uniform(0, 1, (B, T, F))
    names = {role: act.name for role, act in model.activations().items()}
    args = (dataclasses.asdict(model.config), names, str(poly_registry.path), dict(model.params), x)
    local = run(program, 2, args=args, seed=b"s" * 16, session_options=LOOSE)[0]
    plain = model.forward(x)[:, 0]
    assert np.max(np.abs(local["value"] - plain)) < 1e-3
    rounds, sent = expected_costs(cell)
    assert local["stats"].rounds == rounds == local["stats"].floor_rounds
    assert local["stats"].bytes_by_party[0] == sent
    remote = run(program, 2, transport="tcp", args=args, seed=b"s" * 16, timeout=30.0, session_options=LOOSE)
    assert remote[0]["value"] is None and np.array_equal(remote[1]["value"], local["value"])
    assert remote[0]["stats"].bytes_by_party == local["stats"].bytes_by_party


def test_highway_and_polynomial_hidden_layer(poly_registry):
    model = small_model(poly_registry, "standard", hidden=POLY_CELL, output="square", highway=2)
    x = np.random.default_rng(4).uniform(0, 1, (B, T, F))
    names = {role: act.name for role, act in model.activations().items()}
    out = run(program, 2, args=(dataclasses.asdict(model.config), names, str(poly_registry.path),
                                dict(model.params), x), session_options=LOOSE)[0]["value"]
    assert np.max(np.abs(out - model.forward(x)[:, 0])) < 1e-3


def dying_inference(session, *args):
    """forecast_program, but the model owner's process dies in its second batch."""
    from mpc import forecaster
    from mpc.inference import forecast_program

    original, calls = forecaster.SecureForecaster.forecast, []

    def forecast(self, *a):
        calls.append(1)
        if len(calls) == 2 and session.comm.position(0) is not None:
            os._exit(9)
        return original(self, *a)

    forecaster.SecureForecaster.forecast = forecast
    return forecast_program(session, *args)


def test_a_party_killed_mid_inference_stops_the_other_within_the_timeout(poly_registry, tmp_path):
    model = small_model(poly_registry, "linear")
    save_model(tmp_path / "m.npz", model)
    before = (tmp_path / "m.npz").read_bytes()
    x = np.random.default_rng(5).uniform(0, 1, (4, T, F))
    owner = {"config": dataclasses.asdict(model.config), "weights": dict(model.params), "features": {},
             "activations": {role: act.activation for role, act in model.activations().items()}}
    settings = {"frac_bits": 12, "budget": 1e-3, "allow_out_of_range": True}
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        run(dying_inference, 2, transport="tcp", timeout=20.0, args=(owner, {"x": x, "batch_size": 2}, settings))
    assert "party 0: exited with code 9" in str(info.value) and "party 1: party 0 disconnected" in str(info.value)
    assert time.monotonic() - start < 20.0
    assert (tmp_path / "m.npz").read_bytes() == before


def test_non_polynomial_models_are_refused_with_the_layer_and_the_fix(poly_registry):
    with pytest.raises(approx.ApproxError, match="hidden activation of this model is relu.*--hidden-activation square"):
        check_activations({"gate": approx.get(POLY_GATE, registry=poly_registry), "hidden": approx.get("relu")})

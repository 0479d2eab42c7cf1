"""Training lowers the validation loss, is reproducible, and a saved model loads back only against the same activations."""

import json

import numpy as np
import pytest

from approx import Registry, fit
from tests.strategies import POLY_CELL, POLY_GATE
from nn.data import load_series
from nn.evaluation import evaluate
from nn.features import make_dataset
from nn.forecaster import Forecaster, ForecasterConfig
from nn.persistence import ModelFileError, load_model, save_model
from nn.training import TrainConfig, evaluate_loss, train, train_to_the_last_epoch


@pytest.fixture(scope="module")
def small_data():
    data = make_dataset(load_series("taylor"))
    # the first 400 training and 100 validation windows keep the tests fast
    x, y = data.part("train")
    vx, vy = data.part("val")
    return data, (x[:400], y[:400]), (vx[:100], vy[:100])


def small_model(registry, poly=False, cell="standard", seed=0, output_bias=None):
    config = ForecasterConfig(hidden_size=8, dense_size=4, cell=cell,
                              gate_activation=POLY_GATE if poly else "sigmoid",
                              cell_activation=POLY_CELL if poly else "tanh",
                              hidden_activation="square", output_activation="identity")
    return Forecaster(config, registry=registry, seed=seed, output_bias=output_bias)


@pytest.mark.parametrize("poly,cell", [(False, "standard"), (True, "linear"), (True, "standard")])
def test_a_few_epochs_lower_the_validation_loss(poly_registry, small_data, poly, cell):
    _, tr, va = small_data
    model = small_model(poly_registry, poly, cell)
    before = evaluate_loss(model, *va)
    h = train(model, tr, va, TrainConfig(epochs=4, batch_size=16, lr=0.1, patience=10))
    assert min(h.val_loss) < 0.5 * before and not h.diverged
    if poly:
        assert set(h.outside_interval[-1]) >= {"lstm1.i", "lstm1.f", "lstm1.o", "lstm1.g"}
        assert all(0.0 <= v <= 1.0 for v in h.outside_interval[-1].values())


def test_per_sample_sgd_and_output_derivative_mode_train(poly_registry, small_data):
    _, (x, y), va = small_data
    config = ForecasterConfig(hidden_size=8, dense_size=4, gate_activation=POLY_GATE, cell_activation=POLY_CELL,
                              derivative="output", hidden_activation="square", output_activation="identity")
    model = Forecaster(config, registry=poly_registry, seed=1)
    before = evaluate_loss(model, *va)
    h = train(model, (x[:150], y[:150]), va, TrainConfig(epochs=2, batch_size=1, lr=0.01))
    assert min(h.val_loss) < 0.5 * before


def test_same_seed_same_run_bit_for_bit(poly_registry, small_data):
    _, tr, va = small_data
    runs = []
    for _ in range(2):
        model = small_model(poly_registry, True, seed=5)
        h = train(model, tr, va, TrainConfig(epochs=2, batch_size=8, lr=0.05, l2=1e-4, seed=9))
        runs.append((h.val_loss, {k: v.copy() for k, v in model.params.items()}))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])


def test_early_stopping_restores_the_best_epoch(poly_registry, small_data):
    _, tr, va = small_data
    model = small_model(poly_registry)
    h = train(model, tr, va, TrainConfig(epochs=30, batch_size=32, lr=3.0, patience=2))  # too high a rate
    assert h.epochs_run < 30 or h.diverged or h.best_epoch < 30
    if not h.diverged:
        assert evaluate_loss(model, *va) == pytest.approx(min(h.val_loss), rel=1e-12)


def test_training_to_the_last_epoch_keeps_the_last_epochs_weights(poly_registry, small_data):
    _, tr, va = small_data
    model = small_model(poly_registry, True)
    h = train_to_the_last_epoch(model, tr, va, TrainConfig(epochs=4, batch_size=32, lr=0.3, patience=5))
    assert not h.diverged and h.epochs_run == 4 and h.best_epoch < 4  # a run whose best epoch is not the last
    assert evaluate_loss(model, *va) == pytest.approx(h.val_loss[-1], rel=1e-12)


def test_gradient_clipping_bounds_the_step(poly_registry, small_data):
    _, (x, y), va = small_data
    model = small_model(poly_registry)
    before = {k: v.copy() for k, v in model.params.items()}
    train(model, (x[:1], y[:1]), va, TrainConfig(epochs=1, batch_size=1, lr=1.0, clip_norm=1e-3))
    step = np.sqrt(sum(np.sum((model.params[k] - before[k]) ** 2) for k in before))
    assert step <= 1e-3 * (1 + 1e-9)


def test_save_load_round_trip_and_refusals(tmp_path, small_data):
    data, tr, va = small_data
    reg = Registry(tmp_path / "r.json")
    for func in ("sigmoid", "tanh"):
        reg.add(fit(func, 3))
    model = small_model(reg, poly=True)
    train(model, tr, va, TrainConfig(epochs=1, batch_size=32, lr=0.1))
    path = tmp_path / "m.npz"
    save_model(path, model, {"note": "test"})
    loaded, meta = load_model(path, registry=reg)
    assert meta["note"] == "test" and meta["activations"]["gate"]["name"] == POLY_GATE
    x = data.part("test")[0][:5]
    assert np.array_equal(loaded.forward(x), model.forward(x))
    # the registry entry changes: loading refuses
    reg.add(fit("sigmoid", 5, name=POLY_GATE))
    with pytest.raises(ModelFileError, match="differs"):
        load_model(path, registry=reg)
    # the entry disappears: loading refuses
    reg.remove(POLY_GATE)
    with pytest.raises(ModelFileError, match="missing"):
        load_model(path, registry=reg)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "bad.npz", registry=reg)


def test_metadata_of_a_model_trained_on_shares_marks_its_training_settings(small_data):
    from nn.persistence import classifier_metadata, forecaster_metadata

    data, _, _ = small_data
    summary = {"test_mape": float("nan"), "train": {"seed": 3, "lr": 0.1}}
    plain = forecaster_metadata(data, "taylor", summary=summary)
    assert plain["summary"] == {"test_mape": None, "train": {"seed": 3, "lr": 0.1}}  # strict JSON, nothing added
    secure = forecaster_metadata(data, "taylor", summary=summary, secure={"frac_bits": 16, "truncation": "dealer"})
    assert secure["summary"]["train"] == {"seed": 3, "lr": 0.1, "secure": True, "frac_bits": 16, "truncation": "dealer"}
    assert summary["train"] == {"seed": 3, "lr": 0.1}  # the caller's summary is left as it was
    classifier = classifier_metadata("digits", "label", 1, [0, 1], {"train": {"seed": 0}}, secure={"frac_bits": 8})
    assert classifier["summary"]["train"] == {"seed": 0, "secure": True, "frac_bits": 8}


def test_evaluate_reports_mw_metrics_and_baselines(poly_registry, small_data):
    data, _, _ = small_data
    result = evaluate(small_model(poly_registry, True), data)
    assert set(result.baselines) == set(result.baselines_val) == {"persistence", "seasonal_naive_day",
                                                                 "seasonal_naive_week"}
    assert result.test.rmse >= result.test.mae > 0 and result.val.rmse >= result.val.mae > 0
    figures = json.loads(json.dumps(result.as_dict()))  # plain JSON, every Scores as its three numbers
    assert set(figures) == {"val", "test", "baselines", "baselines_val", "outside_interval"}
    assert figures["test"] == {"rmse": result.test.rmse, "mae": result.test.mae, "mape": result.test.mape}
    assert figures["baselines"]["persistence"]["mape"] == result.baselines["persistence"].mape


def test_clipping_keeps_polynomials_inside_their_interval(poly_registry):
    from nn.activation import LayerActivation

    act = LayerActivation(POLY_GATE, registry=poly_registry, clip=True)
    z = np.array([-20.0, -8.0, 0.0, 8.0, 20.0])
    assert np.array_equal(act.forward(z)[[0, 4]], act.forward(np.array([-8.0, 8.0])))
    assert np.array_equal(act.grad(z, act.forward(z))[[0, 4]], [0.0, 0.0])
    assert act.outside(z) == (2, 5)

"""The feed-forward back-propagation network and the Elman RNN as classifiers on the digits."""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from tests.strategies import POLY_CELL, POLY_GATE
from tests.gradients import finite_difference_check as check
from nn.classification_metrics import classification_scores
from nn.data import DataError
from nn.network import MLPConfig, Network
from nn.persistence import load_model, save_model
from nn.rnn_classifier import RNNClassifier, RNNClassifierConfig, recursive_gradients
from nn.tabular import load_table, stratified_split


def test_digits_equal_scikit_learns_copy():
    from sklearn.datasets import load_digits

    digits, ours = load_digits(), load_table("digits")
    assert np.array_equal(ours.x * 16.0, digits.data) and np.array_equal(ours.y, digits.target)
    assert ours.classes == list(range(10)) and ours.x.min() == 0.0 and ours.x.max() == 1.0


@given(st.lists(st.integers(0, 4), min_size=15, max_size=200), st.integers(0, 9))
def test_stratified_split_keeps_every_class_in_proportion(labels, seed):
    y = np.array(labels)
    counts = np.bincount(y, minlength=5)
    if counts[counts > 0].min() < 3:
        with pytest.raises(DataError, match="at least 3"):
            stratified_split(y, seed)
        return
    parts = stratified_split(y, seed)
    together = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(together), np.arange(len(y)))  # disjoint and complete
    for label in np.unique(y):
        n = counts[label]
        got = {name: int(np.sum(y[rows] == label)) for name, rows in parts.items()}
        assert got["val"] == max(1, round(0.2 * n)) and got["test"] == max(1, round(0.1 * n))


def test_csv_errors_name_the_problem(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,class\n1,2,x\n3,oops,y\n")
    with pytest.raises(DataError, match="no label column 'label'"):
        load_table(str(path))
    with pytest.raises(DataError, match=r"row 2, column 'b': 'oops' is not a number"):
        load_table(str(path), label_column="class")


def test_scores_match_scikit_learn():
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    rng = np.random.default_rng(0)
    actual, predicted = rng.integers(0, 6, 300), rng.integers(0, 5, 300)
    ours = classification_scores(predicted, actual, 6)
    assert ours["accuracy"] == pytest.approx(accuracy_score(actual, predicted))
    assert ours["macro_f1"] == pytest.approx(f1_score(actual, predicted, average="macro"))
    assert np.array_equal(ours["confusion_matrix"], confusion_matrix(actual, predicted, labels=range(6)))


@pytest.mark.parametrize("activation,loss", [("sigmoid", "cross_entropy"), (POLY_GATE, "cross_entropy"),
                                             (POLY_GATE, "mse")])
def test_mlp_gradients(poly_registry, activation, loss):
    rng = np.random.default_rng(1)
    output = activation if loss == "mse" else "identity"
    model = Network(MLPConfig(6, (5, 4), 3, activation, loss=loss, output_activation=output, dtype="float64"),
                    registry=poly_registry, seed=2)
    x, y = rng.uniform(0, 1, (7, 6)), rng.integers(0, 3, 7)
    loss, grads = model.loss_and_grads(x, y)
    assert loss == pytest.approx(model.loss(x, y)) and set(grads) == set(model.params)
    check(model.params, grads, lambda: model.loss(x, y), rng)


@pytest.mark.parametrize("activation,per_step", [("tanh", False), (POLY_CELL, False), ("tanh", True),
                                                 (POLY_CELL, True)])
def test_rnn_gradients_and_seed_004s_recursion(poly_registry, activation, per_step):
    rng = np.random.default_rng(3)
    model = RNNClassifier(RNNClassifierConfig(4, 5, 3, activation, per_step=per_step, dtype="float64"),
                          registry=poly_registry, seed=4)
    x, y = rng.uniform(0, 1, (6, 7, 4)), rng.integers(0, 3, 6)
    loss, grads = model.loss_and_grads(x, y)
    assert loss == pytest.approx(model.loss(x, y))
    check(model.params, grads, lambda: model.loss(x, y), rng)
    recursive = recursive_gradients(model, x, y)
    for name in grads:
        assert np.allclose(recursive[name], grads[name], rtol=1e-10, atol=1e-12)


def test_save_load_round_trip(tmp_path, poly_registry):
    rng = np.random.default_rng(5)
    for model, x in ((Network(MLPConfig(6, (4,), 3, POLY_GATE), registry=poly_registry), rng.uniform(0, 1, (5, 6))),
                     (RNNClassifier(RNNClassifierConfig(4, 3, 3), registry=poly_registry), rng.uniform(0, 1, (5, 2, 4)))):
        save_model(tmp_path / "m.npz", model, {"note": 1})
        loaded, meta = load_model(tmp_path / "m.npz", registry=poly_registry)
        assert meta["model"] == model.kind and type(loaded) is type(model) and loaded.config == model.config
        assert np.array_equal(loaded.forward(x), model.forward(x))

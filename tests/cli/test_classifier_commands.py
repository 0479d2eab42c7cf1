"""approx train mlp|rnn and approx evaluate on a classifier, the options of another model refused, --dtype."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import approx


@pytest.fixture
def digits_subset(tmp_path):
    """30 images per class, as a user CSV."""
    frame = pd.read_csv("nn/data/digits.csv.gz")
    frame = frame.groupby("label", group_keys=False).head(30).sample(frac=1.0, random_state=0)
    path = tmp_path / "digits30.csv"
    frame.rename(columns={"label": "digit"}).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("kind,extra", [("mlp", ["--hidden", "16"]), ("rnn", ["--hidden", "16", "--lr", "0.05"]),
                                        ("mlp", ["--hidden", "16", "--loss", "mse", "--lr", "2"])])
def test_classifiers_train_on_a_small_stratified_subset(tmp_path, monkeypatch, digits_subset, kind, extra):
    monkeypatch.chdir(tmp_path)
    args = ["train", kind, "--data", digits_subset, "--label-column", "digit", "--epochs", "40",
            *extra, "-o", "c.npz", "--json"]
    result = CliRunner().invoke(approx, args, catch_exceptions=False)
    summary = json.loads(result.stdout)
    assert summary["test_accuracy"] >= 0.6 and np.sum(summary["confusion_matrix"]) == 30  # 3 per class
    evaluated = json.loads(CliRunner().invoke(approx, ["evaluate", "c.npz", "--json"]).stdout)
    assert evaluated["test_accuracy"] == summary["test_accuracy"]
    text = CliRunner().invoke(approx, ["evaluate", "c.npz"]).output
    assert "confusion matrix" in text and "macro F1" in text


def test_options_of_another_model_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["mlp", "--lags", "48"], ["--hidden", "8"], ["rnn", "--hidden", "8,8"], ["rnn", "--loss", "mse"],
                 ["--loss", "mse"], ["forecaster", "--per-step"], ["--model", "mlp"]):
        result = CliRunner().invoke(approx, ["train", *args, "-o", "x.npz"])
        assert result.exit_code == 2, args
    assert not (tmp_path / "x.npz").exists()


def test_train_dtype_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["train", "--epochs", "1", "--batch-size", "64", "--hidden-size", "4", "--dense-size", "2", "--json"]
    summary = json.loads(runner.invoke(approx, [*args, "--dtype", "float32", "-o", "m.npz"],
                                       catch_exceptions=False).stdout)
    assert summary["train"]["dtype"] == "float32"
    with np.load("m.npz") as archive:
        assert archive["lstm1.weight_ih"].dtype == np.float32
    bad = runner.invoke(approx, [*args, "--dtype", "float16", "-o", "never.npz"])
    assert bad.exit_code == 2 and "float16" in bad.output and not (tmp_path / "never.npz").exists()

"""The classifiers behind ``approx train --model mlp|rnn`` and ``approx evaluate`` of their model files."""

from __future__ import annotations

import click
import numpy as np

from approx.errors import ApproxError

__all__ = ["model_parts", "build_classifier", "score_classifier", "classifier_table", "parse_hidden", "check_options"]


def parse_hidden(text: str) -> tuple[int, ...]:
    """'32,16' -> (32, 16)."""
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise ApproxError(f"--hidden takes comma-separated positive layer sizes such as 32,16; got {text!r}")
    return sizes


def model_parts(kind: str, data, steps: int) -> dict:
    """Part name -> (x, y) of ``data`` (ClassificationData) as the model reads them: the MLP the rows as
    they are, the RNN each row as ``steps`` steps of equal width."""
    width = data.x.shape[1]
    if kind == "rnn" and width % steps:
        raise ApproxError(f"the RNN reads each row as {steps} steps of equal width, but rows have {width} "
                          f"features; give --steps dividing {width}")
    x = data.x if kind == "mlp" else data.x.reshape(len(data.x), steps, -1)
    return {name: (x[rows], data.y[rows]) for name, rows in data.splits.items()}


def build_classifier(kind: str, data, hidden: tuple, activation: str, derivative: str, clip: bool, per_step: bool,
                     steps: int, registry, seed: int, *, check=None, loss: str = "cross_entropy",
                     dtype: str | None = None):
    """The model and its (x, y) parts: an MLP (Network) or an RNNClassifier for ``data`` (ClassificationData),
    in floating-point type ``dtype`` (default: the configurations' default).

    ``check(config)``, if given, is called with the configuration before the model is allocated
    (e.g. to refuse one too large for the memory). With ``loss="mse"`` the MLP's outputs go through
    ``activation`` too and are fitted to one-hot targets.

    Returns
    -------
    (model, dict of part name -> (x, y))
    """
    from nn.network import MLPConfig, Network
    from nn.rnn_classifier import RNNClassifier, RNNClassifierConfig

    from nn.dtypes import DEFAULT_DTYPE

    dtype = dtype or DEFAULT_DTYPE
    parts = model_parts(kind, data, steps)
    classes = len(data.classes)
    if kind == "mlp":
        config = MLPConfig(data.x.shape[1], hidden, classes, activation, derivative, clip, loss=loss,
                           output_activation=activation if loss == "mse" else "identity", dtype=dtype)
        if check is not None:
            check(config)
        return Network(config, registry=registry, seed=seed), parts
    if len(hidden) != 1:
        raise ApproxError("the RNN has one recurrent layer: give one --hidden size, e.g. --hidden 32")
    config = RNNClassifierConfig(parts["train"][0].shape[2], hidden[0], classes, activation, derivative, clip,
                                 per_step, dtype=dtype)
    if check is not None:
        check(config)
    return RNNClassifier(config, registry=registry, seed=seed), parts


def score_classifier(model, parts: dict) -> dict:
    """Validation and test accuracy, macro F1 and confusion matrix, and the domain monitor on the test part."""
    from nn.classification_metrics import classification_scores

    classes = model.config.classes
    # test last: the domain monitor then reads the test part's forward pass
    out = {name: classification_scores(model.predict(parts[name][0]), parts[name][1], classes)
           for name in ("val", "test")}
    out["outside_interval"] = model.outside_interval()
    return out


def classifier_table(result: dict, labels: list) -> str:
    """Accuracy and macro F1 of val and test, and the test confusion matrix, as text."""
    lines = [f"{'':6}{'accuracy':>10}{'macro F1':>10}"]
    lines += [f"{part:6}{100 * result[part]['accuracy']:9.2f}%{result[part]['macro_f1']:10.4f}" for part in ("test", "val")]
    matrix = np.array(result["test"]["confusion_matrix"])
    width = max(4, max(len(str(v)) for v in labels) + 1, len(str(matrix.max())) + 1)
    lines.append("test confusion matrix (rows: true class, columns: predicted):")
    lines.append(" " * width + "".join(f"{str(v):>{width}}" for v in labels))
    lines += [f"{str(v):>{width}}" + "".join(f"{c:{width}d}" for c in row) for v, row in zip(labels, matrix)]
    if result["outside_interval"]:
        worst = max(result["outside_interval"].items(), key=lambda kv: kv[1])
        lines.append(f"pre-activations outside the fitted interval: at most {100 * worst[1]:.3f}% ({worst[0]})")
    return "\n".join(lines)


def check_options(ctx: click.Context, kind: str, forecaster_only: list, classifier_only: list) -> None:
    """Refuse options given on the command line that do not apply to ``kind``."""
    wrong = classifier_only if kind == "forecaster" else forecaster_only
    given = [name for name in wrong
             if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise click.UsageError(f"{flags} do(es) not apply to --model {kind}")

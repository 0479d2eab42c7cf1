"""Printing the classifiers' figures (``approx train --model mlp|rnn``, ``approx evaluate``); the models are
:mod:`nn.classifiers`."""

from __future__ import annotations

import click
import numpy as np

__all__ = ["classifier_table", "check_options"]


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

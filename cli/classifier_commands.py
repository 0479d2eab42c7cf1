"""``approx train mlp`` and ``approx train rnn``, and the classifiers' figures as text (also for ``approx evaluate``);
the models are :mod:`nn.classifiers`."""

from __future__ import annotations

import dataclasses

import click
import numpy as np

from approx.strict_json import dumps
from cli.extras import require
from cli.train_commands import diverged, fit_with_progress, train_group, training_options

__all__ = ["classifier_table", "check_options"]

_DATA_HELP = "'digits' (built-in 8x8 handwritten digits) or a CSV of numeric feature columns and a label column."


@train_group.command("mlp")
@click.option("--data", default="digits", show_default=True, help=_DATA_HELP)
@click.option("--label-column", default="label", show_default=True, help="The CSV's label column.")
@click.option("--hidden", default="32", show_default=True, help="Hidden layer sizes, e.g. 32,16.")
@click.option("--activation", default="sigmoid", show_default=True,
              help="Registry name of the hidden activation.")
@click.option("--loss", type=click.Choice(["cross_entropy", "mse"]), default="cross_entropy", show_default=True,
              help="Softmax cross-entropy on logits, or the square loss 1/2 |y' - onehot|^2 with the hidden "
                   "activation (a polynomial sigmoid) on the outputs too, as secure training does (SecureML).")
@training_options("mlp", 16, "Learning rate [default: 0.5; with --loss mse 2].", 10)
def train_mlp_command(data, label_column, hidden, activation, loss, derivative, clip, epochs, batch_size, lr, l2,
                      clip_norm, patience, seed, dtype, registry, output, force, as_json):
    """Train a feed-forward classifier by back-propagation (docs/classifiers.md)."""
    _train("mlp", data, label_column, hidden, activation, derivative, clip, 1, False, loss,
           (epochs, batch_size, lr or (2.0 if loss == "mse" else 0.5), l2, clip_norm, patience, seed), dtype,
           registry, output, force, as_json)


@train_group.command("rnn")
@click.option("--data", default="digits", show_default=True, help=_DATA_HELP)
@click.option("--label-column", default="label", show_default=True, help="The CSV's label column.")
@click.option("--hidden", default="32", show_default=True, help="Size of the recurrent layer.")
@click.option("--activation", default="tanh", show_default=True, help="Registry name of the hidden activation.")
@click.option("--steps", type=click.IntRange(1), default=8, show_default=True,
              help="Steps each row is read as (the digits: 8 rows of 8 pixels).")
@click.option("--per-step", is_flag=True, help="A target at every step, not only the last.")
@training_options("rnn", 16, "Learning rate [default: 0.15].", 20)
def train_rnn_command(data, label_column, hidden, activation, steps, per_step, derivative, clip, epochs, batch_size,
                      lr, l2, clip_norm, patience, seed, dtype, registry, output, force, as_json):
    """Train an Elman RNN classifier by back-propagation through time (docs/classifiers.md)."""
    _train("rnn", data, label_column, hidden, activation, derivative, clip, steps, per_step, "cross_entropy",
           (epochs, batch_size, lr or 0.15, l2, clip_norm, patience, seed), dtype, registry, output, force, as_json)


def _train(kind, data, label_column, hidden, activation, derivative, clip, steps, per_step, loss, sgd, dtype,
           registry, output, force, as_json):
    require("train", "nn")
    from cli.train_commands import check_output
    from nn.classifiers import build_classifier, classifier_summary, parse_hidden, score_classifier
    from nn.memory import check_memory
    from nn.persistence import classifier_metadata, save_model
    from nn.tabular import load_table
    from nn.training import TrainConfig

    check_output(output, kind, force)
    settings = TrainConfig(*sgd)
    sizes = parse_hidden(hidden)
    table = load_table(data, label_column, settings.seed)
    model, parts = build_classifier(kind, table, sizes, activation, derivative, clip, per_step, steps, registry,
                                    settings.seed, check=lambda config: check_memory(
                                        kind, config, settings.batch_size, steps, "--hidden"),
                                    loss=loss, dtype=dtype)
    history = fit_with_progress(model, parts["train"], parts["val"], settings)
    train_info = {**dataclasses.asdict(settings), "data": data, "label_column": label_column, "steps": steps,
                  "loss": loss, "dtype": dtype}
    if history.diverged:
        diverged(history, output, as_json, {"model": kind, "train": train_info})
    result = score_classifier(model, parts)
    summary = classifier_summary(kind, result, history, table.classes, train_info)
    save_model(output, model, classifier_metadata(data, label_column, steps, table.classes, summary))
    if as_json:
        click.echo(dumps(summary))
        return
    click.echo(classifier_table(result, table.classes))
    click.echo(f"{history.epochs_run} epochs (best {history.best_epoch}) in {history.seconds:.1f} s; "
               f"model saved to {output}")



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

"""``approx train`` (the group) and ``approx train forecaster``, ``approx evaluate`` and ``approx plot-forecast``.

``approx train mlp|rnn`` are in :mod:`cli.classifier_commands`; the options every kind shares
are :func:`training_options`.
"""

from __future__ import annotations

import os

import click
import numpy as np

from approx.errors import ApproxError
from approx.strict_json import dumps
from cli.app import Failed, FiniteRange, approx, registry_option
from cli.extras import require
from cli.progress import progress
from nn.dtypes import DEFAULT_DTYPE, DTYPES

def _model_data_options(data_help: str):
    return [
        click.option("--data", default=None, help=data_help),
        click.option("--time-column", default=None,
                     help="CSV timestamp column [default: the one the model was trained with]."),
        click.option("--load-column", default=None,
                     help="CSV load column [default: the one the model was trained with]."),
        click.option("--holidays", "holiday_calendar", default=None,
                     help="Holiday calendar, COUNTRY or COUNTRY/SUBDIVISION [default: the model's]."),
    ]


def _apply(options, fn):
    for option in reversed(options):
        fn = option(fn)
    return fn


def with_data_options(fn):
    """Decorate a command that reads a forecaster's model file with --data, --time-column, --load-column and
    --holidays, each defaulting to what the model file records."""
    return _apply(_model_data_options(
        "'taylor' or a load CSV with timestamp and load columns to forecast [default: the data the model was "
        "trained on, as recorded in the model file; refused if that file changed since]."), fn)


def with_evaluate_data_options(fn):
    """Like :func:`with_data_options`, for ``approx evaluate``, which reads classifiers too."""
    return _apply(_model_data_options(
        "Data to score the model on: for a forecaster 'taylor' or a load CSV, for a classifier 'digits' or a CSV "
        "of features and a label column [default: the data the model was trained on, as recorded in the model "
        "file; refused if that file changed since]."), fn)


def parse_lags(ctx, param, text):
    """Click callback: '48,336' -> (48, 336); empty -> ()."""
    if not text:
        return ()
    try:
        lags = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"comma-separated whole numbers of steps, e.g. 48,336; got {text!r}") from None
    if any(v < 1 for v in lags) or len(set(lags)) != len(lags):
        raise click.BadParameter(f"lags must be distinct positive numbers of steps, got {text!r}")
    return lags


def _pct(value) -> str:
    """A percentage for the tables; MAPE is undefined (NaN) when an actual load is 0."""
    return f"{value:.3f}%" if np.isfinite(value) else "n/a"


def _metrics_table(result) -> str:
    """The table of an :class:`nn.evaluation.Evaluation`: the model and the baselines, test and validation."""
    rows = [("model", result.test, result.val)]
    rows += [(name.replace("_", " "), test, result.baselines_val.get(name))
             for name, test in result.baselines.items()]
    lines = [f"{'':20}{'test RMSE':>11}{'test MAE':>10}{'test MAPE':>11}{'val MAPE':>10}"]
    lines += [f"{name:20}{t.rmse:11.1f}{t.mae:10.1f}{_pct(t.mape):>11}"
              + (f"{_pct(v.mape):>10}" if v else f"{'-':>10}") for name, t, v in rows]
    lines.append("(RMSE and MAE in MW)")
    if result.outside_interval:
        worst = max(result.outside_interval.items(), key=lambda kv: kv[1])
        lines.append(f"pre-activations outside the fitted interval: at most {100 * worst[1]:.3f}% ({worst[0]})")
    return "\n".join(lines)


DEFAULT_OUTPUT = {"forecaster": "forecaster.npz", "mlp": "mlp.npz", "rnn": "rnn.npz"}
KINDS = tuple(DEFAULT_OUTPUT)


def check_output(output, kind: str, force: bool) -> None:
    """Refuse, before any work, an output path that cannot be written or that holds something else than a
    ``kind`` model (another kind of model, or not a model at all) unless ``force``."""
    from approx.atomic_file import check_writable
    from nn.persistence import model_kind

    problem = check_writable(output)
    if problem:
        raise ApproxError(f"cannot write {output}: {problem}; choose another -o")
    if os.path.exists(output) and not force:
        found = model_kind(output)
        if found != kind:
            what = f"a {found} model" if found else "not a model file written by approx train"
            raise ApproxError(f"{output} exists and is {what}; give another -o, or --force to replace it "
                              f"with the {kind}")


class _TrainGroup(click.Group):
    """``approx train KIND [OPTIONS]``; a bare ``approx train [OPTIONS]`` trains the forecaster."""

    def parse_args(self, ctx, args):
        """Read ``approx train [OPTIONS]`` (no kind) as ``approx train forecaster [OPTIONS]``; refuse the old
        ``--model KIND`` naming the subcommand that replaces it."""
        for i, arg in enumerate(args):
            if arg == "--model" or arg.startswith("--model="):
                kind = arg.partition("=")[2] or (args[i + 1] if i + 1 < len(args) else "KIND")
                raise click.UsageError(f"--model is gone: the kind is a subcommand, approx train {kind} [OPTIONS]",
                                       ctx)
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["forecaster", *args]
        return super().parse_args(ctx, args)


@approx.group("train", cls=_TrainGroup)
def train_group():
    """Train a model with registry activations: the LSTM load forecaster, or an MLP / RNN classifier.

    approx train [OPTIONS] without a kind is approx train forecaster [OPTIONS]. A run that diverges (the
    loss becomes NaN or infinite) exits with status 1 and writes nothing.
    """


def training_options(kind: str, batch_size: int, lr_help: str, patience: int):
    """Decorate ``approx train KIND`` with the options every kind shares: the activations' derivative and
    clipping, the SGD settings (with ``kind``'s defaults), the output and --json."""
    options = [
        click.option("--derivative", type=click.Choice(["poly", "output"]), default="poly", show_default=True,
                     help="Polynomial derivative: p'(z), or y(1 - y) / 1 - y^2 from the output."),
        click.option("--clip", is_flag=True, help="Clip pre-activations to each polynomial's interval."),
        click.option("--epochs", type=click.IntRange(1), default=150, show_default=True,
                     help="At most this many epochs."),
        click.option("--batch-size", type=click.IntRange(1), default=batch_size, show_default=True,
                     help="Samples per SGD step" + (" (1: per-sample SGD)." if batch_size == 1 else ".")),
        click.option("--lr", type=FiniteRange(0, min_open=True), default=None, help=lr_help),
        click.option("--l2", type=FiniteRange(0), default=0.0, show_default=True,
                     help="L2 regularisation lambda."),
        click.option("--clip-norm", type=FiniteRange(0, min_open=True), default=5.0, show_default=True,
                     help="Gradient-norm clipping."),
        click.option("--patience", type=click.IntRange(1), default=patience, show_default=True,
                     help="Early stopping: epochs without a better validation loss."),
        click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
                     help="Seeds the initial weights and the shuffling (a run is reproducible bit for bit)."),
        click.option("--dtype", type=click.Choice(DTYPES), default=DEFAULT_DTYPE, show_default=True,
                     help="Floating-point type of the weights, gradients and computation."),
        registry_option,
        click.option("-o", "--output", type=click.Path(dir_okay=False), default=DEFAULT_OUTPUT[kind],
                     show_default=True, help="Model file; written only when training succeeds."),
        click.option("--force", is_flag=True,
                     help="Replace an -o file that holds another kind of model (or no model)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress goes to stderr)."),
    ]
    return lambda fn: _apply(options, fn)


def series_options(data_help: str, lags_help: str):
    """Decorate a command that builds a forecaster's data with --data, --time-column, --load-column, --holidays,
    --window and --lags (:func:`nn.provenance.series_dataset`)."""
    return lambda fn: _apply([
        click.option("--data", default="taylor", show_default=True, help=data_help),
        click.option("--time-column", default="timestamp", show_default=True, help="CSV timestamp column."),
        click.option("--load-column", default="load", show_default=True, help="CSV load column."),
        click.option("--holidays", "holiday_calendar", default="GB/ENG", show_default=True,
                     help="Holiday calendar of the holidays package: COUNTRY or COUNTRY/SUBDIVISION."),
        click.option("--window", type=click.IntRange(1), default=20, show_default=True,
                     help="Steps per input window."),
        click.option("--lags", callback=parse_lags, default="", help=lags_help),
    ], fn)


def lstm_activation_options(fn):
    """Decorate a command that builds a forecaster with --gate-activation and --cell-activation."""
    return _apply([
        click.option("--gate-activation", default="sigmoid", show_default=True,
                     help="Registry name for the i, f, o gates (a polynomial to run the model on shares)."),
        click.option("--cell-activation", default="tanh", show_default=True,
                     help="Registry name for the candidate and the cell state."),
    ], fn)


@train_group.command("forecaster")
@series_options("'taylor' (built-in England and Wales demand, 2000) or a CSV with timestamp and load columns.",
                "Extra load features at these lags in steps, e.g. 48,336 (a day and a week before the target).")
@lstm_activation_options
@click.option("--cell", type=click.Choice(["standard", "linear"]), default="standard", show_default=True,
              help="standard: h = o * tanh(s); linear: h = o * s (one product fewer on shares).")
@click.option("--hidden-activation", default="relu", show_default=True,
              help="Activation of the first dense layer (hidden size -> dense size); under MPC it must be a "
                   "polynomial such as square.")
@click.option("--output-activation", default="relu", show_default=True,
              help="Output layer (dense size -> 1) activation: relu, sigmoid, tanh, swish, identity, square or a "
                   "registry name.")
@click.option("--hidden-size", type=click.IntRange(1), default=40, show_default=True,
              help="Units of each LSTM layer (the memory it needs is estimated before training).")
@click.option("--dense-size", type=click.IntRange(1), default=20, show_default=True,
              help="Units of the first dense layer.")
@click.option("--highway", type=click.IntRange(0), default=0, show_default=True,
              help="Add a linear term over the load and lagged loads of the last Q steps to the output "
                   "(LSTNet's highway; 0: none).")
@training_options("forecaster", 1, "Learning rate [default: 0.01 at batch size 1, else 0.1].", 10)
def train_forecaster_command(data, time_column, load_column, holiday_calendar, window, lags, gate_activation,
                             cell_activation, cell, hidden_activation, output_activation, hidden_size, dense_size,
                             highway, derivative, clip, epochs, batch_size, lr, l2, clip_norm, patience, seed, dtype,
                             registry, output, force, as_json):
    """Train the two-layer LSTM load forecaster (docs/training.md) and score it beside the naive baselines."""
    require("train", "nn")
    from nn.evaluation import evaluate, forecaster_summary
    from nn.forecaster import Forecaster, ForecasterConfig
    from nn.memory import check_memory
    from nn.persistence import forecaster_metadata, save_model
    from nn.provenance import series_dataset
    from nn.training import TrainConfig

    check_output(output, "forecaster", force)
    settings = TrainConfig(epochs, batch_size, lr or (0.01 if batch_size == 1 else 0.1), l2, clip_norm, patience,
                           seed)
    dataset = series_dataset(data, time_column, load_column, holiday_calendar, window, lags)
    config = ForecasterConfig(dataset.features, hidden_size, dense_size, gate_activation, cell_activation, cell,
                              hidden_activation, output_activation, derivative, clip, highway,
                              dataset.load_columns, dtype=dtype)
    check_memory("forecaster", config, batch_size, window, "--hidden-size")
    model = Forecaster(config, registry=registry, seed=seed, output_bias=float(dataset.part("train")[1].mean()))
    history = fit_with_progress(model, dataset.part("train"), dataset.part("val"), settings)
    train_info = {"batch_size": batch_size, "lr": settings.lr, "l2": l2, "clip_norm": clip_norm,
                  "patience": patience, "seed": seed, "data": data, "window": window, "lags": list(lags),
                  "highway": highway, "dtype": dtype}
    if history.diverged:
        diverged(history, output, as_json, {"train": train_info})
    result = evaluate(model, dataset)
    summary = forecaster_summary(result, history, train_info)
    save_model(output, model, forecaster_metadata(dataset, data, time_column, load_column, holiday_calendar, lags,
                                                  summary))
    if as_json:
        click.echo(dumps(summary))
        return
    click.echo(_metrics_table(result))
    click.echo(f"{history.epochs_run} epochs (best {history.best_epoch}) in {history.seconds:.1f} s, "
               f"{summary['seconds_per_epoch']:.2f} s per epoch; model saved to {output}")


def diverged(history, output, as_json, extra: dict):
    """Report a diverged run (JSON with ``"diverged": true`` on stdout if asked) and stop with status 1."""
    epoch = history.epochs_run
    if as_json:
        click.echo(dumps({"diverged": True, "epochs_run": epoch, "train_loss": history.train_loss,
                          "val_loss": history.val_loss, "train_seconds": history.seconds, **extra}))
    raise Failed(f"training diverged in epoch {epoch} (the loss became NaN, infinite or a million times its "
                 f"initial value); nothing was written to {output}; lower --lr or --clip-norm")


def fit_with_progress(model, train_xy, val_xy, settings):
    """Train with progress on stderr (loss and the domain monitor per epoch); returns the History."""
    from nn.training import train

    def describe(history):
        worst = max(history.outside_interval[-1].values(), default=0.0)
        return f"train {history.train_loss[-1]:.2e} val {history.val_loss[-1]:.2e} outside {100 * worst:.2f}%"

    with progress(settings.epochs, "epochs", describe) as update:
        return train(model, train_xy, val_xy, settings, on_epoch=lambda epoch, history: update(history))


@approx.command("evaluate")
@click.argument("model_file", type=click.Path(dir_okay=False))
@with_evaluate_data_options
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate_command(model_file, data, time_column, load_column, holiday_calendar, registry, as_json):
    """Score MODEL_FILE on the validation and test parts (a forecaster beside the baselines), on the data it was
    trained on unless --data says otherwise; the first line (the JSON's "data") says which data was used."""
    require("evaluate", "nn")
    from nn.evaluation import evaluate
    from nn.persistence import load_model
    from nn.provenance import model_dataset

    model, meta = load_model(model_file, registry=registry)
    if meta["model"] != "forecaster":
        _evaluate_classifier(model, meta, data, as_json)
        return
    dataset = model_dataset(meta, data, time_column, load_column, holiday_calendar)
    result = evaluate(model, dataset)
    if as_json:
        click.echo(dumps({"data": dataset.source, "test_rmse": result.test.rmse, "test_mae": result.test.mae,
                          "test_mape": result.test.mape, "val_mape": result.val.mape,
                          "baselines": result.as_dict()["baselines"], "outside_interval": result.outside_interval}))
    else:
        click.echo(f"data: {dataset.source}")
        click.echo(_metrics_table(result))


def _evaluate_classifier(model, meta, data, as_json):
    from cli.classifier_commands import classifier_table
    from nn.classifiers import classifier_data, score_classifier

    table, parts, description = classifier_data(model, meta, data)
    result = score_classifier(model, parts)
    if as_json:
        click.echo(dumps({"model": meta["model"], "data": description, "test_accuracy": result["test"]["accuracy"],
                          "test_macro_f1": result["test"]["macro_f1"], "val_accuracy": result["val"]["accuracy"],
                          "confusion_matrix": result["test"]["confusion_matrix"],
                          "outside_interval": result["outside_interval"]}))
    else:
        click.echo(f"data: {description}")
        click.echo(classifier_table(result, table.classes))


@approx.command("plot-forecast")
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Image file (.png, .pdf, .svg).")
@with_data_options
@registry_option
def plot_forecast_command(model_file, output, data, time_column, load_column, holiday_calendar, registry):
    """Plot actual load against the forecasts of MODEL_FILE over the test part of the data it was trained on
    (or --data); prints which data was used."""
    require("plot-forecast", "nn", "plot")
    from cli.plot_command import check_figure_output, pyplot, save_figure
    from nn.evaluation import forecast
    from nn.persistence import load_model
    from nn.provenance import model_dataset

    plt = pyplot()
    check_figure_output(output)
    model, meta = load_model(model_file, registry=registry)
    if meta["model"] != "forecaster":
        raise ApproxError(f"{model_file} holds a classifier ({meta['model']}), not a forecaster; "
                          f"use approx evaluate {model_file}")
    dataset = model_dataset(meta, data, time_column, load_column, holiday_calendar)
    x, _ = dataset.part("test")
    s = dataset.splits["test"]
    fig, ax = plt.subplots(figsize=(10, 4), constrained_layout=True)
    ax.plot(dataset.index[s], dataset.loads[dataset.target_pos[s]], label="actual", lw=1)
    ax.plot(dataset.index[s], dataset.to_mw(forecast(model, x)), label="forecast", lw=1)
    ax.set_ylabel("load (MW)")
    ax.set_title(f"{model_file}: test part")
    ax.legend()
    click.echo(f"data: {dataset.source}")
    save_figure(plt, fig, output)

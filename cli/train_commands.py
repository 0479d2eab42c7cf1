"""``approx train``, ``approx evaluate`` and ``approx plot-forecast``: the load forecaster."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from approx.errors import ApproxError
from cli.app import approx, registry_option
from nn.dtypes import DEFAULT_DTYPE, DTYPES

data_options = [
    click.option("--data", default=None,
                 help="'taylor' (built-in England and Wales demand, 2000) or a CSV with timestamp and load columns "
                      "[default: taylor]; for --model mlp|rnn 'digits' (built-in) or a CSV with feature columns "
                      "and a label column [default: digits]."),
    click.option("--time-column", default="timestamp", show_default=True, help="CSV timestamp column."),
    click.option("--load-column", default="load", show_default=True, help="CSV load column."),
    click.option("--holidays", "holiday_calendar", default="GB/ENG", show_default=True,
                 help="Holiday calendar of the holidays package: COUNTRY or COUNTRY/SUBDIVISION."),
]


def with_data_options(fn):
    """Decorate a command with --data, --time-column, --load-column and --holidays."""
    for option in reversed(data_options):
        fn = option(fn)
    return fn


def _dataset(data, time_column, load_column, holiday_calendar, window=None, lags=()):
    from nn.data import load_series
    from nn.features import WINDOW, make_dataset

    country, _, subdiv = holiday_calendar.partition("/")
    return make_dataset(load_series(data or "taylor", time_column, load_column), window=window or WINDOW, lags=lags,
                        country=country, subdiv=subdiv or None)


def model_dataset(meta: dict, data, time_column, load_column, holiday_calendar):
    """The dataset with the window and lags ``meta`` (a model file's metadata) was trained on."""
    features = meta.get("features", {})
    return _dataset(data, time_column, load_column, holiday_calendar, features.get("window"),
                    tuple(features.get("lags", ())))


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


def _metrics_table(result: dict) -> str:
    rows = [("model", result["test"], result["val"])]
    rows += [(name.replace("_", " "), test, result["baselines_val"].get(name))
             for name, test in result["baselines"].items()]
    lines = [f"{'':20}{'test RMSE':>11}{'test MAE':>10}{'test MAPE':>11}{'val MAPE':>10}"]
    lines += [f"{name:20}{t['rmse']:11.1f}{t['mae']:10.1f}{t['mape']:10.3f}%"
              + (f"{v['mape']:9.3f}%" if v else f"{'-':>10}") for name, t, v in rows]
    lines.append("(RMSE and MAE in MW)")
    if result["outside_interval"]:
        worst = max(result["outside_interval"].items(), key=lambda kv: kv[1])
        lines.append(f"pre-activations outside the fitted interval: at most {100 * worst[1]:.3f}% ({worst[0]})")
    return "\n".join(lines)


FORECASTER_ONLY = ["time_column", "load_column", "holiday_calendar", "gate_activation", "cell_activation", "cell",
                   "hidden_activation", "output_activation", "hidden_size", "dense_size", "window", "lags", "highway"]
CLASSIFIER_ONLY = ["hidden", "activation", "label_column", "per_step", "steps"]


@approx.command("train")
@click.option("--model", "model_kind", type=click.Choice(["forecaster", "mlp", "rnn"]), default="forecaster",
              show_default=True, help="forecaster: seed 000's LSTM; mlp: seed 000's feed-forward BP network; "
                                      "rnn: seed 004's Elman RNN classifier.")
@with_data_options
@click.option("--gate-activation", default="sigmoid", show_default=True, help="Registry name for the i, f, o gates.")
@click.option("--cell-activation", default="tanh", show_default=True,
              help="Registry name for the candidate and the cell state.")
@click.option("--cell", type=click.Choice(["standard", "linear"]), default="standard", show_default=True,
              help="standard: h = o * tanh(s); linear: h = o * s (seed 000).")
@click.option("--hidden-activation", default="relu", show_default=True,
              help="Dense(40 -> 20) activation; under MPC it must be a polynomial such as square.")
@click.option("--output-activation", default="relu", show_default=True,
              help="Dense(20 -> 1) activation: relu, sigmoid, tanh, swish, identity, square or a registry name.")
@click.option("--derivative", type=click.Choice(["poly", "output"]), default="poly", show_default=True,
              help="Polynomial derivative: p'(z), or y(1 - y) / 1 - y^2 from the output.")
@click.option("--clip", is_flag=True, help="Clip pre-activations to each polynomial's interval.")
@click.option("--hidden-size", type=click.IntRange(1), default=40, show_default=True)
@click.option("--dense-size", type=click.IntRange(1), default=20, show_default=True)
@click.option("--window", type=click.IntRange(1), default=20, show_default=True, help="Steps per input window.")
@click.option("--lags", callback=parse_lags, default="",
              help="Extra load features at these lags in steps, e.g. 48,336 (a day and a week before the target).")
@click.option("--highway", type=click.IntRange(0), default=0, show_default=True,
              help="Add a linear term over the load and lagged loads of the last Q steps to the output "
                   "(LSTNet's highway; 0: none).")
@click.option("--hidden", default="32", show_default=True,
              help="mlp: hidden layer sizes, e.g. 32,16; rnn: the recurrent layer's size.")
@click.option("--activation", default=None,
              help="mlp / rnn: registry name of the hidden activation [default: sigmoid for mlp, tanh for rnn].")
@click.option("--label-column", default="label", show_default=True, help="mlp / rnn: the CSV's label column.")
@click.option("--steps", type=click.IntRange(1), default=8, show_default=True,
              help="rnn: steps each row is read as (the digits: 8 rows of 8 pixels).")
@click.option("--per-step", is_flag=True, help="rnn: a target at every step (seed 004), not only the last.")
@click.option("--epochs", type=click.IntRange(1), default=150, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Samples per SGD step [default: 1 for the forecaster (seed 000), 16 for the classifiers].")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None,
              help="Learning rate [default: forecaster 0.01 at batch size 1, else 0.1; mlp 0.5; rnn 0.15].")
@click.option("--l2", type=click.FloatRange(0), default=0.0, show_default=True, help="L2 regularisation lambda.")
@click.option("--clip-norm", type=click.FloatRange(0, min_open=True), default=5.0, show_default=True,
              help="Gradient-norm clipping.")
@click.option("--patience", type=click.IntRange(1), default=None,
              help="Early stopping: epochs without a better validation loss [default: 10; rnn 20].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dtype", type=click.Choice(DTYPES), default=DEFAULT_DTYPE, show_default=True,
              help="Floating-point type of the weights, gradients and computation.")
@registry_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="model.npz", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress goes to stderr).")
def train_command(model_kind, data, time_column, load_column, holiday_calendar, gate_activation, cell_activation,
                  cell, hidden_activation, output_activation, derivative, clip, hidden_size, dense_size, window, lags,
                  highway, hidden, activation, label_column, steps, per_step, epochs, batch_size, lr, l2, clip_norm,
                  patience, seed, dtype, registry, output, as_json):
    """Train the seed-000 LSTM forecaster, or an MLP / RNN classifier, with registry activations."""
    from cli.classifier_commands import check_options
    from nn.training import TrainConfig

    check_options(click.get_current_context(), model_kind, FORECASTER_ONLY, CLASSIFIER_ONLY)
    batch_size = batch_size or (1 if model_kind == "forecaster" else 16)
    default_lr = {"forecaster": 0.01 if batch_size == 1 else 0.1, "mlp": 0.5, "rnn": 0.15}[model_kind]
    patience = patience or (20 if model_kind == "rnn" else 10)
    settings = TrainConfig(epochs, batch_size, lr or default_lr, l2, clip_norm, patience, seed)
    lr = settings.lr
    if model_kind != "forecaster":
        _train_classifier(model_kind, data or "digits", label_column, hidden, activation, derivative, clip, steps,
                          per_step, settings, registry, output, as_json, dtype)
        return
    from nn.evaluation import evaluate
    from nn.forecaster import Forecaster, ForecasterConfig
    from nn.persistence import save_model

    dataset = _dataset(data, time_column, load_column, holiday_calendar, window, lags)
    config = ForecasterConfig(dataset.features, hidden_size, dense_size, gate_activation, cell_activation, cell,
                              hidden_activation, output_activation, derivative, clip, highway,
                              dataset.load_columns, dtype=dtype)
    model = Forecaster(config, registry=registry, seed=seed, output_bias=float(dataset.part("train")[1].mean()))
    history = _fit(model, dataset.part("train"), dataset.part("val"), settings)
    result = evaluate(model, dataset)
    summary = {
        "test_rmse": result["test"]["rmse"], "test_mae": result["test"]["mae"], "test_mape": result["test"]["mape"],
        "val_rmse": result["val"]["rmse"], "val_mape": result["val"]["mape"],
        "epochs_run": history.epochs_run, "best_epoch": history.best_epoch, "diverged": history.diverged,
        "train_seconds": history.seconds, "seconds_per_epoch": history.seconds / max(history.epochs_run, 1),
        "baselines": result["baselines"], "outside_interval": result["outside_interval"],
        "train": {"batch_size": batch_size, "lr": lr, "l2": l2, "clip_norm": clip_norm, "patience": patience,
                  "seed": seed, "data": data or "taylor", "window": window, "lags": list(lags),
                  "highway": highway, "dtype": dtype},
    }
    save_model(output, model, {"scaling": {"load_min": dataset.load_min, "load_max": dataset.load_max},
                               "data": {"source": data or "taylor", "time_column": time_column, "load_column": load_column,
                                        "holidays": holiday_calendar},
                               "features": {"window": window, "lags": list(lags)}, "summary": summary})
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(_metrics_table(result))
    click.echo(f"{history.epochs_run} epochs (best {history.best_epoch}) in {history.seconds:.1f} s, "
               f"{summary['seconds_per_epoch']:.2f} s per epoch; model saved to {output}")


def _fit(model, train_xy, val_xy, settings):
    """Train with a progress bar on stderr (loss and the domain monitor); returns the History."""
    from nn.training import train

    def label(history):
        if history is None or not history.train_loss:
            return ""
        worst = max(history.outside_interval[-1].values(), default=0.0)
        return f"train {history.train_loss[-1]:.2e} val {history.val_loss[-1]:.2e} outside {100 * worst:.2f}%"

    with click.progressbar(length=settings.epochs, label="epochs", file=sys.stderr, show_pos=True,
                           item_show_func=label) as bar:
        return train(model, train_xy, val_xy, settings, on_epoch=lambda epoch, history: bar.update(1, history))


def _train_classifier(kind, data, label_column, hidden, activation, derivative, clip, steps, per_step, settings,
                      registry, output, as_json, dtype):
    from cli.classifier_commands import build_classifier, classifier_table, parse_hidden, score_classifier
    from nn.persistence import save_model
    from nn.tabular import load_table

    table = load_table(data, label_column, settings.seed)
    activation = activation or ("sigmoid" if kind == "mlp" else "tanh")
    model, parts = build_classifier(kind, table, parse_hidden(hidden), activation, derivative, clip, per_step,
                                    steps, registry, settings.seed, dtype)
    history = _fit(model, parts["train"], parts["val"], settings)
    result = score_classifier(model, parts)
    summary = {
        "model": kind, "test_accuracy": result["test"]["accuracy"], "test_macro_f1": result["test"]["macro_f1"],
        "val_accuracy": result["val"]["accuracy"], "val_macro_f1": result["val"]["macro_f1"],
        "confusion_matrix": result["test"]["confusion_matrix"], "classes": table.classes,
        "epochs_run": history.epochs_run, "best_epoch": history.best_epoch, "diverged": history.diverged,
        "train_seconds": history.seconds, "outside_interval": result["outside_interval"],
        "train": {**dataclasses.asdict(settings), "data": data, "label_column": label_column, "steps": steps,
                  "dtype": dtype},
    }
    save_model(output, model, {"data": {"source": data, "label_column": label_column, "steps": steps,
                                        "classes": table.classes}, "summary": summary})
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(classifier_table(result, table.classes))
    click.echo(f"{history.epochs_run} epochs (best {history.best_epoch}) in {history.seconds:.1f} s; "
               f"model saved to {output}")


@approx.command("evaluate")
@click.argument("model_file", type=click.Path(dir_okay=False))
@with_data_options
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def evaluate_command(model_file, data, time_column, load_column, holiday_calendar, registry, as_json):
    """Score MODEL_FILE on the validation and test parts (a forecaster beside the baselines)."""
    from nn.evaluation import evaluate
    from nn.persistence import load_model

    model, meta = load_model(model_file, registry=registry)
    if meta["model"] != "forecaster":
        _evaluate_classifier(model, meta, data, as_json)
        return
    result = evaluate(model, model_dataset(meta, data, time_column, load_column, holiday_calendar))
    if as_json:
        click.echo(json.dumps({"test_rmse": result["test"]["rmse"], "test_mae": result["test"]["mae"],
                               "test_mape": result["test"]["mape"], "val_mape": result["val"]["mape"],
                               "baselines": result["baselines"], "outside_interval": result["outside_interval"]}))
    else:
        click.echo(_metrics_table(result))


def _evaluate_classifier(model, meta, data, as_json):
    from cli.classifier_commands import classifier_table, model_parts, score_classifier
    from nn.tabular import load_table

    saved = meta["data"]
    table = load_table(data or saved["source"], saved["label_column"], meta["summary"]["train"]["seed"])
    if table.x.shape[1] != model.config.input_size * (saved["steps"] if meta["model"] == "rnn" else 1):
        raise ApproxError(f"the model reads {model.config.input_size} features per step; the data have "
                          f"{table.x.shape[1]} per row")
    parts = model_parts(meta["model"], table, saved["steps"])
    result = score_classifier(model, parts)
    if as_json:
        click.echo(json.dumps({"model": meta["model"], "test_accuracy": result["test"]["accuracy"],
                               "test_macro_f1": result["test"]["macro_f1"], "val_accuracy": result["val"]["accuracy"],
                               "confusion_matrix": result["test"]["confusion_matrix"],
                               "outside_interval": result["outside_interval"]}))
    else:
        click.echo(classifier_table(result, table.classes))


@approx.command("plot-forecast")
@click.argument("model_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Image file (.png, .pdf, .svg).")
@with_data_options
@registry_option
def plot_forecast_command(model_file, output, data, time_column, load_column, holiday_calendar, registry):
    """Plot actual load against the forecasts of MODEL_FILE over the test part."""
    from cli.plot_command import pyplot, save_figure
    from nn.evaluation import forecast
    from nn.persistence import load_model

    model, meta = load_model(model_file, registry=registry)
    if meta["model"] != "forecaster":
        raise ApproxError(f"{model_file} holds a classifier ({meta['model']}), not a forecaster; "
                          f"use approx evaluate {model_file}")
    dataset = model_dataset(meta, data, time_column, load_column, holiday_calendar)
    plt = pyplot()
    x, _ = dataset.part("test")
    s = dataset.splits["test"]
    fig, ax = plt.subplots(figsize=(10, 4), constrained_layout=True)
    ax.plot(dataset.index[s], dataset.loads[dataset.target_pos[s]], label="actual", lw=1)
    ax.plot(dataset.index[s], dataset.to_mw(forecast(model, x)), label="forecast", lw=1)
    ax.set_ylabel("load (MW)")
    ax.set_title(f"{model_file}: test part")
    ax.legend()
    save_figure(plt, fig, output)

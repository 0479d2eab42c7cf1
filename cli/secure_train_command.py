"""``approx secure train``: an MLP classifier or the LSTM forecaster trained on secret shares (local mode: every
role launched from this process, which holds the data), beside its plaintext twin trained by ``nn``."""

from __future__ import annotations

import contextlib
import json
import warnings

import click
import numpy as np

from approx.errors import ApproxError
from approx.strict_json import dumps
from cli.app import FiniteRange, registry_option
from cli.model_shares import check_share_output, share_paths, write_shares
from cli.progress import progress
from cli.secure_commands import Bounded, allow_out_of_range_option, secure, timeout_option, truncation_option

__all__ = ["secure_train_command", "train_program", "step_progress", "epoch_losses", "run_figures",
           "echo_run", "data_options", "design_options", "hyper_options", "safety_training_options"]
TRAINING_BUDGET = 1e-6  # mpc.training.precision.FAILURE_BUDGET, without importing mpc before a command runs
BUDGET = Bounded("probability", 0.0, TRAINING_BUDGET, f"a probability above 0 and at most {TRAINING_BUDGET:g}")
BOUND = Bounded("bound", 0.0, 1e6, "a number above 0 and at most 1e6")
MODEL_OWNER = 0  # mpc.forecaster.MODEL_OWNER, likewise


def train_program(session, kind, config, activations, parts, settings, weights, weight_bounds, keep_shared,
                  show_progress, features=None):
    """The SPMD program every party runs: :func:`mpc.training.loop.secure_train` with its own inputs only.

    ``parts`` holds the training, validation and (with ``keep_shared``) test (x, y) arrays; only the data owner's
    process shares them (the others see their public shapes and bounds).  Returns what this process holds: the
    opened weights (model owner), its shares of the weights by party and the share files' public part
    (``keep_shared``), the validation losses (model owner), the test predictions (data owner), the step losses
    (``settings.reveal_loss``) and the step's cost.
    """
    from mpc.inference import describe_activations
    from mpc.training.loop import DATA_OWNER, Samples, batches, secure_train
    from mpc.training.precision import OutOfRangeWarning
    from mpc.training.protocol import share_record

    def samples(x, y):
        public = Samples.public(x, y, sliding=kind == "forecaster")  # make_dataset's windows slide one step
        if session.comm.position(DATA_OWNER) is None:
            public.x = public.y = None
        return public

    owner = session.comm.position(MODEL_OWNER) is not None
    train, validation = samples(*parts["train"]), samples(*parts["validation"])
    test = samples(*parts["test"]) if "test" in parts else None
    steps = settings.epochs * batches(train, settings.batch_size)
    with warnings.catch_warnings(), step_progress(steps, settings.epochs, owner and show_progress) as (on_step,
                                                                                                     on_epoch):
        # --allow-out-of-range: one loud line per layer, from the model owner's process (the others see the same)
        warnings.simplefilter("always", OutOfRangeWarning)
        warnings.showwarning = warn_line if owner else (lambda *a, **k: None)
        result = secure_train(session, kind, config, activations, train, settings, weights, weight_bounds,
                              validation=validation, keep_shared=keep_shared, on_step=on_step, test=test,
                              test_to=DATA_OWNER, on_epoch=on_epoch)
    shares = record = None
    if keep_shared:  # this process's own shares, by party (in process: both)
        shares = {party: {name: value[session.comm.position(party)] for name, value in result.shares.items()}
                  for party in range(session.parties) if session.comm.position(party) is not None}
        described = json.loads(json.dumps(describe_activations(activations)))
        record = share_record(session, kind, config, described, features or {}, result.final_bounds)
    return {"weights": result.weights, "shares": shares, "record": record,
            "validation_loss": result.validation_loss, "train_loss": result.train_loss,
            "test_predictions": result.test_predictions, "step_cost": result.step_cost, "setup_cost": result.setup_cost,
            "truncation_failure_bound": result.truncation_failure_bound,
            "planned_failure_bound": result.planned_failure_bound, "seconds_per_epoch": result.seconds_per_epoch,
            "weight_bounds": result.weight_bounds, "range_ratios": result.range_ratios,
            "conditional": result.conditional}


@contextlib.contextmanager
def step_progress(steps: int, epochs: int, show: bool):
    """(on_step, on_epoch) callbacks of :func:`mpc.training.loop.secure_train` that draw the progress over the
    steps on stderr (when ``show``): the epoch, the step's loss when it is revealed, the last validation loss
    when this process learns it."""
    if not show:
        yield None, None
        return
    seen = {"validation": None}

    def text(epoch, loss):
        parts = [f"epoch {epoch + 1}/{epochs}"]
        if loss is not None:
            parts.append(f"loss {loss:.4g}")
        if seen["validation"] is not None:
            parts.append(f"validation loss {seen['validation'][1]:.4g} (epoch {seen['validation'][0] + 1})")
        return ", ".join(parts)

    with progress(steps, "steps", describe=str) as update:
        def on_epoch(epoch, value):
            if value is not None:
                seen["validation"] = (epoch, value)

        yield (lambda epoch, step, per_epoch, loss: update(text(epoch, loss))), on_epoch


def epoch_losses(step_losses: list, samples: int, batch_size: int) -> list:
    """Per epoch, the mean training loss over its samples from the revealed per-step (per-batch mean) losses."""
    sizes = [min(batch_size, samples - first) for first in range(0, samples, batch_size)]
    per_epoch = len(sizes)
    return [sum(loss * size for loss, size in zip(step_losses[k:k + per_epoch], sizes)) / samples
            for k in range(0, len(step_losses), per_epoch)]


def warn_line(message, *rest, **options) -> None:
    """Show a warning as one line on stderr."""
    click.echo(f"approx: WARNING: {' '.join(str(message).split())}", err=True)


def _mlp_setup(data, label_column, hidden, activation, seed, registry):
    from nn.classifiers import build_classifier, parse_hidden
    from nn.network import one_hot
    from nn.tabular import load_table

    table = load_table(data, label_column, seed)
    model, parts = build_classifier("mlp", table, parse_hidden(hidden), activation, "poly", False, False, 1,
                                    registry, seed, loss="mse", dtype="float64")
    classes = len(table.classes)
    secure_parts = {name: (x, one_hot(y, classes)) for name, (x, y) in parts.items()}
    config = {"sizes": (model.config.input_size, *model.config.hidden, classes)}
    return table, model, parts, secure_parts, config


def _forecaster_setup(data, time_column, load_column, holiday_calendar, window, lags, cell, gate_activation,
                      cell_activation, hidden_activation, output_activation, hidden_size, dense_size, seed, registry):
    from nn.provenance import series_dataset as _dataset
    from nn.forecaster import Forecaster, ForecasterConfig

    dataset = _dataset(data, time_column, load_column, holiday_calendar, window, lags)
    config = ForecasterConfig(dataset.features, hidden_size, dense_size, gate_activation, cell_activation, cell,
                              hidden_activation, output_activation, "poly", False, 0, dataset.load_columns,
                              dtype="float64")
    parts = {name: dataset.part(name) for name in ("train", "val", "test")}
    model = Forecaster(config, registry=registry, seed=seed, output_bias=float(parts["train"][1].mean()))
    secure_config = {"input_size": dataset.features, "hidden_size": hidden_size, "dense_size": dense_size,
                     "cell": cell}
    return dataset, model, parts, secure_config


def data_options(fn):
    """--data and how to read it (the data owner's)."""
    for decorator in reversed([
        click.option("--data", default=None,
                     help="mlp: 'digits' (built-in) or a CSV with feature columns and a label column [default: "
                          "digits]; forecaster: 'taylor' (built-in) or a CSV with timestamp and load columns "
                          "[default: taylor]."),
        click.option("--label-column", default="label", show_default=True, help="mlp: the CSV's label column."),
        click.option("--time-column", default="timestamp", show_default=True,
                     help="forecaster: CSV timestamp column."),
        click.option("--load-column", default="load", show_default=True, help="forecaster: CSV load column."),
        click.option("--holidays", "holiday_calendar", default="GB/ENG", show_default=True,
                     help="forecaster: holiday calendar of the holidays package, COUNTRY or COUNTRY/SUBDIVISION.")]):
        fn = decorator(fn)
    return fn


def design_options(fn):
    """--model and the architecture (the model owner's)."""
    for decorator in reversed([
        click.option("--model", "model_kind", type=click.Choice(["mlp", "forecaster"]), default="mlp",
                     show_default=True,
                     help="mlp: the feed-forward classifier with the square loss on one-hot targets (SecureML); "
                          "forecaster: the LSTM load forecaster."),
        click.option("--hidden", default="32", show_default=True, help="mlp: hidden layer sizes, e.g. 32 or 32,16."),
        click.option("--activation", default="sigmoid", show_default=True,
                     help="mlp: registry polynomial of the hidden and output layers (e.g. from approx fit --func "
                          "sigmoid --degree 3 --interval -8 8)."),
        click.option("--window", type=click.IntRange(1, 1 << 14), default=20, show_default=True,
                     help="forecaster: steps per input window."),
        click.option("--lags", default="", help="forecaster: extra load features at these lags in steps, e.g. 48,336."),
        click.option("--cell", type=click.Choice(["standard", "linear"]), default="linear", show_default=True,
                     help="forecaster: standard h = o * p_tanh(s), or linear h = o * s."),
        click.option("--gate-activation", default="sigmoid", show_default=True,
                     help="forecaster: registry polynomial of the i, f, o gates."),
        click.option("--cell-activation", default="tanh", show_default=True,
                     help="forecaster: registry polynomial of the candidate (and of the cell state, standard cell)."),
        click.option("--hidden-activation", default="square", show_default=True,
                     help="forecaster: first dense layer's activation (square, identity or a registry polynomial)."),
        click.option("--output-activation", default="identity", show_default=True,
                     help="forecaster: output layer's activation (identity, square or a registry polynomial)."),
        click.option("--hidden-size", type=click.IntRange(1, 1 << 14), default=40, show_default=True,
                     help="forecaster: units of the LSTM layer."),
        click.option("--dense-size", type=click.IntRange(1, 1 << 14), default=20, show_default=True,
                     help="forecaster: units of the first dense layer.")]):
        fn = decorator(fn)
    return fn


def hyper_options(fn):
    """The public hyper-parameters and declared bounds (the model owner's)."""
    for decorator in reversed([
        click.option("--epochs", type=click.IntRange(1, 1 << 20), default=10, show_default=True,
                     help="Epochs (all are run)."),
        click.option("--batch-size", type=click.IntRange(1, 1 << 16), default=None,
                     help="Samples per SGD step [default: 16 for the mlp, 64 for the forecaster]."),
        click.option("--lr", type=FiniteRange(0, 1e6, min_open=True), default=None,
                     help="Public learning rate [default: mlp 2, forecaster 0.1]."),
        click.option("--l2", type=FiniteRange(0, 1e6), default=0.0, show_default=True,
                     help="L2 regularisation lambda."),
        click.option("--seed", type=click.IntRange(0, (1 << 63) - 1), default=0, show_default=True,
                     help="Public seed of the initial weights and of the order of the samples."),
        click.option("--loss-scale", type=click.IntRange(1, 1 << 16), default=1, show_default=True,
                     help="Public power of two the output gradient is multiplied by on shares (keeps small "
                          "gradients above 2^-f); --gradient-bound is then in scaled units."),
        click.option("--weight-bound", type=BOUND, default=None,
                     help="Declared public bound on |w| during the run (checked on the revealed model)."),
        click.option("--gradient-bound", type=BOUND, default=None,
                     help="Declared public bound on the back-propagated gradients.")]):
        fn = decorator(fn)
    return fn


def safety_training_options(fn):
    """What both parties must agree on: fractional bits, failure budget, out-of-range, what is opened."""
    for decorator in reversed([
        click.option("--frac-bits", type=click.IntRange(1, 30), default=None,
                     help="Fixed-point fractional bits f in Z_2^64 [default: chosen with --truncation: the largest "
                          "up to 16 whose run's local truncation-failure bound fits --max-failure-probability, or 16 "
                          "with the dealer's truncation]."),
        truncation_option(8),  # mpc.training.precision.MIN_FRAC_BITS: local truncation from 8 bits up
        click.option("--max-failure-probability", "budget", type=BUDGET, default=TRAINING_BUDGET, show_default=True,
                     help="Largest accepted bound on the probability that any local truncation of the run fails (at "
                          "most 1e-6); a local run above it is refused."),
        allow_out_of_range_option,
        click.option("--reveal-loss", is_flag=True,
                     help="Open each step's training loss (the batch's, one number) to both parties and show it in "
                          "the progress line; without it only the validation loss after each epoch is opened, to "
                          "the model owner."),
        click.option("--keep-shared", is_flag=True,
                     help="Open the weights to nobody: write one share file per party (OUTPUT.party0.npz, "
                          "OUTPUT.party1.npz) instead of the model file.")]):
        fn = decorator(fn)
    return fn


def check_loss_scale(loss_scale: int) -> None:
    """Refuse a loss scale that is not a power of two."""
    if loss_scale & (loss_scale - 1):
        raise ApproxError(f"--loss-scale must be a power of two, got {loss_scale}")


FORECASTER_DESIGN = ["window", "lags", "cell", "gate_activation", "cell_activation", "hidden_activation",
                     "output_activation", "hidden_size", "dense_size"]
MLP_DESIGN = ["hidden", "activation"]
FORECASTER_DATA = ["time_column", "load_column", "holiday_calendar"]
MLP_DATA = ["label_column"]
FORECASTER_ONLY = FORECASTER_DATA + FORECASTER_DESIGN
MLP_ONLY = MLP_DATA + MLP_DESIGN


@secure.command("train")
@design_options
@data_options
@hyper_options
@click.option("--parties", type=int, default=2, show_default=True, help="Parties holding shares (only 2).")
@click.option("--transport", type=click.Choice(["inprocess", "tcp"]), default="inprocess", show_default=True,
              help="tcp: every party and the dealer a process of its own, talking TCP on 127.0.0.1.")
@timeout_option
@safety_training_options
@registry_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Model file [default: mlp.npz or forecaster.npz]; written only when training succeeds.")
@click.option("--force", is_flag=True, help="Replace an -o file that holds another kind of model (or no model).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress goes to stderr).")
def secure_train_command(model_kind, data, label_column, time_column, load_column, holiday_calendar, hidden,
                         activation, window, lags, cell, gate_activation, cell_activation, hidden_activation,
                         output_activation, hidden_size, dense_size, epochs, batch_size, lr, l2, seed, loss_scale,
                         parties, transport, timeout, frac_bits, truncation, budget, allow_out_of_range,
                         weight_bound, gradient_bound, reveal_loss, keep_shared, registry, output, force, as_json):
    """Train on secret shares: the data owner (party 1) shares the samples, the initial weights come from the
    public --seed, the weights stay shared for the whole run and are opened to the model owner (party 0) only
    at the end (or never, with --keep-shared).  The same training runs in plaintext (nn) beside it.  This runs
    every role from this process, which holds the data; to run each role on its own host, see approx
    party-train and approx dealer."""
    from cli.extras import require

    require("secure train", "nn", "mpc")
    from cli.classifier_commands import check_options
    from cli.train_commands import DEFAULT_OUTPUT, check_output, parse_lags
    from mpc.forecaster import weight_bounds as published_bounds
    from mpc.launch import run
    from mpc.training.activations import check_trainable
    from mpc.training.loop import Samples, TrainSettings, plan_run
    from nn.training import TrainConfig, train_to_the_last_epoch

    if parties != 2:
        raise ApproxError(f"secure training runs with 2 parties (the model owner and the data owner), not {parties}; "
                          "use --parties 2")
    check_options(click.get_current_context(), model_kind, FORECASTER_ONLY, MLP_ONLY)
    check_loss_scale(loss_scale)
    output = output or DEFAULT_OUTPUT[model_kind]
    paths = share_paths(output) if keep_shared else [output]
    for path in paths:
        if keep_shared:
            check_share_output(path, force)
        else:
            check_output(path, model_kind, force)
    batch_size = batch_size or (16 if model_kind == "mlp" else 64)
    lr = lr or (2.0 if model_kind == "mlp" else 0.1)
    if model_kind == "mlp":
        table, twin, parts, secure_parts, config = _mlp_setup(data or "digits", label_column, hidden, activation,
                                                              seed, registry)
        dataset = None
    else:
        dataset, twin, parts, config = _forecaster_setup(
            data or "taylor", time_column, load_column, holiday_calendar, window, parse_lags(None, None, lags), cell,
            gate_activation, cell_activation, hidden_activation, output_activation, hidden_size, dense_size, seed,
            registry)
        secure_parts = parts
    activations = {role: act.activation for role, act in twin.activations().items()}
    if model_kind == "mlp":
        activations.setdefault("output", activations["hidden"])
    for role, act in activations.items():
        check_trainable(act, f"{role} ({layer_name(model_kind, role)})")
    init = {name: value.copy() for name, value in twin.params.items()}
    weight_bounds = published_bounds(init)
    settings = TrainSettings(epochs, batch_size, lr, l2, seed, loss_scale, budget, allow_out_of_range, weight_bound,
                             gradient_bound, reveal_loss)
    program_parts = {"train": secure_parts["train"], "validation": secure_parts["val"]}
    if keep_shared:  # the test predictions on shares, opened to the data owner: the model is opened to nobody
        program_parts["test"] = secure_parts["test"]
    # fractional bits and truncation (local within the budget from 8 bits up, else the dealer's), refused before
    # any process starts
    public = {name: Samples.public(*xy, sliding=model_kind == "forecaster") for name, xy in program_parts.items()}
    planned = plan_run(model_kind, config, activations, public["train"], settings, weight_bounds, frac_bits,
                       truncation, public["validation"], public.get("test"))
    frac_bits = planned.frac_bits
    features = {} if model_kind == "mlp" else {"window": window, "lags": list(parse_lags(None, None, lags))}
    results = run(train_program, 2, transport=transport, frac_bits=frac_bits, timeout=timeout,
                  args=(model_kind, config, activations, program_parts, settings, init, weight_bounds, keep_shared,
                        not as_json, features),
                  params={"max_failure_probability": budget, "allow_out_of_range": allow_out_of_range,
                          "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                          "reveal_loss": reveal_loss, "keep_shared": keep_shared},
                  session_options={"truncation": planned.truncation})
    owner, holder = results[MODEL_OWNER]["value"], results[-1]["value"]
    # the plaintext twin: the same initial weights, polynomials, batches and learning rate, in float64
    train_to_the_last_epoch(twin, parts["train"], parts["val"], TrainConfig(epochs, batch_size, lr, l2, None,
                                                                            epochs + 1, seed))
    summary = _summary(model_kind, twin, owner, holder, parts, dataset, keep_shared, registry)
    summary.update({"model": model_kind, "transport": transport, "parties": 2, "frac_bits": frac_bits,
                    "truncation": planned.truncation,
                    "epochs": epochs, "batch_size": batch_size, "lr": lr, "l2": l2, "seed": seed,
                    "loss_scale": loss_scale, "max_failure_probability": budget, "keep_shared": keep_shared,
                    "reveal_loss": reveal_loss, "output": paths})
    if reveal_loss:
        summary["train_loss_per_epoch"] = epoch_losses(owner["train_loss"], len(parts["train"][0]), batch_size)
    meta = _model_meta(model_kind, data, label_column, table if model_kind == "mlp" else None, dataset,
                       time_column, load_column, holiday_calendar, parse_lags(None, None, lags), summary)
    if keep_shared:
        held = {party: shares for result in results for party, shares in (result["value"]["shares"] or {}).items()}
        for party, path in enumerate(paths):
            write_shares(path, party, held[party], owner["record"],
                         {**meta, "config": config_record(twin), "activations": {
                             role: act.describe() for role, act in twin.activations().items()}})
    else:
        from nn.persistence import save_model

        secure_model = with_weights(twin, owner["weights"], registry)
        save_model(output, secure_model, meta)
    if as_json:
        click.echo(dumps(summary))
        return
    _echo(summary, model_kind)


def layer_name(kind: str, role: str) -> str:
    names = {"mlp": {"hidden": "hidden layers; --activation", "output": "output layer; --activation"},
             "forecaster": {"gate": "LSTM gates i, f, o; --gate-activation", "cell": "LSTM candidate; "
                            "--cell-activation", "hidden": "dense1; --hidden-activation",
                            "output": "dense2; --output-activation"}}
    return names[kind][role]


def config_record(model) -> dict:
    import dataclasses

    return json.loads(dumps(dataclasses.asdict(model.config)))


def with_weights(twin, weights: dict, registry):
    """A model like the twin holding the weights trained on shares."""
    model = type(twin)(twin.config, registry=registry)
    for name, value in weights.items():
        model.params[name][...] = value
    return model


def _summary(kind, twin, owner, holder, parts, dataset, keep_shared, registry) -> dict:
    """The figures of a local run: the test metric (of the opened model, or with --keep-shared of the test
    predictions on shares, opened to the data owner), the twin's, the costs and bounds."""
    summary = {**run_figures(owner), "val_loss_per_epoch": owner["validation_loss"]}
    if kind == "mlp":
        x_test, y_test = parts["test"]
        if keep_shared:
            accuracy = float(np.mean(holder["test_predictions"].argmax(axis=1) == y_test))
        else:
            accuracy = float(np.mean(with_weights(twin, owner["weights"], registry).predict(x_test) == y_test))
        return {"test_accuracy": accuracy, "plaintext_test_accuracy": float(np.mean(twin.predict(x_test) == y_test)),
                **summary}
    from nn.evaluation import evaluate
    from nn.metrics import scores

    if keep_shared:
        actual = dataset.loads[dataset.target_pos[dataset.splits["test"]]]
        mape = scores(dataset.to_mw(holder["test_predictions"][:, 0]), actual).mape
    else:
        mape = evaluate(with_weights(twin, owner["weights"], registry), dataset).test.mape
    return {"test_mape": mape, "plaintext_test_mape": evaluate(twin, dataset).test.mape, **summary}


def run_figures(value: dict) -> dict:
    """The cost and precision figures of a run on shares, as every party knows them (JSON fields)."""
    cost = value["step_cost"]
    return {
        "bytes_per_party_per_step": cost.bytes_per_party, "rounds_per_step": cost.rounds,
        "floor_bytes_per_step": cost.floor_bytes_per_party, "floor_rounds_per_step": cost.floor_rounds,
        "triples_per_step": cost.triples, "truncation": cost.truncation,
        # the samples masked and opened once before the first step (SecureML's "data masked once")
        "setup_bytes_per_party": value["setup_cost"].bytes_per_party, "setup_rounds": value["setup_cost"].rounds,
        "seconds_per_epoch": float(np.mean(value["seconds_per_epoch"])), "epochs_run": len(value["seconds_per_epoch"]),
        "truncation_failure_bound": value["truncation_failure_bound"],
        "planned_failure_bound": value["planned_failure_bound"],
        "failure_bound_conditional": value["conditional"],
        "weight_bound_per_epoch": value["weight_bounds"],
        "preactivation_bound_over_interval": value["range_ratios"][-1],
    }


def _model_meta(kind, data, label_column, table, dataset, time_column, load_column, holiday_calendar, lags,
                summary) -> dict:
    """What ``approx train`` records beside the weights (and that it ran on shares), so that ``approx evaluate``
    reads the file."""
    from nn.persistence import classifier_metadata, forecaster_metadata

    recorded = {**summary, "train": {key: summary[key] for key in ("seed", "batch_size", "lr", "l2", "epochs")}}
    secure = {"frac_bits": summary["frac_bits"], "truncation": summary["truncation"]}
    if kind == "mlp":
        return classifier_metadata(data or "digits", label_column, 1, table.classes, recorded, secure=secure)
    return forecaster_metadata(dataset, data or "taylor", time_column, load_column, holiday_calendar, lags, recorded,
                               secure=secure)


def _echo(summary: dict, kind: str) -> None:
    if kind == "mlp":
        click.echo(f"test accuracy {100 * summary['test_accuracy']:.2f} % trained on shares, "
                   f"{100 * summary['plaintext_test_accuracy']:.2f} % plaintext twin")
    else:
        click.echo(f"test MAPE {summary['test_mape']:.3f} % trained on shares, "
                   f"{summary['plaintext_test_mape']:.3f} % plaintext twin")
    echo_run(summary)
    click.echo(("shares written to " if summary["keep_shared"] else "model saved to ") + ", ".join(summary["output"]))


def echo_run(summary: dict) -> None:
    """The lines every party of a run prints: losses it learnt, costs per step, the failure bound."""
    if summary.get("val_loss_per_epoch"):
        click.echo("validation loss per epoch (on shares): "
                   + ", ".join(f"{v:.4g}" for v in summary["val_loss_per_epoch"]))
    if summary.get("train_loss_per_epoch"):
        click.echo("training loss per epoch (revealed): "
                   + ", ".join(f"{v:.4g}" for v in summary["train_loss_per_epoch"]))
    click.echo(f"per step: {summary['rounds_per_step']} rounds (floor {summary['floor_rounds_per_step']}), "
               f"{summary['bytes_per_party_per_step']} bytes sent per party (floor "
               f"{summary['floor_bytes_per_step']}), after a set-up of {summary['setup_rounds']} round and "
               f"{summary['setup_bytes_per_party']} bytes per party (the data masked and opened once); "
               f"{summary['seconds_per_epoch']:.2f} s per epoch, "
               f"{summary['epochs_run']} epochs, {summary['frac_bits']} fractional bits, {summary['truncation']} "
               "truncation")
    condition = (" (conditional on the declared bounds and on the pre-activations staying inside the intervals)"
                 if summary["failure_bound_conditional"] else "")
    if summary["truncation"] == "dealer":
        click.echo("truncations with the dealer's help: exact to one unit, they cannot fail (one opening of every "
                   "truncated element, counted above)" + (
                       "; that no value reaches 2^62 in the ring rests on the declared bounds and on the "
                       "pre-activations staying inside the intervals" if condition else ""))
    else:
        click.echo(f"local truncations of the run fail with probability below "
                   f"{summary['truncation_failure_bound']:.1e} (budget {summary['max_failure_probability']:.1e})"
                   f"{condition}")

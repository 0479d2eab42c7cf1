"""``approx party-train``: one role of a training on secret shares per process, for runs across organisations.

The model owner holds the design (model kind, architecture, registry activations, hyper-parameters; optionally
initial weights of its own, ``--init``) and the output path; the data owner holds its data file; the dealer
(``approx dealer``) nothing.  The design travels to the data owner and the samples' sizes and bounds to the
model owner, each checked on arrival (:mod:`mpc.training.protocol`); both parties agree at set-up on what is
opened (``--reveal-loss``, ``--keep-shared``), the fractional bits, the truncation, the failure budget and
out-of-range pre-activations.  See docs/secure-deployment.md for a two-host run.
"""

from __future__ import annotations

import json
import os

import click
import numpy as np

from approx.errors import ApproxError
from approx.strict_json import dumps
from cli.app import approx, registry_option
from cli.extras import require
from cli.party_commands import connection_options, party_listener, party_peers, run_role
from cli.secure_train_command import (FORECASTER_DATA, FORECASTER_DESIGN, MLP_DATA, MLP_DESIGN, check_loss_scale,
                                      data_options, design_options, echo_run, epoch_losses, hyper_options,
                                      run_figures, safety_training_options, step_progress)

__all__ = ["party_train"]

PROGRAM = "mpc.training.protocol.training_program"
DESIGN = ["model_kind", *MLP_DESIGN, *FORECASTER_DESIGN]
DATA = ["data", *MLP_DATA, *FORECASTER_DATA]


def _given(ctx: click.Context, names: list) -> list:
    """The options among ``names`` given on the command line, as their flags."""
    flags = {param.name: param.opts[0] for param in ctx.command.params}
    return [flags[name] for name in names
            if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)]


def _design_from_options(kind, hidden, activation, window, lags, cell, gate_activation, cell_activation,
                         hidden_activation, output_activation, hidden_size, dense_size, registry):
    """(architecture, activations, features) from the model owner's options."""
    import approx as lib
    from nn.classifiers import parse_hidden
    from cli.train_commands import parse_lags

    if kind == "mlp":
        act = lib.get(activation, registry=registry)
        return {"hidden": list(parse_hidden(hidden))}, {"hidden": act, "output": act}, {}
    names = {"gate": gate_activation, "cell": cell_activation, "hidden": hidden_activation,
             "output": output_activation}
    return ({"hidden_size": hidden_size, "dense_size": dense_size, "cell": cell},
            {role: lib.get(name, registry=registry) for role, name in names.items()},
            {"window": window, "lags": list(parse_lags(None, None, lags))})


def _design_from_model(path: str, registry):
    """(kind, architecture, activations, features, nn model) from the model owner's --init model file."""
    from nn.persistence import load_model

    model, meta = load_model(path, registry=registry)
    kind, config = meta["model"], model.config
    if kind == "mlp":
        if config.loss != "mse":
            raise ApproxError(f"{path} was trained with the {config.loss} loss; training on shares uses the square "
                              "loss: start from a model trained with approx train mlp --loss mse")
        import approx as lib

        acts = {role: act.activation for role, act in model.activations().items()}
        acts.setdefault("output", lib.get("identity"))
        return kind, {"hidden": list(config.hidden)}, acts, {}, model
    if kind != "forecaster":
        raise ApproxError(f"{path} holds an {kind} model; training on shares trains an mlp or a forecaster")
    if config.highway:
        raise ApproxError(f"{path} has a highway term, which training on shares does not support")
    features = meta.get("features", {})
    return (kind, {"hidden_size": config.hidden_size, "dense_size": config.dense_size, "cell": config.cell},
            {role: act.activation for role, act in model.activations().items()},
            {"window": features.get("window") or 20, "lags": list(features.get("lags", []))}, model)


def _initial_model(design: dict, samples: dict, init_model, registry):
    """The model owner's nn model for the announced design and data: its own --init model (checked against the
    data), or a fresh one from the public seed (as approx secure train and approx train start)."""
    from nn.features import FEATURES

    kind, arch = design["kind"], design["architecture"]
    if init_model is not None:
        config = init_model.config
        expected = ((config.input_size, config.classes) if kind == "mlp" else (config.input_size, 1))
        if expected != (samples["input_size"], samples["outputs"]):
            raise ApproxError(f"the --init model reads {expected[0]} features into {expected[1]} outputs; the data "
                              f"owner's samples have {samples['input_size']} features and {samples['outputs']} "
                              "outputs")
        return init_model
    names = {role: spec["name"] for role, spec in design["described"].items()}
    if kind == "mlp":
        from nn.network import MLPConfig, Network

        config = MLPConfig(samples["input_size"], tuple(arch["hidden"]), samples["outputs"], names["hidden"], "poly",
                           False, loss="mse", output_activation=names["output"], dtype="float64")
        return Network(config, registry=registry, seed=design["hyper"]["seed"])
    from nn.forecaster import Forecaster, ForecasterConfig

    lags = design["features"]["lags"]
    if samples["input_size"] != FEATURES + len(lags):
        raise ApproxError(f"the data owner's windows have {samples['input_size']} features per step; the forecaster "
                          f"reads {FEATURES} and one per lag ({FEATURES + len(lags)})")
    config = ForecasterConfig(samples["input_size"], arch["hidden_size"], arch["dense_size"], names["gate"],
                              names["cell"], arch["cell"], names["hidden"], names["output"], "poly", False, 0,
                              (0, *range(FEATURES, samples["input_size"])), dtype="float64")
    return Forecaster(config, registry=registry, seed=design["hyper"]["seed"], output_bias=samples["target_mean"])


def _load_samples(design: dict, data, label_column, time_column, load_column, holiday_calendar, kept: dict,
                  given: dict):
    """The data owner's (parts, extra announcement) for the announced design; ``kept`` gets what it needs later.

    Raises
    ------
    ApproxError
        If the data owner gave options of the other kind of data (``given``: kind -> flags given).
    """
    other = given["forecaster" if design["kind"] == "mlp" else "mlp"]
    if other:
        raise ApproxError(f"the model owner trains {'an mlp' if design['kind'] == 'mlp' else 'a forecaster'}: "
                          f"{', '.join(other)} do(es) not apply to its data")
    if design["kind"] == "mlp":
        from nn.classifiers import model_parts
        from nn.network import one_hot
        from nn.tabular import load_table

        table = load_table(data or "digits", label_column, design["hyper"]["seed"])
        parts = model_parts("mlp", table, 1)
        classes = len(table.classes)
        kept.update({"table": table, "parts": parts})
        return ({name: (x, one_hot(y, classes)) for name, (x, y) in parts.items()},
                {"classes": [c.item() if hasattr(c, "item") else c for c in table.classes],
                 "label_column": label_column})
    from nn.provenance import series_dataset as _dataset

    features = design["features"]
    dataset = _dataset(data or "taylor", time_column, load_column, holiday_calendar, features["window"],
                       tuple(features["lags"]))
    parts = {name: dataset.part(name) for name in ("train", "val", "test")}
    kept.update({"dataset": dataset, "parts": parts})
    extra = {"holidays": holiday_calendar}
    if design["init"] == "seed":  # nn's forecasters start the output bias at the mean training target
        extra["target_mean"] = float(parts["train"][1].mean())
    return parts, extra


@approx.command("party-train")
@click.option("--role", type=click.Choice(["model-owner", "data-owner"]), required=True,
              help="model-owner (party 0) holds the design (--model, the architecture, the hyper-parameters, "
                   "--init) and receives the model; data-owner (party 1) holds --data and learns the test "
                   "metric.")
@design_options
@click.option("--init", "init_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Model owner: start from the weights (and the architecture and activations) of this model "
                   "file instead of the public --seed; they are shared and never seen by the data owner.")
@data_options
@hyper_options
@safety_training_options
@connection_options
@registry_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Model owner: the model file [default: mlp.npz or forecaster.npz], written only when training "
                   "succeeds.  With --keep-shared each party writes its own share file OUTPUT.partyK.npz (the data "
                   "owner must then give -o too).")
@click.option("--force", is_flag=True, help="Replace an -o file that holds another kind of model (or no model).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress goes to stderr).")
def party_train(role, model_kind, hidden, activation, window, lags, cell, gate_activation, cell_activation,
                hidden_activation, output_activation, hidden_size, dense_size, init_file, data, label_column,
                time_column, load_column, holiday_calendar, epochs, batch_size, lr, l2, seed, loss_scale,
                weight_bound, gradient_bound, frac_bits, truncation, budget, allow_out_of_range, reveal_loss, keep_shared,
                listen,
                peers, session_id, insecure, timeout, tls_cert, tls_key, tls_ca, registry, output, force, as_json):
    """Run one party of a training on secret shares, holding only this party's input: the model owner the
    design, the data owner its data.  The weights stay shared for the whole run; at the end they are opened
    to the model owner only (or, with --keep-shared, to nobody).  Every role, the dealer included (approx
    dealer), runs on its own host."""
    require("party-train", "nn", "mpc")
    from cli.model_shares import check_share_output, share_paths
    from cli.secure_commands import tls_config
    from cli.train_commands import DEFAULT_OUTPUT, check_output
    from mpc.training.activations import check_trainable
    from mpc.training.protocol import HYPER, describe_design

    ctx = click.get_current_context()
    me, peer_map = party_peers(role, peers, listen)
    foreign = _given(ctx, DATA) if me == 0 else _given(ctx, [*DESIGN, *HYPER]) + (["--init"] if init_file else [])
    if foreign:
        raise click.UsageError(f"{', '.join(foreign)} belong(s) to the {'data' if me == 0 else 'model'} owner: the "
                               f"{role} holds only {'the design' if me == 0 else 'its data'}")
    tls = tls_config(tls_cert, tls_key, tls_ca)
    paths = []
    if me == 1:
        if output is None and keep_shared:
            raise click.UsageError("with --keep-shared the data owner writes its share file: give -o MODEL "
                                   "(it writes MODEL.party1.npz)")
        if (output is not None or force) and not keep_shared:
            raise click.UsageError("the data owner writes no model (it is opened to the model owner): -o and "
                                   "--force are for its share file, with --keep-shared")
        if data is not None and data not in ("digits", "taylor") and not os.path.isfile(data):
            raise ApproxError(f"no data file {data}")
        if keep_shared:
            paths = [share_paths(output)[1]]
            check_share_output(paths[0], force)
        model_part, data_part, kept = None, {}, {}
        given = {"mlp": _given(ctx, MLP_DATA), "forecaster": _given(ctx, FORECASTER_DATA)}
        data_part["load"] = lambda design: _load_samples(design, data, label_column, time_column, load_column,
                                                         holiday_calendar, kept, given)
    else:
        init_model = None
        if init_file is not None:
            given = _given(ctx, DESIGN)
            if given:
                raise click.UsageError(f"the --init model sets the architecture and activations: drop "
                                       f"{', '.join(given)}")
            model_kind, arch, activations, features, init_model = _design_from_model(init_file, registry)
        else:
            from cli.classifier_commands import check_options

            check_options(ctx, model_kind, FORECASTER_DESIGN, MLP_DESIGN)
            arch, activations, features = _design_from_options(
                model_kind, hidden, activation, window, lags, cell, gate_activation, cell_activation,
                hidden_activation, output_activation, hidden_size, dense_size, registry)
        from cli.secure_train_command import layer_name

        for act_role, act in activations.items():
            check_trainable(act, f"{act_role} ({layer_name(model_kind, act_role)})")
        check_loss_scale(loss_scale)
        output = output or DEFAULT_OUTPUT[model_kind]
        paths = [share_paths(output)[0]] if keep_shared else [output]
        if keep_shared:
            check_share_output(paths[0], force)
        else:
            check_output(output, model_kind, force)
        hyper = {"epochs": epochs, "batch_size": batch_size or (16 if model_kind == "mlp" else 64),
                 "lr": lr or (2.0 if model_kind == "mlp" else 0.1), "l2": l2, "seed": seed, "loss_scale": loss_scale,
                 "weight_bound": weight_bound, "gradient_bound": gradient_bound}
        design = json.loads(json.dumps(describe_design(model_kind, arch, activations, features, hyper,
                                                       "model-owner" if init_file else "seed")))
        kept = {}

        def init(design, samples):
            kept["model"] = _initial_model(design, samples, init_model, registry)
            return {name: np.array(value, dtype=np.float64) for name, value in kept["model"].params.items()}

        model_part, data_part = {"design": design, "init": init}, None
    listener = party_listener(role, listen, peer_map, tls, insecure)
    settings = {"frac_bits": frac_bits, "truncation": truncation, "budget": budget,
                "allow_out_of_range": allow_out_of_range, "reveal_loss": reveal_loss, "keep_shared": keep_shared}
    # both parties plan the same fractional bits and truncation from the same announcements; what they were
    # asked for must agree at set-up
    params = {"program": PROGRAM, "frac_bits": "auto" if frac_bits is None else frac_bits, "truncation": truncation,
              "max_failure_probability": budget, "allow_out_of_range": allow_out_of_range,
              "reveal_loss": reveal_loss, "keep_shared": keep_shared}
    result = _run(me, peer_map, listener, model_part, data_part, settings, params, timeout, tls, session_id,
                  insecure)
    value, outcome = result["value"], result["value"]["result"]
    design, samples = value["design"], value["samples"]
    kind, hyper = design["kind"], design["hyper"]
    summary = {"role": role, "model": kind, **{k: hyper[k] for k in ("epochs", "batch_size", "lr", "l2", "seed",
                                                                     "loss_scale")},
               "frac_bits": value["frac_bits"], "max_failure_probability": budget, "reveal_loss": reveal_loss,
               "keep_shared": keep_shared, "initial_weights": design["init"],
               "samples": {name: part["samples"] for name, part in samples["parts"].items()},
               **run_figures(_figures(outcome)), "bytes_sent": result["wire_bytes"], "output": paths}
    if reveal_loss:
        summary["train_loss_per_epoch"] = epoch_losses(outcome.train_loss, samples["parts"]["train"]["samples"],
                                                       hyper["batch_size"])
    if me == 0:
        summary["val_loss_per_epoch"] = outcome.validation_loss
        meta = _owner_meta(design, samples, summary)
        if keep_shared:
            from cli.model_shares import write_shares
            from cli.secure_train_command import config_record

            model = kept["model"]
            write_shares(paths[0], 0, {k: v[0] for k, v in outcome.shares.items()}, value["record"],
                         {**meta, "config": config_record(model),
                          "activations": {r: a.describe() for r, a in model.activations().items()}})
        else:
            from cli.secure_train_command import with_weights
            from nn.persistence import save_model

            save_model(output, with_weights(kept["model"], outcome.weights, registry), meta)
    else:
        summary.update(_test_scores(kind, kept, outcome.test_predictions))
        if keep_shared:
            from cli.model_shares import write_shares

            write_shares(paths[0], 1, {k: v[0] for k, v in outcome.shares.items()}, value["record"],
                         _holder_meta(design, kept, data, label_column, time_column, load_column, holiday_calendar,
                                      summary))
    if as_json:
        click.echo(dumps(summary))
        return
    _echo(summary)


def _run(me, peer_map, listener, model_part, data_part, settings, params, timeout, tls, session_id, insecure):
    """The training program as party ``me``, with the progress of the steps on stderr; every failure one line."""
    import warnings

    from cli.secure_train_command import warn_line
    from mpc.training.precision import OutOfRangeWarning
    from mpc.training.protocol import training_program

    progress = _Progress()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", OutOfRangeWarning)
            # --allow-out-of-range: one loud line per layer, from the model owner (the data owner sees the same)
            warnings.showwarning = warn_line if me == 0 else (lambda *a, **k: None)
            settings = {**settings, "on_start": progress.start, "on_step": progress.on_step,
                        "on_epoch": progress.on_epoch}
            return run_role(training_program, me, peer_map, listener, (model_part, data_part, settings),
                            timeout=timeout, tls=tls, session=session_id, params=params, insecure=insecure)
    finally:
        progress.close()


class _Progress:
    """The progress of the steps on stderr, from the moment the run's size is known (both announcements arrived):
    the epoch, the revealed loss, the validation loss this party learns."""

    def __init__(self):
        self.context, self.callbacks = None, (None, None)

    def start(self, steps: int, epochs: int) -> None:
        self.context = step_progress(steps, epochs, True)
        self.callbacks = self.context.__enter__()

    def on_step(self, epoch, step, per_epoch, loss) -> None:
        self.callbacks[0](epoch, step, per_epoch, loss)

    def on_epoch(self, epoch, value) -> None:
        self.callbacks[1](epoch, value)

    def close(self) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)
            self.context = None


def _figures(outcome) -> dict:
    return {"step_cost": outcome.step_cost, "setup_cost": outcome.setup_cost, "seconds_per_epoch": outcome.seconds_per_epoch,
            "truncation_failure_bound": outcome.truncation_failure_bound,
            "planned_failure_bound": outcome.planned_failure_bound, "conditional": outcome.conditional,
            "weight_bounds": outcome.weight_bounds, "range_ratios": outcome.range_ratios}


def _train_record(summary: dict) -> tuple[dict, dict]:
    """The summary with the settings under ``train``, and the public settings of the run on shares (the ``summary``
    and ``secure`` of :func:`nn.persistence.forecaster_metadata`)."""
    recorded = {**summary, "train": {key: summary[key] for key in ("seed", "batch_size", "lr", "l2", "epochs")}}
    return recorded, {"per_role": True, "frac_bits": summary["frac_bits"], "truncation": summary["truncation"]}


def _owner_meta(design: dict, samples: dict, summary: dict) -> dict:
    """The model file's metadata as the model owner knows it: no data source (the data owner's), the class labels
    or the holiday calendar and input features the data owner announced."""
    from nn.persistence import training_summary

    record = {"summary": training_summary(*_train_record(summary))}
    if design["kind"] == "mlp":
        return {"data": {"source": None, "label_column": samples["label_column"], "steps": 1,
                         "classes": samples["classes"]}, **record}
    return {"data": {"source": None, "holidays": samples["holidays"]}, "features": design["features"], **record}


def _holder_meta(design, kept, data, label_column, time_column, load_column, holiday_calendar, summary) -> dict:
    """The data owner's share file's metadata: its own data record (and scaling), so that inference with this
    file finds the data it was trained on by default."""
    from nn.persistence import classifier_metadata, forecaster_metadata

    recorded, secure = _train_record(summary)
    if design["kind"] == "mlp":
        return classifier_metadata(data or "digits", label_column, 1, kept["table"].classes, recorded, secure=secure)
    return forecaster_metadata(kept["dataset"], data or "taylor", time_column, load_column, holiday_calendar,
                               design["features"]["lags"], recorded, secure=secure)


def _test_scores(kind: str, kept: dict, predictions: np.ndarray) -> dict:
    """The data owner's test figures, from the test predictions opened to it (it holds the targets)."""
    if kind == "mlp":
        return {"test_accuracy": float(np.mean(predictions.argmax(axis=1) == kept["parts"]["test"][1]))}
    from nn.metrics import scores

    dataset = kept["dataset"]
    actual = dataset.loads[dataset.target_pos[dataset.splits["test"]]]
    test = scores(dataset.to_mw(predictions[:, 0]), actual)
    return {"test_mape": test.mape, "test_rmse": test.rmse, "test_mae": test.mae}


def _echo(summary: dict) -> None:
    if "test_accuracy" in summary:
        click.echo(f"test accuracy {100 * summary['test_accuracy']:.2f} % of the model trained on shares "
                   "(predicted on shares; no plaintext twin: nobody holds both the data and the model)")
    elif "test_mape" in summary:
        click.echo(f"test MAPE {summary['test_mape']:.3f} % of the model trained on shares (predicted on shares; "
                   "no plaintext twin: nobody holds both the data and the model)")
    echo_run(summary)
    if summary["output"]:
        click.echo(("share written to " if summary["keep_shared"] else "model saved to ") + summary["output"][0])

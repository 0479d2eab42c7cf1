"""``approx secure infer``: the trained forecaster evaluated on secret shares, beside the plaintext model (local mode:
every role launched from this process, which holds both the model and the data)."""

from __future__ import annotations

import json
import sys

import click
import numpy as np

from approx.errors import ApproxError
from approx.strict_json import dumps
from cli.app import registry_option
from cli.extras import require
from cli.secure_commands import (allow_out_of_range_option, safety_options, secure, timeout_option, tls_config,
                                 tls_options, warn_out_of_range)
from cli.train_commands import with_data_options


def progress_bar(batches):
    """The data owner's progress over the batches, on stderr (module level: it travels to party processes)."""
    with click.progressbar(batches, label="batches", file=sys.stderr, show_pos=True) as bar:
        yield from bar


def shares_part(read: list) -> dict:
    """What :func:`mpc.inference.forecast_program` takes for a model kept shared: the share files' public part and
    the shares themselves by party (``read``: (metadata, arrays) of the files this process holds).

    Raises
    ------
    ApproxError
        If the files hold a classifier, or their public part does not describe a forecaster whose weights are
        the arrays they hold.
    """
    from mpc.forecaster import SecureForecaster
    from mpc.inference import public_model
    from mpc.wire import ProtocolError

    public = read[0][0]["public"]
    if public["model"] != "forecaster":
        raise ApproxError(f"the share files hold a classifier ({public['model']}); secure inference runs forecasters")
    try:
        config, activations, bounds, features = public_model(json.loads(json.dumps(public["announcement"])))
    except ProtocolError as exc:
        raise ApproxError(f"the share files' public part does not describe a forecaster ("
                          f"{str(exc).replace('the model owner announced ', '')})") from None
    shapes = SecureForecaster.shapes(config)
    for header, arrays in read:
        if set(arrays) != set(shapes) or any(arrays[k].shape != shapes[k] for k in shapes):
            raise ApproxError(f"party {header['party']}'s share file holds arrays that do not fit its configuration")
    return {"public": public, "shares": {header["party"]: arrays for header, arrays in read}, "config": config,
            "activations": activations, "bounds": bounds, "features": features}


def planned_run(model: dict, x: np.ndarray, frac_bits, budget: float, allow_out_of_range: bool,
                truncation: str = "auto", parties: int = 2):
    """Plan a local run from the announcements the parties would make (exit 2 before any process starts)."""
    from mpc.encoder import EncodingError
    from mpc.inference import describe_model, plan_forecast, public_model

    if "shares" in model:
        config, activations, bounds = model["config"], model["activations"], model["bounds"]
    else:
        announced = json.loads(json.dumps(describe_model(model["config"], model["activations"], model["weights"],
                                                         model["features"])))
        config, activations, bounds, _ = public_model(announced)
    planned = plan_forecast(config, activations, bounds, x.shape, float(np.max(np.abs(x), initial=0.0)), frac_bits,
                            budget, allow_out_of_range, truncation, parties)
    if "shares" in model and planned.frac_bits < model["public"]["frac_bits"]:
        shared = model["public"]["frac_bits"]
        raise EncodingError(f"the model's shares hold {shared} fractional bits but this run can use at most "
                            f"{planned.frac_bits}; give --frac-bits {shared} or more (with --truncation dealer if the "
                            "failure budget does not allow it)")
    warn_out_of_range(planned.out_of_range, activations)
    return planned


def write_forecasts(path: str, forecasts: np.ndarray) -> None:
    """The forecasts (MW) as .npy or one value per line, written whole or not at all."""
    from approx.atomic_file import atomic_write

    with atomic_write(path) as fh:
        if path.endswith(".npy"):
            np.save(fh, forecasts)
        else:
            fh.write("".join(f"{v!r}\n" for v in forecasts.tolist()).encode())


def load_model_or_shares(paths: tuple, registry):
    """(model part, metadata, plaintext model or None) from one model file or the two share files of one model.

    Raises
    ------
    ApproxError
        For a share file alone, more than two files, or two files that are not halves of one model.
    """
    from cli.model_shares import check_pair, is_share_file
    from mpc.forecaster import check_activations
    from nn.secure_inputs import read_forecaster_inputs

    if len(paths) == 2:
        read = check_pair(list(paths))
        meta = read[1][0].get("model_metadata") or {}
        return shares_part(read), {**meta, "features": read[0][0]["public"]["announcement"]["features"]}, None
    if len(paths) != 1:
        raise click.UsageError("give one model file, or the two share files of a model kept shared "
                               "(MODEL.party0.npz MODEL.party1.npz)")
    if is_share_file(paths[0]):
        raise ApproxError(f"{paths[0]} is one party's share of a model kept shared: give both share files "
                          "(MODEL.party0.npz MODEL.party1.npz), or run each party with its own file (approx party)")
    inputs, meta, model = read_forecaster_inputs(paths[0], registry=registry)
    check_activations(inputs["activations"])
    return inputs, meta, model


@secure.command("infer")
@click.argument("model_files", metavar="MODEL_FILE...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@with_data_options
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True,
              help="Which part of the data (split 7:2:1 in time order) to forecast.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N windows of the split.")
@click.option("--batch-size", type=click.IntRange(1, 1 << 16), default=64, show_default=True,
              help="Windows per batch.")
@click.option("--parties", type=click.IntRange(2, 64), default=2, show_default=True,
              help="Number of parties holding shares (the dealer not counted).")
@safety_options
@allow_out_of_range_option
@click.option("--transport", type=click.Choice(["inprocess", "tcp"]), default="inprocess", show_default=True,
              help="tcp: every party and the dealer a process of its own, talking TCP on 127.0.0.1.")
@timeout_option
@tls_options
@registry_option
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the secure forecasts (MW) here: .npy, or text with one value per line.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress goes to stderr).")
def secure_infer(model_files, data, time_column, load_column, holiday_calendar, split, limit, batch_size, parties,
                 frac_bits, truncation, budget, allow_out_of_range, transport, timeout, tls_cert, tls_key, tls_ca,
                 registry, output, as_json):
    """Forecast with MODEL_FILE on secret shares: the model owner (party 0) shares the weights, the data
    owner (party 1) the windows, and only the data owner learns the forecasts.  MODEL_FILE may instead be the
    two share files of a model trained with approx secure train --keep-shared (MODEL.party0.npz
    MODEL.party1.npz): each party then inputs its own share, and the model never exists in the clear (nor is
    there a plaintext model to compare with).  This runs every role from this process; to run each role on its
    own host, see approx party and approx dealer."""
    require("secure infer", "nn", "mpc")
    from mpc.inference import forecast_program
    from mpc.launch import run
    from nn.evaluation import forecast
    from nn.metrics import scores
    from nn.provenance import model_dataset

    tls = tls_config(tls_cert, tls_key, tls_ca, transport)
    if output:
        from approx.atomic_file import check_writable

        problem = check_writable(output)
        if problem:
            raise ApproxError(f"cannot write {output}: {problem}; choose another --output")
    owner_part, meta, model = load_model_or_shares(model_files, registry)
    if model is None and parties != 2:
        raise ApproxError(f"a model kept shared has the shares of 2 parties; it runs with --parties 2, not {parties}")
    dataset = model_dataset(meta, data, time_column, load_column, holiday_calendar)
    x, _ = dataset.part(split)
    x = x[:limit] if limit else x
    actual = dataset.loads[dataset.target_pos[dataset.splits[split]]][:len(x)]
    plain = forecast(model, x) if model is not None else None
    planned = planned_run(owner_part, x, frac_bits, budget, allow_out_of_range, truncation, parties)
    settings = {"frac_bits": planned.frac_bits, "truncation": planned.truncation, "budget": budget,
                "allow_out_of_range": allow_out_of_range, "progress": None if as_json else progress_bar}
    data_part = {"x": x, "batch_size": batch_size}
    if model is None:
        data_part["public"] = owner_part["public"]
    results = run(forecast_program, parties, transport=transport, frac_bits=planned.frac_bits, timeout=timeout, tls=tls,
                  args=(owner_part, data_part, settings),
                  params={"max_failure_probability": budget, "allow_out_of_range": allow_out_of_range,
                          "weights": "shares" if model is None else "model owner"},
                  session_options={"truncation": planned.truncation})
    owner = results[1 if transport == "tcp" else 0]["value"]
    stats, secure_forecasts = owner["stats"], owner["forecasts"]
    if output:
        write_forecasts(output, dataset.to_mw(secure_forecasts))
    secure_scores = scores(dataset.to_mw(secure_forecasts), actual)
    plain_scores = scores(dataset.to_mw(plain), actual) if plain is not None else None
    summary = {
        "model": list(model_files) if model is None else str(model_files[0]), "from_shares": model is None,
        "data": dataset.source, "split": split, "windows": len(x), "batch_size": batch_size, "parties": parties,
        "transport": transport, "frac_bits": planned.frac_bits, "truncation": planned.truncation,
        "secure": secure_scores.as_dict(), "plaintext": plain_scores.as_dict() if plain is not None else None,
        "max_abs_difference": float(np.max(np.abs(secure_forecasts - plain))) if plain is not None else None,
        "mape_difference": secure_scores.mape - plain_scores.mape if plain is not None else None,
        **run_figures(stats, owner["online_seconds"], len(x)),
        "max_failure_probability": budget, "out_of_range": planned.out_of_range, "output": output,
    }
    if as_json:
        click.echo(dumps(summary))
        return
    click.echo(f"data: {dataset.source}")
    what = " + ".join(model_files) + (" (each party its own share)" if model is None else "")
    click.echo(f"{what}: {len(x)} {split} windows on secret shares ({parties} parties, {transport}, "
               f"{planned.frac_bits} fractional bits, {planned.truncation} truncation, batches of {batch_size})")
    click.echo(f"{'':12}{'RMSE (MW)':>11}{'MAE (MW)':>10}{'MAPE':>10}")
    for label, sc in (("secure", secure_scores), ("plaintext", plain_scores)):
        if sc is not None:
            click.echo(f"{label:12}{sc.rmse:11.2f}{sc.mae:10.2f}{sc.mape:9.4f}%")
    if plain is not None:
        click.echo(f"largest |secure - plaintext| forecast: {summary['max_abs_difference']:.2e} (normalised load); "
                   f"MAPE difference {summary['mape_difference']:+.4f} points")
    else:
        click.echo("no plaintext comparison: the model exists only as the two parties' shares")
    echo_figures(summary, stats)
    if output:
        click.echo(f"forecasts (MW) written to {output}")


def run_figures(stats, online_seconds: float, windows: int) -> dict:
    """The cost figures of a secure inference run (JSON fields)."""
    return {
        "rounds": stats.rounds, "floor_rounds": stats.floor_rounds,
        "bytes_per_party": stats.bytes_per_party, "floor_bytes_per_party": stats.floor_bytes_per_party,
        "bytes_per_inference": stats.bytes_per_party / windows, "triples": stats.triples,
        "offline_bytes": stats.offline_bytes, "offline_seconds": stats.offline_seconds,
        "online_seconds": online_seconds - stats.offline_seconds,
        "inferences_per_second": windows / online_seconds,
        "online_inferences_per_second": windows / max(online_seconds - stats.offline_seconds, 1e-9),
        "truncation": stats.truncation, "truncation_failure_bound": stats.truncation_failure_bound,
    }


def echo_figures(summary: dict, stats) -> None:
    """The cost lines of a secure inference run."""
    click.echo(f"rounds {stats.rounds} (floor {stats.floor_rounds}); bytes sent per party "
               f"{stats.bytes_per_party} (floor {stats.floor_bytes_per_party}), "
               f"{summary['bytes_per_inference'] / 1024:.1f} KiB per inference")
    click.echo("correlations: " + ", ".join(f"{k} {v}" for k, v in stats.triples.items())
               + f"; offline {stats.offline_bytes} bytes in {stats.offline_seconds:.2f} s")
    click.echo(f"online {summary['online_seconds']:.2f} s; {summary['inferences_per_second']:.1f} inferences per "
               f"second with the dealer's work, {summary['online_inferences_per_second']:.1f} without")
    if stats.truncation == "dealer":
        click.echo("truncation with the dealer's help: exact to one unit, it cannot fail (one opening per "
                   "truncated element, counted above)")
        return
    click.echo(f"local truncations fail with probability below {stats.truncation_failure_bound:.1e} (budget "
               f"{summary['max_failure_probability']:.1e}), assuming the pre-activations inside the fitted intervals")

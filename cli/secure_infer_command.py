"""``approx secure infer``: the trained forecaster evaluated on secret shares, beside the plaintext model."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time

import click
import numpy as np

from approx.errors import ApproxError
from cli.app import registry_option
from cli.secure_commands import secure, tls_config, tls_options
from cli.train_commands import model_dataset, with_data_options


def infer_program(session, config: dict, names: dict, registry, weights: dict, bounds: dict, x: np.ndarray,
                  magnitude: float, batch_size: int, progress: bool) -> dict:
    """The SPMD program: the model owner's weights, the data owner's windows, forecasts to the data owner.

    Every process receives ``weights`` and ``x`` from the local launcher, but only the model owner's
    process reads the weights and only the data owner's reads the windows.
    """
    import approx as lib
    from mpc.forecaster import DATA_OWNER, MODEL_OWNER, SecureForecaster

    activations = {role: lib.get(name, registry=registry) for role, name in names.items()}
    mine = session.comm.position
    model = SecureForecaster(session, config, activations, weights if mine(MODEL_OWNER) is not None else None,
                             bounds)
    owner = mine(DATA_OWNER) is not None
    out, start = [], time.perf_counter()
    batches = range(0, len(x), batch_size)
    shown = progress and owner
    with (click.progressbar(batches, label="batches", file=sys.stderr, show_pos=True) if shown
          else contextlib.nullcontext(batches)) as bar:
        for first in bar:
            part = x[first:first + batch_size]
            out.append(model.forecast(part if owner else None, part.shape, magnitude))
    online = time.perf_counter() - start
    return {"forecasts": np.concatenate(out) if owner else None, "online_seconds": online,
            "stats": session.stats()}


@secure.command("infer")
@click.argument("model_file", type=click.Path(dir_okay=False))
@with_data_options
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N windows of the split.")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Windows per batch.")
@click.option("--parties", type=click.IntRange(2), default=2, show_default=True)
@click.option("--frac-bits", type=click.IntRange(1, 30), default=16, show_default=True)
@click.option("--transport", type=click.Choice(["inprocess", "tcp"]), default="inprocess", show_default=True)
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
              help="Seconds to wait for a peer (tcp).")
@tls_options
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (progress goes to stderr).")
def secure_infer(model_file, data, time_column, load_column, holiday_calendar, split, limit, batch_size, parties,
                 frac_bits, transport, timeout, tls_cert, tls_key, tls_ca, registry, as_json):
    """Forecast with MODEL_FILE on secret shares: the model owner (party 0) shares the weights, the data
    owner (party 1) the windows, and only the data owner learns the forecasts."""
    from mpc.forecaster import check_activations, weight_bounds
    from mpc.launch import run
    from nn.evaluation import forecast
    from nn.metrics import scores
    from nn.persistence import load_model

    model, meta = load_model(model_file, registry=registry)
    if meta["model"] != "forecaster":
        raise ApproxError(f"{model_file} holds a classifier ({meta['model']}); approx secure infer runs forecasters")
    activations = {role: act.activation for role, act in model.activations().items()}
    check_activations(activations)
    dataset = model_dataset(meta, data, time_column, load_column, holiday_calendar)
    x, _ = dataset.part(split)
    x = x[:limit] if limit else x
    actual = dataset.loads[dataset.target_pos[dataset.splits[split]]][:len(x)]
    plain = forecast(model, x)
    weights = {name: np.array(value) for name, value in model.params.items()}
    names = {role: act.name for role, act in activations.items()}
    magnitude = float(np.max(np.abs(x)))
    results = run(infer_program, parties, transport=transport, frac_bits=frac_bits, timeout=timeout,
                  tls=tls_config(tls_cert, tls_key, tls_ca),
                  args=(dataclasses.asdict(model.config), names, None if registry is None else str(registry), weights,
                        weight_bounds(weights), x, magnitude, batch_size, not as_json))
    owner = results[1 if transport == "tcp" else 0]["value"]
    stats, secure_forecasts = owner["stats"], owner["forecasts"]
    secure_scores, plain_scores = scores(dataset.to_mw(secure_forecasts), actual), scores(dataset.to_mw(plain), actual)
    summary = {
        "model": str(model_file), "split": split, "windows": len(x), "batch_size": batch_size, "parties": parties,
        "transport": transport, "frac_bits": frac_bits, "secure": secure_scores, "plaintext": plain_scores,
        "max_abs_difference": float(np.max(np.abs(secure_forecasts - plain))),
        "mape_difference": secure_scores["mape"] - plain_scores["mape"],
        "rounds": stats["rounds"], "floor_rounds": stats["floor_rounds"],
        "bytes_per_party": stats["bytes_per_party"], "floor_bytes_per_party": stats["floor_bytes_per_party"],
        "bytes_per_inference": stats["bytes_per_party"] / len(x), "triples": stats["triples"],
        "offline_bytes": stats["offline_bytes"], "offline_seconds": stats["offline_seconds"],
        "online_seconds": owner["online_seconds"] - stats["offline_seconds"],
        "inferences_per_second": len(x) / owner["online_seconds"],
        "online_inferences_per_second": len(x) / max(owner["online_seconds"] - stats["offline_seconds"], 1e-9),
        "truncation_failure_bound": stats["truncation_failure_bound"],
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"{model_file}: {len(x)} {split} windows on secret shares ({parties} parties, {transport}, "
               f"{frac_bits} fractional bits, batches of {batch_size})")
    click.echo(f"{'':12}{'RMSE (MW)':>11}{'MAE (MW)':>10}{'MAPE':>10}")
    for label, sc in (("secure", secure_scores), ("plaintext", plain_scores)):
        click.echo(f"{label:12}{sc['rmse']:11.2f}{sc['mae']:10.2f}{sc['mape']:9.4f}%")
    click.echo(f"largest |secure - plaintext| forecast: {summary['max_abs_difference']:.2e} (normalised load); "
               f"MAPE difference {summary['mape_difference']:+.4f} points")
    click.echo(f"rounds {stats['rounds']} (floor {stats['floor_rounds']}); bytes sent per party "
               f"{stats['bytes_per_party']} (floor {stats['floor_bytes_per_party']}), "
               f"{summary['bytes_per_inference'] / 1024:.1f} KiB per inference")
    click.echo("correlations: " + ", ".join(f"{k} {v}" for k, v in stats["triples"].items())
               + f"; offline {stats['offline_bytes']} bytes in {stats['offline_seconds']:.2f} s")
    click.echo(f"online {summary['online_seconds']:.2f} s; {summary['inferences_per_second']:.1f} inferences per "
               f"second with the dealer's work, {summary['online_inferences_per_second']:.1f} without")
    if stats["truncation_failure_bound"]:
        click.echo(f"local truncations fail with probability below {stats['truncation_failure_bound']:.1e} "
                   "(assuming the pre-activations inside the fitted intervals)")

"""``approx secure eval``: a registry polynomial evaluated on secret shares."""

from __future__ import annotations

import json
import time

import click
import numpy as np

from approx.errors import ApproxError
from cli.app import approx, registry_option


@approx.group("secure")
def secure():
    """Secure (secret-shared) evaluation with addition and multiplication gates."""


@secure.command("eval")
@click.option("--activation", "name", required=True, help="Registry name of a fitted polynomial.")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False),
              help="Input values (.npy), inside the polynomial's interval.")
@click.option("--random", "count", type=click.IntRange(1), default=None,
              help="Instead of --input: N uniform random inputs over the interval [default: 10000].")
@click.option("--parties", type=click.IntRange(2), default=2, show_default=True)
@click.option("--frac-bits", type=click.IntRange(1, 30), default=16, show_default=True,
              help="Fixed-point fractional bits f in Z_2^64.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the random inputs (not the shares).")
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def secure_eval(name, input_path, count, parties, frac_bits, seed, registry, as_json):
    """Evaluate the polynomial NAME on secret shares and compare with plaintext."""
    import approx as lib
    from approx.targets import get_target
    from mpc.polynomial import evaluate
    from mpc.tensor import Session

    if input_path is not None and count is not None:
        raise click.UsageError("give --input or --random, not both")
    act = lib.get(name, registry=registry)
    if not isinstance(act, lib.PolynomialActivation):
        raise ApproxError(f"{name} is not a polynomial and has no secure evaluation; fit one with "
                          f"approx fit --func {name if name in ('sigmoid', 'tanh', 'swish') else 'sigmoid'} "
                          "--degree 3 and pass its registry name")
    lo, hi = act.interval
    if input_path is not None:
        try:
            x = np.asarray(np.load(input_path), dtype=np.float64).ravel()
        except (OSError, ValueError) as exc:
            raise ApproxError(f"cannot read {input_path} as a .npy array: {exc}") from None
        if x.size == 0 or not np.all(np.isfinite(x)) or x.min() < lo or x.max() > hi:
            raise ApproxError(f"inputs must be finite and inside the interval [{lo:g}, {hi:g}] of {name}, "
                              "where its error bound holds")
    else:
        x = np.random.default_rng(seed).uniform(lo, hi, count or 10000)
    session = Session(parties, frac_bits)
    shared = session.share(x, magnitude=max(abs(lo), abs(hi)))
    start = time.perf_counter()
    y = evaluate(shared, act)
    online = time.perf_counter() - start
    stats = session.stats()
    secure_values = y.reveal()
    plain = act(x)
    exact = get_target(act.approximation.func).np(x)
    result = {
        "activation": name, "inputs": int(x.size), "parties": parties, "frac_bits": frac_bits,
        "max_error_vs_polynomial": float(np.max(np.abs(secure_values - plain))),
        "max_error_vs_function": float(np.max(np.abs(secure_values - exact))),
        "fixed_point_bound": y.error,
        "end_to_end_bound": y.error + act.approximation.errors.error_bound,
        "rounds": stats["rounds"], "bytes_per_party": stats["bytes_per_party"],
        "multiplications": stats["multiplications"], "triples": stats["triples"],
        "offline_bytes": stats["offline_bytes"], "offline_seconds": stats["offline_seconds"],
        "online_seconds": online,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{name} on {x.size} secret-shared inputs, {parties} parties, {frac_bits} fractional bits")
    click.echo(f"  max |secure - polynomial|  {result['max_error_vs_polynomial']:.3e}"
               f"   (bound {result['fixed_point_bound']:.3e})")
    click.echo(f"  max |secure - {act.approximation.func}|{'':<{max(0, 9 - len(act.approximation.func))}}"
               f"{result['max_error_vs_function']:.3e}   (end-to-end bound {result['end_to_end_bound']:.3e})")
    click.echo(f"  {stats['rounds']} rounds, {stats['bytes_per_party']} bytes sent per party, "
               f"{stats['multiplications']} multiplications; offline {stats['offline_bytes']} bytes "
               f"in {stats['offline_seconds']:.3f} s; online {online:.3f} s")

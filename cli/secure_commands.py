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


def eval_program(session, name: str, registry, x: np.ndarray, magnitude: float) -> dict:
    """The SPMD program of ``approx secure eval``: party 0 owns x; p(x) is revealed to it only."""
    import approx as lib
    from mpc.polynomial import evaluate

    act = lib.get(name, registry=registry)
    shared = session.share(x if session.comm.position(0) is not None else None, magnitude=magnitude, owner=0,
                           shape=x.shape)
    start = time.perf_counter()
    y = evaluate(shared, act)
    online = time.perf_counter() - start
    stats = session.stats()
    return {"values": y.reveal(to=0), "bound": y.error, "online_seconds": online, "stats": stats}


def tls_options(fn):
    """--tls-cert, --tls-key and --tls-ca."""
    for flag, what in (("--tls-ca", "certificate authority"), ("--tls-key", "private key"),
                       ("--tls-cert", "certificate")):
        fn = click.option(flag, type=click.Path(exists=True, dir_okay=False),
                          help=f"TLS {what} (PEM) for --transport tcp; give all three for mutual TLS.")(fn)
    return fn


def tls_config(cert, key, ca):
    """A TlsConfig from the three options, None if none is given."""
    from mpc.tcp import TlsConfig

    given = [v for v in (cert, key, ca) if v]
    if not given:
        return None
    if len(given) != 3:
        raise click.UsageError("TLS needs --tls-cert, --tls-key and --tls-ca together")
    return TlsConfig(cert, key, ca)


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
@click.option("--transport", type=click.Choice(["inprocess", "tcp"]), default="inprocess", show_default=True,
              help="tcp: every party and the dealer a process of its own, talking TCP on 127.0.0.1.")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
              help="Seconds to wait for a peer (tcp).")
@tls_options
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def secure_eval(name, input_path, count, parties, frac_bits, seed, transport, timeout, tls_cert, tls_key, tls_ca,
                registry, as_json):
    """Evaluate the polynomial NAME on secret shares and compare with plaintext."""
    import approx as lib
    from approx.targets import get_target
    from mpc.launch import run

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
    out = run(eval_program, parties, transport=transport, frac_bits=frac_bits, timeout=timeout,
              tls=tls_config(tls_cert, tls_key, tls_ca),
              args=(name, None if registry is None else str(registry), x, max(abs(lo), abs(hi))))[0]["value"]
    stats, secure_values, online = out["stats"], out["values"], out["online_seconds"]
    plain = act(x)
    exact = get_target(act.approximation.func).np(x)
    result = {
        "activation": name, "inputs": int(x.size), "parties": parties, "frac_bits": frac_bits,
        "max_error_vs_polynomial": float(np.max(np.abs(secure_values - plain))),
        "max_error_vs_function": float(np.max(np.abs(secure_values - exact))),
        "transport": transport, "fixed_point_bound": out["bound"],
        "end_to_end_bound": out["bound"] + act.approximation.errors.error_bound,
        "rounds": stats["rounds"], "floor_rounds": stats["floor_rounds"], "bytes_per_party": stats["bytes_per_party"],
        "floor_bytes_per_party": stats["floor_bytes_per_party"],
        "truncation_failure_bound": stats["truncation_failure_bound"],
        "multiplications": stats["multiplications"], "triples": stats["triples"],
        "offline_bytes": stats["offline_bytes"], "offline_seconds": stats["offline_seconds"],
        "online_seconds": online,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{name} on {x.size} secret-shared inputs, {parties} parties ({transport}), "
               f"{frac_bits} fractional bits")
    click.echo(f"  max |secure - polynomial|  {result['max_error_vs_polynomial']:.3e}"
               f"   (bound {result['fixed_point_bound']:.3e})")
    click.echo(f"  max |secure - {act.approximation.func}|{'':<{max(0, 9 - len(act.approximation.func))}}"
               f"{result['max_error_vs_function']:.3e}   (end-to-end bound {result['end_to_end_bound']:.3e})")
    click.echo(f"  {stats['rounds']} rounds (floor {stats['floor_rounds']}), {stats['bytes_per_party']} bytes sent "
               f"per party (floor {stats['floor_bytes_per_party']}), {stats['multiplications']} multiplications; "
               f"offline {stats['offline_bytes']} bytes in {stats['offline_seconds']:.3f} s; online {online:.3f} s")
    if stats["truncation_failure_bound"] > 1e-3:
        click.echo(f"  warning: a local truncation may have failed with probability up to "
                   f"{stats['truncation_failure_bound']:.1e}; lower --frac-bits or use fewer inputs")
    elif stats["truncation_failure_bound"]:
        click.echo(f"  local truncations fail with probability below {stats['truncation_failure_bound']:.1e} "
                   "(SecureML)")

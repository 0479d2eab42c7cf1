"""``approx secure eval``: a registry polynomial evaluated on secret shares; the options every secure command shares."""

from __future__ import annotations

import math
import time

import click
import numpy as np

from approx.errors import ApproxError
from approx.strict_json import dumps
from cli.app import approx, registry_option
from cli.extras import require

MAX_RANDOM = 10_000_000
MAX_SECONDS = 7 * 24 * 3600.0


@approx.group("secure")
def secure():
    """Secure (secret-shared) evaluation with addition and multiplication gates."""


class Bounded(click.ParamType):
    """A finite number in (low, high], e.g. seconds or a probability."""

    def __init__(self, name: str, low: float, high: float, what: str):
        self.name, self.low, self.high, self.what = name, low, high, what

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not self.low < number <= self.high:
            self.fail(f"{value!r} is not {self.what}", param, ctx)
        return number


SECONDS = Bounded("seconds", 0.0, MAX_SECONDS, f"a number of seconds above 0 and at most {MAX_SECONDS:g} (a week)")
PROBABILITY = Bounded("probability", 0.0, 1.0, "a probability above 0 and at most 1")


def timeout_option(fn):
    """--timeout: seconds for the set-up and for any one message."""
    return click.option("--timeout", type=SECONDS, default=60.0, show_default=True,
                        help="Seconds for the whole set-up, and for any one message afterwards (tcp).")(fn)


allow_out_of_range_option = click.option(
    "--allow-out-of-range", is_flag=True,
    help="Run even if the public bounds let a pre-activation leave its polynomial's interval (a loud warning "
         "instead of a refusal).")


def truncation_option(minimum: int):
    """--truncation auto|local|dealer, the policy of mpc.planning (local from ``minimum`` fractional bits up)."""
    return click.option(
        "--truncation", type=click.Choice(["auto", "local", "dealer"]), default="auto", show_default=True,
        help="How products are truncated back to f bits. local: 2 parties, no communication, fails with a "
             "probability bounded by --max-failure-probability; dealer: one opening and one round more per "
             "product level, never fails; auto: local at the largest f up to 16 that fits the budget if that is "
             f"at least {minimum} bits, else dealer at 16 (or --frac-bits).")


def safety_options(fn):
    """--frac-bits, --truncation and --max-failure-probability."""
    from mpc.planning import MIN_LOCAL_BITS

    fn = click.option("--max-failure-probability", "budget", type=PROBABILITY, default=2.0**-20,
                      show_default="2^-20",
                      help="Largest accepted bound on the probability that any local truncation of the run "
                           "fails; a local run above it is refused.")(fn)
    fn = truncation_option(MIN_LOCAL_BITS)(fn)
    return click.option("--frac-bits", type=click.IntRange(1, 30), default=None,
                        help="Fixed-point fractional bits f in Z_2^64 [default: chosen with --truncation: the "
                             "largest up to 16 whose local truncation-failure bound fits "
                             "--max-failure-probability, or 16 with the dealer's truncation].")(fn)


def tls_options(fn):
    """--tls-cert, --tls-key and --tls-ca."""
    for flag, what in (("--tls-ca", "certificate authority"), ("--tls-key", "private key"),
                       ("--tls-cert", "certificate")):
        fn = click.option(flag, type=click.Path(exists=True, dir_okay=False),
                          help=f"TLS {what} (PEM); give all three for mutual TLS. The certificate names this "
                               "process's role (party-0, party-1, dealer) as a DNS SAN (or as its CN if it has "
                               "no DNS SAN); for every role on one host, one certificate naming them all.")(fn)
    return fn


def tls_config(cert, key, ca, transport: str = "tcp"):
    """A TlsConfig from the three options, None if none is given.

    Raises
    ------
    click.UsageError
        If only some are given, or any is given for an in-process run.
    """
    from mpc.handshake import TlsConfig

    given = [v for v in (cert, key, ca) if v]
    if not given:
        return None
    if transport != "tcp":
        raise click.UsageError("--tls-cert, --tls-key and --tls-ca apply to --transport tcp; in process nothing "
                               "travels over a network")
    if len(given) != 3:
        raise click.UsageError("TLS needs --tls-cert, --tls-key and --tls-ca together")
    return TlsConfig(cert, key, ca)


def warn_out_of_range(out_of_range: dict, activations: dict) -> None:
    """The loud warning of --allow-out-of-range, on stderr (``activations``: role -> approx.Activation)."""
    intervals = {a.name: a.interval for a in activations.values() if hasattr(a, "interval")}
    for name, bound in out_of_range.items():
        lo, hi = intervals[name]
        click.echo(f"approx: WARNING: the public bounds let the input of {name} reach +-{bound:.3g}, outside its "
                   f"interval [{lo:g}, {hi:g}]; where it leaves it the results can be wrong "
                   "(--allow-out-of-range)", err=True)


def load_inputs(path: str) -> np.ndarray:
    """Real inputs from a .npy file, flattened to float64.

    Raises
    ------
    ApproxError
        If the file is not a .npy array (a text file, a pickle), or holds complex, boolean or non-numeric values.
    """
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY" and magic[:2] != b"PK":
        raise ApproxError(f"{path} is not a .npy file (numpy.save writes one); convert a text file with "
                          "numpy.save(path, numpy.loadtxt(text_file))")
    try:
        raw = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError or pickle errors by file content
        raise ApproxError(f"cannot read {path} as a .npy array ({type(exc).__name__}: {exc}); save the inputs "
                          "with numpy.save") from None
    if not isinstance(raw, np.ndarray) or raw.dtype.kind not in "iuf":
        kind = "an archive" if not isinstance(raw, np.ndarray) else f"{raw.dtype} values"
        raise ApproxError(f"{path} holds {kind}; --input needs a .npy array of real numbers (integers or floats)")
    return raw.astype(np.float64).ravel()


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


def plan_eval(act, parties: int, count: int, magnitude: float, frac_bits, budget: float, truncation: str = "auto"):
    """Plan ``approx secure eval`` from public facts: one input is the probe (:func:`mpc.planning.plan`)."""
    from mpc.planning import plan
    from mpc.polynomial import evaluate
    from mpc.tensor import Session

    def probe(f):
        session = Session.in_process(2, f)  # local truncation: its failure bound (the dealer's is 0)
        evaluate(session.share(np.zeros(1), magnitude=magnitude), act)
        return session

    return plan(probe, count, frac_bits, budget, truncation, parties=parties)


@secure.command("eval")
@click.option("--activation", "name", required=True, help="Registry name of a fitted polynomial.")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False),
              help="Input values (.npy), inside the polynomial's interval.")
@click.option("--random", "count", type=click.IntRange(1, MAX_RANDOM), default=None,
              help="Instead of --input: N uniform random inputs over the interval [default: 10000].")
@click.option("--parties", type=click.IntRange(2, 64), default=2, show_default=True,
              help="Number of parties holding shares (the dealer not counted).")
@safety_options
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Seeds the random inputs (not the shares).")
@click.option("--transport", type=click.Choice(["inprocess", "tcp"]), default="inprocess", show_default=True,
              help="tcp: every party and the dealer a process of its own, talking TCP on 127.0.0.1.")
@timeout_option
@tls_options
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def secure_eval(name, input_path, count, parties, frac_bits, truncation, budget, seed, transport, timeout,
                tls_cert, tls_key, tls_ca, registry, as_json):
    """Evaluate the polynomial NAME on secret shares and compare with plaintext."""
    require("secure eval", "mpc")
    import approx as lib
    from approx.targets import get_target
    from mpc.launch import run

    if input_path is not None and count is not None:
        raise click.UsageError("give --input or --random, not both")
    tls = tls_config(tls_cert, tls_key, tls_ca, transport)
    act = lib.get(name, registry=registry)
    if not isinstance(act, lib.PolynomialActivation):
        raise ApproxError(f"{name} is not a polynomial and has no secure evaluation; fit one with "
                          f"approx fit --func {name if name in ('sigmoid', 'tanh', 'swish') else 'sigmoid'} "
                          "--degree 3 and pass its registry name")
    lo, hi = act.interval
    if input_path is not None:
        x = load_inputs(input_path)
        if x.size == 0 or not np.all(np.isfinite(x)) or x.min() < lo or x.max() > hi:
            raise ApproxError(f"inputs must be finite and inside the interval [{lo:g}, {hi:g}] of {name}, "
                              "where its error bound holds")
    else:
        x = np.random.default_rng(seed).uniform(lo, hi, count or 10000)
    magnitude = max(abs(lo), abs(hi))
    planned = plan_eval(act, parties, x.size, magnitude, frac_bits, budget, truncation)
    out = run(eval_program, parties, transport=transport, frac_bits=planned.frac_bits, timeout=timeout, tls=tls,
              args=(name, None if registry is None else str(registry), x, magnitude),
              params={"activation": act.approximation.to_dict(), "inputs": int(x.size)},
              session_options={"failure_budget": budget, "truncation": planned.truncation})[0]["value"]
    stats, secure_values, online = out["stats"], out["values"], out["online_seconds"]
    plain = act(x)
    exact = get_target(act.approximation.func).np(x)
    result = {
        "activation": name, "inputs": int(x.size), "parties": parties, "frac_bits": planned.frac_bits,
        "truncation": planned.truncation,
        "max_error_vs_polynomial": float(np.max(np.abs(secure_values - plain))),
        "max_error_vs_function": float(np.max(np.abs(secure_values - exact))),
        "transport": transport, "fixed_point_bound": out["bound"],
        "end_to_end_bound": out["bound"] + act.approximation.errors.error_bound,
        "rounds": stats.rounds, "floor_rounds": stats.floor_rounds, "bytes_per_party": stats.bytes_per_party,
        "floor_bytes_per_party": stats.floor_bytes_per_party,
        "truncation_failure_bound": stats.truncation_failure_bound, "max_failure_probability": budget,
        "multiplications": stats.multiplications, "triples": stats.triples,
        "offline_bytes": stats.offline_bytes, "offline_seconds": stats.offline_seconds,
        "online_seconds": online,
    }
    if as_json:
        click.echo(dumps(result))
        return
    click.echo(f"{name} on {x.size} secret-shared inputs, {parties} parties ({transport}), "
               f"{planned.frac_bits} fractional bits, {planned.truncation} truncation")
    click.echo(f"  max |secure - polynomial|  {result['max_error_vs_polynomial']:.3e}"
               f"   (bound {result['fixed_point_bound']:.3e})")
    click.echo(f"  max |secure - {act.approximation.func}|{'':<{max(0, 9 - len(act.approximation.func))}}"
               f"{result['max_error_vs_function']:.3e}   (end-to-end bound {result['end_to_end_bound']:.3e})")
    click.echo(f"  {stats.rounds} rounds (floor {stats.floor_rounds}), {stats.bytes_per_party} bytes sent "
               f"per party (floor {stats.floor_bytes_per_party}), {stats.multiplications} multiplications; "
               f"offline {stats.offline_bytes} bytes in {stats.offline_seconds:.3f} s; online {online:.3f} s")
    if planned.truncation == "local":
        click.echo(f"  local truncations fail with probability below {stats.truncation_failure_bound:.1e} "
                   f"(SecureML; budget {budget:.1e})")
    else:
        click.echo("  truncations with the dealer's help (Escudero et al.) cannot fail")

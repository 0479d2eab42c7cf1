"""``approx fit``: fit, certify, print and register a polynomial activation."""

from __future__ import annotations

import click
import numpy as np

from approx.errors import FitError
from approx.fit import MAX_DEGREE, METHODS, fit
from approx.registry import Registry
from approx.targets import target_names
from approx.strict_json import dumps
from cli.app import approx, registry_option
from cli.report import approximation_table


def _load_vector(path: str | None, what: str) -> np.ndarray | None:
    if path is None:
        return None
    try:
        return np.load(path) if path.endswith(".npy") else np.loadtxt(path, dtype=np.float64, ndmin=1)
    except (OSError, ValueError) as exc:
        raise FitError(f"cannot read {what} from {path}: {exc}; give a .npy file or a text file of numbers") \
            from None


@approx.command("fit")
@click.option("--func", required=True, help=f"Function to approximate: {', '.join(target_names())}.")
@click.option("--degree", type=click.IntRange(0, MAX_DEGREE), help=f"Polynomial degree, 0 to {MAX_DEGREE}.")
@click.option("--max-error", type=float,
              help="Instead of --degree: the smallest degree whose certified error bound is at most this "
                   "(refused below the float64 evaluation floor).")
@click.option("--method", type=click.Choice(list(METHODS)), default="chebyshev", show_default=True,
              help="chebyshev: interpolation at Chebyshev points of the first kind; legendre: L2 projection; "
                   "lsq: discrete least squares on points; minimax: best uniform approximation (Remez).")
@click.option("--interval", nargs=2, type=float, metavar="A B",
              help="Interval [A, B]. Default [-8, 8] for sigmoid and swish, [-4, 4] for tanh "
                   "(tanh(x) = 2 sigmoid(2x) - 1 maps one onto the other).")
@click.option("--frac-bits", type=click.IntRange(1, 62),
              help="Also give power coefficients in t on the grid of multiples of 2^-F (nearest rounding or a "
                   "lattice search like Sollya's fpminimax, whichever certifies better), with their certified error.")
@click.option("--points", type=click.Path(exists=True, dir_okay=False),
              help="lsq only: sample points in x (.npy or text), e.g. recorded pre-activations.")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False), help="lsq only: a weight per point.")
@registry_option
@click.option("--name", help="Registry name [default: e.g. sigmoid-chebyshev-3[-8,8]].")
@click.option("--no-save", is_flag=True, help="Print only; do not store in the registry.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fit_command(func, degree, max_error, method, interval, frac_bits, points, weights, registry, name, no_save,
                as_json):
    """Fit a polynomial to FUNC, certify its error, and store it in the registry."""
    if (degree is None) == (max_error is None):
        raise click.UsageError("give exactly one of --degree N and --max-error E")
    reg = None if no_save else Registry(registry)
    if reg is not None:
        reg.check_writable()  # before the work: a read-only or corrupt registry is refused first
    result = fit(func, degree, method=method, interval=interval or None, max_error=max_error,
                 frac_bits=frac_bits, points=_load_vector(points, "points"),
                 weights=_load_vector(weights, "weights"), name=name)
    if reg is not None:
        reg.add(result)
    if as_json:
        click.echo(dumps(result.to_dict()))
        return
    click.echo(approximation_table(result))
    if reg is not None:
        click.echo(f"saved as {result.name} in {reg.path}")

"""Readable text tables of approximations for the terminal."""

from __future__ import annotations

from approx.approximation import Approximation

_METHOD_TEXT = {"chebyshev": "Chebyshev interpolation", "legendre": "Legendre L2 projection",
                "lsq": "discrete least squares", "minimax": "minimax (Remez)"}


def _polynomial_text(coef, var: str) -> str:
    terms = []
    for k, c in enumerate(coef):
        if c == 0 and (k > 0 or len(coef) > 1):
            continue  # exact zeros (from symmetry) are left out
        power = "" if k == 0 else (f" {var}" if k == 1 else f" {var}^{k}")
        sign = "-" if c < 0 else "+"
        terms.append((sign, f"{abs(c):.10g}{power}"))
    if not terms:
        return "0"
    first_sign, first = terms[0]
    text = ("-" if first_sign == "-" else "") + first
    return text + "".join(f" {s} {t}" for s, t in terms[1:])


_SERIES_CLASS = {"chebyshev": "Chebyshev", "legendre": "Legendre"}
# the monomial form is reported as much worse than the native one above this ratio of bounds
MONOMIAL_WARNING_RATIO = 1.5


def _figure(v) -> str:
    return f"{'-':>14}" if v is None else f"{v:14.6e}"


def _row(label: str, e) -> str:
    return (f"  {label:10}{e.max_error:14.6e}{e.error_bound:14.6e}{e.rms_error:14.6e}"
            f"{_figure(e.monomial_error_bound):>22}{_figure(e.evaluation_floor):>18}")


def _notes(a: Approximation) -> list[str]:
    lines = []
    e = a.errors
    if e.monomial_error_bound is not None and e.monomial_error_bound > MONOMIAL_WARNING_RATIO * e.error_bound:
        lo, hi = a.domain
        lines.append(f"  warning: the monomial coefficients in x, evaluated in float64, are certified only to "
                     f"{e.monomial_error_bound:.3e} ({e.monomial_error_bound / e.error_bound:.3g} x error_bound);"
                     f" use the native basis: numpy.polynomial.{_SERIES_CLASS.get(a.kind, a.kind)}"
                     f"(coef, domain=[{lo:g}, {hi:g}]) reproduces it")
    if e.below_floor:
        lines.append(f"  note: max_error {e.max_error:.3e} is below the float64 evaluation floor "
                     f"{e.evaluation_floor:.3e}: in float64 the rounding of the evaluation dominates; "
                     "error_bound certifies the exact polynomial")
    if a.minimax_converged is False:
        lines.append("  note: the Remez exchange found no equioscillating reference (the error is at float64's "
                     "rounding level); the best polynomial met, never worse than the Chebyshev interpolant, "
                     "is given")
    return lines


def approximation_table(a: Approximation) -> str:
    """A few lines: name, polynomial, the error figures of p and p' per exported form, and warnings."""
    lo, hi = a.domain
    lines = [f"{a.name}: {_METHOD_TEXT.get(a.method, a.method)} of {a.func}, degree {a.degree} on [{lo:g}, {hi:g}]",
             f"  p(x) = {_polynomial_text(a.coefficients, 'x')}",
             f"  {a.kind} coefficients in t = (2x - a - b)/(b - a): "
             + ", ".join(f"{c:.10g}" for c in a.coef),
             "",
             f"  {'':10}{'max_error':>14}{'error_bound':>14}{'rms_error':>14}{'monomial_error_bound':>22}"
             f"{'evaluation_floor':>18}",
             _row("p  - f", a.errors)]
    if a.derivative_errors is not None:
        lines.append(_row("p` - f`", a.derivative_errors).replace("`", "'"))
    lines += ["  (error_bound: p in t, exact; monomial_error_bound: p(x) above by Horner in float64; "
              "evaluation_floor: float64 rounding of p in t)"]
    if a.minimax_lower_bound is not None:
        lines.append(f"  minimax error certified in [{a.minimax_lower_bound:.9e}, {a.errors.error_bound:.9e}]"
                     " (de la Vallee Poussin, interval bound)")
    if a.max_error_goal is not None:
        proof = {True: ", proven minimal", False: ", minimality not proven", None: ""}[a.proven_minimal]
        lines.append(f"  smallest degree with error bound <= {a.max_error_goal:g}: {a.degree}{proof}")
    if a.fixed_point is not None:
        fp = a.fixed_point
        how = {"nearest": "nearest rounding", "lattice": "lattice search"}.get(fp.rounding, fp.rounding)
        lines.append(f"  fixed point, {fp.frac_bits} fractional bits, power basis in t ({how}): q_k = "
                     + ", ".join(str(q) for q in fp.integers)
                     + f"  (x 2^-{fp.frac_bits}); max_error {fp.max_error:.6e}, error_bound {fp.error_bound:.6e}")
    return "\n".join(lines + _notes(a))


def listing(items: list[Approximation]) -> str:
    """One line per stored approximation."""
    if not items:
        return "the registry is empty; add a polynomial with approx fit"
    width = max(len(a.name) for a in items)
    head = f"{'name':{width}}  {'func':14}{'method':10}{'degree':>6}  {'interval':16}{'error_bound':>12}"
    rows = [f"{a.name:{width}}  {a.func:14}{a.method:10}{a.degree:6d}  "
            f"{f'[{a.domain[0]:g}, {a.domain[1]:g}]':16}{a.errors.error_bound:12.4e}" for a in items]
    return "\n".join([head, *rows])

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


def approximation_table(a: Approximation) -> str:
    """A few lines: name, polynomial, and the error figures of p and p'."""
    lo, hi = a.domain
    lines = [f"{a.name}: {_METHOD_TEXT.get(a.method, a.method)} of {a.func}, degree {a.degree} on [{lo:g}, {hi:g}]",
             f"  p(x) = {_polynomial_text(a.coefficients, 'x')}",
             f"  {a.kind} coefficients in t = (2x - a - b)/(b - a): "
             + ", ".join(f"{c:.10g}" for c in a.coef),
             "",
             f"  {'':10}{'max_error':>14}{'error_bound':>14}{'rms_error':>14}",
             f"  {'p  - f':10}{a.errors.max_error:14.6e}{a.errors.error_bound:14.6e}{a.errors.rms_error:14.6e}"]
    if a.derivative_errors is not None:
        d = a.derivative_errors
        lines.append(f"  {'p` - f`':10}{d.max_error:14.6e}{d.error_bound:14.6e}{d.rms_error:14.6e}".replace("`", "'"))
    if a.minimax_lower_bound is not None:
        lines.append(f"  minimax error certified in [{a.minimax_lower_bound:.9e}, {a.errors.error_bound:.9e}]"
                     " (de la Vallee Poussin, interval bound)")
    if a.max_error_goal is not None:
        proof = {True: ", proven minimal", False: ", minimality not proven", None: ""}[a.proven_minimal]
        lines.append(f"  smallest degree with error bound <= {a.max_error_goal:g}: {a.degree}{proof}")
    if a.fixed_point is not None:
        fp = a.fixed_point
        lines.append(f"  fixed point, {fp.frac_bits} fractional bits, power basis in t: q_k = "
                     + ", ".join(str(q) for q in fp.integers)
                     + f"  (x 2^-{fp.frac_bits}); max_error {fp.max_error:.6e}, error_bound {fp.error_bound:.6e}")
    return "\n".join(lines)


def listing(items: list[Approximation]) -> str:
    """One line per stored approximation."""
    if not items:
        return "the registry is empty; add a polynomial with approx fit"
    width = max(len(a.name) for a in items)
    head = f"{'name':{width}}  {'func':14}{'method':10}{'degree':>6}  {'interval':16}{'error_bound':>12}"
    rows = [f"{a.name:{width}}  {a.func:14}{a.method:10}{a.degree:6d}  "
            f"{f'[{a.domain[0]:g}, {a.domain[1]:g}]':16}{a.errors.error_bound:12.4e}" for a in items]
    return "\n".join([head, *rows])

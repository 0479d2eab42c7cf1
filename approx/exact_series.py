"""Exact power series of a fitted polynomial, for certified evaluation.

A fitted polynomial is stored as float64 coefficients in one basis (Chebyshev,
Legendre or power) of the mapped variable t in [-1, 1].  Those floats are exact
binary rationals, so they define one exact real polynomial.  This module
converts it into the power basis of t in rational arithmetic
(``fractions.Fraction``), differentiates it exactly, rounds each coefficient
outwards to a float interval, and evaluates it on intervals by Horner's scheme,
whose rounding errors on |t| <= 1 add up without amplification (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 5.1):
the enclosure of a point value is about u * sum |a_k| wide.

Recurrences used (exact): T_(k+1) = 2 t T_k - T_(k-1) (Chebyshev) and
(k+1) P_(k+1) = (2k+1) t P_k - k P_(k-1) (Legendre, Bonnet's recursion).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from approx.interval import Interval

__all__ = ["to_power", "derivative", "enclose_coefficients", "horner", "mp_horner", "BASES"]

BASES = ("chebyshev", "legendre", "power")


def _basis_polynomials(kind: str, n: int) -> list[list[Fraction]]:
    """Power coefficients of the first n + 1 basis polynomials of ``kind``."""
    polys = [[Fraction(1)], [Fraction(0), Fraction(1)]]
    for k in range(1, n):
        prev, cur = polys[k - 1], polys[k]
        a, c = (Fraction(2), Fraction(1)) if kind == "chebyshev" else (
            Fraction(2 * k + 1, k + 1), Fraction(k, k + 1))
        nxt = [Fraction(0)] + [a * v for v in cur]
        for i, v in enumerate(prev):
            nxt[i] -= c * v
        polys.append(nxt)
    return polys[: n + 1]


def to_power(kind: str, coef) -> list[Fraction]:
    """Exact power-basis coefficients of a series given in the ``kind`` basis.

    Parameters
    ----------
    kind : {"chebyshev", "legendre", "power"}
    coef : sequence of float, shape (n + 1,)
        Ascending coefficients in the variable t.

    Returns
    -------
    list of Fraction, length n + 1, ascending.

    Raises
    ------
    ValueError
        For an unknown basis kind or a non-finite coefficient.
    """
    values = [float(c) for c in coef]
    if not np.all(np.isfinite(values)):
        raise ValueError("non-finite polynomial coefficient")
    exact = [Fraction(c) for c in values]
    if kind == "power":
        return exact
    if kind not in BASES:
        raise ValueError(f"unknown basis {kind!r}; expected one of {BASES}")
    out = [Fraction(0)] * len(exact)
    for c, poly in zip(exact, _basis_polynomials(kind, len(exact) - 1)):
        if c:
            for i, v in enumerate(poly):
                out[i] += c * v
    return out


def derivative(a: list[Fraction]) -> list[Fraction]:
    """Exact power coefficients of the derivative (length ``max(len(a) - 1, 1)``)."""
    return [k * a[k] for k in range(1, len(a))] or [Fraction(0)]


def enclose_coefficients(a: list[Fraction]) -> Interval:
    """Round each rational outwards to float64: an Interval of shape (len(a),)."""
    lo, hi = [], []
    for v in a:
        f = float(v)
        exact = Fraction(f)
        lo.append(f if exact <= v else np.nextafter(f, -np.inf))
        hi.append(f if exact >= v else np.nextafter(f, np.inf))
    return Interval(np.array(lo), np.array(hi))


def horner(coef: Interval, t: Interval) -> Interval:
    """Enclose ``sum_k coef[k] t**k`` for every interval of ``t``.

    Parameters
    ----------
    coef : Interval, shape (n + 1,)
        Power-basis coefficients, ascending.
    t : Interval, any shape

    Returns
    -------
    Interval, shape of ``t``
    """
    n = coef.lo.shape[0] - 1
    result = Interval(np.full_like(t.lo, coef.lo[n]), np.full_like(t.hi, coef.hi[n]))
    for k in range(n - 1, -1, -1):
        result = result * t + coef[k]
    return result


def mp_horner(a: list[Fraction], t):
    """Evaluate the power series at an mpmath number ``t`` in the current mpmath precision."""
    result = mpmath.mpf(0)
    for v in reversed(a):
        result = result * t + mpmath.mpf(v.numerator) / v.denominator
    return result

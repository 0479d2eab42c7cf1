"""Rigorous bounds on the float64 rounding error of evaluating a polynomial by Horner's scheme.

Horner's scheme r = r x + a_k in IEEE 754 double precision (unit roundoff
u = 2^-53) computes p(x) = sum_k a_k x^k with

    |fl(p(x)) - p(x)| <= gamma_(2n) sum_k |a_k| |x|^k,   gamma_m = m u / (1 - m u)

(Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002,
eq. 5.3), with or without fused multiply-adds; an underflow adds at most
2^-1074 per step, amplified by |x|^j.  Two exported forms are bounded here:

* the monomial coefficients a_k in x (``Approximation.coefficients``),
  evaluated directly at x (:func:`monomial_rounding_bound`);
* the native form as :class:`approx.PolynomialActivation` evaluates it: the
  power coefficients in t rounded once to float64, t = fl(fl(x s) + h) with
  s = fl(2 / (b - a)), h = fl(-(a + b) / (b - a)), then Horner in t
  (:func:`evaluation_floor`).  This is the float64 evaluation floor: an
  approximation error below it is not observable in float64.

Every sum is formed in rational arithmetic and rounded up once.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np

from approx.domain import window_map

__all__ = ["UNIT_ROUNDOFF", "gamma", "round_up", "mapped_float_coefficients", "monomial_rounding_bound",
           "monomial_power_t", "evaluation_floor"]

UNIT_ROUNDOFF = Fraction(1, 2**53)
_UNDERFLOW = Fraction(1, 2**1074)


def gamma(m: int) -> Fraction:
    """Higham's gamma_m = m u / (1 - m u) for float64, exact."""
    return m * UNIT_ROUNDOFF / (1 - m * UNIT_ROUNDOFF)


def round_up(v: Fraction) -> float:
    """The least float64 not below the rational ``v``."""
    f = float(v)
    return f if Fraction(f) >= v else float(np.nextafter(f, np.inf))


def mapped_float_coefficients(power_t: list[Fraction], a: float, b: float):
    """The float64 map and coefficients :class:`approx.PolynomialActivation` evaluates with.

    Parameters
    ----------
    power_t : list of Fraction, length n + 1
        Exact power coefficients in t = (2x - a - b)/(b - a), ascending.
    a, b : float
        The interval.

    Returns
    -------
    scale, shift : float
        t = scale x + shift, each rounded once.
    coef : ndarray, shape (n + 1,)
        The power coefficients rounded once to float64.
    dcoef : ndarray, shape (n,)
        The coefficients of dp/dx in t, ``coef[k] * k * scale`` in float64.
    """
    shift, scale = window_map(a, b)
    coef = np.array([float(v) for v in power_t])
    return scale, shift, coef, coef[1:] * np.arange(1, coef.size) * scale


def _horner_bound(coef, m: Fraction) -> Fraction:
    """gamma_(2n) sum |c_k| m^k plus the underflow term, for |x| <= m."""
    n = len(coef) - 1
    weighted = sum(abs(Fraction(c)) * m**k for k, c in enumerate(coef))
    underflow = 2 * _UNDERFLOW * sum(max(m, Fraction(1)) ** j for j in range(n + 1))
    return gamma(2 * n) * weighted + underflow


def monomial_rounding_bound(coefficients: np.ndarray, a: float, b: float) -> float:
    """Bound on |fl(q(x)) - q(x)| over [a, b] for q = sum a_k x^k evaluated by Horner in float64.

    Parameters
    ----------
    coefficients : ndarray of float64, shape (n + 1,)
        a_k, ascending.
    a, b : float

    Returns
    -------
    float, rounded up.
    """
    return round_up(_horner_bound(coefficients, max(abs(Fraction(a)), abs(Fraction(b)))))


def monomial_power_t(coefficients: np.ndarray, a: float, b: float) -> list[Fraction]:
    """Exact power coefficients in t of q(x) = sum a_k x^k, with x = (a + b)/2 + (b - a)/2 t.

    Returns
    -------
    list of Fraction, length n + 1, ascending.
    """
    mid, half = (Fraction(a) + Fraction(b)) / 2, (Fraction(b) - Fraction(a)) / 2
    out = [Fraction(0)] * len(coefficients)
    for k, ak in enumerate(Fraction(float(c)) for c in coefficients):
        if ak:
            for j in range(k + 1):  # ak (mid + half t)^k
                out[j] += ak * comb(k, j) * half**j * mid ** (k - j)
    return out


def evaluation_floor(power_t: list[Fraction], a: float, b: float, derivative: bool = False) -> float:
    """Bound on the float64 rounding error of the native form as PolynomialActivation evaluates it.

    Parameters
    ----------
    power_t : list of Fraction
        Exact power coefficients of p in t, ascending.
    a, b : float
    derivative : bool
        Bound the evaluation of p'(x) (``PolynomialActivation.derivative``) instead of p(x).

    Returns
    -------
    float
        An upper bound, over x in [a, b], on |computed - exact| made of: the
        rounding of the coefficients, Horner's rounding at |t| <= 1 + dt, and
        p' times dt, the error of t itself (dt <= gamma_3 |x s| + gamma_2 |h|).
    """
    fa, fb = Fraction(a), Fraction(b)
    scale, shift, coef, dcoef = mapped_float_coefficients(power_t, a, b)
    exact = power_t
    if derivative:
        s = 2 / (fb - fa)
        exact, coef = [k * power_t[k] * s for k in range(1, len(power_t))] or [Fraction(0)], dcoef
        if coef.size == 0:
            return 0.0
    used = [Fraction(float(c)) for c in coef]
    rounding = sum(abs(e - c) for e, c in zip(exact, used))
    m = max(abs(fa), abs(fb))
    dt = gamma(3) * m * abs(Fraction(scale)) + gamma(2) * abs(Fraction(shift))
    dt += abs(Fraction(scale) - 2 / (fb - fa)) * m + abs(Fraction(shift) + (fa + fb) / (fb - fa))
    reach = 1 + dt
    slope = sum(k * abs(c) * reach ** (k - 1) for k, c in enumerate(used) if k)
    return round_up(rounding + _horner_bound(used, reach) + slope * dt)

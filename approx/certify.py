"""Certified upper bounds on the sup norm of f - p by branch and bound.

The interval [-1, 1] of the mapped variable t is cut into boxes.  On each box
B = [lo, hi] with a centre c, the error e(t) = f(x(t)) - p(t) is enclosed
rigorously (outward-rounded interval arithmetic, :mod:`approx.interval`):

* targets with derivative enclosures (every built-in target) use the Taylor
  form of order K = 3 (Neumaier, *Interval Methods for Systems of Equations*,
  1990, section 2.4; Makino & Berz, Reliable Computing 9, 2003):

      e(c + h) in sum_{j < K} e^(j)(c) h^j / j!  +  e^(K)(B) h^K / K!,

  with e^(j)(t) = ((b - a)/2)^j f^(j)(x(t)) - p^(j)(t), whose overestimation
  shrinks like the box width cubed;
* other targets are evaluated with their mpmath implementation on
  ``mpmath.iv`` intervals, box by box: with a known derivative target in the
  mean-value form e(c) + e'(B)(B - c) (overestimation like the width
  squared), without one in the natural form f(B) - p(B), which needs far
  smaller boxes and is therefore run with rtol at least 1e-4.

A box whose upper bound on |e| is at most (1 + rtol) times the best lower
bound found so far (|e| at some box centre, also rigorous) is accepted; the
others are bisected.  Because the accepted boxes cover [-1, 1], the largest
accepted upper bound is a certified bound on sup |f - p|, and by construction
it exceeds the true sup norm by at most rtol relative, unless float64 rounding
is larger than that (about 1e-16 times the sum of the absolute power
coefficients of p, plus 2**-48 max(|f|, 1) from the exponential and the sigmoid
or tanh values the derivative targets are computed from): such boxes are
accepted once bisection no longer tightens them, and the bound is then looser
by about that rounding.  This is the scheme Sollya's ``supnorm`` uses
(Chevillard, Harrison, Joldes, Lauter, Theoretical Computer Science 412, 2011)
with Taylor forms instead of Taylor models.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from math import factorial

import mpmath
import numpy as np

from approx.exact_series import derivative, enclose_coefficients, horner
from approx.interval import Interval

__all__ = ["CertifiedBound", "certified_bound"]

_ORDER = 3


@dataclasses.dataclass(frozen=True)
class CertifiedBound:
    """Result of :func:`certified_bound`.

    Attributes
    ----------
    bound : float
        Certified upper bound on sup |f - p| over the interval.
    lower : float
        Certified lower bound (|f - p| at a point, rounded down).
    boxes : int
        Number of boxes enclosed.
    """

    bound: float
    lower: float
    boxes: int


def _x_of_t(a: float, b: float, t: Interval) -> Interval:
    mid = (Interval(a) + b) * 0.5
    half = (Interval(b) - a) * 0.5
    return mid + half * t


def _taylor_enclosures(target, coefs: list[Interval], a: float, b: float):
    half = (Interval(b) - a) * 0.5
    half_pow = [Interval(1.0)]
    for _ in range(_ORDER):
        half_pow.append(half_pow[-1] * half)

    def enclose(lo: np.ndarray, hi: np.ndarray):
        c = lo + (hi - lo) / 2
        tc, tb = Interval(c), Interval(lo, hi)
        fc = target.enclose(_x_of_t(a, b, tc), _ORDER - 1)
        fb = target.enclose(_x_of_t(a, b, tb), _ORDER)[_ORDER]
        h = Interval(np.nextafter(lo - c, -np.inf), np.nextafter(hi - c, np.inf))
        e0 = half_pow[0] * fc[0] - horner(coefs[0], tc)
        total, h_pow = e0, Interval(1.0)
        for j in range(1, _ORDER + 1):
            h_pow = h.square() if j == 2 else h_pow * h
            ej = (half_pow[j] * fb - horner(coefs[j], tb)) if j == _ORDER else (
                half_pow[j] * fc[j] - horner(coefs[j], tc))
            total = total + ej * h_pow / float(factorial(j))
        return total, e0

    return enclose


def _mp_interval_enclosures(target, coefs: list[Interval], a: float, b: float):
    """Enclosures from the target's mpmath implementation on ``mpmath.iv`` intervals.

    With ``target.derivative`` known this is the mean-value form
    e(B) in e(c) + e'(B) (B - c), else the natural form f(B) - p(B).
    """
    half = (Interval(b) - a) * 0.5
    derivative_target = target.derivative

    def to_float(v) -> tuple[float, float]:
        lo, hi = float(v.a), float(v.b)
        lo = lo if mpmath.mpf(lo) <= v.a else float(np.nextafter(lo, -np.inf))
        hi = hi if mpmath.mpf(hi) >= v.b else float(np.nextafter(hi, np.inf))
        return lo, hi

    def on_boxes(fn, x: Interval) -> Interval:
        ends = [to_float(fn(mpmath.iv, mpmath.iv.mpf([float(lo), float(hi)]))) for lo, hi in zip(x.lo, x.hi)]
        return Interval(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]))

    def enclose(lo: np.ndarray, hi: np.ndarray):
        c = lo + (hi - lo) / 2
        tc, tb = Interval(c), Interval(lo, hi)
        e0 = on_boxes(target.mp, _x_of_t(a, b, tc)) - horner(coefs[0], tc)
        if derivative_target is None:
            return on_boxes(target.mp, _x_of_t(a, b, tb)) - horner(coefs[0], tb), e0
        slope = half * on_boxes(derivative_target.mp, _x_of_t(a, b, tb)) - horner(coefs[1], tb)
        h = Interval(np.nextafter(lo - c, -np.inf), np.nextafter(hi - c, np.inf))
        return e0 + slope * h, e0

    return enclose


def certified_bound(target, power_coef: list[Fraction], a: float, b: float, *,
                    rtol: float = 2.5e-7, initial_boxes: int | None = None,
                    max_rounds: int = 80, max_boxes: int = 100_000) -> CertifiedBound:
    """Certified upper bound on max |f(x) - p(t(x))| for x in [a, b].

    Parameters
    ----------
    target : Target
        The function f; its ``enclose`` is used when present, else ``mp``
        with ``mpmath.iv``.
    power_coef : list of Fraction, length n + 1
        Exact power-basis coefficients of p in t = (2x - a - b)/(b - a)
        (see :func:`approx.exact_series.to_power`).
    a, b : float
        The interval, a < b.
    rtol : float
        Relative gap between the bound and the best lower bound at which a box
        is accepted.
    initial_boxes : int, optional
        Boxes of the first partition; default 32 (n + 2).
    max_rounds, max_boxes : int
        Bisection rounds, and boxes enclosed, after which the remaining boxes
        are accepted as they are (the bound stays rigorous, only looser).

    Returns
    -------
    CertifiedBound
    """
    n = len(power_coef) - 1
    coefs = [power_coef]
    for _ in range(_ORDER):
        coefs.append(derivative(coefs[-1]))
    coefs = [enclose_coefficients(c) for c in coefs]
    if target.enclose is not None:
        enclose = _taylor_enclosures(target, coefs, a, b)
    else:
        enclose = _mp_interval_enclosures(target, coefs, a, b)
        if target.derivative is None:  # the natural form converges slowly: settle for less
            rtol = max(rtol, 1e-4)
    edges = np.linspace(-1.0, 1.0, (initial_boxes or 32 * (n + 2)) + 1)
    edges[0], edges[-1] = -1.0, 1.0
    lo, hi = edges[:-1], edges[1:]
    lower, bound, boxes = 0.0, 0.0, 0
    for round_ in range(max_rounds + 1):
        total, e0 = enclose(lo, hi)
        boxes += lo.size
        lower = max(lower, float(np.max(e0.mig())))
        upper = total.mag()
        threshold = lower * (1.0 + rtol)
        # a box whose centre value alone is too wide to separate from the threshold, and which
        # bisection no longer tightens, is limited by float64 rounding: accept it as it is
        noisy = (e0.mag() >= threshold) & (upper - e0.mag() <= e0.hi - e0.lo)
        done = (upper <= threshold) | noisy
        done |= (round_ == max_rounds) | (boxes + 2 * lo.size > max_boxes)
        done |= (hi - lo) <= 4 * np.spacing(np.maximum(np.abs(lo), np.abs(hi)))
        if np.any(done):
            bound = max(bound, float(np.max(upper[done])))
        lo, hi = lo[~done], hi[~done]
        if lo.size == 0:
            break
        m = lo + (hi - lo) / 2
        lo, hi = np.concatenate([lo, m]), np.concatenate([m, hi])
    return CertifiedBound(bound=bound, lower=lower, boxes=boxes)

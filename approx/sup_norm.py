"""Locate the sup norm of an error function, and its RMS, on an interval.

The sup norm of e = f - p is attained at an end of the interval or at a
critical point of e.  :func:`local_extrema` brackets every local extremum of
|e| on a dense grid (Chebyshev-spaced and equispaced points together, so that
the clustered extrema near the ends of a near-best approximation are
separated) and refines each by golden-section search for the critical point (all brackets in one numpy
call per iteration, where scipy.optimize.minimize_scalar would refine them one at a time);
:func:`max_error` evaluates |e| there in 40-digit mpmath arithmetic.  The
result is a value of |e| at actual points: a lower bound on the sup norm that
is tight when every extremum is bracketed (a certified upper bound comes from
:mod:`approx.certify`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import mpmath
import numpy as np

from approx.domain import window_map

__all__ = ["local_extrema", "max_error", "rms_error", "mp_error", "round_down"]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
_MP_DPS = 40


def _grid(lo: float, hi: float, size: int) -> np.ndarray:
    theta = np.linspace(0.0, np.pi, size)
    cheb = (lo + hi) / 2 - (hi - lo) / 2 * np.cos(theta)
    return np.unique(np.clip(np.concatenate([cheb, np.linspace(lo, hi, size)]), lo, hi))


def local_extrema(err: Callable[[np.ndarray], np.ndarray], lo: float, hi: float,
                  size: int = 2000, iterations: int = 45) -> tuple[np.ndarray, np.ndarray]:
    """Points where |err| has a local maximum on [lo, hi], and err there.

    Parameters
    ----------
    err : callable, float64 array (m,) -> array (m,)
        The error function, vectorised.
    lo, hi : float
        The interval, lo < hi.
    size : int
        Points of each of the two scan grids; choose at least 20 times the
        number of expected extrema.
    iterations : int
        Golden-section steps per extremum (each shrinks its bracket by 0.618).

    Returns
    -------
    t : ndarray, shape (k,)
        Both ends and every refined interior local maximum of |err|, ascending.
    values : ndarray, shape (k,)
        err at those points.
    """
    t = _grid(lo, hi, size)
    v = err(t)
    mag = np.abs(v)
    interior = np.flatnonzero((mag[1:-1] >= mag[:-2]) & (mag[1:-1] >= mag[2:]) & (mag[1:-1] > 0)) + 1
    sign = np.sign(v[interior])
    a, b = t[interior - 1], t[interior + 1]
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = sign * err(c), sign * err(d)
    for _ in range(iterations):
        left = fc > fd  # the maximum lies in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new = np.where(left, b - _GOLDEN * (b - a), a + _GOLDEN * (b - a))
        fnew = sign * err(new)
        c, d, fc, fd = (np.where(left, new, d), np.where(left, c, new),
                        np.where(left, fnew, fd), np.where(left, fc, fnew))
    best = np.where(fc > fd, c, d)
    # keep the grid point when the search did not beat it (flat or noisy error)
    best = np.where(sign * err(best) >= mag[interior], best, t[interior])
    points = np.concatenate([[lo], best, [hi]])
    return points, err(points)


def mp_error(target, mp_poly: Callable, a: float, b: float, t) -> list:
    """Exact-arithmetic error f(x(t)) - p(t) at float points t (mpmath, 40 digits).

    Parameters
    ----------
    target : Target
    mp_poly : callable mpf -> mpf
        The polynomial in t.
    a, b : float
        The interval; x(t) = (a + b)/2 + (b - a)/2 t.
    t : iterable of float

    Returns
    -------
    list of mpmath.mpf
    """
    with mpmath.workdps(_MP_DPS):
        mid, half = window_map(mpmath.mpf(a), mpmath.mpf(b), inverse=True)
        return [target.mp(mpmath.mp, mid + half * mpmath.mpf(float(ti))) - mp_poly(mpmath.mpf(float(ti)))
                for ti in t]


def max_error(target, np_poly: Callable, mp_poly: Callable, a: float, b: float,
              degree: int) -> tuple[float, float]:
    """Sup norm of f - p on [a, b], located at the error's critical points.

    Parameters
    ----------
    target : Target
    np_poly, mp_poly : callable
        The polynomial as a function of t in [-1, 1], on float64 arrays and on
        mpmath numbers.
    a, b : float
        The interval.
    degree : int
        Degree of p (sets the scan density).

    Returns
    -------
    max_error : float
        max |f - p| over the located points, rounded down to float64.
    x_max : float
        Where it is attained, in x.
    """
    mid, half = window_map(a, b, inverse=True)
    t, v = local_extrema(lambda s: target.np(mid + half * s) - np_poly(s), -1.0, 1.0,
                         size=max(2000, 40 * (degree + 2)))
    keep = np.argsort(-np.abs(v))[: 2 * (degree + 2) + 2]
    exact = [abs(e) for e in mp_error(target, mp_poly, a, b, t[keep])]
    i = int(np.argmax([float(e) for e in exact]))
    return round_down(exact[i]), float(mid + half * t[keep][i])


def round_down(x) -> float:
    """An mpmath number rounded down to float64 (never above it)."""
    f = float(x)
    return f if mpmath.mpf(f) <= x else float(np.nextafter(f, -np.inf))


@functools.lru_cache(maxsize=8)
def _gauss_legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(nodes)


def rms_error(target, np_poly: Callable, a: float, b: float, nodes: int = 512) -> float:
    """Root mean square of f - p over [a, b] (uniform measure).

    sqrt( (1/(b - a)) integral_a^b (f - p)^2 dx ) by Gauss-Legendre
    quadrature with ``nodes`` points (exact for p and accurate to float64 for
    the analytic targets).

    Returns
    -------
    float
    """
    t, w = _gauss_legendre(nodes)
    mid, half = window_map(a, b, inverse=True)
    e = target.np(mid + half * t) - np_poly(t)
    return float(np.sqrt(np.dot(w, e * e) / 2.0))

"""Best uniform (minimax) approximation by the Remez exchange algorithm.

Chebyshev's equioscillation theorem: p* of degree n is the best uniform
approximation of g on [-1, 1] if and only if g - p* attains its sup norm with
alternating signs at n + 2 points.  The Remez (multiple) exchange iterates:
solve sum_j c_j T_j(t_i) + (-1)^i E = g(t_i) on a reference of n + 2 points,
move the reference to the alternating extrema of the new error, until the
levelled error |E| and the sup norm agree (Remez 1934; Powell, *Approximation
Theory and Methods*, 1981, chapter 9; Pachon & Trefethen, BIT 49, 2009, whose
Chebfun ``remez`` uses the same exchange rule).

For an odd g (sigmoid - 1/2, tanh) the best approximations of degree 2k and
2k - 1 coincide and the full system is singular; then the fit runs in the odd
basis T_1, T_3, ... on [0, 1] (a Haar system there) with (k + 1)-point
references, and likewise in the even basis for an even g.

De la Vallee Poussin's theorem gives the certificate: if g - p alternates in
sign on a reference, min |g - p| over it is a lower bound on the minimax error
E*_n, so E*_n lies between that and max |g - p| (see approx.fit).
"""

import numpy as np
from numpy.polynomial import chebyshev as C

from approx.sup_norm import local_extrema

KIND = "chebyshev"

_MAX_ITERATIONS = 60
_RTOL = 1e-13


def _indices(degree: int, parity: str | None) -> np.ndarray:
    if parity == "odd":
        return np.arange(1, degree + 1, 2)
    if parity == "even":
        return np.arange(0, degree + 1, 2)
    return np.arange(degree + 1)


def _initial_reference(indices: np.ndarray, parity: str | None) -> np.ndarray:
    top = int(indices[-1]) + (1 if parity is None else 2)
    t = np.cos(np.arange(top + 1) * np.pi / top)[::-1]
    return t if parity is None else t[t >= -1e-15].clip(0.0, 1.0)


def _exchange(t: np.ndarray, e: np.ndarray, size: int) -> np.ndarray:
    """Alternating subset of the extrema (t, e) of the largest |e|, ``size`` points."""
    keep_t, keep_e = [t[0]], [e[0]]
    for ti, ei in zip(t[1:], e[1:]):
        if np.sign(ei) == np.sign(keep_e[-1]):
            if abs(ei) > abs(keep_e[-1]):
                keep_t[-1], keep_e[-1] = ti, ei
        else:
            keep_t.append(ti)
            keep_e.append(ei)
    keep_t, keep_e = list(keep_t), list(keep_e)
    while len(keep_t) > size:
        if len(keep_t) == size + 1:
            drop = 0 if abs(keep_e[0]) < abs(keep_e[-1]) else len(keep_t) - 1
            del keep_t[drop], keep_e[drop]
            continue
        i = int(np.argmin(np.abs(keep_e)))
        if i in (0, len(keep_t) - 1):
            del keep_t[i], keep_e[i]
        else:  # dropping an interior point makes its neighbours agree in sign: merge them
            j = i - 1 if abs(keep_e[i - 1]) < abs(keep_e[i + 1]) else i + 1
            for k in sorted((i, j), reverse=True):
                del keep_t[k], keep_e[k]
    return np.array(keep_t)


def fit(g, degree: int, parity: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev coefficients of the best uniform approximation of ``g``.

    Parameters
    ----------
    g : callable, float64 array (m,) -> array (m,)
        The function in the mapped variable t.
    degree : int
        n >= 0.
    parity : {None, "odd", "even"}
        A known parity of g; the fit then uses only basis functions of that
        parity, on [0, 1].

    Returns
    -------
    coef : ndarray, shape (n + 1,)
        Coefficients; those of the other parity are exactly 0.
    reference : ndarray, shape (k,)
        The final reference points in t (k = number of basis functions + 1).

    Notes
    -----
    When the error reaches float64 rounding level (about 1e-16 |g|) the
    exchange stops with the current polynomial: there, and for errors below
    about 1e-7, float64 coefficients limit how close any stored polynomial can
    come to the true minimax error (about 1e-16 / E relative).
    """
    idx = _indices(degree, parity)
    lo = -1.0 if parity is None else 0.0
    if idx.size == 0:  # odd g, degree 0: the best constant is 0, the reference its largest |g|
        t, e = local_extrema(g, lo, 1.0)
        return np.zeros(degree + 1), t[[int(np.argmax(np.abs(e)))]]
    ref = _initial_reference(idx, parity)
    size = idx.size + 1
    coef = np.zeros(degree + 1)
    for _ in range(_MAX_ITERATIONS):
        matrix = np.column_stack([C.chebvander(ref, degree)[:, idx], (-1.0) ** np.arange(size)])
        solution = np.linalg.solve(matrix, g(ref))
        coef[:] = 0.0
        coef[idx] = solution[:-1]
        levelled = abs(solution[-1])
        t, e = local_extrema(lambda s: g(s) - C.chebval(s, coef), lo, 1.0, size=max(2000, 40 * size))
        worst = float(np.max(np.abs(e)))
        if worst - levelled <= _RTOL * worst:
            break
        new_ref = _exchange(t, e, size)
        if new_ref.size < size or np.array_equal(new_ref, ref):
            # fewer alternating extrema than needed: the error is at float64 rounding level
            break
        ref = new_ref
    return coef, ref

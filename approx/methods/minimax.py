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

from approx.methods import chebyshev
from approx.sup_norm import local_extrema

KIND = "chebyshev"

_MAX_ITERATIONS = 60
_RTOL = 1e-13
_NOISE_ULPS = 64


def basis_indices(degree: int, parity: str | None) -> np.ndarray:
    """Indices k of the T_k a fit of ``degree`` with ``parity`` (None, "odd", "even") uses."""
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


def _solve(g, ref: np.ndarray, degree: int, idx: np.ndarray) -> np.ndarray | None:
    """Coefficients and levelled error on the reference, or None if the system is singular."""
    matrix = np.column_stack([C.chebvander(ref, degree)[:, idx], (-1.0) ** np.arange(ref.size)])
    try:
        solution = np.linalg.solve(matrix, g(ref))
    except np.linalg.LinAlgError:
        return None
    return solution if np.all(np.isfinite(solution)) else None


def _exchange_iterations(g, degree: int, idx: np.ndarray, lo: float, ref: np.ndarray):
    """Remez iterations from ``ref``: the best polynomial met (least sup norm), its reference, and
    whether the levelled error and the sup norm agreed (equioscillation reached)."""
    size = idx.size + 1
    best = None
    for _ in range(_MAX_ITERATIONS):
        solution = _solve(g, ref, degree, idx)
        if solution is None:
            break
        coef = np.zeros(degree + 1)
        coef[idx] = solution[:-1]
        levelled = abs(solution[-1])
        t, e = local_extrema(lambda s: g(s) - C.chebval(s, coef), lo, 1.0, size=max(2000, 40 * size))
        worst = float(np.max(np.abs(e)))
        if best is None or worst < best[0]:
            best = (worst, coef, ref, levelled)
        if worst - levelled <= _RTOL * worst:
            break
        new_ref = _exchange(t, e, size)
        if new_ref.size < size or np.array_equal(new_ref, ref):
            break  # fewer alternating extrema than needed: at float64 rounding level
        ref = new_ref
    if best is None:
        return None, None, np.inf, False
    worst, coef, ref, levelled = best
    # equioscillation to float64's resolution: the gap between the levelled error and the sup
    # norm is within the rounding of g (about u max |g|, times a margin)
    noise = _NOISE_ULPS * np.finfo(float).eps * max(1.0, float(np.max(np.abs(g(ref)))))
    return coef, ref, worst, bool(worst - levelled <= max(_RTOL * worst, noise))


def alternating_reference(g, coef: np.ndarray, parity: str | None = None) -> np.ndarray:
    """Up to (basis functions + 1) alternating extrema of g - p, for de la Vallee Poussin's bound.

    Parameters
    ----------
    g : callable on float64 arrays
    coef : ndarray, shape (n + 1,)
        Chebyshev coefficients of p.
    parity : {None, "odd", "even"}

    Returns
    -------
    ndarray, shape (k,), ascending points in t.
    """
    lo = -1.0 if parity is None else 0.0
    size = basis_indices(coef.size - 1, parity).size + 1
    t, e = local_extrema(lambda s: g(s) - C.chebval(s, coef), lo, 1.0, size=max(2000, 40 * size))
    return _exchange(t, e, size)


def fit(g, degree: int, parity: str | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
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
    converged : bool
        Whether the exchange reached equioscillation (levelled error equal to
        the sup norm within 1e-13 relative) and beat the Chebyshev interpolant.

    Notes
    -----
    The exchange starts from the extrema of T_(n+1) and, when that fails
    (singular system, fewer alternating extrema than needed, or a result
    worse than the Chebyshev interpolant), once more from the alternating
    extrema of the Chebyshev interpolant's error.  The best polynomial met
    is kept; if it is still worse than the Chebyshev interpolant, the
    interpolant is returned with ``converged`` False.  This happens when the
    error is down at float64 rounding level (about 1e-16 |g|, where the error
    curve is rounding noise and no reference equioscillates); there, and for
    errors below about 1e-7, float64 coefficients limit how close any stored
    polynomial can come to the true minimax error (about 1e-16 / E relative).
    """
    idx = basis_indices(degree, parity)
    lo = -1.0 if parity is None else 0.0
    if idx.size == 0:  # odd g, degree 0: the best constant is 0, the reference its largest |g|
        t, e = local_extrema(g, lo, 1.0)
        return np.zeros(degree + 1), t[[int(np.argmax(np.abs(e)))]], True
    size = idx.size + 1
    cheb = np.zeros(degree + 1)
    cheb[idx] = chebyshev.fit(g, degree)[idx]
    t, e = local_extrema(lambda s: g(s) - C.chebval(s, cheb), lo, 1.0, size=max(2000, 40 * size))
    cheb_worst = float(np.max(np.abs(e)))
    coef, ref, worst, converged = _exchange_iterations(g, degree, idx, lo, _initial_reference(idx, parity))
    if not converged or worst > cheb_worst:
        cheb_ref = _exchange(t, e, size)
        if cheb_ref.size == size:
            coef2, ref2, worst2, converged2 = _exchange_iterations(g, degree, idx, lo, cheb_ref)
            if worst2 < worst:
                coef, ref, worst, converged = coef2, ref2, worst2, converged2
    if worst > cheb_worst:
        return cheb, _exchange(t, e, size), False
    return coef, ref, converged

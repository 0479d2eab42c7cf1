"""Power coefficients in t on the fixed-point grid 2^-F: nearest rounding and a lattice search.

Rounding each coefficient of a best approximation to the nearest multiple of
2^-F is not the best polynomial with coefficients on that grid: at higher
degree the rounding errors, up to 2^-F-1 each, add up where |t| is near 1.
Brisebarre and Chevillard (*Efficient polynomial L-infinity approximations*,
ARITH 18, 2007; Sollya's ``fpminimax``) round the coefficients jointly, as a
closest-vector problem in the lattice spanned by the values of 2^-F t^k at
n + 1 points.  :func:`lattice_candidates` searches the same lattice by
branch and bound over floor and ceiling of each coefficient:

* the coefficients are fixed from the highest degree down; before each is
  fixed, the still-free lower coefficients are re-optimised as the discrete
  minimax of the residual f - (fixed part) on a Chebyshev grid (a linear
  programme, ``scipy.optimize.linprog`` with HiGHS, in the Chebyshev basis,
  which spans the same polynomials as the free powers);
* both the floor and the ceiling of the re-optimised coefficient are tried,
  and the ``beam`` partial choices with the least residual are kept (a beam
  search, the breadth-limited form of the branch and bound);
* coefficients that are exactly zero by the target's symmetry stay zero.

The candidates are heuristics; the caller certifies each (and nearest
rounding) and keeps the one with the least certified bound, so the result is
never worse than nearest rounding.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.polynomial import chebyshev as C
from scipy.optimize import linprog

__all__ = ["nearest", "lattice_candidates"]


def nearest(power_t: list[Fraction], frac_bits: int) -> tuple[int, ...]:
    """Each exact coefficient rounded to the nearest multiple of 2^-frac_bits (ties to even)."""
    return tuple(round(v * 2**frac_bits) for v in power_t)


def _free_indices(power_t: list[Fraction]) -> list[int]:
    """Indices searched: the non-zero ones when the zeros follow a parity (so that T_k, k free,
    span the same polynomials as t^k, k free), else all of them."""
    free = [k for k, v in enumerate(power_t) if v != 0]
    closed = all(j in free for k in free for j in range(k % 2, k, 2))
    return free if closed and free else list(range(len(power_t)))


def _discrete_minimax(vander: np.ndarray, residual: np.ndarray) -> tuple[np.ndarray, float] | None:
    """min over c of max_i |residual_i - (vander c)_i| as a linear programme; None if it fails."""
    m, r = vander.shape
    cost = np.zeros(r + 1)
    cost[-1] = 1.0
    ones = np.ones((m, 1))
    a_ub = np.block([[vander, -ones], [-vander, -ones]])
    b_ub = np.concatenate([residual, -residual])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * r + [(0, None)], method="highs")
    return (res.x[:-1], float(res.x[-1])) if res.status == 0 else None


def lattice_candidates(target_values, power_t: list[Fraction], frac_bits: int, *, beam: int = 3,
                       points: int | None = None) -> list[tuple[int, ...]]:
    """Integer coefficient vectors q (p(t) = sum q_k 2^-F t^k) found by the lattice search.

    Parameters
    ----------
    target_values : callable, float64 array (m,) -> array (m,)
        g(t) = f(x(t)) on [-1, 1].
    power_t : list of Fraction, length n + 1
        Power coefficients in t of the polynomial being rounded (they fix the
        degree, the zero pattern and the first branching values).
    frac_bits : int
        F.
    beam : int
        Partial choices kept per step.
    points : int, optional
        Size of the Chebyshev grid of the discrete minimax; default 12 (n + 1) + 20.

    Returns
    -------
    list of tuple of int, each of length n + 1, best (least discrete error) first; at most ``beam``.
    """
    n = len(power_t) - 1
    scale = 2.0**frac_bits
    m = points or 12 * (n + 1) + 20
    t = np.cos(np.pi * np.arange(m) / (m - 1))
    g = np.asarray(target_values(t), dtype=np.float64)
    powers = np.vander(t, n + 1, increasing=True)
    cheb = C.chebvander(t, n)
    free = _free_indices(power_t)
    # a state: (discrete error, fixed integers {k: q_k}, continuous power coefficients of the free part)
    start = np.array([float(v) for v in power_t])
    states = [(np.inf, {}, start)]
    for k in sorted(free, reverse=True):
        lower = [j for j in free if j < k]
        children = []
        for _, fixed, continuous in states:
            value = continuous[k] * scale
            for q in sorted({int(np.floor(value)), int(np.ceil(value))}):
                chosen = {**fixed, k: q}
                residual = g - powers[:, list(chosen)] @ (np.array(list(chosen.values()), dtype=np.float64) / scale)
                if not lower:
                    children.append((float(np.max(np.abs(residual))), chosen, continuous))
                    continue
                solved = _discrete_minimax(cheb[:, lower], residual)
                if solved is None:
                    continue
                coef_cheb = np.zeros(n + 1)
                coef_cheb[lower] = solved[0]
                children.append((solved[1], chosen, np.pad(C.cheb2poly(coef_cheb), (0, n + 1))[: n + 1]))
        if not children:
            return []
        children.sort(key=lambda c: c[0])
        states = children[:beam]
    return [tuple(fixed.get(k, 0) for k in range(n + 1)) for _, fixed, _ in states]

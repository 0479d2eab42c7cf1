"""Power coefficients in t on the fixed-point grid 2^-F: nearest rounding and a lattice search.

Rounding each coefficient of a best approximation to the nearest multiple of
2^-F is not the best polynomial with coefficients on that grid: at higher
degree the rounding errors, up to 2^-F-1 each, add up where |t| is near 1.
Brisebarre and Chevillard (*Efficient polynomial L-infinity approximations*,
ARITH 18, 2007; Sollya's ``fpminimax``) round the coefficients jointly: the
values of sum_k q_k 2^-F t^k at n + 1 points where the best approximation
interpolates f form a lattice, and a lattice vector close to the values of f
there (a closest-vector problem) gives the integers q_k.
:func:`lattice_candidates` proposes integer vectors two ways:

* closest vectors: an LLL-reduced basis of the lattice (Lenstra, Lenstra and
  Lovasz, Math. Ann. 261, 1982; delta = 0.99) and Babai's nearest-plane
  rounding (Combinatorica 6, 1986), branching over both neighbours on the
  last planes, at the zeros of the error of the polynomial being rounded and
  at Chebyshev points;
* sequential rounding: the coefficients are fixed from the highest degree
  down; before each is fixed, the still-free lower ones are re-optimised as
  the discrete minimax of the residual on a Chebyshev grid (a linear
  programme, ``scipy.optimize.linprog`` with HiGHS, in the Chebyshev basis,
  which spans the same polynomials as the free powers), and the floor and
  the ceiling are both kept in a beam of the best partial choices.

Coefficients that are exactly zero by the target's symmetry stay zero.  The
candidates are ranked by their error on a dense grid; they are heuristics,
so the caller certifies the best few and nearest rounding and keeps the least
certified bound: the result is never worse than nearest rounding.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.polynomial import chebyshev as C

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
    from scipy.optimize import linprog  # imported here: scipy.optimize costs 0.4 s of every CLI start

    m, r = vander.shape
    cost = np.zeros(r + 1)
    cost[-1] = 1.0
    ones = np.ones((m, 1))
    a_ub = np.block([[vander, -ones], [-vander, -ones]])
    b_ub = np.concatenate([residual, -residual])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * r + [(0, None)], method="highs")
    return (res.x[:-1], float(res.x[-1])) if res.status == 0 else None


def _lll(basis: np.ndarray, delta: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """LLL-reduce the rows of ``basis`` (float64); returns the reduced rows and the integer
    unimodular matrix U with reduced = U @ basis."""
    b = basis.copy()
    r = b.shape[0]
    u = np.eye(r, dtype=object)
    k, steps = 1, 0
    while k < r and steps < 50 * r * r:
        steps += 1
        # column k of R holds b_k's coordinates in the Gram-Schmidt basis: size reduction
        # b_k -= c b_j changes it by -c R[:, j], so one QR serves the whole reduction
        r_mat = np.linalg.qr(b[: k + 1].T, mode="r")
        for j in range(k - 1, -1, -1):
            c = round(r_mat[j, k] / r_mat[j, j])
            if c:
                b[k] -= c * b[j]
                r_mat[:, k] -= c * r_mat[:, j]
                u[k] = u[k] - c * u[j]
        mu = r_mat[k - 1, k] / r_mat[k - 1, k - 1]
        if r_mat[k, k] ** 2 >= (delta - mu * mu) * r_mat[k - 1, k - 1] ** 2:
            k += 1
        else:
            b[[k - 1, k]] = b[[k, k - 1]]
            u[[k - 1, k]] = u[[k, k - 1]]
            k = max(k - 1, 1)
    return b, u


def _babai(reduced: np.ndarray, u: np.ndarray, target: np.ndarray, branch_levels: int) -> list[np.ndarray]:
    """Nearest-plane rounding of ``target`` in the reduced basis, both neighbours on the last
    ``branch_levels`` planes; integer coefficient vectors in the original basis."""
    r = reduced.shape[0]
    q_mat, r_mat = np.linalg.qr(reduced.T)
    out = []

    def descend(level: int, residual: np.ndarray, coords: list):
        if level < 0:
            c = np.array(coords[::-1], dtype=object)
            out.append(np.array([int(v) for v in c @ u]))
            return
        mu = (q_mat[:, level] @ residual) / r_mat[level, level]
        near = round(mu)
        choices = [near] if level >= branch_levels else sorted({near, int(np.floor(mu)), int(np.ceil(mu))})
        for c in choices:
            descend(level - 1, residual - c * reduced[level], coords + [c])

    descend(r - 1, target.astype(np.float64), [])
    return out


def _error_zeros(g, coef_power: np.ndarray, lo: float, count: int) -> np.ndarray:
    """The zeros of g - p on [lo, 1] found by sign changes on a grid (linear interpolation)."""
    t = np.linspace(lo, 1.0, 400 * count + 1)
    e = g(t) - np.polynomial.polynomial.polyval(t, coef_power)
    change = np.flatnonzero(np.sign(e[1:]) != np.sign(e[:-1]))
    zeros = t[change] - e[change] * (t[change + 1] - t[change]) / (e[change + 1] - e[change])
    if zeros.size == count + 1 and lo == 0.0 and abs(zeros[0]) < 1e-6:
        zeros = zeros[1:]  # an odd error vanishes at 0 whatever the coefficients: no information there
    return zeros


def _point_sets(g, power_t: list[Fraction], r: int) -> list[np.ndarray]:
    """Interpolation points for the lattice: where p interpolates g, and Chebyshev points; for a
    parity-restricted fit (r < n + 1) both on [0, 1] with r points and on [-1, 1] with more
    (an overdetermined, least-squares closest vector), as the zero count on [0, 1] may not match r."""
    n = len(power_t) - 1
    coef = np.array([float(v) for v in power_t])

    def chebyshev_points(lo: float, size: int) -> np.ndarray:
        return lo + (1.0 - lo) * (1 - np.cos((np.arange(size) + 0.5) * np.pi / size)) / 2

    sets = [chebyshev_points(-1.0 if r == n + 1 else 0.0, r if r < n + 1 else n + 1)]
    zeros = _error_zeros(g, coef, -1.0 if r == n + 1 else 0.0, r)
    if zeros.size == r:
        sets.append(zeros)
    if r < n + 1:
        sets.append(chebyshev_points(-1.0, n + 1))
        zeros = _error_zeros(g, coef, -1.0, n + 1)
        if zeros.size >= r:
            sets.append(zeros)
    return sets


def _closest_vectors(g, power_t: list[Fraction], free: list[int], frac_bits: int) -> list[tuple[int, ...]]:
    n = len(power_t) - 1
    r = len(free)
    out = []
    for t in _point_sets(g, power_t, r):
        basis = np.vander(t, n + 1, increasing=True)[:, free].T  # row k: t_i^k
        try:
            reduced, u = _lll(basis)
        except np.linalg.LinAlgError:
            continue
        for q in _babai(reduced, u, g(t) * 2.0**frac_bits, branch_levels=3):
            ints = [0] * (n + 1)
            for k, v in zip(free, q):
                ints[k] = int(v)
            out.append(tuple(ints))
    return out


def _sequential(target_values, power_t: list[Fraction], frac_bits: int, *, beam: int = 2,
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
        Size of the Chebyshev grid of the discrete minimax; default 8 (n + 1) + 16.

    Returns
    -------
    list of tuple of int, each of length n + 1; at most ``beam``.
    """
    n = len(power_t) - 1
    scale = 2.0**frac_bits
    m = points or 8 * (n + 1) + 16
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


def lattice_candidates(target_values, power_t: list[Fraction], frac_bits: int, *,
                       keep: int = 3) -> list[tuple[int, ...]]:
    """Integer coefficient vectors q (p(t) = sum q_k 2^-F t^k) near the best on the grid 2^-F.

    Parameters
    ----------
    target_values : callable, float64 array (m,) -> array (m,)
        g(t) = f(x(t)) on [-1, 1].
    power_t : list of Fraction, length n + 1
        Power coefficients in t of the polynomial being rounded (normally the
        best approximation); they fix the degree, the zero pattern, the
        interpolation points and the first branching values.
    frac_bits : int
        F.
    keep : int
        Number of candidates returned.

    Returns
    -------
    list of tuple of int, each of length n + 1, least error on a dense Chebyshev grid first.
    """
    n = len(power_t) - 1
    free = _free_indices(power_t)
    found = set(_sequential(target_values, power_t, frac_bits))
    found.update(_closest_vectors(target_values, power_t, free, frac_bits))
    m = 40 * (n + 1) + 40
    t = np.cos(np.pi * np.arange(m) / (m - 1))
    g = target_values(t)
    powers = np.vander(t, n + 1, increasing=True)

    def grid_error(ints):
        return float(np.max(np.abs(g - powers @ (np.array(ints, dtype=np.float64) * 2.0**-frac_bits))))

    return sorted(found, key=grid_error)[:keep]

"""Legendre (L2) projection: the continuous least-squares polynomial.

The polynomial of degree n minimising integral_{-1}^{1} (g - p)^2 dt is the
truncated Legendre series with coefficients (Szego, *Orthogonal Polynomials*,
1939, section 4.7; Trefethen, *Approximation Theory and Approximation
Practice*, 2013, chapter 17)

    c_k = (2k + 1)/2 * integral_{-1}^{1} g(t) P_k(t) dt,

computed by Gauss-Legendre quadrature with n + 128 nodes, exact for
polynomials of degree 2n + 255 and accurate to float64 for the analytic
targets.  On [-8, 8] and degree 3 it gives the sigmoid cubic
0.5 + 0.15012 x - 0.0015930 x^3 of Kim et al., BMC Medical Genomics 11 (2018).
"""

import functools

import numpy as np
from numpy.polynomial import legendre as L

KIND = "legendre"


@functools.lru_cache(maxsize=32)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return L.leggauss(n)


def fit(g, degree: int) -> np.ndarray:
    """Legendre coefficients of the L2 projection of ``g`` on [-1, 1].

    Parameters
    ----------
    g : callable, float64 array (m,) -> array (m,)
        The function in the mapped variable t.
    degree : int
        n >= 0.

    Returns
    -------
    ndarray, shape (n + 1,)
    """
    nodes, weights = _gauss_legendre(degree + 128)
    vander = L.legvander(nodes, degree)
    return (vander.T @ (weights * g(nodes))) * (np.arange(degree + 1) + 0.5)

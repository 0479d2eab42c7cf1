"""Chebyshev interpolation at the Chebyshev points of the first kind.

The interpolant of degree n through g at t_j = cos((j + 1/2) pi / (n + 1)),
j = 0..n, has the Chebyshev coefficients given by the discrete orthogonality
of the T_k at those points (Mason & Handscomb, *Chebyshev Polynomials*, 2003,
eq. 6.28):

    c_k = (2 - [k = 0]) / (n + 1) * sum_j g(t_j) T_k(t_j),   T_k(t_j) = cos(k (j + 1/2) pi / (n + 1)).

It is the polynomial ``numpy.polynomial.Chebyshev.interpolate`` returns, and
is within a factor 2 + (2/pi) log(n + 1) of the best uniform approximation.
"""

import numpy as np

KIND = "chebyshev"


def fit(g, degree: int) -> np.ndarray:
    """Chebyshev coefficients of the interpolant of ``g`` on [-1, 1].

    Parameters
    ----------
    g : callable, float64 array (n + 1,) -> array (n + 1,)
        The function in the mapped variable t.
    degree : int
        n >= 0.

    Returns
    -------
    ndarray, shape (n + 1,)
    """
    m = degree + 1
    angles = (np.arange(m) + 0.5) * np.pi / m
    values = g(np.cos(angles))
    coef = np.cos(np.outer(np.arange(m), angles)) @ values * (2.0 / m)
    coef[0] /= 2.0
    return coef

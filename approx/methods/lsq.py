"""Discrete least squares on sample points, optionally weighted.

Minimises sum_i w_i^2 (g(t_i) - p(t_i))^2 over polynomials of degree n,
solved in the Chebyshev basis (a well-conditioned Vandermonde matrix) by
``numpy.linalg.lstsq``, as ``numpy.polynomial.Chebyshev.fit`` does.  The
points may be the pre-activation values recorded during training, so that the
fit follows the data the network really sees.
"""

import numpy as np
from numpy.polynomial import chebyshev as C

KIND = "chebyshev"

DEFAULT_POINTS = 1001


def fit(g, degree: int, points: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
    """Chebyshev coefficients of the least-squares fit of ``g``.

    Parameters
    ----------
    g : callable, float64 array (m,) -> array (m,)
        The function in the mapped variable t.
    degree : int
        n >= 0; needs at least n + 1 distinct points.
    points : ndarray, shape (m,), optional
        Sample points in t, inside [-1, 1]; default 1001 equispaced points.
    weights : ndarray, shape (m,), optional
        Positive weights w_i (numpy.polynomial's convention: they multiply the
        residuals); default all 1.

    Returns
    -------
    ndarray, shape (n + 1,)
    """
    t = np.linspace(-1.0, 1.0, DEFAULT_POINTS) if points is None else np.asarray(points, dtype=np.float64)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=np.float64)
    vander = C.chebvander(t, degree) * w[:, None]
    scale = np.sqrt(np.sum(vander * vander, axis=0))
    scale[scale == 0] = 1.0
    coef, *_ = np.linalg.lstsq(vander / scale, w * g(t), rcond=None)
    return coef / scale

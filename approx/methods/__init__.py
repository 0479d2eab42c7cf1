"""Fitting methods, each a module with ``KIND`` (its native basis) and ``fit(g, degree, ...)``
returning coefficients of g(t) on [-1, 1] in that basis."""

from approx.methods import chebyshev, legendre, lsq, minimax

METHODS = {"chebyshev": chebyshev, "legendre": legendre, "lsq": lsq, "minimax": minimax}

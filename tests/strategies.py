"""Names, hypothesis strategies and memoised fits shared by the tests."""

import functools

import hypothesis.strategies as st

from approx import fit

FUNCS = ("sigmoid", "tanh", "swish", "sigmoid_prime", "tanh_prime", "swish_prime")
METHODS = ("chebyshev", "legendre", "lsq", "minimax")

# registry names of the degree-3 gate and cell polynomials the network tests use
POLY_GATE, POLY_CELL = "sigmoid-chebyshev-3[-8,8]", "tanh-chebyshev-3[-4,4]"


@st.composite
def intervals(draw):
    """Random intervals: half of them symmetric (where fits use the targets' parity)."""
    if draw(st.booleans()):
        b = draw(st.floats(0.5, 8.0))
        return (-b, b)
    a = draw(st.floats(-8.0, 6.0))
    return (a, a + draw(st.floats(0.5, 10.0)))


@functools.lru_cache(maxsize=None)
def cached_fit(func, degree, method, interval):
    """fit() memoised, so that several properties can share one fit."""
    return fit(func, degree, method=method, interval=interval)

"""Shared hypothesis settings and strategies."""

import functools
import os

import numpy as np

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings

from approx import fit

# The default run (CI) draws the same examples every time, so that a green suite stays green;
# the stress profile searches afresh with 400 examples per property.
settings.register_profile("default", deadline=None, max_examples=15, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
# A deeper search for local runs: HYPOTHESIS_PROFILE=stress python -m pytest
settings.register_profile("stress", deadline=None, max_examples=400,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

FUNCS = ("sigmoid", "tanh", "swish", "sigmoid_prime", "tanh_prime", "swish_prime")
METHODS = ("chebyshev", "legendre", "lsq", "minimax")


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


import pytest  # noqa: E402

from approx import Registry  # noqa: E402

POLY_GATE, POLY_CELL = "sigmoid-chebyshev-3[-8,8]", "tanh-chebyshev-3[-4,4]"


@pytest.fixture(scope="session")
def poly_registry(tmp_path_factory):
    """A registry file with the degree-3 sigmoid and tanh fits and a degree-4 swish."""
    reg = Registry(tmp_path_factory.mktemp("registry") / "r.json")
    for func, degree in (("sigmoid", 3), ("tanh", 3), ("swish", 4)):
        reg.add(fit(func, degree))
    return reg


H = 1e-6


def finite_difference_check(params: dict, grads: dict, loss_fn, rng, per_param: int = 6) -> None:
    """Central differences on a few random entries of each parameter; relative error < 1e-6."""
    ours, numeric = [], []
    for name, p in params.items():
        for idx in [tuple(rng.integers(0, s) for s in p.shape) for _ in range(per_param)]:
            old = p[idx]
            p[idx] = old + H
            up = loss_fn()
            p[idx] = old - H
            down = loss_fn()
            p[idx] = old
            ours.append(grads[name][idx])
            numeric.append((up - down) / (2 * H))
    ours, numeric = np.array(ours), np.array(numeric)
    assert np.linalg.norm(ours - numeric) <= 1e-6 * (np.linalg.norm(ours) + np.linalg.norm(numeric)) + 1e-10

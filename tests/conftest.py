"""Hypothesis profiles and the fixtures shared by every test package.

Shared names and strategies live in :mod:`tests.strategies`, the gradient check in :mod:`tests.gradients`,
test certificates in :mod:`tests.certificates`: modules to import, unlike this file.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

from approx import Registry, fit

# The default run (CI) draws the same examples every time, so that a green suite stays green;
# the stress profile searches afresh with 400 examples per property.
settings.register_profile("default", deadline=None, max_examples=15, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
# A deeper search for local runs: HYPOTHESIS_PROFILE=stress python -m pytest
settings.register_profile("stress", deadline=None, max_examples=400,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def poly_registry(tmp_path_factory):
    """A registry file with the degree-3 sigmoid and tanh fits and a degree-4 swish."""
    reg = Registry(tmp_path_factory.mktemp("registry") / "r.json")
    for func, degree in (("sigmoid", 3), ("tanh", 3), ("swish", 4)):
        reg.add(fit(func, degree))
    return reg

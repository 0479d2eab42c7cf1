"""The built-in targets: numpy and mpmath agree, enclosures contain the derivatives, symmetries hold."""

import hypothesis.strategies as st
import mpmath
import numpy as np
import pytest
from hypothesis import given

from approx import UnknownNameError, get_target
from approx.interval import Interval
from tests.strategies import FUNCS


@pytest.mark.parametrize("name", FUNCS)
@given(x=st.floats(-30, 30))
def test_numpy_matches_mpmath(name, x):
    target = get_target(name)
    with mpmath.workdps(30):
        exact = target.mp(mpmath.mp, mpmath.mpf(x))
    assert abs(target.np(np.array([x]))[0] - float(exact)) <= 1e-14 * (1 + abs(float(exact)))


@pytest.mark.parametrize("name", FUNCS)
@given(x=st.floats(-20, 20), width=st.floats(0, 0.5), s=st.floats(0, 1))
def test_enclosures_contain_every_derivative(name, x, width, s):
    target = get_target(name)
    box = Interval(x, x + width)
    point = x + s * width
    enclosures = target.enclose(box, 3)
    with mpmath.workdps(40):
        for k, e in enumerate(enclosures):
            exact = mpmath.diff(lambda v: target.mp(mpmath.mp, v), mpmath.mpf(point), k)
            assert mpmath.mpf(float(e.lo)) - mpmath.mpf(10) ** -30 <= exact
            assert exact <= mpmath.mpf(float(e.hi)) + mpmath.mpf(10) ** -30


@pytest.mark.parametrize("name", FUNCS)
@given(x=st.floats(-20, 20))
def test_declared_symmetry_holds(name, x):
    target = get_target(name)
    sym = target.symmetry
    with mpmath.workdps(30):
        g = lambda v: target.mp(mpmath.mp, v) - (sym.offset + sym.slope * v)  # noqa: E731
        sign = -1 if sym.parity == "odd" else 1
        assert abs(g(mpmath.mpf(-x)) - sign * g(mpmath.mpf(x))) < mpmath.mpf(10) ** -25


def test_derivative_targets_are_derivatives():
    for name in ("sigmoid", "tanh", "swish"):
        target = get_target(name)
        assert target.derivative.name == f"{name}_prime"
        x = np.linspace(-5, 5, 11)
        h = 1e-6
        fd = (target.np(x + h) - target.np(x - h)) / (2 * h)
        assert np.allclose(target.derivative.np(x), fd, atol=1e-8)


def test_default_intervals():
    assert get_target("sigmoid").default_interval == (-8.0, 8.0)
    assert get_target("swish").default_interval == (-8.0, 8.0)
    assert get_target("tanh").default_interval == (-4.0, 4.0)


def test_unknown_target_names_the_choices():
    with pytest.raises(UnknownNameError, match="sigmoid"):
        get_target("sigmod")

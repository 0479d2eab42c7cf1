"""Exact basis conversions agree with numpy.polynomial; Horner encloses the exact value."""

from fractions import Fraction

import hypothesis.strategies as st
import numpy as np
from hypothesis import given
from numpy.polynomial import chebyshev as C
from numpy.polynomial import legendre as L

from approx.exact_series import derivative, enclose_coefficients, horner, to_power
from approx.interval import Interval

coefficients = st.lists(st.floats(-10, 10), min_size=1, max_size=16)


@given(coefficients)
def test_chebyshev_and_legendre_to_power_match_numpy(coef):
    c = np.array(coef)
    for kind, reference in (("chebyshev", C.cheb2poly(c)), ("legendre", L.leg2poly(c))):
        exact = np.array([float(v) for v in to_power(kind, c)])
        reference = np.pad(reference, (0, exact.size - reference.size))  # numpy trims trailing zeros
        scale = np.sum(np.abs(reference)) + np.sum(np.abs(c))
        # numpy rounds each step, so its error is relative to the scale; with subnormal
        # coefficients that error is absolute (one subnormal step), hence the floor
        atol = 1e-12 * scale + np.finfo(float).smallest_subnormal * 4 * c.size
        assert np.allclose(exact, reference, rtol=0, atol=atol)


@given(coefficients, st.floats(-1, 1))
def test_horner_encloses_exact_value_and_derivative(coef, t):
    power = to_power("chebyshev", coef)
    exact = sum(a * Fraction(t) ** k for k, a in enumerate(power))
    value = horner(enclose_coefficients(power), Interval(t))
    assert Fraction(float(value.lo)) <= exact <= Fraction(float(value.hi))
    d_exact = sum(k * a * Fraction(t) ** (k - 1) for k, a in enumerate(power) if k)
    d_value = horner(enclose_coefficients(derivative(power)), Interval(t))
    assert Fraction(float(d_value.lo)) <= d_exact <= Fraction(float(d_value.hi))


def test_unknown_basis_is_refused():
    try:
        to_power("hermite", [1.0])
    except ValueError as exc:
        assert "hermite" in str(exc)
    else:
        raise AssertionError("expected ValueError")

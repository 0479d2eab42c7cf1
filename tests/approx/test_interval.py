"""Outward-rounded interval arithmetic contains the exact results (checked in rationals)."""

from fractions import Fraction

import hypothesis.strategies as st
import mpmath
import numpy as np
from hypothesis import given

from approx.interval import Interval, exp

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def pair(draw_a, draw_b):
    lo, hi = sorted((draw_a, draw_b))
    return Interval(lo, hi)


def contains(iv: Interval, value: Fraction) -> bool:
    lo, hi = float(iv.lo), float(iv.hi)  # an infinite end (overflow) contains everything beyond it
    return (lo == -np.inf or Fraction(lo) <= value) and (hi == np.inf or value <= Fraction(hi))


@given(finite, finite, finite, finite, st.floats(0, 1), st.floats(0, 1))
def test_arithmetic_contains_exact_results(a, b, c, d, s, u):
    x, y = pair(a, b), pair(c, d)
    # a point of each interval, as an exact rational
    px = Fraction(float(x.lo)) + Fraction(s) * (Fraction(float(x.hi)) - Fraction(float(x.lo)))
    py = Fraction(float(y.lo)) + Fraction(u) * (Fraction(float(y.hi)) - Fraction(float(y.lo)))
    assert contains(x + y, px + py)
    assert contains(x - y, px - py)
    assert contains(x * y, px * py)
    assert contains(x.square(), px * px)
    if not (y.lo <= 0 <= y.hi):
        assert contains(x / y, px / py)


@given(st.floats(-700, 700), st.floats(0, 1))
def test_exp_contains_exact_value(a, s):
    x = Interval(a, a + 1.0)
    point = a + s
    with mpmath.workdps(50):
        value = mpmath.exp(mpmath.mpf(point))
        e = exp(x)
        assert mpmath.mpf(float(e.lo)) <= value <= mpmath.mpf(float(e.hi))


def test_reciprocal_of_interval_containing_zero_is_refused():
    try:
        Interval(-1.0, 1.0).reciprocal()
    except ZeroDivisionError:
        return
    raise AssertionError("expected ZeroDivisionError")


def test_bounds_are_rounded_outwards():
    # 0.1 + 0.2 is not representable: the enclosure must be a proper interval around it
    s = Interval(0.1) + Interval(0.2)
    assert s.lo < s.hi
    assert contains(s, Fraction(0.1) + Fraction(0.2))
    assert np.all(Interval(1.0, 2.0).mag() == 2.0)

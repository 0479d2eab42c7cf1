"""Each exported form of a fit is certified on its own (hypothesis, degrees up to 31).

Forms: the native polynomial in t (``error_bound``), the float64 monomial coefficients in x evaluated by
Horner's scheme in float64 (``monomial_error_bound``), the fixed-point coefficients (``fixed_point``), and
the float64 evaluation of the native form (``evaluation_floor``).  Each bound must hold at random points
and at the located maximum of that form's own error.
"""

import functools
from fractions import Fraction

import hypothesis.strategies as st
import mpmath
import numpy as np
import pytest
from hypothesis import example, given

from approx import FitError, PolynomialActivation, fit
from approx.certify import certified_bound
from approx.exact_series import mp_horner
from approx.fixed_point import nearest
from approx.sup_norm import local_extrema
from approx.targets import get_target
from tests.strategies import FUNCS, METHODS, intervals


@functools.lru_cache(maxsize=None)
def cached(func, degree, method, interval, frac_bits=None):
    return fit(func, degree, method=method, interval=interval, frac_bits=frac_bits)


def horner64(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """sum coef[k] x^k by Horner's scheme in float64, as a user's code evaluates the monomial form."""
    r = np.full_like(x, coef[-1])
    for c in coef[-2::-1]:
        r = r * x + c
    return r


def exact_errors(target, x, values) -> list:
    """|f(x) - v| in 60-digit arithmetic, v being float64 values computed at float64 points x."""
    with mpmath.workdps(60):
        return [abs(target.mp(mpmath.mp, mpmath.mpf(float(xi))) - mpmath.mpf(float(vi))) for xi, vi in zip(x, values)]


def probe_points(target, evaluate, a, b, where) -> np.ndarray:
    """Random points and the located maxima of |f - evaluate| (float64 scan + golden section)."""
    t, _ = local_extrema(lambda s: target.np((a + b) / 2 + (b - a) / 2 * s) - evaluate((a + b) / 2 + (b - a) / 2 * s),
                         -1.0, 1.0, size=4000)
    located = np.clip((a + b) / 2 + (b - a) / 2 * t, a, b)
    return np.concatenate([a + (b - a) * np.asarray(where), located])


forms = st.tuples(st.sampled_from(FUNCS), st.integers(0, 31), st.sampled_from(METHODS), intervals())
where = st.lists(st.floats(0, 1), min_size=10, max_size=10)


@given(forms, where)
@example(("tanh", 15, "minimax", (1.0, 3.0)), [0.5] * 10)  # monomial sup error above error_bound before
@example(("sigmoid", 15, "minimax", (0.0, 8.0)), [0.5] * 10)
def test_native_and_monomial_bounds_hold_at_random_points_and_their_own_maxima(params, where):
    func, degree, method, interval = params
    approx = cached(func, degree, method, interval)
    target = get_target(func)
    a, b = interval
    e = approx.errors
    # native form: the exact polynomial in t
    power = approx.power_coef_t()
    x = probe_points(target, approx, a, b, where)
    with mpmath.workdps(60):
        native = [abs(target.mp(mpmath.mp, mpmath.mpf(float(xi)))
                      - mp_horner(power, (2 * mpmath.mpf(float(xi)) - a - b) / (mpmath.mpf(b) - a))) for xi in x]
    assert max(native) <= e.error_bound and e.max_error <= e.error_bound
    # monomial form: exactly the exported floats, evaluated by Horner in float64
    coef = np.array(approx.to_dict()["coefficients"])
    x = probe_points(target, lambda s: horner64(coef, s), a, b, where)
    assert max(exact_errors(target, x, horner64(coef, x))) <= e.monomial_error_bound
    # the derivative's monomial form likewise
    if approx.derivative_errors is not None:
        dcoef = np.array(approx.to_dict()["derivative"]["coefficients"])
        d_target = target.derivative
        x = probe_points(d_target, lambda s: horner64(dcoef, s), a, b, where)
        assert max(exact_errors(d_target, x, horner64(dcoef, x))) <= approx.derivative_errors.monomial_error_bound


@given(forms, where)
def test_evaluation_floor_bounds_the_float64_evaluation_of_the_native_form(params, where):
    func, degree, method, interval = params
    approx = cached(func, degree, method, interval)
    act = PolynomialActivation(approx)
    a, b = interval
    x = np.concatenate([a + (b - a) * np.array(where), [a, b]])
    power = approx.power_coef_t()
    d_power = [k * power[k] * 2 / (Fraction(b) - Fraction(a)) for k in range(1, len(power))] or [Fraction(0)]
    with mpmath.workdps(60):
        t = [(2 * mpmath.mpf(float(xi)) - a - b) / (mpmath.mpf(b) - a) for xi in x]
        value = max(abs(mpmath.mpf(float(v)) - mp_horner(power, ti)) for v, ti in zip(act.forward(x), t))
        slope = max(abs(mpmath.mpf(float(v)) - mp_horner(d_power, ti)) for v, ti in zip(act.derivative(x), t))
    assert value <= approx.errors.evaluation_floor
    if approx.derivative_errors is not None:
        assert slope <= approx.derivative_errors.evaluation_floor


@given(st.sampled_from(FUNCS), st.integers(1, 31), st.sampled_from(("chebyshev", "minimax")), intervals(),
       st.integers(8, 40), where)
@example("sigmoid", 9, "minimax", (-8.0, 8.0), 12, [0.5] * 10)
def test_fixed_point_bound_holds_and_is_never_worse_than_nearest_rounding(func, degree, method, interval,
                                                                          frac_bits, where):
    approx = cached(func, degree, method, interval, frac_bits)
    fp = approx.fixed_point
    target = get_target(func)
    a, b = interval
    q_power = [Fraction(q, 2**frac_bits) for q in fp.integers]
    mid, half = (a + b) / 2, (b - a) / 2
    x = probe_points(target, lambda s: np.polynomial.polynomial.polyval((s - mid) / half, fp.coefficients),
                     a, b, where)
    with mpmath.workdps(60):
        errors = [abs(target.mp(mpmath.mp, mpmath.mpf(float(xi)))
                      - mp_horner(q_power, (2 * mpmath.mpf(float(xi)) - a - b) / (mpmath.mpf(b) - a))) for xi in x]
    assert max(errors) <= fp.error_bound and fp.max_error <= fp.error_bound
    plain = [Fraction(q, 2**frac_bits) for q in nearest(approx.power_coef_t(), frac_bits)]
    assert fp.error_bound <= certified_bound(target, plain, a, b).bound


@pytest.mark.parametrize("func,degree,interval,frac_bits", [
    ("sigmoid", 15, (0.0, 8.0), 20), ("tanh", 15, (1.0, 3.0), 16), ("tanh", 9, (1.0, 3.0), 12)])
def test_lattice_search_beats_nearest_rounding_off_centre(func, degree, interval, frac_bits):
    # plain rounding of the minimax coefficients is 3-5x worse than the best grid polynomial here
    approx = cached(func, degree, "minimax", interval, frac_bits)
    plain = [Fraction(q, 2**frac_bits) for q in nearest(approx.power_coef_t(), frac_bits)]
    nearest_bound = certified_bound(get_target(func), plain, *interval).bound
    assert approx.fixed_point.rounding == "lattice"
    assert approx.fixed_point.error_bound < nearest_bound / 2.5


def test_monomial_bound_exceeds_native_where_the_monomial_form_loses_accuracy():
    approx = cached("tanh", 15, "minimax", (1.0, 3.0))
    assert approx.errors.monomial_error_bound > 2 * approx.errors.error_bound


@pytest.mark.parametrize("func,degree,interval", [
    ("sigmoid", 31, (-2.0, 2.0)), ("tanh", 31, (-1.0, 1.0)), ("swish", 31, (-2.0, 2.0)),
    ("sigmoid", 15, (0.0, 1.0)), ("sigmoid", 19, (0.0, 1.0)), ("sigmoid", 31, (0.0, 1.0)),
    ("sigmoid", 10, (5.0, 6.0))])
def test_minimax_where_the_exchange_used_to_fail_is_no_worse_than_chebyshev(func, degree, interval):
    best = cached(func, degree, "minimax", interval)
    cheb = cached(func, degree, "chebyshev", interval)
    assert best.errors.max_error <= cheb.errors.max_error


@given(st.sampled_from(FUNCS), st.integers(0, 31), intervals())
@example("sigmoid", 10, (5.0, 6.0))
def test_minimax_is_never_worse_than_the_chebyshev_interpolant(func, degree, interval):
    cheb = cached(func, degree, "chebyshev", interval)
    try:
        best = cached(func, degree, "minimax", interval)
    except FitError as exc:  # refused: the message names the cause and the alternative
        assert "did not converge" in str(exc) and "--method chebyshev" in str(exc)
        return
    assert best.errors.max_error <= cheb.errors.max_error


def test_error_below_the_floor_is_reported_and_a_goal_below_it_refused():
    approx = cached("sigmoid", 15, "minimax", (1.0, 3.0))  # true sup 1.8e-15
    assert approx.errors.below_floor
    with pytest.raises(FitError, match="evaluation floor"):
        fit("sigmoid", max_error=1e-16, interval=(1.0, 3.0))
    with pytest.raises(FitError, match="evaluation floor"):
        fit("sigmoid", max_error=1e-30)

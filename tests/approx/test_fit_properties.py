"""Properties of every fit over random intervals, degrees and methods (hypothesis)."""

import hypothesis.strategies as st
import mpmath
import numpy as np
from hypothesis import assume, example, given
from numpy.polynomial import legendre as L

from approx.exact_series import mp_horner
from approx.sup_norm import local_extrema, mp_error
from approx.targets import get_target
from tests.strategies import FUNCS, METHODS, cached_fit, intervals

U = np.finfo(float).eps


def rounding_floor(approx, target) -> float:
    """The documented limit of the bound's tightness: float64 rounding of p, and of f at the scale
    of the values it is computed from -- |f| itself, or for the derivative targets the sigmoid or
    tanh values (up to 1) whose polynomial they are (tanh' = 1 - tanh^2 on [3, 4] is 0.001-0.01, but
    its enclosure carries the rounding of tanh^2 ~ 1)."""
    a, b = approx.domain
    scale = sum(abs(float(v)) for v in approx.power_coef_t())
    f_scale = float(np.max(np.abs(target.np(np.linspace(a, b, 101)))))
    return 64 * U * scale + 2.0**-44 * max(f_scale, 1.0)


fits = st.tuples(st.sampled_from(FUNCS), st.integers(0, 12), st.sampled_from(METHODS), intervals())


@given(fits, st.lists(st.floats(0, 1), min_size=20, max_size=20))
@example(("tanh_prime", 7, "chebyshev", (3.0, 4.0)), [0.0] * 20)  # found by CI: error 3.8e-10, f ~ 0.005
@example(("sigmoid", 12, "chebyshev", (-6.0, -5.0)), [0.0] * 20)  # error 2e-17: rms by float64 quadrature
def test_certified_bound_holds_at_random_points_and_is_tight(params, where):
    func, degree, method, interval = params
    approx = cached_fit(func, degree, method, interval)
    target = get_target(func)
    a, b = interval
    t = 2 * np.array(where) - 1
    errors = [abs(e) for e in mp_error(target, lambda s: mp_horner(approx.power_coef_t(), s), a, b, t)]
    e = approx.errors
    assert max(errors) <= e.error_bound
    assert e.max_error <= e.error_bound
    assert e.error_bound <= e.max_error * (1 + 1e-6) + rounding_floor(approx, target)
    assert 0 <= e.rms_error <= e.max_error


@given(fits, st.lists(st.floats(0, 1), min_size=20, max_size=20))
def test_derivative_figures_hold(params, where):
    func, degree, method, interval = params
    approx = cached_fit(func, degree, method, interval)
    target = get_target(func).derivative
    x = interval[0] + (interval[1] - interval[0]) * np.array(where)
    observed = np.max(np.abs(target.np(x) - approx.deriv(x)))
    d = approx.derivative_errors
    assert observed <= d.error_bound * (1 + 1e-9) + 1e-12
    assert d.max_error <= d.error_bound


@given(st.sampled_from(FUNCS), st.integers(0, 14), intervals())
def test_chebyshev_interpolates_at_chebyshev_points(func, degree, interval):
    approx = cached_fit(func, degree, "chebyshev", interval)
    a, b = interval
    nodes = np.cos((np.arange(degree + 1) + 0.5) * np.pi / (degree + 1))
    x = (a + b) / 2 + (b - a) / 2 * nodes
    f = get_target(func).np(x)
    assert np.allclose(approx(x), f, rtol=0, atol=1e-12 * (1 + np.max(np.abs(f))))


@given(st.sampled_from(FUNCS), st.integers(0, 14), intervals())
def test_legendre_error_is_orthogonal_to_lower_degrees(func, degree, interval):
    approx = cached_fit(func, degree, "legendre", interval)
    a, b = interval
    t, w = L.leggauss(200)
    x = (a + b) / 2 + (b - a) / 2 * t
    f = get_target(func).np(x)
    err = f - approx(x)
    inner = L.legvander(t, degree).T @ (w * err)
    assert np.max(np.abs(inner)) <= 1e-12 * (1 + np.max(np.abs(f)))


@given(st.sampled_from(FUNCS), st.integers(0, 10), intervals())
def test_minimax_equioscillates_and_beats_every_method(func, degree, interval):
    best = cached_fit(func, degree, "minimax", interval)
    target = get_target(func)
    a, b = interval
    # float64 resolves the minimax error to about 1e-16 |f| / E relative, times the conditioning of
    # the exchange (documented; swish_prime degree 8 on [5.25, 13.25], E = 1.03e-6: 1.4e-9), so the
    # 1e-9 claims are checked where E >= 1e-5 |f|
    f_scale = max(1.0, float(np.max(np.abs(target.np(np.linspace(a, b, 101))))))
    assume(best.errors.max_error > 1e-5 * f_scale)
    mid, half = (a + b) / 2, (b - a) / 2
    t, e = local_extrema(lambda s: target.np(mid + half * s) - best.series_in_t()(s), -1.0, 1.0, size=4000)
    level = best.errors.max_error
    signs = np.sign(e[np.abs(e) >= level * (1 - 1e-6)])
    alternations = 1 + np.count_nonzero(signs[1:] != signs[:-1])
    assert alternations >= degree + 2
    # de la Vallee Poussin: the levelled error brackets the true minimax error to 1e-9
    assert best.minimax_lower_bound <= level <= best.minimax_lower_bound * (1 + 1e-9)
    for method in ("chebyshev", "legendre", "lsq"):
        other = cached_fit(func, degree, method, interval)
        assert level <= other.errors.max_error * (1 + 1e-9)


@given(st.sampled_from(FUNCS), st.integers(0, 12), st.sampled_from(METHODS), intervals(),
       st.lists(st.floats(0, 1), min_size=10, max_size=10))
def test_monomial_and_native_basis_agree(func, degree, method, interval, where):
    approx = cached_fit(func, degree, method, interval)
    a, b = interval
    x = a + (b - a) * np.array(where)
    monomial = np.polynomial.polynomial.polyval(x, approx.coefficients)
    scale = np.polynomial.polynomial.polyval(np.abs(x), np.abs(approx.coefficients))
    assert np.allclose(monomial, approx(x), rtol=0, atol=1e-12 * (1 + scale))


@given(st.sampled_from(FUNCS), st.integers(1, 12), st.sampled_from(METHODS), st.floats(0.5, 8))
def test_symmetry_makes_coefficients_exactly_zero(func, degree, method, b):
    approx = cached_fit(func, degree, method, (-b, b))
    sym = get_target(func).symmetry
    wrong = 0 if sym.parity == "odd" else 1
    coef = approx.coef.copy()
    coef[0] -= sym.offset
    coef[1] -= sym.slope * b
    assert np.all(coef[wrong::2] == 0.0)
    assert np.all(approx.coefficients[2 + wrong::2] == 0.0)


def test_max_error_is_attained_where_reported():
    approx = cached_fit("sigmoid", 5, "chebyshev", (-8.0, 8.0))
    # a dense scan never exceeds the located maximum, and comes within 1e-9 of it
    x = np.linspace(-8, 8, 200001)
    scan = np.max(np.abs(get_target("sigmoid").np(x) - approx(x)))
    assert scan <= approx.errors.max_error * (1 + 1e-12)
    assert scan >= approx.errors.max_error * (1 - 1e-6)
    with mpmath.workdps(30):
        assert approx.errors.max_error > 0

"""Cross-checks against independent software and published results on the same interval and degree."""

import numpy as np
import pytest
from numpy.polynomial import Chebyshev, Legendre

from approx import fit, get_target


@pytest.mark.parametrize("func,interval", [("sigmoid", (-8.0, 8.0)), ("tanh", (-4.0, 4.0)),
                                           ("swish", (-5.0, 3.0)), ("tanh_prime", (-1.0, 2.5))])
@pytest.mark.parametrize("degree", [1, 3, 7, 12])
def test_chebyshev_matches_numpy_interpolate(func, interval, degree):
    f = get_target(func).np
    reference = Chebyshev.interpolate(f, degree, domain=list(interval))
    ours = fit(func, degree, interval=interval)
    assert np.allclose(ours.coef, reference.coef, rtol=0, atol=1e-13)


@pytest.mark.parametrize("func,interval", [("sigmoid", (-8.0, 8.0)), ("tanh", (-4.0, 4.0)),
                                           ("swish", (-5.0, 3.0))])
@pytest.mark.parametrize("degree", [2, 3, 9])
def test_legendre_matches_numpy_legendre_fit_on_gauss_points(func, interval, degree):
    # Legendre.fit with Gauss-Legendre points and sqrt(weights) is the continuous L2 projection
    a, b = interval
    t, w = np.polynomial.legendre.leggauss(300)
    x = (a + b) / 2 + (b - a) / 2 * t
    reference = Legendre.fit(x, get_target(func).np(x), degree, domain=[a, b], w=np.sqrt(w))
    ours = fit(func, degree, method="legendre", interval=interval)
    assert np.allclose(ours.coef, reference.coef, rtol=0, atol=1e-12)


@pytest.mark.parametrize("degree", [1, 3, 6])
def test_lsq_matches_numpy_chebyshev_fit(degree):
    x = np.linspace(-3.0, 6.0, 1001)
    reference = Chebyshev.fit(x, get_target("tanh").np(x), degree, domain=[-3.0, 6.0])
    ours = fit("tanh", degree, method="lsq", interval=(-3.0, 6.0))
    assert np.allclose(ours.coef, reference.coef, rtol=0, atol=1e-12)


def test_lsq_on_given_points_and_weights_matches_numpy():
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(0.0, 2.0, 500), -8, 8)
    w = rng.uniform(0.5, 2.0, 500)
    reference = Chebyshev.fit(x, get_target("sigmoid").np(x), 5, domain=[-8.0, 8.0], w=w)
    ours = fit("sigmoid", 5, method="lsq", points=x, weights=w)
    assert np.allclose(ours.coef, reference.coef, rtol=0, atol=1e-12)


def test_legendre_reproduces_kim_et_al_2018_least_squares_cubic():
    # Kim, Song, Kim, Lee, Cheon, BMC Medical Genomics 11 (2018): sigma(x) ~ 0.5 + 0.15012 x - 0.0015930 x^3 on [-8, 8]
    a = fit("sigmoid", 3, method="legendre").coefficients
    assert a[0] == 0.5 and a[2] == 0.0
    assert f"{a[1]:.4e}" == "1.5012e-01"
    assert f"{a[3]:.4e}" == "-1.5930e-03"


def test_minimax_of_odd_function_same_for_degrees_2k_and_2k_minus_1():
    three = fit("tanh", 3, method="minimax")
    four = fit("tanh", 4, method="minimax")
    assert np.array_equal(three.coefficients, four.coefficients[:4])
    assert four.coefficients[4] == 0.0
    # the best line for a function convex on [a, b] (sigmoid on [0, 4] is concave) errs equally,
    # with alternating signs, at both ends and one interior point (Powell 1981, chapter 7)
    lin = fit("sigmoid", 1, method="minimax", interval=(0.0, 4.0))
    x = np.linspace(0.0, 4.0, 4001)
    e = get_target("sigmoid").np(x) - lin(x)
    assert abs(abs(e[0]) - abs(e[-1])) < 1e-12 and abs(np.max(np.abs(e)) - abs(e[0])) < 1e-8

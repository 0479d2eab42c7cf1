"""The activation registry: built-ins, registry polynomials, the register decorator and plugins."""

import subprocess
import sys
import textwrap

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import approx
from approx import Activation, PolynomialActivation, Registry, UnknownNameError, fit, get, register


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "identity", "swish", "square"])
@given(x=st.lists(st.floats(-6, 6).filter(lambda v: abs(v) > 1e-3), min_size=1, max_size=8))
def test_builtin_derivatives_match_finite_differences(name, x):
    act = get(name)
    x = np.array(x)
    h = 1e-6
    fd = (act.forward(x + h) - act.forward(x - h)) / (2 * h)
    assert np.allclose(act.derivative(x), fd, rtol=1e-6, atol=1e-7)


@given(st.integers(1, 4), st.integers(1, 4))
def test_any_shape_is_kept(rows, cols):
    x = np.linspace(-3, 3, rows * cols).reshape(rows, cols)
    for name in ["sigmoid", "tanh", "relu", "identity", "swish", "square"]:
        assert get(name)(x).shape == x.shape and get(name).derivative(x).shape == x.shape


def test_builtin_values():
    assert get("sigmoid")(np.array([0.0]))[0] == 0.5
    assert np.allclose(get("tanh")(np.array([0.3])), np.tanh(0.3))
    assert get("square").is_polynomial and not get("relu").is_polynomial


def test_registry_polynomial_is_an_activation(tmp_path):
    reg = Registry(tmp_path / "r.json")
    a = fit("sigmoid", 3)
    reg.add(a)
    act = get(a.name, registry=reg)
    assert isinstance(act, PolynomialActivation)
    x = np.linspace(-8, 8, 9)
    assert np.allclose(act(x), np.polynomial.polynomial.polyval(x, act.coefficients))
    h = 1e-6
    assert np.allclose(act.derivative(x), (act(x + h) - act(x - h)) / (2 * h), atol=1e-7)
    assert act.interval == (-8.0, 8.0) and act.approximation.errors == a.errors


def test_unknown_activation_says_where_it_looked(tmp_path):
    with pytest.raises(UnknownNameError, match="not in registry"):
        get("nope", registry=tmp_path / "r.json")


def test_register_decorator():
    @register()
    class Softsign(Activation):
        name = "softsign-test"

        def forward(self, x):
            return x / (1 + np.abs(x))

        def derivative(self, x):
            return 1 / (1 + np.abs(x)) ** 2

    assert get("softsign-test")(np.array([1.0]))[0] == 0.5
    with pytest.raises(ValueError):
        register("softsign-test")(Softsign)
    with pytest.raises(ValueError):
        register("sigmoid")(Softsign)


PLUGIN = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "approx-test-plugin"
        version = "0.1"
        [project.entry-points."approx.activations"]
        softsign = "approx_test_plugin:Softsign"
        [project.entry-points."approx.targets"]
        softplus = "approx_test_plugin:SOFTPLUS"
    """,
    "approx_test_plugin.py": """
        import numpy as np
        from approx import Activation, Target

        class Softsign(Activation):
            name = "softsign"
            def forward(self, x):
                return x / (1 + np.abs(x))
            def derivative(self, x):
                return 1 / (1 + np.abs(x)) ** 2

        SOFTPLUS = Target(
            name="softplus",
            mp=lambda ctx, x: ctx.log(1 + ctx.exp(x)),
            np=lambda x: np.logaddexp(0.0, x),
            default_interval=(-4.0, 4.0),
            derivative=Target(name="softplus_prime", mp=lambda ctx, x: 1 / (1 + ctx.exp(-x)),
                              np=lambda x: 1 / (1 + np.exp(-x))),
        )
    """,
}


def test_third_party_plugin_through_entry_points(tmp_path):
    src = tmp_path / "plugin"
    src.mkdir()
    for name, text in PLUGIN.items():
        (src / name).write_text(textwrap.dedent(text))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(src)], check=True)
    script = textwrap.dedent("""
        import numpy as np, approx
        act = approx.get("softsign")
        assert act(np.array([1.0]))[0] == 0.5, act
        a = approx.fit("softplus", 4)
        print(a.errors.max_error, a.errors.error_bound)
    """)
    env = {"PYTHONPATH": f"{site}:{approx.__path__[0]}/..", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    max_error, bound = map(float, out.stdout.split())
    assert 0 < max_error <= bound <= max_error * (1 + 1e-6)


@given(st.sampled_from(["sigmoid", "tanh", "swish"]), st.integers(0, 15),
       st.sampled_from(["chebyshev", "legendre", "minimax"]), st.floats(-6, 2), st.floats(1, 8))
def test_polynomial_activation_matches_its_approximation(func, degree, method, a, width):
    approx_ = fit(func, degree, method=method, interval=(a, a + width))
    act = PolynomialActivation(approx_)
    x = np.linspace(a, a + width, 57).reshape(3, 19)
    assert np.allclose(act(x), approx_(x), rtol=0, atol=1e-12)
    assert np.allclose(act.derivative(x), approx_.deriv(x), rtol=0, atol=1e-10)

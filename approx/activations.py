"""The activation registry: activations by name, exact or polynomial.

``get("sigmoid")`` works like Keras' ``activations.get``: it returns an
:class:`Activation` for a built-in name (sigmoid, tanh, relu, identity, swish,
square), a name registered with :func:`register`, a name from the entry-point
group ``approx.activations`` (third-party packages), or the name of a fitted
polynomial in the registry file (:class:`approx.registry.Registry`), wrapped as
a :class:`PolynomialActivation`.  nn and mpc read every activation from here.

``square`` (x^2, derivative 2x) is the design's replacement for ReLU under MPC.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata

import numpy as np

from approx.approximation import Approximation
from approx.errors import UnknownNameError
from approx.evaluation import mapped_float_coefficients
from approx.registry import Registry
from approx.targets import get_target

__all__ = ["Activation", "PolynomialActivation", "get", "register", "builtin_names", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "approx.activations"


class Activation:
    """An elementwise activation with its derivative.

    Subclasses set ``name`` and implement :meth:`forward` and :meth:`derivative`.

    Attributes
    ----------
    name : str
    coefficients : ndarray or None
        Monomial coefficients in x, ascending, when the activation is a
        polynomial (evaluable with secure additions and multiplications only).
    """

    name: str = ""
    coefficients: np.ndarray | None = None

    @property
    def is_polynomial(self) -> bool:
        """True if the activation is a polynomial."""
        return self.coefficients is not None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """f(x) elementwise; x is a float64 array of any shape, the result has its shape."""
        raise NotImplementedError

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """f'(x) elementwise, same shape as ``x``."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class _TargetActivation(Activation):
    """An exact activation computed by a fitting target and its derivative."""

    def __init__(self, name: str):
        self.name = name
        self._target = get_target(name)

    def forward(self, x):
        return self._target.np(np.asarray(x, dtype=np.float64))

    def derivative(self, x):
        return self._target.derivative.np(np.asarray(x, dtype=np.float64))


class ReLU(Activation):
    """max(x, 0); derivative 1 for x > 0 else 0 (PyTorch's convention at 0)."""

    name = "relu"

    def forward(self, x):
        return np.maximum(np.asarray(x, dtype=np.float64), 0.0)

    def derivative(self, x):
        return (np.asarray(x, dtype=np.float64) > 0).astype(np.float64)


class Identity(Activation):
    """x; derivative 1."""

    name = "identity"
    coefficients = np.array([0.0, 1.0])

    def forward(self, x):
        return np.array(x, dtype=np.float64)

    def derivative(self, x):
        return np.ones_like(np.asarray(x, dtype=np.float64))


class Square(Activation):
    """x^2, derivative 2x: the design's ReLU replacement under MPC (one multiplication)."""

    name = "square"
    coefficients = np.array([0.0, 0.0, 1.0])

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        return x * x

    def derivative(self, x):
        return 2.0 * np.asarray(x, dtype=np.float64)


class PolynomialActivation(Activation):
    """A fitted polynomial from the registry.

    Parameters
    ----------
    approximation : Approximation
        Its name, coefficients, interval (``approximation.domain``), method
        and error figures travel with the activation.

    Attributes
    ----------
    scale, shift : float
        The map t = scale x + shift of [a, b] onto [-1, 1].
    power_coef : ndarray, shape (degree + 1,)
        Power-basis coefficients in t, ascending: p(x) = sum power_coef[k] t^k,
        evaluated by Horner's scheme in t (the coefficients stay O(1)).
    """

    def __init__(self, approximation: Approximation):
        self.approximation = approximation
        self.name = approximation.name
        self.coefficients = approximation.coefficients
        # the float64 form whose rounding error approx.evaluation.evaluation_floor bounds
        self.scale, self.shift, self.power_coef, self._dpower = mapped_float_coefficients(
            approximation.power_coef_t(), *approximation.domain)

    @property
    def interval(self) -> tuple[float, float]:
        """[a, b], where the polynomial approximates its target."""
        return self.approximation.domain

    def _horner(self, coef: np.ndarray, x) -> np.ndarray:
        # Horner's scheme in the mapped variable t, where the coefficients stay O(1)
        t = np.multiply(x, self.scale, dtype=np.float64)
        if self.shift:
            t += self.shift
        out = np.full_like(t, coef[-1])
        for c in coef[-2::-1]:
            out *= t
            if c:
                out += c
        return out

    def forward(self, x):
        return self._horner(self.power_coef, x)

    def derivative(self, x):
        if self._dpower.size == 0:
            return np.zeros_like(np.asarray(x, dtype=np.float64))
        return self._horner(self._dpower, x)


_BUILTINS: dict[str, Callable[[], Activation]] = {
    "sigmoid": lambda: _TargetActivation("sigmoid"),
    "tanh": lambda: _TargetActivation("tanh"),
    "swish": lambda: _TargetActivation("swish"),
    "relu": ReLU,
    "identity": Identity,
    "square": Square,
}
_REGISTERED: dict[str, Callable[[], Activation]] = {}


def builtin_names() -> list[str]:
    """Names of the built-in and :func:`register`-ed activations."""
    return sorted(set(_BUILTINS) | set(_REGISTERED))


def register(name: str | None = None):
    """Class (or factory) decorator that makes an activation available to :func:`get`.

    Parameters
    ----------
    name : str, optional
        Defaults to the decorated class' ``name`` attribute.

    Raises
    ------
    ValueError
        If the name is empty or taken.

    Examples
    --------
    >>> @register()
    ... class Softsign(Activation):
    ...     name = "softsign"
    ...     def forward(self, x): return x / (1 + abs(x))
    ...     def derivative(self, x): return 1 / (1 + abs(x)) ** 2
    """

    def decorate(factory):
        key = name or getattr(factory, "name", "")
        if not key:
            raise ValueError("register needs a name: pass one or set the class attribute `name`")
        if key in _BUILTINS or key in _REGISTERED:
            raise ValueError(f"an activation named {key!r} is registered already")
        _REGISTERED[key] = factory
        return factory

    return decorate


def _from_entry_point(name: str) -> Activation | None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            obj = ep.load()
            obj = obj if isinstance(obj, Activation) else obj()
            if not isinstance(obj, Activation):
                raise UnknownNameError(f"entry point {name!r} of {ENTRY_POINT_GROUP} does not give an Activation")
            return obj
    return None


def get(identifier, registry: str | Registry | None = None) -> Activation:
    """The activation called ``identifier``.

    Parameters
    ----------
    identifier : str or Activation
        A name (looked up in the order: built-in and registered, entry points,
        registry file) or an Activation, returned as it is.
    registry : str, Path or Registry, optional
        The registry file for fitted polynomials; default
        ``$APPROX_REGISTRY`` or ``./approx-registry.json``.

    Returns
    -------
    Activation

    Raises
    ------
    UnknownNameError
        If no activation has that name.
    RegistryError
        If the registry file is corrupt.
    """
    if isinstance(identifier, Activation):
        return identifier
    if not isinstance(identifier, str):
        raise UnknownNameError(f"activation must be a name or an Activation, got {type(identifier).__name__}")
    factory = _BUILTINS.get(identifier) or _REGISTERED.get(identifier)
    if factory is not None:
        return factory()
    found = _from_entry_point(identifier)
    if found is not None:
        return found
    reg = registry if isinstance(registry, Registry) else Registry(registry)
    try:
        return PolynomialActivation(reg.get(identifier))
    except UnknownNameError:
        raise UnknownNameError(
            f"unknown activation {identifier!r}: not built in ({', '.join(builtin_names())}), "
            f"not from a plugin, and not in registry {reg.path}; fit one with approx fit") from None

"""approx: polynomial approximations of activation functions with certified error bounds.

Fit (:func:`fit`), keep (:class:`Registry`) and look up (:func:`get`)
polynomial activations for plaintext training (package ``nn``) and secure
evaluation on secret shares (package ``mpc``).
"""

from approx.activations import Activation, PolynomialActivation, get, register
from approx.approximation import Approximation, ErrorFigures, FixedPoint
from approx.errors import ApproxError, FitError, RegistryError, UnknownNameError
from approx.fit import default_name, fit
from approx.registry import Registry
from approx.targets import Symmetry, Target, get_target, register_target

__all__ = [
    "Activation", "PolynomialActivation", "get", "register",
    "Approximation", "ErrorFigures", "FixedPoint",
    "ApproxError", "FitError", "RegistryError", "UnknownNameError",
    "default_name", "fit", "Registry", "Symmetry", "Target", "get_target", "register_target",
]

"""Activations for layers: a registry activation plus how its derivative is taken.

Every layer reads its activations from the approx registry by name
(:func:`approx.get`).  For a polynomial p that approximates sigmoid or tanh the
derivative has two modes (docs/design.md, "Networks"):

* ``poly``: p'(z), the polynomial's own derivative (3 a3 z^2 + 2 a2 z + a1 for a cubic);
* ``output``: y (1 - y) for a sigmoid approximation, 1 - y^2 for tanh,
  computed from the activation's output y = p(z) (one multiplication under MPC).

With ``clip=True`` pre-activations are clipped to the polynomial's fitted
interval before it is evaluated (the derivative is then 0 outside it).
"""

from __future__ import annotations

import numpy as np

import approx
from approx.errors import ApproxError

__all__ = ["LayerActivation", "DERIVATIVE_MODES"]

DERIVATIVE_MODES = ("poly", "output")
_OUTPUT_FORMS = {"sigmoid": lambda y: y * (1.0 - y), "tanh": lambda y: 1.0 - y * y}


class LayerActivation:
    """An activation as a layer uses it.

    Parameters
    ----------
    name : str
        A registry name (``approx.get``): built-in or fitted polynomial.
    registry : str or approx.Registry, optional
        The registry file for fitted polynomials.
    derivative : {"poly", "output"}
        How the derivative of a polynomial approximation is taken.
    clip : bool
        Clip pre-activations to a polynomial's interval.

    Raises
    ------
    approx.UnknownNameError
        For an unknown name.
    approx.ApproxError
        For an unknown derivative mode, or ``output`` with a polynomial that
        approximates neither sigmoid nor tanh.
    """

    def __init__(self, name: str, registry=None, derivative: str = "poly", clip: bool = False):
        if derivative not in DERIVATIVE_MODES:
            raise ApproxError(f"unknown derivative mode {derivative!r}; choose poly or output")
        self.activation = approx.get(name, registry=registry)
        self.name = self.activation.name
        self.derivative_mode = derivative
        self.clip = clip
        poly = getattr(self.activation, "approximation", None)
        self.interval = None if poly is None else poly.domain
        #: "sigmoid" or "tanh" when the derivative is taken from the output y, else None
        self.output_form_name = None
        if poly is None and self.name in _OUTPUT_FORMS:
            # the exact sigmoid and tanh: the output form is their derivative, and cheaper
            self.output_form_name = self.name
        elif derivative == "output" and poly is not None:
            if poly.func not in _OUTPUT_FORMS:
                raise ApproxError(f"derivative mode output needs a sigmoid or tanh approximation; {self.name} "
                                  f"approximates {poly.func}: use --derivative poly")
            self.output_form_name = poly.func
        self._output_form = _OUTPUT_FORMS.get(self.output_form_name)

    def forward(self, z: np.ndarray) -> np.ndarray:
        """y = f(z), elementwise, any shape, in z's floating-point type."""
        zc = np.clip(z, *self.interval) if (self.clip and self.interval is not None) else z
        return self.activation.forward(zc).astype(z.dtype, copy=False)

    def grad(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dy/dz at pre-activations ``z`` with outputs ``y`` (same shapes), in z's floating-point type."""
        if self._output_form is not None:
            d = self._output_form(y)
        else:
            zc = np.clip(z, *self.interval) if (self.clip and self.interval is not None) else z
            d = self.activation.derivative(zc)
        if self.clip and self.interval is not None:
            d = d * ((z >= self.interval[0]) & (z <= self.interval[1]))
        return d.astype(z.dtype, copy=False)

    def outside(self, z: np.ndarray) -> tuple[int, int]:
        """(count of z outside the fitted interval, count of z); (0, n) for exact activations."""
        if self.interval is None:
            return 0, z.size
        return int(np.count_nonzero((z < self.interval[0]) | (z > self.interval[1]))), z.size

    def describe(self) -> dict:
        """JSON-ready description: name, and for a polynomial its coefficients and interval."""
        d = {"name": self.name, "derivative": self.derivative_mode, "clip": self.clip}
        if self.interval is not None:
            d["coefficients"] = self.activation.coefficients.tolist()
            d["interval"] = list(self.interval)
        return d

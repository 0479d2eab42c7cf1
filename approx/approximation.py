"""The Approximation type every fitting method returns.

A polynomial p of degree n on [a, b] is stored, like numpy.polynomial's
series, as coefficients ``coef`` in a native basis (Chebyshev or Legendre) of
the mapped variable t = (2x - a - b)/(b - a) in [-1, 1] (numpy's ``domain``
[a, b] and ``window`` [-1, 1]); the monomial coefficients in x, ascending as
the design writes a0 + a1 x + a2 x^2 + a3 x^3, are derived from them exactly
(rational arithmetic, one rounding per coefficient).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from math import comb

import numpy as np
from numpy.polynomial import Chebyshev, Legendre

from approx.exact_series import to_power

__all__ = ["Approximation", "ErrorFigures", "FixedPoint"]

_SERIES = {"chebyshev": Chebyshev, "legendre": Legendre}


@dataclasses.dataclass(frozen=True)
class ErrorFigures:
    """Error of a polynomial against its target on [a, b].

    Attributes
    ----------
    max_error : float
        Sup norm of f - p located at the error's critical points (a value
        actually attained, rounded down).
    error_bound : float
        Certified upper bound on the sup norm (interval branch and bound).
    rms_error : float
        sqrt(mean of (f - p)^2 over [a, b]).
    monomial_error_bound : float or None
        Certified upper bound on |f(x) - q(x)| for the float64 monomial
        coefficients in x (``Approximation.coefficients``, or the derivative's
        ``coefficients`` in the JSON) evaluated by Horner's scheme in float64,
        rounding included (:mod:`approx.evaluation`).
    evaluation_floor : float or None
        Bound on the float64 rounding error of evaluating the native form as
        :class:`approx.PolynomialActivation` does; an approximation error
        below it is not observable in float64.
    """

    max_error: float
    error_bound: float
    rms_error: float
    monomial_error_bound: float | None = None
    evaluation_floor: float | None = None

    @property
    def below_floor(self) -> bool:
        """True when the located error is below the float64 evaluation floor."""
        return self.evaluation_floor is not None and self.max_error < self.evaluation_floor

    @classmethod
    def from_dict(cls, d: dict) -> "ErrorFigures":
        """From the fields of :meth:`Approximation.to_dict` (the two optional ones may be absent)."""
        def optional(key):
            return None if d.get(key) is None else float(d[key])

        return cls(float(d["max_error"]), float(d["error_bound"]), float(d["rms_error"]),
                   optional("monomial_error_bound"), optional("evaluation_floor"))


@dataclasses.dataclass(frozen=True)
class FixedPoint:
    """Power-basis coefficients in t rounded to multiples of 2^-frac_bits.

    Attributes
    ----------
    frac_bits : int
        F, the fractional bits.
    integers : tuple of int, length n + 1
        q_k with coefficient q_k 2^-F of t^k, ascending.
    max_error, error_bound : float
        Error of the exact rounded polynomial against the target (as ErrorFigures).
    rounding : {"nearest", "lattice"}
        How the integers were chosen: each coefficient rounded to the nearest
        multiple, or the search of :mod:`approx.fixed_point`, whichever has the
        smaller certified bound.
    """

    frac_bits: int
    integers: tuple[int, ...]
    max_error: float
    error_bound: float
    rounding: str = "nearest"

    @property
    def coefficients(self) -> np.ndarray:
        """The rounded coefficients q_k 2^-F as float64, shape (n + 1,)."""
        return np.array(self.integers, dtype=np.float64) * 2.0**-self.frac_bits


@dataclasses.dataclass(frozen=True)
class Approximation:
    """A fitted polynomial with its error figures.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``sigmoid-chebyshev-3[-8,8]``.
    func : str
        Target name (``sigmoid``, ``tanh``, ...).
    method : str
        ``chebyshev``, ``legendre``, ``lsq`` or ``minimax``.
    degree : int
    domain : (float, float)
        The interval [a, b].
    kind : str
        Native basis, ``chebyshev`` or ``legendre``.
    coef : ndarray, shape (degree + 1,)
        Native-basis coefficients in t.
    errors : ErrorFigures
        p against f.
    derivative_errors : ErrorFigures or None
        p' against f' (None when the target has no known derivative).
    minimax_lower_bound : float or None
        For ``minimax``: de la Vallee Poussin's lower bound on the minimax error.
    fixed_point : FixedPoint or None
    max_error_goal : float or None
        The goal E when the degree was chosen as the smallest reaching it.
    proven_minimal : bool or None
        For minimax with a goal: whether de la Vallee Poussin's bound proves
        that degree - 1 cannot reach E.
    minimax_converged : bool or None
        For minimax: False when the Remez exchange found no equioscillating
        polynomial better than the Chebyshev interpolant (only at float64's
        rounding floor, where the interpolant is returned).
    """

    name: str
    func: str
    method: str
    degree: int
    domain: tuple[float, float]
    kind: str
    coef: np.ndarray
    errors: ErrorFigures
    derivative_errors: ErrorFigures | None = None
    minimax_lower_bound: float | None = None
    fixed_point: FixedPoint | None = None
    max_error_goal: float | None = None
    proven_minimal: bool | None = None
    minimax_converged: bool | None = None

    # -- evaluation ---------------------------------------------------------
    def series(self):
        """The polynomial as a numpy.polynomial Chebyshev or Legendre series with domain [a, b]."""
        return _SERIES[self.kind](self.coef, domain=list(self.domain))

    def series_in_t(self):
        """The same polynomial as a function of t (numpy's default domain [-1, 1])."""
        return _SERIES[self.kind](self.coef)

    def __call__(self, x) -> np.ndarray:
        """p(x) elementwise; ``x`` is a float array of any shape (same shape returned)."""
        return self.series()(np.asarray(x, dtype=np.float64))

    def deriv(self, x) -> np.ndarray:
        """p'(x) elementwise, same shape as ``x``."""
        return self.series().deriv()(np.asarray(x, dtype=np.float64))

    def to_t(self, x) -> np.ndarray:
        """The mapped variable t = (2x - a - b)/(b - a), same shape as ``x``."""
        a, b = self.domain
        return (2.0 * np.asarray(x, dtype=np.float64) - a - b) / (b - a)

    # -- other bases ----------------------------------------------------------
    def power_coef_t(self) -> list[Fraction]:
        """Exact power-basis coefficients in t, ascending, length degree + 1."""
        return to_power(self.kind, self.coef)

    @property
    def coefficients(self) -> np.ndarray:
        """Monomial coefficients a_k of p(x) = sum a_k x^k, ascending, shape (degree + 1,).

        Exact conversion rounded once per coefficient; for high degrees on wide
        or off-centre intervals the monomial form is ill-conditioned to evaluate
        (prefer ``coef``): ``errors.monomial_error_bound`` certifies exactly
        these floats evaluated by Horner's scheme in float64.
        """
        a, b = (Fraction(v) for v in self.domain)
        alpha, beta = 2 / (b - a), -(a + b) / (b - a)  # t = alpha x + beta
        out = [Fraction(0)] * (self.degree + 1)
        for k, ck in enumerate(self.power_coef_t()):
            for j in range(k + 1):  # ck (alpha x + beta)^k
                out[j] += ck * comb(k, j) * alpha**j * beta ** (k - j)
        return np.array([float(v) for v in out])

    @property
    def derivative_coefficients(self) -> np.ndarray:
        """Monomial coefficients of p'(x), k a_k in float64, ascending, shape (max(degree, 1),)."""
        a = self.coefficients
        return a[1:] * np.arange(1, a.size) if a.size > 1 else np.zeros(1)

    # -- persistence ----------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready dict (the registry entry and ``approx fit --json``)."""
        d = {
            "name": self.name,
            "func": self.func,
            "method": self.method,
            "degree": self.degree,
            "interval": list(self.domain),
            "coefficients": self.coefficients.tolist(),
            "basis": {"kind": self.kind, "domain": list(self.domain), "window": [-1.0, 1.0],
                      "coefficients": self.coef.tolist()},
            **dataclasses.asdict(self.errors),
        }
        d["derivative"] = None if self.derivative_errors is None else {
            "coefficients": self.derivative_coefficients.tolist(),
            **dataclasses.asdict(self.derivative_errors),
        }
        if self.minimax_lower_bound is not None:
            d["minimax_lower_bound"] = self.minimax_lower_bound
        if self.minimax_converged is not None:
            d["minimax_converged"] = self.minimax_converged
        if self.max_error_goal is not None:
            d["max_error_goal"] = self.max_error_goal
            d["proven_minimal"] = self.proven_minimal
        if self.fixed_point is not None:
            fp = self.fixed_point
            d["fixed_point"] = {"frac_bits": fp.frac_bits, "variable": "t", "integers": list(fp.integers),
                                "coefficients": fp.coefficients.tolist(),
                                "max_error": fp.max_error, "error_bound": fp.error_bound,
                                "rounding": fp.rounding}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Approximation":
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        KeyError, TypeError, ValueError
            If ``d`` lacks a field or a field has the wrong type.
        """
        errors = ErrorFigures.from_dict(d)
        deriv = d.get("derivative")
        fp = d.get("fixed_point")
        return cls(
            name=str(d["name"]), func=str(d["func"]), method=str(d["method"]), degree=int(d["degree"]),
            domain=(float(d["interval"][0]), float(d["interval"][1])), kind=str(d["basis"]["kind"]),
            coef=np.array(d["basis"]["coefficients"], dtype=np.float64), errors=errors,
            derivative_errors=None if deriv is None else ErrorFigures.from_dict(deriv),
            minimax_lower_bound=d.get("minimax_lower_bound"), minimax_converged=d.get("minimax_converged"),
            max_error_goal=d.get("max_error_goal"), proven_minimal=d.get("proven_minimal"),
            fixed_point=None if fp is None else FixedPoint(
                int(fp["frac_bits"]), tuple(int(q) for q in fp["integers"]),
                float(fp["max_error"]), float(fp["error_bound"]), str(fp.get("rounding", "nearest"))),
        )


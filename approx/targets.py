"""Target functions f to approximate: sigmoid, tanh, swish and their derivatives.

A :class:`Target` is pluggable: a name, an mpmath implementation (used for the
error figures and, through ``mpmath.iv``, for certified bounds) and a numpy
implementation.  The built-in targets also carry exact interval enclosures of
their derivatives of every order, which makes their certified bounds fast
(see :mod:`approx.certify`).

Formulas (docs/design.md): sigmoid(x) = 1 / (1 + e^-x),
tanh(x) = 2 sigmoid(2x) - 1, swish(x) = x sigmoid(x).  Every derivative of the
sigmoid is a polynomial in s = sigmoid(x), from s' = s (1 - s): if
D^j s = P_j(s) then D^(j+1) s = P_j'(s) s (1 - s); likewise
D^(j+1) tanh = Q_j'(t) (1 - t^2) with t = tanh(x); and by Leibniz'
rule D^j (x s) = x P_j(s) + j P_(j-1)(s).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from importlib import metadata

import numpy as np
from numpy.polynomial import polynomial as P

from approx.errors import UnknownNameError
from approx.interval import Interval, exp

__all__ = ["Target", "Symmetry", "get_target", "register_target", "target_names", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "approx.targets"


@dataclasses.dataclass(frozen=True)
class Symmetry:
    """A symmetry ``f(x) - (offset + slope x)`` is odd or even about x = 0.

    Attributes
    ----------
    parity : {"odd", "even"}
    offset, slope : float
        The linear part removed before the parity holds (exact binary numbers).
    """

    parity: str
    offset: float = 0.0
    slope: float = 0.0


@dataclasses.dataclass(frozen=True, eq=False)
class Target:
    """A function to approximate.

    Parameters
    ----------
    name : str
        Name used on the command line and in the registry (``--func``).
    mp : callable ``(ctx, x) -> value``
        The function written with an mpmath context ``ctx`` (``mpmath.mp`` for
        high-precision values, ``mpmath.iv`` for interval enclosures), e.g.
        ``lambda ctx, x: 1 / (1 + ctx.exp(-x))``.
    np : callable ``(ndarray) -> ndarray``
        The same function on float64 arrays of any shape, elementwise.
    default_interval : (float, float)
        The interval [a, b] used when none is given.
    derivative : Target or None
        f', used for the derivative error figures; None if unknown.
    symmetry : Symmetry or None
        A known parity, which fitting on a symmetric interval enforces exactly.
    enclose : callable ``(Interval X, int k) -> list of Interval`` or None
        Enclosures of f, f', ..., f^(k) over X, for fast certified bounds.
    """

    name: str
    mp: Callable
    np: Callable
    default_interval: tuple[float, float] = (-8.0, 8.0)
    derivative: "Target | None" = None
    symmetry: Symmetry | None = None
    enclose: Callable | None = None

    def __repr__(self) -> str:
        return f"Target({self.name!r})"


# ---------------------------------------------------------------------------
# The logistic family: sigmoid, tanh, swish and their derivatives.


@functools.lru_cache(maxsize=None)
def _derivative_polynomial(base: str, order: int) -> np.ndarray:
    """Integer power-basis coefficients of D^order f as a polynomial in f.

    For ``base == "sigmoid"`` f' = f - f^2; for ``"tanh"`` f' = 1 - f^2.
    """
    if order == 0:
        return np.array([0.0, 1.0])
    chain = np.array([0.0, 1.0, -1.0]) if base == "sigmoid" else np.array([1.0, 0.0, -1.0])
    return P.polymul(P.polyder(_derivative_polynomial(base, order - 1)), chain)


def _interval_polyval(coef: np.ndarray, x: Interval) -> Interval:
    result = Interval(np.full_like(x.lo, coef[-1]))
    for c in coef[-2::-1]:
        result = result * x + float(c)
    return result


def _mp_polyval(coef: np.ndarray, x):
    result = 0
    for c in coef[::-1]:
        result = result * x + int(c)
    return result


def _sigmoid_interval(x: Interval) -> Interval:
    return (exp(-x) + 1.0).reciprocal()


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    # sigmoid(x) = (1 + tanh(x/2)) / 2: no overflow, four in-place passes; kept instead of scipy.special.expit,
    # which took 2.6 times as long on 10^6 points here (training evaluates it every step)
    out = np.multiply(x, 0.5, dtype=np.float64)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _logistic(base: str, times_x: bool, order: int) -> Target:
    """D^order of sigmoid, tanh or swish (= x sigmoid(x)) as a Target."""
    stem = "swish" if times_x else base
    name = stem if order == 0 else f"{stem}_prime" + (str(order) if order > 1 else "")
    poly = functools.partial(_derivative_polynomial, base)

    def base_value(ctx, x):
        return 1 / (1 + ctx.exp(-x)) if base == "sigmoid" else ctx.tanh(x)

    def mp_impl(ctx, x):
        s = base_value(ctx, x)
        value = _mp_polyval(poly(order), s)
        if times_x:
            value = x * value + (order * _mp_polyval(poly(order - 1), s) if order else 0)
        return value

    def np_impl(x):
        x = np.asarray(x, dtype=np.float64)
        s = _sigmoid_np(x) if base == "sigmoid" else np.tanh(x)
        if order == 0 and not times_x:
            return s  # the polynomial is s itself: skip polyval (training calls this per step)
        value = P.polyval(s, poly(order))
        if times_x:
            value = x * value + (order * P.polyval(s, poly(order - 1)) if order else 0.0)
        return value

    def enclose(x: Interval, k: int) -> list[Interval]:
        s = _sigmoid_interval(x) if base == "sigmoid" else _sigmoid_interval(2.0 * x) * 2.0 - 1.0
        out = []
        for j in range(order, order + k + 1):
            value = _interval_polyval(poly(j), s)
            if times_x:
                value = x * value + (_interval_polyval(poly(j - 1), s) * float(j) if j else 0.0)
            out.append(value)
        return out

    # sigmoid - 1/2 and tanh are odd and swish - x/2 is even; each derivative flips the parity.
    odd0 = not times_x
    parity = "odd" if (odd0 ^ (order % 2 == 1)) else "even"
    offset = slope = 0.0
    if order == 0 and base == "sigmoid" and not times_x:
        offset = 0.5
    if times_x and order == 0:
        slope = 0.5
    if times_x and order == 1:
        offset = 0.5
    interval = (-4.0, 4.0) if (base == "tanh") else (-8.0, 8.0)
    return Target(
        name=name,
        mp=mp_impl,
        np=np_impl,
        default_interval=interval,
        derivative=_logistic(base, times_x, order + 1) if order < 2 else None,
        symmetry=Symmetry(parity, offset, slope),
        enclose=enclose,
    )


# ---------------------------------------------------------------------------
# Lookup and registration.

_TARGETS: dict[str, Callable[[], Target]] = {
    "sigmoid": lambda: _logistic("sigmoid", False, 0),
    "tanh": lambda: _logistic("tanh", False, 0),
    "swish": lambda: _logistic("sigmoid", True, 0),
    "sigmoid_prime": lambda: _logistic("sigmoid", False, 1),
    "tanh_prime": lambda: _logistic("tanh", False, 1),
    "swish_prime": lambda: _logistic("sigmoid", True, 1),
}


def register_target(target: Target) -> Target:
    """Make ``target`` available to :func:`get_target` and ``approx fit --func``.

    Raises
    ------
    ValueError
        If a target of that name exists already.
    """
    if target.name in _TARGETS:
        raise ValueError(f"a target named {target.name!r} is registered already")
    _TARGETS[target.name] = lambda: target
    return target


def _entry_point_targets() -> dict:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def target_names() -> list[str]:
    """Names of every known target: built-in, registered and from entry points."""
    return sorted(set(_TARGETS) | set(_entry_point_targets()))


def get_target(name: str) -> Target:
    """Return the target called ``name``.

    Third-party targets come from the entry-point group ``approx.targets``,
    whose objects are Target instances.

    Raises
    ------
    UnknownNameError
        If no target has that name.
    """
    if name in _TARGETS:
        return _TARGETS[name]()
    eps = _entry_point_targets()
    if name in eps:
        obj = eps[name].load()
        if not isinstance(obj, Target):
            raise UnknownNameError(f"entry point {name!r} in {ENTRY_POINT_GROUP} is not an approx.Target")
        return obj
    raise UnknownNameError(f"unknown function {name!r}; choose one of: {', '.join(target_names())}")


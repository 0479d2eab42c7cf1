"""Fit a polynomial to a target on [a, b] and certify its error.

:func:`fit` is the library form of ``approx fit``.  It maps [a, b] onto
t in [-1, 1], runs the chosen method on g(t) = f(x(t)), and reports for p
and p' the located sup norm, a certified bound (:mod:`approx.certify`) and the
RMS error.  On a symmetric interval a known symmetry of the target
(:class:`approx.targets.Symmetry`) is imposed exactly: the method fits
f - (offset + slope x), the coefficients of the wrong parity are set to 0,
and the linear part is added back.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import mpmath
import numpy as np
from numpy.polynomial import chebyshev as C

from approx import fixed_point
from approx.approximation import Approximation, ErrorFigures, FixedPoint
from approx.certify import certified_bound
from approx.domain import window_map
from approx.errors import FitError, UnknownNameError
from approx.evaluation import UNIT_ROUNDOFF, evaluation_floor, monomial_power_t, monomial_rounding_bound, round_up
from approx.exact_series import derivative, mp_horner
from approx.methods import METHODS
from approx.sup_norm import max_error as located_max_error, mp_error, rms_error, round_down
from approx.targets import Target, get_target

__all__ = ["fit", "default_name", "MAX_DEGREE", "METHODS"]

MAX_DEGREE = 31
MAX_FRAC_BITS = 62
# narrowest interval, relative to max(1, |a|, |b|): keeps (2 / (b - a))^31 and the monomial coefficients
# in x far from float64 overflow, and leaves 2^32 floats in [a, b]
MIN_RELATIVE_WIDTH = 2.0**-20


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def default_name(func: str, method: str, degree: int, interval, frac_bits: int | None = None) -> str:
    """Registry name such as ``sigmoid-chebyshev-3[-8,8]`` (``-q16`` appended for 16 fractional bits)."""
    a, b = interval
    name = f"{func}-{method}-{degree}[{_fmt(a)},{_fmt(b)}]"
    return name if frac_bits is None else f"{name}-q{frac_bits}"


def _check_interval(interval) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise FitError(f"interval must be two numbers A B, got {interval!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise FitError(f"interval [{a}, {b}] is not finite; give finite bounds A < B")
    if a >= b:
        raise FitError(f"interval [{a}, {b}] is empty; give bounds with A < B")
    if max(abs(a), abs(b)) > 1e3:
        raise FitError(f"interval [{a}, {b}] reaches beyond |x| = 1000, where the targets saturate; narrow it")
    if b - a < MIN_RELATIVE_WIDTH * max(1.0, abs(a), abs(b)):
        raise FitError(f"interval [{a:g}, {b:g}] is too narrow for float64 (width {b - a:.3g}; the monomial "
                       f"coefficients in x would overflow); give a width of at least "
                       f"{MIN_RELATIVE_WIDTH * max(1.0, abs(a), abs(b)):.3g}")
    return a, b


def _check_degree(degree) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or not 0 <= degree <= MAX_DEGREE:
        raise FitError(f"degree must be a whole number from 0 to {MAX_DEGREE}, got {degree!r}")
    return int(degree)


def _lsq_points(points, weights, a: float, b: float, degree: int):
    if points is None:
        if weights is not None:
            raise FitError("weights need points: give both")
        return None, None
    x = np.asarray(points, dtype=np.float64).ravel()
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise FitError("points must be a non-empty list of finite numbers")
    if x.min() < a or x.max() > b:
        raise FitError(f"points reach [{x.min()}, {x.max()}], outside the interval [{a}, {b}]; "
                       "widen the interval or drop those points")
    if np.unique(x).size < degree + 1:
        raise FitError(f"degree {degree} needs at least {degree + 1} distinct points, got {np.unique(x).size}")
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise FitError(f"weights must be {x.size} positive finite numbers, one per point")
    shift, scale = window_map(a, b)
    return shift + scale * x, w


@dataclasses.dataclass(frozen=True)
class _Fit:
    kind: str
    coef: np.ndarray
    reference: np.ndarray | None  # minimax reference points in t
    converged: bool | None = None  # minimax: equioscillation reached
    parity: str | None = None  # the parity the fit imposed ("odd", "even") or None


def _fit_degree(target: Target, method: str, degree: int, a: float, b: float, points, weights) -> _Fit:
    mid, half = window_map(a, b, inverse=True)
    sym = target.symmetry
    use_sym = sym is not None and a == -b and points is None and not (sym.slope != 0 and degree < 1)
    offset, slope = (sym.offset, sym.slope) if use_sym else (0.0, 0.0)

    def g(t):
        x = mid + half * t
        return target.np(x) - (offset + slope * x)

    module = METHODS[method]
    reference = converged = None
    if method == "minimax":
        coef, reference, converged = module.fit(g, degree, parity=sym.parity if use_sym else None)
    elif method == "lsq":
        coef = module.fit(g, degree, points=points, weights=weights)
    else:
        coef = module.fit(g, degree)
    coef = np.array(coef, dtype=np.float64)
    if use_sym:
        wrong = 0 if sym.parity == "odd" else 1
        coef[wrong::2] = 0.0
        coef[0] += offset
        if degree >= 1:
            coef[1] += slope * half
    return _Fit(module.KIND, coef, reference, converged, sym.parity if use_sym else None)


def _located(target: Target, np_poly, power: list[Fraction], a: float, b: float, degree: int) -> float:
    return located_max_error(target, np_poly, lambda t: mp_horner(power, t), a, b, degree)[0]


def _figures(target: Target, np_poly, power: list[Fraction], a: float, b: float, degree: int,
             monomial: np.ndarray | None = None, floor: float | None = None,
             located: float | None = None) -> ErrorFigures:
    """Located sup norm (unless already ``located``), certified bound and rms of f - p; with ``monomial``
    (float64 coefficients in x) also the certified bound of that form evaluated by Horner in float64."""
    if located is None:
        located = _located(target, np_poly, power, a, b, degree)
    cert = certified_bound(target, power, a, b)
    located = max(located, cert.lower)
    monomial_bound = None
    if monomial is not None:
        exact = certified_bound(target, monomial_power_t(monomial, a, b), a, b).bound
        monomial_bound = round_up(Fraction(exact) + Fraction(monomial_rounding_bound(monomial, a, b)))
    # the rms never exceeds the sup norm; its float64 quadrature can, when the error is down at
    # float64's rounding of f (e.g. 2e-17 for sigmoid degree 12 on [-6, -5])
    return ErrorFigures(max_error=located, error_bound=cert.bound,
                        rms_error=min(rms_error(target, np_poly, a, b), located),
                        monomial_error_bound=monomial_bound, evaluation_floor=floor)


def _dvp_lower_bound(target: Target, power: list[Fraction], a: float, b: float, reference: np.ndarray,
                     needed: int) -> float:
    """De la Vallee Poussin: min |e| on a reference of ``needed`` points where e alternates in sign, else 0."""
    if len(reference) < needed:
        return 0.0
    errs = mp_error(target, lambda t: mp_horner(power, t), a, b, reference)
    signs = [mpmath.sign(e) for e in errs]
    if any(s == 0 for s in signs) or any(s1 == s2 for s1, s2 in zip(signs, signs[1:])):
        return 0.0
    return round_down(min(abs(e) for e in errs))


def _skeleton(target: Target, method: str, degree: int, a: float, b: float, result: _Fit) -> Approximation:
    return Approximation(name="", func=target.name, method=method, degree=degree, domain=(a, b),
                         kind=result.kind, coef=result.coef, errors=ErrorFigures(0.0, 0.0, 0.0))


def _checked_minimax(target: Target, degree: int, a: float, b: float, result: _Fit) -> tuple[_Fit, float | None]:
    """The Remez result, or the Chebyshev interpolant where the exchange failed at float64's floor, with its
    located sup norm when the check had to locate it (None otherwise).

    Raises
    ------
    FitError
        If the exchange failed above the floor.
    """
    cheb = _fit_degree(target, "chebyshev", degree, a, b, None, None)
    if np.array_equal(cheb.coef, result.coef) and result.converged:
        return result, None
    ours, theirs = (_skeleton(target, "minimax", degree, a, b, r) for r in (result, cheb))
    ours_error = _located(target, ours.series_in_t(), ours.power_coef_t(), a, b, degree)
    cheb_error = _located(target, theirs.series_in_t(), theirs.power_coef_t(), a, b, degree)
    if ours_error <= cheb_error and not np.array_equal(cheb.coef, result.coef):
        return result, ours_error
    floor = evaluation_floor(theirs.power_coef_t(), a, b)
    if cheb_error > floor:
        raise FitError(f"minimax (Remez exchange) did not converge for {target.name} degree {degree} on "
                       f"[{a:g}, {b:g}]: no reference equioscillates and its error {ours_error:.3g} is not below "
                       f"the Chebyshev interpolant's {cheb_error:.3g}; use --method chebyshev")
    mid, half = window_map(a, b, inverse=True)
    reference = METHODS["minimax"].alternating_reference(lambda t: target.np(mid + half * t), cheb.coef)
    return dataclasses.replace(cheb, reference=reference, converged=False, parity=None), cheb_error


def _fixed_point(target: Target, power: list[Fraction], a: float, b: float, degree: int,
                 frac_bits: int) -> FixedPoint:
    """Nearest rounding and the lattice search's candidates, certified; the least bound is kept."""
    mid, half = window_map(a, b, inverse=True)
    candidates = {fixed_point.nearest(power, frac_bits): "nearest"}
    for ints in fixed_point.lattice_candidates(lambda t: target.np(mid + half * t), power, frac_bits):
        candidates.setdefault(ints, "lattice")
    best = None
    for ints, how in candidates.items():  # nearest first: a later candidate must be strictly better
        q_power = [Fraction(q, 2**frac_bits) for q in ints]
        cert = certified_bound(target, q_power, a, b)
        if best is None or cert.bound < best[0].bound:
            best = (cert, ints, how, q_power)
    cert, ints, how, q_power = best
    q_series = C.Chebyshev(C.poly2cheb(np.array([float(v) for v in q_power])))
    located = max(_located(target, q_series, q_power, a, b, degree), cert.lower)
    return FixedPoint(frac_bits, ints, located, cert.bound, how)


def _evaluate(target: Target, name: str | None, method: str, degree: int, a: float, b: float,
              result: _Fit, frac_bits: int | None) -> Approximation:
    located = None
    if method == "minimax":
        result, located = _checked_minimax(target, degree, a, b, result)
    approx = _skeleton(target, method, degree, a, b, result)
    in_t = approx.series_in_t()
    power = approx.power_coef_t()
    errors = _figures(target, in_t, power, a, b, degree, monomial=approx.coefficients,
                      floor=evaluation_floor(power, a, b), located=located)
    deriv_errors = None
    d_target = target.derivative
    if d_target is not None:
        scale = window_map(Fraction(a), Fraction(b))[1]  # dt/dx, exact
        d_power = [scale * v for v in derivative(power)]
        deriv_errors = _figures(d_target, in_t.deriv() * float(scale), d_power, a, b, max(degree - 1, 0),
                                monomial=approx.derivative_coefficients,
                                floor=evaluation_floor(power, a, b, derivative=True))
    lower = None
    if result.reference is not None:
        # the reference lies in [0, 1] for a parity fit: the error there is the same
        needed = len(METHODS["minimax"].basis_indices(degree, result.parity)) + 1
        lower = _dvp_lower_bound(target, power, a, b, result.reference, needed)
    fixed = None if frac_bits is None else _fixed_point(target, power, a, b, degree, frac_bits)
    return dataclasses.replace(
        approx, name=name or default_name(target.name, method, degree, (a, b), frac_bits),
        errors=errors, derivative_errors=deriv_errors, minimax_lower_bound=lower, fixed_point=fixed,
        minimax_converged=result.converged)


def fit(func: str | Target, degree: int | None = None, *, method: str = "chebyshev", interval=None,
        max_error: float | None = None, frac_bits: int | None = None, points=None, weights=None,
        name: str | None = None) -> Approximation:
    """Fit a polynomial to ``func`` on an interval and certify its error.

    Parameters
    ----------
    func : str or Target
        ``sigmoid``, ``tanh``, ``swish``, ``sigmoid_prime``, ``tanh_prime``,
        ``swish_prime`` or a registered / entry-point target.
    degree : int, optional
        0 to 31.  Exactly one of ``degree`` and ``max_error`` is given.
    method : {"chebyshev", "legendre", "lsq", "minimax"}
        Chebyshev interpolation (default), Legendre L2 projection, discrete
        least squares, or best uniform approximation (Remez).
    interval : (float, float), optional
        [a, b]; default the target's (sigmoid, swish: [-8, 8]; tanh: [-4, 4]).
    max_error : float, optional
        Fit the smallest degree whose certified error bound is at most this.
    frac_bits : int, optional
        Also round the power coefficients in t to multiples of 2^-frac_bits
        and certify the rounded polynomial (1 to 62).
    points, weights : array_like, shape (m,), optional
        For ``lsq``: sample points in x inside the interval, and positive weights.
    name : str, optional
        Registry name; default :func:`default_name`.

    Returns
    -------
    Approximation

    Raises
    ------
    UnknownNameError
        For an unknown function or method.
    FitError
        For a degree, interval, points, weights, frac_bits or max_error out of
        range, or a max_error no degree up to 31 reaches.
    """
    target = func if isinstance(func, Target) else get_target(func)
    if method not in METHODS:
        raise UnknownNameError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    a, b = _check_interval(target.default_interval if interval is None else interval)
    if (degree is None) == (max_error is None):
        raise FitError("give exactly one of degree and max_error")
    if frac_bits is not None and (isinstance(frac_bits, bool) or not isinstance(frac_bits, (int, np.integer))
                                  or not 1 <= frac_bits <= MAX_FRAC_BITS):
        raise FitError(f"frac_bits must be a whole number from 1 to {MAX_FRAC_BITS}, got {frac_bits!r}")
    if method != "lsq" and (points is not None or weights is not None):
        raise FitError("points and weights go with method lsq only")
    if degree is not None:
        degree = _check_degree(degree)
        points, weights = _lsq_points(points, weights, a, b, degree)
        return _evaluate(target, name, method, degree, a, b,
                         _fit_degree(target, method, degree, a, b, points, weights), frac_bits)
    return _fit_to_error(target, method, float(max_error), a, b, points, weights, frac_bits, name)


def _check_goal_above_floor(target: Target, goal: float, a: float, b: float) -> None:
    """Refuse, before any fit, a goal below the rounding of Horner's last step, 2u max |f|.

    Every polynomial of degree >= 1 evaluated in float64 has an evaluation floor of at least
    gamma_2 sum |b_k| >= 2u max |p|; only a constant (evaluated exactly) escapes it, so the check
    applies when no constant reaches the goal ((max f - min f) / 2 > goal on a grid).
    """
    fx = target.np(np.linspace(a, b, 1001))
    if (fx.max() - fx.min()) / 2 > goal:
        floor = 2 * float(UNIT_ROUNDOFF) * float(np.max(np.abs(fx)))
        if goal < floor:
            raise FitError(f"max error {goal:g} is below the float64 evaluation floor of {target.name} on "
                           f"[{a:g}, {b:g}] (at least {floor:.3g} for any polynomial of degree >= 1); "
                           f"ask for at least {floor:.3g}")


def _fit_to_error(target, method, goal, a, b, points, weights, frac_bits, name) -> Approximation:
    if not (math.isfinite(goal) and goal > 0):
        raise FitError(f"max_error must be a positive number, got {goal!r}")
    _check_goal_above_floor(target, goal, a, b)
    previous_lower = math.inf
    best = math.inf
    for degree in range(MAX_DEGREE + 1):
        pts, w = _lsq_points(points, weights, a, b, degree)
        result = _fit_degree(target, method, degree, a, b, pts, w)
        candidate = Approximation(name="", func=target.name, method=method, degree=degree, domain=(a, b),
                                  kind=result.kind, coef=result.coef, errors=ErrorFigures(0.0, 0.0, 0.0))
        power = candidate.power_coef_t()
        located, _ = located_max_error(target, candidate.series_in_t(),
                                       lambda t: mp_horner(power, t), a, b, degree)
        best = min(best, located)
        if located <= goal:
            floor = evaluation_floor(power, a, b)
            if goal < floor:
                raise FitError(f"max error {goal:g} is below the float64 evaluation floor {floor:.3g} of the "
                               f"degree-{degree} polynomial that reaches it on [{a:g}, {b:g}]: float64 evaluation "
                               f"cannot deliver it; ask for at least {floor:.3g}")
            approx = _evaluate(target, name, method, degree, a, b, result, frac_bits)
            if approx.errors.error_bound <= goal:
                proven = None if method != "minimax" else bool(degree == 0 or previous_lower > goal)
                return dataclasses.replace(approx, max_error_goal=goal, proven_minimal=proven)
        if result.reference is not None:
            needed = len(METHODS["minimax"].basis_indices(degree, result.parity)) + 1
            previous_lower = _dvp_lower_bound(target, power, a, b, result.reference, needed)
    raise FitError(f"no degree up to {MAX_DEGREE} reaches max error {goal:g} with method {method} on "
                   f"[{a:g}, {b:g}] (smallest error reached: {best:.3g}); raise the goal or narrow the interval")

"""Activations and their derivatives on shares, for training: p(z) and p'(z) from the same powers.

For a registry polynomial p(z) = sum_k a_k t^k with t = scale z + shift, the
derivative is p'(z) = scale sum_k k a_k t^(k-1) (seed-style: for a cubic
3 a3 z^2 + 2 a2 z + a1, here in the mapped variable t where the coefficients
stay O(1)).  Both are local linear combinations of the powers t^k, so the
forward pass computes the powers p needs and those p' needs together (a
degree-3 odd polynomial: t^2 and t^3, two rounds, the same as p alone).  The
slope is either computed (one more truncation, no round) or kept as its
terms over the powers (:class:`SlopeTerms`): a product d p'(z) is then
sum_k c_k (d t^k), Beaver products that reuse the openings of the powers, so
that back-propagation opens d and never the slope.  ``square`` (z^2, the
design's ReLU replacement) has slope 2 z; ``identity`` has slope 1.

Each pair's powers are its own tensors (not one concatenation), so that
another tensor of the pre-activations' shape can be multiplied by them; the
products of one level of all pairs still share one round.

Pre-activations are checked against each polynomial's interval with the
public bounds the tensors carry (:class:`mpc.training.precision.PublicBounds`)
before the polynomial is evaluated.  Inside the interval |t| <= 1, so the
powers are bounded by 1 and p and p' by their ranges over t in [-1, 1]
(:func:`mpc.polynomial.power_range`); as in secure inference
(``inside=True`` of :func:`mpc.polynomial.evaluate_many`) the fixed-point
error is assumed below ``ASSUMED_ERROR`` there, because the worst-case error
propagated through a recurrence grows without bound while the measured one
stays near 2^-f.
"""

from __future__ import annotations

import numpy as np

from approx.activations import PolynomialActivation
from approx.errors import ApproxError
from mpc.polynomial import ASSUMED_ERROR, power_plan, power_range
from mpc.tensor import SharedTensor, mul_public_many
from mpc.training.rounds import times_integer
from mpc.truncation import truncate

__all__ = ["activate", "check_trainable", "SlopeTerms", "truncated"]

ELEMENTARY = ("square", "identity")


def check_trainable(activation, role: str) -> None:
    """Refuse an activation that secret sharing cannot train with.

    Raises
    ------
    ApproxError
        If it is neither a registry polynomial nor ``square`` / ``identity``.
    """
    if not (isinstance(activation, PolynomialActivation) or activation.name in ELEMENTARY):
        raise ApproxError(f"the {role} activation is {activation.name}, which secret sharing cannot evaluate with "
                          f"+ and x only; use square, identity or a registry polynomial "
                          f"(approx fit --func {'tanh' if 'cell' in role else 'sigmoid'} --degree 3)")


def _slope_coef(act: PolynomialActivation) -> np.ndarray:
    """Power coefficients in t of p'(z) = scale sum k a_k t^(k-1)."""
    a = act.power_coef
    return a[1:] * np.arange(1, a.size) * act.scale


def _linear(terms: list, bound: float | None):
    """Shares of sum_k c_k u_k (before truncation by 2^f), with magnitude and error bounds.

    ``terms`` are (public float c_k, SharedTensor u_k) of one shape; ``bound``, if
    given, bounds the exact value (then the magnitude is at most it plus the error,
    the error taken at most ``ASSUMED_ERROR`` as for the powers).
    """
    session = terms[0][1].session
    total = np.zeros_like(terms[0][1].shares)
    magnitude = error = 0.0
    for c, u in terms:
        if c == 0:
            continue
        ring = session.encoder.encode(c)
        c = abs(float(session.encoder.decode(ring)))
        total += u.shares * ring
        magnitude += c * u.magnitude
        error += c * u.error + (u.magnitude + u.error) * session.ulp / 2
    if bound is not None:
        magnitude = min(magnitude, bound + min(error, ASSUMED_ERROR))
    return total, magnitude, error


def truncated(items: list) -> list:
    """SharedTensors from (terms, bound, constant, depth, total) items: one truncation for all, then + constant.

    ``bound`` bounds the exact sum of the terms and ``total`` (or None) the exact sum plus the constant,
    each up to the fixed-point error (taken at most ``ASSUMED_ERROR``).
    """
    parts = [_linear(terms, bound) for terms, bound, _, _, _ in items]
    session = items[0][0][0][1].session
    out = []
    depth = max(item[3] for item in items)
    for shares, (_, magnitude, error), (_, _, constant, depth, total) in zip(
            truncate(session, [p[0] for p in parts], [p[1] for p in parts], depth), parts, items):
        value = SharedTensor(session, shares, magnitude + session.ulp, error + session.ulp,
                             depth + session.truncation_depth)
        value = value + float(constant) if constant else value
        if total is not None:
            value.magnitude = min(value.magnitude, total + min(value.error, ASSUMED_ERROR))
        out.append(value)
    return out


class SlopeTerms:
    """f'(z) kept as c_0 + sum_k c_k u_k over tensors the forward pass opened (u_k = t^k, or z for square).

    Multiplying a tensor d by it then opens d only: d f'(z) = c_0 d + sum_k c_k (d u_k),
    each d u_k a Beaver product that reuses u_k's opening, instead of opening a
    fresh slope tensor too (one element per pre-activation saved).

    Parameters
    ----------
    constant : float
    terms : list of (float, SharedTensor)
        Coefficients and opened tensors, of the pre-activations' shape.
    bound : float
        A bound on |f'(z)| over the interval.
    """

    def __init__(self, constant: float, terms: list, bound: float):
        self.constant, self.terms, self.bound = constant, terms, bound

    def requests(self, d: SharedTensor) -> list:
        """The products d u_k to compute (in any round)."""
        return [("mul", d, u) for _, u in self.terms]

    def combine(self, d: SharedTensor, products: list) -> SharedTensor:
        """d f'(z) from d and the products of :meth:`requests` (local, one truncation)."""
        return truncated([self.item(d, products)])[0]

    def item(self, d: SharedTensor, products: list) -> tuple:
        """What :meth:`combine` truncates, for :func:`truncated` to truncate with others at once."""
        terms = [(self.constant, d)] + [(c, p) for (c, _), p in zip(self.terms, products)]
        depth = max([d.depth] + [p.depth for p in products])
        return terms, self.bound * d.magnitude, 0.0, depth, None

    def times(self, d: SharedTensor):
        """Round program: d f'(z) (one round)."""
        products = yield self.requests(d)
        return self.combine(d, products)


def activate(pairs: list, bounds, slope_terms: bool = False):
    """Round program: (f(z), f'(z)) for each (z, activation, label).

    Parameters
    ----------
    pairs : list of (SharedTensor, approx.Activation, str)
        Pre-activations, their activation (polynomial, ``square`` or
        ``identity``) and a label for error messages (e.g. ``layer0``).
    bounds : mpc.training.precision.PublicBounds
        Checks each polynomial's pre-activation bound against its interval;
        when it passes (or is allowed through) |t| <= 1 bounds the powers.
    slope_terms : bool
        Return each slope as :class:`SlopeTerms` over the opened powers instead of a tensor.

    Returns
    -------
    list of (SharedTensor, SharedTensor or SlopeTerms or None)
        Output and slope of each pair, shaped as its z; slope None means 1 (identity).

    Raises
    ------
    ApproxError
        For an activation that is not trainable on shares (:func:`check_trainable`).
    mpc.training.precision.PreactivationRangeError
        If a bound exceeds an interval and the check does not allow it.
    """
    out: list = [None] * len(pairs)
    powers: dict = {}  # pair index -> {k: t^k}
    plans: dict = {}
    polynomials = []
    for n, (z, act, label) in enumerate(pairs):
        check_trainable(act, label)
        if isinstance(act, PolynomialActivation):
            bounds.check_range(label, z, act)
            polynomials.append(n)
    # t = scale z + shift of every polynomial with one truncation (one round in dealer mode)
    scaled = dict(zip(polynomials, mul_public_many([(pairs[n][0], pairs[n][1].scale) for n in polynomials])
                      if polynomials else []))
    for n, (z, act, label) in enumerate(pairs):
        if isinstance(act, PolynomialActivation):
            t = scaled[n]
            t = t + act.shift if act.shift else t
            t.magnitude = min(t.magnitude, 1.0 + min(t.error, ASSUMED_ERROR))  # z inside [a, b]: |t| <= 1
            coef = act.power_coef
            needed = {k for k in range(2, coef.size) if coef[k]} | {k - 1 for k in range(3, coef.size) if coef[k]}
            powers[n], plans[n] = {1: t}, power_plan(needed)
            out[n] = (None, None)
        elif act.name != "square":
            out[n] = (z, None)
    squares = [n for n, (_, act, _) in enumerate(pairs) if act.name == "square"]
    for depth in range(max([len(plan) for plan in plans.values()] + [1 if squares else 0])):
        asked = [(n, k, i, j) for n, plan in plans.items() if depth < len(plan) for k, i, j in plan[depth]]
        first = [("mul", pairs[n][0], pairs[n][0]) for n in squares] if depth == 0 else []
        products = yield [("mul", powers[n][i], powers[n][j]) for n, _, i, j in asked] + first
        for (n, k, _, _), value in zip(asked, products):
            powers[n][k] = value
        for n, value in zip(squares if depth == 0 else [], products[len(asked):]):
            z = pairs[n][0]
            out[n] = (value, SlopeTerms(0.0, [(2.0, z)], 2 * z.magnitude) if slope_terms else times_integer(z, 2))
    items, where = [], []
    for n, p in powers.items():
        act = pairs[n][1]
        slope = _slope_coef(act)
        depth = max(v.depth for v in p.values())
        # |t| <= 1: p and p' within their ranges over [-1, 1], their parts without the constant within theirs
        coef = act.power_coef
        items.append(([(c, p[k]) for k, c in enumerate(coef) if k and c] or [(0.0, p[1])],
                      power_range(np.concatenate([[0.0], coef[1:]])), coef[0], depth, power_range(coef)))
        where.append((n, "value"))
        if slope_terms:
            out[n] = (None, SlopeTerms(float(slope[0]), [(float(c), p[k]) for k, c in enumerate(slope) if k and c],
                                       power_range(slope)))
        else:
            items.append(([(c, p[k]) for k, c in enumerate(slope) if k and c] or [(0.0, p[1])],
                          power_range(np.concatenate([[0.0], slope[1:]])), slope[0], depth, power_range(slope)))
            where.append((n, "slope"))
    values = truncated(items) if items else []
    for (n, kind), value in zip(where, values):
        out[n] = (value, out[n][1]) if kind == "value" else (out[n][0], value)
    return out

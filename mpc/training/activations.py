"""Activations and their derivatives on shares, for training: p(z) and p'(z) from the same powers.

For a registry polynomial p(z) = sum_k a_k t^k with t = scale z + shift, the
derivative is p'(z) = scale sum_k k a_k t^(k-1) (seed-style: for a cubic
3 a3 z^2 + 2 a2 z + a1, here in the mapped variable t where the coefficients
stay O(1)).  Both are local linear combinations of the powers t^k, so the
forward pass computes the powers p needs and those p' needs together (a
degree-3 odd polynomial: t^2 and t^3, two rounds, the same as p alone) and the
slope costs one more truncation and no round.  ``square`` (z^2, the design's
ReLU replacement) has slope 2 z (local); ``identity`` has slope 1.

Pre-activations are checked against each polynomial's interval with the
public bounds the tensors carry (:class:`mpc.training.precision.PublicBounds`)
before the polynomial is evaluated.  Inside the interval |t| <= 1, so the
powers and p are bounded by the coefficients; as in secure inference
(``inside=True`` of :func:`mpc.polynomial.evaluate_many`) the fixed-point
error is assumed below ``ASSUMED_ERROR`` there, because the worst-case error
propagated through a recurrence grows without bound while the measured one
stays near 2^-f.
"""

from __future__ import annotations

import numpy as np

from approx.activations import PolynomialActivation
from approx.errors import ApproxError
from mpc.polynomial import ASSUMED_ERROR, power_plan
from mpc.tensor import SharedTensor, concatenate
from mpc.training.rounds import times_integer
from mpc.truncation import truncate

__all__ = ["activate", "check_trainable", "SlopeTerms"]

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


def _combine(powers: dict, lo: int, hi: int, coef: np.ndarray, inside_bound: float | None):
    """Shares of sum_(k>=1) coef_k t^k over columns lo:hi (before truncation), magnitude and error bounds."""
    session = powers[1].session
    total = np.zeros((powers[1].shares.shape[0], hi - lo), dtype=np.uint64)
    magnitude = error = 0.0
    for k in range(1, coef.size):
        if coef[k] == 0:
            continue
        ring = session.encoder.encode(coef[k])
        c = abs(float(session.encoder.decode(ring)))
        total += powers[k].shares[:, lo:hi] * ring
        magnitude += c * powers[k].magnitude
        error += c * powers[k].error + (powers[k].magnitude + powers[k].error) * session.ulp / 2
    if inside_bound is not None:
        magnitude = min(magnitude, inside_bound + min(error, ASSUMED_ERROR))
    return total, magnitude, error


class SlopeTerms:
    """f'(z) kept as c_0 + sum_k c_k u_k over tensors the forward pass opened (u_k = t^k, or z for square).

    Multiplying a gradient d by it then opens d only: d f'(z) = c_0 d + sum_k c_k (d u_k),
    each d u_k a Beaver product that reuses u_k's opening, instead of opening a
    fresh slope tensor too (one element per pre-activation saved).

    Parameters
    ----------
    constant : float
    terms : list of (float, SharedTensor)
        Coefficients and opened tensors, flattened like ``shape``.
    shape : tuple
        The pre-activations' shape.
    bound : float
        A bound on |f'(z)| over the interval.
    """

    def __init__(self, constant: float, terms: list, shape: tuple, bound: float):
        self.constant, self.terms, self.shape, self.bound = constant, terms, shape, bound

    def times(self, d: SharedTensor):
        """Round program: d f'(z) (one round), shaped as d."""
        like = self.terms[0][1].shape if self.terms else d.shape
        flat = d if d.shape == like else d.reshape(like)
        products = yield [("mul", flat, u) for _, u in self.terms]
        session = d.session
        total = np.zeros_like(flat.shares)
        magnitude = error = 0.0
        for c, value in [(self.constant, flat)] + [(c, p) for (c, _), p in zip(self.terms, products)]:
            if c == 0:
                continue
            ring = session.encoder.encode(c)
            c = abs(float(session.encoder.decode(ring)))
            total += value.shares * ring
            magnitude += c * value.magnitude
            error += c * value.error + (value.magnitude + value.error) * session.ulp / 2
        magnitude = min(magnitude, self.bound * d.magnitude + error)
        (shares,) = truncate(session, [total], [magnitude])
        return SharedTensor(session, shares.reshape(shares.shape[:1] + d.shape), magnitude + session.ulp,
                            error + session.ulp, max(p.depth for p in products))


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
        Return each slope as :class:`SlopeTerms` over the opened powers
        instead of a tensor (one pair only: the powers of several pairs are
        concatenated).

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
    polys, ts, squares = [], [], []
    for n, (z, act, label) in enumerate(pairs):
        check_trainable(act, label)
        if isinstance(act, PolynomialActivation):
            bounds.check_range(label, z, act)
            t = z.mul_public(act.scale)
            t = t + act.shift if act.shift else t
            t.magnitude = min(t.magnitude, 1.0 + min(t.error, ASSUMED_ERROR))  # z inside [a, b]: |t| <= 1
            polys.append(n)
            ts.append(t.reshape((-1,)))
        elif act.name == "square":
            squares.append(n)
        else:
            out[n] = (z, None)
    first = [("mul", pairs[n][0], pairs[n][0]) for n in squares]
    powers: dict = {}
    needed: set = set()
    if polys:
        powers[1] = concatenate(ts) if len(ts) > 1 else ts[0]
        for n in polys:
            coef = pairs[n][1].power_coef
            needed |= {k for k in range(2, coef.size) if coef[k]} | {k - 1 for k in range(3, coef.size) if coef[k]}
    levels = power_plan(needed)
    for depth, level in enumerate(levels or [[]]):
        requests = [("mul", powers[i], powers[j]) for _, i, j in level] + (first if depth == 0 else [])
        if not requests:
            break
        products = yield requests
        powers.update({k: p for (k, _, _), p in zip(level, products)})
        if depth == 0:
            for n, value in zip(squares, products[len(level):]):
                z = pairs[n][0]
                out[n] = (value, SlopeTerms(0.0, [(2.0, z)], z.shape, 2 * z.magnitude) if slope_terms
                          else times_integer(z, 2))
    if not polys:
        return out
    if slope_terms:
        if len(polys) > 1:
            raise ValueError("slope_terms takes one polynomial pair: the powers of several are concatenated")
        n, act = polys[0], pairs[polys[0]][1]
        slope = _slope_coef(act)
        out[n] = (None, SlopeTerms(float(slope[0]), [(float(slope[k]), powers[k]) for k in range(1, slope.size)
                                                     if slope[k]], pairs[n][0].shape, float(np.sum(np.abs(slope)))))
    session = powers[1].session
    offsets = np.concatenate([[0], np.cumsum([t.shape[0] for t in ts])])
    totals, bounds = [], []
    kinds = 1 if slope_terms else 2  # the value, and the slope unless it stays in terms of the powers
    for n, lo, hi in zip(polys, offsets[:-1], offsets[1:]):
        act = pairs[n][1]
        slope = _slope_coef(act)
        value_bound = float(np.sum(np.abs(act.approximation.coef)))  # |T_k|, |P_k| <= 1 on [-1, 1]
        for coef, bound, constant in ((act.power_coef, value_bound, act.power_coef[0]),
                                      (np.concatenate([[0.0], slope[1:]]), float(np.sum(np.abs(slope))),
                                       slope[0]))[:kinds]:
            total, magnitude, error = _combine(powers, lo, hi, coef, bound)
            totals.append(total)
            bounds.append((magnitude, error, constant))
    depth = max(p.depth for p in powers.values())
    shares = truncate(session, totals, [b[0] for b in bounds])
    for m, n in enumerate(polys):
        z = pairs[n][0]
        pair = []
        for total, (magnitude, error, constant) in zip(shares[kinds * m:kinds * (m + 1)],
                                                       bounds[kinds * m:kinds * (m + 1)]):
            value = SharedTensor(session, total.reshape(total.shape[:1] + z.shape), magnitude + session.ulp,
                                 error + session.ulp, depth)
            pair.append(value + float(constant) if constant else value)
        out[n] = (pair[0], pair[1] if kinds == 2 else out[n][1])
    return out

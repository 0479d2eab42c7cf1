"""Registry polynomials evaluated on secret shares with the least multiplicative depth.

A :class:`approx.PolynomialActivation` p(x) = sum_k a_k t^k with
t = scale x + shift in [-1, 1] on its interval is evaluated in t, where
coefficients and powers stay O(1) in fixed point (raw monomial coefficients of
degree 7 and up do not survive 16 fractional bits):

1. t from x with one public multiplication and addition (local);
2. the powers t^k that have a non-zero coefficient, by a power tree:
   t^k = t^(2^m) t^(k - 2^m) with 2^m the largest power of two below k, so
   t^k has depth ceil(log2 k), and every product of one depth is computed in
   one round, each power masked and opened once however many products it
   enters (:func:`mpc.beaver.compute`).  Odd polynomials (sigmoid -
   1/2, tanh) need only odd powers: degree 3 in 2 rounds, degree 7 in 3;
3. sum_k a_k t^k as local products with the encoded coefficients and one truncation.

The result carries a rigorous bound on |secure - p(x)| (``SharedTensor.error``),
which added to the approximation's certified bound gives an end-to-end bound
against the true sigmoid or tanh.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from approx.activations import PolynomialActivation
from approx.errors import ApproxError
from approx.interval import Interval
from mpc.beaver import compute
from mpc.encoder import EncodingError
from mpc.tensor import SharedTensor, concatenate, mul_public_many
from mpc.truncation import truncate

__all__ = ["evaluate", "evaluate_many", "power_plan", "power_range", "ASSUMED_ERROR"]

ASSUMED_ERROR = 2.0**-10  # fixed-point error assumed by evaluate_many(inside=True)
RANGE_PIECES = 1024  # sub-intervals of [-1, 1] over which power_range encloses a polynomial


def power_range(coef) -> float:
    """A rigorous bound on max |sum_k coef[k] t^k| over t in [-1, 1].

    Horner's scheme in outward-rounded interval arithmetic (:mod:`approx.interval`) on
    ``RANGE_PIECES`` sub-intervals of [-1, 1]; each piece's enclosure contains the polynomial's
    values there, so the largest end bounds it everywhere.  For a fitted polynomial this is about
    max |f| on its interval plus its error (tight to about 1/RANGE_PIECES of its slope), where the
    sum of the absolute coefficients can be several times more.
    """
    return _power_range(tuple(float(c) for c in np.asarray(coef, dtype=np.float64)))


@functools.lru_cache(maxsize=256)
def _power_range(coef: tuple) -> float:
    ends = np.linspace(-1.0, 1.0, RANGE_PIECES + 1)
    t = Interval(ends[:-1], ends[1:])
    value = Interval(np.full(RANGE_PIECES, coef[-1]))
    for c in coef[-2::-1]:
        value = value * t + c
    return float(np.max(value.mag()))


def power_plan(powers: set[int]) -> list[list[tuple[int, int, int]]]:
    """Products (k, i, j) with t^k = t^i t^j, grouped by depth, that yield every power in ``powers``.

    Returns
    -------
    list of levels; level d holds the products of depth d + 1.
    """
    needed, stack = set(), [k for k in powers if k >= 2]
    while stack:
        k = stack.pop()
        if k in needed or k < 2:
            continue
        needed.add(k)
        high = 1 << (k.bit_length() - 1)
        high = high // 2 if high == k else high
        stack += [high, k - high]
    levels: dict[int, list] = {}
    for k in sorted(needed):
        high = 1 << (k.bit_length() - 1)
        high = high // 2 if high == k else high
        levels.setdefault(math.ceil(math.log2(k)), []).append((k, high, k - high))
    return [levels[d] for d in sorted(levels)]


def evaluate(x: SharedTensor, activation: PolynomialActivation) -> SharedTensor:
    """p(x) on shares.

    Parameters
    ----------
    x : SharedTensor
        Its ``magnitude`` must bound |x| inside the activation's interval.
    activation : PolynomialActivation

    Returns
    -------
    SharedTensor
        ``error`` bounds |result - p(x)| for x in the interval.

    Raises
    ------
    ApproxError
        If the activation is not a polynomial.
    """
    return evaluate_many([(x, activation)])[0]


def _check_inside(pairs: list) -> None:
    """Refuse (or record) inputs whose public magnitude bound reaches outside their polynomial's interval."""
    for x, activation in pairs:
        lo, hi = activation.interval
        if -x.magnitude >= lo and x.magnitude <= hi:
            continue
        session = x.session
        name = activation.name
        session.out_of_range[name] = max(session.out_of_range.get(name, 0.0), x.magnitude)
        if not session.allow_out_of_range:
            raise EncodingError(f"the public bounds let the input of {name} reach +-{x.magnitude:.3g}, outside its "
                                f"interval [{lo:g}, {hi:g}] where the polynomial approximates and its bounds hold; "
                                "fit it on a wider interval, publish tighter bounds, or accept the risk with "
                                "--allow-out-of-range")


def evaluate_many(pairs: list, inside: bool = False) -> list:
    """Several polynomials, each on its own tensor, with their powers computed together.

    The powers of all the tensors' t are computed on one flat tensor, so the
    whole evaluation takes as many rounds as the deepest power tree (e.g. an
    LSTM's sigmoid gates and tanh candidate of a time step, and those of
    another layer, in 2 rounds for degree 3).

    Parameters
    ----------
    pairs : list of (SharedTensor, PolynomialActivation)
    inside : bool
        The caller vouches that every x lies in its activation's interval
        (e.g. as a network's domain monitor reports), and that the fixed-point
        values stay within ``ASSUMED_ERROR`` of the exact ones (as measured):
        then |t| <= 1 + 2^-10 and |p| <= max |p| on the interval + 2^-10
        (:func:`power_range`) bound the magnitudes, instead of worst-case
        propagation, which explodes in a recurrent circuit (the magnitudes feed
        the truncation-failure bound and the overflow check).

    Returns
    -------
    list of SharedTensor, p(x) for each pair, shaped as its x

    Raises
    ------
    ApproxError
        If an activation is not a polynomial.
    EncodingError
        With ``inside``, if a tensor's public bound allows values outside its interval, unless the
        session allows it (``allow_out_of_range``: then recorded in ``session.out_of_range``).
    """
    for _, activation in pairs:
        if not isinstance(activation, PolynomialActivation):
            raise ApproxError(f"{activation.name} is not a polynomial: fit one with approx fit "
                              f"(e.g. approx fit --func sigmoid --degree 3) and use its registry name")
    if inside:
        _check_inside(pairs)
    ts = []
    # t = scale x + shift for every pair with one truncation (one round in dealer mode)
    for (x, activation), t in zip(pairs, mul_public_many([(x, a.scale) for x, a in pairs])):
        t = (t + activation.shift if activation.shift else t).reshape((-1,))
        if inside:  # |t| <= 1 exactly, and the fixed-point t within an ulp-sized error of it
            t.magnitude = min(t.magnitude, 1.0 + min(t.error, ASSUMED_ERROR))
        ts.append(t)
    sizes = [t.shape[0] for t in ts]
    powers = {1: concatenate(ts) if len(ts) > 1 else ts[0]}
    needed = {k for _, a in pairs for k in range(2, a.power_coef.size) if a.power_coef[k] != 0}
    for level in power_plan(needed):
        # one round for the whole level; a power opened in an earlier level is not opened again
        products = compute([("mul", powers[i], powers[j]) for _, i, j in level])
        powers.update({k: product for (k, _, _), product in zip(level, products)})
    session = powers[1].session
    totals, bounds, offsets = [], [], np.concatenate([[0], np.cumsum(sizes)])
    for (x, activation), lo, hi in zip(pairs, offsets[:-1], offsets[1:]):
        coef = activation.power_coef
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
        if inside:  # the range of p - a_0 over t in [-1, 1] bounds the sum, up to its fixed-point error
            magnitude = min(magnitude, power_range(np.concatenate([[0.0], coef[1:]])) + min(error, ASSUMED_ERROR))
        totals.append(total)
        bounds.append((magnitude, error))
    depth = max(p.depth for p in powers.values())
    out = []
    truncated = truncate(session, totals, [b[0] for b in bounds], depth)
    for (x, activation), shares, (magnitude, error) in zip(pairs, truncated, bounds):
        result = SharedTensor(session, shares.reshape(shares.shape[:1] + x.shape), magnitude + session.ulp,
                              error + session.ulp, depth + session.truncation_depth)
        result = result + activation.power_coef[0] if activation.power_coef[0] else result
        if inside:  # and p's own range bounds p, not the sum's bound plus |a_0|
            result.magnitude = min(result.magnitude,
                                   power_range(activation.power_coef) + min(result.error, ASSUMED_ERROR))
        out.append(result)
    return out

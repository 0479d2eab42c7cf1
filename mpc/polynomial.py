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

import math

import numpy as np

from approx.activations import PolynomialActivation
from approx.errors import ApproxError
from mpc.beaver import compute
from mpc.tensor import SharedTensor
from mpc.truncation import truncate

__all__ = ["evaluate", "power_plan"]


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
    if not isinstance(activation, PolynomialActivation):
        raise ApproxError(f"{activation.name} is not a polynomial: fit one with approx fit "
                          f"(e.g. approx fit --func sigmoid --degree 3) and use its registry name")
    coef = activation.power_coef
    t = x.mul_public(activation.scale)
    if activation.shift:
        t = t + activation.shift
    powers = {1: t}
    for level in power_plan({k for k in range(2, coef.size) if coef[k] != 0}):
        # one round for the whole level; a power opened in an earlier level is not opened again
        products = compute([("mul", powers[i], powers[j]) for _, i, j in level])
        powers.update({k: product for (k, _, _), product in zip(level, products)})
    session = x.session
    total = np.zeros_like(t.shares)
    magnitude = error = 0.0
    for k in range(1, coef.size):
        if coef[k] == 0:
            continue
        ring = session.encoder.encode(coef[k])
        c = abs(float(session.encoder.decode(ring)))
        total += powers[k].shares * ring
        magnitude += c * powers[k].magnitude
        error += c * powers[k].error + (powers[k].magnitude + powers[k].error) * session.ulp / 2
    (shares,) = truncate(session, [total], [magnitude])
    result = SharedTensor(session, shares, magnitude + session.ulp, error + session.ulp,
                          max(p.depth for p in powers.values()))
    return result + coef[0] if coef[0] else result

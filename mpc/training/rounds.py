"""Round programs: circuits written as generators that yield the products of one round.

A round program is a generator that yields a list of product requests
``(op, x, y)`` (as :func:`mpc.beaver.compute` takes them) and receives their
results; its return value is its output.  :func:`drive` runs several programs
side by side and sends the requests of all of them to one ``compute`` call,
so that independent circuits -- two LSTM layers one time step apart, a
layer's forward pass and the products its backward pass will need -- share
their rounds, as the hand-merged schedule of secure inference in
:mod:`mpc.forecaster` does.

Also the local (communication-free) helpers the training layers need.
"""

from __future__ import annotations

import math

import numpy as np

from mpc.beaver import compute
from mpc.tensor import SharedTensor, mul_public_many

__all__ = ["drive", "run", "sum_rows", "times_integer", "scale", "scale_many"]


def drive(*programs) -> list:
    """Run round programs together, one ``compute`` call (at most one round) per step.

    Parameters
    ----------
    *programs : generator
        Each yields lists of ``(op, x, y)`` requests (an empty list: nothing
        this round, e.g. while waiting for another program's output) and
        receives the list of their products.

    Returns
    -------
    list
        The programs' return values, in order.
    """
    results: list = [None] * len(programs)
    replies: list = [None] * len(programs)
    live = list(range(len(programs)))
    while live:
        asked = []
        for k in list(live):
            try:
                asked.append((k, programs[k].send(replies[k])))
            except StopIteration as stop:
                results[k] = stop.value
                live.remove(k)
        flat = [request for _, requests in asked for request in requests]
        products = compute(flat) if flat else []
        start = 0
        for k, requests in asked:
            replies[k] = products[start:start + len(requests)]
            start += len(requests)
    return results


def run(program):
    """The return value of one round program (see :func:`drive`)."""
    return drive(program)[0]


def sum_rows(x: SharedTensor, axes: int = 1) -> SharedTensor:
    """Sum over the first ``axes`` value axes (local): a bias gradient from per-sample deltas."""
    count = int(np.prod(x.shape[:axes], dtype=np.int64))
    shares = x.shares.sum(axis=tuple(range(1, axes + 1)), dtype=np.uint64)
    return SharedTensor(x.session, shares, count * x.magnitude, count * x.error, x.depth)


def times_integer(x: SharedTensor, k: int) -> SharedTensor:
    """k x for a public integer k (local and exact: no truncation), e.g. the slope 2 z of z^2."""
    return SharedTensor(x.session, x.shares * np.uint64(k % 2**64), abs(k) * x.magnitude, abs(k) * x.error, x.depth)


def scale(x: SharedTensor, c: float) -> SharedTensor:
    """c x for a public real c > 0 with c's relative precision kept.

    ``mul_public`` encodes c with f fractional bits, which leaves a learning
    rate divided by a batch size (1e-3 and below) with few significant bits.
    Here c = (c 2^k) 2^-k with c 2^k in [1/2, 1): two public products, each
    truncated, the first with 2^-(f+1) relative precision, the second exact.

    Raises
    ------
    ValueError
        If c is not positive and finite.
    """
    return scale_many([(x, c)])[0]


def scale_many(pairs: list) -> list:
    """:func:`scale` of several (tensor, c) pairs, their truncations together (two rounds in dealer mode).

    Raises
    ------
    ValueError
        If a c is not positive and finite.
    """
    ks = []
    for x, c in pairs:
        if not (math.isfinite(c) and c > 0):
            raise ValueError(f"scale takes a positive finite constant, got {c}")
        ks.append(min(max(0, -math.frexp(c)[1]), x.session.encoder.frac_bits))
    out = mul_public_many([(x, c * 2.0**k) for (x, c), k in zip(pairs, ks)])
    shifted = [n for n, k in enumerate(ks) if k]
    for n, value in zip(shifted, mul_public_many([(out[n], 2.0**-ks[n]) for n in shifted]) if shifted else []):
        out[n] = value
    return out

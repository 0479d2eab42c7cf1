"""Truncation after fixed-point products: shares of x 2^2f back to x 2^f, refused where it could go wrong.

Every product is checked first: |x| 2^2f must stay below 2^62 (else its
encoding wraps and decodes to garbage), in every mode and for any number of
parties.  Two protocols, chosen per session (``Session.in_process(..., truncation=...)``):

* ``"local"`` (2 parties only; their default): SecureML's local truncation
  (Mohassel & Zhang 2017, Theorem 1): party 0 shifts its share, party 1 shifts
  the negation of its share.  No communication; exact up to one unit in the
  last place, except with probability at most |x| 2^2f / 2^63 per element,
  which is added up in ``Session.truncation_failure_bound`` (2^-31 per element
  at f = 16, |x| <= 1).  A gate that would take the bound of the run past
  ``Session.failure_budget`` is refused before it runs; the commands plan a
  whole run against their budget before it starts (:mod:`mpc.planning`).
* ``"dealer"`` (any number of parties; the only mode for n > 2): the dealer's
  triple ([r], [(r mod 2^63) >> f], [r >> 63]) with r uniform in Z_2^64
  (probabilistic truncation in Z_2^k of Escudero, Ghosh, Keller, Rachuri &
  Scholl, "Improved primitives for MPC over mixed arithmetic-binary circuits",
  CRYPTO 2020): open c = x + 2^62 + r, which is uniform whatever x is (perfect
  hiding: no statistical security parameter, where masking with r < 2^63 would
  give only 63 - 47 = 16 bits, and MP-SPDZ's default is 40); with
  x' = x + 2^62 in [0, 2^63), the carry into bit 63 is w = c_63 XOR r_63,
  linear in [r >> 63] because c is public, and
  x' >> f = (c mod 2^63) >> f - [(r mod 2^63) >> f] + w 2^(63 - f), exact up to
  one unit.  It never fails (its failure bound is 0), at one opening of every
  truncated element (8 (n - 1) bytes per element per party) and one round for
  every product truncated together, which the floor (``Session.costs``: ``floor_bytes``,
  ``floor_rounds``) counts.
"""

from __future__ import annotations

import math

import numpy as np

from mpc.encoder import EncodingError

__all__ = ["truncate", "resolve_mode", "RingOverflowError", "OFFSET_BITS", "FAILURE_BUDGET", "MODES"]

OFFSET_BITS = 62
FAILURE_BUDGET = 2.0**-20
_LOW = np.uint64((1 << 63) - 1)
MODES = ("local", "dealer")


class RingOverflowError(EncodingError):
    """A product that can reach 2^62 in the ring at these fractional bits (it would decode to garbage)."""


def resolve_mode(mode: str | None, parties: int) -> str:
    """The truncation protocol of a session: ``mode``, or by default ``"local"`` for 2 parties, ``"dealer"`` above.

    Raises
    ------
    ValueError
        For an unknown mode, or ``"local"`` with more than 2 parties (it is a 2-party protocol).
    """
    if mode is None:
        return "local" if parties == 2 else "dealer"
    if mode not in MODES:
        raise ValueError(f"unknown truncation {mode!r}: choose {' or '.join(MODES)}")
    if mode == "local" and parties != 2:
        raise ValueError(f"local truncation is a 2-party protocol; {parties} parties truncate with the dealer "
                         "(truncation='dealer')")
    return mode


def truncate(session, products: list, magnitudes: list, depth: int = 0) -> list:
    """Shares of each product divided by 2^f, all in at most one round (none in local mode).

    Parameters
    ----------
    session : mpc.tensor.Session
    products : list of ndarray of uint64, shape (local parties, ...)
        Shares of values with 2f fractional bits.
    magnitudes : list of float
        Bounds on |value| of each, in real units.
    depth : int
        Openings on the critical path to the products (the latest of them): in dealer mode the
        truncation's opening comes one after, which ``session.costs.floor_rounds`` records; the caller adds
        ``session.truncation_depth`` to the depth of each result.

    Returns
    -------
    list of ndarray of uint64, the same shapes

    Raises
    ------
    EncodingError
        If a product can reach 2^62 at these fractional bits (both modes), or (local mode) if the
        truncation-failure bound of the run would pass ``session.failure_budget``.
    """
    s = session
    f = np.uint64(s.encoder.frac_bits)
    scale = 2.0 ** (2 * s.encoder.frac_bits)
    worst = max(magnitudes, key=lambda m: m if m == m else math.inf)  # NaN bounds nothing: the worst
    if not worst * scale < 2.0**OFFSET_BITS:  # also refuses an infinite or NaN bound
        raise RingOverflowError(f"a product bounded by {worst:g} can reach 2^{OFFSET_BITS} at {s.encoder.frac_bits} "
                            f"fractional bits (it needs |x| 2^2f < 2^{OFFSET_BITS}); lower the fractional bits")
    if s.truncation == "local":
        added = sum(product[0].size * magnitude for product, magnitude in zip(products, magnitudes)) * scale / 2.0**63
        bound = s.truncation_failure_bound + added
        if s.failure_budget is not None and not bound <= s.failure_budget:  # NaN refused too
            raise EncodingError(f"the 2-party truncation-failure bound of this run would reach {bound:.2g}, above "
                                f"the budget {s.failure_budget:.2g}; lower the fractional bits, or truncate with the "
                                "dealer (truncation='dealer', which cannot fail)")
        s.truncation_failure_bound = bound
        out = []
        for product in products:
            shifted = np.empty_like(product)
            for i, party in enumerate(s.comm.local_parties):
                shifted[i] = product[i] >> f if party == 0 else np.uint64(0) - ((np.uint64(0) - product[i]) >> f)
            out.append(shifted)
        return out
    flat = np.concatenate([p.reshape(p.shape[0], -1) for p in products], axis=1)
    s.costs.opening(flat.shape[1], depth=depth + 1)  # c is opened: part of any protocol of this mode
    r, r_low, r_top = s.provider.truncation(flat.shape[1:], s.encoder.frac_bits).consume()
    offset = np.uint64(1) << np.uint64(OFFSET_BITS)
    (c,) = s.comm.open(s.comm.add_on_first_party(flat + r, offset))
    c_top = c >> np.uint64(63)
    carry_unit = np.uint64(1) << (np.uint64(63) - f)
    sign = np.uint64(1) - (c_top << np.uint64(1))  # 1 - 2 c_63 in the ring: w = c_63 + r_63 (1 - 2 c_63)
    flat = r_top * (sign * carry_unit) - r_low
    public = ((c & _LOW) >> f) + c_top * carry_unit - (offset >> f)
    flat = s.comm.add_on_first_party(flat, public)
    sizes = np.cumsum([int(np.prod(p.shape[1:], dtype=np.int64)) for p in products])[:-1]
    return [part.reshape(p.shape) for part, p in zip(np.split(flat, sizes, axis=1), products)]

"""Truncation after fixed-point products: shares of x 2^2f back to x 2^f.

* 2 parties: SecureML's local truncation (Mohassel & Zhang 2017, Theorem 1):
  party 0 shifts its share, party 1 shifts the negation of its share.  Exact up
  to one unit in the last place, except with probability at most
  |x| 2^2f / 2^63 per element, which is added up in
  ``Session.truncation_failure_bound`` (2^-31 per element at f = 16, |x| <= 1).
* n > 2 parties: a dealer pair (r, r >> f): open x + 2^46 + r (r < 2^63, so no
  wrap-around), shift publicly, subtract the shares of r >> f.  Needs
  |x| 2^2f < 2^46; one round for every product truncated together.
"""

from __future__ import annotations

import numpy as np

from mpc.encoder import EncodingError

__all__ = ["truncate", "OFFSET_BITS"]

OFFSET_BITS = 46


def truncate(session, products: list, magnitudes: list) -> list:
    """Shares of each product divided by 2^f, all in at most one round.

    Parameters
    ----------
    session : mpc.tensor.Session
    products : list of ndarray of uint64, shape (local parties, ...)
        Shares of values with 2f fractional bits.
    magnitudes : list of float
        Bounds on |value| of each, in real units.

    Returns
    -------
    list of ndarray of uint64, the same shapes

    Raises
    ------
    EncodingError
        If a product is too large for the n-party protocol at these fractional bits.
    """
    s = session
    f = np.uint64(s.encoder.frac_bits)
    scale = 2.0 ** (2 * s.encoder.frac_bits)
    if s.parties == 2:
        out = []
        for product, magnitude in zip(products, magnitudes):
            s.truncation_failure_bound += product[0].size * magnitude * scale / 2.0**63
            shifted = np.empty_like(product)
            for i, party in enumerate(s.comm.local_parties):
                shifted[i] = product[i] >> f if party == 0 else np.uint64(0) - ((np.uint64(0) - product[i]) >> f)
            out.append(shifted)
        return out
    worst = max(magnitudes)
    if worst * scale >= 2.0**OFFSET_BITS:
        raise EncodingError(f"a product bounded by {worst:g} does not fit the {s.parties}-party truncation at "
                            f"{s.encoder.frac_bits} fractional bits (it needs |x| 2^2f < 2^{OFFSET_BITS}); "
                            "lower the fractional bits")
    flat = np.concatenate([p.reshape(p.shape[0], -1) for p in products], axis=1)
    r, r_shifted = s.provider.truncation(flat.shape[1:], s.encoder.frac_bits, mask_bits=63).consume()
    offset = np.uint64(1) << np.uint64(OFFSET_BITS)
    (c,) = s.comm.open(s.comm.add_on_first_party(flat + r, offset))
    flat = s.comm.add_on_first_party(np.uint64(0) - r_shifted, (c >> f) - (offset >> f))
    sizes = np.cumsum([int(np.prod(p.shape[1:], dtype=np.int64)) for p in products])[:-1]
    return [part.reshape(p.shape) for part, p in zip(np.split(flat, sizes, axis=1), products)]

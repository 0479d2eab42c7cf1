"""Additive secret sharing in Z_2^64.

A secret x is split among n parties as x = x_1 + ... + x_n (mod 2^64) with
x_1..x_(n-1) uniform and x_n = x - sum of the others, so that any n - 1 shares
are uniform and independent of x (e.g. Cramer, Damgard & Nielsen, *Secure
Multiparty Computation and Secret Sharing*, 2015, section 3.2).  Shares of all
parties are stacked on a leading party axis.
"""

from __future__ import annotations

import numpy as np

from mpc.csprng import CSPRNG

__all__ = ["share", "reconstruct"]


def share(secret: np.ndarray, parties: int, rng: CSPRNG | None = None) -> np.ndarray:
    """Additive shares of ring elements.

    Parameters
    ----------
    secret : ndarray of uint64, any shape S
    parties : int
        n >= 2.
    rng : CSPRNG, optional
        Source of the random shares (default: a fresh one keyed from os.urandom).

    Returns
    -------
    ndarray of uint64, shape (n, *S)

    Raises
    ------
    ValueError
        If n < 2 or the secret is not uint64.
    """
    secret = np.asarray(secret)
    if secret.dtype != np.uint64:
        raise ValueError("secrets are ring elements: encode them first (FixedPointEncoder.encode)")
    if parties < 2:
        raise ValueError(f"additive sharing needs at least 2 parties, got {parties}")
    rng = rng if rng is not None else CSPRNG()
    shares = np.empty((parties, *secret.shape), dtype=np.uint64)
    shares[:-1] = rng.ring((parties - 1, *secret.shape))
    shares[-1] = secret - shares[:-1].sum(axis=0, dtype=np.uint64)
    return shares


def reconstruct(shares: np.ndarray) -> np.ndarray:
    """The secret: the sum of the shares over the party axis, modulo 2^64."""
    return np.asarray(shares, dtype=np.uint64).sum(axis=0, dtype=np.uint64)

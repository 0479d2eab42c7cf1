"""Additive secret sharing in Z_2^64.

A secret x is split among n parties as x = x_1 + ... + x_n (mod 2^64) with
x_1..x_(n-1) uniform and x_n = x - sum of the others, so that any n - 1 shares
are uniform and independent of x (e.g. Cramer, Damgard & Nielsen, *Secure
Multiparty Computation and Secret Sharing*, 2015, section 3.2).  Shares of all
parties are stacked on a leading party axis.

An input owner shares without sending anything with :class:`ZeroSharing`
(pseudo-random zero sharing, as CrypTen's ``generate_random_ring_element``
pairs): party k holds a seed g_k it shares with party k + 1 (mod n); its share
of zero is G(g_k) - G(g_(k-1)), which sum to zero over the parties, and the
owner adds the encoded secret to its own.
"""

from __future__ import annotations

import numpy as np

from mpc.csprng import CSPRNG

__all__ = ["share", "reconstruct", "aligned", "ZeroSharing"]


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


def aligned(shares: np.ndarray, ndim: int) -> np.ndarray:
    """Party-axis shares (L, *shape) viewed as (L, 1, ..., 1, *shape) with ``ndim`` value axes, for broadcasting."""
    return shares.reshape(shares.shape[:1] + (1,) * (ndim - shares.ndim + 1) + shares.shape[1:])


class ZeroSharing:
    """Pseudo-random shares of zero from seeds shared by neighbouring parties.

    Parameters
    ----------
    parties : int
        n >= 2.
    local_parties : sequence of int
        The parties this process plays.
    seeds : dict of int -> bytes
        g_k for every k in ``local_parties`` and for k - 1 (mod n) of each: the
        seed party k shares with party k + 1.
    """

    def __init__(self, parties: int, local_parties, seeds: dict):
        self.parties, self.local_parties = parties, tuple(local_parties)
        needed = {k for p in self.local_parties for k in (p, (p - 1) % parties)}
        if not needed <= set(seeds):
            raise ValueError(f"zero sharing needs the seeds of parties {sorted(needed)}")
        self._streams = {k: CSPRNG(seeds[k]) for k in sorted(needed)}

    def zero(self, shape) -> np.ndarray:
        """Shares of zero, shape (local parties, *shape): summed over all n parties they give 0."""
        shape = tuple(shape)
        draws = {k: rng.ring(shape) for k, rng in self._streams.items()}
        return np.stack([draws[p] - draws[(p - 1) % self.parties] for p in self.local_parties])

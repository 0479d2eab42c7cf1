"""The dealer (trusted third party) of the offline phase.

It hands out correlated randomness, each piece to be used exactly once:

* Beaver triples (a, b, c = a b) for elementwise products (Beaver, CRYPTO 1991);
* square pairs (a, a^2) for squares;
* matrix triples (A, B, C = A B) for matrix products (Mohassel & Zhang, SecureML 2017);
* truncation pairs (r, r >> f) for n > 2 parties (for 2 parties truncation is local).

As in CrypTen's ``TrustedThirdParty``, parties 1..n-1 expand their shares of
everything from seeds they share with the dealer; only the last party's share
of each product (c, a^2, C, r >> f) is sent, so the offline traffic is one
ring element per product element, to one party (``offline_bytes``).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from mpc.csprng import CSPRNG
from mpc.sharing import share

__all__ = ["TrustedThirdParty", "Correlation", "ReuseError"]


class ReuseError(RuntimeError):
    """A triple or pair used a second time, which would reveal the values it masked."""


@dataclasses.dataclass
class Correlation:
    """Shares of correlated random values (each of shape (n, ...)), usable once.

    Attributes
    ----------
    kind : str
        ``triple``, ``square``, ``matmul`` or ``truncation``.
    shares : tuple of ndarray
    """

    kind: str
    shares: tuple
    used: bool = False

    def consume(self) -> tuple:
        """The shares; a second call raises :class:`ReuseError`."""
        if self.used:
            raise ReuseError(f"this {self.kind} correlation was used already; each may be used once")
        self.used = True
        return self.shares


class TrustedThirdParty:
    """Dealer for n parties.

    Parameters
    ----------
    parties : int
    rng : CSPRNG, optional
        The dealer's randomness (default keyed from os.urandom).

    Attributes
    ----------
    counts : dict of str -> int
        Elements generated per kind.
    offline_bytes : int
        Bytes the dealer sends (the last party's product shares).
    offline_seconds : float
        Time spent generating.
    """

    def __init__(self, parties: int = 2, rng: CSPRNG | None = None):
        self.parties = parties
        self.rng = rng if rng is not None else CSPRNG()
        self.counts = {"triple": 0, "square": 0, "matmul": 0, "truncation": 0}
        self.offline_bytes = 0
        self.offline_seconds = 0.0

    def _make(self, kind: str, values: list[np.ndarray], sent: int) -> Correlation:
        shares = tuple(share(v, self.parties, self.rng) for v in values)
        self.counts[kind] += int(values[0].size)
        self.offline_bytes += 8 * sent
        return Correlation(kind, shares)

    def triple(self, shape) -> Correlation:
        """Shares of a, b uniform and c = a b (elementwise), each of ``shape``."""
        start = time.perf_counter()
        a, b = self.rng.ring(shape), self.rng.ring(shape)
        out = self._make("triple", [a, b, a * b], int(np.prod(shape, dtype=np.int64)))
        self.offline_seconds += time.perf_counter() - start
        return out

    def square(self, shape) -> Correlation:
        """Shares of a uniform and a^2."""
        start = time.perf_counter()
        a = self.rng.ring(shape)
        out = self._make("square", [a, a * a], int(np.prod(shape, dtype=np.int64)))
        self.offline_seconds += time.perf_counter() - start
        return out

    def matmul(self, shape_x, shape_y) -> Correlation:
        """Shares of A (shape_x), B (shape_y) uniform and C = A @ B."""
        start = time.perf_counter()
        a, b = self.rng.ring(shape_x), self.rng.ring(shape_y)
        c = np.matmul(a, b)
        out = self._make("matmul", [a, b, c], int(c.size))
        self.offline_seconds += time.perf_counter() - start
        return out

    def truncation(self, shape, frac_bits: int, mask_bits: int = 62) -> Correlation:
        """Shares of r uniform in [0, 2^mask_bits) and of r >> frac_bits."""
        start = time.perf_counter()
        r = self.rng.ring(shape) >> np.uint64(64 - mask_bits)
        out = self._make("truncation", [r, r >> np.uint64(frac_bits)], int(np.prod(shape, dtype=np.int64)))
        self.offline_seconds += time.perf_counter() - start
        return out

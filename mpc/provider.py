"""The dealer (trusted third party) of the offline phase, and each party's side of it.

The dealer hands out correlated randomness, each piece to be used exactly once:

* Beaver triples (a, b, c = a b) for elementwise products (Beaver, CRYPTO 1991),
  square pairs (a, a^2) for squares, and their generalisation for several
  products of one round: one mask a_i per operand, however many products it
  enters, and c_p = a_i a_j for each product p = (i, j), so that every operand
  is opened once (as the powers of a polynomial need);
* matrix triples (A, B, C = A B) for matrix products (Mohassel & Zhang, SecureML 2017);
* truncation pairs (r, r >> f) for n > 2 parties (for 2 parties truncation is local).

As in CrypTen's ``TrustedThirdParty`` (``crypten/mpc/provider/ttp_provider.py``)
the dealer shares one 16-byte seed with each party, and every party expands
its shares from an AES-CTR stream of that seed.  The random components (a, b)
are whatever the n streams sum to; of each derived component (c, a^2, C, r,
r >> f) the parties 0..n-2 expand their shares too, and only the last party's
share, c - sum of the others, is computed by the dealer and sent to it.  So
the offline traffic is one ring element per derived element, to one party
(``offline_bytes``), and the dealer never talks to the others after the seeds.

:class:`TrustedThirdParty` is the dealer: it expands every party's stream and
returns all shares (the in-process protocol uses them directly; the TCP dealer
process sends the last party its part).  :class:`PartyProvider` is one party's
side: it expands its own stream and, for the last party, asks the dealer for
the derived shares.  Both draw in the same order, so with the same seeds they
produce the same shares.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from mpc.csprng import CSPRNG

__all__ = ["Provider", "TrustedThirdParty", "PartyProvider", "Correlation", "ReuseError", "KINDS", "CALLS"]

KINDS = ("triple", "square", "products", "matmul", "truncation")
CALLS = ("products", "matmul", "truncation")  # what the last party may ask the dealer for


class ReuseError(RuntimeError):
    """A triple or pair used a second time, which would reveal the values it masked."""


@dataclasses.dataclass
class Correlation:
    """Shares of correlated random values, usable once.

    Attributes
    ----------
    kind : str
        One of ``KINDS``.
    shares : tuple of ndarray of uint64
        One array per component (random ones first: a, b, then derived: c), each
        of shape (local parties, ...): all n parties in process, one in a party process.
    derived : int
        How many of the components (the last ones) are derived, i.e. sent to the last party.
    """

    kind: str
    shares: tuple
    derived: int
    used: bool = False

    def consume(self) -> tuple:
        """The shares; a second call raises :class:`ReuseError`."""
        if self.used:
            raise ReuseError(f"this {self.kind} correlation was used already; each may be used once")
        self.used = True
        return self.shares


class Provider:
    """What both sides of the dealer share: the recipes of the correlations and their accounting.

    Attributes
    ----------
    parties : int
    counts : dict of str -> int
        Elements generated per kind (elements of c, a^2, C or r).
    offline_bytes : int
        Bytes the dealer sends (the last party's derived shares).
    offline_seconds : float
        Time spent generating (and, for the last party, receiving).
    """

    def __init__(self, parties: int):
        if parties < 2:
            raise ValueError(f"a protocol needs at least 2 parties, got {parties}")
        self.parties = parties
        self.counts = {kind: 0 for kind in KINDS}
        self.offline_bytes = 0
        self.offline_seconds = 0.0

    def triple(self, shape) -> Correlation:
        """Shares of a, b uniform and c = a b (elementwise), each of ``shape``."""
        return self.products(shape, 2, [(0, 1)])

    def square(self, shape) -> Correlation:
        """Shares of a uniform and a^2."""
        return self.products(shape, 1, [(0, 0)])

    def products(self, shape, operands: int, pairs) -> Correlation:
        """Shares of masks a_0..a_(m-1) uniform and of c_p = a_i a_j for each pair p = (i, j) (elementwise).

        Parameters
        ----------
        shape : tuple
            Shape of every mask and product.
        operands : int
            m, the number of masks.
        pairs : list of (i, j)
            The products, 0 <= i, j < m (i == j for a square).

        Returns
        -------
        Correlation
            Components a_0..a_(m-1), then c for each pair; kind ``triple`` or
            ``square`` for one product of two or one operand, else ``products``.
        """
        shape, pairs = tuple(shape), [tuple(int(v) for v in p) for p in pairs]
        if not pairs or any(not (0 <= i < operands and 0 <= j < operands) for i, j in pairs):
            raise ValueError(f"products of {operands} operands need pairs of indices below {operands}, got {pairs}")
        kind = {(1, ((0, 0),)): "square", (2, ((0, 1),)): "triple"}.get((operands, tuple(pairs)), "products")
        return self._timed(kind, ("products", [list(shape), operands, [list(p) for p in pairs]]),
                           [shape] * operands, [shape] * len(pairs), lambda r, _: [r[i] * r[j] for i, j in pairs])

    def matmul(self, shape_x, shape_y) -> Correlation:
        """Shares of A (shape_x), B (shape_y) uniform and C = A @ B (2-D shapes, or batched as numpy.matmul)."""
        shape_x, shape_y = tuple(shape_x), tuple(shape_y)
        shape_c = np.matmul(np.empty(shape_x, np.uint8), np.empty(shape_y, np.uint8)).shape
        return self._timed("matmul", ("matmul", [list(shape_x), list(shape_y)]), [shape_x, shape_y], [shape_c],
                           lambda r, _: [np.matmul(r[0], r[1])])

    def truncation(self, shape, frac_bits: int, mask_bits: int = 62) -> Correlation:
        """Shares of r uniform in [0, 2^mask_bits) and of r >> frac_bits (both derived)."""
        shape = tuple(shape)

        def derive(_, rng):
            r = rng.ring(shape) >> np.uint64(64 - mask_bits)
            return [r, r >> np.uint64(frac_bits)]

        return self._timed("truncation", ("truncation", [list(shape), frac_bits, mask_bits]), [], [shape, shape],
                           derive)

    def _timed(self, kind, call, random_shapes, derived_shapes, derive) -> Correlation:
        start = time.perf_counter()
        shares = self._generate(call, random_shapes, derived_shapes, derive)
        self.counts[kind] += int(np.prod(derived_shapes[0], dtype=np.int64))
        self.offline_bytes += 8 * sum(int(np.prod(s, dtype=np.int64)) for s in derived_shapes)
        self.offline_seconds += time.perf_counter() - start
        return Correlation(kind, tuple(shares), len(derived_shapes))

    def _generate(self, call, random_shapes, derived_shapes, derive) -> list:
        raise NotImplementedError


class TrustedThirdParty(Provider):
    """The dealer: every party's shares.

    Parameters
    ----------
    parties : int
        n >= 2.
    seeds : list of bytes, optional
        The n 16-byte seeds it shares with the parties (default: from os.urandom).
    rng : CSPRNG, optional
        Its private randomness (truncation masks).

    Notes
    -----
    Each correlation's shares have shape (n, ...).
    """

    def __init__(self, parties: int = 2, seeds: list | None = None, rng: CSPRNG | None = None):
        super().__init__(parties)
        self.seeds = [CSPRNG().seed for _ in range(parties)] if seeds is None else list(seeds)
        if len(self.seeds) != parties:
            raise ValueError(f"the dealer needs one seed per party: {len(self.seeds)} for {parties} parties")
        self.streams = [CSPRNG(s) for s in self.seeds]
        self.rng = rng if rng is not None else CSPRNG()

    def _generate(self, call, random_shapes, derived_shapes, derive) -> list:
        n = self.parties
        randoms = [np.stack([self.streams[k].ring(s) for k in range(n)]) for s in random_shapes]
        # parties 0..n-2 draw their derived shares after their random ones, in the same stream
        drawn = [[self.streams[k].ring(s) for s in derived_shapes] for k in range(n - 1)]
        values = derive([r.sum(axis=0, dtype=np.uint64) for r in randoms], self.rng)
        derived = []
        for i, value in enumerate(values):
            out = np.empty((n, *value.shape), dtype=np.uint64)
            out[:-1] = [drawn[k][i] for k in range(n - 1)]
            out[-1] = value - out[:-1].sum(axis=0, dtype=np.uint64)
            derived.append(out)
        return randoms + derived


class PartyProvider(Provider):
    """One party's side of the dealer.

    Parameters
    ----------
    party : int
        This party's id, 0..n-1.
    parties : int
    seed : bytes
        The 16-byte seed this party shares with the dealer.
    request : callable (call, derived_shapes) -> list of ndarray, optional
        For the last party (n - 1): asks the dealer for its derived shares;
        ``call`` is (method, args), e.g. ``("products", [[3, 4], 2, [[0, 1]]])``,
        a method in ``CALLS`` of :class:`TrustedThirdParty` and its arguments.

    Notes
    -----
    Each correlation's shares have shape (1, ...).
    """

    def __init__(self, party: int, parties: int, seed: bytes, request=None):
        super().__init__(parties)
        if party == parties - 1 and request is None:
            raise ValueError("the last party receives its derived shares from the dealer: give request")
        self.party, self.stream, self.request = party, CSPRNG(seed), request

    def _generate(self, call, random_shapes, derived_shapes, derive) -> list:
        randoms = [self.stream.ring(s)[None] for s in random_shapes]
        if self.party < self.parties - 1:
            return randoms + [self.stream.ring(s)[None] for s in derived_shapes]
        return randoms + [d[None] for d in self.request(call, derived_shapes)]

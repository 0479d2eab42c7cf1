"""The dealer (trusted third party) of the offline phase, and each party's side of it.

The dealer hands out correlated randomness, each piece to be used exactly once:

* masks: a uniform, one per secret value that enters a product; x - a is
  opened once and reused by every product of x (the weights of a network are
  masked once per inference session or training step, a data owner's training
  matrix once per run);
* products of masks: c = a b (elementwise) or C = A B (matrix), for Beaver's
  multiplication (Beaver, CRYPTO 1991; matrices: Mohassel & Zhang, SecureML
  2017) -- a triple (a, b, c) is two masks and their product.  An operand may
  also be rows of a stored mask, named by its id and the (public) row indices:
  the dealer forms A[rows] B, A[rows]^T B ... from the mask A it keeps, so that
  a matrix masked and opened once (the training data, SecureML section 4.2)
  serves the products of every batch drawn from it;
* truncation triples (r, (r mod 2^63) >> f, r >> 63) for the dealer's truncation (any number of
  parties; 2 parties may truncate locally instead: :mod:`mpc.truncation`).

As in CrypTen's ``TrustedThirdParty`` (``crypten/mpc/provider/ttp_provider.py``)
the dealer shares one 16-byte seed with each party, and every party expands
its shares from an AES-CTR stream of that seed.  A mask is whatever the n
streams sum to (the dealer keeps its value, by id); of each derived value
(c, C, (r mod 2^63) >> f, r >> 63) the parties 0..n-2 expand their shares too, and only the
last party's share, c - sum of the others, is computed by the dealer and sent to it.  So
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
import weakref

import numpy as np

from mpc.csprng import CSPRNG

__all__ = ["Provider", "TrustedThirdParty", "PartyProvider", "Correlation", "Mask", "ReuseError", "KINDS", "CALLS"]

KINDS = ("mask", "product", "matmul", "truncation")
_OPS = {"mul": np.multiply, "matmul": np.matmul,
        "matmul_tn": lambda a, b: np.matmul(np.swapaxes(a, -1, -2), b),
        "matmul_nt": lambda a, b: np.matmul(a, np.swapaxes(b, -1, -2))}
_TRANSPOSED = {"matmul_tn": (True, False), "matmul_nt": (False, True)}
CALLS = ("mask", "products", "truncation")  # what the last party tells or asks the dealer


def _result_shape(op: str, a: tuple, b: tuple) -> tuple:
    """Shape of a * b (broadcasting) or a @ b (numpy.matmul, 2-D or batched), without computing it.

    Raises
    ------
    ValueError
        If the shapes do not combine.
    """
    if op == "mul":
        return np.broadcast_shapes(a, b)
    if op in _TRANSPOSED and len(a) >= 2 and len(b) >= 2:
        swap_a, swap_b = _TRANSPOSED[op]
        a = (*a[:-2], a[-1], a[-2]) if swap_a else a
        b = (*b[:-2], b[-1], b[-2]) if swap_b else b
    if len(a) < 2 or len(b) < 2 or a[-1] != b[-2]:
        raise ValueError(f"cannot matrix-multiply shapes {a} and {b}")
    return (*np.broadcast_shapes(a[:-2], b[:-2]), a[-2], b[-1])


def _parse_handle(handle) -> tuple:
    """(mask id, row indices or None) of an operand of :meth:`Provider.products`.

    An operand is a mask id, or ``(id, rows)``: the rows (first-axis indices, a sequence of
    integers) of the stored mask ``id``.

    Raises
    ------
    ValueError
        If it is neither.
    """
    if isinstance(handle, (int, np.integer)) and not isinstance(handle, (bool, np.bool_)):
        return int(handle), None
    if isinstance(handle, (list, tuple)) and len(handle) == 2 and isinstance(handle[0], (int, np.integer)) \
            and not isinstance(handle[0], (bool, np.bool_)):
        rows = np.asarray(handle[1])
        if rows.ndim == 1 and (rows.size == 0 or rows.dtype.kind in "iu"):
            return int(handle[0]), rows.astype(np.int64, copy=False)
    raise ValueError("an operand is a mask id or [id, row indices]")


def _plain(handle):
    """A handle as JSON gives it back: an int, or [int, list of ints]."""
    ident, rows = _parse_handle(handle)
    return ident if rows is None else [ident, rows.tolist()]


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


@dataclasses.dataclass
class Mask:
    """Shares of a uniform mask a, known to the dealer by ``id``, for one secret value.

    Attributes
    ----------
    id : int
        Sequence number (the same on every party and the dealer).
    shares : ndarray of uint64, shape (local parties, *shape)
    owner : weakref.ref or None
        The value it masks, once bound (:meth:`bind`); weak, so that a tensor
        and its mask do not keep each other alive.
    rows : ndarray of int64, or None
        For rows of a stored mask (:meth:`take`): their indices in mask ``id``.
    base : Mask or None
        For rows: the stored mask itself, kept alive while its rows are in use
        (the dealer must keep its value).

    Notes
    -----
    When the mask object is garbage-collected its provider forgets it
    (:meth:`Provider.mask`): no product can name it any more.
    """

    id: int
    shares: np.ndarray
    owner: weakref.ref | None = None
    rows: np.ndarray | None = None
    base: "Mask | None" = None

    @property
    def handle(self):
        """How products name it: the id, or [id, row indices] (JSON-ready) for rows of a stored mask."""
        return self.id if self.rows is None else [self.id, self.rows.tolist()]

    def take(self, rows) -> "Mask":
        """The mask of rows ``rows`` (first-axis indices, already normalised to 0..n-1) of the value it masks.

        Local: the shares are the stored mask's rows, and products of the returned
        mask ask the dealer for A[rows] times the other mask, so that an opened
        x - a serves the products of any selection of its rows without a new
        opening (the selection is public; the rows' mask is the stored one's).
        """
        rows = np.asarray(rows, dtype=np.int64)
        base = self if self.base is None else self.base
        return Mask(self.id, self.shares[:, rows], rows=rows if self.rows is None else self.rows[rows], base=base)

    def bind(self, value) -> None:
        """Dedicate the mask to ``value`` (any object that takes weak references); binding it
        to another raises :class:`ReuseError` (opening x - a and y - a would reveal x - y), and so does
        binding rows of a mask (they mask rows of the value their stored mask is bound to)."""
        if self.rows is not None:
            raise ReuseError(f"rows of mask {self.id} mask rows of its value only; each mask may mask one value")
        if self.owner is not None and self.owner() is not value:
            raise ReuseError(f"mask {self.id} masks another value already; each mask may mask one value")
        self.owner = weakref.ref(value)


class Provider:
    """What both sides of the dealer share: the recipes of the correlations and their accounting.

    Attributes
    ----------
    parties : int
    counts : dict of str -> int
        Elements generated per kind: masks, elementwise products, matrix
        product elements, truncation pairs.
    offline_bytes : int
        Bytes the dealer sends (the last party's derived shares).
    offline_seconds : float
        Time spent generating (and, for the last party, receiving).
    live_masks : int
        Masks not yet released (see :meth:`mask`).
    """

    def __init__(self, parties: int):
        if parties < 2:
            raise ValueError(f"a protocol needs at least 2 parties, got {parties}")
        self.parties = parties
        self.counts = {kind: 0 for kind in KINDS}
        self.offline_bytes = 0
        self.offline_seconds = 0.0
        self._next_id = 0
        self._shapes: dict = {}   # mask id -> shape, while the mask lives
        self._values: dict = {}   # mask id -> value (the dealer only)

    @property
    def live_masks(self) -> int:
        """Masks handed out and not yet released."""
        return len(self._shapes)

    def _remember(self, ident: int, value: np.ndarray) -> list:
        self._values[ident] = value
        return []

    def mask(self, shape) -> Mask:
        """Shares of a fresh uniform mask of ``shape`` (no traffic: every party expands its share).

        The provider remembers the mask (its shape, and the dealer its value)
        for products of it until the returned object is garbage-collected, then
        forgets it; the last party tells the dealer with its next call.  So
        memory follows the tensors alive, not the length of the session.
        """
        shape = tuple(int(v) for v in shape)
        ident = self._next_id
        self._next_id += 1
        self._shapes[ident] = shape
        (shares,) = self._timed("mask", ("mask", [list(shape)]), [shape], [],
                                lambda r, _: self._remember(ident, r[0])).consume()
        mask = Mask(ident, shares)
        weakref.finalize(mask, self._forget, ident).atexit = False
        return mask

    def _forget(self, ident: int) -> None:
        self._shapes.pop(ident, None)
        self._values.pop(ident, None)

    def products(self, requests) -> Correlation:
        """Shares of c = a_i * a_j (``"mul"``, elementwise with broadcasting) or A_i @ A_j (``"matmul"``).

        Parameters
        ----------
        requests : list of (op, i, j)
            ``op`` is ``"mul"``, ``"matmul"``, ``"matmul_tn"`` (A_i^T @ A_j) or
            ``"matmul_nt"`` (A_i @ A_j^T); i and j are mask handles: a mask id, or
            ``[id, rows]`` for the rows (first-axis indices) of the stored mask
            ``id`` (A_i[rows] @ A_j ...; :meth:`Mask.take`).

        Returns
        -------
        Correlation
            One derived component per request; kind ``product`` (or ``matmul``
            when every request is one).

        Raises
        ------
        ValueError
            For an unknown op or mask id, rows outside the mask, or shapes that do not combine.
        """
        requests = [(str(op), _plain(i), _plain(j)) for op, i, j in requests]
        shapes = self.product_shapes(requests)
        kind = "matmul" if all(op.startswith("matmul") for op, _, _ in requests) else "product"
        return self._timed(kind, ("products", [[list(r) for r in requests]]), [], shapes,
                           lambda _, __: [_OPS[op](self._value(i), self._value(j)) for op, i, j in requests])

    def operand_shape(self, handle) -> tuple:
        """The shape of a mask handle's value (A, or A[rows]), without drawing anything.

        Raises
        ------
        ValueError
            If the mask is not live here, or a row is outside it.
        """
        ident, rows = _parse_handle(handle)
        if ident not in self._shapes:
            raise ValueError(f"mask {ident} is not live here (never drawn, or released)")
        shape = self._shapes[ident]
        if rows is None:
            return shape
        if not shape:
            raise ValueError(f"mask {ident} is a scalar: it has no rows")
        if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= shape[0]):
            raise ValueError(f"a row index outside mask {ident}'s {shape[0]} rows")
        return (rows.size, *shape[1:])

    def _value(self, handle) -> np.ndarray:
        ident, rows = _parse_handle(handle)
        return self._values[ident] if rows is None else self._values[ident][rows]

    def product_shapes(self, requests) -> list:
        """The shapes of the products :meth:`products` would return, without drawing anything.

        Raises
        ------
        ValueError
            For an unknown op or mask id, rows outside a mask, or shapes that do not combine.
        """
        shapes = []
        for op, i, j in requests:
            if op not in _OPS:
                raise ValueError(f"unknown product {op!r}")
            shapes.append(_result_shape(op, self.operand_shape(i), self.operand_shape(j)))
        return shapes

    def truncation(self, shape, frac_bits: int) -> Correlation:
        """Shares of r uniform in Z_2^64, of (r mod 2^63) >> frac_bits and of r's top bit r >> 63.

        r is random (every party expands its share); the other two are derived.
        See :func:`mpc.truncation.truncate` (Escudero et al., CRYPTO 2020).
        """
        shape = tuple(shape)
        low = np.uint64((1 << 63) - 1)

        def derive(randoms, _):
            r = randoms[0]
            return [(r & low) >> np.uint64(frac_bits), r >> np.uint64(63)]

        return self._timed("truncation", ("truncation", [list(shape), frac_bits]), [shape], [shape, shape], derive)

    def _timed(self, kind, call, random_shapes, derived_shapes, derive) -> Correlation:
        start = time.perf_counter()
        shares = self._generate(call, random_shapes, derived_shapes, derive)
        counted = derived_shapes[:1] if kind == "truncation" else derived_shapes or random_shapes
        self.counts[kind] += sum(int(np.prod(shape, dtype=np.int64)) for shape in counted)
        self.offline_bytes += 8 * sum(int(np.prod(s, dtype=np.int64)) for s in derived_shapes)
        self.offline_seconds += time.perf_counter() - start
        return Correlation(kind, tuple(shares), len(derived_shapes))

    def _generate(self, call, random_shapes, derived_shapes, derive) -> list:
        raise NotImplementedError


class TrustedThirdParty(Provider):
    """The dealer: every party's shares.

    In process it forgets a mask when the tensors holding it are gone; as a
    process of its own (:mod:`mpc.dealer_server`) it holds the masks it drew
    until the last party says they are released.

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
    request : callable (call, derived_shapes, released) -> list of ndarray, optional
        For the last party (n - 1): tells the dealer every call, e.g.
        ``("products", [[["mul", 3, 4]]])`` (a method in ``CALLS`` of
        :class:`TrustedThirdParty` and its arguments), so that the dealer
        draws in step, with the ids of the masks released since the previous
        call (the dealer forgets them), and returns its derived shares (none for a mask).

    Notes
    -----
    Each correlation's shares have shape (1, ...).
    """

    def __init__(self, party: int, parties: int, seed: bytes, request=None):
        super().__init__(parties)
        if party == parties - 1 and request is None:
            raise ValueError("the last party receives its derived shares from the dealer: give request")
        self.party, self.stream, self.request = party, CSPRNG(seed), request
        self._released: list = []  # the last party's: ids to tell the dealer with the next call

    def _forget(self, ident: int) -> None:
        super()._forget(ident)
        if self.request is not None:
            self._released.append(ident)

    def _generate(self, call, random_shapes, derived_shapes, derive) -> list:
        randoms = [self.stream.ring(s)[None] for s in random_shapes]
        if self.party < self.parties - 1:
            return randoms + [self.stream.ring(s)[None] for s in derived_shapes]
        released, self._released = self._released, []
        return randoms + [d[None] for d in self.request(call, derived_shapes, released)]

"""Secret-shared fixed-point tensors and their gates, with a running error bound.

An :class:`SharedTensor` holds the shares of every party (leading party axis)
of a fixed-point value.  Gates:

* local (no communication): add, subtract, negate, add or multiply by a
  public value (secure addition gates);
* Beaver multiplication (secure multiplication gate): with a triple (a, b, c),
  open e = x - a and f = y - b in one round, then z = c + e b + f a + e f
  (the e f term on party 0 only); squares use a pair (a, a^2) and open one
  value, and several products of one round open each operand once
  (:func:`multiply`); matrix products use a matrix triple the same way (SecureML);
* truncation after every fixed-point product (the product carries 2f
  fractional bits): for 2 parties SecureML's local truncation (party 0 shifts
  its share, party 1 shifts the negation of its share), exact up to one unit
  in the last place except with probability about |x| 2^2f / 2^63 (summed in
  ``truncation_failure_bound``; 2^-31 per element at f = 16 and |x| <= 1); for n > 2 a
  dealer pair (r, r >> f): open x + 2^46 + r (r < 2^63, so no wrap-around;
  statistical hiding 2^-16), shift publicly, subtract the shares of r >> f.

Every tensor carries ``magnitude`` (a bound on |value| that the caller
vouches for, e.g. from the polynomial's interval) and ``error`` (a bound on
|decoded value - exact real result| from the input and coefficient roundings
and the truncations), propagated gate by gate:
|x y - x~ y~| <= M_x E_y + M_y E_x + E_x E_y, plus one unit of 2^-f for the
truncation.
"""

from __future__ import annotations

import numpy as np

from mpc.communicator import Communicator, InProcessCommunicator
from mpc.csprng import CSPRNG, protocol_seed
from mpc.encoder import EncodingError, FixedPointEncoder
from mpc.provider import Provider, TrustedThirdParty
from mpc.sharing import ZeroSharing

__all__ = ["Session", "SharedTensor", "multiply"]

_OFFSET_BITS = 46  # |x| < 2^46 at scale 2^2f for the n-party truncation


class Session:
    """Parties, dealer and encoding of one secure computation.

    Parameters
    ----------
    parties : int
        n >= 2.
    frac_bits : int
        Fixed-point fractional bits f.
    seed : bytes, optional
        Master seed that makes every share reproducible (tests, comparing
        transports); default: fresh seeds from os.urandom.
    comm, provider, zeros : optional
        A party's communicator, dealer side and zero sharing (see
        :func:`mpc.tcp.connect`); default: all n parties in this process.

    Attributes
    ----------
    floor_bytes : int
        Bytes per party that the circuit needs at least with a dealer: its
        Beaver gates open each masked operand element once (8 (n - 1) bytes),
        and each opened result element costs 8 (n - 1) bytes (8 to one party).
    depth : int
        Multiplicative depth of the circuit so far (each product's depth is one
        more than its deeper operand's).
    """

    def __init__(self, parties: int = 2, frac_bits: int = 16, seed: bytes | None = None,
                 comm: Communicator | None = None, provider: Provider | None = None,
                 zeros: ZeroSharing | None = None):
        if comm is None:
            comm = InProcessCommunicator(parties)
            provider = TrustedThirdParty(parties, [protocol_seed(seed, f"dealer-party-{k}") for k in range(parties)],
                                         CSPRNG(protocol_seed(seed, "dealer")))
            zeros = ZeroSharing(parties, range(parties), {k: protocol_seed(seed, f"zero-{k}") for k in range(parties)})
        self.comm, self.provider, self.zeros = comm, provider, zeros
        self.encoder = FixedPointEncoder(frac_bits)
        self.parties = comm.parties
        self.multiplications = 0
        self.floor_bytes = 0
        self.depth = 0
        self.reveals = 0
        self.truncation_failure_bound = 0.0

    @property
    def ulp(self) -> float:
        """2^-f, the fixed-point resolution."""
        return 2.0 ** -self.encoder.frac_bits

    def stats(self) -> dict:
        """Costs so far.

        Returns
        -------
        dict
            ``rounds``; ``bytes_per_party`` (the most any party sent) and
            ``bytes_by_party``; ``multiplications``; ``triples`` (elements per
            kind); ``offline_bytes`` and ``offline_seconds``; ``floor_rounds``
            (multiplicative depth plus one round per opening of a result) and
            ``floor_bytes_per_party`` (see ``floor_bytes``): the theoretical
            minimum of a dealer-assisted protocol for the same circuit;
            ``truncation_failure_bound``, a bound on the probability that any
            2-party local truncation so far went wrong (see ``_truncate``).
        """
        return {"rounds": self.comm.rounds, "bytes_per_party": max(self.comm.bytes_sent),
                "bytes_by_party": list(self.comm.bytes_sent), "multiplications": self.multiplications,
                "triples": dict(self.provider.counts), "offline_bytes": self.provider.offline_bytes,
                "offline_seconds": self.provider.offline_seconds,
                "floor_rounds": self.depth + self.reveals, "floor_bytes_per_party": self.floor_bytes,
                "truncation_failure_bound": self.truncation_failure_bound}

    def share(self, values=None, magnitude: float | None = None, owner: int = 0, shape=None) -> "SharedTensor":
        """Secret-share an owner's float values, without communication (pseudo-random zero sharing).

        Parameters
        ----------
        values : array_like of float, optional
            The secret, in the process that plays ``owner`` (ignored elsewhere).
        magnitude : float, optional
            A public bound on |values| (default: their largest absolute value,
            which only the owner knows: other processes must give it).
        owner : int
            The party that holds the values.
        shape : tuple, optional
            The secret's shape, needed by the processes that do not hold ``values``.

        Raises
        ------
        ValueError
            If this process does not hold the values and ``shape`` or ``magnitude`` is missing.
        """
        position = self.comm.position(owner)
        if position is not None:
            x = np.asarray(values, dtype=np.float64)
            shape = x.shape
            magnitude = float(np.max(np.abs(x), initial=0.0)) if magnitude is None else magnitude
        elif shape is None or magnitude is None:
            raise ValueError(f"party {owner} owns this input: the other parties must give its shape and magnitude")
        shares = self.zeros.zero(shape)
        if position is not None:
            shares[position] += self.encoder.encode(x)
        return SharedTensor(self, shares, magnitude + self.ulp / 2, self.ulp / 2)

    def close(self) -> None:
        """Close the connections of a party session."""
        self.comm.close()


class SharedTensor:
    """Shares of a fixed-point tensor: ``shares`` has shape (parties, *shape), dtype uint64.

    Attributes
    ----------
    magnitude : float
        Bound on |decoded value|.
    error : float
        Bound on |decoded value - exact real value|.
    """

    def __init__(self, session: Session, shares: np.ndarray, magnitude: float, error: float, depth: int = 0):
        self.session, self.shares = session, shares
        self.magnitude, self.error, self.depth = float(magnitude), float(error), depth

    @property
    def shape(self) -> tuple:
        """Shape of the secret (the shares without the party axis)."""
        return self.shares.shape[1:]

    def reveal(self, to: int | None = None) -> np.ndarray | None:
        """Open the value to every party, or to party ``to`` only, and decode it (one round).

        Returns None in the processes of the other parties when ``to`` is given.
        """
        s = self.session
        s.reveals += 1
        s.depth = max(s.depth, self.depth)
        s.floor_bytes += 8 * (s.parties - 1 if to is None else 1) * int(np.prod(self.shape, dtype=np.int64))
        ring = s.comm.open(self.shares)[0] if to is None else s.comm.open_to(to, self.shares)
        return None if ring is None else s.encoder.decode(ring)

    # -- local gates ------------------------------------------------------------
    def __add__(self, other) -> "SharedTensor":
        if isinstance(other, SharedTensor):
            return SharedTensor(self.session, self.shares + other.shares, self.magnitude + other.magnitude,
                                self.error + other.error, max(self.depth, other.depth))
        public = np.asarray(other, dtype=np.float64)
        ring = self.session.encoder.encode(public)
        ring = np.broadcast_to(ring, np.broadcast_shapes(ring.shape, self.shape))
        return SharedTensor(self.session, self.session.comm.add_on_first_party(self.shares, ring),
                            self.magnitude + float(np.max(np.abs(public))) + self.session.ulp / 2,
                            self.error + self.session.ulp / 2, self.depth)

    def reshape(self, shape) -> "SharedTensor":
        """The same secret with another shape (local)."""
        return SharedTensor(self.session, self.shares.reshape(self.shares.shape[:1] + tuple(shape)), self.magnitude,
                            self.error, self.depth)

    def __neg__(self) -> "SharedTensor":
        return SharedTensor(self.session, np.uint64(0) - self.shares, self.magnitude, self.error, self.depth)

    def __sub__(self, other) -> "SharedTensor":
        return self + (-other if isinstance(other, SharedTensor) else -np.asarray(other, dtype=np.float64))

    def mul_public(self, value) -> "SharedTensor":
        """Multiply by a public real (encoded with f bits), then truncate."""
        public = np.asarray(value, dtype=np.float64)
        ring = self.session.encoder.encode(public)
        rounded = np.max(np.abs(self.session.encoder.decode(ring)), initial=0.0)
        product = self.shares * ring
        err = rounded * self.error + (self.magnitude + self.error) * self.session.ulp / 2
        return self._truncated(product, rounded * self.magnitude, err, self.depth)

    # -- multiplication gates -----------------------------------------------------
    def __mul__(self, other) -> "SharedTensor":
        if not isinstance(other, SharedTensor):
            return self.mul_public(other)
        return multiply([self], [(0, 0)])[0] if other is self else multiply([self, other], [(0, 1)])[0]

    def square(self) -> "SharedTensor":
        """x^2 with a square pair: one opened value instead of two."""
        return self * self

    def matmul(self, other: "SharedTensor") -> "SharedTensor":
        """Matrix product with a matrix triple (shapes as numpy.matmul, 2-D here)."""
        s = self.session
        a, b, c = s.provider.matmul(self.shape, other.shape).consume()
        e, f = s.comm.open(self.shares - a, other.shares - b)
        s.floor_bytes += 8 * (s.parties - 1) * (e.size + f.size)
        product = c + np.matmul(e, b) + np.matmul(a, f)
        s.comm.add_on_first_party(product, np.matmul(e, f), out=product)
        inner = self.shape[-1]
        s.multiplications += int(np.prod(product.shape[1:], dtype=np.int64)) * inner
        err = inner * (self.magnitude * other.error + other.magnitude * self.error + self.error * other.error)
        return self._truncated(product, inner * self.magnitude * other.magnitude, err,
                               max(self.depth, other.depth) + 1)

    # -- truncation ----------------------------------------------------------------
    def _truncated(self, product: np.ndarray, magnitude: float, error: float, depth: int) -> "SharedTensor":
        s = self.session
        s.depth = max(s.depth, depth)
        # truncation: up to one unit of 2^-f (SecureML's local shift or the borrow of the pair)
        return SharedTensor(s, _truncate(s, product, magnitude), magnitude + s.ulp, error + s.ulp, depth)


def _truncate(s: Session, product: np.ndarray, magnitude: float) -> np.ndarray:
    """Shares of the product divided by 2^f (its 2f fractional bits back to f).

    ``magnitude`` bounds |product| in real units.  Two parties shift locally,
    which fails (an error of 2^(64 - 2f)) with probability at most
    |x| 2^(2f) / 2^63 per element (SecureML, Theorem 1): added up in
    ``Session.truncation_failure_bound``.  More parties open x + 2^46 + r,
    which needs |x| 2^(2f) < 2^46.

    Raises
    ------
    EncodingError
        If the product is too large for the n-party protocol at these fractional bits.
    """
    f = np.uint64(s.encoder.frac_bits)
    scaled = magnitude * 2.0 ** (2 * s.encoder.frac_bits)
    if s.parties == 2:
        s.truncation_failure_bound += product[0].size * scaled / 2.0**63
        out = np.empty_like(product)
        for i, party in enumerate(s.comm.local_parties):
            out[i] = product[i] >> f if party == 0 else np.uint64(0) - ((np.uint64(0) - product[i]) >> f)
        return out
    if scaled >= 2.0**_OFFSET_BITS:
        raise EncodingError(f"a product bounded by {magnitude:g} does not fit the {s.parties}-party truncation at "
                            f"{s.encoder.frac_bits} fractional bits (it needs |x| 2^2f < 2^{_OFFSET_BITS}); "
                            "lower the fractional bits")
    r, r_shifted = s.provider.truncation(product.shape[1:], s.encoder.frac_bits, mask_bits=63).consume()
    offset = np.uint64(1) << np.uint64(_OFFSET_BITS)
    (c,) = s.comm.open(s.comm.add_on_first_party(product + r, offset))
    public = (c >> f) - (offset >> f)
    return s.comm.add_on_first_party(np.uint64(0) - r_shifted, public)


def multiply(operands: list, pairs: list) -> list:
    """Elementwise products x_i x_j of shared tensors, all in one round.

    Each operand is masked once, x_i - a_i is opened once however many
    products it enters, and x_i x_j = c_ij + e_i a_j + e_j a_i + e_i e_j with
    c_ij = a_i a_j from the dealer (Beaver's multiplication; a triple is the
    case [x, y], [(0, 1)], a square pair [x], [(0, 0)]).  All products are
    truncated together.

    Parameters
    ----------
    operands : list of SharedTensor
        Of one session; their shapes broadcast together.
    pairs : list of (i, j)
        Indices into ``operands``.

    Returns
    -------
    list of SharedTensor, one per pair
        Each with the bound |x y - x~ y~| <= M_x E_y + M_y E_x + E_x E_y plus one
        unit of 2^-f for the truncation, and depth one more than its operands'.
    """
    s = operands[0].session
    shape = np.broadcast_shapes(*(x.shape for x in operands))
    local = (len(s.comm.local_parties),)
    masks = s.provider.products(shape, len(operands), pairs).consume()
    a, c = masks[:len(operands)], masks[len(operands):]
    opened = s.comm.open(*(np.broadcast_to(x.shares, local + shape) - a_i for x, a_i in zip(operands, a)))
    size = int(np.prod(shape, dtype=np.int64))
    s.floor_bytes += 8 * (s.parties - 1) * size * len(operands)
    s.multiplications += size * len(pairs)
    product = np.empty((local[0], len(pairs), *shape), dtype=np.uint64)
    for p, (i, j) in enumerate(pairs):
        z = product[:, p]
        np.multiply(opened[i], a[j], out=z)
        z += c[p]
        z += opened[j] * a[i]
        s.comm.add_on_first_party(z, opened[i] * opened[j], out=z)
    bounds = [operands[i].magnitude * operands[j].magnitude for i, j in pairs]
    shares = _truncate(s, product, max(bounds))
    out = []
    for p, (i, j) in enumerate(pairs):
        x, y = operands[i], operands[j]
        depth = max(x.depth, y.depth) + 1
        s.depth = max(s.depth, depth)
        err = x.magnitude * y.error + y.magnitude * x.error + x.error * y.error
        out.append(SharedTensor(s, shares[:, p], x.magnitude * y.magnitude + s.ulp, err + s.ulp, depth))
    return out

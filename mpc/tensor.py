"""Secret-shared fixed-point tensors and their gates, with a running error bound.

An :class:`SharedTensor` holds the shares of every party (leading party axis)
of a fixed-point value.  Gates:

* local (no communication): add, subtract, negate, add or multiply by a
  public value (secure addition gates);
* multiplication gates: Beaver products, elementwise and matrix
  (:mod:`mpc.beaver`), each operand masked and opened once however many
  products it enters, then truncated back to f fractional bits
  (:mod:`mpc.truncation`).  A tensor can be masked and opened ahead of its
  products (:meth:`SharedTensor.open_masked`), and a selection of its rows
  keeps that mask and opening: the training data is opened once per run and
  every batch drawn from it reuses the opening.

Every tensor carries ``magnitude`` (a bound on |value| that the caller
vouches for, e.g. from the polynomial's interval) and ``error`` (a bound on
|decoded value - exact real result| from the input and coefficient roundings
and the truncations), propagated gate by gate:
|x y - x~ y~| <= M_x E_y + M_y E_x + E_x E_y, plus one unit of 2^-f for the
truncation.
"""

from __future__ import annotations

import numpy as np

from mpc.beaver import compute, open_masked
from mpc.communicator import Communicator, InProcessCommunicator
from mpc.costs import SessionStats
from mpc.csprng import CSPRNG, protocol_seed
from mpc.encoder import EncodingError, FixedPointEncoder
from mpc.provider import Provider, TrustedThirdParty
from mpc.sharing import ZeroSharing, aligned
from mpc.truncation import OFFSET_BITS, RingOverflowError, resolve_mode, truncate

__all__ = ["Session", "SharedTensor", "concatenate", "mul_public_many"]


class Session:
    """Parties, dealer and encoding of one secure computation.

    Build one with :meth:`in_process` (all n parties in this process) or
    :func:`mpc.tcp.connect` (one party of a run over TCP); both end here.

    Parameters
    ----------
    comm : Communicator
        Opens values and counts what that costs (``comm.costs``).
    provider : Provider
        The dealer's side: masks and correlations.
    zeros : ZeroSharing
        Pseudo-random sharings of zero, for sharing inputs without communication.
    frac_bits : int
        Fixed-point fractional bits f.
    truncation : {"local", "dealer"} or None
        How products are truncated (:mod:`mpc.truncation`): ``"local"`` (SecureML; 2 parties only, no
        communication, fails with probability up to |x| 2^2f / 2^63 per element) or ``"dealer"``
        (Escudero et al.; one opening and one round per product level, never fails).  Default: local
        for 2 parties, dealer for more.
    failure_budget : float or None
        Most truncation-failure probability a local-truncation run may accumulate; a gate
        that would pass it raises :class:`~mpc.encoder.EncodingError` before it
        runs.  None (default): no limit, the bound is only reported; the ``approx``
        commands plan every run against ``mpc.truncation.FAILURE_BUDGET`` (2^-20)
        and refuse it beforehand (:mod:`mpc.planning`).
    allow_out_of_range : bool
        Let :func:`mpc.polynomial.evaluate_many` (``inside=True``) go on when the
        public bounds allow an input outside its polynomial's interval, recording
        it in ``out_of_range`` instead of raising.

    Attributes
    ----------
    costs : mpc.costs.Costs
        Rounds, bytes per party, multiplications and the floor, counted where they arise.
    truncation_failure_bound : float
        Bound on the probability that any local truncation so far failed (0 in dealer mode).
    out_of_range : dict of str -> float
        Activation name -> largest public bound on its input seen outside its interval.
    """

    def __init__(self, comm: Communicator, provider: Provider, zeros: ZeroSharing, frac_bits: int = 16, *,
                 failure_budget: float | None = None, allow_out_of_range: bool = False,
                 truncation: str | None = None):
        self.comm, self.provider, self.zeros = comm, provider, zeros
        self.costs = comm.costs
        self.encoder = FixedPointEncoder(frac_bits)
        self.parties = comm.parties
        self.truncation = resolve_mode(truncation, self.parties)
        self.truncation_failure_bound = 0.0
        self.failure_budget, self.allow_out_of_range = failure_budget, allow_out_of_range
        self.out_of_range: dict = {}
        self.started = False  # anything shared yet

    @classmethod
    def in_process(cls, parties: int = 2, frac_bits: int = 16, seed: bytes | None = None, **options) -> "Session":
        """All n parties and the dealer in this process, with the accounting of real ones.

        Parameters
        ----------
        parties : int
            n >= 2.
        frac_bits : int
            Fixed-point fractional bits f.
        seed : bytes, optional
            Master seed that makes every share reproducible (tests, comparing
            transports); default: fresh seeds from os.urandom.
        **options
            ``failure_budget``, ``allow_out_of_range``, ``truncation`` (see :class:`Session`).

        Raises
        ------
        ValueError
            If ``parties`` < 2.
        """
        comm = InProcessCommunicator(parties)
        provider = TrustedThirdParty(parties, [protocol_seed(seed, f"dealer-party-{k}") for k in range(parties)],
                                     CSPRNG(protocol_seed(seed, "dealer")))
        zeros = ZeroSharing(parties, range(parties), {k: protocol_seed(seed, f"zero-{k}") for k in range(parties)})
        return cls(comm, provider, zeros, frac_bits, **options)

    def set_frac_bits(self, frac_bits: int) -> None:
        """Change the fixed-point fractional bits before anything is shared (e.g. once a run is planned).

        Raises
        ------
        RuntimeError
            If a gate ran already.
        """
        if self.started:
            raise RuntimeError("the fractional bits can only change before the computation starts")
        self.encoder = FixedPointEncoder(frac_bits)

    def set_truncation(self, truncation: str) -> None:
        """Change the truncation protocol before anything is shared (e.g. once a run is planned).

        Raises
        ------
        RuntimeError
            If a gate ran already.
        ValueError
            For a mode this number of parties cannot use.
        """
        if self.started:
            raise RuntimeError("the truncation can only change before the computation starts")
        self.truncation = resolve_mode(truncation, self.parties)

    @property
    def truncation_depth(self) -> int:
        """Openings a truncation adds to the critical path: 1 in dealer mode, 0 in local mode."""
        return 1 if self.truncation == "dealer" else 0

    @property
    def ulp(self) -> float:
        """2^-f, the fixed-point resolution."""
        return 2.0 ** -self.encoder.frac_bits

    def stats(self) -> SessionStats:
        """Costs so far, as a :class:`~mpc.costs.SessionStats` snapshot (the floor beside what was sent,
        the correlations used, and the truncation-failure bound)."""
        c, p = self.costs, self.provider
        return SessionStats(rounds=c.rounds, bytes_per_party=max(c.bytes_sent), bytes_by_party=tuple(c.bytes_sent),
                            multiplications=c.multiplications, triples=dict(p.counts), offline_bytes=p.offline_bytes,
                            offline_seconds=p.offline_seconds, floor_rounds=c.floor_rounds,
                            floor_bytes_per_party=c.floor_bytes, truncation=self.truncation,
                            truncation_failure_bound=self.truncation_failure_bound)

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
        EncodingError
            In the owner's process, if some |value| exceeds ``magnitude`` (every bound derived from it
            would be false).
        """
        position = self.comm.position(owner)
        if position is not None:
            x = np.asarray(values, dtype=np.float64)
            shape = x.shape
            largest = float(np.max(np.abs(x), initial=0.0))
            if magnitude is not None and largest > magnitude:  # the message must not show the secret values
                raise EncodingError(f"party {owner}'s input exceeds the public bound {magnitude:g} given for it: the "
                                    "products and their error bounds would be wrong; publish a bound that holds")
            magnitude = largest if magnitude is None else magnitude
        elif shape is None or magnitude is None:
            raise ValueError(f"party {owner} owns this input: the other parties must give its shape and magnitude")
        self.started = True
        shares = self.zeros.zero(shape)
        if position is not None:
            shares[position] += self.encoder.encode(x)
        return SharedTensor(self, shares, magnitude + self.ulp / 2, self.ulp / 2)

    def close(self) -> None:
        """Close the connections of a party session."""
        self.comm.close()


class SharedTensor:
    """Shares of a fixed-point tensor: ``shares`` has shape (local parties, *shape), dtype uint64.

    Attributes
    ----------
    magnitude : float
        Bound on |decoded value|.
    error : float
        Bound on |decoded value - exact real value|.
    depth : int
        Openings on the critical path to this value.
    mask, opened : Mask and ndarray, or None
        Once the tensor entered a product (or :meth:`open_masked`): its mask and the opened x - a, reused by
        later products, and kept by a selection of its rows (:meth:`__getitem__`).
    """

    def __init__(self, session: Session, shares: np.ndarray, magnitude: float, error: float, depth: int = 0):
        self.session, self.shares = session, shares
        self.magnitude, self.error, self.depth = float(magnitude), float(error), depth
        self.mask = self.opened = None
        self.opened_depth = depth

    @property
    def shape(self) -> tuple:
        """Shape of the secret (the shares without the party axis)."""
        return self.shares.shape[1:]

    def reveal(self, to: int | None = None) -> np.ndarray | None:
        """Open the value to every party, or to party ``to`` only, and decode it (one round).

        Returns None in the processes of the other parties when ``to`` is given.
        """
        s = self.session
        s.costs.opening(int(np.prod(self.shape, dtype=np.int64)), depth=self.depth + 1, to=to)
        ring = s.comm.open(self.shares)[0] if to is None else s.comm.open_to(to, self.shares)
        return None if ring is None else s.encoder.decode(ring)

    # -- local gates ------------------------------------------------------------
    def __add__(self, other) -> "SharedTensor":
        """x + y or x + public (local).

        Raises
        ------
        RingOverflowError
            If the sum's bound can reach 2^62 at these fractional bits (its encoding could wrap).
        """
        if isinstance(other, SharedTensor):
            ndim = max(len(self.shape), len(other.shape))  # broadcast the value axes, not the party axis
            magnitude = self._sum_bound(self.magnitude + other.magnitude)
            return SharedTensor(self.session, aligned(self.shares, ndim) + aligned(other.shares, ndim),
                                magnitude, self.error + other.error, max(self.depth, other.depth))
        public = np.asarray(other, dtype=np.float64)
        ring = self.session.encoder.encode(public)
        ring = np.broadcast_to(ring, np.broadcast_shapes(ring.shape, self.shape))
        magnitude = self._sum_bound(self.magnitude + float(np.max(np.abs(public))) + self.session.ulp / 2)
        return SharedTensor(self.session, self.session.comm.add_on_first_party(self.shares, ring), magnitude,
                            self.error + self.session.ulp / 2, self.depth)

    def _sum_bound(self, magnitude: float) -> float:
        """``magnitude``, refused (RingOverflowError) if |x| 2^f can reach 2^62, as the encoder refuses inputs."""
        f = self.session.encoder.frac_bits
        if magnitude * 2.0**f >= 2.0**OFFSET_BITS:
            raise RingOverflowError(f"a sum bounded by {magnitude:g} can reach 2^{OFFSET_BITS} at {f} fractional bits "
                                    f"(it needs |x| 2^f < 2^{OFFSET_BITS}); lower the fractional bits")
        return magnitude

    def reshape(self, shape) -> "SharedTensor":
        """The same secret with another shape (local)."""
        return SharedTensor(self.session, self.shares.reshape(self.shares.shape[:1] + tuple(shape)), self.magnitude,
                            self.error, self.depth)

    def open_masked(self) -> "SharedTensor":
        """Mask this tensor and open x - a now (one round; nothing if it was opened before); returns it.

        Its products, and those of any selection of its rows, then open nothing
        more (:func:`mpc.beaver.open_masked`): mask a data owner's training matrix
        once, and the batches drawn from it cost no traffic.
        """
        open_masked(self)
        return self

    def __getitem__(self, key) -> "SharedTensor":
        """A slice of the secret (numpy indexing of the value axes; local).

        A selection of rows (a slice, or a 1-D integer or boolean array, on the
        first axis only) of an opened tensor keeps its opening and, as its mask,
        the same rows of the stored mask (:meth:`mpc.provider.Mask.take`): its
        products need no opening.  Any other slice is a new secret, masked afresh
        when it enters a product.
        """
        key = key if isinstance(key, tuple) else (key,)
        out = SharedTensor(self.session, self.shares[(slice(None), *key)], self.magnitude, self.error, self.depth)
        rows = _rows(key, self.shape) if self.opened is not None else None
        if rows is not None:
            out.mask, out.opened, out.opened_depth = self.mask.take(rows), self.opened[rows], self.opened_depth
        return out

    def __neg__(self) -> "SharedTensor":
        return SharedTensor(self.session, np.uint64(0) - self.shares, self.magnitude, self.error, self.depth)

    def __sub__(self, other) -> "SharedTensor":
        return self + (-other if isinstance(other, SharedTensor) else -np.asarray(other, dtype=np.float64))

    def mul_public(self, value) -> "SharedTensor":
        """Multiply by a public real (encoded with f bits), then truncate; by public integers, exactly."""
        return mul_public_many([(self, value)])[0]

    # -- multiplication gates -----------------------------------------------------
    def __mul__(self, other) -> "SharedTensor":
        if not isinstance(other, SharedTensor):
            return self.mul_public(other)
        return compute([("mul", self, other)])[0]

    def square(self) -> "SharedTensor":
        """x^2: one opened value instead of two."""
        return self * self

    def matmul(self, other: "SharedTensor") -> "SharedTensor":
        """Matrix product ``x @ y`` (shapes as numpy.matmul); a matrix already opened (weights) is not opened again."""
        return compute([("matmul", self, other)])[0]

    __matmul__ = matmul


def _rows(key: tuple, shape: tuple):
    """The first-axis indices (0..n-1) that ``key`` selects if it selects whole rows only (a slice or a 1-D
    integer or boolean array, then full slices), else None."""
    if not shape or not key or any(not (isinstance(k, slice) and k == slice(None)) for k in key[1:]):
        return None
    first = key[0]
    if not isinstance(first, slice):
        first = np.asarray(first)
        if first.ndim != 1 or first.dtype.kind not in "iub":
            return None
    return np.arange(shape[0])[first]


def concatenate(tensors: list, axis: int = -1) -> SharedTensor:
    """The secrets joined along ``axis`` of their value axes (local), with the largest bounds."""
    axis = axis if axis < 0 else axis + 1
    first = tensors[0]
    return SharedTensor(first.session, np.concatenate([t.shares for t in tensors], axis=axis),
                        max(t.magnitude for t in tensors), max(t.error for t in tensors),
                        max(t.depth for t in tensors))


def mul_public_many(pairs: list) -> list:
    """Each tensor times its public real, with one truncation for all (one round in dealer mode, none in local).

    Parameters
    ----------
    pairs : list of (SharedTensor, array_like of float)
        Tensors of one session and public values broadcastable to their shapes.  A value made of
        integers only (e.g. an activation's scale 1 on [-1, 1]) is applied exactly, without truncation.

    Returns
    -------
    list of SharedTensor

    Raises
    ------
    RingOverflowError
        If a product can reach 2^62 at these fractional bits.
    """
    s = pairs[0][0].session
    out: list = [None] * len(pairs)
    pending, products, bounds = [], [], []
    for n, (x, value) in enumerate(pairs):
        public = np.asarray(value, dtype=np.float64)
        if np.all(np.abs(public) < 2.0**31) and np.all(public == np.round(public)):
            k = float(np.max(np.abs(public), initial=0.0))
            shares = x.shares * public.astype(np.int64).astype(np.uint64)
            out[n] = SharedTensor(s, shares, x._sum_bound(k * x.magnitude), k * x.error, x.depth)
            continue
        ring = s.encoder.encode(public)
        rounded = float(np.max(np.abs(s.encoder.decode(ring)), initial=0.0))
        pending.append((n, x, rounded))
        products.append(x.shares * ring)
        bounds.append(rounded * x.magnitude)
    if pending:
        depth = max(x.depth for _, x, _ in pending)
        for (n, x, rounded), shares in zip(pending, truncate(s, products, bounds, depth)):
            err = rounded * x.error + (x.magnitude + x.error) * s.ulp / 2
            # truncation: up to one unit of 2^-f
            out[n] = SharedTensor(s, shares, rounded * x.magnitude + s.ulp, err + s.ulp, x.depth + s.truncation_depth)
    return out

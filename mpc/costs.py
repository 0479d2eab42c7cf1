"""What a secure computation costs: one counter object per session, and its snapshots.

:class:`Costs` is bumped where the cost arises -- the communicator for every
message (rounds, bytes per party), the gates for every opening and product
(the floor and the multiplications) -- and read through
:meth:`mpc.tensor.Session.stats` as a :class:`SessionStats`.  The accounting
follows CrypTen's communicator: opening m ring elements to everybody costs each
party (n - 1) 8 m bytes and one round; opening them to one party costs each
other party 8 m bytes.

The floor is what any dealer-assisted protocol needs for the same circuit and
truncation: every secret operand of a product opened once (8 (n - 1) bytes per
element per party), every truncated element opened once in dealer mode (8 (n -
1); nothing for local truncation), every opened result element once, and as
many rounds as openings on the critical path (``floor_rounds``, the circuit's
depth; a dealer truncation adds one).
"""

from __future__ import annotations

import dataclasses

__all__ = ["Costs", "SessionStats"]


class Costs:
    """Running counters of one session (every process keeps those of all n parties: they are public).

    Parameters
    ----------
    parties : int
        n >= 2.

    Attributes
    ----------
    rounds : int
        Communication rounds so far.
    bytes_sent : list of int, length n
        Bytes each party sent so far.
    multiplications : int
        Scalar products computed (an n x k by k x m matrix product counts n k m).
    floor_bytes : int
        Bytes per party the circuit needs at least (see the module docstring).
    floor_rounds : int
        Openings on the critical path so far: the fewest rounds the circuit can take.
    """

    def __init__(self, parties: int):
        self.parties = parties
        self.rounds = 0
        self.bytes_sent = [0] * parties
        self.multiplications = 0
        self.floor_bytes = 0
        self.floor_rounds = 0

    def message(self, elements: int, to: int | None = None) -> None:
        """One round opening ``elements`` ring elements to everybody, or to party ``to`` only."""
        self.rounds += 1
        for k in range(self.parties):
            if to is None:
                self.bytes_sent[k] += (self.parties - 1) * 8 * elements
            elif k != to:
                self.bytes_sent[k] += 8 * elements

    def opening(self, elements: int, depth: int | None = None, to: int | None = None) -> None:
        """The circuit opens ``elements`` secret elements (to everybody, or to ``to``); ``depth``: openings on
        the critical path up to and including this one, if it ends there."""
        self.floor_bytes += 8 * (self.parties - 1 if to is None else 1) * elements
        if depth is not None:
            self.reached(depth)

    def reached(self, depth: int) -> None:
        """A value at ``depth`` openings on its critical path was computed."""
        self.floor_rounds = max(self.floor_rounds, depth)

    def multiplied(self, count: int) -> None:
        """``count`` more scalar products."""
        self.multiplications += count


@dataclasses.dataclass(frozen=True)
class SessionStats:
    """A snapshot of a session's costs (:meth:`mpc.tensor.Session.stats`).

    Attributes
    ----------
    rounds : int
    bytes_per_party : int
        The most any party sent, in bytes.
    bytes_by_party : tuple of int
    multiplications : int
    triples : dict of str -> int
        Correlated-randomness elements the dealer handed out, by kind.
    offline_bytes : int
        The dealer's traffic (the last party's share of each correlation).
    offline_seconds : float
        Time spent drawing correlations.
    floor_rounds, floor_bytes_per_party : int
        The theoretical minimum for the same circuit and truncation (:mod:`mpc.costs`).
    truncation : str
        The truncation protocol, ``"local"`` or ``"dealer"`` (:mod:`mpc.truncation`).
    truncation_failure_bound : float
        Bound on the probability that any local truncation so far went wrong (0 in dealer mode).
    """

    rounds: int
    bytes_per_party: int
    bytes_by_party: tuple
    multiplications: int
    triples: dict
    offline_bytes: int
    offline_seconds: float
    floor_rounds: int
    floor_bytes_per_party: int
    truncation: str
    truncation_failure_bound: float

    def __sub__(self, before: "SessionStats") -> "SessionStats":
        """What the session spent between the snapshot ``before`` and this one (``bytes_per_party``: the most
        any party sent in between; ``offline_seconds`` and the failure bound: the increase)."""
        sent = tuple(a - b for a, b in zip(self.bytes_by_party, before.bytes_by_party))
        return SessionStats(rounds=self.rounds - before.rounds, bytes_per_party=max(sent), bytes_by_party=sent,
                            multiplications=self.multiplications - before.multiplications,
                            triples={k: v - before.triples.get(k, 0) for k, v in self.triples.items()},
                            offline_bytes=self.offline_bytes - before.offline_bytes,
                            offline_seconds=self.offline_seconds - before.offline_seconds,
                            floor_rounds=self.floor_rounds - before.floor_rounds,
                            floor_bytes_per_party=self.floor_bytes_per_party - before.floor_bytes_per_party,
                            truncation=self.truncation,
                            truncation_failure_bound=self.truncation_failure_bound - before.truncation_failure_bound)

    def as_dict(self) -> dict:
        """The fields as a JSON-ready dict (``bytes_by_party`` a list)."""
        out = dataclasses.asdict(self)
        out["bytes_by_party"] = list(self.bytes_by_party)
        return out

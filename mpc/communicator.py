"""Communicators: how the parties open values, and what that costs.

A communicator knows which parties' shares this process holds
(``local_parties``): all n in process, where every share array carries a
leading party axis of length n, or one in a party process of the TCP
transport (:mod:`mpc.tcp`), where the axis has length 1.  The gates are
written once against this interface (SPMD: every process runs the same
program on its own shares).

Accounting, the same on every transport: opening a value of m ring elements
to everybody costs every party (n - 1) 8 m bytes (each sends its share to the
others) and one round; opening it to one party costs every other party 8 m
bytes; values opened together share the round (CrypTen's ``communicator``
counts the same way).  Every process keeps the counts of all n parties, which
are public functions of the circuit.
"""

from __future__ import annotations

import json

import numpy as np

from mpc.costs import Costs
from mpc.wire import ProtocolError

__all__ = ["Communicator", "InProcessCommunicator"]


class Communicator:
    """The interface: open shared values, add public values on party 0, count rounds and bytes.

    Parameters
    ----------
    parties : int
        n >= 2.
    local_parties : sequence of int
        The parties whose shares this process holds, in the order of the leading share axis.

    Attributes
    ----------
    costs : mpc.costs.Costs
        The session's cost counters: this communicator counts the rounds and the bytes every party sent.
    """

    def __init__(self, parties: int, local_parties):
        if parties < 2:
            raise ValueError(f"a protocol needs at least 2 parties, got {parties}")
        self.parties = parties
        self.local_parties = tuple(local_parties)
        self.costs = Costs(parties)

    def position(self, party: int) -> int | None:
        """Index of ``party`` on the local share axis, or None if this process does not hold its shares."""
        return self.local_parties.index(party) if party in self.local_parties else None

    def open(self, *shares: np.ndarray) -> list[np.ndarray]:
        """Reveal several shared values to every party in one round.

        Parameters
        ----------
        *shares : ndarray of uint64, shape (local parties, ...)

        Returns
        -------
        list of ndarray of uint64 (the party axis summed away), one per argument
        """
        self.costs.message(sum(int(np.prod(s.shape[1:], dtype=np.int64)) for s in shares))
        return self._exchange(list(shares), None)

    def open_to(self, party: int, share: np.ndarray) -> np.ndarray | None:
        """Reveal a shared value to ``party`` only (one round); None in processes that do not hold it."""
        self.costs.message(int(np.prod(share.shape[1:], dtype=np.int64)), to=party)
        out = self._exchange([share], party)
        return None if out is None else out[0]

    def announce(self, owner: int, value=None):
        """A public value that ``owner`` holds (JSON: numbers, texts, lists, dicts), made known to every party.

        For set-up information that is public anyway (a model's configuration and
        activations, weight bounds, input shapes); not counted as a round.

        Returns
        -------
        The value, as JSON gives it back (tuples become lists), in every process.

        Raises
        ------
        ValueError
            In the owner's process, if the value is not JSON (or not finite).
        mpc.wire.ProtocolError
            In the other processes, if what arrives is not JSON (NaN and infinities are not, as the owner's
            side refuses them too).
        """
        mine = self.position(owner) is not None
        payload = json.dumps(value, allow_nan=False).encode() if mine else None
        received = self._announce(owner, payload)
        try:
            return json.loads(received, parse_constant=_not_json)
        except (ValueError, RecursionError):
            raise ProtocolError(f"party {owner} announced a public value that is not valid JSON") from None

    def _announce(self, owner: int, payload: bytes | None) -> bytes:
        return payload

    def add_on_first_party(self, shares: np.ndarray, public: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Shares of secret + public: party 0 adds ``public`` to its share (in place when ``out is shares``)."""
        out = shares.copy() if out is None else out
        first = self.position(0)
        if first is not None:
            out[first] += np.asarray(public, dtype=np.uint64)
        return out

    def close(self) -> None:
        """Release connections (nothing in process)."""

    def _exchange(self, shares: list, to: int | None) -> list | None:
        raise NotImplementedError


def _not_json(constant: str):
    """``json.loads`` takes NaN and Infinity by default; a public value from a peer may not hold them."""
    raise ValueError(f"{constant} is not JSON")


class InProcessCommunicator(Communicator):
    """All parties in one process, with the same accounting as real ones.

    Parameters
    ----------
    parties : int
        n >= 2.
    """

    def __init__(self, parties: int = 2):
        super().__init__(parties, range(parties))

    def _exchange(self, shares: list, to: int | None) -> list:
        return [s[0] + s[1] if self.parties == 2 else s.sum(axis=0, dtype=np.uint64) for s in shares]

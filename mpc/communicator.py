"""Communicators: how the parties open values, and what that costs.

The in-process communicator simulates all n parties in one process: every
share array carries a leading party axis of length n, and opening a value
sums it over that axis.  It counts what real parties would send: opening a
value of m ring elements costs every party (n - 1) 8 m bytes (each sends its
share to the others) and one round; values opened together share the round
(CrypTen's ``communicator`` counts the same way).
"""

from __future__ import annotations

import numpy as np

__all__ = ["InProcessCommunicator"]


class InProcessCommunicator:
    """All parties in one process, with exact traffic accounting.

    Parameters
    ----------
    parties : int
        n >= 2.

    Attributes
    ----------
    rounds : int
        Communication rounds so far.
    bytes_sent : int
        Bytes sent by each party so far (the same for every party here).
    """

    def __init__(self, parties: int = 2):
        if parties < 2:
            raise ValueError(f"a protocol needs at least 2 parties, got {parties}")
        self.parties = parties
        self.rounds = 0
        self.bytes_sent = 0

    def open(self, *shares: np.ndarray) -> list[np.ndarray]:
        """Reveal several shared values to every party in one round.

        Parameters
        ----------
        *shares : ndarray of uint64, shape (n, ...)

        Returns
        -------
        list of ndarray of uint64 (the party axis summed away)
        """
        self.rounds += 1
        self.bytes_sent += sum((self.parties - 1) * 8 * int(np.prod(s.shape[1:], dtype=np.int64)) for s in shares)
        return [s[0] + s[1] if self.parties == 2 else s.sum(axis=0, dtype=np.uint64) for s in shares]

    def add_on_first_party(self, shares: np.ndarray, public: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Shares of secret + public: party 0 adds ``public`` to its share (in place when ``out is shares``)."""
        out = shares.copy() if out is None else out
        out[0] += np.asarray(public, dtype=np.uint64)
        return out

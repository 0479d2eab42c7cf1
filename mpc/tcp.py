"""The TCP transport's session: one process becomes party k of n, connected to every other party and the dealer.

:func:`connect` turns one process into party k of n: it introduces itself to
the dealer (which answers with the seed they share), to the parties below it
(it dials them) and waits for the parties above it (they dial it), then sends
party k + 1 the zero-sharing seed they share.  Every connection starts with
the HELLO exchange of :mod:`mpc.handshake` (computation, role, certificate,
public parameters), and the whole set-up has one deadline.  The
:class:`Session` it returns runs the same gates as the in-process one, on this
party's shares only: opening a value sends this party's share to the others
and adds theirs.

A peer that disconnects, misses a deadline, introduces itself wrongly or
sends a malformed message raises a :class:`~mpc.wire.TransportError` that
names it; a party that fails sends ERROR to everybody before it closes, so the
others stop at once with its reason rather than at their timeout.
"""

from __future__ import annotations

import json
import socket
import time

import numpy as np

from mpc.channel import PUBLIC_LIMIT, Channel, Identity, accept, dial
from mpc.communicator import Communicator
from mpc.csprng import protocol_seed
from mpc.handshake import TlsConfig, check_addresses, describe
from mpc.provider import PartyProvider
from mpc.sharing import ZeroSharing
from mpc.truncation import resolve_mode
from mpc.wire import DEALER, MessageType, ProtocolError, TransportError, peer_name

__all__ = ["TcpCommunicator", "connect"]


class TcpCommunicator(Communicator):
    """Party k's side of the mesh.

    Parameters
    ----------
    party, parties : int
    channels : dict of int -> Channel
        One per other party.
    dealer : Channel
        The connection to the dealer (closed with the others).

    Attributes
    ----------
    wire_bytes : int
        Share bytes this party actually sent (equal to ``costs.bytes_sent[party]``).
    """

    def __init__(self, party: int, parties: int, channels: dict, dealer: Channel):
        super().__init__(parties, [party])
        self.party, self.channels, self.dealer = party, channels, dealer
        self.wire_bytes = 0

    def _exchange(self, shares: list, to: int | None) -> list | None:
        mine = np.concatenate([np.ascontiguousarray(s[0]).ravel() for s in shares]).astype("<u8", copy=False)
        if to is not None and to != self.party:
            self._send(to, mine)
            return None
        total = mine.astype(np.uint64)
        for peer in sorted(self.channels):  # pairwise, the lower id sending first: no two parties wait on each other
            if to is None and self.party < peer:
                self._send(peer, mine)
            data = self.channels[peer].recv(MessageType.SHARES, mine.nbytes)
            if len(data) != mine.nbytes:
                raise ProtocolError(f"{peer_name(peer)} sent {len(data)} bytes of shares where {mine.nbytes} "
                                    "were expected: are all parties running the same computation?")
            total += np.frombuffer(data, dtype="<u8")
            if to is None and self.party > peer:
                self._send(peer, mine)
        out, start = [], 0
        for s in shares:
            size = int(np.prod(s.shape[1:], dtype=np.int64))
            out.append(total[start:start + size].reshape(s.shape[1:]))
            start += size
        return out

    def _announce(self, owner: int, payload: bytes | None) -> bytes:
        if owner == self.party:
            for channel in self.channels.values():
                channel.send(MessageType.PUBLIC, payload)
            return payload
        return bytes(self.channels[owner].recv(MessageType.PUBLIC, PUBLIC_LIMIT))

    def _send(self, peer: int, mine: np.ndarray) -> None:
        self.channels[peer].send(MessageType.SHARES, mine)
        self.wire_bytes += mine.nbytes

    def close(self) -> None:
        """Say BYE to every party and the dealer and close the connections."""
        for channel in [*self.channels.values(), self.dealer]:
            channel.close()

    def abort(self, reason: str) -> None:
        """Tell every party and the dealer that this party failed (ERROR with ``reason``) and close."""
        for channel in [*self.channels.values(), self.dealer]:
            channel.close(MessageType.ERROR, reason)


def connect(party: int, parties: int, addresses: dict, dealer: tuple, *, frac_bits: int = 16,
            timeout: float = 60.0, tls: TlsConfig | None = None, seed: bytes | None = None, session: str = "",
            params: dict | None = None, listener: socket.socket | None = None, insecure: bool = False,
            session_options: dict | None = None):
    """Join a computation as party ``party`` and return its :class:`mpc.tensor.Session`.

    Parameters
    ----------
    party : int
        This party's id, 0..n-1.
    parties : int
        n >= 2.
    addresses : dict of int -> (host, port), or a list indexed by party
        Where the other parties listen; only the parties below this one are dialled (those above
        dial this one), so only their entries are needed.
    dealer : (host, port)
        Where the dealer listens (:func:`mpc.dealer_server.serve`).
    frac_bits : int
    timeout : float
        Seconds for the whole set-up, and for any one message afterwards.
    tls : TlsConfig, optional
        Without it, every address must be loopback unless ``insecure``.
    seed : bytes, optional
        Master seed of a reproducible run (tests on loopback only): every party and the dealer must get the same.
    session : str
        Identifies the computation; connections from another one are refused.
    params : dict of str -> value, optional
        Public parameters every party must agree on (``frac_bits`` and ``truncation``, the session's
        mode, are added unless given); compared at set-up.
    listener : socket.socket, optional
        The listening socket (bound, listening) the parties above this one dial; needed unless this is the last.
    insecure : bool
        Allow plaintext TCP to non-loopback addresses.
    session_options : dict, optional
        Further keyword arguments of :class:`mpc.tensor.Session` (``truncation``, ``failure_budget``, ...).

    Raises
    ------
    TransportError
        If a peer does not connect in time, is unknown or refused, disagrees on a public parameter, or fails.
    ValueError
        For a truncation mode this number of parties cannot use.
    """
    from mpc.tensor import Session

    if not 0 <= party < parties:
        raise TransportError(f"party {party} of {parties} needs an id in 0..{parties - 1}")
    addresses = dict(enumerate(addresses)) if isinstance(addresses, (list, tuple)) else dict(addresses)
    missing = [k for k in range(party) if k not in addresses]
    if missing or (listener is None and party < parties - 1):
        raise TransportError(f"party {party} needs the addresses of parties 0..{party - 1}"
                             + ("" if party == parties - 1 else " and a listening socket for the parties above it"))
    hosts = [dealer[0], *(addresses[k][0] for k in range(party))]
    hosts += [listener.getsockname()[0]] if listener is not None else []
    try:
        check_addresses(hosts, tls, insecure, seed)
    except TransportError:
        if listener is not None:
            listener.close()
        raise
    # the truncation protocol is a public parameter like the fractional bits: parties that disagree stop here
    mode = resolve_mode((session_options or {}).get("truncation"), parties)
    public = {name: describe(value) for name, value in
              {"frac_bits": frac_bits, "truncation": mode, **(params or {})}.items()}
    me = Identity(party, parties, session, public)
    deadline = time.monotonic() + timeout
    channels: dict = {}
    dealer_channel = None
    try:
        dealer_channel = dial(tuple(dealer), DEALER, me, deadline, timeout, tls)
        dealer_seed = bytes(dealer_channel.recv(MessageType.SEED, 16, deadline))
        for peer in range(party):
            channels[peer] = dial(tuple(addresses[peer]), peer, me, deadline, timeout, tls)
        while len(channels) < parties - 1:
            # the dealer is watched meanwhile (it sends nothing more unless it fails); a lower party may
            # already have sent its zero-sharing seed, so the parties' channels are not
            channel = accept(listener, me, set(range(party + 1, parties)) - set(channels), channels, deadline,
                             timeout, tls, watch=[dealer_channel])
            channels[channel.peer] = channel
        zero_seed = protocol_seed(seed, f"zero-{party}")
        channels[(party + 1) % parties].send(MessageType.SEED, zero_seed)
        previous = bytes(channels[(party - 1) % parties].recv(MessageType.SEED, 16, deadline))
        if len(dealer_seed) != 16 or len(previous) != 16:
            raise ProtocolError("a seed of the wrong length arrived while connecting")
    except BaseException as exc:
        for channel in [*channels.values(), *([dealer_channel] if dealer_channel else [])]:
            channel.close(MessageType.ERROR, str(exc) or type(exc).__name__)
        raise
    finally:
        if listener is not None:
            listener.close()

    def request(call, derived_shapes, released):
        kind, args = call
        dealer_channel.send(MessageType.REQUEST,
                            json.dumps({"kind": kind, "args": args, "release": released}).encode())
        if not derived_shapes:  # a mask: the dealer draws it in step and answers nothing
            return []
        sizes = [int(np.prod(s, dtype=np.int64)) for s in derived_shapes]
        data = dealer_channel.recv(MessageType.SHARES, 8 * sum(sizes))
        if len(data) != 8 * sum(sizes):
            raise ProtocolError(f"the dealer sent {len(data)} bytes for a {kind} where {8 * sum(sizes)} were expected")
        flat = np.frombuffer(data, dtype="<u8").astype(np.uint64)
        return [part.reshape(s) for part, s in zip(np.split(flat, np.cumsum(sizes)[:-1]), derived_shapes)]

    comm = TcpCommunicator(party, parties, channels, dealer_channel)
    provider = PartyProvider(party, parties, dealer_seed, request if party == parties - 1 else None)
    zeros = ZeroSharing(parties, [party], {party: zero_seed, (party - 1) % parties: previous})
    return Session(comm, provider, zeros, frac_bits, **(session_options or {}))

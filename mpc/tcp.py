"""The TCP transport: each party a process, connected to every other party and to the dealer.

:func:`connect` turns one process into party k of n: it introduces itself to
the dealer (which answers with the seed they share), to the parties below it
(it dials them) and waits for the parties above it (they dial it), then sends
party k + 1 the zero-sharing seed they share.  The :class:`Session` it
returns runs the same gates as the in-process one, on this party's shares
only: opening a value sends this party's share to the others and adds theirs.

Messages are those of :mod:`mpc.wire`.  A peer that disconnects, stays silent
past ``timeout`` seconds, introduces itself with an unknown party id, or sends
a malformed message raises a :class:`~mpc.wire.TransportError` that names it;
a party that fails sends ERROR to everybody before it closes, so the others
stop at once with its reason rather than at their timeout.

TLS (standard-library ``ssl``) is optional: with a :class:`TlsConfig`, every
connection is mutually authenticated against one certificate authority (the
party id is then the one given in HELLO; host names are not checked, the
parties being identified by their certificates' CA).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
import time

import numpy as np

from mpc.communicator import Communicator
from mpc.csprng import protocol_seed
from mpc.provider import PartyProvider
from mpc.sharing import ZeroSharing
from mpc.wire import (DEALER, MessageType, PeerError, ProtocolError, TransportError, peer_name, recv_message,
                      send_message)

__all__ = ["TlsConfig", "Channel", "TcpCommunicator", "connect", "dial", "accept", "hello"]


@dataclasses.dataclass(frozen=True)
class TlsConfig:
    """Certificates for mutually authenticated TLS (PEM files, by path).

    Attributes
    ----------
    cert, key : str
        This process's certificate and private key.
    ca : str
        The certificate authority that signed every party's and the dealer's certificate.
    """

    cert: str
    key: str
    ca: str

    def context(self, server: bool) -> ssl.SSLContext:
        """A TLS 1.2+ context that presents ``cert`` and requires a peer certificate signed by ``ca``."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.cert, self.key)
            ctx.load_verify_locations(self.ca)
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot load the TLS certificates ({self.cert}, {self.key}, {self.ca}): {exc}") from None
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


class Channel:
    """One connection to one peer, used by one thread.

    Sends and receives are blocking, under the socket's timeout.  Opening a
    value exchanges shares pairwise in a fixed order (the lower id sends
    first), so two parties never both wait to send large shares to each other
    and no sender threads are needed (an ``ssl`` socket must not be read and
    written from two threads at once).

    Parameters
    ----------
    sock : socket.socket
        Connected (and, with TLS, wrapped) socket.
    me : int
        This process's id on the wire (party id, or ``DEALER``).
    peer : int
        The peer's id.
    timeout : float
        Seconds a send or receive may wait.
    """

    def __init__(self, sock: socket.socket, me: int, peer: int, timeout: float):
        self.sock, self.me, self.peer = sock, me, peer
        sock.settimeout(timeout)
        self.closed = False

    def send(self, kind: MessageType, payload=b"") -> None:
        """Send one message.

        Raises
        ------
        PeerError
            If the peer is gone or does not read within the timeout.
        """
        try:
            send_message(self.sock, kind, self.me, payload)
        except socket.timeout:
            raise PeerError(f"{peer_name(self.peer)} took nothing for {self.sock.gettimeout():g} s (timeout); "
                            "is it still running?") from None
        except OSError as exc:
            self._raise_reason()
            raise PeerError(f"{peer_name(self.peer)} disconnected (while sending to it: {exc.strerror or exc})") from None

    def _raise_reason(self) -> None:
        """If the peer left an ERROR message before it closed, raise with its reason."""
        timeout = self.sock.gettimeout()
        try:
            self.sock.settimeout(0.5)
            kind, payload = recv_message(self.sock, self.peer)
        except (PeerError, ProtocolError, OSError):
            return
        finally:
            self.sock.settimeout(timeout)
        if kind == MessageType.ERROR:
            raise PeerError(f"{peer_name(self.peer)} failed: {payload.decode(errors='replace')}")

    def receive(self) -> tuple[MessageType, bytearray]:
        """The next message; an ERROR message raises :class:`PeerError` with the peer's reason."""
        kind, payload = recv_message(self.sock, self.peer)
        if kind == MessageType.ERROR:
            raise PeerError(f"{peer_name(self.peer)} failed: {payload.decode(errors='replace')}")
        return kind, payload

    def recv(self, expect: MessageType) -> bytearray:
        """The payload of the next message, which must be of type ``expect``."""
        kind, payload = self.receive()
        if kind == MessageType.BYE:
            raise PeerError(f"{peer_name(self.peer)} finished while {expect.name} was expected from it")
        if kind != expect:
            raise ProtocolError(f"{peer_name(self.peer)} sent {kind.name} where {expect.name} was expected")
        return payload

    def close(self, kind: MessageType = MessageType.BYE, text: str = "") -> None:
        """Send BYE (or ERROR with ``text``) if the peer is still there, and close the connection.

        After an ERROR the connection is drained for up to a second before it is closed: closing
        with unread data would reset it, and the peer could lose the ERROR before reading it.
        """
        if self.closed:
            return
        self.closed = True
        try:
            self.send(kind, text.encode())
            if kind == MessageType.ERROR:
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(1.0)
                while self.sock.recv(1 << 16):
                    pass
            self.sock.shutdown(socket.SHUT_RDWR)
        except (PeerError, OSError):
            pass
        self.sock.close()


def hello(party: int, parties: int, session: str) -> bytes:
    """The HELLO payload: who is calling, in which computation."""
    return json.dumps({"party": party, "parties": parties, "session": session}).encode()


def dial(address: tuple, deadline: float, tls: TlsConfig | None) -> socket.socket:
    """Connect to ``address`` (host, port), retrying until ``deadline`` (time.monotonic) while nobody listens."""
    while True:
        try:
            sock = socket.create_connection(address, timeout=max(deadline - time.monotonic(), 0.01))
            break
        except (ConnectionRefusedError, socket.timeout) as exc:
            if time.monotonic() >= deadline:
                raise PeerError(f"nobody answered at {address[0]}:{address[1]} ({exc})") from None
            time.sleep(0.05)  # the peer's process may still be starting
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        try:
            sock = tls.context(server=False).wrap_socket(sock)
        except (ssl.SSLError, OSError) as exc:
            raise PeerError(f"TLS handshake with {address[0]}:{address[1]} failed: {exc}") from None
    return sock


def accept(listener: socket.socket, deadline: float, tls: TlsConfig | None, parties: int, session: str,
           expected: set, me: int) -> tuple[int, socket.socket]:
    """Accept one connection and read its HELLO; returns (party id, socket).

    ``me`` is the accepting process's id (a party's, or ``DEALER``), used to sign an ERROR reply.

    Raises
    ------
    PeerError
        If nobody calls before ``deadline``.
    ProtocolError
        If the caller's id is not in ``expected``, or it belongs to another computation.
    """
    listener.settimeout(max(deadline - time.monotonic(), 0.01))
    try:
        sock, _ = listener.accept()
    except socket.timeout:
        raise PeerError(f"{', '.join(map(peer_name, sorted(expected)))} did not connect in time") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(max(deadline - time.monotonic(), 0.01))
    if tls is not None:
        try:
            sock = tls.context(server=True).wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise PeerError(f"TLS handshake with a connecting peer failed: {exc}") from None
    kind, payload = recv_message(sock, None)
    try:
        info = json.loads(payload) if kind == MessageType.HELLO else None
        party, their_parties, their_session = info["party"], info["parties"], info["session"]
    except (ValueError, TypeError, KeyError):
        sock.close()
        raise ProtocolError("a connecting peer did not introduce itself with a valid HELLO") from None
    problem = None
    if their_session != session or their_parties != parties:
        problem = f"party {party} belongs to another computation ({their_parties} parties, session {their_session!r})"
    elif party not in expected:
        problem = (f"a peer introduced itself as party {party}, which is not one of the parties still expected "
                   f"({', '.join(map(str, sorted(expected)))})")
    if problem:
        try:
            send_message(sock, MessageType.ERROR, me, problem.encode())
        finally:
            sock.close()
        raise ProtocolError(problem)
    return party, sock


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
        Share bytes this party actually sent (equal to ``bytes_sent[party]``).
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
            data = self.channels[peer].recv(MessageType.SHARES)
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


def connect(party: int, parties: int, addresses: list, dealer: tuple, *, frac_bits: int = 16,
            timeout: float = 60.0, tls: TlsConfig | None = None, seed: bytes | None = None, session: str = "",
            listener: socket.socket | None = None):
    """Join a computation as party ``party`` and return its :class:`mpc.tensor.Session`.

    Parameters
    ----------
    party : int
        This party's id, 0..n-1.
    parties : int
        n >= 2.
    addresses : list of (host, port)
        Where every party listens (this party's own entry is used unless ``listener`` is given).
    dealer : (host, port)
        Where the dealer listens (:func:`mpc.dealer_server.serve`).
    frac_bits : int
    timeout : float
        Seconds to wait for the peers to connect, and for any one message afterwards.
    tls : TlsConfig, optional
    seed : bytes, optional
        Master seed of a reproducible run (tests): every party and the dealer must get the same.
    session : str
        Identifies the computation; connections from another one are refused.
    listener : socket.socket, optional
        A listening socket already bound (e.g. to port 0).

    Raises
    ------
    TransportError
        If a peer does not connect in time, is unknown, or fails.
    """
    from mpc.tensor import Session

    if not 0 <= party < parties or len(addresses) != parties:
        raise TransportError(f"party {party} of {parties} needs an id in 0..{parties - 1} and {parties} addresses")
    deadline = time.monotonic() + timeout
    own = listener or socket.create_server(tuple(addresses[party]))
    channels: dict = {}
    dealer_channel = None
    try:
        dealer_channel = Channel(dial(tuple(dealer), deadline, tls), party, DEALER, timeout)
        dealer_channel.send(MessageType.HELLO, hello(party, parties, session))
        dealer_seed = bytes(dealer_channel.recv(MessageType.SEED))
        for peer in range(party):
            channels[peer] = Channel(dial(tuple(addresses[peer]), deadline, tls), party, peer, timeout)
            channels[peer].send(MessageType.HELLO, hello(party, parties, session))
        while len(channels) < parties - 1:
            peer, sock = accept(own, deadline, tls, parties, session, set(range(party + 1, parties)) - set(channels),
                                party)
            channels[peer] = Channel(sock, party, peer, timeout)
        zero_seed = protocol_seed(seed, f"zero-{party}")
        channels[(party + 1) % parties].send(MessageType.SEED, zero_seed)
        previous = bytes(channels[(party - 1) % parties].recv(MessageType.SEED))
    except BaseException as exc:
        for channel in [*channels.values(), *([dealer_channel] if dealer_channel else [])]:
            channel.close(MessageType.ERROR, str(exc))
        raise
    finally:
        own.close()
    if len(dealer_seed) != 16 or len(previous) != 16:
        raise ProtocolError("a seed of the wrong length arrived while connecting")

    def request(call, derived_shapes, released):
        kind, args = call
        dealer_channel.send(MessageType.REQUEST,
                            json.dumps({"kind": kind, "args": args, "release": released}).encode())
        if not derived_shapes:  # a mask: the dealer draws it in step and answers nothing
            return []
        data = dealer_channel.recv(MessageType.SHARES)
        sizes = [int(np.prod(s, dtype=np.int64)) for s in derived_shapes]
        if len(data) != 8 * sum(sizes):
            raise ProtocolError(f"the dealer sent {len(data)} bytes for a {kind} where {8 * sum(sizes)} were expected")
        flat = np.frombuffer(data, dtype="<u8").astype(np.uint64)
        return [part.reshape(s) for part, s in zip(np.split(flat, np.cumsum(sizes)[:-1]), derived_shapes)]

    comm = TcpCommunicator(party, parties, channels, dealer_channel)
    provider = PartyProvider(party, parties, dealer_seed, request if party == parties - 1 else None)
    zeros = ZeroSharing(parties, [party], {party: zero_seed, (party - 1) % parties: previous})
    return Session(parties, frac_bits, comm=comm, provider=provider, zeros=zeros)

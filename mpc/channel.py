"""Connections between the processes of a secure computation: dial, accept, introduce, exchange messages.

:func:`dial` and :func:`accept` open one connection (TLS if configured) and
run the HELLO exchange of :mod:`mpc.handshake` on it under the set-up
deadline: the caller introduces itself, the callee checks the HELLO (computation,
role, certificate, public parameters) and answers with its own, which the
caller checks in turn.  Whichever side refuses tells the other with ERROR, so
both stop with the same one-line reason.  A :class:`Channel` then carries the
messages of :mod:`mpc.wire`, each under a size limit and a deadline.
"""

from __future__ import annotations

import select
import socket
import ssl
import time

from mpc.handshake import Hello, TlsConfig, agree, check_role, hello_payload, parse_hello
from mpc.wire import (DEALER, ERROR_LIMIT, HELLO_LIMIT, MessageType, PeerError, ProtocolError, TransportError, peer_name,
                      peer_text, recv_message, send_message)

__all__ = ["Channel", "Identity", "dial", "accept", "REQUEST_LIMIT", "PUBLIC_LIMIT"]

REQUEST_LIMIT = 1 << 23  # a dealer request (JSON: a call, its shapes, the masks released since the last one)
PUBLIC_LIMIT = 1 << 20   # an announced public value


class Identity:
    """What a process says about itself in HELLO: id (party or DEALER), parties, session, public parameters."""

    def __init__(self, ident: int, parties: int, session: str, params: dict):
        self.ident, self.parties, self.session, self.params = ident, parties, session, dict(params)

    def payload(self) -> bytes:
        return hello_payload(self.ident, self.parties, self.session, self.params)

    def check(self, hello: Hello, sock) -> None:
        """Refuse a peer of another computation, or whose certificate or parameters do not match.

        Raises
        ------
        ProtocolError
        """
        if hello.session != self.session or hello.parties != self.parties:
            raise ProtocolError(f"{peer_name(hello.ident)} belongs to another computation ({hello.parties} parties, "
                                f"session {hello.session!r}; this one: {self.parties}, {self.session!r})")
        if hello.ident != DEALER and hello.ident >= self.parties:
            raise ProtocolError(f"a peer introduced itself as party {hello.ident}, but the parties are "
                                f"0..{self.parties - 1}")
        check_role(sock, hello.ident)
        agree(self.params, hello.params, hello.ident, DEALER not in (self.ident, hello.ident))


class Channel:
    """One connection to one peer, used by one thread.

    Sends and receives are blocking.  Opening a value exchanges shares pairwise
    in a fixed order (the lower id sends first), so two parties never both wait
    to send large shares to each other and no sender threads are needed (an
    ``ssl`` socket must not be read and written from two threads at once).

    Parameters
    ----------
    sock : socket.socket
        Connected (and, with TLS, wrapped) socket.
    me : int
        This process's id on the wire (party id, or ``DEALER``).
    peer : int
        The peer's id.
    timeout : float
        Seconds a whole message may take to be sent or to arrive.
    """

    def __init__(self, sock: socket.socket, me: int, peer: int, timeout: float):
        self.sock, self.me, self.peer, self.timeout = sock, me, peer, timeout
        self.closed = False

    def send(self, kind: MessageType, payload=b"") -> None:
        """Send one message.

        Raises
        ------
        PeerError
            If the peer is gone or does not read it within the timeout.
        """
        try:
            self.sock.settimeout(self.timeout)
            send_message(self.sock, kind, self.me, payload)
        except socket.timeout:
            raise PeerError(f"{peer_name(self.peer)} took nothing for {self.timeout:g} s (timeout); "
                            "is it still running?") from None
        except OSError as exc:
            self._raise_reason()
            raise PeerError(f"{peer_name(self.peer)} disconnected (while sending to it: {exc.strerror or exc})") from None

    def _raise_reason(self) -> None:
        """If the peer left an ERROR message before it closed, raise with its reason."""
        try:
            kind, payload = recv_message(self.sock, self.peer, limit=0, timeout=0.5)
        except (TransportError, OSError):
            return
        if kind == MessageType.ERROR:
            raise PeerError(f"{peer_name(self.peer)} failed: {peer_text(payload)}")

    def receive(self, limit: int, deadline: float | None = None) -> tuple[MessageType, bytearray]:
        """The next message, of at most ``limit`` payload bytes; an ERROR raises :class:`PeerError` with the
        peer's reason."""
        kind, payload = recv_message(self.sock, self.peer, limit=limit, timeout=self.timeout, deadline=deadline)
        if kind == MessageType.ERROR:
            raise PeerError(f"{peer_name(self.peer)} failed: {peer_text(payload)}")
        return kind, payload

    def recv(self, expect: MessageType, limit: int, deadline: float | None = None) -> bytearray:
        """The payload of the next message, which must be of type ``expect`` and at most ``limit`` bytes."""
        kind, payload = self.receive(limit, deadline)
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
            self.send(kind, text.encode()[:ERROR_LIMIT])
            if kind == MessageType.ERROR:
                self.sock.shutdown(socket.SHUT_WR)
                self.sock.settimeout(1.0)
                end = time.monotonic() + 1.0
                while self.sock.recv(1 << 16) and time.monotonic() < end:
                    pass
            self.sock.shutdown(socket.SHUT_RDWR)
        except (PeerError, OSError):
            pass
        self.sock.close()


def _refuse(sock: socket.socket, me: int, reason: str) -> None:
    """Tell a peer why it is refused (best effort), and close."""
    try:
        sock.settimeout(1.0)
        send_message(sock, MessageType.ERROR, me, reason.encode()[:ERROR_LIMIT])
    except OSError:
        pass
    finally:
        sock.close()


def dial(address: tuple, peer: int, me: Identity, deadline: float, timeout: float,
         tls: TlsConfig | None) -> Channel:
    """Connect to ``peer`` at ``address`` (host, port), retrying until ``deadline`` (time.monotonic) while nobody
    listens, and exchange HELLOs.

    Raises
    ------
    PeerError
        If nobody answers in time, or the TLS handshake fails.
    ProtocolError
        If the peer is not ``peer`` (HELLO or certificate), or computes something else.
    """
    while True:
        try:
            sock = socket.create_connection(address, timeout=max(deadline - time.monotonic(), 0.01))
            break
        except (ConnectionRefusedError, socket.timeout) as exc:
            if time.monotonic() >= deadline:
                raise PeerError(f"nobody answered at {address[0]}:{address[1]} ({exc})") from None
            time.sleep(0.05)  # the peer's process may still be starting
        except OSError as exc:
            raise PeerError(f"cannot reach {peer_name(peer)} at {address[0]}:{address[1]} "
                            f"({exc.strerror or exc})") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            sock = tls.context(server=False).wrap_socket(sock)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise PeerError(f"TLS handshake with {peer_name(peer)} at {address[0]}:{address[1]} failed: {exc}") from None
    channel = Channel(sock, me.ident, peer, timeout)
    try:
        check_role(sock, peer)
    except ProtocolError as exc:
        _refuse(sock, me.ident, str(exc))
        raise
    channel.send(MessageType.HELLO, me.payload())
    hello = parse_hello(channel.recv(MessageType.HELLO, HELLO_LIMIT, deadline), peer)
    try:
        if hello.ident != peer:
            raise ProtocolError(f"{peer_name(peer)} was expected at {address[0]}:{address[1]}, but "
                                f"{peer_name(hello.ident)} answered")
        me.check(hello, sock)
    except ProtocolError as exc:
        channel.close(MessageType.ERROR, str(exc))
        raise
    return channel


def _wait_for_caller(listener: socket.socket, watched: list, expected: set, deadline: float) -> None:
    """Wait until somebody calls; a peer connected already that fails (ERROR) or leaves meanwhile raises."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PeerError(f"{', '.join(map(peer_name, sorted(expected)))} did not connect in time")
        ready, _, _ = select.select([listener, *(c.sock for c in watched)], [], [], left)
        for channel in watched:
            if channel.sock in ready:
                kind, _ = channel.receive(0, deadline)  # ERROR raises with its reason, a disconnection as such
                raise ProtocolError(f"{peer_name(channel.peer)} sent {kind.name} while the others connected")
        if listener in ready:
            return


def accept(listener: socket.socket, me: Identity, expected: set, connected: dict, deadline: float, timeout: float,
           tls: TlsConfig | None, watch: list = ()) -> Channel:
    """Accept one connection, check its HELLO and answer with this process's; returns its channel.

    Parameters
    ----------
    listener : socket.socket
    me : Identity
    expected : set of int
        Ids that may still connect.
    connected : dict of int -> Channel
        The peers connected already: a second one with their id is reported as a duplicate.
    watch : list of Channel
        Peers that send nothing until the set-up ends: one that fails (ERROR) or leaves while this
        process waits stops the set-up with its reason.
    deadline : float
        End of the set-up (time.monotonic).
    timeout : float
        Seconds the HELLO may take.

    Raises
    ------
    PeerError
        If nobody calls before ``deadline``.
    ProtocolError
        If the caller's HELLO is invalid, names a party not expected (or connected already), another
        computation, a role its certificate does not name, or other public parameters.
    """
    _wait_for_caller(listener, list(watch), expected, deadline)
    listener.settimeout(max(deadline - time.monotonic(), 0.01))
    try:
        sock, (host, port, *_) = listener.accept()
    except socket.timeout:
        raise PeerError(f"{', '.join(map(peer_name, sorted(expected)))} did not connect in time") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        sock.settimeout(max(min(deadline - time.monotonic(), timeout), 0.01))
        try:
            sock = tls.context(server=True).wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise PeerError(f"TLS handshake with a peer connecting from {host}:{port} failed: {exc}") from None
    try:
        kind, payload = recv_message(sock, None, limit=HELLO_LIMIT, timeout=timeout, deadline=deadline)
        if kind != MessageType.HELLO:
            raise ProtocolError(f"a peer connecting from {host}:{port} sent {kind.name} where HELLO was expected")
        hello = parse_hello(payload, None)
        if hello.ident in connected:
            raise ProtocolError(f"{peer_name(hello.ident)} connected twice (duplicate party id, from {host}:{port})")
        if hello.ident not in expected:
            raise ProtocolError(f"a peer introduced itself as {peer_name(hello.ident)}, which is not one of those "
                                f"still expected ({', '.join(map(peer_name, sorted(expected))) or 'none'})")
        me.check(hello, sock)
    except ProtocolError as exc:
        _refuse(sock, me.ident, str(exc))
        raise
    except PeerError:
        sock.close()
        raise
    channel = Channel(sock, me.ident, hello.ident, timeout)
    channel.send(MessageType.HELLO, me.payload())
    return channel

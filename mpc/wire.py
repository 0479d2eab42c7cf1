"""The wire format of the TCP transport: length-prefixed, typed messages.

Every message is a 16-byte header, then ``length`` payload bytes::

    magic  b"AMPC"   4 bytes
    version          1 byte  (1)
    type             1 byte  (MessageType)
    sender           2 bytes (party id; the dealer is 65535)
    length           8 bytes (payload bytes), all big-endian

Ring elements travel as little-endian uint64.  A header with another magic,
version or type, a payload longer than ``MAX_PAYLOAD``, or a message from a
party other than the one on that connection is a :class:`ProtocolError`; a
connection that closes, or stays silent past the timeout, is a
:class:`PeerError`.  Both say which peer.
"""

from __future__ import annotations

import enum
import socket
import struct

from approx.errors import ApproxError

__all__ = ["MessageType", "TransportError", "PeerError", "ProtocolError", "send_message", "recv_message",
           "DEALER", "MAX_PAYLOAD"]

MAGIC = b"AMPC"
VERSION = 1
HEADER = struct.Struct("!4sBBHQ")
DEALER = 0xFFFF
MAX_PAYLOAD = 1 << 36


class MessageType(enum.IntEnum):
    """What a message carries."""

    HELLO = 1    # JSON {"party", "parties", "session"}: who is calling
    SEED = 2     # 16 bytes: a PRG seed (dealer -> party, or party k -> party k + 1)
    SHARES = 3   # little-endian uint64 ring elements
    REQUEST = 4  # JSON {"kind", "args"}: the last party asks the dealer for its derived shares of a call
    ERROR = 5    # UTF-8 text: the sender failed and stops
    BYE = 6      # empty: the sender is done


class TransportError(ApproxError):
    """A secure computation could not go on because of its transport."""


class PeerError(TransportError):
    """A peer disconnected, stayed silent past the timeout, or reported a failure."""


class ProtocolError(TransportError):
    """A peer sent something that is not a valid message here."""


def peer_name(peer: int) -> str:
    """'party 3', 'the dealer', or 'a connecting peer' (None: not introduced yet)."""
    return "a connecting peer" if peer is None else "the dealer" if peer == DEALER else f"party {peer}"


def send_message(sock: socket.socket, kind: MessageType, sender: int, payload=b"") -> None:
    """Write one message (blocking; the socket's timeout applies)."""
    payload = memoryview(payload).cast("B")
    sock.sendall(HEADER.pack(MAGIC, VERSION, int(kind), sender, payload.nbytes))
    if payload.nbytes:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, count: int, peer: int, timeout: float | None) -> bytearray:
    buffer = bytearray(count)
    view, got = memoryview(buffer), 0
    while got < count:
        try:
            n = sock.recv_into(view[got:], min(count - got, 1 << 22))
        except socket.timeout:
            raise PeerError(f"{peer_name(peer)} sent nothing for {timeout:g} s (timeout); "
                            "is it still running?") from None
        except OSError as exc:
            raise PeerError(f"{peer_name(peer)} disconnected ({exc.strerror or exc})") from None
        if n == 0:
            raise PeerError(f"{peer_name(peer)} disconnected")
        got += n
    return buffer


def recv_message(sock: socket.socket, peer: int | None) -> tuple[MessageType, bytearray]:
    """Read one message from ``peer`` (whose id the connection was opened with; None before its HELLO).

    Returns
    -------
    (MessageType, bytearray payload)

    Raises
    ------
    PeerError
        On disconnection or timeout.
    ProtocolError
        On a malformed header or a sender other than ``peer``.
    """
    timeout = sock.gettimeout()
    magic, version, kind, sender, length = HEADER.unpack(_recv_exact(sock, HEADER.size, peer, timeout))
    if magic != MAGIC or version != VERSION:
        raise ProtocolError(f"{peer_name(peer)} sent a malformed message (not an approx MPC v{VERSION} header)")
    if kind not in MessageType.__members__.values():
        raise ProtocolError(f"{peer_name(peer)} sent a message of unknown type {kind}")
    if length > MAX_PAYLOAD:
        raise ProtocolError(f"{peer_name(peer)} announced {length} payload bytes, more than the limit {MAX_PAYLOAD}")
    if peer is not None and sender != peer:
        raise ProtocolError(f"{peer_name(peer)} sent a message signed as {peer_name(sender)}")
    return MessageType(kind), _recv_exact(sock, length, peer, timeout)

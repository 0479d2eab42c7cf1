"""The wire format of the TCP transport: length-prefixed, typed messages, read under a size cap and a deadline.

Every message is a 16-byte header, then ``length`` payload bytes::

    magic  b"AMPC"   4 bytes
    version          1 byte  (PROTOCOL_VERSION)
    type             1 byte  (MessageType)
    sender           2 bytes (party id; the dealer is 65535)
    length           8 bytes (payload bytes), all big-endian

Ring elements travel as little-endian uint64.  The reader says how many
payload bytes it accepts (``limit``: a few KiB before the peer is
authenticated, ``HELLO_LIMIT``; afterwards what the protocol expects, e.g.
exactly the bytes of the shares being opened) and by when the whole message
must have arrived (``deadline``, on ``time.monotonic``): the header is checked
before any payload is read, and the payload buffer grows as bytes arrive, so a
header that announces 2^36 bytes costs nothing and a peer that sends one byte
every few seconds still misses the deadline.  An ERROR message is accepted up
to ``ERROR_LIMIT`` bytes whatever the limit, and its text is shown with every
non-printable character escaped (:func:`peer_text`), so that a peer cannot
write terminal escape sequences into another's output.

A header with another magic, version or type, a payload over the limit, or a
message from a party other than the one on that connection is a
:class:`ProtocolError`; a connection that closes, or misses the deadline, is a
:class:`PeerError`.  Both say which peer.
"""

from __future__ import annotations

import enum
import socket
import struct
import time

from approx.errors import ApproxError

__all__ = ["MessageType", "TransportError", "PeerError", "ProtocolError", "send_message", "recv_message",
           "peer_name", "peer_text", "DEALER", "PROTOCOL_VERSION", "HELLO_LIMIT", "ERROR_LIMIT"]

MAGIC = b"AMPC"
PROTOCOL_VERSION = 3  # 3: a product request may name rows of a stored mask ([id, rows]); the model owner announces its load scaling
HEADER = struct.Struct("!4sBBHQ")
DEALER = 0xFFFF
HELLO_LIMIT = 4096   # bytes of any message before the peer is authenticated
ERROR_LIMIT = 4096   # bytes of an ERROR's text
_CHUNK = 1 << 20     # the payload buffer grows by at most this much per read


class MessageType(enum.IntEnum):
    """What a message carries."""

    HELLO = 1    # JSON (mpc.handshake): who is calling, in which computation, with which public parameters
    SEED = 2     # 16 bytes: a PRG seed (dealer -> party, or party k -> party k + 1)
    SHARES = 3   # little-endian uint64 ring elements
    REQUEST = 4  # JSON {"kind", "args", "release"}: the last party asks the dealer for its derived shares of a call
    ERROR = 5    # UTF-8 text: the sender failed and stops
    BYE = 6      # empty: the sender is done
    PUBLIC = 7   # JSON: a public value one party announces to the others (configuration, bounds, shapes)


class TransportError(ApproxError):
    """A secure computation could not go on because of its transport."""


class PeerError(TransportError):
    """A peer disconnected, missed a deadline, or reported a failure."""


class ProtocolError(TransportError):
    """A peer sent something that is not a valid message here."""


def peer_name(peer: int | None) -> str:
    """'party 3', 'the dealer', or 'a connecting peer' (None: not introduced yet)."""
    return "a connecting peer" if peer is None else "the dealer" if peer == DEALER else f"party {peer}"


def peer_text(payload: bytes) -> str:
    """A peer's text (an ERROR's reason) as it may be shown: UTF-8, with every character that is not printable
    (control characters, terminal escape sequences, bidirectional overrides) escaped as in a Python literal."""
    text = bytes(payload).decode(errors="replace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def send_message(sock: socket.socket, kind: MessageType, sender: int, payload=b"") -> None:
    """Write one message (blocking; the socket's timeout bounds the whole send)."""
    payload = memoryview(payload).cast("B")
    sock.sendall(HEADER.pack(MAGIC, PROTOCOL_VERSION, int(kind), sender, payload.nbytes))
    if payload.nbytes:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, count: int, peer: int | None, deadline: float, budget: str) -> bytearray:
    """``count`` bytes, all of them before ``deadline``; the buffer at most doubles what arrived (plus a chunk)."""
    buffer, got = bytearray(min(count, _CHUNK)), 0
    while got < count:
        if got == len(buffer):
            buffer.extend(bytes(min(count, 2 * len(buffer)) - len(buffer)))
        left = deadline - time.monotonic()
        if left <= 0:
            raise PeerError(f"{peer_name(peer)} did not send a whole message {budget}; is it still running?")
        try:
            sock.settimeout(left)
            with memoryview(buffer) as view:
                n = sock.recv_into(view[got:], len(buffer) - got)
        except socket.timeout:
            continue
        except OSError as exc:
            raise PeerError(f"{peer_name(peer)} disconnected ({exc.strerror or exc})") from None
        if n == 0:
            raise PeerError(f"{peer_name(peer)} disconnected")
        got += n
    return buffer


def recv_message(sock: socket.socket, peer: int | None, *, limit: int, timeout: float,
                 deadline: float | None = None) -> tuple[MessageType, bytearray]:
    """Read one message from ``peer`` (whose id the connection was opened with; None before its HELLO).

    Parameters
    ----------
    sock : socket.socket
    peer : int or None
    limit : int
        Most payload bytes accepted (ERROR messages: ``ERROR_LIMIT``).
    timeout : float
        Seconds the whole message may take.
    deadline : float, optional
        An earlier ``time.monotonic()`` deadline (e.g. the end of the set-up) that also applies.

    Returns
    -------
    (MessageType, bytearray payload)

    Raises
    ------
    PeerError
        On disconnection, or when the message is not complete in time.
    ProtocolError
        On a malformed header, a payload over the limit, or a sender other than ``peer``.
    """
    end = time.monotonic() + timeout
    budget = f"within {timeout:g} s (timeout)"
    if deadline is not None and deadline < end:
        end, budget = deadline, "before the set-up deadline (timeout)"
    magic, version, kind, sender, length = HEADER.unpack(_recv_exact(sock, HEADER.size, peer, end, budget))
    if magic != MAGIC:
        raise ProtocolError(f"{peer_name(peer)} sent a malformed message (not an approx MPC header)")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"{peer_name(peer)} speaks protocol version {version}, this process "
                            f"{PROTOCOL_VERSION}: install the same approx version on every host")
    if kind not in MessageType.__members__.values():
        raise ProtocolError(f"{peer_name(peer)} sent a message of unknown type {kind}")
    if peer is not None and sender != peer:
        raise ProtocolError(f"{peer_name(peer)} sent a message signed as {peer_name(sender)}")
    cap = ERROR_LIMIT if kind == MessageType.ERROR else limit
    if length > cap:
        raise ProtocolError(f"{peer_name(peer)} announced a {MessageType(kind).name} message of {length} bytes "
                            f"where at most {cap} are expected")
    return MessageType(kind), _recv_exact(sock, length, peer, end, budget)

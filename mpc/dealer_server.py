"""The dealer as a process of its own: seeds for every party, derived shares for the last one.

:func:`serve` accepts the n parties (each introduces itself with HELLO),
sends each the seed they share, then answers the last party's REQUESTs, each
naming one :class:`~mpc.provider.TrustedThirdParty` call, with that party's
derived shares (a mask needs no answer: the dealer only draws it in step),
until the last party says BYE.  Each request also names the masks released
since the previous one, which the dealer then forgets, so that its memory
follows the tensors the parties hold.  The other parties expand
their shares from their seeds and never hear from the dealer again.
"""

from __future__ import annotations

import json
import socket
import time

import numpy as np

from mpc.csprng import CSPRNG, protocol_seed
from mpc.provider import CALLS, TrustedThirdParty
from mpc.tcp import Channel, TlsConfig, accept
from mpc.wire import DEALER, MessageType, ProtocolError, TransportError

__all__ = ["serve"]


def _answer(dealer: TrustedThirdParty, live: dict, payload: bytes) -> np.ndarray | None:
    """The last party's derived shares for one request, or None for a mask (nothing to send).

    ``live`` holds the masks drawn and not yet released, by id: a request first
    releases the ones it names (the dealer forgets their values), and a mask
    request adds one.
    """
    try:
        request = json.loads(payload)
        kind, args, released = request["kind"], request["args"], request["release"]
        if kind not in CALLS or not isinstance(args, list) or not isinstance(released, list):
            raise ValueError(kind)
        for ident in released:
            del live[ident]
        correlation = getattr(dealer, kind)(*args)
    except (ValueError, TypeError, KeyError) as exc:
        raise ProtocolError(f"the last party sent a request the dealer cannot serve ({exc!r}); requests name "
                            f"one of {', '.join(CALLS)} with its arguments and the live masks to release") from None
    if kind == "mask":
        live[correlation.id] = correlation
        return None
    derived = correlation.shares[len(correlation.shares) - correlation.derived:]
    return np.concatenate([d[-1].ravel() for d in derived]).astype("<u8", copy=False)


def serve(listener: socket.socket, parties: int, *, timeout: float = 60.0, tls: TlsConfig | None = None,
          seed: bytes | None = None, session: str = "") -> dict:
    """Deal for one computation of ``parties`` parties on ``listener`` (a bound, listening socket).

    Parameters
    ----------
    listener : socket.socket
    parties : int
    timeout : float
        Seconds to wait for the parties to connect, and for each request.
    tls : TlsConfig, optional
    seed : bytes, optional
        Master seed of a reproducible run (the parties must get the same).
    session : str
        Identifies the computation.

    Returns
    -------
    dict
        ``counts`` (elements per kind), ``offline_bytes``, ``offline_seconds`` and
        ``live_masks`` (masks drawn and not released by the end).

    Raises
    ------
    TransportError
        If a party does not connect in time, is unknown, disconnects or fails.
    """
    dealer = TrustedThirdParty(parties, [protocol_seed(seed, f"dealer-party-{k}") for k in range(parties)],
                               CSPRNG(protocol_seed(seed, "dealer")))
    deadline = time.monotonic() + timeout
    channels: dict = {}
    try:
        while len(channels) < parties:
            party, sock = accept(listener, deadline, tls, parties, session, set(range(parties)) - set(channels),
                                 DEALER)
            channels[party] = Channel(sock, DEALER, party, timeout)
            channels[party].send(MessageType.SEED, dealer.seeds[party])
        last, live = channels[parties - 1], {}
        while True:
            kind, payload = last.receive()
            if kind == MessageType.BYE:
                break
            if kind != MessageType.REQUEST:
                raise ProtocolError(f"party {parties - 1} sent {kind.name} where a REQUEST or BYE was expected")
            answer = _answer(dealer, live, payload)
            if answer is not None:
                last.send(MessageType.SHARES, answer)
    except TransportError as exc:
        for channel in channels.values():
            channel.close(MessageType.ERROR, f"the dealer stopped: {exc}")
        raise
    finally:
        listener.close()
    for channel in channels.values():
        channel.close()
    return {"counts": dict(dealer.counts), "offline_bytes": dealer.offline_bytes,
            "offline_seconds": dealer.offline_seconds, "live_masks": dealer.live_masks}

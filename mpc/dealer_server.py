"""The dealer as a process of its own: seeds for every party, derived shares for the last one.

:func:`serve` accepts the n parties (each introduces itself with HELLO and
gets the dealer's HELLO back, :mod:`mpc.handshake`), sends each the seed they
share, then answers the last party's REQUESTs, each naming one
:class:`~mpc.provider.TrustedThirdParty` call, with that party's derived
shares (a mask needs no answer: the dealer only draws it in step), until the
last party says BYE.  Each request also names the masks released since the
previous one, which the dealer then forgets, so that its memory follows the
tensors the parties hold.  The other parties expand their shares from their
seeds and never hear from the dealer again.

A request is checked before it is served: a known call, integer arguments,
shapes of at most ``MAX_ELEMENTS`` elements (and products of at most that
many in all, the rows of stored masks they read included), fractional bits
the encoding allows, masks the dealer drew and still holds, row indices
inside them; anything else is a protocol error that the dealer reports to
every party before it stops (one line), as it reports any other failure.

A product operand is a mask id, or ``[id, rows]``: rows of a mask the dealer
stores (e.g. the mask of the training data, drawn once per run and kept until
the last party releases it), so the dealer keeps that mask's value, one ring
element per element of the data, for the whole run.
"""

from __future__ import annotations

import json
import socket
import time

import numpy as np

from mpc.channel import REQUEST_LIMIT, Identity, accept
from mpc.csprng import CSPRNG, protocol_seed
from mpc.handshake import TlsConfig, check_addresses, describe
from mpc.provider import CALLS, TrustedThirdParty
from mpc.wire import DEALER, MessageType, ProtocolError, TransportError

__all__ = ["serve", "MAX_ELEMENTS"]

MAX_ELEMENTS = 1 << 27  # ring elements of one requested shape (1 GiB of uint64)


def _shape(value) -> list:
    if not isinstance(value, list) or len(value) > 32 or not all(type(v) is int and 0 <= v for v in value):
        raise ValueError(f"{value!r} is not a shape")
    if int(np.prod(value, dtype=object)) > MAX_ELEMENTS:
        raise ValueError(f"a shape of more than {MAX_ELEMENTS} elements")
    return value


def _handle(value) -> bool:
    """A product operand as the parties send it: a mask id, or [id, row indices] (JSON integers)."""
    if type(value) is int:
        return value >= 0
    return (isinstance(value, list) and len(value) == 2 and type(value[0]) is int and value[0] >= 0
            and isinstance(value[1], list) and len(value[1]) <= MAX_ELEMENTS
            and all(type(v) is int for v in value[1]))


def _checked(kind: str, args) -> list:
    """The arguments of a dealer call, refused unless of the types and sizes the parties send."""
    if kind == "mask" and len(args) == 1:
        return [_shape(args[0])]
    if kind == "truncation" and len(args) == 2 and type(args[1]) is int and 0 <= args[1] <= 52:
        return [_shape(args[0]), args[1]]
    if kind == "products" and len(args) == 1 and isinstance(args[0], list) and len(args[0]) <= 1 << 16:
        requests = args[0]
        if all(isinstance(r, list) and len(r) == 3 and isinstance(r[0], str) and _handle(r[1]) and _handle(r[2])
               for r in requests):
            return [requests]
    raise ValueError(f"bad arguments for {kind}")


def _product_elements(dealer: TrustedThirdParty, requests: list) -> int:
    """Elements a products request makes the dealer hold: the products, and the rows of stored masks it gathers.

    Raises ValueError (before any work) for a mask the dealer does not hold, a row outside it, or shapes that do
    not combine.
    """
    gathered = sum(int(np.prod(dealer.operand_shape(handle), dtype=object))
                   for _, i, j in requests for handle in (i, j) if isinstance(handle, list))
    return gathered + sum(int(np.prod(shape, dtype=object)) for shape in dealer.product_shapes(requests))


def _answer(dealer: TrustedThirdParty, live: dict, payload: bytes) -> np.ndarray | None:
    """The last party's derived shares for one request, or None for a mask (nothing to send).

    ``live`` holds the masks drawn and not yet released, by id: a request first
    releases the ones it names (the dealer forgets their values), and a mask
    request adds one.
    """
    try:
        request = json.loads(payload)
        if not isinstance(request, dict) or set(request) != {"kind", "args", "release"}:
            raise ValueError("fields")
        kind, args, released = request["kind"], request["args"], request["release"]
        if kind not in CALLS or not isinstance(args, list) or not isinstance(released, list):
            raise ValueError(kind)
        args = _checked(kind, args)
        for ident in released:
            del live[ident]
        if kind == "products" and _product_elements(dealer, args[0]) > MAX_ELEMENTS:
            raise ValueError(f"products of more than {MAX_ELEMENTS} elements")
        correlation = getattr(dealer, kind)(*args)
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
        raise ProtocolError(f"the last party sent a request the dealer cannot serve ({exc!r}); requests name "
                            f"one of {', '.join(CALLS)} with its arguments and the live masks to release") from None
    if kind == "mask":
        live[correlation.id] = correlation
        return None
    derived = correlation.shares[len(correlation.shares) - correlation.derived:]
    return np.concatenate([d[-1].ravel() for d in derived]).astype("<u8", copy=False)


def serve(listener: socket.socket, parties: int, *, timeout: float = 60.0, tls: TlsConfig | None = None,
          seed: bytes | None = None, session: str = "", params: dict | None = None,
          insecure: bool = False) -> dict:
    """Deal for one computation of ``parties`` parties on ``listener`` (a bound, listening socket).

    Parameters
    ----------
    listener : socket.socket
    parties : int
    timeout : float
        Seconds for the whole set-up (the parties connecting), and for each request.
    tls : TlsConfig, optional
        Without it, ``listener`` must be on a loopback address unless ``insecure``.
    seed : bytes, optional
        Master seed of a reproducible run (tests on loopback only; the parties must get the same).
    session : str
        Identifies the computation.
    params : dict, optional
        Public parameters the dealer knows; a party that has others for them is refused.
    insecure : bool
        Allow plaintext TCP on a non-loopback address.

    Returns
    -------
    dict
        ``counts`` (elements per kind), ``offline_bytes``, ``offline_seconds`` and
        ``live_masks`` (masks drawn and not released by the end).

    Raises
    ------
    TransportError
        If a party does not connect in time, is unknown or refused, disconnects or fails.
    """
    try:
        check_addresses([listener.getsockname()[0]], tls, insecure, seed)
    except TransportError:
        listener.close()
        raise
    dealer = TrustedThirdParty(parties, [protocol_seed(seed, f"dealer-party-{k}") for k in range(parties)],
                               CSPRNG(protocol_seed(seed, "dealer")))
    me = Identity(DEALER, parties, session, {name: describe(v) for name, v in (params or {}).items()})
    deadline = time.monotonic() + timeout
    channels: dict = {}
    try:
        while len(channels) < parties:
            channel = accept(listener, me, set(range(parties)) - set(channels), channels, deadline, timeout, tls,
                             watch=list(channels.values()))
            channels[channel.peer] = channel
            channel.send(MessageType.SEED, dealer.seeds[channel.peer])
        last, live = channels[parties - 1], {}
        while True:
            kind, payload = last.receive(REQUEST_LIMIT)
            if kind == MessageType.BYE:
                break
            if kind != MessageType.REQUEST:
                raise ProtocolError(f"party {parties - 1} sent {kind.name} where a REQUEST or BYE was expected")
            answer = _answer(dealer, live, payload)
            if answer is not None:
                last.send(MessageType.SHARES, answer)
    except BaseException as exc:  # a protocol error, or e.g. MemoryError or Ctrl-C: every party hears why
        reason = str(exc) if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}".rstrip(": ")
        for channel in channels.values():
            channel.close(MessageType.ERROR, f"the dealer stopped: {reason}")
        raise
    finally:
        listener.close()
    for channel in channels.values():
        channel.close()
    return {"counts": dict(dealer.counts), "offline_bytes": dealer.offline_bytes,
            "offline_seconds": dealer.offline_seconds, "live_masks": dealer.live_masks}

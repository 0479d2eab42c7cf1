"""One process, one role: run a program as party k, or deal, over TCP -- the pieces every deployment uses.

:func:`run_party` connects this process as party k of a computation
(:func:`mpc.tcp.connect`: set-up deadline, HELLO with roles, certificates and
public parameters), runs ``program(session, *args)`` on its shares, and closes;
if the program fails, every peer is told why before this process stops.
:func:`run_dealer` serves one computation as its dealer.  The per-role
commands (``approx party``, ``approx dealer``) and the local launcher
(:mod:`mpc.launch`) are both built on these two functions, and so is any
other SPMD program (training, evaluation) that wants to run across hosts.

:func:`watch_parent` makes a child process stop when the process that started
it dies, instead of computing on and failing later on a broken pipe.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import socket
import threading

from approx.errors import ApproxError
from mpc.dealer_server import serve
from mpc.handshake import TlsConfig
from mpc.tcp import connect
from mpc.wire import TransportError

__all__ = ["run_party", "run_dealer", "listen_on", "failure_text", "watch_parent"]


def listen_on(address: tuple) -> socket.socket:
    """A listening TCP socket on (host, port) (port 0: any free port).

    Raises
    ------
    TransportError
        If the address cannot be bound (in use, not an address of this host).
    """
    try:
        return socket.create_server(tuple(address))
    except OSError as exc:
        raise TransportError(f"cannot listen on {address[0]}:{address[1]} ({exc.strerror or exc})") from None


def failure_text(exc: BaseException) -> str:
    """One line saying why a program failed: the message of our own errors, else the exception's type too."""
    text = str(exc) if isinstance(exc, ApproxError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def run_party(program, party: int, parties: int, *, peers: dict, dealer: tuple, listen: tuple | None = None,
              listener: socket.socket | None = None, args: tuple = (), frac_bits: int = 16, timeout: float = 60.0,
              tls: TlsConfig | None = None, session: str = "", params: dict | None = None,
              seed: bytes | None = None, insecure: bool = False, session_options: dict | None = None) -> dict:
    """Run ``program(session, *args)`` as party ``party`` of ``parties``.

    Parameters
    ----------
    program : callable (mpc.tensor.Session, *args) -> value
        The SPMD program, the same in every party's process.
    party, parties : int
    peers : dict of int -> (host, port)
        Where the parties below this one listen (this one dials them).
    dealer : (host, port)
    listen : (host, port), optional
        Where this party listens for the parties above it (not needed by the last party).
    listener : socket.socket, optional
        Instead of ``listen``: a listening socket already bound.
    args : tuple
        This party's arguments (its own inputs only).
    frac_bits, timeout, tls, session, params, seed, insecure
        As :func:`mpc.tcp.connect`.
    session_options : dict, optional
        Keyword arguments of :class:`mpc.tensor.Session` (``truncation``, ``failure_budget``,
        ``allow_out_of_range``).

    Returns
    -------
    dict
        ``value`` (what the program returned), ``stats`` (:meth:`Session.stats`) and ``wire_bytes``.

    Raises
    ------
    TransportError
        If the set-up or the transport fails; the program's own exceptions pass through, after the
        peers are told.
    """
    if listener is None and listen is not None:
        listener = listen_on(listen)
    party_session = connect(party, parties, peers, dealer, frac_bits=frac_bits, timeout=timeout, tls=tls, seed=seed,
                            session=session, params=params, listener=listener, insecure=insecure,
                            session_options=session_options)
    try:
        value = program(party_session, *args)
    except BaseException as exc:
        party_session.comm.abort(failure_text(exc))
        raise
    party_session.close()
    return {"value": value, "stats": party_session.stats(), "wire_bytes": party_session.comm.wire_bytes}


def run_dealer(parties: int, *, listen: tuple | None = None, listener: socket.socket | None = None,
               timeout: float = 60.0, tls: TlsConfig | None = None, session: str = "", params: dict | None = None,
               seed: bytes | None = None, insecure: bool = False) -> dict:
    """Deal for one computation of ``parties`` parties, listening on ``listen`` (or ``listener``).

    Returns
    -------
    dict
        As :func:`mpc.dealer_server.serve`.
    """
    listener = listener if listener is not None else listen_on(listen)
    return serve(listener, parties, timeout=timeout, tls=tls, seed=seed, session=session, params=params,
                 insecure=insecure)


def watch_parent(code: int = 70) -> None:
    """In a child process: exit at once (status ``code``) when the parent process dies.

    A daemon thread waits on the parent's sentinel (``multiprocessing.parent_process``), which works
    whichever way the parent died (killed, crashed); the peers then see this process disconnect.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(code)

    threading.Thread(target=wait, name="approx-parent-watch", daemon=True).start()

"""Run one SPMD program as a secure computation: in process, or as real party processes over TCP.

A program is a module-level function ``program(session, *args)`` written
against :class:`mpc.tensor.Session` only (share with an ``owner``, gates,
``reveal``): the same code then runs with all parties in one process, or in
each of n party processes that talk TCP on this machine, beside a dealer
process (CrypTen's ``crypten.mpc.run_multiprocess`` plays the same role).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import secrets
import socket
import time
import traceback

from mpc.wire import DEALER, TransportError, peer_name

__all__ = ["run"]


def _role(conn, role: int, parties: int, program, args, frac_bits, seed, timeout, tls, host, session) -> None:
    """A child process: the dealer or one party."""
    from mpc import dealer_server, tcp

    try:
        listener = socket.create_server((host, 0))
        conn.send(("port", listener.getsockname()[1]))
        addresses, dealer_address = conn.recv()
        if role == DEALER:
            conn.send(("ok", dealer_server.serve(listener, parties, timeout=timeout, tls=tls, seed=seed,
                                                 session=session)))
            return
        party_session = tcp.connect(role, parties, addresses, dealer_address, frac_bits=frac_bits, timeout=timeout,
                                    tls=tls, seed=seed, session=session, listener=listener)
        try:
            value = program(party_session, *args)
        except BaseException as exc:
            party_session.comm.abort(str(exc) if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}")
            raise
        party_session.close()
        conn.send(("ok", {"value": value, "stats": party_session.stats(),
                          "wire_bytes": party_session.comm.wire_bytes}))
    except TransportError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # reported to the launcher, which raises it with the party's name
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"))


def run(program, parties: int = 2, *, transport: str = "inprocess", args: tuple = (), frac_bits: int = 16,
        seed: bytes | None = None, timeout: float = 60.0, tls=None, host: str = "127.0.0.1") -> list:
    """Run ``program(session, *args)`` as a secure computation of ``parties`` parties.

    Parameters
    ----------
    program : callable
        Module-level function (it is pickled into the party processes).
    parties : int
    transport : {"inprocess", "tcp"}
    args : tuple
        Picklable arguments, the same for every party.
    frac_bits : int
    seed : bytes, optional
        Master seed: the same seed gives the same shares on both transports.
    timeout : float
        Seconds for connecting and for any one message (TCP).
    tls : mpc.tcp.TlsConfig, optional
        Used by every party and the dealer (one certificate for all, for a run on one machine).
    host : str
        Loopback address the processes listen on (TCP).

    Returns
    -------
    list of dict
        One per party process (one in process): ``value`` (what the program
        returned), ``stats`` (:meth:`Session.stats`) and ``wire_bytes`` (share
        bytes actually sent, TCP only: None in process).

    Raises
    ------
    TransportError
        If any party or the dealer failed, with each one's reason.
    """
    from mpc.tensor import Session

    if transport == "inprocess":
        session = Session(parties, frac_bits, seed=seed)
        return [{"value": program(session, *args), "stats": session.stats(), "wire_bytes": None}]
    if transport != "tcp":
        raise ValueError(f"unknown transport {transport!r}: choose inprocess or tcp")
    ctx = multiprocessing.get_context("spawn")
    roles = [DEALER, *range(parties)]
    session_id = secrets.token_hex(8)
    pipes, processes = {}, {}
    for role in roles:
        parent, child = ctx.Pipe()
        processes[role] = ctx.Process(target=_role, daemon=True, name=f"approx-mpc-{peer_name(role)}",
                                      args=(child, role, parties, program, args, frac_bits, seed, timeout, tls,
                                            host, session_id))
        processes[role].start()
        pipes[role] = parent
    try:
        ports = {}
        for role in roles:
            if not pipes[role].poll(timeout + 30.0):
                raise TransportError(f"{peer_name(role)} did not start within {timeout + 30.0:g} s")
            ports[role] = pipes[role].recv()[1]
        addresses = [(host, ports[k]) for k in range(parties)]
        for role in roles:
            pipes[role].send((addresses, (host, ports[DEALER])))
        outcomes = _collect(pipes, processes, timeout)
    finally:
        for process in processes.values():
            process.join(5.0)
            if process.is_alive():
                process.kill()
    failures = [f"{peer_name(role)}: {outcomes[role][1]}" for role in roles if outcomes[role][0] != "ok"]
    if failures:
        raise TransportError("the secure computation failed; " + "; ".join(failures))
    return [outcomes[k][1] for k in range(parties)]


def _collect(pipes: dict, processes: dict, timeout: float) -> dict:
    """Each role's ("ok", result) or ("error", reason), waiting on results and process exits together."""
    outcomes, waiting = {}, dict(pipes)
    last_news = time.monotonic()
    while waiting:
        ready = multiprocessing.connection.wait([*waiting.values(), *(processes[r].sentinel for r in waiting)],
                                                timeout=timeout + 10.0)
        if not ready and time.monotonic() - last_news > timeout + 10.0:
            for role in waiting:
                outcomes[role] = ("error", f"no result {timeout + 10.0:g} s after the others")
            break
        for role in list(waiting):
            conn = waiting[role]
            if conn in ready or conn.poll():
                try:
                    outcomes[role] = conn.recv()
                except EOFError:  # its end of the pipe closed: it died; reap it for the exit code
                    processes[role].join(5.0)
                    outcomes[role] = ("error", f"exited with code {processes[role].exitcode} before finishing")
                del waiting[role]
                last_news = time.monotonic()
            elif processes[role].sentinel in ready:
                processes[role].join()
                outcomes[role] = ("error", f"exited with code {processes[role].exitcode} before finishing")
                del waiting[role]
                last_news = time.monotonic()
    return outcomes

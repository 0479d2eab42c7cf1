"""Run one SPMD program as a secure computation: in process, or as real party processes over TCP on this host.

A program is a module-level function ``program(session, *args)`` written
against :class:`mpc.tensor.Session` only (share with an ``owner``, gates,
``reveal``): the same code then runs with all parties in one process, or in
each of n party processes that talk TCP on this machine, beside a dealer
process (CrypTen's ``crypten.mpc.run_multiprocess`` plays the same role).
Each process is a :func:`mpc.party.run_party` or :func:`mpc.party.run_dealer`,
as on separate hosts; the children ignore Ctrl-C (the launcher stops them) and
stop when the launcher dies (:func:`mpc.party.watch_parent`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import secrets
import signal
import time

from mpc.wire import DEALER, TransportError, peer_name

__all__ = ["run"]


def _role(conn, role: int, parties: int, program, args, options: dict) -> None:
    """A child process: the dealer or one party."""
    from mpc.party import failure_text, listen_on, run_dealer, run_party, watch_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the launcher handles it
    watch_parent()
    try:
        listener = listen_on((options["host"], 0))
        conn.send(("port", listener.getsockname()[1]))
        addresses, dealer_address = conn.recv()
        common = {key: options[key] for key in ("timeout", "tls", "seed", "session")}
        if role == DEALER:
            conn.send(("ok", run_dealer(parties, listener=listener, **common)))
            return
        conn.send(("ok", run_party(program, role, parties, peers=dict(enumerate(addresses)), dealer=dealer_address,
                                   listener=listener, args=args, frac_bits=options["frac_bits"],
                                   session_options=options["session_options"], params=options["params"], **common)))
    except Exception as exc:  # reported to the launcher, which raises it with the party's name
        conn.send(("error", failure_text(exc)))


def run(program, parties: int = 2, *, transport: str = "inprocess", args: tuple = (), frac_bits: int = 16,
        seed: bytes | None = None, timeout: float = 60.0, tls=None, host: str = "127.0.0.1",
        params: dict | None = None, session_options: dict | None = None) -> list:
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
        Seconds for the set-up and for any one message (TCP).
    tls : mpc.handshake.TlsConfig, optional
        Used by every party and the dealer: for a run on one machine, one
        certificate that names every role (``party-0``, ..., ``dealer``).
    host : str
        Loopback address the processes listen on (TCP).
    params : dict, optional
        Public parameters the parties check at set-up (TCP); the program's name and the fractional
        bits are always among them.
    session_options : dict, optional
        Keyword arguments of :class:`mpc.tensor.Session` (``truncation``, ``failure_budget``,
        ``allow_out_of_range``).

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
        if tls is not None:
            raise TransportError("TLS certificates apply to --transport tcp; in process nothing travels")
        session = Session.in_process(parties, frac_bits, seed=seed, **(session_options or {}))
        return [{"value": program(session, *args), "stats": session.stats(), "wire_bytes": None}]
    if transport != "tcp":
        raise ValueError(f"unknown transport {transport!r}: choose inprocess or tcp")
    ctx = multiprocessing.get_context("spawn")
    roles = [DEALER, *range(parties)]
    options = {"host": host, "timeout": timeout, "tls": tls, "seed": seed, "session": secrets.token_hex(8),
               "frac_bits": frac_bits, "session_options": session_options,
               "params": {"program": f"{program.__module__}.{program.__qualname__}", **(params or {})}}
    pipes, processes = {}, {}
    try:
        for role in roles:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_role, daemon=True, name=f"approx-mpc-{peer_name(role)}",
                                  args=(child, role, parties, program, args, options))
            process.start()
            processes[role], pipes[role] = process, parent
        ports = {}
        for role in roles:
            if not pipes[role].poll(timeout + 30.0):
                raise TransportError(f"{peer_name(role)} did not start within {timeout + 30.0:g} s")
            kind, value = pipes[role].recv()
            if kind != "port":
                raise TransportError(f"{peer_name(role)} could not start: {value}")
            ports[role] = value
        addresses = [(host, ports[k]) for k in range(parties)]
        for role in roles:
            pipes[role].send((addresses, (host, ports[DEALER])))
        outcomes = _collect(pipes, processes, timeout)
    except BaseException:
        for process in processes.values():  # Ctrl-C or a failed start: stop every child now
            process.kill()
        raise
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

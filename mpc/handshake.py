"""Who is on the other end, and do we compute the same thing: HELLO, certificate roles, public parameters.

Every connection starts with HELLO in both directions (the caller first), a
JSON object of at most ``HELLO_LIMIT`` bytes::

    {"role": "party-1" | "dealer", "parties": n, "session": "...", "params": {name: value, ...}}

``params`` holds the public parameters of the computation (fractional bits,
program, configuration, activations and their coefficients, ...), each as a
short canonical JSON text or, when longer, its SHA-256 digest
(:func:`describe`).  Both sides compare every parameter they both hold
(parties hold the same set), so that parties that would compute different
things stop at set-up with one line naming the parameter (:func:`agree`),
instead of revealing garbage.  The protocol version is in every message
header (:mod:`mpc.wire`).

With TLS (:class:`TlsConfig`) each peer's certificate must name the role it
plays -- ``party-K`` or ``dealer`` as a DNS subject alternative name, or, in
a certificate without any, as its one subject common name (RFC 6125) -- so a
certificate that the CA signed for someone else cannot join as a party or as the dealer (:func:`check_role`), as
MP-SPDZ binds each player to its certificate's name.  Without TLS nothing is
authenticated: :func:`check_addresses` refuses any non-loopback address then
unless the caller insists (``insecure``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import re
import ssl

from mpc.wire import DEALER, ProtocolError, TransportError, peer_name

__all__ = ["TlsConfig", "role_name", "hello_payload", "parse_hello", "describe", "agree", "check_role",
           "check_addresses", "is_loopback"]

_ROLE = re.compile(r"party-(0|[1-9][0-9]{0,4})|dealer")
_FIELDS = {"role", "parties", "session", "params"}
MAX_PARAMS, MAX_NAME, MAX_VALUE, MAX_SESSION = 16, 64, 96, 128


def role_name(ident: int) -> str:
    """``party-K`` or ``dealer``: the role as a HELLO and a certificate name it."""
    return "dealer" if ident == DEALER else f"party-{ident}"


def describe(value) -> str:
    """A public parameter as compared at set-up: its canonical JSON, or ``sha256:`` and its digest if long."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_plain)
    return text if len(text) <= 64 else "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _plain(value):
    """JSON for numpy scalars and arrays (activation coefficients, bounds)."""
    tolist = getattr(value, "tolist", None)
    if tolist is None:
        raise TypeError(f"a public parameter of type {type(value).__name__} cannot be compared")
    return tolist()


@dataclasses.dataclass(frozen=True)
class Hello:
    """A parsed HELLO: ``ident`` (party id or DEALER), ``parties``, ``session``, ``params``."""

    ident: int
    parties: int
    session: str
    params: dict


def hello_payload(ident: int, parties: int, session: str, params: dict) -> bytes:
    """The HELLO of ``ident`` (a party id or DEALER); ``params`` as made by :func:`describe`."""
    return json.dumps({"role": role_name(ident), "parties": parties, "session": session,
                       "params": params}).encode()


def parse_hello(payload: bytes, peer: int | None) -> Hello:
    """Validate a HELLO received from ``peer`` (None: a peer not introduced yet).

    Raises
    ------
    ProtocolError
        Unless it is a JSON object with exactly the fields above, of the right types and sizes (deep
        nesting, wrong types, extra fields and non-UTF-8 text all land here).
    """
    try:
        info = json.loads(payload)
    except (ValueError, RecursionError):
        info = None
    problem = _check_hello(info)
    if problem:
        raise ProtocolError(f"{peer_name(peer)} sent an invalid HELLO ({problem})")
    role = info["role"]
    return Hello(DEALER if role == "dealer" else int(role[6:]), info["parties"], info["session"], info["params"])


def _check_hello(info) -> str | None:
    if not isinstance(info, dict) or set(info) != _FIELDS:
        return f"a JSON object with the fields {', '.join(sorted(_FIELDS))} is expected"
    if not isinstance(info["role"], str) or not _ROLE.fullmatch(info["role"]) or (
            info["role"] != "dealer" and int(info["role"][6:]) >= DEALER):
        return f"role must be 'party-K' with K below {DEALER}, or 'dealer'"
    if type(info["parties"]) is not int or not 2 <= info["parties"] < DEALER:
        return "parties must be an integer from 2"
    if not isinstance(info["session"], str) or len(info["session"]) > MAX_SESSION:
        return f"session must be a text of at most {MAX_SESSION} characters"
    params = info["params"]
    if not isinstance(params, dict) or len(params) > MAX_PARAMS or not all(
            isinstance(k, str) and len(k) <= MAX_NAME and isinstance(v, str) and len(v) <= MAX_VALUE
            for k, v in params.items()):
        return f"params must map at most {MAX_PARAMS} names to short texts"
    return None


def agree(mine: dict, theirs: dict, peer: int, both_parties: bool) -> None:
    """Refuse a peer that computes something else.

    Parameters
    ----------
    mine, theirs : dict of str -> str
        Public parameters (:func:`describe` values).
    peer : int
        The peer's id, for the message.
    both_parties : bool
        Two parties must hold the same parameters; the dealer holds fewer, and only those are compared.

    Raises
    ------
    ProtocolError
        Naming the first parameter that differs, and both values.
    """
    names = set(mine) | set(theirs) if both_parties else set(mine) & set(theirs)
    for name in sorted(names):
        if mine.get(name) != theirs.get(name):
            raise ProtocolError(f"{peer_name(peer)} disagrees on the public parameter {_shown(name)}: it has "
                                f"{_shown(theirs.get(name, 'none'))}, this process {_shown(mine.get(name, 'none'))}")


def _shown(text: str) -> str:
    """A peer's text as it may appear in a one-line message (escaped unless printable ASCII)."""
    return text if text.isascii() and text.isprintable() else ascii(text)


@dataclasses.dataclass(frozen=True)
class TlsConfig:
    """Certificates for mutually authenticated TLS (PEM files, by path).

    Attributes
    ----------
    cert, key : str
        This process's certificate and private key.  The certificate names this
        process's role (``party-K`` or ``dealer``) as a DNS subject alternative
        name (or, without any, as its one common name: :func:`certificate_names`);
        one certificate naming every role serves a run on one machine.
    ca : str
        The certificate authority that signed every party's and the dealer's certificate.
    """

    cert: str
    key: str
    ca: str

    def context(self, server: bool) -> ssl.SSLContext:
        """A TLS 1.2+ context that presents ``cert`` and requires a peer certificate signed by ``ca``.

        Host names are not checked by ``ssl``: the role a certificate names is (:func:`check_role`).
        """
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


def certificate_names(sock) -> set:
    """The names the peer's (verified) certificate is issued to, as RFC 6125 (section 6.4.4) reads them.

    Its DNS subject alternative names if it has any -- the subject's common name is then ignored, so a
    common name the CA did not vet cannot add a role -- else its common name if the subject has exactly one.
    """
    cert = sock.getpeercert() or {}
    dns = {value for key, value in cert.get("subjectAltName", ()) if key == "DNS"}
    if dns:
        return dns
    common = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    return set(common) if len(common) == 1 else set()


def check_role(sock, ident: int) -> None:
    """With TLS, refuse a peer whose certificate does not name the role ``ident`` it plays.

    Raises
    ------
    ProtocolError
        If ``sock`` is a TLS socket whose peer certificate names neither ``party-K`` nor ``dealer`` as needed.
    """
    if not isinstance(sock, ssl.SSLSocket):
        return
    names = certificate_names(sock)
    if role_name(ident) not in names:
        raise ProtocolError(f"the certificate of the peer playing {peer_name(ident)} is issued to "
                            f"{', '.join(sorted(names)) or 'nobody'}, not to {role_name(ident)}: refused")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is 'localhost' or a loopback IP address (no name resolution)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_addresses(hosts, tls: TlsConfig | None, insecure: bool, seed: bytes | None) -> None:
    """Refuse plaintext TCP beyond this machine, and a master seed beyond tests on this machine.

    Raises
    ------
    TransportError
        If a host is not loopback and ``tls`` is None without ``insecure``, or if ``seed`` is given
        with any host not loopback.
    """
    remote = sorted({h for h in hosts if not is_loopback(h)})
    if remote and seed is not None:
        raise TransportError("a master seed derives every party's secrets from one value and is for tests on this "
                             f"machine only; it is refused with {', '.join(remote)}")
    if remote and tls is None and not insecure:
        raise TransportError(f"{', '.join(remote)} is not a loopback address: without TLS anybody on the network "
                             "can read the shares and play a party; give --tls-cert, --tls-key and --tls-ca, or "
                             "--insecure on a network you trust")

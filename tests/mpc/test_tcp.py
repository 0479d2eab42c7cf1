"""The TCP transport: real party and dealer processes on 127.0.0.1 compute what the in-process protocol does,
count the same bytes, and stop with a clear error when a peer dies, stays silent, is unknown or malformed."""

import dataclasses
import json
import os
import socket
import threading
import time

import numpy as np
import pytest

import approx
from tests.certificates import make_certificates
from mpc.dealer_server import serve
from mpc.handshake import TlsConfig, describe, hello_payload
from mpc.launch import run
from mpc.polynomial import evaluate
from mpc.tcp import connect
from mpc.wire import DEALER, MessageType, PeerError, ProtocolError, TransportError, send_message
from mpc.wire import recv_message as _recv


def recv_message(sock, peer):
    return _recv(sock, peer, limit=1 << 20, timeout=10.0)


def hello(party, parties, session, frac_bits=16):
    """A HELLO as connect() sends it with its default public parameters."""
    return hello_payload(party, parties, session, {"frac_bits": describe(frac_bits), "truncation": describe("local")})

SEED = b"0123456789abcdef"


def circuit(session, n):
    """Every gate once: inputs of two owners, products, square, matmul, a polynomial, reveal to all and to one."""
    mine = session.comm.position
    rng = np.random.default_rng(7)
    xv, yv, mv = rng.uniform(-1, 1, n), rng.uniform(-2, 2, n), rng.uniform(-1, 1, (3, n))
    x = session.share(xv if mine(0) is not None else None, magnitude=1.0, owner=0, shape=(n,))
    y = session.share(yv if mine(1) is not None else None, magnitude=2.0, owner=1, shape=(n,))
    m = session.share(mv if mine(0) is not None else None, magnitude=1.0, owner=0, shape=(3, n))
    z = x * y - x.square() + 0.25
    p = evaluate(x, approx.get("tanh-chebyshev-3[-1,1]", registry=os.environ["APPROX_REGISTRY"]))
    product = m.matmul(y.reshape((n, 1)))
    return {"z": z.reveal(), "p": p.reveal(), "mm": product.reveal(to=1), "z_bound": z.error}


def crash_after_one_product(session):
    x = session.share(np.ones(10) if session.comm.position(0) is not None else None, magnitude=1.0, shape=(10,))
    (x * x).reveal()
    if session.comm.position(1) is not None:
        os._exit(3)  # party 1 dies mid-run
    return (x * x).reveal()


def fail_on_party_1(session):
    x = session.share(np.ones(10) if session.comm.position(0) is not None else None, magnitude=1.0, shape=(10,))
    if session.comm.position(1) is not None:
        raise ValueError("bad input on party 1")
    return (x * x).reveal()


@pytest.fixture(scope="module")
def registry_env(tmp_path_factory):
    path = tmp_path_factory.mktemp("reg") / "r.json"
    approx.Registry(path).add(approx.fit("tanh", 3, method="chebyshev", interval=(-1.0, 1.0)))
    before = os.environ.get("APPROX_REGISTRY")
    os.environ["APPROX_REGISTRY"] = str(path)  # inherited by the spawned party processes
    yield path
    if before is None:
        del os.environ["APPROX_REGISTRY"]
    else:
        os.environ["APPROX_REGISTRY"] = before


@pytest.mark.parametrize("parties,truncation", [(2, None), (2, "dealer"), (3, None)])
def test_tcp_parties_compute_and_count_what_the_in_process_protocol_does(registry_env, parties, truncation):
    options = {"truncation": truncation}  # 2 parties: local by default, or the dealer's as a 3-party run does
    local = run(circuit, parties, args=(50,), seed=SEED, session_options=options)[0]
    remote = run(circuit, parties, transport="tcp", args=(50,), seed=SEED, timeout=20.0, session_options=options)
    assert local["stats"].truncation == ("local" if parties == 2 and truncation is None else "dealer")
    assert (local["stats"].triples["truncation"] > 0) == (local["stats"].truncation == "dealer")
    assert len(remote) == parties
    for k, result in enumerate(remote):
        assert np.array_equal(result["value"]["z"], local["value"]["z"])
        assert np.array_equal(result["value"]["p"], local["value"]["p"])
        assert (result["value"]["mm"] is None) == (k != 1)
        untimed = [dataclasses.replace(r["stats"], offline_seconds=0.0) for r in (result, local)]
        assert untimed[0] == untimed[1]  # the same costs, the dealer's time aside
        assert result["wire_bytes"] == local["stats"].bytes_by_party[k]  # the accounting is what was sent
    assert np.array_equal(remote[1]["value"]["mm"], local["value"]["mm"])


def batches_of_data_opened_once(session, n):
    """The data owner's matrix masked and opened once, then products of batches of its rows with fresh weights."""
    mine = session.comm.position
    rng = np.random.default_rng(3)
    data, w = rng.uniform(-1, 1, (n, 4)), rng.uniform(-1, 1, (4, 2))
    x = session.share(data if mine(1) is not None else None, magnitude=1.0, owner=1, shape=(n, 4)).open_masked()
    out = []
    for rows in ([0, 2], [n - 1, 1, 1], slice(1, 3)):
        weights = session.share(w if mine(0) is not None else None, magnitude=1.0, owner=0, shape=(4, 2))
        out.append(x[rows].matmul(weights).reveal())
    return out


def test_the_dealer_process_serves_rows_of_a_mask_it_stores(registry_env):
    local = run(batches_of_data_opened_once, 2, args=(5,), seed=SEED)[0]
    remote = run(batches_of_data_opened_once, 2, transport="tcp", args=(5,), seed=SEED, timeout=20.0)
    for result in remote:
        for got, expected in zip(result["value"], local["value"]):
            assert np.array_equal(got, expected)  # identical shares, so identical openings
        untimed = [dataclasses.replace(r["stats"], offline_seconds=0.0) for r in (result, local)]
        assert untimed[0] == untimed[1]  # the same costs, the dealer's time aside
    # set-up 5 x 4, then per batch only the weights: 4 x 2
    assert local["stats"].bytes_per_party == 8 * (20 + 3 * 8) + 8 * (2 + 3 + 2) * 2


def test_a_party_killed_mid_run_stops_the_others_with_a_clear_error():
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        run(crash_after_one_product, 2, transport="tcp", timeout=20.0)
    message = str(info.value)
    assert "party 1: exited with code 3" in message and "party 0: party 1 disconnected" in message
    assert time.monotonic() - start < 20.0  # the disconnection is seen at once, not at the timeout


def test_a_failing_party_tells_the_others_why():
    with pytest.raises(TransportError) as info:
        run(fail_on_party_1, 3, transport="tcp", timeout=20.0)
    message = str(info.value)
    assert "party 0: party 1 failed: ValueError: bad input on party 1" in message
    # party 2 hears it from party 1 or relayed by party 0, whichever it was waiting on
    assert "party 1 failed: ValueError: bad input on party 1" in message.split("party 2: ")[1]


class FakePeers:
    """The test plays the dealer and party 1 by hand, with raw sockets, against a real party 0 in a thread."""

    def __init__(self, timeout=1.0):
        self.dealer = socket.create_server(("127.0.0.1", 0))
        self.listener = socket.create_server(("127.0.0.1", 0))
        addresses = [self.listener.getsockname(), ("127.0.0.1", 1)]
        self.outcome = {}

        def party0():
            try:
                self.outcome["session"] = connect(0, 2, addresses, self.dealer.getsockname(), timeout=timeout,
                                                  listener=self.listener, session="s")
            except Exception as exc:
                self.outcome["error"] = exc

        self.thread = threading.Thread(target=party0)
        self.thread.start()
        conn, _ = self.dealer.accept()
        conn.settimeout(10.0)
        kind, payload = recv_message(conn, 0)
        assert kind == MessageType.HELLO
        send_message(conn, MessageType.HELLO, DEALER, hello_payload(DEALER, 2, "s", {}))
        send_message(conn, MessageType.SEED, DEALER, b"d" * 16)
        self.dealer_conn = conn

    def dial(self):
        sock = socket.create_connection(self.listener.getsockname(), timeout=10.0)
        self.socks = getattr(self, "socks", []) + [sock]
        return sock

    def result(self):
        self.thread.join(30.0)
        for sock in [self.dealer_conn, *getattr(self, "socks", [])]:
            sock.close()
        return self.outcome


def test_a_silent_peer_times_out():
    peers = FakePeers(timeout=0.5)
    sock = peers.dial()
    send_message(sock, MessageType.HELLO, 1, hello(1, 2, "s"))  # then never sends its seed
    error = peers.result()["error"]
    assert isinstance(error, PeerError) and "party 1 did not send a whole message" in str(error)


def test_an_unknown_party_id_is_refused_and_told():
    peers = FakePeers()
    sock = peers.dial()
    send_message(sock, MessageType.HELLO, 7, hello(7, 2, "s"))
    kind, payload = recv_message(sock, 0)
    error = peers.result()["error"]
    assert isinstance(error, ProtocolError) and "party 7" in str(error)
    assert kind == MessageType.ERROR and b"party 7" in payload


def test_a_malformed_message_is_refused():
    peers = FakePeers()
    peers.dial().sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    error = peers.result()["error"]
    assert isinstance(error, ProtocolError) and "malformed" in str(error)


def recurrence(session, steps):
    """A weight reused over many steps, each step's state new (the shape of an RNN's inference)."""
    mine = session.comm.position
    w = session.share(np.eye(4) if mine(0) is not None else None, magnitude=1.0, owner=0, shape=(4, 4))
    x = session.share(np.ones((1, 4)) if mine(1) is not None else None, magnitude=1.0, owner=1, shape=(1, 4))
    for _ in range(steps):
        x = x.matmul(w).mul_public(0.25)  # the bound stays 1 (4 x 1 x 1 / 4): no product can reach 2^62
    return x.reveal()


def test_the_dealer_process_forgets_released_masks():
    dealer, listeners = socket.create_server(("127.0.0.1", 0)), [socket.create_server(("127.0.0.1", 0))
                                                                  for _ in range(2)]
    addresses = [sock.getsockname() for sock in listeners]
    outcome = {}

    def party(k):
        session = connect(k, 2, addresses, dealer.getsockname(), timeout=20.0, listener=listeners[k], seed=SEED)
        outcome[k] = recurrence(session, 40)
        session.close()

    def deal():
        outcome["dealer"] = serve(dealer, 2, timeout=20.0, seed=SEED)

    threads = [threading.Thread(target=deal), *(threading.Thread(target=party, args=(k,)) for k in range(2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60.0)
    np.testing.assert_allclose(outcome[0], np.full((1, 4), 0.25**40), atol=1e-3)
    assert outcome["dealer"]["counts"]["mask"] == 16 + 40 * 4  # 41 masks drawn ...
    assert outcome["dealer"]["live_masks"] <= 3  # ... and all but the live tensors' released


def dealer_with_two_parties(**options):
    """A dealer in a thread and the two parties' raw sockets, introduced; returns (thread, outcome, sockets)."""
    dealer = socket.create_server(("127.0.0.1", 0))
    outcome = {}

    def deal():
        try:
            serve(dealer, 2, timeout=10.0, **options)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=deal)
    thread.start()
    socks = []
    for party in range(2):
        sock = socket.create_connection(dealer.getsockname(), timeout=10.0)
        send_message(sock, MessageType.HELLO, party, hello(party, 2, ""))
        assert recv_message(sock, DEALER)[0] == MessageType.HELLO
        assert recv_message(sock, DEALER)[0] == MessageType.SEED
        socks.append(sock)
    return thread, outcome, socks


def dealer_answer(*requests):
    """The last party sends these REQUEST payloads; returns (the dealer's error, the kind and payload it answered)."""
    thread, outcome, socks = dealer_with_two_parties()
    for request in requests:
        send_message(socks[1], MessageType.REQUEST, 1, request)
    kind, payload = recv_message(socks[1], DEALER)
    thread.join(30.0)
    for sock in socks:
        sock.close()
    return outcome["error"], kind, payload


def test_the_dealer_refuses_to_release_a_mask_it_never_drew():
    error, kind, payload = dealer_answer(b'{"kind": "mask", "args": [[3]], "release": [7]}')
    assert isinstance(error, ProtocolError) and "release" in str(error)
    assert kind == MessageType.ERROR and b"cannot serve" in payload


def test_the_dealer_refuses_products_larger_than_any_shape_before_drawing_them():
    # 8 MiB masks whose broadcast product has 2^40 elements
    masks = [json.dumps({"kind": "mask", "args": [shape], "release": []}).encode() for shape in ([1 << 20, 1],
                                                                                              [1, 1 << 20])]
    error, kind, payload = dealer_answer(*masks, b'{"kind": "products", "args": [[["mul", 0, 1]]], "release": []}')
    assert isinstance(error, ProtocolError) and "more than 134217728 elements" in str(error)
    assert kind == MessageType.ERROR and b"cannot serve" in payload


@pytest.mark.parametrize("operand,reason", [
    ("[0, [3]]", "a row index outside mask 0"), ("[0, [-1]]", "a row index outside mask 0"), ("[5, [0]]", "mask 5 is not live"),
    ("[0, [0.5]]", "bad arguments"), ("[0, [true]]", "bad arguments"), ("[0, 1]", "bad arguments"),
    ("[0, [[0]]]", "bad arguments")])
def test_the_dealer_refuses_rows_it_does_not_hold_in_one_line(operand, reason):
    mask = json.dumps({"kind": "mask", "args": [[3, 2]], "release": []}).encode()
    other = json.dumps({"kind": "mask", "args": [[2, 2]], "release": []}).encode()
    products = f'{{"kind": "products", "args": [[["matmul_tn", {operand}, 1]]], "release": []}}'.encode()
    error, kind, payload = dealer_answer(mask, other, products)
    assert isinstance(error, ProtocolError) and reason in str(error) and "\n" not in str(error)
    assert kind == MessageType.ERROR and b"cannot serve" in payload


def test_the_dealer_refuses_to_gather_more_rows_than_any_shape_before_gathering():
    mask = json.dumps({"kind": "mask", "args": [[2, 1 << 20]], "release": []}).encode()
    other = json.dumps({"kind": "mask", "args": [[1 << 20, 1]], "release": []}).encode()
    rows = [0] * 200  # 200 rows of 2^20: more than 2^27 elements, with a small product
    products = json.dumps({"kind": "products", "args": [[["matmul", [0, rows], 1]]], "release": []}).encode()
    error, kind, payload = dealer_answer(mask, other, products)
    assert isinstance(error, ProtocolError) and "more than 134217728 elements" in str(error)
    assert kind == MessageType.ERROR


def test_any_failure_of_the_dealer_is_told_to_every_party(monkeypatch):
    import mpc.dealer_server

    def exhausted(*args):
        raise MemoryError()

    monkeypatch.setattr(mpc.dealer_server, "_answer", exhausted)
    thread, outcome, socks = dealer_with_two_parties()
    send_message(socks[1], MessageType.REQUEST, 1, b'{"kind": "mask", "args": [[3]], "release": []}')
    answers = [recv_message(sock, DEALER) for sock in socks]
    thread.join(30.0)
    for sock in socks:
        sock.close()
    assert isinstance(outcome["error"], MemoryError)
    assert all(kind == MessageType.ERROR and payload == b"the dealer stopped: MemoryError" for kind, payload in answers)


def test_a_peers_error_text_cannot_write_terminal_escapes():
    thread, outcome, socks = dealer_with_two_parties()
    send_message(socks[1], MessageType.ERROR, 1, "\x1b]0;owned\x07\x1b[2J\u202eok\r\nfine\x00".encode())
    thread.join(30.0)
    for sock in socks:
        sock.close()
    text = str(outcome["error"])
    assert text.startswith("party 1 failed: ") and text.isprintable()  # escaped, not interpreted by a terminal
    assert "\\x1b]0;owned\\x07" in text and "\\u202eok\\r\\nfine\\x00" in text


def test_tls_gives_the_same_results(registry_env, tmp_path):
    tls = make_certificates(tmp_path, {"all": ["party-0", "party-1", "dealer"]})["all"]  # one host, every role
    local = run(circuit, 2, args=(20,), seed=SEED)[0]
    remote = run(circuit, 2, transport="tcp", args=(20,), seed=SEED, timeout=20.0, tls=tls)
    assert np.array_equal(remote[0]["value"]["z"], local["value"]["z"])
    with pytest.raises(TransportError, match="cannot load the TLS certificates"):
        run(circuit, 2, transport="tcp", args=(20,), timeout=5.0,
            tls=TlsConfig(str(tmp_path / "none.pem"), tls.key, tls.ca))

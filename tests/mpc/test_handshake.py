"""Hardened set-up: size caps before authentication, deadlines per message and per set-up, malformed HELLOs,
certificates that must name their role, public parameters that must agree, plaintext only on loopback, and
children that stop with their launcher."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.certificates import make_certificates
from mpc.dealer_server import serve
from mpc.handshake import describe, hello_payload, parse_hello
from mpc.inference import public_model
from mpc.tcp import connect
from mpc.wire import (HEADER, PROTOCOL_VERSION, MessageType, PeerError, ProtocolError, TransportError, recv_message,
                      send_message)


def listening():
    return socket.create_server(("127.0.0.1", 0))


def in_thread(fn, *args, **kwargs):
    """Run fn in a thread; returns (thread, outcome dict with 'value' or 'error')."""
    outcome = {}

    def target():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def hello(party, parties=2, session="s", frac_bits=16):
    return hello_payload(party, parties, session, {"frac_bits": describe(frac_bits)})


def read(sock):
    return recv_message(sock, None, limit=1 << 16, timeout=10.0)


def test_a_huge_header_is_refused_before_anything_is_allocated():
    dealer = listening()
    tracemalloc.start()
    thread, outcome = in_thread(serve, dealer, 2, timeout=10.0, session="s")
    sock = socket.create_connection(dealer.getsockname())
    sock.sendall(HEADER.pack(b"AMPC", PROTOCOL_VERSION, int(MessageType.HELLO), 0, 1 << 36))  # 16 bytes, 2^36 claimed
    kind, payload = read(sock)
    thread.join(20.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1 << 20  # the old reader zero-filled 2^36 bytes before reading one
    assert isinstance(outcome["error"], ProtocolError) and "68719476736 bytes where at most 4096" in str(outcome["error"])
    assert kind == MessageType.ERROR and b"at most 4096" in payload


def test_a_slow_drip_misses_the_message_deadline():
    dealer = listening()
    start = time.monotonic()
    thread, outcome = in_thread(serve, dealer, 2, timeout=1.0, session="s")
    sock = socket.create_connection(dealer.getsockname())
    message = HEADER.pack(b"AMPC", PROTOCOL_VERSION, int(MessageType.HELLO), 0, 200) + b" " * 200
    stop = threading.Event()
    for byte in message:  # one byte every 0.2 s: each recv is quick, the message never completes in 1 s
        if not thread.is_alive():
            break
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        stop.wait(0.2)
    thread.join(20.0)
    assert isinstance(outcome["error"], PeerError) and "did not send a whole message" in str(outcome["error"])
    assert time.monotonic() - start < 5.0


def test_a_connected_peer_that_starts_a_message_cannot_stretch_the_set_up():
    from mpc.channel import Channel, Identity, accept

    ours, theirs = socket.socketpair()
    watched = Channel(ours, 0xFFFF, 0, timeout=30.0)  # party 0, connected, while the others are awaited
    theirs.sendall(b"AM")  # half a header, then nothing
    start = time.monotonic()
    with pytest.raises(PeerError, match="before the set-up deadline"):
        accept(listening(), Identity(0xFFFF, 2, "s", {}), {1}, {0: watched}, start + 0.5, 30.0, None, watch=[watched])
    assert time.monotonic() - start < 5.0  # the set-up's deadline, not a message's 30 s from the first byte
    theirs.close()
    ours.close()


@pytest.mark.parametrize("payload,why", [
    (b"[" * 2000 + b"]" * 2000, "invalid HELLO"),                       # deep nesting, under the size cap
    (json.dumps({"role": "party-1", "parties": "2", "session": "s", "params": {}}).encode(), "parties must"),
    (json.dumps({"role": 1, "parties": 2, "session": "s", "params": {}}).encode(), "role must"),
    (b"\xff\xfe", "invalid HELLO"),
], ids=["deep", "parties-text", "role-int", "not-utf8"])
def test_malformed_hellos_stop_every_party_with_one_line(payload, why):
    dealer, listener = listening(), listening()
    dealer_thread, dealer_out = in_thread(serve, dealer, 2, timeout=10.0, session="s")
    party_thread, party_out = in_thread(connect, 0, 2, {}, dealer.getsockname(), timeout=10.0, session="s",
                                        listener=listener)
    stranger = socket.create_connection(listener.getsockname())
    send_message(stranger, MessageType.HELLO, 1, payload)
    kind, answer = read(stranger)
    party_thread.join(20.0)
    dealer_thread.join(20.0)
    assert kind == MessageType.ERROR and why in answer.decode()
    assert isinstance(party_out["error"], ProtocolError) and why in str(party_out["error"])
    assert isinstance(dealer_out["error"], PeerError) and why in str(dealer_out["error"])  # told by party 0
    for error in (party_out["error"], dealer_out["error"]):
        assert "\n" not in str(error)


def test_an_unknown_message_type_and_a_duplicate_party_are_named():
    dealer = listening()
    thread, outcome = in_thread(serve, dealer, 2, timeout=10.0, session="s")
    sock = socket.create_connection(dealer.getsockname())
    sock.sendall(HEADER.pack(b"AMPC", PROTOCOL_VERSION, 99, 0, 0))
    thread.join(20.0)
    assert "unknown type 99" in str(outcome["error"])

    dealer = listening()
    thread, outcome = in_thread(serve, dealer, 2, timeout=10.0, session="s")
    first = socket.create_connection(dealer.getsockname())
    send_message(first, MessageType.HELLO, 1, hello(1))
    assert read(first)[0] == MessageType.HELLO
    second = socket.create_connection(dealer.getsockname())
    send_message(second, MessageType.HELLO, 1, hello(1))
    kind, answer = read(second)
    thread.join(20.0)
    assert "party 1 connected twice (duplicate party id" in str(outcome["error"])
    assert kind == MessageType.ERROR and b"duplicate" in answer


def test_parties_that_disagree_on_the_fractional_bits_all_stop_naming_it():
    dealer, listener = listening(), listening()
    dealer_thread, dealer_out = in_thread(serve, dealer, 2, timeout=10.0, session="s")
    threads = [in_thread(connect, 0, 2, {}, dealer.getsockname(), frac_bits=16, timeout=10.0, session="s",
                         listener=listener),
               in_thread(connect, 1, 2, {0: listener.getsockname()}, dealer.getsockname(), frac_bits=20,
                         timeout=10.0, session="s")]
    for thread, _ in threads:
        thread.join(20.0)
    dealer_thread.join(20.0)
    for _, out in threads:
        assert isinstance(out["error"], TransportError) and "public parameter frac_bits" in str(out["error"])
    assert "public parameter frac_bits" in str(dealer_out["error"])
    assert "it has 20, this process 16" in str(threads[0][1]["error"])


def test_parties_that_disagree_on_the_truncation_all_stop_naming_it():
    dealer, listener = listening(), listening()
    dealer_thread, dealer_out = in_thread(serve, dealer, 2, timeout=10.0, session="s")
    threads = [in_thread(connect, 0, 2, {}, dealer.getsockname(), timeout=10.0, session="s", listener=listener,
                         session_options={"truncation": "local"}),
               in_thread(connect, 1, 2, {0: listener.getsockname()}, dealer.getsockname(), timeout=10.0,
                         session="s", session_options={"truncation": "dealer"})]
    for thread, _ in threads:
        thread.join(20.0)
    dealer_thread.join(20.0)
    for _, out in threads:
        assert isinstance(out["error"], TransportError) and "public parameter truncation" in str(out["error"])
    assert 'it has "dealer", this process "local"' in str(threads[0][1]["error"])
    assert "error" in dealer_out  # the dealer is told, and deals nothing


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"), {
        "party-0": ["party-0"], "party-1": ["party-1"], "dealer": ["dealer"], "stranger": ["stranger"]})


def test_a_strangers_certificate_is_refused_as_a_party(certs):
    dealer, listener = listening(), listening()
    dealer_thread, dealer_out = in_thread(serve, dealer, 2, timeout=10.0, session="s", tls=certs["dealer"])
    threads = [in_thread(connect, 0, 2, {}, dealer.getsockname(), timeout=10.0, session="s", listener=listener,
                         tls=certs["party-0"]),
               in_thread(connect, 1, 2, {0: listener.getsockname()}, dealer.getsockname(), timeout=10.0,
                         session="s", tls=certs["stranger"])]  # signed by the same CA, issued to someone else
    for thread, _ in threads:
        thread.join(20.0)
    dealer_thread.join(20.0)
    assert "issued to stranger, not to party-1: refused" in str(dealer_out["error"])
    assert "issued to stranger" in str(threads[1][1]["error"])  # the stranger is told
    assert "error" in threads[0][1]  # and party 0 does not run with it


def party_1_against_a_dealer(dealer_tls, party_tls):
    """Party 1 connecting to a dealer with ``dealer_tls``; returns (party 1's outcome, the dealer's)."""
    dealer = listening()
    fake_thread, fake_out = in_thread(serve, dealer, 2, timeout=10.0, session="s", tls=dealer_tls)
    thread, out = in_thread(connect, 1, 2, {0: ("127.0.0.1", 1)}, dealer.getsockname(), timeout=10.0, session="s",
                            tls=party_tls)
    thread.join(20.0)
    fake_thread.join(20.0)
    return out, fake_out


def test_a_strangers_certificate_is_refused_as_the_dealer(certs):
    out, fake_out = party_1_against_a_dealer(certs["stranger"], certs["party-1"])
    assert isinstance(out["error"], ProtocolError)
    assert "the peer playing the dealer is issued to stranger, not to dealer" in str(out["error"])
    assert "error" in fake_out  # no seed was handed out: the party never sent its HELLO


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    """Certificates signed by the dealer's CA whose names play on the role rules."""
    return make_certificates(tmp_path_factory.mktemp("tricky"), {
        "dealer": ["dealer"], "party-0": ["party-0"], "party-10": ["party-10"], "cn-only": [],
        "cn-party-1-san-stranger": ["stranger.example"], "two-cns": [], "cn-dealer-san-other": ["host.example"]},
        subjects={"cn-only": ["party-1"], "cn-party-1-san-stranger": ["party-1"], "two-cns": ["stranger", "party-1"],
                  "cn-dealer-san-other": ["dealer"]})


def answer_to_party_1(dealer_tls, client_tls):
    """What a real dealer answers a TLS client that announces itself as party 1 (message types, ERROR text)."""
    dealer = listening()
    thread, _ = in_thread(serve, dealer, 2, timeout=5.0, session="s", tls=dealer_tls)
    sock = client_tls.context(server=False).wrap_socket(socket.create_connection(dealer.getsockname()))
    send_message(sock, MessageType.HELLO, 1, hello(1))
    kind, payload = read(sock)
    sock.close()
    thread.join(20.0)
    return kind, payload.decode()


@pytest.mark.parametrize("stem", ["party-0", "party-10", "cn-party-1-san-stranger", "two-cns"])
def test_a_certificate_that_does_not_name_party_1_alone_cannot_play_it(tricky, stem):
    # a DNS name makes the common name irrelevant (RFC 6125), so a CN the CA did not vet adds no role;
    # a subject with two common names names none; party-10 is not party-1
    kind, text = answer_to_party_1(tricky["dealer"], tricky[stem])
    assert kind == MessageType.ERROR and "not to party-1: refused" in text


def test_a_common_name_alone_names_the_role_and_cannot_make_a_dealer(tricky):
    kind, _ = answer_to_party_1(tricky["dealer"], tricky["cn-only"])
    assert kind == MessageType.HELLO  # a certificate without DNS names: its one common name counts
    out, _ = party_1_against_a_dealer(tricky["cn-dealer-san-other"], tricky["cn-only"])
    assert "the peer playing the dealer is issued to host.example, not to dealer" in str(out["error"])


def test_a_hello_cannot_name_the_dealer_as_a_party_id():
    with pytest.raises(ProtocolError, match="K below 65535"):
        parse_hello(json.dumps({"role": "party-65535", "parties": 2, "session": "s", "params": {}}).encode(), None)


def test_plaintext_beyond_loopback_and_a_master_seed_beyond_tests_are_refused():
    with pytest.raises(TransportError, match="not a loopback address: without TLS"):
        connect(1, 2, {0: ("192.0.2.1", 9)}, ("192.0.2.1", 9), timeout=1.0)
    with pytest.raises(TransportError, match="master seed .* for tests on this machine only"):
        connect(1, 2, {0: ("192.0.2.1", 9)}, ("192.0.2.1", 9), timeout=1.0, seed=b"0" * 16, insecure=True)
    with pytest.raises(TransportError, match="not a loopback address"):
        serve(socket.create_server(("0.0.0.0", 0)), 2, timeout=1.0)


LAUNCHER = """
import sys
from mpc.launch import run
from tests.mpc import test_handshake as test_mpc_handshake
run(test_mpc_handshake.wait_forever, 2, transport="tcp", timeout=60.0)
"""


def wait_forever(session):
    """Print this party's pid, then wait in a round that never completes (party 1 never answers)."""
    os.write(1, f"pid {os.getpid()}\n".encode())  # one write: the two parties share the pipe
    x = session.share(np.ones(2) if session.comm.position(0) is not None else None, magnitude=1.0, shape=(2,))
    if session.comm.position(1) is not None:
        threading.Event().wait(120)
    return x.reveal()


def test_the_launchers_death_stops_its_children():
    root = str(pathlib.Path(__file__).resolve().parents[2])  # the launcher imports this module as tests.mpc...
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE, text=True, env=env)
    pids = []
    for line in launcher.stdout:  # both parties are computing once both printed their pid
        pids += [int(line.split()[1])] if line.startswith("pid ") else []
        if len(pids) == 2:
            break
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    done = threading.Thread(target=launcher.stdout.read)  # EOF once every child holding the pipe is gone
    done.start()
    done.join(20.0)
    assert not done.is_alive(), f"children {pids} still running 20 s after their launcher died"


@pytest.mark.parametrize("payload", [b'{"bound": NaN}', b"[Infinity]", b"-Infinity"])
def test_an_announced_value_with_nan_or_infinity_is_refused(payload):
    from mpc.communicator import Communicator

    class Receiving(Communicator):
        def _announce(self, owner, sent):
            return payload  # what party 0 sent

    with pytest.raises(ProtocolError, match="party 0 announced a public value that is not valid JSON"):
        Receiving(2, [1]).announce(0)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=12)
hello_like = st.fixed_dictionaries({"role": st.sampled_from(["party-0", "party-1", "dealer", "party-01", "x", 3]),
                                    "parties": st.sampled_from([2, 3, "2", 1, True, 2.0]),
                                    "session": st.sampled_from(["s", "", 5, "x" * 200]),
                                    "params": json_values})


@given(st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode())
       | hello_like.map(lambda v: json.dumps(v).encode()))
def test_any_hello_is_accepted_with_valid_fields_or_refused_as_a_protocol_error(payload):
    try:
        hello = parse_hello(payload, None)
    except ProtocolError:
        return
    assert type(hello.parties) is int and hello.parties >= 2 and isinstance(hello.session, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in hello.params.items())


@given(json_values | st.fixed_dictionaries({"config": json_values, "activations": json_values,
                                            "bounds": json_values, "features": json_values}))
def test_any_model_announcement_is_rebuilt_or_refused_as_a_protocol_error(announced):
    try:
        config, activations, bounds, features = public_model(announced)
    except ProtocolError:
        return
    assert set(activations) == {"gate", "cell", "hidden", "output"}  # only a complete, valid model gets here


def _announcement(registry_path):
    import approx
    from tests.strategies import POLY_CELL, POLY_GATE
    from mpc.forecaster import SecureForecaster
    from mpc.inference import describe_model

    config = {"input_size": 5, "hidden_size": 4, "dense_size": 3, "cell": "standard", "highway": 0,
              "highway_features": [0]}
    acts = {"gate": approx.get(POLY_GATE, registry=registry_path), "cell": approx.get(POLY_CELL, registry=registry_path),
            "hidden": approx.get("square"), "output": approx.get("identity")}
    weights = {name: np.full(shape, 0.5) for name, shape in SecureForecaster.shapes(config).items()}
    return json.loads(json.dumps(describe_model(config, acts, weights, {"window": 4, "lags": []})))


@given(st.data())
def test_a_model_announcement_with_one_field_changed_is_rebuilt_or_refused(poly_registry, data):
    announced = _announcement(poly_registry.path)
    assert public_model(announced)[0]["hidden_size"] == 4  # the valid one is rebuilt
    section = data.draw(st.sampled_from(["config", "activations", "bounds", "features"]))
    key = data.draw(st.sampled_from(sorted(announced[section])))
    announced[section][key] = data.draw(json_values)
    try:
        config, activations, bounds, features = public_model(announced)
    except ProtocolError:
        return
    from mpc.forecaster import SecureForecaster

    # what is rebuilt is consistent: one positive finite bound per weight tensor of the configuration
    assert set(bounds) == set(SecureForecaster.shapes(config)) and all(0 < b < 1e15 for b in bounds.values())

"""The secure commands' contract: every bad input exits 2 with one line and no traceback, unsafe numbers are refused
naming the largest safe setting, and a failure inside TCP party processes is reported in one line."""

import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import approx
from cli import approx as cli_group
from tests.strategies import POLY_CELL, POLY_GATE

ACT = "tanh-minimax-7[-4,4]"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    path = tmp_path_factory.mktemp("reg") / "r.json"
    approx.Registry(path).add(approx.fit("tanh", 7, method="minimax", interval=(-4.0, 4.0)))
    return str(path)


def refused(*args):
    """Run the command in process: exit status 2 and one line on stderr, which is returned."""
    result = CliRunner().invoke(cli_group, list(args))
    assert result.exit_code == 2, (args, result.output)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("approx: error:"), result.output
    return lines[0]


@pytest.mark.parametrize("value", ["nan", "inf", "1e300", "-1", "0"])
def test_timeouts_that_are_not_a_number_of_seconds_are_refused(registry, value):
    assert "--timeout" in refused("secure", "eval", "--activation", ACT, "--registry", registry, "--timeout", value,
                                  "--transport", "tcp")


def test_bad_inputs_are_refused_in_one_line(registry, tmp_path):
    base = ["secure", "eval", "--activation", ACT, "--registry", registry]
    assert "--random" in refused(*base, "--random", str(10**12))
    assert "--seed" in refused(*base, "--seed", "-1")
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    assert "apply to --transport tcp" in refused(*base, "--tls-cert", str(cert), "--tls-key", str(cert),
                                                 "--tls-ca", str(cert))
    np.save(tmp_path / "complex.npy", np.array([0.5 + 1j, 0.25]))
    assert "complex128 values" in refused(*base, "--input", str(tmp_path / "complex.npy"))
    (tmp_path / "text.npy").write_text("0.1 0.2 0.3\n")
    assert "is not a .npy file" in refused(*base, "--input", str(tmp_path / "text.npy"))
    np.save(tmp_path / "objects.npy", np.array(["a"]))
    assert "<U1 values" in refused(*base, "--input", str(tmp_path / "objects.npy"))


def test_unsafe_fractional_bits_are_refused_naming_the_largest_safe(registry):
    base = ["secure", "eval", "--activation", ACT, "--registry", registry, "--random", "10000"]
    chosen = json.loads(CliRunner().invoke(cli_group, [*base, "--json"]).stdout)
    assert chosen["truncation_failure_bound"] <= 2.0**-20 == chosen["max_failure_probability"]
    f = chosen["frac_bits"]
    assert chosen["truncation"] == "local" and f >= 12  # auto: local from MIN_LOCAL_BITS up
    line = refused(*base, "--frac-bits", str(f + 1), "--truncation", "local")
    assert f"fail with probability up to" in line and f"the largest safe setting is --frac-bits {f}" in line
    assert "--truncation dealer" in line  # the fix that keeps the bits
    line = refused(*base, "--frac-bits", "30", "--truncation", "local")  # 2^62 reached: refused, not garbage
    assert "can reach 2^62" in line and f"--frac-bits {f}" in line
    line = refused(*base, "--frac-bits", "30")  # in any mode; auto names the largest that keeps below 2^62
    assert "can reach 2^62" in line and "the largest safe setting is --frac-bits" in line
    dealer = json.loads(CliRunner().invoke(cli_group, [*base, "--json", "--frac-bits", str(f + 1)]).stdout)
    assert dealer["truncation"] == "dealer" and dealer["frac_bits"] == f + 1  # auto: the dealer keeps the bits
    assert dealer["truncation_failure_bound"] == 0.0 and dealer["max_error_vs_polynomial"] <= dealer["fixed_point_bound"]
    loose = json.loads(CliRunner().invoke(cli_group, [*base, "--json", "--max-failure-probability", "0.5"]).stdout)
    assert loose["frac_bits"] > f and loose["max_error_vs_polynomial"] <= loose["fixed_point_bound"]


def test_model_files_with_wrong_metadata_are_refused(tmp_path, poly_registry):
    reg = str(poly_registry.path)
    trained = CliRunner().invoke(cli_group, [
        "train", "--gate-activation", POLY_GATE, "--cell-activation", POLY_CELL, "--hidden-activation", "square",
        "--output-activation", "identity", "--hidden-size", "4", "--dense-size", "3", "--epochs", "1",
        "--registry", reg, "-o", str(tmp_path / "m.npz"), "--json"])
    assert trained.exit_code == 0
    with np.load(tmp_path / "m.npz") as archive:
        meta = json.loads(str(archive["metadata"]))
        arrays = {k: archive[k] for k in archive.files if k != "metadata"}
    for name, edit in (("size", ("config", "hidden_size", "four")), ("field", ("config", "colour", 1)),
                       ("negative", ("config", "dense_size", -3)), ("window", ("features", "window", "x"))):
        changed = json.loads(json.dumps(meta))
        changed[edit[0]][edit[1]] = edit[2]
        np.savez(tmp_path / f"{name}.npz", metadata=np.array(json.dumps(changed)), **arrays)
        assert str(tmp_path / f"{name}.npz") in refused("secure", "infer", str(tmp_path / f"{name}.npz"),
                                                         "--registry", reg, "--limit", "1")
    changed = dict(meta, activations="x")
    np.savez(tmp_path / "acts.npz", metadata=np.array(json.dumps(changed)), **arrays)
    assert "activations" in refused("secure", "infer", str(tmp_path / "acts.npz"), "--registry", reg)


def test_an_error_inside_tcp_parties_is_one_line():
    program = "\n".join([
        "import sys",
        "from mpc.launch import run",
        "from mpc.wire import TransportError",
        "from tests.cli import test_secure_cli",
        "try:",
        "    run(test_secure_cli.fail_in_party_1, 2, transport='tcp', timeout=20.0)",
        "except TransportError as exc:",
        "    print('approx: error:', exc, file=sys.stderr)",
    ])
    path = os.pathsep.join([str(pathlib.Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": path})
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "party 1: KeyError: 'no such thing'" in lines[0] and "party 0: party 1 failed" in lines[0]


def fail_in_party_1(session):
    x = session.share(np.ones(3) if session.comm.position(0) is not None else None, magnitude=1.0, shape=(3,))
    if session.comm.position(1) is not None:
        {}["no such thing"]
    return (x * x).reveal()


CTRL_C = """
import signal
import sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background job starts with it ignored)
from mpc.launch import run
from tests.mpc import test_handshake as test_mpc_handshake
try:
    run(test_mpc_handshake.wait_forever, 2, transport="tcp", timeout=60.0)
except KeyboardInterrupt:
    print("approx: interrupted", file=sys.stderr)
"""


def test_ctrl_c_stops_every_process_with_one_line():
    path = os.pathsep.join([str(pathlib.Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])
    launcher = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": path}, start_new_session=True)
    started = 0
    for line in launcher.stdout:
        started += line.startswith("pid ")
        if started == 2:
            break
    os.killpg(launcher.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, err = launcher.communicate(timeout=60)
    assert err.strip().splitlines() == ["approx: interrupted"], err  # no child tracebacks


def test_per_role_commands_refuse_plaintext_beyond_loopback_and_misplaced_inputs(tmp_path):
    assert "not a loopback address: without TLS" in refused("dealer", "--listen", "0.0.0.0:0")
    assert "not a loopback address" in refused("party", "--role", "data-owner", "--peer", "dealer=192.0.2.1:7000",
                                               "--peer", "model-owner=192.0.2.1:7001")
    (tmp_path / "m.npz").write_bytes(b"x")
    assert "the data owner holds no model" in refused(
        "party", "--role", "data-owner", "--model", str(tmp_path / "m.npz"), "--peer", "dealer=127.0.0.1:1",
        "--peer", "model-owner=127.0.0.1:2")
    assert "the model owner holds only --model" in refused(
        "party", "--role", "model-owner", "--model", str(tmp_path / "m.npz"), "--data", "taylor",
        "--listen", "127.0.0.1:0", "--peer", "dealer=127.0.0.1:1")
    assert "HOST:PORT" in refused("dealer", "--listen", "127.0.0.1:99999")
    assert "NAME=HOST:PORT" in refused("party", "--role", "data-owner", "--peer", "stranger=127.0.0.1:1")


def test_a_dealer_that_fails_otherwise_says_so_in_one_line(monkeypatch):
    import mpc.party

    def exhausted(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(mpc.party, "run_dealer", exhausted)
    result = CliRunner().invoke(cli_group, ["dealer", "--listen", "127.0.0.1:0"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    assert result.output.splitlines()[1:] == ["approx: error: MemoryError: out of memory"]  # after 'listening on'


def test_a_model_with_a_non_polynomial_layer_is_refused_with_the_layer_and_the_fix(poly_registry, tmp_path):
    from nn.forecaster import Forecaster, ForecasterConfig
    from nn.persistence import save_model

    save_model(tmp_path / "m.npz", Forecaster(ForecasterConfig(5, 4, 3, POLY_GATE, POLY_CELL, "standard", "relu",
                                                               "identity"), registry=poly_registry))
    before = (tmp_path / "m.npz").read_bytes()
    result = CliRunner().invoke(cli_group, ["secure", "infer", str(tmp_path / "m.npz"), "--registry",
                                            str(poly_registry.path)])
    assert result.exit_code == 2 and "hidden activation of this model is relu" in result.output
    assert "--hidden-activation square" in result.output and (tmp_path / "m.npz").read_bytes() == before


def test_secure_infer_command_on_a_trained_model(poly_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reg = str(poly_registry.path)
    trained = CliRunner().invoke(cli_group, [
        "train", "--gate-activation", POLY_GATE, "--cell-activation", POLY_CELL, "--hidden-activation", "square",
        "--output-activation", "identity", "--hidden-size", "4", "--dense-size", "3", "--epochs", "1",
        "--batch-size", "64", "--registry", reg, "-o", "m.npz", "--json"], catch_exceptions=False)
    assert trained.exit_code == 0
    refused = CliRunner().invoke(cli_group, ["secure", "infer", "m.npz", "--registry", reg, "--limit", "8"])
    assert refused.exit_code == 2 and "outside its interval" in refused.output and "--allow-out-of-range" in \
        refused.output  # the published weight bounds let the gates' inputs leave [-8, 8]
    auto = CliRunner().invoke(cli_group, ["secure", "infer", "m.npz", "--registry", reg, "--limit", "8",
                                          "--batch-size", "4", "--json", "--allow-out-of-range"],
                              catch_exceptions=False)
    chosen = json.loads(auto.stdout.splitlines()[-1])  # the largest frac bits whose bound fits 2^-20, from 12 up
    assert "WARNING" in auto.output and chosen["out_of_range"]
    assert chosen["truncation"] == "local" and 12 <= chosen["frac_bits"] < 16
    assert chosen["truncation_failure_bound"] <= chosen["max_failure_probability"] == 2.0**-20
    more = ["secure", "infer", "m.npz", "--registry", reg, "--limit", "8", "--allow-out-of-range", "--frac-bits",
            str(chosen["frac_bits"] + 1)]
    unsafe = CliRunner().invoke(cli_group, [*more, "--truncation", "local"])
    assert unsafe.exit_code == 2 and f"the largest safe setting is --frac-bits {chosen['frac_bits']}" in unsafe.output
    assert "--truncation dealer" in unsafe.output and len(unsafe.output.strip().splitlines()) == 1
    dealer = json.loads(CliRunner().invoke(cli_group, [*more, "--batch-size", "4", "--json"]).stdout.splitlines()[-1])
    assert dealer["truncation"] == "dealer" and dealer["frac_bits"] == chosen["frac_bits"] + 1  # auto keeps the bits
    assert dealer["truncation_failure_bound"] == 0.0 and dealer["max_abs_difference"] < 1e-3
    assert dealer["rounds"] == dealer["floor_rounds"] * 2 and dealer["floor_rounds"] > 151  # truncation rounds
    out = CliRunner().invoke(cli_group, ["secure", "infer", "m.npz", "--registry", reg, "--limit", "8",
                                         "--batch-size", "4", "--json", "--allow-out-of-range", "--frac-bits", "16",
                                         "--max-failure-probability", "0.5"], catch_exceptions=False)
    summary = json.loads(out.stdout.splitlines()[-1])  # 16 bits, the (loose) failure bound accepted up to 1/2
    assert summary["windows"] == 8 and summary["max_abs_difference"] < 1e-3 and summary["frac_bits"] == 16
    assert abs(summary["mape_difference"]) < 0.05 and summary["truncation_failure_bound"] <= 0.5
    assert summary["rounds"] == 2 * (7 * 21 + 4)  # two batches of the 20-step schedule
    text = CliRunner().invoke(cli_group, ["secure", "infer", "m.npz", "--registry", reg, "--limit", "2",
                                          "--allow-out-of-range"], catch_exceptions=False).output
    assert "largest |secure - plaintext| forecast" in text and "rounds 151 (floor 151)" in text
    assert os.path.exists("m.npz")

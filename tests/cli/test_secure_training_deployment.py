"""Training on shares between organisations: the dealer, the model owner and the data owner each a process of its own
on 127.0.0.1, in a directory of its own holding only its input (the registry, or the data file), as on separate
hosts; a party killed mid-training stops the others and leaves no model behind."""

import gzip
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from tests.certificates import make_certificates
from cli import approx as cli_group
from tests.strategies import POLY_CELL, POLY_GATE
from nn.data import load_series
from nn.tabular import DIGITS_CSV
from tests.cli.test_secure_deployment import finish, start
MLP = ["--hidden", "4", "--activation", POLY_GATE, "--epochs", "1", "--weight-bound", "4", "--gradient-bound", "8"]
FORECASTER = ["--model", "forecaster", "--window", "4", "--hidden-size", "3", "--dense-size", "2",
              "--gate-activation", POLY_GATE, "--cell-activation", POLY_CELL, "--epochs", "1", "--batch-size", "16",
              "--weight-bound", "4", "--gradient-bound", "4"]
TLS = ["--tls-cert", "me.crt", "--tls-key", "me.key", "--tls-ca", "ca.pem"]


@pytest.fixture
def hosts(tmp_path, poly_registry):
    """dealer/ (nothing), model/ (the registry r.json), data/ (digits.csv and loads.csv); a TLS certificate each."""
    dirs = {name: tmp_path / name for name in ("dealer", "model", "data")}
    for d in dirs.values():
        d.mkdir()
    shutil.copy(poly_registry.path, dirs["model"] / "r.json")
    (dirs["data"] / "digits.csv").write_bytes(gzip.decompress(DIGITS_CSV.read_bytes()))
    times = load_series("taylor")[:240].index
    loads = 1000 + 200 * np.sin(np.arange(240) * 2 * np.pi / 48)
    (dirs["data"] / "loads.csv").write_text("timestamp,load\n" + "\n".join(
        f"{t:%Y-%m-%d %H:%M},{v:.2f}" for t, v in zip(times, loads)))
    make_certificates(tmp_path, {"party-0": ["party-0"], "party-1": ["party-1"], "dealer": ["dealer"]})
    for role, where in (("party-0", "model"), ("party-1", "data"), ("dealer", "dealer")):
        for suffix in ("crt", "key"):
            shutil.move(tmp_path / f"{role}.{suffix}", dirs[where] / f"me.{suffix}")
        shutil.copy(tmp_path / "ca.pem", dirs[where] / "ca.pem")
    return dirs


def launch(hosts, model_args, data_args, tls=(), command="party-train"):
    """The three roles of one run, started; returns the processes by name."""
    dealer, dealer_port = start(["dealer", "--listen", "127.0.0.1:0", "--timeout", "60", *tls], hosts["dealer"])
    model, model_port = start([command, "--role", "model-owner", "--listen", "127.0.0.1:0", "--peer",
                               f"dealer=127.0.0.1:{dealer_port}", "--timeout", "60", *tls, *model_args], hosts["model"])
    data, _ = start([command, "--role", "data-owner", "--peer", f"dealer=127.0.0.1:{dealer_port}", "--peer",
                     f"model-owner=127.0.0.1:{model_port}", "--timeout", "60", *tls, *data_args], hosts["data"])
    return {"data": data, "model": model, "dealer": dealer}


def run_roles(hosts, model_args, data_args, tls=(), command="party-train"):
    processes = launch(hosts, model_args, data_args, tls, command)
    return {name: finish(proc) for name, proc in processes.items()}


def test_each_role_on_its_own_host_trains_what_the_local_mode_trains(hosts, poly_registry, tmp_path):
    outcome = run_roles(hosts, [*MLP, "--allow-out-of-range", "--reveal-loss", "-o", "m.npz", "--json"],
                        ["--data", "digits.csv", "--allow-out-of-range", "--reveal-loss", "--json"])
    for name, (code, out, err) in outcome.items():
        assert code == 0, (name, err)
    model, data = (json.loads(outcome[name][1]) for name in ("model", "data"))
    # who learns what: the model owner the validation loss and the model, the data owner the test accuracy
    assert "val_loss_per_epoch" in model and "test_accuracy" not in model and "plaintext_test_accuracy" not in model
    assert "test_accuracy" in data and "val_loss_per_epoch" not in data
    assert model["train_loss_per_epoch"] == data["train_loss_per_epoch"]  # opened to both
    assert model["rounds_per_step"] == data["rounds_per_step"] and model["frac_bits"] == data["frac_bits"]
    assert model["samples"] == data["samples"] == {"train": 1259, "val": 359, "test": 179}
    assert sorted(os.listdir(hosts["model"])) == ["ca.pem", "m.npz", "me.crt", "me.key", "r.json"]
    assert sorted(os.listdir(hosts["data"])) == ["ca.pem", "digits.csv", "loads.csv", "me.crt", "me.key"]
    assert sorted(os.listdir(hosts["dealer"])) == ["ca.pem", "me.crt", "me.key"]
    # progress on both sides: each step's revealed loss; the validation loss only on the model owner's
    assert ", loss " in outcome["data"][2] and "validation loss" not in outcome["data"][2]
    # whoever holds both the data and the model file scores the model as the data owner did on shares
    scored = CliRunner().invoke(cli_group, ["evaluate", str(hosts["model"] / "m.npz"), "--data",
                                            str(hosts["data"] / "digits.csv"), "--registry", str(poly_registry.path),
                                            "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["test_accuracy"] == pytest.approx(data["test_accuracy"], abs=0.02)
    # the same training as the local mode (same seed, batches, polynomials): the same losses up to fixed-point noise
    local = CliRunner().invoke(cli_group, ["secure", "train", *MLP, "--data", str(hosts["data"] / "digits.csv"),
                                           "--allow-out-of-range", "--reveal-loss", "--registry",
                                           str(poly_registry.path), "-o", str(tmp_path / "local.npz"), "--json"])
    assert local.exit_code == 0, local.output
    summary = json.loads(local.stdout.splitlines()[-1])
    assert summary["frac_bits"] == model["frac_bits"]
    assert summary["train_loss_per_epoch"][0] == pytest.approx(model["train_loss_per_epoch"][0], rel=1e-2)
    assert summary["val_loss_per_epoch"][0] == pytest.approx(model["val_loss_per_epoch"][0], rel=1e-2)


def test_a_model_trained_and_used_across_hosts_never_exists_in_the_clear(hosts):
    common = ["--allow-out-of-range", "--frac-bits", "5", "--keep-shared", "-o", "f.npz", "--json"]
    outcome = run_roles(hosts, [*FORECASTER, *common], ["--data", "loads.csv", *common], TLS)
    for name, (code, out, err) in outcome.items():
        assert code == 0, (name, err)
    model, data = (json.loads(outcome[name][1]) for name in ("model", "data"))
    assert model["output"] == ["f.party0.npz"] and data["output"] == ["f.party1.npz"]
    assert "test_mape" in data and "test_mape" not in model
    assert "f.party0.npz" in os.listdir(hosts["model"]) and "f.party1.npz" not in os.listdir(hosts["model"])
    assert "f.party1.npz" in os.listdir(hosts["data"]) and "f.party0.npz" not in os.listdir(hosts["data"])
    # each party's file alone: uniform shares; both name the same sharing and public description
    headers = [json.loads(str(np.load(hosts[where] / f"f.party{k}.npz")["metadata"]))
               for k, where in ((0, "model"), (1, "data"))]
    assert headers[0]["public"] == headers[1]["public"] and headers[0]["public"]["frac_bits"] == 5
    # the set-up opens each feature row of the sliding windows once (4-step windows: 3 rows more per part)
    features = headers[0]["public"]["announcement"]["config"]["input_size"]
    rows = sum(count + 4 - 1 for count in data["samples"].values())
    assert model["setup_bytes_per_party"] == data["setup_bytes_per_party"] == 8 * features * rows
    assert "source" not in json.dumps(headers[0]["model_metadata"]["data"]).replace('"source": null', "")
    # secure inference from the two shares, each party inputting its own; the data owner's file names its data
    used = run_roles(hosts, ["--model", "f.party0.npz", "--allow-out-of-range", "--json"],
                     ["--model", "f.party1.npz", "--allow-out-of-range", "--output", "forecasts.npy", "--json"], TLS,
                     command="party")
    for name, (code, out, err) in used.items():
        assert code == 0, (name, err)
    forecasts = json.loads(used["data"][1])
    assert forecasts["windows"] == 24 and np.load(hosts["data"] / "forecasts.npy").shape == (24,)
    assert forecasts["secure"]["mape"] == pytest.approx(data["test_mape"], abs=1.0)  # the same model, on shares


def test_share_files_of_two_runs_are_refused_by_every_role(hosts):
    common = ["--allow-out-of-range", "--frac-bits", "5", "--keep-shared", "--json"]
    for stem in ("a", "b"):
        outcome = run_roles(hosts, [*FORECASTER, *common, "-o", f"{stem}.npz"],
                            ["--data", "loads.csv", *common, "-o", f"{stem}.npz"])
        assert all(code == 0 for code, _, _ in outcome.values()), outcome
    used = run_roles(hosts, ["--model", "a.party0.npz", "--allow-out-of-range"],
                     ["--model", "b.party1.npz", "--allow-out-of-range"], command="party")
    for name, (code, out, err) in used.items():
        assert code == 2 and err.strip().count("\n") == 0 and "not halves of one model" in err, (name, err)


@pytest.mark.parametrize("victim", ["data", "model"])
def test_a_party_killed_mid_training_stops_the_others_and_leaves_the_model_file_alone(hosts, victim):
    (hosts["model"] / "m.npz").write_bytes(b"mine")
    args = ["--allow-out-of-range", "--frac-bits", "6"]
    processes = launch(hosts, [*MLP, "--epochs", "20", *args, "-o", "m.npz", "--force"],
                       ["--data", "digits.csv", *args])
    for line in processes[victim].stderr:  # the run is under way: a progress line
        if line.startswith("steps "):
            break
    else:
        pytest.fail(f"no progress line from the {victim} owner: {finish(processes[victim])}")
    started = time.monotonic()
    processes[victim].kill()
    processes[victim].wait()
    for name in {"data", "model", "dealer"} - {victim}:
        out, err = processes[name].communicate(timeout=60)
        code = processes[name].returncode
        errors = [line for line in err.splitlines() if line.startswith("approx: error:")]
        assert code == 2 and len(errors) == 1 and err.rstrip().endswith(errors[0]), (name, err)
        assert "disconnected" in errors[0], (name, err)
    assert time.monotonic() - started < 60  # within the timeout, not at it
    assert (hosts["model"] / "m.npz").read_bytes() == b"mine"  # untouched: no model, nor half of one
    assert not [f for f in os.listdir(hosts["model"]) if f.endswith(".tmp")]


def test_parties_that_disagree_on_what_is_opened_stop_at_set_up(hosts):
    outcome = run_roles(hosts, [*MLP, "--allow-out-of-range", "--reveal-loss"],
                        ["--data", "digits.csv", "--allow-out-of-range"])
    for name, (code, out, err) in outcome.items():
        assert code == 2 and err.count("\n") <= 2 and "public parameter reveal_loss" in err, (name, err)
    assert not (hosts["model"] / "mlp.npz").exists()


def test_the_model_owner_may_start_from_weights_of_its_own(hosts, poly_registry):
    pretrained = CliRunner().invoke(cli_group, ["train", "mlp", "--loss", "mse", "--hidden", "4",
                                                "--activation", POLY_GATE, "--epochs", "1", "--registry",
                                                str(poly_registry.path), "-o", str(hosts["model"] / "init.npz")])
    assert pretrained.exit_code == 0, pretrained.output
    outcome = run_roles(hosts, ["--init", "init.npz", "--epochs", "1", "--weight-bound", "4", "--gradient-bound", "8",
                                "--allow-out-of-range", "-o", "tuned.npz", "--json"],
                        ["--data", "digits.csv", "--allow-out-of-range", "--json"])
    for name, (code, out, err) in outcome.items():
        assert code == 0, (name, err)
    assert json.loads(outcome["data"][1])["initial_weights"] == "model-owner"
    meta = json.loads(str(np.load(hosts["model"] / "tuned.npz")["metadata"]))
    assert meta["config"]["hidden"] == [4] and meta["data"]["classes"] == list(range(10))
    owner = json.loads(outcome["model"][1])  # the file says it was trained on shares, per role, with which settings
    assert {k: meta["summary"]["train"][k] for k in ("secure", "per_role", "frac_bits", "truncation")} == {
        "secure": True, "per_role": True, "frac_bits": owner["frac_bits"], "truncation": owner["truncation"]}


@pytest.mark.parametrize("args,message", [
    (["--role", "data-owner", "--hidden", "8"], "--hidden belong(s) to the model owner"),
    (["--role", "data-owner", "--epochs", "3"], "--epochs belong(s) to the model owner"),
    (["--role", "model-owner", "--data", "digits", "--listen", "127.0.0.1:0"], "--data belong(s) to the data owner"),
    (["--role", "data-owner", "-o", "x.npz"], "-o and --force are for its share file, with --keep-shared"),
    (["--role", "data-owner", "--force"], "-o and --force are for its share file, with --keep-shared"),
    (["--role", "data-owner", "--keep-shared"], "give -o MODEL"),
    (["--role", "data-owner", "--data", "missing.csv"], "no data file missing.csv"),
    (["--role", "model-owner", "--listen", "127.0.0.1:0", "--activation", "sigmoid"], "hidden layers; --activation"),
    (["--role", "model-owner", "--listen", "127.0.0.1:0", "--activation", "square", "--loss-scale", "3"],
     "power of two"),
    (["--role", "model-owner", "--listen", "127.0.0.1:0", "--init", "notes.npz", "--hidden", "4"],
     "the --init model sets the architecture"),
])
def test_misplaced_or_bad_inputs_are_refused_before_connecting(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.npz").write_bytes(b"x")
    peers = ["--peer", "dealer=127.0.0.1:1"] + (["--peer", "model-owner=127.0.0.1:2"]
                                                if "data-owner" in args else [])
    result = CliRunner().invoke(cli_group, ["party-train", *args, *peers])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output


def test_the_deployment_page_runs_as_written_on_one_machine(tmp_path):
    """The command blocks of docs/secure-deployment.md from "Training across hosts" on, each role in a directory of
    its own: servers (the dealer, the model owner) in the background, the data owner's command waiting for its run.
    Only the ports (7000, 7001: free ones instead, as the suite may run beside other tests) and the number of
    epochs of the 1,580-step example (1 instead of 20, as tests/cli/test_readme.py shortens approx train) change."""
    import socket

    from tests.cli.test_readme import ROOT, readme_commands

    text = (ROOT / "docs" / "secure-deployment.md").read_text()
    section = text[text.index("## Training across hosts"):text.index("## Library use")]
    commands = [command for _, command, _ in readme_commands(section)]
    assert len(commands) >= 10
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    dirs = {name: tmp_path / name for name in ("dealer", "model", "data")}
    for d in dirs.values():
        d.mkdir()
    prelude = f'approx() {{ "{sys.executable}" -m approx "$@"; }}\npython() {{ "{sys.executable}" "$@"; }}\n'
    env = {k: v for k, v in os.environ.items() if k != "APPROX_REGISTRY"}
    background = []
    for command in commands:
        command = (command.replace("127.0.0.1:7000", f"127.0.0.1:{ports[0]}")
                   .replace("127.0.0.1:7001", f"127.0.0.1:{ports[1]}").replace("--epochs 20", "--epochs 1"))
        where = ("dealer" if command.startswith("approx dealer") else "model"
                 if "--role model-owner" in command or command.startswith("approx fit") else "data")
        proc = subprocess.Popen(["bash", "-c", prelude + command], cwd=dirs[where], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if command.startswith("approx dealer") or "--role model-owner" in command:
            line = proc.stderr.readline()
            assert "listening on" in line, (command, line, proc.communicate())
            background.append((command, proc))
            continue
        code, out, err = finish(proc)
        assert code == 0, (command, err[-2000:])
        if "--role data-owner" in command:  # the run is over: the others finish too
            for started, server in background:
                code, _, err = finish(server)
                assert code == 0, (started, err[-2000:])
            background = []
    assert (dirs["model"] / "digits.npz").exists() and not (dirs["data"] / "digits.npz").exists()
    assert sorted(f for f in os.listdir(dirs["model"]) if f.startswith("loads")) == ["loads.party0.npz"]
    assert (dirs["data"] / "loads.party1.npz").exists() and (dirs["data"] / "forecasts.csv").exists()

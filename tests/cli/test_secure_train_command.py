"""``approx secure train``: the CLI round trip, its refusals, and a party killed mid-training over TCP."""

import json
import os
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import approx as cli_group
from tests.strategies import POLY_CELL, POLY_GATE
from mpc.training.cost import forecaster_step_cost, mlp_step_cost
from nn.features import FEATURES

MLP = ["secure", "train", "--model", "mlp", "--hidden", "4", "--activation", POLY_GATE, "--epochs", "1",
       "--weight-bound", "4", "--gradient-bound", "8", "--allow-out-of-range"]
KEYS = {"bytes_per_party_per_step", "rounds_per_step", "floor_bytes_per_step", "floor_rounds_per_step",
        "seconds_per_epoch", "epochs_run", "truncation_failure_bound", "setup_bytes_per_party", "setup_rounds"}


def invoke(args, registry):
    return CliRunner().invoke(cli_group, [*args, "--registry", str(registry.path)])


def load_csv(path) -> str:
    times = pd.date_range("2021-03-01", periods=240, freq="30min")
    loads = 1000 + 200 * np.sin(np.arange(240) * 2 * np.pi / 48)
    path.write_text("timestamp,load\n" + "\n".join(f"{t:%Y-%m-%d %H:%M},{v:.2f}" for t, v in zip(times, loads)))
    return str(path)


def test_mlp_round_trip_model_file_read_by_evaluate(poly_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = invoke([*MLP, "-o", "m.npz", "--json"], poly_registry)
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout.splitlines()[-1])
    assert KEYS <= set(summary) and {"test_accuracy", "plaintext_test_accuracy"} <= set(summary)
    assert summary["epochs_run"] == 1 and summary["truncation_failure_bound"] <= 1e-6
    assert "approx: WARNING: layer0: the public bound" in out.output  # --allow-out-of-range is loud
    assert summary["bytes_per_party_per_step"] >= summary["floor_bytes_per_step"] > 0
    # digits 64 -> 4 -> 10, batch 16: the samples opened once at set-up (train and validation), not per step
    assert summary["bytes_per_party_per_step"] == mlp_step_cost((64, 4, 10), 16)["bytes_per_party"]
    assert summary["setup_rounds"] == 1 and summary["setup_bytes_per_party"] % (8 * 64) == 0
    assert abs(summary["test_accuracy"] - summary["plaintext_test_accuracy"]) <= 0.05
    with np.load("m.npz") as archive:  # the file says it was trained on shares, with which bits and truncation
        train = json.loads(str(archive["metadata"]))["summary"]["train"]
    assert train["secure"] is True and train["seed"] == 0 and train["epochs"] == 1
    assert (train["frac_bits"], train["truncation"]) == (summary["frac_bits"], summary["truncation"])
    scored = invoke(["evaluate", "m.npz", "--json"], poly_registry)
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    # another kind of model is not overwritten without --force
    (tmp_path / "notes.npz").write_bytes(b"mine")
    refused = invoke([*MLP, "-o", "notes.npz"], poly_registry)
    assert refused.exit_code == 2 and "--force" in refused.output
    assert (tmp_path / "notes.npz").read_bytes() == b"mine"


def test_kept_shares_are_one_file_per_party_and_add_up_to_the_model(poly_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shared = invoke([*MLP, "-o", "k.npz", "--keep-shared", "--json", "--frac-bits", "8"], poly_registry)
    assert shared.exit_code == 0, shared.output
    assert not os.path.exists("k.npz") and json.loads(shared.stdout)["output"] == ["k.party0.npz", "k.party1.npz"]
    opened = invoke([*MLP, "-o", "m.npz", "--json", "--frac-bits", "8"], poly_registry)
    assert opened.exit_code == 0, opened.output
    files = [np.load(f"k.party{k}.npz") for k in range(2)]
    headers = [json.loads(str(f["metadata"])) for f in files]
    assert [h["party"] for h in headers] == [0, 1] and headers[0]["frac_bits"] == 8
    model = np.load("m.npz")
    assert headers[0]["model_metadata"]["config"]["hidden"] == [4]
    for name in (k for k in files[0].files if k != "metadata"):
        assert np.max(np.abs(files[0][name].view(np.int64))) > 2**40, name  # one share alone says nothing
        total = (files[0][name] + files[1][name]).view(np.int64) / 2.0**8
        # the same training with other random shares: rounding differs by units of 2^-8 per step
        assert np.max(np.abs(total - model[name])) < 0.25, name


def test_forecaster_round_trip(poly_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["secure", "train", "--model", "forecaster", "--data", load_csv(tmp_path / "load.csv"),
            "--window", "4", "--hidden-size", "3", "--dense-size", "2", "--gate-activation", POLY_GATE,
            "--cell-activation", POLY_CELL, "--epochs", "1", "--batch-size", "16", "--weight-bound", "4",
            "--gradient-bound", "4", "--allow-out-of-range", "-o", "f.npz", "--json",
            "--max-failure-probability", "1e-7"]
    # local truncation would need fewer than 8 fractional bits: not chosen silently, the dealer's fix named
    refused = invoke([*args, "--truncation", "local"], poly_registry)
    assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1, refused.output
    assert "no setting from 8 to 16 fractional bits" in refused.output and "--truncation dealer" in refused.output
    out = invoke(args, poly_registry)  # auto: the dealer's truncation at 16 bits, which cannot fail
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout.splitlines()[-1])
    assert summary["truncation"] == "dealer" and summary["frac_bits"] == 16
    assert KEYS <= set(summary) and summary["truncation_failure_bound"] == 0.0
    # the windows slide: their rows are opened once at set-up, and a step opens none of them
    assert summary["setup_rounds"] == 1
    assert abs(summary["test_mape"] - summary["plaintext_test_mape"]) <= 0.05 * summary["plaintext_test_mape"]
    scored = invoke(["evaluate", "f.npz", "--json"], poly_registry)
    assert scored.exit_code == 0 and json.loads(scored.stdout)["test_mape"] == pytest.approx(summary["test_mape"])
    low = invoke([*args, "--truncation", "local", "--frac-bits", "5"], poly_registry)  # asked for explicitly
    assert low.exit_code == 0, low.output
    summary = json.loads(low.stdout.splitlines()[-1])
    assert summary["truncation"] == "local" and 0 < summary["truncation_failure_bound"] <= 1e-7
    assert abs(summary["test_mape"] - summary["plaintext_test_mape"]) <= 0.5 * summary["plaintext_test_mape"]


@pytest.mark.parametrize("args,message", [
    (["--parties", "3"], "2 parties"),
    (["--activation", "sigmoid"], "hidden layers; --activation"),
    (["--frac-bits", "20", "--truncation", "local"], "--truncation dealer (which cannot fail)"),
    (["--no-range-allowance"], "interval"),
])
def test_refusals_exit_2_with_one_line_and_write_nothing(poly_registry, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    if args == ["--no-range-allowance"]:  # the public bounds let the pre-activations leave [-8, 8]
        base, args = [a for a in MLP if a != "--allow-out-of-range"], []
    else:
        base = MLP
    out = invoke([*base, *args, "-o", "m.npz"], poly_registry)
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert message in out.output
    assert not os.path.exists("m.npz")


def dying_training(session, *args):
    """train_program, but the data owner's process dies in its second training step."""
    from cli.secure_train_command import train_program
    from mpc.training import loop

    original, calls = loop._step, []

    def step(*a):
        calls.append(1)
        if len(calls) == 3 and session.comm.position(1) is not None:  # the plan's step, then two steps
            os._exit(9)
        return original(*a)

    loop._step = step
    return train_program(session, *args)


def test_a_party_killed_mid_training_stops_the_other_and_writes_no_model(poly_registry, tmp_path, monkeypatch):
    import cli.secure_train_command as command

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(command, "train_program", dying_training)
    start = time.monotonic()
    out = invoke([*MLP, "--transport", "tcp", "--timeout", "20", "-o", "m.npz"], poly_registry)
    assert out.exit_code == 2, out.output
    assert "party 1: exited with code 9" in out.output and "party 0: party 1 disconnected" in out.output
    assert time.monotonic() - start < 20.0
    assert not os.path.exists("m.npz")


def test_reveal_loss_opens_each_step_loss_and_the_validation_loss_is_reported_per_epoch(poly_registry, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    quiet = invoke([*MLP, "--epochs", "2", "-o", "q.npz", "--json"], poly_registry)
    assert quiet.exit_code == 0, quiet.output
    hidden = json.loads(quiet.stdout.splitlines()[-1])
    # without --reveal-loss: one number per epoch (the validation loss on shares, the model owner's), nothing per step
    assert len(hidden["val_loss_per_epoch"]) == 2 and "train_loss_per_epoch" not in hidden
    shown = invoke([*MLP, "--epochs", "2", "--reveal-loss", "-o", "r.npz"], poly_registry)
    assert shown.exit_code == 0, shown.output
    steps = [line for line in shown.output.splitlines() if line.startswith("steps ")]
    assert steps and all(", loss " in line for line in steps)
    assert "validation loss" in steps[-1] and "(epoch 1)" in steps[-1]
    assert "training loss per epoch (revealed)" in shown.output
    revealed = invoke([*MLP, "--epochs", "2", "--reveal-loss", "-o", "j.npz", "--json"], poly_registry)
    summary = json.loads(revealed.stdout.splitlines()[-1])
    assert summary["reveal_loss"] and len(summary["train_loss_per_epoch"]) == 2
    assert all(0 < v < 1 for v in summary["train_loss_per_epoch"] + summary["val_loss_per_epoch"])
    # the loss costs an elementwise square and its opening: two rounds more per step, a few bytes
    assert summary["rounds_per_step"] == hidden["rounds_per_step"] + 2
    assert summary["truncation_failure_bound"] <= 1e-6


def _reconstructed_model(tmp_path, stem):
    """The model the two share files hold, written as a model file (what opening the shares would give)."""
    files = [np.load(tmp_path / f"{stem}.party{k}.npz") for k in range(2)]
    header = json.loads(str(files[0]["metadata"]))
    weights = {name: (files[0][name] + files[1][name]).view(np.int64) / 2.0 ** header["frac_bits"]
               for name in files[0].files if name != "metadata"}
    meta = {"format": "approx-model/1", "model": header["model"], **header["model_metadata"]}
    np.savez(tmp_path / "opened.npz", metadata=np.array(json.dumps(meta)), **weights)
    return str(tmp_path / "opened.npz"), header


def test_a_model_kept_shared_is_used_from_its_shares_as_from_the_opened_model(poly_registry, tmp_path, monkeypatch):
    from nn.evaluation import forecast
    from nn.persistence import load_model
    from nn.provenance import model_dataset

    monkeypatch.chdir(tmp_path)
    trained = invoke(["secure", "train", "--model", "forecaster", "--data", load_csv(tmp_path / "load.csv"),
                      "--window", "4", "--hidden-size", "3", "--dense-size", "2", "--gate-activation", POLY_GATE,
                      "--cell-activation", POLY_CELL, "--epochs", "1", "--batch-size", "16", "--weight-bound", "4",
                      "--gradient-bound", "4", "--allow-out-of-range", "--frac-bits", "5", "--keep-shared",
                      "-o", "k.npz", "--json"], poly_registry)
    assert trained.exit_code == 0, trained.output
    shared = invoke(["secure", "infer", "k.party1.npz", "k.party0.npz", "--allow-out-of-range", "--json",
                     "--output", "shared.npy"], poly_registry)
    assert shared.exit_code == 0, shared.output
    from_shares = json.loads(shared.stdout.splitlines()[-1])
    assert from_shares["from_shares"] and from_shares["plaintext"] is None and from_shares["frac_bits"] >= 5
    path, header = _reconstructed_model(tmp_path, "k")
    opened = invoke(["secure", "infer", path, "--allow-out-of-range", "--json", "--output", "opened.npy"],
                    poly_registry)
    assert opened.exit_code == 0, opened.output
    summary = json.loads(opened.stdout.splitlines()[-1])
    model, meta = load_model(path, registry=poly_registry.path)
    dataset = model_dataset(meta)
    plain = dataset.to_mw(forecast(model, dataset.part("test")[0]))
    tolerance = 2.0 ** (8 - from_shares["frac_bits"]) * (dataset.load_max - dataset.load_min)
    for name in ("shared.npy", "opened.npy"):  # the same weights by both routes: each within the fixed-point noise
        assert np.max(np.abs(np.load(name) - plain)) < tolerance, name
    assert summary["secure"]["mape"] == pytest.approx(from_shares["secure"]["mape"], abs=1.0)
    # halves of two sharings of the same model do not add up to it: refused, as is half a model, or fewer bits
    other = dict(np.load("k.party1.npz"))
    other_header = json.loads(str(other.pop("metadata")))
    other_header["public"]["sharing"] = "0" * 32
    np.savez("x.party1.npz", metadata=np.array(json.dumps(other_header)), **other)
    for args, message in ((["k.party0.npz", "x.party1.npz"], "not halves of one model: their public metadata "
                                                              "differ in sharing"),
                          (["k.party0.npz"], "one party's share of a model kept shared"),
                          (["k.party0.npz", "k.party1.npz", "--frac-bits", "4"], "hold 5 fractional bits"),
                          (["k.party0.npz", "k.party0.npz"], "both party 0's share file")):
        refused = invoke(["secure", "infer", *args, "--allow-out-of-range"], poly_registry)
        assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1, refused.output
        assert message in refused.output

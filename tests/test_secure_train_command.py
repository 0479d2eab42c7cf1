"""``approx secure train``: the CLI round trip, its refusals, and a party killed mid-training over TCP."""

import json
import os
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import approx as cli_group
from conftest import POLY_CELL, POLY_GATE

MLP = ["secure", "train", "--model", "mlp", "--hidden", "4", "--activation", POLY_GATE, "--epochs", "1",
       "--weight-bound", "4", "--gradient-bound", "8", "--allow-out-of-range"]
KEYS = {"bytes_per_party_per_step", "rounds_per_step", "floor_bytes_per_step", "floor_rounds_per_step",
        "seconds_per_epoch", "epochs_run", "truncation_failure_bound"}


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
    assert abs(summary["test_accuracy"] - summary["plaintext_test_accuracy"]) <= 0.05
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

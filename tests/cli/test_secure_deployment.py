"""One process per role, as on separate hosts: the dealer, the model owner and the data owner on 127.0.0.1, each
in a directory of its own holding only its input (the model file and its registry, or the load CSV) and its
TLS certificate, with the CA certificate as the only file they all have."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from tests.certificates import make_certificates
from cli import approx as cli_group
from nn.provenance import model_dataset
from tests.strategies import POLY_CELL, POLY_GATE
from nn.data import load_series
from nn.evaluation import forecast
from nn.persistence import load_model

APPROX = [sys.executable, "-m", "approx"]


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, poly_registry):
    """Three directories: dealer/, model/ (m.npz, r.json), data/ (loads.csv); a certificate per role in each."""
    root = tmp_path_factory.mktemp("hosts")
    dirs = {name: root / name for name in ("dealer", "model", "data")}
    for d in dirs.values():
        d.mkdir()
    shutil.copy(poly_registry.path, dirs["model"] / "r.json")
    trained = CliRunner().invoke(cli_group, [
        "train", "--gate-activation", POLY_GATE, "--cell-activation", POLY_CELL, "--hidden-activation", "square",
        "--output-activation", "identity", "--hidden-size", "4", "--dense-size", "3", "--epochs", "1",
        "--registry", str(dirs["model"] / "r.json"), "-o", str(dirs["model"] / "m.npz"), "--json"])
    assert trained.exit_code == 0
    series = load_series("taylor")[: 48 * 40]  # the data owner's own 40 days
    series.rename("load").rename_axis("timestamp").reset_index().to_csv(dirs["data"] / "loads.csv", index=False)
    certs = make_certificates(root, {"party-0": ["party-0"], "party-1": ["party-1"], "dealer": ["dealer"]})
    for role, where in (("party-0", "model"), ("party-1", "data"), ("dealer", "dealer")):
        for suffix in ("crt", "key"):
            shutil.move(root / f"{role}.{suffix}", dirs[where] / f"me.{suffix}")
        shutil.copy(root / "ca.pem", dirs[where] / "ca.pem")
    os.unlink(root / "ca.pem")
    return dirs


TLS = ["--tls-cert", "me.crt", "--tls-key", "me.key", "--tls-ca", "ca.pem"]


def start(args, cwd):
    """Start a role in its directory; returns (process, the port it listens on or None)."""
    proc = subprocess.Popen(APPROX + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "APPROX_REGISTRY": "r.json"})
    if "--listen" not in args:
        return proc, None
    line = proc.stderr.readline()  # "approx: <role> listening on HOST:PORT"
    assert "listening on" in line, line
    return proc, int(line.rsplit(":", 1)[1])


def finish(proc):
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def run_roles(hosts, model_extra=(), data_extra=()):
    dealer, dealer_port = start(["dealer", "--listen", "127.0.0.1:0", "--timeout", "60", *TLS, "--json"],
                                hosts["dealer"])
    model, model_port = start(["party", "--role", "model-owner", "--model", "m.npz", "--listen", "127.0.0.1:0",
                               "--peer", f"dealer=127.0.0.1:{dealer_port}", "--allow-out-of-range", "--timeout", "60",
                               *TLS, "--json", *model_extra], hosts["model"])
    data, _ = start(["party", "--role", "data-owner", "--data", "loads.csv", "--limit", "6", "--batch-size", "3",
                     "--peer", f"dealer=127.0.0.1:{dealer_port}", "--peer", f"model-owner=127.0.0.1:{model_port}",
                     "--allow-out-of-range", "--timeout", "60", "--output", "forecasts.npy", *TLS, "--json",
                     *data_extra], hosts["data"])
    return {name: finish(proc) for name, proc in (("data", data), ("model", model), ("dealer", dealer))}


@pytest.mark.parametrize("truncation", ["auto", "dealer"])
def test_three_hosts_compute_what_the_local_mode_does(hosts, truncation):
    extra = ["--truncation", truncation]
    outcome = run_roles(hosts, model_extra=extra, data_extra=extra)
    for name, (code, out, err) in outcome.items():
        assert code == 0, (name, err)
    data = json.loads(outcome["data"][1])
    model = json.loads(outcome["model"][1])
    assert data["windows"] == 6 and data["frac_bits"] == model["frac_bits"] and data["rounds"] == model["rounds"]
    assert data["truncation"] == model["truncation"] == ("local" if truncation == "auto" else "dealer")
    if truncation == "dealer":  # the dealer served the truncation triples of the last party
        assert data["frac_bits"] == 16 and data["truncation_failure_bound"] == 0.0
        assert json.loads(outcome["dealer"][1])["counts"]["truncation"] > 0
    assert "secure" in data and "windows" not in model and "secure" not in model  # the model owner learns nothing
    forecasts = np.load(hosts["data"] / "forecasts.npy")
    # the plaintext model on the same windows, scaled by the model's own min-max scaling (announced by the model
    # owner; the data owner's 40 days have another range): the secure forecasts are within the fixed-point noise
    model_, meta = load_model(hosts["model"] / "m.npz", registry=hosts["model"] / "r.json")
    dataset = model_dataset({"features": meta["features"], "scaling": meta["scaling"]},
                            str(hosts["data"] / "loads.csv"), "timestamp", "load", "GB/ENG")
    own = model_dataset({"features": meta["features"]}, str(hosts["data"] / "loads.csv"), "timestamp", "load",
                        "GB/ENG")
    assert (own.load_min, own.load_max) != (dataset.load_min, dataset.load_max)  # the scaling matters here
    plain = dataset.to_mw(forecast(model_, dataset.part("test")[0][:6]))
    assert forecasts.shape == (6,)
    assert np.max(np.abs(forecasts - plain)) < 2.0 ** (8 - data["frac_bits"]) * (dataset.load_max - dataset.load_min)
    # and far closer to it than to the model fed loads scaled by the data owner's own range
    plain_own = own.to_mw(forecast(model_, own.part("test")[0][:6]))
    assert 10 * np.max(np.abs(forecasts - plain)) < np.max(np.abs(forecasts - plain_own))
    assert sorted(os.listdir(hosts["dealer"])) == ["ca.pem", "me.crt", "me.key"]  # the dealer held nothing else


@pytest.mark.parametrize("option,mine,theirs", [("--frac-bits", "10", "12"), ("--truncation", "local", "dealer")])
def test_roles_that_disagree_on_the_fractional_bits_all_stop_with_one_line(hosts, option, mine, theirs):
    outcome = run_roles(hosts, model_extra=[option, mine], data_extra=[option, theirs])
    parameter = option[2:].replace("-", "_")
    for name, (code, out, err) in outcome.items():
        assert code == 2 and err.count("\n") <= 2 and f"public parameter {parameter}" in err, (name, err)

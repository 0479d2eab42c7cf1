"""The approx command: output, JSON fields, registry options, and one-line errors with status 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from approx import Registry, fit
from cli import approx


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APPROX_REGISTRY", raising=False)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(approx, list(args), catch_exceptions=False)

    return invoke


JSON_FIELDS = {"name", "func", "method", "degree", "interval", "coefficients", "basis", "max_error",
               "error_bound", "rms_error", "derivative"}


def test_fit_prints_table_and_saves(run, tmp_path):
    result = run("fit", "--func", "sigmoid", "--degree", "3")
    assert result.exit_code == 0
    assert "sigmoid-chebyshev-3[-8,8]" in result.output and "error_bound" in result.output
    assert Registry(tmp_path / "approx-registry.json").names() == ["sigmoid-chebyshev-3[-8,8]"]


def test_fit_json_has_the_documented_fields(run):
    result = run("fit", "--func", "tanh", "--degree", "5", "--method", "minimax", "--json", "--no-save",
                 "--frac-bits", "16")
    d = json.loads(result.output)
    assert JSON_FIELDS <= set(d)
    assert d["interval"] == [-4.0, 4.0]
    assert set(d["basis"]) >= {"kind", "domain", "coefficients"}
    assert set(d["derivative"]) >= {"coefficients", "max_error", "error_bound"}
    ref = fit("tanh", 5, method="minimax")
    assert d["coefficients"] == ref.coefficients.tolist()
    assert d["error_bound"] >= d["max_error"]
    q = np.array(d["fixed_point"]["integers"]) * 2.0**-16
    assert np.max(np.abs(q - np.array(d["fixed_point"]["coefficients"]))) == 0
    assert d["fixed_point"]["error_bound"] >= d["max_error"] * (1 - 1e-12)
    assert not os.path.exists("approx-registry.json")


def test_max_error_picks_smallest_degree(run):
    d = json.loads(run("fit", "--func", "sigmoid", "--max-error", "0.01", "--method", "minimax", "--json").output)
    assert d["error_bound"] <= 0.01 and d["proven_minimal"] is True
    lower = fit("sigmoid", d["degree"] - 2, method="minimax")  # odd target: degree - 1 is the same fit
    assert lower.minimax_lower_bound > 0.01


def test_list_show_remove(run, tmp_path):
    path = str(tmp_path / "other.json")
    run("fit", "--func", "swish", "--degree", "4", "--registry", path, "--name", "sw4")
    assert "sw4" in run("list", "--registry", path).output
    assert json.loads(run("show", "sw4", "--registry", path, "--json").output)["func"] == "swish"
    assert json.loads(run("list", "--registry", path, "--json").output)[0]["name"] == "sw4"
    assert run("remove", "sw4", "--registry", path).exit_code == 0
    assert Registry(path).names() == []


def test_registry_environment_variable(run, tmp_path, monkeypatch):
    monkeypatch.setenv("APPROX_REGISTRY", str(tmp_path / "env.json"))
    run("fit", "--func", "tanh", "--degree", "3")
    assert Registry(tmp_path / "env.json").names() == ["tanh-chebyshev-3[-4,4]"]


def test_plot_writes_an_image(run, tmp_path):
    run("fit", "--func", "sigmoid", "--degree", "3")
    result = run("plot", "sigmoid-chebyshev-3[-8,8]", "-o", "p.png")
    assert result.exit_code == 0
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args", [
    ["fit", "--func", "sigmod", "--degree", "3"],
    ["fit", "--func", "sigmoid", "--degree", "32"],
    ["fit", "--func", "sigmoid", "--degree", "-1"],
    ["fit", "--func", "sigmoid", "--degree", "3", "--method", "pade"],
    ["fit", "--func", "sigmoid", "--degree", "3", "--interval", "2", "1"],
    ["fit", "--func", "sigmoid", "--degree", "3", "--interval", "nan", "1"],
    ["fit", "--func", "sigmoid", "--degree", "3", "--interval", "0", "inf"],
    ["fit", "--func", "sigmoid"],
    ["fit", "--func", "sigmoid", "--degree", "3", "--max-error", "0.1"],
    ["fit", "--func", "sigmoid", "--max-error", "-1"],
    ["fit", "--func", "sigmoid", "--max-error", "1e-30"],
    ["fit", "--func", "sigmoid", "--degree", "3", "--points", "pyproject.toml"],
    ["show", "nope"],
    ["remove", "nope"],
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args):
    env = {**os.environ, "APPROX_REGISTRY": str(tmp_path / "r.json")}
    out = subprocess.run([sys.executable, "-m", "approx", *args], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("approx: error: "), out.stderr
    assert not (tmp_path / "r.json").exists()


def test_lsq_on_points_from_a_file(run, tmp_path):
    x = np.random.default_rng(1).uniform(-4, 4, 300)
    np.save(tmp_path / "pre.npy", x)
    d = json.loads(run("fit", "--func", "tanh", "--degree", "5", "--method", "lsq", "--points", "pre.npy",
                       "--json", "--no-save").output)
    assert np.allclose(d["basis"]["coefficients"], fit("tanh", 5, method="lsq", points=x).coef, atol=0)


def test_corrupt_registry_is_reported_and_kept(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("{broken")
    env = {**os.environ, "APPROX_REGISTRY": str(path)}
    out = subprocess.run([sys.executable, "-m", "approx", "fit", "--func", "sigmoid", "--degree", "3"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 2 and "not valid JSON" in out.stderr
    assert path.read_text() == "{broken"


def test_train_evaluate_and_plot_forecast(run, tmp_path):
    result = run("train", "--epochs", "2", "--batch-size", "64", "--hidden-size", "6", "--dense-size", "3",
                 "--hidden-activation", "square", "--output-activation", "identity", "-o", "m.npz", "--json")
    summary = json.loads(result.stdout)
    assert {"test_rmse", "test_mae", "test_mape", "val_mape", "epochs_run", "train_seconds", "seconds_per_epoch",
            "baselines", "outside_interval"} <= set(summary)
    assert set(summary["baselines"]) == {"persistence", "seasonal_naive_day", "seasonal_naive_week"} and summary["epochs_run"] == 2
    evaluated = json.loads(run("evaluate", "m.npz", "--json").output)
    assert evaluated["test_mape"] == pytest.approx(summary["test_mape"], rel=1e-12)
    assert "persistence" in run("evaluate", "m.npz").output
    assert run("plot-forecast", "m.npz", "-o", "f.png").exit_code == 0
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_train_without_a_kind_is_the_forecaster_and_model_names_the_subcommand(run, tmp_path):
    small = ["--epochs", "1", "--batch-size", "64", "--hidden-size", "3", "--dense-size", "2", "--json"]
    bare = json.loads(run("train", *small, "-o", "bare.npz").stdout)
    named = json.loads(run("train", "forecaster", *small, "-o", "named.npz").stdout)
    assert bare["test_mape"] == named["test_mape"] and bare["train"] == named["train"]
    old = run("train", "--model", "rnn", "--epochs", "1")
    assert old.exit_code == 2 and "approx train rnn" in old.output and len(old.output.strip().splitlines()) == 1
    helped = run("train", "--help").output
    assert all(kind in helped for kind in ("forecaster", "mlp", "rnn"))
    assert "--per-step" in run("train", "rnn", "--help").output and "--per-step" not in run("train", "mlp",
                                                                                               "--help").output
    assert not list(tmp_path.glob("rnn.npz"))


def test_lagged_model_is_evaluated_with_its_lags(run):
    summary = json.loads(run("train", "--epochs", "1", "--batch-size", "64", "--hidden-size", "4", "--dense-size",
                             "2", "--lags", "48,336", "--window", "8", "-o", "lag.npz", "--json").stdout)
    assert summary["train"]["lags"] == [48, 336] and summary["train"]["window"] == 8
    evaluated = json.loads(run("evaluate", "lag.npz", "--json").output)
    assert evaluated["test_mape"] == pytest.approx(summary["test_mape"], rel=1e-12)
    assert evaluated["baselines"] == summary["baselines"]
    bad = run("train", "--lags", "48,x", "-o", "never.npz")
    assert bad.exit_code == 2 and "48,336" in bad.output


def test_train_refuses_unknown_activation_before_writing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "approx", "train", "--gate-activation", "nope", "-o",
                          str(tmp_path / "m.npz")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "unknown activation 'nope'" in out.stderr
    assert not (tmp_path / "m.npz").exists()


def test_secure_eval(run, tmp_path):
    run("fit", "--func", "tanh", "--degree", "3", "--method", "minimax")
    d = json.loads(run("secure", "eval", "--activation", "tanh-minimax-3[-4,4]", "--random", "500", "--json").stdout)
    assert d["rounds"] == 2 and d["floor_rounds"] == 2 and d["inputs"] == 500
    assert d["bytes_per_party"] == d["floor_bytes_per_party"] == 8 * 2 * 500  # t opened for t^2, t^2 for t^3
    tcp = json.loads(run("secure", "eval", "--activation", "tanh-minimax-3[-4,4]", "--random", "500", "--json",
                         "--transport", "tcp", "--timeout", "20").stdout)
    assert tcp["transport"] == "tcp" and tcp["bytes_per_party"] == d["bytes_per_party"]
    assert tcp["max_error_vs_polynomial"] <= tcp["fixed_point_bound"]
    assert d["max_error_vs_polynomial"] <= d["fixed_point_bound"]
    assert d["max_error_vs_function"] <= d["end_to_end_bound"]
    np.save(tmp_path / "x.npy", np.array([-10.0, 0.0]))
    out = subprocess.run([sys.executable, "-m", "approx", "secure", "eval", "--activation", "tanh-minimax-3[-4,4]",
                          "--input", str(tmp_path / "x.npy"), "--registry", str(tmp_path / "approx-registry.json")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "inside the interval" in out.stderr
    out = subprocess.run([sys.executable, "-m", "approx", "secure", "eval", "--activation", "sigmoid"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "not a polynomial" in out.stderr

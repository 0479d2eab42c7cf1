"""No silent wrong answer, no lost work: models describe their data, failures exit non-zero and write nothing,
bad input is one line with status 2, checks come before the work, Ctrl-C is one line, JSON is strict."""

import json
import math
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given

from cli import approx
from approx.strict_json import dumps
from approx.atomic_file import atomic_write
from nn.data import TAYLOR_CSV
from nn.metrics import scores
from nn.persistence import load_model
from nn.provenance import model_dataset

SMALL = ["--epochs", "1", "--batch-size", "64", "--hidden-size", "4", "--dense-size", "2"]
EXPERIMENT = ["experiment", "--degrees", "3", "--methods", "chebyshev", "--seeds", "0", "--intervals", "narrow",
              "--epochs", "1", "--hidden-size", "4", "--dense-size", "2", "--jobs", "1", "--registry", "r.json"]


def strict(text: str):
    """json.loads that refuses NaN and Infinity, as strict parsers (JavaScript, jq, Go) do."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APPROX_REGISTRY", raising=False)

    def invoke(*args):
        return CliRunner().invoke(approx, [str(a) for a in args])

    return invoke


def one_line_error(result, status=2, prefix="approx: error: "):
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == status and len(lines) == 1 and lines[0].startswith(prefix), \
        (result.exit_code, result.stderr, result.exception)
    return lines[0]


def taylor_part(path: Path, rows: int, zero_rows=()) -> Path:
    frame = pd.read_csv(TAYLOR_CSV, comment="#").iloc[:rows].copy()
    frame.loc[list(zero_rows), "load"] = 0.0
    frame.to_csv(path, index=False)
    return path


# -- a model file describes its data ---------------------------------------------------------------------------

def test_evaluate_uses_the_data_calendar_and_columns_recorded_in_the_model(cli, tmp_path):
    frame = pd.read_csv(TAYLOR_CSV, comment="#").iloc[:2016].rename(columns={"timestamp": "when", "load": "mw"})
    frame.to_csv(tmp_path / "half.csv", index=False)
    trained = strict(cli("train", "--data", "half.csv", "--time-column", "when", "--load-column", "mw",
                         "--holidays", "US", *SMALL, "-o", "half.npz", "--json").stdout)
    evaluated = cli("evaluate", "half.npz", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    scored = strict(evaluated.stdout)
    assert scored["test_rmse"] == pytest.approx(trained["test_rmse"], rel=1e-12)
    assert str(tmp_path / "half.csv") in scored["data"] and "as trained" in scored["data"] and "US" in scored["data"]
    _, meta = load_model(tmp_path / "half.npz")
    assert meta["data"]["time_column"] == "when" and meta["data"]["holidays"] == "US"
    assert len(meta["data"]["sha256"]) == 64 and meta["features"] == {"window": 20, "lags": []}
    # from another folder too, and plot-forecast says which data it plotted
    (tmp_path / "sub").mkdir()
    os.chdir(tmp_path / "sub")
    plotted = cli("plot-forecast", "../half.npz", "-o", "f.png")
    assert plotted.exit_code == 0 and f"data: {tmp_path / 'half.csv'}" in plotted.stdout


def test_a_changed_or_missing_data_file_is_reported_and_data_overrides(cli, tmp_path):
    taylor_part(tmp_path / "half.csv", 2016)
    cli("train", "--data", "half.csv", *SMALL, "-o", "half.npz")
    with open(tmp_path / "half.csv", "a") as fh:
        fh.write("# one more line\n")
    assert "has changed since the model was trained" in one_line_error(cli("evaluate", "half.npz"))
    assert "--data" in one_line_error(cli("plot-forecast", "half.npz", "-o", "f.png"))
    assert not (tmp_path / "f.png").exists()
    override = cli("evaluate", "half.npz", "--data", "taylor")
    assert override.exit_code == 0 and override.stdout.startswith("data: taylor (--data; the model was trained on")
    os.remove(tmp_path / "half.csv")
    assert "no longer exists" in one_line_error(cli("evaluate", "half.npz"))


def test_other_data_are_scaled_as_the_model_was_trained(cli, tmp_path):
    taylor_part(tmp_path / "half.csv", 2016)
    cli("train", "--data", "half.csv", *SMALL, "-o", "half.npz")
    _, meta = load_model(tmp_path / "half.npz")
    full = model_dataset(meta, data="taylor")
    assert (full.load_min, full.load_max) == (meta["scaling"]["load_min"], meta["scaling"]["load_max"])
    assert full.source.startswith("taylor (--data")


# -- a diverged run ---------------------------------------------------------------------------------------------

def test_a_diverged_run_exits_1_writes_nothing_and_says_so_in_json(cli, tmp_path):
    cli("train", *SMALL, "-o", "old.npz")
    before = (tmp_path / "old.npz").read_bytes()
    result = cli("train", *SMALL, "--lr", "1e6", "--hidden-activation", "square", "--output-activation", "identity",
                 "-o", "old.npz", "--json")
    assert result.exit_code == 1 and "diverged" in result.stderr
    summary = strict(result.stdout)
    assert summary["diverged"] is True and summary["epochs_run"] == 1
    assert (tmp_path / "old.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.npz"]


# -- strict JSON ------------------------------------------------------------------------------------------------

def test_zero_loads_give_null_mape_not_infinity(cli, tmp_path):
    taylor_part(tmp_path / "zero.csv", 4032, zero_rows=range(3900, 3910))
    result = cli("train", "--data", "zero.csv", *SMALL, "-o", "z.npz", "--json")
    summary = strict(result.stdout)
    assert summary["test_mape"] is None and summary["test_rmse"] > 0
    assert "inf" not in cli("evaluate", "z.npz").stdout and "n/a" in cli("evaluate", "z.npz").stdout
    assert math.isnan(scores(np.array([1.0, 2.0]), np.array([0.0, 2.0])).mape)


finite_or_not = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=3),
                          st.none(), st.booleans())


@given(st.recursive(finite_or_not, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=12))
def test_strict_json_writes_non_finite_numbers_as_null_and_keeps_the_rest(value):
    back = strict(dumps(value))

    def same(a, b):
        if isinstance(a, float) and not math.isfinite(a):
            return b is None
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b

    assert same(value, back)


# -- outputs, optional dependencies and inputs before the work ----------------------------------------------------

@pytest.fixture
def no_training(monkeypatch):
    """Training or planning an experiment fails the test: the command should have stopped before."""
    import nn.experiments
    import nn.training

    def never(*args, **kwargs):
        raise AssertionError("the work started")

    monkeypatch.setattr(nn.training, "train", never)
    monkeypatch.setattr(nn.experiments, "plan_runs", never)


@pytest.mark.parametrize("args", [
    ["train", "-o", "nodir/m.npz"],
    ["train", "mlp", "-o", "nodir/m.npz"],
    ["plot", "sigmoid", "-o", "nodir/p.png"],
    ["plot", "sigmoid", "-o", "p.xyz"],
    ["plot-forecast", "m.npz", "-o", "nodir/f.png"],
    ["experiment", "-o", "afile/out"],
])
def test_outputs_are_checked_before_the_work(cli, tmp_path, no_training, args):
    (tmp_path / "afile").write_text("not a directory")
    error = one_line_error(cli(*args))
    assert "cannot write" in error


def test_a_missing_matplotlib_stops_the_experiment_before_the_work(cli, tmp_path, no_training, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    message = one_line_error(cli(*EXPERIMENT, "-o", "out"))
    assert "matplotlib not installed" in message and "pip install 'approx[plot]'" in message
    assert not (tmp_path / "out").exists()


def test_a_read_only_model_is_not_replaced(cli, tmp_path, no_training):
    (tmp_path / "m.npz").write_bytes(b"x")
    os.chmod(tmp_path / "m.npz", 0o444)
    assert "read-only" in one_line_error(cli("train", "-o", "m.npz", "--force"))


# -- default names per kind, no silent overwrite of another kind --------------------------------------------------

def test_each_kind_has_its_default_file_and_another_kind_is_not_overwritten(cli, tmp_path):
    assert cli("train", *SMALL).exit_code == 0
    assert cli("train", "mlp", "--epochs", "1").exit_code == 0
    assert cli("train", "rnn", "--epochs", "1", "--hidden", "4").exit_code == 0
    kinds = {name: load_model(tmp_path / name)[1]["model"] for name in ("forecaster.npz", "mlp.npz", "rnn.npz")}
    assert kinds == {"forecaster.npz": "forecaster", "mlp.npz": "mlp", "rnn.npz": "rnn"}
    before = (tmp_path / "forecaster.npz").read_bytes()
    assert "is a forecaster model" in one_line_error(cli("train", "mlp", "--epochs", "1",
                                                         "-o", "forecaster.npz"))
    assert (tmp_path / "forecaster.npz").read_bytes() == before
    assert cli("train", *SMALL, "--seed", "1").exit_code == 0  # same kind: replaced
    assert (tmp_path / "forecaster.npz").read_bytes() != before
    forced = cli("train", "mlp", "--epochs", "1", "-o", "forecaster.npz", "--force")
    assert forced.exit_code == 0 and load_model(tmp_path / "forecaster.npz")[1]["model"] == "mlp"


# -- the experiment ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [["--data", "nope.csv"], ["--data", "."], ["--seeds", "-1"],
                                 ["--hidden-size", "100000"]])
def test_experiment_validates_first(cli, tmp_path, no_training, bad):
    one_line_error(cli(*EXPERIMENT, *bad, "-o", "out"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "r.json").exists()


def test_experiment_summary_survives_zero_successes_and_failed_runs_are_retried(cli, tmp_path, monkeypatch):
    import nn.training

    real = nn.training.train

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(nn.training, "train", broken)
    result = cli(*EXPERIMENT, "-o", "out")
    assert result.exit_code == 1 and "no run succeeded" in result.stderr.splitlines()[-1]
    assert "No polynomial run succeeded" in (tmp_path / "out" / "summary.md").read_text()
    assert set(pd.read_csv(tmp_path / "out" / "results.csv").status) == {"failed"}
    # --no-retry-failed keeps them, the default runs them again
    assert cli(*EXPERIMENT, "-o", "out", "--no-retry-failed").exit_code == 1
    monkeypatch.setattr(nn.training, "train", real)
    assert cli(*EXPERIMENT, "-o", "out").exit_code == 0
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(table) == 2 and set(table.status) == {"ok"}
    assert "runs 1/2: " in cli(*EXPERIMENT, "--seeds", "0,1", "-o", "out").stderr  # progress per finished run


def test_experiment_refuses_to_mix_settings_on_resume(cli, tmp_path):
    assert cli(*EXPERIMENT, "-o", "out").exit_code == 0
    before = (tmp_path / "out" / "results.csv").read_text()
    assert "other settings: lr 0.5 (now 0.1)" in one_line_error(cli(*EXPERIMENT, "--lr", "0.1", "-o", "out"))
    assert (tmp_path / "out" / "results.csv").read_text() == before


# -- files keep the umask and the replaced file's mode -------------------------------------------------------------

def test_files_are_created_with_the_umask_and_replacements_keep_their_mode(cli, tmp_path):
    old = os.umask(0o022)
    try:
        assert cli("train", *SMALL, "-o", "m.npz").exit_code == 0
        cli("fit", "--func", "sigmoid", "--degree", "3", "--registry", "r.json")
        assert cli("plot", "sigmoid-chebyshev-3[-8,8]", "--registry", "r.json", "-o", "p.png").exit_code == 0
        assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == 0o644
        assert stat.S_IMODE(os.stat(tmp_path / "p.png").st_mode) == 0o644
        os.chmod(tmp_path / "m.npz", 0o640)
        assert cli("train", *SMALL, "-o", "m.npz", "--seed", "2").exit_code == 0
        assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == 0o640
    finally:
        os.umask(old)


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as fh:
            fh.write(b"half of the new")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


# -- one line and status 2 for ordinary mistakes --------------------------------------------------------------------

@pytest.mark.parametrize("args,says", [
    (["train", "--seed", "-1"], "--seed"),
    (["train", "mlp", "--seed", "-1"], "--seed"),
    (["train", "--data", "."], "is a directory"),
    (["train", "mlp", "--data", "."], "is a directory"),
    (["train", "--hidden-size", "100000"], "GiB (estimated)"),
    (["train", "mlp", "--hidden", "100000000"], "GiB (estimated)"),
    (["train", "rnn", "--hidden", "1000000"], "GiB (estimated)"),
    (["evaluate", "empty.npz"], "empty (0 bytes)"),
    (["plot-forecast", "empty.npz", "-o", "f.png"], "empty (0 bytes)"),
    (["evaluate", "m.npz", "--data", "."], "is a directory"),
    (["plot-forecast", "m.npz", "--data", ".", "-o", "f.png"], "is a directory"),
])
def test_ordinary_mistakes_are_one_line_with_status_2(cli, tmp_path, args, says):
    (tmp_path / "empty.npz").write_bytes(b"")
    if "m.npz" in args:
        cli("train", *SMALL, "-o", "m.npz")
    assert says in one_line_error(cli(*args))


# -- Ctrl-C -----------------------------------------------------------------------------------------------------

def test_ctrl_c_inside_compiled_code_is_one_line(cli, tmp_path, monkeypatch):
    import nn.training

    def interrupted(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:  # what numba raises when Ctrl-C arrives in a compiled function
            raise SystemError("CPUDispatcher(<function forward>) returned a result with an exception set") from exc

    monkeypatch.setattr(nn.training, "train", interrupted)
    result = cli("train", *SMALL, "-o", "m.npz")
    one_line_error(result, status=130, prefix="approx: interrupted")
    assert not (tmp_path / "m.npz").exists()


def _interrupt_when(args, cwd, first_line: str):
    """Run approx in its own process group; send Ctrl-C (SIGINT to the group) once stderr shows first_line."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "approx", *args], cwd=cwd, env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    watchdog = threading.Timer(240, proc.kill)
    watchdog.start()
    try:
        for line in proc.stderr:
            if line.startswith(first_line):
                os.killpg(proc.pid, signal.SIGINT)
                break
        rest = proc.stderr.read()
        return proc.wait(), rest
    finally:
        watchdog.cancel()


def test_ctrl_c_during_training_is_one_line_and_writes_nothing(tmp_path):
    status, rest = _interrupt_when(["train", "--epochs", "1000", "--hidden-size", "4", "--dense-size", "2", "-o",
                                    "m.npz"], tmp_path, "epochs 1/1000")
    lines = [line for line in rest.splitlines() if not line.startswith("epochs ")]
    assert status == 130 and lines == ["approx: interrupted; no file was left half-written"], rest
    assert os.listdir(tmp_path) == []


def test_ctrl_c_stops_the_experiment_workers_with_one_line(tmp_path):
    args = ["experiment", "--degrees", "3,5", "--methods", "chebyshev,legendre", "--seeds", "0,1", "--epochs", "3",
            "--hidden-size", "4", "--dense-size", "2", "--jobs", "2", "--registry", "r.json", "-o", "out"]
    status, rest = _interrupt_when(args, tmp_path, "runs 1/")
    lines = [line for line in rest.splitlines() if not line.startswith("runs ")]
    assert status == 130 and lines == ["approx: interrupted; no file was left half-written"], rest
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert 1 <= len(table) < 18 and set(table.status) <= {"ok", "diverged"}


# -- help and progress --------------------------------------------------------------------------------------------

def test_every_option_has_help_and_data_help_names_no_missing_option():
    import click

    def commands(group, path):
        for name, cmd in group.commands.items():
            yield from commands(cmd, (*path, name)) if isinstance(cmd, click.Group) else [((*path, name), cmd)]

    missing = [(path, p.opts) for path, cmd in commands(approx, ()) for p in cmd.params
               if isinstance(p, click.Option) and not p.help]
    assert missing == []
    for name in ("evaluate", "plot-forecast"):
        data = next(p for p in approx.commands[name].params if p.name == "data")
        assert "--model" not in data.help and "trained on" in data.help


def test_progress_is_a_line_per_epoch_when_stderr_is_not_a_terminal(cli):
    result = cli("train", *SMALL[2:], "--epochs", "2", "-o", "m.npz")
    lines = [line for line in result.stderr.splitlines() if line.startswith("epochs ")]
    assert [line.split(":")[0] for line in lines] == ["epochs 1/2", "epochs 2/2"] and "val" in lines[0]


def test_secure_infer_scores_the_data_recorded_in_the_model(cli, tmp_path):
    taylor_part(tmp_path / "half.csv", 2016)
    cli("fit", "--func", "sigmoid", "--degree", "3", "--interval", "-2", "2", "--registry", "r.json")
    cli("fit", "--func", "tanh", "--degree", "3", "--interval", "-1", "1", "--registry", "r.json")
    trained = cli("train", "--data", "half.csv", "--holidays", "US", *SMALL, "--gate-activation",
                  "sigmoid-chebyshev-3[-2,2]", "--cell-activation", "tanh-chebyshev-3[-1,1]", "--hidden-activation",
                  "square", "--output-activation", "identity", "--registry", "r.json", "-o", "m.npz", "--json")
    summary = strict(trained.stdout)
    secure = strict(cli("secure", "infer", "m.npz", "--registry", "r.json", "--allow-out-of-range", "--json").stdout)
    samples = 2016 - 20  # windows of 20 steps, split 7 : 2 : 1 in time order
    assert secure["windows"] == samples - int(0.7 * samples) - int(0.2 * samples) and secure["plaintext"]["rmse"] == pytest.approx(summary["test_rmse"], rel=1e-12)


def test_secure_infer_says_which_data_it_used(cli, tmp_path):
    cli("fit", "--func", "sigmoid", "--degree", "3", "--interval", "-2", "2", "--registry", "r.json")
    cli("fit", "--func", "tanh", "--degree", "3", "--interval", "-1", "1", "--registry", "r.json")
    cli("train", *SMALL, "--gate-activation", "sigmoid-chebyshev-3[-2,2]", "--cell-activation",
        "tanh-chebyshev-3[-1,1]", "--hidden-activation", "square", "--output-activation", "identity",
        "--registry", "r.json", "-o", "m.npz")
    args = ("secure", "infer", "m.npz", "--registry", "r.json", "--allow-out-of-range", "--limit", "2")
    assert cli(*args).stdout.startswith("data: taylor (built-in), as trained")
    assert strict(cli(*args, "--json").stdout)["data"].startswith("taylor (built-in), as trained")
    # more than 2 parties truncate with the dealer (local truncation is a 2-party protocol)
    three = strict(cli(*args, "--parties", "3", "--json").stdout)
    assert three["parties"] == 3 and three["truncation"] == "dealer" and three["max_abs_difference"] < 1e-3


@pytest.mark.parametrize("args", [["train", "--lr", "nan"], ["train", "mlp", "--l2", "inf"],
                                  ["train", "rnn", "--clip-norm", "nan"], ["secure", "train", "--lr", "nan"],
                                  ["secure", "train", "--l2", "nan"], ["experiment", "--lr", "nan"]])
def test_non_finite_hyper_parameters_are_refused_in_one_line(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # NaN passes every range comparison: it used to run and fail deep inside
    result = CliRunner().invoke(approx, args)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "is not a finite number" in result.output and list(tmp_path.iterdir()) == []

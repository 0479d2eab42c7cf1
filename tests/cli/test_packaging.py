"""The package as a user installs it: a built wheel with its data, light base dependencies, one extra per layer."""

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import approx
from cli.extras import EXTRAS

REPO = Path(__file__).resolve().parents[2]
OPTIONAL = tuple(m for modules in EXTRAS.values() for m in modules)

# each command that needs an extra, with arguments click accepts, and the extras its refusal names
NEEDS = [
    (["train", "--epochs", "1"], ["nn"]),
    (["train", "forecaster", "--epochs", "1"], ["nn"]),
    (["train", "mlp", "--epochs", "1"], ["nn"]),
    (["train", "rnn", "--epochs", "1"], ["nn"]),
    (["evaluate", "model.npz"], ["nn"]),
    (["import-torch", "model.safetensors"], ["nn", "torch"]),
    (["plot-forecast", "model.npz", "-o", "f.png"], ["nn", "plot"]),
    (["experiment", "--epochs", "1"], ["nn", "plot"]),
    (["plot", "sigmoid", "-o", "p.png"], ["plot"]),
    (["secure", "eval", "--activation", "sigmoid"], ["mpc"]),
    (["secure", "infer", "model.npz"], ["nn", "mpc"]),
    (["secure", "train", "--epochs", "1"], ["nn", "mpc"]),
    (["party", "--role", "data-owner"], ["nn", "mpc"]),
    (["party-train", "--role", "data-owner"], ["nn", "mpc"]),
    (["dealer"], ["mpc"]),
]


INTERNAL = re.compile(r"seeds? ?-?0\d\d|issues? #?\d|(?<![\w/])design\.md|\.\./shared|shared/design", re.IGNORECASE)


def _commands(group, path=()):
    """Every command path under ``group`` (the group itself included)."""
    yield path
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            yield from _commands(command, path + (name,))


@pytest.mark.parametrize("path", list(_commands(approx)), ids=lambda p: " ".join(p) or "approx")
def test_help_cites_no_internal_reference(path):
    result = CliRunner().invoke(approx, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert not INTERNAL.findall(result.output), INTERNAL.findall(result.output)


def test_the_internal_reference_pattern_catches_what_it_must():
    for text in ("seed 000's LSTM", "the seed-004 RNN", "(issue 7)", "see DESIGN.md", "../shared/design/x"):
        assert INTERNAL.search(text), text
    assert not INTERNAL.search("--seed 0 seeds the shuffle; see docs/design.md")


def _without(modules):
    """Python source that makes ``modules`` unimportable in the process that runs it."""
    return "import sys\nfor m in %r: sys.modules[m] = None\n" % (modules,)


@pytest.mark.parametrize("args, extras", NEEDS, ids=[" ".join(a[:2]) for a, _ in NEEDS])
def test_a_command_without_its_extra_names_it_in_one_line(args, extras, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for module in OPTIONAL:
        monkeypatch.setitem(sys.modules, module, None)
    result = CliRunner().invoke(approx, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert f"pip install 'approx[{','.join(extras)}]'" in lines[0]
    assert list(tmp_path.iterdir()) == []  # refused before any work


def test_fit_and_the_registry_commands_need_no_extra(tmp_path):
    code = _without(OPTIONAL) + (
        "from cli import main\n"
        "import sys\n"
        "try:\n"
        "    main(['fit', '--func', 'sigmoid', '--degree', '3', '--json'])\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "main(['list'])\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("APPROX_REGISTRY", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "sigmoid-chebyshev-3[-8,8]" in done.stdout
    assert (tmp_path / "approx-registry.json").exists()


def test_import_approx_does_not_import_cli():
    code = ("import sys, approx, approx.__main__\n"
            "assert not {'cli', 'nn', 'mpc'} & set(sys.modules), sorted({'cli', 'nn', 'mpc'} & set(sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_python_dash_m_approx_runs_the_command(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "approx", "--help"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage: approx" in done.stdout and "train" in done.stdout


def test_the_built_wheel_trains_from_an_empty_folder(tmp_path):
    """Build the wheel (no network), install it in a fresh venv, train both model kinds where no source is."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("approx", "nn", "mpc", "cli"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "APPROX_REGISTRY")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def check(*cmd, cwd=tmp_path):
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{cmd}: {done.stderr[-2000:]}"
        return done.stdout

    check(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w",
          str(tmp_path / "dist"), str(source))
    wheel, = (tmp_path / "dist").glob("approx-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    check(str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel))
    for extra in EXTRAS:  # each extra's requirements resolve against what `pip install -e '.[dev]'` installed
        done = subprocess.run([str(python), "-m", "pip", "install", "--no-index", "--dry-run", f"{wheel}[{extra}]"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "does not provide the extra" not in done.stderr, (extra, done.stderr[-2000:])
    shutil.rmtree(source)
    empty = tmp_path / "empty"
    empty.mkdir()
    where = check(str(python), "-c", "import nn, cli; print(nn.__file__); print(cli.__file__)", cwd=empty)
    assert all(line.startswith(str(env_dir)) for line in where.split()), where
    approx_bin = str(env_dir / "bin" / "approx")
    check(approx_bin, "train", "--epochs", "1", "--batch-size", "64", "--json", cwd=empty)
    check(approx_bin, "train", "mlp", "--epochs", "1", "--json", cwd=empty)
    assert (empty / "forecaster.npz").is_file() and (empty / "mlp.npz").is_file()

"""approx fit and the registry file: one-line refusals, file modes, and what `approx show` prints."""

import os
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from approx import Registry, RegistryError, fit
from cli import approx


def run_cli(tmp_path, *args):
    env = {**os.environ, "APPROX_REGISTRY": str(tmp_path / "r.json")}
    return subprocess.run([sys.executable, "-m", "approx", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.parametrize("args,says", [
    (["--degree", "3", "--interval", "0", "1e-300"], "too narrow"),
    (["--degree", "3", "--interval", "1", "1.0000000000000002"], "too narrow"),
    (["--max-error", "1e-17"], "evaluation floor"),
    (["--max-error", "1e-16", "--interval", "1", "3"], "evaluation floor"),
])
def test_fit_refuses_with_one_line_and_exit_2(tmp_path, args, says):
    out = run_cli(tmp_path, "fit", "--func", "sigmoid", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("approx: error: ") and says in lines[0], out.stderr
    assert not (tmp_path / "r.json").exists()


def test_read_only_registry_is_refused_before_fitting_and_left_alone(tmp_path):
    path = tmp_path / "r.json"
    Registry(path).add(fit("sigmoid", 3))
    before = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(RegistryError, match="read-only"):
        Registry(path).add(fit("tanh", 3))
    out = run_cli(tmp_path, "fit", "--func", "tanh", "--degree", "3")
    assert out.returncode == 2 and "read-only" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o444


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o666])
def test_rewrite_keeps_the_file_mode(tmp_path, mode):
    path = tmp_path / "r.json"
    Registry(path).add(fit("sigmoid", 3))
    path.chmod(mode)
    Registry(path).add(fit("tanh", 3))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert len(Registry(path).names()) == 2


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_registry_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        Registry(tmp_path / "r.json").add(fit("sigmoid", 3))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o666 & ~umask


def test_show_prints_every_form_and_warns_about_the_monomial_form(tmp_path):
    path = str(tmp_path / "r.json")
    runner = CliRunner()
    result = runner.invoke(approx, ["fit", "--func", "tanh", "--degree", "15", "--method", "minimax", "--interval",
                                    "1", "3", "--frac-bits", "16", "--registry", path], catch_exceptions=False)
    assert result.exit_code == 0
    shown = runner.invoke(approx, ["show", "tanh-minimax-15[1,3]-q16", "--registry", path]).output
    entry = Registry(path).get("tanh-minimax-15[1,3]-q16")
    for header in ("monomial_error_bound", "evaluation_floor", "lattice search"):
        assert header in shown
    assert f"{entry.errors.monomial_error_bound:14.6e}" in shown
    assert "use the native basis: numpy.polynomial.Chebyshev(coef, domain=[1, 3])" in shown


def test_output_says_when_the_error_is_below_the_floor(tmp_path):
    result = CliRunner().invoke(approx, ["fit", "--func", "sigmoid", "--degree", "15", "--method", "minimax",
                                         "--interval", "1", "3", "--no-save"], catch_exceptions=False)
    assert "below the float64 evaluation floor" in result.output


def test_a_remez_failure_above_the_floor_exits_2_naming_cause_and_alternative(tmp_path, monkeypatch):
    # stand-in for an exchange that breaks down: a polynomial 10x the Chebyshev interpolant's error
    from approx.methods import chebyshev, minimax

    def broken(g, degree, parity=None):
        coef = chebyshev.fit(g, degree)
        coef[0] += 1.0
        return coef, minimax.alternating_reference(g, coef), False

    monkeypatch.setattr(minimax, "fit", broken)
    result = CliRunner().invoke(approx, ["fit", "--func", "sigmoid", "--degree", "5", "--method",
                                          "minimax", "--registry", str(tmp_path / "r.json")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not converge" in lines[0] and "--method chebyshev" in lines[0]
    assert not (tmp_path / "r.json").exists()

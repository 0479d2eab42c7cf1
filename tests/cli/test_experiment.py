"""approx experiment: a tiny grid end to end, its files, the best pair, and resuming."""

import pandas as pd
from click.testing import CliRunner

from approx import Registry
from cli import approx

TINY = ["experiment", "--degrees", "3", "--methods", "chebyshev,legendre", "--seeds", "0", "--epochs", "2",
        "--batch-size", "64", "--hidden-size", "6", "--dense-size", "3", "--jobs", "2"]


def test_tiny_grid_end_to_end_and_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reg = str(tmp_path / "r.json")
    result = CliRunner().invoke(approx, [*TINY, "-o", "out", "--registry", reg], catch_exceptions=False)
    assert result.exit_code == 0
    out = tmp_path / "out"
    for name in ("results.csv", "summary.md", "mape_vs_degree.png", "training_curves.png", "polynomial_errors.png"):
        assert (out / name).stat().st_size > 0
    table = pd.read_csv(out / "results.csv")
    # 1 exact + 1 degree x 2 methods x 2 interval pairs, 1 seed
    assert len(table) == 5 and set(table.status) == {"ok"}
    assert set(table.method) == {"exact", "chebyshev", "legendre"}
    summary = (out / "summary.md").read_text()
    assert "## 1. Degree" in summary and "## 3. Exact" in summary and "best-gate" in summary
    names = Registry(reg).names()
    assert "best-gate" in names and "best-cell" in names
    best = Registry(reg).get("best-gate")
    assert best.func == "sigmoid" and best.degree == 3
    # the best pair has the lowest mean test MAPE of the polynomial runs
    poly = table[table.method != "exact"]
    same = [g for g in poly.gate if Registry(reg).get(g).coef.tolist() == best.coef.tolist()]
    assert poly[poly.gate.isin(same)].test_mape.min() == poly.test_mape.min()
    # resume: nothing is run again
    before = (out / "results.csv").read_text()
    again = CliRunner().invoke(approx, [*TINY, "-o", "out", "--registry", reg], catch_exceptions=False)
    assert again.exit_code == 0 and (out / "results.csv").read_text() == before


def test_same_seed_same_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["experiment", "--degrees", "3", "--methods", "minimax", "--seeds", "1", "--intervals", "narrow",
            "--epochs", "2", "--hidden-size", "5", "--dense-size", "3", "--jobs", "1", "--registry", "r.json"]
    tables = []
    for name in ("a", "b"):
        assert CliRunner().invoke(approx, [*args, "-o", name], catch_exceptions=False).exit_code == 0
        tables.append(pd.read_csv(tmp_path / name / "results.csv").sort_values(["gate", "seed"]))
    assert tables[0].test_mape.tolist() == tables[1].test_mape.tolist()


def test_lag_setups_run_beside_the_design_features(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["experiment", "--degrees", "3", "--methods", "chebyshev", "--seeds", "0", "--intervals", "narrow",
            "--epochs", "1", "--hidden-size", "4", "--dense-size", "2", "--jobs", "1", "--registry", "r.json",
            "--lags", "48,336", "-o", "out"]
    result = CliRunner().invoke(approx, args, catch_exceptions=False)
    assert result.exit_code == 0
    table = pd.read_csv(tmp_path / "out" / "results.csv", dtype={"lags": str})
    assert sorted(table.lags) == ["-", "-", "48,336", "48,336"] and set(table.status) == {"ok"}
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## 4. Features: lagged loads" in summary and "lags 48,336" in summary
    assert "seasonal naive week" in summary and "persistence" in summary
    # resume keeps both setups apart
    before = (tmp_path / "out" / "results.csv").read_text()
    assert CliRunner().invoke(approx, args, catch_exceptions=False).exit_code == 0
    assert (tmp_path / "out" / "results.csv").read_text() == before


def test_bad_grid_options_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad in (["--methods", "pade"], ["--degrees", "3,x"], ["--intervals", "huge"], ["--lags", "0,48"]):
        result = CliRunner().invoke(approx, ["experiment", *bad, "-o", "o"])
        assert result.exit_code == 2

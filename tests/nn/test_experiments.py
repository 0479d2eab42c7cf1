"""nn.experiments as a library: results.csv read once, the registry written only by register_best_pair."""

import dataclasses

import pandas as pd

from approx import Registry
from nn.experiments import (BEST_NAMES, COLUMNS, Grid, grid_datasets, pending_runs, plan_runs, read_results,
                            register_best_pair, run_grid, summarise)

GRID = Grid(degrees=(3,), methods=("chebyshev",), seeds=(0, 1), intervals=("narrow",))


def _finished(runs):
    """results.csv rows for ``runs``, all ok, the polynomial ones better with seed 1."""
    rows = [{**dataclasses.asdict(run), "status": "ok", "test_mape": 3.0 - run.seed + (run.method == "exact"),
             "test_rmse": 900.0, "test_mae": 700.0, "val_mape": 3.0, "train_seconds": 1.0, "epochs_run": 2,
             "best_epoch": 2, "outside_interval": 0.0, "val_curve": "[1.0, 0.5]"} for run in runs]
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def test_a_finished_grid_is_read_once_and_not_run_again(tmp_path, monkeypatch):
    registry = Registry(tmp_path / "r.json")
    runs = plan_runs(GRID, registry)
    _finished(runs).to_csv(tmp_path / "results.csv", index=False)
    reads = []
    real = pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: reads.append(a) or real(*a, **k))
    earlier = read_results(tmp_path)
    assert pending_runs(runs, earlier) == []
    results = run_grid(GRID, tmp_path, registry, jobs=1, runs=runs, results=earlier)
    assert len(reads) == 1
    assert len(results) == len(runs) == 4 and set(results.status) == {"ok"}


def test_only_register_best_pair_writes_the_registry(tmp_path):
    registry = Registry(tmp_path / "r.json")
    runs = plan_runs(GRID, registry)
    results = _finished(runs)
    fitted = registry.names()
    text = summarise(results, GRID, grid_datasets(GRID)[()])
    assert registry.names() == fitted and "registered" not in text
    best = register_best_pair(results, registry, GRID)
    assert set(registry.names()) == set(fitted) | set(BEST_NAMES)
    assert registry.get("best-gate").coef.tolist() == registry.get(best.gate).coef.tolist()
    assert "registered as `best-gate`" in summarise(results, GRID, grid_datasets(GRID)[()], registered=True)

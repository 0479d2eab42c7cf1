"""The plaintext experiments (degree, basis, exact vs polynomial) as one reproducible grid of training runs.

1. degree n of the approximating polynomial; 2. Chebyshev vs Legendre (and lsq and
minimax); 3. exact sigmoid/tanh vs polynomial -- each over two interval pairs
(gate sigmoid, cell tanh) and several seeds, measured by test RMSE/MAE/MAPE,
training seconds, epochs to early stop, divergence and the domain monitor.

The runner fits every polynomial first (approx), stores them in the registry, then
trains one forecaster per (activations, seed) in worker processes (nn).  Each
finished run is appended to ``results.csv`` at once, so an interrupted experiment
resumes without redoing finished runs; a failing or diverging run is recorded as
such, and a failed one (an error, not a divergence, which the same seed would
repeat) is run again on resume unless asked not to.  The settings every run
shares are kept in ``experiment.json`` beside it, and resuming with other
settings is refused, so that one summary never mixes runs made differently.

It is the one part of nn that calls :func:`approx.fit`: it drives approx (the fits,
stored in the registry) and then nn (the training runs), in that order, as data
flows in docs/design.md.  ``approx experiment`` is these functions in sequence::

    datasets = grid_datasets(grid)                  # the data, checked before any work
    settings = shared_settings(grid, source_record(grid.data)["sha256"])   # nn.provenance
    check_resume(out_dir, settings)
    runs = plan_runs(grid, registry)                # fits every polynomial into the registry
    write_settings(out_dir, settings)
    results = run_grid(grid, out_dir, registry, jobs, runs=runs)

and then :mod:`nn.experiments.report` for the summary, the plots and the best pair.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import signal
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from approx import Registry, fit
from approx.errors import ApproxError

__all__ = ["Grid", "Run", "plan_runs", "read_results", "pending_runs", "run_grid", "lag_label", "shared_settings",
           "grid_datasets", "check_resume", "write_settings", "INTERVALS", "KEY", "SETTINGS", "COLUMNS"]

# (gate sigmoid interval, cell tanh interval): the design's defaults, and a narrow pair
INTERVALS = {"wide": ((-8.0, 8.0), (-4.0, 4.0)), "narrow": ((-2.0, 2.0), (-1.0, 1.0))}
KEY = ["gate", "cell", "seed", "lags"]
NO_LAGS = "-"
SETTINGS = "experiment.json"
RESULTS = ["status", "test_rmse", "test_mae", "test_mape", "val_mape", "train_seconds", "epochs_run", "best_epoch",
           "outside_interval", "val_curve", "error", "trace"]


@dataclasses.dataclass(frozen=True)
class Grid:
    """What to run.

    ``lag_sets`` lists the feature setups: () is the design's 58 features, (48, 336) adds the
    loads a day and a week before the target; every configuration runs with each.
    ``highway`` q > 0 gives the runs with lags a linear term over the load and lagged loads of
    the last q steps (:class:`nn.forecaster.ForecasterConfig`); the design's setup stays as it is.

    Defaults: batch 64, lr 0.5, at most 25 epochs, which keeps the 99 runs of the default grid
    within 30 minutes on 2 cores (measured 27 min 43 s; 40 epochs took 41 min).  Per-sample SGD
    takes about 2 s per epoch and wants 150 epochs; batch 64 takes about 0.7 s per epoch.  In our trials lr 0.5 reached a given validation loss about 3x sooner
    than lr 0.1, with occasional validation spikes that early stopping absorbs.
    """

    degrees: tuple = (3, 5, 7, 9)
    methods: tuple = ("chebyshev", "legendre", "lsq", "minimax")
    seeds: tuple = (0, 1, 2)
    intervals: tuple = ("wide", "narrow")
    cell: str = "standard"
    epochs: int = 25
    batch_size: int = 64
    lr: float = 0.5
    patience: int = 10
    hidden_size: int = 40
    dense_size: int = 20
    data: str = "taylor"
    lag_sets: tuple = ((),)
    highway: int = 0


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run: activations (registry names), seed, lags ('-' or '48,336') and their description."""

    gate: str
    cell: str
    seed: int
    method: str
    degree: int
    interval: str
    lags: str = NO_LAGS

    @property
    def key(self) -> tuple:
        """(gate, cell, seed, lags): what identifies a finished run in results.csv."""
        return self.gate, self.cell, self.seed, self.lags


COLUMNS = [f.name for f in dataclasses.fields(Run)] + RESULTS


def lag_label(lags: tuple) -> str:
    """'-' for no lags, else '48,336'."""
    return ",".join(map(str, lags)) if lags else NO_LAGS


def plan_runs(grid: Grid, registry: Registry) -> list[Run]:
    """Fit the grid's polynomials into ``registry`` and list the runs (exact activations included)."""
    runs = [Run("sigmoid", "tanh", seed, "exact", 0, "-") for seed in grid.seeds]
    for degree in grid.degrees:
        for method in grid.methods:
            for label in grid.intervals:
                gate_iv, cell_iv = INTERVALS[label]
                gate = fit("sigmoid", degree, method=method, interval=gate_iv)
                cell = fit("tanh", degree, method=method, interval=cell_iv)
                registry.add(gate)
                registry.add(cell)
                runs += [Run(gate.name, cell.name, seed, method, degree, label) for seed in grid.seeds]
    return [dataclasses.replace(run, lags=lag_label(lags)) for lags in grid.lag_sets for run in runs]


def _train_one(run: Run, grid: Grid, registry_path: str) -> dict:
    """Worker: train one forecaster and return its row (never raises)."""
    row = dataclasses.asdict(run)
    try:
        from nn.data import load_series
        from nn.evaluation import evaluate
        from nn.features import make_dataset
        from nn.forecaster import Forecaster, ForecasterConfig
        from nn.training import TrainConfig, train

        lags = () if run.lags == NO_LAGS else tuple(int(v) for v in run.lags.split(","))
        data = make_dataset(load_series(grid.data), lags=lags)
        config = ForecasterConfig(input_size=data.features, highway=grid.highway if lags else 0,
                                  highway_features=data.load_columns, hidden_size=grid.hidden_size, dense_size=grid.dense_size,
                                  gate_activation=run.gate, cell_activation=run.cell, cell=grid.cell)
        model = Forecaster(config, registry=registry_path, seed=run.seed,
                           output_bias=float(data.part("train")[1].mean()))
        history = train(model, data.part("train"), data.part("val"),
                        TrainConfig(grid.epochs, grid.batch_size, grid.lr, 0.0, 5.0, grid.patience, run.seed))
        result = evaluate(model, data)
        row.update(status="diverged" if history.diverged else "ok",
                   test_rmse=result.test.rmse, test_mae=result.test.mae,
                   test_mape=result.test.mape, val_mape=result.val.mape,
                   train_seconds=history.seconds, epochs_run=history.epochs_run, best_epoch=history.best_epoch,
                   outside_interval=max(result.outside_interval.values(), default=0.0),
                   val_curve=json.dumps([float(v) for v in history.val_loss]))
        if history.diverged:
            row.update(test_rmse=np.nan, test_mae=np.nan, test_mape=np.nan, val_mape=np.nan)
    except Exception as exc:  # a failing run is recorded and the others go on
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                   trace=traceback.format_exc(limit=3))
    return row


def read_results(out_dir: Path) -> pd.DataFrame:
    """Every row of ``out_dir/results.csv`` (an empty table if there is none yet), the lags column as text.

    Read it once and pass it to :func:`pending_runs` and :func:`run_grid`.
    """
    csv = Path(out_dir) / "results.csv"
    if not csv.exists():
        return pd.DataFrame(columns=COLUMNS)
    table = pd.read_csv(csv, dtype={"lags": str})
    if "lags" not in table:  # files from before the lags column
        table["lags"] = NO_LAGS
    table["lags"] = table["lags"].fillna(NO_LAGS)
    return table


def _kept(results: pd.DataFrame, retry_failed: bool) -> pd.DataFrame:
    """The rows a resumed experiment keeps (failed ones dropped if they are to be retried)."""
    return results[results.status != "failed"] if retry_failed else results


def pending_runs(runs: list[Run], results: pd.DataFrame, retry_failed: bool = True) -> list[Run]:
    """The runs not yet recorded in ``results`` (:func:`read_results`); with ``retry_failed``, failed ones count
    as not yet."""
    finished = {(r.gate, r.cell, int(r.seed), r.lags) for r in _kept(results, retry_failed).itertuples()}
    return [r for r in runs if r.key not in finished]


def grid_datasets(grid: Grid) -> dict:
    """The dataset of each feature setup of ``grid`` (lags tuple -> :class:`nn.features.Dataset`), reading the data
    once; bad data raise here, before any fit or run.

    Raises
    ------
    nn.data.DataError
        If the data cannot be read or are too short for a setup.
    """
    from nn.data import load_series
    from nn.features import make_dataset

    series = load_series(grid.data)
    return {tuple(lags): make_dataset(series, lags=tuple(lags)) for lags in dict.fromkeys(((),) + tuple(grid.lag_sets))}


def shared_settings(grid: Grid, data_sha256: str) -> dict:
    """The settings every run of ``grid`` shares (what must not change when an experiment resumes)."""
    fields = ("cell", "epochs", "batch_size", "lr", "patience", "hidden_size", "dense_size", "data", "highway")
    return {**{name: getattr(grid, name) for name in fields}, "data_sha256": data_sha256}


def check_resume(out_dir: Path, settings: dict) -> None:
    """Refuse to resume runs in ``out_dir`` made with other ``settings`` (:func:`shared_settings`): one summary
    never mixes them.

    Raises
    ------
    ApproxError
        If ``out_dir/experiment.json`` is not a settings file, or records other settings (each one named).
    """
    path = Path(out_dir) / SETTINGS
    if not path.exists():
        return
    try:
        before = json.loads(path.read_text())["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ApproxError(f"{path} is not an experiment settings file; choose another -o") from None
    changed = [f"{k} {before.get(k)!r} (now {v!r})" for k, v in settings.items() if before.get(k) != v]
    if changed:
        raise ApproxError(f"{out_dir} holds runs made with other settings: " + ", ".join(changed)
                          + "; use the same settings to resume, or another -o")


def write_settings(out_dir: Path, settings: dict) -> None:
    """Record ``settings`` (:func:`shared_settings`) in ``out_dir/experiment.json``, whole or not at all."""
    from approx.atomic_file import atomic_write

    with atomic_write(Path(out_dir) / SETTINGS, "w") as fh:
        json.dump({"settings": settings}, fh, indent=1)


def _ignore_interrupt():
    """Worker initialiser: Ctrl-C reaches the whole process group; the parent alone handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_grid(grid: Grid, out_dir: Path, registry: Registry, jobs: int, on_done=None,
             retry_failed: bool = True, runs: list[Run] | None = None,
             results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run every missing run of ``grid``, appending to ``out_dir/results.csv``; return the rows of ``grid``'s runs.

    Parameters
    ----------
    grid : Grid
    out_dir : Path
        An existing directory.
    registry : Registry
        Where the polynomials are stored and read by the workers.
    jobs : int
        Worker processes.
    on_done : callable (row dict), optional
        Called as each run finishes (progress display).
    retry_failed : bool
        Run again the runs recorded as ``failed`` (their rows are replaced).
    runs : list of Run, optional
        The runs of ``grid`` (:func:`plan_runs`), if already planned.
    results : DataFrame, optional
        ``out_dir/results.csv`` as :func:`read_results` returned it, if already read (it is read once).

    Returns
    -------
    DataFrame
        The recorded rows of ``runs`` (those kept from earlier and those just run), columns :data:`COLUMNS`.
    """
    from approx.atomic_file import atomic_write

    csv = Path(out_dir) / "results.csv"
    runs = plan_runs(grid, registry) if runs is None else runs
    results = read_results(out_dir) if results is None else results
    done = _kept(results, retry_failed)
    if csv.exists() and (list(done.columns) != COLUMNS or len(done) < len(results)):
        # failed rows dropped, or a results.csv from an older version: same rows, new columns
        with atomic_write(csv, "w") as fh:
            done.reindex(columns=COLUMNS).to_csv(fh, index=False)
    todo = pending_runs(runs, done, retry_failed=False)
    rows = []

    def record(row):
        line = pd.DataFrame([row]).reindex(columns=COLUMNS).to_csv(index=False, header=not csv.exists())
        with open(csv, "a", encoding="utf-8") as fh:
            fh.write(line)  # one write of whole lines: an interruption cannot leave half a row
        rows.append(row)
        if on_done is not None:
            on_done(row)

    if jobs <= 1:
        for run in todo:
            record(_train_one(run, grid, str(registry.path)))
    else:
        # small matrices: one BLAS thread per worker, the processes give the parallelism; spawned
        # workers inherit the variable before they load numpy
        env_before = os.environ.get("OPENBLAS_NUM_THREADS")
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=_ignore_interrupt)
        try:
            futures = [pool.submit(_train_one, run, grid, str(registry.path)) for run in todo]
            for future in concurrent.futures.as_completed(futures):
                record(future.result())
        except BaseException:
            # Ctrl-C or an error here: stop the workers now rather than after the runs queued
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            if env_before is None:
                os.environ.pop("OPENBLAS_NUM_THREADS", None)
            else:
                os.environ["OPENBLAS_NUM_THREADS"] = env_before
    parts = [part for part in (done.reindex(columns=COLUMNS), pd.DataFrame(rows).reindex(columns=COLUMNS))
             if len(part)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    keep = {r.key for r in runs}
    return table[[(g, c, int(s), lag) in keep
                  for g, c, s, lag in zip(table.gate, table.cell, table.seed, table.lags)]]

"""``approx experiment``: the design's three plaintext experiments as one reproducible grid."""

from __future__ import annotations

import math
import os
from pathlib import Path

import click

from approx.errors import ApproxError
from cli.app import Failed, FiniteRange, approx, registry_option
from cli.extras import require
from cli.train_commands import parse_lags


def _ints(text: str, what: str, low: int = 0) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ApproxError(f"--{what} takes comma-separated whole numbers, got {text!r}") from None
    if not values:
        raise ApproxError(f"--{what} is empty")
    if min(values) < low:
        raise ApproxError(f"--{what} takes whole numbers >= {low}, got {min(values)}")
    return values


def _check_output_dir(out: Path) -> None:
    """Refuse an output directory that cannot be created or written."""
    if out.exists() and not out.is_dir():
        raise ApproxError(f"cannot write to {out}: it is a file, not a directory; choose another -o")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ApproxError(f"cannot write to {out}: {existing} is not a writable directory; choose another -o")
    if (out / "results.csv").exists() and not os.access(out / "results.csv", os.W_OK):
        raise ApproxError(f"cannot write to {out / 'results.csv'}: it is read-only")


def _describe(row: dict) -> str:
    what = "exact sigmoid / tanh" if row["method"] == "exact" else f"{row['gate']} / {row['cell']}"
    lags = "" if row.get("lags") in (None, "-") else f", lags {row['lags']}"
    if row["status"] == "ok":
        outcome = f"test MAPE {row['test_mape']:.3f}%" if math.isfinite(row["test_mape"]) else "ok (MAPE undefined)"
    else:
        outcome = row["status"] + (f" ({row['error']})" if row.get("error") else "")
    return f"{what}, seed {row['seed']}{lags}: {outcome}"


@approx.command("experiment")
@click.option("--data", default="taylor", show_default=True,
              help="'taylor' (built-in) or a load CSV with timestamp and load columns named timestamp and load.")
@click.option("--degrees", default="3,5,7,9", show_default=True, help="Polynomial degrees, comma-separated.")
@click.option("--methods", default="chebyshev,legendre,lsq,minimax", show_default=True,
              help="Fitting methods, comma-separated.")
@click.option("--seeds", default="0,1,2", show_default=True, help="Seeds per configuration, comma-separated, >= 0.")
@click.option("--intervals", default="wide,narrow", show_default=True,
              help="Interval pairs (sigmoid gate / tanh cell): wide = [-8,8]/[-4,4], narrow = [-2,2]/[-1,1].")
@click.option("--cell", type=click.Choice(["standard", "linear"]), default="standard", show_default=True,
              help="standard: h = o * tanh(s); linear: h = o * s (one multiplication fewer under MPC).")
@click.option("--epochs", type=click.IntRange(1), default=25, show_default=True,
              help="At most this many epochs per run.")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True, help="Samples per SGD step.")
@click.option("--lr", type=FiniteRange(0, min_open=True), default=0.5, show_default=True, help="Learning rate.")
@click.option("--patience", type=click.IntRange(1), default=10, show_default=True,
              help="Early stopping: epochs without a better validation loss.")
@click.option("--hidden-size", type=click.IntRange(1), default=40, show_default=True,
              help="Units of each LSTM layer (the memory the workers need is estimated first).")
@click.option("--dense-size", type=click.IntRange(1), default=20, show_default=True,
              help="Units of the first dense layer.")
@click.option("--lags", callback=parse_lags, default="",
              help="Also run every configuration with load features at these lags in steps, e.g. 48,336.")
@click.option("--highway", type=click.IntRange(0), default=0, show_default=True,
              help="With --lags: the lag runs add a linear term over the load and lagged loads of the last Q steps.")
@click.option("--jobs", type=click.IntRange(1), default=None, help="Worker processes [default: number of cores].")
@click.option("--retry-failed/--no-retry-failed", default=True, show_default=True,
              help="On resume, run again the runs recorded as failed (an error; diverged runs are kept).")
@registry_option
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), default="experiment", show_default=True,
              help="Directory for results.csv, summary.md and the plots; resumed if it holds earlier runs.")
def experiment_command(data, degrees, methods, seeds, intervals, cell, epochs, batch_size, lr, patience,
                       hidden_size, dense_size, lags, highway, jobs, retry_failed, registry, out_dir):
    """Degree, method and exact-vs-polynomial experiments; results.csv, summary.md and plots in OUTPUT.

    Every finished run is appended to OUTPUT/results.csv at once: running the same command again resumes,
    skipping the runs recorded there (failed ones are run again, see --retry-failed); other settings for the
    same OUTPUT are refused. The best polynomial pair is stored in the registry as best-gate and best-cell.
    Exits with status 1 if no run succeeded.
    """
    require("experiment", "nn", "plot")
    from approx import Registry
    from approx.fit import METHODS
    from cli.plot_command import pyplot
    from cli.progress import progress
    from approx.atomic_file import atomic_write
    from nn.experiments import (INTERVALS, Grid, check_resume, grid_datasets, pending_runs, plan_runs, plot_all,
                                read_results, register_best_pair, run_grid, shared_settings, summarise,
                                write_settings)
    from nn.features import FEATURES
    from nn.forecaster import ForecasterConfig
    from nn.memory import check_memory
    from nn.provenance import source_record

    # everything is checked before the first fit or run
    method_list = tuple(m.strip() for m in methods.split(",") if m.strip())
    for m in method_list:
        if m not in METHODS:
            raise ApproxError(f"unknown method {m!r} in --methods; choose from {', '.join(METHODS)}")
    interval_list = tuple(v.strip() for v in intervals.split(",") if v.strip())
    for v in interval_list:
        if v not in INTERVALS:
            raise ApproxError(f"unknown interval pair {v!r}; choose from {', '.join(INTERVALS)}")
    grid = Grid(_ints(degrees, "degrees"), method_list, _ints(seeds, "seeds"), interval_list, cell, epochs,
                batch_size, lr, patience, hidden_size, dense_size, data, ((), lags) if lags else ((),), highway)
    plt = pyplot()
    out = Path(out_dir)
    _check_output_dir(out)
    datasets = grid_datasets(grid)
    jobs = jobs or os.cpu_count() or 1
    config = ForecasterConfig(FEATURES + len(lags), hidden_size, dense_size, highway=highway)
    check_memory("forecaster", config, batch_size, 20, "--hidden-size (or --jobs)", workers=jobs)
    settings = shared_settings(grid, source_record(data)["sha256"])
    check_resume(out, settings)
    reg = Registry(registry)
    reg.names()  # a corrupt or foreign registry is reported now

    runs = plan_runs(grid, reg)
    out.mkdir(parents=True, exist_ok=True)
    write_settings(out, settings)
    earlier = read_results(out)
    todo = pending_runs(runs, earlier, retry_failed)
    if len(todo) < len(runs):
        click.echo(f"resuming {out}: {len(runs) - len(todo)} of {len(runs)} runs are done", err=True)
    with progress(len(todo), "runs", _describe) as update:
        results = run_grid(grid, out, reg, jobs, on_done=update, retry_failed=retry_failed, runs=runs,
                           results=earlier)
    failed = results[results.status != "ok"]
    register_best_pair(results, reg, grid)  # best-gate and best-cell, as the summary says
    summary = summarise(results, grid, datasets[()], registered=True)
    with atomic_write(out / "summary.md", "w") as fh:
        fh.write(summary)
    paths = plot_all(results, reg, grid, out, plt)
    click.echo(summary)
    click.echo(f"{len(results)} runs ({len(failed)} failed or diverged); wrote {out / 'results.csv'}, "
               f"{out / 'summary.md'}, " + ", ".join(str(p) for p in paths))
    if len(failed) == len(results):
        raise Failed(f"no run succeeded ({len(failed)} failed or diverged); see {out / 'results.csv'}")

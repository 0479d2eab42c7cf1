"""``approx experiment``: the design's three plaintext experiments as one reproducible grid."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from approx.errors import ApproxError
from cli.app import approx, registry_option
from cli.train_commands import parse_lags


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ApproxError(f"--{what} takes comma-separated whole numbers, got {text!r}") from None
    if not values:
        raise ApproxError(f"--{what} is empty")
    return values


@approx.command("experiment")
@click.option("--data", default="taylor", show_default=True, help="'taylor' or a load CSV.")
@click.option("--degrees", default="3,5,7,9", show_default=True, help="Polynomial degrees.")
@click.option("--methods", default="chebyshev,legendre,lsq,minimax", show_default=True, help="Fitting methods.")
@click.option("--seeds", default="0,1,2", show_default=True, help="Seeds per configuration.")
@click.option("--intervals", default="wide,narrow", show_default=True,
              help="Interval pairs (sigmoid gate / tanh cell): wide = [-8,8]/[-4,4], narrow = [-2,2]/[-1,1].")
@click.option("--cell", type=click.Choice(["standard", "linear"]), default="standard", show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=25, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=0.5, show_default=True)
@click.option("--patience", type=click.IntRange(1), default=10, show_default=True)
@click.option("--hidden-size", type=click.IntRange(1), default=40, show_default=True)
@click.option("--dense-size", type=click.IntRange(1), default=20, show_default=True)
@click.option("--lags", callback=parse_lags, default="",
              help="Also run every configuration with load features at these lags, e.g. 48,336 (issue 7).")
@click.option("--highway", type=click.IntRange(0), default=0, show_default=True,
              help="With --lags: the lag runs add a linear term over the load and lagged loads of the last Q steps.")
@click.option("--jobs", type=click.IntRange(1), default=None, help="Worker processes [default: number of cores].")
@registry_option
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), default="experiment", show_default=True)
def experiment_command(data, degrees, methods, seeds, intervals, cell, epochs, batch_size, lr, patience,
                       hidden_size, dense_size, lags, highway, jobs, registry, out_dir):
    """Degree, method and exact-vs-polynomial experiments; results.csv, summary.md and plots in OUTPUT.

    Finished runs are kept in OUTPUT/results.csv: running the same command again resumes.
    """
    from approx import Registry
    from approx.fit import METHODS
    from cli.experiment_report import plot_all, summarise
    from cli.experiment_runner import INTERVALS, Grid, run_grid
    from cli.plot_command import pyplot

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
    reg = Registry(registry)
    out = Path(out_dir)
    total = len(grid.lag_sets) * len(grid.seeds) * (1 + len(grid.degrees) * len(grid.methods) * len(grid.intervals))
    with click.progressbar(length=total, label="runs", file=sys.stderr, show_pos=True) as bar:
        results = run_grid(grid, out, reg, jobs or os.cpu_count() or 1, on_done=lambda row: bar.update(1))
    failed = results[results.status != "ok"]
    summary = summarise(results, reg, grid)
    (out / "summary.md").write_text(summary)
    paths = plot_all(results, reg, grid, out, pyplot())
    click.echo(summary)
    click.echo(f"{len(results)} runs ({len(failed)} failed or diverged); wrote {out / 'results.csv'}, "
               f"{out / 'summary.md'}, " + ", ".join(str(p) for p in paths))

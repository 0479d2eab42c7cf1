"""Tables, plots and the best polynomial pair of an experiment's results (:mod:`nn.experiments.runner`).

Nothing here writes to the registry except :func:`register_best_pair`, which the
caller runs when it wants the best pair stored as ``best-gate`` and ``best-cell``
(``approx experiment`` does).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from approx import Registry
from approx.targets import get_target
from nn.experiments.runner import INTERVALS, lag_label

__all__ = ["summarise", "plot_all", "best_pair", "register_best_pair", "naive_baselines", "BEST_NAMES"]

BEST_NAMES = ("best-gate", "best-cell")
"""The registry names :func:`register_best_pair` stores the best gate and cell polynomials under."""


def _mean_std(frame: pd.DataFrame, column: str = "test_mape") -> str:
    values = frame[column].dropna()
    if values.empty:
        return "—"
    return f"{values.mean():.3f} ± {values.std(ddof=0):.3f}"


def _configs(ok: pd.DataFrame) -> pd.DataFrame:
    grouped = ok.groupby(["method", "degree", "interval", "gate", "cell"], as_index=False)
    return grouped.agg(test_mape=("test_mape", "mean"), test_mape_std=("test_mape", "std"),
                       test_rmse=("test_rmse", "mean"), train_seconds=("train_seconds", "mean"),
                       epochs=("epochs_run", "mean"), outside=("outside_interval", "max"),
                       runs=("seed", "count"))


def _num(value, fmt: str = ".1f") -> str:
    return "—" if value is None or not np.isfinite(value) else format(value, fmt)


def best_pair(results: pd.DataFrame) -> pd.Series | None:
    """The polynomial configuration with the lowest mean test MAPE, ties (to 0.001 pp) to the lower degree;
    None if no polynomial run succeeded."""
    poly = _configs(results[(results.status == "ok") & (results.method != "exact") & results.test_mape.notna()])
    if poly.empty:
        return None
    poly = poly.assign(rounded=poly.test_mape.round(3)).sort_values(["rounded", "degree", "test_mape"])
    return poly.iloc[0]


def _main_features(results: pd.DataFrame, grid) -> pd.DataFrame:
    """The runs with the grid's first feature setup (the design's 58 features by default)."""
    return results[results.lags == lag_label(grid.lag_sets[0])]


def naive_baselines(dataset) -> dict:
    """The naive forecasts' test figures on ``dataset`` (:func:`nn.metrics.baselines` on its test targets)."""
    from nn.metrics import baselines

    return baselines(dataset.loads, dataset.target_pos[dataset.splits["test"]])


def _baseline_lines(found: dict) -> list[str]:
    return ["", "## Naive baselines on the same test targets", "",
            "| forecast | test MAPE | test RMSE (MW) |", "|---|---|---|"] + [
            f"| {name.replace('_', ' ')} | {v.mape:.3f} | {v.rmse:.1f} |" for name, v in found.items()]


def _lag_lines(results: pd.DataFrame, grid) -> list[str]:
    labels = [lag_label(lags) for lags in grid.lag_sets]
    ok = results[results.status == "ok"]
    lines = ["", "## 4. Features: lagged loads", "",
             "Test MAPE in % (mean ± spread over seeds) per feature setup ('-': the design's 58 features; "
             "'48,336': plus the loads 48 and 336 steps before the target"
             + (f", and a linear highway term over the last {grid.highway} steps' loads" if grid.highway else "")
             + ").", "",
             "| activations | " + " | ".join(f"lags {lab}" for lab in labels) + " |",
             "|---|" + "---|" * len(labels)]
    configs = ok[["method", "degree", "interval", "gate", "cell"]].drop_duplicates()
    configs = configs.assign(poly=configs.method != "exact").sort_values(["poly", "method", "degree", "interval"])
    for cfg in configs.itertuples():
        part = ok[(ok.gate == cfg.gate) & (ok.cell == cfg.cell)]
        name = "exact sigmoid / tanh" if cfg.method == "exact" else f"`{cfg.gate}` / `{cfg.cell}`"
        lines.append(f"| {name} | " + " | ".join(_mean_std(part[part.lags == lab]) for lab in labels) + " |")
    return lines


def register_best_pair(results: pd.DataFrame, registry: Registry, grid) -> pd.Series | None:
    """Store the best pair of ``results`` (:func:`best_pair` over the grid's first feature setup) in ``registry``
    under the names :data:`BEST_NAMES` (``best-gate``, ``best-cell``), replacing earlier ones; return the pair,
    or None (nothing stored) if no polynomial run succeeded.

    This is the only function of the experiments that writes to the registry beyond the fits themselves.
    """
    best = best_pair(_main_features(results, grid))
    if best is not None:
        for stable, name in zip(BEST_NAMES, (best.gate, best.cell)):
            registry.add(dataclasses.replace(registry.get(name), name=stable))
    return best


def summarise(results: pd.DataFrame, grid, dataset=None, registered: bool = False) -> str:
    """Markdown: one table per experiment, the interval winner, the best pair, the naive baselines and, with
    several feature setups, a table of them.

    Parameters
    ----------
    results : DataFrame
        The rows :func:`nn.experiments.runner.run_grid` returned.
    grid : Grid
    dataset : nn.features.Dataset, optional
        The grid's data without lags (``grid_datasets(grid)[()]``), for the naive baselines; read if not given.
    registered : bool
        Whether :func:`register_best_pair` was run on ``results`` (the summary then says the pair was stored
        as ``best-gate`` and ``best-cell``).
    """
    if dataset is None:
        from nn.experiments.runner import grid_datasets

        dataset = grid_datasets(dataclasses.replace(grid, lag_sets=((),)))[()]
    everything = results
    results = _main_features(results, grid)
    ok = results[results.status == "ok"]
    lines = [f"# Plaintext experiments ({grid.cell} cell, batch {grid.batch_size}, lr {grid.lr}, "
             f"at most {grid.epochs} epochs, patience {grid.patience}, seeds {', '.join(map(str, grid.seeds))})",
             "", "Test MAPE in % (mean ± spread over seeds).", "",
             "## 1. Degree of the polynomial", "",
             "| method | interval | " + " | ".join(f"degree {d}" for d in grid.degrees) + " |",
             "|---|---|" + "---|" * len(grid.degrees)]
    for method in grid.methods:
        for label in grid.intervals:
            cells = [_mean_std(ok[(ok.method == method) & (ok.interval == label) & (ok.degree == d)])
                     for d in grid.degrees]
            lines.append(f"| {method} | {label} | " + " | ".join(cells) + " |")
    lines += ["", "## 2. Chebyshev vs Legendre (and lsq, minimax)", "",
              "| method | interval | test MAPE | test RMSE (MW) | train s | epochs | diverged or failed | "
              "max outside interval |", "|---|---|---|---|---|---|---|---|"]
    for method in grid.methods:
        for label in grid.intervals:
            part = results[(results.method == method) & (results.interval == label)]
            good = part[part.status == "ok"]
            outside = good.outside_interval.max()
            lines.append(f"| {method} | {label} | {_mean_std(good)} | {_num(good.test_rmse.mean())} | "
                         f"{_num(good.train_seconds.mean())} | {_num(good.epochs_run.mean())} | "
                         f"{int((part.status != 'ok').sum())} | {_num(100 * outside, '.3f')} % |")
    exact = ok[ok.method == "exact"]
    best = best_pair(results)
    lines += ["", "## 3. Exact sigmoid/tanh vs polynomial", "",
              "| activations | test MAPE | test RMSE (MW) | train s | epochs |", "|---|---|---|---|---|",
              f"| exact sigmoid / tanh | {_mean_std(exact)} | {_num(exact.test_rmse.mean())} | "
              f"{_num(exact.train_seconds.mean())} | {_num(exact.epochs_run.mean())} |"]
    for method in grid.methods:
        configs = _configs(ok[(ok.method == method) & ok.test_mape.notna()])
        if configs.empty:
            lines.append(f"| {method}: no run succeeded | — | — | — | — |")
            continue
        cfg = configs.sort_values(["test_mape", "degree"]).iloc[0]
        lines.append(f"| best {method}: `{cfg.gate}` / `{cfg.cell}` | {cfg.test_mape:.3f} ± "
                     f"{0.0 if np.isnan(cfg.test_mape_std) else cfg.test_mape_std:.3f} | {_num(cfg.test_rmse)} | "
                     f"{_num(cfg.train_seconds)} | {_num(cfg.epochs)} |")
    by_interval = {label: ok[(ok.method != "exact") & (ok.interval == label)].test_mape.mean()
                   for label in grid.intervals}
    scored = {label: v for label, v in by_interval.items() if np.isfinite(v)}
    lines += ["", "## Intervals", "",
              "Mean test MAPE over every polynomial run: " + ", ".join(
                  f"{label} {_num(v, '.3f')} %" for label, v in by_interval.items())
              + (f"; **{min(scored, key=scored.get)}** wins." if scored else "; no polynomial run succeeded."),
              "", "## Best polynomial pair", ""]
    if best is None:
        lines.append("No polynomial run succeeded (see the status and error columns of results.csv)"
                     + ("; `best-gate` and `best-cell` were not registered." if registered else "."))
    else:
        lines.append(f"`{best.gate}` (gate) and `{best.cell}` (cell): test MAPE {best.test_mape:.3f} % "
                     f"(degree {best.degree}, {best.method}, {best.interval} intervals)"
                     + (", registered as `best-gate` and `best-cell`." if registered else "."))
    lines += _baseline_lines(naive_baselines(dataset))
    if grid.lag_sets != ((),):
        lines += _lag_lines(everything, grid)
    return "\n".join(lines) + "\n"


def plot_all(results: pd.DataFrame, registry: Registry, grid, out_dir: Path, pyplot) -> list[Path]:
    """MAPE against degree per method, training curves, and each polynomial's error over its interval."""
    plt = pyplot
    results = _main_features(results, grid)
    ok = results[results.status == "ok"]
    paths = []
    fig, axes = plt.subplots(1, len(grid.intervals), figsize=(5 * len(grid.intervals), 4), squeeze=False,
                             constrained_layout=True)
    exact = ok[ok.method == "exact"].test_mape.mean()
    for ax, label in zip(axes[0], grid.intervals):
        for method in grid.methods:
            part = ok[(ok.method == method) & (ok.interval == label)].groupby("degree").test_mape
            ax.errorbar(part.mean().index, part.mean().values, yerr=part.std(ddof=0).values, marker="o",
                        capsize=3, label=method)
        if not np.isnan(exact):
            ax.axhline(exact, color="k", ls="--", label="exact")
        ax.set(title=f"{label} intervals", xlabel="degree", ylabel="test MAPE (%)")
        ax.legend()
    paths.append(_save(plt, fig, out_dir / "mape_vs_degree.png"))

    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    first_seed = ok[ok.seed == min(grid.seeds)]
    for row in first_seed.itertuples():
        curve = json.loads(row.val_curve) if isinstance(row.val_curve, str) else []
        ax.plot(np.arange(1, len(curve) + 1), curve, lw=0.8,
                color="k" if row.method == "exact" else None, alpha=1.0 if row.method == "exact" else 0.5)
    ax.set(yscale="log", xlabel="epoch", ylabel="validation loss", title=f"training curves (seed {min(grid.seeds)})")
    paths.append(_save(plt, fig, out_dir / "training_curves.png"))

    names = sorted(set(ok[ok.method != "exact"].gate) | set(ok[ok.method != "exact"].cell))
    fig, axes = plt.subplots(2, len(grid.intervals), figsize=(5 * len(grid.intervals), 7), squeeze=False,
                             constrained_layout=True)
    for name in names:
        a = registry.get(name)
        col = [label for label in grid.intervals
               if tuple(a.domain) in (INTERVALS[label][0], INTERVALS[label][1])]
        ax = axes[0 if a.func == "sigmoid" else 1][grid.intervals.index(col[0]) if col else 0]
        x = np.linspace(*a.domain, 801)
        ax.plot(x, get_target(a.func).np(x) - a(x), lw=0.8, label=f"{a.method} {a.degree}")
        ax.set(title=f"{a.func} on [{a.domain[0]:g}, {a.domain[1]:g}]", xlabel="x", ylabel="f - p")
    for ax in axes.ravel():
        if ax.lines:
            ax.legend(fontsize=6, ncol=2)
    paths.append(_save(plt, fig, out_dir / "polynomial_errors.png"))
    return paths


def _save(plt, fig, path: Path) -> Path:
    """Write ``fig`` as PNG to ``path`` whole or not at all, close it, return ``path``."""
    from approx.atomic_file import atomic_write

    try:
        with atomic_write(path) as fh:
            fig.savefig(fh, format="png")
    finally:
        plt.close(fig)
    return path


"""The plaintext experiments as a resumable grid of training runs (:mod:`.runner`) and their report (:mod:`.report`).

See docs/experiments.md; ``approx experiment`` is a thin command over these functions.
"""

from nn.experiments.report import BEST_NAMES, best_pair, naive_baselines, plot_all, register_best_pair, summarise
from nn.experiments.runner import (COLUMNS, INTERVALS, SETTINGS, Grid, Run, check_resume, grid_datasets, lag_label,
                                   pending_runs, plan_runs, read_results, run_grid, shared_settings, write_settings)

__all__ = ["Grid", "Run", "plan_runs", "read_results", "pending_runs", "run_grid", "grid_datasets", "check_resume",
           "write_settings", "shared_settings", "lag_label", "summarise", "plot_all", "best_pair",
           "register_best_pair", "naive_baselines", "BEST_NAMES", "COLUMNS", "INTERVALS", "SETTINGS"]

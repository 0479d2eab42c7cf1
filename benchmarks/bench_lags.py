"""Lagged loads and the highway term against the weekly seasonal naive forecast.

Runs ``approx experiment`` with both feature setups -- the design's 58 features and the same plus
the loads 48 and 336 steps before the target, with a linear highway term over the last 2 steps --
for exact sigmoid/tanh and the degree-3 and degree-5 Chebyshev fits on the narrow intervals
(sigmoid [-2, 2], tanh [-1, 1]), seeds 0-2, per-sample SGD (batch 1, lr 0.01, up to 150 epochs,
patience 10), then prints the mean test MAPE per setup beside the naive baselines on the same
test targets.  Goal: every lagged setup below the weekly naive (1.165 % on the Taylor data).

Run:  python benchmarks/bench_lags.py [--epochs 150] [--jobs 2] [-o DIR]
About 50 minutes on this 2-core machine; rerunning with the same -o resumes.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from nn.data import load_series
from nn.features import make_dataset
from nn.metrics import baselines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("-o", "--output", help="experiment directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.output or tmp)
        subprocess.run([sys.executable, "-m", "approx", "experiment", "--degrees", "3,5", "--methods", "chebyshev",
                        "--intervals", "narrow", "--lags", "48,336", "--highway", "2", "--batch-size", "1",
                        "--lr", "0.01", "--epochs", str(args.epochs), "--jobs", str(args.jobs),
                        "--registry", str(out / "registry.json"), "-o", str(out)], check=True,
                       stdout=subprocess.DEVNULL)  # its summary.md stays in the directory
        results = pd.read_csv(out / "results.csv", keep_default_na=False)
    ok = results[results.status == "ok"]
    table = ok.groupby(["lags", "method", "degree"], sort=True).test_mape.agg(["mean", "min", "max", "count"])
    data = make_dataset(load_series("taylor"))
    naive = baselines(data.loads, data.target_pos[data.splits["test"]])
    print(f"test MAPE (%) over seeds; {len(results) - len(ok)} runs failed")
    print(f"{'features':>26} {'activations':>22} {'mean':>7} {'min':>7} {'max':>7} {'runs':>5}")
    for (lags, method, degree), row in table.iterrows():
        features = "design 58" if lags in ("", "-") else f"+ lags {lags} + highway 2"
        acts = "exact sigmoid/tanh" if method == "exact" else f"{method} degree {int(degree)}"
        print(f"{features:>26} {acts:>22} {row['mean']:7.3f} {row['min']:7.3f} {row['max']:7.3f} {int(row['count']):5d}")
    for name, scores in naive.items():
        print(f"{name.replace('_', ' '):>26} {'':>22} {scores.mape:7.3f}")
    week = naive["seasonal_naive_week"].mape
    lagged = table[[lags not in ("", "-") for lags, _, _ in table.index]]
    print(f"every lagged setup below the weekly naive ({week:.3f} %): {bool((lagged['mean'] < week).all())}")


if __name__ == "__main__":
    main()

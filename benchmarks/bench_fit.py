"""Benchmark of `approx fit`: wall time of the main job, and of fit + certified bound per degree.

Run:  python benchmarks/bench_fit.py
Goals: `approx fit --func sigmoid --degree 3` under 1 s with interpreter start;
a certified bound for degree <= 15 under 0.2 s; the bound at most 1e-6 relative above the
located sup norm; minimax within 1e-9 of the true minimax error (de la Vallee Poussin).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from approx import fit
from approx.certify import certified_bound
from approx.targets import get_target


def main_job(repeats: int = 5) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "APPROX_REGISTRY": os.path.join(tmp, "r.json")}
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run(["approx", "fit", "--func", "sigmoid", "--degree", "3"], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
    return times


def per_degree(func: str, method: str) -> None:
    print(f"\n{func}, {method}, default interval")
    print(f"{'degree':>6} {'fit+figures s':>14} {'bound only s':>13} {'max_error':>12} {'bound/max-1':>12}"
          f" {'max/dVP-1':>10}")
    target = get_target(func)
    for degree in range(3, 16):
        start = time.perf_counter()
        a = fit(func, degree, method=method)
        total = time.perf_counter() - start
        start = time.perf_counter()
        certified_bound(target, a.power_coef_t(), *a.domain)
        bound_time = time.perf_counter() - start
        dvp = f"{a.errors.max_error / a.minimax_lower_bound - 1:10.1e}" if a.minimax_lower_bound else f"{'-':>10}"
        print(f"{degree:6d} {total:14.3f} {bound_time:13.3f} {a.errors.max_error:12.4e} "
              f"{a.errors.error_bound / a.errors.max_error - 1:12.1e} {dvp}")


if __name__ == "__main__":
    fit("sigmoid", 3)  # warm caches
    times = main_job()
    print(f"approx fit --func sigmoid --degree 3: median {statistics.median(times):.3f} s, "
          f"min {min(times):.3f} s over {len(times)} runs (interpreter start included; goal < 1 s)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    for func, method in [("sigmoid", "chebyshev"), ("tanh", "minimax"), ("swish", "legendre")]:
        per_degree(func, method)

"""Secure gates in-process: online time and traffic of multiplication and polynomial activations.

Run:  python benchmarks/bench_mpc.py
Issue 5 goals: multiply on 10^6 elements under 60 ms online in-process; bytes exactly at the
floor (16 per element per party for a multiplication, 8 (|X| + |Y|) for a matmul); a degree-3
odd polynomial in 2 rounds and a degree-7 one in 3.
"""

import time

import numpy as np

from approx import PolynomialActivation, fit
from mpc.polynomial import evaluate
from mpc.tensor import Session


def best_online(session, fn, repeats=5):
    """Best wall time of fn less the dealer's (offline) time spent inside it."""
    times = []
    for _ in range(repeats):
        offline = session.provider.offline_seconds
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start - (session.provider.offline_seconds - offline))
    return min(times)


def main():
    n = 10**6
    s = Session(2, 16)
    rng = np.random.default_rng(0)
    x, y = s.share(rng.uniform(-1, 1, n)), s.share(rng.uniform(-1, 1, n))
    online = best_online(s, lambda: x * y)
    before = s.comm.bytes_sent
    x * y
    print(f"multiply, 10^6 elements, 2 parties: online {1e3 * online:.1f} ms (goal < 60 ms; CrypTen ~76 ms), "
          f"{(s.comm.bytes_sent - before) / n:.0f} bytes per element per party (floor 16), 1 round")
    for func, degree in (("sigmoid", 3), ("tanh", 7), ("sigmoid", 15)):
        act = PolynomialActivation(fit(func, degree, method="minimax"))
        lo, hi = act.interval
        s = Session(2, 16)
        inp = s.share(rng.uniform(lo, hi, n), magnitude=max(abs(lo), abs(hi)))
        start = time.perf_counter()
        out = evaluate(inp, act)
        t = time.perf_counter() - start - s.dealer.offline_seconds
        stats = s.stats()
        print(f"{act.name}, 10^6 inputs: {stats['rounds']} rounds, {stats['bytes_per_party'] / n:.0f} bytes per "
              f"input per party, online {t:.3f} s, fixed-point error bound {out.error:.2e}")


if __name__ == "__main__":
    main()

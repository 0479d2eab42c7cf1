"""Secure gates: online time and traffic of multiplication, matmul and polynomial activations,
in process and over TCP between real party processes on 127.0.0.1, beside the theoretical floor.

Run:  python benchmarks/bench_mpc.py [--tcp-elements 100000]
Goals: multiply on 10^6 elements under 60 ms online in-process; bytes exactly at the
floor (16 per element per party for a multiplication, 8 (|X| + |Y|) for a matmul); a degree-3
odd polynomial in 2 rounds and a degree-7 one in 3.  CrypTen, for comparison (measured separately):
16 bytes per party per multiplication, 1 round, about 76 ms online for 10^6 multiplications.
Rows marked "dealer" truncate with the dealer's help (2 parties; the only truncation of 3): one more
round and 8 (n - 1) more bytes per truncated element, which the floor counts.
"""

import argparse
import time

import numpy as np

from approx import PolynomialActivation, fit
from mpc.launch import run
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


def multiply_program(session, n, repeats):
    """Party 0 owns x, party 1 owns y; the best online time of x * y over ``repeats``, and the costs of one."""
    mine = session.comm.position
    rng = np.random.default_rng(0)
    x = session.share(rng.uniform(-1, 1, n) if mine(0) is not None else None, magnitude=1.0, owner=0, shape=(n,))
    y = session.share(rng.uniform(-1, 1, n) if mine(1) is not None else None, magnitude=1.0, owner=1, shape=(n,))
    x * y
    one = session.stats()
    # fresh tensors (views of the same shares) each time, so that every product opens its operands
    return best_online(session, lambda: x.reshape((n,)) * y.reshape((n,)), repeats), one


def polynomial_program(session, n, func, degree):
    act = PolynomialActivation(fit(func, degree, method="minimax"))
    lo, hi = act.interval
    x = np.random.default_rng(1).uniform(lo, hi, n) if session.comm.position(0) is not None else None
    inp = session.share(x, magnitude=max(abs(lo), abs(hi)), shape=(n,))
    start = time.perf_counter()
    evaluate(inp, act)
    return time.perf_counter() - start - session.provider.offline_seconds


def row(label, n, seconds, stats):
    return (f"{label:40} {1e3 * seconds:9.1f} ms {stats.rounds:4d} ({stats.floor_rounds}) "
            f"{stats.bytes_per_party / n:8.1f} ({stats.floor_bytes_per_party / n:.1f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tcp-elements", type=int, default=10**5, help="elements of the TCP runs")
    args = parser.parse_args()
    n = 10**6
    print(f"{'computation':40} {'online':>12} rounds (floor) bytes/element/party (floor)")
    seconds, stats = run(multiply_program, 2, args=(n, 5))[0]["value"]
    print(row("multiply 10^6, in process", n, seconds, stats))
    s = Session.in_process(2, 16)
    a, b = s.share(np.ones((64, 256))), s.share(np.ones((256, 40)))
    t = best_online(s, lambda: a.matmul(b), 1)
    stats = s.stats()
    print(f"{'matmul (64x256)(256x40), in process':40} {1e3 * t:9.1f} ms {stats.rounds:4d} ({stats.floor_rounds}) "
          f"{stats.bytes_per_party:8d} B ({stats.floor_bytes_per_party} B = 8 (|X| + |Y|))")
    for func, degree in (("sigmoid", 3), ("tanh", 7), ("sigmoid", 15)):
        result = run(polynomial_program, 2, args=(n, func, degree))[0]
        print(row(f"{func} degree {degree}, 10^6, in process", n, result["value"], result["stats"]))
    dealer = {"truncation": "dealer"}
    seconds, stats = run(multiply_program, 2, args=(n, 5), session_options=dealer)[0]["value"]
    print(row("multiply 10^6, in process, dealer", n, seconds, stats))
    for func, degree in (("sigmoid", 3), ("tanh", 7)):
        result = run(polynomial_program, 2, args=(n, func, degree), session_options=dealer)[0]
        print(row(f"{func} degree {degree}, 10^6, dealer", n, result["value"], result["stats"]))
    m = args.tcp_elements
    for parties, options in ((2, None), (2, dealer), (3, None)):
        label = f"{parties} parties" + (", dealer" if options and parties == 2 else "")
        start = time.perf_counter()
        results = run(multiply_program, parties, transport="tcp", args=(m, 3), timeout=60.0, session_options=options)
        wall = time.perf_counter() - start
        print(row(f"multiply {m:g}, TCP, {label}", m, max(r["value"][0] for r in results),
                  results[0]["value"][1]) + f"   (wall {wall:.1f} s with process start)")
        results = run(polynomial_program, parties, transport="tcp", args=(m, "tanh", 7), timeout=60.0,
                      session_options=options)
        print(row(f"tanh degree 7, {m:g}, TCP, {label}", m, max(r["value"] for r in results),
                  results[0]["stats"]))


if __name__ == "__main__":
    main()

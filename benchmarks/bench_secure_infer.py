"""Secure inference of the seed-000 forecaster: costs at batch 1 and speed at batch 64, beside CrypTen.

Run:  python benchmarks/bench_secure_infer.py [--model M.npz --registry R.json] [--epochs 10]
Without --model it fits degree-3 Chebyshev sigmoid on [-2, 2] and tanh on [-1, 1], trains the
design's forecaster with them (square hidden activation, identity output, batch 64), and runs
``approx secure infer`` on it.  Issue 6 goals, 2 parties in process: batch 1 at most ~500 KiB per
party per inference including the one-time weight masks, at most 151 rounds, online under 0.5 s;
batch 64 at least 60 inferences per second; over the whole test split forecasts within 1e-3
(normalised) of the plaintext polynomial model and MAPE within 0.05 points.  CrypTen, for the same
network (issue 6): 5.19 MB and 1,971 rounds per inference, 5.7 s online, 7.6 inferences per second.
"""

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def approx_cli(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "approx", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def dealer_memory(model_file: str, registry: str, repeat: int = 4) -> tuple[int, int, float]:
    """Secure inference in this process over the test split repeated ``repeat`` times: windows, masks
    the dealer still holds at the end, and the growth of peak memory (MB) over the run."""
    import numpy as np

    from cli.secure_infer_command import infer_program
    from cli.train_commands import model_dataset
    from mpc.forecaster import weight_bounds
    from mpc.tensor import Session
    from nn.persistence import load_model

    model, meta = load_model(model_file, registry=registry)
    x = np.concatenate([model_dataset(meta, "taylor", "timestamp", "load", "GB/ENG").part("test")[0]] * repeat)
    names = {role: act.activation.name for role, act in model.activations().items()}
    weights = {name: np.array(value) for name, value in model.params.items()}
    session = Session(2, 16)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    infer_program(session, dataclasses.asdict(model.config), names, registry, weights, weight_bounds(weights), x,
                  float(np.max(np.abs(x))), 64, False)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return len(x), session.provider.live_masks, grown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--registry")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model, registry = args.model, args.registry
        if model is None:
            registry, model = str(Path(tmp) / "r.json"), str(Path(tmp) / "m.npz")
            approx_cli("fit", "--func", "sigmoid", "--degree", "3", "--interval", "-2", "2", "--registry", registry)
            approx_cli("fit", "--func", "tanh", "--degree", "3", "--interval", "-1", "1", "--registry", registry)
            trained = approx_cli("train", "--gate-activation", "sigmoid-chebyshev-3[-2,2]", "--cell-activation",
                                 "tanh-chebyshev-3[-1,1]", "--hidden-activation", "square", "--output-activation",
                                 "identity", "--batch-size", "64", "--lr", "0.1", "--epochs", str(args.epochs),
                                 "--registry", registry, "-o", model)
            print(f"trained {args.epochs} epochs: plaintext test MAPE {trained['test_mape']:.3f} %")
        one = approx_cli("secure", "infer", model, "--registry", registry, "--limit", "1", "--batch-size", "1")
        print(f"batch 1, one inference incl. the weight masks: {one['rounds']} rounds (floor {one['floor_rounds']}; "
              f"CrypTen 1971), {one['bytes_per_party'] / 1024:.1f} KiB per party (floor "
              f"{one['floor_bytes_per_party'] / 1024:.1f}; CrypTen 5.19 MB), online {one['online_seconds']:.3f} s "
              f"(CrypTen 5.7 s)")
        tcp = approx_cli("secure", "infer", model, "--registry", registry, "--limit", "1", "--batch-size", "1",
                         "--transport", "tcp")
        print(f"  the same over TCP: {tcp['rounds']} rounds, {tcp['bytes_per_party'] / 1024:.1f} KiB per party, "
              f"online {tcp['online_seconds']:.3f} s")
        full = approx_cli("secure", "infer", model, "--registry", registry, "--batch-size", "64")
        print(f"batch 64, the whole test split ({full['windows']} windows): {full['inferences_per_second']:.1f} "
              f"inferences per second (CrypTen 7.6), {full['bytes_per_inference'] / 1024:.1f} KiB per inference "
              f"per party, offline {full['offline_seconds']:.2f} s")
        print(f"  max |secure - plaintext| {full['max_abs_difference']:.2e} (goal 1e-3); test MAPE secure "
              f"{full['secure']['mape']:.4f} % vs plaintext {full['plaintext']['mape']:.4f} % "
              f"(difference {full['mape_difference']:+.4f}, goal < 0.05); truncation failure bound "
              f"{full['truncation_failure_bound']:.1e}")
        windows, live, grown = dealer_memory(model, registry)
        print(f"dealer memory, in process, {windows} windows at batch 64: {live} masks still held at the end, "
              f"peak memory +{grown:.0f} MB over the run")


if __name__ == "__main__":
    main()

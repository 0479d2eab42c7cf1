"""The memory estimate that `approx train` refuses oversized models with, against the memory training takes.

Run:  python benchmarks/bench_memory_estimate.py
For each model, a fresh process trains one epoch with `approx train` and reports its peak resident
set size; the growth over a process that only imported the same modules is what training took.  The
estimate (nn.memory.training_bytes) should be of the same order and not below it: the ratio
estimate / growth is printed.  Measured on the 2-core machine: 1.28 (LSTM forecaster, 300 units),
1.75 (MLP 4000, 4000), 3.11 (RNN 300).
"""

import subprocess
import sys
import tempfile

from nn.forecaster import ForecasterConfig
from nn.memory import training_bytes
from nn.network import MLPConfig
from nn.rnn_classifier import RNNClassifierConfig

CASES = [  # (approx train arguments, kind, configuration, batch size, steps)
    (["--hidden-size", "300", "--batch-size", "64"], "forecaster", ForecasterConfig(58, 300, 20), 64, 20),
    (["mlp", "--hidden", "4000,4000"], "mlp", MLPConfig(64, (4000, 4000), 10), 16, 1),
    (["rnn", "--hidden", "300"], "rnn", RNNClassifierConfig(8, 300, 10), 16, 8),
]
IMPORTS = "import resource, sys, threadpoolctl, cli, nn.forecaster, nn.network, nn.rnn_classifier, pandas, holidays"
TRAIN = IMPORTS + """
from cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(threadpoolctl.threadpool_info()[0].get('num_threads') if threadpoolctl.threadpool_info() else 1, file=sys.stderr)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""
BASE = IMPORTS + "\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def main():
    base = int(subprocess.run([sys.executable, "-c", BASE], capture_output=True, text=True, check=True).stdout) * 1024
    print(f"baseline process after the imports: {base / 2**20:.0f} MiB")
    print(f"{'approx train ...':44}{'BLAS threads':>13}{'growth MiB':>12}{'estimate MiB':>14}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for args, kind, config, batch, steps in CASES:
            out = subprocess.run([sys.executable, "-c", TRAIN, "train", *args, "--epochs", "1", "-o",
                                  f"{tmp}/m.npz", "--force"], capture_output=True, text=True, check=True)
            threads, peak = out.stderr.strip().splitlines()[-2:]
            growth = int(peak) * 1024 - base
            estimate = training_bytes(kind, config, batch, steps)
            print(f"{' '.join(args):44}{threads:>13}{growth / 2**20:12.0f}{estimate / 2**20:14.0f}"
                  f"{estimate / growth:7.2f}")


if __name__ == "__main__":
    main()

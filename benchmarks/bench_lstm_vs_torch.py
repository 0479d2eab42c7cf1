"""Seconds per training epoch: our numpy/numba forecaster against PyTorch's nn.LSTM version, one thread each.

Same model (LSTM(58->40) -> LSTM(40->40) -> Dense(40->20)+ReLU -> Dense(20->1)+ReLU), same
Taylor training windows (2808), same plain SGD (forward, backward, update), batch sizes 1, 32
and 64, all in this process.  Ours is timed in float32 and float64, with exact sigmoid/tanh and
with degree-3 registry polynomials; torch in float32 and float64 with its exact activations.
Every library runs on one thread (OpenBLAS through threadpoolctl, numba, torch intra- and
inter-op), and the script prints the thread counts and the BLAS kernels it found, since a
shared machine makes unpinned figures meaningless.  Each figure is the fastest of --repeats
epochs, the candidates timed in turn so that load on the machine hits them alike.

Run:  pip install torch   (a CPU build will do; benchmark-only dependency)
      python benchmarks/bench_lstm_vs_torch.py [--samples N] [--repeats R]
Where OPENBLAS_CORETYPE is set (older OpenBLAS builds need it on some processors) it slows a
current numpy; to measure numpy's own kernel, unset it and OPENBLAS_L2_SIZE for this command:
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_lstm_vs_torch.py
"""

import argparse
import os
import tempfile
import time

import numba
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from approx import Registry, fit
from nn.data import load_series
from nn.features import make_dataset
from nn.forecaster import Forecaster, ForecasterConfig

BATCHES = (1, 32, 64)


def ours_epoch(model, x, y, batch, lr=0.01):
    """Seconds for one epoch of plain SGD over (x, y)."""
    params = model.params
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        _, grads = model.loss_and_grads(x[i:i + batch], y[i:i + batch])
        for name, g in grads.items():
            params[name] -= lr * g
    return time.perf_counter() - start


def torch_trainer(x, y, dtype):
    """A function batch -> seconds for one epoch of the same model in torch, in ``dtype``."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(58, 40, num_layers=2, batch_first=True)
            self.d1, self.d2 = torch.nn.Linear(40, 20), torch.nn.Linear(20, 1)

        def forward(self, inp):
            h, _ = self.lstm(inp)
            return torch.relu(self.d2(torch.relu(self.d1(h[:, -1]))))

    torch.manual_seed(0)
    net = Net().to(getattr(torch, dtype))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(x.astype(dtype)), torch.from_numpy(y.astype(dtype))

    def epoch(batch):
        start = time.perf_counter()
        for i in range(0, len(xt), batch):
            opt.zero_grad()
            loss = 0.5 * ((net(xt[i:i + batch]) - yt[i:i + batch]) ** 2).mean()
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    return epoch


def pin_threads():
    """One thread for every library; print what runs where."""
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    numba.set_num_threads(1)
    limits = threadpool_limits(1)
    for pool in threadpool_info():
        print(f"{pool['internal_api']} {pool.get('version')} ({pool['user_api']}, kernel "
              f"{pool.get('architecture')}): {pool['num_threads']} thread(s) -- {os.path.basename(pool['filepath'])}")
    print(f"numba {numba.__version__}: {numba.get_num_threads()} thread(s); torch {torch.__version__}: "
          f"{torch.get_num_threads()} intra-op, {torch.get_num_interop_threads()} inter-op thread(s), "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}, MKL {torch.backends.mkl.is_available()}")
    print("OPENBLAS_CORETYPE=" + os.environ.get("OPENBLAS_CORETYPE", "(unset)")
          + " OPENBLAS_L2_SIZE=" + os.environ.get("OPENBLAS_L2_SIZE", "(unset)"))
    return limits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2808, help="training windows per epoch (all: 2808)")
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per figure (the fastest counts)")
    args = parser.parse_args()
    _limits = pin_threads()
    data = make_dataset(load_series("taylor"))
    x, y = data.part("train")
    x, y = np.ascontiguousarray(x[: args.samples]), np.ascontiguousarray(y[: args.samples])
    torch_runs = {dtype: torch_trainer(x, y, dtype) for dtype in ("float32", "float64")}
    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry(f"{tmp}/r.json")
        gate, cell = fit("sigmoid", 3), fit("tanh", 3)
        reg.add(gate)
        reg.add(cell)
        activations = {"exact": ("sigmoid", "tanh"), "degree-3": (gate.name, cell.name)}
        ours = {}
        for label, (g, c) in activations.items():
            for dtype in ("float32", "float64"):
                model = Forecaster(ForecasterConfig(gate_activation=g, cell_activation=c, dtype=dtype), registry=reg,
                                   output_bias=0.5)
                for batch in BATCHES:
                    model.loss_and_grads(x[:batch], y[:batch])  # compile the kernels outside the timing
                ours[label, dtype] = model
        print(f"\nseconds per epoch of {len(x)} windows (plain SGD; fastest of {args.repeats}); "
              f"ratio = ours / torch, below 1: ours is faster")
        print(f"{'batch':>5} {'activations':>11} {'ours':>7} {'ours s':>8} {'torch f32 s':>12} {'torch f64 s':>12}"
              f" {'/ torch f32':>12} {'/ torch f64':>12}")
        for batch in BATCHES:
            best = {key: np.inf for key in [*torch_runs, *ours]}
            for _ in range(args.repeats):
                for dtype, run in torch_runs.items():
                    best[dtype] = min(best[dtype], run(batch))
                for key, model in ours.items():
                    best[key] = min(best[key], ours_epoch(model, x, y, batch))
            for (label, dtype), _ in ours.items():
                t = best[label, dtype]
                print(f"{batch:5d} {label:>11} {dtype:>7} {t:8.3f} {best['float32']:12.3f} {best['float64']:12.3f}"
                      f" {t / best['float32']:12.2f} {t / best['float64']:12.2f}")


if __name__ == "__main__":
    main()

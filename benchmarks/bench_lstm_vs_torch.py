"""Seconds per training epoch: our numpy/numba forecaster against PyTorch's nn.LSTM version.

Same model (LSTM(58->40) -> LSTM(40->40) -> Dense(40->20)+ReLU -> Dense(20->1)+ReLU), same
Taylor training windows (2808), same plain SGD, batch sizes 1 and 64, both in this process.
Ours is timed with exact sigmoid/tanh and with degree-3 registry polynomials; torch with its
exact activations.

Run:  pip install torch==2.13.0   (a CPU build; benchmark-only dependency)
      python benchmarks/bench_lstm_vs_torch.py [--samples N]
"""

import argparse
import tempfile
import time

import numpy as np

from approx import Registry, fit
from nn.data import load_series
from nn.features import make_dataset
from nn.forecaster import Forecaster, ForecasterConfig


def ours_epoch(model, x, y, batch, lr=0.01):
    params = model.params
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        _, grads = model.loss_and_grads(x[i:i + batch], y[i:i + batch])
        for name, g in grads.items():
            params[name] -= lr * g
    return time.perf_counter() - start


def torch_epoch(x, y, batch, lr=0.01, dtype="float64"):
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
    net = Net().double() if dtype == "float64" else Net()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x.astype(dtype)), torch.from_numpy(y.astype(dtype))
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        opt.zero_grad()
        loss = 0.5 * ((net(xt[i:i + batch]) - yt[i:i + batch]) ** 2).mean()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=2808, help="training windows per epoch (all: 2808)")
    args = parser.parse_args()
    data = make_dataset(load_series("taylor"))
    x, y = data.part("train")
    x, y = np.ascontiguousarray(x[: args.samples]), np.ascontiguousarray(y[: args.samples])
    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry(f"{tmp}/r.json")
        gate, cell = fit("sigmoid", 3), fit("tanh", 3)
        reg.add(gate)
        reg.add(cell)
        configs = {"exact": ForecasterConfig(),
                   "degree-3": ForecasterConfig(gate_activation=gate.name, cell_activation=cell.name)}
        print(f"seconds per epoch of {len(x)} windows (SGD; ours in float64; ratios against torch float32)")
        print(f"{'batch':>5} {'torch f64':>10} {'torch f32':>10} {'ours exact':>11} {'ratio':>6} {'ours deg-3':>11}"
              f" {'ratio':>6}")
        for batch in (1, 64):
            t64 = min(torch_epoch(x, y, batch) for _ in range(2))
            t_torch = min(torch_epoch(x, y, batch, dtype="float32") for _ in range(2))
            row = f"{batch:5d} {t64:10.2f} {t_torch:10.2f}"
            for name, config in configs.items():
                model = Forecaster(config, registry=reg, output_bias=0.5)
                model.loss_and_grads(x[:2], y[:2])  # compile the kernels outside the timing
                t = min(ours_epoch(model, x, y, batch) for _ in range(2))
                row += f" {t:11.2f} {t / t_torch:6.2f}"
            print(row)
    print("ratio = ours / torch (below 1: ours is faster)")


if __name__ == "__main__":
    main()

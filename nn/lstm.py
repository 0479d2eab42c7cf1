"""LSTM layer with the standard and the linear cell, forward and BPTT backward.

For an input X of shape (batch, time, input_size), at each step t
(DESIGN.md, seeds 000, 001 and 003; gate order as PyTorch's nn.LSTM, with
the three sigmoid gates first):

    z_t = x_t W_ih + h_{t-1} W_hh + b                   (batch, 4 hidden)
    i, f, o = gate(z_t[:, :3H])   g = candidate(z_t[:, 3H:])
    s_t = g * i + s_{t-1} * f                            cell state
    h_t = o * cell(s_t)    (cell="standard", seeds 001/003)
    h_t = o * s_t          (cell="linear", seed 000: one multiplication under MPC)

with h_0 = s_0 = 0.  The backward pass is backpropagation through time in the
concatenated form of seed 003, checked against finite differences in the
tests (which is why it does not copy the seeds' typos).  The time loops run
compiled (:mod:`nn.lstm_kernels`); the input and weight-gradient products are
one GEMM each over all steps.

Parameters are named as in :class:`Dense`: ``weight_ih`` (input_size, 4H),
``weight_hh`` (H, 4H), ``bias`` (4H,) -- PyTorch's ``weight_ih_l0`` transposed,
its two biases merged.
"""

from __future__ import annotations

import numpy as np

from nn import lstm_kernels as kernels
from nn.activation import LayerActivation

__all__ = ["LSTM", "CELLS"]

CELLS = ("standard", "linear")
GATES = ("i", "f", "o", "g")


class LSTM:
    """One LSTM layer over a whole sequence.

    Parameters
    ----------
    input_size, hidden_size : int
    gate, candidate, cell_activation : LayerActivation
        Activations of the i, f, o gates (sigmoid), of the candidate g and of
        the cell state (tanh; unused by the linear cell).
    cell : {"standard", "linear"}
    rng : numpy.random.Generator
        Initialises weights uniformly in +-1/sqrt(hidden_size) (PyTorch's rule).

    Attributes
    ----------
    params, grads : dict of str -> ndarray
    pre_activations : dict of str -> ndarray
        The last forward pass's pre-activations per gate, for the domain monitor.
    """

    def __init__(self, input_size: int, hidden_size: int, gate: LayerActivation, candidate: LayerActivation,
                 cell_activation: LayerActivation, cell: str = "standard", rng=None):
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose standard or linear")
        rng = rng if rng is not None else np.random.default_rng(0)
        k = 1.0 / np.sqrt(hidden_size)
        self.hidden_size, self.cell = hidden_size, cell
        self.gate, self.candidate, self.cell_activation = gate, candidate, cell_activation
        self.params = {
            "weight_ih": rng.uniform(-k, k, (input_size, 4 * hidden_size)),
            "weight_hh": rng.uniform(-k, k, (hidden_size, 4 * hidden_size)),
            "bias": rng.uniform(-k, k, 4 * hidden_size),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None

    @property
    def _packed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return kernels.pack(self.gate), kernels.pack(self.candidate), kernels.pack(self.cell_activation)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Hidden states h_1..h_T, shape (batch, time, hidden), from x of shape (batch, time, input_size)."""
        n, steps, _ = x.shape
        x_tm = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=np.float64)  # time-major inside
        z_all = (x_tm.reshape(n * steps, -1) @ self.params["weight_ih"]).reshape(steps, n, -1)  # one GEMM
        z_all += self.params["bias"]
        packed = self._packed
        acts, states, cells, hs = kernels.forward(z_all, self.params["weight_hh"], *packed, self.cell == "standard")
        self._cache = (x_tm, z_all, acts, states, cells, hs, packed)
        return hs[1:].transpose(1, 0, 2)

    @property
    def pre_activations(self) -> dict[str, np.ndarray]:
        """Pre-activations of the last forward pass: gates i, f, o, g and (standard cell) the cell state s."""
        _, z_all, _, states, _, _, _ = self._cache
        hid = self.hidden_size
        out = {name: z_all[..., k * hid:(k + 1) * hid] for k, name in enumerate(GATES)}
        if self.cell == "standard":
            out["s"] = states[1:]
        return out

    def backward(self, d_hidden: np.ndarray) -> np.ndarray:
        """Gradient of the loss with respect to x, given it with respect to the outputs.

        Parameters
        ----------
        d_hidden : ndarray, shape (batch, time, hidden)
            dL/dh_t for every step (zeros where the loss does not read h_t).

        Returns
        -------
        ndarray, shape (batch, time, input_size)
            dL/dx; the parameter gradients are stored in ``grads``.
        """
        x_tm, z_all, acts, states, cells, hs, packed = self._cache
        steps, n, _ = x_tm.shape
        hid = self.hidden_size
        d_tm = np.ascontiguousarray(d_hidden.transpose(1, 0, 2), dtype=np.float64)
        dz_all = kernels.backward(d_tm, z_all, acts, states, cells, self.params["weight_hh"], *packed,
                                  self.cell == "standard")
        flat_dz = dz_all.reshape(-1, 4 * hid)
        self.grads["weight_ih"] = x_tm.reshape(-1, x_tm.shape[-1]).T @ flat_dz
        self.grads["weight_hh"] = hs[:-1].reshape(-1, hid).T @ flat_dz
        self.grads["bias"] = flat_dz.sum(axis=0)
        return (flat_dz @ self.params["weight_ih"].T).reshape(steps, n, -1).transpose(1, 0, 2)

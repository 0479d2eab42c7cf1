"""LSTM layer with the standard and the linear cell, forward and BPTT backward.

For an input X of shape (batch, time, input_size), at each step t
(Hochreiter & Schmidhuber, *Neural Computation* 9(8), 1997, with the forget
gate of Gers, Schmidhuber & Cummins, *Neural Computation* 12(10), 2000; see
docs/design.md), with the gate blocks in the order i, f, o, g -- the three
sigmoid gates first, then the candidate (PyTorch's ``nn.LSTM`` orders them
i, f, g, o; the conversion is in the last paragraph):

    z_t = x_t W_ih + h_{t-1} W_hh + b                   (batch, 4 hidden)
    i, f, o = gate(z_t[:, :3H])   g = candidate(z_t[:, 3H:])
    s_t = g * i + s_{t-1} * f                            cell state
    h_t = o * cell(s_t)    (cell="standard", cell = tanh)
    h_t = o * s_t          (cell="linear": one multiplication under MPC)

with h_0 = s_0 = 0.  The backward pass is backpropagation through time
(Werbos, *Proc. IEEE* 78(10), 1990; Goodfellow, Bengio & Courville, *Deep
Learning*, 2016, §10.2.2) with the four gate blocks as one pre-activation z_t,
checked against finite differences in the tests.  The time loops run
compiled (:mod:`nn.lstm_kernels`); the input and weight-gradient products are
one GEMM each over all steps.  Between the two layers of a model the hidden
states stay time-major (:meth:`LSTM.forward_time_major`), and the kernels' buffers
are kept per batch shape, so a run of equal batches allocates only the gradients.

Parameters are named as in :class:`Dense`: ``weight_ih`` (input_size, 4H),
``weight_hh`` (H, 4H), ``bias`` (4H,) -- PyTorch's ``weight_ih_l0`` transposed,
its two biases merged, and its g and o blocks swapped (ours: i, f, o, g).
"""

from __future__ import annotations

import numpy as np

from nn import lstm_kernels as kernels
from nn.activation import LayerActivation
from nn.dtypes import float_dtype

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
    dtype : {"float64", "float32"}
        Floating-point type of the parameters, gradients and computation.

    Attributes
    ----------
    params, grads : dict of str -> ndarray
    pre_activations : dict of str -> ndarray
        The last forward pass's pre-activations per gate, for the domain monitor.
    """

    def __init__(self, input_size: int, hidden_size: int, gate: LayerActivation, candidate: LayerActivation,
                 cell_activation: LayerActivation, cell: str = "standard", rng=None, dtype="float64"):
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose standard or linear")
        rng = rng if rng is not None else np.random.default_rng(0)
        self.dtype = float_dtype(dtype)
        k = 1.0 / np.sqrt(hidden_size)
        self.hidden_size, self.cell = hidden_size, cell
        self.gate, self.candidate, self.cell_activation = gate, candidate, cell_activation
        self.params = {
            "weight_ih": rng.uniform(-k, k, (input_size, 4 * hidden_size)).astype(self.dtype),
            "weight_hh": rng.uniform(-k, k, (hidden_size, 4 * hidden_size)).astype(self.dtype),
            "bias": rng.uniform(-k, k, 4 * hidden_size).astype(self.dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None
        self._buffers = None

    def _specs(self) -> tuple:
        """The kernels' activation specs, rebuilt only when an activation is replaced (not every forward pass)."""
        acts = (self.gate, self.candidate, self.cell_activation)
        if getattr(self, "_spec_key", None) != tuple(map(id, acts)):
            self._spec_key, self._spec = tuple(map(id, acts)), tuple(kernels.spec(a, self.dtype) for a in acts)
        return self._spec

    def _workspace(self, steps: int, n: int) -> dict:
        """The kernels' buffers for batches of n sequences of ``steps`` steps (kept for the last shape seen)."""
        if self._buffers is None or self._buffers["shape"] != (steps, n):
            hid, new = self.hidden_size, lambda *shape: np.empty(shape, dtype=self.dtype)
            self._buffers = {"shape": (steps, n), "z": new(steps, n, 4 * hid), "acts": new(steps, n, 4 * hid),
                             "states": new(steps + 1, n, hid), "cells": new(steps, n, hid),
                             "hs": new(steps + 1, n, hid), "rec": new(n, 4 * hid),
                             "slopes": new(steps, n, 4 * hid), "cell_slopes": new(steps, n, hid),
                             "dz": new(steps, n, 4 * hid), "dh": new(n, hid), "ds": new(n, hid)}
        return self._buffers

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Hidden states h_1..h_T, shape (batch, time, hidden), from x of shape (batch, time, input_size)."""
        return self.forward_time_major(x.transpose(1, 0, 2)).transpose(1, 0, 2).copy()

    def forward_time_major(self, x_tm: np.ndarray) -> np.ndarray:
        """Hidden states h_1..h_T, shape (time, batch, hidden), from x of shape (time, batch, input_size).

        The result is a view of this layer's buffers: it stays valid until the next forward pass
        of a batch of the same shape.
        """
        x_tm = np.ascontiguousarray(x_tm, dtype=self.dtype)
        steps, n, _ = x_tm.shape
        ws = self._workspace(steps, n)
        z_all = ws["z"]
        np.dot(x_tm.reshape(n * steps, -1), self.params["weight_ih"], out=z_all.reshape(n * steps, -1))  # one GEMM
        z_all += self.params["bias"]
        specs = self._specs()
        kernels.forward(z_all, self.params["weight_hh"], *specs, self.cell == "standard", ws["acts"], ws["states"],
                        ws["cells"], ws["hs"], ws["rec"])
        self._cache = (x_tm, ws, specs)
        return ws["hs"][1:]

    @property
    def pre_activations(self) -> dict[str, np.ndarray]:
        """Pre-activations of the last forward pass: gates i, f, o, g and (standard cell) the cell state s,
        each of shape (time, batch, hidden)."""
        _, ws, _ = self._cache
        hid = self.hidden_size
        out = {name: ws["z"][..., k * hid:(k + 1) * hid] for k, name in enumerate(GATES)}
        if self.cell == "standard":
            out["s"] = ws["states"][1:]
        return out

    def backward(self, d_hidden: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Gradient of the loss with respect to x, given it with respect to the outputs.

        Parameters
        ----------
        d_hidden : ndarray, shape (batch, time, hidden)
            dL/dh_t for every step (zeros where the loss does not read h_t).
        input_grad : bool
            False for a first layer, whose input is data: dL/dx is then not computed.

        Returns
        -------
        ndarray, shape (batch, time, input_size), or None
            dL/dx; the parameter gradients are stored in ``grads``.
        """
        d_x = self.backward_time_major(d_hidden.transpose(1, 0, 2), input_grad)
        return None if d_x is None else d_x.transpose(1, 0, 2)

    def backward_time_major(self, d_hidden: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """:meth:`backward` with time-major arrays: dL/dh of shape (time, batch, hidden) in,
        dL/dx of shape (time, batch, input_size) out, or None with ``input_grad=False``
        (the first layer, whose input is data)."""
        x_tm, ws, specs = self._cache
        steps, n, _ = x_tm.shape
        hid = self.hidden_size
        d_tm = np.ascontiguousarray(d_hidden, dtype=self.dtype)
        kernels.backward(d_tm, ws["z"], ws["acts"], ws["states"], ws["cells"],
                         np.ascontiguousarray(self.params["weight_hh"].T), *specs, self.cell == "standard",
                         ws["slopes"], ws["cell_slopes"], ws["dz"], ws["dh"], ws["ds"])
        flat_dz = ws["dz"].reshape(-1, 4 * hid)
        self.grads.update(weight_ih=x_tm.reshape(-1, x_tm.shape[-1]).T @ flat_dz,
                          weight_hh=ws["hs"][:-1].reshape(-1, hid).T @ flat_dz, bias=flat_dz.sum(axis=0))
        if not input_grad:
            return None
        return (flat_dz @ self.params["weight_ih"].T).reshape(steps, n, -1)

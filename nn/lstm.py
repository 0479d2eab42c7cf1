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
tests (which is why it does not copy the seeds' typos).

Parameters are named as in :class:`Dense`: ``weight_ih`` (input_size, 4H),
``weight_hh`` (H, 4H), ``bias`` (4H,) -- PyTorch's ``weight_ih_l0`` transposed,
its two biases merged.
"""

from __future__ import annotations

import numpy as np

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

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Hidden states h_1..h_T, shape (batch, time, hidden), from x of shape (batch, time, input_size)."""
        n, steps, _ = x.shape
        hid = self.hidden_size
        w_hh = self.params["weight_hh"]
        z_all = (x.reshape(n * steps, -1) @ self.params["weight_ih"]).reshape(n, steps, -1)  # one GEMM
        z_all += self.params["bias"]
        acts = np.empty_like(z_all)
        states = np.zeros((n, steps + 1, hid))  # s_0 .. s_T
        cells = np.empty((n, steps, hid)) if self.cell == "standard" else None
        hs = np.zeros((n, steps + 1, hid))  # h_0 .. h_T
        for t in range(steps):
            z = z_all[:, t]
            z += hs[:, t] @ w_hh
            a = acts[:, t]
            a[:, : 3 * hid] = self.gate.forward(z[:, : 3 * hid])
            a[:, 3 * hid:] = self.candidate.forward(z[:, 3 * hid:])
            i, f, o, g = a[:, :hid], a[:, hid: 2 * hid], a[:, 2 * hid: 3 * hid], a[:, 3 * hid:]
            s = states[:, t + 1]
            np.multiply(g, i, out=s)
            s += states[:, t] * f
            if cells is None:
                np.multiply(o, s, out=hs[:, t + 1])
            else:
                cells[:, t] = self.cell_activation.forward(s)
                np.multiply(o, cells[:, t], out=hs[:, t + 1])
        self._cache = (x, z_all, acts, states, cells, hs)
        return hs[:, 1:]

    @property
    def pre_activations(self) -> dict[str, np.ndarray]:
        """Pre-activations of the last forward pass: gates i, f, o, g and (standard cell) the cell state s."""
        _, z_all, _, states, cells, _ = self._cache
        hid = self.hidden_size
        out = {name: z_all[..., k * hid:(k + 1) * hid] for k, name in enumerate(GATES)}
        if cells is not None:
            out["s"] = states[:, 1:]
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
        x, z_all, acts, states, cells, hs = self._cache
        n, steps, _ = x.shape
        hid = self.hidden_size
        w_hh = self.params["weight_hh"]
        dz_all = np.empty_like(z_all)
        gate_grad = self.gate.grad(z_all[..., : 3 * hid], acts[..., : 3 * hid])
        cand_grad = self.candidate.grad(z_all[..., 3 * hid:], acts[..., 3 * hid:])
        cell_grad = None if cells is None else self.cell_activation.grad(states[:, 1:], cells)
        dh_next = np.zeros((n, hid))
        ds_next = np.zeros((n, hid))
        for t in range(steps - 1, -1, -1):
            a = acts[:, t]
            i, f, o, g = a[:, :hid], a[:, hid: 2 * hid], a[:, 2 * hid: 3 * hid], a[:, 3 * hid:]
            dh = d_hidden[:, t] + dh_next
            dz = dz_all[:, t]
            s = states[:, t + 1]
            if cells is None:
                np.multiply(dh, s, out=dz[:, 2 * hid: 3 * hid])  # do
                ds = dh * o
            else:
                np.multiply(dh, cells[:, t], out=dz[:, 2 * hid: 3 * hid])
                ds = dh * o * cell_grad[:, t]
            ds += ds_next
            np.multiply(ds, g, out=dz[:, :hid])  # di
            np.multiply(ds, states[:, t], out=dz[:, hid: 2 * hid])  # df
            np.multiply(ds, i, out=dz[:, 3 * hid:])  # dg
            dz[:, : 3 * hid] *= gate_grad[:, t]
            dz[:, 3 * hid:] *= cand_grad[:, t]
            ds_next = ds * f
            dh_next = dz @ w_hh.T
        flat_dz = dz_all.reshape(-1, 4 * hid)
        self.grads["weight_ih"] = x.reshape(-1, x.shape[-1]).T @ flat_dz
        self.grads["weight_hh"] = hs[:, :-1].reshape(-1, hid).T @ flat_dz
        self.grads["bias"] = flat_dz.sum(axis=0)
        return (flat_dz @ self.params["weight_ih"].T).reshape(n, steps, -1)

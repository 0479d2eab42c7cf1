"""Simple (Elman) recurrent layer: h_t = f(x_t W_ih + h_{t-1} W_hh + b).

Elman, *Cognitive Science* 14(2), 1990; the scalar s_t = f(u x_t + v s_{t-1} + b)
is its one-unit case, and PyTorch's ``nn.RNN`` recurrence
h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) the same with the weights
transposed and the two biases merged.  The backward pass is BPTT (Werbos, *Proc. IEEE* 78(10), 1990):
e_t = f'(z_t) * (dL/dh_t + e_{t+1} W_hh^T), i.e. the recursion
e = Lambda_t (W_y^T (p_t - l_t) + W_h^T e) of a classifier on top.
"""

from __future__ import annotations

import numpy as np

from nn.activation import LayerActivation
from nn.dtypes import float_dtype

__all__ = ["RNN"]


class RNN:
    """Elman RNN layer over a whole sequence, h_0 = 0.

    Parameters
    ----------
    input_size, hidden_size : int
    activation : LayerActivation
        Default tanh.
    rng : numpy.random.Generator
    dtype : {"float64", "float32"}
        Floating-point type of the parameters, gradients and computation.

    Attributes
    ----------
    params, grads : dict
        ``weight_ih`` (input_size, H), ``weight_hh`` (H, H), ``bias`` (H,).
    """

    def __init__(self, input_size: int, hidden_size: int, activation: LayerActivation, rng=None,
                 dtype="float64"):
        rng = rng if rng is not None else np.random.default_rng(0)
        k = 1.0 / np.sqrt(hidden_size)
        self.hidden_size, self.activation, self.dtype = hidden_size, activation, float_dtype(dtype)
        self.params = {"weight_ih": rng.uniform(-k, k, (input_size, hidden_size)).astype(self.dtype),
                       "weight_hh": rng.uniform(-k, k, (hidden_size, hidden_size)).astype(self.dtype),
                       "bias": rng.uniform(-k, k, hidden_size).astype(self.dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Hidden states, shape (batch, time, hidden), from x of shape (batch, time, input_size)."""
        x = np.asarray(x, dtype=self.dtype)
        n, steps, _ = x.shape
        # time-major inside: every step reads and writes contiguous (batch, hidden) blocks
        z_all = np.matmul(x.transpose(1, 0, 2), self.params["weight_ih"])
        z_all += self.params["bias"]
        hs = np.zeros((steps + 1, n, self.hidden_size), dtype=self.dtype)
        w_hh = self.params["weight_hh"]
        for t in range(steps):
            z_all[t] += hs[t] @ w_hh
            hs[t + 1] = self.activation.forward(z_all[t])
        self._cache = (x, z_all, hs)
        return hs[1:].transpose(1, 0, 2)

    @property
    def pre_activations(self) -> dict[str, np.ndarray]:
        """``{"z": z_t for every step}`` of the last forward pass, shape (batch, time, hidden)."""
        return {"z": self._cache[1].transpose(1, 0, 2)}

    def backward(self, d_hidden: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx (batch, time, input_size) from dL/dh (batch, time, hidden); None with ``input_grad=False``
        (a first layer, whose input is data)."""
        x, z_all, hs = self._cache
        grad = self.activation.grad(z_all, hs[1:])
        d_hidden = d_hidden.transpose(1, 0, 2)
        dz_all = np.empty_like(z_all)
        w_hh_t = self.params["weight_hh"].T
        e = np.zeros_like(hs[0])
        for t in range(x.shape[1] - 1, -1, -1):
            e = (d_hidden[t] + e @ w_hh_t) * grad[t]
            dz_all[t] = e
        flat = dz_all.reshape(-1, self.hidden_size)
        x_t = x.transpose(1, 0, 2).reshape(-1, x.shape[-1])
        self.grads["weight_ih"] = x_t.T @ flat
        self.grads["weight_hh"] = hs[:-1].reshape(-1, self.hidden_size).T @ flat
        self.grads["bias"] = flat.sum(axis=0)
        return (dz_all @ self.params["weight_ih"].T).transpose(1, 0, 2) if input_grad else None

"""Fully connected layer with an activation: y = f(x W + b)."""

from __future__ import annotations

import numpy as np

from nn.activation import LayerActivation
from nn.dtypes import float_dtype

__all__ = ["Dense"]


class Dense:
    """Dense layer (PyTorch's nn.Linear followed by an activation).

    Parameters
    ----------
    in_features, out_features : int
    activation : LayerActivation
    rng : numpy.random.Generator
        Initialises weights uniformly in +-1/sqrt(in_features) (PyTorch's rule).
    dtype : {"float64", "float32"}
        Floating-point type of the parameters, gradients and computation.

    Attributes
    ----------
    params, grads : dict
        ``weight`` (in_features, out_features) and ``bias`` (out_features,).
    pre_activations : dict
        ``{"z": x W + b}`` of the last forward pass.
    """

    def __init__(self, in_features: int, out_features: int, activation: LayerActivation, rng=None,
                 dtype="float64"):
        rng = rng if rng is not None else np.random.default_rng(0)
        k = 1.0 / np.sqrt(in_features)
        self.activation, self.dtype = activation, float_dtype(dtype)
        self.params = {"weight": rng.uniform(-k, k, (in_features, out_features)).astype(self.dtype),
                       "bias": rng.uniform(-k, k, out_features).astype(self.dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """f(x W + b) for x of shape (..., in_features); returns (..., out_features)."""
        x = np.asarray(x, dtype=self.dtype)
        z = x @ self.params["weight"] + self.params["bias"]
        y = self.activation.forward(z)
        self._cache = (x, z, y)
        return y

    @property
    def pre_activations(self) -> dict[str, np.ndarray]:
        """``{"z": x W + b}`` of the last forward pass, for the domain monitor."""
        return {"z": self._cache[1]}

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dL/dx from dL/dy (shape (..., out_features)); parameter gradients go to ``grads``.

        With ``input_grad=False`` (a first layer, whose input is data) dL/dx is not computed: None.
        """
        x, z, y = self._cache
        dz = dy * self.activation.grad(z, y)
        self.grads["weight"] = x.reshape(-1, x.shape[-1]).T @ dz.reshape(-1, dz.shape[-1])
        self.grads["bias"] = dz.reshape(-1, dz.shape[-1]).sum(axis=0)
        return dz @ self.params["weight"].T if input_grad else None

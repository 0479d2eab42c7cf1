"""A feed-forward back-propagation network, as a classifier (the MLP of ``approx train mlp``).

A :class:`Network` is a stack of layers added one by one; the forward pass
runs them in order, the backward pass in reverse, each layer computing the
gradient of its activation, delta_l = (W_(l+1)^T delta_(l+1)) * f'(z_l)
(Rumelhart, Hinton & Williams, *Nature* 323, 1986).
The last layer's outputs are logits for softmax cross-entropy, or -- with
``loss="mse"`` -- outputs of an output activation (a polynomial sigmoid)
fitted to one-hot targets with the square loss 1/2 |y' - y|^2, the
MPC-friendly classifier loss of SecureML (Mohassel & Zhang 2017).  Training is
:func:`nn.training.train` (shuffle each epoch, forward, backward, update
W <- W - alpha (delta a^T + lambda W), b <- b - alpha delta, early stopping).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from approx.errors import ApproxError
from nn.activation import LayerActivation
from nn.dense import Dense
from nn.dtypes import DEFAULT_DTYPE
from nn.losses import mse, softmax_cross_entropy

__all__ = ["Network", "MLPConfig", "one_hot"]


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """Rows of the identity: (batch, classes) float targets from integer ``labels`` (batch,) or (batch, 1)."""
    return np.eye(classes)[np.asarray(labels, dtype=np.int64).reshape(-1)]


@dataclasses.dataclass(frozen=True)
class MLPConfig:
    """Sizes and activation of a :class:`Network` built as an MLP classifier (JSON-serialisable).

    Attributes
    ----------
    input_size : int
        Features (64 pixels for the digits).
    hidden : tuple of int
        Units of each hidden layer.
    classes : int
    activation : str
        Registry name of the hidden layers' activation (exact or polynomial).
    derivative : {"poly", "output"}
    clip : bool
        Clip polynomial pre-activations to their interval.
    loss : {"cross_entropy", "mse"}
        Softmax cross-entropy on logits, or the square loss on one-hot targets.
    output_activation : str
        Registry name of the last layer's activation (``identity`` for logits;
        with ``mse`` typically a sigmoid polynomial).
    dtype : {"float32", "float64"}
        Floating-point type of the parameters, gradients and computation.
    """

    input_size: int = 64
    hidden: tuple = (32,)
    classes: int = 10
    activation: str = "sigmoid"
    derivative: str = "poly"
    clip: bool = False
    loss: str = "cross_entropy"
    output_activation: str = "identity"
    dtype: str = DEFAULT_DTYPE


class Network:
    """Layers added one by one, softmax cross-entropy on the last one's output.

    Parameters
    ----------
    config : MLPConfig, optional
        Builds Dense(input -> hidden_1) ... Dense(hidden_k -> classes), the
        hidden layers with ``config.activation`` and the last one linear;
        without it the network starts empty (see :meth:`add`).
    registry : str or approx.Registry, optional
    seed : int
        Seeds the weight initialisation.

    Attributes
    ----------
    layers : list
        Layers with ``forward(x)``, ``backward(dy, input_grad)`` (``input_grad=False`` for the first
        layer: its input is data, dL/dx is not needed), ``params``, ``grads``.
    """

    kind = "mlp"

    def __init__(self, config: MLPConfig | None = None, registry=None, seed: int = 0):
        self.config, self.layers = config, []
        if config is None:
            return
        rng = np.random.default_rng(seed)
        sizes = (config.input_size, *config.hidden)
        for n_in, n_out in zip(sizes, sizes[1:]):
            self.add(Dense(n_in, n_out, LayerActivation(config.activation, registry=registry,
                                                        derivative=config.derivative, clip=config.clip), rng,
                           config.dtype))
        if config.loss not in ("cross_entropy", "mse"):
            raise ApproxError(f"unknown loss {config.loss!r}; choose cross_entropy or mse")
        self.add(Dense(sizes[-1], config.classes, LayerActivation(config.output_activation, registry=registry,
                                                                  derivative=config.derivative, clip=config.clip),
                       rng, config.dtype))

    def add(self, layer) -> "Network":
        """Append a layer; returns the network."""
        self.layers.append(layer)
        return self

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every parameter as ``"layerK.name" -> array`` (the arrays themselves)."""
        return {f"layer{k}.{n}": p for k, layer in enumerate(self.layers) for n, p in layer.params.items()}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits, shape (batch, classes), from x of shape (batch, features)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def _loss(self, output: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        if self.config is not None and self.config.loss == "mse":
            return mse(output, one_hot(labels, output.shape[1]))
        return softmax_cross_entropy(output, labels)

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Mean loss of integer ``labels`` (batch,) or (batch, 1): softmax cross-entropy, or
        1/2 |y' - onehot|^2 with ``loss="mse"``."""
        return self._loss(self.forward(x), labels)[0]

    def loss_and_grads(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Loss and its gradient for every parameter (same names and shapes as :attr:`params`)."""
        loss, delta = self._loss(self.forward(x), labels)
        for k in range(len(self.layers) - 1, -1, -1):
            delta = self.layers[k].backward(delta, input_grad=k > 0)  # the first layer's input is data
        return loss, {f"layer{k}.{n}": g for k, layer in enumerate(self.layers) for n, g in layer.grads.items()}

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class of each row, shape (batch,)."""
        return np.argmax(self.forward(x), axis=1)

    def activations(self) -> dict:
        """The activations by role (``hidden``; ``output`` unless identity), for the model file."""
        out = {"hidden": self.layers[0].activation} if len(self.layers) > 1 else {}
        if self.layers and self.layers[-1].activation.name != "identity":
            out["output"] = self.layers[-1].activation
        return out

    def outside_interval(self) -> dict[str, float]:
        """Domain monitor: per layer, the fraction of the last forward pass's pre-activations
        outside the fitted interval of its polynomial activation."""
        out = {}
        for k, layer in enumerate(self.layers):
            if layer.activation.interval is not None:
                bad, total = layer.activation.outside(layer.pre_activations["z"])
                out[f"layer{k}.z"] = bad / total
        return out

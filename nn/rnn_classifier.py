"""An Elman RNN classifier (Elman, *Cognitive Science* 14(2), 1990; ``approx train rnn``).

    h_t = f(x_t W_x + h_(t-1) W_h + b),   y_t = h_t W_y + b_y,   p_t = softmax(y_t)

with f = tanh by default (any registry activation here), cross-entropy loss,
trained by back-propagation through time.  By default only the last step is
classified (the digits: 8 rows of 8 pixels read as 8 steps); with
``per_step`` every step has a target and the losses of the steps are added,
as in Goodfellow, Bengio & Courville, *Deep Learning*, 2016, §10.2.2.
:func:`recursive_gradients` is the textbook recursive form of BPTT,
e = Lambda_t (W_y^T (p_t - l_t) + W_h^T e) with Lambda_t = diag(f'(z_t)), kept to check the layer-by-layer BPTT against it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nn.activation import LayerActivation
from nn.dense import Dense
from nn.dtypes import DEFAULT_DTYPE
from nn.losses import softmax_cross_entropy
from nn.rnn import RNN

__all__ = ["RNNClassifier", "RNNClassifierConfig", "recursive_gradients"]


@dataclasses.dataclass(frozen=True)
class RNNClassifierConfig:
    """Sizes and activation of an :class:`RNNClassifier` (JSON-serialisable).

    Attributes
    ----------
    input_size : int
        Features per step (8 pixels of a row for the digits).
    hidden_size : int
    classes : int
    activation : str
        Registry name of f (default tanh).
    derivative : {"poly", "output"}
    clip : bool
    per_step : bool
        A target at every step (losses added over the steps) instead of the last step only.
    dtype : {"float32", "float64"}
        Floating-point type of the parameters, gradients and computation.
    """

    input_size: int = 8
    hidden_size: int = 32
    classes: int = 10
    activation: str = "tanh"
    derivative: str = "poly"
    clip: bool = False
    per_step: bool = False
    dtype: str = DEFAULT_DTYPE


class RNNClassifier:
    """An Elman RNN layer and a linear output layer, softmax cross-entropy.

    Parameters
    ----------
    config : RNNClassifierConfig
    registry : str or approx.Registry, optional
    seed : int

    Attributes
    ----------
    layers : dict
        ``rnn`` (:class:`nn.rnn.RNN`) and ``output`` (Dense, identity activation).
    """

    kind = "rnn"

    def __init__(self, config: RNNClassifierConfig = RNNClassifierConfig(), registry=None, seed: int = 0):
        self.config = config
        rng = np.random.default_rng(seed)
        act = LayerActivation(config.activation, registry=registry, derivative=config.derivative, clip=config.clip)
        self.layers = {"rnn": RNN(config.input_size, config.hidden_size, act, rng, config.dtype),
                       "output": Dense(config.hidden_size, config.classes, LayerActivation("identity"), rng,
                                       config.dtype)}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every parameter as ``"layer.name" -> array`` (the arrays themselves)."""
        return {f"{ln}.{pn}": p for ln, layer in self.layers.items() for pn, p in layer.params.items()}

    def logits(self, x: np.ndarray) -> np.ndarray:
        """y_t for every step, shape (batch, time, classes), from x of shape (batch, time, input_size)."""
        return self.layers["output"].forward(self.layers["rnn"].forward(x))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits of the last step, shape (batch, classes)."""
        return self.logits(x)[:, -1]

    def _targets(self, labels: np.ndarray, steps: int) -> np.ndarray:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.ndim == 2 and labels.shape[1] == steps:
            return labels
        return np.repeat(labels.reshape(-1, 1), steps, axis=1)

    def loss_and_grads(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Cross-entropy (mean over the batch; summed over the steps with ``per_step``) and its gradients.

        Parameters
        ----------
        x : ndarray, shape (batch, time, input_size)
        labels : ndarray of int, shape (batch,) or (batch, 1); with ``per_step`` also (batch, time)
        """
        y = self.logits(x)
        n, steps, classes = y.shape
        d_y = np.zeros_like(y)
        if self.config.per_step:
            loss, d_flat = softmax_cross_entropy(y.reshape(-1, classes), self._targets(labels, steps).reshape(-1))
            loss, d_y = loss * steps, d_flat.reshape(y.shape) * steps
        else:
            loss, d_y[:, -1] = softmax_cross_entropy(y[:, -1], labels)
        self.layers["rnn"].backward(self.layers["output"].backward(d_y), input_grad=False)
        return loss, {f"{ln}.{pn}": g for ln, layer in self.layers.items() for pn, g in layer.grads.items()}

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        """The loss of :meth:`loss_and_grads` without the gradients."""
        y = self.logits(x)
        if self.config.per_step:
            steps = y.shape[1]
            return steps * softmax_cross_entropy(y.reshape(-1, y.shape[2]),
                                                 self._targets(labels, steps).reshape(-1))[0]
        return softmax_cross_entropy(y[:, -1], labels)[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class after the last step, shape (batch,)."""
        return np.argmax(self.forward(x), axis=1)

    def activations(self) -> dict:
        """The recurrent activation by role (``hidden``), for the model file."""
        return {"hidden": self.layers["rnn"].activation}

    def outside_interval(self) -> dict[str, float]:
        """Domain monitor: the fraction of the last forward pass's recurrent pre-activations outside
        the polynomial's fitted interval."""
        act = self.layers["rnn"].activation
        if act.interval is None:
            return {}
        bad, total = act.outside(self.layers["rnn"].pre_activations["z"])
        return {"rnn.z": bad / total}


def recursive_gradients(model: RNNClassifier, x: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Recursive BPTT (Werbos 1990), step by step, for the gradients of :meth:`RNNClassifier.loss_and_grads`.

    For t = T..1: e = Lambda_t (W_y^T (p_t - l_t) + W_h^T e), then
    dW_x += x_t e^T, dW_h += h_(t-1) e^T, db += e, dW_y += h_t (p_t - l_t)^T,
    db_y += p_t - l_t (written here with row vectors, W of shape (in, out)).

    Parameters
    ----------
    model : RNNClassifier
    x : ndarray, shape (batch, time, input_size)
    labels : ndarray of int, shape (batch,)

    Returns
    -------
    dict of str -> ndarray, the names of ``model.params``
    """
    rnn, out = model.layers["rnn"].params, model.layers["output"].params
    act = model.layers["rnn"].activation
    n, steps, _ = x.shape
    h = [np.zeros((n, model.config.hidden_size))]
    z = []
    for t in range(steps):
        z.append(x[:, t] @ rnn["weight_ih"] + h[-1] @ rnn["weight_hh"] + rnn["bias"])
        h.append(act.forward(z[-1]))
    targets = model._targets(labels, steps)
    grads = {name: np.zeros_like(p) for name, p in model.params.items()}
    e = np.zeros((n, model.config.hidden_size))
    for t in range(steps - 1, -1, -1):
        y = h[t + 1] @ out["weight"] + out["bias"]
        p = np.exp(y - y.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        residual = p.copy()
        residual[np.arange(n), targets[:, t]] -= 1.0
        residual /= n  # the loss is a mean over the batch
        if not model.config.per_step and t < steps - 1:
            residual[:] = 0.0
        e = act.grad(z[t], h[t + 1]) * (residual @ out["weight"].T + e @ rnn["weight_hh"].T)
        grads["rnn.weight_ih"] += x[:, t].T @ e
        grads["rnn.weight_hh"] += h[t].T @ e
        grads["rnn.bias"] += e.sum(axis=0)
        grads["output.weight"] += h[t + 1].T @ residual
        grads["output.bias"] += residual.sum(axis=0)
    return grads

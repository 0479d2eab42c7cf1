"""The load forecaster: two LSTM layers and two dense layers (docs/design.md, "Networks").

    LSTM(58 -> 40) -> LSTM(40 -> 40) -> last hidden state
    -> Dense(40 -> 20) + hidden activation -> Dense(20 -> 1) + output activation

over windows of 20 half-hourly steps.  Every activation is a
registry name; sizes are configurable.

Optionally (``highway=q``) a linear autoregressive term over chosen input
features (the load and the lagged loads) of the last q steps is added to the output, as LSTNet's highway
component (Lai et al., *Modeling Long- and Short-Term Temporal Patterns with
Deep Neural Networks*, SIGIR 2018): with lagged loads among the features it
can express "the load a week ago plus this week's deviation", which the
recurrent layers approximate poorly through their saturating gates.  It is
one more matrix product, so secure inference needs nothing new.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nn.activation import LayerActivation
from nn.dense import Dense
from nn.dtypes import DEFAULT_DTYPE, float_dtype
from nn.losses import mse
from nn.lstm import LSTM

__all__ = ["Forecaster", "ForecasterConfig"]


@dataclasses.dataclass(frozen=True)
class ForecasterConfig:
    """Sizes and activations of a :class:`Forecaster` (all JSON-serialisable).

    Attributes
    ----------
    input_size, hidden_size, dense_size : int
        58, 40 and 20 by default (docs/design.md).
    gate_activation, cell_activation : str
        Registry names for the sigmoid gates (i, f, o) and for the candidate
        and cell state (tanh).
    cell : {"standard", "linear"}
    hidden_activation, output_activation : str
        Activations of the two dense layers (default: relu, relu).
    derivative : {"poly", "output"}
    clip : bool
        Clip polynomial pre-activations to their intervals.
    highway : int
        q >= 0: steps of the window whose input features feed the linear
        highway term added to the output (0: none, the default).
    highway_features : tuple of int
        Which input features of those steps it reads (default: feature 0, the
        load; the CLI adds the lagged loads).
    dtype : {"float32", "float64"}
        Floating-point type of the parameters, gradients and computation.
    """

    input_size: int = 58
    hidden_size: int = 40
    dense_size: int = 20
    gate_activation: str = "sigmoid"
    cell_activation: str = "tanh"
    cell: str = "standard"
    hidden_activation: str = "relu"
    output_activation: str = "relu"
    derivative: str = "poly"
    clip: bool = False
    highway: int = 0
    highway_features: tuple = (0,)
    dtype: str = DEFAULT_DTYPE


class Forecaster:
    """Two LSTM layers and two dense layers, trained with MSE.

    Parameters
    ----------
    config : ForecasterConfig
    registry : str or approx.Registry, optional
        Where fitted polynomial activations are looked up.
    seed : int
        Seeds the weight initialisation.
    output_bias : float, optional
        Initial bias of the output layer, e.g. the mean training target.

    Attributes
    ----------
    layers : dict of str -> layer
        ``lstm1``, ``lstm2``, ``dense1``, ``dense2``, and ``highway`` (a Dense
        layer from highway * input_size features to 1, identity activation,
        zero-initialised) when ``config.highway > 0``.
    """

    kind = "forecaster"

    def __init__(self, config: ForecasterConfig = ForecasterConfig(), registry=None, seed: int = 0,
                 output_bias: float | None = None):
        self.config, self.dtype = config, float_dtype(config.dtype)
        rng = np.random.default_rng(seed)

        def act(name):
            return LayerActivation(name, registry=registry, derivative=config.derivative, clip=config.clip)

        gate, cell = act(config.gate_activation), act(config.cell_activation)
        h, d, dtype = config.hidden_size, config.dense_size, self.dtype
        self.layers = {
            "lstm1": LSTM(config.input_size, h, gate, cell, cell, config.cell, rng, dtype),
            "lstm2": LSTM(h, h, gate, cell, cell, config.cell, rng, dtype),
            "dense1": Dense(h, d, act(config.hidden_activation), rng, dtype),
            "dense2": Dense(d, 1, act(config.output_activation), rng, dtype),
        }
        if config.highway:
            self.layers["highway"] = Dense(config.highway * len(config.highway_features), 1, act("identity"), rng,
                                           dtype)
            for p in self.layers["highway"].params.values():
                p[:] = 0.0  # start as the plain forecaster
        if output_bias is not None:
            # start at the mean target: a ReLU output then starts alive, not at a dead 0
            self.layers["dense2"].params["bias"][:] = output_bias

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every parameter as ``"layer.name" -> array`` (the arrays themselves, not copies)."""
        return {f"{ln}.{pn}": p for ln, layer in self.layers.items() for pn, p in layer.params.items()}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Forecasts, shape (batch, 1), from windows x of shape (batch, time, input_size)."""
        x = np.asarray(x)
        # time-major through both LSTM layers: one copy of the input (transposed, in the model's
        # dtype), none between them
        h = self.layers["lstm2"].forward_time_major(self.layers["lstm1"].forward_time_major(x.transpose(1, 0, 2)))
        out = self.layers["dense2"].forward(self.layers["dense1"].forward(h[-1]))
        q = self.config.highway
        if q:
            recent = x[:, -q:, list(self.config.highway_features)]
            out = out + self.layers["highway"].forward(recent.reshape(x.shape[0], -1))
        return out

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """MSE loss 1/2 (y' - y)^2 averaged over the batch."""
        out = self.forward(x)
        return mse(out, np.asarray(y, dtype=self.dtype).reshape(out.shape))[0]

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """MSE loss 1/2 (y' - y)^2 averaged over the batch, and its gradient for every parameter.

        Parameters
        ----------
        x : ndarray, shape (batch, time, input_size)
        y : ndarray, shape (batch, 1) or (batch,)

        Returns
        -------
        loss : float
        grads : dict of str -> ndarray
            Same names and shapes as :attr:`params`.
        """
        out = self.forward(x)
        loss, d_out = mse(out, np.asarray(y, dtype=self.dtype).reshape(out.shape))
        if self.config.highway:
            self.layers["highway"].backward(d_out, input_grad=False)
        d_last = self.layers["dense1"].backward(self.layers["dense2"].backward(d_out))
        d_h2 = np.zeros((x.shape[1], x.shape[0], self.config.hidden_size), dtype=self.dtype)  # time-major
        d_h2[-1] = d_last
        d_h1 = self.layers["lstm2"].backward_time_major(d_h2)
        self.layers["lstm1"].backward_time_major(d_h1, input_grad=False)  # its input is data
        grads = {f"{ln}.{pn}": g for ln, layer in self.layers.items() for pn, g in layer.grads.items()}
        return loss, grads

    def activations(self) -> dict[str, LayerActivation]:
        """The distinct activations by role: gate, cell, hidden, output."""
        lstm, dense1, dense2 = self.layers["lstm1"], self.layers["dense1"], self.layers["dense2"]
        return {"gate": lstm.gate, "cell": lstm.candidate, "hidden": dense1.activation,
                "output": dense2.activation}

    def outside_interval(self) -> dict[str, float]:
        """Domain monitor: per layer and gate, the fraction of the last forward pass's
        pre-activations outside the fitted interval of the polynomial applied to them."""
        roles = {"i": "gate", "f": "gate", "o": "gate", "g": "cell", "s": "cell", "z": None}
        out = {}
        for ln, layer in self.layers.items():
            for gate, z in layer.pre_activations.items():
                act = layer.activation if roles[gate] is None else (
                    layer.gate if roles[gate] == "gate" else layer.candidate)
                if act.interval is not None:
                    bad, total = act.outside(z)
                    out[f"{ln}.{gate}"] = bad / total
        return out

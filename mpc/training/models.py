"""The networks trained on shares: the feed-forward BP network (MLP) and the LSTM load forecaster.

Both hold their parameters as a dict of SharedTensors named and shaped as
``nn``'s models (``layer0.weight`` ...; ``lstm1.weight_ih`` ...), so that a
model file's weights go in and come out unchanged, and expose round programs
(each runs its round programs, :mod:`mpc.training.rounds`):

* ``gradients(x, target, grads, loss_scale)``: forward pass, MSE output
  gradient (y' - y) times the public power of two ``loss_scale`` (local and
  exact), back-propagation; the gradients of the batch's summed loss, times
  ``loss_scale``, go to ``grads`` (:func:`mpc.training.sgd.sgd_update` divides
  it out).  Loss scaling keeps the small gradients of the first layers, after
  back-propagation through two layers and 20 time steps, far above the
  fixed-point resolution (as loss scaling does for float16 gradients:
  Micikevicius et al., *Mixed Precision Training*, ICLR 2018);
* ``predict(x)``: the forward pass only.

The MLP is trained with the square loss on one-hot targets and a polynomial
sigmoid output, the MPC-friendly replacement of softmax cross-entropy of
SecureML (Mohassel & Zhang, IEEE S&P 2017, section 4.2).  The forecaster is
LSTM -> LSTM -> last hidden state -> Dense -> Dense (docs/design.md), its two LSTM
layers pipelined one time step apart and its head overlapping the second
layer's last products.
"""

from __future__ import annotations

from mpc.training.dense import SecureDense
from mpc.training.lstm import SecureLSTM
from mpc.training.sgd import mse_output_grad
from mpc.training.rounds import drive, run, times_integer

__all__ = ["SecureMLP", "SecureLSTMForecaster", "mlp_shapes", "forecaster_shapes"]


def mlp_shapes(sizes: tuple) -> dict:
    """Parameter name -> shape of an MLP with layer sizes (input, hidden..., outputs)."""
    out = {}
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        out[f"layer{k}.weight"], out[f"layer{k}.bias"] = (n_in, n_out), (n_out,)
    return out


def forecaster_shapes(input_size: int, hidden_size: int, dense_size: int) -> dict:
    """Parameter name -> shape of the forecaster (no highway term)."""
    f, h, d = input_size, hidden_size, dense_size
    return {"lstm1.weight_ih": (f, 4 * h), "lstm1.weight_hh": (h, 4 * h), "lstm1.bias": (4 * h,),
            "lstm2.weight_ih": (h, 4 * h), "lstm2.weight_hh": (h, 4 * h), "lstm2.bias": (4 * h,),
            "dense1.weight": (h, d), "dense1.bias": (d,), "dense2.weight": (d, 1), "dense2.bias": (1,)}


class SecureMLP:
    """Dense layers with a hidden activation and an output activation.

    Parameters
    ----------
    params : dict of str -> SharedTensor
        ``layer{k}.weight`` (n_k, n_(k+1)) and ``layer{k}.bias``.
    activations : dict
        ``hidden`` and ``output`` (registry polynomials, ``square`` or ``identity``).
    bounds : mpc.training.precision.PublicBounds
    """

    def __init__(self, params: dict, activations: dict, bounds):
        self.params = params
        count = len(params) // 2
        self.layers = [SecureDense(params, f"layer{k}", activations["hidden" if k < count - 1 else "output"], bounds)
                       for k in range(count)]

    def _forward(self, x):
        for layer in self.layers:
            x = yield from layer.forward(x)
        return x

    def predict(self, x):
        """Outputs (batch, classes) of x (batch, features)."""
        return run(self._forward(x))

    def gradients(self, x, target, grads: dict, loss_scale: int = 1):
        """``loss_scale`` times the gradients of sum_i 1/2 |y'_i - y_i|^2 into ``grads``; returns y'."""
        return run(self._gradients(x, target, grads, loss_scale))

    def _gradients(self, x, target, grads, loss_scale):
        y = yield from self._forward(x)
        delta = times_integer(mse_output_grad(y, target), loss_scale)
        for k, layer in reversed(list(enumerate(self.layers))):
            delta = yield from layer.backward(delta, grads, input_grad=k > 0)
        return y


class SecureLSTMForecaster:
    """LSTM(F -> H) -> LSTM(H -> H) -> h_T -> Dense(H -> D) -> Dense(D -> 1).

    Parameters
    ----------
    params : dict of str -> SharedTensor
        Named as :func:`forecaster_shapes`.
    activations : dict
        ``gate``, ``cell``, ``hidden``, ``output``.
    cell : {"standard", "linear"}
    bounds : mpc.training.precision.PublicBounds
    """

    def __init__(self, params: dict, activations: dict, cell: str, bounds):
        self.params = params
        lstm_acts = {"gate": activations["gate"], "cell": activations["cell"]}
        self.lstm1 = SecureLSTM(params, "lstm1", lstm_acts, cell, bounds)
        self.lstm2 = SecureLSTM(params, "lstm2", lstm_acts, cell, bounds)
        self.dense1 = SecureDense(params, "dense1", activations["hidden"], bounds)
        self.dense2 = SecureDense(params, "dense2", activations["output"], bounds)

    def _head(self, h2: list, steps: int, target, grads, d_h2: dict, loss_scale: int):
        while len(h2) < steps:
            yield []
        y = yield from self.dense2.forward((yield from self.dense1.forward(h2[-1])))
        if target is None:
            return y
        d_a1 = yield from self.dense2.backward(times_integer(mse_output_grad(y, target), loss_scale), grads)
        d_h2[steps - 1] = yield from self.dense1.backward(d_a1, grads)
        return y

    @staticmethod
    def _layer(lstm, xs, steps, out, training, d_hidden=None, grads=None, every_step=False, d_input=None):
        yield from lstm.forward(xs, steps, out, training)
        if training:
            yield from lstm.backward(d_hidden, grads, every_step, d_input)

    def _step(self, x, target, grads, loss_scale=1):
        xs = list(x) if isinstance(x, list) else [x[:, t] for t in range(x.shape[1])]
        steps = len(xs)
        h1, h2, d_h2, d_h1 = [], [], {}, {}
        training = target is not None
        return drive(self._layer(self.lstm1, xs, steps, h1, training, d_h1, grads, True),
                     self._layer(self.lstm2, h1, steps, h2, training, d_h2, grads, False, d_h1),
                     self._head(h2, steps, target, grads, d_h2, loss_scale))[2]

    def predict(self, x):
        """Forecasts (batch, 1) of windows x (batch, time, features), or of the list of their T time steps
        (batch, features) each (runs its own rounds)."""
        return self._step(x, None, None)

    def gradients(self, x, target, grads: dict, loss_scale: int = 1):
        """``loss_scale`` times the gradients of sum_i 1/2 (y'_i - y_i)^2 into ``grads``; returns y'."""
        return self._step(x, target, grads, loss_scale)

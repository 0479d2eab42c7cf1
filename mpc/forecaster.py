"""Secure inference of the load forecaster: two LSTM layers and two dense layers on secret shares.

The model owner (party 0) shares the weights, the data owner (party 1) shares
the input windows and alone learns the forecasts.  The linear parts
u = x W + b are Beaver matrix products and local additions; the non-linear
parts are the registry polynomials the model was trained with
(:func:`mpc.polynomial.evaluate_many`), ``square`` or ``identity``.

Layout and rounds (2 parties, degree-3 activations, standard cell):

* the weights are masked and opened once per session (with their first
  product) and reused by every time step and every query;
* the input projections x_t W_ih of layer 1 for all steps, and the highway
  term, in the first round;
* the two layers pipelined: in slot k, layer 1 runs step k and layer 2 step
  k - 1, their gates of one kind in one round: the matrix products (1 round),
  the sigmoid gates and tanh candidate of both layers (2 rounds), s = f s' + i g
  (1), tanh(s) (2) and h = o tanh(s) (1): 7 rounds per slot, T + 1 slots;
* the dense layers (1 round each, plus the hidden activation), and the
  opening of the forecasts to the data owner (1).

Weights are named as :class:`nn.forecaster.Forecaster`'s parameters (gate
blocks in the order i, f, o, g; PyTorch's ``nn.LSTM`` uses i, f, g, o), given as plain arrays: this module
reads a model, it does not import ``nn``.
"""

from __future__ import annotations

import numpy as np

from approx.activations import PolynomialActivation
from approx.errors import ApproxError
from mpc.beaver import compute
from mpc.polynomial import evaluate_many
from mpc.encoder import EncodingError
from mpc.tensor import Session, SharedTensor

__all__ = ["SecureForecaster", "check_activations", "weight_bounds", "from_shares", "MODEL_OWNER", "DATA_OWNER"]

MODEL_OWNER, DATA_OWNER = 0, 1
FLAGS = {"gate": "--gate-activation", "cell": "--cell-activation", "hidden": "--hidden-activation",
         "output": "--output-activation"}


def check_activations(activations: dict) -> None:
    """Refuse an activation that is not a polynomial, naming its layer and the fix.

    Parameters
    ----------
    activations : dict of role -> approx.Activation
        Roles ``gate``, ``cell``, ``hidden``, ``output``.

    Raises
    ------
    ApproxError
        If one is neither a registry polynomial nor ``square`` / ``identity``.
    """
    for role, act in activations.items():
        if not (isinstance(act, PolynomialActivation) or act.name in ("square", "identity")):
            raise ApproxError(f"the {role} activation of this model is {act.name}, which secret sharing cannot "
                              f"evaluate with + and x only; retrain with {FLAGS[role]} square or a registry "
                              f"polynomial (approx fit --func {'sigmoid' if role == 'gate' else 'tanh'} --degree 3)")


def _apply(pairs: list) -> list:
    """Activations on tensors, polynomials of every pair together (their powers share rounds)."""
    out: list = [None] * len(pairs)
    poly = [k for k, (_, act) in enumerate(pairs) if isinstance(act, PolynomialActivation)]
    # the bounds assume the pre-activations inside the fitted intervals, as the training's domain monitor reports
    for k, value in zip(poly, evaluate_many([pairs[k] for k in poly], inside=True) if poly else []):
        out[k] = value
    squares = [k for k, (_, act) in enumerate(pairs) if act.name == "square"]
    for k, value in zip(squares, compute([("mul", pairs[k][0], pairs[k][0]) for k in squares]) if squares else []):
        out[k] = value
    return [pairs[k][0] if v is None else v for k, v in enumerate(out)]


class SecureForecaster:
    """The forecaster's weights shared by the model owner, ready to forecast shared windows.

    Parameters
    ----------
    session : Session
    config : dict
        The fields of ``nn.forecaster.ForecasterConfig`` (input_size, hidden_size,
        dense_size, cell, highway, highway_features, ...): public.
    activations : dict of role -> approx.Activation
        ``gate``, ``cell``, ``hidden``, ``output`` (see :func:`check_activations`).
    weights : dict of str -> ndarray, optional
        The model owner's parameters (``lstm1.weight_ih`` (F, 4H), ... ``dense2.bias``,
        ``highway.weight``); None in the other parties' processes.
    bounds : dict of str -> float
        A public bound on |w| of each parameter (the model owner publishes them).
    shares : list of dict of str -> ndarray, optional
        Instead of ``weights``: the shares of a model kept shared, one dict per party this process holds
        (in the order of its local parties), each array uint64 in Z_2^64 at ``shares_frac_bits``.
    shares_frac_bits : int, optional
        The fractional bits of ``shares``, at most the session's.

    Raises
    ------
    ApproxError
        If an activation is not a polynomial.
    """

    def __init__(self, session: Session, config: dict, activations: dict, weights: dict | None, bounds: dict,
                 shares: list | None = None, shares_frac_bits: int | None = None):
        check_activations(activations)
        self.session, self.config, self.act = session, config, activations
        if shares is not None:
            self.w = {name: from_shares(session, [held[name] for held in shares], shares_frac_bits, bounds[name],
                                        shape) for name, shape in self.shapes(config).items()}
            return
        mine = session.comm.position(MODEL_OWNER) is not None
        self.w = {name: session.share(weights[name] if mine else None, magnitude=bounds[name], owner=MODEL_OWNER,
                                      shape=shape)
                  for name, shape in self.shapes(config).items()}

    @staticmethod
    def shapes(config: dict) -> dict:
        """Name -> shape of every parameter, from the public configuration."""
        f, h, d = config["input_size"], config["hidden_size"], config["dense_size"]
        out = {"lstm1.weight_ih": (f, 4 * h), "lstm1.weight_hh": (h, 4 * h), "lstm1.bias": (4 * h,),
               "lstm2.weight_ih": (h, 4 * h), "lstm2.weight_hh": (h, 4 * h), "lstm2.bias": (4 * h,),
               "dense1.weight": (h, d), "dense1.bias": (d,), "dense2.weight": (d, 1), "dense2.bias": (1,)}
        if config.get("highway"):
            out.update({"highway.weight": (config["highway"] * len(config["highway_features"]), 1),
                        "highway.bias": (1,)})
        return out

    def forecast(self, x: np.ndarray | None, shape: tuple, magnitude: float) -> np.ndarray | None:
        """Forecasts of a batch of windows, opened to the data owner only.

        Parameters
        ----------
        x : ndarray, shape (batch, time, input_size), or None
            The windows, in the data owner's process (None elsewhere).
        shape : tuple
            (batch, time, input_size): public.
        magnitude : float
            A public bound on |x|.

        Returns
        -------
        ndarray, shape (batch,), normalised forecasts, in the data owner's process; None elsewhere.
        """
        s, w, cfg = self.session, self.w, self.config
        batch, steps, features = shape
        h = cfg["hidden_size"]
        xs = s.share(x if s.comm.position(DATA_OWNER) is not None else None, magnitude=magnitude, owner=DATA_OWNER,
                     shape=shape)
        first = [("matmul", xs.reshape((batch * steps, features)), w["lstm1.weight_ih"])]
        if cfg.get("highway"):
            q, cols = cfg["highway"], list(cfg["highway_features"])
            first.append(("matmul", xs[:, steps - q:, cols].reshape((batch, q * len(cols))), w["highway.weight"]))
        projected = compute(first)
        x_proj = projected[0].reshape((batch, steps, 4 * h))
        state = {1: (None, None), 2: (None, None)}  # (h, s) of each layer
        outputs_1 = []
        for slot in range(steps + 1):
            active = [layer for layer, ok in ((1, slot < steps), (2, slot >= 1)) if ok]
            # matrix products of both layers in one round
            requests, where = [], []
            for layer in active:
                prev_h = state[layer][0]
                if layer == 2:
                    requests.append(("matmul", outputs_1[slot - 1], w["lstm2.weight_ih"]))
                    where.append(2)
                if prev_h is not None:
                    requests.append(("matmul", prev_h, w[f"lstm{layer}.weight_hh"]))
                    where.append(layer)
            products = compute(requests) if requests else []
            z = {layer: (x_proj[:, slot] if layer == 1 else None) for layer in active}
            for layer, product in zip(where, products):
                z[layer] = product if z[layer] is None else z[layer] + product
            z = {layer: z[layer] + w[f"lstm{layer}.bias"] for layer in active}
            # gates (sigmoid) and candidate (tanh) of both layers: powers together
            pairs = []
            for layer in active:
                pairs += [(z[layer][:, :3 * h], self.act["gate"]), (z[layer][:, 3 * h:], self.act["cell"])]
            acts = _apply(pairs)
            gates = {layer: (acts[2 * n], acts[2 * n + 1]) for n, layer in enumerate(active)}
            # s = f s' + i g
            requests, where = [], []
            for layer in active:
                sig, g = gates[layer]
                requests.append(("mul", sig[:, :h], g))
                where.append(layer)
                if state[layer][1] is not None:
                    requests.append(("mul", sig[:, h:2 * h], state[layer][1]))
                    where.append(layer)
            cell = {}
            for layer, product in zip(where, compute(requests)):
                cell[layer] = product if layer not in cell else cell[layer] + product
            # h = o tanh(s) (standard) or o s (linear)
            if cfg["cell"] == "standard":
                squashed = dict(zip(active, _apply([(cell[layer], self.act["cell"]) for layer in active])))
            else:
                squashed = cell
            hidden = compute([("mul", gates[layer][0][:, 2 * h:], squashed[layer]) for layer in active])
            for layer, value in zip(active, hidden):
                state[layer] = (value, cell[layer])
            if 1 in active:
                outputs_1.append(state[1][0])
        (u1,) = compute([("matmul", state[2][0], w["dense1.weight"])])
        (a1,) = _apply([(u1 + w["dense1.bias"], self.act["hidden"])])
        (u2,) = compute([("matmul", a1, w["dense2.weight"])])
        (y,) = _apply([(u2 + w["dense2.bias"], self.act["output"])])
        if cfg.get("highway"):
            y = y + projected[1] + w["highway.bias"]
        out = y.reveal(to=DATA_OWNER)
        return None if out is None else out[:, 0]


def from_shares(session: Session, shares: list, frac_bits: int, bound: float, shape: tuple) -> SharedTensor:
    """A shared tensor from shares the parties already hold (one array per local party, uint64, ``frac_bits``
    fractional bits): each share shifted left to the session's fractional bits (local and exact: the sum of the
    shifted shares is the shifted sum modulo 2^64).

    Raises
    ------
    EncodingError
        If a share has another shape, or more fractional bits than the session.
    """
    f = session.encoder.frac_bits
    if frac_bits > f:
        raise EncodingError(f"shares with {frac_bits} fractional bits cannot be used at {f}")
    if any(np.shape(s) != tuple(shape) for s in shares):
        raise EncodingError(f"a share of shape {np.shape(shares[0])} where the model needs {tuple(shape)}")
    session.started = True
    held = np.stack([np.asarray(s, dtype=np.uint64) for s in shares]) << np.uint64(f - frac_bits)
    # the bounds of a weight shared from a float (half a unit of rounding): the same as the plan's probe took
    return SharedTensor(session, held, bound + session.ulp / 2, session.ulp / 2)


def weight_bounds(weights: dict) -> dict:
    """The public bounds the model owner publishes: max |w| of each parameter (at least 2^-16)."""
    return {name: max(float(np.max(np.abs(value))), 2.0**-16) for name, value in weights.items()}

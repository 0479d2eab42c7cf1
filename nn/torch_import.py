"""A forecaster from a PyTorch state dict: ``nn.LSTM(num_layers=2)`` and an ``nn.Linear`` head, saved with safetensors.

The PyTorch model this reads is, in PyTorch's terms::

    lstm = torch.nn.LSTM(input_size, hidden_size, num_layers=2, batch_first=True)
    head = torch.nn.Linear(hidden_size, 1)                      # one Linear, or two:
    head = torch.nn.Sequential(torch.nn.Linear(hidden_size, dense_size), torch.nn.ReLU(),
                               torch.nn.Linear(dense_size, 1))
    forecast = head(lstm(x)[0][:, -1])                          # the last step's hidden state

saved with ``safetensors.torch.save_file(model.state_dict(), path)``.  The keys are found by
their PyTorch names whatever the modules are called: ``PREFIXweight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0`` and the same for layer 1, and each Linear's ``PREFIX.weight``
(out, in) and ``PREFIX.bias`` (out,).  What the state dict cannot say is given as arguments:
the activations (PyTorch's sigmoid and tanh by default, or registry polynomials to run the
model on secret shares) and, for a two-Linear head, the activation between the Linear layers.

The conversion (PyTorch's ``nn.LSTM`` documentation gives its recurrence):

- PyTorch stacks the gate blocks of ``weight_ih``, ``weight_hh`` and the biases as i, f, g, o;
  ours (:mod:`nn.lstm`) are i, f, o, g: the g and o blocks are swapped, and the matrices
  transposed (ours multiply from the right, ``x W``);
- PyTorch adds two biases, ``b_ih + b_hh``; ours is their sum;
- a Linear's ``weight`` (out, in) is our Dense ``weight`` transposed; a one-Linear head becomes
  our first dense layer as the identity (dense size = hidden size, identity activation) and the
  Linear as the second, which computes the same function.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from approx.errors import ApproxError

__all__ = ["read_state_dict", "forecaster_from_state_dict", "StateDictError", "DTYPES"]

DTYPES = {"F32": np.float32, "F64": np.float64}
"""The safetensors dtypes accepted (PyTorch's float32 and float64)."""

_LSTM_KEY = re.compile(r"^(?P<prefix>.*?)(?P<name>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(?P<layer>\d+)"
                       r"(?P<reverse>_reverse)?$")


class StateDictError(ApproxError):
    """A state dict that is not a two-layer ``nn.LSTM`` with an ``nn.Linear`` head (a key, shape or dtype named)."""


def read_state_dict(path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file as float arrays, their dtypes checked before any is read.

    Parameters
    ----------
    path : str or Path
        A file written by ``safetensors.torch.save_file`` (or ``safetensors.numpy.save_file``).

    Returns
    -------
    dict of str -> ndarray
        Key -> array, float32 or float64 as stored.

    Raises
    ------
    StateDictError
        If the file is missing or not a safetensors file, or a tensor is not float32 or float64.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise StateDictError(f"no safetensors file {path}" + (" (it is a directory)" if path.is_dir() else ""))
    try:
        with safe_open(str(path), framework="numpy") as fh:
            keys = list(fh.keys())
            for key in keys:
                dtype = fh.get_slice(key).get_dtype()
                if dtype not in DTYPES:
                    raise StateDictError(f"{path}: tensor {key} is {dtype}; only float32 and float64 (F32, F64) "
                                         "are read -- save the model after model.float() or model.double()")
            return {key: fh.get_tensor(key) for key in keys}
    except (SafetensorError, OSError, ValueError) as exc:
        raise StateDictError(f"{path} is not a safetensors file ({' '.join(str(exc).split())})") from None


def _shape(state: dict, key: str, shape: tuple) -> np.ndarray:
    value = state[key]
    if value.shape != shape:
        raise StateDictError(f"{key} has shape {tuple(value.shape)}, expected {shape}")
    return value


def _ours(rows: np.ndarray) -> np.ndarray:
    """PyTorch's gate blocks i, f, g, o along axis 0 -> ours, i, f, o, g."""
    i, f, g, o = np.split(rows, 4, axis=0)
    return np.concatenate([i, f, o, g], axis=0)


def _lstm_layers(state: dict) -> tuple[str, set]:
    """The LSTM's key prefix and its keys; refuses a bidirectional, projected or other than two-layer LSTM."""
    found = {key: _LSTM_KEY.match(key) for key in state}
    lstm = {key: m for key, m in found.items() if m}
    if not lstm:
        raise StateDictError("no nn.LSTM in the state dict (no key ending in weight_ih_l0)")
    prefixes = {m["prefix"] for m in lstm.values()}
    if len(prefixes) > 1:
        raise StateDictError(f"more than one nn.LSTM in the state dict ({', '.join(sorted(prefixes))})")
    if any(m["reverse"] for m in lstm.values()):
        raise StateDictError("the nn.LSTM is bidirectional; the forecaster's LSTM layers run forward only")
    if any(m["name"] == "weight_hr" for m in lstm.values()):
        raise StateDictError("the nn.LSTM has a projection (proj_size > 0); the forecaster's has none")
    layers = sorted({int(m["layer"]) for m in lstm.values()})
    if layers != [0, 1]:
        raise StateDictError(f"the nn.LSTM has {len(layers)} layer(s) (num_layers={len(layers)}); the forecaster "
                             "has two stacked LSTM layers: num_layers=2")
    return prefixes.pop(), set(lstm)


def _natural(text: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _linear_layers(state: dict, rest: list, hidden: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The head's Linear layers in order as (weight (out, in), bias (out,)), chained from ``hidden`` to 1."""
    groups = {}
    for key in rest:
        prefix, dot, name = key.rpartition(".")
        if not dot or name not in ("weight", "bias"):
            raise StateDictError(f"unexpected key {key}: the state dict holds an nn.LSTM and nn.Linear layers only")
        groups.setdefault(prefix, {})[name] = state[key]
    linears = []
    for prefix in sorted(groups, key=_natural):
        weight, bias = groups[prefix].get("weight"), groups[prefix].get("bias")
        if weight is None or weight.ndim != 2:
            raise StateDictError(f"{prefix}: not an nn.Linear (a 2-D {prefix}.weight is needed)")
        if bias is None:
            bias = np.zeros(weight.shape[0], dtype=weight.dtype)  # nn.Linear(bias=False)
        elif bias.shape != (weight.shape[0],):
            raise StateDictError(f"{prefix}.bias has shape {tuple(bias.shape)}, expected ({weight.shape[0]},)")
        linears.append((prefix, weight, bias))
    if len(linears) not in (1, 2):
        raise StateDictError(f"the head has {len(linears)} nn.Linear layers; the forecaster reads one "
                             "(hidden -> 1) or two (hidden -> dense -> 1)")
    for order in (linears, linears[::-1]):
        sizes = [hidden] + [w.shape[0] for _, w, _ in order]
        if all(w.shape[1] == sizes[k] for k, (_, w, _) in enumerate(order)) and sizes[-1] == 1:
            return [(w, b) for _, w, b in order]
    shapes = ", ".join(f"{p}.weight {tuple(w.shape)}" for p, w, _ in linears)
    raise StateDictError(f"the nn.Linear head does not map the LSTM's {hidden} hidden units to 1 output ({shapes}; "
                         "nn.Linear weights are (out, in))")


def forecaster_from_state_dict(state: dict, *, gate_activation: str = "sigmoid", cell_activation: str = "tanh",
                               hidden_activation: str = "relu", output_activation: str = "identity",
                               registry=None, dtype: str | None = None):
    """The :class:`nn.forecaster.Forecaster` that computes what a PyTorch ``nn.LSTM`` + ``nn.Linear`` head computes.

    Parameters
    ----------
    state : dict of str -> ndarray
        The state dict (:func:`read_state_dict`, or ``{k: v.numpy() for k, v in model.state_dict().items()}``).
    gate_activation, cell_activation : str
        Registry names for the i, f, o gates and for the candidate and cell state (PyTorch's sigmoid and
        tanh by default; polynomials of the registry to run the model on shares).
    hidden_activation : str
        With a two-Linear head, the activation between the Linear layers (ignored with one Linear).
    output_activation : str
        The activation after the last Linear (none, ``identity``, by default).
    registry : str or approx.Registry, optional
    dtype : {"float32", "float64"}, optional
        The forecaster's floating-point type (default: nn's).

    Returns
    -------
    Forecaster
        ``input_size``, ``hidden_size`` and ``dense_size`` read from the shapes.

    Raises
    ------
    StateDictError
        If a key is unexpected or missing, or a shape does not fit the others (the key is named).
    approx.errors.UnknownNameError
        If an activation is not in the registry.
    """
    from nn.dtypes import DEFAULT_DTYPE
    from nn.forecaster import Forecaster, ForecasterConfig

    prefix, lstm_keys = _lstm_layers(state)
    missing = [prefix + f"{name}_l{k}" for k in (0, 1) for name in ("weight_ih", "weight_hh")
               if prefix + f"{name}_l{k}" not in state]
    if missing:
        raise StateDictError(f"the state dict has no {missing[0]}")
    w_ih0 = state[prefix + "weight_ih_l0"]
    if w_ih0.ndim != 2 or w_ih0.shape[0] % 4:
        raise StateDictError(f"{prefix}weight_ih_l0 has shape {tuple(w_ih0.shape)}, expected (4 hidden, input)")
    hidden, inputs = w_ih0.shape[0] // 4, w_ih0.shape[1]
    linears = _linear_layers(state, [k for k in state if k not in lstm_keys], hidden)
    if len(linears) == 1:
        dense_size, hidden_activation = hidden, "identity"
        linears = [(np.eye(hidden, dtype=linears[0][0].dtype), np.zeros(hidden, dtype=linears[0][0].dtype)),
                   linears[0]]
    else:
        dense_size = linears[0][0].shape[0]
    config = ForecasterConfig(inputs, hidden, dense_size, gate_activation, cell_activation, "standard",
                              hidden_activation, output_activation, dtype=dtype or DEFAULT_DTYPE)
    model = Forecaster(config, registry=registry)
    for k, layer in enumerate(("lstm1", "lstm2")):
        size_in = inputs if k == 0 else hidden
        weight_ih = _shape(state, prefix + f"weight_ih_l{k}", (4 * hidden, size_in))
        weight_hh = _shape(state, prefix + f"weight_hh_l{k}", (4 * hidden, hidden))
        bias = sum((_shape(state, prefix + f"{name}_l{k}", (4 * hidden,)) for name in ("bias_ih", "bias_hh")
                    if prefix + f"{name}_l{k}" in state), np.zeros(4 * hidden))
        params = model.layers[layer].params
        params["weight_ih"][...] = _ours(weight_ih).T
        params["weight_hh"][...] = _ours(weight_hh).T
        params["bias"][...] = _ours(bias)
    for layer, (weight, bias) in zip(("dense1", "dense2"), linears):
        model.layers[layer].params["weight"][...] = weight.T
        model.layers[layer].params["bias"][...] = bias
    return model

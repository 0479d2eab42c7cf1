"""Closed-form costs of one training step (2 parties, dealer-assisted): what the schedules of
:mod:`mpc.training` send and how many rounds they take, with either truncation.

The floor counts, for a dealer-assisted protocol evaluating the same circuit
with the same truncation, every secret operand of a product opened once (8
bytes per element sent by each party: a Beaver opening of x - a) and, with
the dealer's truncation, every truncated element opened once (8 bytes per
element: c = x + 2^62 + r) and one more opening on the critical path per
truncation; local truncation, the additions, the products with public
integers and (local mode) the update W <- W - (lr / B) dW cost nothing.
Rounds are openings on the critical path.  The training data is the
exception: it is masked and opened once per run, before the first step (the
set-up, :func:`setup_cost`; SecureML section 4.2), and a step reuses the
opened rows of its batch, so a step's floor counts every *other* secret
operand -- the weights, the activations, the deltas -- opened once per step
(``masked_data=False`` gives the floor of the circuit that opens each batch in
its step).  The formulas hold for odd degree-3 polynomial activations (t and
t^2 opened, t^3 computed but never opened); the tests check them against the
measured counts.

Truncated elements (what dealer mode opens on top of the Beaver openings):
every product, every t = scale z + shift whose scale is not an integer, every
polynomial's value, every slope combination d p'(z) (one product and one
combination per slope of an odd cubic), and, with ``update``, every parameter
twice (lr / (B S) c applied as (c 2^k) 2^-k, :func:`mpc.training.rounds.scale`,
for c < 1/2).
"""

from __future__ import annotations

import math

__all__ = ["mlp_step_cost", "forecaster_step_cost", "setup_cost"]

_MODES = ("local", "dealer")


def _check(truncation: str) -> None:
    if truncation not in _MODES:
        raise ValueError(f"unknown truncation {truncation!r}: choose local or dealer")


def setup_cost(*shapes) -> dict:
    """Rounds and bytes per party of masking and opening the data once, before the first step.

    Parameters
    ----------
    *shapes : tuple
        The shapes of the matrices opened (training, validation and test samples): all in one round,
        8 bytes per element per party.

    Returns
    -------
    dict with ``rounds`` and ``bytes_per_party``
    """
    return {"rounds": 1 if shapes else 0, "bytes_per_party": 8 * sum(math.prod(shape) for shape in shapes)}


def mlp_step_cost(sizes: tuple, batch: int, truncation: str = "local", exact_scale: bool = False,
                  update: bool = False, *, masked_data: bool = True) -> dict:
    """Rounds and bytes per party of one SGD step of an MLP with polynomial activations on every layer.

    Per layer n_in -> n_out, forward: its input (B n_in; not for the first layer when the data was
    masked once at set-up, ``masked_data``) and W (n_in n_out) in one round, then t and t^2 (2 B n_out,
    2 rounds); backward: dL/da (B n_out; its products with t and t^2 make
    dL/da p'(z)), then dz (B n_out; dL/dW = x^T dz and dL/dx = dz W^T in one round): 2 rounds.
    Local truncation: 5 rounds per layer.  Dealer truncation truncates, per layer, x W, t (unless
    ``exact_scale``), t^2, t^3 and p (B n_out each), dL/da t^2 and the slope combination (B n_out each),
    dL/dW (n_in n_out) and dL/dx (B n_in, not for the first layer), each with one opening more: 13 rounds
    per layer (12 with ``exact_scale``), and 2 more for the update (``update``).

    Parameters
    ----------
    sizes : tuple of int
    batch : int
    truncation : {"local", "dealer"}
    exact_scale : bool
        The activation's scale is an integer (e.g. an interval [-1, 1]): t needs no truncation.
    update : bool
        Include the SGD update (free with local truncation).
    masked_data : bool
        The batch is rows of data masked and opened once at set-up (:func:`setup_cost`): not opened here.

    Returns
    -------
    dict with ``rounds``, ``floor_rounds``, ``bytes_per_party`` and ``truncated`` (elements)
    """
    _check(truncation)
    layers = list(zip(sizes, sizes[1:]))
    elements = sum(batch * n_in + n_in * n_out + 4 * batch * n_out for n_in, n_out in layers)
    if masked_data:
        elements -= batch * sizes[0]
    if truncation == "local":
        return {"rounds": 5 * len(layers), "floor_rounds": 5 * len(layers), "bytes_per_party": 8 * elements,
                "truncated": 0}
    per_output = 6 if exact_scale else 7
    truncated = sum(per_output * batch * n_out + n_in * n_out + (batch * n_in if k else 0)
                    for k, (n_in, n_out) in enumerate(layers))
    rounds = (12 if exact_scale else 13) * len(layers)
    if update:
        truncated += 2 * sum(n_in * n_out + n_out for n_in, n_out in layers)
        rounds += 2
    return {"rounds": rounds, "floor_rounds": rounds, "bytes_per_party": 8 * (elements + truncated),
            "truncated": truncated}


def forecaster_step_cost(batch: int, steps: int, input_size: int, hidden_size: int, dense_size: int,
                         cell: str, truncation: str = "local", exact_scales: tuple = (),
                         update: bool = False, *, masked_data: bool = True) -> dict:
    """Rounds and bytes per party of one SGD step of the forecaster (square hidden layer, identity output).

    Per LSTM layer and time step, in units of u = B H elements, the forward pass opens h (1), t and t^2
    of the four gates (8), i, g and f (3), o and s or the cell output (2), the gate-slope products
    G_i, G_g, G_f (3; the slopes themselves stay in terms of t^2), and for the standard cell s_(t-1),
    t and t^2 of the cell state and Q = o p'(s) (4); the backward pass opens dL/dh (1), ds' (1), the
    five prepared products (5) and dz (4).  Per step: 28 u (linear cell), 32 u (standard), less the
    first step's f, G_f, ds', QG_f, QF (and s_(t-1)).  Also the weights (W_hh from T = 2 on), the
    windows (B T F; not when the data was masked once at set-up, ``masked_data``) and the dense head (H D + D + 4 B D + B).  Rounds with local truncation: 5
    (linear) or 7 (standard) per forward slot of the two pipelined layers over T + 1 slots, 2 per
    backward step over T + 1, and 6 for the head, plus one drain round.

    Dealer truncation also opens every truncated element.  Per layer and step the forward pass
    truncates the products x W_ih and h W_hh (8 u), t of the gates (3 u) and of the candidate (u; none
    for a cell activation with an integer scale), t^2, t^3 and the value of the four activations
    (12 u), the slope combinations G_i, G_g, G_f and A_o (a product and a combination each, 8 u), the
    products i g, f s', o s (3 u) and QG_i, QG_g, QG_f, QF (4 u), and the standard cell's t, t^2, t^3,
    value (4 u) and Q (2 u); the first step has no h W_hh, f s', G_f, QG_f, QF (9 u fewer).  The
    backward pass: 9 u of elementwise products per step (5 u at the first and last), the weight
    gradients x^T dz (4 H n, n the layer's input size) and h^T dz (4 H^2, from the second step), and dz
    W_hh^T (u) and the second layer's dz W_ih^T (u).  The head: 5 B D + B + D + H D + B H.  Its floor
    takes 12 (linear) or 18 (standard) rounds per forward slot, 4 per backward step, 13 for the head;
    the schedule takes 22 T + 29 (linear) or 30 T + 33 (standard) rounds, above the floor because the
    two pipelined layers truncate their gates and slopes in rounds of their own.  A t that needs no
    truncation (the gates' and candidate's when both scales are exact; the standard cell state's when
    the cell's is) saves one round per slot of the floor (T + 1) and 2 T of the schedule.  With
    ``update``, 2 rounds and two truncations of every parameter more.

    Parameters
    ----------
    truncation : {"local", "dealer"}
    exact_scales : tuple of str
        Roles (``"gate"``, ``"cell"``) whose activation has an integer scale (an interval [-1, 1]):
        their t needs no truncation.
    update : bool
        Include the SGD update (free with local truncation).
    masked_data : bool
        The windows are rows of data masked and opened once at set-up (:func:`setup_cost`): not opened here.

    Returns
    -------
    dict with ``rounds``, ``floor_rounds``, ``bytes_per_party`` and ``truncated`` (elements)

    Raises
    ------
    ValueError
        For fewer than 2 time steps, an unknown cell or truncation.
    """
    _check(truncation)
    if steps < 2 or cell not in ("standard", "linear"):
        raise ValueError("the formula covers T >= 2 steps and the standard or linear cell")
    b, t, f, h, d = batch, steps, input_size, hidden_size, dense_size
    per_layer = (28 * t - 5) if cell == "linear" else (32 * t - 6)
    weights = 4 * h * (f + h) + 4 * h * (h + h)
    elements = 2 * per_layer * b * h + weights + (0 if masked_data else t * b * f) + h * d + d + 4 * b * d + b
    if truncation == "local":
        rounds = 7 * t + 14 if cell == "linear" else 9 * t + 16
        return {"rounds": rounds, "floor_rounds": rounds - 1, "bytes_per_party": 8 * elements, "truncated": 0}
    u = b * h
    forward = 39 * t - 9 - (3 * t if "gate" in exact_scales else 0) - (t if "cell" in exact_scales else 0)
    if cell == "standard":
        forward += 6 * t - (t if "cell" in exact_scales else 0)
    elementwise = 9 * t - 8
    recurrent = (t - 1) * (4 * h * h + u)
    truncated = (2 * (forward + elementwise) * u + t * 4 * h * f + t * 4 * h * h + 2 * recurrent + t * u
                 + 5 * b * d + b + d + h * d + u)
    rounds, floor = (22 * t + 29, 16 * t + 29) if cell == "linear" else (30 * t + 33, 22 * t + 35)
    # a t that needs no truncation saves its round: the gates' and candidate's (all exact), the cell state's
    skipped = ({"gate", "cell"} <= set(exact_scales)) + (cell == "standard" and "cell" in exact_scales)
    rounds, floor = rounds - 2 * t * skipped, floor - (t + 1) * skipped
    if update:
        truncated += 2 * (weights + 8 * h + h * d + d + d + 1)
        rounds, floor = rounds + 2, floor + 2
    return {"rounds": rounds, "floor_rounds": floor, "bytes_per_party": 8 * (elements + truncated),
            "truncated": truncated}

"""Closed-form costs of one training step (2 parties, dealer-assisted): what the schedules of
:mod:`mpc.training` send and how many rounds they take.

The floor counts, for a dealer-assisted protocol evaluating the same circuit,
every secret operand of a product opened once: 8 bytes per element sent by
each party (a Beaver opening of x - a); local truncation (2 parties), the
additions and the update W <- W - (lr / B) dW cost nothing.  Rounds are
openings on the critical path.  The training data is the exception: it is
masked and opened once per run, before the first step (the set-up,
:func:`setup_cost`; SecureML section 4.2), and a step reuses the opened rows
of its batch, so a step's floor counts every *other* secret operand -- the
weights, the activations, the deltas -- opened once per step
(``masked_data=False`` gives the floor of the circuit that opens each batch
in its step).  The formulas hold for odd degree-3 polynomial activations (t
and t^2 opened, t^3 computed but never opened); the tests check them against
the measured counts.
"""

from __future__ import annotations

import math

__all__ = ["mlp_step_cost", "forecaster_step_cost", "setup_cost"]


def setup_cost(*shapes) -> dict:
    """Rounds and bytes per party of masking and opening the data once, before the first step.

    Parameters
    ----------
    *shapes : tuple
        The shapes of the matrices opened (training samples, validation samples): all in one round,
        8 bytes per element per party.

    Returns
    -------
    dict with ``rounds`` and ``bytes_per_party``
    """
    return {"rounds": 1 if shapes else 0, "bytes_per_party": 8 * sum(math.prod(shape) for shape in shapes)}


def mlp_step_cost(sizes: tuple, batch: int, masked_data: bool = True) -> dict:
    """Rounds and bytes per party of one SGD step of an MLP with polynomial activations on every layer.

    Per layer n_in -> n_out, forward: its input (B n_in; not for the first layer when the data was
    masked once at set-up) and W (n_in n_out) in one round, then t and t^2 (2 B n_out, 2 rounds);
    backward: dL/da (B n_out; its products with t and t^2 make dL/da p'(z)), then dz (B n_out;
    dL/dW = x^T dz and dL/dx = dz W^T in one round): 2 rounds.  Masking the data once saves bytes,
    not rounds (W is opened in the first round anyway).

    Returns
    -------
    dict with ``rounds`` and ``bytes_per_party``
    """
    elements = sum(batch * n_in + n_in * n_out + 4 * batch * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    if masked_data:
        elements -= batch * sizes[0]
    return {"rounds": 5 * (len(sizes) - 1), "bytes_per_party": 8 * elements}


def forecaster_step_cost(batch: int, steps: int, input_size: int, hidden_size: int, dense_size: int,
                         cell: str, masked_data: bool = True) -> dict:
    """Rounds and bytes per party of one SGD step of the forecaster (square hidden layer, identity output).

    Per LSTM layer and time step, in units of u = B H elements, the forward pass opens h (1), t and t^2
    of the four gates (8), i, g and f (3), o and s or the cell output (2), the gate-slope products
    G_i, G_g, G_f (3; the slopes themselves stay in terms of t^2), and for the standard cell s_(t-1),
    t and t^2 of the cell state and Q = o p'(s) (4); the backward pass opens dL/dh (1), ds' (1), the
    five prepared products (5) and dz (4).  Per step: 28 u (linear cell), 32 u (standard), less the
    first step's f, G_f, ds', QG_f, QF (and s_(t-1)).  Also the weights (W_hh from T = 2 on), the
    windows (B T F; not when the data was masked once at set-up) and the dense head (H D + D + 4 B D + B).  Rounds: 5 (linear) or 7 (standard)
    per forward slot of the two pipelined layers over T + 1 slots, 2 per backward step over T + 1,
    and 6 for the head, plus one drain round.

    Returns
    -------
    dict with ``rounds`` and ``bytes_per_party``

    Raises
    ------
    ValueError
        For fewer than 2 time steps or an unknown cell.
    """
    if steps < 2 or cell not in ("standard", "linear"):
        raise ValueError("the formula covers T >= 2 steps and the standard or linear cell")
    b, t, f, h, d = batch, steps, input_size, hidden_size, dense_size
    per_layer = (28 * t - 5) if cell == "linear" else (32 * t - 6)
    weights = 4 * h * (f + h) + 4 * h * (h + h)
    elements = 2 * per_layer * b * h + weights + (0 if masked_data else t * b * f) + h * d + d + 4 * b * d + b
    rounds = 7 * t + 14 if cell == "linear" else 9 * t + 16
    return {"rounds": rounds, "bytes_per_party": 8 * elements}

"""An LSTM layer on shares: forward over a sequence and backpropagation through time (BPTT).

Forward, per step t (gate blocks in the order i, f, o, g, as ``nn.lstm``; PyTorch's nn.LSTM uses i, f, g, o):

    z_t = x_t W_ih + h_(t-1) W_hh + b                  1 round (matrix products)
    i, f, o = p_sigma(z_t[:3H]),  g = p_tanh(z_t[3H:])  2 rounds (degree 3), slopes alongside
    s_t = i g + f s_(t-1)                              1 round
    h_t = o p_tanh(s_t)  (standard)  or  o s_t (linear) 3 rounds or 1

Backward, from dL/dh_t (given) and the recurrence, with the slopes p'(z):

    ds_t  = dh_t * Q_t + ds'_(t+1),       Q_t = o_t p_tanh'(s_t)  (standard), o_t (linear)
    ds'_t = ds_t * f_t                    (carried to step t - 1)
    dz_i = ds_t * g p_sigma'(z_i),  dz_f = ds_t * s_(t-1) p_sigma'(z_f),  dz_g = ds_t * i p_tanh'(z_g)
    dz_o = dh_t * c_t p_sigma'(z_o),      c_t = p_tanh(s_t) (standard), s_t (linear)
    dh_(t-1) += dz_t W_hh^T;  dW_ih += x_t^T dz_t;  dW_hh += h_(t-1)^T dz_t;  db += sum dz_t

(BPTT, Werbos 1990; the same recursion as ``nn.lstm``, which is
checked against finite differences).  Expanding ds_t into its two terms makes
every product of a step one of dh_t or ds'_(t+1) with a value the forward pass
prepared (``G_i = g p'(z_i)``, ``Q G_i``, ``Q f``, ...), so a backward step is
two rounds: the elementwise products, then the matrix products.  Those
prepared products ride along with the forward pass's own rounds (or the next
step's), so they add no round; the slopes enter them in terms of the powers
of t the gates opened (:class:`mpc.training.activations.SlopeTerms`:
g p'(z_i) = c_0 g + c_2 (g t_i^2) for a degree-3 sigmoid), so no slope is
ever opened.
"""

from __future__ import annotations

import numpy as np

from mpc.tensor import SharedTensor, concatenate
from mpc.training.activations import activate, truncated
from mpc.training.rounds import sum_rows

__all__ = ["SecureLSTM", "zeros_like"]


def zeros_like(x: SharedTensor) -> SharedTensor:
    """Shares of zero shaped as ``x`` (every share 0: a valid sharing, no communication)."""
    return SharedTensor(x.session, np.zeros_like(x.shares), 0.0, 0.0, x.depth)


class SecureLSTM:
    """One LSTM layer whose parameters live in a shared dict.

    Parameters
    ----------
    params : dict of str -> SharedTensor
        Reads ``{name}.weight_ih`` (in, 4H), ``{name}.weight_hh`` (H, 4H), ``{name}.bias`` (4H,).
    name : str
    activations : dict
        ``gate`` (sigmoid polynomial) and ``cell`` (tanh polynomial: candidate and, standard cell, cell state).
    cell : {"standard", "linear"}
    bounds : mpc.training.precision.PublicBounds
    """

    def __init__(self, params: dict, name: str, activations: dict, cell: str, bounds):
        if cell not in ("standard", "linear"):
            raise ValueError(f"unknown cell {cell!r}; choose standard or linear")
        self.params, self.name, self.act, self.cell, self.bounds = params, name, activations, cell, bounds
        self.hidden = params[f"{name}.weight_hh"].shape[0]
        self._side: list = []
        self._steps: list = []

    # -- products that ride along with the next round --------------------------------------
    def _ask(self, own: list):
        side, self._side = self._side, []
        products = yield own + [request for _, _, requests, _ in side for request in requests]
        start, items, where = len(own), [], []
        for store, key, requests, finish in side:
            value = finish(products[start:start + len(requests)])
            start += len(requests)
            if isinstance(value, SharedTensor):
                store[key] = value
            else:  # a slope's combination: truncated with the others at once (one round in dealer mode)
                items.append(value)
                where.append((store, key))
        for (store, key), value in zip(where, truncated(items) if items else []):
            store[key] = value
        return products[:len(own)]

    def _with_side(self, program):
        reply = None
        while True:
            try:
                own = program.send(reply)
            except StopIteration as stop:
                return stop.value
            reply = yield from self._ask(own)

    def _product(self, store: dict, key: str, x, y) -> None:
        """Queue store[key] = x * y for the next round (training only)."""
        if self._training:
            self._side.append((store, key, [("mul", x, y)], lambda products: products[0]))

    def _slope(self, store: dict, key: str, x, slope) -> None:
        """Queue store[key] = x * f'(z) for the next round, f'(z) as SlopeTerms (None: identity, slope 1)."""
        if self._training and slope is None:
            store[key] = x
        elif self._training:
            self._side.append((store, key, slope.requests(x), lambda products: slope.item(x, products)))

    # -- forward ------------------------------------------------------------------------------
    def forward(self, xs: list, steps: int, out: list, training: bool = True):
        """Round program: h_1..h_T appended to ``out``, reading x_t from ``xs`` as it fills.

        Parameters
        ----------
        xs : list of SharedTensor (batch, in)
            The inputs; may be filled by another program as it runs (this one waits).
        steps : int
            T.
        out : list
            Receives h_t (batch, H) as each is computed.
        training : bool
            Prepare the products the backward pass needs (False: inference only).
        """
        self._training = training
        H, p = self.hidden, self.params
        w_ih, w_hh, b = p[f"{self.name}.weight_ih"], p[f"{self.name}.weight_hh"], p[f"{self.name}.bias"]
        self._steps, self._weights = [], (w_ih, w_hh)
        h = s = None
        for t in range(steps):
            while len(xs) <= t:
                yield from self._ask([])
            x = xs[t]
            own = [("matmul", x, w_ih)] + ([("matmul", h, w_hh)] if h is not None else [])
            products = yield from self._ask(own)
            z = products[0] + products[1] + b if h is not None else products[0] + b
            gates = f"{self.name}.gates"
            (i, d_i), (f, d_f), (o, d_o), (g, d_g) = yield from self._with_side(activate(
                [(z[:, :H], self.act["gate"], gates), (z[:, H:2 * H], self.act["gate"], gates),
                 (z[:, 2 * H:3 * H], self.act["gate"], gates),
                 (z[:, 3 * H:], self.act["cell"], f"{self.name}.candidate")], self.bounds, slope_terms=True))
            c = {"x": x, "h_prev": h, "f": f}
            self._slope(c, "G_i", g, d_i)
            self._slope(c, "G_g", i, d_g)
            if s is not None:
                self._slope(c, "G_f", s, d_f)
            products = yield from self._ask([("mul", i, g)] + ([("mul", f, s)] if s is not None else []))
            s = products[0] + products[1] if len(products) == 2 else products[0]
            if self.cell == "standard":
                ((cell, d_cell),) = yield from self._with_side(activate(
                    [(s, self.act["cell"], f"{self.name}.cell")], self.bounds, slope_terms=True))
                self._slope(c, "Q", o, d_cell)
            else:
                cell = s
                c["Q"] = o
            self._slope(c, "A_o", cell, d_o)
            (h,) = yield from self._ask([("mul", o, cell)])
            if training:  # Q and the G's came with that round
                for key in ("G_i", "G_f", "G_g"):
                    if key in c:
                        self._product(c, "Q" + key, c["Q"], c[key])
                if t > 0:
                    self._product(c, "QF", c["Q"], f)
            self._steps.append(c)
            out.append(h)
        while self._side:  # the last step's prepared products
            yield from self._ask([])

    # -- backward -----------------------------------------------------------------------------
    def backward(self, d_hidden: dict, grads: dict, every_step: bool, d_input: dict | None = None):
        """Round program: BPTT over the cached forward pass.

        Parameters
        ----------
        d_hidden : dict of int -> SharedTensor (batch, H)
            dL/dh_t from above, by step; may be filled as this program runs
            (it waits for step t).
        grads : dict
            Receives ``{name}.weight_ih``, ``{name}.weight_hh``, ``{name}.bias``.
        every_step : bool
            Whether the loss reads every h_t (a layer below another: wait for
            each step's gradient), or only the last one (the others are zero).
        d_input : dict, optional
            If given, receives dL/dx_t by step (for the layer below).
        """
        input_grad = d_input is not None
        w_ih, w_hh = self._weights
        steps = len(self._steps)
        rec = ds_next = None
        g_ih = g_hh = g_b = None
        for t in range(steps - 1, -1, -1):
            while (every_step or t == steps - 1) and t not in d_hidden:
                yield []
            c = self._steps[t]
            dh = d_hidden.get(t)
            dh = self.bounds.cap_gradient(rec if dh is None else (dh if rec is None else dh + rec))
            requests = [("mul", dh, c["A_o"]), ("mul", dh, c["QG_i"]), ("mul", dh, c["QG_g"])]
            requests += [("mul", dh, c["QG_f"])] if t > 0 else []
            requests += [("mul", dh, c["QF"])] if t > 0 else []
            if ds_next is not None:
                requests += [("mul", ds_next, c["G_i"]), ("mul", ds_next, c["G_g"])]
                requests += [("mul", ds_next, c["G_f"]), ("mul", ds_next, c["f"])] if t > 0 else []
            products = yield requests
            dz_o, dz_i, dz_g = products[:3]
            dz_f = products[3] if t > 0 else zeros_like(dz_i)
            ds_here = products[4] if t > 0 else None
            if ds_next is not None:
                extra = products[5 if t > 0 else 3:]
                dz_i, dz_g = dz_i + extra[0], dz_g + extra[1]
                if t > 0:
                    dz_f, ds_here = dz_f + extra[2], ds_here + extra[3]
            ds_next = None if ds_here is None else self.bounds.cap_gradient(ds_here)
            dz = concatenate([dz_i, dz_f, dz_o, dz_g], axis=-1)
            requests = [("matmul_tn", c["x"], dz)]
            requests += [("matmul_nt", dz, w_ih)] if input_grad else []
            requests += [("matmul_tn", c["h_prev"], dz), ("matmul_nt", dz, w_hh)] if t > 0 else []
            products = yield requests
            g_ih = products[0] if g_ih is None else g_ih + products[0]
            g_b = sum_rows(dz) if g_b is None else g_b + sum_rows(dz)
            if input_grad:
                d_input[t] = products[1]
            if t > 0:
                g_hh = products[-2] if g_hh is None else g_hh + products[-2]
                rec = products[-1]
        grads[f"{self.name}.weight_ih"] = g_ih
        grads[f"{self.name}.weight_hh"] = g_hh if g_hh is not None else zeros_like(w_hh)
        grads[f"{self.name}.bias"] = g_b

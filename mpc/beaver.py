"""Beaver's multiplication of secret-shared tensors, with each operand masked once.

For z = x * y (elementwise) or z = x @ y: with masks a, b from the dealer,
e = x - a and f = y - b are opened, and

    z = c + e b + a f + e f        (c = a b, or A B; the e f term on party 0 only)

(Beaver, CRYPTO 1991; matrices as in SecureML, Mohassel & Zhang 2017; the same
algebra as CrypTen's ``crypten/mpc/primitives/beaver.py``).  A tensor keeps its
mask and opened e after the first product, so later products of it open
nothing new: a polynomial's t enters t^2 and t^3 with one opening, a network's
weights are opened once per inference session (once per step in training, as
they change).  :func:`open_masked` masks and opens a
tensor ahead of its products (the training data, once per run: SecureML,
Mohassel & Zhang 2017, section 4.2, "the data is masked once"), and a
selection of its rows keeps its mask and opening
(:meth:`mpc.tensor.SharedTensor.__getitem__`): the dealer forms the products
of the stored mask's rows, so a batch drawn from it opens nothing.  Every
product of one call shares one round (none if all operands were opened
before) and one truncation (local, or one more round with the dealer's
truncation).
"""

from __future__ import annotations

import numpy as np

from mpc.sharing import aligned
from mpc.truncation import truncate

__all__ = ["compute", "open_masked", "OPS"]

OPS = {"mul": np.multiply, "matmul": np.matmul,
       "matmul_tn": lambda x, y, out=None: np.matmul(np.swapaxes(x, -1, -2), y, out=out),  # x^T @ y
       "matmul_nt": lambda x, y, out=None: np.matmul(x, np.swapaxes(y, -1, -2), out=out)}  # x @ y^T
INNER_AXIS = {"mul": None, "matmul": -1, "matmul_tn": -2, "matmul_nt": -1}


def open_masked(*tensors) -> None:
    """Mask the tensors not opened yet with fresh dealer masks and open x - a, all in one round (none if every
    tensor was opened before).

    Afterwards every product of such a tensor, and of any selection of its rows,
    reuses this opening.  Called by :func:`compute` for its operands; call it
    directly to open a tensor ahead of its products, e.g. a data owner's whole
    training matrix before the first step, so that no batch drawn from it is
    opened again.  The opening is on the critical path of the first product of
    the tensor (``opened_depth``), not of the session until then: opened ahead
    of time, it can share the first round of the computation.

    Parameters
    ----------
    *tensors : SharedTensor
        Of one session (a tensor given twice is opened once).
    """
    fresh = []
    for t in tensors:
        if t.opened is None and all(t is not u for u in fresh):
            fresh.append(t)
    if not fresh:
        return
    s = fresh[0].session
    masks = [s.provider.mask(t.shape) for t in fresh]
    opened = s.comm.open(*(t.shares - m.shares for t, m in zip(fresh, masks)))
    for t, m, e in zip(fresh, masks, opened):
        m.bind(t)
        t.mask, t.opened, t.opened_depth = m, e, t.depth + 1
        s.costs.opening(e.size)


def compute(requests: list) -> list:
    """Products of shared tensors, all in at most one round.

    Parameters
    ----------
    requests : list of (op, x, y)
        ``op`` is ``"mul"`` (elementwise, numpy broadcasting), ``"matmul"``
        (numpy.matmul), ``"matmul_tn"`` (x^T @ y, the last two axes swapped: a
        weight gradient) or ``"matmul_nt"`` (x @ y^T: back-propagation through
        a weight matrix opened in the forward pass); x and y are SharedTensors
        of one session (the same tensor twice for a square).

    Returns
    -------
    list of SharedTensor, one per request
        Each with magnitude M_x M_y (times the inner dimension for matmul) and
        error k (M_x E_y + M_y E_x + E_x E_y) + 2^-f (k the inner dimension, 1
        elementwise; 2^-f for the truncation).  In dealer mode the truncation
        takes a second round (:mod:`mpc.truncation`).
    """
    x0 = requests[0][1]
    s, cls = x0.session, type(x0)
    open_masked(*(t for _, x, y in requests for t in (x, y)))
    corr = s.provider.products([(op, x.mask.handle, y.mask.handle) for op, x, y in requests]).consume()
    products, bounds = [], []
    for (op, x, y), z in zip(requests, corr):  # z starts as c: the correlation is used once, so in place
        fn = OPS[op]
        ndim = z.ndim - 1
        a_x, a_y = (aligned(x.mask.shares, ndim), aligned(y.mask.shares, ndim)) if op == "mul" else (
            x.mask.shares, y.mask.shares)
        term = fn(x.opened, a_y)
        z += term
        z += fn(a_x, y.opened, out=term) if term.shape == z.shape else fn(a_x, y.opened)
        s.comm.add_on_first_party(z, fn(x.opened, y.opened), out=z)
        inner = 1 if INNER_AXIS[op] is None else x.shape[INNER_AXIS[op]]
        s.costs.multiplied(int(np.prod(z.shape[1:], dtype=np.int64)) * inner)
        products.append(z)
        bounds.append((inner * x.magnitude * y.magnitude,
                       inner * (x.magnitude * y.error + y.magnitude * x.error + x.error * y.error),
                       max(x.opened_depth, y.opened_depth)))
    out = []
    for b in bounds:
        s.costs.reached(b[2])
    truncated = truncate(s, products, [b[0] for b in bounds], max(b[2] for b in bounds))
    for shares, (magnitude, error, depth) in zip(truncated, bounds):
        out.append(cls(s, shares, magnitude + s.ulp, error + s.ulp, depth + s.truncation_depth))
    return out

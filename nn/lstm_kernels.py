"""Compiled (numba) time loops of the LSTM: the recurrence, fused per step.

numpy spends most of a small LSTM's time in per-call overhead: a step is a
dozen tiny array operations.  These kernels run the whole sequence in one
call -- the recurrent product h_{t-1} W_hh through BLAS (``np.dot``), the gate
activations, the cell update and, backwards, the BPTT recursion -- elementwise
in compiled loops.  The formulas are those of :mod:`nn.lstm`.

An activation reaches a kernel packed in a float64 array (:func:`pack`):
``[kind, derivative, scale, shift, lo, hi, clip, n, a_0 .. a_(n-1)]`` where
kind is POLY (power coefficients a_k in t = scale z + shift), SIGMOID, TANH,
RELU or SWISH, and derivative is 0 (the function's own derivative), 1
(y (1 - y)) or 2 (1 - y^2).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from approx.errors import ApproxError

__all__ = ["pack", "forward", "backward"]

POLY, SIGMOID, TANH, RELU, SWISH = 0.0, 1.0, 2.0, 3.0, 4.0
_EXACT = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "swish": SWISH}
_OUTPUT = {None: 0.0, "sigmoid": 1.0, "tanh": 2.0}
_HEADER = 8


def pack(activation) -> np.ndarray:
    """Pack a :class:`nn.activation.LayerActivation` for the kernels.

    Raises
    ------
    ApproxError
        For an activation that is neither a polynomial nor sigmoid, tanh, relu or swish.
    """
    act = activation.activation
    lo, hi = activation.interval if activation.interval is not None else (-np.inf, np.inf)
    clip = 1.0 if (activation.clip and activation.interval is not None) else 0.0
    output = _OUTPUT[activation.output_form_name]
    if getattr(act, "approximation", None) is not None:
        return np.concatenate([[POLY, output, act.scale, act.shift, lo, hi, clip, act.power_coef.size], act.power_coef])
    if act.coefficients is not None:  # identity, square: monomials in x
        coef = np.asarray(act.coefficients, dtype=np.float64)
        return np.concatenate([[POLY, output, 1.0, 0.0, lo, hi, clip, coef.size], coef])
    if act.name in _EXACT:
        return np.array([_EXACT[act.name], output, 1.0, 0.0, lo, hi, clip, 0.0])
    raise ApproxError(f"LSTM gates take polynomial, sigmoid, tanh, relu or swish activations, not {act.name!r}")


@numba.njit(cache=True)
def _apply(p, z2, out2):
    """out[r, i] = f(z[r, i]) for 2-D arrays; the kind is dispatched once, the row loops vectorise."""
    kind, clip, lo, hi = p[0], p[6] != 0.0, p[4], p[5]
    n, scale, shift = int(p[7]), p[2], p[3]
    for r in range(z2.shape[0]):
        z, out = z2[r], out2[r]
        m = z.size
        if kind == POLY:
            for i in range(m):
                out[i] = p[_HEADER + n - 1]
            for k in range(n - 2, -1, -1):
                a = p[_HEADER + k]
                if clip:
                    for i in range(m):
                        out[i] = out[i] * (min(max(z[i], lo), hi) * scale + shift) + a
                else:
                    for i in range(m):
                        out[i] = out[i] * (z[i] * scale + shift) + a
        elif kind == SIGMOID:
            for i in range(m):
                out[i] = 0.5 * math.tanh(0.5 * z[i]) + 0.5
        elif kind == TANH:
            for i in range(m):
                out[i] = math.tanh(z[i])
        elif kind == RELU:
            for i in range(m):
                out[i] = max(z[i], 0.0)
        else:
            for i in range(m):
                out[i] = z[i] * (0.5 * math.tanh(0.5 * z[i]) + 0.5)


@numba.njit(cache=True)
def _apply_slope(p, z2, y2, out2):
    """out[r, i] = dy/dz at z[r, i] with output y[r, i] (2-D arrays), as the packed derivative mode says."""
    for r in range(z2.shape[0]):
        _slope_row(p, z2[r], y2[r], out2[r])


@numba.njit(cache=True, inline="always")
def _slope_row(p, z, y, out):
    m = z.size
    kind, mode = p[0], p[1]
    if mode == 1.0 or (mode == 0.0 and kind == SIGMOID):
        for i in range(m):
            out[i] = y[i] * (1.0 - y[i])
    elif mode == 2.0 or (mode == 0.0 and kind == TANH):
        for i in range(m):
            out[i] = 1.0 - y[i] * y[i]
    elif kind == POLY:
        n, scale, shift, lo, hi = int(p[7]), p[2], p[3], p[4], p[5]
        top = (n - 1) * p[_HEADER + n - 1] if n > 1 else 0.0
        for i in range(m):
            out[i] = top
        for k in range(n - 2, 0, -1):
            a = k * p[_HEADER + k]
            if p[6] != 0.0:
                for i in range(m):
                    out[i] = out[i] * (min(max(z[i], lo), hi) * scale + shift) + a
            else:
                for i in range(m):
                    out[i] = out[i] * (z[i] * scale + shift) + a
        for i in range(m):
            out[i] *= scale
    elif kind == RELU:
        for i in range(m):
            out[i] = 1.0 if z[i] > 0.0 else 0.0
    else:
        for i in range(m):
            s = 0.5 * math.tanh(0.5 * z[i]) + 0.5
            out[i] = s + z[i] * s * (1.0 - s)
    if p[6] != 0.0:
        for i in range(m):
            if z[i] < p[4] or z[i] > p[5]:
                out[i] = 0.0


@numba.njit(cache=True)
def forward(z_all, w_hh, gate, cand, cell, standard):
    """Run the recurrence over a sequence, time-major.

    Parameters
    ----------
    z_all : ndarray (T, n, 4H)
        x_t W_ih + b on entry; the full pre-activations z_t on return.
    w_hh : ndarray (H, 4H)
    gate, cand, cell : packed activations
    standard : bool
        h = o * cell(s) if True, else h = o * s.

    Returns
    -------
    acts (T, n, 4H), states s_0..s_T (T+1, n, H), cells (T, n, H), hs h_0..h_T (T+1, n, H)
    """
    steps, n, four = z_all.shape
    hid = four // 4
    acts = np.empty_like(z_all)
    states = np.zeros((steps + 1, n, hid))
    cells = np.zeros((steps, n, hid))
    hs = np.zeros((steps + 1, n, hid))
    for t in range(steps):
        z = z_all[t]
        z += np.dot(hs[t], w_hh)
        a = acts[t]
        _apply(gate, z[:, : 3 * hid], a[:, : 3 * hid])
        _apply(cand, z[:, 3 * hid:], a[:, 3 * hid:])
        s, s_prev, h = states[t + 1], states[t], hs[t + 1]
        for b in range(n):
            for j in range(hid):
                s[b, j] = a[b, 3 * hid + j] * a[b, j] + s_prev[b, j] * a[b, hid + j]
        if standard:
            c = cells[t]
            _apply(cell, s, c)
            for b in range(n):
                for j in range(hid):
                    h[b, j] = a[b, 2 * hid + j] * c[b, j]
        else:
            for b in range(n):
                for j in range(hid):
                    h[b, j] = a[b, 2 * hid + j] * s[b, j]
    return acts, states, cells, hs


@numba.njit(cache=True)
def backward(d_hidden, z_all, acts, states, cells, w_hh, gate, cand, cell, standard):
    """BPTT, time-major: dL/dz_t (T, n, 4H) for every step from dL/dh_t (T, n, H)."""
    steps, n, four = z_all.shape
    hid = four // 4
    slopes = np.empty_like(z_all)
    cell_slopes = np.empty_like(cells)
    # the activations' slopes do not depend on the recursion: all steps at once
    z2, a2, sl2 = z_all.reshape(n * steps, four), acts.reshape(n * steps, four), slopes.reshape(n * steps, four)
    _apply_slope(gate, z2[:, : 3 * hid], a2[:, : 3 * hid], sl2[:, : 3 * hid])
    _apply_slope(cand, z2[:, 3 * hid:], a2[:, 3 * hid:], sl2[:, 3 * hid:])
    if standard:
        _apply_slope(cell, states[1:].reshape(n * steps, hid), cells.reshape(n * steps, hid),
                     cell_slopes.reshape(n * steps, hid))
    dz_all = np.empty_like(z_all)
    dh_next = np.zeros((n, hid))
    ds_next = np.zeros((n, hid))
    w_hh_t = np.ascontiguousarray(w_hh.T)
    for t in range(steps - 1, -1, -1):
        a, sl, dz, dh_t = acts[t], slopes[t], dz_all[t], d_hidden[t]
        s, s_prev, c, csl = states[t + 1], states[t], cells[t], cell_slopes[t]
        for b in range(n):
            ab, slb, dzb, dhb, dnb, dsb = a[b], sl[b], dz[b], dh_t[b], dh_next[b], ds_next[b]
            # h = o * cell(s) (standard) or o * s (linear): dL/do and dL/ds for the whole row
            if standard:
                cb, cslb = c[b], csl[b]
                for j in range(hid):
                    dh = dhb[j] + dnb[j]
                    dzb[2 * hid + j] = dh * cb[j] * slb[2 * hid + j]
                    dsb[j] = dh * ab[2 * hid + j] * cslb[j] + dsb[j]
            else:
                sb = s[b]
                for j in range(hid):
                    dh = dhb[j] + dnb[j]
                    dzb[2 * hid + j] = dh * sb[j] * slb[2 * hid + j]
                    dsb[j] = dh * ab[2 * hid + j] + dsb[j]
            spb = s_prev[b]
            for j in range(hid):
                ds = dsb[j]
                dzb[j] = ds * ab[3 * hid + j] * slb[j]
                dzb[hid + j] = ds * spb[j] * slb[hid + j]
                dzb[3 * hid + j] = ds * ab[j] * slb[3 * hid + j]
                dsb[j] = ds * ab[hid + j]
        dh_next = np.dot(dz, w_hh_t)
    return dz_all

"""Compiled (numba) time loops of the LSTM: the recurrence, fused per step.

numpy spends most of a small LSTM's time in per-call overhead: a step is a
dozen tiny array operations.  These kernels run the whole sequence in one
call -- the recurrent product h_{t-1} W_hh through BLAS (``np.dot``), the gate
activations, the cell update and, backwards, the BPTT recursion -- elementwise
in compiled loops.  The formulas are those of :mod:`nn.lstm`.

Every elementwise loop runs over a contiguous block (one row's three sigmoid
gates, its candidate block, its cell state) and is written so that LLVM
vectorises it:

* an activation reaches a kernel as a tuple (:func:`spec`) whose polynomial
  coefficients are a tuple of fixed length, so numba compiles one kernel per
  degree and Horner's scheme is unrolled at compile time;
* exact sigmoid, tanh and swish go through :func:`_tanh_block`, a branch-free
  tanh (exp by Cody and Waite's range reduction, ``exp(r) - 1`` by its Taylor
  polynomial, tanh(a) = -expm1(-2a) / (2 + expm1(-2a))), accurate to a few
  units in the last place in float32 and float64;
* ``error_model="numpy"``: a division never raises, so no loop carries an
  exception branch.

The kernels are generic in the floating-point type: float32 and float64
arrays get kernels of their own, with every constant in that type.  The
caller owns every buffer (see :class:`nn.lstm.LSTM`), so repeated batches of
one shape allocate nothing here.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from approx.errors import ApproxError

__all__ = ["spec", "forward", "backward"]

POLY, SIGMOID, TANH, RELU, SWISH = 0, 1, 2, 3, 4
_EXACT = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "swish": SWISH}
_OUTPUT = {None: 0, "sigmoid": 1, "tanh": 2}
_JIT = {"cache": True, "error_model": "numpy"}
# exp(r) - 1 = sum r^k / k!, k = 1..13: below half an ulp of float64 for |r| <= ln(2) / 2
_INV_FACTORIALS = tuple(1.0 / math.factorial(k) for k in range(2, 14))


def spec(activation, dtype) -> tuple:
    """An activation as the kernels take it.

    Parameters
    ----------
    activation : nn.activation.LayerActivation
    dtype : numpy dtype, float32 or float64
        The type of the arrays the kernel will see; every number is cast to it.

    Returns
    -------
    tuple
        ``(kind, derivative, clip, lo, hi, scale, shift, coef, dcoef)``: kind is POLY
        (power coefficients ``coef`` in t = scale z + shift, ascending, and ``dcoef``
        those of dp/dz), SIGMOID, TANH, RELU or SWISH; derivative is 0 (the
        function's own derivative), 1 (y (1 - y)) or 2 (1 - y^2); clip says whether
        z is clipped to [lo, hi] first.

    Raises
    ------
    ApproxError
        For an activation that is neither a polynomial nor sigmoid, tanh, relu or swish.
    """
    f = np.dtype(dtype).type
    act = activation.activation
    lo, hi = activation.interval if activation.interval is not None else (-np.inf, np.inf)
    clip = bool(activation.clip and activation.interval is not None)
    output = _OUTPUT[activation.output_form_name]
    if getattr(act, "approximation", None) is not None:
        kind, scale, shift, coef = POLY, act.scale, act.shift, np.asarray(act.power_coef, dtype=np.float64)
    elif act.coefficients is not None:  # identity, square: monomials in x
        kind, scale, shift, coef = POLY, 1.0, 0.0, np.asarray(act.coefficients, dtype=np.float64)
    elif act.name in _EXACT:
        kind, scale, shift, coef = _EXACT[act.name], 1.0, 0.0, np.zeros(1)
    else:
        raise ApproxError(f"LSTM gates take polynomial, sigmoid, tanh, relu or swish activations, not {act.name!r}")
    dcoef = coef[1:] * np.arange(1, coef.size) * scale if coef.size > 1 else np.zeros(1)
    return (kind, output, clip, f(lo), f(hi), f(scale), f(shift),
            tuple(f(c) for c in coef), tuple(f(c) for c in dcoef))


@numba.njit(inline="always", **_JIT)
def _horner(coef, t):
    """sum coef[k] t^k; coef is a tuple, so the loop has a compile-time trip count and unrolls."""
    acc = coef[-1]
    for k in range(len(coef) - 2, -1, -1):
        acc = acc * t + coef[k]
    return acc


@numba.njit(inline="always", **_JIT)
def _polynomial_block(coef, clip, lo, hi, scale, shift, z, out):
    """out[i] = sum coef[k] t^k with t = scale z[i] + shift, z[i] first clipped to [lo, hi] if ``clip``."""
    if clip:
        for i in range(z.size):
            out[i] = _horner(coef, min(max(z[i], lo), hi) * scale + shift)
    else:
        for i in range(z.size):
            out[i] = _horner(coef, z[i] * scale + shift)


@numba.njit(**_JIT)
def _tanh_block(z, out, inner, outer, offset):
    """out[i] = outer * tanh(inner * z[i]) + offset for 1-D blocks, branch-free so that it vectorises.

    tanh(a) = -m / (2 + m) with m = expm1(-2 |a|), and expm1(y) = 2^k (1 + q) - 1 with
    y = k ln 2 + r, |r| <= ln(2)/2 (Cody and Waite's reduction, ln 2 split in two) and
    q = expm1(r) by its Taylor polynomial; 2^k by binary decomposition of -k <= 58.
    """
    f = out.dtype.type
    one, two, zero = f(1.0), f(2.0), f(0.0)
    # round to nearest by adding 1.5 * 2^(mantissa bits): float32 has 23, float64 52
    magic = f(6755399441055744.0) if f(1.0) + f(1e-10) != f(1.0) else f(12582912.0)
    inv_ln2, ln2_hi, ln2_lo = f(1.4426950408889634), f(0.6931471803691238), f(1.9082149292705877e-10)
    c = (f(_INV_FACTORIALS[0]), f(_INV_FACTORIALS[1]), f(_INV_FACTORIALS[2]), f(_INV_FACTORIALS[3]),
         f(_INV_FACTORIALS[4]), f(_INV_FACTORIALS[5]), f(_INV_FACTORIALS[6]), f(_INV_FACTORIALS[7]),
         f(_INV_FACTORIALS[8]), f(_INV_FACTORIALS[9]), f(_INV_FACTORIALS[10]), f(_INV_FACTORIALS[11]))
    for i in range(z.size):
        x = inner * z[i]
        y = -two * min(abs(x), f(20.0))  # tanh(20) is 1 in float64
        k = (y * inv_ln2 + magic) - magic
        r = (y - k * ln2_hi) - k * ln2_lo
        q = r * (one + r * _horner(c, r))
        m = -k
        p = one
        for bit in (32.0, 16.0, 8.0, 4.0, 2.0, 1.0):
            b = f(bit)
            take = m >= b
            p *= f(2.0 ** -bit) if take else one
            m -= b if take else zero
        e = p * q + (p - one)
        t = -e / (e + two)
        out[i] = outer * (t if x >= zero else -t) + offset


@numba.njit(**_JIT)
def _apply(sp, z, out):
    """out = f(z) for 1-D blocks."""
    f = out.dtype.type
    kind, clip, lo, hi, scale, shift, coef = sp[0], sp[2], sp[3], sp[4], sp[5], sp[6], sp[7]
    half = f(0.5)
    if kind == POLY:
        _polynomial_block(coef, clip, lo, hi, scale, shift, z, out)
    elif kind == SIGMOID:
        _tanh_block(z, out, half, half, half)
    elif kind == TANH:
        _tanh_block(z, out, f(1.0), f(1.0), f(0.0))
    elif kind == RELU:
        for i in range(z.size):
            out[i] = max(z[i], f(0.0))
    else:
        _tanh_block(z, out, half, half, half)
        for i in range(z.size):
            out[i] *= z[i]


@numba.njit(**_JIT)
def _slope(sp, z, y, out):
    """out = dy/dz at z with outputs y (1-D blocks), as the spec's derivative mode says."""
    f = out.dtype.type
    kind, mode, clip, lo, hi, scale, shift, dcoef = sp[0], sp[1], sp[2], sp[3], sp[4], sp[5], sp[6], sp[8]
    one, zero = f(1.0), f(0.0)
    if mode == 1 or (mode == 0 and kind == SIGMOID):
        for i in range(z.size):
            out[i] = y[i] * (one - y[i])
    elif mode == 2 or (mode == 0 and kind == TANH):
        for i in range(z.size):
            out[i] = one - y[i] * y[i]
    elif kind == POLY:
        _polynomial_block(dcoef, clip, lo, hi, scale, shift, z, out)
    elif kind == RELU:
        for i in range(z.size):
            out[i] = one if z[i] > zero else zero
    else:
        half = f(0.5)
        _tanh_block(z, out, half, half, half)
        for i in range(z.size):
            s = out[i]
            out[i] = s + z[i] * s * (one - s)
    if clip:
        for i in range(z.size):
            out[i] = out[i] if lo <= z[i] <= hi else zero


@numba.njit(**_JIT)
def forward(z_all, w_hh, gate, cand, cell, standard, acts, states, cells, hs, rec):
    """Run the recurrence over a sequence, time-major, into the caller's buffers.

    Parameters
    ----------
    z_all : ndarray (T, n, 4H)
        x_t W_ih + b on entry; the full pre-activations z_t on return.
    w_hh : ndarray (H, 4H)
    gate, cand, cell : tuples from :func:`spec`
    standard : bool
        h = o * cell(s) if True, else h = o * s.
    acts (T, n, 4H), states (T+1, n, H), cells (T, n, H), hs (T+1, n, H), rec (n, 4H) : ndarray
        Filled with the gate activations, s_0..s_T, cell(s_1)..cell(s_T), h_0..h_T;
        ``rec`` is scratch for h_{t-1} W_hh.
    """
    steps, n, four = z_all.shape
    hid = four // 4
    states[0] = 0.0
    hs[0] = 0.0
    for t in range(steps):
        z, a = z_all[t], acts[t]
        if t:
            np.dot(hs[t], w_hh, rec)
        s, s_prev, h, c = states[t + 1], states[t], hs[t + 1], cells[t]
        for b in range(n):
            zb, ab = z[b], a[b]
            if t:
                rb = rec[b]
                for j in range(four):
                    zb[j] += rb[j]
            _apply(gate, zb[:3 * hid], ab[:3 * hid])
            _apply(cand, zb[3 * hid:], ab[3 * hid:])
            sb, spb, hb = s[b], s_prev[b], h[b]
            for j in range(hid):
                sb[j] = ab[3 * hid + j] * ab[j] + spb[j] * ab[hid + j]
            if standard:
                cb = c[b]
                _apply(cell, sb, cb)
                for j in range(hid):
                    hb[j] = ab[2 * hid + j] * cb[j]
            else:
                for j in range(hid):
                    hb[j] = ab[2 * hid + j] * sb[j]


@numba.njit(**_JIT)
def backward(d_hidden, z_all, acts, states, cells, w_hh_t, gate, cand, cell, standard, slopes, cell_slopes, dz_all,
             dh_next, ds_next):
    """BPTT, time-major, into the caller's buffers: dL/dz_t (T, n, 4H) for every step from dL/dh_t (T, n, H).

    ``w_hh_t`` is W_hh transposed (4H, H), C-contiguous; ``slopes`` (T, n, 4H), ``cell_slopes``
    (T, n, H), ``dh_next`` and ``ds_next`` (n, H) are scratch.
    """
    steps, n, four = z_all.shape
    hid = four // 4
    # the activations' slopes do not depend on the recursion: all steps at once
    for t in range(steps):
        for b in range(n):
            zb, ab, slb = z_all[t, b], acts[t, b], slopes[t, b]
            _slope(gate, zb[:3 * hid], ab[:3 * hid], slb[:3 * hid])
            _slope(cand, zb[3 * hid:], ab[3 * hid:], slb[3 * hid:])
            if standard:
                _slope(cell, states[t + 1, b], cells[t, b], cell_slopes[t, b])
    dh_next[:] = 0.0
    ds_next[:] = 0.0
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
        if t:
            np.dot(dz, w_hh_t, dh_next)

"""Vectorised interval arithmetic with outward rounding on numpy float64 arrays.

An :class:`Interval` holds two arrays ``lo`` and ``hi`` of one shape; every
operation returns an interval that contains every exact real result of the
operation on points of its operands.  Each float64 operation is carried out in
round-to-nearest and its result pushed one unit in the last place outwards
(``numpy.nextafter``), which contains the exact result because round-to-nearest
is within half an ulp of it (IEEE 754-2019, section 4.3.1).  This is the
"rounding-to-nearest then widen" scheme of Rump, *Verification methods*, Acta
Numerica 19 (2010), section 3.

The exponential is the one operation whose accuracy is not fixed by IEEE 754;
:func:`exp` widens numpy's result by ``EXP_RELATIVE_SLACK`` (2**-48, 16 ulp)
on each side, above the error of the libms numpy uses (glibc's exp is within
1 ulp, numpy's SIMD kernels within 4 ulp); this is the one assumption the
certified bounds rest on.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Interval", "exp", "EXP_RELATIVE_SLACK"]

EXP_RELATIVE_SLACK = 2.0**-48


def _down(x):
    return np.nextafter(x, -np.inf)


def _up(x):
    return np.nextafter(x, np.inf)


class Interval:
    """An array of closed real intervals ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : array_like of float64, broadcastable to one shape
        Lower and upper ends; ``hi`` defaults to ``lo`` (degenerate intervals,
        i.e. exactly representable points).

    Raises
    ------
    ValueError
        If some ``lo > hi``.
    """

    __slots__ = ("lo", "hi")
    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __init__(self, lo, hi=None):
        lo = np.asarray(lo, dtype=np.float64)
        hi = lo if hi is None else np.asarray(hi, dtype=np.float64)
        lo, hi = np.broadcast_arrays(lo, hi)
        if np.any(lo > hi):
            raise ValueError("interval with lo > hi")
        self.lo, self.hi = lo, hi

    @classmethod
    def _make(cls, lo: np.ndarray, hi: np.ndarray) -> "Interval":
        """Build from float64 arrays already known to satisfy lo <= hi (no checks)."""
        self = object.__new__(cls)
        self.lo, self.hi = lo, hi
        return self

    @staticmethod
    def _coerce(other) -> "Interval":
        if isinstance(other, Interval):
            return other
        v = np.asarray(other, dtype=np.float64)
        if np.isnan(v).any():
            raise ValueError("interval from NaN")
        return Interval._make(v, v)

    def __repr__(self) -> str:
        return f"Interval(lo={self.lo!r}, hi={self.hi!r})"

    def __neg__(self) -> "Interval":
        return Interval._make(-self.hi, -self.lo)

    def __add__(self, other) -> "Interval":
        o = self._coerce(other)
        return Interval._make(_down(self.lo + o.lo), _up(self.hi + o.hi))

    __radd__ = __add__

    def __sub__(self, other) -> "Interval":
        o = self._coerce(other)
        return Interval._make(_down(self.lo - o.hi), _up(self.hi - o.lo))

    def __rsub__(self, other) -> "Interval":
        return self._coerce(other) - self

    def __mul__(self, other) -> "Interval":
        o = self._coerce(other)
        with np.errstate(invalid="ignore", over="ignore"):
            p1, p2, p3, p4 = self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi
        # NaN only comes from 0 * inf, an end that is exactly 0, whose other products
        # include 0 as well: fmin / fmax, which skip NaN, still enclose the product
        lo = np.fmin(np.fmin(p1, p2), np.fmin(p3, p4))
        hi = np.fmax(np.fmax(p1, p2), np.fmax(p3, p4))
        return Interval._make(_down(lo), _up(hi))

    __rmul__ = __mul__

    def reciprocal(self) -> "Interval":
        """Return ``1 / self``.

        Raises
        ------
        ZeroDivisionError
            If some interval contains 0.
        """
        if np.any((self.lo <= 0) & (self.hi >= 0)):
            raise ZeroDivisionError("interval reciprocal of an interval containing 0")
        with np.errstate(divide="ignore", over="ignore"):
            return Interval._make(_down(1.0 / self.hi), _up(1.0 / self.lo))

    def __truediv__(self, other) -> "Interval":
        return self * self._coerce(other).reciprocal()

    def __rtruediv__(self, other) -> "Interval":
        return self._coerce(other) * self.reciprocal()

    def square(self) -> "Interval":
        """Return ``self**2``, which unlike ``self * self`` is never negative."""
        a, b = np.abs(self.lo), np.abs(self.hi)
        straddles = (self.lo <= 0) & (self.hi >= 0)
        lo = np.where(straddles, 0.0, _down(np.minimum(a, b) ** 2))
        return Interval._make(lo, _up(np.maximum(a, b) ** 2))

    def mag(self) -> np.ndarray:
        """Largest absolute value in each interval, ``max(|lo|, |hi|)``."""
        return np.maximum(np.abs(self.lo), np.abs(self.hi))

    def mig(self) -> np.ndarray:
        """Smallest absolute value in each interval (0 if it contains 0)."""
        m = np.minimum(np.abs(self.lo), np.abs(self.hi))
        return np.where((self.lo <= 0) & (self.hi >= 0), 0.0, m)

    def __getitem__(self, key) -> "Interval":
        return Interval._make(self.lo[key], self.hi[key])


def exp(x: Interval) -> Interval:
    """Enclosure of ``exp`` over each interval (exp is increasing).

    Parameters
    ----------
    x : Interval, any shape

    Returns
    -------
    Interval, same shape
        ``[exp(lo) (1 - s), exp(hi) (1 + s)]`` rounded outwards, with
        ``s = EXP_RELATIVE_SLACK``; overflow gives ``+inf`` as the upper end.
    """
    with np.errstate(over="ignore"):
        lo = _down(np.exp(x.lo) * (1.0 - EXP_RELATIVE_SLACK))
        hi = _up(np.exp(x.hi) * (1.0 + EXP_RELATIVE_SLACK))
    return Interval._make(np.maximum(lo, 0.0), hi)

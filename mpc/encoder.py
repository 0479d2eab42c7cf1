"""Fixed-point encoding of real numbers in the ring Z_2^64.

A real x is held as the integer round(x 2^f) modulo 2^64 (f fractional bits),
the standard encoding of SecureML (Mohassel & Zhang, IEEE S&P 2017) and
CrypTen's ``FixedPointEncoder``.  Two's complement makes decoding exact for
negative values: the uint64 ring element is read as int64 and divided by 2^f.
A value whose encoding does not fit in int64 is refused, never wrapped.
"""

from __future__ import annotations

import numpy as np

from approx.errors import ApproxError

__all__ = ["FixedPointEncoder", "EncodingError", "RING_BITS"]

RING_BITS = 64


class EncodingError(ApproxError, ValueError):
    """A value that the fixed-point encoding cannot represent."""


class FixedPointEncoder:
    """Encode floats as fixed-point ring elements and back.

    Parameters
    ----------
    frac_bits : int
        f, the fractional bits (default 16, CrypTen's default precision).

    Raises
    ------
    EncodingError
        If frac_bits is outside 0..52.
    """

    def __init__(self, frac_bits: int = 16):
        if not 0 <= frac_bits <= 52:
            raise EncodingError(f"frac_bits must be from 0 to 52, got {frac_bits}")
        self.frac_bits = frac_bits
        self.scale = 2 ** frac_bits
        # |round(x 2^f)| must stay below 2^62 so that sums of two encodings cannot wrap either
        self.bound = 2.0 ** (62 - frac_bits)

    def encode(self, x) -> np.ndarray:
        """uint64 ring elements round(x 2^f) mod 2^64, same shape as ``x`` (round half to even).

        Raises
        ------
        EncodingError
            For NaN, infinities, or |x| >= 2^(62 - f).
        """
        x = np.asarray(x, dtype=np.float64)
        bad = ~np.isfinite(x) | (np.abs(x) >= self.bound)
        if np.any(bad):
            first = x[bad].ravel()[0]
            raise EncodingError(f"{first!r} cannot be encoded with {self.frac_bits} fractional bits in Z_2^64 "
                                f"(|x| must be below 2^{62 - self.frac_bits}); scale the input or use fewer bits")
        return np.rint(x * self.scale).astype(np.int64).view(np.uint64)

    def decode(self, ring: np.ndarray) -> np.ndarray:
        """Float64 values of ring elements (read as two's complement int64, divided by 2^f)."""
        return np.asarray(ring, dtype=np.uint64).view(np.int64) / self.scale

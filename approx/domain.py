"""The affine map between an interval [a, b] of x and the window [-1, 1] of t.

Every fit is computed, stored and certified in t = (2x - a - b) / (b - a),
as numpy.polynomial's series are in their window; this module is the one place
where the map is derived, with numpy's ``polyutils.mapparms``, so that it has
the same rounding everywhere.
"""

from __future__ import annotations

from numpy.polynomial.polyutils import mapparms

__all__ = ["WINDOW", "window_map"]

WINDOW = (-1, 1)


def window_map(a, b, *, inverse: bool = False) -> tuple:
    """(offset, scale) of the map t = offset + scale x of [a, b] onto [-1, 1], or of its inverse.

    Parameters
    ----------
    a, b : float, Fraction or mpmath number
        The interval, a < b; the map is computed in their arithmetic (exact for
        Fraction).
    inverse : bool
        False: t of x, offset -(a + b) / (b - a) and scale 2 / (b - a).  True: x
        of t, offset (a + b) / 2 and scale (b - a) / 2.

    Returns
    -------
    offset, scale
    """
    return mapparms(WINDOW, (a, b)) if inverse else mapparms((a, b), WINDOW)

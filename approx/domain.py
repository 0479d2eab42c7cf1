"""The affine map between an interval [a, b] of x and the window [-1, 1] of t.

Every fit is computed, stored and certified in t = (2x - a - b) / (b - a),
as numpy.polynomial's series are in their window; this module is the one place
where the map is derived, with numpy's ``polyutils.mapparms``, so that it has
the same rounding everywhere.  The arguments may be floats, ``Fraction`` or
mpmath numbers: the map is then exact or in their precision.
"""

from __future__ import annotations

from numpy.polynomial.polyutils import mapparms

__all__ = ["WINDOW", "t_of_x", "x_of_t"]

WINDOW = (-1, 1)


def t_of_x(a, b) -> tuple:
    """(shift, scale) with t = shift + scale x, mapping [a, b] onto [-1, 1].

    Parameters
    ----------
    a, b : float, Fraction or mpmath number
        The interval, a < b.

    Returns
    -------
    shift, scale
        -(a + b) / (b - a) and 2 / (b - a), in the arguments' arithmetic.
    """
    return mapparms((a, b), WINDOW)


def x_of_t(a, b) -> tuple:
    """(mid, half) with x = mid + half t, mapping [-1, 1] onto [a, b].

    Parameters
    ----------
    a, b : float, Fraction or mpmath number
        The interval, a < b.

    Returns
    -------
    mid, half
        (a + b) / 2 and (b - a) / 2, in the arguments' arithmetic.
    """
    return mapparms(WINDOW, (a, b))

"""JSON output that every parser accepts: NaN and infinities become null (RFC 8259 has no such numbers)."""

from __future__ import annotations

import json
import math

import numpy as np

__all__ = ["dumps", "finite"]


def finite(value):
    """``value`` (nested dicts, lists, tuples, numpy arrays and scalars) as plain Python with every NaN or
    infinite float replaced by None: what :func:`json.dumps` writes as strict JSON."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def dumps(value) -> str:
    """``json.dumps`` of ``value`` with every NaN or infinite float (numpy's included) written as null.

    Raises
    ------
    TypeError
        For objects JSON cannot represent.
    """
    return json.dumps(finite(value), allow_nan=False)

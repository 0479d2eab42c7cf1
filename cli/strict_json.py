"""Strict JSON for the commands' output: :func:`approx.strict_json.dumps` (NaN and infinities as null)."""

from approx.strict_json import dumps

__all__ = ["dumps"]

"""The floating-point types a network can train in.

float64 is the reference: the gradient checks run in it, and the layers
(:class:`nn.lstm.LSTM`, :class:`nn.rnn.RNN`, :class:`nn.dense.Dense`) default to
it.  float32 halves the memory traffic and doubles the SIMD width of every
elementwise loop and GEMM, as PyTorch's default ``torch.float32`` does.
:data:`DEFAULT_DTYPE`, the model configurations' default, is float32 because it
costs no accuracy: the default ``approx train`` run (per-sample SGD, 150 epochs)
reached a test MAPE of 1.476904 % in float32 against 1.476898 % in float64.
"""

from __future__ import annotations

import numpy as np

from approx.errors import ApproxError

__all__ = ["DTYPES", "DEFAULT_DTYPE", "float_dtype"]

DTYPES = ("float32", "float64")
DEFAULT_DTYPE = "float32"


def float_dtype(name) -> np.dtype:
    """numpy dtype for ``"float32"`` or ``"float64"`` (or those dtypes themselves).

    Raises
    ------
    ApproxError
        For any other type.
    """
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in DTYPES:
        raise ApproxError(f"unknown dtype {name!r}; choose float32 or float64")
    return dtype

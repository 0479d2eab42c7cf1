"""How much memory training a model will take, estimated from its configuration before anything is allocated.

The estimate counts float64 values: the parameters four times (weights,
gradients, the best epoch's copy, a temporary of the update) and, per
recurrent or dense layer, what the forward and backward passes keep for a
batch -- for an LSTM layer about 20 H values per sample and step (the
pre-activations and activations of the four gates, cell states, hidden states,
their slopes and gradients, see :mod:`nn.lstm_kernels`), for an Elman layer
about 6 H -- at the larger of the training batch and the evaluation batch of
1024 samples.  It errs on the high side: 1.3 times the memory a training
process grew by for an LSTM of 300 units, 1.75 times for an MLP of two layers of
4000, 3.1 times for an Elman RNN of 300 (``benchmarks/bench_memory_estimate.py``)
-- of the right order, which is what refusing a run that cannot fit needs.
"""

from __future__ import annotations

import os

from approx.errors import ApproxError

__all__ = ["parameter_count", "training_bytes", "available_bytes", "check_memory", "EVAL_BATCH"]

EVAL_BATCH = 1024
_FLOAT = 8


def parameter_count(kind: str, config) -> int:
    """Number of parameters of a model of ``kind`` (``forecaster``, ``mlp``, ``rnn``) built from ``config``."""
    if kind == "forecaster":
        h, d, i = config.hidden_size, config.dense_size, config.input_size
        highway = config.highway * len(config.highway_features) + 1 if config.highway else 0
        return 4 * h * (i + h + 1) + 4 * h * (2 * h + 1) + (h + 1) * d + (d + 1) + highway
    if kind == "mlp":
        sizes = (config.input_size, *config.hidden, config.classes)
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if kind == "rnn":
        h = config.hidden_size
        return h * (config.input_size + h + 1) + (h + 1) * config.classes
    raise ValueError(f"unknown model kind {kind!r}")


def training_bytes(kind: str, config, batch_size: int, steps: int = 1) -> int:
    """Estimated peak bytes of training and evaluating the model (see the module docstring).

    Parameters
    ----------
    kind : {"forecaster", "mlp", "rnn"}
    config : ForecasterConfig, MLPConfig or RNNClassifierConfig
    batch_size : int
        Training batch size.
    steps : int
        Time steps per sample (the forecaster's window, the RNN's steps).

    Returns
    -------
    int
    """
    batch = max(batch_size, EVAL_BATCH)
    if kind == "forecaster":
        per_sample = steps * (2 * 20 * config.hidden_size + 2 * config.input_size) + 4 * config.dense_size
    elif kind == "mlp":
        per_sample = 4 * sum((config.input_size, *config.hidden, config.classes))
    else:
        per_sample = steps * (6 * config.hidden_size + 2 * config.input_size + 3 * config.classes)
    return _FLOAT * (4 * parameter_count(kind, config) + batch * per_sample)


def available_bytes() -> int | None:
    """Memory available to a new process: MemAvailable of /proc/meminfo, else the physical memory; None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(kind: str, config, batch_size: int, steps: int, size_option: str, workers: int = 1) -> None:
    """Refuse a model whose training (in each of ``workers`` processes) would not fit in the memory available.

    Parameters
    ----------
    kind, config, batch_size, steps
        As for :func:`training_bytes`.
    size_option : str
        What to make smaller, named in the message (e.g. ``"--hidden-size"``).
    workers : int
        Processes training such a model at once.

    Raises
    ------
    ApproxError
        Naming the estimate and the memory available.
    """
    need, have = workers * training_bytes(kind, config, batch_size, steps), available_bytes()
    if have is not None and need > have:
        raise ApproxError(f"training this model needs about {need / 2**30:.1f} GiB (estimated) but "
                          f"{have / 2**30:.1f} GiB of memory is available; choose a smaller {size_option}")

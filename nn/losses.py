"""Losses with their gradients with respect to the network output.

* MSE (halved, so its gradient is y' - y): C_i = 1/2 (y'_i - y_i)^2 per sample, averaged over the batch.
* Softmax cross-entropy: -log softmax(y)_label, averaged over the batch; its
  gradient is (softmax(y) - onehot(label)) / batch (Goodfellow, Bengio &
  Courville, *Deep Learning*, 2016, §6.2.2.3).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mse", "softmax_cross_entropy", "LOSSES"]


def mse(output: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and dLoss/doutput for outputs and targets of shape (batch, k)."""
    diff = output - target
    n = output.shape[0]
    return float(0.5 * np.sum(diff * diff) / n), diff / n


def softmax_cross_entropy(output: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and dLoss/doutput for logits (batch, classes) and integer labels (batch,)."""
    shifted = output - output.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = output.shape[0]
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    loss = -float(np.mean(log_p[np.arange(n), labels]))
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1.0
    return loss, grad / n


LOSSES = {"mse": mse, "cross_entropy": softmax_cross_entropy}

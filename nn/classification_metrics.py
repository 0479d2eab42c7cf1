"""Accuracy, macro F1 and the confusion matrix of a classifier's predictions.

Definitions as scikit-learn's ``accuracy_score``, ``f1_score(average="macro")``
and ``confusion_matrix`` (rows: true class, columns: predicted class).  A
class neither present nor predicted is left out of the macro mean, as
scikit-learn does when it infers the labels from the data.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "classification_scores"]


def confusion_matrix(predicted: np.ndarray, actual: np.ndarray, classes: int) -> np.ndarray:
    """Counts, shape (classes, classes): entry [i, j] is how many of class i were predicted as j."""
    out = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(out, (np.asarray(actual, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return out


def classification_scores(predicted: np.ndarray, actual: np.ndarray, classes: int) -> dict:
    """{"accuracy", "macro_f1", "confusion_matrix" (list of lists)} of integer class predictions."""
    matrix = confusion_matrix(predicted, actual, classes)
    true_pos = np.diag(matrix).astype(np.float64)
    support, predicted_count = matrix.sum(axis=1), matrix.sum(axis=0)
    present = (support + predicted_count) > 0
    denominator = support + predicted_count
    f1 = np.divide(2 * true_pos, denominator, out=np.zeros_like(true_pos), where=denominator > 0)
    return {"accuracy": float(true_pos.sum() / matrix.sum()), "macro_f1": float(f1[present].mean()),
            "confusion_matrix": matrix.tolist()}

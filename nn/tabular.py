"""Labelled feature tables for the classifiers: the built-in digits or a user CSV, split by class.

The built-in data are scikit-learn's handwritten digits (``load_digits``:
1797 images of 8 x 8 pixels with values 0..16, from the UCI "Optical
Recognition of Handwritten Digits" set, Alpaydin & Kaynak 1998), shipped as
``nn/data/digits.csv.gz`` (64 pixel columns and a ``label`` column) so that
nothing is downloaded; a test checks it against scikit-learn's copy.  Pixels
are scaled by 1/16 to [0, 1]; a user CSV's features are min-max scaled per
column on the training part.  The split is stratified: 7 : 2 : 1 of every
class, shuffled with a seed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from nn.data import DataError, read_csv

__all__ = ["ClassificationData", "load_table", "stratified_split", "DIGITS_CSV"]

DIGITS_CSV = Path(__file__).with_name("data") / "digits.csv.gz"
SPLIT = (0.7, 0.2, 0.1)


@dataclasses.dataclass(frozen=True)
class ClassificationData:
    """Scaled features, labels and a stratified split.

    Attributes
    ----------
    x : ndarray, shape (samples, features)
        Scaled to [0, 1] on the training part.
    y : ndarray of int, shape (samples,)
        Class index 0..classes-1.
    classes : list
        The label of each class index, as in the file.
    splits : dict of str -> ndarray of int
        Row indices of ``train``, ``val`` and ``test``.
    """

    x: np.ndarray
    y: np.ndarray
    classes: list
    splits: dict

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of ``train``, ``val`` or ``test``."""
        rows = self.splits[name]
        return self.x[rows], self.y[rows]


def stratified_split(y: np.ndarray, seed: int = 0, fractions=SPLIT) -> dict[str, np.ndarray]:
    """Row indices of train, val and test holding ``fractions`` of every class (each part sorted).

    Raises
    ------
    DataError
        If a class has fewer than 3 rows (one per part).
    """
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        if len(rows) < 3:
            raise DataError(f"class {label} has {len(rows)} rows; a stratified 7:2:1 split needs at least 3")
        n_val = max(1, round(fractions[1] * len(rows)))
        n_test = max(1, round(fractions[2] * len(rows)))
        n_train = len(rows) - n_val - n_test
        parts["train"].append(rows[:n_train])
        parts["val"].append(rows[n_train:n_train + n_val])
        parts["test"].append(rows[n_train + n_val:])
    return {name: np.sort(np.concatenate(rows)) for name, rows in parts.items()}


def load_table(source: str = "digits", label_column: str = "label", seed: int = 0) -> ClassificationData:
    """Features and labels of the built-in digits or a CSV, scaled and split.

    Parameters
    ----------
    source : str
        ``"digits"`` or the path of a CSV with numeric feature columns and a label column.
    label_column : str
    seed : int
        Seeds the stratified split.

    Returns
    -------
    ClassificationData

    Raises
    ------
    DataError
        For a missing or unreadable file (or a directory), a missing label column, non-numeric or missing features
        (naming the first bad row and column), fewer than two classes, or a class too small to split.
    """
    path = DIGITS_CSV if source == "digits" else Path(source)
    frame = read_csv(path, "digits")
    if label_column not in frame.columns:
        raise DataError(f"{path} has no label column {label_column!r} (columns: {', '.join(map(str, frame.columns))}); "
                        "name it with --label-column")
    features = frame.drop(columns=[label_column])
    if features.shape[1] == 0:
        raise DataError(f"{path} has no feature columns beside {label_column!r}")
    numeric = features.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy()
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{path}: row {row + 1}, column {features.columns[col]!r}: {features.iat[row, col]!r} "
                        "is not a number (features must be numeric)")
    labels = frame[label_column]
    if labels.isna().any():
        raise DataError(f"{path}: row {int(np.flatnonzero(labels.isna())[0]) + 1} has no label")
    classes, y = np.unique(labels.to_numpy(), return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"{path} has a single class; a classifier needs at least two")
    splits = stratified_split(y, seed)
    x = numeric.to_numpy(dtype=np.float64)
    if source == "digits":
        x = x / 16.0
    else:
        lo, hi = x[splits["train"]].min(axis=0), x[splits["train"]].max(axis=0)
        x = (x - lo) / np.where(hi > lo, hi - lo, 1.0)
    return ClassificationData(x=x, y=y.astype(np.int64), classes=classes.tolist(), splits=splits)

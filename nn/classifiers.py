"""The classifiers (an MLP, an Elman RNN) built for a table of labelled rows, scored, and rebuilt from a model file.

``approx train mlp|rnn`` and ``approx evaluate`` of their model files are these functions
with options and printing (docs/classifiers.md).
"""

from __future__ import annotations

from approx.errors import ApproxError

__all__ = ["model_parts", "build_classifier", "score_classifier", "classifier_summary", "classifier_data",
           "parse_hidden"]


def parse_hidden(text: str) -> tuple[int, ...]:
    """Layer sizes from text: '32,16' -> (32, 16).

    Raises
    ------
    ApproxError
        Unless the text lists positive whole numbers.
    """
    try:
        sizes = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise ApproxError(f"--hidden takes comma-separated positive layer sizes such as 32,16; got {text!r}")
    return sizes


def model_parts(kind: str, data, steps: int) -> dict:
    """Part name -> (x, y) of ``data`` (ClassificationData) as the model reads them: the MLP the rows as
    they are, the RNN each row as ``steps`` steps of equal width."""
    width = data.x.shape[1]
    if kind == "rnn" and width % steps:
        raise ApproxError(f"the RNN reads each row as {steps} steps of equal width, but rows have {width} "
                          f"features; give --steps dividing {width}")
    x = data.x if kind == "mlp" else data.x.reshape(len(data.x), steps, -1)
    return {name: (x[rows], data.y[rows]) for name, rows in data.splits.items()}


def build_classifier(kind: str, data, hidden: tuple, activation: str, derivative: str, clip: bool, per_step: bool,
                     steps: int, registry, seed: int, *, check=None, loss: str = "cross_entropy",
                     dtype: str | None = None):
    """The model and its (x, y) parts: an MLP (Network) or an RNNClassifier for ``data`` (ClassificationData),
    in floating-point type ``dtype`` (default: the configurations' default).

    ``check(config)``, if given, is called with the configuration before the model is allocated
    (e.g. to refuse one too large for the memory). With ``loss="mse"`` the MLP's outputs go through
    ``activation`` too and are fitted to one-hot targets.

    Returns
    -------
    (model, dict of part name -> (x, y))
    """
    from nn.network import MLPConfig, Network
    from nn.rnn_classifier import RNNClassifier, RNNClassifierConfig

    from nn.dtypes import DEFAULT_DTYPE

    dtype = dtype or DEFAULT_DTYPE
    parts = model_parts(kind, data, steps)
    classes = len(data.classes)
    if kind == "mlp":
        config = MLPConfig(data.x.shape[1], hidden, classes, activation, derivative, clip, loss=loss,
                           output_activation=activation if loss == "mse" else "identity", dtype=dtype)
        if check is not None:
            check(config)
        return Network(config, registry=registry, seed=seed), parts
    if len(hidden) != 1:
        raise ApproxError("the RNN has one recurrent layer: give one --hidden size, e.g. --hidden 32")
    config = RNNClassifierConfig(parts["train"][0].shape[2], hidden[0], classes, activation, derivative, clip,
                                 per_step, dtype=dtype)
    if check is not None:
        check(config)
    return RNNClassifier(config, registry=registry, seed=seed), parts


def score_classifier(model, parts: dict) -> dict:
    """Validation and test accuracy, macro F1 and confusion matrix, and the domain monitor on the test part."""
    from nn.classification_metrics import classification_scores

    classes = model.config.classes
    # test last: the domain monitor then reads the test part's forward pass
    out = {name: classification_scores(model.predict(parts[name][0]), parts[name][1], classes)
           for name in ("val", "test")}
    out["outside_interval"] = model.outside_interval()
    return out


def classifier_summary(kind: str, result: dict, history, classes: list, train_info: dict) -> dict:
    """The figures of a finished training run, as ``approx train mlp|rnn --json`` prints them and the model file
    keeps them (``summary``).

    Parameters
    ----------
    kind : {"mlp", "rnn"}
    result : dict
        :func:`score_classifier` of the trained model.
    history : nn.training.History
    classes : list
        The class labels, in the order of the model's outputs.
    train_info : dict
        The training settings to record (``seed`` at least: rescoring splits the data with it).
    """
    return {
        "model": kind, "test_accuracy": result["test"]["accuracy"], "test_macro_f1": result["test"]["macro_f1"],
        "val_accuracy": result["val"]["accuracy"], "val_macro_f1": result["val"]["macro_f1"],
        "confusion_matrix": result["test"]["confusion_matrix"], "classes": classes,
        "epochs_run": history.epochs_run, "best_epoch": history.best_epoch, "diverged": False,
        "train_seconds": history.seconds, "outside_interval": result["outside_interval"], "train": train_info,
    }


def classifier_data(model, meta: dict, data: str | None = None):
    """The data a classifier's model file describes (or ``data`` instead), split and shaped as the model reads it.

    Parameters
    ----------
    model : Network or RNNClassifier
        As :func:`nn.persistence.load_model` returned it.
    meta : dict
        Its metadata.
    data : str, optional
        ``digits`` or a CSV to score on instead of the recorded data (same label column).

    Returns
    -------
    (ClassificationData, dict of part name -> (x, y), str)
        The table, its parts, and which data was used (for the user to see).

    Raises
    ------
    nn.data.DataError
        If the recorded data file is gone or changed (:func:`nn.provenance.resolve_source`).
    ApproxError
        If the data's rows do not have the features the model reads.
    """
    from nn.provenance import resolve_source
    from nn.tabular import load_table

    saved = meta["data"]
    source, description = resolve_source(saved, data)
    table = load_table(source, saved["label_column"], meta["summary"]["train"]["seed"])
    if table.x.shape[1] != model.config.input_size * (saved["steps"] if meta["model"] == "rnn" else 1):
        raise ApproxError(f"the model reads {model.config.input_size} features per step; the data have "
                          f"{table.x.shape[1]} per row")
    return table, model_parts(meta["model"], table, saved["steps"]), description

"""What a model was trained on, recorded in its file, and that data rebuilt to score the model again.

A model file describes its data: the source (a built-in name, or the
absolute path of the CSV) with the SHA-256 of the file's bytes, and for a
forecaster the timestamp and load columns, the holiday calendar, the window,
the lags and the min-max scaling.  Scoring a model again (``approx evaluate``,
``approx plot-forecast``, ``approx secure infer``) rebuilds exactly that data
unless other data is given, and refuses a recorded file that is gone or whose
bytes changed, rather than scoring the model on something else.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from nn.data import TAYLOR_CSV, DataError, load_series
from nn.features import WINDOW, Dataset, make_dataset
from nn.tabular import DIGITS_CSV

__all__ = ["source_record", "resolve_source", "series_record", "series_dataset", "model_dataset", "BUILTIN"]

BUILTIN = {"taylor": TAYLOR_CSV, "digits": DIGITS_CSV}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_record(source: str) -> dict:
    """``{"source", "sha256"}`` of a data source: a built-in name as is, a file as its absolute path.

    Parameters
    ----------
    source : str
        ``taylor``, ``digits`` or a file path (already read successfully).
    """
    path = BUILTIN.get(source) or Path(source).resolve()
    return {"source": source if source in BUILTIN else str(path), "sha256": _sha256(path)}


def resolve_source(record: dict, given: str | None) -> tuple[str, str]:
    """The source to read for a model whose data record is ``record``, and a description of it.

    Parameters
    ----------
    record : dict
        The model file's ``data`` entry (``source`` and, in files written since, ``sha256``).
    given : str or None
        Data named by the user (``--data``), which wins; None: the recorded source.

    Returns
    -------
    (source, description)
        E.g. ``("/home/u/half.csv", "/home/u/half.csv (sha256 1a2b3c4d5e6f), as trained")``.

    Raises
    ------
    DataError
        If the recorded file no longer exists, or its contents changed since training.
    """
    recorded, digest = record.get("source"), record.get("sha256")
    if given is not None:
        now = source_record(given) if (given in BUILTIN or Path(given).is_file()) else None
        if now is not None and now == {"source": recorded, "sha256": digest}:
            return given, f"{_label(recorded, digest)}, as trained"
        return given, f"{given} (--data; the model was trained on {_label(recorded, digest)})"
    if recorded is None:
        raise DataError("the model file does not say what data it was trained on; give --data")
    path = BUILTIN.get(recorded) or Path(recorded)
    if not path.is_file():
        raise DataError(f"the model was trained on {recorded}, which no longer exists; "
                        "give --data FILE to score it on other data")
    if digest is None:
        return recorded, f"{recorded} (as recorded in the model, which holds no content hash to check)"
    now = _sha256(path)
    if now != digest:
        raise DataError(f"{recorded} has changed since the model was trained (sha256 {digest[:12]} then, "
                        f"{now[:12]} now); give --data {recorded} to score the model on the file as it is now")
    return recorded, f"{_label(recorded, digest)}, as trained"


def _label(source, digest) -> str:
    if source is None:  # trained across organisations: the model owner never learnt what the data were
        return "data the model file does not record"
    if source in BUILTIN:
        return f"{source} (built-in)"
    return f"{source} (sha256 {digest[:12]})" if digest else str(source)


def series_record(source: str, time_column: str, load_column: str, holidays: str) -> dict:
    """The ``data`` entry of a forecaster's model file: :func:`source_record` plus columns and calendar."""
    return {**source_record(source), "time_column": time_column, "load_column": load_column, "holidays": holidays}


def series_dataset(source: str, time_column: str = "timestamp", load_column: str = "load",
                   holidays: str = "GB/ENG", window: int = WINDOW, lags=()) -> Dataset:
    """The forecaster's dataset of a load series: the columns of :func:`series_record` read from ``source``
    (``taylor`` or a CSV), calendar features of ``holidays`` (COUNTRY or COUNTRY/SUBDIVISION), the window and
    lags (:func:`nn.features.make_dataset`).

    Raises
    ------
    DataError
        If the data cannot be read, or are too short for the window and lags.
    """
    country, _, subdiv = holidays.partition("/")
    return make_dataset(load_series(source, time_column, load_column), window=window, lags=tuple(lags),
                        country=country, subdiv=subdiv or None)


def model_dataset(meta: dict, data: str | None = None, time_column: str | None = None,
                  load_column: str | None = None, holidays: str | None = None) -> Dataset:
    """The dataset a forecaster's model file describes: its data, columns, calendar, window, lags and scaling.

    Parameters
    ----------
    meta : dict
        Metadata of a forecaster's model file (:func:`nn.persistence.load_model`).
    data, time_column, load_column, holidays : str, optional
        Overrides (``--data`` and friends); None takes the model's own.  The
        model's min-max scaling is applied to any data, as its weights expect.

    Returns
    -------
    Dataset
        Its ``source`` says which data was used (for the user to see).

    Raises
    ------
    DataError
        If the recorded data file is gone or changed (see :func:`resolve_source`), or the data are bad.
    """
    record = meta.get("data", {})
    source, description = resolve_source(record, data)
    calendar = holidays or record.get("holidays", "GB/ENG")
    country, _, subdiv = calendar.partition("/")
    features = meta.get("features", {})
    scaling = meta.get("scaling")
    series = load_series(source, time_column or record.get("time_column", "timestamp"),
                         load_column or record.get("load_column", "load"))
    dataset = make_dataset(series, window=features.get("window") or WINDOW, lags=tuple(features.get("lags", ())),
                           country=country, subdiv=subdiv or None,
                           scaling=(scaling["load_min"], scaling["load_max"]) if scaling else None)
    return dataclasses.replace(dataset, source=f"{description}; holidays {calendar}")

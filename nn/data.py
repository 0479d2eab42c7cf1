"""Half-hourly load series: the built-in Taylor (2003) data or a user CSV.

The built-in series is the half-hourly electricity demand of England and
Wales from Monday 5 June 2000 00:00 to Sunday 27 August 2000 23:30, 4032
values in MW (J. W. Taylor, J. Oper. Res. Soc. 54:799-805, 2003), shipped as
``nn/data/taylor.csv`` -- the series R's forecast::taylor and pmdarima's
load_taylor carry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from approx.errors import ApproxError

__all__ = ["load_series", "read_csv", "DataError", "TAYLOR_CSV", "STEP"]

TAYLOR_CSV = Path(__file__).with_name("data") / "taylor.csv"
STEP = pd.Timedelta(minutes=30)


class DataError(ApproxError):
    """A load CSV that cannot be used: missing columns, bad rows, gaps, wrong step."""


def load_series(source: str = "taylor", time_column: str = "timestamp", load_column: str = "load") -> pd.Series:
    """A half-hourly load series indexed by timestamp.

    Parameters
    ----------
    source : str
        ``"taylor"`` for the built-in data, or the path of a CSV file with a
        timestamp column and a load column (lines starting with # are comments).
    time_column, load_column : str
        Column names in the CSV.

    Returns
    -------
    pandas.Series of float64, indexed by a strictly increasing DatetimeIndex with a 30-minute step.

    Raises
    ------
    DataError
        For a missing or unreadable file (or a directory), a missing column, an unparsable timestamp, a missing or
        non-numeric load, duplicate or unordered timestamps, a gap, or a step
        other than 30 minutes; the message names the first bad row (1-based
        data row, header excluded).
    """
    path = TAYLOR_CSV if source == "taylor" else Path(source)
    frame = read_csv(path, "taylor", dtype=str)
    for column in (time_column, load_column):
        if column not in frame.columns:
            raise DataError(f"{path} has no column {column!r} (columns: {', '.join(frame.columns)}); "
                            f"name the columns with --time-column and --load-column")
    times = pd.to_datetime(frame[time_column], errors="coerce")
    loads = pd.to_numeric(frame[load_column], errors="coerce")

    def fail(row: int, what: str):
        raise DataError(f"{path}, data row {row + 1} ({frame[time_column].iloc[row]!s}, "
                        f"{frame[load_column].iloc[row]!s}): {what}")

    if len(frame) < 2:
        raise DataError(f"{path} has {len(frame)} data rows; a forecast needs many more")
    bad_time = np.flatnonzero(times.isna().to_numpy())
    if bad_time.size:
        fail(int(bad_time[0]), "timestamp missing or not a date/time")
    bad_load = np.flatnonzero(~np.isfinite(loads.to_numpy(dtype=np.float64)))
    if bad_load.size:
        fail(int(bad_load[0]), "load missing or not a number")
    steps = times.diff().iloc[1:].to_numpy()
    for row, step in enumerate(steps, start=1):
        if step == np.timedelta64(0):
            fail(row, "duplicate timestamp")
        if step < np.timedelta64(0):
            fail(row, "timestamp earlier than the row before (rows must be in time order)")
        if step != STEP.to_timedelta64():
            fail(row, f"step of {pd.Timedelta(step)} from the row before; the data must be half-hourly "
                      "without gaps")
    return pd.Series(loads.to_numpy(dtype=np.float64), index=pd.DatetimeIndex(times), name="load")


def read_csv(path: Path, builtin: str, **options) -> pd.DataFrame:
    """``pandas.read_csv`` of a data file (# starts a comment), every failure a :class:`DataError`.

    Parameters
    ----------
    path : Path
    builtin : str
        The built-in data's name, suggested in the messages (``taylor``, ``digits``).
    **options
        More ``pandas.read_csv`` arguments.

    Raises
    ------
    DataError
        If ``path`` is missing, a directory, unreadable, or not CSV text.
    """
    if path.is_dir():
        raise DataError(f"{path} is a directory; give --data {builtin} or the path of a CSV file")
    try:
        return pd.read_csv(path, comment="#", skipinitialspace=True, **options)
    except FileNotFoundError:
        raise DataError(f"no such data file: {path}; give --data {builtin} or a CSV path") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read {path} as CSV: {' '.join(str(exc).split())}") from None

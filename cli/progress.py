"""Progress on stderr: a bar on a terminal, a plain line per step when piped or logged (nohup, tee, CI)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import click

__all__ = ["progress"]


@contextlib.contextmanager
def progress(total: int, label: str, describe: Callable[[object], str] | None = None):
    """Context manager yielding ``update(item=None)``, to call once per finished step (epoch, run, batch).

    On a terminal it draws click's progress bar with ``describe(item)`` beside it;
    otherwise every call prints one line ``LABEL N/TOTAL: describe(item)``,
    as click's bar prints nothing until the end when stderr is not a terminal.
    """
    if sys.stderr.isatty():
        with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                               item_show_func=lambda item: describe(item) if describe and item is not None else None
                               ) as bar:
            yield lambda item=None: bar.update(1, item)
        return
    done = 0

    def update(item=None):
        nonlocal done
        done += 1
        text = describe(item) if describe is not None and item is not None else ""
        click.echo(f"{label} {done}/{total}" + (f": {text}" if text else ""), err=True)

    yield update

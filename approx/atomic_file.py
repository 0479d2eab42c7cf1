"""Write a file whole or not at all: a temporary file beside it, fsync, then an atomic rename.

A reader never sees a half-written file, and an interrupted or failed write
(Ctrl-C, a full disk, an exception while writing) leaves the old file as it
was.  The temporary file is created with mode 0666 so that the user's umask
applies, as for any file the user creates (``tempfile.mkstemp`` would make
it 0600); replacing an existing file keeps that file's mode, and its owner
and group where the process may set them (root).  The data are fsync'ed
before the rename, which is ``os.replace``, atomic on POSIX within one file
system.  Every file the project writes goes through here: the registry,
model files, share files, experiment results, figures.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

__all__ = ["atomic_write", "check_writable"]


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """Context manager yielding a file object whose contents replace ``path`` when the block ends cleanly.

    Parameters
    ----------
    path : str or Path
        The file to create or replace.
    mode : {"wb", "w"}
        Binary or text.
    encoding : str, optional
        For text mode (default UTF-8).

    Yields
    ------
    file object
        Writes go to a temporary file ``.NAME.XXXXXXXX.tmp`` in the same directory.

    Raises
    ------
    OSError
        If the directory cannot be written; nothing is left behind.

    Examples
    --------
    >>> with atomic_write("out.txt", "w") as fh:     # doctest: +SKIP
    ...     fh.write("all or nothing")
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, mode, encoding=encoding or ("utf-8" if "b" not in mode else None)) as fh:
            _keep_owner_and_mode(fh.fileno(), path)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _keep_owner_and_mode(fd: int, path: Path) -> None:
    """Give the temporary file ``fd`` the mode, owner and group of the file it replaces (if any)."""
    try:
        old = os.stat(path)
    except FileNotFoundError:
        return
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    with contextlib.suppress(PermissionError):  # only root may give a file away
        os.fchown(fd, old.st_uid, old.st_gid)


def check_writable(path) -> str | None:
    """Why ``path`` cannot be created or replaced, or None if it can (checked before long work starts).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str or None
        A short reason such as ``"directory nodir does not exist"``.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return f"{path} is a directory"
    if not parent.is_dir():
        return f"directory {parent} does not exist" if not parent.exists() else f"{parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    if path.exists() and not (os.stat(path).st_mode & stat.S_IWUSR and os.access(path, os.W_OK)):
        return f"{path} is read-only"  # by its mode bits, which even root respects here
    return None

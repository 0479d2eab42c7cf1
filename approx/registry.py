"""The registry file: fitted approximations persisted as JSON.

Format (schema version 1)::

    {"schema": "approx-registry", "schema_version": 1,
     "activations": {NAME: <Approximation.to_dict()>, ...}}

The file is ``./approx-registry.json`` unless a path is given (``--registry``)
or the environment variable ``APPROX_REGISTRY`` names one.  Every change is a
read-modify-write under an exclusive ``fcntl.flock`` on ``PATH.lock``, and the
new content is written to a temporary file in the same folder, flushed,
fsync'ed and renamed over the old one (:func:`approx.atomic_file.atomic_write`), so
concurrent writers lose nothing and a crash never leaves a half-written file.
A file that is not valid JSON, not an approx registry, or of a newer schema is
reported and never overwritten.  The rewritten file keeps the old file's
permission bits (and owner and group, where the process may set them); a file
without write permission is refused, never replaced; a new file is created
with mode 0666 less the user's umask, as ``open`` would.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from pathlib import Path

from approx.approximation import Approximation
from approx.atomic_file import atomic_write
from approx.errors import RegistryError, UnknownNameError

__all__ = ["Registry", "default_path", "ENV_VAR", "DEFAULT_FILENAME", "SCHEMA_VERSION"]

ENV_VAR = "APPROX_REGISTRY"
DEFAULT_FILENAME = "approx-registry.json"
SCHEMA = "approx-registry"
SCHEMA_VERSION = 1


def default_path() -> Path:
    """``$APPROX_REGISTRY`` if set and non-empty, else ``./approx-registry.json``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_FILENAME)


class Registry:
    """A JSON registry file of fitted approximations.

    Parameters
    ----------
    path : str or Path, optional
        The file; default :func:`default_path`.  It need not exist yet.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r})"

    # -- reading ------------------------------------------------------------
    def _read(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise RegistryError(f"cannot read registry {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RegistryError(f"registry {self.path} is not valid JSON (line {exc.lineno}): fix or move it, "
                                f"or choose another file with --registry") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(
                data.get("activations"), dict):
            raise RegistryError(f"{self.path} is not an approx registry file; choose another with --registry")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise RegistryError(f"registry {self.path} has schema version {version!r}, this toolkit reads "
                                f"up to {SCHEMA_VERSION}; upgrade approx or choose another file")
        return data["activations"]

    def names(self) -> list[str]:
        """Sorted names of the stored approximations.

        Raises
        ------
        RegistryError
            If the file is corrupt, foreign or of a newer schema.
        """
        return sorted(self._read())

    def get(self, name: str) -> Approximation:
        """The approximation stored as ``name``.

        Raises
        ------
        UnknownNameError
            If there is none; RegistryError if the file or the entry is corrupt.
        """
        entries = self._read()
        if name not in entries:
            known = ", ".join(sorted(entries)) or "none yet; create one with approx fit"
            raise UnknownNameError(f"no activation named {name!r} in registry {self.path} (stored: {known})")
        try:
            return Approximation.from_dict(entries[name])
        except (KeyError, TypeError, ValueError, IndexError):
            raise RegistryError(f"entry {name!r} of registry {self.path} is corrupt; remove it with "
                                f"approx remove and fit it again") from None

    def items(self) -> list[Approximation]:
        """Every stored approximation, sorted by name."""
        return [self.get(name) for name in self.names()]

    # -- writing ------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(f"{self.path}.lock", "a")
        except OSError as exc:
            raise RegistryError(f"cannot write registry {self.path}: {exc.strerror}") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def check_writable(self) -> None:
        """Refuse early, before any work, a registry that :meth:`add` could not write.

        Raises
        ------
        RegistryError
            If the file exists without write permission, is corrupt or foreign, or
            its folder cannot be created or written.
        """
        if self._existing_mode() is None:
            folder = self.path.absolute().parent
            while not folder.exists():
                folder = folder.parent
            if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
                raise RegistryError(f"cannot write registry {self.path}: {folder} is not a writable folder; "
                                    f"choose another file with --registry")
        self._read()

    def _existing_mode(self) -> os.stat_result | None:
        """The current file's stat, after refusing a file we may not write; None if there is none."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RegistryError(f"cannot read registry {self.path}: {exc.strerror}") from None
        writable = st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        if not writable or not os.access(self.path, os.W_OK):
            raise RegistryError(f"registry {self.path} is read-only (mode {stat.S_IMODE(st.st_mode):04o}); "
                                f"make it writable (chmod u+w) or choose another file with --registry")
        return st

    def _write(self, entries: dict) -> None:
        data = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "activations": entries}
        self._existing_mode()  # a read-only file is refused, never replaced
        try:
            with atomic_write(self.path, "w") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.write("\n")
        except OSError as exc:
            raise RegistryError(f"cannot write registry {self.path}: {exc.strerror or exc}") from None

    def add(self, approximation: Approximation) -> None:
        """Store ``approximation`` under its name, replacing an entry of that name.

        Raises
        ------
        RegistryError
            If the existing file is corrupt or foreign (it is left untouched),
            or cannot be written.
        """
        with self._locked():
            entries = self._read()
            entries[approximation.name] = approximation.to_dict()
            self._write(entries)

    def remove(self, name: str) -> None:
        """Delete the entry ``name``.

        Raises
        ------
        UnknownNameError
            If there is no such entry; RegistryError as for :meth:`add`.
        """
        with self._locked():
            entries = self._read()
            if name not in entries:
                raise UnknownNameError(f"no activation named {name!r} in registry {self.path}")
            del entries[name]
            self._write(entries)

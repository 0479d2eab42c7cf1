"""Optional dependencies: the extra each command needs, checked before the command does any work."""

from __future__ import annotations

import importlib.util

from approx.errors import ApproxError

__all__ = ["EXTRAS", "require"]

EXTRAS = {
    "nn": ("numba", "pandas", "holidays", "threadpoolctl"),
    "mpc": ("cryptography",),
    "plot": ("matplotlib",),
    "sklearn": ("sklearn",),
    "torch": ("safetensors",),
}
"""Modules of each extra in pyproject.toml, by their import names."""


def require(command: str, *extras: str) -> None:
    """Refuse ``approx COMMAND`` unless every module of ``extras`` can be imported.

    Parameters
    ----------
    command : str
        The command as typed after ``approx`` (e.g. ``"secure infer"``), for the message.
    *extras : str
        Keys of :data:`EXTRAS`.

    Raises
    ------
    ApproxError
        One line naming the missing modules and the ``pip install 'approx[...]'`` that adds them
        (the CLI prints it and exits with status 2).
    """
    missing = {extra: [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None] for extra in extras}
    missing = {extra: modules for extra, modules in missing.items() if modules}
    if missing:
        names = ", ".join(m for modules in missing.values() for m in modules)
        plural = "s" if len(missing) > 1 else ""
        raise ApproxError(f"approx {command} needs the {' and '.join(map(repr, missing))} extra{plural} "
                          f"({names} not installed): pip install 'approx[{','.join(missing)}]'")

"""The ``approx`` command line: one click group in front of approx, nn and mpc."""

from cli import fit_command, plot_command, registry_commands, secure_commands, train_commands  # noqa: F401  (they attach their commands)
from cli.app import approx, main

__all__ = ["approx", "main"]

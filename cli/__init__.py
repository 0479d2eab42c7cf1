"""The ``approx`` command line: one click group in front of approx, nn and mpc."""

from cli import (  # noqa: F401  (each module attaches its commands to the group)
    classifier_commands,
    experiment_command,
    fit_command,
    import_torch_command,
    party_commands,
    party_train_command,
    plot_command,
    registry_commands,
    secure_commands,
    secure_infer_command,
    secure_train_command,
    train_commands,
)
from cli.app import approx, main

__all__ = ["approx", "main"]

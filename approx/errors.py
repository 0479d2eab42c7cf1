"""Exceptions of the toolkit; the CLI turns each into one line and exit status 2."""

__all__ = ["ApproxError", "UnknownNameError", "RegistryError", "FitError"]


class ApproxError(Exception):
    """Base class of every error the toolkit reports to its user."""


class UnknownNameError(ApproxError, KeyError):
    """A function, method or activation name that is not known."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class RegistryError(ApproxError):
    """The registry file is corrupt, foreign, newer than this toolkit, or cannot be written."""


class FitError(ApproxError, ValueError):
    """Bad fitting input: degree, interval, points or target error out of range."""

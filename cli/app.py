"""The ``approx`` click group: shared options, one-line errors with exit status 2, one line on Ctrl-C."""

from __future__ import annotations

import sys

import click

from approx.errors import ApproxError

__all__ = ["approx", "registry_option", "main", "Failed", "INTERRUPTED", "FiniteRange"]

INTERRUPTED = 130  # 128 + SIGINT, the shell's convention


class FiniteRange(click.FloatRange):
    """click.FloatRange that also refuses NaN and infinities (NaN passes every range comparison)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Failed(Exception):
    """A command that ran but did not succeed (e.g. training diverged): one line on stderr, exit status 1."""


class _Interrupted(Exception):
    """Ctrl-C, however it surfaced."""


def _is_interrupt(exc: BaseException) -> bool:
    """KeyboardInterrupt, or the SystemError a compiled (numba) function raises when Ctrl-C arrives in it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        if not isinstance(exc, SystemError):
            return False
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class _OneLineErrors(click.Group):
    """A group whose usage and input errors print one line and exit with status 2, and Ctrl-C one line."""

    def invoke(self, ctx):
        """Run the command; Ctrl-C (even inside compiled code) becomes one line, not a traceback."""
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, SystemError) as exc:
            if _is_interrupt(exc):
                raise _Interrupted() from None
            raise

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the group; usage errors and ApproxError become one line on stderr and exit status 2."""
        try:
            result = super().main(args=args, prog_name=prog_name or "approx", complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            self._fail(f"{exc.format_message()}{hint}")
        except ApproxError as exc:
            self._fail(str(exc))
        except _Interrupted:
            click.echo("approx: interrupted; no file was left half-written", err=True)
            sys.exit(INTERRUPTED)
        except Failed as exc:
            click.echo(f"approx: {' '.join(str(exc).split())}", err=True)
            sys.exit(1)
        except click.Abort as exc:
            interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
            click.echo("approx: interrupted" if interrupted else "approx: aborted", err=True)
            sys.exit(INTERRUPTED if interrupted else 1)
        except click.ClickException as exc:
            self._fail(exc.format_message())
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)

    @staticmethod
    def _fail(message: str):
        click.echo(f"approx: error: {' '.join(message.split())}", err=True)
        sys.exit(2)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="approx", prog_name="approx")
def approx():
    """Polynomial activations with certified error bounds, for plaintext and secret-shared networks.

    Fitted polynomials are kept in a JSON registry file: ./approx-registry.json,
    or the path in $APPROX_REGISTRY, or --registry PATH.
    """


registry_option = click.option(
    "--registry", "registry", type=click.Path(dir_okay=False), default=None,
    help="Registry file [default: $APPROX_REGISTRY or ./approx-registry.json].")


def main(argv=None):
    """Console-script entry point ``approx``."""
    approx.main(args=argv, prog_name="approx")

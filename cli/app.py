"""The ``approx`` click group: shared options and one-line errors with exit status 2."""

from __future__ import annotations

import sys

import click

from approx.errors import ApproxError

__all__ = ["approx", "registry_option", "main"]


class _OneLineErrors(click.Group):
    """A group whose usage and input errors print one line and exit with status 2."""

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
        except click.Abort:
            click.echo("approx: aborted", err=True)
            sys.exit(1)
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

"""``approx list``, ``approx show`` and ``approx remove``: read and edit the registry."""

from __future__ import annotations

import click

from approx.registry import Registry
from approx.strict_json import dumps
from cli.app import approx, registry_option
from cli.report import approximation_table, listing


@approx.command("list")
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of the entries.")
def list_command(registry, as_json):
    """List the fitted polynomials in the registry."""
    items = Registry(registry).items()
    click.echo(dumps([a.to_dict() for a in items]) if as_json else listing(items))


@approx.command("show")
@click.argument("name")
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print the entry as one JSON object.")
def show_command(name, registry, as_json):
    """Show the registry entry NAME."""
    a = Registry(registry).get(name)
    click.echo(dumps(a.to_dict()) if as_json else approximation_table(a))


@approx.command("remove")
@click.argument("name")
@registry_option
def remove_command(name, registry):
    """Remove the registry entry NAME."""
    reg = Registry(registry)
    reg.remove(name)
    click.echo(f"removed {name} from {reg.path}")

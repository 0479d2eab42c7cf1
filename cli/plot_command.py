"""``approx plot``: f, p and f - p over the interval, with the certified bound marked."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from approx.errors import ApproxError
from approx.registry import Registry
from approx.targets import get_target
from cli.app import approx, registry_option
from cli.extras import require


def pyplot():
    """matplotlib.pyplot with the Agg backend, or a clear error if matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ApproxError("approx plot needs matplotlib: pip install 'approx[plot]' (or pip install matplotlib)") \
            from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@approx.command("plot")
@click.argument("name")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Image file (.png, .pdf, .svg).")
@registry_option
def plot_command(name, output, registry):
    """Plot f and the polynomial NAME, and their difference with the certified bound."""
    require("plot", "plot")
    plt = pyplot()
    check_figure_output(output)
    a = Registry(registry).get(name)
    target = get_target(a.func)
    x = np.linspace(*a.domain, 2001)
    f, p = target.np(x), a(x)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6), constrained_layout=True)
    top.plot(x, f, label=a.func)
    top.plot(x, p, "--", label=f"{a.method}, degree {a.degree}")
    top.set_ylabel("value")
    top.legend()
    top.set_title(a.name)
    bottom.plot(x, f - p, color="C2", label="f - p")
    for sign in (1, -1):
        bottom.axhline(sign * a.errors.error_bound, color="C3", ls=":",
                       label="certified bound" if sign == 1 else None)
    bottom.set_xlabel("x")
    bottom.set_ylabel("error")
    bottom.legend()
    save_figure(plt, fig, output)


def check_figure_output(output) -> None:
    """Refuse, before any work, an image path that cannot be written or whose suffix matplotlib cannot write."""
    from matplotlib.backend_bases import FigureCanvasBase

    from approx.atomic_file import check_writable

    out = Path(output)
    fmt = out.suffix.lstrip(".").lower() or "png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if fmt not in formats:
        raise ApproxError(f"cannot write {out}: matplotlib writes no .{fmt} files; use .png, .pdf or .svg")
    problem = check_writable(out)
    if problem:
        raise ApproxError(f"cannot write {out}: {problem}; choose another -o")


def save_figure(plt, fig, output) -> None:
    """Write ``fig`` to ``output`` whole or not at all (:func:`approx.atomic_file.atomic_write`) and close it."""
    from approx.atomic_file import atomic_write

    out = Path(output)
    try:
        with atomic_write(out) as fh:
            fig.savefig(fh, format=out.suffix.lstrip(".").lower() or "png")
    finally:
        plt.close(fig)
    click.echo(f"wrote {out}")

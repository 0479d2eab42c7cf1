"""``python -m approx``: the same as the ``approx`` command.

The command-line layer is imported only when this runs, so the library never depends on it.
"""


def main() -> None:
    """Run the ``approx`` command with ``sys.argv``."""
    from cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()

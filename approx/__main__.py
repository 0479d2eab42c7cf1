"""``python -m approx``: the same as the ``approx`` command."""

from cli import main

main()

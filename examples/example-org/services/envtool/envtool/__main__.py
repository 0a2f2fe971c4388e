"""``python3 -m envtool``: the same as the ``envtool`` zipapp."""

from .cli import main

main()

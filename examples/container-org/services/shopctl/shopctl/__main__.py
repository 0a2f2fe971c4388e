"""``python3 -m shopctl``: the same as the ``shopctl`` zipapp."""

from .cli import main

main()

"""``python -m engine``: the same command line as the ``engine`` script."""

from engine.cli import main

main()

"""``python -m gatekit``: the same command line as the ``gatekit`` console script."""

from .cli import main

if __name__ == "__main__":
    main()

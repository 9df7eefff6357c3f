"""`python -m qbo_container`: the `qbo` command."""

import sys

from qbo_container.cli import main

if __name__ == "__main__":
    sys.exit(main())

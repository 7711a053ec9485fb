"""``python -m hierbayes ...``: the command line (:mod:`hierbayes.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

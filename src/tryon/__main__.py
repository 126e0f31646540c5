"""``python -m tryon``: the same command line as ``tryon``."""

import sys

from tryon.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""`python -m monitor.cli`: the same as the `fresh` console script."""

import sys

from monitor.cli.app import console

sys.exit(console())  # type: ignore[func-returns-value]

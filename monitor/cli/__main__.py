"""`python -m monitor.cli`: the same as the `fresh` console script."""

import sys

from monitor.cli.entry import console

sys.exit(console())  # type: ignore[func-returns-value]
